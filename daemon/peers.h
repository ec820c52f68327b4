/* peers — the connections of one listening socket, and what any one of
 * them may cost.
 *
 * Owns: counting a socket's connections (libzmq's monitor: accepted and
 * disconnected, with the connection's file descriptor), refusing those past
 * the maximum, and cutting a peer that leaves its replies unread: its reply
 * queue is bounded by the socket's high-water mark, and a peer whose queue
 * stays full for the grace period is disconnected. libzmq has no call to
 * drop one peer of a bound socket; shutting down the connection's
 * descriptor (which libzmq owns and then closes itself) is how.
 *
 * Memory a peer can hold in the daemon is thus bounded by the high-water
 * marks times the largest message, and connections by the maximum: the
 * figures are in PROTOCOL.md §2.1 and the README. */
#ifndef EXF_PEERS_H
#define EXF_PEERS_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>


typedef struct peers_t peers_t;

/* Watches `sock` (before it is bound, so no connection is missed). `what`
 * names it in logs ("commands", "events"). A peer may leave its replies
 * unread for `grace_ms` before it is cut. */
peers_t *peers_new (zsock_t *sock, const char *what, size_t max_connections,
                    int64_t grace_ms);
void peers_destroy (peers_t **self_p);

/* The monitor's socket, to poll beside the others: when it is readable,
 * call peers_handle_events. */
void *peers_monitor (peers_t *self);
/* Counts new and closed connections; refuses the ones past the maximum. */
void peers_handle_events (peers_t *self, int64_t now_ms);
size_t peers_count (const peers_t *self);
/* Connections refused since start, peers cut for unread replies. */
uint64_t peers_refused (const peers_t *self);
uint64_t peers_cut (const peers_t *self);

/* A reply to the connection `fd` could not be queued (its queue is full):
 * the first time starts its grace period, past it the connection is cut. */
void peers_reply_blocked (peers_t *self, int fd, int64_t now_ms);
/* A reply to `fd` was queued: its grace period, if any, is over. */
void peers_reply_sent (peers_t *self, int fd);

#endif
