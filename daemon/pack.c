/* pack — shared msgpack shapes. See pack.h. */
#include "pack.h"

void
pack_bool (msgpack_packer *pk, bool value)
{
    if (value)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
}

void
pack_int_or_nil (msgpack_packer *pk, int value)
{
    if (value >= 0)
        msgpack_pack_int (pk, value);
    else
        msgpack_pack_nil (pk);
}

void
pack_kv_str (msgpack_packer *pk, const char *key, const char *value)
{
    codec_pack_cstr (pk, key);
    codec_pack_cstr_or_nil (pk, value);
}

void
pack_kv_int (msgpack_packer *pk, const char *key, int64_t value)
{
    codec_pack_cstr (pk, key);
    msgpack_pack_int64 (pk, value);
}
