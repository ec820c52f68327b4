/* codec — EXITFLOW/1 encoding: safe decoding of untrusted msgpack, typed
 * field readers, envelopes, times. See codec.h and PROTOCOL.md. */
#include "codec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
exf_error_clear (exf_error_t *err)
{
    memset (err, 0, sizeof *err);
    err->version = -1;
}

bool
exf_fail (exf_error_t *err, const char *code, const char *field,
          const char *fmt, ...)
{
    err->code = code;
    snprintf (err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err->message, sizeof err->message, fmt, ap);
    va_end (ap);
    return false;
}

void
exf_error_nest_field (exf_error_t *err, const char *path)
{
    char field[sizeof err->field + 64];
    snprintf (field, sizeof field, "%s.%s", path, err->field);
    codec_str_copy (err->field, sizeof err->field,
                    (exf_str_t) { field, (uint32_t) strlen (field) });
}

/* ---- the bounds pass ---- */

typedef struct {
    const uint8_t *p, *end;
    size_t objects;
    const char *why;
} scan_t;

static bool
scan_need (scan_t *s, size_t n)
{
    if ((size_t) (s->end - s->p) < n) {
        s->why = "truncated msgpack";
        return false;
    }
    return true;
}

static uint64_t
scan_be64 (const uint8_t *p, size_t bytes)
{
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; i++)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t
scan_be (const uint8_t *p, int bytes)
{
    return (uint32_t) scan_be64 (p, (size_t) bytes);
}

static bool scan_object (scan_t *s, int depth);
static bool scan_map (scan_t *s, uint32_t n, int depth);

/* Children of a container: each is at least one byte, so a declared count
 * above the bytes left is a lie told to make the decoder allocate. */
static bool
scan_children (scan_t *s, uint64_t count, int depth)
{
    if (count > (uint64_t) (s->end - s->p)) {
        s->why = "container larger than the message";
        return false;
    }
    if (depth >= EXF_MAX_DEPTH) {
        s->why = "msgpack nested too deep";
        return false;
    }
    for (uint64_t i = 0; i < count; i++)
        if (!scan_object (s, depth + 1))
            return false;
    return true;
}

/* The length of the well-formed UTF-8 sequence (RFC 3629: no overlongs, no
 * surrogates, ≤ U+10FFFF) at the start of `p`, or 0 when there is none. */
static size_t
utf8_sequence (const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t len;
    uint32_t min, cp;
    if (c < 0x80)
        return 1;
    else if ((c & 0xe0) == 0xc0)
        len = 2, min = 0x80, cp = c & 0x1f;
    else if ((c & 0xf0) == 0xe0)
        len = 3, min = 0x800, cp = c & 0x0f;
    else if ((c & 0xf8) == 0xf0)
        len = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Text reaches every client and log: a string that is not UTF-8 would
 * break the clients that decode it, so it is refused at the door. */
static bool
utf8_valid (const uint8_t *p, size_t n)
{
    for (size_t i = 0, len; i < n; i += len)
        if (!(len = utf8_sequence (p + i, n - i)))
            return false;
    return true;
}

bool
codec_utf8_valid (const char *text, size_t len)
{
    return utf8_valid ((const uint8_t *) text, len);
}

size_t
codec_utf8_repair (const char *text, size_t len, char *out)
{
    const uint8_t *p = (const uint8_t *) text;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t seq = utf8_sequence (p + i, len - i);
        if (seq) {
            memcpy (out + n, p + i, seq);
            n += seq;
            i += seq;
        } else {
            memcpy (out + n, "\xef\xbf\xbd", 3);    /* U+FFFD */
            n += 3;
            i++;
        }
    }
    return n;
}

/* One map key as a decoder sees it, whatever its encoding: a string (fixstr,
 * str8, str16 and str32 holding the same bytes are the same key), a binary,
 * an integer (by value: 1 as a fixint or as an int16 is one key), or for
 * anything else its encoded bytes. */
typedef struct {
    uint8_t kind;                   /* 's', 'b', 'i' or 'r' */
    const uint8_t *p;               /* payload ('s', 'b') or encoding ('r') */
    size_t n;
    uint8_t number[9];              /* 'i': sign byte, then big-endian */
} key_span_t;

static int
key_span_cmp (const void *a, const void *b)
{
    const key_span_t *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->kind == 'i')
        return memcmp (x->number, y->number, sizeof x->number);
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return memcmp (x->p, y->p, x->n);
}

/* The key encoded in [p, end), already checked by scan_object. */
static key_span_t
key_of (const uint8_t *p, const uint8_t *end)
{
    key_span_t k = { .kind = 'r', .p = p, .n = (size_t) (end - p) };
    uint8_t b = p[0];
    size_t header = 0;
    if (b >= 0xa0 && b <= 0xbf)
        k.kind = 's', header = 1;
    else if (b >= 0xd9 && b <= 0xdb)
        k.kind = 's', header = 1 + ((size_t) 1 << (b - 0xd9));
    else if (b >= 0xc4 && b <= 0xc6)
        k.kind = 'b', header = 1 + ((size_t) 1 << (b - 0xc4));
    if (k.kind != 'r') {
        k.p = p + header;
        k.n = (size_t) (end - p) - header;
        return k;
    }
    bool negative = false;
    uint64_t v;
    if (b <= 0x7f)
        v = b;
    else if (b >= 0xe0)
        negative = true, v = (uint64_t) (int64_t) (int8_t) b;
    else if (b >= 0xcc && b <= 0xcf)
        v = scan_be64 (p + 1, (size_t) 1 << (b - 0xcc));
    else if (b >= 0xd0 && b <= 0xd3) {
        size_t w = (size_t) 1 << (b - 0xd0);
        uint64_t raw = scan_be64 (p + 1, w);
        int shift = (int) (64 - 8 * w);
        int64_t sv = (int64_t) (raw << shift) >> shift;     /* sign-extend */
        negative = sv < 0;
        v = (uint64_t) sv;
    } else
        return k;
    k.kind = 'i';
    k.number[0] = negative ? 0 : 1;             /* negatives sort first */
    for (int i = 8; i >= 1; i--, v >>= 8)
        k.number[i] = (uint8_t) v;
    return k;
}

/* A map's entries, each key unique: with a key twice, readers disagree on
 * its value (the first wins here, the last in most other decoders), so a
 * form could pass validation with one value and be stored with another. */
static bool
scan_map (scan_t *s, uint32_t n, int depth)
{
    if ((uint64_t) 2 * n > (uint64_t) (s->end - s->p)) {
        s->why = "container larger than the message";
        return false;
    }
    if (depth >= EXF_MAX_DEPTH) {
        s->why = "msgpack nested too deep";
        return false;
    }
    key_span_t small[16], *keys = n <= 16 ? small : malloc (n * sizeof *keys);
    if (!keys) {
        s->why = "out of memory";
        return false;
    }
    bool ok = true;
    for (uint32_t i = 0; ok && i < n; i++) {
        const uint8_t *key = s->p;
        ok = scan_object (s, depth + 1);
        if (ok)
            keys[i] = key_of (key, s->p);
        ok = ok && scan_object (s, depth + 1);
    }
    if (ok && n > 1) {
        qsort (keys, n, sizeof *keys, key_span_cmp);
        for (uint32_t i = 1; ok && i < n; i++)
            if (key_span_cmp (&keys[i - 1], &keys[i]) == 0) {
                s->why = "a map has the same key twice";
                ok = false;
            }
    }
    if (keys != small)
        free (keys);
    return ok;
}

static bool
scan_skip_payload (scan_t *s, int len_bytes, bool text)
{
    if (!scan_need (s, (size_t) len_bytes))
        return false;
    uint32_t len = scan_be (s->p, len_bytes);
    s->p += len_bytes;
    if (!scan_need (s, len))
        return false;
    if (text && !utf8_valid (s->p, len)) {
        s->why = "a string is not valid UTF-8";
        return false;
    }
    s->p += len;
    return true;
}

static bool
scan_object (scan_t *s, int depth)
{
    if (++s->objects > EXF_MAX_OBJECTS) {
        s->why = "too many msgpack objects";
        return false;
    }
    if (!scan_need (s, 1))
        return false;
    uint8_t b = *s->p++;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return true;
    if (b >= 0x80 && b <= 0x8f)
        return scan_map (s, b & 0x0f, depth);
    if (b >= 0x90 && b <= 0x9f)
        return scan_children (s, b & 0x0f, depth);
    if (b >= 0xa0 && b <= 0xbf) {
        if (!scan_need (s, b & 0x1f))
            return false;
        if (!utf8_valid (s->p, b & 0x1f)) {
            s->why = "a string is not valid UTF-8";
            return false;
        }
        s->p += b & 0x1f;
        return true;
    }
    switch (b) {
    case 0xc4: return scan_skip_payload (s, 1, false);
    case 0xc5: return scan_skip_payload (s, 2, false);
    case 0xc6: return scan_skip_payload (s, 4, false);
    case 0xd9: return scan_skip_payload (s, 1, true);
    case 0xda: return scan_skip_payload (s, 2, true);
    case 0xdb: return scan_skip_payload (s, 4, true);
    case 0xca: case 0xcc: case 0xcd: case 0xce: case 0xcf:
    case 0xcb: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        static const uint8_t width[] = {
            [0xca - 0xca] = 4, [0xcb - 0xca] = 8, [0xcc - 0xca] = 1,
            [0xcd - 0xca] = 2, [0xce - 0xca] = 4, [0xcf - 0xca] = 8,
            [0xd0 - 0xca] = 1, [0xd1 - 0xca] = 2, [0xd2 - 0xca] = 4,
            [0xd3 - 0xca] = 8 };
        size_t w = width[b - 0xca];
        if (!scan_need (s, w))
            return false;
        s->p += w;
        return true;
    }
    case 0xdc: case 0xdd: {
        int lb = b == 0xdc ? 2 : 4;
        if (!scan_need (s, (size_t) lb))
            return false;
        uint32_t n = scan_be (s->p, lb);
        s->p += lb;
        return scan_children (s, n, depth);
    }
    case 0xde: case 0xdf: {
        int lb = b == 0xde ? 2 : 4;
        if (!scan_need (s, (size_t) lb))
            return false;
        uint32_t n = scan_be (s->p, lb);
        s->p += lb;
        return scan_map (s, n, depth);
    }
    default:
        /* 0xc1 (never used) and the ext family, which EXITFLOW/1 does not use */
        s->why = "msgpack type not allowed";
        return false;
    }
}

bool
codec_check (const void *buf, size_t len, const char **why)
{
    scan_t s = { .p = buf, .end = (const uint8_t *) buf + len };
    if (!scan_object (&s, 0)) {
        *why = s.why;
        return false;
    }
    if (s.p != s.end) {
        *why = "trailing bytes after the msgpack object";
        return false;
    }
    return true;
}

bool
codec_unpack (const void *buf, size_t len, msgpack_unpacked *out,
              const char **why)
{
    if (!codec_check (buf, len, why))
        return false;
    size_t off = 0;
    if (msgpack_unpack_next (out, buf, len, &off) != MSGPACK_UNPACK_SUCCESS
        || off != len) {
        *why = "malformed msgpack";
        return false;
    }
    return true;
}

/* ---- reading fields ---- */

exf_str_t
codec_str_of (const msgpack_object *o)
{
    exf_str_t s = { o->via.str.ptr, o->via.str.size };
    return s;
}

bool
codec_str_eq (exf_str_t s, const char *cstr)
{
    size_t n = strlen (cstr);
    return s.len == n && memcmp (s.ptr, cstr, n) == 0;
}

size_t
codec_utf8_length (exf_str_t s)
{
    size_t n = 0;
    for (uint32_t i = 0; i < s.len; i++)
        n += ((uint8_t) s.ptr[i] & 0xc0) != 0x80;   /* not a continuation byte */
    return n;
}

void
codec_str_copy (char *dst, size_t cap, exf_str_t s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    /* cut on a character boundary, never inside one */
    while (n < s.len && n > 0 && ((uint8_t) s.ptr[n] & 0xc0) == 0x80)
        n--;
    if (n)
        memcpy (dst, s.ptr, n);
    dst[n] = '\0';
}

const msgpack_object *
codec_map_get (const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t n = strlen (key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n
            && memcmp (k->via.str.ptr, key, n) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

/* The field, or NULL when absent or nil; fails when required and absent. */
static bool
field_lookup (const msgpack_object *map, const char *key, bool required,
              const msgpack_object **out, const char *code, exf_error_t *err)
{
    const msgpack_object *o = codec_map_get (map, key);
    if (o && o->type == MSGPACK_OBJECT_NIL)
        o = NULL;
    *out = o;
    if (!o && required)
        return exf_fail (err, code, key, "%s is required", key);
    return true;
}

static void
set_present (bool *present, bool value)
{
    if (present)
        *present = value;
}

bool
codec_read_str (const msgpack_object *map, const char *key, bool required,
                size_t max_len, exf_str_t *out, bool *present,
                const char *code, exf_error_t *err)
{
    const msgpack_object *o;
    out->ptr = "";
    out->len = 0;
    set_present (present, false);
    if (!field_lookup (map, key, required, &o, code, err))
        return false;
    if (!o)
        return true;
    if (o->type != MSGPACK_OBJECT_STR)
        return exf_fail (err, code, key, "%s must be a string", key);
    if (o->via.str.size > max_len)
        return exf_fail (err, code, key, "%s is longer than %zu bytes", key,
                         max_len);
    if (required && o->via.str.size == 0)
        return exf_fail (err, code, key, "%s must not be empty", key);
    *out = codec_str_of (o);
    set_present (present, true);
    return true;
}

bool
codec_read_id (const msgpack_object *map, const char *key, bool required,
               char out[EXF_ID_MAX + 1], const char *code, exf_error_t *err)
{
    exf_str_t s;
    bool present;
    if (!codec_read_str (map, key, required, EXF_ID_MAX, &s, &present, code,
                         err))
        return false;
    if (present && s.len == 0)
        return exf_fail (err, code, key, "%s must not be empty", key);
    if (memchr (s.ptr, '\0', s.len))
        return exf_fail (err, code, key, "%s must not contain NUL", key);
    codec_str_copy (out, EXF_ID_MAX + 1, s);
    return true;
}

bool
codec_read_int (const msgpack_object *map, const char *key, bool required,
                int64_t *out, bool *present, const char *code,
                exf_error_t *err)
{
    const msgpack_object *o;
    set_present (present, false);
    if (!field_lookup (map, key, required, &o, code, err))
        return false;
    if (!o)
        return true;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > INT64_MAX)
            return exf_fail (err, code, key, "%s is out of range", key);
        *out = (int64_t) o->via.u64;
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *out = o->via.i64;
    else
        return exf_fail (err, code, key, "%s must be an integer", key);
    set_present (present, true);
    return true;
}

bool
codec_read_bool (const msgpack_object *map, const char *key, bool required,
                 bool *out, bool *present, const char *code, exf_error_t *err)
{
    const msgpack_object *o;
    set_present (present, false);
    if (!field_lookup (map, key, required, &o, code, err))
        return false;
    if (!o)
        return true;
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return exf_fail (err, code, key, "%s must be true or false", key);
    *out = o->via.boolean;
    set_present (present, true);
    return true;
}

static bool
read_typed (const msgpack_object *map, const char *key, bool required,
            const msgpack_object **out, msgpack_object_type type,
            const char *what, const char *code, exf_error_t *err)
{
    if (!field_lookup (map, key, required, out, code, err))
        return false;
    if (*out && (*out)->type != type)
        return exf_fail (err, code, key, "%s must be %s", key, what);
    return true;
}

bool
codec_read_map (const msgpack_object *map, const char *key, bool required,
                const msgpack_object **out, const char *code, exf_error_t *err)
{
    return read_typed (map, key, required, out, MSGPACK_OBJECT_MAP, "a map",
                       code, err);
}

bool
codec_read_array (const msgpack_object *map, const char *key, bool required,
                  const msgpack_object **out, const char *code,
                  exf_error_t *err)
{
    return read_typed (map, key, required, out, MSGPACK_OBJECT_ARRAY,
                       "an array", code, err);
}

/* ---- envelopes ---- */

bool
codec_parse_request (const msgpack_object *body, codec_request_t *req,
                     exf_error_t *err)
{
    memset (req, 0, sizeof *req);
    req->id.ptr = req->cmd.ptr = req->actor.ptr = "";
    if (body->type != MSGPACK_OBJECT_MAP)
        return exf_fail (err, EXF_BAD_REQUEST, NULL,
                         "the request body must be a msgpack map");
    exf_str_t id;
    if (!codec_read_str (body, "id", true, EXF_ID_MAX, &id, NULL,
                         EXF_BAD_REQUEST, err))
        return false;
    req->id = id;
    int64_t v = 0;
    bool has_actor;
    if (!codec_read_int (body, "v", true, &v, NULL, EXF_BAD_REQUEST, err))
        return false;
    if (v != EXF_PROTOCOL_VERSION)
        return exf_fail (err, EXF_BAD_REQUEST, "v",
                         "unsupported protocol version %lld (this is 1)",
                         (long long) v);
    if (!codec_read_str (body, "cmd", true, EXF_ID_MAX, &req->cmd, NULL,
                         EXF_BAD_REQUEST, err)
        || !codec_read_map (body, "args", false, &req->args, EXF_BAD_REQUEST,
                            err)
        || !codec_read_str (body, "actor", false, EXF_ID_MAX, &req->actor,
                            &has_actor, EXF_BAD_REQUEST, err))
        return false;
    if (has_actor && (req->actor.len == 0
                      || memchr (req->actor.ptr, '\0', req->actor.len)))
        return exf_fail (err, EXF_BAD_REQUEST, "actor",
                         "actor is 1 to %d bytes without NUL", EXF_ID_MAX);
    return true;
}

void
codec_pack_request_head (msgpack_packer *pk, const char *id, const char *cmd,
                         const char *actor, bool has_args)
{
    msgpack_pack_map (pk, 3 + (actor != NULL) + has_args);
    codec_pack_cstr (pk, "v");
    msgpack_pack_int (pk, EXF_PROTOCOL_VERSION);
    codec_pack_cstr (pk, "id");
    codec_pack_cstr (pk, id);
    codec_pack_cstr (pk, "cmd");
    codec_pack_cstr (pk, cmd);
    if (actor) {
        codec_pack_cstr (pk, "actor");
        codec_pack_cstr (pk, actor);
    }
    if (has_args)
        codec_pack_cstr (pk, "args");
}

void
codec_pack_cstr (msgpack_packer *pk, const char *s)
{
    size_t n = strlen (s);
    msgpack_pack_str (pk, n);
    msgpack_pack_str_body (pk, s, n);
}

void
codec_pack_str (msgpack_packer *pk, exf_str_t s)
{
    msgpack_pack_str (pk, s.len);
    msgpack_pack_str_body (pk, s.ptr, s.len);
}

void
codec_pack_cstr_or_nil (msgpack_packer *pk, const char *s)
{
    if (s && *s)
        codec_pack_cstr (pk, s);
    else
        msgpack_pack_nil (pk);
}

void
codec_pack_raw (msgpack_packer *pk, const void *buf, size_t len)
{
    /* The packer's sink appends bytes verbatim: pre-encoded objects (stored
     * events, step data) are spliced in without a decode/encode round. */
    pk->callback (pk->data, buf, len);
}

static void
pack_id_or_nil (msgpack_packer *pk, exf_str_t id)
{
    if (id.len)
        codec_pack_str (pk, id);
    else
        msgpack_pack_nil (pk);
}

void
codec_pack_reply_ok_head (msgpack_packer *pk, exf_str_t id)
{
    msgpack_pack_map (pk, 4);
    codec_pack_cstr (pk, "v");
    msgpack_pack_int (pk, EXF_PROTOCOL_VERSION);
    codec_pack_cstr (pk, "id");
    pack_id_or_nil (pk, id);
    codec_pack_cstr (pk, "ok");
    msgpack_pack_true (pk);
    codec_pack_cstr (pk, "result");
}

void
codec_pack_reply_error (msgpack_packer *pk, exf_str_t id,
                        const exf_error_t *err)
{
    msgpack_pack_map (pk, 4);
    codec_pack_cstr (pk, "v");
    msgpack_pack_int (pk, EXF_PROTOCOL_VERSION);
    codec_pack_cstr (pk, "id");
    pack_id_or_nil (pk, id);
    codec_pack_cstr (pk, "ok");
    msgpack_pack_false (pk);
    codec_pack_cstr (pk, "error");
    int n = 2 + (err->field[0] != 0) + (err->workflow_id[0] != 0)
            + (err->version >= 0);
    msgpack_pack_map (pk, (size_t) n);
    codec_pack_cstr (pk, "code");
    codec_pack_cstr (pk, err->code ? err->code : EXF_INTERNAL);
    codec_pack_cstr (pk, "message");
    codec_pack_cstr (pk, err->message);
    if (err->field[0]) {
        codec_pack_cstr (pk, "field");
        codec_pack_cstr (pk, err->field);
    }
    if (err->workflow_id[0]) {
        codec_pack_cstr (pk, "workflow_id");
        codec_pack_cstr (pk, err->workflow_id);
    }
    if (err->version >= 0) {
        codec_pack_cstr (pk, "version");
        msgpack_pack_int64 (pk, err->version);
    }
}

/* ---- time ---- */

void
codec_format_time (int64_t ms, char out[CODEC_TIME_LEN])
{
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    char buf[64];           /* roomy: the compiler cannot bound tm's fields */
    snprintf (buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
              tm.tm_min, tm.tm_sec, (int) (ms % 1000));
    memcpy (out, buf, CODEC_TIME_LEN - 1);
    out[CODEC_TIME_LEN - 1] = '\0';
}

bool
codec_parse_time (exf_str_t s, int64_t *ms)
{
    /* 2026-11-25T14:36:12.123Z */
    if (s.len != 24 || s.ptr[10] != 'T' || s.ptr[13] != ':' || s.ptr[16] != ':'
        || s.ptr[19] != '.' || s.ptr[23] != 'Z')
        return false;
    int64_t days;
    if (!codec_parse_date ((exf_str_t) { s.ptr, 10 }, &days))
        return false;
    static const int at[] = { 11, 12, 14, 15, 17, 18, 20, 21, 22 };
    int d[9];
    for (int i = 0; i < 9; i++) {
        char c = s.ptr[at[i]];
        if (c < '0' || c > '9')
            return false;
        d[i] = c - '0';
    }
    int h = d[0] * 10 + d[1], mi = d[2] * 10 + d[3], se = d[4] * 10 + d[5];
    int milli = d[6] * 100 + d[7] * 10 + d[8];
    if (h > 23 || mi > 59 || se > 60)
        return false;
    *ms = ((days * 24 + h) * 60 + mi) * 60000LL + se * 1000LL + milli;
    return true;
}

void
codec_pack_time (msgpack_packer *pk, int64_t ms)
{
    if (ms <= 0) {
        msgpack_pack_nil (pk);
        return;
    }
    char buf[CODEC_TIME_LEN];
    codec_format_time (ms, buf);
    codec_pack_cstr (pk, buf);
}

/* Days from the civil date (proleptic Gregorian), after H. Hinnant. */
static int64_t
days_from_civil (int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool
codec_parse_date (exf_str_t s, int64_t *days)
{
    if (s.len != 10 || s.ptr[4] != '-' || s.ptr[7] != '-')
        return false;
    int digits[8], k = 0;
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7)
            continue;
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
        digits[k++] = s.ptr[i] - '0';
    }
    int y = digits[0] * 1000 + digits[1] * 100 + digits[2] * 10 + digits[3];
    int m = digits[4] * 10 + digits[5];
    int d = digits[6] * 10 + digits[7];
    static const int month_days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
                                      30, 31 };
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > month_days[m - 1])
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return false;
    *days = days_from_civil (y, m, d);
    return true;
}

void
codec_civil_of_days (int64_t days, int *year, int *month, int *day)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int) (doy - (153 * mp + 2) / 5 + 1);
    int m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *year = (int) (yoe + era * 400 + (m <= 2));
    *month = m;
    *day = d;
}

void
codec_format_date (int64_t days, char out[CODEC_DATE_LEN])
{
    int y, m, d;
    codec_civil_of_days (days, &y, &m, &d);
    snprintf (out, CODEC_DATE_LEN, "%04u-%02u-%02u", (unsigned) y % 10000u,
              (unsigned) m % 100u, (unsigned) d % 100u);
}

int64_t
codec_days_of_ms (int64_t ms)
{
    return ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
}

bool
codec_parse_int (const char *text, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll (text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

uint64_t
codec_hash (const void *buf, size_t len, uint64_t seed)
{
    uint64_t h = seed ? seed : 14695981039346656037ull;   /* FNV offset basis */
    const uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}
