/* Unit tests for daemon/store.c on a real LMDB in a temp dir: the lock, the
 * event log, workflows and their indexes, their histories, prior values,
 * stored replies and their sweep, consumer offsets, a full map; the seals
 * (seal.c) that make damage an error, and the verifier (verify.c). */
#define _GNU_SOURCE                 /* memmem */
#include "store_fixture.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>

#include "daemon/seal.h"
#include "daemon/verify.h"
#include "format2_record.h"

/* A 26-character workflow id (the store keys workflows by ULID length). */
static const char *
wf_id (int n)
{
    static char ids[8][WF_ID_LEN + 1];
    char *id = ids[n % 8];
    snprintf (id, WF_ID_LEN + 1, "01JDKZ3V8QABCDEFGHJKMN%04d", n);
    return id;
}

/* Stores a new workflow in its own transaction. */
static void
put_new (store_wf_t *swf)
{
    store_txn_t *t = begin (true);
    assert_int_equal (store_workflow_put (t, swf), STORE_OK);
    commit (&t);
}

/* ---- the environment ---- */

static void
test_one_daemon_per_directory (void **state)
{
    (void) state;
    char why[256] = "";
    store_status_t status;
    store_t *second = store_new (store_dir, LARGE_MAP, DAY_MS, &status, why,
                                 sizeof why);
    assert_null (second);
    assert_non_null (strstr (why, "in use"));
    assert_int_equal (status, STORE_BUSY);
    assert_int_equal (store_exit_status (status), 1);
    why[0] = '\0';
    assert_null (store_new ("/proc/no/such/dir", LARGE_MAP, DAY_MS, &status,
                            why, sizeof why));
    assert_true (why[0] != '\0');
    assert_int_equal (store_committed_seq (store), 0);
}

static void
test_statuses_have_words (void **state)
{
    (void) state;
    const char *seen[STORE_FAULT + 1];
    for (int s = STORE_OK; s <= STORE_FAULT; s++) {
        seen[s] = store_strerror ((store_status_t) s);
        assert_non_null (seen[s]);
        for (int t = 0; t < s; t++)
            assert_string_not_equal (seen[s], seen[t]);
    }
    assert_string_equal (store_strerror (STORE_FULL), "storage is full");
    assert_int_equal (store_exit_status (STORE_FULL), STORE_EXIT_FULL);
    assert_int_equal (store_exit_status (STORE_READ_ONLY),
                      STORE_EXIT_READ_ONLY);
    assert_int_equal (store_exit_status (STORE_CORRUPT), STORE_EXIT_DAMAGED);
    assert_int_equal (store_exit_status (STORE_FAULT), 1);
}

/* ---- the event log ---- */

typedef struct {
    uint64_t seqs[64];
    char bodies[64][16];
    int n;
} seen_events_t;

static bool
see_event (void *arg, uint64_t seq, const void *event, size_t len)
{
    seen_events_t *s = arg;
    assert_true (s->n < 64 && len < 16);
    s->seqs[s->n] = seq;
    memcpy (s->bodies[s->n], event, len);
    s->bodies[s->n][len] = '\0';
    s->n++;
    return true;
}

static void
append (store_txn_t *t, const char *body)
{
    uint64_t seq = store_next_seq (t);
    assert_int_equal (store_event_append (t, seq, body, strlen (body)),
                      STORE_OK);
    assert_int_equal (store_last_seq (t), seq);
}

/* Seqs are gapless: an aborted transaction's seqs are handed out again,
 * and the log survives a restart. */
static void
test_event_log_gapless (void **state)
{
    (void) state;
    store_txn_t *t = begin (true);
    assert_int_equal (store_next_seq (t), 1);
    append (t, "e1");
    append (t, "e2");
    append (t, "e3");
    commit (&t);
    assert_int_equal (store_committed_seq (store), 3);

    t = begin (true);
    assert_int_equal (store_next_seq (t), 4);
    append (t, "lost");
    store_abort (&t);
    assert_null (t);
    assert_int_equal (store_committed_seq (store), 3);

    t = begin (true);
    assert_int_equal (store_next_seq (t), 4);
    append (t, "e4");
    append (t, "e5");
    /* a seq is written once */
    assert_int_not_equal (store_event_append (t, 2, "again", 5), STORE_OK);
    store_abort (&t);
    t = begin (true);
    append (t, "e4");
    append (t, "e5");
    commit (&t);

    seen_events_t all = { .n = 0 }, tail = { .n = 0 };
    t = begin (false);
    assert_int_equal (store_events_scan (t, 0, see_event, &all), STORE_OK);
    assert_int_equal (store_events_scan (t, 3, see_event, &tail), STORE_OK);
    assert_int_equal (store_last_seq (t), 5);
    store_abort (&t);
    assert_int_equal (all.n, 5);
    for (int i = 0; i < 5; i++) {
        char want[16];
        snprintf (want, sizeof want, "e%d", i + 1);
        assert_int_equal (all.seqs[i], i + 1);
        assert_string_equal (all.bodies[i], want);
    }
    assert_int_equal (tail.n, 2);
    assert_int_equal (tail.seqs[0], 4);

    /* a restart reads the seq back from the log */
    reopen_store (LARGE_MAP, DAY_MS);
    assert_int_equal (store_committed_seq (store), 5);
    t = begin (true);
    assert_int_equal (store_next_seq (t), 6);
    store_abort (&t);
}

/* ---- workflows ---- */

static void
assert_counts (store_txn_t *t, uint64_t open, uint64_t finished,
               uint64_t cancelled)
{
    uint64_t counts[WF_STATE_COUNT];
    assert_int_equal (store_workflow_counts (t, counts), STORE_OK);
    assert_int_equal (counts[WF_OPEN], open);
    assert_int_equal (counts[WF_FINISHED], finished);
    assert_int_equal (counts[WF_CANCELLED], cancelled);
}

typedef struct {
    char ids[16][WF_ID_LEN + 1];
    uint8_t last_key[128];
    size_t last_key_len;
    int n, stop_at;
} listed_t;

static bool
see_listed (void *arg, const char *workflow_id, const void *key,
            size_t key_len)
{
    listed_t *l = arg;
    assert_true (l->n < 16 && key_len <= sizeof l->last_key);
    snprintf (l->ids[l->n++], WF_ID_LEN + 1, "%s", workflow_id);
    memcpy (l->last_key, key, key_len);
    l->last_key_len = key_len;
    return l->n != l->stop_at;
}

/* A span of the state index is found by a seek: of 300 workflows, a span
 * holding two hands exactly those two to the callback (a walk from the
 * start would hand it every earlier one first); a cursor goes on within
 * the span, and one from before it is not a cursor of this listing. */
static void
test_workflow_list_since_seeks (void **state)
{
    (void) state;
    store_txn_t *t = begin (true);
    for (int i = 0; i < 300; i++) {
        char household[16];
        snprintf (household, sizeof household, "h%d", i);
        store_wf_t *swf = started_workflow (wf_id (i), household,
                                            NOW + i * 1000);
        assert_int_equal (store_workflow_put (t, swf), STORE_OK);
        store_wf_destroy (&swf);
    }
    commit (&t);
    t = begin (false);
    listed_t span = { .n = 0 }, first = { .stop_at = 1 }, rest = { .n = 0 },
             early = { .stop_at = 1 };
    assert_int_equal (store_workflow_list_since (t, WF_OPEN, NOW + 297000,
                                                 NOW + 298000, NULL, 0,
                                                 see_listed, &span),
                      STORE_OK);
    assert_int_equal (span.n, 2);
    assert_string_equal (span.ids[0], wf_id (297));
    assert_string_equal (span.ids[1], wf_id (298));
    /* between two finish times, and past the last: nothing */
    listed_t none = { .n = 0 };
    assert_int_equal (store_workflow_list_since (t, WF_OPEN, NOW + 297001,
                                                 NOW + 297999, NULL, 0,
                                                 see_listed, &none),
                      STORE_OK);
    assert_int_equal (store_workflow_list_since (t, WF_OPEN, NOW + 300000,
                                                 INT64_MAX, NULL, 0,
                                                 see_listed, &none),
                      STORE_OK);
    assert_int_equal (none.n, 0);
    /* page by page */
    assert_int_equal (store_workflow_list_since (t, WF_OPEN, NOW + 297000,
                                                 NOW + 299000, NULL, 0,
                                                 see_listed, &first),
                      STORE_OK);
    assert_int_equal (store_workflow_list_since (t, WF_OPEN, NOW + 297000,
                                                 NOW + 299000, first.last_key,
                                                 first.last_key_len,
                                                 see_listed, &rest),
                      STORE_OK);
    assert_int_equal (rest.n, 2);
    assert_string_equal (rest.ids[0], wf_id (298));
    assert_string_equal (rest.ids[1], wf_id (299));
    assert_int_equal (store_workflow_list_since (t, WF_OPEN, NOW, INT64_MAX,
                                                 NULL, 0, see_listed, &early),
                      STORE_OK);
    assert_int_equal (store_workflow_list_since (t, WF_OPEN, NOW + 297000,
                                                 INT64_MAX, early.last_key,
                                                 early.last_key_len,
                                                 see_listed, &none),
                      STORE_NOT_FOUND);
    store_abort (&t);
}

/* The value and its ledger come back as stored; a state change moves the
 * household index, the state index and the counts. */
static void
test_workflow_round_trip_and_indexes (void **state)
{
    (void) state;
    store_wf_t *a = started_workflow (wf_id (1), "h1", NOW);
    record_ledger_add_event (&a->ledger, 1);
    record_ledger_add_event (&a->ledger, 7);
    assert_false (a->place.exists);
    put_new (a);
    assert_true (a->place.exists);

    store_wf_t *b = store_wf_new ();
    char open_id[WF_ID_LEN + 1];
    store_txn_t *t = begin (false);
    assert_int_equal (store_workflow_get (t, wf_id (1), b), STORE_OK);
    assert_string_equal (b->wf->workflow_id, wf_id (1));
    assert_string_equal (b->wf->members[0].client_id, "c-h1");
    assert_int_equal (b->wf->version, 1);
    assert_true (b->place.exists);
    assert_int_equal (b->ledger.n_history, 2);
    assert_int_equal (b->ledger.history[1], 7);
    assert_int_equal (store_household_open (t, "h1", open_id), STORE_OK);
    assert_string_equal (open_id, wf_id (1));
    assert_counts (t, 1, 0, 0);
    /* ids of another length, and unknown ones, name nothing */
    assert_int_equal (store_workflow_get (t, "short", b), STORE_NOT_FOUND);
    assert_int_equal (store_workflow_get (t, wf_id (2), b), STORE_NOT_FOUND);
    assert_false (b->place.exists);
    assert_int_equal (store_household_open (t, "h2", open_id),
                      STORE_NOT_FOUND);
    store_abort (&t);

    /* cancel it: out of the household index, into the cancelled state */
    t = begin (true);
    assert_int_equal (store_workflow_get (t, wf_id (1), b), STORE_OK);
    wf_ctx_t ctx = { NOW + 1000, "cw1", (NOW + 1000) / DAY_MS };
    wf_events_t ev;
    workflow_events_init (&ev);
    exf_error_t err;
    exf_error_clear (&err);
    exf_str_t reason = { "moved", 5 };
    assert_true (workflow_cancel (b->wf, reason, &ctx, &ev, &err));
    workflow_events_fini (&ev);
    assert_int_equal (store_workflow_put (t, b), STORE_OK);
    assert_int_equal (store_household_open (t, "h1", open_id),
                      STORE_NOT_FOUND);
    assert_counts (t, 0, 0, 1);
    listed_t open = { .n = 0 }, cancelled = { .n = 0 };
    assert_int_equal (store_workflow_list (t, WF_OPEN, NULL, 0, INT64_MAX,
                                           see_listed, &open), STORE_OK);
    assert_int_equal (store_workflow_list (t, WF_CANCELLED, NULL, 0,
                                           INT64_MAX, see_listed, &cancelled),
                      STORE_OK);
    commit (&t);
    assert_int_equal (open.n, 0);
    assert_int_equal (cancelled.n, 1);
    assert_string_equal (cancelled.ids[0], wf_id (1));
    /* the household may start again */
    store_wf_t *again = started_workflow (wf_id (2), "h1", NOW + 2000);
    put_new (again);
    t = begin (false);
    assert_int_equal (store_household_open (t, "h1", open_id), STORE_OK);
    assert_string_equal (open_id, wf_id (2));
    assert_counts (t, 1, 0, 1);
    store_abort (&t);
    store_wf_destroy (&a);
    store_wf_destroy (&b);
    store_wf_destroy (&again);
    assert_null (a);
}

/* Open workflows are listed oldest change first, up to a time, and a
 * cursor goes on where a page stopped. */
static void
test_workflow_list_order_and_cursor (void **state)
{
    (void) state;
    for (int i = 4; i >= 0; i--) {
        char household[16];
        snprintf (household, sizeof household, "h%d", i);
        store_wf_t *swf = started_workflow (wf_id (i), household,
                                            NOW + i * 1000);
        put_new (swf);
        store_wf_destroy (&swf);
    }
    store_txn_t *t = begin (false);
    listed_t all = { .n = 0 }, due = { .n = 0 }, page = { .stop_at = 2 };
    assert_int_equal (store_workflow_list (t, WF_OPEN, NULL, 0, INT64_MAX,
                                           see_listed, &all), STORE_OK);
    assert_int_equal (store_workflow_list (t, WF_OPEN, NULL, 0, NOW + 2000,
                                           see_listed, &due), STORE_OK);
    assert_int_equal (store_workflow_list (t, WF_OPEN, NULL, 0, INT64_MAX,
                                           see_listed, &page), STORE_OK);
    listed_t rest = { .n = 0 };
    assert_int_equal (store_workflow_list (t, WF_OPEN, page.last_key,
                                           page.last_key_len, INT64_MAX,
                                           see_listed, &rest), STORE_OK);
    store_abort (&t);
    assert_int_equal (all.n, 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal (all.ids[i], wf_id (i));
    assert_int_equal (due.n, 3);
    assert_int_equal (page.n, 2);
    assert_int_equal (rest.n, 3);
    assert_string_equal (rest.ids[0], wf_id (2));
}

/* ---- finding workflows by key ---- */

/* The listed ids as one string of their numbers ("3 1"), in order. */
static const char *
numbers_of (const listed_t *l)
{
    static char out[128];
    out[0] = '\0';
    for (int i = 0; i < l->n; i++)
        snprintf (out + strlen (out), sizeof out - strlen (out), "%s%d",
                  i ? " " : "", atoi (l->ids[i] + WF_ID_LEN - 4));
    return out;
}

/* What `key` = `value` finds in `state` (-1: any). */
static const char *
found (store_key_t key, const char *value, int state)
{
    listed_t l = { .n = 0 };
    store_txn_t *t = begin (false);
    assert_int_equal (store_workflow_find (t, key, value, state, NULL, 0,
                                           see_listed, &l), STORE_OK);
    store_abort (&t);
    return numbers_of (&l);
}

/* The stalled listing. */
static const char *
stalled_ids (void)
{
    listed_t l = { .n = 0 };
    store_txn_t *t = begin (false);
    assert_int_equal (store_workflow_list_stalled (t, NULL, 0, INT64_MAX,
                                                   see_listed, &l),
                      STORE_OK);
    store_abort (&t);
    return numbers_of (&l);
}

/* Reads workflow `n`, lets `change` change it as `actor` at `at`, stores
 * it: the write path of a command, without the command. */
typedef void (*change_wf_fn) (workflow_t *wf, const wf_ctx_t *ctx);

static void
change_wf (int n, const char *actor, int64_t at, change_wf_fn change)
{
    store_wf_t *swf = store_wf_new ();
    store_txn_t *t = begin (true);
    assert_int_equal (store_workflow_get (t, wf_id (n), swf), STORE_OK);
    wf_ctx_t ctx = { at, actor, at / DAY_MS };
    change (swf->wf, &ctx);
    assert_int_equal (store_workflow_put (t, swf), STORE_OK);
    commit (&t);
    store_wf_destroy (&swf);
}

/* A caseworker's change that moves nothing but the state index: a
 * decision on the second member. */
static void
decide_c2 (workflow_t *wf, const wf_ctx_t *ctx)
{
    wf_events_t ev;
    workflow_events_init (&ev);
    exf_error_t err;
    exf_error_clear (&err);
    assert_true (workflow_decide (wf, "c2", true, ctx, &ev, &err));
    workflow_events_fini (&ev);
}

static void
cancel (workflow_t *wf, const wf_ctx_t *ctx)
{
    wf_events_t ev;
    workflow_events_init (&ev);
    exf_error_t err;
    exf_error_clear (&err);
    assert_true (workflow_cancel (wf, (exf_str_t) { "moved", 5 }, ctx, &ev,
                                  &err));
    workflow_events_fini (&ev);
}

static void
stall (workflow_t *wf, const wf_ctx_t *ctx)
{
    wf_events_t ev;
    workflow_events_init (&ev);
    assert_true (workflow_mark_stalled (wf, ctx, &ev));
    workflow_events_fini (&ev);
}

/* Workflow `n` of household `household`, started by `actor` at `at`, with
 * a second member c2 (enrollment e2-HOUSEHOLD), stored. */
static void
start_two (int n, const char *household, const char *actor, int64_t at)
{
    store_wf_t *swf = started_workflow (wf_id (n), household, at);
    workflow_t *wf = swf->wf;
    snprintf (wf->started_by, sizeof wf->started_by, "%s", actor);
    snprintf (wf->last_actor, sizeof wf->last_actor, "%s", actor);
    wf_member_t *m = &wf->members[wf->n_members++];
    snprintf (m->client_id, sizeof m->client_id, "c2");
    snprintf (m->enrollment_id, sizeof m->enrollment_id, "e2-%s", household);
    snprintf (m->entry_date, sizeof m->entry_date, "2026-01-10");
    m->relationship = 3;
    m->decision = DECISION_UNDECIDED;
    put_new (swf);
    store_wf_destroy (&swf);
}

/* Every key finds its workflows by state then id; the entries follow the
 * state, the last actor (found by the new one, not by the old unless it
 * started the workflow) and nothing else. */
static void
test_find_by_key_follows_changes (void **state)
{
    (void) state;
    start_two (1, "h1", "cw1", NOW);
    start_two (2, "h2", "cw5", NOW + 1000);
    assert_string_equal (found (STORE_KEY_CLIENT, "c-h1", -1), "1");
    assert_string_equal (found (STORE_KEY_CLIENT, "c2", -1), "1 2");
    assert_string_equal (found (STORE_KEY_CLIENT, "c2", WF_OPEN), "1 2");
    assert_string_equal (found (STORE_KEY_CLIENT, "c2", WF_FINISHED), "");
    assert_string_equal (found (STORE_KEY_ENROLLMENT, "e2-h2", -1), "2");
    assert_string_equal (found (STORE_KEY_ENROLLMENT, "e-h1", -1), "1");
    assert_string_equal (found (STORE_KEY_HOUSEHOLD, "h1", -1), "1");
    assert_string_equal (found (STORE_KEY_HOUSEHOLD, "h", -1), "");
    assert_string_equal (found (STORE_KEY_ACTOR, "cw1", -1), "1");
    assert_string_equal (found (STORE_KEY_ACTOR, "cw5", -1), "2");
    assert_string_equal (found (STORE_KEY_ACTOR, "cw", -1), "");
    /* a key is not found under another key's name */
    assert_string_equal (found (STORE_KEY_CLIENT, "h1", -1), "");

    /* cw2 changes workflow 1, then cw3 does: cw2 no longer finds it, cw1
     * still does (it started it) */
    change_wf (1, "cw2", NOW + 2000, decide_c2);
    assert_string_equal (found (STORE_KEY_ACTOR, "cw2", -1), "1");
    assert_string_equal (found (STORE_KEY_ACTOR, "cw1", -1), "1");
    change_wf (1, "cw3", NOW + 3000, decide_c2);
    assert_string_equal (found (STORE_KEY_ACTOR, "cw2", -1), "");
    assert_string_equal (found (STORE_KEY_ACTOR, "cw3", -1), "1");
    assert_string_equal (found (STORE_KEY_ACTOR, "cw1", -1), "1");
    /* a change that names no actor leaves the last one */
    change_wf (1, "", NOW + 3500, decide_c2);
    assert_string_equal (found (STORE_KEY_ACTOR, "cw3", -1), "1");
    /* the starter changing it again: one entry, found once */
    change_wf (2, "cw6", NOW + 4000, decide_c2);
    change_wf (2, "cw5", NOW + 5000, decide_c2);
    assert_string_equal (found (STORE_KEY_ACTOR, "cw6", -1), "");
    assert_string_equal (found (STORE_KEY_ACTOR, "cw5", -1), "2");

    /* a state change moves every entry: open first, then the others */
    change_wf (1, "cw4", NOW + 6000, cancel);
    assert_string_equal (found (STORE_KEY_CLIENT, "c2", WF_OPEN), "2");
    assert_string_equal (found (STORE_KEY_CLIENT, "c2", WF_CANCELLED), "1");
    assert_string_equal (found (STORE_KEY_CLIENT, "c2", -1), "2 1");
    assert_string_equal (found (STORE_KEY_HOUSEHOLD, "h1", WF_OPEN), "");
    assert_string_equal (found (STORE_KEY_HOUSEHOLD, "h1", WF_CANCELLED), "1");
    assert_string_equal (found (STORE_KEY_ACTOR, "cw3", -1), "");
    assert_string_equal (found (STORE_KEY_ACTOR, "cw4", WF_CANCELLED), "1");
    assert_string_equal (found (STORE_KEY_ACTOR, "cw1", WF_CANCELLED), "1");
    assert_string_equal (found (STORE_KEY_ACTOR, "cw1", WF_OPEN), "");
    /* the household starts again: both its workflows, the open one first */
    start_two (3, "h1", "cw1", NOW + 7000);
    assert_string_equal (found (STORE_KEY_HOUSEHOLD, "h1", -1), "3 1");
    assert_string_equal (found (STORE_KEY_ACTOR, "cw1", -1), "3 1");
    assert_string_equal (found (STORE_KEY_CLIENT, "c2", -1), "2 3 1");

    /* a page, then the rest from its cursor; another listing's cursor is
     * refused */
    listed_t page = { .stop_at = 1 }, rest = { .n = 0 }, other = { .n = 0 };
    store_txn_t *t = begin (false);
    assert_int_equal (store_workflow_find (t, STORE_KEY_CLIENT, "c2", -1,
                                           NULL, 0, see_listed, &page),
                      STORE_OK);
    assert_int_equal (store_workflow_find (t, STORE_KEY_CLIENT, "c2", -1,
                                           page.last_key, page.last_key_len,
                                           see_listed, &rest), STORE_OK);
    assert_int_equal (store_workflow_find (t, STORE_KEY_ACTOR, "cw1", -1,
                                           page.last_key, page.last_key_len,
                                           see_listed, &other),
                      STORE_NOT_FOUND);
    assert_int_equal (store_workflow_find (t, STORE_KEY_CLIENT, "c2",
                                           WF_CANCELLED, page.last_key,
                                           page.last_key_len, see_listed,
                                           &other), STORE_NOT_FOUND);
    assert_int_equal (store_workflow_list (t, WF_OPEN, page.last_key,
                                           page.last_key_len, INT64_MAX,
                                           see_listed, &other),
                      STORE_NOT_FOUND);
    store_abort (&t);
    assert_int_equal (page.n, 1);
    assert_int_equal (rest.n, 2);
    assert_string_equal (rest.ids[0], wf_id (3));
    assert_int_equal (other.n, 0);
}

/* The stalled index holds the open workflows marked stalled: a stall puts
 * the entry, the next change or the end of the workflow takes it out. */
static void
test_stalled_index (void **state)
{
    (void) state;
    start_two (1, "h1", "cw1", NOW);
    start_two (2, "h2", "cw1", NOW + 1000);
    start_two (3, "h3", "cw1", NOW + 2000);
    assert_string_equal (stalled_ids (), "");
    change_wf (2, "", NOW + 3 * DAY_MS, stall);
    change_wf (1, "", NOW + 3 * DAY_MS, stall);
    change_wf (3, "", NOW + 3 * DAY_MS, stall);
    /* oldest last change first */
    assert_string_equal (stalled_ids (), "1 2 3");
    /* a change ends the stall */
    change_wf (2, "cw2", NOW + 4 * DAY_MS, decide_c2);
    assert_string_equal (stalled_ids (), "1 3");
    /* ... and so does the end of the workflow */
    change_wf (3, "cw2", NOW + 4 * DAY_MS, cancel);
    assert_string_equal (stalled_ids (), "1");
    /* stalled again after its new idle period */
    change_wf (2, "", NOW + 8 * DAY_MS, stall);
    assert_string_equal (stalled_ids (), "1 2");
    /* up to a time, as the state index is */
    listed_t due = { .n = 0 };
    store_txn_t *t = begin (false);
    assert_int_equal (store_workflow_list_stalled (t, NULL, 0, NOW + DAY_MS,
                                                   see_listed, &due),
                      STORE_OK);
    store_abort (&t);
    assert_int_equal (due.n, 1);
    assert_string_equal (due.ids[0], wf_id (1));
}

/* The closed store, written with LMDB itself: a store as another
 * exitflowd left it. */
typedef struct {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
} raw_t;

static raw_t
raw_open (void)
{
    store_destroy (&store);
    raw_t r;
    assert_int_equal (mdb_env_create (&r.env), 0);
    assert_int_equal (mdb_env_set_mapsize (r.env, LARGE_MAP), 0);
    assert_int_equal (mdb_env_open (r.env, store_dir, 0, 0640), 0);
    assert_int_equal (mdb_txn_begin (r.env, NULL, 0, &r.txn), 0);
    assert_int_equal (mdb_dbi_open (r.txn, NULL, 0, &r.dbi), 0);
    return r;
}

static void
raw_close (raw_t *r)
{
    assert_int_equal (mdb_txn_commit (r->txn), 0);
    mdb_env_close (r->env);
}

/* Puts `len` bytes under `key`, sealed as the store seals them. */
static void
raw_put (raw_t *r, const char *key, size_t key_len, const void *value,
         size_t len)
{
    MDB_val k = { key_len, (void *) key }, v = { len + SEAL_LEN, NULL };
    assert_int_equal (mdb_put (r->txn, r->dbi, &k, &v, MDB_RESERVE), 0);
    memcpy (v.mv_data, value, len);
    seal_write (key, key_len, v.mv_data, len);
}

/* The meta record `name` set to a be64 number, or deleted (< 0). */
static void
raw_meta (raw_t *r, const char *name, int64_t value)
{
    char key[32];
    size_t n = (size_t) snprintf (key, sizeof key, "M%s", name);
    MDB_val k = { n, key };
    if (value < 0) {
        int rc = mdb_del (r->txn, r->dbi, &k, NULL);
        assert_true (rc == 0 || rc == MDB_NOTFOUND);
        return;
    }
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t) ((uint64_t) value >> (56 - 8 * i));
    raw_put (r, key, n, be, 8);
}

/* Deletes every key starting with one of `prefixes`. */
static void
raw_strip (raw_t *r, const char *prefixes)
{
    MDB_cursor *cur;
    MDB_val k, v;
    assert_int_equal (mdb_cursor_open (r->txn, r->dbi, &cur), 0);
    int rc = mdb_cursor_get (cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        if (strchr (prefixes, ((const char *) k.mv_data)[0]))
            assert_int_equal (mdb_cursor_del (cur, 0), 0);
        rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close (cur);
}

/* The bytes under `key` (seal included), or NULL. */
static const uint8_t *
raw_get (raw_t *r, const char *key, size_t key_len, size_t *len)
{
    MDB_val k = { key_len, (void *) key }, v;
    if (mdb_get (r->txn, r->dbi, &k, &v))
        return NULL;
    *len = v.mv_size;
    return v.mv_data;
}

/* The first number of a workflow's stored record: its layout. */
static int
raw_record_layout (raw_t *r, const char *id)
{
    char key[2 + WF_ID_LEN];
    key[0] = 'W';
    memcpy (key + 1, id, WF_ID_LEN);
    key[1 + WF_ID_LEN] = 'w';
    size_t len;
    const uint8_t *p = raw_get (r, key, sizeof key, &len);
    assert_non_null (p);
    return p[0] == 0xdc ? p[3] : p[1];  /* array16, or fixarray */
}

/* A meta record's number, or -1 when there is none. */
static int64_t
raw_meta_number (raw_t *r, const char *name)
{
    char key[32];
    size_t n = (size_t) snprintf (key, sizeof key, "M%s", name), len;
    const uint8_t *p = raw_get (r, key, n, &len);
    int64_t v = -1;
    if (p && len == 8 + SEAL_LEN)
        for (int i = v = 0; i < 8; i++)
            v = v << 8 | p[i];
    return v;
}

/* A schema-2 store (the layout before issue 12) is upgraded when it is
 * opened, in one transaction: its workflows get the key and stalled
 * indexes when it had none ("M indexes" absent), a record of layout 2 is
 * written again in layout 3, the mark says 3 and "M indexes" is gone. */
static void
test_older_schema_upgraded (void **state)
{
    (void) state;
    enum { N = 2100 };                  /* past one pass of the upgrade */
    store_txn_t *t = begin (true);
    for (int i = 0; i < N; i++) {
        char household[16];
        snprintf (household, sizeof household, "h%d", i);
        store_wf_t *swf = started_workflow (wf_id (0), household,
                                            NOW + i);
        snprintf (swf->wf->workflow_id, WF_ID_LEN + 1,
                  "01JDKZ3V8QABCDEFGHJK%06u", (unsigned) i % 1000000u);
        swf->wf->started_by[0] = swf->wf->last_actor[0] = '\0';
        assert_int_equal (store_workflow_put (t, swf), STORE_OK);
        store_wf_destroy (&swf);
    }
    commit (&t);
    start_two (1, "hx", "cw1", NOW + DAY_MS);
    change_wf (1, "cw2", NOW + 2 * DAY_MS, decide_c2);
    change_wf (1, "", NOW + 5 * DAY_MS, stall);

    /* schema 2 without the indexes, and a record of layout 2 */
    raw_t r = raw_open ();
    assert_int_equal (raw_meta_number (&r, "format"), STORE_FORMAT);
    assert_int_equal (raw_meta_number (&r, "indexes"), -1);
    raw_strip (&r, "FT");
    raw_meta (&r, "format", 2);
    char key[2 + WF_ID_LEN] = "W" FORMAT2_RECORD_ID "w";
    raw_put (&r, key, sizeof key, FORMAT2_RECORD, sizeof FORMAT2_RECORD - 1);
    raw_close (&r);
    reopen_store (LARGE_MAP, DAY_MS);
    assert_int_equal (store_opened_format (store), 2);
    /* (the layout-2 record, numbered 0 here, has a member c2 too) */
    assert_string_equal (found (STORE_KEY_CLIENT, "c2", -1), "1 0");
    assert_string_equal (found (STORE_KEY_ACTOR, "cw2", -1), "1");
    assert_string_equal (found (STORE_KEY_ACTOR, "cw1", WF_OPEN), "1 0");
    assert_string_equal (stalled_ids (), "1");
    assert_string_equal (found (STORE_KEY_HOUSEHOLD, "h0", -1), "0");
    assert_string_equal (found (STORE_KEY_HOUSEHOLD, "h2099", -1), "2099");
    assert_string_equal (found (STORE_KEY_CLIENT, "c-h2050", -1), "2050");
    /* the old record: the same workflow, found by key, in layout 3 */
    store_wf_t *old = store_wf_new ();
    t = begin (false);
    assert_int_equal (store_workflow_get (t, FORMAT2_RECORD_ID, old),
                      STORE_OK);
    store_abort (&t);
    assert_int_equal (old->wf->version, 3);
    assert_int_equal (old->wf->n_members, 3);
    assert_int_equal (old->ledger.n_history, 1);
    store_wf_destroy (&old);
    assert_string_equal (found (STORE_KEY_CLIENT, "c3", -1), "0");

    /* upgraded: the next open changes nothing (an entry stripped now
     * stays missing) */
    r = raw_open ();
    assert_int_equal (raw_meta_number (&r, "format"), STORE_FORMAT);
    assert_int_equal (raw_meta_number (&r, "indexes"), -1);
    assert_int_equal (raw_record_layout (&r, FORMAT2_RECORD_ID), 3);
    assert_int_equal (raw_record_layout (&r, wf_id (1)), 3);
    raw_strip (&r, "T");
    raw_close (&r);
    reopen_store (LARGE_MAP, DAY_MS);
    assert_int_equal (store_opened_format (store), STORE_FORMAT);
    assert_string_equal (stalled_ids (), "");
    assert_string_equal (found (STORE_KEY_CLIENT, "c2", -1), "1 0");
}

/* The store exitflowd wrote before issue 12: schema 2 with the indexes
 * ("M indexes" 1) and records of layout 3. Its upgrade trusts the mark
 * (an entry stripped here is not put back: nothing is indexed again) and
 * changes the marks alone. */
static void
test_schema2_with_indexes_upgraded (void **state)
{
    (void) state;
    start_two (1, "hx", "cw1", NOW);
    raw_t r = raw_open ();
    raw_strip (&r, "F");
    raw_meta (&r, "format", 2);
    raw_meta (&r, "indexes", 1);
    raw_close (&r);
    reopen_store (LARGE_MAP, DAY_MS);
    assert_int_equal (store_opened_format (store), 2);
    assert_string_equal (found (STORE_KEY_CLIENT, "c2", -1), "");
    r = raw_open ();
    assert_int_equal (raw_meta_number (&r, "format"), STORE_FORMAT);
    assert_int_equal (raw_meta_number (&r, "indexes"), -1);
    raw_close (&r);
    reopen_store (LARGE_MAP, DAY_MS);
    assert_int_equal (store_opened_format (store), STORE_FORMAT);
}

/* Prior values are written once, apart from the record, and read only
 * when asked for. */
static void
test_priors_are_stored_apart (void **state)
{
    (void) state;
    store_wf_t *a = started_workflow (wf_id (1), "h1", NOW);
    blob_set_object (&a->wf->members[0].last[STEP_UNIVERSAL_DATA],
                     build ("m{s:s}", 1, "veteran", "no"));
    put_new (a);
    store_wf_t *plain = started_workflow (wf_id (2), "h2", NOW);
    put_new (plain);

    store_wf_t *b = store_wf_new ();
    store_txn_t *t = begin (false);
    assert_int_equal (store_workflow_get (t, wf_id (1), b), STORE_OK);
    assert_false (record_has_priors (b->wf));
    assert_int_equal (store_workflow_get_priors (t, b->wf), STORE_OK);
    assert_true (record_has_priors (b->wf));
    const blob_t *last = &b->wf->members[0].last[STEP_UNIVERSAL_DATA];
    assert_int_equal (last->len,
                      a->wf->members[0].last[STEP_UNIVERSAL_DATA].len);
    assert_int_equal (store_workflow_get (t, wf_id (2), b), STORE_OK);
    assert_int_equal (store_workflow_get_priors (t, b->wf), STORE_OK);
    assert_false (record_has_priors (b->wf));
    store_abort (&t);
    store_wf_destroy (&a);
    store_wf_destroy (&plain);
    store_wf_destroy (&b);
}

/* ---- idempotency ---- */

static exf_str_t
str (const char *s)
{
    exf_str_t v = { s, (uint32_t) strlen (s) };
    return v;
}

static void
assert_reply (store_txn_t *t, const store_wf_t *scope, const char *id,
              int64_t now_ms, uint64_t want_hash, const char *want)
{
    uint64_t hash = 0;
    const void *reply = NULL;
    size_t len = 0;
    assert_int_equal (store_reply_get (t, scope, str (id), now_ms, &hash,
                                       &reply, &len), STORE_OK);
    assert_true (hash == want_hash);
    assert_int_equal (len, strlen (want));
    assert_memory_equal (reply, want, len);
}

static void
assert_no_reply (store_txn_t *t, const store_wf_t *scope, const char *id,
                 int64_t now_ms)
{
    uint64_t hash;
    const void *reply;
    size_t len;
    assert_int_equal (store_reply_get (t, scope, str (id), now_ms, &hash,
                                       &reply, &len), STORE_NOT_FOUND);
}

/* A reply is found again by its id in its scope, within the retention;
 * a scoped one through the workflow's ledger, stored with the workflow. */
static void
test_replies_by_scope (void **state)
{
    (void) state;
    store_wf_t *a = started_workflow (wf_id (1), "h1", NOW);
    store_wf_t *b = started_workflow (wf_id (2), "h2", NOW);
    store_txn_t *t = begin (true);
    assert_int_equal (store_reply_put (t, NULL, str ("u1"), NOW, 7,
                                       "reply-u1", 8), STORE_OK);
    assert_int_equal (store_reply_put (t, a, str ("s1"), NOW, 9, "reply-s1",
                                       8), STORE_OK);
    assert_int_equal (a->ledger.n_replies, 1);
    assert_int_equal (store_workflow_put (t, a), STORE_OK);
    assert_int_equal (store_workflow_put (t, b), STORE_OK);
    commit (&t);

    store_wf_t *read = store_wf_new ();
    t = begin (false);
    assert_int_equal (store_workflow_get (t, wf_id (1), read), STORE_OK);
    assert_reply (t, NULL, "u1", NOW + 1, 7, "reply-u1");
    assert_reply (t, read, "s1", NOW + 1, 9, "reply-s1");
    /* scopes do not mix */
    assert_no_reply (t, NULL, "s1", NOW + 1);
    assert_no_reply (t, b, "s1", NOW + 1);
    assert_no_reply (t, read, "u1", NOW + 1);
    assert_no_reply (t, NULL, "u2", NOW + 1);
    /* past the retention they are gone, swept or not (unscoped replies
     * expire by whole days) */
    assert_no_reply (t, read, "s1", NOW + DAY_MS + 1);
    assert_no_reply (t, NULL, "u1", NOW + 3 * DAY_MS);
    store_abort (&t);
    store_wf_destroy (&a);
    store_wf_destroy (&b);
    store_wf_destroy (&read);
}

/* The sweep deletes the replies past the retention, oldest first, within
 * its budget; younger ones stay. */
static void
test_reply_sweep (void **state)
{
    (void) state;
    remove_temp_store ();
    open_temp_store (LARGE_MAP, 1000);      /* replies kept 1 s */
    store_wf_t *a = started_workflow (wf_id (1), "h1", NOW);
    store_txn_t *t = begin (true);
    static const int64_t at[] = { 0, 500, 900 };
    static const char *const ids[] = { "r0", "r1", "r2" };
    for (int i = 0; i < 3; i++)
        assert_int_equal (store_reply_put (t, a, str (ids[i]), NOW + at[i],
                                           (uint64_t) i, "reply", 5),
                          STORE_OK);
    assert_int_equal (store_reply_put (t, NULL, str ("u0"), NOW, 3, "reply",
                                       5), STORE_OK);
    assert_int_equal (store_workflow_put (t, a), STORE_OK);
    commit (&t);

    int deleted = -1;
    t = begin (true);
    assert_int_equal (store_replies_sweep (t, NOW + 1200, 100, &deleted),
                      STORE_OK);
    commit (&t);
    assert_int_equal (deleted, 1);          /* r0; u0's day is not over */
    /* gone from the log, not just out of the retention: asked as of when
     * it was written, r0 is no longer there, r1 still is */
    t = begin (false);
    assert_no_reply (t, a, "r0", NOW);
    assert_reply (t, a, "r1", NOW + 500, 1, "reply");
    assert_reply (t, NULL, "u0", NOW, 3, "reply");
    store_abort (&t);

    /* two days on everything is due; the budget bounds one sweep */
    t = begin (true);
    assert_int_equal (store_replies_sweep (t, NOW + 2 * DAY_MS, 1, &deleted),
                      STORE_OK);
    assert_int_equal (deleted, 1);
    assert_int_equal (store_replies_sweep (t, NOW + 2 * DAY_MS, 100,
                                           &deleted), STORE_OK);
    assert_int_equal (deleted, 2);
    assert_int_equal (store_replies_sweep (t, NOW + 2 * DAY_MS, 100,
                                           &deleted), STORE_OK);
    assert_int_equal (deleted, 0);
    commit (&t);
    t = begin (false);
    assert_no_reply (t, a, "r2", NOW + 900);
    assert_no_reply (t, NULL, "u0", NOW);
    store_abort (&t);
    store_wf_destroy (&a);
}

/* ---- the keys of a closed store, as LMDB reads them ---- */

/* Counts the keys of the closed store that begin with `prefix`. */
static size_t
count_keys (const void *prefix, size_t n)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k = { n, (void *) prefix }, v;
    size_t count = 0;
    assert_null (store);
    assert_int_equal (mdb_env_create (&env), 0);
    assert_int_equal (mdb_env_open (env, store_dir, MDB_RDONLY, 0), 0);
    assert_int_equal (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal (mdb_dbi_open (txn, NULL, 0, &dbi), 0);
    assert_int_equal (mdb_cursor_open (txn, dbi, &cur), 0);
    int rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
    for (; rc == 0 && k.mv_size >= n && !memcmp (k.mv_data, prefix, n);
         rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT))
        count++;
    mdb_cursor_close (cur);
    mdb_txn_abort (txn);
    mdb_env_close (env);
    return count;
}

/* The size of the closed store's value under `key`. */
static size_t
value_size (const char *key)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = { strlen (key), (void *) key }, v;
    assert_null (store);
    assert_int_equal (mdb_env_create (&env), 0);
    assert_int_equal (mdb_env_open (env, store_dir, MDB_RDONLY, 0), 0);
    assert_int_equal (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal (mdb_dbi_open (txn, NULL, 0, &dbi), 0);
    assert_int_equal (mdb_get (txn, dbi, &k, &v), 0);
    size_t n = v.mv_size;
    mdb_txn_abort (txn);
    mdb_env_close (env);
    return n;
}

/* A workflow's key of `kind` (W id kind). */
static const char *
wf_key (int n, char kind)
{
    static char key[WF_ID_LEN + 3];
    key[0] = 'W';
    memcpy (key + 1, wf_id (n), WF_ID_LEN);
    key[WF_ID_LEN + 1] = kind;
    key[WF_ID_LEN + 2] = '\0';
    return key;
}

/* ---- histories ---- */

typedef struct {
    uint64_t seqs[400];
    int n, stop_at;
} seqs_seen_t;

static bool
see_seq (void *arg, uint64_t seq, const void *event, size_t len)
{
    seqs_seen_t *s = arg;
    char want[32];
    snprintf (want, sizeof want, "e%llu", (unsigned long long) seq);
    assert_int_equal (len, strlen (want));
    assert_memory_equal (event, want, len);
    assert_true (s->n < 400);
    s->seqs[s->n++] = seq;
    return s->n != s->stop_at;
}

/* Appends an event "e<seq>" to `swf`'s history. */
static void
add_event (store_txn_t *t, store_wf_t *swf)
{
    char body[32];
    uint64_t seq = store_next_seq (t);
    snprintf (body, sizeof body, "e%llu", (unsigned long long) seq);
    append (t, body);
    record_ledger_add_event (&swf->ledger, seq);
}

/* A workflow's history is its own events: its newest in its ledger, the
 * older ones moved to the index as the workflow is stored, read together
 * in order after any seq, and stopped where the reader has enough. */
static void
test_history_spills_to_the_index (void **state)
{
    (void) state;
    store_wf_t *a = started_workflow (wf_id (1), "h1", NOW);
    store_wf_t *b = started_workflow (wf_id (2), "h2", NOW);
    uint64_t of_a[300];
    int n_a = 0;
    for (int round = 0; round < 10; round++) {
        store_txn_t *t = begin (true);
        for (int i = 0; i < 30; i++) {
            store_wf_t *w = i % 3 == 2 ? b : a;
            if (w == a)
                of_a[n_a++] = store_next_seq (t);
            add_event (t, w);
        }
        assert_int_equal (store_workflow_put (t, a), STORE_OK);
        assert_int_equal (store_workflow_put (t, b), STORE_OK);
        assert_true (a->ledger.n_history <= RECORD_RECENT);
        commit (&t);
    }
    store_wf_t *read = store_wf_new ();
    store_txn_t *t = begin (false);
    assert_int_equal (store_workflow_get (t, wf_id (1), read), STORE_OK);
    assert_int_equal (read->ledger.n_history, RECORD_RECENT);
    seqs_seen_t all = { .n = 0 }, tail = { .n = 0 }, page = { .stop_at = 7 },
                late = { .n = 0 };
    assert_int_equal (store_workflow_events_scan (t, read, 0, see_seq, &all),
                      STORE_OK);
    uint64_t mid = of_a[99];        /* in the index */
    assert_int_equal (store_workflow_events_scan (t, read, mid, see_seq,
                                                  &tail), STORE_OK);
    assert_int_equal (store_workflow_events_scan (t, read, 0, see_seq, &page),
                      STORE_OK);
    uint64_t recent = of_a[n_a - 5];  /* in the ledger */
    assert_int_equal (store_workflow_events_scan (t, read, recent, see_seq,
                                                  &late), STORE_OK);
    store_abort (&t);
    assert_int_equal (all.n, n_a);
    assert_memory_equal (all.seqs, of_a, sizeof (uint64_t) * (size_t) n_a);
    assert_int_equal (tail.n, n_a - 100);
    assert_int_equal (tail.seqs[0], of_a[100]);
    assert_int_equal (page.n, 7);
    assert_int_equal (late.n, 4);
    assert_int_equal (late.seqs[3], of_a[n_a - 1]);

    /* the index holds the older ones, the record no more than its share */
    store_destroy (&store);
    const char *prefix = wf_key (1, 'h');
    assert_int_equal (count_keys (prefix, strlen (prefix)),
                      n_a - RECORD_RECENT);
    reopen_store (LARGE_MAP, DAY_MS);
    store_wf_destroy (&a);
    store_wf_destroy (&b);
    store_wf_destroy (&read);
}

/* Thousands of replies on one workflow: each is found by its id, the
 * record carries only the newest references, and the sweep takes the
 * others with their replies. */
static void
test_many_replies_on_one_workflow (void **state)
{
    (void) state;
    remove_temp_store ();
    open_temp_store (LARGE_MAP, 1000);      /* replies kept 1 s */
    store_wf_t *a = started_workflow (wf_id (1), "h1", NOW);
    put_new (a);
    enum { N = 3000 };
    for (int batch = 0; batch < N / 500; batch++) {
        store_txn_t *t = begin (true);
        for (int i = batch * 500; i < (batch + 1) * 500; i++) {
            char id[24], reply[24];
            snprintf (id, sizeof id, "r%d", i);
            snprintf (reply, sizeof reply, "reply-%d", i);
            assert_int_equal (store_reply_put (t, a, str (id), NOW + i / 10,
                                               (uint64_t) i, reply,
                                               strlen (reply)), STORE_OK);
        }
        assert_int_equal (store_workflow_put (t, a), STORE_OK);
        commit (&t);
    }
    store_txn_t *t = begin (false);
    for (int i = 0; i < N; i += 7) {
        char id[24], reply[24];
        snprintf (id, sizeof id, "r%d", i);
        snprintf (reply, sizeof reply, "reply-%d", i);
        assert_reply (t, a, id, NOW + 299, (uint64_t) i, reply);
    }
    store_abort (&t);
    store_destroy (&store);
    char refs[WF_ID_LEN + 3];
    memcpy (refs, wf_key (1, 'r'), sizeof refs);
    assert_int_equal (count_keys (refs, strlen (refs)), N - RECORD_RECENT);
    /* the record holds RECORD_RECENT references of 27 bytes at most */
    size_t record = value_size (wf_key (1, 'w'));
    assert_true (record < 400 + RECORD_RECENT * 27);
    reopen_store (LARGE_MAP, 1000);

    /* due at NOW + 1000 + 150: the replies written before NOW + 150 */
    int deleted;
    t = begin (true);
    assert_int_equal (store_replies_sweep (t, NOW + 1150, N, &deleted),
                      STORE_OK);
    commit (&t);
    assert_int_equal (deleted, 1500);
    t = begin (false);
    assert_no_reply (t, a, "r1499", NOW + 149);
    assert_reply (t, a, "r1500", NOW + 150, 1500, "reply-1500");
    store_abort (&t);
    store_destroy (&store);
    assert_int_equal (count_keys (refs, strlen (refs)),
                      N - RECORD_RECENT - 1500);
    assert_int_equal (count_keys ("R", 1), N - 1500);
    store_wf_destroy (&a);
}

/* ---- seals ---- */

static void
test_seal_crc32c (void **state)
{
    (void) state;
    /* RFC 3720, B.4, by both paths */
    uint8_t zeros[32] = { 0 }, ones[32], up[32];
    memset (ones, 0xff, sizeof ones);
    for (int i = 0; i < 32; i++)
        up[i] = (uint8_t) i;
    uint32_t (*const paths[2]) (uint32_t, const void *, size_t) = {
        seal_crc32c, seal_crc32c_tables };
    for (int i = 0; i < 2; i++) {
        assert_int_equal (paths[i] (0, "123456789", 9), 0xe3069283);
        assert_int_equal (paths[i] (0, zeros, 32), 0x8a9136aa);
        assert_int_equal (paths[i] (0, ones, 32), 0x62a8ab43);
        assert_int_equal (paths[i] (0, up, 32), 0x46dd794e);
        /* in pieces as in one */
        assert_int_equal (paths[i] (paths[i] (0, "1234", 4), "56789", 5),
                          0xe3069283);
    }
    static uint8_t odd[1001];
    for (size_t i = 0; i < sizeof odd; i++)
        odd[i] = (uint8_t) (i * 37 + 11);
    for (size_t n = 0; n <= sizeof odd; n += 77)
        assert_int_equal (seal_crc32c (0, odd + 3, n - (n ? 3 : 0)),
                          seal_crc32c_tables (0, odd + 3, n - (n ? 3 : 0)));

    uint8_t v[8 + SEAL_LEN] = "value!!!";
    seal_write ("k1", 2, v, 8);
    assert_true (seal_check ("k1", 2, v, sizeof v));
    assert_false (seal_check ("k2", 2, v, sizeof v));   /* moved */
    assert_false (seal_check ("k1", 2, v, 3));          /* cut short */
    for (size_t i = 0; i < sizeof v; i++)
        for (int bit = 0; bit < 8; bit++) {
            v[i] ^= (uint8_t) (1 << bit);
            assert_false (seal_check ("k1", 2, v, sizeof v));
            v[i] ^= (uint8_t) (1 << bit);
        }
    char name[64];
    seal_key_name ("L\0\0\0\0\0\0\0\x2a", 9, name, sizeof name);
    assert_string_equal (name, "L<000000000000002a>");
    seal_key_name (wf_key (1, 'w'), WF_ID_LEN + 2, name, sizeof name);
    assert_string_equal (name, wf_key (1, 'w'));
    seal_key_name (wf_key (1, 'w'), WF_ID_LEN + 2, name, 12);
    assert_string_equal (name + strlen (name) - 3, "...");
}

/* Flips a bit `skip` bytes past every copy of `needle` in the store's
 * data file (old copies of a page linger on free pages), under the open
 * environment, as damage on the disk would. */
static void
damage_after (const void *needle, size_t n, size_t skip)
{
    char path[128];
    snprintf (path, sizeof path, "%s/data.mdb", store_dir);
    int fd = open (path, O_RDWR);
    assert_true (fd >= 0);
    struct stat st;
    assert_int_equal (fstat (fd, &st), 0);
    uint8_t *buf = malloc ((size_t) st.st_size);
    assert_non_null (buf);
    assert_int_equal (pread (fd, buf, (size_t) st.st_size, 0), st.st_size);
    int copies = 0;
    for (uint8_t *at = buf; (at = memmem (at, (size_t) (buf + st.st_size - at),
                                          needle, n)); at += n) {
        uint8_t byte = at[n + skip] ^ 0x40;
        assert_int_equal (pwrite (fd, &byte, 1, at + n + skip - buf), 1);
        copies++;
    }
    assert_true (copies > 0);
    free (buf);
    close (fd);
}

typedef struct {
    char lines[8][256];
    int n, problems;
} report_t;

static void
keep_report (void *arg, bool problem, const char *line)
{
    report_t *r = arg;
    r->problems += problem;
    if (r->n < 8)
        snprintf (r->lines[r->n++], sizeof r->lines[0], "%s", line);
}

static bool
report_has (const report_t *r, const char *what)
{
    for (int i = 0; i < r->n; i++)
        if (strstr (r->lines[i], what))
            return true;
    return false;
}

/* Verifies the store: the verdict must be `verdict` with `problems`
 * problems, and the report must say `says`. */
static void
assert_verified (verify_verdict_t verdict, int problems, const char *says)
{
    report_t r = { .n = 0 };
    assert_int_equal (verify_store (store_dir, keep_report, &r), verdict);
    assert_int_equal (r.problems, problems);
    if (!report_has (&r, says))
        fail_msg ("the report does not say \"%s\"", says);
}

/* A damaged record is STORE_CORRUPT naming its key, never its bytes; the
 * verifier finds it; a restart refuses the store. */
static void
test_damage_is_an_error_not_data (void **state)
{
    (void) state;
    store_wf_t *a = started_workflow (wf_id (1), "h1", NOW);
    store_wf_t *b = started_workflow (wf_id (2), "h2", NOW);
    put_new (a);
    put_new (b);
    assert_verified (VERIFY_CLEAN, 0, "clean");

    damage_after (wf_key (1, 'w'), WF_ID_LEN + 2, 5);
    store_wf_t *read = store_wf_new ();
    store_txn_t *t = begin (false);
    assert_int_equal (store_workflow_get (t, wf_id (1), read), STORE_CORRUPT);
    assert_non_null (strstr (store_fault_detail (store), wf_key (1, 'w')));
    assert_non_null (strstr (store_fault_detail (store), "seal"));
    assert_int_equal (store_workflow_get (t, wf_id (2), read), STORE_OK);
    store_abort (&t);

    report_t damaged = { .n = 0 };
    assert_int_equal (verify_store (store_dir, keep_report, &damaged),
                      VERIFY_DAMAGED);
    assert_int_equal (damaged.problems, 1);
    assert_true (report_has (&damaged, wf_key (1, 'w')));
    assert_true (report_has (&damaged, "DAMAGED"));

    store_destroy (&store);
    char why[512] = "";
    store_status_t status;
    assert_null (store_new (store_dir, LARGE_MAP, DAY_MS, &status, why,
                            sizeof why));
    assert_int_equal (status, STORE_CORRUPT);
    assert_int_equal (store_exit_status (status), STORE_EXIT_DAMAGED);
    assert_non_null (strstr (why, "damaged"));
    assert_non_null (strstr (why, wf_key (1, 'w')));
    assert_non_null (strstr (why, "--verify"));
    store_wf_destroy (&a);
    store_wf_destroy (&b);
    store_wf_destroy (&read);
}

/* A store that lived a while (pages freed and reused, replies swept,
 * records grown onto overflow pages) verifies clean: every page is
 * accounted for. An empty directory holds no store. */
static void
test_verify_after_churn (void **state)
{
    (void) state;
    remove_temp_store ();
    open_temp_store (LARGE_MAP, 1000);
    store_wf_t *swf = store_wf_new ();
    static char big[9000];
    memset (big, 'x', sizeof big);
    for (int round = 0; round < 30; round++) {
        store_txn_t *t = begin (true);
        for (int i = 0; i < 20; i++) {
            char household[16], id[32];
            int n = (round * 7 + i) % 60;
            snprintf (household, sizeof household, "h%d", n);
            if (store_workflow_get (t, wf_id (n), swf) == STORE_NOT_FOUND) {
                store_wf_t *fresh = started_workflow (wf_id (n), household,
                                                      NOW + round);
                assert_int_equal (store_workflow_put (t, fresh), STORE_OK);
                store_wf_destroy (&fresh);
                assert_int_equal (store_workflow_get (t, wf_id (n), swf),
                                  STORE_OK);
            }
            uint64_t seq = store_next_seq (t);
            assert_int_equal (store_event_append (t, seq, big,
                                                  (size_t) (100 + 300 * i)),
                              STORE_OK);
            record_ledger_add_event (&swf->ledger, seq);
            swf->wf->updated_at = NOW + round * 100 + i;
            assert_int_equal (store_workflow_put (t, swf), STORE_OK);
            snprintf (id, sizeof id, "q%d-%d", round, i);
            assert_int_equal (store_reply_put (t, swf, str (id),
                                               NOW + round * 100, 1, big,
                                               (size_t) (50 * i)), STORE_OK);
        }
        int deleted;
        assert_int_equal (store_replies_sweep (t, NOW + round * 100, 1000,
                                               &deleted), STORE_OK);
        commit (&t);
    }
    store_wf_destroy (&swf);
    report_t r = { .n = 0 };
    assert_int_equal (verify_store (store_dir, keep_report, &r), VERIFY_CLEAN);
    assert_int_equal (r.problems, 0);
    assert_int_equal (verify_store ("/proc/no/such/dir", keep_report, &r),
                      VERIFY_NO_STORE);
}

/* A store written before the seals is refused with its reason, not as
 * damage. */
static void
test_old_format_refused (void **state)
{
    (void) state;
    store_destroy (&store);
    char path[128];
    snprintf (path, sizeof path, "%s/data.mdb", store_dir);
    unlink (path);
    snprintf (path, sizeof path, "%s/lock.mdb", store_dir);
    unlink (path);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = { 9, "L\0\0\0\0\0\0\0\1" }, v = { 5, "event" };
    assert_int_equal (mdb_env_create (&env), 0);
    assert_int_equal (mdb_env_open (env, store_dir, 0, 0640), 0);
    assert_int_equal (mdb_txn_begin (env, NULL, 0, &txn), 0);
    assert_int_equal (mdb_dbi_open (txn, NULL, 0, &dbi), 0);
    assert_int_equal (mdb_put (txn, dbi, &k, &v, 0), 0);
    assert_int_equal (mdb_txn_commit (txn), 0);
    mdb_env_close (env);
    char why[512] = "";
    store_status_t status;
    assert_null (store_new (store_dir, LARGE_MAP, DAY_MS, &status, why,
                            sizeof why));
    assert_int_equal (status, STORE_VERSION);
    assert_int_equal (store_exit_status (status), STORE_EXIT_VERSION);
    assert_non_null (strstr (why, "older exitflowd"));
}

/* The whole data file, to compare a store before and after. */
static char *
data_file (size_t *len)
{
    char path[128];
    snprintf (path, sizeof path, "%s/data.mdb", store_dir);
    FILE *f = fopen (path, "rb");
    assert_non_null (f);
    fseek (f, 0, SEEK_END);
    *len = (size_t) ftell (f);
    rewind (f);
    char *bytes = malloc (*len);
    assert_int_equal (fread (bytes, 1, *len, f), *len);
    fclose (f);
    return bytes;
}

/* A store of a newer schema is refused, with its number and exit 13, and
 * left as it was, byte for byte; --verify says so too. */
static void
test_newer_schema_refused (void **state)
{
    (void) state;
    start_two (1, "hx", "cw1", NOW);
    raw_t r = raw_open ();
    raw_meta (&r, "format", STORE_FORMAT + 1);
    raw_close (&r);
    size_t before_len, after_len;
    char *before = data_file (&before_len);
    char why[512] = "";
    store_status_t status;
    store_options_t grows = { store_dir, SMALL_MAP, LARGE_MAP, DAY_MS };
    assert_null (store_open (&grows, &status, why, sizeof why));
    assert_int_equal (status, STORE_VERSION);
    assert_int_equal (store_exit_status (status), STORE_EXIT_VERSION);
    assert_int_equal (STORE_EXIT_VERSION, 13);
    char schema[32];
    snprintf (schema, sizeof schema, "schema %d", STORE_FORMAT + 1);
    assert_non_null (strstr (why, schema));
    assert_non_null (strstr (why, "newer exitflowd"));
    char *after = data_file (&after_len);
    assert_int_equal (before_len, after_len);
    assert_memory_equal (before, after, before_len);
    free (before);
    free (after);
    assert_verified (VERIFY_NEWER_FORMAT, 0, "newer");
    /* back to this schema, it is served again */
    r = raw_open ();
    raw_meta (&r, "format", STORE_FORMAT);
    raw_close (&r);
    reopen_store (LARGE_MAP, DAY_MS);
    assert_string_equal (found (STORE_KEY_CLIENT, "c2", -1), "1");
}

/* ---- consumers ---- */

typedef struct {
    char names[4][16];
    store_consumer_t c[4];
    int n;
} consumers_t;

static bool
see_consumer (void *arg, const char *name, const store_consumer_t *c)
{
    consumers_t *all = arg;
    assert_true (all->n < 4);
    snprintf (all->names[all->n], sizeof all->names[all->n], "%s", name);
    all->c[all->n++] = *c;
    return true;
}

/* Offsets with the time of the last ack; a deleted consumer is gone and
 * comes back when it is put again. */
static void
test_consumer_offsets (void **state)
{
    (void) state;
    store_consumer_t got = { 99, 99 };
    store_txn_t *t = begin (true);
    assert_int_equal (store_consumer_get (t, "notify", &got),
                      STORE_NOT_FOUND);
    assert_int_equal (store_consumer_put (t, "notify",
                                          &(store_consumer_t) { 3, NOW }),
                      STORE_OK);
    assert_int_equal (store_consumer_put (t, "dq",
                                          &(store_consumer_t) { 5, NOW }),
                      STORE_OK);
    assert_int_equal (store_consumer_put (t, "dq",
                                          &(store_consumer_t) { 6, NOW + 9 }),
                      STORE_OK);
    commit (&t);
    consumers_t all = { .n = 0 };
    t = begin (false);
    assert_int_equal (store_consumer_get (t, "dq", &got), STORE_OK);
    assert_int_equal (got.seq, 6);
    assert_int_equal (got.acked_at, NOW + 9);
    assert_int_equal (store_consumers_scan (t, see_consumer, &all), STORE_OK);
    store_abort (&t);
    assert_int_equal (all.n, 2);
    assert_string_equal (all.names[0], "dq");
    assert_int_equal (all.c[0].seq, 6);
    assert_int_equal (all.c[0].acked_at, NOW + 9);
    assert_string_equal (all.names[1], "notify");
    assert_int_equal (all.c[1].seq, 3);

    t = begin (true);
    assert_int_equal (store_consumer_delete (t, "dq"), STORE_OK);
    assert_int_equal (store_consumer_delete (t, "dq"), STORE_NOT_FOUND);
    assert_int_equal (store_consumer_delete (t, "never"), STORE_NOT_FOUND);
    commit (&t);
    t = begin (true);
    assert_int_equal (store_consumer_get (t, "dq", &got), STORE_NOT_FOUND);
    all.n = 0;
    assert_int_equal (store_consumers_scan (t, see_consumer, &all), STORE_OK);
    assert_int_equal (all.n, 1);
    assert_int_equal (store_consumer_put (t, "dq",
                                          &(store_consumer_t) { 1, NOW + 20 }),
                      STORE_OK);
    assert_int_equal (store_consumer_get (t, "dq", &got), STORE_OK);
    assert_int_equal (got.seq, 1);
    commit (&t);
}

/* ---- a full map ---- */

/* The write that meets a full map gets STORE_FULL; its transaction is
 * aborted whole, committed data still reads, and a small write that fits
 * still goes through. */
static void
test_map_full (void **state)
{
    (void) state;
    remove_temp_store ();
    open_temp_store (SMALL_MAP, DAY_MS);
    store_wf_t *a = started_workflow (wf_id (1), "h1", NOW);
    put_new (a);

    static char big[16 * 1024];
    memset (big, 'x', sizeof big);
    store_txn_t *t = begin (true);
    store_status_t rc = STORE_OK;
    int appended = 0;
    while (rc == STORE_OK && appended < 1000) {
        rc = store_event_append (t, store_next_seq (t), big, sizeof big);
        appended += rc == STORE_OK;
    }
    assert_int_equal (rc, STORE_FULL);
    assert_true (appended > 0);
    assert_non_null (strstr (store_fault_detail (store), "MAP_FULL"));
    store_abort (&t);

    /* nothing of the aborted transaction is there */
    assert_int_equal (store_committed_seq (store), 0);
    store_wf_t *b = store_wf_new ();
    seen_events_t none = { .n = 0 };
    t = begin (false);
    assert_int_equal (store_workflow_get (t, wf_id (1), b), STORE_OK);
    assert_int_equal (store_events_scan (t, 0, see_event, &none), STORE_OK);
    assert_int_equal (store_last_seq (t), 0);
    store_abort (&t);
    assert_int_equal (none.n, 0);

    /* a map that may not grow: full, until a write commits again */
    uint64_t from, to;
    store_map_t space;
    assert_int_equal (store_grow (store, &from, &to), STORE_FULL);
    assert_int_equal (from, SMALL_MAP);
    assert_int_equal (to, SMALL_MAP);
    store_map (store, &space);
    assert_true (space.full);
    t = begin (true);
    assert_int_equal (store_consumer_put (t, "dq",
                                          &(store_consumer_t) { 0, NOW }),
                      STORE_OK);
    commit (&t);
    store_map (store, &space);
    assert_false (space.full);
    store_wf_destroy (&a);
    store_wf_destroy (&b);
}

static bool
count_event (void *arg, uint64_t seq, const void *event, size_t len)
{
    (void) seq;
    (void) event;
    (void) len;
    ++*(int *) arg;
    return true;
}

/* Appends `n` events of 16 KiB in one transaction, committed when they
 * fit and aborted whole when they do not. */
static store_status_t
append_big (int n)
{
    static char big[16 * 1024];
    memset (big, 'y', sizeof big);
    store_txn_t *t = begin (true);
    store_status_t rc = STORE_OK;
    for (int i = 0; i < n && !rc; i++)
        rc = store_event_append (t, store_next_seq (t), big, sizeof big);
    if (rc)
        store_abort (&t);
    else
        commit (&t);
    return rc;
}

/* A map that may grow: the write that meets its end is aborted whole,
 * store_grow doubles it (not while a copy holds it) and the same write
 * then goes through; at the maximum it cannot grow, the store says it is
 * full, committed data still reads; opened again with a larger maximum it
 * takes writes again. */
static void
test_map_grows (void **state)
{
    (void) state;
    remove_temp_store ();
    open_temp_store_growing (SMALL_MAP, 4 * SMALL_MAP, DAY_MS);
    store_map_t space;
    store_map (store, &space);
    assert_int_equal (space.map_size, SMALL_MAP);
    assert_int_equal (space.max_map_size, 4 * SMALL_MAP);
    assert_true (space.file_bytes > 0 && space.file_bytes < SMALL_MAP);
    assert_false (space.full);

    uint64_t from, to;
    int grown = 0;
    store_status_t rc;
    while ((rc = append_big (20)) == STORE_FULL) {
        store_copy_hold (store);
        assert_int_equal (store_grow (store, &from, &to), STORE_BUSY);
        store_copy_release (store);
        assert_int_equal (store_grow (store, &from, &to), STORE_OK);
        assert_int_equal (to, 2 * from);
        grown++;
    }
    assert_int_equal (rc, STORE_OK);
    assert_true (grown >= 1);
    assert_int_equal (store_committed_seq (store), 20);
    store_map (store, &space);
    assert_true (space.map_size > SMALL_MAP);
    assert_true (space.file_bytes > SMALL_MAP);

    /* to the maximum, and no further */
    uint64_t acked = store_committed_seq (store);
    for (int i = 0; i < 20; i++) {
        if ((rc = append_big (4)) == STORE_OK)
            acked += 4;
        else if (store_grow (store, &from, &to) != STORE_OK)
            break;
    }
    assert_int_equal (rc, STORE_FULL);
    assert_int_equal (from, 4 * SMALL_MAP);
    store_map (store, &space);
    assert_int_equal (space.map_size, 4 * SMALL_MAP);
    assert_true (space.full);
    int tail = 0;
    store_txn_t *t = begin (false);
    assert_int_equal (store_last_seq (t), acked);
    assert_int_equal (store_events_scan (t, acked - 2, count_event, &tail),
                      STORE_OK);
    store_abort (&t);
    assert_int_equal (tail, 2);

    /* a restart with a larger maximum: it grows again */
    char why[512] = "";
    store_status_t status;
    store_destroy (&store);
    store_options_t larger = { store_dir, SMALL_MAP, 16 * SMALL_MAP, DAY_MS };
    store = store_open (&larger, &status, why, sizeof why);
    assert_non_null (store);
    assert_int_equal (store_committed_seq (store), acked);
    while ((rc = append_big (4)) == STORE_FULL)
        assert_int_equal (store_grow (store, &from, &to), STORE_OK);
    assert_int_equal (store_committed_seq (store), acked + 4);
}

/* A copy is the newest committed snapshot, compacted, with its last seq
 * read back from the copy itself; it opens as a store of its own. */
static void
test_copy_is_a_snapshot (void **state)
{
    (void) state;
    store_wf_t *a = started_workflow (wf_id (1), "h1", NOW);
    put_new (a);
    assert_int_equal (append_big (3), STORE_OK);
    store_txn_t *t = begin (true);      /* not committed: not in the copy */
    assert_int_equal (store_event_append (t, store_next_seq (t), "x", 1),
                      STORE_OK);
    char dir[] = "/tmp/exf-copy-XXXXXX", path[64], why[512] = "";
    assert_non_null (mkdtemp (dir));
    snprintf (path, sizeof path, "%s/data.mdb", dir);
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true (fd >= 0);
    uint64_t last = 0;
    store_copy_hold (store);
    assert_int_equal (store_copy (store, fd, path, &last, why, sizeof why),
                      STORE_OK);
    store_copy_release (store);
    close (fd);
    store_abort (&t);
    assert_int_equal (last, 3);

    store_status_t status;
    store_t *copy = store_new (dir, LARGE_MAP, DAY_MS, &status, why,
                               sizeof why);
    if (!copy)
        fail_msg ("the copy does not open: %s", why);
    assert_int_equal (store_committed_seq (copy), 3);
    store_wf_t *b = store_wf_new ();
    assert_int_equal (store_begin (copy, false, &t), STORE_OK);
    assert_int_equal (store_workflow_get (t, wf_id (1), b), STORE_OK);
    store_abort (&t);
    store_destroy (&copy);
    const char *files[] = { "data.mdb", "lock.mdb", "exitflowd.lock" };
    for (int i = 0; i < 3; i++) {
        snprintf (path, sizeof path, "%s/%s", dir, files[i]);
        unlink (path);
    }
    rmdir (dir);
    store_wf_destroy (&a);
    store_wf_destroy (&b);
}

#define T(f) cmocka_unit_test_setup_teardown (f, store_setup, store_teardown)

int
main (void)
{
    const struct CMUnitTest tests[] = {
        T (test_one_daemon_per_directory),
        T (test_statuses_have_words),
        T (test_event_log_gapless),
        T (test_workflow_round_trip_and_indexes),
        T (test_workflow_list_order_and_cursor),
        T (test_workflow_list_since_seeks),
        T (test_find_by_key_follows_changes),
        T (test_stalled_index),
        T (test_older_schema_upgraded),
        T (test_schema2_with_indexes_upgraded),
        T (test_newer_schema_refused),
        T (test_priors_are_stored_apart),
        T (test_history_spills_to_the_index),
        T (test_replies_by_scope),
        T (test_reply_sweep),
        T (test_many_replies_on_one_workflow),
        T (test_seal_crc32c),
        T (test_damage_is_an_error_not_data),
        T (test_verify_after_churn),
        T (test_old_format_refused),
        T (test_consumer_offsets),
        T (test_map_full),
        T (test_map_grows),
        T (test_copy_is_a_snapshot),
    };
    return cmocka_run_group_tests_name ("store", tests, NULL, NULL);
}
