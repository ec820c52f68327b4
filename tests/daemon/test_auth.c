/* Unit tests for daemon/auth.c on real CURVE sockets: czmq certificates in
 * a temp dir, zauth, a ROUTER made a CURVE server by auth_apply_server and
 * DEALER clients with their own keys. What the daemon learns of a caller is
 * what arrives on the wire (the frame's User-Id), looked up in the
 * certificate directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/auth.h"

static char dir[64];                /* the test's temp dir */
static char certs[96], server_path[96];

static zcert_t *
make_cert (const char *name, const char *role)
{
    zcert_t *cert = zcert_new ();
    if (name)
        zcert_set_meta (cert, "name", "%s", name);
    if (role)
        zcert_set_meta (cert, "role", "%s", role);
    return cert;
}

/* Puts the public half of `cert` in the certificate directory as `file`. */
static void
install (zcert_t *cert, const char *file)
{
    char path[160];
    snprintf (path, sizeof path, "%s/%s", certs, file);
    assert_int_equal (zcert_save_public (cert, path), 0);
}

static void
uninstall (const char *file)
{
    char path[160];
    snprintf (path, sizeof path, "%s/%s", certs, file);
    assert_int_equal (unlink (path), 0);
}

static int
setup (void **state)
{
    (void) state;
    snprintf (dir, sizeof dir, "/tmp/exitflow-auth-XXXXXX");
    assert_non_null (mkdtemp (dir));
    snprintf (certs, sizeof certs, "%s/certs", dir);
    assert_int_equal (zsys_dir_create ("%s", certs), 0);
    snprintf (server_path, sizeof server_path, "%s/server", dir);
    zcert_t *server = zcert_new ();
    assert_int_equal (zcert_save (server, server_path), 0);
    zcert_destroy (&server);
    return 0;
}

static int
teardown (void **state)
{
    (void) state;
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal (system (cmd), 0);
    return 0;
}

/* A CURVE ROUTER on a free loopback port under `auth`. */
static zsock_t *
server_socket (auth_t *auth, char endpoint[64])
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    auth_apply_server (auth, sock);
    int port = zsock_bind (sock, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    snprintf (endpoint, 64, "tcp://127.0.0.1:%d", port);
    zsock_set_rcvtimeo (sock, 2000);
    return sock;
}

/* A DEALER holding `cert`, connected to `endpoint` with the server's key. */
static zsock_t *
client_socket (zcert_t *cert, const char *endpoint)
{
    zcert_t *server = zcert_load (server_path);
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    zcert_apply (cert, sock);
    zsock_set_curve_serverkey (sock, zcert_public_txt (server));
    zsock_connect (sock, "%s", endpoint);
    zcert_destroy (&server);
    return sock;
}

/* Sends one frame from `client`; the User-Id of what `server` receives,
 * or "" when nothing arrived in time. */
static const char *
user_id_of_next (zsock_t *client, zsock_t *server)
{
    static char uid[64];
    zstr_send (client, "hello");
    zmq_msg_t frames[2];
    zmq_msg_init (&frames[0]);
    zmq_msg_init (&frames[1]);
    uid[0] = '\0';
    void *s = zsock_resolve (server);
    if (zmq_msg_recv (&frames[0], s, 0) >= 0
        && zmq_msg_recv (&frames[1], s, 0) >= 0) {
        const char *got = zmq_msg_gets (&frames[1], "User-Id");
        snprintf (uid, sizeof uid, "%s", got ? got : "");
    }
    zmq_msg_close (&frames[0]);
    zmq_msg_close (&frames[1]);
    return uid;
}

static void
test_local_mode (void **state)
{
    (void) state;
    char why[256];
    auth_t *auth = auth_new (NULL, NULL, why, sizeof why);
    assert_non_null (auth);
    assert_true (auth_is_local (auth));
    caller_t c;
    assert_true (auth_caller (auth, NULL, 0, &c));
    assert_string_equal (c.name, "local");
    assert_int_equal (c.role, EXF_ROLE_ADMIN);
    assert_true (auth_endpoint_allowed (auth, "tcp://127.0.0.1:5570", why,
                                        sizeof why));
    assert_true (auth_endpoint_allowed (auth, "tcp://localhost:1", why,
                                        sizeof why));
    assert_true (auth_endpoint_allowed (auth, "tcp://[::1]:1", why,
                                        sizeof why));
    assert_true (auth_endpoint_allowed (auth, "ipc:///tmp/x", why,
                                        sizeof why));
    static const char *const open_ones[] = {
        "tcp://0.0.0.0:5570", "tcp://*:5570", "tcp://10.1.2.3:5570",
        "tcp://eth0:5570", "pgm://239.192.1.1:5555" };
    for (size_t i = 0; i < sizeof open_ones / sizeof *open_ones; i++) {
        why[0] = '\0';
        assert_false (auth_endpoint_allowed (auth, open_ones[i], why,
                                             sizeof why));
        assert_non_null (strstr (why, "--certs"));
    }
    assert_false (auth_keys_revoked (auth));
    auth_destroy (&auth);
    assert_null (auth);
}

/* 127.x is a loopback address only as an address: a host name that merely
 * begins with "127." is not one. */
static void
test_loopback_by_name (void **state)
{
    (void) state;
    char why[256];
    auth_t *auth = auth_new (NULL, NULL, why, sizeof why);
    assert_false (auth_endpoint_allowed (auth,
                                         "tcp://127.0.0.1.evil.example:5570",
                                         why, sizeof why));
    assert_false (auth_endpoint_allowed (auth, "tcp://127.0.0.1x:5570", why,
                                         sizeof why));
    assert_true (auth_endpoint_allowed (auth, "tcp://127.8.9.10:5570", why,
                                        sizeof why));
    auth_destroy (&auth);
}

static void
test_bad_set_ups (void **state)
{
    (void) state;
    char why[256];
    assert_null (auth_new (certs, NULL, why, sizeof why));
    assert_non_null (strstr (why, "--server-cert"));
    assert_null (auth_new (NULL, server_path, why, sizeof why));
    assert_non_null (strstr (why, "--certs"));
    char missing[160];
    snprintf (missing, sizeof missing, "%s/none", dir);
    assert_null (auth_new (missing, server_path, why, sizeof why));
    assert_non_null (strstr (why, "not a directory"));
    /* the public half alone is not the server's certificate */
    char public_only[160];
    snprintf (public_only, sizeof public_only, "%s/pub", dir);
    zcert_t *c = zcert_new ();
    assert_int_equal (zcert_save_public (c, public_only), 0);
    zcert_destroy (&c);
    assert_null (auth_new (certs, public_only, why, sizeof why));
    assert_non_null (strstr (why, "secret"));
}

/* A known key is served as its certificate's name and role; deleting the
 * file revokes it within a second, on the connection already open. */
static void
test_caller_and_revocation (void **state)
{
    (void) state;
    zcert_t *ops = make_cert ("night-ops", "ops");
    install (ops, "night-ops");
    char why[256], endpoint[64];
    auth_t *auth = auth_new (certs, server_path, why, sizeof why);
    assert_true (auth && auth_start (auth, why, sizeof why));
    assert_non_null (auth);
    assert_false (auth_is_local (auth));
    zsock_t *server = server_socket (auth, endpoint);
    zsock_t *client = client_socket (ops, endpoint);
    const char *uid = user_id_of_next (client, server);
    assert_string_equal (uid, zcert_public_txt (ops));
    caller_t c;
    int64_t t = 1000000;
    assert_true (auth_caller (auth, uid, t, &c));
    assert_string_equal (c.name, "night-ops");
    assert_int_equal (c.role, EXF_ROLE_OPS);
    assert_false (auth_keys_revoked (auth));

    uninstall ("night-ops");
    assert_true (auth_keys_revoked (auth));
    assert_false (auth_keys_revoked (auth));     /* reported once */
    assert_true (auth_caller (auth, uid, t + 500, &c));   /* cached */
    assert_false (auth_caller (auth, uid, t + 1000, &c));
    /* the open connection still delivers; the daemon drops what it sends */
    assert_string_equal (user_id_of_next (client, server), uid);
    zsock_destroy (&client);
    auth_destroy (&auth);
    zsock_destroy (&server);
    zcert_destroy (&ops);
}

/* zauth: a key without a certificate in the directory never gets through,
 * and a certificate added later is served without a restart. */
static void
test_unknown_key_then_added (void **state)
{
    (void) state;
    char why[256], endpoint[64];
    auth_t *auth = auth_new (certs, server_path, why, sizeof why);
    assert_true (auth && auth_start (auth, why, sizeof why));
    zsock_t *server = server_socket (auth, endpoint);
    zsock_set_rcvtimeo (server, 500);
    zcert_t *eve = make_cert ("eve", "admin");
    zsock_t *client = client_socket (eve, endpoint);
    assert_string_equal (user_id_of_next (client, server), "");
    caller_t c;
    assert_false (auth_caller (auth, zcert_public_txt (eve), 0, &c));
    install (eve, "eve");
    zsock_destroy (&client);
    zsock_set_rcvtimeo (server, 2000);
    client = client_socket (eve, endpoint);
    const char *uid = user_id_of_next (client, server);
    assert_string_equal (uid, zcert_public_txt (eve));
    assert_true (auth_caller (auth, uid, 5000, &c));    /* re-checked */
    assert_int_equal (c.role, EXF_ROLE_ADMIN);
    zsock_destroy (&client);
    auth_destroy (&auth);
    zsock_destroy (&server);
    zcert_destroy (&eve);
}

/* A certificate must say who (name) and what (a known role). */
static void
test_certificate_needs_name_and_role (void **state)
{
    (void) state;
    zcert_t *no_role = make_cert ("x", NULL);
    zcert_t *bad_role = make_cert ("y", "root");
    zcert_t *no_name = make_cert (NULL, "ops");
    install (no_role, "x");
    install (bad_role, "y");
    install (no_name, "z");
    char why[256];
    auth_t *auth = auth_new (certs, server_path, why, sizeof why);
    assert_true (auth && auth_start (auth, why, sizeof why));
    caller_t c;
    assert_false (auth_caller (auth, zcert_public_txt (no_role), 0, &c));
    assert_false (auth_caller (auth, zcert_public_txt (bad_role), 0, &c));
    assert_false (auth_caller (auth, zcert_public_txt (no_name), 0, &c));
    assert_false (auth_caller (auth, NULL, 0, &c));
    assert_false (auth_caller (auth, "", 0, &c));
    auth_destroy (&auth);
    zcert_destroy (&no_role);
    zcert_destroy (&bad_role);
    zcert_destroy (&no_name);
}

#define T(f) cmocka_unit_test_setup_teardown (f, setup, teardown)

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (NULL);
    const struct CMUnitTest tests[] = {
        T (test_local_mode),
        T (test_loopback_by_name),
        T (test_bad_set_ups),
        T (test_caller_and_revocation),
        T (test_unknown_key_then_added),
        T (test_certificate_needs_name_and_role),
    };
    int failed = cmocka_run_group_tests_name ("auth", tests, NULL, NULL);
    zsys_shutdown ();
    return failed;
}
