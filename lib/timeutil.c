/* timeutil.c -- instants, durations and civil dates, all pure arithmetic.
 *
 * Here: RFC 3339 parsing and UTC formatting, duration and date parsing,
 * the proleptic Gregorian calendar (days <-> year/month/day, weekday) and
 * the "HH:MM-HH:MM" and weekday-name syntax of policy windows. Nothing
 * here knows about time zones (tz.c) or windows (window.c); nothing reads
 * a clock or the environment. */
#include "timeutil.h"

#include <stdio.h>
#include <string.h>

/* ---- Small parsing helpers ---- */

/* n decimal digits at s into *v; 0 ok, -1 when any is not a digit. */
static int parse_digits(const char *s, int n, int *v) {
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

static int is_leap(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m) {
    static const int mdays[12] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    return (m == 2 && is_leap(y)) ? 29 : mdays[m - 1];
}

/* "YYYY-MM-DD" prefix of s (no terminator check) to days. */
static int parse_date_prefix(const char *s, int64_t *days) {
    int y, m, d;
    if (parse_digits(s, 4, &y) || s[4] != '-' || parse_digits(s + 5, 2, &m) ||
        s[7] != '-' || parse_digits(s + 8, 2, &d))
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return -1;
    *days = time_days_from_civil(y, m, d);
    return 0;
}

/* "HH:MM" at s to minutes; max_hour is 23, or 24 to allow exactly 24:00. */
static int parse_hhmm(const char *s, int max_hour, int *minutes) {
    int h, m;
    if (parse_digits(s, 2, &h) || s[2] != ':' || parse_digits(s + 3, 2, &m))
        return -1;
    if (h > max_hour || m > 59 || (h == 24 && m != 0)) return -1;
    *minutes = h * 60 + m;
    return 0;
}

/* ---- Calendar ---- */

int64_t time_floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

/* Days from 1970-01-01 of y-m-d, after Howard Hinnant's days_from_civil:
 * count in 400-year eras (146097 days each) of years starting on March 1,
 * so the leap day is the last day of its year. */
int64_t time_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = time_floor_div(y, 400);
    int64_t yoe = y - era * 400;                          /* [0, 399] */
    int64_t mp = m > 2 ? m - 3 : m + 9;                   /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + d - 1;             /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  /* [0, 146096] */
    return era * 146097 + doe - 719468; /* 719468: 0000-03-01 to 1970 */
}

/* The inverse of time_days_from_civil (Hinnant's civil_from_days). */
void time_civil_from_days(int64_t days, int64_t *y, int *m, int *d) {
    int64_t z = days + 719468;
    int64_t era = time_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* 1970-01-01 was a Thursday (3 when Monday is 0). */
int time_weekday(int64_t days) {
    return (int)(days + 3 - time_floor_div(days + 3, 7) * 7);
}

/* ---- Instants ---- */

/* Offset "Z", "z" or "+HH:MM" / "-HH:MM" that must end s; seconds east. */
static int parse_offset(const char *s, int64_t *off) {
    int h, m;
    if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
        *off = 0;
        return 0;
    }
    if (s[0] != '+' && s[0] != '-') return -1;
    if (parse_digits(s + 1, 2, &h) || s[3] != ':' ||
        parse_digits(s + 4, 2, &m) || s[6] != '\0')
        return -1;
    if (h > 23 || m > 59) return -1;
    *off = (s[0] == '-' ? -1 : 1) * (int64_t)(h * 3600 + m * 60);
    return 0;
}

int time_parse_rfc3339(const char *s, int64_t *out) {
    int64_t days, off;
    int hh, mm, ss;
    if (!s || strlen(s) < 20 || parse_date_prefix(s, &days)) return -1;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return -1;
    if (parse_digits(s + 11, 2, &hh) || s[13] != ':' ||
        parse_digits(s + 14, 2, &mm) || s[16] != ':' ||
        parse_digits(s + 17, 2, &ss))
        return -1;
    if (hh > 23 || mm > 59 || ss > 59) return -1; /* no leap seconds */
    const char *p = s + 19;
    if (*p == '.') {
        const char *f = ++p;
        while (*p >= '0' && *p <= '9') p++;
        if (p == f) return -1; /* "." without digits */
    }
    if (parse_offset(p, &off)) return -1;
    int64_t t = days * 86400 + hh * 3600 + mm * 60 + ss - off;
    /* An offset can carry a four-digit local year past either end of UTC's
     * four-digit years; such an instant could not be written back. */
    if (t < time_days_from_civil(0, 1, 1) * 86400 ||
        t >= time_days_from_civil(10000, 1, 1) * 86400)
        return -1;
    *out = t;
    return 0;
}

int64_t time_from_epoch_ms(int64_t ms) {
    return time_floor_div(ms, 1000);
}

char *time_format_utc(int64_t t, char *buf) {
    int64_t days = t / 86400, sod = t % 86400, y; /* no overflow at MIN */
    int m, d;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    time_civil_from_days(days, &y, &m, &d);
    snprintf(buf, 32, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d,
             (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    return buf;
}

/* ---- Policy syntax ---- */

int time_parse_duration(const char *s, int64_t *out) {
    int64_t v = 0, unit;
    const char *p = s;
    if (!s) return -1;
    while (*p >= '0' && *p <= '9') {
        int digit = *p++ - '0';
        if (v > (INT64_MAX - digit) / 10) return -1;
        v = v * 10 + digit;
    }
    if (p == s || p[0] == '\0' || p[1] != '\0') return -1;
    switch (*p) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return -1;
    }
    if (v > INT64_MAX / unit) return -1;
    *out = v * unit;
    return 0;
}

int time_parse_date(const char *s, int64_t *days) {
    if (!s || strlen(s) != 10) return -1;
    return parse_date_prefix(s, days);
}

int time_parse_hours_range(const char *s, int *start, int *end) {
    if (!s || strlen(s) != 11 || s[5] != '-') return -1;
    if (parse_hhmm(s, 23, start) || parse_hhmm(s + 6, 24, end)) return -1;
    return 0;
}

int time_parse_weekday(const char *s) {
    static const char *const names[7] = {"monday", "tuesday", "wednesday",
                                         "thursday", "friday", "saturday",
                                         "sunday"};
    char low[16];
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= sizeof(low)) return -1;
    for (size_t i = 0; i <= n; i++)
        low[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    for (int i = 0; i < 7; i++)
        if (!strcmp(low, names[i]) || (n == 3 && !strncmp(low, names[i], 3)))
            return i;
    return -1;
}
