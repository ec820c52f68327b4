/* verify — whether a store is whole. See verify.h.
 *
 * The pages are read with pread from the data file, not through the map,
 * and every offset is checked before it is followed, so the walk itself
 * cannot fault on a damaged page. It knows LMDB 0.9's page format (the
 * one Debian's liblmdb writes; "mdb.c" names in the comments):
 *
 *   page   = pgno(8) pad(2) flags(2) lower(2) upper(2) ptrs[(lower-16)/2]
 *            (an overflow page has pages(4) in place of lower and upper)
 *   node   = lo(2) hi(2) flags(2) ksize(2) key data      (at page + ptr)
 *            leaf: data size lo|hi<<16, F_BIGDATA: data is an overflow pgno
 *            branch: child pgno lo|hi<<16|flags<<32, no data
 *   meta   = page header, magic(4) version(4) address(8) mapsize(8)
 *            db[2] last_pg(8) txnid(8)              (pages 0 and 1)
 *   db     = pad(4) flags(2) depth(2) branch(8) leaf(8) overflow(8)
 *            entries(8) root(8)          (db[0] free pages, db[1] main)
 *
 * The free-page tree maps a txnid to the pages that transaction freed
 * ([count, pgno…], native 64-bit). LMDB keeps every page from 2 to the
 * last in use exactly once or listed free exactly once (mdb.c, MDB_page):
 * the walk marks each page it meets and reports any met twice or never. */
#include "verify.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seal.h"
#include "store.h"

#define PAGE_HEAD 16
#define NODE_HEAD 8
#define P_BRANCH 0x01
#define P_LEAF 0x02
#define P_OVERFLOW 0x04
#define P_META 0x08
#define F_BIGDATA 0x01
#define META_MAGIC 0xBEEFC0DEu
#define META_VERSION 1
#define NO_PAGE UINT64_MAX          /* an empty tree's root */
#define MAX_DEPTH 32
#define KEY_MAX 511

/* The child's exit codes, one per verdict. */
enum { CHILD_CLEAN, CHILD_DAMAGED, CHILD_OLD_FORMAT, CHILD_NO_STORE,
       CHILD_FAILED, CHILD_NEWER_FORMAT };

typedef struct {
    uint32_t psize;
    uint16_t flags;
    uint16_t depth;
    uint64_t branch, leaf, overflow, entries, root;
} db_info_t;

typedef struct {
    bool valid;
    uint64_t last_pg, txnid;
    db_info_t db[2];
} meta_t;

typedef struct {
    int fd;
    size_t psize;
    uint64_t last_pg;
    uint8_t *seen;                  /* a bit per page up to last_pg */
    FILE *out;
    uint64_t problems;
    uint64_t entries;               /* of the data tree, by its record */
    uint64_t records, bad_seals;
    bool format_seen;
    uint64_t format;                /* the schema mark's */
} walk_t;

/* What one tree's walk counted, to hold against its db record. */
typedef struct {
    bool is_free;
    uint64_t branch, leaf, overflow, entries;
    int leaf_depth;                 /* 0 until the first leaf */
} tree_t;

typedef struct {
    const uint8_t *p;
    size_t n;
} bytes_t;

static void problem (walk_t *w, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
problem (walk_t *w, const char *fmt, ...)
{
    if (w->problems++ >= VERIFY_MAX_PROBLEMS)
        return;
    va_list ap;
    va_start (ap, fmt);
    fputc ('!', w->out);
    vfprintf (w->out, fmt, ap);
    fputc ('\n', w->out);
    va_end (ap);
}

static uint16_t
u16_at (const uint8_t *p)
{
    uint16_t v;
    memcpy (&v, p, sizeof v);       /* LMDB writes host order */
    return v;
}

static uint32_t
u32_at (const uint8_t *p)
{
    uint32_t v;
    memcpy (&v, p, sizeof v);
    return v;
}

static uint64_t
u64_at (const uint8_t *p)
{
    uint64_t v;
    memcpy (&v, p, sizeof v);
    return v;
}

/* ---- pages ---- */

static bool
read_page (walk_t *w, uint64_t pgno, uint8_t *page)
{
    ssize_t got = pread (w->fd, page, w->psize, (off_t) (pgno * w->psize));
    return got == (ssize_t) w->psize;
}

/* Marks a page as met; false (with the problem told) when it lies past
 * the last page or was met already. */
static bool
claim (walk_t *w, uint64_t pgno, const char *what)
{
    if (pgno < 2 || pgno > w->last_pg) {
        problem (w, "%s page %llu is outside the store (pages 2 to %llu)",
                 what, (unsigned long long) pgno,
                 (unsigned long long) w->last_pg);
        return false;
    }
    uint8_t bit = (uint8_t) (1u << (pgno & 7));
    if (w->seen[pgno >> 3] & bit) {
        problem (w, "page %llu is reached twice (as a %s page)",
                 (unsigned long long) pgno, what);
        return false;
    }
    w->seen[pgno >> 3] |= bit;
    return true;
}

/* LMDB's order: the main tree's keys as bytes (shorter first on a tie),
 * the free tree's as native integers. */
static int
key_cmp (const tree_t *t, bytes_t a, bytes_t b)
{
    if (t->is_free && a.n == 8 && b.n == 8) {
        uint64_t x = u64_at (a.p), y = u64_at (b.p);
        return x < y ? -1 : x > y;
    }
    int c = memcmp (a.p, b.p, a.n < b.n ? a.n : b.n);
    return c ? c : a.n < b.n ? -1 : a.n > b.n;
}

static void
name_key (bytes_t key, char *out, size_t cap)
{
    seal_key_name (key.p, key.n, out, cap);
}

/* The value of a leaf node: in the page, or on overflow pages, which it
 * claims. `*buf` holds overflow data (the caller frees it). */
static bool
leaf_data (walk_t *w, tree_t *t, uint64_t pgno, const uint8_t *page,
           size_t at, uint16_t flags, size_t dsize, uint8_t **buf,
           bytes_t *data)
{
    if (!(flags & F_BIGDATA)) {
        if (at + dsize > w->psize) {
            problem (w, "page %llu: a value runs past the page",
                     (unsigned long long) pgno);
            return false;
        }
        *data = (bytes_t) { page + at, dsize };
        return true;
    }
    if (at + 8 > w->psize) {
        problem (w, "page %llu: an overflow reference runs past the page",
                 (unsigned long long) pgno);
        return false;
    }
    uint64_t first = u64_at (page + at);
    uint64_t pages = (PAGE_HEAD - 1 + dsize) / w->psize + 1;
    if (!claim (w, first, "overflow"))
        return false;
    uint8_t head[PAGE_HEAD];
    if (pread (w->fd, head, PAGE_HEAD, (off_t) (first * w->psize))
            != PAGE_HEAD
        || u64_at (head) != first || u16_at (head + 10) != P_OVERFLOW
        || u32_at (head + 12) != pages) {
        problem (w, "overflow page %llu (of page %llu): bad header",
                 (unsigned long long) first, (unsigned long long) pgno);
        return false;
    }
    for (uint64_t i = 1; i < pages; i++)
        if (!claim (w, first + i, "overflow"))
            return false;
    t->overflow += pages;
    *buf = malloc (dsize ? dsize : 1);
    if (!*buf
        || pread (w->fd, *buf, dsize, (off_t) (first * w->psize + PAGE_HEAD))
               != (ssize_t) dsize) {
        problem (w, "overflow page %llu: cannot be read whole",
                 (unsigned long long) first);
        return false;
    }
    *data = (bytes_t) { *buf, dsize };
    return true;
}

/* One record: its seal (main tree) or its list of free pages. */
static void
check_record (walk_t *w, tree_t *t, bytes_t key, bytes_t data)
{
    if (t->is_free) {
        uint64_t n = data.n >= 8 ? u64_at (data.p) : 0;
        if (key.n != 8 || data.n < 8 || data.n != (n + 1) * 8) {
            problem (w, "a free-page record does not hold a page list");
            return;
        }
        for (uint64_t i = 1; i <= n; i++)
            claim (w, u64_at (data.p + 8 * i), "free");
        return;
    }
    w->records++;
    char name[96];
    if (!seal_check (key.p, key.n, data.p, data.n)) {
        w->bad_seals++;
        name_key (key, name, sizeof name);
        problem (w, "the record at key %s fails its seal", name);
        return;
    }
    size_t klen = strlen (STORE_FORMAT_KEY);
    if (key.n == klen && !memcmp (key.p, STORE_FORMAT_KEY, klen)) {
        uint64_t format = 0;
        for (size_t i = 0; i + SEAL_LEN < data.n && i < 8; i++)
            format = format << 8 | data.p[i];
        /* a newer schema is no damage: the daemon refuses it, and says */
        if (data.n != 8 + SEAL_LEN || format < STORE_FORMAT_OLDEST)
            problem (w, "the store's schema mark says %llu, which no "
                     "exitflowd wrote", (unsigned long long) format);
        w->format_seen = true;
        w->format = format;
    }
}

/* The page's node `i` at `*at`, or false when its header or key do not
 * fit in the page. */
static bool
node_at (walk_t *w, uint64_t pgno, const uint8_t *page, unsigned i,
         uint16_t upper, size_t *at, bytes_t *key)
{
    size_t off = u16_at (page + PAGE_HEAD + 2 * i);
    if (off < upper || off & 1 || off + NODE_HEAD > w->psize) {
        problem (w, "page %llu: node %u lies outside the page's used space",
                 (unsigned long long) pgno, i);
        return false;
    }
    size_t ksize = u16_at (page + off + 6);
    if (ksize > KEY_MAX || off + NODE_HEAD + ksize > w->psize) {
        problem (w, "page %llu: node %u's key runs past the page",
                 (unsigned long long) pgno, i);
        return false;
    }
    *key = (bytes_t) { page + off + NODE_HEAD, ksize };
    *at = off;
    return true;
}

/* Whether `key` sits where the page's place in the tree says, after the
 * page's previous key. */
static bool
key_in_place (walk_t *w, tree_t *t, uint64_t pgno, bytes_t key,
              const bytes_t *prev, const bytes_t *lo, const bytes_t *hi)
{
    if ((prev && key_cmp (t, *prev, key) >= 0)
        || (lo && key_cmp (t, key, *lo) < 0)
        || (hi && key_cmp (t, key, *hi) >= 0)) {
        char name[96];
        name_key (key, name, sizeof name);
        problem (w, "page %llu: key %s is out of order", 
                 (unsigned long long) pgno, name);
        return false;
    }
    return true;
}

/* Walks the subtree at `pgno`, whose keys must lie in [lo, hi) (NULL: no
 * bound). */
static void
walk_page (walk_t *w, tree_t *t, uint64_t pgno, int depth, const bytes_t *lo,
           const bytes_t *hi)
{
    if (depth > MAX_DEPTH) {
        problem (w, "the tree is deeper than %d pages", MAX_DEPTH);
        return;
    }
    if (!claim (w, pgno, "tree"))
        return;
    uint8_t *page = malloc (w->psize);
    if (!page || !read_page (w, pgno, page)) {
        problem (w, "page %llu cannot be read (past the end of the file?)",
                 (unsigned long long) pgno);
        free (page);
        return;
    }
    uint16_t flags = u16_at (page + 10), lower = u16_at (page + 12),
             upper = u16_at (page + 14);
    unsigned n = lower >= PAGE_HEAD ? (unsigned) (lower - PAGE_HEAD) / 2 : 0;
    if (u64_at (page) != pgno)
        problem (w, "page %llu: its header says it is page %llu",
                 (unsigned long long) pgno,
                 (unsigned long long) u64_at (page));
    else if (flags != P_BRANCH && flags != P_LEAF)
        problem (w, "page %llu: flags 0x%x, not a branch or a leaf page",
                 (unsigned long long) pgno, flags);
    else if (lower < PAGE_HEAD || lower & 1 || lower > upper
             || upper > w->psize || n == 0)
        problem (w, "page %llu: bounds %u..%u do not describe a page",
                 (unsigned long long) pgno, lower, upper);
    else if (flags == P_BRANCH) {
        t->branch++;
        bytes_t keys[2];            /* this node's and the next one's */
        size_t at;
        bytes_t *cur = NULL;
        for (unsigned i = 0; i < n; i++) {
            /* a branch page's first key is a placeholder: its lower bound
             * is the page's own */
            if (!node_at (w, pgno, page, i, upper, &at, &keys[i & 1]))
                break;
            bytes_t *key = i ? &keys[i & 1] : NULL;
            if (key && !key_in_place (w, t, pgno, *key, cur, lo, hi))
                break;
            bytes_t *next = NULL, next_key;
            size_t next_at;
            if (i + 1 < n) {
                if (!node_at (w, pgno, page, i + 1, upper, &next_at,
                              &next_key))
                    break;
                next = &next_key;
            }
            uint64_t child = (uint64_t) u16_at (page + at)
                             | (uint64_t) u16_at (page + at + 2) << 16
                             | (uint64_t) u16_at (page + at + 4) << 32;
            walk_page (w, t, child, depth + 1, key ? key : lo,
                       next ? next : hi);
            cur = key;
        }
    } else {
        t->leaf++;
        if (!t->leaf_depth)
            t->leaf_depth = depth;
        else if (t->leaf_depth != depth)
            problem (w, "page %llu: a leaf at depth %d, others at %d",
                     (unsigned long long) pgno, depth, t->leaf_depth);
        bytes_t keys[2];
        for (unsigned i = 0; i < n; i++) {
            size_t at;
            bytes_t *key = &keys[i & 1];
            if (!node_at (w, pgno, page, i, upper, &at, key)
                || !key_in_place (w, t, pgno, *key, i ? &keys[~i & 1] : NULL,
                                  lo, hi))
                break;
            uint16_t nflags = u16_at (page + at + 4);
            size_t dsize = (size_t) u16_at (page + at)
                           | (size_t) u16_at (page + at + 2) << 16;
            if (nflags & ~F_BIGDATA) {
                problem (w, "page %llu: node %u has flags 0x%x",
                         (unsigned long long) pgno, i, nflags);
                break;
            }
            uint8_t *buf = NULL;
            bytes_t data;
            bool ok = leaf_data (w, t, pgno, page, at + NODE_HEAD + key->n,
                                 nflags, dsize, &buf, &data);
            if (ok)
                check_record (w, t, *key, data);
            free (buf);
            if (!ok)
                break;
            t->entries++;
        }
    }
    free (page);
}

/* Walks one tree and holds what it met against its db record. */
static void
walk_tree (walk_t *w, const db_info_t *db, bool is_free, const char *name)
{
    tree_t t = { .is_free = is_free };
    if (db->root != NO_PAGE)
        walk_page (w, &t, db->root, 1, NULL, NULL);
    else if (db->depth || db->entries)
        problem (w, "the %s tree has no root but claims entries", name);
    if (t.branch != db->branch || t.leaf != db->leaf
        || t.overflow != db->overflow || t.entries != db->entries
        || (db->root != NO_PAGE && t.leaf_depth != db->depth))
        problem (w, "the %s tree has %llu entries on %llu/%llu/%llu branch/"
                 "leaf/overflow pages at depth %d; its record says %llu on "
                 "%llu/%llu/%llu at depth %u", name,
                 (unsigned long long) t.entries,
                 (unsigned long long) t.branch, (unsigned long long) t.leaf,
                 (unsigned long long) t.overflow, t.leaf_depth,
                 (unsigned long long) db->entries,
                 (unsigned long long) db->branch,
                 (unsigned long long) db->leaf,
                 (unsigned long long) db->overflow, db->depth);
}

/* ---- meta pages ---- */

static db_info_t
db_at (const uint8_t *p)
{
    db_info_t d = { u32_at (p), u16_at (p + 4), u16_at (p + 6), u64_at (p + 8),
                    u64_at (p + 16), u64_at (p + 24), u64_at (p + 32),
                    u64_at (p + 40) };
    return d;
}

static meta_t
read_meta (walk_t *w, uint64_t pgno)
{
    meta_t m = { .valid = false };
    uint8_t page[PAGE_HEAD + 136];
    if (pread (w->fd, page, sizeof page, (off_t) (pgno * w->psize))
            != (ssize_t) sizeof page) {
        problem (w, "meta page %llu cannot be read", (unsigned long long) pgno);
        return m;
    }
    const uint8_t *p = page + PAGE_HEAD;
    m.db[0] = db_at (p + 24);
    m.db[1] = db_at (p + 72);
    m.last_pg = u64_at (p + 120);
    m.txnid = u64_at (p + 128);
    if (u64_at (page) != pgno || !(u16_at (page + 10) & P_META)
        || u32_at (p) != META_MAGIC || u32_at (p + 4) != META_VERSION)
        problem (w, "meta page %llu is not a meta page of this format",
                 (unsigned long long) pgno);
    else if (m.db[0].psize != w->psize)
        problem (w, "meta page %llu gives a page size of %u, not %zu",
                 (unsigned long long) pgno, m.db[0].psize, w->psize);
    else
        m.valid = true;
    return m;
}

/* Both meta pages. LMDB reads the snapshot of the newer whole one (or of
 * transaction `txnid`, once one is begun: a writer may have committed
 * since), which must describe trees of the flags exitflow opens in a file
 * of about this size; the other must be whole and one transaction older
 * (or newer). Read before LMDB opens the store, so that a damaged meta
 * page is reported rather than met by LMDB. */
static const meta_t *
check_metas (walk_t *w, meta_t metas[2], uint64_t txnid, uint64_t file_pages)
{
    metas[0] = read_meta (w, 0);
    metas[1] = read_meta (w, 1);
    const meta_t *m = NULL;
    for (int i = 0; i < 2; i++)
        if (metas[i].valid && (txnid ? metas[i].txnid == txnid
                                     : !m || metas[i].txnid > m->txnid))
            m = &metas[i];
    if (!m) {
        problem (w, "no meta page describes the snapshot to read");
        return NULL;
    }
    const meta_t *other = &metas[m == &metas[0]];
    if (other->valid && other->txnid + 1 != m->txnid
        && other->txnid != m->txnid + 1 && (m->txnid || other->txnid))
        problem (w, "the meta pages hold transactions %llu and %llu, not "
                 "two in a row", (unsigned long long) m->txnid,
                 (unsigned long long) other->txnid);
    /* the free tree's flags hold the environment's too: exitflow sets none
     * that LMDB keeps */
    if (m->db[0].flags != MDB_INTEGERKEY || m->db[1].flags != 0)
        problem (w, "the meta page gives the trees flags 0x%x and 0x%x",
                 m->db[0].flags, m->db[1].flags);
    /* the file may end before the last page when the last pages are free,
     * but not by much more than it holds */
    if (m->last_pg < 1 || m->last_pg > 2 * file_pages + 1024)
        problem (w, "the meta page gives %llu as the last page of a file "
                 "of %llu", (unsigned long long) m->last_pg,
                 (unsigned long long) file_pages);
    return w->problems ? NULL : m;
}

/* ---- in the child ---- */

/* Every page from 2 to the last: in use once or free once. */
static void
check_accounting (walk_t *w)
{
    uint64_t lost = 0, first = 0;
    for (uint64_t pg = 2; pg <= w->last_pg; pg++)
        if (!(w->seen[pg >> 3] & (1u << (pg & 7))) && !lost++)
            first = pg;
    if (lost)
        problem (w, "%llu page(s) are neither in use nor free (the first: "
                 "page %llu)", (unsigned long long) lost,
                 (unsigned long long) first);
}

/* A second opinion: LMDB reads every record itself. A page it cannot
 * read makes it assert, and the parent sees the child die. */
static void
walk_with_lmdb (walk_t *w, MDB_txn *txn, uint64_t entries)
{
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t n = 0;
    int rc = mdb_dbi_open (txn, NULL, 0, &dbi);
    if (!rc)
        rc = mdb_cursor_open (txn, dbi, &cur);
    if (rc) {
        problem (w, "LMDB cannot open the data tree: %s", mdb_strerror (rc));
        return;
    }
    while ((rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) == 0)
        n++;
    mdb_cursor_close (cur);
    if (rc != MDB_NOTFOUND)
        problem (w, "LMDB stops reading after %llu records: %s",
                 (unsigned long long) n, mdb_strerror (rc));
    else if (n != entries)
        problem (w, "LMDB reads %llu records, the walk %llu",
                 (unsigned long long) n, (unsigned long long) entries);
}

/* Opens the store read-only with a map that fits the file, whatever its
 * meta page says of the map. */
static int
open_read_only (const char *dir, size_t map_size, MDB_env **env, FILE *out)
{
    int rc = 0;
    /* a read-only copy (a backup on read-only media) has no lock to take */
    static const unsigned tries[] = { 0, MDB_NOLOCK };
    for (int i = 0; i < 2; i++) {
        if ((rc = mdb_env_create (env))
            || (rc = mdb_env_set_mapsize (*env, map_size))
            || (rc = mdb_env_open (*env, dir, MDB_RDONLY | MDB_NOTLS | tries[i],
                                   0)))
            mdb_env_close (*env);
        if (rc != EACCES && rc != EROFS)
            break;
    }
    if (!rc)
        return CHILD_CLEAN;
    *env = NULL;
    fprintf (out, "!LMDB cannot open %s: %s\n", dir, mdb_strerror (rc));
    return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH
           || rc == MDB_CORRUPTED ? CHILD_DAMAGED : CHILD_FAILED;
}

/* The walk of one snapshot: meta pages, both trees, the accounting, then
 * LMDB's own reading. */
static void
walk_snapshot (walk_t *w, MDB_txn *txn, uint64_t file_pages)
{
    meta_t metas[2];
    const meta_t *m = check_metas (w, metas, (uint64_t) mdb_txn_id (txn),
                                   file_pages);
    if (!m)
        return;
    w->last_pg = m->last_pg;
    w->entries = m->db[1].entries;
    w->seen = calloc (w->last_pg / 8 + 1, 1);
    if (!w->seen) {
        problem (w, "out of memory for a map of %llu pages",
                 (unsigned long long) w->last_pg);
        return;
    }
    walk_tree (w, &m->db[0], true, "free-page");
    walk_tree (w, &m->db[1], false, "data");
    if (!w->problems)
        check_accounting (w);
    if (!w->problems)
        walk_with_lmdb (w, txn, m->db[1].entries);
}

/* The closing line of the report, and the verdict. A store whose every
 * record fails its seal and that has no format mark predates the seals. */
static int
report_verdict (walk_t *w, const char *dir, uint64_t txnid)
{
    bool old_format = !w->format_seen && w->entries
                      && w->bad_seals == w->entries;
    if (!w->format_seen && !w->problems && w->entries)
        problem (w, "the store has no format mark");
    if (w->problems > VERIFY_MAX_PROBLEMS)
        fprintf (w->out, "!... %llu problems in all\n",
                 (unsigned long long) w->problems);
    bool newer = !w->problems && w->format > STORE_FORMAT;
    char schema[160] = "";
    if (w->format_seen)
        snprintf (schema, sizeof schema, ", schema %llu%s",
                  (unsigned long long) w->format,
                  newer ? " (newer than this exitflowd's: run a newer one)"
                  : w->format < STORE_FORMAT ? " (exitflowd upgrades it "
                  "when it opens it)" : "");
    fprintf (w->out, "=%s: %llu records on %llu pages of %zu bytes, "
             "transaction %llu%s: %s\n", dir, (unsigned long long) w->records,
             (unsigned long long) (w->last_pg + 1), w->psize,
             (unsigned long long) txnid, schema,
             old_format ? "written by an older exitflowd (no seals)"
             : w->problems ? "DAMAGED" : "clean");
    return old_format ? CHILD_OLD_FORMAT
           : w->problems ? CHILD_DAMAGED
           : newer ? CHILD_NEWER_FORMAT : CHILD_CLEAN;
}

static int
check_in_child (const char *dir, FILE *out)
{
    char path[4096];
    snprintf (path, sizeof path, "%s/data.mdb", dir);
    walk_t w = { .out = out, .psize = (size_t) sysconf (_SC_PAGESIZE) };
    struct stat st;
    w.fd = open (path, O_RDONLY | O_CLOEXEC);
    if (w.fd < 0 || fstat (w.fd, &st)) {
        fprintf (out, "!cannot read %s: %s\n", path, strerror (errno));
        return CHILD_FAILED;
    }
    uint64_t file_pages = (uint64_t) st.st_size / w.psize;
    meta_t metas[2];
    const meta_t *m = check_metas (&w, metas, 0, file_pages);
    if (!m) {
        close (w.fd);
        return report_verdict (&w, dir, 0);
    }
    MDB_env *env;
    MDB_txn *txn;
    size_t map = (size_t) ((m->last_pg + 1) * w.psize) * 2
                 + (size_t) st.st_size + ((size_t) 64 << 20);
    int verdict = open_read_only (dir, map, &env, out);
    if (verdict == CHILD_CLEAN) {
        int rc = mdb_txn_begin (env, NULL, MDB_RDONLY, &txn);
        if (rc) {
            fprintf (out, "!LMDB cannot read %s: %s\n", dir,
                     mdb_strerror (rc));
            verdict = CHILD_FAILED;
        } else {
            walk_snapshot (&w, txn, file_pages);
            verdict = report_verdict (&w, dir, mdb_txn_id (txn));
            mdb_txn_abort (txn);
        }
        mdb_env_close (env);
    }
    free (w.seen);
    close (w.fd);
    return verdict;
}

/* ---- in the parent ---- */

static bool
has_store (const char *dir)
{
    char path[4096];
    struct stat st;
    snprintf (path, sizeof path, "%s/data.mdb", dir);
    return stat (path, &st) == 0 && st.st_size > 0;
}

verify_verdict_t
verify_store (const char *dir, verify_report_fn report, void *arg)
{
    if (!has_store (dir))
        return VERIFY_NO_STORE;
    int fds[2];
    if (pipe (fds)) {
        report (arg, true, "cannot start the check: no pipe");
        return VERIFY_FAILED;
    }
    fflush (NULL);                  /* nothing buffered is written twice */
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid < 0) {
        close (fds[0]);
        close (fds[1]);
        report (arg, true, "cannot start the check: fork failed");
        return VERIFY_FAILED;
    }
    if (pid == 0) {
        /* A check that outlived a killed daemon would hold the data
         * directory's lock (inherited) and refuse the restart until it
         * ends: it dies with its parent. */
        if (prctl (PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid () != parent)
            _exit (CHILD_FAILED);
        close (fds[0]);
        FILE *out = fdopen (fds[1], "w");
        int code = out ? check_in_child (dir, out) : CHILD_FAILED;
        if (out)
            fclose (out);
        _exit (code);               /* no atexit handler of the parent's */
    }
    close (fds[1]);
    FILE *in = fdopen (fds[0], "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (in && (len = getline (&line, &cap, in)) > 0) {
        if (line[len - 1] == '\n')
            line[len - 1] = '\0';
        report (arg, line[0] == '!', line + 1);
    }
    free (line);
    if (in)
        fclose (in);
    else
        close (fds[0]);
    int status;
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED (status)) {
        char why[160];
        snprintf (why, sizeof why, "the check died of signal %d (%s) while "
                  "LMDB read the store: damage LMDB cannot read",
                  WTERMSIG (status), strsignal (WTERMSIG (status)));
        report (arg, true, why);
        return VERIFY_DAMAGED;
    }
    switch (WIFEXITED (status) ? WEXITSTATUS (status) : CHILD_FAILED) {
    case CHILD_CLEAN: return VERIFY_CLEAN;
    case CHILD_DAMAGED: return VERIFY_DAMAGED;
    case CHILD_OLD_FORMAT: return VERIFY_OLD_FORMAT;
    case CHILD_NEWER_FORMAT: return VERIFY_NEWER_FORMAT;
    case CHILD_NO_STORE: return VERIFY_NO_STORE;
    default: return VERIFY_FAILED;
    }
}
