/* metrics — what exitflowd tells a monitor: the figures of /metrics and
 * the verdict of /health.
 *
 * Owns: the loop's counters and histograms (commands by name and outcome,
 * command and commit latency, batch size), the store's figures read at
 * the maintenance tick from a read transaction (workflows by state,
 * stalled ones, the longest-idle open one, consumers' lag, the map's size
 * and use, stored replies), whether writes are failing; the snapshot the
 * loop publishes after every batch and every tick; the Prometheus text
 * (format 0.0.4) and the health verdict, both pure functions of a
 * snapshot.
 *
 * Two threads meet here and nowhere else. The loop alone records into its
 * own copy and publishes it under a mutex (a memcpy); the HTTP thread takes
 * a copy under the same mutex and renders from that copy, so it never
 * touches the store or the loop's data, and a scrape costs the loop at
 * most one memcpy of waiting. Nothing here names a client or a workflow:
 * counts, command names, error codes and consumer names only. */
#ifndef EXF_METRICS_H
#define EXF_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "protocol/codec.h"

#include "store.h"

/* Commands are counted by their name in the table, and the last row,
 * "unknown", holds requests naming no command of it. */
#define METRICS_COMMANDS (EXF_CMD_COUNT + 1)
/* Outcomes: "ok", then the protocol's error codes in their table's order
 * (names.c), then "unknown" (a reply whose outcome could not be read:
 * never, as the daemon packs them). */
#define METRICS_OUTCOMES_MAX 16
#define METRICS_OUTCOME_OK 0
#define METRICS_BUCKETS_MAX 16
#define METRICS_CONSUMERS_MAX 256
/* /health fails when the loop has finished neither a batch nor a
 * maintenance tick (which it runs every second when idle) for this long. */
#define METRICS_STUCK_AFTER_MS 10000

/* A histogram: counts per bucket (not cumulative; the last is +Inf), their
 * sum in the histogram's unit (µs for latencies, requests for batches). */
typedef struct {
    uint64_t buckets[METRICS_BUCKETS_MAX + 1];
    uint64_t count, sum;
} metrics_histogram_t;

/* What the loop publishes after each batch. */
typedef struct {
    uint64_t commands[METRICS_COMMANDS][METRICS_OUTCOMES_MAX];
    metrics_histogram_t latency[METRICS_COMMANDS];
    metrics_histogram_t commit;
    metrics_histogram_t batch;
    uint64_t last_seq;
    /* STORE_FULL or STORE_READ_ONLY: a write batch failed so, and no write
     * batch has been committed since; else STORE_OK */
    store_status_t writes_failing;
    int64_t progress_ms;            /* monotonic: the last batch or tick */
} metrics_loop_t;

/* What the loop reads from the store at its maintenance tick. */
typedef struct {
    bool read;                      /* at least once */
    uint64_t workflows[WF_STATE_COUNT];
    uint64_t stalled, replies;      /* counted by walks (store_tally) */
    int64_t oldest_open_at;         /* wall ms; 0: none open */
    uint64_t map_size, map_used;
    uint64_t max_map_size;          /* what the map may grow to */
    size_t n_consumers;             /* those listed below, by name */
    bool consumers_cut;             /* more than METRICS_CONSUMERS_MAX */
    struct metrics_consumer {
        char name[EXF_ID_MAX + 1];
        uint64_t lag;               /* events after its offset */
    } consumers[METRICS_CONSUMERS_MAX];
} metrics_store_t;

typedef struct {
    int64_t started_ms;             /* wall clock at start */
    metrics_loop_t loop;
    metrics_store_t store;
} metrics_snapshot_t;

typedef struct metrics_t metrics_t;

metrics_t *metrics_new (int64_t started_ms, int64_t now_mono_ms);
void metrics_destroy (metrics_t **self_p);

/* ---- the loop's side ---- */

/* Each recorder below takes a NULL metrics (exitflowd without --http keeps
 * none) and then does nothing: nobody would read the figures, so the loop
 * does not pay for them. */

/* A request answered: its command's name as the client sent it, the
 * reply's bytes (the outcome is read from them) and how long it took from
 * being read off the socket to its reply being handed to the socket. */
void metrics_command (metrics_t *self, exf_str_t name, const void *reply,
                      size_t len, int64_t latency_us);
/* A write transaction's durable commit took this long. */
void metrics_commit (metrics_t *self, int64_t us);
/* The outcome of a batch's transaction: when it wrote, a full or
 * read-only store starts failing writes and a commit ends it. Returns
 * `status`. */
store_status_t metrics_writes (metrics_t *self, bool wrote,
                               store_status_t status);
/* A batch of `n` requests is answered: publishes the loop's figures. */
void metrics_batch_done (metrics_t *self, int n, uint64_t last_seq,
                         int64_t now_mono_ms);
/* The maintenance tick: reads the store's figures in a read transaction
 * and publishes everything. */
void metrics_tick (metrics_t *self, store_t *store, int64_t now_mono_ms);

/* ---- the HTTP thread's side ---- */

/* A copy of the last published snapshot. */
void metrics_snapshot (metrics_t *self, metrics_snapshot_t *out);
/* The Prometheus text of `snap` at `now_ms` (wall) and `now_mono_ms`, in
 * a malloc'd buffer of `*len` bytes; NULL when out of memory. */
char *metrics_render (const metrics_snapshot_t *snap, int64_t now_ms,
                      int64_t now_mono_ms, size_t *len);
/* Whether the daemon is healthy; when not, why (a fixed sentence). */
bool metrics_healthy (const metrics_snapshot_t *snap, int64_t now_mono_ms,
                      const char **reason);

/* ---- pieces, for tests ---- */

/* The outcome of a reply (METRICS_OUTCOME_OK, an error code's row + 1, or
 * the "unknown" row), read from its first fields without unpacking the
 * result. */
int metrics_reply_outcome (const void *reply, size_t len);
/* The label of outcome `i`. */
const char *metrics_outcome_name (int i);
/* Writes `value` as a Prometheus label value: \, " and newline escaped,
 * bytes that are not UTF-8 replaced. */
void metrics_write_label_value (FILE *out, const char *value);

#endif
