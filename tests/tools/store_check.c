/* store_check.c -- the Redis store's promises, checked against a real
 * redis-server (tests/integration/0005-redis-store.sh passes its URL):
 * compare-and-set conflicts, empty states deleted with their index entry,
 * TTLs, the outbox lease (a claimed message comes back when its lease runs
 * out, and is gone once confirmed; a user's messages stay in order
 * behind a lease), NOSCRIPT recovery, reconnecting after
 * the connection dropped, errors for bad URLs, and the pacing queue and
 * budget (tests/store_pacing.h, also run on the memory store).
 * usage: store_check redis://127.0.0.1:PORT/0 */
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "../test.h"
#include "timeutil.h"
#include "../store_pacing.h"

static redisContext *admin; /* a second connection to look at keys */

/* The name of the key matching pattern (exactly one expected). */
static void find_key(const char *pattern, char *out, size_t size) {
    redisReply *r = redisCommand(admin, "KEYS %s", pattern);
    out[0] = '\0';
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1)
        snprintf(out, size, "%s", r->element[0]->str);
    freeReplyObject(r);
}

static long long reply_int(const char *fmt, const char *arg) {
    redisReply *r = redisCommand(admin, fmt, arg);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -999;
    freeReplyObject(r);
    return v;
}

static struct user_state *with_item(struct store *s, const char *user,
                                    int64_t due) {
    struct user_state *st;
    struct fu_err err;
    CHECK(store_load_one(s, user, &st, &err) == 0);
    struct repeat_timer *t = user_state_add_repeat(st);
    t->rule_id = strdup("r");
    t->trigger_event_id = strdup("e");
    t->trigger_type = strdup("x");
    t->decide_at = due;
    return st;
}

static void test_conflict(struct store *s) {
    TEST("a write over a stale read conflicts and writes nothing");
    struct user_state *a, *b;
    struct fu_err err;
    CHECK(store_load_one(s, "u-cas", &a, &err) == 0);
    CHECK(store_load_one(s, "u-cas", &b, &err) == 0);
    CHECK(user_state_add_seen(a, "ev-a", 100) == 0);
    CHECK(user_state_add_seen(b, "ev-b", 100) == 0);
    struct store_write w1 = {a, 3600, NULL, 0}, w2 = {b, 3600, NULL, 0};
    CHECK(s->ops->save(s->ctx, &w1, 1, &err) == 0 && !w1.conflict);
    CHECK(s->ops->save(s->ctx, &w2, 1, &err) == 0 && w2.conflict);
    CHECK(store_load_one(s, "u-cas", &a, &err) == 0);
    CHECK(a->nseen == 1 && !strcmp(a->seen[0].event_id, "ev-a"));
    CHECK_INT(a->version, 1);
    user_state_free(a);
}

/* One save of many users (most buckets then hold several, and save.lua
 * runs once per bucket): every third read is stale. Those, and only
 * those, conflict; the rest are written. */
static void test_conflict_among_many(struct store *s) {
    enum { N = 300 };
    struct store_write w[N];
    struct fu_err err;
    char user[32];
    TEST("in a save of many users, only the stale ones conflict");
    for (int i = 0; i < N; i++) {
        snprintf(user, sizeof(user), "u-many-%d", i);
        CHECK(store_load_one(s, user, &w[i].st, &err) == 0);
        CHECK(user_state_add_seen(w[i].st, "ev-1", 100) == 0);
        w[i] = (struct store_write){w[i].st, 3600, NULL, 0};
        if (i % 3 == 0) { /* someone else writes it first */
            struct user_state *other;
            CHECK(store_load_one(s, user, &other, &err) == 0);
            CHECK(user_state_add_seen(other, "ev-other", 100) == 0);
            CHECK(store_save_one(s, other, 3600, NULL, &err) == 0);
        }
    }
    CHECK(s->ops->save(s->ctx, w, N, &err) == 0);
    int wrong = 0;
    for (int i = 0; i < N; i++) {
        struct user_state *back;
        snprintf(user, sizeof(user), "u-many-%d", i);
        wrong += w[i].conflict != (i % 3 == 0);
        CHECK(store_load_one(s, user, &back, &err) == 0);
        wrong += back->version != 1 || back->nseen != 1 ||
                 strcmp(back->seen[0].event_id,
                        i % 3 == 0 ? "ev-other" : "ev-1") != 0;
        user_state_free(back);
    }
    CHECK_INT(wrong, 0);
}

static void test_index_and_ttl(struct store *s) {
    TEST("the due index follows the state; keys expire; empty state goes");
    struct fu_err err;
    char user[64];
    int64_t due;
    CHECK(store_save_one(s, with_item(s, "u-due", 500), 7200, NULL, &err) == 0);
    CHECK_INT(s->ops->next_due(s->ctx, 499, user, sizeof(user), &due, &err), 0);
    CHECK_INT(s->ops->next_due(s->ctx, 500, user, sizeof(user), &due, &err), 1);
    CHECK_STR(user, "u-due");
    char *users[4];
    CHECK_INT(s->ops->due_users(s->ctx, 600, users, 4, &err), 1);
    CHECK_STR(users[0], "u-due");
    free(users[0]);
    char ukey[128], dkey[128];
    find_key("fu:check:*:u:u-due", ukey, sizeof(ukey));
    CHECK(ukey[0] && strstr(ukey, "fu:check:{b"));
    snprintf(dkey, sizeof(dkey), "%.*s:due", (int)(strstr(ukey, "}") - ukey + 1),
             ukey);
    CHECK_INT(reply_int("ZCARD %s", dkey), 1); /* index in the user's slot */
    long long ttl = reply_int("TTL %s", ukey);
    CHECK(ttl > 7000 && ttl <= 7200);
    struct user_state *st;
    CHECK(store_load_one(s, "u-due", &st, &err) == 0);
    user_state_remove_repeat(st, 0);
    CHECK(user_state_empty(st));
    CHECK(store_save_one(s, st, 7200, NULL, &err) == 0);
    CHECK_INT(reply_int("EXISTS %s", ukey), 0);
    CHECK_INT(reply_int("ZCARD %s", dkey), 0);
    CHECK_INT(s->ops->next_due(s->ctx, TIME_MAX, user, sizeof(user), &due, &err), 0);
}

static void test_outbox_lease(struct store *s) {
    TEST("outbox: lease, expiry, confirm, order");
    struct fu_err err;
    struct plan plan;
    struct outbox_msg got[8];
    plan_init(&plan);
    for (int i = 0; i < 3; i++) {
        char v[32];
        snprintf(v, sizeof(v), "{\"n\": %d}", i);
        plan_add_take(&plan, OUT_TASKS, 1000 + i, strdup("u-ob"), strdup(v));
    }
    plan_add_take(&plan, OUT_DEAD_LETTER, 2000, NULL, strdup("{\"dl\": 1}"));
    struct user_state *st;
    CHECK(store_load_one(s, "u-ob", &st, &err) == 0);
    CHECK(store_save_one(s, st, 60, &plan, &err) == 0);
    plan_release(&plan);
    int n = s->ops->outbox_claim(s->ctx, 10000, 30, got, 8, &err);
    CHECK_INT(n, 4);
    for (int i = 0; i < n && i < 3; i++) {
        char v[32];
        snprintf(v, sizeof(v), "{\"n\": %d}", i);
        CHECK_STR(got[i].msg.value, v); /* in the order they were queued */
        CHECK_STR(got[i].msg.key, "u-ob");
        CHECK_INT(got[i].msg.at, 1000 + i);
    }
    CHECK(n == 4 && got[3].msg.key == NULL && got[3].msg.topic == OUT_DEAD_LETTER);
    struct outbox_msg again[8];
    CHECK_INT(s->ops->outbox_claim(s->ctx, 10029, 30, again, 8, &err), 0);
    int back = s->ops->outbox_claim(s->ctx, 10030, 30, again, 8, &err);
    CHECK_INT(back, 4); /* the lease ran out: the messages come back */
    for (int i = 0; i < back; i++) outbox_msg_release(&again[i]);
    CHECK(s->ops->outbox_confirm(s->ctx, got, n, &err) == 0);
    CHECK_INT(s->ops->outbox_claim(s->ctx, 99999, 30, again, 8, &err), 0);
    for (int i = 0; i < n; i++) outbox_msg_release(&got[i]);
}

/* One message of user into the outbox (saved with the user's state). */
static void queue_one(struct store *s, const char *user, const char *value) {
    struct fu_err err;
    struct plan plan;
    struct user_state *st;
    plan_init(&plan);
    plan_add_take(&plan, OUT_TASKS, 1000, strdup(user), strdup(value));
    CHECK(store_load_one(s, user, &st, &err) == 0);
    CHECK(store_save_one(s, st, 60, &plan, &err) == 0);
    plan_release(&plan);
}

/* claim.lua keeps each user's messages in the order they were written: a
 * cancel written while its call is under a lease waits for the call. */
static void test_outbox_user_order(struct store *s) {
    TEST("outbox: a user's later message waits for an earlier lease");
    struct fu_err err;
    struct outbox_msg call, got[8];
    queue_one(s, "u-ord", "{\"call\": 1}");
    CHECK_INT(s->ops->outbox_claim(s->ctx, 20000, 15, &call, 1, &err), 1);
    queue_one(s, "u-ord", "{\"cancel\": 1}");
    queue_one(s, "u-other", "{\"other\": 1}");
    int n = s->ops->outbox_claim(s->ctx, 20001, 15, got, 8, &err);
    CHECK_INT(n, 1); /* u-other only: the cancel is held behind its call */
    CHECK(n == 1 && !strcmp(got[0].msg.key, "u-other"));
    CHECK(s->ops->outbox_confirm(s->ctx, got, n, &err) == 0);
    for (int i = 0; i < n; i++) outbox_msg_release(&got[i]);
    n = s->ops->outbox_claim(s->ctx, 20014, 15, got, 8, &err);
    CHECK_INT(n, 0); /* still held while the lease lives */
    n = s->ops->outbox_claim(s->ctx, 20015, 15, got, 8, &err);
    CHECK_INT(n, 2); /* the lease ran out: the call first, then its cancel */
    CHECK(n == 2 && strstr(got[0].msg.value, "call") &&
          strstr(got[1].msg.value, "cancel"));
    CHECK(s->ops->outbox_confirm(s->ctx, got, n, &err) == 0);
    for (int i = 0; i < n; i++) outbox_msg_release(&got[i]);
    outbox_msg_release(&call);
    CHECK_INT(s->ops->outbox_claim(s->ctx, 99999, 15, got, 8, &err), 0);
}

static void test_noscript_and_reconnect(struct store *s) {
    TEST("NOSCRIPT reloads the scripts; a dropped connection reconnects");
    struct fu_err err;
    freeReplyObject(redisCommand(admin, "SCRIPT FLUSH"));
    CHECK(store_save_one(s, with_item(s, "u-ns", 700), 60, NULL, &err) == 0);
    freeReplyObject(redisCommand(admin, "CLIENT KILL TYPE normal SKIPME yes"));
    struct user_state *st = NULL;
    int rc = store_load_one(s, "u-ns", &st, &err);
    if (rc < 0) { /* the first call may see the dead connection */
        CHECK(err.code == FU_ETRANSIENT);
        struct timespec ts = {0, 300 * 1000000L};
        nanosleep(&ts, NULL);
        rc = store_load_one(s, "u-ns", &st, &err);
    }
    CHECK(rc == 0 && st && st->nrepeats == 1);
    user_state_free(st);
}

static void test_bad_urls(void) {
    TEST("bad URLs are usage errors; an unreachable server is transient");
    static const char *const bad[] = {"http://x", "redis://", "redis://h:0/0",
                                      "redis://h:99999", "redis://h:1/x",
                                      "unix://relative", NULL};
    struct store s;
    struct fu_err err;
    for (int i = 0; bad[i]; i++) {
        CHECK(store_redis_open(&s, bad[i], "fu:", 0, &err) < 0);
        CHECK(err.code == FU_EINVAL);
    }
    CHECK(store_redis_open(&s, "redis://127.0.0.1:1/0", "fu:", 0, &err) < 0);
    CHECK(err.code == FU_ETRANSIENT);
}

int main(int argc, char **argv) {
    struct store s;
    struct fu_err err;
    if (argc != 3) {
        fprintf(stderr, "usage: store_check URL PORT\n");
        return 2;
    }
    admin = redisConnect("127.0.0.1", atoi(argv[2]));
    CHECK(admin && !admin->err);
    CHECK(store_redis_open(&s, argv[1], "fu:check:", 1, &err) == 0);
    if (!s.ops) return test_report();
    test_conflict(&s);
    test_conflict_among_many(&s);
    test_index_and_ttl(&s);
    test_outbox_lease(&s);
    test_outbox_user_order(&s);
    check_pacing_store(&s); /* the same checks as on memory */
    test_noscript_and_reconnect(&s);
    test_bad_urls();
    store_close(&s);
    CHECK_INT(reply_int("DBSIZE%s", ""), 0); /* the scratch namespace is gone */
    redisFree(admin);
    return test_report();
}
