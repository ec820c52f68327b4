/* live — one subscriber, a ring of recent events, SSE streams over it.
 * See live.h. */
#include "live.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WF_ID_MAX 32
#define MESSAGE_MAX 1024            /* one SSE message, ids are bounded */
#define NEXT_WAIT_MS 500            /* how often the thread looks at `stopping` */

typedef struct {
    uint64_t seq;
    char workflow_id[WF_ID_MAX + 1];
    char *json;                     /* the `data` line */
} item_t;

struct live_t {
    gateway_t *gateway;
    pthread_mutex_t lock;
    pthread_cond_t changed;         /* an event came, or stopping */
    item_t *ring;
    size_t cap;
    uint64_t base;                  /* the seq before the oldest held */
    uint64_t last;                  /* the newest seq held */
    bool ready;                     /* base and last come from the daemon */
    atomic_bool stopping;           /* read by the feed without the lock */
    uint64_t kicks;                 /* live_kick's count */
    size_t streams, max_streams, lag_max;
    int heartbeat_s;
    pthread_t thread;
    bool started;
};

struct live_stream_t {
    live_t *live;
    bool placed;                    /* the cursor is set (the feed was ready) */
    bool resume;
    uint64_t resume_after;
    uint64_t cursor;                /* the last seq looked at */
    char workflow_id[WF_ID_MAX + 1];
    bool ended;
    char out[MESSAGE_MAX + 64];
    size_t out_len, out_pos;
};

live_t *
live_new (gateway_t *gateway, size_t ring, size_t max_streams, size_t lag_max,
          int heartbeat_s)
{
    live_t *self = calloc (1, sizeof *self);
    if (!self || !(self->ring = calloc (ring, sizeof *self->ring))) {
        free (self);
        return NULL;
    }
    self->gateway = gateway;
    self->cap = ring;
    self->max_streams = max_streams;
    self->lag_max = lag_max < ring ? lag_max : ring - 1;
    self->heartbeat_s = heartbeat_s;
    pthread_mutex_init (&self->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_init (&self->changed, &attr);
    pthread_condattr_destroy (&attr);
    return self;
}

/* ---- the subscriber thread ---- */

/* The `data` of an event's SSE message: who did what to which workflow,
 * never the step data. */
static char *
event_json (const exitflow_event_t *ev)
{
    json_t *j = json_object ();
    json_object_set_new (j, "seq", json_integer ((json_int_t) exitflow_event_seq (ev)));
    json_object_set_new (j, "type", json_string (exitflow_event_type (ev)));
    json_object_set_new (j, "workflow_id", json_string (exitflow_event_workflow_id (ev)));
    const char *client = exitflow_event_client_id (ev);
    const char *actor = exitflow_event_actor (ev);
    json_object_set_new (j, "client_id", client ? json_string (client) : json_null ());
    json_object_set_new (j, "actor", actor ? json_string (actor) : json_null ());
    json_object_set_new (j, "ts", json_string (exitflow_event_ts (ev)));
    char *text = json_dumps (j, JSON_COMPACT);
    json_decref (j);
    return text;
}

static void
push (live_t *self, const exitflow_event_t *ev)
{
    char *json = event_json (ev);
    if (!json)
        return;
    pthread_mutex_lock (&self->lock);
    uint64_t seq = exitflow_event_seq (ev);
    if (self->last - self->base == self->cap)
        self->base++;               /* the oldest's slot is the one to fill */
    item_t *it = &self->ring[seq % self->cap];
    free (it->json);
    it->seq = seq;
    it->json = json;
    snprintf (it->workflow_id, sizeof it->workflow_id, "%s",
              exitflow_event_workflow_id (ev));
    self->last = seq;
    pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->lock);
}

/* Waits `ms` unless stopping; true when stopping. */
static bool
pause_or_stop (live_t *self, int ms)
{
    struct timespec until;
    clock_gettime (CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long) (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock (&self->lock);
    while (!self->stopping
           && pthread_cond_timedwait (&self->changed, &self->lock, &until)
                  != ETIMEDOUT)
        ;
    bool stopping = self->stopping;
    pthread_mutex_unlock (&self->lock);
    return stopping;
}

/* The daemon's newest seq, which the feed starts after: pages are told
 * of what happens from now on (they read the state itself from the API). */
static bool
feed_place (live_t *self)
{
    exitflow_error_t err;
    json_t *stats = gateway_call (self->gateway, ROLE_OPS, NULL, "stats",
                                  NULL, &err);
    if (!stats)
        return false;
    json_int_t last = json_integer_value (json_object_get (stats, "last_seq"));
    gateway_note_stats (self->gateway, stats);
    json_decref (stats);
    pthread_mutex_lock (&self->lock);
    self->base = self->last = (uint64_t) (last > 0 ? last : 0);
    self->ready = true;
    pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->lock);
    fprintf (stderr, "exitflow-web: live feed from seq %lld\n", (long long) last);
    return true;
}

static void *
feed_run (void *arg)
{
    live_t *self = arg;
    exitflow_subscriber_t *sub = NULL;
    bool said = false;
    bool zone_stale = false;        /* the daemon was away: its zone may differ */
    while (!self->stopping) {
        if (zone_stale && gateway_learn_timezone (self->gateway))
            zone_stale = false;
        if (!self->ready && !feed_place (self)) {
            if (!said)
                fprintf (stderr, "exitflow-web: live feed: the daemon does "
                         "not answer yet; trying every second\n");
            said = true;
            pause_or_stop (self, 1000);
            continue;
        }
        if (!sub) {
            exitflow_options_t o = gateway_ops_options (self->gateway);
            o.poll_interval_ms = NEXT_WAIT_MS;
            sub = exitflow_subscriber_new (gateway_commands (self->gateway),
                                           gateway_events (self->gateway),
                                           self->last, "", &o);
            if (!sub) {
                pause_or_stop (self, 1000);
                continue;
            }
        }
        exitflow_event_t *ev = NULL;
        exitflow_error_t err;
        int rc = exitflow_subscriber_next (sub, NEXT_WAIT_MS, &ev, &err);
        if (rc == 1) {
            push (self, ev);
            exitflow_event_destroy (&ev);
        } else if (rc < 0 && !self->stopping) {
            /* nothing is lost: the next call resumes from the log */
            fprintf (stderr, "exitflow-web: live feed: %s\n", err.code);
            zone_stale = true;
            pause_or_stop (self, 1000);
        }
    }
    exitflow_subscriber_destroy (&sub);
    return NULL;
}

bool
live_start (live_t *self)
{
    self->started = pthread_create (&self->thread, NULL, feed_run, self) == 0;
    return self->started;
}

void
live_stop (live_t *self)
{
    pthread_mutex_lock (&self->lock);
    self->stopping = true;
    pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->lock);
    if (self->started)
        pthread_join (self->thread, NULL);
    self->started = false;
}

void
live_destroy (live_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    live_t *self = *self_p;
    live_stop (self);
    for (size_t i = 0; i < self->cap; i++)
        free (self->ring[i].json);
    free (self->ring);
    pthread_cond_destroy (&self->changed);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

/* ---- streams ---- */

live_stream_t *
live_open (live_t *self, bool resume, uint64_t last_event_id,
           const char *workflow_id)
{
    live_stream_t *s = calloc (1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_lock (&self->lock);
    bool room = self->streams < self->max_streams && !self->stopping;
    if (room)
        self->streams++;
    pthread_mutex_unlock (&self->lock);
    if (!room) {
        free (s);
        return NULL;
    }
    s->live = self;
    s->resume = resume;
    s->resume_after = last_event_id;
    if (workflow_id)
        snprintf (s->workflow_id, sizeof s->workflow_id, "%s", workflow_id);
    /* the reconnect delay a browser's EventSource keeps */
    s->out_len = (size_t) snprintf (s->out, sizeof s->out,
                                    "retry: 2000\n: exitflow live\n\n");
    return s;
}

void
live_close (live_stream_t *s)
{
    if (!s)
        return;
    live_t *self = s->live;
    pthread_mutex_lock (&self->lock);
    self->streams--;
    pthread_mutex_unlock (&self->lock);
    free (s);
}

static void
say (live_stream_t *s, const char *text)
{
    s->out_len = (size_t) snprintf (s->out, sizeof s->out, "%s", text);
    s->out_pos = 0;
}

/* With the lock held: the next message for `s` into its buffer, or false
 * when it has none yet. Sets `ended` when it must end. */
static bool
next_message (live_stream_t *s)
{
    live_t *self = s->live;
    if (self->stopping) {
        s->ended = true;
        return false;
    }
    if (!self->ready)
        return false;
    if (!s->placed) {
        s->placed = true;
        s->cursor = self->last;
        bool held = s->resume && s->resume_after >= self->base
                    && s->resume_after <= self->last;
        if (held)
            s->cursor = s->resume_after;
        else if (s->resume) {
            say (s, "event: reload\ndata: {}\n\n");
            return true;
        }
    }
    if (self->last - s->cursor > self->lag_max) {
        /* a page that does not keep up: it reconnects and resumes */
        s->ended = true;
        return false;
    }
    while (s->cursor < self->last) {
        const item_t *it = &self->ring[++s->cursor % self->cap];
        if (s->workflow_id[0] && strcmp (s->workflow_id, it->workflow_id) != 0)
            continue;
        s->out_len = (size_t) snprintf (s->out, sizeof s->out,
                                        "id: %llu\nevent: change\ndata: %s\n\n",
                                        (unsigned long long) it->seq, it->json);
        s->out_pos = 0;
        return true;
    }
    return false;
}

void
live_kick (live_t *self)
{
    pthread_mutex_lock (&self->lock);
    self->kicks++;
    pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->lock);
}

/* With the lock held: waits until `s` has a message (true), it must end,
 * or a kick says its reader may no longer be allowed (false). */
static bool
wait_message (live_stream_t *s, const struct timespec *until)
{
    live_t *self = s->live;
    uint64_t kicks = self->kicks;
    while (!next_message (s) && !s->ended) {
        int rc = pthread_cond_timedwait (&self->changed, &self->lock, until);
        if (rc == ETIMEDOUT) {
            say (s, ": heartbeat\n\n");
            return true;
        }
        if (self->kicks != kicks)
            return false;
    }
    return !s->ended;
}

size_t
live_read (live_stream_t *s, char *buf, size_t max,
           bool (*allowed) (void *cls), void *cls)
{
    live_t *self = s->live;
    if (s->out_pos >= s->out_len) {
        struct timespec until;
        clock_gettime (CLOCK_MONOTONIC, &until);
        until.tv_sec += self->heartbeat_s;
        bool have = false;
        while (!have && !s->ended) {
            /* asked before every message, outside the lock: a session
             * that ended gets nothing more, not even what was queued */
            if (!allowed (cls))
                return 0;
            pthread_mutex_lock (&self->lock);
            have = wait_message (s, &until);
            pthread_mutex_unlock (&self->lock);
        }
        if (!have || !allowed (cls))
            return 0;
    }
    size_t n = s->out_len - s->out_pos;
    if (n > max)
        n = max;
    memcpy (buf, s->out + s->out_pos, n);
    s->out_pos += n;
    return n;
}
