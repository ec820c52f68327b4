/* dq_fields — the field conventions of the assessment maps the DQ rules read.
 *
 * Owns: which keys of a step's `data` map carry the HUD 4.02 income, 4.03
 * non-cash benefits and 4.04 health insurance answers, and how an answer is
 * read (0 no, 1 yes, 8 client doesn't know, 9 client prefers not to answer,
 * 99 data not collected; true/false count as 1/0). The protocol keeps
 * assessments free-form; front ends that want DQ must follow this table
 * (workers/README.md lists it). Adding a source is one string in a row.
 * Who answers a group at exit is the step's HUD fact
 * (hud_steps[step].adults_and_hoh_only), not a second flag here. */
#ifndef EXF_DQ_FIELDS_H
#define EXF_DQ_FIELDS_H

#include "protocol/hud.h"

#define DQ_NO 0
#define DQ_YES 1
#define DQ_DOESNT_KNOW 8
#define DQ_PREFERS_NOT 9
#define DQ_NOT_COLLECTED 99
#define DQ_NO_EXIT_INTERVIEW 30     /* 3.12 destination: counts as missing */

typedef enum { DQ_GROUP_INCOME, DQ_GROUP_BENEFITS, DQ_GROUP_INSURANCE,
               DQ_GROUP_COUNT } dq_group_id_t;

typedef struct {
    const char *name;               /* "income" */
    const char *hud;                /* "4.02" */
    int step;                       /* the step whose data holds it */
    const char *any_source;         /* "income_from_any_source" */
    const char *const *sources;     /* per-source yes/no keys, NULL-ended */
} dq_group_t;

extern const dq_group_t dq_groups[DQ_GROUP_COUNT];

/* Disabilities (4.05–4.10): the yes/no keys of the `disabilities` step. */
extern const char *const dq_disability_fields[];

#endif
