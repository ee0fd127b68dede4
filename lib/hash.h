/* hash.h -- FNV-1a 128-bit hashing for stable ids and the policy version.
 *
 * Ids must not change across versions of the program or of the policy
 * (spec 4, Ids), so the hash is fixed here and never seeded. */
#ifndef FU_HASH_H
#define FU_HASH_H

#include <stddef.h>
#include <stdint.h>

/* __extension__ keeps -pedantic builds quiet about the GCC/Clang type. */
struct hash128 {
    __extension__ unsigned __int128 h;
};

/* None of these can fail; hs is caller-owned. */
void hash128_init(struct hash128 *hs);
void hash128_update(struct hash128 *hs, const void *data, size_t len);
/* Feed the bytes of s and a 0xFF separator, so ("ab","c") and ("a","bc")
 * differ. */
void hash128_str(struct hash128 *hs, const char *s);
/* Feed the 8 bytes of v, little-endian on every host. */
void hash128_int(struct hash128 *hs, int64_t v);
/* First nhex (<= 32) lowercase hex digits, most significant first, into
 * out (nhex + 1 bytes, NUL-terminated). */
void hash128_hex(const struct hash128 *hs, char *out, int nhex);

/* FNV-1a 64 of a NUL-terminated string: hash tables and the Redis bucket
 * of a user (so it must never change: it names keys). */
uint64_t hash64_str(const char *s);

#endif
