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

#include "change.h"

/* Roles, for CURVE authentication: each command names who may call it. */
enum {
    ROLE_FRONTEND = 1 << 0,
    ROLE_WORKER = 1 << 1,
    ROLE_OPS = 1 << 2,
    ROLE_ADMIN = 1 << 3,
    ROLE_ANY = 0xf
};

typedef struct command_t command_t;

/* The command called `name`, or NULL. */
const command_t *commands_find (exf_str_t name);
bool command_writes (const command_t *cmd);
/* Whether a caller holding `roles` may run it. Not enforced yet: when
 * authentication lands, commands_execute is where it is checked. */
bool command_allows (const command_t *cmd, unsigned roles);

typedef struct {
    change_env_t change;                /* the transaction, clock and queue */
    int64_t started_ms;                 /* daemon start, for uptime */
} command_env_t;

/* Runs one parsed request and writes the reply body into `reply`. Returns
 * STORE_OK, or the storage fault that makes the transaction unusable: then
 * the whole batch must be aborted. `body` is the raw request frame
 * (idempotency). */
store_status_t commands_execute (const command_env_t *env,
                                 const command_t *cmd,
                                 const codec_request_t *req, const void *body,
                                 size_t body_len, msgpack_sbuffer *reply);

#endif
