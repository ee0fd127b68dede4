/* log.h -- the daemon's leveled logger: one JSON object or one text line
 * per record, and a small rate limiter for per-message failures.
 *
 * No global state: a struct logger is made by log_new and passed around.
 * A record is a message and a list of typed fields:
 *
 *     LOG(lg, LOG_INFO, "policy loaded", LOG_S("version", v) LOG_I("rules", n));
 *     LOG(lg, LOG_INFO, "stopping", );
 *
 * JSON (the default) writes
 *     {"ts":"2026-11-30T05:04:07.123Z","level":"info","msg":"policy loaded","version":"a48...","rules":3}
 * and text writes
 *     2026-11-30T05:04:07.123Z INFO  policy loaded version=a48... rules=3
 * Each record is built in memory and written with one fwrite and one
 * fflush, so records from several threads (librdkafka calls its log
 * callback on its own threads) or processes sharing the stream do not mix
 * half-way. The logger never logs personal data by itself; what goes into
 * the fields is the caller's responsibility (README, Privacy). */
#ifndef FU_LOG_H
#define FU_LOG_H

#include <stdint.h>
#include <stdio.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* The type of a field's value; 0 is left for the terminating entry. */
enum log_field_type { LOGF_STR = 1, LOGF_INT, LOGF_DBL };

/* One field; a list of them ends with an entry whose key is NULL. */
struct log_field {
    const char *key;
    int type;       /* enum log_field_type */
    const char *s;  /* LOGF_STR: borrowed; NULL is written as null */
    long long i;    /* LOGF_INT */
    double d;       /* LOGF_DBL: NaN and infinities are written as null
                       (JSON) or NaN, +Inf, -Inf (text) */
};

struct logger; /* opaque */

/* A logger writing to out (borrowed: the caller keeps it open until
 * log_free) the records at level min and above, as JSON lines when json is
 * non-zero, else as text lines. Returns NULL when out is NULL or on
 * ENOMEM. */
struct logger *log_new(FILE *out, enum log_level min, int json);

/* Free lg (does not close its stream). NULL is a no-op. */
void log_free(struct logger *lg);

/* Change the minimum level; safe while other threads log. NULL: no-op. */
void log_set_level(struct logger *lg, enum log_level min);

/* "debug", "info", "warn", "error" (exact, lower-case, as in
 * followupd.yaml) -> the level; -1 when name is unknown or NULL. */
int log_level_from_name(const char *name);

/* The lower-case name of lvl ("info"); out-of-range levels are clamped. */
const char *log_level_name(enum log_level lvl);

/* 1 when a record at lvl would be written, 0 when not (or lg is NULL). */
int log_enabled(const struct logger *lg, enum log_level lvl);

/* Write one record: msg (borrowed) and fields (borrowed, ending with a key
 * NULL; fields may be NULL for none). Does nothing when lvl is filtered
 * out or lg is NULL. Cannot fail visibly: a record that cannot be built
 * (ENOMEM) or written is dropped. Keys and msg are written as given
 * (escaped as needed); strings are UTF-8 and non-ASCII bytes are kept. */
void log_emit(struct logger *lg, enum log_level lvl, const char *msg,
              const struct log_field *fields);

/* For tests: take the time of the records from now_ms(ctx), in
 * milliseconds since the epoch, instead of the realtime clock (now_ms
 * NULL restores it). */
void log_set_clock(struct logger *lg, int64_t (*now_ms)(void *ctx),
                   void *ctx);

/* Field constructors for LOG: each expands to one initializer and a
 * comma, so fields are written one after the other without commas. */
#define LOG_S(k, v) {(k), LOGF_STR, (v), 0, 0},
#define LOG_I(k, v) {(k), LOGF_INT, NULL, (long long)(v), 0},
#define LOG_D(k, v) {(k), LOGF_DBL, NULL, 0, (double)(v)},

/* Log msg with fields at lvl. lg and lvl are evaluated once; msg and the
 * field arguments only when the level is enabled. With no fields, keep
 * the comma: LOG(lg, LOG_INFO, "stopping", ); */
#define LOG(lg, lvl, msg, ...)                                              \
    do {                                                                    \
        struct logger *log_lg_ = (lg);                                      \
        enum log_level log_lvl_ = (enum log_level)(lvl);                    \
        if (log_enabled(log_lg_, log_lvl_))                                 \
            log_emit(log_lg_, log_lvl_, (msg),                              \
                     (const struct log_field[]){                            \
                         __VA_ARGS__ {NULL, 0, NULL, 0, 0}});               \
    } while (0)

/* A rate limiter for one kind of message (say, store failures): at most
 * max_per_second records in each window of one second, the window starting
 * at the first record after the previous one ended. Zero-initialise it.
 * When a call is allowed and `suppressed` is not zero, the caller logs
 * "N similar messages suppressed" and sets it back to 0. */
struct log_limit {
    int64_t window_start_ms;
    int count;      /* allowed in the current window */
    int suppressed; /* refused since the caller last reset it */
};

/* 1 when a record at now_ms (milliseconds, any epoch, from the caller's
 * clock) may be written, 0 when it is over the limit (then `suppressed`
 * grows). A clock that goes back starts a new window. max_per_second <= 0
 * allows nothing. Pure: no clock, no I/O. */
int log_limit_allow(struct log_limit *l, int64_t now_ms, int max_per_second);

#endif
