/* Unit tests for the notifier's parts (workers/notify/): notifications from
 * events (and what they must not carry), the file, HTTP and SMTP sinks
 * (against tiny servers on 127.0.0.1 in threads), retries and backoff, and
 * the sent log. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workers/notify/notification.h"
#include "workers/notify/sent_log.h"
#include "workers/notify/sink.h"

static char tmpdir[256];

static int
make_tmpdir (void **state)
{
    (void) state;
    snprintf (tmpdir, sizeof tmpdir, "/tmp/exf-test-notify-XXXXXX");
    return mkdtemp (tmpdir) ? 0 : -1;
}

static int
remove_tmpdir (void **state)
{
    (void) state;
    char cmd[300];
    snprintf (cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system (cmd) == 0 ? 0 : -1;
}

static char *
tmp_path (const char *name)
{
    static char paths[8][320];
    static int next;
    char *p = paths[next++ % 8];
    snprintf (p, 320, "%s/%s", tmpdir, name);
    return p;
}

static char *
slurp (const char *path)
{
    FILE *f = fopen (path, "r");
    if (!f)
        return strdup ("");
    static char buf[1 << 16];
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose (f);
    return strdup (buf);
}

static int
count_lines (const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* ---- msgpack fixtures: an event and a view ---- */

typedef struct {
    msgpack_sbuffer sb;
    msgpack_unpacked u;
} obj_t;

static const msgpack_object *
obj_finish (obj_t *o)
{
    msgpack_unpacked_init (&o->u);
    assert_true (codec_unpack (o->sb.data, o->sb.size, &o->u, NULL));
    return &o->u.data;
}

static void
obj_free (obj_t *o)
{
    msgpack_unpacked_destroy (&o->u);
    msgpack_sbuffer_destroy (&o->sb);
}

static void
kv_str (msgpack_packer *pk, const char *k, const char *v)
{
    codec_pack_cstr (pk, k);
    codec_pack_cstr (pk, v);
}

static void
kv_int (msgpack_packer *pk, const char *k, int64_t v)
{
    codec_pack_cstr (pk, k);
    msgpack_pack_int64 (pk, v);
}

/* An event of `type`; data depends on the type. */
static const msgpack_object *
make_event (obj_t *o, const char *type, uint64_t seq, int errors)
{
    msgpack_sbuffer_init (&o->sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &o->sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 6);
    kv_int (&pk, "seq", (int64_t) seq);
    kv_str (&pk, "type", type);
    kv_str (&pk, "ts", "2026-11-25T12:00:00.000Z");
    kv_str (&pk, "workflow_id", "01JDKZ3V8QABCDEFGHJKMNPQRS");
    kv_str (&pk, "actor", "cw-finisher");
    codec_pack_cstr (&pk, "data");
    if (strcmp (type, "workflow.stalled") == 0) {
        msgpack_pack_map (&pk, 3);
        kv_int (&pk, "idle_s", 90000);
        kv_str (&pk, "since", "2026-11-24T11:00:00.000Z");
        codec_pack_cstr (&pk, "progress");
        msgpack_pack_map (&pk, 2);
        kv_int (&pk, "done", 1);
        kv_int (&pk, "total", 7);
    } else if (strcmp (type, "dq.reported") == 0) {
        msgpack_pack_map (&pk, 4);
        kv_str (&pk, "source", "dq");
        kv_int (&pk, "count", errors + 1);
        kv_int (&pk, "errors", errors);
        kv_int (&pk, "warnings", 1);
    } else if (strcmp (type, "workflow.finished") == 0) {
        msgpack_pack_map (&pk, 4);
        kv_int (&pk, "version", 9);
        codec_pack_cstr (&pk, "exited");
        msgpack_pack_array (&pk, 2);
        codec_pack_cstr (&pk, "C-1");
        codec_pack_cstr (&pk, "C-2");
        codec_pack_cstr (&pk, "staying");
        msgpack_pack_array (&pk, 1);
        codec_pack_cstr (&pk, "C-3");
        codec_pack_cstr (&pk, "new_head_of_household");
        codec_pack_cstr (&pk, "C-3");
    } else {
        msgpack_pack_map (&pk, 1);
        kv_str (&pk, "step", "exit");
    }
    return obj_finish (o);
}

/* A view with PII-like text the notification must never carry. */
static const msgpack_object *
make_view (obj_t *o, const char *started_by)
{
    msgpack_sbuffer_init (&o->sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &o->sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 7);
    kv_str (&pk, "workflow_id", "01JDKZ3V8QABCDEFGHJKMNPQRS");
    kv_str (&pk, "project_id", "P-1");
    kv_str (&pk, "household_id", "HH-1");
    codec_pack_cstr (&pk, "started_by");
    codec_pack_cstr_or_nil (&pk, started_by);
    kv_str (&pk, "cancel_reason", "SECRET-REASON");
    codec_pack_cstr (&pk, "members");
    msgpack_pack_array (&pk, 1);
    msgpack_pack_map (&pk, 2);
    kv_str (&pk, "client_id", "C-1");
    kv_str (&pk, "exit_reason", "SECRET-NAME");
    codec_pack_cstr (&pk, "dq");
    msgpack_pack_array (&pk, 4);
    static const char *const f[4][3] = {
        { "dq", "income_inconsistent", "error" },
        { "dq", "destination_missing", "warning" },
        { "other", "foreign_rule", "error" },
        { "dq", "income_inconsistent", "error" } };
    for (int i = 0; i < 4; i++) {
        msgpack_pack_map (&pk, 5);
        kv_str (&pk, "source", f[i][0]);
        kv_str (&pk, "rule", f[i][1]);
        kv_str (&pk, "severity", f[i][2]);
        kv_str (&pk, "client_id", "C-1");
        kv_str (&pk, "message", "SECRET-MESSAGE");
    }
    return obj_finish (o);
}

static void
make_note (notification_t *n, const char *type, uint64_t seq)
{
    obj_t e, v;
    assert_true (notification_from_event (n, "notify", "ops@example.org",
                                          make_event (&e, type, seq, 2),
                                          make_view (&v, "cw-17")));
    obj_free (&e);
    obj_free (&v);
}

/* ---- notifications ---- */

static void
test_notification_kinds (void **state)
{
    (void) state;
    notification_t n;
    obj_t e, v;
    const msgpack_object *view = make_view (&v, "cw-17");

    assert_true (notification_from_event (&n, "notify", "ops@example.org",
        make_event (&e, "workflow.stalled", 12, 0), view));
    obj_free (&e);
    assert_int_equal (n.kind, NOTE_STALLED);
    assert_string_equal (notification_kind_name (n.kind), "workflow.stalled");
    assert_string_equal (n.id, "notify-12");
    assert_int_equal (n.event_seq, 12);
    assert_string_equal (n.actor, "cw-17");          /* the starter */
    assert_string_equal (n.project_id, "P-1");
    assert_string_equal (n.household_id, "HH-1");
    assert_int_equal (n.idle_s, 90000);
    assert_int_equal (n.done, 1);
    assert_int_equal (n.total, 7);

    assert_true (notification_from_event (&n, "notify", "", make_event (
        &e, "dq.reported", 13, 2), view));
    obj_free (&e);
    assert_int_equal (n.kind, NOTE_DQ_ERRORS);
    assert_string_equal (notification_kind_name (n.kind), "dq.errors");
    assert_int_equal (n.errors, 2);
    assert_int_equal (n.warnings, 1);
    assert_int_equal (n.n_rules, 1);                 /* distinct, this source */
    assert_string_equal (n.rules[0], "income_inconsistent");

    /* a report with warnings only notifies nobody */
    assert_false (notification_from_event (&n, "notify", "", make_event (
        &e, "dq.reported", 14, 0), view));
    obj_free (&e);

    assert_true (notification_from_event (&n, "notify", "", make_event (
        &e, "workflow.finished", 15, 0), view));
    obj_free (&e);
    assert_int_equal (n.kind, NOTE_FINISHED);
    assert_string_equal (notification_kind_name (n.kind), "workflow.finished");
    assert_int_equal (n.exited, 2);
    assert_int_equal (n.staying, 1);

    assert_false (notification_from_event (&n, "notify", "", make_event (
        &e, "step.completed", 16, 0), view));
    obj_free (&e);
    obj_free (&v);

    /* no starter recorded: the event's actor; no view at all: still ids */
    assert_true (notification_from_event (&n, "n2", "", make_event (
        &e, "workflow.finished", 17, 0), make_view (&v, NULL)));
    assert_string_equal (n.actor, "cw-finisher");
    obj_free (&v);
    assert_true (notification_from_event (&n, "n2", "", &e.u.data, NULL));
    assert_string_equal (n.project_id, "");
    assert_string_equal (n.id, "n2-17");
    obj_free (&e);
}

static void
test_notification_json_has_ids_only (void **state)
{
    (void) state;
    notification_t n;
    make_note (&n, "dq.reported", 13);
    char *json = notification_json (&n);
    assert_non_null (strstr (json, "{\"id\":\"notify-13\","));
    assert_non_null (strstr (json, "\"event_seq\":13"));
    assert_non_null (strstr (json, "\"to\":[\"actor:cw-17\",\"ops@example.org\"]"));
    assert_non_null (strstr (json, "\"rules\":[\"income_inconsistent\"]"));
    assert_non_null (strstr (json, "\"kind\":\"dq.errors\""));
    assert_null (strchr (json, '\n'));
    free (json);
    char *all = NULL;
    size_t len = 0;
    FILE *out = open_memstream (&all, &len);
    notification_text (&n, out);
    notification_subject (&n, out);
    make_note (&n, "workflow.stalled", 12);
    json = notification_json (&n);
    fputs (json, out);
    free (json);
    notification_text (&n, out);
    make_note (&n, "workflow.finished", 15);
    json = notification_json (&n);
    fputs (json, out);
    free (json);
    notification_text (&n, out);
    fclose (out);
    assert_null (strstr (all, "SECRET"));
    assert_non_null (strstr (all, "\"progress\":{\"done\":1,\"total\":7}"));
    assert_non_null (strstr (all, "\"exited\":2,\"staying\":1"));
    free (all);
}

/* ---- file sink ---- */

static void
test_file_sink_once_per_id (void **state)
{
    (void) state;
    char why[256] = "";
    const char *path = tmp_path ("notes.jsonl");
    char spec[400];
    snprintf (spec, sizeof spec, "file:%s", path);
    sink_t *s = sink_new (spec, NULL, why, sizeof why);
    assert_non_null (s);
    assert_string_equal (s->kind, "file");
    notification_t a, b, c;
    make_note (&a, "workflow.stalled", 1);
    make_note (&b, "workflow.finished", 11);
    make_note (&c, "dq.reported", 111);
    assert_false (s->delivered (s, &a));
    assert_int_equal (s->deliver (s, &a, why, sizeof why), SINK_OK);
    assert_int_equal (s->deliver (s, &b, why, sizeof why), SINK_OK);
    assert_true (s->delivered (s, &a));
    assert_true (s->delivered (s, &b));
    assert_false (s->delivered (s, &c));        /* notify-1 is not notify-111 */
    assert_int_equal (s->deliver (s, &a, why, sizeof why), SINK_OK);
    char *text = slurp (path);
    assert_int_equal (count_lines (text), 2);
    free (text);

    /* a line torn by a crash is ended before the next one */
    FILE *f = fopen (path, "a");
    fputs ("{\"id\":\"notify-5\",\"trunc", f);
    fclose (f);
    assert_int_equal (s->deliver (s, &c, why, sizeof why), SINK_OK);
    text = slurp (path);
    assert_int_equal (count_lines (text), 4);
    assert_non_null (strstr (text, "\"trunc\n{\"id\":\"notify-111\","));
    free (text);
    assert_true (s->delivered (s, &c));
    sink_destroy (&s);
    assert_null (s);

    /* a directory that does not exist: retry, with the reason */
    s = sink_new ("file:/nonexistent-dir/x.jsonl", NULL, why, sizeof why);
    assert_int_equal (s->deliver (s, &a, why, sizeof why), SINK_RETRY);
    assert_non_null (strstr (why, "/nonexistent-dir/x.jsonl"));
    sink_destroy (&s);
}

static void
test_sink_specs (void **state)
{
    (void) state;
    char why[256] = "";
    static const char *const bad[] = { "ftp://x", "file:", "mailto:a@b",
                                       "http://a b", "" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        why[0] = '\0';
        assert_null (sink_new (bad[i], NULL, why, sizeof why));
        assert_true (strlen (why) > 0);
    }
    sink_t *s = sink_new ("http://127.0.0.1:1/hook", NULL, why, sizeof why);
    assert_string_equal (s->kind, "http");
    assert_string_equal (s->spec, "http://127.0.0.1:1/hook");
    sink_destroy (&s);
    s = sink_new ("smtp://127.0.0.1:1", NULL, why, sizeof why);
    assert_string_equal (s->kind, "smtp");
    sink_destroy (&s);
}

/* ---- retries, with a fake sink ---- */

typedef struct {
    int calls;
    sink_status_t script[8];
} fake_t;

static sink_status_t
fake_deliver (sink_t *self, const notification_t *n, char *why, size_t cap)
{
    (void) n;
    fake_t *f = self->impl;
    sink_status_t st = f->script[f->calls++];
    if (st != SINK_OK)
        snprintf (why, cap, "attempt %d failed", f->calls);
    return st;
}

static void
test_retry_and_give_up (void **state)
{
    (void) state;
    fake_t f = { 0, { SINK_RETRY, SINK_RETRY, SINK_OK } };
    sink_t s = { .kind = "fake", .deliver = fake_deliver, .impl = &f };
    notification_t n;
    make_note (&n, "workflow.stalled", 1);
    retry_policy_t p = { 5, 10, 40 };
    char why[128];
    int attempts = 0;
    assert_int_equal (sink_deliver (&s, &n, &p, NULL, &attempts, why,
                                    sizeof why), DELIVER_OK);
    assert_int_equal (attempts, 3);

    f = (fake_t) { 0, { SINK_RETRY, SINK_RETRY, SINK_RETRY, SINK_OK } };
    p.attempts = 3;
    assert_int_equal (sink_deliver (&s, &n, &p, NULL, &attempts, why,
                                    sizeof why), DELIVER_GAVE_UP);
    assert_int_equal (attempts, 3);
    assert_string_equal (why, "attempt 3 failed");

    f = (fake_t) { 0, { SINK_FAIL, SINK_OK } };      /* permanent: at once */
    assert_int_equal (sink_deliver (&s, &n, &p, NULL, &attempts, why,
                                    sizeof why), DELIVER_GAVE_UP);
    assert_int_equal (attempts, 1);

    volatile sig_atomic_t stop = 1;                  /* SIGTERM meanwhile */
    f = (fake_t) { 0, { SINK_RETRY, SINK_OK } };
    p.backoff_ms = 10000;
    assert_int_equal (sink_deliver (&s, &n, &p, &stop, &attempts, why,
                                    sizeof why), DELIVER_STOPPED);
    assert_int_equal (attempts, 1);
}

/* ---- a tiny HTTP server ---- */

typedef struct {
    int fd, port;
    pthread_t thread;
    volatile int stop;
    int script[8], n_script;        /* status per request; then 200 */
    int requests;
    char key[8][128];               /* Idempotency-Key of each request */
    char body[8][2048];
    char smtp_rcpt[8][128];
    int n_rcpt;
    char smtp_from[128];
    char smtp_data[8192];
    int smtp_mails;
    int rcpt_code, data_code;       /* SMTP replies */
} server_t;

static int
listen_local (server_t *s)
{
    s->fd = socket (AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt (s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    assert_int_equal (bind (s->fd, (struct sockaddr *) &a, sizeof a), 0);
    assert_int_equal (listen (s->fd, 8), 0);
    socklen_t len = sizeof a;
    getsockname (s->fd, (struct sockaddr *) &a, &len);
    s->port = ntohs (a.sin_port);
    return s->fd;
}

static int
accept_or_stop (server_t *s)
{
    while (!s->stop) {
        struct pollfd p = { s->fd, POLLIN, 0 };
        if (poll (&p, 1, 50) == 1)
            return accept (s->fd, NULL, NULL);
    }
    return -1;
}

static void *
http_serve (void *arg)
{
    server_t *s = arg;
    int c;
    while ((c = accept_or_stop (s)) >= 0) {
        char buf[8192];
        size_t got = 0;
        char *end = NULL;
        while (got < sizeof buf - 1 && !end) {
            ssize_t r = read (c, buf + got, sizeof buf - 1 - got);
            if (r <= 0)
                break;
            got += (size_t) r;
            buf[got] = '\0';
            end = strstr (buf, "\r\n\r\n");
        }
        if (!end) {
            close (c);
            continue;
        }
        char *cl = strcasestr (buf, "Content-Length:");
        size_t want = cl ? strtoul (cl + 15, NULL, 10) : 0;
        size_t have = got - (size_t) (end + 4 - buf);
        while (have < want && got < sizeof buf - 1) {
            ssize_t r = read (c, buf + got, sizeof buf - 1 - got);
            if (r <= 0)
                break;
            got += (size_t) r;
            have += (size_t) r;
        }
        buf[got] = '\0';
        int i = s->requests < 8 ? s->requests : 7;
        char *k = strcasestr (buf, "Idempotency-Key: ");
        if (k)
            sscanf (k + 17, "%127[^\r]", s->key[i]);
        snprintf (s->body[i], sizeof s->body[i], "%s", end + 4);
        int status = s->requests < s->n_script ? s->script[s->requests] : 200;
        s->requests++;
        char reply[128];
        int n = snprintf (reply, sizeof reply, "HTTP/1.1 %d X\r\nContent-Length:"
                          " 2\r\nConnection: close\r\n\r\nok", status);
        if (write (c, reply, (size_t) n) != n) {
            /* the client went away: nothing to do */
        }
        close (c);
    }
    return NULL;
}

static void
server_start (server_t *s, void *(*fn) (void *))
{
    listen_local (s);
    assert_int_equal (pthread_create (&s->thread, NULL, fn, s), 0);
}

static void
server_stop (server_t *s)
{
    s->stop = 1;
    pthread_join (s->thread, NULL);
    close (s->fd);
}

static void
test_http_sink_retries_until_accepted (void **state)
{
    (void) state;
    static server_t srv;
    memset (&srv, 0, sizeof srv);
    srv.script[0] = 500;
    srv.script[1] = 503;
    srv.n_script = 2;
    server_start (&srv, http_serve);
    char url[128], why[256] = "";
    snprintf (url, sizeof url, "http://127.0.0.1:%d/hook", srv.port);
    sink_options_t o = { .timeout_ms = 3000 };
    sink_t *s = sink_new (url, &o, why, sizeof why);
    notification_t n;
    make_note (&n, "workflow.stalled", 42);
    retry_policy_t p = { 5, 10, 100 };
    int attempts;
    assert_int_equal (sink_deliver (s, &n, &p, NULL, &attempts, why,
                                    sizeof why), DELIVER_OK);
    assert_int_equal (attempts, 3);
    assert_int_equal (srv.requests, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal (srv.key[i], "notify-42");
        assert_string_equal (srv.body[i], srv.body[0]);   /* same bytes */
    }
    assert_non_null (strstr (srv.body[0], "\"id\":\"notify-42\""));
    sink_destroy (&s);
    server_stop (&srv);
}

static void
test_http_sink_client_error_gives_up (void **state)
{
    (void) state;
    static server_t srv;
    memset (&srv, 0, sizeof srv);
    srv.script[0] = 404;
    srv.n_script = 1;
    server_start (&srv, http_serve);
    char url[128], why[256] = "";
    snprintf (url, sizeof url, "http://127.0.0.1:%d/nope", srv.port);
    sink_t *s = sink_new (url, NULL, why, sizeof why);
    notification_t n;
    make_note (&n, "workflow.finished", 7);
    retry_policy_t p = { 5, 10, 100 };
    int attempts;
    assert_int_equal (sink_deliver (s, &n, &p, NULL, &attempts, why,
                                    sizeof why), DELIVER_GAVE_UP);
    assert_int_equal (attempts, 1);
    assert_non_null (strstr (why, "HTTP 404"));
    sink_destroy (&s);
    server_stop (&srv);

    /* nobody listening: network faults are retried, then given up on */
    s = sink_new (url, NULL, why, sizeof why);
    p.attempts = 2;
    assert_int_equal (sink_deliver (s, &n, &p, NULL, &attempts, why,
                                    sizeof why), DELIVER_GAVE_UP);
    assert_int_equal (attempts, 2);
    sink_destroy (&s);
}

/* ---- a tiny SMTP server ---- */

static bool
read_line (int c, char *line, size_t cap)
{
    size_t n = 0;
    while (n < cap - 1) {
        char ch;
        if (read (c, &ch, 1) != 1)
            return false;
        line[n++] = ch;
        if (ch == '\n')
            break;
    }
    line[n] = '\0';
    return true;
}

static void
say (int c, const char *text)
{
    if (write (c, text, strlen (text)) < 0) {
        /* the client went away */
    }
}

static void *
smtp_serve (void *arg)
{
    server_t *s = arg;
    int c;
    while ((c = accept_or_stop (s)) >= 0) {
        say (c, "220 test ESMTP\r\n");
        char line[1024], reply[64];
        while (read_line (c, line, sizeof line)) {
            if (!strncasecmp (line, "EHLO", 4) || !strncasecmp (line, "HELO", 4))
                say (c, "250 test\r\n");
            else if (!strncasecmp (line, "MAIL FROM:", 10)) {
                sscanf (line + 10, "%127[^\r]", s->smtp_from);
                say (c, "250 OK\r\n");
            } else if (!strncasecmp (line, "RCPT TO:", 8)) {
                if (s->n_rcpt < 8)
                    sscanf (line + 8, "%127[^\r]", s->smtp_rcpt[s->n_rcpt++]);
                snprintf (reply, sizeof reply, "%d rcpt\r\n",
                          s->rcpt_code ? s->rcpt_code : 250);
                say (c, reply);
            } else if (!strncasecmp (line, "DATA", 4)) {
                say (c, "354 go ahead\r\n");
                s->smtp_data[0] = '\0';
                while (read_line (c, line, sizeof line)
                       && strcmp (line, ".\r\n") != 0)
                    strncat (s->smtp_data, line,
                             sizeof s->smtp_data - strlen (s->smtp_data) - 1);
                s->smtp_mails++;
                snprintf (reply, sizeof reply, "%d queued\r\n",
                          s->data_code ? s->data_code : 250);
                say (c, reply);
            } else if (!strncasecmp (line, "QUIT", 4)) {
                say (c, "221 bye\r\n");
                break;
            } else
                say (c, "250 OK\r\n");
        }
        close (c);
    }
    return NULL;
}

static void
test_smtp_sink (void **state)
{
    (void) state;
    static server_t srv;
    memset (&srv, 0, sizeof srv);
    server_start (&srv, smtp_serve);
    char url[128], why[256] = "";
    snprintf (url, sizeof url, "smtp://127.0.0.1:%d", srv.port);
    sink_options_t o = { .from = "exitflow@example.org",
                         .actor_domain = "example.org", .timeout_ms = 3000 };
    sink_t *s = sink_new (url, &o, why, sizeof why);
    notification_t n;
    make_note (&n, "dq.reported", 9);
    retry_policy_t p = { 3, 10, 100 };
    int attempts;
    assert_int_equal (sink_deliver (s, &n, &p, NULL, &attempts, why,
                                    sizeof why), DELIVER_OK);
    assert_int_equal (srv.smtp_mails, 1);
    assert_string_equal (srv.smtp_from, "<exitflow@example.org>");
    assert_int_equal (srv.n_rcpt, 2);
    assert_string_equal (srv.smtp_rcpt[0], "<cw-17@example.org>");
    assert_string_equal (srv.smtp_rcpt[1], "<ops@example.org>");
    assert_non_null (strstr (srv.smtp_data, "Message-ID: <notify-9@exitflow>"));
    assert_non_null (strstr (srv.smtp_data, "Subject: exitflow: 2 data-quality"));
    assert_non_null (strstr (srv.smtp_data, "rule: income_inconsistent"));
    assert_null (strstr (srv.smtp_data, "SECRET"));

    /* a final 5xx refusal gives up at once; a 4xx is retried */
    srv.rcpt_code = 550;
    assert_int_equal (sink_deliver (s, &n, &p, NULL, &attempts, why,
                                    sizeof why), DELIVER_GAVE_UP);
    assert_int_equal (attempts, 1);
    srv.rcpt_code = 250;
    srv.data_code = 451;
    assert_int_equal (sink_deliver (s, &n, &p, NULL, &attempts, why,
                                    sizeof why), DELIVER_GAVE_UP);
    assert_int_equal (attempts, 3);
    sink_destroy (&s);

    /* no address to send to: given up on with the reason */
    sink_options_t bare = { .timeout_ms = 3000 };
    s = sink_new (url, &bare, why, sizeof why);
    snprintf (n.ops, sizeof n.ops, "%s", "");
    assert_int_equal (sink_deliver (s, &n, &p, NULL, &attempts, why,
                                    sizeof why), DELIVER_GAVE_UP);
    assert_non_null (strstr (why, "no recipient"));
    sink_destroy (&s);
    server_stop (&srv);
}

/* ---- the sent log ---- */

static void
test_sent_log (void **state)
{
    (void) state;
    char why[256];
    const char *path = tmp_path ("notify.state");
    sent_log_t *log = sent_log_new (path, why, sizeof why);
    assert_non_null (log);
    assert_false (sent_log_has (log, 5, "file:a"));
    assert_int_equal (sent_log_add (log, 5, "file:a", "delivered"), 0);
    assert_int_equal (sent_log_add (log, 5, "http://h/x", "gave-up"), 0);
    assert_int_equal (sent_log_add (log, 6, "file:a", "delivered"), 0);
    assert_int_equal (sent_log_add (log, 6, "bad sink", "delivered"), EINVAL);
    assert_true (sent_log_has (log, 5, "file:a"));
    sent_log_destroy (&log);

    /* survives a restart; a torn last line is dropped */
    FILE *f = fopen (path, "a");
    fputs ("7 deliv", f);
    fclose (f);
    log = sent_log_new (path, why, sizeof why);
    assert_int_equal (sent_log_size (log), 3);
    assert_true (sent_log_has (log, 5, "http://h/x"));
    assert_true (sent_log_has (log, 6, "file:a"));
    assert_false (sent_log_has (log, 6, "http://h/x"));
    assert_false (sent_log_has (log, 7, "file:a"));
    assert_int_equal (sent_log_trim (log, 5), 0);
    assert_int_equal (sent_log_size (log), 1);
    assert_false (sent_log_has (log, 5, "file:a"));
    assert_int_equal (sent_log_add (log, 8, "file:a", "delivered"), 0);
    sent_log_destroy (&log);
    char *text = slurp (path);
    assert_string_equal (text, "6 delivered file:a\n8 delivered file:a\n");
    free (text);
    assert_null (sent_log_new ("/nonexistent-dir/x.state", why, sizeof why));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_notification_kinds),
        cmocka_unit_test (test_notification_json_has_ids_only),
        cmocka_unit_test (test_file_sink_once_per_id),
        cmocka_unit_test (test_sink_specs),
        cmocka_unit_test (test_retry_and_give_up),
        cmocka_unit_test (test_http_sink_retries_until_accepted),
        cmocka_unit_test (test_http_sink_client_error_gives_up),
        cmocka_unit_test (test_smtp_sink),
        cmocka_unit_test (test_sent_log),
    };
    return cmocka_run_group_tests (tests, make_tmpdir, remove_tmpdir);
}
