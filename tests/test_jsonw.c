/* test_jsonw.c -- the JSON writer: style, commas, nesting, escapes. */
#include "jsonw.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "timeutil.h"

static void test_empty(void) {
    struct jsonw w;
    char *s;

    TEST("fresh writer");
    jsonw_init(&w);
    CHECK(w.buf != NULL);
    CHECK_STR(w.buf, "");
    s = jsonw_detach(&w);
    CHECK_STR(s, "");
    free(s);
    CHECK_STR(w.buf, "");
    jsonw_release(&w);
    jsonw_release(&w); /* twice is fine */

    TEST("empty containers");
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_obj_close(&w);
    CHECK_STR(w.buf, "{}");
    jsonw_reset(&w);
    jsonw_arr_open(&w);
    jsonw_arr_close(&w);
    CHECK_STR(w.buf, "[]");
    jsonw_release(&w);
}

static void test_style(void) {
    struct jsonw w;
    char *s;

    TEST("spaced style");
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_kint(&w, "a", 1);
    jsonw_key(&w, "b");
    jsonw_arr_open(&w);
    jsonw_int(&w, 1);
    jsonw_int(&w, 2);
    jsonw_arr_close(&w);
    jsonw_kstr(&w, "c", "x");
    jsonw_obj_close(&w);
    s = jsonw_detach(&w);
    CHECK_STR(s, "{\"a\": 1, \"b\": [1, 2], \"c\": \"x\"}");
    free(s);

    TEST("writer is reusable after detach");
    jsonw_arr_open(&w);
    jsonw_bool(&w, 1);
    jsonw_bool(&w, 0);
    jsonw_null(&w);
    jsonw_arr_close(&w);
    CHECK_STR(w.buf, "[true, false, null]");
    CHECK_INT(w.len, strlen("[true, false, null]"));
    jsonw_release(&w);
}

static void test_nesting(void) {
    struct jsonw w;

    TEST("nesting and commas");
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_key(&w, "a");
    jsonw_obj_open(&w);
    jsonw_key(&w, "b");
    jsonw_obj_open(&w);
    jsonw_key(&w, "c");
    jsonw_arr_open(&w);
    jsonw_arr_close(&w);
    jsonw_obj_close(&w);
    jsonw_obj_close(&w);
    jsonw_key(&w, "d");
    jsonw_arr_open(&w);
    jsonw_arr_open(&w);
    jsonw_arr_close(&w);
    jsonw_obj_open(&w);
    jsonw_obj_close(&w);
    jsonw_arr_open(&w);
    jsonw_int(&w, 3);
    jsonw_arr_close(&w);
    jsonw_arr_close(&w);
    jsonw_knull(&w, "e");
    jsonw_obj_close(&w);
    CHECK_STR(w.buf, "{\"a\": {\"b\": {\"c\": []}}, "
                     "\"d\": [[], {}, [3]], \"e\": null}");
    CHECK_INT(w.depth, 0);
    CHECK(!w.oom);
    jsonw_release(&w);

    TEST("array of objects");
    jsonw_init(&w);
    jsonw_arr_open(&w);
    for (int i = 1; i <= 3; i++) {
        jsonw_obj_open(&w);
        jsonw_kint(&w, "i", i);
        jsonw_kint(&w, "j", -i);
        jsonw_obj_close(&w);
    }
    jsonw_arr_close(&w);
    CHECK_STR(w.buf, "[{\"i\": 1, \"j\": -1}, {\"i\": 2, \"j\": -2}, "
                     "{\"i\": 3, \"j\": -3}]");
    jsonw_release(&w);

    TEST("too deep fails");
    jsonw_init(&w);
    for (int i = 0; i < JSONW_MAX_DEPTH; i++) jsonw_arr_open(&w);
    CHECK(w.oom);
    jsonw_int(&w, 1); /* no-op */
    CHECK(jsonw_detach(&w) == NULL);
    CHECK(!w.oom);
    CHECK_STR(w.buf, "");

    TEST("deepest allowed");
    for (int i = 0; i < JSONW_MAX_DEPTH - 1; i++) jsonw_arr_open(&w);
    CHECK(!w.oom);
    for (int i = 0; i < JSONW_MAX_DEPTH - 1; i++) jsonw_arr_close(&w);
    CHECK(!w.oom);
    CHECK_INT(w.len, 2 * (JSONW_MAX_DEPTH - 1));
    CHECK(w.buf[0] == '[' && w.buf[w.len - 1] == ']');
    jsonw_release(&w);
}

static void test_escapes(void) {
    struct jsonw w;

    TEST("string escapes");
    jsonw_init(&w);
    jsonw_str(&w, "q\"b\\n\nt\tr\rb\bf\f\x01\x1f\x7f/\xc3\xa9");
    CHECK_STR(w.buf, "\"q\\\"b\\\\n\\nt\\tr\\rb\\bf\\f\\u0001\\u001f\x7f/"
                     "\xc3\xa9\"");
    jsonw_reset(&w);

    TEST("embedded NUL through strn");
    jsonw_strn(&w, "a\0b", 3);
    CHECK_STR(w.buf, "\"a\\u0000b\"");
    jsonw_reset(&w);

    TEST("strn takes only n bytes");
    jsonw_strn(&w, "abcdef", 2);
    CHECK_STR(w.buf, "\"ab\"");
    jsonw_reset(&w);

    TEST("escaped keys");
    jsonw_obj_open(&w);
    jsonw_kstr(&w, "k\"\n", "");
    jsonw_obj_close(&w);
    CHECK_STR(w.buf, "{\"k\\\"\\n\": \"\"}");
    jsonw_reset(&w);

    TEST("NULL string is null");
    jsonw_obj_open(&w);
    jsonw_kstr(&w, "s", NULL);
    jsonw_obj_close(&w);
    CHECK_STR(w.buf, "{\"s\": null}");
    jsonw_reset(&w);

    TEST("long string grows the buffer");
    {
        char big[3000];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        big[1000] = '\n';
        jsonw_str(&w, big);
        CHECK_INT(w.len, 2999 + 2 + 1); /* 2999 x/NL, quotes, a backslash */
        CHECK(w.buf[1001] == '\\' && w.buf[1002] == 'n');
        CHECK(w.buf[w.len - 1] == '"' && w.buf[w.len] == '\0');
    }
    jsonw_release(&w);
}

static void test_scalars(void) {
    struct jsonw w;

    TEST("integers");
    jsonw_init(&w);
    jsonw_arr_open(&w);
    jsonw_int(&w, 0);
    jsonw_int(&w, -42);
    jsonw_int(&w, INT64_MAX);
    jsonw_int(&w, INT64_MIN);
    jsonw_arr_close(&w);
    CHECK_STR(w.buf, "[0, -42, 9223372036854775807, -9223372036854775808]");
    jsonw_reset(&w);

    TEST("times");
    jsonw_obj_open(&w);
    jsonw_ktime(&w, "due_at", 1795166100); /* 2026-11-20T09:15:00Z */
    jsonw_ktime(&w, "epoch", 0);
    jsonw_ktime(&w, "none", TIME_NONE);
    jsonw_key(&w, "arr");
    jsonw_arr_open(&w);
    jsonw_time(&w, TIME_NONE);
    jsonw_time(&w, -1);
    jsonw_arr_close(&w);
    jsonw_obj_close(&w);
    CHECK_STR(w.buf, "{\"due_at\": \"2026-11-20T09:15:00Z\", "
                     "\"epoch\": \"1970-01-01T00:00:00Z\", \"none\": null, "
                     "\"arr\": [null, \"1969-12-31T23:59:59Z\"]}");
    jsonw_reset(&w);

    TEST("raw");
    jsonw_obj_open(&w);
    jsonw_key(&w, "context");
    jsonw_raw(&w, "{\"data.amount\":6200.0}");
    jsonw_key(&w, "none");
    jsonw_raw(&w, NULL);
    jsonw_key(&w, "list");
    jsonw_arr_open(&w);
    jsonw_raw(&w, "1");
    jsonw_raw(&w, "\"x\"");
    jsonw_arr_close(&w);
    jsonw_obj_close(&w);
    CHECK_STR(w.buf, "{\"context\": {\"data.amount\":6200.0}, \"none\": null, "
                     "\"list\": [1, \"x\"]}");
    jsonw_release(&w);
}

int main(void) {
    test_empty();
    test_style();
    test_nesting();
    test_escapes();
    test_scalars();
    return test_report();
}
