/* Unit tests for what both workers share (workers/common/): the settings
 * (defaults, ZPL file, flags; the CURVE keys' flag, environment, file and
 * ./var/keys in that order, and unusable keys refused), the JSON helpers,
 * and the stop-aware wait. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "protocol/calendar.h"
#include "workers/common/config.h"
#include "workers/common/consumer.h"
#include "workers/common/stop.h"
#include "workers/common/wjson.h"

#include <zmq.h>

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

/* A call to a daemon that never answers (nobody listens) ends within the
 * grace of a SIGTERM, not after its timeouts and retries: the watch shuts
 * the client's context down. Without a signal the watch ends and leaves
 * the context alone. */
static void
test_stop_watch_ends_a_call_in_flight (void **state)
{
    (void) state;
    static volatile sig_atomic_t stop;
    stop = 0;
    stop_on_signals (&stop);
    void *ctx = zmq_ctx_new ();
    assert_true (stop_watch (ctx));
    stop_unwatch ();                /* no signal: the context is untouched */
    void *probe = zmq_socket (ctx, ZMQ_DEALER);
    assert_non_null (probe);
    zmq_close (probe);

    exitflow_options_t o = exitflow_options_default ();
    o.zmq_context = ctx;
    o.timeout_ms = 5000;
    o.retries = 3;
    exitflow_client_t *client = exitflow_client_new ("tcp://127.0.0.1:9", &o);
    assert_non_null (client);
    assert_true (stop_watch (ctx));
    raise (SIGTERM);
    int64_t t0 = now_ms ();
    exitflow_error_t err;
    assert_null (exitflow_ping (client, &err));
    int64_t took = now_ms () - t0;
    assert_true (took >= STOP_GRACE_MS - 50);
    assert_true (took < 1000);
    assert_string_equal (err.code, EXITFLOW_UNREACHABLE);
    assert_non_null (strstr (err.message, "stopping"));
    assert_null (exitflow_ping (client, &err));     /* and every call after */
    assert_true (now_ms () - t0 < 1000);
    stop_unwatch ();
    exitflow_client_destroy (&client);
    zmq_ctx_term (ctx);
}

/* ---- settings ---- */

static char config_path[64];
static char load_errors[2048];      /* what the last load printed */

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
    char *text = NULL;
    size_t len = 0;
    FILE *err = open_memstream (&text, &len);
    assert_non_null (err);
    int rc = worker_config_load (cfg, program, argc, argv, err);
    fclose (err);
    snprintf (load_errors, sizeof load_errors, "%s", text);
    free (text);
    return rc;
}

static void
write_config (const char *text)
{
    snprintf (config_path, sizeof config_path, "/tmp/exf-test-config-XXXXXX");
    int fd = mkstemp (config_path);
    assert_true (fd >= 0);
    FILE *f = fdopen (fd, "w");
    fputs (text, f);
    fclose (f);
}

static void
test_config_defaults_file_flags (void **state)
{
    (void) state;
    static worker_config_t cfg;
    unsetenv ("EXITFLOW_CERT");
    unsetenv ("EXITFLOW_SERVER_KEY");
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

    write_config ("exitflowd\n"
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
           "    retries = 3\n");
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

/* The CoC's time zone: --timezone, else dq/timezone, else
 * exitflowd/timezone (the daemon's), else the system's; set as it is read
 * and refused (exit 2, one line naming where it came from) when the
 * system does not know it. */
static void
test_config_timezone (void **state)
{
    (void) state;
    static worker_config_t cfg;
    unsetenv ("EXITFLOW_CERT");
    unsetenv ("EXITFLOW_SERVER_KEY");
    assert_int_equal (load (&cfg, WORKER_DQ, NULL), 0);
    assert_string_equal (cfg.timezone, "");
    assert_int_equal (load (&cfg, WORKER_DQ, "--timezone",
                            "America/Los_Angeles", NULL), 0);
    assert_string_equal (cfg.timezone, "America/Los_Angeles");
    assert_string_equal (calendar_zone (), "America/Los_Angeles");
    /* 2026-11-25T07:30:00Z is still the 24th in Los Angeles */
    assert_int_equal (calendar_day_of_ms (1795591800000LL), 20781);

    write_config ("exitflowd\n"
                  "    timezone = America/Chicago\n");
    char config_arg[400];
    snprintf (config_arg, sizeof config_arg, "--config=%s", config_path);
    assert_int_equal (load (&cfg, WORKER_DQ, config_arg, NULL), 0);
    assert_string_equal (cfg.timezone, "America/Chicago");    /* exitflowd's */
    unlink (config_path);
    write_config ("exitflowd\n"
                  "    timezone = America/Chicago\n"
                  "dq\n"
                  "    timezone = UTC\n");
    snprintf (config_arg, sizeof config_arg, "--config=%s", config_path);
    assert_int_equal (load (&cfg, WORKER_DQ, config_arg, NULL), 0);
    assert_string_equal (cfg.timezone, "UTC");                /* dq wins */
    assert_int_equal (load (&cfg, WORKER_DQ, config_arg, "--timezone",
                            "Europe/Paris", NULL), 0);
    assert_string_equal (cfg.timezone, "Europe/Paris");       /* the flag */
    unlink (config_path);

    assert_int_equal (load (&cfg, WORKER_DQ, "--timezone", "Mars/Base", NULL), 2);
    assert_non_null (strstr (load_errors, "exitflow-dq: --timezone: time zone "
                             "\"Mars/Base\" is not in"));
    assert_int_equal (load (&cfg, WORKER_DQ, "--timezone", "../etc/passwd",
                            NULL), 2);
    assert_int_equal (load (&cfg, WORKER_NOTIFY, "--timezone", "UTC", NULL), 2);
    assert_string_equal (calendar_zone (), "Europe/Paris");   /* kept */
    char why[256];
    assert_true (calendar_set_zone ("UTC", why, sizeof why));
}

/* ---- keys ---- */

static char keys_dir[64];

/* A czmq certificate pair KEYS_DIR/NAME and NAME_secret. */
static void
make_pair (const char *name)
{
    zcert_t *cert = zcert_new ();
    char path[128];
    snprintf (path, sizeof path, "%s/%s", keys_dir, name);
    assert_int_equal (zcert_save (cert, path), 0);
    zcert_destroy (&cert);
}

static void
test_config_keys (void **state)
{
    (void) state;
    static worker_config_t cfg;
    char cwd[512], w[128], other[128], server[128], broken[128];
    assert_non_null (getcwd (cwd, sizeof cwd));
    snprintf (keys_dir, sizeof keys_dir, "/tmp/exf-test-keys-XXXXXX");
    assert_non_null (mkdtemp (keys_dir));
    make_pair ("w");
    make_pair ("other");
    make_pair ("server");
    snprintf (w, sizeof w, "%s/w_secret", keys_dir);
    snprintf (other, sizeof other, "%s/other_secret", keys_dir);
    snprintf (server, sizeof server, "%s/server", keys_dir);
    snprintf (broken, sizeof broken, "%s/broken_secret", keys_dir);
    FILE *f = fopen (broken, "w");
    fputs ("not a certificate\n", f);
    fclose (f);
    /* A checkout without ./var/keys yet. */
    assert_int_equal (zsys_dir_create ("%s/co/var", keys_dir), 0);
    char co[128];
    snprintf (co, sizeof co, "%s/co", keys_dir);
    assert_int_equal (chdir (co), 0);
    unsetenv ("EXITFLOW_CERT");
    unsetenv ("EXITFLOW_SERVER_KEY");

    /* None anywhere: no CURVE. */
    assert_int_equal (load (&cfg, WORKER_DQ, NULL), 0);
    assert_string_equal (cfg.cert, "");
    assert_string_equal (cfg.server_key, "");
    /* Flags. */
    assert_int_equal (load (&cfg, WORKER_NOTIFY, "--cert", w, "--server-key",
                            server, NULL), 0);
    assert_string_equal (cfg.cert, w);
    assert_string_equal (cfg.server_key, server);
    /* The file: keys cert and server_key in the worker's section. */
    char text[512];
    snprintf (text, sizeof text, "dq\n    cert = \"%s\"\n    server_key = \"%s\"\n",
              w, server);
    write_config (text);
    char config_arg[400];
    snprintf (config_arg, sizeof config_arg, "--config=%s", config_path);
    assert_int_equal (load (&cfg, WORKER_DQ, config_arg, NULL), 0);
    assert_string_equal (cfg.cert, w);
    assert_string_equal (cfg.server_key, server);
    /* The environment before the file, a flag before both. */
    setenv ("EXITFLOW_CERT", other, 1);
    assert_int_equal (load (&cfg, WORKER_DQ, config_arg, NULL), 0);
    assert_string_equal (cfg.cert, other);
    assert_string_equal (cfg.server_key, server);
    assert_int_equal (load (&cfg, WORKER_DQ, config_arg, "--cert", w, NULL), 0);
    assert_string_equal (cfg.cert, w);
    unsetenv ("EXITFLOW_CERT");
    unlink (config_path);
    /* ./var/keys last: worker_secret and server. */
    assert_int_equal (zsys_dir_create ("var/keys"), 0);
    assert_int_equal (link (w, "var/keys/worker_secret"), 0);
    assert_int_equal (link (server, "var/keys/server"), 0);
    assert_int_equal (load (&cfg, WORKER_NOTIFY, NULL), 0);
    assert_string_equal (cfg.cert, "./var/keys/worker_secret");
    assert_string_equal (cfg.server_key, "./var/keys/server");
    assert_int_equal (load (&cfg, WORKER_NOTIFY, "--cert", other, NULL), 0);
    assert_string_equal (cfg.cert, other);
    assert_string_equal (cfg.server_key, "./var/keys/server");
    unlink ("var/keys/server");

    /* Unusable: one key alone names the other; a bad file is named. */
    assert_int_equal (load (&cfg, WORKER_DQ, NULL), 2);
    assert_non_null (strstr (load_errors, "exitflow-dq: "));
    assert_non_null (strstr (load_errors, "--server-key"));
    assert_int_equal (load (&cfg, WORKER_DQ, "--server-key", server, "--cert",
                            broken, NULL), 2);
    assert_non_null (strstr (load_errors, broken));
    unlink ("var/keys/worker_secret");
    assert_int_equal (load (&cfg, WORKER_DQ, "--server-key", server, NULL), 2);
    assert_non_null (strstr (load_errors, "--cert"));

    /* The consumer refuses such keys before it connects. */
    volatile sig_atomic_t stop = 1;
    consumer_config_t cc = { .name = "t", .commands = "tcp://127.0.0.1:9",
                             .events = "tcp://127.0.0.1:9", .cert = w,
                             .stop = &stop };
    assert_int_equal (consumer_run (&cc), 1);
    cc.server_key = server;
    assert_int_equal (consumer_run (&cc), 0);     /* usable: stops at once */

    assert_int_equal (chdir (cwd), 0);
    zdir_t *dir = zdir_new (keys_dir, NULL);
    zdir_remove (dir, true);
    zdir_destroy (&dir);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_json_escaping),
        cmocka_unit_test (test_stop_wait),
        cmocka_unit_test (test_stop_on_signals),
        cmocka_unit_test (test_stop_watch_ends_a_call_in_flight),
        cmocka_unit_test (test_config_defaults_file_flags),
        cmocka_unit_test (test_config_timezone),
        cmocka_unit_test (test_config_keys),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
