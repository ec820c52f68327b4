/* dq_fields — a group's answers read by the field table. See dq_fields.h. */
#include "workers/dq/dq_fields.h"

#include <stdio.h>
#include <string.h>

/* The step's answer to `f`, true when given. */
static bool
answer_of (const dq_step_t *st, const hud_field_t *f, int64_t *value)
{
    for (int i = 0; i < st->n; i++)
        if (st->answers[i].field == f) {
            *value = st->answers[i].value;
            return true;
        }
    return false;
}

/* Appends `name` to the comma-separated `listed` (which may be NULL). */
static void
list_add (char *listed, size_t cap, size_t *used, const char *name)
{
    if (!listed || *used >= cap)
        return;
    int w = snprintf (listed + *used, cap - *used, "%s%s", *used ? ", " : "",
                      name);
    *used += w > 0 ? (size_t) w : 0;
}

/* The sources of `g` marked yes; with `without_amount`, only those whose
 * amount is absent or 0. */
static int
yes_sources (const dq_step_t *st, hud_group_id_t g, bool without_amount,
             char *listed, size_t cap)
{
    const hud_step_fields_t *t = &hud_step_fields[hud_groups[g].step];
    int n = 0;
    size_t used = 0;
    if (listed && cap)
        listed[0] = '\0';
    for (int i = 0; i < t->n; i++) {
        const hud_field_t *f = &t->fields[i];
        int64_t v, amount = 0;
        if (f->group != g || f->role != ROLE_SOURCE
            || !answer_of (st, f, &v) || v != DQ_YES)
            continue;
        if (without_amount) {
            if (!f->pair)
                continue;           /* a source with no amount (benefits) */
            const hud_field_t *a = hud_field_find (hud_groups[g].step, f->pair,
                                                   strlen (f->pair));
            if (a && answer_of (st, a, &amount) && amount > 0)
                continue;
        }
        list_add (listed, cap, &used, f->name);
        n++;
    }
    return n;
}

int
dq_group_yes_sources (const dq_step_t *st, hud_group_id_t g, char *listed,
                      size_t cap)
{
    return yes_sources (st, g, false, listed, cap);
}

int
dq_group_yes_without_amount (const dq_step_t *st, hud_group_id_t g,
                             char *listed, size_t cap)
{
    return yes_sources (st, g, true, listed, cap);
}

void
dq_group_amounts (const dq_step_t *st, hud_group_id_t g, dq_amounts_t *out)
{
    memset (out, 0, sizeof *out);
    for (int i = 0; i < st->n; i++) {
        const dq_answer_t *a = &st->answers[i];
        if (a->field->group != g)
            continue;
        if (a->field->role == ROLE_AMOUNT) {
            out->n_amounts++;
            out->sum += a->value;
        } else if (a->field->role == ROLE_TOTAL) {
            out->has_total = true;
            out->total = a->value;
        }
    }
}
