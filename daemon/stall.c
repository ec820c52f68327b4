/* stall — the stall scan. See stall.h. */
#include "stall.h"

#include <string.h>

/* Rows one scan may look at, marked or not (a restart walks the stalled
 * ones again once). */
#define STALL_SCAN_ROWS 10000

typedef struct {
    const change_env_t *env;
    stall_cursor_t *cursor;
    int max, marked, scanned;
    store_status_t rc;
    store_wf_t *row;
} stall_walk_t;

/* The core's verdict, in the shape of every other change. */
/* Stalls are the daemon's own finding: no caseworker, no client key. */
static const change_who_t by_the_daemon = { "", "exitflowd" };

static bool
decide_stalled (workflow_t *wf, const void *args, const wf_ctx_t *ctx,
                wf_events_t *ev, exf_error_t *err)
{
    (void) args;
    (void) err;
    return workflow_mark_stalled (wf, ctx, ev);
}

static bool
stall_one (void *arg, const char *workflow_id, const void *key, size_t len)
{
    stall_walk_t *w = arg;
    if (w->marked == w->max || w->scanned++ == STALL_SCAN_ROWS)
        return false;
    /* `key` points into a page this call may rewrite: keep it first */
    stall_cursor_t here = { .len = len <= sizeof here.key ? len : 0 };
    memcpy (here.key, key, here.len);
    exf_error_t err;
    exf_error_clear (&err);
    bool changed = false;
    w->rc = store_workflow_get (w->env->txn, workflow_id, w->row);
    if (!w->rc)
        w->rc = change_apply (w->env, w->row, decide_stalled, NULL,
                              &by_the_daemon, &err, &changed);
    if (!w->rc && changed) {
        w->rc = store_workflow_put (w->env->txn, w->row);
        w->marked++;
    }
    if (!w->rc && here.len)
        *w->cursor = here;
    return !w->rc;
}

store_status_t
stall_scan (const change_env_t *env, int64_t stall_after_s,
            stall_cursor_t *cursor, int max, int *marked)
{
    stall_walk_t w = { .env = env, .cursor = cursor, .max = max,
                       .row = store_wf_new () };
    store_status_t rc = store_workflow_list (env->txn, WF_OPEN, cursor->key,
                                             cursor->len,
                                             env->now_ms - stall_after_s * 1000,
                                             stall_one, &w);
    store_wf_destroy (&w.row);
    *marked = w.marked;
    return rc ? rc : w.rc;
}
