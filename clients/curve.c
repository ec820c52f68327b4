/* curve — a client's CURVE keys: finding them, reading them, using them.
 *
 * Owns: the one rule every exitflow program follows to find its keys (what
 * the caller set, then EXITFLOW_CERT / EXITFLOW_SERVER_KEY, then the
 * checkout's ./var/keys/), reading the client's secret certificate and the
 * server's public key (a czmq certificate file through zcert_load, or a
 * 40-character Z85 key), the both-or-neither rule, and putting the keys on
 * a DEALER or SUB before it connects. czmq is used for its file format
 * only: nothing here creates a czmq socket or starts czmq's signal
 * handling. */
#include "internal.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define ENV_CERT "EXITFLOW_CERT"
#define ENV_SERVER_KEY "EXITFLOW_SERVER_KEY"
#define KEYS_DIR "./var/keys/"
#define KEYS_SERVER KEYS_DIR "server"

static bool
unset (const char *s)
{
    return !s || !*s;
}

static const char *
env_value (const char *name)
{
    const char *v = getenv (name);
    return unset (v) ? NULL : v;
}

void
exitflow_options_from_env (exitflow_options_t *opts, const char *default_cert_name)
{
    /* The caller's fields stay valid only as long as the caller keeps
     * them; the default cert path must outlive this call, so it lives
     * here, one per thread. */
    static __thread char cert_path[512];
    if (!opts)
        return;
    if (unset (opts->cert))
        opts->cert = env_value (ENV_CERT);
    if (unset (opts->server_key))
        opts->server_key = env_value (ENV_SERVER_KEY);
    if (unset (opts->cert) && !unset (default_cert_name)) {
        int n = snprintf (cert_path, sizeof cert_path, KEYS_DIR "%s_secret",
                          default_cert_name);
        if (n > 0 && (size_t) n < sizeof cert_path && access (cert_path, F_OK) == 0)
            opts->cert = cert_path;
    }
    if (unset (opts->server_key) && access (KEYS_SERVER, F_OK) == 0)
        opts->server_key = KEYS_SERVER;
}

/* Why zcert_load gave nothing: the file itself, or what is in it. */
static void *
cert_unreadable (exitflow_error_t *err, const char *field, const char *what,
                 const char *path)
{
    if (access (path, R_OK) != 0)
        return error_set (err, EXITFLOW_BAD_REQUEST, field, "cannot read %s %s: %s",
                          what, path, strerror (errno));
    return error_set (err, EXITFLOW_BAD_REQUEST, field,
                      "%s %s is not a czmq certificate (no 40-character "
                      "curve/public-key)", what, path);
}

/* The client's secret certificate. zcert_load reads PATH_secret when it
 * exists, so the public file beside its secret one is accepted too. */
static bool
load_client_cert (curve_t *self, const char *path, exitflow_error_t *err)
{
    zcert_t *cert = zcert_load (path);
    if (!cert) {
        cert_unreadable (err, "cert", "certificate", path);
        return false;
    }
    const byte *secret = zcert_secret_key (cert);
    bool has_secret = false;
    for (int i = 0; i < 32; i++)
        has_secret |= secret[i] != 0;
    if (has_secret) {
        memcpy (self->public_key, zcert_public_txt (cert), CURVE_KEY_LEN + 1);
        memcpy (self->secret_key, zcert_secret_txt (cert), CURVE_KEY_LEN + 1);
    } else
        error_set (err, EXITFLOW_BAD_REQUEST, "cert",
                   "certificate %s holds no secret key (give the NAME_secret "
                   "file)", path);
    zcert_destroy (&cert);
    return has_secret;
}

/* A 40-character Z85 key, unless a file of that name exists. */
static bool
is_z85_key (const char *text)
{
    uint8_t bin[32];
    return strlen (text) == CURVE_KEY_LEN && access (text, F_OK) != 0
           && zmq_z85_decode (bin, text) != NULL;
}

static bool
load_server_key (curve_t *self, const char *text, exitflow_error_t *err)
{
    if (is_z85_key (text)) {
        memcpy (self->server_key, text, CURVE_KEY_LEN + 1);
        return true;
    }
    zcert_t *cert = zcert_load (text);
    if (!cert) {
        if (access (text, F_OK) != 0)
            error_set (err, EXITFLOW_BAD_REQUEST, "server_key",
                       "server key %s is neither a 40-character Z85 key nor a "
                       "certificate file", text);
        else
            cert_unreadable (err, "server_key", "server key file", text);
        return false;
    }
    memcpy (self->server_key, zcert_public_txt (cert), CURVE_KEY_LEN + 1);
    zcert_destroy (&cert);
    return true;
}

bool
curve_load (curve_t *self, const exitflow_options_t *o, exitflow_error_t *err)
{
    memset (self, 0, sizeof *self);
    error_clear (err);
    bool cert = !unset (o->cert), server = !unset (o->server_key);
    if (!cert && !server)
        return true;                /* local mode: no CURVE */
    if (!server) {
        error_set (err, EXITFLOW_BAD_REQUEST, "server_key",
                   "no server key: a client certificate (%s) needs the "
                   "server's public key too", o->cert);
        return false;
    }
    if (!cert) {
        error_set (err, EXITFLOW_BAD_REQUEST, "cert",
                   "no client certificate: the server's public key needs a "
                   "client certificate too");
        return false;
    }
    if (!load_client_cert (self, o->cert, err)
        || !load_server_key (self, o->server_key, err)) {
        curve_wipe (self);
        return false;
    }
    self->on = true;
    return true;
}

bool
curve_apply (const curve_t *self, void *sock)
{
    if (!self->on)
        return true;
    /* Z85 text with its NUL: libzmq reads 41 bytes as Z85. */
    return zmq_setsockopt (sock, ZMQ_CURVE_SERVERKEY, self->server_key,
                           CURVE_KEY_LEN + 1) == 0
           && zmq_setsockopt (sock, ZMQ_CURVE_PUBLICKEY, self->public_key,
                              CURVE_KEY_LEN + 1) == 0
           && zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, self->secret_key,
                              CURVE_KEY_LEN + 1) == 0;
}

void
curve_wipe (curve_t *self)
{
    explicit_bzero (self, sizeof *self);
}

bool
exitflow_options_check (const exitflow_options_t *opts, exitflow_error_t *err)
{
    exitflow_options_t o = opts ? *opts : exitflow_options_default ();
    curve_t keys;
    bool ok = curve_load (&keys, &o, err);
    curve_wipe (&keys);
    return ok;
}
