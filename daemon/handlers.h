/* handlers — what a command handler is, and the few steps handlers share.
 * Private to the command layer (commands.c and cmd_*.c).
 *
 * A handler parses its arguments (a shape fault is BAD_REQUEST), asks the
 * workflow core through the write path (change.h), and packs its result
 * map. Domain refusals are values in `c->err`; a status other than
 * STORE_OK is a storage fault that aborts the batch. A scoped command's
 * workflow is read before the handler runs and stored after it (see
 * commands_execute): a handler only marks it changed. */
#ifndef EXF_HANDLERS_H
#define EXF_HANDLERS_H

#include "commands.h"
#include "pack.h"

typedef struct {
    const command_env_t *env;
    const codec_request_t *req;
    const caller_t *caller;             /* who sent it, authenticated */
    const msgpack_object *args;         /* a map, empty when none came */
    msgpack_packer *pk;                 /* the result map */
    exf_error_t err;
    store_wf_t *target;                 /* what a scoped command names, or NULL */
    bool changed;                       /* store `target` when done */
    bool deferred;                      /* answered later (store.backup) */
} call_t;

typedef store_status_t (*handler_fn) (call_t *c);

/* ---- the handlers, by family ---- */

/* cmd_ops.c: what reads no workflow */
store_status_t cmd_ping (call_t *c);
store_status_t cmd_stats (call_t *c);
store_status_t cmd_hud_codes (call_t *c);
store_status_t cmd_store_backup (call_t *c);
/* cmd_workflow.c: a workflow's life and how to find it */
store_status_t cmd_workflow_start (call_t *c);
store_status_t cmd_workflow_get (call_t *c);
store_status_t cmd_workflow_list (call_t *c);
store_status_t cmd_workflow_finish (call_t *c);
store_status_t cmd_workflow_cancel (call_t *c);
/* cmd_member.c: the work on one member */
store_status_t cmd_step_save (call_t *c);
store_status_t cmd_member_decide (call_t *c);
store_status_t cmd_dq_report (call_t *c);
/* cmd_export.c: the finished exits of a span of days, for the HUD CSV */
store_status_t cmd_workflow_export (call_t *c);
/* cmd_events.c: the event log and its consumers */
store_status_t cmd_events_read (call_t *c);
store_status_t cmd_workflow_history (call_t *c);
store_status_t cmd_consumer_ack (call_t *c);
store_status_t cmd_consumer_list (call_t *c);
store_status_t cmd_consumer_delete (call_t *c);

/* ---- shared steps (handlers.c) ---- */

/* The workflow a scoped command names; NULL with NOT_FOUND in `c->err`
 * (an answer, not a fault). */
store_wf_t *call_target (call_t *c);
/* Who makes the change: the request's actor (copied into `actor`, of
 * EXF_ID_MAX + 1 bytes) and the caller's name. */
change_who_t call_who (const call_t *c, char *actor);
/* The optional `limit` argument: 1 to 1000, 100 when absent. */
bool call_read_limit (call_t *c, int64_t *limit);

/* A page's cursor is the store key of the last item it looked at, sent as
 * lowercase hex: opaque to clients, and where the next page seeks to. */
#define CALL_CURSOR_MAX 128
/* The optional `after` argument into `cursor` (CALL_CURSOR_MAX bytes),
 * `*len` 0 when absent; BAD_REQUEST (field after) when it is no cursor. */
bool call_read_cursor (call_t *c, uint8_t *cursor, size_t *len);
/* Packs `next: cursor`, or `next: nil` when `key` is NULL or empty (the
 * last page). */
void call_pack_cursor (call_t *c, const uint8_t *key, size_t len);

/* A write to the named workflow: checks `expected_version`, reads the
 * prior values when asked, lets the core decide, appends its events, and
 * answers {workflow_id, version, state} and `n_extra` more that
 * `pack_extra` packs. */
typedef struct {
    change_fn decide;
    int n_extra;
    void (*pack_extra) (msgpack_packer *pk, const workflow_t *wf,
                        const void *args);
} call_write_t;

store_status_t call_write (call_t *c, const call_write_t *op,
                           const void *args, bool with_priors);
/* A write's answer: {workflow_id, version, state} and `n_extra` more. */
void call_pack_write_result (call_t *c, const workflow_t *wf, int n_extra);

#endif
