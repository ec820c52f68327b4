/* Unit tests for daemon/record.c: the stored form of a workflow and its
 * ledger, and the prior values kept apart. The store trusts these bytes,
 * so a damaged record must fail to decode, never read past its end. */
#include "workflow_fixture.h"
#include "format2_record.h"

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
    assert_int_equal (workflow_next_step (c1, TODAY_DAYS), STEP_HEALTH_INSURANCE);

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
    /* a wrong format number: format 1 held a ledger of any length; format
     * 2 had fewer items, so a format-3 record marked 2 does not decode */
    size_t fmt_at = (uint8_t) s.data[0] == 0xdc ? 3 : 1;  /* array16 head */
    assert_int_equal (s.data[fmt_at], 3);
    static const char wrong[] = { 1, 2, 4, 0 };
    for (size_t i = 0; i < sizeof wrong; i++) {
        s.data[fmt_at] = wrong[i];
        assert_false (unpack_stored (copy, s.data, s.size));
        workflow_reset (copy);
    }
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
                            NULL), EXF_VALIDATION,
             "members[client_id=c1].last.universal_data");
    assert_true (record_unpack_priors (copy, p.data, p.size));
    assert_true (record_has_priors (copy));
    ACCEPTED (op_save (copy, "c1", STEP_UNIVERSAL_DATA, MODE_DEFAULT_LAST,
                       NULL));
    assert_str (decode_bytes (member (copy, "c1")->steps[STEP_UNIVERSAL_DATA]
                                  .data.ptr,
                              member (copy, "c1")->steps[STEP_UNIVERSAL_DATA]
                                  .data.len),
                "local_note", "prior");
    free (s.data);
    free (p.data);

    workflow_t *none = wf_new ();
    set_ids (none, "x1");
    add_member (none, "x1c", "x1", 1, true, "2026-01-01");
    ACCEPTED (op_start (none));
    assert_false (record_has_priors (none));
    assert_round_trip (none);
}

/* Format 3 keeps what start gave about age and housing: the date of birth
 * (3.03), whether `adult` was given, and the move-in date (3.20). */
static void
test_age_and_move_in_round_trip (void **state)
{
    (void) state;
    workflow_t *wf = wf_new ();
    set_ids (wf, "e1");
    wf->project_type = 3;                       /* PH - PSH */
    snprintf (wf->move_in_date, sizeof wf->move_in_date, "2026-02-02");
    add_member_born (wf, "c1", "e1", 1, "1970-01-31", "2026-01-10");
    add_member_born (wf, "c2", "e2", 2, "", "2026-01-10");
    add_member (wf, "c3", "e3", 2, false, "2026-01-10");
    add_member (wf, "c4", "e4", 3, true, "2026-01-10");
    ACCEPTED (op_start (wf));
    workflow_t *copy = assert_round_trip (wf);
    assert_string_equal (copy->move_in_date, "2026-02-02");
    assert_string_equal (member (copy, "c1")->birth_date, "1970-01-31");
    assert_false (member (copy, "c1")->has_adult);
    assert_string_equal (member (copy, "c2")->birth_date, "");
    assert_false (member (copy, "c2")->has_adult);
    assert_true (member (copy, "c3")->has_adult);
    assert_false (member (copy, "c3")->adult);
    assert_true (member (copy, "c4")->has_adult);
    assert_true (member (copy, "c4")->adult);
    for (int i = 0; i < 4; i++)
        assert_int_equal (workflow_age_basis (&copy->members[i]),
                          workflow_age_basis (&wf->members[i]));
}

/* Stores written before format 3 keep working. A format-2 record (the
 * layout record.c wrote until issue 9: 18 items, members of 7 whose
 * `adult` is always a bool, given or defaulted to true) decodes; its
 * adult flags become explicit overrides; it is stored again as format 3
 * and the workflow goes on. */
static void
test_format2_still_decodes (void **state)
{
    (void) state;
    held_t *form = pack_held ("m{s:s, s:i}", 2, "exit_date", "2026-11-20",
                              "destination", 410);
    held_t *old = pack_held (
        "a[i, s, I, i, s, s, s, i, I, I, s, n, n, b,"
        "  a[ a[s, s, i, s, b, i, a[ a[i, i, I, I, s, x] ]],"
        "     a[s, s, i, s, b, i, a[]] ],"
        "  a[], a[I], a[ a[U, U, I] ]]", 18,
        2, WFID, 2LL, WF_OPEN, "e1", "h1", "p1", 1, NOW, NOW + 7, "cw1", 0,
        2,
        7, "c1", "e1", 1, "2026-01-10", 1, DECISION_EXITING,
        1, 6, STEP_EXIT, MODE_ENTERED, NOW + 7, NOW + 7, "cw1",
        form->sb.data, form->sb.size,
        7, "c3", "e3", 2, "2026-02-01", 0, DECISION_UNDECIDED, 0,
        0, 1, 2LL, 1, 3, 77ULL, 9ULL, NOW + 7);
    workflow_t *wf = wf_new ();
    record_ledger_t l;
    record_ledger_init (&l);
    assert_true (record_unpack (wf, &l, old->sb.data, old->sb.size));
    assert_int_equal (l.n_history, 1);
    assert_int_equal (l.n_replies, 1);
    assert_int_equal (l.replies[0].reply_seq, 9);
    record_ledger_fini (&l);
    assert_string_equal (wf->workflow_id, WFID);
    assert_int_equal (wf->version, 2);
    assert_string_equal (wf->move_in_date, "");
    assert_int_equal (wf->n_members, 2);
    const wf_member_t *head = member (wf, "c1"), *child = member (wf, "c3");
    assert_true (head->has_adult && head->adult);
    assert_true (child->has_adult && !child->adult);
    assert_string_equal (head->birth_date, "");
    assert_int_equal (workflow_age_basis (child), AGE_ADULT_FLAG);
    assert_true (head->steps[STEP_EXIT].done);
    assert_int_equal (workflow_next_step (head, TODAY_DAYS),
                      STEP_UNIVERSAL_DATA);
    const msgpack_object *kids = get (view_of (wf), "members");
    assert_str (&kids->via.array.ptr[1], "age_basis", "adult_flag");
    assert_bool_key (&kids->via.array.ptr[1], "adult", false);

    /* stored again, it is format 3 and holds the same value */
    workflow_t *copy = assert_round_trip (wf);
    snap_t s = snap_stored (copy);
    assert_int_equal (s.data[(uint8_t) s.data[0] == 0xdc ? 3 : 1], 3);
    free (s.data);
    /* and the workflow goes on: the child, decided, answers no income */
    ACCEPTED (op_decide (copy, "c3", true));
    complete (copy, "c3");
    assert_false (member (copy, "c3")->steps[STEP_INCOME_BENEFITS].done);

    /* the bytes the old code wrote */
    workflow_t *old_wf = wf_new ();
    assert_true (unpack_stored (old_wf, FORMAT2_RECORD,
                                sizeof FORMAT2_RECORD - 1));
    assert_int_equal (old_wf->n_members, 3);
    assert_int_equal (old_wf->version, 3);
    assert_true (member (old_wf, "c2")->has_adult);
    assert_true (member (old_wf, "c2")->adult);
    assert_false (member (old_wf, "c3")->adult);
    assert_int_equal (member (old_wf, "c3")->decision, DECISION_EXITING);
    assert_int_equal (workflow_next_step (member (old_wf, "c3"), TODAY_DAYS),
                      STEP_EXIT);
    assert_int_equal (workflow_next_step (member (old_wf, "c1"), TODAY_DAYS),
                      STEP_UNIVERSAL_DATA);
    assert_round_trip (old_wf);

    /* format 2 never held a nil adult: such a record is damaged */
    held_t *bad = pack_held (
        "a[i, s, I, i, s, s, s, n, I, I, n, n, n, b,"
        "  a[ a[s, s, i, s, n, i, a[]] ], a[], a[], a[]]", 18,
        2, WFID, 1LL, WF_OPEN, "e1", "h1", "p1", NOW, NOW, 0,
        1, 7, "c1", "e1", 1, "2026-01-10", DECISION_EXITING, 0, 0, 0, 0);
    workflow_t *no = wf_new ();
    assert_false (unpack_stored (no, bad->sb.data, bad->sb.size));
}

/* ---- the ledger: the store's bookkeeping that rides in the record ---- */

/* `wf` and `l` in their stored form, in `sb` (the caller destroys it). */
static void
pack_with_ledger (msgpack_sbuffer *sb, const workflow_t *wf,
                  const record_ledger_t *l)
{
    msgpack_sbuffer_init (sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
    record_pack (&pk, wf, l);
}

static void
fill_ledger (record_ledger_t *l, int n_events, int n_replies)
{
    for (int i = 0; i < n_events; i++)
        record_ledger_add_event (l, 1000 + (uint64_t) i);
    for (int i = 0; i < n_replies; i++) {
        record_reply_ref_t ref = { 0xfeedface00000000ULL + (uint64_t) i,
                                   50 + (uint64_t) i, NOW + i };
        record_ledger_add_reply (l, ref, INT64_MIN);
    }
}

/* The record carries the ledger beside the value: the same bytes come
 * back, and every seq and reference with them. */
static void
test_ledger_round_trip (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    save_exit (wf, "c1");
    record_ledger_t l, back;
    record_ledger_init (&l);
    record_ledger_init (&back);
    fill_ledger (&l, RECORD_RECENT, 20);    /* past the first growth */

    msgpack_sbuffer sb;
    pack_with_ledger (&sb, wf, &l);
    workflow_t *copy = wf_new ();
    assert_true (record_unpack (copy, &back, sb.data, sb.size));
    assert_int_equal (back.n_history, RECORD_RECENT);
    assert_int_equal (back.n_replies, 20);
    for (uint32_t i = 0; i < RECORD_RECENT; i++)
        assert_int_equal (back.history[i], 1000 + i);
    for (uint32_t i = 0; i < 20; i++) {
        assert_true (back.replies[i].id_hash == 0xfeedface00000000ULL + i);
        assert_int_equal (back.replies[i].reply_seq, 50 + i);
        assert_true (back.replies[i].at_ms == NOW + i);
    }
    msgpack_sbuffer again;
    pack_with_ledger (&again, copy, &back);
    assert_int_equal (again.size, sb.size);
    assert_memory_equal (again.data, sb.data, sb.size);

    /* the value is the same with or without a ledger beside it */
    snap_t bare = snap_stored (wf);
    workflow_t *plain = wf_new ();
    assert_true (unpack_stored (plain, sb.data, sb.size));
    snap_t from_full = snap_stored (plain);
    assert_true (snap_same (bare, from_full));
    free (bare.data);
    free (from_full.data);

    /* a record cut anywhere in its ledger does not decode */
    for (size_t len = 0; len < sb.size; len++) {
        record_ledger_fini (&back);
        workflow_reset (copy);
        if (record_unpack (copy, &back, sb.data, len))
            fail_msg ("a record cut to %zu of %zu bytes decoded", len,
                      sb.size);
    }
    msgpack_sbuffer_destroy (&sb);
    msgpack_sbuffer_destroy (&again);
    record_ledger_fini (&l);
    record_ledger_fini (&back);
    assert_int_equal (back.n_history, 0);
    assert_null (back.history);
}

/* A reply reference past the retention is dropped when the next one is
 * added: the record does not grow with every command ever run. */
static void
test_ledger_drops_expired_replies (void **state)
{
    (void) state;
    record_ledger_t l;
    record_ledger_init (&l);
    for (int i = 0; i < 5; i++) {
        record_reply_ref_t ref = { (uint64_t) i, (uint64_t) i, 100 * i };
        record_ledger_add_reply (&l, ref, INT64_MIN);
    }
    assert_int_equal (l.n_replies, 5);
    /* keep those written at 250 ms or later: 300 and 400, then the new */
    record_reply_ref_t ref = { 9, 9, 500 };
    record_ledger_add_reply (&l, ref, 250);
    assert_int_equal (l.n_replies, 3);
    assert_true (l.replies[0].at_ms == 300);
    assert_true (l.replies[1].at_ms == 400);
    assert_true (l.replies[2].at_ms == 500);
    /* events are history: never dropped */
    for (int i = 0; i < 100; i++)
        record_ledger_add_event (&l, (uint64_t) i);
    assert_int_equal (l.n_history, 100);
    record_ledger_fini (&l);
    record_ledger_fini (&l);        /* twice is harmless */
}

/* The store moves the oldest entries out once they are indexed; what
 * stays keeps its order. */
static void
test_ledger_drops_oldest (void **state)
{
    (void) state;
    record_ledger_t l;
    record_ledger_init (&l);
    fill_ledger (&l, 40, 20);
    record_ledger_drop_oldest (&l, 8, 0);
    assert_int_equal (l.n_history, RECORD_RECENT);
    assert_int_equal (l.history[0], 1008);
    assert_int_equal (l.history[RECORD_RECENT - 1], 1039);
    assert_int_equal (l.n_replies, 20);
    record_ledger_drop_oldest (&l, 0, 5);
    assert_int_equal (l.n_replies, 15);
    assert_int_equal (l.replies[0].reply_seq, 55);
    record_ledger_drop_oldest (&l, 100, 100);   /* more than there are */
    assert_int_equal (l.n_history, 0);
    assert_int_equal (l.n_replies, 0);
    record_ledger_fini (&l);
}

/* A record holds RECORD_RECENT of each at most: one that claims more is
 * damaged, and does not decode. */
static void
test_ledger_is_bounded (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    record_ledger_t l, back;
    record_ledger_init (&l);
    record_ledger_init (&back);
    for (int extra = 0; extra < 2; extra++) {
        for (int kind = 0; kind < 2; kind++) {
            record_ledger_fini (&l);
            fill_ledger (&l, kind ? RECORD_RECENT : RECORD_RECENT + extra,
                         kind ? RECORD_RECENT + extra : RECORD_RECENT);
            msgpack_sbuffer sb;
            pack_with_ledger (&sb, wf, &l);
            workflow_t *copy = wf_new ();
            assert_int_equal (record_unpack (copy, &back, sb.data, sb.size),
                              extra == 0);
            record_ledger_fini (&back);
            msgpack_sbuffer_destroy (&sb);
        }
    }
    record_ledger_fini (&l);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        T (test_storage_round_trip),
        T (test_stored_form_damaged),
        T (test_priors),
        T (test_age_and_move_in_round_trip),
        T (test_format2_still_decodes),
        T (test_ledger_round_trip),
        T (test_ledger_drops_expired_replies),
        T (test_ledger_drops_oldest),
        T (test_ledger_is_bounded),
    };
    return cmocka_run_group_tests_name ("record", tests, NULL, NULL);
}
