/* hud — the HUD HMIS facts the exit workflow depends on, as tables.
 *
 * Owns: the code lists with their HUD labels — destinations (3.12) and
 * their categories, rental subsidy types (3.12.A), relationship to head of
 * household (3.15), project types (2.02.6), the yes/no answer lists (1.7,
 * 1.8) and substance use (4.10.2) — the exit steps in guided order, who
 * answers which step, and age as of a date. Adding a code or a step is one
 * row. The typed fields of each step are hud_fields.h. The daemon, the
 * workers and the clients all read these tables; none keeps a copy.
 * Source: the HUD FY2024/FY2026 HMIS Data Standards and the HMIS CSV
 * Format Specifications FY2026 v1.0. */
#ifndef EXF_HUD_H
#define EXF_HUD_H

#include <stdbool.h>
#include <stdint.h>

/* One code of a HUD list, with HUD's label. */
typedef struct {
    int code;
    const char *label;
} hud_code_t;

/* The code lists fields draw their answers from (not destinations, which
 * carry more: hud_destination_t). */
typedef enum {
    HUD_LIST_NO_YES_REASONS,        /* 1.8: 0 1 8 9 99 */
    HUD_LIST_NO_YES_MISSING,        /* 1.7: 0 1 99, each income/insurance source */
    HUD_LIST_SUBSTANCE_USE,         /* 4.10.2 */
    HUD_LIST_SUBSIDY_TYPE,          /* 3.12.A */
    HUD_LIST_RELATIONSHIP,          /* 3.15 */
    HUD_LIST_PROJECT_TYPE,          /* 2.02.6 */
    HUD_LIST_COUNT
} hud_list_id_t;

typedef struct {
    const char *name;               /* on the wire (hud.codes): "no_yes_reasons" */
    const char *element;            /* where HUD defines it: "1.8" */
    const hud_code_t *codes;
    int n;
} hud_list_t;

extern const hud_list_t hud_lists[HUD_LIST_COUNT];
/* The code's row in `list`, or NULL. Any int64 may be asked. */
const hud_code_t *hud_list_find (hud_list_id_t list, int64_t code);

/* ---- 3.12 destinations ---- */

typedef enum {
    DEST_HOMELESS, DEST_INSTITUTIONAL, DEST_TEMPORARY, DEST_PERMANENT,
    DEST_OTHER, DEST_CATEGORY_COUNT
} hud_dest_category_t;

/* "homeless", "institutional", "temporary", "permanent", "other". */
extern const char *const hud_dest_category_names[DEST_CATEGORY_COUNT];

typedef struct {
    int code;
    const char *label;
    hud_dest_category_t category;
    bool needs_subsidy_type;        /* 435: 3.12.A is required */
    bool needs_other_text;          /* 17: "specify" is required */
} hud_destination_t;

extern const hud_destination_t hud_destinations[];
extern const int hud_destination_count;
/* NULL when `code` is not a 3.12 destination. */
const hud_destination_t *hud_destination (int64_t code);
bool hud_is_subsidy_type (int64_t code);

/* ---- 3.15 relationship, 2.02.6 project type ---- */

typedef hud_code_t hud_relationship_t;
/* NULL when `code` is not a 3.15 relationship. */
const hud_relationship_t *hud_relationship (int64_t code);
bool hud_is_relationship (int64_t code);
bool hud_is_project_type (int64_t code);
/* Types 3, 9, 10, 13: they record a housing move-in date (3.20). */
bool hud_is_permanent_housing (int project_type);

#define HUD_HEAD_OF_HOUSEHOLD 1
#define HUD_CHILD 2
#define HUD_RELATIONSHIP_NOT_COLLECTED 99
#define HUD_OTHER_DESTINATION_MAX 50
#define HUD_PROJECT_PSH 3
#define HUD_PROJECT_RRH 13
#define HUD_DEST_RENTAL_WITH_SUBSIDY 435
#define HUD_SUBSIDY_RRH 431
#define HUD_SUBSIDY_PSH 439
#define HUD_DEST_OTHER 17
#define HUD_ADULT_AGE 18

/* ---- the steps ---- */

typedef enum {
    STEP_EXIT,
    STEP_UNIVERSAL_DATA,
    STEP_HEALTH_INSURANCE,
    STEP_DISABILITIES,
    STEP_INCOME_BENEFITS,
    STEP_COUNT
} hud_step_id_t;

typedef struct {
    const char *name;
    const char *elements;           /* the HUD elements it collects */
    bool adults_and_hoh_only;       /* 4.02/4.03: income and benefits */
    bool allows_default_last;
} hud_step_t;

extern const hud_step_t hud_steps[STEP_COUNT];
/* Whether a household member answers `step` at exit: income and benefits
 * (4.02/4.03) are for adults and the head of household only. */
bool hud_member_answers_step (int step, bool adult, int relationship);
/* The step's kind, or -1 when `name` (of `len` bytes) is not a step. */
int hud_step_by_name (const char *name, unsigned len);

/* Whether someone born on `birth_day` is 18 or older on `on_day` (both
 * days since 1970-01-01): HUD derives adult from 3.03 date of birth. */
bool hud_adult_on (int64_t birth_day, int64_t on_day);

#endif
