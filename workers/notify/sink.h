/* sink — where notifications go: a small interface and three sinks.
 *
 * Owns: the sink interface (deliver one notification; optionally say from
 * the sink's own record that it went out already), making a sink from its
 * spec (`file:PATH`, `http://HOST:PORT/PATH` or `https://…`, `smtp://HOST:
 * PORT` or `smtps://…`), and delivering with retries and backoff.
 *
 *   file   appends the JSON line and fsyncs; before appending it looks for
 *          the notification's id in the file's tail, so a restart never
 *          writes a line twice.
 *   http   POSTs the JSON with `Idempotency-Key: <id>` (libcurl). 2xx is
 *          delivered; 408, 425, 429, 5xx and network faults are retried;
 *          any other status gives up.
 *   smtp   one mail to the ops address and the caseworker (<actor>@
 *          actor-domain), `Message-ID: <id@exitflow>` (libcurl). 4xx replies
 *          and network faults are retried; 5xx gives up.
 *
 * A sink is a struct of function pointers: tests make fakes. */
#ifndef EXF_SINK_H
#define EXF_SINK_H

#include <signal.h>
#include <stdbool.h>

#include "workers/notify/notification.h"

#define SINK_SPEC_MAX 512

typedef enum { SINK_OK, SINK_RETRY, SINK_FAIL } sink_status_t;

typedef struct {
    const char *from;               /* SMTP sender (exitflow@localhost) */
    const char *actor_domain;       /* SMTP: actor:<id> → <id>@domain; NULL none */
    long timeout_ms;                /* one HTTP or SMTP exchange (10000) */
} sink_options_t;

typedef struct sink sink_t;
typedef sink_status_t (sink_deliver_fn) (sink_t *self, const notification_t *n,
                                         char *why, size_t cap);
struct sink {
    char spec[SINK_SPEC_MAX];       /* as given: the key of the sent log */
    const char *kind;               /* "file", "http", "smtp" */
    sink_deliver_fn *deliver;
    bool (*delivered) (sink_t *self, const notification_t *n);  /* may be NULL */
    void (*destroy) (sink_t *self);                             /* may be NULL */
    void *impl;
};

/* NULL with `why` when the spec is not one of the forms above. */
sink_t *sink_new (const char *spec, const sink_options_t *options, char *why,
                  size_t cap);
void sink_destroy (sink_t **self_p);

typedef struct {
    int attempts;                   /* tries in all, >= 1 (8) */
    int backoff_ms;                 /* pause after the first failure (500) */
    int backoff_max_ms;             /* doubling up to this (30000) */
} retry_policy_t;

typedef enum { DELIVER_OK, DELIVER_GAVE_UP, DELIVER_STOPPED } deliver_result_t;

/* Delivers, retrying SINK_RETRY with doubling pauses until the attempts are
 * used up (then GAVE_UP, `why` says the last reason); SINK_FAIL gives up at
 * once. Returns STOPPED, not having delivered, when *stop becomes non-zero
 * while waiting. `attempts` (may be NULL) gets the tries made. */
deliver_result_t sink_deliver (sink_t *sink, const notification_t *n,
                               const retry_policy_t *policy,
                               volatile sig_atomic_t *stop, int *attempts,
                               char *why, size_t cap);

/* The constructors behind sink_new, for tests. */
sink_t *sink_file_new (const char *path);
sink_t *sink_http_new (const char *url, const sink_options_t *options);
sink_t *sink_smtp_new (const char *url, const sink_options_t *options);

/* ---- what the libcurl sinks (http, smtp) share ---- */

/* How their impl structs begin: the easy handle, reused from one exchange
 * to the next, and the timeout of one exchange. */
typedef struct {
    void *curl;                     /* CURL * */
    long timeout_ms;
} sink_curl_t;

/* A sink of `kind` delivering with `deliver`, whose impl is `impl_size`
 * zeroed bytes starting with a sink_curl_t: a fresh handle and the options'
 * timeout (10000 ms when none). Destroying the sink cleans the handle up.
 * NULL when out of memory or libcurl cannot start. */
sink_t *sink_curl_new (const char *kind, sink_deliver_fn *deliver,
                       size_t impl_size, const sink_options_t *options);
/* The handle, reset for one exchange: the sink's spec as the URL, the
 * timeout, no signals, only `protocols` ("http,https"). */
void *sink_curl_start (sink_t *self, const char *protocols);
/* Runs the exchange set up on `curl`. True when it went through; `code` gets
 * the server's last reply code (0 none), `error` libcurl's reason when not. */
bool sink_curl_perform (void *curl, long *code, const char **error);

#endif
