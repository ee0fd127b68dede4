/* test_report.c -- the report accumulator: every figure of spec 3.7 from
 * small hand-made output lines and events, message follow-ups apart from
 * calls (spec 4.2), the waits for the dialer (spec 4.3, pacing), the
 * compare diff, text. */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

static struct tzdb *db;

/* ---- Building lines ---- */

static char line_buf[2048];

static const char *fmt_line(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static const char *fmt_line(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line_buf, sizeof(line_buf), fmt, ap);
    va_end(ap);
    return line_buf;
}

/* Feed one output line; its return code. */
static int out(struct report *rep, const char *line) {
    struct fu_err err;
    return report_add_output(rep, line, strlen(line), &err);
}

static int call(struct report *rep, const char *at, const char *task,
                const char *user, const char *rule, int attempt,
                const char *zone) {
    return out(rep, fmt_line(
        "{\"at\": \"%s\", \"topic\": \"tasks\", \"key\": \"%s\", \"value\": "
        "{\"schema\": \"followupd.task/v1\", \"action\": \"call\", "
        "\"task_id\": \"%s\", \"user_id\": \"%s\", \"rule_id\": \"%s\", "
        "\"attempt\": %d, \"due_at\": \"%s\", \"timezone\": \"%s\"}}",
        at, user, task, user, rule, attempt, at, zone));
}

/* A call task that left at `at` though due at `due` (pacing, spec 4.3). */
static int paced_call(struct report *rep, const char *at, const char *due,
                      const char *task, const char *user, const char *rule) {
    return out(rep, fmt_line(
        "{\"at\": \"%s\", \"topic\": \"tasks\", \"key\": \"%s\", \"value\": "
        "{\"schema\": \"followupd.task/v1\", \"action\": \"call\", "
        "\"task_id\": \"%s\", \"user_id\": \"%s\", \"rule_id\": \"%s\", "
        "\"priority\": 50, \"attempt\": 1, \"due_at\": \"%s\", "
        "\"not_after\": \"2026-11-02T10:00:00Z\", \"timezone\": \"UTC\"}}",
        at, user, task, user, rule, due));
}

static int cancel(struct report *rep, const char *task, const char *user) {
    return out(rep, fmt_line(
        "{\"at\": \"2026-11-02T00:00:00Z\", \"topic\": \"tasks\", \"key\": "
        "\"%s\", \"value\": {\"schema\": \"followupd.task/v1\", \"action\": "
        "\"cancel\", \"task_id\": \"%s\", \"user_id\": \"%s\", "
        "\"reason\": \"opt_out\"}}",
        user, task, user));
}

/* A decision record; reason and reminder are JSON text ("null",
 * "\"cap:rule\"") or NULL to leave the key out. */
static int decision(struct report *rep, const char *rule, const char *dec,
                    const char *reason, const char *reminder) {
    char extra[128] = "";
    if (reminder) snprintf(extra, sizeof(extra), ", \"reminder\": %s", reminder);
    return out(rep, fmt_line(
        "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"decisions\", "
        "\"key\": \"u-1\", \"value\": {\"schema\": \"followupd.decision/v1\", "
        "\"event_id\": \"e\", \"user_id\": \"u-1\", \"rule_id\": \"%s\", "
        "\"decision\": \"%s\", \"task_id\": \"t\", \"reason\": %s%s}}",
        rule, dec, reason ? reason : "null", extra));
}

static int reminder(struct report *rep, const char *rule) {
    return out(rep, fmt_line(
        "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"reminders\", "
        "\"key\": \"u-1\", \"value\": {\"schema\": \"followupd.reminder/v1\", "
        "\"task_id\": \"t\", \"user_id\": \"u-1\", \"rule_id\": \"%s\", "
        "\"channel\": \"sms\"}}", rule));
}

/* An outcome event; satisfaction 0 leaves it out. */
static void outcome(struct report *rep, const char *event_id,
                    const char *user, const char *task, const char *kind,
                    int satisfaction) {
    char sat[64] = "";
    struct fu_err err;
    if (satisfaction)
        snprintf(sat, sizeof(sat), ", \"satisfaction\": %d", satisfaction);
    const char *line = fmt_line(
        "{\"event_id\": \"%s\", \"type\": \"callback.outcome\", \"user_id\": "
        "\"%s\", \"occurred_at\": \"2026-11-01T12:00:00Z\", \"data\": "
        "{\"task_id\": \"%s\", \"outcome\": \"%s\"%s}}",
        event_id, user, task, kind, sat);
    CHECK_INT(report_add_event(rep, line, strlen(line), &err), 0);
}

/* ---- Reading the tree ---- */

/* The value at a '/'-separated path ("total/suppressed/cap:rule"). */
static json_t *at_path(json_t *doc, const char *path) {
    char buf[256], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok_r(buf, "/", &save); k && doc;
         k = strtok_r(NULL, "/", &save))
        doc = json_object_get(doc, k);
    return doc;
}

/* The integer at path; -1 when absent (every figure is >= 0). */
static long long num(json_t *doc, const char *path) {
    json_t *v = at_path(doc, path);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static double real(json_t *doc, const char *path) {
    json_t *v = at_path(doc, path);
    return json_is_real(v) ? json_real_value(v) : -1.0;
}

static size_t size(json_t *doc, const char *path) {
    return json_object_size(at_path(doc, path));
}

/* Expected integers at paths; -1: the key must be absent. */
struct want {
    const char *path;
    long long n;
};

static void check_counts(json_t *doc, const struct want *w) {
    for (; w->path; w++) {
        long long got = num(doc, w->path);
        CHECK(got == w->n && "figure at path");
        if (got != w->n)
            printf("    %s: got %lld, want %lld\n", w->path, got, w->n);
    }
}

/* ---- Cases ---- */

static void test_decisions(void) {
    struct report *rep = report_new(db);
    TEST("decision records by kind and reason");
    CHECK_INT(decision(rep, "a", "scheduled", NULL, NULL), 0);
    CHECK_INT(decision(rep, "a", "scheduled", "null", "\"scheduled\""), 0);
    CHECK_INT(decision(rep, "b", "scheduled", NULL, NULL), 0);
    CHECK_INT(decision(rep, "a", "suppressed", "\"cap:rule\"", NULL), 0);
    CHECK_INT(decision(rep, "a", "suppressed", "\"cap:rule\"", NULL), 0);
    CHECK_INT(decision(rep, "b", "suppressed", "\"cap:calls-per-month\"", NULL), 0);
    CHECK_INT(decision(rep, "b", "suppressed", "\"cooldown\"", NULL), 0);
    CHECK_INT(decision(rep, "a", "cancelled", "\"opted_out\"", NULL), 0);
    CHECK_INT(decision(rep, "a", "scheduled", "\"rescheduled\"", NULL), 0);
    CHECK_INT(decision(rep, "b", "scheduled", "\"paced\"", NULL), 0);
    CHECK_INT(decision(rep, "b", "scheduled", "\"rescheduled\"", NULL), 0);
    json_t *doc = report_json(rep);
    CHECK(doc != NULL);
    check_counts(doc, (const struct want[]){
        {"total/scheduled", 3},
        {"rules/a/scheduled", 2},
        {"rules/b/scheduled", 1},
        {"total/suppressed/cap:rule", 2},
        {"total/suppressed/cap:calls-per-month", 1},
        {"total/suppressed/cooldown", 1},
        {"rules/a/suppressed/cap:rule", 2},
        {"rules/b/suppressed/cooldown", 1},
        {"total/cancelled/opted_out", 1},
        {"total/moved/rescheduled", 2},
        {"total/moved/paced", 1},
        {"rules/a/moved/rescheduled", 1},
        {"rules/b/moved/paced", 1},
        {NULL, 0}});

    TEST("keys with no count are left out");
    CHECK_INT(num(doc, "rules/a/suppressed/cooldown"), -1);
    CHECK_INT(num(doc, "rules/a/moved/paced"), -1);
    CHECK_INT(size(doc, "rules/b/cancelled"), 0);
    CHECK(json_is_object(at_path(doc, "rules/b/cancelled")));
    CHECK_INT(size(doc, "total/reminders_skipped"), 0);
    CHECK_INT(size(doc, "total/calls"), 0);
    CHECK(json_is_null(at_path(doc, "total/answer_rate")));
    CHECK(json_is_null(at_path(doc, "total/attempts_per_answer")));
    CHECK(json_is_null(at_path(doc, "total/satisfaction/mean")));
    CHECK_INT(num(doc, "total/satisfaction/count"), 0);
    json_decref(doc);
    report_free(rep);
}

static void test_calls_and_cancels(void) {
    struct report *rep = report_new(db);
    TEST("calls by attempt");
    CHECK_INT(call(rep, "2026-11-01T01:00:00Z", "t-1", "u-1", "a", 1, "UTC"), 0);
    CHECK_INT(call(rep, "2026-11-01T03:00:00Z", "t-2", "u-1", "a", 2, "UTC"), 0);
    CHECK_INT(call(rep, "2026-11-01T05:00:00Z", "t-3", "u-1", "a", 3, "UTC"), 0);
    CHECK_INT(call(rep, "2026-11-01T06:00:00Z", "t-4", "u-2", "a", 1, "UTC"), 0);
    CHECK_INT(call(rep, "2026-11-01T06:00:00Z", "t-5", "u-2", "b", 1, "UTC"), 0);
    CHECK_INT(call(rep, "2026-11-01T06:00:00Z", "t-6", "u-3", "b", 10, "UTC"), 0);

    TEST("a cancel counts for the rule of the call it names");
    CHECK_INT(cancel(rep, "t-5", "u-2"), 0);
    CHECK_INT(cancel(rep, "t-7", "u-4"), 0); /* before its call */
    CHECK_INT(call(rep, "2026-11-03T06:00:00Z", "t-7", "u-4", "a", 1, "UTC"), 0);
    CHECK_INT(cancel(rep, "t-none", "u-9"), 0); /* no such call */
    json_t *doc = report_json(rep);
    check_counts(doc, (const struct want[]){
        {"total/calls/1", 4},
        {"total/calls/2", 1},
        {"total/calls/3", 1},
        {"total/calls/10", 1},
        {"rules/a/calls/1", 3},
        {"rules/b/calls/1", 1},
        {"rules/b/calls/2", -1},
        {"total/cancels", 3},
        {"rules/a/cancels", 1},
        {"rules/b/cancels", 1},
        {NULL, 0}});

    TEST("attempts in numeric order");
    char *s = json_dumps(at_path(doc, "total/calls"), 0);
    CHECK_STR(s, "{\"1\": 4, \"2\": 1, \"3\": 1, \"10\": 1}");
    free(s);
    json_decref(doc);
    report_free(rep);
}

static void test_days_and_hours(void) {
    struct report *rep = report_new(db);
    TEST("calls per UTC day across midnight");
    CHECK_INT(call(rep, "2026-11-01T23:59:59Z", "t-1", "u-1", "a", 1, "UTC"), 0);
    CHECK_INT(call(rep, "2026-11-02T00:00:00Z", "t-2", "u-1", "a", 1, "UTC"), 0);
    CHECK_INT(call(rep, "2026-11-02T01:00:00Z", "t-3", "u-2", "a", 1,
                   "Asia/Shanghai"), 0);
    CHECK_INT(call(rep, "2026-11-02T03:30:00Z", "t-4", "u-3", "b", 1,
                   "America/New_York"), 0);
    json_t *doc = report_json(rep);
    check_counts(doc, (const struct want[]){
        {"total/calls_per_day/2026-11-01", 1},
        {"total/calls_per_day/2026-11-02", 3},
        {"rules/b/calls_per_day/2026-11-02", 1},
        {NULL, 0}});

    TEST("local hour in the task's zone");
    check_counts(doc, (const struct want[]){
        {"total/calls_per_local_hour/9", 1}, /* 01:00Z +8 */
        {"total/calls_per_local_hour/1", -1},
        {"total/calls_per_local_hour/22", 1}, /* 03:30Z -5 */
        {"total/calls_per_local_hour/23", 1},
        {"total/calls_per_local_hour/0", 1},
        {"rules/b/calls_per_local_hour/22", 1},
        {NULL, 0}});
    CHECK_INT(size(doc, "total/calls_per_local_hour"), 4);
    char *s = json_dumps(at_path(doc, "total/calls_per_local_hour"), 0);
    CHECK_STR(s, "{\"0\": 1, \"9\": 1, \"22\": 1, \"23\": 1}");
    free(s);
    json_decref(doc);
    report_free(rep);
}

static void test_reminders_and_more(void) {
    struct report *rep = report_new(db);
    TEST("reminders sent and skipped");
    CHECK_INT(reminder(rep, "a"), 0);
    CHECK_INT(reminder(rep, "a"), 0);
    CHECK_INT(reminder(rep, "b"), 0);
    CHECK_INT(decision(rep, "a", "scheduled", "null", "\"channel_off\""), 0);
    CHECK_INT(decision(rep, "a", "scheduled", "null", "\"cap:sms-per-week\""), 0);
    CHECK_INT(decision(rep, "b", "scheduled", "null", "\"cap:sms-per-week\""), 0);
    CHECK_INT(decision(rep, "b", "scheduled", "null", "\"scheduled\""), 0);
    CHECK_INT(decision(rep, "b", "scheduled", "null", "null"), 0);

    TEST("messages by channel");
    CHECK_INT(out(rep, "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": "
                       "\"messages\", \"key\": \"u-1\", \"value\": "
                       "{\"message_id\": \"m-1\", \"rule_id\": \"w\", "
                       "\"channel\": \"sms\"}}"), 0);

    TEST("duplicates and dead letters");
    CHECK_INT(out(rep, "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": "
                       "\"decisions\", \"key\": \"u-1\", \"value\": "
                       "{\"decision\": \"duplicate\", \"rule_id\": null, "
                       "\"task_id\": null, \"reason\": null}}"), 0);
    for (int i = 0; i < 3; i++)
        CHECK_INT(out(rep, "{\"at\": \"1970-01-01T00:00:00Z\", \"topic\": "
                           "\"dead_letter\", \"key\": null, \"value\": "
                           "{\"error\": \"event must be a JSON object\"}}"), 0);
    CHECK_INT(out(rep, "{\"at\": \"1970-01-01T00:00:00Z\", \"topic\": "
                       "\"dead_letter\", \"key\": \"u-1\", \"value\": {\"error\": "
                       "\"missing required field 'occurred_at'\"}}"), 0);
    json_t *doc = report_json(rep);
    check_counts(doc, (const struct want[]){
        {"total/reminders", 3},
        {"rules/a/reminders", 2},
        {"rules/b/reminders", 1},
        {"total/reminders_skipped/channel_off", 1},
        {"total/reminders_skipped/cap:sms-per-week", 2},
        {"rules/b/reminders_skipped/cap:sms-per-week", 1},
        {"rules/b/reminders_skipped/scheduled", -1},
        {"total/scheduled", 5},
        {"total/messages/sms", 1},
        {"rules/w/messages/sms", 1},
        {"duplicates", 1},
        {"dead_letters/event must be a JSON object", 3},
        {"dead_letters/missing required field 'occurred_at'", 1},
        {NULL, 0}});
    CHECK(at_path(doc, "total/duplicates") == NULL); /* top level only */
    json_decref(doc);
    report_free(rep);
}

static void test_outcomes(void) {
    struct report *rep = report_new(db);
    const struct report_stats *st = report_stats(rep);
    call(rep, "2026-11-01T01:00:00Z", "t-1", "u-1", "a", 1, "UTC");
    call(rep, "2026-11-01T03:00:00Z", "t-2", "u-1", "a", 2, "UTC");
    call(rep, "2026-11-01T05:00:00Z", "t-3", "u-1", "a", 3, "UTC");
    call(rep, "2026-11-01T01:00:00Z", "t-4", "u-2", "a", 1, "UTC");
    call(rep, "2026-11-01T01:00:00Z", "t-5", "u-3", "a", 1, "UTC");
    call(rep, "2026-11-01T01:00:00Z", "t-6", "u-4", "b", 1, "UTC");
    call(rep, "2026-11-01T01:00:00Z", "t-7", "u-5", "b", 1, "UTC");
    call(rep, "2026-11-01T01:00:00Z", "t-8", "u-6", "b", 1, "UTC");
    CHECK_INT(st->malformed, 0);

    TEST("first outcome per call, one per event_id");
    outcome(rep, "o1", "u-1", "t-1", "no_answer", 0);
    outcome(rep, "o2", "u-1", "t-1", "answered", 5); /* second: ignored */
    outcome(rep, "o3", "u-1", "t-2", "busy", 0);
    outcome(rep, "o4", "u-1", "t-3", "answered", 4);
    outcome(rep, "o4", "u-2", "t-4", "answered", 1); /* o4 again: ignored */
    outcome(rep, "o5", "u-2", "t-4", "no_answer", 0);
    outcome(rep, "o6", "u-9", "t-5", "answered", 1); /* not its user */
    outcome(rep, "o7", "u-3", "t-none", "answered", 1); /* no such call */
    outcome(rep, "o8", "u-3", "t-5", "answered", 1);
    outcome(rep, "o9", "u-4", "t-6", "answered", 2);
    outcome(rep, "o10", "u-5", "t-7", "refused", 0);
    outcome(rep, "o10", "u-5", "t-7", "refused", 0); /* repeated event */

    TEST("events that are not outcomes are passed over");
    {
        struct fu_err err;
        const char *ev1 = "{\"event_id\": \"x\", \"type\": \"transaction\", "
                          "\"user_id\": \"u-1\", \"occurred_at\": "
                          "\"2026-11-01T00:00:00Z\"}";
        const char *ev2 = "{\"event_id\": \"o11\", \"type\": "
                          "\"callback.outcome\", \"user_id\": \"u-6\", "
                          "\"occurred_at\": \"2026-11-01T00:00:00Z\", \"data\": "
                          "{\"task_id\": \"t-8\", \"outcome\": \"maybe\"}}";
        CHECK_INT(report_add_event(rep, ev1, strlen(ev1), &err), 0);
        CHECK_INT(report_add_event(rep, ev2, strlen(ev2), &err), 0);
        CHECK_INT(report_add_event(rep, "not json", 8, &err), 0);
        CHECK_INT(report_add_event(rep, "", 0, &err), 0);
    }
    CHECK_INT(st->events, 16);
    CHECK_INT(st->events_unusable, 2);
    CHECK_INT(st->outcomes, 7);
    CHECK_INT(st->outcomes_ignored, 5);

    json_t *doc = report_json(rep);
    check_counts(doc, (const struct want[]){
        {"total/outcomes/answered", 3},
        {"total/outcomes/no_answer", 2},
        {"total/outcomes/busy", 1},
        {"total/outcomes/refused", 1},
        {NULL, 0}});
    CHECK_INT(size(doc, "total/outcomes"), 4);
    check_counts(doc, (const struct want[]){
        {"rules/a/outcomes/answered", 2},
        {"rules/b/outcomes/answered", 1},
        {"rules/b/outcomes/refused", 1},
        {"rules/b/outcomes/no_answer", -1},
        {NULL, 0}});

    TEST("rates rounded to 4 decimals");
    /* 3 answered of 7 calls with an outcome; 8 calls / 3 answered */
    CHECK(real(doc, "total/answer_rate") == 0.4286);
    CHECK(real(doc, "total/attempts_per_answer") == 2.6667);
    /* a: 2 answered of 5 outcomes; 5 calls / 2 answered */
    CHECK(real(doc, "rules/a/answer_rate") == 0.4);
    CHECK(real(doc, "rules/a/attempts_per_answer") == 2.5);
    /* b: 1 answered of 2 outcomes; 3 calls / 1 answered */
    CHECK(real(doc, "rules/b/answer_rate") == 0.5);
    CHECK(real(doc, "rules/b/attempts_per_answer") == 3.0);

    TEST("satisfaction of first outcomes");
    /* counted: 4 (o4), 1 (o8), 2 (o9) -> 7 / 3 */
    CHECK_INT(num(doc, "total/satisfaction/count"), 3);
    CHECK(real(doc, "total/satisfaction/mean") == 2.3333);
    CHECK(real(doc, "rules/a/satisfaction/mean") == 2.5);
    CHECK(real(doc, "rules/b/satisfaction/mean") == 2.0);
    char *s = json_dumps(at_path(doc, "total/satisfaction"),
                         JSON_REAL_PRECISION(15));
    CHECK_STR(s, "{\"mean\": 2.3333, \"count\": 3}");
    free(s);
    json_decref(doc);

    TEST("answer rate with thirds");
    outcome(rep, "o12", "u-6", "t-8", "busy", 0); /* b: 1 of 3 */
    doc = report_json(rep);
    CHECK(real(doc, "rules/b/answer_rate") == 0.3333);
    CHECK(real(doc, "total/answer_rate") == 0.375); /* 3 / 8 */
    json_decref(doc);
    report_free(rep);
}

static void test_malformed(void) {
    struct report *rep = report_new(db);
    const struct report_stats *st = report_stats(rep);
    struct fu_err err;
    static const char *const bad[] = {
        "not json",
        "[1, 2]",
        "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"nope\", \"value\": {}}",
        "{\"at\": \"yesterday\", \"topic\": \"tasks\", \"value\": {}}",
        "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"tasks\", \"value\": 3}",
        "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"tasks\", \"value\": "
        "{\"action\": \"call\", \"task_id\": \"t\", \"user_id\": \"u\", "
        "\"attempt\": 1, \"timezone\": \"UTC\"}}",
        "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"tasks\", \"value\": "
        "{\"action\": \"call\", \"task_id\": \"t\", \"user_id\": \"u\", "
        "\"rule_id\": \"a\", \"attempt\": 1, \"timezone\": \"Mars/Base\"}}",
        "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"tasks\", \"value\": "
        "{\"action\": \"call\", \"task_id\": \"t\", \"user_id\": \"u\", "
        "\"rule_id\": \"a\", \"attempt\": 0, \"timezone\": \"UTC\"}}",
        "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"tasks\", \"value\": "
        "{\"action\": \"ring\"}}",
        /* a call needs its due_at, an RFC 3339 time (for its wait) */
        "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"tasks\", \"value\": "
        "{\"action\": \"call\", \"task_id\": \"t\", \"user_id\": \"u\", "
        "\"rule_id\": \"a\", \"attempt\": 1, \"timezone\": \"UTC\"}}",
        "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"tasks\", \"value\": "
        "{\"action\": \"call\", \"task_id\": \"t\", \"user_id\": \"u\", "
        "\"rule_id\": \"a\", \"attempt\": 1, \"timezone\": \"UTC\", "
        "\"due_at\": \"soon\"}}",
        "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"decisions\", "
        "\"value\": {\"decision\": \"maybe\", \"rule_id\": \"a\"}}",
        "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"decisions\", "
        "\"value\": {\"decision\": \"suppressed\", \"rule_id\": \"a\", "
        "\"reason\": null}}",
        "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"decisions\", "
        "\"value\": {\"decision\": \"scheduled\", \"rule_id\": null}}",
        "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"dead_letter\", "
        "\"value\": {\"error\": 7}}",
        NULL};
    TEST("malformed lines are skipped whole and counted");
    int n = 0;
    for (; bad[n]; n++) {
        err.code = 0;
        CHECK_INT(report_add_output(rep, bad[n], strlen(bad[n]), &err), -1);
        CHECK_INT(err.code, FU_EINVAL);
    }
    CHECK_INT(report_add_output(rep, "  ", 2, &err), 0); /* blank */
    CHECK_INT(st->malformed, n);
    CHECK_INT(st->lines, n + 1);
    json_t *doc = report_json(rep);
    CHECK_INT(size(doc, "rules"), 0);
    CHECK_INT(size(doc, "total/calls"), 0);
    CHECK_INT(size(doc, "dead_letters"), 0);

    TEST("a whole empty report, keys in their order");
    char *s = json_dumps(doc, JSON_REAL_PRECISION(15));
    CHECK_STR(s,
              "{\"schema\": \"followupd.report/v1\", \"total\": {\"scheduled\": "
              "0, \"suppressed\": {}, \"cancelled\": {}, \"moved\": {}, "
              "\"calls\": {}, \"calls_waited\": 0, "
              "\"wait_seconds_total\": 0, \"wait_seconds_max\": 0, "
              "\"cancels\": 0, \"reminders\": 0, "
              "\"reminders_skipped\": {}, \"messages\": {}, "
              "\"messages_decided\": 0, \"messages_scheduled\": 0, "
              "\"messages_suppressed\": {}, \"messages_cancelled\": {}, "
              "\"messages_moved\": {}, \"outcomes\": {}, "
              "\"answer_rate\": null, \"attempts_per_answer\": null, "
              "\"satisfaction\": {\"mean\": null, \"count\": 0}, "
              "\"calls_per_day\": {}, \"calls_per_local_hour\": {}}, "
              "\"rules\": {}, \"duplicates\": 0, \"dead_letters\": {}}");
    free(s);
    json_decref(doc);
    report_free(rep);
    report_free(NULL);
}

static void test_compare(void) {
    struct report *a = report_new(db), *b = report_new(db);
    TEST("compare: identical reports give an empty diff");
    for (int i = 0; i < 2; i++) {
        struct report *rep = i ? b : a;
        call(rep, "2026-11-01T01:00:00Z", "t-1", "u-1", "r", 1, "UTC");
        decision(rep, "r", "scheduled", NULL, NULL);
        decision(rep, "r", "suppressed", "\"cap:calls\"", NULL);
        outcome(rep, "o1", "u-1", "t-1", "answered", 4);
    }
    json_t *doc = report_compare_json(a, b);
    CHECK_STR(json_string_value(json_object_get(doc, "schema")),
              "followupd.report-compare/v1");
    CHECK(json_is_object(at_path(doc, "diff")));
    CHECK_INT(size(doc, "diff"), 0);
    CHECK_INT(num(doc, "old/total/calls/1"), 1);
    CHECK_INT(num(doc, "new/total/calls/1"), 1);
    json_decref(doc);

    TEST("compare: new minus old of the counts that differ");
    call(b, "2026-11-02T01:00:00Z", "t-2", "u-2", "r", 1, "UTC");
    decision(b, "r", "scheduled", NULL, NULL);
    decision(a, "r", "suppressed", "\"cap:calls\"", NULL);
    decision(a, "r", "suppressed", "\"cooldown\"", NULL);
    outcome(b, "o2", "u-2", "t-2", "no_answer", 2);
    doc = report_compare_json(a, b);
    check_counts(doc, (const struct want[]){
        {"diff/scheduled", 1},
        {"diff/suppressed/cap:calls", -1},
        {"diff/suppressed/cooldown", -1},
        {"diff/calls/1", 1},
        {"diff/calls_per_day/2026-11-02", 1},
        {NULL, 0}});
    CHECK(at_path(doc, "diff/calls_per_day/2026-11-01") == NULL);
    CHECK_INT(num(doc, "diff/outcomes/no_answer"), 1);
    CHECK_INT(num(doc, "diff/satisfaction/count"), 1);
    CHECK(at_path(doc, "diff/satisfaction/mean") == NULL);
    CHECK(at_path(doc, "diff/answer_rate") == NULL);
    CHECK(at_path(doc, "diff/attempts_per_answer") == NULL);
    CHECK(at_path(doc, "diff/cancels") == NULL);
    CHECK(at_path(doc, "diff/rules") == NULL);
    char *s = json_dumps(at_path(doc, "diff"), 0);
    CHECK_STR(s, "{\"scheduled\": 1, \"suppressed\": {\"cap:calls\": -1, "
                 "\"cooldown\": -1}, \"calls\": {\"1\": 1}, \"outcomes\": "
                 "{\"no_answer\": 1}, \"satisfaction\": {\"count\": 1}, "
                 "\"calls_per_day\": {\"2026-11-02\": 1}, "
                 "\"calls_per_local_hour\": {\"1\": 1}}");
    free(s);

    TEST("compare as text: old, new, diff columns");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK_INT(report_print_text(f, doc), 0);
    fclose(f);
    CHECK(strncmp(text, "total                        old     new  diff\n", 46) == 0);
    CHECK(strstr(text, "\nscheduled                      1       2    +1\n") != NULL);
    CHECK(strstr(text, "\nsuppressed cooldown            1       0    -1\n") != NULL);
    CHECK(strstr(text, "\nanswer_rate               1.0000  0.5000\n") != NULL);
    CHECK(strstr(text, "\nrule  scheduled old  new  diff  suppressed old  new  "
                       "diff  calls old  new  diff  messages old  new  diff\n"
                       "r                 1    2    +1               3    1    "
                       "-2          1    2    +1             0    0     0\n") != NULL);
    CHECK(strstr(text, "\nmessages_scheduled             0       0     0\n") != NULL);
    free(text);
    json_decref(doc);
    report_free(a);
    report_free(b);
}

static void test_text(void) {
    struct report *rep = report_new(db);
    call(rep, "2026-11-01T01:00:00Z", "t-1", "u-1", "large-transfer", 1,
         "Asia/Shanghai");
    decision(rep, "large-transfer", "scheduled", NULL, NULL);
    decision(rep, "welcome", "suppressed", "\"cooldown\"", NULL);
    json_t *doc = report_json(rep);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    TEST("text tables: a header and aligned rows");
    CHECK_INT(report_print_text(f, doc), 0);
    fclose(f);
    CHECK(strncmp(text, "rule            scheduled  suppressed  cancelled", 48) == 0);
    CHECK(strstr(text, "\ntotal                   1           1          0") != NULL);
    CHECK(strstr(text, "\nlarge-transfer          1           0          0") != NULL);
    CHECK(strstr(text, "\nsuppressed by reason  total  welcome\n"
                       "cooldown                  1        1\n") != NULL);
    CHECK(strstr(text, "\ncalls per local hour  total  large-transfer\n"
                       "9                         1               1\n") != NULL);
    CHECK(strstr(text, "cancelled by reason") == NULL); /* none: no table */
    CHECK(strstr(text, "message follow-ups") == NULL); /* calls only */
    CHECK(strstr(text, "waiting for the dialer") == NULL); /* no pacing */
    CHECK(strstr(text, " \n") == NULL); /* no trailing blanks */
    free(text);
    json_decref(doc);
    report_free(rep);
}

/* A small hand-made output file of calls and message follow-ups (spec
 * 4.2): rule txn calls, welcome sends sms messages, big follows up by a
 * call or (the user's follow_up_by) a push message. */
static const char *const MIXED[] = {
    "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"decisions\", \"key\": \"u-1\", \"value\": {\"schema\": \"followupd.decision/v1\", \"event_id\": \"e1\", \"user_id\": \"u-1\", \"rule_id\": \"txn\", \"decision\": \"scheduled\", \"task_id\": \"t-1\", \"due_at\": \"2026-11-01T01:00:00Z\", \"reason\": null, \"at\": \"2026-11-01T00:00:00Z\", \"attempt\": 1, \"occurrence\": 1}}",
    "{\"at\": \"2026-11-01T00:00:01Z\", \"topic\": \"decisions\", \"key\": \"u-2\", \"value\": {\"schema\": \"followupd.decision/v1\", \"event_id\": \"e2\", \"user_id\": \"u-2\", \"rule_id\": \"txn\", \"decision\": \"scheduled\", \"task_id\": \"t-2\", \"due_at\": \"2026-11-01T01:00:01Z\", \"reason\": null, \"at\": \"2026-11-01T00:00:01Z\", \"attempt\": 1, \"occurrence\": 1, \"kind\": \"call\"}}",
    "{\"at\": \"2026-11-01T00:00:02Z\", \"topic\": \"decisions\", \"key\": \"u-3\", \"value\": {\"schema\": \"followupd.decision/v1\", \"event_id\": \"e3\", \"user_id\": \"u-3\", \"rule_id\": \"txn\", \"decision\": \"suppressed\", \"task_id\": \"t-3\", \"due_at\": \"2026-11-01T01:00:02Z\", \"reason\": \"cap:rule\", \"at\": \"2026-11-01T00:00:02Z\", \"attempt\": 1, \"occurrence\": 1}}",
    "{\"at\": \"2026-11-01T00:00:03Z\", \"topic\": \"decisions\", \"key\": \"u-1\", \"value\": {\"schema\": \"followupd.decision/v1\", \"event_id\": \"r1\", \"user_id\": \"u-1\", \"rule_id\": \"welcome\", \"decision\": \"scheduled\", \"task_id\": \"m-1\", \"due_at\": \"2026-11-01T02:00:00Z\", \"reason\": null, \"at\": \"2026-11-01T00:00:03Z\", \"attempt\": 1, \"occurrence\": 1, \"kind\": \"message\"}}",
    "{\"at\": \"2026-11-01T00:00:04Z\", \"topic\": \"decisions\", \"key\": \"u-2\", \"value\": {\"schema\": \"followupd.decision/v1\", \"event_id\": \"r2\", \"user_id\": \"u-2\", \"rule_id\": \"welcome\", \"decision\": \"scheduled\", \"task_id\": \"m-2\", \"due_at\": \"2026-11-01T02:00:01Z\", \"reason\": null, \"at\": \"2026-11-01T00:00:04Z\", \"attempt\": 1, \"occurrence\": 1, \"kind\": \"message\"}}",
    "{\"at\": \"2026-11-01T00:00:05Z\", \"topic\": \"decisions\", \"key\": \"u-1\", \"value\": {\"schema\": \"followupd.decision/v1\", \"event_id\": \"r3\", \"user_id\": \"u-1\", \"rule_id\": \"welcome\", \"decision\": \"suppressed\", \"task_id\": \"m-3\", \"due_at\": \"2026-11-01T02:00:02Z\", \"reason\": \"cap:sms\", \"at\": \"2026-11-01T00:00:05Z\", \"attempt\": 1, \"occurrence\": 1, \"kind\": \"message\"}}",
    "{\"at\": \"2026-11-01T00:00:06Z\", \"topic\": \"decisions\", \"key\": \"u-4\", \"value\": {\"schema\": \"followupd.decision/v1\", \"event_id\": \"r4\", \"user_id\": \"u-4\", \"rule_id\": \"welcome\", \"decision\": \"suppressed\", \"task_id\": \"m-4\", \"due_at\": \"2026-11-01T02:00:03Z\", \"reason\": \"channel_off\", \"at\": \"2026-11-01T00:00:06Z\", \"attempt\": 1, \"occurrence\": 1, \"kind\": \"message\"}}",
    "{\"at\": \"2026-11-01T00:00:07Z\", \"topic\": \"decisions\", \"key\": \"u-2\", \"value\": {\"schema\": \"followupd.decision/v1\", \"event_id\": \"p1\", \"user_id\": \"u-2\", \"rule_id\": \"welcome\", \"decision\": \"cancelled\", \"task_id\": \"m-2\", \"due_at\": \"2026-11-01T02:00:01Z\", \"reason\": \"channel_off\", \"at\": \"2026-11-01T00:00:07Z\", \"attempt\": 1, \"occurrence\": 1, \"kind\": \"message\"}}",
    "{\"at\": \"2026-11-01T00:00:08Z\", \"topic\": \"decisions\", \"key\": \"u-1\", \"value\": {\"schema\": \"followupd.decision/v1\", \"event_id\": \"z1\", \"user_id\": \"u-1\", \"rule_id\": \"welcome\", \"decision\": \"scheduled\", \"task_id\": \"m-5\", \"due_at\": \"2026-11-01T03:00:00Z\", \"reason\": \"rescheduled\", \"replaces\": \"m-1\", \"at\": \"2026-11-01T00:00:08Z\", \"attempt\": 1, \"occurrence\": 1, \"kind\": \"message\"}}",
    "{\"at\": \"2026-11-01T00:00:09Z\", \"topic\": \"decisions\", \"key\": \"u-5\", \"value\": {\"schema\": \"followupd.decision/v1\", \"event_id\": \"e5\", \"user_id\": \"u-5\", \"rule_id\": \"big\", \"decision\": \"suppressed\", \"task_id\": \"m-6\", \"due_at\": \"2026-11-01T01:00:09Z\", \"reason\": \"opted_out\", \"at\": \"2026-11-01T00:00:09Z\", \"attempt\": 1, \"occurrence\": 1, \"kind\": \"message\"}}",
    "{\"at\": \"2026-11-01T00:00:10Z\", \"topic\": \"decisions\", \"key\": \"u-6\", \"value\": {\"schema\": \"followupd.decision/v1\", \"event_id\": \"e6\", \"user_id\": \"u-6\", \"rule_id\": \"big\", \"decision\": \"scheduled\", \"task_id\": \"m-7\", \"due_at\": \"2026-11-01T01:00:10Z\", \"reason\": null, \"at\": \"2026-11-01T00:00:10Z\", \"attempt\": 1, \"occurrence\": 1, \"kind\": \"message\"}}",
    "{\"at\": \"2026-11-01T00:00:11Z\", \"topic\": \"decisions\", \"key\": \"u-7\", \"value\": {\"schema\": \"followupd.decision/v1\", \"event_id\": \"e7\", \"user_id\": \"u-7\", \"rule_id\": \"big\", \"decision\": \"scheduled\", \"task_id\": \"t-7\", \"due_at\": \"2026-11-01T01:00:11Z\", \"reason\": null, \"at\": \"2026-11-01T00:00:11Z\", \"attempt\": 1, \"occurrence\": 1, \"reminder\": \"channel_off\"}}",
    "{\"at\": \"2026-11-01T01:00:00Z\", \"topic\": \"tasks\", \"key\": \"u-1\", \"value\": {\"schema\": \"followupd.task/v1\", \"action\": \"call\", \"task_id\": \"t-1\", \"user_id\": \"u-1\", \"rule_id\": \"txn\", \"attempt\": 1, \"due_at\": \"2026-11-01T01:00:00Z\", \"timezone\": \"UTC\"}}",
    "{\"at\": \"2026-11-01T01:00:10Z\", \"topic\": \"messages\", \"key\": \"u-6\", \"value\": {\"schema\": \"followupd.message/v1\", \"message_id\": \"m-7\", \"user_id\": \"u-6\", \"rule_id\": \"big\", \"channel\": \"push\", \"send_at\": \"2026-11-01T01:00:10Z\", \"timezone\": \"UTC\"}}",
    "{\"at\": \"2026-11-01T03:00:00Z\", \"topic\": \"messages\", \"key\": \"u-1\", \"value\": {\"schema\": \"followupd.message/v1\", \"message_id\": \"m-5\", \"user_id\": \"u-1\", \"rule_id\": \"welcome\", \"channel\": \"sms\", \"send_at\": \"2026-11-01T03:00:00Z\", \"timezone\": \"UTC\"}}",
    NULL};

static struct report *mixed_report(void) {
    struct report *rep = report_new(db);
    for (int i = 0; MIXED[i]; i++) CHECK_INT(out(rep, MIXED[i]), 0);
    return rep;
}

static void test_messages(void) {
    struct report *rep = mixed_report();
    struct fu_err err;
    TEST("message follow-ups apart from calls, by the records' kind");
    json_t *doc = report_json(rep);
    check_counts(doc, (const struct want[]){
        /* the figures of spec 3.7 count both kinds, as before */
        {"total/scheduled", 6},
        {"total/suppressed/cap:rule", 1},
        {"total/suppressed/cap:sms", 1},
        {"total/suppressed/channel_off", 1},
        {"total/suppressed/opted_out", 1},
        {"total/cancelled/channel_off", 1},
        {"total/moved/rescheduled", 1},
        {"total/messages/sms", 1},
        {"total/messages/push", 1},
        {"total/calls/1", 1},
        {"total/reminders_skipped/channel_off", 1},
        /* messages only: scheduled and suppressed ones decided */
        {"total/messages_decided", 6},
        {"total/messages_scheduled", 3},
        {"total/messages_suppressed/cap:sms", 1},
        {"total/messages_suppressed/channel_off", 1},
        {"total/messages_suppressed/opted_out", 1},
        {"total/messages_suppressed/cap:rule", -1}, /* a call's */
        {"total/messages_cancelled/channel_off", 1},
        {"total/messages_moved/rescheduled", 1},
        {"rules/txn/scheduled", 2},
        {"rules/txn/messages_decided", 0},
        {"rules/txn/messages_scheduled", 0},
        {"rules/welcome/scheduled", 2},
        {"rules/welcome/messages_decided", 4},
        {"rules/welcome/messages_scheduled", 2},
        {"rules/welcome/messages_suppressed/cap:sms", 1},
        {"rules/welcome/messages_suppressed/channel_off", 1},
        {"rules/welcome/messages_cancelled/channel_off", 1},
        {"rules/welcome/messages_moved/rescheduled", 1},
        {"rules/welcome/messages/sms", 1},
        {"rules/big/scheduled", 2},
        {"rules/big/messages_decided", 2},
        {"rules/big/messages_scheduled", 1},
        {"rules/big/messages_suppressed/opted_out", 1},
        {"rules/big/messages/push", 1},
        {NULL, 0}});
    CHECK_INT(size(doc, "rules/txn/messages_suppressed"), 0);
    CHECK_INT(size(doc, "rules/big/messages_cancelled"), 0);

    TEST("message figures follow \"messages\" in FIGURES");
    {
        const char *key, *prev = NULL;
        json_t *v;
        int after = 0;
        json_object_foreach(at_path(doc, "total"), key, v) {
            if (prev && !strcmp(prev, "messages"))
                after = !strcmp(key, "messages_decided");
            prev = key;
        }
        CHECK(after);
    }

    TEST("a record's kind must be call, message, null or absent");
    static const char *const bad[] = {
        "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"decisions\", "
        "\"value\": {\"decision\": \"scheduled\", \"rule_id\": \"a\", "
        "\"reason\": null, \"kind\": \"sms\"}}",
        "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": \"decisions\", "
        "\"value\": {\"decision\": \"scheduled\", \"rule_id\": \"a\", "
        "\"reason\": null, \"kind\": 5}}",
        NULL};
    for (int i = 0; bad[i]; i++) {
        err.code = 0;
        CHECK_INT(report_add_output(rep, bad[i], strlen(bad[i]), &err), -1);
        CHECK_INT(err.code, FU_EINVAL);
    }
    CHECK_INT(decision(rep, "a", "scheduled", NULL, NULL), 0);
    CHECK_INT(out(rep, "{\"at\": \"2026-11-01T00:00:00Z\", \"topic\": "
                       "\"decisions\", \"value\": {\"decision\": "
                       "\"scheduled\", \"rule_id\": \"a\", \"reason\": null, "
                       "\"kind\": null}}"), 0);
    CHECK_INT(report_stats(rep)->malformed, 2);
    json_decref(doc);
    doc = report_json(rep);
    CHECK_INT(num(doc, "rules/a/scheduled"), 2);
    CHECK_INT(num(doc, "rules/a/messages_scheduled"), 0);

    TEST("text: a table of message follow-ups, rules with messages only");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK_INT(report_print_text(f, doc), 0);
    fclose(f);
    CHECK(strstr(text, "\nmessage follow-ups  decided  scheduled  sent  "
                       "suppressed  cancelled  moved\n"
                       "total                     6          3     2           "
                       "3          1      1\n"
                       "big                       2          1     1           "
                       "1          0      0\n"
                       "welcome                   4          2     1           "
                       "2          1      1\n\n") != NULL);
    CHECK(strstr(text, "\nmessages suppressed by reason  total  big  welcome\n"
                       "cap:sms                            1    0        1\n"
                       "channel_off                        1    0        1\n"
                       "opted_out                          1    1        0\n") != NULL);
    CHECK(strstr(text, "\nmessages cancelled by reason  total  welcome\n"
                       "channel_off                       1        1\n") != NULL);
    CHECK(strstr(text, "\nmessages moved by reason  total  welcome\n"
                       "rescheduled                   1        1\n") != NULL);
    CHECK(strstr(text, " \n") == NULL);
    free(text);
    json_decref(doc);
    report_free(rep);

    TEST("compare: message figures in the diff and by rule");
    struct report *a = report_new(db), *b = mixed_report();
    for (int i = 0; i < 3; i++) CHECK_INT(out(a, MIXED[i]), 0); /* calls */
    CHECK_INT(out(a, MIXED[12]), 0);
    doc = report_compare_json(a, b);
    check_counts(doc, (const struct want[]){
        {"diff/messages_decided", 6},
        {"diff/messages_scheduled", 3},
        {"diff/messages_suppressed/channel_off", 1},
        {"diff/messages_cancelled/channel_off", 1},
        {"diff/messages_moved/rescheduled", 1},
        {"diff/messages/sms", 1},
        {NULL, 0}});
    text = NULL;
    f = open_memstream(&text, &len);
    CHECK_INT(report_print_text(f, doc), 0);
    fclose(f);
    CHECK(strstr(text, "\nmessages_decided                   0    6    +6\n") != NULL);
    CHECK(strstr(text, "\nmessages_suppressed cap:sms        0    1    +1\n") != NULL);
    CHECK(strstr(text, "  messages old  new  diff\n") != NULL);
    CHECK(strstr(text, "\nwelcome              0    2    +2               "
                       "0    2    +2          0    0     0             0    1    "
                       "+1\n") != NULL);
    free(text);
    json_decref(doc);
    report_free(a);
    report_free(b);
}

/* Waiting for the dialer (spec 4.3): a hand-made output file of a paced
 * policy. Rule a: calls due 09:00 that left at 09:00 (+0 s), 09:01 (+60)
 * and 09:02:05 (+125); rule b: one that left 30 s late, one that left
 * before its due_at (a clock-skewed dump: waits 0) and a call moved by
 * pacing (reason paced). */
static const char *const PACED[][3] = {
    /* at, due_at, rule */
    {"2026-11-02T09:00:00Z", "2026-11-02T09:00:00Z", "a"},
    {"2026-11-02T09:01:00Z", "2026-11-02T09:00:00Z", "a"},
    {"2026-11-02T09:02:05Z", "2026-11-02T09:00:00Z", "a"},
    {"2026-11-02T09:01:00Z", "2026-11-02T09:00:30Z", "b"},
    {"2026-11-02T09:00:00Z", "2026-11-02T09:00:10Z", "b"},
    {NULL, NULL, NULL}};

static struct report *paced_report(int n) {
    struct report *rep = report_new(db);
    char task[16], user[16];
    for (int i = 0; i < n && PACED[i][0]; i++) {
        snprintf(task, sizeof(task), "t-%d", i);
        snprintf(user, sizeof(user), "u-%d", i);
        CHECK_INT(paced_call(rep, PACED[i][0], PACED[i][1], task, user,
                             PACED[i][2]), 0);
    }
    return rep;
}

static char *text_of(json_t *doc) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK_INT(report_print_text(f, doc), 0);
    fclose(f);
    return text;
}

static void test_waits(void) {
    struct report *rep = paced_report(5);
    TEST("waits: calls that left after their due_at, seconds, the largest");
    CHECK_INT(decision(rep, "b", "scheduled", "\"paced\"", NULL), 0);
    json_t *doc = report_json(rep);
    check_counts(doc, (const struct want[]){
        {"total/calls/1", 5},
        {"total/calls_waited", 3},
        {"total/wait_seconds_total", 215}, /* 0 + 60 + 125 + 30 + 0 */
        {"total/wait_seconds_max", 125},
        {"rules/a/calls_waited", 2},
        {"rules/a/wait_seconds_total", 185},
        {"rules/a/wait_seconds_max", 125},
        {"rules/b/calls_waited", 1}, /* the early one waited 0 */
        {"rules/b/wait_seconds_total", 30},
        {"rules/b/wait_seconds_max", 30},
        {"total/moved/paced", 1},
        {"rules/b/moved/paced", 1},
        {NULL, 0}});

    TEST("waits: right after the calls by attempt in FIGURES");
    {
        static const char *const want[] = {"calls", "calls_waited",
                                           "wait_seconds_total",
                                           "wait_seconds_max", "cancels"};
        const char *key;
        json_t *v;
        int i = -1, ok = 1;
        json_object_foreach(at_path(doc, "rules/a"), key, v) {
            if (!strcmp(key, "calls")) i = 0;
            if (i >= 0 && i < 5) ok &= !strcmp(key, want[i++]);
        }
        CHECK(ok && i == 5);
    }

    TEST("waits: text table after the calls by attempt, a row per rule");
    char *text = text_of(doc);
    CHECK(strstr(text, "\ncalls by attempt  total  a  b\n"
                       "1                     5  3  2\n\n"
                       "waiting for the dialer (pacing)  calls  waited  "
                       "wait_s  mean_s  max_s  paced\n"
                       "total                                5       3     "
                       "215    43.0    125      1\n"
                       "a                                    3       2     "
                       "185    61.7    125      0\n"
                       "b                                    2       1      "
                       "30    15.0     30      1\n\n") != NULL);
    /* the summary table is unchanged: no new columns */
    CHECK(strncmp(text, "rule   scheduled  suppressed  cancelled  moved  "
                        "calls  cancels  reminders  skipped  messages  "
                        "outcomes  answer_rate  per_answer  satisfaction  "
                        "rated\n", 137) == 0);
    CHECK(strstr(text, " \n") == NULL);
    free(text);
    json_decref(doc);

    TEST("waits: a pacing move alone shows the table");
    struct report *m = report_new(db);
    CHECK_INT(decision(m, "c", "scheduled", "\"paced\"", NULL), 0);
    doc = report_json(m);
    text = text_of(doc);
    CHECK(strstr(text, "\nwaiting for the dialer (pacing)  calls  waited  "
                       "wait_s  mean_s  max_s  paced\n"
                       "total                                0       0       "
                       "0       -      0      1\n"
                       "c                                    0       0       "
                       "0       -      0      1\n\n") != NULL);
    free(text);
    json_decref(doc);
    report_free(m);

    TEST("waits: compare of fewer calls a minute (old: the first two calls)");
    struct report *old = paced_report(2);
    doc = report_compare_json(old, rep);
    check_counts(doc, (const struct want[]){
        {"old/total/calls_waited", 1},
        {"old/total/wait_seconds_total", 60},
        {"old/total/wait_seconds_max", 60},
        {"diff/calls_waited", 2},
        {"diff/wait_seconds_total", 155},
        {"diff/wait_seconds_max", 65},
        {"diff/moved/paced", 1},
        {NULL, 0}});
    CHECK(at_path(doc, "diff/wait_seconds_mean") == NULL); /* text only */
    text = text_of(doc);
    CHECK(strncmp(text, "total                      old   new   diff  "
                        "relative\n", 54) == 0);
    CHECK(strstr(text, "\nmoved paced                  0     1     +1"
                       "         -\n") != NULL);
    CHECK(strstr(text, "\ncalls_waited                 1     3     +2"
                       "   +200.0%\n") != NULL);
    CHECK(strstr(text, "\nwait_seconds_total          60   215   +155"
                       "   +258.3%\n") != NULL);
    CHECK(strstr(text, "\nwait_seconds_max            60   125    +65"
                       "   +108.3%\n") != NULL);
    /* mean: 60 / 2 calls = 30.0, 215 / 5 = 43.0 */
    CHECK(strstr(text, "\nwait_seconds_mean         30.0  43.0  +13.0"
                       "    +43.3%\n") != NULL);
    CHECK(strstr(text, "\nscheduled                    0     0      0\n")
          != NULL); /* no relative for the other figures */
    CHECK(strstr(text, "  waited old  new  diff  wait_s old  new  diff\n")
          != NULL);
    CHECK(strstr(text, "\na                 0    0     0               0    "
                       "0     0          2    3    +1             0    0     "
                       "0           1    2    +1          60  185  +125\n")
          != NULL);
    CHECK(strstr(text, " \n") == NULL);
    free(text);
    json_decref(doc);

    TEST("waits: compare without pacing has no wait rows, no relative");
    struct report *x = report_new(db), *y = report_new(db);
    call(x, "2026-11-01T01:00:00Z", "t-1", "u-1", "r", 1, "UTC");
    doc = report_compare_json(x, y);
    text = text_of(doc);
    CHECK(strncmp(text, "total                     old  new  diff\n", 41) == 0);
    CHECK(strstr(text, "calls_waited") == NULL);
    CHECK(strstr(text, "wait_seconds") == NULL);
    CHECK(strstr(text, "waited old") == NULL);
    CHECK(strstr(text, "relative") == NULL);
    free(text);
    json_decref(doc);
    report_free(x);
    report_free(y);
    report_free(old);
    report_free(rep);
}

int main(void) {
    db = tzdb_new(NULL);
    test_decisions();
    test_calls_and_cancels();
    test_days_and_hours();
    test_reminders_and_more();
    test_messages();
    test_outcomes();
    test_malformed();
    test_compare();
    test_text();
    test_waits();
    tzdb_free(db);
    return test_report();
}
