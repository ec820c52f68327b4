/* wjson — jansson helpers. See wjson.h. */
#include "workers/common/wjson.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

json_t *
wjson_text (const char *ptr, size_t len)
{
    json_t *j = json_stringn (ptr, len);
    if (j)
        return j;
    /* not UTF-8: every byte that starts no valid sequence becomes U+FFFD */
    char *clean = malloc (len * 3 + 1);
    if (!clean)
        abort ();
    const unsigned char *p = (const unsigned char *) ptr;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t seq = utf8_seq (p + i, len - i);
        if (seq == 0) {
            memcpy (clean + n, "\xef\xbf\xbd", 3);
            n += 3;
            i++;
        } else {
            memcpy (clean + n, p + i, seq);
            n += seq;
            i += seq;
        }
    }
    j = json_stringn (clean, n);
    free (clean);
    if (!j)
        abort ();                   /* out of memory */
    return j;
}

json_t *
wjson_text_or_null (const char *s)
{
    return s && s[0] ? wjson_text (s, strlen (s)) : json_null ();
}
