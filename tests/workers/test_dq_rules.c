/* Unit tests for workers/dq/dq_rules.c, dq_fields.c and dq_snapshot.c:
 * every DQ rule with cases that fire and cases that do not, each test
 * named after the rule and its source (HUD element, APR question, Eva
 * check or "vendors"); the table's exact shape; APR Q6e's rows and the
 * CoC's calendar (America/Los_Angeles); reading a workflow view and its
 * history by the one field table; the findings' encoding and comparison
 * with a view. No sockets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/calendar.h"
#include "tests/support/msgpack_builder.h"
#include "workers/dq/dq_fields.h"
#include "workers/dq/dq_rules.h"

/* 2026-11-25T12:00:00Z */
#define NOW 1795608000000LL
#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
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
                            .has_recorded = true, .recorded_day = TODAY,
                            .has_saved = true, .saved_day = TODAY };
}

/* A code, or an amount in cents. */
static void
answer (dq_member_t *m, int step, const char *field, int64_t value)
{
    assert_true (dq_step_set (&m->steps[step], step, field, value));
    m->steps[step].n_fields = m->steps[step].n;
}

/* A clean household: head, spouse and child (a minor) all exit yesterday
 * to 410 with consistent assessments, recorded today, from a transitional
 * housing project (2). No rule finds anything in it. */
static int
setup (void **state)
{
    (void) state;
    memset (&S, 0, sizeof S);
    memset (&F, 0, sizeof F);
    snprintf (S.workflow_id, sizeof S.workflow_id, "01JDKZ3V8QABCDEFGHJKMNPQRS");
    S.state = DQ_STATE_OPEN;
    S.today = TODAY;
    S.project_type = 2;
    S.n_members = 3;
    static const struct { const char *id; int rel; bool adult; } who[] = {
        { "C-hoh", 1, true }, { "C-spouse", 3, true }, { "C-child", 2, false } };
    for (int i = 0; i < 3; i++) {
        dq_member_t *m = &S.members[i];
        snprintf (m->client_id, sizeof m->client_id, "%s", who[i].id);
        m->relationship = who[i].rel;
        m->adult = who[i].adult;
        m->age_basis = i == CHILD ? DQ_AGE_BIRTH_DATE : DQ_AGE_ADULT_FLAG;
        m->has_entry = true;
        m->entry_day = TODAY - 200;
        set_exit (m, TODAY - 1, 410);
        for (int st = STEP_UNIVERSAL_DATA; st < STEP_COUNT; st++) {
            m->steps[st].applies = st != STEP_INCOME_BENEFITS || who[i].adult;
            m->steps[st].done = m->steps[st].applies;
        }
        answer (m, STEP_UNIVERSAL_DATA, "disabling_condition", 0);
        answer (m, STEP_HEALTH_INSURANCE, "insurance_from_any_source", 1);
        answer (m, STEP_HEALTH_INSURANCE, "medicaid", 1);
        answer (m, STEP_DISABILITIES, "physical", 0);
        if (who[i].adult) {
            answer (m, STEP_INCOME_BENEFITS, "income_from_any_source", 1);
            answer (m, STEP_INCOME_BENEFITS, "earned", 1);
            answer (m, STEP_INCOME_BENEFITS, "earned_amount", 125050);
            answer (m, STEP_INCOME_BENEFITS, "total_monthly_income", 125050);
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
        /* the rule's step, or one of its own for a DQ_EACH_STEP rule */
        if (r->step == DQ_EACH_STEP)
            assert_in_range (F.items[i].step, 0, STEP_COUNT - 1);
        else
            assert_int_equal (F.items[i].step, r->step);
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

/* Exactly one finding, about `client` and `step`. */
static void
one_at (const char *client, int step, const char *needle)
{
    one (client, needle);
    assert_int_equal (F.items[0].step, step);
}

static void
severity_is (const char *rule, dq_severity_t severity)
{
    assert_int_equal (dq_rule_find (dq_rules, dq_rule_count, rule)->severity,
                      severity);
}

/* ---- the table ---- */

/* The table of issue 9, in this order, with these severities and sources;
 * the five rules whose case the daemon refuses are gone. */
static void
test_table_is_the_issue_9_table (void **state)
{
    (void) state;
    enum { NONE = DQ_NO_STEP, EACH = DQ_EACH_STEP, EXIT = STEP_EXIT,
           INC = STEP_INCOME_BENEFITS, INS = STEP_HEALTH_INSURANCE };
    static const struct { const char *id; dq_severity_t sev; const char *source;
                          int step; }
    want[] = {
        { "head_of_household_count", DQ_ERROR, "Eva #2/#3", NONE },
        { "relationship_missing", DQ_ERROR, "APR Q6b, Eva #4", NONE },
        { "age_unknown", DQ_ERROR, "APR Q6a", NONE },
        { "destination_dk_pnta", DQ_WARNING, "APR Q6c", EXIT },
        { "destination_missing", DQ_WARNING, "APR Q6c, Eva #59", EXIT },
        { "income_missing", DQ_ERROR, "APR Q6c, Eva #89", INC },
        { "income_inconsistent", DQ_ERROR, "Eva #90", INC },
        { "income_amount_missing", DQ_WARNING, "vendors", INC },
        { "income_total_mismatch", DQ_WARNING, "vendors", INC },
        { "benefits_missing", DQ_WARNING, "HUD 4.03", INC },
        { "benefits_inconsistent", DQ_ERROR, "HUD 4.03", INC },
        { "insurance_missing", DQ_ERROR, "Eva #93", INS },
        { "insurance_inconsistent", DQ_ERROR, "Eva #95", INS },
        { "assessment_missing", DQ_WARNING, "vendors", EACH },
        { "new_head_minor", DQ_WARNING, "Eva #86", NONE },
        { "only_minors_remain", DQ_ERROR, "Eva #86", NONE },
        { "exit_before_move_in", DQ_ERROR, "Eva #40", EXIT },
        { "own_housing_exit", DQ_WARNING, "local policy, not HUD", EXIT },
        { "member_exit_after_head", DQ_WARNING, "vendors", EXIT },
        { "exit_timeliness", DQ_WARNING, "APR Q6e", EXIT },
    };
    size_t n = sizeof want / sizeof *want;
    assert_int_equal (dq_rule_count, n);
    for (size_t i = 0; i < n; i++) {
        const dq_rule_t *r = &dq_rules[i];
        assert_string_equal (r->id, want[i].id);
        assert_int_equal (r->severity, want[i].sev);
        if (strncmp (r->source, want[i].source, strlen (want[i].source)) != 0)
            fail_msg ("%s cites \"%s\", not \"%s\"", r->id, r->source,
                      want[i].source);
        assert_non_null (r->check);
        assert_true (r->applies != 0);
        /* every rule has the step its findings concern, or says why not */
        assert_int_equal (r->step, want[i].step);
        if (r->step >= 0) {
            assert_true (r->step < STEP_COUNT);
            assert_null (r->no_step);
        } else if (!r->no_step || strlen (r->no_step) < 10)
            fail_msg ("%s concerns no one step and does not say why", r->id);
        /* a rule reading a group of answers concerns the group's step */
        if (strstr (r->id, hud_groups[GROUP_INCOME].name) == r->id
            || strstr (r->id, hud_groups[GROUP_BENEFITS].name) == r->id
            || strstr (r->id, hud_groups[GROUP_INSURANCE].name) == r->id)
            assert_int_equal (r->step, hud_groups[r->param].step);
        assert_true (strlen (r->id) <= EXF_ID_MAX);
    }
    static const char *const removed[] = { "exit_date_future",
        "exit_before_entry", "destination_subsidy_missing",
        "other_destination_missing", "head_exits_before_member" };
    for (size_t i = 0; i < sizeof removed / sizeof *removed; i++)
        assert_null (dq_rule_find (dq_rules, dq_rule_count, removed[i]));
    assert_null (dq_rule_find (dq_rules, dq_rule_count, "no_such_rule"));
    /* evaluated after the finish only: half-done exits and who stays */
    assert_int_equal (dq_rule_find (dq_rules, dq_rule_count,
                                    "assessment_missing")->applies,
                      DQ_ON_FINISHED);
    assert_int_equal (dq_rule_find (dq_rules, dq_rule_count,
                                    "only_minors_remain")->applies,
                      DQ_ON_FINISHED);
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
    S.members[CHILD].relationship = 99;
    dq_evaluate (dq_rules, dq_rule_count, &S, &F);
    assert_int_equal (F.n, 4);
    assert_string_equal (F.items[0].rule, "relationship_missing");
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

/* ---- the household: 3.15, 3.03 ---- */

/* Eva #2 (no head of household) and Eva #3 (more than one): flagged, the
 * daemon starts such exits. */
static void
test_head_of_household_count_eva_2_3 (void **state)
{
    (void) state;
    assert_int_equal (run ("head_of_household_count"), 0);
    S.members[SPOUSE].relationship = 1;
    assert_int_equal (run ("head_of_household_count"), 1);
    one ("", "2 heads");
    assert_non_null (strstr (F.items[0].message, "Eva #3"));
    S.members[SPOUSE].relationship = 3;
    S.members[HOH].relationship = 99;
    assert_int_equal (run ("head_of_household_count"), 1);
    one ("", "no head");
    assert_non_null (strstr (F.items[0].message, "Eva #2"));
    /* a household of one, its head: fine */
    S.members[HOH].relationship = 1;
    S.n_members = 1;
    assert_int_equal (run ("head_of_household_count"), 0);
    severity_is ("head_of_household_count", DQ_ERROR);
}

/* APR Q6b / Eva #4: relationship 99 (data not collected), whoever has it. */
static void
test_relationship_missing_apr_q6b_eva_4 (void **state)
{
    (void) state;
    assert_int_equal (run ("relationship_missing"), 0);
    S.members[CHILD].relationship = 99;
    S.members[CHILD].decision = DQ_STAYING;         /* staying counts too */
    assert_int_equal (run ("relationship_missing"), 1);
    one ("C-child", "99, data not collected");
    S.members[CHILD].relationship = 5;              /* other non-relation */
    assert_int_equal (run ("relationship_missing"), 0);
    severity_is ("relationship_missing", DQ_ERROR);
}

/* APR Q6a (3.03 date of birth missing): an exiting member with neither a
 * date of birth nor an adult flag. */
static void
test_age_unknown_apr_q6a (void **state)
{
    (void) state;
    assert_int_equal (run ("age_unknown"), 0);
    S.members[SPOUSE].age_basis = DQ_AGE_UNKNOWN;
    assert_int_equal (run ("age_unknown"), 1);
    one ("C-spouse", "age unknown");
    S.members[SPOUSE].decision = DQ_STAYING;        /* not a leaver */
    assert_int_equal (run ("age_unknown"), 0);
    S.members[SPOUSE].decision = DQ_EXITING;
    S.members[SPOUSE].age_basis = DQ_AGE_BIRTH_DATE;
    assert_int_equal (run ("age_unknown"), 0);
    severity_is ("age_unknown", DQ_ERROR);
}

/* ---- the exit form: 3.12 ---- */

/* APR Q6c "client doesn't know / prefers not to answer": 8, 9. */
static void
test_destination_dk_pnta_apr_q6c (void **state)
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
    S.members[HOH].exit.done = false;               /* not saved yet */
    assert_int_equal (run ("destination_dk_pnta"), 0);
}

/* APR Q6c "information missing", Eva #59: 30, 99, none. */
static void
test_destination_missing_apr_q6c_eva_59 (void **state)
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
    S.members[SPOUSE].exit.done = false;           /* not saved yet */
    assert_int_equal (run ("destination_missing"), 0);
}

/* ---- 4.02 income ---- */

/* APR Q6c (income at exit), Eva #89: adults and heads; absent, 8, 9, 99;
 * after the finish, a step never saved. An error, as in Eva. */
static void
test_income_missing_apr_q6c_eva_89 (void **state)
{
    (void) state;
    dq_member_t *spouse = &S.members[SPOUSE];
    dq_step_t *st = &spouse->steps[STEP_INCOME_BENEFITS];
    severity_is ("income_missing", DQ_ERROR);
    assert_int_equal (run ("income_missing"), 0);
    st->n = 0;                                       /* no answer at all */
    answer (spouse, STEP_INCOME_BENEFITS, "earned", 0);
    assert_int_equal (run ("income_missing"), 1);
    one ("C-spouse", "no income_from_any_source");
    answer (spouse, STEP_INCOME_BENEFITS, "income_from_any_source", 99);
    assert_int_equal (run ("income_missing"), 1);
    one ("C-spouse", "data not collected");
    answer (spouse, STEP_INCOME_BENEFITS, "income_from_any_source", 8);
    assert_int_equal (run ("income_missing"), 1);
    one ("C-spouse", "doesn't know");
    answer (spouse, STEP_INCOME_BENEFITS, "income_from_any_source", 9);
    assert_int_equal (run ("income_missing"), 1);
    answer (spouse, STEP_INCOME_BENEFITS, "income_from_any_source", 0);
    assert_int_equal (run ("income_missing"), 0);   /* "no" is an answer */
    /* a step not saved: still to come while open, missing once finished */
    st->done = false;
    assert_int_equal (run ("income_missing"), 0);
    S.state = DQ_STATE_FINISHED;
    assert_int_equal (run ("income_missing"), 1);
    one ("C-spouse", "income_benefits step was not saved");
    st->done = true;
    /* a child's income is not collected: never missing */
    S.members[CHILD].steps[STEP_INCOME_BENEFITS].applies = true;
    S.members[CHILD].steps[STEP_INCOME_BENEFITS].done = true;
    assert_int_equal (run ("income_missing"), 0);
    /* ... unless the child is the head of household */
    S.members[CHILD].relationship = 1;
    assert_int_equal (run ("income_missing"), 1);
    one ("C-child", "missing");
}

/* Eva #90: "any source" 1 with no source yes; 0/8/9/99 with a source yes. */
static void
test_income_inconsistent_eva_90 (void **state)
{
    (void) state;
    dq_member_t *m = &S.members[HOH];
    severity_is ("income_inconsistent", DQ_ERROR);
    assert_int_equal (run ("income_inconsistent"), 0);
    answer (m, STEP_INCOME_BENEFITS, "earned", 0);
    assert_int_equal (run ("income_inconsistent"), 1);
    one ("C-hoh", "no income source is marked yes");
    answer (m, STEP_INCOME_BENEFITS, "income_from_any_source", 0);
    assert_int_equal (run ("income_inconsistent"), 0);     /* no and none */
    answer (m, STEP_INCOME_BENEFITS, "ssi", 1);
    answer (m, STEP_INCOME_BENEFITS, "other_income_source", 1);
    assert_int_equal (run ("income_inconsistent"), 1);
    one ("C-hoh", "2 source(s) are marked yes: ssi, other_income_source");
    answer (m, STEP_INCOME_BENEFITS, "income_from_any_source", 99);
    assert_int_equal (run ("income_inconsistent"), 1);     /* 99 with sources */
    /* 99 on a source is not a yes */
    answer (m, STEP_INCOME_BENEFITS, "ssi", 99);
    answer (m, STEP_INCOME_BENEFITS, "other_income_source", 99);
    assert_int_equal (run ("income_inconsistent"), 0);
    /* benefits in the same step do not count as income */
    answer (m, STEP_INCOME_BENEFITS, "income_from_any_source", 0);
    answer (m, STEP_INCOME_BENEFITS, "snap", 1);
    assert_int_equal (run ("income_inconsistent"), 0);
}

/* vendors (IncomeBenefits.csv amount pairs): a source marked yes whose
 * amount is absent or 0. */
static void
test_income_amount_missing_vendors (void **state)
{
    (void) state;
    dq_member_t *m = &S.members[SPOUSE];
    severity_is ("income_amount_missing", DQ_WARNING);
    assert_int_equal (run ("income_amount_missing"), 0);
    answer (m, STEP_INCOME_BENEFITS, "earned_amount", 0);
    assert_int_equal (run ("income_amount_missing"), 1);
    one ("C-spouse", "1 income source(s) marked yes without an amount: earned");
    answer (m, STEP_INCOME_BENEFITS, "earned_amount", 1);  /* one cent */
    assert_int_equal (run ("income_amount_missing"), 0);
    answer (m, STEP_INCOME_BENEFITS, "pension", 1);         /* no amount */
    answer (m, STEP_INCOME_BENEFITS, "other_income_source", 1);
    answer (m, STEP_INCOME_BENEFITS, "other_income_amount", 0);
    assert_int_equal (run ("income_amount_missing"), 1);
    one ("C-spouse", "2 income source(s) marked yes without an amount: "
         "pension, other_income_source");
    /* a source marked no, or 99, needs no amount */
    answer (m, STEP_INCOME_BENEFITS, "pension", 0);
    answer (m, STEP_INCOME_BENEFITS, "other_income_source", 99);
    assert_int_equal (run ("income_amount_missing"), 0);
    /* benefits have no amounts */
    answer (m, STEP_INCOME_BENEFITS, "snap", 1);
    assert_int_equal (run ("income_amount_missing"), 0);
}

/* vendors: total_monthly_income is the sum of the amounts to within $1
 * (DQ_TOTAL_TOLERANCE_CENTS); amounts without a total count too. */
static void
test_income_total_mismatch_vendors (void **state)
{
    (void) state;
    dq_member_t *m = &S.members[HOH];
    severity_is ("income_total_mismatch", DQ_WARNING);
    answer (m, STEP_INCOME_BENEFITS, "ssi", 1);
    answer (m, STEP_INCOME_BENEFITS, "ssi_amount", 94300);  /* $943.00 */
    answer (m, STEP_INCOME_BENEFITS, "total_monthly_income", 125050 + 94300);
    assert_int_equal (run ("income_total_mismatch"), 0);
    /* within $1, either way: not a mistake */
    answer (m, STEP_INCOME_BENEFITS, "total_monthly_income", 219350 + 100);
    assert_int_equal (run ("income_total_mismatch"), 0);
    answer (m, STEP_INCOME_BENEFITS, "total_monthly_income", 219350 - 100);
    assert_int_equal (run ("income_total_mismatch"), 0);
    /* $1.01 off is */
    answer (m, STEP_INCOME_BENEFITS, "total_monthly_income", 219350 + 101);
    assert_int_equal (run ("income_total_mismatch"), 1);
    one ("C-hoh", "total_monthly_income is above the sum of the 2 source "
         "amount(s) by more than $1");
    answer (m, STEP_INCOME_BENEFITS, "total_monthly_income", 219350 - 101);
    assert_int_equal (run ("income_total_mismatch"), 1);
    one ("C-hoh", "below");
    /* amounts with no total */
    m->steps[STEP_INCOME_BENEFITS].n = 0;
    answer (m, STEP_INCOME_BENEFITS, "income_from_any_source", 1);
    answer (m, STEP_INCOME_BENEFITS, "earned", 1);
    answer (m, STEP_INCOME_BENEFITS, "earned_amount", 50000);
    assert_int_equal (run ("income_total_mismatch"), 1);
    one ("C-hoh", "1 source amount(s) are given but no total_monthly_income");
    /* no amounts and no total: nothing to add up (income_amount_missing's) */
    answer (m, STEP_INCOME_BENEFITS, "earned_amount", 0);
    assert_int_equal (run ("income_total_mismatch"), 0);
    /* a total with no amounts must be 0 too */
    answer (m, STEP_INCOME_BENEFITS, "total_monthly_income", 50000);
    assert_int_equal (run ("income_total_mismatch"), 1);
    /* the amount never names the money: incomes are the client's data */
    assert_null (strstr (F.items[0].message, "500"));
}

/* ---- 4.03 non-cash benefits ---- */

/* HUD 4.03: benefits_from_any_source absent, 8, 9 or 99. */
static void
test_benefits_missing_hud_4_03 (void **state)
{
    (void) state;
    severity_is ("benefits_missing", DQ_WARNING);
    assert_int_equal (run ("benefits_missing"), 0);
    answer (&S.members[HOH], STEP_INCOME_BENEFITS, "benefits_from_any_source", 9);
    assert_int_equal (run ("benefits_missing"), 1);
    one ("C-hoh", "prefers not");
    answer (&S.members[HOH], STEP_INCOME_BENEFITS, "benefits_from_any_source", 1);
    assert_int_equal (run ("benefits_missing"), 0);
}

/* HUD 4.03: "any source" contradicting the benefit sources. */
static void
test_benefits_inconsistent_hud_4_03 (void **state)
{
    (void) state;
    dq_member_t *m = &S.members[SPOUSE];
    severity_is ("benefits_inconsistent", DQ_ERROR);
    answer (m, STEP_INCOME_BENEFITS, "snap", 0);
    assert_int_equal (run ("benefits_inconsistent"), 0);
    answer (m, STEP_INCOME_BENEFITS, "wic", 1);
    assert_int_equal (run ("benefits_inconsistent"), 1);
    one ("C-spouse", "benefits_from_any_source is 0 but 1 source(s) are "
         "marked yes: wic");
    answer (m, STEP_INCOME_BENEFITS, "benefits_from_any_source", 1);
    assert_int_equal (run ("benefits_inconsistent"), 0);
}

/* ---- 4.04 health insurance ---- */

/* Eva #93: everyone's insurance at exit; an error. */
static void
test_insurance_missing_eva_93 (void **state)
{
    (void) state;
    dq_member_t *child = &S.members[CHILD];
    severity_is ("insurance_missing", DQ_ERROR);
    assert_int_equal (run ("insurance_missing"), 0);
    child->steps[STEP_HEALTH_INSURANCE].n = 0;          /* children too */
    assert_int_equal (run ("insurance_missing"), 1);
    one ("C-child", "insurance at exit is missing");
    answer (child, STEP_HEALTH_INSURANCE, "insurance_from_any_source", 99);
    assert_int_equal (run ("insurance_missing"), 1);
    one ("C-child", "99, data not collected");
    child->steps[STEP_HEALTH_INSURANCE].done = false;   /* not saved yet */
    assert_int_equal (run ("insurance_missing"), 0);
}

/* Eva #95: "any source" contradicting the insurance sources. */
static void
test_insurance_inconsistent_eva_95 (void **state)
{
    (void) state;
    dq_member_t *m = &S.members[CHILD];
    severity_is ("insurance_inconsistent", DQ_ERROR);
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

/* vendors (a half-done exit): after the finish, an applicable step not
 * done, or saved with no HUD field (only `local_` questions). */
static void
test_assessment_missing_vendors (void **state)
{
    (void) state;
    severity_is ("assessment_missing", DQ_WARNING);
    S.state = DQ_STATE_FINISHED;
    assert_int_equal (run ("assessment_missing"), 0);
    S.members[SPOUSE].steps[STEP_DISABILITIES].done = false;
    assert_int_equal (run ("assessment_missing"), 1);
    one_at ("C-spouse", STEP_DISABILITIES,
            "disabilities assessment at exit was not completed");
    S.members[SPOUSE].steps[STEP_DISABILITIES].done = true;
    S.members[SPOUSE].steps[STEP_DISABILITIES].n_fields = 0;
    assert_int_equal (run ("assessment_missing"), 1);
    one_at ("C-spouse", STEP_DISABILITIES, "saved with no HUD field");
    S.members[SPOUSE].steps[STEP_DISABILITIES].n_fields = 1;
    S.members[CHILD].exit.done = false;
    assert_int_equal (run ("assessment_missing"), 1);
    one_at ("C-child", STEP_EXIT, "exit form was not saved");
    /* an open workflow is still being filled in: the rule waits */
    S.state = DQ_STATE_OPEN;
    assert_int_equal (run ("assessment_missing"), 0);
}

/* ---- who stays: Eva #86 ---- */

static void
head_exits_spouse_and_child_stay (const char *new_head)
{
    S.state = DQ_STATE_FINISHED;
    S.members[SPOUSE].decision = DQ_STAYING;
    S.members[CHILD].decision = DQ_STAYING;
    snprintf (S.new_head_of_household, sizeof S.new_head_of_household, "%s",
              new_head);
}

/* Eva #86: a minor named the new head of household while an adult stays. */
static void
test_new_head_minor_eva_86 (void **state)
{
    (void) state;
    severity_is ("new_head_minor", DQ_WARNING);
    head_exits_spouse_and_child_stay ("C-spouse");
    assert_int_equal (run ("new_head_minor"), 0);
    head_exits_spouse_and_child_stay ("C-child");
    assert_int_equal (run ("new_head_minor"), 1);
    one ("C-child", "minor is named the new head of household while 1 "
         "adult(s) stay");
    /* only the child stays: no adult to be head (only_minors_remain's) */
    S.members[SPOUSE].decision = DQ_EXITING;
    assert_int_equal (run ("new_head_minor"), 0);
    /* evaluated once the exit is finished (the new head is named then) */
    head_exits_spouse_and_child_stay ("C-child");
    S.state = DQ_STATE_OPEN;
    assert_int_equal (run ("new_head_minor"), 0);
}

/* Eva #86: after the finish, every member who stays is a minor. */
static void
test_only_minors_remain_eva_86 (void **state)
{
    (void) state;
    severity_is ("only_minors_remain", DQ_ERROR);
    S.state = DQ_STATE_FINISHED;
    assert_int_equal (run ("only_minors_remain"), 0);      /* nobody stays */
    head_exits_spouse_and_child_stay ("C-spouse");
    assert_int_equal (run ("only_minors_remain"), 0);      /* an adult stays */
    S.members[SPOUSE].decision = DQ_EXITING;
    snprintf (S.new_head_of_household, sizeof S.new_head_of_household,
              "C-child");
    assert_int_equal (run ("only_minors_remain"), 1);
    one ("", "every member who stays enrolled (1) is a minor");
    S.state = DQ_STATE_OPEN;                               /* after finish */
    assert_int_equal (run ("only_minors_remain"), 0);
}

/* vendors' household check: a member's exit date after the head's. */
static void
test_member_exit_after_head_vendors (void **state)
{
    (void) state;
    severity_is ("member_exit_after_head", DQ_WARNING);
    S.members[SPOUSE].exit.exit_day = TODAY - 5;    /* before the head: fine */
    assert_int_equal (run ("member_exit_after_head"), 0);
    S.members[HOH].exit.exit_day = TODAY - 10;
    S.members[CHILD].exit.exit_day = TODAY - 10;
    assert_int_equal (run ("member_exit_after_head"), 1);
    one ("C-spouse", "5 day(s) after the head");
    S.members[HOH].exit.done = false;               /* no head exit yet */
    assert_int_equal (run ("member_exit_after_head"), 0);
}

/* ---- the project type (2.02.6) ---- */

/* Eva #40: a permanent housing project (3, 9, 10, 13) with a move-in date
 * after the exit date. */
static void
test_exit_before_move_in_eva_40 (void **state)
{
    (void) state;
    severity_is ("exit_before_move_in", DQ_ERROR);
    S.project_type = 13;
    S.has_move_in = true;
    S.move_in_day = TODAY - 1;                      /* the exit's day: fine */
    assert_int_equal (run ("exit_before_move_in"), 0);
    S.move_in_day = TODAY + 3;
    S.members[SPOUSE].decision = DQ_STAYING;
    S.members[CHILD].exit.done = false;             /* not saved yet */
    assert_int_equal (run ("exit_before_move_in"), 1);
    one ("C-hoh", "4 day(s) before the housing move-in date");
    for (int pt = 0; pt <= 14; pt++) {
        S.project_type = pt;
        assert_int_equal (run ("exit_before_move_in"),
                          pt == 3 || pt == 9 || pt == 10 || pt == 13);
    }
    S.project_type = 3;
    S.has_move_in = false;                          /* none recorded */
    assert_int_equal (run ("exit_before_move_in"), 0);
}

/* Local policy, not a HUD rule: 435 with subsidy 431 (RRH) from an RRH
 * project (13), or 439 (PSH) from a PSH project (3). */
static void
test_own_housing_exit_local_policy (void **state)
{
    (void) state;
    severity_is ("own_housing_exit", DQ_WARNING);
    dq_exit_t *ex = &S.members[HOH].exit;
    ex->destination = 435;
    ex->has_subsidy = true;
    ex->subsidy = 431;
    S.project_type = 13;
    assert_int_equal (run ("own_housing_exit"), 1);
    one ("C-hoh", "local policy, not a HUD rule");
    S.project_type = 3;                         /* RRH subsidy from PSH */
    assert_int_equal (run ("own_housing_exit"), 0);
    ex->subsidy = 439;
    assert_int_equal (run ("own_housing_exit"), 1);
    one ("C-hoh", "439");
    S.project_type = 13;                        /* PSH subsidy from RRH */
    assert_int_equal (run ("own_housing_exit"), 0);
    ex->subsidy = 419;                          /* VASH from RRH */
    assert_int_equal (run ("own_housing_exit"), 0);
    ex->destination = 410;
    ex->has_subsidy = false;
    assert_int_equal (run ("own_housing_exit"), 0);
}

/* ---- timeliness: APR Q6e ---- */

static void
test_timeliness_rows_apr_q6e (void **state)
{
    (void) state;
    static const struct { int64_t days; int row; } cases[] = {
        { -1, -1 }, { -30, -1 }, { 0, DQ_LATE_0 }, { 1, DQ_LATE_1_3 },
        { 3, DQ_LATE_1_3 }, { 4, DQ_LATE_4_6 }, { 6, DQ_LATE_4_6 },
        { 7, DQ_LATE_7_10 }, { 10, DQ_LATE_7_10 }, { 11, DQ_LATE_11_PLUS },
        { 400, DQ_LATE_11_PLUS } };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal (dq_late_row (cases[i].days), cases[i].row);
    /* exactly HUD's rows */
    static const char *const rows[] = { "0", "1-3", "4-6", "7-10", "11+" };
    assert_int_equal (DQ_LATE_ROWS, 5);
    for (int r = 0; r < DQ_LATE_ROWS; r++)
        assert_string_equal (dq_late_row_names[r], rows[r]);

    int64_t days;
    dq_member_t *m = &S.members[HOH];
    assert_true (dq_exit_days_late (m, TODAY, &days));
    assert_int_equal (days, 1);
    /* the record day first, else the last save's, else today */
    m->exit.recorded_day = TODAY - 1;
    assert_true (dq_exit_days_late (m, TODAY, &days));
    assert_int_equal (days, 0);
    m->exit.has_recorded = false;
    m->exit.saved_day = TODAY + 4;
    assert_true (dq_exit_days_late (m, TODAY, &days));
    assert_int_equal (days, 5);
    m->exit.has_saved = false;
    assert_true (dq_exit_days_late (m, TODAY + 9, &days));
    assert_int_equal (days, 10);
    m->exit.has_exit_date = false;
    assert_false (dq_exit_days_late (m, TODAY, &days));
}

/* APR Q6e: recorded 11 days (the threshold) or more after the exit date. */
static void
test_exit_timeliness_apr_q6e (void **state)
{
    (void) state;
    severity_is ("exit_timeliness", DQ_WARNING);
    S.members[CHILD].exit.exit_day = TODAY - 10;    /* 10 days: 7-10, fine */
    assert_int_equal (run ("exit_timeliness"), 0);
    S.members[CHILD].exit.exit_day = TODAY - 11;
    assert_int_equal (run ("exit_timeliness"), 1);
    one ("C-child", "11 days after the exit date (APR Q6e row 11+");
    /* recorded before the exit date: not late */
    S.members[CHILD].exit.exit_day = TODAY + 2;
    assert_int_equal (run ("exit_timeliness"), 0);
    /* the threshold is the table's value */
    dq_rule_t strict = *dq_rule_find (dq_rules, dq_rule_count,
                                      "exit_timeliness");
    strict.param = 1;
    dq_evaluate (&strict, 1, &S, &F);
    assert_int_equal (F.n, 2);
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
/* As the daemon's view has them; `old`: as stored before findings had a
 * step (no `step` key). */
static bool OLD_VIEW;

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
        msgpack_pack_map (&pk, OLD_VIEW ? 5 : 6);
        codec_pack_cstr (&pk, "source"); codec_pack_cstr (&pk, source);
        if (!OLD_VIEW) {
            codec_pack_cstr (&pk, "step");
            codec_pack_cstr_or_nil (&pk, f->items[i].step == DQ_NO_STEP ? NULL
                                         : hud_steps[f->items[i].step].name);
        }
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
    /* the step counts: another step, or findings stored before findings
     * had one, are reported again (then the view gets the step) */
    stored = F;
    assert_int_equal (stored.items[1].step, STEP_EXIT);
    stored.items[1].step = STEP_DISABILITIES;
    assert_false (equal_after_pack (&F, &stored, false));
    stored = F;
    OLD_VIEW = true;
    assert_false (equal_after_pack (&F, &stored, false));
    OLD_VIEW = false;
}

static void
test_findings_pack (void **state)
{
    (void) state;
    S.members[HOH].relationship = 3;                 /* no head: household */
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
    assert_int_equal (a->via.map.size, 3);  /* household: no client, step */
    assert_null (codec_map_get (a, "client_id"));
    assert_null (codec_map_get (a, "step"));
    assert_true (codec_str_eq (codec_str_of (codec_map_get (a, "rule")),
                               "head_of_household_count"));
    assert_true (codec_str_eq (codec_str_of (codec_map_get (a, "severity")),
                               "error"));
    assert_int_equal (b->via.map.size, 5);
    assert_true (codec_str_eq (codec_str_of (codec_map_get (b, "rule")),
                               "destination_dk_pnta"));
    assert_true (codec_str_eq (codec_str_of (codec_map_get (b, "step")),
                               "exit"));
    assert_true (codec_str_eq (codec_str_of (codec_map_get (b, "severity")),
                               "warning"));
    assert_true (codec_str_eq (codec_str_of (codec_map_get (b, "client_id")),
                               "C-child"));
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
        "m {s s, s i, s s, s s, s s, s i, s s, s n, s s,"
        "  s a ["
        "    m {s s, s i, s s, s b, s s, s s,"
        "        s a [ m {s s, s s, s m {s s, s i, s i, s s}, s s, s s},"
        "               m {s s, s s, s m {s i, s i, s s}},"
        "               m {s s, s s, s m {s i, s i, s f, s i, s i, s f, s s, s n}},"
        "               m {s s, s s} ] },"
        "    m {s s, s i, s s, s b, s s, s a []} ],"
        "  s a [] }",
        11, "workflow_id", "01JDKZ3V8QABCDEFGHJKMNPQRS", "version", 7,
        "state", "finished", "project_id", "P-1", "household_id", "HH-1",
        "project_type", 13, "started_by", "cw-17",
        "new_head_of_household", "move_in_date", "2026-11-01",
        "members",
        2, 7, "client_id", "C-1", "relationship", 1, "entry_date", "2026-05-01",
        "adult", 1, "age_basis", "birth_date", "decision", "exiting", "steps",
        4, 5, "name", "exit", "status", "done",
        "data", 4, "exit_date", "2026-11-20", "destination", 435,
        "destination_subsidy_type", 419, "other_destination", "ignored",
        "completed_at", "2026-11-25T12:00:00.000Z", "mode", "entered",
        3, "name", "health_insurance", "status", "done",
        "data", 3, "insurance_from_any_source", 1, "medicaid", 1,
        "local_notes", "x",
        3, "name", "income_benefits", "status", "done",
        "data", 8, "income_from_any_source", 1, "earned", 1,
        "earned_amount", 1250.5, "ssi", 1, "ssi_amount", 800,
        "total_monthly_income", 2050.499, "other_income_source_identify",
        "tips", "other_income_amount",
        2, "name", "disabilities", "status", "pending",
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
    assert_true (s.has_move_in);
    assert_int_equal (s.move_in_day, TODAY - 24);
    assert_int_equal (s.n_members, 2);
    const dq_member_t *a = &s.members[0], *b = &s.members[1];
    assert_string_equal (a->client_id, "C-1");
    assert_true (dq_member_is_head (a) && a->adult);
    assert_int_equal (a->age_basis, DQ_AGE_BIRTH_DATE);
    assert_int_equal (a->decision, DQ_EXITING);
    assert_true (a->has_entry);
    assert_true (a->exit.done && a->exit.has_exit_date);
    assert_int_equal (a->exit.exit_day, TODAY - 5);
    assert_true (a->exit.has_destination && a->exit.destination == 435);
    assert_true (a->exit.has_subsidy && a->exit.subsidy == 419);
    assert_true (a->exit.has_saved);
    assert_int_equal (a->exit.saved_day, TODAY);
    assert_false (a->exit.has_recorded);
    /* the table's fields only: `local_` questions are not HUD fields */
    const dq_step_t *hi = &a->steps[STEP_HEALTH_INSURANCE];
    assert_true (hi->applies && hi->done);
    assert_int_equal (hi->n_fields, 2);
    assert_int_equal (hi->n, 2);
    int64_t v;
    assert_true (dq_step_answer (hi, "medicaid", &v) && v == 1);
    assert_false (dq_step_answer (hi, "local_notes", &v));
    /* amounts in whole cents, rounded; texts and nil not kept */
    const dq_step_t *inc = &a->steps[STEP_INCOME_BENEFITS];
    assert_int_equal (inc->n_fields, 7);
    assert_int_equal (inc->n, 6);
    assert_true (dq_step_answer (inc, "earned_amount", &v) && v == 125050);
    assert_true (dq_step_answer (inc, "ssi_amount", &v) && v == 80000);
    assert_true (dq_step_answer (inc, "total_monthly_income", &v) && v == 205050);
    assert_false (dq_step_answer (inc, "other_income_source_identify", &v));
    assert_false (dq_step_answer (inc, "other_income_amount", &v));
    dq_amounts_t amounts;
    dq_group_amounts (inc, GROUP_INCOME, &amounts);
    assert_int_equal (amounts.n_amounts, 2);
    assert_int_equal (amounts.sum, 205050);
    assert_true (amounts.has_total && amounts.total == 205050);
    assert_int_equal (dq_group_yes_sources (inc, GROUP_INCOME, NULL, 0), 2);
    assert_int_equal (dq_group_yes_sources (inc, GROUP_BENEFITS, NULL, 0), 0);
    assert_true (a->steps[STEP_DISABILITIES].applies);
    assert_false (a->steps[STEP_DISABILITIES].done);
    assert_false (a->steps[STEP_UNIVERSAL_DATA].applies);
    assert_false (dq_member_answers_step (b, STEP_INCOME_BENEFITS));
    assert_true (dq_member_answers_step (b, STEP_HEALTH_INSURANCE));
    assert_true (dq_member_answers_step (a, STEP_INCOME_BENEFITS));
    assert_int_equal (b->decision, DQ_STAYING);
    assert_false (b->adult);
    assert_int_equal (b->age_basis, DQ_AGE_UNKNOWN);   /* none in the view */
    assert_false (b->has_entry);
    assert_int_equal (dq_snapshot_head (&s), 0);
    assert_ptr_equal (dq_snapshot_member (&s, "C-2"), b);
    assert_null (dq_snapshot_member (&s, "C-3"));
    /* every code and amount field of a step fits in a dq_step_t */
    for (int step = 0; step < STEP_COUNT; step++) {
        int kept = 0;
        for (int i = 0; i < hud_step_fields[step].n; i++)
            kept += hud_step_fields[step].fields[i].type == FIELD_CODE
                    || hud_step_fields[step].fields[i].type == FIELD_AMOUNT;
        assert_true (kept <= DQ_MAX_ANSWERS);
    }
    /* the setter knows the table: a text, an unknown field, a wrong step */
    dq_step_t scratch = { 0 };
    assert_false (dq_step_set (&scratch, STEP_INCOME_BENEFITS,
                               "other_income_source_identify", 1));
    assert_false (dq_step_set (&scratch, STEP_UNIVERSAL_DATA,
                               "living_situation", 116));
    assert_false (dq_step_set (&scratch, STEP_HEALTH_INSURANCE, "earned", 1));
    assert_true (dq_step_set (&scratch, STEP_HEALTH_INSURANCE, "cobra", 1));

    /* the history's record days: member.exited wins over the first save */
    const msgpack_object *history = build (
        "a [ m {s s, s s, s s, s m {s s, s s}},"
        "     m {s s, s s, s s, s m {s s, s s}},"
        "     m {s s, s s, s s, s m {s s}},"
        "     m {s s, s s, s m {}} ]",
        4, 4, "type", "step.completed", "client_id", "C-1",
        "ts", "2026-11-20T09:00:00.000Z", "data", 2, "step", "exit", "mode", "entered",
        4, "type", "step.completed", "client_id", "C-1",
        "ts", "2026-11-24T09:00:00.000Z", "data", 2, "step", "exit", "mode", "entered",
        4, "type", "member.exited", "client_id", "C-1",
        "ts", "2026-11-25T12:00:00.000Z", "data",
        1, "exit_recorded_at", "2026-11-21T09:00:00.001Z",
        3, "type", "workflow.finished", "ts", "2026-11-25T12:00:00.000Z", "data", 0);
    dq_snapshot_apply_history (&s, history);
    assert_true (s.members[0].exit.has_recorded);
    assert_int_equal (s.members[0].exit.recorded_day, TODAY - 4);
    assert_false (s.members[1].exit.has_recorded);
    /* while open: the first save of the exit form */
    s.members[0].exit.has_recorded = false;
    const msgpack_object *open_history = build (
        "a [ m {s s, s s, s s, s m {s s}}, m {s s, s s, s s, s m {s s}} ]",
        2, 4, "type", "step.completed", "client_id", "C-1",
        "ts", "2026-11-20T09:00:00.000Z", "data", 1, "step", "exit",
        4, "type", "step.completed", "client_id", "C-1",
        "ts", "2026-11-24T09:00:00.000Z", "data", 1, "step", "exit");
    dq_snapshot_apply_history (&s, open_history);
    assert_int_equal (s.members[0].exit.recorded_day, TODAY - 5);

    assert_false (dq_snapshot_from_view (&s, build ("a []", 0), &why));
    assert_false (dq_snapshot_from_view (&s, build ("m {s i}", 1, "version", 1),
                                         &why));
    assert_non_null (why);
}

/* A household of one whose exit is dated 2026-11-24 and recorded at
 * `recorded` (UTC, as on the wire): the view and the history. */
static void
read_one_exit (dq_snapshot_t *s, const char *recorded)
{
    const char *why = NULL;
    const msgpack_object *view = build (
        "m {s s, s s, s a [ m {s s, s i, s b, s s, s s,"
        "   s a [ m {s s, s s, s m {s s, s i}, s s} ] } ] }",
        3, "workflow_id", "01JDKZ3V8QABCDEFGHJKMNPQRS", "state", "open",
        "members", 1, 6, "client_id", "C-1", "relationship", 1, "adult", 1,
        "age_basis", "adult_flag", "decision", "exiting",
        "steps", 1, 4, "name", "exit", "status", "done",
        "data", 2, "exit_date", "2026-11-24", "destination", 410,
        "completed_at", recorded);
    assert_true (dq_snapshot_from_view (s, view, &why));
    const msgpack_object *history = build (
        "a [ m {s s, s s, s s, s m {s s}} ]",
        1, 4, "type", "step.completed", "client_id", "C-1", "ts", recorded,
        "data", 1, "step", "exit");
    dq_snapshot_apply_history (s, history);
    dq_snapshot_set_now (s, NOW);
}

/* APR Q6e counts days on the CoC's calendar: in America/Los_Angeles, an
 * exit dated D recorded at 23:30 local on D (07:30 UTC on D+1) is row 0;
 * on UTC's calendar the same instant is D+1, row 1-3. */
static void
test_timeliness_on_the_cocs_calendar_apr_q6e (void **state)
{
    (void) state;
    static dq_snapshot_t s;
    const dq_rule_t *late = dq_rule_find (dq_rules, dq_rule_count,
                                          "exit_timeliness");
    dq_rule_t any_day = *late;
    any_day.param = 1;                  /* fires from 1 day late */
    int64_t d = TODAY - 1, days;
    char why[256];

    assert_true (calendar_set_zone ("America/Los_Angeles", why, sizeof why));
    read_one_exit (&s, "2026-11-25T07:30:00.000Z");
    assert_int_equal (s.members[0].exit.exit_day, d);
    assert_true (s.members[0].exit.has_recorded);
    assert_int_equal (s.members[0].exit.recorded_day, d);
    assert_int_equal (s.members[0].exit.saved_day, d);
    assert_true (dq_exit_days_late (&s.members[0], s.today, &days));
    assert_int_equal (days, 0);
    assert_int_equal (dq_late_row (days), DQ_LATE_0);
    dq_evaluate (&any_day, 1, &s, &F);
    assert_int_equal (F.n, 0);
    /* "today" is the local day of the event: 04:00 on 2026-11-25 there */
    assert_int_equal (s.today, TODAY);
    dq_snapshot_set_now (&s, NOW - 5 * HOUR_MS);    /* 23:00 on D there */
    assert_int_equal (s.today, d);

    assert_true (calendar_set_zone ("UTC", why, sizeof why));
    read_one_exit (&s, "2026-11-25T07:30:00.000Z");
    assert_int_equal (s.members[0].exit.recorded_day, d + 1);
    assert_true (dq_exit_days_late (&s.members[0], s.today, &days));
    assert_int_equal (days, 1);
    assert_int_equal (dq_late_row (days), DQ_LATE_1_3);
    dq_evaluate (&any_day, 1, &s, &F);
    assert_int_equal (F.n, 1);
    assert_non_null (strstr (F.items[0].message, "row 1-3"));

    /* a zone the system does not know is refused, the zone in use kept */
    assert_false (calendar_set_zone ("Mars/Olympus_Mons", why, sizeof why));
    assert_non_null (strstr (why, "Mars/Olympus_Mons"));
    assert_string_equal (calendar_zone (), "UTC");
}

int
main (void)
{
    /* the tests' days are UTC's unless a test sets a zone */
    char why[256];
    if (!calendar_set_zone ("UTC", why, sizeof why)) {
        fprintf (stderr, "%s\n", why);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup (test_table_is_the_issue_9_table, setup),
        cmocka_unit_test_setup (test_clean_household_has_no_findings, setup),
        cmocka_unit_test_setup (test_cancelled_is_not_evaluated, setup),
        cmocka_unit_test_setup (test_order_is_table_then_member, setup),
        cmocka_unit_test_setup (test_head_of_household_count_eva_2_3, setup),
        cmocka_unit_test_setup (test_relationship_missing_apr_q6b_eva_4, setup),
        cmocka_unit_test_setup (test_age_unknown_apr_q6a, setup),
        cmocka_unit_test_setup (test_destination_dk_pnta_apr_q6c, setup),
        cmocka_unit_test_setup (test_destination_missing_apr_q6c_eva_59, setup),
        cmocka_unit_test_setup (test_income_missing_apr_q6c_eva_89, setup),
        cmocka_unit_test_setup (test_income_inconsistent_eva_90, setup),
        cmocka_unit_test_setup (test_income_amount_missing_vendors, setup),
        cmocka_unit_test_setup (test_income_total_mismatch_vendors, setup),
        cmocka_unit_test_setup (test_benefits_missing_hud_4_03, setup),
        cmocka_unit_test_setup (test_benefits_inconsistent_hud_4_03, setup),
        cmocka_unit_test_setup (test_insurance_missing_eva_93, setup),
        cmocka_unit_test_setup (test_insurance_inconsistent_eva_95, setup),
        cmocka_unit_test_setup (test_assessment_missing_vendors, setup),
        cmocka_unit_test_setup (test_new_head_minor_eva_86, setup),
        cmocka_unit_test_setup (test_only_minors_remain_eva_86, setup),
        cmocka_unit_test_setup (test_member_exit_after_head_vendors, setup),
        cmocka_unit_test_setup (test_exit_before_move_in_eva_40, setup),
        cmocka_unit_test_setup (test_own_housing_exit_local_policy, setup),
        cmocka_unit_test_setup (test_timeliness_rows_apr_q6e, setup),
        cmocka_unit_test_setup (test_exit_timeliness_apr_q6e, setup),
        cmocka_unit_test_setup (test_findings_overflow, setup),
        cmocka_unit_test_setup (test_findings_equal_view, setup),
        cmocka_unit_test_setup (test_findings_pack, setup),
        cmocka_unit_test_setup_teardown (test_parse_time, setup,
                                         teardown_builder),
        cmocka_unit_test_setup_teardown (test_snapshot_from_view, setup,
                                         teardown_builder),
        cmocka_unit_test_setup_teardown (
            test_timeliness_on_the_cocs_calendar_apr_q6e, setup,
            teardown_builder),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
