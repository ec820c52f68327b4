/* store — LMDB persistence for exitflow. See store.h.
 *
 * Databases (keys big-endian where numeric, so LMDB's byte order is numeric
 * order):
 *   workflows   workflow_id                  → stored workflow (msgpack)
 *   by_state    state · updated_at · id      → ""   (workflow.list)
 *   stall_queue updated_at · id              → ""   (open, not yet stalled)
 *   households  household_id                 → workflow_id (open ones only)
 *   events      seq                          → event (msgpack, as published)
 *   wf_events   workflow_id · seq            → ""   (workflow.history)
 *   replies0/1  request id                   → hash · reply (idempotency)
 *   consumers   name                         → seq
 *   meta        "counts" → 3 × u64, "replies" → generation · started_at */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
    DB_WORKFLOWS, DB_BY_STATE, DB_STALL_QUEUE, DB_HOUSEHOLDS, DB_EVENTS,
    DB_WF_EVENTS, DB_REPLIES0, DB_REPLIES1, DB_CONSUMERS, DB_META, DB_COUNT
};

static const char *const db_names[DB_COUNT] = {
    "workflows", "by_state", "stall_queue", "households", "events",
    "wf_events", "replies0", "replies1", "consumers", "meta" };

#define REPLY_GENERATION_MS (24LL * 3600 * 1000)

struct store_t {
    MDB_env *env;
    MDB_dbi dbi[DB_COUNT];
    uint64_t committed_seq;
    store_txn_t *write_txn;         /* at most one */
};

struct store_txn_t {
    store_t *store;
    MDB_txn *txn;
    bool write;
    uint64_t seq;                   /* last seq, including this txn's events */
};

/* ---- keys ---- */

static void
put_be64 (uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t) v;
}

static uint64_t
get_be64 (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static MDB_val
val_of (const void *p, size_t n)
{
    MDB_val v = { n, (void *) p };
    return v;
}

static MDB_val
val_of_str (const char *s)
{
    return val_of (s, strlen (s));
}

#define STATE_KEY_LEN (1 + 8 + WF_ID_LEN)
#define STALL_KEY_LEN (8 + WF_ID_LEN)
#define WF_EVENT_KEY_LEN (WF_ID_LEN + 8)

static void
state_key (uint8_t key[STATE_KEY_LEN], wf_state_t state, int64_t at,
           const char *id)
{
    key[0] = (uint8_t) state;
    put_be64 (key + 1, (uint64_t) at);
    memcpy (key + 9, id, WF_ID_LEN);
}

static void
stall_key (uint8_t key[STALL_KEY_LEN], int64_t at, const char *id)
{
    put_be64 (key, (uint64_t) at);
    memcpy (key + 8, id, WF_ID_LEN);
}

/* ---- environment ---- */

store_t *
store_open (const char *dir, size_t map_size, char *why, size_t cap)
{
    store_t *self = calloc (1, sizeof *self);
    MDB_txn *txn = NULL;
    int rc;
    if (mkdir (dir, 0750) && errno != EEXIST) {
        snprintf (why, cap, "cannot create %s: %s", dir, strerror (errno));
        free (self);
        return NULL;
    }
    if ((rc = mdb_env_create (&self->env))
        || (rc = mdb_env_set_maxdbs (self->env, DB_COUNT))
        || (rc = mdb_env_set_mapsize (self->env, map_size))
        || (rc = mdb_env_open (self->env, dir, MDB_NOTLS, 0640)))
        goto fail;
    int dead = 0;
    mdb_reader_check (self->env, &dead);    /* readers of crashed processes */
    if ((rc = mdb_txn_begin (self->env, NULL, 0, &txn)))
        goto fail;
    for (int i = 0; i < DB_COUNT; i++)
        if ((rc = mdb_dbi_open (txn, db_names[i], MDB_CREATE, &self->dbi[i])))
            goto fail;
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open (txn, self->dbi[DB_EVENTS], &cur)))
        goto fail;
    MDB_val k, v;
    if (mdb_cursor_get (cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
        self->committed_seq = get_be64 (k.mv_data);
    mdb_cursor_close (cur);
    if ((rc = mdb_txn_commit (txn)))
        goto fail_committed;
    return self;
fail:
    if (txn)
        mdb_txn_abort (txn);
fail_committed:
    snprintf (why, cap, "LMDB at %s: %s", dir, mdb_strerror (rc));
    if (self->env)
        mdb_env_close (self->env);
    free (self);
    return NULL;
}

void
store_destroy (store_t **self_p)
{
    store_t *self = *self_p;
    if (!self)
        return;
    mdb_env_close (self->env);
    free (self);
    *self_p = NULL;
}

uint64_t
store_committed_seq (store_t *self)
{
    return self->committed_seq;
}

int
store_begin (store_t *self, bool write, store_txn_t **txn_p)
{
    store_txn_t *t = calloc (1, sizeof *t);
    if (!t)
        return ENOMEM;
    int rc = mdb_txn_begin (self->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc) {
        free (t);
        return rc;
    }
    t->store = self;
    t->write = write;
    t->seq = self->committed_seq;
    *txn_p = t;
    return 0;
}

int
store_commit (store_txn_t **txn_p)
{
    store_txn_t *t = *txn_p;
    int rc = mdb_txn_commit (t->txn);
    if (rc == 0 && t->write)
        t->store->committed_seq = t->seq;
    free (t);
    *txn_p = NULL;
    return rc;
}

void
store_abort (store_txn_t **txn_p)
{
    store_txn_t *t = *txn_p;
    if (!t)
        return;
    mdb_txn_abort (t->txn);
    free (t);
    *txn_p = NULL;
}

bool
store_txn_is_write (const store_txn_t *txn)
{
    return txn->write;
}

static int
db_put (store_txn_t *t, int db, MDB_val k, MDB_val v)
{
    return mdb_put (t->txn, t->store->dbi[db], &k, &v, 0);
}

static int
db_del (store_txn_t *t, int db, MDB_val k)
{
    int rc = mdb_del (t->txn, t->store->dbi[db], &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
db_get (store_txn_t *t, int db, MDB_val k, MDB_val *v)
{
    return mdb_get (t->txn, t->store->dbi[db], &k, v);
}

/* ---- workflows ---- */

store_wf_place_t
store_place_of (const workflow_t *wf)
{
    store_wf_place_t p = { wf->state, wf->updated_at, wf->stalled, true };
    return p;
}

int
store_workflow_get (store_txn_t *t, const char *workflow_id, workflow_t *wf)
{
    MDB_val v;
    int rc = db_get (t, DB_WORKFLOWS, val_of_str (workflow_id), &v);
    if (rc)
        return rc;
    return workflow_unpack (wf, v.mv_data, v.mv_size) ? 0 : MDB_CORRUPTED;
}

static int
counts_add (store_txn_t *t, int from, int to)
{
    uint64_t counts[WF_STATE_COUNT];
    int rc = store_workflow_counts (t, counts);
    if (rc)
        return rc;
    if (from >= 0)
        counts[from]--;
    counts[to]++;
    uint8_t buf[8 * WF_STATE_COUNT];
    for (int i = 0; i < WF_STATE_COUNT; i++)
        put_be64 (buf + 8 * i, counts[i]);
    return db_put (t, DB_META, val_of_str ("counts"), val_of (buf, sizeof buf));
}

int
store_workflow_counts (store_txn_t *t, uint64_t counts[WF_STATE_COUNT])
{
    MDB_val v;
    memset (counts, 0, sizeof (uint64_t) * WF_STATE_COUNT);
    int rc = db_get (t, DB_META, val_of_str ("counts"), &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    for (int i = 0; i < WF_STATE_COUNT && (size_t) (8 * i + 8) <= v.mv_size; i++)
        counts[i] = get_be64 ((uint8_t *) v.mv_data + 8 * i);
    return 0;
}

/* Moves the workflow's index entries from where it was to where it is. */
static int
reindex (store_txn_t *t, const store_wf_place_t *before, const workflow_t *wf)
{
    uint8_t old_key[STATE_KEY_LEN], new_key[STATE_KEY_LEN];
    uint8_t old_stall[STALL_KEY_LEN], new_stall[STALL_KEY_LEN];
    bool was_queued = before->exists && before->state == WF_OPEN
                      && !before->stalled;
    bool is_queued = wf->state == WF_OPEN && !wf->stalled;
    int rc = 0;
    if (before->exists) {
        state_key (old_key, before->state, before->updated_at, wf->workflow_id);
        rc = db_del (t, DB_BY_STATE, val_of (old_key, sizeof old_key));
    }
    state_key (new_key, wf->state, wf->updated_at, wf->workflow_id);
    if (!rc)
        rc = db_put (t, DB_BY_STATE, val_of (new_key, sizeof new_key),
                     val_of ("", 0));
    if (!rc && was_queued) {
        stall_key (old_stall, before->updated_at, wf->workflow_id);
        rc = db_del (t, DB_STALL_QUEUE, val_of (old_stall, sizeof old_stall));
    }
    if (!rc && is_queued) {
        stall_key (new_stall, wf->updated_at, wf->workflow_id);
        rc = db_put (t, DB_STALL_QUEUE, val_of (new_stall, sizeof new_stall),
                     val_of ("", 0));
    }
    bool was_open = before->exists && before->state == WF_OPEN;
    if (!rc && !was_open && wf->state == WF_OPEN)
        rc = db_put (t, DB_HOUSEHOLDS, val_of_str (wf->household_id),
                     val_of (wf->workflow_id, WF_ID_LEN));
    if (!rc && was_open && wf->state != WF_OPEN)
        rc = db_del (t, DB_HOUSEHOLDS, val_of_str (wf->household_id));
    if (!rc && (!before->exists || before->state != wf->state))
        rc = counts_add (t, before->exists ? (int) before->state : -1,
                         wf->state);
    return rc;
}

int
store_workflow_put (store_txn_t *t, const store_wf_place_t *before,
                    const workflow_t *wf)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    workflow_pack (&pk, wf, WF_PACK_STORAGE);
    int rc = db_put (t, DB_WORKFLOWS, val_of_str (wf->workflow_id),
                     val_of (sb.data, sb.size));
    msgpack_sbuffer_destroy (&sb);
    return rc ? rc : reindex (t, before, wf);
}

int
store_household_open (store_txn_t *t, const char *household_id,
                      char workflow_id[WF_ID_LEN + 1])
{
    MDB_val v;
    int rc = db_get (t, DB_HOUSEHOLDS, val_of_str (household_id), &v);
    if (rc)
        return rc;
    size_t n = v.mv_size < WF_ID_LEN ? v.mv_size : WF_ID_LEN;
    memcpy (workflow_id, v.mv_data, n);
    workflow_id[n] = '\0';
    return 0;
}

/* Walks keys of `db` from `start` (or after it when `exclusive`) while they
 * begin with `prefix`, calling `each` with key and value. */
typedef bool (*scan_fn) (void *arg, MDB_val *k, MDB_val *v);

static int
scan (store_txn_t *t, int db, const void *start, size_t start_len,
      bool exclusive, const void *prefix, size_t prefix_len, scan_fn each,
      void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open (t->txn, t->store->dbi[db], &cur);
    if (rc)
        return rc;
    MDB_val k = val_of (start, start_len), v;
    rc = start_len ? mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE)
                   : mdb_cursor_get (cur, &k, &v, MDB_FIRST);
    if (rc == 0 && exclusive && k.mv_size == start_len
        && memcmp (k.mv_data, start, start_len) == 0)
        rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT);
    while (rc == 0) {
        if (k.mv_size < prefix_len || memcmp (k.mv_data, prefix, prefix_len))
            break;
        if (!each (arg, &k, &v))
            break;
        rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close (cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

typedef struct {
    store_list_fn fn;
    void *arg;
    int64_t max_at;
    size_t at_offset;               /* where updated_at sits in the key */
} list_walk_t;

static bool
list_each (void *arg, MDB_val *k, MDB_val *v)
{
    (void) v;
    list_walk_t *w = arg;
    const uint8_t *key = k->mv_data;
    if (k->mv_size != w->at_offset + 8 + WF_ID_LEN)
        return true;
    if ((int64_t) get_be64 (key + w->at_offset) > w->max_at)
        return false;
    char id[WF_ID_LEN + 1];
    memcpy (id, key + w->at_offset + 8, WF_ID_LEN);
    id[WF_ID_LEN] = '\0';
    return w->fn (w->arg, id, key, k->mv_size);
}

int
store_workflow_list (store_txn_t *t, wf_state_t state, const void *after,
                     size_t after_len, int64_t max_updated_at,
                     store_list_fn fn, void *arg)
{
    uint8_t prefix = (uint8_t) state;
    list_walk_t w = { fn, arg, max_updated_at, 1 };
    if (after_len)
        return scan (t, DB_BY_STATE, after, after_len, true, &prefix, 1,
                     list_each, &w);
    return scan (t, DB_BY_STATE, &prefix, 1, false, &prefix, 1, list_each, &w);
}

int
store_stall_candidates (store_txn_t *t, int64_t cutoff_ms, store_list_fn fn,
                        void *arg)
{
    list_walk_t w = { fn, arg, cutoff_ms, 0 };
    return scan (t, DB_STALL_QUEUE, NULL, 0, false, NULL, 0, list_each, &w);
}

/* ---- events ---- */

uint64_t
store_next_seq (store_txn_t *t)
{
    return t->seq + 1;
}

uint64_t
store_last_seq (store_txn_t *t)
{
    return t->seq;
}

int
store_event_append (store_txn_t *t, uint64_t seq, const char *workflow_id,
                    const void *event, size_t len)
{
    uint8_t k[8], wk[WF_EVENT_KEY_LEN];
    put_be64 (k, seq);
    /* MDB_APPEND: the log only grows at its end, so skip the search */
    MDB_val key = val_of (k, 8), val = val_of (event, len);
    int rc = mdb_put (t->txn, t->store->dbi[DB_EVENTS], &key, &val, MDB_APPEND);
    if (rc)
        return rc;
    memcpy (wk, workflow_id, WF_ID_LEN);
    put_be64 (wk + WF_ID_LEN, seq);
    rc = db_put (t, DB_WF_EVENTS, val_of (wk, sizeof wk), val_of ("", 0));
    if (!rc)
        t->seq = seq;
    return rc;
}

typedef struct {
    store_event_fn fn;
    void *arg;
    store_txn_t *t;
} event_walk_t;

static bool
event_each (void *arg, MDB_val *k, MDB_val *v)
{
    event_walk_t *w = arg;
    return w->fn (w->arg, get_be64 (k->mv_data), v->mv_data, v->mv_size);
}

int
store_events_scan (store_txn_t *t, uint64_t after, store_event_fn fn, void *arg)
{
    uint8_t start[8];
    put_be64 (start, after + 1);
    event_walk_t w = { fn, arg, t };
    return scan (t, DB_EVENTS, start, 8, false, NULL, 0, event_each, &w);
}

static bool
wf_event_each (void *arg, MDB_val *k, MDB_val *v)
{
    (void) v;
    event_walk_t *w = arg;
    uint8_t sk[8];
    memcpy (sk, (uint8_t *) k->mv_data + WF_ID_LEN, 8);
    MDB_val ev;
    if (db_get (w->t, DB_EVENTS, val_of (sk, 8), &ev))
        return true;
    return w->fn (w->arg, get_be64 (sk), ev.mv_data, ev.mv_size);
}

int
store_workflow_events_scan (store_txn_t *t, const char *workflow_id,
                            store_event_fn fn, void *arg)
{
    event_walk_t w = { fn, arg, t };
    return scan (t, DB_WF_EVENTS, workflow_id, WF_ID_LEN, false, workflow_id,
                 WF_ID_LEN, wf_event_each, &w);
}

/* ---- idempotency ---- */

typedef struct {
    uint8_t current;                /* DB_REPLIES0 + current is written */
    int64_t started_at;
} reply_gen_t;

static int
reply_gen_get (store_txn_t *t, reply_gen_t *g)
{
    MDB_val v;
    int rc = db_get (t, DB_META, val_of_str ("replies"), &v);
    g->current = 0;
    g->started_at = 0;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size == 9) {
        g->current = ((uint8_t *) v.mv_data)[0] & 1;
        g->started_at = (int64_t) get_be64 ((uint8_t *) v.mv_data + 1);
    }
    return 0;
}

int
store_reply_get (store_txn_t *t, exf_str_t id, uint64_t *hash,
                 const void **reply, size_t *len)
{
    for (int db = DB_REPLIES0; db <= DB_REPLIES1; db++) {
        MDB_val v;
        int rc = db_get (t, db, val_of (id.ptr, id.len), &v);
        if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size < 8))
            continue;
        if (rc)
            return rc;
        *hash = get_be64 (v.mv_data);
        *reply = (uint8_t *) v.mv_data + 8;
        *len = v.mv_size - 8;
        return 0;
    }
    return MDB_NOTFOUND;
}

int
store_reply_put (store_txn_t *t, exf_str_t id, uint64_t hash,
                 const void *reply, size_t len)
{
    reply_gen_t g;
    int rc = reply_gen_get (t, &g);
    if (rc)
        return rc;
    MDB_val k = val_of (id.ptr, id.len), v = { len + 8, NULL };
    rc = mdb_put (t->txn, t->store->dbi[DB_REPLIES0 + g.current], &k, &v,
                  MDB_RESERVE);
    if (rc)
        return rc;
    put_be64 (v.mv_data, hash);
    memcpy ((uint8_t *) v.mv_data + 8, reply, len);
    return 0;
}

int
store_replies_rotate (store_txn_t *t, int64_t now_ms)
{
    reply_gen_t g;
    int rc = reply_gen_get (t, &g);
    if (rc)
        return rc;
    if (g.started_at && now_ms - g.started_at < REPLY_GENERATION_MS)
        return 0;
    if (g.started_at) {
        /* the other generation is at least 24 h old everywhere: drop it */
        g.current ^= 1;
        rc = mdb_drop (t->txn, t->store->dbi[DB_REPLIES0 + g.current], 0);
        if (rc)
            return rc;
    }
    uint8_t buf[9];
    buf[0] = g.current;
    put_be64 (buf + 1, (uint64_t) now_ms);
    return db_put (t, DB_META, val_of_str ("replies"), val_of (buf, 9));
}

/* ---- consumers ---- */

int
store_consumer_get (store_txn_t *t, const char *name, uint64_t *seq)
{
    MDB_val v;
    int rc = db_get (t, DB_CONSUMERS, val_of_str (name), &v);
    if (rc)
        return rc;
    *seq = v.mv_size == 8 ? get_be64 (v.mv_data) : 0;
    return 0;
}

int
store_consumer_put (store_txn_t *t, const char *name, uint64_t seq)
{
    uint8_t buf[8];
    put_be64 (buf, seq);
    return db_put (t, DB_CONSUMERS, val_of_str (name), val_of (buf, 8));
}

typedef struct {
    store_consumer_fn fn;
    void *arg;
} consumer_walk_t;

static bool
consumer_each (void *arg, MDB_val *k, MDB_val *v)
{
    consumer_walk_t *w = arg;
    char name[EXF_ID_MAX + 1];
    size_t n = k->mv_size < EXF_ID_MAX ? k->mv_size : EXF_ID_MAX;
    memcpy (name, k->mv_data, n);
    name[n] = '\0';
    return w->fn (w->arg, name, v->mv_size == 8 ? get_be64 (v->mv_data) : 0);
}

int
store_consumers_scan (store_txn_t *t, store_consumer_fn fn, void *arg)
{
    consumer_walk_t w = { fn, arg };
    return scan (t, DB_CONSUMERS, NULL, 0, false, NULL, 0, consumer_each, &w);
}
