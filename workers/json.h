/* json — a growable text buffer and the bits of JSON writing the notifier
 * needs (strings escaped, numbers). Output is always valid UTF-8 JSON:
 * invalid UTF-8 in a string becomes U+FFFD. */
#ifndef EXF_JSON_H
#define EXF_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *data;                     /* NUL-terminated, owned */
    size_t len, cap;
} strbuf_t;

void strbuf_init (strbuf_t *b);
void strbuf_free (strbuf_t *b);
void strbuf_reset (strbuf_t *b);
void strbuf_add (strbuf_t *b, const char *s, size_t n);
void strbuf_puts (strbuf_t *b, const char *s);
void strbuf_printf (strbuf_t *b, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* A JSON string literal, quotes included. */
void json_str (strbuf_t *b, const char *s);
/* `"key":` then the value. */
void json_key (strbuf_t *b, const char *key);
void json_kv_str (strbuf_t *b, const char *key, const char *value);
void json_kv_int (strbuf_t *b, const char *key, int64_t value);

#endif
