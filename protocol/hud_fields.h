/* hud_fields — the typed exit assessments: for each step of the exit
 * workflow, its fields with their HUD element, HMIS CSV column, type and
 * allowed codes, and the label a person reads.
 *
 * Owns: the one field table. The daemon checks step data against it
 * (hud_fields_check: unknown field, wrong type, code outside the element's
 * list), the DQ worker reads answers by it (groups, sources and their
 * amounts), `hud.codes` sends it to front ends, and the HUD CSV export
 * takes its columns from it. Field names are the CSV column names in
 * snake_case. Exit-stage rows are DataCollectionStage 3, InformationDate =
 * the member's exit date. Keys starting with HUD_LOCAL_PREFIX are the
 * CoC's own questions: any scalar, kept and shown, never read by a rule or
 * exported. Adding a field is one row. */
#ifndef EXF_HUD_FIELDS_H
#define EXF_HUD_FIELDS_H

#include <msgpack.h>

#include "codec.h"
#include "hud.h"

#define HUD_LOCAL_PREFIX "local_"
#define HUD_AMOUNT_MAX 10000000.0       /* dollars a month: beyond is a typo */
#define HUD_IDENTIFY_MAX 50             /* "specify" texts (CSV varchar(50)) */

typedef enum {
    FIELD_CODE,                     /* an integer of `list` */
    FIELD_DESTINATION,              /* an integer of 3.12 (hud_destination) */
    FIELD_AMOUNT,                   /* a number of dollars, 0 to HUD_AMOUNT_MAX */
    FIELD_DATE,                     /* "YYYY-MM-DD" */
    FIELD_TEXT,                     /* UTF-8, at most `max_chars` characters */
    FIELD_TYPE_COUNT
} hud_field_type_t;

extern const char *const hud_field_type_names[FIELD_TYPE_COUNT];

/* Groups of answers the DQ rules read together. */
typedef enum {
    GROUP_NONE, GROUP_INCOME, GROUP_BENEFITS, GROUP_INSURANCE,
    GROUP_DISABILITY, GROUP_COUNT
} hud_group_id_t;

typedef enum {
    ROLE_ANSWER,                    /* a question on its own */
    ROLE_ANY_SOURCE,                /* "from any source": 1.8 */
    ROLE_SOURCE,                    /* one source: 1.7; `pair` its amount */
    ROLE_AMOUNT,                    /* a source's monthly amount */
    ROLE_TOTAL,                     /* total monthly income */
    ROLE_IDENTIFY,                  /* "other: specify" text */
    ROLE_IMPAIRS,                   /* a disability's "indefinite and impairs" */
    ROLE_COUNT
} hud_field_role_t;

extern const char *const hud_field_role_names[ROLE_COUNT];

typedef struct {
    const char *name;               /* the wire key */
    const char *label;              /* for people: HUD's wording, short */
    const char *element;            /* HUD element: "4.02" */
    const char *column;             /* HMIS CSV column; NULL: none */
    hud_field_type_t type;
    hud_list_id_t list;             /* FIELD_CODE */
    int max_chars;                  /* FIELD_TEXT */
    hud_group_id_t group;
    hud_field_role_t role;
    const char *pair;               /* SOURCE: its amount; disability answer:
                                       its IMPAIRS field; else NULL */
    int disability_type;            /* Disabilities.csv DisabilityType 5-10 */
} hud_field_t;

typedef struct {
    const hud_field_t *fields;
    int n;
} hud_step_fields_t;

extern const hud_step_fields_t hud_step_fields[STEP_COUNT];

typedef struct {
    const char *name;               /* "income" */
    const char *element;            /* "4.02" */
    int step;
    const char *any_source;         /* NULL for disabilities */
    const char *total;              /* income only */
} hud_group_t;

extern const hud_group_t hud_groups[GROUP_COUNT];

/* The field `name` (`len` bytes) of `step`, or NULL. */
const hud_field_t *hud_field_find (int step, const char *name, size_t len);

/* Whether `data` (a map) is well-formed data of `step`: every key is a
 * field of the step (or HUD_LOCAL_PREFIX… holding a scalar), every value
 * of its type and, for codes, in its list; nil counts as absent. Says
 * nothing about completeness. VALIDATION naming the field otherwise. */
bool hud_fields_check (int step, const msgpack_object *data, exf_error_t *err);

/* The code tables and the field table as `hud.codes` returns them
 * (PROTOCOL.md §4.9). */
void hud_codes_pack (msgpack_packer *pk);

#endif
