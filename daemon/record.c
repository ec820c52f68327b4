/* record — a workflow as the store keeps it. See record.h. */
#include "record.h"

#include <stdlib.h>
#include <string.h>

#include "pack.h"

/* ---- the ledger ---- */

/* Grows an array to hold one more element; aborts when memory is gone, as
 * every allocation in the daemon does. */
static void *
grow (void *items, uint32_t n, uint32_t *cap, size_t size)
{
    if (n < *cap)
        return items;
    *cap = *cap ? *cap * 2 : 16;
    items = realloc (items, *cap * size);
    if (!items)
        abort ();
    return items;
}

void
record_ledger_init (record_ledger_t *l)
{
    memset (l, 0, sizeof *l);
}

void
record_ledger_fini (record_ledger_t *l)
{
    free (l->history);
    free (l->replies);
    record_ledger_init (l);
}

void
record_ledger_add_event (record_ledger_t *l, uint64_t seq)
{
    l->history = grow (l->history, l->n_history, &l->cap_history,
                       sizeof *l->history);
    l->history[l->n_history++] = seq;
}

void
record_ledger_add_reply (record_ledger_t *l, record_reply_ref_t ref,
                         int64_t expire_before_ms)
{
    uint32_t kept = 0;              /* drop references past retention */
    for (uint32_t i = 0; i < l->n_replies; i++)
        if (l->replies[i].at_ms >= expire_before_ms)
            l->replies[kept++] = l->replies[i];
    l->n_replies = kept;
    l->replies = grow (l->replies, l->n_replies, &l->cap_replies,
                       sizeof *l->replies);
    l->replies[l->n_replies++] = ref;
}

void
record_ledger_drop_oldest (record_ledger_t *l, uint32_t events,
                           uint32_t replies)
{
    if (events > l->n_history)
        events = l->n_history;
    if (replies > l->n_replies)
        replies = l->n_replies;
    l->n_history -= events;
    l->n_replies -= replies;
    if (l->n_history)
        memmove (l->history, l->history + events,
                 l->n_history * sizeof *l->history);
    if (l->n_replies)
        memmove (l->replies, l->replies + replies,
                 l->n_replies * sizeof *l->replies);
}

/* ---- the stored form ----
 *
 * Positional arrays, not maps: every command rewrites its workflow, and a
 * record that stays well under LMDB's 2 KB node limit shares a page with its
 * neighbours instead of taking fresh overflow pages at each change. Prior
 * values are written once, at start, and kept apart (record_pack_priors).
 *
 *   workflow = [FORMAT, id, version, state, enrollment, household, project,
 *               project_type|nil, created_at, updated_at, started_by|nil,
 *               new_hoh|nil, cancel_reason|nil, stalled, [member…], [dq…],
 *               [event seq…], [[id_hash, reply_seq, at]…],
 *               move_in_date|nil, last_actor|nil]
 *               (ledger: RECORD_RECENT of each at most, oldest first)
 *   member   = [client, enrollment, relationship, entry_date, adult|nil,
 *               decision, [done_step…], birth_date|nil]
 *   done_step= [step, mode, completed_at, first_completed_at, actor|nil, data]
 *   dq       = [source, count, findings]      (bytes are msgpack bin)
 *
 * Format 2 (read for the store's upgrade from schema 2, store.h: the
 * upgrade writes every record again in format 3) has no move_in_date, no
 * last_actor and no birth_date, and its member's adult is always a bool:
 * it was given or defaulted to true, so it is read as an explicit
 * override. Its last_actor is unknown (""): such a workflow is found by
 * its starter until its next change names one.
 *
 * The index entries a workflow has (store.c) follow from this record:
 * state, updated_at, stalled, household, members, started_by, last_actor. */

/* 3: birth dates, the adult flag optional (nil: not given), move-in
 * dates, who made the last change. 2: the ledger holds the newest RECORD_RECENT entries of each kind,
 * the older ones are index entries (format 1 held every one). */
#define STORED_FORMAT 3
#define FORMAT_NO_AGE 2

static void
pack_member_stored (msgpack_packer *pk, const wf_member_t *m)
{
    msgpack_pack_array (pk, 8);
    codec_pack_cstr (pk, m->client_id);
    codec_pack_cstr (pk, m->enrollment_id);
    msgpack_pack_int (pk, m->relationship);
    codec_pack_cstr (pk, m->entry_date);
    if (m->has_adult)
        pack_bool (pk, m->adult);
    else
        msgpack_pack_nil (pk);
    msgpack_pack_int (pk, m->decision);
    int done = 0;
    for (int s = 0; s < STEP_COUNT; s++)
        done += m->steps[s].done;
    msgpack_pack_array (pk, (size_t) done);
    for (int s = 0; s < STEP_COUNT; s++) {
        const wf_step_t *st = &m->steps[s];
        if (!st->done)
            continue;
        msgpack_pack_array (pk, 6);
        msgpack_pack_int (pk, s);
        msgpack_pack_int (pk, st->mode);
        msgpack_pack_int64 (pk, st->completed_at);
        msgpack_pack_int64 (pk, st->first_completed_at);
        codec_pack_cstr_or_nil (pk, st->actor);
        blob_pack_bin (pk, &st->data);
    }
    codec_pack_cstr_or_nil (pk, m->birth_date);
}

void
record_pack (msgpack_packer *pk, const workflow_t *wf,
             const record_ledger_t *l)
{
    msgpack_pack_array (pk, 20);
    msgpack_pack_int (pk, STORED_FORMAT);
    codec_pack_cstr (pk, wf->workflow_id);
    msgpack_pack_int64 (pk, wf->version);
    msgpack_pack_int (pk, wf->state);
    codec_pack_cstr (pk, wf->enrollment_id);
    codec_pack_cstr (pk, wf->household_id);
    codec_pack_cstr (pk, wf->project_id);
    pack_int_or_nil (pk, wf->project_type);
    msgpack_pack_int64 (pk, wf->created_at);
    msgpack_pack_int64 (pk, wf->updated_at);
    codec_pack_cstr_or_nil (pk, wf->started_by);
    codec_pack_cstr_or_nil (pk, wf->new_head_of_household);
    blob_pack_text_or_nil (pk, &wf->cancel_reason);
    pack_bool (pk, wf->stalled);
    msgpack_pack_array (pk, (size_t) wf->n_members);
    for (int i = 0; i < wf->n_members; i++)
        pack_member_stored (pk, &wf->members[i]);
    msgpack_pack_array (pk, (size_t) wf->n_dq);
    for (int i = 0; i < wf->n_dq; i++) {
        msgpack_pack_array (pk, 3);
        codec_pack_cstr (pk, wf->dq[i].source);
        msgpack_pack_uint32 (pk, wf->dq[i].count);
        blob_pack_bin (pk, &wf->dq[i].findings);
    }
    msgpack_pack_array (pk, l->n_history);
    for (uint32_t i = 0; i < l->n_history; i++)
        msgpack_pack_uint64 (pk, l->history[i]);
    msgpack_pack_array (pk, l->n_replies);
    for (uint32_t i = 0; i < l->n_replies; i++) {
        msgpack_pack_array (pk, 3);
        msgpack_pack_uint64 (pk, l->replies[i].id_hash);
        msgpack_pack_uint64 (pk, l->replies[i].reply_seq);
        msgpack_pack_int64 (pk, l->replies[i].at_ms);
    }
    codec_pack_cstr_or_nil (pk, wf->move_in_date);
    codec_pack_cstr_or_nil (pk, wf->last_actor);
}

bool
record_has_priors (const workflow_t *wf)
{
    for (int i = 0; i < wf->n_members; i++)
        for (int s = 0; s < STEP_COUNT; s++)
            if (wf->members[i].last[s].len)
                return true;
    return false;
}

void
record_pack_priors (msgpack_packer *pk, const workflow_t *wf)
{
    msgpack_pack_array (pk, (size_t) wf->n_members);
    for (int i = 0; i < wf->n_members; i++) {
        msgpack_pack_array (pk, STEP_COUNT);
        for (int s = 0; s < STEP_COUNT; s++)
            if (wf->members[i].last[s].len)
                blob_pack_bin (pk, &wf->members[i].last[s]);
            else
                msgpack_pack_nil (pk);
    }
}

/* ---- decoding the stored form (trusted, but checked: a short or mistyped
 * record fails the whole decode instead of reading past an array) ---- */

typedef struct {
    const msgpack_object *items;
    uint32_t n, i;
    bool ok;
} reader_t;

static reader_t
reader_of (const msgpack_object *o)
{
    reader_t r = { NULL, 0, 0, o && o->type == MSGPACK_OBJECT_ARRAY };
    if (r.ok) {
        r.items = o->via.array.ptr;
        r.n = o->via.array.size;
    }
    return r;
}

static const msgpack_object *
read_next (reader_t *r)
{
    if (!r->ok || r->i >= r->n) {
        r->ok = false;
        return NULL;
    }
    return &r->items[r->i++];
}

static int64_t
read_int (reader_t *r)
{
    const msgpack_object *o = read_next (r);
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return (int64_t) o->via.u64;
    if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return o->via.i64;
    if (!o || o->type != MSGPACK_OBJECT_NIL)
        r->ok = false;
    return -1;                      /* nil */
}

/* A bool, or (with `present`) nil: *present false. */
static bool
read_bool_or_nil (reader_t *r, bool *present)
{
    const msgpack_object *o = read_next (r);
    bool nil = o && o->type == MSGPACK_OBJECT_NIL && present;
    if (present)
        *present = !nil;
    if (nil)
        return false;
    if (!o || o->type != MSGPACK_OBJECT_BOOLEAN) {
        r->ok = false;
        return false;
    }
    return o->via.boolean;
}

static bool
read_bool (reader_t *r)
{
    return read_bool_or_nil (r, NULL);
}

/* A str into a C buffer, or "" for nil. */
static void
read_text (reader_t *r, char *out, size_t cap)
{
    const msgpack_object *o = read_next (r);
    out[0] = '\0';
    if (o && o->type == MSGPACK_OBJECT_STR)
        codec_str_copy (out, cap, codec_str_of (o));
    else if (!o || o->type != MSGPACK_OBJECT_NIL)
        r->ok = false;
}

/* bin or str bytes into a blob; nil leaves it empty. */
static void
read_bytes (reader_t *r, blob_t *out)
{
    const msgpack_object *o = read_next (r);
    if (o && (o->type == MSGPACK_OBJECT_BIN || o->type == MSGPACK_OBJECT_STR))
        blob_set (out, o->via.bin.ptr, o->via.bin.size);
    else if (!o || o->type != MSGPACK_OBJECT_NIL)
        r->ok = false;
}

static reader_t
read_array (reader_t *r)
{
    reader_t inner = reader_of (read_next (r));
    r->ok = r->ok && inner.ok;
    return inner;
}

static bool
unpack_member_stored (wf_member_t *m, reader_t r, int64_t format)
{
    read_text (&r, m->client_id, sizeof m->client_id);
    read_text (&r, m->enrollment_id, sizeof m->enrollment_id);
    m->relationship = (int) read_int (&r);
    read_text (&r, m->entry_date, sizeof m->entry_date);
    if (format == FORMAT_NO_AGE) {
        m->adult = read_bool (&r);
        m->has_adult = true;
    } else
        m->adult = read_bool_or_nil (&r, &m->has_adult);
    int64_t decision = read_int (&r);
    reader_t steps = read_array (&r);
    if (!r.ok || decision < DECISION_UNDECIDED || decision > DECISION_STAYING)
        return false;
    m->decision = (wf_decision_t) decision;
    while (steps.ok && steps.i < steps.n) {
        reader_t sr = read_array (&steps);
        int64_t s = read_int (&sr), mode = read_int (&sr);
        if (!sr.ok || s < 0 || s >= STEP_COUNT || mode < MODE_NONE
            || mode > MODE_DEFAULT_LAST)
            return false;
        wf_step_t *st = &m->steps[s];
        st->done = true;
        st->mode = (wf_mode_t) mode;
        st->completed_at = read_int (&sr);
        st->first_completed_at = read_int (&sr);
        read_text (&sr, st->actor, sizeof st->actor);
        read_bytes (&sr, &st->data);
        if (!sr.ok)
            return false;
    }
    if (format != FORMAT_NO_AGE)
        read_text (&r, m->birth_date, sizeof m->birth_date);
    return steps.ok && r.ok && r.i == r.n;
}

/* A reader over the one msgpack object in `buf`, unpacked into `u` (which
 * the caller destroys); not ok when there is none. */
static reader_t
open_record (const void *buf, size_t len, msgpack_unpacked *u)
{
    msgpack_unpacked_init (u);
    size_t off = 0;
    if (msgpack_unpack_next (u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS
        || off != len)
        return reader_of (NULL);
    return reader_of (&u->data);
}

static bool
unpack_stored (workflow_t *wf, record_ledger_t *ledger, reader_t r)
{
    int64_t format = read_int (&r);
    if (format != STORED_FORMAT && format != FORMAT_NO_AGE)
        return false;
    read_text (&r, wf->workflow_id, sizeof wf->workflow_id);
    wf->version = read_int (&r);
    int64_t state = read_int (&r);
    read_text (&r, wf->enrollment_id, sizeof wf->enrollment_id);
    read_text (&r, wf->household_id, sizeof wf->household_id);
    read_text (&r, wf->project_id, sizeof wf->project_id);
    wf->project_type = (int) read_int (&r);
    wf->created_at = read_int (&r);
    wf->updated_at = read_int (&r);
    read_text (&r, wf->started_by, sizeof wf->started_by);
    read_text (&r, wf->new_head_of_household, sizeof wf->new_head_of_household);
    read_bytes (&r, &wf->cancel_reason);
    wf->stalled = read_bool (&r);
    reader_t members = read_array (&r);
    reader_t dq = read_array (&r);
    reader_t history = read_array (&r);
    reader_t replies = read_array (&r);
    if (format != FORMAT_NO_AGE) {
        read_text (&r, wf->move_in_date, sizeof wf->move_in_date);
        read_text (&r, wf->last_actor, sizeof wf->last_actor);
    }
    if (!r.ok || r.i != r.n || state < 0 || state >= WF_STATE_COUNT
        || members.n > WF_MAX_MEMBERS || dq.n > WF_MAX_DQ_SOURCES
        || history.n > RECORD_RECENT || replies.n > RECORD_RECENT)
        return false;
    wf->state = (wf_state_t) state;
    for (uint32_t i = 0; i < members.n; i++) {
        wf->n_members++;
        if (!unpack_member_stored (&wf->members[i], read_array (&members),
                                   format))
            return false;
    }
    for (uint32_t i = 0; i < dq.n; i++) {
        reader_t d = read_array (&dq);
        wf_dq_t *slot = &wf->dq[wf->n_dq++];
        read_text (&d, slot->source, sizeof slot->source);
        slot->count = (uint32_t) read_int (&d);
        read_bytes (&d, &slot->findings);
        if (!d.ok)
            return false;
    }
    for (uint32_t i = 0; i < history.n; i++)
        record_ledger_add_event (ledger, (uint64_t) read_int (&history));
    for (uint32_t i = 0; i < replies.n; i++) {
        reader_t ref = read_array (&replies);
        record_reply_ref_t r = { (uint64_t) read_int (&ref),
                                 (uint64_t) read_int (&ref), read_int (&ref) };
        if (!ref.ok)
            return false;
        record_ledger_add_reply (ledger, r, INT64_MIN);
    }
    return members.ok && dq.ok && history.ok && replies.ok;
}

bool
record_unpack (workflow_t *wf, record_ledger_t *ledger, const void *buf,
               size_t len)
{
    msgpack_unpacked u;
    reader_t r = open_record (buf, len, &u);
    bool ok = r.ok && unpack_stored (wf, ledger, r);
    msgpack_unpacked_destroy (&u);
    return ok;
}

static bool
unpack_priors (workflow_t *wf, reader_t r)
{
    if (r.n != (uint32_t) wf->n_members)
        return false;
    for (int i = 0; i < wf->n_members && r.ok; i++) {
        reader_t steps = read_array (&r);
        for (int s = 0; s < STEP_COUNT && steps.ok; s++)
            read_bytes (&steps, &wf->members[i].last[s]);
        r.ok = r.ok && steps.ok;
    }
    return r.ok;
}

bool
record_unpack_priors (workflow_t *wf, const void *buf, size_t len)
{
    msgpack_unpacked u;
    reader_t r = open_record (buf, len, &u);
    bool ok = r.ok && unpack_priors (wf, r);
    msgpack_unpacked_destroy (&u);
    return ok;
}
