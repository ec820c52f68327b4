/* subscriber — exitflowd's events, gapless and in seq order.
 *
 * Owns: the SUB socket (with the client's CURVE keys) and a monitor on it,
 * the next expected seq, the queue of events ready for the caller, and the
 * rule that makes PUB/SUB reliable:
 * the socket is only the fast path, the event log (events.read) is the
 * truth. Whenever the socket may have lost something — at the start, after
 * a reconnect, when a seq jumps, after a quiet spell — the log is read from
 * the next expected seq on. A message from the socket that is lost or
 * thrown away is therefore never lost for the caller: next_seq has not
 * moved past it, so the next log read brings it. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

/* Messages taken from the socket per wake-up before the caller gets one:
 * bounds the time spent in one call when the socket is flooded. */
#define DRAIN_BATCH 256

struct _exitflow_subscriber_t {
    exitflow_client_t *client;      /* reads the log */
    void *ctx;
    bool own_ctx;
    void *sub;
    void *monitor;                  /* PAIR receiving the SUB's connect events */
    char *events_endpoint;
    char *prefix;
    size_t prefix_len;
    uint64_t next_seq;              /* every seq below it is accounted for */
    bool caught_up;                 /* the start-up read is done */
    bool need_read;                 /* a (re)connect happened: read the log */
    bool behind;                    /* the log has more than was queued */
    int connects;
    int poll_interval_ms;
    int page;
    int64_t last_news;              /* monotonic ms of the last message or read */
    uint64_t gap_reads;
    exitflow_event_t *head, *tail;  /* ready for the caller */
    size_t queued;
    exitflow_drop_fn *drop;
    void *drop_arg;
};

static void
set_int (void *sock, int option, int value)
{
    zmq_setsockopt (sock, option, &value, sizeof value);
}

exitflow_subscriber_t *
exitflow_subscriber_new (const char *cmd_endpoint, const char *events_endpoint,
                         uint64_t after_seq, const char *type_prefix,
                         const exitflow_options_t *options)
{
    exitflow_error_t why;
    if (!cmd_endpoint || !exitflow_endpoint_check (events_endpoint, &why)) {
        errno = EINVAL;
        return NULL;
    }
    exitflow_subscriber_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    exitflow_options_t o = options_normalize (options);
    self->poll_interval_ms = o.poll_interval_ms;
    self->page = o.page;
    self->next_seq = after_seq + 1;
    self->prefix = strdup (type_prefix ? type_prefix : "");
    self->prefix_len = self->prefix ? strlen (self->prefix) : 0;
    self->events_endpoint = strdup (events_endpoint);
    self->ctx = o.zmq_context;
    if (!self->ctx) {
        self->ctx = zmq_ctx_new ();
        self->own_ctx = true;
    }
    if (!self->prefix || !self->events_endpoint || !self->ctx)
        goto fail;
    o.zmq_context = self->ctx;
    self->client = exitflow_client_new (cmd_endpoint, &o);
    if (!self->client)
        goto fail;

    self->sub = zmq_socket (self->ctx, ZMQ_SUB);
    self->monitor = zmq_socket (self->ctx, ZMQ_PAIR);
    if (!self->sub || !self->monitor)
        goto fail;
    set_int (self->sub, ZMQ_LINGER, 0);
    set_int (self->monitor, ZMQ_LINGER, 0);
    if (o.rcvhwm > 0)
        set_int (self->sub, ZMQ_RCVHWM, o.rcvhwm);
    set_int (self->sub, ZMQ_RECONNECT_IVL, 100);
    set_int (self->sub, ZMQ_RECONNECT_IVL_MAX, 2000);
    /* The client read the keys: a SUB the daemon does not accept gets
     * no events at all, and its log reads are refused the same way. */
    if (!curve_apply (client_curve (self->client), self->sub))
        goto fail;
    /* No ZMTP heartbeats on this socket: with a full receive pipe
     * (backpressure) libzmq 4.3.4 can abort the whole process in
     * stream_engine_base.cpp:417 (assert _input_stopped; libzmq #3937).
     * A silently vanished PUB costs nothing here anyway: the idle log
     * read below keeps delivery complete without the socket. */
    /* The socket's own filter matches the first frame, the type. */
    zmq_setsockopt (self->sub, ZMQ_SUBSCRIBE, self->prefix, self->prefix_len);

    /* The monitor must exist before the connect, or the first CONNECTED
     * is missed. */
    char addr[96];
    snprintf (addr, sizeof addr, "inproc://exitflow-subscriber-monitor-%p",
              (void *) self);
    if (zmq_socket_monitor (self->sub, addr, ZMQ_EVENT_CONNECTED) != 0
        || zmq_connect (self->monitor, addr) != 0
        || zmq_connect (self->sub, self->events_endpoint) != 0)
        goto fail;
    self->last_news = clock_now_ms (CLOCK_MONOTONIC);
    return self;
fail:;
    int e = errno;
    exitflow_subscriber_destroy (&self);
    errno = e;
    return NULL;
}

void
exitflow_subscriber_destroy (exitflow_subscriber_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    exitflow_subscriber_t *self = *self_p;
    while (self->head) {
        exitflow_event_t *next = self->head->next;
        exitflow_event_destroy (&self->head);
        self->head = next;
    }
    if (self->sub) {
        zmq_socket_monitor (self->sub, NULL, 0);
        zmq_close (self->sub);
    }
    if (self->monitor)
        zmq_close (self->monitor);
    exitflow_client_destroy (&self->client);
    if (self->own_ctx && self->ctx)
        while (zmq_ctx_term (self->ctx) == -1 && errno == EINTR)
            ;
    free (self->prefix);
    free (self->events_endpoint);
    free (self);
    *self_p = NULL;
}

uint64_t
exitflow_subscriber_seq (const exitflow_subscriber_t *self)
{
    return self->next_seq - 1;
}

uint64_t
exitflow_subscriber_gap_reads (const exitflow_subscriber_t *self)
{
    return self->gap_reads;
}

void *
exitflow_subscriber_socket (exitflow_subscriber_t *self)
{
    return self->sub;
}

void
exitflow_subscriber_set_drop_hook (exitflow_subscriber_t *self,
                                   exitflow_drop_fn *drop, void *arg)
{
    self->drop = drop;
    self->drop_arg = arg;
}

/* Accounts for one event: a duplicate is dropped, anything else moves
 * next_seq past it, and only the chosen types reach the queue. The filter
 * comes after the seq bookkeeping, so skipped types never look like gaps. */
static void
take (exitflow_subscriber_t *self, exitflow_event_t *ev)
{
    if (ev->seq < self->next_seq) {
        exitflow_event_destroy (&ev);
        return;
    }
    self->next_seq = ev->seq + 1;
    if (strncmp (ev->type, self->prefix, self->prefix_len) != 0) {
        exitflow_event_destroy (&ev);
        return;
    }
    ev->next = NULL;
    if (self->tail)
        self->tail->next = ev;
    else
        self->head = ev;
    self->tail = ev;
    self->queued++;
}

/* Takes events from the log until seq `upto` is accounted for, or to the
 * log's end when `upto` is 0 — but stops once a page is queued, setting
 * `behind`: catching up from seq 0 on a long log must not hold the whole
 * log in memory. The caller reads on as the queue empties. */
static bool
read_log (exitflow_subscriber_t *self, uint64_t upto, exitflow_error_t *err)
{
    self->last_news = clock_now_ms (CLOCK_MONOTONIC);
    self->behind = false;
    while (upto == 0 || self->next_seq <= upto) {
        if (self->queued >= (size_t) self->page) {
            self->behind = true;
            break;
        }
        exitflow_reply_t *reply = exitflow_events_read (self->client,
                                                        self->next_seq - 1,
                                                        self->page, err);
        if (!reply) {
            self->behind = true;        /* resume here on the next call */
            return false;
        }
        const msgpack_object *res = exitflow_reply_result (reply);
        const msgpack_object *events = exitflow_obj_get (res, "events");
        int64_t last_seq = 0;
        exitflow_obj_int (res, "last_seq", &last_seq);
        uint32_t n = events && events->type == MSGPACK_OBJECT_ARRAY
                         ? events->via.array.size : 0;
        for (uint32_t i = 0; i < n; i++) {
            exitflow_event_t *ev = event_from_object (&events->via.array.ptr[i]);
            if (ev)
                take (self, ev);
        }
        exitflow_reply_destroy (&reply);
        if (n == 0 || self->next_seq > (uint64_t) last_seq)
            break;
    }
    self->last_news = clock_now_ms (CLOCK_MONOTONIC);
    return true;
}

/* Reads whatever the monitor has; a connect (first or again) means the
 * socket may have missed events, so the log is read before the next
 * delivery. */
static void
drain_monitor (exitflow_subscriber_t *self)
{
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, self->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&part);
            return;
        }
        /* First frame: uint16 event, uint32 value (native order); the
         * second frame, the endpoint, is skipped. */
        if (zmq_msg_size (&part) >= 2) {
            uint16_t event;
            memcpy (&event, zmq_msg_data (&part), sizeof event);
            if (event == ZMQ_EVENT_CONNECTED) {
                if (self->connects++ > 0)
                    self->gap_reads++;
                self->need_read = true;
            }
        }
        while (zmq_msg_more (&part)) {
            zmq_msg_close (&part);
            zmq_msg_init (&part);
            if (zmq_msg_recv (&part, self->monitor, ZMQ_DONTWAIT) < 0)
                break;
        }
        zmq_msg_close (&part);
    }
}

/* Receives one message without waiting: its last frame is the body.
 * Returns NULL when there is none or it is not an event. */
static exitflow_event_t *
recv_event (exitflow_subscriber_t *self, bool *got)
{
    *got = false;
    exitflow_event_t *ev = NULL;
    zmq_msg_t part;
    zmq_msg_init (&part);
    for (;;) {
        if (zmq_msg_recv (&part, self->sub, ZMQ_DONTWAIT) < 0)
            break;
        *got = true;
        if (!zmq_msg_more (&part)) {
            ev = event_from_bytes (zmq_msg_data (&part), zmq_msg_size (&part));
            break;
        }
    }
    zmq_msg_close (&part);
    return ev;
}

static bool
drain_socket (exitflow_subscriber_t *self, exitflow_error_t *err)
{
    for (int i = 0; i < DRAIN_BATCH; i++) {
        bool got;
        exitflow_event_t *ev = recv_event (self, &got);
        if (!got)
            break;
        self->last_news = clock_now_ms (CLOCK_MONOTONIC);
        if (!ev)
            continue;                   /* not an event: ignore */
        if (self->drop && self->drop (ev->seq, self->drop_arg)) {
            exitflow_event_destroy (&ev);
            continue;
        }
        if (ev->seq > self->next_seq && !self->behind) {
            /* Something between was lost; the log has it. If the read
             * fails this event goes too, and the next read brings it. */
            self->gap_reads++;
            if (!read_log (self, ev->seq, err)) {
                exitflow_event_destroy (&ev);
                return false;
            }
        }
        if (ev->seq > self->next_seq)
            exitflow_event_destroy (&ev);   /* still catching up: the log
                                               brings it in its turn */
        else
            take (self, ev);
    }
    return true;
}

int
exitflow_subscriber_next (exitflow_subscriber_t *self, int timeout_ms,
                          exitflow_event_t **event, exitflow_error_t *err)
{
    *event = NULL;
    error_clear (err);
    int64_t deadline = timeout_ms < 0 ? INT64_MAX
                       : clock_now_ms (CLOCK_MONOTONIC) + timeout_ms;
    if (!self->caught_up) {
        if (!read_log (self, 0, err))
            return -1;
        self->caught_up = true;
    }
    while (!self->head) {
        if (self->behind) {
            if (!read_log (self, 0, err))
                return -1;
            if (self->head)
                break;
        }
        int64_t now = clock_now_ms (CLOCK_MONOTONIC);
        int64_t idle_due = self->last_news + self->poll_interval_ms;
        int64_t until = deadline < idle_due ? deadline : idle_due;
        long wait = until > now ? (long) (until - now) : 0;
        zmq_pollitem_t items[] = {
            { self->sub, 0, ZMQ_POLLIN, 0 },
            { self->monitor, 0, ZMQ_POLLIN, 0 },
        };
        int rc = zmq_poll (items, 2, wait);
        if (rc < 0) {
            if (errno == EINTR)
                return 0;               /* let the caller look at its signal */
            error_set (err, EXITFLOW_UNREACHABLE, NULL, "poll failed: %s",
                       zmq_strerror (errno));
            return -1;
        }
        if (items[1].revents & ZMQ_POLLIN)
            drain_monitor (self);
        if ((items[0].revents & ZMQ_POLLIN) && !drain_socket (self, err))
            return -1;
        if (self->need_read
            || (!self->head && clock_now_ms (CLOCK_MONOTONIC)
                               >= self->last_news + self->poll_interval_ms)) {
            /* After a connect, or quiet for a while: a loss at the tail
             * shows no jump, only the log can reveal it. */
            self->need_read = false;
            if (!read_log (self, 0, err)) {
                self->need_read = true;
                return -1;
            }
        }
        if (!self->head && clock_now_ms (CLOCK_MONOTONIC) >= deadline)
            return 0;
    }
    *event = self->head;
    self->head = self->head->next;
    self->queued--;
    if (!self->head)
        self->tail = NULL;
    (*event)->next = NULL;
    return 1;
}
