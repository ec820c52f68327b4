/* dq_snapshot — one workflow as the DQ rules see it: a plain value.
 *
 * Owns: the snapshot type, and reading it from the workflow view
 * (protocol/PROTOCOL.md §4.6) plus the workflow's history (§3
 * workflow.history), which gives each exit's record time
 * (member.exited's exit_recorded_at, or the ts of the first
 * step.completed of its exit form while the workflow is open). No I/O:
 * callers fetch the view and the history and pass them in.
 *
 * Assessment answers are kept for the fields of the one field table
 * (protocol/hud_fields.h): codes as they are, amounts as whole cents
 * (rounded), each answer pointing at its row of the table; texts, dates
 * and the CoC's `local_` questions are not kept (no rule reads them). The
 * member's `adult` and `age_basis` are the view's effective values (the
 * daemon derives them from the date of birth, which never leaves it).
 *
 * Days are the CoC's: every instant a rule compares with a date (an
 * exit's record time, its last save, the triggering event) is turned into
 * a local day here, with calendar_day_of_ms (protocol/calendar.h), so the
 * rules compare plain day numbers and stay pure. */
#ifndef EXF_DQ_SNAPSHOT_H
#define EXF_DQ_SNAPSHOT_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/codec.h"
#include "protocol/hud.h"
#include "protocol/hud_fields.h"

#define DQ_MAX_MEMBERS 32
/* Answers kept per step: income_benefits, the largest step, has 39 code
 * and amount fields. */
#define DQ_MAX_ANSWERS 48

typedef enum { DQ_STATE_OPEN, DQ_STATE_FINISHED, DQ_STATE_CANCELLED } dq_state_t;
typedef enum { DQ_UNDECIDED, DQ_EXITING, DQ_STAYING } dq_decision_t;
/* The view's age_basis: where the effective `adult` came from. */
typedef enum { DQ_AGE_UNKNOWN, DQ_AGE_ADULT_FLAG, DQ_AGE_BIRTH_DATE } dq_age_basis_t;

typedef struct {
    const hud_field_t *field;       /* its row of the field table */
    int64_t value;                  /* a code, or an amount in cents */
} dq_answer_t;

/* An assessment step of one member. */
typedef struct {
    bool applies;                   /* the step applies to the member */
    bool done;
    int n_fields;                   /* HUD fields given (not nil), any type */
    int n;                          /* answers kept (codes and amounts) */
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
    bool has_recorded;              /* the record time is known */
    int64_t recorded_day;           /* local day of the first save (HMIS
                                       DateCreated) */
    bool has_saved;
    int64_t saved_day;              /* local day of the last save (the
                                       view's completed_at) */
} dq_exit_t;

typedef struct {
    char client_id[EXF_ID_MAX + 1];
    int relationship;               /* -1 when absent */
    bool adult;                     /* effective (the view's) */
    dq_age_basis_t age_basis;
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
    bool has_move_in;               /* 3.20 housing move-in date */
    int64_t move_in_day;
    int64_t version;
    int64_t today;                  /* the rules' "today": the local day of
                                       the triggering event's ts */
    int n_members;
    dq_member_t members[DQ_MAX_MEMBERS];
} dq_snapshot_t;

/* Reads the view (the `result` of workflow.get) into `s` (zeroed first).
 * False with `why` when the view is not one. */
bool dq_snapshot_from_view (dq_snapshot_t *s, const msgpack_object *view,
                            const char **why);
/* Sets each exit's record day from the history's events (an array). */
void dq_snapshot_apply_history (dq_snapshot_t *s, const msgpack_object *events);
/* Sets "today" to the CoC's day of `ms` (the triggering event's ts). */
void dq_snapshot_set_now (dq_snapshot_t *s, int64_t ms);

/* ---- questions the rules ask ---- */

/* The answer to the field `name`, true when given. */
bool dq_step_answer (const dq_step_t *st, const char *name, int64_t *value);
/* Adds (or replaces) the answer to the field `name` of `step`: a code, or
 * an amount in cents. False when `step` has no such code or amount field,
 * or the step is full. For the parser and tests. */
bool dq_step_set (dq_step_t *st, int step, const char *name, int64_t value);
bool dq_member_is_head (const dq_member_t *m);
/* True when `step` is collected at exit for `m`: a child does not answer a
 * step HUD collects from adults and the head only
 * (hud_steps[step].adults_and_hoh_only: income and benefits). */
bool dq_member_answers_step (const dq_member_t *m, int step);
/* The member named `client_id`, or NULL. */
const dq_member_t *dq_snapshot_member (const dq_snapshot_t *s,
                                       const char *client_id);
/* APR Q6c's reading of an exit's destination. */
typedef enum { DQ_DEST_ANSWERED, DQ_DEST_DK_PNTA, DQ_DEST_MISSING } dq_dest_quality_t;
/* 8 or 9: client doesn't know / prefers not to answer; none, 30 (no exit
 * interview) or 99: information missing; any other code is an answer. */
dq_dest_quality_t dq_exit_destination_quality (const dq_exit_t *ex);
/* The index of the (first) head of household, or -1. */
int dq_snapshot_head (const dq_snapshot_t *s);

#endif
