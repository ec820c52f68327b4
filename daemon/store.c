/* store — LMDB persistence for exitflow. See store.h.
 *
 * One B-tree, keys by prefix. The layout is chosen for the commit, which is
 * where the time goes: an fsync'd commit costs about one device write per
 * dirty page, so what a batch of commands writes should land on as few
 * pages as possible. Everything a command on a workflow reads or writes
 * is in the workflow's one record while the workflow is young: its newest
 * events' seqs and the references to its newest stored replies ride in the
 * record's ledger (record.h), RECORD_RECENT of each. Older ones move out,
 * as the workflow is stored, into index entries beside the record (W id h,
 * W id r), so nothing a command reads grows with the commands the workflow
 * has seen: a reply is found in the ledger or by one lookup of (workflow,
 * id hash), and the history is read only by workflow.history, a page at a
 * time. Everything appended is keyed in time order, so a batch dirties the
 * records it changes plus the tail pages of the log, the reply log and the
 * state index.
 *
 * workflow.list finds workflows by key (a member's client or enrollment,
 * the household, a caseworker) through index entries that hold the state
 * in their key: they move only when what they index changes — every one at
 * a change of state (start, finish, cancel), an actor's when the last
 * actor changes, the stalled entry when the stall is marked or ended — so
 * the command that changes none of it, nearly every one, writes none.
 *
 *   W id h seq            → ""  (an event of the workflow's history,
 *                                 older than its ledger's)
 *   W id p                → the members' prior values (Default Last)
 *   W id r id-hash rseq   → at  (a reply to a command on the workflow,
 *                                 older than its ledger's)
 *   W id w                → the stored workflow and its ledger
 *   S state at id         → ""  (workflow.list, stall scan; at = updated_at)
 *   T at id               → ""  (open workflows marked stalled; at =
 *                                 updated_at, which a stall does not change
 *                                 and any change, ending the stall, does)
 *   F key len value state id → ""  (workflow.list by key: key c a member's
 *                                 client_id, e its enrollment_id, h the
 *                                 household, a started_by and last_actor,
 *                                 one entry per distinct actor; len is the
 *                                 value's length, so one value's entries
 *                                 are one range, by state then id)
 *   H household           → id of its open workflow
 *   L seq                 → event, as published
 *   R rseq                → reply record of a command naming a workflow
 *   U day request-id      → reply record of a command naming none
 *   C name                → consumer offset
 *   M name                → meta: "counts" (per state), "format" (the
 *                           schema version, store.h: a store of an older
 *                           schema is upgraded when it is opened), and in
 *                           a schema-2 store "indexes" (whether it holds
 *                           the F and T entries yet)
 *
 * Numbers are big-endian so byte order is numeric order. A reply record is
 * at(8) · body-hash(8) · id-length(1) · id · scope-length(1) · scope ·
 * reply, the scope being the workflow id of an R record (the sweep finds
 * the reference to delete with it) and empty in a U record.
 *
 * Every value ends with its seal (seal.h): written by db_put, checked by
 * every read before anything else sees the bytes, so a damaged record is
 * STORE_CORRUPT with its key named in the fault detail, never data. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "seal.h"
#include "verify.h"

#define DAY_MS (24LL * 3600 * 1000)
/* Workflows read per pass of the upgrade (all in its one transaction). */
#define UPGRADE_BATCH 2000
#define KEY_MAX 160
/* lock.mdb's blocks, allocated before LMDB maps the file for writing: its
 * reader table fits (LMDB sizes it from the file, about 1,000 readers) */
#define LOCK_RESERVE (64 * 1024)

struct store_t {
    char *dir;
    int lock_fd;                    /* flock'd: one daemon per data directory */
    MDB_env *env;
    MDB_dbi dbi;
    uint64_t committed_seq;
    uint64_t committed_reply_seq;
    int64_t reply_keep_ms;
    size_t max_map_size;            /* store_grow's limit */
    int opened_format;              /* the schema found at open */
    bool map_full;                  /* the last fault was LMDB's MAP_FULL */
    bool full;                      /* a write met full storage that could
                                       not grow; no write committed since */
    int copies;                     /* copies reading the map (no growth) */
    char detail[256];               /* what the storage said of the last fault */
    bool detail_set;                /* … when the store said it itself */
};

struct store_txn_t {
    store_t *store;
    MDB_txn *txn;
    bool write;
    uint64_t seq;                   /* last seq, including this txn's events */
    uint64_t reply_seq;             /* likewise for the reply log */
    bool stored;                    /* a value was put: its commit shows
                                       there is room */
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
    case STORE_CORRUPT: return "a stored record is damaged";
    case STORE_BUSY: return "storage is in use by another process";
    case STORE_VERSION:
        return "the store's schema is not one this exitflowd serves";
    case STORE_FAULT: break;
    }
    return "storage fault";
}

int
store_exit_status (store_status_t status)
{
    switch (status) {
    case STORE_FULL: return STORE_EXIT_FULL;
    case STORE_READ_ONLY: return STORE_EXIT_READ_ONLY;
    case STORE_CORRUPT: return STORE_EXIT_DAMAGED;
    case STORE_VERSION: return STORE_EXIT_VERSION;
    default: return 1;
    }
}

/* Bytes free to an unprivileged writer on the filesystem holding `dir`,
 * or UINT64_MAX when it cannot be told. */
static uint64_t
free_bytes (const char *dir)
{
    struct statvfs fs;
    if (statvfs (dir, &fs))
        return UINT64_MAX;
    return (uint64_t) fs.f_bavail * fs.f_frsize;
}

/* LMDB's and the system's codes become the store's statuses here, and
 * nowhere else. LMDB reports a short write as EIO: with the disk nearly
 * full, that is a full disk. */
static store_status_t
status_of (store_t *self, int rc)
{
    store_status_t status;
    bool said = self->detail_set;
    self->detail_set = false;
    switch (rc) {
    case 0: return STORE_OK;
    case MDB_NOTFOUND: return STORE_NOT_FOUND;
    case MDB_MAP_FULL: case MDB_TXN_FULL: case ENOSPC: case EDQUOT:
        status = STORE_FULL;
        break;
    case EIO: {
        uint64_t left = free_bytes (self->dir);
        status = left < STORE_SHORT_WRITE_FREE ? STORE_FULL : STORE_FAULT;
        if (status == STORE_FULL && !said) {
            snprintf (self->detail, sizeof self->detail, "no space left on "
                      "the device: a write fell short with %llu KiB free",
                      (unsigned long long) (left / 1024));
            said = true;
        }
        break;
    }
    case EROFS: case EACCES:
        status = STORE_READ_ONLY;
        break;
    case MDB_CORRUPTED: case MDB_PAGE_NOTFOUND:
        status = STORE_CORRUPT;
        break;
    default:
        status = STORE_FAULT;
    }
    /* store_grow answers this one by growing the map */
    self->map_full = rc == MDB_MAP_FULL;
    if (!said)
        snprintf (self->detail, sizeof self->detail, "%s", mdb_strerror (rc));
    return status;
}

const char *
store_fault_detail (const store_t *self)
{
    return self->detail;
}

/* A damaged record: its key, printable, goes into the fault detail. */
static int
damaged (store_t *self, const MDB_val *key, const char *what)
{
    char name[160];
    seal_key_name (key->mv_data, key->mv_size, name, sizeof name);
    snprintf (self->detail, sizeof self->detail, "the record at key %s %s",
              name, what);
    self->detail_set = true;
    return MDB_CORRUPTED;
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

/* T at id */
static dbkey_t
stalled_key (int64_t at, const char *id)
{
    dbkey_t k = { .n = 0 };
    key_byte (&k, 'T');
    key_u64 (&k, (uint64_t) at);
    key_bytes (&k, id, WF_ID_LEN);
    return k;
}

static const char find_kinds[STORE_KEY_COUNT] = {
    [STORE_KEY_CLIENT] = 'c', [STORE_KEY_ENROLLMENT] = 'e',
    [STORE_KEY_HOUSEHOLD] = 'h', [STORE_KEY_ACTOR] = 'a' };

/* F key len value: the range of one value's entries. */
static dbkey_t
find_prefix (store_key_t key, const char *value)
{
    dbkey_t k = { .n = 0 };
    size_t n = strlen (value);
    key_byte (&k, 'F');
    key_byte (&k, (uint8_t) find_kinds[key]);
    key_byte (&k, (uint8_t) (n < EXF_ID_MAX ? n : EXF_ID_MAX));
    key_bytes (&k, value, n < EXF_ID_MAX ? n : EXF_ID_MAX);
    return k;
}

/* F key len value state id */
static dbkey_t
find_key (store_key_t key, const char *value, wf_state_t state,
          const char *id)
{
    dbkey_t k = find_prefix (key, value);
    key_byte (&k, (uint8_t) state);
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

/* A sealed value of `len` bytes under `k`, to be filled at `*p` (the
 * value's place in the page) and then sealed with db_seal. */
static int
db_reserve (store_txn_t *t, const dbkey_t *k, size_t len, unsigned flags,
            uint8_t **p)
{
    MDB_val key = val_of_key (k), v = { len + SEAL_LEN, NULL };
    int rc = mdb_put (t->txn, t->store->dbi, &key, &v, flags | MDB_RESERVE);
    *p = rc ? NULL : v.mv_data;
    t->stored |= rc == 0;
    return rc;
}

static void
db_seal (const dbkey_t *k, uint8_t *p, size_t len)
{
    seal_write (k->b, k->n, p, len);
}

static int
db_put (store_txn_t *t, const dbkey_t *k, MDB_val v, unsigned flags)
{
    uint8_t *p;
    int rc = db_reserve (t, k, v.mv_size, flags, &p);
    if (rc)
        return rc;
    if (v.mv_size)
        memcpy (p, v.mv_data, v.mv_size);
    db_seal (k, p, v.mv_size);
    return 0;
}

/* Checks a value read under `key` and strips its seal. */
static int
unseal (store_t *self, const MDB_val *key, MDB_val *v)
{
    if (!seal_check (key->mv_data, key->mv_size, v->mv_data, v->mv_size))
        return damaged (self, key, "fails its seal");
    v->mv_size -= SEAL_LEN;
    return 0;
}

static int
db_get (store_txn_t *t, const dbkey_t *k, MDB_val *v)
{
    MDB_val key = val_of_key (k);
    int rc = mdb_get (t->txn, t->store->dbi, &key, v);
    return rc ? rc : unseal (t->store, &key, v);
}

static int
db_del (store_txn_t *t, const dbkey_t *k)
{
    MDB_val key = val_of_key (k);
    int rc = mdb_del (t->txn, t->store->dbi, &key, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Walks keys from `start` (exclusive when asked) while they begin with
 * `prefix`, calling `each` with every checked value until it returns
 * false. */
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
        if ((rc = unseal (t->store, &k, &v)) || !each (arg, &k, &v))
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

/* A fault before the store is open: the kind in `*status`, the reason in
 * `why`. Always false. */
static bool
refuse (store_status_t *status, store_status_t kind, char *why, size_t cap,
        const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));

static bool
refuse (store_status_t *status, store_status_t kind, char *why, size_t cap,
        const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (why, cap, fmt, ap);
    va_end (ap);
    *status = kind;
    return false;
}

/* The kind of a system error met while setting up. */
static store_status_t
setup_status (int err)
{
    switch (err) {
    case EROFS: case EACCES: case EPERM: return STORE_READ_ONLY;
    case ENOSPC: case EDQUOT: return STORE_FULL;
    default: return STORE_FAULT;
    }
}

/* The data directory, writable, held by this process alone. */
static bool
take_directory (store_t *self, store_status_t *status, char *why, size_t cap)
{
    const char *dir = self->dir;
    if (mkdir (dir, 0750) && errno != EEXIST)
        return refuse (status, setup_status (errno), why, cap,
                       "cannot create %s: %s", dir, strerror (errno));
    char path[4096];
    snprintf (path, sizeof path, "%s/exitflowd.lock", dir);
    self->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (self->lock_fd < 0) {
        int err = errno;
        store_status_t kind = setup_status (err);
        return refuse (status, kind, why, cap, "%s %s (%s: %s)", dir,
                       err == EROFS ? "is on a read-only filesystem"
                       : kind == STORE_READ_ONLY ? "is not writable"
                       : kind == STORE_FULL ? "has no space"
                       : "cannot be used", path, strerror (err));
    }
    /* LMDB allows several writers across processes, but seqs are kept in
     * memory: a second daemon on the same store would reuse them */
    if (flock (self->lock_fd, LOCK_EX | LOCK_NB))
        return refuse (status, errno == EWOULDBLOCK ? STORE_BUSY : STORE_FAULT,
                       why, cap, "%s is in use by another exitflowd (%s)", dir,
                       strerror (errno));
    return true;
}

/* Room for LMDB before it maps anything: a full disk found now is an
 * answer; found by a write into a mapped page, it is a SIGBUS. LMDB maps
 * the lock file for writing, so its blocks are allocated here; the data
 * file is written with write(2), whose errors LMDB returns. */
static bool
reserve_space (store_t *self, store_status_t *status, char *why, size_t cap)
{
    uint64_t left = free_bytes (self->dir);
    if (left < STORE_START_FREE)
        return refuse (status, STORE_FULL, why, cap, "no space: %s has %llu "
                       "KiB free, exitflowd needs %llu KiB to start",
                       self->dir, (unsigned long long) (left / 1024),
                       (unsigned long long) (STORE_START_FREE / 1024));
    char path[4096];
    snprintf (path, sizeof path, "%s/lock.mdb", self->dir);
    int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    int err = fd < 0 ? errno : posix_fallocate (fd, 0, LOCK_RESERVE);
    if (fd >= 0)
        close (fd);
    if (err)
        return refuse (status, setup_status (err), why, cap,
                       "cannot reserve %s: %s", path, strerror (err));
    return true;
}

static void
note_problem (void *arg, bool problem, const char *line)
{
    char *first = arg;
    if (problem && !first[0])
        snprintf (first, 200, "%s", line);
}

/* An existing store is checked whole before it is served. */
static bool
verify_existing (store_t *self, store_status_t *status, char *why, size_t cap)
{
    char first[200] = "";
    switch (verify_store (self->dir, note_problem, first)) {
    case VERIFY_CLEAN: case VERIFY_NO_STORE:
        return true;
    case VERIFY_DAMAGED:
        return refuse (status, STORE_CORRUPT, why, cap, "the store in %s is "
                       "damaged (%s): see exitflowd --verify %s, and restore "
                       "from a backup", self->dir, first, self->dir);
    case VERIFY_OLD_FORMAT:
        return refuse (status, STORE_VERSION, why, cap, "the store in %s "
                       "was written by an older exitflowd (schema 1, "
                       "without seals), which this one cannot upgrade: it "
                       "upgrades schema %d and later", self->dir,
                       STORE_FORMAT_OLDEST);
    case VERIFY_NEWER_FORMAT:       /* clean as far as this one can tell: */
        return true;                /* the schema check says what it is */
    default:
        return refuse (status, STORE_FAULT, why, cap, "cannot verify the "
                       "store in %s: %s", self->dir, first);
    }
}

/* LMDB's assertions abort the process: say first what it means. */
static void
on_lmdb_assert (MDB_env *env, const char *msg)
{
    const char *dir = "DIR";
    mdb_env_get_path (env, &dir);
    fprintf (stderr, "exitflowd error: LMDB: %s: the store in %s is damaged; "
             "see exitflowd --verify %s\n", msg, dir, dir);
}

/* Reads the seqs back and the schema mark: `*format` is 0 for a store
 * without one, which can only be a new, empty store (the verifier refuses
 * any other). Reads only: a store that is refused stays as it was. */
static int
open_tree (store_t *self, uint64_t *format)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    *format = 0;
    if (!(rc = mdb_dbi_open (txn, NULL, 0, &self->dbi))) {
        self->committed_seq = read_last_number (txn, self->dbi, 'L');
        self->committed_reply_seq = read_last_number (txn, self->dbi, 'R');
        store_txn_t t = { .store = self, .txn = txn };
        dbkey_t k = prefixed_key ('M', "format");
        MDB_val v;
        rc = db_get (&t, &k, &v);
        if (!rc && v.mv_size == 8)
            *format = get_be64 (v.mv_data);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    mdb_txn_abort (txn);
    return rc;
}

/* Puts the schema mark in `t`. */
static int
put_format (store_txn_t *t)
{
    uint8_t format[8];
    put_be64 (format, STORE_FORMAT);
    dbkey_t k = prefixed_key ('M', "format");
    return db_put (t, &k, val_of (format, 8), 0);
}

/* A new store gets its mark. */
static int
mark_new (store_t *self)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc)
        return rc;
    store_txn_t t = { .store = self, .txn = txn, .write = true };
    if ((rc = put_format (&t))) {
        mdb_txn_abort (txn);
        return rc;
    }
    return mdb_txn_commit (txn);
}

/* Defined with the workflows: an older store brought to STORE_FORMAT. */
static int upgrade (store_t *self);

/* The map doubled, up to the maximum; false when it cannot grow. */
static bool
grow_map (store_t *self)
{
    uint64_t from, to;
    return store_grow (self, &from, &to) == STORE_OK;
}

/* The store in the schema this exitflowd writes: a new one marked, an
 * older one upgraded in one transaction (the map grown when it must), a
 * newer one refused before anything is written. */
static bool
settle_schema (store_t *self, store_status_t *status, char *why, size_t cap)
{
    uint64_t format = 0;
    int rc = open_tree (self, &format);
    self->opened_format = (int) (format ? format : STORE_FORMAT);
    if (!rc && format > STORE_FORMAT)
        return refuse (status, STORE_VERSION, why, cap, "the store in %s is "
                       "of schema %llu, written by a newer exitflowd; this "
                       "one serves schemas %d to %d: run a newer exitflowd "
                       "(the store is left as it is)", self->dir,
                       (unsigned long long) format, STORE_FORMAT_OLDEST,
                       STORE_FORMAT);
    if (!rc && format && format < STORE_FORMAT_OLDEST)
        return refuse (status, STORE_VERSION, why, cap, "the store in %s is "
                       "of schema %llu, which this exitflowd cannot upgrade "
                       "(it upgrades schema %d and later)", self->dir,
                       (unsigned long long) format, STORE_FORMAT_OLDEST);
    if (!rc && !format)
        rc = mark_new (self);
    else if (!rc && format < STORE_FORMAT)
        while ((rc = upgrade (self)) == MDB_MAP_FULL) {
            self->map_full = true;  /* store_grow grows only after one */
            if (!grow_map (self))
                break;
        }
    if (rc) {
        *status = status_of (self, rc);
        return refuse (status, *status, why, cap, "LMDB at %s: %s%s",
                       self->dir, self->detail,
                       rc == MDB_MAP_FULL ? " (upgrading the store needs a "
                       "larger --map-size or --max-map-size)" : "");
    }
    return true;
}

store_t *
store_open (const store_options_t *options, store_status_t *status,
            char *why, size_t cap)
{
    store_t *self = calloc (1, sizeof *self);
    *status = STORE_FAULT;
    if (!self || !(self->dir = strdup (options->dir))) {
        free (self);
        snprintf (why, cap, "out of memory");
        return NULL;
    }
    self->lock_fd = -1;
    self->reply_keep_ms = options->reply_keep_ms;
    self->max_map_size = options->max_map_size > options->map_size
                         ? options->max_map_size : options->map_size;
    if (!take_directory (self, status, why, cap)
        || !reserve_space (self, status, why, cap)
        || !verify_existing (self, status, why, cap)) {
        store_destroy (&self);
        return NULL;
    }
    int rc;
    if ((rc = mdb_env_create (&self->env))
        || (rc = mdb_env_set_mapsize (self->env, options->map_size))
        || (rc = mdb_env_set_assert (self->env, on_lmdb_assert))
        || (rc = mdb_env_open (self->env, self->dir, MDB_NOTLS, 0640))) {
        mdb_env_close (self->env);  /* closes a half-open one too */
        self->env = NULL;
        *status = status_of (self, rc);
        snprintf (why, cap, "LMDB at %s: %s", self->dir, self->detail);
        store_destroy (&self);
        return NULL;
    }
    int dead = 0;
    mdb_reader_check (self->env, &dead);    /* readers of crashed processes */
    if (!settle_schema (self, status, why, cap)) {
        store_destroy (&self);
        return NULL;
    }
    *status = STORE_OK;
    return self;
}

store_t *
store_new (const char *dir, size_t map_size, int64_t reply_keep_ms,
           store_status_t *status, char *why, size_t cap)
{
    store_options_t options = { .dir = dir, .map_size = map_size,
                                .max_map_size = map_size,
                                .reply_keep_ms = reply_keep_ms };
    return store_open (&options, status, why, cap);
}

int
store_opened_format (const store_t *self)
{
    return self->opened_format;
}

void
store_destroy (store_t **self_p)
{
    store_t *self = *self_p;
    if (!self)
        return;
    if (self->env)
        mdb_env_close (self->env);
    if (self->lock_fd >= 0)
        close (self->lock_fd);
    free (self->dir);
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
        /* only a commit that stored something shows there is room again:
         * a batch of refusals that stored nothing commits an empty txn */
        if (t->stored)
            self->full = false;
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

/* ---- the map ---- */

store_t *
store_txn_store (store_txn_t *t)
{
    return t->store;
}

void
store_map (store_t *self, store_map_t *out)
{
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info (self->env, &info);
    mdb_env_stat (self->env, &st);
    out->map_size = info.me_mapsize;
    out->max_map_size = self->max_map_size > info.me_mapsize
                        ? self->max_map_size : info.me_mapsize;
    out->file_bytes = (uint64_t) (info.me_last_pgno + 1) * st.ms_psize;
    out->full = self->full;
}

/* LMDB lets the map change only while this process has no transaction:
 * it unmaps the file and maps it again, larger. A write that met the end
 * of the map was aborted whole, so running it again in the larger map
 * changes nothing but where it ends. */
store_status_t
store_grow (store_t *self, uint64_t *from, uint64_t *to)
{
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info (self->env, &info);
    mdb_env_stat (self->env, &st);
    *from = *to = info.me_mapsize;
    if (!self->map_full || info.me_mapsize >= self->max_map_size) {
        self->full = true;
        return STORE_FULL;
    }
    if (self->copies)
        return STORE_BUSY;
    uint64_t want = info.me_mapsize > self->max_map_size / 2
                    ? self->max_map_size : info.me_mapsize * 2;
    want -= want % st.ms_psize;
    int rc = mdb_env_set_mapsize (self->env, want);
    if (rc) {
        store_status_t status = status_of (self, rc);
        /* the old size mapped again: it was mapped a moment ago */
        mdb_env_set_mapsize (self->env, info.me_mapsize);
        return status == STORE_FULL ? STORE_FAULT : status;
    }
    self->map_full = false;
    *to = want;
    return STORE_OK;
}

/* ---- online copies ---- */

void
store_copy_hold (store_t *self)
{
    self->copies++;
}

void
store_copy_release (store_t *self)
{
    self->copies--;
}

/* A copy's fault, in the copy's words (not the store's fault detail,
 * which belongs to the loop's thread). */
static store_status_t
copy_fault (int rc, const char *what, char *why, size_t cap)
{
    snprintf (why, cap, "%s: %s", what, mdb_strerror (rc));
    return rc == ENOSPC || rc == EDQUOT ? STORE_FULL
           : rc == EROFS || rc == EACCES ? STORE_READ_ONLY : STORE_FAULT;
}

/* The last event seq of the copy at `path`, read with LMDB (read-only,
 * no lock file: nothing else opens the copy yet), and its schema mark,
 * which must be this store's. */
static store_status_t
read_copy (const char *path, size_t size, uint64_t *last_seq, char *why,
           size_t cap)
{
    MDB_env *env;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_val v;
    dbkey_t k = prefixed_key ('M', "format");
    MDB_val key = val_of_key (&k);
    int rc = mdb_env_create (&env);
    if (rc)
        return copy_fault (rc, "cannot read the copy back", why, cap);
    if (!(rc = mdb_env_set_mapsize (env, size))
        && !(rc = mdb_env_open (env, path, MDB_NOSUBDIR | MDB_RDONLY
                                | MDB_NOLOCK, 0600))
        && !(rc = mdb_txn_begin (env, NULL, MDB_RDONLY, &txn))
        && !(rc = mdb_dbi_open (txn, NULL, 0, &dbi))
        && !(rc = mdb_get (txn, dbi, &key, &v))) {
        *last_seq = read_last_number (txn, dbi, 'L');
        if (!seal_check (k.b, k.n, v.mv_data, v.mv_size)
            || v.mv_size != 8 + SEAL_LEN
            || get_be64 (v.mv_data) != STORE_FORMAT)
            rc = MDB_CORRUPTED;
    }
    if (txn)
        mdb_txn_abort (txn);
    mdb_env_close (env);
    return rc ? copy_fault (rc, "the copy does not read back", why, cap)
              : STORE_OK;
}

store_status_t
store_copy (store_t *self, int fd, const char *path, uint64_t *last_seq,
            char *why, size_t cap)
{
    int rc = mdb_env_copyfd2 (self->env, fd, MDB_CP_COMPACT);
    if (!rc && fsync (fd))
        rc = errno;
    if (rc)
        return copy_fault (rc, "cannot write the copy", why, cap);
    struct stat st;
    if (fstat (fd, &st))
        return copy_fault (errno, "cannot read the copy back", why, cap);
    return read_copy (path, (size_t) st.st_size, last_seq, why, cap);
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
    store_wf_place_t p = { .state = wf->state, .updated_at = wf->updated_at,
                           .stalled = wf->stalled, .exists = true };
    memcpy (p.last_actor, wf->last_actor, sizeof p.last_actor);
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

/* A sealed value that does not decode is damage all the same (a value
 * written wrong): named by its key. */
static int
undecodable (store_txn_t *t, const char *id, char kind)
{
    dbkey_t k = workflow_key (id, kind);
    MDB_val key = val_of_key (&k);
    return damaged (t->store, &key, "does not decode");
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
        rc = undecodable (t, workflow_id, 'w');
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
        rc = undecodable (t, wf->workflow_id, 'p');
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

static int
put_or_del (store_txn_t *t, const dbkey_t *k, bool put)
{
    return put ? db_put (t, k, val_of ("", 0), 0) : db_del (t, k);
}

/* The entries of the keys a workflow never changes, in `state`: its
 * household's and each member's client and enrollment. */
static int
fixed_entries (store_txn_t *t, const workflow_t *wf, wf_state_t state,
               bool put)
{
    const char *id = wf->workflow_id;
    dbkey_t k = find_key (STORE_KEY_HOUSEHOLD, wf->household_id, state, id);
    int rc = put_or_del (t, &k, put);
    for (int i = 0; !rc && i < wf->n_members; i++) {
        const wf_member_t *m = &wf->members[i];
        k = find_key (STORE_KEY_CLIENT, m->client_id, state, id);
        if (!(rc = put_or_del (t, &k, put))) {
            k = find_key (STORE_KEY_ENROLLMENT, m->enrollment_id, state, id);
            rc = put_or_del (t, &k, put);
        }
    }
    return rc;
}

/* The actors a workflow is found by, given its last actor: its starter
 * and that one, each once, none empty. */
static int
actors_of (const workflow_t *wf, const char *last_actor, const char *out[2])
{
    int n = 0;
    if (wf->started_by[0])
        out[n++] = wf->started_by;
    if (last_actor[0] && strcmp (last_actor, wf->started_by))
        out[n++] = last_actor;
    return n;
}

static bool
among (const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp (names[i], name) == 0)
            return true;
    return false;
}

/* Moves the workflow's F and T entries from where `before` says they were
 * to where they are: only those whose indexed value changed. */
static int
reindex_find (store_txn_t *t, const store_wf_place_t *before,
              const workflow_t *wf)
{
    bool moved = !before->exists || before->state != wf->state;
    const char *was[2], *now[2];
    int n_was = before->exists ? actors_of (wf, before->last_actor, was) : 0;
    int n_now = actors_of (wf, wf->last_actor, now);
    int rc = 0;
    if (moved && before->exists)
        rc = fixed_entries (t, wf, before->state, false);
    if (!rc && moved)
        rc = fixed_entries (t, wf, wf->state, true);
    for (int i = 0; !rc && i < n_was; i++)
        if (moved || !among (now, n_now, was[i])) {
            dbkey_t k = find_key (STORE_KEY_ACTOR, was[i], before->state,
                                  wf->workflow_id);
            rc = db_del (t, &k);
        }
    for (int i = 0; !rc && i < n_now; i++)
        if (moved || !among (was, n_was, now[i])) {
            dbkey_t k = find_key (STORE_KEY_ACTOR, now[i], wf->state,
                                  wf->workflow_id);
            rc = db_put (t, &k, val_of ("", 0), 0);
        }
    bool was_stalled = before->exists && before->state == WF_OPEN
                       && before->stalled;
    bool is_stalled = wf->state == WF_OPEN && wf->stalled;
    bool same = was_stalled && is_stalled
                && before->updated_at == wf->updated_at;
    if (!rc && was_stalled && !same) {
        dbkey_t k = stalled_key (before->updated_at, wf->workflow_id);
        rc = db_del (t, &k);
    }
    if (!rc && is_stalled && !same) {
        dbkey_t k = stalled_key (wf->updated_at, wf->workflow_id);
        rc = db_put (t, &k, val_of ("", 0), 0);
    }
    return rc;
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
    return rc ? rc : reindex_find (t, before, wf);
}

/* W id h seq: one event of the workflow's history. */
static dbkey_t
history_key (const char *id, uint64_t seq)
{
    dbkey_t k = workflow_key (id, 'h');
    key_u64 (&k, seq);
    return k;
}

/* W id r id-hash [rseq]: where the workflow's replies to an id are. */
static dbkey_t
reply_ref_key (const char *workflow_id, uint64_t id_hash)
{
    dbkey_t k = workflow_key (workflow_id, 'r');
    key_u64 (&k, id_hash);
    return k;
}

/* Moves what the ledger holds past RECORD_RECENT into index entries, the
 * oldest first: one of each per command at most, once a workflow is old. */
static int
spill_ledger (store_txn_t *t, const char *id, record_ledger_t *l)
{
    uint32_t events = l->n_history > RECORD_RECENT
                      ? l->n_history - RECORD_RECENT : 0;
    uint32_t replies = l->n_replies > RECORD_RECENT
                       ? l->n_replies - RECORD_RECENT : 0;
    int rc = 0;
    for (uint32_t i = 0; !rc && i < events; i++) {
        dbkey_t k = history_key (id, l->history[i]);
        rc = db_put (t, &k, val_of ("", 0), 0);
    }
    for (uint32_t i = 0; !rc && i < replies; i++) {
        const record_reply_ref_t *ref = &l->replies[i];
        uint8_t at[8];
        put_be64 (at, (uint64_t) ref->at_ms);
        dbkey_t k = reply_ref_key (id, ref->id_hash);
        key_u64 (&k, ref->reply_seq);
        rc = db_put (t, &k, val_of (at, 8), 0);
    }
    if (!rc)
        record_ledger_drop_oldest (l, events, replies);
    return rc;
}

store_status_t
store_workflow_put (store_txn_t *t, store_wf_t *swf)
{
    const workflow_t *wf = swf->wf;
    int rc = spill_ledger (t, wf->workflow_id, &swf->ledger);
    if (rc)
        return status_of (t->store, rc);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    record_pack (&pk, wf, &swf->ledger);
    dbkey_t k = workflow_key (wf->workflow_id, 'w');
    rc = db_put (t, &k, val_of (sb.data, sb.size), 0);
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

/* A walk over one listing: index entries of one length whose key ends
 * with the workflow id, with updated_at at `at_offset` (-1: none). */
typedef struct {
    store_list_fn fn;
    void *arg;
    size_t key_len;
    int at_offset;
    int64_t max_at;
} list_walk_t;

static bool
list_each (void *arg, MDB_val *k, MDB_val *v)
{
    (void) v;
    list_walk_t *w = arg;
    const uint8_t *key = k->mv_data;
    if (k->mv_size != w->key_len)
        return true;
    if (w->at_offset >= 0 && (int64_t) get_be64 (key + w->at_offset) > w->max_at)
        return false;
    char id[WF_ID_LEN + 1];
    memcpy (id, key + k->mv_size - WF_ID_LEN, WF_ID_LEN);
    id[WF_ID_LEN] = '\0';
    return w->fn (w->arg, id, key, k->mv_size);
}

/* Walks the listing under `prefix`, from just after the cursor `after`
 * or from its start; a cursor of another listing is MDB_NOTFOUND. */
static store_status_t
list_from (store_txn_t *t, const dbkey_t *prefix, const void *after,
           size_t after_len, list_walk_t *w)
{
    dbkey_t start = *prefix;
    if (after_len) {
        if (after_len != w->key_len || memcmp (after, prefix->b, prefix->n))
            return STORE_NOT_FOUND;
        start.n = 0;
        key_bytes (&start, after, after_len);
    }
    return status_of (t->store,
                      scan (t, &start, after_len > 0, prefix, list_each, w));
}

store_status_t
store_workflow_list (store_txn_t *t, wf_state_t state, const void *after,
                     size_t after_len, int64_t max_updated_at,
                     store_list_fn fn, void *arg)
{
    dbkey_t prefix = { .n = 0 };
    key_byte (key_byte (&prefix, 'S'), (uint8_t) state);
    list_walk_t w = { fn, arg, 2 + 8 + WF_ID_LEN, 2, max_updated_at };
    return list_from (t, &prefix, after, after_len, &w);
}

/* The S entries of `state` from `min_updated_at` on: one seek to where
 * that time starts (or to the cursor, which must lie in the span), then one
 * step per item. */
store_status_t
store_workflow_list_since (store_txn_t *t, wf_state_t state,
                           int64_t min_updated_at, int64_t max_updated_at,
                           const void *after, size_t after_len,
                           store_list_fn fn, void *arg)
{
    dbkey_t prefix = { .n = 0 };
    key_byte (key_byte (&prefix, 'S'), (uint8_t) state);
    list_walk_t w = { fn, arg, 2 + 8 + WF_ID_LEN, 2, max_updated_at };
    if (after_len)
        return after_len == w.key_len
               && (int64_t) get_be64 ((const uint8_t *) after + 2)
                  >= min_updated_at
               ? list_from (t, &prefix, after, after_len, &w)
               : STORE_NOT_FOUND;
    dbkey_t start = prefix;
    key_u64 (&start, (uint64_t) (min_updated_at > 0 ? min_updated_at : 0));
    return status_of (t->store, scan (t, &start, false, &prefix, list_each,
                                      &w));
}

store_status_t
store_workflow_list_stalled (store_txn_t *t, const void *after,
                             size_t after_len, int64_t max_updated_at,
                             store_list_fn fn, void *arg)
{
    dbkey_t prefix = { .n = 0 };
    key_byte (&prefix, 'T');
    list_walk_t w = { fn, arg, 1 + 8 + WF_ID_LEN, 1, max_updated_at };
    return list_from (t, &prefix, after, after_len, &w);
}

store_status_t
store_workflow_find (store_txn_t *t, store_key_t key, const char *value,
                     int state, const void *after, size_t after_len,
                     store_list_fn fn, void *arg)
{
    dbkey_t prefix = find_prefix (key, value);
    size_t key_len = prefix.n + 1 + WF_ID_LEN;
    if (state >= 0)
        key_byte (&prefix, (uint8_t) state);
    list_walk_t w = { fn, arg, key_len, -1, INT64_MAX };
    return list_from (t, &prefix, after, after_len, &w);
}

/* ---- upgrading an older store ---- */

/* Up to UPGRADE_BATCH workflow ids, read before any is written. */
typedef struct {
    char ids[UPGRADE_BATCH][WF_ID_LEN + 1];
    int n;
} id_batch_t;

static bool
collect_id (void *arg, MDB_val *k, MDB_val *v)
{
    (void) v;
    id_batch_t *b = arg;
    const uint8_t *key = k->mv_data;
    if (k->mv_size == 2 + WF_ID_LEN && key[1 + WF_ID_LEN] == 'w') {
        memcpy (b->ids[b->n], key + 1, WF_ID_LEN);
        b->ids[b->n++][WF_ID_LEN] = '\0';
    }
    return b->n < UPGRADE_BATCH;
}

/* Brings the workflows after `after` ("" from the first), a batch of
 * them, to the current schema in `t`: each record in the current layout
 * (written again only when that changes its bytes) and, when the store
 * did not have them, the workflow's F and T entries. */
static int
upgrade_batch (store_txn_t *t, id_batch_t *b, char after[WF_ID_LEN + 1],
               bool indexed, store_wf_t *swf, bool *done)
{
    dbkey_t prefix = { .n = 0 };
    key_byte (&prefix, 'W');
    dbkey_t start = after[0] ? workflow_key (after, 'w') : prefix;
    b->n = 0;
    int rc = scan (t, &start, after[0] != 0, &prefix, collect_id, b);
    store_wf_place_t nowhere = { .exists = false };
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    for (int i = 0; !rc && i < b->n; i++) {
        MDB_val v;
        workflow_reset (swf->wf);
        record_ledger_fini (&swf->ledger);
        rc = get_workflow_value (t, b->ids[i], 'w', &v);
        if (!rc && !record_unpack (swf->wf, &swf->ledger, v.mv_data,
                                   v.mv_size))
            rc = undecodable (t, b->ids[i], 'w');
        if (rc)
            break;
        msgpack_sbuffer_clear (&sb);
        record_pack (&pk, swf->wf, &swf->ledger);
        if (sb.size != v.mv_size || memcmp (sb.data, v.mv_data, sb.size)) {
            dbkey_t k = workflow_key (b->ids[i], 'w');
            rc = db_put (t, &k, val_of (sb.data, sb.size), 0);
        }
        if (!rc && !indexed)
            rc = reindex_find (t, &nowhere, swf->wf);
    }
    msgpack_sbuffer_destroy (&sb);
    *done = b->n < UPGRADE_BATCH;
    if (!rc && b->n)
        memcpy (after, b->ids[b->n - 1], WF_ID_LEN + 1);
    return rc;
}

/* Schema 2 to 3, in one transaction, so that a store is of one schema or
 * the other, never between: every workflow record in layout 3, the F and
 * T entries when the store did not have them ("M indexes"), the mark. A
 * store upgraded halfway never exists; an upgrade cut short (a crash, a
 * full map) is simply done again at the next start. */
static int
upgrade (store_t *self)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc)
        return rc;
    store_txn_t t = { .store = self, .txn = txn, .write = true };
    MDB_val v;
    dbkey_t indexes = prefixed_key ('M', "indexes");
    rc = db_get (&t, &indexes, &v);
    bool indexed = !rc && v.mv_size == 8 && get_be64 (v.mv_data) >= 1;
    rc = rc == MDB_NOTFOUND ? 0 : rc;
    id_batch_t *batch = malloc (sizeof *batch);
    store_wf_t *swf = store_wf_new ();
    char after[WF_ID_LEN + 1] = "";
    bool done = false;
    rc = rc ? rc : batch ? 0 : ENOMEM;
    while (!rc && !done)
        rc = upgrade_batch (&t, batch, after, indexed, swf, &done);
    store_wf_destroy (&swf);
    free (batch);
    if (!rc && !(rc = db_del (&t, &indexes)))
        rc = put_format (&t);
    if (rc) {
        mdb_txn_abort (txn);
        return rc;
    }
    return mdb_txn_commit (txn);
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

typedef struct {
    store_txn_t *t;
    store_event_fn fn;
    void *arg;
    bool stopped;                   /* the callback had enough */
    int rc;                         /* a fault met reading an event */
} history_walk_t;

#define HISTORY_KEY_LEN (2 + WF_ID_LEN + 8)

/* Hands the event `seq` of the log to the walk's callback. */
static bool
history_event (history_walk_t *w, uint64_t seq)
{
    dbkey_t lk = log_key (seq);
    MDB_val ev;
    w->rc = db_get (w->t, &lk, &ev);
    if (w->rc == MDB_NOTFOUND) {
        w->rc = 0;
        return true;
    }
    if (!w->rc && !w->fn (w->arg, seq, ev.mv_data, ev.mv_size))
        w->stopped = true;
    return !w->rc && !w->stopped;
}

static bool
history_each (void *arg, MDB_val *k, MDB_val *v)
{
    (void) v;
    if (k->mv_size != HISTORY_KEY_LEN)
        return true;
    return history_event (arg, get_be64 ((uint8_t *) k->mv_data + 2
                                         + WF_ID_LEN));
}

store_status_t
store_workflow_events_scan (store_txn_t *t, const store_wf_t *swf,
                            uint64_t after, store_event_fn fn, void *arg)
{
    /* the index holds the older events, the ledger the newest */
    const char *id = swf->wf->workflow_id;
    dbkey_t prefix = workflow_key (id, 'h');
    dbkey_t start = history_key (id, after);
    history_walk_t w = { t, fn, arg, false, 0 };
    int rc = scan (t, &start, true, &prefix, history_each, &w);
    const record_ledger_t *l = &swf->ledger;
    for (uint32_t i = 0; !rc && !w.rc && !w.stopped && i < l->n_history; i++)
        if (l->history[i] > after)
            history_event (&w, l->history[i]);
    return status_of (t->store, rc ? rc : w.rc);
}

/* ---- idempotency ---- */

#define REPLY_HEAD 17               /* at · body-hash · id-length */

/* A reply record's parts. */
typedef struct {
    int64_t at_ms;
    uint64_t hash;
    exf_str_t id;
    exf_str_t scope;                /* the workflow of an R record */
    const void *reply;
    size_t len;
} reply_record_t;

/* Writes a reply record under `k`. */
static int
put_reply_record (store_txn_t *t, const dbkey_t *k, const reply_record_t *r,
                  unsigned flags)
{
    /* MDB_RESERVE hands back the value's place in the page: fill it there */
    size_t len = REPLY_HEAD + r->id.len + 1 + r->scope.len + r->len;
    uint8_t *p;
    int rc = db_reserve (t, k, len, flags, &p);
    if (rc)
        return rc;
    uint8_t *at = p;
    put_be64 (at, (uint64_t) r->at_ms);
    put_be64 (at + 8, r->hash);
    at[16] = (uint8_t) r->id.len;
    memcpy (at += REPLY_HEAD, r->id.ptr, r->id.len);
    *(at += r->id.len) = (uint8_t) r->scope.len;
    memcpy (at += 1, r->scope.ptr, r->scope.len);
    memcpy (at + r->scope.len, r->reply, r->len);
    db_seal (k, p, len);
    return 0;
}

/* Splits a checked reply record; false when its parts do not add up. */
static bool
split_reply_record (const MDB_val *v, reply_record_t *r)
{
    const uint8_t *p = v->mv_data;
    size_t n = v->mv_size;
    if (n < REPLY_HEAD + 1 || n < REPLY_HEAD + (size_t) p[16] + 1)
        return false;
    r->at_ms = (int64_t) get_be64 (p);
    r->hash = get_be64 (p + 8);
    r->id = (exf_str_t) { (const char *) p + REPLY_HEAD, p[16] };
    size_t scope_at = REPLY_HEAD + r->id.len;
    if (n < scope_at + 1 + p[scope_at])
        return false;
    r->scope = (exf_str_t) { (const char *) p + scope_at + 1, p[scope_at] };
    r->reply = p + scope_at + 1 + r->scope.len;
    r->len = n - scope_at - 1 - r->scope.len;
    return true;
}

/* Reads the reply record under `k` if it is the one for `id` (and, when
 * `at_ms` is not 0, was written then). */
static int
get_reply_record (store_txn_t *t, const dbkey_t *k, exf_str_t id,
                  int64_t at_ms, reply_record_t *r)
{
    MDB_val v;
    int rc = db_get (t, k, &v);
    if (rc)
        return rc;
    if (!split_reply_record (&v, r)) {
        MDB_val key = val_of_key (k);
        return damaged (t->store, &key, "does not decode");
    }
    if ((at_ms && r->at_ms != at_ms) || r->id.len != id.len
        || memcmp (r->id.ptr, id.ptr, id.len) != 0)
        return MDB_NOTFOUND;
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

#define REPLY_REF_KEY_LEN (2 + WF_ID_LEN + 16)

typedef struct {
    store_txn_t *t;
    exf_str_t id;
    int64_t keep_from;
    reply_record_t found;
    int rc;                         /* 0 once one is found */
} ref_walk_t;

/* One reference to a reply to the id's hash: the newest that names a
 * record of this id within the retention wins. Reply seqs restart when the
 * whole log has been swept, so a reference is held to its record's time. */
static bool
ref_found (ref_walk_t *w, uint64_t reply_seq, int64_t at)
{
    if (at < w->keep_from)
        return false;
    dbkey_t rk = reply_log_key (reply_seq);
    reply_record_t r;
    int rc = get_reply_record (w->t, &rk, w->id, at, &r);
    if (rc == MDB_NOTFOUND)
        return false;
    w->rc = rc;
    if (!rc)
        w->found = r;
    return true;
}

static bool
ref_each (void *arg, MDB_val *k, MDB_val *v)
{
    ref_walk_t *w = arg;
    if (k->mv_size == REPLY_REF_KEY_LEN && v->mv_size == 8)
        ref_found (w, get_be64 ((uint8_t *) k->mv_data + 2 + WF_ID_LEN + 8),
                   (int64_t) get_be64 (v->mv_data));
    return w->rc == 0 || w->rc == MDB_NOTFOUND;
}

/* The reply record for `id`, looked up as store_reply_get says: a scoped
 * one in the workflow's ledger, newest first, then among its older
 * references in the index. */
static int
find_reply (store_txn_t *t, const store_wf_t *scope, exf_str_t id,
            int64_t now_ms, reply_record_t *r)
{
    int64_t keep_from = now_ms - t->store->reply_keep_ms;
    if (scope) {
        ref_walk_t w = { t, id, keep_from, .rc = MDB_NOTFOUND };
        uint64_t id_hash = codec_hash (id.ptr, id.len, 0);
        const record_ledger_t *l = &scope->ledger;
        for (uint32_t i = l->n_replies; i-- > 0;)
            if (l->replies[i].id_hash == id_hash
                && ref_found (&w, l->replies[i].reply_seq,
                              l->replies[i].at_ms))
                break;
        /* the index holds references older than the ledger's oldest: only
         * a full ledger may have moved some there, and only while its
         * oldest is within the retention are they */
        int rc = 0;
        if (w.rc == MDB_NOTFOUND && l->n_replies >= RECORD_RECENT
            && l->replies[0].at_ms >= keep_from) {
            dbkey_t prefix = reply_ref_key (scope->wf->workflow_id, id_hash);
            rc = scan (t, &prefix, false, &prefix, ref_each, &w);
        }
        *r = w.found;
        return rc ? rc : w.rc;
    }
    /* an unscoped reply lives under the day it was written: look at every
     * day the retention still covers */
    for (int64_t day = now_ms / DAY_MS; day >= keep_from / DAY_MS; day--) {
        dbkey_t k = day_reply_key (day, id);
        int rc = get_reply_record (t, &k, id, 0, r);
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
    reply_record_t r;
    int rc = find_reply (t, scope, id, now_ms, &r);
    if (!rc) {
        *hash = r.hash;
        *reply = r.reply;
        *len = r.len;
    }
    return status_of (t->store, rc);
}

store_status_t
store_reply_put (store_txn_t *t, store_wf_t *scope, exf_str_t id,
                 int64_t now_ms, uint64_t hash, const void *reply, size_t len)
{
    reply_record_t r = { now_ms, hash, id, { "", 0 }, reply, len };
    if (!scope) {
        dbkey_t k = day_reply_key (now_ms / DAY_MS, id);
        return status_of (t->store, put_reply_record (t, &k, &r, 0));
    }
    r.scope = (exf_str_t) { scope->wf->workflow_id, WF_ID_LEN };
    uint64_t reply_seq = t->reply_seq + 1;
    dbkey_t k = reply_log_key (reply_seq);
    /* not MDB_APPEND: that compares with the last key of the whole tree */
    int rc = put_reply_record (t, &k, &r, MDB_NOOVERWRITE);
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
 * in time order, so the first survivor ends the walk), up to `*budget`,
 * with what `also` names for each (the reference to an R record), deleted
 * once the walk is over. A cursor delete leaves the cursor on the next
 * entry, which MDB_NEXT then returns. */
typedef bool (*doomed_fn) (const MDB_val *k, const MDB_val *v, int64_t limit);
typedef bool (*also_fn) (const MDB_val *k, const MDB_val *v, dbkey_t *also);

static int
delete_where (store_txn_t *t, uint8_t prefix, doomed_fn doomed, also_fn also,
              int64_t limit, int *budget, int *deleted)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open (t->txn, t->store->dbi, &cur);
    if (rc)
        return rc;
    dbkey_t *companions = also ? calloc ((size_t) *budget + 1,
                                         sizeof *companions) : NULL;
    int n_companions = 0;
    if (also && !companions)
        abort ();
    MDB_val k = val_of (&prefix, 1), v;
    rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && *budget > 0 && k.mv_size >= 1
           && ((uint8_t *) k.mv_data)[0] == prefix) {
        if ((rc = unseal (t->store, &k, &v)) || !doomed (&k, &v, limit))
            break;
        if (also && also (&k, &v, &companions[n_companions]))
            n_companions++;
        if ((rc = mdb_cursor_del (cur, 0)))
            break;
        (*budget)--;
        (*deleted)++;
        rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close (cur);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    for (int i = 0; !rc && i < n_companions; i++)
        rc = db_del (t, &companions[i]);
    free (companions);
    return rc;
}

/* R seq: written before `limit` ms (the log is in time order). */
static bool
reply_expired (const MDB_val *k, const MDB_val *v, int64_t limit)
{
    (void) k;
    return v->mv_size >= 8 && (int64_t) get_be64 (v->mv_data) < limit;
}

/* R seq: its reference under its workflow. */
static bool
reply_reference (const MDB_val *k, const MDB_val *v, dbkey_t *ref)
{
    reply_record_t r;
    if (k->mv_size != 9 || !split_reply_record (v, &r)
        || r.scope.len != WF_ID_LEN)
        return false;
    char wf_id[WF_ID_LEN + 1];
    memcpy (wf_id, r.scope.ptr, WF_ID_LEN);
    wf_id[WF_ID_LEN] = '\0';
    *ref = reply_ref_key (wf_id, codec_hash (r.id.ptr, r.id.len, 0));
    key_bytes (ref, (uint8_t *) k->mv_data + 1, 8);
    return true;
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
    int rc = delete_where (t, 'R', reply_expired, reply_reference, keep_from,
                           &budget, deleted);
    if (!rc)
        rc = delete_where (t, 'U', day_expired, NULL, keep_from / DAY_MS,
                           &budget, deleted);
    return status_of (t->store, rc);
}

/* ---- consumers ---- */

/* C name → seq(8) · acked_at(8); a record written before the ack time
 * was kept holds the seq alone. */
static store_consumer_t
consumer_of (const MDB_val *v)
{
    store_consumer_t c = { 0, 0 };
    if (v->mv_size >= 8)
        c.seq = get_be64 (v->mv_data);
    if (v->mv_size >= 16)
        c.acked_at = (int64_t) get_be64 ((uint8_t *) v->mv_data + 8);
    return c;
}

store_status_t
store_consumer_get (store_txn_t *t, const char *name, store_consumer_t *out)
{
    MDB_val v;
    dbkey_t k = prefixed_key ('C', name);
    int rc = db_get (t, &k, &v);
    if (!rc)
        *out = consumer_of (&v);
    return status_of (t->store, rc);
}

store_status_t
store_consumer_put (store_txn_t *t, const char *name,
                    const store_consumer_t *c)
{
    uint8_t buf[16];
    put_be64 (buf, c->seq);
    put_be64 (buf + 8, (uint64_t) c->acked_at);
    dbkey_t k = prefixed_key ('C', name);
    return status_of (t->store, db_put (t, &k, val_of (buf, 16), 0));
}

store_status_t
store_consumer_delete (store_txn_t *t, const char *name)
{
    dbkey_t k = prefixed_key ('C', name);
    MDB_val key = val_of_key (&k);
    return status_of (t->store, mdb_del (t->txn, t->store->dbi, &key, NULL));
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
    store_consumer_t c = consumer_of (v);
    return w->fn (w->arg, name, &c);
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

/* ---- figures for monitoring ---- */

_Static_assert (KEY_MAX <= STORE_TALLY_KEY_MAX, "a tally holds any key");

store_status_t
store_space (store_txn_t *t, uint64_t *map_size, uint64_t *used)
{
    MDB_envinfo info;
    MDB_stat st;
    MDB_cursor *cur;
    uint64_t free_pages = 0;
    int rc = mdb_env_info (t->store->env, &info);
    if (!rc)
        rc = mdb_env_stat (t->store->env, &st);
    /* LMDB's free list is its database 0: each value an ID list whose
     * first word is its length (as mdb_stat -f reads it) */
    if (!rc && !(rc = mdb_cursor_open (t->txn, 0, &cur))) {
        MDB_val k, v;
        while (!(rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT))) {
            size_t n = 0;
            if (v.mv_size >= sizeof n)
                memcpy (&n, v.mv_data, sizeof n);
            free_pages += n;
        }
        mdb_cursor_close (cur);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    if (rc)
        return status_of (t->store, rc);
    uint64_t pages = (uint64_t) info.me_last_pgno + 1;
    *map_size = info.me_mapsize;
    *used = (pages > free_pages ? pages - free_pages : 0) * st.ms_psize;
    return STORE_OK;
}

store_status_t
store_oldest_open (store_txn_t *t, int64_t *updated_at)
{
    /* S open at id: the first is the open workflow changed longest ago */
    dbkey_t prefix = { .n = 0 };
    key_byte (key_byte (&prefix, 'S'), (uint8_t) WF_OPEN);
    MDB_cursor *cur;
    int rc = mdb_cursor_open (t->txn, t->store->dbi, &cur);
    if (rc)
        return status_of (t->store, rc);
    MDB_val k = val_of_key (&prefix), v;
    rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
    *updated_at = 0;
    if (!rc && k.mv_size >= prefix.n + 8
        && memcmp (k.mv_data, prefix.b, prefix.n) == 0)
        *updated_at = (int64_t) get_be64 ((uint8_t *) k.mv_data + prefix.n);
    mdb_cursor_close (cur);
    return status_of (t->store, rc == MDB_NOTFOUND ? 0 : rc);
}

/* The prefixes each tally walks, in key order. */
static const char *const tally_prefixes[STORE_TALLY_COUNT] = {
    [STORE_TALLY_STALLED] = "T",            /* T at id */
    [STORE_TALLY_REPLIES] = "RU",           /* R rseq, U day request-id */
};

store_status_t
store_tally (store_txn_t *t, store_tally_kind_t kind, store_tally_t *walk,
             int budget, uint64_t *total, bool *done)
{
    const char *prefix = tally_prefixes[kind];
    if (walk->from_len && strchr (prefix, walk->from[0]))
        prefix = strchr (prefix, walk->from[0]);
    else
        walk->from_len = 0;
    *done = false;
    MDB_cursor *cur;
    int rc = mdb_cursor_open (t->txn, t->store->dbi, &cur);
    if (rc)
        return status_of (t->store, rc);
    MDB_val k = walk->from_len ? val_of (walk->from, walk->from_len)
                               : val_of (prefix, 1), v;
    rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
    for (int steps = 0; rc == 0 || rc == MDB_NOTFOUND; steps++) {
        if (rc == MDB_NOTFOUND || ((uint8_t *) k.mv_data)[0] != *prefix) {
            if (!*++prefix) {               /* the walk is over */
                *total = walk->counted;
                *done = true;
                walk->counted = 0;
                walk->from_len = 0;
                rc = 0;
                break;
            }
            k = val_of (prefix, 1);
            rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
            continue;
        }
        if (steps >= budget) {              /* go on from here next time */
            walk->from_len = k.mv_size <= sizeof walk->from ? k.mv_size : 0;
            memcpy (walk->from, k.mv_data, walk->from_len);
            rc = 0;
            break;
        }
        walk->counted++;
        rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close (cur);
    return status_of (t->store, rc);
}
