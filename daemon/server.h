/* server — exitflowd's shell: sockets, the request loop, group commit.
 *
 * Owns: the ROUTER command socket and the PUB event socket, reading every
 * request waiting on the socket into one batch, running the batch in one
 * store transaction, committing once, then replying and publishing; the
 * outbox of events waiting for their commit; what a storage fault does to
 * a batch; the maintenance timer (reply sweep, stall scan); feeding the
 * metrics (metrics.h) and starting their HTTP server (http.h). */
#ifndef EXF_SERVER_H
#define EXF_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *data_dir;
    const char *commands_endpoint;
    const char *events_endpoint;
    int64_t stall_after_s;
    int64_t reply_retention_s;      /* stored replies kept at least this long */
    size_t map_size;
    size_t max_map_size;            /* the map grows up to it (>= map_size) */
    const char *server_cert;        /* secret certificate; NULL: local mode */
    const char *certs_dir;          /* clients' public certificates */
    size_t max_connections;         /* per socket */
    int64_t peer_grace_s;           /* replies left unread this long: cut */
    int64_t consumer_retire_after_s; /* ops may delete a consumer idle longer */
    bool verbose;                   /* log every request (ids and codes only) */
    const char *http;               /* ADDR:PORT for /metrics, /health; NULL: off */
} server_config_t;

/* Runs until SIGINT/SIGTERM. Returns the process exit status. */
int server_run (const server_config_t *config);

#endif
