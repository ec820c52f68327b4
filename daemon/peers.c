/* peers — connection limits of a listening socket. See peers.h. */
#include "peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

struct peers_t {
    char what[16];
    void *monitor;                  /* PAIR receiving the socket's events */
    size_t max;
    int64_t grace_ms;
    zhash_t *open;                  /* "fd" → connection_t */
    uint64_t refused, cut;
    size_t blocked;                 /* connections in their grace period */
};

typedef struct {
    int64_t blocked_since;          /* 0: its replies are being read */
} connection_t;

static void
key_of (int fd, char key[16])
{
    snprintf (key, 16, "%d", fd);
}

peers_t *
peers_new (zsock_t *sock, const char *what, size_t max_connections,
           int64_t grace_ms)
{
    peers_t *self = calloc (1, sizeof *self);
    if (!self)
        abort ();
    snprintf (self->what, sizeof self->what, "%s", what);
    self->max = max_connections;
    self->grace_ms = grace_ms;
    self->open = zhash_new ();
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "inproc://exitflowd-peers-%p",
              (void *) self);
    void *s = zsock_resolve (sock);
    if (zmq_socket_monitor (s, endpoint, ZMQ_EVENT_ACCEPTED
                                             | ZMQ_EVENT_DISCONNECTED) != 0)
        abort ();                   /* only fails for a bad endpoint */
    self->monitor = zmq_socket (zsys_init (), ZMQ_PAIR);
    if (!self->monitor || zmq_connect (self->monitor, endpoint) != 0)
        abort ();
    return self;
}

void
peers_destroy (peers_t **self_p)
{
    peers_t *self = *self_p;
    if (!self)
        return;
    int linger = 0;
    zmq_setsockopt (self->monitor, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close (self->monitor);
    zhash_destroy (&self->open);
    free (self);
    *self_p = NULL;
}

void *
peers_monitor (peers_t *self)
{
    return self->monitor;
}

size_t
peers_count (const peers_t *self)
{
    return zhash_size (self->open);
}

uint64_t
peers_refused (const peers_t *self)
{
    return self->refused;
}

uint64_t
peers_cut (const peers_t *self)
{
    return self->cut;
}

/* Ends a connection libzmq owns: it sees the end of the stream, drops the
 * peer's queues and closes the descriptor itself. */
static void
disconnect (int fd)
{
    shutdown (fd, SHUT_RDWR);
}

/* Drops the connection `key`, and its grace period if it had one. */
static void
forget (peers_t *self, const char *key)
{
    connection_t *c = zhash_lookup (self->open, key);
    if (c && c->blocked_since)
        self->blocked--;
    zhash_delete (self->open, key);
}

void
peers_handle_events (peers_t *self, int64_t now_ms)
{
    for (;;) {
        zmq_msg_t head, endpoint;
        zmq_msg_init (&head);
        zmq_msg_init (&endpoint);
        if (zmq_msg_recv (&head, self->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&head);
            zmq_msg_close (&endpoint);
            return;
        }
        zmq_msg_recv (&endpoint, self->monitor, 0);    /* always a pair */
        if (zmq_msg_size (&head) == 6) {
            const uint8_t *d = zmq_msg_data (&head);
            uint16_t event = (uint16_t) (d[0] | d[1] << 8);     /* host order */
            int32_t fd;
            memcpy (&fd, d + 2, sizeof fd);
            char key[16];
            key_of (fd, key);
            if (event == ZMQ_EVENT_ACCEPTED) {
                if (zhash_size (self->open) >= self->max) {
                    self->refused++;
                    log_limited (LOG_CONNECTIONS, now_ms, "warn",
                                 "%s: refused a connection past the maximum "
                                 "of %zu", self->what, self->max);
                    disconnect (fd);
                } else {
                    forget (self, key);     /* a descriptor reused */
                    connection_t *c = calloc (1, sizeof *c);
                    if (!c)
                        abort ();
                    zhash_update (self->open, key, c);
                    zhash_freefn (self->open, key, free);
                }
            } else if (event == ZMQ_EVENT_DISCONNECTED)
                forget (self, key);
        }
        zmq_msg_close (&head);
        zmq_msg_close (&endpoint);
    }
}

void
peers_reply_blocked (peers_t *self, int fd, int64_t now_ms)
{
    char key[16];
    key_of (fd, key);
    connection_t *c = zhash_lookup (self->open, key);
    if (!c)
        return;
    if (!c->blocked_since) {
        c->blocked_since = now_ms;
        self->blocked++;
    } else if (now_ms - c->blocked_since >= self->grace_ms) {
        self->cut++;
        self->blocked--;
        log_limited (LOG_CONNECTIONS, now_ms, "warn",
                     "%s: disconnected a peer that left its replies unread "
                     "for %lld s", self->what,
                     (long long) (self->grace_ms / 1000));
        c->blocked_since = 0;
        disconnect (fd);
    }
}

void
peers_reply_sent (peers_t *self, int fd)
{
    if (!self->blocked)
        return;                     /* the usual case: no lookup per reply */
    char key[16];
    key_of (fd, key);
    connection_t *c = zhash_lookup (self->open, key);
    if (c && c->blocked_since) {
        c->blocked_since = 0;
        self->blocked--;
    }
}
