/* dq_snapshot — a workflow view as a plain value. See dq_snapshot.h. */
#include "workers/dq/dq_snapshot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "protocol/calendar.h"
#include "workers/dq/dq_fields.h"

/* ---- small readers over msgpack ---- */

static bool
obj_str (const msgpack_object *map, const char *key, char *out, size_t cap)
{
    const msgpack_object *o = codec_map_get (map, key);
    if (!o || o->type != MSGPACK_OBJECT_STR) {
        if (cap)
            out[0] = '\0';
        return false;
    }
    codec_str_copy (out, cap, codec_str_of (o));
    return true;
}

/* An integer (the daemon's typed fields are never booleans). */
static bool
obj_int (const msgpack_object *o, int64_t *out)
{
    if (!o)
        return false;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > INT64_MAX)
            return false;
        *out = (int64_t) o->via.u64;
        return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = o->via.i64;
        return true;
    default:
        return false;
    }
}

/* A number of dollars (int or float) as whole cents, rounded. The daemon
 * bounds amounts to HUD_AMOUNT_MAX; anything else is not an amount. */
static bool
obj_cents (const msgpack_object *o, int64_t *cents)
{
    double dollars;
    int64_t whole;
    if (obj_int (o, &whole))
        dollars = (double) whole;
    else if (o->type == MSGPACK_OBJECT_FLOAT32
             || o->type == MSGPACK_OBJECT_FLOAT64)
        dollars = o->via.f64;
    else
        return false;
    if (!isfinite (dollars) || dollars < 0 || dollars > HUD_AMOUNT_MAX)
        return false;
    *cents = (int64_t) (dollars * 100.0 + 0.5);   /* >= 0: rounds */
    return true;
}

static bool
key_int (const msgpack_object *map, const char *key, int64_t *out)
{
    return obj_int (codec_map_get (map, key), out);
}

static bool
key_time (const msgpack_object *map, const char *key, int64_t *ms)
{
    const msgpack_object *o = codec_map_get (map, key);
    return o && o->type == MSGPACK_OBJECT_STR
           && codec_parse_time (codec_str_of (o), ms);
}

static bool
key_date (const msgpack_object *map, const char *key, int64_t *day)
{
    const msgpack_object *o = codec_map_get (map, key);
    return o && o->type == MSGPACK_OBJECT_STR
           && codec_parse_date (codec_str_of (o), day);
}

/* ---- answers ---- */

bool
dq_step_answer (const dq_step_t *st, const char *name, int64_t *value)
{
    for (int i = 0; i < st->n; i++)
        if (strcmp (st->answers[i].field->name, name) == 0) {
            if (value)
                *value = st->answers[i].value;
            return true;
        }
    return false;
}

/* Keeps `value` as the answer of `f`. */
static bool
step_keep (dq_step_t *st, const hud_field_t *f, int64_t value)
{
    for (int i = 0; i < st->n; i++)
        if (st->answers[i].field == f) {
            st->answers[i].value = value;
            return true;
        }
    if (st->n == DQ_MAX_ANSWERS)
        return false;
    st->answers[st->n++] = (dq_answer_t) { f, value };
    return true;
}

/* The rules read codes and amounts; texts and dates are not kept. */
static bool
kept_type (const hud_field_t *f)
{
    return f->type == FIELD_CODE || f->type == FIELD_AMOUNT;
}

bool
dq_step_set (dq_step_t *st, int step, const char *name, int64_t value)
{
    const hud_field_t *f = hud_field_find (step, name, strlen (name));
    return f && kept_type (f) && step_keep (st, f, value);
}

static void
read_answers (dq_step_t *st, int step, const msgpack_object *data)
{
    if (!data || data->type != MSGPACK_OBJECT_MAP)
        return;
    for (uint32_t i = 0; i < data->via.map.size; i++) {
        const msgpack_object_kv *kv = &data->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR
            || kv->val.type == MSGPACK_OBJECT_NIL)
            continue;
        exf_str_t key = codec_str_of (&kv->key);
        const hud_field_t *f = hud_field_find (step, key.ptr, key.len);
        if (!f)
            continue;               /* a `local_` question: never read */
        st->n_fields++;
        int64_t v;
        if (f->type == FIELD_CODE && obj_int (&kv->val, &v))
            step_keep (st, f, v);
        else if (f->type == FIELD_AMOUNT && obj_cents (&kv->val, &v))
            step_keep (st, f, v);
    }
}

static void
read_exit_form (dq_exit_t *ex, const msgpack_object *form)
{
    if (!form || form->type != MSGPACK_OBJECT_MAP)
        return;
    ex->has_exit_date = key_date (form, "exit_date", &ex->exit_day);
    int64_t v;
    if ((ex->has_destination = key_int (form, "destination", &v)))
        ex->destination = (int) v;
    if ((ex->has_subsidy = key_int (form, "destination_subsidy_type", &v)))
        ex->subsidy = (int) v;
}

static dq_age_basis_t
read_age_basis (const msgpack_object *mo)
{
    char basis[16];
    obj_str (mo, "age_basis", basis, sizeof basis);
    return strcmp (basis, "adult_flag") == 0 ? DQ_AGE_ADULT_FLAG
           : strcmp (basis, "birth_date") == 0 ? DQ_AGE_BIRTH_DATE
           : DQ_AGE_UNKNOWN;
}

static void
read_step (dq_member_t *m, const msgpack_object *so)
{
    if (so->type != MSGPACK_OBJECT_MAP)
        return;
    const msgpack_object *name = codec_map_get (so, "name");
    if (!name || name->type != MSGPACK_OBJECT_STR)
        return;
    int step = hud_step_by_name (name->via.str.ptr, name->via.str.size);
    if (step < 0)
        return;
    char status[16];
    obj_str (so, "status", status, sizeof status);
    bool done = strcmp (status, "done") == 0;
    const msgpack_object *data = codec_map_get (so, "data");
    if (step == STEP_EXIT) {
        m->exit.done = done;
        int64_t ms;
        if (done) {
            read_exit_form (&m->exit, data);
            if ((m->exit.has_saved = key_time (so, "completed_at", &ms)))
                m->exit.saved_day = calendar_day_of_ms (ms);
        }
        return;
    }
    m->steps[step].applies = true;
    m->steps[step].done = done;
    if (done)
        read_answers (&m->steps[step], step, data);
}

static bool
read_member (dq_member_t *m, const msgpack_object *mo)
{
    if (mo->type != MSGPACK_OBJECT_MAP
        || !obj_str (mo, "client_id", m->client_id, sizeof m->client_id))
        return false;
    int64_t v;
    m->relationship = key_int (mo, "relationship", &v) ? (int) v : -1;
    /* the effective value; a member with neither flag nor date of birth
     * is treated as an adult (and age_unknown says so) */
    const msgpack_object *o = codec_map_get (mo, "adult");
    m->adult = !(o && o->type == MSGPACK_OBJECT_BOOLEAN && !o->via.boolean);
    m->age_basis = read_age_basis (mo);
    m->has_entry = key_date (mo, "entry_date", &m->entry_day);
    char decision[16];
    obj_str (mo, "decision", decision, sizeof decision);
    m->decision = strcmp (decision, "exiting") == 0 ? DQ_EXITING
                  : strcmp (decision, "staying") == 0 ? DQ_STAYING
                  : DQ_UNDECIDED;
    const msgpack_object *steps = codec_map_get (mo, "steps");
    if (steps && steps->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < steps->via.array.size; i++)
            read_step (m, &steps->via.array.ptr[i]);
    return true;
}

bool
dq_snapshot_from_view (dq_snapshot_t *s, const msgpack_object *view,
                       const char **why)
{
    memset (s, 0, sizeof *s);
    s->project_type = -1;
    if (!view || view->type != MSGPACK_OBJECT_MAP)
        return *why = "the view is not a map", false;
    if (!obj_str (view, "workflow_id", s->workflow_id, sizeof s->workflow_id))
        return *why = "the view has no workflow_id", false;
    obj_str (view, "project_id", s->project_id, sizeof s->project_id);
    obj_str (view, "household_id", s->household_id, sizeof s->household_id);
    obj_str (view, "started_by", s->started_by, sizeof s->started_by);
    obj_str (view, "new_head_of_household", s->new_head_of_household,
             sizeof s->new_head_of_household);
    int64_t v;
    if (key_int (view, "project_type", &v))
        s->project_type = (int) v;
    s->has_move_in = key_date (view, "move_in_date", &s->move_in_day);
    s->version = key_int (view, "version", &v) ? v : -1;
    char state[16];
    obj_str (view, "state", state, sizeof state);
    s->state = strcmp (state, "finished") == 0 ? DQ_STATE_FINISHED
               : strcmp (state, "cancelled") == 0 ? DQ_STATE_CANCELLED
               : DQ_STATE_OPEN;
    const msgpack_object *members = codec_map_get (view, "members");
    if (!members || members->type != MSGPACK_OBJECT_ARRAY
        || members->via.array.size > DQ_MAX_MEMBERS)
        return *why = "the view's members are not an array of at most 32", false;
    for (uint32_t i = 0; i < members->via.array.size; i++) {
        dq_member_t *m = &s->members[s->n_members];
        if (!read_member (m, &members->via.array.ptr[i]))
            return *why = "a member of the view has no client_id", false;
        s->n_members++;
    }
    return true;
}

void
dq_snapshot_set_now (dq_snapshot_t *s, int64_t ms)
{
    s->today = calendar_day_of_ms (ms);
}

static dq_member_t *
find_member (dq_snapshot_t *s, const msgpack_object *event)
{
    char cid[EXF_ID_MAX + 1];
    if (!obj_str (event, "client_id", cid, sizeof cid))
        return NULL;
    return (dq_member_t *) dq_snapshot_member (s, cid);
}

static void
set_recorded (dq_member_t *m, int64_t ms)
{
    m->exit.has_recorded = true;
    m->exit.recorded_day = calendar_day_of_ms (ms);
}

void
dq_snapshot_apply_history (dq_snapshot_t *s, const msgpack_object *events)
{
    if (!events || events->type != MSGPACK_OBJECT_ARRAY)
        return;
    /* member.exited carries the daemon's own record time and wins; before
     * the finish, the first save of the exit form is the same instant. */
    bool from_exited[DQ_MAX_MEMBERS] = { false };
    for (uint32_t i = 0; i < events->via.array.size; i++) {
        const msgpack_object *e = &events->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_MAP)
            continue;
        dq_member_t *m = find_member (s, e);
        if (!m)
            continue;
        const msgpack_object *type = codec_map_get (e, "type");
        const msgpack_object *data = codec_map_get (e, "data");
        if (!type || type->type != MSGPACK_OBJECT_STR || !data
            || data->type != MSGPACK_OBJECT_MAP)
            continue;
        int t = exf_event_by_name (type->via.str.ptr, type->via.str.size);
        int64_t ms;
        size_t k = (size_t) (m - s->members);
        if (t == EXF_EV_MEMBER_EXITED) {
            if (key_time (data, "exit_recorded_at", &ms)) {
                set_recorded (m, ms);
                from_exited[k] = true;
            }
        } else if (t == EXF_EV_STEP_COMPLETED && !from_exited[k]
                   && !m->exit.has_recorded) {
            const msgpack_object *step = codec_map_get (data, "step");
            if (step && step->type == MSGPACK_OBJECT_STR
                && hud_step_by_name (step->via.str.ptr, step->via.str.size)
                   == STEP_EXIT
                && key_time (e, "ts", &ms))
                set_recorded (m, ms);
        }
    }
}

/* ---- questions ---- */

bool
dq_member_is_head (const dq_member_t *m)
{
    return m->relationship == HUD_HEAD_OF_HOUSEHOLD;
}

bool
dq_member_answers_step (const dq_member_t *m, int step)
{
    return hud_member_answers_step (step, m->adult, m->relationship);
}

const dq_member_t *
dq_snapshot_member (const dq_snapshot_t *s, const char *client_id)
{
    for (int i = 0; i < s->n_members; i++)
        if (strcmp (s->members[i].client_id, client_id) == 0)
            return &s->members[i];
    return NULL;
}

dq_dest_quality_t
dq_exit_destination_quality (const dq_exit_t *ex)
{
    if (!ex->has_destination || ex->destination == DQ_NO_EXIT_INTERVIEW
        || ex->destination == DQ_NOT_COLLECTED)
        return DQ_DEST_MISSING;
    if (ex->destination == DQ_DOESNT_KNOW || ex->destination == DQ_PREFERS_NOT)
        return DQ_DEST_DK_PNTA;
    return DQ_DEST_ANSWERED;
}

int
dq_snapshot_head (const dq_snapshot_t *s)
{
    for (int i = 0; i < s->n_members; i++)
        if (dq_member_is_head (&s->members[i]))
            return i;
    return -1;
}
