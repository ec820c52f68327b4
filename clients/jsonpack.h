/* jsonpack — JSON ↔ msgpack through jansson, for the programs of clients/
 * that speak JSON: the CLI (--json, --data, --file) and exitflow-web.
 * Internal: linked into each program, never part of libexitflow (which
 * does not depend on jansson).
 *
 * Owns: reading a request body as JSON within limits (size, depth, number
 * of values: the daemon's own, PROTOCOL.md §2.1, so what passes here is
 * not refused there for its shape), packing JSON into the msgpack the
 * library sends, and turning daemon results into JSON. Integers stay
 * integers both ways (HUD codes are ints). */
#ifndef EXF_CLIENTS_JSONPACK_H
#define EXF_CLIENTS_JSONPACK_H

#include <jansson.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

/* A request body: a JSON object of at most 1 MiB, nested at most 32 deep,
 * with at most 65,536 values, no key twice. NULL with the reason in `why`
 * (no text of the body in it). */
json_t *jsonpack_parse_object (const char *text, size_t len, char *why,
                               size_t cap);

/* `j` packed into `pk`. */
void jsonpack_pack (msgpack_packer *pk, const json_t *j);

/* A msgpack value as JSON (a new reference, never NULL): bytes that are
 * not UTF-8 become U+FFFD, nesting below 64 becomes null, an integer map
 * key becomes its decimal text (JSON keys are strings), any other
 * non-string key is left out rather than given a made-up name. */
json_t *jsonpack_from_msgpack (const msgpack_object *o);

#endif
