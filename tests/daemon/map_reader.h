/* map_reader — reading the decoded msgpack maps the daemon produces (views,
 * events, replies) in assertions: a missing key or a wrong type fails the
 * test with its name. Shared by the daemon's test files. */
#ifndef EXF_TEST_MAP_READER_H
#define EXF_TEST_MAP_READER_H

#include "tests/support/msgpack_builder.h"

HELPER const msgpack_object *
get (const msgpack_object *map, const char *key)
{
    const msgpack_object *o = codec_map_get (map, key);
    if (!o)
        fail_msg ("key '%s' missing", key);
    return o;
}

HELPER int64_t
int_of (const msgpack_object *map, const char *key)
{
    const msgpack_object *o = get (map, key);
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return (int64_t) o->via.u64;
    if (o->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
        fail_msg ("'%s' is not an integer", key);
    return o->via.i64;
}

/* The string under `key`, copied into one of a few rotating buffers. */
HELPER const char *
str_of (const msgpack_object *map, const char *key)
{
    static char bufs[4][1024];
    static int next;
    const msgpack_object *o = get (map, key);
    if (o->type != MSGPACK_OBJECT_STR)
        fail_msg ("'%s' is not a string (type %d)", key, o->type);
    char *buf = bufs[next++ % 4];
    codec_str_copy (buf, sizeof bufs[0], codec_str_of (o));
    return buf;
}

HELPER void
assert_str (const msgpack_object *map, const char *key, const char *want)
{
    assert_string_equal (str_of (map, key), want);
}

HELPER void
assert_int_key (const msgpack_object *map, const char *key, int64_t want)
{
    assert_int_equal (int_of (map, key), want);
}

HELPER void
assert_nil (const msgpack_object *map, const char *key)
{
    assert_int_equal (get (map, key)->type, MSGPACK_OBJECT_NIL);
}

HELPER void
assert_bool_key (const msgpack_object *map, const char *key, bool want)
{
    const msgpack_object *o = get (map, key);
    assert_int_equal (o->type, MSGPACK_OBJECT_BOOLEAN);
    assert_int_equal (o->via.boolean, want);
}

/* The map has exactly these keys. */
HELPER void
assert_keys_exactly (const msgpack_object *map, const char *const *keys,
                     size_t n)
{
    assert_int_equal (map->type, MSGPACK_OBJECT_MAP);
    for (size_t i = 0; i < n; i++)
        get (map, keys[i]);
    assert_int_equal (map->via.map.size, n);
}

#endif
