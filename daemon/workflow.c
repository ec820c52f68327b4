/* workflow — the exit workflow's rules and the events they emit, as pure
 * functions over a workflow_t. See workflow.h and PROTOCOL.md §4. */
#include "workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const workflow_state_names[WF_STATE_COUNT] = {
    [WF_OPEN] = "open", [WF_FINISHED] = "finished",
    [WF_CANCELLED] = "cancelled" };

const char *const workflow_decision_names[DECISION_COUNT] = {
    [DECISION_UNDECIDED] = "undecided", [DECISION_EXITING] = "exiting",
    [DECISION_STAYING] = "staying" };

const char *const workflow_mode_names[MODE_COUNT] = {
    [MODE_NONE] = "", [MODE_ENTERED] = "entered",
    [MODE_DEFAULT_LAST] = "default_last" };

static int
name_index (const char *const *names, int n, exf_str_t s)
{
    for (int i = 0; i < n; i++)
        if (codec_str_eq (s, names[i]))
            return i;
    return -1;
}

int
workflow_state_by_name (exf_str_t s)
{
    return name_index (workflow_state_names, WF_STATE_COUNT, s);
}

/* ---- events ---- */

void
workflow_events_init (wf_events_t *events)
{
    events->n = 0;
}

void
workflow_events_fini (wf_events_t *events)
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

/* ---- the value ---- */

static void
clear (workflow_t *wf)
{
    memset (wf, 0, sizeof *wf);
    wf->project_type = -1;
}

workflow_t *
workflow_new (void)
{
    workflow_t *wf = malloc (sizeof *wf);
    if (!wf)
        abort ();
    clear (wf);
    return wf;
}

void
workflow_reset (workflow_t *wf)
{
    for (int i = 0; i < wf->n_members; i++)
        for (int s = 0; s < STEP_COUNT; s++) {
            blob_fini (&wf->members[i].steps[s].data);
            blob_fini (&wf->members[i].last[s]);
        }
    for (int i = 0; i < wf->n_dq; i++)
        blob_fini (&wf->dq[i].findings);
    blob_fini (&wf->cancel_reason);
    clear (wf);
}

void
workflow_destroy (workflow_t **wf_p)
{
    if (!*wf_p)
        return;
    workflow_reset (*wf_p);
    free (*wf_p);
    *wf_p = NULL;
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
    return hud_member_answers_step (step, m->adult, m->relationship);
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
                         workflow_state_names[wf->state]);
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

    msgpack_packer pk = event_begin (ev, EXF_EV_NAME (WORKFLOW_STARTED),
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
        codec_pack_cstr (&pk,
                         workflow_decision_names[wf->members[i].decision]);
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
                         workflow_decision_names[m->decision]);
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
            blob_fini (&entered);
            return exf_fail (err, EXF_VALIDATION, "data",
                             "step data is larger than %d bytes",
                             WF_STEP_DATA_MAX);
        }
        source = &entered;
    }

    wf_step_t *st = &m->steps[step];
    if (source == &entered) {
        blob_fini (&st->data);
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

    msgpack_packer pk = event_begin (ev, EXF_EV_NAME (STEP_COMPLETED),
                                     m->client_id, 4);
    codec_pack_cstr (&pk, "step");
    codec_pack_cstr (&pk, hud_steps[step].name);
    codec_pack_cstr (&pk, "mode");
    codec_pack_cstr (&pk, workflow_mode_names[mode]);
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
    msgpack_packer pk = event_begin (ev, EXF_EV_NAME (MEMBER_DECIDED),
                                     m->client_id, 2);
    codec_pack_cstr (&pk, "decision");
    codec_pack_cstr (&pk, workflow_decision_names[m->decision]);
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
    msgpack_packer pk = event_begin (ev, EXF_EV_NAME (MEMBER_EXITED),
                                     m->client_id, 8);
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
    msgpack_packer pk = event_begin (ev, EXF_EV_NAME (WORKFLOW_FINISHED),
                                     NULL, 4);
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
    msgpack_packer pk = event_begin (ev, EXF_EV_NAME (WORKFLOW_CANCELLED),
                                     NULL, 2);
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
                    const msgpack_object *findings, wf_events_t *ev,
                    exf_error_t *err)
{
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
            blob_fini (&wf->dq[slot].findings);
            wf->dq[slot].findings.len = sb.size;
            wf->dq[slot].findings.ptr = (uint8_t *) msgpack_sbuffer_release (&sb);
            wf->dq[slot].count = n;
        } else {    /* an empty report clears the source */
            blob_fini (&wf->dq[slot].findings);
            wf->dq[slot] = wf->dq[--wf->n_dq];
            memset (&wf->dq[wf->n_dq], 0, sizeof wf->dq[wf->n_dq]);
        }
    }
    msgpack_sbuffer_destroy (&sb);

    msgpack_packer epk = event_begin (ev, EXF_EV_NAME (DQ_REPORTED), NULL, 4);
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
    msgpack_packer pk = event_begin (ev, EXF_EV_NAME (WORKFLOW_STALLED),
                                     NULL, 3);
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
