/* hud_fields — the typed exit assessments. See hud_fields.h. Element
 * numbers are HUD's (FY2024 Data Dictionary); columns are the HMIS CSV
 * FY2026 v1.0 names of Exit.csv, IncomeBenefits.csv and Disabilities.csv. */
#include "hud_fields.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define COUNT(a) ((int) (sizeof (a) / sizeof (a)[0]))

const char *const hud_field_type_names[FIELD_TYPE_COUNT] = {
    [FIELD_CODE] = "code", [FIELD_DESTINATION] = "destination",
    [FIELD_AMOUNT] = "amount", [FIELD_DATE] = "date", [FIELD_TEXT] = "text" };

const char *const hud_field_role_names[ROLE_COUNT] = {
    [ROLE_ANSWER] = "answer", [ROLE_ANY_SOURCE] = "any_source",
    [ROLE_SOURCE] = "source", [ROLE_AMOUNT] = "amount",
    [ROLE_TOTAL] = "total", [ROLE_IDENTIFY] = "identify",
    [ROLE_IMPAIRS] = "indefinite_and_impairs" };

/* Row shapes. `label` is HUD's wording for the question, shortened where
 * HUD's runs to a sentence; an income source's amount is its label and
 * " amount". */
#define ANY(name, label, el, col, group) \
    { name, label, el, col, FIELD_CODE, HUD_LIST_NO_YES_REASONS, 0, group, ROLE_ANY_SOURCE, NULL, 0 }
#define SOURCE(name, label, el, col, group, amount) \
    { name, label, el, col, FIELD_CODE, HUD_LIST_NO_YES_MISSING, 0, group, ROLE_SOURCE, amount, 0 }
#define AMOUNT(name, label, el, col, group, role) \
    { name, label, el, col, FIELD_AMOUNT, 0, 0, group, role, NULL, 0 }
#define IDENTIFY(name, label, el, col, group) \
    { name, label, el, col, FIELD_TEXT, 0, HUD_IDENTIFY_MAX, group, ROLE_IDENTIFY, NULL, 0 }
#define INCOME(name, label, el, col, amount_col) \
    SOURCE (name, label, el, col, GROUP_INCOME, name "_amount"), \
    AMOUNT (name "_amount", label " amount", el "A", amount_col, GROUP_INCOME, ROLE_AMOUNT)
#define DISABILITY(name, label, el, type, list, impairs) \
    { name, label, el, "DisabilityResponse", FIELD_CODE, list, 0, GROUP_DISABILITY, ROLE_ANSWER, impairs, type }
/* HUD: "expected to be of long-continued and indefinite duration and
 * substantially impairs ability to live independently". */
#define IMPAIRS(name, label, el, type) \
    { name, label ": long-lasting and impairs independent living", el, "IndefiniteAndImpairs", FIELD_CODE, HUD_LIST_NO_YES_REASONS, 0, GROUP_DISABILITY, ROLE_IMPAIRS, NULL, type }

static const hud_field_t exit_fields[] = {
    { "exit_date", "Project exit date", "3.11", "ExitDate", FIELD_DATE, 0, 0, GROUP_NONE, ROLE_ANSWER, NULL, 0 },
    { "destination", "Destination", "3.12", "Destination", FIELD_DESTINATION, 0, 0, GROUP_NONE, ROLE_ANSWER, NULL, 0 },
    { "destination_subsidy_type", "Rental subsidy type", "3.12.A", "DestinationSubsidyType", FIELD_CODE, HUD_LIST_SUBSIDY_TYPE, 0, GROUP_NONE, ROLE_ANSWER, NULL, 0 },
    { "other_destination", "Other destination (specify)", "3.12", "OtherDestination", FIELD_TEXT, 0, HUD_OTHER_DESTINATION_MAX, GROUP_NONE, ROLE_IDENTIFY, NULL, 0 },
    /* ClientTrack's exit reason: no HUD element, no CSV column. */
    { "exit_reason", "Reason for leaving", "local", NULL, FIELD_TEXT, 0, 500, GROUP_NONE, ROLE_ANSWER, NULL, 0 },
};

/* HUD collects 3.08 at project start; ClientTrack's exit Universal Data
 * Assessment shows it for review. Enrollment.csv holds it. */
static const hud_field_t universal_fields[] = {
    { "disabling_condition", "Disabling condition", "3.08", "DisablingCondition", FIELD_CODE, HUD_LIST_NO_YES_REASONS, 0, GROUP_NONE, ROLE_ANSWER, NULL, 0 },
};

static const hud_field_t insurance_fields[] = {
    ANY ("insurance_from_any_source", "Covered by health insurance", "4.04", "InsuranceFromAnySource", GROUP_INSURANCE),
    SOURCE ("medicaid", "Medicaid", "4.04", "Medicaid", GROUP_INSURANCE, NULL),
    SOURCE ("medicare", "Medicare", "4.04", "Medicare", GROUP_INSURANCE, NULL),
    SOURCE ("schip", "State Children's Health Insurance Program", "4.04", "SCHIP", GROUP_INSURANCE, NULL),
    SOURCE ("vha_services", "Veterans Health Administration (VHA)", "4.04", "VHAServices", GROUP_INSURANCE, NULL),
    SOURCE ("employer_provided", "Employer-provided health insurance", "4.04", "EmployerProvided", GROUP_INSURANCE, NULL),
    SOURCE ("cobra", "Health insurance obtained through COBRA", "4.04", "COBRA", GROUP_INSURANCE, NULL),
    SOURCE ("private_pay", "Private pay health insurance", "4.04", "PrivatePay", GROUP_INSURANCE, NULL),
    SOURCE ("state_health_ins", "State health insurance for adults", "4.04", "StateHealthIns", GROUP_INSURANCE, NULL),
    SOURCE ("indian_health_services", "Indian Health Services Program", "4.04", "IndianHealthServices", GROUP_INSURANCE, NULL),
    SOURCE ("other_insurance", "Other health insurance", "4.04", "OtherInsurance", GROUP_INSURANCE, NULL),
    IDENTIFY ("other_insurance_identify", "Other health insurance (specify)", "4.04", "OtherInsuranceIdentify", GROUP_INSURANCE),
};

static const hud_field_t disability_fields[] = {
    DISABILITY ("physical", "Physical disability", "4.05", 5, HUD_LIST_NO_YES_REASONS, "physical_indefinite_and_impairs"),
    IMPAIRS ("physical_indefinite_and_impairs", "Physical disability", "4.05", 5),
    DISABILITY ("developmental", "Developmental disability", "4.06", 6, HUD_LIST_NO_YES_REASONS, NULL),
    DISABILITY ("chronic_health", "Chronic health condition", "4.07", 7, HUD_LIST_NO_YES_REASONS, "chronic_health_indefinite_and_impairs"),
    IMPAIRS ("chronic_health_indefinite_and_impairs", "Chronic health condition", "4.07", 7),
    DISABILITY ("hiv_aids", "HIV/AIDS", "4.08", 8, HUD_LIST_NO_YES_REASONS, NULL),
    DISABILITY ("mental_health", "Mental health disorder", "4.09", 9, HUD_LIST_NO_YES_REASONS, "mental_health_indefinite_and_impairs"),
    IMPAIRS ("mental_health_indefinite_and_impairs", "Mental health disorder", "4.09", 9),
    DISABILITY ("substance_use", "Substance use disorder", "4.10", 10, HUD_LIST_SUBSTANCE_USE, "substance_use_indefinite_and_impairs"),
    IMPAIRS ("substance_use_indefinite_and_impairs", "Substance use disorder", "4.10", 10),
};

static const hud_field_t income_fields[] = {
    ANY ("income_from_any_source", "Income from any source", "4.02", "IncomeFromAnySource", GROUP_INCOME),
    AMOUNT ("total_monthly_income", "Total monthly income", "4.02", "TotalMonthlyIncome", GROUP_INCOME, ROLE_TOTAL),
    INCOME ("earned", "Earned income", "4.02", "Earned", "EarnedAmount"),
    INCOME ("unemployment", "Unemployment insurance", "4.02", "Unemployment", "UnemploymentAmount"),
    INCOME ("ssi", "Supplemental Security Income (SSI)", "4.02", "SSI", "SSIAmount"),
    INCOME ("ssdi", "Social Security Disability Insurance (SSDI)", "4.02", "SSDI", "SSDIAmount"),
    INCOME ("va_disability_service", "VA service-connected disability compensation", "4.02", "VADisabilityService", "VADisabilityServiceAmount"),
    INCOME ("va_disability_non_service", "VA non-service-connected disability pension", "4.02", "VADisabilityNonService", "VADisabilityNonServiceAmount"),
    INCOME ("private_disability", "Private disability insurance", "4.02", "PrivateDisability", "PrivateDisabilityAmount"),
    INCOME ("workers_comp", "Worker's compensation", "4.02", "WorkersComp", "WorkersCompAmount"),
    INCOME ("tanf", "Temporary Assistance for Needy Families (TANF)", "4.02", "TANF", "TANFAmount"),
    INCOME ("ga", "General Assistance (GA)", "4.02", "GA", "GAAmount"),
    INCOME ("soc_sec_retirement", "Retirement income from Social Security", "4.02", "SocSecRetirement", "SocSecRetirementAmount"),
    INCOME ("pension", "Pension or retirement income from a former job", "4.02", "Pension", "PensionAmount"),
    INCOME ("child_support", "Child support", "4.02", "ChildSupport", "ChildSupportAmount"),
    INCOME ("alimony", "Alimony and other spousal support", "4.02", "Alimony", "AlimonyAmount"),
    SOURCE ("other_income_source", "Other income source", "4.02", "OtherIncomeSource", GROUP_INCOME, "other_income_amount"),
    AMOUNT ("other_income_amount", "Other income source amount", "4.02A", "OtherIncomeAmount", GROUP_INCOME, ROLE_AMOUNT),
    IDENTIFY ("other_income_source_identify", "Other income source (specify)", "4.02", "OtherIncomeSourceIdentify", GROUP_INCOME),
    ANY ("benefits_from_any_source", "Non-cash benefits from any source", "4.03", "BenefitsFromAnySource", GROUP_BENEFITS),
    SOURCE ("snap", "Supplemental Nutrition Assistance Program (SNAP)", "4.03", "SNAP", GROUP_BENEFITS, NULL),
    SOURCE ("wic", "Special Supplemental Nutrition Program for Women, Infants, and Children (WIC)", "4.03", "WIC", GROUP_BENEFITS, NULL),
    SOURCE ("tanf_child_care", "TANF child care services", "4.03", "TANFChildCare", GROUP_BENEFITS, NULL),
    SOURCE ("tanf_transportation", "TANF transportation services", "4.03", "TANFTransportation", GROUP_BENEFITS, NULL),
    SOURCE ("other_tanf", "Other TANF-funded services", "4.03", "OtherTANF", GROUP_BENEFITS, NULL),
    SOURCE ("other_benefits_source", "Other benefits source", "4.03", "OtherBenefitsSource", GROUP_BENEFITS, NULL),
    IDENTIFY ("other_benefits_source_identify", "Other benefits source (specify)", "4.03", "OtherBenefitsSourceIdentify", GROUP_BENEFITS),
};

#define STEP_FIELDS(id, table) [id] = { table, COUNT (table) }
const hud_step_fields_t hud_step_fields[STEP_COUNT] = {
    STEP_FIELDS (STEP_EXIT, exit_fields),
    STEP_FIELDS (STEP_UNIVERSAL_DATA, universal_fields),
    STEP_FIELDS (STEP_HEALTH_INSURANCE, insurance_fields),
    STEP_FIELDS (STEP_DISABILITIES, disability_fields),
    STEP_FIELDS (STEP_INCOME_BENEFITS, income_fields),
};

const hud_group_t hud_groups[GROUP_COUNT] = {
    [GROUP_NONE] = { "", "", -1, NULL, NULL },
    [GROUP_INCOME] = { "income", "4.02", STEP_INCOME_BENEFITS,
                       "income_from_any_source", "total_monthly_income" },
    [GROUP_BENEFITS] = { "benefits", "4.03", STEP_INCOME_BENEFITS,
                         "benefits_from_any_source", NULL },
    [GROUP_INSURANCE] = { "insurance", "4.04", STEP_HEALTH_INSURANCE,
                          "insurance_from_any_source", NULL },
    [GROUP_DISABILITY] = { "disabilities", "4.05-4.10", STEP_DISABILITIES,
                           NULL, NULL },
};

const hud_field_t *
hud_field_find (int step, const char *name, size_t len)
{
    if (step < 0 || step >= STEP_COUNT)
        return NULL;
    const hud_step_fields_t *t = &hud_step_fields[step];
    for (int i = 0; i < t->n; i++)
        if (strlen (t->fields[i].name) == len
            && memcmp (t->fields[i].name, name, len) == 0)
            return &t->fields[i];
    return NULL;
}

/* ---- the check ---- */

static bool
is_integer (const msgpack_object *v)
{
    return v->type == MSGPACK_OBJECT_POSITIVE_INTEGER
           || v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
}

static int64_t
integer_of (const msgpack_object *v)
{
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return v->via.i64;
    return v->via.u64 > INT64_MAX ? INT64_MAX : (int64_t) v->via.u64;
}

/* "0 (No), 1 (Yes), 99 (Data not collected)" when short; else where to
 * find them. */
static void
describe_list (hud_list_id_t id, char *out, size_t cap)
{
    const hud_list_t *l = &hud_lists[id];
    if (l->n > 7) {
        snprintf (out, cap, "one of the %d codes of list %s in hud.codes",
                  l->n, l->name);
        return;
    }
    size_t used = 0;
    for (int i = 0; i < l->n && used < cap; i++) {
        int w = snprintf (out + used, cap - used, "%s%d (%s)",
                          i ? ", " : "", l->codes[i].code, l->codes[i].label);
        used += w > 0 ? (size_t) w : 0;
    }
}

static bool
check_code (const char *step, const hud_field_t *f, const msgpack_object *v,
            exf_error_t *err)
{
    if (!is_integer (v))
        return exf_fail (err, EXF_VALIDATION, f->name,
                         "%s.%s is a HUD %s code, an integer", step, f->name,
                         f->element);
    if (hud_list_find (f->list, integer_of (v)))
        return true;
    char codes[160];
    describe_list (f->list, codes, sizeof codes);
    return exf_fail (err, EXF_VALIDATION, f->name,
                     "%s.%s: %lld is not a HUD %s code; allowed: %s", step,
                     f->name, (long long) integer_of (v), f->element, codes);
}

static bool
check_value (const char *step, const hud_field_t *f, const msgpack_object *v,
             exf_error_t *err)
{
    switch (f->type) {
    case FIELD_CODE:
        return check_code (step, f, v, err);
    case FIELD_DESTINATION:
        if (!is_integer (v))
            return exf_fail (err, EXF_VALIDATION, f->name,
                             "%s is a HUD 3.12 destination code, an integer",
                             f->name);
        if (!hud_destination (integer_of (v)))
            return exf_fail (err, EXF_VALIDATION, f->name,
                             "destination %lld is not a HUD 3.12 destination "
                             "code (the %d codes are in hud.codes, "
                             "\"destinations\")", (long long) integer_of (v),
                             hud_destination_count);
        return true;
    case FIELD_AMOUNT: {
        bool number = is_integer (v) || v->type == MSGPACK_OBJECT_FLOAT32
                      || v->type == MSGPACK_OBJECT_FLOAT64;
        if (!number)
            return exf_fail (err, EXF_VALIDATION, f->name,
                             "%s.%s is an amount in dollars, a number", step,
                             f->name);
        double x = is_integer (v) ? (double) integer_of (v) : v->via.f64;
        if (!isfinite (x) || x < 0 || x > HUD_AMOUNT_MAX)
            return exf_fail (err, EXF_VALIDATION, f->name,
                             "%s.%s is an amount from 0 to %.0f dollars",
                             step, f->name, HUD_AMOUNT_MAX);
        return true;
    }
    case FIELD_DATE: {
        int64_t days;
        if (v->type != MSGPACK_OBJECT_STR
            || !codec_parse_date (codec_str_of (v), &days))
            return exf_fail (err, EXF_VALIDATION, f->name,
                             "%s must be a date YYYY-MM-DD", f->name);
        return true;
    }
    case FIELD_TEXT:
        if (v->type != MSGPACK_OBJECT_STR)
            return exf_fail (err, EXF_VALIDATION, f->name,
                             "%s.%s is text", step, f->name);
        if (codec_utf8_length (codec_str_of (v)) > (size_t) f->max_chars)
            return exf_fail (err, EXF_VALIDATION, f->name,
                             "%s is at most %d characters", f->name,
                             f->max_chars);
        return true;
    case FIELD_TYPE_COUNT:
        break;
    }
    return false;
}

static bool
is_scalar (const msgpack_object *v)
{
    return v->type != MSGPACK_OBJECT_ARRAY && v->type != MSGPACK_OBJECT_MAP
           && v->type != MSGPACK_OBJECT_EXT;
}

bool
hud_fields_check (int step, const msgpack_object *data, exf_error_t *err)
{
    const char *sname = hud_steps[step].name;
    size_t plen = strlen (HUD_LOCAL_PREFIX);
    for (uint32_t i = 0; i < data->via.map.size; i++) {
        const msgpack_object *k = &data->via.map.ptr[i].key;
        const msgpack_object *v = &data->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR)
            return exf_fail (err, EXF_VALIDATION, "data",
                             "the fields of %s are named by strings", sname);
        exf_str_t key = codec_str_of (k);
        char name[EXF_ID_MAX + 1];
        codec_str_copy (name, sizeof name, key);
        if (key.len > plen && memcmp (key.ptr, HUD_LOCAL_PREFIX, plen) == 0) {
            if (!is_scalar (v))
                return exf_fail (err, EXF_VALIDATION, name,
                                 "a local field holds a scalar (text, number, "
                                 "boolean or nil)");
            continue;
        }
        const hud_field_t *f = hud_field_find (step, key.ptr, key.len);
        if (!f)
            return exf_fail (err, EXF_VALIDATION, name,
                             "%s has no field %s (its fields are in hud.codes; "
                             "the CoC's own questions start with \"%s\")",
                             sname, name, HUD_LOCAL_PREFIX);
        if (v->type == MSGPACK_OBJECT_NIL)
            continue;
        if (!check_value (sname, f, v, err))
            return false;
    }
    return true;
}

/* ---- hud.codes ---- */

static void
pack_key (msgpack_packer *pk, const char *key)
{
    codec_pack_cstr (pk, key);
}

static void
pack_codes (msgpack_packer *pk, const hud_code_t *codes, int n)
{
    msgpack_pack_array (pk, (size_t) n);
    for (int i = 0; i < n; i++) {
        msgpack_pack_map (pk, 2);
        pack_key (pk, "code");
        msgpack_pack_int (pk, codes[i].code);
        pack_key (pk, "label");
        codec_pack_cstr (pk, codes[i].label);
    }
}

static void
pack_field (msgpack_packer *pk, const hud_field_t *f)
{
    msgpack_pack_map (pk, 10);
    pack_key (pk, "name");
    codec_pack_cstr (pk, f->name);
    pack_key (pk, "label");
    codec_pack_cstr (pk, f->label);
    pack_key (pk, "element");
    codec_pack_cstr (pk, f->element);
    pack_key (pk, "column");
    codec_pack_cstr_or_nil (pk, f->column);
    pack_key (pk, "type");
    codec_pack_cstr (pk, hud_field_type_names[f->type]);
    pack_key (pk, "list");
    codec_pack_cstr_or_nil (pk, f->type == FIELD_CODE ? hud_lists[f->list].name
                                                      : NULL);
    pack_key (pk, "max_chars");
    if (f->type == FIELD_TEXT)
        msgpack_pack_int (pk, f->max_chars);
    else
        msgpack_pack_nil (pk);
    pack_key (pk, "group");
    codec_pack_cstr_or_nil (pk, hud_groups[f->group].name);
    pack_key (pk, "role");
    codec_pack_cstr (pk, hud_field_role_names[f->role]);
    pack_key (pk, "pair");
    codec_pack_cstr_or_nil (pk, f->pair);
}

void
hud_codes_pack (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 5);
    pack_key (pk, "lists");
    msgpack_pack_map (pk, HUD_LIST_COUNT);
    for (int i = 0; i < HUD_LIST_COUNT; i++) {
        pack_key (pk, hud_lists[i].name);
        msgpack_pack_map (pk, 2);
        pack_key (pk, "element");
        codec_pack_cstr (pk, hud_lists[i].element);
        pack_key (pk, "codes");
        pack_codes (pk, hud_lists[i].codes, hud_lists[i].n);
    }
    pack_key (pk, "destinations");
    msgpack_pack_array (pk, (size_t) hud_destination_count);
    for (int i = 0; i < hud_destination_count; i++) {
        const hud_destination_t *d = &hud_destinations[i];
        msgpack_pack_map (pk, 5);
        pack_key (pk, "code");
        msgpack_pack_int (pk, d->code);
        pack_key (pk, "label");
        codec_pack_cstr (pk, d->label);
        pack_key (pk, "category");
        codec_pack_cstr (pk, hud_dest_category_names[d->category]);
        pack_key (pk, "needs_subsidy_type");
        d->needs_subsidy_type ? msgpack_pack_true (pk) : msgpack_pack_false (pk);
        pack_key (pk, "needs_other_text");
        d->needs_other_text ? msgpack_pack_true (pk) : msgpack_pack_false (pk);
    }
    pack_key (pk, "destination_categories");
    msgpack_pack_array (pk, DEST_CATEGORY_COUNT);
    for (int i = 0; i < DEST_CATEGORY_COUNT; i++)
        codec_pack_cstr (pk, hud_dest_category_names[i]);
    pack_key (pk, "steps");
    msgpack_pack_array (pk, STEP_COUNT);
    for (int s = 0; s < STEP_COUNT; s++) {
        const hud_step_t *st = &hud_steps[s];
        msgpack_pack_map (pk, 5);
        pack_key (pk, "name");
        codec_pack_cstr (pk, st->name);
        pack_key (pk, "elements");
        codec_pack_cstr (pk, st->elements);
        pack_key (pk, "adults_and_hoh_only");
        st->adults_and_hoh_only ? msgpack_pack_true (pk) : msgpack_pack_false (pk);
        pack_key (pk, "allows_default_last");
        st->allows_default_last ? msgpack_pack_true (pk) : msgpack_pack_false (pk);
        pack_key (pk, "fields");
        msgpack_pack_array (pk, (size_t) hud_step_fields[s].n);
        for (int i = 0; i < hud_step_fields[s].n; i++)
            pack_field (pk, &hud_step_fields[s].fields[i]);
    }
    pack_key (pk, "local_prefix");
    codec_pack_cstr (pk, HUD_LOCAL_PREFIX);
}
