/* test_curve — libexitflow's CURVE keys against a real CURVE server.
 *
 * Owns: a stand-in for exitflowd made here with czmq — a ROUTER and a PUB
 * that are CURVE servers under zauth with a temp certificate directory,
 * answering every request with a minimal EXITFLOW/1 reply and publishing
 * one event over and over — and proving through the public API only: the
 * right certificate and server key (as a file or as Z85) get replies, an
 * unknown certificate, a wrong server key and no keys at all get
 * UNREACHABLE within the timeout; a keyed subscriber receives the event, a
 * keyless SUB none; exitflow_options_from_env's precedence (a set field,
 * the environment, ./var/keys from the working directory, nothing); and
 * unusable keys refused with the field and the file named. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitflow.h"
#include "protocol/codec.h"
#include "tests/support/msgpack_builder.h"

#define TIMEOUT_MS 300

/* ---- keys on disk ---- */

static struct {
    char dir[64];                   /* everything below lives here */
    char certs[128];                 /* the server's store of client certs */
    char server[256];                /* server's public cert (_secret beside) */
    char client[256];                /* a known client's secret cert */
    char stranger[256];              /* a client cert not in the store */
    char impostor[256];              /* a server cert the server does not have */
    char server_z85[41];
    char impostor_z85[41];
} keys;

/* A new certificate saved as DIR/NAME and DIR/NAME_secret; its secret
 * file's path into `secret` when wanted, its public key into `z85`. */
static void
make_cert (const char *dir, const char *name, char *secret, size_t cap,
           char *z85)
{
    zcert_t *cert = zcert_new ();
    assert_non_null (cert);
    zcert_set_meta (cert, "name", "%s", name);
    zcert_set_meta (cert, "role", "%s", "admin");
    char path[200];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    assert_int_equal (zcert_save (cert, path), 0);
    if (secret)
        snprintf (secret, cap, "%s_secret", path);
    if (z85)
        memcpy (z85, zcert_public_txt (cert), 41);
    zcert_destroy (&cert);
}

static void
keys_make (void)
{
    snprintf (keys.dir, sizeof keys.dir, "/tmp/exitflow-curvetest-XXXXXX");
    assert_non_null (mkdtemp (keys.dir));
    snprintf (keys.certs, sizeof keys.certs, "%s/certs", keys.dir);
    assert_int_equal (zsys_dir_create ("%s", keys.certs), 0);
    make_cert (keys.dir, "server", NULL, 0, keys.server_z85);
    snprintf (keys.server, sizeof keys.server, "%s/server", keys.dir);
    /* The client's public half goes into the store, its secret stays out. */
    make_cert (keys.certs, "client", NULL, 0, NULL);
    char from[200];
    snprintf (from, sizeof from, "%s/client_secret", keys.certs);
    snprintf (keys.client, sizeof keys.client, "%s/client_secret", keys.dir);
    assert_int_equal (rename (from, keys.client), 0);
    make_cert (keys.dir, "stranger", keys.stranger, sizeof keys.stranger, NULL);
    make_cert (keys.dir, "impostor", keys.impostor, sizeof keys.impostor,
               keys.impostor_z85);
}

static void
write_file (const char *path, const char *text)
{
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fputs (text, f);
    fclose (f);
}

/* ---- the server ---- */

static struct {
    zactor_t *auth;
    zactor_t *server;
    char commands[64];              /* CURVE ROUTER */
    char events[64];                /* CURVE PUB */
    char plain[64];                 /* a ROUTER without CURVE */
} srv;

/* One value packed by msgpack_builder's format into `sb` (made here). */
static void
pack (msgpack_sbuffer *sb, const char *fmt, ...)
{
    msgpack_sbuffer_init (sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
    va_list ap;
    va_start (ap, fmt);
    pack_fmt (&pk, &fmt, &ap);
    va_end (ap);
}

/* Answers one request [routing id]["" ][body] with {id, ok: true, result}:
 * an empty log for events.read, {pong: true} for anything else. */
static void
answer (zsock_t *router)
{
    zmsg_t *msg = zmsg_recv (router);
    if (!msg)
        return;
    zframe_t *body = zmsg_last (msg);
    char id[64] = "", cmd[64] = "";
    msgpack_unpacked up;
    msgpack_unpacked_init (&up);
    const char *why;
    if (codec_unpack ((const char *) zframe_data (body), zframe_size (body),
                      &up, &why)) {
        exitflow_obj_str (&up.data, "id", id, sizeof id);
        exitflow_obj_str (&up.data, "cmd", cmd, sizeof cmd);
    }
    msgpack_unpacked_destroy (&up);
    msgpack_sbuffer sb;
    if (strcmp (cmd, EXF_CMD_NAME (EVENTS_READ)) == 0)
        pack (&sb, "m{s:s, s:b, s:m{s:a[], s:i}}", 3, "id", id, "ok", 1,
              "result", 2, "events", 0, "last_seq", 0);
    else
        pack (&sb, "m{s:s, s:b, s:m{s:b}}", 3, "id", id, "ok", 1, "result", 1,
              "pong", 1);
    zframe_reset (body, sb.data, sb.size);
    msgpack_sbuffer_destroy (&sb);
    zmsg_send (&msg, router);
}

/* Event seq 1, published every 50 ms: a subscriber that can hear it at all
 * hears it, slow joiner or not. */
static void
publish (zsock_t *pub)
{
    msgpack_sbuffer sb;
    pack (&sb, "m{s:i, s:s, s:s, s:m{}}", 4, "seq", 1, "type",
          EXF_EV_NAME (WORKFLOW_STARTED), "workflow_id", "wf-curve", "data", 0);
    zsock_send (pub, "sb", EXF_EV_NAME (WORKFLOW_STARTED), sb.data, sb.size);
    msgpack_sbuffer_destroy (&sb);
}

static zsock_t *
curve_socket (int type, zcert_t *cert, char *endpoint, size_t cap)
{
    zsock_t *s = zsock_new (type);
    assert_non_null (s);
    if (cert) {
        zcert_apply (cert, s);
        zsock_set_curve_server (s, 1);
    }
    int port = zsock_bind (s, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    snprintf (endpoint, cap, "tcp://127.0.0.1:%d", port);
    return s;
}

static void
server_actor (zsock_t *pipe, void *arg)
{
    zcert_t *cert = zcert_load ((const char *) arg);
    zsock_t *router = curve_socket (ZMQ_ROUTER, cert, srv.commands,
                                    sizeof srv.commands);
    zsock_t *pub = curve_socket (ZMQ_PUB, cert, srv.events, sizeof srv.events);
    zsock_t *plain = curve_socket (ZMQ_ROUTER, NULL, srv.plain, sizeof srv.plain);
    zcert_destroy (&cert);
    zpoller_t *poller = zpoller_new (pipe, router, plain, NULL);
    zsock_signal (pipe, 0);
    int64_t next_publish = 0;
    for (;;) {
        zsock_t *which = zpoller_wait (poller, 50);
        if (which == pipe)
            break;                  /* $TERM */
        if (which == router || which == plain)
            answer (which);
        if (zclock_mono () >= next_publish) {
            publish (pub);
            next_publish = zclock_mono () + 50;
        }
    }
    zpoller_destroy (&poller);
    zsock_destroy (&plain);
    zsock_destroy (&pub);
    zsock_destroy (&router);
}

static int
server_start (void **state)
{
    (void) state;
    keys_make ();
    /* zauth before any bind: a CURVE server without it takes any key. */
    srv.auth = zactor_new (zauth, NULL);
    zstr_sendx (srv.auth, "CURVE", keys.certs, NULL);
    zsock_wait (srv.auth);
    srv.server = zactor_new (server_actor, keys.server);
    return srv.auth && srv.server ? 0 : -1;
}

static int
server_stop (void **state)
{
    (void) state;
    zactor_destroy (&srv.server);
    zactor_destroy (&srv.auth);
    zdir_t *dir = zdir_new (keys.dir, NULL);
    if (dir)
        zdir_remove (dir, true);
    zdir_destroy (&dir);
    return 0;
}

/* ---- the client's side ---- */

static exitflow_options_t
options (const char *cert, const char *server_key)
{
    exitflow_options_t o = exitflow_options_default ();
    o.timeout_ms = TIMEOUT_MS;
    o.retries = 1;
    o.backoff_ms = 50;
    o.poll_interval_ms = 100;
    o.cert = cert;
    o.server_key = server_key;
    return o;
}

/* A ping with these keys; returns the error code, "" on a reply. */
static const char *
ping_with (const char *cert, const char *server_key, int64_t *took)
{
    static exitflow_error_t err;
    exitflow_options_t o = options (cert, server_key);
    exitflow_client_t *c = exitflow_client_new (srv.commands, &o);
    assert_non_null (c);
    int64_t t0 = zclock_mono ();
    exitflow_reply_t *r = exitflow_ping (c, &err);
    if (took)
        *took = zclock_mono () - t0;
    if (r) {
        bool pong = false;
        assert_true (exitflow_obj_bool (exitflow_reply_result (r), "pong", &pong));
        assert_true (pong);
        err.code[0] = '\0';
    }
    exitflow_reply_destroy (&r);
    exitflow_client_destroy (&c);
    return err.code;
}

static void
test_right_keys_get_a_reply (void **state)
{
    (void) state;
    /* The server key as its public certificate file, then as Z85. */
    assert_string_equal (ping_with (keys.client, keys.server, NULL), "");
    assert_string_equal (ping_with (keys.client, keys.server_z85, NULL), "");
}

/* UNREACHABLE like a daemon that is down: 2 attempts of TIMEOUT_MS and one
 * backoff, with some slack, never a hang. */
static void
assert_unreachable (const char *cert, const char *server_key)
{
    int64_t took;
    assert_string_equal (ping_with (cert, server_key, &took), EXITFLOW_UNREACHABLE);
    assert_true (took >= 2 * TIMEOUT_MS);
    assert_true (took < 2 * TIMEOUT_MS + 50 + 700);
}

static void
test_unknown_cert_is_unreachable (void **state)
{
    (void) state;
    assert_unreachable (keys.stranger, keys.server);
}

static void
test_wrong_server_key_is_unreachable (void **state)
{
    (void) state;
    assert_unreachable (keys.client, keys.impostor_z85);
    assert_unreachable (keys.client, keys.impostor);
}

static void
test_no_keys_is_unreachable (void **state)
{
    (void) state;
    assert_unreachable (NULL, NULL);
}

/* The first event within `ms`: 1 with its seq checked, else what next
 * said last (0 or -1). */
static int
first_event (exitflow_subscriber_t *sub, int ms)
{
    int64_t deadline = zclock_mono () + ms;
    int rc = 0;
    while (zclock_mono () < deadline) {
        exitflow_event_t *ev = NULL;
        exitflow_error_t err;
        rc = exitflow_subscriber_next (sub, 100, &ev, &err);
        if (rc == 1) {
            assert_int_equal (exitflow_event_seq (ev), 1);
            assert_string_equal (exitflow_event_workflow_id (ev), "wf-curve");
            exitflow_event_destroy (&ev);
            return 1;
        }
    }
    return rc;
}

static void
test_keyed_subscriber_receives_keyless_does_not (void **state)
{
    (void) state;
    exitflow_options_t o = options (keys.client, keys.server);
    exitflow_subscriber_t *keyed = exitflow_subscriber_new (srv.commands,
                                                            srv.events, 0, NULL, &o);
    assert_non_null (keyed);
    assert_int_equal (first_event (keyed, 3000), 1);
    exitflow_subscriber_destroy (&keyed);

    /* Keyless, with its log reads answered (by the plain ROUTER, which has
     * no events): only the SUB could bring the event, and it brings none. */
    o = options (NULL, NULL);
    exitflow_subscriber_t *keyless = exitflow_subscriber_new (srv.plain,
                                                              srv.events, 0, NULL, &o);
    assert_non_null (keyless);
    assert_int_equal (first_event (keyless, 1500), 0);
    exitflow_subscriber_destroy (&keyless);

    /* A keyless subscriber of the CURVE daemon: its log reads fail too. */
    keyless = exitflow_subscriber_new (srv.commands, srv.events, 0, NULL, &o);
    assert_non_null (keyless);
    assert_int_equal (first_event (keyless, 1000), -1);
    exitflow_subscriber_destroy (&keyless);
}

/* ---- exitflow_options_from_env ---- */

static void
test_from_env_precedence (void **state)
{
    (void) state;
    char cwd[512];
    assert_non_null (getcwd (cwd, sizeof cwd));
    char work[128], vk[160], path[256];
    snprintf (work, sizeof work, "%s/checkout", keys.dir);
    snprintf (vk, sizeof vk, "%s/var/keys", work);
    assert_int_equal (zsys_dir_create ("%s", vk), 0);
    assert_int_equal (chdir (work), 0);
    unsetenv ("EXITFLOW_CERT");
    unsetenv ("EXITFLOW_SERVER_KEY");

    /* Neither anywhere: no CURVE, and that is fine. */
    exitflow_options_t o = exitflow_options_default ();
    assert_null (o.cert);
    assert_null (o.server_key);
    exitflow_options_from_env (&o, "tester");
    assert_null (o.cert);
    assert_null (o.server_key);
    exitflow_error_t err;
    assert_true (exitflow_options_check (&o, &err));

    /* ./var/keys from the working directory, when the files are there. */
    snprintf (path, sizeof path, "%s/tester_secret", vk);
    assert_int_equal (link (keys.client, path), 0);
    snprintf (path, sizeof path, "%s/server", vk);
    assert_int_equal (link (keys.server, path), 0);
    o = exitflow_options_default ();
    exitflow_options_from_env (&o, "tester");
    assert_string_equal (o.cert, "./var/keys/tester_secret");
    assert_string_equal (o.server_key, "./var/keys/server");
    o.timeout_ms = TIMEOUT_MS;
    exitflow_client_t *c = exitflow_client_new (srv.commands, &o);
    assert_non_null (c);
    exitflow_reply_t *r = exitflow_ping (c, &err);
    assert_non_null (r);
    exitflow_reply_destroy (&r);
    exitflow_client_destroy (&c);
    /* No default name: no default cert (the server key is still found). */
    o = exitflow_options_default ();
    exitflow_options_from_env (&o, NULL);
    assert_null (o.cert);
    assert_string_equal (o.server_key, "./var/keys/server");

    /* The environment before ./var/keys; "" counts as unset. */
    setenv ("EXITFLOW_CERT", keys.stranger, 1);
    setenv ("EXITFLOW_SERVER_KEY", "", 1);
    o = exitflow_options_default ();
    exitflow_options_from_env (&o, "tester");
    assert_string_equal (o.cert, keys.stranger);
    assert_string_equal (o.server_key, "./var/keys/server");

    /* A field the caller set before (a flag, a config key) stays. */
    setenv ("EXITFLOW_SERVER_KEY", keys.impostor_z85, 1);
    o = exitflow_options_default ();
    o.cert = keys.client;
    exitflow_options_from_env (&o, "tester");
    assert_string_equal (o.cert, keys.client);
    assert_string_equal (o.server_key, keys.impostor_z85);
    o.server_key = keys.server_z85;
    exitflow_options_from_env (&o, "tester");
    assert_string_equal (o.server_key, keys.server_z85);

    unsetenv ("EXITFLOW_CERT");
    unsetenv ("EXITFLOW_SERVER_KEY");
    assert_int_equal (chdir (cwd), 0);
}

/* ---- unusable keys ---- */

/* Refused by the check with `field` and `needle` in the message, and by
 * both constructors with EINVAL. */
static void
assert_refused (const char *cert, const char *server_key, const char *field,
                const char *needle)
{
    exitflow_options_t o = options (cert, server_key);
    exitflow_error_t err;
    assert_false (exitflow_options_check (&o, &err));
    assert_string_equal (err.code, EXITFLOW_BAD_REQUEST);
    assert_string_equal (err.field, field);
    if (!strstr (err.message, needle))
        fail_msg ("'%s' does not name '%s'", err.message, needle);
    errno = 0;
    assert_null (exitflow_client_new (srv.commands, &o));
    assert_int_equal (errno, EINVAL);
    errno = 0;
    assert_null (exitflow_subscriber_new (srv.commands, srv.events, 0, NULL, &o));
    assert_int_equal (errno, EINVAL);
}

static void
test_unusable_keys_are_refused (void **state)
{
    (void) state;
    /* Exactly one of the two: the missing one is named. */
    assert_refused (keys.client, NULL, "server_key", "server key");
    assert_refused (NULL, keys.server, "cert", "client certificate");
    assert_refused ("", keys.server_z85, "cert", "client certificate");

    char broken[128], garbage[128], missing[128], public_only[160];
    snprintf (broken, sizeof broken, "%s/broken_secret", keys.dir);
    write_file (broken, "curve\n    public-key = \"tooshort\"\n");
    assert_refused (broken, keys.server, "cert", broken);
    /* Not ZPL at all (czmq's zcert_load would leak here; ASan watches). */
    snprintf (garbage, sizeof garbage, "%s/garbage_secret", keys.dir);
    write_file (garbage, "not a certificate\n");
    assert_refused (garbage, keys.server, "cert", garbage);
    assert_refused (keys.client, garbage, "server_key", garbage);
    snprintf (missing, sizeof missing, "%s/no-such-cert", keys.dir);
    assert_refused (missing, keys.server, "cert", missing);
    /* A public certificate alone has no secret key to sign with. */
    snprintf (public_only, sizeof public_only, "%s/certs/client", keys.dir);
    assert_refused (public_only, keys.server, "cert", "no secret key");

    assert_refused (keys.client, broken, "server_key", broken);
    assert_refused (keys.client, "not-a-key-nor-a-file", "server_key",
                    "not-a-key-nor-a-file");
    /* 40 characters, but not Z85 (no file either). */
    assert_refused (keys.client, "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~",
                    "server_key", "Z85");

    exitflow_options_t o = options (keys.client, keys.server);
    exitflow_error_t err;
    assert_true (exitflow_options_check (&o, &err));
    assert_true (exitflow_options_check (NULL, &err));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_right_keys_get_a_reply),
        cmocka_unit_test (test_unknown_cert_is_unreachable),
        cmocka_unit_test (test_wrong_server_key_is_unreachable),
        cmocka_unit_test (test_no_keys_is_unreachable),
        cmocka_unit_test (test_keyed_subscriber_receives_keyless_does_not),
        cmocka_unit_test (test_from_env_precedence),
        cmocka_unit_test (test_unusable_keys_are_refused),
    };
    const char *filter = getenv ("TEST_FILTER");
    if (filter && *filter)
        cmocka_set_test_filter (filter);
    return cmocka_run_group_tests (tests, server_start, server_stop);
}
