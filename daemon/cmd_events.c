/* cmd_events — the event log and its consumers: events.read,
 * workflow.history (one workflow's events, a page at a time),
 * consumer.ack, consumer.list, consumer.delete. */
#include "handlers.h"

/* ---- events.read, workflow.history ---- */

/* A page of a workflow's history: the events up to `limit` (1000 when
 * absent). Every page, of the history or of the log, ends past
 * EXF_PAGE_BYTES of events and holds one event at least, so a reply's size
 * is bounded however large the events are. */
#define HISTORY_LIMIT 1000

typedef struct {
    msgpack_packer pk;
    int64_t limit, count;
    size_t bytes, max_bytes;
    uint64_t last;                  /* the seq of the last event packed */
    bool more;                      /* the page ended before the events */
} event_list_t;

static bool
collect_event (void *arg, uint64_t seq, const void *event, size_t len)
{
    event_list_t *l = arg;
    if (l->count == l->limit || (l->count && len > l->max_bytes - l->bytes)) {
        l->more = true;
        return false;
    }
    codec_pack_raw (&l->pk, event, len);
    l->count++;
    l->bytes += len;
    l->last = seq;
    return true;
}

/* Packs `events: [events…]`: the log after `after`, or one workflow's
 * history after it, as `l` allows. */
static store_status_t
pack_events (call_t *c, const store_wf_t *wf, uint64_t after,
             event_list_t *l)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer_init (&l->pk, &sb, msgpack_sbuffer_write);
    store_txn_t *txn = c->env->change.txn;
    store_status_t rc = wf
        ? store_workflow_events_scan (txn, wf, after, collect_event, l)
        : store_events_scan (txn, after, collect_event, l);
    if (!rc) {
        codec_pack_cstr (c->pk, "events");
        msgpack_pack_array (c->pk, (size_t) l->count);
        codec_pack_raw (c->pk, sb.data, sb.size);
    }
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

/* `after`, once read: a seq. */
static bool
check_after (call_t *c, int64_t after)
{
    return after >= 0
           || exf_fail (&c->err, EXF_BAD_REQUEST, "after",
                        "after is a seq, not negative");
}

store_status_t
cmd_workflow_history (call_t *c)
{
    const store_wf_t *wf = call_target (c);
    int64_t after = 0;
    event_list_t l = { .limit = HISTORY_LIMIT,
                       .max_bytes = EXF_PAGE_BYTES };
    if (!wf
        || !codec_read_int (c->args, "after", false, &after, NULL,
                            EXF_BAD_REQUEST, &c->err)
        || (codec_map_get (c->args, "limit") && !call_read_limit (c, &l.limit))
        || !check_after (c, after))
        return STORE_OK;
    msgpack_pack_map (c->pk, 3);
    pack_kv_str (c->pk, "workflow_id", wf->wf->workflow_id);
    store_status_t rc = pack_events (c, wf, (uint64_t) after, &l);
    codec_pack_cstr (c->pk, "next");
    if (l.more)
        msgpack_pack_uint64 (c->pk, l.last);
    else
        msgpack_pack_nil (c->pk);
    return rc;
}

store_status_t
cmd_events_read (call_t *c)
{
    int64_t after;
    event_list_t l = { .max_bytes = EXF_PAGE_BYTES };
    if (!codec_read_int (c->args, "after", true, &after, NULL, EXF_BAD_REQUEST,
                         &c->err)
        || !call_read_limit (c, &l.limit) || !check_after (c, after))
        return STORE_OK;
    msgpack_pack_map (c->pk, 2);
    store_status_t rc = pack_events (c, NULL, (uint64_t) after, &l);
    pack_kv_int (c->pk, "last_seq",
                 (int64_t) store_last_seq (c->env->change.txn));
    return rc;
}

/* ---- consumers ---- */

store_status_t
cmd_consumer_ack (call_t *c)
{
    char name[EXF_ID_MAX + 1];
    int64_t seq;
    if (!codec_read_id (c->args, "consumer", true, name, EXF_BAD_REQUEST,
                        &c->err)
        || !codec_read_int (c->args, "seq", true, &seq, NULL, EXF_BAD_REQUEST,
                            &c->err))
        return STORE_OK;
    store_txn_t *txn = c->env->change.txn;
    uint64_t last = store_last_seq (txn);
    if (seq < 0 || (uint64_t) seq > last)
        return exf_fail (&c->err, EXF_VALIDATION, "seq",
                         "seq must be between 0 and the last seq (%llu)",
                         (unsigned long long) last), STORE_OK;
    store_consumer_t stored = { 0, 0 };
    store_status_t rc = store_consumer_get (txn, name, &stored);
    if (rc && rc != STORE_NOT_FOUND)
        return rc;
    /* every ack, forward or not, says the consumer is alive: its time is
     * what consumer.delete's idle rule reads */
    if (rc == STORE_NOT_FOUND || (uint64_t) seq > stored.seq)
        stored.seq = (uint64_t) seq;
    stored.acked_at = c->env->change.now_ms;
    if ((rc = store_consumer_put (txn, name, &stored)))
        return rc;
    msgpack_pack_map (c->pk, 3);
    pack_kv_str (c->pk, "consumer", name);
    pack_kv_int (c->pk, "seq", (int64_t) stored.seq);
    pack_kv_int (c->pk, "lag", (int64_t) (last - stored.seq));
    return STORE_OK;
}

typedef struct {
    msgpack_packer pk;
    uint64_t last;
    size_t count;
} consumer_list_t;

static bool
collect_consumer (void *arg, const char *name, const store_consumer_t *cs)
{
    consumer_list_t *l = arg;
    uint64_t seq = cs->seq;
    msgpack_pack_map (&l->pk, 4);
    pack_kv_str (&l->pk, "consumer", name);
    pack_kv_int (&l->pk, "seq", (int64_t) seq);
    pack_kv_int (&l->pk, "lag", (int64_t) (l->last > seq ? l->last - seq : 0));
    codec_pack_cstr (&l->pk, "acked_at");
    if (cs->acked_at)
        codec_pack_time (&l->pk, cs->acked_at);
    else
        msgpack_pack_nil (&l->pk);      /* acked before the time was kept */
    l->count++;
    return true;
}

store_status_t
cmd_consumer_list (call_t *c)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    consumer_list_t l = { .last = store_last_seq (c->env->change.txn) };
    msgpack_packer_init (&l.pk, &sb, msgpack_sbuffer_write);
    store_status_t rc = store_consumers_scan (c->env->change.txn,
                                              collect_consumer, &l);
    if (!rc) {
        msgpack_pack_map (c->pk, 2);
        codec_pack_cstr (c->pk, "consumers");
        msgpack_pack_array (c->pk, l.count);
        codec_pack_raw (c->pk, sb.data, sb.size);
        pack_kv_int (c->pk, "last_seq", (int64_t) l.last);
    }
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

/* consumer.delete: a consumer that is gone (a worker tried once, one
 * renamed) stops showing a growing lag. An admin may delete any; ops only
 * one idle past --consumer-retire-after, so that a running worker is not
 * retired by mistake. A consumer whose ack time predates the field is
 * taken for idle long enough. If it acks again, it is simply back. */
store_status_t
cmd_consumer_delete (call_t *c)
{
    char name[EXF_ID_MAX + 1];
    if (!codec_read_id (c->args, "consumer", true, name, EXF_BAD_REQUEST,
                        &c->err))
        return STORE_OK;
    store_txn_t *txn = c->env->change.txn;
    store_consumer_t stored;
    store_status_t rc = store_consumer_get (txn, name, &stored);
    if (rc == STORE_NOT_FOUND)
        return exf_fail (&c->err, EXF_NOT_FOUND, "consumer",
                         "no consumer %s (consumer.list names them)", name),
               STORE_OK;
    if (rc)
        return rc;
    int64_t now = c->env->change.now_ms, limit = c->env->consumer_retire_ms;
    int64_t idle = stored.acked_at ? now - stored.acked_at : INT64_MAX;
    if (!(c->caller->role & EXF_ROLE_ADMIN) && idle <= limit)
        return exf_fail (&c->err, EXF_FORBIDDEN, "consumer",
                         "consumer %s last acked %llds ago; ops may delete "
                         "only a consumer idle for more than %llds "
                         "(--consumer-retire-after), admin any", name,
                         (long long) (idle / 1000),
                         (long long) (limit / 1000)), STORE_OK;
    if ((rc = store_consumer_delete (txn, name)))
        return rc;
    msgpack_pack_map (c->pk, 2);
    pack_kv_str (c->pk, "consumer", name);
    codec_pack_cstr (c->pk, "deleted");
    msgpack_pack_true (c->pk);
    return STORE_OK;
}
