/* Unit tests for workers/dq/dq_summary.c: the APR-Q6-style counts over
 * snapshots (period and project filters, APR Q6c destination error rate
 * and income, HUD's APR Q6e rows with what is in none of them apart, the
 * outcomes by destination category and the count of 17, open exits,
 * stored findings by rule) and its text and JSON forms. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "workers/dq/dq_summary.h"

#define NOW 1795608000000LL         /* 2026-11-25T12:00:00Z */
#define DAY_MS 86400000LL
#define TODAY (NOW / DAY_MS)

static dq_snapshot_t S;

/* A finished workflow of `n` exiting adults, exit `days_ago`, to `dest`
 * (-1: none), recorded `late` days after the exit date. */
static void
workflow (const char *project, int n, int days_ago, int dest, int late)
{
    memset (&S, 0, sizeof S);
    snprintf (S.project_id, sizeof S.project_id, "%s", project);
    S.state = DQ_STATE_FINISHED;
    S.today = TODAY;
    S.n_members = n;
    for (int i = 0; i < n; i++) {
        dq_member_t *m = &S.members[i];
        snprintf (m->client_id, sizeof m->client_id, "C-%d", i);
        m->relationship = i == 0 ? 1 : 3;
        m->adult = true;
        m->decision = DQ_EXITING;
        m->exit = (dq_exit_t) { .done = true, .has_exit_date = true,
                                .exit_day = TODAY - days_ago,
                                .has_destination = dest >= 0,
                                .destination = dest,
                                .has_recorded = true,
                                .recorded_day = TODAY - days_ago + late };
        dq_step_t *st = &m->steps[STEP_INCOME_BENEFITS];
        st->applies = st->done = true;
        dq_step_set (st, STEP_INCOME_BENEFITS, "income_from_any_source", 1);
        dq_step_set (st, STEP_INCOME_BENEFITS, "earned", 1);
    }
}

/* An empty summary, and a filter that keeps everything. */
static void
empty (dq_summary_t *sum, dq_summary_filter_t *f)
{
    memset (sum, 0, sizeof *sum);
    memset (f, 0, sizeof *f);
}

/* The summary as printed, text or JSON (free it). */
static char *
printed (const dq_summary_t *sum, const dq_summary_filter_t *f, bool json)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream (&text, &len);
    assert_non_null (out);
    if (json)
        dq_summary_print_json (sum, f, out);
    else
        dq_summary_print (sum, f, out);
    fclose (out);
    return text;
}

static void
test_counts (void **state)
{
    (void) state;
    static dq_summary_t sum;
    dq_summary_filter_t all;
    empty (&sum, &all);

    workflow ("P-1", 2, 5, 410, 0);             /* 2 clean leavers, 0 days */
    dq_summary_add_finished (&sum, &all, &S, NULL);
    workflow ("P-1", 1, 20, 8, 12);             /* dk: 11+ */
    dq_summary_add_finished (&sum, &all, &S, NULL);
    workflow ("P-2", 1, 3, 99, 2);              /* missing: 1-3 */
    S.members[0].steps[STEP_INCOME_BENEFITS].n = 0;     /* income missing */
    dq_summary_add_finished (&sum, &all, &S, NULL);
    workflow ("P-2", 1, 3, -1, 5);              /* no destination: 4-6 */
    dq_step_set (&S.members[0].steps[STEP_INCOME_BENEFITS],
                 STEP_INCOME_BENEFITS, "earned", 0);
    dq_summary_add_finished (&sum, &all, &S, NULL);
    workflow ("P-2", 2, 3, 30, 8);              /* one leaver, one stays */
    S.members[1].decision = DQ_STAYING;
    S.members[0].exit.has_recorded = false;     /* record time unknown */
    dq_summary_add_finished (&sum, &all, &S, NULL);
    workflow ("P-2", 1, 3, 410, 0);             /* open: not a leaver */
    S.state = DQ_STATE_OPEN;
    dq_summary_add_finished (&sum, &all, &S, NULL);
    dq_summary_add_open (&sum, true);
    dq_summary_add_open (&sum, false);

    assert_int_equal (sum.workflows, 5);
    assert_int_equal (sum.leavers, 6);
    assert_int_equal (sum.dest_dk_pnta, 1);
    assert_int_equal (sum.dest_missing, 3);
    assert_true (dq_summary_destination_rate (&sum) > 66.66
                 && dq_summary_destination_rate (&sum) < 66.67);
    assert_int_equal (sum.income_leavers, 6);
    assert_int_equal (sum.income_missing, 1);
    assert_int_equal (sum.income_inconsistent, 1);
    assert_int_equal (sum.late[DQ_LATE_0], 2);
    assert_int_equal (sum.late[DQ_LATE_1_3], 1);
    assert_int_equal (sum.late[DQ_LATE_4_6], 1);
    assert_int_equal (sum.late[DQ_LATE_11_PLUS], 1);
    assert_int_equal (sum.late_unknown, 1);
    assert_int_equal (sum.late_before_exit, 0);
    assert_int_equal (sum.open, 2);
    assert_int_equal (sum.stalled, 1);
}

static void
test_filters (void **state)
{
    (void) state;
    static dq_summary_t sum;
    dq_summary_filter_t f;
    empty (&sum, &f);
    assert_true (dq_summary_set_project (&f, "P-1"));
    assert_false (dq_summary_set_project (&f, ""));
    assert_false (dq_summary_set_from (&f, "2026-13-01"));
    assert_false (dq_summary_set_to (&f, "yesterday"));
    char from[CODEC_TIME_LEN], to[CODEC_TIME_LEN];
    codec_format_time ((TODAY - 10) * DAY_MS, from);
    from[10] = '\0';
    codec_format_time ((TODAY - 4) * DAY_MS, to);
    to[10] = '\0';
    assert_true (dq_summary_set_from (&f, from));
    assert_true (dq_summary_set_to (&f, to));

    workflow ("P-1", 1, 4, 8, 0);               /* in: on --to */
    dq_summary_add_finished (&sum, &f, &S, NULL);
    workflow ("P-1", 1, 10, 8, 0);              /* in: on --from */
    dq_summary_add_finished (&sum, &f, &S, NULL);
    workflow ("P-1", 1, 3, 8, 0);               /* after --to */
    dq_summary_add_finished (&sum, &f, &S, NULL);
    workflow ("P-1", 1, 11, 8, 0);              /* before --from */
    dq_summary_add_finished (&sum, &f, &S, NULL);
    workflow ("P-9", 1, 5, 8, 0);               /* another project */
    dq_summary_add_finished (&sum, &f, &S, NULL);
    assert_int_equal (sum.workflows, 2);
    assert_int_equal (sum.leavers, 2);
    assert_int_equal (sum.dest_dk_pnta, 2);

    /* the demo project: out unless asked for by name or --include-demo */
    empty (&sum, &f);
    workflow (EXF_DEMO_PROJECT, 1, 4, 8, 0);
    dq_summary_add_finished (&sum, &f, &S, NULL);
    assert_int_equal (sum.workflows, 0);
    assert_false (dq_summary_counts_project (&f, EXF_DEMO_PROJECT));
    assert_true (dq_summary_counts_project (&f, "P-1"));
    f.include_demo = true;
    dq_summary_add_finished (&sum, &f, &S, NULL);
    assert_int_equal (sum.workflows, 1);
    empty (&sum, &f);
    assert_true (dq_summary_set_project (&f, EXF_DEMO_PROJECT));
    dq_summary_add_finished (&sum, &f, &S, NULL);
    assert_int_equal (sum.workflows, 1);
    assert_false (dq_summary_counts_project (&f, "P-1"));
}

static void
pack_finding (msgpack_packer *pk, const char *rule, const char *severity)
{
    msgpack_pack_map (pk, 3);
    codec_pack_cstr (pk, "source");
    codec_pack_cstr (pk, "dq");
    codec_pack_cstr (pk, "rule");
    codec_pack_cstr (pk, rule);
    codec_pack_cstr (pk, "severity");
    codec_pack_cstr (pk, severity);
}

static void
test_findings_and_output (void **state)
{
    (void) state;
    static dq_summary_t sum;
    dq_summary_filter_t f;
    empty (&sum, &f);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 3);
    pack_finding (&pk, "income_inconsistent", "error");
    pack_finding (&pk, "destination_dk_pnta", "warning");
    pack_finding (&pk, "income_inconsistent", "error");
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    assert_true (codec_unpack (sb.data, sb.size, &u, NULL));
    workflow ("P-1", 1, 2, 8, 1);
    dq_summary_add_finished (&sum, &f, &S, &u.data);
    dq_summary_add_finished (&sum, &f, &S, &u.data);
    assert_int_equal (sum.n_rules, 2);
    assert_string_equal (sum.rules[0].rule, "income_inconsistent");
    assert_int_equal (sum.rules[0].errors, 4);
    assert_int_equal (sum.rules[1].warnings, 2);
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&sb);

    char *text = printed (&sum, &f, false);
    assert_non_null (strstr (text, "finished exits 2, leavers 2"));
    assert_non_null (strstr (text, "destination errors                           2 100.00%"));
    assert_non_null (strstr (text, "  1-3        2"));
    assert_non_null (strstr (text, "income_inconsistent"));
    free (text);
    text = printed (&sum, &f, true);
    assert_non_null (strstr (text, "\"destination\":{\"dk_pnta\":2,\"missing\":0,"
                             "\"errors\":2,\"error_rate\":1.0}"));
    assert_non_null (strstr (text, "\"timeliness\":{\"0\":0,\"1-3\":2,\"4-6\":0,"
                             "\"7-10\":0,\"11+\":0}"));
    assert_non_null (strstr (text, "\"timeliness_not_hud\":{"
                             "\"recorded_before_exit_date\":0,\"unknown\":0}"));
    assert_non_null (strstr (text, "\"outcomes\":{\"leavers\":2,\"categories\":{"
                             "\"permanent\":{\"count\":0,\"percent\":0.0},"));
    assert_non_null (strstr (text, "\"other\":{\"count\":2,\"percent\":100.0}},"
                             "\"other_destination_17\":0}"));
    assert_non_null (strstr (text, "{\"rule\":\"income_inconsistent\","
                             "\"errors\":4,\"warnings\":0}"));
    assert_non_null (strstr (text, "\"project_id\":null"));
    free (text);
}

/* APR Q6e: exactly HUD's rows; an exit recorded before its exit date and
 * one whose record time is unknown are counted apart, in none of them. */
static void
test_timeliness_rows_apr_q6e (void **state)
{
    (void) state;
    static dq_summary_t sum;
    dq_summary_filter_t all;
    empty (&sum, &all);
    static const int late[] = { 0, 1, 3, 4, 6, 7, 10, 11, 40, -2 };
    for (size_t i = 0; i < sizeof late / sizeof *late; i++) {
        workflow ("P-1", 1, 20, 410, late[i]);
        dq_summary_add_finished (&sum, &all, &S, NULL);
    }
    workflow ("P-1", 1, 20, 410, 0);
    S.members[0].exit.has_recorded = false;
    dq_summary_add_finished (&sum, &all, &S, NULL);
    static const int64_t want[DQ_LATE_ROWS] = { 1, 2, 2, 2, 2 };
    for (int r = 0; r < DQ_LATE_ROWS; r++)
        assert_int_equal (sum.late[r], want[r]);
    assert_int_equal (sum.late_before_exit, 1);
    assert_int_equal (sum.late_unknown, 1);
    assert_int_equal (sum.leavers, 11);

    char *text = printed (&sum, &all, false);
    assert_non_null (strstr (text, "  0          1\n  1-3        2\n"
                             "  4-6        2\n  7-10       2\n  11+        2\n"
                             "  not an APR Q6e row:\n"
                             "    recorded before the exit date      1\n"
                             "    record time unknown                1\n"));
    assert_null (strstr (text, "<0"));
    free (text);
}

/* Outcomes: leavers by destination category (3.12's hundreds), as counts
 * and percentages of leavers rounded to 2 decimals, and the count of 17
 * ("Other", which HUD discourages). A leaver with no destination counts
 * as "other"; a member who stays is no leaver. */
static void
test_outcomes_by_destination_category (void **state)
{
    (void) state;
    static dq_summary_t sum;
    dq_summary_filter_t all;
    empty (&sum, &all);
    assert_true (dq_summary_outcome_percent (&sum, DEST_PERMANENT) == 0.0);
    static const int dest[] = { 410, 435, 302, 116, 17, -1 };
    for (size_t i = 0; i < sizeof dest / sizeof *dest; i++) {
        workflow ("P-1", 2, 3, dest[i], 0);
        S.members[1].decision = DQ_STAYING;
        dq_summary_add_finished (&sum, &all, &S, NULL);
    }
    assert_int_equal (sum.leavers, 6);
    assert_int_equal (sum.outcome[DEST_PERMANENT], 2);
    assert_int_equal (sum.outcome[DEST_TEMPORARY], 1);
    assert_int_equal (sum.outcome[DEST_INSTITUTIONAL], 0);
    assert_int_equal (sum.outcome[DEST_HOMELESS], 1);
    assert_int_equal (sum.outcome[DEST_OTHER], 2);
    assert_int_equal (sum.other_destination, 1);
    assert_true (dq_summary_outcome_percent (&sum, DEST_PERMANENT) == 33.33);
    assert_true (dq_summary_outcome_percent (&sum, DEST_TEMPORARY) == 16.67);
    assert_true (dq_summary_outcome_percent (&sum, DEST_INSTITUTIONAL) == 0.0);

    char *text = printed (&sum, &all, false);
    assert_non_null (strstr (text, "  permanent                                    "
                             "2  33.33%\n  temporary"));
    assert_non_null (strstr (text, "  destination 17 (Other)                       1\n"));
    free (text);

    /* the JSON: exactly the keys of the contract */
    text = printed (&sum, &all, true);
    json_error_t jerr;
    json_t *j = json_loads (text, 0, &jerr);
    assert_non_null (j);
    free (text);
    json_t *o = json_object_get (j, "outcomes");
    assert_int_equal (json_object_size (o), 3);
    assert_int_equal (json_integer_value (json_object_get (o, "leavers")), 6);
    assert_int_equal (json_integer_value (json_object_get (o, "other_destination_17")), 1);
    json_t *cats = json_object_get (o, "categories");
    assert_int_equal (json_object_size (cats), 5);
    static const struct { const char *name; int count; double percent; } want[] = {
        { "permanent", 2, 33.33 }, { "temporary", 1, 16.67 },
        { "institutional", 0, 0 }, { "homeless", 1, 16.67 },
        { "other", 2, 33.33 } };
    for (size_t i = 0; i < 5; i++) {
        json_t *c = json_object_get (cats, want[i].name);
        assert_non_null (c);
        assert_int_equal (json_object_size (c), 2);
        assert_int_equal (json_integer_value (json_object_get (c, "count")),
                          want[i].count);
        assert_true (json_number_value (json_object_get (c, "percent"))
                     == want[i].percent);
    }
    static const char *const keys[] = { "project_id", "from", "to",
        "workflows", "leavers", "destination", "income", "timeliness",
        "timeliness_not_hud", "outcomes", "open", "findings" };
    assert_int_equal (json_object_size (j), sizeof keys / sizeof *keys);
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        assert_non_null (json_object_get (j, keys[i]));
    assert_int_equal (json_object_size (json_object_get (j, "timeliness")), 5);
    assert_int_equal (json_object_size (json_object_get (j, "timeliness_not_hud")), 2);
    json_decref (j);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_counts),
        cmocka_unit_test (test_filters),
        cmocka_unit_test (test_findings_and_output),
        cmocka_unit_test (test_timeliness_rows_apr_q6e),
        cmocka_unit_test (test_outcomes_by_destination_category),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
