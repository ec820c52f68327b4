/* auth — CURVE authentication and principals. See auth.h.
 *
 * Debian's czmq 4.2.1 zauth does hand a certificate's metadata to the ZAP
 * reply (zframe_meta (frame, "role") works there), but that is the metadata
 * of the connection's handshake: it stays with a connection after its
 * certificate is deleted. Looking the key up in our own store on every
 * request (through a one-second cache) is what makes revocation reach
 * connections that are already open. */
#include "auth.h"

#include "log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* How long a looked-up key is believed before the store is asked again. */
#define AUTH_RECHECK_MS 1000

struct auth_t {
    zactor_t *zap;                  /* zauth: refuses unknown keys at connect */
    zcert_t *server_cert;
    char *certs_dir;
    zcertstore_t *certs;            /* the same directory, read by us */
    zhash_t *known;                 /* User-Id → cached_t */
    zlistx_t *keys;                 /* public keys in the directory, sorted */
    time_t keys_mtime;              /* of the directory when they were read */
    long keys_mtime_ns;
};

typedef struct {
    bool valid;                     /* a certificate with a known role */
    caller_t caller;
    int64_t checked_ms;
} cached_t;

static void
say (char *why, size_t cap, const char *fmt, const char *arg)
{
    snprintf (why, cap, fmt, arg);
}

auth_t *
auth_new (const char *certs_dir, const char *server_cert, char *why,
          size_t cap)
{
    auth_t *self = calloc (1, sizeof *self);
    if (!self)
        abort ();
    if (!certs_dir) {
        if (server_cert) {
            say (why, cap, "%s", "--server-cert needs --certs (the clients' "
                 "public certificates)");
            free (self);
            return NULL;
        }
        return self;
    }
    if (!server_cert) {
        say (why, cap, "%s", "--certs needs --server-cert (the daemon's "
             "secret certificate)");
        goto fail;
    }
    int mode = zsys_file_mode (certs_dir);
    if (mode == -1 || !S_ISDIR (mode)) {
        say (why, cap, "--certs %s is not a directory", certs_dir);
        goto fail;
    }
    self->server_cert = zcert_load (server_cert);
    if (!self->server_cert
        || strcmp (zcert_secret_txt (self->server_cert),
                   "0000000000000000000000000000000000000000") == 0) {
        say (why, cap, "--server-cert %s is not a secret certificate "
             "(make one with `exitflow keygen`)", server_cert);
        goto fail;
    }
    self->certs_dir = strdup (certs_dir);
    return self;
fail:
    auth_destroy (&self);
    return NULL;
}

bool
auth_start (auth_t *self, char *why, size_t cap)
{
    if (!self->certs_dir || self->zap)
        return true;
    self->zap = zactor_new (zauth, NULL);
    if (!self->zap) {
        say (why, cap, "%s", "cannot start the ZAP handler");
        return false;
    }
    zstr_sendx (self->zap, "CURVE", self->certs_dir, NULL);
    zsock_wait (self->zap);
    self->certs = zcertstore_new (self->certs_dir);
    self->known = zhash_new ();
    auth_keys_revoked (self);       /* the first look: what is there now */
    return true;
}

void
auth_destroy (auth_t **self_p)
{
    auth_t *self = *self_p;
    if (!self)
        return;
    zactor_destroy (&self->zap);
    zcert_destroy (&self->server_cert);
    zcertstore_destroy (&self->certs);
    zhash_destroy (&self->known);
    zlistx_destroy (&self->keys);
    free (self->certs_dir);
    free (self);
    *self_p = NULL;
}

bool
auth_is_local (const auth_t *self)
{
    return self->certs_dir == NULL;
}

/* tcp://127.x.y.z:port (an address, not a name that starts so),
 * tcp://localhost:port, tcp://[::1]:port; ipc and inproc never leave the
 * machine. */
static bool
is_loopback (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) == 0
        || strncmp (endpoint, "inproc://", 9) == 0)
        return true;
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6, *colon = strrchr (host, ':');
    char name[64];
    if (!colon || colon == host || (size_t) (colon - host) >= sizeof name)
        return false;
    memcpy (name, host, (size_t) (colon - host));
    name[colon - host] = '\0';
    struct in_addr v4;
    if (inet_pton (AF_INET, name, &v4) == 1)
        return (ntohl (v4.s_addr) >> 24) == 127;
    return strcmp (name, "localhost") == 0 || strcmp (name, "[::1]") == 0;
}

bool
auth_endpoint_allowed (const auth_t *self, const char *endpoint, char *why,
                       size_t cap)
{
    if (!auth_is_local (self) || is_loopback (endpoint))
        return true;
    say (why, cap, "refusing to bind %s without authentication: give "
         "--certs DIR and --server-cert FILE, or bind a loopback address",
         endpoint);
    return false;
}

void
auth_apply_server (const auth_t *self, zsock_t *sock)
{
    if (auth_is_local (self))
        return;
    zcert_apply (self->server_cert, sock);
    zsock_set_curve_server (sock, 1);
    zsock_set_zap_domain (sock, "exitflow");
}

/* What the store says of `user_id` now. */
static cached_t
look_up (auth_t *self, const char *user_id, int64_t now_ms)
{
    cached_t c = { .checked_ms = now_ms };
    zcert_t *cert = zcertstore_lookup (self->certs, user_id);
    if (!cert)
        return c;
    const char *name = zcert_meta (cert, "name");
    const char *role = zcert_meta (cert, "role");
    c.caller.role = role ? exf_role_by_name (role, strlen (role)) : 0;
    if (!name || !*name || strlen (name) > EXF_ID_MAX || !c.caller.role) {
        log_line ("warn", "the certificate of %s has no valid name and "
                  "role: refused", name && *name ? name : "(unnamed)");
        return c;
    }
    snprintf (c.caller.name, sizeof c.caller.name, "%s", name);
    c.valid = true;
    return c;
}

/* The public keys of the certificates in the directory, sorted. */
static zlistx_t *
read_keys (const char *dir)
{
    zlistx_t *keys = zlistx_new ();
    zlistx_set_destructor (keys, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_duplicator (keys, (zlistx_duplicator_fn *) strdup);
    zlistx_set_comparator (keys, (zlistx_comparator_fn *) strcmp);
    zdir_t *d = zdir_new (dir, "-");
    zlist_t *files = d ? zdir_list (d) : NULL;
    for (zfile_t *f = files ? zlist_first (files) : NULL; f;
         f = zlist_next (files)) {
        zcert_t *cert = zcert_load (zfile_filename (f, NULL));
        if (cert)
            zlistx_add_end (keys, (void *) zcert_public_txt (cert));
        zcert_destroy (&cert);
    }
    zlist_destroy (&files);
    zdir_destroy (&d);
    zlistx_sort (keys);
    return keys;
}

bool
auth_keys_revoked (auth_t *self)
{
    if (auth_is_local (self))
        return false;
    struct stat st;
    if (stat (self->certs_dir, &st) != 0)
        memset (&st, 0, sizeof st);     /* gone: every key is revoked */
    if (self->keys && st.st_mtim.tv_sec == self->keys_mtime
        && st.st_mtim.tv_nsec == self->keys_mtime_ns)
        return false;
    self->keys_mtime = st.st_mtim.tv_sec;
    self->keys_mtime_ns = st.st_mtim.tv_nsec;
    zlistx_t *now = read_keys (self->certs_dir);
    bool revoked = false;
    for (const char *k = self->keys ? zlistx_first (self->keys) : NULL;
         k && !revoked; k = zlistx_next (self->keys))
        revoked = zlistx_find (now, (void *) k) == NULL;
    zlistx_destroy (&self->keys);
    self->keys = now;
    return revoked;
}

bool
auth_caller (auth_t *self, const char *user_id, int64_t now_ms,
             caller_t *out)
{
    if (auth_is_local (self)) {
        *out = (caller_t) { "local", EXF_ROLE_ADMIN };
        return true;
    }
    if (!user_id || !*user_id)
        return false;
    cached_t *c = zhash_lookup (self->known, user_id);
    if (!c || now_ms - c->checked_ms >= AUTH_RECHECK_MS
        || now_ms < c->checked_ms) {
        cached_t fresh = look_up (self, user_id, now_ms);
        if (c)
            *c = fresh;
        else {
            c = malloc (sizeof *c);
            if (!c)
                abort ();
            *c = fresh;
            zhash_insert (self->known, user_id, c);
            zhash_freefn (self->known, user_id, free);
        }
    }
    if (c->valid)
        *out = c->caller;
    return c->valid;
}
