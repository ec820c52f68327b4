/* store — exitflow's durable state in one LMDB environment.
 *
 * Owns: the environment and its one B-tree, whose keys by prefix hold the
 * workflows and their indexes, the event log, stored replies for
 * idempotency, consumer offsets and counters (the layout is in store.c);
 * the one write transaction at a time; the seal (a CRC32C, seal.h) on
 * every value, checked on every read; and what a storage fault is called.
 * Everything a command changes goes through one store transaction, so a
 * batch commits or vanishes whole. No LMDB type or code crosses this
 * header: functions answer a store_status_t. */
#ifndef EXF_STORE_H
#define EXF_STORE_H

#include "record.h"

typedef enum {
    STORE_OK = 0,
    STORE_NOT_FOUND,        /* a normal answer where noted */
    STORE_FULL,             /* the map or the disk is full: writes wait */
    STORE_READ_ONLY,        /* the storage refuses writes */
    STORE_CORRUPT,          /* a stored record is damaged: its seal fails,
                               or it does not decode */
    STORE_BUSY,             /* another exitflowd has the data directory;
                               store_grow: a copy holds the map */
    STORE_VERSION,          /* the store's schema is not one this exitflowd
                               serves: newer, or the first (unsealed) one */
    STORE_FAULT,            /* anything else */
} store_status_t;

/* A fixed description of `status`, for replies and logs. */
const char *store_strerror (store_status_t status);

/* exitflowd's exit status when the store cannot be opened for `status`
 * (README, "Running"; exitflowd --help): 10 full, 11 read-only, 12
 * damaged, 13 a schema this exitflowd does not serve, 1 anything else
 * (another daemon has the directory, say). `exitflowd --verify` exits 12
 * too for a damaged store, 13 for a newer one. */
#define STORE_EXIT_FULL 10
#define STORE_EXIT_READ_ONLY 11
#define STORE_EXIT_DAMAGED 12
#define STORE_EXIT_VERSION 13
int store_exit_status (store_status_t status);

/* Free space the filesystem must have for the daemon to start (below it
 * the store is full at start-up), and below which a failed write is taken
 * for a full disk (LMDB reports a short write as EIO). */
#define STORE_START_FREE ((uint64_t) 1 << 20)
#define STORE_SHORT_WRITE_FREE ((uint64_t) 64 << 20)

/* The store's schema version: one number, in the meta record under
 * STORE_FORMAT_KEY, that says everything about the layout — the keys
 * (store.c), the form of the workflow records (record.c) and which
 * indexes exist. This exitflowd writes STORE_FORMAT; a store of an older
 * schema, from STORE_FORMAT_OLDEST, it upgrades in one transaction when it
 * opens it; a newer one it refuses (STORE_VERSION) and leaves untouched.
 *   1  no seals and no mark: refused, there is no upgrade from it
 *   2  every value sealed; histories and reply references out of the
 *      workflow records; workflow records of layout 2 or 3; the key and
 *      stalled indexes (F, T) only when the meta record "indexes" says so
 *   3  every workflow record of layout 3 (record.c); the F and T
 *      indexes always (no "indexes" record)
 * verify.c checks the mark. */
#define STORE_FORMAT_KEY "Mformat"
#define STORE_FORMAT 3
#define STORE_FORMAT_OLDEST 2

typedef struct store_t store_t;
typedef struct store_txn_t store_txn_t;

/* How a store is opened: stored replies are kept at least
 * `reply_keep_ms`; the map starts at `map_size` bytes (or what the store
 * already uses, when that is more) and may grow to `max_map_size`
 * (store_grow; 0 or less than map_size: no growth). */
typedef struct {
    const char *dir;
    size_t map_size;
    size_t max_map_size;
    int64_t reply_keep_ms;
} store_options_t;

/* Opens (creating) the environment in `options->dir`. Before LMDB maps
 * anything it checks that the directory is writable and has
 * STORE_START_FREE bytes, and allocates the lock file's blocks, so a full
 * disk is an answer and not a SIGBUS; then it verifies an existing store
 * in a child process (verify.h) and refuses a damaged one; then it
 * refuses a newer schema and upgrades an older one (STORE_FORMAT), in one
 * transaction, growing the map for it when it must. On failure returns
 * NULL with the kind of fault in `*status` and a one-line reason in
 * `why`. */
store_t *store_open (const store_options_t *options, store_status_t *status,
                     char *why, size_t cap);
/* store_open without growth. */
store_t *store_new (const char *dir, size_t map_size, int64_t reply_keep_ms,
                    store_status_t *status, char *why, size_t cap);
void store_destroy (store_t **self_p);
/* The schema the store had when it was opened: STORE_FORMAT, or the older
 * one it was upgraded from (for the start-up log). */
int store_opened_format (const store_t *self);
/* The newest committed event seq. */
uint64_t store_committed_seq (store_t *self);
/* What the storage said about the last status other than STORE_OK and
 * STORE_NOT_FOUND (LMDB's or the system's words; for a damaged record,
 * its key in printable form), for logs. */
const char *store_fault_detail (const store_t *self);

/* ---- the map ---- */

/* The store's map. `full`: a write met a full map that could not grow
 * (at its maximum, or the disk is full) and no write has committed
 * since: writes are refused, reads go on. */
typedef struct {
    uint64_t map_size;              /* the map now */
    uint64_t max_map_size;          /* what it may grow to */
    uint64_t file_bytes;            /* its pages up to the last LMDB used:
                                       what the data file holds (freed
                                       pages among them are reused first) */
    bool full;
} store_map_t;

void store_map (store_t *self, store_map_t *out);
/* The store a transaction is of. */
store_t *store_txn_store (store_txn_t *txn);
/* After a write failed with STORE_FULL: when the map was full (not the
 * disk), doubles it, up to the maximum. Call it with no transaction open
 * (LMDB remaps the file). STORE_OK when it grew, `from` and `to` saying by
 * how much: run the write again. STORE_FULL when it cannot (at the
 * maximum, or the disk was full); STORE_BUSY while a copy reads the map
 * (store_copy_hold): the map cannot move under it; STORE_FAULT when the
 * system refused the larger map (the old one is kept). */
store_status_t store_grow (store_t *self, uint64_t *from, uint64_t *to);

/* ---- online copies ---- */

/* A copy (store_copy) reads the map from another thread, from a read
 * transaction of its own: between store_copy_hold and store_copy_release,
 * both called on the thread that runs the transactions, the map does not
 * grow. */
void store_copy_hold (store_t *self);
void store_copy_release (store_t *self);
/* Writes a compacted copy of the newest committed snapshot (LMDB's
 * MDB_CP_COMPACT: free pages left out) into `fd`, a new empty file, and
 * syncs it; then opens the copy at `path` (the same file) read-only and
 * reads back its last event seq, so that `*last_seq` is exactly the
 * copy's. Safe on another thread while the store writes; touches nothing
 * of the store's but the environment. On failure the reason is in `why`:
 * STORE_FULL when the copy's disk is full. */
store_status_t store_copy (store_t *self, int fd, const char *path,
                           uint64_t *last_seq, char *why, size_t cap);

/* Any status other than STORE_OK and STORE_NOT_FOUND leaves a write
 * transaction unusable: abort it. */
store_status_t store_begin (store_t *self, bool write, store_txn_t **txn_p);
/* Durable (fsync'd) commit. Frees the transaction whatever the outcome. */
store_status_t store_commit (store_txn_t **txn_p);
void store_abort (store_txn_t **txn_p);

/* ---- workflows ---- */

/* Where a workflow sits in the indexes: what of it they index that can
 * change (its household, members and starter never do). */
typedef struct {
    wf_state_t state;
    int64_t updated_at;
    bool stalled;
    char last_actor[EXF_ID_MAX + 1];
    bool exists;
} store_wf_place_t;

/* A workflow as the store holds it: the pure value, the ledger that rides
 * in its record (its newest events and reply references), and where it sat
 * in the indexes when it was read, so that storing it moves its index
 * entries. A new one sits nowhere. */
typedef struct {
    workflow_t *wf;
    record_ledger_t ledger;
    store_wf_place_t place;
} store_wf_t;

store_wf_t *store_wf_new (void);
void store_wf_destroy (store_wf_t **self_p);

/* Reads the workflow into `out` (emptied first); STORE_NOT_FOUND when
 * there is no such workflow. */
store_status_t store_workflow_get (store_txn_t *txn, const char *workflow_id,
                                   store_wf_t *out);
/* Adds the members' prior values (Default Last) to a read workflow. */
store_status_t store_workflow_get_priors (store_txn_t *txn, workflow_t *wf);
/* Stores the workflow with its ledger (and, when it is new, its prior
 * values), moving what the ledger holds past RECORD_RECENT into index
 * entries, and moves its index entries to where it now is. */
store_status_t store_workflow_put (store_txn_t *txn, store_wf_t *swf);
/* The open workflow of a household, or STORE_NOT_FOUND. */
store_status_t store_household_open (store_txn_t *txn,
                                     const char *household_id,
                                     char workflow_id[WF_ID_LEN + 1]);
/* Workflows in `state`, ascending last change, after the cursor `after`
 * (an opaque key, may be empty), with updated_at <= max_updated_at. The
 * callback returns false to stop; `key` is the cursor of that item.
 * STORE_NOT_FOUND when `after` is not a cursor of this listing. */
typedef bool (*store_list_fn) (void *arg, const char *workflow_id,
                               const void *key, size_t key_len);
store_status_t store_workflow_list (store_txn_t *txn, wf_state_t state,
                                    const void *after, size_t after_len,
                                    int64_t max_updated_at, store_list_fn fn,
                                    void *arg);
/* Workflows in `state` with min_updated_at <= updated_at <=
 * max_updated_at, ascending, after the cursor `after` (as
 * store_workflow_list's; STORE_NOT_FOUND when it is not one of this
 * listing, or lies before `min_updated_at`). It seeks to
 * `min_updated_at`: the entries before it are never read, so a page costs
 * the same however many workflows changed earlier (workflow.export: a
 * finished workflow's updated_at is when it finished, and nothing
 * changes it after). */
store_status_t store_workflow_list_since (store_txn_t *txn, wf_state_t state,
                                          int64_t min_updated_at,
                                          int64_t max_updated_at,
                                          const void *after, size_t after_len,
                                          store_list_fn fn, void *arg);
/* The keys workflow.list finds workflows by, each an index of its own. */
typedef enum {
    STORE_KEY_CLIENT,               /* a member's client_id */
    STORE_KEY_ENROLLMENT,           /* a member's enrollment_id */
    STORE_KEY_HOUSEHOLD,            /* household_id */
    STORE_KEY_ACTOR,                /* started_by, and last_actor */
    STORE_KEY_COUNT
} store_key_t;

/* Workflows whose `key` is `value`, in `state` (every state when it is
 * -1), by state (open, finished, cancelled) then workflow id, after the
 * cursor `after` (opaque, may be empty). STORE_NOT_FOUND when `after` is
 * not a cursor of this listing. The callback as for store_workflow_list.
 * One index lookup, then one step per item: the cost does not depend on
 * how many workflows the store holds. */
store_status_t store_workflow_find (store_txn_t *txn, store_key_t key,
                                    const char *value, int state,
                                    const void *after, size_t after_len,
                                    store_list_fn fn, void *arg);
/* Open workflows marked stalled, as store_workflow_list orders and
 * bounds them (oldest last change first). */
store_status_t store_workflow_list_stalled (store_txn_t *txn,
                                            const void *after,
                                            size_t after_len,
                                            int64_t max_updated_at,
                                            store_list_fn fn, void *arg);
/* Counts by state. */
store_status_t store_workflow_counts (store_txn_t *txn,
                                      uint64_t counts[WF_STATE_COUNT]);

/* ---- the event log ---- */

/* The seq the next appended event will get. */
uint64_t store_next_seq (store_txn_t *txn);
uint64_t store_last_seq (store_txn_t *txn);
store_status_t store_event_append (store_txn_t *txn, uint64_t seq,
                                   const void *event, size_t len);
typedef bool (*store_event_fn) (void *arg, uint64_t seq, const void *event,
                                size_t len);
store_status_t store_events_scan (store_txn_t *txn, uint64_t after,
                                  store_event_fn fn, void *arg);
/* The events of one workflow (its history: the index's, then its
 * ledger's) with seqs above `after`, in seq order. One lookup per event:
 * the cost of a page does not depend on how long the history is. */
store_status_t store_workflow_events_scan (store_txn_t *txn,
                                           const store_wf_t *swf,
                                           uint64_t after, store_event_fn fn,
                                           void *arg);

/* ---- idempotency ---- */

/* A stored reply, or STORE_NOT_FOUND. `scope` is the workflow the command
 * names (its ledger says where its newest replies are, one lookup of
 * (workflow, hash of the id) finds an older one) or NULL for commands that
 * name none. Pointers are valid until the transaction ends. */
store_status_t store_reply_get (store_txn_t *txn, const store_wf_t *scope,
                                exf_str_t id, int64_t now_ms, uint64_t *hash,
                                const void **reply, size_t *len);
/* Stores a reply; with a scope, also notes it in the workflow's ledger,
 * which the caller then stores with the workflow. */
store_status_t store_reply_put (store_txn_t *txn, store_wf_t *scope,
                                exf_str_t id, int64_t now_ms, uint64_t hash,
                                const void *reply, size_t len);
/* Deletes replies past the retention (and what finds them), at most
 * `budget`; `deleted` counts them. */
store_status_t store_replies_sweep (store_txn_t *txn, int64_t now_ms,
                                    int budget, int *deleted);

/* ---- consumers ---- */

/* A consumer's offset and when it last acknowledged (ms; 0 when its
 * record predates the ack time: unknown). */
typedef struct {
    uint64_t seq;
    int64_t acked_at;
} store_consumer_t;

/* STORE_NOT_FOUND for a consumer that never acknowledged (or was
 * deleted since). */
store_status_t store_consumer_get (store_txn_t *txn, const char *name,
                                   store_consumer_t *out);
store_status_t store_consumer_put (store_txn_t *txn, const char *name,
                                   const store_consumer_t *c);
/* STORE_NOT_FOUND when there is no such consumer. */
store_status_t store_consumer_delete (store_txn_t *txn, const char *name);
typedef bool (*store_consumer_fn) (void *arg, const char *name,
                                   const store_consumer_t *c);
store_status_t store_consumers_scan (store_txn_t *txn, store_consumer_fn fn,
                                     void *arg);


/* ---- figures for monitoring (metrics.c reads them once a second) ---- */

/* The map's size, and the bytes its pages hold: the pages up to the
 * highest LMDB has used, less those on its free list (reused before the
 * map grows). */
store_status_t store_space (store_txn_t *txn, uint64_t *map_size,
                            uint64_t *used);
/* The last change (ms) of the open workflow idle longest; 0 when none is
 * open. One lookup. */
store_status_t store_oldest_open (store_txn_t *txn, int64_t *updated_at);

/* Entries counted by a walk: open workflows marked stalled, and stored
 * replies (the reply log). No counter of them is stored, so the walk
 * takes at most `budget` steps a call and goes on where the last call
 * stopped (in a later transaction): on a store that small every call is
 * a whole count; on a larger one `*total` is set each time a walk ends. */
typedef enum {
    STORE_TALLY_STALLED,
    STORE_TALLY_REPLIES,
    STORE_TALLY_COUNT
} store_tally_kind_t;
#define STORE_TALLY_KEY_MAX 192
typedef struct {
    uint64_t counted;               /* so far in this walk */
    uint8_t from[STORE_TALLY_KEY_MAX];  /* where it goes on; empty: the start */
    size_t from_len;
} store_tally_t;
/* Sets `*done` and `*total` when the walk reached the end (and starts the
 * next one from the beginning). */
store_status_t store_tally (store_txn_t *txn, store_tally_kind_t kind,
                            store_tally_t *walk, int budget, uint64_t *total,
                            bool *done);

#endif
