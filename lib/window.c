/* window.c -- calling and message windows evaluated in a user's zone.
 *
 * Here: the struct window value (days, ranges, excluded dates) and the
 * three questions asked of it: the next instant inside, the previous one,
 * and whether an instant is inside. An instant u is inside the slot
 * (local date D, range [a, b)) when its local wall time u + offset(u) lies
 * in [D*86400 + a*60, D*86400 + b*60). Within a stretch of UTC of constant
 * offset o that is a plain interval, so a slot is found by walking the
 * offset segments around its date (tz_offset and its next change): the
 * result is one or more UTC "pieces", several when a fall-back fold opens
 * the range twice, none when a spring-forward gap swallows it. Adjacent
 * pieces of one slot merge; pieces of different slots never do.
 * Not here: zone data (tz.c), parsing the policy syntax (timeutil.c). */
#include "window.h"

#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

/* No UTC offset tz.c accepts is larger, so every instant of local date D
 * lies in [D*86400 - MARGIN, (D+1)*86400 + MARGIN). */
#define WINDOW_MARGIN ((int64_t)26 * 3600)
#define WINDOW_SCAN_DAYS 4000     /* searches give up after this many dates */
#define WINDOW_T_LIMIT ((int64_t)1 << 50) /* instants beyond are outside */
#define WINDOW_MAX_SEGS 64
#define WINDOW_MAX_PIECES (4 * WINDOW_MAX_RANGES)

/* [from, to) of UTC with a constant offset. */
struct window_seg {
    int64_t from, to;
    int32_t off;
};

/* [from, to) of UTC inside one slot. */
struct window_piece {
    int64_t from, to;
};

/* ---- The value ---- */

void window_init(struct window *w) {
    memset(w, 0, sizeof(*w));
    w->days = 0x7f;
}

void window_release(struct window *w) {
    if (!w) return;
    free(w->exclude);
    w->exclude = NULL;
    w->nexclude = 0;
}

int window_copy(struct window *dst, const struct window *src) {
    int64_t *ex = NULL;
    if (src->nexclude > 0) {
        ex = malloc(sizeof(*ex) * (size_t)src->nexclude);
        if (!ex) return -1;
        memcpy(ex, src->exclude, sizeof(*ex) * (size_t)src->nexclude);
    }
    *dst = *src;
    dst->exclude = ex;
    return 0;
}

int window_equal(const struct window *a, const struct window *b) {
    if (a->days != b->days || a->nranges != b->nranges ||
        a->nexclude != b->nexclude)
        return 0;
    for (int i = 0; i < a->nranges; i++)
        if (a->ranges[i].start != b->ranges[i].start ||
            a->ranges[i].end != b->ranges[i].end)
            return 0;
    for (int i = 0; i < a->nexclude; i++)
        if (a->exclude[i] != b->exclude[i]) return 0;
    return 1;
}

/* Index of the first excluded date >= day. */
static int window_exclude_pos(const struct window *w, int64_t day) {
    int lo = 0, hi = w->nexclude;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (w->exclude[mid] < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int window_exclude_date(struct window *w, int64_t days) {
    int pos = window_exclude_pos(w, days);
    if (pos < w->nexclude && w->exclude[pos] == days) return 0;
    int64_t *ex = realloc(w->exclude, sizeof(*ex) * ((size_t)w->nexclude + 1));
    if (!ex) return -1;
    memmove(ex + pos + 1, ex + pos, sizeof(*ex) * (size_t)(w->nexclude - pos));
    ex[pos] = days;
    w->exclude = ex;
    w->nexclude++;
    return 0;
}

int window_add_range(struct window *w, int start, int end) {
    if (w->nranges >= WINDOW_MAX_RANGES || start < 0 || start >= end ||
        end > 1440)
        return -1;
    int i = w->nranges;
    while (i > 0 && w->ranges[i - 1].start > start) {
        w->ranges[i] = w->ranges[i - 1];
        i--;
    }
    w->ranges[i].start = (int16_t)start;
    w->ranges[i].end = (int16_t)end;
    w->nranges++;
    return 0;
}

int window_never_opens(const struct window *w) {
    return (w->days & 0x7f) == 0 || w->nranges == 0;
}

/* ---- Slots and pieces ---- */

/* 1 when local date day has an allowed weekday and is not excluded. */
static int window_day_open(const struct window *w, int64_t day) {
    if (!(w->days & (1u << time_weekday(day)))) return 0;
    int pos = window_exclude_pos(w, day);
    return !(pos < w->nexclude && w->exclude[pos] == day);
}

/* Local date of instant t in tz. */
static int64_t window_local_day(const struct tz *tz, int64_t t) {
    return time_floor_div(t + tz_offset(tz, t, NULL), 86400);
}

/* The offset segments covering every instant of local date day. */
static int window_segments(const struct tz *tz, int64_t day,
                           struct window_seg *sg) {
    int64_t u = day * 86400 - WINDOW_MARGIN;
    int64_t hi = (day + 1) * 86400 + WINDOW_MARGIN, nx;
    int n = 0;
    while (u < hi && n < WINDOW_MAX_SEGS) {
        int32_t off = tz_offset(tz, u, &nx);
        int64_t to = nx < hi ? nx : hi;
        sg[n++] = (struct window_seg){u, to, off};
        u = to;
    }
    return n;
}

/* Append to pc (holding n, of which those from `first` on belong to this
 * slot) the pieces of local-seconds interval [la, lb). Returns the new n. */
static int window_slot_pieces(const struct window_seg *sg, int nseg,
                              int64_t la, int64_t lb,
                              struct window_piece *pc, int n, int first) {
    for (int i = 0; i < nseg; i++) {
        int64_t from = sg[i].from > la - sg[i].off ? sg[i].from
                                                   : la - sg[i].off;
        int64_t to = sg[i].to < lb - sg[i].off ? sg[i].to : lb - sg[i].off;
        if (from >= to) continue;
        if (n > first && pc[n - 1].to == from)
            pc[n - 1].to = to; /* the slot goes on across the change */
        else if (n < WINDOW_MAX_PIECES)
            pc[n++] = (struct window_piece){from, to};
    }
    return n;
}

/* Every piece of every slot of local date day (none if the day is shut). */
static int window_day_pieces(const struct window *w, const struct tz *tz,
                             int64_t day, struct window_piece *pc) {
    struct window_seg sg[WINDOW_MAX_SEGS];
    int n = 0, nseg;
    if (!window_day_open(w, day)) return 0;
    nseg = window_segments(tz, day, sg);
    for (int r = 0; r < w->nranges; r++) {
        int64_t la = day * 86400 + (int64_t)w->ranges[r].start * 60;
        int64_t lb = day * 86400 + (int64_t)w->ranges[r].end * 60;
        n = window_slot_pieces(sg, nseg, la, lb, pc, n, n);
    }
    return n;
}

/* ---- Searches ---- */

/* Dates are visited from the one before t's local date upwards (a fold
 * can put pieces of an earlier date after t); a date whose earliest
 * possible instant is not before the best candidate (or the limit) ends
 * the walk. Equal candidates keep the longer piece. */
int window_next(const struct window *w, const struct tz *tz, int64_t t,
                int64_t limit, int64_t *at, int64_t *slot_end) {
    struct window_piece pc[WINDOW_MAX_PIECES];
    int64_t best = 0, best_end = 0;
    int found = 0;
    if (t < -WINDOW_T_LIMIT) t = -WINDOW_T_LIMIT;
    if (limit > WINDOW_T_LIMIT) limit = WINDOW_T_LIMIT;
    if (window_never_opens(w) || t >= limit) return -1;
    int64_t day = window_local_day(tz, t) - 1;
    for (int i = 0; i < WINDOW_SCAN_DAYS; i++, day++) {
        int64_t lo = day * 86400 - WINDOW_MARGIN;
        if (lo >= limit || (found && lo >= best)) break;
        int n = window_day_pieces(w, tz, day, pc);
        for (int k = 0; k < n; k++) {
            int64_t c = pc[k].from > t ? pc[k].from : t;
            if (pc[k].to <= t || c >= limit) continue;
            if (!found || c < best || (c == best && pc[k].to > best_end)) {
                best = c;
                best_end = pc[k].to;
                found = 1;
            }
        }
    }
    if (!found) return -1;
    *at = best;
    if (slot_end) *slot_end = best_end;
    return 0;
}

/* The mirror image of window_next: dates from the one after t's local
 * date downwards, until a date's latest possible instant is not after the
 * best candidate (or is before floor). */
int window_prev(const struct window *w, const struct tz *tz, int64_t t,
                int64_t floor, int64_t *at) {
    struct window_piece pc[WINDOW_MAX_PIECES];
    int64_t best = 0;
    int found = 0;
    if (t > WINDOW_T_LIMIT) t = WINDOW_T_LIMIT;
    if (floor < -WINDOW_T_LIMIT) floor = -WINDOW_T_LIMIT;
    if (window_never_opens(w) || t < floor) return -1;
    int64_t day = window_local_day(tz, t) + 1;
    for (int i = 0; i < WINDOW_SCAN_DAYS; i++, day--) {
        int64_t last = (day + 1) * 86400 + WINDOW_MARGIN - 1;
        if (last < floor || (found && last <= best)) break;
        int n = window_day_pieces(w, tz, day, pc);
        for (int k = 0; k < n; k++) {
            int64_t c = pc[k].to - 1 < t ? pc[k].to - 1 : t;
            if (pc[k].from > t || c < floor) continue;
            if (!found || c > best) {
                best = c;
                found = 1;
            }
        }
    }
    if (!found) return -1;
    *at = best;
    return 0;
}

int window_contains(const struct window *w, const struct tz *tz, int64_t t) {
    if (t < -WINDOW_T_LIMIT || t > WINDOW_T_LIMIT) return 0;
    int64_t lt = t + tz_offset(tz, t, NULL);
    int64_t day = time_floor_div(lt, 86400), sec = lt - day * 86400;
    if (!window_day_open(w, day)) return 0;
    for (int r = 0; r < w->nranges; r++)
        if (sec >= w->ranges[r].start * 60 && sec < w->ranges[r].end * 60)
            return 1;
    return 0;
}
