/* json — text buffer and JSON writing. See json.h. */
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
strbuf_init (strbuf_t *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    strbuf_add (b, "", 0);
}

void
strbuf_free (strbuf_t *b)
{
    free (b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void
strbuf_reset (strbuf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static void
reserve (strbuf_t *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc (b->data, cap);
    if (!p)
        abort ();
    b->data = p;
    b->cap = cap;
}

void
strbuf_add (strbuf_t *b, const char *s, size_t n)
{
    reserve (b, n);
    if (n)
        memcpy (b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
strbuf_puts (strbuf_t *b, const char *s)
{
    strbuf_add (b, s, strlen (s));
}

void
strbuf_printf (strbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (NULL, 0, fmt, ap);
    va_end (ap);
    if (n < 0)
        return;
    reserve (b, (size_t) n);
    va_start (ap, fmt);
    vsnprintf (b->data + b->len, (size_t) n + 1, fmt, ap);
    va_end (ap);
    b->len += (size_t) n;
}

/* Length of the valid UTF-8 sequence at `p` (at most `n` bytes), or 0. */
static size_t
utf8_seq (const unsigned char *p, size_t n)
{
    size_t len;
    uint32_t cp;
    if (p[0] < 0x80)
        return 1;
    else if ((p[0] & 0xe0) == 0xc0)
        len = 2, cp = p[0] & 0x1f;
    else if ((p[0] & 0xf0) == 0xe0)
        len = 3, cp = p[0] & 0x0f;
    else if ((p[0] & 0xf8) == 0xf0)
        len = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void
json_str (strbuf_t *b, const char *s)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t n = strlen (s);
    strbuf_add (b, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            char esc[2] = { '\\', (char) c };
            strbuf_add (b, esc, 2);
            i++;
        } else if (c < 0x20) {
            strbuf_printf (b, "\\u%04x", c);
            i++;
        } else {
            size_t len = utf8_seq (p + i, n - i);
            if (len == 0) {
                strbuf_puts (b, "\\ufffd");
                i++;
            } else {
                strbuf_add (b, (const char *) p + i, len);
                i += len;
            }
        }
    }
    strbuf_add (b, "\"", 1);
}

void
json_key (strbuf_t *b, const char *key)
{
    if (b->len && b->data[b->len - 1] != '{' && b->data[b->len - 1] != '[')
        strbuf_add (b, ",", 1);
    json_str (b, key);
    strbuf_add (b, ":", 1);
}

void
json_kv_str (strbuf_t *b, const char *key, const char *value)
{
    json_key (b, key);
    if (value && value[0])
        json_str (b, value);
    else
        strbuf_puts (b, "null");
}

void
json_kv_int (strbuf_t *b, const char *key, int64_t value)
{
    json_key (b, key);
    strbuf_printf (b, "%lld", (long long) value);
}
