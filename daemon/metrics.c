/* metrics — the figures of /metrics and the verdict of /health. See
 * metrics.h. */
#include "metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#ifndef EXF_BUILD_VERSION
#define EXF_BUILD_VERSION "unknown"     /* daemon.mk passes `git describe` */
#endif

/* Steps each tally walk may take per tick: a few milliseconds at most, so
 * that a store of millions of replies does not hold up the loop. */
#define TALLY_BUDGET 50000

/* Bucket bounds. Latencies in µs, from a cached read (~100 µs) to a
 * commit on a struggling disk; batches in requests, up to the loop's
 * BATCH_MAX (512). */
static const uint64_t latency_bounds[] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
    500000, 1000000, 2500000, 5000000, 10000000 };
static const uint64_t batch_bounds[] = {
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512 };
#define N_OF(a) ((int) (sizeof (a) / sizeof *(a)))
_Static_assert (N_OF (latency_bounds) <= METRICS_BUCKETS_MAX, "buckets");
_Static_assert (N_OF (batch_bounds) <= METRICS_BUCKETS_MAX, "buckets");

struct metrics_t {
    pthread_mutex_t lock;           /* guards `shared` */
    metrics_snapshot_t live;        /* the loop's: no lock */
    metrics_snapshot_t shared;      /* the last published */
    store_tally_t tallies[STORE_TALLY_COUNT];
};

/* The outcome rows: ok, the error codes, unknown. */
static int
outcome_count (void)
{
    return (int) exf_error_code_count + 2;
}

const char *
metrics_outcome_name (int i)
{
    if (i == METRICS_OUTCOME_OK)
        return "ok";
    if (i >= 1 && i <= (int) exf_error_code_count)
        return exf_error_codes[i - 1].code;
    return "unknown";
}

metrics_t *
metrics_new (int64_t started_ms, int64_t now_mono_ms)
{
    if (outcome_count () > METRICS_OUTCOMES_MAX) {
        log_line ("error", "metrics: %d outcomes, room for %d",
                  outcome_count (), METRICS_OUTCOMES_MAX);
        abort ();                   /* a build error, caught by every test */
    }
    metrics_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init (&self->lock, NULL);
    self->live.started_ms = started_ms;
    self->live.loop.progress_ms = now_mono_ms;
    self->shared = self->live;
    return self;
}

void
metrics_destroy (metrics_t **self_p)
{
    metrics_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

/* ---- recording (the loop) ---- */

static void
observe (metrics_histogram_t *h, const uint64_t *bounds, int n, int64_t v)
{
    uint64_t value = v > 0 ? (uint64_t) v : 0;
    int i = 0;
    while (i < n && value > bounds[i])
        i++;
    h->buckets[i]++;                /* i == n: +Inf */
    h->count++;
    h->sum += value;
}

/* ---- reading a reply's outcome ----
 * Replies are packed by codec.c as {v, id, ok, error|result}: the outcome
 * is in the first fields, so a reader of msgpack scalars finds it without
 * unpacking a result that may be megabytes long. */

typedef struct {
    const uint8_t *p, *end;
} reader_t;

static bool
take (reader_t *r, uint64_t n, const uint8_t **out)
{
    if ((uint64_t) (r->end - r->p) < n)
        return false;
    *out = r->p;
    r->p += n;
    return true;
}

static bool
read_be (reader_t *r, int bytes, uint64_t *v)
{
    const uint8_t *p;
    if (!take (r, (uint64_t) bytes, &p))
        return false;
    *v = 0;
    for (int i = 0; i < bytes; i++)
        *v = (*v << 8) | p[i];
    return true;
}

/* The length that follows a str or bin header byte `b` (0 when not one). */
static int
length_bytes (uint8_t b)
{
    switch (b) {
    case 0xd9: case 0xc4: return 1;
    case 0xda: case 0xc5: return 2;
    case 0xdb: case 0xc6: return 4;
    default: return 0;
    }
}

static bool
read_str (reader_t *r, const uint8_t **s, uint64_t *len)
{
    const uint8_t *b;
    if (!take (r, 1, &b))
        return false;
    if (*b >= 0xa0 && *b <= 0xbf)
        *len = *b & 0x1f;
    else if (*b < 0xd9 || *b > 0xdb || !read_be (r, length_bytes (*b), len))
        return false;
    return take (r, *len, s);
}

static bool
read_map (reader_t *r, uint64_t *n)
{
    const uint8_t *b;
    if (!take (r, 1, &b))
        return false;
    if (*b >= 0x80 && *b <= 0x8f) {
        *n = *b & 0x0f;
        return true;
    }
    return (*b == 0xde && read_be (r, 2, n)) || (*b == 0xdf && read_be (r, 4, n));
}

/* Skips a scalar; false for a container (or bytes that are not msgpack). */
static bool
skip_scalar (reader_t *r)
{
    static const struct { uint8_t b; int size; } fixed[] = {
        { 0xc0, 0 }, { 0xc2, 0 }, { 0xc3, 0 }, { 0xca, 4 }, { 0xcb, 8 },
        { 0xcc, 1 }, { 0xcd, 2 }, { 0xce, 4 }, { 0xcf, 8 }, { 0xd0, 1 },
        { 0xd1, 2 }, { 0xd2, 4 }, { 0xd3, 8 } };
    const uint8_t *b, *skipped;
    uint64_t len;
    if (r->p >= r->end)
        return false;
    if (*r->p <= 0x7f || *r->p >= 0xe0) {
        r->p++;
        return true;
    }
    if ((*r->p >= 0xa0 && *r->p <= 0xbf) || (*r->p >= 0xd9 && *r->p <= 0xdb))
        return read_str (r, &skipped, &len);
    take (r, 1, &b);
    if (*b >= 0xc4 && *b <= 0xc6)
        return read_be (r, length_bytes (*b), &len) && take (r, len, &skipped);
    for (int i = 0; i < N_OF (fixed); i++)
        if (fixed[i].b == *b)
            return take (r, (uint64_t) fixed[i].size, &skipped);
    return false;
}

static bool
key_is (const uint8_t *s, uint64_t len, const char *name)
{
    return len == strlen (name) && memcmp (s, name, len) == 0;
}

/* The row of the code in an error map. */
static int
error_outcome (reader_t *r)
{
    uint64_t n, len;
    const uint8_t *key, *code;
    if (!read_map (r, &n))
        return outcome_count () - 1;
    for (uint64_t i = 0; i < n; i++) {
        if (!read_str (r, &key, &len))
            break;
        if (key_is (key, len, "code")) {
            uint64_t code_len;
            if (!read_str (r, &code, &code_len))
                break;
            for (size_t c = 0; c < exf_error_code_count; c++)
                if (key_is (code, code_len, exf_error_codes[c].code))
                    return (int) c + 1;
            break;
        }
        if (!skip_scalar (r))
            break;
    }
    return outcome_count () - 1;
}

int
metrics_reply_outcome (const void *reply, size_t len)
{
    reader_t r = { reply, (const uint8_t *) reply + len };
    uint64_t n, key_len;
    const uint8_t *key, *b;
    if (!read_map (&r, &n))
        return outcome_count () - 1;
    for (uint64_t i = 0; i < n; i++) {
        if (!read_str (&r, &key, &key_len))
            break;
        if (key_is (key, key_len, "ok")) {
            if (!take (&r, 1, &b) || (*b != 0xc2 && *b != 0xc3))
                break;
            if (*b == 0xc3)
                return METRICS_OUTCOME_OK;
        } else if (key_is (key, key_len, "error"))
            return error_outcome (&r);
        else if (!skip_scalar (&r))
            break;
    }
    return outcome_count () - 1;
}

void
metrics_command (metrics_t *self, exf_str_t name, const void *reply,
                 size_t len, int64_t latency_us)
{
    if (!self)
        return;
    int cmd = exf_command_by_name (name.ptr, name.len);
    if (cmd < 0)
        cmd = EXF_CMD_COUNT;        /* "unknown" */
    self->live.loop.commands[cmd][metrics_reply_outcome (reply, len)]++;
    observe (&self->live.loop.latency[cmd], latency_bounds,
             N_OF (latency_bounds), latency_us);
}

void
metrics_commit (metrics_t *self, int64_t us)
{
    if (!self)
        return;
    observe (&self->live.loop.commit, latency_bounds, N_OF (latency_bounds),
             us);
}

static void publish (metrics_t *self, bool with_store);

store_status_t
metrics_writes (metrics_t *self, bool wrote, store_status_t status)
{
    if (!self || !wrote)
        return status;
    store_status_t was = self->live.loop.writes_failing;
    if (status == STORE_OK)
        self->live.loop.writes_failing = STORE_OK;
    else if (status == STORE_FULL || status == STORE_READ_ONLY)
        self->live.loop.writes_failing = status;
    /* /health must say it no later than the replies that show it: they go
     * out after this, the batch's snapshot only after them */
    if (self->live.loop.writes_failing != was)
        publish (self, false);
    return status;
}

static void
publish (metrics_t *self, bool with_store)
{
    pthread_mutex_lock (&self->lock);
    self->shared.loop = self->live.loop;
    if (with_store)
        self->shared.store = self->live.store;
    pthread_mutex_unlock (&self->lock);
}

void
metrics_batch_done (metrics_t *self, int n, uint64_t last_seq,
                    int64_t now_mono_ms)
{
    if (!self)
        return;
    observe (&self->live.loop.batch, batch_bounds, N_OF (batch_bounds), n);
    self->live.loop.last_seq = last_seq;
    self->live.loop.progress_ms = now_mono_ms;
    publish (self, false);
}

static bool
note_consumer (void *arg, const char *name, const store_consumer_t *c)
{
    metrics_store_t *s = arg;
    if (s->n_consumers == METRICS_CONSUMERS_MAX) {
        s->consumers_cut = true;
        return false;
    }
    struct metrics_consumer *m = &s->consumers[s->n_consumers++];
    snprintf (m->name, sizeof m->name, "%s", name);
    m->lag = c->seq;                /* made a lag once the last seq is known */
    return true;
}

/* Everything read in one read transaction, so the figures agree. */
static store_status_t
read_store (metrics_t *self, store_txn_t *txn, metrics_store_t *s)
{
    store_status_t rc;
    if ((rc = store_workflow_counts (txn, s->workflows))
        || (rc = store_oldest_open (txn, &s->oldest_open_at))
        || (rc = store_space (txn, &s->map_size, &s->map_used)))
        return rc;
    s->n_consumers = 0;
    s->consumers_cut = false;
    if ((rc = store_consumers_scan (txn, note_consumer, s)))
        return rc;
    uint64_t last = store_last_seq (txn);
    /* the maintenance commits events too (workflow.stalled) */
    if (last > self->live.loop.last_seq)
        self->live.loop.last_seq = last;
    for (size_t i = 0; i < s->n_consumers; i++)
        s->consumers[i].lag = last > s->consumers[i].lag
                                  ? last - s->consumers[i].lag : 0;
    uint64_t *totals[STORE_TALLY_COUNT] = {
        [STORE_TALLY_STALLED] = &s->stalled,
        [STORE_TALLY_REPLIES] = &s->replies };
    for (int k = 0; k < STORE_TALLY_COUNT; k++) {
        bool done;
        if ((rc = store_tally (txn, k, &self->tallies[k], TALLY_BUDGET,
                               totals[k], &done)))
            return rc;
    }
    s->read = true;
    return STORE_OK;
}

void
metrics_tick (metrics_t *self, store_t *store, int64_t now_mono_ms)
{
    if (!self)
        return;
    store_txn_t *txn;
    store_status_t rc = store_begin (store, false, &txn);
    if (!rc) {
        /* a figure that cannot be read keeps its last value */
        metrics_store_t s = self->live.store;
        rc = read_store (self, txn, &s);
        store_abort (&txn);
        store_map_t map;
        store_map (store, &map);
        s.max_map_size = map.max_map_size;
        if (!rc)
            self->live.store = s;
    }
    if (rc)
        log_limited (LOG_STORAGE, now_mono_ms, "error",
                     "metrics: the store's figures: %s (%s)",
                     store_strerror (rc), store_fault_detail (store));
    self->live.loop.progress_ms = now_mono_ms;
    publish (self, true);
}

/* ---- reading (the HTTP thread) ---- */

void
metrics_snapshot (metrics_t *self, metrics_snapshot_t *out)
{
    pthread_mutex_lock (&self->lock);
    *out = self->shared;
    pthread_mutex_unlock (&self->lock);
}

bool
metrics_healthy (const metrics_snapshot_t *snap, int64_t now_mono_ms,
                 const char **reason)
{
    if (now_mono_ms - snap->loop.progress_ms > METRICS_STUCK_AFTER_MS)
        *reason = "the request loop has finished no batch in the last 10 s";
    else if (snap->loop.writes_failing == STORE_FULL)
        *reason = "storage is full: writes are refused, reads are served "
                  "(free disk space, or restart with a larger --map-size)";
    else if (snap->loop.writes_failing == STORE_READ_ONLY)
        *reason = "storage is read-only: writes are refused, reads are "
                  "served";
    else {
        *reason = NULL;
        return true;
    }
    return false;
}

/* ---- the Prometheus text format, 0.0.4 ---- */

void
metrics_write_label_value (FILE *out, const char *value)
{
    /* label values are UTF-8: a consumer's name is the client's bytes */
    size_t n = strlen (value);
    char *text = malloc (3 * n + 1);
    if (!text)
        return;
    n = codec_utf8_repair (value, n, text);
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\\' || text[i] == '"')
            fputc ('\\', out);
        if (text[i] == '\n')
            fputs ("\\n", out);
        else
            fputc (text[i], out);
    }
    free (text);
}

static void
family (FILE *out, const char *name, const char *type, const char *help)
{
    fprintf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A series' name and its labels: `name{k="v",k2="v2"} ` — `pairs` is
 * label, value, label, value, …, NULL; no braces without labels. */
static void
series (FILE *out, const char *name, const char *suffix,
        const char *const *pairs)
{
    fprintf (out, "%s%s", name, suffix);
    for (int i = 0; pairs && pairs[i]; i += 2) {
        fprintf (out, "%s%s=\"", i ? "," : "{", pairs[i]);
        metrics_write_label_value (out, pairs[i + 1]);
        fputc ('"', out);
    }
    fputs (pairs && pairs[0] ? "} " : " ", out);
}

/* One histogram's lines: cumulative buckets up to +Inf, sum and count;
 * bounds and sum are divided by `unit` (1e6: µs to seconds; 1: whole
 * numbers). `label` and `value` may be NULL. */
static void
histogram (FILE *out, const char *name, const char *label, const char *value,
           const metrics_histogram_t *h, const uint64_t *bounds, int n,
           double unit)
{
    char le[32];
    const char *pairs[] = { label, value, "le", le, NULL };
    const char *const *le_pairs = label ? pairs : pairs + 2;
    uint64_t below = 0;
    for (int i = 0; i <= n; i++) {
        below += h->buckets[i];
        if (i < n)
            snprintf (le, sizeof le, "%g", (double) bounds[i] / unit);
        else
            snprintf (le, sizeof le, "+Inf");
        series (out, name, "_bucket", le_pairs);
        fprintf (out, "%llu\n", (unsigned long long) below);
    }
    pairs[2] = NULL;                /* sum and count: no le */
    series (out, name, "_sum", label ? pairs : NULL);
    if (unit == 1)
        fprintf (out, "%llu\n", (unsigned long long) h->sum);
    else
        fprintf (out, "%.6f\n", (double) h->sum / unit);
    series (out, name, "_count", label ? pairs : NULL);
    fprintf (out, "%llu\n", (unsigned long long) h->count);
}

/* A gauge with no labels. */
static void
gauge (FILE *out, const char *name, const char *help, double value)
{
    family (out, name, "gauge", help);
    series (out, name, "", NULL);
    /* whole numbers as such, times and ages to the millisecond */
    fprintf (out, value == (double) (int64_t) value ? "%.0f\n" : "%.3f\n",
             value);
}

static const char *
command_name (int c)
{
    return c < EXF_CMD_COUNT ? exf_command_names[c] : "unknown";
}

static void
render_loop (FILE *out, const metrics_snapshot_t *snap, int64_t now_mono_ms)
{
    const metrics_loop_t *l = &snap->loop;
    family (out, "exitflow_commands_total", "counter",
            "Requests answered, by command and outcome (ok, or the error "
            "code).");
    for (int c = 0; c < METRICS_COMMANDS; c++)
        for (int o = 0; o < outcome_count (); o++) {
            /* every command's ok from the start, the rest once seen */
            if (!l->commands[c][o]
                && (o != METRICS_OUTCOME_OK || c == EXF_CMD_COUNT))
                continue;
            const char *pairs[] = { "command", command_name (c), "outcome",
                                    metrics_outcome_name (o), NULL };
            series (out, "exitflow_commands_total", "", pairs);
            fprintf (out, "%llu\n", (unsigned long long) l->commands[c][o]);
        }
    family (out, "exitflow_command_duration_seconds", "histogram",
            "From a request read off the socket to its reply handed to the "
            "socket, by command (a write waits for its batch's commit).");
    for (int c = 0; c < METRICS_COMMANDS; c++)
        if (l->latency[c].count)
            histogram (out, "exitflow_command_duration_seconds", "command",
                       command_name (c), &l->latency[c], latency_bounds,
                       N_OF (latency_bounds), 1e6);
    family (out, "exitflow_commit_duration_seconds", "histogram",
            "Durable (fsync'd) commits of write transactions.");
    histogram (out, "exitflow_commit_duration_seconds", NULL, NULL,
               &l->commit, latency_bounds, N_OF (latency_bounds), 1e6);
    family (out, "exitflow_batch_size", "histogram",
            "Requests per batch (one transaction, one commit).");
    histogram (out, "exitflow_batch_size", NULL, NULL, &l->batch,
               batch_bounds, N_OF (batch_bounds), 1);
    gauge (out, "exitflow_last_event_seq", "The seq of the newest committed "
           "event.", (double) l->last_seq);
    const char *reason;
    gauge (out, "exitflow_health_ok", "1 when /health answers 200, else 0.",
           metrics_healthy (snap, now_mono_ms, &reason));
}

static void
render_store (FILE *out, const metrics_store_t *s, int64_t now_ms)
{
    family (out, "exitflow_workflows", "gauge",
            "Workflows by state (read once a second).");
    for (int i = 0; i < WF_STATE_COUNT; i++) {
        const char *pairs[] = { "state", workflow_state_names[i], NULL };
        series (out, "exitflow_workflows", "", pairs);
        fprintf (out, "%llu\n", (unsigned long long) s->workflows[i]);
    }
    gauge (out, "exitflow_stalled_workflows",
           "Open workflows marked stalled (idle past --stall-after).",
           (double) s->stalled);
    int64_t idle = s->oldest_open_at && now_ms > s->oldest_open_at
                       ? now_ms - s->oldest_open_at : 0;
    gauge (out, "exitflow_oldest_open_workflow_idle_seconds",
           "Seconds since the last change of the open workflow idle "
           "longest; 0 when none is open.", (double) idle / 1000);
    family (out, "exitflow_consumer_lag_events", "gauge",
            "Events committed after a consumer's acknowledged offset.");
    for (size_t i = 0; i < s->n_consumers; i++) {
        const char *pairs[] = { "consumer", s->consumers[i].name, NULL };
        series (out, "exitflow_consumer_lag_events", "", pairs);
        fprintf (out, "%llu\n", (unsigned long long) s->consumers[i].lag);
    }
    gauge (out, "exitflow_consumers_unlisted", "1 when there are more "
           "consumers than the lag lists (256), else 0.", s->consumers_cut);
    gauge (out, "exitflow_lmdb_map_size_bytes", "The LMDB map size now "
           "(it grows up to --max-map-size).", (double) s->map_size);
    gauge (out, "exitflow_lmdb_max_map_size_bytes", "The most the store may "
           "hold: --max-map-size.", (double) s->max_map_size);
    gauge (out, "exitflow_lmdb_used_bytes", "Bytes of the map in use: "
           "LMDB's pages less its free list.", (double) s->map_used);
    gauge (out, "exitflow_reply_log_entries", "Stored replies kept for "
           "retried requests (--reply-retention).", (double) s->replies);
}

char *
metrics_render (const metrics_snapshot_t *snap, int64_t now_ms,
                int64_t now_mono_ms, size_t *len)
{
    char *text = NULL;
    FILE *out = open_memstream (&text, len);
    if (!out)
        return NULL;
    family (out, "exitflow_build_info", "gauge",
            "Always 1; the daemon's build in its label.");
    char protocol[16];
    snprintf (protocol, sizeof protocol, "%d", EXF_PROTOCOL_VERSION);
    const char *pairs[] = { "version", EXF_BUILD_VERSION, "protocol", protocol,
                            NULL };
    series (out, "exitflow_build_info", "", pairs);
    fputs ("1\n", out);
    gauge (out, "exitflow_process_start_time_seconds",
           "When the daemon started, in seconds since the epoch.",
           (double) snap->started_ms / 1000);
    render_loop (out, snap, now_mono_ms);
    if (snap->store.read)
        render_store (out, &snap->store, now_ms);
    if (fclose (out)) {
        free (text);
        return NULL;
    }
    return text;
}
