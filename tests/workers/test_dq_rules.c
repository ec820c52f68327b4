/* Unit tests for workers/dq/dq_rules.c and dq_snapshot.c: every DQ rule
 * with a case that passes and a case that fails, the table's shape, the
 * timeliness buckets, reading a workflow view and its history, and the
 * findings' encoding and comparison with a view. No sockets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/msgpack_builder.h"
#include "workers/dq/dq_fields.h"
#include "workers/dq/dq_rules.h"

/* 2026-11-25T12:00:00Z */
#define NOW 1795608000000LL
#define DAY_MS 86400000LL
#define TODAY (NOW / DAY_MS)

static dq_snapshot_t S;
static dq_findings_t F;

enum { HOH, SPOUSE, CHILD };

static void
set_exit (dq_member_t *m, int64_t exit_day, int destination)
{
    m->decision = DQ_EXITING;
    m->exit = (dq_exit_t) { .done = true, .has_exit_date = true,
                            .exit_day = exit_day, .has_destination = true,
                            .destination = destination,
                            .recorded_ms = NOW, .saved_ms = NOW };
}

static void
answer (dq_member_t *m, int step, const char *key, int64_t value)
{
    assert_true (dq_step_set (&m->steps[step], key, value));
    m->steps[step].n_keys = m->steps[step].n;
}

/* A clean household: head, spouse and child all exit yesterday to 410 with
 * consistent assessments, recorded today. No rule finds anything in it. */
static int
setup (void **state)
{
    (void) state;
    memset (&S, 0, sizeof S);
    memset (&F, 0, sizeof F);
    snprintf (S.workflow_id, sizeof S.workflow_id, "01JDKZ3V8QABCDEFGHJKMNPQRS");
    S.state = DQ_STATE_OPEN;
    S.now_ms = NOW;
    S.project_type = 1;
    S.n_members = 3;
    static const struct { const char *id; int rel; bool adult; } who[] = {
        { "C-hoh", 1, true }, { "C-spouse", 3, true }, { "C-child", 2, false } };
    for (int i = 0; i < 3; i++) {
        dq_member_t *m = &S.members[i];
        snprintf (m->client_id, sizeof m->client_id, "%s", who[i].id);
        m->relationship = who[i].rel;
        m->adult = who[i].adult;
        m->has_entry = true;
        m->entry_day = TODAY - 200;
        set_exit (m, TODAY - 1, 410);
        for (int st = STEP_UNIVERSAL_DATA; st < STEP_COUNT; st++) {
            m->steps[st].applies = st != STEP_INCOME_BENEFITS || who[i].adult;
            m->steps[st].done = m->steps[st].applies;
        }
        answer (m, STEP_UNIVERSAL_DATA, "living_situation", 116);
        answer (m, STEP_HEALTH_INSURANCE, "insurance_from_any_source", 1);
        answer (m, STEP_HEALTH_INSURANCE, "medicaid", 1);
        answer (m, STEP_DISABILITIES, "physical", 0);
        if (who[i].adult) {
            answer (m, STEP_INCOME_BENEFITS, "income_from_any_source", 1);
            answer (m, STEP_INCOME_BENEFITS, "earned", 1);
            answer (m, STEP_INCOME_BENEFITS, "benefits_from_any_source", 0);
        }
    }
    return 0;
}

/* Runs one rule of the default table; returns how many findings it made. */
static int
run (const char *rule)
{
    const dq_rule_t *r = dq_rule_find (dq_rules, dq_rule_count, rule);
    assert_non_null (r);
    dq_evaluate (r, 1, &S, &F);
    for (int i = 0; i < F.n; i++) {
        assert_string_equal (F.items[i].rule, rule);
        assert_int_equal (F.items[i].severity, r->severity);
        assert_true (strlen (F.items[i].message) > 10);
    }
    return F.n;
}

/* Exactly one finding, about `client` ("" for the household). */
static void
one (const char *client, const char *needle)
{
    assert_int_equal (F.n, 1);
    assert_string_equal (F.items[0].client_id, client);
    if (needle && !strstr (F.items[0].message, needle))
        fail_msg ("message \"%s\" lacks \"%s\"", F.items[0].message, needle);
}

/* ---- the table ---- */

static void
test_table_shape (void **state)
{
    (void) state;
    assert_true (dq_rule_count >= 17);
    for (size_t i = 0; i < dq_rule_count; i++) {
        const dq_rule_t *r = &dq_rules[i];
        assert_non_null (r->check);
        assert_true (strlen (r->id) > 0 && strlen (r->id) <= EXF_ID_MAX);
        assert_true (r->applies != 0);
        assert_non_null (r->source);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal (r->id, dq_rules[j].id);
    }
    assert_null (dq_rule_find (dq_rules, dq_rule_count, "no_such_rule"));
}

static void
test_clean_household_has_no_findings (void **state)
{
    (void) state;
    dq_evaluate (dq_rules, dq_rule_count, &S, &F);
    for (int i = 0; i < F.n; i++)
        print_error ("unexpected: %s %s %s\n", F.items[i].rule,
                     F.items[i].client_id, F.items[i].message);
    assert_int_equal (F.n, 0);
    S.state = DQ_STATE_FINISHED;
    dq_evaluate (dq_rules, dq_rule_count, &S, &F);
    assert_int_equal (F.n, 0);
}

static void
test_cancelled_is_not_evaluated (void **state)
{
    (void) state;
    S.members[HOH].exit.destination = 99;
    S.state = DQ_STATE_CANCELLED;
    dq_evaluate (dq_rules, dq_rule_count, &S, &F);
    assert_int_equal (F.n, 0);
    S.state = DQ_STATE_OPEN;
    dq_evaluate (dq_rules, dq_rule_count, &S, &F);
    assert_int_equal (F.n, 1);
}

static void
test_order_is_table_then_member (void **state)
{
    (void) state;
    S.members[CHILD].exit.destination = 8;
    S.members[HOH].exit.destination = 99;
    S.members[SPOUSE].exit.destination = 9;
    S.members[HOH].exit.exit_day = TODAY + 1;
    dq_evaluate (dq_rules, dq_rule_count, &S, &F);
    assert_int_equal (F.n, 4);
    assert_string_equal (F.items[0].rule, "exit_date_future");
    assert_string_equal (F.items[1].rule, "destination_dk_pnta");
    assert_string_equal (F.items[1].client_id, "C-spouse");
    assert_string_equal (F.items[2].rule, "destination_dk_pnta");
    assert_string_equal (F.items[2].client_id, "C-child");
    assert_string_equal (F.items[3].rule, "destination_missing");
    /* same snapshot, same findings */
    dq_findings_t again;
    dq_evaluate (dq_rules, dq_rule_count, &S, &again);
    assert_int_equal (again.n, F.n);
    assert_memory_equal (again.items, F.items, sizeof F.items[0] * F.n);
}

/* ---- the exit form ---- */

static void
test_exit_date_future (void **state)
{
    (void) state;
    S.members[SPOUSE].exit.exit_day = TODAY;       /* today is fine */
    assert_int_equal (run ("exit_date_future"), 0);
    S.members[SPOUSE].exit.exit_day = TODAY + 2;
    assert_int_equal (run ("exit_date_future"), 1);
    one ("C-spouse", "2 day(s) in the future");
    /* "now" is the snapshot's (the event's ts), not the wall clock */
    S.now_ms = NOW + 3 * DAY_MS;
    assert_int_equal (run ("exit_date_future"), 0);
}

static void
test_exit_before_entry (void **state)
{
    (void) state;
    S.members[HOH].exit.exit_day = S.members[HOH].entry_day;
    assert_int_equal (run ("exit_before_entry"), 0);
    S.members[HOH].exit.exit_day = S.members[HOH].entry_day - 3;
    assert_int_equal (run ("exit_before_entry"), 1);
    one ("C-hoh", "3 day(s) before");
    S.members[HOH].decision = DQ_STAYING;       /* not exiting: not checked */
    assert_int_equal (run ("exit_before_entry"), 0);
}

static void
test_destination_subsidy_missing (void **state)
{
    (void) state;
    dq_exit_t *ex = &S.members[HOH].exit;
    ex->destination = 435;
    ex->has_subsidy = true;
    ex->subsidy = 419;
    assert_int_equal (run ("destination_subsidy_missing"), 0);
    ex->has_subsidy = false;
    assert_int_equal (run ("destination_subsidy_missing"), 1);
    one ("C-hoh", "needs a rental subsidy type");
    ex->has_subsidy = true;
    ex->subsidy = 999;
    assert_int_equal (run ("destination_subsidy_missing"), 1);
    one ("C-hoh", "not a 3.12.A code");
    ex->destination = 410;
    ex->subsidy = 419;
    assert_int_equal (run ("destination_subsidy_missing"), 1);
    one ("C-hoh", "only with 435");
}

static void
test_other_destination_missing (void **state)
{
    (void) state;
    dq_exit_t *ex = &S.members[CHILD].exit;
    ex->destination = 17;
    ex->has_other = true;
    ex->other_chars = 12;
    assert_int_equal (run ("other_destination_missing"), 0);
    ex->has_other = false;
    ex->other_chars = 0;
    assert_int_equal (run ("other_destination_missing"), 1);
    one ("C-child", "\"specify\"");
    ex->has_other = true;
    ex->other_chars = 51;
    assert_int_equal (run ("other_destination_missing"), 1);
    one ("C-child", "longer than 50");
}

static void
test_destination_dk_pnta (void **state)
{
    (void) state;
    S.members[HOH].exit.destination = 24;           /* deceased: a real answer */
    assert_int_equal (run ("destination_dk_pnta"), 0);
    S.members[HOH].exit.destination = 8;
    assert_int_equal (run ("destination_dk_pnta"), 1);
    one ("C-hoh", "doesn't know");
    S.members[HOH].exit.destination = 9;
    assert_int_equal (run ("destination_dk_pnta"), 1);
    one ("C-hoh", "prefers not");
}

static void
test_destination_missing (void **state)
{
    (void) state;
    S.members[SPOUSE].exit.destination = 8;        /* dk_pnta, not missing */
    assert_int_equal (run ("destination_missing"), 0);
    S.members[SPOUSE].exit.destination = 30;
    assert_int_equal (run ("destination_missing"), 1);
    one ("C-spouse", "no exit interview");
    S.members[SPOUSE].exit.destination = 99;
    assert_int_equal (run ("destination_missing"), 1);
    one ("C-spouse", "data not collected");
    S.members[SPOUSE].exit.has_destination = false;
    assert_int_equal (run ("destination_missing"), 1);
    one ("C-spouse", "missing");
    S.members[SPOUSE].exit.has_destination = true;
    S.members[SPOUSE].exit.destination = 335;      /* a living situation only */
    assert_int_equal (run ("destination_missing"), 1);
    one ("C-spouse", "not a 3.12");
    S.members[SPOUSE].exit.done = false;           /* not saved yet */
    assert_int_equal (run ("destination_missing"), 0);
}

/* ---- income, benefits, insurance ---- */

static void
test_income_missing (void **state)
{
    (void) state;
    dq_step_t *st = &S.members[SPOUSE].steps[STEP_INCOME_BENEFITS];
    assert_int_equal (run ("income_missing"), 0);
    st->n = 0;                                       /* no answer at all */
    answer (&S.members[SPOUSE], STEP_INCOME_BENEFITS, "notes", 0);
    st->n = 0;
    assert_int_equal (run ("income_missing"), 1);
    one ("C-spouse", "missing");
    answer (&S.members[SPOUSE], STEP_INCOME_BENEFITS, "income_from_any_source", 99);
    assert_int_equal (run ("income_missing"), 1);
    one ("C-spouse", "data not collected");
    answer (&S.members[SPOUSE], STEP_INCOME_BENEFITS, "income_from_any_source", 8);
    assert_int_equal (run ("income_missing"), 1);
    one ("C-spouse", "doesn't know");
    answer (&S.members[SPOUSE], STEP_INCOME_BENEFITS, "income_from_any_source", 5);
    assert_int_equal (run ("income_missing"), 1);
    one ("C-spouse", "not a 0/1/8/9/99");
    /* a child's income is not collected: never missing */
    answer (&S.members[SPOUSE], STEP_INCOME_BENEFITS, "income_from_any_source", 0);
    S.members[CHILD].steps[STEP_INCOME_BENEFITS].applies = true;
    S.members[CHILD].steps[STEP_INCOME_BENEFITS].done = true;
    assert_int_equal (run ("income_missing"), 0);
    /* ... unless the child is the head of household */
    S.members[CHILD].relationship = 1;
    assert_int_equal (run ("income_missing"), 1);
    one ("C-child", "missing");
}

static void
test_income_inconsistent (void **state)
{
    (void) state;
    dq_member_t *m = &S.members[HOH];
    assert_int_equal (run ("income_inconsistent"), 0);
    answer (m, STEP_INCOME_BENEFITS, "earned", 0);
    assert_int_equal (run ("income_inconsistent"), 1);
    one ("C-hoh", "no income source is marked yes");
    answer (m, STEP_INCOME_BENEFITS, "income_from_any_source", 0);
    assert_int_equal (run ("income_inconsistent"), 0);     /* no and none */
    answer (m, STEP_INCOME_BENEFITS, "ssi", 1);
    answer (m, STEP_INCOME_BENEFITS, "pension", true);
    assert_int_equal (run ("income_inconsistent"), 1);
    one ("C-hoh", "2 source(s) are marked yes: ssi, pension");
    answer (m, STEP_INCOME_BENEFITS, "income_from_any_source", 99);
    assert_int_equal (run ("income_inconsistent"), 1);     /* 99 with sources */
    /* benefits in the same map do not count as income */
    answer (m, STEP_INCOME_BENEFITS, "income_from_any_source", 0);
    answer (m, STEP_INCOME_BENEFITS, "ssi", 0);
    answer (m, STEP_INCOME_BENEFITS, "pension", 0);
    answer (m, STEP_INCOME_BENEFITS, "snap", 1);
    assert_int_equal (run ("income_inconsistent"), 0);
}

static void
test_benefits_missing (void **state)
{
    (void) state;
    assert_int_equal (run ("benefits_missing"), 0);
    answer (&S.members[HOH], STEP_INCOME_BENEFITS, "benefits_from_any_source", 9);
    assert_int_equal (run ("benefits_missing"), 1);
    one ("C-hoh", "prefers not");
}

static void
test_benefits_inconsistent (void **state)
{
    (void) state;
    dq_member_t *m = &S.members[SPOUSE];
    answer (m, STEP_INCOME_BENEFITS, "snap", 0);
    assert_int_equal (run ("benefits_inconsistent"), 0);
    answer (m, STEP_INCOME_BENEFITS, "wic", 1);
    assert_int_equal (run ("benefits_inconsistent"), 1);
    one ("C-spouse", "benefits_from_any_source is 0 but 1 source(s) are "
         "marked yes: wic");
    answer (m, STEP_INCOME_BENEFITS, "benefits_from_any_source", 1);
    assert_int_equal (run ("benefits_inconsistent"), 0);
}

static void
test_insurance_missing (void **state)
{
    (void) state;
    dq_member_t *child = &S.members[CHILD];
    assert_int_equal (run ("insurance_missing"), 0);
    child->steps[STEP_HEALTH_INSURANCE].n = 0;          /* children too */
    assert_int_equal (run ("insurance_missing"), 1);
    one ("C-child", "insurance at exit is missing");
    child->steps[STEP_HEALTH_INSURANCE].done = false;   /* not saved yet */
    assert_int_equal (run ("insurance_missing"), 0);
}

static void
test_insurance_inconsistent (void **state)
{
    (void) state;
    dq_member_t *m = &S.members[CHILD];
    assert_int_equal (run ("insurance_inconsistent"), 0);
    answer (m, STEP_HEALTH_INSURANCE, "medicaid", 0);
    assert_int_equal (run ("insurance_inconsistent"), 1);
    one ("C-child", "no insurance source is marked yes");
    answer (m, STEP_HEALTH_INSURANCE, "insurance_from_any_source", 0);
    answer (m, STEP_HEALTH_INSURANCE, "schip", 1);
    assert_int_equal (run ("insurance_inconsistent"), 1);
    one ("C-child", "schip");
    m->decision = DQ_STAYING;
    assert_int_equal (run ("insurance_inconsistent"), 0);
}

/* ---- completeness ---- */

static void
test_assessment_missing (void **state)
{
    (void) state;
    S.state = DQ_STATE_FINISHED;
    assert_int_equal (run ("assessment_missing"), 0);
    S.members[SPOUSE].steps[STEP_DISABILITIES].done = false;
    assert_int_equal (run ("assessment_missing"), 1);
    one ("C-spouse", "disabilities assessment at exit was not completed");
    S.members[SPOUSE].steps[STEP_DISABILITIES].done = true;
    S.members[SPOUSE].steps[STEP_DISABILITIES].n_keys = 0;
    assert_int_equal (run ("assessment_missing"), 1);
    one ("C-spouse", "saved empty");
    /* an open workflow is still being filled in: the rule waits */
    S.state = DQ_STATE_OPEN;
    dq_evaluate (dq_rules, dq_rule_count, &S, &F);
    assert_int_equal (F.n, 0);
}

/* ---- the household ---- */

static void
test_head_of_household_count (void **state)
{
    (void) state;
    assert_int_equal (run ("head_of_household_count"), 0);
    S.members[SPOUSE].relationship = 1;
    assert_int_equal (run ("head_of_household_count"), 1);
    one ("", "2 heads");
    S.members[SPOUSE].relationship = 3;
    S.members[HOH].relationship = 99;
    assert_int_equal (run ("head_of_household_count"), 1);
    one ("", "no head");
}

static void
test_head_exits_before_member (void **state)
{
    (void) state;
    S.members[CHILD].decision = DQ_STAYING;
    S.members[SPOUSE].decision = DQ_STAYING;
    assert_int_equal (run ("head_exits_before_member"), 0);   /* still open */
    S.state = DQ_STATE_FINISHED;
    assert_int_equal (run ("head_exits_before_member"), 1);
    one ("C-hoh", "2 member(s) stay");
    snprintf (S.new_head_of_household, sizeof S.new_head_of_household,
              "C-spouse");
    assert_int_equal (run ("head_exits_before_member"), 0);
    S.new_head_of_household[0] = '\0';
    S.members[HOH].decision = DQ_STAYING;    /* the head stays: fine */
    assert_int_equal (run ("head_exits_before_member"), 0);
}

static void
test_member_exit_after_head (void **state)
{
    (void) state;
    S.members[SPOUSE].exit.exit_day = TODAY - 5;    /* before the head: fine */
    assert_int_equal (run ("member_exit_after_head"), 0);
    S.members[HOH].exit.exit_day = TODAY - 10;
    S.members[CHILD].exit.exit_day = TODAY - 10;
    assert_int_equal (run ("member_exit_after_head"), 1);
    one ("C-spouse", "5 day(s) after the head");
    S.members[HOH].exit.done = false;               /* no head exit yet */
    assert_int_equal (run ("member_exit_after_head"), 0);
}

/* ---- timeliness ---- */

static void
test_timeliness_buckets (void **state)
{
    (void) state;
    static const struct { int64_t days; dq_late_bucket_t b; } cases[] = {
        { -1, DQ_LATE_NEGATIVE }, { 0, DQ_LATE_0 }, { 1, DQ_LATE_1_3 },
        { 3, DQ_LATE_1_3 }, { 4, DQ_LATE_4_6 }, { 6, DQ_LATE_4_6 },
        { 7, DQ_LATE_7_10 }, { 10, DQ_LATE_7_10 }, { 11, DQ_LATE_11_PLUS },
        { 400, DQ_LATE_11_PLUS } };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal (dq_late_bucket (cases[i].days), cases[i].b);
    assert_string_equal (dq_late_bucket_names[DQ_LATE_11_PLUS], "11+");
    assert_string_equal (dq_late_bucket_names[DQ_LATE_1_3], "1-3");

    int64_t days;
    dq_member_t *m = &S.members[HOH];
    assert_true (dq_exit_days_late (m, NOW, &days));
    assert_int_equal (days, 1);
    /* record time first, else the last save, else now */
    m->exit.recorded_ms = NOW - DAY_MS;
    assert_true (dq_exit_days_late (m, NOW, &days));
    assert_int_equal (days, 0);
    m->exit.recorded_ms = 0;
    m->exit.saved_ms = NOW + 4 * DAY_MS;
    assert_true (dq_exit_days_late (m, NOW, &days));
    assert_int_equal (days, 5);
    m->exit.saved_ms = 0;
    assert_true (dq_exit_days_late (m, NOW + 9 * DAY_MS, &days));
    assert_int_equal (days, 10);
    m->exit.has_exit_date = false;
    assert_false (dq_exit_days_late (m, NOW, &days));
}

static void
test_exit_timeliness (void **state)
{
    (void) state;
    S.members[CHILD].exit.exit_day = TODAY - 10;    /* 10 days: 7-10, fine */
    assert_int_equal (run ("exit_timeliness"), 0);
    S.members[CHILD].exit.exit_day = TODAY - 11;
    assert_int_equal (run ("exit_timeliness"), 1);
    one ("C-child", "11 days after the exit date (APR Q6e bucket 11+");
    /* the threshold is the table's value */
    dq_rule_t strict = *dq_rule_find (dq_rules, dq_rule_count,
                                      "exit_timeliness");
    strict.param = 1;
    dq_evaluate (&strict, 1, &S, &F);
    assert_int_equal (F.n, 3);
    strict.param = 30;
    dq_evaluate (&strict, 1, &S, &F);
    assert_int_equal (F.n, 0);
}

/* ---- findings: encoding, overflow, comparison with the view ---- */

static void
test_findings_overflow (void **state)
{
    (void) state;
    const dq_rule_t *r = &dq_rules[0];
    for (int i = 0; i < DQ_MAX_FINDINGS + 5; i++)
        dq_add (&F, r, "C-hoh", "finding %d", i);
    assert_int_equal (F.n, DQ_MAX_FINDINGS);
    assert_true (F.overflow);
}

/* Packs the findings as a view's `dq` array would hold them. */
static void
pack_as_view (msgpack_sbuffer *sb, const dq_findings_t *f, const char *source,
              bool extra_other_source)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, (size_t) f->n + extra_other_source);
    if (extra_other_source) {
        msgpack_pack_map (&pk, 5);
        codec_pack_cstr (&pk, "source"); codec_pack_cstr (&pk, "manual");
        codec_pack_cstr (&pk, "rule"); codec_pack_cstr (&pk, "x");
        codec_pack_cstr (&pk, "severity"); codec_pack_cstr (&pk, "error");
        codec_pack_cstr (&pk, "client_id"); msgpack_pack_nil (&pk);
        codec_pack_cstr (&pk, "message"); codec_pack_cstr (&pk, "m");
    }
    for (int i = 0; i < f->n; i++) {
        msgpack_pack_map (&pk, 5);
        codec_pack_cstr (&pk, "source"); codec_pack_cstr (&pk, source);
        codec_pack_cstr (&pk, "rule"); codec_pack_cstr (&pk, f->items[i].rule);
        codec_pack_cstr (&pk, "severity");
        codec_pack_cstr (&pk, dq_severity_name (f->items[i].severity));
        codec_pack_cstr (&pk, "client_id");
        codec_pack_cstr_or_nil (&pk, f->items[i].client_id);
        codec_pack_cstr (&pk, "message");
        codec_pack_cstr (&pk, f->items[i].message);
    }
}

static bool
equal_after_pack (const dq_findings_t *f, const dq_findings_t *stored,
                  bool other)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    pack_as_view (&sb, stored, "dq", other);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    assert_true (codec_unpack (sb.data, sb.size, &u, NULL));
    bool eq = dq_findings_equal_view (f, "dq", &u.data);
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&sb);
    return eq;
}

static void
test_findings_equal_view (void **state)
{
    (void) state;
    S.members[HOH].relationship = 3;                 /* no head: household */
    S.members[CHILD].exit.destination = 99;
    dq_evaluate (dq_rules, dq_rule_count, &S, &F);
    assert_int_equal (F.n, 2);
    static dq_findings_t stored;
    stored = F;
    assert_true (equal_after_pack (&F, &stored, false));
    assert_true (equal_after_pack (&F, &stored, true));   /* other source */
    stored.items[1].message[0] = 'X';
    assert_false (equal_after_pack (&F, &stored, false));
    stored = F;
    stored.n = 1;
    assert_false (equal_after_pack (&F, &stored, false));
    stored.n = 0;
    assert_false (equal_after_pack (&F, &stored, true));
    dq_findings_t none = { 0 };
    assert_true (equal_after_pack (&none, &stored, true));
    assert_true (dq_findings_equal_view (&none, "dq", NULL));
}

static void
test_findings_pack (void **state)
{
    (void) state;
    S.members[HOH].relationship = 3;
    S.members[CHILD].exit.destination = 8;
    dq_evaluate (dq_rules, dq_rule_count, &S, &F);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    dq_findings_pack (&pk, &F);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    assert_true (codec_unpack (sb.data, sb.size, &u, NULL));
    assert_int_equal (u.data.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (u.data.via.array.size, 2);
    const msgpack_object *a = &u.data.via.array.ptr[0];
    const msgpack_object *b = &u.data.via.array.ptr[1];
    assert_int_equal (a->via.map.size, 4);
    assert_true (codec_str_eq (codec_str_of (codec_map_get (a, "rule")),
                               "destination_dk_pnta"));
    assert_true (codec_str_eq (codec_str_of (codec_map_get (a, "severity")),
                               "warning"));
    assert_true (codec_str_eq (codec_str_of (codec_map_get (a, "client_id")),
                               "C-child"));
    assert_int_equal (b->via.map.size, 3);          /* household: no client */
    assert_null (codec_map_get (b, "client_id"));
    assert_true (codec_str_eq (codec_str_of (codec_map_get (b, "severity")),
                               "error"));
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&sb);
}

/* ------------------------------------------------------------------------
 * Reading a view and a history, built with the unit tests' msgpack builder
 * (tests/support/msgpack_builder.h: m and a take their counts from the
 * arguments). Built objects live until release_held().
 * ---------------------------------------------------------------------- */

static int
teardown_builder (void **state)
{
    (void) state;
    release_held ();
    return 0;
}

static void
test_parse_time (void **state)
{
    (void) state;
    int64_t ms;
    assert_true (codec_parse_time ((exf_str_t) { "2026-11-25T12:00:00.000Z", 24 },
                                &ms));
    assert_int_equal (ms, NOW);
    assert_true (codec_parse_time ((exf_str_t) { "2026-11-25T14:36:12.123Z", 24 },
                                &ms));
    assert_int_equal (ms, NOW + ((2 * 60 + 36) * 60 + 12) * 1000LL + 123);
    char buf[CODEC_TIME_LEN];
    codec_format_time (NOW + 987654321, buf);
    assert_true (codec_parse_time ((exf_str_t) { buf, 24 }, &ms));
    assert_int_equal (ms, NOW + 987654321);
    static const char *const bad[] = { "2026-11-25T12:00:00Z",
        "2026-11-25 12:00:00.000Z", "2026-02-30T12:00:00.000Z",
        "2026-11-25T24:00:00.000Z", "2026-11-25T12:0x:00.000Z" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false (codec_parse_time ((exf_str_t) { bad[i], (uint32_t) strlen (bad[i]) },
                                     &ms));
}

static void
test_snapshot_from_view (void **state)
{
    (void) state;
    const msgpack_object *view = build (
        "m {s s, s i, s s, s s, s s, s i, s s, s n,"
        "  s a ["
        "    m {s s, s i, s s, s b, s s,"
        "        s a [ m {s s, s s, s m {s s, s i, s i, s s}, s s, s s},"
        "               m {s s, s s, s m {s i, s i, s s}},"
        "               m {s s, s s} ] },"
        "    m {s s, s i, s s, s b, s s, s a []} ],"
        "  s a [] }",
        10, "workflow_id", "01JDKZ3V8QABCDEFGHJKMNPQRS", "version", 7,
        "state", "finished", "project_id", "P-1", "household_id", "HH-1",
        "project_type", 13, "started_by", "cw-17",
        "new_head_of_household",
        "members",
        2, 6, "client_id", "C-1", "relationship", 1, "entry_date", "2026-05-01",
        "adult", 1, "decision", "exiting", "steps",
        3, 5, "name", "exit", "status", "done",
        "data", 4, "exit_date", "2026-11-20", "destination", 435,
        "destination_subsidy_type", 419, "other_destination", "ignored",
        "completed_at", "2026-11-25T12:00:00.000Z", "mode", "entered",
        3, "name", "health_insurance", "status", "done",
        "data", 3, "insurance_from_any_source", 1, "medicaid", 1, "notes", "x",
        2, "name", "income_benefits", "status", "pending",
        6, "client_id", "C-2", "relationship", 2, "entry_date", "bad-date",
        "adult", 0, "decision", "staying", "steps",
        0, "dq", 0);
    static dq_snapshot_t s;
    const char *why = NULL;
    assert_true (dq_snapshot_from_view (&s, view, &why));
    assert_string_equal (s.workflow_id, "01JDKZ3V8QABCDEFGHJKMNPQRS");
    assert_int_equal (s.version, 7);
    assert_int_equal (s.state, DQ_STATE_FINISHED);
    assert_string_equal (s.project_id, "P-1");
    assert_string_equal (s.household_id, "HH-1");
    assert_string_equal (s.started_by, "cw-17");
    assert_string_equal (s.new_head_of_household, "");
    assert_int_equal (s.project_type, 13);
    assert_int_equal (s.n_members, 2);
    const dq_member_t *a = &s.members[0], *b = &s.members[1];
    assert_string_equal (a->client_id, "C-1");
    assert_true (dq_member_is_head (a) && a->adult);
    assert_int_equal (a->decision, DQ_EXITING);
    assert_true (a->has_entry);
    assert_true (a->exit.done && a->exit.has_exit_date);
    assert_int_equal (a->exit.exit_day, TODAY - 5);
    assert_true (a->exit.has_destination && a->exit.destination == 435);
    assert_true (a->exit.has_subsidy && a->exit.subsidy == 419);
    assert_true (a->exit.has_other && a->exit.other_chars == 7);
    assert_int_equal (a->exit.saved_ms, NOW);
    assert_int_equal (a->exit.recorded_ms, 0);
    const dq_step_t *hi = &a->steps[STEP_HEALTH_INSURANCE];
    assert_true (hi->applies && hi->done);
    assert_int_equal (hi->n_keys, 3);
    assert_int_equal (hi->n, 2);           /* "notes" is not a DQ key */
    int64_t v;
    assert_true (dq_step_answer (hi, "medicaid", &v) && v == 1);
    assert_false (dq_step_answer (hi, "notes", &v));
    assert_true (a->steps[STEP_INCOME_BENEFITS].applies);
    assert_false (a->steps[STEP_INCOME_BENEFITS].done);
    assert_false (a->steps[STEP_DISABILITIES].applies);
    assert_false (dq_member_answers_step (b, STEP_INCOME_BENEFITS));
    assert_true (dq_member_answers_step (b, STEP_HEALTH_INSURANCE));
    assert_true (dq_member_answers_step (a, STEP_INCOME_BENEFITS));
    assert_int_equal (b->decision, DQ_STAYING);
    assert_false (b->has_entry);
    assert_int_equal (dq_snapshot_head (&s), 0);

    /* the history's record times */
    const msgpack_object *history = build (
        "a [ m {s s, s s, s s, s m {s s, s s}},"
        "     m {s s, s s, s s, s m {s s, s s}},"
        "     m {s s, s s, s s, s m {s s}},"
        "     m {s s, s s, s m {}} ]",
        4, 4, "type", "step.completed", "client_id", "C-1",
        "ts", "2026-11-21T09:00:00.000Z", "data", 2, "step", "exit", "mode", "entered",
        4, "type", "step.completed", "client_id", "C-1",
        "ts", "2026-11-24T09:00:00.000Z", "data", 2, "step", "exit", "mode", "entered",
        4, "type", "member.exited", "client_id", "C-1",
        "ts", "2026-11-25T12:00:00.000Z", "data",
        1, "exit_recorded_at", "2026-11-21T09:00:00.001Z",
        3, "type", "workflow.finished", "ts", "2026-11-25T12:00:00.000Z", "data", 0);
    dq_snapshot_apply_history (&s, history);
    assert_int_equal (s.members[0].exit.recorded_ms,
                      NOW - 4 * DAY_MS - 3 * 3600000LL + 1);
    assert_int_equal (s.members[1].exit.recorded_ms, 0);
    /* while open: the first save of the exit form */
    s.members[0].exit.recorded_ms = 0;
    const msgpack_object *open_history = build (
        "a [ m {s s, s s, s s, s m {s s}}, m {s s, s s, s s, s m {s s}} ]",
        2, 4, "type", "step.completed", "client_id", "C-1",
        "ts", "2026-11-21T09:00:00.000Z", "data", 1, "step", "exit",
        4, "type", "step.completed", "client_id", "C-1",
        "ts", "2026-11-24T09:00:00.000Z", "data", 1, "step", "exit");
    dq_snapshot_apply_history (&s, open_history);
    assert_int_equal (s.members[0].exit.recorded_ms,
                      NOW - 4 * DAY_MS - 3 * 3600000LL);

    assert_false (dq_snapshot_from_view (&s, build ("a []", 0), &why));
    assert_false (dq_snapshot_from_view (&s, build ("m {s i}", 1, "version", 1),
                                         &why));
    assert_non_null (why);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup (test_table_shape, setup),
        cmocka_unit_test_setup (test_clean_household_has_no_findings, setup),
        cmocka_unit_test_setup (test_cancelled_is_not_evaluated, setup),
        cmocka_unit_test_setup (test_order_is_table_then_member, setup),
        cmocka_unit_test_setup (test_exit_date_future, setup),
        cmocka_unit_test_setup (test_exit_before_entry, setup),
        cmocka_unit_test_setup (test_destination_subsidy_missing, setup),
        cmocka_unit_test_setup (test_other_destination_missing, setup),
        cmocka_unit_test_setup (test_destination_dk_pnta, setup),
        cmocka_unit_test_setup (test_destination_missing, setup),
        cmocka_unit_test_setup (test_income_missing, setup),
        cmocka_unit_test_setup (test_income_inconsistent, setup),
        cmocka_unit_test_setup (test_benefits_missing, setup),
        cmocka_unit_test_setup (test_benefits_inconsistent, setup),
        cmocka_unit_test_setup (test_insurance_missing, setup),
        cmocka_unit_test_setup (test_insurance_inconsistent, setup),
        cmocka_unit_test_setup (test_assessment_missing, setup),
        cmocka_unit_test_setup (test_head_of_household_count, setup),
        cmocka_unit_test_setup (test_head_exits_before_member, setup),
        cmocka_unit_test_setup (test_member_exit_after_head, setup),
        cmocka_unit_test_setup (test_timeliness_buckets, setup),
        cmocka_unit_test_setup (test_exit_timeliness, setup),
        cmocka_unit_test_setup (test_findings_overflow, setup),
        cmocka_unit_test_setup (test_findings_equal_view, setup),
        cmocka_unit_test_setup (test_findings_pack, setup),
        cmocka_unit_test_setup_teardown (test_parse_time, setup,
                                         teardown_builder),
        cmocka_unit_test_setup_teardown (test_snapshot_from_view, setup,
                                         teardown_builder),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
