/* test_libexitflow — libexitflow against a real exitflowd.
 *
 * Owns: starting bin/exitflowd (or $EXITFLOWD) on free ports with its own
 * LMDB in a temp dir (fork/exec), and proving through the public API only:
 * every command, typed results, error values on refusal, UNREACHABLE
 * within the timeout, a retry after a stalled daemon applied once, and the
 * subscriber's gapless, in-order delivery when messages are lost (tiny
 * receive HWM, a SUB reconnect, messages dropped on purpose). The
 * protocol's error table is read too, to hold the library's error kinds
 * to it, and its HUD tables, to build typed assessments and to hold
 * hud.codes to them. */
#define _GNU_SOURCE     /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "exitflow.h"
#include "protocol/hud.h"
#include "protocol/hud_fields.h"
#include "protocol/names.h"

/* ---- the daemon ---- */

typedef struct {
    pid_t pid;
    char dir[64];
    char commands[64];
    char events[64];
} daemon_t;

static daemon_t daemon_;
static int serial;

static int
free_port (void)
{
    int s = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (s < 0 || bind (s, (struct sockaddr *) &a, sizeof a) != 0
        || getsockname (s, (struct sockaddr *) &a, &len) != 0)
        return -1;
    close (s);
    return ntohs (a.sin_port);
}

static int64_t
mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms (int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    while (nanosleep (&ts, &ts) == -1 && errno == EINTR)
        ;
}

static exitflow_client_t *
client_new (int timeout_ms, int retries)
{
    exitflow_options_t o = exitflow_options_default ();
    o.timeout_ms = timeout_ms;
    o.retries = retries;
    o.backoff_ms = 50;
    o.actor = "cw-test";
    return exitflow_client_new (daemon_.commands, &o);
}

static int
daemon_start (void **state)
{
    (void) state;
    const char *binary = getenv ("EXITFLOWD");
    if (!binary || !*binary)
        binary = "bin/exitflowd";
    snprintf (daemon_.dir, sizeof daemon_.dir, "/tmp/exitflow-libtest-XXXXXX");
    if (!mkdtemp (daemon_.dir))
        return -1;
    char data[96], log[96];
    snprintf (data, sizeof data, "%s/data", daemon_.dir);
    snprintf (log, sizeof log, "%s/exitflowd.log", daemon_.dir);
    mkdir (data, 0700);
    snprintf (daemon_.commands, sizeof daemon_.commands, "tcp://127.0.0.1:%d",
              free_port ());
    snprintf (daemon_.events, sizeof daemon_.events, "tcp://127.0.0.1:%d",
              free_port ());
    daemon_.pid = fork ();
    if (daemon_.pid == 0) {
        int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2 (fd, 1);
            dup2 (fd, 2);
        }
        execl (binary, "exitflowd", "--data", data, "--commands",
               daemon_.commands, "--events", daemon_.events, "--stall-after",
               "3600", (char *) NULL);
        _exit (127);
    }
    exitflow_client_t *c = client_new (200, 0);
    int64_t deadline = mono_ms () + 10000;
    while (mono_ms () < deadline) {
        exitflow_error_t err;
        exitflow_reply_t *r = exitflow_ping (c, &err);
        if (r) {
            exitflow_reply_destroy (&r);
            exitflow_client_destroy (&c);
            return 0;
        }
        if (waitpid (daemon_.pid, NULL, WNOHANG) == daemon_.pid) {
            fprintf (stderr, "exitflowd (%s) exited at start; see %s\n", binary, log);
            break;
        }
    }
    exitflow_client_destroy (&c);
    return -1;
}

static int
remove_entry (const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb; (void) flag; (void) ftw;
    return remove (path);
}

static int
daemon_stop (void **state)
{
    (void) state;
    if (daemon_.pid > 0) {
        kill (daemon_.pid, SIGCONT);
        kill (daemon_.pid, SIGTERM);
        int status = 0;
        for (int i = 0; i < 100 && waitpid (daemon_.pid, &status, WNOHANG) == 0; i++)
            sleep_ms (100);
        if (kill (daemon_.pid, 0) == 0) {
            kill (daemon_.pid, SIGKILL);
            waitpid (daemon_.pid, &status, 0);
        }
    }
    nftw (daemon_.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- msgpack builders ---- */

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} buf_t;

static void
buf_init (buf_t *b)
{
    msgpack_sbuffer_init (&b->sb);
    msgpack_packer_init (&b->pk, &b->sb, msgpack_sbuffer_write);
}

static void
pk_str (msgpack_packer *pk, const char *s)
{
    msgpack_pack_str (pk, strlen (s));
    msgpack_pack_str_body (pk, s, strlen (s));
}

static void
utc_date (int offset_days, char out[11])
{
    time_t t = time (NULL) + (time_t) offset_days * 86400;
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (out, 11, "%Y-%m-%d", &tm);
}

/* {exit_date: yesterday, destination}: yesterday is never in the future
 * of the daemon's calendar, whatever its time zone. */
static void
exit_form (buf_t *b, int destination)
{
    char yesterday[11];
    utc_date (-1, yesterday);
    buf_init (b);
    msgpack_pack_map (&b->pk, 2);
    pk_str (&b->pk, "exit_date");
    pk_str (&b->pk, yesterday);
    pk_str (&b->pk, "destination");
    msgpack_pack_int (&b->pk, destination);
}

/* Whether `f` is a question a form answers "no" (code 0) to: the follow-up
 * of a yes (indefinite and impairs) is left out. */
static bool
answered_no (const hud_field_t *f)
{
    return f->type == FIELD_CODE && f->role != ROLE_IMPAIRS
           && hud_list_find (f->list, 0);
}

/* Typed data of the assessment `step` (from the protocol's field table:
 * every question answered no) with `n` in the CoC's own field local_n,
 * so that bodies differ. */
static void
pack_assessment (msgpack_packer *pk, const char *step, int n)
{
    const hud_step_fields_t *t
        = &hud_step_fields[hud_step_by_name (step, (unsigned) strlen (step))];
    size_t count = 1;
    for (int i = 0; i < t->n; i++)
        count += answered_no (&t->fields[i]);
    msgpack_pack_map (pk, count);
    for (int i = 0; i < t->n; i++)
        if (answered_no (&t->fields[i])) {
            pk_str (pk, t->fields[i].name);
            msgpack_pack_int (pk, 0);
        }
    pk_str (pk, HUD_LOCAL_PREFIX "n");
    msgpack_pack_int (pk, n);
}

static void
assessment (buf_t *b, const char *step, int n)
{
    buf_init (b);
    pack_assessment (&b->pk, step, n);
}

/* Prior values for every assessment (income only for adults). */
static void
last_values (buf_t *b, bool adult)
{
    buf_init (b);
    int n = 0;
    for (int s = 0; s < STEP_COUNT; s++)
        n += hud_steps[s].allows_default_last
             && (adult || !hud_steps[s].adults_and_hoh_only);
    msgpack_pack_map (&b->pk, (size_t) n);
    for (int s = 0; s < STEP_COUNT; s++)
        if (hud_steps[s].allows_default_last
            && (adult || !hud_steps[s].adults_and_hoh_only)) {
            pk_str (&b->pk, hud_steps[s].name);
            pack_assessment (&b->pk, hud_steps[s].name, s);
        }
}

/* ---- a household ---- */

typedef struct {
    char household[48], hoh[48], spouse[48], child[48];
    char e_hoh[48], e_spouse[48], e_child[48];
    char entry[11];
    char wf[32];
} hh_t;

static void
hh_init (hh_t *h)
{
    int n = ++serial;
    unsigned tag = (unsigned) getpid () ^ (unsigned) time (NULL);
    snprintf (h->household, sizeof h->household, "HH-%x-%d", tag, n);
    snprintf (h->hoh, sizeof h->hoh, "C-%x-%d-hoh", tag, n);
    snprintf (h->spouse, sizeof h->spouse, "C-%x-%d-sp", tag, n);
    snprintf (h->child, sizeof h->child, "C-%x-%d-ch", tag, n);
    snprintf (h->e_hoh, sizeof h->e_hoh, "E-%x-%d-1", tag, n);
    snprintf (h->e_spouse, sizeof h->e_spouse, "E-%x-%d-2", tag, n);
    snprintf (h->e_child, sizeof h->e_child, "E-%x-%d-3", tag, n);
    utc_date (-100, h->entry);
    h->wf[0] = '\0';
}

static exitflow_reply_t *
hh_start (exitflow_client_t *c, hh_t *h, exitflow_error_t *err)
{
    buf_t adult, child;
    last_values (&adult, true);
    last_values (&child, false);
    exitflow_member_t m[] = {
        { .client_id = h->hoh, .enrollment_id = h->e_hoh, .relationship = 1,
          .entry_date = h->entry, .adult = 1, .last = adult.sb.data,
          .last_len = adult.sb.size },
        { .client_id = h->spouse, .enrollment_id = h->e_spouse,
          .relationship = 3, .entry_date = h->entry, .adult = -1,
          .last = adult.sb.data, .last_len = adult.sb.size },
        { .client_id = h->child, .enrollment_id = h->e_child,
          .relationship = 2, .entry_date = h->entry, .adult = 0,
          .last = child.sb.data, .last_len = child.sb.size },
    };
    exitflow_household_t hh = {
        .enrollment_id = h->e_hoh, .household_id = h->household,
        .project_id = "P-test", .project_type = 1, .members = m,
        .member_count = 3,
    };
    exitflow_reply_t *r = exitflow_start (c, &hh, err);
    if (r)
        snprintf (h->wf, sizeof h->wf, "%s", exitflow_reply_workflow_id (r));
    msgpack_sbuffer_destroy (&adult.sb);
    msgpack_sbuffer_destroy (&child.sb);
    return r;
}

static void
hh_start_ok (exitflow_client_t *c, hh_t *h)
{
    exitflow_error_t err;
    exitflow_reply_t *r = hh_start (c, h, &err);
    if (!r)
        fail_msg ("start: %s %s", err.code, err.message);
    exitflow_reply_destroy (&r);
}

/* Saves a step and returns the new version (fails the test on error). */
static int64_t
save_ok (exitflow_client_t *c, const char *wf, const char *who, const char *step)
{
    exitflow_error_t err;
    buf_t b;
    if (strcmp (step, "exit") == 0)
        exit_form (&b, 410);
    else
        assessment (&b, step, 1);
    exitflow_reply_t *r = exitflow_save (c, wf, who, step, b.sb.data, b.sb.size,
                                         EXITFLOW_ANY_VERSION, &err);
    msgpack_sbuffer_destroy (&b.sb);
    if (!r)
        fail_msg ("save %s: %s %s (field %s)", step, err.code, err.message,
                  err.field);
    int64_t v = exitflow_reply_version (r);
    exitflow_reply_destroy (&r);
    return v;
}

static int64_t
version_of (exitflow_client_t *c, const char *wf)
{
    exitflow_error_t err;
    exitflow_reply_t *r = exitflow_get (c, wf, &err);
    assert_non_null (r);
    int64_t v = exitflow_reply_version (r);
    exitflow_reply_destroy (&r);
    return v;
}

static int64_t
last_seq (exitflow_client_t *c)
{
    exitflow_error_t err;
    exitflow_reply_t *r = exitflow_stats (c, &err);
    assert_non_null (r);
    int64_t seq = -1;
    assert_true (exitflow_obj_int (exitflow_reply_result (r), "last_seq", &seq));
    exitflow_reply_destroy (&r);
    return seq;
}

/* Pipelines `n` dq.report writes through one DEALER (one dq.reported event
 * each) and waits for every reply: a burst the subscriber cannot keep up
 * with. */
static void
flood (const char *wf, int n)
{
    void *ctx = zmq_ctx_new ();
    void *s = zmq_socket (ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (s, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt (s, ZMQ_RCVHWM, &zero, sizeof zero);
    assert_int_equal (zmq_connect (s, daemon_.commands), 0);
    for (int i = 0; i < n; i++) {
        buf_t b;
        buf_init (&b);
        char id[64], source[16], rule[16];
        /* Fresh ids on every call: a repeated id and body would be an
         * idempotent replay, with no new event. */
        static unsigned flood_serial;
        snprintf (id, sizeof id, "flood-%d-%u", getpid (), ++flood_serial);
        snprintf (source, sizeof source, "s%d", i % 7);
        snprintf (rule, sizeof rule, "r%d", i);
        msgpack_pack_map (&b.pk, 4);
        pk_str (&b.pk, "v");
        msgpack_pack_int (&b.pk, 1);
        pk_str (&b.pk, "id");
        pk_str (&b.pk, id);
        pk_str (&b.pk, "cmd");
        pk_str (&b.pk, "dq.report");
        pk_str (&b.pk, "args");
        msgpack_pack_map (&b.pk, 3);
        pk_str (&b.pk, "workflow_id");
        pk_str (&b.pk, wf);
        pk_str (&b.pk, "source");
        pk_str (&b.pk, source);
        pk_str (&b.pk, "findings");
        msgpack_pack_array (&b.pk, 1);
        msgpack_pack_map (&b.pk, 3);
        pk_str (&b.pk, "rule");
        pk_str (&b.pk, rule);
        pk_str (&b.pk, "severity");
        pk_str (&b.pk, "warning");
        pk_str (&b.pk, "message");
        pk_str (&b.pk, "m");
        zmq_send (s, "", 0, ZMQ_SNDMORE);
        zmq_send (s, b.sb.data, b.sb.size, 0);
        msgpack_sbuffer_destroy (&b.sb);
    }
    for (int i = 0; i < n; i++) {
        zmq_pollitem_t item = { s, 0, ZMQ_POLLIN, 0 };
        assert_int_equal (zmq_poll (&item, 1, 30000), 1);
        int more = 1;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init (&m);
            assert_true (zmq_msg_recv (&m, s, 0) >= 0);
            more = zmq_msg_more (&m);
            zmq_msg_close (&m);
        }
    }
    zmq_close (s);
    zmq_ctx_term (ctx);
}

/* Collects `n` events; fails if they do not come within `timeout_ms`. */
static exitflow_event_t **
collect (exitflow_subscriber_t *sub, int n, int timeout_ms)
{
    exitflow_event_t **out = calloc ((size_t) n, sizeof *out);
    int64_t deadline = mono_ms () + timeout_ms;
    for (int got = 0; got < n;) {
        int64_t left = deadline - mono_ms ();
        if (left <= 0)
            fail_msg ("only %d of %d events", got, n);
        exitflow_error_t err;
        int rc = exitflow_subscriber_next (sub, (int) left, &out[got], &err);
        if (rc < 0)
            fail_msg ("subscriber: %s %s", err.code, err.message);
        if (rc == 1)
            got++;
    }
    return out;
}

static void
free_events (exitflow_event_t **evs, int n)
{
    for (int i = 0; i < n; i++)
        exitflow_event_destroy (&evs[i]);
    free (evs);
}

/* The events in [from, from+n) must come as exactly those seqs, in order,
 * and match the log. */
static void
assert_consecutive (exitflow_client_t *c, exitflow_event_t **evs, int n,
                    uint64_t from)
{
    for (int i = 0; i < n; i++)
        if (exitflow_event_seq (evs[i]) != from + (uint64_t) i)
            fail_msg ("event %d has seq %llu, expected %llu", i,
                      (unsigned long long) exitflow_event_seq (evs[i]),
                      (unsigned long long) (from + (uint64_t) i));
    /* Same content as the log: type and timestamp of each. */
    int i = 0;
    while (i < n) {
        exitflow_error_t err;
        exitflow_reply_t *r = exitflow_events_read (c, from + (uint64_t) i - 1,
                                                    1000, &err);
        assert_non_null (r);
        const msgpack_object *events = exitflow_obj_get (exitflow_reply_result (r),
                                                         "events");
        assert_non_null (events);
        assert_true (events->via.array.size > 0);
        for (uint32_t k = 0; k < events->via.array.size && i < n; k++, i++) {
            char type[64], ts[40];
            const msgpack_object *e = &events->via.array.ptr[k];
            assert_true (exitflow_obj_str (e, "type", type, sizeof type));
            assert_true (exitflow_obj_str (e, "ts", ts, sizeof ts));
            assert_string_equal (type, exitflow_event_type (evs[i]));
            assert_string_equal (ts, exitflow_event_ts (evs[i]));
        }
        exitflow_reply_destroy (&r);
    }
}

/* ---- commands ---- */

static void
test_ping_and_stats (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (2000, 1);
    exitflow_error_t err;
    exitflow_reply_t *r = exitflow_ping (c, &err);
    assert_non_null (r);
    bool pong = false;
    char version[32];
    assert_true (exitflow_obj_bool (exitflow_reply_result (r), "pong", &pong));
    assert_true (pong);
    assert_true (exitflow_obj_str (exitflow_reply_result (r), "version", version,
                                   sizeof version));
    assert_string_equal (version, "exitflow/1");
    exitflow_reply_destroy (&r);
    assert_null (r);

    r = exitflow_stats (c, &err);
    assert_non_null (r);
    const msgpack_object *w = exitflow_obj_get (exitflow_reply_result (r),
                                                "workflows");
    int64_t open;
    assert_true (exitflow_obj_int (w, "open", &open));
    exitflow_reply_destroy (&r);
    exitflow_client_destroy (&c);
    assert_null (c);
}

static void
test_request_ids_are_fresh_ulids (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (2000, 1);
    exitflow_error_t err;
    char first[64];
    for (int i = 0; i < 2; i++) {
        exitflow_reply_t *r = exitflow_ping (c, &err);
        assert_non_null (r);
        const char *id = exitflow_reply_id (r);
        assert_int_equal (strlen (id), 26);
        assert_int_equal (strspn (id, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"), 26);
        if (i == 0)
            snprintf (first, sizeof first, "%s", id);
        else
            assert_string_not_equal (first, id);
        exitflow_reply_destroy (&r);
    }
    exitflow_client_destroy (&c);
}

static void
test_start_and_get_typed (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (2000, 1);
    hh_t h;
    hh_init (&h);
    exitflow_error_t err;
    exitflow_reply_t *r = hh_start (c, &h, &err);
    assert_non_null (r);
    assert_int_equal (strlen (exitflow_reply_workflow_id (r)), 26);
    assert_int_equal (exitflow_reply_version (r), 1);
    assert_string_equal (exitflow_reply_state (r), "open");
    assert_null (exitflow_reply_next_step (r));
    exitflow_reply_destroy (&r);

    r = exitflow_get (c, h.wf, &err);
    assert_non_null (r);
    const msgpack_object *view = exitflow_reply_result (r);
    assert_string_equal (exitflow_reply_workflow_id (r), h.wf);
    assert_int_equal (exitflow_reply_version (r), 1);
    char text[64];
    assert_true (exitflow_obj_str (view, "household_id", text, sizeof text));
    assert_string_equal (text, h.household);
    assert_true (exitflow_obj_str (view, "started_by", text, sizeof text));
    assert_string_equal (text, "cw-test");
    const msgpack_object *members = exitflow_obj_get (view, "members");
    assert_non_null (members);
    assert_int_equal (members->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (members->via.array.size, 3);
    assert_true (exitflow_obj_str (&members->via.array.ptr[0], "decision", text,
                                   sizeof text));
    assert_string_equal (text, "exiting");
    assert_true (exitflow_obj_str (&members->via.array.ptr[0], "next_step", text,
                                   sizeof text));
    assert_string_equal (text, "exit");
    bool adult = true;
    assert_true (exitflow_obj_bool (&members->via.array.ptr[2], "adult", &adult));
    assert_false (adult);
    size_t len = 0;
    assert_non_null (exitflow_reply_body (r, &len));
    assert_true (len > 0);
    exitflow_reply_destroy (&r);
    exitflow_client_destroy (&c);
}

/* birth_date and move_in_date reach the daemon: it works out who is an
 * adult from the dates of birth (the flag wins when given) and keeps the
 * move-in date of a permanent housing project. */
static void
test_start_with_dates_of_birth_and_move_in (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (2000, 1);
    hh_t h;
    hh_init (&h);
    char adult_born[11], child_born[11], move_in[11];
    utc_date (-40 * 366, adult_born);
    utc_date (-9 * 366, child_born);
    utc_date (-30, move_in);
    exitflow_member_t m[] = {
        { .client_id = h.hoh, .enrollment_id = h.e_hoh, .relationship = 1,
          .entry_date = h.entry, .adult = -1, .birth_date = adult_born },
        { .client_id = h.child, .enrollment_id = h.e_child, .relationship = 2,
          .entry_date = h.entry, .adult = -1, .birth_date = child_born },
        { .client_id = h.spouse, .enrollment_id = h.e_spouse,
          .relationship = 3, .entry_date = h.entry, .adult = 1,
          .birth_date = child_born },
    };
    exitflow_household_t hh = {
        .enrollment_id = h.e_hoh, .household_id = h.household,
        .project_id = "P-test", .project_type = HUD_PROJECT_RRH,
        .move_in_date = move_in, .members = m, .member_count = 3,
    };
    exitflow_error_t err;
    exitflow_reply_t *r = exitflow_start (c, &hh, &err);
    if (!r)
        fail_msg ("start: %s %s (field %s)", err.code, err.message, err.field);
    snprintf (h.wf, sizeof h.wf, "%s", exitflow_reply_workflow_id (r));
    exitflow_reply_destroy (&r);

    r = exitflow_get (c, h.wf, &err);
    assert_non_null (r);
    const msgpack_object *view = exitflow_reply_result (r);
    char text[32];
    assert_true (exitflow_obj_str (view, "move_in_date", text, sizeof text));
    assert_string_equal (text, move_in);
    const char *basis[] = { "birth_date", "birth_date", "adult_flag" };
    const bool adult[] = { true, false, true };
    const msgpack_object *members = exitflow_obj_get (view, "members");
    for (int i = 0; i < 3; i++) {
        const msgpack_object *mv = &members->via.array.ptr[i];
        assert_true (exitflow_obj_str (mv, "age_basis", text, sizeof text));
        assert_string_equal (text, basis[i]);
        bool a = !adult[i];
        assert_true (exitflow_obj_bool (mv, "adult", &a));
        assert_int_equal (a, adult[i]);
        /* never in the view (nor in events or logs) */
        assert_null (exitflow_obj_get (mv, "birth_date"));
    }
    exitflow_reply_destroy (&r);

    /* A move-in date outside permanent housing is refused, by name. */
    hh_t other;
    hh_init (&other);
    m[0].enrollment_id = other.e_hoh;
    m[0].client_id = other.hoh;
    hh = (exitflow_household_t) {
        .enrollment_id = other.e_hoh, .household_id = other.household,
        .project_id = "P-test", .project_type = 1, .move_in_date = move_in,
        .members = m, .member_count = 1,
    };
    assert_null (exitflow_start (c, &hh, &err));
    assert_string_equal (err.code, "VALIDATION");
    assert_string_equal (err.field, "move_in_date");
    exitflow_client_destroy (&c);
}

/* hud.codes is the protocol's tables, every label HUD's. */
static void
test_hud_codes_are_the_protocol_tables (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (2000, 1);
    exitflow_error_t err;
    exitflow_reply_t *r = exitflow_hud_codes (c, &err);
    if (!r)
        fail_msg ("hud.codes: %s %s", err.code, err.message);
    const msgpack_object *codes = exitflow_reply_result (r);
    const msgpack_object *dest = exitflow_obj_get (codes, "destinations");
    assert_non_null (dest);
    assert_int_equal (dest->via.array.size, hud_destination_count);
    for (int i = 0; i < hud_destination_count; i++) {
        const msgpack_object *d = &dest->via.array.ptr[i];
        char label[256], category[32];
        int64_t code;
        assert_true (exitflow_obj_int (d, "code", &code));
        assert_int_equal (code, hud_destinations[i].code);
        assert_true (exitflow_obj_str (d, "label", label, sizeof label));
        assert_string_equal (label, hud_destinations[i].label);
        assert_true (exitflow_obj_str (d, "category", category, sizeof category));
        assert_string_equal (category,
                             hud_dest_category_names[hud_destinations[i].category]);
    }
    const msgpack_object *lists = exitflow_obj_get (codes, "lists");
    for (int l = 0; l < HUD_LIST_COUNT; l++) {
        const msgpack_object *list = exitflow_obj_get (lists, hud_lists[l].name);
        assert_non_null (list);
        const msgpack_object *items = exitflow_obj_get (list, "codes");
        assert_int_equal (items->via.array.size, hud_lists[l].n);
        char label[256];
        assert_true (exitflow_obj_str (&items->via.array.ptr[0], "label", label,
                                       sizeof label));
        assert_string_equal (label, hud_lists[l].codes[0].label);
    }
    const msgpack_object *steps = exitflow_obj_get (codes, "steps");
    assert_int_equal (steps->via.array.size, STEP_COUNT);
    for (int s = 0; s < STEP_COUNT; s++) {
        const msgpack_object *fields
            = exitflow_obj_get (&steps->via.array.ptr[s], "fields");
        assert_int_equal (fields->via.array.size, hud_step_fields[s].n);
    }
    char prefix[16];
    assert_true (exitflow_obj_str (codes, "local_prefix", prefix, sizeof prefix));
    assert_string_equal (prefix, HUD_LOCAL_PREFIX);
    exitflow_reply_destroy (&r);
    exitflow_client_destroy (&c);
}

/* The item of workflow `wf` in a workflow.export page, or NULL. */
static const msgpack_object *
exported (const exitflow_reply_t *page, const char *wf)
{
    const msgpack_object *items = exitflow_obj_get (exitflow_reply_result (page),
                                                    "workflows");
    for (uint32_t i = 0; i < items->via.array.size; i++) {
        char id[32];
        exitflow_obj_str (exitflow_obj_get (&items->via.array.ptr[i],
                                            "workflow"),
                          "workflow_id", id, sizeof id);
        if (strcmp (id, wf) == 0)
            return &items->via.array.ptr[i];
    }
    return NULL;
}

static void
test_full_exit (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (2000, 1);
    hh_t h;
    hh_init (&h);
    hh_start_ok (c, &h);
    exitflow_error_t err;
    uint64_t before = (uint64_t) last_seq (c);

    assert_int_equal (save_ok (c, h.wf, h.hoh, "exit"), 2);
    exitflow_reply_t *r = exitflow_save_default_last (c, h.wf, h.hoh,
                                                      "universal_data", 2, &err);
    assert_non_null (r);
    assert_int_equal (exitflow_reply_version (r), 3);
    assert_string_equal (exitflow_reply_next_step (r), "health_insurance");
    exitflow_reply_destroy (&r);
    save_ok (c, h.wf, h.hoh, "health_insurance");
    save_ok (c, h.wf, h.hoh, "disabilities");
    r = exitflow_save_default_last (c, h.wf, h.hoh, "income_benefits",
                                    EXITFLOW_ANY_VERSION, &err);
    assert_non_null (r);
    assert_null (exitflow_reply_next_step (r));
    exitflow_reply_destroy (&r);

    r = exitflow_decide (c, h.wf, h.spouse, false, EXITFLOW_ANY_VERSION, &err);
    assert_non_null (r);
    char decision[16];
    assert_true (exitflow_obj_str (exitflow_reply_result (r), "decision",
                                   decision, sizeof decision));
    assert_string_equal (decision, "staying");
    exitflow_reply_destroy (&r);
    r = exitflow_decide (c, h.wf, h.child, true, EXITFLOW_ANY_VERSION, &err);
    assert_non_null (r);
    exitflow_reply_destroy (&r);
    const char *child_steps[] = { "exit", "universal_data", "health_insurance",
                                  "disabilities" };
    for (int i = 0; i < 4; i++)
        save_ok (c, h.wf, h.child, child_steps[i]);

    /* The head exits and the spouse stays: a new head is required. */
    r = exitflow_finish (c, h.wf, NULL, EXITFLOW_ANY_VERSION, &err);
    assert_null (r);
    assert_string_equal (err.code, "VALIDATION");
    assert_string_equal (err.field, "new_head_of_household");
    r = exitflow_finish (c, h.wf, h.spouse, version_of (c, h.wf), &err);
    assert_non_null (r);
    assert_string_equal (exitflow_reply_state (r), "finished");
    exitflow_reply_destroy (&r);

    /* 1 started, 5 + 4 steps, 2 decisions, 2 exited, 1 finished */
    r = exitflow_history (c, h.wf, &err);
    assert_non_null (r);
    const msgpack_object *events = exitflow_obj_get (exitflow_reply_result (r),
                                                     "events");
    assert_int_equal (events->via.array.size, 15);
    exitflow_reply_destroy (&r);
    assert_int_equal ((uint64_t) last_seq (c), before + 14);

    /* In the finished list, not the open one. */
    bool found = false;
    char after[128] = "";
    for (;;) {
        r = exitflow_list (c, "finished", "P-test", -1, 2, after[0] ? after : NULL,
                           &err);
        assert_non_null (r);
        const msgpack_object *items = exitflow_obj_get (exitflow_reply_result (r),
                                                        "workflows");
        for (uint32_t i = 0; i < items->via.array.size; i++) {
            char id[32];
            exitflow_obj_str (&items->via.array.ptr[i], "workflow_id", id, sizeof id);
            found |= strcmp (id, h.wf) == 0;
        }
        bool more = exitflow_obj_str (exitflow_reply_result (r), "next", after,
                                      sizeof after);
        exitflow_reply_destroy (&r);
        if (!more)
            break;
    }
    assert_true (found);
    r = exitflow_list (c, "open", NULL, 0, 1000, NULL, &err);
    assert_non_null (r);
    const msgpack_object *items = exitflow_obj_get (exitflow_reply_result (r),
                                                    "workflows");
    for (uint32_t i = 0; i < items->via.array.size; i++) {
        char id[32];
        exitflow_obj_str (&items->via.array.ptr[i], "workflow_id", id, sizeof id);
        assert_string_not_equal (id, h.wf);
    }
    exitflow_reply_destroy (&r);

    /* Exported today (3.1), the head and the child exiting: page by page
     * until it comes; a span that ended days ago does not hold it. */
    found = false;
    after[0] = '\0';
    for (;;) {
        r = exitflow_export (c, NULL, NULL, 1, after[0] ? after : NULL, &err);
        assert_non_null (r);
        const msgpack_object *item = exported (r, h.wf);
        if (item) {
            found = true;
            assert_int_equal (exitflow_obj_get (item, "exits")->via.array.size,
                              2);
        }
        bool more = exitflow_obj_str (exitflow_reply_result (r), "next", after,
                                      sizeof after);
        exitflow_reply_destroy (&r);
        if (!more)
            break;
    }
    assert_true (found);
    char before_today[11];              /* past today in any zone */
    utc_date (-3, before_today);
    r = exitflow_export (c, NULL, before_today, 0, NULL, &err);
    assert_non_null (r);
    assert_null (exported (r, h.wf));
    exitflow_reply_destroy (&r);
    exitflow_client_destroy (&c);
}

static void
test_cancel_dq_consumers_events (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (2000, 1);
    hh_t h;
    hh_init (&h);
    hh_start_ok (c, &h);
    exitflow_error_t err;

    buf_t f;
    buf_init (&f);
    msgpack_pack_array (&f.pk, 1);
    msgpack_pack_map (&f.pk, 4);
    pk_str (&f.pk, "rule");
    pk_str (&f.pk, "destination-dk");
    pk_str (&f.pk, "severity");
    pk_str (&f.pk, "warning");
    pk_str (&f.pk, "client_id");
    pk_str (&f.pk, h.hoh);
    pk_str (&f.pk, "message");
    pk_str (&f.pk, "destination is don't know");
    exitflow_reply_t *r = exitflow_dq_report (c, h.wf, "dq-test", f.sb.data,
                                              f.sb.size, EXITFLOW_ANY_VERSION, &err);
    msgpack_sbuffer_destroy (&f.sb);
    assert_non_null (r);
    int64_t count;
    assert_true (exitflow_obj_int (exitflow_reply_result (r), "count", &count));
    assert_int_equal (count, 1);
    assert_int_equal (exitflow_reply_version (r), 1);   /* DQ leaves it */
    exitflow_reply_destroy (&r);

    r = exitflow_cancel (c, h.wf, "entered in error", 1, &err);
    assert_non_null (r);
    assert_string_equal (exitflow_reply_state (r), "cancelled");
    exitflow_reply_destroy (&r);
    r = exitflow_get (c, h.wf, &err);
    char reason[64];
    assert_true (exitflow_obj_str (exitflow_reply_result (r), "cancel_reason",
                                   reason, sizeof reason));
    assert_string_equal (reason, "entered in error");
    exitflow_reply_destroy (&r);

    int64_t last = last_seq (c);
    r = exitflow_consumer_ack (c, "libtest", (uint64_t) last, &err);
    assert_non_null (r);
    int64_t lag = -1;
    assert_true (exitflow_obj_int (exitflow_reply_result (r), "lag", &lag));
    assert_int_equal (lag, 0);
    exitflow_reply_destroy (&r);
    r = exitflow_consumer_list (c, &err);
    assert_non_null (r);
    const msgpack_object *list = exitflow_obj_get (exitflow_reply_result (r),
                                                   "consumers");
    bool found = false;
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        char name[64];
        exitflow_obj_str (&list->via.array.ptr[i], "consumer", name, sizeof name);
        found |= strcmp (name, "libtest") == 0;
    }
    assert_true (found);
    exitflow_reply_destroy (&r);

    r = exitflow_events_read (c, (uint64_t) last - 1, 10, &err);
    assert_non_null (r);
    const msgpack_object *events = exitflow_obj_get (exitflow_reply_result (r),
                                                     "events");
    assert_int_equal (events->via.array.size, 1);
    char type[32];
    exitflow_obj_str (&events->via.array.ptr[0], "type", type, sizeof type);
    assert_string_equal (type, "workflow.cancelled");
    exitflow_reply_destroy (&r);
    exitflow_client_destroy (&c);
}

/* The ids exitflow_list_filtered finds, every page, with the item of
 * `want` (if found) checked for started_by, last_actor and stalled. */
static int
list_ids (exitflow_client_t *c, exitflow_list_filter_t f, const char *want,
          const char *started_by, const char *last_actor)
{
    int found = 0, n = 0;
    char after[128] = "";
    exitflow_error_t err;
    for (;;) {
        f.limit = 2;
        f.after = after[0] ? after : NULL;
        exitflow_reply_t *r = exitflow_list_filtered (c, &f, &err);
        if (!r)
            fail_msg ("list: %s %s (field %s)", err.code, err.message, err.field);
        const msgpack_object *items = exitflow_obj_get (exitflow_reply_result (r),
                                                        "workflows");
        for (uint32_t i = 0; i < items->via.array.size; i++, n++) {
            const msgpack_object *w = &items->via.array.ptr[i];
            char id[32], by[64], last[64];
            exitflow_obj_str (w, "workflow_id", id, sizeof id);
            if (strcmp (id, want) != 0)
                continue;
            found++;
            bool stalled = true;
            assert_true (exitflow_obj_str (w, "started_by", by, sizeof by));
            assert_string_equal (by, started_by);
            assert_true (exitflow_obj_str (w, "last_actor", last, sizeof last));
            assert_string_equal (last, last_actor);
            assert_true (exitflow_obj_bool (w, "stalled", &stalled));
            assert_false (stalled);
        }
        bool more = exitflow_obj_str (exitflow_reply_result (r), "next", after,
                                      sizeof after);
        exitflow_reply_destroy (&r);
        if (!more)
            break;
    }
    assert_true (n >= found);
    return found;
}

/* Finding exits (3.0): by a member's client or enrollment, by household,
 * by who started or last changed it, in every state when no state is
 * given; the other filters narrow. */
static void
test_list_filtered_finds_exits (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (2000, 1);
    hh_t h;
    hh_init (&h);
    hh_start_ok (c, &h);
    exitflow_options_t o = exitflow_options_default ();
    o.actor = "cw-other";
    exitflow_client_t *other = exitflow_client_new (daemon_.commands, &o);
    save_ok (other, h.wf, h.hoh, "exit");
    exitflow_client_destroy (&other);

    const char *by = "cw-test", *last = "cw-other";
    assert_int_equal (list_ids (c, (exitflow_list_filter_t) {
                          .client_id = h.spouse }, h.wf, by, last), 1);
    assert_int_equal (list_ids (c, (exitflow_list_filter_t) {
                          .enrollment_id = h.e_child }, h.wf, by, last), 1);
    assert_int_equal (list_ids (c, (exitflow_list_filter_t) {
                          .household_id = h.household, .state = "open",
                          .project_id = "P-test" }, h.wf, by, last), 1);
    assert_int_equal (list_ids (c, (exitflow_list_filter_t) {
                          .actor = "cw-other" }, h.wf, by, last), 1);
    assert_int_equal (list_ids (c, (exitflow_list_filter_t) {
                          .actor = "cw-test" }, h.wf, by, last), 1);
    /* narrowed away: another state, stalled, idle for an hour */
    assert_int_equal (list_ids (c, (exitflow_list_filter_t) {
                          .household_id = h.household, .state = "finished" },
                          h.wf, by, last), 0);
    assert_int_equal (list_ids (c, (exitflow_list_filter_t) {
                          .client_id = h.hoh, .stalled = EXITFLOW_STALLED_ONLY },
                          h.wf, by, last), 0);
    assert_int_equal (list_ids (c, (exitflow_list_filter_t) {
                          .client_id = h.hoh, .stalled = EXITFLOW_STALLED_NOT },
                          h.wf, by, last), 1);
    assert_int_equal (list_ids (c, (exitflow_list_filter_t) {
                          .household_id = h.household, .idle_for_s = 3600 },
                          h.wf, by, last), 0);
    /* a cancelled exit is still the household's */
    exitflow_error_t err;
    exitflow_reply_t *r = exitflow_cancel (c, h.wf, "entered twice",
                                           EXITFLOW_ANY_VERSION, &err);
    assert_non_null (r);
    exitflow_reply_destroy (&r);
    assert_int_equal (list_ids (c, (exitflow_list_filter_t) {
                          .household_id = h.household }, h.wf, by, "cw-test"),
                      1);
    /* no state and no key filter: the daemon's refusal, as a value */
    r = exitflow_list_filtered (c, &(exitflow_list_filter_t) { .limit = 1 },
                                &err);
    assert_null (r);
    assert_string_equal (err.code, "BAD_REQUEST");
    assert_string_equal (err.field, "state");
    exitflow_client_destroy (&c);
}

/* consumer.delete (3.0): gone from consumer.list, NOT_FOUND the second
 * time, made anew by its next ack; consumer.list says when each acked. */
static void
test_consumer_delete (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (2000, 1);
    exitflow_error_t err;
    exitflow_reply_t *r = exitflow_consumer_ack (c, "libtest-retire", 0, &err);
    assert_non_null (r);
    exitflow_reply_destroy (&r);
    r = exitflow_consumer_list (c, &err);
    assert_non_null (r);
    const msgpack_object *list = exitflow_obj_get (exitflow_reply_result (r),
                                                   "consumers");
    int found = 0;
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        char name[64], at[40];
        exitflow_obj_str (&list->via.array.ptr[i], "consumer", name, sizeof name);
        if (strcmp (name, "libtest-retire") != 0)
            continue;
        found++;
        assert_true (exitflow_obj_str (&list->via.array.ptr[i], "acked_at", at,
                                       sizeof at));
        assert_int_equal (strlen (at), 24);         /* RFC 3339, ms, Z */
        assert_int_equal (at[23], 'Z');
    }
    assert_int_equal (found, 1);
    exitflow_reply_destroy (&r);

    r = exitflow_consumer_delete (c, "libtest-retire", &err);
    assert_non_null (r);
    bool deleted = false;
    char name[64];
    assert_true (exitflow_obj_bool (exitflow_reply_result (r), "deleted",
                                    &deleted));
    assert_true (deleted);
    assert_true (exitflow_obj_str (exitflow_reply_result (r), "consumer", name,
                                   sizeof name));
    assert_string_equal (name, "libtest-retire");
    exitflow_reply_destroy (&r);
    r = exitflow_consumer_delete (c, "libtest-retire", &err);
    assert_null (r);
    assert_string_equal (err.code, "NOT_FOUND");
    assert_true (exitflow_error_is_refusal (&err));
    r = exitflow_consumer_ack (c, "libtest-retire", 0, &err);
    assert_non_null (r);
    exitflow_reply_destroy (&r);
    r = exitflow_consumer_delete (c, "libtest-retire", &err);
    assert_non_null (r);
    exitflow_reply_destroy (&r);
    exitflow_client_destroy (&c);
}

/* store.backup (3.0): the answer when the copy is done, the directory
 * absolute and private; a directory that is not empty is refused. */
static void
test_backup (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (30000, 0);
    char parent[] = "/tmp/libexitflow-backup-XXXXXX", dir[64], file[80];
    assert_non_null (mkdtemp (parent));
    snprintf (dir, sizeof dir, "%s/copy", parent);
    snprintf (file, sizeof file, "%s/data.mdb", dir);
    exitflow_error_t err;
    exitflow_reply_t *r = exitflow_backup (c, dir, &err);
    assert_non_null (r);
    const msgpack_object *res = exitflow_reply_result (r);
    char got[64];
    int64_t bytes, last_seq;
    assert_true (exitflow_obj_str (res, "dir", got, sizeof got));
    assert_string_equal (got, dir);
    assert_true (exitflow_obj_int (res, "bytes", &bytes));
    assert_true (exitflow_obj_int (res, "last_seq", &last_seq));
    assert_true (last_seq >= 0);
    struct stat st;
    assert_int_equal (stat (file, &st), 0);
    assert_int_equal (bytes, st.st_size);
    assert_int_equal (st.st_mode & 0777, 0600);
    exitflow_reply_destroy (&r);
    assert_null (exitflow_backup (c, dir, &err));
    assert_string_equal (err.code, "VALIDATION");
    assert_string_equal (err.field, "dir");
    assert_null (exitflow_backup (c, NULL, &err));
    assert_string_equal (err.code, "BAD_REQUEST");
    exitflow_client_destroy (&c);
    unlink (file);
    rmdir (dir);
    rmdir (parent);
}

static void
test_refusals_are_error_values (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (2000, 1);
    hh_t h;
    hh_init (&h);
    hh_start_ok (c, &h);
    exitflow_error_t err;
    buf_t b;

    exit_form (&b, 9999);
    exitflow_reply_t *r = exitflow_save (c, h.wf, h.hoh, "exit", b.sb.data,
                                         b.sb.size, EXITFLOW_ANY_VERSION, &err);
    msgpack_sbuffer_destroy (&b.sb);
    assert_null (r);
    assert_string_equal (err.code, "VALIDATION");
    /* a member's refusal names the client, in the path and the message,
     * and the whole path fits the error value */
    char path[sizeof err.field];
    snprintf (path, sizeof path, "members[client_id=%s].steps.exit.destination",
              h.hoh);
    assert_string_equal (err.field, path);
    assert_non_null (strstr (err.message, h.hoh));
    assert_true (exitflow_error_is_refusal (&err));

    /* A second start for the household names the open workflow. */
    r = hh_start (c, &(hh_t) { 0 }, &err);  /* an empty household: refused */
    assert_null (r);
    assert_string_equal (err.code, "BAD_REQUEST");
    hh_t again = h;
    r = hh_start (c, &again, &err);
    assert_null (r);
    assert_string_equal (err.code, "CONFLICT");
    assert_string_equal (err.workflow_id, h.wf);

    /* A stale expected_version carries the current one. */
    r = exitflow_cancel (c, h.wf, "x", 7, &err);
    assert_null (r);
    assert_string_equal (err.code, "CONFLICT");
    assert_int_equal (err.version, 1);

    r = exitflow_get (c, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &err);
    assert_null (r);
    assert_string_equal (err.code, "NOT_FOUND");

    r = exitflow_finish (c, h.wf, NULL, EXITFLOW_ANY_VERSION, &err);
    assert_null (r);
    assert_string_equal (err.code, "INVALID_STATE");

    r = exitflow_call (c, "no.such", NULL, 0, &err);
    assert_null (r);
    assert_string_equal (err.code, "UNKNOWN_COMMAND");

    /* Bytes that are not msgpack never leave the client. */
    r = exitflow_save (c, h.wf, h.hoh, "exit", "\xc1", 1, EXITFLOW_ANY_VERSION,
                       &err);
    assert_null (r);
    assert_string_equal (err.code, "BAD_REQUEST");
    assert_string_equal (err.field, "data");
    r = exitflow_dq_report (c, h.wf, "s", "\x80", 1, EXITFLOW_ANY_VERSION, &err);
    assert_null (r);
    assert_string_equal (err.field, "findings");
    assert_int_equal (version_of (c, h.wf), 1);
    exitflow_client_destroy (&c);
}

/* The public codes are the protocol's; which errors are refusals and which
 * are worth retrying follows the protocol's error table. */
static void
test_error_kinds_follow_the_protocol_table (void **state)
{
    (void) state;
    assert_string_equal (EXITFLOW_BAD_REQUEST, EXF_BAD_REQUEST);
    exitflow_error_t err = { .version = -1 };
    for (size_t i = 0; i < exf_error_code_count; i++) {
        snprintf (err.code, sizeof err.code, "%s", exf_error_codes[i].code);
        assert_true (exitflow_error_is_refusal (&err));
        assert_int_equal (exitflow_error_is_transient (&err),
                          exf_error_codes[i].transient);
    }
    /* No answer was read: never a refusal, always worth another try. */
    const char *lost[] = { EXITFLOW_UNREACHABLE, EXITFLOW_BAD_REPLY };
    for (size_t i = 0; i < sizeof lost / sizeof lost[0]; i++) {
        assert_null (exf_error_code (lost[i]));
        snprintf (err.code, sizeof err.code, "%s", lost[i]);
        assert_false (exitflow_error_is_refusal (&err));
        assert_true (exitflow_error_is_transient (&err));
    }
    /* A code this client does not know is still the daemon's refusal. */
    snprintf (err.code, sizeof err.code, "NOT_YET_INVENTED");
    assert_true (exitflow_error_is_refusal (&err));
    assert_false (exitflow_error_is_transient (&err));
}

static void
test_unreachable_within_timeout (void **state)
{
    (void) state;
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", free_port ());
    exitflow_options_t o = exitflow_options_default ();
    o.timeout_ms = 200;
    o.retries = 2;
    o.backoff_ms = 50;
    exitflow_client_t *c = exitflow_client_new (endpoint, &o);
    assert_non_null (c);
    exitflow_error_t err;
    int64_t t0 = mono_ms ();
    exitflow_reply_t *r = exitflow_stats (c, &err);
    int64_t took = mono_ms () - t0;
    assert_null (r);
    assert_string_equal (err.code, EXITFLOW_UNREACHABLE);
    assert_false (exitflow_error_is_refusal (&err));
    /* 3 × 200 ms + 50 + 100 ms of backoff, and some slack */
    assert_true (took >= 700);
    assert_true (took < 1500);
    exitflow_client_destroy (&c);

    assert_null (exitflow_client_new ("not an endpoint", NULL));
    assert_null (exitflow_client_new ("", NULL));
}

/* Resumes the stopped daemon after a while, from another thread. */
static void *
resume_later (void *arg)
{
    sleep_ms (*(int *) arg);
    kill (daemon_.pid, SIGCONT);
    return NULL;
}

static void
test_retry_after_stall_is_applied_once (void **state)
{
    (void) state;
    exitflow_client_t *setup = client_new (2000, 1);
    hh_t h;
    hh_init (&h);
    hh_start_ok (setup, &h);
    save_ok (setup, h.wf, h.hoh, "exit");
    int64_t before = version_of (setup, h.wf);
    int64_t seq_before = last_seq (setup);

    /* Stopped for longer than two attempts: the first sends are queued
     * in the daemon's socket buffers and read after SIGCONT, then the
     * re-send with the same id and bytes arrives too. */
    exitflow_options_t o = exitflow_options_default ();
    o.timeout_ms = 300;
    o.retries = 6;
    o.backoff_ms = 50;
    exitflow_client_t *c = exitflow_client_new (daemon_.commands, &o);
    assert_int_equal (kill (daemon_.pid, SIGSTOP), 0);
    int stall_ms = 800;
    pthread_t t;
    pthread_create (&t, NULL, resume_later, &stall_ms);
    buf_t b;
    assessment (&b, "universal_data", 7);
    exitflow_error_t err;
    int64_t t0 = mono_ms ();
    exitflow_reply_t *r = exitflow_save (c, h.wf, h.hoh, "universal_data",
                                         b.sb.data, b.sb.size,
                                         EXITFLOW_ANY_VERSION, &err);
    int64_t took = mono_ms () - t0;
    pthread_join (t, NULL);
    msgpack_sbuffer_destroy (&b.sb);
    if (!r)
        fail_msg ("retried save: %s %s", err.code, err.message);
    assert_true (took >= stall_ms - 50);    /* it really was retried */
    assert_int_equal (exitflow_reply_version (r), before + 1);
    exitflow_reply_destroy (&r);

    sleep_ms (300);                 /* let every copy reach the daemon */
    assert_int_equal (version_of (setup, h.wf), before + 1);
    assert_int_equal (last_seq (setup), seq_before + 1);
    exitflow_client_destroy (&c);
    exitflow_client_destroy (&setup);
}

/* ---- the subscriber ---- */

static exitflow_subscriber_t *
subscriber_new (uint64_t after, const char *prefix, int rcvhwm,
                int poll_interval_ms)
{
    exitflow_options_t o = exitflow_options_default ();
    o.timeout_ms = 5000;
    o.rcvhwm = rcvhwm;
    o.poll_interval_ms = poll_interval_ms;
    exitflow_subscriber_t *sub = exitflow_subscriber_new (daemon_.commands,
                                                          daemon_.events, after,
                                                          prefix, &o);
    assert_non_null (sub);
    return sub;
}

static void
test_subscriber_catches_up_then_follows (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (2000, 1);
    hh_t h;
    hh_init (&h);
    uint64_t start = (uint64_t) last_seq (c);
    hh_start_ok (c, &h);
    save_ok (c, h.wf, h.hoh, "exit");
    exitflow_subscriber_t *sub = subscriber_new (start, NULL, 0, 500);
    exitflow_event_t **evs = collect (sub, 2, 10000);
    assert_consecutive (c, evs, 2, start + 1);
    assert_string_equal (exitflow_event_type (evs[0]), "workflow.started");
    assert_string_equal (exitflow_event_workflow_id (evs[0]), h.wf);
    assert_string_equal (exitflow_event_client_id (evs[0]), h.hoh);
    assert_string_equal (exitflow_event_actor (evs[0]), "cw-test");
    char step[32];
    assert_true (exitflow_obj_str (exitflow_event_data (evs[1]), "step", step,
                                   sizeof step));
    assert_string_equal (step, "exit");
    size_t len = 0;
    assert_non_null (exitflow_event_raw (evs[1], &len));
    assert_true (len > 0);
    free_events (evs, 2);

    /* Live ones follow. */
    exitflow_error_t err;
    exitflow_reply_t *r = exitflow_decide (c, h.wf, h.spouse, true,
                                           EXITFLOW_ANY_VERSION, &err);
    exitflow_reply_destroy (&r);
    r = exitflow_cancel (c, h.wf, "test", EXITFLOW_ANY_VERSION, &err);
    exitflow_reply_destroy (&r);
    evs = collect (sub, 2, 10000);
    assert_consecutive (c, evs, 2, start + 3);
    assert_string_equal (exitflow_event_type (evs[0]), "member.decided");
    assert_null (exitflow_event_client_id (evs[1]));
    free_events (evs, 2);
    exitflow_event_t *none = NULL;
    assert_int_equal (exitflow_subscriber_next (sub, 300, &none, &err), 0);
    assert_null (none);
    assert_int_equal (exitflow_subscriber_seq (sub), start + 4);
    exitflow_subscriber_destroy (&sub);
    assert_null (sub);
    exitflow_client_destroy (&c);
}

static void
test_subscriber_tiny_hwm_flood (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (5000, 1);
    hh_t h;
    hh_init (&h);
    hh_start_ok (c, &h);
    uint64_t start = (uint64_t) last_seq (c);
    exitflow_subscriber_t *sub = subscriber_new (start - 1, NULL, 1, 500);
    exitflow_event_t **evs = collect (sub, 1, 10000);   /* caught up */
    free_events (evs, 1);
    sleep_ms (300);                                     /* subscribed */
    const int n = 3000;
    flood (h.wf, n);                    /* the subscriber is not reading */
    evs = collect (sub, n, 60000);
    assert_consecutive (c, evs, n, start + 1);
    free_events (evs, n);
    exitflow_event_t *none = NULL;
    exitflow_error_t err;
    assert_int_equal (exitflow_subscriber_next (sub, 300, &none, &err), 0);
    print_message ("tiny HWM: %llu gap reads\n",
                   (unsigned long long) exitflow_subscriber_gap_reads (sub));
    exitflow_subscriber_destroy (&sub);
    exitflow_client_destroy (&c);
}

static void
test_subscriber_reconnect_fills_the_gap (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (5000, 1);
    hh_t h;
    hh_init (&h);
    hh_start_ok (c, &h);
    uint64_t start = (uint64_t) last_seq (c);
    /* No idle reads: only a reconnect or a seq jump may fill the gap. */
    exitflow_subscriber_t *sub = subscriber_new (start - 1, NULL, 0, 600000);
    exitflow_event_t **evs = collect (sub, 1, 10000);
    free_events (evs, 1);
    void *sock = exitflow_subscriber_socket (sub);
    assert_int_equal (zmq_disconnect (sock, daemon_.events), 0);
    flood (h.wf, 200);                          /* nobody hears these */
    assert_int_equal (zmq_connect (sock, daemon_.events), 0);
    sleep_ms (500);
    flood (h.wf, 50);
    evs = collect (sub, 250, 20000);
    assert_consecutive (c, evs, 250, start + 1);
    free_events (evs, 250);
    assert_true (exitflow_subscriber_gap_reads (sub) >= 1);
    exitflow_subscriber_destroy (&sub);
    exitflow_client_destroy (&c);
}

static bool
drop_every_third (uint64_t seq, void *arg)
{
    (void) arg;
    return seq % 3 == 0;
}

static void
test_subscriber_dropped_messages (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (5000, 1);
    hh_t h;
    hh_init (&h);
    hh_start_ok (c, &h);
    uint64_t start = (uint64_t) last_seq (c);
    exitflow_subscriber_t *sub = subscriber_new (start, NULL, 0, 200);
    exitflow_subscriber_set_drop_hook (sub, drop_every_third, NULL);
    exitflow_event_t *none = NULL;
    exitflow_error_t err;
    assert_int_equal (exitflow_subscriber_next (sub, 300, &none, &err), 0);
    /* One at a time, so each loss is a jump or, for the last, a tail. */
    for (int i = 0; i < 30; i++) {
        flood (h.wf, 1);
        exitflow_event_t **evs = collect (sub, 1, 5000);
        assert_int_equal (exitflow_event_seq (evs[0]), start + 1 + (uint64_t) i);
        free_events (evs, 1);
    }
    exitflow_subscriber_destroy (&sub);

    /* And in bulk, with losses in the middle and at the tail. */
    start = (uint64_t) last_seq (c);
    sub = subscriber_new (start, NULL, 0, 200);
    exitflow_subscriber_set_drop_hook (sub, drop_every_third, NULL);
    assert_int_equal (exitflow_subscriber_next (sub, 300, &none, &err), 0);
    flood (h.wf, 300);
    exitflow_event_t **evs = collect (sub, 300, 20000);
    assert_consecutive (c, evs, 300, start + 1);
    free_events (evs, 300);
    assert_true (exitflow_subscriber_gap_reads (sub) >= 1);
    exitflow_subscriber_destroy (&sub);
    exitflow_client_destroy (&c);
}

static void
test_subscriber_type_prefix (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (5000, 1);
    uint64_t start = (uint64_t) last_seq (c);
    hh_t hs[3];
    for (int i = 0; i < 3; i++) {
        hh_init (&hs[i]);
        hh_start_ok (c, &hs[i]);
        save_ok (c, hs[i].wf, hs[i].hoh, "exit");
        exitflow_error_t err;
        exitflow_reply_t *r = exitflow_cancel (c, hs[i].wf, "test",
                                               EXITFLOW_ANY_VERSION, &err);
        assert_non_null (r);
        exitflow_reply_destroy (&r);
    }
    exitflow_subscriber_t *sub = subscriber_new (start, "workflow.", 1, 200);
    exitflow_event_t **evs = collect (sub, 6, 10000);
    uint64_t prev = start;
    for (int i = 0; i < 6; i++) {
        assert_true (exitflow_event_seq (evs[i]) > prev);
        prev = exitflow_event_seq (evs[i]);
        assert_int_equal (strncmp (exitflow_event_type (evs[i]), "workflow.", 9), 0);
        assert_string_equal (exitflow_event_type (evs[i]),
                             i % 2 ? "workflow.cancelled" : "workflow.started");
    }
    free_events (evs, 6);
    /* Live, with other types between them. */
    hh_t h;
    hh_init (&h);
    hh_start_ok (c, &h);
    save_ok (c, h.wf, h.hoh, "exit");
    flood (h.wf, 20);
    exitflow_error_t err;
    exitflow_reply_t *r = exitflow_cancel (c, h.wf, "test", EXITFLOW_ANY_VERSION,
                                           &err);
    exitflow_reply_destroy (&r);
    evs = collect (sub, 2, 10000);
    assert_string_equal (exitflow_event_type (evs[0]), "workflow.started");
    assert_string_equal (exitflow_event_type (evs[1]), "workflow.cancelled");
    assert_int_equal (exitflow_event_seq (evs[1]) - exitflow_event_seq (evs[0]), 22);
    free_events (evs, 2);
    exitflow_subscriber_destroy (&sub);
    exitflow_client_destroy (&c);
}

/* Catching up over more than a page: read page by page as the caller
 * consumes, while live events keep coming. */
static void
test_subscriber_catches_up_page_by_page (void **state)
{
    (void) state;
    exitflow_client_t *c = client_new (5000, 1);
    hh_t h;
    hh_init (&h);
    hh_start_ok (c, &h);
    uint64_t start = (uint64_t) last_seq (c);
    flood (h.wf, 95);
    exitflow_options_t o = exitflow_options_default ();
    o.page = 7;
    o.poll_interval_ms = 200;
    exitflow_subscriber_t *sub = exitflow_subscriber_new (daemon_.commands,
                                                          daemon_.events, start,
                                                          NULL, &o);
    assert_non_null (sub);
    exitflow_event_t **evs = collect (sub, 40, 10000);
    flood (h.wf, 60);                   /* live while behind */
    exitflow_event_t **more = collect (sub, 115, 20000);
    assert_consecutive (c, evs, 40, start + 1);
    assert_consecutive (c, more, 115, start + 41);
    free_events (evs, 40);
    free_events (more, 115);
    exitflow_subscriber_destroy (&sub);
    exitflow_client_destroy (&c);
}

static void
test_subscriber_unreachable (void **state)
{
    (void) state;
    char cmd[64], events[64];
    snprintf (cmd, sizeof cmd, "tcp://127.0.0.1:%d", free_port ());
    snprintf (events, sizeof events, "tcp://127.0.0.1:%d", free_port ());
    exitflow_options_t o = exitflow_options_default ();
    o.timeout_ms = 200;
    o.retries = 0;
    exitflow_subscriber_t *sub = exitflow_subscriber_new (cmd, events, 0, NULL, &o);
    assert_non_null (sub);
    exitflow_event_t *ev = NULL;
    exitflow_error_t err;
    int64_t t0 = mono_ms ();
    assert_int_equal (exitflow_subscriber_next (sub, 1000, &ev, &err), -1);
    assert_true (mono_ms () - t0 < 1000);
    assert_string_equal (err.code, EXITFLOW_UNREACHABLE);
    assert_null (ev);
    exitflow_subscriber_destroy (&sub);
    assert_null (exitflow_subscriber_new (cmd, "nonsense", 0, NULL, &o));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_ping_and_stats),
        cmocka_unit_test (test_request_ids_are_fresh_ulids),
        cmocka_unit_test (test_start_and_get_typed),
        cmocka_unit_test (test_start_with_dates_of_birth_and_move_in),
        cmocka_unit_test (test_hud_codes_are_the_protocol_tables),
        cmocka_unit_test (test_full_exit),
        cmocka_unit_test (test_cancel_dq_consumers_events),
        cmocka_unit_test (test_list_filtered_finds_exits),
        cmocka_unit_test (test_consumer_delete),
        cmocka_unit_test (test_backup),
        cmocka_unit_test (test_refusals_are_error_values),
        cmocka_unit_test (test_error_kinds_follow_the_protocol_table),
        cmocka_unit_test (test_unreachable_within_timeout),
        cmocka_unit_test (test_retry_after_stall_is_applied_once),
        cmocka_unit_test (test_subscriber_catches_up_then_follows),
        cmocka_unit_test (test_subscriber_tiny_hwm_flood),
        cmocka_unit_test (test_subscriber_reconnect_fills_the_gap),
        cmocka_unit_test (test_subscriber_dropped_messages),
        cmocka_unit_test (test_subscriber_type_prefix),
        cmocka_unit_test (test_subscriber_catches_up_page_by_page),
        cmocka_unit_test (test_subscriber_unreachable),
    };
    /* TEST_FILTER=test_subscriber_* runs a subset (a glob). */
    const char *filter = getenv ("TEST_FILTER");
    if (filter && *filter)
        cmocka_set_test_filter (filter);
    return cmocka_run_group_tests (tests, daemon_start, daemon_stop);
}
