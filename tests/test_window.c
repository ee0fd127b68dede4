/* test_window.c -- window: next / prev / contains across DST, exclusions.
 *
 * Expected instants are worked out by hand. Day numbers (days since
 * 1970-01-01; 2026-01-01 = 20454, a Thursday, see test_time.c):
 *   2026-03-08 Sun = 20520    US spring forward: 02:00 EST -> 03:00 EDT
 *                             at 07:00Z
 *   2026-03-29 Sun = 20541    EU spring forward: 02:00 CET -> 03:00 CEST
 *                             at 01:00Z
 *   2026-09-30 Wed = 20726, 2026-10-01 Thu = 20727
 *   2026-10-24 Sat = 20750, 2026-10-25 Sun = 20751   EU fall back:
 *                             03:00 CEST -> 02:00 CET at 01:00Z
 *   2026-11-01 Sun = 20758    US fall back: 02:00 EDT -> 01:00 EST at
 *                             06:00Z
 *   2026-11-20 Fri = 20777, 21 Sat, 22 Sun, 23 Mon = 20780, 24 Tue
 * Z(day, h, m) is that UTC wall time; a local wall time L at offset o is
 * the instant L - o, e.g. Shanghai (+8) 09:00 is 01:00Z. */
#include "window.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

#define Z(day, h, m) ((int64_t)(day) * 86400 + (h) * 3600LL + (m) * 60LL)
#define SH(day, h, m) (Z(day, h, m) - 8 * 3600LL) /* Shanghai local */
#define FAR ((int64_t)1 << 40)
#define NONE (-1) /* expected: no instant */

#define MON 0x01
#define SAT 0x20
#define SUN 0x40
#define MON_SAT 0x3f
#define ALL 0x7f

struct spec {
    int days;
    const char *hours[4]; /* "HHMM-HHMM", NULL-terminated */
    long long exclude[4]; /* local dates (day numbers above), 0-ended */
};

/* Build a window from a spec, by hand (no policy parser here). */
static void build(struct window *w, const struct spec *sp) {
    window_init(w);
    w->days = (uint8_t)sp->days;
    for (int i = 0; i < 4 && sp->hours[i]; i++) {
        int a, b;
        CHECK_INT(sscanf(sp->hours[i], "%d-%d", &a, &b), 2);
        CHECK_INT(window_add_range(w, a / 100 * 60 + a % 100,
                                   b / 100 * 60 + b % 100), 0);
    }
    for (int i = 0; i < 4 && sp->exclude[i]; i++)
        CHECK_INT(window_exclude_date(w, sp->exclude[i]), 0);
}

struct next_case {
    const char *what;
    struct spec sp;
    long long t, limit, at, end; /* at = NONE: none expected */
};

struct prev_case {
    const char *what;
    struct spec sp;
    long long t, floor, at;
};

static void run_next(const struct tz *tz, const struct next_case *c) {
    for (int i = 0; c[i].what; i++) {
        struct window w;
        int64_t at = 0, end = 0;
        TEST(c[i].what);
        build(&w, &c[i].sp);
        int rc = window_next(&w, tz, c[i].t, c[i].limit, &at, &end);
        if (c[i].at == NONE) {
            CHECK_INT(rc, -1);
        } else {
            CHECK_INT(rc, 0);
            CHECK_INT(at, c[i].at);
            CHECK_INT(end, c[i].end);
            CHECK_INT(window_contains(&w, tz, at), 1);
            CHECK_INT(window_contains(&w, tz, end - 1), 1);
        }
        window_release(&w);
    }
}

static void run_prev(const struct tz *tz, const struct prev_case *c) {
    for (int i = 0; c[i].what; i++) {
        struct window w;
        int64_t at = 0;
        TEST(c[i].what);
        build(&w, &c[i].sp);
        int rc = window_prev(&w, tz, c[i].t, c[i].floor, &at);
        if (c[i].at == NONE) {
            CHECK_INT(rc, -1);
        } else {
            CHECK_INT(rc, 0);
            CHECK_INT(at, c[i].at);
            CHECK_INT(window_contains(&w, tz, at), 1);
        }
        window_release(&w);
    }
}

/* ---- Shanghai: +8 all year ---- */

#define CALLS {MON_SAT, {"0900-1200", "1400-2000"}, {0}}
#define CALLS_X(d) {MON_SAT, {"0900-1200", "1400-2000"}, {d}}
#define EVENING {ALL, {"2000-2400"}, {0}}
#define AROUND_MIDNIGHT {ALL, {"0000-0600", "2000-2400"}, {0}}

static void test_shanghai(const struct tz *sh) {
    static const struct next_case next[] = {
        /* Saturday 20:30: Sunday is shut, so Monday 09:00 local (01:00Z),
         * in the slot that ends 12:00 local (04:00Z) */
        {"sh next: sat evening -> mon 09:00", CALLS, SH(20778, 20, 30), FAR,
         SH(20780, 9, 0), SH(20780, 12, 0)},
        {"sh next: mon 09:00 is 01:00Z", CALLS, SH(20778, 20, 30), FAR,
         Z(20780, 1, 0), Z(20780, 4, 0)},
        {"sh next: inside -> itself", CALLS, SH(20777, 10, 30), FAR,
         SH(20777, 10, 30), SH(20777, 12, 0)},
        {"sh next: range end is exclusive", CALLS, SH(20777, 12, 0), FAR,
         SH(20777, 14, 0), SH(20777, 20, 0)},
        {"sh next: just before opening", CALLS, SH(20777, 9, 0) - 1, FAR,
         SH(20777, 9, 0), SH(20777, 12, 0)},
        {"sh next: last second", CALLS, SH(20777, 20, 0) - 1, FAR,
         SH(20777, 20, 0) - 1, SH(20777, 20, 0)},
        {"sh next: sunday noon", CALLS, SH(20779, 12, 0), FAR,
         SH(20780, 9, 0), SH(20780, 12, 0)},
        {"sh next: limit is exclusive", CALLS, SH(20778, 20, 30),
         SH(20780, 9, 0), NONE, 0},
        {"sh next: limit one second later", CALLS, SH(20778, 20, 30),
         SH(20780, 9, 0) + 1, SH(20780, 9, 0), SH(20780, 12, 0)},
        {"sh next: t at limit", CALLS, SH(20777, 10, 0), SH(20777, 10, 0),
         NONE, 0},
        /* Monday 2026-11-23 excluded: Tuesday 09:00 */
        {"sh next: excluded monday", CALLS_X(20780) /* Mon 2026-11-23 */,
         SH(20778, 20, 30), FAR, SH(20781, 9, 0), SH(20781, 12, 0)},
        {"sh next: excluded 10-01", CALLS_X(20727) /* Thu 2026-10-01 */,
         SH(20726, 20, 0), FAR, SH(20728, 9, 0), SH(20728, 12, 0)},
        /* 24:00 ends the slot at local midnight, 16:00Z */
        {"sh next: 24:00 end", EVENING, SH(20777, 21, 0), FAR,
         SH(20777, 21, 0), SH(20778, 0, 0)},
        {"sh next: 24:00 end is 16:00Z", EVENING, SH(20777, 21, 0), FAR,
         Z(20777, 13, 0), Z(20777, 16, 0)},
        {"sh next: midnight is outside", EVENING, SH(20778, 0, 0), FAR,
         SH(20778, 20, 0), SH(20778, 24, 0)},
        /* slots are not merged across midnight */
        {"sh next: no merge at midnight", AROUND_MIDNIGHT, SH(20777, 23, 0),
         FAR, SH(20777, 23, 0), SH(20778, 0, 0)},
        {"sh next: next day slot", AROUND_MIDNIGHT, SH(20778, 0, 0), FAR,
         SH(20778, 0, 0), SH(20778, 6, 0)},
        {NULL, CALLS, 0, 0, 0, 0},
    };
    static const struct prev_case prev[] = {
        {"sh prev: sat evening", CALLS, SH(20778, 20, 30), -FAR,
         SH(20778, 20, 0) - 1},
        {"sh prev: mon morning -> sat", CALLS, SH(20780, 8, 0), -FAR,
         SH(20778, 20, 0) - 1},
        {"sh prev: lunch", CALLS, SH(20777, 13, 0), -FAR,
         SH(20777, 12, 0) - 1},
        {"sh prev: inside", CALLS, SH(20777, 10, 0), -FAR, SH(20777, 10, 0)},
        {"sh prev: opening instant", CALLS, SH(20777, 9, 0), -FAR,
         SH(20777, 9, 0)},
        {"sh prev: floor too late", CALLS, SH(20780, 8, 0), SH(20778, 20, 0),
         NONE},
        {"sh prev: floor just in time", CALLS, SH(20780, 8, 0),
         SH(20778, 20, 0) - 1, SH(20778, 20, 0) - 1},
        {"sh prev: excluded monday", CALLS_X(20780) /* Mon 2026-11-23 */,
         SH(20781, 8, 0), -FAR, SH(20778, 20, 0) - 1},
        {"sh prev: t below floor", CALLS, SH(20777, 10, 0),
         SH(20777, 11, 0), NONE},
        {NULL, CALLS, 0, 0, 0},
    };
    struct window w;
    struct spec calls = CALLS, evening = EVENING;

    run_next(sh, next);
    run_prev(sh, prev);

    TEST("sh contains");
    build(&w, &calls);
    CHECK_INT(window_contains(&w, sh, SH(20777, 9, 0)), 1);
    CHECK_INT(window_contains(&w, sh, SH(20777, 9, 0) - 1), 0);
    CHECK_INT(window_contains(&w, sh, SH(20777, 12, 0)), 0);
    CHECK_INT(window_contains(&w, sh, SH(20778, 20, 0) - 1), 1);
    CHECK_INT(window_contains(&w, sh, SH(20779, 10, 0)), 0); /* Sunday */
    window_release(&w);
    build(&w, &evening);
    CHECK_INT(window_contains(&w, sh, SH(20778, 0, 0) - 1), 1);
    CHECK_INT(window_contains(&w, sh, SH(20778, 0, 0)), 0);
    window_release(&w);
}

/* ---- New York: 2026-03-08 gap, 2026-11-01 fold ---- */

#define NY(h) {ALL, {h}, {0}}

static void test_new_york(const struct tz *ny) {
    static const struct next_case next[] = {
        /* 02:00-03:00 does not exist on 03-08: Monday 02:00 EDT = 06:00Z */
        {"ny gap: 02-03 skipped", NY("0200-0300"), Z(20520, 5, 0), FAR,
         Z(20521, 6, 0), Z(20521, 7, 0)},
        /* 01:00 EST = 06:00Z; 01:59:59 EST = 06:59:59Z and 03:00 EDT =
         * 07:00Z follow each other, so the slot runs to 04:00 EDT = 08:00Z */
        {"ny gap: 01-04 contiguous", NY("0100-0400"), Z(20520, 5, 0), FAR,
         Z(20520, 6, 0), Z(20520, 8, 0)},
        {"ny gap: 01-04 from 01:59:59", NY("0100-0400"), Z(20520, 7, 0) - 1,
         FAR, Z(20520, 7, 0) - 1, Z(20520, 8, 0)},
        /* 01:00-02:30: the gap cuts the slot at 07:00Z (03:00 EDT) */
        {"ny gap: cut by the gap", NY("0100-0230"), Z(20520, 5, 0), FAR,
         Z(20520, 6, 0), Z(20520, 7, 0)},
        {"ny gap: after the cut", NY("0100-0230"), Z(20520, 7, 0), FAR,
         Z(20521, 5, 0), Z(20521, 6, 30)},
        /* 02:30-03:30: only 03:00-03:30 EDT = 07:00Z-07:30Z exists */
        {"ny gap: half swallowed", NY("0230-0330"), Z(20520, 5, 0), FAR,
         Z(20520, 7, 0), Z(20520, 7, 30)},
        /* 01:00-02:00 on 11-01 opens 05:00Z-06:00Z (EDT) and 06:00Z-07:00Z
         * (EST): contiguous, so one piece 05:00Z-07:00Z */
        {"ny fold: 01-02 one piece", NY("0100-0200"), Z(20758, 4, 0), FAR,
         Z(20758, 5, 0), Z(20758, 7, 0)},
        {"ny fold: 01-02 from 06:30Z", NY("0100-0200"), Z(20758, 6, 30),
         FAR, Z(20758, 6, 30), Z(20758, 7, 0)},
        /* 01:30-01:45 opens twice: 05:30-05:45Z and 06:30-06:45Z */
        {"ny fold: first opening", NY("0130-0145"), Z(20758, 4, 0), FAR,
         Z(20758, 5, 30), Z(20758, 5, 45)},
        {"ny fold: second opening", NY("0130-0145"), Z(20758, 5, 45), FAR,
         Z(20758, 6, 30), Z(20758, 6, 45)},
        {"ny fold: then next day (EST)", NY("0130-0145"), Z(20758, 6, 45),
         FAR, Z(20759, 6, 30), Z(20759, 6, 45)},
        {"ny fold: limit before 2nd", NY("0130-0145"), Z(20758, 5, 45),
         Z(20758, 6, 30), NONE, 0},
        /* 00:30-01:15: 00:30-01:15 EDT = 04:30-05:15Z, then 01:00-01:15
         * EST again = 06:00-06:15Z */
        {"ny fold: tail reopens", NY("0030-0115"), Z(20758, 5, 15), FAR,
         Z(20758, 6, 0), Z(20758, 6, 15)},
        {NULL, NY(NULL), 0, 0, 0, 0},
    };
    static const struct prev_case prev[] = {
        /* Monday 01:00 EDT back to Saturday 02:59:59 EST = 07:59:59Z */
        {"ny prev: gap day skipped", NY("0200-0300"), Z(20521, 5, 0), -FAR,
         Z(20519, 8, 0) - 1},
        {"ny prev: fold 2nd opening", NY("0130-0145"), Z(20758, 6, 40),
         -FAR, Z(20758, 6, 40)},
        {"ny prev: fold between", NY("0130-0145"), Z(20758, 6, 29), -FAR,
         Z(20758, 5, 45) - 1},
        /* before the first opening: Oct 31 01:44:59 EDT */
        {"ny prev: fold before", NY("0130-0145"), Z(20758, 5, 29), -FAR,
         Z(20757, 5, 45) - 1},
        {"ny prev: fold merged", NY("0100-0200"), Z(20758, 8, 0), -FAR,
         Z(20758, 7, 0) - 1},
        {NULL, NY(NULL), 0, 0, 0},
    };
    struct window w;
    struct spec s1 = NY("0200-0300"), s2 = NY("0100-0200");

    run_next(ny, next);
    run_prev(ny, prev);

    TEST("ny contains");
    build(&w, &s1);
    CHECK_INT(window_contains(&w, ny, Z(20520, 7, 0) - 1), 0); /* 01:59:59 */
    CHECK_INT(window_contains(&w, ny, Z(20520, 7, 0)), 0);     /* 03:00 */
    CHECK_INT(window_contains(&w, ny, Z(20521, 6, 0)), 1);
    window_release(&w);
    build(&w, &s2);
    CHECK_INT(window_contains(&w, ny, Z(20758, 5, 30)), 1); /* 01:30 EDT */
    CHECK_INT(window_contains(&w, ny, Z(20758, 6, 30)), 1); /* 01:30 EST */
    CHECK_INT(window_contains(&w, ny, Z(20758, 7, 0)), 0);  /* 02:00 EST */
    CHECK_INT(window_contains(&w, ny, Z(20758, 5, 0) - 1), 0);
    window_release(&w);
}

/* ---- Berlin: 2026-03-29 gap, 2026-10-25 fold ---- */

static void test_berlin(const struct tz *be) {
    static const struct next_case next[] = {
        /* 02:00-03:00 does not exist on 03-29: Monday 02:00 CEST = 00:00Z */
        {"be gap: 02-03 skipped", NY("0200-0300"), Z(20541, 0, 0), FAR,
         Z(20542, 0, 0), Z(20542, 1, 0)},
        /* 01:00 CET = 00:00Z .. 04:00 CEST = 02:00Z, contiguous */
        {"be gap: 01-04 contiguous", NY("0100-0400"), Z(20540, 23, 0), FAR,
         Z(20541, 0, 0), Z(20541, 2, 0)},
        /* 10-25: 02:00 CEST = 00:00Z .. 03:00 CET = 02:00Z, one piece */
        {"be fold: 02-03 one piece", NY("0200-0300"), Z(20750, 23, 0), FAR,
         Z(20751, 0, 0), Z(20751, 2, 0)},
        {"be fold: first 02:15", NY("0215-0230"), Z(20750, 23, 0), FAR,
         Z(20751, 0, 15), Z(20751, 0, 30)},
        {"be fold: second 02:15", NY("0215-0230"), Z(20751, 0, 30), FAR,
         Z(20751, 1, 15), Z(20751, 1, 30)},
        {NULL, NY(NULL), 0, 0, 0, 0},
    };
    static const struct prev_case prev[] = {
        {"be prev: fold merged", NY("0200-0300"), Z(20751, 3, 0), -FAR,
         Z(20751, 2, 0) - 1},
        {"be prev: fold between", NY("0215-0230"), Z(20751, 1, 0), -FAR,
         Z(20751, 0, 30) - 1},
        /* Mar 30 01:00 CEST = 23:00Z Mar 29; back to Mar 28 02:59:59 CET */
        {"be prev: gap day skipped", NY("0200-0300"), Z(20541, 23, 0), -FAR,
         Z(20540, 2, 0) - 1},
        {NULL, NY(NULL), 0, 0, 0},
    };
    run_next(be, next);
    run_prev(be, prev);
}

/* ---- A fold across midnight (hand-made zone) ---- */

/* Footer-only TZif v2: XST (+1) with XDT (+2) ending Sunday 00:30 local
 * XDT, when clocks go back to Saturday 23:30 XST. On 2026-10-25 that is
 * Sat 22:30Z. So local Saturday 23:00-24:00 is [21:00Z, 22:00Z) in XDT
 * and again [22:30Z, 23:00Z) in XST, and Sunday 00:00-00:30 XDT is
 * [22:00Z, 22:30Z) in between: a piece of Saturday follows one of
 * Sunday. */
static int write_fold_zone(const char *dir) {
    static const unsigned char hdr[] = {'T', 'Z', 'i', 'f', '2'};
    /* counts: isut, isstd, leap, time = 0; type = 1; char = 4 */
    static const unsigned char counts[24] = {[19] = 1, [23] = 4};
    /* the one type: +3600 (0x00000e10), not DST, name at 0 */
    static const unsigned char type[6] = {0, 0, 0x0e, 0x10, 0, 0};
    static const char footer[] = "\nXST-1XDT,M3.5.0/0:30,M10.5.0/0:30\n";
    char path[512];
    snprintf(path, sizeof(path), "%s/Fold", dir);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    for (int block = 0; block < 2; block++) {
        static const unsigned char pad[15];
        fwrite(hdr, 1, sizeof(hdr), f);
        fwrite(pad, 1, sizeof(pad), f);
        fwrite(counts, 1, sizeof(counts), f);
        fwrite(type, 1, sizeof(type), f);
        fwrite("XST", 1, 4, f);
    }
    fwrite(footer, 1, sizeof(footer) - 1, f);
    return fclose(f);
}

#define SATLATE {SAT, {"2300-2400"}, {0}}
#define SUNEARLY {SUN, {"0000-0100"}, {0}}

static void test_midnight_fold(const struct tz *fz) {
    static const struct next_case next[] = {
        /* t = 22:10Z is Sunday 00:10 XDT: the Saturday slot opens again
         * at 22:30Z although t's local date is already Sunday */
        {"fold: saturday after sunday", SATLATE, Z(20750, 22, 10), FAR,
         Z(20750, 22, 30), Z(20750, 23, 0)},
        {"fold: saturday first piece", SATLATE, Z(20750, 20, 0), FAR,
         Z(20750, 21, 0), Z(20750, 22, 0)},
        {"fold: limit exclusive", SATLATE, Z(20750, 22, 10),
         Z(20750, 22, 30), NONE, 0},
        /* Sunday 00:00-01:00: 00:00-00:30 XDT = [22:00Z, 22:30Z), then
         * 00:00-01:00 XST = [23:00Z, 00:00Z); from Saturday 23:40 XST */
        {"fold: sunday second piece", SUNEARLY, Z(20750, 22, 40), FAR,
         Z(20750, 23, 0), Z(20751, 0, 0)},
        {"fold: sunday first piece", SUNEARLY, Z(20750, 21, 0), FAR,
         Z(20750, 22, 0), Z(20750, 22, 30)},
        {NULL, SATLATE, 0, 0, 0, 0},
    };
    static const struct prev_case prev[] = {
        {"fold: prev from sunday 00:10", SATLATE, Z(20750, 22, 10), -FAR,
         Z(20750, 22, 0) - 1},
        {"fold: prev inside 2nd piece", SATLATE, Z(20750, 22, 40), -FAR,
         Z(20750, 22, 40)},
        /* t is Saturday 23:40 XST, but Sunday 00:29:59 XDT came before */
        {"fold: prev finds sunday", SUNEARLY, Z(20750, 22, 40), -FAR,
         Z(20750, 22, 30) - 1},
        {NULL, SATLATE, 0, 0, 0},
    };
    struct window w;
    struct spec sat = SATLATE;

    run_next(fz, next);
    run_prev(fz, prev);
    TEST("fold contains");
    build(&w, &sat);
    CHECK_INT(window_contains(&w, fz, Z(20750, 22, 10)), 0);
    CHECK_INT(window_contains(&w, fz, Z(20750, 22, 40)), 1);
    CHECK_INT(window_contains(&w, fz, Z(20750, 21, 30)), 1);
    window_release(&w);
}

/* ---- Properties, limits, the value itself ---- */

/* window_next(t, t + 1) finds t exactly when window_contains(t). */
static void test_consistency(const struct tz *ny, const struct tz *be) {
    static const struct spec specs[] = {
        {ALL, {"0100-0200", "0230-0300"}, {0}},
        {SUN, {"0000-0230", "0300-2400"}, {0}},
        {MON_SAT, {"0900-1200", "1400-2000"}, {20758}},
    };
    int bad = 0;

    TEST("next(t, t+1) agrees with contains(t)");
    for (int s = 0; s < 3; s++) {
        struct window w;
        build(&w, &specs[s]);
        for (int64_t t = Z(20519, 0, 0); t < Z(20523, 0, 0); t += 599)
            for (int z = 0; z < 2; z++) {
                const struct tz *tz = z ? be : ny;
                int64_t at, end;
                int in = window_next(&w, tz, t, t + 1, &at, &end) == 0;
                if (in != window_contains(&w, tz, t)) bad++;
            }
        for (int64_t t = Z(20749, 0, 0); t < Z(20760, 0, 0); t += 599)
            for (int z = 0; z < 2; z++) {
                const struct tz *tz = z ? be : ny;
                int64_t at;
                int in = window_prev(&w, tz, t, t, &at) == 0;
                if (in != window_contains(&w, tz, t)) bad++;
            }
        window_release(&w);
    }
    CHECK_INT(bad, 0);
}

static void test_never(const struct tz *ny) {
    struct window w;
    int64_t at, end;

    TEST("never-opening windows");
    window_init(&w);
    CHECK_INT(window_never_opens(&w), 1); /* no ranges */
    CHECK_INT(window_next(&w, ny, 0, INT64_MAX, &at, &end), -1);
    CHECK_INT(window_prev(&w, ny, 0, INT64_MIN, &at), -1);
    CHECK_INT(window_add_range(&w, 540, 720), 0);
    CHECK_INT(window_never_opens(&w), 0);
    w.days = 0;
    CHECK_INT(window_never_opens(&w), 1);
    CHECK_INT(window_next(&w, ny, 0, INT64_MAX, &at, &end), -1);
    CHECK_INT(window_contains(&w, ny, Z(20777, 15, 0)), 0);

    /* Sundays only, every Sunday of ~11.5 years excluded: the search
     * gives up after 4000 dates, however far the limit */
    TEST("scan cap");
    w.days = SUN;
    int fails = 0;
    for (int64_t d = 20758; d < 20758 + 600 * 7; d += 7)
        fails += window_exclude_date(&w, d) != 0;
    CHECK_INT(fails, 0);
    CHECK_INT(window_next(&w, ny, Z(20758, 0, 0), INT64_MAX, &at, &end), -1);
    CHECK_INT(window_prev(&w, ny, Z(20758 + 600 * 7, 0, 0), INT64_MIN, &at),
              -1);
    /* with a nearer free Sunday it is found: 2026-10-25, 09:00 EDT */
    CHECK_INT(window_prev(&w, ny, Z(20758, 0, 0), INT64_MIN, &at), 0);
    CHECK_INT(at, Z(20751, 16, 0) - 1); /* 12:00 EDT - 1 s */
    window_release(&w);
}

static void test_value(void) {
    struct window a, b;

    TEST("window value");
    window_init(&a);
    CHECK_INT(a.days, ALL);
    CHECK_INT(a.nranges, 0);
    CHECK_INT(a.nexclude, 0);
    CHECK_INT(window_add_range(&a, 840, 1200), 0);
    CHECK_INT(window_add_range(&a, 540, 720), 0);
    CHECK_INT(a.ranges[0].start, 540); /* kept sorted */
    CHECK_INT(a.ranges[1].start, 840);
    CHECK_INT(window_add_range(&a, 600, 600), -1);
    CHECK_INT(window_add_range(&a, 700, 600), -1);
    CHECK_INT(window_add_range(&a, -1, 600), -1);
    CHECK_INT(window_add_range(&a, 0, 1441), -1);
    CHECK_INT(window_add_range(&a, 1200, 1440), 0);
    CHECK_INT(a.nranges, 3);
    CHECK_INT(window_exclude_date(&a, 20758), 0);
    CHECK_INT(window_exclude_date(&a, 20727), 0);
    CHECK_INT(window_exclude_date(&a, 20758), 0); /* no duplicate */
    CHECK_INT(a.nexclude, 2);
    CHECK_INT(a.exclude[0], 20727);
    CHECK_INT(a.exclude[1], 20758);

    CHECK_INT(window_copy(&b, &a), 0);
    CHECK_INT(window_equal(&a, &b), 1);
    CHECK(a.exclude != b.exclude);
    CHECK_INT(window_exclude_date(&b, 20000), 0);
    CHECK_INT(window_equal(&a, &b), 0);
    window_release(&b);
    CHECK_INT(window_copy(&b, &a), 0);
    b.ranges[2].end = 1439;
    CHECK_INT(window_equal(&a, &b), 0);
    window_release(&b);
    CHECK_INT(window_copy(&b, &a), 0);
    b.days = MON;
    CHECK_INT(window_equal(&a, &b), 0);
    window_release(&b);

    TEST("range table full");
    window_release(&a);
    window_init(&a);
    for (int i = 0; i < WINDOW_MAX_RANGES; i++)
        CHECK_INT(window_add_range(&a, i * 60, i * 60 + 30), 0);
    CHECK_INT(window_add_range(&a, 1430, 1440), -1);
    window_release(&a);
    window_release(&a); /* twice is harmless */
    window_release(NULL);
}

int main(void) {
    char dir[] = "/tmp/test_window.XXXXXX", path[512];
    struct tzdb *db = tzdb_new(NULL), *made;
    struct fu_err err;

    if (!db || !mkdtemp(dir) || write_fold_zone(dir)) {
        printf("setup failed\n");
        return 1;
    }
    made = tzdb_new(dir);
    const struct tz *sh = tzdb_get(db, "Asia/Shanghai", &err);
    const struct tz *ny = tzdb_get(db, "America/New_York", &err);
    const struct tz *be = tzdb_get(db, "Europe/Berlin", &err);
    const struct tz *fz = made ? tzdb_get(made, "Fold", &err) : NULL;
    CHECK(sh && ny && be && fz);
    if (sh && ny && be && fz) {
        test_shanghai(sh);
        test_new_york(ny);
        test_berlin(be);
        test_midnight_fold(fz);
        test_consistency(ny, be);
        test_never(ny);
    }
    test_value();
    tzdb_free(made);
    tzdb_free(db);
    snprintf(path, sizeof(path), "%s/Fold", dir);
    remove(path);
    rmdir(dir);
    return test_report();
}
