/* test_state_codec.c -- a user's state survives encode -> decode ->
 * encode unchanged, with every kind of item in it; damaged values are
 * refused with a message, never half-read.
 *
 * The decoder is a hand-written parser over a buffer that is not
 * NUL-terminated, so the damaged inputs here are copied into buffers of
 * their exact size (ASan then sees any read past the end): every
 * truncation of a real state, random byte changes, a wrong type in each
 * field, numbers at and past int64, nesting at jansson's limit and far
 * beyond it. The decoder it replaced used jansson; the lenient spots it
 * had (values of the wrong type it ignored, unknown keys, repeated keys)
 * are pinned down here too. */
#include <inttypes.h>
#include <stdint.h>
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
    "    repeat: {every: 7d, times: 3}\n"
    "  - id: m\n"
    "    on: [reg]\n"
    "    callback: {expires_after: 1d}\n"
    "    message: {channel: email, template: survey, delay: 3d,\n"
    "              expires_after: 2d, context: [type]}\n"
    "    repeat: {every: 30d, times: 2}\n";

static const char *const EVENTS[] = {
    "{\"event_id\": \"e1\", \"type\": \"ping\", \"user_id\": \"u\", "
    "\"occurred_at\": \"2026-11-02T01:00:00Z\", \"data\": {\"x\": \"a\\\"b\"}}",
    "{\"event_id\": \"p0\", \"type\": \"user.preferences\", \"user_id\": "
    "\"u\", \"occurred_at\": \"2026-11-02T01:04:00Z\", \"data\": "
    "{\"follow_up_by\": \"message\"}}",
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
    CHECK(st->nfollowups >= 3 && st->nrepeats == 2 && st->nseen == 4);
    CHECK_INT(st->follow_up_by, FOLLOW_UP_MESSAGE);
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
        CHECK_INT(back->follow_up_by, FOLLOW_UP_MESSAGE);
        int msgs = 0;
        for (int i = 0; i < back->nfollowups; i++) {
            const struct followup *f = &back->followups[i];
            if (f->kind != FOLLOWUP_MESSAGE) continue;
            msgs++;
            CHECK(f->task_id[0] == 'm');
            CHECK_STR(f->message_channel, "email");
            CHECK_STR(f->message_template, "survey");
        }
        CHECK(msgs >= 1); /* a zone change re-planned it: two */
        CHECK_INT(back->repeats[1].kind, FOLLOWUP_MESSAGE);
    }
    free(a);
    free(b);
    user_state_free(back);
    user_state_free(st);
}

static void test_damaged(void) {
    TEST("damaged values are refused");
    static const char *const bad[] = {
        "", "not json", "[]", "{\"v\": 4, \"u\": \"x\"}", "{\"v\": 1}",
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

/* ---- Helpers ---- */

/* Decode text[0..len) from a copy of exactly len bytes. */
static struct user_state *decode_exact(const char *text, size_t len,
                                       struct fu_err *err) {
    char *copy = malloc(len ? len : 1);
    struct user_state *st;
    memcpy(copy, text, len);
    memset(err, 0, sizeof(*err));
    st = state_decode(copy, len, err);
    free(copy);
    return st;
}

static struct user_state *decode_str(const char *text, struct fu_err *err) {
    return decode_exact(text, strlen(text), err);
}

/* 1 when text is refused with FU_EFATAL and a message starting with
 * prefix. */
static int refused(const char *text, const char *prefix) {
    struct fu_err err;
    struct user_state *st = decode_str(text, &err);
    int ok = !st && err.code == FU_EFATAL &&
             !strncmp(err.msg, prefix, strlen(prefix));
    if (!ok)
        printf("    %s\n    -> %s\n", text, st ? "accepted" : err.msg);
    user_state_free(st);
    return ok;
}

static const char NOT_V1[] = "stored user state is not in format v3: ";
static const char DAMAGED[] = "stored user state is damaged: ";

/* A state with an extreme or awkward value in every field. */
static struct user_state *odd_state(void) {
    struct user_state *st = user_state_new("u \"q\" \\ \x01\x1f\x7f caf\xc3\xa9");
    struct followup *f;
    struct repeat_timer *t;
    char big[5000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[10] = '"';
    big[20] = '\\';
    big[30] = '\n';
    st->timezone = strdup("America/Argentina/Buenos_Aires");
    st->has_call_window = 1;
    st->call_window.days = 0x41;
    for (int i = 0; i < WINDOW_MAX_RANGES; i++)
        window_add_range(&st->call_window, i * 60, i * 60 + 59);
    for (int i = 0; i < 40; i++)
        window_exclude_date(&st->call_window, -30 + 7 * i);
    st->opted_out = 1;
    user_state_set_channel(st, "sms", 0);
    user_state_set_channel(st, "\xe2\x82\xac\xf0\x9f\x98\x80", 0); /* €😀 */
    st->cooldown_from = INT64_MIN + 1;
    st->cooldown_until = INT64_MAX;
    st->prefs_at = 0;
    user_state_add_seen(st, "", INT64_MIN);
    user_state_add_seen(st, big, INT64_MAX);
    f = user_state_add_followup(st);
    memset(f->task_id, 'T', sizeof(f->task_id) - 1);
    f->rule_id = strdup("");
    f->trigger_event_id = strdup(big);
    f->trigger_type = strdup("\t");
    f->trigger_at = INT64_MIN;
    f->occurrence = INT32_MAX;
    f->attempt = INT32_MIN;
    f->reschedules = -1;
    f->planned = INT64_MAX;
    f->seq = UINT64_MAX;
    f->status = FOLLOWUP_CANCELLED;
    f->emitted_at = INT64_MIN + 1;
    f->priority = -7;
    f->context_json = strdup("{\"a\": \"\\u00e9\\n\"}");
    memset(f->policy_version, 'p', sizeof(f->policy_version) - 1);
    f->reminder_status = REMINDER_DROPPED;
    strcpy(f->reminder_id, "r-");
    f->reminder_channel = strdup("email");
    f->reminder_at = -1;
    f->reminder_seq = (uint64_t)INT64_MAX + 1;
    f = user_state_add_followup(st); /* the zero task, but its ids */
    f->rule_id = strdup("r");
    f->trigger_event_id = strdup("e");
    f->trigger_type = strdup("t");
    t = user_state_add_repeat(st);
    t->rule_id = strdup("w");
    t->trigger_event_id = strdup("\xf4\x8f\xbf\xbf"); /* U+10FFFF */
    t->trigger_type = strdup("reg");
    t->trigger_at = -86400;
    t->occurrence = 3;
    t->nominal = INT64_MAX;
    t->decide_at = INT64_MIN;
    t->seq = 1;
    return st;
}

/* state_encode(st), whitespace added after every ',' and ':' outside
 * strings (the spaced style of the older tests' texts). */
static char *encode_spaced(const struct user_state *st) {
    char *a = state_encode(st), *b = malloc(strlen(a) * 3 + 1), *o = b;
    int in_str = 0;
    for (const char *p = a; *p; p++) {
        *o++ = *p;
        if (in_str && *p == '\\') {
            *o++ = *++p;
        } else if (*p == '"') {
            in_str = !in_str;
        } else if (!in_str && (*p == ',' || *p == ':')) {
            *o++ = ' ';
            *o++ = '\n';
        }
    }
    *o = '\0';
    free(a);
    return b;
}

/* ---- Round trips ---- */

static void test_roundtrip_odd(void) {
    TEST("extreme values, escapes and UTF-8 survive a round trip");
    struct user_state *st = odd_state();
    struct fu_err err;
    char *a = state_encode(st), *spaced = encode_spaced(st);
    struct user_state *back = decode_str(a, &err);
    char *b = back ? state_encode(back) : NULL;
    CHECK(back != NULL);
    CHECK_STR(b, a);
    if (back) {
        CHECK_STR(back->user_id, st->user_id);
        CHECK(window_equal(&back->call_window, &st->call_window));
        CHECK_INT(back->followups[0].seq == UINT64_MAX, 1);
        CHECK_INT(back->followups[0].trigger_at == INT64_MIN, 1);
        CHECK_INT(back->followups[0].emitted_at, INT64_MIN + 1);
        CHECK_INT(back->followups[1].emitted_at, TIME_NONE);
        CHECK(back->followups[1].script == NULL);
        CHECK_STR(back->seen[1].event_id, st->seen[1].event_id);
        CHECK_STR(back->channels_off[1], "\xe2\x82\xac\xf0\x9f\x98\x80");
        CHECK_STR(back->repeats[0].trigger_event_id, "\xf4\x8f\xbf\xbf");
        CHECK_INT(back->cooldown_until, INT64_MAX);
    }
    user_state_free(back);
    free(b);
    back = decode_str(spaced, &err); /* whitespace anywhere between tokens */
    b = back ? state_encode(back) : NULL;
    CHECK_STR(b, a);
    user_state_free(back);
    free(b);
    free(spaced);
    free(a);
    user_state_free(st);
}

static void test_decode_golden(void) {
    TEST("a hand-written text decodes to the fields it names");
    static const char text[] =
        "{\"v\":1,\"u\":\"\\u0075-\\ud83d\\ude00\",\"tz\":\"Asia/Tokyo\","
        "\"cw\":[3,[600,660],[5,2,5]],\"oo\":1,\"co\":[\"sms\",\"sms\",\"a\\/b\"],"
        "\"cd\":[null,7],\"s\":[\"e1\",11,\"e2\",12],"
        "\"f\":[[\"t-1\",\"r\",\"e\",\"ty\",1,2,3,4,5,6,7,8,9,1,null,2,"
        "\"scr\",\"{}\",\"pv\",1,\"r-1\",\"sms\",\"tpl\",10,11]],"
        "\"r\":[[\"w\",\"e2\",\"reg\",1,null,2,3,4,5]]}";
    struct fu_err err;
    struct user_state *st = decode_str(text, &err);
    CHECK(st != NULL);
    if (!st) {
        printf("    %s\n", err.msg);
        return;
    }
    CHECK_STR(st->user_id, "u-\xf0\x9f\x98\x80");
    CHECK_STR(st->timezone, "Asia/Tokyo");
    CHECK(st->has_call_window && st->call_window.days == 3);
    CHECK_INT(st->call_window.nranges, 1);
    CHECK_INT(st->call_window.nexclude, 2); /* sorted, unique: 2, 5 */
    CHECK_INT(st->call_window.exclude[0], 2);
    CHECK_INT(st->call_window.exclude[1], 5);
    CHECK_INT(st->opted_out, 1);
    CHECK_INT(st->nchannels_off, 2); /* "sms" once */
    CHECK_STR(st->channels_off[1], "a/b");
    CHECK_INT(st->cooldown_from, TIME_NONE);
    CHECK_INT(st->cooldown_until, 7);
    CHECK_INT(st->prefs_at, TIME_NONE); /* missing: read as none */
    CHECK_INT(st->nseen, 2);
    CHECK_STR(st->seen[1].event_id, "e2");
    CHECK_INT(st->seen[1].decided_at, 12);
    CHECK_INT(st->nfollowups, 1);
    CHECK_STR(st->followups[0].task_id, "t-1");
    CHECK_INT(st->followups[0].not_after, 8);
    CHECK_INT(st->followups[0].seq, 9);
    CHECK_INT(st->followups[0].status, FOLLOWUP_EMITTED);
    CHECK_INT(st->followups[0].emitted_at, TIME_NONE);
    CHECK_STR(st->followups[0].reminder_template, "tpl");
    CHECK_INT(st->followups[0].reminder_seq, 11);
    CHECK_INT(st->nrepeats, 1);
    CHECK(st->repeats[0].context_json == NULL);
    CHECK_INT(st->repeats[0].seq, 5);
    user_state_free(st);
}

static void test_versions(void) {
    TEST("fields missing at the end read as zero; fields added are skipped");
    struct fu_err err;
    /* written by an older version: a task with its first 4 fields */
    struct user_state *st = decode_str(
        "{\"v\":1,\"u\":\"x\",\"f\":[[\"t-1\",\"r\",\"e\",\"ty\"]],"
        "\"r\":[[\"w\",\"e\",\"t\"]],\"cd\":[]}", &err);
    CHECK(st && st->nfollowups == 1 && st->nrepeats == 1);
    if (st) {
        CHECK_INT(st->followups[0].emitted_at, TIME_NONE);
        CHECK_INT(st->followups[0].due_at, 0);
        CHECK(st->followups[0].reminder_channel == NULL);
        CHECK_INT(st->cooldown_until, TIME_NONE);
    }
    user_state_free(st);
    /* written by a newer version: more fields and keys of every kind */
    st = decode_str(
        "{\"v\":1,\"new\":{\"a\":[1,2.5e3,{\"b\":null}],\"c\":\"\\u00e9\"},"
        "\"u\":\"x\",\"f\":[[\"t-1\",\"r\",\"e\",\"ty\",1,1,1,0,2,3,4,5,6,0,"
        "null,0,null,\"{}\",\"p\",0,\"\",null,null,0,0,0,null,null,0,\"extra\",[1,{}],"
        "-0.5]],\"cw\":[1,[0,1440],[],{\"more\":true}],\"zz\":[]}", &err);
    CHECK(st && st->nfollowups == 1 && st->has_call_window);
    user_state_free(st);
}

/* ---- Damage ---- */

static void test_truncated(const struct user_state *st) {
    TEST("every truncation of a real state is refused");
    char *text = state_encode(st);
    size_t len = strlen(text), bad = 0;
    for (size_t i = 0; i < len; i++) {
        struct fu_err err;
        struct user_state *back = decode_exact(text, i, &err);
        if (back || err.code != FU_EFATAL ||
            strncmp(err.msg, NOT_V1, sizeof(NOT_V1) - 1)) {
            if (!bad++)
                printf("    at %zu: %s\n", i, back ? "accepted" : err.msg);
        }
        user_state_free(back);
    }
    CHECK_INT(bad, 0);
    free(text);
}

static uint64_t rng = 20261102;

static uint32_t rnd(uint32_t n) { /* xorshift64*, fixed seed */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 32) % n;
}

static void test_byte_flips(const struct user_state *st) {
    TEST("random byte changes are refused or read consistently");
    char *text = state_encode(st);
    size_t len = strlen(text);
    char *buf = malloc(len);
    int accepted = 0, unstable = 0, silent = 0;
    for (int it = 0; it < 20000; it++) {
        struct fu_err err;
        struct user_state *back;
        memcpy(buf, text, len);
        for (int k = 1 + (int)rnd(3); k > 0; k--) {
            size_t at = rnd((uint32_t)len);
            if (rnd(2))
                buf[at] ^= (char)(1u << rnd(8));
            else
                buf[at] = "{}[],:\"\\0123456789-.eEnul \x00\x80\xff"[rnd(29)];
        }
        back = decode_exact(buf, len, &err);
        if (back) { /* then it reads the same again */
            char *a = state_encode(back), *b;
            struct user_state *again = decode_str(a, &err);
            b = again ? state_encode(again) : NULL;
            accepted++;
            if (!b || strcmp(a, b)) unstable++;
            free(a);
            free(b);
            user_state_free(again);
        } else if (err.code != FU_EFATAL ||
                   strncmp(err.msg, "stored user state is ", 21)) {
            silent++;
        }
        user_state_free(back);
    }
    CHECK_INT(unstable, 0);
    CHECK_INT(silent, 0);
    CHECK(accepted > 0 && accepted < 20000); /* both paths were taken */
    free(buf);
    free(text);
}

/* A task (25 fields) or repeat timer (9) with field i replaced. */
static char *item_with(int repeat, int i, const char *value) {
    static const char *const task[] = {
        "\"t-1\"", "\"r\"", "\"e\"", "\"ty\"", "1", "1", "1", "0", "2", "3",
        "4", "5", "6", "0", "null", "0", "null", "\"{}\"", "\"p\"", "1",
        "\"r-1\"", "\"sms\"", "\"tpl\"", "7", "8"};
    static const char *const timer[] = {"\"w\"", "\"e2\"", "\"reg\"", "1",
                                        "\"{}\"", "2", "3", "4", "5"};
    const char *const *f = repeat ? timer : task;
    int n = repeat ? 9 : 25;
    char *out = malloc(1024);
    size_t m = (size_t)sprintf(out, "{\"v\":1,\"u\":\"x\",\"%s\":[[",
                               repeat ? "r" : "f");
    for (int j = 0; j < n; j++)
        m += (size_t)sprintf(out + m, "%s%s", j ? "," : "", j == i ? value : f[j]);
    sprintf(out + m, "]]}");
    return out;
}

static void test_wrong_types(void) {
    TEST("a value of the wrong type in any field is refused");
    /* what each field is: i integer, t integer or null, s string or null,
     * S string (required), d id (string or null) */
    static const char task_kind[] = "dSSSiiiiiiiiiitissdidssii";
    static const char timer_kind[] = "SSSisiiii";
    static const char *const not_int[] = {"\"1\"", "1.0", "true", "[]",
                                          "{}", NULL};
    static const char *const not_str[] = {"1", "true", "[\"a\"]", "{}", NULL};
    for (int repeat = 0; repeat < 2; repeat++) {
        const char *kind = repeat ? timer_kind : task_kind;
        for (int i = 0; kind[i]; i++) {
            int is_int = kind[i] == 'i' || kind[i] == 't';
            const char *const *bad = is_int ? not_int : not_str;
            for (int b = 0; bad[b]; b++) {
                char *text = item_with(repeat, i, bad[b]);
                CHECK(refused(text, DAMAGED));
                free(text);
            }
            /* null is the zero value of every kind but 'i' and 'S' */
            char *text = item_with(repeat, i, "null");
            if (kind[i] == 'i' || kind[i] == 'S')
                CHECK(refused(text, DAMAGED));
            free(text);
        }
    }
    /* the item itself must be an array */
    CHECK(refused("{\"v\":1,\"u\":\"x\",\"f\":[5]}", DAMAGED));
    CHECK(refused("{\"v\":1,\"u\":\"x\",\"r\":[{}]}", DAMAGED));
    CHECK(refused("{\"v\":1,\"u\":\"x\",\"f\":[[\"t\",\"r\",\"e\",\"ty\","
                  "0,0,0,0,0,0,0,0,0,0,null,0,null,null,\"\",1]]}",
                  DAMAGED)); /* a reminder without a channel */
}

static void test_top_level_types(void) {
    TEST("top-level keys: refused or ignored as the jansson decoder did");
    static const char *const bad[][2] = {
        {"{\"v\":\"1\",\"u\":\"x\"}", NOT_V1},
        {"{\"v\":1.0,\"u\":\"x\"}", NOT_V1},
        {"{\"v\":true,\"u\":\"x\"}", NOT_V1},
        {"{\"u\":\"x\"}", NOT_V1},
        {"{\"v\":1,\"u\":5}", NOT_V1},
        {"{\"v\":1,\"u\":null}", NOT_V1},
        {"{\"v\":1,\"u\":\"x\",\"cw\":5}", DAMAGED},
        {"{\"v\":1,\"u\":\"x\",\"cw\":[]}", DAMAGED},
        {"{\"v\":1,\"u\":\"x\",\"cw\":[127,[600,540],[]]}", DAMAGED},
        {"{\"v\":1,\"u\":\"x\",\"cw\":[127,[600,1441],[]]}", DAMAGED},
        {"{\"v\":1,\"u\":\"x\",\"cw\":[128,[600,660],[]]}", DAMAGED},
        {"{\"v\":1,\"u\":\"x\",\"cw\":[127,[],[]]}", DAMAGED},
        {"{\"v\":1,\"u\":\"x\",\"cw\":[127,[600,660],{}]}", DAMAGED},
        {"{\"v\":1,\"u\":\"x\",\"cw\":[127,[600,660]]}", DAMAGED},
        {"{\"v\":1,\"u\":\"x\",\"co\":[5]}", DAMAGED},
        {"{\"v\":1,\"u\":\"x\",\"co\":[\"sms\",null]}", DAMAGED},
        {"{\"v\":1,\"u\":\"x\",\"cd\":[1,2,\"x\"]}", DAMAGED},
        {"{\"v\":1,\"u\":\"x\",\"cd\":[true]}", DAMAGED},
        {"{\"v\":1,\"u\":\"x\",\"s\":[5,1]}", DAMAGED},
        {"{\"v\":1,\"u\":\"x\",\"s\":[\"a\",1,null,2]}", DAMAGED},
        {NULL, NULL}};
    for (int i = 0; bad[i][0]; i++) CHECK(refused(bad[i][0], bad[i][1]));

    /* Spots the old decoder read leniently, kept so that no stored state
     * that read before is refused now. */
    static const char *const lenient[] = {
        "{\"v\":1,\"u\":\"x\",\"tz\":5}",            /* zone: default */
        "{\"v\":1,\"u\":\"x\",\"tz\":null}",
        "{\"v\":1,\"u\":\"x\",\"cw\":null}",         /* no own window */
        "{\"v\":1,\"u\":\"x\",\"co\":\"sms\"}",      /* not a list: none */
        "{\"v\":1,\"u\":\"x\",\"co\":{}}",
        "{\"v\":1,\"u\":\"x\",\"cd\":5}",
        "{\"v\":1,\"u\":\"x\",\"s\":{}}",
        "{\"v\":1,\"u\":\"x\",\"f\":\"x\"}",
        "{\"v\":1,\"u\":\"x\",\"r\":7}",
        "{\"v\":1,\"u\":\"x\",\"oo\":\"yes\"}",      /* not opted out */
        "{\"v\":1,\"u\":\"x\",\"s\":[\"e\",\"soon\",5]}", /* time 0; odd end */
        "{\"v\":1,\"u\":\"x\",\"cw\":[127,[\"a\",600],[1.5,[]]]}",
        "{\"v\":1,\"u\":\"x\",\"cw\":[129,[0,600],[]]}", /* days & 0x7f */
        NULL};
    for (int i = 0; lenient[i]; i++) {
        struct fu_err err;
        struct user_state *st = decode_str(lenient[i], &err);
        CHECK(st != NULL);
        if (!st) printf("    %s\n    -> %s\n", lenient[i], err.msg);
        user_state_free(st);
    }
    struct fu_err err;
    struct user_state *st = decode_str(lenient[10], &err);
    CHECK(st && st->nseen == 1 && st->seen[0].decided_at == 0);
    user_state_free(st);
    st = decode_str(lenient[11], &err); /* "a" read as 0, 1.5 as day 0 */
    CHECK(st && st->call_window.ranges[0].start == 0 &&
          st->call_window.nexclude == 1 && st->call_window.exclude[0] == 0);
    user_state_free(st);
    st = decode_str(lenient[9], &err);
    CHECK(st && st->opted_out == 0);
    user_state_free(st);
}

static void test_numbers(void) {
    TEST("integers must fit int64; reals are fine where nothing reads them");
    struct fu_err err;
    struct user_state *st = decode_str(
        "{\"v\":1,\"u\":\"x\",\"cd\":[-9223372036854775808,"
        "9223372036854775807,-0]}", &err);
    CHECK(st && st->cooldown_from == INT64_MIN &&
          st->cooldown_until == INT64_MAX && st->prefs_at == 0);
    user_state_free(st);
    CHECK(refused("{\"v\":1,\"u\":\"x\",\"cd\":[9223372036854775808]}", NOT_V1));
    CHECK(refused("{\"v\":1,\"u\":\"x\",\"cd\":[-9223372036854775809]}", NOT_V1));
    CHECK(refused("{\"v\":1,\"u\":\"x\",\"z\":123456789012345678901234567890}",
                  NOT_V1));
    CHECK(refused("{\"v\":1,\"u\":\"x\",\"z\":1e400}", NOT_V1));
    CHECK(refused("{\"v\":1,\"u\":\"x\",\"z\":-1E+309}", NOT_V1));
    static const char *const bad_syntax[] = {"01", "-", "1.", ".5", "1e", "+1",
                                             "1.e5", "-01", "0x10", "1e+",
                                             "- 1", "NaN", "Infinity", NULL};
    for (int i = 0; bad_syntax[i]; i++) {
        char text[128];
        snprintf(text, sizeof(text), "{\"v\":1,\"u\":\"x\",\"z\":%s}", bad_syntax[i]);
        CHECK(refused(text, NOT_V1));
    }
    static const char *const fine[] = {"1e-400", "1.7976931348623157e308",
                                       "123456789012345678901234567890.5",
                                       "-0.0", "0e0", "1E5", NULL};
    for (int i = 0; fine[i]; i++) {
        char text[128];
        snprintf(text, sizeof(text), "{\"v\":1,\"u\":\"x\",\"z\":%s}", fine[i]);
        st = decode_str(text, &err);
        CHECK(st != NULL);
        if (!st) printf("    %s -> %s\n", text, err.msg);
        user_state_free(st);
    }
}

/* {"v":1,"u":"x","z": + n nested arrays (objects) around 1 + }. */
static char *nested(int n, int obj) {
    char *text = malloc((size_t)n * 6 + 64), *p = text;
    p += sprintf(p, "{\"v\":1,\"u\":\"x\",\"z\":");
    for (int i = 0; i < n; i++) p += sprintf(p, "%s", obj ? "{\"k\":" : "[");
    *p++ = '1';
    for (int i = 0; i < n; i++) *p++ = obj ? '}' : ']';
    strcpy(p, "}");
    return text;
}

static void test_nesting(void) {
    TEST("nesting: jansson's 2048 levels read, deeper refused, no recursion");
    struct fu_err err;
    for (int obj = 0; obj < 2; obj++) {
        /* root 1, "z" 2: n containers put the 1 at level n + 2 */
        char *ok = nested(2046, obj), *deep = nested(2047, obj);
        char *huge = nested(200000, obj);
        struct user_state *st = decode_str(ok, &err);
        CHECK(st != NULL);
        user_state_free(st);
        CHECK(refused(deep, NOT_V1));
        CHECK(refused(huge, NOT_V1));
        free(ok);
        free(deep);
        free(huge);
    }
}

static void test_strings(void) {
    TEST("strings: escapes, surrogates and UTF-8 as strict as jansson");
    static const char *const bad[] = {
        "\"\\u0000\"", "\"a\\u0000\"", "\"\\ud800\"", "\"\\udc00\"",
        "\"\\ud800\\u0041\"", "\"\\ud800\\ud800\"", "\"\\ud83d\"", "\"\\u12\"",
        "\"\\uZZZZ\"", "\"\\x\"", "\"\\'\"", "\"a\tb\"", "\"a\nb\"",
        "\"\xc3\"", "\"\xc3\x28\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"",
        "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xf8\x88\x80\x80\x80\"",
        "\"\xff\"", "\"\x80\"", "\"abc", "\"abc\\", "\"abc\\\"", NULL};
    for (int i = 0; bad[i]; i++) {
        char text[128];
        snprintf(text, sizeof(text), "{\"v\":1,\"u\":%s}", bad[i]);
        CHECK(refused(text, NOT_V1));
        snprintf(text, sizeof(text), "{\"v\":1,\"u\":\"x\",\"z\":[%s]}", bad[i]);
        CHECK(refused(text, NOT_V1));
        snprintf(text, sizeof(text), "{\"v\":1,\"u\":\"x\",%s:1}", bad[i]);
        CHECK(refused(text, NOT_V1));
    }
    static const char *const good[][2] = {
        {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t"},
        {"\"\\u00e9\\u20AC\\ud83d\\ude00\"", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
        {"\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf"},
        {"\"\\u0001\\u007f\"", "\x01\x7f"},
        {"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"",
         "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f"},
        {"\"\"", ""},
        {NULL, NULL}};
    for (int i = 0; good[i][0]; i++) {
        char text[128];
        struct fu_err err;
        struct user_state *st;
        snprintf(text, sizeof(text), "{\"v\":1,\"u\":%s}", good[i][0]);
        st = decode_str(text, &err);
        CHECK(st != NULL);
        if (st) CHECK_STR(st->user_id, good[i][1]);
        user_state_free(st);
    }
    /* keys are compared unescaped, as jansson did */
    struct fu_err err;
    struct user_state *st = decode_str("{\"\\u0076\":1,\"\\u0075\":\"y\"}", &err);
    CHECK(st && !strcmp(st->user_id, "y"));
    user_state_free(st);
    /* an id longer than its field is cut, as snprintf did */
    st = decode_str("{\"v\":1,\"u\":\"x\",\"f\":[[\"t-123456789012345678901234"
                    "567890\\u00e9\",\"r\",\"e\",\"t\"]]}", &err);
    CHECK(st && strlen(st->followups[0].task_id) == STATE_ID_LEN - 1);
    user_state_free(st);
}

static void test_syntax(void) {
    TEST("syntax errors are refused with their byte offset");
    static const char *const bad[] = {
        "{\"v\":1,\"u\":\"x\"", "{\"v\":1,\"u\":\"x\",}", "{\"v\":1,\"u\":\"x\"}x",
        "{\"v\":1,\"u\":\"x\"}{}", "{\"v\":1 \"u\":\"x\"}", "{\"v\" 1,\"u\":\"x\"}",
        "{\"v\":1,,\"u\":\"x\"}", "{v:1,\"u\":\"x\"}", "{'v':1,\"u\":\"x\"}",
        "{\"v\":1,\"u\":\"x\",\"z\":[1,]}", "{\"v\":1,\"u\":\"x\",\"z\":[,1]}",
        "{\"v\":1,\"u\":\"x\",\"z\":[1 2]}", "{\"v\":1,\"u\":\"x\",\"z\":nul}",
        "{\"v\":1,\"u\":\"x\",\"z\":True}", "{\"v\":1,\"u\":\"x\",\"z\":truex}",
        "{\"v\":1,\"u\":\"x\",\"z\":{1:2}}", "\xef\xbb\xbf{\"v\":1,\"u\":\"x\"}",
        "{\"v\":1,\"u\":\"x\"\f}", "[{\"v\":1,\"u\":\"x\"}]", "\"x\"", "1", NULL};
    for (int i = 0; bad[i]; i++) CHECK(refused(bad[i], NOT_V1));
    struct fu_err err;
    struct user_state *st = decode_str("{\"v\":1,\"u\":\"x\",\"z\":[1,]}", &err);
    CHECK(!st && strstr(err.msg, "invalid value at byte 22"));
    user_state_free(st);
    /* jansson dropped a NUL byte right after a number or literal (a quirk
     * of its lexer); such a byte is refused now, like any other NUL */
    static const char nul_after_number[] = "{\"v\":1\0,\"u\":\"x\"}";
    CHECK(!decode_exact(nul_after_number, sizeof(nul_after_number) - 1, &err));
    st = decode_str(" \t\r\n{ \"v\" : 1 , \"u\" : \"x\" } \n", &err);
    CHECK(st != NULL);
    user_state_free(st);
}

static void test_repeated_keys(void) {
    TEST("a key given twice counts the last time, as in jansson");
    struct fu_err err;
    struct user_state *st = decode_str(
        "{\"v\":2,\"u\":\"a\",\"tz\":\"X\",\"f\":[[\"t-1\",\"r\",\"e\",\"t\"]],"
        "\"co\":[\"sms\"],\"s\":[\"e\",1],\"cw\":[127,[0,60],[]],\"oo\":1,"
        "\"cd\":[1,2,3],\"r\":[[\"w\",\"e\",\"t\"]],"
        "\"v\":1,\"u\":\"b\",\"tz\":5,\"f\":[],\"co\":[\"email\"],"
        "\"s\":[\"e2\",2,\"e3\",3],\"cw\":null,\"oo\":0,\"cd\":[],\"r\":[]}",
        &err);
    CHECK(st != NULL);
    if (st) {
        CHECK_STR(st->user_id, "b");
        CHECK(st->timezone == NULL && !st->has_call_window && !st->opted_out);
        CHECK(st->nfollowups == 0 && st->nrepeats == 0 && st->nseen == 2);
        CHECK(st->nchannels_off == 1 && !strcmp(st->channels_off[0], "email"));
        CHECK_INT(st->cooldown_from, TIME_NONE);
    } else {
        printf("    %s\n", err.msg);
    }
    user_state_free(st);
    /* a damaged value replaced by a good one reads; the reverse does not */
    st = decode_str("{\"v\":1,\"u\":\"x\",\"f\":[5],\"f\":[]}", &err);
    CHECK(st != NULL);
    user_state_free(st);
    CHECK(refused("{\"v\":1,\"u\":\"x\",\"f\":[],\"f\":[5]}", DAMAGED));
    CHECK(refused("{\"v\":1,\"u\":\"x\",\"v\":4}", NOT_V1));
    CHECK(refused("{\"v\":1,\"u\":\"x\",\"u\":7}", NOT_V1));
}

static void test_messages(void) {
    TEST("messages say what is wrong and where");
    struct fu_err err;
    struct user_state *st =
        decode_str("{\"v\":1,\"u\":\"x\",\"cd\":[1,\"x\"]}", &err);
    CHECK(!st);
    CHECK_STR(err.msg, "stored user state is damaged: expected an integer or "
                       "null in 'cd' at byte 23");
    st = decode_str("{\"v\":4,\"u\":\"x\"}", &err);
    CHECK_STR(err.msg, "stored user state is not in format v3: version 4");
    st = decode_str("{\"v\":0,\"u\":\"x\"}", &err);
    CHECK_STR(err.msg, "stored user state is not in format v3: version 0");
    st = decode_str("{\"v\":1,\"u\":\"x\",\"cd\":[1,\"x\"]", &err);
    CHECK_STR(err.msg, "stored user state is not in format v3: unexpected end "
                       "at byte 27"); /* syntax first, as before */
    user_state_free(st);
}

/* A state as the v1 encoder wrote it (before spec 4.1): no "cs", repeat
 * timers without a priority. */
static void test_reads_v1(void) {
    TEST("a state written in format v1 still loads");
    struct fu_err err;
    struct user_state *st = decode_str(
        "{\"v\":1,\"u\":\"u1\",\"tz\":\"Asia/Shanghai\",\"cw\":null,"
        "\"oo\":0,\"co\":[\"sms\"],\"cd\":[null,null,1700000000],"
        "\"s\":[\"e1\",1700000000],\"f\":[[\"t-1\",\"r\",\"e1\",\"ty\","
        "1700000000,1,1,0,1700003600,1700090000,1700003600,1700010000,7,0,"
        "null,40,null,\"{}\",\"0123456789abcdef\",0,\"\",null,null,0,0]],"
        "\"r\":[[\"r\",\"e1\",\"ty\",1700000000,\"{}\",2,1707776000,"
        "1700000000,8]]}",
        &err);
    CHECK(st != NULL);
    if (!st) {
        printf("    %s\n", err.msg);
        return;
    }
    CHECK_INT(st->consent, CONSENT_UNKNOWN);
    CHECK_INT(st->nfollowups, 1);
    CHECK_INT(st->followups[0].priority, 40);
    CHECK_INT(st->nrepeats, 1);
    CHECK_INT(st->repeats[0].priority, -1); /* the rule's, as v1 did */
    CHECK_INT(st->repeats[0].seq, 8);
    char *text = state_encode(st);
    CHECK(text && strstr(text, "\"v\":3,") && strstr(text, "\"cs\":0") &&
          strstr(text, ",8,-1,0]]"));
    free(text);
    user_state_free(st);
}

/* A state as the v2 encoder wrote it (before spec 4.2): no "fb", tasks
 * and repeat timers without a kind. They read as calls. */
static void test_reads_v2(void) {
    TEST("a state written in format v2 still loads, as calls");
    struct fu_err err;
    struct user_state *st = decode_str(
        "{\"v\":2,\"u\":\"u1\",\"tz\":null,\"cw\":null,\"oo\":0,\"cs\":1,"
        "\"co\":[],\"cd\":[null,null,null],\"s\":[\"e1\",1700000000],"
        "\"f\":[[\"t-1\",\"r\",\"e1\",\"ty\",1700000000,1,1,0,1700003600,"
        "1700090000,1700003600,1700010000,7,0,null,40,\"s\",\"{}\","
        "\"0123456789abcdef\",0,\"\",null,null,0,0]],"
        "\"r\":[[\"r\",\"e1\",\"ty\",1700000000,\"{}\",2,1707776000,"
        "1700000000,8,55]]}",
        &err);
    CHECK(st != NULL);
    if (!st) {
        printf("    %s\n", err.msg);
        return;
    }
    CHECK_INT(st->consent, CONSENT_GIVEN);
    CHECK_INT(st->follow_up_by, FOLLOW_UP_ANY);
    CHECK_INT(st->followups[0].kind, FOLLOWUP_CALL);
    CHECK(st->followups[0].message_channel == NULL);
    CHECK_INT(st->repeats[0].priority, 55);
    CHECK_INT(st->repeats[0].kind, FOLLOWUP_CALL);
    char *text = state_encode(st);
    CHECK(text && strstr(text, "\"v\":3,") && strstr(text, "\"fb\":0") &&
          strstr(text, ",0,0,0,null,null,0]]") && strstr(text, ",8,55,0]]"));
    free(text);
    user_state_free(st);
}

/* A message needs its channel and template; kinds are 0 or 1. */
static void test_bad_kinds(void) {
    TEST("a message without its channel, or an unknown kind, is refused");
    static const char *const bad[] = {
        "{\"v\":3,\"u\":\"x\",\"f\":[[\"m-1\",\"r\",\"e\",\"ty\",1,1,1,0,2,3,"
        "4,5,6,0,null,0,null,\"{}\",\"p\",0,\"\",null,null,0,0,1,null,\"t\"]]}",
        "{\"v\":3,\"u\":\"x\",\"f\":[[\"m-1\",\"r\",\"e\",\"ty\",1,1,1,0,2,3,"
        "4,5,6,0,null,0,null,\"{}\",\"p\",0,\"\",null,null,0,0,1,\"sms\"]]}",
        "{\"v\":3,\"u\":\"x\",\"f\":[[\"t-1\",\"r\",\"e\",\"ty\",1,1,1,0,2,3,"
        "4,5,6,0,null,0,null,\"{}\",\"p\",0,\"\",null,null,0,0,2]]}",
        "{\"v\":3,\"u\":\"x\",\"r\":[[\"w\",\"e\",\"t\",1,null,2,3,4,5,-1,7]]}",
        NULL};
    for (int i = 0; bad[i]; i++) CHECK(refused(bad[i], "stored user state is damaged"));
}

int main(void) {
    struct tzdb *db = tzdb_new(NULL);
    struct fu_diag d = {0};
    struct policy *pol =
        policy_load_buffer("p.yaml", POLICY, strlen(POLICY), db, &d);
    CHECK(pol != NULL);
    if (pol) {
        struct user_state *st = build_state(pol, db);
        test_roundtrip(pol, db);
        test_reads_v2();
        test_bad_kinds();
        test_truncated(st);
        test_byte_flips(st);
        user_state_free(st);
    }
    {
        struct user_state *st = odd_state();
        test_truncated(st);
        test_byte_flips(st);
        user_state_free(st);
    }
    test_damaged();
    test_roundtrip_odd();
    test_decode_golden();
    test_versions();
    test_wrong_types();
    test_top_level_types();
    test_numbers();
    test_nesting();
    test_strings();
    test_syntax();
    test_repeated_keys();
    test_messages();
    test_reads_v1();
    policy_release(pol);
    fu_diag_release(&d);
    tzdb_free(db);
    return test_report();
}
