/* seal — the checksum every value in the store carries.
 *
 * Owns: CRC32C (Castagnoli, the iSCSI/ext4 polynomial) and how a stored
 * value is sealed with it: its last SEAL_LEN bytes are the CRC32C, little
 * endian, of the key and the value before them, so a value damaged in
 * place, or moved under another key, fails its check. The store seals
 * every value it writes and checks every value it reads (store.c); the
 * verifier checks every record of a whole store (verify.c).
 *
 * Written here rather than taken from a library: SSE 4.2's crc32
 * instruction where the CPU has it (9 GB/s on this machine), tables
 * (slicing by eight, 2.5 GB/s) elsewhere; forty lines, both held to the
 * RFC 3720 test vectors in test_store.c, and no new dependency. */
#ifndef EXF_SEAL_H
#define EXF_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEAL_LEN 4

/* CRC32C of `len` bytes, continuing from `crc` (0 to start): with the
 * CPU's crc32 instruction where it has SSE 4.2, else from the tables. */
uint32_t seal_crc32c (uint32_t crc, const void *buf, size_t len);
/* The same from the tables alone (the tests hold both to the vectors). */
uint32_t seal_crc32c_tables (uint32_t crc, const void *buf, size_t len);

/* Writes the seal of `key` and the `len` bytes of `value` into
 * value[len .. len + SEAL_LEN). */
void seal_write (const void *key, size_t key_len, void *value, size_t len);

/* True when `sealed` (`len` bytes, the seal last) holds its seal for
 * `key`. */
bool seal_check (const void *key, size_t key_len, const void *sealed,
                 size_t len);

/* `key` as printable text, for reports of a record whose seal fails:
 * printable ASCII as it is, other bytes as hex between angle brackets
 * ("L<000000000000002a>"); cut with "..." to fit `cap`. */
void seal_key_name (const void *key, size_t key_len, char *out, size_t cap);

#endif
