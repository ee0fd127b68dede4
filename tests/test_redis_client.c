/* test_redis_client.c -- lib/redis_client.c without a server: hash slots
 * as Redis Cluster computes them (the values are those `CLUSTER KEYSLOT`
 * gives; tests/integration/0010 checks the store against a real cluster),
 * and the URL forms, with the hint a wrong one gets. */
#include <stdlib.h>
#include <string.h>

#include "redis_client.h"
#include "test.h"

static int slot(const char *key) { return redis_key_slot(key, strlen(key)); }

static void test_slots(void) {
    TEST("slots are CRC16-XModem mod 16384, as CLUSTER KEYSLOT");
    CHECK_INT(slot("123456789"), 0x31C3); /* the cluster spec's check value */
    CHECK_INT(slot("foo"), 12182);
    CHECK_INT(slot(""), 0);
    TEST("a hash tag hashes only what is between the first { and }");
    CHECK_INT(slot("{b00}"), 1741);
    CHECK_INT(slot("fu:{b00}:u:u-42"), 1741);
    CHECK_INT(slot("other:{b00}:due"), 1741);
    CHECK_INT(slot("{user1000}.following"), slot("{user1000}.followers"));
    TEST("an empty tag hashes the whole key; the first } closes the tag");
    CHECK_INT(slot("foo{}{bar}"), redis_key_slot("foo{}{bar}", 10));
    CHECK(slot("foo{}{bar}") != slot("bar"));
    CHECK_INT(slot("foo{{bar}}zap"), slot("{bar"));
    CHECK_INT(slot("foo{bar}{zap}"), slot("bar"));
    CHECK_INT(slot("no-close{tag"), redis_key_slot("no-close{tag", 12));
    TEST("a key with a NUL byte hashes all its bytes");
    CHECK(redis_key_slot("a\0b", 3) != slot("a"));
}

static void test_urls(void) {
    static const char *const good[] = {
        "redis://127.0.0.1:6379/0", "redis://localhost", "redis://:pw@h:1/2",
        "unix:///run/redis.sock", "redis+cluster://127.0.0.1:7000",
        "redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001,10.0.0.3",
        "redis://fu:pw@h:1/0", "redis://pw@h", "redis://:p@ss@h:1",
        "redis+cluster://fu:pw@h:1,h:2"};
    static const char *const bad[] = {
        "localhost:6379", "redis://", "redis://h:0", "redis://h:70000",
        "redis://h:1/x", "redis://h:1/-1", "unix://relative.sock",
        "redis+cluster://", "redis+cluster://h:1,", "redis+cluster://h:1/0",
        "redis+cluster://h:x", "http://h"};
    struct fu_err err;
    TEST("the URL forms are accepted; a cluster URL says so");
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct redis_client *cl = redis_client_new(good[i], NULL, NULL, &err);
        CHECK(cl != NULL);
        if (!cl) printf("    refused: %s (%s)\n", good[i], err.msg);
        else CHECK_INT(redis_client_is_cluster(cl), !strncmp(good[i], "redis+", 6));
        redis_client_free(cl);
    }
    TEST("a wrong URL is refused with the form to write");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fu_err_clear(&err);
        struct redis_client *cl = redis_client_new(bad[i], NULL, NULL, &err);
        CHECK(cl == NULL && err.code == FU_EINVAL && strstr(err.msg, "write "));
        if (cl) printf("    accepted: %s\n", bad[i]);
        redis_client_free(cl);
    }
}

static void test_cmds(void) {
    TEST("a command owns what it was given to take, and releases it");
    struct redis_cmd c = {0};
    CHECK(redis_cmd_str(&c, "HSET") == 0);
    CHECK(redis_cmd_copy(&c, "key") == 0);
    CHECK(redis_cmd_fmt(&c, "%d", 42) == 0);
    CHECK(redis_cmd_take(&c, NULL) < 0);
    CHECK_INT(c.argc, 3);
    CHECK(c.lens[2] == 2 && !memcmp(c.argv[2], "42", 2));
    redis_cmd_release(&c);
    CHECK(c.argc == 0 && c.argv == NULL);
}

int main(void) {
    test_slots();
    test_urls();
    test_cmds();
    return test_report();
}
