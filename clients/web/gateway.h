/* gateway — exitflow-web's side of the wire: its clients of exitflowd.
 *
 * Owns: two small pools of libexitflow clients, one on the `frontend`
 * certificate (caseworker sessions: every command names the caseworker
 * as `actor`) and one on the `ops` certificate (ops sessions, and what
 * only ops may read: stats, consumer.list, events.read). A libexitflow
 * client is not thread-safe, so each request takes a client of its pool
 * for the length of its call. Arguments and results are JSON, turned into
 * msgpack and back by jsonpack. Also what the gateway knows of the
 * daemon for every page: the CoC's time zone (stats.timezone), which the
 * pages show times in. */
#ifndef EXF_WEB_GATEWAY_H
#define EXF_WEB_GATEWAY_H

#include "users.h"

#include "clients/exitflow.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *commands, *events;
    const char *frontend_cert, *ops_cert, *server_key;  /* all or none */
    int timeout_ms;
} gateway_config_t;

typedef struct gateway_t gateway_t;

/* NULL with the reason in `why` when a certificate cannot be used. */
gateway_t *gateway_new (const gateway_config_t *config, char *why, size_t cap);
/* Ends every call and subscriber wait in progress, and every later one,
 * at once with UNREACHABLE: the first step of stopping. */
void gateway_shutdown (gateway_t *self);
/* Frees the clients; every subscriber on gateway_ops_options must be
 * destroyed first (the zmq context waits for its sockets). */
void gateway_destroy (gateway_t **self_p);

/* `cmd` with `args` (a JSON object, or NULL) on the certificate of `role`:
 * ROLE_CASEWORKER sends `actor`, ROLE_OPS acts as the ops certificate
 * itself. The result as JSON (yours), or NULL with `err` set. */
json_t *gateway_call (gateway_t *self, user_role_t role, const char *actor,
                      const char *cmd, const json_t *args,
                      exitflow_error_t *err);

/* Options for a subscriber on the ops certificate (strings owned by the
 * gateway; the zmq context shared, so that destroying the gateway ends a
 * subscriber's wait too). */
exitflow_options_t gateway_ops_options (const gateway_t *self);
const char *gateway_commands (const gateway_t *self);
/* The zone of a stats answer (NULL or without one: nothing) is the CoC's
 * from now on. */
void gateway_note_stats (gateway_t *self, const json_t *stats);
/* Asks stats (ops) for the zone; false when the daemon did not answer. */
bool gateway_learn_timezone (gateway_t *self);
/* The CoC's IANA zone as the daemon last said it; "" before it has. */
void gateway_timezone (gateway_t *self, char *out, size_t cap);
const char *gateway_events (const gateway_t *self);

#endif
