/* Unit tests for daemon/workflow.c: the exit workflow as a pure state
 * machine (PROTOCOL.md §4) and its events (§5). No sockets, no LMDB: every
 * operation gets a fixed clock. The view and the stored record have their
 * own files (test_view.c, test_record.c). */
#define _GNU_SOURCE                     /* memmem */
#include "workflow_fixture.h"

/* ========================================================================
 * workflow.start
 * ====================================================================== */

static void
test_start_opens_workflow (void **state)
{
    (void) state;
    workflow_t *wf = household3 ("e1");
    ACCEPTED (op_start (wf));
    assert_int_equal (wf->state, WF_OPEN);
    assert_int_equal (wf->version, 1);
    assert_true (wf->created_at == NOW);
    assert_true (wf->updated_at == NOW);
    assert_string_equal (wf->started_by, "cw1");
    assert_int_equal (workflow_primary_member (wf), 0);
    assert_int_equal (member (wf, "c1")->decision, DECISION_EXITING);
    assert_int_equal (member (wf, "c2")->decision, DECISION_UNDECIDED);
    assert_int_equal (member (wf, "c3")->decision, DECISION_UNDECIDED);
    assert_false (wf->stalled);

    /* exactly one event: workflow.started, about the exiting client */
    assert_int_equal (EV.n, 1);
    assert_string_equal (EV.ev[0].type, "workflow.started");
    assert_string_equal (EV.ev[0].client_id, "c1");
    const msgpack_object *d = event_data (0);
    static const char *const keys[] = { "enrollment_id", "household_id",
                                        "project_id", "project_type",
                                        "members" };
    assert_keys_exactly (d, keys, 5);
    assert_str (d, "enrollment_id", "e1");
    assert_str (d, "household_id", "h1");
    assert_str (d, "project_id", "p1");
    assert_int_key (d, "project_type", 1);
    const msgpack_object *ms = get (d, "members");
    assert_int_equal (ms->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (ms->via.array.size, 3);
    static const char *const mkeys[] = { "client_id", "relationship",
                                         "decision" };
    static const char *const cids[] = { "c1", "c2", "c3" };
    static const int rels[] = { 1, 3, 2 };
    static const char *const decs[] = { "exiting", "undecided", "undecided" };
    for (int i = 0; i < 3; i++) {
        const msgpack_object *m = &ms->via.array.ptr[i];
        assert_keys_exactly (m, mkeys, 3);
        assert_str (m, "client_id", cids[i]);
        assert_int_key (m, "relationship", rels[i]);
        assert_str (m, "decision", decs[i]);
    }
}

static void
test_start_primary_need_not_be_head (void **state)
{
    (void) state;
    workflow_t *wf = household3 ("e2");
    wf->project_type = -1;
    ACCEPTED (op_start (wf));
    assert_int_equal (workflow_primary_member (wf), 1);
    assert_int_equal (member (wf, "c1")->decision, DECISION_UNDECIDED);
    assert_int_equal (member (wf, "c2")->decision, DECISION_EXITING);
    assert_string_equal (EV.ev[0].client_id, "c2");
    assert_nil (event_data (0), "project_type");
}

/* Accept and flag, as HUD does: a household with no head of household
 * or several (Eva #2 "No HoH", #3 "Multiple HoH") and one whose only
 * member's relationship is 99 (APR Q6b, Eva #4 "Missing Relationship to
 * HoH") start normally; the DQ worker flags them. */
static void
test_start_accepts_head_count_flags_eva_2_3_4 (void **state)
{
    (void) state;
    /* no head */
    workflow_t *wf = household3 ("e1");
    wf->members[0].relationship = 4;
    ACCEPTED (op_start (wf));
    assert_int_equal (EV.n, 1);
    /* two heads */
    wf = household3 ("e1");
    wf->members[1].relationship = 1;
    ACCEPTED (op_start (wf));
    /* three heads */
    wf = household3 ("e1");
    wf->members[1].relationship = wf->members[2].relationship = 1;
    ACCEPTED (op_start (wf));
    /* a household of one: its head */
    wf = wf_new ();
    set_ids (wf, "e9");
    add_member (wf, "c9", "e9", 1, true, "2025-05-05");
    ACCEPTED (op_start (wf));
    /* a household of one whose relationship was not collected (99) */
    wf = wf_new ();
    set_ids (wf, "e9");
    add_member (wf, "c9", "e9", 99, true, "2025-05-05");
    ACCEPTED (op_start (wf));
    assert_int_key (&get (event_data (0), "members")->via.array.ptr[0],
                    "relationship", 99);
    /* no members at all is still no household */
    wf = wf_new ();
    set_ids (wf, "e9");
    assert_false (op_start (wf));
    check_err (EXF_VALIDATION, "members");
}

/* With two heads, finishing follows the one rule: any head of household
 * who exits while someone stays needs a staying new head. */
static void
test_two_heads_finish (void **state)
{
    (void) state;
    workflow_t *wf = household3 ("e1");
    wf->members[1].relationship = 1;            /* c1 and c2 both heads */
    ACCEPTED (op_start (wf));
    complete (wf, "c1");
    ACCEPTED (op_decide (wf, "c2", false));
    ACCEPTED (op_decide (wf, "c3", false));
    REFUSED (wf, op_finish (wf, ""), EXF_VALIDATION, "new_head_of_household");
    REFUSED (wf, op_finish (wf, "c1"), EXF_VALIDATION,
             "new_head_of_household");
    ACCEPTED (op_finish (wf, "c2"));
    /* no head at all: nobody needs replacing, so none may be named */
    wf = household3 ("e1");
    wf->members[0].relationship = 3;
    ACCEPTED (op_start (wf));
    complete (wf, "c1");
    ACCEPTED (op_decide (wf, "c2", false));
    ACCEPTED (op_decide (wf, "c3", false));
    REFUSED (wf, op_finish (wf, "c2"), EXF_VALIDATION,
             "new_head_of_household");
    ACCEPTED (op_finish (wf, ""));
}

static void
test_start_relationship_codes (void **state)
{
    (void) state;
    static const int bad[] = { 0, 6, 7, 98, 100, -1, 1000 };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        workflow_t *wf = household3 ("e1");
        wf->members[2].relationship = bad[i];
        assert_false (op_start (wf));
        check_err (EXF_VALIDATION, "members[client_id=c3].relationship");
        assert_int_equal (EV.n, 0);
        workflow_reset (wf);
    }
    static const int good[] = { 2, 3, 4, 5, 99 };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        workflow_t *wf = household3 ("e1");
        wf->members[2].relationship = good[i];
        ACCEPTED (op_start (wf));
        workflow_reset (wf);
    }
}

static void
test_start_unknown_enrollment (void **state)
{
    (void) state;
    workflow_t *wf = household3 ("e-nobody");
    assert_false (op_start (wf));
    check_err (EXF_VALIDATION, "enrollment_id");
    assert_int_equal (EV.n, 0);
}

static void
test_start_entry_dates (void **state)
{
    (void) state;
    workflow_t *wf = household3 ("e1");
    snprintf (wf->members[2].entry_date, 11, "%s", TOMORROW);
    assert_false (op_start (wf));
    check_err (EXF_VALIDATION, "members[client_id=c3].entry_date");

    wf = household3 ("e1");
    snprintf (wf->members[1].entry_date, 11, "%s", "2030-01-01");
    assert_false (op_start (wf));
    check_err (EXF_VALIDATION, "members[client_id=c2].entry_date");

    static const char *const malformed[] = { "2026-13-01", "2026-1-01",
                                             "2023-02-29", "abcd-ef-gh", "" };
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        wf = household3 ("e1");
        snprintf (wf->members[0].entry_date, 11, "%s", malformed[i]);
        assert_false (op_start (wf));
        check_err (EXF_VALIDATION, "members[client_id=c1].entry_date");
        workflow_reset (wf);
    }

    /* today is not the future */
    wf = household3 ("e1");
    snprintf (wf->members[2].entry_date, 11, "%s", TODAY);
    ACCEPTED (op_start (wf));
}

static void
test_start_duplicates (void **state)
{
    (void) state;
    workflow_t *wf = household3 ("e1");
    snprintf (wf->members[2].client_id, EXF_ID_MAX + 1, "%s", "c1");
    assert_false (op_start (wf));
    check_err (EXF_VALIDATION, "members.2.client_id");

    wf = household3 ("e1");
    snprintf (wf->members[1].enrollment_id, EXF_ID_MAX + 1, "%s", "e1");
    assert_false (op_start (wf));
    check_err (EXF_VALIDATION, "members[client_id=c2].enrollment_id");
    assert_int_equal (EV.n, 0);
}

static void
test_start_project_type (void **state)
{
    (void) state;
    static const int bad[] = { 5, 15, 99, 1000, -2 };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        workflow_t *wf = household3 ("e1");
        wf->project_type = bad[i];
        assert_false (op_start (wf));
        check_err (EXF_VALIDATION, "project_type");
        assert_int_equal (EV.n, 0);
        workflow_reset (wf);
    }
    static const int good[] = { 0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                -1 };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        workflow_t *wf = household3 ("e1");
        wf->project_type = good[i];
        ACCEPTED (op_start (wf));
        workflow_reset (wf);
    }
}

/* 3.03 date of birth: optional, a real date, not in the future, not after
 * the member's entry date (the entry date itself is fine). */
static void
test_start_birth_date_3_03 (void **state)
{
    (void) state;
    static const char *const malformed[] = { "2026-13-01", "2010-1-01",
                                             "2023-02-29", "abcd-ef-gh",
                                             "2010/01/01" };
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        workflow_t *wf = household3 ("e1");
        snprintf (wf->members[2].birth_date, 11, "%s", malformed[i]);
        REFUSED (wf, op_start (wf), EXF_VALIDATION, "members[client_id=c3].birth_date");
        workflow_reset (wf);
    }
    /* in the future */
    workflow_t *wf = household3 ("e1");
    snprintf (wf->members[1].birth_date, 11, "%s", TOMORROW);
    REFUSED (wf, op_start (wf), EXF_VALIDATION, "members[client_id=c2].birth_date");
    /* after the entry date (c3 entered 2026-02-01) */
    wf = household3 ("e1");
    snprintf (wf->members[2].birth_date, 11, "%s", "2026-02-02");
    REFUSED (wf, op_start (wf), EXF_VALIDATION, "members[client_id=c3].birth_date");
    /* born on the entry date, or long before */
    wf = household3 ("e1");
    snprintf (wf->members[2].birth_date, 11, "%s", "2026-02-01");
    snprintf (wf->members[0].birth_date, 11, "%s", "1950-07-04");
    ACCEPTED (op_start (wf));
    /* never in the event */
    const msgpack_object *m0 = &get (event_data (0), "members")->via.array.ptr[0];
    assert_null (codec_map_get (m0, "birth_date"));
    assert_null (memmem (EV.ev[0].data.data, EV.ev[0].data.size, "1950-07-04",
                         10));
}

/* 3.20 Housing Move-in Date: only for permanent housing projects (2.02.6
 * types 3, 9, 10, 13; refused for the others and when no type is given),
 * not in the future. */
static void
test_start_move_in_date_3_20 (void **state)
{
    (void) state;
    static const int ph[] = { 3, 9, 10, 13 };
    for (size_t i = 0; i < sizeof ph / sizeof *ph; i++) {
        workflow_t *wf = household3 ("e1");
        wf->project_type = ph[i];
        snprintf (wf->move_in_date, 11, "%s", "2026-03-01");
        ACCEPTED (op_start (wf));
        assert_string_equal (wf->move_in_date, "2026-03-01");
        workflow_reset (wf);
    }
    static const int not_ph[] = { 0, 1, 2, 4, 6, 7, 8, 11, 12, 14, -1 };
    for (size_t i = 0; i < sizeof not_ph / sizeof *not_ph; i++) {
        workflow_t *wf = household3 ("e1");
        wf->project_type = not_ph[i];
        snprintf (wf->move_in_date, 11, "%s", "2026-03-01");
        REFUSED (wf, op_start (wf), EXF_VALIDATION, "move_in_date");
        workflow_reset (wf);
    }
    static const char *const bad[] = { TOMORROW, "2027-01-01", "2026-02-30",
                                       "26-03-01" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        workflow_t *wf = household3 ("e1");
        wf->project_type = 13;
        snprintf (wf->move_in_date, 11, "%s", bad[i]);
        REFUSED (wf, op_start (wf), EXF_VALIDATION, "move_in_date");
        workflow_reset (wf);
    }
    workflow_t *wf = household3 ("e1");
    wf->project_type = 3;
    snprintf (wf->move_in_date, 11, "%s", TODAY);
    ACCEPTED (op_start (wf));
}

/* Age, not a flag (3.03): a member with a date of birth and no `adult` is
 * an adult when 18 or older on their exit date; before their exit form is
 * saved, on the CoC's today. Born 2008-06-15, the member turns 18 on
 * 2026-06-15 (today is 2026-11-25): an exit dated 2026-06-14 makes them a
 * child, who answers no income (4.02/4.03); dated 2026-06-15, an adult. */
static void
test_effective_adult_on_the_exit_date_3_03 (void **state)
{
    (void) state;
    workflow_t *wf = wf_new ();
    set_ids (wf, "e1");
    add_member (wf, "c1", "e1", 1, true, "2026-01-10");
    wf_member_t *teen = add_member_born (wf, "c2", "e2", 2, "2008-06-15",
                                         "2026-01-10");
    ACCEPTED (op_start (wf));
    assert_int_equal (workflow_age_basis (teen), AGE_BIRTH_DATE);
    /* no exit form yet: 18 today */
    assert_true (workflow_member_adult (teen, TODAY_DAYS));
    assert_true (workflow_step_applies (teen, STEP_INCOME_BENEFITS,
                                        TODAY_DAYS));
    /* ... but 17 on a day before the birthday */
    int64_t birthday;
    assert_true (codec_parse_date ((exf_str_t) { "2026-06-15", 10 },
                                   &birthday));
    assert_false (workflow_member_adult (teen, birthday - 1));
    assert_true (workflow_member_adult (teen, birthday));

    ACCEPTED (op_decide (wf, "c2", true));
    ACCEPTED (op_save (wf, "c2", STEP_EXIT, MODE_ENTERED,
                       exit_form ("2026-06-14", 410)));
    assert_false (workflow_member_adult (teen, TODAY_DAYS));
    REFUSED (wf, op_save (wf, "c2", STEP_INCOME_BENEFITS, MODE_ENTERED,
                          assessment (STEP_INCOME_BENEFITS)),
             EXF_VALIDATION, "members[client_id=c2].steps.income_benefits");
    complete (wf, "c2");
    assert_int_equal (workflow_next_step (teen, TODAY_DAYS), -1);
    const msgpack_object *m = &get (view_of (wf), "members")->via.array.ptr[1];
    assert_bool_key (m, "adult", false);
    assert_str (m, "age_basis", "birth_date");
    assert_int_equal (get (m, "steps")->via.array.size, 4);

    /* the exit form saved again, on the birthday: an adult, income due */
    ACCEPTED (op_save (wf, "c2", STEP_EXIT, MODE_ENTERED,
                       exit_form ("2026-06-15", 410)));
    assert_true (workflow_member_adult (teen, TODAY_DAYS));
    assert_int_equal (workflow_next_step (teen, TODAY_DAYS),
                      STEP_INCOME_BENEFITS);
    ACCEPTED (op_save (wf, "c2", STEP_INCOME_BENEFITS, MODE_ENTERED,
                       assessment (STEP_INCOME_BENEFITS)));

    /* the explicit flag wins over the date of birth; neither: adult */
    teen->has_adult = true;
    teen->adult = false;
    assert_false (workflow_member_adult (teen, TODAY_DAYS));
    assert_int_equal (workflow_age_basis (teen), AGE_ADULT_FLAG);
    wf_member_t *nobody = add_member_born (wf, "c9", "e9", 3, "",
                                           "2026-01-10");
    assert_int_equal (workflow_age_basis (nobody), AGE_UNKNOWN);
    assert_true (workflow_member_adult (nobody, TODAY_DAYS));
}

/* The CoC's calendar: the core counts "today" from wf_ctx_t, never from
 * the clock. At NOW (12:00 UTC) a CoC at UTC+14 is already on 2026-11-26
 * (the shell passes that day): an exit, entry, birth or move-in dated
 * 2026-11-26 is then not in the future; with the UTC day it is. */
static void
test_today_comes_from_the_context (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    REFUSED (wf, op_save (wf, "c1", STEP_EXIT, MODE_ENTERED,
                          exit_form (TOMORROW, 410)),
             EXF_VALIDATION, "members[client_id=c1].steps.exit.exit_date");
    today_override = TODAY_DAYS + 1;
    ACCEPTED (op_save (wf, "c1", STEP_EXIT, MODE_ENTERED,
                       exit_form (TOMORROW, 410)));
    /* a CoC still on the 24th: an exit dated the 25th is in its future */
    today_override = TODAY_DAYS - 1;
    REFUSED (wf, op_save (wf, "c1", STEP_EXIT, MODE_ENTERED,
                          exit_form (TODAY, 410)),
             EXF_VALIDATION, "members[client_id=c1].steps.exit.exit_date");

    today_override = TODAY_DAYS + 1;
    wf = household3 ("e1");
    wf->project_type = 13;
    snprintf (wf->members[2].entry_date, 11, "%s", TOMORROW);
    snprintf (wf->members[2].birth_date, 11, "%s", TOMORROW);
    snprintf (wf->move_in_date, 11, "%s", TOMORROW);
    ACCEPTED (op_start (wf));
    today_override = 0;
    wf = household3 ("e1");
    snprintf (wf->members[2].entry_date, 11, "%s", TOMORROW);
    REFUSED (wf, op_start (wf), EXF_VALIDATION, "members[client_id=c3].entry_date");
}

/* The refusal just made is about member `client`: its field is
 * members[client_id=CLIENT].PATH and its message names the client. */
static void
names_member (const char *client, const char *path)
{
    char field[128], said[64];
    snprintf (field, sizeof field, "members[client_id=%s].%s", client, path);
    snprintf (said, sizeof said, "client %s", client);
    if (strcmp (ERR.field, field) || !strstr (ERR.message, said))
        fail_msg ("want %s and \"%s\" in the message, got %s: %s", field,
                  said, ERR.field, ERR.message);
}

/* Every refusal about a member names it by client_id, in the field path
 * and in the message, with the wire's names (PROTOCOL.md §2.3). */
static void
test_member_refusals_name_the_client (void **state)
{
    (void) state;
    /* a client id that is not a position: the path cannot be confused */
    workflow_t *wf = wf_new ();
    set_ids (wf, "e1");
    add_member (wf, "C-77", "e1", 1, true, "2026-01-10");
    add_member (wf, "C-78", "e2", 3, true, "2026-01-10");
    add_member (wf, "C-79", "e3", 2, false, "2026-02-01");
    wf->members[1].relationship = 6;
    assert_false (op_start (wf));
    names_member ("C-78", "relationship");
    wf->members[1].relationship = 3;
    snprintf (wf->members[2].entry_date, 11, "%s", TOMORROW);
    assert_false (op_start (wf));
    names_member ("C-79", "entry_date");
    snprintf (wf->members[2].entry_date, 11, "%s", "2026-02-01");
    snprintf (wf->members[2].birth_date, 11, "%s", "2026-02-02");
    assert_false (op_start (wf));
    names_member ("C-79", "birth_date");
    wf->members[2].birth_date[0] = '\0';
    snprintf (wf->members[2].enrollment_id, 11, "%s", "e2");
    assert_false (op_start (wf));
    names_member ("C-79", "enrollment_id");
    snprintf (wf->members[2].enrollment_id, 11, "%s", "e3");
    ACCEPTED (op_start (wf));

    /* step.save */
    assert_false (op_save (wf, "C-78", STEP_EXIT, MODE_ENTERED,
                           exit_form ("2026-11-01", 410)));
    names_member ("C-78", "decision");
    assert_false (op_save (wf, "C-77", STEP_UNIVERSAL_DATA, MODE_ENTERED,
                           some_data ()));
    names_member ("C-77", "steps.exit");
    assert_false (op_save (wf, "C-77", STEP_EXIT, MODE_ENTERED,
                           exit_form ("2026-11-01", 999)));
    names_member ("C-77", "steps.exit.destination");
    assert_non_null (strstr (ERR.message, "hud.codes"));
    assert_false (op_save (wf, "C-77", STEP_EXIT, MODE_DEFAULT_LAST, NULL));
    names_member ("C-77", "steps.exit.mode");
    save_exit (wf, "C-77");
    assert_false (op_save (wf, "C-77", STEP_UNIVERSAL_DATA, MODE_DEFAULT_LAST,
                           NULL));
    names_member ("C-77", "last.universal_data");
    assert_false (op_save (wf, "C-77", STEP_DISABILITIES, MODE_ENTERED,
                           build ("m{s:i}", 1, "physical", 7)));
    names_member ("C-77", "steps.disabilities.physical");
    assert_false (op_save (wf, "C-77", STEP_UNIVERSAL_DATA, MODE_ENTERED,
                           NULL));
    names_member ("C-77", "steps.universal_data.data");
    ACCEPTED (op_decide (wf, "C-79", true));
    save_exit (wf, "C-79");
    assert_false (op_save (wf, "C-79", STEP_INCOME_BENEFITS, MODE_ENTERED,
                           some_data ()));
    names_member ("C-79", "steps.income_benefits");
    /* member.decide */
    assert_false (op_decide (wf, "C-77", false));
    names_member ("C-77", "decision");
    assert_false (op_decide (wf, "C-99", false));
    assert_string_equal (ERR.field, "client_id");
    assert_non_null (strstr (ERR.message, "client C-99"));
    /* workflow.finish: a pending step, then the undecided member */
    assert_false (op_finish (wf, ""));
    names_member ("C-77", "steps.universal_data");
    assert_non_null (strstr (ERR.message, "universal_data"));
    complete (wf, "C-77");
    assert_false (op_finish (wf, ""));
    names_member ("C-78", "decision");
    ACCEPTED (op_decide (wf, "C-78", false));
    complete (wf, "C-79");
    /* the head leaves a staying member: the wire's name, and who */
    assert_false (op_finish (wf, ""));
    assert_string_equal (ERR.field, "new_head_of_household");
    assert_non_null (strstr (ERR.message, "new_head_of_household"));
    assert_non_null (strstr (ERR.message, "client C-77"));
    assert_false (op_finish (wf, "C-79"));
    assert_non_null (strstr (ERR.message, "client C-79"));
    ACCEPTED (op_finish (wf, "C-78"));
}

/* Every step's data is typed by the field table (hud_fields_check): a
 * malformed assessment is refused naming its field and changes nothing;
 * an incomplete one is accepted (the DQ worker flags it). */
static void
test_assessments_are_typed (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    save_exit (wf, "c1");
    /* 4.04: 2 is no 1.8 code */
    REFUSED (wf, op_save (wf, "c1", STEP_HEALTH_INSURANCE, MODE_ENTERED,
                          build ("m{s:i}", 1, "insurance_from_any_source", 2)),
             EXF_VALIDATION, "members[client_id=c1].steps.health_insurance.insurance_from_any_source");
    /* 4.02A: an amount is a number */
    REFUSED (wf, op_save (wf, "c1", STEP_INCOME_BENEFITS, MODE_ENTERED,
                          build ("m{s:i, s:s}", 2, "earned", 1,
                                 "earned_amount", "1200")),
             EXF_VALIDATION, "members[client_id=c1].steps.income_benefits.earned_amount");
    /* 4.10: an unknown field, the old free-form kind */
    REFUSED (wf, op_save (wf, "c1", STEP_DISABILITIES, MODE_ENTERED,
                          build ("m{s:s}", 1, "notes", "x")),
             EXF_VALIDATION, "members[client_id=c1].steps.disabilities.notes");
    /* 3.08 in the wrong step */
    REFUSED (wf, op_save (wf, "c1", STEP_DISABILITIES, MODE_ENTERED,
                          build ("m{s:i}", 1, "disabling_condition", 1)),
             EXF_VALIDATION, "members[client_id=c1].steps.disabilities.disabling_condition");
    assert_false (member (wf, "c1")->steps[STEP_DISABILITIES].done);
    /* incomplete: accepted as given */
    ACCEPTED (op_save (wf, "c1", STEP_DISABILITIES, MODE_ENTERED,
                       build ("m", 0)));
    ACCEPTED (op_save (wf, "c1", STEP_INCOME_BENEFITS, MODE_ENTERED,
                       build ("m{s:i, s:n}", 2, "earned", 1, "earned_amount")));
    ACCEPTED (op_save (wf, "c1", STEP_HEALTH_INSURANCE, MODE_ENTERED,
                       build ("m{s:i, s:s}", 2, "medicaid", 99,
                              "local_card_seen", "yes")));
    const wf_step_t *st = &member (wf, "c1")->steps[STEP_HEALTH_INSURANCE];
    assert_str (decode_bytes (st->data.ptr, st->data.len), "local_card_seen",
                "yes");
    /* the exit form too: typed by its table before the rules across its
     * fields, and it may carry the CoC's own questions */
    REFUSED (wf, op_save (wf, "c1", STEP_EXIT, MODE_ENTERED,
                          build ("m{s:s, s:s}", 2, "exit_date", "2026-11-01",
                                 "destination", "410")),
             EXF_VALIDATION, "members[client_id=c1].steps.exit.destination");
    ACCEPTED (op_save (wf, "c1", STEP_EXIT, MODE_ENTERED,
                       build ("m{s:s, s:i, s:s}", 3, "exit_date",
                              "2026-11-01", "destination", 410,
                              "local_why", "moved")));
}

/* ========================================================================
 * the exit form (§4.2)
 * ====================================================================== */

static void
test_exit_form_accepted (void **state)
{
    (void) state;
    char reason500[501], other50[51];
    memset (reason500, 'r', 500);
    reason500[500] = '\0';
    memset (other50, 'o', 50);
    other50[50] = '\0';
    const msgpack_object *forms[] = {
        exit_form ("2026-11-20", 410),
        exit_form (TODAY, 422),                       /* today */
        exit_form ("2026-01-10", 101),                /* the entry date */
        build ("m{s:s, s:i, s:i}", 3, "exit_date", "2026-11-01",
               "destination", 435, "destination_subsidy_type", 428),
        build ("m{s:s, s:i, s:i}", 3, "exit_date", "2026-11-01",
               "destination", 435, "destination_subsidy_type", 440),
        build ("m{s:s, s:i, s:s}", 3, "exit_date", "2026-11-01",
               "destination", 17, "other_destination", "couch of a cousin"),
        build ("m{s:s, s:i, s:s}", 3, "exit_date", "2026-11-01",
               "destination", 17, "other_destination", other50),
        build ("m{s:s, s:i, s:s}", 3, "exit_date", "2026-11-01",
               "destination", 99, "exit_reason", reason500),
        build ("m{s:s, s:i, s:s}", 3, "exit_date", "2026-11-01",
               "destination", 24, "exit_reason", ""),
        /* nil counts as absent */
        build ("m{s:s, s:i, s:n, s:n, s:n}", 5, "exit_date", "2026-11-01",
               "destination", 410, "destination_subsidy_type",
               "other_destination", "exit_reason"),
        /* an empty other_destination with another destination is absent */
        build ("m{s:s, s:i, s:s}", 3, "exit_date", "2026-11-01",
               "destination", 30, "other_destination", ""),
    };
    static const int all_dest[] = { 116, 101, 118, 215, 206, 207, 225, 204,
                                    205, 302, 329, 314, 332, 312, 313, 327,
                                    422, 423, 426, 410, 421, 411, 30, 24, 8,
                                    9, 99 };
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        workflow_t *wf = started3 ();
        if (!op_save (wf, "c1", STEP_EXIT, MODE_ENTERED, forms[i]))
            fail_msg ("form %zu refused: %s %s %s", i, ERR.code, ERR.field,
                      ERR.message);
        assert_true (member (wf, "c1")->steps[STEP_EXIT].done);
        workflow_reset (wf);
    }
    for (size_t i = 0; i < sizeof all_dest / sizeof *all_dest; i++) {
        workflow_t *wf = started3 ();
        if (!op_save (wf, "c1", STEP_EXIT, MODE_ENTERED,
                      exit_form ("2026-11-01", all_dest[i])))
            fail_msg ("destination %d refused: %s", all_dest[i], ERR.message);
        workflow_reset (wf);
    }
}

/* The exit form of c1 refused, naming `field` of it. */
static void
expect_form_refused (const msgpack_object *form, const char *field)
{
    workflow_t *wf = started3 ();
    char path[128];
    snprintf (path, sizeof path, "members[client_id=c1].steps.exit.%s", field);
    REFUSED (wf, op_save (wf, "c1", STEP_EXIT, MODE_ENTERED, form),
             EXF_VALIDATION, path);
    assert_false (member (wf, "c1")->steps[STEP_EXIT].done);
}

static void
test_exit_form_exit_date (void **state)
{
    (void) state;
    /* missing */
    expect_form_refused (build ("m{s:i}", 1, "destination", 410), "exit_date");
    expect_form_refused (build ("m{s:n, s:i}", 2, "exit_date", "destination",
                                410), "exit_date");
    /* malformed */
    static const char *const bad[] = { "2026-1-01", "2026-13-01", "2023-02-29",
                                       "abcd-ef-gh", "2026/11/01", "",
                                       "2026-11-01T00:00:00Z", "20261101" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_form_refused (exit_form (bad[i], 410), "exit_date");
    /* not a string */
    expect_form_refused (build ("m{s:i, s:i}", 2, "exit_date", 20261101,
                                "destination", 410), "exit_date");
    /* before the member's entry date (2026-01-10) */
    expect_form_refused (exit_form ("2026-01-09", 410), "exit_date");
    expect_form_refused (exit_form ("2025-12-31", 410), "exit_date");
    /* in the future */
    expect_form_refused (exit_form (TOMORROW, 410), "exit_date");
    expect_form_refused (exit_form ("2027-01-01", 410), "exit_date");
}

static void
test_exit_form_exit_date_per_member (void **state)
{
    (void) state;
    /* the child entered 2026-02-01: 2026-01-15 is fine for the head only */
    workflow_t *wf = started3 ();
    ACCEPTED (op_decide (wf, "c3", true));
    REFUSED (wf, op_save (wf, "c3", STEP_EXIT, MODE_ENTERED,
                          exit_form ("2026-01-15", 410)),
             EXF_VALIDATION, "members[client_id=c3].steps.exit.exit_date");
    ACCEPTED (op_save (wf, "c1", STEP_EXIT, MODE_ENTERED,
                       exit_form ("2026-01-15", 410)));
    ACCEPTED (op_save (wf, "c3", STEP_EXIT, MODE_ENTERED,
                       exit_form ("2026-02-01", 410)));
    /* "today" follows the clock: tomorrow's date is fine a day later */
    REFUSED (wf, op_save (wf, "c1", STEP_EXIT, MODE_ENTERED,
                          exit_form (TOMORROW, 410)),
             EXF_VALIDATION, "members[client_id=c1].steps.exit.exit_date");
    ACCEPTED (op_save_at (wf, "c1", STEP_EXIT, MODE_ENTERED,
                          exit_form (TOMORROW, 410), NOW + DAY_MS));
}

static void
test_exit_form_destination (void **state)
{
    (void) state;
    expect_form_refused (build ("m{s:s}", 1, "exit_date", "2026-11-01"),
                         "destination");
    expect_form_refused (build ("m{s:s, s:n}", 2, "exit_date", "2026-11-01",
                                "destination"), "destination");
    static const int bad[] = { 37, 335, 336, 0, 1, 2, 3, 100, 400, 436, 428,
                               -1, 999, 1000, 100000, 2147483647 };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_form_refused (exit_form ("2026-11-01", bad[i]), "destination");
    expect_form_refused (build ("m{s:s, s:I}", 2, "exit_date", "2026-11-01",
                                "destination", 4294967706LL), /* 2^32 + 410 */
                         "destination");
    expect_form_refused (build ("m{s:s, s:I}", 2, "exit_date", "2026-11-01",
                                "destination", -4294966886LL), /* -2^32+410 */
                         "destination");
    expect_form_refused (build ("m{s:s, s:s}", 2, "exit_date", "2026-11-01",
                                "destination", "410"), "destination");
    expect_form_refused (build ("m{s:s, s:f}", 2, "exit_date", "2026-11-01",
                                "destination", 410.0), "destination");
    expect_form_refused (build ("m{s:s, s:b}", 2, "exit_date", "2026-11-01",
                                "destination", 1), "destination");
}

static void
test_exit_form_subsidy (void **state)
{
    (void) state;
    /* 435 requires a subsidy type */
    expect_form_refused (exit_form ("2026-11-01", 435),
                         "destination_subsidy_type");
    expect_form_refused (build ("m{s:s, s:i, s:n}", 3, "exit_date",
                                "2026-11-01", "destination", 435,
                                "destination_subsidy_type"),
                         "destination_subsidy_type");
    /* ... a 3.12.A code */
    static const int bad[] = { 0, 1, 17, 99, 410, 418, 421, 427, 429, 441,
                               999, 1000, -428, 1000000 };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_form_refused (build ("m{s:s, s:i, s:i}", 3, "exit_date",
                                    "2026-11-01", "destination", 435,
                                    "destination_subsidy_type", bad[i]),
                             "destination_subsidy_type");
    expect_form_refused (build ("m{s:s, s:i, s:s}", 3, "exit_date",
                                "2026-11-01", "destination", 435,
                                "destination_subsidy_type", "428"),
                         "destination_subsidy_type");
    static const int good[] = { 428, 419, 431, 433, 434, 420, 436, 437, 438,
                                439, 440 };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        workflow_t *wf = started3 ();
        ACCEPTED (op_save (wf, "c1", STEP_EXIT, MODE_ENTERED,
                           build ("m{s:s, s:i, s:i}", 3, "exit_date",
                                  "2026-11-01", "destination", 435,
                                  "destination_subsidy_type", good[i])));
        workflow_reset (wf);
    }
    /* only with 435 */
    static const int other[] = { 410, 421, 17, 99 };
    for (size_t i = 0; i < sizeof other / sizeof *other; i++)
        expect_form_refused (build ("m{s:s, s:i, s:i, s:s}", 4, "exit_date",
                                    "2026-11-01", "destination", other[i],
                                    "destination_subsidy_type", 428,
                                    "other_destination", "x"),
                             "destination_subsidy_type");
    expect_form_refused (build ("m{s:s, s:i, s:i}", 3, "exit_date",
                                "2026-11-01", "destination", 410,
                                "destination_subsidy_type", 428),
                         "destination_subsidy_type");
}

static void
test_exit_form_other_destination (void **state)
{
    (void) state;
    char other51[52], big[5000];
    memset (other51, 'o', 51);
    other51[51] = '\0';
    memset (big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    /* 17 requires it */
    expect_form_refused (exit_form ("2026-11-01", 17), "other_destination");
    expect_form_refused (build ("m{s:s, s:i, s:s}", 3, "exit_date",
                                "2026-11-01", "destination", 17,
                                "other_destination", ""),
                         "other_destination");
    expect_form_refused (build ("m{s:s, s:i, s:n}", 3, "exit_date",
                                "2026-11-01", "destination", 17,
                                "other_destination"), "other_destination");
    /* ... at most 50 */
    expect_form_refused (build ("m{s:s, s:i, s:s}", 3, "exit_date",
                                "2026-11-01", "destination", 17,
                                "other_destination", other51),
                         "other_destination");
    expect_form_refused (build ("m{s:s, s:i, s:s}", 3, "exit_date",
                                "2026-11-01", "destination", 17,
                                "other_destination", big),
                         "other_destination");
    /* ... a string */
    expect_form_refused (build ("m{s:s, s:i, s:i}", 3, "exit_date",
                                "2026-11-01", "destination", 17,
                                "other_destination", 5),
                         "other_destination");
    /* only with 17 */
    expect_form_refused (build ("m{s:s, s:i, s:s}", 3, "exit_date",
                                "2026-11-01", "destination", 410,
                                "other_destination", "somewhere"),
                         "other_destination");
    expect_form_refused (build ("m{s:s, s:i, s:i, s:s}", 4, "exit_date",
                                "2026-11-01", "destination", 435,
                                "destination_subsidy_type", 428,
                                "other_destination", "somewhere"),
                         "other_destination");
}

/* other_destination is at most 50 characters, not bytes: 50 two-byte
 * characters are accepted. */
static void
test_other_destination_counts_characters (void **state)
{
    (void) state;
    char other[101];
    for (int i = 0; i < 50; i++) {
        other[2 * i] = (char) 0xc3;     /* U+00E9 é */
        other[2 * i + 1] = (char) 0xa9;
    }
    other[100] = '\0';
    workflow_t *wf = started3 ();
    ACCEPTED (op_save (wf, "c1", STEP_EXIT, MODE_ENTERED,
                       build ("m{s:s, s:i, s:s}", 3, "exit_date", "2026-11-01",
                              "destination", 17, "other_destination", other)));
}

static void
test_exit_form_unknown_fields_and_reason (void **state)
{
    (void) state;
    char reason501[502];
    memset (reason501, 'r', 501);
    reason501[501] = '\0';
    expect_form_refused (build ("m{s:s, s:i, s:s}", 3, "exit_date",
                                "2026-11-01", "destination", 410,
                                "exit_reson", "typo"), "exit_reson");
    expect_form_refused (build ("m{s:s, s:i, s:i}", 3, "exit_date",
                                "2026-11-01", "destination", 410,
                                "housing_assessment", 1),
                         "housing_assessment");
    /* unknown field first: still named */
    expect_form_refused (build ("m{s:n, s:s, s:i}", 3, "zzz", "exit_date",
                                "2026-11-01", "destination", 410), "zzz");
    /* a key that is not a string */
    held_t *h = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3);
    codec_pack_cstr (&pk, "exit_date");
    codec_pack_cstr (&pk, "2026-11-01");
    codec_pack_cstr (&pk, "destination");
    msgpack_pack_int (&pk, 410);
    msgpack_pack_int (&pk, 7);
    msgpack_pack_int (&pk, 7);
    expect_form_refused (decode_held (h), "data");
    /* exit_reason: at most 500 bytes, a string */
    expect_form_refused (build ("m{s:s, s:i, s:s}", 3, "exit_date",
                                "2026-11-01", "destination", 410,
                                "exit_reason", reason501), "exit_reason");
    expect_form_refused (build ("m{s:s, s:i, s:i}", 3, "exit_date",
                                "2026-11-01", "destination", 410,
                                "exit_reason", 3), "exit_reason");
    /* an empty form: the first required field */
    expect_form_refused (build ("m", 0), "exit_date");
}

static void
test_save_needs_map_data (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    REFUSED (wf, op_save (wf, "c1", STEP_EXIT, MODE_ENTERED, NULL),
             EXF_VALIDATION, "members[client_id=c1].steps.exit.data");
    REFUSED (wf, op_save (wf, "c1", STEP_EXIT, MODE_ENTERED,
                          build ("a[s]", 1, "x")), EXF_VALIDATION, "members[client_id=c1].steps.exit.data");
    REFUSED (wf, op_save (wf, "c1", STEP_EXIT, MODE_ENTERED, build ("n")),
             EXF_VALIDATION, "members[client_id=c1].steps.exit.data");
    save_exit (wf, "c1");
    REFUSED (wf, op_save (wf, "c1", STEP_UNIVERSAL_DATA, MODE_ENTERED, NULL),
             EXF_VALIDATION, "members[client_id=c1].steps.universal_data.data");
    REFUSED (wf, op_save (wf, "c1", STEP_UNIVERSAL_DATA, MODE_ENTERED,
                          build ("s", "yes")), EXF_VALIDATION, "members[client_id=c1].steps.universal_data.data");
}

static void
test_save_data_size_limit (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    save_exit (wf, "c1");
    /* the stored map: 1 (fixmap) + 12 ("local_notes") + 3 (str16 head) +
     * len; a local_ field takes any text */
    size_t fits = WF_STEP_DATA_MAX - 16;
    char *big = malloc (WF_STEP_DATA_MAX + 16);
    assert_non_null (big);
    memset (big, 'z', WF_STEP_DATA_MAX + 16);
    REFUSED (wf, op_save (wf, "c1", STEP_DISABILITIES, MODE_ENTERED,
                          build ("m{s:S}", 1, "local_notes", big, fits + 1)),
             EXF_VALIDATION, "members[client_id=c1].steps.disabilities.data");
    REFUSED (wf, op_save (wf, "c1", STEP_DISABILITIES, MODE_ENTERED,
                          build ("m{s:S}", 1, "local_notes", big,
                                 (size_t) WF_STEP_DATA_MAX + 16)),
             EXF_VALIDATION, "members[client_id=c1].steps.disabilities.data");
    ACCEPTED (op_save (wf, "c1", STEP_DISABILITIES, MODE_ENTERED,
                       build ("m{s:S}", 1, "local_notes", big, fits)));
    assert_int_equal (member (wf, "c1")->steps[STEP_DISABILITIES].data.len,
                      WF_STEP_DATA_MAX);
    free (big);
}

/* ========================================================================
 * steps: order, modes, applicability, who may save
 * ====================================================================== */

static void
test_save_exit_first (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    for (int s = STEP_UNIVERSAL_DATA; s < STEP_COUNT; s++)
        REFUSED (wf, op_save (wf, "c1", s, MODE_ENTERED, some_data ()),
                 EXF_INVALID_STATE, "members[client_id=c1].steps.exit");
    /* default_last before the exit form: the order still comes first */
    REFUSED (wf, op_save (wf, "c1", STEP_UNIVERSAL_DATA, MODE_DEFAULT_LAST,
                          NULL), EXF_INVALID_STATE, "members[client_id=c1].steps.exit");
    save_exit (wf, "c1");
    /* then the assessments in any order */
    ACCEPTED (op_save (wf, "c1", STEP_INCOME_BENEFITS, MODE_ENTERED,
                       some_data ()));
    ACCEPTED (op_save (wf, "c1", STEP_DISABILITIES, MODE_ENTERED,
                       some_data ()));
    ACCEPTED (op_save (wf, "c1", STEP_UNIVERSAL_DATA, MODE_ENTERED,
                       some_data ()));
    ACCEPTED (op_save (wf, "c1", STEP_HEALTH_INSURANCE, MODE_ENTERED,
                       some_data ()));
    assert_int_equal (workflow_next_step (member (wf, "c1"), TODAY_DAYS), -1);
}

static void
test_save_step_records_and_emits (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    const msgpack_object *form = build ("m{s:s, s:i, s:s}", 3, "exit_date",
                                        "2026-11-20", "destination", 410,
                                        "exit_reason", "found a flat");
    ACCEPTED (op_save_at (wf, "c1", STEP_EXIT, MODE_ENTERED, form, NOW + 5));
    const wf_step_t *st = &member (wf, "c1")->steps[STEP_EXIT];
    assert_true (st->done);
    assert_int_equal (st->mode, MODE_ENTERED);
    assert_true (st->completed_at == NOW + 5);
    assert_true (st->first_completed_at == NOW + 5);
    assert_string_equal (st->actor, "cw1");
    assert_int_equal (wf->version, 2);
    assert_true (wf->updated_at == NOW + 5);
    /* the stored data is the form */
    const msgpack_object *stored = decode_bytes (st->data.ptr, st->data.len);
    assert_str (stored, "exit_reason", "found a flat");
    assert_int_key (stored, "destination", 410);

    assert_int_equal (EV.n, 1);
    assert_string_equal (EV.ev[0].type, "step.completed");
    assert_string_equal (EV.ev[0].client_id, "c1");
    const msgpack_object *d = event_data (0);
    static const char *const keys[] = { "step", "mode", "version", "data" };
    assert_keys_exactly (d, keys, 4);
    assert_str (d, "step", "exit");
    assert_str (d, "mode", "entered");
    assert_int_key (d, "version", 2);
    assert_str (get (d, "data"), "exit_date", "2026-11-20");

    /* saved again: completed_at moves, first_completed_at stays */
    ACCEPTED (op_save_at (wf, "c1", STEP_EXIT, MODE_ENTERED,
                          exit_form ("2026-11-21", 422), NOW + 9000));
    st = &member (wf, "c1")->steps[STEP_EXIT];
    assert_true (st->completed_at == NOW + 9000);
    assert_true (st->first_completed_at == NOW + 5);
    assert_int_equal (wf->version, 3);
    stored = decode_bytes (st->data.ptr, st->data.len);
    assert_int_key (stored, "destination", 422);
    assert_null (codec_map_get (stored, "exit_reason"));
}

static void
test_default_last (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    save_exit (wf, "c1");
    const wf_member_t *m = member (wf, "c1");
    ACCEPTED (op_save (wf, "c1", STEP_UNIVERSAL_DATA, MODE_DEFAULT_LAST,
                       NULL));
    const wf_step_t *st = &m->steps[STEP_UNIVERSAL_DATA];
    assert_true (st->done);
    assert_int_equal (st->mode, MODE_DEFAULT_LAST);
    assert_int_equal (st->data.len, m->last[STEP_UNIVERSAL_DATA].len);
    assert_memory_equal (st->data.ptr, m->last[STEP_UNIVERSAL_DATA].ptr,
                         st->data.len);
    assert_true (st->data.ptr != m->last[STEP_UNIVERSAL_DATA].ptr); /* a copy */
    assert_int_equal (EV.n, 1);
    const msgpack_object *d = event_data (0);
    assert_str (d, "step", "universal_data");
    assert_str (d, "mode", "default_last");
    assert_int_key (get (d, "data"), "disabling_condition", 0);
    assert_str (get (d, "data"), "local_note", "prior");

    ACCEPTED (op_save (wf, "c1", STEP_HEALTH_INSURANCE, MODE_DEFAULT_LAST,
                       NULL));
    assert_int_key (decode_bytes (m->steps[STEP_HEALTH_INSURANCE].data.ptr,
                                  m->steps[STEP_HEALTH_INSURANCE].data.len),
                    "medicaid", 1);

    /* no last value for disabilities */
    REFUSED (wf, op_save (wf, "c1", STEP_DISABILITIES, MODE_DEFAULT_LAST,
                          NULL), EXF_VALIDATION, "members[client_id=c1].last.disabilities");
    /* never for the exit form */
    REFUSED (wf, op_save (wf, "c1", STEP_EXIT, MODE_DEFAULT_LAST, NULL),
             EXF_VALIDATION, "members[client_id=c1].steps.exit.mode");
    /* data must be absent */
    REFUSED (wf, op_save (wf, "c1", STEP_UNIVERSAL_DATA, MODE_DEFAULT_LAST,
                          some_data ()), EXF_VALIDATION, "members[client_id=c1].steps.universal_data.data");
    /* an entered value can replace a defaulted one, and vice versa */
    ACCEPTED (op_save (wf, "c1", STEP_UNIVERSAL_DATA, MODE_ENTERED,
                       some_data ()));
    assert_int_equal (m->steps[STEP_UNIVERSAL_DATA].mode, MODE_ENTERED);
    ACCEPTED (op_save (wf, "c1", STEP_UNIVERSAL_DATA, MODE_DEFAULT_LAST,
                       NULL));
    assert_int_equal (m->steps[STEP_UNIVERSAL_DATA].mode, MODE_DEFAULT_LAST);

    /* the spouse has no last values at all */
    ACCEPTED (op_decide (wf, "c2", true));
    save_exit (wf, "c2");
    REFUSED (wf, op_save (wf, "c2", STEP_UNIVERSAL_DATA, MODE_DEFAULT_LAST,
                          NULL), EXF_VALIDATION, "members[client_id=c2].last.universal_data");
}

static void
test_default_last_exit_even_with_a_last_value (void **state)
{
    (void) state;
    workflow_t *wf = household3 ("e1");
    /* the shell never stores one for exit, but the rule is "always" */
    blob_set_object (&wf->members[0].last[STEP_EXIT],
                     exit_form ("2026-11-01", 410));
    ACCEPTED (op_start (wf));
    REFUSED (wf, op_save (wf, "c1", STEP_EXIT, MODE_DEFAULT_LAST, NULL),
             EXF_VALIDATION, "members[client_id=c1].steps.exit.mode");
}

static void
test_income_benefits_applicability (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    const wf_member_t *head = member (wf, "c1"), *spouse = member (wf, "c2"),
                      *child = member (wf, "c3");
    for (int s = 0; s < STEP_COUNT; s++) {
        assert_true (workflow_step_applies (head, s, TODAY_DAYS));
        assert_true (workflow_step_applies (spouse, s, TODAY_DAYS));
        assert_int_equal (workflow_step_applies (child, s, TODAY_DAYS),
                          s != STEP_INCOME_BENEFITS);
    }
    ACCEPTED (op_decide (wf, "c3", true));
    save_exit (wf, "c3");
    REFUSED (wf, op_save (wf, "c3", STEP_INCOME_BENEFITS, MODE_ENTERED,
                          some_data ()), EXF_VALIDATION, "members[client_id=c3].steps.income_benefits");
    REFUSED (wf, op_save (wf, "c3", STEP_INCOME_BENEFITS, MODE_DEFAULT_LAST,
                          NULL), EXF_VALIDATION, "members[client_id=c3].steps.income_benefits");
    complete (wf, "c3");
    assert_int_equal (workflow_next_step (child, TODAY_DAYS), -1);

    /* a child who is the head of household: income applies */
    workflow_t *w2 = wf_new ();
    set_ids (w2, "k1");
    add_member (w2, "k1c", "k1", 1, false, "2026-03-01");
    add_member (w2, "k2c", "k2", 2, false, "2026-03-01");
    ACCEPTED (op_start (w2));
    assert_true (workflow_step_applies (member (w2, "k1c"),
                                        STEP_INCOME_BENEFITS, TODAY_DAYS));
    assert_false (workflow_step_applies (member (w2, "k2c"),
                                         STEP_INCOME_BENEFITS, TODAY_DAYS));
    save_exit (w2, "k1c");
    ACCEPTED (op_save (w2, "k1c", STEP_INCOME_BENEFITS, MODE_ENTERED,
                       some_data ()));

    /* an adult who is not the head: applies */
    ACCEPTED (op_decide (wf, "c2", true));
    save_exit (wf, "c2");
    ACCEPTED (op_save (wf, "c2", STEP_INCOME_BENEFITS, MODE_ENTERED,
                       some_data ()));
}

static void
test_save_who_may (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    /* undecided */
    REFUSED (wf, op_save (wf, "c2", STEP_EXIT, MODE_ENTERED,
                          exit_form ("2026-11-01", 410)),
             EXF_INVALID_STATE, NULL);
    /* staying */
    ACCEPTED (op_decide (wf, "c2", false));
    REFUSED (wf, op_save (wf, "c2", STEP_EXIT, MODE_ENTERED,
                          exit_form ("2026-11-01", 410)),
             EXF_INVALID_STATE, NULL);
    /* an undecided child: INVALID_STATE before the applicability rule */
    REFUSED (wf, op_save (wf, "c3", STEP_INCOME_BENEFITS, MODE_ENTERED,
                          some_data ()), EXF_INVALID_STATE, NULL);
    /* not a member */
    REFUSED (wf, op_save (wf, "c99", STEP_EXIT, MODE_ENTERED,
                          exit_form ("2026-11-01", 410)),
             EXF_NOT_FOUND, "client_id");
    REFUSED (wf, op_save (wf, "", STEP_EXIT, MODE_ENTERED,
                          exit_form ("2026-11-01", 410)),
             EXF_NOT_FOUND, "client_id");
    /* no such step */
    REFUSED (wf, op_save (wf, "c1", -1, MODE_ENTERED, some_data ()),
             EXF_VALIDATION, "step");
    REFUSED (wf, op_save (wf, "c1", STEP_COUNT, MODE_ENTERED, some_data ()),
             EXF_VALIDATION, "step");
}

/* ========================================================================
 * member.decide (§4.3)
 * ====================================================================== */

static void
test_decide (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    REFUSED (wf, op_decide (wf, "c1", true), EXF_VALIDATION, "members[client_id=c1].decision");
    REFUSED (wf, op_decide (wf, "c1", false), EXF_VALIDATION, "members[client_id=c1].decision");
    REFUSED (wf, op_decide (wf, "nobody", true), EXF_NOT_FOUND, "client_id");

    ACCEPTED (op_decide (wf, "c3", true));
    assert_int_equal (member (wf, "c3")->decision, DECISION_EXITING);
    assert_int_equal (wf->version, 2);
    assert_int_equal (EV.n, 1);
    assert_string_equal (EV.ev[0].type, "member.decided");
    assert_string_equal (EV.ev[0].client_id, "c3");
    const msgpack_object *d = event_data (0);
    static const char *const keys[] = { "decision", "version" };
    assert_keys_exactly (d, keys, 2);
    assert_str (d, "decision", "exiting");
    assert_int_key (d, "version", 2);

    /* a decision may change; saved steps are kept */
    save_exit (wf, "c3");
    ACCEPTED (op_decide (wf, "c3", false));
    assert_str (event_data (0), "decision", "staying");
    assert_int_equal (member (wf, "c3")->decision, DECISION_STAYING);
    assert_true (member (wf, "c3")->steps[STEP_EXIT].done);
    assert_int_equal (workflow_next_step (member (wf, "c3"), TODAY_DAYS), -1);
    ACCEPTED (op_decide (wf, "c3", true));
    assert_int_equal (workflow_next_step (member (wf, "c3"), TODAY_DAYS),
                      STEP_UNIVERSAL_DATA);
    /* deciding the same thing again is still a change */
    int64_t v = wf->version;
    ACCEPTED (op_decide (wf, "c3", true));
    assert_int_equal (wf->version, v + 1);
}

/* ========================================================================
 * workflow.finish (§4.4)
 * ====================================================================== */

static void
test_finish_needs_decisions_and_steps (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    complete (wf, "c1");
    /* c2, c3 undecided */
    REFUSED (wf, op_finish (wf, ""), EXF_INVALID_STATE, NULL);
    ACCEPTED (op_decide (wf, "c2", true));
    REFUSED (wf, op_finish (wf, ""), EXF_INVALID_STATE, NULL);
    ACCEPTED (op_decide (wf, "c3", true));
    /* c2 and c3 have everything pending */
    REFUSED (wf, op_finish (wf, ""), EXF_INVALID_STATE, NULL);
    complete (wf, "c2");
    save_exit (wf, "c3");
    ACCEPTED (op_save (wf, "c3", STEP_UNIVERSAL_DATA, MODE_DEFAULT_LAST,
                       NULL));
    ACCEPTED (op_save (wf, "c3", STEP_HEALTH_INSURANCE, MODE_ENTERED,
                       some_data ()));
    /* one step (disabilities) still pending */
    REFUSED (wf, op_finish (wf, ""), EXF_INVALID_STATE, "members[client_id=c3].steps.disabilities");
    ACCEPTED (op_save (wf, "c3", STEP_DISABILITIES, MODE_ENTERED,
                       some_data ()));
    /* everyone exits, the head among them: no new head */
    REFUSED (wf, op_finish (wf, "c2"), EXF_VALIDATION,
             "new_head_of_household");
    ACCEPTED (op_finish (wf, ""));
    assert_int_equal (wf->state, WF_FINISHED);
    assert_string_equal (wf->new_head_of_household, "");
}

static void
test_finish_pending_primary (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    ACCEPTED (op_decide (wf, "c2", false));
    ACCEPTED (op_decide (wf, "c3", false));
    REFUSED (wf, op_finish (wf, "c2"), EXF_INVALID_STATE, "members[client_id=c1].steps.exit");
    save_exit (wf, "c1");
    REFUSED (wf, op_finish (wf, "c2"), EXF_INVALID_STATE, "members[client_id=c1].steps.universal_data");
}

static void
test_finish_new_head_of_household (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    complete (wf, "c1");
    ACCEPTED (op_decide (wf, "c2", false));
    ACCEPTED (op_decide (wf, "c3", true));
    complete (wf, "c3");
    /* the head exits, the spouse stays: a new head is required ... */
    REFUSED (wf, op_finish (wf, ""), EXF_VALIDATION, "new_head_of_household");
    /* ... and must be a staying member */
    REFUSED (wf, op_finish (wf, "c3"), EXF_VALIDATION,
             "new_head_of_household");
    REFUSED (wf, op_finish (wf, "c1"), EXF_VALIDATION,
             "new_head_of_household");
    REFUSED (wf, op_finish (wf, "c404"), EXF_VALIDATION,
             "new_head_of_household");
    ACCEPTED (op_finish (wf, "c2"));
    assert_int_equal (wf->state, WF_FINISHED);
    assert_string_equal (wf->new_head_of_household, "c2");
}

static void
test_finish_events (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    /* c1's exit form first saved at NOW-1000, saved again at NOW */
    ACCEPTED (op_save_at (wf, "c1", STEP_EXIT, MODE_ENTERED,
                          exit_form ("2026-11-19", 410), NOW - 1000));
    ACCEPTED (op_save (wf, "c1", STEP_EXIT, MODE_ENTERED,
                       build ("m{s:s, s:i, s:i, s:s}", 4, "exit_date",
                              "2026-11-20", "destination", 435,
                              "destination_subsidy_type", 419,
                              "exit_reason", "voucher")));
    complete (wf, "c1");
    ACCEPTED (op_decide (wf, "c2", false));
    ACCEPTED (op_decide (wf, "c3", true));
    ACCEPTED (op_save_at (wf, "c3", STEP_EXIT, MODE_ENTERED,
                          build ("m{s:s, s:i, s:s}", 3, "exit_date",
                                 "2026-11-21", "destination", 17,
                                 "other_destination", "grandparents"),
                          NOW + 7));
    complete (wf, "c3");
    int64_t v = wf->version;
    ACCEPTED (op_finish (wf, "c2"));
    assert_int_equal (wf->version, v + 1);

    assert_int_equal (EV.n, 3);
    assert_string_equal (EV.ev[0].type, "member.exited");
    assert_string_equal (EV.ev[0].client_id, "c1");
    assert_string_equal (EV.ev[1].type, "member.exited");
    assert_string_equal (EV.ev[1].client_id, "c3");
    assert_string_equal (EV.ev[2].type, "workflow.finished");
    assert_string_equal (EV.ev[2].client_id, "");

    static const char *const xkeys[] = { "enrollment_id", "relationship",
                                         "exit_date", "destination",
                                         "destination_subsidy_type",
                                         "other_destination", "exit_reason",
                                         "exit_recorded_at" };
    const msgpack_object *x = event_data (0);
    assert_keys_exactly (x, xkeys, 8);
    assert_str (x, "enrollment_id", "e1");
    assert_int_key (x, "relationship", 1);
    assert_str (x, "exit_date", "2026-11-20");
    assert_int_key (x, "destination", 435);
    assert_int_key (x, "destination_subsidy_type", 419);
    assert_nil (x, "other_destination");
    assert_str (x, "exit_reason", "voucher");
    assert_str (x, "exit_recorded_at", "2026-11-25T11:59:59.000Z");

    x = event_data (1);
    assert_keys_exactly (x, xkeys, 8);
    assert_str (x, "enrollment_id", "e3");
    assert_int_key (x, "relationship", 2);
    assert_str (x, "exit_date", "2026-11-21");
    assert_int_key (x, "destination", 17);
    assert_nil (x, "destination_subsidy_type");
    assert_str (x, "other_destination", "grandparents");
    assert_nil (x, "exit_reason");
    assert_str (x, "exit_recorded_at", "2026-11-25T12:00:00.007Z");

    const msgpack_object *f = event_data (2);
    static const char *const fkeys[] = { "version", "exited", "staying",
                                         "new_head_of_household" };
    assert_keys_exactly (f, fkeys, 4);
    assert_int_key (f, "version", wf->version);
    const msgpack_object *ex = get (f, "exited");
    assert_int_equal (ex->via.array.size, 2);
    assert_true (codec_str_eq (codec_str_of (&ex->via.array.ptr[0]), "c1"));
    assert_true (codec_str_eq (codec_str_of (&ex->via.array.ptr[1]), "c3"));
    const msgpack_object *st = get (f, "staying");
    assert_int_equal (st->via.array.size, 1);
    assert_true (codec_str_eq (codec_str_of (&st->via.array.ptr[0]), "c2"));
    assert_str (f, "new_head_of_household", "c2");
}

static void
test_finish_non_head_alone (void **state)
{
    (void) state;
    /* the spouse leaves; head and child stay: no new head */
    workflow_t *wf = household3 ("e2");
    ACCEPTED (op_start (wf));
    ACCEPTED (op_decide (wf, "c1", false));
    ACCEPTED (op_decide (wf, "c3", false));
    complete (wf, "c2");
    REFUSED (wf, op_finish (wf, "c1"), EXF_VALIDATION,
             "new_head_of_household");
    REFUSED (wf, op_finish (wf, "c3"), EXF_VALIDATION,
             "new_head_of_household");
    ACCEPTED (op_finish (wf, ""));
    assert_int_equal (EV.n, 2);
    assert_string_equal (EV.ev[0].type, "member.exited");
    assert_string_equal (EV.ev[0].client_id, "c2");
    assert_string_equal (EV.ev[1].type, "workflow.finished");
    const msgpack_object *f = event_data (1);
    assert_nil (f, "new_head_of_household");
    assert_int_equal (get (f, "exited")->via.array.size, 1);
    assert_int_equal (get (f, "staying")->via.array.size, 2);
}

static void
test_finish_single_member (void **state)
{
    (void) state;
    workflow_t *wf = wf_new ();
    set_ids (wf, "e9");
    add_member (wf, "c9", "e9", 1, true, "2025-05-05");
    ACCEPTED (op_start (wf));
    REFUSED (wf, op_finish (wf, ""), EXF_INVALID_STATE, "members[client_id=c9].steps.exit");
    complete (wf, "c9");
    REFUSED (wf, op_finish (wf, "c9"), EXF_VALIDATION,
             "new_head_of_household");
    ACCEPTED (op_finish (wf, ""));
    assert_int_equal (EV.n, 2);
    assert_int_equal (get (event_data (1), "staying")->via.array.size, 0);
}

static void
test_finish_full_household (void **state)
{
    (void) state;
    /* 32 members, all exiting: 32 member.exited + workflow.finished */
    workflow_t *wf = wf_new ();
    set_ids (wf, "e0");
    for (int i = 0; i < WF_MAX_MEMBERS; i++) {
        char c[16], e[16];
        snprintf (c, sizeof c, "c%d", i);
        snprintf (e, sizeof e, "e%d", i);
        add_member (wf, c, e, i == 0 ? 1 : (i % 2 ? 2 : 4), i % 2 == 0,
                    "2026-01-01");
    }
    ACCEPTED (op_start (wf));
    assert_int_equal (get (event_data (0), "members")->via.array.size, 32);
    for (int i = 0; i < WF_MAX_MEMBERS; i++) {
        char c[16];
        snprintf (c, sizeof c, "c%d", i);
        if (i)
            ACCEPTED (op_decide (wf, c, true));
        complete (wf, c);
    }
    int done, total;
    workflow_progress (wf, TODAY_DAYS, &done, &total);
    assert_int_equal (done, total);
    /* 16 adults x 5 + 16 children x 4 steps + 31 decisions */
    assert_int_equal (total, 16 * 5 + 16 * 4 + 31);
    ACCEPTED (op_finish (wf, ""));
    assert_int_equal (EV.n, WF_MAX_MEMBERS + 1);
    for (int i = 0; i < WF_MAX_MEMBERS; i++)
        assert_string_equal (EV.ev[i].type, "member.exited");
    assert_string_equal (EV.ev[WF_MAX_MEMBERS].type, "workflow.finished");
    assert_int_equal (get (event_data (WF_MAX_MEMBERS), "exited")
                          ->via.array.size, 32);
}

/* ========================================================================
 * cancel, closed states, versions
 * ====================================================================== */

static void
test_cancel (void **state)
{
    (void) state;
    char r501[502];
    memset (r501, 'x', 501);
    r501[501] = '\0';
    workflow_t *wf = started3 ();
    REFUSED (wf, op_cancel (wf, ""), EXF_VALIDATION, "reason");
    REFUSED (wf, op_cancel (wf, r501), EXF_VALIDATION, "reason");
    r501[500] = '\0';
    ACCEPTED (op_cancel (wf, r501));
    assert_int_equal (wf->state, WF_CANCELLED);
    assert_int_equal (wf->version, 2);
    assert_int_equal (wf->cancel_reason.len, 500);
    assert_int_equal (EV.n, 1);
    assert_string_equal (EV.ev[0].type, "workflow.cancelled");
    const msgpack_object *d = event_data (0);
    static const char *const keys[] = { "version", "reason" };
    assert_keys_exactly (d, keys, 2);
    assert_int_key (d, "version", 2);
    assert_str (d, "reason", r501);
}

static void
check_closed (workflow_t *wf)
{
    REFUSED (wf, op_save (wf, "c1", STEP_EXIT, MODE_ENTERED,
                          exit_form ("2026-11-01", 410)),
             EXF_INVALID_STATE, NULL);
    REFUSED (wf, op_save (wf, "c1", STEP_UNIVERSAL_DATA, MODE_DEFAULT_LAST,
                          NULL), EXF_INVALID_STATE, NULL);
    REFUSED (wf, op_decide (wf, "c2", true), EXF_INVALID_STATE, NULL);
    REFUSED (wf, op_decide (wf, "c3", false), EXF_INVALID_STATE, NULL);
    REFUSED (wf, op_finish (wf, ""), EXF_INVALID_STATE, NULL);
    REFUSED (wf, op_finish (wf, "c2"), EXF_INVALID_STATE, NULL);
    REFUSED (wf, op_cancel (wf, "again"), EXF_INVALID_STATE, NULL);
    /* even for a client that does not exist: the state comes first */
    REFUSED (wf, op_save (wf, "nobody", STEP_EXIT, MODE_ENTERED,
                          exit_form ("2026-11-01", 410)),
             EXF_INVALID_STATE, NULL);
    /* no stall for a closed workflow */
    snap_t before = snap (wf);
    assert_false (op_stalled_at (wf, NOW + 100 * DAY_MS));
    assert_int_equal (EV.n, 0);
    snap_t after = snap (wf);
    assert_true (snap_same (before, after));
    free (before.data);
    free (after.data);
    /* dq.report is allowed, and does not touch the version */
    int64_t v = wf->version, updated = wf->updated_at;
    ACCEPTED (op_dq (wf, "dqbot",
                     build ("a[m{s:s, s:s, s:s}]", 1, 3, "rule", "r1",
                            "severity", "warning", "message", "late exit")));
    assert_int_equal (wf->version, v);
    assert_true (wf->updated_at == updated);
    assert_int_equal (wf->n_dq, 1);
    assert_int_equal (EV.n, 1);
    assert_string_equal (EV.ev[0].type, "dq.reported");
}

static void
test_closed_after_finish (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    complete (wf, "c1");
    ACCEPTED (op_decide (wf, "c2", true));
    ACCEPTED (op_decide (wf, "c3", true));
    complete (wf, "c2");
    complete (wf, "c3");
    ACCEPTED (op_finish (wf, ""));
    check_closed (wf);
    assert_int_equal (wf->state, WF_FINISHED);
}

static void
test_closed_after_cancel (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    save_exit (wf, "c1");
    ACCEPTED (op_cancel (wf, "duplicate enrollment"));
    check_closed (wf);
    assert_int_equal (wf->state, WF_CANCELLED);
}

static void
test_versions (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    int64_t v = 1;
    assert_int_equal (wf->version, v);
    save_exit (wf, "c1");
    assert_int_equal (wf->version, ++v);
    REFUSED (wf, op_save (wf, "c1", STEP_EXIT, MODE_ENTERED,
                          exit_form ("2026-11-01", 37)), EXF_VALIDATION,
             "members[client_id=c1].steps.exit.destination");
    assert_int_equal (wf->version, v);
    ACCEPTED (op_save (wf, "c1", STEP_UNIVERSAL_DATA, MODE_DEFAULT_LAST,
                       NULL));
    assert_int_equal (wf->version, ++v);
    ACCEPTED (op_decide (wf, "c2", false));
    assert_int_equal (wf->version, ++v);
    ACCEPTED (op_dq (wf, "dqbot", build ("a", 0)));
    assert_int_equal (wf->version, v);
    ACCEPTED (op_dq (wf, "dqbot",
                     build ("a[m{s:s, s:s, s:s}]", 1, 3, "rule", "r",
                            "severity", "error", "message", "m")));
    assert_int_equal (wf->version, v);
    assert_true (wf->updated_at == NOW);      /* the DQ clock was NOW+1000 */
    ACCEPTED (op_cancel (wf, "test"));
    assert_int_equal (wf->version, ++v);

    /* workflow_check_version */
    exf_error_clear (&ERR);
    assert_true (workflow_check_version (wf, false, 999, &ERR));
    assert_true (workflow_check_version (wf, true, v, &ERR));
    assert_null (ERR.code);
    assert_false (workflow_check_version (wf, true, v - 1, &ERR));
    check_err (EXF_CONFLICT, NULL);
    assert_int_equal (ERR.version, v);
    exf_error_clear (&ERR);
    assert_false (workflow_check_version (wf, true, v + 1, &ERR));
    assert_int_equal (ERR.version, v);
}

static void
test_refusals_change_nothing (void **state)
{
    (void) state;
    /* a workflow with some of everything in it */
    workflow_t *wf = started3 ();
    complete (wf, "c1");
    ACCEPTED (op_decide (wf, "c3", true));
    save_exit (wf, "c3");
    ACCEPTED (op_dq (wf, "a", build ("a[m{s:s, s:s, s:s, s:s}]", 1, 4,
                                     "rule", "r1", "severity", "error",
                                     "client_id", "c3", "message", "m")));
    assert_true (op_stalled_at (wf, NOW + DAY_MS));
    REFUSED (wf, op_save (wf, "c3", STEP_EXIT, MODE_ENTERED,
                          build ("m{s:s, s:i, s:i}", 3, "exit_date",
                                 "2026-11-01", "destination", 410, "x", 1)),
             EXF_VALIDATION, "members[client_id=c3].steps.exit.x");
    REFUSED (wf, op_save (wf, "c3", STEP_DISABILITIES, MODE_DEFAULT_LAST,
                          NULL), EXF_VALIDATION, "members[client_id=c3].last.disabilities");
    REFUSED (wf, op_save (wf, "c2", STEP_EXIT, MODE_ENTERED,
                          exit_form ("2026-11-01", 410)),
             EXF_INVALID_STATE, NULL);
    REFUSED (wf, op_decide (wf, "c1", false), EXF_VALIDATION, "members[client_id=c1].decision");
    REFUSED (wf, op_finish (wf, ""), EXF_INVALID_STATE, NULL);
    REFUSED (wf, op_cancel (wf, ""), EXF_VALIDATION, "reason");
    REFUSED (wf, op_dq (wf, "a", build ("a[m{s:s, s:s, s:s}]", 1, 3, "rule",
                                        "r", "severity", "fatal", "message",
                                        "m")),
             EXF_VALIDATION, NULL);
    REFUSED (wf, op_dq (wf, "b", build ("a[i]", 1, 5)), EXF_BAD_REQUEST,
             "findings.0");
    /* a finding's step is one of the steps, by name */
    REFUSED (wf, op_dq (wf, "a", build ("a[m{s:s, s:s, s:s, s:s}]", 1, 4,
                                        "rule", "r", "severity", "error",
                                        "step", "exit_form", "message", "m")),
             EXF_VALIDATION, "findings.0.step");
    REFUSED (wf, op_dq (wf, "a", build ("a[m{s:s, s:s, s:i, s:s}]", 1, 4,
                                        "rule", "r", "severity", "error",
                                        "step", 1, "message", "m")),
             EXF_BAD_REQUEST, "findings.0.step");
    assert_true (wf->stalled);            /* a refusal starts no new period */
}

/* ========================================================================
 * questions: progress, next_step; stalls
 * ====================================================================== */

static void
test_progress_and_next_step (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    int done, total;
    const wf_member_t *head = member (wf, "c1"), *child = member (wf, "c3");
    workflow_progress (wf, TODAY_DAYS, &done, &total);
    assert_int_equal (done, 0);
    assert_int_equal (total, 5 + 2);        /* head's steps + 2 decisions */
    assert_int_equal (workflow_next_step (head, TODAY_DAYS), STEP_EXIT);
    assert_int_equal (workflow_next_step (child, TODAY_DAYS), -1);      /* undecided */

    save_exit (wf, "c1");
    workflow_progress (wf, TODAY_DAYS, &done, &total);
    assert_int_equal (done, 1);
    assert_int_equal (total, 7);
    assert_int_equal (workflow_next_step (head, TODAY_DAYS), STEP_UNIVERSAL_DATA);

    ACCEPTED (op_save (wf, "c1", STEP_UNIVERSAL_DATA, MODE_DEFAULT_LAST,
                       NULL));
    ACCEPTED (op_save (wf, "c1", STEP_DISABILITIES, MODE_ENTERED,
                       some_data ()));
    assert_int_equal (workflow_next_step (head, TODAY_DAYS), STEP_HEALTH_INSURANCE);
    ACCEPTED (op_save (wf, "c1", STEP_HEALTH_INSURANCE, MODE_ENTERED,
                       some_data ()));
    assert_int_equal (workflow_next_step (head, TODAY_DAYS), STEP_INCOME_BENEFITS);

    ACCEPTED (op_decide (wf, "c3", true));
    workflow_progress (wf, TODAY_DAYS, &done, &total);
    assert_int_equal (total, 5 + 2 + 4);    /* the child has no income step */
    assert_int_equal (done, 4 + 1);
    assert_int_equal (workflow_next_step (child, TODAY_DAYS), STEP_EXIT);

    ACCEPTED (op_decide (wf, "c2", false));
    workflow_progress (wf, TODAY_DAYS, &done, &total);
    assert_int_equal (total, 11);
    assert_int_equal (done, 6);
    assert_int_equal (workflow_next_step (member (wf, "c2"), TODAY_DAYS), -1);

    complete (wf, "c1");
    complete (wf, "c3");
    workflow_progress (wf, TODAY_DAYS, &done, &total);
    assert_int_equal (done, 11);
    assert_int_equal (total, 11);
    assert_int_equal (workflow_next_step (head, TODAY_DAYS), -1);
    assert_int_equal (workflow_next_step (child, TODAY_DAYS), -1);

    /* a member decided exiting, then staying: their steps leave the count */
    ACCEPTED (op_decide (wf, "c3", false));
    workflow_progress (wf, TODAY_DAYS, &done, &total);
    assert_int_equal (total, 7);
    assert_int_equal (done, 7);
}

static void
test_mark_stalled (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    save_exit (wf, "c1");                   /* updated_at = NOW */
    int64_t v = wf->version;
    assert_true (op_stalled_at (wf, NOW + 3 * 3600 * 1000LL));
    assert_true (wf->stalled);
    assert_int_equal (wf->version, v);      /* being stalled is not a change */
    assert_true (wf->updated_at == NOW);
    assert_int_equal (EV.n, 1);
    assert_string_equal (EV.ev[0].type, "workflow.stalled");
    assert_string_equal (EV.ev[0].client_id, "");
    const msgpack_object *d = event_data (0);
    static const char *const keys[] = { "idle_s", "since", "progress" };
    assert_keys_exactly (d, keys, 3);
    assert_int_key (d, "idle_s", 3 * 3600);
    assert_str (d, "since", "2026-11-25T12:00:00.000Z");
    assert_int_key (get (d, "progress"), "done", 1);
    assert_int_key (get (d, "progress"), "total", 7);

    /* once per idle period */
    assert_false (op_stalled_at (wf, NOW + 4 * 3600 * 1000LL));
    assert_int_equal (EV.n, 0);
    assert_false (op_stalled_at (wf, NOW + 40 * DAY_MS));
    /* a DQ report is not a change: still the same period */
    ACCEPTED (op_dq (wf, "s", build ("a", 0)));
    assert_false (op_stalled_at (wf, NOW + 41 * DAY_MS));
    /* a refused write is not a change either */
    REFUSED (wf, op_decide (wf, "c1", true), EXF_VALIDATION, "members[client_id=c1].decision");
    assert_false (op_stalled_at (wf, NOW + 41 * DAY_MS));
    /* a change starts a new period */
    ACCEPTED (op_decide (wf, "c2", true));
    assert_false (wf->stalled);
    assert_true (op_stalled_at (wf, NOW + 2 * DAY_MS));
    assert_int_key (event_data (0), "idle_s", 2 * 86400);
    assert_false (op_stalled_at (wf, NOW + 3 * DAY_MS));
    ACCEPTED (op_save (wf, "c1", STEP_DISABILITIES, MODE_ENTERED,
                       some_data ()));
    assert_true (op_stalled_at (wf, NOW + DAY_MS));
}

/* ========================================================================
 * dq.report
 * ====================================================================== */

static int
view_dq_count (const workflow_t *wf)
{
    return (int) get (view_of (wf), "dq")->via.array.size;
}

static void
test_dq_replace_and_clear (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    ACCEPTED (op_dq (wf, "A", findings (2, "a", "error")));
    assert_int_equal (view_dq_count (wf), 2);
    assert_int_equal (EV.n, 1);
    assert_string_equal (EV.ev[0].type, "dq.reported");
    const msgpack_object *d = event_data (0);
    static const char *const keys[] = { "source", "count", "errors",
                                        "warnings" };
    assert_keys_exactly (d, keys, 4);
    assert_str (d, "source", "A");
    assert_int_key (d, "count", 2);
    assert_int_key (d, "errors", 2);
    assert_int_key (d, "warnings", 0);

    /* replaces A's findings */
    ACCEPTED (op_dq (wf, "A", findings (1, "a2-", "warning")));
    assert_int_equal (view_dq_count (wf), 1);
    assert_int_key (event_data (0), "warnings", 1);
    const msgpack_object *dq = get (view_of (wf), "dq");
    assert_str (&dq->via.array.ptr[0], "rule", "a2-0");

    /* another source adds to the view */
    ACCEPTED (op_dq (wf, "B", findings (3, "b", "warning")));
    assert_int_equal (view_dq_count (wf), 4);
    /* an empty report clears only its own source */
    ACCEPTED (op_dq (wf, "A", build ("a", 0)));
    assert_int_equal (view_dq_count (wf), 3);
    assert_int_equal (wf->n_dq, 1);
    assert_int_key (event_data (0), "count", 0);
    dq = get (view_of (wf), "dq");
    for (uint32_t i = 0; i < 3; i++)
        assert_str (&dq->via.array.ptr[i], "source", "B");
    /* clearing a source that has nothing is fine */
    ACCEPTED (op_dq (wf, "Z", build ("a", 0)));
    assert_int_equal (view_dq_count (wf), 3);
    ACCEPTED (op_dq (wf, "B", build ("a", 0)));
    assert_int_equal (view_dq_count (wf), 0);
    assert_int_equal (wf->n_dq, 0);
    assert_int_equal (wf->version, 1);
    assert_round_trip (wf);
}

static void
test_dq_limits (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    /* 256 findings per report, not 257 */
    REFUSED (wf, op_dq (wf, "A", findings (WF_MAX_FINDINGS + 1, "r", "error")),
             EXF_VALIDATION, "findings");
    ACCEPTED (op_dq (wf, "A", findings (WF_MAX_FINDINGS, "r", "error")));
    assert_int_equal (view_dq_count (wf), WF_MAX_FINDINGS);
    /* 8 sources per workflow */
    for (int i = 1; i < WF_MAX_DQ_SOURCES; i++) {
        char src[16];
        snprintf (src, sizeof src, "S%d", i);
        ACCEPTED (op_dq (wf, src, findings (1, "r", "warning")));
    }
    assert_int_equal (wf->n_dq, WF_MAX_DQ_SOURCES);
    REFUSED (wf, op_dq (wf, "ninth", findings (1, "r", "warning")),
             EXF_VALIDATION, "source");
    /* ... but a known source may still replace, and an unknown one clear */
    ACCEPTED (op_dq (wf, "S3", findings (2, "r", "warning")));
    ACCEPTED (op_dq (wf, "ninth", build ("a", 0)));
    ACCEPTED (op_dq (wf, "S3", build ("a", 0)));
    ACCEPTED (op_dq (wf, "ninth", findings (1, "r", "warning")));
    assert_int_equal (wf->n_dq, WF_MAX_DQ_SOURCES);
    assert_int_equal (view_dq_count (wf), WF_MAX_FINDINGS + 7);
    assert_round_trip (wf);
}

static void
test_dq_bad_findings (void **state)
{
    (void) state;
    char msg501[502], rule65[66];
    memset (msg501, 'm', 501);
    msg501[501] = '\0';
    memset (rule65, 'r', 65);
    rule65[65] = '\0';
    workflow_t *wf = started3 ();
    ACCEPTED (op_dq (wf, "A", findings (1, "keep", "error")));
    /* not a map */
    REFUSED (wf, op_dq (wf, "A", build ("a[m{s:s, s:s, s:s}, s]", 2, 3,
                                        "rule", "r", "severity", "error",
                                        "message", "m", "oops")),
             EXF_BAD_REQUEST, "findings.1");
    /* severity */
    REFUSED (wf, op_dq (wf, "A", findings (1, "r", "info")), EXF_VALIDATION,
             NULL);
    REFUSED (wf, op_dq (wf, "A", findings (1, "r", "")), EXF_BAD_REQUEST,
             NULL);
    /* a client outside the household */
    REFUSED (wf, op_dq (wf, "A", build ("a[m{s:s, s:s, s:s, s:s}]", 1, 4,
                                        "rule", "r", "severity", "error",
                                        "client_id", "c99", "message", "m")),
             EXF_VALIDATION, NULL);
    /* missing or oversize fields */
    REFUSED (wf, op_dq (wf, "A", build ("a[m{s:s, s:s}]", 1, 2, "rule", "r",
                                        "severity", "error")),
             EXF_BAD_REQUEST, NULL);
    REFUSED (wf, op_dq (wf, "A", build ("a[m{s:s, s:s}]", 1, 2, "severity",
                                        "error", "message", "m")),
             EXF_BAD_REQUEST, NULL);
    REFUSED (wf, op_dq (wf, "A", build ("a[m{s:s, s:s, s:s}]", 1, 3, "rule",
                                        "r", "severity", "error", "message",
                                        msg501)),
             EXF_BAD_REQUEST, NULL);
    REFUSED (wf, op_dq (wf, "A", build ("a[m{s:s, s:s, s:s}]", 1, 3, "rule",
                                        rule65, "severity", "error",
                                        "message", "m")),
             EXF_BAD_REQUEST, NULL);
    REFUSED (wf, op_dq (wf, "A", build ("a[m{s:i, s:s, s:s}]", 1, 3, "rule",
                                        5, "severity", "error", "message",
                                        "m")),
             EXF_BAD_REQUEST, NULL);
    /* a bad finding after a good one refuses the whole report */
    REFUSED (wf, op_dq (wf, "A", build ("a[m{s:s, s:s, s:s}, "
                                        "m{s:s, s:s, s:s}]", 2,
                                        3, "rule", "r", "severity", "error",
                                        "message", "m",
                                        3, "rule", "r", "severity", "bad",
                                        "message", "m")),
             EXF_VALIDATION, NULL);
    /* a message of exactly 500 bytes is fine */
    msg501[500] = '\0';
    ACCEPTED (op_dq (wf, "A", build ("a[m{s:s, s:s, s:s}]", 1, 3, "rule",
                                     "r", "severity", "warning", "message",
                                     msg501)));
    assert_str (&get (view_of (wf), "dq")->via.array.ptr[0], "message",
                msg501);
}

/* A bad field inside a DQ finding is named by its dotted path,
 * findings.N.field (PROTOCOL.md §2.3). */
static void
test_dq_finding_field_path (void **state)
{
    (void) state;
    workflow_t *wf = started3 ();
    REFUSED (wf, op_dq (wf, "A", build ("a[m{s:s, s:s, s:s}, "
                                        "m{s:s, s:s, s:s}]", 2,
                                        3, "rule", "r", "severity", "error",
                                        "message", "m",
                                        3, "rule", "r", "severity", "info",
                                        "message", "m")),
             EXF_VALIDATION, "findings.1.severity");
    REFUSED (wf, op_dq (wf, "A", build ("a[m{s:s, s:s, s:s, s:s}]", 1, 4,
                                        "rule", "r", "severity", "error",
                                        "client_id", "c99", "message", "m")),
             EXF_VALIDATION, "findings.0.client_id");
    REFUSED (wf, op_dq (wf, "A", build ("a[m{s:s, s:s}]", 1, 2, "rule", "r",
                                        "severity", "error")),
             EXF_BAD_REQUEST, "findings.0.message");
}

/* ========================================================================
 * helpers: blobs, names
 * ====================================================================== */

static void
test_blobs_and_names (void **state)
{
    (void) state;
    blob_t b = { 0 };
    blob_set (&b, "abc", 3);
    assert_int_equal (b.len, 3);
    assert_memory_equal (b.ptr, "abc", 3);
    blob_set (&b, "", 0);
    assert_null (b.ptr);
    assert_int_equal (b.len, 0);
    blob_set_object (&b, build ("m{s:i}", 1, "k", 1));
    assert_int_key (decode_bytes (b.ptr, b.len), "k", 1);
    blob_fini (&b);
    blob_fini (&b);
    assert_null (b.ptr);

    exf_str_t s = { "finished", 8 };
    assert_int_equal (workflow_state_by_name (s), WF_FINISHED);
    s.ptr = "open";
    s.len = 4;
    assert_int_equal (workflow_state_by_name (s), WF_OPEN);
    s.ptr = "cancelled";
    s.len = 9;
    assert_int_equal (workflow_state_by_name (s), WF_CANCELLED);
    s.ptr = "opened";
    s.len = 6;
    assert_int_equal (workflow_state_by_name (s), -1);
    assert_int_equal (hud_step_by_name ("exit", 4), STEP_EXIT);
    assert_int_equal (hud_step_by_name ("income_benefits", 15),
                      STEP_INCOME_BENEFITS);
    assert_int_equal (hud_step_by_name ("exi", 3), -1);
    assert_int_equal (hud_step_by_name ("exits", 5), -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        T (test_start_opens_workflow),
        T (test_start_primary_need_not_be_head),
        T (test_start_accepts_head_count_flags_eva_2_3_4),
        T (test_two_heads_finish),
        T (test_start_relationship_codes),
        T (test_start_unknown_enrollment),
        T (test_start_entry_dates),
        T (test_start_duplicates),
        T (test_member_refusals_name_the_client),
        T (test_start_project_type),
        T (test_start_birth_date_3_03),
        T (test_start_move_in_date_3_20),
        T (test_effective_adult_on_the_exit_date_3_03),
        T (test_today_comes_from_the_context),
        T (test_assessments_are_typed),
        T (test_exit_form_accepted),
        T (test_exit_form_exit_date),
        T (test_exit_form_exit_date_per_member),
        T (test_exit_form_destination),
        T (test_exit_form_subsidy),
        T (test_exit_form_other_destination),
        T (test_other_destination_counts_characters),
        T (test_exit_form_unknown_fields_and_reason),
        T (test_save_needs_map_data),
        T (test_save_data_size_limit),
        T (test_save_exit_first),
        T (test_save_step_records_and_emits),
        T (test_default_last),
        T (test_default_last_exit_even_with_a_last_value),
        T (test_income_benefits_applicability),
        T (test_save_who_may),
        T (test_decide),
        T (test_finish_needs_decisions_and_steps),
        T (test_finish_pending_primary),
        T (test_finish_new_head_of_household),
        T (test_finish_events),
        T (test_finish_non_head_alone),
        T (test_finish_single_member),
        T (test_finish_full_household),
        T (test_cancel),
        T (test_closed_after_finish),
        T (test_closed_after_cancel),
        T (test_versions),
        T (test_refusals_change_nothing),
        T (test_progress_and_next_step),
        T (test_mark_stalled),
        T (test_dq_replace_and_clear),
        T (test_dq_limits),
        T (test_dq_bad_findings),
        T (test_dq_finding_field_path),
        T (test_blobs_and_names),
    };
    return cmocka_run_group_tests_name ("workflow", tests, NULL, NULL);
}
