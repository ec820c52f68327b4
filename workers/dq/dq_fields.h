/* dq_fields — the DQ rules' questions about a group of answers, asked of
 * the one field table (protocol/hud_fields.h).
 *
 * Owns: the answer codes the rules compare with (1.7/1.8: 0 no, 1 yes,
 * 8 client doesn't know, 9 client prefers not to answer, 99 data not
 * collected; and 3.12's 30, no exit interview) and, for a group (4.02
 * income, 4.03 benefits, 4.04 insurance), which of its sources a member
 * marked yes, which of those lack an amount, and how the amounts add up
 * against the total. Which field is a group's "any source", a source, its
 * amount or the total is the table's to say (hud_groups, the fields'
 * group, role and pair): nothing here names a field. */
#ifndef EXF_DQ_FIELDS_H
#define EXF_DQ_FIELDS_H

#include <stddef.h>

#include "protocol/hud_fields.h"
#include "workers/dq/dq_snapshot.h"

#define DQ_NO 0
#define DQ_YES 1
#define DQ_DOESNT_KNOW 8
#define DQ_PREFERS_NOT 9
#define DQ_NOT_COLLECTED 99
#define DQ_NO_EXIT_INTERVIEW 30     /* 3.12 destination: counts as missing */

/* How many of group `g`'s sources the step marks yes (1), with their field
 * names, comma-separated, in `listed` (may be NULL): what the "any source"
 * answer must agree with. */
int dq_group_yes_sources (const dq_step_t *st, hud_group_id_t g,
                          char *listed, size_t cap);
/* How many of group `g`'s sources marked yes have an amount field that is
 * absent or 0 (names in `listed`, may be NULL). */
int dq_group_yes_without_amount (const dq_step_t *st, hud_group_id_t g,
                                 char *listed, size_t cap);

/* The amounts of a group and its total, in cents. */
typedef struct {
    int n_amounts;                  /* amount fields given */
    int64_t sum;                    /* their sum */
    bool has_total;
    int64_t total;
} dq_amounts_t;

void dq_group_amounts (const dq_step_t *st, hud_group_id_t g,
                       dq_amounts_t *out);

#endif
