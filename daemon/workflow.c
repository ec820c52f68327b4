/* workflow — the exit workflow's rules, events and encoding, as pure
 * functions over a workflow_t. See workflow.h and PROTOCOL.md §4. */
#include "workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const wf_state_names[WF_STATE_COUNT] = {
    [WF_OPEN] = "open", [WF_FINISHED] = "finished",
    [WF_CANCELLED] = "cancelled" };

static const char *const decision_names[] = {
    [DECISION_UNDECIDED] = "undecided", [DECISION_EXITING] = "exiting",
    [DECISION_STAYING] = "staying" };

static const char *const mode_names[] = {
    [MODE_NONE] = "", [MODE_ENTERED] = "entered",
    [MODE_DEFAULT_LAST] = "default_last" };

int
wf_state_by_name (exf_str_t s)
{
    for (int i = 0; i < WF_STATE_COUNT; i++)
        if (codec_str_eq (s, wf_state_names[i]))
            return i;
    return -1;
}

static int
name_index (const char *const *names, int n, exf_str_t s)
{
    for (int i = 0; i < n; i++)
        if (codec_str_eq (s, names[i]))
            return i;
    return -1;
}

/* ---- blobs and events ---- */

void
blob_set (blob_t *blob, const void *ptr, size_t len)
{
    blob_free (blob);
    if (!len)
        return;
    blob->ptr = malloc (len);
    if (!blob->ptr)
        abort ();
    memcpy (blob->ptr, ptr, len);
    blob->len = len;
}

void
blob_set_object (blob_t *blob, const msgpack_object *obj)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_object (&pk, *obj);
    blob_free (blob);
    blob->len = sb.size;            /* release zeroes the size */
    blob->ptr = (uint8_t *) msgpack_sbuffer_release (&sb);
}

void
blob_free (blob_t *blob)
{
    free (blob->ptr);
    blob->ptr = NULL;
    blob->len = 0;
}

void
wf_events_init (wf_events_t *events)
{
    events->n = 0;
}

void
wf_events_reset (wf_events_t *events)
{
    for (int i = 0; i < events->n; i++)
        msgpack_sbuffer_destroy (&events->ev[i].data);
    events->n = 0;
}

/* Starts an event and returns the packer for its data map. */
static msgpack_packer
event_begin (wf_events_t *events, const char *type, const char *client_id,
             size_t map_size)
{
    wf_event_t *e = &events->ev[events->n++];
    e->type = type;
    snprintf (e->client_id, sizeof e->client_id, "%s", client_id ? client_id : "");
    msgpack_sbuffer_init (&e->data);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &e->data, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, map_size);
    return pk;
}

void
workflow_init (workflow_t *wf)
{
    memset (wf, 0, sizeof *wf);
    wf->project_type = -1;
}

void
workflow_free (workflow_t *wf)
{
    for (int i = 0; i < wf->n_members; i++)
        for (int s = 0; s < STEP_COUNT; s++) {
            blob_free (&wf->members[i].steps[s].data);
            blob_free (&wf->members[i].last[s]);
        }
    for (int i = 0; i < wf->n_dq; i++)
        blob_free (&wf->dq[i].findings);
    blob_free (&wf->cancel_reason);
    free (wf->ledger.history);
    free (wf->ledger.replies);
    workflow_init (wf);
}

workflow_t *
workflow_new (void)
{
    workflow_t *wf = malloc (sizeof *wf);
    if (!wf)
        abort ();
    workflow_init (wf);
    return wf;
}

void
workflow_destroy (workflow_t **wf_p)
{
    if (!*wf_p)
        return;
    workflow_free (*wf_p);
    free (*wf_p);
    *wf_p = NULL;
}

/* ---- the ledger ---- */

/* Grows an array to hold one more element; aborts when memory is gone, as
 * every allocation here does. */
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
wf_ledger_add_event (wf_ledger_t *l, uint64_t seq)
{
    l->history = grow (l->history, l->n_history, &l->cap_history,
                       sizeof *l->history);
    l->history[l->n_history++] = seq;
}

void
wf_ledger_add_reply (wf_ledger_t *l, wf_reply_ref_t ref,
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

/* ---- questions ---- */

int
workflow_find_member (const workflow_t *wf, const char *client_id)
{
    for (int i = 0; i < wf->n_members; i++)
        if (strcmp (wf->members[i].client_id, client_id) == 0)
            return i;
    return -1;
}

int
workflow_primary_member (const workflow_t *wf)
{
    for (int i = 0; i < wf->n_members; i++)
        if (strcmp (wf->members[i].enrollment_id, wf->enrollment_id) == 0)
            return i;
    return -1;
}

static bool
is_head (const wf_member_t *m)
{
    return m->relationship == HUD_HEAD_OF_HOUSEHOLD;
}

bool
workflow_step_applies (const wf_member_t *m, int step)
{
    return !hud_steps[step].adults_and_hoh_only || m->adult || is_head (m);
}

int
workflow_next_step (const wf_member_t *m)
{
    if (m->decision != DECISION_EXITING)
        return -1;
    for (int s = 0; s < STEP_COUNT; s++)
        if (workflow_step_applies (m, s) && !m->steps[s].done)
            return s;
    return -1;
}

void
workflow_progress (const workflow_t *wf, int *done, int *total)
{
    int primary = workflow_primary_member (wf);
    *done = *total = 0;
    for (int i = 0; i < wf->n_members; i++) {
        const wf_member_t *m = &wf->members[i];
        if (i != primary) {
            (*total)++;
            *done += m->decision != DECISION_UNDECIDED;
        }
        if (m->decision != DECISION_EXITING)
            continue;
        for (int s = 0; s < STEP_COUNT; s++)
            if (workflow_step_applies (m, s)) {
                (*total)++;
                *done += m->steps[s].done;
            }
    }
}

/* ---- rules ---- */

static bool
require_open (const workflow_t *wf, exf_error_t *err)
{
    if (wf->state != WF_OPEN)
        return exf_fail (err, EXF_INVALID_STATE, NULL,
                         "the workflow is %s; it can no longer change",
                         wf_state_names[wf->state]);
    return true;
}

/* Every accepted change: a new version, a new idle period. */
static void
touch (workflow_t *wf, const wf_ctx_t *ctx)
{
    wf->version++;
    wf->updated_at = ctx->now_ms;
    wf->stalled = false;
}

static wf_member_t *
member_or_fail (workflow_t *wf, const char *client_id, exf_error_t *err)
{
    int i = workflow_find_member (wf, client_id);
    if (i < 0) {
        exf_fail (err, EXF_NOT_FOUND, "client_id",
                  "client_id is not a member of this workflow");
        return NULL;
    }
    return &wf->members[i];
}

static int64_t
date_days (const char *date)
{
    int64_t days = 0;
    exf_str_t s = { date, (uint32_t) strlen (date) };
    codec_parse_date (s, &days);
    return days;
}

bool
workflow_check_version (const workflow_t *wf, bool given, int64_t expected,
                        exf_error_t *err)
{
    if (given && expected != wf->version) {
        exf_fail (err, EXF_CONFLICT, "expected_version",
                  "the workflow is at version %lld, not %lld",
                  (long long) wf->version, (long long) expected);
        err->version = wf->version;
        return false;
    }
    return true;
}

static bool
check_members (const workflow_t *wf, const wf_ctx_t *ctx, exf_error_t *err)
{
    if (wf->n_members < 1 || wf->n_members > WF_MAX_MEMBERS)
        return exf_fail (err, EXF_VALIDATION, "members",
                         "a household has 1 to %d members", WF_MAX_MEMBERS);
    int heads = 0;
    int64_t today = codec_days_of_ms (ctx->now_ms);
    for (int i = 0; i < wf->n_members; i++) {
        const wf_member_t *m = &wf->members[i];
        char field[64];
        if (!hud_is_relationship (m->relationship)) {
            snprintf (field, sizeof field, "members.%d.relationship", i);
            return exf_fail (err, EXF_VALIDATION, field,
                             "relationship %d is not a HUD 3.15 code",
                             m->relationship);
        }
        heads += is_head (m);
        int64_t entry;
        exf_str_t date = { m->entry_date, (uint32_t) strlen (m->entry_date) };
        snprintf (field, sizeof field, "members.%d.entry_date", i);
        if (!codec_parse_date (date, &entry))
            return exf_fail (err, EXF_VALIDATION, field,
                             "entry_date must be a date YYYY-MM-DD");
        if (entry > today)
            return exf_fail (err, EXF_VALIDATION, field,
                             "entry_date is in the future");
        for (int j = 0; j < i; j++) {
            if (strcmp (wf->members[j].client_id, m->client_id) == 0) {
                snprintf (field, sizeof field, "members.%d.client_id", i);
                return exf_fail (err, EXF_VALIDATION, field,
                                 "client_id appears twice in the household");
            }
            if (strcmp (wf->members[j].enrollment_id, m->enrollment_id) == 0) {
                snprintf (field, sizeof field, "members.%d.enrollment_id", i);
                return exf_fail (err, EXF_VALIDATION, field,
                                 "enrollment_id appears twice in the household");
            }
        }
    }
    if (heads != 1)
        return exf_fail (err, EXF_VALIDATION, "members",
                         "a household has exactly one head of household "
                         "(relationship 1); this one has %d", heads);
    return true;
}

bool
workflow_start (workflow_t *wf, const wf_ctx_t *ctx, wf_events_t *ev,
                exf_error_t *err)
{
    if (wf->project_type != -1 && !hud_is_project_type (wf->project_type))
        return exf_fail (err, EXF_VALIDATION, "project_type",
                         "project_type %d is not a HUD 2.02.6 code",
                         wf->project_type);
    if (!check_members (wf, ctx, err))
        return false;
    int primary = workflow_primary_member (wf);
    if (primary < 0)
        return exf_fail (err, EXF_VALIDATION, "enrollment_id",
                         "enrollment_id matches no member's enrollment");
    for (int i = 0; i < wf->n_members; i++)
        wf->members[i].decision = i == primary ? DECISION_EXITING
                                               : DECISION_UNDECIDED;
    wf->state = WF_OPEN;
    wf->version = 1;
    wf->created_at = wf->updated_at = ctx->now_ms;
    snprintf (wf->started_by, sizeof wf->started_by, "%s", ctx->actor);

    msgpack_packer pk = event_begin (ev, "workflow.started",
                                     wf->members[primary].client_id, 5);
    codec_pack_cstr (&pk, "enrollment_id");
    codec_pack_cstr (&pk, wf->enrollment_id);
    codec_pack_cstr (&pk, "household_id");
    codec_pack_cstr (&pk, wf->household_id);
    codec_pack_cstr (&pk, "project_id");
    codec_pack_cstr (&pk, wf->project_id);
    codec_pack_cstr (&pk, "project_type");
    if (wf->project_type >= 0)
        msgpack_pack_int (&pk, wf->project_type);
    else
        msgpack_pack_nil (&pk);
    codec_pack_cstr (&pk, "members");
    msgpack_pack_array (&pk, (size_t) wf->n_members);
    for (int i = 0; i < wf->n_members; i++) {
        msgpack_pack_map (&pk, 3);
        codec_pack_cstr (&pk, "client_id");
        codec_pack_cstr (&pk, wf->members[i].client_id);
        codec_pack_cstr (&pk, "relationship");
        msgpack_pack_int (&pk, wf->members[i].relationship);
        codec_pack_cstr (&pk, "decision");
        codec_pack_cstr (&pk, decision_names[wf->members[i].decision]);
    }
    return true;
}

/* The exit form's fields (3.11, 3.12, 3.12.A and the reason), which are
 * also the exit record that member.exited carries. */
#define EXIT_FORM_FIELDS 5
static const char *const exit_form_fields[EXIT_FORM_FIELDS] = {
    "exit_date", "destination", "destination_subsidy_type",
    "other_destination", "exit_reason" };

/* The exit form is a form a person fills: every fault is a VALIDATION
 * naming the field. */
static bool
validate_exit_form (const wf_member_t *m, const msgpack_object *data,
                    const wf_ctx_t *ctx, exf_error_t *err)
{
    for (uint32_t i = 0; i < data->via.map.size; i++) {
        const msgpack_object *k = &data->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR
            || name_index (exit_form_fields, EXIT_FORM_FIELDS,
                           codec_str_of (k)) < 0) {
            char field[64] = "data";
            if (k->type == MSGPACK_OBJECT_STR)
                codec_str_copy (field, sizeof field, codec_str_of (k));
            return exf_fail (err, EXF_VALIDATION, field,
                             "the exit form has no such field");
        }
    }
    exf_str_t exit_date, other, reason;
    int64_t destination = 0, subsidy = 0;
    bool has_subsidy, has_other;
    if (!codec_read_str (data, "exit_date", true, 10, &exit_date, NULL,
                         EXF_VALIDATION, err)
        || !codec_read_int (data, "destination", true, &destination, NULL,
                            EXF_VALIDATION, err)
        || !codec_read_int (data, "destination_subsidy_type", false, &subsidy,
                            &has_subsidy, EXF_VALIDATION, err)
        || !codec_read_str (data, "other_destination", false, 4096, &other,
                            &has_other, EXF_VALIDATION, err)
        || !codec_read_str (data, "exit_reason", false, WF_TEXT_MAX, &reason,
                            NULL, EXF_VALIDATION, err))
        return false;
    int64_t exit_days;
    if (!codec_parse_date (exit_date, &exit_days))
        return exf_fail (err, EXF_VALIDATION, "exit_date",
                         "exit_date must be a date YYYY-MM-DD");
    if (exit_days < date_days (m->entry_date))
        return exf_fail (err, EXF_VALIDATION, "exit_date",
                         "exit_date is before the member's entry date");
    if (exit_days > codec_days_of_ms (ctx->now_ms))
        return exf_fail (err, EXF_VALIDATION, "exit_date",
                         "exit_date is in the future");
    const hud_destination_t *dest =
        destination >= 0 && destination < 1000 ? hud_destination ((int) destination)
                                               : NULL;
    if (!dest)
        return exf_fail (err, EXF_VALIDATION, "destination",
                         "destination %lld is not a HUD 3.12 destination code",
                         (long long) destination);
    if (dest->needs_subsidy_type && !has_subsidy)
        return exf_fail (err, EXF_VALIDATION, "destination_subsidy_type",
                         "destination %d requires destination_subsidy_type",
                         dest->code);
    if (!dest->needs_subsidy_type && has_subsidy)
        return exf_fail (err, EXF_VALIDATION, "destination_subsidy_type",
                         "destination_subsidy_type is only for destination 435");
    if (has_subsidy
        && (subsidy < 0 || subsidy > 1000 || !hud_is_subsidy_type ((int) subsidy)))
        return exf_fail (err, EXF_VALIDATION, "destination_subsidy_type",
                         "%lld is not a HUD 3.12.A rental subsidy type",
                         (long long) subsidy);
    has_other = has_other && other.len > 0;
    if (dest->needs_other_text && !has_other)
        return exf_fail (err, EXF_VALIDATION, "other_destination",
                         "destination 17 (Other) requires other_destination");
    if (!dest->needs_other_text && has_other)
        return exf_fail (err, EXF_VALIDATION, "other_destination",
                         "other_destination is only for destination 17");
    if (has_other && codec_utf8_length (other) > HUD_OTHER_DESTINATION_MAX)
        return exf_fail (err, EXF_VALIDATION, "other_destination",
                         "other_destination is at most %d characters",
                         HUD_OTHER_DESTINATION_MAX);
    return true;
}

bool
workflow_save_step (workflow_t *wf, const char *client_id, int step,
                    wf_mode_t mode, const msgpack_object *data,
                    const wf_ctx_t *ctx, wf_events_t *ev, exf_error_t *err)
{
    if (!require_open (wf, err))
        return false;
    wf_member_t *m = member_or_fail (wf, client_id, err);
    if (!m)
        return false;
    if (step < 0 || step >= STEP_COUNT)
        return exf_fail (err, EXF_VALIDATION, "step", "no such step");
    if (m->decision != DECISION_EXITING)
        return exf_fail (err, EXF_INVALID_STATE, "client_id",
                         "the member is %s, not exiting: decide first",
                         decision_names[m->decision]);
    if (!workflow_step_applies (m, step))
        return exf_fail (err, EXF_VALIDATION, "step",
                         "%s is collected only for adults and the head of "
                         "household", hud_steps[step].name);
    if (step != STEP_EXIT && !m->steps[STEP_EXIT].done)
        return exf_fail (err, EXF_INVALID_STATE, "step",
                         "the exit form comes first");

    const blob_t *source = NULL;
    blob_t entered = { 0 };
    if (mode == MODE_DEFAULT_LAST) {
        if (!hud_steps[step].allows_default_last)
            return exf_fail (err, EXF_VALIDATION, "mode",
                             "the exit form cannot be defaulted from the "
                             "last assessment");
        if (data)
            return exf_fail (err, EXF_VALIDATION, "data",
                             "default_last takes no data");
        if (!m->last[step].len)
            return exf_fail (err, EXF_VALIDATION, "mode",
                             "there is no last %s to default from",
                             hud_steps[step].name);
        source = &m->last[step];
    } else {
        if (!data || data->type != MSGPACK_OBJECT_MAP)
            return exf_fail (err, EXF_VALIDATION, "data",
                             "entered steps need data, a map");
        if (step == STEP_EXIT && !validate_exit_form (m, data, ctx, err))
            return false;
        blob_set_object (&entered, data);
        if (entered.len > WF_STEP_DATA_MAX) {
            blob_free (&entered);
            return exf_fail (err, EXF_VALIDATION, "data",
                             "step data is larger than %d bytes",
                             WF_STEP_DATA_MAX);
        }
        source = &entered;
    }

    wf_step_t *st = &m->steps[step];
    if (source == &entered) {
        blob_free (&st->data);
        st->data = entered;
    } else
        blob_set (&st->data, source->ptr, source->len);
    st->done = true;
    st->mode = mode;
    st->completed_at = ctx->now_ms;
    if (!st->first_completed_at)
        st->first_completed_at = ctx->now_ms;
    snprintf (st->actor, sizeof st->actor, "%s", ctx->actor);
    touch (wf, ctx);

    msgpack_packer pk = event_begin (ev, "step.completed", m->client_id, 4);
    codec_pack_cstr (&pk, "step");
    codec_pack_cstr (&pk, hud_steps[step].name);
    codec_pack_cstr (&pk, "mode");
    codec_pack_cstr (&pk, mode_names[mode]);
    codec_pack_cstr (&pk, "version");
    msgpack_pack_int64 (&pk, wf->version);
    codec_pack_cstr (&pk, "data");
    codec_pack_raw (&pk, st->data.ptr, st->data.len);
    return true;
}

bool
workflow_decide (workflow_t *wf, const char *client_id, bool exit,
                 const wf_ctx_t *ctx, wf_events_t *ev, exf_error_t *err)
{
    if (!require_open (wf, err))
        return false;
    wf_member_t *m = member_or_fail (wf, client_id, err);
    if (!m)
        return false;
    if (m - wf->members == workflow_primary_member (wf))
        return exf_fail (err, EXF_VALIDATION, "client_id",
                         "the workflow was started to exit this member");
    m->decision = exit ? DECISION_EXITING : DECISION_STAYING;
    touch (wf, ctx);
    msgpack_packer pk = event_begin (ev, "member.decided", m->client_id, 2);
    codec_pack_cstr (&pk, "decision");
    codec_pack_cstr (&pk, decision_names[m->decision]);
    codec_pack_cstr (&pk, "version");
    msgpack_pack_int64 (&pk, wf->version);
    return true;
}

/* Copies `key: value` from a map, `key: nil` when it has none. */
static void
pack_copied_field (msgpack_packer *pk, const msgpack_object *map,
                   const char *key)
{
    const msgpack_object *v = codec_map_get (map, key);
    codec_pack_cstr (pk, key);
    if (v)
        msgpack_pack_object (pk, *v);
    else
        msgpack_pack_nil (pk);
}

static void
emit_member_exited (const wf_member_t *m, wf_events_t *ev)
{
    const wf_step_t *exit = &m->steps[STEP_EXIT];
    msgpack_unpacked form;
    msgpack_unpacked_init (&form);
    size_t off = 0;
    msgpack_unpack_next (&form, (const char *) exit->data.ptr, exit->data.len,
                         &off);
    msgpack_packer pk = event_begin (ev, "member.exited", m->client_id, 8);
    codec_pack_cstr (&pk, "enrollment_id");
    codec_pack_cstr (&pk, m->enrollment_id);
    codec_pack_cstr (&pk, "relationship");
    msgpack_pack_int (&pk, m->relationship);
    for (int i = 0; i < EXIT_FORM_FIELDS; i++)
        pack_copied_field (&pk, &form.data, exit_form_fields[i]);
    codec_pack_cstr (&pk, "exit_recorded_at");
    codec_pack_time (&pk, exit->first_completed_at);
    msgpack_unpacked_destroy (&form);
}

static void
pack_client_ids (msgpack_packer *pk, const workflow_t *wf, wf_decision_t which)
{
    size_t n = 0;
    for (int i = 0; i < wf->n_members; i++)
        n += wf->members[i].decision == which;
    msgpack_pack_array (pk, n);
    for (int i = 0; i < wf->n_members; i++)
        if (wf->members[i].decision == which)
            codec_pack_cstr (pk, wf->members[i].client_id);
}

bool
workflow_finish (workflow_t *wf, const char *new_hoh, const wf_ctx_t *ctx,
                 wf_events_t *ev, exf_error_t *err)
{
    if (!require_open (wf, err))
        return false;
    bool head_exits = false, someone_stays = false;
    for (int i = 0; i < wf->n_members; i++) {
        const wf_member_t *m = &wf->members[i];
        if (m->decision == DECISION_UNDECIDED)
            return exf_fail (err, EXF_INVALID_STATE, "client_id",
                             "member %d has no exit decision yet", i);
        int next = workflow_next_step (m);
        if (next >= 0)
            return exf_fail (err, EXF_INVALID_STATE, "step",
                             "member %d still has %s pending", i,
                             hud_steps[next].name);
        head_exits |= is_head (m) && m->decision == DECISION_EXITING;
        someone_stays |= m->decision == DECISION_STAYING;
    }
    if (head_exits && someone_stays) {
        int h = new_hoh[0] ? workflow_find_member (wf, new_hoh) : -1;
        if (h < 0 || wf->members[h].decision != DECISION_STAYING)
            return exf_fail (err, EXF_VALIDATION, "new_head_of_household",
                             "the head of household exits while others stay: "
                             "new_head_of_household must name a staying member");
    } else if (new_hoh[0])
        return exf_fail (err, EXF_VALIDATION, "new_head_of_household",
                         "the head of household is not leaving a staying "
                         "household");

    snprintf (wf->new_head_of_household, sizeof wf->new_head_of_household,
              "%s", new_hoh);
    wf->state = WF_FINISHED;
    touch (wf, ctx);
    for (int i = 0; i < wf->n_members; i++)
        if (wf->members[i].decision == DECISION_EXITING)
            emit_member_exited (&wf->members[i], ev);
    msgpack_packer pk = event_begin (ev, "workflow.finished", NULL, 4);
    codec_pack_cstr (&pk, "version");
    msgpack_pack_int64 (&pk, wf->version);
    codec_pack_cstr (&pk, "exited");
    pack_client_ids (&pk, wf, DECISION_EXITING);
    codec_pack_cstr (&pk, "staying");
    pack_client_ids (&pk, wf, DECISION_STAYING);
    codec_pack_cstr (&pk, "new_head_of_household");
    codec_pack_cstr_or_nil (&pk, wf->new_head_of_household);
    return true;
}

bool
workflow_cancel (workflow_t *wf, exf_str_t reason, const wf_ctx_t *ctx,
                 wf_events_t *ev, exf_error_t *err)
{
    if (!require_open (wf, err))
        return false;
    if (reason.len == 0 || reason.len > WF_TEXT_MAX)
        return exf_fail (err, EXF_VALIDATION, "reason",
                         "reason is 1 to %d bytes of text", WF_TEXT_MAX);
    blob_set (&wf->cancel_reason, reason.ptr, reason.len);
    wf->state = WF_CANCELLED;
    touch (wf, ctx);
    msgpack_packer pk = event_begin (ev, "workflow.cancelled", NULL, 2);
    codec_pack_cstr (&pk, "version");
    msgpack_pack_int64 (&pk, wf->version);
    codec_pack_cstr (&pk, "reason");
    codec_pack_str (&pk, reason);
    return true;
}

static bool
check_finding (const workflow_t *wf, const msgpack_object *f, uint32_t i,
               bool *is_error, exf_error_t *err)
{
    char path[64];
    snprintf (path, sizeof path, "findings.%u", i);
    if (f->type != MSGPACK_OBJECT_MAP)
        return exf_fail (err, EXF_BAD_REQUEST, path, "a finding is a map");
    exf_str_t rule, severity, client, message;
    bool has_client, ok = true;
    if (!codec_read_str (f, "rule", true, EXF_ID_MAX, &rule, NULL,
                         EXF_BAD_REQUEST, err)
        || !codec_read_str (f, "severity", true, EXF_ID_MAX, &severity, NULL,
                            EXF_BAD_REQUEST, err)
        || !codec_read_str (f, "client_id", false, EXF_ID_MAX, &client,
                            &has_client, EXF_BAD_REQUEST, err)
        || !codec_read_str (f, "message", true, WF_TEXT_MAX, &message, NULL,
                            EXF_BAD_REQUEST, err))
        ok = false;
    else if (!(*is_error = codec_str_eq (severity, "error"))
             && !codec_str_eq (severity, "warning"))
        ok = exf_fail (err, EXF_VALIDATION, "severity",
                       "severity is error or warning");
    else if (has_client) {
        char id[EXF_ID_MAX + 1];
        codec_str_copy (id, sizeof id, client);
        if (strlen (id) != client.len || workflow_find_member (wf, id) < 0)
            ok = exf_fail (err, EXF_VALIDATION, "client_id",
                           "finding %u names a client outside the household",
                           i);
    }
    if (!ok)
        exf_error_nest_field (err, path);
    return ok;
}

bool
workflow_report_dq (workflow_t *wf, const char *source,
                    const msgpack_object *findings, const wf_ctx_t *ctx,
                    wf_events_t *ev, exf_error_t *err)
{
    (void) ctx;
    uint32_t n = findings->via.array.size;
    if (n > WF_MAX_FINDINGS)
        return exf_fail (err, EXF_VALIDATION, "findings",
                         "at most %d findings per report", WF_MAX_FINDINGS);
    uint32_t errors = 0;
    for (uint32_t i = 0; i < n; i++) {
        bool is_error = false;
        if (!check_finding (wf, &findings->via.array.ptr[i], i, &is_error, err))
            return false;
        errors += is_error;
    }
    int slot = 0;
    while (slot < wf->n_dq && strcmp (wf->dq[slot].source, source) != 0)
        slot++;
    if (slot == wf->n_dq && n > 0 && wf->n_dq == WF_MAX_DQ_SOURCES)
        return exf_fail (err, EXF_VALIDATION, "source",
                         "at most %d DQ sources per workflow",
                         WF_MAX_DQ_SOURCES);

    /* Normalised: each finding re-packed with its source, back to back, so
     * the view splices every source's findings into one array. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *f = &findings->via.array.ptr[i];
        msgpack_pack_map (&pk, 5);
        codec_pack_cstr (&pk, "source");
        codec_pack_cstr (&pk, source);
        static const char *const keys[] = { "rule", "severity", "client_id",
                                            "message" };
        for (int k = 0; k < 4; k++)
            pack_copied_field (&pk, f, keys[k]);
    }
    if (slot == wf->n_dq) {
        if (n > 0) {
            memset (&wf->dq[slot], 0, sizeof wf->dq[slot]);
            snprintf (wf->dq[slot].source, sizeof wf->dq[slot].source, "%s",
                      source);
            wf->n_dq++;
        }
    }
    if (slot < wf->n_dq) {
        if (n > 0) {
            blob_free (&wf->dq[slot].findings);
            wf->dq[slot].findings.len = sb.size;
            wf->dq[slot].findings.ptr = (uint8_t *) msgpack_sbuffer_release (&sb);
            wf->dq[slot].count = n;
        } else {    /* an empty report clears the source */
            blob_free (&wf->dq[slot].findings);
            wf->dq[slot] = wf->dq[--wf->n_dq];
            memset (&wf->dq[wf->n_dq], 0, sizeof wf->dq[wf->n_dq]);
        }
    }
    msgpack_sbuffer_destroy (&sb);

    msgpack_packer epk = event_begin (ev, "dq.reported", NULL, 4);
    codec_pack_cstr (&epk, "source");
    codec_pack_cstr (&epk, source);
    codec_pack_cstr (&epk, "count");
    msgpack_pack_uint32 (&epk, n);
    codec_pack_cstr (&epk, "errors");
    msgpack_pack_uint32 (&epk, errors);
    codec_pack_cstr (&epk, "warnings");
    msgpack_pack_uint32 (&epk, n - errors);
    return true;
}

bool
workflow_mark_stalled (workflow_t *wf, const wf_ctx_t *ctx, wf_events_t *ev)
{
    if (wf->state != WF_OPEN || wf->stalled)
        return false;
    wf->stalled = true;
    int done, total;
    workflow_progress (wf, &done, &total);
    msgpack_packer pk = event_begin (ev, "workflow.stalled", NULL, 3);
    codec_pack_cstr (&pk, "idle_s");
    msgpack_pack_int64 (&pk, (ctx->now_ms - wf->updated_at) / 1000);
    codec_pack_cstr (&pk, "since");
    codec_pack_time (&pk, wf->updated_at);
    codec_pack_cstr (&pk, "progress");
    msgpack_pack_map (&pk, 2);
    codec_pack_cstr (&pk, "done");
    msgpack_pack_int (&pk, done);
    codec_pack_cstr (&pk, "total");
    msgpack_pack_int (&pk, total);
    return true;
}

/* ---- the view (PROTOCOL.md §4.6) ---- */

static void
pack_key (msgpack_packer *pk, const char *key)
{
    codec_pack_cstr (pk, key);
}

static void
pack_bool (msgpack_packer *pk, bool value)
{
    if (value)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
}

static void
pack_int_or_nil (msgpack_packer *pk, int value)
{
    if (value >= 0)
        msgpack_pack_int (pk, value);
    else
        msgpack_pack_nil (pk);
}

static void
pack_object_or_nil (msgpack_packer *pk, const blob_t *b)
{
    if (b->len)
        codec_pack_raw (pk, b->ptr, b->len);
    else
        msgpack_pack_nil (pk);
}

static void
pack_text_or_nil (msgpack_packer *pk, const blob_t *b)
{
    if (!b->len) {
        msgpack_pack_nil (pk);
        return;
    }
    msgpack_pack_str (pk, b->len);
    msgpack_pack_str_body (pk, b->ptr, b->len);
}

static void
pack_progress (msgpack_packer *pk, const workflow_t *wf)
{
    int done, total;
    workflow_progress (wf, &done, &total);
    pack_key (pk, "progress");
    msgpack_pack_map (pk, 2);
    pack_key (pk, "done");
    msgpack_pack_int (pk, done);
    pack_key (pk, "total");
    msgpack_pack_int (pk, total);
}

static void
pack_step_view (msgpack_packer *pk, const wf_step_t *st, int s)
{
    msgpack_pack_map (pk, 6);
    pack_key (pk, "name");
    codec_pack_cstr (pk, hud_steps[s].name);
    pack_key (pk, "status");
    codec_pack_cstr (pk, st->done ? "done" : "pending");
    pack_key (pk, "mode");
    codec_pack_cstr_or_nil (pk, mode_names[st->mode]);
    pack_key (pk, "data");
    pack_object_or_nil (pk, &st->data);
    pack_key (pk, "completed_at");
    codec_pack_time (pk, st->completed_at);
    pack_key (pk, "actor");
    codec_pack_cstr_or_nil (pk, st->actor);
}

static void
pack_member_view (msgpack_packer *pk, const wf_member_t *m)
{
    msgpack_pack_map (pk, 8);
    pack_key (pk, "client_id");
    codec_pack_cstr (pk, m->client_id);
    pack_key (pk, "enrollment_id");
    codec_pack_cstr (pk, m->enrollment_id);
    pack_key (pk, "relationship");
    msgpack_pack_int (pk, m->relationship);
    pack_key (pk, "entry_date");
    codec_pack_cstr (pk, m->entry_date);
    pack_key (pk, "adult");
    pack_bool (pk, m->adult);
    pack_key (pk, "decision");
    codec_pack_cstr (pk, decision_names[m->decision]);
    int next = workflow_next_step (m);
    pack_key (pk, "next_step");
    codec_pack_cstr_or_nil (pk, next >= 0 ? hud_steps[next].name : NULL);
    pack_key (pk, "steps");
    int n = 0;
    for (int s = 0; s < STEP_COUNT; s++)
        n += workflow_step_applies (m, s);
    msgpack_pack_array (pk, (size_t) n);
    for (int s = 0; s < STEP_COUNT; s++)
        if (workflow_step_applies (m, s))
            pack_step_view (pk, &m->steps[s], s);
}

/* The keys the view and the list item share. */
#define IDENTITY_KEYS 7

static void
pack_identity (msgpack_packer *pk, const workflow_t *wf)
{
    pack_key (pk, "workflow_id");
    codec_pack_cstr (pk, wf->workflow_id);
    pack_key (pk, "state");
    codec_pack_cstr (pk, wf_state_names[wf->state]);
    pack_key (pk, "project_id");
    codec_pack_cstr (pk, wf->project_id);
    pack_key (pk, "household_id");
    codec_pack_cstr (pk, wf->household_id);
    pack_key (pk, "created_at");
    codec_pack_time (pk, wf->created_at);
    pack_key (pk, "updated_at");
    codec_pack_time (pk, wf->updated_at);
    pack_key (pk, "started_by");
    codec_pack_cstr_or_nil (pk, wf->started_by);
}

void
workflow_pack_view (msgpack_packer *pk, const workflow_t *wf)
{
    msgpack_pack_map (pk, IDENTITY_KEYS + 9);
    pack_identity (pk, wf);
    pack_key (pk, "version");
    msgpack_pack_int64 (pk, wf->version);
    pack_key (pk, "enrollment_id");
    codec_pack_cstr (pk, wf->enrollment_id);
    pack_key (pk, "project_type");
    pack_int_or_nil (pk, wf->project_type);
    pack_key (pk, "new_head_of_household");
    codec_pack_cstr_or_nil (pk, wf->new_head_of_household);
    pack_key (pk, "cancel_reason");
    pack_text_or_nil (pk, &wf->cancel_reason);
    pack_key (pk, "stalled");
    pack_bool (pk, wf->stalled);
    pack_progress (pk, wf);
    pack_key (pk, "members");
    msgpack_pack_array (pk, (size_t) wf->n_members);
    for (int i = 0; i < wf->n_members; i++)
        pack_member_view (pk, &wf->members[i]);
    /* every source's findings, spliced into one array */
    pack_key (pk, "dq");
    size_t total = 0;
    for (int i = 0; i < wf->n_dq; i++)
        total += wf->dq[i].count;
    msgpack_pack_array (pk, total);
    for (int i = 0; i < wf->n_dq; i++)
        codec_pack_raw (pk, wf->dq[i].findings.ptr, wf->dq[i].findings.len);
}

void
workflow_pack_summary (msgpack_packer *pk, const workflow_t *wf)
{
    msgpack_pack_map (pk, IDENTITY_KEYS + 1);
    pack_identity (pk, wf);
    pack_progress (pk, wf);
}

/* ---- the stored form ----
 *
 * Positional arrays, not maps: every command rewrites its workflow, and a
 * record that stays well under LMDB's 2 KB node limit shares a page with its
 * neighbours instead of taking fresh overflow pages at each change. Prior
 * values are written once, at start, and kept apart (workflow_pack_priors).
 *
 *   workflow = [FORMAT, id, version, state, enrollment, household, project,
 *               project_type|nil, created_at, updated_at, started_by|nil,
 *               new_hoh|nil, cancel_reason|nil, stalled, [member…], [dq…],
 *               [event seq…], [[id_hash, reply_seq, at]…]]
 *   member   = [client, enrollment, relationship, entry_date, adult,
 *               decision, [done_step…]]
 *   done_step= [step, mode, completed_at, first_completed_at, actor|nil, data]
 *   dq       = [source, count, findings]      (bytes are msgpack bin) */

#define STORED_FORMAT 1

static void
pack_bin (msgpack_packer *pk, const blob_t *b)
{
    msgpack_pack_bin (pk, b->len);
    msgpack_pack_bin_body (pk, b->ptr, b->len);
}

static void
pack_member_stored (msgpack_packer *pk, const wf_member_t *m)
{
    msgpack_pack_array (pk, 7);
    codec_pack_cstr (pk, m->client_id);
    codec_pack_cstr (pk, m->enrollment_id);
    msgpack_pack_int (pk, m->relationship);
    codec_pack_cstr (pk, m->entry_date);
    pack_bool (pk, m->adult);
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
        pack_bin (pk, &st->data);
    }
}

void
workflow_pack_stored (msgpack_packer *pk, const workflow_t *wf)
{
    msgpack_pack_array (pk, 18);
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
    pack_text_or_nil (pk, &wf->cancel_reason);
    pack_bool (pk, wf->stalled);
    msgpack_pack_array (pk, (size_t) wf->n_members);
    for (int i = 0; i < wf->n_members; i++)
        pack_member_stored (pk, &wf->members[i]);
    msgpack_pack_array (pk, (size_t) wf->n_dq);
    for (int i = 0; i < wf->n_dq; i++) {
        msgpack_pack_array (pk, 3);
        codec_pack_cstr (pk, wf->dq[i].source);
        msgpack_pack_uint32 (pk, wf->dq[i].count);
        pack_bin (pk, &wf->dq[i].findings);
    }
    const wf_ledger_t *l = &wf->ledger;
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
}

bool
workflow_has_priors (const workflow_t *wf)
{
    for (int i = 0; i < wf->n_members; i++)
        for (int s = 0; s < STEP_COUNT; s++)
            if (wf->members[i].last[s].len)
                return true;
    return false;
}

void
workflow_pack_priors (msgpack_packer *pk, const workflow_t *wf)
{
    msgpack_pack_array (pk, (size_t) wf->n_members);
    for (int i = 0; i < wf->n_members; i++) {
        msgpack_pack_array (pk, STEP_COUNT);
        for (int s = 0; s < STEP_COUNT; s++)
            if (wf->members[i].last[s].len)
                pack_bin (pk, &wf->members[i].last[s]);
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

static bool
read_bool (reader_t *r)
{
    const msgpack_object *o = read_next (r);
    if (!o || o->type != MSGPACK_OBJECT_BOOLEAN) {
        r->ok = false;
        return false;
    }
    return o->via.boolean;
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
unpack_member_stored (wf_member_t *m, reader_t r)
{
    read_text (&r, m->client_id, sizeof m->client_id);
    read_text (&r, m->enrollment_id, sizeof m->enrollment_id);
    m->relationship = (int) read_int (&r);
    read_text (&r, m->entry_date, sizeof m->entry_date);
    m->adult = read_bool (&r);
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
    return steps.ok;
}

/* Runs `fn` on the one msgpack object in `buf`. */
static bool
with_unpacked (const void *buf, size_t len,
               bool (*fn) (workflow_t *, reader_t), workflow_t *wf)
{
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;
    bool ok = msgpack_unpack_next (&u, buf, len, &off) == MSGPACK_UNPACK_SUCCESS
              && fn (wf, reader_of (&u.data));
    msgpack_unpacked_destroy (&u);
    return ok;
}

static bool
unpack_stored (workflow_t *wf, reader_t r)
{
    if (read_int (&r) != STORED_FORMAT)
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
    if (!r.ok || state < 0 || state >= WF_STATE_COUNT
        || members.n > WF_MAX_MEMBERS || dq.n > WF_MAX_DQ_SOURCES)
        return false;
    wf->state = (wf_state_t) state;
    for (uint32_t i = 0; i < members.n; i++) {
        wf->n_members++;
        if (!unpack_member_stored (&wf->members[i], read_array (&members)))
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
        wf_ledger_add_event (&wf->ledger, (uint64_t) read_int (&history));
    for (uint32_t i = 0; i < replies.n; i++) {
        reader_t ref = read_array (&replies);
        wf_reply_ref_t r = { (uint64_t) read_int (&ref),
                             (uint64_t) read_int (&ref), read_int (&ref) };
        if (!ref.ok)
            return false;
        wf_ledger_add_reply (&wf->ledger, r, INT64_MIN);
    }
    return members.ok && dq.ok && history.ok && replies.ok;
}

bool
workflow_unpack_stored (workflow_t *wf, const void *buf, size_t len)
{
    return with_unpacked (buf, len, unpack_stored, wf);
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
workflow_unpack_priors (workflow_t *wf, const void *buf, size_t len)
{
    return with_unpacked (buf, len, unpack_priors, wf);
}
