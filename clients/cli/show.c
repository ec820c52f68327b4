/* show — the workflow view (PROTOCOL.md §4.6) as a caseworker reads it.
 *
 * Owns: the layout of `exitflow show`, modelled on the ClientTrack
 * workflow menu: one block per member with their decision, each step with
 * a mark (✔ done, ▸ next, · pending) and the data-quality findings about
 * it under it (by the finding's `step`), the household's next action, and
 * the other findings. Nothing is next on a finished or cancelled
 * workflow; the hint for the next step offers only what the step takes
 * (the exit form has no Default Last). Times are in the zone the caller
 * names (the CoC's), and the view says which. Columns are padded so the
 * blocks line up. Codes
 * are shown with HUD's labels from protocol/hud.h: relationship (3.15),
 * project type (2.02.6), destination (3.12) with its category, rental
 * subsidy type (3.12.A); the exit form's fields by their labels
 * (protocol/hud_fields.h). */
#include "cli.h"

#include <string.h>
#include <time.h>

#include "protocol/hud.h"
#include "protocol/hud_fields.h"

#define MARK_DONE    "\xe2\x9c\x94"     /* ✔ U+2714 */
#define MARK_NEXT    "\xe2\x96\xb8"     /* ▸ U+25B8 */
#define MARK_PENDING "\xc2\xb7"         /* · U+00B7 */
#define ARROW_LEFT   "\xe2\x86\x90"     /* ← U+2190 */

/* HUD 3.15's label of a member's relationship (protocol/hud.c). */
static const char *
relationship_label (int64_t code)
{
    const hud_relationship_t *r = hud_relationship (code);
    return r ? r->label : "member";
}

/* `code "label"` of a code of `list`, or the bare code when it is not one. */
static void
code_label (FILE *out, hud_list_id_t list, int64_t code)
{
    const hud_code_t *c = hud_list_find (list, code);
    fprintf (out, "%lld", (long long) code);
    if (c)
        fprintf (out, " \"%s\"", c->label);
}

/* "Label: " of an exit-form field: the table's label, as hud.codes
 * serves it (protocol/hud_fields.c), so show and the forms say the same. */
static void
exit_label (FILE *out, const char *sep, const char *field)
{
    const hud_field_t *f = hud_field_find (STEP_EXIT, field, strlen (field));
    fprintf (out, "%s%s: ", sep, f ? f->label : field);
}

/* The saved exit form in a line: when, where to (3.12 with its category),
 * the rental subsidy (3.12.A) and the destination specified (17). */
static void
render_exit (FILE *out, const msgpack_object *form)
{
    char date[16], other[160];
    int64_t code;
    exit_label (out, "        ", "exit_date");
    fprintf (out, "%s", mp_str (form, "exit_date", date, sizeof date, "-"));
    if (exitflow_obj_int (form, "destination", &code)) {
        const hud_destination_t *d = hud_destination (code);
        exit_label (out, "; ", "destination");
        if (d)
            fprintf (out, "%d \"%s\" (%s)", d->code, d->label,
                     hud_dest_category_names[d->category]);
        else
            fprintf (out, "%lld (not a HUD 3.12 code)", (long long) code);
    }
    if (exitflow_obj_int (form, "destination_subsidy_type", &code)) {
        exit_label (out, "; ", "destination_subsidy_type");
        code_label (out, HUD_LIST_SUBSIDY_TYPE, code);
    }
    if (mp_str (form, "other_destination", other, sizeof other, NULL)) {
        exit_label (out, "; ", "other_destination");
        fprintf (out, "\"%s\"", other);
    }
    fputc ('\n', out);
}

/* A time of today shows as HH:MM, any other as the date too. */
static void
short_time (const char *rfc3339, char *buf, size_t cap)
{
    char day[16], today[16];
    fmt_local_time (rfc3339, "%Y-%m-%d", day, sizeof day);
    time_t now = time (NULL);
    struct tm tm;
    localtime_r (&now, &tm);
    strftime (today, sizeof today, "%Y-%m-%d", &tm);
    fmt_local_time (rfc3339, strcmp (day, today) == 0 ? "%H:%M" : "%Y-%m-%d %H:%M",
                    buf, cap);
}

/* One finding in a line: "DQ: warning rule (client): message  [source]". */
static void
render_finding (FILE *out, const char *indent, const msgpack_object *f)
{
    char severity[16], rule[72], client[72], source[72], text[600];
    fprintf (out, "%sDQ: %s %s", indent,
             mp_str (f, "severity", severity, sizeof severity, "?"),
             mp_str (f, "rule", rule, sizeof rule, "?"));
    if (mp_str (f, "client_id", client, sizeof client, NULL))
        fprintf (out, " (%s)", client);
    fprintf (out, ": %s  [%s]\n", mp_str (f, "message", text, sizeof text, ""),
             mp_str (f, "source", source, sizeof source, "?"));
}

/* Whether finding `f` is about `client`'s step `step`. */
static bool
finding_is_at (const msgpack_object *f, const char *client, const char *step)
{
    return mp_is_str (exitflow_obj_get (f, "client_id"), client)
           && mp_is_str (exitflow_obj_get (f, "step"), step);
}

/* Whether `f` goes under a step shown in the members' blocks: an exiting
 * member's step that applies to them (others go at the end). */
static bool
finding_placed (const msgpack_object *view, const msgpack_object *f)
{
    uint32_t n, ns;
    const msgpack_object *members = mp_array (view, "members", &n);
    for (uint32_t i = 0; i < n; i++) {
        char client[72], step[72];
        if (!mp_is_str (exitflow_obj_get (&members[i], "decision"), "exiting"))
            continue;
        mp_str (&members[i], "client_id", client, sizeof client, "");
        const msgpack_object *steps = mp_array (&members[i], "steps", &ns);
        for (uint32_t k = 0; k < ns; k++)
            if (finding_is_at (f, client, mp_str (&steps[k], "name", step,
                                                  sizeof step, "")))
                return true;
    }
    return false;
}

/* `next_step` is NULL on a finished or cancelled workflow: nothing is
 * next there, whatever the member's steps say. A DQ finding about a step
 * is shown under it. */
static void
render_steps (FILE *out, const msgpack_object *member, const char *next_step,
              const msgpack_object *dq, uint32_t nd)
{
    char client_id[72];
    mp_str (member, "client_id", client_id, sizeof client_id, "");
    uint32_t n;
    const msgpack_object *steps = mp_array (member, "steps", &n);
    int width = 0;
    for (uint32_t i = 0; i < n; i++) {
        char name[72];
        int w = (int) strlen (mp_str (&steps[i], "name", name, sizeof name, ""));
        width = w > width ? w : width;
    }
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *s = &steps[i];
        char name[72], mode[32], at[32], actor[72], when[40];
        mp_str (s, "name", name, sizeof name, "?");
        bool done = mp_is_str (exitflow_obj_get (s, "status"), "done");
        if (done) {
            mp_str (s, "mode", mode, sizeof mode, "");
            short_time (mp_str (s, "completed_at", at, sizeof at, ""), when,
                        sizeof when);
            fprintf (out, "    " MARK_DONE " %-*s  (%s %s", width, name,
                     strcmp (mode, "default_last") == 0 ? "default last"
                                                        : "entered",
                     when);
            if (mp_str (s, "actor", actor, sizeof actor, NULL))
                fprintf (out, " by %s", actor);
            fprintf (out, ")\n");
            const msgpack_object *data = exitflow_obj_get (s, "data");
            if (strcmp (name, hud_steps[STEP_EXIT].name) == 0 && data
                && data->type == MSGPACK_OBJECT_MAP)
                render_exit (out, data);
        } else if (next_step && strcmp (next_step, name) == 0)
            fprintf (out, "    " MARK_NEXT " %-*s  " ARROW_LEFT " next\n", width,
                     name);
        else
            fprintf (out, "    " MARK_PENDING " %s\n", name);
        for (uint32_t k = 0; k < nd; k++)
            if (finding_is_at (&dq[k], client_id, name))
                render_finding (out, "        ", &dq[k]);
    }
}

/* The household's next action: a step of an exiting member, a decision,
 * or the finish (naming the new head when one is needed). */
static void
render_next (FILE *out, const msgpack_object *view, const char *wf)
{
    uint32_t n;
    const msgpack_object *members = mp_array (view, "members", &n);
    char client[72], step[72];
    for (uint32_t i = 0; i < n; i++)
        if (mp_str (&members[i], "next_step", step, sizeof step, NULL)) {
            /* Only what the step takes: the exit form is always entered. */
            int kind = hud_step_by_name (step, (unsigned) strlen (step));
            bool last = kind >= 0 && hud_steps[kind].allows_default_last;
            fprintf (out, "Next: %s for %s  (exitflow save %s %s %s --data "
                     "JSON%s; fields: exitflow codes %s)\n", step,
                     mp_str (&members[i], "client_id", client, sizeof client, "?"),
                     wf, client, step, last ? " | --default-last" : "", step);
            return;
        }
    for (uint32_t i = 0; i < n; i++)
        if (mp_is_str (exitflow_obj_get (&members[i], "decision"), "undecided")) {
            mp_str (&members[i], "client_id", client, sizeof client, "?");
            fprintf (out, "Next: decide whether %s exits too  (exitflow decide "
                     "%s %s yes|no)\n", client, wf, client);
            return;
        }
    bool head_exits = false, someone_stays = false;
    for (uint32_t i = 0; i < n; i++) {
        bool exiting = mp_is_str (exitflow_obj_get (&members[i], "decision"),
                                  "exiting");
        if (mp_int (&members[i], "relationship", 0) == HUD_HEAD_OF_HOUSEHOLD
            && exiting)
            head_exits = true;
        if (!exiting)
            someone_stays = true;
    }
    if (head_exits && someone_stays)
        fprintf (out, "Next: finish, naming a staying member as the new head "
                 "of household  (exitflow finish %s --new-hoh CLIENT)\n", wf);
    else
        fprintf (out, "Next: finish  (exitflow finish %s)\n", wf);
}

void
show_render (FILE *out, const msgpack_object *view, const char *zone)
{
    char wf[72], state[32], project[72], household[72], created[40],
        updated[40], by[72], when[40], last[40], text[600];
    mp_str (view, "workflow_id", wf, sizeof wf, "?");
    mp_str (view, "state", state, sizeof state, "?");
    bool open = strcmp (state, "open") == 0;
    bool stalled = false;
    exitflow_obj_bool (view, "stalled", &stalled);
    fmt_local_time (mp_str (view, "created_at", created, sizeof created, ""),
                    "%Y-%m-%d %H:%M", when, sizeof when);
    fprintf (out, "Workflow %s (%s, v%lld%s)  project %s", wf, state,
             (long long) mp_int (view, "version", 0),
             stalled ? ", stalled" : "",
             mp_str (view, "project_id", project, sizeof project, "?"));
    int64_t type;
    if (exitflow_obj_int (view, "project_type", &type)) {
        fprintf (out, " (type ");
        code_label (out, HUD_LIST_PROJECT_TYPE, type);
        fprintf (out, ")");
    }
    if (mp_str (view, "move_in_date", text, sizeof text, NULL))
        fprintf (out, "  moved in %s", text);
    fprintf (out, "  household %s  started %s",
             mp_str (view, "household_id", household, sizeof household, "?"),
             when);
    if (mp_str (view, "started_by", by, sizeof by, NULL))
        fprintf (out, " by %s", by);
    fputc ('\n', out);

    const msgpack_object *progress = exitflow_obj_get (view, "progress");
    int64_t updated_ms = 0;
    mp_str (view, "updated_at", updated, sizeof updated, "");
    fmt_parse_time (updated, &updated_ms);
    char idle[32];
    fmt_duration ((fmt_now_ms () - updated_ms) / 1000, idle, sizeof idle);
    short_time (updated, last, sizeof last);
    fprintf (out, "Progress %lld/%lld  last activity %s (%s ago)  times in %s\n",
             (long long) mp_int (progress, "done", 0),
             (long long) mp_int (progress, "total", 0), last, idle, zone);

    uint32_t n, nd;
    const msgpack_object *members = mp_array (view, "members", &n);
    const msgpack_object *dq = mp_array (view, "dq", &nd);
    int label_w = 0, client_w = 0;
    for (uint32_t i = 0; i < n; i++) {
        char client[72];
        int lw = (int) strlen (relationship_label (mp_int (&members[i],
                                                           "relationship", 0))) + 2;
        int cw = (int) strlen (mp_str (&members[i], "client_id", client,
                                       sizeof client, "?"));
        label_w = lw > label_w ? lw : label_w;
        client_w = cw > client_w ? cw : client_w;
    }
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *m = &members[i];
        char label[128], client[72], decision[32], next[72];
        snprintf (label, sizeof label, "[%s]",
                  relationship_label (mp_int (m, "relationship", 0)));
        mp_str (m, "decision", decision, sizeof decision, "?");
        bool adult = true;
        exitflow_obj_bool (m, "adult", &adult);
        /* Neither a date of birth nor an adult flag: counted as an adult,
         * and HUD 3.03 is missing. */
        bool unknown = mp_is_str (exitflow_obj_get (m, "age_basis"), "unknown");
        fprintf (out, "  %-*s %-*s  %s%s\n", label_w, label, client_w,
                 mp_str (m, "client_id", client, sizeof client, "?"), decision,
                 !adult ? "  (minor)" : unknown ? "  (age unknown)" : "");
        if (strcmp (decision, "exiting") == 0)
            render_steps (out, m, open ? mp_str (m, "next_step", next,
                                                 sizeof next, NULL)
                                       : NULL, dq, nd);
    }

    if (open)
        render_next (out, view, wf);
    else if (strcmp (state, "finished") == 0) {
        if (mp_str (view, "new_head_of_household", text, sizeof text, NULL))
            fprintf (out, "Finished; new head of household %s\n", text);
        else
            fprintf (out, "Finished\n");
    } else if (strcmp (state, "cancelled") == 0)
        fprintf (out, "Cancelled: %s\n",
                 mp_str (view, "cancel_reason", text, sizeof text, "-"));

    /* the household's findings, and those of no step shown above */
    if (nd == 0)
        fprintf (out, "DQ: no findings\n");
    for (uint32_t i = 0; i < nd; i++)
        if (!finding_placed (view, &dq[i]))
            render_finding (out, "", &dq[i]);
}
