/* test_state_codec.c -- a user's state survives encode -> decode ->
 * encode unchanged, with every kind of item in it; damaged values are
 * refused with a message, never half-read. */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "state_codec.h"
#include "test.h"
#include "timeutil.h"

static const char *const POLICY =
    "version: 1\n"
    "defaults:\n"
    "  timezone: Asia/Shanghai\n"
    "  call_window: {hours: [\"09:00-18:00\"]}\n"
    "  message_window: {hours: [\"08:00-21:00\"]}\n"
    "rules:\n"
    "  - id: r\n"
    "    on: [ping]\n"
    "    callback: {delay: 1h, expires_after: 2d, script: s, context: [data.x]}\n"
    "    reminder: {channel: sms, lead: 30m, template: t}\n"
    "  - id: w\n"
    "    on: [reg]\n"
    "    callback: {delay: 1d, expires_after: 1d}\n"
    "    repeat: {every: 7d, times: 3}\n";

static const char *const EVENTS[] = {
    "{\"event_id\": \"e1\", \"type\": \"ping\", \"user_id\": \"u\", "
    "\"occurred_at\": \"2026-11-02T01:00:00Z\", \"data\": {\"x\": \"a\\\"b\"}}",
    "{\"event_id\": \"e2\", \"type\": \"reg\", \"user_id\": \"u\", "
    "\"occurred_at\": \"2026-11-02T01:05:00Z\"}",
    "{\"event_id\": \"p1\", \"type\": \"user.preferences\", \"user_id\": \"u\", "
    "\"occurred_at\": \"2026-11-02T01:10:00Z\", \"timezone\": \"Europe/Berlin\", "
    "\"data\": {\"channels\": {\"email\": false}, \"call_window\": "
    "{\"days\": [\"mon\", \"fri\"], \"hours\": [\"10:00-11:00\", \"15:00-16:00\"], "
    "\"exclude_dates\": [\"2026-12-25\"]}}}",
    NULL};

static struct user_state *build_state(const struct policy *pol,
                                      struct tzdb *db) {
    struct user_state *st = user_state_new("u");
    struct plan plan;
    uint64_t seq = 1;
    plan_init(&plan);
    for (int i = 0; EVENTS[i]; i++) {
        struct event ev;
        struct fu_err err;
        CHECK(event_parse(EVENTS[i], strlen(EVENTS[i]), db, &ev, &err) == 0);
        struct engine_env env = {ev.occurred_at, &seq, db};
        CHECK(engine_on_event(pol, st, &ev, &env, &plan, &err) == 0);
        event_release(&ev);
    }
    struct engine_env later = {st->followups[0].due_at, &seq, db};
    while (engine_on_due(pol, st, &later, &plan, NULL) == 1) {
    }
    plan_release(&plan);
    return st;
}

static void test_roundtrip(const struct policy *pol, struct tzdb *db) {
    TEST("encode -> decode -> encode is the identity");
    struct user_state *st = build_state(pol, db);
    struct fu_err err;
    CHECK(st->nfollowups >= 2 && st->nrepeats == 1 && st->nseen == 3);
    CHECK(st->has_call_window && st->nchannels_off == 1 && st->timezone);
    char *a = state_encode(st);
    CHECK(a != NULL);
    struct user_state *back = a ? state_decode(a, strlen(a), &err) : NULL;
    CHECK(back != NULL);
    char *b = back ? state_encode(back) : NULL;
    CHECK_STR(b, a);
    if (back) {
        CHECK(window_equal(&back->call_window, &st->call_window));
        CHECK_INT(back->followups[0].reminder_status,
                  st->followups[0].reminder_status);
        CHECK_STR(back->followups[0].context_json, st->followups[0].context_json);
        CHECK_INT(back->repeats[0].decide_at, st->repeats[0].decide_at);
        CHECK_INT(back->cooldown_until, TIME_NONE);
    }
    free(a);
    free(b);
    user_state_free(back);
    user_state_free(st);
}

static void test_damaged(void) {
    TEST("damaged values are refused");
    static const char *const bad[] = {
        "", "not json", "[]", "{\"v\": 2, \"u\": \"x\"}", "{\"v\": 1}",
        "{\"v\": 1, \"u\": \"x\", \"f\": [[\"t-1\", 5]]}",
        "{\"v\": 1, \"u\": \"x\", \"f\": [[\"t-1\", \"r\", \"e\", \"ty\", \"x\"]]}",
        "{\"v\": 1, \"u\": \"x\", \"cw\": [1, [600], []], \"s\": [\"e\", 1]}",
        "{\"v\": 1, \"u\": \"x\", \"cd\": [\"soon\"]}",
        NULL};
    for (int i = 0; bad[i]; i++) {
        struct fu_err err;
        memset(&err, 0, sizeof(err));
        struct user_state *st = state_decode(bad[i], strlen(bad[i]), &err);
        CHECK(st == NULL);
        CHECK(err.code == FU_EFATAL && err.msg[0]);
        user_state_free(st);
    }
    struct fu_err err;
    const char *ok = "{\"v\": 1, \"u\": \"x\"}";
    struct user_state *st = state_decode(ok, strlen(ok), &err);
    CHECK(st && user_state_empty(st)); /* missing lists read as empty */
    user_state_free(st);
}

int main(void) {
    struct tzdb *db = tzdb_new(NULL);
    struct fu_diag d = {0};
    struct policy *pol =
        policy_load_buffer("p.yaml", POLICY, strlen(POLICY), db, &d);
    CHECK(pol != NULL);
    if (pol) test_roundtrip(pol, db);
    test_damaged();
    policy_release(pol);
    fu_diag_release(&d);
    tzdb_free(db);
    return test_report();
}
