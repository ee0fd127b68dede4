/* test_limits.c -- the bounds on hostile input (README, Limits): one
 * user's state stays bounded however many events the user has (engine.h),
 * and policies past their size, rule, cap and date limits are refused
 * with a located error instead of costing minutes to check. */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "test.h"
#include "timeutil.h"
#include "yamlutil.h"

static const char *const POLICY =
    "version: 1\n"
    "defaults:\n"
    "  timezone: UTC\n"
    "  call_window: {hours: [\"00:00-24:00\"]}\n"
    "  message_window: {hours: [\"00:00-24:00\"]}\n"
    "rules:\n"
    "  - id: flood\n"
    "    on: [txn]\n"
    "    callback: {delay: 1h, expires_after: 30d, context: [data.note]}\n"
    "    reminder: {channel: sms, lead: 10m, template: t}\n";

/* A user's life driven through the engine at one-second steps. */
struct life {
    struct tzdb *db;
    struct policy *pol;
    struct user_state *st;
    struct plan plan;
    uint64_t seq;
    int64_t now;
};

static int life_init(struct life *l, struct tzdb *db) {
    struct fu_diag d = {0};
    memset(l, 0, sizeof(*l));
    l->db = db;
    l->seq = 1;
    l->pol = policy_load_buffer("p.yaml", POLICY, strlen(POLICY), db, &d);
    fu_diag_release(&d);
    l->st = user_state_new("u1");
    time_parse_rfc3339("2026-11-01T00:00:00Z", &l->now);
    plan_init(&l->plan);
    return l->pol && l->st ? 0 : -1;
}

static void life_release(struct life *l) {
    plan_release(&l->plan);
    user_state_free(l->st);
    policy_release(l->pol);
}

/* Decide one event (JSON, "%s" in it replaced by id); the plan keeps only
 * this event's messages. 0 ok. */
static int life_event(struct life *l, const char *json) {
    struct event ev;
    struct fu_err err;
    struct engine_env env = {l->now++, &l->seq, l->db};
    plan_reset(&l->plan);
    if (event_parse(json, strlen(json), l->db, &ev, &err) < 0) return -1;
    int rc = engine_on_event(l->pol, l->st, &ev, &env, &l->plan, &err);
    event_release(&ev);
    return rc;
}

static int life_txn(struct life *l, int i, const char *note) {
    char json[256];
    snprintf(json, sizeof(json),
             "{\"event_id\": \"e%d\", \"type\": \"txn\", \"user_id\": \"u1\", "
             "\"occurred_at\": \"2026-11-01T00:00:00Z\", \"data\": "
             "{\"note\": \"%s\"}}",
             i, note);
    return life_event(l, json);
}

/* 1 when the plan's only message is a decision holding text. */
static int decided(const struct life *l, const char *text) {
    return l->plan.n == 1 && l->plan.msgs[0].topic == OUT_DECISIONS &&
           strstr(l->plan.msgs[0].value, text) != NULL;
}

static int live_followups(const struct user_state *st) {
    int n = 0;
    for (int i = 0; i < st->nfollowups; i++)
        n += st->followups[i].status != FOLLOWUP_CANCELLED;
    return n;
}

static void test_many_triggers(struct tzdb *db) {
    TEST("a user's follow-ups and remembered ids stay bounded");
    struct life l;
    CHECK(life_init(&l, db) == 0);
    if (!l.pol || !l.st) return;
    int scheduled = 0, full = 0, other = 0;
    for (int i = 1; i <= 1200; i++) {
        CHECK(life_txn(&l, i, "x") == 0);
        if (decided(&l, "\"decision\": \"scheduled\""))
            scheduled++;
        else if (decided(&l, "\"reason\": \"state_full\""))
            full++;
        else
            other++;
    }
    CHECK_INT(scheduled, ENGINE_LIVE_MAX);
    CHECK_INT(full, 1200 - ENGINE_LIVE_MAX);
    CHECK_INT(other, 0);
    CHECK_INT(l.st->nfollowups, ENGINE_LIVE_MAX);
    CHECK_INT(l.st->nseen, ENGINE_SEEN_MAX);
    CHECK_STR(l.st->seen[0].event_id, "e201"); /* e1..e200 forgotten */

    TEST("dedupe covers the last ENGINE_SEEN_MAX ids of a user");
    CHECK(life_txn(&l, 1200, "x") == 0);
    CHECK(decided(&l, "\"decision\": \"duplicate\""));
    CHECK(life_txn(&l, 1, "x") == 0); /* forgotten: decided again */
    CHECK(decided(&l, "\"reason\": \"state_full\""));
    life_release(&l);
}

static void test_moves_forget_cancelled(struct tzdb *db) {
    TEST("a follow-up moved a thousand times leaves a bounded state");
    struct life l;
    char json[320];
    CHECK(life_init(&l, db) == 0);
    if (!l.pol || !l.st) return;
    CHECK(life_txn(&l, 1, "x") == 0);
    char first[STATE_ID_LEN];
    memcpy(first, l.st->followups[0].task_id, STATE_ID_LEN);
    int moved = 0;
    for (int i = 0; i < 1000; i++) {
        const struct followup *f = &l.st->followups[l.st->nfollowups - 1];
        CHECK(f->status == FOLLOWUP_PENDING);
        snprintf(json, sizeof(json),
                 "{\"event_id\": \"m%d\", \"type\": \"callback.reschedule\", "
                 "\"user_id\": \"u1\", \"occurred_at\": "
                 "\"2026-11-01T00:00:00Z\", \"data\": {\"task_id\": \"%s\", "
                 "\"at\": \"2026-11-0%dT12:00:00Z\"}}",
                 i, f->task_id, 2 + i % 2);
        CHECK(life_event(&l, json) == 0);
        moved += decided(&l, "\"reason\": \"rescheduled\"");
    }
    CHECK_INT(moved, 1000);
    CHECK(l.st->nfollowups <= ENGINE_LIVE_MAX);
    CHECK_INT(live_followups(l.st), 1);
    CHECK(user_state_find_task(l.st, first) == NULL); /* oldest forgotten */
    life_release(&l);
}

static void test_contexts_bounded(struct tzdb *db) {
    TEST("the contexts a user's follow-ups copy stay bounded");
    struct life l;
    int len = 60000;
    char *note = malloc((size_t)len + 1), *json = malloc((size_t)len + 256);
    CHECK(life_init(&l, db) == 0 && note && json);
    if (!l.pol || !l.st || !note || !json) {
        free(note);
        free(json);
        return;
    }
    memset(note, 'n', (size_t)len);
    note[len] = '\0';
    int scheduled = 0, i = 0;
    for (; i < 10; i++) {
        snprintf(json, (size_t)len + 256,
                 "{\"event_id\": \"big%d\", \"type\": \"txn\", \"user_id\": "
                 "\"u1\", \"occurred_at\": \"2026-11-01T00:00:00Z\", "
                 "\"data\": {\"note\": \"%s\"}}",
                 i, note);
        CHECK(life_event(&l, json) == 0);
        if (!decided(&l, "\"decision\": \"scheduled\"")) break;
        scheduled++;
    }
    /* each context holds the 60,000-byte note: four fit in 256 KiB */
    CHECK_INT(scheduled, ENGINE_CONTEXTS_MAX / (len + 20));
    CHECK(decided(&l, "\"reason\": \"state_full\""));
    size_t bytes = 0;
    for (int k = 0; k < l.st->nfollowups; k++)
        bytes += strlen(l.st->followups[k].context_json);
    CHECK(bytes <= ENGINE_CONTEXTS_MAX);
    free(note);
    free(json);
    life_release(&l);
}

static void test_channels_bounded(struct tzdb *db) {
    TEST("channels turned off stay bounded; the policy's own are kept");
    struct life l;
    char json[320];
    CHECK(life_init(&l, db) == 0);
    if (!l.pol || !l.st) return;
    for (int i = 0; i < 200; i++) {
        char name[16];
        snprintf(name, sizeof(name), i ? "c%d" : "sms", i);
        snprintf(json, sizeof(json),
                 "{\"event_id\": \"p%d\", \"type\": \"user.preferences\", "
                 "\"user_id\": \"u1\", \"occurred_at\": "
                 "\"2026-11-01T00:00:00Z\", \"data\": {\"channels\": "
                 "{\"%s\": false}}}",
                 i, name);
        CHECK(life_event(&l, json) == 0);
    }
    CHECK_INT(l.st->nchannels_off, ENGINE_CHANNELS_OFF_MAX);
    CHECK(!user_state_channel_on(l.st, "sms"));  /* used by the policy */
    CHECK(!user_state_channel_on(l.st, "c199")); /* the latest */
    CHECK(user_state_channel_on(l.st, "c1"));    /* forgotten */
    life_release(&l);
}

/* Loads text as a policy; 1 when refused with an error containing want. */
static int refused_with(struct tzdb *db, const char *text, size_t len,
                        const char *want) {
    struct fu_diag d = {0};
    struct policy *pol = policy_load_buffer("p.yaml", text, len, db, &d);
    int found = 0;
    for (int i = 0; i < d.n && i < d.cap; i++) /* d keeps the first */
        if (strstr(d.items[i].msg, want)) found = 1;
    if (!found && d.n) printf("    first error: %s\n", d.items[0].msg);
    policy_release(pol);
    fu_diag_release(&d);
    return pol == NULL && found;
}

/* A growing text buffer for generated policies. */
struct text {
    char *s;
    size_t n, cap;
};

static void text_add(struct text *t, const char *s) {
    size_t k = strlen(s);
    if (t->n + k + 1 > t->cap) {
        size_t cap = (t->n + k + 1) * 2;
        char *ns = realloc(t->s, cap);
        if (!ns) abort();
        t->s = ns;
        t->cap = cap;
    }
    memcpy(t->s + t->n, s, k + 1);
    t->n += k;
}

static void test_policy_limits(struct tzdb *db) {
    struct text t = {0};
    char line[128];
    const char *head = "version: 1\ndefaults: {timezone: UTC, call_window: "
                       "{hours: [\"09:00-17:00\"]}}\n";

    TEST("a policy with more than 1000 rules is refused");
    text_add(&t, head);
    text_add(&t, "rules:\n");
    for (int i = 0; i < 1001; i++) {
        snprintf(line, sizeof(line),
                 "  - {id: r%d, on: [x], callback: {delay: 1h, "
                 "expires_after: 1d}}\n", i);
        text_add(&t, line);
    }
    CHECK(refused_with(db, t.s, t.n, "too many rules (1001): at most 1000"));

    TEST("a policy with more than 100 caps is refused");
    t.n = 0;
    text_add(&t, head);
    text_add(&t, "rules: [{id: r, on: [x], callback: {delay: 1h, "
                 "expires_after: 1d}}]\ncaps:\n");
    for (int i = 0; i < 101; i++) {
        snprintf(line, sizeof(line),
                 "  - {id: c%d, count: callbacks, limit: 1, per: 1d}\n", i);
        text_add(&t, line);
    }
    CHECK(refused_with(db, t.s, t.n, "too many caps (101): at most 100"));

    TEST("more than 1000 exclude_dates are refused");
    t.n = 0;
    text_add(&t, "version: 1\ndefaults: {timezone: UTC, call_window: {hours: "
                 "[\"09:00-17:00\"], exclude_dates: [");
    for (int i = 0; i < 1001; i++) {
        snprintf(line, sizeof(line), "%s\"%04d-01-01\"", i ? ", " : "",
                 2000 + i);
        text_add(&t, line);
    }
    text_add(&t, "]}}\nrules: [{id: r, on: [x], callback: {delay: 1h, "
                 "expires_after: 1d}}]\n");
    CHECK(refused_with(db, t.s, t.n, "too many exclude_dates (1001)"));

    TEST("a policy over 1 MiB is refused before parsing");
    t.n = 0;
    text_add(&t, head);
    while (t.n <= YU_FILE_MAX) text_add(&t, "# padding padding padding\n");
    CHECK(refused_with(db, t.s, t.n, "a policy or config holds at most"));

    TEST("a mapping with many keys is checked for duplicates quickly");
    t.n = 0;
    text_add(&t, head);
    for (int i = 0; i < 40000; i++) {
        snprintf(line, sizeof(line), "k%d: 1\n", i % 20000);
        text_add(&t, line);
    }
    CHECK(refused_with(db, t.s, t.n, "duplicate key 'k0' (first at line 3)"));
    free(t.s);
}

int main(void) {
    struct tzdb *db = tzdb_new(NULL);
    test_many_triggers(db);
    test_moves_forget_cancelled(db);
    test_contexts_bounded(db);
    test_channels_bounded(db);
    test_policy_limits(db);
    tzdb_free(db);
    return test_report();
}
