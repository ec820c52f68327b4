/* internal.h — what libexitflow's modules share and callers never see:
 * option defaults, the clock, the error setters, the reply decoder, the
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
