/* blob — owned bytes. See blob.h. */
#include "blob.h"

#include <stdlib.h>
#include <string.h>

void
blob_set (blob_t *blob, const void *ptr, size_t len)
{
    blob_fini (blob);
    if (!len)
        return;
    blob->ptr = malloc (len);
    if (!blob->ptr)
        abort ();
    memcpy (blob->ptr, ptr, len);
    blob->len = len;
}

void
blob_set_object (blob_t *blob, const msgpack_object *obj)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_object (&pk, *obj);
    blob_fini (blob);
    blob->len = sb.size;            /* release zeroes the size */
    blob->ptr = (uint8_t *) msgpack_sbuffer_release (&sb);
}

void
blob_fini (blob_t *blob)
{
    free (blob->ptr);
    blob->ptr = NULL;
    blob->len = 0;
}

void
blob_pack_bin (msgpack_packer *pk, const blob_t *blob)
{
    msgpack_pack_bin (pk, blob->len);
    msgpack_pack_bin_body (pk, blob->ptr, blob->len);
}

void
blob_pack_text_or_nil (msgpack_packer *pk, const blob_t *blob)
{
    if (!blob->len) {
        msgpack_pack_nil (pk);
        return;
    }
    msgpack_pack_str (pk, blob->len);
    msgpack_pack_str_body (pk, blob->ptr, blob->len);
}

void
blob_pack_object_or_nil (msgpack_packer *pk, const blob_t *blob)
{
    if (blob->len)
        codec_pack_raw (pk, blob->ptr, blob->len);
    else
        msgpack_pack_nil (pk);
}
