/* dq_snapshot — one workflow as the DQ rules see it: a plain value.
 *
 * Owns: the snapshot type, and reading it from the workflow view
 * (protocol/PROTOCOL.md §4.6) plus the workflow's history (§3
 * workflow.history), which gives each exit's record time (member.exited's exit_recorded_at, or
 * the ts of the first step.completed of its exit form while the workflow is
 * open). No I/O: callers fetch the view and the history and pass them in.
 * Assessment answers are kept only for the keys dq_fields.h names. Also
 * the questions the rules and the summary ask of a member or an exit. */
#ifndef EXF_DQ_SNAPSHOT_H
#define EXF_DQ_SNAPSHOT_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/hud.h"
#include "protocol/codec.h"

#define DQ_MAX_MEMBERS 32
#define DQ_MAX_ANSWERS 32
#define DQ_KEY_MAX 47

typedef enum { DQ_STATE_OPEN, DQ_STATE_FINISHED, DQ_STATE_CANCELLED } dq_state_t;
typedef enum { DQ_UNDECIDED, DQ_EXITING, DQ_STAYING } dq_decision_t;

typedef struct {
    char key[DQ_KEY_MAX + 1];
    int64_t value;
} dq_answer_t;

/* An assessment step of one member. */
typedef struct {
    bool applies;                   /* the step applies to the member */
    bool done;
    int n_keys;                     /* keys in the saved map, all of them */
    int n;                          /* answers kept (dq_fields keys, ints) */
    dq_answer_t answers[DQ_MAX_ANSWERS];
} dq_step_t;

/* The member's exit form, as saved. `has_*` false when absent or unreadable. */
typedef struct {
    bool done;
    bool has_exit_date;
    int64_t exit_day;               /* days since 1970-01-01 */
    bool has_destination;
    int destination;
    bool has_subsidy;
    int subsidy;
    bool has_other;
    size_t other_chars;             /* other_destination, in characters */
    int64_t recorded_ms;            /* first save (HMIS DateCreated), 0 unknown */
    int64_t saved_ms;               /* last save (the view's completed_at) */
} dq_exit_t;

typedef struct {
    char client_id[EXF_ID_MAX + 1];
    int relationship;
    bool adult;
    bool has_entry;
    int64_t entry_day;
    dq_decision_t decision;
    dq_exit_t exit;
    dq_step_t steps[STEP_COUNT];    /* STEP_EXIT unused: see `exit` */
} dq_member_t;

typedef struct {
    char workflow_id[32];
    char project_id[EXF_ID_MAX + 1];
    char household_id[EXF_ID_MAX + 1];
    char started_by[EXF_ID_MAX + 1];
    char new_head_of_household[EXF_ID_MAX + 1];
    dq_state_t state;
    int project_type;               /* -1 when not given */
    int64_t version;
    int64_t now_ms;                 /* "now" for the rules: the event's ts */
    int n_members;
    dq_member_t members[DQ_MAX_MEMBERS];
} dq_snapshot_t;

/* Reads the view (the `result` of workflow.get) into `s` (zeroed first).
 * False with `why` when the view is not one. */
bool dq_snapshot_from_view (dq_snapshot_t *s, const msgpack_object *view,
                            const char **why);
/* Sets each exit's record time from the history's events (an array). */
void dq_snapshot_apply_history (dq_snapshot_t *s, const msgpack_object *events);

/* ---- questions the rules ask ---- */

/* The answer to `key`, true when present. */
bool dq_step_answer (const dq_step_t *st, const char *key, int64_t *value);
/* Adds (or replaces) an answer; false when full. For parsers and tests. */
bool dq_step_set (dq_step_t *st, const char *key, int64_t value);
bool dq_member_is_head (const dq_member_t *m);
/* True when `step` is collected at exit for `m`: a child does not answer a
 * step HUD collects from adults and the head only
 * (hud_steps[step].adults_and_hoh_only: income and benefits). */
bool dq_member_answers_step (const dq_member_t *m, int step);
/* APR Q6c's reading of an exit's destination. */
typedef enum { DQ_DEST_ANSWERED, DQ_DEST_DK_PNTA, DQ_DEST_MISSING } dq_dest_quality_t;
/* 8 or 9: client doesn't know / prefers not to answer; none, 30 (no exit
 * interview) or 99: information missing; any other code is an answer
 * (whether 3.12 has it is the destination_missing rule's question). */
dq_dest_quality_t dq_exit_destination_quality (const dq_exit_t *ex);
/* The index of the (first) head of household, or -1. */
int dq_snapshot_head (const dq_snapshot_t *s);

#endif
