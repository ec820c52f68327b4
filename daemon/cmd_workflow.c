/* cmd_workflow — a workflow's life and how to find it: workflow.start,
 * workflow.get, workflow.list, workflow.finish, workflow.cancel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "protocol/hud_fields.h"

#include "handlers.h"
#include "view.h"

/* Durations in seconds are capped at a century: ample, and far from
 * overflowing when turned into milliseconds. */
#define MAX_SECONDS (100LL * 366 * 86400)

/* ---- workflow.start ---- */

/* A ULID: 48 bits of milliseconds, 80 random bits, Crockford base32. */
static void
new_workflow_id (int64_t now_ms, char out[WF_ID_LEN + 1])
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    uint8_t bytes[16];
    uint64_t ms = (uint64_t) now_ms;
    for (int i = 5; i >= 0; i--, ms >>= 8)
        bytes[i] = (uint8_t) ms;
    if (getrandom (bytes + 6, 10, 0) != 10)
        abort ();                       /* the kernel's RNG does not fail */
    /* 128 bits → 26 digits of 5 bits, the first carrying 3 */
    for (int i = 0; i < WF_ID_LEN; i++) {
        int bit = i == 0 ? 0 : 3 + (i - 1) * 5;
        int width = i == 0 ? 3 : 5;
        unsigned v = 0;
        for (int b = 0; b < width; b++) {
            int pos = bit + b;
            v = (v << 1) | ((bytes[pos / 8] >> (7 - pos % 8)) & 1);
        }
        out[i] = alphabet[v];
    }
    out[WF_ID_LEN] = '\0';
}

/* An optional date argument ("YYYY-MM-DD", checked by the core) into
 * `out`; an empty string is a malformed date, not an absent one. */
static bool
read_date (const msgpack_object *map, const char *key, char out[11],
           exf_error_t *err)
{
    exf_str_t date;
    bool present;
    if (!codec_read_str (map, key, false, 10, &date, &present, EXF_VALIDATION,
                         err))
        return false;
    if (present && date.len == 0)
        return exf_fail (err, EXF_VALIDATION, key,
                         "%s must be a date YYYY-MM-DD", key);
    codec_str_copy (out, 11, present ? date : (exf_str_t) { "", 0 });
    return true;
}

/* A member's prior values: a map from an assessment step that allows
 * Default Last to that step's data, each checked against the field table
 * as step.save checks entered data (a fault names
 * members[client_id=C].last.STEP.FIELD). */
static bool
parse_last (call_t *c, const msgpack_object *last, wf_member_t *m)
{
    char path[64];
    for (uint32_t k = 0; last && k < last->via.map.size; k++) {
        const msgpack_object *key = &last->via.map.ptr[k].key;
        const msgpack_object *val = &last->via.map.ptr[k].val;
        int step = key->type == MSGPACK_OBJECT_STR
                   ? hud_step_by_name (key->via.str.ptr, key->via.str.size) : -1;
        if (step < 0 || !hud_steps[step].allows_default_last
            || val->type != MSGPACK_OBJECT_MAP) {
            exf_fail (&c->err, EXF_BAD_REQUEST, NULL,
                      "last maps assessment step names (universal_data, "
                      "health_insurance, disabilities, income_benefits) to "
                      "maps");
            workflow_error_about_member (&c->err, m->client_id, "last");
            return false;
        }
        snprintf (path, sizeof path, "last.%s", hud_steps[step].name);
        if (!hud_fields_check (step, val, &c->err)) {
            workflow_error_about_member (&c->err, m->client_id, path);
            return false;
        }
        blob_set_object (&m->last[step], val);
        if (m->last[step].len > WF_STEP_DATA_MAX) {
            exf_fail (&c->err, EXF_BAD_REQUEST, NULL, "a last %s is larger "
                      "than %d bytes", hud_steps[step].name, WF_STEP_DATA_MAX);
            workflow_error_about_member (&c->err, m->client_id, path);
            return false;
        }
    }
    return true;
}

/* A member's fields; a fault names the member by its client_id once that
 * is read (members[client_id=C].FIELD), by its position before. */
static bool
parse_member (call_t *c, const msgpack_object *o, int i, wf_member_t *m)
{
    char field[64];
    snprintf (field, sizeof field, "members.%d", i);
    if (o->type != MSGPACK_OBJECT_MAP)
        return exf_fail (&c->err, EXF_BAD_REQUEST, field, "a member is a map");
    exf_str_t date;
    int64_t relationship;
    const msgpack_object *last;
    if (!codec_read_id (o, "client_id", true, m->client_id, EXF_BAD_REQUEST,
                        &c->err)) {
        exf_error_nest_field (&c->err, field);
        return false;
    }
    if (!codec_read_id (o, "enrollment_id", true, m->enrollment_id,
                        EXF_BAD_REQUEST, &c->err)
        || !codec_read_int (o, "relationship", true, &relationship, NULL,
                            EXF_BAD_REQUEST, &c->err)
        || !codec_read_str (o, "entry_date", true, 10, &date, NULL,
                            EXF_VALIDATION, &c->err)
        || !read_date (o, "birth_date", m->birth_date, &c->err)
        || !codec_read_bool (o, "adult", false, &m->adult, &m->has_adult,
                             EXF_BAD_REQUEST, &c->err)
        || !codec_read_map (o, "last", false, &last, EXF_BAD_REQUEST, &c->err)) {
        workflow_error_about_member (&c->err, m->client_id, NULL);
        return false;
    }
    m->relationship = relationship >= 0 && relationship < 1000
                      ? (int) relationship : -1;
    codec_str_copy (m->entry_date, sizeof m->entry_date, date);
    return parse_last (c, last, m);
}

static bool
parse_start (call_t *c, workflow_t *wf)
{
    const msgpack_object *members;
    int64_t project_type = -1;
    bool has_type;
    if (!codec_read_id (c->args, "enrollment_id", true, wf->enrollment_id,
                        EXF_BAD_REQUEST, &c->err)
        || !codec_read_id (c->args, "household_id", true, wf->household_id,
                           EXF_BAD_REQUEST, &c->err)
        || !codec_read_id (c->args, "project_id", true, wf->project_id,
                           EXF_BAD_REQUEST, &c->err)
        || !codec_read_int (c->args, "project_type", false, &project_type,
                            &has_type, EXF_BAD_REQUEST, &c->err)
        || !read_date (c->args, "move_in_date", wf->move_in_date, &c->err)
        || !codec_read_array (c->args, "members", true, &members,
                              EXF_BAD_REQUEST, &c->err))
        return false;
    wf->project_type = !has_type ? -1
                       : project_type >= 0 && project_type < 1000
                       ? (int) project_type : 1000;
    if (members->via.array.size < 1 || members->via.array.size > WF_MAX_MEMBERS)
        return exf_fail (&c->err, EXF_VALIDATION, "members",
                         "a household has 1 to %d members", WF_MAX_MEMBERS);
    for (uint32_t i = 0; i < members->via.array.size; i++) {
        wf->n_members++;
        if (!parse_member (c, &members->via.array.ptr[i], (int) i,
                           &wf->members[i]))
            return false;
    }
    return true;
}

store_status_t
cmd_workflow_start (call_t *c)
{
    store_wf_t *swf = store_wf_new ();
    workflow_t *wf = swf->wf;
    wf_events_t ev;
    workflow_events_init (&ev);
    char actor[EXF_ID_MAX + 1];
    change_who_t who = call_who (c, actor);
    wf_ctx_t ctx = change_ctx (&c->env->change, who.actor);
    store_status_t rc = STORE_OK;
    if (!parse_start (c, wf))
        goto done;
    new_workflow_id (c->env->change.now_ms, wf->workflow_id);
    if (!workflow_start (wf, &ctx, &ev, &c->err))
        goto done;
    char open_id[WF_ID_LEN + 1];
    rc = store_household_open (c->env->change.txn, wf->household_id,
                               open_id);
    if (rc == STORE_OK) {
        exf_fail (&c->err, EXF_CONFLICT, "household_id",
                  "the household already has an open exit workflow");
        snprintf (c->err.workflow_id, sizeof c->err.workflow_id, "%s", open_id);
        goto done;
    }
    if (rc != STORE_NOT_FOUND)
        goto done;
    /* a new workflow: written whole here, not by commands_execute */
    rc = change_append (&c->env->change, swf, &who, &ev);
    if (!rc)
        rc = store_workflow_put (c->env->change.txn, swf);
    if (!rc)
        call_pack_write_result (c, wf, 0);
done:
    workflow_events_fini (&ev);
    store_wf_destroy (&swf);
    return rc;
}

/* ---- workflow.get, workflow.list ---- */

store_status_t
cmd_workflow_get (call_t *c)
{
    const store_wf_t *swf = call_target (c);
    if (swf)
        view_pack_workflow (c->pk, swf->wf, change_today (&c->env->change));
    return STORE_OK;
}

/* Rows one workflow.list call may look at: a filter that matches little
 * must not make one request walk every workflow ever closed. */
#define LIST_SCAN_ROWS 5000

/* What workflow.list asks for. A key (client, enrollment, household,
 * actor) picks an index; everything else given is checked on each
 * workflow the index yields. */
typedef struct {
    int state;                          /* -1: every state */
    char project_id[EXF_ID_MAX + 1];    /* "" for any */
    char keys[STORE_KEY_COUNT][EXF_ID_MAX + 1];     /* "" when not given */
    bool has_stalled, stalled;
    int64_t max_at;                     /* updated_at at most (idle_for_s) */
} list_filter_t;

typedef struct {
    call_t *c;
    const list_filter_t *filter;
    int64_t limit, count, scanned;
    bool more;
    store_status_t rc;
    store_wf_t *row;
    msgpack_packer items;
    uint8_t last_key[CALL_CURSOR_MAX];  /* the last row looked at */
    size_t last_key_len;
} list_walk_t;

static void
remember_row (list_walk_t *w, const void *key, size_t key_len)
{
    w->last_key_len = key_len < sizeof w->last_key ? key_len : 0;
    memcpy (w->last_key, key, w->last_key_len);
}

/* Whether a member has `client` ("" for any) and one has `enrollment`
 * ("" for any): each key alone, as each filters alone. */
static bool
has_members (const workflow_t *wf, const char *client, const char *enrollment)
{
    bool client_in = !client[0], enrollment_in = !enrollment[0];
    for (int i = 0; i < wf->n_members; i++) {
        client_in |= !strcmp (wf->members[i].client_id, client);
        enrollment_in |= !strcmp (wf->members[i].enrollment_id, enrollment);
    }
    return client_in && enrollment_in;
}

/* Whether a workflow an index yielded passes the other filters. */
static bool
list_matches (const list_filter_t *f, const workflow_t *wf)
{
    const char *actor = f->keys[STORE_KEY_ACTOR];
    const char *household = f->keys[STORE_KEY_HOUSEHOLD];
    return (f->state < 0 || (int) wf->state == f->state)
           && (!f->project_id[0] || !strcmp (wf->project_id, f->project_id))
           && wf->updated_at <= f->max_at
           && (!f->has_stalled
               || (wf->state == WF_OPEN && wf->stalled == f->stalled))
           && (!household[0] || !strcmp (wf->household_id, household))
           && (!actor[0] || !strcmp (wf->started_by, actor)
               || !strcmp (wf->last_actor, actor))
           && has_members (wf, f->keys[STORE_KEY_CLIENT],
                           f->keys[STORE_KEY_ENROLLMENT]);
}

static bool
list_item (void *arg, const char *workflow_id, const void *key, size_t key_len)
{
    list_walk_t *w = arg;
    if (w->scanned++ == LIST_SCAN_ROWS) {
        w->more = true;                 /* the next page goes on from here */
        return false;
    }
    w->rc = store_workflow_get (w->c->env->change.txn, workflow_id, w->row);
    if (w->rc)
        return false;
    if (!list_matches (w->filter, w->row->wf)) {
        remember_row (w, key, key_len);
        return true;
    }
    if (w->count == w->limit) {
        w->more = true;
        return false;
    }
    view_pack_summary (&w->items, w->row->wf,
                       change_today (&w->c->env->change));
    w->count++;
    remember_row (w, key, key_len);
    return true;
}

/* The keys in the order an index is picked by: the one that names the
 * fewest workflows first. */
static const struct {
    store_key_t key;
    const char *arg;
} list_keys[STORE_KEY_COUNT] = {
    { STORE_KEY_ENROLLMENT, "enrollment_id" },
    { STORE_KEY_CLIENT, "client_id" },
    { STORE_KEY_HOUSEHOLD, "household_id" },
    { STORE_KEY_ACTOR, "actor" },
};

/* Reads the arguments into `f`; `*key` is the index to walk, -1 for none
 * (then `state` was required). */
static bool
parse_list (call_t *c, list_filter_t *f, int *key)
{
    exf_str_t state_name;
    bool has_state, has_idle;
    int64_t idle = 0;
    *key = -1;
    for (int i = 0; i < STORE_KEY_COUNT; i++) {
        if (!codec_read_id (c->args, list_keys[i].arg, false,
                            f->keys[list_keys[i].key], EXF_BAD_REQUEST,
                            &c->err))
            return false;
        if (*key < 0 && f->keys[list_keys[i].key][0])
            *key = (int) list_keys[i].key;
    }
    if (!codec_read_str (c->args, "state", false, 16, &state_name,
                         &has_state, EXF_BAD_REQUEST, &c->err)
        || !codec_read_id (c->args, "project_id", false, f->project_id,
                           EXF_BAD_REQUEST, &c->err)
        || !codec_read_int (c->args, "idle_for_s", false, &idle, &has_idle,
                            EXF_BAD_REQUEST, &c->err)
        || !codec_read_bool (c->args, "stalled", false, &f->stalled,
                             &f->has_stalled, EXF_BAD_REQUEST, &c->err))
        return false;
    if (*key < 0 && !has_state)
        return exf_fail (&c->err, EXF_BAD_REQUEST, "state",
                         "state is required unless client_id, "
                         "enrollment_id, household_id or actor is given");
    f->state = has_state ? workflow_state_by_name (state_name) : -1;
    if (has_state && f->state < 0)
        return exf_fail (&c->err, EXF_BAD_REQUEST, "state",
                         "state is open, finished or cancelled");
    if (idle < 0 || idle > MAX_SECONDS)
        return exf_fail (&c->err, EXF_BAD_REQUEST, "idle_for_s",
                         "idle_for_s is 0 to %lld", (long long) MAX_SECONDS);
    f->max_at = has_idle ? c->env->change.now_ms - idle * 1000 : INT64_MAX;
    return true;
}

/* Walks the index the filter picks: a key's entries (by state, then
 * creation), the stalled ones, or a state's (oldest idle first). */
static store_status_t
list_walk (call_t *c, const list_filter_t *f, int key, const uint8_t *after,
           size_t after_len, list_walk_t *w)
{
    store_txn_t *txn = c->env->change.txn;
    if (key >= 0)
        return store_workflow_find (txn, (store_key_t) key, f->keys[key],
                                    f->state, after, after_len, list_item,
                                    w);
    if (f->has_stalled && f->stalled)
        return store_workflow_list_stalled (txn, after, after_len, f->max_at,
                                            list_item, w);
    return store_workflow_list (txn, (wf_state_t) f->state, after, after_len,
                                f->max_at, list_item, w);
}

store_status_t
cmd_workflow_list (call_t *c)
{
    list_filter_t f = { 0 };
    int key;
    int64_t limit;
    uint8_t cursor[CALL_CURSOR_MAX];
    size_t cursor_len = 0;
    if (!parse_list (c, &f, &key) || !call_read_limit (c, &limit)
        || !call_read_cursor (c, cursor, &cursor_len))
        return STORE_OK;
    /* stalled is a mark of open workflows only */
    bool none = f.has_stalled && f.state >= 0 && f.state != WF_OPEN;
    if (f.has_stalled)
        f.state = WF_OPEN;

    msgpack_sbuffer items;
    msgpack_sbuffer_init (&items);
    store_wf_t *row = store_wf_new ();
    list_walk_t w = { .c = c, .filter = &f, .limit = limit, .row = row };
    msgpack_packer_init (&w.items, &items, msgpack_sbuffer_write);
    store_status_t rc = none ? STORE_OK
                             : list_walk (c, &f, key, cursor, cursor_len, &w);
    if (rc == STORE_NOT_FOUND) {
        exf_fail (&c->err, EXF_BAD_REQUEST, "after",
                  "after is a cursor from a previous page of the same "
                  "listing");
        rc = STORE_OK;
    } else if (!rc)
        rc = w.rc;
    if (!rc && !c->err.code) {
        msgpack_pack_map (c->pk, 2);
        codec_pack_cstr (c->pk, "workflows");
        msgpack_pack_array (c->pk, (size_t) w.count);
        codec_pack_raw (c->pk, items.data, items.size);
        call_pack_cursor (c, w.more ? w.last_key : NULL, w.last_key_len);
    }
    store_wf_destroy (&row);
    msgpack_sbuffer_destroy (&items);
    return rc;
}

/* ---- workflow.finish, workflow.cancel ---- */

static bool
apply_finish (workflow_t *wf, const void *args, const wf_ctx_t *ctx,
              wf_events_t *ev, exf_error_t *err)
{
    return workflow_finish (wf, args, ctx, ev, err);
}

store_status_t
cmd_workflow_finish (call_t *c)
{
    static const call_write_t op = { apply_finish, 0, NULL };
    char new_hoh[EXF_ID_MAX + 1];
    if (!codec_read_id (c->args, "new_head_of_household", false, new_hoh,
                        EXF_BAD_REQUEST, &c->err))
        return STORE_OK;
    return call_write (c, &op, new_hoh, false);
}

static bool
apply_cancel (workflow_t *wf, const void *args, const wf_ctx_t *ctx,
              wf_events_t *ev, exf_error_t *err)
{
    return workflow_cancel (wf, *(const exf_str_t *) args, ctx, ev, err);
}

store_status_t
cmd_workflow_cancel (call_t *c)
{
    static const call_write_t op = { apply_cancel, 0, NULL };
    exf_str_t reason;
    if (!codec_read_str (c->args, "reason", true, 4096, &reason, NULL,
                         EXF_BAD_REQUEST, &c->err))
        return STORE_OK;
    return call_write (c, &op, &reason, false);
}
