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

static void
add_finding (dq_findings_t *out, const dq_rule_t *rule, int step,
             const char *client_id, const char *fmt, va_list ap)
{
    if (out->n == DQ_MAX_FINDINGS) {
        out->overflow = true;
        return;
    }
    dq_finding_t *f = &out->items[out->n++];
    f->rule = rule->id;
    f->severity = rule->severity;
    f->step = step >= 0 && step < STEP_COUNT ? step : DQ_NO_STEP;
    snprintf (f->client_id, sizeof f->client_id, "%s", client_id ? client_id : "");
    vsnprintf (f->message, sizeof f->message, fmt, ap);
}

void
dq_add (dq_findings_t *out, const dq_rule_t *rule, const char *client_id,
        const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    add_finding (out, rule, rule->step, client_id, fmt, ap);
    va_end (ap);
}

void
dq_add_at (dq_findings_t *out, const dq_rule_t *rule, int step,
           const char *client_id, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    add_finding (out, rule, step, client_id, fmt, ap);
    va_end (ap);
}

/* Exiting members whose exit form is saved: what most rules look at. */
static bool
exit_recorded (const dq_member_t *m)
{
    return m->decision == DQ_EXITING && m->exit.done;
}

/* ---- the household (3.15, 3.03) ---- */

static void
check_head_count (const dq_rule_t *rule, const dq_snapshot_t *s,
                  dq_findings_t *out)
{
    int heads = 0;
    for (int i = 0; i < s->n_members; i++)
        heads += dq_member_is_head (&s->members[i]);
    if (heads == 0)
        dq_add (out, rule, NULL, "the household has no head of household "
                "(3.15; Eva #2)");
    else if (heads > 1)
        dq_add (out, rule, NULL, "the household has %d heads of household "
                "(3.15; Eva #3)", heads);
}

/* Every member, exiting or not: the household's data is what is wrong. */
static void
check_relationship_missing (const dq_rule_t *rule, const dq_snapshot_t *s,
                            dq_findings_t *out)
{
    for (int i = 0; i < s->n_members; i++)
        if (s->members[i].relationship == HUD_RELATIONSHIP_NOT_COLLECTED)
            dq_add (out, rule, s->members[i].client_id,
                    "relationship to head of household is %d, data not "
                    "collected (3.15)", HUD_RELATIONSHIP_NOT_COLLECTED);
}

static void
check_age_unknown (const dq_rule_t *rule, const dq_snapshot_t *s,
                   dq_findings_t *out)
{
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        if (m->decision == DQ_EXITING && m->age_basis == DQ_AGE_UNKNOWN)
            dq_add (out, rule, m->client_id, "neither a date of birth nor an "
                    "adult flag: age unknown, treated as an adult (3.03)");
    }
}

/* ---- the exit form (3.12) ---- */

static void
check_destination_dk_pnta (const dq_rule_t *rule, const dq_snapshot_t *s,
                           dq_findings_t *out)
{
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        if (!exit_recorded (m)
            || dq_exit_destination_quality (&m->exit) != DQ_DEST_DK_PNTA)
            continue;
        dq_add (out, rule, m->client_id, "%s (3.12)",
                m->exit.destination == DQ_DOESNT_KNOW
                ? "destination is 8, client doesn't know"
                : "destination is 9, client prefers not to answer");
    }
}

/* The daemon refuses a code that is not a 3.12 destination: what is left
 * to find is the answer that says nothing. */
static void
check_destination_missing (const dq_rule_t *rule, const dq_snapshot_t *s,
                           dq_findings_t *out)
{
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        if (!exit_recorded (m)
            || dq_exit_destination_quality (&m->exit) != DQ_DEST_MISSING)
            continue;
        dq_add (out, rule, m->client_id, "%s (3.12)",
                !m->exit.has_destination ? "destination is missing"
                : m->exit.destination == DQ_NO_EXIT_INTERVIEW
                ? "destination is 30, no exit interview completed"
                : "destination is 99, data not collected");
    }
}

/* ---- income, benefits, insurance: "any source", the sources, amounts ---- */

/* The member's saved step holding group `g`, or NULL when it does not
 * apply (not exiting, not collected for this member, or not saved). */
static const dq_step_t *
group_step (const dq_member_t *m, hud_group_id_t g)
{
    int step = hud_groups[g].step;
    if (m->decision != DQ_EXITING || !dq_member_answers_step (m, step))
        return NULL;
    const dq_step_t *st = &m->steps[step];
    return st->applies && st->done ? st : NULL;
}

/* The answer at exit is missing when "any source" is absent or says
 * nothing (8, 9, 99) — and, once the exit is finished, when the step was
 * never saved: the exit record then has no answer at all, which Eva and
 * APR Q6c count as missing too. While open, an unsaved step is still to
 * come. */
static void
check_group_missing (const dq_rule_t *rule, const dq_snapshot_t *s,
                     dq_findings_t *out)
{
    hud_group_id_t g = (hud_group_id_t) rule->param;
    const hud_group_t *grp = &hud_groups[g];
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        const dq_step_t *st = group_step (m, g);
        const dq_step_t *any_step = &m->steps[grp->step];
        if (!st) {
            if (s->state == DQ_STATE_FINISHED && m->decision == DQ_EXITING
                && dq_member_answers_step (m, grp->step) && any_step->applies)
                dq_add (out, rule, m->client_id, "%s at exit is missing: the "
                        "%s step was not saved (%s)", grp->name,
                        hud_steps[grp->step].name, grp->element);
            continue;
        }
        int64_t any;
        if (!dq_step_answer (st, grp->any_source, &any))
            dq_add (out, rule, m->client_id, "%s at exit is missing: no %s "
                    "(%s)", grp->name, grp->any_source, grp->element);
        else if (any == DQ_DOESNT_KNOW || any == DQ_PREFERS_NOT)
            dq_add (out, rule, m->client_id, "%s is %lld, client doesn't "
                    "know or prefers not to answer (%s)", grp->any_source,
                    (long long) any, grp->element);
        else if (any == DQ_NOT_COLLECTED)
            dq_add (out, rule, m->client_id, "%s is 99, data not collected "
                    "(%s)", grp->any_source, grp->element);
    }
}

/* A check of one member's saved answers to the rule's group. */
typedef void (group_check_fn) (const dq_rule_t *rule, hud_group_id_t g,
                               const dq_member_t *m, const dq_step_t *st,
                               dq_findings_t *out);

/* Runs `fn` over every member whose step holding the rule's group
 * (rule->param) may be read (group_step). */
static void
each_group_step (const dq_rule_t *rule, const dq_snapshot_t *s,
                 dq_findings_t *out, group_check_fn *fn)
{
    hud_group_id_t g = (hud_group_id_t) rule->param;
    for (int i = 0; i < s->n_members; i++) {
        const dq_step_t *st = group_step (&s->members[i], g);
        if (st)
            fn (rule, g, &s->members[i], st, out);
    }
}

static void
member_group_inconsistent (const dq_rule_t *rule, hud_group_id_t g,
                           const dq_member_t *m, const dq_step_t *st,
                           dq_findings_t *out)
{
    const hud_group_t *grp = &hud_groups[g];
    int64_t any;
    if (!dq_step_answer (st, grp->any_source, &any))
        return;
    char listed[DQ_MESSAGE_MAX / 2];
    int yes = dq_group_yes_sources (st, g, listed, sizeof listed);
    if (any == DQ_YES && yes == 0)
        dq_add (out, rule, m->client_id, "%s is 1 (yes) but no %s source is "
                "marked yes (%s)", grp->any_source, grp->name, grp->element);
    else if (any != DQ_YES && yes > 0)
        dq_add (out, rule, m->client_id, "%s is %lld but %d source(s) are "
                "marked yes: %s (%s)", grp->any_source, (long long) any, yes,
                listed, grp->element);
}

static void
check_group_inconsistent (const dq_rule_t *rule, const dq_snapshot_t *s,
                          dq_findings_t *out)
{
    each_group_step (rule, s, out, member_group_inconsistent);
}

static void
member_amount_missing (const dq_rule_t *rule, hud_group_id_t g,
                       const dq_member_t *m, const dq_step_t *st,
                       dq_findings_t *out)
{
    char listed[DQ_MESSAGE_MAX / 2];
    int n = dq_group_yes_without_amount (st, g, listed, sizeof listed);
    if (n > 0)
        dq_add (out, rule, m->client_id, "%d %s source(s) marked yes without "
                "an amount: %s (%s)", n, hud_groups[g].name, listed,
                hud_groups[g].element);
}

static void
check_income_amount_missing (const dq_rule_t *rule, const dq_snapshot_t *s,
                             dq_findings_t *out)
{
    each_group_step (rule, s, out, member_amount_missing);
}

/* The total must be the sum of the amounts to within
 * DQ_TOTAL_TOLERANCE_CENTS; amounts with no total count as a mismatch. No
 * amount is named in the message: incomes are the client's data. */
static void
member_total_mismatch (const dq_rule_t *rule, hud_group_id_t g,
                       const dq_member_t *m, const dq_step_t *st,
                       dq_findings_t *out)
{
    const hud_group_t *grp = &hud_groups[g];
    dq_amounts_t a;
    dq_group_amounts (st, g, &a);
    int64_t off = a.total - a.sum;
    if (!a.has_total && a.sum > 0)
        dq_add (out, rule, m->client_id, "%d source amount(s) are given but "
                "no %s (%s)", a.n_amounts, grp->total, grp->element);
    else if (a.has_total && (off > DQ_TOTAL_TOLERANCE_CENTS
                             || off < -DQ_TOTAL_TOLERANCE_CENTS))
        dq_add (out, rule, m->client_id, "%s is %s the sum of the %d source "
                "amount(s) by more than $%d (%s)", grp->total,
                off > 0 ? "above" : "below", a.n_amounts,
                DQ_TOTAL_TOLERANCE_CENTS / 100, grp->element);
}

static void
check_income_total_mismatch (const dq_rule_t *rule, const dq_snapshot_t *s,
                             dq_findings_t *out)
{
    each_group_step (rule, s, out, member_total_mismatch);
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
            dq_add_at (out, rule, STEP_EXIT, m->client_id,
                       "the exit form was not saved");
        for (int step = STEP_EXIT + 1; step < STEP_COUNT; step++) {
            const dq_step_t *st = &m->steps[step];
            if (!st->applies)
                continue;
            if (!st->done)
                dq_add_at (out, rule, step, m->client_id, "the %s assessment "
                           "at exit was not completed", hud_steps[step].name);
            else if (st->n_fields == 0)
                dq_add_at (out, rule, step, m->client_id, "the %s assessment "
                           "at exit was saved with no HUD field",
                           hud_steps[step].name);
        }
    }
}

/* ---- who stays (Eva #86), and the household's exit dates ---- */

/* Evaluated on finished exits: the new head is named at the finish. */
static void
check_new_head_minor (const dq_rule_t *rule, const dq_snapshot_t *s,
                      dq_findings_t *out)
{
    const dq_member_t *head = dq_snapshot_member (s, s->new_head_of_household);
    if (!s->new_head_of_household[0] || !head || head->adult)
        return;
    int adults = 0;
    for (int i = 0; i < s->n_members; i++)
        adults += s->members[i].decision == DQ_STAYING && s->members[i].adult;
    if (adults > 0)
        dq_add (out, rule, head->client_id, "a minor is named the new head of "
                "household while %d adult(s) stay enrolled (3.15)", adults);
}

static void
check_only_minors_remain (const dq_rule_t *rule, const dq_snapshot_t *s,
                          dq_findings_t *out)
{
    int staying = 0, minors = 0;
    for (int i = 0; i < s->n_members; i++)
        if (s->members[i].decision == DQ_STAYING) {
            staying++;
            minors += !s->members[i].adult;
        }
    if (staying > 0 && minors == staying)
        dq_add (out, rule, NULL, "every member who stays enrolled (%d) is a "
                "minor: no adult remains in the household (3.15)", staying);
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

/* ---- the project type (2.02.6) ---- */

static void
check_exit_before_move_in (const dq_rule_t *rule, const dq_snapshot_t *s,
                           dq_findings_t *out)
{
    if (!hud_is_permanent_housing (s->project_type) || !s->has_move_in)
        return;
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        if (exit_recorded (m) && m->exit.has_exit_date
            && m->exit.exit_day < s->move_in_day)
            dq_add (out, rule, m->client_id, "exit date is %lld day(s) before "
                    "the housing move-in date of permanent housing project "
                    "type %d (3.20)",
                    (long long) (s->move_in_day - m->exit.exit_day),
                    s->project_type);
    }
}

/* Whether 435 with `subsidy` is the subsidy the project itself gives. */
static bool
own_subsidy (int project_type, int subsidy)
{
    return (project_type == HUD_PROJECT_RRH && subsidy == HUD_SUBSIDY_RRH)
           || (project_type == HUD_PROJECT_PSH && subsidy == HUD_SUBSIDY_PSH);
}

static void
check_own_housing_exit (const dq_rule_t *rule, const dq_snapshot_t *s,
                        dq_findings_t *out)
{
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        if (exit_recorded (m) && m->exit.has_destination
            && m->exit.destination == HUD_DEST_RENTAL_WITH_SUBSIDY
            && m->exit.has_subsidy
            && own_subsidy (s->project_type, m->exit.subsidy))
            dq_add (out, rule, m->client_id, "destination %d with subsidy %d "
                    "from a project of type %d: is this the project's own "
                    "housing? (local policy, not a HUD rule)",
                    m->exit.destination, m->exit.subsidy, s->project_type);
    }
}

/* ---- timeliness (APR Q6e) ---- */

const char *const dq_late_row_names[DQ_LATE_ROWS] = {
    "0", "1-3", "4-6", "7-10", "11+" };

int
dq_late_row (int64_t days)
{
    return days < 0 ? -1 : days == 0 ? DQ_LATE_0 : days <= 3 ? DQ_LATE_1_3
           : days <= 6 ? DQ_LATE_4_6 : days <= 10 ? DQ_LATE_7_10
           : DQ_LATE_11_PLUS;
}

bool
dq_exit_days_late (const dq_member_t *m, int64_t today, int64_t *days)
{
    if (!m->exit.done || !m->exit.has_exit_date)
        return false;
    int64_t day = m->exit.has_recorded ? m->exit.recorded_day
                  : m->exit.has_saved ? m->exit.saved_day : today;
    *days = day - m->exit.exit_day;
    return true;
}

static void
check_timeliness (const dq_rule_t *rule, const dq_snapshot_t *s,
                  dq_findings_t *out)
{
    for (int i = 0; i < s->n_members; i++) {
        const dq_member_t *m = &s->members[i];
        int64_t days;
        if (exit_recorded (m) && dq_exit_days_late (m, s->today, &days)
            && days >= rule->param)
            dq_add (out, rule, m->client_id,
                    "exit recorded %lld days after the exit date (APR Q6e "
                    "row %s; %d or more is late)", (long long) days,
                    dq_late_row_names[dq_late_row (days)], rule->param);
    }
}

/* ---- the table ---- */

/* Rules the daemon makes impossible are not here: it refuses an exit date
 * in the CoC's future (Eva #14) or before entry (Eva #99), 435 without a
 * 3.12.A subsidy type (Eva #121), 17 without its text, and a head who
 * exits while others stay without a new head named. */
/* Why a rule concerns no one step (its findings go with the household or
 * the member, not beside a form). */
#define START "data of workflow.start, not of a step"
#define FINISH "the new head is named at workflow.finish"
#define HOUSEHOLD "the household as a whole"
#define EACH "each finding names the step left undone"

const dq_rule_t dq_rules[] = {
    /* id                        severity    applies         source                                 param             step                   no_step    check */
    { "head_of_household_count", DQ_ERROR,   DQ_ON_ANY,      "Eva #2/#3",                           0,                DQ_NO_STEP,            START,     check_head_count },
    { "relationship_missing",    DQ_ERROR,   DQ_ON_ANY,      "APR Q6b, Eva #4",                     0,                DQ_NO_STEP,            START,     check_relationship_missing },
    { "age_unknown",             DQ_ERROR,   DQ_ON_ANY,      "APR Q6a (3.03 date of birth)",        0,                DQ_NO_STEP,            START,     check_age_unknown },
    { "destination_dk_pnta",     DQ_WARNING, DQ_ON_ANY,      "APR Q6c",                             0,                STEP_EXIT,             NULL,      check_destination_dk_pnta },
    { "destination_missing",     DQ_WARNING, DQ_ON_ANY,      "APR Q6c, Eva #59",                    0,                STEP_EXIT,             NULL,      check_destination_missing },
    { "income_missing",          DQ_ERROR,   DQ_ON_ANY,      "APR Q6c, Eva #89",                    GROUP_INCOME,     STEP_INCOME_BENEFITS,  NULL,      check_group_missing },
    { "income_inconsistent",     DQ_ERROR,   DQ_ON_ANY,      "Eva #90",                             GROUP_INCOME,     STEP_INCOME_BENEFITS,  NULL,      check_group_inconsistent },
    { "income_amount_missing",   DQ_WARNING, DQ_ON_ANY,      "vendors (IncomeBenefits.csv amounts)", GROUP_INCOME,    STEP_INCOME_BENEFITS,  NULL,      check_income_amount_missing },
    { "income_total_mismatch",   DQ_WARNING, DQ_ON_ANY,      "vendors (IncomeBenefits.csv total)",  GROUP_INCOME,     STEP_INCOME_BENEFITS,  NULL,      check_income_total_mismatch },
    { "benefits_missing",        DQ_WARNING, DQ_ON_ANY,      "HUD 4.03",                            GROUP_BENEFITS,   STEP_INCOME_BENEFITS,  NULL,      check_group_missing },
    { "benefits_inconsistent",   DQ_ERROR,   DQ_ON_ANY,      "HUD 4.03",                            GROUP_BENEFITS,   STEP_INCOME_BENEFITS,  NULL,      check_group_inconsistent },
    { "insurance_missing",       DQ_ERROR,   DQ_ON_ANY,      "Eva #93",                             GROUP_INSURANCE,  STEP_HEALTH_INSURANCE, NULL,      check_group_missing },
    { "insurance_inconsistent",  DQ_ERROR,   DQ_ON_ANY,      "Eva #95",                             GROUP_INSURANCE,  STEP_HEALTH_INSURANCE, NULL,      check_group_inconsistent },
    { "assessment_missing",      DQ_WARNING, DQ_ON_FINISHED, "vendors (half-done exit)",            0,                DQ_EACH_STEP,          EACH,      check_assessment_missing },
    { "new_head_minor",          DQ_WARNING, DQ_ON_FINISHED, "Eva #86",                             0,                DQ_NO_STEP,            FINISH,    check_new_head_minor },
    { "only_minors_remain",      DQ_ERROR,   DQ_ON_FINISHED, "Eva #86",                             0,                DQ_NO_STEP,            HOUSEHOLD, check_only_minors_remain },
    { "exit_before_move_in",     DQ_ERROR,   DQ_ON_ANY,      "Eva #40",                             0,                STEP_EXIT,             NULL,      check_exit_before_move_in },
    { "own_housing_exit",        DQ_WARNING, DQ_ON_ANY,      "local policy, not HUD",               0,                STEP_EXIT,             NULL,      check_own_housing_exit },
    { "member_exit_after_head",  DQ_WARNING, DQ_ON_ANY,      "vendors (household)",                 0,                STEP_EXIT,             NULL,      check_member_after_head },
    { "exit_timeliness",         DQ_WARNING, DQ_ON_ANY,      "APR Q6e",                             11,               STEP_EXIT,             NULL,      check_timeliness },
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
        bool step = x->step != DQ_NO_STEP;
        msgpack_pack_map (pk, 3 + (x->client_id[0] != '\0') + step);
        codec_pack_cstr (pk, "rule");
        codec_pack_cstr (pk, x->rule);
        codec_pack_cstr (pk, "severity");
        codec_pack_cstr (pk, dq_severity_name (x->severity));
        if (x->client_id[0]) {
            codec_pack_cstr (pk, "client_id");
            codec_pack_cstr (pk, x->client_id);
        }
        if (step) {
            codec_pack_cstr (pk, "step");
            codec_pack_cstr (pk, hud_steps[x->step].name);
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
                || !field_is (o, "step", x->step == DQ_NO_STEP
                                         ? "" : hud_steps[x->step].name)
                || !field_is (o, "message", x->message))
                return false;
        }
    return k == f->n;
}
