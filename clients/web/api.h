/* api — exitflow-web's JSON API under /api/ (clients/web/README.md).
 *
 * Owns: the route table (method, path pattern, what a route requires — a
 * session, the CSRF token, a caseworker rather than ops, an
 * expected_version — and its handler), sign-in and sessions as the API
 * sees them, the arguments each command takes from a body, the daemon's
 * error codes as HTTP statuses, the CONFLICT answer with what changed
 * meanwhile, the lists (exits, board) and the live stream's response. The
 * HTTP plumbing (bodies, headers, the log) is server.c's. */
#ifndef EXF_WEB_API_H
#define EXF_WEB_API_H

#include "gateway.h"
#include "live.h"
#include "ratelimit.h"
#include "sessions.h"
#include "users.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    users_t *users;
    sessions_t *sessions;
    ratelimit_t *by_name, *by_address;
    gateway_t *gateway;
    live_t *live;
} api_deps_t;

/* One request as the API sees it. */
typedef struct {
    struct MHD_Connection *conn;    /* for the query's arguments */
    const char *method, *path;
    const char *body;               /* NUL-terminated; NULL for none */
    size_t body_len;
    const char *content_type;
    const char *cookie;             /* the session cookie's value */
    const char *csrf;               /* X-CSRF-Token */
    const char *last_event_id;
    const char *remote;             /* the peer's address, as text */
    bool tls;
} api_request_t;

/* What to answer, and what the log line says. */
typedef struct {
    unsigned status;
    json_t *body;                   /* NULL: no body */
    struct MHD_Response *stream;    /* instead of a body: /api/live */
    char set_cookie[256];
    int64_t retry_after;            /* > 0: the Retry-After header */
    const char *route;              /* the pattern matched, or "-" */
    char user[USER_NAME_MAX + 1];
    char code[32];                  /* the error code, "" on success */
} api_reply_t;

/* Whether `path` is the API's (/api/...). */
bool api_owns (const char *path);
/* Fills `reply` (start it zeroed); the caller frees reply->body. */
void api_handle (const api_deps_t *deps, const api_request_t *req,
                 api_reply_t *reply);

#endif
