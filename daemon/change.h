/* change — the one write path to a workflow.
 *
 * Owns: letting the core decide on a workflow the store holds, numbering
 * the events the core emitted, appending them to the log, noting them in
 * the workflow's ledger, and queueing them for publishing after the commit.
 * The commands that change a workflow and the stall scan all go through
 * here; each reads the workflow with store_workflow_get and, once done with
 * it, stores it once with store_workflow_put. */
#ifndef EXF_CHANGE_H
#define EXF_CHANGE_H

#include "store.h"

/* Where appended events wait to be published. The server owns the queue:
 * it publishes what a batch queued once the commit is durable, and drops
 * it when the batch is aborted. */
typedef struct {
    void (*push) (void *arg, const char *type, const void *event, size_t len);
    void *arg;
} change_queue_t;

/* What every change runs in: the batch's transaction, its clock, the
 * queue. */
typedef struct {
    store_txn_t *txn;
    int64_t now_ms;
    change_queue_t queue;
} change_env_t;

/* Who made a change: the caseworker the request named ("" when none) and
 * the principal that sent it (its certificate's name; "exitflowd" for the
 * daemon's own changes). Both are recorded in every event. */
typedef struct {
    const char *actor;
    const char *principal;
} change_who_t;

/* A core operation: true when it accepted the change and emitted events
 * into `ev`; false with the refusal in `err`. */
typedef bool (*change_fn) (workflow_t *wf, const void *args,
                           const wf_ctx_t *ctx, wf_events_t *ev,
                           exf_error_t *err);

/* The CoC's calendar day of the env's time (calendar.h: the zone of
 * --timezone), and the context the core decides in: time, day, actor.
 * Every "today" the rules use comes from here. */
int64_t change_today (const change_env_t *env);
wf_ctx_t change_ctx (const change_env_t *env, const char *actor);

/* Numbers, appends and queues the events in `ev` (which ends up empty) as
 * events of `swf`'s workflow, done by `who`. */
store_status_t change_append (const change_env_t *env, store_wf_t *swf,
                              const change_who_t *who, wf_events_t *ev);

/* Lets `decide` change `swf`'s workflow at the env's time and appends what
 * it emitted. `*changed` says whether it accepted; its refusal is in `err`.
 * A status other than STORE_OK is a storage fault. */
store_status_t change_apply (const change_env_t *env, store_wf_t *swf,
                             change_fn decide, const void *args,
                             const change_who_t *who, exf_error_t *err,
                             bool *changed);

#endif
