/* Unit tests for daemon/record.c: the stored form of a workflow, the
 * prior values kept apart, and the ledger of events not yet indexed. The store trusts these bytes,
 * so a damaged record must fail to decode, never read past its end. */
#include "workflow_fixture.h"

static void
test_storage_round_trip (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    assert_round_trip (wf);
    assert_round_trip (wf);

    /* a richer open one */
    wf = started3 ();
    ACCEPTED (op_save_at (wf, "c1", STEP_EXIT, MODE_ENTERED,
                          build ("m{s:s, s:i, s:i, s:s}", 4, "exit_date",
                                 "2026-11-20", "destination", 435,
                                 "destination_subsidy_type", 419,
                                 "exit_reason", "voucher"), NOW - 50));
    save_exit (wf, "c1");
    ACCEPTED (op_save (wf, "c1", STEP_UNIVERSAL_DATA, MODE_DEFAULT_LAST,
                       NULL));
    ACCEPTED (op_decide (wf, "c3", true));
    ACCEPTED (op_decide (wf, "c2", false));
    save_exit (wf, "c3");
    ACCEPTED (op_dq (wf, "a", build ("a[m{s:s, s:s, s:s, s:s}, "
                                     "m{s:s, s:s, s:s}]", 2,
                                     4, "rule", "r1", "severity", "error",
                                     "client_id", "c3", "message", "m1",
                                     3, "rule", "r2", "severity", "warning",
                                     "message", "m2")));
    ACCEPTED (op_dq (wf, "b", build ("a[m{s:s, s:s, s:s}]", 1, 3, "rule",
                                     "r3", "severity", "warning", "message",
                                     "m3")));
    assert_true (op_stalled_at (wf, NOW + DAY_MS));
    assert_round_trip (wf);

    /* unpacked values match */
    workflow_t *copy = assert_round_trip (wf);
    assert_string_equal (copy->workflow_id, WFID);
    assert_int_equal (copy->version, wf->version);
    assert_int_equal (copy->state, WF_OPEN);
    assert_int_equal (copy->project_type, 1);
    assert_true (copy->created_at == NOW);
    assert_string_equal (copy->started_by, "cw1");
    assert_true (copy->stalled);
    assert_int_equal (copy->n_members, 3);
    assert_int_equal (copy->n_dq, 2);
    const wf_member_t *c1 = member (copy, "c1");
    assert_true (c1->adult);
    assert_false (member (copy, "c3")->adult);
    assert_int_equal (c1->decision, DECISION_EXITING);
    assert_int_equal (member (copy, "c2")->decision, DECISION_STAYING);
    assert_true (c1->steps[STEP_EXIT].first_completed_at == NOW - 50);
    assert_true (c1->steps[STEP_EXIT].completed_at == NOW);
    assert_int_equal (c1->steps[STEP_UNIVERSAL_DATA].mode, MODE_DEFAULT_LAST);
    assert_int_equal (c1->last[STEP_UNIVERSAL_DATA].len,
                      wf->members[0].last[STEP_UNIVERSAL_DATA].len);
    assert_memory_equal (c1->last[STEP_UNIVERSAL_DATA].ptr,
                         wf->members[0].last[STEP_UNIVERSAL_DATA].ptr,
                         c1->last[STEP_UNIVERSAL_DATA].len);
    assert_int_equal (workflow_next_step (c1), STEP_HEALTH_INSURANCE);

    /* finished with a new head; cancelled with a reason; no project type */
    workflow_t *fin = started3 ();
    complete (fin, "c1");
    ACCEPTED (op_decide (fin, "c2", false));
    ACCEPTED (op_decide (fin, "c3", false));
    ACCEPTED (op_finish (fin, "c2"));
    assert_round_trip (fin);

    workflow_t *can = household3 ("e2");
    can->project_type = -1;
    ACCEPTED (op_start (can));
    ACCEPTED (op_cancel (can, "entered in error"));
    workflow_t *c2 = assert_round_trip (can);
    assert_int_equal (c2->state, WF_CANCELLED);
    assert_int_equal (c2->project_type, -1);
    assert_int_equal (c2->cancel_reason.len, strlen ("entered in error"));
    assert_memory_equal (c2->cancel_reason.ptr, "entered in error", 16);

    /* garbage does not unpack */
    workflow_t *bad = wf_new ();
    assert_false (unpack_stored (bad, "\x01", 1));
    workflow_reset (bad);
    assert_false (unpack_stored (bad, "\x81\xa1k\x01", 4));
    workflow_reset (bad);
    assert_false (unpack_stored (bad, "\x90", 1));
    workflow_reset (bad);
    assert_false (unpack_stored (bad, "", 0));
}

/* The stored form is trusted, but a short or damaged record must fail the
 * decode rather than read past the end (ASan watches). */
static void
test_stored_form_damaged (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    complete (wf, "c1");
    ACCEPTED (op_decide (wf, "c3", true));
    save_exit (wf, "c3");
    ACCEPTED (op_dq (wf, "a", findings (2, "r", "error")));
    snap_t s = snap_stored (wf), p = snap_priors (wf);
    workflow_t *copy = wf_new ();
    /* every truncation fails */
    for (size_t len = 0; len < s.size; len++) {
        if (unpack_stored (copy, s.data, len))
            fail_msg ("a stored record cut to %zu of %zu bytes decoded", len,
                      s.size);
        workflow_reset (copy);
    }
    /* every single-byte corruption either fails or decodes without harm */
    char *mut = malloc (s.size);
    assert_non_null (mut);
    for (size_t i = 0; i < s.size; i++) {
        static const uint8_t flips[] = { 0x00, 0xff, 0xc0, 0x91, 0xdc };
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy (mut, s.data, s.size);
            mut[i] = (char) flips[f];
            if (unpack_stored (copy, mut, s.size)) {
                snap_t again = snap_stored (copy);   /* still packs */
                free (again.data);
            }
            workflow_reset (copy);
        }
    }
    free (mut);
    /* a wrong format number: format 1 carried the ledger in the record */
    size_t fmt_at = (uint8_t) s.data[0] == 0xdc ? 3 : 1;  /* array16 head */
    assert_int_equal (s.data[fmt_at], 2);
    s.data[fmt_at] = 1;                     /* [FORMAT=2, …] → 1 */
    assert_false (unpack_stored (copy, s.data, s.size));
    workflow_reset (copy);
    free (s.data);

    /* priors: the member count must match */
    workflow_t *other = wf_new ();
    set_ids (other, "x1");
    add_member (other, "x1c", "x1", 1, true, "2026-01-01");
    assert_false (record_unpack_priors (other, p.data, p.size));
    workflow_t *w3 = household3 ("e1");
    for (size_t len = 0; len < p.size; len++) {
        for (int i = 0; i < w3->n_members; i++)
            for (int k = 0; k < STEP_COUNT; k++)
                blob_fini (&w3->members[i].last[k]);
        assert_false (record_unpack_priors (w3, p.data, len));
    }
    assert_true (record_unpack_priors (w3, p.data, p.size));
    free (p.data);
}

static void
test_priors (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    assert_true (record_has_priors (wf));
    /* the stored record does not carry them: a copy without priors cannot
     * default, and gets them back from the priors record */
    snap_t s = snap_stored (wf), p = snap_priors (wf);
    workflow_t *copy = wf_new ();
    assert_true (unpack_stored (copy, s.data, s.size));
    assert_false (record_has_priors (copy));
    save_exit (copy, "c1");
    REFUSED (copy, op_save (copy, "c1", STEP_UNIVERSAL_DATA, MODE_DEFAULT_LAST,
                            NULL), EXF_VALIDATION, "mode");
    assert_true (record_unpack_priors (copy, p.data, p.size));
    assert_true (record_has_priors (copy));
    ACCEPTED (op_save (copy, "c1", STEP_UNIVERSAL_DATA, MODE_DEFAULT_LAST,
                       NULL));
    assert_str (decode_bytes (member (copy, "c1")->steps[STEP_UNIVERSAL_DATA]
                                  .data.ptr,
                              member (copy, "c1")->steps[STEP_UNIVERSAL_DATA]
                                  .data.len),
                "veteran", "no");
    free (s.data);
    free (p.data);

    workflow_t *none = wf_new ();
    set_ids (none, "x1");
    add_member (none, "x1c", "x1", 1, true, "2026-01-01");
    ACCEPTED (op_start (none));
    assert_false (record_has_priors (none));
    assert_round_trip (none);
}

/* ---- what does not ride in the record ---- */

/* The record holds what the rules read and nothing that grows with the
 * commands a workflow has seen: after a thousand more DQ reports it is the
 * same size (the store indexes the history apart). */
static void
test_record_does_not_grow (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    save_exit (wf, "c1");
    ACCEPTED (op_dq (wf, "a", findings (2, "r", "error")));
    snap_t first = snap_stored (wf);
    for (int i = 0; i < 1000; i++)
        ACCEPTED (op_dq (wf, i % 2 ? "a" : "b", findings (2, "r", "error")));
    ACCEPTED (op_dq (wf, "b", findings (0, "r", "error")));  /* clears b */
    snap_t later = snap_stored (wf);
    assert_int_equal (later.size, first.size);
    assert_memory_equal (later.data, first.data, first.size);
    free (first.data);
    free (later.data);
}

/* The ledger collects a command's event seqs until the store indexes
 * them. */
static void
test_ledger_collects_events (void **state)
{
    (void) state;
    record_ledger_t l;
    record_ledger_init (&l);
    for (int i = 0; i < 100; i++)   /* past its first growth */
        record_ledger_add_event (&l, 1000 + (uint64_t) i);
    assert_int_equal (l.n_history, 100);
    for (uint32_t i = 0; i < 100; i++)
        assert_int_equal (l.history[i], 1000 + i);
    record_ledger_fini (&l);
    assert_int_equal (l.n_history, 0);
    assert_null (l.history);
    record_ledger_fini (&l);        /* twice is harmless */
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        T (test_storage_round_trip),
        T (test_stored_form_damaged),
        T (test_priors),
        T (test_record_does_not_grow),
        T (test_ledger_collects_events),
    };
    return cmocka_run_group_tests_name ("record", tests, NULL, NULL);
}
