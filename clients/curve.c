/* curve — a client's CURVE keys: finding them, reading them, using them.
 *
 * Owns: the one rule every exitflow program follows to find its keys (what
 * the caller set, then EXITFLOW_CERT / EXITFLOW_SERVER_KEY, then the
 * checkout's ./var/keys/, then an installed system's /etc/exitflow/keys/),
 * reading the client's secret certificate and the
 * server's public key (a czmq certificate file, read with czmq's ZPL
 * parser, or a 40-character Z85 key), the both-or-neither rule, and
 * putting the keys on a DEALER or SUB before it connects. czmq is used for
 * its file format only: nothing here creates a czmq socket or starts
 * czmq's signal handling. */
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
/* Where a key is looked for when none is given, in order: a checkout
 * (`make run` makes ./var/keys), then an installed system (the package
 * makes /etc/exitflow/keys; its admin_secret is readable by root and the
 * group exitflow-admin). */
static const char *const KEY_DIRS[] = { "./var/keys/", "/etc/exitflow/keys/" };

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

/* The first of KEY_DIRS holding the file `name` + `suffix`, written into
 * `path`; NULL when none does. It need not be readable: a file there that
 * cannot be read is reported by name when it is loaded, which says more
 * than looking further would. */
static const char *
default_key (char *path, size_t cap, const char *name, const char *suffix)
{
    for (size_t i = 0; i < sizeof KEY_DIRS / sizeof *KEY_DIRS; i++) {
        int n = snprintf (path, cap, "%s%s%s", KEY_DIRS[i], name, suffix);
        if (n > 0 && (size_t) n < cap && access (path, F_OK) == 0)
            return path;
    }
    return NULL;
}

void
exitflow_options_from_env (exitflow_options_t *opts, const char *default_cert_name)
{
    /* The caller's fields stay valid only as long as the caller keeps
     * them; the default paths must outlive this call, so they live here,
     * one pair per thread. */
    static __thread char cert_path[512], server_path[512];
    if (!opts)
        return;
    if (unset (opts->cert))
        opts->cert = env_value (ENV_CERT);
    if (unset (opts->server_key))
        opts->server_key = env_value (ENV_SERVER_KEY);
    if (unset (opts->cert) && !unset (default_cert_name))
        opts->cert = default_key (cert_path, sizeof cert_path,
                                  default_cert_name, "_secret");
    if (unset (opts->server_key))
        opts->server_key = default_key (server_path, sizeof server_path,
                                        "server", "");
}

/* A certificate file as czmq's ZPL tree, NULL when it is not ZPL. Not
 * zcert_load: czmq 4.2.1's zconfig_load under it leaks the file object
 * when the text does not parse; this is the same parser without the leak. */
static zconfig_t *
zpl_load (const char *path)
{
    zfile_t *file = zfile_new (NULL, path);
    zconfig_t *root = NULL;
    if (file && zfile_input (file) == 0) {
        zchunk_t *chunk = zfile_read (file, zfile_cursize (file), 0);
        if (chunk)
            root = zconfig_chunk_load (chunk);
        zchunk_destroy (&chunk);
    }
    zfile_destroy (&file);
    return root;
}

/* True for 40 characters that decode as Z85; *nonzero then says whether
 * the key has a bit set (czmq writes zeros for a secret it does not have). */
static bool
z85_key_ok (const char *text, bool *nonzero)
{
    uint8_t bin[32] = { 0 };
    if (!text || strlen (text) != CURVE_KEY_LEN || !zmq_z85_decode (bin, text))
        return false;
    *nonzero = false;
    for (int i = 0; i < 32; i++)
        *nonzero |= bin[i] != 0;
    return true;
}

/* Copies curve/public-key (and curve/secret-key when `secret` is given)
 * of the certificate file `path`; false with `err` naming `field` and the
 * file. */
static bool
load_cert_keys (const char *path, const char *field, const char *what,
                char *public_key, char *secret, exitflow_error_t *err)
{
    if (access (path, R_OK) != 0) {
        error_set (err, EXITFLOW_BAD_REQUEST, field, "cannot read %s %s: %s",
                   what, path, strerror (errno));
        return false;
    }
    zconfig_t *root = zpl_load (path);
    if (!root) {
        error_set (err, EXITFLOW_BAD_REQUEST, field,
                   "%s %s is not a czmq certificate (not ZPL)", what, path);
        return false;
    }
    const char *pub = zconfig_get (root, "curve/public-key", NULL);
    const char *sec = zconfig_get (root, "curve/secret-key", NULL);
    bool nonzero, ok = false;
    if (!z85_key_ok (pub, &nonzero) || !nonzero)
        error_set (err, EXITFLOW_BAD_REQUEST, field, "%s %s is not a czmq "
                   "certificate (no 40-character curve/public-key)", what, path);
    else if (secret && (!z85_key_ok (sec, &nonzero) || !nonzero))
        error_set (err, EXITFLOW_BAD_REQUEST, field, "%s %s holds no secret key "
                   "(give the NAME_secret file)", what, path);
    else {
        memcpy (public_key, pub, CURVE_KEY_LEN + 1);
        if (secret)
            memcpy (secret, sec, CURVE_KEY_LEN + 1);
        ok = true;
    }
    zconfig_destroy (&root);
    return ok;
}

/* The server key: 40 Z85 characters, unless a file of that name exists,
 * else the public key of that certificate file. */
static bool
load_server_key (curve_t *self, const char *text, exitflow_error_t *err)
{
    bool nonzero;
    if (access (text, F_OK) == 0)
        return load_cert_keys (text, "server_key", "server key file",
                               self->server_key, NULL, err);
    if (z85_key_ok (text, &nonzero)) {
        memcpy (self->server_key, text, CURVE_KEY_LEN + 1);
        return true;
    }
    error_set (err, EXITFLOW_BAD_REQUEST, "server_key",
               "server key %s is neither a 40-character Z85 key nor a "
               "certificate file", text);
    return false;
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
    if (!load_cert_keys (o->cert, "cert", "certificate", self->public_key,
                         self->secret_key, err)
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
