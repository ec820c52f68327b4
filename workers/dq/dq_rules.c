/* dq_rules — the DQ rule table and its checks. See dq_rules.h. */
#include "workers/dq/dq_rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "workers/dq/dq_fields.h"

#define COUNT(a) (sizeof (a) / sizeof (a)[0])

const char *
dq_severity_name (dq_severity_t severity)
{
    return severity == DQ_ERROR ? "error" : "warning";
}

void
dq_add (dq_findings_t *out, const dq_rule_t *rule, const char *client_id,
        const char *fmt, ...)
{
    if (out->n == DQ_MAX_FINDINGS) {
        out->overflow = true;
        return;
    }
    dq_finding_t *f = &out->items[out->n++];
    f->rule = rule->id;
    f->severity = rule->severity;
    snprintf (f->client_id, sizeof f->client_id, "%s", client_id ? client_id : "");
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (f->message, sizeof f->message, fmt, ap);
    va_end (ap);
}

/* Exiting members whose exit form is saved: what most rules look at. */
static bool
exit_recorded (const dq_member_t *m)
{
    return m->decision == DQ_EXITING && m->exit.done;
}

/* ---- the exit form ---- */

static void
check_exit_date_future (const dq_rule_t *rule, const dq_snapshot_t *s,
                        dq_findings_t *out)
{
    int64_t today = codec_days_of_ms (s->now_ms);
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        if (exit_recorded (m) && m->exit.has_exit_date
            && m->exit.exit_day > today)
            dq_add (out, rule, m->client_id,
                    "exit date is %lld day(s) in the future (3.11)",
                    (long long) (m->exit.exit_day - today));
    }
}

static void
check_exit_before_entry (const dq_rule_t *rule, const dq_snapshot_t *s,
                         dq_findings_t *out)
{
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        if (exit_recorded (m) && m->exit.has_exit_date && m->has_entry
            && m->exit.exit_day < m->entry_day)
            dq_add (out, rule, m->client_id,
                    "exit date is %lld day(s) before the project start date "
                    "(3.11)", (long long) (m->entry_day - m->exit.exit_day));
    }
}

static void
check_subsidy (const dq_rule_t *rule, const dq_snapshot_t *s,
               dq_findings_t *out)
{
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        if (!exit_recorded (m) || !m->exit.has_destination)
            continue;
        const hud_destination_t *d = hud_destination (m->exit.destination);
        bool needs = d && d->needs_subsidy_type;
        if (needs && !m->exit.has_subsidy)
            dq_add (out, rule, m->client_id,
                    "destination %d needs a rental subsidy type (3.12.A)",
                    m->exit.destination);
        else if (needs && !hud_is_subsidy_type (m->exit.subsidy))
            dq_add (out, rule, m->client_id,
                    "rental subsidy type %d is not a 3.12.A code",
                    m->exit.subsidy);
        else if (!needs && m->exit.has_subsidy)
            dq_add (out, rule, m->client_id,
                    "a rental subsidy type is given for destination %d; it "
                    "belongs only with 435 (3.12.A)", m->exit.destination);
    }
}

static void
check_other_destination (const dq_rule_t *rule, const dq_snapshot_t *s,
                         dq_findings_t *out)
{
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        if (!exit_recorded (m) || !m->exit.has_destination)
            continue;
        const hud_destination_t *d = hud_destination (m->exit.destination);
        if (!d || !d->needs_other_text)
            continue;
        if (!m->exit.has_other)
            dq_add (out, rule, m->client_id,
                    "destination %d (other) needs the \"specify\" text (3.12)",
                    m->exit.destination);
        else if (m->exit.other_chars > HUD_OTHER_DESTINATION_MAX)
            dq_add (out, rule, m->client_id,
                    "the \"specify\" text of destination %d is longer than "
                    "%d characters (3.12)", m->exit.destination,
                    HUD_OTHER_DESTINATION_MAX);
    }
}

static void
check_destination_dk_pnta (const dq_rule_t *rule, const dq_snapshot_t *s,
                           dq_findings_t *out)
{
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        if (!exit_recorded (m)
            || dq_exit_destination_quality (&m->exit) != DQ_DEST_DK_PNTA)
            continue;
        dq_add (out, rule, m->client_id, "%s (APR Q6c)",
                m->exit.destination == DQ_DOESNT_KNOW
                ? "destination is 8, client doesn't know"
                : "destination is 9, client prefers not to answer");
    }
}

static void
check_destination_missing (const dq_rule_t *rule, const dq_snapshot_t *s,
                           dq_findings_t *out)
{
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        if (!exit_recorded (m))
            continue;
        if (dq_exit_destination_quality (&m->exit) == DQ_DEST_MISSING)
            dq_add (out, rule, m->client_id, "%s (APR Q6c)",
                    !m->exit.has_destination ? "destination is missing"
                    : m->exit.destination == DQ_NO_EXIT_INTERVIEW
                    ? "destination is 30, no exit interview completed"
                    : "destination is 99, data not collected");
        else if (!hud_destination (m->exit.destination))
            dq_add (out, rule, m->client_id,
                    "destination %d is not a 3.12 destination code",
                    m->exit.destination);
    }
}

/* ---- income, benefits, insurance: "any source" and the sources ---- */

/* The member's saved step holding `group`, or NULL when it does not apply
 * (not exiting, not collected for this member, or not saved yet). */
static const dq_step_t *
group_step (const dq_member_t *m, const dq_group_t *g)
{
    if (m->decision != DQ_EXITING)
        return NULL;
    if (!dq_member_answers_step (m, g->step))
        return NULL;
    const dq_step_t *st = &m->steps[g->step];
    return st->applies && st->done ? st : NULL;
}

static void
check_group_missing (const dq_rule_t *rule, const dq_snapshot_t *s,
                     dq_findings_t *out)
{
    const dq_group_t *g = &dq_groups[rule->param];
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        const dq_step_t *st = group_step (m, g);
        if (!st)
            continue;
        int64_t any;
        if (!dq_step_answer (st, g->any_source, &any))
            dq_add (out, rule, m->client_id, "%s at exit is missing: no %s "
                    "(%s)", g->name, g->any_source, g->hud);
        else if (any == DQ_DOESNT_KNOW || any == DQ_PREFERS_NOT)
            dq_add (out, rule, m->client_id, "%s is %lld, client doesn't "
                    "know or prefers not to answer (%s)", g->any_source,
                    (long long) any, g->hud);
        else if (any == DQ_NOT_COLLECTED)
            dq_add (out, rule, m->client_id, "%s is 99, data not collected "
                    "(%s)", g->any_source, g->hud);
        else if (any != DQ_NO && any != DQ_YES)
            dq_add (out, rule, m->client_id, "%s is %lld, not a 0/1/8/9/99 "
                    "answer (%s)", g->any_source, (long long) any, g->hud);
    }
}

int
dq_group_yes_sources (const dq_step_t *st, const dq_group_t *g, char *listed,
                      size_t cap)
{
    int yes = 0;
    size_t used = 0;
    if (listed && cap)
        listed[0] = '\0';
    for (const char *const *src = g->sources; *src; src++) {
        int64_t v;
        if (!dq_step_answer (st, *src, &v) || v != DQ_YES)
            continue;
        if (listed && used < cap) {
            int w = snprintf (listed + used, cap - used, "%s%s",
                              yes ? ", " : "", *src);
            used += w > 0 ? (size_t) w : 0;
        }
        yes++;
    }
    return yes;
}

static void
check_group_inconsistent (const dq_rule_t *rule, const dq_snapshot_t *s,
                          dq_findings_t *out)
{
    const dq_group_t *g = &dq_groups[rule->param];
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        const dq_step_t *st = group_step (m, g);
        int64_t any;
        if (!st || !dq_step_answer (st, g->any_source, &any))
            continue;
        char listed[DQ_MESSAGE_MAX / 2];
        int yes = dq_group_yes_sources (st, g, listed, sizeof listed);
        if (any == DQ_YES && yes == 0)
            dq_add (out, rule, m->client_id, "%s is 1 (yes) but no %s source "
                    "is marked yes (%s)", g->any_source, g->name, g->hud);
        else if (any != DQ_YES && yes > 0)
            dq_add (out, rule, m->client_id, "%s is %lld but %d source(s) are "
                    "marked yes: %s (%s)", g->any_source, (long long) any, yes,
                    listed, g->hud);
    }
}

/* ---- completeness ---- */

static void
check_assessment_missing (const dq_rule_t *rule, const dq_snapshot_t *s,
                          dq_findings_t *out)
{
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        if (m->decision != DQ_EXITING)
            continue;
        if (!m->exit.done)
            dq_add (out, rule, m->client_id, "the exit form was not saved");
        for (int step = STEP_EXIT + 1; step < STEP_COUNT; step++) {
            const dq_step_t *st = &m->steps[step];
            if (!st->applies)
                continue;
            if (!st->done)
                dq_add (out, rule, m->client_id, "the %s assessment at exit "
                        "was not completed", hud_steps[step].name);
            else if (st->n_keys == 0)
                dq_add (out, rule, m->client_id, "the %s assessment at exit "
                        "was saved empty", hud_steps[step].name);
        }
    }
}

/* ---- the household ---- */

static void
check_head_count (const dq_rule_t *rule, const dq_snapshot_t *s,
                  dq_findings_t *out)
{
    int heads = 0;
    for (int i = 0; i < s->n_members; i++)
        heads += dq_member_is_head (&s->members[i]);
    if (heads == 0)
        dq_add (out, rule, NULL, "the household has no head of household "
                "(3.15)");
    else if (heads > 1)
        dq_add (out, rule, NULL, "the household has %d heads of household "
                "(3.15)", heads);
}

/* Evaluated on finished exits only: while the exit is open, naming the new
 * head at the finish is still to come (and the daemon requires it then). */
static void
check_head_exits_first (const dq_rule_t *rule, const dq_snapshot_t *s,
                        dq_findings_t *out)
{
    int h = dq_snapshot_head (s);
    if (h < 0 || s->members[h].decision != DQ_EXITING
        || s->new_head_of_household[0])
        return;
    int staying = 0;
    for (int i = 0; i < s->n_members; i++)
        staying += s->members[i].decision == DQ_STAYING;
    if (staying > 0)
        dq_add (out, rule, s->members[h].client_id,
                "the head of household exits while %d member(s) stay "
                "enrolled; name a new head of household (3.15)", staying);
}

static void
check_member_after_head (const dq_rule_t *rule, const dq_snapshot_t *s,
                         dq_findings_t *out)
{
    int h = dq_snapshot_head (s);
    if (h < 0 || !exit_recorded (&s->members[h])
        || !s->members[h].exit.has_exit_date)
        return;
    int64_t head_day = s->members[h].exit.exit_day;
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        if (i != h && exit_recorded (m) && m->exit.has_exit_date
            && m->exit.exit_day > head_day)
            dq_add (out, rule, m->client_id,
                    "exit date is %lld day(s) after the head of household's "
                    "exit date", (long long) (m->exit.exit_day - head_day));
    }
}

/* ---- timeliness (APR Q6e) ---- */

const char *const dq_late_bucket_names[DQ_LATE_BUCKETS] = {
    "<0", "0", "1-3", "4-6", "7-10", "11+" };

dq_late_bucket_t
dq_late_bucket (int64_t days)
{
    return days < 0 ? DQ_LATE_NEGATIVE : days == 0 ? DQ_LATE_0
           : days <= 3 ? DQ_LATE_1_3 : days <= 6 ? DQ_LATE_4_6
           : days <= 10 ? DQ_LATE_7_10 : DQ_LATE_11_PLUS;
}

bool
dq_exit_days_late (const dq_member_t *m, int64_t now_ms, int64_t *days)
{
    if (!m->exit.done || !m->exit.has_exit_date)
        return false;
    int64_t at = m->exit.recorded_ms ? m->exit.recorded_ms
                 : m->exit.saved_ms ? m->exit.saved_ms : now_ms;
    *days = codec_days_of_ms (at) - m->exit.exit_day;
    return true;
}

static void
check_timeliness (const dq_rule_t *rule, const dq_snapshot_t *s,
                  dq_findings_t *out)
{
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        int64_t days;
        if (exit_recorded (m) && dq_exit_days_late (m, s->now_ms, &days)
            && days >= rule->param)
            dq_add (out, rule, m->client_id,
                    "exit recorded %lld days after the exit date (APR Q6e "
                    "bucket %s; %d or more is late)", (long long) days,
                    dq_late_bucket_names[dq_late_bucket (days)], rule->param);
    }
}

/* ---- the table ---- */

const dq_rule_t dq_rules[] = {
    /* id                            severity    applies         source                      param  check */
    { "exit_date_future",            DQ_ERROR,   DQ_ON_ANY,      "Eva #14",                  0, check_exit_date_future },
    { "exit_before_entry",           DQ_ERROR,   DQ_ON_ANY,      "Eva #99, APR Q6b",         0, check_exit_before_entry },
    { "destination_subsidy_missing", DQ_ERROR,   DQ_ON_ANY,      "Eva #121",                 0, check_subsidy },
    { "other_destination_missing",   DQ_ERROR,   DQ_ON_ANY,      "vendors",                  0, check_other_destination },
    { "destination_dk_pnta",         DQ_WARNING, DQ_ON_ANY,      "APR Q6c",                  0, check_destination_dk_pnta },
    { "destination_missing",         DQ_WARNING, DQ_ON_ANY,      "APR Q6c, Eva #59",         0, check_destination_missing },
    { "income_missing",              DQ_WARNING, DQ_ON_ANY,      "APR Q6c, Eva #89",         DQ_GROUP_INCOME, check_group_missing },
    { "income_inconsistent",         DQ_ERROR,   DQ_ON_ANY,      "APR Q6c, Eva #90",         DQ_GROUP_INCOME, check_group_inconsistent },
    { "benefits_missing",            DQ_WARNING, DQ_ON_ANY,      "APR Q6c",                  DQ_GROUP_BENEFITS, check_group_missing },
    { "benefits_inconsistent",       DQ_ERROR,   DQ_ON_ANY,      "APR Q6c",                  DQ_GROUP_BENEFITS, check_group_inconsistent },
    { "insurance_missing",           DQ_WARNING, DQ_ON_ANY,      "Eva #93",                  DQ_GROUP_INSURANCE, check_group_missing },
    { "insurance_inconsistent",      DQ_ERROR,   DQ_ON_ANY,      "Eva #95",                  DQ_GROUP_INSURANCE, check_group_inconsistent },
    { "assessment_missing",          DQ_WARNING, DQ_ON_FINISHED, "vendors (half-done exit)", 0, check_assessment_missing },
    { "head_of_household_count",     DQ_ERROR,   DQ_ON_ANY,      "APR Q6b, Eva #2/#3",       0, check_head_count },
    { "head_exits_before_member",    DQ_WARNING, DQ_ON_FINISHED,     "vendors (household)",      0, check_head_exits_first },
    { "member_exit_after_head",      DQ_WARNING, DQ_ON_ANY,      "vendors (household)",      0, check_member_after_head },
    { "exit_timeliness",             DQ_WARNING, DQ_ON_ANY,      "APR Q6e",                  11, check_timeliness },
};

const size_t dq_rule_count = COUNT (dq_rules);

const dq_rule_t *
dq_rule_find (const dq_rule_t *table, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (table[i].id, id) == 0)
            return &table[i];
    return NULL;
}

void
dq_evaluate (const dq_rule_t *table, size_t n, const dq_snapshot_t *s,
             dq_findings_t *out)
{
    out->n = 0;
    out->overflow = false;
    if (s->state == DQ_STATE_CANCELLED)
        return;
    unsigned state = 1u << s->state;
    for (size_t i = 0; i < n; i++)
        if (table[i].applies & state)
            table[i].check (&table[i], s, out);
}

/* ---- encoding ---- */

void
dq_findings_pack (msgpack_packer *pk, const dq_findings_t *f)
{
    msgpack_pack_array (pk, (size_t) f->n);
    for (int i = 0; i < f->n; i++) {
        const dq_finding_t *x = &f->items[i];
        msgpack_pack_map (pk, x->client_id[0] ? 4 : 3);
        codec_pack_cstr (pk, "rule");
        codec_pack_cstr (pk, x->rule);
        codec_pack_cstr (pk, "severity");
        codec_pack_cstr (pk, dq_severity_name (x->severity));
        if (x->client_id[0]) {
            codec_pack_cstr (pk, "client_id");
            codec_pack_cstr (pk, x->client_id);
        }
        codec_pack_cstr (pk, "message");
        codec_pack_cstr (pk, x->message);
    }
}

static bool
field_is (const msgpack_object *map, const char *key, const char *want)
{
    const msgpack_object *o = codec_map_get (map, key);
    if (!want[0])
        return !o || o->type == MSGPACK_OBJECT_NIL;
    return o && o->type == MSGPACK_OBJECT_STR
           && codec_str_eq (codec_str_of (o), want);
}

bool
dq_findings_equal_view (const dq_findings_t *f, const char *source,
                        const msgpack_object *view_dq)
{
    int k = 0;
    if (view_dq && view_dq->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < view_dq->via.array.size; i++) {
            const msgpack_object *o = &view_dq->via.array.ptr[i];
            if (o->type != MSGPACK_OBJECT_MAP || !field_is (o, "source", source))
                continue;
            if (k == f->n)
                return false;
            const dq_finding_t *x = &f->items[k++];
            if (!field_is (o, "rule", x->rule)
                || !field_is (o, "severity", dq_severity_name (x->severity))
                || !field_is (o, "client_id", x->client_id)
                || !field_is (o, "message", x->message))
                return false;
        }
    return k == f->n;
}
