/* backlog — replies waiting for slow readers. See backlog.h. */
#include "backlog.h"

#include <czmq.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One reply as it will go out: its frames, back to back. */
typedef struct item_t {
    struct item_t *next;
    int n;                          /* frames: the envelope, then the reply */
    size_t size[9];
    size_t bytes;
    uint8_t data[];
} item_t;

/* The replies waiting for one peer, oldest first. */
typedef struct {
    item_t *head, *tail;
    size_t bytes;
    int fd;
} queue_t;

struct backlog_t {
    void *router;
    peers_t *peers;
    zhash_t *queues;                /* routing id (hex) → queue_t */
    size_t bytes;
};

backlog_t *
backlog_new (void *router, peers_t *peers)
{
    backlog_t *self = calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->router = router;
    self->peers = peers;
    self->queues = zhash_new ();
    return self;
}

static void
queue_free (backlog_t *self, queue_t *q)
{
    for (item_t *it = q->head, *next; it; it = next) {
        next = it->next;
        free (it);
    }
    self->bytes -= q->bytes;
    free (q);
}

void
backlog_destroy (backlog_t **self_p)
{
    backlog_t *self = *self_p;
    if (!self)
        return;
    for (queue_t *q = zhash_first (self->queues); q;
         q = zhash_next (self->queues))
        queue_free (self, q);
    zhash_destroy (&self->queues);
    free (self);
    *self_p = NULL;
}

size_t
backlog_bytes (const backlog_t *self)
{
    return self->bytes;
}

/* Sends one message made of `n` frames; 0, or the errno of the first frame
 * (EAGAIN: the peer's queue is full; EHOSTUNREACH: it is gone). With
 * ROUTER_MANDATORY only the first frame can fail: the rest follow it. */
static int
send_frames (backlog_t *self, int n, const void *const *data,
             const size_t *size)
{
    for (int i = 0; i < n; i++)
        if (zmq_send (self->router, data[i], size[i],
                      (i < n - 1 ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0)
            return i == 0 ? zmq_errno () : 0;
    return 0;
}

static int
send_item (backlog_t *self, const item_t *it)
{
    const void *data[9];
    size_t off = 0;
    for (int i = 0; i < it->n; i++) {
        data[i] = it->data + off;
        off += it->size[i];
    }
    return send_frames (self, it->n, data, it->size);
}

static void
hex_of (const zmq_msg_t *routing_id, char *out)
{
    const uint8_t *p = zmq_msg_data ((zmq_msg_t *) routing_id);
    size_t n = zmq_msg_size ((zmq_msg_t *) routing_id);
    for (size_t i = 0; i < n; i++)
        sprintf (out + 2 * i, "%02x", p[i]);
    out[2 * n] = '\0';
}

/* Keeps a copy of the reply at the end of the peer's queue, if the budgets
 * allow; a queue that is empty takes one reply whatever its size. */
static bool
keep (backlog_t *self, const char *key, zmq_msg_t *envelope, int n,
      const void *reply, size_t len, int fd)
{
    queue_t *q = zhash_lookup (self->queues, key);
    size_t bytes = len;
    for (int i = 0; i < n; i++)
        bytes += zmq_msg_size (&envelope[i]);
    if (q && (q->bytes + bytes > BACKLOG_PEER_BUDGET
              || self->bytes + bytes > BACKLOG_TOTAL_BUDGET))
        return false;
    if (!q && self->bytes + bytes > BACKLOG_TOTAL_BUDGET)
        return false;
    item_t *it = malloc (sizeof *it + bytes);
    if (!it)
        abort ();
    it->next = NULL;
    it->n = n + 1;
    it->bytes = bytes;
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        it->size[i] = zmq_msg_size (&envelope[i]);
        memcpy (it->data + off, zmq_msg_data (&envelope[i]), it->size[i]);
        off += it->size[i];
    }
    it->size[n] = len;
    memcpy (it->data + off, reply, len);
    if (!q) {
        q = calloc (1, sizeof *q);
        if (!q)
            abort ();
        zhash_insert (self->queues, key, q);
    }
    q->fd = fd;
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->bytes += bytes;
    self->bytes += bytes;
    return true;
}

void
backlog_send (backlog_t *self, zmq_msg_t *envelope, int n, const void *reply,
              size_t len, int fd, int64_t now_ms)
{
    /* the usual case, nothing waiting for anyone, costs no lookup */
    char key[2 * 255 + 1] = "";
    bool waiting = zhash_size (self->queues) > 0;
    if (waiting) {
        hex_of (&envelope[0], key);
        waiting = zhash_lookup (self->queues, key) != NULL;
    }
    if (!waiting) {
        /* nothing waits for this peer: straight out */
        const void *data[9];
        size_t size[9];
        for (int i = 0; i < n; i++) {
            data[i] = zmq_msg_data (&envelope[i]);
            size[i] = zmq_msg_size (&envelope[i]);
        }
        data[n] = reply;
        size[n] = len;
        int err = send_frames (self, n + 1, data, size);
        if (err != EAGAIN) {
            if (!err)
                peers_reply_sent (self->peers, fd);
            return;                 /* sent, or the peer is gone */
        }
        hex_of (&envelope[0], key);
    }
    if (!keep (self, key, envelope, n, reply, len, fd))
        peers_reply_blocked (self->peers, fd, now_ms);
}

void
backlog_flush (backlog_t *self, int64_t now_ms)
{
    (void) now_ms;
    zlist_t *done = zlist_new ();
    for (queue_t *q = zhash_first (self->queues); q;
         q = zhash_next (self->queues)) {
        int err = 0;
        while (q->head && !(err = send_item (self, q->head))) {
            item_t *it = q->head;
            q->head = it->next;
            q->bytes -= it->bytes;
            self->bytes -= it->bytes;
            free (it);
        }
        if (!q->head || err != EAGAIN)     /* emptied, or the peer is gone */
            zlist_append (done, (void *) zhash_cursor (self->queues));
        if (!q->head)
            peers_reply_sent (self->peers, q->fd);
    }
    for (const char *key = zlist_first (done); key; key = zlist_next (done)) {
        queue_t *q = zhash_lookup (self->queues, key);
        zhash_delete (self->queues, key);      /* before the key goes */
        queue_free (self, q);
    }
    zlist_destroy (&done);
}
