/* server — sockets, the loop and group commit. See server.h.
 *
 * One thread. Each turn: wait for the command socket, take every request
 * already waiting (up to BATCH_MAX), answer the malformed ones without a
 * transaction, run the rest in order in one transaction (a write
 * transaction when any of them writes), commit once with fsync, then send
 * every reply and publish the committed events from the outbox. Nothing is
 * replied or published before its commit is durable. */
#include "server.h"

#include <czmq.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>

#include "protocol/calendar.h"

#include "auth.h"
#include "backup.h"
#include "commands.h"
#include "log.h"
#include "backlog.h"
#include "http.h"
#include "metrics.h"
#include "peers.h"
#include "ready.h"
#include "stall.h"

#define BATCH_MAX 512
/* Requests of one connection in one batch. Everyone in a batch waits for
 * its commit, so a client pipelining as fast as it can would make every
 * other client wait for 512 of its requests; past its share the batch
 * ends, and the next one takes the others' requests in turn (libzmq reads
 * the peers fairly). Group commit still gathers from every client. */
#define BATCH_PEER_SHARE 16
#define BATCH_BYTES_MAX (64 * 1024 * 1024)   /* stop draining past this */
#define FAULT_RETRIES 3             /* batches re-run without a failing write */
#define ENVELOPE_MAX 8
#define ENVELOPE_FRAME_MAX 255
#define SOCKET_MAXMSGSIZE (4 * 1024 * 1024)   /* larger frames drop the peer */
/* What one peer can make the daemon hold (PROTOCOL.md §2.1): replies it
 * has not read, requests not yet taken, events its subscription has not
 * read. Past them replies to it are dropped (a retry of a write gets its
 * stored reply), and events to it (a gapless subscriber fills the gap
 * from the log). */
#define REPLY_QUEUE_MAX 8
#define REQUEST_QUEUE_MAX 64
#define EVENT_QUEUE_MAX 1000
#define STALL_SCAN_MAX 1000
#define SWEEP_BUDGET 2000
#define MAINTENANCE_EVERY_MS 1000

typedef struct {
    zmq_msg_t frames[ENVELOPE_MAX + 1];     /* the envelope, then the body */
    int n_frames;
    msgpack_unpacked body;
    codec_request_t req;
    caller_t caller;                        /* who sent it */
    int fd;                                 /* its connection */
    const command_t *cmd;                   /* NULL: answered before the txn */
    msgpack_sbuffer reply;
    int64_t received_us;                    /* monotonic: read off the socket */
} request_t;

/* Events appended by the transaction in progress, published once it has
 * committed and dropped when it is aborted. */
typedef struct {
    size_t n, cap;
    struct outbox_event {
        const char *type;               /* static: EXF_EV_NAME (...) */
        char *bytes;
        size_t len;
    } *items;
} outbox_t;

typedef struct {
    const server_config_t *config;
    zsock_t *commands, *events;
    void *commands_socket, *events_socket;
    peers_t *command_peers, *event_peers;
    backlog_t *backlog;             /* replies waiting for slow readers */
    bool backlog_was_used;          /* at the last maintenance */
    size_t connections;             /* at the last maintenance */
    store_t *store;
    backup_t *backup;               /* store.backup's copy and its waiters */
    auth_t *auth;
    request_t *batch;
    outbox_t outbox;
    int64_t started_ms;
    uint64_t requests_run;          /* since start, refused ones too;
                                       a batch run again counts once */
    int64_t last_now;               /* wall clock, never going back */
    int64_t next_maintenance;       /* monotonic clock */
    stall_cursor_t stall_cursor;
    metrics_t *metrics;             /* what /metrics and /health read */
    http_t *http;                   /* --http; NULL when not given */
} server_t;

/* Storage faults can repeat for every batch while the disk is full: one
 * kind of rate-limited line. */
static void
log_storage_fault (server_t *self, const char *what, store_status_t status)
{
    log_limited (LOG_STORAGE, zclock_mono (), "error", "%s: %s (%s)", what,
                 store_strerror (status), store_fault_detail (self->store));
}

/* ---- receiving ---- */

static void
request_fini (request_t *r)
{
    for (int i = 0; i < r->n_frames; i++)
        zmq_msg_close (&r->frames[i]);
    r->n_frames = 0;
    msgpack_unpacked_destroy (&r->body);
    msgpack_sbuffer_destroy (&r->reply);
    r->cmd = NULL;
}

/* Reads one whole message without blocking. Returns 1 with a request from
 * a known caller, 0 when nothing is waiting, -1 for a message dropped as
 * unanswerable, -2 for one whose key is no longer a known certificate (it
 * gets no reply at all). */
static int
receive_request (server_t *self, request_t *r)
{
    int more = 1, seen = 0, kept = 0;
    bool dropped = false;
    while (more) {
        zmq_msg_t frame;
        zmq_msg_init (&frame);
        if (zmq_msg_recv (&frame, self->commands_socket,
                          seen == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close (&frame);
            if (seen == 0)
                return 0;
            dropped = true;
            break;
        }
        more = zmq_msg_more (&frame);
        seen++;
        /* too many envelope frames, or one too large to echo safely */
        if (kept > ENVELOPE_MAX
            || (more && zmq_msg_size (&frame) > ENVELOPE_FRAME_MAX))
            dropped = true;
        if (dropped)
            zmq_msg_close (&frame);
        else
            r->frames[kept++] = frame;
    }
    r->n_frames = kept;
    msgpack_unpacked_init (&r->body);
    msgpack_sbuffer_init (&r->reply);
    if (dropped) {
        request_fini (r);
        return -1;
    }
    /* the key the connection authenticated with rides on every frame */
    const char *key = zmq_msg_gets (&r->frames[kept - 1], "User-Id");
    r->fd = zmq_msg_get (&r->frames[kept - 1], ZMQ_SRCFD);
    if (!auth_caller (self->auth, key, zclock_time (), &r->caller)) {
        request_fini (r);
        return -2;
    }
    return 1;
}

/* Parses the body; on failure packs the error reply and leaves `cmd` NULL
 * (the request is then answered without running). */
static void
parse_request (request_t *r)
{
    zmq_msg_t *body = &r->frames[r->n_frames - 1];
    exf_error_t err;
    exf_error_clear (&err);
    r->cmd = commands_parse (zmq_msg_data (body), zmq_msg_size (body),
                             &r->body, &r->req, &err);
    if (!err.code)
        return;
    msgpack_packer pk;
    msgpack_packer_init (&pk, &r->reply, msgpack_sbuffer_write);
    codec_pack_reply_error (&pk, r->req.id, &err);
    r->cmd = NULL;
}

/* ---- the outbox ---- */

/* change_queue_t's push: the write path queues here. */
static void
outbox_push (void *arg, const char *type, const void *bytes, size_t len)
{
    outbox_t *box = arg;
    if (box->n == box->cap) {
        box->cap = box->cap ? box->cap * 2 : 64;
        box->items = realloc (box->items, box->cap * sizeof *box->items);
        if (!box->items)
            abort ();
    }
    char *copy = malloc (len);
    if (!copy)
        abort ();
    memcpy (copy, bytes, len);
    box->items[box->n++] = (struct outbox_event) { type, copy, len };
}

/* Drops the queued events, keeping the capacity. */
static void
outbox_clear (outbox_t *box)
{
    for (size_t i = 0; i < box->n; i++)
        free (box->items[i].bytes);
    box->n = 0;
}

static void
outbox_fini (outbox_t *box)
{
    outbox_clear (box);
    free (box->items);
    box->items = NULL;
    box->cap = 0;
}

/* The environment of a change in `txn` at `now`, queueing to the outbox. */
static change_env_t
change_env (server_t *self, store_txn_t *txn, int64_t now)
{
    change_env_t env = { txn, now, { outbox_push, &self->outbox } };
    return env;
}

/* ---- replying and publishing ---- */

/* The envelope goes back as it came, then the reply; a peer that is slow
 * to read gets it later from the backlog, one that is gone not at all (a
 * write's reply stays stored for its retry). */
static void
send_reply (server_t *self, request_t *r, int64_t now_ms)
{
    backlog_send (self->backlog, r->frames, r->n_frames - 1, r->reply.data,
                  r->reply.size, r->fd, now_ms);
}

static void
publish_outbox (server_t *self)
{
    for (size_t i = 0; i < self->outbox.n; i++) {
        struct outbox_event *e = &self->outbox.items[i];
        zmq_send (self->events_socket, e->type, strlen (e->type), ZMQ_SNDMORE);
        zmq_send (self->events_socket, e->bytes, e->len, 0);
    }
    outbox_clear (&self->outbox);
}

/* ---- running a batch ---- */

/* Storage that is full or read-only: writes wait, reads go on. */
static bool
is_unavailable (store_status_t status)
{
    return status == STORE_FULL || status == STORE_READ_ONLY;
}

/* The time for a batch: the wall clock (timestamps are wall-clock facts),
 * but never earlier than a time already handed out, so updated_at and the
 * stall index only move forward. */
static int64_t
batch_time (server_t *self)
{
    int64_t now = zclock_time ();
    if (now < self->last_now)
        now = self->last_now;
    return self->last_now = now;
}

static void
reply_with_error (request_t *r, const char *code, const char *message)
{
    exf_error_t err;
    exf_error_clear (&err);
    exf_fail (&err, code, NULL, "%s", message);
    msgpack_sbuffer_clear (&r->reply);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &r->reply, msgpack_sbuffer_write);
    codec_pack_reply_error (&pk, r->req.id, &err);
}

/* Runs the parsed requests of the batch in one transaction and commits.
 * With `writes_refused` (after a storage fault) only reads run. Returns 0
 * or the storage fault, and in `failed_at` the request that met it (-1 when
 * it was the commit). */
static store_status_t
run_batch (server_t *self, int n, bool writes_refused, int64_t now,
           int *failed_at)
{
    bool any_write = false;
    for (int i = 0; i < n; i++)
        any_write |= self->batch[i].cmd && command_writes (self->batch[i].cmd)
                     && !writes_refused;
    *failed_at = -1;
    store_txn_t *txn;
    store_status_t rc = store_begin (self->store, any_write, &txn);
    if (rc)
        return metrics_writes (self->metrics, any_write, rc);
    command_env_t env = {
        .change = change_env (self, txn, now),
        .started_ms = self->started_ms,
        .consumer_retire_ms = self->config->consumer_retire_after_s * 1000,
        .backup = self->backup };
    for (int i = 0; i < n && !rc; i++) {
        request_t *r = &self->batch[i];
        if (!r->cmd || (writes_refused && command_writes (r->cmd)))
            continue;
        msgpack_sbuffer_clear (&r->reply);
        zmq_msg_t *body = &r->frames[r->n_frames - 1];
        env.requests_before = self->requests_run + (uint64_t) i;
        rc = commands_execute (&env, r->cmd, &r->req, &r->caller,
                               zmq_msg_data (body), zmq_msg_size (body),
                               &r->reply);
        if (rc)
            *failed_at = i;
    }
    if (rc) {
        store_abort (&txn);
        outbox_clear (&self->outbox);
        return metrics_writes (self->metrics, any_write, rc);
    }
    int64_t began = zclock_usecs ();
    rc = store_commit (&txn);
    if (any_write)
        metrics_commit (self->metrics, zclock_usecs () - began);
    if (rc)
        outbox_clear (&self->outbox);
    return metrics_writes (self->metrics, any_write, rc);
}

static void
refuse_for_fault (request_t *r, store_status_t rc)
{
    reply_with_error (r, is_unavailable (rc) ? EXF_UNAVAILABLE : EXF_INTERNAL,
                      is_unavailable (rc)
                          ? "storage is full or read-only; reads are still "
                            "served"
                          : "the change could not be committed");
    r->cmd = NULL;                  /* answered: not run again */
}

/* After a write met a full store: grows the map when it can (no
 * transaction is open between batches, as LMDB needs), and says so. */
static bool
grow_store (server_t *self)
{
    uint64_t from, to;
    store_status_t rc = store_grow (self->store, &from, &to);
    if (rc == STORE_OK)
        log_line ("info", "the store's map grew from %llu to %llu bytes "
                  "(--max-map-size %zu)", (unsigned long long) from,
                  (unsigned long long) to, self->config->max_map_size);
    else if (rc == STORE_BUSY)
        log_limited (LOG_STORAGE, zclock_mono (), "warn", "the store's map "
                     "is full; it grows once the backup running ends");
    else if (rc == STORE_FULL && from >= self->config->max_map_size)
        log_limited (LOG_STORAGE, zclock_mono (), "error", "the store's map "
                     "is full at its maximum (%llu bytes): writes are "
                     "refused until exitflowd restarts with a larger "
                     "--max-map-size", (unsigned long long) from);
    else if (rc != STORE_FULL)
        log_storage_fault (self, "growing the map", rc);
    return rc == STORE_OK;
}

/* Commits the batch. A full map is grown and the whole batch run again
 * from the start (its commands' effects are only in the aborted
 * transaction and the outbox, both dropped). Any other storage fault
 * aborts the whole transaction too, so the batch is run again without the
 * write that met it (that one is refused), a few times; past that, or when
 * the commit itself failed, every write is refused and the reads are
 * still served. */
static void
commit_batch (server_t *self, int n, int64_t now)
{
    int failed_at;
    store_status_t rc = STORE_OK;
    for (int attempt = 0; attempt <= FAULT_RETRIES; attempt++) {
        while ((rc = run_batch (self, n, false, now, &failed_at)) == STORE_FULL
               && grow_store (self))
            ;
        if (!rc)
            return;
        log_storage_fault (self, "batch aborted", rc);
        if (failed_at < 0 || !command_writes (self->batch[failed_at].cmd))
            break;
        refuse_for_fault (&self->batch[failed_at], rc);
    }
    for (int i = 0; i < n; i++)
        if (self->batch[i].cmd && command_writes (self->batch[i].cmd))
            refuse_for_fault (&self->batch[i], rc);
    if (run_batch (self, n, true, now, &failed_at))
        for (int i = 0; i < n; i++)
            if (self->batch[i].cmd)
                reply_with_error (&self->batch[i], EXF_INTERNAL,
                                  "storage could not be read");
}

/* The store's schema and map, once at start-up. */
static void
log_store_opened (server_t *self)
{
    store_map_t map;
    store_map (self->store, &map);
    int was = store_opened_format (self->store);
    if (was != STORE_FORMAT)
        log_line ("info", "the store was upgraded from schema %d to %d", was,
                  STORE_FORMAT);
    log_line ("info", "store: schema %d, a data file of %llu bytes, a "
              "%llu-byte map that may grow to %llu", STORE_FORMAT,
              (unsigned long long) map.file_bytes,
              (unsigned long long) map.map_size,
              (unsigned long long) map.max_map_size);
    if (map.file_bytes >= map.max_map_size)
        log_line ("warn", "the data file fills --max-map-size: the map "
                  "cannot grow, and a write that needs more room than its "
                  "free pages is refused until a restart with a larger one");
}

/* Request ids and command names are the client's bytes: log them only as
 * printable ASCII. */
static const char *
printable (char out[EXF_ID_MAX + 1], exf_str_t s)
{
    codec_str_copy (out, EXF_ID_MAX + 1, s);
    for (char *p = out; *p; p++)
        *p = *p >= 0x20 && *p < 0x7f ? *p : '?';
    return out;
}

static void
log_request (const request_t *r)
{
    char cmd[EXF_ID_MAX + 1], id[EXF_ID_MAX + 1];
    log_line ("info", "cmd=%s id=%s principal=%s reply_bytes=%zu",
              printable (cmd, r->req.cmd), printable (id, r->req.id),
              r->caller.name, r->reply.size);
}

/* Whether two requests came from one peer (by the routing id the ROUTER
 * put in front of each). */
static bool
same_peer (request_t *a, request_t *b)
{
    size_t n = zmq_msg_size (&a->frames[0]);
    return n == zmq_msg_size (&b->frames[0])
           && memcmp (zmq_msg_data (&a->frames[0]), zmq_msg_data (&b->frames[0]),
                      n) == 0;
}

/* A command answered later (an empty reply: store.backup) waits in its
 * module, its envelope taken, unless the answer is already known. */
static bool
answered_later (server_t *self, request_t *r)
{
    return r->cmd && !r->reply.size
           && backup_wait (self->backup, r->req.id, r->frames,
                           r->n_frames - 1, r->fd, r->received_us,
                           &r->reply);
}

/* backup_send_fn: a later answer goes out, and is counted, like any. */
static void
send_later (void *arg, zmq_msg_t *envelope, int n, const void *reply,
            size_t len, int fd, int64_t received_us)
{
    server_t *self = arg;
    backlog_send (self->backlog, envelope, n, reply, len, fd, zclock_mono ());
    const char *name = EXF_CMD_NAME (STORE_BACKUP);
    metrics_command (self->metrics,
                     (exf_str_t) { name, (uint32_t) strlen (name) }, reply,
                     len, zclock_usecs () - received_us);
}

static void
handle_batch (server_t *self)
{
    int n = 0;
    size_t bytes = 0;
    bool share_used = false;
    while (n < BATCH_MAX && bytes < BATCH_BYTES_MAX && !share_used) {
        int got = receive_request (self, &self->batch[n]);
        if (got == 0)
            break;
        if (got == -2) {
            log_limited (LOG_UNKNOWN_KEY, zclock_mono (), "warn",
                         "dropped a request from a key that is not a known "
                         "certificate");
            continue;
        }
        if (got < 0) {
            log_limited (LOG_ENVELOPE, zclock_mono (), "warn",
                         "dropped a message with a malformed envelope");
            continue;
        }
        request_t *r = &self->batch[n];
        r->received_us = zclock_usecs ();
        bytes += zmq_msg_size (&r->frames[r->n_frames - 1]);
        parse_request (r);
        int same = 0;
        for (int i = 0; i < n; i++)
            same += same_peer (&self->batch[i], r);
        share_used = same + 1 >= BATCH_PEER_SHARE;
        n++;
    }
    if (n == 0)
        return;
    commit_batch (self, n, batch_time (self));
    self->requests_run += (uint64_t) n;    /* once, however often it ran */
    for (int i = 0; i < n; i++) {
        request_t *r = &self->batch[i];
        if (self->config->verbose)
            log_request (r);
        if (!answered_later (self, r)) {
            send_reply (self, r, zclock_mono ());
            metrics_command (self->metrics, r->req.cmd, r->reply.data,
                             r->reply.size, zclock_usecs () - r->received_us);
        }
        request_fini (r);
    }
    publish_outbox (self);
    metrics_batch_done (self->metrics, n, store_committed_seq (self->store),
                        zclock_mono ());
}

/* A certificate was revoked: zauth refuses its key from now on, but a
 * subscriber already connected would go on receiving events. Closing and
 * binding the event socket again makes every subscriber hand-shake anew;
 * the gapless ones fill what they missed from the log (through the command
 * socket, where the revoked key gets no answer). */
static zsock_t *bind_socket (server_t *self, int type, const char *endpoint,
                             peers_t **peers);

static void
rebind_events (server_t *self)
{
    zsock_destroy (&self->events);
    peers_destroy (&self->event_peers);
    self->events_socket = NULL;
    /* the old listener closes asynchronously: give it a moment */
    for (int attempt = 0; attempt < 50 && !self->events; attempt++) {
        if (attempt)
            zclock_sleep (20);
        self->events = bind_socket (self, ZMQ_PUB,
                                    self->config->events_endpoint,
                                    &self->event_peers);
    }
    if (!self->events) {
        log_line ("error", "cannot bind %s again after a revocation (%s): "
                  "stopping", self->config->events_endpoint,
                  zmq_strerror (zmq_errno ()));
        zsys_interrupted = 1;
        return;
    }
    self->events_socket = zsock_resolve (self->events);
    log_line ("info", "a certificate was revoked: subscribers reconnect");
}

/* Once a second: sweep replies past their retention, then mark stalled
 * workflows (their events go out like any others), each in its own
 * transaction so that a full store still frees what it can. */
static void
run_maintenance (server_t *self)
{
    if (zclock_mono () < self->next_maintenance)
        return;
    self->next_maintenance = zclock_mono () + MAINTENANCE_EVERY_MS;
    if (self->http)                 /* the store's figures: only if served */
        metrics_tick (self->metrics, self->store, zclock_mono ());
    if (auth_keys_revoked (self->auth))
        rebind_events (self);
    log_flush (zclock_mono ());
    /* What peers held (their queues in libzmq, their backlog here) goes
     * back to the system once they are gone: glibc keeps freed blocks in
     * its arenas otherwise. */
    size_t connections = peers_count (self->command_peers)
                         + peers_count (self->event_peers);
    if ((self->backlog_was_used && !backlog_bytes (self->backlog))
        || connections < self->connections)
        malloc_trim (0);
    self->backlog_was_used = backlog_bytes (self->backlog) > 0;
    self->connections = connections;
    int64_t now = batch_time (self);
    store_txn_t *txn;
    int swept = 0, marked = 0;
    store_status_t rc = store_begin (self->store, true, &txn);
    if (!rc) {
        rc = store_replies_sweep (txn, now, SWEEP_BUDGET, &swept);
        if (rc || !swept)
            store_abort (&txn);
        else
            rc = store_commit (&txn);
    }
    if (rc)
        log_storage_fault (self, "reply sweep", rc);
    if ((rc = store_begin (self->store, true, &txn))) {
        log_storage_fault (self, "stall scan", rc);
        return;
    }
    change_env_t env = change_env (self, txn, now);
    stall_cursor_t cursor = self->stall_cursor;
    rc = stall_scan (&env, self->config->stall_after_s, &cursor,
                     STALL_SCAN_MAX, &marked);
    if (rc || !marked)
        store_abort (&txn);     /* nothing to commit: keep the writer lock short */
    else
        rc = store_commit (&txn);
    if (rc) {
        outbox_clear (&self->outbox);
        log_storage_fault (self, "stall scan", rc);
        if (rc == STORE_FULL)
            grow_store (self);      /* the next scan has room */
        return;
    }
    self->stall_cursor = cursor;
    if (marked || swept)
        log_line ("info", "maintenance: %d workflow(s) stalled, %d reply "
                  "record(s) expired", marked, swept);
    publish_outbox (self);
}

/* ---- set-up ---- */

/* A socket of `type` bound to `endpoint`, under CURVE unless in local
 * mode, its connections watched by a new `*peers`; NULL when it cannot be
 * bound (zmq_errno says why). */
static zsock_t *
bind_socket (server_t *self, int type, const char *endpoint, peers_t **peers)
{
    zsock_t *sock = zsock_new (type);
    if (!sock)
        return NULL;
    zsock_set_linger (sock, 0);
    if (type == ZMQ_ROUTER) {
        zsock_set_router_mandatory (sock, 1);
        /* under CURVE a frame grows by its box (33 bytes): the limit is on
         * what the client sent, not on its encryption */
        zsock_set_maxmsgsize (sock, SOCKET_MAXMSGSIZE
                                        + (auth_is_local (self->auth) ? 0 : 64));
        zsock_set_rcvhwm (sock, REQUEST_QUEUE_MAX);
        zsock_set_sndhwm (sock, REPLY_QUEUE_MAX);
    } else {
        zsock_set_sndhwm (sock, EVENT_QUEUE_MAX);
        /* subscribers send only subscriptions (and, under CURVE, their
         * handshake, which is larger than any envelope frame) */
        zsock_set_maxmsgsize (sock, 64 * 1024);
    }
    auth_apply_server (self->auth, sock);
    *peers = peers_new (sock, type == ZMQ_ROUTER ? "commands" : "events",
                        self->config->max_connections,
                        self->config->peer_grace_s * 1000);
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        int err = zmq_errno ();
        zsock_destroy (&sock);
        peers_destroy (peers);
        errno = err;
    }
    return sock;
}

/* The metrics, and with --http the thread that serves them. */
static bool
start_http (server_t *self)
{
    char why[256];
    if (!self->config->http)
        return true;                /* no figures kept: none are served */
    self->metrics = metrics_new (self->started_ms, zclock_mono ());
    if (!self->metrics)
        return false;
    self->http = http_start (self->config->http, self->metrics, why,
                             sizeof why);
    if (!self->http)
        log_line ("error", "%s", why);
    else
        log_line ("info", "serving /metrics and /health on http://%s",
                  self->config->http);
    return self->http != NULL;
}

int
server_run (const server_config_t *config)
{
    server_t self = { .config = config };
    char why[512];
    int status = 1;
    /* a set-up the operator must fix: exit 2, before touching the store */
    self.auth = auth_new (config->certs_dir, config->server_cert, why,
                          sizeof why);
    if (!self.auth
        || !auth_endpoint_allowed (self.auth, config->commands_endpoint, why,
                                   sizeof why)
        || !auth_endpoint_allowed (self.auth, config->events_endpoint, why,
                                   sizeof why)) {
        log_line ("error", "%s", why);
        auth_destroy (&self.auth);
        return 2;
    }
    if (auth_is_local (self.auth))
        log_line ("warn", "LOCAL MODE: no --certs, so no authentication: "
                  "loopback endpoints only, and every caller is principal "
                  "'local' with role admin");
    store_status_t opened;
    store_options_t store_options = {
        .dir = config->data_dir, .map_size = config->map_size,
        .max_map_size = config->max_map_size,
        .reply_keep_ms = config->reply_retention_s * 1000 };
    self.store = store_open (&store_options, &opened, why, sizeof why);
    if (!self.store) {
        log_line ("error", "%s", why);
        auth_destroy (&self.auth);
        return store_exit_status (opened);
    }
    log_store_opened (&self);
    if (!auth_start (self.auth, why, sizeof why)) {
        log_line ("error", "%s", why);
        goto done;
    }
    self.backup = backup_new (self.store);
    self.batch = calloc (BATCH_MAX, sizeof *self.batch);
    const char *endpoints[2] = { config->commands_endpoint,
                                 config->events_endpoint };
    zsock_t **sockets[2] = { &self.commands, &self.events };
    peers_t **peers[2] = { &self.command_peers, &self.event_peers };
    for (int i = 0; i < 2; i++) {
        *sockets[i] = bind_socket (&self, i ? ZMQ_PUB : ZMQ_ROUTER,
                                   endpoints[i], peers[i]);
        if (!*sockets[i]) {
            log_line ("error", "cannot bind %s: %s", endpoints[i],
                      zmq_strerror (zmq_errno ()));
            goto done;
        }
    }
    if (!self.batch || !self.commands || !self.events || !self.backup)
        goto done;
    self.commands_socket = zsock_resolve (self.commands);
    self.events_socket = zsock_resolve (self.events);
    self.backlog = backlog_new (self.commands_socket, self.command_peers);
    self.started_ms = batch_time (&self);
    if (!start_http (&self))
        goto done;
    log_line ("info",
              "ready: data %s, commands %s, events %s, stall after %llds, "
              "time zone %s, last seq %llu",
              config->data_dir, config->commands_endpoint,
              config->events_endpoint, (long long) config->stall_after_s,
              calendar_zone (),
              (unsigned long long) store_committed_seq (self.store));
    ready_serving (store_committed_seq (self.store));

    while (!zsys_interrupted) {
        /* the monitors first: a connection is counted before its requests */
        zmq_pollitem_t items[4] = {
            { peers_monitor (self.command_peers), 0, ZMQ_POLLIN, 0 },
            { peers_monitor (self.event_peers), 0, ZMQ_POLLIN, 0 },
            { self.commands_socket, 0, ZMQ_POLLIN, 0 },
            { NULL, backup_signal_fd (self.backup), ZMQ_POLLIN, 0 } };
        int64_t wait = self.next_maintenance - zclock_mono ();
        if (backlog_bytes (self.backlog) && wait > 1)
            wait = 1;               /* replies wait: look again soon */
        int rc = zmq_poll (items, 4,
                           wait < 0 ? 0 : wait > 1000 ? 1000 : (long) wait);
        if (rc < 0) {
            if (zmq_errno () == EINTR)
                continue;
            log_line ("error", "poll: %s", zmq_strerror (zmq_errno ()));
            goto done;
        }
        if (items[0].revents & ZMQ_POLLIN)
            peers_handle_events (self.command_peers, zclock_mono ());
        if (items[1].revents & ZMQ_POLLIN)
            peers_handle_events (self.event_peers, zclock_mono ());
        if (backlog_bytes (self.backlog))
            backlog_flush (self.backlog, zclock_mono ());
        if (items[2].revents & ZMQ_POLLIN)
            handle_batch (&self);
        if (items[3].revents & ZMQ_POLLIN)
            backup_finish (self.backup, send_later, &self);
        run_maintenance (&self);
    }
    log_line ("info", "stopping");
    ready_stopping ();
    status = 0;
done:
    backup_destroy (&self.backup);  /* waits for a copy in progress */
    http_stop (&self.http);         /* its thread reads the metrics */
    metrics_destroy (&self.metrics);
    outbox_fini (&self.outbox);
    backlog_destroy (&self.backlog);
    peers_destroy (&self.event_peers);
    peers_destroy (&self.command_peers);
    zsock_destroy (&self.events);
    zsock_destroy (&self.commands);
    free (self.batch);
    store_destroy (&self.store);
    auth_destroy (&self.auth);
    return status;
}
