/* Unit tests for daemon/log.c: a kind of line is written at most
 * LOG_LIMIT_PER_SECOND times a second, and what was held back is counted
 * in one line when the second is over. stderr goes to a temp file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/log.h"

static char path[64];

/* Lines of stderr so far that contain `needle`. */
static int
count_lines (const char *needle)
{
    fflush (stderr);
    FILE *f = fopen (path, "r");
    assert_non_null (f);
    char line[512];
    int n = 0;
    while (fgets (line, sizeof line, f))
        n += strstr (line, needle) != NULL;
    fclose (f);
    return n;
}

static void
test_a_flood_is_cut_to_the_limit (void **state)
{
    (void) state;
    int64_t t = 7000;                        /* a second starts */
    for (int i = 0; i < 10000; i++)
        log_limited (LOG_ENVELOPE, t + i % 900, "warn", "dropped one");
    assert_int_equal (count_lines ("dropped one"), LOG_LIMIT_PER_SECOND);
    assert_int_equal (count_lines ("suppressed"), 0);
    /* another kind has its own share */
    for (int i = 0; i < 50; i++)
        log_limited (LOG_STORAGE, t, "error", "storage");
    assert_int_equal (count_lines ("storage"), LOG_LIMIT_PER_SECOND);
    /* the next second reports what was held back, once per kind */
    log_flush (t + 1000);
    assert_int_equal (count_lines ("9995 more log line(s) of kind "
                                   "'malformed envelope' suppressed"), 1);
    assert_int_equal (count_lines ("45 more log line(s) of kind "
                                   "'storage fault' suppressed"), 1);
    log_flush (t + 1500);
    assert_int_equal (count_lines ("suppressed"), 2);
    log_limited (LOG_ENVELOPE, t + 2000, "warn", "dropped one");
    assert_int_equal (count_lines ("dropped one"), LOG_LIMIT_PER_SECOND + 1);
}

static void
test_plain_lines_carry_time_and_level (void **state)
{
    (void) state;
    log_line ("info", "ready: %d", 42);
    assert_int_equal (count_lines ("exitflowd info: ready: 42"), 1);
}

static int saved_stderr = -1;

/* stderr goes to a temp file while the tests run (cmocka's own lines for
 * them land there too); the summary comes after it is given back. */
static int
redirect (void **state)
{
    (void) state;
    snprintf (path, sizeof path, "/tmp/exitflow-log-XXXXXX");
    int fd = mkstemp (path);
    if (fd < 0)
        return -1;
    fflush (stderr);
    saved_stderr = dup (2);
    dup2 (fd, 2);
    close (fd);
    return 0;
}

static int
restore (void **state)
{
    (void) state;
    fflush (stderr);
    dup2 (saved_stderr, 2);
    close (saved_stderr);
    unlink (path);
    return 0;
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_a_flood_is_cut_to_the_limit),
        cmocka_unit_test (test_plain_lines_carry_time_and_level),
    };
    return cmocka_run_group_tests_name ("log", tests, redirect, restore);
}
