/* server — libmicrohttpd, headers, bodies, the request log. See server.h. */
#include "server.h"

#include "protocol/setup.h"

#include "protocol/codec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* A connection idle this long is closed (live streams send a heartbeat
 * well within it). */
#define IDLE_TIMEOUT_S 60

static const char csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'";

/* GnuTLS's choice, narrowed to TLS 1.2 and 1.3 with AEAD ciphers (its
 * NORMAL still offers TLS 1.0, 1.1 and CBC): every browser of the last
 * years speaks these. */
static const char tls_priorities[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:"
    "+AES-256-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE";

/* Every response's headers. */
static const struct { const char *name, *value; } security_headers[] = {
    { "Content-Security-Policy", csp },
    { "X-Content-Type-Options", "nosniff" },
    { "Referrer-Policy", "no-referrer" },
    { "X-Frame-Options", "DENY" },
};

struct server_t {
    struct MHD_Daemon *mhd;
    server_config_t config;
    bool tls;
};

/* A request's body as it arrives. */
typedef struct {
    char *body;
    size_t len;
    bool too_large;
    size_t dropped;                 /* bytes read past the limit */
    struct timespec start;
} upload_t;

static double
ms_since (const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime (CLOCK_MONOTONIC, &t1);
    return (double) (t1.tv_sec - t0->tv_sec) * 1e3
           + (double) (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The log's name for a page's path: never the path itself, which is the
 * client's to choose. */
static const char *
static_route (const char *url, unsigned status)
{
    if (status != MHD_HTTP_OK)
        return "-";
    return strcmp (url, "/") == 0 ? "/" : "/static/*";
}

static void
log_request (const char *method, const char *route, unsigned status,
             const char *user, const char *code, const struct timespec *t0)
{
    fprintf (stderr, "exitflow-web: %s %s %u user=%s%s%s %.1fms\n", method,
             route, status, user && *user ? user : "-", code && *code
                 ? " code=" : "", code ? code : "", ms_since (t0));
}

/* Under TLS the browser is told to come back only over HTTPS (a year),
 * so that a network in the way cannot serve it the plain-HTTP page. */
static void
add_headers (struct MHD_Response *r, bool api, bool tls)
{
    for (size_t i = 0; i < sizeof security_headers / sizeof *security_headers; i++)
        MHD_add_response_header (r, security_headers[i].name,
                                 security_headers[i].value);
    if (api)
        MHD_add_response_header (r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (tls)
        MHD_add_response_header (r, "Strict-Transport-Security",
                                 "max-age=31536000");
}

static enum MHD_Result
send_response (server_t *self, struct MHD_Connection *conn, unsigned status,
               struct MHD_Response *r, bool api)
{
    add_headers (r, api, self->tls);
    enum MHD_Result ret = MHD_queue_response (conn, status, r);
    MHD_destroy_response (r);
    return ret;
}

static struct MHD_Response *
json_response (const json_t *body)
{
    char *text = body ? json_dumps (body, JSON_COMPACT) : NULL;
    struct MHD_Response *r = MHD_create_response_from_buffer (
        text ? strlen (text) : 0, text ? text : (void *) "",
        text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (r && text)
        MHD_add_response_header (r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                 "application/json");
    return r;
}

/* The peer as the sign-in limits count it (ratelimit.h). */
static void
remote_key (struct MHD_Connection *conn, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info (conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    ratelimit_address_key (info ? info->client_addr : NULL, out, cap);
}

static const char *
header (struct MHD_Connection *conn, enum MHD_ValueKind kind, const char *name)
{
    return MHD_lookup_connection_value (conn, kind, name);
}

static enum MHD_Result
serve_api (server_t *self, struct MHD_Connection *conn, const char *url,
           const char *method, upload_t *up)
{
    char remote[INET6_ADDRSTRLEN + 8];
    remote_key (conn, remote, sizeof remote);
    api_request_t req = {
        .conn = conn, .method = method, .path = url, .body = up->body,
        .body_len = up->len, .remote = remote, .tls = self->tls,
        .content_type = header (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        .cookie = header (conn, MHD_COOKIE_KIND, "exitflow_session"),
        .csrf = header (conn, MHD_HEADER_KIND, "X-CSRF-Token"),
        .last_event_id = header (conn, MHD_HEADER_KIND, "Last-Event-ID"),
    };
    api_reply_t reply = { 0 };
    if (up->too_large) {
        /* answered before the body is read, whoever sent it */
        reply.route = "-";
        reply.status = 413;
        snprintf (reply.code, sizeof reply.code, "TOO_LARGE");
        reply.body = json_pack ("{s:{s:s,s:n,s:s}}", "error", "code", "TOO_LARGE",
                                "field", "message", "the body is larger than "
                                "1 MiB");
    } else
        api_handle (&self->config.deps, &req, &reply);
    struct MHD_Response *r = reply.stream ? reply.stream : json_response (reply.body);
    json_decref (reply.body);
    if (!r)
        return MHD_NO;
    if (reply.set_cookie[0])
        MHD_add_response_header (r, MHD_HTTP_HEADER_SET_COOKIE, reply.set_cookie);
    if (reply.retry_after > 0) {
        char secs[24];
        snprintf (secs, sizeof secs, "%lld", (long long) reply.retry_after);
        MHD_add_response_header (r, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
    log_request (method, reply.route, reply.status, reply.user, reply.code,
                 &up->start);
    return send_response (self, conn, reply.status, r, true);
}

static enum MHD_Result
serve_text (server_t *self, struct MHD_Connection *conn, unsigned status,
            const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer (
        strlen (text), (void *) text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header (r, MHD_HTTP_HEADER_CONTENT_TYPE,
                             "text/plain; charset=utf-8");
    return send_response (self, conn, status, r, false);
}

static enum MHD_Result
serve_page (server_t *self, struct MHD_Connection *conn, const char *url,
            const char *method, upload_t *up)
{
    unsigned status = MHD_HTTP_NOT_FOUND;
    struct MHD_Response *r = NULL;
    bool readable = strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0;
    if (readable && static_owns (url))
        r = static_response (self->config.files, url, &status);
    else if (!readable)
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
    log_request (method, static_route (url, status), status, NULL, NULL,
                 &up->start);
    if (!r)
        return serve_text (self, conn, status, status == MHD_HTTP_NOT_FOUND
                                             ? "not found\n"
                                             : "method not allowed\n");
    return send_response (self, conn, status, r, false);
}

/* A body that did not say its size is read and dropped past the limit,
 * to answer 413 at its end; one that goes on this long past it is not
 * a mistake, and its connection is closed instead. */
#define DROPPED_MAX (4 * (size_t) EXF_BODY_MAX)

/* Takes the body as it comes: up to EXF_BODY_MAX bytes are kept, more
 * marks the request too large and is read and dropped (DROPPED_MAX). */
static void
take_body (upload_t *up, const char *data, size_t n)
{
    if (up->too_large) {
        up->dropped += n;
        return;
    }
    if (up->len + n > EXF_BODY_MAX) {
        up->too_large = true;
        explicit_bzero (up->body, up->len);
        free (up->body);
        up->body = NULL;
        up->len = 0;
        return;
    }
    char *more = realloc (up->body, up->len + n + 1);
    if (!more)
        abort ();
    memcpy (more + up->len, data, n);
    up->body = more;
    up->len += n;
    up->body[up->len] = '\0';
}

static enum MHD_Result
on_request (void *cls, struct MHD_Connection *conn, const char *url,
            const char *method, const char *version, const char *data,
            size_t *data_size, void **con_cls)
{
    (void) version;
    server_t *self = cls;
    upload_t *up = *con_cls;
    if (!up) {
        if (!(up = calloc (1, sizeof *up)))
            return MHD_NO;
        clock_gettime (CLOCK_MONOTONIC, &up->start);
        *con_cls = up;
        const char *length = header (conn, MHD_HEADER_KIND,
                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        int64_t n;
        /* a declared size past the limit is refused before it is sent */
        if (length && codec_parse_int (length, 0, INT64_MAX, &n)
            && n > EXF_BODY_MAX) {
            up->too_large = true;
            return api_owns (url) ? serve_api (self, conn, url, method, up)
                                  : serve_text (self, conn, 413, "too large\n");
        }
        return MHD_YES;
    }
    if (*data_size) {
        take_body (up, data, *data_size);
        *data_size = 0;
        return up->dropped > DROPPED_MAX ? MHD_NO : MHD_YES;
    }
    return api_owns (url) ? serve_api (self, conn, url, method, up)
                          : serve_page (self, conn, url, method, up);
}

static void
on_completed (void *cls, struct MHD_Connection *conn, void **con_cls,
              enum MHD_RequestTerminationCode why)
{
    (void) cls;
    (void) conn;
    (void) why;
    upload_t *up = *con_cls;
    if (!up)
        return;
    if (up->body)
        explicit_bzero (up->body, up->len);    /* a password, perhaps */
    free (up->body);
    free (up);
    *con_cls = NULL;
}

server_t *
server_start (const server_config_t *config, char *why, size_t cap)
{
    struct sockaddr_storage addr;
    socklen_t len;
    if (!setup_listen_address (config->listen, "--listen", "127.0.0.1:8080",
                               &addr, &len, why, cap))
        return NULL;
    server_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->tls = config->tls_cert_pem != NULL;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD
                     | MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (self->tls)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_options[] = {
        { MHD_OPTION_HTTPS_MEM_CERT, 0, (void *) config->tls_cert_pem },
        { MHD_OPTION_HTTPS_MEM_KEY, 0, (void *) config->tls_key_pem },
        { MHD_OPTION_HTTPS_PRIORITIES, 0, (void *) tls_priorities },
        { MHD_OPTION_END, 0, NULL },
    };
    self->mhd = MHD_start_daemon (
        flags, 0, NULL, NULL, on_request, self,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned) config->connections_max,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) IDLE_TIMEOUT_S,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_ARRAY, self->tls ? tls_options : &tls_options[3],
        MHD_OPTION_END);
    if (!self->mhd) {
        snprintf (why, cap, "cannot serve on %s (in use, not this machine's "
                  "address, or the TLS files are not a PEM certificate and "
                  "its key)", config->listen);
        free (self);
        return NULL;
    }
    return self;
}

void
server_stop (server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    MHD_stop_daemon ((*self_p)->mhd);
    free (*self_p);
    *self_p = NULL;
}
