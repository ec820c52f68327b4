/* dq_summary — the APR-Q6-style data-quality summary of stored exits.
 *
 * Owns: the summary value and adding workflows to it (pure), and printing
 * it as text or JSON. Counted per leaver (an exiting member of a finished
 * workflow whose exit date is in the period): destination "client doesn't
 * know / prefers not to answer" and "information missing" (APR Q6c) with
 * their error rate, income at exit for adult and head leavers (missing,
 * inconsistent), timeliness in HUD's APR Q6e rows (days from the exit
 * date to the CoC's day the exit was recorded; an exit recorded before
 * its date, or at an unknown time, is counted apart: not a HUD row), the
 * outcomes (leavers by destination category, and how many went to 17,
 * "Other"); open exits (and how many stand stalled); and the DQ findings
 * stored on the counted workflows, by rule.
 * dq_report.c fetches the workflows (workflow.list, workflow.get,
 * workflow.history) and feeds them in. */
#ifndef EXF_DQ_SUMMARY_H
#define EXF_DQ_SUMMARY_H

#include <stdio.h>

#include "workers/dq/dq_rules.h"

#define DQ_SUMMARY_RULES 48
typedef struct {
    char project_id[EXF_ID_MAX + 1];    /* "" all (but the demo's) */
    bool include_demo;                  /* with "": the demo project too */
    bool has_from, has_to;
    int64_t from_day, to_day;           /* inclusive, days since the epoch */
    char from[11], to[11];              /* as given */
} dq_summary_filter_t;

typedef struct {
    char rule[EXF_ID_MAX + 1];
    int64_t errors, warnings;
} dq_rule_count_t;

typedef struct {
    int64_t workflows;                  /* finished exits counted */
    int64_t leavers;
    int64_t dest_dk_pnta;               /* 8, 9 */
    int64_t dest_missing;               /* 30, 99, none */
    int64_t income_leavers;             /* adult and head leavers */
    int64_t income_missing;             /* none, 8, 9, 99 */
    int64_t income_inconsistent;
    int64_t late[DQ_LATE_ROWS];         /* APR Q6e */
    int64_t late_before_exit;           /* recorded before the exit date */
    int64_t late_unknown;               /* no record time known */
    int64_t outcome[DEST_CATEGORY_COUNT];   /* leavers by category */
    int64_t other_destination;          /* leavers to 17 */
    int64_t open, stalled;
    int n_rules;
    dq_rule_count_t rules[DQ_SUMMARY_RULES];
} dq_summary_t;

/* Filter setters; false when the value is not an id / a YYYY-MM-DD date. */
bool dq_summary_set_project (dq_summary_filter_t *f, const char *id);
bool dq_summary_set_from (dq_summary_filter_t *f, const char *date);
bool dq_summary_set_to (dq_summary_filter_t *f, const char *date);
/* Whether the workflows of `project_id` are counted: the one project
 * asked for, else every project but EXF_DEMO_PROJECT (unless
 * `include_demo`). */
bool dq_summary_counts_project (const dq_summary_filter_t *f,
                                const char *project_id);

/* Adds a finished workflow: its snapshot (view + history) and the view's
 * `dq` array (may be NULL). Members outside the period are not counted; a
 * workflow with none inside is not counted at all. */
void dq_summary_add_finished (dq_summary_t *sum, const dq_summary_filter_t *f,
                              const dq_snapshot_t *s,
                              const msgpack_object *view_dq);
void dq_summary_add_open (dq_summary_t *sum, bool stalled);

/* Destination errors over leavers, in percent (0 when no leavers). */
double dq_summary_destination_rate (const dq_summary_t *sum);
/* The leavers to `category` in percent of all leavers, rounded to 2
 * decimals (0 when no leavers). */
double dq_summary_outcome_percent (const dq_summary_t *sum,
                                   hud_dest_category_t category);

void dq_summary_print (const dq_summary_t *sum, const dq_summary_filter_t *f,
                       FILE *out);
void dq_summary_print_json (const dq_summary_t *sum,
                            const dq_summary_filter_t *f, FILE *out);

#endif
