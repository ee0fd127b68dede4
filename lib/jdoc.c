/* jdoc.c -- JSON text -> a read-only tree in an arena (see jdoc.h).
 *
 * A recursive-descent parser over the bytes. Nodes and strings are carved
 * from chunks that grow by doubling from about twice the input's size, so
 * a typical event costs one malloc and one free. Error positions are
 * worked out only when there is an error (lines and columns are never
 * tracked on the fast path); they follow jansson's, which the dead-letter
 * reasons were written against: the column of the last code point of the
 * offending token. */
#include "jdoc.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* Objects up to this many members check a new key against the others at
 * once; bigger ones are checked by sorting when they close, so a hostile
 * 64 KiB object of distinct keys costs n log n, not n^2. */
#define LINEAR_KEYS 16

struct jdoc_chunk {
    struct jdoc_chunk *next;
    size_t used, cap;
    uint64_t data[]; /* 8-byte aligned */
};

struct parser {
    const char *buf, *p, *end;
    int depth;
    size_t next_cap; /* bytes of the next chunk */
    struct jdoc *doc;
    struct jdoc_error *err;
};

/* ---- Arena ---- */

static void *arena_alloc(struct parser *ps, size_t n) {
    struct jdoc_chunk *c = ps->doc->chunks;
    void *mem;

    n = (n + 7) & ~(size_t)7;
    if (!c || c->cap - c->used < n) {
        size_t cap = ps->next_cap > n ? ps->next_cap : n;

        if (!(c = malloc(sizeof(*c) + cap))) return NULL;
        c->next = ps->doc->chunks;
        c->used = 0;
        c->cap = cap;
        ps->doc->chunks = c;
        ps->next_cap = cap * 2;
    }
    mem = (char *)c->data + c->used;
    c->used += n;
    return mem;
}

/* ---- Errors ---- */

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_letter(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Whether the string token at p has its closing quote before end. */
static int string_closes(const char *p, const char *end) {
    for (p++; p < end; p++) {
        if (*p == '"') return 1;
        if (*p == '\\') p++;
    }
    return 0;
}

static const char *skip_digits(const char *p, const char *end) {
    while (p < end && is_digit((unsigned char)*p)) p++;
    return p;
}

/* Just past what a lexer reads of a number at p before it sees the
 * number end or go wrong (jansson's lex_scan_number). */
static const char *number_end(const char *p, const char *end) {
    if (p < end && *p == '-') p++;
    if (p < end && *p == '0') {
        if (++p < end && is_digit((unsigned char)*p)) return p;
    } else if (p < end && is_digit((unsigned char)*p)) {
        p = skip_digits(p, end);
    } else {
        return p;
    }
    if (p < end && *p == '.') {
        if (++p == end || !is_digit((unsigned char)*p)) return p;
        p = skip_digits(p, end);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-')) p++;
        p = skip_digits(p, end);
    }
    return p;
}

/* Just past the token that starts at p, as a lexer would read it: a
 * string, a run of letters, a number-like run, or one code point. */
static const char *token_end(const char *p, const char *end) {
    if (*p == '"') {
        for (p++; p < end && *p != '"'; p++)
            if (*p == '\\' && p + 1 < end) p++;
        return p < end ? p + 1 : end;
    }
    if (is_letter((unsigned char)*p)) {
        while (p < end && is_letter((unsigned char)*p)) p++;
        return p;
    }
    if (is_digit((unsigned char)*p) || *p == '-') return number_end(p, end);
    do p++;
    while (p < end && ((unsigned char)*p & 0xC0) == 0x80);
    return p;
}

/* The first invalid UTF-8 sequence that starts in [p, stop), or NULL. */
static const char *first_bad_utf8(const char *p, const char *stop,
                                  const char *end) {
    for (; p < stop; p++)
        if ((unsigned char)*p >= 0x80) {
            int n = utf8_seq(p, end);

            if (!n) return p;
            p += n - 1;
        }
    return NULL;
}

/* Record the first error, located just before `at` (one past the last
 * byte read); `read_to` is as far as a lexer has looked. jansson checks
 * UTF-8 as it reads each byte, so an invalid sequence it would have read
 * on the way to this error is the error instead. Always returns -1. */
static int fail_read(struct parser *ps, enum jdoc_error_code code,
                     const char *at, const char *read_to) {
    const char *line_start = ps->buf, *bad;
    int line = 1, column = 0;

    if (ps->err->code != JDOC_OK) return -1;
    if (code != JDOC_ENOMEM &&
        (bad = first_bad_utf8(ps->buf, read_to, ps->end))) {
        code = JDOC_EUTF8;
        at = bad;
    }
    for (const char *q = ps->buf; q < at; q++)
        if (*q == '\n') line++, line_start = q + 1;
    for (const char *q = line_start; q < at; q++)
        if (((unsigned char)*q & 0xC0) != 0x80) column++;
    ps->err->code = code;
    ps->err->line = line;
    ps->err->column = column;
    return -1;
}

static int fail(struct parser *ps, enum jdoc_error_code code,
                const char *at) {
    return fail_read(ps, code, at, at);
}

/* An error in a word or a number: a lexer has read the byte after it
 * to know where it ends. */
static int fail_word(struct parser *ps, enum jdoc_error_code code,
                     const char *at) {
    return fail_read(ps, code, at, at < ps->end ? at + 1 : at);
}

static int nomem(struct parser *ps) { return fail(ps, JDOC_ENOMEM, ps->p); }

/* The token at p is wrong here: `code`, unless it is a string the input
 * ends inside (a lexer reads it whole first). */
static int bad_token(struct parser *ps, const char *p,
                     enum jdoc_error_code code) {
    const char *e = token_end(p, ps->end);

    if (*p == '"') {
        if (!string_closes(p, ps->end)) code = JDOC_EEOF;
        return fail(ps, code, e);
    }
    if (is_letter((unsigned char)*p) || is_digit((unsigned char)*p) ||
        *p == '-')
        return fail_word(ps, code, e);
    return fail(ps, code, e);
}

/* The byte at ps->p cannot start what the grammar wants here. */
static int unexpected(struct parser *ps) {
    if (ps->p == ps->end) return fail(ps, JDOC_EEOF, ps->p);
    if ((unsigned char)*ps->p >= 0x80 && !utf8_seq(ps->p, ps->end))
        return fail(ps, JDOC_EUTF8, ps->p);
    return bad_token(ps, ps->p, JDOC_ESYNTAX);
}

static void skip_space(struct parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' ||
                               *ps->p == '\t' || *ps->p == '\r'))
        ps->p++;
}

/* ---- Strings ---- */

#define BAD_UNICODE 0x110000u /* a lone or mismatched surrogate */

/* Four hex digits at p; otherwise the number of good digits before the
 * first bad one or the end, negated minus one. */
static int hex4(const char *p, const char *end, uint32_t *cp) {
    *cp = 0;
    for (int i = 0; i < 4; i++) {
        int c = p + i < end ? (unsigned char)p[i] : -1, d;

        if (is_digit(c)) d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -i - 1;
        *cp = (*cp << 4) | (uint32_t)d;
    }
    return 0;
}

/* The escape at *pp (a backslash): checks it, moves past it and gives
 * the code point it stands for (a surrogate pair is one). A surrogate
 * that is not part of a pair gives BAD_UNICODE: like \u0000, jansson
 * finds those only once the whole string has been read. */
static int scan_escape(struct parser *ps, const char **pp, uint32_t *cp) {
    const char *p = *pp + 1, *end = ps->end;
    uint32_t lo;
    int bad;

    if (p == end) return fail(ps, JDOC_ESYNTAX, p);
    if (*p != 'u') {
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *hit = memchr(from, *p, sizeof(from) - 1);

        if (!hit) return fail(ps, JDOC_ESYNTAX, p + 1);
        *cp = (unsigned char)to[hit - from];
        *pp = p + 1;
        return 0;
    }
    if ((bad = hex4(p + 1, end, cp)) < 0) {
        const char *at = p + 1 - bad - 1; /* the first non-digit */

        return at >= end ? fail(ps, JDOC_EEOF, end)
                         : fail(ps, JDOC_ESYNTAX, at + 1);
    }
    p += 5;
    if (*cp >= 0xDC00 && *cp <= 0xDFFF) *cp = BAD_UNICODE;
    if (*cp >= 0xD800 && *cp <= 0xDBFF) {
        if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
            hex4(p + 2, end, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
            *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
        } else {
            *cp = BAD_UNICODE;
        }
    }
    *pp = p;
    return 0;
}

/* raw[0..n) holds checked escapes: write what they stand for. */
static size_t unescape(struct parser *ps, const char *raw, size_t n,
                       char *out) {
    const char *p = raw, *end = raw + n;
    char *o = out;

    while (p < end) {
        const char *esc = memchr(p, '\\', (size_t)(end - p));
        uint32_t cp;

        if (!esc) esc = end;
        memcpy(o, p, (size_t)(esc - p));
        o += esc - p;
        if (esc == end) break;
        p = esc;
        scan_escape(ps, &p, &cp); /* checked once already: cannot fail */
        o = utf8_put(o, cp);
    }
    return (size_t)(o - out);
}

/* The string at ps->p (a quote), NUL-terminated in the arena. jansson
 * reads a whole string before it refuses \u0000 or a lone surrogate, so
 * do we: any other error in the string comes first. */
static int parse_string(struct parser *ps, const char **out, uint32_t *len) {
    const char *start = ps->p + 1, *p = start, *end = ps->end;
    int escaped = 0;
    enum jdoc_error_code late = JDOC_OK; /* the first \u0000 or surrogate */
    char *s;

    for (;;) {
        unsigned char c;

        if (p == end) return fail(ps, JDOC_EEOF, p);
        c = (unsigned char)*p;
        if (c == '"') break;
        if (c == '\\') {
            uint32_t cp;

            if (scan_escape(ps, &p, &cp) < 0) return -1;
            escaped = 1;
            if (!late && (cp == 0 || cp == BAD_UNICODE))
                late = cp == 0 ? JDOC_ENUL : JDOC_ESYNTAX;
        } else if (c < 0x20) {
            return fail(ps, JDOC_ESYNTAX, p);
        } else if (c < 0x80) {
            p++;
        } else {
            int n = utf8_seq(p, end);

            if (!n) return fail(ps, JDOC_EUTF8, p);
            p += n;
        }
    }
    ps->p = p + 1;
    if (late) return fail(ps, late, ps->p);
    if ((size_t)(p - start) > UINT32_MAX - 1) return fail(ps, JDOC_ERANGE, p);
    if (!(s = arena_alloc(ps, (size_t)(p - start) + 1))) return nomem(ps);
    if (escaped) {
        *len = (uint32_t)unescape(ps, start, (size_t)(p - start), s);
    } else {
        memcpy(s, start, (size_t)(p - start));
        *len = (uint32_t)(p - start);
    }
    s[*len] = '\0';
    *out = s;
    return 0;
}

/* ---- Numbers and words ---- */

static int number_value(struct parser *ps, const char *s, size_t n,
                        int real, struct jnode *v) {
    if (!real) {
        int neg = *s == '-';
        uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        uint64_t acc = 0;

        for (size_t i = neg; i < n; i++) {
            unsigned d = (unsigned)(s[i] - '0');

            if (acc > (limit - d) / 10)
                return fail_word(ps, JDOC_ERANGE, s + n);
            acc = acc * 10 + d;
        }
        v->type = JDOC_INT;
        v->u.i = neg ? (int64_t)(0 - acc) : (int64_t)acc;
        return 0;
    }
    char small[64], *text = n < sizeof(small) ? small : arena_alloc(ps, n + 1);

    if (!text) return nomem(ps);
    memcpy(text, s, n);
    text[n] = '\0';
    v->type = JDOC_REAL;
    v->u.d = strtod(text, NULL);
    if (isinf(v->u.d)) return fail_word(ps, JDOC_ERANGE, s + n);
    return 0;
}

static int parse_number(struct parser *ps, struct jnode *v) {
    const char *s = ps->p, *p = s, *end = ps->end;
    int real = 0;

    if (*p == '-') p++;
    if (p == end || !is_digit((unsigned char)*p))
        return fail_word(ps, JDOC_ESYNTAX, p);
    p = *p == '0' ? p + 1 : skip_digits(p, end);
    if (p < end && is_digit((unsigned char)*p)) /* a leading zero */
        return fail_word(ps, JDOC_ESYNTAX, p);
    if (p < end && *p == '.') {
        real = 1;
        if (++p == end || !is_digit((unsigned char)*p))
            return fail_word(ps, JDOC_ESYNTAX, p);
        p = skip_digits(p, end);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = 1;
        if (++p < end && (*p == '+' || *p == '-')) p++;
        if (p == end || !is_digit((unsigned char)*p))
            return fail_word(ps, JDOC_ESYNTAX, p);
        p = skip_digits(p, end);
    }
    ps->p = p;
    return number_value(ps, s, (size_t)(p - s), real, v);
}

static int parse_word(struct parser *ps, struct jnode *v) {
    const char *s = ps->p, *e = token_end(s, ps->end);
    size_t n = (size_t)(e - s);

    if (!is_letter((unsigned char)*s)) return unexpected(ps);
    if (n == 4 && !memcmp(s, "true", 4)) v->type = JDOC_TRUE;
    else if (n == 5 && !memcmp(s, "false", 5)) v->type = JDOC_FALSE;
    else if (n == 4 && !memcmp(s, "null", 4)) v->type = JDOC_NULL;
    else return fail_word(ps, JDOC_ESYNTAX, e);
    ps->p = e;
    return 0;
}

/* ---- Containers ---- */

static int parse_value(struct parser *ps, struct jnode *v);
static int parse_token(struct parser *ps, struct jnode *v);

static struct jnode *new_node(struct parser *ps) {
    struct jnode *n = arena_alloc(ps, sizeof(*n));

    if (n) memset(n, 0, sizeof(*n));
    else nomem(ps);
    return n;
}

/* After an element: 1 at a comma, 0 at the closing bracket, -1 else. */
static int next_element(struct parser *ps, char close) {
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        return 1;
    }
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    return unexpected(ps);
}

/* Opens a container at ps->p; 1 when it is empty (and closed), 0 when an
 * element follows, -1 on error. */
static int open_container(struct parser *ps, struct jnode *v, int type,
                          char close) {
    v->type = (unsigned char)type;
    ps->p++;
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 1;
    }
    return 0;
}

static int parse_array(struct parser *ps, struct jnode *v) {
    struct jnode **tail = &v->u.first;
    int more = open_container(ps, v, JDOC_ARRAY, ']');

    if (more != 0) return more < 0 ? -1 : 0;
    do {
        struct jnode *item = new_node(ps);

        if (!item || parse_value(ps, item) < 0) return -1;
        *tail = item;
        tail = &item->next;
        v->len++;
    } while ((more = next_element(ps, ']')) == 1);
    return more;
}

static int same_key(const struct jnode *a, const char *key, uint32_t n) {
    return a->klen == n && !memcmp(a->key, key, n);
}

static int key_order(const void *pa, const void *pb) {
    const struct jnode *a = *(const struct jnode *const *)pa;
    const struct jnode *b = *(const struct jnode *const *)pb;
    uint32_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(a->key, b->key, n);

    if (c) return c;
    if (a->klen != b->klen) return a->klen < b->klen ? -1 : 1;
    return a->key_end < b->key_end ? -1 : a->key_end > b->key_end;
}

/* A big object's duplicate keys, found by sorting: the error is placed
 * at the first repeat in input order, where reading on would have met it. */
static int check_keys_sorted(struct parser *ps, const struct jnode *obj) {
    const struct jnode **order = arena_alloc(ps, obj->len * sizeof(*order));
    uint32_t i = 0, first_repeat = UINT32_MAX;

    if (!order) return nomem(ps);
    for (const struct jnode *m = obj->u.first; m; m = m->next) order[i++] = m;
    qsort(order, obj->len, sizeof(*order), key_order);
    for (i = 1; i < obj->len; i++)
        if (same_key(order[i - 1], order[i]->key, order[i]->klen) &&
            order[i]->key_end < first_repeat)
            first_repeat = order[i]->key_end;
    if (first_repeat == UINT32_MAX) return 0;
    return fail(ps, JDOC_EDUPKEY, ps->buf + first_repeat);
}

static int parse_member(struct parser *ps, struct jnode *obj,
                        struct jnode *m) {
    skip_space(ps);
    if (ps->p == ps->end || *ps->p != '"') return unexpected(ps);
    if (parse_string(ps, &m->key, &m->klen) < 0) return -1;
    m->key_end = (uint32_t)(ps->p - ps->buf);
    if (obj->len < LINEAR_KEYS)
        for (const struct jnode *o = obj->u.first; o; o = o->next)
            if (same_key(o, m->key, m->klen))
                return fail(ps, JDOC_EDUPKEY, ps->p);
    skip_space(ps);
    if (ps->p == ps->end || *ps->p != ':') return unexpected(ps);
    ps->p++;
    return parse_value(ps, m);
}

static int parse_object(struct parser *ps, struct jnode *v) {
    struct jnode **tail = &v->u.first;
    int more = open_container(ps, v, JDOC_OBJECT, '}');

    if (more != 0) return more < 0 ? -1 : 0;
    do {
        struct jnode *m = new_node(ps);

        if (!m || parse_member(ps, v, m) < 0) return -1;
        *tail = m;
        tail = &m->next;
        v->len++;
    } while ((more = next_element(ps, '}')) == 1);
    if (more < 0) return -1;
    return v->len > LINEAR_KEYS ? check_keys_sorted(ps, v) : 0;
}

/* Every value counts towards the depth, scalars too, as in jansson. */
static int parse_value(struct parser *ps, struct jnode *v) {
    int rc;

    skip_space(ps);
    if (ps->p == ps->end) return fail(ps, JDOC_EEOF, ps->p);
    if (++ps->depth > JDOC_MAX_DEPTH)
        return fail(ps, JDOC_EDEPTH, token_end(ps->p, ps->end));
    rc = parse_token(ps, v);
    ps->depth--;
    return rc;
}

static int parse_token(struct parser *ps, struct jnode *v) {
    switch (*ps->p) {
    case '{': return parse_object(ps, v);
    case '[': return parse_array(ps, v);
    case '"':
        v->type = JDOC_STRING;
        return parse_string(ps, &v->u.s, &v->len);
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return parse_number(ps, v);
    default: return parse_word(ps, v);
    }
}

/* ---- Parse and release ---- */

int jdoc_parse(struct jdoc *doc, const char *buf, size_t len,
               struct jdoc_error *err) {
    struct parser ps = {
        .buf = buf, .p = buf, .end = buf + len,
        .next_cap = len * 2 + 512, .doc = doc, .err = err,
    };
    struct jnode *root;

    memset(doc, 0, sizeof(*doc));
    memset(err, 0, sizeof(*err));
    if (len > UINT32_MAX) return fail(&ps, JDOC_ERANGE, buf);
    skip_space(&ps);
    if (ps.p == ps.end) return fail(&ps, JDOC_EEMPTY, ps.p);
    if (!(root = new_node(&ps)) || parse_value(&ps, root) < 0) return -1;
    skip_space(&ps);
    if (ps.p != ps.end) return bad_token(&ps, ps.p, JDOC_ETRAILING);
    doc->root = root;
    return 0;
}

void jdoc_release(struct jdoc *doc) {
    struct jdoc_chunk *c, *next;

    if (!doc) return;
    for (c = doc->chunks; c; c = next) {
        next = c->next;
        free(c);
    }
    memset(doc, 0, sizeof(*doc));
}

/* ---- Reading ---- */

const struct jnode *jdoc_getn(const struct jnode *obj, const char *key,
                              size_t n) {
    if (!obj || obj->type != JDOC_OBJECT) return NULL;
    for (const struct jnode *m = obj->u.first; m; m = m->next)
        if (m->klen == n && !memcmp(m->key, key, n)) return m;
    return NULL;
}

const struct jnode *jdoc_get(const struct jnode *obj, const char *key) {
    return jdoc_getn(obj, key, strlen(key));
}

double jdoc_number(const struct jnode *v) {
    return v->type == JDOC_INT ? (double)v->u.i : v->u.d;
}

/* ---- Writing ---- */

/* jansson's form of a real: a '.' or an 'e' always, no '+' and no
 * leading zeros in the exponent. */
static void write_real(struct jsonw *w, double d) {
    char text[48], *e;
    int n = snprintf(text, sizeof(text), "%.15g", d);

    if (strtod(text, NULL) != d) n = snprintf(text, sizeof(text), "%.17g", d);
    if (!strchr(text, '.') && !strchr(text, 'e')) {
        memcpy(text + n, ".0", 3);
        n += 2;
    }
    if ((e = strchr(text, 'e'))) {
        char *start = e + 1, *digits = start + 1;

        if (*start == '-') start++;
        while (*digits == '0') digits++;
        memmove(start, digits, strlen(digits) + 1);
        n = (int)strlen(text);
    }
    jsonw_rawn(w, text, (size_t)n);
}

void jdoc_write(struct jsonw *w, const struct jnode *v) {
    char text[24];

    switch (v->type) {
    case JDOC_NULL: jsonw_rawn(w, "null", 4); return;
    case JDOC_FALSE: jsonw_rawn(w, "false", 5); return;
    case JDOC_TRUE: jsonw_rawn(w, "true", 4); return;
    case JDOC_INT:
        jsonw_rawn(w, text,
                   (size_t)snprintf(text, sizeof(text), "%" PRId64, v->u.i));
        return;
    case JDOC_REAL: write_real(w, v->u.d); return;
    case JDOC_STRING: jsonw_quoted(w, v->u.s, v->len); return;
    default: break;
    }
    jsonw_rawn(w, v->type == JDOC_ARRAY ? "[" : "{", 1);
    for (const struct jnode *m = v->u.first; m; m = m->next) {
        if (m != v->u.first) jsonw_rawn(w, ",", 1);
        if (v->type == JDOC_OBJECT) {
            jsonw_quoted(w, m->key, m->klen);
            jsonw_rawn(w, ":", 1);
        }
        jdoc_write(w, m);
    }
    jsonw_rawn(w, v->type == JDOC_ARRAY ? "]" : "}", 1);
}
