/* fuzz_time.c -- timestamps, durations, dates, hour ranges and weekdays
 * (lib/timeutil.c): any text is accepted or refused, never a crash; an
 * accepted timestamp formats back to one that parses to the same second,
 * and an accepted hour range lies within the day (start < end is the
 * caller's to judge). */
#include "fuzz.h"

#include "timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = fuzz_cstr(data, size), buf[64];
    int64_t t, again, days;
    int start, end;
    if (time_parse_rfc3339(s, &t) == 0) {
        time_format_utc(t, buf);
        FUZZ_ASSERT(time_parse_rfc3339(buf, &again) == 0 && again == t);
    }
    if (time_parse_duration(s, &t) == 0) FUZZ_ASSERT(t >= 0);
    if (time_parse_date(s, &days) == 0) {
        int64_t y;
        int m, d;
        time_civil_from_days(days, &y, &m, &d);
        FUZZ_ASSERT(m >= 1 && m <= 12 && d >= 1 && d <= 31);
        FUZZ_ASSERT(time_days_from_civil(y, m, d) == days);
    }
    if (time_parse_hours_range(s, &start, &end) == 0)
        FUZZ_ASSERT(start >= 0 && end <= 24 * 60 && start <= 24 * 60);
    int wd = time_parse_weekday(s);
    FUZZ_ASSERT(wd >= -1 && wd <= 6);
    free(s);
    return 0;
}
