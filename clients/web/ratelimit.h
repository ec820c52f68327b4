/* ratelimit — how often a sign-in may fail.
 *
 * Owns: counting failed sign-ins per key (a remote address, a user name)
 * over a fixed window, in a bounded table (when full, the entry whose
 * window began first goes). A key that reached its limit waits for the
 * end of its window: 429 with Retry-After. Thread-safe. */
#ifndef EXF_WEB_RATELIMIT_H
#define EXF_WEB_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ratelimit_t ratelimit_t;

ratelimit_t *ratelimit_new (size_t cap, int max_failures, int64_t window_s);
void ratelimit_destroy (ratelimit_t **self_p);

/* Seconds `key` must wait before it may try again; 0 when it may now. */
int64_t ratelimit_wait (ratelimit_t *self, const char *key);
/* One failure of `key`. */
void ratelimit_fail (ratelimit_t *self, const char *key);
/* `key` succeeded: its count starts again. */
void ratelimit_clear (ratelimit_t *self, const char *key);

#endif
