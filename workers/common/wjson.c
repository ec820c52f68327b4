/* wjson — jansson helpers. See wjson.h. */
#include "workers/common/wjson.h"

#include "protocol/codec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
    j = json_stringn (clean, codec_utf8_repair (ptr, len, clean));
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
