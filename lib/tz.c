/* tz.c -- IANA time zones read from the system tz database (TZif files).
 *
 * Here: the zone cache (struct tzdb, a small chained hash table keyed by
 * name), zone-name validation, the TZif reader (RFC 8536: version 2+
 * 64-bit data, or the version 1 data of an old file) and the POSIX TZ
 * string of the footer, which gives the offset after the last transition
 * ("EST5EDT,M3.2.0,M11.1.0", "<+0330>-3:30", "IST-2IDT,M3.4.4/26,M10.5.0").
 * No offsets are written down here: every one comes from the database.
 * Not here: windows (window.c) and calendar arithmetic (timeutil.c). */
#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_NAME_MAX 128          /* names are shorter than this */
#define TZ_FILE_MAX (1 << 20)    /* real TZif files are a few KiB */
#define TZ_OFF_MAX (26 * 3600)   /* |UTC offset| accepted (RFC 8536 3.2) */
#define TZ_RULE_HOUR_MAX 167     /* footer transition times (RFC 8536 3.3) */
#define TZ_BUCKETS 64
/* The Gregorian calendar repeats every 400 years (146097 days, a whole
 * number of weeks), and so does every footer rule. */
#define TZ_CYCLE ((int64_t)146097 * 86400)

/* ---- Types ---- */

/* One end of DST in a footer rule. kind 'J': day 1..365, Feb 29 never
 * counted; 'D': day 0..365 counting Feb 29; 'M': day d (0 = Sunday) of
 * week w (5 = last) of month m. secs: local time of day, may be < 0 or
 * past 24h. */
struct tz_rule_date {
    char kind;
    int m, w, d, n;
    int32_t secs;
};

/* A POSIX TZ string. Offsets are seconds east (the string says west). */
struct tz_rule {
    int32_t std_off, dst_off;
    int has_dst;
    struct tz_rule_date start, end; /* start: std -> dst; end: dst -> std */
};

struct tz {
    char *name;
    int64_t *trans; /* transition instants, strictly ascending */
    uint8_t *idx;   /* type index of each transition */
    int ntrans;
    int32_t *offs;  /* UTC offset of each local time type */
    int ntypes;
    int has_rule;   /* the footer governs instants >= the last transition */
    struct tz_rule rule;
    struct tz *next; /* hash chain */
};

struct tzdb {
    char *dir;
    struct tz *buckets[TZ_BUCKETS];
};

/* ---- POSIX TZ string (TZif footer) ---- */

/* Unsigned decimal of at most 3 digits; -1 if none. */
static int rule_number(const char **sp) {
    const char *s = *sp;
    int v = 0, n = 0;
    for (; *s >= '0' && *s <= '9' && n < 3; n++) v = v * 10 + (*s++ - '0');
    if (n == 0) return -1;
    *sp = s;
    return v;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h into seconds (sign applied). */
static int rule_hms(const char **sp, int max_h, int32_t *out) {
    const char *s = *sp;
    int sign = 1, h, m = 0, sec = 0;
    if (*s == '+' || *s == '-') sign = (*s++ == '-') ? -1 : 1;
    if ((h = rule_number(&s)) < 0 || h > max_h) return -1;
    if (*s == ':') {
        s++;
        if ((m = rule_number(&s)) < 0 || m > 59) return -1;
        if (*s == ':') {
            s++;
            if ((sec = rule_number(&s)) < 0 || sec > 59) return -1;
        }
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    *sp = s;
    return 0;
}

/* A zone abbreviation: 3+ letters, or <...> of letters, digits, + and -. */
static int rule_abbr(const char **sp) {
    const char *s = *sp, *b;
    if (*s == '<') {
        for (b = ++s; *s && *s != '>'; s++)
            if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
                  (*s >= '0' && *s <= '9') || *s == '+' || *s == '-'))
                return -1;
        if (*s != '>' || s - b < 3) return -1;
        s++;
    } else {
        for (b = s; (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z');)
            s++;
        if (s - b < 3) return -1;
    }
    *sp = s;
    return 0;
}

/* ",Jn[/time]", ",n[/time]" or ",Mm.w.d[/time]"; time defaults to 02:00. */
static int rule_date(const char **sp, struct tz_rule_date *rd) {
    const char *s = *sp;
    if (*s++ != ',') return -1;
    memset(rd, 0, sizeof(*rd));
    if (*s == 'J') {
        s++;
        rd->kind = 'J';
        if ((rd->n = rule_number(&s)) < 1 || rd->n > 365) return -1;
    } else if (*s == 'M') {
        s++;
        rd->kind = 'M';
        if ((rd->m = rule_number(&s)) < 1 || rd->m > 12 || *s++ != '.' ||
            (rd->w = rule_number(&s)) < 1 || rd->w > 5 || *s++ != '.' ||
            (rd->d = rule_number(&s)) < 0 || rd->d > 6)
            return -1;
    } else {
        rd->kind = 'D';
        if ((rd->n = rule_number(&s)) < 0 || rd->n > 365) return -1;
    }
    rd->secs = 2 * 3600;
    if (*s == '/') {
        s++;
        if (rule_hms(&s, TZ_RULE_HOUR_MAX, &rd->secs)) return -1;
    }
    *sp = s;
    return 0;
}

/* Parse a whole POSIX TZ string. A DST part must come with its rule (the
 * TZif footers of the tz database always give one). 0 ok, -1 bad. */
static int rule_parse(const char *s, struct tz_rule *r) {
    int32_t west;
    memset(r, 0, sizeof(*r));
    if (rule_abbr(&s) || rule_hms(&s, 24, &west)) return -1;
    r->std_off = -west;
    if (*s == '\0') return 0;
    if (rule_abbr(&s)) return -1;
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if (rule_hms(&s, 24, &west)) return -1;
        r->dst_off = -west;
    }
    if (rule_date(&s, &r->start) || rule_date(&s, &r->end) || *s) return -1;
    return 0;
}

/* Local date (days since 1970) on which rd falls in year y. */
static int64_t rule_day(const struct tz_rule_date *rd, int64_t y) {
    int64_t jan1 = time_days_from_civil(y, 1, 1);
    if (rd->kind == 'J') {
        int leap = time_days_from_civil(y, 3, 1) - jan1 == 60;
        return jan1 + rd->n - 1 + (leap && rd->n >= 60);
    }
    if (rd->kind == 'D') return jan1 + rd->n;
    int64_t first = time_days_from_civil(y, rd->m, 1);
    int64_t next = rd->m == 12 ? time_days_from_civil(y + 1, 1, 1)
                               : time_days_from_civil(y, rd->m + 1, 1);
    int wd = (time_weekday(first) + 1) % 7; /* 0 = Sunday, like the rule */
    int64_t day = first + (rd->d - wd + 7) % 7 + (int64_t)(rd->w - 1) * 7;
    while (day >= next) day -= 7;
    return day;
}

/* A rule transition: at instant `at` the offset becomes `off`. */
struct tz_edge {
    int64_t at;
    int32_t off;
    int is_start;
};

/* Offset of the rule at t (0 <= t < TZ_CYCLE, see TZ_CYCLE) and the next
 * transition after t. The transitions of the years around t are sorted;
 * when an end and a start coincide the start wins (all-year DST). */
static int32_t rule_offset(const struct tz_rule *r, int64_t t, int64_t *next) {
    struct tz_edge e[10];
    int n = 0;
    int64_t y;
    int m, d;
    time_civil_from_days(time_floor_div(t, 86400), &y, &m, &d);
    for (int64_t yy = y - 2; yy <= y + 2; yy++) {
        e[n++] = (struct tz_edge){rule_day(&r->start, yy) * 86400 +
                                      r->start.secs - r->std_off,
                                  r->dst_off, 1};
        e[n++] = (struct tz_edge){rule_day(&r->end, yy) * 86400 +
                                      r->end.secs - r->dst_off,
                                  r->std_off, 0};
    }
    for (int i = 1; i < n; i++) /* insertion sort by (at, is_start) */
        for (int j = i; j > 0 && (e[j - 1].at > e[j].at ||
                                  (e[j - 1].at == e[j].at &&
                                   e[j - 1].is_start > e[j].is_start));
             j--) {
            struct tz_edge tmp = e[j];
            e[j] = e[j - 1];
            e[j - 1] = tmp;
        }
    int32_t off = r->std_off;
    *next = INT64_MAX;
    for (int i = 0; i < n; i++) {
        if (e[i].at <= t) {
            off = e[i].off;
        } else {
            *next = e[i].at;
            break;
        }
    }
    return off;
}

/* The footer rule at any t: fold t into the first 400-year cycle after
 * 1970, evaluate there, and move the next transition back out (saturating
 * at INT64_MAX). */
static int32_t rule_offset_any(const struct tz_rule *r, int64_t t,
                               int64_t *next) {
    int64_t folded = t % TZ_CYCLE, nx;
    if (!r->has_dst) {
        *next = INT64_MAX;
        return r->std_off;
    }
    if (folded < 0) folded += TZ_CYCLE;
    int32_t off = rule_offset(r, folded, &nx);
    int64_t ahead = nx - folded; /* > 0, about a year at most */
    *next = (nx == INT64_MAX || t > INT64_MAX - ahead) ? INT64_MAX
                                                       : t + ahead;
    return off;
}

/* ---- TZif reader ---- */

struct tzif_reader {
    const unsigned char *p;
    size_t n, off;
};

static int rd_take(struct tzif_reader *rd, size_t len,
                   const unsigned char **out) {
    if (len > rd->n - rd->off) return -1;
    *out = rd->p + rd->off;
    rd->off += len;
    return 0;
}

static int64_t be_read(const unsigned char *b, int size) {
    uint64_t v = 0;
    for (int i = 0; i < size; i++) v = (v << 8) | b[i];
    if (size == 4) return (int32_t)(uint32_t)v;
    return (int64_t)v;
}

/* The counts of a TZif header, in file order. */
enum { C_ISUT, C_ISSTD, C_LEAP, C_TIME, C_TYPE, C_CHAR, C_N };

static int tzif_header(struct tzif_reader *rd, int *version,
                       uint32_t cnt[C_N]) {
    const unsigned char *h;
    if (rd_take(rd, 44, &h) || memcmp(h, "TZif", 4)) return -1;
    *version = h[4] ? h[4] - '0' : 1;
    for (int i = 0; i < C_N; i++) cnt[i] = (uint32_t)be_read(h + 20 + 4 * i, 4);
    if (cnt[C_TYPE] == 0 || cnt[C_TYPE] > 256 ||
        (cnt[C_ISUT] && cnt[C_ISUT] != cnt[C_TYPE]) ||
        (cnt[C_ISSTD] && cnt[C_ISSTD] != cnt[C_TYPE]) ||
        cnt[C_TIME] > TZ_FILE_MAX || cnt[C_CHAR] > TZ_FILE_MAX ||
        cnt[C_LEAP] > TZ_FILE_MAX)
        return -1;
    return 0;
}

/* Bytes of the data block that follows a header with these counts. */
static size_t tzif_block_size(const uint32_t cnt[C_N], int tsize) {
    return (size_t)cnt[C_TIME] * (tsize + 1) + (size_t)cnt[C_TYPE] * 6 +
           cnt[C_CHAR] + (size_t)cnt[C_LEAP] * (tsize + 4) + cnt[C_ISSTD] +
           cnt[C_ISUT];
}

/* Read the transitions and types of a data block into tz. */
static int tzif_block(struct tzif_reader *rd, const uint32_t cnt[C_N],
                      int tsize, struct tz *tz) {
    const unsigned char *b;
    size_t nt = cnt[C_TIME], ny = cnt[C_TYPE];
    if (rd_take(rd, tzif_block_size(cnt, tsize), &b)) return -1;
    tz->trans = malloc(sizeof(*tz->trans) * (nt ? nt : 1));
    tz->idx = malloc(nt ? nt : 1);
    tz->offs = malloc(sizeof(*tz->offs) * ny);
    if (!tz->trans || !tz->idx || !tz->offs) return -1;
    for (size_t i = 0; i < nt; i++) {
        tz->trans[i] = be_read(b + i * tsize, tsize);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1]) return -1;
    }
    b += nt * tsize;
    for (size_t i = 0; i < nt; i++) {
        if (b[i] >= ny) return -1;
        tz->idx[i] = b[i];
    }
    b += nt;
    for (size_t i = 0; i < ny; i++) {
        int64_t off = be_read(b + i * 6, 4);
        if (off < -TZ_OFF_MAX || off > TZ_OFF_MAX || b[i * 6 + 4] > 1)
            return -1;
        tz->offs[i] = (int32_t)off;
    }
    tz->ntrans = (int)nt;
    tz->ntypes = (int)ny;
    return 0;
}

/* The footer "\n<TZ string>\n" after the version 2+ data; an empty string
 * means "no rule" (the last type stays in force). */
static int tzif_footer(struct tzif_reader *rd, struct tz *tz) {
    const char *s = (const char *)rd->p + rd->off;
    size_t left = rd->n - rd->off;
    char buf[128];
    if (left < 2 || s[0] != '\n') return -1;
    const char *nl = memchr(s + 1, '\n', left - 1);
    if (!nl || (size_t)(nl - s - 1) >= sizeof(buf)) return -1;
    memcpy(buf, s + 1, (size_t)(nl - s - 1));
    buf[nl - s - 1] = '\0';
    if (buf[0] == '\0') return 0;
    if (memchr(buf, '\0', (size_t)(nl - s - 1)) || rule_parse(buf, &tz->rule))
        return -1;
    if (tz->rule.std_off < -TZ_OFF_MAX || tz->rule.std_off > TZ_OFF_MAX ||
        tz->rule.dst_off < -TZ_OFF_MAX || tz->rule.dst_off > TZ_OFF_MAX)
        return -1;
    tz->has_rule = 1;
    return 0;
}

/* Parse a whole TZif file: the v1 block, then (v2+) the 64-bit block and
 * the footer. Zones counting leap seconds ("right/...") are refused: their
 * instants are not POSIX seconds. 0 ok, -1 bad (tz may be half-filled). */
static int tzif_parse(const unsigned char *p, size_t n, struct tz *tz) {
    struct tzif_reader rd = {p, n, 0};
    uint32_t cnt[C_N];
    int version;
    const unsigned char *skip;
    if (tzif_header(&rd, &version, cnt)) return -1;
    if (version < 2) return cnt[C_LEAP] ? -1 : tzif_block(&rd, cnt, 4, tz);
    if (rd_take(&rd, tzif_block_size(cnt, 4), &skip)) return -1;
    if (tzif_header(&rd, &version, cnt) || cnt[C_LEAP]) return -1;
    if (tzif_block(&rd, cnt, 8, tz)) return -1;
    return tzif_footer(&rd, tz);
}

/* ---- Zones ---- */

static void tz_free(struct tz *tz) {
    if (!tz) return;
    free(tz->name);
    free(tz->trans);
    free(tz->idx);
    free(tz->offs);
    free(tz);
}

/* IANA names only: [A-Za-z0-9_+-] components joined by single '/'. */
static int tz_name_valid(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n >= TZ_NAME_MAX || name[0] == '/' || name[n - 1] == '/' ||
        strstr(name, "..") || strstr(name, "//"))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-' ||
              c == '/'))
            return 0;
    }
    return 1;
}

/* Read the file at path (at most TZ_FILE_MAX bytes) into a malloc'd
 * buffer; NULL when it cannot be read or is too large. */
static unsigned char *tz_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL, *nb;
    size_t cap = 0, n = 0;
    if (!f) return NULL;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8192;
            if (cap >= TZ_FILE_MAX || !(nb = realloc(buf, ncap))) goto fail;
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) goto fail;
    fclose(f);
    *len = n;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

/* Load zone name from dir. NULL with err set when it cannot be used. */
static struct tz *tz_load(const char *dir, const char *name,
                          struct fu_err *err) {
    char path[4096];
    size_t len = 0;
    unsigned char *data = NULL;
    struct tz *tz = NULL;
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path) ||
        !(data = tz_read_file(path, &len))) {
        fu_err_set(err, FU_EINVAL, "unknown time zone '%s'", name);
        goto err;
    }
    if (!(tz = calloc(1, sizeof(*tz))) || !(tz->name = strdup(name))) {
        fu_err_set(err, FU_ENOMEM, "out of memory loading time zone '%s'",
                   name);
        goto err;
    }
    if (tzif_parse(data, len, tz)) {
        fu_err_set(err, FU_EINVAL,
                   "unknown time zone '%s': '%s' is not a usable TZif file",
                   name, path);
        goto err;
    }
    free(data);
    return tz;
err:
    free(data);
    tz_free(tz);
    return NULL;
}

const char *tz_name(const struct tz *tz) {
    return tz->name;
}

/* Index of the last transition <= t, or -1 when t is before them all. */
static int tz_find(const struct tz *tz, int64_t t) {
    int lo = 0, hi = tz->ntrans; /* answer in [lo - 1, hi - 1] */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

int32_t tz_offset(const struct tz *tz, int64_t t, int64_t *next_change) {
    int64_t nx = INT64_MAX;
    int32_t off;
    int i = tz_find(tz, t);
    if (i == tz->ntrans - 1 && tz->has_rule) {
        off = rule_offset_any(&tz->rule, t, &nx);
    } else if (i < 0) {
        off = tz->offs[0]; /* RFC 8536 3.2: type 0 before the first */
        if (tz->ntrans > 0) nx = tz->trans[0];
    } else {
        off = tz->offs[tz->idx[i]];
        if (i + 1 < tz->ntrans) nx = tz->trans[i + 1];
    }
    if (next_change) *next_change = nx;
    return off;
}

char *tz_format_local(const struct tz *tz, int64_t t, char *buf) {
    int32_t off = tz_offset(tz, t, NULL);
    int64_t lt, days, y;
    int m, d;
    if ((off > 0 && t > INT64_MAX - off) || (off < 0 && t < INT64_MIN - off))
        lt = t; /* beyond any calendar worth printing */
    else
        lt = t + off;
    days = lt / 86400;
    int64_t sod = lt % 86400; /* no overflow at INT64_MIN */
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    time_civil_from_days(days, &y, &m, &d);
    snprintf(buf, 32, "%04lld-%02d-%02d %02d:%02d", (long long)y, m, d,
             (int)(sod / 3600), (int)(sod / 60 % 60));
    return buf;
}

/* ---- Database ---- */

static unsigned tzdb_hash(const char *s) {
    unsigned h = 2166136261u; /* FNV-1a */
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % TZ_BUCKETS;
}

struct tzdb *tzdb_new(const char *dir) {
    struct tzdb *db = calloc(1, sizeof(*db));
    if (!db) return NULL;
    if (!dir || !*dir) dir = getenv("TZDIR");
    if (!dir || !*dir) dir = TZ_DEFAULT_DIR;
    if (!(db->dir = strdup(dir))) {
        free(db);
        return NULL;
    }
    return db;
}

void tzdb_free(struct tzdb *db) {
    if (!db) return;
    for (int i = 0; i < TZ_BUCKETS; i++) {
        struct tz *tz = db->buckets[i];
        while (tz) {
            struct tz *next = tz->next;
            tz_free(tz);
            tz = next;
        }
    }
    free(db->dir);
    free(db);
}

const struct tz *tzdb_get(struct tzdb *db, const char *name,
                          struct fu_err *err) {
    if (!name || !tz_name_valid(name)) {
        fu_err_set(err, FU_EINVAL, "invalid time zone name '%s'",
                   name ? name : "(null)");
        return NULL;
    }
    unsigned h = tzdb_hash(name);
    for (struct tz *tz = db->buckets[h]; tz; tz = tz->next)
        if (!strcmp(tz->name, name)) return tz;
    struct tz *tz = tz_load(db->dir, name, err);
    if (!tz) return NULL;
    tz->next = db->buckets[h];
    db->buckets[h] = tz;
    return tz;
}
