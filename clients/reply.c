/* reply — a decoded EXITFLOW/1 reply and the error value.
 *
 * Owns: checking untrusted reply bytes (through the codec's bounds pass),
 * turning `ok:false` into an exitflow_error_t, keeping the unpacked result
 * alive for the caller, and the small readers of nested msgpack maps. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _exitflow_reply_t {
    char *body;
    size_t len;
    msgpack_unpacked unpacked;
    const msgpack_object *result;
    int64_t version;
    bool has_next_step;
    char id[EXF_ID_MAX + 1];
    char workflow_id[EXF_ID_MAX + 1];
    char state[EXF_ID_MAX + 1];
    char next_step[EXF_ID_MAX + 1];
};

/* What a reply without a result map shows: an empty map, so callers never
 * test for NULL. */
static const msgpack_object empty_map = { .type = MSGPACK_OBJECT_MAP };

/* ---- errors ---- */

void
error_clear (exitflow_error_t *err)
{
    memset (err, 0, sizeof *err);
    err->version = -1;
}

void *
error_set (exitflow_error_t *err, const char *code, const char *field,
           const char *fmt, ...)
{
    error_clear (err);
    snprintf (err->code, sizeof err->code, "%s", code);
    snprintf (err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err->message, sizeof err->message, fmt, ap);
    va_end (ap);
    return NULL;
}

/* Any code but the two that say no answer was read: a code the protocol
 * does not know yet is still the daemon's refusal. */
bool
exitflow_error_is_refusal (const exitflow_error_t *err)
{
    return err->code[0] && strcmp (err->code, EXITFLOW_UNREACHABLE) != 0
           && strcmp (err->code, EXITFLOW_BAD_REPLY) != 0;
}

/* Which of the daemon's refusals are worth retrying is the protocol's
 * error table's to say (protocol/names.c). */
bool
exitflow_error_is_transient (const exitflow_error_t *err)
{
    if (!exitflow_error_is_refusal (err))
        return true;
    const exf_error_code_t *code = exf_error_code (err->code);
    return code && code->transient;
}

/* The wire's error map into the value; a reply whose error map is unusable
 * still yields an error, just a vaguer one. */
static void
error_from_wire (exitflow_error_t *err, const msgpack_object *map)
{
    error_clear (err);
    if (!exitflow_obj_str (map, "code", err->code, sizeof err->code)
        || !err->code[0])
        snprintf (err->code, sizeof err->code, "%s", EXITFLOW_BAD_REPLY);
    if (!exitflow_obj_str (map, "message", err->message, sizeof err->message))
        snprintf (err->message, sizeof err->message, "the daemon refused the request");
    exitflow_obj_str (map, "field", err->field, sizeof err->field);
    exitflow_obj_str (map, "workflow_id", err->workflow_id,
                      sizeof err->workflow_id);
    int64_t version;
    if (exitflow_obj_int (map, "version", &version))
        err->version = version;
}

/* ---- replies ---- */

static void
reply_free (exitflow_reply_t *self)
{
    msgpack_unpacked_destroy (&self->unpacked);
    free (self->body);
    free (self);
}

exitflow_reply_t *
reply_decode (char *body, size_t len, const char *expect_id, bool *stale,
              exitflow_error_t *err)
{
    *stale = false;
    exitflow_reply_t *self = calloc (1, sizeof *self);
    if (!self) {
        free (body);
        return error_set (err, EXITFLOW_BAD_REPLY, NULL, "out of memory");
    }
    self->body = body;
    self->len = len;
    self->version = -1;
    msgpack_unpacked_init (&self->unpacked);

    const char *why = NULL;
    if (!codec_unpack (body, len, &self->unpacked, &why)) {
        reply_free (self);
        return error_set (err, EXITFLOW_BAD_REPLY, NULL,
                          "the reply is not msgpack: %s", why);
    }
    const msgpack_object *root = &self->unpacked.data;
    if (root->type != MSGPACK_OBJECT_MAP) {
        reply_free (self);
        return error_set (err, EXITFLOW_BAD_REPLY, NULL,
                          "the reply is not a map");
    }
    /* nil id: the daemon could not read ours, so the answer is still ours
     * (one request in flight per socket). */
    const msgpack_object *id = exitflow_obj_get (root, "id");
    if (id && id->type == MSGPACK_OBJECT_STR) {
        if (!codec_str_eq (codec_str_of (id), expect_id)) {
            reply_free (self);
            *stale = true;
            return NULL;
        }
        codec_str_copy (self->id, sizeof self->id, codec_str_of (id));
    }
    bool ok;
    if (!exitflow_obj_bool (root, "ok", &ok)) {
        reply_free (self);
        return error_set (err, EXITFLOW_BAD_REPLY, "ok",
                          "the reply has no ok field");
    }
    if (!ok) {
        error_from_wire (err, exitflow_obj_get (root, "error"));
        reply_free (self);
        return NULL;
    }
    const msgpack_object *result = exitflow_obj_get (root, "result");
    self->result = result && result->type == MSGPACK_OBJECT_MAP ? result
                                                                : &empty_map;
    exitflow_obj_str (self->result, "workflow_id", self->workflow_id,
                      sizeof self->workflow_id);
    exitflow_obj_str (self->result, "state", self->state, sizeof self->state);
    self->has_next_step = exitflow_obj_str (self->result, "next_step",
                                            self->next_step,
                                            sizeof self->next_step);
    exitflow_obj_int (self->result, "version", &self->version);
    return self;
}

const msgpack_object *
exitflow_reply_result (const exitflow_reply_t *self)
{
    return self->result;
}

const char *
exitflow_reply_workflow_id (const exitflow_reply_t *self)
{
    return self->workflow_id;
}

int64_t
exitflow_reply_version (const exitflow_reply_t *self)
{
    return self->version;
}

const char *
exitflow_reply_state (const exitflow_reply_t *self)
{
    return self->state;
}

const char *
exitflow_reply_next_step (const exitflow_reply_t *self)
{
    return self->has_next_step ? self->next_step : NULL;
}

const char *
exitflow_reply_id (const exitflow_reply_t *self)
{
    return self->id;
}

const void *
exitflow_reply_body (const exitflow_reply_t *self, size_t *len)
{
    if (len)
        *len = self->len;
    return self->body;
}

void
exitflow_reply_destroy (exitflow_reply_t **self_p)
{
    if (self_p && *self_p) {
        reply_free (*self_p);
        *self_p = NULL;
    }
}

/* ---- nested maps ---- */

const msgpack_object *
exitflow_obj_get (const msgpack_object *map, const char *key)
{
    return codec_map_get (map, key);
}

bool
exitflow_obj_str (const msgpack_object *map, const char *key, char *buf,
                  size_t cap)
{
    const msgpack_object *o = codec_map_get (map, key);
    if (!o || o->type != MSGPACK_OBJECT_STR || cap == 0)
        return false;
    codec_str_copy (buf, cap, codec_str_of (o));
    return true;
}

bool
exitflow_obj_int (const msgpack_object *map, const char *key, int64_t *out)
{
    const msgpack_object *o = codec_map_get (map, key);
    if (!o)
        return false;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        *out = (int64_t) o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *out = o->via.i64;
    else
        return false;
    return true;
}

bool
exitflow_obj_bool (const msgpack_object *map, const char *key, bool *out)
{
    const msgpack_object *o = codec_map_get (map, key);
    if (!o || o->type != MSGPACK_OBJECT_BOOLEAN)
        return false;
    *out = o->via.boolean;
    return true;
}
