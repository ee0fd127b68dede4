/* test_hash.c -- FNV-1a 128 against published vectors, framing, hex. */
#include "hash.h"

#include <string.h>

#include "test.h"

static void hex_of_bytes(const char *s, size_t len, char *out) {
    struct hash128 hs;

    hash128_init(&hs);
    hash128_update(&hs, s, len);
    hash128_hex(&hs, out, 32);
}

/* Published FNV-1a 128-bit vectors (FNV reference test suite, as carried
 * by e.g. the Zig standard library tests and the python/php fnv ports). */
static void test_vectors(void) {
    static const struct {
        const char *in, *hex;
    } cases[] = {
        {"", "6c62272e07bb014262b821756295c58d"},
        {"a", "d228cb696f1a8caf78912b704e4a8964"},
        {"b", "d228cb69721a8caf78912b704e4a8d15"},
        {"foobar", "343e1662793c64bf6f0d3597ba446f18"},
        {NULL, NULL},
    };
    char hex[33];

    TEST("published vectors");
    for (int i = 0; cases[i].in; i++) {
        hex_of_bytes(cases[i].in, strlen(cases[i].in), hex);
        CHECK_STR(hex, cases[i].hex);
    }
}

static void test_chunked(void) {
    struct hash128 hs;
    char hex[33];

    TEST("chunked update equals one-shot");
    hash128_init(&hs);
    hash128_update(&hs, "foo", 3);
    hash128_update(&hs, "", 0);
    hash128_update(&hs, "bar", 3);
    hash128_hex(&hs, hex, 32);
    CHECK_STR(hex, "343e1662793c64bf6f0d3597ba446f18");
}

/* Expected values: FNV-1a 128 of the framed bytes, computed with an
 * independent reference (Python big integers), not with this code. */
static void test_framing(void) {
    struct hash128 a, b;
    char ha[33], hb[33];

    TEST("hash128_str appends 0xff");
    hash128_init(&a);
    hash128_str(&a, "a");
    hash128_hex(&a, ha, 32);
    CHECK_STR(ha, "0880954550ab1be95aa0733055b751b9");
    hex_of_bytes("a\xff", 2, hb);
    CHECK_STR(ha, hb);

    TEST("hash128_str separates fields");
    hash128_init(&a);
    hash128_str(&a, "ab");
    hash128_str(&a, "c");
    hash128_hex(&a, ha, 32);
    hash128_init(&b);
    hash128_str(&b, "a");
    hash128_str(&b, "bc");
    hash128_hex(&b, hb, 32);
    CHECK_STR(ha, "32763e664083d94f70814487f805ad59");
    CHECK_STR(hb, "36cc24064d83d94f708145dd58651e3b");
    CHECK(strcmp(ha, hb) != 0);

    TEST("hash128_int is little-endian");
    hash128_init(&a);
    hash128_int(&a, 1);
    hash128_hex(&a, ha, 32);
    CHECK_STR(ha, "59b7938aec659956a33c86dd8aca840c");
    hash128_init(&a);
    hash128_int(&a, -1);
    hash128_hex(&a, ha, 32);
    CHECK_STR(ha, "1f1206bf386598cfecc541ed53713e45");
    hash128_init(&a);
    hash128_int(&a, 0x0102030405060708LL);
    hash128_hex(&a, ha, 32);
    CHECK_STR(ha, "2a4ea0c77c659931bca31da17c0fe02d");
    hex_of_bytes("\x08\x07\x06\x05\x04\x03\x02\x01", 8, hb);
    CHECK_STR(ha, hb);

    TEST("string then int");
    hash128_init(&a);
    hash128_str(&a, "u-42");
    hash128_int(&a, 3);
    hash128_hex(&a, ha, 32);
    CHECK_STR(ha, "73a638e18ae26dda5a18b20e1c788b09");
}

static void test_hex_prefix(void) {
    struct hash128 hs;
    char hex[33];

    TEST("hex prefix");
    hash128_init(&hs);
    hash128_hex(&hs, hex, 8);
    CHECK_STR(hex, "6c62272e");
    hash128_hex(&hs, hex, 1);
    CHECK_STR(hex, "6");
    hash128_hex(&hs, hex, 0);
    CHECK_STR(hex, "");
    memset(hex, 'x', sizeof(hex));
    hash128_hex(&hs, hex, 32);
    CHECK_INT(strlen(hex), 32);
    CHECK_STR(hex, "6c62272e07bb014262b821756295c58d");
}

/* FNV-1a 64 published vectors (the FNV reference: "" and "a", "foobar"):
 * the Redis bucket of a user depends on them. */
static void test_hash64(void) {
    TEST("hash64_str matches FNV-1a 64");
    CHECK(hash64_str("") == 0xcbf29ce484222325ULL);
    CHECK(hash64_str("a") == 0xaf63dc4c8601ec8cULL);
    CHECK(hash64_str("foobar") == 0x85944171f73967e8ULL);
}

int main(void) {
    test_hash64();
    test_vectors();
    test_chunked();
    test_framing();
    test_hex_prefix();
    return test_report();
}
