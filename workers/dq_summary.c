/* dq_summary — the APR-Q6-style summary. See dq_summary.h. */
#include "dq_summary.h"

#include <string.h>

#include "dq_fields.h"
#include "json.h"

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

static void
count_income (dq_summary_t *sum, const dq_member_t *m)
{
    const dq_group_t *g = &dq_groups[DQ_GROUP_INCOME];
    if (!dq_member_adult_or_head (m))
        return;
    sum->income_leavers++;
    const dq_step_t *st = &m->steps[g->step];
    int64_t any;
    if (!st->done || !dq_step_answer (st, g->any_source, &any)
        || (any != DQ_NO && any != DQ_YES)) {
        sum->income_missing++;
        return;
    }
    int yes = 0;
    for (const char *const *src = g->sources; *src; src++) {
        int64_t v;
        yes += dq_step_answer (st, *src, &v) && v == DQ_YES;
    }
    if ((any == DQ_YES) != (yes > 0))
        sum->income_inconsistent++;
}

void
dq_summary_add_finished (dq_summary_t *sum, const dq_summary_filter_t *f,
                         const dq_snapshot_t *s, const msgpack_object *view_dq)
{
    if (s->state != DQ_STATE_FINISHED)
        return;
    if (f->project_id[0] && strcmp (f->project_id, s->project_id) != 0)
        return;
    int counted = 0;
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        if (m->decision != DQ_EXITING || !in_period (f, m))
            continue;
        counted++;
        sum->leavers++;
        if (!m->exit.has_destination || m->exit.destination == 30
            || m->exit.destination == DQ_NOT_COLLECTED)
            sum->dest_missing++;
        else if (m->exit.destination == DQ_DOESNT_KNOW
                 || m->exit.destination == DQ_PREFERS_NOT)
            sum->dest_dk_pnta++;
        count_income (sum, m);
        int64_t days;
        if (m->exit.recorded_ms && dq_exit_days_late (m, s->now_ms, &days))
            sum->late[dq_late_bucket (days)]++;
        else
            sum->late_unknown++;
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

void
dq_summary_print (const dq_summary_t *sum, const dq_summary_filter_t *f,
                  FILE *out)
{
    fprintf (out, "Data quality of exits (APR Q6 style)\n");
    fprintf (out, "  project       %s\n", f->project_id[0] ? f->project_id
                                                           : "all projects");
    fprintf (out, "  exit dates    %s to %s\n", f->has_from ? f->from : "any",
             f->has_to ? f->to : "any");
    fprintf (out, "  finished exits %lld, leavers %lld\n\n",
             (long long) sum->workflows, (long long) sum->leavers);

    fprintf (out, "Destination (Q6c)                          count   rate\n");
    fprintf (out, "  client doesn't know / prefers not (8, 9) %5lld %6.2f%%\n",
             (long long) sum->dest_dk_pnta, rate (sum->dest_dk_pnta, sum->leavers));
    fprintf (out, "  information missing (30, 99, none)       %5lld %6.2f%%\n",
             (long long) sum->dest_missing, rate (sum->dest_missing, sum->leavers));
    fprintf (out, "  destination errors                       %5lld %6.2f%%\n\n",
             (long long) (sum->dest_dk_pnta + sum->dest_missing),
             dq_summary_destination_rate (sum));

    fprintf (out, "Income at exit, adult and head leavers (Q6c): %lld\n",
             (long long) sum->income_leavers);
    fprintf (out, "  missing or doesn't know / prefers not    %5lld %6.2f%%\n",
             (long long) sum->income_missing,
             rate (sum->income_missing, sum->income_leavers));
    fprintf (out, "  any source contradicts the sources       %5lld %6.2f%%\n\n",
             (long long) sum->income_inconsistent,
             rate (sum->income_inconsistent, sum->income_leavers));

    fprintf (out, "Timeliness: days from exit date to record (Q6e)\n");
    for (int b = 0; b < DQ_LATE_BUCKETS; b++)
        fprintf (out, "  %-6s %5lld\n", dq_late_bucket_names[b],
                 (long long) sum->late[b]);
    if (sum->late_unknown)
        fprintf (out, "  %-6s %5lld\n", "?", (long long) sum->late_unknown);

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
    strbuf_t b;
    strbuf_init (&b);
    strbuf_puts (&b, "{");
    json_kv_str (&b, "project_id", f->project_id);
    json_kv_str (&b, "from", f->has_from ? f->from : "");
    json_kv_str (&b, "to", f->has_to ? f->to : "");
    json_kv_int (&b, "workflows", sum->workflows);
    json_kv_int (&b, "leavers", sum->leavers);
    json_key (&b, "destination");
    strbuf_puts (&b, "{");
    json_kv_int (&b, "dk_pnta", sum->dest_dk_pnta);
    json_kv_int (&b, "missing", sum->dest_missing);
    json_kv_int (&b, "errors", sum->dest_dk_pnta + sum->dest_missing);
    json_key (&b, "error_rate");
    strbuf_printf (&b, "%.4f", dq_summary_destination_rate (sum) / 100.0);
    strbuf_puts (&b, "}");
    json_key (&b, "income");
    strbuf_puts (&b, "{");
    json_kv_int (&b, "leavers", sum->income_leavers);
    json_kv_int (&b, "missing", sum->income_missing);
    json_kv_int (&b, "inconsistent", sum->income_inconsistent);
    strbuf_puts (&b, "}");
    json_key (&b, "timeliness");
    strbuf_puts (&b, "{");
    for (int i = 0; i < DQ_LATE_BUCKETS; i++)
        json_kv_int (&b, dq_late_bucket_names[i], sum->late[i]);
    json_kv_int (&b, "unknown", sum->late_unknown);
    strbuf_puts (&b, "}");
    json_key (&b, "open");
    strbuf_puts (&b, "{");
    json_kv_int (&b, "total", sum->open);
    json_kv_int (&b, "stalled", sum->stalled);
    strbuf_puts (&b, "}");
    json_key (&b, "findings");
    strbuf_puts (&b, "[");
    for (int i = 0; i < sum->n_rules; i++) {
        if (i)
            strbuf_puts (&b, ",");
        strbuf_puts (&b, "{");
        json_kv_str (&b, "rule", sum->rules[i].rule);
        json_kv_int (&b, "errors", sum->rules[i].errors);
        json_kv_int (&b, "warnings", sum->rules[i].warnings);
        strbuf_puts (&b, "}");
    }
    strbuf_puts (&b, "]}");
    fprintf (out, "%s\n", b.data);
    strbuf_free (&b);
}
