/* names — every name the EXITFLOW/1 wire carries, written once.
 *
 * Owns: the command names (PROTOCOL.md §3), the event types (§5) and the
 * error codes (§2.4), each as one table that the daemon, the workers, the
 * clients and the tests read instead of typing the string again. Adding a
 * command or an event type is one row here, then its handler or its
 * emitter. */
#ifndef EXF_NAMES_H
#define EXF_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* ---- commands ---- */

#define EXF_COMMAND_LIST(X)                        \
    X (PING,             "ping")                   \
    X (STATS,            "stats")                  \
    X (WORKFLOW_START,   "workflow.start")         \
    X (WORKFLOW_GET,     "workflow.get")           \
    X (STEP_SAVE,        "step.save")              \
    X (MEMBER_DECIDE,    "member.decide")          \
    X (WORKFLOW_FINISH,  "workflow.finish")        \
    X (WORKFLOW_CANCEL,  "workflow.cancel")        \
    X (WORKFLOW_LIST,    "workflow.list")          \
    X (WORKFLOW_HISTORY, "workflow.history")       \
    X (EVENTS_READ,      "events.read")            \
    X (CONSUMER_ACK,     "consumer.ack")           \
    X (CONSUMER_LIST,    "consumer.list")          \
    X (CONSUMER_DELETE,  "consumer.delete")        \
    X (DQ_REPORT,        "dq.report")              \
    X (HUD_CODES,        "hud.codes")              \
    X (STORE_BACKUP,     "store.backup")           \
    X (WORKFLOW_EXPORT,  "workflow.export")

typedef enum {
#define EXF_X(id, name) EXF_CMD_##id,
    EXF_COMMAND_LIST (EXF_X)
#undef EXF_X
    EXF_CMD_COUNT
} exf_command_id_t;

extern const char *const exf_command_names[EXF_CMD_COUNT];
/* The wire name of a command: EXF_CMD_NAME (STEP_SAVE) is "step.save". */
#define EXF_CMD_NAME(id) (exf_command_names[EXF_CMD_##id])
/* The command called `name` (`len` bytes), or -1. */
int exf_command_by_name (const char *name, size_t len);

/* ---- event types ---- */

#define EXF_EVENT_LIST(X)                          \
    X (WORKFLOW_STARTED,   "workflow.started")     \
    X (STEP_COMPLETED,     "step.completed")       \
    X (MEMBER_DECIDED,     "member.decided")       \
    X (MEMBER_EXITED,      "member.exited")        \
    X (WORKFLOW_FINISHED,  "workflow.finished")    \
    X (WORKFLOW_CANCELLED, "workflow.cancelled")   \
    X (DQ_REPORTED,        "dq.reported")          \
    X (WORKFLOW_STALLED,   "workflow.stalled")

typedef enum {
#define EXF_X(id, name) EXF_EV_##id,
    EXF_EVENT_LIST (EXF_X)
#undef EXF_X
    EXF_EV_COUNT
} exf_event_id_t;

extern const char *const exf_event_names[EXF_EV_COUNT];
/* The wire name of an event type: EXF_EV_NAME (MEMBER_EXITED). */
#define EXF_EV_NAME(id) (exf_event_names[EXF_EV_##id])
/* The event type called `name` (`len` bytes), or -1. */
int exf_event_by_name (const char *name, size_t len);

/* ---- roles ---- */

/* Who may call what (PROTOCOL.md §6): a certificate's `role` metadata names
 * one of these; the command table holds a mask of them per command. */
#define EXF_ROLE_LIST(X)                           \
    X (FRONTEND, "frontend")                       \
    X (WORKER,   "worker")                         \
    X (OPS,      "ops")                            \
    X (ADMIN,    "admin")

typedef enum {
#define EXF_X(id, name) EXF_ROLE_INDEX_##id,
    EXF_ROLE_LIST (EXF_X)
#undef EXF_X
    EXF_ROLE_COUNT
} exf_role_index_t;

/* Role bits: EXF_ROLE_FRONTEND … EXF_ROLE_ADMIN, and EXF_ROLE_ANY. */
enum {
#define EXF_X(id, name) EXF_ROLE_##id = 1u << EXF_ROLE_INDEX_##id,
    EXF_ROLE_LIST (EXF_X)
#undef EXF_X
    EXF_ROLE_ANY = (1u << EXF_ROLE_COUNT) - 1
};

extern const char *const exf_role_names[EXF_ROLE_COUNT];
/* The role bit named `name` (`len` bytes), or 0 when there is no such
 * role. */
unsigned exf_role_by_name (const char *name, size_t len);
/* The name of a single role bit, or NULL. */
const char *exf_role_name (unsigned role);

/* ---- error codes ---- */

/* The code strings are macros so that they can be compared and packed
 * without a table lookup; the table below is the one place that says which
 * are final answers (kept for retries) and which are worth retrying. */
#define EXF_BAD_REQUEST     "BAD_REQUEST"
#define EXF_UNKNOWN_COMMAND "UNKNOWN_COMMAND"
#define EXF_NOT_FOUND       "NOT_FOUND"
#define EXF_CONFLICT        "CONFLICT"
#define EXF_INVALID_STATE   "INVALID_STATE"
#define EXF_VALIDATION      "VALIDATION"
#define EXF_FORBIDDEN       "FORBIDDEN"
#define EXF_UNAVAILABLE     "UNAVAILABLE"
#define EXF_INTERNAL        "INTERNAL"

typedef struct {
    const char *code;
    bool final;         /* the command's definite outcome: stored, replayed */
    bool transient;     /* the same request may succeed later: retry it */
} exf_error_code_t;

extern const exf_error_code_t exf_error_codes[];
extern const size_t exf_error_code_count;
/* The row of `code`, or NULL when the protocol has no such code. */
const exf_error_code_t *exf_error_code (const char *code);

/* ---- projects ---- */

/* The sandbox project `exitflow demo` runs in: lists and reports leave it
 * out unless asked for by name. */
#define EXF_DEMO_PROJECT "demo"

#endif
