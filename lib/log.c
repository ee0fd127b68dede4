/* log.c -- the leveled JSON / text logger and the rate limiter.
 *
 * A record is built whole in a buffer owned by the call (so concurrent
 * calls share nothing but the stream) and written with one fwrite and one
 * fflush. JSON strings are escaped by lib/jsonw.c; text values that hold a
 * space, a quote, '=', a backslash or a control character (or are empty)
 * are written as JSON strings too, so a text line always splits back into
 * key=value pairs. See log.h. */
#include "log.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonw.h"
#include "timeutil.h"

struct logger {
    FILE *out;          /* borrowed */
    atomic_int min;     /* enum log_level; read by log_enabled on any thread */
    int json;
    int64_t (*now_ms)(void *ctx); /* NULL: the realtime clock */
    void *clock_ctx;
};

/* ---- Levels ---- */

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const level_text[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

static int level_index(enum log_level lvl) {
    if ((int)lvl < (int)LOG_DEBUG) return LOG_DEBUG;
    if ((int)lvl > (int)LOG_ERROR) return LOG_ERROR;
    return (int)lvl;
}

int log_level_from_name(const char *name) {
    if (!name) return -1;
    for (int i = 0; i <= LOG_ERROR; i++)
        if (!strcmp(level_names[i], name)) return i;
    return -1;
}

const char *log_level_name(enum log_level lvl) {
    return level_names[level_index(lvl)];
}

/* ---- Lifecycle ---- */

struct logger *log_new(FILE *out, enum log_level min, int json) {
    if (!out) return NULL;
    struct logger *lg = calloc(1, sizeof(*lg));
    if (!lg) return NULL;
    lg->out = out;
    atomic_init(&lg->min, (int)min);
    lg->json = json != 0;
    return lg;
}

void log_free(struct logger *lg) {
    free(lg);
}

void log_set_level(struct logger *lg, enum log_level min) {
    if (lg) atomic_store_explicit(&lg->min, (int)min, memory_order_relaxed);
}

void log_set_clock(struct logger *lg, int64_t (*now_ms)(void *ctx),
                   void *ctx) {
    if (!lg) return;
    lg->now_ms = now_ms;
    lg->clock_ctx = ctx;
}

int log_enabled(const struct logger *lg, enum log_level lvl) {
    if (!lg) return 0;
    /* the object is not const (log_new allocated it); only the view is */
    int min = atomic_load_explicit((atomic_int *)&lg->min,
                                   memory_order_relaxed);
    return (int)lvl >= min;
}

/* ---- The line buffer ---- */

struct lbuf {
    char *p;
    size_t len, cap;
    int oom;
};

static void lbuf_put(struct lbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (n > SIZE_MAX / 4 - b->len) {
        b->oom = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void lbuf_puts(struct lbuf *b, const char *s) {
    lbuf_put(b, s, strlen(s));
}

/* s with its control characters escaped as in JSON, nothing else changed:
 * a message or key in a text line stays on its line. */
static void lbuf_put_bare(struct lbuf *b, const char *s) {
    static const char hex[] = "0123456789abcdef";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF], 0};
        if (c >= 0x20 && c != 0x7f) {
            lbuf_put(b, s, 1);
            continue;
        }
        if (c == '\n' || c == '\r' || c == '\t') {
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            esc[2] = '\0';
        }
        lbuf_puts(b, esc);
    }
}

/* ---- Values ---- */

/* "2026-11-30T05:04:07.123Z" into buf (at least 40 bytes). */
static void format_ts(int64_t ms, char *buf) {
    int64_t secs = time_floor_div(ms, 1000);
    int frac = (int)(ms - secs * 1000);
    time_format_utc(secs, buf);
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == 'Z')
        snprintf(buf + n - 1, 40 - (n - 1), ".%03dZ", frac);
}

static int64_t realtime_ms(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A finite double in the fewest of 15 or 17 significant digits that read
 * back the same, with ".0" when it would look like an integer; buf at
 * least 40 bytes. Returns 0, or -1 (buf untouched) for NaN and inf. */
static int format_double(double d, char *buf) {
    if (isnan(d) || isinf(d)) return -1;
    snprintf(buf, 40, "%.15g", d);
    if (strtod(buf, NULL) != d) snprintf(buf, 40, "%.17g", d);
    if (!strpbrk(buf, ".eE")) strcat(buf, ".0");
    return 0;
}

/* A text value needs quotes when it is empty or would not read back as
 * one bare word of a key=value line. */
static int needs_quotes(const char *s) {
    if (!*s) return 1;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c == 0x7f || c == '"' || c == '=' || c == '\\')
            return 1;
    }
    return 0;
}

/* ---- Records ---- */

static void build_json(struct lbuf *b, const char *ts, enum log_level lvl,
                       const char *msg, const struct log_field *fields) {
    struct jsonw w;
    char num[40];
    jsonw_init(&w);
    w.compact = 1;
    jsonw_obj_open(&w);
    jsonw_kstr(&w, "ts", ts);
    jsonw_kstr(&w, "level", log_level_name(lvl));
    jsonw_kstr(&w, "msg", msg ? msg : "");
    for (const struct log_field *f = fields; f && f->key; f++) {
        jsonw_key(&w, f->key);
        if (f->type == LOGF_STR)
            jsonw_str(&w, f->s);
        else if (f->type == LOGF_INT)
            jsonw_int(&w, (int64_t)f->i);
        else if (f->type == LOGF_DBL && format_double(f->d, num) == 0)
            jsonw_raw(&w, num);
        else
            jsonw_null(&w); /* NaN, inf, or an unknown type */
    }
    jsonw_obj_close(&w);
    if (w.oom)
        b->oom = 1;
    else
        lbuf_put(b, w.buf, w.len);
    jsonw_release(&w);
}

static void build_text(struct lbuf *b, const char *ts, enum log_level lvl,
                       const char *msg, const struct log_field *fields) {
    struct jsonw q; /* quotes and escapes the values that need it */
    char num[40];
    jsonw_init(&q);
    lbuf_puts(b, ts);
    lbuf_puts(b, " ");
    lbuf_puts(b, level_text[level_index(lvl)]);
    lbuf_puts(b, " ");
    lbuf_put_bare(b, msg ? msg : "");
    for (const struct log_field *f = fields; f && f->key; f++) {
        lbuf_puts(b, " ");
        lbuf_put_bare(b, f->key);
        lbuf_puts(b, "=");
        if (f->type == LOGF_STR && f->s && needs_quotes(f->s)) {
            jsonw_reset(&q);
            jsonw_str(&q, f->s);
            if (q.oom) b->oom = 1;
            lbuf_put(b, q.buf, q.len);
        } else if (f->type == LOGF_STR && f->s) {
            lbuf_puts(b, f->s);
        } else if (f->type == LOGF_INT) {
            snprintf(num, sizeof(num), "%lld", f->i);
            lbuf_puts(b, num);
        } else if (f->type == LOGF_DBL && format_double(f->d, num) == 0) {
            lbuf_puts(b, num);
        } else if (f->type == LOGF_DBL) {
            lbuf_puts(b, isnan(f->d) ? "NaN" : f->d > 0 ? "+Inf" : "-Inf");
        } else {
            lbuf_puts(b, "null"); /* a NULL string, or an unknown type */
        }
    }
    jsonw_release(&q);
}

void log_emit(struct logger *lg, enum log_level lvl, const char *msg,
              const struct log_field *fields) {
    struct lbuf b = {0};
    char ts[40];
    if (!log_enabled(lg, lvl)) return;
    format_ts(lg->now_ms ? lg->now_ms(lg->clock_ctx) : realtime_ms(), ts);
    if (lg->json)
        build_json(&b, ts, lvl, msg, fields);
    else
        build_text(&b, ts, lvl, msg, fields);
    lbuf_puts(&b, "\n");
    if (!b.oom) {
        fwrite(b.p, 1, b.len, lg->out);
        fflush(lg->out);
    }
    free(b.p);
}

/* ---- Rate limiting ---- */

int log_limit_allow(struct log_limit *l, int64_t now_ms, int max_per_second) {
    /* now >= start here, so the unsigned difference is exact */
    if (now_ms < l->window_start_ms || l->count == 0 ||
        (uint64_t)now_ms - (uint64_t)l->window_start_ms >= 1000) {
        l->window_start_ms = now_ms;
        l->count = 0;
    }
    if (max_per_second > 0 && l->count < max_per_second) {
        l->count++;
        return 1;
    }
    l->suppressed++;
    return 0;
}
