/* ops — the subcommands for operations: list, history, events tail,
 * consumers (and retiring one), ack, dq, stats, ping, backup.
 *
 * Owns: paging through workflow.list into one aligned table, following the
 * event stream through the gapless subscriber until Ctrl-C, and the
 * human-readable forms of the read-only results. */
#include "cli.h"
#include "clients/jsonpack.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_STATE = 1, OPT_IDLE, OPT_PROJECT, OPT_LIMIT, OPT_PAGE, OPT_CLIENT,
       OPT_ENROLLMENT, OPT_HOUSEHOLD, OPT_MINE, OPT_CASEWORKER, OPT_STALLED,
       OPT_INCLUDE_DEMO, OPT_FROM, OPT_TYPE, OPT_COUNT, OPT_NO_FOLLOW,
       OPT_SOURCE, OPT_FINDINGS, OPT_DELETE, OPT_WAIT };

/* ---- list ---- */

typedef struct {
    exitflow_list_filter_t f;
    bool include_demo, mine;
    const char *caseworker;         /* --caseworker */
    int64_t idle, limit, page_size;
} list_t;

static bool
list_options (cli_t *cli, int argc, char **argv, list_t *l)
{
    static const struct option own[] = {
        { "state", required_argument, NULL, OPT_STATE },
        { "idle", required_argument, NULL, OPT_IDLE },
        { "project", required_argument, NULL, OPT_PROJECT },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "page-size", required_argument, NULL, OPT_PAGE },
        { "client", required_argument, NULL, OPT_CLIENT },
        { "enrollment", required_argument, NULL, OPT_ENROLLMENT },
        { "household", required_argument, NULL, OPT_HOUSEHOLD },
        { "mine", no_argument, NULL, OPT_MINE },
        { "caseworker", required_argument, NULL, OPT_CASEWORKER },
        { "stalled", no_argument, NULL, OPT_STALLED },
        { "include-demo", no_argument, NULL, OPT_INCLUDE_DEMO },
        { 0 },
    };
    exitflow_list_filter_t *f = &l->f;
    int c;
    while ((c = cli_getopt (cli, argc, argv, own)) > 0) {
        switch (c) {
        case OPT_STATE: f->state = optarg; break;
        case OPT_PROJECT: f->project_id = optarg; break;
        case OPT_CLIENT: f->client_id = optarg; break;
        case OPT_ENROLLMENT: f->enrollment_id = optarg; break;
        case OPT_HOUSEHOLD: f->household_id = optarg; break;
        case OPT_MINE: l->mine = true; break;
        case OPT_CASEWORKER: l->caseworker = optarg; break;
        case OPT_STALLED: f->stalled = EXITFLOW_STALLED_ONLY; break;
        case OPT_INCLUDE_DEMO: l->include_demo = true; break;
        case OPT_IDLE:
            if (!fmt_parse_duration (optarg, &l->idle)) {
                cli_usage_error (cli, "--idle takes a duration like 45s, 12m, "
                                 "24h, 3d or 1h30m, not '%s'", optarg);
                return false;
            }
            break;
        case OPT_LIMIT:
            if (!cli_int_arg (cli, "--limit", optarg, 1, 1000000, &l->limit))
                return false;
            break;
        case OPT_PAGE:
            if (!cli_int_arg (cli, "--page-size", optarg, 1, 1000,
                              &l->page_size))
                return false;
            break;
        }
    }
    if (c == CLI_STOP || !cli_positionals (cli, argc, argv, 0, 0))
        return false;
    if (f->state && strcmp (f->state, "open") != 0
        && strcmp (f->state, "finished") != 0
        && strcmp (f->state, "cancelled") != 0) {
        cli_usage_error (cli, "--state is open, finished or cancelled");
        return false;
    }
    if (l->mine && l->caseworker) {
        cli_usage_error (cli, "give --mine or --caseworker, not both");
        return false;
    }
    if (l->mine && !cli->actor) {
        cli_usage_error (cli, "--mine lists the exits you started or changed "
                         "last, and this command does not know who you are: "
                         "give --actor ID or set EXITFLOW_ACTOR");
        return false;
    }
    f->actor = l->mine ? cli->actor : l->caseworker;
    f->idle_for_s = l->idle;
    /* A key filter finds exits in every state; without one, the open. */
    if (!f->state && !f->client_id && !f->enrollment_id && !f->household_id
        && !f->actor)
        f->state = "open";
    /* The sandbox only when asked (by name or --include-demo). */
    l->include_demo |= f->project_id != NULL;
    return true;
}

/* "started_by" or "started_by/last_actor" when someone else changed it
 * last; "-" for nobody named. */
static void
caseworker_cell (const msgpack_object *w, char *buf, size_t cap)
{
    char by_buf[72], last[72];
    const char *by = mp_str (w, "started_by", by_buf, sizeof by_buf, "-");
    if (mp_str (w, "last_actor", last, sizeof last, NULL)
        && strcmp (last, by) != 0)
        snprintf (buf, cap, "%s/%s", by, last);
    else
        snprintf (buf, cap, "%s", by);
}

static void
list_row (table_t *table, const msgpack_object *w, int64_t now)
{
    char id[72], state[24], proj[72], hh[72], who[150], created[40],
        updated[40], started[32], last[32], progress[48], idle_text[32];
    const msgpack_object *p = exitflow_obj_get (w, "progress");
    int64_t updated_ms = now;
    bool stalled = false;
    exitflow_obj_bool (w, "stalled", &stalled);
    mp_str (w, "state", state, sizeof state, "?");
    fmt_parse_time (mp_str (w, "updated_at", updated, sizeof updated, ""),
                    &updated_ms);
    fmt_local_time (mp_str (w, "created_at", created, sizeof created, ""),
                    "%Y-%m-%d %H:%M", started, sizeof started);
    fmt_local_time (updated, "%Y-%m-%d %H:%M", last, sizeof last);
    snprintf (progress, sizeof progress, "%lld/%lld",
              (long long) mp_int (p, "done", 0),
              (long long) mp_int (p, "total", 0));
    fmt_duration ((now - updated_ms) / 1000, idle_text, sizeof idle_text);
    caseworker_cell (w, who, sizeof who);
    table_row (table, mp_str (w, "workflow_id", id, sizeof id, "?"), state,
               mp_str (w, "project_id", proj, sizeof proj, "-"),
               mp_str (w, "household_id", hh, sizeof hh, "-"), who, started,
               last, progress, idle_text,
               strcmp (state, "open") != 0 ? "-" : stalled ? "yes" : "no");
}

/* "No open workflows of household H idle for at least 1h." */
static void
print_none (const list_t *l, int64_t demo_skipped)
{
    const exitflow_list_filter_t *f = &l->f;
    char idle_text[32] = "";
    if (l->idle > 0)
        fmt_duration (l->idle, idle_text, sizeof idle_text);
    printf ("No %s%s%sworkflows", f->stalled ? "stalled " : "",
            f->state ? f->state : "", f->state ? " " : "");
    if (f->project_id)
        printf (" in project %s", f->project_id);
    if (f->client_id)
        printf (" with client %s", f->client_id);
    if (f->enrollment_id)
        printf (" with enrollment %s", f->enrollment_id);
    if (f->household_id)
        printf (" of household %s", f->household_id);
    if (f->actor)
        printf (" started or last changed by %s", f->actor);
    if (l->idle > 0)
        printf (" idle for at least %s", idle_text);
    printf (".\n");
    if (demo_skipped)
        printf ("(%lld in project " EXF_DEMO_PROJECT " left out: "
                "--include-demo shows them)\n", (long long) demo_skipped);
}

int
cmd_list (cli_t *cli, int argc, char **argv)
{
    list_t l = { .idle = -1, .limit = -1, .page_size = 1000 };
    if (!list_options (cli, argc, argv, &l))
        return cli->status;
    exitflow_client_t *client = cli_client (cli);
    if (!client)
        return cli->status;

    table_t *table = table_new (10);
    table_row (table, "ID", "STATE", "PROJECT", "HOUSEHOLD", "CASEWORKER",
               "STARTED", "LAST ACTIVITY", "PROGRESS", "IDLE", "STALLED");
    json_t *all = json_array ();
    int64_t now = fmt_now_ms (), count = 0, demo_skipped = 0;
    char after[256] = "";
    int rc = EXIT_OK;
    bool zoned = false;
    for (;;) {
        l.f.limit = l.limit > 0 && l.limit - count < l.page_size
                        ? (int) (l.limit - count) : (int) l.page_size;
        l.f.after = after[0] ? after : NULL;
        exitflow_error_t err;
        exitflow_reply_t *reply = exitflow_list_filtered (client, &l.f, &err);
        if (!reply) {
            rc = cli_fail (cli, &err);
            break;
        }
        if (!zoned && !cli->json)
            cli_coc_zone (cli);     /* the table's times in the CoC's zone */
        zoned = true;
        const msgpack_object *res = exitflow_reply_result (reply);
        uint32_t n;
        const msgpack_object *items = mp_array (res, "workflows", &n);
        for (uint32_t i = 0; i < n && (l.limit < 0 || count < l.limit); i++) {
            if (!l.include_demo
                && mp_is_str (exitflow_obj_get (&items[i], "project_id"),
                              EXF_DEMO_PROJECT)) {
                demo_skipped++;
                continue;
            }
            json_array_append_new (all, jsonpack_from_msgpack (&items[i]));
            list_row (table, &items[i], now);
            count++;
        }
        bool more = exitflow_obj_str (res, "next", after, sizeof after);
        exitflow_reply_destroy (&reply);
        if (!more || (l.limit > 0 && count >= l.limit))
            break;
    }
    if (rc == EXIT_OK) {
        if (cli->json)
            cli_print_json_doc (json_pack ("{s:O}", "workflows", all));
        else if (count == 0)
            print_none (&l, demo_skipped);
        else {
            table_print (table, stdout);
            printf ("times in %s", cli_coc_zone (cli));
            if (demo_skipped)
                printf ("; %lld in project " EXF_DEMO_PROJECT " left out "
                        "(--include-demo)", (long long) demo_skipped);
            printf ("\n");
        }
    }
    json_decref (all);
    table_destroy (&table);
    return rc;
}

/* ---- history ---- */

static void
history_text (cli_t *cli, const msgpack_object *res, const void *arg)
{
    (void) cli;
    (void) arg;
    uint32_t n;
    const msgpack_object *events = mp_array (res, "events", &n);
    for (uint32_t i = 0; i < n; i++)
        fmt_event_line (stdout, &events[i]);
}

int
cmd_history (cli_t *cli, int argc, char **argv)
{
    exitflow_client_t *client = cli_simple_start (cli, argc, argv, 1, 1);
    if (!client)
        return cli->status;
    exitflow_error_t err;
    return cli_reply (cli, exitflow_history (client, argv[optind], &err), &err,
                      history_text, NULL);
}

/* ---- events tail ---- */

static volatile sig_atomic_t interrupted;

static void
on_signal (int sig)
{
    (void) sig;
    interrupted = 1;
}

int
cmd_events_tail (cli_t *cli, int argc, char **argv)
{
    static const struct option own[] = {
        { "from", required_argument, NULL, OPT_FROM },
        { "type", required_argument, NULL, OPT_TYPE },
        { "count", required_argument, NULL, OPT_COUNT },
        { "no-follow", no_argument, NULL, OPT_NO_FOLLOW },
        { 0 },
    };
    int64_t from = -1, count = -1;
    const char *prefix = "";
    bool follow = true;
    int c;
    while ((c = cli_getopt (cli, argc, argv, own)) > 0) {
        switch (c) {
        case OPT_FROM:
            if (!cli_int_arg (cli, "--from", optarg, 0, INT64_MAX, &from))
                return EXIT_USAGE;
            break;
        case OPT_COUNT:
            if (!cli_int_arg (cli, "--count", optarg, 1, INT64_MAX, &count))
                return EXIT_USAGE;
            break;
        case OPT_TYPE: prefix = optarg; break;
        case OPT_NO_FOLLOW: follow = false; break;
        }
    }
    if (c == CLI_STOP)
        return cli->status;
    if (!cli_positionals (cli, argc, argv, 0, 0)
        || !cli_endpoint_ok (cli, cli->events, "--events", "EXITFLOW_EVENTS"))
        return EXIT_USAGE;
    exitflow_client_t *client = cli_client (cli);
    if (!client)
        return cli->status;

    /* "From now" and "until caught up" both need the log's end. */
    int64_t last_seq = 0;
    if (from < 0 || !follow) {
        exitflow_error_t err;
        exitflow_reply_t *stats = exitflow_stats (client, &err);
        if (!stats)
            return cli_fail (cli, &err);
        last_seq = mp_int (exitflow_reply_result (stats), "last_seq", 0);
        exitflow_reply_destroy (&stats);
    }
    if (from < 0)
        from = last_seq;
    exitflow_options_t o = cli_options (cli);
    exitflow_subscriber_t *sub = exitflow_subscriber_new (cli->endpoint,
                                                          cli->events,
                                                          (uint64_t) from,
                                                          prefix, &o);
    if (!sub)
        return cli_usage_error (cli, "cannot use event endpoint '%s'",
                                cli->events);

    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    if (!cli->json && follow)
        fprintf (stderr, "following events after seq %lld%s%s (Ctrl-C stops)\n",
                 (long long) from, *prefix ? " of type " : "", prefix);

    int rc = EXIT_OK;
    bool delivered = false, warned = false;
    int64_t seen = 0;
    while (!interrupted && (count < 0 || seen < count)) {
        exitflow_event_t *ev;
        exitflow_error_t err;
        int got = exitflow_subscriber_next (sub, follow ? 250 : 0, &ev, &err);
        if (got < 0) {
            /* Down at the start: say so like any command. Down later: the
             * stream resumes, gapless, when the daemon is back. */
            if (!delivered) {
                rc = cli_fail (cli, &err);
                break;
            }
            if (!warned)
                fprintf (stderr, "exitflow events tail: %s: %s (retrying)\n",
                         err.code, err.message);
            warned = true;
            continue;
        }
        delivered = true;
        if (got == 0) {
            if (!follow && exitflow_subscriber_seq (sub) >= (uint64_t) last_seq)
                break;
            continue;
        }
        warned = false;
        if (cli->json)
            cli_print_json_line (exitflow_event_object (ev));
        else {
            fmt_event_line (stdout, exitflow_event_object (ev));
            fflush (stdout);
        }
        exitflow_event_destroy (&ev);
        seen++;
    }
    exitflow_subscriber_destroy (&sub);
    return rc;
}

/* ---- consumers, ack ---- */

static void
consumers_text (cli_t *cli, const msgpack_object *res, const void *arg)
{
    (void) arg;
    uint32_t n;
    const msgpack_object *list = mp_array (res, "consumers", &n);
    int64_t now = fmt_now_ms ();
    if (n == 0)
        printf ("No consumers have acknowledged events yet.\n");
    else {
        const char *zone = cli_coc_zone (cli);
        table_t *t = table_new (5);
        table_row (t, "CONSUMER", "SEQ", "LAG", "LAST ACK", "IDLE");
        for (uint32_t i = 0; i < n; i++) {
            const msgpack_object *e = &list[i];
            char name[72], seq[24], lag[24], at[40], when[40], idle[32] = "-";
            int64_t at_ms;
            snprintf (seq, sizeof seq, "%lld", (long long) mp_int (e, "seq", 0));
            snprintf (lag, sizeof lag, "%lld", (long long) mp_int (e, "lag", 0));
            fmt_local_time (mp_str (e, "acked_at", at, sizeof at, ""),
                            "%Y-%m-%d %H:%M", when, sizeof when);
            if (fmt_parse_time (at, &at_ms))
                fmt_duration ((now - at_ms) / 1000, idle, sizeof idle);
            table_row (t, mp_str (e, "consumer", name, sizeof name, "?"), seq,
                       lag, when, idle);
        }
        table_print (t, stdout);
        table_destroy (&t);
        printf ("times in %s\n", zone);
    }
    printf ("last seq %lld\n", (long long) mp_int (res, "last_seq", 0));
}

static void
deleted_text (cli_t *cli, const msgpack_object *res, const void *name)
{
    (void) cli;
    (void) res;
    printf ("Deleted consumer %s.\n", (const char *) name);
}

/* The table, or with --delete NAME its retirement (consumer.delete: the
 * daemon says who may, and when). */
int
cmd_consumers (cli_t *cli, int argc, char **argv)
{
    static const struct option own[] = {
        { "delete", required_argument, NULL, OPT_DELETE },
        { 0 },
    };
    const char *name = NULL;
    int c;
    while ((c = cli_getopt (cli, argc, argv, own)) > 0)
        name = optarg;
    if (c == CLI_STOP || !cli_positionals (cli, argc, argv, 0, 0))
        return cli->status;
    exitflow_client_t *client = cli_client (cli);
    if (!client)
        return cli->status;
    exitflow_error_t err;
    if (name)
        return cli_reply (cli, exitflow_consumer_delete (client, name, &err),
                          &err, deleted_text, name);
    return cli_reply (cli, exitflow_consumer_list (client, &err), &err,
                      consumers_text, NULL);
}

static void
ack_text (cli_t *cli, const msgpack_object *res, const void *consumer)
{
    (void) cli;
    printf ("%s at seq %lld, lag %lld\n", (const char *) consumer,
            (long long) mp_int (res, "seq", 0),
            (long long) mp_int (res, "lag", 0));
}

int
cmd_ack (cli_t *cli, int argc, char **argv)
{
    exitflow_client_t *client = cli_simple_start (cli, argc, argv, 2, 2);
    if (!client)
        return cli->status;
    int64_t seq;
    if (!cli_int_arg (cli, "SEQ", argv[optind + 1], 0, INT64_MAX, &seq))
        return EXIT_USAGE;
    exitflow_error_t err;
    return cli_reply (cli, exitflow_consumer_ack (client, argv[optind],
                                                  (uint64_t) seq, &err),
                      &err, ack_text, argv[optind]);
}

/* ---- dq ---- */

/* `what`: the source and the workflow id. */
static void
dq_text (cli_t *cli, const msgpack_object *res, const void *what)
{
    (void) cli;
    const char *const *w = what;
    printf ("%lld finding%s from %s on %s\n",
            (long long) mp_int (res, "count", 0),
            mp_int (res, "count", 0) == 1 ? "" : "s", w[0], w[1]);
}

int
cmd_dq (cli_t *cli, int argc, char **argv)
{
    static const struct option own[] = {
        { "source", required_argument, NULL, OPT_SOURCE },
        { "findings", required_argument, NULL, OPT_FINDINGS },
        { 0 },
    };
    const char *source = NULL, *findings = NULL;
    int c;
    while ((c = cli_getopt (cli, argc, argv, own)) > 0) {
        if (c == OPT_SOURCE)
            source = optarg;
        else if (c == OPT_FINDINGS)
            findings = optarg;
    }
    if (c == CLI_STOP)
        return cli->status;
    if (!cli_positionals (cli, argc, argv, 1, 1))
        return EXIT_USAGE;
    if (!source || !findings)
        return cli_usage_error (cli, "--source and --findings are required");
    json_t *j = cli_json_arg (cli, "--findings", findings);
    if (!j)
        return EXIT_USAGE;
    if (!json_is_array (j)) {
        json_decref (j);
        return cli_usage_error (cli, "--findings must be a JSON array");
    }
    size_t len;
    char *bytes = cli_msgpack_from_json (j, &len);
    json_decref (j);
    exitflow_client_t *client = cli_client (cli);
    exitflow_reply_t *reply = NULL;
    exitflow_error_t err;
    if (client)
        reply = exitflow_dq_report (client, argv[optind], source, bytes, len,
                                    EXITFLOW_ANY_VERSION, &err);
    free (bytes);
    if (!client)
        return cli->status;
    const char *what[2] = { source, argv[optind] };
    return cli_reply (cli, reply, &err, dq_text, what);
}

/* ---- stats, ping ---- */

static void
stats_text (cli_t *cli, const msgpack_object *res, const void *arg)
{
    (void) cli;
    (void) arg;
    const msgpack_object *w = exitflow_obj_get (res, "workflows");
    char uptime[32];
    fmt_duration (mp_int (res, "uptime_s", 0), uptime, sizeof uptime);
    printf ("workflows  open %lld  finished %lld  cancelled %lld\n"
            "last seq   %lld\n"
            "uptime     %s\n",
            (long long) mp_int (w, "open", 0),
            (long long) mp_int (w, "finished", 0),
            (long long) mp_int (w, "cancelled", 0),
            (long long) mp_int (res, "last_seq", 0), uptime);
    const msgpack_object *store = exitflow_obj_get (res, "store");
    if (store) {
        const msgpack_object *full = exitflow_obj_get (store, "full");
        int64_t map = mp_int (store, "map_size", 0);
        int64_t max = mp_int (store, "max_map_size", 0);
        char grows[48] = " (its limit)";
        if (max > map)
            snprintf (grows, sizeof grows, " (grows to %.1f MiB)",
                      (double) max / (1 << 20));
        printf ("store      schema %lld, a %.1f MiB map%s%s\n",
                (long long) mp_int (store, "schema", 0),
                (double) map / (1 << 20), grows,
                full && full->type == MSGPACK_OBJECT_BOOLEAN
                    && full->via.boolean
                    ? ": FULL, writes are refused (--max-map-size)" : "");
    }
}

int
cmd_stats (cli_t *cli, int argc, char **argv)
{
    exitflow_client_t *client = cli_simple_start (cli, argc, argv, 0, 0);
    if (!client)
        return cli->status;
    exitflow_error_t err;
    return cli_reply (cli, exitflow_stats (client, &err), &err, stats_text,
                      NULL);
}

/* ---- backup ---- */

/* How long `backup` waits for the copy by default, in seconds. */
#define BACKUP_WAIT_S 3600

static void
backup_text (cli_t *cli, const msgpack_object *res, const void *arg)
{
    (void) cli;
    (void) arg;
    char dir[1100];
    mp_str (res, "dir", dir, sizeof dir, "?");
    printf ("backup    %s\n"
            "size      %lld bytes (%.1f MiB)\n"
            "last seq  %lld\n"
            "restore:  exitflowd --verify %s, then exitflowd --data %s\n",
            dir, (long long) mp_int (res, "bytes", 0),
            (double) mp_int (res, "bytes", 0) / (1 << 20),
            (long long) mp_int (res, "last_seq", 0), dir, dir);
}

/* store.backup: the daemon's answer comes when the copy is done. A ping
 * first, with the usual timeout, so that a daemon that does not answer is
 * told at once; then the one request, waiting --wait seconds. */
int
cmd_backup (cli_t *cli, int argc, char **argv)
{
    static const struct option own[] = {
        { "wait", required_argument, NULL, OPT_WAIT },
        { 0 },
    };
    int64_t wait = BACKUP_WAIT_S;
    int c;
    while ((c = cli_getopt (cli, argc, argv, own)) > 0)
        if (!cli_int_arg (cli, "--wait", optarg, 1, 86400, &wait))
            return EXIT_USAGE;
    if (c == CLI_STOP || !cli_positionals (cli, argc, argv, 1, 1))
        return cli->status;
    exitflow_client_t *client = cli_client (cli);
    if (!client)
        return cli->status;
    exitflow_error_t err;
    exitflow_reply_t *pong = exitflow_ping (client, &err);
    if (!pong)
        return cli_fail (cli, &err);
    exitflow_reply_destroy (&pong);
    exitflow_options_t o = cli_options (cli);
    o.timeout_ms = (int) wait * 1000;
    o.retries = 0;
    exitflow_client_t *waiting = exitflow_client_new (cli->endpoint, &o);
    if (!waiting) {
        fprintf (stderr, "exitflow backup: cannot connect to %s\n",
                 cli->endpoint);
        return EXIT_UNREACHABLE;
    }
    int rc = cli_reply (cli, exitflow_backup (waiting, argv[optind], &err),
                        &err, backup_text, NULL);
    exitflow_client_destroy (&waiting);
    return rc;
}

static void
ping_text (cli_t *cli, const msgpack_object *res, const void *arg)
{
    (void) arg;
    char version[64];
    printf ("pong from %s (%s)\n", cli->endpoint,
            mp_str (res, "version", version, sizeof version, "?"));
}

int
cmd_ping (cli_t *cli, int argc, char **argv)
{
    exitflow_client_t *client = cli_simple_start (cli, argc, argv, 0, 0);
    if (!client)
        return cli->status;
    exitflow_error_t err;
    return cli_reply (cli, exitflow_ping (client, &err), &err, ping_text, NULL);
}
