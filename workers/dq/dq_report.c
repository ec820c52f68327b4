/* dq_report — the report mode of exitflow-dq. See dq_report.h. */
#include "workers/dq/dq_report.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/exitflow.h"
#include "protocol/calendar.h"
#include "workers/common/config.h"
#include "workers/dq/dq_summary.h"

#define NAME "exitflow-dq " DQ_REPORT_MODE
#define SYNOPSIS "[--project P | --include-demo] [--from YYYY-MM-DD --to YYYY-MM-DD] [--timezone ZONE]"
#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_RETRIES 2

/* The CLI's exit statuses. */
enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

/* ---- reading the stored exits ---- */

/* Calls `fn` with the view (workflow.get) of every workflow of the list
 * in `state` whose project the report counts (not the demo's, unless
 * asked: the list item's project_id spares fetching its view). */
typedef bool (each_fn) (exitflow_client_t *client, const char *wf,
                        const msgpack_object *view, void *arg,
                        exitflow_error_t *err);

static bool
each_view (exitflow_client_t *client, const dq_summary_filter_t *f,
           const msgpack_object *item, each_fn *fn, void *arg,
           exitflow_error_t *err)
{
    char wf[64], project[EXF_ID_MAX + 1];
    if (!exitflow_obj_str (item, "workflow_id", wf, sizeof wf)
        || !exitflow_obj_str (item, "project_id", project, sizeof project)
        || !dq_summary_counts_project (f, project))
        return true;
    exitflow_reply_t *view = exitflow_get (client, wf, err);
    if (!view)
        return false;
    bool ok = fn (client, wf, exitflow_reply_result (view), arg, err);
    exitflow_reply_destroy (&view);
    return ok;
}

static bool
each_workflow (exitflow_client_t *client, const char *state,
               const dq_summary_filter_t *f, each_fn *fn, void *arg,
               exitflow_error_t *err)
{
    char after[256] = "";
    for (;;) {
        exitflow_reply_t *page = exitflow_list (client, state,
                                                f->project_id[0]
                                                    ? f->project_id : NULL,
                                                -1, 1000,
                                                after[0] ? after : NULL, err);
        if (!page)
            return false;
        const msgpack_object *res = exitflow_reply_result (page);
        const msgpack_object *items = exitflow_obj_get (res, "workflows");
        bool ok = true;
        if (items && items->type == MSGPACK_OBJECT_ARRAY)
            for (uint32_t i = 0; i < items->via.array.size && ok; i++)
                ok = each_view (client, f, &items->via.array.ptr[i], fn, arg,
                                err);
        bool more = exitflow_obj_str (res, "next", after, sizeof after);
        exitflow_reply_destroy (&page);
        if (!ok)
            return false;
        if (!more)
            return true;
    }
}

typedef struct {
    const dq_summary_filter_t *f;
    dq_summary_t *sum;
    dq_snapshot_t *snapshot;
} collect_t;

static bool
add_finished (exitflow_client_t *client, const char *wf,
              const msgpack_object *view, void *arg, exitflow_error_t *err)
{
    collect_t *c = arg;
    exitflow_reply_t *history = exitflow_history (client, wf, err);
    if (!history)
        return false;
    const char *why;
    if (dq_snapshot_from_view (c->snapshot, view, &why)) {
        dq_snapshot_apply_history (c->snapshot, exitflow_obj_get (
            exitflow_reply_result (history), "events"));
        dq_summary_add_finished (c->sum, c->f, c->snapshot,
                                 exitflow_obj_get (view, "dq"));
    }
    exitflow_reply_destroy (&history);
    return true;
}

static bool
add_open (exitflow_client_t *client, const char *wf,
          const msgpack_object *view, void *arg, exitflow_error_t *err)
{
    (void) client;
    (void) wf;
    (void) err;
    collect_t *c = arg;
    bool stalled = false;
    exitflow_obj_bool (view, "stalled", &stalled);
    dq_summary_add_open (c->sum, stalled);
    return true;
}

/* Fills `sum`; false with `err` when the daemon could not be read. */
static bool
collect (exitflow_client_t *client, const dq_summary_filter_t *f,
         dq_summary_t *sum, exitflow_error_t *err)
{
    memset (sum, 0, sizeof *sum);
    collect_t c = { f, sum, calloc (1, sizeof (dq_snapshot_t)) };
    if (!c.snapshot)
        abort ();
    bool ok = each_workflow (client, "finished", f, add_finished, &c, err)
              && each_workflow (client, "open", f, add_open, &c, err);
    free (c.snapshot);
    return ok;
}

/* ---- the command line ---- */

typedef struct {
    const char *endpoint;           /* --endpoint, EXITFLOW_ENDPOINT */
    const char *events;             /* --events, EXITFLOW_EVENTS (unused) */
    const char *actor;              /* --actor, EXITFLOW_ACTOR */
    const char *cert;               /* --cert, else EXITFLOW_CERT, ./var/keys */
    const char *server_key;         /* --server-key, likewise */
    int64_t timeout_ms;             /* --timeout, EXITFLOW_TIMEOUT_MS */
    int64_t retries;                /* --retries, EXITFLOW_RETRIES */
    bool json;                      /* --json */
    dq_summary_filter_t filter;     /* --project, --from, --to */
} report_args_t;

enum {
    OPT_ENDPOINT = 0x1000, OPT_EVENTS, OPT_JSON, OPT_TIMEOUT, OPT_RETRIES,
    OPT_ACTOR, OPT_CERT, OPT_SERVER_KEY, OPT_HELP, OPT_PROJECT, OPT_FROM,
    OPT_TO, OPT_TIMEZONE, OPT_INCLUDE_DEMO,
};

static const struct option options[] = {
    { "endpoint", required_argument, NULL, OPT_ENDPOINT },
    { "events", required_argument, NULL, OPT_EVENTS },
    { "json", no_argument, NULL, OPT_JSON },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "retries", required_argument, NULL, OPT_RETRIES },
    { "actor", required_argument, NULL, OPT_ACTOR },
    { "cert", required_argument, NULL, OPT_CERT },
    { "server-key", required_argument, NULL, OPT_SERVER_KEY },
    { "help", no_argument, NULL, OPT_HELP },
    { "project", required_argument, NULL, OPT_PROJECT },
    { "from", required_argument, NULL, OPT_FROM },
    { "to", required_argument, NULL, OPT_TO },
    { "timezone", required_argument, NULL, OPT_TIMEZONE },
    { "include-demo", no_argument, NULL, OPT_INCLUDE_DEMO },
    { NULL, 0, NULL, 0 },
};

static void
print_help (FILE *out)
{
    fprintf (out, "usage: " NAME " " SYNOPSIS "\n\n"
        "the APR-Q6-style data-quality summary of stored exits.\n"
        "\noptions:\n"
        "  --project P           only this project (--project " EXF_DEMO_PROJECT ": the\n"
        "                        exits of `exitflow demo`)\n"
        "  --include-demo        every project, " EXF_DEMO_PROJECT " included (by default\n"
        "                        the report leaves out project " EXF_DEMO_PROJECT ", where\n"
        "                        `exitflow demo` runs)\n"
        "  --from DATE           exits dated on or after DATE (YYYY-MM-DD)\n"
        "  --to DATE             exits dated on or before DATE\n"
        "  --timezone ZONE       the CoC's time zone (IANA name), exitflowd's:\n"
        "                        APR Q6e counts days late in it (default: the\n"
        "                        system's)\n"
        "\ncommon options:\n"
        "  --endpoint ENDPOINT   command socket (EXITFLOW_ENDPOINT, "
        WORKER_DEFAULT_COMMANDS ")\n"
        "  --events ENDPOINT     event socket (EXITFLOW_EVENTS, "
        WORKER_DEFAULT_EVENTS ")\n"
        "  --json                print the result as JSON\n"
        "  --timeout MS          wait per attempt (EXITFLOW_TIMEOUT_MS, %d)\n"
        "  --retries N           re-sends after a timeout (EXITFLOW_RETRIES, %d)\n"
        "  --actor ID            your user id, recorded in events (EXITFLOW_ACTOR)\n"
        "  --cert FILE           the secret certificate (EXITFLOW_CERT,\n"
        "                        ./var/keys/" WORKER_DEFAULT_CERT_NAME "_secret when it exists)\n"
        "  --server-key KEY      the daemon's public key: its certificate file or\n"
        "                        40 Z85 characters (EXITFLOW_SERVER_KEY,\n"
        "                        ./var/keys/server when it exists)\n"
        "  --help                this text\n"
        "\nexit status: 0 ok, 1 refused by the daemon, 2 usage, 3 unreachable\n",
        DEFAULT_TIMEOUT_MS, DEFAULT_RETRIES);
}

static int
usage_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* "exitflow-dq report: message", the usage line, and status 2. */
static int
usage_error (const char *fmt, ...)
{
    fprintf (stderr, NAME ": ");
    va_list ap;
    va_start (ap, fmt);
    vfprintf (stderr, fmt, ap);
    va_end (ap);
    fprintf (stderr, "\nusage: " NAME " " SYNOPSIS "\n(see " NAME " --help)\n");
    return EXIT_USAGE;
}

static const char *
env_str (const char *name, const char *dflt)
{
    const char *text = getenv (name);
    return text && *text ? text : dflt;
}

static int64_t
env_int (const char *name, int64_t dflt, int64_t min, int64_t max)
{
    const char *text = getenv (name);
    int64_t v;
    if (!text || !*text)
        return dflt;
    if (codec_parse_int (text, min, max, &v))
        return v;
    fprintf (stderr, "exitflow-dq: ignoring %s=%s (not a number from %lld to "
             "%lld)\n", name, text, (long long) min, (long long) max);
    return dflt;
}

/* An option's integer; false after a usage error (then *status is 2). */
static bool
int_arg (const char *option, const char *text, int64_t min, int64_t max,
         int64_t *out, int *status)
{
    if (codec_parse_int (text, min, max, out))
        return true;
    *status = usage_error ("%s takes an integer from %lld to %lld, not '%s'",
                           option, (long long) min, (long long) max, text);
    return false;
}

/* One option into `a`. Returns -1 to go on, else the exit status. */
static int
apply_option (report_args_t *a, int c, const char *arg, const char *word)
{
    int status = -1;
    dq_summary_filter_t *f = &a->filter;
    switch (c) {
    case OPT_ENDPOINT: a->endpoint = arg; break;
    case OPT_EVENTS: a->events = arg; break;
    case OPT_JSON: a->json = true; break;
    case OPT_ACTOR: a->actor = arg; break;
    case OPT_CERT: a->cert = arg; break;
    case OPT_SERVER_KEY: a->server_key = arg; break;
    case OPT_TIMEOUT:
        int_arg ("--timeout", arg, 1, 3600000, &a->timeout_ms, &status);
        break;
    case OPT_RETRIES:
        int_arg ("--retries", arg, 0, 100, &a->retries, &status);
        break;
    case OPT_PROJECT:
        if (!dq_summary_set_project (f, arg))
            status = usage_error ("--project takes an id of 1 to %d bytes",
                                  EXF_ID_MAX);
        break;
    case OPT_INCLUDE_DEMO: f->include_demo = true; break;
    case OPT_FROM:
    case OPT_TO:
        if (!(c == OPT_FROM ? dq_summary_set_from : dq_summary_set_to) (f, arg))
            status = usage_error ("--%s takes a date YYYY-MM-DD",
                                  c == OPT_FROM ? "from" : "to");
        break;
    case OPT_TIMEZONE: {
        char why[256];
        if (!calendar_set_zone (arg, why, sizeof why))
            status = usage_error ("--timezone: %s", why);
        break;
    }
    case 'h':
    case OPT_HELP:
        print_help (stdout);
        status = EXIT_OK;
        break;
    case ':':
        status = usage_error ("option '%s' needs a value", word);
        break;
    default:
        status = usage_error ("unknown option '%s'", word);
        break;
    }
    return status;
}

/* Defaults, the environment, then argv. Returns -1 to run, else the exit
 * status (after --help or a usage error). */
static int
parse_args (report_args_t *a, int argc, char **argv)
{
    memset (a, 0, sizeof *a);
    a->endpoint = env_str ("EXITFLOW_ENDPOINT", WORKER_DEFAULT_COMMANDS);
    a->events = env_str ("EXITFLOW_EVENTS", WORKER_DEFAULT_EVENTS);
    a->actor = env_str ("EXITFLOW_ACTOR", NULL);
    a->timeout_ms = env_int ("EXITFLOW_TIMEOUT_MS", DEFAULT_TIMEOUT_MS, 1,
                             3600000);
    a->retries = env_int ("EXITFLOW_RETRIES", DEFAULT_RETRIES, 0, 100);
    opterr = 0;
    optind = 0;
    int c;
    while ((c = getopt_long (argc, argv, ":h", options, NULL)) != -1) {
        int status = apply_option (a, c, optarg, argv[optind - 1]);
        if (status >= 0)
            return status;
    }
    if (optind < argc)
        return usage_error ("unexpected argument '%s'", argv[optind]);
    const dq_summary_filter_t *f = &a->filter;
    if (f->has_from && f->has_to && f->from_day > f->to_day)
        return usage_error ("--from is after --to");
    return -1;
}

/* Reports a failed call on stderr; 3 for UNREACHABLE, else 1. */
static int
fail (const report_args_t *a, const exitflow_error_t *err)
{
    bool unreachable = strcmp (err->code, EXITFLOW_UNREACHABLE) == 0;
    if (a->json) {
        json_t *e = json_pack ("{s:s, s:s}", "code", err->code, "message",
                               err->message);
        if (err->field[0])
            json_object_set_new (e, "field", json_string (err->field));
        if (err->workflow_id[0])
            json_object_set_new (e, "workflow_id", json_string (err->workflow_id));
        if (err->version >= 0)
            json_object_set_new (e, "version", json_integer (err->version));
        json_t *doc = json_pack ("{s:b, s:o}", "ok", 0, "error", e);
        json_dumpf (doc, stderr, JSON_COMPACT);
        fputc ('\n', stderr);
        json_decref (doc);
    } else {
        fprintf (stderr, NAME ": %s: %s", err->code, err->message);
        if (err->field[0])
            fprintf (stderr, " (field %s)", err->field);
        if (err->workflow_id[0])
            fprintf (stderr, " (open workflow %s)", err->workflow_id);
        if (err->version >= 0)
            fprintf (stderr, " (current version %lld)", (long long) err->version);
        fputc ('\n', stderr);
        if (unreachable)
            fprintf (stderr, "is exitflowd running? (endpoint %s; set "
                     "--endpoint or EXITFLOW_ENDPOINT)\n", a->endpoint);
    }
    return unreachable ? EXIT_UNREACHABLE : EXIT_REFUSED;
}

int
dq_report_main (int argc, char **argv)
{
    static report_args_t a;
    int status = parse_args (&a, argc, argv);
    if (status >= 0)
        return status;
    exitflow_options_t o = exitflow_options_default ();
    o.timeout_ms = (int) a.timeout_ms;
    o.retries = (int) a.retries;
    o.actor = a.actor;
    o.cert = a.cert;
    o.server_key = a.server_key;
    exitflow_options_from_env (&o, WORKER_DEFAULT_CERT_NAME);
    exitflow_error_t err;
    if (!exitflow_options_check (&o, &err))
        return usage_error ("%s (%s)", err.message,
                            strcmp (err.field, "cert") == 0
                                ? "--cert FILE, EXITFLOW_CERT or ./var/keys/"
                                  WORKER_DEFAULT_CERT_NAME "_secret"
                                : "--server-key FILE|Z85, EXITFLOW_SERVER_KEY "
                                  "or ./var/keys/server");
    if (!exitflow_endpoint_check (a.endpoint, &err))
        return usage_error ("%s (--endpoint or EXITFLOW_ENDPOINT)",
                            err.message);
    exitflow_client_t *client = exitflow_client_new (a.endpoint, &o);
    if (!client)
        return usage_error ("cannot use endpoint '%s': %s", a.endpoint,
                            strerror (errno));
    static dq_summary_t sum;
    if (collect (client, &a.filter, &sum, &err)) {
        if (a.json)
            dq_summary_print_json (&sum, &a.filter, stdout);
        else
            dq_summary_print (&sum, &a.filter, stdout);
        status = EXIT_OK;
    } else
        status = fail (&a, &err);
    exitflow_client_destroy (&client);
    return status;
}
