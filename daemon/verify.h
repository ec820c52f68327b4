/* verify — whether a store is whole, checked where damage cannot hurt.
 *
 * Owns: the check of a whole store. Both meta pages; every page of both
 * B-trees (LMDB's free-page tree and the data tree), read from the file
 * and checked for its number, kind, bounds, key order and the separators
 * above it; every record's seal (seal.h); the page accounting LMDB
 * promises (each page up to the last is in use once or free once); the
 * store's schema mark (a schema this exitflowd serves, or newer); then one pass through LMDB itself. It all runs in a
 * child process that opens its own environment read-only (an environment
 * never crosses a fork): damage that makes LMDB assert or fault kills the
 * child, not the caller, and is reported as damage.
 *
 * `exitflowd --verify DIR` runs it and prints the report; the store runs
 * it before it opens an existing store (store_new) and refuses a damaged
 * one. A running daemon's store may be verified: the child reads one
 * snapshot, which the daemon's writes do not touch. */
#ifndef EXF_VERIFY_H
#define EXF_VERIFY_H

#include <stdbool.h>

typedef enum {
    VERIFY_CLEAN,
    VERIFY_DAMAGED,
    VERIFY_OLD_FORMAT,          /* written by an exitflowd without seals */
    VERIFY_NEWER_FORMAT,        /* clean, as far as this exitflowd can tell,
                                   but of a newer schema (store.h) */
    VERIFY_NO_STORE,            /* no data.mdb, or an empty one */
    VERIFY_FAILED,              /* could not be checked; the report says why */
} verify_verdict_t;

/* One line of the report, without a newline: a problem found (`problem`;
 * at most VERIFY_MAX_PROBLEMS are listed, then their number), or a line
 * that says what was checked. */
#define VERIFY_MAX_PROBLEMS 50
typedef void (*verify_report_fn) (void *arg, bool problem, const char *line);

/* Verifies the store in `dir`. Blocks until the child is done. */
verify_verdict_t verify_store (const char *dir, verify_report_fn report,
                               void *arg);

#endif
