/* hud — HUD HMIS code tables for exits. See hud.h. Labels are HUD's
 * (FY2024 HMIS Data Dictionary), not shortened: they are what tells 101
 * (shelter, incl. a hotel paid with an ES voucher) from 314 (a hotel paid
 * without one). */
#include "hud.h"

#include <stddef.h>
#include <string.h>

#include "codec.h"

#define COUNT(a) ((int) (sizeof (a) / sizeof (a)[0]))

const char *const hud_dest_category_names[DEST_CATEGORY_COUNT] = {
    [DEST_HOMELESS] = "homeless", [DEST_INSTITUTIONAL] = "institutional",
    [DEST_TEMPORARY] = "temporary", [DEST_PERMANENT] = "permanent",
    [DEST_OTHER] = "other" };

const hud_destination_t hud_destinations[] = {
    { 116, "Place not meant for habitation (e.g., a vehicle, an abandoned "
           "building, bus/train/subway station/airport or anywhere outside)",
      DEST_HOMELESS, false, false },
    { 101, "Emergency shelter, including hotel or motel paid for with "
           "emergency shelter voucher, Host Home shelter",
      DEST_HOMELESS, false, false },
    { 118, "Safe Haven", DEST_HOMELESS, false, false },
    { 215, "Foster care home or foster care group home", DEST_INSTITUTIONAL, false, false },
    { 206, "Hospital or other residential non-psychiatric medical facility", DEST_INSTITUTIONAL, false, false },
    { 207, "Jail, prison, or juvenile detention facility", DEST_INSTITUTIONAL, false, false },
    { 225, "Long-term care facility or nursing home", DEST_INSTITUTIONAL, false, false },
    { 204, "Psychiatric hospital or other psychiatric facility", DEST_INSTITUTIONAL, false, false },
    { 205, "Substance abuse treatment facility or detox center", DEST_INSTITUTIONAL, false, false },
    { 302, "Transitional housing for homeless persons (including homeless youth)", DEST_TEMPORARY, false, false },
    { 329, "Residential project or halfway house with no homeless criteria", DEST_TEMPORARY, false, false },
    { 314, "Hotel or motel paid for without emergency shelter voucher", DEST_TEMPORARY, false, false },
    { 332, "Host Home (non-crisis)", DEST_TEMPORARY, false, false },
    { 312, "Staying or living with family, temporary tenure (e.g., room, "
           "apartment, or house)", DEST_TEMPORARY, false, false },
    { 313, "Staying or living with friends, temporary tenure (e.g., room, "
           "apartment, or house)", DEST_TEMPORARY, false, false },
    { 327, "Moved from one HOPWA funded project to HOPWA TH", DEST_TEMPORARY, false, false },
    { 422, "Staying or living with family, permanent tenure", DEST_PERMANENT, false, false },
    { 423, "Staying or living with friends, permanent tenure", DEST_PERMANENT, false, false },
    { 426, "Moved from one HOPWA funded project to HOPWA PH", DEST_PERMANENT, false, false },
    { 410, "Rental by client, no ongoing housing subsidy", DEST_PERMANENT, false, false },
    { 435, "Rental by client, with ongoing housing subsidy", DEST_PERMANENT, true, false },
    { 421, "Owned by client, with ongoing housing subsidy", DEST_PERMANENT, false, false },
    { 411, "Owned by client, no ongoing housing subsidy", DEST_PERMANENT, false, false },
    { 30, "No exit interview completed", DEST_OTHER, false, false },
    { 17, "Other", DEST_OTHER, false, true },
    { 24, "Deceased", DEST_OTHER, false, false },
    { 8, "Client doesn't know", DEST_OTHER, false, false },
    { 9, "Client prefers not to answer", DEST_OTHER, false, false },
    { 99, "Data not collected", DEST_OTHER, false, false },
};
const int hud_destination_count = COUNT (hud_destinations);

static const hud_code_t no_yes_reasons[] = {
    { 0, "No" }, { 1, "Yes" }, { 8, "Client doesn't know" },
    { 9, "Client prefers not to answer" }, { 99, "Data not collected" } };
static const hud_code_t no_yes_missing[] = {
    { 0, "No" }, { 1, "Yes" }, { 99, "Data not collected" } };
static const hud_code_t substance_use[] = {
    { 0, "No" }, { 1, "Alcohol use disorder" }, { 2, "Drug use disorder" },
    { 3, "Both alcohol and drug use disorders" },
    { 8, "Client doesn't know" }, { 9, "Client prefers not to answer" },
    { 99, "Data not collected" } };
static const hud_code_t subsidy_types[] = {
    { 428, "GPD TIP housing subsidy" },
    { 419, "VASH housing subsidy" },
    { 431, "RRH or equivalent subsidy" },
    { 433, "HCV voucher (tenant or project based) (not dedicated)" },
    { 434, "Public housing unit" },
    { 420, "Rental by client, with other ongoing housing subsidy" },
    { 436, "Housing Stability Voucher" },
    { 437, "Family Unification Program Voucher (FUP)" },
    { 438, "Foster Youth to Independence Initiative (FYI)" },
    { 439, "Permanent Supportive Housing" },
    { 440, "Other permanent housing dedicated for formerly homeless persons" } };
static const hud_code_t relationships[] = {
    { 1, "Self (head of household)" },
    { 2, "Head of household's child" },
    { 3, "Head of household's spouse or partner" },
    { 4, "Head of household's other relation member (other relation to head "
         "of household)" },
    { 5, "Other: non-relation member" },
    { 99, "Data not collected" } };
static const hud_code_t project_types[] = {
    { 0, "Emergency Shelter - Entry Exit" },
    { 1, "Emergency Shelter - Night-by-Night" },
    { 2, "Transitional Housing" },
    { 3, "PH - Permanent Supportive Housing" },
    { 4, "Street Outreach" },
    { 6, "Services Only" },
    { 7, "Other" },
    { 8, "Safe Haven" },
    { 9, "PH - Housing Only" },
    { 10, "PH - Housing with Services (no disability required for entry)" },
    { 11, "Day Shelter" },
    { 12, "Homelessness Prevention" },
    { 13, "PH - Rapid Re-Housing" },
    { 14, "Coordinated Entry" } };

#define LIST(id, name, element, codes) \
    [id] = { name, element, codes, COUNT (codes) }
const hud_list_t hud_lists[HUD_LIST_COUNT] = {
    LIST (HUD_LIST_NO_YES_REASONS, "no_yes_reasons", "1.8", no_yes_reasons),
    LIST (HUD_LIST_NO_YES_MISSING, "no_yes_missing", "1.7", no_yes_missing),
    LIST (HUD_LIST_SUBSTANCE_USE, "substance_use", "4.10.2", substance_use),
    LIST (HUD_LIST_SUBSIDY_TYPE, "subsidy_type", "3.12.A", subsidy_types),
    LIST (HUD_LIST_RELATIONSHIP, "relationship", "3.15", relationships),
    LIST (HUD_LIST_PROJECT_TYPE, "project_type", "2.02.6", project_types),
};

const hud_step_t hud_steps[STEP_COUNT] = {
    [STEP_EXIT] = { "exit", "3.11, 3.12, 3.12.A", false, false },
    [STEP_UNIVERSAL_DATA] = { "universal_data", "3.08", false, true },
    [STEP_HEALTH_INSURANCE] = { "health_insurance", "4.04", false, true },
    [STEP_DISABILITIES] = { "disabilities", "4.05-4.10", false, true },
    [STEP_INCOME_BENEFITS] = { "income_benefits", "4.02, 4.03", true, true },
};

const hud_code_t *
hud_list_find (hud_list_id_t list, int64_t code)
{
    const hud_list_t *l = &hud_lists[list];
    for (int i = 0; i < l->n; i++)
        if (l->codes[i].code == code)
            return &l->codes[i];
    return NULL;
}

const hud_destination_t *
hud_destination (int64_t code)
{
    for (int i = 0; i < hud_destination_count; i++)
        if (hud_destinations[i].code == code)
            return &hud_destinations[i];
    return NULL;
}

bool
hud_is_subsidy_type (int64_t code)
{
    return hud_list_find (HUD_LIST_SUBSIDY_TYPE, code) != NULL;
}

const hud_relationship_t *
hud_relationship (int64_t code)
{
    return hud_list_find (HUD_LIST_RELATIONSHIP, code);
}

bool
hud_is_relationship (int64_t code)
{
    return hud_relationship (code) != NULL;
}

bool
hud_is_project_type (int64_t code)
{
    return hud_list_find (HUD_LIST_PROJECT_TYPE, code) != NULL;
}

bool
hud_is_permanent_housing (int project_type)
{
    return project_type == 3 || project_type == 9 || project_type == 10
           || project_type == 13;
}

bool
hud_member_answers_step (int step, bool adult, int relationship)
{
    return !hud_steps[step].adults_and_hoh_only || adult
           || relationship == HUD_HEAD_OF_HOUSEHOLD;
}

int
hud_step_by_name (const char *name, unsigned len)
{
    for (int i = 0; i < STEP_COUNT; i++)
        if (strlen (hud_steps[i].name) == len
            && memcmp (hud_steps[i].name, name, len) == 0)
            return i;
    return -1;
}

bool
hud_adult_on (int64_t birth_day, int64_t on_day)
{
    int by, bm, bd, y, m, d;
    codec_civil_of_days (birth_day, &by, &bm, &bd);
    codec_civil_of_days (on_day, &y, &m, &d);
    int age = y - by - (m < bm || (m == bm && d < bd));
    return age >= HUD_ADULT_AGE;
}
