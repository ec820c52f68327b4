/* Unit tests for what both workers share (workers/common/): the settings
 * (defaults, ZPL file, flags), the JSON helpers, and the stop-aware wait. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "workers/common/config.h"
#include "workers/common/stop.h"
#include "workers/common/wjson.h"

/* ---- JSON ---- */

static char *
dump (json_t *j)
{
    char *text = json_dumps (j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref (j);
    assert_non_null (text);
    return text;
}

/* What jansson writes of a string: escapes, and U+FFFD for invalid UTF-8. */
static void
test_json_escaping (void **state)
{
    (void) state;
    const char *s = "a\"b\\c\nd\x01 é \xff end";
    char *text = dump (wjson_text (s, strlen (s)));
    assert_string_equal (text, "\"a\\\"b\\\\c\\nd\\u0001 é \xef\xbf\xbd end\"");
    free (text);
    text = dump (json_pack ("{s:o, s:I, s:o}", "a", wjson_text_or_null ("x"),
                            "b", (json_int_t) -3, "c", wjson_text_or_null ("")));
    assert_string_equal (text, "{\"a\":\"x\",\"b\":-3,\"c\":null}");
    free (text);
}

/* ---- stopping ---- */

static int64_t
now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_stop_wait (void **state)
{
    (void) state;
    volatile sig_atomic_t stop = 0;
    int64_t t0 = now_ms ();
    assert_true (stop_wait_ms (&stop, 120));        /* the whole pause */
    assert_true (now_ms () - t0 >= 120);
    assert_true (stop_wait_ms (NULL, 10));          /* no flag: a sleep */
    assert_true (stop_wait_ms (&stop, 0));
    stop = 1;
    t0 = now_ms ();
    assert_false (stop_wait_ms (&stop, 60000));     /* stopped: at once */
    assert_true (now_ms () - t0 < 1000);
}

/* A SIGTERM sets the flag (and leaves the process running); a wait then
 * ends at once. */
static void
test_stop_on_signals (void **state)
{
    (void) state;
    static volatile sig_atomic_t stop;
    stop_on_signals (&stop);
    raise (SIGTERM);
    assert_int_equal (stop, 1);
    int64_t t0 = now_ms ();
    assert_false (stop_wait_ms (&stop, 60000));
    assert_true (now_ms () - t0 < 1000);
}

/* ---- settings ---- */

static char config_path[64];

static int
load (worker_config_t *cfg, unsigned program, ...)
{
    char *argv[32] = { "prog" };
    int argc = 1;
    va_list ap;
    va_start (ap, program);
    char *a;
    while ((a = va_arg (ap, char *)) && argc < 31)
        argv[argc++] = a;
    va_end (ap);
    FILE *devnull = fopen ("/dev/null", "w");
    int rc = worker_config_load (cfg, program, argc, argv, devnull);
    fclose (devnull);
    return rc;
}

static void
test_config_defaults_file_flags (void **state)
{
    (void) state;
    static worker_config_t cfg;
    assert_int_equal (load (&cfg, WORKER_DQ, NULL), 0);
    assert_string_equal (cfg.name, "dq");
    assert_string_equal (cfg.commands, "tcp://127.0.0.1:5570");
    assert_string_equal (cfg.events, "tcp://127.0.0.1:5571");
    assert_string_equal (cfg.source, "dq");
    assert_int_equal (cfg.timeliness_days, 11);
    assert_int_equal (load (&cfg, WORKER_NOTIFY, NULL), 0);
    assert_string_equal (cfg.name, "notify");
    assert_int_equal (cfg.n_sinks, 1);
    assert_string_equal (cfg.sinks[0], "file:./var/notifications.jsonl");
    assert_string_equal (cfg.state, "./var/notify-notify.state");
    assert_int_equal (cfg.retries, 8);

    snprintf (config_path, sizeof config_path, "/tmp/exf-test-config-XXXXXX");
    int fd = mkstemp (config_path);
    assert_true (fd >= 0);
    FILE *f = fdopen (fd, "w");
    fputs ("exitflowd\n"
           "    commands = tcp://127.0.0.1:6000\n"
           "    events = tcp://127.0.0.1:6001\n"
           "dq\n"
           "    timeliness-days = 7\n"
           "    events = tcp://127.0.0.1:6002\n"
           "notify\n"
           "    name = notifier\n"
           "    sink = file:/tmp/a.jsonl\n"
           "    sink = \"http://127.0.0.1:9/hook\"\n"
           "    ops = ops@example.org\n"
           "    actor-domain = example.org\n"
           "    retries = 3\n", f);
    fclose (f);
    char config_arg[400];
    snprintf (config_arg, sizeof config_arg, "--config=%s", config_path);
    assert_int_equal (load (&cfg, WORKER_DQ, config_arg, NULL), 0);
    assert_string_equal (cfg.commands, "tcp://127.0.0.1:6000");   /* exitflowd */
    assert_string_equal (cfg.events, "tcp://127.0.0.1:6002");     /* dq wins */
    assert_int_equal (cfg.timeliness_days, 7);
    assert_int_equal (load (&cfg, WORKER_NOTIFY, config_arg, NULL), 0);
    assert_string_equal (cfg.name, "notifier");
    assert_string_equal (cfg.events, "tcp://127.0.0.1:6001");
    assert_int_equal (cfg.n_sinks, 2);
    assert_string_equal (cfg.sinks[1], "http://127.0.0.1:9/hook");
    assert_string_equal (cfg.ops, "ops@example.org");
    assert_string_equal (cfg.actor_domain, "example.org");
    assert_string_equal (cfg.state, "./var/notify-notifier.state");
    assert_int_equal (cfg.retries, 3);
    /* flags override the file; --sink replaces the file's sinks */
    assert_int_equal (load (&cfg, WORKER_NOTIFY, config_arg, "--commands",
                            "tcp://127.0.0.1:7000", "--name", "n2", "--sink",
                            "smtp://127.0.0.1:25", "--sink", "file:x.jsonl",
                            "--retries", "2", "--state", "/tmp/s", NULL), 0);
    assert_string_equal (cfg.commands, "tcp://127.0.0.1:7000");
    assert_string_equal (cfg.name, "n2");
    assert_int_equal (cfg.n_sinks, 2);
    assert_string_equal (cfg.sinks[0], "smtp://127.0.0.1:25");
    assert_int_equal (cfg.retries, 2);
    assert_string_equal (cfg.state, "/tmp/s");
    unlink (config_path);

    /* mistakes */
    assert_int_equal (load (&cfg, WORKER_DQ, "--sink", "file:x", NULL), 2);
    assert_int_equal (load (&cfg, WORKER_NOTIFY, "--retries", "0", NULL), 2);
    assert_int_equal (load (&cfg, WORKER_NOTIFY, "--retries", "x", NULL), 2);
    assert_int_equal (load (&cfg, WORKER_DQ, "--config", "/nonexistent", NULL), 2);
    assert_int_equal (load (&cfg, WORKER_DQ, "extra", NULL), 2);
    assert_int_equal (load (&cfg, WORKER_DQ, "--name", "", NULL), 2);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_json_escaping),
        cmocka_unit_test (test_stop_wait),
        cmocka_unit_test (test_stop_on_signals),
        cmocka_unit_test (test_config_defaults_file_flags),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
