/* dq_rules — HUD data-quality rules for exits, as a table of pure functions.
 *
 * Owns: the rule table (id, severity, the workflow states it applies in,
 * its HUD source, a parameter, the step its findings concern, the check) and evaluating a table over one
 * snapshot into an ordered list of findings. A check reads only the
 * snapshot (and `today` in it, the CoC's day of the triggering event), so
 * evaluating the same snapshot again gives the same findings, byte for
 * byte. workers/README.md lists the rules with their HUD, APR and Eva
 * sources; a new rule is a check function and a row of dq_rules[]
 * (dq_rules.c). */
#ifndef EXF_DQ_RULES_H
#define EXF_DQ_RULES_H

#include <msgpack.h>

#include "workers/dq/dq_fields.h"
#include "workers/dq/dq_snapshot.h"

#define DQ_MAX_FINDINGS 256         /* protocol/PROTOCOL.md: 256 per report */
#define DQ_MESSAGE_MAX 240          /* well under the protocol's 500 bytes */

typedef enum { DQ_ERROR, DQ_WARNING } dq_severity_t;

/* Workflow states a rule is evaluated in. */
#define DQ_ON_OPEN (1u << DQ_STATE_OPEN)
#define DQ_ON_FINISHED (1u << DQ_STATE_FINISHED)
#define DQ_ON_ANY (DQ_ON_OPEN | DQ_ON_FINISHED)

/* A rule's step (dq_rule_t.step) when it is not one of STEP_*. */
#define DQ_NO_STEP (-1)             /* about no answer: `no_step` says why */
#define DQ_EACH_STEP (-2)           /* each finding names its own step */

typedef struct {
    const char *rule;               /* the rule's id (static) */
    dq_severity_t severity;
    char client_id[EXF_ID_MAX + 1]; /* "" for the household */
    int step;                       /* STEP_* it concerns, or DQ_NO_STEP */
    char message[DQ_MESSAGE_MAX];   /* English, codes and counts only */
} dq_finding_t;

typedef struct {
    int n;
    bool overflow;                  /* more than DQ_MAX_FINDINGS were found */
    dq_finding_t items[DQ_MAX_FINDINGS];
} dq_findings_t;

typedef struct dq_rule dq_rule_t;
typedef void (dq_check_fn) (const dq_rule_t *rule, const dq_snapshot_t *s,
                            dq_findings_t *out);

struct dq_rule {
    const char *id;
    dq_severity_t severity;
    unsigned applies;               /* DQ_ON_* */
    const char *source;             /* where HUD, Eva or vendors check it */
    int param;                      /* a rule's number: timeliness days, or
                                       the hud_group_id_t it reads */
    int step;                       /* STEP_* its findings concern (front
                                       ends place them there), DQ_EACH_STEP,
                                       or DQ_NO_STEP */
    const char *no_step;            /* why a rule concerns no one step */
    dq_check_fn *check;
};

/* The default table, in evaluation order. */
extern const dq_rule_t dq_rules[];
extern const size_t dq_rule_count;
/* The row of `id` in `table`, or NULL. */
const dq_rule_t *dq_rule_find (const dq_rule_t *table, size_t n,
                               const char *id);

/* Runs every rule of `table` that applies in the snapshot's state; the
 * findings are in table order, then member order. Cancelled workflows are
 * not exits: no rule applies to them. */
void dq_evaluate (const dq_rule_t *table, size_t n, const dq_snapshot_t *s,
                  dq_findings_t *out);

/* Appends a finding about the rule's step (used by the checks; public for
 * tests). */
void dq_add (dq_findings_t *out, const dq_rule_t *rule, const char *client_id,
             const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));
/* Appends a finding about `step`: for a DQ_EACH_STEP rule. */
void dq_add_at (dq_findings_t *out, const dq_rule_t *rule, int step,
                const char *client_id, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));

const char *dq_severity_name (dq_severity_t severity);
/* Packs the findings as the `findings` array of dq.report. */
void dq_findings_pack (msgpack_packer *pk, const dq_findings_t *f);
/* True when `view_dq` (the view's `dq` array) holds exactly these findings
 * for `source`, in this order: then a new report would change nothing. */
bool dq_findings_equal_view (const dq_findings_t *f, const char *source,
                             const msgpack_object *view_dq);

/* ---- timeliness (APR Q6e) ---- */

/* HUD's rows of APR Q6e. An exit recorded before its exit date is in none
 * of them (dq_late_row says -1): reports show it apart, labelled. */
typedef enum { DQ_LATE_0, DQ_LATE_1_3, DQ_LATE_4_6, DQ_LATE_7_10,
               DQ_LATE_11_PLUS, DQ_LATE_ROWS } dq_late_row_t;

extern const char *const dq_late_row_names[DQ_LATE_ROWS];
/* The row of `days` late, or -1 when negative. */
int dq_late_row (int64_t days);
/* Days from the exit date to the CoC's day the exit was recorded: the
 * record day from the history, else the exit form's last save (an
 * approximation), else `today`. False when the exit has no date. */
bool dq_exit_days_late (const dq_member_t *m, int64_t today, int64_t *days);

/* The tolerance of income_total_mismatch, in cents: a total within one
 * dollar of the sum of the amounts is a rounding, not a mistake. */
#define DQ_TOTAL_TOLERANCE_CENTS 100

#endif
