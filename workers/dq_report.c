/* dq_report — fetch and summarize stored exits. See dq_report.h. */
#include "dq_report.h"

#include <stdlib.h>
#include <string.h>

/* Calls `fn` with the view (workflow.get) of every workflow of the list
 * in `state`. */
typedef bool (each_fn) (exitflow_client_t *client, const char *wf,
                        const msgpack_object *view, void *arg,
                        exitflow_error_t *err);

static bool
each_view (exitflow_client_t *client, const msgpack_object *item, each_fn *fn,
           void *arg, exitflow_error_t *err)
{
    char wf[64];
    if (!exitflow_obj_str (item, "workflow_id", wf, sizeof wf))
        return true;
    exitflow_reply_t *view = exitflow_get (client, wf, err);
    if (!view)
        return false;
    bool ok = fn (client, wf, exitflow_reply_result (view), arg, err);
    exitflow_reply_destroy (&view);
    return ok;
}

static bool
each_workflow (exitflow_client_t *client, const char *state,
               const char *project, each_fn *fn, void *arg,
               exitflow_error_t *err)
{
    char after[256] = "";
    for (;;) {
        exitflow_reply_t *page = exitflow_list (client, state,
                                                project[0] ? project : NULL,
                                                -1, 1000,
                                                after[0] ? after : NULL, err);
        if (!page)
            return false;
        const msgpack_object *res = exitflow_reply_result (page);
        const msgpack_object *items = exitflow_obj_get (res, "workflows");
        bool ok = true;
        if (items && items->type == MSGPACK_OBJECT_ARRAY)
            for (uint32_t i = 0; i < items->via.array.size && ok; i++)
                ok = each_view (client, &items->via.array.ptr[i], fn, arg, err);
        bool more = exitflow_obj_str (res, "next", after, sizeof after);
        exitflow_reply_destroy (&page);
        if (!ok)
            return false;
        if (!more)
            return true;
    }
}

typedef struct {
    const dq_summary_filter_t *f;
    dq_summary_t *sum;
    dq_snapshot_t *snapshot;
} collect_t;

static bool
add_finished (exitflow_client_t *client, const char *wf,
              const msgpack_object *view, void *arg, exitflow_error_t *err)
{
    collect_t *c = arg;
    exitflow_reply_t *history = exitflow_history (client, wf, err);
    if (!history)
        return false;
    const char *why;
    if (dq_snapshot_from_view (c->snapshot, view, &why)) {
        dq_snapshot_apply_history (c->snapshot, exitflow_obj_get (
            exitflow_reply_result (history), "events"));
        dq_summary_add_finished (c->sum, c->f, c->snapshot,
                                 exitflow_obj_get (view, "dq"));
    }
    exitflow_reply_destroy (&history);
    return true;
}

static bool
add_open (exitflow_client_t *client, const char *wf,
          const msgpack_object *view, void *arg, exitflow_error_t *err)
{
    (void) client;
    (void) wf;
    (void) err;
    collect_t *c = arg;
    bool stalled = false;
    exitflow_obj_bool (view, "stalled", &stalled);
    dq_summary_add_open (c->sum, stalled);
    return true;
}

bool
dq_report_collect (exitflow_client_t *client, const dq_summary_filter_t *f,
                   dq_summary_t *sum, exitflow_error_t *err)
{
    memset (sum, 0, sizeof *sum);
    collect_t c = { f, sum, calloc (1, sizeof (dq_snapshot_t)) };
    if (!c.snapshot)
        abort ();
    bool ok = each_workflow (client, "finished", f->project_id, add_finished,
                             &c, err)
              && each_workflow (client, "open", f->project_id, add_open, &c,
                                err);
    free (c.snapshot);
    return ok;
}
