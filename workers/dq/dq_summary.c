/* dq_summary — the APR-Q6-style summary. See dq_summary.h. */
#include "workers/dq/dq_summary.h"

#include <string.h>

#include "workers/dq/dq_fields.h"
#include "workers/common/wjson.h"

bool
dq_summary_counts_project (const dq_summary_filter_t *f,
                           const char *project_id)
{
    if (f->project_id[0])
        return strcmp (f->project_id, project_id) == 0;
    return f->include_demo || strcmp (project_id, EXF_DEMO_PROJECT) != 0;
}

static bool
set_day (const char *date, int64_t *day, char out[11])
{
    size_t n = strlen (date);
    if (n != 10 || !codec_parse_date ((exf_str_t) { date, 10 }, day))
        return false;
    memcpy (out, date, 11);
    return true;
}

bool
dq_summary_set_project (dq_summary_filter_t *f, const char *id)
{
    if (!id[0] || strlen (id) > EXF_ID_MAX)
        return false;
    memcpy (f->project_id, id, strlen (id) + 1);
    return true;
}

bool
dq_summary_set_from (dq_summary_filter_t *f, const char *date)
{
    return (f->has_from = set_day (date, &f->from_day, f->from));
}

bool
dq_summary_set_to (dq_summary_filter_t *f, const char *date)
{
    return (f->has_to = set_day (date, &f->to_day, f->to));
}

static bool
in_period (const dq_summary_filter_t *f, const dq_member_t *m)
{
    if (!m->exit.has_exit_date)
        return !f->has_from && !f->has_to;
    return (!f->has_from || m->exit.exit_day >= f->from_day)
           && (!f->has_to || m->exit.exit_day <= f->to_day);
}

static void
count_rule (dq_summary_t *sum, exf_str_t rule, bool error)
{
    int i = 0;
    while (i < sum->n_rules && !codec_str_eq (rule, sum->rules[i].rule))
        i++;
    if (i == sum->n_rules) {
        if (sum->n_rules == DQ_SUMMARY_RULES)
            return;
        codec_str_copy (sum->rules[i].rule, sizeof sum->rules[i].rule, rule);
        sum->n_rules++;
    }
    if (error)
        sum->rules[i].errors++;
    else
        sum->rules[i].warnings++;
}

/* APR Q6c's income at exit: adult (effective) and head leavers. */
static void
count_income (dq_summary_t *sum, const dq_member_t *m)
{
    const hud_group_t *g = &hud_groups[GROUP_INCOME];
    if (!dq_member_answers_step (m, g->step))
        return;
    sum->income_leavers++;
    const dq_step_t *st = &m->steps[g->step];
    int64_t any;
    if (!st->done || !dq_step_answer (st, g->any_source, &any)
        || (any != DQ_NO && any != DQ_YES)) {
        sum->income_missing++;
        return;
    }
    if ((any == DQ_YES)
        != (dq_group_yes_sources (st, GROUP_INCOME, NULL, 0) > 0))
        sum->income_inconsistent++;
}

/* APR Q6e: HUD's rows, and apart what is in none of them. */
static void
count_timeliness (dq_summary_t *sum, const dq_snapshot_t *s,
                  const dq_member_t *m)
{
    int64_t days;
    if (!m->exit.has_recorded || !dq_exit_days_late (m, s->today, &days)) {
        sum->late_unknown++;
        return;
    }
    int row = dq_late_row (days);
    if (row < 0)
        sum->late_before_exit++;
    else
        sum->late[row]++;
}

/* Outcomes: the destination's category; a leaver with none counts as
 * "other", as HUD's "no exit interview / data not collected" does. */
static void
count_outcome (dq_summary_t *sum, const dq_member_t *m)
{
    const hud_destination_t *d = m->exit.has_destination
                                 ? hud_destination (m->exit.destination)
                                 : NULL;
    sum->outcome[d ? d->category : DEST_OTHER]++;
    sum->other_destination += d && d->code == HUD_DEST_OTHER;
}

void
dq_summary_add_finished (dq_summary_t *sum, const dq_summary_filter_t *f,
                         const dq_snapshot_t *s, const msgpack_object *view_dq)
{
    if (s->state != DQ_STATE_FINISHED)
        return;
    if (!dq_summary_counts_project (f, s->project_id))
        return;
    int counted = 0;
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        if (m->decision != DQ_EXITING || !in_period (f, m))
            continue;
        counted++;
        sum->leavers++;
        dq_dest_quality_t q = dq_exit_destination_quality (&m->exit);
        sum->dest_missing += q == DQ_DEST_MISSING;
        sum->dest_dk_pnta += q == DQ_DEST_DK_PNTA;
        count_income (sum, m);
        count_timeliness (sum, s, m);
        count_outcome (sum, m);
    }
    if (!counted)
        return;
    sum->workflows++;
    if (!view_dq || view_dq->type != MSGPACK_OBJECT_ARRAY)
        return;
    for (uint32_t i = 0; i < view_dq->via.array.size; i++) {
        const msgpack_object *x = &view_dq->via.array.ptr[i];
        const msgpack_object *rule = codec_map_get (x, "rule");
        const msgpack_object *sev = codec_map_get (x, "severity");
        if (rule && rule->type == MSGPACK_OBJECT_STR && sev
            && sev->type == MSGPACK_OBJECT_STR)
            count_rule (sum, codec_str_of (rule),
                        codec_str_eq (codec_str_of (sev), "error"));
    }
}

void
dq_summary_add_open (dq_summary_t *sum, bool stalled)
{
    sum->open++;
    sum->stalled += stalled;
}

double
dq_summary_destination_rate (const dq_summary_t *sum)
{
    return sum->leavers ? 100.0 * (double) (sum->dest_dk_pnta + sum->dest_missing)
                              / (double) sum->leavers
                        : 0.0;
}

static double
rate (int64_t part, int64_t whole)
{
    return whole ? 100.0 * (double) part / (double) whole : 0.0;
}

double
dq_summary_outcome_percent (const dq_summary_t *sum,
                            hud_dest_category_t category)
{
    /* rounded half up to 2 decimals (the rate is >= 0) */
    return (double) (int64_t) (rate (sum->outcome[category], sum->leavers)
                               * 100.0 + 0.5) / 100.0;
}

/* The categories in the order reports list them: the outcome HUD wants
 * first. */
static const hud_dest_category_t outcome_order[DEST_CATEGORY_COUNT] = {
    DEST_PERMANENT, DEST_TEMPORARY, DEST_INSTITUTIONAL, DEST_HOMELESS,
    DEST_OTHER };

static void
print_timeliness (const dq_summary_t *sum, FILE *out)
{
    fprintf (out, "Timeliness: days from exit date to record (APR Q6e)\n");
    for (int r = 0; r < DQ_LATE_ROWS; r++)
        fprintf (out, "  %-6s %5lld\n", dq_late_row_names[r],
                 (long long) sum->late[r]);
    fprintf (out, "  not an APR Q6e row:\n");
    fprintf (out, "    recorded before the exit date  %5lld\n",
             (long long) sum->late_before_exit);
    fprintf (out, "    record time unknown            %5lld\n\n",
             (long long) sum->late_unknown);
}

static void
print_outcomes (const dq_summary_t *sum, FILE *out)
{
    fprintf (out, "Outcomes: leavers by destination category   count  share\n");
    for (int i = 0; i < DEST_CATEGORY_COUNT; i++) {
        hud_dest_category_t c = outcome_order[i];
        fprintf (out, "  %-40s %5lld %6.2f%%\n", hud_dest_category_names[c],
                 (long long) sum->outcome[c],
                 dq_summary_outcome_percent (sum, c));
    }
    /* 17 "Other": HUD discourages it, so the report counts it */
    const hud_destination_t *other = hud_destination (HUD_DEST_OTHER);
    char label[64];
    snprintf (label, sizeof label, "destination %d (%s)", other->code,
              other->label);
    fprintf (out, "  %-40s %5lld\n", label, (long long) sum->other_destination);
}

void
dq_summary_print (const dq_summary_t *sum, const dq_summary_filter_t *f,
                  FILE *out)
{
    fprintf (out, "Data quality of exits (APR Q6 style)\n");
    fprintf (out, "  project       %s\n",
             f->project_id[0] ? f->project_id
             : f->include_demo ? "all projects"
             : "all projects but " EXF_DEMO_PROJECT " (--include-demo)");
    fprintf (out, "  exit dates    %s to %s\n", f->has_from ? f->from : "any",
             f->has_to ? f->to : "any");
    fprintf (out, "  finished exits %lld, leavers %lld\n\n",
             (long long) sum->workflows, (long long) sum->leavers);

    fprintf (out, "Destination (APR Q6c)                      count   rate\n");
    fprintf (out, "  client doesn't know / prefers not (8, 9) %5lld %6.2f%%\n",
             (long long) sum->dest_dk_pnta, rate (sum->dest_dk_pnta, sum->leavers));
    fprintf (out, "  information missing (30, 99, none)       %5lld %6.2f%%\n",
             (long long) sum->dest_missing, rate (sum->dest_missing, sum->leavers));
    fprintf (out, "  destination errors                       %5lld %6.2f%%\n\n",
             (long long) (sum->dest_dk_pnta + sum->dest_missing),
             dq_summary_destination_rate (sum));

    fprintf (out, "Income at exit, adult and head leavers (APR Q6c): %lld\n",
             (long long) sum->income_leavers);
    fprintf (out, "  missing or doesn't know / prefers not    %5lld %6.2f%%\n",
             (long long) sum->income_missing,
             rate (sum->income_missing, sum->income_leavers));
    fprintf (out, "  any source contradicts the sources       %5lld %6.2f%%\n\n",
             (long long) sum->income_inconsistent,
             rate (sum->income_inconsistent, sum->income_leavers));

    print_timeliness (sum, out);
    print_outcomes (sum, out);

    fprintf (out, "\nOpen exits: %lld (%lld stalled)\n", (long long) sum->open,
             (long long) sum->stalled);
    if (sum->n_rules) {
        fprintf (out, "\nStored DQ findings on these exits\n");
        fprintf (out, "  %-30s %6s %8s\n", "rule", "errors", "warnings");
        for (int i = 0; i < sum->n_rules; i++)
            fprintf (out, "  %-30s %6lld %8lld\n", sum->rules[i].rule,
                     (long long) sum->rules[i].errors,
                     (long long) sum->rules[i].warnings);
    }
}

void
dq_summary_print_json (const dq_summary_t *sum, const dq_summary_filter_t *f,
                       FILE *out)
{
    /* the error rate as a fraction, to 4 decimals (the rate is >= 0) */
    double error_rate = (double) (long long) (dq_summary_destination_rate (sum)
                                              * 100.0 + 0.5) / 10000.0;
    json_t *timeliness = json_object ();
    for (int i = 0; i < DQ_LATE_ROWS; i++)
        json_object_set_new (timeliness, dq_late_row_names[i],
                             json_integer (sum->late[i]));
    json_t *categories = json_object ();
    for (int i = 0; i < DEST_CATEGORY_COUNT; i++) {
        hud_dest_category_t c = outcome_order[i];
        json_object_set_new (categories, hud_dest_category_names[c], json_pack (
            "{s:I, s:f}", "count", (json_int_t) sum->outcome[c],
            "percent", dq_summary_outcome_percent (sum, c)));
    }
    json_t *findings = json_array ();
    for (int i = 0; i < sum->n_rules; i++)
        json_array_append_new (findings, json_pack (
            "{s:o, s:I, s:I}", "rule", wjson_text_or_null (sum->rules[i].rule),
            "errors", (json_int_t) sum->rules[i].errors,
            "warnings", (json_int_t) sum->rules[i].warnings));
    json_t *j = json_pack (
        "{s:o, s:o, s:o, s:I, s:I,"
        " s:{s:I, s:I, s:I, s:f},"
        " s:{s:I, s:I, s:I},"
        " s:o, s:{s:I, s:I},"
        " s:{s:I, s:o, s:I},"
        " s:{s:I, s:I}, s:o}",
        "project_id", wjson_text_or_null (f->project_id),
        "from", wjson_text_or_null (f->has_from ? f->from : ""),
        "to", wjson_text_or_null (f->has_to ? f->to : ""),
        "workflows", (json_int_t) sum->workflows,
        "leavers", (json_int_t) sum->leavers,
        "destination",
            "dk_pnta", (json_int_t) sum->dest_dk_pnta,
            "missing", (json_int_t) sum->dest_missing,
            "errors", (json_int_t) (sum->dest_dk_pnta + sum->dest_missing),
            "error_rate", error_rate,
        "income",
            "leavers", (json_int_t) sum->income_leavers,
            "missing", (json_int_t) sum->income_missing,
            "inconsistent", (json_int_t) sum->income_inconsistent,
        "timeliness", timeliness,
        "timeliness_not_hud",
            "recorded_before_exit_date", (json_int_t) sum->late_before_exit,
            "unknown", (json_int_t) sum->late_unknown,
        "outcomes",
            "leavers", (json_int_t) sum->leavers,
            "categories", categories,
            "other_destination_17", (json_int_t) sum->other_destination,
        "open",
            "total", (json_int_t) sum->open,
            "stalled", (json_int_t) sum->stalled,
        "findings", findings);
    /* %.15g of a value rounded to 2 or 4 decimals prints those decimals
     * only */
    json_dumpf (j, out, JSON_COMPACT | JSON_REAL_PRECISION (15));
    fputc ('\n', out);
    json_decref (j);
}
