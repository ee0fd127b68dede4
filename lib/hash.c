/* hash.c -- FNV-1a 128-bit, the one hash behind ids and policy versions.
 *
 * Plain FNV-1a over bytes (offset basis and prime from the FNV reference),
 * plus two framing helpers so that composite keys cannot collide by
 * shifting bytes between fields. Nothing here is seeded or randomised:
 * the same input must give the same id in every run and every version. */
#include "hash.h"

#include <string.h>

/* ---- Constants ---- */

__extension__ typedef unsigned __int128 hash_u128; /* quiet under -pedantic */

/* 0x6c62272e07bb014262b821756295c58d */
#define HASH_OFFSET_HI 0x6c62272e07bb0142ULL
#define HASH_OFFSET_LO 0x62b821756295c58dULL
/* 2^88 + 2^8 + 0x3b = 0x0000000001000000000000000000013b */
#define HASH_PRIME_HI 0x0000000001000000ULL
#define HASH_PRIME_LO 0x000000000000013bULL

#define HASH_U128(hi, lo)                                                  \
    ((((hash_u128)(hi)) << 64) | (hash_u128)(lo))

/* ---- Public functions ---- */

void hash128_init(struct hash128 *hs) {
    hs->h = HASH_U128(HASH_OFFSET_HI, HASH_OFFSET_LO);
}

void hash128_update(struct hash128 *hs, const void *data, size_t len) {
    const unsigned char *p = data;
    const hash_u128 prime = HASH_U128(HASH_PRIME_HI, HASH_PRIME_LO);
    hash_u128 h = hs->h;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= prime;
    }
    hs->h = h;
}

/* The separator 0xFF never occurs in UTF-8 text, so it cannot be mistaken
 * for a byte of the string. */
void hash128_str(struct hash128 *hs, const char *s) {
    const unsigned char sep = 0xFF;

    hash128_update(hs, s, strlen(s));
    hash128_update(hs, &sep, 1);
}

/* Little-endian whatever the host, so ids are portable. */
void hash128_int(struct hash128 *hs, int64_t v) {
    uint64_t u = (uint64_t)v;
    unsigned char b[8];

    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(u & 0xFF);
        u >>= 8;
    }
    hash128_update(hs, b, sizeof(b));
}

void hash128_hex(const struct hash128 *hs, char *out, int nhex) {
    static const char digits[] = "0123456789abcdef";

    if (nhex < 0) nhex = 0;
    if (nhex > 32) nhex = 32;
    for (int i = 0; i < nhex; i++) {
        int shift = 124 - 4 * i; /* most significant nibble first */
        out[i] = digits[(unsigned)(hs->h >> shift) & 0xF];
    }
    out[nhex] = '\0';
}

uint64_t hash64_str(const char *s) {
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}
