/* test_time.c -- timeutil: RFC 3339, durations, civil dates, policy syntax.
 *
 * Expected values are worked out by hand, never by this code or libc:
 *   1970..2025 is 56 years with 14 leap years (1972..2024), so 2026-01-01
 *   is day 56*365 + 14 = 20454; 20454 = 7*2922 and 1970-01-01 was a
 *   Thursday, so 2026-01-01 is a Thursday too. Days before each month of a
 *   common year: Jan 0, Feb 31, Mar 59, ..., Oct 273, Nov 304, Dec 334.
 *   2000-01-01: 30 years, 7 leap years (1972..1996): 10957, a Saturday.
 *   2024-01-01: 54 years, 13 leap years: 19723.
 *   1900-01-01: 70 years back, 17 leap years (1904..1968): -25567.
 *   2100-01-01: 130 years, 32 leap years (1972..2096): 47482.
 *   An instant is days*86400 + seconds of day; 86400 = 864 * 100. */
#include "timeutil.h"

#include "test.h"

#define DAY 86400LL

/* ---- RFC 3339 ---- */

static void test_rfc3339(void) {
    /* 2026-11-20 = 20454 + 304 + 19 = 20777; 20777 * 864 = 17,951,328,
     * so 09:15Z is 1,795,132,800 + 33,300 = 1,795,166,100. */
    static const struct {
        const char *s;
        long long t;
    } ok[] = {
        {"2026-11-20T09:15:00Z", 1795166100},
        {"2026-11-20T17:15:00+08:00", 1795166100}, /* 17:15 - 8h */
        {"2026-11-20T04:15:00-05:00", 1795166100}, /* 04:15 + 5h */
        {"2026-11-20t09:15:00.999z", 1795166100},  /* fraction cut */
        {"2026-11-20 09:15:00.5Z", 1795166100},
        {"2026-11-20T09:15:00.000000001+00:00", 1795166100},
        {"2026-11-20T09:15:00-00:00", 1795166100},
        {"2026-11-21T00:45:00+15:30", 1795166100}, /* back over midnight */
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59Z", -1},
        {"1969-12-31T23:59:59.9Z", -1}, /* truncated, i.e. floored */
        /* 2024-02-29 = 19723 + 31 + 28 = 19782; 19782*864 = 17,091,648 */
        {"2024-02-29T12:00:00Z", 1709164800 + 43200},
        /* 2000-03-01 = 10957 + 31 + 29 = 11017 -> 951,868,800 */
        {"2000-03-01T00:00:00+00:00", 951868800},
        /* 2026-01-01 = 20454 -> 1,767,225,600; 00:30+01:00 is 23:30Z */
        {"2026-01-01T00:30:00+01:00", 1767225600 - 1800},
        /* the ends of four-digit UTC years, which time_format_utc can write */
        {"9999-12-31T23:59:59Z", 253402300799LL},
        {"9999-12-31T18:29:59-05:30", 253402300799LL},
        {"0000-01-01T00:00:00Z", -62167219200LL},
        {"0000-01-01T14:00:00+14:00", -62167219200LL},
        {NULL, 0},
    };
    static const char *const bad[] = {
        "", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
        "2026-11-00T00:00:00Z", "2026-02-29T00:00:00Z", /* 2026 common */
        "2024-02-30T00:00:00Z", "2026-04-31T00:00:00Z", "1900-02-29T00:00:00Z",
        "2026-11-20T24:00:00Z", "2026-11-20T12:60:00Z", "2026-11-20T12:00:60Z",
        "2026-11-20T12:00:00", "2026-11-20T12:00:00+0800",
        "2026-11-20T12:00:00+24:00", "2026-11-20T12:00:00+08:60",
        "2026-11-20T12:00:00.Z", "2026-11-20X12:00:00Z",
        "2026-11-20T12:00:00Zjunk", "2026-11-20T12:00:00+08:00 ",
        "26-11-20T12:00:00Z", "2026-1-20T12:00:00Z", "2026-11-20T12:00Z",
        "2026-11-20T1a:00:00Z", "2026-11-20T12:00:00+8:00",
        "9999-12-31T23:59:59-05:30", /* UTC year 10000 (found by fuzz_time) */
        "0000-01-01T00:00:00+14:00", /* UTC year -1 */ NULL,
    };
    int64_t t;

    TEST("rfc3339 accepts");
    for (int i = 0; ok[i].s; i++) {
        t = 42;
        CHECK_INT(time_parse_rfc3339(ok[i].s, &t), 0);
        CHECK_INT(t, ok[i].t);
    }
    TEST("rfc3339 rejects");
    for (int i = 0; bad[i]; i++) {
        int rc = time_parse_rfc3339(bad[i], &t);
        CHECK_INT(rc, -1);
        if (rc != -1) printf("    accepted: '%s'\n", bad[i]);
    }
    CHECK_INT(time_parse_rfc3339(NULL, &t), -1);
}

static void test_format_utc(void) {
    static const struct {
        long long t;
        const char *s;
    } cases[] = {
        {1795166100, "2026-11-20T09:15:00Z"},
        {0, "1970-01-01T00:00:00Z"},
        {-1, "1969-12-31T23:59:59Z"},
        {951868800, "2000-03-01T00:00:00Z"},
        {1709164800 + 43200, "2024-02-29T12:00:00Z"},
        /* 2100-03-01 = 47482 + 59 = 47541 (2100 is common); *864 =
         * 41,075,424 -> 4,107,542,400; minus 1 s is Feb 28 23:59:59 */
        {4107542400 - 1, "2100-02-28T23:59:59Z"},
        {253402300799, "9999-12-31T23:59:59Z"}, /* the RFC 3339 maximum */
        {0, NULL},
    };
    char buf[32];

    TEST("format utc");
    for (int i = 0; cases[i].s; i++)
        CHECK_STR(time_format_utc(cases[i].t, buf), cases[i].s);
    /* no crash and NUL-terminated at the extremes */
    CHECK(strlen(time_format_utc(INT64_MAX, buf)) < 32);
    CHECK(strlen(time_format_utc(INT64_MIN, buf)) < 32);
}

static void test_epoch_ms(void) {
    TEST("epoch ms floors");
    CHECK_INT(time_from_epoch_ms(0), 0);
    CHECK_INT(time_from_epoch_ms(1999), 1);
    CHECK_INT(time_from_epoch_ms(1795166100123LL), 1795166100);
    CHECK_INT(time_from_epoch_ms(-1), -1);
    CHECK_INT(time_from_epoch_ms(-1000), -1);
    CHECK_INT(time_from_epoch_ms(-1001), -2);
}

/* ---- Durations ---- */

static void test_durations(void) {
    static const struct {
        const char *s;
        long long secs;
    } ok[] = {
        {"90s", 90},
        {"15m", 900},
        {"2h", 7200},
        {"7d", 604800},
        {"2w", 1209600},
        {"0s", 0},
        {"72h", 259200},
        {"007d", 604800},
        {"9223372036854775807s", INT64_MAX},
        /* INT64_MAX / 86400 = 106,751,991,167,300.6: 106751991167300 d is
         * 9,223,372,036,854,720,000 s, one day more overflows */
        {"106751991167300d", 9223372036854720000LL},
        {NULL, 0},
    };
    static const char *const bad[] = {
        "", "5", "1.5h", "-1h", "+1h", "1x", "h", "1hh", " 1h", "1h ", "1H",
        "1 h", "9223372036854775808s", "106751991167301d",
        "99999999999999999999999s", "15252091311040w", NULL,
    };
    int64_t v;

    TEST("durations accept");
    for (int i = 0; ok[i].s; i++) {
        v = -7;
        CHECK_INT(time_parse_duration(ok[i].s, &v), 0);
        CHECK_INT(v, ok[i].secs);
    }
    TEST("durations reject");
    for (int i = 0; bad[i]; i++) {
        int rc = time_parse_duration(bad[i], &v);
        CHECK_INT(rc, -1);
        if (rc != -1) printf("    accepted: '%s'\n", bad[i]);
    }
}

/* ---- Calendar ---- */

static void test_civil(void) {
    static const struct {
        long long y;
        int m, d;
        long long days;
        int wd; /* 0 = Monday */
    } cases[] = {
        {1970, 1, 1, 0, 3},          /* Thursday */
        {1969, 12, 31, -1, 2},
        {2000, 1, 1, 10957, 5},      /* Saturday */
        {2000, 2, 29, 11016, 1},     /* 2000 is leap (divisible by 400) */
        {2000, 3, 1, 11017, 2},
        {1900, 2, 28, -25509, 2},    /* -25567 + 58 */
        {1900, 3, 1, -25508, 3},     /* 1900 is not leap: no Feb 29 */
        {2024, 2, 29, 19782, 3},     /* 19782 - 20454 = -672 = -96 weeks */
        {2024, 12, 31, 20088, 1},    /* 19723 + 365: 2024 has 366 days */
        {2026, 1, 1, 20454, 3},
        {2026, 3, 8, 20520, 6},      /* 20454 + 59 + 7: a Sunday */
        {2026, 10, 1, 20727, 3},     /* + 273 = 39 weeks */
        {2026, 11, 20, 20777, 4},    /* + 323 = 46 weeks + 1: Friday */
        {2100, 1, 1, 47482, 4},      /* 47482 - 20454 = 27028 = 3861 w + 1 */
        {2100, 3, 1, 47541, 0},
        {0, 3, 1, -719468, 2},       /* Hinnant's epoch shift constant */
        {0, 0, 0, 0, 0},
    };

    TEST("civil dates");
    for (int i = 0; cases[i].m; i++) {
        int64_t y;
        int m, d;
        CHECK_INT(time_days_from_civil(cases[i].y, cases[i].m, cases[i].d),
                  cases[i].days);
        time_civil_from_days(cases[i].days, &y, &m, &d);
        CHECK_INT(y, cases[i].y);
        CHECK_INT(m, cases[i].m);
        CHECK_INT(d, cases[i].d);
        CHECK_INT(time_weekday(cases[i].days), cases[i].wd);
    }

    TEST("civil round trip over 1600..2400");
    int bad = 0;
    int64_t prev_days = time_days_from_civil(1600, 1, 1) - 1;
    for (int64_t days = prev_days + 1; days < 157000; days++) {
        int64_t y;
        int m, d;
        time_civil_from_days(days, &y, &m, &d);
        if (time_days_from_civil(y, m, d) != days || d < 1 || d > 31) bad++;
    }
    CHECK_INT(bad, 0);
}

static void test_floor_div(void) {
    TEST("floor division");
    CHECK_INT(time_floor_div(7, 2), 3);
    CHECK_INT(time_floor_div(-7, 2), -4);
    CHECK_INT(time_floor_div(-8, 2), -4);
    CHECK_INT(time_floor_div(0, 5), 0);
    CHECK_INT(time_floor_div(-1, DAY), -1);
    CHECK_INT(time_floor_div(DAY, DAY), 1);
}

/* ---- Policy syntax ---- */

static void test_date(void) {
    static const char *const bad[] = {
        "2026-02-29", "2026-10-1", "2026/10/01", "2026-10-01x", "",
        "2026-13-01", "10-01-2026", NULL,
    };
    int64_t days = 0;

    TEST("dates");
    CHECK_INT(time_parse_date("2026-10-01", &days), 0);
    CHECK_INT(days, 20727);
    CHECK_INT(time_parse_date("2024-02-29", &days), 0);
    CHECK_INT(days, 19782);
    for (int i = 0; bad[i]; i++) CHECK_INT(time_parse_date(bad[i], &days), -1);
}

static void test_hours(void) {
    static const struct {
        const char *s;
        int start, end;
    } ok[] = {
        {"09:00-12:00", 540, 720},
        {"14:00-20:00", 840, 1200},
        {"00:00-24:00", 0, 1440},
        {"20:30-24:00", 1230, 1440},
        {"12:00-09:00", 720, 540}, /* syntax only: the caller says why */
        {"23:59-00:01", 1439, 1},
        {NULL, 0, 0},
    };
    static const char *const bad[] = {
        "24:00-24:00", "09:00-24:30", "9:00-12:00", "09:60-10:00",
        "09:00-25:00", "09:00 - 12:00", "09:00-12:00x", "0900-1200", "",
        "09:00", "09:00-", "-12:00", "09:00_12:00", NULL,
    };
    int a, b;

    TEST("hours ranges");
    for (int i = 0; ok[i].s; i++) {
        a = b = -1;
        CHECK_INT(time_parse_hours_range(ok[i].s, &a, &b), 0);
        CHECK_INT(a, ok[i].start);
        CHECK_INT(b, ok[i].end);
    }
    for (int i = 0; bad[i]; i++) {
        int rc = time_parse_hours_range(bad[i], &a, &b);
        CHECK_INT(rc, -1);
        if (rc != -1) printf("    accepted: '%s'\n", bad[i]);
    }
}

static void test_weekdays(void) {
    static const struct {
        const char *s;
        int wd;
    } cases[] = {
        {"mon", 0}, {"tue", 1}, {"wed", 2}, {"thu", 3}, {"fri", 4},
        {"sat", 5}, {"sun", 6}, {"Sun", 6}, {"SATURDAY", 5},
        {"wednesday", 2}, {"Thursday", 3}, {"tues", -1}, {"", -1},
        {"mo", -1}, {"xyz", -1}, {"mondays", -1}, {"monday ", -1},
        {"averyveryverylongname", -1}, {NULL, 0},
    };

    TEST("weekday names");
    for (int i = 0; cases[i].s; i++)
        CHECK_INT(time_parse_weekday(cases[i].s), cases[i].wd);
}

int main(void) {
    test_rfc3339();
    test_format_utc();
    test_epoch_ms();
    test_durations();
    test_civil();
    test_floor_div();
    test_date();
    test_hours();
    test_weekdays();
    return test_report();
}
