/* jsonpack — JSON ↔ msgpack within the protocol's limits. See jsonpack.h. */
#include "jsonpack.h"

#include "protocol/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUT_DEPTH_MAX 64

/* Depth and value count of `j`; false as soon as one passes its limit. */
static bool
within_limits (const json_t *j, int depth, size_t *values)
{
    if (++*values > EXF_MAX_OBJECTS || depth > EXF_MAX_DEPTH)
        return false;
    const char *key;
    json_t *v;
    size_t i;
    if (json_is_object (j)) {
        json_object_foreach ((json_t *) j, key, v) {
            (void) key;
            if (!within_limits (v, depth + 1, values))
                return false;
        }
    } else if (json_is_array (j)) {
        json_array_foreach ((json_t *) j, i, v)
            if (!within_limits (v, depth + 1, values))
                return false;
    }
    return true;
}

json_t *
jsonpack_parse_object (const char *text, size_t len, char *why, size_t cap)
{
    if (len > EXF_BODY_MAX) {
        snprintf (why, cap, "the body is larger than %d bytes", EXF_BODY_MAX);
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb (text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        /* jansson's text names the position, never the body's bytes */
        snprintf (why, cap, "not JSON: line %d column %d", jerr.line,
                  jerr.column);
        return NULL;
    }
    size_t values = 0;
    if (!json_is_object (j))
        snprintf (why, cap, "the body must be a JSON object");
    else if (!within_limits (j, 1, &values))
        snprintf (why, cap, "the body nests deeper than %d or holds more "
                  "than %d values", EXF_MAX_DEPTH, EXF_MAX_OBJECTS);
    else
        return j;
    json_decref (j);
    return NULL;
}

static void
pack_str (msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str (pk, n);
    msgpack_pack_str_body (pk, s, n);
}

void
jsonpack_pack (msgpack_packer *pk, const json_t *j)
{
    const char *key;
    json_t *v;
    size_t i;
    switch (json_typeof (j)) {
    case JSON_OBJECT:
        msgpack_pack_map (pk, json_object_size (j));
        json_object_foreach ((json_t *) j, key, v) {
            pack_str (pk, key, strlen (key));
            jsonpack_pack (pk, v);
        }
        break;
    case JSON_ARRAY:
        msgpack_pack_array (pk, json_array_size (j));
        json_array_foreach ((json_t *) j, i, v)
            jsonpack_pack (pk, v);
        break;
    case JSON_STRING:
        pack_str (pk, json_string_value (j), json_string_length (j));
        break;
    case JSON_INTEGER:
        msgpack_pack_int64 (pk, json_integer_value (j));
        break;
    case JSON_REAL:
        msgpack_pack_double (pk, json_real_value (j));
        break;
    case JSON_TRUE:
        msgpack_pack_true (pk);
        break;
    case JSON_FALSE:
        msgpack_pack_false (pk);
        break;
    case JSON_NULL:
        msgpack_pack_nil (pk);
        break;
    }
}

/* A JSON string of `len` bytes; bytes that start no valid UTF-8 sequence
 * become U+FFFD (the daemon sends only UTF-8, but bin values need not be). */
static json_t *
string_of (const char *ptr, size_t len)
{
    json_t *j = json_stringn (ptr, len);
    if (j)
        return j;
    char *clean = malloc (len * 3 + 1);
    if (!clean)
        abort ();
    j = json_stringn (clean, codec_utf8_repair (ptr, len, clean));
    free (clean);
    return j ? j : json_null ();
}

static json_t *
from_msgpack (const msgpack_object *o, int depth)
{
    if (depth > OUT_DEPTH_MAX)
        return json_null ();
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean (o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return o->via.u64 > (uint64_t) INT64_MAX
                   ? json_real ((double) o->via.u64)
                   : json_integer ((json_int_t) o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer ((json_int_t) o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return json_real (o->via.f64);
    case MSGPACK_OBJECT_STR:
        return string_of (o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return string_of (o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array ();
        for (uint32_t i = 0; i < o->via.array.size; i++)
            json_array_append_new (a, from_msgpack (&o->via.array.ptr[i],
                                                    depth + 1));
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object ();
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            char number[24];
            json_t *key = NULL;
            if (k->type == MSGPACK_OBJECT_STR)
                key = string_of (k->via.str.ptr, k->via.str.size);
            else if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                snprintf (number, sizeof number, "%llu",
                          (unsigned long long) k->via.u64);
            else if (k->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                snprintf (number, sizeof number, "%lld",
                          (long long) k->via.i64);
            else
                continue;
            json_object_set_new (m, !key ? number
                                    : json_is_string (key)
                                        ? json_string_value (key) : "",
                                 from_msgpack (&o->via.map.ptr[i].val,
                                               depth + 1));
            json_decref (key);
        }
        return m;
    }
    default:
        return json_null ();
    }
}

json_t *
jsonpack_from_msgpack (const msgpack_object *o)
{
    return from_msgpack (o, 0);
}
