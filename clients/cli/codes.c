/* codes — `exitflow codes`: the HUD code tables and the typed fields of
 * every step, as the daemon serves them (hud.codes).
 *
 * Owns: printing that result for people — the destinations with their
 * categories, each code list with its labels, each step's fields (type,
 * HUD element, HMIS CSV column, the field it goes with, the label people
 * read) — and picking one
 * section by name. The result is the daemon's, not this program's copy of
 * protocol/hud.c, so what is printed is what that daemon checks. */
#include "cli.h"

#include <string.h>

/* A table cell of the first column, indented under its section title. */
static const char *
indented (const char *text, char *buf, size_t cap)
{
    snprintf (buf, cap, "  %s", text);
    return buf;
}

static void
print_destinations (const msgpack_object *codes)
{
    uint32_t n;
    const msgpack_object *d = mp_array (codes, "destinations", &n);
    printf ("destinations (HUD 3.12)\n");
    table_t *t = table_new (3);
    table_row (t, "  CODE", "CATEGORY", "LABEL");
    for (uint32_t i = 0; i < n; i++) {
        char code[32], cell[40], category[32], label[512], text[600];
        bool subsidy = false, other = false;
        exitflow_obj_bool (&d[i], "needs_subsidy_type", &subsidy);
        exitflow_obj_bool (&d[i], "needs_other_text", &other);
        snprintf (code, sizeof code, "%lld", (long long) mp_int (&d[i], "code", -1));
        snprintf (text, sizeof text, "%s%s",
                  mp_str (&d[i], "label", label, sizeof label, "?"),
                  subsidy ? "  [needs a rental subsidy type, 3.12.A]"
                  : other ? "  [needs the destination specified]" : "");
        table_row (t, indented (code, cell, sizeof cell),
                   mp_str (&d[i], "category", category, sizeof category, "?"),
                   text);
    }
    table_print (t, stdout);
    table_destroy (&t);
}

static void
print_list (const char *name, const msgpack_object *list)
{
    char element[32];
    printf ("%s (HUD %s)\n", name,
            mp_str (list, "element", element, sizeof element, "?"));
    uint32_t n;
    const msgpack_object *codes = mp_array (list, "codes", &n);
    table_t *t = table_new (2);
    for (uint32_t i = 0; i < n; i++) {
        char code[32], cell[40], label[512];
        snprintf (code, sizeof code, "%lld",
                  (long long) mp_int (&codes[i], "code", -1));
        table_row (t, indented (code, cell, sizeof cell),
                   mp_str (&codes[i], "label", label, sizeof label, "?"));
    }
    table_print (t, stdout);
    table_destroy (&t);
}

/* "code: no_yes_missing", "text, at most 50 characters", "amount". */
static void
field_type (const msgpack_object *f, char *buf, size_t cap)
{
    char type[32], list[64];
    mp_str (f, "type", type, sizeof type, "?");
    if (mp_str (f, "list", list, sizeof list, NULL))
        snprintf (buf, cap, "%s: %s", type, list);
    else if (mp_int (f, "max_chars", -1) >= 0)
        snprintf (buf, cap, "%s, at most %lld characters", type,
                  (long long) mp_int (f, "max_chars", 0));
    else
        snprintf (buf, cap, "%s", type);
}

static void
print_step (const msgpack_object *step)
{
    char name[64], elements[64];
    bool adults = false, default_last = false;
    exitflow_obj_bool (step, "adults_and_hoh_only", &adults);
    exitflow_obj_bool (step, "allows_default_last", &default_last);
    printf ("step %s (HUD %s%s%s)\n", mp_str (step, "name", name, sizeof name, "?"),
            mp_str (step, "elements", elements, sizeof elements, "?"),
            adults ? "; adults and heads of household only" : "",
            default_last ? "; default last allowed" : "");
    uint32_t n;
    const msgpack_object *fields = mp_array (step, "fields", &n);
    table_t *t = table_new (6);
    table_row (t, "  FIELD", "TYPE", "ELEMENT", "CSV COLUMN", "GOES WITH",
               "LABEL");
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *f = &fields[i];
        char field[72], cell[80], type[128], element[32], column[72], pair[72],
            label[512];
        field_type (f, type, sizeof type);
        table_row (t, indented (mp_str (f, "name", field, sizeof field, "?"),
                                cell, sizeof cell),
                   type, mp_str (f, "element", element, sizeof element, "?"),
                   mp_str (f, "column", column, sizeof column, "-"),
                   mp_str (f, "pair", pair, sizeof pair, "-"),
                   mp_str (f, "label", label, sizeof label, "-"));
    }
    table_print (t, stdout);
    table_destroy (&t);
}

static void
print_all (const msgpack_object *codes)
{
    char prefix[32];
    print_destinations (codes);
    const msgpack_object *lists = exitflow_obj_get (codes, "lists");
    for (uint32_t i = 0; lists && lists->type == MSGPACK_OBJECT_MAP
                         && i < lists->via.map.size; i++) {
        char name[64];
        codec_str_copy (name, sizeof name,
                        codec_str_of (&lists->via.map.ptr[i].key));
        printf ("\n");
        print_list (name, &lists->via.map.ptr[i].val);
    }
    uint32_t n;
    const msgpack_object *steps = mp_array (codes, "steps", &n);
    for (uint32_t i = 0; i < n; i++) {
        printf ("\n");
        print_step (&steps[i]);
    }
    printf ("\nFields starting with %s are the CoC's own questions: any "
            "text, number or boolean, kept and shown, never read by a rule "
            "or exported.\n",
            mp_str (codes, "local_prefix", prefix, sizeof prefix, "local_"));
}

/* The section called `name`: "destinations", a code list, or a step. */
typedef enum { SECTION_NONE, SECTION_DESTINATIONS, SECTION_LIST,
               SECTION_STEP } section_kind_t;

static section_kind_t
find_section (const msgpack_object *codes, const char *name,
              const msgpack_object **section)
{
    if (strcmp (name, "destinations") == 0) {
        *section = exitflow_obj_get (codes, "destinations");
        return SECTION_DESTINATIONS;
    }
    *section = exitflow_obj_get (exitflow_obj_get (codes, "lists"), name);
    if (*section)
        return SECTION_LIST;
    uint32_t n;
    const msgpack_object *steps = mp_array (codes, "steps", &n);
    for (uint32_t i = 0; i < n; i++)
        if (mp_is_str (exitflow_obj_get (&steps[i], "name"), name)) {
            *section = &steps[i];
            return SECTION_STEP;
        }
    return SECTION_NONE;
}

int
cmd_codes (cli_t *cli, int argc, char **argv)
{
    exitflow_client_t *client = cli_simple_start (cli, argc, argv, 0, 1);
    if (!client)
        return cli->status;
    const char *name = optind < argc ? argv[optind] : NULL;
    exitflow_error_t err;
    exitflow_reply_t *reply = exitflow_hud_codes (client, &err);
    if (!reply)
        return cli_fail (cli, &err);
    const msgpack_object *codes = exitflow_reply_result (reply);
    const msgpack_object *section = codes;
    section_kind_t kind = name ? find_section (codes, name, &section)
                               : SECTION_NONE;
    int rc = EXIT_OK;
    if (name && kind == SECTION_NONE)
        rc = cli_usage_error (cli, "no section '%s': give destinations, a "
                              "code list or a step (exitflow codes lists "
                              "them all)", name);
    else if (cli->json)
        cli_print_json (section);
    else if (kind == SECTION_DESTINATIONS)
        print_destinations (codes);
    else if (kind == SECTION_LIST)
        print_list (name, section);
    else if (kind == SECTION_STEP)
        print_step (section);
    else
        print_all (codes);
    exitflow_reply_destroy (&reply);
    return rc;
}
