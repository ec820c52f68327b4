/* demo — a sample household exit, end to end, for newcomers.
 *
 * Owns: taking the sample household (sample.c: project `demo`, the very
 * file `exitflow start --example` prints) through every command of the
 * guided exit with typed assessments as a front end fills them, printing
 * each step; then what the real DQ worker made of it — the demo files no
 * findings itself: it waits a few seconds for the worker (consumer `dq`)
 * to process the exit, or says the worker is not running — the finished
 * workflow's view and its event count; and a second household left open
 * half-way so that `list --include-demo` and `show` have something to
 * show. Everything stays in project `demo`, which `list` and `dq-report`
 * leave out unless asked. */
#include "cli.h"
#include "clients/jsonpack.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol/hud.h"

/* The DQ worker's consumer name (workers/: its section, `dq`). */
#define DQ_CONSUMER "dq"
#define DQ_WAIT_S 5                 /* the default of --dq-wait */
#define DQ_POLL_MS 100

typedef struct {
    cli_t *cli;
    exitflow_client_t *client;
    int pace_ms;
    int step;
    int64_t version;
    char next_step[32];             /* of the last save; "" for none */
    exitflow_error_t err;
} demo_t;

static void
pause_ms (int ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    nanosleep (&ts, NULL);
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

static exitflow_reply_t *
start (demo_t *d, const sample_t *h, char *wf, size_t cap)
{
    json_t *j = sample_start_args (h);
    size_t len;
    char *args = cli_msgpack_from_json (j, &len);
    json_decref (j);
    exitflow_reply_t *reply = exitflow_call (d->client,
                                             EXF_CMD_NAME (WORKFLOW_START),
                                             args, len, &d->err);
    free (args);
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
                      sample_exit_form ("Moved into an apartment"),
                      "destination 410")
           && save_step (d, wf, client, STEP_UNIVERSAL_DATA, NULL,
                         "default last")
           && save_step (d, wf, client, STEP_HEALTH_INSURANCE,
                         sample_with_source (sample_form_all_no (STEP_HEALTH_INSURANCE),
                                             STEP_HEALTH_INSURANCE,
                                             "employer_provided", 0),
                         "entered")
           && save_step (d, wf, client, STEP_DISABILITIES, NULL, "default last")
           && (strcmp (d->next_step, hud_steps[STEP_INCOME_BENEFITS].name) != 0
               || save_step (d, wf, client, STEP_INCOME_BENEFITS,
                             sample_with_source (sample_form_all_no (STEP_INCOME_BENEFITS),
                                                 STEP_INCOME_BENEFITS, "earned",
                                                 2100.0),
                             "entered"));
}

/* The consumer `name`'s offset from consumer.list: 1 found, 0 not
 * there, -1 when the list could not be read (d->err). */
static int
consumer_seq (demo_t *d, const char *name, int64_t *seq)
{
    exitflow_reply_t *r = exitflow_consumer_list (d->client, &d->err);
    if (!r)
        return -1;
    uint32_t n;
    const msgpack_object *list = mp_array (exitflow_reply_result (r),
                                           "consumers", &n);
    int found = 0;
    for (uint32_t i = 0; i < n && !found; i++)
        if (mp_is_str (exitflow_obj_get (&list[i], "consumer"), name)) {
            *seq = mp_int (&list[i], "seq", 0);
            found = 1;
        }
    exitflow_reply_destroy (&r);
    return found;
}

/* Waits up to `wait_s` for the DQ worker to have processed every event up
 * to `seq` (its offset reaches it: it acks after filing findings, and
 * when idle). True when it has; else `why` says what was seen. No `dq`
 * consumer at all means no DQ worker ever ran against this daemon: that
 * is said at once. */
static bool
wait_for_dq (demo_t *d, int64_t seq, int wait_s, char *why, size_t cap)
{
    int64_t deadline = fmt_now_ms () + (int64_t) wait_s * 1000, at = 0;
    for (;;) {
        int found = consumer_seq (d, DQ_CONSUMER, &at);
        if (found < 0) {
            snprintf (why, cap, "cannot tell whether the DQ worker is "
                      "running: consumer.list answered %s: %s", d->err.code,
                      d->err.message);
            return false;
        }
        if (!found) {
            snprintf (why, cap, "the DQ worker is not running: there is no "
                      "consumer " DQ_CONSUMER " (exitflow consumers); start "
                      "exitflow-dq (make run does) to see its findings");
            return false;
        }
        if (at >= seq)
            return true;
        if (fmt_now_ms () >= deadline)
            break;
        pause_ms (DQ_POLL_MS);
    }
    snprintf (why, cap, "the DQ worker is not running, or is behind: its "
              "consumer " DQ_CONSUMER " is at seq %lld, the exit ended at seq "
              "%lld, and %d s passed", (long long) at, (long long) seq,
              wait_s);
    return false;
}

/* The seq of the workflow's last event (its history, a page at a time). */
static bool
last_event_seq (demo_t *d, const char *wf, int64_t *seq, int64_t *count)
{
    exitflow_reply_t *h = exitflow_history (d->client, wf, &d->err);
    if (!h)
        return false;
    uint32_t n;
    const msgpack_object *events = mp_array (exitflow_reply_result (h),
                                             "events", &n);
    *count = n;
    *seq = n ? mp_int (&events[n - 1], "seq", 0) : 0;
    exitflow_reply_destroy (&h);
    return true;
}

/* The findings the DQ worker filed (source `dq`) in the view. */
static int
dq_findings (const msgpack_object *view)
{
    uint32_t n;
    const msgpack_object *dq = mp_array (view, "dq", &n);
    int count = 0;
    for (uint32_t i = 0; i < n; i++)
        count += mp_is_str (exitflow_obj_get (&dq[i], "source"), DQ_CONSUMER);
    return count;
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
        { "dq-wait", required_argument, NULL, 2 },
        { 0 },
    };
    demo_t d = { .cli = cli, .version = EXITFLOW_ANY_VERSION };
    int64_t pace = 0, dq_wait = DQ_WAIT_S;
    int c;
    while ((c = cli_getopt (cli, argc, argv, own)) > 0)
        if (!(c == 1 ? cli_int_arg (cli, "--pace", optarg, 0, 60000, &pace)
                     : cli_int_arg (cli, "--dq-wait", optarg, 0, 600, &dq_wait)))
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

    sample_t h;
    sample_new (&h);
    char wf[40] = "";
    char what[128];
    if (!cli->json)
        printf ("exitflow demo: household %s exits project %s (daemon %s)\n"
                "  head of household %s and child %s leave; spouse %s stays\n"
                "  (the household is `exitflow start --example`'s; project "
                EXF_DEMO_PROJECT " is left out of list and dq-report unless "
                "asked)\n\n",
                h.household, EXF_DEMO_PROJECT, cli->endpoint, h.hoh, h.child,
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
    snprintf (what, sizeof what, "finish; %s becomes head of household", h.spouse);
    if (!report (&d, exitflow_finish (d.client, wf, h.spouse, d.version, &d.err),
                 what))
        return fail (&d);

    /* What the real DQ worker made of it: the demo invents nothing. */
    int64_t last_seq, n_events;
    if (!last_event_seq (&d, wf, &last_seq, &n_events))
        return fail (&d);
    char why[320] = "";
    bool dq_ran = dq_wait > 0 && wait_for_dq (&d, last_seq, (int) dq_wait, why,
                                              sizeof why);
    if (dq_wait == 0)
        snprintf (why, sizeof why, "not waited for (--dq-wait 0)");

    /* The result, as `show` and `history` see it. */
    exitflow_reply_t *view = exitflow_get (d.client, wf, &d.err);
    if (!view)
        return fail (&d);
    const msgpack_object *v = exitflow_reply_result (view);
    if (dq_ran)                 /* its findings count: the history grew */
        last_event_seq (&d, wf, &last_seq, &n_events);

    /* A second household, left open half-way, for list and show. */
    sample_t h2;
    sample_new (&h2);
    char wf2[40] = "";
    demo_t d2 = d;
    d2.version = EXITFLOW_ANY_VERSION;
    d2.step = 0;
    bool quiet = cli->json;
    cli->json = true;                   /* no numbered lines for this one */
    bool ok2 = report (&d2, start (&d2, &h2, wf2, sizeof wf2), "start")
               && save_step (&d2, wf2, h2.hoh, STEP_EXIT,
                             sample_exit_form ("Moving in with family"),
                             "entered")
               && save_step (&d2, wf2, h2.hoh, STEP_UNIVERSAL_DATA, NULL,
                             "default last");
    cli->json = quiet;

    if (cli->json) {
        json_t *doc = json_pack ("{s:s, s:o, s:i, s:{s:b, s:i, s:s?}, s:s?}",
                                 "workflow_id", wf,
                                 "view", jsonpack_from_msgpack (v),
                                 "events", (json_int_t) n_events,
                                 "dq_worker", "ran", dq_ran,
                                 "findings", dq_findings (v),
                                 "why", dq_ran ? NULL : why,
                                 "open_workflow_id", ok2 ? wf2 : NULL);
        cli_print_json_doc (doc);
    } else {
        int found = dq_findings (v);
        printf ("\n");
        if (dq_ran && found)
            printf ("The DQ worker filed %d finding%s on this exit (the DQ "
                    "lines below).\n\n", found, found == 1 ? "" : "s");
        else if (dq_ran)
            printf ("The DQ worker checked this exit and found nothing to "
                    "flag.\n\n");
        else
            printf ("No data-quality findings: %s.\n\n", why);
        show_render (stdout, v, cli_coc_zone (cli));
        printf ("\n%lld events recorded for workflow %s "
                "(see: exitflow history %s)\n", (long long) n_events, wf, wf);
        if (ok2)
            printf ("\nLeft open for you to explore: workflow %s (household %s)\n"
                    "  exitflow list --include-demo --idle 1s\n"
                    "  exitflow show %s\n"
                    "  exitflow events tail --from 0     (in another terminal)\n",
                    wf2, h2.household, wf2);
    }
    exitflow_reply_destroy (&view);
    if (!ok2)
        return fail (&d2);
    return EXIT_OK;
}
