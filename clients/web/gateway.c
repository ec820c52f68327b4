/* gateway — pools of libexitflow clients per certificate. See gateway.h. */
#include "gateway.h"

#include "clients/jsonpack.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* Calls at once per certificate; a request past them waits for a client
 * (the HTTP side bounds how many requests there are). */
#define POOL_SIZE 4

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    exitflow_client_t *clients[POOL_SIZE];
    bool busy[POOL_SIZE];
} pool_t;

struct gateway_t {
    void *ctx;
    char *commands, *events, *ops_cert, *server_key;
    int timeout_ms;
    pool_t pools[2];                /* [0] frontend, [1] ops */
    pthread_mutex_t zone_lock;
    char zone[64];                  /* stats.timezone, "" until known */
};

static pool_t *
pool_of (gateway_t *self, user_role_t role)
{
    return &self->pools[role == ROLE_OPS ? 1 : 0];
}

static exitflow_options_t
options_for (const gateway_t *self, const char *cert, const char *server_key)
{
    exitflow_options_t o = exitflow_options_default ();
    o.timeout_ms = self->timeout_ms;
    o.retries = 1;
    o.zmq_context = self->ctx;
    o.cert = cert;
    o.server_key = server_key;
    return o;
}

static bool
pool_init (gateway_t *self, pool_t *pool, const char *cert, const char *name,
           char *why, size_t cap)
{
    pthread_mutex_init (&pool->lock, NULL);
    pthread_cond_init (&pool->freed, NULL);
    exitflow_options_t o = options_for (self, cert, self->server_key);
    exitflow_error_t e;
    if (!exitflow_options_check (&o, &e)) {
        snprintf (why, cap, "the %s certificate: %s", name, e.message);
        return false;
    }
    for (int i = 0; i < POOL_SIZE; i++)
        if (!(pool->clients[i] = exitflow_client_new (self->commands, &o))) {
            snprintf (why, cap, "cannot make a client of %s", self->commands);
            return false;
        }
    return true;
}

static char *
dup_or_null (const char *s)
{
    return s && *s ? strdup (s) : NULL;
}

gateway_t *
gateway_new (const gateway_config_t *config, char *why, size_t cap)
{
    gateway_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init (&self->zone_lock, NULL);
    self->ctx = zmq_ctx_new ();
    self->commands = strdup (config->commands);
    self->events = strdup (config->events);
    self->ops_cert = dup_or_null (config->ops_cert);
    self->server_key = dup_or_null (config->server_key);
    self->timeout_ms = config->timeout_ms;
    if (!self->ctx
        || !pool_init (self, &self->pools[0], config->frontend_cert, "frontend",
                       why, cap)
        || !pool_init (self, &self->pools[1], config->ops_cert, "ops", why,
                       cap))
        gateway_destroy (&self);
    return self;
}

void
gateway_shutdown (gateway_t *self)
{
    zmq_ctx_shutdown (self->ctx);
}

void
gateway_destroy (gateway_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gateway_t *self = *self_p;
    if (self->ctx)
        zmq_ctx_shutdown (self->ctx);
    for (int p = 0; p < 2; p++) {
        pool_t *pool = &self->pools[p];
        for (int i = 0; i < POOL_SIZE; i++)
            exitflow_client_destroy (&pool->clients[i]);
        pthread_cond_destroy (&pool->freed);
        pthread_mutex_destroy (&pool->lock);
    }
    if (self->ctx)
        zmq_ctx_term (self->ctx);
    free (self->commands);
    free (self->events);
    free (self->ops_cert);
    free (self->server_key);
    pthread_mutex_destroy (&self->zone_lock);
    free (self);
    *self_p = NULL;
}

static int
take (pool_t *pool)
{
    pthread_mutex_lock (&pool->lock);
    int slot = -1;
    while (slot < 0) {
        for (int i = 0; i < POOL_SIZE && slot < 0; i++)
            if (!pool->busy[i])
                slot = i;
        if (slot < 0)
            pthread_cond_wait (&pool->freed, &pool->lock);
    }
    pool->busy[slot] = true;
    pthread_mutex_unlock (&pool->lock);
    return slot;
}

static void
give_back (pool_t *pool, int slot)
{
    pthread_mutex_lock (&pool->lock);
    pool->busy[slot] = false;
    pthread_cond_signal (&pool->freed);
    pthread_mutex_unlock (&pool->lock);
}

json_t *
gateway_call (gateway_t *self, user_role_t role, const char *actor,
              const char *cmd, const json_t *args, exitflow_error_t *err)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    if (args) {
        msgpack_packer pk;
        msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
        jsonpack_pack (&pk, args);
    }
    pool_t *pool = pool_of (self, role);
    int slot = take (pool);
    exitflow_client_t *client = pool->clients[slot];
    json_t *result = NULL;
    /* an ops certificate acts only as itself (PROTOCOL.md §6.2) */
    if (!exitflow_client_set_actor (client, role == ROLE_OPS ? NULL : actor)) {
        snprintf (err->code, sizeof err->code, "BAD_REQUEST");
        snprintf (err->message, sizeof err->message, "not a usable actor");
        snprintf (err->field, sizeof err->field, "actor");
    } else {
        exitflow_reply_t *reply = exitflow_call (client, cmd,
                                                 args ? sb.data : NULL,
                                                 args ? sb.size : 0, err);
        if (reply) {
            result = jsonpack_from_msgpack (exitflow_reply_result (reply));
            exitflow_reply_destroy (&reply);
        }
    }
    give_back (pool, slot);
    msgpack_sbuffer_destroy (&sb);
    return result;
}

exitflow_options_t
gateway_ops_options (const gateway_t *self)
{
    return options_for (self, self->ops_cert, self->server_key);
}

const char *
gateway_commands (const gateway_t *self)
{
    return self->commands;
}

const char *
gateway_events (const gateway_t *self)
{
    return self->events;
}

void
gateway_note_stats (gateway_t *self, const json_t *stats)
{
    const char *zone = json_string_value (json_object_get (stats, "timezone"));
    if (!zone || !*zone || strlen (zone) >= sizeof self->zone)
        return;
    pthread_mutex_lock (&self->zone_lock);
    snprintf (self->zone, sizeof self->zone, "%s", zone);
    pthread_mutex_unlock (&self->zone_lock);
}

bool
gateway_learn_timezone (gateway_t *self)
{
    exitflow_error_t err;
    json_t *stats = gateway_call (self, ROLE_OPS, NULL, "stats", NULL, &err);
    gateway_note_stats (self, stats);
    json_decref (stats);
    return stats != NULL;
}

void
gateway_timezone (gateway_t *self, char *out, size_t cap)
{
    pthread_mutex_lock (&self->zone_lock);
    snprintf (out, cap, "%s", self->zone);
    pthread_mutex_unlock (&self->zone_lock);
}
