/* sessions — who is signed in to exitflow-web.
 *
 * Owns: the server-side session table (bounded: when full, the session
 * used least recently goes; one user holds at most `per_user` of it, so
 * one account signing in again and again pushes out only its own
 * sessions), session ids and CSRF tokens (256 random bits from getrandom,
 * base64url), idle expiry and a maximum age, and how many live streams each session has
 * open. The browser holds only the id, in the cookie; a fresh id is made
 * at every sign-in. Thread-safe. */
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
    uint64_t stamp;                 /* the user's, at sign-in (users_stamp) */
} session_t;

typedef struct sessions_t sessions_t;

/* Sessions end `idle_s` after their last use, and `max_age_s` after
 * sign-in however much they are used (a stolen cookie does not last). */
sessions_t *sessions_new (size_t cap, size_t per_user, int64_t idle_s,
                          int64_t max_age_s);
void sessions_destroy (sessions_t **self_p);

/* A new session for `user` (a copy in *out). False only when the system
 * has no randomness to give. */
bool sessions_create (sessions_t *self, const char *user, user_role_t role,
                      uint64_t stamp, session_t *out);
/* The live session of `id` (a copy in *out), its idle time restarted;
 * false when there is none or it expired (then it is gone). */
bool sessions_lookup (sessions_t *self, const char *id, session_t *out);
/* Whether the session of `id` is live, leaving its idle time as it is
 * (a live stream asks this without keeping its session alive). */
bool sessions_alive (sessions_t *self, const char *id);
void sessions_remove (sessions_t *self, const char *id);
/* One more live stream for the session of `id`, unless it has `max`
 * already (or is gone): false then. */
bool sessions_stream_take (sessions_t *self, const char *id, size_t max);
/* A stream of the session of `id` ended (nothing when the session did). */
void sessions_stream_give (sessions_t *self, const char *id);
/* Equal tokens, in a time that does not depend on where they differ. */
bool sessions_token_equal (const char *a, const char *b);

#endif
