/* workflow_fixture — what the tests of the daemon's core and its encodings
 * share (test_workflow.c, test_view.c, test_record.c): a household to
 * start, operations with a fixed clock that keep the last error and
 * events, snapshots that prove a refusal changed nothing, and readers for
 * decoded maps. Everything is freed in teardown. */
#ifndef EXF_TEST_WORKFLOW_FIXTURE_H
#define EXF_TEST_WORKFLOW_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/record.h"
#include "daemon/view.h"
#include "daemon/workflow.h"

/* 2026-11-25T12:00:00Z, checked: date -u -d @1795608000 */
#define NOW 1795608000000LL
#define DAY_MS 86400000LL
#define TODAY "2026-11-25"
#define TOMORROW "2026-11-26"
/* The CoC's day the shell would pass with NOW in UTC (the core takes it
 * from wf_ctx_t; tests of other zones pass their own). */
#define TODAY_DAYS (NOW / DAY_MS)
#define WFID "01JDKZ3V8QABCDEFGHJKMNPQRS"

#include "tests/support/msgpack_builder.h"
#include "map_reader.h"

/* ------------------------------------------------------------------------
 * Fixture: workflows, events and the last error, freed in teardown
 * ---------------------------------------------------------------------- */

#define MAX_WF 256
static workflow_t *wfs[MAX_WF];
static int n_wfs;
static wf_events_t EV;
static exf_error_t ERR;
/* The CoC's day for the next operations: tests of "today" in another zone
 * set it; 0 means "as ctx_at counts it" (UTC). */
static int64_t today_override;
/* The caseworker the next operations name ("cw1"; "" for none). */
static const char *ctx_actor = "cw1";

HELPER int
setup (void **state)
{
    (void) state;
    workflow_events_init (&EV);
    exf_error_clear (&ERR);
    return 0;
}

HELPER int
teardown (void **state)
{
    (void) state;
    workflow_events_fini (&EV);
    today_override = 0;
    ctx_actor = "cw1";
    for (int i = 0; i < n_wfs; i++)
        workflow_destroy (&wfs[i]);
    n_wfs = 0;
    release_held ();
    return 0;
}

HELPER workflow_t *
wf_new (void)
{
    assert_true (n_wfs < MAX_WF);
    workflow_t *wf = workflow_new ();
    wfs[n_wfs++] = wf;
    return wf;
}

/* A member whose `adult` is given: the explicit override. */
HELPER wf_member_t *
add_member (workflow_t *wf, const char *client_id, const char *enrollment_id,
            int relationship, bool adult, const char *entry_date)
{
    assert_true (wf->n_members < WF_MAX_MEMBERS);
    wf_member_t *m = &wf->members[wf->n_members++];
    snprintf (m->client_id, sizeof m->client_id, "%s", client_id);
    snprintf (m->enrollment_id, sizeof m->enrollment_id, "%s", enrollment_id);
    m->relationship = relationship;
    m->has_adult = true;
    m->adult = adult;
    snprintf (m->entry_date, sizeof m->entry_date, "%s", entry_date);
    return m;
}

/* A member with a date of birth and no `adult` flag ("" for neither). */
HELPER wf_member_t *
add_member_born (workflow_t *wf, const char *client_id,
                 const char *enrollment_id, int relationship,
                 const char *birth_date, const char *entry_date)
{
    wf_member_t *m = add_member (wf, client_id, enrollment_id, relationship,
                                 false, entry_date);
    m->has_adult = false;
    snprintf (m->birth_date, sizeof m->birth_date, "%s", birth_date);
    return m;
}

HELPER void
set_ids (workflow_t *wf, const char *primary_enrollment)
{
    snprintf (wf->workflow_id, sizeof wf->workflow_id, "%s", WFID);
    snprintf (wf->enrollment_id, sizeof wf->enrollment_id, "%s",
              primary_enrollment);
    snprintf (wf->household_id, sizeof wf->household_id, "%s", "h1");
    snprintf (wf->project_id, sizeof wf->project_id, "%s", "p1");
    wf->project_type = 1;
}

/* The household of most tests, started for the head (e1):
 *   c1/e1 head (1), adult, entered 2026-01-10, last universal_data + health
 *   c2/e2 spouse (3), adult, entered 2026-01-10, no last values
 *   c3/e3 child (2), not adult, entered 2026-02-01, last universal_data
 * Prior values are typed HUD answers: 3.08 disabling condition no (0);
 * 4.04 insurance yes (1), Medicaid yes (1); the child's 3.08 yes (1). */
HELPER workflow_t *
household3 (const char *primary_enrollment)
{
    workflow_t *wf = wf_new ();
    set_ids (wf, primary_enrollment);
    wf_member_t *h = add_member (wf, "c1", "e1", 1, true, "2026-01-10");
    blob_set_object (&h->last[STEP_UNIVERSAL_DATA],
                     build ("m{s:i, s:s}", 2, "disabling_condition", 0,
                            "local_note", "prior"));
    blob_set_object (&h->last[STEP_HEALTH_INSURANCE],
                     build ("m{s:i, s:i}", 2, "insurance_from_any_source", 1,
                            "medicaid", 1));
    add_member (wf, "c2", "e2", 3, true, "2026-01-10");
    wf_member_t *c = add_member (wf, "c3", "e3", 2, false, "2026-02-01");
    blob_set_object (&c->last[STEP_UNIVERSAL_DATA],
                     build ("m{s:i}", 1, "disabling_condition", 1));
    return wf;
}

/* The context at `now_ms`, on a calendar in UTC. */
HELPER wf_ctx_t
ctx_at (int64_t now_ms)
{
    wf_ctx_t c = { now_ms, ctx_actor, now_ms / DAY_MS };
    return c;
}

HELPER wf_ctx_t
ctx_now (int64_t now_ms)
{
    wf_ctx_t c = ctx_at (now_ms);
    if (today_override)
        c.today = today_override;
    return c;
}

/* ---- operation wrappers: fresh ERR and EV for each call ---- */

HELPER bool
op_start (workflow_t *wf)
{
    exf_error_clear (&ERR);
    workflow_events_fini (&EV);
    wf_ctx_t c = ctx_now (NOW);
    return workflow_start (wf, &c, &EV, &ERR);
}

HELPER bool
op_save_at (workflow_t *wf, const char *client, int step, wf_mode_t mode,
            const msgpack_object *data, int64_t now)
{
    exf_error_clear (&ERR);
    workflow_events_fini (&EV);
    wf_ctx_t c = ctx_now (now);
    return workflow_save_step (wf, client, step, mode, data, &c, &EV, &ERR);
}

HELPER bool
op_save (workflow_t *wf, const char *client, int step, wf_mode_t mode,
         const msgpack_object *data)
{
    return op_save_at (wf, client, step, mode, data, NOW);
}

HELPER bool
op_decide (workflow_t *wf, const char *client, bool exit)
{
    exf_error_clear (&ERR);
    workflow_events_fini (&EV);
    wf_ctx_t c = ctx_now (NOW);
    return workflow_decide (wf, client, exit, &c, &EV, &ERR);
}

HELPER bool
op_finish (workflow_t *wf, const char *new_hoh)
{
    exf_error_clear (&ERR);
    workflow_events_fini (&EV);
    wf_ctx_t c = ctx_now (NOW);
    return workflow_finish (wf, new_hoh, &c, &EV, &ERR);
}

HELPER bool
op_cancel (workflow_t *wf, const char *reason)
{
    exf_error_clear (&ERR);
    workflow_events_fini (&EV);
    wf_ctx_t c = ctx_now (NOW);
    exf_str_t r = { reason, (uint32_t) strlen (reason) };
    return workflow_cancel (wf, r, &c, &EV, &ERR);
}

HELPER bool
op_dq (workflow_t *wf, const char *source, const msgpack_object *findings)
{
    exf_error_clear (&ERR);
    workflow_events_fini (&EV);
    return workflow_report_dq (wf, source, findings, &EV, &ERR);
}

HELPER bool
op_stalled_at (workflow_t *wf, int64_t now)
{
    workflow_events_fini (&EV);
    wf_ctx_t c = ctx_now (now);
    return workflow_mark_stalled (wf, &c, &EV);
}

/* A started household3 with no events pending. */
HELPER workflow_t *
started3 (void)
{
    workflow_t *wf = household3 ("e1");
    assert_true (op_start (wf));
    workflow_events_fini (&EV);
    return wf;
}

HELPER const msgpack_object *
exit_form (const char *date, int destination)
{
    return build ("m{s:s, s:i}", 2, "exit_date", date, "destination",
                  destination);
}

/* Data every assessment step accepts: the CoC's own questions. */
HELPER const msgpack_object *
some_data (void)
{
    return build ("m{s:i, s:s}", 2, "local_q1", 1, "local_q2", "answer");
}

/* A complete, typed answer to an assessment step (HUD codes: 0 no, 1 yes). */
HELPER const msgpack_object *
assessment (int step)
{
    switch (step) {
    case STEP_UNIVERSAL_DATA:           /* 3.08 */
        return build ("m{s:i}", 1, "disabling_condition", 0);
    case STEP_HEALTH_INSURANCE:         /* 4.04 */
        return build ("m{s:i, s:i}", 2, "insurance_from_any_source", 1,
                      "medicaid", 1);
    case STEP_DISABILITIES:             /* 4.05, 4.10 */
        return build ("m{s:i, s:i}", 2, "physical", 0, "substance_use", 0);
    case STEP_INCOME_BENEFITS:          /* 4.02, 4.03 */
        return build ("m{s:i, s:i, s:i, s:f, s:i}", 5,
                      "income_from_any_source", 1, "earned", 1,
                      "earned_amount", 1200, "total_monthly_income", 1200.0,
                      "benefits_from_any_source", 0);
    default:
        fail_msg ("no assessment for step %d", step);
    }
    return NULL;
}

HELPER void
save_exit (workflow_t *wf, const char *client)
{
    if (!op_save (wf, client, STEP_EXIT, MODE_ENTERED,
                  exit_form ("2026-11-20", 410)))
        fail_msg ("save exit for %s: %s %s %s", client, ERR.code, ERR.field,
                  ERR.message);
}

/* Saves every pending applicable step of an exiting member. */
HELPER void
complete (workflow_t *wf, const char *client)
{
    int i = workflow_find_member (wf, client);
    assert_true (i >= 0);
    const wf_member_t *m = &wf->members[i];
    if (!m->steps[STEP_EXIT].done)
        save_exit (wf, client);
    for (int s = STEP_UNIVERSAL_DATA; s < STEP_COUNT; s++)
        if (workflow_step_applies (m, s, TODAY_DAYS) && !m->steps[s].done)
            if (!op_save (wf, client, s, MODE_ENTERED, assessment (s)))
                fail_msg ("save %s for %s: %s %s", hud_steps[s].name, client,
                          ERR.code, ERR.field);
}

/* ---- snapshots of the stored form ---- */

/* The rules know nothing of the store's ledger: records here carry none. */
static const record_ledger_t NO_LEDGER;

HELPER bool
unpack_stored (workflow_t *wf, const void *buf, size_t len)
{
    record_ledger_t ledger;
    record_ledger_init (&ledger);
    bool ok = record_unpack (wf, &ledger, buf, len);
    record_ledger_fini (&ledger);
    return ok;
}

typedef struct {
    char *data;
    size_t size;
} snap_t;

/* What the store keeps of a workflow: its record, its prior values, or
 * (for checking a refusal changed nothing) both. */
HELPER snap_t
snap_of (const workflow_t *wf, bool stored, bool priors)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    if (stored)
        record_pack (&pk, wf, &NO_LEDGER);
    if (priors)
        record_pack_priors (&pk, wf);
    snap_t s = { sb.data, sb.size };
    return s;
}

HELPER snap_t
snap (const workflow_t *wf)
{
    return snap_of (wf, true, true);
}

HELPER snap_t
snap_stored (const workflow_t *wf)
{
    return snap_of (wf, true, false);
}

HELPER snap_t
snap_priors (const workflow_t *wf)
{
    return snap_of (wf, false, true);
}

HELPER bool
snap_same (snap_t a, snap_t b)
{
    return a.size == b.size && memcmp (a.data, b.data, a.size) == 0;
}

HELPER void
check_err (const char *code, const char *field)
{
    if (!ERR.code)
        fail_msg ("expected %s, got no error", code);
    if (strcmp (ERR.code, code) != 0)
        fail_msg ("expected %s (field %s), got %s (field '%s': %s)", code,
                  field ? field : "-", ERR.code, ERR.field, ERR.message);
    if (field && strcmp (ERR.field, field) != 0)
        fail_msg ("%s: expected field '%s', got '%s' (%s)", code, field,
                  ERR.field, ERR.message);
    assert_true (ERR.message[0] != '\0');
}

/* Runs a refused operation and checks it changed nothing at all: same stored
 * bytes, same version, no events. */
#define REFUSED(wf, call, code, field)                                         \
    do {                                                                       \
        snap_t before_ = snap (wf);                                            \
        int64_t version_ = (wf)->version;                                      \
        bool ok_ = (call);                                                     \
        snap_t after_ = snap (wf);                                             \
        bool same_ = snap_same (before_, after_);                              \
        free (before_.data);                                                   \
        free (after_.data);                                                    \
        if (ok_)                                                               \
            fail_msg ("line %d: %s was accepted; expected %s", __LINE__,      \
                      #call, code);                                            \
        check_err (code, field);                                               \
        assert_int_equal (EV.n, 0);                                            \
        assert_int_equal ((wf)->version, version_);                            \
        if (!same_)                                                            \
            fail_msg ("line %d: refused %s changed the workflow", __LINE__,   \
                      #call);                                                  \
    } while (0)

#define ACCEPTED(call)                                                         \
    do {                                                                       \
        if (!(call))                                                           \
            fail_msg ("line %d: %s refused: %s field '%s': %s", __LINE__,     \
                      #call, ERR.code, ERR.field, ERR.message);               \
    } while (0)

HELPER const msgpack_object *
event_data (int i)
{
    assert_true (i < EV.n);
    const msgpack_object *d = decode_bytes (EV.ev[i].data.data,
                                            EV.ev[i].data.size);
    assert_int_equal (d->type, MSGPACK_OBJECT_MAP);
    return d;
}

HELPER const msgpack_object *
view_of (const workflow_t *wf)
{
    held_t *h = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    view_pack_workflow (&pk, wf, TODAY_DAYS);
    return decode_held (h);
}

HELPER const wf_member_t *
member (const workflow_t *wf, const char *client)
{
    int i = workflow_find_member (wf, client);
    assert_true (i >= 0);
    return &wf->members[i];
}

HELPER const msgpack_object *
findings (int n, const char *rule_prefix, const char *severity)
{
    held_t *h = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, (size_t) n);
    for (int i = 0; i < n; i++) {
        char rule[32];
        snprintf (rule, sizeof rule, "%s%d", rule_prefix, i);
        msgpack_pack_map (&pk, 3);
        codec_pack_cstr (&pk, "rule");
        codec_pack_cstr (&pk, rule);
        codec_pack_cstr (&pk, "severity");
        codec_pack_cstr (&pk, severity);
        codec_pack_cstr (&pk, "message");
        codec_pack_cstr (&pk, "a message");
    }
    return decode_held (h);
}


/* stored form → unpack → stored form gives the same bytes; the same for the
 * prior values; and the copy has the same view. Returns the copy. */
HELPER workflow_t *
assert_round_trip (const workflow_t *wf)
{
    snap_t a = snap_stored (wf), pa = snap_priors (wf);
    workflow_t *copy = wf_new ();
    assert_true (unpack_stored (copy, a.data, a.size));
    assert_true (record_unpack_priors (copy, pa.data, pa.size));
    assert_int_equal (record_has_priors (copy), record_has_priors (wf));
    snap_t b = snap_stored (copy), pb = snap_priors (copy);
    bool same = snap_same (a, b), psame = snap_same (pa, pb);
    free (a.data);
    free (b.data);
    free (pa.data);
    free (pb.data);
    if (!same)
        fail_msg ("stored-form round trip changed the bytes");
    if (!psame)
        fail_msg ("priors round trip changed the bytes");
    held_t *hv1 = hold (), *hv2 = hold ();
    msgpack_packer p1, p2;
    msgpack_packer_init (&p1, &hv1->sb, msgpack_sbuffer_write);
    msgpack_packer_init (&p2, &hv2->sb, msgpack_sbuffer_write);
    view_pack_workflow (&p1, wf, TODAY_DAYS);
    view_pack_workflow (&p2, copy, TODAY_DAYS);
    assert_int_equal (hv1->sb.size, hv2->sb.size);
    assert_memory_equal (hv1->sb.data, hv2->sb.data, hv1->sb.size);
    return copy;
}

#define T(f) cmocka_unit_test_setup_teardown (f, setup, teardown)

#endif
