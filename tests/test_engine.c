/* test_engine.c -- the engine through its API: ids that survive a policy
 * reload, retention, which events matter (spec 4, Dedupe), the memory
 * store's due order, free functions. The decision rules themselves are
 * covered by the simulate stories. */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "store.h"
#include "test.h"
#include "timeutil.h"

static const char *const POLICY =
    "version: 1\n"
    "defaults:\n"
    "  timezone: Asia/Shanghai\n"
    "  call_window: {hours: [\"00:00-24:00\"]}\n"
    "  dedupe_for: 1d\n"
    "caps:\n"
    "  - {id: calls, count: callbacks, limit: 5, per: 30d}\n"
    "rules:\n"
    "  - id: r\n"
    "    on: [ping]\n"
    "    callback: {delay: 1h, expires_after: 2d}\n";

static struct policy *load(struct tzdb *db, const char *extra) {
    char buf[2048];
    struct fu_diag d = {0};
    snprintf(buf, sizeof(buf), "%s%s", POLICY, extra);
    struct policy *pol = policy_load_buffer("p.yaml", buf, strlen(buf), db, &d);
    fu_diag_release(&d);
    return pol;
}

static int parse(struct tzdb *db, const char *json, struct event *ev) {
    struct fu_err err;
    return event_parse(json, strlen(json), db, ev, &err);
}

/* The value of "key": "..." in the first decision of plan, into out. */
static void field(const struct plan *plan, int i, const char *key, char *out,
                  size_t size) {
    char pat[64];
    out[0] = '\0';
    if (i >= plan->n) return;
    snprintf(pat, sizeof(pat), "\"%s\": \"", key);
    const char *p = strstr(plan->msgs[i].value, pat);
    if (!p) return;
    p += strlen(pat);
    size_t n = strcspn(p, "\"");
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), p);
}

static void test_ids_survive_reload(struct tzdb *db) {
    TEST("task ids do not depend on the policy version");
    struct policy *a = load(db, ""), *b = load(db, "# a comment\n");
    struct event ev;
    struct plan plan;
    uint64_t seq = 1;
    char id_a[64], id_b[64], v_a[64], v_b[64];
    CHECK(a && b);
    if (!a || !b) return;
    CHECK(strcmp(a->version, b->version) != 0);
    CHECK(parse(db, "{\"event_id\": \"e1\", \"type\": \"ping\", \"user_id\": "
                    "\"u1\", \"occurred_at\": \"2026-11-01T00:00:00Z\"}",
                &ev) == 0);
    struct engine_env env = {time_from_epoch_ms(1793491200000), &seq, db};
    plan_init(&plan);
    const struct policy *pols[2] = {a, b};
    char *ids[2] = {id_a, id_b}, *vs[2] = {v_a, v_b};
    for (int i = 0; i < 2; i++) {
        struct user_state *st = user_state_new("u1");
        CHECK(engine_on_event(pols[i], st, &ev, &env, &plan, NULL) == 0);
        CHECK_INT(plan.n, 1);
        field(&plan, 0, "task_id", ids[i], 64);
        field(&plan, 0, "policy_version", vs[i], 64);
        plan_reset(&plan);
        user_state_free(st);
    }
    CHECK_STR(id_a, id_b);
    CHECK(strncmp(id_a, "t-", 2) == 0 && strlen(id_a) == 23);
    CHECK(strcmp(v_a, v_b) != 0);
    plan_release(&plan);
    event_release(&ev);
    policy_release(a);
    policy_release(b);
}

static void test_retention(struct tzdb *db) {
    TEST("prune and keep_until follow dedupe_for and the cap window");
    struct policy *pol = load(db, "");
    struct event ev;
    struct plan plan;
    uint64_t seq = 1;
    int64_t t0;
    CHECK(pol != NULL);
    if (!pol) return;
    time_parse_rfc3339("2026-11-01T00:00:00Z", &t0);
    CHECK(parse(db, "{\"event_id\": \"e1\", \"type\": \"ping\", \"user_id\": "
                    "\"u1\", \"occurred_at\": \"2026-11-01T00:00:00Z\"}",
                &ev) == 0);
    struct user_state *st = user_state_new("u1");
    struct engine_env env = {t0, &seq, db};
    plan_init(&plan);
    CHECK(engine_on_event(pol, st, &ev, &env, &plan, NULL) == 0);
    /* pending: until expiry (t0+1h+2d) plus the 30d cap window */
    CHECK_INT(engine_keep_until(pol, st), t0 + 3600 + 2 * 86400 + 30 * 86400);
    env.now = t0 + 3600; /* the call is due: emit it */
    plan_reset(&plan);
    CHECK_INT(engine_on_due(pol, st, &env, &plan, NULL), 1);
    CHECK_INT(plan.n, 1);
    CHECK(plan.n == 1 && plan.msgs[0].topic == OUT_TASKS);
    CHECK_INT(engine_on_due(pol, st, &env, &plan, NULL), 0);
    /* emitted at t0+1h: kept for caps until due + 30d (> expiry + 1d) */
    CHECK_INT(engine_keep_until(pol, st), t0 + 3600 + 30 * 86400);
    engine_prune(pol, st, t0 + 86400); /* the event id is forgotten */
    CHECK_INT(st->nseen, 0);
    CHECK_INT(st->nfollowups, 1);
    engine_prune(pol, st, t0 + 3600 + 30 * 86400);
    CHECK_INT(st->nfollowups, 0);
    CHECK(user_state_empty(st));
    plan_release(&plan);
    user_state_free(st);
    event_release(&ev);
    policy_release(pol);
}

static const char *const BIG_RULE =
    "  - id: big\n"
    "    on: [txn]\n"
    "    when: [data.amount >= 100]\n"
    "    callback: {delay: 1h, expires_after: 2d}\n";

static void test_event_matters(struct tzdb *db) {
    TEST("engine_event_matters: built-ins, timezone, on and when");
    struct policy *pol = load(db, BIG_RULE);
    CHECK(pol != NULL);
    if (!pol) return;
    static const struct { const char *json; int matters; } cases[] = {
        {"\"type\": \"ping\"", 1},
        {"\"type\": \"txn\", \"data\": {\"amount\": 150}", 1},
        {"\"type\": \"txn\", \"data\": {\"amount\": 100}", 1},
        {"\"type\": \"txn\", \"data\": {\"amount\": 99.5}", 0},
        {"\"type\": \"txn\", \"data\": {\"amount\": \"150\"}", 0},
        {"\"type\": \"txn\"", 0},
        {"\"type\": \"pong\", \"data\": {\"amount\": 150}", 0},
        {"\"type\": \"pong\", \"timezone\": \"Europe/Berlin\"", 1},
        {"\"type\": \"txn\", \"timezone\": \"Asia/Shanghai\", "
         "\"data\": {\"amount\": 1}", 1},
        {"\"type\": \"user.preferences\", \"data\": {}", 1},
        {"\"type\": \"callback.outcome\", \"data\": {\"task_id\": \"t-1\", "
         "\"outcome\": \"busy\"}", 1},
        {"\"type\": \"callback.reschedule\", \"data\": {\"task_id\": \"t-1\", "
         "\"at\": \"2026-11-02T00:00:00Z\"}", 1},
        {NULL, 0}};
    for (int i = 0; cases[i].json; i++) {
        char buf[512];
        struct event ev;
        snprintf(buf, sizeof(buf), "{\"event_id\": \"e\", \"user_id\": \"u1\", "
                 "\"occurred_at\": \"2026-11-01T00:00:00Z\", %s}", cases[i].json);
        CHECK(parse(db, buf, &ev) == 0);
        CHECK_INT(engine_event_matters(pol, &ev), cases[i].matters);
        if (engine_event_matters(pol, &ev) != cases[i].matters)
            printf("    case %d: %s\n", i, cases[i].json);
        event_release(&ev);
    }
    policy_release(pol);
}

static void test_untouched_leaves_no_trace(struct tzdb *db) {
    TEST("an event that does not matter changes no state and writes nothing");
    struct policy *pol = load(db, BIG_RULE);
    struct event small, big, ping;
    struct plan plan;
    uint64_t seq = 7;
    int64_t t0;
    CHECK(pol != NULL);
    if (!pol) return;
    time_parse_rfc3339("2026-11-01T00:00:00Z", &t0);
    CHECK(parse(db, "{\"event_id\": \"x\", \"type\": \"txn\", \"user_id\": "
                    "\"u1\", \"occurred_at\": \"2026-11-01T00:00:00Z\", "
                    "\"data\": {\"amount\": 5}}", &small) == 0);
    CHECK(parse(db, "{\"event_id\": \"x\", \"type\": \"txn\", \"user_id\": "
                    "\"u1\", \"occurred_at\": \"2026-11-01T00:00:00Z\", "
                    "\"data\": {\"amount\": 500}}", &big) == 0);
    CHECK(parse(db, "{\"event_id\": \"p\", \"type\": \"ping\", \"user_id\": "
                    "\"u1\", \"occurred_at\": \"2026-11-01T00:00:00Z\"}",
                &ping) == 0);
    struct user_state *st = user_state_new("u1");
    struct engine_env env = {t0, &seq, db};
    plan_init(&plan);
    /* a remembered id that is old enough to be pruned by a decision */
    CHECK(engine_on_event(pol, st, &ping, &env, &plan, NULL) == 0);
    CHECK_INT(st->nseen, 1);
    plan_reset(&plan);
    uint64_t seq_before = seq;
    env.now = t0 + 86400; /* dedupe_for (1d) later */
    CHECK(engine_on_event(pol, st, &small, &env, &plan, NULL) == 0);
    CHECK_INT(plan.n, 0);
    CHECK_INT(plan.ignored, 0);
    CHECK(plan.note == NULL);
    CHECK_INT(st->nseen, 1); /* x not remembered, p not even pruned */
    CHECK_STR(st->seen[0].event_id, "p");
    CHECK_INT(seq, seq_before);
    /* the same id again, now matching: decided as new, not a duplicate */
    CHECK(engine_on_event(pol, st, &big, &env, &plan, NULL) == 0);
    char decision[32];
    field(&plan, 0, "decision", decision, sizeof(decision));
    CHECK_STR(decision, "scheduled");
    CHECK_INT(st->nseen, 1); /* p pruned now, x remembered */
    CHECK_STR(st->seen[0].event_id, "x");
    plan_release(&plan);
    user_state_free(st);
    event_release(&small);
    event_release(&big);
    event_release(&ping);
    policy_release(pol);
}

static void test_memory_store_order(void) {
    TEST("the memory store hands out users by (due, seq)");
    struct store s;
    struct fu_err err;
    char user[64];
    int64_t due;
    CHECK(store_memory_open(&s, &err) == 0);
    const char *users[3] = {"late", "b-second", "a-first"};
    int64_t dues[3] = {300, 100, 100};
    uint64_t seqs[3] = {1, 3, 2};
    for (int i = 0; i < 3; i++) {
        struct user_state *st;
        CHECK(store_load_one(&s, users[i], &st, &err) == 0);
        struct repeat_timer *t = user_state_add_repeat(st);
        t->rule_id = strdup("r");
        t->decide_at = dues[i];
        t->seq = seqs[i];
        CHECK(store_save_one(&s, st, 3600, NULL, &err) == 0);
    }
    CHECK_INT(s.ops->next_due(s.ctx, 99, user, sizeof(user), &due, &err), 0);
    const char *order[3] = {"a-first", "b-second", "late"};
    for (int i = 0; i < 3; i++) {
        struct user_state *st;
        CHECK_INT(s.ops->next_due(s.ctx, 1000, user, sizeof(user), &due, &err), 1);
        CHECK_STR(user, order[i]);
        CHECK(store_load_one(&s, user, &st, &err) == 0);
        user_state_remove_repeat(st, 0);
        CHECK(store_save_one(&s, st, 3600, NULL, &err) == 0);
    }
    CHECK_INT(s.ops->next_due(s.ctx, TIME_MAX, user, sizeof(user), &due, &err), 0);
    store_close(&s);
    store_close(&s); /* a closed store closes again harmlessly */
}

static void test_memory_outbox(void) {
    TEST("memory outbox: FIFO, lease, expiry, confirm");
    struct store s;
    struct fu_err err;
    struct plan plan;
    struct outbox_msg got[4], again[4];
    struct user_state *st;
    CHECK(store_memory_open(&s, &err) == 0);
    plan_init(&plan);
    plan_add_take(&plan, OUT_TASKS, 10, strdup("u"), strdup("{\"n\": 1}"));
    CHECK(store_load_one(&s, "u", &st, &err) == 0);
    CHECK(store_save_one(&s, st, 60, &plan, &err) == 0);
    plan_reset(&plan);
    plan_add_take(&plan, OUT_REMINDERS, 11, strdup("v"), strdup("{\"n\": 2}"));
    CHECK(store_load_one(&s, "v", &st, &err) == 0);
    CHECK(store_save_one(&s, st, 60, &plan, &err) == 0);
    plan_release(&plan);
    CHECK_INT(s.ops->outbox_claim(s.ctx, 100, 5, got, 1, &err), 1);
    CHECK_STR(got[0].msg.value, "{\"n\": 1}");
    CHECK_INT(s.ops->outbox_claim(s.ctx, 100, 5, got + 1, 3, &err), 1);
    CHECK_STR(got[1].msg.value, "{\"n\": 2}");
    CHECK_INT(s.ops->outbox_claim(s.ctx, 104, 5, again, 4, &err), 0);
    CHECK(s.ops->outbox_confirm(s.ctx, got, 1, &err) == 0);
    int n = s.ops->outbox_claim(s.ctx, 105, 5, again, 4, &err);
    CHECK_INT(n, 1); /* the unconfirmed one is back, the confirmed one gone */
    CHECK(n == 1 && again[0].msg.topic == OUT_REMINDERS);
    for (int i = 0; i < n; i++) outbox_msg_release(&again[i]);
    CHECK(s.ops->outbox_confirm(s.ctx, got + 1, 1, &err) == 0);
    CHECK_INT(s.ops->outbox_claim(s.ctx, 1000, 5, again, 4, &err), 0);
    outbox_msg_release(&got[0]);
    outbox_msg_release(&got[1]);
    store_close(&s);
}

/* A user's messages leave in the order they were written: a cancel
 * written while its call is under a lease (a daemon died, or the broker
 * gave up, before the call was confirmed) waits for the call. */
static void test_memory_outbox_user_order(void) {
    TEST("memory outbox: a user's later message waits for an earlier lease");
    struct store s;
    struct fu_err err;
    struct plan plan;
    struct outbox_msg call, other[4];
    struct user_state *st;
    CHECK(store_memory_open(&s, &err) == 0);
    plan_init(&plan);
    plan_add_take(&plan, OUT_TASKS, 10, strdup("u"), strdup("{\"call\": 1}"));
    CHECK(store_load_one(&s, "u", &st, &err) == 0);
    CHECK(store_save_one(&s, st, 60, &plan, &err) == 0);
    CHECK_INT(s.ops->outbox_claim(s.ctx, 100, 15, &call, 1, &err), 1);
    /* then the cancel of u, and a message of another user */
    plan_reset(&plan);
    plan_add_take(&plan, OUT_TASKS, 12, strdup("u"), strdup("{\"cancel\": 1}"));
    CHECK(store_load_one(&s, "u", &st, &err) == 0);
    CHECK(store_save_one(&s, st, 60, &plan, &err) == 0);
    plan_reset(&plan);
    plan_add_take(&plan, OUT_TASKS, 12, strdup("w"), strdup("{\"w\": 1}"));
    CHECK(store_load_one(&s, "w", &st, &err) == 0);
    CHECK(store_save_one(&s, st, 60, &plan, &err) == 0);
    plan_release(&plan);
    int n = s.ops->outbox_claim(s.ctx, 101, 15, other, 4, &err);
    CHECK_INT(n, 1); /* w only: u's cancel is held behind its call */
    CHECK(n == 1 && !strcmp(other[0].msg.key, "w"));
    for (int i = 0; i < n; i++) outbox_msg_release(&other[i]);
    /* the lease runs out: the call comes back first, with its cancel
     * behind it in the same claim (one producer keeps their order) */
    n = s.ops->outbox_claim(s.ctx, 115, 15, other, 4, &err);
    CHECK_INT(n, 2);
    CHECK(n == 2 && strstr(other[0].msg.value, "call") &&
          strstr(other[1].msg.value, "cancel"));
    for (int i = 0; i < n; i++) outbox_msg_release(&other[i]);
    outbox_msg_release(&call);
    store_close(&s);
}

static void test_outbox_codec(void) {
    TEST("outbox messages survive encode and decode");
    struct out_msg in[3] = {{OUT_TASKS, 1795136400, (char *)"u-42", (char *)"{\"a\": 1}"},
                            {OUT_DEAD_LETTER, 0, NULL, (char *)"{\"b\": \"x\\ny\"}"},
                            {OUT_DECISIONS, -5, (char *)"u 7", (char *)""}};
    for (int i = 0; i < 3; i++) {
        struct out_msg back;
        char *s = outbox_encode(&in[i]);
        CHECK(s && outbox_decode(s, strlen(s), &back) == 0);
        CHECK_INT(back.topic, in[i].topic);
        CHECK_INT(back.at, in[i].at);
        CHECK(in[i].key ? back.key && !strcmp(back.key, in[i].key) : !back.key);
        CHECK_STR(back.value, in[i].value);
        free(back.key);
        free(back.value);
        free(s);
    }
    static const char *const bad[] = {"", "x", "1 2 k", "9 2 k\nv", "1 x k\nv",
                                      "1 2\nv", NULL};
    for (int i = 0; bad[i]; i++) {
        struct out_msg back;
        CHECK(outbox_decode(bad[i], strlen(bad[i]), &back) < 0);
    }
}

static void test_free_null(void) {
    TEST("free functions accept NULL");
    struct plan plan;
    user_state_free(NULL);
    policy_release(NULL);
    store_close(NULL);
    plan_init(&plan);
    plan_release(&plan);
    CHECK(1); /* reaching here without a crash is the test */
}

/* Spec 4.1: "When a reload switches the mode on, follow-ups already
 * pending for users without consent are not emitted: each, when it falls
 * due, is cancelled with reason no_consent instead; their reminders, when
 * due, are dropped; tasks already emitted are left alone." Reschedules by
 * such a user are ignored like stale outcomes. */
static const char *const CONSENT_BASE =
    "version: 1\n"
    "defaults:\n"
    "  timezone: UTC\n"
    "  call_window: {hours: [\"00:00-24:00\"]}\n"
    "  message_window: {hours: [\"00:00-24:00\"]}\n"
    "%s"
    "rules:\n"
    "  - id: now\n"
    "    on: [ping]\n"
    "    callback: {expires_after: 1d}\n"
    "  - id: later\n"
    "    on: [txn]\n"
    "    callback: {delay: 2h, expires_after: 1d}\n"
    "    reminder: {channel: sms, lead: 1h, template: n}\n";

static struct policy *consent_policy(struct tzdb *db, int required) {
    char buf[1024];
    struct fu_diag d = {0};
    snprintf(buf, sizeof(buf), CONSENT_BASE,
             required ? "  require_consent: true\n" : "");
    struct policy *pol = policy_load_buffer("p.yaml", buf, strlen(buf), db, &d);
    fu_diag_release(&d);
    return pol;
}

/* Decide json at now under pol into a fresh plan; 0 ok. */
static int decide_at(struct tzdb *db, const struct policy *pol,
                     struct user_state *st, const char *json, int64_t now,
                     uint64_t *seq, struct plan *plan) {
    struct event ev;
    struct engine_env env = {now, seq, db};
    plan_reset(plan);
    if (parse(db, json, &ev) < 0) return -1;
    int rc = engine_on_event(pol, st, &ev, &env, plan, NULL);
    event_release(&ev);
    return rc;
}

static void test_consent_switched_on(struct tzdb *db) {
    TEST("a reload that requires consent cancels pending follow-ups when due");
    struct policy *off = consent_policy(db, 0), *on = consent_policy(db, 1);
    struct user_state *st = user_state_new("u1");
    struct plan plan;
    uint64_t seq = 1;
    int64_t t0;
    char v[64];
    CHECK(off && on && st);
    if (!off || !on || !st) return;
    plan_init(&plan);
    time_parse_rfc3339("2026-11-01T00:00:00Z", &t0);
    struct engine_env env = {t0, &seq, db};
    /* under the old policy: a task out at 00:00, a follow-up pending for
     * 02:00 with its reminder at 01:00 */
    CHECK(decide_at(db, off, st, "{\"event_id\": \"p\", \"type\": \"ping\", "
                    "\"user_id\": \"u1\", \"occurred_at\": "
                    "\"2026-11-01T00:00:00Z\"}", t0, &seq, &plan) == 0);
    CHECK(decide_at(db, off, st, "{\"event_id\": \"t\", \"type\": \"txn\", "
                    "\"user_id\": \"u1\", \"occurred_at\": "
                    "\"2026-11-01T00:00:00Z\"}", t0, &seq, &plan) == 0);
    plan_reset(&plan);
    CHECK_INT(engine_on_due(off, st, &env, &plan, NULL), 1); /* the ping */
    CHECK(plan.n == 1 && plan.msgs[0].topic == OUT_TASKS);
    CHECK_INT(st->nfollowups, 2);
    char pending[STATE_ID_LEN];
    memcpy(pending, st->followups[1].task_id, STATE_ID_LEN);

    /* the reload: a reschedule is ignored, the reminder dropped silently */
    char json[256];
    snprintf(json, sizeof(json),
             "{\"event_id\": \"r\", \"type\": \"callback.reschedule\", "
             "\"user_id\": \"u1\", \"occurred_at\": "
             "\"2026-11-01T00:10:00Z\", \"data\": {\"task_id\": \"%s\", "
             "\"at\": \"2026-11-01T05:00:00Z\"}}",
             pending);
    CHECK(decide_at(db, on, st, json, t0 + 600, &seq, &plan) == 0);
    CHECK_INT(plan.n, 0);
    CHECK_INT(plan.ignored, 1);
    env.now = t0 + 3600;
    plan_reset(&plan);
    CHECK_INT(engine_on_due(on, st, &env, &plan, NULL), 1);
    CHECK_INT(plan.n, 0);
    CHECK_INT(st->followups[1].reminder_status, REMINDER_DROPPED);
    /* the task falls due: a cancelled record naming its trigger */
    env.now = t0 + 7200;
    CHECK_INT(engine_on_due(on, st, &env, &plan, NULL), 1);
    CHECK_INT(plan.n, 1);
    field(&plan, 0, "decision", v, sizeof(v));
    CHECK_STR(v, "cancelled");
    field(&plan, 0, "reason", v, sizeof(v));
    CHECK_STR(v, "no_consent");
    field(&plan, 0, "event_id", v, sizeof(v));
    CHECK_STR(v, "t");
    field(&plan, 0, "task_id", v, sizeof(v));
    CHECK_STR(v, pending);
    /* the task already emitted is left alone: no cancel, still callable */
    CHECK_INT(st->followups[0].status, FOLLOWUP_EMITTED);
    CHECK_INT(engine_on_due(on, st, &env, &plan, NULL), 0);
    plan_release(&plan);
    user_state_free(st);
    policy_release(off);
    policy_release(on);
}

int main(void) {
    struct tzdb *db = tzdb_new(NULL);
    test_ids_survive_reload(db);
    test_retention(db);
    test_event_matters(db);
    test_untouched_leaves_no_trace(db);
    test_memory_store_order();
    test_outbox_codec();
    test_memory_outbox();
    test_memory_outbox_user_order();
    test_free_null();
    test_consent_switched_on(db);
    tzdb_free(db);
    return test_report();
}
