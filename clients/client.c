/* client — the command client: one DEALER to exitflowd's ROUTER.
 *
 * Owns: request ids (ULIDs), packing a request around the caller's args,
 * the Lazy Pirate exchange (send, wait, and on a timeout close the socket
 * with linger 0, back off, re-send the identical bytes on a fresh socket,
 * with the same CURVE keys), and one function per command of PROTOCOL.md
 * §3. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "protocol/setup.h"

#define ULID_LEN 26

struct _exitflow_client_t {
    char *endpoint;
    char *actor;
    exitflow_options_t options;
    void *ctx;
    bool own_ctx;
    void *sock;                 /* NULL between a timeout and the next send */
    curve_t curve;
};

exitflow_options_t
exitflow_options_default (void)
{
    return (exitflow_options_t) {
        .timeout_ms = 5000, .retries = 3, .backoff_ms = 100,
        .backoff_max_ms = 2000, .poll_interval_ms = 500, .page = 1000,
    };
}

/* Nonsense values become the defaults rather than errors: an option is a
 * tuning knob, and a zeroed struct should still work. */
exitflow_options_t
options_normalize (const exitflow_options_t *given)
{
    exitflow_options_t d = exitflow_options_default ();
    exitflow_options_t o = given ? *given : d;
    if (o.timeout_ms <= 0)
        o.timeout_ms = d.timeout_ms;
    if (o.retries < 0)
        o.retries = 0;
    if (o.backoff_ms < 0)
        o.backoff_ms = 0;
    if (o.backoff_max_ms < o.backoff_ms)
        o.backoff_max_ms = o.backoff_ms;
    if (o.poll_interval_ms <= 0)
        o.poll_interval_ms = d.poll_interval_ms;
    if (o.page <= 0 || o.page > 1000)
        o.page = d.page;
    if (o.rcvhwm < 0)
        o.rcvhwm = 0;
    if (o.cert && !*o.cert)
        o.cert = NULL;
    if (o.server_key && !*o.server_key)
        o.server_key = NULL;
    return o;
}

/* ---- time ---- */

int64_t
clock_now_ms (clockid_t clock)
{
    struct timespec ts;
    clock_gettime (clock, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms (int ms)
{
    struct timespec left = { ms / 1000, (long) (ms % 1000) * 1000000L };
    while (nanosleep (&left, &left) == -1 && errno == EINTR)
        ;
}

/* ---- request ids ---- */

static void
random_bytes (uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom (buf + got, len - got, 0);
        if (n > 0)
            got += (size_t) n;
        else if (n < 0 && errno != EINTR)
            break;
    }
    if (got == len)
        return;
    /* getrandom unavailable (old kernel, seccomp): the device still works. */
    int fd = open ("/dev/urandom", O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && got < len) {
        ssize_t n = read (fd, buf + got, len - got);
        if (n <= 0 && errno != EINTR)
            break;
        if (n > 0)
            got += (size_t) n;
    }
    if (fd >= 0)
        close (fd);
    /* Last resort: ids must still differ between attempts and processes. */
    for (uint64_t x = (uint64_t) clock_now_ms (CLOCK_MONOTONIC) ^ (uint64_t) getpid ()
                      ^ (uint64_t) (uintptr_t) buf;
         got < len; got++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        buf[got] = (uint8_t) (x >> 56);
    }
}

/* A ULID: 48 bits of milliseconds then 80 random bits, in Crockford base32.
 * Time-ordered, so request ids in a log read in order; random enough that
 * two clients never share one (the id is the idempotency key). */
static void
ulid_new (char out[ULID_LEN + 1])
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    uint8_t b[16];
    uint64_t ms = (uint64_t) clock_now_ms (CLOCK_REALTIME);
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t) (ms >> (40 - 8 * i));
    random_bytes (b + 6, 10);
    /* 26 characters carry 130 bits: the 128 bits above behind two zeros. */
    for (int c = 0; c < ULID_LEN; c++) {
        int v = 0;
        for (int k = c * 5; k < c * 5 + 5; k++) {
            int bit = k < 2 ? 0 : (b[(k - 2) / 8] >> (7 - (k - 2) % 8)) & 1;
            v = (v << 1) | bit;
        }
        out[c] = alphabet[v];
    }
    out[ULID_LEN] = '\0';
}

/* ---- sockets ---- */

static void
set_int (void *sock, int option, int value)
{
    zmq_setsockopt (sock, option, &value, sizeof value);
}

static bool
socket_open (exitflow_client_t *self)
{
    void *sock = zmq_socket (self->ctx, ZMQ_DEALER);
    if (!sock)
        return false;
    set_int (sock, ZMQ_LINGER, 0);
    set_int (sock, ZMQ_RECONNECT_IVL, 100);
    set_int (sock, ZMQ_RECONNECT_IVL_MAX, 2000);
    /* Without it a TCP connect to a silent host waits the kernel's minutes. */
    set_int (sock, ZMQ_CONNECT_TIMEOUT, self->options.timeout_ms);
    if (!curve_apply (&self->curve, sock)
        || zmq_connect (sock, self->endpoint) != 0) {
        int e = errno;
        zmq_close (sock);
        errno = e;
        return false;
    }
    self->sock = sock;
    return true;
}

/* libzmq takes the port of tcp://HOST:99999 modulo 65536 and connects
 * there; the endpoint is refused here instead. */
bool
exitflow_endpoint_check (const char *endpoint, exitflow_error_t *err)
{
    error_clear (err);
    char why[256];
    if (setup_endpoint_valid (endpoint, false, why, sizeof why))
        return true;
    error_set (err, EXITFLOW_BAD_REQUEST, "endpoint", "%s", why);
    return false;
}

/* Linger 0 drops what was queued, and a late reply to this socket can never
 * be read as the answer to a later request. */
static void
socket_close (exitflow_client_t *self)
{
    if (self->sock) {
        zmq_close (self->sock);
        self->sock = NULL;
    }
}

exitflow_client_t *
exitflow_client_new (const char *endpoint, const exitflow_options_t *options)
{
    exitflow_error_t why;
    if (!exitflow_endpoint_check (endpoint, &why)) {
        errno = EINVAL;
        return NULL;
    }
    exitflow_client_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->options = options_normalize (options);
    exitflow_error_t err;
    if (!curve_load (&self->curve, &self->options, &err)) {
        exitflow_client_destroy (&self);
        errno = EINVAL;
        return NULL;
    }
    /* The key files are read: the caller's strings are not kept. */
    self->options.cert = self->options.server_key = NULL;
    self->endpoint = strdup (endpoint);
    self->actor = self->options.actor ? strdup (self->options.actor) : NULL;
    self->options.actor = self->actor;
    self->ctx = self->options.zmq_context;
    if (!self->ctx) {
        self->ctx = zmq_ctx_new ();
        self->own_ctx = true;
    }
    if (!self->endpoint || !self->ctx || !socket_open (self)) {
        int e = errno;
        exitflow_client_destroy (&self);
        errno = e;
        return NULL;
    }
    return self;
}

void
exitflow_client_destroy (exitflow_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    exitflow_client_t *self = *self_p;
    socket_close (self);
    if (self->own_ctx && self->ctx)
        while (zmq_ctx_term (self->ctx) == -1 && errno == EINTR)
            ;
    free (self->endpoint);
    free (self->actor);
    curve_wipe (&self->curve);
    free (self);
    *self_p = NULL;
}

const char *
exitflow_client_endpoint (const exitflow_client_t *self)
{
    return self->endpoint;
}

bool
exitflow_client_set_actor (exitflow_client_t *self, const char *actor)
{
    if (actor && (!*actor || strlen (actor) > EXF_ID_MAX)) {
        errno = EINVAL;
        return false;
    }
    char *copy = actor ? strdup (actor) : NULL;
    if (actor && !copy)
        return false;
    free (self->actor);
    self->actor = copy;
    self->options.actor = copy;
    return true;
}

const curve_t *
client_curve (const exitflow_client_t *self)
{
    return &self->curve;
}

/* ---- the exchange ---- */

/* Receives one whole message and returns a malloc'd copy of its last frame
 * (the body; earlier frames are the envelope). */
static char *
recv_body (void *sock, size_t *len)
{
    char *body = NULL;
    int more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, sock, 0) < 0) {
            zmq_msg_close (&part);
            free (body);
            return NULL;
        }
        more = zmq_msg_more (&part);
        free (body);
        *len = zmq_msg_size (&part);
        body = malloc (*len ? *len : 1);
        if (body)
            memcpy (body, zmq_msg_data (&part), *len);
        zmq_msg_close (&part);
        if (!body)
            return NULL;        /* the rest of the message goes with the socket */
    }
    return body;
}

static bool
send_request (void *sock, const void *body, size_t len)
{
    /* ["", body]: the empty delimiter makes the daemon's reply look the same
     * to REQ and DEALER peers (PROTOCOL.md §2.1). */
    return zmq_send (sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0
           && zmq_send (sock, body, len, ZMQ_DONTWAIT) == (int) len;
}

/* The program shut the context down to stop: no attempt can succeed now,
 * and waiting out the timeout would only delay its exit. */
static exitflow_reply_t *
stopped (exitflow_error_t *err)
{
    return error_set (err, EXITFLOW_UNREACHABLE, NULL,
                      "not sent: the program is stopping (its ZeroMQ context "
                      "was shut down)");
}

static exitflow_reply_t *
exchange (exitflow_client_t *self, const char *id, const void *body,
          size_t len, exitflow_error_t *err)
{
    const exitflow_options_t *o = &self->options;
    int attempts = 1 + o->retries;
    int delay = o->backoff_ms;
    for (int attempt = 0; attempt < attempts; attempt++) {
        if (attempt > 0) {
            sleep_ms (delay);
            delay = delay * 2 > o->backoff_max_ms ? o->backoff_max_ms : delay * 2;
        }
        if (!self->sock && !socket_open (self))
            return error_set (err, EXITFLOW_UNREACHABLE, NULL,
                              "cannot open a socket: %s", zmq_strerror (errno));
        /* A refused send (queue full) is waited out like a lost reply, so
         * the caller sees the same timing either way. */
        bool sent = send_request (self->sock, body, len);
        if (!sent && errno == ETERM)
            return stopped (err);
        int64_t deadline = clock_now_ms (CLOCK_MONOTONIC) + o->timeout_ms;
        for (;;) {
            int64_t left = deadline - clock_now_ms (CLOCK_MONOTONIC);
            if (left <= 0)
                break;
            if (!sent) {
                sleep_ms ((int) left);
                break;
            }
            zmq_pollitem_t item = { self->sock, 0, ZMQ_POLLIN, 0 };
            int rc = zmq_poll (&item, 1, (long) left);
            if (rc < 0 && errno == EINTR)
                continue;
            if (rc < 0 && errno == ETERM)
                return stopped (err);
            if (rc <= 0)
                break;
            size_t rlen = 0;
            char *rbody = recv_body (self->sock, &rlen);
            if (!rbody)
                continue;
            bool stale;
            exitflow_reply_t *reply = reply_decode (rbody, rlen, id, &stale, err);
            if (!stale)
                return reply;       /* ours: the result or the refusal */
        }
        socket_close (self);
    }
    return error_set (err, EXITFLOW_UNREACHABLE, NULL,
                      "no reply from %s after %d attempt%s", self->endpoint,
                      attempts, attempts == 1 ? "" : "s");
}

/* ---- packing ---- */

static bool
is_map_header (uint8_t b)
{
    return (b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf;
}

static bool
is_array_header (uint8_t b)
{
    return (b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd;
}

/* Pre-encoded msgpack from the caller is spliced into the request as is;
 * check it first so that a bad buffer is the caller's error, not the
 * daemon's, and never corrupts the request around it. */
static bool
check_raw (const char *field, const void *buf, size_t len, bool want_map,
           exitflow_error_t *err)
{
    const char *why = NULL;
    if (!buf || len == 0 || !codec_check (buf, len, &why)) {
        error_set (err, EXITFLOW_BAD_REQUEST, field, "%s is not msgpack: %s",
                   field, why ? why : "empty");
        return false;
    }
    uint8_t b = *(const uint8_t *) buf;
    if (want_map ? !is_map_header (b) : !is_array_header (b)) {
        error_set (err, EXITFLOW_BAD_REQUEST, field, "%s must be %s", field,
                   want_map ? "a map" : "an array");
        return false;
    }
    return true;
}

typedef enum { ARG_STR, ARG_INT, ARG_BOOL, ARG_MAP, ARG_ARRAY } arg_kind_t;

/* One key of an args map; absent ones are left out of the map. */
typedef struct {
    const char *key;
    arg_kind_t kind;
    bool present;
    const char *str;
    int64_t i;
    const void *raw;
    size_t raw_len;
} arg_t;

#define ARG_S(k, v)        { .key = (k), .kind = ARG_STR, .present = (v) != NULL, .str = (v) }
#define ARG_I(k, v, p)     { .key = (k), .kind = ARG_INT, .present = (p), .i = (v) }
#define ARG_B(k, v)        { .key = (k), .kind = ARG_BOOL, .present = true, .i = (v) }
#define ARG_BP(k, v, p)    { .key = (k), .kind = ARG_BOOL, .present = (p), .i = (v) }
#define ARG_M(k, b, n)     { .key = (k), .kind = ARG_MAP, .present = (b) != NULL, .raw = (b), .raw_len = (n) }
#define ARG_A(k, b, n)     { .key = (k), .kind = ARG_ARRAY, .present = (b) != NULL, .raw = (b), .raw_len = (n) }
#define ARG_VERSION(v)     ARG_I ("expected_version", (v), (v) >= 0)
#define ARG_COUNT(a)       (sizeof (a) / sizeof (a)[0])

static bool
pack_args (msgpack_packer *pk, const arg_t *args, size_t n,
           exitflow_error_t *err)
{
    size_t present = 0;
    for (size_t i = 0; i < n; i++) {
        if (!args[i].present)
            continue;
        present++;
        if ((args[i].kind == ARG_MAP || args[i].kind == ARG_ARRAY)
            && !check_raw (args[i].key, args[i].raw, args[i].raw_len,
                           args[i].kind == ARG_MAP, err))
            return false;
    }
    msgpack_pack_map (pk, present);
    for (size_t i = 0; i < n; i++) {
        const arg_t *a = &args[i];
        if (!a->present)
            continue;
        codec_pack_cstr (pk, a->key);
        switch (a->kind) {
        case ARG_STR:   codec_pack_cstr (pk, a->str); break;
        case ARG_INT:   msgpack_pack_int64 (pk, a->i); break;
        case ARG_BOOL:
            if (a->i)
                msgpack_pack_true (pk);
            else
                msgpack_pack_false (pk);
            break;
        case ARG_MAP:
        case ARG_ARRAY: codec_pack_raw (pk, a->raw, a->raw_len); break;
        }
    }
    return true;
}

exitflow_reply_t *
exitflow_call (exitflow_client_t *self, const char *cmd, const void *args,
               size_t args_len, exitflow_error_t *err)
{
    error_clear (err);
    if (!cmd || !*cmd)
        return error_set (err, EXITFLOW_BAD_REQUEST, "cmd", "cmd is required");
    if (args && !check_raw ("args", args, args_len, true, err))
        return NULL;
    char id[ULID_LEN + 1];
    ulid_new (id);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    codec_pack_request_head (&pk, id, cmd, self->actor, args != NULL);
    if (args)
        codec_pack_raw (&pk, args, args_len);
    /* Up to 4 MiB the daemon would say BAD_REQUEST; above, it drops the
     * connection, and every retry would be lost the same way. */
    exitflow_reply_t *reply
        = sb.size > EXF_BODY_MAX
              ? error_set (err, EXITFLOW_TOO_LARGE, "args", "the request is "
                           "too large: %zu bytes, the limit is %d (1 MiB, "
                           "PROTOCOL.md §2.1); nothing was sent", sb.size,
                           EXF_BODY_MAX)
              : exchange (self, id, sb.data, sb.size, err);
    msgpack_sbuffer_destroy (&sb);
    return reply;
}

/* A command whose args are a flat list of keys. */
static exitflow_reply_t *
call_args (exitflow_client_t *self, exf_command_id_t cmd, const arg_t *args,
           size_t n, exitflow_error_t *err)
{
    error_clear (err);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    exitflow_reply_t *reply = NULL;
    if (pack_args (&pk, args, n, err))
        reply = exitflow_call (self, exf_command_names[cmd], sb.data, sb.size,
                               err);
    msgpack_sbuffer_destroy (&sb);
    return reply;
}

/* ---- one function per command ---- */

exitflow_reply_t *
exitflow_ping (exitflow_client_t *self, exitflow_error_t *err)
{
    return exitflow_call (self, EXF_CMD_NAME (PING), NULL, 0, err);
}

exitflow_reply_t *
exitflow_stats (exitflow_client_t *self, exitflow_error_t *err)
{
    return exitflow_call (self, EXF_CMD_NAME (STATS), NULL, 0, err);
}

exitflow_reply_t *
exitflow_start (exitflow_client_t *self, const exitflow_household_t *hh,
                exitflow_error_t *err)
{
    error_clear (err);
    if (!hh)
        return error_set (err, EXITFLOW_BAD_REQUEST, "members",
                          "no household given");
    if (hh->member_count && !hh->members)
        return error_set (err, EXITFLOW_BAD_REQUEST, "members",
                          "member_count without members");
    /* The members array first, on its own, so the top-level map is one
     * more flat list of keys. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, hh->member_count);
    exitflow_reply_t *reply = NULL;
    for (size_t m = 0; m < hh->member_count; m++) {
        const exitflow_member_t *mb = &hh->members[m];
        arg_t member[] = {
            ARG_S ("client_id", mb->client_id),
            ARG_S ("enrollment_id", mb->enrollment_id),
            ARG_I ("relationship", mb->relationship, true),
            ARG_S ("entry_date", mb->entry_date),
            ARG_BP ("adult", mb->adult > 0, mb->adult >= 0),
            ARG_S ("birth_date", mb->birth_date),
            ARG_M ("last", mb->last, mb->last_len),
        };
        if (!pack_args (&pk, member, ARG_COUNT (member), err)) {
            char path[sizeof err->field + 32];
            snprintf (path, sizeof path, "members.%zu.%s", m, err->field);
            codec_str_copy (err->field, sizeof err->field,
                            (exf_str_t) { path, (uint32_t) strlen (path) });
            goto done;
        }
    }
    arg_t top[] = {
        ARG_S ("enrollment_id", hh->enrollment_id),
        ARG_S ("household_id", hh->household_id),
        ARG_S ("project_id", hh->project_id),
        ARG_I ("project_type", hh->project_type, hh->project_type >= 0),
        ARG_S ("move_in_date", hh->move_in_date),
        ARG_A ("members", sb.data, sb.size),
    };
    reply = call_args (self, EXF_CMD_WORKFLOW_START, top, ARG_COUNT (top), err);
done:
    msgpack_sbuffer_destroy (&sb);
    return reply;
}

exitflow_reply_t *
exitflow_get (exitflow_client_t *self, const char *workflow_id,
              exitflow_error_t *err)
{
    arg_t a[] = { ARG_S ("workflow_id", workflow_id) };
    return call_args (self, EXF_CMD_WORKFLOW_GET, a, ARG_COUNT (a), err);
}

exitflow_reply_t *
exitflow_save (exitflow_client_t *self, const char *workflow_id,
               const char *client_id, const char *step, const void *data,
               size_t data_len, int64_t expected_version, exitflow_error_t *err)
{
    if (!data) {
        error_clear (err);
        return error_set (err, EXITFLOW_BAD_REQUEST, "data",
                          "data is required for an entered step");
    }
    arg_t a[] = {
        ARG_S ("workflow_id", workflow_id), ARG_S ("client_id", client_id),
        ARG_S ("step", step), ARG_S ("mode", "entered"),
        ARG_M ("data", data, data_len), ARG_VERSION (expected_version),
    };
    return call_args (self, EXF_CMD_STEP_SAVE, a, ARG_COUNT (a), err);
}

exitflow_reply_t *
exitflow_save_default_last (exitflow_client_t *self, const char *workflow_id,
                            const char *client_id, const char *step,
                            int64_t expected_version, exitflow_error_t *err)
{
    arg_t a[] = {
        ARG_S ("workflow_id", workflow_id), ARG_S ("client_id", client_id),
        ARG_S ("step", step), ARG_S ("mode", "default_last"),
        ARG_VERSION (expected_version),
    };
    return call_args (self, EXF_CMD_STEP_SAVE, a, ARG_COUNT (a), err);
}

exitflow_reply_t *
exitflow_decide (exitflow_client_t *self, const char *workflow_id,
                 const char *client_id, bool exit, int64_t expected_version,
                 exitflow_error_t *err)
{
    arg_t a[] = {
        ARG_S ("workflow_id", workflow_id), ARG_S ("client_id", client_id),
        ARG_B ("exit", exit), ARG_VERSION (expected_version),
    };
    return call_args (self, EXF_CMD_MEMBER_DECIDE, a, ARG_COUNT (a), err);
}

exitflow_reply_t *
exitflow_finish (exitflow_client_t *self, const char *workflow_id,
                 const char *new_head_of_household, int64_t expected_version,
                 exitflow_error_t *err)
{
    arg_t a[] = {
        ARG_S ("workflow_id", workflow_id),
        ARG_S ("new_head_of_household", new_head_of_household),
        ARG_VERSION (expected_version),
    };
    return call_args (self, EXF_CMD_WORKFLOW_FINISH, a, ARG_COUNT (a), err);
}

exitflow_reply_t *
exitflow_cancel (exitflow_client_t *self, const char *workflow_id,
                 const char *reason, int64_t expected_version,
                 exitflow_error_t *err)
{
    arg_t a[] = {
        ARG_S ("workflow_id", workflow_id), ARG_S ("reason", reason),
        ARG_VERSION (expected_version),
    };
    return call_args (self, EXF_CMD_WORKFLOW_CANCEL, a, ARG_COUNT (a), err);
}

exitflow_reply_t *
exitflow_list (exitflow_client_t *self, const char *state,
               const char *project_id, int64_t idle_for_s, int limit,
               const char *after, exitflow_error_t *err)
{
    exitflow_list_filter_t f = {
        .state = state, .project_id = project_id,
        .idle_for_s = idle_for_s, .limit = limit, .after = after,
    };
    return exitflow_list_filtered (self, &f, err);
}

exitflow_reply_t *
exitflow_list_filtered (exitflow_client_t *self,
                        const exitflow_list_filter_t *f, exitflow_error_t *err)
{
    if (!f) {
        error_clear (err);
        return error_set (err, EXITFLOW_BAD_REQUEST, "state",
                          "no filter given (state at least)");
    }
    arg_t a[] = {
        ARG_S ("state", f->state), ARG_S ("project_id", f->project_id),
        ARG_I ("idle_for_s", f->idle_for_s, f->idle_for_s > 0),
        ARG_BP ("stalled", f->stalled == EXITFLOW_STALLED_ONLY,
                f->stalled != EXITFLOW_STALLED_ANY),
        ARG_S ("client_id", f->client_id),
        ARG_S ("enrollment_id", f->enrollment_id),
        ARG_S ("household_id", f->household_id), ARG_S ("actor", f->actor),
        ARG_I ("limit", f->limit, f->limit > 0), ARG_S ("after", f->after),
    };
    return call_args (self, EXF_CMD_WORKFLOW_LIST, a, ARG_COUNT (a), err);
}

exitflow_reply_t *
exitflow_history (exitflow_client_t *self, const char *workflow_id,
                  exitflow_error_t *err)
{
    arg_t a[] = { ARG_S ("workflow_id", workflow_id) };
    return call_args (self, EXF_CMD_WORKFLOW_HISTORY, a, ARG_COUNT (a), err);
}

exitflow_reply_t *
exitflow_events_read (exitflow_client_t *self, uint64_t after, int limit,
                      exitflow_error_t *err)
{
    arg_t a[] = {
        ARG_I ("after", (int64_t) after, true),
        ARG_I ("limit", limit, limit > 0),
    };
    return call_args (self, EXF_CMD_EVENTS_READ, a, ARG_COUNT (a), err);
}

exitflow_reply_t *
exitflow_consumer_ack (exitflow_client_t *self, const char *consumer,
                       uint64_t seq, exitflow_error_t *err)
{
    arg_t a[] = {
        ARG_S ("consumer", consumer), ARG_I ("seq", (int64_t) seq, true),
    };
    return call_args (self, EXF_CMD_CONSUMER_ACK, a, ARG_COUNT (a), err);
}

exitflow_reply_t *
exitflow_consumer_list (exitflow_client_t *self, exitflow_error_t *err)
{
    return exitflow_call (self, EXF_CMD_NAME (CONSUMER_LIST), NULL, 0, err);
}

exitflow_reply_t *
exitflow_consumer_delete (exitflow_client_t *self, const char *consumer,
                          exitflow_error_t *err)
{
    arg_t a[] = { ARG_S ("consumer", consumer) };
    return call_args (self, EXF_CMD_CONSUMER_DELETE, a, ARG_COUNT (a), err);
}

exitflow_reply_t *
exitflow_backup (exitflow_client_t *self, const char *dir,
                 exitflow_error_t *err)
{
    arg_t a[] = { ARG_S ("dir", dir) };
    return call_args (self, EXF_CMD_STORE_BACKUP, a, ARG_COUNT (a), err);
}

exitflow_reply_t *
exitflow_hud_codes (exitflow_client_t *self, exitflow_error_t *err)
{
    return exitflow_call (self, EXF_CMD_NAME (HUD_CODES), NULL, 0, err);
}

exitflow_reply_t *
exitflow_dq_report (exitflow_client_t *self, const char *workflow_id,
                    const char *source, const void *findings,
                    size_t findings_len, int64_t expected_version,
                    exitflow_error_t *err)
{
    if (!findings) {
        error_clear (err);
        return error_set (err, EXITFLOW_BAD_REQUEST, "findings",
                          "findings is required (an empty array clears)");
    }
    arg_t a[] = {
        ARG_S ("workflow_id", workflow_id), ARG_S ("source", source),
        ARG_A ("findings", findings, findings_len),
        ARG_VERSION (expected_version),
    };
    return call_args (self, EXF_CMD_DQ_REPORT, a, ARG_COUNT (a), err);
}
