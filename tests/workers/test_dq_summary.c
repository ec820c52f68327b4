/* Unit tests for workers/dq/dq_summary.c: the APR-Q6-style counts over
 * snapshots (period and project filters, destination error rate, income,
 * timeliness buckets, open exits, stored findings by rule) and its text and
 * JSON forms. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/dq/dq_summary.h"

#define NOW 1795608000000LL         /* 2026-11-25T12:00:00Z */
#define DAY_MS 86400000LL
#define TODAY (NOW / DAY_MS)

static dq_snapshot_t S;

/* A finished workflow of `n` exiting adults, exit `days_ago`, to `dest`,
 * recorded `late` days after the exit date. */
static void
workflow (const char *project, int n, int days_ago, int dest, int late)
{
    memset (&S, 0, sizeof S);
    snprintf (S.project_id, sizeof S.project_id, "%s", project);
    S.state = DQ_STATE_FINISHED;
    S.now_ms = NOW;
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
                                .recorded_ms = (TODAY - days_ago + late) * DAY_MS
                                               + 3600000 };
        dq_step_t *st = &m->steps[STEP_INCOME_BENEFITS];
        st->applies = st->done = true;
        dq_step_set (st, "income_from_any_source", 1);
        dq_step_set (st, "earned", 1);
    }
}

static void
test_counts (void **state)
{
    (void) state;
    static dq_summary_t sum;
    memset (&sum, 0, sizeof sum);
    dq_summary_filter_t all;
    memset (&all, 0, sizeof all);

    workflow ("P-1", 2, 5, 410, 0);             /* 2 clean leavers, 0 days */
    dq_summary_add_finished (&sum, &all, &S, NULL);
    workflow ("P-1", 1, 20, 8, 12);             /* dk: 11+ */
    dq_summary_add_finished (&sum, &all, &S, NULL);
    workflow ("P-2", 1, 3, 99, 2);              /* missing: 1-3 */
    S.members[0].steps[STEP_INCOME_BENEFITS].n = 0;     /* income missing */
    dq_summary_add_finished (&sum, &all, &S, NULL);
    workflow ("P-2", 1, 3, -1, 5);              /* no destination: 4-6 */
    dq_step_set (&S.members[0].steps[STEP_INCOME_BENEFITS], "earned", 0);
    dq_summary_add_finished (&sum, &all, &S, NULL);
    workflow ("P-2", 2, 3, 30, 8);              /* one leaver, one stays */
    S.members[1].decision = DQ_STAYING;
    S.members[0].exit.recorded_ms = 0;          /* record time unknown */
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
    assert_int_equal (sum.open, 2);
    assert_int_equal (sum.stalled, 1);
}

static void
test_filters (void **state)
{
    (void) state;
    static dq_summary_t sum;
    memset (&sum, 0, sizeof sum);
    dq_summary_filter_t f;
    memset (&f, 0, sizeof f);
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
    memset (&sum, 0, sizeof sum);
    dq_summary_filter_t f;
    memset (&f, 0, sizeof f);
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

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream (&text, &len);
    dq_summary_print (&sum, &f, out);
    fclose (out);
    assert_non_null (strstr (text, "finished exits 2, leavers 2"));
    assert_non_null (strstr (text, "destination errors                           2 100.00%"));
    assert_non_null (strstr (text, "  1-3        2"));
    assert_non_null (strstr (text, "income_inconsistent"));
    free (text);
    out = open_memstream (&text, &len);
    dq_summary_print_json (&sum, &f, out);
    fclose (out);
    assert_non_null (strstr (text, "\"destination\":{\"dk_pnta\":2,\"missing\":0,"
                             "\"errors\":2,\"error_rate\":1.0}"));
    assert_non_null (strstr (text, "\"timeliness\":{\"<0\":0,\"0\":0,\"1-3\":2,"));
    assert_non_null (strstr (text, "{\"rule\":\"income_inconsistent\","
                             "\"errors\":4,\"warnings\":0}"));
    assert_non_null (strstr (text, "\"project_id\":null"));
    free (text);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_counts),
        cmocka_unit_test (test_filters),
        cmocka_unit_test (test_findings_and_output),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
