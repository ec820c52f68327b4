/* store_fixture — what the shell's tests share (test_store.c,
 * test_commands.c): a real LMDB store in a fresh temp dir (mkdtemp),
 * removed again in teardown, and a started workflow to store. No sockets,
 * no mocks. */
#ifndef EXF_TEST_STORE_FIXTURE_H
#define EXF_TEST_STORE_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/store.h"
#include "tests/support/msgpack_builder.h"

/* 2026-11-25T12:00:00Z */
#define NOW 1795608000000LL
#define DAY_MS 86400000LL
#define SMALL_MAP ((size_t) 256 * 1024)
#define LARGE_MAP ((size_t) 64 * 1024 * 1024)

static char store_dir[64];
static store_t *store;

/* Opens a store in a fresh temp dir, its map growing up to
 * `max_map_size`. */
HELPER store_t *
open_temp_store_growing (size_t map_size, size_t max_map_size,
                         int64_t reply_keep_ms)
{
    snprintf (store_dir, sizeof store_dir, "/tmp/exf-test-XXXXXX");
    assert_non_null (mkdtemp (store_dir));
    char why[512] = "";
    store_status_t status;
    store_options_t options = { store_dir, map_size, max_map_size,
                                reply_keep_ms };
    store = store_open (&options, &status, why, sizeof why);
    if (!store)
        fail_msg ("store_open: %s", why);
    return store;
}

/* Opens a store in a fresh temp dir. */
HELPER store_t *
open_temp_store (size_t map_size, int64_t reply_keep_ms)
{
    return open_temp_store_growing (map_size, map_size, reply_keep_ms);
}

/* Closes the store and opens it again, as a restart does. */
HELPER void
reopen_store (size_t map_size, int64_t reply_keep_ms)
{
    char why[512] = "";
    store_status_t status;
    store_destroy (&store);
    store = store_new (store_dir, map_size, reply_keep_ms, &status, why,
                       sizeof why);
    if (!store)
        fail_msg ("store_new again: %s", why);
}

/* Closes the store and removes its directory (it holds no subdirectory). */
HELPER void
remove_temp_store (void)
{
    store_destroy (&store);
    DIR *d = opendir (store_dir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir (d)))
        if (strcmp (e->d_name, ".") && strcmp (e->d_name, "..")) {
            snprintf (path, sizeof path, "%s/%s", store_dir, e->d_name);
            unlink (path);
        }
    closedir (d);
    rmdir (store_dir);
}

/* cmocka's setup and teardown: a store with a day's reply retention. */
HELPER int
store_setup (void **state)
{
    (void) state;
    open_temp_store (LARGE_MAP, DAY_MS);
    return 0;
}

HELPER int
store_teardown (void **state)
{
    (void) state;
    remove_temp_store ();
    release_held ();
    return 0;
}

HELPER store_txn_t *
begin (bool write)
{
    store_txn_t *txn = NULL;
    assert_int_equal (store_begin (store, write, &txn), STORE_OK);
    return txn;
}

HELPER void
commit (store_txn_t **txn)
{
    assert_int_equal (store_commit (txn), STORE_OK);
    assert_null (*txn);
}

/* A one-member household's workflow, started at `now_ms`, not stored. */
HELPER store_wf_t *
started_workflow (const char *id, const char *household, int64_t now_ms)
{
    store_wf_t *swf = store_wf_new ();
    workflow_t *wf = swf->wf;
    snprintf (wf->workflow_id, sizeof wf->workflow_id, "%s", id);
    snprintf (wf->household_id, sizeof wf->household_id, "%s", household);
    snprintf (wf->enrollment_id, sizeof wf->enrollment_id, "e-%s", household);
    snprintf (wf->project_id, sizeof wf->project_id, "p1");
    wf_member_t *m = &wf->members[wf->n_members++];
    snprintf (m->client_id, sizeof m->client_id, "c-%s", household);
    snprintf (m->enrollment_id, sizeof m->enrollment_id, "e-%s", household);
    snprintf (m->entry_date, sizeof m->entry_date, "2026-01-10");
    m->relationship = HUD_HEAD_OF_HOUSEHOLD;
    m->has_adult = m->adult = true;
    wf_ctx_t ctx = { now_ms, "cw1", now_ms / DAY_MS };
    wf_events_t ev;
    workflow_events_init (&ev);
    exf_error_t err;
    exf_error_clear (&err);
    if (!workflow_start (wf, &ctx, &ev, &err))
        fail_msg ("workflow_start: %s %s", err.code, err.message);
    workflow_events_fini (&ev);
    return swf;
}

#endif
