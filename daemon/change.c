/* change — the one write path to a workflow. See change.h.
 *
 * An event as it is stored and published (PROTOCOL.md §5): the core's
 * type, client and data, with the envelope only the shell knows — the seq,
 * the time, the workflow, the actor and the principal. */
#include "change.h"

#include "protocol/calendar.h"

/* Packs one event's envelope around the core's data into `sb`. */
static void
pack_event (msgpack_sbuffer *sb, uint64_t seq, int64_t now_ms,
            const char *workflow_id, const change_who_t *who,
            const wf_event_t *e)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
    bool has_client = e->client_id[0], has_actor = who->actor[0];
    msgpack_pack_map (&pk, 6 + has_client + has_actor);
    codec_pack_cstr (&pk, "seq");
    msgpack_pack_uint64 (&pk, seq);
    codec_pack_cstr (&pk, "type");
    codec_pack_cstr (&pk, e->type);
    codec_pack_cstr (&pk, "ts");
    codec_pack_time (&pk, now_ms);
    codec_pack_cstr (&pk, "workflow_id");
    codec_pack_cstr (&pk, workflow_id);
    if (has_client) {
        codec_pack_cstr (&pk, "client_id");
        codec_pack_cstr (&pk, e->client_id);
    }
    if (has_actor) {
        codec_pack_cstr (&pk, "actor");
        codec_pack_cstr (&pk, who->actor);
    }
    codec_pack_cstr (&pk, "principal");
    codec_pack_cstr (&pk, who->principal);
    codec_pack_cstr (&pk, "data");
    codec_pack_raw (&pk, e->data.data, e->data.size);
}

int64_t
change_today (const change_env_t *env)
{
    return calendar_day_of_ms (env->now_ms);
}

wf_ctx_t
change_ctx (const change_env_t *env, const char *actor)
{
    wf_ctx_t ctx = { env->now_ms, actor, change_today (env) };
    return ctx;
}

store_status_t
change_append (const change_env_t *env, store_wf_t *swf,
               const change_who_t *who, wf_events_t *ev)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    store_status_t rc = STORE_OK;
    for (int i = 0; i < ev->n && !rc; i++) {
        const wf_event_t *e = &ev->ev[i];
        uint64_t seq = store_next_seq (env->txn);
        pack_event (&sb, seq, env->now_ms, swf->wf->workflow_id, who, e);
        rc = store_event_append (env->txn, seq, sb.data, sb.size);
        if (!rc) {
            env->queue.push (env->queue.arg, e->type, sb.data, sb.size);
            record_ledger_add_event (&swf->ledger, seq);
        }
        msgpack_sbuffer_clear (&sb);
    }
    msgpack_sbuffer_destroy (&sb);
    workflow_events_fini (ev);
    return rc;
}

store_status_t
change_apply (const change_env_t *env, store_wf_t *swf, change_fn decide,
              const void *args, const change_who_t *who, exf_error_t *err,
              bool *changed)
{
    wf_ctx_t ctx = change_ctx (env, who->actor);
    wf_events_t ev;
    workflow_events_init (&ev);
    *changed = decide (swf->wf, args, &ctx, &ev, err);
    store_status_t rc = *changed ? change_append (env, swf, who, &ev)
                                 : STORE_OK;
    workflow_events_fini (&ev);
    return rc;
}
