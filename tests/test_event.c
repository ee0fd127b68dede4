/* test_event.c -- input event parsing, dead-letter reasons, lookups.
 *
 * Expected instants were worked out independently of the code under test
 * (2026-11-20T09:15:00Z = 1795166100; local dates 2026-10-01 = day 20727,
 * 2026-12-25 = day 20812). */
#include "event.h"

#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "timeutil.h"

/* A value that must never show up in a dead-letter reason. */
#define SECRET "13800138000"

#define HEAD_T(t)                                                          \
    "\"event_id\": \"e-1\", \"type\": \"" t "\", \"user_id\": \"u-42\", "  \
    "\"occurred_at\": \"2026-11-20T09:15:00Z\""
#define HEAD HEAD_T("transaction")
#define E0 "{\"event_id\": \"e\", \"type\": \"t\", \"user_id\": \"u\", "
#define PREFS(data) "{" HEAD_T("user.preferences") ", \"data\": " data "}"
#define WIN(cw) PREFS("{\"call_window\": " cw "}")

static struct tzdb *tzdb;

static int parse(const char *json, struct event *ev, struct fu_err *err) {
    fu_err_clear(err);
    return event_parse(json, strlen(json), tzdb, ev, err);
}

/* ---- Valid events ---- */

static void test_rule_event(void) {
    struct event ev;
    struct fu_err err;
    const char *json =
        "{\"event_id\": \"e-9f1c\", \"type\": \"transaction\", "
        "\"user_id\": \"u-42\", \"occurred_at\": \"2026-11-20T09:15:00Z\", "
        "\"timezone\": \"Asia/Shanghai\", \"data\": {\"amount\": 6200.00, "
        "\"currency\": \"CNY\", \"status\": \"succeeded\", "
        "\"kind\": \"transfer\"}}";

    TEST("spec example");
    CHECK_INT(parse(json, &ev, &err), 0);
    CHECK_INT(ev.kind, EV_RULE);
    CHECK_STR(ev.event_id, "e-9f1c");
    CHECK_STR(ev.type, "transaction");
    CHECK_STR(ev.user_id, "u-42");
    CHECK_INT(ev.occurred_at, 1795166100);
    CHECK_STR(ev.timezone, "Asia/Shanghai");
    CHECK(ev.task_id == NULL);
    CHECK_INT(ev.outcome, -1);
    CHECK(ev.at == TIME_NONE);
    CHECK(ev.pref_timezone == NULL);
    CHECK_INT(ev.has_opt_out, 0);
    CHECK_INT(ev.has_call_window, 0);
    CHECK_INT(ev.nchannels, 0);
    CHECK(ev.doc.root != NULL);
    event_release(&ev);
    CHECK(ev.doc.root == NULL && ev.doc.chunks == NULL);
    event_release(&ev); /* released twice is fine */
}

static void test_times(void) {
    static const struct {
        const char *name, *value;
        int64_t want;
    } times[] = {
        {"rfc3339 Z", "\"2026-11-20T09:15:00Z\"", 1795166100},
        {"rfc3339 offset", "\"2026-11-20T17:15:00+08:00\"", 1795166100},
        {"rfc3339 negative offset", "\"2026-11-19T23:15:00-10:00\"",
         1795166100},
        {"rfc3339 fraction", "\"2026-11-20T09:15:00.999Z\"", 1795166100},
        {"epoch ms exact", "1795166100000", 1795166100},
        {"epoch ms floored", "1795166100999", 1795166100},
        {"epoch ms zero", "0", 0},
        {"epoch ms below a second", "999", 0},
        {"epoch ms last of 9999", "253402300799999", 253402300799LL},
        {NULL, NULL, 0},
    };
    struct event ev;
    struct fu_err err;
    char json[512];

    for (int i = 0; times[i].name; i++) {
        TEST(times[i].name);
        snprintf(json, sizeof(json),
                 E0
                 "\"occurred_at\": %s}", times[i].value);
        CHECK_INT(parse(json, &ev, &err), 0);
        CHECK_INT(ev.occurred_at, times[i].want);
        event_release(&ev);
    }
}

static void test_minimal(void) {
    static const struct {
        const char *name, *json;
    } cases[] = {
        {"no data, no timezone", "{" HEAD "}"},
        {"null data and timezone", "{" HEAD ", \"timezone\": null, "
                                   "\"data\": null}"},
        {"empty data", "{" HEAD ", \"data\": {}}"},
        {"unknown top-level keys ignored", "{" HEAD ", \"extra\": [1]}"},
        {"id of 256 bytes",
         "{\"event_id\": \""
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
         "\", \"type\": \"t\", \"user_id\": \"u\", \"occurred_at\": 0}"},
        {"utf-8 ids", "{\"event_id\": \"\xe4\xba\x8b\", \"type\": \"t\", "
                      "\"user_id\": \"\xe7\x94\xa8\xe6\x88\xb7\", "
                      "\"occurred_at\": 0}"},
        {"callback-like type is a rule type",
         "{" HEAD_T("callback.other") "}"},
        {"whitespace around", " \n {" HEAD "} \n"},
        {NULL, NULL},
    };
    struct event ev;
    struct fu_err err;

    for (int i = 0; cases[i].name; i++) {
        TEST(cases[i].name);
        CHECK_INT(parse(cases[i].json, &ev, &err), 0);
        CHECK_INT(ev.kind, EV_RULE);
        CHECK(ev.timezone == NULL);
        event_release(&ev);
    }

    TEST("utf-8 ids kept");
    CHECK_INT(parse(cases[5].json, &ev, &err), 0);
    CHECK_STR(ev.user_id, "\xe7\x94\xa8\xe6\x88\xb7");
    event_release(&ev);

    TEST("bytes after len are not read");
    {
        const char *json = "{" HEAD "}garbage";
        size_t len = strlen("{" HEAD "}");
        CHECK_INT(event_parse(json, len, tzdb, &ev, &err), 0);
        event_release(&ev);
    }
}

static void test_outcome_events(void) {
    static const struct {
        const char *name;
        int outcome;
    } names[] = {
        {"answered", OUTCOME_ANSWERED},   {"no_answer", OUTCOME_NO_ANSWER},
        {"busy", OUTCOME_BUSY},           {"failed", OUTCOME_FAILED},
        {"refused", OUTCOME_REFUSED},     {"opt_out", OUTCOME_OPT_OUT},
        {"wrong_number", OUTCOME_WRONG_NUMBER},
        {NULL, 0},
    };
    struct event ev;
    struct fu_err err;
    char json[512];

    for (int i = 0; names[i].name; i++) {
        TEST(names[i].name);
        snprintf(json, sizeof(json),
                 "{" HEAD_T("callback.outcome") ", \"data\": {\"task_id\": "
                 "\"t-1\", \"outcome\": \"%s\"}}", names[i].name);
        CHECK_INT(parse(json, &ev, &err), 0);
        CHECK_INT(ev.kind, EV_OUTCOME);
        CHECK_STR(ev.task_id, "t-1");
        CHECK_INT(ev.outcome, names[i].outcome);
        event_release(&ev);
    }

    TEST("outcome names");
    for (int i = 0; names[i].name; i++) {
        CHECK_INT(outcome_from_name(names[i].name), names[i].outcome);
        CHECK_STR(outcome_name(names[i].outcome), names[i].name);
    }
    CHECK_INT(OUTCOME_COUNT, 7);
    CHECK_INT(outcome_from_name("Answered"), -1);
    CHECK_INT(outcome_from_name(""), -1);
    CHECK(outcome_name(-1) == NULL);
    CHECK(outcome_name(OUTCOME_COUNT) == NULL);
}

static void test_reschedule_events(void) {
    struct event ev;
    struct fu_err err;

    TEST("reschedule rfc3339");
    CHECK_INT(parse("{" HEAD_T("callback.reschedule") ", \"data\": "
                    "{\"task_id\": \"t-9\", "
                    "\"at\": \"2026-11-21T10:00:00+08:00\"}}",
                    &ev, &err), 0);
    CHECK_INT(ev.kind, EV_RESCHEDULE);
    CHECK_STR(ev.task_id, "t-9");
    CHECK_INT(ev.at, 1795226400);
    event_release(&ev);

    TEST("reschedule epoch ms");
    CHECK_INT(parse("{" HEAD_T("callback.reschedule") ", \"data\": "
                    "{\"task_id\": \"t-9\", \"at\": 1795226400500}}",
                    &ev, &err), 0);
    CHECK_INT(ev.at, 1795226400);
    event_release(&ev);
}

static void test_preferences(void) {
    struct event ev;
    struct fu_err err;

    TEST("full preferences");
    CHECK_INT(parse(PREFS("{\"opt_out\": true, \"channels\": {\"sms\": false, "
                          "\"email_2\": true}, "
                          "\"timezone\": \"Europe/Berlin\", "
                          "\"call_window\": {\"days\": [\"mon\", \"tue\", "
                          "\"fri\"], \"hours\": [\"14:00-20:00\", "
                          "\"09:00-12:00\"], \"exclude_dates\": "
                          "[\"2026-12-25\", \"2026-10-01\"]}, "
                          "\"note\": \"ignored\"}"),
                    &ev, &err), 0);
    CHECK_INT(ev.kind, EV_PREFERENCES);
    CHECK_INT(ev.has_opt_out, 1);
    CHECK_INT(ev.opt_out, 1);
    CHECK_INT(ev.nchannels, 2);
    if (ev.nchannels == 2) {
        CHECK_STR(ev.channels[0].name, "sms");
        CHECK_INT(ev.channels[0].on, 0);
        CHECK_STR(ev.channels[1].name, "email_2");
        CHECK_INT(ev.channels[1].on, 1);
    }
    CHECK_STR(ev.pref_timezone, "Europe/Berlin");
    CHECK(ev.timezone == NULL);
    CHECK_INT(ev.has_call_window, 1);
    CHECK_INT(ev.call_window_null, 0);
    CHECK_INT(ev.call_window.days, 0x13); /* mon, tue, fri */
    CHECK_INT(ev.call_window.nranges, 2);
    CHECK_INT(ev.call_window.ranges[0].start, 540);
    CHECK_INT(ev.call_window.ranges[0].end, 720);
    CHECK_INT(ev.call_window.ranges[1].start, 840);
    CHECK_INT(ev.call_window.ranges[1].end, 1200);
    CHECK_INT(ev.call_window.nexclude, 2);
    if (ev.call_window.nexclude == 2) {
        CHECK_INT(ev.call_window.exclude[0], 20727);
        CHECK_INT(ev.call_window.exclude[1], 20812);
    }
    event_release(&ev);

    TEST("empty preferences");
    CHECK_INT(parse(PREFS("{}"), &ev, &err), 0);
    CHECK_INT(ev.kind, EV_PREFERENCES);
    CHECK_INT(ev.has_opt_out, 0);
    CHECK_INT(ev.nchannels, 0);
    CHECK(ev.channels == NULL);
    CHECK(ev.pref_timezone == NULL);
    CHECK_INT(ev.has_call_window, 0);
    event_release(&ev);

    TEST("call_window null removes the override");
    CHECK_INT(parse(PREFS("{\"opt_out\": false, \"call_window\": null}"), &ev,
                    &err), 0);
    CHECK_INT(ev.has_opt_out, 1);
    CHECK_INT(ev.opt_out, 0);
    CHECK_INT(ev.has_call_window, 1);
    CHECK_INT(ev.call_window_null, 1);
    event_release(&ev);

    TEST("call_window days default to all, 24:00 end");
    CHECK_INT(parse(WIN("{\"hours\": [\"18:00-24:00\"], "
                        "\"exclude_dates\": []}"), &ev, &err), 0);
    CHECK_INT(ev.call_window.days, 0x7f);
    CHECK_INT(ev.call_window.nranges, 1);
    CHECK_INT(ev.call_window.ranges[0].start, 1080);
    CHECK_INT(ev.call_window.ranges[0].end, 1440);
    CHECK_INT(ev.call_window.nexclude, 0);
    event_release(&ev);

    TEST("long day names, any case");
    CHECK_INT(parse(WIN("{\"days\": [\"Sunday\", \"SAT\"], "
                        "\"hours\": [\"09:00-10:00\"]}"), &ev, &err), 0);
    CHECK_INT(ev.call_window.days, 0x60);
    event_release(&ev);

    TEST("null opt_out is absent; empty channels");
    CHECK_INT(parse(PREFS("{\"opt_out\": null, \"channels\": {}}"), &ev, &err),
              0);
    CHECK_INT(ev.has_opt_out, 0);
    CHECK_INT(ev.nchannels, 0);
    event_release(&ev);

    TEST("top-level timezone with preferences");
    CHECK_INT(parse("{" HEAD_T("user.preferences") ", \"timezone\": \"UTC\", "
                    "\"data\": {\"timezone\": \"America/New_York\"}}",
                    &ev, &err), 0);
    CHECK_STR(ev.timezone, "UTC");
    CHECK_STR(ev.pref_timezone, "America/New_York");
    event_release(&ev);
}

/* ---- Dead letters ---- */

#define DUP_JSON "{\"event_id\":\"e1\",\"event_id\":\"e2\"}"
#define LONG_ID                                                            \
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"     \
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"     \
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"     \
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define OUT(d) "{" HEAD_T("callback.outcome") ", \"data\": " d "}"
#define RES(d) "{" HEAD_T("callback.reschedule") ", \"data\": " d "}"
#define TIME_MSG(f)                                                        \
    "field '" f "' must be an RFC 3339 time or epoch milliseconds"
#define H "\"hours\": [\"09:00-12:00\"]"

static const struct bad_case {
    const char *name, *json, *msg;
} bad_cases[] = {
    /* not JSON at all */
    {"empty", "", "empty event"},
    {"blank", " \n\t ", "empty event"},
    {"garbage", "not json", "invalid JSON at line 1 column 3: invalid syntax"},
    {"trailing comma", "{\"event_id\": \"e-1\",}",
     "invalid JSON at line 1 column 20: invalid syntax"},
    {"second line", "{\n  \"a\": tru\n}",
     "invalid JSON at line 2 column 10: invalid syntax"},
    {"trailing text", "{\"a\":1} x",
     "invalid JSON at line 1 column 9: unexpected text after the value"},
    {"truncated", "[1,2", "invalid JSON at line 1 column 4: unexpected end "
                          "of input"},
    {"duplicate keys", DUP_JSON,
     "invalid JSON at line 1 column 27: duplicate key"},
    {"bad utf-8", "{\"a\": \"\xff\"}",
     "invalid JSON at line 1 column 7: invalid UTF-8"},
    {"nul escape", "{\"a\": \"\\u0000\"}",
     "invalid JSON at line 1 column 14: \\u0000 is not allowed"},
    {"integer overflow", "{\"n\": 99999999999999999999}",
     "invalid JSON at line 1 column 26: number out of range"},
    {"secret in garbage", SECRET " is my number",
     "invalid JSON at line 1 column 14: unexpected text after the value"},
    /* not an object */
    {"array", "[1, 2]", "event must be a JSON object"},
    {"string", "\"" SECRET "\"", "event must be a JSON object"},
    {"number", "42", "event must be a JSON object"},
    {"null", "null", "event must be a JSON object"},
    /* required fields */
    {"no event_id", "{\"type\": \"t\", \"user_id\": \"u\", \"occurred_at\": 0}",
     "missing required field 'event_id'"},
    {"no type", "{\"event_id\": \"e\", \"user_id\": \"u\", \"occurred_at\": 0}",
     "missing required field 'type'"},
    {"no user_id", "{\"event_id\": \"e\", \"type\": \"t\", \"occurred_at\": 0}",
     "missing required field 'user_id'"},
    {"null user_id", "{\"event_id\": \"e\", \"type\": \"t\", "
                     "\"user_id\": null, "
                     "\"occurred_at\": 0}",
     "missing required field 'user_id'"},
    {"no occurred_at",
     "{\"event_id\": \"e\", \"type\": \"t\", \"user_id\": \"u\"}",
     "missing required field 'occurred_at'"},
    {"empty object", "{}", "missing required field 'event_id'"},
    /* id shapes */
    {"numeric event_id", "{\"event_id\": " SECRET ", \"type\": \"t\", "
                         "\"user_id\": \"u\", \"occurred_at\": 0}",
     "field 'event_id' must be a string"},
    {"phone number as user_id", "{\"event_id\": \"e\", \"type\": \"t\", "
                                "\"user_id\": 86" SECRET ", "
                                "\"occurred_at\": 0}",
     "field 'user_id' must be a string"},
    {"user_id object", "{\"event_id\": \"e\", \"type\": \"t\", "
                       "\"user_id\": {\"phone\": \"" SECRET "\"}, "
                       "\"occurred_at\": 0}",
     "field 'user_id' must be a string"},
    {"type bool", "{\"event_id\": \"e\", \"type\": true, \"user_id\": \"u\", "
                  "\"occurred_at\": 0}",
     "field 'type' must be a string"},
    {"empty type", "{\"event_id\": \"e\", \"type\": \"\", \"user_id\": \"u\", "
                   "\"occurred_at\": 0}",
     "field 'type' must not be empty"},
    {"id of 257 bytes", "{\"event_id\": \"" LONG_ID "x\", \"type\": \"t\", "
                        "\"user_id\": \"u\", \"occurred_at\": 0}",
     "field 'event_id' is longer than 256 bytes"},
    {"control char in user_id", "{\"event_id\": \"e\", \"type\": \"t\", "
                                "\"user_id\": \"" SECRET "\\n\", "
                                "\"occurred_at\": 0}",
     "field 'user_id' must not contain control characters"},
    {"DEL in event_id", "{\"event_id\": \"e\x7f\", \"type\": \"t\", "
                        "\"user_id\": \"u\", \"occurred_at\": 0}",
     "field 'event_id' must not contain control characters"},
    /* occurred_at */
    {"time words", E0
                   "\"occurred_at\": \"yesterday " SECRET "\"}",
     TIME_MSG("occurred_at")},
    {"time no zone", E0
                     "\"occurred_at\": \"2026-11-20T09:15:00\"}",
     TIME_MSG("occurred_at")},
    {"time bad month", E0
                       "\"occurred_at\": \"2026-13-20T09:15:00Z\"}",
     TIME_MSG("occurred_at")},
    {"time date only", E0
                       "\"occurred_at\": \"2026-11-20\"}",
     TIME_MSG("occurred_at")},
    {"negative ms", E0
                    "\"occurred_at\": -1}",
     TIME_MSG("occurred_at")},
    {"ms past 9999", E0
                     "\"occurred_at\": 253402300800000}",
     TIME_MSG("occurred_at")},
    {"real ms", E0
                "\"occurred_at\": 1795166100000.0}",
     TIME_MSG("occurred_at")},
    {"bool time", E0
                  "\"occurred_at\": true}",
     TIME_MSG("occurred_at")},
    /* timezone */
    {"unknown timezone", "{" HEAD ", \"timezone\": \"Mars/" SECRET "\"}",
     "unknown timezone in 'timezone'"},
    {"path as timezone", "{" HEAD ", \"timezone\": \"../../etc/passwd\"}",
     "unknown timezone in 'timezone'"},
    {"numeric timezone", "{" HEAD ", \"timezone\": 8}",
     "field 'timezone' must be an IANA timezone name"},
    /* data */
    {"data array", "{" HEAD ", \"data\": [\"" SECRET "\"]}",
     "field 'data' must be an object"},
    {"data string", "{" HEAD ", \"data\": \"" SECRET "\"}",
     "field 'data' must be an object"},
    /* callback.outcome */
    {"outcome without data", "{" HEAD_T("callback.outcome") "}",
     "missing required field 'data'"},
    {"outcome null data", "{" HEAD_T("callback.outcome") ", \"data\": null}",
     "missing required field 'data'"},
    {"outcome no task_id", OUT("{\"outcome\": \"busy\"}"),
     "missing required field 'data.task_id'"},
    {"outcome numeric task_id", OUT("{\"task_id\": " SECRET ", "
                                    "\"outcome\": \"busy\"}"),
     "field 'data.task_id' must be a string"},
    {"outcome long task_id", OUT("{\"task_id\": \"" LONG_ID "x\", "
                                 "\"outcome\": \"busy\"}"),
     "field 'data.task_id' is longer than 256 bytes"},
    {"outcome missing", OUT("{\"task_id\": \"t-1\"}"),
     "missing required field 'data.outcome'"},
    {"outcome not string", OUT("{\"task_id\": \"t-1\", \"outcome\": 3}"),
     "field 'data.outcome' must be a string"},
    {"unknown outcome", OUT("{\"task_id\": \"t-1\", \"outcome\": \"" SECRET
                            "\"}"),
     "unknown outcome in 'data.outcome' (expected one of answered, "
     "no_answer, busy, failed, refused, opt_out, wrong_number)"},
    {"outcome wrong case", OUT("{\"task_id\": \"t-1\", \"outcome\": "
                               "\"ANSWERED\"}"),
     "unknown outcome in 'data.outcome' (expected one of answered, "
     "no_answer, busy, failed, refused, opt_out, wrong_number)"},
    /* callback.reschedule */
    {"reschedule without data", "{" HEAD_T("callback.reschedule") "}",
     "missing required field 'data'"},
    {"reschedule no task_id", RES("{\"at\": 0}"),
     "missing required field 'data.task_id'"},
    {"reschedule no at", RES("{\"task_id\": \"t-1\"}"),
     "missing required field 'data.at'"},
    {"reschedule bad at", RES("{\"task_id\": \"t-1\", \"at\": \"tomorrow\"}"),
     TIME_MSG("data.at")},
    {"reschedule negative at", RES("{\"task_id\": \"t-1\", \"at\": -5}"),
     TIME_MSG("data.at")},
    {"reschedule real at", RES("{\"task_id\": \"t-1\", \"at\": 1.5}"),
     TIME_MSG("data.at")},
    /* user.preferences */
    {"preferences without data", "{" HEAD_T("user.preferences") "}",
     "missing required field 'data'"},
    {"preferences data array", PREFS("[]"), "field 'data' must be an object"},
    {"opt_out string", PREFS("{\"opt_out\": \"yes\"}"),
     "field 'data.opt_out' must be true or false"},
    {"opt_out number", PREFS("{\"opt_out\": 1}"),
     "field 'data.opt_out' must be true or false"},
    {"channels array", PREFS("{\"channels\": [\"sms\"]}"),
     "field 'data.channels' must be an object of channel name to true or "
     "false"},
    {"channel upper case", PREFS("{\"channels\": {\"SMS\": false}}"),
     "invalid channel name in 'data.channels' (expected [a-z0-9_]+, at most "
     "64 bytes)"},
    {"channel empty name", PREFS("{\"channels\": {\"\": false}}"),
     "invalid channel name in 'data.channels' (expected [a-z0-9_]+, at most "
     "64 bytes)"},
    {"channel secret name", PREFS("{\"channels\": {\"+86" SECRET "\": true}}"),
     "invalid channel name in 'data.channels' (expected [a-z0-9_]+, at most "
     "64 bytes)"},
    {"channel value string", PREFS("{\"channels\": {\"sms\": \"off\"}}"),
     "channel in 'data.channels' must be true or false"},
    {"channel value null", PREFS("{\"channels\": {\"sms\": true, "
                                 "\"push\": null}}"),
     "channel in 'data.channels' must be true or false"},
    {"preferences unknown timezone", PREFS("{\"timezone\": \"Nowhere/City\"}"),
     "unknown timezone in 'data.timezone'"},
    {"preferences timezone number", PREFS("{\"timezone\": [1]}"),
     "field 'data.timezone' must be an IANA timezone name"},
    /* call_window */
    {"window string", WIN("\"09:00-17:00\""),
     "field 'data.call_window' must be an object or null"},
    {"window array", WIN("[]"),
     "field 'data.call_window' must be an object or null"},
    {"window empty", WIN("{}"),
     "missing required field 'data.call_window.hours'"},
    {"window unknown key", WIN("{" H ", \"" SECRET "\": 1}"),
     "unknown key in 'data.call_window' (expected days, hours, "
     "exclude_dates)"},
    {"window timezone key", WIN("{" H ", \"timezone\": \"UTC\"}"),
     "unknown key in 'data.call_window' (expected days, hours, "
     "exclude_dates)"},
    {"hours empty", WIN("{\"hours\": []}"),
     "field 'data.call_window.hours' must be a non-empty array of "
     "\"HH:MM-HH:MM\" ranges"},
    {"hours string", WIN("{\"hours\": \"09:00-17:00\"}"),
     "field 'data.call_window.hours' must be a non-empty array of "
     "\"HH:MM-HH:MM\" ranges"},
    {"hours null", WIN("{\"hours\": null}"),
     "field 'data.call_window.hours' must be a non-empty array of "
     "\"HH:MM-HH:MM\" ranges"},
    {"hours bad syntax", WIN("{\"hours\": [\"9-5\"]}"),
     "invalid range in 'data.call_window.hours[0]' (expected \"HH:MM-HH:MM\", "
     "00:00 to 24:00)"},
    {"hours out of range",
     WIN("{\"hours\": [\"09:00-12:00\", \"23:00-25:00\"]}"),
     "invalid range in 'data.call_window.hours[1]' (expected \"HH:MM-HH:MM\", "
     "00:00 to 24:00)"},
    {"hours number", WIN("{\"hours\": [900]}"),
     "invalid range in 'data.call_window.hours[0]' (expected \"HH:MM-HH:MM\", "
     "00:00 to 24:00)"},
    {"hours backwards", WIN("{\"hours\": [\"09:00-12:00\", \"22:00-06:00\"]}"),
     "range in 'data.call_window.hours[1]' must start before it ends (write "
     "two ranges to cross midnight)"},
    {"hours empty range", WIN("{\"hours\": [\"09:00-09:00\"]}"),
     "range in 'data.call_window.hours[0]' must start before it ends (write "
     "two ranges to cross midnight)"},
    {"too many ranges",
     WIN("{\"hours\": [\"00:00-00:30\", \"01:00-01:30\", \"02:00-02:30\", "
         "\"03:00-03:30\", \"04:00-04:30\", \"05:00-05:30\", \"06:00-06:30\", "
         "\"07:00-07:30\", \"08:00-08:30\", \"09:00-09:30\", \"10:00-10:30\", "
         "\"11:00-11:30\", \"12:00-12:30\", \"13:00-13:30\", \"14:00-14:30\", "
         "\"15:00-15:30\", \"16:00-16:30\", \"17:00-17:30\", \"18:00-18:30\", "
         "\"19:00-19:30\", \"20:00-20:30\", \"21:00-21:30\", \"22:00-22:30\", "
         "\"23:00-23:30\", \"23:40-23:50\"]}"),
     "too many ranges in 'data.call_window.hours' (at most 24)"},
    {"days string", WIN("{\"days\": \"mon\", " H "}"),
     "field 'data.call_window.days' must be an array of day names (mon, tue, "
     "wed, thu, fri, sat, sun)"},
    {"days unknown", WIN("{\"days\": [\"mon\", \"funday\"], " H "}"),
     "unknown day in 'data.call_window.days[1]' (expected one of mon, tue, "
     "wed, thu, fri, sat, sun)"},
    {"days number", WIN("{\"days\": [1], " H "}"),
     "unknown day in 'data.call_window.days[0]' (expected one of mon, tue, "
     "wed, thu, fri, sat, sun)"},
    {"days empty", WIN("{\"days\": [], " H "}"),
     "field 'data.call_window' never opens (expected at least one day in "
     "'days')"},
    {"exclude_dates string", WIN("{" H ", \"exclude_dates\": \"2026-10-01\"}"),
     "field 'data.call_window.exclude_dates' must be an array of "
     "\"YYYY-MM-DD\" dates"},
    {"exclude_dates bad date",
     WIN("{" H ", \"exclude_dates\": [\"2026-10-01\", \"2026-02-30\"]}"),
     "invalid date in 'data.call_window.exclude_dates[1]' (expected "
     "\"YYYY-MM-DD\")"},
    {"exclude_dates secret",
     WIN("{" H ", \"exclude_dates\": [\"" SECRET "\"]}"),
     "invalid date in 'data.call_window.exclude_dates[0]' (expected "
     "\"YYYY-MM-DD\")"},
    {NULL, NULL, NULL},
};

static void test_dead_letters(void) {
    struct event ev;
    struct fu_err err;

    for (int i = 0; bad_cases[i].name; i++) {
        const struct bad_case *c = &bad_cases[i];

        TEST(c->name);
        memset(&ev, 0xA5, sizeof(ev)); /* must not matter */
        CHECK_INT(parse(c->json, &ev, &err), -1);
        CHECK_INT(err.code, FU_EINVAL);
        CHECK_STR(err.msg, c->msg);
        CHECK(strstr(err.msg, SECRET) == NULL);
        /* left released */
        CHECK(ev.doc.root == NULL && ev.doc.chunks == NULL);
        CHECK(ev.channels == NULL);
        CHECK(ev.call_window.exclude == NULL);
        event_release(&ev);
    }
}

/* ---- Lookups, context, peek ---- */

static const char lookup_json[] =
    "{\"event_id\": \"e-9f1c\", \"type\": \"transaction\", "
    "\"user_id\": \"u-42\", \"occurred_at\": 1795166100000, "
    "\"data\": {\"amount\": 6200.00, \"currency\": \"CNY\", \"count\": 3, "
    "\"ratio\": 0.1, \"big\": 0.30000000000000004, \"flag\": true, "
    "\"off\": false, \"none\": null, \"items\": [1.10, {\"k\": \"v\"}], "
    "\"nested\": {\"a\": {\"b\": \"x\"}}, \"note\": \"a\\\"b \xc3\xa9\", "
    "\"neg\": -7}}";

static void lookup(const struct event *ev, const char *a, const char *b,
                   const char *c, struct cond_value *out) {
    const char *segs[3] = {a, b, c};
    int n = c ? 3 : b ? 2 : 1;

    event_lookup(ev, segs, n, out);
}

/* event_context_json over copies of the paths (it takes char *const *, as
 * the policy keeps them). */
static char *context(const struct event *ev, const char *const *paths,
                     int n) {
    char *copies[16] = {NULL};
    char *s;

    if (n > 16) return NULL;
    for (int i = 0; i < n; i++) copies[i] = strdup(paths[i]);
    s = event_context_json(ev, copies, n);
    for (int i = 0; i < n; i++) free(copies[i]);
    return s;
}

static void test_lookup(void) {
    struct event ev;
    struct fu_err err;
    struct cond_value v;

    TEST("lookup setup");
    CHECK_INT(parse(lookup_json, &ev, &err), 0);
    if (!ev.doc.root) return;

    TEST("lookup top-level string");
    lookup(&ev, "type", NULL, NULL, &v);
    CHECK_INT(v.type, CV_STRING);
    CHECK_STR(v.str, "transaction");

    TEST("lookup real");
    lookup(&ev, "data", "amount", NULL, &v);
    CHECK_INT(v.type, CV_NUMBER);
    CHECK(v.num == 6200.0);

    TEST("lookup integer as number");
    lookup(&ev, "data", "count", NULL, &v);
    CHECK_INT(v.type, CV_NUMBER);
    CHECK(v.num == 3.0);
    lookup(&ev, "occurred_at", NULL, NULL, &v);
    CHECK_INT(v.type, CV_NUMBER);
    CHECK(v.num == 1795166100000.0);
    lookup(&ev, "data", "neg", NULL, &v);
    CHECK(v.type == CV_NUMBER && v.num == -7.0);

    TEST("lookup bools and null");
    lookup(&ev, "data", "flag", NULL, &v);
    CHECK_INT(v.type, CV_BOOL);
    CHECK_INT(v.b, 1);
    lookup(&ev, "data", "off", NULL, &v);
    CHECK_INT(v.type, CV_BOOL);
    CHECK_INT(v.b, 0);
    lookup(&ev, "data", "none", NULL, &v);
    CHECK_INT(v.type, CV_NULL);

    TEST("lookup containers are other");
    lookup(&ev, "data", NULL, NULL, &v);
    CHECK_INT(v.type, CV_OTHER);
    lookup(&ev, "data", "items", NULL, &v);
    CHECK_INT(v.type, CV_OTHER);

    TEST("lookup nested");
    lookup(&ev, "data", "nested", "a", &v);
    CHECK_INT(v.type, CV_OTHER);
    {
        const char *segs[4] = {"data", "nested", "a", "b"};
        event_lookup(&ev, segs, 4, &v);
        CHECK_INT(v.type, CV_STRING);
        CHECK_STR(v.str, "x");
    }

    TEST("lookup missing");
    lookup(&ev, "data", "missing", NULL, &v);
    CHECK_INT(v.type, CV_MISSING);
    lookup(&ev, "nothing", NULL, NULL, &v);
    CHECK_INT(v.type, CV_MISSING);
    lookup(&ev, "data", "amount", "x", &v); /* through a number */
    CHECK_INT(v.type, CV_MISSING);
    lookup(&ev, "type", "x", NULL, &v); /* through a string */
    CHECK_INT(v.type, CV_MISSING);
    lookup(&ev, "data", "items", "0", &v); /* arrays are not indexed */
    CHECK_INT(v.type, CV_MISSING);

    TEST("context json");
    {
        static const char *const paths[] = {
                         "data.amount", "data.currency", "data.missing",
                         "data.ratio", "data.items", "type", "data.big",
                         "data.count", "data.nested.a", "data.none",
                         "data.note", "data.amount.x", "data.flag"};
        char *s = context(&ev, paths, (int)(sizeof(paths) / sizeof(*paths)));
        CHECK_STR(s, "{\"data.amount\": 6200.0, \"data.currency\": \"CNY\", "
                     "\"data.missing\": null, \"data.ratio\": 0.1, "
                     "\"data.items\": [1.1,{\"k\":\"v\"}], "
                     "\"type\": \"transaction\", "
                     "\"data.big\": 0.30000000000000004, \"data.count\": 3, "
                     "\"data.nested.a\": {\"b\":\"x\"}, \"data.none\": null, "
                     "\"data.note\": \"a\\\"b \xc3\xa9\", "
                     "\"data.amount.x\": null, \"data.flag\": true}");
        free(s);
    }

    TEST("context json, spec paths");
    {
        static const char *const paths[] = {"data.amount", "data.currency"};
        char *s = context(&ev, paths, 2);
        CHECK_STR(s, "{\"data.amount\": 6200.0, \"data.currency\": \"CNY\"}");
        free(s);
    }

    TEST("context json, no paths");
    {
        char *s = event_context_json(&ev, NULL, 0);
        CHECK_STR(s, "{}");
        free(s);
    }
    event_release(&ev);
}

static void test_peek(void) {
    static const struct {
        const char *name, *json, *want;
    } cases[] = {
        {"valid event", lookup_json, "u-42"},
        {"invalid event", "{\"user_id\": \"u-7\", \"occurred_at\": \"never\"}",
         "u-7"},
        {"duplicate keys are lenient", "{\"user_id\": \"u-1\", "
                                       "\"user_id\": \"u-2\"}", "u-2"},
        {"numeric user_id", "{\"user_id\": 42}", NULL},
        {"empty user_id", "{\"user_id\": \"\"}", NULL},
        {"no user_id", "{\"event_id\": \"e\"}", NULL},
        {"array", "[\"u-42\"]", NULL},
        {"truncated", "{\"user_id\": \"u-42\", ", NULL},
        {"garbage", "user_id=u-42", NULL},
        {"empty", "", NULL},
        {NULL, NULL, NULL},
    };

    for (int i = 0; cases[i].name; i++) {
        char *id;

        TEST(cases[i].name);
        id = event_peek_user_id(cases[i].json, strlen(cases[i].json));
        if (cases[i].want)
            CHECK_STR(id, cases[i].want);
        else
            CHECK(id == NULL);
        free(id);
    }
}

static void test_release_zeroed(void) {
    struct event ev;

    TEST("release of a zeroed event");
    memset(&ev, 0, sizeof(ev));
    event_release(&ev);
    CHECK(ev.doc.root == NULL && ev.doc.chunks == NULL);
    event_release(NULL);
    CHECK(1);
}

int main(void) {
    tzdb = tzdb_new(NULL);
    TEST("tzdb");
    CHECK(tzdb != NULL);
    if (!tzdb) return test_report();

    test_rule_event();
    test_times();
    test_minimal();
    test_outcome_events();
    test_reschedule_events();
    test_preferences();
    test_dead_letters();
    test_lookup();
    test_peek();
    test_release_zeroed();
    tzdb_free(tzdb);
    return test_report();
}
