/* sessions — the bounded session table. See sessions.h. */
#include "sessions.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

typedef struct {
    session_t s;
    bool used;
    int64_t created;                /* monotonic seconds */
    int64_t last_seen;
    size_t streams;                 /* live streams open */
} slot_t;

struct sessions_t {
    pthread_mutex_t lock;
    slot_t *slots;
    size_t cap, per_user;
    int64_t idle_s, max_age_s;
};

static int64_t
now_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

sessions_t *
sessions_new (size_t cap, size_t per_user, int64_t idle_s, int64_t max_age_s)
{
    sessions_t *self = calloc (1, sizeof *self);
    if (!self || !(self->slots = calloc (cap, sizeof *self->slots))) {
        free (self);
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    self->cap = cap;
    self->per_user = per_user ? per_user : cap;
    self->idle_s = idle_s;
    self->max_age_s = max_age_s;
    return self;
}

void
sessions_destroy (sessions_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sessions_t *self = *self_p;
    explicit_bzero (self->slots, self->cap * sizeof *self->slots);
    free (self->slots);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

/* 32 random bytes as 43 base64url characters. */
static bool
token_new (char out[SESSION_TOKEN_LEN + 1])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[33] = { 0 };
    if (getrandom (raw, 32, 0) != 32)
        return false;
    size_t o = 0;
    for (size_t i = 0; i < 33 && o < SESSION_TOKEN_LEN; i += 3) {
        uint32_t v = (uint32_t) raw[i] << 16 | (uint32_t) raw[i + 1] << 8
                     | raw[i + 2];
        for (int k = 18; k >= 0 && o < SESSION_TOKEN_LEN; k -= 6)
            out[o++] = alphabet[(v >> k) & 63];
    }
    out[o] = '\0';
    explicit_bzero (raw, sizeof raw);
    return true;
}

bool
sessions_token_equal (const char *a, const char *b)
{
    if (!a || !b || strlen (a) != SESSION_TOKEN_LEN
        || strlen (b) != SESSION_TOKEN_LEN)
        return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < SESSION_TOKEN_LEN; i++)
        diff |= (unsigned char) (a[i] ^ b[i]);
    return diff == 0;
}

static bool
expired (const sessions_t *self, const slot_t *slot, int64_t now)
{
    return now - slot->last_seen > self->idle_s
           || now - slot->created > self->max_age_s;
}

/* Where a new session of `user` goes: a free or expired slot; else, when
 * the user holds per_user slots already, the one of theirs used least
 * recently; else the one used least recently. Called with the lock held. */
static slot_t *
slot_for (sessions_t *self, const char *user, int64_t now)
{
    slot_t *free_slot = NULL, *lru = NULL, *users_lru = NULL;
    size_t users = 0;
    for (size_t i = 0; i < self->cap; i++) {
        slot_t *slot = &self->slots[i];
        if (!slot->used || expired (self, slot, now)) {
            free_slot = free_slot ? free_slot : slot;
            continue;
        }
        if (!lru || slot->last_seen < lru->last_seen)
            lru = slot;
        if (strcmp (slot->s.user, user) == 0) {
            users++;
            if (!users_lru || slot->last_seen < users_lru->last_seen)
                users_lru = slot;
        }
    }
    if (users >= self->per_user)
        return users_lru;
    return free_slot ? free_slot : lru;
}

bool
sessions_create (sessions_t *self, const char *user, user_role_t role,
                 uint64_t stamp, session_t *out)
{
    session_t s = { .role = role, .stamp = stamp };
    if (!token_new (s.id) || !token_new (s.csrf))
        return false;
    snprintf (s.user, sizeof s.user, "%s", user);
    int64_t now = now_s ();
    pthread_mutex_lock (&self->lock);
    slot_t *pick = slot_for (self, s.user, now);
    if (!pick) {                    /* a table of no slots */
        pthread_mutex_unlock (&self->lock);
        return false;
    }
    memset (pick, 0, sizeof *pick);
    pick->s = s;
    pick->used = true;
    pick->created = pick->last_seen = now;
    pthread_mutex_unlock (&self->lock);
    *out = s;
    return true;
}

/* The slot of `id`, looked at in full so that the time taken does not
 * say how much of an id matched. Called with the lock held. */
static slot_t *
find (sessions_t *self, const char *id)
{
    slot_t *found = NULL;
    for (size_t i = 0; i < self->cap; i++)
        if (self->slots[i].used && sessions_token_equal (self->slots[i].s.id, id))
            found = &self->slots[i];
    return found;
}

/* The live slot of `id`, or NULL; an expired one is freed on the way.
 * Called with the lock held. */
static slot_t *
live_slot (sessions_t *self, const char *id, int64_t now)
{
    slot_t *slot = find (self, id);
    if (slot && expired (self, slot, now)) {
        memset (slot, 0, sizeof *slot);
        slot = NULL;
    }
    return slot;
}

bool
sessions_lookup (sessions_t *self, const char *id, session_t *out)
{
    if (!id || strlen (id) != SESSION_TOKEN_LEN)
        return false;
    int64_t now = now_s ();
    pthread_mutex_lock (&self->lock);
    slot_t *slot = live_slot (self, id, now);
    if (slot) {
        slot->last_seen = now;
        *out = slot->s;
    }
    pthread_mutex_unlock (&self->lock);
    return slot != NULL;
}

bool
sessions_alive (sessions_t *self, const char *id)
{
    if (!id || strlen (id) != SESSION_TOKEN_LEN)
        return false;
    pthread_mutex_lock (&self->lock);
    bool alive = live_slot (self, id, now_s ()) != NULL;
    pthread_mutex_unlock (&self->lock);
    return alive;
}

void
sessions_remove (sessions_t *self, const char *id)
{
    if (!id)
        return;
    pthread_mutex_lock (&self->lock);
    slot_t *slot = find (self, id);
    if (slot)
        memset (slot, 0, sizeof *slot);
    pthread_mutex_unlock (&self->lock);
}

bool
sessions_stream_take (sessions_t *self, const char *id, size_t max)
{
    if (!id || strlen (id) != SESSION_TOKEN_LEN)
        return false;
    pthread_mutex_lock (&self->lock);
    slot_t *slot = live_slot (self, id, now_s ());
    bool room = slot && slot->streams < max;
    if (room)
        slot->streams++;
    pthread_mutex_unlock (&self->lock);
    return room;
}

void
sessions_stream_give (sessions_t *self, const char *id)
{
    if (!id || strlen (id) != SESSION_TOKEN_LEN)
        return;
    pthread_mutex_lock (&self->lock);
    slot_t *slot = find (self, id);
    if (slot && slot->streams > 0)
        slot->streams--;
    pthread_mutex_unlock (&self->lock);
}
