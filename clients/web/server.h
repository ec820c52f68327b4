/* server — exitflow-web's HTTP side, on libmicrohttpd.
 *
 * Owns: the listening socket (HTTP, or HTTPS through MHD's GnuTLS), a
 * thread per connection (a live stream blocks in its own), request bodies
 * (1 MiB at most), handing /api/ to api.c and the pages to static.c, the
 * headers every response carries (CSP, nosniff, no referrer; no-store
 * under /api/), and one log line per request: method, route pattern,
 * status, user, error code, duration — never a body, a query or a
 * concrete path that could carry client data. */
#ifndef EXF_WEB_SERVER_H
#define EXF_WEB_SERVER_H

#include "api.h"
#include "static.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *listen;             /* ADDRESS:PORT */
    const char *tls_cert_pem;       /* PEM text, both or neither */
    const char *tls_key_pem;
    int connections_max;
    api_deps_t deps;
    static_files_t *files;
} server_config_t;

typedef struct server_t server_t;

/* Listening once it returns; NULL with the reason in `why`. */
server_t *server_start (const server_config_t *config, char *why, size_t cap);
/* Stops serving; waits for the connections' threads. */
void server_stop (server_t **self_p);

#endif
