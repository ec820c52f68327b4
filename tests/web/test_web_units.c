/* test_web_units — exitflow-web's modules that need no daemon: the
 * session table, the sign-in rate limits, the JSON limits, the pages'
 * path rules, the users file, a live stream's end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "clients/jsonpack.h"
#include "clients/web/live.h"
#include "clients/web/ratelimit.h"
#include "clients/web/sessions.h"
#include "clients/web/static.h"
#include "clients/web/users.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
sessions_are_random_bounded_and_least_recently_used_go (void **state)
{
    (void) state;
    sessions_t *t = sessions_new (2, 2, 3600, 3600);
    session_t a, b, c, got;
    assert_true (sessions_create (t, "cw1", ROLE_CASEWORKER, 1, &a));
    assert_true (sessions_create (t, "ops1", ROLE_OPS, 1, &b));
    assert_int_equal (strlen (a.id), SESSION_TOKEN_LEN);
    assert_string_not_equal (a.id, b.id);
    assert_string_not_equal (a.id, a.csrf);
    assert_true (sessions_lookup (t, a.id, &got));
    assert_string_equal (got.user, "cw1");
    assert_int_equal (got.role, ROLE_CASEWORKER);
    /* the table is full: the least recently used goes (a was used last
     * in the same second, so b and a tie; the first found goes) */
    assert_true (sessions_create (t, "cw2", ROLE_CASEWORKER, 1, &c));
    int alive = sessions_alive (t, a.id) + sessions_alive (t, b.id);
    assert_int_equal (alive, 1);
    assert_true (sessions_alive (t, c.id));
    sessions_remove (t, c.id);
    assert_false (sessions_lookup (t, c.id, &got));
    assert_false (sessions_lookup (t, "short", &got));
    assert_false (sessions_lookup (t, NULL, &got));
    char wrong[SESSION_TOKEN_LEN + 1];
    memcpy (wrong, b.id, sizeof wrong);
    wrong[10] = wrong[10] == 'A' ? 'B' : 'A';
    assert_false (sessions_lookup (t, wrong, &got));
    assert_true (sessions_token_equal (a.csrf, a.csrf));
    assert_false (sessions_token_equal (a.csrf, b.csrf));
    assert_false (sessions_token_equal (a.csrf, NULL));
    sessions_destroy (&t);
    assert_null (t);
}

static void
sessions_expire_when_idle (void **state)
{
    (void) state;
    sessions_t *t = sessions_new (4, 4, 0, 3600);    /* idle past 0 s: gone */
    session_t a, got;
    assert_true (sessions_create (t, "cw1", ROLE_CASEWORKER, 1, &a));
    sleep (2);
    assert_false (sessions_alive (t, a.id));
    assert_false (sessions_lookup (t, a.id, &got));
    sessions_destroy (&t);
    /* used all the time, but older than its maximum age: gone as well */
    t = sessions_new (4, 4, 3600, 2);
    assert_true (sessions_create (t, "cw1", ROLE_CASEWORKER, 1, &a));
    for (int i = 0; i < 4; i++) {
        sleep (1);
        sessions_lookup (t, a.id, &got);
    }
    assert_false (sessions_lookup (t, a.id, &got));
    sessions_destroy (&t);
}

static void
sessions_one_user_pushes_out_only_its_own (void **state)
{
    (void) state;
    /* room for 8, at most 2 a user: cw1 signing in again and again
     * keeps ops1's session and its own newest two */
    sessions_t *t = sessions_new (8, 2, 3600, 3600);
    session_t other, mine[5], got;
    assert_true (sessions_create (t, "ops1", ROLE_OPS, 7, &other));
    for (int i = 0; i < 5; i++)
        assert_true (sessions_create (t, "cw1", ROLE_CASEWORKER, 9, &mine[i]));
    assert_true (sessions_lookup (t, other.id, &got));
    assert_int_equal (got.stamp, 7);
    int alive = 0;
    for (int i = 0; i < 5; i++)
        alive += sessions_alive (t, mine[i].id);
    assert_int_equal (alive, 2);
    /* live streams: a bounded number per session, given back on close */
    assert_true (sessions_stream_take (t, other.id, 2));
    assert_true (sessions_stream_take (t, other.id, 2));
    assert_false (sessions_stream_take (t, other.id, 2));
    sessions_stream_give (t, other.id);
    assert_true (sessions_stream_take (t, other.id, 2));
    sessions_remove (t, other.id);
    assert_false (sessions_stream_take (t, other.id, 2));
    sessions_stream_give (t, other.id);             /* gone: nothing */
    sessions_destroy (&t);
}

static void
ratelimit_counts_failures_per_key_in_a_bounded_table (void **state)
{
    (void) state;
    ratelimit_t *r = ratelimit_new (2, 2, 300);
    assert_int_equal (ratelimit_take (r, "cw1"), 0);
    assert_int_equal (ratelimit_take (r, "cw1"), 0);
    /* two attempts taken, neither answered yet: the third waits — parallel
     * attempts cannot all pass before the first of them fails */
    int64_t wait = ratelimit_take (r, "cw1");
    assert_true (wait > 0 && wait <= 300);
    /* one of them succeeded after all */
    ratelimit_refund (r, "cw1");
    assert_int_equal (ratelimit_take (r, "cw1"), 0);
    assert_true (ratelimit_take (r, "cw1") > 0);
    assert_int_equal (ratelimit_take (r, "cw2"), 0);
    ratelimit_clear (r, "cw1");
    assert_int_equal (ratelimit_take (r, "cw1"), 0);
    ratelimit_destroy (&r);
    /* full: one-off keys push out one another, never a key at its limit */
    ratelimit_t *f = ratelimit_new (3, 2, 300);
    ratelimit_take (f, "victim");
    ratelimit_take (f, "victim");
    char key[24];
    for (int i = 0; i < 50; i++) {
        snprintf (key, sizeof key, "guess%d", i);
        ratelimit_take (f, key);
    }
    assert_true (ratelimit_take (f, "victim") > 0);
    ratelimit_destroy (&f);
    ratelimit_t *w = ratelimit_new (4, 1, 1);
    ratelimit_take (w, "x");
    assert_true (ratelimit_take (w, "x") > 0);
    sleep (2);
    assert_int_equal (ratelimit_take (w, "x"), 0);   /* the window passed */
    ratelimit_destroy (&w);
}

static void
address_key (const char *text, char *out, size_t cap)
{
    struct sockaddr_storage ss = { 0 };
    if (strchr (text, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;
        a->sin6_family = AF_INET6;
        assert_int_equal (inet_pton (AF_INET6, text, &a->sin6_addr), 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *) &ss;
        a->sin_family = AF_INET;
        assert_int_equal (inet_pton (AF_INET, text, &a->sin_addr), 1);
    }
    ratelimit_address_key ((struct sockaddr *) &ss, out, cap);
}

static void
ratelimit_counts_an_ipv6_network_as_one_address (void **state)
{
    (void) state;
    /* each row: two addresses of one key (shown first), and one of another */
    static const char *const rows[][4] = {
        { "2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe",
          "2001:db8:1:3::1", "2001:db8:1:2::/64" },
        { "192.0.2.7", "::ffff:192.0.2.7", "192.0.2.8", "192.0.2.7" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        char a[64], b[64], c[64];
        address_key (rows[i][0], a, sizeof a);
        address_key (rows[i][1], b, sizeof b);
        address_key (rows[i][2], c, sizeof c);
        assert_string_equal (a, rows[i][3]);
        assert_string_equal (a, b);
        assert_string_not_equal (a, c);
    }
    char none[8];
    ratelimit_address_key (NULL, none, sizeof none);
    assert_string_equal (none, "?");
}

typedef struct {
    live_stream_t *stream;
    volatile bool allowed;
    size_t got;
} reader_t;

static bool
reader_allowed (void *cls)
{
    return ((reader_t *) cls)->allowed;
}

static void *
reader_run (void *arg)
{
    reader_t *r = arg;
    char buf[256];
    r->got = live_read (r->stream, buf, sizeof buf, reader_allowed, r);
    return NULL;
}

static void
a_live_stream_ends_when_its_reader_may_no_longer_read (void **state)
{
    (void) state;
    /* no feed (never started): the stream waits for events or the
     * heartbeat (2 s); its session ending must end it, not a heartbeat */
    live_t *live = live_new (NULL, 8, 2, 4, 2);
    reader_t r = { .stream = live_open (live, false, 0, NULL), .allowed = true };
    assert_non_null (r.stream);
    char buf[256];
    size_t n = live_read (r.stream, buf, sizeof buf, reader_allowed, &r);
    assert_true (n > 0 && strncmp (buf, "retry:", 6) == 0);   /* its opening */
    pthread_t t;
    assert_int_equal (pthread_create (&t, NULL, reader_run, &r), 0);
    usleep (200 * 1000);
    r.allowed = false;
    live_kick (live);
    pthread_join (t, NULL);
    assert_int_equal (r.got, 0);
    live_close (r.stream);
    live_destroy (&live);
}

static json_t *
parse (const char *text, char *why)
{
    return jsonpack_parse_object (text, strlen (text), why, 128);
}

static void
jsonpack_keeps_the_protocols_limits (void **state)
{
    (void) state;
    char why[128];
    json_t *j = parse ("{\"a\": [1, 2.5, \"x\", null, true]}", why);
    assert_non_null (j);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    jsonpack_pack (&pk, j);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    assert_int_equal (msgpack_unpack_next (&u, sb.data, sb.size, NULL),
                      MSGPACK_UNPACK_SUCCESS);
    json_t *back = jsonpack_from_msgpack (&u.data);
    assert_true (json_equal (j, back));
    /* integers stay integers */
    assert_true (json_is_integer (json_array_get (json_object_get (back, "a"), 0)));
    json_decref (back);
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&sb);
    json_decref (j);

    assert_null (parse ("[1]", why));
    assert_non_null (strstr (why, "object"));
    assert_null (parse ("{\"a\": 1, \"a\": 2}", why));
    assert_null (parse ("{\"a\": ", why));
    char deep[200] = "";
    for (int i = 0; i < 33; i++)
        strcat (deep, "{\"a\":");
    strcat (deep, "1");
    for (int i = 0; i < 33; i++)
        strcat (deep, "}");
    assert_null (parse (deep, why));
    assert_non_null (strstr (why, "deeper"));
    char ok[200] = "";
    for (int i = 0; i < 31; i++)
        strcat (ok, "{\"a\":");
    strcat (ok, "1");
    for (int i = 0; i < 31; i++)
        strcat (ok, "}");
    json_t *fine = parse (ok, why);
    assert_non_null (fine);
    json_decref (fine);
}

static void
jsonpack_repairs_bytes_that_are_not_utf8 (void **state)
{
    (void) state;
    msgpack_object o = { .type = MSGPACK_OBJECT_BIN };
    o.via.bin.ptr = "a\xff" "b";
    o.via.bin.size = 3;
    json_t *j = jsonpack_from_msgpack (&o);
    assert_string_equal (json_string_value (j), "a\xef\xbf\xbd" "b");
    json_decref (j);
}

static char root[] = "/tmp/exitflow-web-units.XXXXXX";

static void
write_file (const char *rel, const char *text)
{
    char path[256];
    snprintf (path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fputs (text, f);
    fclose (f);
}

static unsigned
status_of (static_files_t *s, const char *url)
{
    unsigned status;
    struct MHD_Response *r = static_response (s, url, &status);
    if (r)
        MHD_destroy_response (r);
    return status;
}

static void
static_serves_only_what_is_inside (void **state)
{
    (void) state;
    assert_non_null (mkdtemp (root));
    char dir[256], path[256];
    snprintf (dir, sizeof dir, "%s/static", root);
    mkdir (dir, 0700);
    snprintf (path, sizeof path, "%s/static/sub", root);
    mkdir (path, 0700);
    write_file ("secret.txt", "no");
    write_file ("static/index.html", "<p>");
    write_file ("static/sub/a.js", "1");
    write_file ("static/.env.txt", "no");
    snprintf (path, sizeof path, "%s/static/out.txt", root);
    char target[256];
    snprintf (target, sizeof target, "%s/secret.txt", root);
    assert_int_equal (symlink (target, path), 0);
    char why[128];
    static_files_t *s = static_new (dir, why, sizeof why);
    assert_non_null (s);
    assert_int_equal (status_of (s, "/"), 200);
    assert_int_equal (status_of (s, "/static/index.html"), 200);
    assert_int_equal (status_of (s, "/static/sub/a.js"), 200);
    static const char *const refused[] = {
        "/static/../secret.txt", "/static/sub/../../secret.txt",
        "/static/.env.txt", "/static/out.txt", "/static//sub/a.js",
        "/static/sub/", "/static/", "/static/sub", "/static/a b.js",
        "/static/sub/a.js/..", "/static/x.exe",
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        assert_int_equal (status_of (s, refused[i]), 404);
    assert_true (static_owns ("/"));
    assert_false (static_owns ("/secret.txt"));
    static_destroy (&s);
    assert_null (static_new ("/nonexistent-dir", why, sizeof why));
}

static void
users_file_lines_are_checked (void **state)
{
    (void) state;
    char path[256], why[160];
    snprintf (path, sizeof path, "%s/users", root);
    FILE *f = fopen (path, "w");
    fputs ("# users\n\ncw1:caseworker:$y$j9T$F5Jx5fExrKuJdjUQwjPVv/$x\n", f);
    fclose (f);
    users_t *u = users_new (path, why, sizeof why);
    assert_non_null (u);
    assert_int_equal (users_count (u), 1);
    uint64_t stamp = 5;
    assert_int_equal (users_verify (u, "cw1", "wrong", &stamp), ROLE_NONE);
    assert_int_equal (stamp, 0);
    assert_int_equal (users_verify (u, "nobody", "wrong", NULL), ROLE_NONE);
    /* the stamp a session keeps: another password or role is another one,
     * a name taken out of the file has none */
    uint64_t first = users_stamp (u, "cw1");
    assert_true (first != 0);
    assert_int_equal (users_stamp (u, "nobody"), 0);
    static const char *const changes[] = {
        "cw1:caseworker:$y$j9T$F5Jx5fExrKuJdjUQwjPVv/$xy\n",
        "cw1:ops:$y$j9T$F5Jx5fExrKuJdjUQwjPVv/$x\n",
        "# nobody\ncw2:caseworker:$y$j9T$F5Jx5fExrKuJdjUQwjPVv/$x\n",
    };
    for (size_t i = 0; i < sizeof changes / sizeof *changes; i++) {
        f = fopen (path, "w");
        fputs (changes[i], f);
        fclose (f);
        uint64_t now = users_stamp (u, "cw1");
        assert_true (now != first);
        assert_int_equal (now == 0, i == 2);
    }
    users_destroy (&u);
    static const char *const bad[] = {
        "cw1:admin:$y$x\n", "cw 1:ops:$y$x\n", "cw1:ops:\n", "cw1:ops\n",
        "cw1:ops:$y$x\ncw1:caseworker:$y$x\n", "cw1:ops:plain\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        f = fopen (path, "w");
        fputs (bad[i], f);
        fclose (f);
        assert_null (users_new (path, why, sizeof why));
        assert_non_null (strstr (why, "line"));
        assert_null (strstr (why, "$y$"));          /* never the hash */
    }
    assert_true (user_name_valid ("dana.k@coc"));
    assert_false (user_name_valid (""));
    assert_false (user_name_valid ("a:b"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (sessions_are_random_bounded_and_least_recently_used_go),
        cmocka_unit_test (sessions_expire_when_idle),
        cmocka_unit_test (sessions_one_user_pushes_out_only_its_own),
        cmocka_unit_test (ratelimit_counts_failures_per_key_in_a_bounded_table),
        cmocka_unit_test (ratelimit_counts_an_ipv6_network_as_one_address),
        cmocka_unit_test (a_live_stream_ends_when_its_reader_may_no_longer_read),
        cmocka_unit_test (jsonpack_keeps_the_protocols_limits),
        cmocka_unit_test (jsonpack_repairs_bytes_that_are_not_utf8),
        cmocka_unit_test (static_serves_only_what_is_inside),
        cmocka_unit_test (users_file_lines_are_checked),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    char cmd[300];
    snprintf (cmd, sizeof cmd, "rm -rf %s", root);
    if (root[strlen (root) - 1] != 'X' && system (cmd) != 0)
        failed++;
    return failed;
}
