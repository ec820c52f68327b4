/* dq_report — fetch and summarize stored exits. See dq_report.h. */
#include "dq_report.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

int
dq_report_parse (int argc, char **argv, dq_summary_filter_t *f, FILE *err)
{
    memset (f, 0, sizeof *f);
    static const struct option options[] = {
        { "project", required_argument, NULL, 'p' },
        { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 } };
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'p' && !dq_summary_set_project (f, optarg)) {
            fprintf (err, "dq-report: --project takes an id of 1 to %d "
                     "bytes\n", EXF_ID_MAX);
            return 2;
        } else if ((opt == 'f' && !dq_summary_set_from (f, optarg))
                   || (opt == 't' && !dq_summary_set_to (f, optarg))) {
            fprintf (err, "dq-report: --%s takes a date YYYY-MM-DD\n",
                     opt == 'f' ? "from" : "to");
            return 2;
        } else if (opt == '?' || opt == ':') {
            fprintf (err, "dq-report: unknown or incomplete option %s\n",
                     argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf (err, "dq-report: unexpected argument %s\n", argv[optind]);
        return 2;
    }
    if (f->has_from && f->has_to && f->from_day > f->to_day) {
        fprintf (err, "dq-report: --from is after --to\n");
        return 2;
    }
    return 0;
}

/* Calls `fn` for every workflow of the list in `state`. */
typedef bool (each_fn) (exitflow_client_t *client, const msgpack_object *item,
                        void *arg, exitflow_error_t *err);

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
                ok = fn (client, &items->via.array.ptr[i], arg, err);
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
add_finished (exitflow_client_t *client, const msgpack_object *item, void *arg,
              exitflow_error_t *err)
{
    collect_t *c = arg;
    char wf[64];
    if (!exitflow_obj_str (item, "workflow_id", wf, sizeof wf))
        return true;
    exitflow_reply_t *view = exitflow_get (client, wf, err);
    if (!view)
        return false;
    exitflow_reply_t *history = exitflow_history (client, wf, err);
    if (!history) {
        exitflow_reply_destroy (&view);
        return false;
    }
    const char *why;
    const msgpack_object *v = exitflow_reply_result (view);
    if (dq_snapshot_from_view (c->snapshot, v, &why)) {
        dq_snapshot_apply_history (c->snapshot, exitflow_obj_get (
            exitflow_reply_result (history), "events"));
        dq_summary_add_finished (c->sum, c->f, c->snapshot,
                                 exitflow_obj_get (v, "dq"));
    }
    exitflow_reply_destroy (&history);
    exitflow_reply_destroy (&view);
    return true;
}

static bool
add_open (exitflow_client_t *client, const msgpack_object *item, void *arg,
          exitflow_error_t *err)
{
    collect_t *c = arg;
    char wf[64];
    if (!exitflow_obj_str (item, "workflow_id", wf, sizeof wf))
        return true;
    exitflow_reply_t *view = exitflow_get (client, wf, err);
    if (!view)
        return false;
    bool stalled = false;
    exitflow_obj_bool (exitflow_reply_result (view), "stalled", &stalled);
    dq_summary_add_open (c->sum, stalled);
    exitflow_reply_destroy (&view);
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
