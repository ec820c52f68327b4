/* backlog — replies that wait for a slow reader, within a byte budget.
 *
 * Owns: sending a reply on the command socket, and when the peer's queue
 * in libzmq is full (a few messages: REPLY_QUEUE_MAX), keeping the reply
 * in the daemon until the peer reads, in order, counted in bytes. A peer
 * may have PEER_BUDGET bytes waiting, all peers TOTAL_BUDGET together; a
 * reply past either is dropped (a write's reply stays stored for its
 * retry) and the peer's grace period starts (peers.h), after which it is
 * disconnected. So a peer that never reads costs the daemon a bounded,
 * documented amount, however much it asks for, and one that reads slowly
 * loses nothing. */
#ifndef EXF_BACKLOG_H
#define EXF_BACKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "peers.h"

#define BACKLOG_PEER_BUDGET ((size_t) 4 << 20)
#define BACKLOG_TOTAL_BUDGET ((size_t) 256 << 20)

typedef struct backlog_t backlog_t;

backlog_t *backlog_new (void *router, peers_t *peers);
void backlog_destroy (backlog_t **self_p);

/* Sends `envelope` (n frames, the first the routing id) then `reply`, or
 * keeps them for later; from connection `fd`. The frames stay the
 * caller's. */
void backlog_send (backlog_t *self, zmq_msg_t *envelope, int n,
                   const void *reply, size_t len, int fd, int64_t now_ms);
/* Sends what waits, as far as the peers' queues take it. */
void backlog_flush (backlog_t *self, int64_t now_ms);
/* Bytes waiting, all peers. */
size_t backlog_bytes (const backlog_t *self);

#endif
