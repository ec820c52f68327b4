/* consumer — offset, subscribe, handle, ack. See consumer.h. */
#include "workers/common/consumer.h"

#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "protocol/codec.h"
#include "protocol/names.h"
#include "workers/common/stop.h"
#include "workers/common/wlog.h"

/* Short timeouts: a daemon that comes back is noticed soon. A stop does
 * not wait for them: the sockets live in `ctx`, which the stop watch shuts
 * down (stop.h). The keys serve the command client and the subscriber
 * alike. */
static exitflow_options_t
consumer_options (const consumer_config_t *cfg, void *ctx)
{
    exitflow_options_t o = exitflow_options_default ();
    o.zmq_context = ctx;
    o.timeout_ms = 3000;
    o.retries = 2;
    o.poll_interval_ms = 500;
    o.cert = cfg->cert;
    o.server_key = cfg->server_key;
    return o;
}

/* The stored offset of `name`, 0 when it has none. False when unreachable. */
static bool
stored_offset (exitflow_client_t *client, const char *name, uint64_t *offset,
               exitflow_error_t *err)
{
    exitflow_reply_t *reply = exitflow_consumer_list (client, err);
    if (!reply)
        return false;
    *offset = 0;
    const msgpack_object *list = exitflow_obj_get (exitflow_reply_result (reply),
                                                   "consumers");
    if (list && list->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < list->via.array.size; i++) {
            const msgpack_object *c = &list->via.array.ptr[i];
            char who[EXF_ID_MAX + 1];
            int64_t seq;
            if (exitflow_obj_str (c, "consumer", who, sizeof who)
                && strcmp (who, name) == 0 && exitflow_obj_int (c, "seq", &seq)
                && seq > 0)
                *offset = (uint64_t) seq;
        }
    exitflow_reply_destroy (&reply);
    return true;
}

typedef struct {
    const consumer_config_t *cfg;
    exitflow_client_t *client;
    uint64_t acked;                 /* the daemon has this */
    uint64_t processed;             /* every event up to here is handled */
} state_t;

static bool
ack (state_t *s, uint64_t seq)
{
    exitflow_error_t err;
    exitflow_reply_t *reply = exitflow_consumer_ack (s->client, s->cfg->name,
                                                     seq, &err);
    if (!reply) {
        wlog ("%s %llu failed: %s %s%s", EXF_CMD_NAME (CONSUMER_ACK),
              (unsigned long long) seq, err.code, err.message,
              *s->cfg->stop ? "" : " (will retry)");
        return false;
    }
    int64_t lag = 0;
    exitflow_obj_int (exitflow_reply_result (reply), "lag", &lag);
    exitflow_reply_destroy (&reply);
    if (s->cfg->verbose)
        wlog ("acked %llu (lag %lld)", (unsigned long long) seq, (long long) lag);
    s->acked = seq;
    if (s->cfg->acked)
        s->cfg->acked (s->cfg->arg, seq);
    return true;
}

/* Handles one event until it is done or we must stop. False to stop. */
static bool
handle (state_t *s, const exitflow_event_t *ev)
{
    const consumer_config_t *cfg = s->cfg;
    int pause = cfg->retry_ms > 0 ? cfg->retry_ms : 200;
    for (int attempt = 1;; attempt++) {
        consumer_status_t st = cfg->handle (cfg->arg, s->client, ev);
        if (st == CONSUMER_STOP)
            return false;
        if (st == CONSUMER_DONE || st == CONSUMER_EFFECT) {
            s->processed = exitflow_event_seq (ev);
            int every = cfg->ack_every > 0 ? cfg->ack_every : 100;
            if (st == CONSUMER_EFFECT || s->processed - s->acked >= (uint64_t) every)
                ack (s, s->processed);
            return true;
        }
        if (attempt == 1 || attempt % 20 == 0)
            wlog ("event %llu (%s): will retry (attempt %d)",
                  (unsigned long long) exitflow_event_seq (ev),
                  exitflow_event_type (ev), attempt);
        if (!stop_wait_ms (cfg->stop, pause))
            return false;
        pause = pause * 2 > 5000 ? 5000 : pause * 2;
    }
}

/* Offset, subscribe, handle until *stop. 0 after a clean stop, 1 when it
 * cannot run. */
static int
consume (const consumer_config_t *cfg, const exitflow_options_t *o)
{
    exitflow_error_t err;
    state_t s = { .cfg = cfg };
    s.client = exitflow_client_new (cfg->commands, o);
    if (!s.client) {
        wlog ("cannot use command endpoint %s", cfg->commands);
        return 1;
    }
    uint64_t offset = 0;
    for (int attempt = 1; !*cfg->stop; attempt++) {
        if (stored_offset (s.client, cfg->name, &offset, &err))
            break;
        if (!*cfg->stop && (attempt == 1 || attempt % 30 == 0))
            wlog ("waiting for the daemon at %s: %s", cfg->commands, err.message);
        stop_wait_ms (cfg->stop, 1000);
    }
    if (*cfg->stop) {
        exitflow_client_destroy (&s.client);
        return 0;
    }
    s.acked = s.processed = offset;
    wlog ("consumer %s starts after seq %llu", cfg->name,
          (unsigned long long) offset);
    ack (&s, offset);               /* shows in consumer.list from now on */

    exitflow_subscriber_t *sub = exitflow_subscriber_new (cfg->commands,
                                                          cfg->events, offset,
                                                          "", o);
    if (!sub) {
        wlog ("cannot subscribe to %s", cfg->events);
        exitflow_client_destroy (&s.client);
        return 1;
    }
    int failures = 0;
    while (!*cfg->stop) {
        exitflow_event_t *ev = NULL;
        int rc = exitflow_subscriber_next (sub, 200, &ev, &err);
        if (rc == 1) {
            failures = 0;
            if (cfg->verbose)
                wlog ("event %llu %s %s", (unsigned long long) exitflow_event_seq (ev),
                      exitflow_event_type (ev), exitflow_event_workflow_id (ev));
            bool go_on = handle (&s, ev);
            exitflow_event_destroy (&ev);
            if (!go_on)
                break;
        } else if (rc == 0) {
            /* Idle: everything the subscriber accounted for is handled. */
            uint64_t seen = exitflow_subscriber_seq (sub);
            if (seen > s.processed)
                s.processed = seen;
            if (s.processed > s.acked)
                ack (&s, s.processed);
        } else if (!*cfg->stop) {
            if (failures++ % 30 == 0)
                wlog ("reading events failed: %s %s (will retry)", err.code,
                      err.message);
            stop_wait_ms (cfg->stop, 500);
        }
    }
    if (s.processed > s.acked)
        ack (&s, s.processed);
    wlog ("consumer %s stops at seq %llu", cfg->name,
          (unsigned long long) s.acked);
    exitflow_subscriber_destroy (&sub);
    exitflow_client_destroy (&s.client);
    return 0;
}

int
consumer_run (const consumer_config_t *cfg)
{
    void *ctx = zmq_ctx_new ();
    if (!ctx) {
        wlog ("cannot make a ZeroMQ context: %s", zmq_strerror (errno));
        return 1;
    }
    exitflow_options_t o = consumer_options (cfg, ctx);
    exitflow_error_t err;
    int rc = 1;
    if (!exitflow_options_check (&o, &err))
        wlog ("%s", err.message);
    else {
        stop_watch (ctx);
        rc = consume (cfg, &o);
        stop_unwatch ();
    }
    while (zmq_ctx_term (ctx) == -1 && errno == EINTR)
        ;
    return rc;
}

int
consumer_run_worker (const worker_config_t *cfg, consumer_handler_fn *handle,
                     consumer_acked_fn *acked, void *arg,
                     volatile sig_atomic_t *stop)
{
    consumer_config_t cc = {
        .name = cfg->name, .commands = cfg->commands, .events = cfg->events,
        .cert = cfg->cert, .server_key = cfg->server_key, .handle = handle, .acked = acked, .arg = arg, .stop = stop,
        .verbose = cfg->verbose };
    return consumer_run (&cc);
}
