/* live — the daemon's events, fanned out to every page as Server-Sent
 * Events (/api/live).
 *
 * Owns: ONE gapless subscriber (libexitflow's, on the ops certificate) in
 * a thread of its own, a bounded ring of the recent events (seq, type,
 * workflow_id, client_id, actor, ts: never step data), and the streams
 * reading it. A stream is a cursor into the ring: a page that falls more
 * than `lag_max` events behind (its socket not taking them) is dropped
 * and reconnects; a reconnect with Last-Event-ID resumes after that seq
 * while the ring still holds what follows it, else it gets `event:
 * reload`. At most `max_streams` at once; a comment line every
 * `heartbeat_s` keeps idle ones open. */
#ifndef EXF_WEB_LIVE_H
#define EXF_WEB_LIVE_H

#include "gateway.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct live_t live_t;
typedef struct live_stream_t live_stream_t;

/* `lag_max` < `ring`. */
live_t *live_new (gateway_t *gateway, size_t ring, size_t max_streams,
                  size_t lag_max, int heartbeat_s);
/* Starts the subscriber thread; it waits for the daemon by itself. */
bool live_start (live_t *self);
/* Ends every stream and the thread (after gateway_shutdown it ends at
 * once); the streams' memory stays until each is closed. */
void live_stop (live_t *self);
void live_destroy (live_t **self_p);

/* A stream of the events after `last_event_id` (`resume` false: from
 * now), only those of `workflow_id` when not NULL. NULL when there are
 * `max_streams` already. */
live_stream_t *live_open (live_t *self, bool resume, uint64_t last_event_id,
                          const char *workflow_id);
/* Up to `max` more bytes of the stream into `buf`, waiting for an event
 * or the heartbeat; 0 when the stream ends (stopped, dropped, or
 * `allowed(cls)` false: it is asked before each message and after every
 * live_kick). May block: call it from the connection's own thread. */
size_t live_read (live_stream_t *stream, char *buf, size_t max,
                  bool (*allowed) (void *cls), void *cls);
/* Wakes every stream to ask its `allowed` again (a session ended). */
void live_kick (live_t *self);
void live_close (live_stream_t *stream);

#endif
