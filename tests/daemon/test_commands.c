/* Unit tests for the command layer (daemon/commands.c, the handlers in
 * cmd_*.c, the write path in change.c) and the stall scan (stall.c), on a
 * real LMDB in a temp dir: requests are msgpack bodies run through
 * commands_execute in a transaction the test commits, as the server would,
 * without a socket. */
#define _GNU_SOURCE                     /* memmem */
#include "store_fixture.h"

#include "protocol/calendar.h"
#include "protocol/hud_fields.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

#include "daemon/backup.h"
#include "daemon/commands.h"
#include "daemon/pack.h"
#include "daemon/stall.h"
#include "map_reader.h"

#define EXIT_DATE "2026-11-20"

static int64_t clock_ms;                /* the time of the next request */
static caller_t caller;                 /* who sends the next request */
static const char *actor;               /* the actor it names, or NULL */
static int64_t retire_ms;               /* --consumer-retire-after */
static backup_t *backup;                /* store.backup's, when a test has one */

/* The events the write path queued, as the server's outbox would hold
 * them: dropped when a transaction is aborted. */
static struct {
    char types[256][32];
    int n;
} queued;

static void
queue_push (void *arg, const char *type, const void *event, size_t len)
{
    (void) arg;
    (void) event;
    (void) len;
    assert_true (queued.n < 256);
    snprintf (queued.types[queued.n++], sizeof queued.types[0], "%s", type);
}

static change_env_t
change_env (store_txn_t *txn)
{
    change_env_t env = { txn, clock_ms, { queue_push, NULL } };
    return env;
}

static int
setup (void **state)
{
    clock_ms = NOW;
    queued.n = 0;
    caller = (caller_t) { "test-admin", EXF_ROLE_ADMIN };
    actor = NULL;
    retire_ms = 7 * DAY_MS;
    return store_setup (state);
}

/* ---- requests and replies ---- */

/* A request body {v, id, cmd, actor?, args}. */
static held_t *
request (const char *id, const char *cmd, const msgpack_object *args)
{
    held_t *h = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    codec_pack_request_head (&pk, id, cmd, actor, true);
    msgpack_pack_object (&pk, *args);
    return h;
}

typedef struct {
    store_status_t status;
    const msgpack_object *reply;        /* NULL after a storage fault */
    const char *bytes;                  /* the reply as sent */
    size_t len;
} ran_t;

/* Runs one request in its own transaction, committed when the command
 * layer reports no storage fault and aborted (its events dropped) when it
 * does, as the server does with a batch. */
static ran_t
run_body (held_t *body)
{
    const msgpack_object *obj = decode_held (body);
    codec_request_t req;
    exf_error_t err;
    exf_error_clear (&err);
    assert_true (codec_parse_request (obj, &req, &err));
    const command_t *cmd = commands_find (req.cmd);
    assert_non_null (cmd);
    store_txn_t *txn = begin (command_writes (cmd));
    command_env_t env = { change_env (txn), NOW - 5000, retire_ms, 0, backup };
    int queued_before = queued.n;
    msgpack_sbuffer reply;
    msgpack_sbuffer_init (&reply);
    ran_t r = { commands_execute (&env, cmd, &req, &caller, body->sb.data,
                                  body->sb.size, &reply), NULL, NULL, 0 };
    if (r.status == STORE_OK && !reply.size)
        commit (&txn);                  /* answered later: no reply yet */
    else if (r.status == STORE_OK) {
        commit (&txn);
        held_t *h = hold ();
        msgpack_sbuffer_write (&h->sb, reply.data, reply.size);
        r.reply = decode_held (h);
        r.bytes = h->sb.data;
        r.len = h->sb.size;
    } else {
        store_abort (&txn);
        queued.n = queued_before;
    }
    msgpack_sbuffer_destroy (&reply);
    return r;
}

/* RUN (id, cmd, args_fmt, ...): the args as msgpack_builder.h builds them. */
#define RUN(id, cmd, ...) run_body (request (id, cmd, build (__VA_ARGS__)))

/* The result of a successful reply. */
static const msgpack_object *
ok (ran_t r)
{
    assert_int_equal (r.status, STORE_OK);
    const msgpack_object *okv = get (r.reply, "ok");
    if (!okv->via.boolean)
        fail_msg ("refused: %s: %s", str_of (get (r.reply, "error"), "code"),
                  str_of (get (r.reply, "error"), "message"));
    return get (r.reply, "result");
}

/* The error map of a refusal with `code`. */
static const msgpack_object *
refused (ran_t r, const char *code)
{
    assert_int_equal (r.status, STORE_OK);
    assert_false (get (r.reply, "ok")->via.boolean);
    const msgpack_object *e = get (r.reply, "error");
    assert_string_equal (str_of (e, "code"), code);
    return e;
}

static bool
same_bytes (ran_t a, ran_t b)
{
    return a.len == b.len && memcmp (a.bytes, b.bytes, a.len) == 0;
}

/* ---- a household ---- */

/* Starts a two-member household (c1 head, c2 spouse) with request `id`;
 * returns its workflow id. */
static const char *
start (const char *id, const char *household)
{
    static char ids[4][WF_ID_LEN + 1];
    static int next;
    ran_t r = RUN (id, "workflow.start",
                   "m{s:s, s:s, s:s, s:a[m{s:s, s:s, s:i, s:s},"
                   "                     m{s:s, s:s, s:i, s:s}]}", 4,
                   "enrollment_id", "e1", "household_id", household,
                   "project_id", "p1", "members", 2,
                   4, "client_id", "c1", "enrollment_id", "e1",
                   "relationship", 1, "entry_date", "2026-01-10",
                   4, "client_id", "c2", "enrollment_id", "e2",
                   "relationship", 3, "entry_date", "2026-01-10");
    char *wf = ids[next++ % 4];
    snprintf (wf, WF_ID_LEN + 1, "%s", str_of (ok (r), "workflow_id"));
    return wf;
}

static ran_t
decide (const char *id, const char *wf, const char *client, bool exit)
{
    return RUN (id, "member.decide", "m{s:s, s:s, s:b}", 3, "workflow_id", wf,
                "client_id", client, "exit", exit);
}

static const msgpack_object *
view (const char *wf)
{
    return ok (RUN ("get", "workflow.get", "m{s:s}", 1, "workflow_id", wf));
}

static int64_t
last_seq (void)
{
    return int_of (ok (RUN ("stats", "stats", "m{}", 0)), "last_seq");
}

/* ---- the table ---- */

/* Every command of the protocol has a row; nothing else does. */
static void
test_table_covers_the_protocol (void **state)
{
    (void) state;
    for (int i = 0; i < EXF_CMD_COUNT; i++) {
        const char *name = exf_command_names[i];
        exf_str_t s = { name, (uint32_t) strlen (name) };
        if (!commands_find (s))
            fail_msg ("%s has no handler", name);
    }
    static const char *const unknown[] = { "", "pin", "pings", "PING",
                                           "workflow" };
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        exf_str_t s = { unknown[i], (uint32_t) strlen (unknown[i]) };
        assert_null (commands_find (s));
    }
    exf_str_t start_s = { "workflow.start", 14 }, get_s = { "workflow.get", 12 };
    exf_str_t dq_s = { "dq.report", 9 }, ping_s = { "ping", 4 };
    assert_true (command_writes (commands_find (start_s)));
    assert_false (command_writes (commands_find (get_s)));
    assert_true (command_allows (commands_find (dq_s), EXF_ROLE_WORKER));
    assert_false (command_allows (commands_find (dq_s), EXF_ROLE_FRONTEND));
    assert_true (command_allows (commands_find (ping_s), EXF_ROLE_OPS));
}

/* ---- writes, events, idempotency ---- */

static void
test_start_stores_and_queues (void **state)
{
    (void) state;
    const char *wf = start ("s1", "h1");
    assert_int_equal (strlen (wf), WF_ID_LEN);
    assert_int_equal (queued.n, 1);
    assert_string_equal (queued.types[0], EXF_EV_NAME (WORKFLOW_STARTED));
    const msgpack_object *v = view (wf);
    assert_int_equal (int_of (v, "version"), 1);
    assert_string_equal (str_of (v, "state"), "open");
    const msgpack_object *stats = ok (RUN ("st", "stats", "m{}", 0));
    assert_int_equal (int_of (get (stats, "workflows"), "open"), 1);
    assert_int_equal (int_of (stats, "last_seq"), 1);
    /* the household is taken */
    const msgpack_object *e = refused (RUN ("s2", "workflow.start",
                                            "m{s:s, s:s, s:s, "
                                            "s:a[m{s:s, s:s, s:i, s:s}]}", 4,
                                            "enrollment_id", "e9",
                                            "household_id", "h1",
                                            "project_id", "p1", "members", 1,
                                            4, "client_id", "c9",
                                            "enrollment_id", "e9",
                                            "relationship", 1,
                                            "entry_date", "2026-01-10"),
                                       EXF_CONFLICT);
    assert_string_equal (str_of (e, "workflow_id"), wf);
    assert_int_equal (last_seq (), 1);
}

/* workflow.start names no workflow: its replies are the daemon's. The same
 * id and body get the same bytes and change nothing; the same id with
 * another body is BAD_REQUEST. */
static void
test_idempotent_replay_unscoped (void **state)
{
    (void) state;
    held_t *body = request ("once", "workflow.start",
                            build ("m{s:s, s:s, s:s, "
                                   "s:a[m{s:s, s:s, s:i, s:s}]}", 4,
                                   "enrollment_id", "e1", "household_id",
                                   "h1", "project_id", "p1", "members", 1,
                                   4, "client_id", "c1", "enrollment_id",
                                   "e1", "relationship", 1, "entry_date",
                                   "2026-01-10"));
    ran_t first = run_body (body);
    ok (first);
    clock_ms += 60 * 1000;
    ran_t again = run_body (body);
    assert_true (same_bytes (first, again));
    assert_int_equal (queued.n, 1);
    assert_int_equal (last_seq (), 1);

    const msgpack_object *e = refused (RUN ("once", "workflow.start",
                                            "m{s:s}", 1, "household_id", "h2"),
                                       EXF_BAD_REQUEST);
    assert_string_equal (str_of (e, "field"), "id");
    assert_int_equal (queued.n, 1);
    assert_int_equal (int_of (get (ok (RUN ("st", "stats", "m{}", 0)),
                                   "workflows"), "open"), 1);
}

/* A scoped command's replies are found through its workflow: replayed
 * byte for byte (a final refusal too), another body refused, and the id
 * free for use on another workflow. What is not final is not kept. */
static void
test_idempotent_replay_scoped (void **state)
{
    (void) state;
    const char *wf = start ("s1", "h1");
    ran_t first = decide ("d1", wf, "c2", true);
    assert_int_equal (int_of (ok (first), "version"), 2);
    int events = queued.n;
    ran_t again = decide ("d1", wf, "c2", true);
    assert_true (same_bytes (first, again));
    assert_int_equal (queued.n, events);
    assert_int_equal (int_of (view (wf), "version"), 2);
    refused (decide ("d1", wf, "c2", false), EXF_BAD_REQUEST);
    assert_int_equal (int_of (view (wf), "version"), 2);

    /* a final refusal is replayed too */
    ran_t no = decide ("d2", wf, "c1", true);   /* the primary: VALIDATION */
    refused (no, EXF_VALIDATION);
    assert_true (same_bytes (no, decide ("d2", wf, "c1", true)));

    /* BAD_REQUEST is not kept: the same id may then carry a good body */
    refused (RUN ("d3", "member.decide", "m{s:s, s:s}", 2, "workflow_id", wf,
                  "client_id", "c2"), EXF_BAD_REQUEST);
    assert_int_equal (int_of (ok (decide ("d3", wf, "c2", false)), "version"),
                      3);

    /* NOT_FOUND for a workflow that does not exist is not kept either */
    refused (decide ("d4", "01JDKZ3V8QABCDEFGHJKMN0000", "c2", true),
             EXF_NOT_FOUND);
    const char *other = start ("s2", "h2");
    assert_int_equal (int_of (ok (decide ("d4", other, "c2", true)),
                              "version"), 2);
    /* and an id is scoped to its workflow */
    assert_int_equal (int_of (ok (decide ("d1", other, "c2", false)),
                              "version"), 3);
}

/* A stale expected_version is CONFLICT with the current version, and
 * nothing changes. */
static void
test_version_conflict (void **state)
{
    (void) state;
    const char *wf = start ("s1", "h1");
    int64_t seq = last_seq ();
    int events = queued.n;
    const msgpack_object *e = refused (RUN ("d1", "member.decide",
                                            "m{s:s, s:s, s:b, s:i}", 4,
                                            "workflow_id", wf,
                                            "client_id", "c2", "exit", 1,
                                            "expected_version", 5),
                                       EXF_CONFLICT);
    assert_int_equal (int_of (e, "version"), 1);
    assert_string_equal (str_of (e, "field"), "expected_version");
    assert_int_equal (int_of (view (wf), "version"), 1);
    assert_string_equal (str_of (&get (view (wf), "members")->via.array.ptr[1],
                                 "decision"), "undecided");
    assert_int_equal (last_seq (), seq);
    assert_int_equal (queued.n, events);
    assert_int_equal (int_of (ok (RUN ("d2", "member.decide",
                                       "m{s:s, s:s, s:b, s:i}", 4,
                                       "workflow_id", wf, "client_id", "c2",
                                       "exit", 1, "expected_version", 1)),
                              "version"), 2);
}

/* Past the retention a reply is forgotten: the id is evaluated anew. */
static void
test_replies_past_retention (void **state)
{
    (void) state;
    remove_temp_store ();
    open_temp_store (LARGE_MAP, 1000);      /* replies kept 1 s */
    const char *wf = start ("s1", "h1");
    ok (decide ("d1", wf, "c2", true));
    refused (decide ("d1", wf, "c2", false), EXF_BAD_REQUEST);
    clock_ms += 2000;
    assert_int_equal (int_of (ok (decide ("d1", wf, "c2", false)), "version"),
                      3);
    /* the sweep takes the records themselves */
    clock_ms += 2 * DAY_MS;
    store_txn_t *t = begin (true);
    int deleted = 0;
    assert_int_equal (store_replies_sweep (t, clock_ms, 100, &deleted),
                      STORE_OK);
    commit (&t);
    assert_int_equal (deleted, 3);          /* s1, and d1 twice */
}

/* A write that meets a full map gets STORE_FULL: the server aborts the
 * batch, and nothing of it is there. Reads go on; the same request meets
 * the same answer (it was not stored). */
static void
test_map_full (void **state)
{
    (void) state;
    remove_temp_store ();
    open_temp_store (SMALL_MAP, DAY_MS);
    const char *wf = start ("s1", "h1");
    ok (RUN ("x", "step.save", "m{s:s, s:s, s:s, s:s, s:m{s:s, s:i}}", 5,
             "workflow_id", wf, "client_id", "c1", "step", "exit",
             "mode", "entered", "data", 2, "exit_date", EXIT_DATE,
             "destination", 410));
    static char notes[60000];
    memset (notes, 'n', sizeof notes - 1);
    held_t *failed = NULL;
    for (int i = 0; i < 100 && !failed; i++) {
        char id[16];
        snprintf (id, sizeof id, "u%d", i);
        held_t *body = request (id, "step.save",
                                build ("m{s:s, s:s, s:s, s:s, s:m{s:s, s:i}}",
                                       5, "workflow_id", wf, "client_id", "c1",
                                       "step", "universal_data",
                                       "mode", "entered",
                                       "data", 2, "local_notes", notes,
                                       "local_i", i));
        ran_t r = run_body (body);
        if (r.status != STORE_OK)
            failed = body;
        else
            ok (r);
    }
    assert_non_null (failed);
    const msgpack_object *before = view (wf);
    int64_t version = int_of (before, "version"), seq = last_seq ();
    int events = queued.n;
    assert_int_equal (run_body (failed).status, STORE_FULL);
    assert_int_equal (int_of (view (wf), "version"), version);
    assert_int_equal (last_seq (), seq);
    assert_int_equal (queued.n, events);
    /* reads still work, writes that fit still go through */
    assert_true (get (ok (RUN ("p", "ping", "m{}", 0)), "pong")->via.boolean);
    ok (RUN ("a", "consumer.ack", "m{s:s, s:i}", 2, "consumer", "dq", "seq",
             1));
}

/* ---- the event log and consumers ---- */

/* Seqs are gapless across commands, refusals and aborted batches, and a
 * workflow's history holds its own events in order. */
static void
test_event_log_gapless (void **state)
{
    (void) state;
    const char *a = start ("s1", "h1");
    const char *b = start ("s2", "h2");
    ok (decide ("d1", a, "c2", true));
    refused (decide ("d2", a, "c1", true), EXF_VALIDATION);
    /* a batch that is aborted leaves no hole */
    store_txn_t *t = begin (true);
    command_env_t env = { change_env (t), NOW, retire_ms, 0, NULL };
    held_t *body = request ("d3", "member.decide",
                            build ("m{s:s, s:s, s:b}", 3, "workflow_id", b,
                                   "client_id", "c2", "exit", 1));
    codec_request_t req;
    exf_error_t err;
    exf_error_clear (&err);
    assert_true (codec_parse_request (decode_held (body), &req, &err));
    msgpack_sbuffer reply;
    msgpack_sbuffer_init (&reply);
    assert_int_equal (commands_execute (&env, commands_find (req.cmd), &req,
                                        &caller, body->sb.data, body->sb.size,
                                        &reply),
                      STORE_OK);
    msgpack_sbuffer_destroy (&reply);
    store_abort (&t);
    ok (decide ("d4", b, "c2", false));

    const msgpack_object *read = ok (RUN ("r", "events.read", "m{s:i}", 1,
                                          "after", 0));
    const msgpack_object *evs = get (read, "events");
    assert_int_equal (evs->via.array.size, 4);
    for (uint32_t i = 0; i < evs->via.array.size; i++)
        assert_int_equal (int_of (&evs->via.array.ptr[i], "seq"), i + 1);
    assert_int_equal (int_of (read, "last_seq"), 4);
    const msgpack_object *page = get (ok (RUN ("r2", "events.read",
                                               "m{s:i, s:i}", 2, "after", 1,
                                               "limit", 2)), "events");
    assert_int_equal (page->via.array.size, 2);
    assert_int_equal (int_of (&page->via.array.ptr[0], "seq"), 2);

    const msgpack_object *hist = get (ok (RUN ("h", "workflow.history",
                                               "m{s:s}", 1, "workflow_id",
                                               b)), "events");
    assert_int_equal (hist->via.array.size, 2);
    assert_int_equal (int_of (&hist->via.array.ptr[0], "seq"), 2);
    assert_int_equal (int_of (&hist->via.array.ptr[1], "seq"), 4);
    assert_string_equal (str_of (&hist->via.array.ptr[1], "type"),
                         EXF_EV_NAME (MEMBER_DECIDED));
}

static void
test_consumer_offsets (void **state)
{
    (void) state;
    start ("s1", "h1");
    start ("s2", "h2");
    start ("s3", "h3");
    refused (RUN ("a0", "consumer.ack", "m{s:s, s:i}", 2, "consumer", "dq",
                  "seq", 4), EXF_VALIDATION);
    const msgpack_object *r = ok (RUN ("a1", "consumer.ack", "m{s:s, s:i}", 2,
                                       "consumer", "dq", "seq", 2));
    assert_int_equal (int_of (r, "seq"), 2);
    assert_int_equal (int_of (r, "lag"), 1);
    /* an offset never goes back */
    r = ok (RUN ("a2", "consumer.ack", "m{s:s, s:i}", 2, "consumer", "dq",
                 "seq", 1));
    assert_int_equal (int_of (r, "seq"), 2);
    ok (RUN ("a3", "consumer.ack", "m{s:s, s:i}", 2, "consumer", "notify",
             "seq", 3));
    const msgpack_object *list = ok (RUN ("l", "consumer.list", "m{}", 0));
    const msgpack_object *cs = get (list, "consumers");
    assert_int_equal (cs->via.array.size, 2);
    assert_string_equal (str_of (&cs->via.array.ptr[0], "consumer"), "dq");
    assert_int_equal (int_of (&cs->via.array.ptr[0], "lag"), 1);
    assert_int_equal (int_of (&cs->via.array.ptr[1], "lag"), 0);
    assert_int_equal (int_of (list, "last_seq"), 3);
}

/* ---- the stall scan ---- */

static int
scan (int64_t stall_after_s, stall_cursor_t *cursor)
{
    store_txn_t *t = begin (true);
    change_env_t env = change_env (t);
    int marked = -1;
    assert_int_equal (stall_scan (&env, stall_after_s, cursor, 1000, &marked),
                      STORE_OK);
    commit (&t);
    return marked;
}

/* A workflow idle past the threshold gets exactly one workflow.stalled per
 * idle period, through the same write path as commands: in its history,
 * in its view, in the queue. */
static void
test_stall_scan (void **state)
{
    (void) state;
    stall_cursor_t cursor = { .len = 0 }, fresh = { .len = 0 };
    const char *wf = start ("s1", "h1");
    clock_ms = NOW + 1000 * 1000;
    assert_int_equal (scan (3600, &cursor), 0);
    clock_ms = NOW + 3601 * 1000;
    assert_int_equal (scan (3600, &cursor), 1);
    assert_string_equal (queued.types[queued.n - 1],
                         EXF_EV_NAME (WORKFLOW_STALLED));
    assert_true (get (view (wf), "stalled")->via.boolean);
    assert_int_equal (int_of (view (wf), "version"), 1);   /* not a change */
    /* once per idle period, whatever the cursor */
    clock_ms += 10 * 3600 * 1000LL;
    assert_int_equal (scan (3600, &cursor), 0);
    assert_int_equal (scan (3600, &fresh), 0);
    /* a change starts a new period */
    ok (decide ("d1", wf, "c2", true));
    assert_false (get (view (wf), "stalled")->via.boolean);
    assert_int_equal (scan (3600, &cursor), 0);
    clock_ms += 3601 * 1000;
    assert_int_equal (scan (3600, &cursor), 1);
    const msgpack_object *hist = get (ok (RUN ("h", "workflow.history",
                                               "m{s:s}", 1, "workflow_id",
                                               wf)), "events");
    int stalled = 0;
    for (uint32_t i = 0; i < hist->via.array.size; i++)
        if (strcmp (str_of (&hist->via.array.ptr[i], "type"),
                    EXF_EV_NAME (WORKFLOW_STALLED)) == 0) {
            stalled++;
            /* the daemon's own finding: no actor, principal exitflowd */
            assert_null (codec_map_get (&hist->via.array.ptr[i], "actor"));
            assert_str (&hist->via.array.ptr[i], "principal", "exitflowd");
        }
    assert_int_equal (stalled, 2);
    /* closed workflows never stall */
    ok (RUN ("c", "workflow.cancel", "m{s:s, s:s}", 2, "workflow_id", wf,
             "reason", "moved"));
    clock_ms += 10 * 3600 * 1000LL;
    stall_cursor_t again = { .len = 0 };
    assert_int_equal (scan (3600, &again), 0);
}

/* ---- finding workflows ---- */

/* The workflows of a test, by letter. */
static char named[6][WF_ID_LEN + 1];

/* Starts household `household` as `who` at `at` (ms after NOW) and
 * names its workflow `letter`. */
static void
start_named (char letter, const char *household, const char *who,
             int64_t at)
{
    char id[16];
    snprintf (id, sizeof id, "start-%c", letter);
    actor = who;
    clock_ms = NOW + at;
    snprintf (named[letter - 'A'], WF_ID_LEN + 1, "%s", start (id, household));
    actor = NULL;
}

/* The letters of the workflows a workflow.list result holds, in order
 * ("A C"); `?` for one the test did not start. */
static const char *
letters (const msgpack_object *result)
{
    static char out[64];
    const msgpack_object *items = get (result, "workflows");
    out[0] = '\0';
    for (uint32_t i = 0; i < items->via.array.size; i++) {
        const char *id = str_of (&items->via.array.ptr[i], "workflow_id");
        char c = '?';
        for (int k = 0; k < 6; k++)
            if (strcmp (named[k], id) == 0)
                c = (char) ('A' + k);
        snprintf (out + strlen (out), sizeof out - strlen (out), "%s%c",
                  i ? " " : "", c);
    }
    return out;
}

#define LIST(...) letters (ok (RUN ("l", "workflow.list", __VA_ARGS__)))

/* A and B started by cw1, C by cw2, a second apart; every one has the
 * clients c1 and c2. */
static void
start_abc (void)
{
    start_named ('A', "h1", "cw1", 0);
    start_named ('B', "h2", "cw1", 1000);
    start_named ('C', "h3", "cw2", 2000);
}

/* The one item of workflow `letter` in a list result. */
static const msgpack_object *
item_of (const msgpack_object *result, char letter)
{
    const msgpack_object *items = get (result, "workflows");
    for (uint32_t i = 0; i < items->via.array.size; i++)
        if (!strcmp (str_of (&items->via.array.ptr[i], "workflow_id"),
                     named[letter - 'A']))
            return &items->via.array.ptr[i];
    fail_msg ("%c is not listed", letter);
    return NULL;
}

/* workflow.list by client, enrollment, household and actor (who started
 * or last changed it), each alone or with the other filters; by state
 * then creation; a changed actor finds the workflow, the one before no
 * longer does unless it started it. */
static void
test_list_by_key (void **state)
{
    (void) state;
    start_abc ();
    clock_ms = NOW + 3000;
    assert_string_equal (LIST ("m{s:s}", 1, "client_id", "c1"), "A B C");
    assert_string_equal (LIST ("m{s:s}", 1, "enrollment_id", "e2"), "A B C");
    assert_string_equal (LIST ("m{s:s}", 1, "household_id", "h2"), "B");
    assert_string_equal (LIST ("m{s:s}", 1, "actor", "cw1"), "A B");
    assert_string_equal (LIST ("m{s:s}", 1, "actor", "cw2"), "C");
    assert_string_equal (LIST ("m{s:s}", 1, "actor", "cw3"), "");
    assert_string_equal (LIST ("m{s:s}", 1, "client_id", "c9"), "");
    /* keys together: one index, the others checked */
    assert_string_equal (LIST ("m{s:s, s:s}", 2, "actor", "cw1",
                               "household_id", "h1"), "A");
    assert_string_equal (LIST ("m{s:s, s:s}", 2, "client_id", "c1",
                               "project_id", "p2"), "");
    assert_string_equal (LIST ("m{s:s, s:s}", 2, "client_id", "c1",
                               "state", "open"), "A B C");
    assert_string_equal (LIST ("m{s:s, s:s}", 2, "client_id", "c1",
                               "state", "finished"), "");

    /* cw3 changes A, then cw4: cw3 no longer finds it, cw1 (its starter)
     * still does */
    actor = "cw3";
    ok (decide ("d1", named[0], "c2", true));
    assert_string_equal (LIST ("m{s:s}", 1, "actor", "cw3"), "A");
    actor = "cw4";
    ok (decide ("d2", named[0], "c2", false));
    actor = NULL;
    assert_string_equal (LIST ("m{s:s}", 1, "actor", "cw3"), "");
    assert_string_equal (LIST ("m{s:s}", 1, "actor", "cw4"), "A");
    assert_string_equal (LIST ("m{s:s}", 1, "actor", "cw1"), "A B");
    const msgpack_object *r = ok (RUN ("l", "workflow.list", "m{s:s}", 1,
                                       "actor", "cw1"));
    assert_str (item_of (r, 'A'), "started_by", "cw1");
    assert_str (item_of (r, 'A'), "last_actor", "cw4");
    assert_str (item_of (r, 'B'), "last_actor", "cw1");
    assert_bool_key (item_of (r, 'B'), "stalled", false);

    /* cancelled B comes after the open ones */
    ok (RUN ("c", "workflow.cancel", "m{s:s, s:s}", 2, "workflow_id",
             named[1], "reason", "moved"));
    assert_string_equal (LIST ("m{s:s}", 1, "client_id", "c1"), "A C B");
    assert_string_equal (LIST ("m{s:s, s:s}", 2, "client_id", "c1",
                               "state", "cancelled"), "B");
    assert_string_equal (LIST ("m{s:s, s:s}", 2, "household_id", "h2",
                               "state", "open"), "");
    /* idle_for_s: A changed at NOW + 3000, C not since NOW + 2000 */
    clock_ms = NOW + 3000 + 60 * 1000;
    assert_string_equal (LIST ("m{s:s, s:i}", 2, "client_id", "c1",
                               "idle_for_s", 61), "C");

    /* pages: a page of one at a time gives the same order */
    char seen[64] = "", after[256] = "";
    for (int pages = 0; pages < 5; pages++) {
        const msgpack_object *page = after[0]
            ? ok (RUN ("p", "workflow.list", "m{s:s, s:i, s:s}", 3,
                       "client_id", "c1", "limit", 1, "after", after))
            : ok (RUN ("p", "workflow.list", "m{s:s, s:i}", 2, "client_id",
                       "c1", "limit", 1));
        snprintf (seen + strlen (seen), sizeof seen - strlen (seen), "%s%s",
                  seen[0] ? " " : "", letters (page));
        if (get (page, "next")->type == MSGPACK_OBJECT_NIL)
            break;
        snprintf (after, sizeof after, "%s", str_of (page, "next"));
    }
    assert_string_equal (seen, "A C B");
    /* another listing's cursor is refused */
    const msgpack_object *first = ok (RUN ("p", "workflow.list",
                                           "m{s:s, s:i}", 2, "client_id",
                                           "c1", "limit", 1));
    snprintf (after, sizeof after, "%s", str_of (first, "next"));
    const msgpack_object *e = refused (RUN ("p", "workflow.list",
                                            "m{s:s, s:s}", 2, "actor", "cw1",
                                            "after", after),
                                       EXF_BAD_REQUEST);
    assert_str (e, "field", "after");
    e = refused (RUN ("p", "workflow.list", "m{s:s, s:s}", 2, "state", "open",
                      "after", after), EXF_BAD_REQUEST);
    assert_str (e, "field", "after");

    /* state is required without a key, and must be a state */
    assert_str (refused (RUN ("l", "workflow.list", "m{}", 0),
                         EXF_BAD_REQUEST), "field", "state");
    assert_str (refused (RUN ("l", "workflow.list", "m{s:s}", 1,
                              "project_id", "p1"), EXF_BAD_REQUEST),
                "field", "state");
    assert_str (refused (RUN ("l", "workflow.list", "m{s:s, s:s}", 2,
                              "client_id", "c1", "state", "gone"),
                         EXF_BAD_REQUEST), "field", "state");
    assert_str (refused (RUN ("l", "workflow.list", "m{s:s, s:i}", 2,
                              "client_id", "c1", "stalled", 1),
                         EXF_BAD_REQUEST), "field", "stalled");
}

/* stalled: true lists the open workflows marked stalled, oldest idle
 * first; false the open ones that are not; with a key, among its
 * workflows. A change ends the stall. */
static void
test_list_stalled (void **state)
{
    (void) state;
    start_abc ();
    ok (RUN ("c", "workflow.cancel", "m{s:s, s:s}", 2, "workflow_id",
             named[1], "reason", "moved"));
    assert_string_equal (LIST ("m{s:s, s:b}", 2, "state", "open", "stalled",
                               1), "");
    assert_string_equal (LIST ("m{s:s, s:b}", 2, "state", "open", "stalled",
                               0), "A C");
    stall_cursor_t cursor = { .len = 0 };
    clock_ms = NOW + 2 * 3600 * 1000LL;
    assert_int_equal (scan (3600, &cursor), 2);
    assert_string_equal (LIST ("m{s:s, s:b}", 2, "state", "open", "stalled",
                               1), "A C");
    assert_string_equal (LIST ("m{s:s, s:b}", 2, "state", "open", "stalled",
                               0), "");
    assert_string_equal (LIST ("m{s:s, s:b}", 2, "actor", "cw2", "stalled",
                               1), "C");
    assert_string_equal (LIST ("m{s:s, s:b}", 2, "client_id", "c1",
                               "stalled", 1), "A C");
    assert_string_equal (LIST ("m{s:s, s:b}", 2, "state", "cancelled",
                               "stalled", 1), "");
    /* idle_for_s with stalled: A idle since NOW, C since NOW + 2000 */
    assert_string_equal (LIST ("m{s:s, s:b, s:i}", 3, "state", "open",
                               "stalled", 1, "idle_for_s", 7199), "A");
    const msgpack_object *r = ok (RUN ("l", "workflow.list", "m{s:s}", 1,
                                       "state", "open"));
    assert_bool_key (item_of (r, 'A'), "stalled", true);
    /* a change ends C's stall */
    ok (decide ("d", named[2], "c2", true));
    assert_string_equal (LIST ("m{s:s, s:b}", 2, "state", "open", "stalled",
                               1), "A");
    assert_string_equal (LIST ("m{s:s, s:b}", 2, "state", "open", "stalled",
                               0), "C");
    assert_string_equal (LIST ("m{s:s, s:b}", 2, "client_id", "c1",
                               "stalled", 0), "C");
}

/* ---- consumer.delete ---- */

static ran_t
delete_consumer (const char *id, const char *name)
{
    return RUN (id, "consumer.delete", "m{s:s}", 1, "consumer", name);
}

static ran_t
ack (const char *id, const char *name, int64_t seq)
{
    return RUN (id, "consumer.ack", "m{s:s, s:i}", 2, "consumer", name, "seq",
                seq);
}

/* Admin deletes any consumer; ops only one that has not acked for longer
 * than --consumer-retire-after, else FORBIDDEN saying for how long; the
 * other roles never. consumer.list shows each one's last ack. A deleted
 * consumer that acks again is back. */
static void
test_consumer_delete (void **state)
{
    (void) state;
    start ("s1", "h1");
    caller = (caller_t) { "dq", EXF_ROLE_WORKER };
    ok (ack ("a1", "dq", 1));
    clock_ms = NOW + 5000;
    ok (ack ("a2", "dq", 1));                /* no progress: still an ack */
    ok (ack ("a3", "notify", 1));
    caller = (caller_t) { "ops-1", EXF_ROLE_OPS };
    const msgpack_object *cs = get (ok (RUN ("l", "consumer.list", "m{}", 0)),
                                    "consumers");
    assert_int_equal (cs->via.array.size, 2);
    assert_str (&cs->via.array.ptr[0], "consumer", "dq");
    assert_str (&cs->via.array.ptr[0], "acked_at", "2026-11-25T12:00:05.000Z");

    /* ops, too early: FORBIDDEN, saying how long and the limit */
    clock_ms = NOW + 5000 + 7 * DAY_MS;
    const msgpack_object *e = refused (delete_consumer ("x1", "dq"),
                                       EXF_FORBIDDEN);
    assert_str (e, "field", "consumer");
    const char *why = str_of (e, "message");
    if (!strstr (why, "604800s") || !strstr (why, "consumer-retire-after"))
        fail_msg ("%s", why);
    /* past the limit */
    clock_ms += 1;
    const msgpack_object *r = ok (delete_consumer ("x2", "dq"));
    assert_str (r, "consumer", "dq");
    assert_bool_key (r, "deleted", true);
    cs = get (ok (RUN ("l", "consumer.list", "m{}", 0)), "consumers");
    assert_int_equal (cs->via.array.size, 1);
    assert_str (&cs->via.array.ptr[0], "consumer", "notify");
    assert_str (refused (delete_consumer ("x3", "dq"), EXF_NOT_FOUND),
                "field", "consumer");
    /* a retried request gets its stored reply */
    assert_bool_key (ok (delete_consumer ("x2", "dq")), "deleted", true);

    /* other roles may not, however idle */
    caller = (caller_t) { "notify", EXF_ROLE_WORKER };
    refused (delete_consumer ("y1", "notify"), EXF_FORBIDDEN);
    caller = (caller_t) { "web", EXF_ROLE_FRONTEND };
    refused (delete_consumer ("y2", "notify"), EXF_FORBIDDEN);
    /* admin may, at once */
    caller = (caller_t) { "dq", EXF_ROLE_WORKER };
    ok (ack ("a4", "dq", 1));
    caller = (caller_t) { "test-admin", EXF_ROLE_ADMIN };
    ok (delete_consumer ("z1", "dq"));
    /* back when it acks again, and a limit of 0 lets ops delete it once
     * any time has passed */
    caller = (caller_t) { "dq", EXF_ROLE_WORKER };
    ok (ack ("a5", "dq", 1));
    retire_ms = 0;
    caller = (caller_t) { "ops-1", EXF_ROLE_OPS };
    refused (delete_consumer ("z2", "dq"), EXF_FORBIDDEN);
    clock_ms += 1;
    ok (delete_consumer ("z3", "dq"));
}

/* ---- who may call what ---- */

/* PROTOCOL.md §6 written out as the issue states it, not read from the
 * table under test: a row a command, the roles allowed. */
#define F EXF_ROLE_FRONTEND
#define W EXF_ROLE_WORKER
#define O EXF_ROLE_OPS
#define A EXF_ROLE_ADMIN
static const struct {
    const char *cmd;
    unsigned roles;
} spec_roles[] = {
    { "ping", F | W | O | A },
    { "stats", O | A },
    { "workflow.start", F | A },
    { "workflow.get", F | W | O | A },
    { "step.save", F | A },
    { "member.decide", F | A },
    { "workflow.finish", F | A },
    { "workflow.cancel", F | A },
    { "workflow.list", F | W | O | A },
    { "workflow.history", F | W | O | A },
    { "events.read", W | O | A },
    { "consumer.ack", W | A },
    { "consumer.list", W | O | A },
    { "consumer.delete", O | A },       /* ops: idle consumers only */
    { "dq.report", W | A },
    { "hud.codes", F | W | O | A },
    { "store.backup", A },
    { "workflow.export", O | A },
};
#undef F
#undef W
#undef O
#undef A

static void
test_roles_match_the_spec (void **state)
{
    (void) state;
    assert_int_equal (sizeof spec_roles / sizeof *spec_roles, EXF_CMD_COUNT);
    for (size_t i = 0; i < sizeof spec_roles / sizeof *spec_roles; i++) {
        exf_str_t name = { spec_roles[i].cmd,
                           (uint32_t) strlen (spec_roles[i].cmd) };
        const command_t *cmd = commands_find (name);
        assert_non_null (cmd);
        for (int r = 0; r < EXF_ROLE_COUNT; r++)
            if (command_allows (cmd, 1u << r)
                != ((spec_roles[i].roles & (1u << r)) != 0))
                fail_msg ("%s for role %s", spec_roles[i].cmd,
                          exf_role_names[r]);
    }
}

/* A refused role changes nothing and is not remembered: the same request
 * id from an allowed caller then runs. */
static void
test_forbidden_changes_nothing (void **state)
{
    (void) state;
    const char *wf = start ("s1", "h1");
    int64_t seq = last_seq ();
    int queued_before = queued.n;
    caller = (caller_t) { "night-ops", EXF_ROLE_OPS };
    const msgpack_object *e = refused (decide ("d1", wf, "c2", true),
                                       EXF_FORBIDDEN);
    assert_non_null (strstr (str_of (e, "message"), "ops"));
    refused (RUN ("s2", "workflow.start", "m{}", 0), EXF_FORBIDDEN);
    caller = (caller_t) { "dq", EXF_ROLE_WORKER };
    refused (RUN ("st", "stats", "m{}", 0), EXF_FORBIDDEN);
    refused (decide ("d1", wf, "c2", true), EXF_FORBIDDEN);
    assert_int_equal (queued.n, queued_before);
    caller = (caller_t) { "web", EXF_ROLE_FRONTEND };
    refused (RUN ("c1", "consumer.ack", "m{s:s, s:i}", 2, "consumer", "x",
                  "seq", 1), EXF_FORBIDDEN);
    refused (RUN ("e1", "events.read", "m{}", 0), EXF_FORBIDDEN);
    assert_int_equal (int_of (view (wf), "version"), 1);
    ok (decide ("d1", wf, "c2", true));         /* the same id, now allowed */
    caller = (caller_t) { "test-admin", EXF_ROLE_ADMIN };
    assert_int_equal (last_seq (), seq + 1);
}

/* A worker or ops certificate acts only as itself; a front end names the
 * caseworker it acts for. */
static void
test_actor_rule (void **state)
{
    (void) state;
    const char *wf = start ("s1", "h1");
    caller = (caller_t) { "dq-worker", EXF_ROLE_WORKER };
    actor = "cw-17";
    const msgpack_object *e = refused (RUN ("q1", "dq.report",
                                            "m{s:s, s:s, s:a[]}", 3,
                                            "workflow_id", wf, "source", "dq",
                                            "findings", 0), EXF_FORBIDDEN);
    assert_str (e, "field", "actor");
    actor = "dq-worker";
    ok (RUN ("q2", "dq.report", "m{s:s, s:s, s:a[]}", 3, "workflow_id", wf,
             "source", "dq", "findings", 0));
    actor = NULL;
    ok (RUN ("q3", "workflow.get", "m{s:s}", 1, "workflow_id", wf));
    caller = (caller_t) { "ops-1", EXF_ROLE_OPS };
    actor = "admin";
    refused (RUN ("l1", "workflow.list", "m{}", 0), EXF_FORBIDDEN);
    caller = (caller_t) { "web", EXF_ROLE_FRONTEND };
    actor = "cw-17";
    ok (decide ("d1", wf, "c2", false));
}

/* Every event names the principal that caused it beside the actor. */
static void
test_principal_in_events (void **state)
{
    (void) state;
    caller = (caller_t) { "web-frontend", EXF_ROLE_FRONTEND };
    actor = "cw-3";
    const char *wf = start ("s1", "h1");
    ok (decide ("d1", wf, "c2", true));
    actor = NULL;
    ok (decide ("d2", wf, "c2", false));
    caller = (caller_t) { "test-admin", EXF_ROLE_ADMIN };
    const msgpack_object *hist = get (ok (RUN ("h", "workflow.history",
                                               "m{s:s}", 1, "workflow_id",
                                               wf)), "events");
    assert_int_equal (hist->via.array.size, 3);
    for (uint32_t i = 0; i < hist->via.array.size; i++)
        assert_str (&hist->via.array.ptr[i], "principal", "web-frontend");
    assert_str (&hist->via.array.ptr[0], "actor", "cw-3");
    assert_str (&hist->via.array.ptr[1], "actor", "cw-3");
    assert_null (codec_map_get (&hist->via.array.ptr[2], "actor"));
}

/* ---- issue 9: hud.codes, the CoC's calendar, age and move-in ---- */

/* hud.codes answers every role with the tables exactly as
 * hud_codes_pack writes them; it is a read (no event, nothing stored) and
 * ignores arguments, as every command does (§2.2). */
static void
test_hud_codes (void **state)
{
    (void) state;
    held_t *want = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &want->sb, msgpack_sbuffer_write);
    hud_codes_pack (&pk);
    static const caller_t callers[] = {
        { "web", EXF_ROLE_FRONTEND }, { "dq", EXF_ROLE_WORKER },
        { "night-ops", EXF_ROLE_OPS }, { "root", EXF_ROLE_ADMIN } };
    for (size_t i = 0; i < sizeof callers / sizeof *callers; i++) {
        caller = callers[i];
        const msgpack_object *result[2] = {
            ok (RUN ("h1", "hud.codes", "m{}", 0)),
            ok (RUN ("h1", "hud.codes", "m{s:i}", 1, "junk", 1)) };
        for (int k = 0; k < 2; k++) {
            held_t *got = hold ();
            msgpack_packer gp;
            msgpack_packer_init (&gp, &got->sb, msgpack_sbuffer_write);
            msgpack_pack_object (&gp, *result[k]);
            assert_int_equal (got->sb.size, want->sb.size);
            assert_memory_equal (got->sb.data, want->sb.data, want->sb.size);
        }
    }
    caller = (caller_t) { "test-admin", EXF_ROLE_ADMIN };
    assert_int_equal (queued.n, 0);
    assert_int_equal (last_seq (), 0);
}

/* The CoC's calendar decides "today" (--timezone): at 03:00 UTC on the
 * 26th it is still the evening of the 25th in Chicago, so an exit dated
 * the 26th is in the future there, and not in UTC. stats names the zone. */
static void
test_today_is_the_cocs_calendar (void **state)
{
    (void) state;
    char why[128];
    assert_true (calendar_set_zone ("America/Chicago", why, sizeof why));
    clock_ms = NOW + 15 * 3600 * 1000LL;        /* 2026-11-26T03:00:00Z */
    const char *wf = start ("s1", "h1");
    const msgpack_object *e = refused (
        RUN ("x1", "step.save", "m{s:s, s:s, s:s, s:s, s:m{s:s, s:i}}", 5,
             "workflow_id", wf, "client_id", "c1", "step", "exit",
             "mode", "entered", "data", 2, "exit_date", "2026-11-26",
             "destination", 410), EXF_VALIDATION);
    assert_str (e, "field", "members[client_id=c1].steps.exit.exit_date");
    assert_str (ok (RUN ("st", "stats", "m{}", 0)), "timezone",
                "America/Chicago");
    ok (RUN ("x2", "step.save", "m{s:s, s:s, s:s, s:s, s:m{s:s, s:i}}", 5,
             "workflow_id", wf, "client_id", "c1", "step", "exit",
             "mode", "entered", "data", 2, "exit_date", "2026-11-25",
             "destination", 410));
    assert_true (calendar_set_zone ("UTC", why, sizeof why));
    ok (RUN ("x3", "step.save", "m{s:s, s:s, s:s, s:s, s:m{s:s, s:i}}", 5,
             "workflow_id", wf, "client_id", "c1", "step", "exit",
             "mode", "entered", "data", 2, "exit_date", "2026-11-26",
             "destination", 410));
    assert_str (ok (RUN ("st", "stats", "m{}", 0)), "timezone", "UTC");
    /* an unknown zone is refused, and the one in use stays */
    assert_false (calendar_set_zone ("Mars/Olympus_Mons", why, sizeof why));
    assert_false (calendar_set_zone ("../../etc/passwd", why, sizeof why));
    assert_string_equal (calendar_zone (), "UTC");
}

/* A start with every new argument, one member for each way of knowing
 * the age (3.03) and a move-in date (3.20). */
static ran_t
start_aged (const char *id, const char *household)
{
    return RUN (id, "workflow.start",
                "m{s:s, s:s, s:s, s:i, s:s, s:a["
                "  m{s:s, s:s, s:i, s:s, s:s},"
                "  m{s:s, s:s, s:i, s:s, s:s},"
                "  m{s:s, s:s, s:i, s:s, s:b},"
                "  m{s:s, s:s, s:i, s:s}]}", 6,
                "enrollment_id", "e1", "household_id", household,
                "project_id", "p1", "project_type", 13,
                "move_in_date", "2026-02-01", "members", 4,
                5, "client_id", "c1", "enrollment_id", "e1",
                "relationship", 1, "entry_date", "2026-01-10",
                "birth_date", "1980-04-05",
                5, "client_id", "c2", "enrollment_id", "e2",
                "relationship", 2, "entry_date", "2026-01-10",
                "birth_date", "2012-01-01",
                5, "client_id", "c3", "enrollment_id", "e3",
                "relationship", 2, "entry_date", "2026-01-10", "adult", 0,
                4, "client_id", "c4", "enrollment_id", "e4",
                "relationship", 99, "entry_date", "2026-01-10");
}

static bool
holds (ran_t r, const char *text)
{
    return memmem (r.bytes, r.len, text, strlen (text)) != NULL;
}

/* Over the wire: the view shows the effective adult and its basis and the
 * move-in date; the dates of birth are in no reply and no event. */
static void
test_start_age_and_move_in (void **state)
{
    (void) state;
    ran_t r = start_aged ("s1", "h1");
    char wf[WF_ID_LEN + 1];
    snprintf (wf, sizeof wf, "%s", str_of (ok (r), "workflow_id"));
    assert_false (holds (r, "1980-04-05"));
    ran_t got = RUN ("g", "workflow.get", "m{s:s}", 1, "workflow_id", wf);
    const msgpack_object *v = ok (got);
    assert_str (v, "move_in_date", "2026-02-01");
    const msgpack_object *ms = get (v, "members");
    static const char *const basis[] = { "birth_date", "birth_date",
                                         "adult_flag", "unknown" };
    static const bool adult[] = { true, false, false, true };
    for (uint32_t i = 0; i < 4; i++) {
        assert_str (&ms->via.array.ptr[i], "age_basis", basis[i]);
        assert_bool_key (&ms->via.array.ptr[i], "adult", adult[i]);
    }
    ok (decide ("d2", wf, "c2", true));
    ok (RUN ("x", "step.save", "m{s:s, s:s, s:s, s:s, s:m{s:s, s:i}}", 5,
             "workflow_id", wf, "client_id", "c2", "step", "exit",
             "mode", "entered", "data", 2, "exit_date", EXIT_DATE,
             "destination", 410));
    got = RUN ("g", "workflow.get", "m{s:s}", 1, "workflow_id", wf);
    ran_t events = RUN ("r", "events.read", "m{s:i}", 1, "after", 0);
    ran_t hist = RUN ("h", "workflow.history", "m{s:s}", 1, "workflow_id", wf);
    ran_t list = RUN ("l", "workflow.list", "m{s:s}", 1, "state", "open");
    ran_t all[] = { got, events, hist, list };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        ok (all[i]);
        assert_false (holds (all[i], "1980-04-05"));
        assert_false (holds (all[i], "2012-01-01"));
    }
    assert_int_equal (get (ok (events), "events")->via.array.size, 3);
}

static void
refused_at (ran_t r, const char *code, const char *field)
{
    const msgpack_object *e = get (r.reply, "error");
    if (strcmp (str_of (e, "code"), code) || strcmp (str_of (e, "field"), field))
        fail_msg ("want %s %s, got %s %s: %s", code, field,
                  str_of (e, "code"), str_of (e, "field"),
                  str_of (e, "message"));
    refused (r, code);
}

/* workflow.start of a household of one head, entered 2026-01-10, whose
 * member map has one more key and value, packed by `extra` (the format of
 * msgpack_builder.h, e.g. "s:s"). */
static ran_t
start_one (const char *id, const char *extra, ...)
{
    held_t *h = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 4);
    pack_kv_str (&pk, "enrollment_id", "e1");
    pack_kv_str (&pk, "household_id", "h1");
    pack_kv_str (&pk, "project_id", "p1");
    codec_pack_cstr (&pk, "members");
    msgpack_pack_array (&pk, 1);
    msgpack_pack_map (&pk, 5);
    pack_kv_str (&pk, "client_id", "c1");
    pack_kv_str (&pk, "enrollment_id", "e1");
    pack_kv_int (&pk, "relationship", HUD_HEAD_OF_HOUSEHOLD);
    pack_kv_str (&pk, "entry_date", "2026-01-10");
    va_list ap;
    va_start (ap, extra);
    pack_fmt (&pk, &extra, &ap);            /* the key */
    pack_fmt (&pk, &extra, &ap);            /* its value */
    va_end (ap);
    return run_body (request (id, "workflow.start", decode_held (h)));
}

/* The new start arguments refused with their paths: a birth date that is
 * empty, not text or after the entry (3.03); `adult` not a bool; a
 * move-in date (3.20) for a project that is not permanent housing or
 * empty; prior values that the field table refuses, named down to the
 * field however long the path. */
static void
test_start_argument_refusals (void **state)
{
    (void) state;
    refused_at (start_one ("a", "s:s", "birth_date", ""),
                EXF_VALIDATION, "members[client_id=c1].birth_date");
    refused_at (start_one ("b", "s:s", "birth_date", "2026-01-11"),
                EXF_VALIDATION, "members[client_id=c1].birth_date");
    refused_at (start_one ("c", "s:i", "birth_date", 19800405),
                EXF_VALIDATION, "members[client_id=c1].birth_date");
    refused_at (start_one ("d", "s:s", "adult", "yes"),
                EXF_BAD_REQUEST, "members[client_id=c1].adult");
    static const struct { int type; const char *date; } move_in[] = {
        { 1, "2026-02-01" }, { 2, "2026-02-01" }, { 13, "" },
        { 13, "2026-11-26" } };
    char id[16];
    for (size_t i = 0; i < sizeof move_in / sizeof *move_in; i++) {
        snprintf (id, sizeof id, "e%zu", i);    /* refusals are stored */
        refused_at (RUN (id, "workflow.start",
                         "m{s:s, s:s, s:s, s:i, s:s,"
                         " s:a[m{s:s, s:s, s:i, s:s}]}", 6,
                         "enrollment_id", "e1", "household_id", "h1",
                         "project_id", "p1", "project_type", move_in[i].type,
                         "move_in_date", move_in[i].date, "members", 1,
                         4, "client_id", "c1", "enrollment_id", "e1",
                         "relationship", 1, "entry_date", "2026-01-10"),
                    EXF_VALIDATION, "move_in_date");
    }
    static const struct { const char *step, *field; int code; } last[] = {
        { "health_insurance", "medicaid", 8 },
        { "disabilities", "chronic_health_indefinite_and_impairs", 5 },
        { "income_benefits", "va_disability_non_service", 2 },
        { "universal_data", "veteran", 0 } };
    for (size_t i = 0; i < sizeof last / sizeof *last; i++) {
        snprintf (id, sizeof id, "f%zu", i);
        ran_t r = start_one (id, "s:m{s:m{s:i}}", "last", 1, last[i].step,
                             1, last[i].field, last[i].code);
        char path[128];
        snprintf (path, sizeof path, "members[client_id=c1].last.%s.%s",
                  last[i].step,
                  last[i].field);
        refused_at (r, EXF_VALIDATION, path);
    }
    refused_at (start_one ("g", "s:m{s:m{s:s}}", "last", 1, "exit", 1,
                           "exit_date", "2026-11-01"),
                EXF_BAD_REQUEST, "members[client_id=c1].last");
    assert_int_equal (last_seq (), 0);
    /* typed prior values are kept for Default Last */
    const char *wf = str_of (ok (start_one ("s", "s:m{s:m{s:i, s:s}}",
                                            "last", 1, "universal_data", 2,
                                            "disabling_condition", 1,
                                            "local_seen", "y")),
                             "workflow_id");
    ok (RUN ("x", "step.save", "m{s:s, s:s, s:s, s:s, s:m{s:s, s:i}}", 5,
             "workflow_id", wf, "client_id", "c1", "step", "exit",
             "mode", "entered", "data", 2, "exit_date", EXIT_DATE,
             "destination", 410));
    ok (RUN ("y", "step.save", "m{s:s, s:s, s:s, s:s}", 4, "workflow_id", wf,
             "client_id", "c1", "step", "universal_data", "mode",
             "default_last"));
}

/* ---- store.backup ---- */

/* What backup_finish sent. */
static struct {
    held_t *reply;
    int sent;
} answer;

static void
keep_answer (void *arg, zmq_msg_t *envelope, int n, const void *reply,
             size_t len, int fd, int64_t received_us)
{
    (void) arg;
    (void) fd;
    assert_int_equal (received_us, 42);
    assert_int_equal (n, 1);
    assert_int_equal (zmq_msg_size (&envelope[0]), 4);
    answer.reply = hold ();
    msgpack_sbuffer_write (&answer.reply->sb, reply, len);
    answer.sent++;
}

/* A request the command answered later waits, as the server makes it
 * wait after the batch, with an envelope of one frame. */
static void
wait_for_answer (const char *id)
{
    zmq_msg_t frame;
    zmq_msg_init_size (&frame, 4);
    memcpy (zmq_msg_data (&frame), "peer", 4);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    exf_str_t sid = { id, (uint32_t) strlen (id) };
    assert_true (backup_wait (backup, sid, &frame, 1, 7, 42, &sb));
    assert_int_equal (sb.size, 0);
    msgpack_sbuffer_destroy (&sb);
    zmq_msg_close (&frame);             /* moved out: empty */
}

/* Waits for the copy's thread, then lets the module answer. */
static const msgpack_object *
finish_backup (void)
{
    struct pollfd p = { backup_signal_fd (backup), POLLIN, 0 };
    assert_int_equal (poll (&p, 1, 30000), 1);
    answer.sent = 0;
    backup_finish (backup, keep_answer, NULL);
    assert_int_equal (answer.sent, 1);
    return decode_held (answer.reply);
}

static mode_t
mode_of (const char *path)
{
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    return st.st_mode & 07777;
}

/* store.backup: admin only; a copy into a new directory (0700, its file
 * 0600, whatever the umask), answered when the copy is done with the
 * copy's size and last seq; one at a time; a retry of the request gets
 * the same answer; a directory that is not empty is refused. */
static void
test_store_backup (void **state)
{
    (void) state;
    refused (RUN ("b0", "store.backup", "m{s:s}", 1, "dir", "/tmp/x"),
             EXF_UNAVAILABLE);              /* no backup module here */
    backup = backup_new (store);
    start ("s1", "h1");
    char parent[] = "/tmp/exf-backup-XXXXXX", dir[64], file[80];
    assert_non_null (mkdtemp (parent));
    snprintf (dir, sizeof dir, "%s/copy", parent);
    snprintf (file, sizeof file, "%s/data.mdb", dir);

    caller.role = EXF_ROLE_OPS;
    refused (RUN ("b1", "store.backup", "m{s:s}", 1, "dir", dir),
             EXF_FORBIDDEN);
    caller.role = EXF_ROLE_ADMIN;
    refused (RUN ("b1", "store.backup", "m{}", 0), EXF_BAD_REQUEST);

    mode_t umask_was = umask (0);           /* the files are private anyway */
    ran_t r = RUN ("b1", "store.backup", "m{s:s}", 1, "dir", dir);
    umask (umask_was);
    assert_int_equal (r.status, STORE_OK);
    assert_null (r.reply);                  /* answered later */
    wait_for_answer ("b1");
    /* one at a time, until the loop has taken the answer */
    refused (RUN ("b2", "store.backup", "m{s:s}", 1, "dir", parent),
             EXF_CONFLICT);
    const msgpack_object *done = get (finish_backup (), "result");
    assert_string_equal (str_of (done, "dir"), dir);
    assert_int_equal (int_of (done, "last_seq"), last_seq ());
    struct stat st;
    assert_int_equal (stat (file, &st), 0);
    assert_int_equal (int_of (done, "bytes"), st.st_size);
    assert_int_equal (mode_of (dir), 0700);
    assert_int_equal (mode_of (file), 0600);

    /* a retry of that request: the same answer, at once */
    r = RUN ("b1", "store.backup", "m{s:s}", 1, "dir", dir);
    assert_null (r.reply);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    assert_false (backup_wait (backup, (exf_str_t) { "b1", 2 }, NULL, 0, 7,
                               42, &sb));
    assert_memory_equal (sb.data, answer.reply->sb.data, sb.size);
    msgpack_sbuffer_destroy (&sb);
    /* another request into it: not empty */
    refused_at (RUN ("b3", "store.backup", "m{s:s}", 1, "dir", dir),
                EXF_VALIDATION, "dir");

    /* relative to the daemon's working directory; an empty one is used */
    char cwd[256];
    assert_non_null (getcwd (cwd, sizeof cwd));
    assert_int_equal (chdir (parent), 0);
    assert_int_equal (mkdir ("rel", 0755), 0);
    r = RUN ("b4", "store.backup", "m{s:s}", 1, "dir", "rel/");
    assert_int_equal (chdir (cwd), 0);
    assert_null (r.reply);
    wait_for_answer ("b4");
    done = get (finish_backup (), "result");
    char rel[80];
    snprintf (rel, sizeof rel, "%s/rel", parent);
    assert_string_equal (str_of (done, "dir"), rel);
    assert_int_equal (mode_of (rel), 0700);

    /* the copy opens as a store, with the workflow in it */
    char why[512];
    store_status_t status;
    store_t *copy = store_new (dir, LARGE_MAP, DAY_MS, &status, why,
                               sizeof why);
    if (!copy)
        fail_msg ("the copy does not open: %s", why);
    assert_int_equal (store_committed_seq (copy), last_seq ());
    store_destroy (&copy);
    backup_destroy (&backup);
    char cmd[160];
    snprintf (cmd, sizeof cmd, "rm -rf %s", parent);
    assert_int_equal (system (cmd), 0);
}

/* ---- workflow.export ---- */

/* Saves c1's exit form (as `who`) and every other step of c1 at
 * clock_ms, decides c2 staying and finishes `wf` at `finish_at`. */
static void
finish_c1 (const char *wf, const char *who, int64_t finish_at)
{
    static const char *const assessments[] = {
        "universal_data", "health_insurance", "disabilities",
        "income_benefits" };
    actor = who;
    ok (RUN ("x", "step.save", "m{s:s, s:s, s:s, s:s, s:m{s:s, s:i}}", 5,
             "workflow_id", wf, "client_id", "c1", "step", "exit",
             "mode", "entered", "data", 2, "exit_date", "2026-11-20",
             "destination", 410));
    for (size_t i = 0; i < 4; i++)
        ok (RUN (assessments[i], "step.save",
                 "m{s:s, s:s, s:s, s:s, s:m{}}", 5, "workflow_id", wf,
                 "client_id", "c1", "step", assessments[i], "mode",
                 "entered", "data", 0));
    ok (decide ("d", wf, "c2", false));
    clock_ms = finish_at;
    ok (RUN ("f", "workflow.finish", "m{s:s, s:s}", 2, "workflow_id", wf,
             "new_head_of_household", "c2"));
    actor = NULL;
}

/* The letters of the workflows of a workflow.export page. */
static const char *
export_letters (const msgpack_object *page)
{
    static char out[64];
    const msgpack_object *items = get (page, "workflows");
    out[0] = '\0';
    for (uint32_t i = 0; i < items->via.array.size; i++) {
        const char *id = str_of (get (&items->via.array.ptr[i], "workflow"),
                                 "workflow_id");
        char c = '?';
        for (int k = 0; k < 6; k++)
            if (strcmp (named[k], id) == 0)
                c = (char) ('A' + k);
        snprintf (out + strlen (out), sizeof out - strlen (out), "%s%c",
                  i ? " " : "", c);
    }
    return out;
}

#define EXPORT(...) ok (RUN ("x", "workflow.export", __VA_ARGS__))

/* workflow.export: the workflows finished on the CoC's days from `from`
 * to `to` (Chicago here: 03:00 UTC on the 26th is the evening of the
 * 25th), oldest finish first, page by page; open, cancelled and
 * out-of-span ones never; a dq.report after the finish does not move a
 * workflow out of its day; who first saved an exit form saved twice comes
 * from the history. */
static void
test_export_span (void **state)
{
    (void) state;
    char why[128];
    assert_true (calendar_set_zone ("America/Chicago", why, sizeof why));
    const int64_t H = 3600 * 1000LL;            /* NOW: 2026-11-25T12:00Z */
    start_named ('A', "h1", "cw1", 0);
    start_named ('B', "h2", "cw1", 1000);
    start_named ('C', "h3", "cw1", 2000);
    start_named ('D', "h4", "cw1", 3000);
    start_named ('E', "h5", "cw1", 4000);
    clock_ms = NOW + 5000;
    finish_c1 (named[0], "cw1", NOW - 20 * H);  /* the 24th, 10:00 Chicago */
    clock_ms = NOW + 6000;
    finish_c1 (named[1], "cw1", NOW + 15 * H);  /* the 25th, 21:00 */
    clock_ms = NOW + 7000;
    finish_c1 (named[2], "cw2", NOW + 19 * H);  /* the 26th, 01:00 */
    clock_ms = NOW + 8000;
    ok (RUN ("c", "workflow.cancel", "m{s:s, s:s}", 2, "workflow_id",
             named[3], "reason", "moved"));
    /* E stays open; a DQ report on finished A changes nothing of it */
    clock_ms = NOW + 30 * H;
    ok (RUN ("q", "dq.report", "m{s:s, s:s, s:a[]}", 3, "workflow_id",
             named[0], "source", "dq", "findings", 0));

    assert_string_equal (export_letters (EXPORT ("m{s:s, s:s}", 2, "from",
                                                 "2026-11-25", "to",
                                                 "2026-11-25")), "B");
    assert_string_equal (export_letters (EXPORT ("m{s:s, s:s}", 2, "from",
                                                 "2026-11-24", "to",
                                                 "2026-11-26")), "A B C");
    assert_string_equal (export_letters (EXPORT ("m{s:s, s:s}", 2, "from",
                                                 "2026-11-27", "to",
                                                 "2026-12-31")), "");
    /* no dates: today (the 26th in Chicago at NOW + 30h); `from` alone
     * needs `to`, which is today */
    const msgpack_object *today = EXPORT ("m{}", 0);
    assert_string_equal (export_letters (today), "C");
    assert_str (today, "from", "2026-11-26");
    assert_str (today, "to", "2026-11-26");
    assert_str (today, "timezone", "America/Chicago");
    assert_string_equal (export_letters (EXPORT ("m{s:s}", 1, "from",
                                                 "2026-11-25")), "B C");

    /* pages of one: the same order, then nil */
    char after[300] = "", seen[16] = "";
    for (int pages = 0; pages < 4; pages++) {
        const msgpack_object *page = after[0]
            ? EXPORT ("m{s:s, s:s, s:i, s:s}", 4, "from", "2026-11-24",
                      "to", "2026-11-26", "limit", 1, "after", after)
            : EXPORT ("m{s:s, s:s, s:i}", 3, "from", "2026-11-24", "to",
                      "2026-11-26", "limit", 1);
        snprintf (seen + strlen (seen), sizeof seen - strlen (seen), "%s",
                  export_letters (page));
        const msgpack_object *next = get (page, "next");
        if (next->type == MSGPACK_OBJECT_NIL)
            break;
        snprintf (after, sizeof after, "%.*s", (int) next->via.str.size,
                  next->via.str.ptr);
    }
    assert_string_equal (seen, "ABC");
    /* a cursor before the span is not one of its pages */
    const msgpack_object *first = EXPORT ("m{s:s, s:i}", 2, "from",
                                          "2026-11-24", "limit", 1);
    snprintf (after, sizeof after, "%.*s",
              (int) get (first, "next")->via.str.size,
              get (first, "next")->via.str.ptr);
    assert_str (refused (RUN ("x", "workflow.export", "m{s:s, s:s}", 2,
                              "from", "2026-11-26", "after", after),
                         EXF_BAD_REQUEST), "field", "after");
    assert_str (refused (RUN ("x", "workflow.export", "m{s:s, s:s}", 2,
                              "from", "2026-11-26", "to", "2026-11-25"),
                         EXF_VALIDATION), "field", "from");
    assert_str (refused (RUN ("x", "workflow.export", "m{s:s}", 1, "to",
                              "2026-11-31"), EXF_VALIDATION), "field", "to");

    /* F's exit form first saved by cw2, then again by cw3 (who saves the
     * rest): recorded by cw2 at the first save, updated at the second;
     * B's, saved once, by its one saver */
    start_named ('F', "h6", "cw1", 48 * H);     /* the 27th, 06:00 */
    clock_ms = NOW + 48 * H + 1000;
    actor = "cw2";
    ok (RUN ("x0", "step.save", "m{s:s, s:s, s:s, s:s, s:m{s:s, s:i}}", 5,
             "workflow_id", named[5], "client_id", "c1", "step", "exit",
             "mode", "entered", "data", 2, "exit_date", "2026-11-19",
             "destination", 410));
    clock_ms = NOW + 48 * H + 2000;
    finish_c1 (named[5], "cw3", NOW + 48 * H + 9000);
    const msgpack_object *items = get (EXPORT ("m{}", 0), "workflows");
    assert_int_equal (items->via.array.size, 1);
    const msgpack_object *ex = &get (&items->via.array.ptr[0], "exits")
                                    ->via.array.ptr[0];
    assert_str (ex, "client_id", "c1");
    assert_str (ex, "exit_recorded_by", "cw2");
    assert_str (ex, "exit_recorded_at", "2026-11-27T12:00:01.000Z");
    assert_str (ex, "exit_updated_at", "2026-11-27T12:00:02.000Z");
    const msgpack_object *saved = get (ex, "first_saved");
    assert_str (get (saved, "exit"), "at", "2026-11-27T12:00:01.000Z");
    assert_str (get (saved, "exit"), "by", "cw2");
    assert_str (get (saved, "income_benefits"), "at",
                "2026-11-27T12:00:02.000Z");
    assert_str (get (saved, "income_benefits"), "by", "cw3");
    items = get (EXPORT ("m{s:s}", 1, "to", "2026-11-25"), "workflows");
    ex = &get (&items->via.array.ptr[0], "exits")->via.array.ptr[0];
    assert_str (ex, "exit_recorded_by", "cw1");
    assert_int_equal (get (&items->via.array.ptr[0], "exits")->via.array.size,
                      1);                       /* c2 stays: no exit */
    assert_true (calendar_set_zone ("UTC", why, sizeof why));
}

/* Two saves of one exit form in the same millisecond (one batch shares
 * its time): its first and last save times are equal, and still the
 * first saver is the one who first saved it, read from the history. */
static void
test_export_first_saver_in_one_millisecond (void **state)
{
    (void) state;
    start_named ('A', "h1", "cw1", 0);
    clock_ms = NOW + 1000;
    actor = "cw2";
    ok (RUN ("x0", "step.save", "m{s:s, s:s, s:s, s:s, s:m{s:s, s:i}}", 5,
             "workflow_id", named[0], "client_id", "c1", "step", "exit",
             "mode", "entered", "data", 2, "exit_date", "2026-11-19",
             "destination", 410));
    finish_c1 (named[0], "cw3", NOW + 9000);   /* its first save: NOW+1000 */
    const msgpack_object *items = get (EXPORT ("m{}", 0), "workflows");
    assert_int_equal (items->via.array.size, 1);
    const msgpack_object *ex = &get (&items->via.array.ptr[0], "exits")
                                    ->via.array.ptr[0];
    assert_str (ex, "exit_recorded_at", "2026-11-25T12:00:01.000Z");
    assert_str (ex, "exit_updated_at", "2026-11-25T12:00:01.000Z");
    assert_str (ex, "exit_recorded_by", "cw2");
    assert_str (get (get (ex, "first_saved"), "exit"), "by", "cw2");
    assert_str (get (get (ex, "first_saved"), "universal_data"), "by", "cw3");
}

#define T(f) cmocka_unit_test_setup_teardown (f, setup, store_teardown)

int
main (void)
{
    const struct CMUnitTest tests[] = {
        T (test_table_covers_the_protocol),
        T (test_roles_match_the_spec),
        T (test_forbidden_changes_nothing),
        T (test_actor_rule),
        T (test_principal_in_events),
        T (test_start_stores_and_queues),
        T (test_idempotent_replay_unscoped),
        T (test_idempotent_replay_scoped),
        T (test_version_conflict),
        T (test_replies_past_retention),
        T (test_map_full),
        T (test_event_log_gapless),
        T (test_consumer_offsets),
        T (test_stall_scan),
        T (test_list_by_key),
        T (test_list_stalled),
        T (test_consumer_delete),
        T (test_hud_codes),
        T (test_today_is_the_cocs_calendar),
        T (test_start_age_and_move_in),
        T (test_start_argument_refusals),
        T (test_store_backup),
        T (test_export_span),
        T (test_export_first_saver_in_one_millisecond),
    };
    /* the CoC's calendar of these tests: UTC, whatever the machine's */
    char why[128];
    if (!calendar_set_zone ("UTC", why, sizeof why))
        fail_msg ("%s", why);
    return cmocka_run_group_tests_name ("commands", tests, NULL, NULL);
}
