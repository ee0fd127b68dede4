/* test_log.c -- the logger: exact JSON and text records, escaping, level
 * filtering (arguments not evaluated), one write per record, level names,
 * the rate limiter. */
#define _GNU_SOURCE /* fopencookie: count the writes a record makes */
#include "log.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "test.h"
#include "timeutil.h"

/* ---- A fixed clock and a stream we can read back ---- */

static int64_t fixed_ms(void *ctx) {
    return *(const int64_t *)ctx;
}

/* 2026-11-30T05:04:07.123Z in epoch milliseconds */
static int64_t t_ms(void) {
    int64_t t = 0;
    time_parse_rfc3339("2026-11-30T05:04:07Z", &t);
    return t * 1000 + 123;
}

struct sink {
    char *buf;
    size_t len;
    FILE *f;
};

static void sink_open(struct sink *s) {
    s->buf = NULL;
    s->len = 0;
    s->f = open_memstream(&s->buf, &s->len);
}

/* What was written so far (the logger flushes after every record). */
static const char *sink_text(struct sink *s) {
    return s->buf ? s->buf : "";
}

static void sink_close(struct sink *s) {
    if (s->f) fclose(s->f);
    free(s->buf);
}

static struct logger *new_logger(struct sink *s, enum log_level min,
                                 int json, int64_t *now) {
    sink_open(s);
    struct logger *lg = log_new(s->f, min, json);
    log_set_clock(lg, fixed_ms, now);
    return lg;
}

/* ---- Evaluation counters ---- */

static int evaluated;

static const char *count_str(const char *s) {
    evaluated++;
    return s;
}

static long long count_int(long long v) {
    evaluated++;
    return v;
}

static enum log_level count_level(enum log_level l) {
    evaluated++;
    return l;
}

/* ---- Tests ---- */

static void test_json(void) {
    struct sink s;
    int64_t now = t_ms();
    TEST("json: every field type");
    struct logger *lg = new_logger(&s, LOG_DEBUG, 1, &now);
    CHECK(lg != NULL);
    LOG(lg, LOG_INFO, "policy loaded",
        LOG_S("version", "a48f") LOG_I("rules", 3) LOG_D("ratio", 0.25)
        LOG_I("min", LLONG_MIN) LOG_D("whole", 2) LOG_D("third", 1.0 / 3)
        LOG_D("tenth", 0.1) LOG_D("big", 1e300) LOG_D("nan", NAN)
        LOG_D("inf", INFINITY) LOG_D("ninf", -INFINITY) LOG_S("none", NULL));
    CHECK_STR(sink_text(&s),
              "{\"ts\":\"2026-11-30T05:04:07.123Z\",\"level\":\"info\","
              "\"msg\":\"policy loaded\",\"version\":\"a48f\",\"rules\":3,"
              "\"ratio\":0.25,\"min\":-9223372036854775808,\"whole\":2.0,"
              "\"third\":0.33333333333333331,\"tenth\":0.1,\"big\":1e+300,"
              "\"nan\":null,\"inf\":null,\"ninf\":null,\"none\":null}\n");
    log_free(lg);
    sink_close(&s);

    TEST("json: no fields, each level name, milliseconds");
    now = t_ms() - 123 + 7; /* .007 */
    lg = new_logger(&s, LOG_DEBUG, 1, &now);
    LOG(lg, LOG_INFO, "stopping", );
    LOG(lg, LOG_DEBUG, "d", );
    LOG(lg, LOG_WARN, "w", );
    LOG(lg, LOG_ERROR, "e", );
    CHECK_STR(sink_text(&s),
              "{\"ts\":\"2026-11-30T05:04:07.007Z\",\"level\":\"info\",\"msg\":\"stopping\"}\n"
              "{\"ts\":\"2026-11-30T05:04:07.007Z\",\"level\":\"debug\",\"msg\":\"d\"}\n"
              "{\"ts\":\"2026-11-30T05:04:07.007Z\",\"level\":\"warn\",\"msg\":\"w\"}\n"
              "{\"ts\":\"2026-11-30T05:04:07.007Z\",\"level\":\"error\",\"msg\":\"e\"}\n");
    log_free(lg);
    sink_close(&s);

    TEST("json: a time before the epoch floors the second");
    now = -1; /* 1969-12-31T23:59:59.999Z */
    lg = new_logger(&s, LOG_DEBUG, 1, &now);
    LOG(lg, LOG_INFO, "x", );
    CHECK_STR(sink_text(&s), "{\"ts\":\"1969-12-31T23:59:59.999Z\","
                             "\"level\":\"info\",\"msg\":\"x\"}\n");
    log_free(lg);
    sink_close(&s);
}

static void test_json_escaping(void) {
    struct sink s;
    int64_t now = t_ms();
    TEST("json: quotes, backslash, newline, control bytes; UTF-8 kept");
    struct logger *lg = new_logger(&s, LOG_DEBUG, 1, &now);
    LOG(lg, LOG_WARN, "say \"hi\"\n",
        LOG_S("path", "C:\\tmp") LOG_S("ctl", "a\tb\rc\x01\x1f\x7f")
        LOG_S("utf8", "Zürich 上海") LOG_S("key \"q\"", "v"));
    CHECK_STR(sink_text(&s),
              "{\"ts\":\"2026-11-30T05:04:07.123Z\",\"level\":\"warn\","
              "\"msg\":\"say \\\"hi\\\"\\n\",\"path\":\"C:\\\\tmp\","
              "\"ctl\":\"a\\tb\\rc\\u0001\\u001f\x7f\","
              "\"utf8\":\"Zürich 上海\",\"key \\\"q\\\"\":\"v\"}\n");
    log_free(lg);
    sink_close(&s);
}

static void test_text(void) {
    struct sink s;
    int64_t now = t_ms();
    TEST("text: every field type");
    struct logger *lg = new_logger(&s, LOG_DEBUG, 0, &now);
    LOG(lg, LOG_INFO, "policy loaded",
        LOG_S("version", "a48f") LOG_I("rules", 3) LOG_D("ratio", 0.25)
        LOG_I("neg", -12) LOG_D("whole", -0.0) LOG_D("nan", NAN)
        LOG_D("inf", INFINITY) LOG_D("ninf", -INFINITY) LOG_S("none", NULL));
    CHECK_STR(sink_text(&s),
              "2026-11-30T05:04:07.123Z INFO  policy loaded version=a48f "
              "rules=3 ratio=0.25 neg=-12 whole=-0.0 nan=NaN inf=+Inf "
              "ninf=-Inf none=null\n");
    log_free(lg);
    sink_close(&s);

    TEST("text: level columns and no fields");
    lg = new_logger(&s, LOG_DEBUG, 0, &now);
    LOG(lg, LOG_DEBUG, "a", );
    LOG(lg, LOG_WARN, "b", );
    LOG(lg, LOG_ERROR, "c", );
    LOG(lg, LOG_INFO, "stopping", );
    CHECK_STR(sink_text(&s), "2026-11-30T05:04:07.123Z DEBUG a\n"
                             "2026-11-30T05:04:07.123Z WARN  b\n"
                             "2026-11-30T05:04:07.123Z ERROR c\n"
                             "2026-11-30T05:04:07.123Z INFO  stopping\n");
    log_free(lg);
    sink_close(&s);

    TEST("text: values that need quotes are JSON strings; UTF-8 kept");
    lg = new_logger(&s, LOG_DEBUG, 0, &now);
    LOG(lg, LOG_ERROR, "two\nlines\ttab",
        LOG_S("sp", "two words") LOG_S("q", "say \"hi\"") LOG_S("eq", "a=b")
        LOG_S("bs", "C:\\tmp") LOG_S("empty", "") LOG_S("nl", "x\ny")
        LOG_S("ctl", "\x01") LOG_S("utf8", "上海") LOG_S("plain", "u-42"));
    CHECK_STR(sink_text(&s),
              "2026-11-30T05:04:07.123Z ERROR two\\nlines\\ttab "
              "sp=\"two words\" q=\"say \\\"hi\\\"\" eq=\"a=b\" "
              "bs=\"C:\\\\tmp\" empty=\"\" nl=\"x\\ny\" ctl=\"\\u0001\" "
              "utf8=上海 plain=u-42\n");
    log_free(lg);
    sink_close(&s);
}

static void test_levels(void) {
    struct sink s;
    int64_t now = t_ms();
    TEST("filtered records write nothing and evaluate no argument");
    struct logger *lg = new_logger(&s, LOG_WARN, 1, &now);
    evaluated = 0;
    LOG(lg, LOG_INFO, count_str("m"), LOG_S("k", count_str("v"))
        LOG_I("n", count_int(1)));
    LOG(lg, LOG_DEBUG, "m", LOG_I("n", count_int(2)));
    CHECK_INT(evaluated, 0);
    CHECK_STR(sink_text(&s), "");
    CHECK(!log_enabled(lg, LOG_INFO));
    CHECK(log_enabled(lg, LOG_WARN));
    CHECK(log_enabled(lg, LOG_ERROR));

    TEST("enabled records evaluate each argument once, the level too");
    LOG(lg, count_level(LOG_WARN), count_str("m"),
        LOG_S("k", count_str("v")) LOG_I("n", count_int(5)));
    CHECK_INT(evaluated, 4);
    CHECK_STR(sink_text(&s), "{\"ts\":\"2026-11-30T05:04:07.123Z\","
                             "\"level\":\"warn\",\"msg\":\"m\",\"k\":\"v\","
                             "\"n\":5}\n");
    evaluated = 0;
    LOG(lg, count_level(LOG_INFO), "m", LOG_I("n", count_int(6)));
    CHECK_INT(evaluated, 1); /* only the level */

    TEST("log_set_level and a direct log_emit");
    size_t before = s.len;
    log_emit(lg, LOG_DEBUG, "direct", NULL);
    fflush(s.f);
    CHECK_INT(s.len, before);
    log_set_level(lg, LOG_DEBUG);
    CHECK(log_enabled(lg, LOG_DEBUG));
    log_emit(lg, LOG_DEBUG, "direct", NULL);
    CHECK(strstr(sink_text(&s), "\"level\":\"debug\",\"msg\":\"direct\"}\n"));
    log_set_level(lg, LOG_ERROR);
    before = s.len;
    LOG(lg, LOG_WARN, "gone", );
    fflush(s.f);
    CHECK_INT(s.len, before);
    log_free(lg);
    sink_close(&s);

    TEST("NULL logger and NULL stream");
    CHECK(log_new(NULL, LOG_INFO, 1) == NULL);
    CHECK(!log_enabled(NULL, LOG_ERROR));
    evaluated = 0;
    LOG(NULL, LOG_ERROR, "m", LOG_I("n", count_int(1)));
    CHECK_INT(evaluated, 0);
    log_emit(NULL, LOG_ERROR, "m", NULL);
    log_set_level(NULL, LOG_DEBUG);
    log_set_clock(NULL, NULL, NULL);
    log_free(NULL);
}

static void test_level_names(void) {
    TEST("log_level_from_name and log_level_name");
    CHECK_INT(log_level_from_name("debug"), LOG_DEBUG);
    CHECK_INT(log_level_from_name("info"), LOG_INFO);
    CHECK_INT(log_level_from_name("warn"), LOG_WARN);
    CHECK_INT(log_level_from_name("error"), LOG_ERROR);
    static const char *const bad[] = {"INFO", "warning", "", "err", "info ",
                                      "fatal", NULL};
    for (int i = 0; bad[i]; i++) CHECK_INT(log_level_from_name(bad[i]), -1);
    CHECK_INT(log_level_from_name(NULL), -1);
    for (int l = LOG_DEBUG; l <= LOG_ERROR; l++)
        CHECK_INT(log_level_from_name(log_level_name((enum log_level)l)), l);
    CHECK_STR(log_level_name((enum log_level)99), "error");
}

/* ---- One write per record ---- */

struct writes {
    int calls;
    int whole_lines; /* calls that wrote exactly one complete line */
    size_t bytes;
};

static ssize_t count_write(void *cookie, const char *buf, size_t n) {
    struct writes *w = cookie;
    w->calls++;
    w->bytes += n;
    if (n > 0 && buf[n - 1] == '\n' && memchr(buf, '\n', n) == buf + n - 1)
        w->whole_lines++;
    return (ssize_t)n;
}

static void test_one_write(void) {
    TEST("each record is one write of one whole line (unbuffered stream)");
    struct writes w = {0, 0, 0};
    cookie_io_functions_t io = {NULL, count_write, NULL, NULL};
    FILE *f = fopencookie(&w, "w", io);
    CHECK(f != NULL);
    if (!f) return;
    setvbuf(f, NULL, _IONBF, 0); /* like stderr: every fwrite goes through */
    int64_t now = t_ms();
    char *big = malloc(20000);
    memset(big, 'x', 19999);
    big[19999] = '\0';
    for (int json = 0; json <= 1; json++) {
        struct logger *lg = log_new(f, LOG_DEBUG, json);
        log_set_clock(lg, fixed_ms, &now);
        LOG(lg, LOG_INFO, "first", LOG_S("a", "b c") LOG_I("n", 1)
            LOG_D("d", 1.5));
        LOG(lg, LOG_ERROR, "big", LOG_S("blob", big));
        LOG(lg, LOG_WARN, "no fields", );
        log_free(lg);
    }
    CHECK_INT(w.calls, 6);
    CHECK_INT(w.whole_lines, 6);
    CHECK(w.bytes > 2 * 20000);
    free(big);
    fclose(f);
}

/* ---- The rate limiter ---- */

static void test_limit(void) {
    TEST("rate limiter: max per second, suppressed count, new window");
    struct log_limit l = {0, 0, 0};
    CHECK_INT(log_limit_allow(&l, 1000, 3), 1);
    CHECK_INT(log_limit_allow(&l, 1001, 3), 1);
    CHECK_INT(log_limit_allow(&l, 1500, 3), 1);
    CHECK_INT(log_limit_allow(&l, 1500, 3), 0);
    CHECK_INT(log_limit_allow(&l, 1999, 3), 0);
    CHECK_INT(l.suppressed, 2);
    /* the window started at the first record (1000): 2000 is a new one */
    CHECK_INT(log_limit_allow(&l, 2000, 3), 1);
    CHECK_INT(l.suppressed, 2); /* kept for the caller to report */
    l.suppressed = 0;
    CHECK_INT(log_limit_allow(&l, 2999, 3), 1);
    CHECK_INT(log_limit_allow(&l, 2999, 3), 1);
    CHECK_INT(log_limit_allow(&l, 2999, 3), 0);
    CHECK_INT(l.suppressed, 1);
    /* a quiet spell: the next window starts at the next record (5500),
     * not on a whole-second boundary */
    CHECK_INT(log_limit_allow(&l, 5500, 3), 1);
    CHECK_INT(log_limit_allow(&l, 5501, 3), 1);
    CHECK_INT(log_limit_allow(&l, 6499, 3), 1);
    CHECK_INT(log_limit_allow(&l, 6499, 3), 0);
    CHECK_INT(log_limit_allow(&l, 6500, 3), 1);

    TEST("rate limiter: a clock going back starts a new window");
    CHECK_INT(log_limit_allow(&l, 6500, 3), 1);
    CHECK_INT(log_limit_allow(&l, 6500, 3), 1);
    CHECK_INT(log_limit_allow(&l, 6500, 3), 0);
    CHECK_INT(log_limit_allow(&l, 100, 3), 1);
    CHECK_INT(l.window_start_ms, 100);

    TEST("rate limiter: one per second, zero allows nothing, extremes");
    struct log_limit one = {0, 0, 0};
    CHECK_INT(log_limit_allow(&one, -5000, 1), 1);
    CHECK_INT(log_limit_allow(&one, -4001, 1), 0);
    CHECK_INT(log_limit_allow(&one, -4000, 1), 1);
    struct log_limit none = {0, 0, 0};
    CHECK_INT(log_limit_allow(&none, 10, 0), 0);
    CHECK_INT(log_limit_allow(&none, 5000, -1), 0);
    CHECK_INT(none.suppressed, 2);
    struct log_limit far = {INT64_MIN + 1, 1, 0};
    CHECK_INT(log_limit_allow(&far, INT64_MAX, 1), 1);
    CHECK_INT(far.window_start_ms, INT64_MAX);
}

int main(void) {
    test_json();
    test_json_escaping();
    test_text();
    test_levels();
    test_level_names();
    test_one_write();
    test_limit();
    return test_report();
}
