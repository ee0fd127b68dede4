/* store_pacing.h -- the pacing promises of a state store (spec 4.3,
 * store.h), checked the same way on the memory store
 * (tests/test_store_memory.c) and on Redis (tests/tools/store_check.c):
 * serving order, the budget of a UTC minute spent and given back, a call
 * queued twice kept once, a lease that runs out giving its calls back,
 * the gauges. Include after test.h and store.h. */
#ifndef FU_TEST_STORE_PACING_H
#define FU_TEST_STORE_PACING_H

#include <string.h>

static struct paced_call pacing_call(const char *user, const char *task,
                                     int priority, int64_t due) {
    struct paced_call c = {(char *)user, "", priority, due, due + 600};
    snprintf(c.task_id, sizeof(c.task_id), "%s", task);
    return c;
}

static void check_pacing_store(struct store *s) {
    TEST("pacing: serving order, the minute's budget, leases, gauges");
    struct fu_err err;
    struct paced_call in[5], out[8];
    const int64_t m = 1796000040; /* a UTC minute start */
    /* task ids of 23 bytes, as the engine makes them */
    in[0] = pacing_call("u-a", "t-000000000000000000001", 20, m - 30);
    in[1] = pacing_call("u-b", "t-000000000000000000002", 90, m - 10);
    in[2] = pacing_call("u-c", "t-000000000000000000003", 20, m - 40);
    in[3] = pacing_call("u-d", "t-000000000000000000000", 20, m - 30);
    in[4] = pacing_call("u e", "t-000000000000000000004", 0, m - 50);
    CHECK(s->ops->pacing_add(s->ctx, in, 5, &err) == 0);
    CHECK(s->ops->pacing_add(s->ctx, in + 1, 1, &err) == 0); /* again */
    struct store_stats st;
    CHECK(s->ops->stats(s->ctx, &st, &err) == 0);
    CHECK_INT(st.calls_waiting, 5);
    CHECK_INT(st.oldest_waiting, m - 50);

    /* 3 a minute: priority first, then due_at, then task_id */
    int n = s->ops->pacing_take(s->ctx, m + 1, 3, 30, out, 8, &err);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_STR(out[0].task_id, "t-000000000000000000002");
        CHECK_STR(out[1].task_id, "t-000000000000000000003");
        CHECK_STR(out[2].task_id, "t-000000000000000000000");
        CHECK_STR(out[2].user_id, "u-d");
        CHECK_INT(out[0].priority, 90);
        CHECK_INT(out[1].due_at, m - 40);
    }
    for (int i = 0; i < n; i++) paced_call_release(&out[i]);
    CHECK_INT(s->ops->pacing_take(s->ctx, m + 20, 3, 30, out, 8, &err), 0);
    /* one of the three was stale: its budget comes back */
    CHECK(s->ops->pacing_done(s->ctx, in + 1, 1, m, 1, &err) == 0);
    n = s->ops->pacing_take(s->ctx, m + 21, 3, 30, out, 8, &err);
    CHECK_INT(n, 1);
    if (n == 1) CHECK_STR(out[0].task_id, "t-000000000000000000001");
    for (int i = 0; i < n; i++) paced_call_release(&out[i]);
    CHECK(s->ops->stats(s->ctx, &st, &err) == 0);
    CHECK_INT(st.calls_waiting, 4); /* 1 queued, 3 taken and not done */
    CHECK_INT(st.budget_used, 3);

    /* the next minute: the lease of the calls not done ran out at m + 31
     * and m + 51, so they are served again, best first, with the rest */
    n = s->ops->pacing_take(s->ctx, m + 60, 0, 30, out, 8, &err);
    CHECK_INT(n, 4);
    if (n == 4) {
        CHECK_STR(out[0].task_id, "t-000000000000000000003");
        CHECK_STR(out[1].task_id, "t-000000000000000000000");
        CHECK_STR(out[2].task_id, "t-000000000000000000001");
        CHECK_STR(out[3].task_id, "t-000000000000000000004");
        CHECK_STR(out[3].user_id, "u e");
    }
    CHECK(s->ops->pacing_done(s->ctx, out, n, m + 60, 0, &err) == 0);
    for (int i = 0; i < n; i++) paced_call_release(&out[i]);
    CHECK(s->ops->pacing_done(s->ctx, in, 5, m + 60, 0, &err) == 0);
    CHECK(s->ops->stats(s->ctx, &st, &err) == 0);
    CHECK_INT(st.calls_waiting, 0);
    CHECK_INT(st.oldest_waiting, TIME_NONE);
}

#endif
