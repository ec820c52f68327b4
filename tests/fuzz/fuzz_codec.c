/* fuzz_codec — libFuzzer target for the request decoder (protocol/codec.c)
 * and the typed assessment check (protocol/hud_fields.c): arbitrary bytes
 * as a request body, as the daemon's server.c reads one.
 *
 * Beyond "no crash, no sanitizer report", it holds the decoder to what
 * codec.h promises:
 *   - codec_check and codec_unpack agree: bytes the bounds pass accepts,
 *     msgpack-c decodes whole (a disagreement means the pass let through
 *     something msgpack-c reads differently);
 *   - an accepted body with string keys only, packed again, is accepted
 *     again (nothing the pass refuses can come out of a re-encoding);
 *   - every string of an accepted body is valid UTF-8, and the helpers
 *     that cut, measure and repair text keep it so;
 *   - a parsed envelope keeps its limits (id, cmd and actor of 1..64
 *     bytes, args a map);
 *   - every error the typed readers and hud_fields_check produce, packed
 *     as the daemon packs a reply, is itself a body codec_check accepts
 *     (a reply a client cannot decode is a bug). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/codec.h"
#include "protocol/hud.h"
#include "protocol/hud_fields.h"

/* A failed property: say which, then abort (libFuzzer keeps the input). */
#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf (stderr, "fuzz_codec: property failed: %s: ", #cond);   \
            fprintf (stderr, __VA_ARGS__);                                   \
            fputc ('\n', stderr);                                            \
            abort ();                                                        \
        }                                                                    \
    } while (0)

/* Every argument key a command reads (PROTOCOL.md §3, §4), and the keys of
 * members and findings: each is tried with every typed reader. */
static const char *const arg_keys[] = {
    "workflow_id", "client_id", "step", "mode", "data", "expected_version",
    "exit", "new_head_of_household", "reason", "state", "project_id",
    "idle_for_s", "limit", "after", "consumer", "seq", "source", "findings",
    "enrollment_id", "household_id", "project_type", "move_in_date",
    "members", "relationship", "entry_date", "birth_date", "adult", "last",
    "rule", "severity", "message", "v", "id", "cmd", "actor", "args",
};
#define N_ARG_KEYS (sizeof arg_keys / sizeof *arg_keys)

/* A reply to `id` carrying `err`, packed as the daemon packs it, must be a
 * body the daemon itself would accept. */
static void
check_error_reply (exf_str_t id, const exf_error_t *err)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    codec_pack_reply_error (&pk, id, err);
    const char *why = "";
    CHECK (codec_check (sb.data, sb.size, &why),
           "the error reply (%s, field '%s') does not decode: %s",
           err->code ? err->code : "(none)", err->field, why);
    msgpack_sbuffer_destroy (&sb);
}

static void
check_refusal (bool accepted, exf_error_t *err, exf_str_t id)
{
    if (accepted)
        return;
    CHECK (err->code != NULL, "a reader refused without an error code");
    check_error_reply (id, err);
}

/* Text helpers on one string of an accepted body (so valid UTF-8). */
static void
check_text (exf_str_t s)
{
    CHECK (codec_utf8_valid (s.ptr, s.len), "an accepted string is not UTF-8");
    size_t chars = codec_utf8_length (s);
    CHECK (chars <= s.len, "more characters than bytes");
    /* cutting keeps whole characters: a prefix, still UTF-8 */
    static const size_t caps[] = { 1, 2, 5, 11, 33, EXF_ID_MAX + 1, 192 };
    for (size_t i = 0; i < sizeof caps / sizeof *caps; i++) {
        char out[192];
        codec_str_copy (out, caps[i], s);
        size_t n = strlen (out);
        CHECK (n < caps[i], "codec_str_copy overflowed its cap");
        CHECK (codec_utf8_valid (out, n), "codec_str_copy cut a character");
        CHECK (n == 0 || memcmp (out, s.ptr, n) == 0,
               "codec_str_copy is no prefix");
    }
    /* repairing valid text changes nothing */
    char *fixed = malloc (3 * (size_t) s.len + 1);
    size_t n = codec_utf8_repair (s.ptr, s.len, fixed);
    CHECK (n == s.len && (n == 0 || memcmp (fixed, s.ptr, n) == 0),
           "repair changed valid text");
    free (fixed);
    /* a date that parses prints back as itself */
    int64_t days;
    if (codec_parse_date (s, &days)) {
        char back[CODEC_DATE_LEN];
        codec_format_date (days, back);
        CHECK (s.len == 10 && memcmp (back, s.ptr, 10) == 0,
               "date %.10s came back as %s", s.ptr, back);
    }
    int64_t ms;
    if (codec_parse_time (s, &ms)) {
        char back[CODEC_TIME_LEN];
        codec_format_time (ms, back);
        CHECK (strlen (back) == CODEC_TIME_LEN - 1, "a time of odd length");
    }
    char text[80];
    if (s.len > 0 && s.len < sizeof text) {
        memcpy (text, s.ptr, s.len);
        text[s.len] = '\0';
        int64_t v;
        (void) codec_parse_int (text, INT64_MIN, INT64_MAX, &v);
    }
    (void) hud_step_by_name (s.ptr, s.len);
    for (int step = 0; step < STEP_COUNT; step++)
        (void) hud_field_find (step, s.ptr, s.len);
}

/* Every typed reader on every known key of `map`. */
static void
read_all_keys (const msgpack_object *map, exf_str_t id)
{
    for (size_t i = 0; i < N_ARG_KEYS; i++) {
        const char *key = arg_keys[i];
        for (int required = 0; required < 2; required++) {
            exf_error_t err;
            exf_str_t s;
            bool present;
            char idbuf[EXF_ID_MAX + 1];
            int64_t n;
            bool b;
            const msgpack_object *o;

            exf_error_clear (&err);
            bool ok = codec_read_str (map, key, required, EXF_ID_MAX, &s,
                                      &present, EXF_BAD_REQUEST, &err);
            check_refusal (ok, &err, id);
            if (ok && present)
                CHECK (s.len <= EXF_ID_MAX && (!required || s.len > 0),
                       "codec_read_str broke its limits on %s", key);

            exf_error_clear (&err);
            ok = codec_read_id (map, key, required, idbuf, EXF_BAD_REQUEST,
                                &err);
            check_refusal (ok, &err, id);
            if (ok)
                CHECK (codec_utf8_valid (idbuf, strlen (idbuf)),
                       "an id of %s is not UTF-8", key);

            exf_error_clear (&err);
            check_refusal (codec_read_int (map, key, required, &n, &present,
                                           EXF_VALIDATION, &err), &err, id);
            exf_error_clear (&err);
            check_refusal (codec_read_bool (map, key, required, &b, &present,
                                            EXF_BAD_REQUEST, &err), &err, id);
            exf_error_clear (&err);
            ok = codec_read_map (map, key, required, &o, EXF_BAD_REQUEST,
                                 &err);
            check_refusal (ok, &err, id);
            if (ok && o)
                CHECK (o->type == MSGPACK_OBJECT_MAP, "read_map gave no map");
            exf_error_clear (&err);
            ok = codec_read_array (map, key, required, &o, EXF_BAD_REQUEST,
                                   &err);
            check_refusal (ok, &err, id);
            if (ok && o)
                CHECK (o->type == MSGPACK_OBJECT_ARRAY,
                       "read_array gave no array");
        }
    }
}

/* hud_fields_check of every step on a map, with the error nested under a
 * path as workflow.start nests it, and packed. */
static void
check_step_data (const msgpack_object *data, exf_str_t id)
{
    for (int step = 0; step < STEP_COUNT; step++) {
        exf_error_t err;
        exf_error_clear (&err);
        if (hud_fields_check (step, data, &err))
            continue;
        CHECK (err.code && strcmp (err.code, EXF_VALIDATION) == 0,
               "hud_fields_check refused with %s",
               err.code ? err.code : "(none)");
        check_error_reply (id, &err);
        exf_error_nest_field (&err, "members.31.last.income_benefits");
        check_error_reply (id, &err);
    }
}

/* Walks the whole object: text helpers on every string, the readers and
 * the step check on every map (a member, a finding, step data, prior
 * values — wherever the fuzzer put them). */
static int maps_left;                   /* per input: keeps big ones fast */

static void
walk (const msgpack_object *o, exf_str_t id, int depth)
{
    CHECK (depth <= EXF_MAX_DEPTH, "an accepted body nests %d deep", depth);
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        check_text (codec_str_of (o));
        break;
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; i < o->via.array.size; i++)
            walk (&o->via.array.ptr[i], id, depth + 1);
        break;
    case MSGPACK_OBJECT_MAP:
        if (maps_left > 0) {
            maps_left--;
            read_all_keys (o, id);
            check_step_data (o, id);
        }
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            walk (&o->via.map.ptr[i].key, id, depth + 1);
            walk (&o->via.map.ptr[i].val, id, depth + 1);
        }
        break;
    default:
        break;
    }
}

static bool
string_keys_only (const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if (!string_keys_only (&o->via.array.ptr[i]))
                return false;
    } else if (o->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < o->via.map.size; i++)
            if (o->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR
                || !string_keys_only (&o->via.map.ptr[i].val))
                return false;
    }
    return true;
}

/* Packed again (as the daemon packs step data it stores), an accepted body
 * with string keys is accepted again and decodes to the same shape. */
static void
check_repack (const msgpack_object *o)
{
    if (!string_keys_only (o))
        return;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_object (&pk, *o);
    const char *why = "";
    msgpack_unpacked again;
    msgpack_unpacked_init (&again);
    CHECK (codec_unpack (sb.data, sb.size, &again, &why),
           "an accepted body packed again is refused: %s", why);
    CHECK (again.data.type == o->type, "repacking changed the type");
    msgpack_unpacked_destroy (&again);
    msgpack_sbuffer_destroy (&sb);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    /* the repair of arbitrary bytes is valid UTF-8 */
    char *fixed = malloc (3 * size + 1);
    size_t n = codec_utf8_repair ((const char *) data, size, fixed);
    CHECK (codec_utf8_valid (fixed, n), "repaired text is not UTF-8");
    free (fixed);

    if (size > EXF_BODY_MAX)            /* the server refuses it unread */
        return 0;
    const char *why_check = "", *why_unpack = "";
    bool checked = codec_check (data, size, &why_check);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    bool unpacked = codec_unpack (data, size, &u, &why_unpack);
    CHECK (checked == unpacked, "codec_check says %d (%s), codec_unpack %d (%s)",
           checked, why_check, unpacked, why_unpack);
    if (!checked) {
        CHECK (why_check && why_check[0], "a refusal without a reason");
        msgpack_unpacked_destroy (&u);
        return 0;
    }
    const msgpack_object *body = &u.data;
    check_repack (body);

    codec_request_t req;
    exf_error_t err;
    exf_error_clear (&err);
    bool parsed = codec_parse_request (body, &req, &err);
    if (!parsed) {
        CHECK (err.code && strcmp (err.code, EXF_BAD_REQUEST) == 0,
               "an envelope refused with %s", err.code ? err.code : "(none)");
        check_error_reply (req.id, &err);
    } else {
        CHECK (req.id.len >= 1 && req.id.len <= EXF_ID_MAX, "id of %u bytes",
               (unsigned) req.id.len);
        CHECK (req.cmd.len >= 1 && req.cmd.len <= EXF_ID_MAX,
               "cmd of %u bytes", (unsigned) req.cmd.len);
        CHECK (req.actor.len <= EXF_ID_MAX
               && !memchr (req.actor.ptr, '\0', req.actor.len),
               "actor of %u bytes", (unsigned) req.actor.len);
        CHECK (!req.args || req.args->type == MSGPACK_OBJECT_MAP,
               "args that are no map");
        (void) exf_command_by_name (req.cmd.ptr, req.cmd.len);
        /* the ok reply's head around an empty result decodes */
        msgpack_sbuffer sb;
        msgpack_sbuffer_init (&sb);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
        codec_pack_reply_ok_head (&pk, req.id);
        msgpack_pack_map (&pk, 0);
        const char *why = "";
        CHECK (codec_check (sb.data, sb.size, &why), "ok reply: %s", why);
        msgpack_sbuffer_destroy (&sb);
    }
    maps_left = 64;
    walk (body, parsed ? req.id : (exf_str_t) { "", 0 }, 0);
    msgpack_unpacked_destroy (&u);
    return 0;
}
