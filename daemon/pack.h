/* pack — the small msgpack shapes the daemon's encoders share (the view,
 * the stored record, the command results) and the codec does not have:
 * booleans, optional small integers, key-value pairs. */
#ifndef EXF_PACK_H
#define EXF_PACK_H

#include "protocol/codec.h"

void pack_bool (msgpack_packer *pk, bool value);
/* A non-negative code, or nil for -1 ("not given"). */
void pack_int_or_nil (msgpack_packer *pk, int value);
/* `key: value`, the value nil when NULL or empty. */
void pack_kv_str (msgpack_packer *pk, const char *key, const char *value);
void pack_kv_int (msgpack_packer *pk, const char *key, int64_t value);

#endif
