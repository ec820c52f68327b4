/* hud — HUD HMIS code tables for exits. See hud.h. */
#include "hud.h"

#include <stddef.h>
#include <string.h>

static const hud_destination_t destinations[] = {
    { 116, "Place not meant for habitation", DEST_HOMELESS, false, false },
    { 101, "Emergency shelter", DEST_HOMELESS, false, false },
    { 118, "Safe Haven", DEST_HOMELESS, false, false },
    { 215, "Foster care home or foster care group home", DEST_INSTITUTIONAL, false, false },
    { 206, "Hospital or other residential non-psychiatric medical facility", DEST_INSTITUTIONAL, false, false },
    { 207, "Jail, prison or juvenile detention facility", DEST_INSTITUTIONAL, false, false },
    { 225, "Long-term care facility or nursing home", DEST_INSTITUTIONAL, false, false },
    { 204, "Psychiatric hospital or other psychiatric facility", DEST_INSTITUTIONAL, false, false },
    { 205, "Substance abuse treatment facility or detox center", DEST_INSTITUTIONAL, false, false },
    { 302, "Transitional housing for homeless persons", DEST_TEMPORARY, false, false },
    { 329, "Residential project or halfway house with no homeless criteria", DEST_TEMPORARY, false, false },
    { 314, "Hotel or motel paid for without emergency shelter voucher", DEST_TEMPORARY, false, false },
    { 332, "Host Home (non-crisis)", DEST_TEMPORARY, false, false },
    { 312, "Staying or living with family, temporary tenure", DEST_TEMPORARY, false, false },
    { 313, "Staying or living with friends, temporary tenure", DEST_TEMPORARY, false, false },
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

static const int subsidy_types[] = { 428, 419, 431, 433, 434, 420, 436, 437,
                                     438, 439, 440 };
/* Labels as the ClientTrack menu names them. */
static const hud_relationship_t relationships[] = {
    { 1, "head of household" },
    { 2, "child" },
    { 3, "spouse or partner" },
    { 4, "other relation" },
    { 5, "other non-relation" },
    { 99, "data not collected" },
};
static const int project_types[] = { 0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12,
                                     13, 14 };

const hud_step_t hud_steps[STEP_COUNT] = {
    [STEP_EXIT] = { "exit", false, false },
    [STEP_UNIVERSAL_DATA] = { "universal_data", false, true },
    [STEP_HEALTH_INSURANCE] = { "health_insurance", false, true },
    [STEP_DISABILITIES] = { "disabilities", false, true },
    [STEP_INCOME_BENEFITS] = { "income_benefits", true, true },
};

#define COUNT(a) (sizeof (a) / sizeof (a)[0])

static bool
in_list (const int *list, size_t n, int code)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == code)
            return true;
    return false;
}

const hud_destination_t *
hud_destination (int code)
{
    for (size_t i = 0; i < COUNT (destinations); i++)
        if (destinations[i].code == code)
            return &destinations[i];
    return NULL;
}

bool
hud_is_subsidy_type (int code)
{
    return in_list (subsidy_types, COUNT (subsidy_types), code);
}

const hud_relationship_t *
hud_relationship (int code)
{
    for (size_t i = 0; i < COUNT (relationships); i++)
        if (relationships[i].code == code)
            return &relationships[i];
    return NULL;
}

bool
hud_is_relationship (int code)
{
    return hud_relationship (code) != NULL;
}

bool
hud_is_project_type (int code)
{
    return in_list (project_types, COUNT (project_types), code);
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
