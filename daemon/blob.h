/* blob — owned bytes inside a workflow value: a step's data, a prior value,
 * a source's DQ findings, a cancel reason.
 *
 * Owns: copying bytes or a msgpack object into a blob, releasing it, and
 * packing it the three ways the encoders need. A zeroed blob is empty;
 * blob_fini releases the bytes and leaves it empty again. Allocation
 * failure aborts, as everywhere in the daemon. */
#ifndef EXF_BLOB_H
#define EXF_BLOB_H

#include "protocol/codec.h"

typedef struct {
    uint8_t *ptr;
    size_t len;
} blob_t;

void blob_set (blob_t *blob, const void *ptr, size_t len);
/* Encodes `obj` into `blob`. */
void blob_set_object (blob_t *blob, const msgpack_object *obj);
void blob_fini (blob_t *blob);

/* The bytes as msgpack bin (the stored form). */
void blob_pack_bin (msgpack_packer *pk, const blob_t *blob);
/* The bytes as a msgpack str, nil when empty (text such as a reason). */
void blob_pack_text_or_nil (msgpack_packer *pk, const blob_t *blob);
/* The bytes spliced in as the msgpack object they encode, nil when empty. */
void blob_pack_object_or_nil (msgpack_packer *pk, const blob_t *blob);

#endif
