/* test_tz.c -- tz: TZif zones of the system database and hand-made ones.
 *
 * Expected instants are worked out by hand (see test_time.c for the day
 * numbers of 2026-01-01 = 20454 and friends; 86400 = 864 * 100):
 *   2026-03-08 (Sun) = 20454 + 59 + 7 = 20520 -> 1,772,928,000
 *   2026-11-01 (Sun) = 20454 + 304 = 20758 -> 1,793,491,200
 *   2026-03-29 (Sun) = 20454 + 59 + 28 = 20541 -> 1,774,742,400
 *   2026-10-25 (Sun) = 20454 + 273 + 24 = 20751 -> 1,792,886,400
 *   2027-03-14 (Sun): 2027-01-01 = 20819, a Friday; Mar 1 = 20878, a
 *     Monday; the second Sunday is Mar 14 = 20891 -> 1,804,982,400
 *   2045-01-01 = 75*365 + 19 leap days (1972..2044) = 27394, a Sunday
 *     (27394 = 7*3913 + 3 days after a Thursday). 2045 is common.
 *     Mar 1 = 27453 (Wed): second Sunday Mar 12 = 27464 -> 2,372,889,600;
 *     last Sunday Mar 26 = 27478 -> 2,374,099,200; 4th Thursday Mar 23,
 *     so Fri Mar 24 = 27476 -> 2,373,926,400. Nov 1 = 27698 (Wed): first
 *     Sunday Nov 5 = 27702 -> 2,393,452,800. Jan 15 = 27408 ->
 *     2,368,051,200; Jul 1 = 27394 + 181 = 27575 -> 2,382,480,000.
 *   2100-01-01 = 47482, a Friday; 2100 is common. Mar 1 = 47541 (Mon),
 *     Mar 31 is a Wednesday, last Sunday Mar 28 = 47568 -> 4,109,875,200.
 *     Oct 1 = 47755 (Fri), Oct 31 a Sunday = 47785 -> 4,128,624,000.
 * US rule: 02:00 local, i.e. 07:00Z in March (EST) and 06:00Z in November
 * (EDT). EU rule: 01:00Z on the last Sundays of March and October. */
#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

#define H 3600LL
#define NEVER INT64_MAX

struct offset_case {
    const char *zone;
    long long t;
    int off;
    long long next; /* 0: not checked */
};

static void check_offsets(struct tzdb *db, const struct offset_case *c) {
    struct fu_err err;
    for (int i = 0; c[i].zone; i++) {
        const struct tz *tz = tzdb_get(db, c[i].zone, &err);
        CHECK(tz != NULL);
        if (!tz) {
            printf("    zone %s: %s\n", c[i].zone, err.msg);
            continue;
        }
        int64_t next = 0;
        int32_t off = tz_offset(tz, c[i].t, &next);
        CHECK_INT(off, c[i].off);
        if (c[i].next) CHECK_INT(next, c[i].next);
        if (off != c[i].off || (c[i].next && next != c[i].next))
            printf("    at %s t=%lld\n", c[i].zone, c[i].t);
    }
}

/* ---- System zones ---- */

static void test_dst_2026(struct tzdb *db) {
    static const struct offset_case cases[] = {
        /* New York: EST -> EDT at 1,772,928,000 + 7h = 1,772,953,200 */
        {"America/New_York", 1772953199, -5 * H, 1772953200},
        {"America/New_York", 1772953200, -4 * H, 1793512800},
        /* EDT -> EST at 1,793,491,200 + 6h = 1,793,512,800; the next
         * change is 2027-03-14 07:00Z = 1,804,982,400 + 25,200 */
        {"America/New_York", 1793512799, -4 * H, 1793512800},
        {"America/New_York", 1793512800, -5 * H, 1805007600},
        {"America/New_York", 1767225600, -5 * H, 1772953200}, /* Jan 1 */
        /* Berlin: CET -> CEST at 1,774,742,400 + 1h = 1,774,746,000 */
        {"Europe/Berlin", 1774745999, 1 * H, 1774746000},
        {"Europe/Berlin", 1774746000, 2 * H, 1792890000},
        /* CEST -> CET at 1,792,886,400 + 1h = 1,792,890,000 */
        {"Europe/Berlin", 1792889999, 2 * H, 1792890000},
        {"Europe/Berlin", 1792890000, 1 * H, 0},
        /* Shanghai: +8 all year, no change after its last (1991) one */
        {"Asia/Shanghai", 1767225600, 8 * H, NEVER},
        {"Asia/Shanghai", 1772953200, 8 * H, NEVER},
        {"PRC", 1792890000, 8 * H, NEVER}, /* a link to Asia/Shanghai */
        {"UTC", 1767225600, 0, NEVER},
        {"Etc/GMT+5", 1767225600, -5 * H, NEVER}, /* POSIX sign flip */
        {NULL, 0, 0, 0},
    };
    TEST("2026 DST changes");
    check_offsets(db, cases);
}

/* Past 2037 the fat files of the database have no transitions left and
 * the footer rule speaks; it must agree with the rules worked out above. */
static void test_footer_rules(struct tzdb *db) {
    static const struct offset_case cases[] = {
        /* 2045-03-12 07:00Z = 2,372,889,600 + 25,200 = 2,372,914,800;
         * 2045-11-05 06:00Z = 2,393,452,800 + 21,600 = 2,393,474,400 */
        {"America/New_York", 2372914799, -5 * H, 2372914800},
        {"America/New_York", 2372914800, -4 * H, 2393474400},
        {"America/New_York", 2393474400, -5 * H, 0},
        /* 2100-03-28 01:00Z = 4,109,878,800; 2100-10-31 01:00Z =
         * 4,128,627,600 */
        {"Europe/Berlin", 4109878799, 1 * H, 4109878800},
        {"Europe/Berlin", 4109878800, 2 * H, 4128627600},
        {"Europe/Berlin", 4128627600, 1 * H, 0},
        {"Asia/Shanghai", 4109878800, 8 * H, NEVER},
        /* Jerusalem "IST-2IDT,M3.4.4/26,M10.5.0": Thursday of week 4 at
         * 26:00 = Fri 2045-03-24 02:00 IST = 00:00Z = 2,373,926,400 */
        {"Asia/Jerusalem", 2373926399, 2 * H, 2373926400},
        {"Asia/Jerusalem", 2373926400, 3 * H, 0},
        /* Nuuk "<-02>2<-01>,M3.5.0/-1,...": Sunday at -1:00 = Saturday
         * 23:00 -02 = Sun 2045-03-26 01:00Z = 2,374,102,800 */
        {"America/Nuuk", 2374102799, -2 * H, 2374102800},
        {"America/Nuuk", 2374102800, -1 * H, 0},
        /* Dublin "IST-1GMT0,M10.5.0,M3.5.0/1": negative DST, so winter
         * is the "DST" part (GMT) and summer standard time (IST, +1) */
        {"Europe/Dublin", 2368051200, 0, 0},     /* 2045-01-15 */
        {"Europe/Dublin", 2382480000, 1 * H, 0}, /* 2045-07-01 */
        /* Tehran "<+0330>-3:30": quoted name, minutes, no DST */
        {"Asia/Tehran", 2382480000, 3 * H + 1800, NEVER},
        {NULL, 0, 0, 0},
    };
    TEST("footer rules past the table");
    check_offsets(db, cases);
}

static void test_names(struct tzdb *db) {
    static const char *const bad[] = {
        "Nowhere/City", "../etc/passwd", "/etc/localtime", "Asia/../etc",
        "", "Asia/", "Asia//Shanghai", "Asia/Shang hai", "zone.tab",
        "tzdata.zi", "leapseconds", "Asia", "right/UTC",
        "Asia/Shanghai\n", NULL,
    };
    struct fu_err err;
    char longname[200];

    TEST("invalid zone names");
    for (int i = 0; bad[i]; i++) {
        fu_err_clear(&err);
        const struct tz *tz = tzdb_get(db, bad[i], &err);
        CHECK(tz == NULL);
        CHECK_INT(err.code, FU_EINVAL);
        if (tz) printf("    accepted: '%s'\n", bad[i]);
    }
    memset(longname, 'A', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK(tzdb_get(db, longname, &err) == NULL);
    CHECK(tzdb_get(db, NULL, &err) == NULL);
    /* a miss is not cached: it fails the same way again */
    CHECK(tzdb_get(db, "Nowhere/City", &err) == NULL);
    CHECK(strstr(err.msg, "Nowhere/City") != NULL);

    TEST("zones are cached by name");
    const struct tz *a = tzdb_get(db, "Europe/Berlin", &err);
    const struct tz *b = tzdb_get(db, "Europe/Berlin", &err);
    CHECK(a != NULL && a == b);
    CHECK_STR(a ? tz_name(a) : NULL, "Europe/Berlin");
}

static void test_format_local(struct tzdb *db) {
    const struct tz *ny = tzdb_get(db, "America/New_York", NULL);
    const struct tz *sh = tzdb_get(db, "Asia/Shanghai", NULL);
    char buf[32];

    TEST("local formatting");
    CHECK(ny && sh);
    if (!ny || !sh) return;
    CHECK_STR(tz_format_local(ny, 1772953199, buf), "2026-03-08 01:59");
    CHECK_STR(tz_format_local(ny, 1772953200, buf), "2026-03-08 03:00");
    /* 2026-11-20T11:15:00Z = 1,795,166,100 + 2h; +8h is 19:15 */
    CHECK_STR(tz_format_local(sh, 1795173300, buf), "2026-11-20 19:15");
    CHECK(strlen(tz_format_local(ny, INT64_MAX, buf)) < 32);
    CHECK(strlen(tz_format_local(ny, INT64_MIN, buf)) < 32);
}

/* ---- Hand-made TZif files ---- */

struct tzif_buf {
    unsigned char b[512];
    size_t n;
};

static void put(struct tzif_buf *f, const void *p, size_t n) {
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void put_be(struct tzif_buf *f, long long v, int size) {
    for (int i = size - 1; i >= 0; i--) {
        unsigned char c = (unsigned char)((unsigned long long)v >> (8 * i));
        put(f, &c, 1);
    }
}

/* A header: magic, version, 15 zero bytes, then the six counts. */
static void put_header(struct tzif_buf *f, char version, int leap, int times,
                       int types, int chars) {
    static const unsigned char zero[15];
    put(f, "TZif", 4);
    put(f, &version, 1);
    put(f, zero, 15);
    put_be(f, 0, 4); /* isutcnt */
    put_be(f, 0, 4); /* isstdcnt */
    put_be(f, leap, 4);
    put_be(f, times, 4);
    put_be(f, types, 4);
    put_be(f, chars, 4);
}

static void put_type(struct tzif_buf *f, int off, int isdst, int idx) {
    put_be(f, off, 4);
    put_be(f, isdst, 1);
    put_be(f, idx, 1);
}

/* Version 2, no transitions: one type and the footer, like a slim file. */
static void make_footer_only(struct tzif_buf *f, int off, const char *footer) {
    f->n = 0;
    for (int block = 0; block < 2; block++) {
        put_header(f, '2', 0, 0, 1, 4);
        put_type(f, off, 0, 0);
        put(f, "XST", 4);
    }
    put(f, "\n", 1);
    put(f, footer, strlen(footer));
    put(f, "\n", 1);
}

/* Version 1 only: AAA (+0) until 1,000,000, BBB (+1h) until 2,000,000. */
static void make_v1(struct tzif_buf *f) {
    f->n = 0;
    put_header(f, '\0', 0, 2, 2, 8);
    put_be(f, 1000000, 4);
    put_be(f, 2000000, 4);
    put_be(f, 1, 1);
    put_be(f, 0, 1);
    put_type(f, 0, 0, 0);
    put_type(f, 3600, 1, 4);
    put(f, "AAA\0BBB", 8);
}

/* Version 2 that counts one leap second: refused. */
static void make_leap(struct tzif_buf *f) {
    f->n = 0;
    put_header(f, '2', 1, 0, 1, 4);
    put_type(f, 0, 0, 0);
    put(f, "UTC", 4);
    put_be(f, 78796800, 4);
    put_be(f, 1, 4);
    put_header(f, '2', 1, 0, 1, 4);
    put_type(f, 0, 0, 0);
    put(f, "UTC", 4);
    put_be(f, 78796800, 8);
    put_be(f, 1, 4);
    put(f, "\nUTC0\n", 6);
}

static int write_file(const char *dir, const char *name, const void *p,
                      size_t n) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    size_t w = fwrite(p, 1, n, fp);
    return (fclose(fp) == 0 && w == n) ? 0 : -1;
}

static const char *const made_files[] = {
    "Slim", "Fold", "Old", "Leap", "Text", "Short", "Badrule", "Big", NULL,
};

static void make_files(const char *dir) {
    struct tzif_buf f;
    make_footer_only(&f, -5 * 3600, "EST5EDT,M3.2.0,M11.1.0");
    CHECK_INT(write_file(dir, "Slim", f.b, f.n), 0);
    /* a fall-back at 00:30 local DST back to 23:30 of the day before */
    make_footer_only(&f, 3600, "XST-1XDT,M3.5.0/0:30,M10.5.0/0:30");
    CHECK_INT(write_file(dir, "Fold", f.b, f.n), 0);
    make_v1(&f);
    CHECK_INT(write_file(dir, "Old", f.b, f.n), 0);
    make_leap(&f);
    CHECK_INT(write_file(dir, "Leap", f.b, f.n), 0);
    CHECK_INT(write_file(dir, "Text", "hello world\n", 12), 0);
    make_footer_only(&f, 0, "UTC0");
    CHECK_INT(write_file(dir, "Short", f.b, f.n - 8), 0); /* cut short */
    make_footer_only(&f, 3600, "CET-1CEST,M3.5.0");      /* no end date */
    CHECK_INT(write_file(dir, "Badrule", f.b, f.n), 0);
    make_footer_only(&f, 27 * 3600, "<+27>-27");         /* off too big */
    CHECK_INT(write_file(dir, "Big", f.b, f.n), 0);
}

static void test_made_zones(const char *dir) {
    static const struct offset_case cases[] = {
        /* footer only: the rule holds for every instant, also long before
         * 1970. 2026 as for New York; in 1970, Mar 1 (day 59) was a
         * Sunday, so the second Sunday is day 66: 07:00Z = 5,727,600 */
        {"Slim", 1772953199, -5 * H, 1772953200},
        {"Slim", 1772953200, -4 * H, 1793512800},
        {"Slim", 1793512800, -5 * H, 1805007600},
        {"Slim", 0, -5 * H, 5727600},
        {"Slim", -1, -5 * H, 5727600},
        {"Slim", 2372914800, -4 * H, 2393474400},
        /* Fold: XDT (+2) ends Sun 2026-10-25 00:30 local = Sat 22:30Z =
         * 1,792,886,400 - 1.5h = 1,792,881,000 */
        {"Fold", 1792880999, 2 * H, 1792881000},
        {"Fold", 1792881000, 1 * H, 0},
        /* version 1 data: type 0 before the first transition */
        {"Old", 0, 0, 1000000},
        {"Old", 999999, 0, 1000000},
        {"Old", 1000000, 1 * H, 2000000},
        {"Old", 2000000, 0, NEVER},
        {"Old", 1795166100, 0, NEVER},
        {NULL, 0, 0, 0},
    };
    static const char *const refused[] = {
        "Leap", "Text", "Short", "Badrule", "Big", NULL,
    };
    struct tzdb *db = tzdb_new(dir);
    struct fu_err err;

    TEST("hand-made zones");
    CHECK(db != NULL);
    if (!db) return;
    check_offsets(db, cases);
    const struct tz *slim = tzdb_get(db, "Slim", &err);
    if (slim) {
        int64_t next = 0;
        int32_t off = tz_offset(slim, INT64_MAX - 1, &next);
        CHECK(off == -5 * H || off == -4 * H);
        CHECK(next == NEVER); /* the next change is past INT64_MAX */
        off = tz_offset(slim, INT64_MIN, &next);
        CHECK(off == -5 * H);
        CHECK(next > INT64_MIN);
    }
    TEST("bad zone files");
    for (int i = 0; refused[i]; i++) {
        fu_err_clear(&err);
        CHECK(tzdb_get(db, refused[i], &err) == NULL);
        CHECK_INT(err.code, FU_EINVAL);
    }
    tzdb_free(db);
}

static void test_tzdir_env(const char *dir) {
    TEST("TZDIR");
    char *old = getenv("TZDIR") ? strdup(getenv("TZDIR")) : NULL;
    setenv("TZDIR", dir, 1);
    struct tzdb *db = tzdb_new(NULL);
    CHECK(db && tzdb_get(db, "Slim", NULL) != NULL);
    CHECK(db && tzdb_get(db, "Asia/Shanghai", NULL) == NULL);
    tzdb_free(db);
    if (old)
        setenv("TZDIR", old, 1);
    else
        unsetenv("TZDIR");
    free(old);
    tzdb_free(NULL); /* a no-op */
}

int main(void) {
    char dir[] = "/tmp/test_tz.XXXXXX";
    struct tzdb *db = tzdb_new(NULL);

    if (!db || !mkdtemp(dir)) {
        printf("setup failed\n");
        return 1;
    }
    test_dst_2026(db);
    test_footer_rules(db);
    test_names(db);
    test_format_local(db);
    tzdb_free(db);

    make_files(dir);
    test_made_zones(dir);
    test_tzdir_env(dir);
    for (int i = 0; made_files[i]; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, made_files[i]);
        remove(path);
    }
    rmdir(dir);
    return test_report();
}
