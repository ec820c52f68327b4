/* ratelimit — how often a sign-in may fail.
 *
 * Owns: counting sign-in attempts per key (a remote address, a user name)
 * over a fixed window, in a bounded table, and what a remote address's
 * key is. An attempt is counted when it is let through, before its
 * password is checked, so that attempts made in parallel cannot all pass
 * the check before the first of them fails; a success takes its count
 * back. A key that reached its limit waits for the end of its window:
 * 429 with Retry-After. When the table is full the entry with the fewest
 * failures goes (the oldest of those), so a flood of one-off keys cannot
 * push out a key that is being guessed at. Thread-safe. */
#ifndef EXF_WEB_RATELIMIT_H
#define EXF_WEB_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct ratelimit_t ratelimit_t;

ratelimit_t *ratelimit_new (size_t cap, int max_failures, int64_t window_s);
void ratelimit_destroy (ratelimit_t **self_p);

/* 0 when `key` may try now (that attempt is counted as a failure until
 * ratelimit_refund or ratelimit_clear says otherwise); else the seconds
 * it must wait, and nothing is counted. */
int64_t ratelimit_take (ratelimit_t *self, const char *key);
/* The attempt ratelimit_take counted did not fail after all. */
void ratelimit_refund (ratelimit_t *self, const char *key);
/* `key` succeeded: its count starts again. */
void ratelimit_clear (ratelimit_t *self, const char *key);

/* The key of a remote address, as text: an IPv4 address as it is (also
 * when mapped into IPv6), an IPv6 address by its /64 — one site's
 * network, whose 2^64 addresses would otherwise each get a fresh count. */
void ratelimit_address_key (const struct sockaddr *sa, char *out, size_t cap);

#endif
