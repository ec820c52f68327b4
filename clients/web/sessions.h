/* sessions — who is signed in to exitflow-web.
 *
 * Owns: the server-side session table (bounded: when full, the session
 * used least recently goes), session ids and CSRF tokens (256 random bits
 * from getrandom, base64url), idle expiry. The browser holds only the id,
 * in the cookie; a fresh id is made at every sign-in. Thread-safe. */
#ifndef EXF_WEB_SESSIONS_H
#define EXF_WEB_SESSIONS_H

#include "users.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SESSION_TOKEN_LEN 43        /* 32 bytes in base64url, no padding */

typedef struct {
    char id[SESSION_TOKEN_LEN + 1];
    char csrf[SESSION_TOKEN_LEN + 1];
    char user[USER_NAME_MAX + 1];
    user_role_t role;
} session_t;

typedef struct sessions_t sessions_t;

sessions_t *sessions_new (size_t cap, int64_t idle_s);
void sessions_destroy (sessions_t **self_p);

/* A new session for `user` (a copy in *out). False only when the system
 * has no randomness to give. */
bool sessions_create (sessions_t *self, const char *user, user_role_t role,
                      session_t *out);
/* The live session of `id` (a copy in *out), its idle time restarted;
 * false when there is none or it expired (then it is gone). */
bool sessions_lookup (sessions_t *self, const char *id, session_t *out);
/* Whether the session of `id` is live, leaving its idle time as it is
 * (a live stream asks this without keeping its session alive). */
bool sessions_alive (sessions_t *self, const char *id);
void sessions_remove (sessions_t *self, const char *id);
/* Equal tokens, in a time that does not depend on where they differ. */
bool sessions_token_equal (const char *a, const char *b);

#endif
