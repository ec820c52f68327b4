/* test_setup — protocol/setup.c: which endpoints a program may use, and
 * which files are configuration text. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/setup.h"

static void
endpoints (void **state)
{
    (void) state;
    char why[256];
    assert_true (setup_endpoint_valid ("tcp://127.0.0.1:5570", false, why,
                                       sizeof why));
    assert_true (setup_endpoint_valid ("tcp://[::1]:1", false, why,
                                       sizeof why));
    assert_true (setup_endpoint_valid ("ipc:///run/x", false, why, sizeof why));
    assert_true (setup_endpoint_valid ("inproc://x", false, why, sizeof why));
    assert_true (setup_endpoint_valid ("tcp://*:*", true, why, sizeof why));
    assert_false (setup_endpoint_valid ("tcp://*:*", false, why, sizeof why));
    assert_non_null (strstr (why, "port must be 1 to 65535"));
    static const char *const bad[] = {
        "tcp://127.0.0.1:99999", "tcp://127.0.0.1:0", "tcp://h:-1",
        "tcp://h:http", "tcp://127.0.0.1", "udp://h:1", "ipc://", "", "tcp://:5" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (setup_endpoint_valid (bad[i], true, why, sizeof why))
            fail_msg ("accepted %s", bad[i]);
    assert_false (setup_endpoint_valid (NULL, false, why, sizeof why));
}

static void
config_text (void **state)
{
    (void) state;
    char why[256], path[] = "/tmp/exitflow-setup-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, "a\n    b = 1\n", 12), 12);
    close (fd);
    char *text = setup_read_text (path, why, sizeof why);
    assert_string_equal (text, "a\n    b = 1\n");
    free (text);
    FILE *f = fopen (path, "wb");
    fwrite ("a\0b", 1, 3, f);
    fclose (f);
    assert_null (setup_read_text (path, why, sizeof why));
    assert_string_equal (why, "not a text file (ZPL, UTF-8)");
    f = fopen (path, "wb");
    fwrite ("caf\xe9", 1, 4, f);             /* Latin-1, not UTF-8 */
    fclose (f);
    assert_null (setup_read_text (path, why, sizeof why));
    unlink (path);
    assert_null (setup_read_text (path, why, sizeof why));
    assert_non_null (strstr (why, "No such file"));
    assert_null (setup_read_text ("/tmp", why, sizeof why));
    assert_non_null (strstr (why, "not a regular file"));
    assert_null (setup_read_text ("/dev/zero", why, sizeof why));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (endpoints),
        cmocka_unit_test (config_text),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
