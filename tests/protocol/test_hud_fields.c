/* test_hud_fields — the typed exit assessments (protocol/hud_fields.c):
 * every kind of field the table holds is checked by hud_fields_check as
 * PROTOCOL.md §4.7 says (codes in and out of their HUD list, amounts and
 * their bounds, dates, text lengths, the CoC's local_ fields, unknown
 * fields, nil), each test naming the HUD element it exercises; the table's
 * own shape; hud.codes packing every list and every field; and
 * PROTOCOL.md naming every field of the table, so the document cannot
 * drift from it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/hud_fields.h"
#include "tests/support/msgpack_builder.h"

#ifndef PROTOCOL_MD
#define PROTOCOL_MD "protocol/PROTOCOL.md"
#endif

static exf_error_t ERR;

static int
teardown (void **state)
{
    (void) state;
    release_held ();
    return 0;
}

#define T(f) cmocka_unit_test_teardown (f, teardown)

/* ---- checking one value ---- */

/* {key: value} with the value packed by `pack`. */
typedef void (*value_fn) (msgpack_packer *pk, const void *arg);

static const msgpack_object *
one_field (const char *key, value_fn pack, const void *arg)
{
    held_t *h = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    codec_pack_cstr (&pk, key);
    pack (&pk, arg);
    return decode_held (h);
}

static void
pack_int (msgpack_packer *pk, const void *arg)
{
    msgpack_pack_int64 (pk, *(const int64_t *) arg);
}

static void
pack_u64 (msgpack_packer *pk, const void *arg)
{
    msgpack_pack_uint64 (pk, *(const uint64_t *) arg);
}

static void
pack_double (msgpack_packer *pk, const void *arg)
{
    msgpack_pack_double (pk, *(const double *) arg);
}

static void
pack_float (msgpack_packer *pk, const void *arg)
{
    msgpack_pack_float (pk, *(const float *) arg);
}

static void
pack_text (msgpack_packer *pk, const void *arg)
{
    codec_pack_cstr (pk, arg);
}

static void
pack_nil (msgpack_packer *pk, const void *arg)
{
    (void) arg;
    msgpack_pack_nil (pk);
}

static void
pack_true (msgpack_packer *pk, const void *arg)
{
    (void) arg;
    msgpack_pack_true (pk);
}

static void
pack_bin (msgpack_packer *pk, const void *arg)
{
    msgpack_pack_bin (pk, strlen (arg));
    msgpack_pack_bin_body (pk, arg, strlen (arg));
}

static void
pack_array (msgpack_packer *pk, const void *arg)
{
    (void) arg;
    msgpack_pack_array (pk, 1);
    msgpack_pack_int (pk, 1);
}

static void
pack_map (msgpack_packer *pk, const void *arg)
{
    (void) arg;
    msgpack_pack_map (pk, 1);
    codec_pack_cstr (pk, "a");
    msgpack_pack_int (pk, 1);
}

static bool
check (int step, const char *key, value_fn pack, const void *arg)
{
    exf_error_clear (&ERR);
    return hud_fields_check (step, one_field (key, pack, arg), &ERR);
}

#define ACCEPTS(step, key, pack, arg)                                          \
    do {                                                                       \
        if (!check (step, key, pack, arg))                                     \
            fail_msg ("line %d: %s.%s refused: %s", __LINE__,                 \
                      hud_steps[step].name, key, ERR.message);                 \
    } while (0)

/* Refused as VALIDATION naming `key`. */
#define REFUSES(step, key, pack, arg)                                          \
    do {                                                                       \
        if (check (step, key, pack, arg))                                      \
            fail_msg ("line %d: %s.%s accepted", __LINE__,                    \
                      hud_steps[step].name, key);                              \
        assert_string_equal (ERR.code, EXF_VALIDATION);                        \
        assert_string_equal (ERR.field, key);                                  \
        assert_true (ERR.message[0] != '\0');                                  \
    } while (0)

static void
accepts_ints (int step, const char *key, const int64_t *codes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!check (step, key, pack_int, &codes[i]))
            fail_msg ("%s.%s: code %lld refused: %s", hud_steps[step].name,
                      key, (long long) codes[i], ERR.message);
}

static void
refuses_ints (int step, const char *key, const int64_t *codes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (check (step, key, pack_int, &codes[i]))
            fail_msg ("%s.%s: code %lld accepted", hud_steps[step].name, key,
                      (long long) codes[i]);
        assert_string_equal (ERR.field, key);
    }
}

#define N(a) (sizeof (a) / sizeof *(a))

/* A code field refuses what is not an integer: text, a boolean, a float,
 * an array. */
static void
refuses_non_integers (int step, const char *key)
{
    static const double one = 1.0;
    REFUSES (step, key, pack_text, "1");
    REFUSES (step, key, pack_true, NULL);
    REFUSES (step, key, pack_double, &one);
    REFUSES (step, key, pack_array, NULL);
}

/* ---- codes: each list of the table ---- */

/* 1.8 (No/Yes/reasons missing): 4.04 InsuranceFromAnySource, 4.02
 * IncomeFromAnySource, 4.03 BenefitsFromAnySource, 3.08
 * DisablingCondition, 4.05 PhysicalDisability, 4.05 IndefiniteAndImpairs. */
static void
test_code_1_8_any_source_4_02_4_03_4_04_and_3_08 (void **state)
{
    (void) state;
    static const int64_t good[] = { 0, 1, 8, 9, 99 };
    static const int64_t bad[] = { 2, 3, 7, 10, 98, 100, -1, 1000,
                                   INT64_MAX, INT64_MIN };
    static const struct { int step; const char *key; } fields[] = {
        { STEP_HEALTH_INSURANCE, "insurance_from_any_source" },
        { STEP_INCOME_BENEFITS, "income_from_any_source" },
        { STEP_INCOME_BENEFITS, "benefits_from_any_source" },
        { STEP_UNIVERSAL_DATA, "disabling_condition" },
        { STEP_DISABILITIES, "physical" },
        { STEP_DISABILITIES, "physical_indefinite_and_impairs" },
    };
    for (size_t i = 0; i < N (fields); i++) {
        accepts_ints (fields[i].step, fields[i].key, good, N (good));
        refuses_ints (fields[i].step, fields[i].key, bad, N (bad));
        refuses_non_integers (fields[i].step, fields[i].key);
    }
    /* the message lists the allowed codes with HUD's labels */
    int64_t two = 2;
    REFUSES (STEP_HEALTH_INSURANCE, "insurance_from_any_source", pack_int,
             &two);
    assert_non_null (strstr (ERR.message, "4.04"));
    assert_non_null (strstr (ERR.message, "99 (Data not collected)"));
    uint64_t huge = UINT64_MAX;
    REFUSES (STEP_UNIVERSAL_DATA, "disabling_condition", pack_u64, &huge);
}

/* 1.7 (No/Yes/missing) for each source: 4.04 Medicaid, 4.02 Earned, 4.03
 * SNAP — 8 and 9 are not in it. */
static void
test_code_1_7_sources_4_02_earned_4_03_snap_4_04_medicaid (void **state)
{
    (void) state;
    static const int64_t good[] = { 0, 1, 99 };
    static const int64_t bad[] = { 8, 9, 2, -1, 100 };
    static const struct { int step; const char *key; } fields[] = {
        { STEP_HEALTH_INSURANCE, "medicaid" },
        { STEP_HEALTH_INSURANCE, "other_insurance" },
        { STEP_INCOME_BENEFITS, "earned" },
        { STEP_INCOME_BENEFITS, "other_income_source" },
        { STEP_INCOME_BENEFITS, "snap" },
        { STEP_INCOME_BENEFITS, "other_benefits_source" },
    };
    for (size_t i = 0; i < N (fields); i++) {
        accepts_ints (fields[i].step, fields[i].key, good, N (good));
        refuses_ints (fields[i].step, fields[i].key, bad, N (bad));
        refuses_non_integers (fields[i].step, fields[i].key);
    }
}

/* 4.10.2 substance use has its own codes (1 alcohol, 2 drug, 3 both); the
 * other disabilities (4.05-4.09) answer 1.8 and refuse 2 and 3. */
static void
test_code_4_10_2_substance_use_vs_4_05_to_4_09 (void **state)
{
    (void) state;
    static const int64_t good[] = { 0, 1, 2, 3, 8, 9, 99 };
    static const int64_t bad[] = { 4, 5, 7, 10, 98, -2 };
    accepts_ints (STEP_DISABILITIES, "substance_use", good, N (good));
    refuses_ints (STEP_DISABILITIES, "substance_use", bad, N (bad));
    refuses_non_integers (STEP_DISABILITIES, "substance_use");
    static const int64_t not_1_8[] = { 2, 3 };
    static const char *const others[] = { "physical", "developmental",
                                          "chronic_health", "hiv_aids",
                                          "mental_health",
                                          "substance_use_indefinite_and_impairs" };
    for (size_t i = 0; i < N (others); i++)
        refuses_ints (STEP_DISABILITIES, others[i], not_1_8, N (not_1_8));
}

/* 3.12.A rental subsidy type: every code of its list, nothing else (435
 * is a destination, not a subsidy type). */
static void
test_code_3_12_A_destination_subsidy_type (void **state)
{
    (void) state;
    const hud_list_t *l = &hud_lists[HUD_LIST_SUBSIDY_TYPE];
    for (int i = 0; i < l->n; i++) {
        int64_t code = l->codes[i].code;
        ACCEPTS (STEP_EXIT, "destination_subsidy_type", pack_int, &code);
    }
    static const int64_t bad[] = { 435, 410, 0, 1, 99, 418, 421, 427, 429,
                                   441, -428 };
    refuses_ints (STEP_EXIT, "destination_subsidy_type", bad, N (bad));
    refuses_non_integers (STEP_EXIT, "destination_subsidy_type");
}

/* 3.12 destination: every code of hud_destinations, nothing else. */
static void
test_destination_3_12 (void **state)
{
    (void) state;
    for (int i = 0; i < hud_destination_count; i++) {
        int64_t code = hud_destinations[i].code;
        ACCEPTS (STEP_EXIT, "destination", pack_int, &code);
    }
    static const int64_t bad[] = { 0, 1, 2, 37, 100, 335, 428, 436, 999,
                                   -410, 4294967706LL };
    refuses_ints (STEP_EXIT, "destination", bad, N (bad));
    refuses_non_integers (STEP_EXIT, "destination");
    uint64_t huge = UINT64_MAX;
    REFUSES (STEP_EXIT, "destination", pack_u64, &huge);
}

/* ---- amounts: 4.02A monthly amounts, 4.02 TotalMonthlyIncome ---- */

static void
test_amount_4_02A_earned_amount_and_4_02_total_monthly_income (void **state)
{
    (void) state;
    static const char *const keys[] = { "earned_amount", "ssi_amount",
                                        "other_income_amount",
                                        "total_monthly_income" };
    static const double good_f[] = { 0.0, 0.01, 1234.56, HUD_AMOUNT_MAX };
    static const int64_t good_i[] = { 0, 1, 1200, 10000000 };
    static const float good_32 = 812.5f;
    static const double bad_f[] = { -0.01, -1.0, HUD_AMOUNT_MAX + 0.01, 1e300,
                                    -1e300 };
    static const int64_t bad_i[] = { -1, 10000001, INT64_MAX, INT64_MIN };
    double nan = NAN, inf = INFINITY;
    uint64_t huge = UINT64_MAX;
    for (size_t k = 0; k < N (keys); k++) {
        const char *key = keys[k];
        for (size_t i = 0; i < N (good_f); i++)
            ACCEPTS (STEP_INCOME_BENEFITS, key, pack_double, &good_f[i]);
        accepts_ints (STEP_INCOME_BENEFITS, key, good_i, N (good_i));
        ACCEPTS (STEP_INCOME_BENEFITS, key, pack_float, &good_32);
        for (size_t i = 0; i < N (bad_f); i++)
            REFUSES (STEP_INCOME_BENEFITS, key, pack_double, &bad_f[i]);
        refuses_ints (STEP_INCOME_BENEFITS, key, bad_i, N (bad_i));
        REFUSES (STEP_INCOME_BENEFITS, key, pack_double, &nan);
        REFUSES (STEP_INCOME_BENEFITS, key, pack_double, &inf);
        REFUSES (STEP_INCOME_BENEFITS, key, pack_u64, &huge);
        REFUSES (STEP_INCOME_BENEFITS, key, pack_text, "1200");
        REFUSES (STEP_INCOME_BENEFITS, key, pack_true, NULL);
        REFUSES (STEP_INCOME_BENEFITS, key, pack_map, NULL);
    }
}

/* ---- dates: 3.11 exit date ---- */

static void
test_date_3_11_exit_date (void **state)
{
    (void) state;
    static const char *const good[] = { "2026-11-20", "2024-02-29",
                                        "1999-12-31" };
    static const char *const bad[] = { "2026-02-30", "2023-02-29", "2026-1-01",
                                       "2026-13-01", "2026/11/20", "20261120",
                                       "", "2026-11-20T00:00:00Z",
                                       "abcd-ef-gh" };
    for (size_t i = 0; i < N (good); i++)
        ACCEPTS (STEP_EXIT, "exit_date", pack_text, good[i]);
    for (size_t i = 0; i < N (bad); i++)
        REFUSES (STEP_EXIT, "exit_date", pack_text, bad[i]);
    int64_t n = 20261120;
    REFUSES (STEP_EXIT, "exit_date", pack_int, &n);
    REFUSES (STEP_EXIT, "exit_date", pack_bin, "2026-11-20");
}

/* ---- text: 4.04/4.02/4.03 "identify" (50), 3.12 OtherDestination (50),
 * the local exit reason (500); characters, not bytes ---- */

static char *
repeat (const char *unit, int n)
{
    held_t *h = hold ();
    for (int i = 0; i < n; i++)
        msgpack_sbuffer_write (&h->sb, unit, strlen (unit));
    msgpack_sbuffer_write (&h->sb, "", 1);
    return h->sb.data;
}

static void
test_text_4_04_4_02_4_03_identify_3_12_other_destination_exit_reason (void **state)
{
    (void) state;
    static const struct { int step; const char *key; int max; } fields[] = {
        { STEP_HEALTH_INSURANCE, "other_insurance_identify", 50 },
        { STEP_INCOME_BENEFITS, "other_income_source_identify", 50 },
        { STEP_INCOME_BENEFITS, "other_benefits_source_identify", 50 },
        { STEP_EXIT, "other_destination", HUD_OTHER_DESTINATION_MAX },
        { STEP_EXIT, "exit_reason", 500 },
    };
    for (size_t i = 0; i < N (fields); i++) {
        int step = fields[i].step, max = fields[i].max;
        const char *key = fields[i].key;
        assert_int_equal (hud_field_find (step, key, strlen (key))->max_chars,
                          max);
        ACCEPTS (step, key, pack_text, "");
        ACCEPTS (step, key, pack_text, repeat ("a", max));
        REFUSES (step, key, pack_text, repeat ("a", max + 1));
        /* é is two bytes, one character */
        ACCEPTS (step, key, pack_text, repeat ("\xc3\xa9", max));
        REFUSES (step, key, pack_text, repeat ("\xc3\xa9", max + 1));
        int64_t five = 5;
        REFUSES (step, key, pack_int, &five);
        REFUSES (step, key, pack_true, NULL);
        REFUSES (step, key, pack_bin, "text");
    }
}

/* ---- the CoC's own questions ---- */

/* Keys starting with local_ are any scalar in every step; not a map or an
 * array; "local_" alone is no local name. */
static void
test_local_fields_any_scalar_every_step (void **state)
{
    (void) state;
    int64_t i = -7;
    double d = 2.5;
    for (int s = 0; s < STEP_COUNT; s++) {
        ACCEPTS (s, "local_housing_plan", pack_text, "signed");
        ACCEPTS (s, "local_visits", pack_int, &i);
        ACCEPTS (s, "local_score", pack_double, &d);
        ACCEPTS (s, "local_consent", pack_true, NULL);
        ACCEPTS (s, "local_nothing", pack_nil, NULL);
        ACCEPTS (s, "local_blob", pack_bin, "bytes");
        REFUSES (s, "local_list", pack_array, NULL);
        REFUSES (s, "local_form", pack_map, NULL);
        REFUSES (s, HUD_LOCAL_PREFIX, pack_text, "x");
        REFUSES (s, "Local_x", pack_text, "x");
    }
}

/* ---- unknown fields, keys, nil, incomplete data ---- */

static void
test_unknown_fields_are_refused_by_name (void **state)
{
    (void) state;
    int64_t one = 1;
    REFUSES (STEP_EXIT, "exit_reson", pack_text, "typo");
    REFUSES (STEP_UNIVERSAL_DATA, "veteran", pack_text, "no");
    /* a field of another step is unknown here */
    REFUSES (STEP_INCOME_BENEFITS, "medicaid", pack_int, &one);
    REFUSES (STEP_UNIVERSAL_DATA, "exit_date", pack_text, "2026-11-20");
    REFUSES (STEP_HEALTH_INSURANCE, "earned", pack_int, &one);
    /* case and spelling matter: the names are the wire's */
    REFUSES (STEP_HEALTH_INSURANCE, "Medicaid", pack_int, &one);
    REFUSES (STEP_INCOME_BENEFITS, "earned_amt", pack_int, &one);
    REFUSES (STEP_INCOME_BENEFITS, "", pack_int, &one);
    /* the unknown field is named even after good ones, and a later bad
     * one is not reached */
    const msgpack_object *data = build ("m{s:i, s:i, s:s}", 3, "medicaid", 1,
                                        "medicade", 1, "cobra", "x");
    assert_false (hud_fields_check (STEP_HEALTH_INSURANCE, data, &ERR));
    assert_string_equal (ERR.field, "medicade");
    /* a key that is not a string */
    held_t *h = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_int (&pk, 7);
    msgpack_pack_int (&pk, 1);
    exf_error_clear (&ERR);
    assert_false (hud_fields_check (STEP_DISABILITIES, decode_held (h), &ERR));
    assert_string_equal (ERR.code, EXF_VALIDATION);
    assert_string_equal (ERR.field, "data");
}

/* nil is absent for every field of every step; incomplete data (an empty
 * map, a lone answer) is accepted: completeness is the DQ worker's. */
static void
test_nil_is_absent_and_incomplete_is_accepted (void **state)
{
    (void) state;
    for (int s = 0; s < STEP_COUNT; s++) {
        exf_error_clear (&ERR);
        assert_true (hud_fields_check (s, build ("m", 0), &ERR));
        const hud_step_fields_t *t = &hud_step_fields[s];
        for (int i = 0; i < t->n; i++)
            ACCEPTS (s, t->fields[i].name, pack_nil, NULL);
    }
    ACCEPTS (STEP_INCOME_BENEFITS, "earned", pack_int, &(int64_t) { 1 });
}

/* A value of each row's type is accepted and a value of another type is
 * refused, naming the field: no row is left unchecked. */
static void
test_every_row_has_a_working_type (void **state)
{
    (void) state;
    for (int s = 0; s < STEP_COUNT; s++) {
        const hud_step_fields_t *t = &hud_step_fields[s];
        for (int i = 0; i < t->n; i++) {
            const hud_field_t *f = &t->fields[i];
            int64_t code = 0;
            switch (f->type) {
            case FIELD_CODE:
                code = hud_lists[f->list].codes[0].code;
                ACCEPTS (s, f->name, pack_int, &code);
                REFUSES (s, f->name, pack_text, "0");
                break;
            case FIELD_DESTINATION:
                code = hud_destinations[0].code;
                ACCEPTS (s, f->name, pack_int, &code);
                REFUSES (s, f->name, pack_text, "410");
                break;
            case FIELD_AMOUNT:
                ACCEPTS (s, f->name, pack_int, &code);
                REFUSES (s, f->name, pack_text, "0");
                break;
            case FIELD_DATE:
                ACCEPTS (s, f->name, pack_text, "2026-01-01");
                REFUSES (s, f->name, pack_int, &code);
                break;
            case FIELD_TEXT:
                ACCEPTS (s, f->name, pack_text, "some text");
                REFUSES (s, f->name, pack_int, &code);
                break;
            case FIELD_TYPE_COUNT:
                fail_msg ("%s has no type", f->name);
            }
        }
    }
}

/* ---- the table itself ---- */

static void
test_table_shape (void **state)
{
    (void) state;
    size_t plen = strlen (HUD_LOCAL_PREFIX);
    for (int s = 0; s < STEP_COUNT; s++) {
        const hud_step_fields_t *t = &hud_step_fields[s];
        assert_true (t->n > 0);
        for (int i = 0; i < t->n; i++) {
            const hud_field_t *f = &t->fields[i];
            assert_true (f->name[0] && f->element[0]);
            assert_true (strncmp (f->name, HUD_LOCAL_PREFIX, plen) != 0);
            for (const char *p = f->name; *p; p++)
                assert_non_null (strchr ("abcdefghijklmnopqrstuvwxyz_", *p));
            assert_ptr_equal (hud_field_find (s, f->name, strlen (f->name)), f);
            /* a label is for people: starts with a capital, no snake_case,
             * and tells the step's questions apart */
            assert_true (f->label && f->label[0] >= 'A' && f->label[0] <= 'Z');
            assert_null (strchr (f->label, '_'));
            for (int j = 0; j < i; j++) {
                assert_string_not_equal (f->name, t->fields[j].name);
                assert_string_not_equal (f->label, t->fields[j].label);
            }
            if (f->type == FIELD_CODE)
                assert_true (f->list < HUD_LIST_COUNT);
            if (f->type == FIELD_TEXT)
                assert_true (f->max_chars > 0);
            /* a source's pair is its amount, a disability's its impairs */
            if (f->pair) {
                const hud_field_t *p = hud_field_find (s, f->pair,
                                                       strlen (f->pair));
                assert_non_null (p);
                assert_int_equal (p->role, f->role == ROLE_SOURCE
                                           ? ROLE_AMOUNT : ROLE_IMPAIRS);
                assert_int_equal (p->group, f->group);
            }
            if (f->role == ROLE_AMOUNT || f->role == ROLE_TOTAL)
                assert_int_equal (f->type, FIELD_AMOUNT);
            if (f->group != GROUP_NONE)
                assert_int_equal (hud_groups[f->group].step, s);
        }
    }
    for (int g = GROUP_NONE + 1; g < GROUP_COUNT; g++) {
        const hud_group_t *gr = &hud_groups[g];
        if (gr->any_source)
            assert_int_equal (hud_field_find (gr->step, gr->any_source,
                                              strlen (gr->any_source))->role,
                              ROLE_ANY_SOURCE);
        if (gr->total)
            assert_int_equal (hud_field_find (gr->step, gr->total,
                                              strlen (gr->total))->role,
                              ROLE_TOTAL);
    }
    assert_null (hud_field_find (STEP_COUNT, "exit_date", 9));
    assert_null (hud_field_find (-1, "exit_date", 9));
    assert_null (hud_field_find (STEP_EXIT, "exit_dat", 8));
}

/* ---- hud.codes ---- */

static const char *
str_at (const msgpack_object *map, const char *key, char *buf, size_t cap)
{
    const msgpack_object *v = codec_map_get (map, key);
    if (!v)
        fail_msg ("key %s missing", key);
    if (v->type == MSGPACK_OBJECT_NIL)
        return NULL;
    assert_int_equal (v->type, MSGPACK_OBJECT_STR);
    codec_str_copy (buf, cap, codec_str_of (v));
    return buf;
}

static void
assert_str_or_nil (const msgpack_object *map, const char *key,
                   const char *want)
{
    char buf[600];
    const char *got = str_at (map, key, buf, sizeof buf);
    if (!want || !got) {
        if (want != got && !(want && !want[0] && !got))
            fail_msg ("%s: want %s, got %s", key, want ? want : "nil",
                      got ? got : "nil");
        return;
    }
    assert_string_equal (got, want);
}

static int64_t
int_at (const msgpack_object *map, const char *key)
{
    const msgpack_object *v = codec_map_get (map, key);
    assert_non_null (v);
    assert_true (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                 || v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER);
    return v->via.i64;
}

static bool
bool_at (const msgpack_object *map, const char *key)
{
    const msgpack_object *v = codec_map_get (map, key);
    assert_non_null (v);
    assert_int_equal (v->type, MSGPACK_OBJECT_BOOLEAN);
    return v->via.boolean;
}

static void
assert_codes (const msgpack_object *codes, const hud_code_t *want, int n)
{
    assert_int_equal (codes->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (codes->via.array.size, n);
    for (int i = 0; i < n; i++) {
        const msgpack_object *c = &codes->via.array.ptr[i];
        assert_int_equal (c->via.map.size, 2);
        assert_int_equal (int_at (c, "code"), want[i].code);
        assert_str_or_nil (c, "label", want[i].label);
    }
}

static void
assert_field (const msgpack_object *o, const hud_field_t *f)
{
    assert_int_equal (o->via.map.size, 10);
    assert_str_or_nil (o, "name", f->name);
    assert_str_or_nil (o, "label", f->label);
    assert_str_or_nil (o, "element", f->element);
    assert_str_or_nil (o, "column", f->column);
    assert_str_or_nil (o, "type", hud_field_type_names[f->type]);
    assert_str_or_nil (o, "list", f->type == FIELD_CODE
                                  ? hud_lists[f->list].name : NULL);
    if (f->type == FIELD_TEXT)
        assert_int_equal (int_at (o, "max_chars"), f->max_chars);
    else
        assert_int_equal (codec_map_get (o, "max_chars")->type,
                          MSGPACK_OBJECT_NIL);
    assert_str_or_nil (o, "group", hud_groups[f->group].name);
    assert_str_or_nil (o, "role", hud_field_role_names[f->role]);
    assert_str_or_nil (o, "pair", f->pair);
}

/* The result of hud.codes holds every list with every code and label,
 * every destination with its category and needs, and every step with
 * every field as the table has it. */
static void
test_hud_codes_packs_every_list_and_field (void **state)
{
    (void) state;
    held_t *h = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    hud_codes_pack (&pk);
    const msgpack_object *r = decode_held (h);
    assert_int_equal (r->via.map.size, 5);

    const msgpack_object *lists = codec_map_get (r, "lists");
    assert_int_equal (lists->via.map.size, HUD_LIST_COUNT);
    for (int i = 0; i < HUD_LIST_COUNT; i++) {
        const msgpack_object *l = codec_map_get (lists, hud_lists[i].name);
        assert_non_null (l);
        assert_str_or_nil (l, "element", hud_lists[i].element);
        assert_codes (codec_map_get (l, "codes"), hud_lists[i].codes,
                      hud_lists[i].n);
    }

    const msgpack_object *d = codec_map_get (r, "destinations");
    assert_int_equal (d->via.array.size, hud_destination_count);
    for (int i = 0; i < hud_destination_count; i++) {
        const msgpack_object *o = &d->via.array.ptr[i];
        const hud_destination_t *want = &hud_destinations[i];
        assert_int_equal (int_at (o, "code"), want->code);
        assert_str_or_nil (o, "label", want->label);
        assert_str_or_nil (o, "category",
                           hud_dest_category_names[want->category]);
        assert_int_equal (bool_at (o, "needs_subsidy_type"),
                          want->needs_subsidy_type);
        assert_int_equal (bool_at (o, "needs_other_text"),
                          want->needs_other_text);
    }
    const msgpack_object *cats = codec_map_get (r, "destination_categories");
    assert_int_equal (cats->via.array.size, DEST_CATEGORY_COUNT);
    for (int i = 0; i < DEST_CATEGORY_COUNT; i++)
        assert_true (codec_str_eq (codec_str_of (&cats->via.array.ptr[i]),
                                   hud_dest_category_names[i]));

    const msgpack_object *steps = codec_map_get (r, "steps");
    assert_int_equal (steps->via.array.size, STEP_COUNT);
    for (int s = 0; s < STEP_COUNT; s++) {
        const msgpack_object *o = &steps->via.array.ptr[s];
        assert_str_or_nil (o, "name", hud_steps[s].name);
        assert_str_or_nil (o, "elements", hud_steps[s].elements);
        assert_int_equal (bool_at (o, "adults_and_hoh_only"),
                          hud_steps[s].adults_and_hoh_only);
        assert_int_equal (bool_at (o, "allows_default_last"),
                          hud_steps[s].allows_default_last);
        const msgpack_object *fields = codec_map_get (o, "fields");
        assert_int_equal (fields->via.array.size, hud_step_fields[s].n);
        for (int i = 0; i < hud_step_fields[s].n; i++)
            assert_field (&fields->via.array.ptr[i],
                          &hud_step_fields[s].fields[i]);
    }
    assert_str_or_nil (r, "local_prefix", HUD_LOCAL_PREFIX);
}

/* ---- the document ---- */

static char *
read_file (const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        fail_msg ("cannot open %s", path);
    fseek (f, 0, SEEK_END);
    long n = ftell (f);
    fseek (f, 0, SEEK_SET);
    char *text = malloc ((size_t) n + 1);
    assert_non_null (text);
    assert_int_equal (fread (text, 1, (size_t) n, f), (size_t) n);
    text[n] = '\0';
    fclose (f);
    return text;
}

/* Whether some table row of `doc` starts with `name` in backquotes, its
 * label in the next cell, and names `element` in a cell of its own. */
static bool
row_names (const char *doc, const char *name, const char *label,
           const char *element)
{
    char first[256], cell[64];
    snprintf (first, sizeof first, "\n| `%s` | %s |", name, label);
    snprintf (cell, sizeof cell, "| %s |", element);
    for (const char *row = strstr (doc, first); row;
         row = strstr (row + 1, first)) {
        const char *eol = strchr (row + 1, '\n');
        const char *el = strstr (row, cell);
        if (el && (!eol || el < eol))
            return true;
    }
    return false;
}

/* PROTOCOL.md §4.7 names every field of the table as `name` (in
 * backquotes: "earned" inside "earned_amount" does not count), with its
 * label in the next cell and its HUD element on the same line, and every code list by its wire name: the
 * specification cannot drift from the table unnoticed. */
static void
test_protocol_md_names_every_field (void **state)
{
    (void) state;
    char *doc = read_file (PROTOCOL_MD);
    char want[128];
    for (int s = 0; s < STEP_COUNT; s++)
        for (int i = 0; i < hud_step_fields[s].n; i++) {
            const hud_field_t *f = &hud_step_fields[s].fields[i];
            if (!row_names (doc, f->name, f->label, f->element))
                fail_msg ("PROTOCOL.md has no table row for field %s (step "
                          "%s) giving its label \"%s\" and naming its HUD "
                          "element %s", f->name, hud_steps[s].name, f->label,
                          f->element);
        }
    for (int i = 0; i < HUD_LIST_COUNT; i++) {
        snprintf (want, sizeof want, "`%s`", hud_lists[i].name);
        if (!strstr (doc, want))
            fail_msg ("PROTOCOL.md does not name list %s", hud_lists[i].name);
    }
    snprintf (want, sizeof want, "`%s`", HUD_LOCAL_PREFIX);
    assert_non_null (strstr (doc, want));
    assert_non_null (strstr (doc, "`hud.codes`"));
    free (doc);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        T (test_code_1_8_any_source_4_02_4_03_4_04_and_3_08),
        T (test_code_1_7_sources_4_02_earned_4_03_snap_4_04_medicaid),
        T (test_code_4_10_2_substance_use_vs_4_05_to_4_09),
        T (test_code_3_12_A_destination_subsidy_type),
        T (test_destination_3_12),
        T (test_amount_4_02A_earned_amount_and_4_02_total_monthly_income),
        T (test_date_3_11_exit_date),
        T (test_text_4_04_4_02_4_03_identify_3_12_other_destination_exit_reason),
        T (test_local_fields_any_scalar_every_step),
        T (test_unknown_fields_are_refused_by_name),
        T (test_nil_is_absent_and_incomplete_is_accepted),
        T (test_every_row_has_a_working_type),
        T (test_table_shape),
        T (test_hud_codes_packs_every_list_and_field),
        T (test_protocol_md_names_every_field),
    };
    return cmocka_run_group_tests_name ("hud_fields", tests, NULL, NULL);
}
