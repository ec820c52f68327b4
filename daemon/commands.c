/* commands — the command table (PROTOCOL.md §3) and its handlers.
 * See commands.h. A handler parses its arguments (a shape fault is
 * BAD_REQUEST), asks the workflow core, stores what changed with its events,
 * and packs its result. Domain refusals are values in `err`; a non-zero
 * return is a storage fault that aborts the batch. */
#include "commands.h"

#include "view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

typedef struct {
    const command_env_t *env;
    const codec_request_t *req;
    const msgpack_object *args;
    msgpack_packer *pk;                 /* the result map */
    exf_error_t err;
    store_wf_t *target;                 /* the one a scoped command names, or NULL */
    bool changed;                       /* store it when the command is done */
} call_t;

typedef int (*handler_fn) (call_t *c);

/* Durations in seconds are capped at a century: ample, and far from
 * overflowing when turned into milliseconds. */
#define MAX_SECONDS (100LL * 366 * 86400)

struct command_t {
    const char *name;
    handler_fn handler;
    bool writes;
    bool scoped;                        /* names one workflow: workflow_id */
    unsigned roles;
};

/* ---- outbox ---- */

void
outbox_reset (outbox_t *box)
{
    for (size_t i = 0; i < box->n; i++)
        free (box->items[i].bytes);
    box->n = 0;
}

void
outbox_destroy (outbox_t *box)
{
    outbox_reset (box);
    free (box->items);
    box->items = NULL;
    box->cap = 0;
}

static void
outbox_push (outbox_t *box, const char *type, const char *bytes, size_t len)
{
    if (box->n == box->cap) {
        box->cap = box->cap ? box->cap * 2 : 64;
        box->items = realloc (box->items, box->cap * sizeof *box->items);
        if (!box->items)
            abort ();
    }
    char *copy = malloc (len);
    if (!copy)
        abort ();
    memcpy (copy, bytes, len);
    box->items[box->n++] = (struct outbox_event) { type, copy, len };
}

/* ---- shared steps of handlers ---- */

/* Numbers, stores and queues for publishing every event of one change, and
 * notes each in the workflow's history (its ledger). */
static store_status_t
append_events (const command_env_t *env, store_wf_t *swf, const char *actor,
               wf_events_t *ev)
{
    const workflow_t *wf = swf->wf;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    store_status_t rc = STORE_OK;
    for (int i = 0; i < ev->n && !rc; i++) {
        const wf_event_t *e = &ev->ev[i];
        uint64_t seq = store_next_seq (env->txn);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
        bool has_client = e->client_id[0], has_actor = actor && actor[0];
        msgpack_pack_map (&pk, 5 + has_client + has_actor);
        codec_pack_cstr (&pk, "seq");
        msgpack_pack_uint64 (&pk, seq);
        codec_pack_cstr (&pk, "type");
        codec_pack_cstr (&pk, e->type);
        codec_pack_cstr (&pk, "ts");
        codec_pack_time (&pk, env->now_ms);
        codec_pack_cstr (&pk, "workflow_id");
        codec_pack_cstr (&pk, wf->workflow_id);
        if (has_client) {
            codec_pack_cstr (&pk, "client_id");
            codec_pack_cstr (&pk, e->client_id);
        }
        if (has_actor) {
            codec_pack_cstr (&pk, "actor");
            codec_pack_cstr (&pk, actor);
        }
        codec_pack_cstr (&pk, "data");
        codec_pack_raw (&pk, e->data.data, e->data.size);
        rc = store_event_append (env->txn, seq, sb.data, sb.size);
        if (!rc) {
            outbox_push (env->outbox, e->type, sb.data, sb.size);
            record_ledger_add_event (&swf->ledger, seq);
        }
        msgpack_sbuffer_clear (&sb);
    }
    msgpack_sbuffer_destroy (&sb);
    workflow_events_fini (ev);
    return rc;
}

static wf_ctx_t
ctx_of (call_t *c, char *actor, size_t cap)
{
    codec_str_copy (actor, cap, c->req->actor);
    wf_ctx_t ctx = { c->env->now_ms, actor };
    return ctx;
}

/* The workflow a scoped command names; NOT_FOUND is an answer, not a
 * fault. */
static store_wf_t *
named_workflow (call_t *c)
{
    if (!c->target)
        exf_fail (&c->err, EXF_NOT_FOUND, "workflow_id", "no such workflow");
    return c->target;
}

static void
pack_kv_str (msgpack_packer *pk, const char *key, const char *value)
{
    codec_pack_cstr (pk, key);
    codec_pack_cstr_or_nil (pk, value);
}

static void
pack_kv_int (msgpack_packer *pk, const char *key, int64_t value)
{
    codec_pack_cstr (pk, key);
    msgpack_pack_int64 (pk, value);
}

/* A write's answer: {workflow_id, version, state} and `n_extra` more. */
static void
pack_write_result (msgpack_packer *pk, const workflow_t *wf, int n_extra)
{
    msgpack_pack_map (pk, (size_t) (3 + n_extra));
    pack_kv_str (pk, "workflow_id", wf->workflow_id);
    pack_kv_int (pk, "version", wf->version);
    pack_kv_str (pk, "state", workflow_state_names[wf->state]);
}

/* A write to the named workflow: check the version, let the core decide,
 * append events, answer {workflow_id, version, state, extras}. The workflow
 * is stored once the reply is known (commands_execute). */
typedef struct {
    bool (*apply) (workflow_t *wf, const void *args, const wf_ctx_t *ctx,
                   wf_events_t *ev, exf_error_t *err);
    int n_extra;
    void (*pack_extra) (msgpack_packer *pk, const workflow_t *wf,
                        const void *args);
} wf_write_t;

static int
write_workflow (call_t *c, const wf_write_t *op, const void *args,
                bool with_priors)
{
    int64_t expected = 0;
    bool has_expected;
    if (!codec_read_int (c->args, "expected_version", false, &expected,
                         &has_expected, EXF_BAD_REQUEST, &c->err))
        return 0;
    store_wf_t *swf = named_workflow (c);
    if (!swf
        || !workflow_check_version (swf->wf, has_expected, expected, &c->err))
        return 0;
    workflow_t *wf = swf->wf;
    store_status_t rc = with_priors ? store_workflow_get_priors (c->env->txn, wf) : 0;
    if (rc)
        return rc;
    char actor[EXF_ID_MAX + 1];
    wf_ctx_t ctx = ctx_of (c, actor, sizeof actor);
    wf_events_t ev;
    workflow_events_init (&ev);
    if (op->apply (wf, args, &ctx, &ev, &c->err)) {
        c->changed = true;
        rc = append_events (c->env, swf, actor, &ev);
        if (!rc) {
            pack_write_result (c->pk, wf, op->n_extra);
            if (op->pack_extra)
                op->pack_extra (c->pk, wf, args);
        }
    }
    workflow_events_fini (&ev);
    return rc;
}

static bool
read_limit (call_t *c, int64_t *limit)
{
    bool present;
    *limit = 100;
    if (!codec_read_int (c->args, "limit", false, limit, &present,
                         EXF_BAD_REQUEST, &c->err))
        return false;
    if (*limit < 1 || *limit > 1000)
        return exf_fail (&c->err, EXF_BAD_REQUEST, "limit",
                         "limit is 1 to 1000");
    return true;
}

/* ---- ping, stats ---- */

static int
cmd_ping (call_t *c)
{
    msgpack_pack_map (c->pk, 2);
    codec_pack_cstr (c->pk, "pong");
    msgpack_pack_true (c->pk);
    pack_kv_str (c->pk, "version", "exitflow/1");
    return 0;
}

static int
cmd_stats (call_t *c)
{
    uint64_t counts[WF_STATE_COUNT];
    store_status_t rc = store_workflow_counts (c->env->txn, counts);
    if (rc)
        return rc;
    msgpack_pack_map (c->pk, 3);
    codec_pack_cstr (c->pk, "workflows");
    msgpack_pack_map (c->pk, WF_STATE_COUNT);
    for (int i = 0; i < WF_STATE_COUNT; i++)
        pack_kv_int (c->pk, workflow_state_names[i], (int64_t) counts[i]);
    pack_kv_int (c->pk, "last_seq", (int64_t) store_last_seq (c->env->txn));
    pack_kv_int (c->pk, "uptime_s", (c->env->now_ms - c->env->started_ms) / 1000);
    return 0;
}

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

static bool
parse_member (call_t *c, const msgpack_object *o, int i, wf_member_t *m)
{
    char field[64];
    snprintf (field, sizeof field, "members.%d", i);
    if (o->type != MSGPACK_OBJECT_MAP)
        return exf_fail (&c->err, EXF_BAD_REQUEST, field, "a member is a map");
    exf_str_t date;
    int64_t relationship;
    bool has_adult;
    const msgpack_object *last;
    if (!codec_read_id (o, "client_id", true, m->client_id, EXF_BAD_REQUEST,
                        &c->err)
        || !codec_read_id (o, "enrollment_id", true, m->enrollment_id,
                           EXF_BAD_REQUEST, &c->err)
        || !codec_read_int (o, "relationship", true, &relationship, NULL,
                            EXF_BAD_REQUEST, &c->err)
        || !codec_read_str (o, "entry_date", true, 10, &date, NULL,
                            EXF_VALIDATION, &c->err)
        || !codec_read_bool (o, "adult", false, &m->adult, &has_adult,
                             EXF_BAD_REQUEST, &c->err)
        || !codec_read_map (o, "last", false, &last, EXF_BAD_REQUEST, &c->err)) {
        exf_error_nest_field (&c->err, field);
        return false;
    }
    if (!has_adult)
        m->adult = true;
    m->relationship = relationship >= 0 && relationship < 1000
                      ? (int) relationship : -1;
    codec_str_copy (m->entry_date, sizeof m->entry_date, date);
    for (uint32_t k = 0; last && k < last->via.map.size; k++) {
        const msgpack_object *key = &last->via.map.ptr[k].key;
        const msgpack_object *val = &last->via.map.ptr[k].val;
        int step = key->type == MSGPACK_OBJECT_STR
                   ? hud_step_by_name (key->via.str.ptr, key->via.str.size) : -1;
        if (step < 0 || !hud_steps[step].allows_default_last
            || val->type != MSGPACK_OBJECT_MAP) {
            snprintf (field, sizeof field, "members.%d.last", i);
            return exf_fail (&c->err, EXF_BAD_REQUEST, field,
                             "last maps assessment step names to maps");
        }
        blob_set_object (&m->last[step], val);
        if (m->last[step].len > WF_STEP_DATA_MAX) {
            snprintf (field, sizeof field, "members.%d.last", i);
            return exf_fail (&c->err, EXF_BAD_REQUEST, field,
                             "a last value is larger than %d bytes",
                             WF_STEP_DATA_MAX);
        }
    }
    return true;
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

static int
cmd_workflow_start (call_t *c)
{
    store_wf_t *swf = store_wf_new ();
    workflow_t *wf = swf->wf;
    wf_events_t ev;
    workflow_events_init (&ev);
    char actor[EXF_ID_MAX + 1];
    wf_ctx_t ctx = ctx_of (c, actor, sizeof actor);
    store_status_t rc = 0;
    if (!parse_start (c, wf))
        goto done;
    new_workflow_id (c->env->now_ms, wf->workflow_id);
    if (!workflow_start (wf, &ctx, &ev, &c->err))
        goto done;
    char open_id[WF_ID_LEN + 1];
    rc = store_household_open (c->env->txn, wf->household_id, open_id);
    if (rc == 0) {
        exf_fail (&c->err, EXF_CONFLICT, "household_id",
                  "the household already has an open exit workflow");
        snprintf (c->err.workflow_id, sizeof c->err.workflow_id, "%s", open_id);
        goto done;
    }
    if (rc != STORE_NOT_FOUND)
        goto done;
    rc = append_events (c->env, swf, actor, &ev);
    if (!rc)
        rc = store_workflow_put (c->env->txn, swf);
    if (!rc)
        pack_write_result (c->pk, wf, 0);
done:
    workflow_events_fini (&ev);
    store_wf_destroy (&swf);
    return rc;
}

/* ---- workflow.get, list, history ---- */

static int
cmd_workflow_get (call_t *c)
{
    const store_wf_t *swf = named_workflow (c);
    if (swf)
        view_pack_workflow (c->pk, swf->wf);
    return 0;
}

/* Rows one workflow.list call may look at: a filter that matches little
 * must not make one request walk every workflow ever closed. */
#define LIST_SCAN_ROWS 5000

typedef struct {
    call_t *c;
    const char *project_id;             /* "" for any */
    int64_t limit, count, scanned;
    bool more;
    store_status_t rc;
    store_wf_t *row;
    msgpack_packer items;
    uint8_t last_key[128];              /* the last row looked at */
    size_t last_key_len;
} list_walk_t;

static void
remember_row (list_walk_t *w, const void *key, size_t key_len)
{
    w->last_key_len = key_len < sizeof w->last_key ? key_len : 0;
    memcpy (w->last_key, key, w->last_key_len);
}

static bool
list_item (void *arg, const char *workflow_id, const void *key, size_t key_len)
{
    list_walk_t *w = arg;
    if (w->scanned++ == LIST_SCAN_ROWS) {
        w->more = true;                 /* the next page goes on from here */
        return false;
    }
    w->rc = store_workflow_get (w->c->env->txn, workflow_id, w->row);
    if (w->rc)
        return false;
    if (w->project_id[0] && strcmp (w->row->wf->project_id, w->project_id)) {
        remember_row (w, key, key_len);
        return true;
    }
    if (w->count == w->limit) {
        w->more = true;
        return false;
    }
    view_pack_summary (&w->items, w->row->wf);
    w->count++;
    remember_row (w, key, key_len);
    return true;
}

static bool
parse_cursor (exf_str_t s, uint8_t *out, size_t cap, size_t *len)
{
    if (s.len % 2 || s.len / 2 > cap)
        return false;
    for (uint32_t i = 0; i < s.len; i += 2) {
        unsigned v;
        char hex[3] = { s.ptr[i], s.ptr[i + 1], 0 };
        if (!strchr ("0123456789abcdef", hex[0]) || !strchr ("0123456789abcdef", hex[1])
            || sscanf (hex, "%02x", &v) != 1)
            return false;
        out[i / 2] = (uint8_t) v;
    }
    *len = s.len / 2;
    return true;
}

static int
cmd_workflow_list (call_t *c)
{
    exf_str_t state_name, after;
    char project[EXF_ID_MAX + 1];
    int64_t idle = 0, limit;
    bool has_idle;
    if (!codec_read_str (c->args, "state", true, 16, &state_name, NULL,
                         EXF_BAD_REQUEST, &c->err)
        || !codec_read_id (c->args, "project_id", false, project,
                           EXF_BAD_REQUEST, &c->err)
        || !codec_read_int (c->args, "idle_for_s", false, &idle, &has_idle,
                            EXF_BAD_REQUEST, &c->err)
        || !codec_read_str (c->args, "after", false, 256, &after, NULL,
                            EXF_BAD_REQUEST, &c->err)
        || !read_limit (c, &limit))
        return 0;
    int state = workflow_state_by_name (state_name);
    if (state < 0)
        return exf_fail (&c->err, EXF_BAD_REQUEST, "state",
                         "state is open, finished or cancelled"), 0;
    if (idle < 0 || idle > MAX_SECONDS)
        return exf_fail (&c->err, EXF_BAD_REQUEST, "idle_for_s",
                         "idle_for_s is 0 to %lld", (long long) MAX_SECONDS), 0;
    uint8_t cursor[128];
    size_t cursor_len = 0;
    if (after.len && !parse_cursor (after, cursor, sizeof cursor, &cursor_len))
        return exf_fail (&c->err, EXF_BAD_REQUEST, "after",
                         "after is a cursor from a previous page"), 0;

    msgpack_sbuffer items;
    msgpack_sbuffer_init (&items);
    store_wf_t *row = store_wf_new ();
    list_walk_t w = { .c = c, .project_id = project, .limit = limit,
                      .row = row };
    msgpack_packer_init (&w.items, &items, msgpack_sbuffer_write);
    int64_t max_at = has_idle ? c->env->now_ms - idle * 1000 : INT64_MAX;
    store_status_t rc = store_workflow_list (c->env->txn, (wf_state_t) state, cursor,
                                  cursor_len, max_at, list_item, &w);
    if (!rc)
        rc = w.rc;
    if (!rc) {
        msgpack_pack_map (c->pk, 2);
        codec_pack_cstr (c->pk, "workflows");
        msgpack_pack_array (c->pk, (size_t) w.count);
        codec_pack_raw (c->pk, items.data, items.size);
        codec_pack_cstr (c->pk, "next");
        if (w.more && w.last_key_len) {
            char hex[2 * sizeof w.last_key + 1];
            for (size_t i = 0; i < w.last_key_len; i++)
                snprintf (hex + 2 * i, 3, "%02x", w.last_key[i]);
            codec_pack_cstr (c->pk, hex);
        } else
            msgpack_pack_nil (c->pk);
    }
    store_wf_destroy (&row);
    msgpack_sbuffer_destroy (&items);
    return rc;
}

typedef struct {
    msgpack_packer pk;
    int64_t limit, count;
} event_list_t;

static bool
collect_event (void *arg, uint64_t seq, const void *event, size_t len)
{
    (void) seq;
    event_list_t *l = arg;
    if (l->count == l->limit)
        return false;
    codec_pack_raw (&l->pk, event, len);
    l->count++;
    return true;
}

/* Packs `key: [events…]`: the log after `after`, or one workflow's. */
static int
pack_events (call_t *c, const char *key, const store_wf_t *wf,
             uint64_t after, int64_t limit)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    event_list_t l = { .limit = limit };
    msgpack_packer_init (&l.pk, &sb, msgpack_sbuffer_write);
    store_status_t rc = wf ? store_workflow_events_scan (c->env->txn, wf, collect_event,
                                              &l)
                : store_events_scan (c->env->txn, after, collect_event, &l);
    if (!rc) {
        codec_pack_cstr (c->pk, key);
        msgpack_pack_array (c->pk, (size_t) l.count);
        codec_pack_raw (c->pk, sb.data, sb.size);
    }
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

static int
cmd_workflow_history (call_t *c)
{
    const store_wf_t *wf = named_workflow (c);
    if (!wf)
        return 0;
    msgpack_pack_map (c->pk, 2);
    pack_kv_str (c->pk, "workflow_id", wf->wf->workflow_id);
    return pack_events (c, "events", wf, 0, INT64_MAX);
}

static int
cmd_events_read (call_t *c)
{
    int64_t after, limit;
    if (!codec_read_int (c->args, "after", true, &after, NULL, EXF_BAD_REQUEST,
                         &c->err)
        || !read_limit (c, &limit))
        return 0;
    if (after < 0)
        return exf_fail (&c->err, EXF_BAD_REQUEST, "after",
                         "after is a seq, not negative"), 0;
    msgpack_pack_map (c->pk, 2);
    store_status_t rc = pack_events (c, "events", NULL, (uint64_t) after, limit);
    pack_kv_int (c->pk, "last_seq", (int64_t) store_last_seq (c->env->txn));
    return rc;
}

/* ---- step.save, member.decide, workflow.finish, workflow.cancel ---- */

typedef struct {
    char client_id[EXF_ID_MAX + 1];
    int step;
    wf_mode_t mode;
    const msgpack_object *data;
} save_args_t;

static bool
apply_save (workflow_t *wf, const void *args, const wf_ctx_t *ctx,
            wf_events_t *ev, exf_error_t *err)
{
    const save_args_t *a = args;
    return workflow_save_step (wf, a->client_id, a->step, a->mode, a->data,
                               ctx, ev, err);
}

static void
pack_save_extra (msgpack_packer *pk, const workflow_t *wf, const void *args)
{
    const save_args_t *a = args;
    const wf_member_t *m = &wf->members[workflow_find_member (wf, a->client_id)];
    int next = workflow_next_step (m);
    pack_kv_str (pk, "client_id", a->client_id);
    pack_kv_str (pk, "step", hud_steps[a->step].name);
    pack_kv_str (pk, "next_step", next >= 0 ? hud_steps[next].name : NULL);
}

static int
cmd_step_save (call_t *c)
{
    static const wf_write_t op = { apply_save, 3, pack_save_extra };
    save_args_t a = { 0 };
    exf_str_t step, mode;
    if (!codec_read_id (c->args, "client_id", true, a.client_id,
                        EXF_BAD_REQUEST, &c->err)
        || !codec_read_str (c->args, "step", true, EXF_ID_MAX, &step, NULL,
                            EXF_BAD_REQUEST, &c->err)
        || !codec_read_str (c->args, "mode", true, EXF_ID_MAX, &mode, NULL,
                            EXF_BAD_REQUEST, &c->err)
        || !codec_read_map (c->args, "data", false, &a.data, EXF_BAD_REQUEST,
                            &c->err))
        return 0;
    a.step = hud_step_by_name (step.ptr, step.len);
    if (a.step < 0)
        return exf_fail (&c->err, EXF_VALIDATION, "step",
                         "step is exit, universal_data, health_insurance, "
                         "disabilities or income_benefits"), 0;
    if (codec_str_eq (mode, "entered"))
        a.mode = MODE_ENTERED;
    else if (codec_str_eq (mode, "default_last"))
        a.mode = MODE_DEFAULT_LAST;
    else
        return exf_fail (&c->err, EXF_VALIDATION, "mode",
                         "mode is entered or default_last"), 0;
    return write_workflow (c, &op, &a, a.mode == MODE_DEFAULT_LAST);
}

typedef struct {
    char client_id[EXF_ID_MAX + 1];
    bool exit;
} decide_args_t;

static bool
apply_decide (workflow_t *wf, const void *args, const wf_ctx_t *ctx,
              wf_events_t *ev, exf_error_t *err)
{
    const decide_args_t *a = args;
    return workflow_decide (wf, a->client_id, a->exit, ctx, ev, err);
}

static void
pack_decide_extra (msgpack_packer *pk, const workflow_t *wf, const void *args)
{
    (void) wf;
    const decide_args_t *a = args;
    pack_kv_str (pk, "client_id", a->client_id);
    pack_kv_str (pk, "decision", a->exit ? "exiting" : "staying");
}

static int
cmd_member_decide (call_t *c)
{
    static const wf_write_t op = { apply_decide, 2, pack_decide_extra };
    decide_args_t a = { 0 };
    if (!codec_read_id (c->args, "client_id", true, a.client_id,
                        EXF_BAD_REQUEST, &c->err)
        || !codec_read_bool (c->args, "exit", true, &a.exit, NULL,
                             EXF_BAD_REQUEST, &c->err))
        return 0;
    return write_workflow (c, &op, &a, false);
}

static bool
apply_finish (workflow_t *wf, const void *args, const wf_ctx_t *ctx,
              wf_events_t *ev, exf_error_t *err)
{
    return workflow_finish (wf, args, ctx, ev, err);
}

static int
cmd_workflow_finish (call_t *c)
{
    static const wf_write_t op = { apply_finish, 0, NULL };
    char new_hoh[EXF_ID_MAX + 1];
    if (!codec_read_id (c->args, "new_head_of_household", false, new_hoh,
                        EXF_BAD_REQUEST, &c->err))
        return 0;
    return write_workflow (c, &op, new_hoh, false);
}

static bool
apply_cancel (workflow_t *wf, const void *args, const wf_ctx_t *ctx,
              wf_events_t *ev, exf_error_t *err)
{
    return workflow_cancel (wf, *(const exf_str_t *) args, ctx, ev, err);
}

static int
cmd_workflow_cancel (call_t *c)
{
    static const wf_write_t op = { apply_cancel, 0, NULL };
    exf_str_t reason;
    if (!codec_read_str (c->args, "reason", true, 4096, &reason, NULL,
                         EXF_BAD_REQUEST, &c->err))
        return 0;
    return write_workflow (c, &op, &reason, false);
}

/* ---- dq.report ---- */

typedef struct {
    char source[EXF_ID_MAX + 1];
    const msgpack_object *findings;
} dq_args_t;

static bool
apply_dq (workflow_t *wf, const void *args, const wf_ctx_t *ctx,
          wf_events_t *ev, exf_error_t *err)
{
    (void) ctx;
    const dq_args_t *a = args;
    return workflow_report_dq (wf, a->source, a->findings, ev, err);
}

static void
pack_dq_extra (msgpack_packer *pk, const workflow_t *wf, const void *args)
{
    (void) wf;
    const dq_args_t *a = args;
    pack_kv_str (pk, "source", a->source);
    pack_kv_int (pk, "count", a->findings->via.array.size);
}

static int
cmd_dq_report (call_t *c)
{
    static const wf_write_t op = { apply_dq, 2, pack_dq_extra };
    dq_args_t a;
    if (!codec_read_id (c->args, "source", true, a.source, EXF_BAD_REQUEST,
                        &c->err)
        || !codec_read_array (c->args, "findings", true, &a.findings,
                              EXF_BAD_REQUEST, &c->err))
        return 0;
    return write_workflow (c, &op, &a, false);
}

/* ---- consumers ---- */

static int
cmd_consumer_ack (call_t *c)
{
    char name[EXF_ID_MAX + 1];
    int64_t seq;
    if (!codec_read_id (c->args, "consumer", true, name, EXF_BAD_REQUEST,
                        &c->err)
        || !codec_read_int (c->args, "seq", true, &seq, NULL, EXF_BAD_REQUEST,
                            &c->err))
        return 0;
    uint64_t last = store_last_seq (c->env->txn);
    if (seq < 0 || (uint64_t) seq > last)
        return exf_fail (&c->err, EXF_VALIDATION, "seq",
                         "seq must be between 0 and the last seq (%llu)",
                         (unsigned long long) last), 0;
    uint64_t stored = 0;
    store_status_t rc = store_consumer_get (c->env->txn, name, &stored);
    if (rc && rc != STORE_NOT_FOUND)
        return rc;
    if (rc == STORE_NOT_FOUND || (uint64_t) seq > stored) {
        stored = (uint64_t) seq;
        if ((rc = store_consumer_put (c->env->txn, name, stored)))
            return rc;
    }
    msgpack_pack_map (c->pk, 3);
    pack_kv_str (c->pk, "consumer", name);
    pack_kv_int (c->pk, "seq", (int64_t) stored);
    pack_kv_int (c->pk, "lag", (int64_t) (last - stored));
    return 0;
}

typedef struct {
    msgpack_packer pk;
    uint64_t last;
    size_t count;
} consumer_list_t;

static bool
collect_consumer (void *arg, const char *name, uint64_t seq)
{
    consumer_list_t *l = arg;
    msgpack_pack_map (&l->pk, 3);
    pack_kv_str (&l->pk, "consumer", name);
    pack_kv_int (&l->pk, "seq", (int64_t) seq);
    pack_kv_int (&l->pk, "lag", (int64_t) (l->last > seq ? l->last - seq : 0));
    l->count++;
    return true;
}

static int
cmd_consumer_list (call_t *c)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    consumer_list_t l = { .last = store_last_seq (c->env->txn) };
    msgpack_packer_init (&l.pk, &sb, msgpack_sbuffer_write);
    store_status_t rc = store_consumers_scan (c->env->txn, collect_consumer, &l);
    if (!rc) {
        msgpack_pack_map (c->pk, 2);
        codec_pack_cstr (c->pk, "consumers");
        msgpack_pack_array (c->pk, l.count);
        codec_pack_raw (c->pk, sb.data, sb.size);
        pack_kv_int (c->pk, "last_seq", (int64_t) l.last);
    }
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

/* ---- the table ---- */

#define FRONT (ROLE_FRONTEND | ROLE_ADMIN)
#define OPS (ROLE_OPS | ROLE_ADMIN)

static const command_t command_table[] = {
    /* name               handler               writes scoped roles */
    { "ping",             cmd_ping,             false, false, ROLE_ANY },
    { "stats",            cmd_stats,            false, false, ROLE_ANY },
    { "workflow.start",   cmd_workflow_start,   true,  false, FRONT },
    { "workflow.get",     cmd_workflow_get,     false, true,  ROLE_ANY },
    { "step.save",        cmd_step_save,        true,  true,  FRONT },
    { "member.decide",    cmd_member_decide,    true,  true,  FRONT },
    { "workflow.finish",  cmd_workflow_finish,  true,  true,  FRONT },
    { "workflow.cancel",  cmd_workflow_cancel,  true,  true,  FRONT | OPS },
    { "workflow.list",    cmd_workflow_list,    false, false, ROLE_ANY },
    { "workflow.history", cmd_workflow_history, false, true,  ROLE_ANY },
    { "events.read",      cmd_events_read,      false, false, ROLE_ANY },
    { "consumer.ack",     cmd_consumer_ack,     true,  false, ROLE_WORKER | OPS },
    { "consumer.list",    cmd_consumer_list,    false, false, ROLE_ANY },
    { "dq.report",        cmd_dq_report,        true,  true,  ROLE_WORKER | ROLE_ADMIN },
};

const command_t *
commands_find (exf_str_t name)
{
    for (size_t i = 0; i < sizeof command_table / sizeof *command_table; i++)
        if (codec_str_eq (name, command_table[i].name))
            return &command_table[i];
    return NULL;
}

bool
command_writes (const command_t *cmd)
{
    return cmd->writes;
}

/* ---- running a request ---- */

/* Answers that are the command's definite outcome are kept for retries;
 * transient ones (a fault, a full disk) must be evaluated anew. */
static bool
reply_is_final (const exf_error_t *err)
{
    static const char *const final_codes[] = {
        EXF_NOT_FOUND, EXF_CONFLICT, EXF_INVALID_STATE, EXF_VALIDATION };
    if (!err->code)
        return true;
    for (size_t i = 0; i < sizeof final_codes / sizeof *final_codes; i++)
        if (strcmp (err->code, final_codes[i]) == 0)
            return true;
    return false;
}

store_status_t
commands_execute (const command_env_t *env, const command_t *cmd,
                  const codec_request_t *req, const void *body,
                  size_t body_len, msgpack_sbuffer *reply)
{
    msgpack_packer out;
    msgpack_packer_init (&out, reply, msgpack_sbuffer_write);
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &result, msgpack_sbuffer_write);
    /* a command without arguments reads fields from an empty map */
    msgpack_object empty = { .type = MSGPACK_OBJECT_MAP };
    call_t c = { .env = env, .req = req, .pk = &pk,
                 .args = req->args ? req->args : &empty };
    exf_error_clear (&c.err);
    store_status_t rc = STORE_OK;
    bool idempotent = false;
    uint64_t hash = 0;

    /* A scoped command's workflow is loaded once, here: its ledger says
     * where its replies are, the handler works on it, and it is stored
     * once at the end with everything the command changed. */
    char id[EXF_ID_MAX + 1];
    if (cmd->scoped) {
        if (!codec_read_id (c.args, "workflow_id", true, id, EXF_BAD_REQUEST,
                            &c.err))
            goto answer;
        c.target = store_wf_new ();
        rc = store_workflow_get (env->txn, id, c.target);
        if (rc == STORE_NOT_FOUND) {
            store_wf_destroy (&c.target);
            rc = STORE_OK;
        } else if (rc)
            goto done;
    }
    /* an unknown workflow's NOT_FOUND is neither looked up nor stored */
    idempotent = cmd->writes && (!cmd->scoped || c.target);
    if (idempotent) {
        hash = codec_hash (body, body_len, 0);
        const void *stored;
        size_t stored_len;
        uint64_t stored_hash;
        rc = store_reply_get (env->txn, c.target, req->id, env->now_ms,
                              &stored_hash, &stored, &stored_len);
        if (rc == 0 && stored_hash == hash) {
            msgpack_sbuffer_write (reply, stored, stored_len);
            goto done;
        }
        if (rc == 0) {
            exf_fail (&c.err, EXF_BAD_REQUEST, "id",
                      "this id was already used for a different request");
            goto answer;
        }
        if (rc != STORE_NOT_FOUND)
            goto done;
        rc = 0;
    }
    rc = cmd->handler (&c);
    if (rc)
        goto done;
answer:
    if (c.err.code)
        codec_pack_reply_error (&out, req->id, &c.err);
    else {
        codec_pack_reply_ok_head (&out, req->id);
        codec_pack_raw (&out, result.data, result.size);
    }
    if (idempotent && reply_is_final (&c.err)) {
        rc = store_reply_put (env->txn, c.target, req->id, env->now_ms, hash,
                              reply->data, reply->size);
        c.changed |= c.target != NULL;
    }
    if (!rc && c.changed)
        rc = store_workflow_put (env->txn, c.target);
done:
    store_wf_destroy (&c.target);
    msgpack_sbuffer_destroy (&result);
    return rc;
}

/* ---- stalls ---- */

/* Rows one scan may look at, marked or not (a restart walks the stalled
 * ones again once). */
#define STALL_SCAN_ROWS 10000

typedef struct {
    const command_env_t *env;
    stall_cursor_t *cursor;
    int max, marked, scanned;
    store_status_t rc;
    store_wf_t *row;
} stall_walk_t;

static bool
stall_one (void *arg, const char *workflow_id, const void *key, size_t len)
{
    stall_walk_t *w = arg;
    if (w->marked == w->max || w->scanned++ == STALL_SCAN_ROWS)
        return false;
    /* `key` points into a page this call may rewrite: keep it first */
    stall_cursor_t here = { .len = len <= sizeof here.key ? len : 0 };
    memcpy (here.key, key, here.len);
    wf_events_t ev;
    workflow_events_init (&ev);
    w->rc = store_workflow_get (w->env->txn, workflow_id, w->row);
    wf_ctx_t ctx = { w->env->now_ms, "" };
    if (!w->rc && workflow_mark_stalled (w->row->wf, &ctx, &ev)) {
        w->rc = append_events (w->env, w->row, "", &ev);
        if (!w->rc)
            w->rc = store_workflow_put (w->env->txn, w->row);
        w->marked++;
    }
    workflow_events_fini (&ev);
    if (!w->rc && here.len)
        *w->cursor = here;
    return !w->rc;
}

store_status_t
commands_mark_stalled (const command_env_t *env, int64_t stall_after_s,
                       stall_cursor_t *cursor, int max, int *marked)
{
    store_wf_t *row = store_wf_new ();
    stall_walk_t w = { env, cursor, max, 0, 0, STORE_OK, row };
    store_status_t rc = store_workflow_list (env->txn, WF_OPEN, cursor->key, cursor->len,
                                  env->now_ms - stall_after_s * 1000,
                                  stall_one, &w);
    store_wf_destroy (&row);
    *marked = w.marked;
    return rc ? rc : w.rc;
}
