/* timeutil.h -- instants, durations and civil dates, all pure arithmetic.
 *
 * An instant is int64_t seconds since 1970-01-01T00:00:00Z (one-second
 * resolution, spec 4). Local time lives in tz.h and window.h. */
#ifndef FU_TIMEUTIL_H
#define FU_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define TIME_NONE INT64_MIN /* "no instant" (null in JSON) */
#define TIME_MAX INT64_MAX

/* RFC 3339 with any offset ("2026-11-20T09:15:00Z", "...+08:00", optional
 * fraction, which is truncated). 'T' may be 't' or ' '. Out-of-range
 * fields (month 13, Feb 30, hour 24, offset +24:00) are bad, and so is
 * a leap second (":60"): instants are POSIX seconds. 0 ok, -1 bad. */
int time_parse_rfc3339(const char *s, int64_t *out);

/* Epoch milliseconds to an instant (floor to the second). */
int64_t time_from_epoch_ms(int64_t ms);

/* "2026-11-20T11:15:00Z" into buf (at least 32 bytes); returns buf. */
char *time_format_utc(int64_t t, char *buf);

/* Duration "90s", "15m", "2h", "7d", "2w" (integer + unit) to seconds.
 * 0 ok, -1 bad (no sign, fraction, space or upper-case unit; overflow of
 * int64 seconds is bad). Zero ("0s") is allowed. */
int time_parse_duration(const char *s, int64_t *out);

/* Proleptic Gregorian calendar; days are counted from 1970-01-01. */
int64_t time_days_from_civil(int64_t y, int m, int d);
void time_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* 0 = Monday ... 6 = Sunday */
int time_weekday(int64_t days);

/* floor division helper: days of an instant (UTC or local seconds) */
int64_t time_floor_div(int64_t a, int64_t b);

/* "2026-10-01" to days since epoch. 0 ok, -1 bad. */
int time_parse_date(const char *s, int64_t *days);

/* "09:00-12:00" to minutes since midnight [*start, *end); end may be
 * 24:00 (1440). Checks the syntax only (00-23 hours, 00-59 minutes);
 * start < end is for the caller to judge, so it can say why. 0 ok, -1 bad. */
int time_parse_hours_range(const char *s, int *start, int *end);

/* "mon".."sun" (also "monday".. and any case) to 0..6; -1 if unknown. */
int time_parse_weekday(const char *s);

#endif
