/* stop — how a worker stops cleanly.
 *
 * Owns: the stop flag's wiring (SIGTERM and SIGINT set it; SIGPIPE is
 * ignored, so a peer hanging up is an error value, not a death), the one
 * wait that notices it — every pause of the workers (a retry's backoff, a
 * wait for the daemon) sleeps in short slices and ends early on a stop, so
 * a SIGTERM is obeyed within 50 ms of any pause — and the watch that ends
 * a call to the daemon in flight: a call can wait seconds on a daemon that
 * is down or stopped, so STOP_GRACE_MS after the signal the ZeroMQ context
 * the worker's sockets live in is shut down, which makes such a call return
 * at once (libexitflow: UNREACHABLE). The grace lets a worker whose daemon
 * answers finish on its own, with its last ack. */
#ifndef EXF_WORKER_STOP_H
#define EXF_WORKER_STOP_H

#include <signal.h>
#include <stdbool.h>

/* From the signal to the context's shutdown. */
#define STOP_GRACE_MS 250

/* SIGTERM and SIGINT set *flag (without SA_RESTART: blocking waits return);
 * SIGPIPE is ignored. */
void stop_on_signals (volatile sig_atomic_t *flag);

/* Sleeps `ms`, waking early when *stop becomes non-zero (`stop` may be
 * NULL: then it just sleeps). False when stopped. */
bool stop_wait_ms (volatile sig_atomic_t *stop, int ms);

/* From now until stop_unwatch, a SIGTERM or SIGINT (stop_on_signals must
 * have been called) shuts `zmq_ctx` down STOP_GRACE_MS after it arrives;
 * when the stop flag is set already, STOP_GRACE_MS from now. Starts a
 * thread; false when it cannot (then a stop waits out the call in flight). */
bool stop_watch (void *zmq_ctx);

/* Ends the watch and its thread: call it before zmq_ctx_term. */
void stop_unwatch (void);

#endif
