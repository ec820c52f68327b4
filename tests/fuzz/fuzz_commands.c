/* fuzz_commands — libFuzzer target for the command layer: requests run
 * through daemon/commands.c and the real handlers (cmd_*.c, change.c) on a
 * real LMDB store in a temp dir, in transactions committed as server.c
 * commits a batch, without sockets (tests/daemon/test_commands.c's
 * approach).
 *
 * An input is a script: requests separated by the two bytes C1 C1 (0xc1 is
 * never valid msgpack, nor inside valid UTF-8). Each request is one control
 * byte, then the body as it would arrive on the wire:
 *
 *   bits 0-1  the caller's role: admin, frontend, worker, ops
 *   bit  2    the caller's certificate is named otherwise ("dq-2", ...):
 *             actors other than its own are then FORBIDDEN for non-admins
 *   bit  3    commit the batch so far and start a new one here
 *   bits 4-5  at a batch's first request: the clock moves 0, 1 s, 1 h, 25 h
 *   bit  6    at a batch's first request: run the stall scan first
 *   bit  7    at a batch's first request: run the reply sweep first
 *
 * Workflow ids are made by the daemon, so a script names them by
 * placeholder: the fixstr "@0" … "@9" (bytes A2 40 3x) in a body becomes the
 * id of a workflow of the store before the request runs — @0 @1 @2 the
 * store's base workflows (base_script.inc: one open household half done,
 * one finished, one cancelled), @3 the newest started, @4 the one before,
 * and so on. getrandom is wrapped (the link's --wrap) so ids repeat.
 * The command env holds no backup (backup.h), so store.backup is refused
 * UNAVAILABLE here: a script never makes the harness write a copy anywhere.
 *
 * The store lives in a temp dir ($FUZZ_TMPDIR, else /dev/shm, else /tmp):
 * a fresh one, with the base workflows, every $FUZZ_RESET_EVERY inputs
 * (200; 1 replays an input on a store of its own, as the regression
 * replay does), and after a map full at its maximum: the map starts at
 * 256 KiB and grows to 64 MiB as exitflowd's does (--max-map-size): a batch
 * that meets a full map is aborted, the map doubled (store_grow) and the
 * batch run again from the start. Before a store goes it is closed and
 * opened again, which verifies it whole (verify.c, in a child process).
 * With FUZZ_RESET_EVERY=1 that happens after every input: at exit, for
 * the last. FUZZ_VERBOSE=1 prints every reply's outcome (to see what a
 * seed does).
 *
 * Properties held after every request and batch (a failure aborts, so
 * libFuzzer keeps the input):
 *   - no storage fault on a healthy store but a full map (a record the
 *     daemon wrote and cannot read back is STORE_CORRUPT), and no INTERNAL
 *     reply; a full map grows;
 *   - every reply is a body codec_check accepts: {v:1, id, ok, result|
 *     error}, the request's id (nil only when unreadable), a known code;
 *   - the log grows by exactly the events the batch queued, seqs
 *     contiguous, stored bytes equal to the published ones, each a body
 *     codec_check accepts;
 *   - a write whose reply was definite (ok, CONFLICT, INVALID_STATE,
 *     VALIDATION), sent again after the commit with the same id and body,
 *     gets the same bytes and changes nothing (no event, same seq);
 *   - every workflow a batch named or started still reads: workflow.get
 *     and, for its new events, workflow.history answer ok;
 *   - a store closed and opened again verifies clean and still reads. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "daemon/commands.h"
#include "daemon/stall.h"
#include "daemon/store.h"
#include "daemon/verify.h"
#include "protocol/codec.h"

#include "base_script.inc"

#define NOW 1795608000000LL             /* 2026-11-25T12:00:00Z */
#define DAY_MS 86400000LL
#define MAP_SIZE ((size_t) 256 << 10)    /* grows (store_grow) ... */
#define MAX_MAP_SIZE ((size_t) 64 << 20) /* ... to this */
#define MAX_REQUESTS 64
#define N_BASE 3
#define N_RECENT 7
#define STALL_AFTER_S 60
#define LAST_SEQ_RESET 20000            /* a store this long is renewed */

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf (stderr, "fuzz_commands: property failed: %s: ", #cond);\
            fprintf (stderr, __VA_ARGS__);                                   \
            fputc ('\n', stderr);                                            \
            abort ();                                                        \
        }                                                                    \
    } while (0)

/* ---- ids that repeat ---- */

static uint64_t rng_state;

ssize_t __wrap_getrandom (void *buf, size_t len, unsigned int flags);

ssize_t
__wrap_getrandom (void *buf, size_t len, unsigned int flags)
{
    (void) flags;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);     /* splitmix64 */
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        p[i] = (uint8_t) (z ^ (z >> 31));
    }
    return (ssize_t) len;
}

/* ---- the store and what the harness knows of it ---- */

static char tmp_base[200];
static char store_dir[256];
static store_t *store;
static int inputs_on_store;
static int reset_every = 200;
static bool verbose;                    /* FUZZ_VERBOSE: every reply's outcome */
static bool renew;                      /* a full map: a fresh store next */
static int64_t clock_ms;
static stall_cursor_t stall_cursor;
static char base_ids[N_BASE][WF_ID_LEN + 1];
static int n_base;
static char recent_ids[N_RECENT][WF_ID_LEN + 1];
static int n_recent, next_recent;
static int batch_starts;                /* workflows the batch started */

/* What a run did, printed at exit (run.sh reports it). */
static struct {
    uint64_t scripts, requests, ok, refused, batches, retries, stores,
             reopened, grown;
} ran;

static void
remove_store (void)
{
    store_destroy (&store);
    if (!store_dir[0])
        return;
    DIR *d = opendir (store_dir);
    if (d) {
        struct dirent *e;
        char path[512];
        while ((e = readdir (d)))
            if (strcmp (e->d_name, ".") && strcmp (e->d_name, "..")) {
                snprintf (path, sizeof path, "%s/%s", store_dir, e->d_name);
                unlink (path);
            }
        closedir (d);
    }
    rmdir (store_dir);
    store_dir[0] = '\0';
}

/* ---- the events a batch queues (the server's outbox) ---- */

typedef struct {
    char type[32];
    uint8_t *bytes;
    size_t len;
} queued_t;

static queued_t *queued;
static size_t n_queued, cap_queued;

static void
queue_push (void *arg, const char *type, const void *event, size_t len)
{
    (void) arg;
    if (n_queued == cap_queued) {
        cap_queued = cap_queued ? 2 * cap_queued : 64;
        queued = realloc (queued, cap_queued * sizeof *queued);
        CHECK (queued != NULL, "out of memory");
    }
    queued_t *q = &queued[n_queued++];
    snprintf (q->type, sizeof q->type, "%s", type);
    q->bytes = malloc (len ? len : 1);
    CHECK (q->bytes != NULL, "out of memory");
    memcpy (q->bytes, event, len);
    q->len = len;
}

static void
queue_clear (void)
{
    for (size_t i = 0; i < n_queued; i++)
        free (queued[i].bytes);
    n_queued = 0;
}

/* ---- one request ---- */

typedef struct {
    uint8_t ctl;
    const uint8_t *raw;                 /* the input's bytes */
    size_t raw_len;
    uint8_t *body;                      /* after the placeholders */
    size_t len;
    msgpack_unpacked u;
    codec_request_t req;
    const command_t *cmd;               /* NULL: answered without running */
    caller_t caller;
    msgpack_sbuffer reply;
    bool definite;                      /* a write whose reply is stored */
} request_t;

static const unsigned roles[4] = { EXF_ROLE_ADMIN, EXF_ROLE_FRONTEND,
                                   EXF_ROLE_WORKER, EXF_ROLE_OPS };
static const char *const role_names[4] = { "admin", "frontend", "worker",
                                           "ops" };
static const char *const other_names[4] = { "root", "portal", "dq-2",
                                            "night-ops" };

static caller_t
caller_of (uint8_t ctl)
{
    caller_t c;
    snprintf (c.name, sizeof c.name, "%s",
              (ctl & 4 ? other_names : role_names)[ctl & 3]);
    c.role = roles[ctl & 3];
    return c;
}

/* The id a placeholder digit names now, or NULL. */
static const char *
placeholder (int d)
{
    if (d < N_BASE && d < n_base)
        return base_ids[d];
    int k = d - N_BASE;
    if (n_recent) {
        if (k < 0 || k >= n_recent)
            k = 0;
        return recent_ids[(next_recent - 1 - k + N_RECENT) % N_RECENT];
    }
    return n_base ? base_ids[d % n_base] : NULL;
}

/* The body with each fixstr "@d" replaced by a fixstr of the id. */
static void
substitute (request_t *r)
{
    r->body = malloc (r->raw_len * 14 + 1);
    CHECK (r->body != NULL, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < r->raw_len; i++) {
        const uint8_t *p = r->raw + i;
        const char *id;
        if (i + 2 < r->raw_len && p[0] == 0xa2 && p[1] == '@'
            && p[2] >= '0' && p[2] <= '9' && (id = placeholder (p[2] - '0'))) {
            r->body[n++] = 0xa0 | WF_ID_LEN;
            memcpy (r->body + n, id, WF_ID_LEN);
            n += WF_ID_LEN;
            i += 2;
        } else
            r->body[n++] = *p;
    }
    r->len = n;
}

/* As server.c: a body that cannot run is answered here. */
static void
parse (request_t *r)
{
    exf_error_t err;
    exf_error_clear (&err);
    r->cmd = commands_parse (r->body, r->len, &r->u, &r->req, &err);
    if (!err.code)
        return;
    msgpack_packer pk;
    msgpack_packer_init (&pk, &r->reply, msgpack_sbuffer_write);
    codec_pack_reply_error (&pk, r->req.id, &err);
    r->cmd = NULL;
}

static bool
str_is (const msgpack_object *o, const char *s)
{
    return o && o->type == MSGPACK_OBJECT_STR
           && codec_str_eq (codec_str_of (o), s);
}

/* The reply's shape (PROTOCOL.md §2.3); returns its result or error map
 * and whether it is ok. */
static const msgpack_object *
check_reply (const request_t *r, msgpack_unpacked *u, bool *ok)
{
    const char *why = "";
    CHECK (codec_unpack (r->reply.data, r->reply.size, u, &why),
           "a reply does not decode: %s", why);
    const msgpack_object *m = &u->data;
    CHECK (m->type == MSGPACK_OBJECT_MAP, "a reply is no map");
    const msgpack_object *v = codec_map_get (m, "v");
    CHECK (v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 == 1,
           "a reply without v 1");
    const msgpack_object *id = codec_map_get (m, "id");
    CHECK (id, "a reply without id");
    if (r->req.id.len)
        CHECK (id->type == MSGPACK_OBJECT_STR && id->via.str.size == r->req.id.len
               && memcmp (id->via.str.ptr, r->req.id.ptr, r->req.id.len) == 0,
               "a reply to another id");
    else
        CHECK (id->type == MSGPACK_OBJECT_NIL, "an id from nowhere");
    const msgpack_object *okv = codec_map_get (m, "ok");
    CHECK (okv && okv->type == MSGPACK_OBJECT_BOOLEAN, "a reply without ok");
    *ok = okv->via.boolean;
    if (*ok) {
        const msgpack_object *res = codec_map_get (m, "result");
        CHECK (res && res->type == MSGPACK_OBJECT_MAP, "ok without a result");
        return res;
    }
    const msgpack_object *e = codec_map_get (m, "error");
    CHECK (e && e->type == MSGPACK_OBJECT_MAP, "a refusal without error");
    const msgpack_object *code = codec_map_get (e, "code");
    CHECK (code && code->type == MSGPACK_OBJECT_STR, "an error without code");
    char c[32];
    codec_str_copy (c, sizeof c, codec_str_of (code));
    CHECK (exf_error_code (c) != NULL, "unknown error code %s", c);
    const msgpack_object *msg = codec_map_get (e, "message");
    CHECK (str_is (msg, "") || (msg && msg->type == MSGPACK_OBJECT_STR),
           "an error without message");
    if (strcmp (c, EXF_INTERNAL) == 0) {
        char text[200];
        codec_str_copy (text, sizeof text, codec_str_of (msg));
        CHECK (false, "INTERNAL on a healthy store: %s", text);
    }
    return e;
}

/* Notes a workflow.start's new workflow; says whether the reply is one
 * the daemon stores for retries. */
static void
after_reply (request_t *r)
{
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    bool ok;
    const msgpack_object *m = check_reply (r, &u, &ok);
    ran.requests++;
    if (ok)
        ran.ok++;
    else
        ran.refused++;
    if (verbose) {
        const msgpack_object *code = ok ? NULL : codec_map_get (m, "code");
        const msgpack_object *msg = ok ? NULL : codec_map_get (m, "message");
        fprintf (stderr, "  %.*s %.*s: %s %.*s %.*s\n", (int) r->req.cmd.len,
                 r->req.cmd.ptr, (int) r->req.id.len, r->req.id.ptr,
                 ok ? "ok" : "refused", code ? (int) code->via.str.size : 0,
                 code ? code->via.str.ptr : "", msg ? (int) msg->via.str.size : 0,
                 msg ? msg->via.str.ptr : "");
    }
    if (r->cmd && ok && codec_str_eq (r->req.cmd, "workflow.start")) {
        const msgpack_object *wf = codec_map_get (m, "workflow_id");
        CHECK (wf && wf->type == MSGPACK_OBJECT_STR
               && wf->via.str.size == WF_ID_LEN, "start without an id");
        memcpy (recent_ids[next_recent], wf->via.str.ptr, WF_ID_LEN);
        recent_ids[next_recent][WF_ID_LEN] = '\0';
        next_recent = (next_recent + 1) % N_RECENT;
        batch_starts++;
        if (n_recent < N_RECENT)
            n_recent++;
    }
    if (r->cmd && command_writes (r->cmd)) {
        if (ok)
            r->definite = true;
        else {
            char c[32];
            codec_str_copy (c, sizeof c,
                            codec_str_of (codec_map_get (m, "code")));
            const exf_error_code_t *row = exf_error_code (c);
            /* NOT_FOUND is stored only when the workflow exists */
            r->definite = row && row->final && strcmp (c, EXF_NOT_FOUND);
        }
    }
    msgpack_unpacked_destroy (&u);
}

static void
request_fini (request_t *r)
{
    msgpack_unpacked_destroy (&r->u);
    msgpack_sbuffer_destroy (&r->reply);
    free (r->body);
    r->body = NULL;
}

/* ---- batches ---- */

static uint64_t requests_run;           /* stats' count */

static command_env_t
command_env (store_txn_t *txn)
{
    command_env_t env = {
        .change = { txn, clock_ms, { queue_push, NULL } },
        .started_ms = NOW - 5000,
        .consumer_retire_ms = 7 * DAY_MS,   /* exitflowd's default */
        .requests_before = requests_run,
    };
    return env;
}

/* A storage fault: a full map renews the store; anything else is a bug. */
static bool
fault (store_status_t rc, const char *where)
{
    if (rc == STORE_OK)
        return false;
    CHECK (rc == STORE_FULL, "%s: %s (%s)", where, store_strerror (rc),
           store_fault_detail (store));
    renew = true;
    return true;
}

typedef struct {
    uint64_t from;
    size_t next;
} scan_t;

static bool
event_matches (void *arg, uint64_t seq, const void *event, size_t len)
{
    scan_t *s = arg;
    CHECK (seq == s->from + 1 + s->next, "seq %llu where %llu was due",
           (unsigned long long) seq,
           (unsigned long long) (s->from + 1 + s->next));
    CHECK (s->next < n_queued, "an event in the log that was not queued");
    const queued_t *q = &queued[s->next++];
    CHECK (q->len == len && memcmp (q->bytes, event, len) == 0,
           "the stored event %llu is not the published one",
           (unsigned long long) seq);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    const char *why = "";
    CHECK (codec_unpack (event, len, &u, &why), "event %llu: %s",
           (unsigned long long) seq, why);
    const msgpack_object *sq = codec_map_get (&u.data, "seq");
    CHECK (sq && sq->type == MSGPACK_OBJECT_POSITIVE_INTEGER
           && sq->via.u64 == seq, "event %llu carries another seq",
           (unsigned long long) seq);
    CHECK (str_is (codec_map_get (&u.data, "type"), q->type),
           "event %llu published as %s", (unsigned long long) seq, q->type);
    msgpack_unpacked_destroy (&u);
    return true;
}

/* After a commit: the log grew by what was queued, and holds it. */
static void
check_log (uint64_t before)
{
    uint64_t after = store_committed_seq (store);
    CHECK (after == before + n_queued, "the log grew by %llu, %zu queued",
           (unsigned long long) (after - before), n_queued);
    if (!n_queued)
        return;
    store_txn_t *txn;
    if (fault (store_begin (store, false, &txn), "begin (log)"))
        return;
    scan_t s = { before, 0 };
    store_status_t rc = store_events_scan (txn, before, event_matches, &s);
    store_abort (&txn);
    if (fault (rc, "events scan"))
        return;
    CHECK (s.next == n_queued, "%zu of %zu queued events in the log", s.next,
           n_queued);
}

/* The stall scan and the reply sweep, each in its own transaction, as the
 * server's timer runs them. */
static void
maintenance (uint8_t ctl)
{
    store_txn_t *txn;
    if (ctl & 0x80) {
        int swept = 0;
        if (fault (store_begin (store, true, &txn), "begin (sweep)"))
            return;
        store_status_t rc = store_replies_sweep (txn, clock_ms, 64, &swept);
        if (rc) {
            store_abort (&txn);
            fault (rc, "sweep");
            return;
        }
        if (fault (store_commit (&txn), "commit (sweep)"))
            return;
    }
    if (ctl & 0x40) {
        uint64_t before = store_committed_seq (store);
        if (fault (store_begin (store, true, &txn), "begin (stall)"))
            return;
        change_env_t env = { txn, clock_ms, { queue_push, NULL } };
        stall_cursor_t cursor = stall_cursor;
        int marked = 0;
        store_status_t rc = stall_scan (&env, STALL_AFTER_S, &cursor, 64,
                                        &marked);
        if (!rc)
            rc = store_commit (&txn);
        else
            store_abort (&txn);
        if (!fault (rc, "stall scan")) {
            stall_cursor = cursor;
            check_log (before);
        }
        queue_clear ();
    }
}

/* Sends each definite write of the batch again: same bytes back, nothing
 * changed. */
static void
check_retries (request_t *rs, int n)
{
    uint64_t before = store_committed_seq (store);
    store_txn_t *txn;
    if (fault (store_begin (store, true, &txn), "begin (retries)"))
        return;
    command_env_t env = command_env (txn);
    for (int i = 0; i < n; i++) {
        request_t *r = &rs[i];
        if (!r->definite)
            continue;
        bool seen = false;              /* the same bytes earlier: replayed */
        for (int j = 0; j < i && !seen; j++)
            seen = rs[j].definite && rs[j].len == r->len
                   && memcmp (rs[j].body, r->body, r->len) == 0;
        if (seen)
            continue;
        msgpack_sbuffer again;
        msgpack_sbuffer_init (&again);
        store_status_t rc = commands_execute (&env, r->cmd, &r->req,
                                              &r->caller, r->body, r->len,
                                              &again);
        if (fault (rc, "retry")) {
            msgpack_sbuffer_destroy (&again);
            store_abort (&txn);
            queue_clear ();
            return;
        }
        ran.retries++;
        CHECK (again.size == r->reply.size
               && memcmp (again.data, r->reply.data, again.size) == 0,
               "a retry of %.*s (id %.*s) got another reply",
               (int) r->req.cmd.len, r->req.cmd.ptr, (int) r->req.id.len,
               r->req.id.ptr);
        msgpack_sbuffer_destroy (&again);
    }
    CHECK (n_queued == 0, "a retry emitted %zu event(s)", n_queued);
    if (fault (store_commit (&txn), "commit (retries)"))
        return;
    CHECK (store_committed_seq (store) == before, "a retry moved the log");
}

/* Runs one read as admin and insists on ok: `workflow_id`, and `after`
 * when not negative. */
static void
must_read (const char *cmd, const char *workflow_id, int64_t after,
           store_txn_t *txn)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    codec_pack_request_head (&pk, "fuzz-check", cmd, NULL, true);
    msgpack_pack_map (&pk, after >= 0 ? 2 : 1);
    codec_pack_cstr (&pk, "workflow_id");
    codec_pack_cstr (&pk, workflow_id);
    if (after >= 0) {
        codec_pack_cstr (&pk, "after");
        msgpack_pack_int64 (&pk, after);
    }
    request_t r = { .raw = (const uint8_t *) body.data, .raw_len = body.size,
                    .caller = caller_of (0) };
    msgpack_unpacked_init (&r.u);
    msgpack_sbuffer_init (&r.reply);
    r.body = malloc (body.size);
    memcpy (r.body, body.data, body.size);
    r.len = body.size;
    parse (&r);
    CHECK (r.cmd != NULL, "%s does not parse", cmd);
    command_env_t env = command_env (txn);
    store_status_t rc = commands_execute (&env, r.cmd, &r.req, &r.caller,
                                          r.body, r.len, &r.reply);
    if (!fault (rc, cmd)) {
        msgpack_unpacked u;
        msgpack_unpacked_init (&u);
        bool ok;
        check_reply (&r, &u, &ok);
        CHECK (ok, "%s of a workflow of the store is refused", cmd);
        msgpack_unpacked_destroy (&u);
    }
    request_fini (&r);
    msgpack_sbuffer_destroy (&body);
}

static bool
named_in_batch (const char *id, const request_t *rs, int n)
{
    for (int i = 0; i < n; i++)
        if (rs[i].body && memmem (rs[i].body, rs[i].len, id, WF_ID_LEN))
            return true;
    return false;
}

/* The workflows the batch named (or started) still read, their new events
 * through their history too. */
static void
check_workflows (const request_t *rs, int n, uint64_t before)
{
    store_txn_t *txn;
    if (fault (store_begin (store, false, &txn), "begin (reads)"))
        return;
    for (int i = 0; i < n_base + n_recent && !renew; i++) {
        const char *id = i < n_base ? base_ids[i] : recent_ids[i - n_base];
        int age = i < n_base ? N_RECENT
                  : (next_recent - 1 - (i - n_base) + N_RECENT) % N_RECENT;
        if (age >= batch_starts && !named_in_batch (id, rs, n))
            continue;
        must_read ("workflow.get", id, -1, txn);
        if (!renew)
            must_read ("workflow.history", id, (int64_t) before, txn);
    }
    store_abort (&txn);
}

/* One run of a batch: every request parsed and run in one transaction,
 * committed once. True when committed; false after a storage fault (a full
 * map sets `renew`), the transaction aborted and its events dropped. */
static bool
run_attempt (request_t *rs, int n, bool any_write)
{
    batch_starts = 0;
    store_txn_t *txn;
    if (fault (store_begin (store, any_write, &txn), "begin"))
        return false;
    command_env_t env = command_env (txn);
    for (int i = 0; i < n; i++) {
        request_t *r = &rs[i];
        free (r->body);
        msgpack_unpacked_destroy (&r->u);
        msgpack_unpacked_init (&r->u);
        msgpack_sbuffer_clear (&r->reply);
        r->definite = false;
        substitute (r);
        parse (r);
        if (r->cmd && command_writes (r->cmd) && !any_write) {
            /* a placeholder made a write of what was not one: answer as
             * the server answers a write it cannot run now */
            r->cmd = NULL;
            exf_error_t err;
            exf_error_clear (&err);
            exf_fail (&err, EXF_UNAVAILABLE, NULL, "not in this batch");
            msgpack_packer pk;
            msgpack_sbuffer_clear (&r->reply);
            msgpack_packer_init (&pk, &r->reply, msgpack_sbuffer_write);
            codec_pack_reply_error (&pk, r->req.id, &err);
        }
        if (r->cmd) {
            env.requests_before = requests_run++;
            store_status_t rc = commands_execute (&env, r->cmd, &r->req,
                                                  &r->caller, r->body, r->len,
                                                  &r->reply);
            if (fault (rc, "execute")) {
                store_abort (&txn);
                queue_clear ();
                return false;
            }
        }
        after_reply (r);
    }
    if (fault (store_commit (&txn), "commit")) {
        queue_clear ();
        return false;
    }
    return true;
}

/* Runs requests [0, n) as one batch: one transaction, committed once. */
static void
run_batch (request_t *rs, int n)
{
    if (rs[0].ctl & 0x30) {
        static const int64_t step[4] = { 0, 1000, 3600 * 1000, 25 * 3600000LL };
        clock_ms += step[(rs[0].ctl >> 4) & 3];
    }
    maintenance (rs[0].ctl);
    if (renew)
        return;
    /* The server parses the whole batch first; the placeholders name
     * what exists when each request runs, which only a client that read
     * the earlier replies could know, so the kind of transaction is taken
     * from the requests as they came. */
    bool any_write = false;
    for (int i = 0; i < n; i++) {
        request_t probe = { .raw = rs[i].raw, .raw_len = rs[i].raw_len };
        msgpack_unpacked_init (&probe.u);
        msgpack_sbuffer_init (&probe.reply);
        probe.body = malloc (probe.raw_len ? probe.raw_len : 1);
        if (probe.raw_len)
            memcpy (probe.body, probe.raw, probe.raw_len);
        probe.len = probe.raw_len;
        parse (&probe);
        any_write |= probe.cmd && command_writes (probe.cmd);
        request_fini (&probe);
    }
    uint64_t before = store_committed_seq (store);
    /* A full map is grown and the whole batch run again from the start,
     * as the server does: what the first run did is in the aborted
     * transaction only, and what the harness noted of it goes too. */
    struct {
        char ids[N_RECENT][WF_ID_LEN + 1];
        int n, next;
        uint64_t rng, requests;
    } saved;
    memcpy (saved.ids, recent_ids, sizeof saved.ids);
    saved.n = n_recent;
    saved.next = next_recent;
    saved.rng = rng_state;
    saved.requests = requests_run;
    for (int attempt = 0;; attempt++) {
        if (run_attempt (rs, n, any_write))
            break;                      /* committed */
        memcpy (recent_ids, saved.ids, sizeof saved.ids);
        n_recent = saved.n;
        next_recent = saved.next;
        rng_state = saved.rng;
        requests_run = saved.requests;
        if (!renew)
            return;                     /* a fault the harness stops at */
        uint64_t from, to;
        if (attempt > 0 || store_grow (store, &from, &to) != STORE_OK)
            return;                     /* full at the maximum: renewed */
        CHECK (to > from, "the map grew from %llu to %llu",
               (unsigned long long) from, (unsigned long long) to);
        ran.grown++;
        renew = false;
    }
    ran.batches++;
    check_log (before);
    queue_clear ();
    check_retries (rs, n);
    if (!renew)
        check_workflows (rs, n, before);
}

/* Splits the script, groups its batches, runs them. */
static void
run_script (const uint8_t *data, size_t size)
{
    request_t rs[MAX_REQUESTS];
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size && n < MAX_REQUESTS; i++) {
        bool end = i == size || (i + 1 < size && data[i] == 0xc1
                                 && data[i + 1] == 0xc1);
        if (!end)
            continue;
        if (i > start) {
            request_t *r = &rs[n++];
            memset (r, 0, sizeof *r);
            r->ctl = data[start];
            r->raw = data + start + 1;
            r->raw_len = i - start - 1;
            r->caller = caller_of (r->ctl);
            msgpack_unpacked_init (&r->u);
            msgpack_sbuffer_init (&r->reply);
        }
        start = i + 2;
        i++;
    }
    int first = 0;
    for (int i = 1; i <= n && !renew; i++)
        if (i == n || rs[i].ctl & 0x08) {
            run_batch (rs + first, i - first);
            first = i;
        }
    for (int i = 0; i < n; i++)
        request_fini (&rs[i]);
}

/* The store of store_dir: a small map that grows, as exitflowd's does
 * with --max-map-size. */
static store_t *
open_store (store_status_t *status, char *why, size_t cap)
{
    store_options_t options = { .dir = store_dir, .map_size = MAP_SIZE,
                                .max_map_size = MAX_MAP_SIZE,
                                .reply_keep_ms = DAY_MS };
    return store_open (&options, status, why, cap);
}

static void
first_problem (void *arg, bool problem, const char *line)
{
    char *first = arg;
    if (problem && !first[0])
        snprintf (first, 256, "%s", line);
}

/* Before a store goes: it is closed and opened again, as a restart opens
 * it — store_open verifies it whole in a child process (verify.c: pages,
 * seals, accounting) and refuses a damaged one — and every workflow the
 * harness knows still reads. What the commands wrote must survive that. */
static void
reopen_store (void)
{
    store_destroy (&store);
    char why[512] = "", first[256] = "";
    store_status_t status;
    store = open_store (&status, why, sizeof why);
    if (!store && status == STORE_CORRUPT)
        verify_store (store_dir, first_problem, first);
    CHECK (store != NULL, "the store does not open again: %s (%s)", why,
           first);
    ran.reopened++;
    store_txn_t *txn;
    if (fault (store_begin (store, false, &txn), "begin (reopened)"))
        return;
    for (int i = 0; i < n_base + n_recent && !renew; i++) {
        const char *id = i < n_base ? base_ids[i] : recent_ids[i - n_base];
        must_read ("workflow.get", id, -1, txn);
        if (!renew)
            must_read ("workflow.history", id, -1, txn);
    }
    store_abort (&txn);
}

/* A fresh store in a fresh temp dir, with the base workflows. */
static void
fresh_store (void)
{
    if (store && !renew)
        reopen_store ();
    remove_store ();
    snprintf (store_dir, sizeof store_dir, "%s/exf-fuzz-XXXXXX", tmp_base);
    CHECK (mkdtemp (store_dir) != NULL, "mkdtemp in %s", tmp_base);
    char why[512] = "";
    store_status_t status;
    store = open_store (&status, why, sizeof why);
    CHECK (store != NULL, "store_open: %s", why);
    ran.stores++;
    rng_state = 0;
    clock_ms = NOW;
    memset (&stall_cursor, 0, sizeof stall_cursor);
    n_base = n_recent = next_recent = 0;
    renew = false;
    run_script (base_script, sizeof base_script);
    CHECK (!renew && n_recent == N_BASE, "the base workflows did not start");
    for (int i = 0; i < N_BASE; i++)
        memcpy (base_ids[i], recent_ids[i], sizeof base_ids[i]);
    n_base = N_BASE;
    n_recent = next_recent = 0;
    inputs_on_store = 0;
}

static void
at_exit (void)
{
    if (store && !renew && reset_every == 1)
        reopen_store ();
    if (store && verbose) {
        store_map_t map;
        store_map (store, &map);
        fprintf (stderr, "fuzz_commands: the last store's map %llu bytes "
                 "(at most %llu), %llu used\n",
                 (unsigned long long) map.map_size,
                 (unsigned long long) map.max_map_size,
                 (unsigned long long) map.file_bytes);
    }
    remove_store ();
    fprintf (stderr, "fuzz_commands: %llu scripts, %llu requests (%llu ok, "
             "%llu refused) in %llu batches, %llu retries answered the same, "
             "%llu stores, %llu reopened and verified, %llu map growths\n",
             (unsigned long long) ran.scripts,
             (unsigned long long) ran.requests, (unsigned long long) ran.ok,
             (unsigned long long) ran.refused,
             (unsigned long long) ran.batches,
             (unsigned long long) ran.retries,
             (unsigned long long) ran.stores,
             (unsigned long long) ran.reopened,
             (unsigned long long) ran.grown);
    free (queued);
}

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    const char *dir = getenv ("FUZZ_TMPDIR");
    if (!dir || !*dir)
        dir = access ("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf (tmp_base, sizeof tmp_base, "%s", dir);
    verbose = getenv ("FUZZ_VERBOSE") && *getenv ("FUZZ_VERBOSE");
    const char *every = getenv ("FUZZ_RESET_EVERY");
    if (every && atoi (every) > 0)
        reset_every = atoi (every);
    atexit (at_exit);
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!store || renew || inputs_on_store >= reset_every
        || store_committed_seq (store) > LAST_SEQ_RESET)
        fresh_store ();
    inputs_on_store++;
    ran.scripts++;
    run_script (data, size);
    return 0;
}
