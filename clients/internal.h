/* internal.h — what libexitflow's modules share and callers never see:
 * option defaults, the CURVE keys, the clock, the error setters, the reply decoder, the
 * event constructors and the event's layout (the subscriber queues events
 * through `next`).
 *
 * Never installed. These names carry their module's prefix only: the
 * library is compiled with hidden visibility and its archive has every
 * hidden symbol made local (clients/clients.mk), so none of them, nor the
 * protocol code included here, is visible to a program linking the
 * library. */
#ifndef EXITFLOW_INTERNAL_H
#define EXITFLOW_INTERNAL_H

#include "exitflow.h"
#include "protocol/codec.h"

#include <time.h>

/* ---- options (client.c) ---- */

/* `given` (NULL: the defaults) with every nonsense value replaced by its
 * default. */
exitflow_options_t options_normalize (const exitflow_options_t *given);

/* ---- CURVE keys (curve.c) ---- */

#define CURVE_KEY_LEN 40            /* a Z85 key, without its NUL */

/* A client's keys as Z85 text, read once when the client is made; the
 * sockets are remade on every retry and get them again. */
typedef struct {
    bool on;                        /* false: no CURVE (local mode) */
    char public_key[CURVE_KEY_LEN + 1];
    char secret_key[CURVE_KEY_LEN + 1];
    char server_key[CURVE_KEY_LEN + 1];
} curve_t;

/* The keys of `o` (cert and server_key, both or neither); false with `err`
 * set (BAD_REQUEST naming the field and the file) when they are unusable. */
bool curve_load (curve_t *self, const exitflow_options_t *o,
                 exitflow_error_t *err);
/* Puts the keys on a socket that has not connected yet (nothing when off). */
bool curve_apply (const curve_t *self, void *sock);
/* Forgets the keys, leaving no secret in freed memory. */
void curve_wipe (curve_t *self);

/* ---- the command client (client.c) ---- */

/* The keys the client's sockets use: the subscriber's SUB takes them too. */
const curve_t *client_curve (const exitflow_client_t *client);

/* ---- time (client.c) ---- */

/* `clock` (CLOCK_MONOTONIC, CLOCK_REALTIME) in milliseconds. */
int64_t clock_now_ms (clockid_t clock);

/* ---- errors (reply.c) ---- */

void error_clear (exitflow_error_t *err);
/* Sets a client-side error; always returns NULL so calls can
 * `return error_set (...)`. */
void *error_set (exitflow_error_t *err, const char *code, const char *field,
                 const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

/* ---- replies (reply.c) ---- */

/* Decodes one reply body, taking ownership of `body` (malloc'd). Returns the
 * reply when ok:true; NULL with `err` set for an error reply or bytes that
 * are not a reply; NULL with *stale set (and `err` untouched) when the
 * reply carries another request's id — a late answer to be discarded. */
exitflow_reply_t *reply_decode (char *body, size_t len, const char *expect_id,
                                bool *stale, exitflow_error_t *err);

/* ---- events (event.c) ---- */

struct _exitflow_event_t {
    exitflow_event_t *next;         /* the subscriber's queue */
    char *raw;
    size_t raw_len;
    msgpack_unpacked unpacked;
    const msgpack_object *data;
    uint64_t seq;
    bool has_client_id, has_actor;
    char type[EXF_ID_MAX + 1];
    char ts[CODEC_TIME_LEN + 8];
    char workflow_id[EXF_ID_MAX + 1];
    char client_id[EXF_ID_MAX + 1];
    char actor[EXF_ID_MAX + 1];
};

/* From a published body (copied). NULL when it is not an event. */
exitflow_event_t *event_from_bytes (const void *buf, size_t len);
/* From an event inside an events.read reply (re-encoded, so the event owns
 * its bytes and outlives the reply). NULL when it is not an event. */
exitflow_event_t *event_from_object (const msgpack_object *obj);

#endif
