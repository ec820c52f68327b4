/* cmd_member — the work on a workflow's members: step.save,
 * member.decide, and the findings a DQ worker reports about them
 * (dq.report). */
#include "handlers.h"

/* ---- step.save ---- */

typedef struct {
    char client_id[EXF_ID_MAX + 1];
    int step;
    wf_mode_t mode;
    const msgpack_object *data;
    int64_t today;                      /* for next_step in the result */
} save_args_t;

static bool
apply_save (workflow_t *wf, const void *args, const wf_ctx_t *ctx,
            wf_events_t *ev, exf_error_t *err)
{
    const save_args_t *a = args;
    return workflow_save_step (wf, a->client_id, a->step, a->mode, a->data,
                               ctx, ev, err);
}

static void
pack_save_extra (msgpack_packer *pk, const workflow_t *wf, const void *args)
{
    const save_args_t *a = args;
    int i = workflow_find_member (wf, a->client_id);
    int next = workflow_next_step (&wf->members[i], a->today);
    pack_kv_str (pk, "client_id", a->client_id);
    pack_kv_str (pk, "step", hud_steps[a->step].name);
    pack_kv_str (pk, "next_step", next >= 0 ? hud_steps[next].name : NULL);
}

store_status_t
cmd_step_save (call_t *c)
{
    static const call_write_t op = { apply_save, 3, pack_save_extra };
    save_args_t a = { .today = change_today (&c->env->change) };
    exf_str_t step, mode;
    if (!codec_read_id (c->args, "client_id", true, a.client_id,
                        EXF_BAD_REQUEST, &c->err)
        || !codec_read_str (c->args, "step", true, EXF_ID_MAX, &step, NULL,
                            EXF_BAD_REQUEST, &c->err)
        || !codec_read_str (c->args, "mode", true, EXF_ID_MAX, &mode, NULL,
                            EXF_BAD_REQUEST, &c->err)
        || !codec_read_map (c->args, "data", false, &a.data, EXF_BAD_REQUEST,
                            &c->err))
        return STORE_OK;
    a.step = hud_step_by_name (step.ptr, step.len);
    if (a.step < 0)
        return exf_fail (&c->err, EXF_VALIDATION, "step",
                         "step is exit, universal_data, health_insurance, "
                         "disabilities or income_benefits"), STORE_OK;
    if (codec_str_eq (mode, workflow_mode_names[MODE_ENTERED]))
        a.mode = MODE_ENTERED;
    else if (codec_str_eq (mode, workflow_mode_names[MODE_DEFAULT_LAST]))
        a.mode = MODE_DEFAULT_LAST;
    else
        return exf_fail (&c->err, EXF_VALIDATION, "mode",
                         "mode is entered or default_last"), STORE_OK;
    return call_write (c, &op, &a, a.mode == MODE_DEFAULT_LAST);
}

/* ---- member.decide ---- */

typedef struct {
    char client_id[EXF_ID_MAX + 1];
    bool exit;
} decide_args_t;

static bool
apply_decide (workflow_t *wf, const void *args, const wf_ctx_t *ctx,
              wf_events_t *ev, exf_error_t *err)
{
    const decide_args_t *a = args;
    return workflow_decide (wf, a->client_id, a->exit, ctx, ev, err);
}

static void
pack_decide_extra (msgpack_packer *pk, const workflow_t *wf, const void *args)
{
    (void) wf;
    const decide_args_t *a = args;
    pack_kv_str (pk, "client_id", a->client_id);
    pack_kv_str (pk, "decision",
                 workflow_decision_names[a->exit ? DECISION_EXITING
                                                 : DECISION_STAYING]);
}

store_status_t
cmd_member_decide (call_t *c)
{
    static const call_write_t op = { apply_decide, 2, pack_decide_extra };
    decide_args_t a = { 0 };
    if (!codec_read_id (c->args, "client_id", true, a.client_id,
                        EXF_BAD_REQUEST, &c->err)
        || !codec_read_bool (c->args, "exit", true, &a.exit, NULL,
                             EXF_BAD_REQUEST, &c->err))
        return STORE_OK;
    return call_write (c, &op, &a, false);
}

/* ---- dq.report ---- */

typedef struct {
    char source[EXF_ID_MAX + 1];
    const msgpack_object *findings;
} dq_args_t;

static bool
apply_dq (workflow_t *wf, const void *args, const wf_ctx_t *ctx,
          wf_events_t *ev, exf_error_t *err)
{
    (void) ctx;
    const dq_args_t *a = args;
    return workflow_report_dq (wf, a->source, a->findings, ev, err);
}

static void
pack_dq_extra (msgpack_packer *pk, const workflow_t *wf, const void *args)
{
    (void) wf;
    const dq_args_t *a = args;
    pack_kv_str (pk, "source", a->source);
    pack_kv_int (pk, "count", a->findings->via.array.size);
}

store_status_t
cmd_dq_report (call_t *c)
{
    static const call_write_t op = { apply_dq, 2, pack_dq_extra };
    dq_args_t a;
    if (!codec_read_id (c->args, "source", true, a.source, EXF_BAD_REQUEST,
                        &c->err)
        || !codec_read_array (c->args, "findings", true, &a.findings,
                              EXF_BAD_REQUEST, &c->err))
        return STORE_OK;
    return call_write (c, &op, &a, false);
}
