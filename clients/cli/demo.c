/* demo — a sample household exit, end to end, for newcomers.
 *
 * Owns: a made-up three-member household (head, spouse, child, with dates
 * of birth; ids fresh for every run so it works against any daemon) in a
 * rapid re-housing project, taken through every command of the guided
 * exit with typed assessments as a front end fills them, printing each
 * step; then the finished workflow's view and its event count, and a
 * second household left open half-way so that `list` and `show` have
 * something to show. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "protocol/hud.h"
#include "protocol/hud_fields.h"

#define DEMO_PROJECT "DEMO-RRH"
#define DEMO_PROJECT_TYPE HUD_PROJECT_RRH
/* The answers of HUD's yes/no lists (1.7, 1.8). */
#define ANSWER_NO 0
#define ANSWER_YES 1

typedef struct {
    cli_t *cli;
    exitflow_client_t *client;
    int pace_ms;
    int step;
    int64_t version;
    char next_step[32];             /* of the last save; "" for none */
    exitflow_error_t err;
} demo_t;

typedef struct {
    char household[40];
    char hoh[40], spouse[40], child[40];
    char e_hoh[40], e_spouse[40], e_child[40];
    char entry[11], entry_child[11], move_in[11];
    char born_hoh[11], born_spouse[11], born_child[11];
} household_ids_t;

static void
pause_ms (int ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    nanosleep (&ts, NULL);
}

static void
make_ids (household_ids_t *h)
{
    uint8_t r[4] = { 0 };
    if (getrandom (r, sizeof r, 0) != (ssize_t) sizeof r) {
        uint32_t t = (uint32_t) time (NULL);
        memcpy (r, &t, sizeof r);
    }
    char tag[9];
    snprintf (tag, sizeof tag, "%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
    snprintf (h->household, sizeof h->household, "HH-DEMO-%s", tag);
    snprintf (h->hoh, sizeof h->hoh, "C-%s-1", tag);
    snprintf (h->spouse, sizeof h->spouse, "C-%s-2", tag);
    snprintf (h->child, sizeof h->child, "C-%s-3", tag);
    snprintf (h->e_hoh, sizeof h->e_hoh, "E-%s-1", tag);
    snprintf (h->e_spouse, sizeof h->e_spouse, "E-%s-2", tag);
    snprintf (h->e_child, sizeof h->e_child, "E-%s-3", tag);
    fmt_utc_date (-120, h->entry);
    fmt_utc_date (-90, h->entry_child);
    fmt_utc_date (-100, h->move_in);
    /* 41, 39 and 9 years old: the daemon works out who is an adult. */
    fmt_utc_date (-(41 * 365 + 45), h->born_hoh);
    fmt_utc_date (-(39 * 365 + 7), h->born_spouse);
    fmt_utc_date (-(9 * 365 + 120), h->born_child);
}

/* Prints one numbered line for a call that succeeded, or the error. */
static bool
report (demo_t *d, exitflow_reply_t *reply, const char *what)
{
    if (!reply) {
        if (!d->cli->json)
            printf ("  %2d. %-58s failed\n", ++d->step, what);
        return false;
    }
    if (exitflow_reply_version (reply) >= 0)
        d->version = exitflow_reply_version (reply);
    const char *next = exitflow_reply_next_step (reply);
    snprintf (d->next_step, sizeof d->next_step, "%s", next ? next : "");
    if (!d->cli->json) {
        printf ("  %2d. %-58s v%lld%s%s\n", ++d->step, what,
                (long long) d->version, next ? "  next: " : "",
                next ? next : "");
        fflush (stdout);
    }
    exitflow_reply_destroy (&reply);
    pause_ms (d->pace_ms);
    return true;
}

/* An assessment as a front end that shows every question sends it: each
 * question of `step` answered no (in the step's field table, every coded
 * question whose list has a "no"); the follow-ups of a yes ("indefinite
 * and impairs", amounts, "specify" texts) are left out. */
static json_t *
form_all_no (hud_step_id_t step)
{
    json_t *form = json_object ();
    const hud_step_fields_t *t = &hud_step_fields[step];
    for (int i = 0; i < t->n; i++) {
        const hud_field_t *f = &t->fields[i];
        if (f->type == FIELD_CODE && f->role != ROLE_IMPAIRS
            && hud_list_find (f->list, ANSWER_NO))
            json_object_set_new (form, f->name, json_integer (ANSWER_NO));
    }
    return form;
}

/* `form` with the source `name` answered yes, its group's "from any
 * source" yes, and, for an income source, its monthly `amount` added to
 * the total, as the front end computes it. */
static json_t *
with_source (json_t *form, hud_step_id_t step, const char *name, double amount)
{
    const hud_field_t *f = hud_field_find (step, name, strlen (name));
    if (!f || f->role != ROLE_SOURCE)
        return form;
    const hud_group_t *g = &hud_groups[f->group];
    json_object_set_new (form, f->name, json_integer (ANSWER_YES));
    json_object_set_new (form, g->any_source, json_integer (ANSWER_YES));
    if (f->pair)
        json_object_set_new (form, f->pair, json_real (amount));
    if (g->total)
        json_object_set_new (form, g->total, json_real (
            json_number_value (json_object_get (form, g->total)) + amount));
    return form;
}

/* Prior assessment values, as a front end would carry them from the
 * entry assessment, for default_last. */
static char *
last_values (bool adult, size_t *len)
{
    json_t *j = json_object ();
    json_object_set_new (j, hud_steps[STEP_UNIVERSAL_DATA].name,
                         form_all_no (STEP_UNIVERSAL_DATA));
    json_object_set_new (j, hud_steps[STEP_HEALTH_INSURANCE].name,
                         with_source (form_all_no (STEP_HEALTH_INSURANCE),
                                      STEP_HEALTH_INSURANCE, "medicaid", 0));
    json_object_set_new (j, hud_steps[STEP_DISABILITIES].name,
                         form_all_no (STEP_DISABILITIES));
    if (adult)
        json_object_set_new (j, hud_steps[STEP_INCOME_BENEFITS].name,
                             with_source (form_all_no (STEP_INCOME_BENEFITS),
                                          STEP_INCOME_BENEFITS, "earned",
                                          1250.50));
    char *bytes = cli_msgpack_from_json (j, len);
    json_decref (j);
    return bytes;
}

static exitflow_reply_t *
start (demo_t *d, const household_ids_t *h, char *wf, size_t cap)
{
    size_t la, lc;
    char *adult = last_values (true, &la), *child = last_values (false, &lc);
    /* HUD 3.15: head of household, spouse or partner, child; no adult
     * flags: the dates of birth say it. */
    exitflow_member_t members[] = {
        { .client_id = h->hoh, .enrollment_id = h->e_hoh,
          .relationship = HUD_HEAD_OF_HOUSEHOLD, .entry_date = h->entry,
          .birth_date = h->born_hoh, .adult = -1, .last = adult, .last_len = la },
        { .client_id = h->spouse, .enrollment_id = h->e_spouse,
          .relationship = 3, .entry_date = h->entry,
          .birth_date = h->born_spouse, .adult = -1, .last = adult, .last_len = la },
        { .client_id = h->child, .enrollment_id = h->e_child,
          .relationship = HUD_CHILD, .entry_date = h->entry_child,
          .birth_date = h->born_child, .adult = -1, .last = child, .last_len = lc },
    };
    exitflow_household_t hh = {
        .enrollment_id = h->e_hoh, .household_id = h->household,
        .project_id = DEMO_PROJECT, .project_type = DEMO_PROJECT_TYPE,
        .move_in_date = h->move_in, .members = members, .member_count = 3,
    };
    exitflow_reply_t *reply = exitflow_start (d->client, &hh, &d->err);
    free (adult);
    free (child);
    if (reply)
        snprintf (wf, cap, "%s", exitflow_reply_workflow_id (reply));
    return reply;
}

static exitflow_reply_t *
save_json (demo_t *d, const char *wf, const char *client, const char *step,
           json_t *data)
{
    size_t len;
    char *bytes = cli_msgpack_from_json (data, &len);
    json_decref (data);
    exitflow_reply_t *reply = exitflow_save (d->client, wf, client, step, bytes,
                                             len, d->version, &d->err);
    free (bytes);
    return reply;
}

static json_t *
exit_form (const char *reason)
{
    /* Yesterday: whatever the CoC's time zone, never in its future. */
    char yesterday[11];
    fmt_utc_date (-1, yesterday);
    /* 410: rental by client, no ongoing housing subsidy (HUD 3.12). */
    return json_pack ("{s:s, s:i, s:s}", "exit_date", yesterday,
                      "destination", 410, "exit_reason", reason);
}

/* One step of a member: `data` entered (taken), or NULL for default_last. */
static bool
save_step (demo_t *d, const char *wf, const char *client, hud_step_id_t step,
           json_t *data, const char *how)
{
    const char *name = hud_steps[step].name;
    char what[96];
    snprintf (what, sizeof what, "save %s for %s (%s)", name, client, how);
    return report (d, data ? save_json (d, wf, client, name, data)
                           : exitflow_save_default_last (d->client, wf, client,
                                                         name, d->version,
                                                         &d->err),
                   what);
}

/* Every step in guided order; the member's prior values are still right
 * for some (default last), changed for others (entered). Income and
 * benefits only when the daemon says they come next: it knows who is an
 * adult on the exit date, from the dates of birth. */
static bool
run_member_steps (demo_t *d, const char *wf, const char *client)
{
    return save_step (d, wf, client, STEP_EXIT,
                      exit_form ("Moved into an apartment"), "destination 410")
           && save_step (d, wf, client, STEP_UNIVERSAL_DATA, NULL,
                         "default last")
           && save_step (d, wf, client, STEP_HEALTH_INSURANCE,
                         with_source (form_all_no (STEP_HEALTH_INSURANCE),
                                      STEP_HEALTH_INSURANCE,
                                      "employer_provided", 0),
                         "entered")
           && save_step (d, wf, client, STEP_DISABILITIES, NULL, "default last")
           && (strcmp (d->next_step, hud_steps[STEP_INCOME_BENEFITS].name) != 0
               || save_step (d, wf, client, STEP_INCOME_BENEFITS,
                             with_source (form_all_no (STEP_INCOME_BENEFITS),
                                          STEP_INCOME_BENEFITS, "earned",
                                          2100.0),
                             "entered"));
}

static int
fail (demo_t *d)
{
    fprintf (stderr, "the demo stopped at step %d\n", d->step);
    return cli_fail (d->cli, &d->err);
}

int
cmd_demo (cli_t *cli, int argc, char **argv)
{
    static const struct option own[] = {
        { "pace", required_argument, NULL, 1 },
        { 0 },
    };
    demo_t d = { .cli = cli, .version = EXITFLOW_ANY_VERSION };
    int64_t pace = 0;
    int c;
    while ((c = cli_getopt (cli, argc, argv, own)) > 0)
        if (!cli_int_arg (cli, "--pace", optarg, 0, 60000, &pace))
            return EXIT_USAGE;
    if (c == CLI_STOP)
        return cli->status;
    if (!cli_positionals (cli, argc, argv, 0, 0))
        return EXIT_USAGE;
    d.pace_ms = (int) pace;
    if (!cli->actor)
        cli->actor = "demo-caseworker";
    d.client = cli_client (cli);
    if (!d.client)
        return cli->status;

    household_ids_t h;
    make_ids (&h);
    char wf[40] = "";
    char what[128];
    if (!cli->json)
        printf ("exitflow demo: household %s exits project %s (daemon %s)\n"
                "  head of household %s and child %s leave; spouse %s stays\n\n",
                h.household, DEMO_PROJECT, cli->endpoint, h.hoh, h.child,
                h.spouse);

    snprintf (what, sizeof what, "start the exit for the head of household");
    exitflow_reply_t *reply = start (&d, &h, wf, sizeof wf);
    if (reply && !cli->json)
        printf ("      workflow %s\n", wf);
    if (!report (&d, reply, what))
        return fail (&d);
    if (!run_member_steps (&d, wf, h.hoh))
        return fail (&d);
    snprintf (what, sizeof what, "decide: %s stays", h.spouse);
    if (!report (&d, exitflow_decide (d.client, wf, h.spouse, false, d.version,
                                      &d.err), what))
        return fail (&d);
    snprintf (what, sizeof what, "decide: %s exits too", h.child);
    if (!report (&d, exitflow_decide (d.client, wf, h.child, true, d.version,
                                      &d.err), what))
        return fail (&d);
    if (!run_member_steps (&d, wf, h.child))
        return fail (&d);

    /* A DQ worker's annotation: findings never change the version. */
    json_t *findings = json_pack (
        "[{s:s, s:s, s:s, s:s}]", "rule", "income-change-at-exit", "severity",
        "warning", "client_id", h.hoh, "message",
        "earned income at exit differs from entry; confirm the amount");
    size_t flen;
    char *fbytes = cli_msgpack_from_json (findings, &flen);
    json_decref (findings);
    reply = exitflow_dq_report (d.client, wf, "demo-dq", fbytes, flen,
                                EXITFLOW_ANY_VERSION, &d.err);
    free (fbytes);
    if (!report (&d, reply, "a DQ worker reports one warning"))
        return fail (&d);
    snprintf (what, sizeof what, "finish; %s becomes head of household", h.spouse);
    if (!report (&d, exitflow_finish (d.client, wf, h.spouse, d.version, &d.err),
                 what))
        return fail (&d);

    /* The result, as `show` and `history` see it. */
    exitflow_reply_t *view = exitflow_get (d.client, wf, &d.err);
    if (!view)
        return fail (&d);
    exitflow_reply_t *history = exitflow_history (d.client, wf, &d.err);
    if (!history) {
        exitflow_reply_destroy (&view);
        return fail (&d);
    }
    uint32_t n_events;
    mp_array (exitflow_reply_result (history), "events", &n_events);

    /* A second household, left open half-way, for list and show. */
    household_ids_t h2;
    make_ids (&h2);
    char wf2[40] = "";
    demo_t d2 = d;
    d2.version = EXITFLOW_ANY_VERSION;
    d2.step = 0;
    bool quiet = cli->json;
    cli->json = true;                   /* no numbered lines for this one */
    bool ok2 = report (&d2, start (&d2, &h2, wf2, sizeof wf2), "start")
               && save_step (&d2, wf2, h2.hoh, STEP_EXIT,
                             exit_form ("Moving in with family"), "entered")
               && save_step (&d2, wf2, h2.hoh, STEP_UNIVERSAL_DATA, NULL,
                             "default last");
    cli->json = quiet;

    if (cli->json) {
        json_t *doc = json_pack ("{s:s, s:o, s:i, s:s?}", "workflow_id", wf,
                                 "view", cli_json_from_msgpack (exitflow_reply_result (view)),
                                 "events", (json_int_t) n_events,
                                 "open_workflow_id", ok2 ? wf2 : NULL);
        cli_print_json_doc (doc);
    } else {
        printf ("\n");
        show_render (stdout, exitflow_reply_result (view));
        printf ("\n%u events recorded for workflow %s "
                "(see: exitflow history %s)\n", n_events, wf, wf);
        if (ok2)
            printf ("\nLeft open for you to explore: workflow %s (household %s)\n"
                    "  exitflow list --state open --idle 1s\n"
                    "  exitflow show %s\n"
                    "  exitflow events tail --from 0     (in another terminal)\n",
                    wf2, h2.household, wf2);
    }
    exitflow_reply_destroy (&history);
    exitflow_reply_destroy (&view);
    if (!ok2)
        return fail (&d2);
    return EXIT_OK;
}
