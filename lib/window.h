/* window.h -- calling and message windows evaluated in a user's zone.
 *
 * A window is a set of local wall-time ranges on allowed weekdays, minus
 * excluded local dates. An instant is inside when its local wall time in
 * the zone is (spec 4): a range can open twice in a DST fall-back fold and
 * is skipped in a spring-forward gap. A slot is one range on one local
 * date; slots are never merged across ranges or midnight. */
#ifndef FU_WINDOW_H
#define FU_WINDOW_H

#include <stdint.h>

#include "tz.h"

#define WINDOW_MAX_RANGES 24
#define WINDOW_MAX_EXCLUDE 1000 /* excluded dates: about three years of holidays */

struct window_range {
    int16_t start, end; /* minutes after local midnight, start < end <= 1440 */
};

struct window {
    uint8_t days; /* bit 0 = Monday ... bit 6 = Sunday */
    int nranges;
    struct window_range ranges[WINDOW_MAX_RANGES]; /* sorted by start */
    int nexclude;
    int64_t *exclude; /* sorted local dates (days since 1970-01-01); owned */
};

/* All days, no ranges, no exclusions (never opens until ranges are added). */
void window_init(struct window *w);
void window_release(struct window *w);
/* Deep copy into dst (dst is overwritten, not released). 0 ok, -1 ENOMEM. */
int window_copy(struct window *dst, const struct window *src);
int window_equal(const struct window *a, const struct window *b);
/* Add an excluded date, keeping the list sorted and unique. 0/-1 ENOMEM. */
int window_exclude_date(struct window *w, int64_t days);
/* Add a range, keeping ranges sorted by start. -1 when full or invalid. */
int window_add_range(struct window *w, int start, int end);
/* 1 when the window can never open (no day, no range). */
int window_never_opens(const struct window *w);

/* First instant >= t inside the window and < limit. On success stores it
 * in *at and, if slot_end is not NULL, the end of the contiguous piece of
 * the slot holding *at: the first instant after *at that is outside that
 * slot (its range end, or a DST gap that cuts it); slot_end may be past
 * limit. When overlapping ranges put *at in two slots, the longer piece
 * wins. Returns 0, or -1 when there is none before limit or within 4000
 * local dates of t. Instants beyond +-2^50 s count as outside. */
int window_next(const struct window *w, const struct tz *tz, int64_t t,
                int64_t limit, int64_t *at, int64_t *slot_end);

/* Latest instant <= t inside the window and >= floor. 0 found, -1 none
 * (also when none lies within 4000 local dates of t). */
int window_prev(const struct window *w, const struct tz *tz, int64_t t,
                int64_t floor, int64_t *at);

/* 1 when t is inside the window. */
int window_contains(const struct window *w, const struct tz *tz, int64_t t);

#endif
