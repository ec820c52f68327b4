/* stop — how a worker stops cleanly.
 *
 * Owns: the stop flag's wiring (SIGTERM and SIGINT set it; SIGPIPE is
 * ignored, so a peer hanging up is an error value, not a death) and the one
 * wait that notices it: every pause of the workers (a retry's backoff, a
 * wait for the daemon) sleeps in short slices and ends early on a stop,
 * so a SIGTERM is obeyed within 50 ms of any pause. */
#ifndef EXF_WORKER_STOP_H
#define EXF_WORKER_STOP_H

#include <signal.h>
#include <stdbool.h>

/* SIGTERM and SIGINT set *flag (without SA_RESTART: blocking waits return);
 * SIGPIPE is ignored. */
void stop_on_signals (volatile sig_atomic_t *flag);

/* Sleeps `ms`, waking early when *stop becomes non-zero (`stop` may be
 * NULL: then it just sleeps). False when stopped. */
bool stop_wait_ms (volatile sig_atomic_t *stop, int ms);

#endif
