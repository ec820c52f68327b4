/* consumer — the loop both workers are built on, over libexitflow.
 *
 * Owns: starting from the consumer's stored offset (consumer.list), the
 * gapless subscriber (catch-up from events.read, then the PUB socket, gaps
 * filled from the log), handing each event to the worker, retrying an event
 * whose handling failed for a transient reason (never skipping it), and
 * consumer.ack after the work is done: at once after an event that had an
 * effect, otherwise every `ack_every` events and whenever the stream is
 * idle. Delivery is at least once: after a crash the events since the last
 * ack are handled again, so handlers make their effects idempotent. On
 * start the stored offset is acked once, so the consumer shows in
 * consumer.list (with its lag) before it has handled anything. */
#ifndef EXF_WORKER_CONSUMER_H
#define EXF_WORKER_CONSUMER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "clients/exitflow.h"
#include "workers/common/config.h"

typedef enum {
    CONSUMER_DONE,                  /* handled, nothing written */
    CONSUMER_EFFECT,                /* handled, and it did something: ack now */
    CONSUMER_RETRY,                 /* transient failure: same event again */
    CONSUMER_STOP,                  /* interrupted: stop without acking it */
} consumer_status_t;

typedef consumer_status_t (consumer_handler_fn) (void *arg,
                                                 exitflow_client_t *client,
                                                 const exitflow_event_t *event);
/* Called after the daemon has recorded an ack of `seq`. */
typedef void (consumer_acked_fn) (void *arg, uint64_t seq);

typedef struct {
    const char *name;               /* the consumer name (the offset's key) */
    const char *commands, *events;  /* the daemon's endpoints */
    const char *cert, *server_key;  /* CURVE keys (both or NULL) */
    consumer_handler_fn *handle;
    consumer_acked_fn *acked;       /* may be NULL */
    void *arg;
    volatile sig_atomic_t *stop;    /* set by the signal handler */
    int ack_every;                  /* 0: 100 */
    int retry_ms;                   /* first pause before a retry; 0: 200 */
    bool verbose;
} consumer_config_t;

/* Runs until *stop. Its sockets live in a ZeroMQ context of its own,
 * watched (stop.h): after a SIGTERM a call waiting on the daemon ends
 * within STOP_GRACE_MS. Returns 0 after a clean stop, 1 when it cannot run
 * (a bad endpoint or unusable keys). */
int consumer_run (const consumer_config_t *cfg);

/* consumer_run for a worker set up by `cfg` (its consumer name, endpoints
 * and --verbose); `acked` may be NULL. */
int consumer_run_worker (const worker_config_t *cfg, consumer_handler_fn *handle,
                         consumer_acked_fn *acked, void *arg,
                         volatile sig_atomic_t *stop);

#endif
