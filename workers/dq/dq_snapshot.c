/* dq_snapshot — a workflow view as a plain value. See dq_snapshot.h. */
#include "workers/dq/dq_snapshot.h"

#include <stdio.h>
#include <string.h>

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

/* An integer, or a bool as 1/0. */
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
    case MSGPACK_OBJECT_BOOLEAN:
        *out = o->via.boolean ? 1 : 0;
        return true;
    default:
        return false;
    }
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


/* ---- answers ---- */

bool
dq_step_answer (const dq_step_t *st, const char *key, int64_t *value)
{
    for (int i = 0; i < st->n; i++)
        if (strcmp (st->answers[i].key, key) == 0) {
            if (value)
                *value = st->answers[i].value;
            return true;
        }
    return false;
}

bool
dq_step_set (dq_step_t *st, const char *key, int64_t value)
{
    for (int i = 0; i < st->n; i++)
        if (strcmp (st->answers[i].key, key) == 0) {
            st->answers[i].value = value;
            return true;
        }
    if (st->n == DQ_MAX_ANSWERS || strlen (key) > DQ_KEY_MAX)
        return false;
    snprintf (st->answers[st->n].key, sizeof st->answers[st->n].key, "%s", key);
    st->answers[st->n++].value = value;
    return true;
}

/* True when `key` is one the conventions table names for `step`. */
static bool
known_key (int step, exf_str_t key)
{
    for (int g = 0; g < DQ_GROUP_COUNT; g++) {
        if (dq_groups[g].step != step)
            continue;
        if (codec_str_eq (key, dq_groups[g].any_source))
            return true;
        for (const char *const *s = dq_groups[g].sources; *s; s++)
            if (codec_str_eq (key, *s))
                return true;
    }
    if (step == STEP_DISABILITIES)
        for (const char *const *s = dq_disability_fields; *s; s++)
            if (codec_str_eq (key, *s))
                return true;
    return false;
}

static void
read_answers (dq_step_t *st, int step, const msgpack_object *data)
{
    if (!data || data->type != MSGPACK_OBJECT_MAP)
        return;
    st->n_keys = (int) data->via.map.size;
    for (uint32_t i = 0; i < data->via.map.size; i++) {
        const msgpack_object_kv *kv = &data->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            continue;
        exf_str_t key = codec_str_of (&kv->key);
        int64_t v;
        if (key.len > DQ_KEY_MAX || !known_key (step, key)
            || !obj_int (&kv->val, &v))
            continue;
        char name[DQ_KEY_MAX + 1];
        codec_str_copy (name, sizeof name, key);
        dq_step_set (st, name, v);
    }
}

static void
read_exit_form (dq_exit_t *ex, const msgpack_object *form)
{
    if (!form || form->type != MSGPACK_OBJECT_MAP)
        return;
    const msgpack_object *o = codec_map_get (form, "exit_date");
    ex->has_exit_date = o && o->type == MSGPACK_OBJECT_STR
                        && codec_parse_date (codec_str_of (o), &ex->exit_day);
    int64_t v;
    if ((ex->has_destination = key_int (form, "destination", &v)))
        ex->destination = (int) v;
    if ((ex->has_subsidy = key_int (form, "destination_subsidy_type", &v)))
        ex->subsidy = (int) v;
    o = codec_map_get (form, "other_destination");
    if (o && o->type == MSGPACK_OBJECT_STR) {
        ex->other_chars = codec_utf8_length (codec_str_of (o));
        ex->has_other = ex->other_chars > 0;
    }
}

static bool
read_member (dq_member_t *m, const msgpack_object *mo)
{
    if (mo->type != MSGPACK_OBJECT_MAP
        || !obj_str (mo, "client_id", m->client_id, sizeof m->client_id))
        return false;
    int64_t v;
    m->relationship = key_int (mo, "relationship", &v) ? (int) v : -1;
    const msgpack_object *o = codec_map_get (mo, "adult");
    m->adult = !(o && o->type == MSGPACK_OBJECT_BOOLEAN && !o->via.boolean);
    o = codec_map_get (mo, "entry_date");
    m->has_entry = o && o->type == MSGPACK_OBJECT_STR
                   && codec_parse_date (codec_str_of (o), &m->entry_day);
    char decision[16];
    obj_str (mo, "decision", decision, sizeof decision);
    m->decision = strcmp (decision, "exiting") == 0 ? DQ_EXITING
                  : strcmp (decision, "staying") == 0 ? DQ_STAYING
                  : DQ_UNDECIDED;
    const msgpack_object *steps = codec_map_get (mo, "steps");
    if (!steps || steps->type != MSGPACK_OBJECT_ARRAY)
        return true;
    for (uint32_t i = 0; i < steps->via.array.size; i++) {
        const msgpack_object *so = &steps->via.array.ptr[i];
        if (so->type != MSGPACK_OBJECT_MAP)
            continue;
        const msgpack_object *name = codec_map_get (so, "name");
        if (!name || name->type != MSGPACK_OBJECT_STR)
            continue;
        int step = hud_step_by_name (name->via.str.ptr, name->via.str.size);
        if (step < 0)
            continue;
        char status[16];
        obj_str (so, "status", status, sizeof status);
        bool done = strcmp (status, "done") == 0;
        const msgpack_object *data = codec_map_get (so, "data");
        if (step == STEP_EXIT) {
            m->exit.done = done;
            if (done) {
                read_exit_form (&m->exit, data);
                key_time (so, "completed_at", &m->exit.saved_ms);
            }
        } else {
            m->steps[step].applies = true;
            m->steps[step].done = done;
            if (done)
                read_answers (&m->steps[step], step, data);
        }
    }
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

static dq_member_t *
find_member (dq_snapshot_t *s, const msgpack_object *event)
{
    char cid[EXF_ID_MAX + 1];
    if (!obj_str (event, "client_id", cid, sizeof cid))
        return NULL;
    for (int i = 0; i < s->n_members; i++)
        if (strcmp (s->members[i].client_id, cid) == 0)
            return &s->members[i];
    return NULL;
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
                m->exit.recorded_ms = ms;
                from_exited[k] = true;
            }
        } else if (t == EXF_EV_STEP_COMPLETED && !from_exited[k]
                   && !m->exit.recorded_ms) {
            const msgpack_object *step = codec_map_get (data, "step");
            if (step && step->type == MSGPACK_OBJECT_STR
                && hud_step_by_name (step->via.str.ptr, step->via.str.size)
                   == STEP_EXIT
                && key_time (e, "ts", &ms))
                m->exit.recorded_ms = ms;
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
