/* store — LMDB persistence for exitflow. See store.h.
 *
 * One B-tree, keys by prefix. The layout is chosen for the commit, which is
 * where the time goes: an fsync'd commit costs about one device write per
 * dirty page, so what a batch of commands writes should land on as few
 * pages as possible. Everything a command on a workflow reads or writes is
 * in the workflow's one record (its events' seqs and its reply references
 * ride along in the record's ledger, record.h), and everything appended is keyed in
 * time order, so a batch dirties the records it changes plus the tail pages
 * of the log, the reply log and the state index.
 *
 *   W id w              → the stored workflow and its ledger (record_pack)
 *   W id p              → the members' prior values (Default Last)
 *   S state at id       → ""  (workflow.list, stall scan; at = updated_at)
 *   H household         → id of its open workflow
 *   L seq               → event, as published
 *   R reply-seq         → reply record of a command naming a workflow
 *   U day request-id    → reply record of a command naming none
 *   C name              → consumer offset
 *   M name              → meta: "counts" (per state)
 *
 * Numbers are big-endian so byte order is numeric order. A reply record is
 * at(8) · body-hash(8) · id-length(1) · id · reply. */
#include "store.h"

#include <errno.h>
#include <lmdb.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY_MS (24LL * 3600 * 1000)
#define KEY_MAX 160

struct store_t {
    int lock_fd;                    /* flock'd: one daemon per data directory */
    MDB_env *env;
    MDB_dbi dbi;
    uint64_t committed_seq;
    uint64_t committed_reply_seq;
    int64_t reply_keep_ms;
    int last_fault;                 /* LMDB or errno code behind the last fault */
};

struct store_txn_t {
    store_t *store;
    MDB_txn *txn;
    bool write;
    uint64_t seq;                   /* last seq, including this txn's events */
    uint64_t reply_seq;             /* likewise for the reply log */
};

/* ---- statuses ---- */

const char *
store_strerror (store_status_t status)
{
    switch (status) {
    case STORE_OK: return "ok";
    case STORE_NOT_FOUND: return "not found";
    case STORE_FULL: return "storage is full";
    case STORE_READ_ONLY: return "storage is read-only";
    case STORE_CORRUPT: return "a stored record does not decode";
    case STORE_FAULT: break;
    }
    return "storage fault";
}

/* LMDB's and the system's codes become the store's statuses here, and
 * nowhere else. */
static store_status_t
status_of (store_t *self, int rc)
{
    store_status_t status;
    switch (rc) {
    case 0: return STORE_OK;
    case MDB_NOTFOUND: return STORE_NOT_FOUND;
    case MDB_MAP_FULL: case MDB_TXN_FULL: case ENOSPC: case EDQUOT:
        status = STORE_FULL;
        break;
    case EROFS: case EACCES:
        status = STORE_READ_ONLY;
        break;
    case MDB_CORRUPTED:
        status = STORE_CORRUPT;
        break;
    default:
        status = STORE_FAULT;
    }
    self->last_fault = rc;
    return status;
}

const char *
store_fault_detail (const store_t *self)
{
    return mdb_strerror (self->last_fault);
}

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

typedef struct {
    uint8_t b[KEY_MAX];
    size_t n;
} dbkey_t;

static dbkey_t *
key_byte (dbkey_t *k, uint8_t byte)
{
    if (k->n < KEY_MAX)
        k->b[k->n++] = byte;
    return k;
}

static dbkey_t *
key_bytes (dbkey_t *k, const void *p, size_t n)
{
    if (n > KEY_MAX - k->n)
        n = KEY_MAX - k->n;
    if (n)
        memcpy (k->b + k->n, p, n);
    k->n += n;
    return k;
}

static dbkey_t *
key_str (dbkey_t *k, const char *s)
{
    return key_bytes (k, s, strlen (s));
}

static dbkey_t *
key_u64 (dbkey_t *k, uint64_t v)
{
    uint8_t b[8];
    put_be64 (b, v);
    return key_bytes (k, b, 8);
}

/* W id <kind> */
static dbkey_t
workflow_key (const char *id, char kind)
{
    dbkey_t k = { .n = 0 };
    key_byte (&k, 'W');
    key_bytes (&k, id, WF_ID_LEN);
    key_byte (&k, (uint8_t) kind);
    return k;
}

static dbkey_t
state_key (wf_state_t state, int64_t at, const char *id)
{
    dbkey_t k = { .n = 0 };
    key_byte (&k, 'S');
    key_byte (&k, (uint8_t) state);
    key_u64 (&k, (uint64_t) at);
    key_bytes (&k, id, WF_ID_LEN);
    return k;
}

static dbkey_t
prefixed_key (char prefix, const char *name)
{
    dbkey_t k = { .n = 0 };
    key_byte (&k, (uint8_t) prefix);
    key_str (&k, name);
    return k;
}

static MDB_val
val_of (const void *p, size_t n)
{
    MDB_val v = { n, (void *) p };
    return v;
}

static MDB_val
val_of_key (const dbkey_t *k)
{
    return val_of (k->b, k->n);
}

static int
db_put (store_txn_t *t, const dbkey_t *k, MDB_val v, unsigned flags)
{
    MDB_val key = val_of_key (k);
    return mdb_put (t->txn, t->store->dbi, &key, &v, flags);
}

static int
db_get (store_txn_t *t, const dbkey_t *k, MDB_val *v)
{
    MDB_val key = val_of_key (k);
    return mdb_get (t->txn, t->store->dbi, &key, v);
}

static int
db_del (store_txn_t *t, const dbkey_t *k)
{
    MDB_val key = val_of_key (k);
    int rc = mdb_del (t->txn, t->store->dbi, &key, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Walks keys from `start` (exclusive when asked) while they begin with
 * `prefix`, calling `each` until it returns false. */
typedef bool (*scan_fn) (void *arg, MDB_val *k, MDB_val *v);

static int
scan (store_txn_t *t, const dbkey_t *start, bool exclusive, const dbkey_t *prefix,
      scan_fn each, void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open (t->txn, t->store->dbi, &cur);
    if (rc)
        return rc;
    MDB_val k = val_of_key (start), v;
    rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0 && exclusive && k.mv_size == start->n
        && memcmp (k.mv_data, start->b, start->n) == 0)
        rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT);
    while (rc == 0) {
        if (k.mv_size < prefix->n || memcmp (k.mv_data, prefix->b, prefix->n))
            break;
        if (!each (arg, &k, &v))
            break;
        rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close (cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- environment ---- */

/* The last number of a log keyed `prefix` · be64, or 0 when it is empty. */
static uint64_t
read_last_number (MDB_txn *txn, MDB_dbi dbi, uint8_t prefix)
{
    MDB_cursor *cur;
    uint64_t last = 0;
    if (mdb_cursor_open (txn, dbi, &cur))
        return 0;
    uint8_t after = prefix + 1;
    MDB_val k = val_of (&after, 1), v;
    int rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
    rc = rc == 0 ? mdb_cursor_get (cur, &k, &v, MDB_PREV)
                 : mdb_cursor_get (cur, &k, &v, MDB_LAST);
    if (rc == 0 && k.mv_size == 9 && ((uint8_t *) k.mv_data)[0] == prefix)
        last = get_be64 ((uint8_t *) k.mv_data + 1);
    mdb_cursor_close (cur);
    return last;
}

store_t *
store_new (const char *dir, size_t map_size, int64_t reply_keep_ms,
           char *why, size_t cap)
{
    store_t *self = calloc (1, sizeof *self);
    MDB_txn *txn = NULL;
    int rc;
    if (!self) {
        snprintf (why, cap, "out of memory");
        return NULL;
    }
    self->reply_keep_ms = reply_keep_ms;
    if (mkdir (dir, 0750) && errno != EEXIST) {
        snprintf (why, cap, "cannot create %s: %s", dir, strerror (errno));
        free (self);
        return NULL;
    }
    /* LMDB allows several writers across processes, but seqs are kept in
     * memory: a second daemon on the same store would reuse them */
    char lock_path[4096];
    snprintf (lock_path, sizeof lock_path, "%s/exitflowd.lock", dir);
    self->lock_fd = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (self->lock_fd < 0 || flock (self->lock_fd, LOCK_EX | LOCK_NB)) {
        snprintf (why, cap, "%s is in use by another exitflowd (%s)", dir,
                  strerror (errno));
        if (self->lock_fd >= 0)
            close (self->lock_fd);
        free (self);
        return NULL;
    }
    if ((rc = mdb_env_create (&self->env))
        || (rc = mdb_env_set_mapsize (self->env, map_size))
        || (rc = mdb_env_open (self->env, dir, MDB_NOTLS, 0640)))
        goto fail;
    int dead = 0;
    mdb_reader_check (self->env, &dead);    /* readers of crashed processes */
    if ((rc = mdb_txn_begin (self->env, NULL, 0, &txn))
        || (rc = mdb_dbi_open (txn, NULL, 0, &self->dbi)))
        goto fail;
    self->committed_seq = read_last_number (txn, self->dbi, 'L');
    self->committed_reply_seq = read_last_number (txn, self->dbi, 'R');
    rc = mdb_txn_commit (txn);
    txn = NULL;
    if (rc)
        goto fail;
    return self;
fail:
    if (txn)
        mdb_txn_abort (txn);
    snprintf (why, cap, "LMDB at %s: %s", dir, mdb_strerror (rc));
    if (self->env)
        mdb_env_close (self->env);
    close (self->lock_fd);
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
    close (self->lock_fd);
    free (self);
    *self_p = NULL;
}

uint64_t
store_committed_seq (store_t *self)
{
    return self->committed_seq;
}

store_status_t
store_begin (store_t *self, bool write, store_txn_t **txn_p)
{
    store_txn_t *t = calloc (1, sizeof *t);
    if (!t)
        return status_of (self, ENOMEM);
    int rc = mdb_txn_begin (self->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc) {
        free (t);
        return status_of (self, rc);
    }
    t->store = self;
    t->write = write;
    t->seq = self->committed_seq;
    t->reply_seq = self->committed_reply_seq;
    *txn_p = t;
    return STORE_OK;
}

store_status_t
store_commit (store_txn_t **txn_p)
{
    store_txn_t *t = *txn_p;
    store_t *self = t->store;
    int rc = mdb_txn_commit (t->txn);
    if (rc == 0 && t->write) {
        self->committed_seq = t->seq;
        self->committed_reply_seq = t->reply_seq;
    }
    free (t);
    *txn_p = NULL;
    return status_of (self, rc);
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

/* ---- workflows ---- */

store_wf_t *
store_wf_new (void)
{
    store_wf_t *self = calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->wf = workflow_new ();
    record_ledger_init (&self->ledger);
    return self;
}

void
store_wf_destroy (store_wf_t **self_p)
{
    store_wf_t *self = *self_p;
    if (!self)
        return;
    workflow_destroy (&self->wf);
    record_ledger_fini (&self->ledger);
    free (self);
    *self_p = NULL;
}

static store_wf_place_t
place_of (const workflow_t *wf)
{
    store_wf_place_t p = { wf->state, wf->updated_at, true };
    return p;
}

/* Reads a workflow-keyed value; ids of another length name nothing. */
static int
get_workflow_value (store_txn_t *t, const char *id, char kind, MDB_val *v)
{
    if (strlen (id) != WF_ID_LEN)
        return MDB_NOTFOUND;
    dbkey_t k = workflow_key (id, kind);
    return db_get (t, &k, v);
}

store_status_t
store_workflow_get (store_txn_t *t, const char *workflow_id, store_wf_t *out)
{
    workflow_reset (out->wf);
    record_ledger_fini (&out->ledger);
    out->place.exists = false;
    MDB_val v;
    int rc = get_workflow_value (t, workflow_id, 'w', &v);
    if (!rc && !record_unpack (out->wf, &out->ledger, v.mv_data, v.mv_size))
        rc = MDB_CORRUPTED;
    if (!rc)
        out->place = place_of (out->wf);
    return status_of (t->store, rc);
}

store_status_t
store_workflow_get_priors (store_txn_t *t, workflow_t *wf)
{
    MDB_val v;
    int rc = get_workflow_value (t, wf->workflow_id, 'p', &v);
    if (rc == MDB_NOTFOUND)
        return STORE_OK;
    if (!rc && !record_unpack_priors (wf, v.mv_data, v.mv_size))
        rc = MDB_CORRUPTED;
    return status_of (t->store, rc);
}

static int
read_counts (store_txn_t *t, uint64_t counts[WF_STATE_COUNT])
{
    MDB_val v;
    dbkey_t k = prefixed_key ('M', "counts");
    memset (counts, 0, sizeof (uint64_t) * WF_STATE_COUNT);
    int rc = db_get (t, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    for (int i = 0; i < WF_STATE_COUNT && (size_t) (8 * i + 8) <= v.mv_size; i++)
        counts[i] = get_be64 ((uint8_t *) v.mv_data + 8 * i);
    return 0;
}

store_status_t
store_workflow_counts (store_txn_t *t, uint64_t counts[WF_STATE_COUNT])
{
    return status_of (t->store, read_counts (t, counts));
}

static int
counts_move (store_txn_t *t, int from, int to)
{
    uint64_t counts[WF_STATE_COUNT];
    int rc = read_counts (t, counts);
    if (rc)
        return rc;
    if (from >= 0)
        counts[from]--;
    counts[to]++;
    uint8_t buf[8 * WF_STATE_COUNT];
    for (int i = 0; i < WF_STATE_COUNT; i++)
        put_be64 (buf + 8 * i, counts[i]);
    dbkey_t k = prefixed_key ('M', "counts");
    return db_put (t, &k, val_of (buf, sizeof buf), 0);
}

/* Moves the workflow's index entries from where it was to where it is. */
static int
reindex (store_txn_t *t, const store_wf_place_t *before, const workflow_t *wf)
{
    int rc = 0;
    bool moved = !before->exists || before->state != wf->state
                 || before->updated_at != wf->updated_at;
    if (moved && before->exists) {
        dbkey_t old = state_key (before->state, before->updated_at,
                               wf->workflow_id);
        rc = db_del (t, &old);
    }
    if (!rc && moved) {
        dbkey_t now = state_key (wf->state, wf->updated_at, wf->workflow_id);
        rc = db_put (t, &now, val_of ("", 0), 0);
    }
    bool was_open = before->exists && before->state == WF_OPEN;
    dbkey_t household = prefixed_key ('H', wf->household_id);
    if (!rc && !was_open && wf->state == WF_OPEN)
        rc = db_put (t, &household, val_of (wf->workflow_id, WF_ID_LEN), 0);
    if (!rc && was_open && wf->state != WF_OPEN)
        rc = db_del (t, &household);
    if (!rc && (!before->exists || before->state != wf->state))
        rc = counts_move (t, before->exists ? (int) before->state : -1,
                          wf->state);
    return rc;
}

store_status_t
store_workflow_put (store_txn_t *t, store_wf_t *swf)
{
    const workflow_t *wf = swf->wf;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    record_pack (&pk, wf, &swf->ledger);
    dbkey_t k = workflow_key (wf->workflow_id, 'w');
    int rc = db_put (t, &k, val_of (sb.data, sb.size), 0);
    if (!rc && !swf->place.exists && record_has_priors (wf)) {
        msgpack_sbuffer_clear (&sb);
        record_pack_priors (&pk, wf);
        k = workflow_key (wf->workflow_id, 'p');
        rc = db_put (t, &k, val_of (sb.data, sb.size), 0);
    }
    msgpack_sbuffer_destroy (&sb);
    if (!rc)
        rc = reindex (t, &swf->place, wf);
    if (!rc)
        swf->place = place_of (wf);
    return status_of (t->store, rc);
}

store_status_t
store_household_open (store_txn_t *t, const char *household_id,
                      char workflow_id[WF_ID_LEN + 1])
{
    MDB_val v;
    dbkey_t k = prefixed_key ('H', household_id);
    int rc = db_get (t, &k, &v);
    if (rc)
        return status_of (t->store, rc);
    size_t n = v.mv_size < WF_ID_LEN ? v.mv_size : WF_ID_LEN;
    memcpy (workflow_id, v.mv_data, n);
    workflow_id[n] = '\0';
    return STORE_OK;
}

typedef struct {
    store_list_fn fn;
    void *arg;
    int64_t max_at;
} list_walk_t;

#define STATE_KEY_LEN (2 + 8 + WF_ID_LEN)

static bool
list_each (void *arg, MDB_val *k, MDB_val *v)
{
    (void) v;
    list_walk_t *w = arg;
    const uint8_t *key = k->mv_data;
    if (k->mv_size != STATE_KEY_LEN)
        return true;
    if ((int64_t) get_be64 (key + 2) > w->max_at)
        return false;
    char id[WF_ID_LEN + 1];
    memcpy (id, key + 10, WF_ID_LEN);
    id[WF_ID_LEN] = '\0';
    return w->fn (w->arg, id, key, k->mv_size);
}

store_status_t
store_workflow_list (store_txn_t *t, wf_state_t state, const void *after,
                     size_t after_len, int64_t max_updated_at,
                     store_list_fn fn, void *arg)
{
    dbkey_t prefix = { .n = 0 };
    key_byte (key_byte (&prefix, 'S'), (uint8_t) state);
    list_walk_t w = { fn, arg, max_updated_at };
    dbkey_t start = prefix;
    bool exclusive = false;
    if (after_len) {
        start.n = 0;
        key_bytes (&start, after, after_len);
        exclusive = true;
    }
    return status_of (t->store,
                      scan (t, &start, exclusive, &prefix, list_each, &w));
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

static dbkey_t
log_key (uint64_t seq)
{
    dbkey_t k = { .n = 0 };
    key_byte (&k, 'L');
    key_u64 (&k, seq);
    return k;
}

store_status_t
store_event_append (store_txn_t *t, uint64_t seq, const void *event,
                    size_t len)
{
    dbkey_t k = log_key (seq);
    int rc = db_put (t, &k, val_of (event, len), MDB_NOOVERWRITE);
    if (!rc)
        t->seq = seq;
    return status_of (t->store, rc);
}

typedef struct {
    store_event_fn fn;
    void *arg;
} event_walk_t;

static bool
event_each (void *arg, MDB_val *k, MDB_val *v)
{
    event_walk_t *w = arg;
    if (k->mv_size != 9)
        return true;
    return w->fn (w->arg, get_be64 ((uint8_t *) k->mv_data + 1), v->mv_data,
                  v->mv_size);
}

store_status_t
store_events_scan (store_txn_t *t, uint64_t after, store_event_fn fn, void *arg)
{
    dbkey_t start = log_key (after + 1), prefix = { .n = 0 };
    key_byte (&prefix, 'L');
    event_walk_t w = { fn, arg };
    return status_of (t->store,
                      scan (t, &start, false, &prefix, event_each, &w));
}

store_status_t
store_workflow_events_scan (store_txn_t *t, const store_wf_t *swf,
                            store_event_fn fn, void *arg)
{
    for (uint32_t i = 0; i < swf->ledger.n_history; i++) {
        uint64_t seq = swf->ledger.history[i];
        dbkey_t k = log_key (seq);
        MDB_val ev;
        int rc = db_get (t, &k, &ev);
        if (rc == MDB_NOTFOUND)
            continue;
        if (rc)
            return status_of (t->store, rc);
        if (!fn (arg, seq, ev.mv_data, ev.mv_size))
            break;
    }
    return STORE_OK;
}

/* ---- idempotency ---- */

#define REPLY_HEAD 17               /* at · body-hash · id-length */

/* Writes a reply record under `k`. */
static int
put_reply_record (store_txn_t *t, const dbkey_t *k, exf_str_t id,
                  int64_t now_ms, uint64_t hash, const void *reply,
                  size_t len, unsigned flags)
{
    /* MDB_RESERVE hands back the value's place in the page: fill it there */
    MDB_val key = val_of_key (k), v = { REPLY_HEAD + id.len + len, NULL };
    int rc = mdb_put (t->txn, t->store->dbi, &key, &v, flags | MDB_RESERVE);
    if (rc)
        return rc;
    uint8_t *p = v.mv_data;
    put_be64 (p, (uint64_t) now_ms);
    put_be64 (p + 8, hash);
    p[16] = (uint8_t) id.len;
    memcpy (p + REPLY_HEAD, id.ptr, id.len);
    memcpy (p + REPLY_HEAD + id.len, reply, len);
    return 0;
}

/* Reads the reply record under `k` if it is the one for `id` (and, when
 * `at_ms` is not 0, was written then: reply seqs restart once the whole log
 * has been swept, so an old reference may name a newer record). */
static int
get_reply_record (store_txn_t *t, const dbkey_t *k, exf_str_t id,
                  int64_t at_ms, uint64_t *hash, const void **reply,
                  size_t *len)
{
    MDB_val v;
    int rc = db_get (t, k, &v);
    if (rc)
        return rc;
    const uint8_t *p = v.mv_data;
    if (v.mv_size < REPLY_HEAD || p[16] != id.len
        || (at_ms && (int64_t) get_be64 (p) != at_ms)
        || v.mv_size < REPLY_HEAD + id.len
        || memcmp (p + REPLY_HEAD, id.ptr, id.len) != 0)
        return MDB_NOTFOUND;
    *hash = get_be64 (p + 8);
    *reply = p + REPLY_HEAD + id.len;
    *len = v.mv_size - REPLY_HEAD - id.len;
    return 0;
}

static dbkey_t
reply_log_key (uint64_t reply_seq)
{
    dbkey_t k = { .n = 0 };
    key_byte (&k, 'R');
    key_u64 (&k, reply_seq);
    return k;
}

static dbkey_t
day_reply_key (int64_t day, exf_str_t id)
{
    dbkey_t k = { .n = 0 };
    key_byte (&k, 'U');
    key_u64 (&k, (uint64_t) day);
    key_bytes (&k, id.ptr, id.len);
    return k;
}

/* The reply record for `id`, looked up as store_reply_get says. */
static int
find_reply (store_txn_t *t, const store_wf_t *scope, exf_str_t id,
            int64_t now_ms, uint64_t *hash, const void **reply, size_t *len)
{
    int64_t keep_from = now_ms - t->store->reply_keep_ms;
    if (scope) {
        uint64_t id_hash = codec_hash (id.ptr, id.len, 0);
        const record_ledger_t *l = &scope->ledger;
        for (uint32_t i = l->n_replies; i-- > 0;) {
            const record_reply_ref_t *ref = &l->replies[i];
            if (ref->id_hash != id_hash || ref->at_ms < keep_from)
                continue;
            dbkey_t k = reply_log_key (ref->reply_seq);
            int rc = get_reply_record (t, &k, id, ref->at_ms, hash, reply,
                                       len);
            if (rc != MDB_NOTFOUND)
                return rc;
        }
        return MDB_NOTFOUND;
    }
    /* an unscoped reply lives under the day it was written: look at every
     * day the retention still covers */
    for (int64_t day = now_ms / DAY_MS; day >= keep_from / DAY_MS; day--) {
        dbkey_t k = day_reply_key (day, id);
        int rc = get_reply_record (t, &k, id, 0, hash, reply, len);
        if (rc != MDB_NOTFOUND)
            return rc;
    }
    return MDB_NOTFOUND;
}

store_status_t
store_reply_get (store_txn_t *t, const store_wf_t *scope, exf_str_t id,
                 int64_t now_ms, uint64_t *hash, const void **reply,
                 size_t *len)
{
    return status_of (t->store,
                      find_reply (t, scope, id, now_ms, hash, reply, len));
}

store_status_t
store_reply_put (store_txn_t *t, store_wf_t *scope, exf_str_t id,
                 int64_t now_ms, uint64_t hash, const void *reply, size_t len)
{
    if (!scope) {
        dbkey_t k = day_reply_key (now_ms / DAY_MS, id);
        return status_of (t->store, put_reply_record (t, &k, id, now_ms, hash,
                                                      reply, len, 0));
    }
    uint64_t reply_seq = t->reply_seq + 1;
    dbkey_t k = reply_log_key (reply_seq);
    /* not MDB_APPEND: that compares with the last key of the whole tree */
    int rc = put_reply_record (t, &k, id, now_ms, hash, reply, len,
                               MDB_NOOVERWRITE);
    if (rc)
        return status_of (t->store, rc);
    t->reply_seq = reply_seq;
    record_reply_ref_t ref = { codec_hash (id.ptr, id.len, 0), reply_seq,
                               now_ms };
    record_ledger_add_reply (&scope->ledger, ref,
                             now_ms - t->store->reply_keep_ms);
    return STORE_OK;
}

/* Deletes entries under `prefix` while `doomed` picks them (both logs are
 * in time order, so the first survivor ends the walk), up to `*budget`. A
 * cursor delete leaves the cursor on the next entry, which MDB_NEXT then
 * returns. */
typedef bool (*doomed_fn) (const MDB_val *k, const MDB_val *v, int64_t limit);

static int
delete_where (store_txn_t *t, uint8_t prefix, doomed_fn doomed, int64_t limit,
              int *budget, int *deleted)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open (t->txn, t->store->dbi, &cur);
    if (rc)
        return rc;
    MDB_val k = val_of (&prefix, 1), v;
    rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && *budget > 0 && k.mv_size >= 1
           && ((uint8_t *) k.mv_data)[0] == prefix) {
        if (!doomed (&k, &v, limit))
            break;
        if ((rc = mdb_cursor_del (cur, 0)))
            break;
        (*budget)--;
        (*deleted)++;
        rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close (cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* R seq: written before `limit` ms (the log is in time order). */
static bool
reply_expired (const MDB_val *k, const MDB_val *v, int64_t limit)
{
    (void) k;
    return v->mv_size >= 8 && (int64_t) get_be64 (v->mv_data) < limit;
}

/* U day id: whole days before day `limit`. */
static bool
day_expired (const MDB_val *k, const MDB_val *v, int64_t limit)
{
    (void) v;
    return k->mv_size >= 9
           && (int64_t) get_be64 ((uint8_t *) k->mv_data + 1) < limit;
}

store_status_t
store_replies_sweep (store_txn_t *t, int64_t now_ms, int budget, int *deleted)
{
    int64_t keep_from = now_ms - t->store->reply_keep_ms;
    *deleted = 0;
    int rc = delete_where (t, 'R', reply_expired, keep_from, &budget, deleted);
    if (!rc)
        rc = delete_where (t, 'U', day_expired, keep_from / DAY_MS, &budget,
                           deleted);
    return status_of (t->store, rc);
}

/* ---- consumers ---- */

store_status_t
store_consumer_get (store_txn_t *t, const char *name, uint64_t *seq)
{
    MDB_val v;
    dbkey_t k = prefixed_key ('C', name);
    int rc = db_get (t, &k, &v);
    if (!rc)
        *seq = v.mv_size == 8 ? get_be64 (v.mv_data) : 0;
    return status_of (t->store, rc);
}

store_status_t
store_consumer_put (store_txn_t *t, const char *name, uint64_t seq)
{
    uint8_t buf[8];
    put_be64 (buf, seq);
    dbkey_t k = prefixed_key ('C', name);
    return status_of (t->store, db_put (t, &k, val_of (buf, 8), 0));
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
    size_t n = k->mv_size - 1 < EXF_ID_MAX ? k->mv_size - 1 : EXF_ID_MAX;
    memcpy (name, (uint8_t *) k->mv_data + 1, n);
    name[n] = '\0';
    return w->fn (w->arg, name, v->mv_size == 8 ? get_be64 (v->mv_data) : 0);
}

store_status_t
store_consumers_scan (store_txn_t *t, store_consumer_fn fn, void *arg)
{
    dbkey_t prefix = { .n = 0 };
    key_byte (&prefix, 'C');
    consumer_walk_t w = { fn, arg };
    return status_of (t->store,
                      scan (t, &prefix, false, &prefix, consumer_each, &w));
}
