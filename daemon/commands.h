/* commands — the command table (PROTOCOL.md §3) and the one place a request
 * is run.
 *
 * Owns: name → handler, read-only or write, scoped to one workflow or not,
 * which roles may call it; running a parsed request inside the store
 * transaction the server opened (it will commit it); idempotent replies.
 * The handlers live in cmd_*.c, by family, behind handlers.h. Nothing here
 * touches a socket. */
#ifndef EXF_COMMANDS_H
#define EXF_COMMANDS_H

#include "caller.h"
#include "change.h"

typedef struct command_t command_t;
typedef struct backup_t backup_t;       /* backup.h */

/* The command called `name`, or NULL. */
const command_t *commands_find (exf_str_t name);
/* Reads a request body of `len` bytes: checked and unpacked into `u` (the
 * caller's, initialised; destroyed by the caller), its envelope into
 * `req`. The command to run, or NULL with `err` set (BAD_REQUEST,
 * UNKNOWN_COMMAND): the request is then answered without running, with
 * `req->id` when it could be read. */
const command_t *commands_parse (const void *body, size_t len,
                                 msgpack_unpacked *u, codec_request_t *req,
                                 exf_error_t *err);
bool command_writes (const command_t *cmd);
/* Whether a caller holding `role` (EXF_ROLE_* bits) may run it;
 * commands_execute checks it before anything else. */
bool command_allows (const command_t *cmd, unsigned role);

typedef struct {
    change_env_t change;                /* the transaction, clock and queue */
    int64_t started_ms;                 /* daemon start, for uptime */
    int64_t consumer_retire_ms;         /* ops may delete a consumer idle
                                           longer (--consumer-retire-after) */
    uint64_t requests_before;           /* requests run since start before
                                           this one (stats: a count, not a
                                           clock, shows how long one waited) */
    backup_t *backup;                   /* store.backup's; NULL: none here */
} command_env_t;

/* Runs one parsed request from `caller` and writes the reply body into
 * `reply`. A caller whose role may not run the command, or who names an
 * actor it may not speak for, gets FORBIDDEN and nothing is read or
 * changed. Returns STORE_OK, or the storage fault that makes the
 * transaction unusable: then the whole batch must be aborted. `body` is
 * the raw request frame (idempotency). A command answered later leaves
 * `reply` empty: store.backup, whose request then waits in backup.h's
 * backup_wait for the copy it started. */
store_status_t commands_execute (const command_env_t *env,
                                 const command_t *cmd,
                                 const codec_request_t *req,
                                 const caller_t *caller, const void *body,
                                 size_t body_len, msgpack_sbuffer *reply);

#endif
