/* Unit tests for daemon/view.c: the workflow view of PROTOCOL.md §4.6
 * (workflow.get) and the list item of §3 (workflow.list). */
#define _GNU_SOURCE                     /* memmem */
#include "workflow_fixture.h"

static void
test_view (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    ACCEPTED (op_save_at (wf, "c1", STEP_EXIT, MODE_ENTERED,
                          exit_form ("2026-11-20", 410), NOW + 123));
    ACCEPTED (op_decide (wf, "c3", true));
    ACCEPTED (op_dq (wf, "dqbot",
                     build ("a[m{s:s, s:s, s:s, s:s, s:s}, m{s:s, s:s, s:s}]",
                            2, 5, "rule", "r1", "severity", "error",
                            "client_id", "c3", "step", "exit",
                            "message", "no exit yet",
                            3, "rule", "r2", "severity", "warning",
                            "message", "late")));
    const msgpack_object *v = view_of (wf);
    assert_int_equal (v->type, MSGPACK_OBJECT_MAP);
    static const char *const documented[] = {
        "workflow_id", "version", "state", "enrollment_id", "household_id",
        "project_id", "project_type", "move_in_date", "created_at",
        "updated_at", "started_by", "last_actor", "new_head_of_household",
        "cancel_reason", "stalled", "progress", "members", "dq" };
    assert_keys_exactly (v, documented,
                         sizeof documented / sizeof *documented);

    assert_str (v, "workflow_id", WFID);
    assert_int_key (v, "version", 3);
    assert_str (v, "state", "open");
    assert_str (v, "enrollment_id", "e1");
    assert_str (v, "household_id", "h1");
    assert_str (v, "project_id", "p1");
    assert_int_key (v, "project_type", 1);
    assert_nil (v, "move_in_date");
    assert_str (v, "created_at", "2026-11-25T12:00:00.000Z");
    assert_str (v, "updated_at", "2026-11-25T12:00:00.000Z");
    assert_str (v, "started_by", "cw1");
    assert_str (v, "last_actor", "cw1");
    assert_bool_key (v, "stalled", false);
    assert_nil (v, "new_head_of_household");
    assert_nil (v, "cancel_reason");
    const msgpack_object *p = get (v, "progress");
    static const char *const pkeys[] = { "done", "total" };
    assert_keys_exactly (p, pkeys, 2);
    assert_int_key (p, "done", 2);
    assert_int_key (p, "total", 11);

    const msgpack_object *ms = get (v, "members");
    assert_int_equal (ms->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (ms->via.array.size, 3);
    static const char *const mkeys[] = { "client_id", "enrollment_id",
                                         "relationship", "entry_date",
                                         "adult", "age_basis", "decision",
                                         "next_step", "steps" };
    static const char *const skeys[] = { "name", "status", "mode", "data",
                                         "completed_at", "actor" };
    for (uint32_t i = 0; i < 3; i++)
        assert_keys_exactly (&ms->via.array.ptr[i], mkeys, 9);
    const msgpack_object *h = &ms->via.array.ptr[0];
    assert_str (h, "client_id", "c1");
    assert_str (h, "enrollment_id", "e1");
    assert_int_key (h, "relationship", 1);
    assert_str (h, "entry_date", "2026-01-10");
    assert_bool_key (h, "adult", true);
    assert_str (h, "age_basis", "adult_flag");
    assert_str (h, "decision", "exiting");
    assert_str (h, "next_step", "universal_data");
    const msgpack_object *steps = get (h, "steps");
    assert_int_equal (steps->via.array.size, 5);
    static const char *const names[] = { "exit", "universal_data",
                                         "health_insurance", "disabilities",
                                         "income_benefits" };
    for (uint32_t s = 0; s < 5; s++) {
        const msgpack_object *st = &steps->via.array.ptr[s];
        assert_keys_exactly (st, skeys, 6);
        assert_str (st, "name", names[s]);
    }
    const msgpack_object *ex = &steps->via.array.ptr[0];
    assert_str (ex, "status", "done");
    assert_str (ex, "mode", "entered");
    assert_str (ex, "completed_at", "2026-11-25T12:00:00.123Z");
    assert_str (ex, "actor", "cw1");
    const msgpack_object *data = get (ex, "data");
    assert_int_equal (data->type, MSGPACK_OBJECT_MAP);   /* not bin */
    assert_str (data, "exit_date", "2026-11-20");
    const msgpack_object *ud = &steps->via.array.ptr[1];
    assert_str (ud, "status", "pending");
    assert_nil (ud, "mode");
    assert_nil (ud, "data");
    assert_nil (ud, "completed_at");
    assert_nil (ud, "actor");

    const msgpack_object *sp = &ms->via.array.ptr[1];
    assert_str (sp, "decision", "undecided");
    assert_nil (sp, "next_step");
    assert_int_equal (get (sp, "steps")->via.array.size, 5);
    const msgpack_object *ch = &ms->via.array.ptr[2];
    assert_bool_key (ch, "adult", false);
    assert_str (ch, "age_basis", "adult_flag");
    assert_str (ch, "decision", "exiting");
    assert_str (ch, "next_step", "exit");
    const msgpack_object *csteps = get (ch, "steps");
    assert_int_equal (csteps->via.array.size, 4);     /* no income step */
    for (uint32_t s = 0; s < 4; s++)
        assert_str (&csteps->via.array.ptr[s], "name", names[s]);

    const msgpack_object *dq = get (v, "dq");
    assert_int_equal (dq->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (dq->via.array.size, 2);
    static const char *const dkeys[] = { "source", "rule", "severity",
                                         "client_id", "step", "message" };
    for (uint32_t i = 0; i < 2; i++) {
        assert_keys_exactly (&dq->via.array.ptr[i], dkeys, 6);
        assert_str (&dq->via.array.ptr[i], "source", "dqbot");
    }
    assert_str (&dq->via.array.ptr[0], "client_id", "c3");
    assert_str (&dq->via.array.ptr[0], "step", "exit");
    assert_nil (&dq->via.array.ptr[1], "step");
    assert_str (&dq->via.array.ptr[0], "message", "no exit yet");
    assert_nil (&dq->via.array.ptr[1], "client_id");
    assert_str (&dq->via.array.ptr[1], "severity", "warning");

    /* closed states in the view */
    ACCEPTED (op_cancel (wf, "moved away"));
    v = view_of (wf);
    assert_str (v, "state", "cancelled");
    assert_str (v, "cancel_reason", "moved away");
    wf->project_type = -1;
    assert_nil (view_of (wf), "project_type");
}

/* The view shows the effective `adult` and what it rests on (3.03), never
 * the date of birth; and a permanent housing project's move-in date
 * (3.20). */
static void
test_view_age_and_move_in (void **state)
{
    (void) state;
    workflow_t *wf = wf_new ();
    set_ids (wf, "e1");
    wf->project_type = 13;                      /* PH - Rapid Re-Housing */
    snprintf (wf->move_in_date, sizeof wf->move_in_date, "2026-03-02");
    add_member_born (wf, "c1", "e1", 1, "1980-04-05", "2026-01-10");
    add_member_born (wf, "c2", "e2", 2, "2010-06-07", "2026-01-10");
    add_member_born (wf, "c3", "e3", 3, "", "2026-01-10");
    add_member (wf, "c4", "e4", 2, false, "2026-01-10");
    ACCEPTED (op_start (wf));
    const msgpack_object *v = view_of (wf);
    assert_str (v, "move_in_date", "2026-03-02");
    const msgpack_object *ms = get (v, "members");
    static const char *const basis[] = { "birth_date", "birth_date",
                                         "unknown", "adult_flag" };
    static const bool adult[] = { true, false, true, false };
    for (uint32_t i = 0; i < 4; i++) {
        const msgpack_object *m = &ms->via.array.ptr[i];
        assert_str (m, "age_basis", basis[i]);
        assert_bool_key (m, "adult", adult[i]);
        assert_null (codec_map_get (m, "birth_date"));
        /* the child answers no income step, the unknown age does */
        assert_int_equal (get (m, "steps")->via.array.size,
                          adult[i] ? 5 : 4);
    }
    /* no date of birth anywhere in the view's bytes */
    held_t *h = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    view_pack_workflow (&pk, wf, TODAY_DAYS);
    assert_null (memmem (h->sb.data, h->sb.size, "1980-04-05", 10));
    assert_null (memmem (h->sb.data, h->sb.size, "2010-06-07", 10));
}

static void
test_summary (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    save_exit (wf, "c1");
    held_t *h = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    view_pack_summary (&pk, wf, TODAY_DAYS);
    const msgpack_object *s = decode_held (h);
    static const char *const documented[] = { "workflow_id", "state",
                                              "project_id", "household_id",
                                              "created_at", "updated_at",
                                              "started_by", "last_actor",
                                              "stalled", "progress" };
    assert_keys_exactly (s, documented,
                         sizeof documented / sizeof *documented);
    assert_str (s, "workflow_id", WFID);
    assert_str (s, "started_by", "cw1");
    assert_str (s, "last_actor", "cw1");
    assert_bool_key (s, "stalled", false);
    assert_str (s, "state", "open");
    assert_str (s, "updated_at", "2026-11-25T12:00:00.000Z");
    assert_int_key (get (s, "progress"), "done", 1);
    assert_int_key (get (s, "progress"), "total", 7);
    /* another caseworker's change, then a stall */
    ctx_actor = "cw2";
    ACCEPTED (op_decide (wf, "c3", true));
    assert_true (op_stalled_at (wf, NOW + 2 * DAY_MS));
    h = hold ();
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    view_pack_summary (&pk, wf, TODAY_DAYS);
    s = decode_held (h);
    assert_str (s, "started_by", "cw1");
    assert_str (s, "last_actor", "cw2");
    assert_bool_key (s, "stalled", true);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        T (test_view),
        T (test_view_age_and_move_in),
        T (test_summary),
    };
    return cmocka_run_group_tests_name ("view", tests, NULL, NULL);
}
