/* Unit tests for protocol/codec.c: the bounds check on untrusted msgpack,
 * the envelope parser, the typed field readers, dates, times, error replies
 * and the request hash. See protocol/PROTOCOL.md. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../protocol/codec.h"

#include "tests/support/msgpack_builder.h"

static exf_str_t
S (const char *s)
{
    exf_str_t r = { s, (uint32_t) strlen (s) };
    return r;
}

/* codec_check on raw bytes; returns the reason or NULL when accepted. */
static const char *
check_bytes (const void *buf, size_t len)
{
    const char *why = NULL;
    if (codec_check (buf, len, &why)) {
        assert_null (why);
        return NULL;
    }
    assert_non_null (why);
    return why;
}

#define assert_refused(buf, len) assert_non_null (check_bytes ((buf), (len)))
#define assert_accepted(buf, len) assert_null (check_bytes ((buf), (len)))

/* ------------------------------------------------------------------------
 * codec_check / codec_unpack
 * ---------------------------------------------------------------------- */

static void
test_check_accepts_good_objects (void **state)
{
    (void) state;
    held_t *h = pack_held ("m{s:i, s:s, s:m{s:a[i,i,n], s:b}, s:I, s:f, s:x}", 6,
                           "v", 1, "id", "req-1", "args", 2, "list", 3, 1, -2,
                           "flag", 1, "big", -5000000000LL, "pi", 3.25,
                           "bin", "\x00\x01", (size_t) 2);
    assert_accepted (h->sb.data, h->sb.size);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    const char *why = NULL;
    assert_true (codec_unpack (h->sb.data, h->sb.size, &u, &why));
    assert_int_equal (u.data.type, MSGPACK_OBJECT_MAP);
    assert_int_equal (u.data.via.map.size, 6);
    const msgpack_object *big = codec_map_get (&u.data, "big");
    assert_non_null (big);
    assert_int_equal (big->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    assert_true (big->via.i64 == -5000000000LL);
    msgpack_unpacked_destroy (&u);

    /* every scalar form on its own */
    static const uint8_t scalars[][10] = {
        { 0x00 }, { 0x7f }, { 0xe0 }, { 0xff }, { 0xc0 }, { 0xc2 }, { 0xc3 },
        { 0xcc, 1 }, { 0xcd, 1, 2 }, { 0xce, 1, 2, 3, 4 },
        { 0xcf, 1, 2, 3, 4, 5, 6, 7, 8 }, { 0xd0, 1 }, { 0xd1, 1, 2 },
        { 0xd2, 1, 2, 3, 4 }, { 0xd3, 1, 2, 3, 4, 5, 6, 7, 8 },
        { 0xca, 1, 2, 3, 4 }, { 0xcb, 1, 2, 3, 4, 5, 6, 7, 8 },
    };
    static const size_t lens[] = { 1, 1, 1, 1, 1, 1, 1, 2, 3, 5, 9, 2, 3, 5,
                                   9, 5, 9 };
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
        assert_accepted (scalars[i], lens[i]);

    /* strings and bins of every width, empty containers of every width */
    assert_accepted ("\xa3" "abc", 4);
    assert_accepted ("\xd9\x03" "abc", 5);
    assert_accepted ("\xda\x00\x03" "abc", 6);
    assert_accepted ("\xdb\x00\x00\x00\x03" "abc", 8);
    assert_accepted ("\xc4\x02" "ab", 4);
    assert_accepted ("\xc5\x00\x02" "ab", 5);
    assert_accepted ("\xc6\x00\x00\x00\x02" "ab", 7);
    assert_accepted ("\x90", 1);
    assert_accepted ("\x80", 1);
    assert_accepted ("\xdc\x00\x00", 3);
    assert_accepted ("\xdd\x00\x00\x00\x00", 5);
    assert_accepted ("\xde\x00\x00", 3);
    assert_accepted ("\xdf\x00\x00\x00\x00", 5);
    assert_accepted ("\xdc\x00\x02\x01\x02", 5);
    assert_accepted ("\xdf\x00\x00\x00\x01\xa1k\x01", 8);
}

static void
test_check_truncated (void **state)
{
    (void) state;
    assert_refused ("", 0);
    /* a good map cut short at every length */
    held_t *h = pack_held ("m{s:i, s:s, s:a[i,s]}", 3, "v", 1, "id", "abcdef",
                           "l", 2, 300, "xyz");
    for (size_t len = 0; len < h->sb.size; len++)
        assert_refused (h->sb.data, len);
    assert_accepted (h->sb.data, h->sb.size);

    assert_refused ("\xcd\x01", 2);             /* uint16 short */
    assert_refused ("\xcb\x00\x00", 3);         /* float64 short */
    assert_refused ("\xa5" "abc", 4);           /* fixstr short */
    assert_refused ("\xd9", 1);                 /* str8 without length */
    assert_refused ("\xda\x00", 2);             /* str16 half a length */
    assert_refused ("\x92\x01", 2);             /* array missing an item */
    assert_refused ("\x81\xa1k", 3);            /* map missing a value */
    assert_refused ("\xdc\x00", 2);             /* array16 half a count */
}

static void
test_check_trailing_bytes (void **state)
{
    (void) state;
    const char *why = check_bytes ("\x01\x02", 2);
    assert_non_null (why);
    assert_non_null (strstr (why, "trailing"));
    assert_refused ("\x80\x80", 2);
    assert_refused ("\xa1x\x00", 3);
    held_t *h = pack_held ("m{s:i}", 1, "v", 1);
    char buf[64];
    memcpy (buf, h->sb.data, h->sb.size);
    buf[h->sb.size] = '\0';
    assert_refused (buf, h->sb.size + 1);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    why = NULL;
    assert_false (codec_unpack (buf, h->sb.size + 1, &u, &why));
    assert_non_null (why);
    msgpack_unpacked_destroy (&u);
}

static void
test_check_huge_declared_counts (void **state)
{
    (void) state;
    /* map32 claiming 4,294,967,295 entries, followed by one byte */
    const char *why = check_bytes ("\xdf\xff\xff\xff\x7b", 5);
    assert_non_null (why);
    assert_non_null (strstr (why, "larger"));
    /* and through codec_unpack: refused before msgpack-c allocates */
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    why = NULL;
    assert_false (codec_unpack ("\xdf\xff\xff\xff\x7b", 5, &u, &why));
    assert_non_null (why);
    msgpack_unpacked_destroy (&u);

    assert_refused ("\xdd\xff\xff\xff\xff\x01\x02", 7);   /* array32 */
    assert_refused ("\xdd\x7f\xff\xff\xff", 5);
    assert_refused ("\xdc\xff\xff\x01", 4);               /* array16 */
    assert_refused ("\xde\xff\xff\x01\x02", 5);           /* map16 */
    assert_refused ("\x9f\x01", 2);                       /* fixarray 15 */
    assert_refused ("\x8f\x01\x02", 3);                   /* fixmap 15 */
    /* str32 / bin32 with a huge length */
    assert_refused ("\xdb\xff\xff\xff\xff" "abc", 8);
    assert_refused ("\xc6\xff\xff\xff\xf0" "abc", 8);
    assert_refused ("\xda\xff\xff" "abc", 6);
    assert_refused ("\xd9\xff" "abc", 5);
    /* a huge container nested in a good one */
    assert_refused ("\x81\xa1k\xdd\xff\xff\xff\xff\x00", 9);
    /* an array32 whose count exactly fits is fine */
    assert_accepted ("\xdd\x00\x00\x00\x03\x01\x02\x03", 8);
}

static void
nest (uint8_t *buf, int depth, size_t *len)
{
    /* `depth` nested one-element arrays around a 0 */
    for (int i = 0; i < depth; i++)
        buf[i] = 0x91;
    buf[depth] = 0x00;
    *len = (size_t) depth + 1;
}

static void
test_check_depth (void **state)
{
    (void) state;
    uint8_t buf[64];
    size_t len;
    nest (buf, 32, &len);
    assert_accepted (buf, len);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    const char *why = NULL;
    assert_true (codec_unpack (buf, len, &u, &why));   /* msgpack-c agrees */
    msgpack_unpacked_destroy (&u);

    nest (buf, 33, &len);
    why = check_bytes (buf, len);
    assert_non_null (why);
    assert_non_null (strstr (why, "deep"));

    /* 33 levels of empty arrays: the innermost container is still a level */
    for (int i = 0; i < 32; i++)
        buf[i] = 0x91;
    buf[32] = 0x90;
    assert_refused (buf, 33);
    buf[31] = 0x90;
    assert_accepted (buf, 32);

    /* maps count as nesting too: 33 maps {"k": {"k": ... 0}} */
    uint8_t mbuf[200];
    size_t n = 0;
    for (int i = 0; i < 33; i++) {
        mbuf[n++] = 0x81;
        mbuf[n++] = 0xa1;
        mbuf[n++] = 'k';
    }
    mbuf[n++] = 0x00;
    assert_refused (mbuf, n);
    /* 32 maps are fine */
    assert_accepted (mbuf + 3, n - 3);
}

static void
test_check_forbidden_types (void **state)
{
    (void) state;
    const char *why = check_bytes ("\xc1", 1);
    assert_non_null (why);
    assert_non_null (strstr (why, "not allowed"));
    assert_refused ("\x91\xc1", 2);
    assert_refused ("\x81\xa1k\xc1", 4);
    /* fixext 1/2/4/8/16, ext 8/16/32 — all refused, even complete ones */
    assert_refused ("\xd4\x01\x00", 3);
    assert_refused ("\xd5\x01\x00\x00", 4);
    assert_refused ("\xd6\x01\x00\x00\x00\x00", 6);
    assert_refused ("\xd7\x01" "\x00\x00\x00\x00\x00\x00\x00\x00", 10);
    assert_refused ("\xd8\x01" "0123456789abcdef", 18);
    assert_refused ("\xc7\x01\x01\x00", 4);
    assert_refused ("\xc8\x00\x01\x01\x00", 5);
    assert_refused ("\xc9\x00\x00\x00\x01\x01\x00", 7);
    /* the timestamp extension (-1) too */
    assert_refused ("\xd6\xff\x00\x00\x00\x00", 6);
}

static void
test_check_object_count (void **state)
{
    (void) state;
    /* an array of N positive fixints: N + 1 objects */
    size_t n_ok = EXF_MAX_OBJECTS - 1;          /* 65,536 objects in all */
    size_t cap = 5 + EXF_MAX_OBJECTS + 16;
    uint8_t *buf = malloc (cap);
    assert_non_null (buf);
    buf[0] = 0xdd;
    buf[1] = (uint8_t) (n_ok >> 24);
    buf[2] = (uint8_t) (n_ok >> 16);
    buf[3] = (uint8_t) (n_ok >> 8);
    buf[4] = (uint8_t) n_ok;
    memset (buf + 5, 0x01, cap - 5);
    assert_accepted (buf, 5 + n_ok);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    const char *why = NULL;
    assert_true (codec_unpack (buf, 5 + n_ok, &u, &why));
    assert_int_equal (u.data.via.array.size, n_ok);
    msgpack_unpacked_destroy (&u);

    size_t n_bad = EXF_MAX_OBJECTS;             /* 65,537 objects */
    buf[1] = (uint8_t) (n_bad >> 24);
    buf[2] = (uint8_t) (n_bad >> 16);
    buf[3] = (uint8_t) (n_bad >> 8);
    buf[4] = (uint8_t) n_bad;
    why = check_bytes (buf, 5 + n_bad);
    assert_non_null (why);
    assert_non_null (strstr (why, "too many"));

    /* nested: 2 arrays of 40,000 items each */
    size_t len = 0;
    uint8_t *b2 = malloc (3 + 2 * (5 + 40000));
    assert_non_null (b2);
    b2[len++] = 0x92;
    for (int k = 0; k < 2; k++) {
        b2[len++] = 0xdd;
        b2[len++] = 0;
        b2[len++] = 0;
        b2[len++] = (uint8_t) (40000 >> 8);
        b2[len++] = (uint8_t) (40000 & 0xff);
        memset (b2 + len, 0x02, 40000);
        len += 40000;
    }
    assert_refused (b2, len);
    free (b2);
    free (buf);
}

static void
test_unpack_good_and_bad (void **state)
{
    (void) state;
    held_t *h = pack_held ("m{s:s, s:a[i, s, n]}", 2, "cmd", "ping", "list", 3,
                           42, "x");
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    const char *why = NULL;
    assert_true (codec_unpack (h->sb.data, h->sb.size, &u, &why));
    const msgpack_object *cmd = codec_map_get (&u.data, "cmd");
    assert_non_null (cmd);
    assert_true (codec_str_eq (codec_str_of (cmd), "ping"));
    assert_null (codec_map_get (&u.data, "nope"));
    assert_null (codec_map_get (&u.data, "cm"));
    assert_null (codec_map_get (&u.data, "cmdx"));
    assert_null (codec_map_get (codec_map_get (&u.data, "list"), "x"));
    assert_null (codec_map_get (NULL, "x"));
    msgpack_unpacked_destroy (&u);

    msgpack_unpacked_init (&u);
    why = NULL;
    assert_false (codec_unpack ("\xc1", 1, &u, &why));
    assert_non_null (why);
    msgpack_unpacked_destroy (&u);
}

/* A hostile sweep: every single byte value as a 1-byte message, and a
 * few random garbage buffers, must never crash (ASan will tell). */
static void
test_check_garbage_sweep (void **state)
{
    (void) state;
    for (int b = 0; b < 256; b++) {
        uint8_t one = (uint8_t) b;
        const char *why = NULL;
        bool ok = codec_check (&one, 1, &why);
        bool scalar = b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2
                      || b == 0xc3 || b == 0x80 || b == 0x90 || b == 0xa0;
        assert_int_equal (ok, scalar);
    }
    uint32_t x = 12345;
    uint8_t buf[256];
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t) (round % 256);
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t) (x >> 16);
        }
        msgpack_unpacked u;
        msgpack_unpacked_init (&u);
        const char *why = NULL;
        if (!codec_unpack (buf, len, &u, &why))
            assert_non_null (why);
        msgpack_unpacked_destroy (&u);
    }
}

/* ------------------------------------------------------------------------
 * codec_parse_request
 * ---------------------------------------------------------------------- */

static void
test_request_good (void **state)
{
    (void) state;
    const msgpack_object *b = build ("m{s:i, s:s, s:s, s:m{s:s}, s:s}", 5,
                                     "v", 1, "id", "r-1", "cmd", "workflow.get",
                                     "args", 1, "workflow_id", "W", "actor",
                                     "cw7");
    codec_request_t req;
    exf_error_t err;
    exf_error_clear (&err);
    assert_true (codec_parse_request (b, &req, &err));
    assert_null (err.code);
    assert_true (codec_str_eq (req.id, "r-1"));
    assert_true (codec_str_eq (req.cmd, "workflow.get"));
    assert_non_null (req.args);
    assert_int_equal (req.args->type, MSGPACK_OBJECT_MAP);
    assert_true (codec_str_eq (req.actor, "cw7"));

    /* args and actor omitted; unknown envelope keys ignored; v unsigned */
    b = build ("m{s:U, s:s, s:s, s:i}", 4, "v", 1ULL, "id", "r-2", "cmd",
               "ping", "extra", 9);
    exf_error_clear (&err);
    assert_true (codec_parse_request (b, &req, &err));
    assert_null (req.args);
    assert_int_equal (req.actor.len, 0);

    /* args nil counts as absent */
    b = build ("m{s:i, s:s, s:s, s:n, s:n}", 5, "v", 1, "id", "r-3", "cmd",
               "ping", "args", "actor");
    exf_error_clear (&err);
    assert_true (codec_parse_request (b, &req, &err));
    assert_null (req.args);
    assert_int_equal (req.actor.len, 0);

    /* id of exactly 64 bytes */
    char id64[65];
    memset (id64, 'a', 64);
    id64[64] = '\0';
    b = build ("m{s:i, s:s, s:s}", 3, "v", 1, "id", id64, "cmd", "ping");
    exf_error_clear (&err);
    assert_true (codec_parse_request (b, &req, &err));
    assert_int_equal (req.id.len, 64);
}

static void
expect_bad_request (const msgpack_object *b, const char *field,
                    const char *id_kept)
{
    codec_request_t req;
    exf_error_t err;
    exf_error_clear (&err);
    assert_false (codec_parse_request (b, &req, &err));
    assert_non_null (err.code);
    assert_string_equal (err.code, EXF_BAD_REQUEST);
    assert_string_equal (err.field, field);
    assert_true (err.message[0] != '\0');
    if (id_kept)
        assert_true (codec_str_eq (req.id, id_kept));
    else
        assert_int_equal (req.id.len, 0);
}

static void
test_request_bad (void **state)
{
    (void) state;
    char id65[66];
    memset (id65, 'z', 65);
    id65[65] = '\0';
    /* not a map */
    expect_bad_request (build ("a[i]", 1, 1), "", NULL);
    expect_bad_request (build ("s", "hello"), "", NULL);
    /* missing id / v / cmd; id reported only when read */
    expect_bad_request (build ("m{s:i, s:s}", 2, "v", 1, "cmd", "ping"), "id",
                        NULL);
    expect_bad_request (build ("m{s:s, s:s}", 2, "id", "r", "cmd", "ping"), "v",
                        "r");
    expect_bad_request (build ("m{s:i, s:s}", 2, "v", 1, "id", "r"), "cmd", "r");
    /* v = 2, v = 0, v = -1 */
    expect_bad_request (build ("m{s:i, s:s, s:s}", 3, "v", 2, "id", "r", "cmd",
                               "ping"), "v", "r");
    expect_bad_request (build ("m{s:i, s:s, s:s}", 3, "v", 0, "id", "r", "cmd",
                               "ping"), "v", "r");
    expect_bad_request (build ("m{s:i, s:s, s:s}", 3, "v", -1, "id", "r", "cmd",
                               "ping"), "v", "r");
    /* wrong types */
    expect_bad_request (build ("m{s:s, s:s, s:s}", 3, "v", "1", "id", "r",
                               "cmd", "ping"), "v", "r");
    expect_bad_request (build ("m{s:f, s:s, s:s}", 3, "v", 1.0, "id", "r",
                               "cmd", "ping"), "v", "r");
    expect_bad_request (build ("m{s:i, s:i, s:s}", 3, "v", 1, "id", 5, "cmd",
                               "ping"), "id", NULL);
    expect_bad_request (build ("m{s:i, s:x, s:s}", 3, "v", 1, "id", "r",
                               (size_t) 1, "cmd", "ping"), "id", NULL);
    expect_bad_request (build ("m{s:i, s:s, s:x}", 3, "v", 1, "id", "r", "cmd",
                               "ping", (size_t) 4), "cmd", "r");
    expect_bad_request (build ("m{s:i, s:s, s:b}", 3, "v", 1, "id", "r", "cmd",
                               1), "cmd", "r");
    /* empty id, empty cmd */
    expect_bad_request (build ("m{s:i, s:s, s:s}", 3, "v", 1, "id", "", "cmd",
                               "ping"), "id", NULL);
    expect_bad_request (build ("m{s:i, s:s, s:s}", 3, "v", 1, "id", "r", "cmd",
                               ""), "cmd", "r");
    /* id longer than 64 bytes */
    expect_bad_request (build ("m{s:i, s:s, s:s}", 3, "v", 1, "id", id65, "cmd",
                               "ping"), "id", NULL);
    /* id nil */
    expect_bad_request (build ("m{s:i, s:n, s:s}", 3, "v", 1, "id", "cmd",
                               "ping"), "id", NULL);
    /* args not a map */
    expect_bad_request (build ("m{s:i, s:s, s:s, s:a[]}", 4, "v", 1, "id", "r",
                               "cmd", "ping", "args", 0), "args", "r");
    expect_bad_request (build ("m{s:i, s:s, s:s, s:s}", 4, "v", 1, "id", "r",
                               "cmd", "ping", "args", "x"), "args", "r");
    expect_bad_request (build ("m{s:i, s:s, s:s, s:i}", 4, "v", 1, "id", "r",
                               "cmd", "ping", "args", 0), "args", "r");
    /* actor: wrong type, too long */
    expect_bad_request (build ("m{s:i, s:s, s:s, s:i}", 4, "v", 1, "id", "r",
                               "cmd", "ping", "actor", 7), "actor", "r");
    expect_bad_request (build ("m{s:i, s:s, s:s, s:s}", 4, "v", 1, "id", "r",
                               "cmd", "ping", "actor", id65), "actor", "r");
    /* huge v does not wrap to 1 */
    expect_bad_request (build ("m{s:U, s:s, s:s}", 3, "v",
                               0x8000000000000001ULL, "id", "r", "cmd", "ping"),
                        "v", "r");
}

/* PROTOCOL.md §2.2: `actor` is optional, 1..64 bytes — an empty actor is a
 * BAD_REQUEST, not "no actor". */
static void
test_request_empty_actor (void **state)
{
    (void) state;
    expect_bad_request (build ("m{s:i, s:s, s:s, s:s}", 4, "v", 1, "id", "r",
                               "cmd", "ping", "actor", ""), "actor", "r");
    char a64[65];
    memset (a64, 'a', 64);
    a64[64] = '\0';
    const msgpack_object *b = build ("m{s:i, s:s, s:s, s:s}", 4, "v", 1, "id",
                                     "r", "cmd", "ping", "actor", a64);
    codec_request_t req;
    exf_error_t err;
    exf_error_clear (&err);
    assert_true (codec_parse_request (b, &req, &err));
    assert_int_equal (req.actor.len, 64);
}

/* ------------------------------------------------------------------------
 * typed readers
 * ---------------------------------------------------------------------- */

static void
test_read_str (void **state)
{
    (void) state;
    const msgpack_object *m = build ("m{s:s, s:n, s:i, s:s, s:s}", 5,
                                     "name", "alice", "nil", "num", 3,
                                     "long", "0123456789", "empty", "");
    exf_error_t err;
    exf_str_t s;
    bool present = true;

    exf_error_clear (&err);
    assert_true (codec_read_str (m, "name", true, 64, &s, &present,
                                 EXF_BAD_REQUEST, &err));
    assert_true (present);
    assert_true (codec_str_eq (s, "alice"));

    /* missing optional: ok, not present, empty */
    present = true;
    assert_true (codec_read_str (m, "absent", false, 64, &s, &present,
                                 EXF_BAD_REQUEST, &err));
    assert_false (present);
    assert_int_equal (s.len, 0);
    assert_non_null (s.ptr);
    /* present may be NULL */
    assert_true (codec_read_str (m, "absent", false, 64, &s, NULL,
                                 EXF_BAD_REQUEST, &err));
    /* nil counts as absent */
    present = true;
    assert_true (codec_read_str (m, "nil", false, 64, &s, &present,
                                 EXF_BAD_REQUEST, &err));
    assert_false (present);
    assert_null (err.code);

    /* missing required */
    exf_error_clear (&err);
    assert_false (codec_read_str (m, "absent", true, 64, &s, NULL,
                                  EXF_VALIDATION, &err));
    assert_string_equal (err.code, EXF_VALIDATION);
    assert_string_equal (err.field, "absent");
    exf_error_clear (&err);
    assert_false (codec_read_str (m, "nil", true, 64, &s, NULL,
                                  EXF_BAD_REQUEST, &err));
    assert_string_equal (err.code, EXF_BAD_REQUEST);
    assert_string_equal (err.field, "nil");

    /* wrong type */
    exf_error_clear (&err);
    assert_false (codec_read_str (m, "num", false, 64, &s, NULL,
                                  EXF_BAD_REQUEST, &err));
    assert_string_equal (err.code, EXF_BAD_REQUEST);
    assert_string_equal (err.field, "num");

    /* max_len: 10 fits, 9 does not */
    exf_error_clear (&err);
    assert_true (codec_read_str (m, "long", true, 10, &s, NULL,
                                 EXF_BAD_REQUEST, &err));
    assert_int_equal (s.len, 10);
    assert_false (codec_read_str (m, "long", true, 9, &s, NULL,
                                  EXF_VALIDATION, &err));
    assert_string_equal (err.code, EXF_VALIDATION);
    assert_string_equal (err.field, "long");

    /* empty: refused when required, present when optional */
    exf_error_clear (&err);
    assert_false (codec_read_str (m, "empty", true, 10, &s, NULL,
                                  EXF_BAD_REQUEST, &err));
    assert_string_equal (err.field, "empty");
    exf_error_clear (&err);
    present = false;
    assert_true (codec_read_str (m, "empty", false, 10, &s, &present,
                                 EXF_BAD_REQUEST, &err));
    assert_true (present);
    assert_int_equal (s.len, 0);

    /* not a map at all: the field is missing */
    const msgpack_object *arr = build ("a[s]", 1, "name");
    exf_error_clear (&err);
    assert_false (codec_read_str (arr, "name", true, 10, &s, NULL,
                                  EXF_BAD_REQUEST, &err));
    assert_string_equal (err.field, "name");
}

static void
test_read_id (void **state)
{
    (void) state;
    char id64[65], id65[66];
    memset (id64, 'q', 64);
    id64[64] = '\0';
    memset (id65, 'q', 65);
    id65[65] = '\0';
    const msgpack_object *m = build ("m{s:s, s:s, s:S, s:i}", 4, "a", id64,
                                     "b", id65, "c", "x\0y", (size_t) 3,
                                     "d", 1);
    char out[EXF_ID_MAX + 1];
    exf_error_t err;
    exf_error_clear (&err);
    assert_true (codec_read_id (m, "a", true, out, EXF_BAD_REQUEST, &err));
    assert_string_equal (out, id64);
    assert_false (codec_read_id (m, "b", true, out, EXF_BAD_REQUEST, &err));
    assert_string_equal (err.field, "b");
    exf_error_clear (&err);
    assert_false (codec_read_id (m, "c", true, out, EXF_BAD_REQUEST, &err));
    assert_string_equal (err.field, "c");
    exf_error_clear (&err);
    assert_false (codec_read_id (m, "d", true, out, EXF_BAD_REQUEST, &err));
    assert_string_equal (err.field, "d");
    exf_error_clear (&err);
    assert_false (codec_read_id (m, "zz", true, out, EXF_BAD_REQUEST, &err));
    assert_string_equal (err.field, "zz");
    exf_error_clear (&err);
    strcpy (out, "junk");
    assert_true (codec_read_id (m, "zz", false, out, EXF_BAD_REQUEST, &err));
    assert_string_equal (out, "");
    /* ids are 1..64 bytes: empty is refused, required or not; nil is absent */
    const msgpack_object *e = build ("m{s:s, s:n}", 2, "empty", "", "nil");
    exf_error_clear (&err);
    assert_false (codec_read_id (e, "empty", false, out, EXF_BAD_REQUEST, &err));
    assert_string_equal (err.field, "empty");
    exf_error_clear (&err);
    assert_false (codec_read_id (e, "empty", true, out, EXF_VALIDATION, &err));
    assert_string_equal (err.code, EXF_VALIDATION);
    exf_error_clear (&err);
    assert_true (codec_read_id (e, "nil", false, out, EXF_BAD_REQUEST, &err));
    assert_string_equal (out, "");
}

static void
test_read_int (void **state)
{
    (void) state;
    const msgpack_object *m = build (
        "m{s:i, s:i, s:U, s:U, s:I, s:s, s:f, s:n, s:b}", 9,
        "pos", 42, "neg", -7, "max", (unsigned long long) INT64_MAX,
        "over", (unsigned long long) INT64_MAX + 1ULL, "min",
        (long long) INT64_MIN, "str", "5", "float", 5.0, "nil", "bool", 1);
    exf_error_t err;
    exf_error_clear (&err);
    int64_t v = 0;
    bool present = false;
    assert_true (codec_read_int (m, "pos", true, &v, &present, EXF_BAD_REQUEST,
                                 &err));
    assert_true (present);
    assert_int_equal (v, 42);
    assert_true (codec_read_int (m, "neg", true, &v, NULL, EXF_BAD_REQUEST,
                                 &err));
    assert_int_equal (v, -7);
    assert_true (codec_read_int (m, "max", true, &v, NULL, EXF_BAD_REQUEST,
                                 &err));
    assert_true (v == INT64_MAX);
    assert_true (codec_read_int (m, "min", true, &v, NULL, EXF_BAD_REQUEST,
                                 &err));
    assert_true (v == INT64_MIN);
    assert_null (err.code);

    /* out of range: above INT64_MAX */
    v = 99;
    assert_false (codec_read_int (m, "over", true, &v, &present,
                                  EXF_BAD_REQUEST, &err));
    assert_string_equal (err.code, EXF_BAD_REQUEST);
    assert_string_equal (err.field, "over");
    assert_false (present);

    static const char *const wrong[] = { "str", "float", "bool" };
    for (int i = 0; i < 3; i++) {
        exf_error_clear (&err);
        assert_false (codec_read_int (m, wrong[i], false, &v, NULL,
                                      EXF_VALIDATION, &err));
        assert_string_equal (err.code, EXF_VALIDATION);
        assert_string_equal (err.field, wrong[i]);
    }
    /* nil / missing */
    exf_error_clear (&err);
    v = 5;
    present = true;
    assert_true (codec_read_int (m, "nil", false, &v, &present,
                                 EXF_BAD_REQUEST, &err));
    assert_false (present);
    assert_int_equal (v, 5);                /* untouched when absent */
    assert_false (codec_read_int (m, "nil", true, &v, &present,
                                  EXF_BAD_REQUEST, &err));
    assert_string_equal (err.field, "nil");
    exf_error_clear (&err);
    assert_false (codec_read_int (m, "none", true, &v, NULL, EXF_BAD_REQUEST,
                                  &err));
    assert_string_equal (err.field, "none");
}

static void
test_read_bool_map_array (void **state)
{
    (void) state;
    const msgpack_object *m = build (
        "m{s:b, s:b, s:i, s:m{s:i}, s:a[i], s:n, s:s}", 7, "t", 1, "f", 0,
        "one", 1, "map", 1, "k", 1, "arr", 1, 2, "nil", "s", "true");
    exf_error_t err;
    exf_error_clear (&err);
    bool b = false, present = false;
    assert_true (codec_read_bool (m, "t", true, &b, &present, EXF_BAD_REQUEST,
                                  &err));
    assert_true (b);
    assert_true (present);
    assert_true (codec_read_bool (m, "f", true, &b, NULL, EXF_BAD_REQUEST,
                                  &err));
    assert_false (b);
    b = true;
    assert_true (codec_read_bool (m, "nil", false, &b, &present,
                                  EXF_BAD_REQUEST, &err));
    assert_false (present);
    assert_true (b);
    assert_null (err.code);
    assert_false (codec_read_bool (m, "one", false, &b, NULL, EXF_BAD_REQUEST,
                                   &err));
    assert_string_equal (err.field, "one");
    exf_error_clear (&err);
    assert_false (codec_read_bool (m, "s", false, &b, NULL, EXF_BAD_REQUEST,
                                   &err));
    assert_string_equal (err.field, "s");
    exf_error_clear (&err);
    assert_false (codec_read_bool (m, "none", true, &b, NULL, EXF_BAD_REQUEST,
                                   &err));
    assert_string_equal (err.field, "none");

    const msgpack_object *o = NULL;
    exf_error_clear (&err);
    assert_true (codec_read_map (m, "map", true, &o, EXF_BAD_REQUEST, &err));
    assert_non_null (o);
    assert_int_equal (o->type, MSGPACK_OBJECT_MAP);
    assert_true (codec_read_map (m, "none", false, &o, EXF_BAD_REQUEST, &err));
    assert_null (o);
    assert_true (codec_read_map (m, "nil", false, &o, EXF_BAD_REQUEST, &err));
    assert_null (o);
    assert_false (codec_read_map (m, "arr", false, &o, EXF_BAD_REQUEST, &err));
    assert_string_equal (err.field, "arr");
    exf_error_clear (&err);
    assert_false (codec_read_map (m, "nil", true, &o, EXF_BAD_REQUEST, &err));
    assert_string_equal (err.field, "nil");

    exf_error_clear (&err);
    assert_true (codec_read_array (m, "arr", true, &o, EXF_BAD_REQUEST, &err));
    assert_non_null (o);
    assert_int_equal (o->type, MSGPACK_OBJECT_ARRAY);
    assert_true (codec_read_array (m, "none", false, &o, EXF_BAD_REQUEST,
                                   &err));
    assert_null (o);
    assert_false (codec_read_array (m, "map", false, &o, EXF_BAD_REQUEST,
                                    &err));
    assert_string_equal (err.field, "map");
    exf_error_clear (&err);
    assert_false (codec_read_array (m, "none", true, &o, EXF_VALIDATION, &err));
    assert_string_equal (err.code, EXF_VALIDATION);
    assert_string_equal (err.field, "none");
}

static void
test_str_helpers (void **state)
{
    (void) state;
    assert_true (codec_str_eq (S ("abc"), "abc"));
    assert_false (codec_str_eq (S ("abc"), "abcd"));
    assert_false (codec_str_eq (S ("abcd"), "abc"));
    assert_false (codec_str_eq (S ("abd"), "abc"));
    assert_true (codec_str_eq (S (""), ""));
    char buf[4];
    codec_str_copy (buf, sizeof buf, S ("abcdef"));
    assert_string_equal (buf, "abc");
    codec_str_copy (buf, sizeof buf, S (""));
    assert_string_equal (buf, "");
    exf_str_t nul = { "a\0b", 3 };
    assert_false (codec_str_eq (nul, "a"));

    exf_error_t err;
    exf_error_clear (&err);
    assert_null (err.code);
    assert_int_equal (err.version, -1);
    assert_string_equal (err.field, "");
    assert_false (exf_fail (&err, EXF_CONFLICT, NULL, "at %d", 7));
    assert_string_equal (err.code, EXF_CONFLICT);
    assert_string_equal (err.field, "");
    assert_string_equal (err.message, "at 7");
}

/* ------------------------------------------------------------------------
 * dates and times
 * ---------------------------------------------------------------------- */

static bool
date_ok (const char *s, int64_t *days)
{
    int64_t d = -424242;
    bool ok = codec_parse_date (S (s), &d);
    if (days)
        *days = d;
    return ok;
}

static void
test_parse_date (void **state)
{
    (void) state;
    int64_t d;
    assert_true (date_ok ("1970-01-01", &d));
    assert_int_equal (d, 0);
    assert_true (date_ok ("1970-01-02", &d));
    assert_int_equal (d, 1);
    assert_true (date_ok ("1969-12-31", &d));
    assert_int_equal (d, -1);
    assert_true (date_ok ("2024-02-29", &d));
    assert_int_equal (d, 19782);
    assert_true (date_ok ("2000-02-29", &d));             /* 400-year leap */
    assert_true (date_ok ("2000-03-01", &d));
    assert_int_equal (d, 11017);
    assert_true (date_ok ("2026-11-25", &d));
    assert_int_equal (d, 20782);
    assert_true (date_ok ("1900-01-01", &d));
    assert_int_equal (d, -25567);
    assert_true (date_ok ("2023-12-31", NULL));
    assert_true (date_ok ("2023-04-30", NULL));
    assert_true (date_ok ("9999-12-31", NULL));

    /* not real dates */
    assert_false (date_ok ("2023-02-29", NULL));
    assert_false (date_ok ("1900-02-29", NULL));           /* century, not leap */
    assert_false (date_ok ("2100-02-29", NULL));
    assert_false (date_ok ("2024-02-30", NULL));
    assert_false (date_ok ("2024-04-31", NULL));
    assert_false (date_ok ("2024-13-01", NULL));
    assert_false (date_ok ("2024-00-01", NULL));
    assert_false (date_ok ("2024-01-00", NULL));
    assert_false (date_ok ("2024-01-32", NULL));
    /* bad formats */
    assert_false (date_ok ("2024-1-01", NULL));
    assert_false (date_ok ("2024-01-1", NULL));
    assert_false (date_ok ("abcd-ef-gh", NULL));
    assert_false (date_ok ("2024/01/01", NULL));
    assert_false (date_ok ("20240101", NULL));
    assert_false (date_ok ("2024-01-01T00:00:00Z", NULL));
    assert_false (date_ok ("2024-01-01 ", NULL));
    assert_false (date_ok (" 2024-01-01", NULL));
    assert_false (date_ok ("", NULL));
    assert_false (date_ok ("+024-01-01", NULL));
    assert_false (date_ok ("2024-+1-01", NULL));
    assert_false (date_ok ("2024-0a-01", NULL));
    assert_false (date_ok ("0000-01-01", NULL));
    exf_str_t withnul = { "2024-01\0001", 10 };
    assert_false (codec_parse_date (withnul, &d));
    /* only the first 10 bytes are looked at when len says 10 */
    exf_str_t prefix = { "2024-02-29junk", 10 };
    assert_true (codec_parse_date (prefix, &d));
    assert_int_equal (d, 19782);
}

static void
test_days_of_ms (void **state)
{
    (void) state;
    assert_int_equal (codec_days_of_ms (0), 0);
    assert_int_equal (codec_days_of_ms (86399999), 0);
    assert_int_equal (codec_days_of_ms (86400000), 1);
    assert_int_equal (codec_days_of_ms (-1), -1);
    assert_int_equal (codec_days_of_ms (-86400000), -1);
    assert_int_equal (codec_days_of_ms (-86400001), -2);
    assert_int_equal (codec_days_of_ms (1795608000000LL), 20782);
}

static void
test_format_time (void **state)
{
    (void) state;
    char buf[CODEC_TIME_LEN];
    codec_format_time (1795617372123LL, buf);
    assert_string_equal (buf, "2026-11-25T14:36:12.123Z");
    codec_format_time (1795608000000LL, buf);
    assert_string_equal (buf, "2026-11-25T12:00:00.000Z");
    codec_format_time (1709251199999LL, buf);
    assert_string_equal (buf, "2024-02-29T23:59:59.999Z");
    codec_format_time (1, buf);
    assert_string_equal (buf, "1970-01-01T00:00:00.001Z");
    codec_format_time (0, buf);
    assert_string_equal (buf, "1970-01-01T00:00:00.000Z");
    codec_format_time (951782400007LL, buf);                /* 2000-02-29 */
    assert_string_equal (buf, "2000-02-29T00:00:00.007Z");
    assert_int_equal (strlen (buf), CODEC_TIME_LEN - 1);
}

static void
test_pack_time (void **state)
{
    (void) state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 3);
    codec_pack_time (&pk, 1795617372123LL);
    codec_pack_time (&pk, 0);
    codec_pack_time (&pk, -5);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    const char *why = NULL;
    assert_true (codec_unpack (sb.data, sb.size, &u, &why));
    const msgpack_object *a = u.data.via.array.ptr;
    assert_int_equal (a[0].type, MSGPACK_OBJECT_STR);
    assert_true (codec_str_eq (codec_str_of (&a[0]), "2026-11-25T14:36:12.123Z"));
    assert_int_equal (a[1].type, MSGPACK_OBJECT_NIL);
    assert_int_equal (a[2].type, MSGPACK_OBJECT_NIL);
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&sb);
}

/* ------------------------------------------------------------------------
 * replies
 * ---------------------------------------------------------------------- */

static const msgpack_object *
pack_error_reply (exf_str_t id, const exf_error_t *err)
{
    held_t *h = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    codec_pack_reply_error (&pk, id, err);
    const char *why = NULL;
    if (!codec_unpack (h->sb.data, h->sb.size, &h->u, &why))
        fail_msg ("error reply does not decode: %s", why);
    return &h->u.data;
}

static void
assert_str_field (const msgpack_object *map, const char *key, const char *want)
{
    const msgpack_object *o = codec_map_get (map, key);
    assert_non_null (o);
    assert_int_equal (o->type, MSGPACK_OBJECT_STR);
    char buf[256];
    codec_str_copy (buf, sizeof buf, codec_str_of (o));
    assert_string_equal (buf, want);
}

static void
test_reply_error_minimal (void **state)
{
    (void) state;
    exf_error_t err;
    exf_error_clear (&err);
    exf_fail (&err, EXF_BAD_REQUEST, NULL, "the body is %s", "bad");
    const msgpack_object *r = pack_error_reply (S ("req-9"), &err);
    assert_int_equal (r->type, MSGPACK_OBJECT_MAP);
    assert_int_equal (r->via.map.size, 4);
    const msgpack_object *v = codec_map_get (r, "v");
    assert_non_null (v);
    assert_int_equal (v->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal (v->via.u64, 1);
    assert_str_field (r, "id", "req-9");
    const msgpack_object *ok = codec_map_get (r, "ok");
    assert_non_null (ok);
    assert_int_equal (ok->type, MSGPACK_OBJECT_BOOLEAN);
    assert_false (ok->via.boolean);
    const msgpack_object *e = codec_map_get (r, "error");
    assert_non_null (e);
    assert_int_equal (e->type, MSGPACK_OBJECT_MAP);
    assert_int_equal (e->via.map.size, 2);
    assert_str_field (e, "code", "BAD_REQUEST");
    assert_str_field (e, "message", "the body is bad");
    assert_null (codec_map_get (e, "field"));
    assert_null (codec_map_get (e, "workflow_id"));
    assert_null (codec_map_get (e, "version"));
    assert_null (codec_map_get (r, "result"));

    /* no id: nil */
    r = pack_error_reply (S (""), &err);
    const msgpack_object *id = codec_map_get (r, "id");
    assert_non_null (id);
    assert_int_equal (id->type, MSGPACK_OBJECT_NIL);

    /* no code set: INTERNAL */
    exf_error_t blank;
    exf_error_clear (&blank);
    r = pack_error_reply (S ("x"), &blank);
    assert_str_field (codec_map_get (r, "error"), "code", "INTERNAL");
}

static void
test_reply_error_full (void **state)
{
    (void) state;
    exf_error_t err;
    exf_error_clear (&err);
    exf_fail (&err, EXF_CONFLICT, "expected_version", "stale");
    err.version = 7;
    const msgpack_object *r = pack_error_reply (S ("r"), &err);
    const msgpack_object *e = codec_map_get (r, "error");
    assert_int_equal (e->via.map.size, 4);
    assert_str_field (e, "code", "CONFLICT");
    assert_str_field (e, "field", "expected_version");
    const msgpack_object *v = codec_map_get (e, "version");
    assert_non_null (v);
    assert_int_equal (v->via.u64, 7);
    assert_null (codec_map_get (e, "workflow_id"));

    /* version 0 is a version (>= 0) */
    err.version = 0;
    e = codec_map_get (pack_error_reply (S ("r"), &err), "error");
    assert_non_null (codec_map_get (e, "version"));

    exf_error_clear (&err);
    exf_fail (&err, EXF_CONFLICT, "household_id", "open");
    snprintf (err.workflow_id, sizeof err.workflow_id, "%s",
              "01JDKZ0000000000000000000A");
    e = codec_map_get (pack_error_reply (S ("r"), &err), "error");
    assert_int_equal (e->via.map.size, 4);
    assert_str_field (e, "field", "household_id");
    assert_str_field (e, "workflow_id", "01JDKZ0000000000000000000A");
    assert_null (codec_map_get (e, "version"));

    exf_error_clear (&err);
    exf_fail (&err, EXF_VALIDATION, "members.2.entry_date", "in the future");
    err.version = 3;
    snprintf (err.workflow_id, sizeof err.workflow_id, "%s", "W");
    e = codec_map_get (pack_error_reply (S ("r"), &err), "error");
    assert_int_equal (e->via.map.size, 5);
    assert_str_field (e, "field", "members.2.entry_date");
}

static void
test_reply_ok_head (void **state)
{
    (void) state;
    held_t *h = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    codec_pack_reply_ok_head (&pk, S ("abc"));
    msgpack_pack_map (&pk, 1);
    codec_pack_cstr (&pk, "pong");
    msgpack_pack_true (&pk);
    const char *why = NULL;
    assert_true (codec_unpack (h->sb.data, h->sb.size, &h->u, &why));
    const msgpack_object *r = &h->u.data;
    assert_int_equal (r->via.map.size, 4);
    assert_str_field (r, "id", "abc");
    assert_true (codec_map_get (r, "ok")->via.boolean);
    const msgpack_object *res = codec_map_get (r, "result");
    assert_non_null (res);
    assert_true (codec_map_get (res, "pong")->via.boolean);
}

static void
test_pack_helpers (void **state)
{
    (void) state;
    held_t *inner = pack_held ("m{s:i}", 1, "k", 5);
    held_t *h = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 5);
    codec_pack_cstr (&pk, "one");
    codec_pack_str (&pk, S ("two"));
    codec_pack_cstr_or_nil (&pk, "");
    codec_pack_cstr_or_nil (&pk, NULL);
    codec_pack_raw (&pk, inner->sb.data, inner->sb.size);
    const char *why = NULL;
    assert_true (codec_unpack (h->sb.data, h->sb.size, &h->u, &why));
    const msgpack_object *a = h->u.data.via.array.ptr;
    assert_true (codec_str_eq (codec_str_of (&a[0]), "one"));
    assert_true (codec_str_eq (codec_str_of (&a[1]), "two"));
    assert_int_equal (a[2].type, MSGPACK_OBJECT_NIL);
    assert_int_equal (a[3].type, MSGPACK_OBJECT_NIL);
    assert_int_equal (a[4].type, MSGPACK_OBJECT_MAP);
    assert_int_equal (codec_map_get (&a[4], "k")->via.u64, 5);
}

/* ------------------------------------------------------------------------
 * hash
 * ---------------------------------------------------------------------- */

static void
test_hash (void **state)
{
    (void) state;
    uint64_t a = codec_hash ("hello", 5, 0);
    assert_true (a == codec_hash ("hello", 5, 0));          /* deterministic */
    assert_true (a != codec_hash ("hellp", 5, 0));
    assert_true (a != codec_hash ("hell", 4, 0));
    assert_true (a != codec_hash ("hello", 5, 12345));
    assert_true (codec_hash ("ab", 2, 0) != codec_hash ("ba", 2, 0));
    assert_true (codec_hash ("", 0, 0) != 0);
    /* chaining: hashing in two parts equals hashing at once */
    assert_true (codec_hash ("llo", 3, codec_hash ("he", 2, 0)) == a);
    /* two request bodies differing in one arg */
    held_t *x = pack_held ("m{s:s, s:m{s:i}}", 2, "cmd", "member.decide",
                           "args", 1, "exit", 1);
    held_t *y = pack_held ("m{s:s, s:m{s:i}}", 2, "cmd", "member.decide",
                           "args", 1, "exit", 0);
    assert_true (codec_hash (x->sb.data, x->sb.size, 0)
                 != codec_hash (y->sb.data, y->sb.size, 0));
}

/* codec_hash is FNV-1a 64: it matches the published reference values. */
static void
test_hash_is_fnv1a (void **state)
{
    (void) state;
    /* FNV-1a 64 reference values */
    assert_true (codec_hash ("", 0, 0) == 0xcbf29ce484222325ull);
    assert_true (codec_hash ("a", 1, 0) == 0xaf63dc4c8601ec8cull);
    assert_true (codec_hash ("foobar", 6, 0) == 0x85944171f73967e8ull);
}

/* Strings must be UTF-8: overlongs, surrogates, stray continuation bytes
 * and truncated sequences are refused; bin is bytes and is not checked. */
static void
test_check_utf8 (void **state)
{
    (void) state;
    static const struct { const char *bytes; size_t len; bool ok; } cases[] = {
        { "\xa2\xc3\xa9", 3, true },               /* é */
        { "\xa4\xf0\x9f\x98\x80", 5, true },       /* U+1F600 */
        { "\xa1\xff", 2, false },
        { "\xa1\x80", 2, false },                   /* lone continuation */
        { "\xa2\xc0\xaf", 3, false },               /* overlong '/' */
        { "\xa3\xed\xa0\x80", 4, false },           /* surrogate D800 */
        { "\xa4\xf4\x90\x80\x80", 5, false },       /* > U+10FFFF */
        { "\xa2\xe2\x82", 3, false },               /* truncated € */
        { "\xd9\x01\xff", 3, false },               /* str8 */
        { "\xc4\x01\xff", 3, true },                /* bin8: bytes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *why = NULL;
        bool ok = codec_check (cases[i].bytes, cases[i].len, &why);
        if (ok != cases[i].ok)
            fail_msg ("case %zu: expected %s (%s)", i,
                      cases[i].ok ? "accepted" : "refused", why ? why : "");
    }
}

/* A key twice in one map is refused, in any map at any depth. */
static void
test_check_duplicate_keys (void **state)
{
    (void) state;
    const char *why = NULL;
    assert_false (codec_check ("\x82\xa1x\x01\xa1x\x02", 7, &why));
    assert_string_equal (why, "a map has the same key twice");
    assert_false (codec_check ("\x91\x82\x01\xc0\x01\xc3", 6, &why));
    assert_true (codec_check ("\x82\xa1x\x01\xa1y\x02", 7, &why));
    /* the same key in two different maps is fine */
    assert_true (codec_check ("\x92\x81\xa1x\x01\x81\xa1x\x02", 9, &why));
    /* a large map (sorted check) with one repeat at the end */
    held_t *h = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 100);
    for (int i = 0; i < 100; i++) {
        msgpack_pack_int (&pk, i == 99 ? 7 : i);
        msgpack_pack_nil (&pk);
    }
    assert_false (codec_check (h->sb.data, h->sb.size, &why));
}

/* "destination" in each of msgpack's four string encodings. */
static size_t
encode_key (int form, uint8_t *out)
{
    static const char k[] = "destination";
    size_t n = sizeof k - 1, h = 0;
    switch (form) {
    case 0: out[h++] = (uint8_t) (0xa0 | n); break;
    case 1: out[h++] = 0xd9; out[h++] = (uint8_t) n; break;
    case 2: out[h++] = 0xda; out[h++] = 0; out[h++] = (uint8_t) n; break;
    default:
        out[h++] = 0xdb; out[h++] = 0; out[h++] = 0; out[h++] = 0;
        out[h++] = (uint8_t) n;
    }
    memcpy (out + h, k, n);
    return h + n;
}

/* A key is the same key whatever its encoding: fixstr 410 and str8 99999
 * would otherwise pass as two keys, be validated against one and read as
 * the other. Every pair of string encodings, integers by value. */
static void
test_duplicate_keys_in_any_encoding (void **state)
{
    (void) state;
    const char *why = NULL;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) {
            uint8_t buf[64];
            size_t n = 0;
            buf[n++] = 0x82;
            n += encode_key (a, buf + n);
            buf[n++] = 0xcd; buf[n++] = 0x01; buf[n++] = 0x9a;   /* 410 */
            n += encode_key (b, buf + n);
            buf[n++] = 0xce; buf[n++] = 0; buf[n++] = 0x01;      /* 99999 */
            buf[n++] = 0x86; buf[n++] = 0x9f;
            why = NULL;
            if (codec_check (buf, n, &why))
                fail_msg ("string forms %d and %d passed as two keys", a, b);
            assert_string_equal (why, "a map has the same key twice");
        }
    /* 1 as a fixint, a uint8, an int16; -1 as a fixint and an int32 */
    assert_false (codec_check ("\x82\x01\xc0\xcc\x01\xc0", 6, &why));
    assert_false (codec_check ("\x82\xd1\x00\x01\xc0\x01\xc0", 7, &why));
    assert_false (codec_check ("\x82\xff\xc0\xd2\xff\xff\xff\xff\xc0", 9,
                               &why));
    /* different things stay different: 1 and -1, "1" and 1, bin and str */
    assert_true (codec_check ("\x82\x01\xc0\xff\xc0", 5, &why));
    assert_true (codec_check ("\x82\xa1\x31\xc0\x31\xc0", 6, &why));
    assert_true (codec_check ("\x82\xc4\x01x\xc0\xa1x\xc0", 8, &why));
    assert_true (codec_check ("\x82\xcf\xff\xff\xff\xff\xff\xff\xff\xff"
                              "\xc0\xff\xc0", 13, &why));
}

/* Copies are cut on a character boundary, never inside a character. */
static void
test_str_copy_keeps_characters_whole (void **state)
{
    (void) state;
    char out[4];
    codec_str_copy (out, sizeof out, S ("a\xc3\xa9\xc3\xa9"));
    assert_string_equal (out, "a\xc3\xa9");
    codec_str_copy (out, sizeof out, S ("ab\xe2\x82\xac"));
    assert_string_equal (out, "ab");
}

static int
teardown_held (void **state)
{
    (void) state;
    release_held ();
    return 0;
}

/* A request packed by codec_pack_request_head reads back through the same
 * envelope parser the daemon uses. */
static void
test_pack_request_head_round_trip (void **state)
{
    (void) state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    codec_pack_request_head (&pk, "r1", EXF_CMD_NAME (WORKFLOW_GET), "cw-7",
                             true);
    msgpack_pack_map (&pk, 1);
    codec_pack_cstr (&pk, "workflow_id");
    codec_pack_cstr (&pk, "W");
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    const char *why = NULL;
    assert_true (codec_unpack (sb.data, sb.size, &u, &why));
    codec_request_t req;
    exf_error_t err;
    exf_error_clear (&err);
    assert_true (codec_parse_request (&u.data, &req, &err));
    assert_true (codec_str_eq (req.id, "r1"));
    assert_true (codec_str_eq (req.cmd, "workflow.get"));
    assert_true (codec_str_eq (req.actor, "cw-7"));
    assert_non_null (codec_map_get (req.args, "workflow_id"));
    msgpack_unpacked_destroy (&u);

    msgpack_sbuffer_clear (&sb);
    codec_pack_request_head (&pk, "r2", EXF_CMD_NAME (PING), NULL, false);
    msgpack_unpacked_init (&u);
    assert_true (codec_unpack (sb.data, sb.size, &u, &why));
    assert_true (codec_parse_request (&u.data, &req, &err));
    assert_null (req.args);
    assert_int_equal (req.actor.len, 0);
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&sb);
}

static void
test_utf8_repair (void **state)
{
    (void) state;
    char out[64];
    /* valid text is copied as it is */
    size_t n = codec_utf8_repair ("caf\xc3\xa9", 5, out);
    assert_int_equal (n, 5);
    assert_memory_equal (out, "caf\xc3\xa9", 5);
    /* a stray continuation byte, a truncated sequence, an overlong and a
     * surrogate each become U+FFFD per byte that starts nothing valid */
    n = codec_utf8_repair ("a\x80" "b", 3, out);
    assert_int_equal (n, 5);
    assert_memory_equal (out, "a\xef\xbf\xbd" "b", 5);
    n = codec_utf8_repair ("\xe2\x82", 2, out);
    assert_int_equal (n, 6);
    assert_memory_equal (out, "\xef\xbf\xbd\xef\xbf\xbd", 6);
    n = codec_utf8_repair ("\xc0\xaf", 2, out);
    assert_int_equal (n, 6);
    n = codec_utf8_repair ("\xed\xa0\x80", 3, out);
    assert_int_equal (n, 9);
    exf_str_t repaired = { out, (uint32_t) n };
    assert_int_equal (codec_utf8_length (repaired), 3);
}

static void
test_parse_int (void **state)
{
    (void) state;
    int64_t v = 0;
    assert_true (codec_parse_int ("42", 0, 100, &v));
    assert_int_equal (v, 42);
    assert_true (codec_parse_int ("-5", -10, 10, &v));
    assert_int_equal (v, -5);
    assert_false (codec_parse_int ("", 0, 100, &v));
    assert_false (codec_parse_int ("12x", 0, 100, &v));
    assert_false (codec_parse_int ("101", 0, 100, &v));
    assert_false (codec_parse_int ("-1", 0, 100, &v));
    assert_false (codec_parse_int ("99999999999999999999", 0, INT64_MAX, &v));
    assert_int_equal (v, -5);          /* untouched on failure */
}

#define T(f) cmocka_unit_test_teardown (f, teardown_held)

int
main (void)
{
    const struct CMUnitTest tests[] = {
        T (test_check_accepts_good_objects),
        T (test_check_truncated),
        T (test_check_trailing_bytes),
        T (test_check_huge_declared_counts),
        T (test_check_depth),
        T (test_check_forbidden_types),
        T (test_check_object_count),
        T (test_unpack_good_and_bad),
        T (test_check_garbage_sweep),
        T (test_request_good),
        T (test_request_bad),
        T (test_request_empty_actor),
        T (test_read_str),
        T (test_read_id),
        T (test_read_int),
        T (test_read_bool_map_array),
        T (test_str_helpers),
        T (test_parse_date),
        T (test_days_of_ms),
        T (test_format_time),
        T (test_pack_time),
        T (test_reply_error_minimal),
        T (test_reply_error_full),
        T (test_reply_ok_head),
        T (test_pack_helpers),
        T (test_hash),
        T (test_hash_is_fnv1a),
        T (test_check_utf8),
        T (test_check_duplicate_keys),
        T (test_duplicate_keys_in_any_encoding),
        T (test_str_copy_keeps_characters_whole),
        T (test_pack_request_head_round_trip),
        T (test_utf8_repair),
        T (test_parse_int),
    };
    return cmocka_run_group_tests_name ("codec", tests, NULL, NULL);
}
