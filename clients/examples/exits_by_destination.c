/* exits_by_destination — a reporting subscriber: exits by destination
 * category, per project, as they happen.
 *
 * It follows exitflowd's events with libexitflow's gapless subscriber and
 * counts every `member.exited` (one per member who exits; its data holds
 * the HUD 3.12 destination) under the destination's category: permanent,
 * temporary, institutional, homeless or other, as the daemon's own
 * `hud.codes` says (no second table here). A member.exited names its
 * workflow, not the project: `workflow.get` says that (once per workflow).
 *
 * It keeps its place in the event log as a named consumer (consumer.ack,
 * `--consumer`, default exits-by-destination): stopped and started again,
 * it goes on after the last event it counted, so nothing is counted twice.
 * Without `--state` the table is this run's (the counts live in memory);
 * with `--state FILE` the counts are kept in FILE with the seq they cover,
 * written before each ack, so a restart — even after kill -9 — goes on
 * with the totals, each exit counted once. It prints the table on SIGUSR1
 * and when it stops (SIGINT, SIGTERM).
 *
 * Its certificate must be a `worker` one (consumer.ack is for workers and
 * admin): --cert FILE and --server-key FILE|Z85, or EXITFLOW_CERT and
 * EXITFLOW_SERVER_KEY, or ./var/keys/worker_secret and ./var/keys/server.
 *
 *     make examples
 *     bin/exits_by_destination --state exits.tsv &   # then: kill -USR1 %1
 *
 * Built like any program of a vendor's: <exitflow.h> and -lexitflow. */
#include <exitflow.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PROJECTS 256
#define MAX_CATEGORIES 8

static volatile sig_atomic_t show_table, stop;

static void
on_signal (int sig)
{
    if (sig == SIGUSR1)
        show_table = 1;
    else
        stop = 1;
}

/* The categories (hud.codes' order) and, per project, a count each. */
typedef struct {
    char categories[MAX_CATEGORIES][32];
    int n_categories;
    char projects[MAX_PROJECTS][65];
    long counts[MAX_PROJECTS][MAX_CATEGORIES];
    int n_projects;
    const msgpack_object *destinations;     /* hud.codes' */
} table_t;

static int
category_of (const table_t *t, int64_t destination)
{
    char name[32] = "";
    const msgpack_object *d = t->destinations;
    for (uint32_t i = 0; d && i < d->via.array.size; i++) {
        int64_t code;
        if (exitflow_obj_int (&d->via.array.ptr[i], "code", &code)
            && code == destination)
            exitflow_obj_str (&d->via.array.ptr[i], "category", name,
                              sizeof name);
    }
    for (int c = 0; c < t->n_categories; c++)
        if (strcmp (t->categories[c], name) == 0)
            return c;
    return -1;
}

static void
count (table_t *t, const char *project, int category, long n)
{
    int p = 0;
    while (p < t->n_projects && strcmp (t->projects[p], project) != 0)
        p++;
    if (p == t->n_projects) {
        if (p == MAX_PROJECTS)
            return;
        snprintf (t->projects[t->n_projects++], sizeof t->projects[0], "%s",
                  project);
    }
    t->counts[p][category] += n;
}

static void
print_table (const table_t *t)
{
    printf ("%-20s", "PROJECT");
    for (int c = 0; c < t->n_categories; c++)
        printf (" %13s", t->categories[c]);
    printf (" %13s\n", "total");
    for (int p = 0; p < t->n_projects; p++) {
        long total = 0;
        printf ("%-20s", t->projects[p]);
        for (int c = 0; c < t->n_categories; c++) {
            printf (" %13ld", t->counts[p][c]);
            total += t->counts[p][c];
        }
        printf (" %13ld\n", total);
    }
    if (!t->n_projects)
        printf ("(no exits yet)\n");
    fflush (stdout);
}

/* --state FILE: "seq N", then a line "PROJECT<TAB>CATEGORY<TAB>COUNT" per
 * count, written to FILE.tmp, synced and renamed over FILE, so the file is
 * always one whole table and the seq it covers. */
static bool
save_state (const table_t *t, uint64_t seq, const char *path)
{
    char tmp[4096];
    snprintf (tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen (tmp, "w");
    if (!f)
        return false;
    fprintf (f, "seq %llu\n", (unsigned long long) seq);
    for (int p = 0; p < t->n_projects; p++)
        for (int c = 0; c < t->n_categories; c++)
            if (t->counts[p][c])
                fprintf (f, "%s\t%s\t%ld\n", t->projects[p],
                         t->categories[c], t->counts[p][c]);
    bool ok = fflush (f) == 0 && fsync (fileno (f)) == 0;
    ok = fclose (f) == 0 && ok;
    return ok && rename (tmp, path) == 0;
}

/* The seq the file's table covers, its counts added to `t`; 0 when there
 * is no file yet. */
static uint64_t
load_state (table_t *t, const char *path)
{
    FILE *f = fopen (path, "r");
    unsigned long long seq = 0;
    if (!f || fscanf (f, "seq %llu\n", &seq) != 1) {
        if (f)
            fclose (f);
        return 0;
    }
    char project[65], category[32];
    long n;
    while (fscanf (f, "%64[^\t]\t%31[^\t]\t%ld\n", project, category, &n)
           == 3)
        for (int c = 0; c < t->n_categories; c++)
            if (strcmp (t->categories[c], category) == 0)
                count (t, project, c, n);
    fclose (f);
    return seq;
}

/* The project of a workflow: asked once for each new workflow (a
 * household's members exit one after the other). */
static const char *
project_of (exitflow_client_t *client, const char *workflow_id)
{
    static char last_wf[32], project[65];
    if (strcmp (workflow_id, last_wf) == 0)
        return project;
    exitflow_error_t err;
    exitflow_reply_t *view = exitflow_get (client, workflow_id, &err);
    if (!view)
        return NULL;
    exitflow_obj_str (exitflow_reply_result (view), "project_id", project,
                      sizeof project);
    snprintf (last_wf, sizeof last_wf, "%s", workflow_id);
    exitflow_reply_destroy (&view);
    return project;
}

/* Where this consumer stopped last time: its stored offset, 0 for none. */
static uint64_t
stored_offset (exitflow_client_t *client, const char *consumer)
{
    exitflow_error_t err;
    int64_t seq = 0;
    exitflow_reply_t *r = exitflow_consumer_list (client, &err);
    const msgpack_object *list = exitflow_obj_get (
        r ? exitflow_reply_result (r) : NULL, "consumers");
    for (uint32_t i = 0; list && i < list->via.array.size; i++) {
        char name[65];
        if (exitflow_obj_str (&list->via.array.ptr[i], "consumer", name,
                              sizeof name) && strcmp (name, consumer) == 0)
            exitflow_obj_int (&list->via.array.ptr[i], "seq", &seq);
    }
    exitflow_reply_destroy (&r);
    return (uint64_t) seq;
}

int
main (int argc, char **argv)
{
    static const struct option options[] = {
        { "endpoint", required_argument, NULL, 'e' },
        { "events", required_argument, NULL, 'v' },
        { "consumer", required_argument, NULL, 'n' },
        { "cert", required_argument, NULL, 'c' },
        { "server-key", required_argument, NULL, 'k' },
        { "state", required_argument, NULL, 's' },
        { 0 },
    };
    const char *endpoint = "tcp://127.0.0.1:5570", *events =
        "tcp://127.0.0.1:5571", *consumer = "exits-by-destination",
        *state = NULL;
    exitflow_options_t o = exitflow_options_default ();
    int c;
    while ((c = getopt_long (argc, argv, "", options, NULL)) != -1)
        switch (c) {
        case 'e': endpoint = optarg; break;
        case 'v': events = optarg; break;
        case 'n': consumer = optarg; break;
        case 'c': o.cert = optarg; break;
        case 'k': o.server_key = optarg; break;
        case 's': state = optarg; break;
        default:
            fprintf (stderr, "usage: %s [--endpoint E] [--events E] "
                     "[--consumer NAME] [--state FILE] [--cert FILE --server-key KEY]\n",
                     argv[0]);
            return 2;
        }
    exitflow_options_from_env (&o, "worker");
    exitflow_error_t err;
    exitflow_client_t *client = exitflow_client_new (endpoint, &o);
    exitflow_reply_t *codes = client ? exitflow_hud_codes (client, &err)
                                     : NULL;
    if (!codes) {
        fprintf (stderr, "exits_by_destination: cannot reach %s: %s\n",
                 endpoint, client ? err.message : "bad endpoint or keys");
        return 3;
    }
    static table_t t;
    const msgpack_object *res = exitflow_reply_result (codes);
    const msgpack_object *cats = exitflow_obj_get (res,
                                                   "destination_categories");
    for (uint32_t i = 0; cats && i < cats->via.array.size
                         && t.n_categories < MAX_CATEGORIES; i++)
        snprintf (t.categories[t.n_categories++], sizeof t.categories[0],
                  "%.*s", (int) cats->via.array.ptr[i].via.str.size,
                  cats->via.array.ptr[i].via.str.ptr);
    t.destinations = exitflow_obj_get (res, "destinations");

    /* acking where it stands says at once whether this certificate may
     * keep an offset (a worker's may; without it a restart would count
     * again) */
    /* the state file, when there is one, is where the counts stop */
    uint64_t acked = state ? load_state (&t, state)
                           : stored_offset (client, consumer);
    exitflow_reply_t *mark = exitflow_consumer_ack (client, consumer, acked,
                                                    &err);
    if (!mark) {
        fprintf (stderr, "exits_by_destination: cannot keep the offset of "
                 "consumer %s: %s %s (it needs a worker certificate)\n",
                 consumer, err.code, err.message);
        exitflow_reply_destroy (&codes);
        exitflow_client_destroy (&client);
        return 1;
    }
    exitflow_reply_destroy (&mark);
    exitflow_subscriber_t *sub = exitflow_subscriber_new (
        endpoint, events, acked, "member.exited", &o);
    struct sigaction sa = { .sa_handler = on_signal };  /* no SA_RESTART: a
                                                           signal ends a wait */
    sigaction (SIGUSR1, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    fprintf (stderr, "exits_by_destination: following from seq %llu as "
             "consumer %s\n", (unsigned long long) acked, consumer);
    int status = sub ? 0 : 3;
    while (sub && !stop) {
        exitflow_event_t *ev = NULL;
        int got = exitflow_subscriber_next (sub, 1000, &ev, &err);
        /* how far the counts go: the event just counted; when the wait
         * ended with none, every seq the subscriber accounted for (events
         * of other types it skipped — it may also hold fetched events not
         * yet handed over, so only an idle moment says they are done) */
        uint64_t seen = got == 0 ? exitflow_subscriber_seq (sub) : acked;
        if (got == 1) {
            seen = exitflow_event_seq (ev);
            int64_t destination = -1;
            exitflow_obj_int (exitflow_event_data (ev), "destination",
                              &destination);
            const char *project = project_of (client,
                                              exitflow_event_workflow_id (ev));
            int category = category_of (&t, destination);
            if (!project) {             /* unreachable: the next run counts
                                           it (not acked) */
                exitflow_event_destroy (&ev);
                status = 3;
                break;
            }
            if (category >= 0)
                count (&t, project, category, 1);
            exitflow_event_destroy (&ev);
        }
        if (seen > acked && state && !save_state (&t, seen, state)) {
            fprintf (stderr, "exits_by_destination: cannot write %s\n",
                     state);
            status = 1;
            break;
        }
        exitflow_reply_t *r = seen > acked
            ? exitflow_consumer_ack (client, consumer, seen, &err) : NULL;
        if (r)
            acked = seen;
        exitflow_reply_destroy (&r);
        if (show_table) {
            show_table = 0;
            print_table (&t);
        }
    }
    print_table (&t);
    exitflow_subscriber_destroy (&sub);
    exitflow_reply_destroy (&codes);
    exitflow_client_destroy (&client);
    return status;
}
