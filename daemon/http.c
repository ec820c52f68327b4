/* http — /metrics and /health over libmicrohttpd. See http.h. */
#include "http.h"

#include "protocol/setup.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A monitor needs few connections; past these they wait in the backlog,
 * and one left idle is closed. */
#define CONNECTIONS_MAX 32
#define IDLE_TIMEOUT_S 10

#define TEXT "text/plain; charset=utf-8"
#define JSON "application/json"
#define PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

struct http_t {
    struct MHD_Daemon *mhd;
    metrics_t *metrics;
};

/* ---- the answers ---- */

typedef struct {
    unsigned status;
    const char *type;
    char *body;                     /* malloc'd, or a constant: see `owned` */
    size_t len;
    bool owned;
} page_t;

static page_t
fixed (unsigned status, const char *type, const char *body)
{
    page_t p = { status, type, (char *) body, strlen (body), false };
    return p;
}

static page_t
metrics_page (const metrics_snapshot_t *snap)
{
    page_t p = { MHD_HTTP_OK, PROMETHEUS, NULL, 0, true };
    p.body = metrics_render (snap, zclock_time (), zclock_mono (), &p.len);
    return p.body ? p
                  : fixed (MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT,
                           "out of memory\n");
}

static page_t
health_page (const metrics_snapshot_t *snap)
{
    const char *reason;
    if (metrics_healthy (snap, zclock_mono (), &reason))
        return fixed (MHD_HTTP_OK, JSON, "{\"status\":\"ok\"}\n");
    /* the reasons are fixed sentences: nothing in them needs escaping */
    static const char head[] = "{\"status\":\"unavailable\",\"reason\":\"";
    static const char tail[] = "\"}\n";
    page_t p = { MHD_HTTP_SERVICE_UNAVAILABLE, JSON, NULL, 0, true };
    size_t cap = sizeof head + strlen (reason) + sizeof tail;
    if (!(p.body = malloc (cap)))
        return fixed (MHD_HTTP_SERVICE_UNAVAILABLE, JSON,
                      "{\"status\":\"unavailable\"}\n");
    p.len = (size_t) snprintf (p.body, cap, "%s%s%s", head, reason, tail);
    return p;
}

static page_t
route (http_t *self, const char *url, const char *method)
{
    if (strcmp (method, MHD_HTTP_METHOD_GET)
        && strcmp (method, MHD_HTTP_METHOD_HEAD))
        return fixed (MHD_HTTP_METHOD_NOT_ALLOWED, TEXT,
                      "only GET and HEAD\n");
    bool metrics = strcmp (url, "/metrics") == 0;
    if (!metrics && strcmp (url, "/health"))
        return fixed (MHD_HTTP_NOT_FOUND, TEXT,
                      "not found: this serves /metrics and /health\n");
    /* a copy: the render does not hold the loop's mutex */
    metrics_snapshot_t *snap = malloc (sizeof *snap);
    if (!snap)
        return fixed (MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT, "out of memory\n");
    metrics_snapshot (self->metrics, snap);
    page_t p = metrics ? metrics_page (snap) : health_page (snap);
    free (snap);
    return p;
}

static enum MHD_Result
answer (void *cls, struct MHD_Connection *conn, const char *url,
        const char *method, const char *version, const char *upload_data,
        size_t *upload_data_size, void **con_cls)
{
    (void) version;
    (void) upload_data;
    (void) upload_data_size;
    (void) con_cls;
    page_t p = route (cls, url, method);
    struct MHD_Response *response = MHD_create_response_from_buffer (
        p.len, p.body, p.owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!response) {
        if (p.owned)
            free (p.body);
        return MHD_NO;
    }
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, p.type);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL,
                             "no-store");
    if (p.status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header (response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response (conn, p.status, response);
    MHD_destroy_response (response);
    return rc;
}

/* ---- life ---- */

/* The listening socket, bound here rather than by libmicrohttpd so that a
 * port in use is reported with the system's reason. */
static int
listen_on (const char *address, char *why, size_t cap)
{
    struct sockaddr_storage addr;
    socklen_t len;
    if (!setup_listen_address (address, "--http", HTTP_EXAMPLE, &addr, &len,
                               why, cap))
        return -1;
    int on = 1;
    int fd = socket (addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                     0);
    if (fd < 0
        || setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on)
        || (addr.ss_family == AF_INET6
            && setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on))
        || bind (fd, (struct sockaddr *) &addr, len)
        || listen (fd, CONNECTIONS_MAX)) {
        snprintf (why, cap, "cannot bind %s for --http: %s", address,
                  strerror (errno));
        if (fd >= 0)
            close (fd);
        return -1;
    }
    return fd;
}

http_t *
http_start (const char *address, metrics_t *metrics, char *why, size_t cap)
{
    int fd = listen_on (address, why, cap);
    if (fd < 0)
        return NULL;
    http_t *self = calloc (1, sizeof *self);
    if (!self) {
        close (fd);
        snprintf (why, cap, "out of memory");
        return NULL;
    }
    self->metrics = metrics;
    /* SIGINT and SIGTERM are the loop's (czmq's handlers, then its poll
     * returns): libmicrohttpd's thread starts with them blocked */
    sigset_t stop, old;
    sigemptyset (&stop);
    sigaddset (&stop, SIGINT);
    sigaddset (&stop, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &stop, &old);
    self->mhd = MHD_start_daemon (
        MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, answer, self,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) CONNECTIONS_MAX,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) IDLE_TIMEOUT_S,
        MHD_OPTION_END);
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    if (!self->mhd) {
        snprintf (why, cap, "cannot start the HTTP server on %s", address);
        close (fd);
        free (self);
        return NULL;
    }
    return self;
}

void
http_stop (http_t **self_p)
{
    http_t *self = *self_p;
    if (!self)
        return;
    MHD_stop_daemon (self->mhd);    /* joins its thread, closes the socket */
    free (self);
    *self_p = NULL;
}
