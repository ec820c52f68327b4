/* commands — the command table and the handlers behind it.
 *
 * Owns: name → handler, read-only or write, which roles may call it; the
 * translation between wire arguments and the workflow core; idempotent
 * replies; turning the core's events into numbered, stored events. It runs
 * inside a store transaction that the server opened and will commit; it
 * never touches sockets. */
#ifndef EXF_COMMANDS_H
#define EXF_COMMANDS_H

#include "store.h"

/* Roles, for CURVE authentication: each command names who may call it. */
enum {
    ROLE_FRONTEND = 1 << 0,
    ROLE_WORKER = 1 << 1,
    ROLE_OPS = 1 << 2,
    ROLE_ADMIN = 1 << 3,
    ROLE_ANY = 0xf
};

typedef struct command_t command_t;

const command_t *commands_find (exf_str_t name);
bool command_writes (const command_t *cmd);

/* Events committed by a batch, kept for publishing after the commit. */
typedef struct {
    size_t n, cap;
    struct outbox_event {
        const char *type;
        char *bytes;
        size_t len;
    } *items;
} outbox_t;

void outbox_reset (outbox_t *box);      /* frees the items, keeps capacity */
void outbox_destroy (outbox_t *box);

typedef struct {
    store_txn_t *txn;
    outbox_t *outbox;
    int64_t now_ms;
    int64_t started_ms;                 /* daemon start, for uptime */
} command_env_t;

/* Runs one parsed request and writes the reply body into `reply`. Returns
 * STORE_OK, or the storage fault that makes the transaction unusable: then
 * the whole batch must be aborted. `body` is the raw request frame
 * (idempotency). */
store_status_t commands_execute (const command_env_t *env, const command_t *cmd,
                      const codec_request_t *req, const void *body,
                      size_t body_len, msgpack_sbuffer *reply);

/* Where the stall scan stopped: open workflows are indexed by their last
 * change, so every one at or before the cursor has had its turn, and each
 * scan only looks at those that became due since. Kept in memory: after a
 * restart the first scan walks them all once. */
typedef struct {
    uint8_t key[64];
    size_t len;
} stall_cursor_t;

/* Marks open workflows idle for `stall_after_s` as stalled (once per idle
 * period), at most `max` per call. The caller commits, and keeps the moved
 * cursor only when the commit succeeds. */
store_status_t commands_mark_stalled (const command_env_t *env, int64_t stall_after_s,
                           stall_cursor_t *cursor, int max, int *marked);

#endif
