/* test_batch.c -- lib/batch.c against a store that counts its calls:
 * events that do not matter (spec 4, Dedupe) cost no store work at all;
 * the others are loaded and saved once per batch. */
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "store.h"
#include "test.h"
#include "timeutil.h"

static const char *const POLICY =
    "version: 1\n"
    "defaults:\n"
    "  timezone: Asia/Shanghai\n"
    "  call_window: {hours: [\"00:00-24:00\"]}\n"
    "  dedupe_for: 1d\n"
    "rules:\n"
    "  - id: big\n"
    "    on: [txn]\n"
    "    when: [data.amount >= 100]\n"
    "    callback: {delay: 1h, expires_after: 2d}\n";

/* ---- A store that counts the calls it passes on to the memory store ---- */

struct counting {
    struct store inner;
    int loads, saves, users_loaded;
    char loaded[8][16]; /* the first users loaded */
};

static int c_load(void *ctx, const char *const *users, int n,
                  struct user_state **out, struct fu_err *err) {
    struct counting *c = ctx;
    c->loads++;
    for (int i = 0; i < n; i++, c->users_loaded++)
        if (c->users_loaded < 8)
            snprintf(c->loaded[c->users_loaded], 16, "%s", users[i]);
    return c->inner.ops->load(c->inner.ctx, users, n, out, err);
}

static int c_save(void *ctx, struct store_write *w, int n,
                  struct fu_err *err) {
    struct counting *c = ctx;
    c->saves++;
    return c->inner.ops->save(c->inner.ctx, w, n, err);
}

static int c_next_due(void *ctx, int64_t until, char *buf, size_t size,
                      int64_t *due, struct fu_err *err) {
    struct counting *c = ctx;
    return c->inner.ops->next_due(c->inner.ctx, until, buf, size, due, err);
}

static int c_due_users(void *ctx, int64_t now, char **users, int max,
                       struct fu_err *err) {
    struct counting *c = ctx;
    return c->inner.ops->due_users(c->inner.ctx, now, users, max, err);
}

static int c_claim(void *ctx, int64_t now, int lease, struct outbox_msg *out,
                   int max, struct fu_err *err) {
    struct counting *c = ctx;
    return c->inner.ops->outbox_claim(c->inner.ctx, now, lease, out, max, err);
}

static int c_confirm(void *ctx, const struct outbox_msg *msgs, int n,
                     struct fu_err *err) {
    struct counting *c = ctx;
    return c->inner.ops->outbox_confirm(c->inner.ctx, msgs, n, err);
}

static void c_free(void *ctx) {
    struct counting *c = ctx;
    store_close(&c->inner);
}

static const struct store_ops counting_ops = {
    c_load, c_save, c_next_due, c_due_users, c_claim, c_confirm, c_free, NULL,
    NULL,   NULL,   NULL};

/* ---- Helpers ---- */

static int parse_all(struct tzdb *db, const char *const *lines,
                     struct event *evs) {
    int n = 0;
    for (; lines[n]; n++) {
        struct fu_err err;
        if (event_parse(lines[n], strlen(lines[n]), db, &evs[n], &err) < 0)
            return -1;
    }
    return n;
}

static void release_all(struct event *evs, int n) {
    for (int i = 0; i < n; i++) event_release(&evs[i]);
}

/* Claim and confirm the whole outbox; returns how many messages it held
 * and copies the value of the first into first (may be NULL). */
static int drain_outbox(struct store *s, char *first, size_t size) {
    struct outbox_msg msgs[16];
    struct fu_err err;
    int total = 0, n;
    while ((n = s->ops->outbox_claim(s->ctx, 0, 60, msgs, 16, &err)) > 0) {
        if (first && total == 0)
            snprintf(first, size, "%s", msgs[0].msg.value);
        s->ops->outbox_confirm(s->ctx, msgs, n, &err);
        for (int i = 0; i < n; i++) outbox_msg_release(&msgs[i]);
        total += n;
    }
    return total;
}

#define EV(id, user, amount)                                                 \
    "{\"event_id\": \"" id "\", \"type\": \"txn\", \"user_id\": \"" user    \
    "\", \"occurred_at\": \"2026-11-01T00:00:00Z\", \"data\": {\"amount\": " \
    amount "}}"

/* ---- Tests ---- */

static void test_batches(struct tzdb *db, const struct policy *pol) {
    struct counting c;
    struct store s = {&counting_ops, &c};
    struct fu_err err;
    struct event evs[8];
    struct batch_stats st;
    uint64_t seq = 1;
    int64_t now;
    char first[1024];
    memset(&c, 0, sizeof(c));
    time_parse_rfc3339("2026-11-01T00:00:00Z", &now);
    CHECK(store_memory_open(&c.inner, &err) == 0);

    TEST("a batch of events that match no rule makes no store call");
    static const char *const quiet[] = {EV("x1", "u-1", "5"),
                                        EV("x2", "u-2", "99"),
                                        EV("x1", "u-1", "5"), NULL};
    int n = parse_all(db, quiet, evs);
    CHECK_INT(n, 3);
    memset(&st, 0, sizeof(st));
    CHECK(batch_decide(pol, &s, db, evs, n, now, &seq, &st, &err) == 0);
    CHECK_INT(c.loads, 0);
    CHECK_INT(c.saves, 0);
    CHECK_INT(st.load_calls + st.save_calls, 0);
    CHECK_INT(st.events, 3);
    CHECK_INT(st.untouched, 3);
    CHECK_INT(st.users, 0);
    CHECK_INT(st.messages, 0);
    CHECK_INT(drain_outbox(&s, NULL, 0), 0);
    release_all(evs, n);

    TEST("a mixed batch loads and saves only the users that matter");
    static const char *const mixed[] = {EV("e1", "u-1", "500"),
                                        EV("x3", "u-2", "1"),
                                        EV("x4", "u-1", "2"), NULL};
    n = parse_all(db, mixed, evs);
    CHECK_INT(n, 3);
    memset(&st, 0, sizeof(st));
    CHECK(batch_decide(pol, &s, db, evs, n, now, &seq, &st, &err) == 0);
    CHECK_INT(c.loads, 1);
    CHECK_INT(c.saves, 1);
    CHECK_INT(c.users_loaded, 1);
    CHECK_STR(c.loaded[0], "u-1");
    CHECK_INT(st.untouched, 2);
    CHECK_INT(st.users, 1);
    CHECK_INT(drain_outbox(&s, first, sizeof(first)), 1);
    CHECK(strstr(first, "\"event_id\": \"e1\"") != NULL);
    release_all(evs, n);
    struct user_state *u1 = NULL, *u2 = NULL;
    CHECK(store_load_one(&c.inner, "u-1", &u1, &err) == 0);
    CHECK(store_load_one(&c.inner, "u-2", &u2, &err) == 0);
    CHECK(u1 && u1->nseen == 1 && !strcmp(u1->seen[0].event_id, "e1"));
    CHECK(u2 && user_state_empty(u2)); /* never written */
    user_state_free(u1);
    user_state_free(u2);

    TEST("an id first seen not matching is decided when it matches later");
    static const char *const again[] = {EV("x2", "u-2", "150"),
                                        EV("x2", "u-2", "150"), NULL};
    n = parse_all(db, again, evs);
    CHECK_INT(n, 2);
    memset(&st, 0, sizeof(st));
    CHECK(batch_decide(pol, &s, db, evs, n, now + 60, &seq, &st, &err) == 0);
    CHECK_INT(st.untouched, 0);
    CHECK_INT(drain_outbox(&s, first, sizeof(first)), 2);
    CHECK(strstr(first, "\"decision\": \"scheduled\"") != NULL);
    CHECK(strstr(first, "\"event_id\": \"x2\"") != NULL);
    release_all(evs, n);

    store_close(&s);
}

int main(void) {
    struct tzdb *db = tzdb_new(NULL);
    struct fu_diag d = {0};
    struct policy *pol = policy_load_buffer("p.yaml", POLICY, strlen(POLICY),
                                            db, &d);
    CHECK(pol != NULL);
    if (pol) test_batches(db, pol);
    policy_release(pol);
    fu_diag_release(&d);
    tzdb_free(db);
    return test_report();
}
