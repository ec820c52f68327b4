/*
 * exitflow-bench - throughput/latency benchmark for exitflowd (EXITFLOW/1).
 *
 * README
 * ------
 * Build (from the repo root): make bin/exitflow-bench (tests/tests.mk). It
 * speaks EXITFLOW/1 through the protocol library (libexitflow-protocol.a):
 * the codec packs its strings and reads every reply, the name table gives
 * the command names.
 *
 * Run against a fresh daemon (starts bin/exitflowd on free ports with a
 * temporary --data dir under ./var/, runs the bench, stops the daemon):
 *   tests/bench/run.sh [--clients 32] [--seconds 10]     # full run
 *   tests/bench/run.sh --quick                           # ~1 s phases (smoke)
 * run.sh works from any directory; it cds to the repo root, so a relative
 * --raw-dir is relative to the repo root. Run on an idle machine: the bench
 * prints a WARNING when the CPUs were >10% busy before it started.
 *
 * Or against a running daemon:
 *   bin/exitflow-bench --commands tcp://127.0.0.1:5570 [--clients 32]
 *       [--seconds 10] [--raw-dir ./var/bench-raw] [--quick]
 *       [--timeout-ms 10000]
 *   bin/exitflow-bench --commands EP --ping [--timeout-ms N]   # exit 0 on pong
 *   bin/exitflow-bench --raw-only [--clients N] [--quick]   # machine limits only
 *
 * One run measures, in order:
 *   1a. raw ZeroMQ: an in-process ROUTER echo thread on tcp://127.0.0.1:<free>
 *       and N DEALER clients (one ~200-byte request in flight each) -> rt/s;
 *       then one client alone -> echo p50 latency.
 *   1b. raw LMDB: env with default (durable) flags in a temp dir under
 *       --raw-dir; loop {txn_begin; put 1 x 300 B; commit} -> commits/s, p50.
 *   2.  exitflowd: N DEALER clients (one thread, epoll on ZMQ_FD, one request in
 *       flight per client) each looping whole 3-member household exits
 *       (18 write commands per workflow: workflow.start, 13 step.save,
 *       2 member.decide, workflow.finish); 1 s warm-up, then --seconds of
 *       measurement -> durable commands/s, p50, p99.
 *   3.  the same workload with 1 client for ~3 s -> p50, compared with
 *       (raw 1-client echo p50 + raw LMDB commit p50); target <= 1.5x.
 *   4.  flat cost: one workflow takes dq.report after dq.report; at 10,
 *       1,000 and 100,000 prior commands (--quick: 10 and 10,000) one
 *       client times workflow.get, dq.report and step.save (Default Last)
 *       one at a time -> the median of each and the ratio last/first,
 *       which should stay near 1. --flat-only runs this part alone.
 *   5.  finding exits: --find-workflows N (100,000; --quick: 2,000) more
 *       workflows are started (3 members each, N/10 caseworkers with 10
 *       each), then one client alone times, one at a time and in turn,
 *       ping, workflow.list {client_id} (1 item) and workflow.list {actor}
 *       (10 items) for random keys -> p50/p99 of each, and each list's p50
 *       over ping's: the daemon's time for a filtered list, which indexes
 *       keep well under a millisecond however many workflows are stored.
 *       --find-only runs this part alone.
 *   Then a report with ratios and one machine-readable line `BENCH {json}`.
 *
 * Every reply is checked (v, id, ok:true, result shape, version increasing);
 * errors are counted and the first one is printed. Exit status: 0 when the
 * run completed without protocol errors (even if targets are NOT MET);
 * 1 on any error reply, malformed reply, reply timeout, or daemon
 * unreachable; 2 on usage errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <msgpack.h>
#include <zmq.h>

#include "protocol/codec.h"
#include "protocol/names.h"

/* ------------------------------------------------------------------ */
/* small utilities                                                     */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("exitflow-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* growable array of latencies in nanoseconds */
typedef struct {
    int64_t *v;
    size_t n, cap;
} lat_t;

static void lat_add(lat_t *l, int64_t x)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        int64_t *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            die("out of memory");
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = x;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void lat_sort(lat_t *l)
{
    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, cmp_i64);
}

/* nearest-rank percentile in microseconds; l must be sorted */
static double lat_pct_us(const lat_t *l, double p)
{
    if (!l->n)
        return 0.0;
    size_t rank = (size_t)((p / 100.0) * (double)l->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > l->n)
        rank = l->n;
    return (double)l->v[rank - 1] / 1000.0;
}

static void lat_free(lat_t *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* ------------------------------------------------------------------ */
/* options                                                             */

static struct {
    const char *commands;
    int clients;
    double seconds;
    bool seconds_set;
    const char *raw_dir;
    bool quick;
    bool ping_only;
    bool raw_only;
    int timeout_ms;
    bool flat_only;
    bool find_only;
    long find_workflows;    /* 0: 100,000, or 2,000 with --quick */
} opt = {NULL, 32, 10.0, false, "./var/bench-raw", false, false, false, 10000, false, false, 0};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: exitflow-bench --commands ENDPOINT [--clients 32] [--seconds 10]\n"
            "                      [--raw-dir DIR] [--quick] [--timeout-ms 10000]\n"
            "       exitflow-bench --commands ENDPOINT --flat-only [--quick]\n"
            "       exitflow-bench --commands ENDPOINT --find-only [--quick]\n"
            "                      [--find-workflows N]\n"
            "       exitflow-bench --commands ENDPOINT --ping [--timeout-ms N]\n"
            "       exitflow-bench --raw-only [--clients 32] [--raw-dir DIR] [--quick]\n");
}

/* ------------------------------------------------------------------ */
/* client-side polling of many DEALER sockets                          */
/*
 * zmq_poll() over N sockets costs about 2N system calls per call (a
 * ZMQ_EVENTS check per socket before and after poll()); the bench shares 2
 * cores with the daemon, so client CPU must stay low. Instead each
 * socket's ZMQ_FD is registered in one epoll set (level-triggered), and only
 * the sockets whose fd fired are checked with ZMQ_EVENTS. As required for
 * ZMQ_FD, a socket is re-checked with ZMQ_EVENTS after every recv/send until
 * it reports no POLLIN. An idle epoll_wait timeout sweeps every socket as a
 * safety net against a missed wake-up.
 */

typedef struct {
    int epfd;
    int n;
    void **socks;
} mpoll_t;

static void mp_init(mpoll_t *mp, void **socks, int n)
{
    mp->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (mp->epfd < 0)
        die("epoll_create1: %s", strerror(errno));
    mp->n = n;
    mp->socks = socks;
    for (int i = 0; i < n; i++) {
        int fd;
        size_t fdlen = sizeof fd;
        if (zmq_getsockopt(socks[i], ZMQ_FD, &fd, &fdlen) != 0)
            die("ZMQ_FD: %s", zmq_strerror(errno));
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(mp->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
            die("epoll_ctl: %s", strerror(errno));
    }
}

static void mp_close(mpoll_t *mp)
{
    close(mp->epfd);
}

/* indices of sockets to check into out[] (size >= n); all on a timeout */
static int mp_wait(mpoll_t *mp, int timeout_ms, int *out)
{
    struct epoll_event evs[256];
    int maxev = mp->n < 256 ? mp->n : 256;
    int k = epoll_wait(mp->epfd, evs, maxev, timeout_ms);
    if (k < 0) {
        if (errno == EINTR)
            return 0;
        die("epoll_wait: %s", strerror(errno));
    }
    if (k == 0) {
        for (int i = 0; i < mp->n; i++)
            out[i] = i;
        return mp->n;
    }
    for (int j = 0; j < k; j++)
        out[j] = (int)evs[j].data.u32;
    return k;
}

static bool sock_readable(void *s)
{
    uint32_t ev = 0;
    size_t len = sizeof ev;
    if (zmq_getsockopt(s, ZMQ_EVENTS, &ev, &len) != 0)
        die("ZMQ_EVENTS: %s", zmq_strerror(errno));
    return (ev & ZMQ_POLLIN) != 0;
}

/* ------------------------------------------------------------------ */
/* 1a. raw ZeroMQ echo                                                 */

#define ECHO_BYTES 200

typedef struct {
    void *ctx;
    void *sock;
} echo_srv_t;

static void *echo_thread(void *arg)
{
    echo_srv_t *srv = arg;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, srv->sock, 0) < 0) {
            zmq_msg_close(&m);
            if (errno == EINTR)
                continue;
            break; /* ETERM on shutdown */
        }
        int more = zmq_msg_more(&m);
        if (zmq_msg_send(&m, srv->sock, more ? ZMQ_SNDMORE : 0) < 0) {
            zmq_msg_close(&m);
            if (errno == ETERM)
                break;
        }
    }
    int linger = 0;
    zmq_setsockopt(srv->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(srv->sock);
    return NULL;
}

/* Runs nclients closed-loop DEALER clients against endpoint for warm+meas
 * seconds; returns round trips/s over the measurement window and fills lat. */
static double echo_clients(void *ctx, const char *endpoint, int nclients,
                           double warm_s, double meas_s, lat_t *lat)
{
    void **socks = calloc((size_t)nclients, sizeof *socks);
    int64_t *sent = calloc((size_t)nclients, sizeof *sent);
    int *ready = calloc((size_t)nclients, sizeof *ready);
    if (!socks || !sent || !ready)
        die("out of memory");
    char body[ECHO_BYTES];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)('a' + i % 26);
    int linger = 0;
    for (int i = 0; i < nclients; i++) {
        socks[i] = zmq_socket(ctx, ZMQ_DEALER);
        zmq_setsockopt(socks[i], ZMQ_LINGER, &linger, sizeof linger);
        if (zmq_connect(socks[i], endpoint) != 0)
            die("raw echo: connect %s: %s", endpoint, zmq_strerror(errno));
    }
    mpoll_t mp;
    mp_init(&mp, socks, nclients);
    int64_t t0 = now_ns();
    int64_t warm_end = t0 + (int64_t)(warm_s * 1e9);
    int64_t end = warm_end + (int64_t)(meas_s * 1e9);
    int inflight = 0;
    uint64_t count = 0;
    for (int i = 0; i < nclients; i++) {
        sent[i] = now_ns();
        if (zmq_send(socks[i], body, sizeof body, 0) != (int)sizeof body)
            die("raw echo: send: %s", zmq_strerror(errno));
        inflight++;
    }
    bool stopping = false;
    int64_t drain_deadline = 0;
    while (inflight > 0) {
        int64_t t = now_ns();
        if (!stopping && t >= end) {
            stopping = true;
            drain_deadline = t + 5000000000LL;
        }
        if (stopping && t > drain_deadline)
            die("raw echo: replies lost while draining");
        long to = stopping ? 50 : (long)((end - t) / 1000000 + 1);
        if (to > 50)
            to = 50;
        int k = mp_wait(&mp, (int)to, ready);
        for (int j = 0; j < k; j++) {
            int i = ready[j];
            while (sock_readable(socks[i])) {
                char buf[ECHO_BYTES + 16];
                int n = zmq_recv(socks[i], buf, sizeof buf, ZMQ_DONTWAIT);
                if (n < 0) {
                    if (errno == EAGAIN)
                        break;
                    die("raw echo: recv: %s", zmq_strerror(errno));
                }
                t = now_ns();
                if (n != ECHO_BYTES || memcmp(buf, body, ECHO_BYTES) != 0)
                    die("raw echo: bad echo (%d bytes)", n);
                inflight--;
                if (t >= warm_end && t <= end) {
                    count++;
                    lat_add(lat, t - sent[i]);
                }
                if (!stopping && t < end) {
                    sent[i] = now_ns();
                    if (zmq_send(socks[i], body, sizeof body, 0) != (int)sizeof body)
                        die("raw echo: send: %s", zmq_strerror(errno));
                    inflight++;
                }
            }
        }
    }
    mp_close(&mp);
    for (int i = 0; i < nclients; i++)
        zmq_close(socks[i]);
    free(socks);
    free(sent);
    free(ready);
    return (double)count / meas_s;
}

typedef struct {
    double rate;        /* N clients, rt/s */
    double p50_n_us;    /* N clients p50 */
    double p50_1_us;    /* 1 client p50 */
    double rate_1;      /* 1 client rt/s */
} raw_zmq_t;

static raw_zmq_t raw_zmq(int nclients, double meas_s, double single_s)
{
    raw_zmq_t r = {0};
    echo_srv_t srv;
    srv.ctx = zmq_ctx_new(); /* own context: like a separate process */
    srv.sock = zmq_socket(srv.ctx, ZMQ_ROUTER);
    if (zmq_bind(srv.sock, "tcp://127.0.0.1:*") != 0)
        die("raw echo: bind: %s", zmq_strerror(errno));
    char endpoint[256];
    size_t elen = sizeof endpoint;
    if (zmq_getsockopt(srv.sock, ZMQ_LAST_ENDPOINT, endpoint, &elen) != 0)
        die("raw echo: ZMQ_LAST_ENDPOINT: %s", zmq_strerror(errno));
    pthread_t th;
    if (pthread_create(&th, NULL, echo_thread, &srv) != 0)
        die("raw echo: pthread_create failed");

    void *cctx = zmq_ctx_new();
    lat_t lat = {0};
    r.rate = echo_clients(cctx, endpoint, nclients, 0.25, meas_s, &lat);
    lat_sort(&lat);
    r.p50_n_us = lat_pct_us(&lat, 50);
    lat_free(&lat);
    r.rate_1 = echo_clients(cctx, endpoint, 1, 0.1, single_s, &lat);
    lat_sort(&lat);
    r.p50_1_us = lat_pct_us(&lat, 50);
    lat_free(&lat);
    zmq_ctx_term(cctx);

    zmq_ctx_shutdown(srv.ctx);
    pthread_join(th, NULL);
    zmq_ctx_term(srv.ctx);
    return r;
}

/* ------------------------------------------------------------------ */
/* 1b. raw LMDB sync commit                                            */

typedef struct {
    double rate;
    double p50_us;
    double p99_us;
} raw_lmdb_t;

static void mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        die("path too long: %s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                die("mkdir %s: %s", buf, strerror(errno));
            *p = '/';
        }
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        die("mkdir %s: %s", buf, strerror(errno));
}

static raw_lmdb_t raw_lmdb(const char *raw_dir, double meas_s)
{
    raw_lmdb_t r = {0};
    struct stat st;
    bool created_root = stat(raw_dir, &st) != 0;
    mkdir_p(raw_dir);
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/lmdb.XXXXXX", raw_dir) >= (int)sizeof dir)
        die("--raw-dir too long");
    if (!mkdtemp(dir))
        die("mkdtemp %s: %s", dir, strerror(errno));

    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    int rc;
    if ((rc = mdb_env_create(&env)) != 0)
        die("mdb_env_create: %s", mdb_strerror(rc));
    if ((rc = mdb_env_set_mapsize(env, (size_t)1 << 30)) != 0)
        die("mdb_env_set_mapsize: %s", mdb_strerror(rc));
    if ((rc = mdb_env_open(env, dir, 0 /* default: durable */, 0644)) != 0)
        die("mdb_env_open %s: %s", dir, mdb_strerror(rc));
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
        (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0 ||
        (rc = mdb_txn_commit(txn)) != 0)
        die("lmdb open dbi: %s", mdb_strerror(rc));

    char value[300];
    for (size_t i = 0; i < sizeof value; i++)
        value[i] = (char)('A' + i % 26);
    lat_t lat = {0};
    uint64_t key_n = 0, count = 0;
    int64_t t0 = now_ns();
    int64_t warm_end = t0 + 100000000LL; /* 0.1 s */
    int64_t end = warm_end + (int64_t)(meas_s * 1e9);
    for (;;) {
        int64_t a = now_ns();
        if (a >= end)
            break;
        char kbuf[32];
        int klen = snprintf(kbuf, sizeof kbuf, "k%016" PRIu64, key_n++);
        MDB_val k = {(size_t)klen, kbuf}, v = {sizeof value, value};
        if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
            die("mdb_txn_begin: %s", mdb_strerror(rc));
        if ((rc = mdb_put(txn, dbi, &k, &v, 0)) != 0)
            die("mdb_put: %s", mdb_strerror(rc));
        if ((rc = mdb_txn_commit(txn)) != 0)
            die("mdb_txn_commit: %s", mdb_strerror(rc));
        int64_t b = now_ns();
        if (a >= warm_end) {
            count++;
            lat_add(&lat, b - a);
        }
    }
    mdb_env_close(env);

    char f[PATH_MAX + 16];
    snprintf(f, sizeof f, "%s/data.mdb", dir);
    unlink(f);
    snprintf(f, sizeof f, "%s/lock.mdb", dir);
    unlink(f);
    if (rmdir(dir) != 0)
        fprintf(stderr, "exitflow-bench: warning: rmdir %s: %s\n", dir, strerror(errno));
    if (created_root)
        rmdir(raw_dir); /* only if we made it and it is empty */

    lat_sort(&lat);
    r.rate = (double)count / meas_s;
    r.p50_us = lat_pct_us(&lat, 50);
    r.p99_us = lat_pct_us(&lat, 99);
    lat_free(&lat);
    return r;
}

/* ------------------------------------------------------------------ */
/* requests and replies (PROTOCOL.md §2), through the protocol library  */

static void pk_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    codec_pack_cstr(pk, k);
    codec_pack_cstr(pk, v);
}

static void pk_kv_int(msgpack_packer *pk, const char *k, int64_t v)
{
    codec_pack_cstr(pk, k);
    msgpack_pack_int64(pk, v);
}

/* A string field for a message: "nil" or "?" when it is not a string. */
static void copy_str_field(const msgpack_object *map, const char *key, char *dst, size_t cap)
{
    const msgpack_object *o = codec_map_get(map, key);
    if (o && o->type == MSGPACK_OBJECT_STR)
        codec_str_copy(dst, cap, codec_str_of(o));
    else
        snprintf(dst, cap, "%s", o && o->type == MSGPACK_OBJECT_NIL ? "nil" : "?");
}

static bool str_field_is(const msgpack_object *map, const char *key, const char *want)
{
    exf_error_t err;
    exf_str_t s;
    return codec_read_str(map, key, true, EXF_BODY_MAX, &s, NULL, EXF_BAD_REQUEST, &err) &&
           codec_str_eq(s, want);
}

/* One reply envelope: its result when ok, its error when not. */
typedef struct {
    msgpack_unpacked u; /* holds what result points into */
    bool ok;
    const msgpack_object *result;
    char code[64], message[256], field[96];
} reply_t;

/* Reads `data` as the reply to request `id`. False, with `why` set, when it
 * is not one; an error reply is a reply (ok false). Release with reply_fini. */
static bool reply_read(reply_t *r, const void *data, size_t len, const char *id, char *why,
                       size_t cap)
{
    exf_error_t err;
    exf_str_t got;
    int64_t v = 0;
    const char *bad;
    memset(r, 0, sizeof *r);
    msgpack_unpacked_init(&r->u);
    if (!codec_unpack(data, len, &r->u, &bad) || r->u.data.type != MSGPACK_OBJECT_MAP) {
        snprintf(why, cap, "malformed reply (%zu bytes, not one msgpack map)", len);
        return false;
    }
    const msgpack_object *m = &r->u.data;
    if (!codec_read_int(m, "v", true, &v, NULL, EXF_BAD_REQUEST, &err) ||
        v != EXF_PROTOCOL_VERSION) {
        snprintf(why, cap, "reply without v:%d", EXF_PROTOCOL_VERSION);
        return false;
    }
    if (!codec_read_str(m, "id", true, EXF_BODY_MAX, &got, NULL, EXF_BAD_REQUEST, &err) ||
        !codec_str_eq(got, id)) {
        char shown[80];
        copy_str_field(m, "id", shown, sizeof shown);
        snprintf(why, cap, "reply id '%s' does not match request id '%s'", shown, id);
        return false;
    }
    if (!codec_read_bool(m, "ok", true, &r->ok, NULL, EXF_BAD_REQUEST, &err)) {
        snprintf(why, cap, "reply without boolean ok");
        return false;
    }
    if (!r->ok) {
        const msgpack_object *e = codec_map_get(m, "error");
        copy_str_field(e, "code", r->code, sizeof r->code);
        copy_str_field(e, "message", r->message, sizeof r->message);
        if (codec_map_get(e, "field"))
            copy_str_field(e, "field", r->field, sizeof r->field);
        else
            snprintf(r->field, sizeof r->field, "-");
        return true;
    }
    if (!codec_read_map(m, "result", true, &r->result, EXF_BAD_REQUEST, &err)) {
        snprintf(why, cap, "ok reply without result map");
        return false;
    }
    return true;
}

static void reply_fini(reply_t *r)
{
    msgpack_unpacked_destroy(&r->u);
}

/* ------------------------------------------------------------------ */
/* 2./3. the exitflowd workload                                        */

enum { OP_START, OP_SAVE, OP_DECIDE, OP_FINISH, OP_KINDS };
static const exf_command_id_t op_command[OP_KINDS] = {
    EXF_CMD_WORKFLOW_START, EXF_CMD_STEP_SAVE, EXF_CMD_MEMBER_DECIDE, EXF_CMD_WORKFLOW_FINISH};
#define OP_NAME(kind) (exf_command_names[op_command[kind]])
enum { MODE_ENTERED, MODE_DEFAULT_LAST };

typedef struct {
    int kind;
    int member; /* 0 head, 1 spouse, 2 child */
    const char *step;
    int mode;
} op_t;

static const op_t ops[] = {
    {OP_START, 0, NULL, 0},
    {OP_SAVE, 0, "exit", MODE_ENTERED},
    {OP_SAVE, 0, "universal_data", MODE_ENTERED},
    {OP_SAVE, 0, "health_insurance", MODE_DEFAULT_LAST},
    {OP_SAVE, 0, "disabilities", MODE_DEFAULT_LAST},
    {OP_SAVE, 0, "income_benefits", MODE_DEFAULT_LAST},
    {OP_DECIDE, 1, NULL, 0},
    {OP_DECIDE, 2, NULL, 0},
    {OP_SAVE, 1, "exit", MODE_ENTERED},
    {OP_SAVE, 1, "universal_data", MODE_ENTERED},
    {OP_SAVE, 1, "health_insurance", MODE_DEFAULT_LAST},
    {OP_SAVE, 1, "disabilities", MODE_DEFAULT_LAST},
    {OP_SAVE, 1, "income_benefits", MODE_DEFAULT_LAST},
    {OP_SAVE, 2, "exit", MODE_ENTERED},
    {OP_SAVE, 2, "universal_data", MODE_ENTERED},
    {OP_SAVE, 2, "health_insurance", MODE_DEFAULT_LAST},
    {OP_SAVE, 2, "disabilities", MODE_DEFAULT_LAST},
    {OP_FINISH, 0, NULL, 0},
};

static const char *const member_tag[3] = {"h", "s", "c"};
static const int member_rel[3] = {1, 3, 2};
static const bool member_adult[3] = {true, true, false};

static char g_today[16];     /* the system zone's YYYY-MM-DD: the daemon's day */
static char g_run_token[32]; /* pid + start time, makes ids unique per run */

typedef struct {
    void *sock;
    int idx;
    int op;            /* index into ops */
    uint64_t wf_n;     /* workflow counter for this client */
    uint64_t seq;      /* request counter for this client */
    char hh[64];       /* household_id */
    char wf_id[64];    /* workflow_id from workflow.start */
    int64_t version;   /* last version seen for this workflow */
    char req_id[64];
    int64_t sent;
    bool inflight;
} client_t;

typedef struct {
    const char *name;
    int nclients;
    double warm_s, meas_s;
    /* results */
    uint64_t count;       /* completed in measurement window */
    uint64_t total_ok;    /* all ok replies incl. warm-up/drain */
    uint64_t errors;
    uint64_t workflows_finished;
    char first_error[512];
    lat_t lat;
    lat_t lat_kind[OP_KINDS];
    double rate, p50_us, p99_us, p999_us, max_us;
    double kind_p50_us[OP_KINDS];
    double cpu_pct;
} phase_t;

static int client_tag; /* distinguishes client indexes across phases */

static void client_new_workflow(client_t *c)
{
    c->op = 0;
    c->wf_n++;
    c->wf_id[0] = 0;
    c->version = 0;
    snprintf(c->hh, sizeof c->hh, "bench-%d-%" PRIu64 "-%s", c->idx, c->wf_n, g_run_token);
}

static void pack_last(msgpack_packer *pk)
{
    codec_pack_cstr(pk, "last");
    msgpack_pack_map(pk, 4);
    codec_pack_cstr(pk, "universal_data");
    msgpack_pack_map(pk, 2);
    pk_kv_int(pk, "disabling_condition", 0);
    pk_kv_int(pk, "local_veteran_status", 0);
    codec_pack_cstr(pk, "health_insurance");
    msgpack_pack_map(pk, 2);
    pk_kv_int(pk, "insurance_from_any_source", 1);
    pk_kv_int(pk, "medicaid", 1);
    codec_pack_cstr(pk, "disabilities");
    msgpack_pack_map(pk, 2);
    pk_kv_int(pk, "physical", 0);
    pk_kv_int(pk, "developmental", 0);
    codec_pack_cstr(pk, "income_benefits");
    msgpack_pack_map(pk, 2);
    pk_kv_int(pk, "income_from_any_source", 0);
    pk_kv_int(pk, "benefits_from_any_source", 0);
}

static void member_ids(const client_t *c, int m, char *cid, size_t cidcap, char *eid,
                       size_t eidcap)
{
    snprintf(cid, cidcap, "%s-%s", c->hh, member_tag[m]);
    snprintf(eid, eidcap, "%s-e%s", c->hh, member_tag[m]);
}

/* `members: [...]` of household `hh`: head, spouse, child, their ids made
 * from hh; with prior values for Default Last when asked. */
static void pack_members(msgpack_packer *pk, const char *hh, bool with_last)
{
    char cid[112], eid[112];
    codec_pack_cstr(pk, "members");
    msgpack_pack_array(pk, 3);
    for (int m = 0; m < 3; m++) {
        snprintf(cid, sizeof cid, "%s-%s", hh, member_tag[m]);
        snprintf(eid, sizeof eid, "%s-e%s", hh, member_tag[m]);
        msgpack_pack_map(pk, with_last ? 6 : 5);
        pk_kv_str(pk, "client_id", cid);
        pk_kv_str(pk, "enrollment_id", eid);
        pk_kv_int(pk, "relationship", member_rel[m]);
        pk_kv_str(pk, "entry_date", "2024-01-15");
        codec_pack_cstr(pk, "adult");
        if (member_adult[m])
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        if (with_last)
            pack_last(pk);
    }
}

/* builds the request for c's current op into sb */
static void build_request(client_t *c, msgpack_sbuffer *sb)
{
    const op_t *op = &ops[c->op];
    msgpack_packer pk;
    msgpack_sbuffer_clear(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    c->seq++;
    snprintf(c->req_id, sizeof c->req_id, "b%s-%d-%" PRIu64, g_run_token, c->idx, c->seq);
    char cid[96], eid[96];

    codec_pack_request_head(&pk, c->req_id, exf_command_names[op_command[op->kind]], "bench", true);
    switch (op->kind) {
    case OP_START:
        member_ids(c, 0, cid, sizeof cid, eid, sizeof eid);
        msgpack_pack_map(&pk, 5);
        pk_kv_str(&pk, "enrollment_id", eid);
        pk_kv_str(&pk, "household_id", c->hh);
        pk_kv_str(&pk, "project_id", "bench-project");
        pk_kv_int(&pk, "project_type", 1);
        pack_members(&pk, c->hh, true);
        break;
    case OP_SAVE:
        member_ids(c, op->member, cid, sizeof cid, eid, sizeof eid);
        msgpack_pack_map(&pk, op->mode == MODE_ENTERED ? 5 : 4);
        pk_kv_str(&pk, "workflow_id", c->wf_id);
        pk_kv_str(&pk, "client_id", cid);
        pk_kv_str(&pk, "step", op->step);
        pk_kv_str(&pk, "mode", op->mode == MODE_ENTERED ? "entered" : "default_last");
        if (op->mode == MODE_ENTERED) {
            codec_pack_cstr(&pk, "data");
            if (strcmp(op->step, "exit") == 0) {
                msgpack_pack_map(&pk, 3);
                pk_kv_str(&pk, "exit_date", g_today);
                pk_kv_int(&pk, "destination", 410);
                pk_kv_str(&pk, "exit_reason", "bench");
            } else {
                msgpack_pack_map(&pk, 3);
                /* the same data goes to every assessment step and no
                   HUD field belongs to all of them: the CoC's own
                   (local_) fields do (step data is typed, issue 9) */
                pk_kv_int(&pk, "local_answer", 410);
                pk_kv_int(&pk, "local_veteran_status", 0);
                pk_kv_str(&pk, "local_note", "bench");
            }
        }
        break;
    case OP_DECIDE:
        member_ids(c, op->member, cid, sizeof cid, eid, sizeof eid);
        msgpack_pack_map(&pk, 3);
        pk_kv_str(&pk, "workflow_id", c->wf_id);
        pk_kv_str(&pk, "client_id", cid);
        codec_pack_cstr(&pk, "exit");
        msgpack_pack_true(&pk);
        break;
    case OP_FINISH:
        msgpack_pack_map(&pk, 1);
        pk_kv_str(&pk, "workflow_id", c->wf_id);
        break;
    }
}

static void phase_error(phase_t *ph, const char *fmt, ...)
{
    ph->errors++;
    if (ph->first_error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ph->first_error, sizeof ph->first_error, fmt, ap);
    va_end(ap);
}

/* Checks one reply body for c's in-flight request; returns true when ok. */
static bool handle_reply(phase_t *ph, client_t *c, const char *data, size_t len)
{
    const op_t *op = &ops[c->op];
    const char *cmd = OP_NAME(op->kind);
    exf_error_t err;
    reply_t reply;
    char why[256];
    bool ok = false;
    if (!reply_read(&reply, data, len, c->req_id, why, sizeof why)) {
        phase_error(ph, "%s: %s", cmd, why);
        goto out;
    }
    if (!reply.ok) {
        phase_error(ph, "%s (op %d%s%s): %s: %s (field %s)", cmd, c->op, op->step ? " " : "",
                    op->step ? op->step : "", reply.code, reply.message, reply.field);
        goto out;
    }
    const msgpack_object *res = reply.result;
    int64_t ver;
    if (!codec_read_int(res, "version", true, &ver, NULL, EXF_BAD_REQUEST, &err)) {
        phase_error(ph, "%s: result without integer version", cmd);
        goto out;
    }
    if (op->kind == OP_START) {
        exf_str_t w;
        if (!codec_read_str(res, "workflow_id", true, 26, &w, NULL, EXF_BAD_REQUEST, &err) ||
            w.len != 26) {
            phase_error(ph, "%s: result.workflow_id is not a 26-char string", cmd);
            goto out;
        }
        codec_str_copy(c->wf_id, sizeof c->wf_id, w);
        if (!str_field_is(res, "state", "open")) {
            phase_error(ph, "%s: result.state is not \"open\"", cmd);
            goto out;
        }
    } else {
        if (!str_field_is(res, "workflow_id", c->wf_id)) {
            phase_error(ph, "%s: result.workflow_id differs from the workflow's", cmd);
            goto out;
        }
        if (ver <= c->version) {
            phase_error(ph, "%s: result.version %" PRId64 " not above previous %" PRId64, cmd,
                        ver, c->version);
            goto out;
        }
        if (op->kind == OP_FINISH && !str_field_is(res, "state", "finished")) {
            phase_error(ph, "%s: result.state is not \"finished\"", cmd);
            goto out;
        }
    }
    c->version = ver;
    ok = true;
out:
    reply_fini(&reply);
    return ok;
}

static void client_send(client_t *c, msgpack_sbuffer *sb)
{
    build_request(c, sb);
    c->sent = now_ns();
    if (zmq_send(c->sock, sb->data, sb->size, 0) != (int)sb->size)
        die("send to daemon failed: %s", zmq_strerror(errno));
    c->inflight = true;
}

/* receive a whole message, returning the last frame (the body) */
static int recv_body(void *sock, zmq_msg_t *body)
{
    int got = 0;
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, got ? 0 : ZMQ_DONTWAIT) < 0) {
            int e = errno;
            zmq_msg_close(&part);
            errno = e;
            return -1;
        }
        if (got)
            zmq_msg_close(body);
        zmq_msg_move(body, &part);
        zmq_msg_close(&part);
        got = 1;
        if (!zmq_msg_more(body))
            return 0;
    }
}

static void run_phase(void *ctx, phase_t *ph)
{
    int n = ph->nclients;
    client_t *cl = calloc((size_t)n, sizeof *cl);
    void **socks = calloc((size_t)n, sizeof *socks);
    int *ready = calloc((size_t)n, sizeof *ready);
    if (!cl || !socks || !ready)
        die("out of memory");
    int linger = 0;
    for (int i = 0; i < n; i++) {
        cl[i].sock = zmq_socket(ctx, ZMQ_DEALER);
        cl[i].idx = client_tag++;
        zmq_setsockopt(cl[i].sock, ZMQ_LINGER, &linger, sizeof linger);
        if (zmq_connect(cl[i].sock, opt.commands) != 0)
            die("connect %s: %s", opt.commands, zmq_strerror(errno));
        socks[i] = cl[i].sock;
        client_new_workflow(&cl[i]);
    }
    mpoll_t mp;
    mp_init(&mp, socks, n);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    int64_t timeout_ns = (int64_t)opt.timeout_ms * 1000000LL;

    double cpu0 = cpu_seconds();
    int64_t t0 = now_ns();
    int64_t warm_end = t0 + (int64_t)(ph->warm_s * 1e9);
    int64_t end = warm_end + (int64_t)(ph->meas_s * 1e9);
    int inflight = 0;
    for (int i = 0; i < n; i++) {
        client_send(&cl[i], &sb);
        inflight++;
    }
    bool stopping = false;
    double cpu_end = 0;
    int64_t last_timeout_check = t0;
    while (inflight > 0) {
        int64_t t = now_ns();
        if (!stopping && t >= end) {
            stopping = true;
            cpu_end = cpu_seconds();
        }
        if (t - last_timeout_check > 50000000LL) {
            last_timeout_check = t;
            for (int i = 0; i < n; i++)
                if (cl[i].inflight && t - cl[i].sent > timeout_ns)
                    die("%s: no reply within %d ms to %s (request id %s) - daemon stalled or "
                        "gone; %" PRIu64 " errors so far%s%s",
                        ph->name, opt.timeout_ms, OP_NAME(ops[cl[i].op].kind),
                        cl[i].req_id, ph->errors, ph->first_error[0] ? ", first: " : "",
                        ph->first_error);
        }
        long to = stopping ? 50 : (long)((end - t) / 1000000 + 1);
        if (to > 50)
            to = 50;
        int k = mp_wait(&mp, (int)to, ready);
        for (int j = 0; j < k; j++) {
          client_t *c = &cl[ready[j]];
          while (sock_readable(c->sock)) {
            zmq_msg_t body;
            zmq_msg_init(&body);
            if (recv_body(c->sock, &body) != 0) {
                zmq_msg_close(&body);
                if (errno == EAGAIN)
                    break;
                die("recv: %s", zmq_strerror(errno));
            }
            int64_t tr = now_ns();
            if (!c->inflight) {
                phase_error(ph, "unsolicited reply (%zu bytes) on client %d", zmq_msg_size(&body),
                            c->idx);
                zmq_msg_close(&body);
                continue;
            }
            c->inflight = false;
            inflight--;
            int kind = ops[c->op].kind;
            bool ok = handle_reply(ph, c, zmq_msg_data(&body), zmq_msg_size(&body));
            zmq_msg_close(&body);
            if (ok) {
                ph->total_ok++;
                if (tr >= warm_end && tr <= end) {
                    ph->count++;
                    lat_add(&ph->lat, tr - c->sent);
                    lat_add(&ph->lat_kind[kind], tr - c->sent);
                }
                if (kind == OP_FINISH) {
                    ph->workflows_finished++;
                    client_new_workflow(c);
                } else {
                    c->op++;
                }
            } else {
                /* abandon this workflow, start a fresh household */
                client_new_workflow(c);
            }
            if (!stopping && tr < end) {
                client_send(c, &sb);
                inflight++;
            }
          }
        }
    }
    if (!stopping)
        cpu_end = cpu_seconds();
    ph->cpu_pct = 100.0 * (cpu_end - cpu0) / (ph->warm_s + ph->meas_s);

    mp_close(&mp);
    for (int i = 0; i < n; i++)
        zmq_close(cl[i].sock);
    msgpack_sbuffer_destroy(&sb);
    free(cl);
    free(socks);
    free(ready);

    lat_sort(&ph->lat);
    ph->rate = (double)ph->count / ph->meas_s;
    ph->p50_us = lat_pct_us(&ph->lat, 50);
    ph->p99_us = lat_pct_us(&ph->lat, 99);
    ph->p999_us = lat_pct_us(&ph->lat, 99.9);
    ph->max_us = ph->lat.n ? (double)ph->lat.v[ph->lat.n - 1] / 1000.0 : 0.0;
    for (int k = 0; k < OP_KINDS; k++) {
        lat_sort(&ph->lat_kind[k]);
        ph->kind_p50_us[k] = lat_pct_us(&ph->lat_kind[k], 50);
    }
}

/* ping: returns 0 on a valid pong within timeout_ms */
static int ping_daemon(void *ctx, int timeout_ms, char *why, size_t whycap)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(s, opt.commands) != 0) {
        snprintf(why, whycap, "connect: %s", zmq_strerror(errno));
        zmq_close(s);
        return -1;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    char id[64];
    snprintf(id, sizeof id, "ping-%s", g_run_token);
    codec_pack_request_head(&pk, id, EXF_CMD_NAME(PING), NULL, false);
    int rc = -1;
    if (zmq_send(s, sb.data, sb.size, ZMQ_DONTWAIT) != (int)sb.size) {
        snprintf(why, whycap, "send: %s", zmq_strerror(errno));
        goto out;
    }
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, timeout_ms) <= 0) {
        snprintf(why, whycap, "no reply to ping within %d ms", timeout_ms);
        goto out;
    }
    zmq_msg_t body;
    zmq_msg_init(&body);
    if (recv_body(s, &body) != 0) {
        snprintf(why, whycap, "recv: %s", zmq_strerror(errno));
        zmq_msg_close(&body);
        goto out;
    }
    reply_t reply;
    exf_error_t err;
    bool pong = false;
    char bad[200];
    if (!reply_read(&reply, zmq_msg_data(&body), zmq_msg_size(&body), id, bad, sizeof bad))
        snprintf(why, whycap, "bad ping reply: %s", bad);
    else if (!reply.ok)
        snprintf(why, whycap, "ping refused: %s: %.160s", reply.code, reply.message);
    else if (!codec_read_bool(reply.result, "pong", true, &pong, NULL, EXF_BAD_REQUEST, &err) ||
             !pong || !str_field_is(reply.result, "version", "exitflow/1"))
        snprintf(why, whycap, "unexpected ping reply (not pong:true / exitflow/1)");
    else
        rc = 0;
    reply_fini(&reply);
    zmq_msg_close(&body);
out:
    msgpack_sbuffer_destroy(&sb);
    zmq_close(s);
    return rc;
}

/* ------------------------------------------------------------------ */
/* 4. flat cost: one workflow's Nth command costs what its 10th did     */
/*
 * One workflow, started with prior values so that Default Last applies,
 * takes dq.report after dq.report (pipelined, 64 in flight, sources
 * rotating over four names) until it has seen each size's number of
 * commands; at each size one client alone times workflow.get, dq.report
 * and step.save (Default Last) one at a time and reports their medians.
 * The store keeps a workflow's history and reply references outside the
 * record the rules load, so the three should not grow with the size.
 */

#define FLAT_WINDOW 64
#define FLAT_SOURCES 4

enum { FLAT_GET, FLAT_REPORT, FLAT_SAVE, FLAT_KINDS };
static const char *const flat_kind_name[FLAT_KINDS] = {"workflow.get", "dq.report",
                                                       "step.save"};

typedef struct {
    void *sock;
    char wf_id[64];
    char hh[64];
    uint64_t seq;     /* request counter */
    uint64_t done;    /* commands the workflow has seen */
} flat_t;

/* Packs request `kind` (FLAT_KINDS) on the flat workflow into sb under a
 * fresh id, copied into `id`. */
static void flat_build(flat_t *f, int kind, msgpack_sbuffer *sb, char *id, size_t idcap)
{
    msgpack_packer pk;
    msgpack_sbuffer_clear(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    f->seq++;
    snprintf(id, idcap, "flat-%s-%" PRIu64, g_run_token, f->seq);
    char cid[96];
    snprintf(cid, sizeof cid, "%s-h", f->hh);
    switch (kind) {
    case FLAT_GET:
        codec_pack_request_head(&pk, id, EXF_CMD_NAME(WORKFLOW_GET), NULL, true);
        msgpack_pack_map(&pk, 1);
        pk_kv_str(&pk, "workflow_id", f->wf_id);
        break;
    case FLAT_REPORT: {
        char source[32];
        snprintf(source, sizeof source, "flat-dq-%d", (int)(f->seq % FLAT_SOURCES));
        codec_pack_request_head(&pk, id, EXF_CMD_NAME(DQ_REPORT), NULL, true);
        msgpack_pack_map(&pk, 3);
        pk_kv_str(&pk, "workflow_id", f->wf_id);
        pk_kv_str(&pk, "source", source);
        codec_pack_cstr(&pk, "findings");
        msgpack_pack_array(&pk, 1);
        msgpack_pack_map(&pk, 4);
        pk_kv_str(&pk, "rule", "bench.flat");
        pk_kv_str(&pk, "severity", "warning");
        pk_kv_str(&pk, "client_id", cid);
        pk_kv_str(&pk, "message", "a finding the bench reports again and again");
        break;
    }
    case FLAT_SAVE:
        codec_pack_request_head(&pk, id, EXF_CMD_NAME(STEP_SAVE), "bench", true);
        msgpack_pack_map(&pk, 4);
        pk_kv_str(&pk, "workflow_id", f->wf_id);
        pk_kv_str(&pk, "client_id", cid);
        pk_kv_str(&pk, "step", "health_insurance");
        pk_kv_str(&pk, "mode", "default_last");
        break;
    }
}

/* Receives one reply on `sock` within the timeout into `r` and checks it
 * answers `id` with ok:true; dies otherwise (the figures would mean
 * nothing). r->result points into `body`: the caller reads it, then calls
 * reply_fini and zmq_msg_close. */
static void expect_ok(void *sock, const char *phase, const char *what, const char *id,
                      reply_t *r, zmq_msg_t *body)
{
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, opt.timeout_ms) <= 0)
        die("%s: no reply to %s within %d ms", phase, what, opt.timeout_ms);
    zmq_msg_init(body);
    if (recv_body(sock, body) != 0)
        die("%s: recv: %s", phase, zmq_strerror(errno));
    char why[256];
    if (!reply_read(r, zmq_msg_data(body), zmq_msg_size(body), id, why, sizeof why))
        die("%s: %s: %s", phase, what, why);
    if (!r->ok)
        die("%s: %s: %s: %s (field %s)", phase, what, r->code, r->message, r->field);
}

static void flat_expect_ok(flat_t *f, const char *what, const char *id)
{
    reply_t r;
    zmq_msg_t body;
    expect_ok(f->sock, "flat cost", what, id, &r, &body);
    exf_error_t err;
    exf_str_t w;
    if (f->wf_id[0] == 0 &&    /* the reply to workflow.start names it */
        codec_read_str(r.result, "workflow_id", true, 26, &w, NULL, EXF_BAD_REQUEST, &err))
        codec_str_copy(f->wf_id, sizeof f->wf_id, w);
    reply_fini(&r);
    zmq_msg_close(&body);
}

static void flat_send(flat_t *f, msgpack_sbuffer *sb)
{
    if (zmq_send(f->sock, sb->data, sb->size, 0) != (int)sb->size)
        die("flat cost: send: %s", zmq_strerror(errno));
}

/* Starts the flat workflow, one household of three with prior values, as
 * the workload does (ops[]), and saves the head's exit form, which comes
 * before any other step. */
static void flat_start(flat_t *f, msgpack_sbuffer *sb)
{
    client_t c = {.idx = client_tag++};
    client_new_workflow(&c);
    snprintf(f->hh, sizeof f->hh, "%s", c.hh);
    for (c.op = 0; c.op < 2; c.op++) {
        build_request(&c, sb);
        flat_send(f, sb);
        flat_expect_ok(f, OP_NAME(ops[c.op].kind), c.req_id);
        snprintf(c.wf_id, sizeof c.wf_id, "%s", f->wf_id);
    }
    f->done = 2;
}

/* dq.report until the workflow has seen `target` commands, FLAT_WINDOW in
 * flight; replies come back in the order sent (one connection, one batch
 * queue), which the ids check. */
static void flat_grow(flat_t *f, uint64_t target, msgpack_sbuffer *sb)
{
    static char ids[FLAT_WINDOW][64];
    uint64_t sent = f->done, head = 0, tail = 0;
    while (f->done < target) {
        while (sent < target && head - tail < FLAT_WINDOW) {
            flat_build(f, FLAT_REPORT, sb, ids[head % FLAT_WINDOW], sizeof ids[0]);
            flat_send(f, sb);
            head++;
            sent++;
        }
        flat_expect_ok(f, "dq.report", ids[tail % FLAT_WINDOW]);
        tail++;
        f->done++;
    }
}

/* Median latency in us of `n` commands of `kind`, one at a time, after
 * as many again unmeasured (the bulk before leaves caches and clocks in
 * another state). */
static double flat_time(flat_t *f, int kind, int n, msgpack_sbuffer *sb)
{
    lat_t lat = {0};
    char id[64];
    for (int i = -n; i < n; i++) {
        flat_build(f, kind, sb, id, sizeof id);
        int64_t t0 = now_ns();
        flat_send(f, sb);
        flat_expect_ok(f, flat_kind_name[kind], id);
        if (i >= 0)
            lat_add(&lat, now_ns() - t0);
        f->done++;
    }
    lat_sort(&lat);
    double p50 = lat_pct_us(&lat, 50);
    lat_free(&lat);
    return p50;
}

#define FLAT_MAX_SIZES 4

typedef struct {
    int n_sizes;
    uint64_t size[FLAT_MAX_SIZES];
    double us[FLAT_MAX_SIZES][FLAT_KINDS];
    double fill_s;    /* time to grow to the last size */
} flat_result_t;

static flat_result_t flat_cost(void *ctx, bool quick)
{
    static const uint64_t full[] = {10, 1000, 100000}, small[] = {10, 10000};
    flat_result_t res = {0};
    const uint64_t *sizes = quick ? small : full;
    res.n_sizes = quick ? 2 : 3;
    int samples = quick ? 100 : 300;
    flat_t f = {.sock = zmq_socket(ctx, ZMQ_DEALER)};
    int linger = 0;
    zmq_setsockopt(f.sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(f.sock, opt.commands) != 0)
        die("connect %s: %s", opt.commands, zmq_strerror(errno));
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    flat_start(&f, &sb);
    int64_t t0 = now_ns();
    for (int s = 0; s < res.n_sizes; s++) {
        res.size[s] = sizes[s];
        flat_grow(&f, sizes[s], &sb);
        for (int k = 0; k < FLAT_KINDS; k++)
            res.us[s][k] = flat_time(&f, k, samples, &sb);
    }
    res.fill_s = (double)(now_ns() - t0) / 1e9;
    msgpack_sbuffer_destroy(&sb);
    zmq_close(f.sock);
    return res;
}

static void flat_print(const flat_result_t *r)
{
    printf("flat cost, one workflow (median of one-at-a-time commands; %.1f s in all):\n",
           r->fill_s);
    printf("  %-24s", "prior commands");
    for (int s = 0; s < r->n_sizes; s++)
        printf(" %12" PRIu64, r->size[s]);
    printf("   last/first\n");
    for (int k = 0; k < FLAT_KINDS; k++) {
        printf("  %-24s", flat_kind_name[k]);
        for (int s = 0; s < r->n_sizes; s++)
            printf(" %9.0f us", r->us[s][k]);
        double first = r->us[0][k], last = r->us[r->n_sizes - 1][k];
        printf("   %8.2fx\n", first > 0 ? last / first : 0);
    }
}

static void flat_json(const flat_result_t *r)
{
    printf("\"flat\":{\"sizes\":[");
    for (int s = 0; s < r->n_sizes; s++)
        printf("%s%" PRIu64, s ? "," : "", r->size[s]);
    printf("]");
    for (int k = 0; k < FLAT_KINDS; k++) {
        printf(",\"%s_us\":[", flat_kind_name[k]);
        for (int s = 0; s < r->n_sizes; s++)
            printf("%s%.1f", s ? "," : "", r->us[s][k]);
        double first = r->us[0][k], last = r->us[r->n_sizes - 1][k];
        printf("],\"%s_ratio\":%.3f", flat_kind_name[k], first > 0 ? last / first : 0);
    }
    printf("}");
}

/* ------------------------------------------------------------------ */
/* 5. finding exits: a filtered list over many stored workflows        */
/*
 * N more workflows are started (pipelined, FIND_WINDOW in flight): three
 * members each, every client and household its own, N / 10 caseworkers
 * starting 10 each. Then one client alone sends, in turn, ping,
 * workflow.list {client_id} and workflow.list {actor} for random keys, one
 * at a time. A ping is a round trip through the daemon that reads
 * nothing: a list's p50 over ping's is the daemon's time to find and pack
 * it, which the store's indexes keep independent of N.
 */

#define FIND_WINDOW 64
#define FIND_PER_ACTOR 10

enum { FIND_PING, FIND_CLIENT, FIND_ACTOR, FIND_KINDS };
static const char *const find_kind_name[FIND_KINDS] = {"ping", "workflow.list {client_id}",
                                                       "workflow.list {actor}"};
static const char *const find_kind_key[FIND_KINDS] = {"ping", "client", "actor"};

typedef struct {
    long n;
    double fill_s;
    int samples;
    double p50_us[FIND_KINDS], p99_us[FIND_KINDS];
    int items[FIND_KINDS];      /* items the last list of each kind held */
} find_result_t;

static void find_client_id(long i, char *out, size_t cap)
{
    snprintf(out, cap, "find-%s-%ld-h", g_run_token, i);
}

static void find_actor(long i, long actors, char *out, size_t cap)
{
    snprintf(out, cap, "find-cw-%ld", i % actors);
}

/* workflow.start of household i, as caseworker i % actors. */
static void find_build_start(long i, long actors, msgpack_sbuffer *sb, char *id, size_t idcap)
{
    msgpack_packer pk;
    msgpack_sbuffer_clear(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    char actor[64], hh[96], eid[112];
    find_actor(i, actors, actor, sizeof actor);
    snprintf(id, idcap, "find-start-%s-%ld", g_run_token, i);
    snprintf(hh, sizeof hh, "find-%s-%ld", g_run_token, i);
    codec_pack_request_head(&pk, id, EXF_CMD_NAME(WORKFLOW_START), actor, true);
    msgpack_pack_map(&pk, 4);
    snprintf(eid, sizeof eid, "%s-eh", hh);
    pk_kv_str(&pk, "enrollment_id", eid);
    pk_kv_str(&pk, "household_id", hh);
    pk_kv_str(&pk, "project_id", "bench-find");
    pack_members(&pk, hh, false);
}

/* Starts the n workflows, FIND_WINDOW in flight; replies come back in the
 * order sent, which the ids check. */
static void find_fill(void *sock, long n, long actors, msgpack_sbuffer *sb)
{
    static char ids[FIND_WINDOW][96];
    long head = 0, tail = 0;
    while (tail < n) {
        while (head < n && head - tail < FIND_WINDOW) {
            find_build_start(head, actors, sb, ids[head % FIND_WINDOW], sizeof ids[0]);
            if (zmq_send(sock, sb->data, sb->size, 0) != (int)sb->size)
                die("finding exits: send: %s", zmq_strerror(errno));
            head++;
        }
        reply_t r;
        zmq_msg_t body;
        expect_ok(sock, "finding exits", "workflow.start", ids[tail % FIND_WINDOW], &r, &body);
        reply_fini(&r);
        zmq_msg_close(&body);
        tail++;
    }
}

/* One request of `kind` for key number `i`, timed; the items it held. */
static int find_one(void *sock, int kind, long i, long actors, msgpack_sbuffer *sb,
                    int64_t *took)
{
    static uint64_t seq;
    msgpack_packer pk;
    msgpack_sbuffer_clear(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    char id[96], key[128];
    snprintf(id, sizeof id, "find-%s-%" PRIu64, g_run_token, ++seq);
    if (kind == FIND_PING) {
        codec_pack_request_head(&pk, id, EXF_CMD_NAME(PING), NULL, false);
    } else {
        codec_pack_request_head(&pk, id, EXF_CMD_NAME(WORKFLOW_LIST), NULL, true);
        msgpack_pack_map(&pk, 1);
        if (kind == FIND_CLIENT) {
            find_client_id(i, key, sizeof key);
            pk_kv_str(&pk, "client_id", key);
        } else {
            find_actor(i, actors, key, sizeof key);
            pk_kv_str(&pk, "actor", key);
        }
    }
    int64_t t0 = now_ns();
    if (zmq_send(sock, sb->data, sb->size, 0) != (int)sb->size)
        die("finding exits: send: %s", zmq_strerror(errno));
    reply_t r;
    zmq_msg_t body;
    expect_ok(sock, "finding exits", find_kind_name[kind], id, &r, &body);
    *took = now_ns() - t0;
    int items = 0;
    if (kind != FIND_PING) {
        const msgpack_object *wfs = codec_map_get(r.result, "workflows");
        if (!wfs || wfs->type != MSGPACK_OBJECT_ARRAY)
            die("finding exits: %s: no workflows array", find_kind_name[kind]);
        items = (int)wfs->via.array.size;
        int want = kind == FIND_CLIENT ? 1 : FIND_PER_ACTOR;
        if (items != want)
            die("finding exits: %s for %s found %d workflows, not %d", find_kind_name[kind],
                key, items, want);
    }
    reply_fini(&r);
    zmq_msg_close(&body);
    return items;
}

static find_result_t find_cost(void *ctx, bool quick)
{
    find_result_t res = {.n = opt.find_workflows ? opt.find_workflows : quick ? 2000 : 100000,
                         .samples = quick ? 200 : 2000};
    long actors = res.n / FIND_PER_ACTOR;
    res.n = actors * FIND_PER_ACTOR;
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(sock, opt.commands) != 0)
        die("connect %s: %s", opt.commands, zmq_strerror(errno));
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    int64_t t0 = now_ns();
    find_fill(sock, res.n, actors, &sb);
    res.fill_s = (double)(now_ns() - t0) / 1e9;

    lat_t lat[FIND_KINDS] = {{0}};
    uint64_t rnd = (uint64_t)t0 | 1;
    int64_t took;
    for (int s = -res.samples / 4; s < res.samples; s++) {   /* a quarter unmeasured */
        for (int k = 0; k < FIND_KINDS; k++) {
            rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
            long i = (long)((rnd >> 33) % (uint64_t)res.n);
            res.items[k] = find_one(sock, k, i, actors, &sb, &took);
            if (s >= 0)
                lat_add(&lat[k], took);
        }
    }
    for (int k = 0; k < FIND_KINDS; k++) {
        lat_sort(&lat[k]);
        res.p50_us[k] = lat_pct_us(&lat[k], 50);
        res.p99_us[k] = lat_pct_us(&lat[k], 99);
        lat_free(&lat[k]);
    }
    msgpack_sbuffer_destroy(&sb);
    zmq_close(sock);
    return res;
}

/* The daemon's time for a filtered list, by p50 over ping's: the target
 * is well under a millisecond. */
#define FIND_TARGET_US 1000.0

static bool find_met(const find_result_t *r)
{
    for (int k = 1; k < FIND_KINDS; k++)
        if (r->p50_us[k] - r->p50_us[FIND_PING] >= FIND_TARGET_US)
            return false;
    return true;
}

static void find_print(const find_result_t *r)
{
    printf("finding exits over %ld more stored workflows (one at a time, %d each; "
           "filled in %.1f s):\n",
           r->n, r->samples, r->fill_s);
    for (int k = 0; k < FIND_KINDS; k++) {
        printf("  %-28s p50 %6.0f us  p99 %6.0f us", find_kind_name[k], r->p50_us[k],
               r->p99_us[k]);
        if (k != FIND_PING) {
            double over = r->p50_us[k] - r->p50_us[FIND_PING];
            printf("   %+6.0f us over ping (%.2fx), %d item%s", over,
                   r->p50_us[FIND_PING] > 0 ? r->p50_us[k] / r->p50_us[FIND_PING] : 0,
                   r->items[k], r->items[k] == 1 ? "" : "s");
        }
        printf("\n");
    }
    printf("  target: a filtered list < %.0f us of daemon time (p50 over ping): %s\n",
           FIND_TARGET_US, find_met(r) ? "MET" : "NOT MET");
}

static void find_json(const find_result_t *r)
{
    printf("\"find\":{\"workflows\":%ld,\"samples\":%d,\"fill_s\":%.2f", r->n, r->samples,
           r->fill_s);
    for (int k = 0; k < FIND_KINDS; k++) {
        printf(",\"%s_p50_us\":%.1f,\"%s_p99_us\":%.1f", find_kind_key[k], r->p50_us[k],
               find_kind_key[k], r->p99_us[k]);
        if (k != FIND_PING)
            printf(",\"%s_over_ping_us\":%.1f,\"%s_ratio\":%.3f", find_kind_key[k],
                   r->p50_us[k] - r->p50_us[FIND_PING], find_kind_key[k],
                   r->p50_us[FIND_PING] > 0 ? r->p50_us[k] / r->p50_us[FIND_PING] : 0);
    }
    printf(",\"target_met\":%s}", find_met(r) ? "true" : "false");
}

/* ------------------------------------------------------------------ */
/* report                                                              */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void print_phase_detail(const phase_t *ph)
{
    printf("  %-26s %" PRIu64 " ok replies, %" PRIu64 " in window, %" PRIu64
           " workflows finished, %" PRIu64 " errors; p99.9 %.0f us, max %.0f us; "
           "bench CPU %.0f%% of a core\n",
           ph->name, ph->total_ok, ph->count, ph->workflows_finished, ph->errors, ph->p999_us,
           ph->max_us, ph->cpu_pct);
    printf("  %-26s p50 by command:", "");
    for (int k = 0; k < OP_KINDS; k++)
        printf(" %s %.0f us%s", OP_NAME(k), ph->kind_p50_us[k], k + 1 < OP_KINDS ? "," : "");
    printf("\n");
    if (ph->errors)
        printf("  %-26s FIRST ERROR: %s\n", "", ph->first_error);
}

/* machine-wide CPU busy share (0..100 % of all CPUs) over ms milliseconds,
 * from /proc/stat; -1 if unavailable. Taken before the run: anything else
 * busy on this 2-core machine skews every figure. */
static int read_cpu(unsigned long long *busy, unsigned long long *total)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                   &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 4)
        return -1;
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += v[i];
    *busy = *total - v[3] - v[4]; /* minus idle and iowait */
    return 0;
}

static double machine_busy_pct(int ms)
{
    unsigned long long b0, t0, b1, t1;
    if (read_cpu(&b0, &t0) != 0)
        return -1.0;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    if (read_cpu(&b1, &t1) != 0 || t1 <= t0)
        return -1.0;
    return 100.0 * (double)(b1 - b0) / (double)(t1 - t0);
}

/* left column of the report, padded to a fixed width */
static const char *label(const char *fmt, ...)
{
    static char buf[4][64];
    static int k;
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%-31s", tmp);
    return buf[k];
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDVAL                                                                                \
    do {                                                                                       \
        if (!val) {                                                                            \
            fprintf(stderr, "exitflow-bench: %s needs a value\n", a);                          \
            usage(stderr);                                                                     \
            return 2;                                                                          \
        }                                                                                      \
        i++;                                                                                   \
    } while (0)
        if (!strcmp(a, "--commands")) {
            NEEDVAL;
            opt.commands = val;
        } else if (!strcmp(a, "--clients")) {
            NEEDVAL;
            opt.clients = atoi(val);
        } else if (!strcmp(a, "--seconds")) {
            NEEDVAL;
            opt.seconds = atof(val);
            opt.seconds_set = true;
        } else if (!strcmp(a, "--raw-dir")) {
            NEEDVAL;
            opt.raw_dir = val;
        } else if (!strcmp(a, "--timeout-ms")) {
            NEEDVAL;
            opt.timeout_ms = atoi(val);
        } else if (!strcmp(a, "--quick")) {
            opt.quick = true;
        } else if (!strcmp(a, "--ping")) {
            opt.ping_only = true;
        } else if (!strcmp(a, "--raw-only")) {
            opt.raw_only = true;
        } else if (!strcmp(a, "--flat-only")) {
            opt.flat_only = true;
        } else if (!strcmp(a, "--find-only")) {
            opt.find_only = true;
        } else if (!strcmp(a, "--find-workflows")) {
            NEEDVAL;
            opt.find_workflows = atol(val);
            if (opt.find_workflows < FIND_PER_ACTOR || opt.find_workflows > 10000000) {
                fprintf(stderr, "exitflow-bench: --find-workflows must be 10..10000000\n");
                return 2;
            }
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "exitflow-bench: unknown argument %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!opt.commands && !opt.raw_only) {
        usage(stderr);
        return 2;
    }
    if (opt.clients < 1 || opt.clients > 1024) {
        fprintf(stderr, "exitflow-bench: --clients must be 1..1024\n");
        return 2;
    }
    if (opt.quick && !opt.seconds_set)
        opt.seconds = 1.0;
    if (!(opt.seconds > 0.0) || opt.seconds > 3600) {
        fprintf(stderr, "exitflow-bench: --seconds must be > 0\n");
        return 2;
    }
    if (opt.timeout_ms < 1) {
        fprintf(stderr, "exitflow-bench: --timeout-ms must be >= 1\n");
        return 2;
    }

    time_t wall = time(NULL);
    struct tm tm;
    localtime_r(&wall, &tm);
    strftime(g_today, sizeof g_today, "%Y-%m-%d", &tm);
    snprintf(g_run_token, sizeof g_run_token, "%d-%lx", (int)getpid(), (unsigned long)wall);

    void *ctx = zmq_ctx_new();
    char why[256];

    if (opt.ping_only) {
        int rc = ping_daemon(ctx, opt.timeout_ms, why, sizeof why);
        if (rc == 0)
            printf("pong from %s\n", opt.commands);
        else
            fprintf(stderr, "exitflow-bench: %s: %s\n", opt.commands, why);
        zmq_ctx_term(ctx);
        return rc == 0 ? 0 : 1;
    }

    double zmq_s = opt.quick ? 1.0 : 3.0, zmq1_s = opt.quick ? 0.5 : 2.0;
    double lmdb_s = opt.quick ? 1.0 : 3.0;
    double warm = opt.quick ? 0.5 : 1.0;
    double single_warm = opt.quick ? 0.25 : 0.5, single_s = opt.quick ? 1.0 : 3.0;

    if (opt.raw_only) {
        raw_zmq_t rz = raw_zmq(opt.clients, zmq_s, zmq1_s);
        raw_lmdb_t rl = raw_lmdb(opt.raw_dir, lmdb_s);
        zmq_ctx_term(ctx);
        printf("%s%9.0f rt/s      p50 %.0f us\n", label("raw zmq echo (%d clients):", opt.clients),
               rz.rate, rz.p50_n_us);
        printf("%s%9.0f rt/s      p50 %.0f us\n", label("raw zmq echo (1 client):"), rz.rate_1,
               rz.p50_1_us);
        printf("%s%9.0f commits/s p50 %.0f us  p99 %.0f us\n", label("raw lmdb sync commit:"),
               rl.rate, rl.p50_us, rl.p99_us);
        printf("BENCH {\"clients\":%d,\"raw_only\":true,\"raw_zmq_rt_per_s\":%.0f,"
               "\"raw_zmq_p50_us\":%.1f,\"raw_zmq_1_rt_per_s\":%.0f,\"raw_zmq_1_p50_us\":%.1f,"
               "\"raw_lmdb_commits_per_s\":%.0f,\"raw_lmdb_p50_us\":%.1f,"
               "\"raw_lmdb_p99_us\":%.1f}\n",
               opt.clients, rz.rate, rz.p50_n_us, rz.rate_1, rz.p50_1_us, rl.rate, rl.p50_us,
               rl.p99_us);
        return 0;
    }

    /* fail fast when the daemon is not there */
    if (ping_daemon(ctx, opt.timeout_ms < 5000 ? opt.timeout_ms : 5000, why, sizeof why) != 0)
        die("daemon unreachable at %s: %s", opt.commands, why);

    if (opt.flat_only) {
        flat_result_t fr = flat_cost(ctx, opt.quick);
        zmq_ctx_term(ctx);
        flat_print(&fr);
        printf("BENCH {");
        flat_json(&fr);
        printf("}\n");
        return 0;
    }
    if (opt.find_only) {
        find_result_t fi = find_cost(ctx, opt.quick);
        zmq_ctx_term(ctx);
        find_print(&fi);
        printf("BENCH {");
        find_json(&fi);
        printf("}\n");
        return 0;
    }

    double busy = machine_busy_pct(opt.quick ? 250 : 1000);
    printf("exitflow-bench: %d clients, %.1f s measurement%s, daemon %s, today %s\n",
           opt.clients, opt.seconds, opt.quick ? " (quick)" : "", opt.commands, g_today);
    printf("machine: %ld CPUs, %.0f%% busy before the run%s\n", sysconf(_SC_NPROCESSORS_ONLN),
           busy, busy > 10.0 ? " - WARNING: other processes are running, figures will be skewed"
                             : "");
    fflush(stdout);

    /* 1a. raw zmq */
    raw_zmq_t rz = raw_zmq(opt.clients, zmq_s, zmq1_s);
    /* 1b. raw lmdb */
    raw_lmdb_t rl = raw_lmdb(opt.raw_dir, lmdb_s);

    /* 2. daemon, N clients */
    phase_t pn = {0};
    pn.name = "exitflowd N clients";
    pn.nclients = opt.clients;
    pn.warm_s = warm;
    pn.meas_s = opt.seconds;
    run_phase(ctx, &pn);

    /* 3. daemon, 1 client */
    phase_t p1 = {0};
    p1.name = "exitflowd 1 client";
    p1.nclients = 1;
    p1.warm_s = single_warm;
    p1.meas_s = single_s;
    run_phase(ctx, &p1);

    /* 4. one workflow's cost as its commands pile up */
    flat_result_t fr = flat_cost(ctx, opt.quick);
    /* 5. a filtered list over many stored workflows */
    find_result_t fi = find_cost(ctx, opt.quick);

    zmq_ctx_term(ctx);

    double ratio_zmq = rz.rate > 0 ? pn.rate / rz.rate : 0;
    double ratio_lmdb = rl.rate > 0 ? pn.rate / rl.rate : 0;
    double ref_us = rz.p50_1_us + rl.p50_us;
    double ratio_1 = ref_us > 0 ? p1.p50_us / ref_us : 0;
    uint64_t errors = pn.errors + p1.errors;
    bool tput_met = !errors && pn.rate >= 30000.0;
    bool lat_met = !errors && p1.p50_us > 0 && ratio_1 <= 1.5;

    printf("\n");
    printf("%s%9.0f rt/s      p50 %.0f us\n", label("raw zmq echo (%d clients):", opt.clients),
           rz.rate, rz.p50_n_us);
    printf("%s%9.0f rt/s      p50 %.0f us\n", label("raw zmq echo (1 client):"), rz.rate_1,
           rz.p50_1_us);
    printf("%s%9.0f commits/s p50 %.0f us  p99 %.0f us\n", label("raw lmdb sync commit:"),
           rl.rate, rl.p50_us, rl.p99_us);
    printf("%s%9.0f cmds/s    p50 %.0f us  p99 %.0f us"
           "   = %.2fx raw zmq, %.1fx raw lmdb commits\n",
           label("exitflowd (%d clients):", opt.clients), pn.rate, pn.p50_us, pn.p99_us,
           ratio_zmq, ratio_lmdb);
    print_phase_detail(&pn);
    printf("%s%9.0f cmds/s    p50 %.0f us  p99 %.0f us\n", label("exitflowd (1 client):"),
           p1.rate, p1.p50_us, p1.p99_us);
    print_phase_detail(&p1);
    const char *invalid = "NOT EVALUATED (error replies)";
    printf("%s%9.0f us vs raw rt+commit %.0f us = %.2fx "
           "(target <= 1.5x): %s\n",
           label("exitflowd (1 client) p50:"), p1.p50_us, ref_us, ratio_1, errors ? invalid : lat_met ? "MET" : "NOT MET");
    printf("target >= 30000 cmds/s with 32 clients: %s%s\n",
           errors ? invalid : tput_met ? "MET" : "NOT MET",
           opt.clients == 32 ? "" : " (note: this run used a different client count)");
    flat_print(&fr);
    find_print(&fi);
    if (busy > 10.0)
        printf("WARNING: the machine was %.0f%% busy before the run (other processes); "
               "figures are skewed\n",
               busy);
    if (errors)
        printf("ERRORS: %" PRIu64 " error replies - the figures above include failures and "
               "are NOT valid\n",
               errors);

    printf("BENCH {\"clients\":%d,\"seconds\":%.3f,\"quick\":%s,"
           "\"raw_zmq_rt_per_s\":%.0f,\"raw_zmq_p50_us\":%.1f,"
           "\"raw_zmq_1_rt_per_s\":%.0f,\"raw_zmq_1_p50_us\":%.1f,"
           "\"raw_lmdb_commits_per_s\":%.0f,\"raw_lmdb_p50_us\":%.1f,\"raw_lmdb_p99_us\":%.1f,"
           "\"cmds_per_s\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
           "\"max_us\":%.1f,\"workflows_finished\":%" PRIu64 ","
           "\"ratio_vs_raw_zmq\":%.4f,\"ratio_vs_raw_lmdb\":%.3f,"
           "\"single_cmds_per_s\":%.0f,\"single_p50_us\":%.1f,\"single_p99_us\":%.1f,"
           "\"single_ref_us\":%.1f,\"single_ratio\":%.3f,"
           "\"bench_cpu_pct\":%.1f,\"machine_busy_pct_before\":%.1f,"
           "\"target_cmds_met\":%s,\"target_latency_met\":%s,\"errors\":%" PRIu64 ",",
           opt.clients, opt.seconds, opt.quick ? "true" : "false", rz.rate, rz.p50_n_us,
           rz.rate_1, rz.p50_1_us, rl.rate, rl.p50_us, rl.p99_us, pn.rate, pn.p50_us, pn.p99_us,
           pn.p999_us, pn.max_us, pn.workflows_finished, ratio_zmq, ratio_lmdb, p1.rate,
           p1.p50_us, p1.p99_us, ref_us, ratio_1, pn.cpu_pct, busy,
           tput_met ? "true" : "false",
           lat_met ? "true" : "false", errors);
    flat_json(&fr);
    printf(",");
    find_json(&fi);
    printf(",\"first_error\":");
    if (errors)
        json_str(stdout, pn.errors ? pn.first_error : p1.first_error);
    else
        fputs("null", stdout);
    printf("}\n");

    lat_free(&pn.lat);
    lat_free(&p1.lat);
    for (int k = 0; k < OP_KINDS; k++) {
        lat_free(&pn.lat_kind[k]);
        lat_free(&p1.lat_kind[k]);
    }
    if (errors)
        return 1;
    if (pn.count == 0 || p1.count == 0) {
        fprintf(stderr, "exitflow-bench: no command completed inside a measurement window\n");
        return 1;
    }
    return 0;
}
