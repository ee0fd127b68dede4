/* cluster_check.c -- the Redis store on a real Redis Cluster, while its
 * slots move (tests/integration/0011-redis-cluster-moves.sh starts the
 * cluster): a slot moved to another master is followed (MOVED); a slot
 * half-way through a migration is read where each key is (ASK), and a
 * save across keys on both sides fails as transient (TRYAGAIN) and writes
 * nothing, then goes through once the migration ends; after a replica
 * took over its master (CLUSTER FAILOVER), the store goes on.
 * usage: cluster_check SEED_PORT REPLICA_PORT...
 * The migrations are done here with CLUSTER SETSLOT and MIGRATE, the way
 * `redis-cli --cluster reshard` does them. */
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"
#include "redis_client.h"
#include "store.h"
#include "../test.h"

#define BUCKETS 64 /* store_redis.c's REDIS_BUCKETS */
#define PREFIX "cc:"

struct master {
    char id[64];
    int port;
    redisContext *c;
};

static struct master masters[8];
static int nmasters;

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The masters, from CLUSTER NODES of the node on port. */
static void read_masters(int port) {
    redisContext *c = redisConnect("127.0.0.1", port);
    redisReply *r = c && !c->err ? redisCommand(c, "CLUSTER NODES") : NULL;
    for (int i = 0; i < nmasters; i++) redisFree(masters[i].c);
    nmasters = 0;
    for (char *line = r ? r->str : NULL; line && *line && nmasters < 8;) {
        char *end = strchr(line, '\n');
        char id[64], addr[64], flags[128];
        if (sscanf(line, "%63s %63s %127s", id, addr, flags) == 3 &&
            strstr(flags, "master") && !strstr(flags, "fail")) {
            struct master *m = &masters[nmasters++];
            snprintf(m->id, sizeof(m->id), "%s", id);
            m->port = atoi(strchr(addr, ':') + 1);
            m->c = redisConnect("127.0.0.1", m->port);
        }
        line = end ? end + 1 : NULL;
    }
    freeReplyObject(r);
    redisFree(c);
}

/* The master serving slot (asked of each: the one that says it owns). */
static struct master *owner(int slot) {
    for (int i = 0; i < nmasters; i++) {
        redisReply *r = redisCommand(masters[i].c, "CLUSTER SLOTS");
        for (size_t k = 0; r && k < r->elements; k++) {
            const redisReply *g = r->element[k];
            if (g->element[0]->integer <= slot && slot <= g->element[1]->integer &&
                g->element[2]->element[1]->integer == masters[i].port) {
                freeReplyObject(r);
                return &masters[i];
            }
        }
        freeReplyObject(r);
    }
    return NULL;
}

static int reply_ok(redisReply *r) {
    int ok = r && r->type != REDIS_REPLY_ERROR;
    if (r && !ok) printf("    redis: %s\n", r->str);
    freeReplyObject(r);
    return ok;
}

/* Start moving slot from a to b: IMPORTING on b, MIGRATING on a. */
static int migration_start(int slot, struct master *a, struct master *b) {
    return reply_ok(redisCommand(b->c, "CLUSTER SETSLOT %d IMPORTING %s", slot, a->id)) &&
           reply_ok(redisCommand(a->c, "CLUSTER SETSLOT %d MIGRATING %s", slot, b->id));
}

static int migrate_key(struct master *a, struct master *b, const char *key) {
    return reply_ok(redisCommand(a->c, "MIGRATE 127.0.0.1 %d %s 0 5000", b->port, key));
}

/* Move the slot's remaining keys and give it to b everywhere. */
static int migration_end(int slot, struct master *a, struct master *b) {
    redisReply *r = redisCommand(a->c, "CLUSTER GETKEYSINSLOT %d 1000", slot);
    int ok = r && r->type == REDIS_REPLY_ARRAY;
    for (size_t i = 0; ok && i < r->elements; i++)
        ok = migrate_key(a, b, r->element[i]->str);
    freeReplyObject(r);
    for (int i = 0; ok && i < nmasters; i++)
        ok = reply_ok(redisCommand(masters[i].c, "CLUSTER SETSLOT %d NODE %s",
                                   slot, b->id));
    return ok;
}

static int bucket_of(const char *user) { return (int)(hash64_str(user) % BUCKETS); }

static int bucket_slot(int b) {
    char tag[8];
    int n = snprintf(tag, sizeof(tag), "{b%02d}", b);
    return redis_key_slot(tag, (size_t)n);
}

/* A user of bucket b (u-<n>), into buf. */
static void user_in(int b, int skip, char *buf, size_t size) {
    for (int n = 0;; n++) {
        snprintf(buf, size, "u-%d", n);
        if (bucket_of(buf) == b && skip-- == 0) return;
    }
}

static int save_seen(struct store *s, const char *user, const char *event,
                     struct fu_err *err) {
    struct user_state *st;
    if (store_load_one(s, user, &st, err) < 0) return -1;
    user_state_add_seen(st, event, 4102444800);
    return store_save_one(s, st, 3600, NULL, err);
}

static int nseen(struct store *s, const char *user) {
    struct user_state *st;
    struct fu_err err;
    if (store_load_one(s, user, &st, &err) < 0) {
        printf("    load %s: %s\n", user, err.msg);
        return -1;
    }
    int n = st->nseen;
    user_state_free(st);
    return n;
}

static struct master *other_than(const struct master *m) {
    return &masters[m == &masters[0] ? 1 : 0];
}

static void test_moved(struct store *s) {
    TEST("a slot moved to another master is followed (MOVED)");
    char user[32], key[64];
    struct fu_err err;
    user_in(3, 0, user, sizeof(user));
    int slot = bucket_slot(3);
    CHECK(save_seen(s, user, "e-1", &err) == 0);
    struct master *a = owner(slot), *b = a ? other_than(a) : NULL;
    CHECK(a && b && migration_start(slot, a, b) && migration_end(slot, a, b));
    CHECK(owner(slot) == b);
    CHECK_INT(nseen(s, user), 1);
    CHECK(save_seen(s, user, "e-2", &err) == 0);
    CHECK_INT(nseen(s, user), 2);
    snprintf(key, sizeof(key), PREFIX "{b03}:u:%s", user);
    redisReply *r = redisCommand(b->c, "EXISTS %s", key);
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
    freeReplyObject(r);
}

static void test_ask_and_tryagain(struct store *s) {
    TEST("half-way through a migration, each key is read where it is (ASK)");
    char u1[32], u2[32], key[64];
    struct fu_err err;
    user_in(5, 0, u1, sizeof(u1));
    user_in(5, 1, u2, sizeof(u2));
    int slot = bucket_slot(5);
    CHECK(save_seen(s, u1, "e-1", &err) == 0 && save_seen(s, u2, "e-1", &err) == 0);
    struct master *a = owner(slot), *b = a ? other_than(a) : NULL;
    CHECK(a && b && migration_start(slot, a, b));
    snprintf(key, sizeof(key), PREFIX "{b05}:u:%s", u1);
    CHECK(a && b && migrate_key(a, b, key));
    const char *both[2] = {u1, u2};
    struct user_state *st[2] = {NULL, NULL};
    CHECK(s->ops->load(s->ctx, both, 2, st, &err) == 0);
    CHECK(st[0] && st[1] && st[0]->nseen == 1 && st[1]->nseen == 1);
    TEST("a save across both sides is transient (TRYAGAIN) and writes nothing");
    struct store_write w = {st[0], 3600, NULL, 0};
    if (st[0]) user_state_add_seen(st[0], "e-2", 4102444800);
    fu_err_clear(&err);
    CHECK(st[0] && s->ops->save(s->ctx, &w, 1, &err) < 0 &&
          err.code == FU_ETRANSIENT);
    user_state_free(st[1]);
    CHECK_INT(nseen(s, u1), 1);
    TEST("once the migration ends, the save goes through");
    CHECK(a && b && migration_end(slot, a, b));
    CHECK(save_seen(s, u1, "e-2", &err) == 0);
    CHECK_INT(nseen(s, u1), 2);
    CHECK_INT(nseen(s, u2), 1);
}

static void test_failover(struct store *s, int replica_port) {
    TEST("after a replica takes over its master, the store goes on");
    char user[32];
    struct fu_err err;
    user_in(7, 0, user, sizeof(user));
    CHECK(save_seen(s, user, "e-1", &err) == 0);
    redisContext *rc = redisConnect("127.0.0.1", replica_port);
    CHECK(rc && !rc->err && reply_ok(redisCommand(rc, "CLUSTER FAILOVER")));
    for (int i = 0; i < 100; i++) { /* until it says it is a master */
        redisReply *r = redisCommand(rc, "ROLE");
        int master = r && r->type == REDIS_REPLY_ARRAY &&
                     !strcmp(r->element[0]->str, "master");
        freeReplyObject(r);
        if (master) break;
        sleep_ms(100);
    }
    redisFree(rc);
    int saved = -1;
    for (int i = 0; i < 50 && saved < 0; i++) { /* transient meanwhile */
        saved = save_seen(s, user, "e-2", &err);
        if (saved < 0) {
            CHECK_INT(err.code, FU_ETRANSIENT);
            sleep_ms(200);
        }
    }
    CHECK(saved == 0);
    CHECK_INT(nseen(s, user), 2);
}

int main(int argc, char **argv) {
    struct store s;
    struct fu_err err;
    char url[64];
    if (argc < 2) {
        fprintf(stderr, "usage: cluster_check SEED_PORT [REPLICA_PORT]\n");
        return 2;
    }
    snprintf(url, sizeof(url), "redis+cluster://127.0.0.1:%s", argv[1]);
    read_masters(atoi(argv[1]));
    CHECK(nmasters >= 2);
    CHECK(store_redis_open(&s, url, PREFIX, 1, &err) == 0);
    if (!s.ops || nmasters < 2) return test_report();
    test_moved(&s);
    test_ask_and_tryagain(&s);
    if (argc > 2) test_failover(&s, atoi(argv[2]));
    store_close(&s);
    for (int i = 0; i < nmasters; i++) redisFree(masters[i].c);
    return test_report();
}
