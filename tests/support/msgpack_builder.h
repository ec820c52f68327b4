/* msgpack_builder — test helper shared by the unit tests: builds msgpack
 * values from a compact format and keeps every built object alive (bytes
 * and zone) until release_held(), so tests can hold msgpack_object pointers.
 *
 * Format characters (one value each):
 *   m  map: an int count from the arguments, then 2*count values
 *   a  array: an int count, then count values
 *   s  str: const char *          S  str: const char *, size_t (any bytes)
 *   i  int: int                   I  int: long long
 *   U  uint: unsigned long long   b  bool: int
 *   n  nil                        f  double
 *   x  bin: const void *, size_t
 * Whitespace and { } [ ] : , are decoration and ignored. */
#ifndef EXF_TEST_MSGPACK_BUILDER_H
#define EXF_TEST_MSGPACK_BUILDER_H

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../../protocol/codec.h"

#define HELPER static __attribute__ ((unused))

HELPER void
pack_fmt (msgpack_packer *pk, const char **fmt, va_list *ap)
{
    while (**fmt && strchr (" \t\n{}[]:,", **fmt))
        (*fmt)++;
    char c = *(*fmt)++;
    switch (c) {
    case 'm': {
        int n = va_arg (*ap, int);
        msgpack_pack_map (pk, (size_t) n);
        for (int i = 0; i < 2 * n; i++)
            pack_fmt (pk, fmt, ap);
        break;
    }
    case 'a': {
        int n = va_arg (*ap, int);
        msgpack_pack_array (pk, (size_t) n);
        for (int i = 0; i < n; i++)
            pack_fmt (pk, fmt, ap);
        break;
    }
    case 's': {
        const char *s = va_arg (*ap, const char *);
        size_t n = strlen (s);
        msgpack_pack_str (pk, n);
        msgpack_pack_str_body (pk, s, n);
        break;
    }
    case 'S': {
        const char *s = va_arg (*ap, const char *);
        size_t n = va_arg (*ap, size_t);
        msgpack_pack_str (pk, n);
        msgpack_pack_str_body (pk, s, n);
        break;
    }
    case 'x': {
        const void *s = va_arg (*ap, const void *);
        size_t n = va_arg (*ap, size_t);
        msgpack_pack_bin (pk, n);
        msgpack_pack_bin_body (pk, s, n);
        break;
    }
    case 'i': msgpack_pack_int64 (pk, va_arg (*ap, int)); break;
    case 'I': msgpack_pack_int64 (pk, va_arg (*ap, long long)); break;
    case 'U': msgpack_pack_uint64 (pk, va_arg (*ap, unsigned long long)); break;
    case 'b':
        if (va_arg (*ap, int))
            msgpack_pack_true (pk);
        else
            msgpack_pack_false (pk);
        break;
    case 'n': msgpack_pack_nil (pk); break;
    case 'f': msgpack_pack_double (pk, va_arg (*ap, double)); break;
    default:
        fail_msg ("bad builder format character '%c'", c);
    }
}

typedef struct {
    msgpack_sbuffer sb;
    msgpack_unpacked u;
} held_t;

#define MAX_HELD 1024
static held_t *held[MAX_HELD];
static int n_held;

HELPER held_t *
hold (void)
{
    assert_true (n_held < MAX_HELD);
    held_t *h = calloc (1, sizeof *h);
    assert_non_null (h);
    msgpack_sbuffer_init (&h->sb);
    msgpack_unpacked_init (&h->u);
    held[n_held++] = h;
    return h;
}

/* Packs by `fmt` into a held buffer; returns the bytes' holder. */
HELPER held_t *
pack_held (const char *fmt, ...)
{
    held_t *h = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    va_list ap;
    va_start (ap, fmt);
    const char *f = fmt;
    pack_fmt (&pk, &f, &ap);
    va_end (ap);
    return h;
}

/* Decodes a holder's bytes through codec_unpack (the untrusted path). */
HELPER const msgpack_object *
decode_held (held_t *h)
{
    const char *why = NULL;
    if (!codec_unpack (h->sb.data, h->sb.size, &h->u, &why))
        fail_msg ("does not decode: %s", why);
    return &h->u.data;
}

/* Packs by `fmt`, unpacks, returns the object (kept alive). */
HELPER const msgpack_object *
build (const char *fmt, ...)
{
    held_t *h = hold ();
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h->sb, msgpack_sbuffer_write);
    va_list ap;
    va_start (ap, fmt);
    const char *f = fmt;
    pack_fmt (&pk, &f, &ap);
    va_end (ap);
    return decode_held (h);
}

/* Decodes bytes the code under test produced (copied, kept alive). */
HELPER const msgpack_object *
decode_bytes (const void *buf, size_t len)
{
    held_t *h = hold ();
    msgpack_sbuffer_write (&h->sb, buf, len);
    return decode_held (h);
}

HELPER void
release_held (void)
{
    for (int i = 0; i < n_held; i++) {
        msgpack_unpacked_destroy (&held[i]->u);
        msgpack_sbuffer_destroy (&held[i]->sb);
        free (held[i]);
    }
    n_held = 0;
}

#endif
