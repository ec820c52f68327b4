/* api — the route table and the handlers of /api/. See api.h. */
#include "api.h"

#include "clients/jsonpack.h"

#include "protocol/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define COOKIE_NAME "exitflow_session"
#define ID_LEN 26                   /* a workflow id: a ULID */
#define LIST_PAGES_MAX 5            /* workflow.list pages per answer */
#define LIST_PAGE 1000
#define HISTORY_PAGES_MAX 10        /* workflow.history pages for a CONFLICT */
#define PASSWORD_MAX 1024
/* Live streams one session may hold: a browser opens one per tab (and
 * keeps at most six connections to a host), so more is someone taking
 * the streams every page shares (--live-max). */
#define STREAMS_PER_SESSION 8

/* ---- errors ---- */

/* The daemon's codes, the library's and the gateway's own, as statuses. */
static const struct { const char *code; unsigned status; } statuses[] = {
    { "VALIDATION", 422 },
    { "BAD_REQUEST", 400 },
    { "NOT_FOUND", 404 },
    { "CONFLICT", 409 },
    { "INVALID_STATE", 409 },
    { "FORBIDDEN", 403 },
    { "TOO_LARGE", 413 },
    { "UNAVAILABLE", 503 },
    { "UNREACHABLE", 503 },
    { "INTERNAL", 502 },
    { "BAD_REPLY", 502 },
    { "UNKNOWN_COMMAND", 502 },
    { "UNAUTHENTICATED", 401 },
    { "CSRF", 403 },
    { "READ_ONLY", 403 },
    { "RATE_LIMITED", 429 },
    { "METHOD_NOT_ALLOWED", 405 },
    { "UNSUPPORTED_MEDIA_TYPE", 415 },
};

static unsigned
status_of (const char *code)
{
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
        if (strcmp (statuses[i].code, code) == 0)
            return statuses[i].status;
    return 502;
}

/* `{error: {code, field, message}}` with the code's status. */
static json_t *
fail (api_reply_t *reply, const char *code, const char *field,
      const char *message)
{
    reply->status = status_of (code);
    snprintf (reply->code, sizeof reply->code, "%s", code);
    json_t *error = json_object ();
    json_object_set_new (error, "code", json_string (code));
    json_object_set_new (error, "field", field && *field ? json_string (field)
                                                         : json_null ());
    json_object_set_new (error, "message", json_string (message));
    reply->body = json_object ();
    json_object_set_new (reply->body, "error", error);
    return error;
}

/* The library's own refusals (the daemon did not answer, or not in a way
 * it could read) say which endpoint or socket failed: a browser is told
 * this much instead; the daemon's own messages are written for users. */
static const struct { const char *code, *message; } library_messages[] = {
    { "UNREACHABLE", "the daemon does not answer: try again shortly" },
    { "BAD_REPLY", "the daemon's answer could not be read: try again shortly" },
};

static const char *
message_for (const exitflow_error_t *err)
{
    for (size_t i = 0; i < sizeof library_messages / sizeof *library_messages; i++)
        if (strcmp (library_messages[i].code, err->code) == 0)
            return library_messages[i].message;
    return err->message;
}

/* The daemon's (or the library's) error as it came: the field path
 * unchanged, for the page to place next to its input. */
static json_t *
fail_with (api_reply_t *reply, const exitflow_error_t *err)
{
    json_t *error = fail (reply, err->code, err->field, message_for (err));
    if (err->workflow_id[0])
        json_object_set_new (error, "workflow_id", json_string (err->workflow_id));
    return error;
}

/* ---- one call ---- */

typedef struct route_t route_t;

typedef struct {
    const api_deps_t *deps;
    const api_request_t *req;
    api_reply_t *reply;
    const route_t *route;
    session_t session;
    char id[ID_LEN + 1];            /* the {id} of the path */
    json_t *body;                   /* the request's JSON object */
} call_t;

typedef void (handler_fn) (call_t *call);

enum {
    PUBLIC = 1u,                    /* no session needed */
    WRITE = 2u,                     /* a change: caseworkers only */
    VERSIONED = 4u,                 /* expected_version required */
};

struct route_t {
    const char *method;
    const char *pattern;            /* {id} matches a workflow id */
    unsigned flags;
    handler_fn *handler;
    const char *cmd;                /* the command of a command route */
    const char *const *keys;        /* the body keys it takes */
    unsigned ok_status;
};

static json_t *
daemon_call (call_t *call, user_role_t role, const char *cmd,
             const json_t *args, exitflow_error_t *err)
{
    return gateway_call (call->deps->gateway, role, call->session.user, cmd,
                         args, err);
}

/* As the signed-in user, on their role's certificate. */
static json_t *
user_call (call_t *call, const char *cmd, const json_t *args,
           exitflow_error_t *err)
{
    return daemon_call (call, call->session.role, cmd, args, err);
}

static const char *
query (const call_t *call, const char *key)
{
    return MHD_lookup_connection_value (call->req->conn, MHD_GET_ARGUMENT_KIND,
                                        key);
}

static void
ok (call_t *call, unsigned status, json_t *body)
{
    call->reply->status = status;
    call->reply->body = body;
}

/* A query value of 1..64 printable ASCII bytes (an id or a code). */
static bool
id_text_valid (const char *s)
{
    size_t n = strlen (s);
    if (n == 0 || n > EXF_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return false;
    return true;
}

static bool
workflow_id_valid (const char *s, size_t n)
{
    if (n != ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
            return false;
    return true;
}

/* ---- sign-in ---- */

/* The session of `id` is over: its live streams are woken to end. */
static void
session_end (const api_deps_t *d, const char *id)
{
    sessions_remove (d->sessions, id);
    live_kick (d->live);
}

/* Whether `s` still holds: alive, and its user still in the users file
 * with the password and role it signed in with (taking an account away
 * or changing its password ends its sessions). */
static bool
session_holds (const api_deps_t *d, const session_t *s)
{
    return sessions_alive (d->sessions, s->id)
           && users_stamp (d->users, s->user) == s->stamp;
}

static void
session_body (call_t *call, const session_t *s, json_t **out)
{
    *out = json_object ();
    json_object_set_new (*out, "user", json_string (s->user));
    json_object_set_new (*out, "role", json_string (user_role_name (s->role)));
    json_object_set_new (*out, "csrf", json_string (s->csrf));
    /* the CoC's zone, which the pages show every time in */
    char zone[64];
    gateway_timezone (call->deps->gateway, zone, sizeof zone);
    json_object_set_new (*out, "timezone", zone[0] ? json_string (zone)
                                                   : json_null ());
    snprintf (call->reply->user, sizeof call->reply->user, "%s", s->user);
}

static void
set_cookie (call_t *call, const char *value, bool clear)
{
    snprintf (call->reply->set_cookie, sizeof call->reply->set_cookie,
              COOKIE_NAME "=%s; HttpOnly; SameSite=Strict; Path=/%s%s", value,
              clear ? "; Max-Age=0" : "", call->req->tls ? "; Secure" : "");
}

static void
handle_login (call_t *call)
{
    const api_deps_t *d = call->deps;
    const char *name = json_string_value (json_object_get (call->body, "name"));
    const char *password = json_string_value (json_object_get (call->body,
                                                               "password"));
    if (!name || !password) {
        fail (call->reply, "BAD_REQUEST", name ? "password" : "name",
              "name and password are required strings");
        return;
    }
    char name_key[USER_NAME_MAX + 1];
    snprintf (name_key, sizeof name_key, "%s", name);
    /* both attempts are counted before the password is checked (see
     * ratelimit.h); a refusal by one takes the other's count back */
    int64_t wait = ratelimit_take (d->by_address, call->req->remote);
    if (!wait && (wait = ratelimit_take (d->by_name, name_key)))
        ratelimit_refund (d->by_address, call->req->remote);
    if (wait) {
        call->reply->retry_after = wait;
        fail (call->reply, "RATE_LIMITED", NULL, "too many failed sign-ins: "
              "try again later");
        return;
    }
    uint64_t stamp = 0;
    user_role_t role = strlen (password) <= PASSWORD_MAX
                           ? users_verify (d->users, name, password, &stamp)
                           : ROLE_NONE;
    if (role == ROLE_NONE) {
        /* one message for an unknown name and a wrong password */
        fail (call->reply, "UNAUTHENTICATED", NULL, "wrong name or password");
        return;
    }
    ratelimit_refund (d->by_address, call->req->remote);
    ratelimit_clear (d->by_name, name_key);
    if (call->req->cookie)
        session_end (d, call->req->cookie);
    session_t s;
    if (!sessions_create (d->sessions, name, role, stamp, &s)) {
        fail (call->reply, "INTERNAL", NULL, "no randomness for a session");
        return;
    }
    set_cookie (call, s.id, false);
    json_t *body;
    session_body (call, &s, &body);
    ok (call, 200, body);
}

static void
handle_logout (call_t *call)
{
    session_end (call->deps, call->session.id);
    set_cookie (call, "", true);
    ok (call, 204, NULL);
}

static void
handle_me (call_t *call)
{
    json_t *body;
    session_body (call, &call->session, &body);
    ok (call, 200, body);
}

/* ---- commands ---- */

/* The daemon's result as the answer, or its error. */
static void
answer (call_t *call, json_t *result, const exitflow_error_t *err,
        unsigned status)
{
    if (result)
        ok (call, status, result);
    else
        fail_with (call->reply, err);
}

static void
handle_codes (call_t *call)
{
    exitflow_error_t err;
    answer (call, user_call (call, "hud.codes", NULL, &err), &err, 200);
}

static void
handle_get (call_t *call)
{
    exitflow_error_t err;
    json_t *args = json_pack ("{s:s}", "workflow_id", call->id);
    answer (call, user_call (call, "workflow.get", args, &err), &err, 200);
    json_decref (args);
}

static void
handle_history (call_t *call)
{
    const char *after = query (call, "after");
    int64_t seq = 0;
    if (after && !codec_parse_int (after, 0, INT64_MAX, &seq)) {
        fail (call->reply, "BAD_REQUEST", "after", "after is an event seq");
        return;
    }
    exitflow_error_t err;
    json_t *args = json_pack ("{s:s,s:I}", "workflow_id", call->id, "after",
                              (json_int_t) seq);
    answer (call, user_call (call, "workflow.history", args, &err), &err, 200);
    json_decref (args);
}

/* The events of the workflow since the version the page had: from the
 * first event that made a version above it, every caseworker's change
 * (findings and stalls are not). Read a page at a time, a bounded number
 * of pages. */
static json_t *
changes_since (call_t *call, json_int_t had)
{
    json_t *changes = json_array ();
    json_int_t after = 0;
    bool started = false;
    for (int page = 0; page < HISTORY_PAGES_MAX; page++) {
        exitflow_error_t err;
        json_t *args = json_pack ("{s:s,s:I}", "workflow_id", call->id,
                                  "after", after);
        json_t *h = user_call (call, "workflow.history", args, &err);
        json_decref (args);
        if (!h)
            break;
        size_t i;
        json_t *ev;
        json_array_foreach (json_object_get (h, "events"), i, ev) {
            json_t *data = json_object_get (ev, "data");
            json_t *version = json_object_get (data, "version");
            const char *type = json_string_value (json_object_get (ev, "type"));
            started |= json_is_integer (version)
                       && json_integer_value (version) > had;
            if (!started || !type || strcmp (type, "dq.reported") == 0
                || strcmp (type, "workflow.stalled") == 0)
                continue;
            json_t *step = json_object_get (data, "step");
            json_array_append_new (changes, json_pack (
                "{s:O,s:O,s:O,s:O,s:O,s:O}", "seq", json_object_get (ev, "seq"),
                "ts", json_object_get (ev, "ts"),
                "actor", json_object_get (ev, "actor") ?: json_null (),
                "type", json_object_get (ev, "type"),
                "client_id", json_object_get (ev, "client_id") ?: json_null (),
                "step", json_is_string (step) ? step : json_null ()));
        }
        json_t *next = json_object_get (h, "next");
        after = json_integer_value (next);
        bool more = json_is_integer (next);
        json_decref (h);
        if (!more)
            break;
    }
    return changes;
}

/* A command route: the body's keys the command takes, the path's
 * workflow id; a change must say which version it was made on, so that
 * nothing is overwritten unseen. */
static void
handle_command (call_t *call)
{
    const route_t *r = call->route;
    json_t *args = json_object ();
    for (const char *const *k = r->keys; *k; k++) {
        json_t *v = json_object_get (call->body, *k);
        if (v)
            json_object_set (args, *k, v);
    }
    if (call->id[0])
        json_object_set_new (args, "workflow_id", json_string (call->id));
    json_t *version = json_object_get (args, "expected_version");
    if ((r->flags & VERSIONED)
        && (!json_is_integer (version) || json_integer_value (version) < 0)) {
        fail (call->reply, "BAD_REQUEST", "expected_version", "expected_version "
              "(the version the page shows) is required: a change is never "
              "made blind");
        json_decref (args);
        return;
    }
    exitflow_error_t err;
    json_t *result = user_call (call, r->cmd, args, &err);
    if (result)
        ok (call, r->ok_status, result);
    else {
        fail_with (call->reply, &err);
        if (strcmp (err.code, "CONFLICT") == 0 && err.version >= 0 && version) {
            json_object_set_new (call->reply->body, "current_version",
                                 json_integer (err.version));
            json_object_set_new (call->reply->body, "changes",
                                 changes_since (call, json_integer_value (version)));
        }
    }
    json_decref (args);
}

/* ---- lists ---- */

static int64_t
now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every page of workflow.list with `args` (up to LIST_PAGES_MAX), each
 * item with its idle_s; NULL with `err`. */
static json_t *
list_all (call_t *call, json_t *args, exitflow_error_t *err)
{
    json_t *items = json_array ();
    json_object_set_new (args, "limit", json_integer (LIST_PAGE));
    int64_t now = now_ms ();
    for (int page = 0; page < LIST_PAGES_MAX; page++) {
        json_t *r = user_call (call, "workflow.list", args, err);
        if (!r) {
            json_decref (items);
            return NULL;
        }
        size_t i;
        json_t *it;
        json_array_foreach (json_object_get (r, "workflows"), i, it) {
            const char *updated = json_string_value (json_object_get (it, "updated_at"));
            int64_t ms;
            if (updated && codec_parse_time ((exf_str_t) { updated, strlen (updated) },
                                             &ms))
                json_object_set_new (it, "idle_s", json_integer (
                    (now - ms) > 0 ? (now - ms) / 1000 : 0));
            json_array_append (items, it);
        }
        json_t *next = json_object_get (r, "next");
        bool more = json_is_string (next);
        if (more)
            json_object_set (args, "after", next);
        json_decref (r);
        if (!more)
            break;
    }
    return items;
}

static int
newest_first (const void *a, const void *b)
{
    const char *x = json_string_value (json_object_get (*(json_t *const *) a, "updated_at"));
    const char *y = json_string_value (json_object_get (*(json_t *const *) b, "updated_at"));
    return strcmp (y ? y : "", x ? x : "");
}

static int
oldest_first (const void *a, const void *b)
{
    return newest_first (b, a);
}

/* `items` sorted in place (RFC 3339 UTC with milliseconds: text order is
 * time order). */
static void
sort_items (json_t *items, int (*cmp) (const void *, const void *))
{
    size_t n = json_array_size (items);
    json_t **v = calloc (n ? n : 1, sizeof *v);
    if (!v)
        return;                     /* out of memory: left as it came */
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref (json_array_get (items, i));
    qsort (v, n, sizeof *v, cmp);
    json_array_clear (items);
    for (size_t i = 0; i < n; i++)
        json_array_append_new (items, v[i]);
    free (v);
}

static const char *const states[] = { "open", "finished", "cancelled", NULL };
static const char *const scopes[] = { "mine", "project", NULL };

static bool
one_of (const char *value, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp (value, *allowed) == 0)
            return true;
    return false;
}

/* project_id from the query into `args`, if given and valid. */
static bool
project_arg (call_t *call, json_t *args)
{
    const char *project = query (call, "project_id");
    if (project && *project && !id_text_valid (project)) {
        fail (call->reply, "BAD_REQUEST", "project_id", "project_id is 1..64 "
              "printable characters");
        return false;
    }
    if (project && *project)
        json_object_set_new (args, "project_id", json_string (project));
    return true;
}

/* The exits workflow.list finds with `args` (yours: freed here) and the
 * query's project_id, in `cmp`'s order; NULL with the error answered. */
static json_t *
exits_of (call_t *call, json_t *args, int (*cmp) (const void *, const void *))
{
    exitflow_error_t err;
    json_t *items = project_arg (call, args) ? list_all (call, args, &err) : NULL;
    json_decref (args);
    if (items)
        sort_items (items, cmp);
    else if (!call->reply->body)
        fail_with (call->reply, &err);
    return items;
}

static void
handle_exits (call_t *call)
{
    const char *scope = query (call, "scope");
    const char *state = query (call, "state");
    scope = scope && *scope ? scope : "mine";
    state = state && *state ? state : "open";
    if (!one_of (scope, scopes) || !one_of (state, states)) {
        bool bad_scope = !one_of (scope, scopes);
        fail (call->reply, "BAD_REQUEST", bad_scope ? "scope" : "state",
              bad_scope ? "scope is mine or project"
                        : "state is open, finished or cancelled");
        return;
    }
    json_t *args = json_pack ("{s:s}", "state", state);
    if (strcmp (scope, "mine") == 0)
        json_object_set_new (args, "actor", json_string (call->session.user));
    json_t *items = exits_of (call, args, newest_first);
    if (items)
        ok (call, 200, json_pack ("{s:o}", "exits", items));
}

/* ping and stats: is the daemon well, and what does it hold. */
static json_t *
health (call_t *call)
{
    exitflow_error_t err;
    json_t *pong = daemon_call (call, ROLE_OPS, "ping", NULL, &err);
    json_t *stats = pong ? daemon_call (call, ROLE_OPS, "stats", NULL, &err) : NULL;
    json_decref (pong);
    gateway_note_stats (call->deps->gateway, stats);
    json_t *h = json_object ();
    json_t *store = json_object_get (stats, "store");
    bool full = json_is_true (json_object_get (store, "full"));
    json_object_set_new (h, "ok", json_boolean (stats && !full));
    if (!stats || full)
        json_object_set_new (h, "reason", json_string (
            !stats ? "the daemon does not answer"
                   : "the store is full: writes are refused until there is room"));
    if (stats) {
        static const char *const keys[] = { "last_seq", "workflows", "store",
                                            "uptime_s", "timezone", NULL };
        for (const char *const *k = keys; *k; k++)
            if (json_object_get (stats, *k))
                json_object_set (h, *k, json_object_get (stats, *k));
    }
    json_decref (stats);
    return h;
}

static void
handle_board (call_t *call)
{
    json_t *args = json_pack ("{s:s}", "state", "open");
    const char *idle_days = query (call, "idle_days");
    const char *stalled = query (call, "stalled");
    int64_t days = 0;
    if (idle_days && *idle_days && !codec_parse_int (idle_days, 0, 36500, &days)) {
        fail (call->reply, "BAD_REQUEST", "idle_days", "idle_days is a whole "
              "number of days");
        json_decref (args);
        return;
    }
    if (days > 0)
        json_object_set_new (args, "idle_for_s", json_integer (days * 86400));
    if (stalled && strcmp (stalled, "1") == 0)
        json_object_set_new (args, "stalled", json_true ());
    json_t *items = exits_of (call, args, oldest_first);
    if (!items)
        return;
    exitflow_error_t err;
    json_t *consumers = daemon_call (call, ROLE_OPS, "consumer.list", NULL, &err);
    json_t *list = json_incref (json_object_get (consumers, "consumers"));
    json_decref (consumers);
    ok (call, 200, json_pack ("{s:o,s:o,s:o}", "exits", items, "consumers",
                              list ? list : json_array (), "health",
                              health (call)));
}

/* ---- live ---- */

typedef struct {
    live_stream_t *stream;
    const api_deps_t *deps;
    session_t session;
} sse_t;

static bool
sse_allowed (void *cls)
{
    sse_t *sse = cls;
    return session_holds (sse->deps, &sse->session);
}

/* The stream ends with its session (signed out, expired, or its user's
 * password or role changed). */
static ssize_t
sse_read (void *cls, uint64_t pos, char *buf, size_t max)
{
    (void) pos;
    sse_t *sse = cls;
    size_t n = live_read (sse->stream, buf, max, sse_allowed, sse);
    return n ? (ssize_t) n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void
sse_free (void *cls)
{
    sse_t *sse = cls;
    live_close (sse->stream);
    sessions_stream_give (sse->deps->sessions, sse->session.id);
    explicit_bzero (sse, sizeof *sse);
    free (sse);
}

static void
handle_live (call_t *call)
{
    const char *wf = query (call, "workflow_id");
    if (wf && !workflow_id_valid (wf, strlen (wf))) {
        fail (call->reply, "BAD_REQUEST", "workflow_id", "not a workflow id");
        return;
    }
    const char *last = call->req->last_event_id;
    int64_t after = 0;
    bool resume = last && codec_parse_int (last, 0, INT64_MAX, &after);
    if (!sessions_stream_take (call->deps->sessions, call->session.id,
                               STREAMS_PER_SESSION)) {
        fail (call->reply, "UNAVAILABLE", NULL, "too many live connections "
              "for this session: close another tab");
        return;
    }
    sse_t *sse = calloc (1, sizeof *sse);
    if (!sse)
        abort ();
    sse->deps = call->deps;
    sse->session = call->session;
    sse->stream = live_open (call->deps->live, resume, (uint64_t) after, wf);
    if (!sse->stream) {
        sessions_stream_give (call->deps->sessions, call->session.id);
        free (sse);
        fail (call->reply, "UNAVAILABLE", NULL, "too many live connections: "
              "try again later");
        return;
    }
    call->reply->stream = MHD_create_response_from_callback (
        MHD_SIZE_UNKNOWN, 1024, sse_read, sse, sse_free);
    if (!call->reply->stream) {
        sse_free (sse);
        fail (call->reply, "INTERNAL", NULL, "cannot make the stream");
        return;
    }
    MHD_add_response_header (call->reply->stream, MHD_HTTP_HEADER_CONTENT_TYPE,
                             "text/event-stream; charset=utf-8");
    call->reply->status = 200;
}

/* ---- the table ---- */

static const char *const start_keys[] = {
    "household_id", "enrollment_id", "project_id", "project_type",
    "move_in_date", "members", NULL };
static const char *const step_keys[] = {
    "client_id", "step", "mode", "data", "expected_version", NULL };
static const char *const decision_keys[] = {
    "client_id", "exit", "expected_version", NULL };
static const char *const finish_keys[] = {
    "new_head_of_household", "expected_version", NULL };
static const char *const cancel_keys[] = { "reason", "expected_version", NULL };
static const char *const login_keys[] = { "name", "password", NULL };

static const route_t routes[] = {
    { "POST", "/api/login", PUBLIC, handle_login, NULL, login_keys, 200 },
    { "POST", "/api/logout", 0, handle_logout, NULL, NULL, 204 },
    { "GET", "/api/me", 0, handle_me, NULL, NULL, 200 },
    { "GET", "/api/codes", 0, handle_codes, NULL, NULL, 200 },
    { "GET", "/api/exits", 0, handle_exits, NULL, NULL, 200 },
    { "POST", "/api/exits", WRITE, handle_command, "workflow.start", start_keys, 201 },
    { "GET", "/api/exits/{id}", 0, handle_get, NULL, NULL, 200 },
    { "GET", "/api/exits/{id}/history", 0, handle_history, NULL, NULL, 200 },
    { "POST", "/api/exits/{id}/steps", WRITE | VERSIONED, handle_command,
      "step.save", step_keys, 200 },
    { "POST", "/api/exits/{id}/decisions", WRITE | VERSIONED, handle_command,
      "member.decide", decision_keys, 200 },
    { "POST", "/api/exits/{id}/finish", WRITE | VERSIONED, handle_command,
      "workflow.finish", finish_keys, 200 },
    { "POST", "/api/exits/{id}/cancel", WRITE | VERSIONED, handle_command,
      "workflow.cancel", cancel_keys, 200 },
    { "GET", "/api/board", 0, handle_board, NULL, NULL, 200 },
    { "GET", "/api/live", 0, handle_live, NULL, NULL, 200 },
};

#define N_ROUTES (sizeof routes / sizeof *routes)

/* Whether `path` fits `pattern`, segment by segment; the {id} segment's
 * text into `id`. */
static bool
match (const char *pattern, const char *path, char id[ID_LEN + 1])
{
    static const char slot[] = "{id}";
    while (*pattern && *path) {
        if (strncmp (pattern, slot, strlen (slot)) == 0) {
            size_t n = strcspn (path, "/");
            if (!workflow_id_valid (path, n))
                return false;
            memcpy (id, path, n);
            id[n] = '\0';
            pattern += strlen (slot);
            path += n;
            continue;
        }
        if (*pattern++ != *path++)
            return false;
    }
    return !*pattern && !*path;
}

bool
api_owns (const char *path)
{
    return strncmp (path, "/api/", 5) == 0 || strcmp (path, "/api") == 0;
}

/* The route for the request; NULL with the error set. */
static const route_t *
route_find (const api_request_t *req, api_reply_t *reply, char id[ID_LEN + 1])
{
    bool path_known = false;
    for (size_t i = 0; i < N_ROUTES; i++) {
        id[0] = '\0';
        if (!match (routes[i].pattern, req->path, id))
            continue;
        path_known = true;
        reply->route = routes[i].pattern;
        if (strcmp (routes[i].method, req->method) == 0)
            return &routes[i];
    }
    if (path_known)
        fail (reply, "METHOD_NOT_ALLOWED", NULL, "not with this method");
    else
        fail (reply, "NOT_FOUND", NULL, "no such API route");
    return NULL;
}

/* Whether a Content-Type is application/json, parameters (charset) aside:
 * the media type whole, so that no other type merely starting so counts. */
static bool
json_media_type (const char *ct)
{
    static const char json[] = "application/json";
    if (!ct || strncasecmp (ct, json, sizeof json - 1) != 0)
        return false;
    const char *rest = ct + sizeof json - 1;
    rest += strspn (rest, " \t");
    return *rest == '\0' || *rest == ';';
}

/* Who is asking, whether they may, and the body: what every route
 * requires before its handler runs. Nothing reaches the daemon unless all
 * of it holds. */
static bool
admit (call_t *call)
{
    const route_t *r = call->route;
    const api_request_t *req = call->req;
    if (!(r->flags & PUBLIC)) {
        if (!req->cookie
            || !sessions_lookup (call->deps->sessions, req->cookie, &call->session)) {
            fail (call->reply, "UNAUTHENTICATED", NULL, "sign in first");
            return false;
        }
        if (users_stamp (call->deps->users, call->session.user)
            != call->session.stamp) {
            /* the account was taken away, or its password or role changed */
            session_end (call->deps, call->session.id);
            fail (call->reply, "UNAUTHENTICATED", NULL, "sign in again");
            return false;
        }
        snprintf (call->reply->user, sizeof call->reply->user, "%s",
                  call->session.user);
        if (strcmp (req->method, "GET") != 0
            && !sessions_token_equal (req->csrf, call->session.csrf)) {
            fail (call->reply, "CSRF", NULL, "the X-CSRF-Token header is "
                  "missing or wrong: reload the page");
            return false;
        }
        if ((r->flags & WRITE) && call->session.role != ROLE_CASEWORKER) {
            fail (call->reply, "READ_ONLY", NULL, "an ops session reads only");
            return false;
        }
    }
    if (strcmp (req->method, "POST") != 0)
        return true;
    /* a JSON body only: a form of another site cannot send one */
    if (req->body_len && !json_media_type (req->content_type)) {
        fail (call->reply, "UNSUPPORTED_MEDIA_TYPE", NULL, "send "
              "Content-Type: application/json");
        return false;
    }
    char why[128];
    call->body = req->body_len ? jsonpack_parse_object (req->body, req->body_len,
                                                        why, sizeof why)
                               : json_object ();
    if (!call->body) {
        fail (call->reply, "BAD_REQUEST", NULL, why);
        return false;
    }
    return true;
}

void
api_handle (const api_deps_t *deps, const api_request_t *req,
            api_reply_t *reply)
{
    call_t call = { .deps = deps, .req = req, .reply = reply };
    reply->route = "/api/-";
    call.route = route_find (req, reply, call.id);
    if (call.route && admit (&call))
        call.route->handler (&call);
    json_decref (call.body);
    explicit_bzero (&call.session, sizeof call.session);
}
