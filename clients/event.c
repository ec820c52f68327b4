/* event — one exitflowd event (PROTOCOL.md §5) as an owned value.
 *
 * Owns: the event's msgpack bytes, their unpacked form and NUL-terminated
 * copies of the envelope fields, so an event outlives the socket message or
 * the events.read reply it came from. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const msgpack_object empty_map = { .type = MSGPACK_OBJECT_MAP };

static void
event_free (exitflow_event_t *self)
{
    msgpack_unpacked_destroy (&self->unpacked);
    free (self->raw);
    free (self);
}

/* Takes ownership of `raw` (malloc'd). */
static exitflow_event_t *
event_adopt (char *raw, size_t len)
{
    exitflow_event_t *self = calloc (1, sizeof *self);
    if (!self) {
        free (raw);
        return NULL;
    }
    self->raw = raw;
    self->raw_len = len;
    msgpack_unpacked_init (&self->unpacked);
    const char *why;
    int64_t seq;
    const msgpack_object *root = &self->unpacked.data;
    if (!codec_unpack (raw, len, &self->unpacked, &why)
        || root->type != MSGPACK_OBJECT_MAP
        || !exitflow_obj_int (root, "seq", &seq) || seq < 1
        || !exitflow_obj_str (root, "type", self->type, sizeof self->type)) {
        event_free (self);
        return NULL;
    }
    self->seq = (uint64_t) seq;
    exitflow_obj_str (root, "ts", self->ts, sizeof self->ts);
    exitflow_obj_str (root, "workflow_id", self->workflow_id,
                      sizeof self->workflow_id);
    self->has_client_id = exitflow_obj_str (root, "client_id", self->client_id,
                                            sizeof self->client_id);
    self->has_actor = exitflow_obj_str (root, "actor", self->actor,
                                        sizeof self->actor);
    const msgpack_object *data = exitflow_obj_get (root, "data");
    self->data = data && data->type == MSGPACK_OBJECT_MAP ? data : &empty_map;
    return self;
}

exitflow_event_t *
event_from_bytes (const void *buf, size_t len)
{
    char *raw = malloc (len ? len : 1);
    if (!raw)
        return NULL;
    memcpy (raw, buf, len);
    return event_adopt (raw, len);
}

exitflow_event_t *
event_from_object (const msgpack_object *obj)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    if (msgpack_pack_object (&pk, *obj) != 0 || sb.size == 0) {
        msgpack_sbuffer_destroy (&sb);
        return NULL;
    }
    size_t len = sb.size;
    return event_adopt (msgpack_sbuffer_release (&sb), len);
}

uint64_t
exitflow_event_seq (const exitflow_event_t *self)
{
    return self->seq;
}

const char *
exitflow_event_type (const exitflow_event_t *self)
{
    return self->type;
}

const char *
exitflow_event_ts (const exitflow_event_t *self)
{
    return self->ts;
}

const char *
exitflow_event_workflow_id (const exitflow_event_t *self)
{
    return self->workflow_id;
}

const char *
exitflow_event_client_id (const exitflow_event_t *self)
{
    return self->has_client_id ? self->client_id : NULL;
}

const char *
exitflow_event_actor (const exitflow_event_t *self)
{
    return self->has_actor ? self->actor : NULL;
}

const msgpack_object *
exitflow_event_data (const exitflow_event_t *self)
{
    return self->data;
}

const msgpack_object *
exitflow_event_object (const exitflow_event_t *self)
{
    return &self->unpacked.data;
}

const void *
exitflow_event_raw (const exitflow_event_t *self, size_t *len)
{
    if (len)
        *len = self->raw_len;
    return self->raw;
}

void
exitflow_event_destroy (exitflow_event_t **self_p)
{
    if (self_p && *self_p) {
        event_free (*self_p);
        *self_p = NULL;
    }
}
