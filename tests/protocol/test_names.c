/* test_names — the protocol's name tables and the HMIS vocabulary: every
 * name is unique and found again by its lookup, every error code is either
 * final or transient or neither but never both, and the HUD tables answer
 * for their codes and refuse others. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "protocol/hud.h"
#include "protocol/names.h"

static void
commands_round_trip (void **state)
{
    (void) state;
    for (int i = 0; i < EXF_CMD_COUNT; i++) {
        const char *n = exf_command_names[i];
        assert_non_null (n);
        assert_int_equal (exf_command_by_name (n, strlen (n)), i);
    }
    assert_int_equal (exf_command_by_name ("step.sav", 8), -1);
    assert_int_equal (exf_command_by_name ("step.save.", 10), -1);
    assert_string_equal (EXF_CMD_NAME (STEP_SAVE), "step.save");
}

static void
events_round_trip (void **state)
{
    (void) state;
    for (int i = 0; i < EXF_EV_COUNT; i++) {
        const char *n = exf_event_names[i];
        assert_non_null (n);
        assert_int_equal (exf_event_by_name (n, strlen (n)), i);
        for (int j = 0; j < i; j++)
            assert_string_not_equal (n, exf_event_names[j]);
    }
    assert_int_equal (exf_event_by_name ("member.exit", 11), -1);
    assert_string_equal (EXF_EV_NAME (MEMBER_EXITED), "member.exited");
}

static void
error_codes_classified (void **state)
{
    (void) state;
    assert_true (exf_error_code_count >= 8);
    for (size_t i = 0; i < exf_error_code_count; i++) {
        const exf_error_code_t *e = &exf_error_codes[i];
        assert_ptr_equal (exf_error_code (e->code), e);
        assert_false (e->final && e->transient);
    }
    assert_true (exf_error_code (EXF_CONFLICT)->final);
    assert_true (exf_error_code (EXF_UNAVAILABLE)->transient);
    assert_false (exf_error_code (EXF_BAD_REQUEST)->final);
    assert_null (exf_error_code ("NO_SUCH_CODE"));
}

static void
roles_round_trip (void **state)
{
    (void) state;
    unsigned all = 0;
    for (int i = 0; i < EXF_ROLE_COUNT; i++) {
        const char *n = exf_role_names[i];
        unsigned bit = exf_role_by_name (n, strlen (n));
        assert_int_equal (bit, 1u << i);
        assert_string_equal (exf_role_name (bit), n);
        all |= bit;
    }
    assert_int_equal (all, EXF_ROLE_ANY);
    assert_int_equal (exf_role_by_name ("root", 4), 0);
    assert_int_equal (exf_role_by_name ("admi", 4), 0);
    assert_null (exf_role_name (EXF_ROLE_OPS | EXF_ROLE_ADMIN));
    assert_string_equal (exf_role_name (EXF_ROLE_WORKER), "worker");
}

static void
hud_tables (void **state)
{
    (void) state;
    assert_int_equal (hud_destination (435)->needs_subsidy_type, true);
    assert_int_equal (hud_destination (17)->needs_other_text, true);
    assert_int_equal (hud_destination (410)->category, DEST_PERMANENT);
    assert_null (hud_destination (999));
    assert_string_equal (hud_relationship (HUD_HEAD_OF_HOUSEHOLD)->label,
                         "Self (head of household)");
    assert_null (hud_relationship (6));
    assert_true (hud_is_relationship (99));
    assert_true (hud_is_subsidy_type (419));
    assert_false (hud_is_subsidy_type (435));
    assert_true (hud_steps[STEP_INCOME_BENEFITS].adults_and_hoh_only);
    assert_false (hud_steps[STEP_EXIT].allows_default_last);
    assert_int_equal (hud_step_by_name ("disabilities", 12), STEP_DISABILITIES);
    /* 4.02/4.03 at exit: adults and the head of household, not children */
    assert_true (hud_member_answers_step (STEP_INCOME_BENEFITS, true, HUD_CHILD));
    assert_true (hud_member_answers_step (STEP_INCOME_BENEFITS, false,
                                          HUD_HEAD_OF_HOUSEHOLD));
    assert_false (hud_member_answers_step (STEP_INCOME_BENEFITS, false, HUD_CHILD));
    assert_true (hud_member_answers_step (STEP_DISABILITIES, false, HUD_CHILD));
    assert_int_equal (hud_step_by_name ("disabilitie", 11), -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (commands_round_trip),
        cmocka_unit_test (events_round_trip),
        cmocka_unit_test (error_codes_classified),
        cmocka_unit_test (roles_round_trip),
        cmocka_unit_test (hud_tables),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
