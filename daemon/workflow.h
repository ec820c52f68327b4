/* workflow — the exit workflow as a state machine of pure functions: the
 * daemon's functional core.
 *
 * Owns: the workflow value (household, members, decisions, steps, DQ
 * findings), every rule of PROTOCOL.md §4, and the events each accepted
 * change emits (§5). No sockets, no LMDB, no clock, no encoding of the
 * value: the caller passes the time in `wf_ctx_t`; the view (view.h) and
 * the stored record (record.h) are other modules. Each operation either
 * fails with an error and leaves the value untouched, or changes it and
 * appends its events.
 *
 * Lifecycles, here and in the rest of the daemon: a value that lives on
 * the heap has _new and _destroy (which nulls the caller's pointer); a
 * value embedded in another has _init and _fini (which releases what it
 * holds and leaves it empty, ready for use again). workflow_t is of the
 * first kind (it is tens of KiB: no place for a stack); wf_events_t,
 * blob_t and record_ledger_t are of the second. */
#ifndef EXF_WORKFLOW_H
#define EXF_WORKFLOW_H

#include "protocol/codec.h"
#include "protocol/hud.h"

#include "blob.h"

#define WF_ID_LEN 26                    /* a ULID */
#define WF_MAX_MEMBERS 32
#define WF_MAX_DQ_SOURCES 8
#define WF_MAX_FINDINGS 256
#define WF_MAX_EVENTS (WF_MAX_MEMBERS + 2)
#define WF_STEP_DATA_MAX (64 * 1024)
#define WF_TEXT_MAX 500                 /* exit reason, cancel reason, messages */

typedef enum { WF_OPEN, WF_FINISHED, WF_CANCELLED, WF_STATE_COUNT } wf_state_t;
typedef enum {
    DECISION_UNDECIDED, DECISION_EXITING, DECISION_STAYING, DECISION_COUNT
} wf_decision_t;
typedef enum {
    MODE_NONE, MODE_ENTERED, MODE_DEFAULT_LAST, MODE_COUNT
} wf_mode_t;
/* What a member's effective `adult` rests on: the explicit flag, the date
 * of birth, or neither (then treated as an adult, and the DQ worker flags
 * the missing 3.03). */
typedef enum {
    AGE_ADULT_FLAG, AGE_BIRTH_DATE, AGE_UNKNOWN, AGE_BASIS_COUNT
} wf_age_basis_t;

/* The wire's names of states, decisions and modes (MODE_NONE is ""). */
extern const char *const workflow_state_names[WF_STATE_COUNT];
extern const char *const workflow_decision_names[DECISION_COUNT];
extern const char *const workflow_mode_names[MODE_COUNT];
/* "adult_flag", "birth_date", "unknown". */
extern const char *const workflow_age_basis_names[AGE_BASIS_COUNT];
/* The state named `s`, or -1. */
int workflow_state_by_name (exf_str_t s);

typedef struct {
    bool done;
    wf_mode_t mode;
    blob_t data;
    int64_t completed_at;           /* last save, ms */
    int64_t first_completed_at;     /* first save, ms: HMIS DateCreated */
    char actor[EXF_ID_MAX + 1];
} wf_step_t;

typedef struct {
    char client_id[EXF_ID_MAX + 1];
    char enrollment_id[EXF_ID_MAX + 1];
    int relationship;
    char entry_date[11];
    bool has_adult;                 /* `adult` was given: an override */
    bool adult;                     /* the override (only with has_adult) */
    char birth_date[11];            /* 3.03, "" when not given; PII: never in
                                       the view, an event or a log */
    wf_decision_t decision;
    wf_step_t steps[STEP_COUNT];
    blob_t last[STEP_COUNT];        /* prior values for Default Last */
} wf_member_t;

typedef struct {
    char source[EXF_ID_MAX + 1];
    uint32_t count;
    blob_t findings;                /* `count` msgpack maps, back to back */
} wf_dq_t;

typedef struct {
    char workflow_id[WF_ID_LEN + 1];
    int64_t version;
    wf_state_t state;
    char enrollment_id[EXF_ID_MAX + 1];
    char household_id[EXF_ID_MAX + 1];
    char project_id[EXF_ID_MAX + 1];
    int project_type;               /* -1 when not given */
    char move_in_date[11];          /* 3.20, "" when not given */
    int64_t created_at, updated_at; /* ms */
    char started_by[EXF_ID_MAX + 1];
    char last_actor[EXF_ID_MAX + 1]; /* who made the last change that named
                                        an actor ("" when none did) */
    char new_head_of_household[EXF_ID_MAX + 1];
    blob_t cancel_reason;           /* text bytes */
    bool stalled;                   /* a stalled event went out this idle period */
    int n_members;
    wf_member_t members[WF_MAX_MEMBERS];
    int n_dq;
    wf_dq_t dq[WF_MAX_DQ_SOURCES];
} workflow_t;

/* What the shell supplies with every operation. `today` is the CoC's
 * calendar day of `now_ms` (days since 1970-01-01, in the CoC's time zone:
 * the shell asks calendar.h), so the core needs no clock and no zone. */
typedef struct {
    int64_t now_ms;
    const char *actor;              /* "" when the request named none */
    int64_t today;
} wf_ctx_t;

typedef struct {
    const char *type;               /* EXF_EV_NAME (...) */
    char client_id[EXF_ID_MAX + 1]; /* "" when the event is about the workflow */
    msgpack_sbuffer data;           /* a msgpack map */
} wf_event_t;

typedef struct {
    int n;
    wf_event_t ev[WF_MAX_EVENTS];
} wf_events_t;

void workflow_events_init (wf_events_t *events);
void workflow_events_fini (wf_events_t *events);

/* An empty workflow (no members, project_type -1). */
workflow_t *workflow_new (void);
void workflow_destroy (workflow_t **wf_p);
/* Frees what the value holds and empties it, for reuse. */
void workflow_reset (workflow_t *wf);

/* ---- operations (PROTOCOL.md §4) ---- */

/* `wf` holds what the request gave (ids, project, move-in date, members
 * with their identity, entry date, birth date, adult flag and prior values)
 * and the workflow id; this checks the household rules and opens the
 * workflow. Households HUD flags rather than refuses (no head, several
 * heads, relationship 99) start: the DQ worker flags them. */
bool workflow_start (workflow_t *wf, const wf_ctx_t *ctx, wf_events_t *ev,
                     exf_error_t *err);
bool workflow_check_version (const workflow_t *wf, bool given,
                             int64_t expected, exf_error_t *err);
/* `data` is a map for MODE_ENTERED and NULL for MODE_DEFAULT_LAST. */
bool workflow_save_step (workflow_t *wf, const char *client_id, int step,
                         wf_mode_t mode, const msgpack_object *data,
                         const wf_ctx_t *ctx, wf_events_t *ev,
                         exf_error_t *err);
bool workflow_decide (workflow_t *wf, const char *client_id, bool exit,
                      const wf_ctx_t *ctx, wf_events_t *ev, exf_error_t *err);
/* `new_hoh` is "" when not given. */
bool workflow_finish (workflow_t *wf, const char *new_hoh, const wf_ctx_t *ctx,
                      wf_events_t *ev, exf_error_t *err);
bool workflow_cancel (workflow_t *wf, exf_str_t reason, const wf_ctx_t *ctx,
                      wf_events_t *ev, exf_error_t *err);
/* Replaces `source`'s findings; any state; does not bump the version (a
 * report is not a change: it needs no clock). */
bool workflow_report_dq (workflow_t *wf, const char *source,
                         const msgpack_object *findings, wf_events_t *ev,
                         exf_error_t *err);
/* Emits workflow.stalled once per idle period; false when not due. */
bool workflow_mark_stalled (workflow_t *wf, const wf_ctx_t *ctx,
                            wf_events_t *ev);

/* Makes a refusal about the member `client_id` name it (PROTOCOL.md
 * §2.3): the field at fault, FIELD, becomes
 * members[client_id=C].PATH.FIELD (members[client_id=C].PATH when there
 * was none; PATH may be NULL) and the message starts "client C: ". */
void workflow_error_about_member (exf_error_t *err, const char *client_id,
                                  const char *path);

/* ---- questions ---- */

int workflow_find_member (const workflow_t *wf, const char *client_id);
/* The member the workflow was started for. */
int workflow_primary_member (const workflow_t *wf);
/* What the member's effective `adult` rests on. */
wf_age_basis_t workflow_age_basis (const wf_member_t *m);
/* The effective adult: the override when given; else, from the date of
 * birth, 18 or older on the member's exit date (the saved exit form's;
 * before there is one, on `today`, the CoC's day); else assumed adult. */
bool workflow_member_adult (const wf_member_t *m, int64_t today);
/* Whether the member answers `step` (income and benefits: effective adults
 * and the head of household). `today` as for workflow_member_adult. */
bool workflow_step_applies (const wf_member_t *m, int step, int64_t today);
/* The first pending step of an exiting member, or -1. */
int workflow_next_step (const wf_member_t *m, int64_t today);
void workflow_progress (const workflow_t *wf, int64_t today, int *done,
                        int *total);

#endif
