/* json — the little the workers (and the CLI) add to jansson: a JSON
 * string from bytes that may not be UTF-8 (jansson refuses those; here each
 * invalid byte becomes U+FFFD, so output is always valid UTF-8 JSON), and
 * the "empty is null" convention of the notifier's and the summary's
 * fields. */
#ifndef EXF_JSON_H
#define EXF_JSON_H

#include <jansson.h>
#include <stddef.h>

/* A JSON string of `len` bytes at `ptr` (a new reference; never NULL). */
json_t *json_text (const char *ptr, size_t len);
/* json_text of a C string; null for NULL or "". */
json_t *json_text_or_null (const char *s);

#endif
