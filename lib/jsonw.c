/* jsonw.c -- a small streaming JSON text writer for output messages.
 *
 * Writes straight into a growing buffer in the spec's spaced style
 * (`{"a": 1, "b": [1, 2]}`), keys in the order written. Commas and the
 * ": " after keys are placed by the writer, so callers only say what comes
 * next. It does not check that the calls make a well-formed document
 * (a key inside an array, say); that is the caller's job. */
#include "jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

/* ---- Buffer ---- */

/* Before the first write buf points here and cap is 0, so buf is never
 * NULL and jsonw_init cannot fail. Never written to. */
static const char jsonw_empty[1] = "";

static void jsonw_fail(struct jsonw *w) {
    w->oom = 1;
}

/* Make room for n more bytes plus the NUL. 0 ok, -1 failed. */
static int jsonw_reserve(struct jsonw *w, size_t n) {
    size_t need, ncap;
    char *nbuf;

    if (w->oom) return -1;
    if (n > SIZE_MAX - w->len - 1) {
        jsonw_fail(w);
        return -1;
    }
    need = w->len + n + 1;
    if (need <= w->cap) return 0;
    ncap = w->cap ? w->cap : 256;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            ncap = need;
            break;
        }
        ncap *= 2;
    }
    nbuf = w->cap ? realloc(w->buf, ncap) : malloc(ncap);
    if (!nbuf) {
        jsonw_fail(w);
        return -1;
    }
    if (!w->cap) nbuf[0] = '\0';
    w->buf = nbuf;
    w->cap = ncap;
    return 0;
}

static void jsonw_put(struct jsonw *w, const char *s, size_t n) {
    if (jsonw_reserve(w, n) < 0) return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void jsonw_puts(struct jsonw *w, const char *s) {
    jsonw_put(w, s, strlen(s));
}

/* ---- Structure ---- */

/* Called before every value: a ", " unless this is the first element of
 * the container or the value of a key just written. */
static void jsonw_before_value(struct jsonw *w) {
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (!w->first[w->depth]) jsonw_put(w, ", ", w->compact ? 1 : 2);
    w->first[w->depth] = 0;
}

static void jsonw_open(struct jsonw *w, char c) {
    if (w->oom) return;
    jsonw_before_value(w);
    if (w->depth + 1 >= JSONW_MAX_DEPTH) {
        jsonw_fail(w); /* too deep: the message is dropped, not truncated */
        return;
    }
    jsonw_put(w, &c, 1);
    w->depth++;
    w->first[w->depth] = 1;
}

static void jsonw_close(struct jsonw *w, char c) {
    if (w->oom) return;
    jsonw_put(w, &c, 1);
    if (w->depth > 0) w->depth--;
}

/* The string s[0..n) quoted and escaped per RFC 8259. Bytes >= 0x80 pass
 * through: the input is taken to be UTF-8 already. */
static void jsonw_quote(struct jsonw *w, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    size_t run = 0; /* start of the bytes not yet copied */

    jsonw_put(w, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7];
        size_t elen = 2;

        if (c >= 0x20 && c != '"' && c != '\\') continue;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xF];
            elen = 6;
            break;
        }
        jsonw_put(w, s + run, i - run);
        jsonw_put(w, esc, elen);
        run = i + 1;
    }
    jsonw_put(w, s + run, n - run);
    jsonw_put(w, "\"", 1);
}

void jsonw_rawn(struct jsonw *w, const char *s, size_t n) {
    if (!w->oom) jsonw_put(w, s, n);
}

void jsonw_quoted(struct jsonw *w, const char *s, size_t n) {
    if (!w->oom) jsonw_quote(w, s, n);
}

/* ---- Lifecycle ---- */

void jsonw_init(struct jsonw *w) {
    memset(w, 0, sizeof(*w));
    w->buf = (char *)jsonw_empty;
    w->first[0] = 1;
}

void jsonw_release(struct jsonw *w) {
    if (w->cap) free(w->buf);
    jsonw_init(w);
}

char *jsonw_detach(struct jsonw *w) {
    char *text = NULL;

    if (!w->oom) {
        if (w->cap) {
            text = w->buf;
            w->cap = 0; /* now the caller's */
        } else {
            text = strdup("");
        }
    }
    jsonw_release(w);
    return text;
}

/* Empty the text (keeping the buffer) and forget any failure. */
void jsonw_reset(struct jsonw *w) {
    w->len = 0;
    if (w->cap) w->buf[0] = '\0';
    w->depth = 0;
    memset(w->first, 0, sizeof(w->first));
    w->first[0] = 1;
    w->after_key = 0;
    w->oom = 0;
}

/* ---- Values ---- */

void jsonw_obj_open(struct jsonw *w) {
    jsonw_open(w, '{');
}

void jsonw_obj_close(struct jsonw *w) {
    jsonw_close(w, '}');
}

void jsonw_arr_open(struct jsonw *w) {
    jsonw_open(w, '[');
}

void jsonw_arr_close(struct jsonw *w) {
    jsonw_close(w, ']');
}

void jsonw_key(struct jsonw *w, const char *key) {
    if (w->oom) return;
    if (!w->first[w->depth]) jsonw_put(w, ", ", w->compact ? 1 : 2);
    w->first[w->depth] = 0;
    jsonw_quote(w, key, strlen(key));
    jsonw_put(w, ": ", w->compact ? 1 : 2);
    w->after_key = 1;
}

void jsonw_str(struct jsonw *w, const char *s) {
    if (!s) {
        jsonw_null(w);
        return;
    }
    jsonw_strn(w, s, strlen(s));
}

void jsonw_strn(struct jsonw *w, const char *s, size_t n) {
    if (w->oom) return;
    jsonw_before_value(w);
    jsonw_quote(w, s, n);
}

/* Decimal digits of v, right-aligned in buf[0..32); returns the first.
 * snprintf cost a tenth of a batch's CPU in the profile (state encoding
 * writes many integers). */
static char *format_int(int64_t v, char buf[32]) {
    char *p = buf + 32;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    return p;
}

void jsonw_int(struct jsonw *w, int64_t v) {
    char num[32];
    const char *p;

    if (w->oom) return;
    jsonw_before_value(w);
    p = format_int(v, num);
    jsonw_put(w, p, (size_t)(num + 32 - p));
}

void jsonw_bool(struct jsonw *w, int v) {
    if (w->oom) return;
    jsonw_before_value(w);
    jsonw_puts(w, v ? "true" : "false");
}

void jsonw_null(struct jsonw *w) {
    if (w->oom) return;
    jsonw_before_value(w);
    jsonw_put(w, "null", 4);
}

void jsonw_time(struct jsonw *w, int64_t t) {
    char buf[32];

    if (t == TIME_NONE) {
        jsonw_null(w);
        return;
    }
    if (w->oom) return;
    jsonw_before_value(w);
    time_format_utc(t, buf);
    jsonw_quote(w, buf, strlen(buf));
}

void jsonw_raw(struct jsonw *w, const char *json) {
    if (!json) {
        jsonw_null(w);
        return;
    }
    if (w->oom) return;
    jsonw_before_value(w);
    jsonw_puts(w, json);
}

/* ---- Shorthands ---- */

void jsonw_kstr(struct jsonw *w, const char *key, const char *s) {
    jsonw_key(w, key);
    jsonw_str(w, s);
}

void jsonw_kint(struct jsonw *w, const char *key, int64_t v) {
    jsonw_key(w, key);
    jsonw_int(w, v);
}

void jsonw_ktime(struct jsonw *w, const char *key, int64_t t) {
    jsonw_key(w, key);
    jsonw_time(w, t);
}

void jsonw_knull(struct jsonw *w, const char *key) {
    jsonw_key(w, key);
    jsonw_null(w);
}
