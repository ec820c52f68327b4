/* exitflow.h — libexitflow, the C client of exitflowd (EXITFLOW/1).
 *
 * Owns the public surface of the library: a command client with one call
 * per command of protocol/PROTOCOL.md, replies that keep the decoded msgpack
 * alive, an error value, and a subscriber that delivers events gapless and
 * in seq order. Everything here is prefixed `exitflow_`; every type with a
 * `_new` has a `_destroy (&self)` that nulls the caller's pointer.
 *
 *     exitflow_error_t err;
 *     exitflow_client_t *client = exitflow_client_new ("tcp://127.0.0.1:5570", NULL);
 *     exitflow_reply_t *reply = exitflow_get (client, workflow_id, &err);
 *     if (reply) {
 *         printf ("v%lld\n", (long long) exitflow_reply_version (reply));
 *         exitflow_reply_destroy (&reply);
 *     } else
 *         fprintf (stderr, "%s: %s\n", err.code, err.message);
 *     exitflow_client_destroy (&client);
 *
 * Not thread-safe: use one client (and one subscriber) per thread. */
#ifndef EXITFLOW_H
#define EXITFLOW_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EXITFLOW_EXPORT __attribute__ ((visibility ("default")))

#define EXITFLOW_VERSION "3.1.0"

/* ---- errors ---- */

/* Either the daemon's error map (a refusal: BAD_REQUEST, NOT_FOUND, CONFLICT,
 * INVALID_STATE, VALIDATION, FORBIDDEN, UNAVAILABLE, INTERNAL,
 * UNKNOWN_COMMAND) or one of the client-side codes below. Strings are NUL-terminated, "" when
 * absent; `version` is -1 when absent. */
typedef struct {
    char code[32];
    char message[192];
    char field[192];        /* the argument at fault: a name, or a path
                               such as members[client_id=C7].steps.exit.
                               destination or members.N.last.STEP.FIELD */
    char workflow_id[32];   /* CONFLICT on start: the household's open exit */
    int64_t version;        /* CONFLICT on expected_version: the current one */
} exitflow_error_t;

/* No reply within the timeout, after every retry. Whether a write was
 * applied is unknown: repeat it with the same request id to find out. */
#define EXITFLOW_UNREACHABLE "UNREACHABLE"
/* The daemon answered with something that is not an EXITFLOW/1 reply. */
#define EXITFLOW_BAD_REPLY   "BAD_REPLY"
/* An argument was refused before anything was sent (field names it).
 * Same code as the daemon's, because it is the same mistake. */
#define EXITFLOW_BAD_REQUEST "BAD_REQUEST"
/* The request is larger than the daemon takes (a body of 1 MiB,
 * PROTOCOL.md §2.1): refused before anything was sent, and no retry can
 * help — unlike the daemon's answer to it, which is only given up to 4 MiB
 * (above that the daemon drops the connection and the caller would see
 * UNREACHABLE). */
#define EXITFLOW_TOO_LARGE   "TOO_LARGE"

/* True when the request was refused — by the daemon, or (BAD_REQUEST with
 * the field named, TOO_LARGE) by the library before sending — rather than
 * lost (UNREACHABLE) or answered with garbage (BAD_REPLY). The CLI's exit
 * status 1 versus 3. */
EXITFLOW_EXPORT bool exitflow_error_is_refusal (const exitflow_error_t *err);
/* True when the same request may well succeed later: not reached, a garbled
 * reply, or the daemon's UNAVAILABLE (storage full) or INTERNAL. Workers
 * retry these and skip the rest. */
EXITFLOW_EXPORT bool exitflow_error_is_transient (const exitflow_error_t *err);

/* ---- options ---- */

typedef struct {
    int timeout_ms;         /* wait for one reply (5000) */
    int retries;            /* re-sends after a timeout (3) */
    int backoff_ms;         /* pause before the first re-send, doubling (100) */
    int backoff_max_ms;     /* cap of that pause (2000) */
    const char *actor;      /* the caseworker's user id, recorded in events;
                               NULL for none (copied) */
    void *zmq_context;      /* a libzmq context to share; NULL: own one.
                               zmq_ctx_shutdown on it (from another thread)
                               ends a call or a subscriber's wait in
                               progress at once with UNREACHABLE: how a
                               program stops without waiting out timeouts */
    /* subscriber only */
    int rcvhwm;             /* SUB receive high-water mark; 0: libzmq's */
    int poll_interval_ms;   /* read the log after this long without news,
                               to catch a loss at the tail (500) */
    int page;               /* events per events.read (1000) */
    /* CURVE (PROTOCOL.md, security): both or neither. Read when the client
     * or subscriber is made; NULL or "" for none, and with neither the
     * sockets connect without CURVE (a daemon in local mode). */
    const char *cert;       /* the client's secret certificate file, as
                               `exitflow keygen` writes it (NAME_secret) */
    const char *server_key; /* the daemon's public key: a 40-character Z85
                               key, or the path of its public certificate */
} exitflow_options_t;

/* The defaults above (no CURVE; the environment is not read). Start from
 * them and change what you need; a NULL options pointer means exactly
 * these. */
EXITFLOW_EXPORT exitflow_options_t exitflow_options_default (void);

/* The keys every exitflow program finds the same way: a field the caller
 * set (from its flags or config) is kept; an unset one comes from the
 * environment, EXITFLOW_CERT and EXITFLOW_SERVER_KEY, else from the
 * checkout's ./var/keys/ relative to the working directory, else from an
 * installed system's /etc/exitflow/keys/, the first where the file exists:
 * cert <dir>/<default_cert_name>_secret (NULL: no default), server_key
 * <dir>/server (each found on its own). Fields it sets point into the environment
 * or into storage of this thread that the next call overwrites. */
EXITFLOW_EXPORT void exitflow_options_from_env (exitflow_options_t *opts,
                                                const char *default_cert_name);

/* Whether the client and the subscriber can be made with these options'
 * keys: false with `err` set (code BAD_REQUEST, field "cert" or
 * "server_key", the message naming the file) when only one of cert and
 * server_key is set, or a file cannot be read or holds no usable key.
 * exitflow_client_new and exitflow_subscriber_new refuse such options
 * with NULL and errno EINVAL; call this first to say why. */
EXITFLOW_EXPORT bool exitflow_options_check (const exitflow_options_t *opts,
                                             exitflow_error_t *err);

/* ---- replies ---- */

typedef struct _exitflow_reply_t exitflow_reply_t;

/* The `result` map of the reply. Valid while the reply lives. */
EXITFLOW_EXPORT const msgpack_object *
    exitflow_reply_result (const exitflow_reply_t *self);
/* result.workflow_id, "" when absent. */
EXITFLOW_EXPORT const char *exitflow_reply_workflow_id (const exitflow_reply_t *self);
/* result.version, -1 when absent. */
EXITFLOW_EXPORT int64_t exitflow_reply_version (const exitflow_reply_t *self);
/* result.state, "" when absent. */
EXITFLOW_EXPORT const char *exitflow_reply_state (const exitflow_reply_t *self);
/* result.next_step, NULL when absent or nil. */
EXITFLOW_EXPORT const char *exitflow_reply_next_step (const exitflow_reply_t *self);
/* The request id this reply answers. */
EXITFLOW_EXPORT const char *exitflow_reply_id (const exitflow_reply_t *self);
/* The reply body as received (msgpack). */
EXITFLOW_EXPORT const void *exitflow_reply_body (const exitflow_reply_t *self,
                                                 size_t *len);
EXITFLOW_EXPORT void exitflow_reply_destroy (exitflow_reply_t **self_p);

/* Reading nested results without hand-parsing msgpack. `map` may be NULL. */
EXITFLOW_EXPORT const msgpack_object *
    exitflow_obj_get (const msgpack_object *map, const char *key);
/* Copies a str field (truncating to cap); false when absent or not a str. */
EXITFLOW_EXPORT bool exitflow_obj_str (const msgpack_object *map,
                                       const char *key, char *buf, size_t cap);
EXITFLOW_EXPORT bool exitflow_obj_int (const msgpack_object *map,
                                       const char *key, int64_t *out);
EXITFLOW_EXPORT bool exitflow_obj_bool (const msgpack_object *map,
                                        const char *key, bool *out);

/* ---- the command client ---- */

typedef struct _exitflow_client_t exitflow_client_t;

/* Whether `endpoint` is one a client or a subscriber can connect to:
 * tcp://HOST:PORT with PORT 1 to 65535, ipc://PATH or inproc://NAME.
 * False with `err` set (BAD_REQUEST, field "endpoint", the message saying
 * what is wrong) otherwise: libzmq itself would take tcp://HOST:99999 as
 * another port and connect there. exitflow_client_new and
 * exitflow_subscriber_new refuse such endpoints (NULL, errno EINVAL); call
 * this first to say why. */
EXITFLOW_EXPORT bool exitflow_endpoint_check (const char *endpoint,
                                              exitflow_error_t *err);

/* A client of the command socket (a DEALER connected to the daemon's
 * ROUTER), with CURVE when the options carry keys. Connecting is
 * asynchronous: a daemon that is down — or one that does not accept the
 * keys — shows as UNREACHABLE on the first call, and libzmq reconnects by
 * itself. Returns NULL with errno EINVAL when the endpoint is refused by
 * exitflow_endpoint_check or the keys are unusable (exitflow_options_check
 * says why), or with libzmq's errno when it cannot connect there. */
EXITFLOW_EXPORT exitflow_client_t *
    exitflow_client_new (const char *endpoint, const exitflow_options_t *options);
EXITFLOW_EXPORT void exitflow_client_destroy (exitflow_client_t **self_p);
EXITFLOW_EXPORT const char *exitflow_client_endpoint (const exitflow_client_t *self);
/* Replaces the options' `actor` for the calls that follow (NULL: none):
 * a front end serving many caseworkers names each request's own without a
 * client per caseworker. False with errno EINVAL when longer than 64
 * bytes or empty, ENOMEM when it cannot be copied; the actor is then
 * unchanged (3.1). */
EXITFLOW_EXPORT bool exitflow_client_set_actor (exitflow_client_t *self,
                                                const char *actor);

/* Every call below returns a reply (destroy it) or NULL with `err` set.
 * Each request gets a fresh id (a ULID); on a timeout the identical bytes,
 * same id, are re-sent on a fresh socket after a backoff, so a retried
 * write is applied at most once (PROTOCOL.md §2.5). Late replies to an
 * earlier request are discarded. */

/* Any command with pre-encoded msgpack args (a map; NULL for none).
 * A request over the daemon's limit is refused here (TOO_LARGE). */
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_call (exitflow_client_t *self, const char *cmd,
                   const void *args, size_t args_len, exitflow_error_t *err);

/* `expected_version` arguments: this value means "don't check". */
#define EXITFLOW_ANY_VERSION ((int64_t) -1)

EXITFLOW_EXPORT exitflow_reply_t *exitflow_ping (exitflow_client_t *self,
                                                 exitflow_error_t *err);
EXITFLOW_EXPORT exitflow_reply_t *exitflow_stats (exitflow_client_t *self,
                                                  exitflow_error_t *err);

/* A member of the household. Who is an adult (and answers income and
 * benefits) is the daemon's to say: from `adult` when given, else from
 * `birth_date` as of the exit date, else assumed (and flagged by the DQ
 * worker as unknown). */
typedef struct {
    const char *client_id;
    const char *enrollment_id;
    int relationship;           /* HUD 3.15: 1 head, 2 child, 3 spouse, ... */
    const char *entry_date;     /* YYYY-MM-DD */
    int adult;                  /* 1, 0, or -1 to leave it out */
    const void *last;           /* msgpack map step → prior values, or NULL */
    size_t last_len;
    const char *birth_date;     /* HUD 3.03, YYYY-MM-DD, or NULL (3.0) */
} exitflow_member_t;

typedef struct {
    const char *enrollment_id;  /* the enrollment the exit starts for */
    const char *household_id;
    const char *project_id;
    int project_type;           /* HUD 2.02.6, or -1 to leave it out */
    const exitflow_member_t *members;
    size_t member_count;
    const char *move_in_date;   /* HUD 3.20, YYYY-MM-DD, permanent housing
                                   project types only; or NULL (3.0) */
} exitflow_household_t;

/* workflow.start: exitflow_reply_workflow_id and _version are the news. */
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_start (exitflow_client_t *self, const exitflow_household_t *household,
                    exitflow_error_t *err);
/* workflow.get: the workflow view (PROTOCOL.md §4.6) as the result. */
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_get (exitflow_client_t *self, const char *workflow_id,
                  exitflow_error_t *err);
/* step.save, mode `entered`: `data` is a msgpack map. */
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_save (exitflow_client_t *self, const char *workflow_id,
                   const char *client_id, const char *step,
                   const void *data, size_t data_len, int64_t expected_version,
                   exitflow_error_t *err);
/* step.save, mode `default_last`: copies the member's prior values. */
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_save_default_last (exitflow_client_t *self, const char *workflow_id,
                                const char *client_id, const char *step,
                                int64_t expected_version, exitflow_error_t *err);
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_decide (exitflow_client_t *self, const char *workflow_id,
                     const char *client_id, bool exit, int64_t expected_version,
                     exitflow_error_t *err);
/* `new_head_of_household` may be NULL. */
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_finish (exitflow_client_t *self, const char *workflow_id,
                     const char *new_head_of_household, int64_t expected_version,
                     exitflow_error_t *err);
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_cancel (exitflow_client_t *self, const char *workflow_id,
                     const char *reason, int64_t expected_version,
                     exitflow_error_t *err);
/* workflow.list, one page. `project_id` and `after` may be NULL,
 * `idle_for_s` -1 and `limit` 0 to leave them out. */
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_list (exitflow_client_t *self, const char *state,
                   const char *project_id, int64_t idle_for_s, int limit,
                   const char *after, exitflow_error_t *err);

/* The `stalled` filter of workflow.list. */
typedef enum {
    EXITFLOW_STALLED_ANY = 0,   /* no filter */
    EXITFLOW_STALLED_ONLY,      /* stalled: true (open workflows only) */
    EXITFLOW_STALLED_NOT,       /* stalled: false */
} exitflow_stalled_t;

/* Every filter of workflow.list (PROTOCOL.md §3). A zeroed struct (or a
 * designated initializer) leaves every one out: NULL strings, `idle_for_s`
 * 0 (every workflow has been idle 0 s), `limit` 0 (the daemon's default).
 * `state` may be NULL only when a key filter is given — `client_id`,
 * `enrollment_id`, `household_id` or `actor` (who started the workflow or
 * made its last change) — and then means every state. Fields may be added
 * at the end in this major version: zero-initialize (3.0). */
typedef struct {
    const char *state;
    const char *project_id;
    int64_t idle_for_s;
    exitflow_stalled_t stalled;
    const char *client_id;
    const char *enrollment_id;
    const char *household_id;
    const char *actor;
    int limit;
    const char *after;          /* the previous page's `next` */
} exitflow_list_filter_t;

/* workflow.list with any of its filters, one page: `{workflows, next}`,
 * each item with `started_by`, `last_actor` and `stalled` (3.0). */
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_list_filtered (exitflow_client_t *self,
                            const exitflow_list_filter_t *filter,
                            exitflow_error_t *err);
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_history (exitflow_client_t *self, const char *workflow_id,
                      exitflow_error_t *err);
/* events.read: events with seq > after; `limit` 0 for the daemon's default. */
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_events_read (exitflow_client_t *self, uint64_t after, int limit,
                          exitflow_error_t *err);
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_consumer_ack (exitflow_client_t *self, const char *consumer,
                           uint64_t seq, exitflow_error_t *err);
/* consumer.list: `{consumers:[{consumer, seq, lag, acked_at}], last_seq}`
 * (`acked_at`, RFC 3339 UTC, since 3.0). */
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_consumer_list (exitflow_client_t *self, exitflow_error_t *err);
/* consumer.delete: forgets a consumer's stored offset (`{consumer,
 * deleted:true}`; NOT_FOUND when there is none). admin may always; ops
 * only once the consumer has not acked for the daemon's
 * --consumer-retire-after, else FORBIDDEN saying how long it has been
 * idle (3.0). A deleted consumer that acks again is made anew. */
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_consumer_delete (exitflow_client_t *self, const char *consumer,
                              exitflow_error_t *err);
/* hud.codes: the HUD code lists with their labels, the destinations with
 * their categories and every step's typed fields (PROTOCOL.md), as the
 * result: what a front end shows and checks (3.0). */
EXITFLOW_EXPORT exitflow_reply_t *exitflow_hud_codes (exitflow_client_t *self,
                                                      exitflow_error_t *err);
/* store.backup (admin): a compacted copy of the store into `dir` on the
 * daemon's machine (a new or empty directory; a relative one is taken
 * from the daemon's working directory), written while the daemon serves:
 * `{dir, bytes, last_seq}` — the directory made absolute, the copy's size
 * and the last event seq in it. The reply comes when the copy is done, so
 * give this call a client whose timeout_ms covers the copy; a retry (the
 * same request id) waits for the same copy. Restore is starting exitflowd
 * with --data on the copy (3.0). */
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_backup (exitflow_client_t *self, const char *dir,
                     exitflow_error_t *err);
/* workflow.export (ops, admin), one page: the workflows finished from
 * `from` to `to` ("YYYY-MM-DD", days of the CoC's calendar, both
 * included; `to` NULL for the CoC's today, `from` NULL for `to`),
 * oldest finish first: `{from, to, timezone, workflows: [{workflow: the
 * view, exits: [{client_id, exit_recorded_at, exit_recorded_by,
 * exit_updated_at, first_saved: {STEP: {at, by}}}]}], next}` — each
 * exiting member's exit first recorded when and by whom (HMIS DateCreated,
 * UserID), last changed when (DateUpdated), each step first saved when and
 * by whom (the view's steps have the last save).
 * `limit` 0 for the daemon's default, `after` the previous page's `next`
 * or NULL (3.1). */
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_export (exitflow_client_t *self, const char *from, const char *to,
                     int limit, const char *after, exitflow_error_t *err);
/* dq.report: `findings` is a msgpack array of finding maps. */
EXITFLOW_EXPORT exitflow_reply_t *
    exitflow_dq_report (exitflow_client_t *self, const char *workflow_id,
                        const char *source, const void *findings,
                        size_t findings_len, int64_t expected_version,
                        exitflow_error_t *err);

/* ---- events ---- */

typedef struct _exitflow_event_t exitflow_event_t;

EXITFLOW_EXPORT uint64_t exitflow_event_seq (const exitflow_event_t *self);
EXITFLOW_EXPORT const char *exitflow_event_type (const exitflow_event_t *self);
EXITFLOW_EXPORT const char *exitflow_event_ts (const exitflow_event_t *self);
EXITFLOW_EXPORT const char *exitflow_event_workflow_id (const exitflow_event_t *self);
/* NULL when the event has none. */
EXITFLOW_EXPORT const char *exitflow_event_client_id (const exitflow_event_t *self);
EXITFLOW_EXPORT const char *exitflow_event_actor (const exitflow_event_t *self);
/* The event's `data` map. */
EXITFLOW_EXPORT const msgpack_object *exitflow_event_data (const exitflow_event_t *self);
/* The whole event map. */
EXITFLOW_EXPORT const msgpack_object *exitflow_event_object (const exitflow_event_t *self);
/* The event's msgpack encoding. */
EXITFLOW_EXPORT const void *exitflow_event_raw (const exitflow_event_t *self,
                                                size_t *len);
EXITFLOW_EXPORT void exitflow_event_destroy (exitflow_event_t **self_p);

/* ---- the gapless subscriber ---- */

typedef struct _exitflow_subscriber_t exitflow_subscriber_t;

/* Follows the event socket from after `after_seq`, delivering the events
 * whose type starts with `type_prefix` ("" or NULL: all) exactly once, in
 * strictly increasing seq order, none missing. PUB/SUB may lose messages;
 * the subscriber fills every gap from events.read — at the start (catching
 * up from after_seq), after a reconnect of the SUB socket, when a received
 * seq jumps ahead, and when nothing has arrived for poll_interval_ms.
 * The options' keys, if any, go on both its sockets; NULL as for
 * exitflow_client_new. */
EXITFLOW_EXPORT exitflow_subscriber_t *
    exitflow_subscriber_new (const char *cmd_endpoint, const char *events_endpoint,
                             uint64_t after_seq, const char *type_prefix,
                             const exitflow_options_t *options);
EXITFLOW_EXPORT void exitflow_subscriber_destroy (exitflow_subscriber_t **self_p);

/* Waits up to `timeout_ms` (-1: for ever) for the next event. Returns 1 and
 * sets *event (yours to destroy), 0 when none came in time (or a signal
 * interrupted the wait), -1 with `err` set when the log could not be read
 * (UNREACHABLE...); nothing is lost then, call again to resume. */
EXITFLOW_EXPORT int exitflow_subscriber_next (exitflow_subscriber_t *self,
                                              int timeout_ms,
                                              exitflow_event_t **event,
                                              exitflow_error_t *err);
/* The highest seq accounted for: delivered, skipped by the filter, or
 * fetched and waiting in the subscriber's queue. So it is a safe offset to
 * ack only right after exitflow_subscriber_next returned 0 (the queue is
 * empty then); after an event, ack that event's seq. */
EXITFLOW_EXPORT uint64_t exitflow_subscriber_seq (const exitflow_subscriber_t *self);
/* Log reads made because of a seq jump or a reconnect (not the start or
 * idle checks): how often PUB/SUB lost something. */
EXITFLOW_EXPORT uint64_t exitflow_subscriber_gap_reads (const exitflow_subscriber_t *self);
/* The SUB socket (a libzmq socket), for tuning and for tests. */
EXITFLOW_EXPORT void *exitflow_subscriber_socket (exitflow_subscriber_t *self);
/* Test seam: received messages for which `drop` returns true are thrown
 * away as if PUB/SUB had lost them. NULL removes the hook. */
typedef bool (exitflow_drop_fn) (uint64_t seq, void *arg);
EXITFLOW_EXPORT void exitflow_subscriber_set_drop_hook (exitflow_subscriber_t *self,
                                                        exitflow_drop_fn *drop,
                                                        void *arg);

#ifdef __cplusplus
}
#endif

#endif
