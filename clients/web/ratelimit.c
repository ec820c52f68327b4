/* ratelimit — failed sign-ins per key over a window. See ratelimit.h. */
#include "ratelimit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_MAX 80                  /* an address or a name, cut */

typedef struct {
    char key[KEY_MAX];
    int64_t since;                  /* the window's start, monotonic s */
    int failures;
    bool used;
} entry_t;

struct ratelimit_t {
    pthread_mutex_t lock;
    entry_t *entries;
    size_t cap;
    int max_failures;
    int64_t window_s;
};

static int64_t
now_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

ratelimit_t *
ratelimit_new (size_t cap, int max_failures, int64_t window_s)
{
    ratelimit_t *self = calloc (1, sizeof *self);
    if (!self || !(self->entries = calloc (cap, sizeof *self->entries))) {
        free (self);
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    self->cap = cap;
    self->max_failures = max_failures;
    self->window_s = window_s;
    return self;
}

void
ratelimit_destroy (ratelimit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ratelimit_t *self = *self_p;
    free (self->entries);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

/* The live entry of `key`, or NULL; an entry whose window has passed is
 * freed on the way. Called with the lock held. */
static entry_t *
find (ratelimit_t *self, const char *key, int64_t now)
{
    for (size_t i = 0; i < self->cap; i++) {
        entry_t *e = &self->entries[i];
        if (e->used && now - e->since >= self->window_s)
            e->used = false;
        if (e->used && strncmp (e->key, key, KEY_MAX - 1) == 0)
            return e;
    }
    return NULL;
}

/* A free or expired entry, else the one with the fewest failures (the
 * oldest of those): a key many attempts were made under stays longest.
 * Called with the lock held. */
static entry_t *
victim (ratelimit_t *self, int64_t now)
{
    entry_t *pick = &self->entries[0];
    for (size_t i = 0; i < self->cap; i++) {
        entry_t *c = &self->entries[i];
        if (!c->used || now - c->since >= self->window_s)
            return c;
        if (c->failures < pick->failures
            || (c->failures == pick->failures && c->since < pick->since))
            pick = c;
    }
    return pick;
}

int64_t
ratelimit_take (ratelimit_t *self, const char *key)
{
    int64_t now = now_s ();
    pthread_mutex_lock (&self->lock);
    entry_t *e = find (self, key, now);
    int64_t wait = 0;
    if (e && e->failures >= self->max_failures) {
        wait = e->since + self->window_s - now;
        wait = wait > 0 ? wait : 1;
    } else {
        if (!e) {
            e = victim (self, now);
            memset (e, 0, sizeof *e);
            snprintf (e->key, sizeof e->key, "%s", key);
            e->since = now;
            e->used = true;
        }
        e->failures++;
    }
    pthread_mutex_unlock (&self->lock);
    return wait;
}

void
ratelimit_refund (ratelimit_t *self, const char *key)
{
    pthread_mutex_lock (&self->lock);
    entry_t *e = find (self, key, now_s ());
    if (e && e->failures > 0)
        e->failures--;
    pthread_mutex_unlock (&self->lock);
}

void
ratelimit_clear (ratelimit_t *self, const char *key)
{
    pthread_mutex_lock (&self->lock);
    entry_t *e = find (self, key, now_s ());
    if (e)
        e->used = false;
    pthread_mutex_unlock (&self->lock);
}

void
ratelimit_address_key (const struct sockaddr *sa, char *out, size_t cap)
{
    snprintf (out, cap, "?");
    if (sa && sa->sa_family == AF_INET) {
        inet_ntop (AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, out,
                   (socklen_t) cap);
        return;
    }
    if (!sa || sa->sa_family != AF_INET6)
        return;
    struct in6_addr a = ((const struct sockaddr_in6 *) sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED (&a)) {
        inet_ntop (AF_INET, &a.s6_addr[12], out, (socklen_t) cap);
        return;
    }
    memset (&a.s6_addr[8], 0, 8);
    char text[INET6_ADDRSTRLEN];
    if (inet_ntop (AF_INET6, &a, text, sizeof text))
        snprintf (out, cap, "%s/64", text);
}
