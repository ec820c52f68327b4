/* hud — the HUD HMIS facts the exit workflow depends on, as tables.
 *
 * Owns: destination codes (3.12) and their categories, rental subsidy types
 * (3.12.A), relationship to head of household (3.15), project types (2.02.6)
 * and the exit steps in guided order. Adding a code or a step is one row.
 * The daemon, the workers and the clients all read these tables; none keeps
 * a copy. Source: the HUD FY2024/FY2026 HMIS Data Standards. */
#ifndef EXF_HUD_H
#define EXF_HUD_H

#include <stdbool.h>

typedef enum {
    DEST_HOMELESS, DEST_INSTITUTIONAL, DEST_TEMPORARY, DEST_PERMANENT,
    DEST_OTHER
} hud_dest_category_t;

typedef struct {
    int code;
    const char *label;
    hud_dest_category_t category;
    bool needs_subsidy_type;        /* 435: 3.12.A is required */
    bool needs_other_text;          /* 17: "specify" is required */
} hud_destination_t;

/* NULL when `code` is not a 3.12 destination. */
const hud_destination_t *hud_destination (int code);
bool hud_is_subsidy_type (int code);

/* 3.15 relationship to head of household. */
typedef struct {
    int code;
    const char *label;
} hud_relationship_t;

/* NULL when `code` is not a 3.15 relationship. */
const hud_relationship_t *hud_relationship (int code);
bool hud_is_relationship (int code);
bool hud_is_project_type (int code);

#define HUD_HEAD_OF_HOUSEHOLD 1
#define HUD_CHILD 2
#define HUD_OTHER_DESTINATION_MAX 50

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
    bool adults_and_hoh_only;       /* 4.02/4.03: income and benefits */
    bool allows_default_last;
} hud_step_t;

extern const hud_step_t hud_steps[STEP_COUNT];
/* Whether a household member answers `step` at exit: income and benefits
 * (4.02/4.03) are for adults and the head of household only. */
bool hud_member_answers_step (int step, bool adult, int relationship);
/* The step's kind, or -1 when `name` (of `len` bytes) is not a step. */
int hud_step_by_name (const char *name, unsigned len);

#endif
