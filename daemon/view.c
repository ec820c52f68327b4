/* view — the workflow as clients read it (PROTOCOL.md §4.6, §3). See
 * view.h. */
#include "view.h"

#include "pack.h"

static void
pack_key (msgpack_packer *pk, const char *key)
{
    codec_pack_cstr (pk, key);
}

static void
pack_progress (msgpack_packer *pk, const workflow_t *wf, int64_t today)
{
    int done, total;
    workflow_progress (wf, today, &done, &total);
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
    codec_pack_cstr_or_nil (pk, workflow_mode_names[st->mode]);
    pack_key (pk, "data");
    blob_pack_object_or_nil (pk, &st->data);
    pack_key (pk, "completed_at");
    codec_pack_time (pk, st->completed_at);
    pack_key (pk, "actor");
    codec_pack_cstr_or_nil (pk, st->actor);
}

/* The birth date is not here, on purpose: it stays in the store (PII); the
 * view says only what `adult` rests on. */
static void
pack_member_view (msgpack_packer *pk, const wf_member_t *m, int64_t today)
{
    msgpack_pack_map (pk, 9);
    pack_key (pk, "client_id");
    codec_pack_cstr (pk, m->client_id);
    pack_key (pk, "enrollment_id");
    codec_pack_cstr (pk, m->enrollment_id);
    pack_key (pk, "relationship");
    msgpack_pack_int (pk, m->relationship);
    pack_key (pk, "entry_date");
    codec_pack_cstr (pk, m->entry_date);
    pack_key (pk, "adult");
    pack_bool (pk, workflow_member_adult (m, today));
    pack_key (pk, "age_basis");
    codec_pack_cstr (pk, workflow_age_basis_names[workflow_age_basis (m)]);
    pack_key (pk, "decision");
    codec_pack_cstr (pk, workflow_decision_names[m->decision]);
    int next = workflow_next_step (m, today);
    pack_key (pk, "next_step");
    codec_pack_cstr_or_nil (pk, next >= 0 ? hud_steps[next].name : NULL);
    pack_key (pk, "steps");
    int n = 0;
    for (int s = 0; s < STEP_COUNT; s++)
        n += workflow_step_applies (m, s, today);
    msgpack_pack_array (pk, (size_t) n);
    for (int s = 0; s < STEP_COUNT; s++)
        if (workflow_step_applies (m, s, today))
            pack_step_view (pk, &m->steps[s], s);
}

/* The keys the view and the list item share. */
#define IDENTITY_KEYS 9

static void
pack_identity (msgpack_packer *pk, const workflow_t *wf)
{
    pack_key (pk, "workflow_id");
    codec_pack_cstr (pk, wf->workflow_id);
    pack_key (pk, "state");
    codec_pack_cstr (pk, workflow_state_names[wf->state]);
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
    pack_key (pk, "last_actor");
    codec_pack_cstr_or_nil (pk, wf->last_actor);
    pack_key (pk, "stalled");
    pack_bool (pk, wf->stalled);
}

void
view_pack_workflow (msgpack_packer *pk, const workflow_t *wf, int64_t today)
{
    msgpack_pack_map (pk, IDENTITY_KEYS + 9);
    pack_identity (pk, wf);
    pack_key (pk, "version");
    msgpack_pack_int64 (pk, wf->version);
    pack_key (pk, "enrollment_id");
    codec_pack_cstr (pk, wf->enrollment_id);
    pack_key (pk, "project_type");
    pack_int_or_nil (pk, wf->project_type);
    pack_key (pk, "move_in_date");
    codec_pack_cstr_or_nil (pk, wf->move_in_date);
    pack_key (pk, "new_head_of_household");
    codec_pack_cstr_or_nil (pk, wf->new_head_of_household);
    pack_key (pk, "cancel_reason");
    blob_pack_text_or_nil (pk, &wf->cancel_reason);
    pack_progress (pk, wf, today);
    pack_key (pk, "members");
    msgpack_pack_array (pk, (size_t) wf->n_members);
    for (int i = 0; i < wf->n_members; i++)
        pack_member_view (pk, &wf->members[i], today);
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
view_pack_summary (msgpack_packer *pk, const workflow_t *wf, int64_t today)
{
    msgpack_pack_map (pk, IDENTITY_KEYS + 1);
    pack_identity (pk, wf);
    pack_progress (pk, wf, today);
}
