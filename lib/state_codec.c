/* state_codec.c -- struct user_state <-> compact JSON, for stores that
 * keep a user's state as one value (Redis).
 *
 * The format is versioned ("v": 2) and positional (arrays, not objects) to
 * keep per-user bytes low; a field added later goes at the end of its
 * array, and a decoder reads missing trailing fields as their zero value,
 * so a rolling upgrade can read both. Times are seconds; null = TIME_NONE.
 * v2 (spec 4.1) added "cs" (consent) and a repeat timer's priority; v1
 * states read as consent never given and the rule's priority. v3 (spec
 * 4.2) added "fb" (follow_up_by), a follow-up's kind, message channel and
 * template, and a repeat timer's kind; older states read as calls and no
 * preference. A follow-up's last field says a paced call waits (4.3).
 *
 * Encoding goes through jsonw. Decoding is a hand-written single pass over
 * the text (the daemon decodes a state per event, and building a jansson
 * tree first cost a fifth of its CPU); see the Decoding banner for what it
 * accepts. */
#include "state_codec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "timeutil.h"
#include "utf8.h"

#define CODEC_VERSION 3
#define CODEC_OLDEST 1 /* the oldest version still read */
#define DEPTH_MAX 2048 /* jansson's JSON_PARSER_MAX_DEPTH (see Decoding) */

/* ---- Encoding ---- */

static void put_time(struct jsonw *w, int64_t t) {
    if (t == TIME_NONE)
        jsonw_null(w);
    else
        jsonw_int(w, t);
}

static void put_window(struct jsonw *w, const struct window *win) {
    jsonw_arr_open(w);
    jsonw_int(w, win->days);
    jsonw_arr_open(w);
    for (int i = 0; i < win->nranges; i++) {
        jsonw_int(w, win->ranges[i].start);
        jsonw_int(w, win->ranges[i].end);
    }
    jsonw_arr_close(w);
    jsonw_arr_open(w);
    for (int i = 0; i < win->nexclude; i++) jsonw_int(w, win->exclude[i]);
    jsonw_arr_close(w);
    jsonw_arr_close(w);
}

static void put_followup(struct jsonw *w, const struct followup *f) {
    jsonw_arr_open(w);
    jsonw_str(w, f->task_id);
    jsonw_str(w, f->rule_id);
    jsonw_str(w, f->trigger_event_id);
    jsonw_str(w, f->trigger_type);
    jsonw_int(w, f->trigger_at);
    jsonw_int(w, f->occurrence);
    jsonw_int(w, f->attempt);
    jsonw_int(w, f->reschedules);
    jsonw_int(w, f->planned);
    jsonw_int(w, f->expires_at);
    jsonw_int(w, f->due_at);
    jsonw_int(w, f->not_after);
    jsonw_int(w, (int64_t)f->seq);
    jsonw_int(w, f->status);
    put_time(w, f->emitted_at);
    jsonw_int(w, f->priority);
    jsonw_str(w, f->script);
    jsonw_str(w, f->context_json);
    jsonw_str(w, f->policy_version);
    jsonw_int(w, f->reminder_status);
    jsonw_str(w, f->reminder_id);
    jsonw_str(w, f->reminder_channel);
    jsonw_str(w, f->reminder_template);
    jsonw_int(w, f->reminder_at);
    jsonw_int(w, (int64_t)f->reminder_seq);
    jsonw_int(w, f->kind);
    jsonw_str(w, f->message_channel);
    jsonw_str(w, f->message_template);
    jsonw_int(w, f->waiting);
    jsonw_arr_close(w);
}

static void put_repeat(struct jsonw *w, const struct repeat_timer *t) {
    jsonw_arr_open(w);
    jsonw_str(w, t->rule_id);
    jsonw_str(w, t->trigger_event_id);
    jsonw_str(w, t->trigger_type);
    jsonw_int(w, t->trigger_at);
    jsonw_str(w, t->context_json);
    jsonw_int(w, t->occurrence);
    jsonw_int(w, t->nominal);
    jsonw_int(w, t->decide_at);
    jsonw_int(w, (int64_t)t->seq);
    jsonw_int(w, t->priority);
    jsonw_int(w, t->kind);
    jsonw_arr_close(w);
}

char *state_encode(const struct user_state *st) {
    struct jsonw w;
    jsonw_init(&w);
    w.compact = 1;
    jsonw_obj_open(&w);
    jsonw_kint(&w, "v", CODEC_VERSION);
    jsonw_kstr(&w, "u", st->user_id);
    jsonw_kstr(&w, "tz", st->timezone);
    jsonw_key(&w, "cw");
    if (st->has_call_window)
        put_window(&w, &st->call_window);
    else
        jsonw_null(&w);
    jsonw_kint(&w, "oo", st->opted_out);
    jsonw_kint(&w, "cs", st->consent);
    jsonw_kint(&w, "fb", st->follow_up_by);
    jsonw_key(&w, "co");
    jsonw_arr_open(&w);
    for (int i = 0; i < st->nchannels_off; i++) jsonw_str(&w, st->channels_off[i]);
    jsonw_arr_close(&w);
    jsonw_key(&w, "cd");
    jsonw_arr_open(&w);
    put_time(&w, st->cooldown_from);
    put_time(&w, st->cooldown_until);
    put_time(&w, st->prefs_at);
    jsonw_arr_close(&w);
    jsonw_key(&w, "s");
    jsonw_arr_open(&w);
    for (int i = 0; i < st->nseen; i++) {
        jsonw_str(&w, st->seen[i].event_id);
        jsonw_int(&w, st->seen[i].decided_at);
    }
    jsonw_arr_close(&w);
    jsonw_key(&w, "f");
    jsonw_arr_open(&w);
    for (int i = 0; i < st->nfollowups; i++) put_followup(&w, &st->followups[i]);
    jsonw_arr_close(&w);
    jsonw_key(&w, "r");
    jsonw_arr_open(&w);
    for (int i = 0; i < st->nrepeats; i++) put_repeat(&w, &st->repeats[i]);
    jsonw_arr_close(&w);
    jsonw_obj_close(&w);
    return jsonw_detach(&w);
}

/* ---- Decoding: the cursor ----
 *
 * state_decode reads buf once, front to back, and builds the state as it
 * goes: no tree, no copy of the text, one allocation per string the state
 * owns. It accepts exactly the texts that the jansson-based decoder before
 * it accepted, so every state already stored reads as it did:
 *  - the syntax is RFC 8259 with jansson's limits: strict UTF-8 (no
 *    overlong forms, surrogates or code points past U+10FFFF), no \u0000,
 *    integers that fit int64_t, reals that do not overflow a double, values
 *    nested at most DEPTH_MAX deep, only whitespace after the object;
 *  - unknown keys are skipped, whatever their value (a newer version may
 *    add keys), and a key given twice counts the last time only (jansson's
 *    json_object_set kept the last value);
 *  - where the old decoder ignored a value of the wrong type or read it as
 *    0 (json_integer_value), so does this one; those places say so.
 * A syntax error stops the parse at once. A field of the wrong type only
 * "spoils" its top-level key and the parse goes on, because the old
 * decoder checked the whole syntax first (so a syntax error further on
 * still decides the message) and because a repeated key replaces the
 * spoiled value. buf is not NUL-terminated: every read checks end. */

/* The first problem in the value of one top-level key. */
struct damage {
    const char *what; /* NULL while the value is fine */
    size_t at;        /* byte offset in buf */
};

enum top_key { TOP_V, TOP_U, TOP_TZ, TOP_CW, TOP_OO, TOP_CO, TOP_CD, TOP_S,
               TOP_F, TOP_R, TOP_CS, TOP_FB, TOP_COUNT };

static const char top_names[TOP_COUNT][3] = {
    "v", "u", "tz", "cw", "oo", "co", "cd", "s", "f", "r", "cs", "fb"};

struct dec {
    const char *buf, *p, *end; /* the text, the cursor, the end */
    int depth;                 /* arrays and objects open around p */
    const char *fail;          /* what stopped the parse; NULL = nothing */
    size_t fail_at;
    int oom;                   /* ... and it was ENOMEM */
    struct user_state *st;
    int64_t version;           /* the "v" read, 0 when absent */
    int have_version, have_user;
    unsigned keys_seen;        /* 1 << enum top_key */
    struct damage damage[TOP_COUNT];
    struct damage *dmg;        /* that of the key being read */
};

/* A string value as scanned: its body in the text and its length once
 * unescaped. */
struct str {
    const char *s;
    size_t raw, len;
    int plain; /* no escapes: the body is the text */
};

/* What read_atom found. */
enum atom { ATOM_NULL, ATOM_TRUE, ATOM_FALSE, ATOM_INT, ATOM_OTHER };

/* Stop the parse: the cursor jumps to the end, so every reader and loop
 * after this finds nothing more to read. Only the first error counts. */
static void fail(struct dec *d, const char *at, const char *what) {
    if (d->fail) return;
    d->fail = at < d->end ? what : "unexpected end";
    d->fail_at = (size_t)(at - d->buf);
    d->p = d->end;
}

static void nomem(struct dec *d) {
    d->oom = 1;
    fail(d, d->p, "out of memory");
}

/* Note a problem in the value of the current top-level key. */
static void spoil(struct dec *d, const char *at, const char *what) {
    if (!d->dmg->what) {
        d->dmg->what = what;
        d->dmg->at = (size_t)(at - d->buf);
    }
}

/* The next byte that is not whitespace (the cursor moves to it), or -1 at
 * the end. */
static int peek(struct dec *d) {
    while (d->p < d->end) {
        unsigned char ch = (unsigned char)*d->p;
        if (ch > ' ') return ch; /* always, in the encoder's compact text */
        if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t') return ch;
        d->p++;
    }
    return -1;
}

/* Where the next value starts, for messages. */
static const char *here(struct dec *d) {
    peek(d);
    return d->p;
}

/* The first byte of the value at the cursor, or -1 after a syntax error
 * (the end of the text, or a value nested deeper than jansson allowed:
 * it counted every value, the object around everything being 1). */
static int value_start(struct dec *d) {
    int ch = peek(d);
    if (d->fail) return -1;
    if (ch < 0) {
        fail(d, d->p, "unexpected end");
        return -1;
    }
    if (d->depth >= DEPTH_MAX) {
        fail(d, d->p, "nesting too deep");
        return -1;
    }
    return ch;
}

static int is_digit(int ch) {
    return ch >= '0' && ch <= '9';
}

/* ---- Decoding: scalars ---- */

/* The code unit of the 4 hex digits at p, or -1. */
static long hex4(const char *p, const char *end) {
    long v = 0;
    if (end - p < 4) return -1;
    for (int i = 0; i < 4; i++) {
        int ch = (unsigned char)p[i];
        int x = is_digit(ch) ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (x < 0) return -1;
        v = v << 4 | x;
    }
    return v;
}

/* The \u escape at p ("\uXXXX", or a surrogate pair "\uD83D\uDE00"): its
 * code point in *cp and its length in the text, or 0 when jansson refused
 * it (bad hex, a lone or reversed surrogate, \u0000). */
static int u_escape(const char *p, const char *end, long *cp) {
    long hi = hex4(p + 2, end), lo;
    if (hi <= 0 || (hi >= 0xDC00 && hi <= 0xDFFF)) return 0;
    if (hi < 0xD800 || hi > 0xDBFF) {
        *cp = hi;
        return 6;
    }
    if (end - p < 12 || p[6] != '\\' || p[7] != 'u') return 0;
    lo = hex4(p + 8, end);
    if (lo < 0xDC00 || lo > 0xDFFF) return 0;
    *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    return 12;
}

/* 1 when none of the 8 bytes at p needs a look: no '"', '\\', control
 * character or byte >= 0x80 (the "has a zero byte" trick of
 * graphics.stanford.edu/~seander/bithacks.html, exact for the question
 * "any?"). Strings are most of a state's bytes. */
static int plain8(const char *p) {
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t x, q, b;
    memcpy(&x, p, 8);
    q = x ^ ones * '"';
    b = x ^ ones * '\\';
    return !((x | (x - ones * 0x20) | ((q - ones) & ~q) | ((b - ones) & ~b)) &
             highs);
}

/* Checks the string whose opening quote is at the cursor and moves past
 * it, filling *s. 0, or -1 after a syntax error. */
static int scan_string(struct dec *d, struct str *s) {
    const char *p = d->p + 1, *end = d->end;
    size_t shrink = 0; /* bytes the escapes lose when unescaped */
    s->s = p;
    s->plain = 1;
    for (;;) {
        unsigned char ch;
        int n;
        long cp;
        /* The common case first: printable ASCII other than '"', '\\',
         * 8 bytes at a time while they last. */
        while (end - p >= 8 && plain8(p)) p += 8;
        while (p < end && (unsigned char)(*p - 0x20) < 0x60 && *p != '"' &&
               *p != '\\')
            p++;
        if (p >= end) {
            fail(d, d->p, "unterminated string");
            return -1;
        }
        ch = (unsigned char)*p;
        if (ch == '"') break;
        if (ch < 0x20) {
            fail(d, p, "control character in string");
            return -1;
        }
        if (ch >= 0x80) {
            if (!(n = utf8_seq(p, end))) {
                fail(d, p, "invalid UTF-8 in string");
                return -1;
            }
            p += n;
            continue;
        }
        s->plain = 0; /* a backslash */
        if (end - p >= 2 && p[1] == 'u' && (n = u_escape(p, end, &cp))) {
            p += n;
            shrink += (size_t)n - (size_t)utf8_len((uint32_t)cp);
            continue;
        }
        switch (end - p >= 2 ? p[1] : 0) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
        case 't':
            p += 2;
            shrink++;
            break;
        default:
            fail(d, p, "invalid escape in string");
            return -1;
        }
    }
    s->raw = (size_t)(p - s->s);
    s->len = s->raw - shrink;
    d->p = p + 1;
    return 0;
}

static void unescape(const struct str *s, char *out) {
    const char *p = s->s, *end = s->s + s->raw;
    if (s->plain) {
        memcpy(out, p, s->len);
        out[s->len] = '\0';
        return;
    }
    while (p < end) {
        long cp;
        if (*p != '\\') {
            *out++ = *p++;
            continue;
        }
        switch (p[1]) {
        case 'b': *out++ = '\b'; break;
        case 'f': *out++ = '\f'; break;
        case 'n': *out++ = '\n'; break;
        case 'r': *out++ = '\r'; break;
        case 't': *out++ = '\t'; break;
        case 'u':
            p += u_escape(p, end, &cp);
            out = utf8_put(out, (uint32_t)cp);
            continue;
        default: *out++ = p[1]; break; /* " \ / */
        }
        p += 2;
    }
    *out = '\0';
}

/* The string at the cursor (at its quote), unescaped into a malloc'd
 * copy; NULL after a syntax error or ENOMEM. */
static char *dup_string(struct dec *d) {
    struct str s;
    char *out;
    if (scan_string(d, &s) < 0) return NULL;
    if (!(out = malloc(s.len + 1))) {
        nomem(d);
        return NULL;
    }
    unescape(&s, out);
    return out;
}

/* 1 when the real number text [s, e) overflows a double, as jansson
 * checked with strtod (lib/ never calls setlocale, so '.' is the point). */
static int real_overflows(struct dec *d, const char *s, const char *e) {
    char small[64], *text = small;
    size_t n = (size_t)(e - s);
    double x;
    if (n >= sizeof(small) && !(text = malloc(n + 1))) {
        nomem(d);
        return 1;
    }
    memcpy(text, s, n);
    text[n] = '\0';
    x = strtod(text, NULL);
    if (text != small) free(text);
    return isinf(x);
}

/* The number at the cursor, as jansson lexed it: ATOM_INT with its value
 * in *v when it has no fraction or exponent (a syntax error when it does
 * not fit int64_t), else ATOM_OTHER (a real; one that overflows a double
 * is a syntax error too). -1 after a syntax error. */
static int scan_number(struct dec *d, int64_t *v) {
    const char *start = d->p, *p = d->p, *end = d->end;
    int neg = 0, big = 0;
    uint64_t mag = 0, limit;

    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p == end || !is_digit(*p)) goto bad;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (*p == '0') {
        if (++p < end && is_digit(*p)) goto bad; /* no leading zeros */
    } else {
        for (; p < end && is_digit(*p); p++) {
            unsigned dg = (unsigned)(*p - '0');
            /* Below INT64_MAX / 10 - 1 no digit can overflow: one compare
             * per digit for the usual numbers, the exact test beyond. */
            if (mag < (uint64_t)INT64_MAX / 10 - 1 || mag <= (limit - dg) / 10)
                mag = mag * 10 + dg;
            else
                big = 1; /* an error unless this turns out to be a real */
        }
    }
    if (p == end || (*p != '.' && *p != 'e' && *p != 'E')) {
        if (big) {
            fail(d, start, "integer out of range");
            return -1;
        }
        *v = neg && mag ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
        d->p = p;
        return ATOM_INT;
    }
    if (*p == '.') {
        if (++p == end || !is_digit(*p)) goto bad;
        while (p < end && is_digit(*p)) p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-')) p++;
        if (p == end || !is_digit(*p)) goto bad;
        while (p < end && is_digit(*p)) p++;
    }
    if (real_overflows(d, start, p)) {
        fail(d, start, "real number out of range");
        return -1;
    }
    d->p = p;
    return ATOM_OTHER;
bad:
    fail(d, start, "invalid value");
    return -1;
}

/* The literal word at the cursor, if it is the one expected. */
static int literal(struct dec *d, const char *word, size_t n, int atom) {
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n)) {
        fail(d, d->p, "invalid value");
        return -1;
    }
    d->p += n;
    return atom;
}

/* The scalar whose first byte is at the cursor: an enum atom (with *v for
 * ATOM_INT), or -1 after a syntax error. Strings are checked and skipped
 * (ATOM_OTHER). */
static int scan_scalar(struct dec *d, int64_t *v) {
    struct str s;
    switch (*d->p) {
    case '"': return scan_string(d, &s) < 0 ? -1 : ATOM_OTHER;
    case 'n': return literal(d, "null", 4, ATOM_NULL);
    case 't': return literal(d, "true", 4, ATOM_TRUE);
    case 'f': return literal(d, "false", 5, ATOM_FALSE);
    default: return scan_number(d, v);
    }
}

/* ---- Decoding: arrays and objects ---- */

/* Consume the '[' or '{' at the cursor. */
static void open_container(struct dec *d) {
    d->p++;
    d->depth++;
}

/* Before each element of a container opened by open_container (close is
 * ']' or '}'): 1 when one follows (the cursor is at it), 0 after
 * consuming the closer, and 0 after a syntax error, so that every loop
 * ends. *n counts the elements. */
static int container_next(struct dec *d, int *n, char close) {
    int ch = peek(d);
    if (d->fail) return 0;
    if (ch == close) {
        d->p++;
        d->depth--;
        return 0;
    }
    if (*n > 0) {
        if (ch != ',') {
            fail(d, d->p, close == ']' ? "expected ',' or ']'"
                                       : "expected ',' or '}'");
            return 0;
        }
        d->p++; /* a value must follow: "[1,]" fails in the reader */
    }
    (*n)++;
    return 1;
}

static int arr_next(struct dec *d, int *n) { return container_next(d, n, ']'); }

/* The key of an object member and its ':', the cursor at the key's quote
 * (after whitespace). 0, or -1 after a syntax error. */
static int member_key(struct dec *d, struct str *key) {
    if (peek(d) != '"') {
        fail(d, d->p, "expected a key");
        return -1;
    }
    if (scan_string(d, key) < 0) return -1;
    if (peek(d) != ':') {
        fail(d, d->p, "expected ':'");
        return -1;
    }
    d->p++;
    return 0;
}

/* Like arr_next, for the members of an object: 1 with the member's key in
 * *key and the cursor at its value. */
static int obj_next(struct dec *d, int *n, struct str *key) {
    if (!container_next(d, n, '}')) return 0;
    return member_key(d, key) < 0 ? 0 : 1;
}

/* Checks and skips the value at the cursor, whatever it is. Nested arrays
 * and objects are walked in a loop rather than by recursion, so hostile
 * nesting costs no C stack; in_obj keeps one bit per open level. */
static void skip_value(struct dec *d) {
    unsigned char in_obj[DEPTH_MAX / 8 + 1];
    int base = d->depth;
    struct str key;
    int64_t v;

    for (;;) {
        int ch = value_start(d), lvl = d->depth - base;
        if (ch < 0) return;
        if (ch == '[' || ch == '{') {
            int obj = ch == '{';
            if (obj)
                in_obj[lvl / 8] |= (unsigned char)(1u << lvl % 8);
            else
                in_obj[lvl / 8] &= (unsigned char)~(1u << lvl % 8);
            open_container(d);
            if (peek(d) != (obj ? '}' : ']')) {
                if (obj && member_key(d, &key) < 0) return;
                continue; /* on to its first element */
            }
            d->p++; /* empty: a complete value */
            d->depth--;
        } else if (scan_scalar(d, &v) < 0) {
            return;
        }
        /* A value is complete: close what it ends, go on to the next. */
        for (;;) {
            int obj;
            if (d->depth == base) return;
            lvl = d->depth - 1 - base;
            obj = in_obj[lvl / 8] >> lvl % 8 & 1;
            ch = peek(d);
            if (ch == ',') {
                d->p++;
                if (obj && member_key(d, &key) < 0) return;
                break;
            }
            if (ch != (obj ? '}' : ']')) {
                fail(d, d->p,
                     obj ? "expected ',' or '}'" : "expected ',' or ']'");
                return;
            }
            d->p++;
            d->depth--;
        }
    }
}

/* Open the array at the cursor; a value that is not an array is skipped
 * (the old decoder ignored it) and 0 returned. */
static int open_array(struct dec *d) {
    if (value_start(d) != '[') {
        skip_value(d);
        return 0;
    }
    open_container(d);
    return 1;
}

/* Reads any value: an enum atom, with *v the integer for ATOM_INT and 0
 * otherwise; strings, reals, arrays and objects are checked, skipped and
 * are ATOM_OTHER. -1 after a syntax error. */
static int read_atom(struct dec *d, int64_t *v) {
    int ch = value_start(d);
    *v = 0;
    if (ch < 0) return -1;
    if (ch == '[' || ch == '{') {
        skip_value(d);
        return d->fail ? -1 : ATOM_OTHER;
    }
    return scan_scalar(d, v);
}

/* ---- Decoding: typed fields ---- */

/* An integer field. With nullable (a time), null reads as TIME_NONE. Any
 * other value spoils the key. */
static int64_t get_int(struct dec *d, int nullable) {
    const char *at = here(d);
    int64_t v;
    int atom = read_atom(d, &v);
    if (atom == ATOM_INT) return v;
    if (atom == ATOM_NULL && nullable) return TIME_NONE;
    if (atom >= 0)
        spoil(d, at, nullable ? "expected an integer or null"
                              : "expected an integer");
    return 0;
}

/* Where the old decoder took any value and read a non-integer as 0
 * (json_integer_value): call window numbers, seen times. */
static int64_t get_loose_int(struct dec *d) {
    int64_t v;
    read_atom(d, &v);
    return v;
}

/* A string field: malloc'd, NULL for null. Any other value spoils the
 * key and reads as NULL. */
static char *get_str(struct dec *d) {
    const char *at = here(d);
    int64_t v;
    int atom;
    if (value_start(d) == '"') return dup_string(d);
    atom = read_atom(d, &v);
    if (atom >= 0 && atom != ATOM_NULL)
        spoil(d, at, "expected a string or null");
    return NULL;
}

/* The positional fields of one array (a task, a repeat timer, "cd"): a
 * field missing at the end, as written by an older version, reads as its
 * zero value. */
struct fields {
    struct dec *d;
    int n;    /* elements stepped over */
    int open; /* 1 until the ']' is consumed */
};

/* A value that is no array spoils the key and reads as all missing. */
static void fields_open(struct fields *r, struct dec *d) {
    int ch = value_start(d);
    r->d = d;
    r->n = 0;
    r->open = ch == '[';
    if (r->open) {
        open_container(d);
    } else if (ch >= 0) {
        spoil(d, d->p, "expected an array");
        skip_value(d);
    }
}

/* 1 when another field follows, the cursor at it. */
static int fields_next(struct fields *r) {
    if (r->open) r->open = arr_next(r->d, &r->n);
    return r->open;
}

/* Skip the fields of a newer version. */
static void fields_close(struct fields *r) {
    while (fields_next(r)) skip_value(r->d);
}

static int64_t field_int(struct fields *r) {
    return fields_next(r) ? get_int(r->d, 0) : 0;
}

/* An integer field added later, whose absence means `missing`. */
static int64_t field_int_or(struct fields *r, int64_t missing) {
    return fields_next(r) ? get_int(r->d, 0) : missing;
}

static int64_t field_time(struct fields *r) {
    return fields_next(r) ? get_int(r->d, 1) : TIME_NONE;
}

static char *field_str(struct fields *r) {
    return fields_next(r) ? get_str(r->d) : NULL;
}

/* A string into a fixed buffer, truncated to fit like the snprintf of the
 * old decoder, but never inside a UTF-8 sequence (the cut state must
 * encode to text this decoder reads back); "" for null or missing. Only
 * foreign text is too long, so that case may take a temporary copy. */
static void field_id(struct fields *r, char *out, size_t size) {
    struct str s;
    char *tmp;
    out[0] = '\0';
    if (!fields_next(r)) return;
    if (value_start(r->d) != '"') {
        get_str(r->d); /* null, or spoils; NULL either way */
        return;
    }
    if (scan_string(r->d, &s) < 0) return;
    if (s.len < size) {
        unescape(&s, out);
    } else if ((tmp = malloc(s.len + 1))) {
        unescape(&s, tmp);
        size_t n = size - 1; /* tmp[n], the first byte left out */
        while (n > 0 && ((unsigned char)tmp[n] & 0xC0) == 0x80) n--;
        memcpy(out, tmp, n);
        out[n] = '\0';
        free(tmp);
    } else {
        nomem(r->d);
    }
}

/* ---- Decoding: the state ---- */

/* Room for n elements in *arr (*cap allocated); doubling from 8. */
static int reserve(struct dec *d, void **arr, int n, int *cap, size_t size) {
    void *na;
    int ncap = *cap ? *cap : 8;
    if (n <= *cap) return 0;
    while (ncap < n) ncap *= 2;
    if (!(na = realloc(*arr, size * (size_t)ncap))) {
        nomem(d);
        return -1;
    }
    *arr = na;
    *cap = ncap;
    return 0;
}

static void get_followup(struct dec *d) {
    const char *at = here(d);
    struct followup *f = user_state_add_followup(d->st);
    struct fields r;
    if (!f) {
        nomem(d);
        return;
    }
    fields_open(&r, d);
    field_id(&r, f->task_id, sizeof(f->task_id));
    f->rule_id = field_str(&r);
    f->trigger_event_id = field_str(&r);
    f->trigger_type = field_str(&r);
    f->trigger_at = field_int(&r);
    f->occurrence = (int)field_int(&r);
    f->attempt = (int)field_int(&r);
    f->reschedules = (int)field_int(&r);
    f->planned = field_int(&r);
    f->expires_at = field_int(&r);
    f->due_at = field_int(&r);
    f->not_after = field_int(&r);
    f->seq = (uint64_t)field_int(&r);
    f->status = (int)field_int(&r);
    f->emitted_at = field_time(&r);
    f->priority = (int)field_int(&r);
    f->script = field_str(&r);
    f->context_json = field_str(&r);
    field_id(&r, f->policy_version, sizeof(f->policy_version));
    f->reminder_status = (int)field_int(&r);
    field_id(&r, f->reminder_id, sizeof(f->reminder_id));
    f->reminder_channel = field_str(&r);
    f->reminder_template = field_str(&r);
    f->reminder_at = field_int(&r);
    f->reminder_seq = (uint64_t)field_int(&r);
    f->kind = (int)field_int(&r); /* before v3: 0, a call */
    f->message_channel = field_str(&r);
    f->message_template = field_str(&r);
    f->waiting = field_int(&r) != 0; /* spec 4.3; absent: not waiting */
    fields_close(&r);
    if (!f->rule_id || !f->trigger_event_id || !f->trigger_type)
        spoil(d, at, "task without rule, trigger event or trigger type");
    if (f->reminder_status != REMINDER_NONE && !f->reminder_channel)
        spoil(d, at, "reminder without a channel");
    if (f->kind != FOLLOWUP_CALL && f->kind != FOLLOWUP_MESSAGE)
        spoil(d, at, "follow-up of an unknown kind");
    else if (f->kind == FOLLOWUP_MESSAGE &&
             (!f->message_channel || !f->message_template))
        spoil(d, at, "message without a channel or template");
}

static void get_repeat(struct dec *d) {
    const char *at = here(d);
    struct repeat_timer *t = user_state_add_repeat(d->st);
    struct fields r;
    if (!t) {
        nomem(d);
        return;
    }
    fields_open(&r, d);
    t->rule_id = field_str(&r);
    t->trigger_event_id = field_str(&r);
    t->trigger_type = field_str(&r);
    t->trigger_at = field_int(&r);
    t->context_json = field_str(&r);
    t->occurrence = (int)field_int(&r);
    t->nominal = field_int(&r);
    t->decide_at = field_int(&r);
    t->seq = (uint64_t)field_int(&r);
    t->priority = (int)field_int_or(&r, -1); /* v1: the rule's */
    t->kind = (int)field_int(&r);             /* before v3: 0, calls */
    fields_close(&r);
    if (!t->rule_id || !t->trigger_event_id || !t->trigger_type)
        spoil(d, at, "repeat without rule, trigger event or trigger type");
    else if (t->kind != FOLLOWUP_CALL && t->kind != FOLLOWUP_MESSAGE)
        spoil(d, at, "repeat of an unknown kind");
}

/* "f", "r": a value that is not an array was ignored, as an empty list. */
static void get_list(struct dec *d, void (*get_item)(struct dec *)) {
    int n = 0;
    if (!open_array(d)) return;
    while (arr_next(d, &n)) get_item(d);
}

/* "s": [event id, decided at, ...]. An odd last element was never
 * looked at, and a time of the wrong type read as 0. */
static void get_seen(struct dec *d) {
    struct user_state *st = d->st;
    int n = 0;
    if (!open_array(d)) return;
    while (arr_next(d, &n)) {
        const char *at = here(d);
        char *id = NULL;
        int64_t t;
        if (value_start(d) == '"')
            id = dup_string(d);
        else
            skip_value(d);
        if (!arr_next(d, &n)) {
            free(id);
            break;
        }
        t = get_loose_int(d);
        if (!id) {
            if (!d->fail) spoil(d, at, "seen event id is not a string");
        } else if (reserve(d, (void **)&st->seen, st->nseen + 1, &st->capseen,
                           sizeof(*st->seen)) < 0) {
            free(id);
        } else {
            st->seen[st->nseen].event_id = id;
            st->seen[st->nseen++].decided_at = t;
        }
    }
}

/* "co": the channels turned off, each once (user_state_set_channel). A
 * value that is not an array was ignored. */
static void get_channels_off(struct dec *d) {
    struct user_state *st = d->st;
    int n = 0;
    if (!open_array(d)) return;
    while (arr_next(d, &n)) {
        const char *at = here(d);
        char *ch, **nl;
        if (value_start(d) != '"') {
            spoil(d, at, "channel is not a string");
            skip_value(d);
            continue;
        }
        if (!(ch = dup_string(d))) continue;
        if (!user_state_channel_on(st, ch)) {
            free(ch);
            continue;
        }
        nl = realloc(st->channels_off,
                     sizeof(char *) * (size_t)(st->nchannels_off + 1));
        if (!nl) {
            free(ch);
            nomem(d);
            continue;
        }
        st->channels_off = nl;
        st->channels_off[st->nchannels_off++] = ch;
    }
}

/* "cd": [cooldown from, cooldown until, prefs at]; a value that is not an
 * array was ignored. */
static void get_cooldown(struct dec *d) {
    struct user_state *st = d->st;
    struct fields r;
    if (value_start(d) != '[') {
        skip_value(d);
        return;
    }
    fields_open(&r, d);
    st->cooldown_from = field_time(&r);
    st->cooldown_until = field_time(&r);
    st->prefs_at = field_time(&r);
    fields_close(&r);
}

/* The ranges of a call window: [start, end, start, end, ...]. */
static void get_ranges(struct dec *d, struct window *w) {
    const char *at = here(d);
    int n = 0;
    if (value_start(d) != '[') {
        spoil(d, at, "call window ranges are not an array");
        skip_value(d);
        return;
    }
    open_container(d);
    while (arr_next(d, &n)) {
        const char *range_at = here(d);
        int start = (int)get_loose_int(d), end;
        if (!arr_next(d, &n)) {
            spoil(d, at, "call window ranges have an odd count");
            break;
        }
        end = (int)get_loose_int(d);
        if (window_add_range(w, start, end) < 0)
            spoil(d, range_at, "invalid call window range");
    }
}

/* The excluded dates of a call window, kept sorted and unique as by
 * window_exclude_date. The encoder writes them that way, so they are
 * taken as read, in one allocation; other orders go through
 * window_exclude_date. */
static void get_exclusions(struct dec *d, struct window *w) {
    const char *at = here(d);
    int n = 0, cap = 0, sorted = 1;
    int64_t *ex = NULL;
    if (value_start(d) != '[') {
        spoil(d, at, "call window dates are not an array");
        skip_value(d);
        return;
    }
    open_container(d);
    while (arr_next(d, &n)) {
        int64_t day = get_loose_int(d);
        if (reserve(d, (void **)&ex, n, &cap, sizeof(*ex)) < 0) break;
        if (n > 1 && day <= ex[n - 2]) sorted = 0;
        ex[n - 1] = day;
    }
    if (sorted && !d->fail) {
        w->exclude = ex;
        w->nexclude = n;
        return;
    }
    for (int i = 0; i < n && !d->fail; i++)
        if (window_exclude_date(w, ex[i]) < 0) nomem(d);
    free(ex);
}

/* "cw": null, or [days, ranges, excluded dates]; a window that never
 * opens is refused. */
static void get_call_window(struct dec *d) {
    struct window *w = &d->st->call_window;
    const char *at = here(d);
    struct fields r;
    int atom;
    int64_t v;
    if (value_start(d) != '[') { /* null: no window of the user's own */
        atom = read_atom(d, &v);
        if (atom >= 0 && atom != ATOM_NULL)
            spoil(d, at, "call window is not an array");
        return;
    }
    fields_open(&r, d);
    if (fields_next(&r)) w->days = (uint8_t)get_loose_int(d);
    if (fields_next(&r)) get_ranges(d, w);
    if (fields_next(&r)) get_exclusions(d, w);
    if (r.n < 3) spoil(d, at, "call window is not [days, ranges, dates]");
    fields_close(&r);
    d->st->has_call_window = 1;
    if (window_never_opens(w)) spoil(d, at, "call window never opens");
}

/* A key given again replaces what its earlier value set, as jansson
 * kept only the last value of a key. */
static void forget(struct dec *d, int k) {
    struct user_state *st = d->st;
    switch (k) {
    case TOP_V:
        d->have_version = 0;
        d->version = 0;
        break;
    case TOP_U: d->have_user = 0; break;
    case TOP_TZ:
        free(st->timezone);
        st->timezone = NULL;
        break;
    case TOP_CW:
        window_release(&st->call_window);
        window_init(&st->call_window);
        st->has_call_window = 0;
        break;
    case TOP_OO: st->opted_out = 0; break;
    case TOP_CO:
        while (st->nchannels_off > 0)
            free(st->channels_off[--st->nchannels_off]);
        break;
    case TOP_CD:
        st->cooldown_from = st->cooldown_until = st->prefs_at = TIME_NONE;
        break;
    case TOP_S:
        while (st->nseen > 0) free(st->seen[--st->nseen].event_id);
        break;
    case TOP_F:
        while (st->nfollowups > 0)
            followup_release(&st->followups[--st->nfollowups]);
        break;
    case TOP_R:
        while (st->nrepeats > 0)
            repeat_timer_release(&st->repeats[--st->nrepeats]);
        break;
    }
    d->damage[k].what = NULL;
}

/* The value of top-level key k, at the cursor. */
static void get_member(struct dec *d, int k) {
    struct user_state *st = d->st;
    int64_t v;
    int atom;
    char *s;

    switch (k) {
    case TOP_V:
        d->have_version = read_atom(d, &v) == ATOM_INT;
        d->version = v;
        break;
    case TOP_U: /* anything but a string: no user */
        if (value_start(d) != '"') {
            skip_value(d);
        } else if ((s = dup_string(d))) {
            free(st->user_id);
            st->user_id = s;
            d->have_user = 1;
        }
        break;
    case TOP_TZ: /* anything but a string: the policy's zone */
        if (value_start(d) == '"')
            st->timezone = dup_string(d);
        else
            skip_value(d);
        break;
    case TOP_CW: get_call_window(d); break;
    case TOP_OO: /* true or a non-zero integer; anything else is "no" */
        atom = read_atom(d, &v);
        st->opted_out = atom == ATOM_TRUE || (atom == ATOM_INT && v != 0);
        break;
    case TOP_CS: /* CONSENT_*; anything else is "never given" */
        atom = read_atom(d, &v);
        st->consent = atom == ATOM_INT && v >= 0 && v <= CONSENT_WITHDRAWN
                          ? (int)v
                          : CONSENT_UNKNOWN;
        break;
    case TOP_FB: /* FOLLOW_UP_*; anything else is "no preference" */
        atom = read_atom(d, &v);
        st->follow_up_by =
            atom == ATOM_INT && v >= 0 && v <= FOLLOW_UP_MESSAGE ? (int)v
                                                                 : FOLLOW_UP_ANY;
        break;
    case TOP_CO: get_channels_off(d); break;
    case TOP_CD: get_cooldown(d); break;
    case TOP_S: get_seen(d); break;
    case TOP_F: get_list(d, get_followup); break;
    case TOP_R: get_list(d, get_repeat); break;
    }
}

/* Which top-level key s is, or -1 for one this version does not know. */
static int top_key(const struct str *s) {
    char name[3] = "";
    if (s->len >= sizeof(name)) return -1; /* every known key is short */
    unescape(s, name);
    for (int k = 0; k < TOP_COUNT; k++)
        if (!memcmp(name, top_names[k], sizeof(name))) return k;
    return -1;
}

static void get_root(struct dec *d) {
    struct str key;
    int n = 0;
    if (value_start(d) != '{') {
        fail(d, d->p, "expected an object");
        return;
    }
    open_container(d);
    while (obj_next(d, &n, &key)) {
        int k = top_key(&key);
        if (k < 0) {
            skip_value(d);
            continue;
        }
        if (d->keys_seen & 1u << k) forget(d, k);
        d->keys_seen |= 1u << k;
        d->dmg = &d->damage[k];
        get_member(d, k);
    }
    if (peek(d) >= 0) fail(d, d->p, "text after the object");
}

/* The damage first in the text, or NULL. */
static const struct damage *first_damage(const struct dec *d, int *key) {
    const struct damage *best = NULL;
    for (int k = 0; k < TOP_COUNT; k++)
        if (d->damage[k].what && (!best || d->damage[k].at < best->at)) {
            best = &d->damage[k];
            *key = k;
        }
    return best;
}

/* Errors are checked in the order of the old decoder, so the message
 * names the same kind of trouble: syntax, then version and user, then
 * the fields. The new state starts with user id "" (user_state_new is
 * the one constructor); "u" replaces it. */
struct user_state *state_decode(const char *buf, size_t len,
                                struct fu_err *err) {
    struct dec d;
    const struct damage *dm;
    int key = 0;

    memset(&d, 0, sizeof(d));
    d.buf = d.p = buf;
    d.end = buf + len;
    d.dmg = &d.damage[TOP_V];
    if (!(d.st = user_state_new(""))) {
        fu_err_set(err, FU_ENOMEM, "out of memory");
        return NULL;
    }
    get_root(&d);
    if (d.oom)
        fu_err_set(err, FU_ENOMEM, "out of memory");
    else if (d.fail)
        fu_err_set(err, FU_EFATAL,
                   "stored user state is not in format v%d: %s at byte %zu",
                   CODEC_VERSION, d.fail, d.fail_at);
    else if (!d.have_version)
        fu_err_set(err, FU_EFATAL,
                   "stored user state is not in format v%d: no version",
                   CODEC_VERSION);
    else if (d.version < CODEC_OLDEST || d.version > CODEC_VERSION)
        fu_err_set(err, FU_EFATAL,
                   "stored user state is not in format v%d: version %lld",
                   CODEC_VERSION, (long long)d.version);
    else if (!d.have_user)
        fu_err_set(err, FU_EFATAL,
                   "stored user state is not in format v%d: no user id",
                   CODEC_VERSION);
    else if ((dm = first_damage(&d, &key)))
        fu_err_set(err, FU_EFATAL,
                   "stored user state is damaged: %s in '%s' at byte %zu",
                   dm->what, top_names[key], dm->at);
    else
        return d.st;
    user_state_free(d.st);
    return NULL;
}
