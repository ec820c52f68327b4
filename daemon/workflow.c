/* workflow — the exit workflow's rules and the events they emit, as pure
 * functions over a workflow_t. See workflow.h and PROTOCOL.md §4. */
#include "workflow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/hud_fields.h"

const char *const workflow_state_names[WF_STATE_COUNT] = {
    [WF_OPEN] = "open", [WF_FINISHED] = "finished",
    [WF_CANCELLED] = "cancelled" };

const char *const workflow_decision_names[DECISION_COUNT] = {
    [DECISION_UNDECIDED] = "undecided", [DECISION_EXITING] = "exiting",
    [DECISION_STAYING] = "staying" };

const char *const workflow_mode_names[MODE_COUNT] = {
    [MODE_NONE] = "", [MODE_ENTERED] = "entered",
    [MODE_DEFAULT_LAST] = "default_last" };

const char *const workflow_age_basis_names[AGE_BASIS_COUNT] = {
    [AGE_ADULT_FLAG] = "adult_flag", [AGE_BIRTH_DATE] = "birth_date",
    [AGE_UNKNOWN] = "unknown" };

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

/* A stored date (checked when it was accepted) as days. */
static bool
parse_date (const char *date, int64_t *days)
{
    exf_str_t s = { date, (uint32_t) strlen (date) };
    return codec_parse_date (s, days);
}

/* The fields of the exit form the cross-field rules read, found in the
 * field table (hud_fields.c) by what they are rather than typed again:
 * 3.11 the one date, 3.12 the destination, 3.12.A the code of the subsidy
 * list, and 3.12's "specify" text. */
typedef struct {
    const hud_field_t *exit_date, *destination, *subsidy, *other;
} exit_fields_t;

static exit_fields_t
exit_fields (void)
{
    exit_fields_t x = { 0 };
    const hud_step_fields_t *t = &hud_step_fields[STEP_EXIT];
    for (int i = 0; i < t->n; i++) {
        const hud_field_t *f = &t->fields[i];
        if (f->type == FIELD_DATE)
            x.exit_date = f;
        else if (f->type == FIELD_DESTINATION)
            x.destination = f;
        else if (f->type == FIELD_CODE && f->list == HUD_LIST_SUBSIDY_TYPE)
            x.subsidy = f;
        else if (f->type == FIELD_TEXT && f->role == ROLE_IDENTIFY)
            x.other = f;
    }
    return x;
}

/* The exit date of the member's saved exit form, as days; false when the
 * form is not saved. */
static bool
saved_exit_day (const wf_member_t *m, int64_t *day)
{
    const wf_step_t *exit = &m->steps[STEP_EXIT];
    if (!exit->done || !exit->data.len)
        return false;
    msgpack_unpacked form;
    msgpack_unpacked_init (&form);
    size_t off = 0;
    bool ok = msgpack_unpack_next (&form, (const char *) exit->data.ptr,
                                   exit->data.len, &off)
              == MSGPACK_UNPACK_SUCCESS;
    const msgpack_object *v =
        ok ? codec_map_get (&form.data, exit_fields ().exit_date->name) : NULL;
    ok = v && v->type == MSGPACK_OBJECT_STR
         && codec_parse_date (codec_str_of (v), day);
    msgpack_unpacked_destroy (&form);
    return ok;
}

wf_age_basis_t
workflow_age_basis (const wf_member_t *m)
{
    return m->has_adult ? AGE_ADULT_FLAG
           : m->birth_date[0] ? AGE_BIRTH_DATE : AGE_UNKNOWN;
}

bool
workflow_member_adult (const wf_member_t *m, int64_t today)
{
    int64_t birth, on = today;
    switch (workflow_age_basis (m)) {
    case AGE_ADULT_FLAG:
        return m->adult;
    case AGE_BIRTH_DATE:
        /* as of the exit (the exit stage's information date); before the
         * exit form is saved, as of the CoC's today */
        saved_exit_day (m, &on);
        return !parse_date (m->birth_date, &birth) || hud_adult_on (birth, on);
    case AGE_UNKNOWN:
    case AGE_BASIS_COUNT:
        break;
    }
    return true;        /* assumed adult; the DQ worker flags the age */
}

bool
workflow_step_applies (const wf_member_t *m, int step, int64_t today)
{
    /* the exit form and most assessments apply to everyone: only the
     * adults-and-HoH steps need the age */
    if (!hud_steps[step].adults_and_hoh_only)
        return true;
    return hud_member_answers_step (step, workflow_member_adult (m, today),
                                    m->relationship);
}

int
workflow_next_step (const wf_member_t *m, int64_t today)
{
    if (m->decision != DECISION_EXITING)
        return -1;
    for (int s = 0; s < STEP_COUNT; s++)
        if (workflow_step_applies (m, s, today) && !m->steps[s].done)
            return s;
    return -1;
}

void
workflow_progress (const workflow_t *wf, int64_t today, int *done, int *total)
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
            if (workflow_step_applies (m, s, today)) {
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

/* Every accepted change: a new version, a new idle period, and who made
 * it when the request named a caseworker (workflow.list finds a
 * caseworker's exits by it). */
static void
touch (workflow_t *wf, const wf_ctx_t *ctx)
{
    wf->version++;
    wf->updated_at = ctx->now_ms;
    wf->stalled = false;
    if (ctx->actor[0])
        snprintf (wf->last_actor, sizeof wf->last_actor, "%s", ctx->actor);
}

void
workflow_error_about_member (exf_error_t *err, const char *client_id,
                             const char *path)
{
    char at[sizeof err->field];
    snprintf (at, sizeof at, "members[client_id=%s]%s%s", client_id,
              path && path[0] ? "." : "", path ? path : "");
    if (err->field[0])
        exf_error_nest_field (err, at);
    else
        codec_str_copy (err->field, sizeof err->field,
                        (exf_str_t) { at, (uint32_t) strlen (at) });
    char message[sizeof err->message + EXF_ID_MAX + 16];
    snprintf (message, sizeof message, "client %s: %s", client_id,
              err->message);
    codec_str_copy (err->message, sizeof err->message,
                    (exf_str_t) { message, (uint32_t) strlen (message) });
}

/* A refusal about member `m`: the field is members[client_id=C].PATH and
 * the message "client C" followed by `fmt`. */
static bool
member_fail (exf_error_t *err, const char *code, const wf_member_t *m,
             const char *path, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));

static bool
member_fail (exf_error_t *err, const char *code, const wf_member_t *m,
             const char *path, const char *fmt, ...)
{
    char text[sizeof err->message];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    exf_fail (err, code, NULL, "client %s%s", m->client_id, text);
    char at[sizeof err->field];
    snprintf (at, sizeof at, "members[client_id=%s].%s", m->client_id, path);
    codec_str_copy (err->field, sizeof err->field,
                    (exf_str_t) { at, (uint32_t) strlen (at) });
    return false;
}

/* "steps.STEP", the path of a member's step. */
static const char *
step_path (int step, char out[64])
{
    snprintf (out, 64, "steps.%s", hud_steps[step].name);
    return out;
}

static wf_member_t *
member_or_fail (workflow_t *wf, const char *client_id, exf_error_t *err)
{
    int i = workflow_find_member (wf, client_id);
    if (i < 0) {
        exf_fail (err, EXF_NOT_FOUND, "client_id",
                  "client %s is not a member of this workflow", client_id);
        return NULL;
    }
    return &wf->members[i];
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

/* A date a request gave, checked: a real date, not after `latest` (today,
 * or the entry date for a birth date); `after_what` says what later is. */
static bool
check_date (const char *date, int64_t latest, const char *field,
            const char *after_what, exf_error_t *err, int64_t *days)
{
    if (!parse_date (date, days))
        return exf_fail (err, EXF_VALIDATION, field,
                         "%s must be a date YYYY-MM-DD", field);
    if (*days > latest)
        return exf_fail (err, EXF_VALIDATION, field, "%s is %s", field,
                         after_what);
    return true;
}

/* check_date for a member's date: the refusal names the member. */
static bool
check_member_date (const wf_member_t *m, const char *date, int64_t latest,
                   const char *field, const char *after_what,
                   exf_error_t *err, int64_t *days)
{
    if (check_date (date, latest, field, after_what, err, days))
        return true;
    workflow_error_about_member (err, m->client_id, NULL);
    return false;
}

/* Refuses only what cannot be represented or what HMIS software must
 * prevent (a relationship that is no 3.15 code, bad or future dates, a
 * birth after the entry, a member twice). No head of household, several
 * heads and relationship 99 are HUD data-quality flags (Eva #2-#4, APR
 * Q6b): such households start, and the DQ worker flags them. */
static bool
check_members (const workflow_t *wf, const wf_ctx_t *ctx, exf_error_t *err)
{
    if (wf->n_members < 1 || wf->n_members > WF_MAX_MEMBERS)
        return exf_fail (err, EXF_VALIDATION, "members",
                         "a household has 1 to %d members", WF_MAX_MEMBERS);
    for (int i = 0; i < wf->n_members; i++) {
        const wf_member_t *m = &wf->members[i];
        /* a client named twice: members[client_id=C] would name both, so
         * the position says which */
        for (int j = 0; j < i; j++)
            if (strcmp (wf->members[j].client_id, m->client_id) == 0) {
                char field[64];
                snprintf (field, sizeof field, "members.%d.client_id", i);
                return exf_fail (err, EXF_VALIDATION, field,
                                 "client %s appears twice in the household "
                                 "(members %d and %d)", m->client_id, j, i);
            }
        if (!hud_is_relationship (m->relationship))
            return member_fail (err, EXF_VALIDATION, m, "relationship",
                                "'s relationship %d is not a HUD 3.15 code "
                                "(hud.codes, \"relationship\")",
                                m->relationship);
        int64_t entry, birth;
        if (!check_member_date (m, m->entry_date, ctx->today, "entry_date",
                                "in the future", err, &entry))
            return false;
        if (m->birth_date[0]
            && (!check_member_date (m, m->birth_date, ctx->today,
                                    "birth_date", "in the future", err,
                                    &birth)
                || !check_member_date (m, m->birth_date, entry, "birth_date",
                                       "after the member's entry_date", err,
                                       &birth)))
            return false;
        for (int j = 0; j < i; j++)
            if (strcmp (wf->members[j].enrollment_id, m->enrollment_id) == 0)
                return member_fail (err, EXF_VALIDATION, m, "enrollment_id",
                                    "'s enrollment_id is also client %s's",
                                    wf->members[j].client_id);
    }
    return true;
}

/* 3.20 Housing Move-in Date: recorded by permanent housing projects only,
 * not in the future. */
static bool
check_move_in (const workflow_t *wf, const wf_ctx_t *ctx, exf_error_t *err)
{
    int64_t days;
    if (!wf->move_in_date[0])
        return true;
    if (wf->project_type < 0)
        return exf_fail (err, EXF_VALIDATION, "move_in_date",
                         "move_in_date (HUD 3.20) is only for permanent "
                         "housing projects, and no project_type is given");
    if (!hud_is_permanent_housing (wf->project_type))
        return exf_fail (err, EXF_VALIDATION, "move_in_date",
                         "move_in_date (HUD 3.20) is only for permanent "
                         "housing projects; project_type %d is not one",
                         wf->project_type);
    return check_date (wf->move_in_date, ctx->today, "move_in_date",
                       "in the future", err, &days);
}

bool
workflow_start (workflow_t *wf, const wf_ctx_t *ctx, wf_events_t *ev,
                exf_error_t *err)
{
    if (wf->project_type != -1 && !hud_is_project_type (wf->project_type))
        return exf_fail (err, EXF_VALIDATION, "project_type",
                         "project_type %d is not a HUD 2.02.6 code",
                         wf->project_type);
    if (!check_members (wf, ctx, err) || !check_move_in (wf, ctx, err))
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
    snprintf (wf->last_actor, sizeof wf->last_actor, "%s", ctx->actor);

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

/* The value of `f` in the form, or NULL when absent (nil counts as absent,
 * as it does in hud_fields_check). */
static const msgpack_object *
form_value (const msgpack_object *form, const hud_field_t *f)
{
    const msgpack_object *v = codec_map_get (form, f->name);
    return v && v->type != MSGPACK_OBJECT_NIL ? v : NULL;
}

/* A field the destination needs is required with it and refused without
 * it (`flag` names the need in hud.codes' destinations). */
static bool
check_needed (const hud_destination_t *dest, bool needs, bool has,
              const hud_field_t *f, const char *flag, exf_error_t *err)
{
    if (needs && !has)
        return exf_fail (err, EXF_VALIDATION, f->name,
                         "destination %d requires %s", dest->code, f->name);
    if (!needs && has)
        return exf_fail (err, EXF_VALIDATION, f->name,
                         "%s is only for a destination that needs it "
                         "(hud.codes: %s), not %d", f->name, flag,
                         dest->code);
    return true;
}

/* The exit form's rules across its fields; hud_fields_check has already
 * typed each field against the table. A form a person fills: every fault
 * is a VALIDATION naming the field. */
static bool
check_exit_form (const wf_member_t *m, const msgpack_object *form,
                 int64_t today, exf_error_t *err)
{
    exit_fields_t x = exit_fields ();
    const msgpack_object *date = form_value (form, x.exit_date);
    const msgpack_object *dest_code = form_value (form, x.destination);
    const msgpack_object *subsidy = form_value (form, x.subsidy);
    const msgpack_object *other = form_value (form, x.other);
    int64_t exit_day, entry_day;
    if (!date)
        return exf_fail (err, EXF_VALIDATION, x.exit_date->name,
                         "%s is required", x.exit_date->name);
    codec_parse_date (codec_str_of (date), &exit_day);
    if (parse_date (m->entry_date, &entry_day) && exit_day < entry_day)
        return exf_fail (err, EXF_VALIDATION, x.exit_date->name,
                         "%s is before the member's entry date",
                         x.exit_date->name);
    if (exit_day > today)
        return exf_fail (err, EXF_VALIDATION, x.exit_date->name,
                         "%s is in the future (the CoC's calendar)",
                         x.exit_date->name);
    if (!dest_code)
        return exf_fail (err, EXF_VALIDATION, x.destination->name,
                         "%s is required", x.destination->name);
    const hud_destination_t *dest = hud_destination (dest_code->via.i64);
    /* an empty "specify" is no answer */
    bool has_other = other && other->via.str.size > 0;
    return check_needed (dest, dest->needs_subsidy_type, subsidy != NULL,
                         x.subsidy, "needs_subsidy_type", err)
           && check_needed (dest, dest->needs_other_text, has_other, x.other,
                            "needs_other_text", err);
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
    const char *name = hud_steps[step].name;
    char path[64], sub[96];
    step_path (step, path);
    if (m->decision != DECISION_EXITING)
        return member_fail (err, EXF_INVALID_STATE, m, "decision",
                            " is %s, not exiting: decide first "
                            "(member.decide)",
                            workflow_decision_names[m->decision]);
    if (!workflow_step_applies (m, step, ctx->today))
        return member_fail (err, EXF_VALIDATION, m, path,
                            " does not answer %s: it is collected only for "
                            "adults and the head of household", name);
    if (step != STEP_EXIT && !m->steps[STEP_EXIT].done)
        return member_fail (err, EXF_INVALID_STATE, m,
                            step_path (STEP_EXIT, sub),
                            ": the %s step comes before %s",
                            hud_steps[STEP_EXIT].name, name);

    const blob_t *source = NULL;
    blob_t entered = { 0 };
    if (mode == MODE_DEFAULT_LAST) {
        snprintf (sub, sizeof sub, "%s.mode", path);
        if (!hud_steps[step].allows_default_last)
            return member_fail (err, EXF_VALIDATION, m, sub,
                                ": the %s step cannot be default_last "
                                "(it is never copied from a last "
                                "assessment)", name);
        snprintf (sub, sizeof sub, "%s.data", path);
        if (data)
            return member_fail (err, EXF_VALIDATION, m, sub,
                                ": default_last takes no data");
        snprintf (sub, sizeof sub, "last.%s", name);
        if (!m->last[step].len)
            return member_fail (err, EXF_VALIDATION, m, sub,
                                " has no last %s to default from (none was "
                                "given at workflow.start)", name);
        source = &m->last[step];
    } else {
        snprintf (sub, sizeof sub, "%s.data", path);
        if (!data || data->type != MSGPACK_OBJECT_MAP)
            return member_fail (err, EXF_VALIDATION, m, sub,
                                ": an entered %s needs data, a map", name);
        if (!hud_fields_check (step, data, err)
            || (step == STEP_EXIT
                && !check_exit_form (m, data, ctx->today, err))) {
            workflow_error_about_member (err, m->client_id, path);
            return false;
        }
        blob_set_object (&entered, data);
        if (entered.len > WF_STEP_DATA_MAX) {
            blob_fini (&entered);
            return member_fail (err, EXF_VALIDATION, m, sub,
                                ": %s data is larger than %d bytes", name,
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
        return member_fail (err, EXF_VALIDATION, m, "decision",
                            " is the member this workflow was started to "
                            "exit: their decision stays exiting");
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
    /* the exit record: every field of the exit form, nil when not given */
    const hud_step_fields_t *fields = &hud_step_fields[STEP_EXIT];
    msgpack_packer pk = event_begin (ev, EXF_EV_NAME (MEMBER_EXITED),
                                     m->client_id, 3 + (size_t) fields->n);
    codec_pack_cstr (&pk, "enrollment_id");
    codec_pack_cstr (&pk, m->enrollment_id);
    codec_pack_cstr (&pk, "relationship");
    msgpack_pack_int (&pk, m->relationship);
    for (int i = 0; i < fields->n; i++)
        pack_copied_field (&pk, &form.data, fields->fields[i].name);
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
    const wf_member_t *exiting_head = NULL;
    bool someone_stays = false;
    for (int i = 0; i < wf->n_members; i++) {
        const wf_member_t *m = &wf->members[i];
        char path[64];
        if (m->decision == DECISION_UNDECIDED)
            return member_fail (err, EXF_INVALID_STATE, m, "decision",
                                " has no exit decision yet (member.decide)");
        int next = workflow_next_step (m, ctx->today);
        if (next >= 0)
            return member_fail (err, EXF_INVALID_STATE, m,
                                step_path (next, path),
                                " still has %s pending (step.save)",
                                hud_steps[next].name);
        if (is_head (m) && m->decision == DECISION_EXITING && !exiting_head)
            exiting_head = m;
        someone_stays |= m->decision == DECISION_STAYING;
    }
    if (exiting_head && someone_stays) {
        int h = new_hoh[0] ? workflow_find_member (wf, new_hoh) : -1;
        if (!new_hoh[0])
            return exf_fail (err, EXF_VALIDATION, "new_head_of_household",
                             "the head of household (client %s) exits while "
                             "others stay: new_head_of_household must name a "
                             "staying member", exiting_head->client_id);
        if (h < 0)
            return exf_fail (err, EXF_VALIDATION, "new_head_of_household",
                             "new_head_of_household: client %s is not a "
                             "member of this workflow", new_hoh);
        if (wf->members[h].decision != DECISION_STAYING)
            return exf_fail (err, EXF_VALIDATION, "new_head_of_household",
                             "new_head_of_household: client %s is %s; the "
                             "new head must be a staying member", new_hoh,
                             workflow_decision_names[wf->members[h].decision]);
    } else if (new_hoh[0])
        return exf_fail (err, EXF_VALIDATION, "new_head_of_household",
                         "new_head_of_household is only for a head of "
                         "household leaving members who stay; here no head "
                         "exits while others stay");

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
    exf_str_t rule, severity, client, step, message;
    bool has_client, has_step, ok = true;
    if (!codec_read_str (f, "rule", true, EXF_ID_MAX, &rule, NULL,
                         EXF_BAD_REQUEST, err)
        || !codec_read_str (f, "severity", true, EXF_ID_MAX, &severity, NULL,
                            EXF_BAD_REQUEST, err)
        || !codec_read_str (f, "client_id", false, EXF_ID_MAX, &client,
                            &has_client, EXF_BAD_REQUEST, err)
        || !codec_read_str (f, "step", false, EXF_ID_MAX, &step, &has_step,
                            EXF_BAD_REQUEST, err)
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
                           "finding %u names client %s, who is not in the "
                           "household", i, id);
    }
    /* the step it concerns, by which front ends place it: a known step */
    if (ok && has_step && hud_step_by_name (step.ptr, step.len) < 0) {
        char name[EXF_ID_MAX + 1];
        codec_str_copy (name, sizeof name, step);
        ok = exf_fail (err, EXF_VALIDATION, "step",
                       "finding %u concerns step %s, which is not a step "
                       "(the steps are in hud.codes)", i, name);
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
        static const char *const keys[] = { "rule", "severity", "client_id",
                                            "step", "message" };
        enum { N_KEYS = sizeof keys / sizeof keys[0] };
        msgpack_pack_map (&pk, 1 + N_KEYS);
        codec_pack_cstr (&pk, "source");
        codec_pack_cstr (&pk, source);
        for (int k = 0; k < N_KEYS; k++)
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
    workflow_progress (wf, ctx->today, &done, &total);
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
