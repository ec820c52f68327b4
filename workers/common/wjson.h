/* wjson — the little the workers add to jansson when they write JSON.
 *
 * Owns: a JSON string from bytes that may not be UTF-8 (jansson refuses
 * those; here each invalid byte becomes U+FFFD, so output is always valid
 * UTF-8 JSON), and the "empty is null" convention of the notifier's and
 * the DQ summary's fields. */
#ifndef EXF_WORKER_WJSON_H
#define EXF_WORKER_WJSON_H

#include <jansson.h>
#include <stddef.h>

/* A JSON string of `len` bytes at `ptr` (a new reference; never NULL). */
json_t *wjson_text (const char *ptr, size_t len);
/* wjson_text of a C string; null for NULL or "". */
json_t *wjson_text_or_null (const char *s);

#endif
