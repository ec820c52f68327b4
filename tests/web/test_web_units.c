/* test_web_units — exitflow-web's modules that need no daemon: the
 * session table, the sign-in rate limits, the JSON limits, the pages'
 * path rules, the users file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "clients/jsonpack.h"
#include "clients/web/ratelimit.h"
#include "clients/web/sessions.h"
#include "clients/web/static.h"
#include "clients/web/users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
sessions_are_random_bounded_and_least_recently_used_go (void **state)
{
    (void) state;
    sessions_t *t = sessions_new (2, 3600);
    session_t a, b, c, got;
    assert_true (sessions_create (t, "cw1", ROLE_CASEWORKER, &a));
    assert_true (sessions_create (t, "ops1", ROLE_OPS, &b));
    assert_int_equal (strlen (a.id), SESSION_TOKEN_LEN);
    assert_string_not_equal (a.id, b.id);
    assert_string_not_equal (a.id, a.csrf);
    assert_true (sessions_lookup (t, a.id, &got));
    assert_string_equal (got.user, "cw1");
    assert_int_equal (got.role, ROLE_CASEWORKER);
    /* the table is full: the least recently used goes (a was used last
     * in the same second, so b and a tie; the first found goes) */
    assert_true (sessions_create (t, "cw2", ROLE_CASEWORKER, &c));
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
    sessions_t *t = sessions_new (4, 0);    /* idle past 0 s: gone */
    session_t a, got;
    assert_true (sessions_create (t, "cw1", ROLE_CASEWORKER, &a));
    sleep (2);
    assert_false (sessions_alive (t, a.id));
    assert_false (sessions_lookup (t, a.id, &got));
    sessions_destroy (&t);
}

static void
ratelimit_counts_failures_per_key_in_a_bounded_table (void **state)
{
    (void) state;
    ratelimit_t *r = ratelimit_new (2, 2, 300);
    assert_int_equal (ratelimit_wait (r, "cw1"), 0);
    ratelimit_fail (r, "cw1");
    assert_int_equal (ratelimit_wait (r, "cw1"), 0);
    ratelimit_fail (r, "cw1");
    int64_t wait = ratelimit_wait (r, "cw1");
    assert_true (wait > 0 && wait <= 300);
    assert_int_equal (ratelimit_wait (r, "cw2"), 0);
    ratelimit_clear (r, "cw1");
    assert_int_equal (ratelimit_wait (r, "cw1"), 0);
    /* full: a new key pushes out the one whose window began first */
    ratelimit_fail (r, "a");
    ratelimit_fail (r, "a");
    ratelimit_fail (r, "b");
    ratelimit_fail (r, "c");
    assert_int_equal (ratelimit_wait (r, "a"), 0);
    ratelimit_destroy (&r);
    ratelimit_t *w = ratelimit_new (4, 1, 1);
    ratelimit_fail (w, "x");
    assert_true (ratelimit_wait (w, "x") > 0);
    sleep (2);
    assert_int_equal (ratelimit_wait (w, "x"), 0);   /* the window passed */
    ratelimit_destroy (&w);
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
    assert_int_equal (users_verify (u, "cw1", "wrong"), ROLE_NONE);
    assert_int_equal (users_verify (u, "nobody", "wrong"), ROLE_NONE);
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
        cmocka_unit_test (ratelimit_counts_failures_per_key_in_a_bounded_table),
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
