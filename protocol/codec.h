/* codec — the one C implementation of the EXITFLOW/1 encoding (PROTOCOL.md).
 *
 * Owns: the bounds check that makes msgpack-c safe on untrusted bytes, typed
 * field readers that turn a bad field into an error value, the request and
 * reply envelopes, RFC 3339 times and calendar dates. Used by the daemon, the
 * workers and the C client alike. No I/O. */
#ifndef EXF_CODEC_H
#define EXF_CODEC_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"

#define EXF_PROTOCOL_VERSION 1
#define EXF_ID_MAX 64                  /* ids, names, codes on the wire */
#define EXF_BODY_MAX (1024 * 1024)     /* largest request body answered */
#define EXF_MAX_DEPTH 32
#define EXF_MAX_OBJECTS 65536
/* A page of a list (events.read, workflow.history) stops growing past this
 * many bytes of items; it always holds at least one. */
#define EXF_PAGE_BYTES (256 * 1024)

/* A string inside a msgpack buffer: not NUL-terminated, borrowed. */
typedef struct {
    const char *ptr;
    uint32_t len;
} exf_str_t;

/* An error is a value: the wire's error map falls straight out of it. */
typedef struct {
    const char *code;               /* NULL when there is no error */
    char message[192];
    char field[192];                /* a path: members.N.last.STEP.FIELD */
    char workflow_id[32];           /* CONFLICT on start: the open one */
    int64_t version;                /* CONFLICT on version: current; else -1 */
} exf_error_t;


void exf_error_clear (exf_error_t *err);
/* Sets code, field (may be NULL) and a printf-style message; returns false so
 * that callers can `return exf_fail (...)`. */
bool exf_fail (exf_error_t *err, const char *code, const char *field,
               const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

/* Puts `path` in front of the field at fault: "severity" becomes
 * "findings.3.severity". */
void exf_error_nest_field (exf_error_t *err, const char *path);

/* ---- untrusted input ---- */

/* Walks the bytes once without allocating: every declared container count
 * must fit in the bytes left, depth and object count are capped, 0xc1 is
 * refused, and the buffer must hold exactly one object. Only then may
 * msgpack-c (which allocates for declared counts) see it. */
bool codec_check (const void *buf, size_t len, const char **why);

/* codec_check, then msgpack_unpack_next into `out`. */
bool codec_unpack (const void *buf, size_t len, msgpack_unpacked *out,
                   const char **why);

const msgpack_object *codec_map_get (const msgpack_object *map, const char *key);
bool codec_str_eq (exf_str_t s, const char *cstr);
exf_str_t codec_str_of (const msgpack_object *o);
/* Characters (code points) in UTF-8 text. */
size_t codec_utf8_length (exf_str_t s);
/* Whether `len` bytes are well-formed UTF-8 (RFC 3629). */
bool codec_utf8_valid (const char *text, size_t len);
/* Copies `len` bytes of text into `out` (room for 3 × len bytes), each byte
 * that starts no valid UTF-8 sequence replaced by U+FFFD; returns the
 * length written. For showing untrusted text, never for accepting it. */
size_t codec_utf8_repair (const char *text, size_t len, char *out);
/* Copies into a NUL-terminated buffer of `cap` bytes (truncating). */
void codec_str_copy (char *dst, size_t cap, exf_str_t s);

/* Typed field readers. A missing required field or a wrong type sets `err`
 * with `code` (BAD_REQUEST for arguments, VALIDATION inside a form) and the
 * field name. nil counts as absent. `present` may be NULL. */
bool codec_read_str (const msgpack_object *map, const char *key, bool required,
                     size_t max_len, exf_str_t *out, bool *present,
                     const char *code, exf_error_t *err);
bool codec_read_id (const msgpack_object *map, const char *key, bool required,
                    char out[EXF_ID_MAX + 1], const char *code, exf_error_t *err);
bool codec_read_int (const msgpack_object *map, const char *key, bool required,
                     int64_t *out, bool *present, const char *code,
                     exf_error_t *err);
bool codec_read_bool (const msgpack_object *map, const char *key, bool required,
                      bool *out, bool *present, const char *code,
                      exf_error_t *err);
bool codec_read_map (const msgpack_object *map, const char *key, bool required,
                     const msgpack_object **out, const char *code,
                     exf_error_t *err);
bool codec_read_array (const msgpack_object *map, const char *key, bool required,
                       const msgpack_object **out, const char *code,
                       exf_error_t *err);

/* ---- requests and replies ---- */

typedef struct {
    exf_str_t id;                   /* len 0 when unreadable */
    exf_str_t cmd;
    const msgpack_object *args;     /* a map, or NULL */
    exf_str_t actor;                /* len 0 when absent */
} codec_request_t;

/* Reads the envelope of an unpacked body. On failure `req->id` still holds
 * the id when it could be read, so the error reply can carry it. */
bool codec_parse_request (const msgpack_object *body, codec_request_t *req,
                          exf_error_t *err);

/* Packs a request's `{v, id, cmd[, actor][, args:` — with `has_args` the
 * caller then packs the args map. `actor` may be NULL. */
void codec_pack_request_head (msgpack_packer *pk, const char *id,
                              const char *cmd, const char *actor,
                              bool has_args);

/* Packs `{v, id, ok:true, result:` — the caller then packs the result map. */
void codec_pack_reply_ok_head (msgpack_packer *pk, exf_str_t id);
void codec_pack_reply_error (msgpack_packer *pk, exf_str_t id,
                             const exf_error_t *err);

/* ---- packing helpers ---- */

void codec_pack_cstr (msgpack_packer *pk, const char *s);
void codec_pack_str (msgpack_packer *pk, exf_str_t s);
/* A C string, or nil when NULL or empty. */
void codec_pack_cstr_or_nil (msgpack_packer *pk, const char *s);
/* Appends already-encoded msgpack bytes as one object. */
void codec_pack_raw (msgpack_packer *pk, const void *buf, size_t len);
/* Milliseconds since the epoch as an RFC 3339 UTC string, nil when 0. */
void codec_pack_time (msgpack_packer *pk, int64_t ms);

/* ---- time and dates ---- */

#define CODEC_TIME_LEN 25   /* "2026-11-25T14:36:12.123Z" + NUL */
void codec_format_time (int64_t ms, char out[CODEC_TIME_LEN]);
/* The reverse, for exactly that form ("2026-11-25T14:36:12.123Z"). */
bool codec_parse_time (exf_str_t s, int64_t *ms);
/* A real calendar date "YYYY-MM-DD" → days since 1970-01-01. */
bool codec_parse_date (exf_str_t s, int64_t *days);
int64_t codec_days_of_ms (int64_t ms);
/* The reverse of codec_parse_date: days since 1970-01-01 → civil date. */
void codec_civil_of_days (int64_t days, int *year, int *month, int *day);
#define CODEC_DATE_LEN 11   /* "2026-11-25" + NUL */
void codec_format_date (int64_t days, char out[CODEC_DATE_LEN]);

/* A decimal integer from `min` to `max` that is the whole of `text`. */
bool codec_parse_int (const char *text, int64_t min, int64_t max,
                      int64_t *out);

/* The daemon's default endpoints (PROTOCOL.md §1). */
#define EXF_DEFAULT_COMMANDS "tcp://127.0.0.1:5570"
#define EXF_DEFAULT_EVENTS   "tcp://127.0.0.1:5571"

/* FNV-1a, 64 bits: identifies a request body for idempotency checks. */
uint64_t codec_hash (const void *buf, size_t len, uint64_t seed);

#endif
