/* http — exitflowd's /metrics and /health over HTTP (libmicrohttpd).
 *
 * Owns: the `--http ADDR:PORT` address (numeric IPv4, or [IPv6], and a
 * port), its listening socket, libmicrohttpd's own thread, and the three
 * answers: GET/HEAD /metrics (Prometheus text 0.0.4), GET/HEAD /health
 * (200 {"status":"ok"}, or 503 with the reason), 404 for any other path
 * and 405 for any other method. The thread reads only metrics snapshots
 * (metrics.h): never the store, never the loop's data. What it serves
 * holds counts and names, no client data; it has no authentication, so
 * the address belongs on loopback or a private network. */
#ifndef EXF_HTTP_H
#define EXF_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "metrics.h"

typedef struct http_t http_t;

/* What --http takes, for messages ("[::1]:5572" works too): the address
 * itself is read by setup_listen_address. */
#define HTTP_EXAMPLE "127.0.0.1:5572"
/* Binds `address` and serves from `metrics` on a thread of its own; NULL
 * with the reason in `why`. */
http_t *http_start (const char *address, metrics_t *metrics, char *why,
                    size_t cap);
/* Stops the thread and closes the socket. */
void http_stop (http_t **self_p);

#endif
