/* Unit tests for daemon/metrics.c: the outcome read from a reply's first
 * fields, histogram buckets (cumulative, a value on a bound counted in it,
 * +Inf the count), label values escaped, the health verdict and what
 * makes it fail; and the store's figures read by the tick (store.c's
 * store_space, store_oldest_open, store_tally) on a real LMDB in a temp
 * dir. */
#define _GNU_SOURCE                 /* memmem */
#include "store_fixture.h"

#include "daemon/metrics.h"

/* 2026-11-25T12:00:00Z in the monotonic clock: any value will do */
#define MONO 5000000LL

static exf_str_t
str (const char *s)
{
    exf_str_t v = { s, (uint32_t) strlen (s) };
    return v;
}

/* A reply as codec.c packs it: ok with `result_bytes` of result, or an
 * error with `code`. The caller frees `out->data`. */
static void
pack_reply (msgpack_sbuffer *out, const char *id, const char *code,
            size_t result_bytes)
{
    msgpack_sbuffer_init (out);
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    if (code) {
        exf_error_t err;
        exf_error_clear (&err);
        exf_fail (&err, code, "members.0.exit.destination", "%s", "refused");
        codec_pack_reply_error (&pk, str (id), &err);
        return;
    }
    codec_pack_reply_ok_head (&pk, str (id));
    char *big = calloc (1, result_bytes + 1);
    memset (big, 'x', result_bytes);
    msgpack_pack_map (&pk, 2);
    codec_pack_cstr (&pk, "text");
    codec_pack_cstr (&pk, big);
    codec_pack_cstr (&pk, "list");
    msgpack_pack_array (&pk, 1);
    msgpack_pack_nil (&pk);
    free (big);
}

static int
outcome_of (const char *id, const char *code, size_t result_bytes)
{
    msgpack_sbuffer b;
    pack_reply (&b, id, code, result_bytes);
    int o = metrics_reply_outcome (b.data, b.size);
    msgpack_sbuffer_destroy (&b);
    return o;
}

/* ---- outcomes ---- */

static void
test_the_outcome_is_read_from_the_reply (void **state)
{
    (void) state;
    int unknown = (int) exf_error_code_count + 1;
    assert_true (unknown < METRICS_OUTCOMES_MAX);
    assert_int_equal (outcome_of ("r1", NULL, 10), METRICS_OUTCOME_OK);
    /* a result of megabytes is not read */
    assert_int_equal (outcome_of ("r1", NULL, 3 << 20), METRICS_OUTCOME_OK);
    /* nil id (an unreadable request) and a long one */
    assert_int_equal (outcome_of ("", NULL, 1), METRICS_OUTCOME_OK);
    assert_int_equal (outcome_of ("0123456789012345678901234567890123456789",
                                  NULL, 1), METRICS_OUTCOME_OK);
    for (size_t i = 0; i < exf_error_code_count; i++) {
        int o = outcome_of ("r2", exf_error_codes[i].code, 0);
        assert_int_equal (o, (int) i + 1);
        assert_string_equal (metrics_outcome_name (o),
                             exf_error_codes[i].code);
    }
    assert_string_equal (metrics_outcome_name (METRICS_OUTCOME_OK), "ok");
    assert_string_equal (metrics_outcome_name (unknown), "unknown");
    /* bytes that are no reply, or a reply cut short */
    assert_int_equal (metrics_reply_outcome ("", 0), unknown);
    assert_int_equal (metrics_reply_outcome ("\x84\xa1v", 3), unknown);
    assert_int_equal (metrics_reply_outcome ("\xc1\xc1\xc1", 3), unknown);
    msgpack_sbuffer b;
    pack_reply (&b, "r3", EXF_VALIDATION, 0);
    const char *code = memmem (b.data, b.size, EXF_VALIDATION,
                               strlen (EXF_VALIDATION));
    size_t known = (size_t) (code - b.data) + strlen (EXF_VALIDATION);
    for (size_t cut = 0; cut < b.size; cut++)
        assert_int_equal (metrics_reply_outcome (b.data, cut),
                          cut < known ? unknown : outcome_of ("r3",
                                                              EXF_VALIDATION,
                                                              0));
    msgpack_sbuffer_destroy (&b);
}

/* ---- rendering ---- */

/* The text of the snapshot `m` last published. */
static char *
render (metrics_t *m, int64_t now_ms, int64_t now_mono)
{
    metrics_snapshot_t *snap = malloc (sizeof *snap);
    metrics_snapshot (m, snap);
    size_t len;
    char *text = metrics_render (snap, now_ms, now_mono, &len);
    assert_non_null (text);
    assert_int_equal (strlen (text), len);
    free (snap);
    return text;
}

static void
assert_line (const char *text, const char *line)
{
    char *want;
    assert_true (asprintf (&want, "\n%s\n", line) > 0);
    if (!strstr (text, want))
        fail_msg ("no line «%s» in:\n%s", line, text);
    free (want);
}

static void
assert_no_text (const char *text, const char *what)
{
    if (strstr (text, what))
        fail_msg ("«%s» should not be in:\n%s", what, text);
}

static void
answer (metrics_t *m, const char *cmd, const char *code, int64_t us)
{
    msgpack_sbuffer b;
    pack_reply (&b, "r", code, 4);
    metrics_command (m, str (cmd), b.data, b.size, us);
    msgpack_sbuffer_destroy (&b);
}

static void
test_histogram_buckets_are_cumulative (void **state)
{
    (void) state;
    metrics_t *m = metrics_new (NOW, MONO);
    /* 50 µs and 100 µs are in le 0.0001 (a bound holds its equal), 101 µs
     * in 0.00025, 20 s only in +Inf */
    answer (m, "ping", NULL, 50);
    answer (m, "ping", NULL, 100);
    answer (m, "ping", NULL, 101);
    answer (m, "ping", NULL, 20000000);
    metrics_batch_done (m, 4, 0, MONO);
    char *text = render (m, NOW, MONO);
    assert_line (text, "exitflow_command_duration_seconds_bucket"
                       "{command=\"ping\",le=\"0.0001\"} 2");
    assert_line (text, "exitflow_command_duration_seconds_bucket"
                       "{command=\"ping\",le=\"0.00025\"} 3");
    assert_line (text, "exitflow_command_duration_seconds_bucket"
                       "{command=\"ping\",le=\"10\"} 3");
    assert_line (text, "exitflow_command_duration_seconds_bucket"
                       "{command=\"ping\",le=\"+Inf\"} 4");
    assert_line (text, "exitflow_command_duration_seconds_count"
                       "{command=\"ping\"} 4");
    assert_line (text, "exitflow_command_duration_seconds_sum"
                       "{command=\"ping\"} 20.000251");
    /* commands not seen have no histogram, but every one has its ok */
    assert_no_text (text, "{command=\"stats\",le=");
    assert_line (text, "exitflow_commands_total"
                       "{command=\"stats\",outcome=\"ok\"} 0");
    assert_line (text, "exitflow_commands_total"
                       "{command=\"ping\",outcome=\"ok\"} 4");
    /* the batch: 4 requests, in le 4 and above */
    assert_line (text, "exitflow_batch_size_bucket{le=\"2\"} 0");
    assert_line (text, "exitflow_batch_size_bucket{le=\"4\"} 1");
    assert_line (text, "exitflow_batch_size_bucket{le=\"+Inf\"} 1");
    assert_line (text, "exitflow_batch_size_sum 4");
    assert_line (text, "exitflow_batch_size_count 1");
    /* the store was never read: no store figures yet */
    assert_no_text (text, "exitflow_workflows");
    assert_line (text, "exitflow_process_start_time_seconds 1795608000");
    free (text);
    metrics_destroy (&m);
    assert_null (m);
}

/* Outcomes by code; a command the table does not know is "unknown", with
 * its code; nothing is published before metrics_batch_done. */
static void
test_commands_by_name_and_outcome (void **state)
{
    (void) state;
    metrics_t *m = metrics_new (NOW, MONO);
    answer (m, "step.save", EXF_VALIDATION, 300);
    answer (m, "step.save", EXF_VALIDATION, 300);
    answer (m, "step.save", EXF_FORBIDDEN, 300);
    answer (m, "no.such.command", EXF_UNKNOWN_COMMAND, 30);
    answer (m, "", EXF_BAD_REQUEST, 30);
    char *text = render (m, NOW, MONO);
    assert_no_text (text, "VALIDATION");
    free (text);
    metrics_commit (m, 700);
    metrics_batch_done (m, 5, 42, MONO);
    text = render (m, NOW, MONO);
    assert_line (text, "exitflow_commands_total"
                       "{command=\"step.save\",outcome=\"VALIDATION\"} 2");
    assert_line (text, "exitflow_commands_total"
                       "{command=\"step.save\",outcome=\"FORBIDDEN\"} 1");
    assert_line (text, "exitflow_commands_total"
                       "{command=\"step.save\",outcome=\"ok\"} 0");
    assert_line (text, "exitflow_commands_total"
                       "{command=\"unknown\",outcome=\"UNKNOWN_COMMAND\"} 1");
    assert_line (text, "exitflow_commands_total"
                       "{command=\"unknown\",outcome=\"BAD_REQUEST\"} 1");
    assert_no_text (text, "{command=\"unknown\",outcome=\"ok\"}");
    assert_line (text, "exitflow_commit_duration_seconds_bucket"
                       "{le=\"0.0005\"} 0");
    assert_line (text, "exitflow_commit_duration_seconds_bucket"
                       "{le=\"0.001\"} 1");
    assert_line (text, "exitflow_commit_duration_seconds_sum 0.000700");
    assert_line (text, "exitflow_last_event_seq 42");
    free (text);
    metrics_destroy (&m);
}

static void
test_label_values_are_escaped (void **state)
{
    (void) state;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream (&text, &len);
    metrics_write_label_value (out, "a\"b\\c\nd");
    fputc ('|', out);
    metrics_write_label_value (out, "caf\xc3\xa9 \xff!");   /* é, then a bad byte */
    fclose (out);
    assert_string_equal (text, "a\\\"b\\\\c\\nd|caf\xc3\xa9 \xef\xbf\xbd!");
    free (text);
}

/* ---- health ---- */

static void
test_health_fails_when_writes_fail_or_the_loop_stops (void **state)
{
    (void) state;
    metrics_t *m = metrics_new (NOW, MONO);
    metrics_snapshot_t *snap = malloc (sizeof *snap);
    const char *reason;
    metrics_snapshot (m, snap);
    assert_true (metrics_healthy (snap, MONO, &reason));
    assert_null (reason);
    /* the loop finished nothing for longer than METRICS_STUCK_AFTER_MS */
    assert_true (metrics_healthy (snap, MONO + METRICS_STUCK_AFTER_MS,
                                  &reason));
    assert_false (metrics_healthy (snap, MONO + METRICS_STUCK_AFTER_MS + 1,
                                   &reason));
    assert_non_null (strstr (reason, "no batch"));
    char *text = render (m, NOW, MONO + METRICS_STUCK_AFTER_MS + 1);
    assert_line (text, "exitflow_health_ok 0");
    free (text);
    /* a full store: failing until a write batch commits; a read-only batch,
     * or a batch that did not write, changes nothing */
    assert_int_equal (metrics_writes (m, true, STORE_FULL), STORE_FULL);
    metrics_writes (m, false, STORE_OK);
    metrics_writes (m, true, STORE_CORRUPT);
    metrics_batch_done (m, 1, 0, MONO + 1000);
    metrics_snapshot (m, snap);
    assert_false (metrics_healthy (snap, MONO + 1000, &reason));
    assert_non_null (strstr (reason, "full"));
    text = render (m, NOW, MONO + 1000);
    assert_line (text, "exitflow_health_ok 0");
    free (text);
    metrics_writes (m, true, STORE_READ_ONLY);
    metrics_batch_done (m, 1, 0, MONO + 2000);
    metrics_snapshot (m, snap);
    assert_false (metrics_healthy (snap, MONO + 2000, &reason));
    assert_non_null (strstr (reason, "read-only"));
    metrics_writes (m, true, STORE_OK);
    metrics_batch_done (m, 1, 0, MONO + 3000);
    metrics_snapshot (m, snap);
    assert_true (metrics_healthy (snap, MONO + 3000, &reason));
    text = render (m, NOW, MONO + 3000);
    assert_line (text, "exitflow_health_ok 1");
    free (text);
    free (snap);
    metrics_destroy (&m);
}

/* ---- the store's figures ---- */

/* Stores `n` workflows started a minute apart from NOW, every other one
 * stalled, each with a stored reply, and one unscoped reply. */
static void
store_some (int n)
{
    store_txn_t *t = begin (true);
    for (int i = 0; i < n; i++) {
        char id[WF_ID_LEN + 1], household[16];
        snprintf (id, sizeof id, "01JDKZ3V8QMETRICSWF0000%03u",
                  (unsigned) i % 1000u);
        snprintf (household, sizeof household, "h%d", i);
        store_wf_t *swf = started_workflow (id, household, NOW + i * 60000);
        swf->wf->stalled = i % 2 == 0;
        assert_int_equal (store_reply_put (t, swf, str (household), NOW, 1,
                                           "reply", 5), STORE_OK);
        assert_int_equal (store_workflow_put (t, swf), STORE_OK);
        store_wf_destroy (&swf);
    }
    assert_int_equal (store_reply_put (t, NULL, str ("u1"), NOW, 2, "reply",
                                       5), STORE_OK);
    commit (&t);
}

/* Without --http the daemon keeps no metrics: every recorder takes NULL
 * and does nothing (metrics_writes still hands its status back). */
static void
test_recorders_take_none (void **state)
{
    (void) state;
    answer (NULL, "ping", NULL, 10);
    metrics_commit (NULL, 100);
    assert_int_equal (metrics_writes (NULL, true, STORE_FULL), STORE_FULL);
    assert_int_equal (metrics_writes (NULL, false, STORE_OK), STORE_OK);
    metrics_batch_done (NULL, 3, 7, MONO);
    metrics_tick (NULL, NULL, MONO);
}

static void
test_tallies_walk_a_slice_at_a_time (void **state)
{
    (void) state;
    store_some (7);                 /* 4 stalled, 8 replies */
    struct { store_tally_kind_t kind; uint64_t want; } cases[] = {
        { STORE_TALLY_STALLED, 4 }, { STORE_TALLY_REPLIES, 8 } };
    for (int c = 0; c < 2; c++)
        for (int budget = 1; budget <= 10; budget++) {
            store_tally_t walk = { 0 };
            uint64_t total = 999;
            bool done = false;
            int calls = 0;
            while (!done) {
                store_txn_t *t = begin (false);
                assert_int_equal (store_tally (t, cases[c].kind, &walk,
                                               budget, &total, &done),
                                  STORE_OK);
                store_abort (&t);
                assert_true (++calls <= 20);
            }
            assert_int_equal (total, cases[c].want);
            /* the next walk starts over and finds the same */
            store_txn_t *t = begin (false);
            store_tally (t, cases[c].kind, &walk, 100, &total, &done);
            store_abort (&t);
            assert_true (done);
            assert_int_equal (total, cases[c].want);
        }
}

static void
test_the_tick_reads_the_store (void **state)
{
    (void) state;
    metrics_t *m = metrics_new (NOW, MONO);
    metrics_tick (m, store, MONO + 10);
    metrics_snapshot_t *snap = malloc (sizeof *snap);
    metrics_snapshot (m, snap);
    assert_true (snap->store.read);
    assert_int_equal (snap->store.workflows[WF_OPEN], 0);
    assert_int_equal (snap->store.oldest_open_at, 0);
    assert_int_equal (snap->store.map_size, LARGE_MAP);
    uint64_t empty = snap->store.map_used;
    assert_true (empty > 0 && empty < LARGE_MAP);

    store_some (3);
    store_txn_t *t = begin (true);
    store_consumer_t c = { 1, NOW };
    assert_int_equal (store_consumer_put (t, "dq \"main\"", &c), STORE_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal (store_event_append (t, store_next_seq (t), "e", 1),
                          STORE_OK);
    commit (&t);
    metrics_tick (m, store, MONO + 1010);
    metrics_snapshot (m, snap);
    assert_int_equal (snap->loop.progress_ms, MONO + 1010);
    assert_int_equal (snap->store.workflows[WF_OPEN], 3);
    assert_int_equal (snap->store.stalled, 2);
    assert_int_equal (snap->store.replies, 4);
    assert_int_equal (snap->store.oldest_open_at, NOW);
    assert_true (snap->store.map_used > empty);
    assert_int_equal (snap->store.n_consumers, 1);
    t = begin (false);
    uint64_t last = store_last_seq (t);
    store_abort (&t);
    assert_int_equal (last, 3);
    assert_int_equal (snap->store.consumers[0].lag, last - 1);
    char *text = render (m, NOW + 90500, MONO + 1010);
    assert_line (text, "exitflow_workflows{state=\"open\"} 3");
    assert_line (text, "exitflow_stalled_workflows 2");
    assert_line (text, "exitflow_reply_log_entries 4");
    assert_line (text, "exitflow_oldest_open_workflow_idle_seconds 90.500");
    char want[128];
    snprintf (want, sizeof want,
              "exitflow_consumer_lag_events{consumer=\"dq \\\"main\\\"\"} %llu",
              (unsigned long long) (last - 1));
    assert_line (text, want);
    snprintf (want, sizeof want, "exitflow_lmdb_map_size_bytes %llu",
              (unsigned long long) LARGE_MAP);
    assert_line (text, want);
    free (text);
    free (snap);
    metrics_destroy (&m);
}

/* store_fixture's teardown without release_held: these tests hold no
 * msgpack objects */
static int
teardown (void **state)
{
    (void) state;
    remove_temp_store ();
    return 0;
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_the_outcome_is_read_from_the_reply),
        cmocka_unit_test (test_histogram_buckets_are_cumulative),
        cmocka_unit_test (test_commands_by_name_and_outcome),
        cmocka_unit_test (test_label_values_are_escaped),
        cmocka_unit_test (test_recorders_take_none),
        cmocka_unit_test (test_health_fails_when_writes_fail_or_the_loop_stops),
        cmocka_unit_test_setup_teardown (test_tallies_walk_a_slice_at_a_time,
                                         store_setup, teardown),
        cmocka_unit_test_setup_teardown (test_the_tick_reads_the_store,
                                         store_setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
