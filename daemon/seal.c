/* seal — the checksum every value in the store carries. See seal.h. */
#include "seal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define POLY 0x82f63b78u            /* CRC32C, reflected */
/* The keys' binary parts are a state byte and big-endian numbers: a hex
 * run goes on for a byte and a number at least. */
#define SEAL_KEY_HEX_RUN 9

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void
make_table (void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
        table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            table[t][i] = (table[t - 1][i] >> 8)
                          ^ table[0][table[t - 1][i] & 0xff];
}

#if defined(__x86_64__)
/* SSE 4.2's crc32 instruction computes CRC32C itself, eight bytes at a
 * time: about three times the tables' speed where the CPU has it. */
__attribute__ ((target ("sse4.2"))) static uint32_t
crc32c_sse42 (uint32_t crc, const uint8_t *p, size_t len)
{
    uint64_t c = ~crc;
    for (; len >= 8; len -= 8, p += 8) {
        uint64_t word;
        memcpy (&word, p, 8);
        c = __builtin_ia32_crc32di (c, word);
    }
    uint32_t c32 = (uint32_t) c;
    while (len--)
        c32 = __builtin_ia32_crc32qi (c32, *p++);
    return ~c32;
}

static bool
have_sse42 (void)
{
    static int known = -1;
    if (known < 0)
        known = __builtin_cpu_supports ("sse4.2");
    return known;
}
#endif

uint32_t
seal_crc32c (uint32_t crc, const void *buf, size_t len)
{
#if defined(__x86_64__)
    if (have_sse42 ())
        return crc32c_sse42 (crc, buf, len);
#endif
    return seal_crc32c_tables (crc, buf, len);
}

uint32_t
seal_crc32c_tables (uint32_t crc, const void *buf, size_t len)
{
    pthread_once (&table_once, make_table);
    const uint8_t *p = buf;
    crc = ~crc;
    /* eight bytes a step: one lookup per byte in eight tables */
    for (; len >= 8; len -= 8, p += 8) {
        uint32_t lo = crc ^ ((uint32_t) p[0] | (uint32_t) p[1] << 8
                             | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24);
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff]
              ^ table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24]
              ^ table[3][p[4]] ^ table[2][p[5]] ^ table[1][p[6]]
              ^ table[0][p[7]];
    }
    while (len--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

static uint32_t
seal_of (const void *key, size_t key_len, const void *value, size_t len)
{
    return seal_crc32c (seal_crc32c (0, key, key_len), value, len);
}

void
seal_write (const void *key, size_t key_len, void *value, size_t len)
{
    uint32_t crc = seal_of (key, key_len, value, len);
    uint8_t *p = (uint8_t *) value + len;
    for (int i = 0; i < SEAL_LEN; i++)
        p[i] = (uint8_t) (crc >> (8 * i));
}

bool
seal_check (const void *key, size_t key_len, const void *sealed, size_t len)
{
    if (len < SEAL_LEN)
        return false;
    const uint8_t *p = (const uint8_t *) sealed + len - SEAL_LEN;
    uint32_t stored = (uint32_t) p[0] | (uint32_t) p[1] << 8
                      | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
    return stored == seal_of (key, key_len, sealed, len - SEAL_LEN);
}

void
seal_key_name (const void *key, size_t key_len, char *out, size_t cap)
{
    const uint8_t *k = key;
    size_t n = 0, hex_until = 0;        /* a hex run covers the key's index */
    bool in_hex = false;                /* of `hex_until` at least */
    if (!cap)
        return;
    for (size_t i = 0; i < key_len; i++) {
        if (n + 8 >= cap) {
            n += (size_t) snprintf (out + n, cap - n, "%s...",
                                    in_hex ? ">" : "");
            in_hex = false;
            break;
        }
        bool plain = k[i] > 0x20 && k[i] < 0x7f && k[i] != '<' && k[i] != '>'
                     && !(in_hex && i < hex_until);
        if (!plain && !in_hex)          /* a binary number: show it whole */
            hex_until = i + SEAL_KEY_HEX_RUN;
        if (plain == in_hex)
            out[n++] = in_hex ? '>' : '<';
        in_hex = !plain;
        if (plain)
            out[n++] = (char) k[i];
        else
            n += (size_t) snprintf (out + n, cap - n, "%02x", k[i]);
    }
    if (in_hex)
        out[n++] = '>';
    out[n] = '\0';
}
