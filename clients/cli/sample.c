/* sample — the made-up household of `exitflow demo` and `exitflow start
 * --example`.
 *
 * Owns: a three-member household (head, spouse, child, with dates of
 * birth; ids fresh for every run, so it starts against any daemon) in
 * project `demo`, a rapid re-housing project with a move-in date, as the
 * workflow.start arguments in JSON — exactly what `start --example`
 * prints and what the demo starts — and the typed forms a front end that
 * shows every question sends, built from the protocol's field table. */
#include "cli.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "protocol/hud.h"
#include "protocol/hud_fields.h"

#define SAMPLE_PROJECT_TYPE HUD_PROJECT_RRH
/* The answers of HUD's yes/no lists (1.7, 1.8). */
#define ANSWER_NO 0
#define ANSWER_YES 1

void
sample_new (sample_t *h)
{
    uint8_t r[4] = { 0 };
    if (getrandom (r, sizeof r, 0) != (ssize_t) sizeof r) {
        uint32_t t = (uint32_t) time (NULL) ^ (uint32_t) clock ();
        memcpy (r, &t, sizeof r);
    }
    char tag[9];
    snprintf (tag, sizeof tag, "%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
    snprintf (h->household, sizeof h->household, "HH-DEMO-%s", tag);
    snprintf (h->hoh, sizeof h->hoh, "C-%s-1", tag);
    snprintf (h->spouse, sizeof h->spouse, "C-%s-2", tag);
    snprintf (h->child, sizeof h->child, "C-%s-3", tag);
    snprintf (h->e_hoh, sizeof h->e_hoh, "E-%s-1", tag);
    snprintf (h->e_spouse, sizeof h->e_spouse, "E-%s-2", tag);
    snprintf (h->e_child, sizeof h->e_child, "E-%s-3", tag);
    fmt_utc_date (-120, h->entry);
    fmt_utc_date (-90, h->entry_child);
    fmt_utc_date (-100, h->move_in);
    /* 41, 39 and 9 years old: the daemon works out who is an adult. */
    fmt_utc_date (-(41 * 365 + 45), h->born_hoh);
    fmt_utc_date (-(39 * 365 + 7), h->born_spouse);
    fmt_utc_date (-(9 * 365 + 120), h->born_child);
}

/* An assessment as a front end that shows every question sends it: each
 * question of `step` answered no (in the step's field table, every coded
 * question whose list has a "no"); the follow-ups of a yes ("indefinite
 * and impairs", amounts, "specify" texts) are left out. */
json_t *
sample_form_all_no (int step)
{
    json_t *form = json_object ();
    const hud_step_fields_t *t = &hud_step_fields[step];
    for (int i = 0; i < t->n; i++) {
        const hud_field_t *f = &t->fields[i];
        if (f->type == FIELD_CODE && f->role != ROLE_IMPAIRS
            && hud_list_find (f->list, ANSWER_NO))
            json_object_set_new (form, f->name, json_integer (ANSWER_NO));
    }
    return form;
}

json_t *
sample_with_source (json_t *form, int step, const char *name, double amount)
{
    const hud_field_t *f = hud_field_find (step, name, strlen (name));
    if (!f || f->role != ROLE_SOURCE)
        return form;
    const hud_group_t *g = &hud_groups[f->group];
    json_object_set_new (form, f->name, json_integer (ANSWER_YES));
    json_object_set_new (form, g->any_source, json_integer (ANSWER_YES));
    if (f->pair)
        json_object_set_new (form, f->pair, json_real (amount));
    if (g->total)
        json_object_set_new (form, g->total, json_real (
            json_number_value (json_object_get (form, g->total)) + amount));
    return form;
}

json_t *
sample_exit_form (const char *reason)
{
    /* Yesterday: whatever the CoC's time zone, never in its future. */
    char yesterday[11];
    fmt_utc_date (-1, yesterday);
    /* 410: rental by client, no ongoing housing subsidy (HUD 3.12). */
    return json_pack ("{s:s, s:i, s:s}", "exit_date", yesterday,
                      "destination", 410, "exit_reason", reason);
}

/* Prior assessment values, as a front end would carry them from the
 * entry assessment, for Default Last. */
static json_t *
last_values (bool adult)
{
    json_t *j = json_object ();
    json_object_set_new (j, hud_steps[STEP_UNIVERSAL_DATA].name,
                         sample_form_all_no (STEP_UNIVERSAL_DATA));
    json_object_set_new (j, hud_steps[STEP_HEALTH_INSURANCE].name,
                         sample_with_source (sample_form_all_no (STEP_HEALTH_INSURANCE),
                                             STEP_HEALTH_INSURANCE, "medicaid", 0));
    json_object_set_new (j, hud_steps[STEP_DISABILITIES].name,
                         sample_form_all_no (STEP_DISABILITIES));
    if (adult)
        json_object_set_new (j, hud_steps[STEP_INCOME_BENEFITS].name,
                             sample_with_source (sample_form_all_no (STEP_INCOME_BENEFITS),
                                                 STEP_INCOME_BENEFITS, "earned",
                                                 1250.50));
    return j;
}

static json_t *
member (const char *client, const char *enrollment, int relationship,
        const char *entry, const char *born, bool adult)
{
    return json_pack ("{s:s, s:s, s:i, s:s, s:s, s:o}", "client_id", client,
                      "enrollment_id", enrollment, "relationship",
                      relationship, "entry_date", entry, "birth_date", born,
                      "last", last_values (adult));
}

json_t *
sample_start_args (const sample_t *h)
{
    /* HUD 3.15: head of household, spouse or partner, child; no adult
     * flags: the dates of birth say it. */
    json_t *members = json_pack (
        "[o, o, o]",
        member (h->hoh, h->e_hoh, HUD_HEAD_OF_HOUSEHOLD, h->entry, h->born_hoh,
                true),
        member (h->spouse, h->e_spouse, 3, h->entry, h->born_spouse, true),
        member (h->child, h->e_child, HUD_CHILD, h->entry_child, h->born_child,
                false));
    return json_pack ("{s:s, s:s, s:s, s:i, s:s, s:o}", "enrollment_id",
                      h->e_hoh, "household_id", h->household, "project_id",
                      EXF_DEMO_PROJECT, "project_type", SAMPLE_PROJECT_TYPE,
                      "move_in_date", h->move_in, "members", members);
}
