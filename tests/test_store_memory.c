/* test_store_memory.c -- the memory store shared by two threads
 * (store_memory_share, the daemon's intake and emitter): a stale save
 * conflicts and writes nothing, versions outlive empty states, and two
 * threads saving the same users with retries lose no update and no
 * outbox message. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "test.h"
#include "timeutil.h"
#include "store_pacing.h"

static int save_seen(struct store *s, struct user_state *st, const char *id,
                     int with_msg, int *conflict) {
    struct fu_err err;
    struct plan plan;
    plan_init(&plan);
    if (user_state_add_seen(st, id, 1000000) < 0) return -1;
    if (with_msg &&
        plan_add_take(&plan, OUT_DECISIONS, 1, strdup(st->user_id), strdup(id)) < 0)
        return -1;
    struct store_write w = {st, 3600, &plan, 0};
    int rc = s->ops->save(s->ctx, &w, 1, &err);
    plan_release(&plan);
    *conflict = w.conflict;
    return rc;
}

static void test_stale_save(struct store *a, struct store *b) {
    TEST("a save over a stale load conflicts and writes nothing");
    struct user_state *x, *y;
    struct fu_err err;
    int conflict = -1;
    CHECK(store_load_one(a, "u1", &x, &err) == 0);
    CHECK(store_load_one(b, "u1", &y, &err) == 0);
    CHECK(save_seen(a, x, "ev-a", 0, &conflict) == 0 && conflict == 0);
    CHECK(save_seen(b, y, "ev-b", 0, &conflict) == 0 && conflict == 1);
    CHECK(store_load_one(b, "u1", &y, &err) == 0);
    CHECK(y->nseen == 1 && !strcmp(y->seen[0].event_id, "ev-a"));
    TEST("a load hands out a copy: the stored state stays for the other");
    CHECK(store_load_one(a, "u1", &x, &err) == 0);
    CHECK(x->nseen == 1 && x != y && x->version == y->version);
    user_state_free(x);
    user_state_free(y);
}

static void test_empty_keeps_version(struct store *a, struct store *b) {
    TEST("a user saved empty keeps its version: an older copy conflicts");
    struct user_state *x, *y;
    struct fu_err err;
    CHECK(store_load_one(a, "u2", &x, &err) == 0);
    CHECK(store_load_one(b, "u2", &y, &err) == 0);
    struct store_write w = {x, 3600, NULL, 0};
    CHECK(a->ops->save(a->ctx, &w, 1, &err) == 0 && !w.conflict);
    int conflict = -1;
    CHECK(save_seen(b, y, "ev", 0, &conflict) == 0 && conflict == 1);
    CHECK(store_load_one(b, "u2", &y, &err) == 0);
    CHECK(y->nseen == 0 && y->version == 1);
    user_state_free(y);
}

/* ---- Two threads on the same users ---- */

#define USERS 4
#define SAVES 500

struct worker {
    struct store *s;
    const char *tag;
    int saved, conflicts, failed;
};

static void *work(void *arg) {
    struct worker *wk = arg;
    struct fu_err err;
    for (int i = 0; i < SAVES * USERS; i++) {
        char user[16], id[32];
        snprintf(user, sizeof(user), "t%d", i % USERS);
        snprintf(id, sizeof(id), "%s-%d", wk->tag, i);
        for (;;) {
            struct user_state *st;
            int conflict = 0;
            if (store_load_one(wk->s, user, &st, &err) < 0 ||
                save_seen(wk->s, st, id, 1, &conflict) < 0) {
                wk->failed++;
                break;
            }
            if (!conflict) break;
            wk->conflicts++;
        }
        wk->saved++;
    }
    return NULL;
}

static void test_two_threads(struct store *a, struct store *b) {
    TEST("two threads saving the same users lose no update");
    struct worker wa = {a, "a", 0, 0, 0}, wb = {b, "b", 0, 0, 0};
    pthread_t ta, tb;
    CHECK(pthread_create(&ta, NULL, work, &wa) == 0);
    CHECK(pthread_create(&tb, NULL, work, &wb) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK_INT(wa.failed + wb.failed, 0);
    CHECK_INT(wa.saved + wb.saved, 2 * SAVES * USERS);
    struct fu_err err;
    for (int u = 0; u < USERS; u++) {
        char user[16];
        struct user_state *st;
        snprintf(user, sizeof(user), "t%d", u);
        CHECK(store_load_one(a, user, &st, &err) == 0);
        CHECK_INT(st->nseen, 2 * SAVES);
        CHECK_INT(st->version, 2 * SAVES);
        user_state_free(st);
    }
    TEST("and every save's outbox message is queued once");
    struct outbox_msg *msgs = calloc(4 * SAVES * USERS, sizeof(*msgs));
    int n = a->ops->outbox_claim(a->ctx, 10, 30, msgs, 4 * SAVES * USERS, &err);
    CHECK_INT(n, 2 * SAVES * USERS);
    CHECK(b->ops->outbox_confirm(b->ctx, msgs, n, &err) == 0);
    for (int i = 0; i < n; i++) outbox_msg_release(&msgs[i]);
    CHECK_INT(a->ops->outbox_claim(a->ctx, 100, 30, msgs, 1, &err), 0);
    free(msgs);
    printf("  (%d conflicts retried)\n", wa.conflicts + wb.conflicts);
}

int main(void) {
    struct store a, b;
    struct fu_err err;
    CHECK(store_memory_open(&a, &err) == 0);
    CHECK(store_memory_share(&a, &b, &err) == 0);
    TEST("a shared store cannot be shared again");
    struct store c;
    CHECK(store_memory_share(&a, &c, &err) < 0 && err.code == FU_EINVAL);
    test_stale_save(&a, &b);
    test_empty_keeps_version(&a, &b);
    test_two_threads(&a, &b);
    TEST("closing one handle leaves the other working");
    store_close(&a);
    struct user_state *st;
    CHECK(store_load_one(&b, "t0", &st, &err) == 0 && st->nseen == 2 * SAVES);
    user_state_free(st);
    store_close(&b);
    CHECK(store_memory_open(&a, &err) == 0);
    check_pacing_store(&a); /* the same checks as on Redis (store_check) */
    store_close(&a);
    return test_report();
}
