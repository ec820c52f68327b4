/* cmd_export — workflow.export: the workflows finished on a span of the
 * CoC's days, a page at a time, for the HUD HMIS CSV export (reporting, so
 * ops and admin only).
 *
 * Owns: turning the CoC's days into the span of finish times, the page
 * (a seek in the state index, never a walk over every finished workflow),
 * and what the CSV needs that the view does not show: when and by whom
 * each step of an exiting member was first saved (HMIS DateCreated and
 * UserID; the view has the last save, DateUpdated). */
#include <string.h>

#include "protocol/calendar.h"

#include "handlers.h"
#include "view.h"

#define DAY_MS (24LL * 3600 * 1000)

/* ---- the span ---- */

/* The first moment (ms) of the CoC's local day `day`: the least ms whose
 * local day is `day` or later. A zone's offset is under 26 hours, so it
 * lies within two days of the UTC midnight; calendar.c says which day a
 * moment is, and a bisection finds where the day starts (DST included). */
static int64_t
day_start_ms (int64_t day)
{
    int64_t lo = (day - 2) * DAY_MS, hi = (day + 2) * DAY_MS;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (calendar_day_of_ms (mid) >= day)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* An optional date argument: days since 1970, `dflt` when absent. */
static bool
read_day (call_t *c, const char *key, int64_t dflt, int64_t *day)
{
    exf_str_t text;
    bool present;
    *day = dflt;
    if (!codec_read_str (c->args, key, false, 16, &text, &present,
                         EXF_BAD_REQUEST, &c->err))
        return false;
    if (present && !codec_parse_date (text, day))
        return exf_fail (&c->err, EXF_VALIDATION, key,
                         "%s must be a date YYYY-MM-DD", key);
    return true;
}

/* `to` defaults to the CoC's today, `from` to `to`: no dates is "the exits
 * finished today". */
static bool
read_span (call_t *c, int64_t *from, int64_t *to)
{
    if (!read_day (c, "to", change_today (&c->env->change), to)
        || !read_day (c, "from", *to, from))
        return false;
    if (*from > *to)
        return exf_fail (&c->err, EXF_VALIDATION, "from",
                         "from is after to: the span is from one day to "
                         "another, both included");
    return true;
}

/* ---- who first saved each step ---- */

/* A step keeps its last saver only, so the first saver is read from the
 * workflow's history, whose step.completed events say who saved what.
 * Whether a step was saved more than once cannot be told from its two
 * times: saves in one batch (or one millisecond) share a time. */
typedef struct {
    const workflow_t *wf;
    const char *first_by[WF_MAX_MEMBERS][STEP_COUNT];  /* NULL: not read */
    int missing;
    msgpack_unpacked events[WF_MAX_MEMBERS * STEP_COUNT]; /* first_by's */
    int n_events;
} first_savers_t;

static bool
exported_step (const wf_member_t *m, int step)
{
    return m->decision == DECISION_EXITING && m->steps[step].done;
}

/* The member and step of `f->wf` the event is the first save of, whose
 * saver is still wanted; false when it is none. */
static bool
first_save_of (const first_savers_t *f, const msgpack_object *event,
               int *member, int *step)
{
    const msgpack_object *type = codec_map_get (event, "type");
    const msgpack_object *client = codec_map_get (event, "client_id");
    const msgpack_object *name = codec_map_get (codec_map_get (event, "data"),
                                                "step");
    if (!type || !client || !name || type->type != MSGPACK_OBJECT_STR
        || client->type != MSGPACK_OBJECT_STR
        || name->type != MSGPACK_OBJECT_STR
        || !codec_str_eq (codec_str_of (type), EXF_EV_NAME (STEP_COMPLETED)))
        return false;
    *step = hud_step_by_name (name->via.str.ptr, name->via.str.size);
    for (int i = 0; *step >= 0 && i < f->wf->n_members; i++)
        if (codec_str_eq (codec_str_of (client), f->wf->members[i].client_id)) {
            *member = i;
            return !f->first_by[i][*step]
                   && exported_step (&f->wf->members[i], *step);
        }
    return false;
}

static bool
first_saver_each (void *arg, uint64_t seq, const void *event, size_t len)
{
    (void) seq;
    first_savers_t *f = arg;
    msgpack_unpacked *u = &f->events[f->n_events];
    msgpack_unpacked_init (u);
    size_t off = 0;
    int i, s;
    if (msgpack_unpack_next (u, event, len, &off) != MSGPACK_UNPACK_SUCCESS
        || !first_save_of (f, &u->data, &i, &s)) {
        msgpack_unpacked_destroy (u);
        return true;
    }
    f->n_events++;
    f->first_by[i][s] = "";
    const msgpack_object *actor = codec_map_get (&u->data, "actor");
    if (actor && actor->type == MSGPACK_OBJECT_STR) {
        /* a NUL-terminated copy, in the event's own zone */
        exf_str_t a = codec_str_of (actor);
        char *copy = msgpack_zone_malloc (u->zone, a.len + 1);
        if (copy) {
            memcpy (copy, a.ptr, a.len);
            copy[a.len] = '\0';
            f->first_by[i][s] = copy;
        }
    }
    return --f->missing > 0;
}

/* Fills `f` for the workflow `swf`: one walk of its history from the
 * start, stopping at the last first save it needs (a member's steps are
 * first saved while the exit is worked on, early in a history that later
 * holds mostly dq.reported). */
static store_status_t
first_savers (call_t *c, const store_wf_t *swf, first_savers_t *f)
{
    memset (f, 0, sizeof *f);
    f->wf = swf->wf;
    for (int i = 0; i < swf->wf->n_members; i++)
        for (int s = 0; s < STEP_COUNT; s++)
            f->missing += exported_step (&swf->wf->members[i], s);
    if (!f->missing)
        return STORE_OK;
    return store_workflow_events_scan (c->env->change.txn, swf, 0,
                                       first_saver_each, f);
}

static void
first_savers_fini (first_savers_t *f)
{
    for (int i = 0; i < f->n_events; i++)
        msgpack_unpacked_destroy (&f->events[i]);
}

/* ---- the page ---- */

typedef struct {
    call_t *c;
    int64_t limit, count;
    bool more;
    store_status_t rc;
    store_wf_t *row;
    msgpack_sbuffer items;
    msgpack_packer pk;
    uint8_t last_key[CALL_CURSOR_MAX];
    size_t last_key_len;
} export_page_t;

/* A step's first save: when (a step with no first-save time, 0, counts
 * as first saved at its last save) and by whom (`by` from the history, or
 * NULL: the step's one saver). */
static int64_t
first_save_at (const wf_step_t *st)
{
    return st->first_completed_at ? st->first_completed_at : st->completed_at;
}

/* One exiting member: when its exit was first recorded and by whom, when
 * last changed, and when and by whom each of its steps was first saved. */
static void
pack_exit (msgpack_packer *pk, const wf_member_t *m,
           const char *const by[STEP_COUNT])
{
    const wf_step_t *exit = &m->steps[STEP_EXIT];
    int done = 0;
    for (int s = 0; s < STEP_COUNT; s++)
        done += m->steps[s].done;
    msgpack_pack_map (pk, 5);
    pack_kv_str (pk, "client_id", m->client_id);
    codec_pack_cstr (pk, "exit_recorded_at");
    codec_pack_time (pk, first_save_at (exit));
    pack_kv_str (pk, "exit_recorded_by",
                 by[STEP_EXIT] ? by[STEP_EXIT] : exit->actor);
    codec_pack_cstr (pk, "exit_updated_at");
    codec_pack_time (pk, exit->completed_at);
    codec_pack_cstr (pk, "first_saved");
    msgpack_pack_map (pk, (size_t) done);
    for (int s = 0; s < STEP_COUNT; s++) {
        const wf_step_t *st = &m->steps[s];
        if (!st->done)
            continue;
        codec_pack_cstr (pk, hud_steps[s].name);
        msgpack_pack_map (pk, 2);
        codec_pack_cstr (pk, "at");
        codec_pack_time (pk, first_save_at (st));
        pack_kv_str (pk, "by", by[s] ? by[s] : st->actor);
    }
}

static store_status_t
pack_item (export_page_t *p)
{
    const workflow_t *wf = p->row->wf;
    first_savers_t f;
    store_status_t rc = first_savers (p->c, p->row, &f);
    if (!rc) {
        msgpack_pack_map (&p->pk, 2);
        codec_pack_cstr (&p->pk, "workflow");
        view_pack_workflow (&p->pk, wf, change_today (&p->c->env->change));
        size_t exiting = 0;
        for (int i = 0; i < wf->n_members; i++)
            exiting += wf->members[i].decision == DECISION_EXITING;
        codec_pack_cstr (&p->pk, "exits");
        msgpack_pack_array (&p->pk, exiting);
        for (int i = 0; i < wf->n_members; i++)
            if (wf->members[i].decision == DECISION_EXITING)
                pack_exit (&p->pk, &wf->members[i],
                           (const char *const *) f.first_by[i]);
    }
    first_savers_fini (&f);
    return rc;
}

static bool
export_item (void *arg, const char *workflow_id, const void *key,
             size_t key_len)
{
    export_page_t *p = arg;
    /* at least one item a page, however large (as events.read) */
    if (p->count == p->limit || p->items.size >= EXF_PAGE_BYTES) {
        p->more = true;
        return false;
    }
    p->rc = store_workflow_get (p->c->env->change.txn, workflow_id, p->row);
    if (!p->rc)
        p->rc = pack_item (p);
    if (p->rc)
        return false;
    p->count++;
    p->last_key_len = key_len <= sizeof p->last_key ? key_len : 0;
    memcpy (p->last_key, key, p->last_key_len);
    return true;
}

store_status_t
cmd_workflow_export (call_t *c)
{
    int64_t from, to, limit;
    uint8_t cursor[CALL_CURSOR_MAX];
    size_t cursor_len;
    if (!read_span (c, &from, &to) || !call_read_limit (c, &limit)
        || !call_read_cursor (c, cursor, &cursor_len))
        return STORE_OK;
    export_page_t p = { .c = c, .limit = limit, .row = store_wf_new () };
    msgpack_sbuffer_init (&p.items);
    msgpack_packer_init (&p.pk, &p.items, msgpack_sbuffer_write);
    store_status_t rc = store_workflow_list_since (
        c->env->change.txn, WF_FINISHED, day_start_ms (from),
        day_start_ms (to + 1) - 1, cursor, cursor_len, export_item, &p);
    if (rc == STORE_NOT_FOUND) {
        exf_fail (&c->err, EXF_BAD_REQUEST, "after",
                  "after is a cursor from a previous page of the same span");
        rc = STORE_OK;
    } else if (!rc)
        rc = p.rc;
    if (!rc && !c->err.code) {
        char day[CODEC_DATE_LEN];
        msgpack_pack_map (c->pk, 5);
        codec_format_date (from, day);
        pack_kv_str (c->pk, "from", day);
        codec_format_date (to, day);
        pack_kv_str (c->pk, "to", day);
        pack_kv_str (c->pk, "timezone", calendar_zone ());
        codec_pack_cstr (c->pk, "workflows");
        msgpack_pack_array (c->pk, (size_t) p.count);
        codec_pack_raw (c->pk, p.items.data, p.items.size);
        call_pack_cursor (c, p.more ? p.last_key : NULL, p.last_key_len);
    }
    store_wf_destroy (&p.row);
    msgpack_sbuffer_destroy (&p.items);
    return rc;
}
