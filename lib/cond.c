/* cond.c -- compile `when` conditions once, evaluate them per event.
 *
 * A leaf is compiled into a path split into segments and a literal (or a
 * list of literals) parsed ahead of time, so evaluation is a lookup and a
 * comparison. Parse errors say what to write instead and point at the
 * byte where the problem starts. Evaluation never fails: a missing field
 * makes every comparison false (even != and not in), values of different
 * types are never equal, only numbers and strings are ordered. */
#include "cond.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COND_MAX_LIST 1024

enum cond_op {
    OP_EQ,
    OP_NE,
    OP_GT,
    OP_GE,
    OP_LT,
    OP_LE,
    OP_IN,
    OP_NOT_IN,
    OP_EXISTS,
    OP_MISSING,
};

struct cond_lit {
    enum cond_value_type type; /* CV_NULL, CV_BOOL, CV_NUMBER, CV_STRING */
    int b;
    double num;
    char *str; /* owned */
};

struct cond {
    enum cond_kind kind;

    /* COND_LEAF */
    enum cond_op op;
    char *pathbuf;      /* the path with '.' replaced by NULs */
    const char **segs;  /* into pathbuf */
    int nsegs;
    struct cond_lit lit; /* comparisons other than (not) in */
    int nlist;
    struct cond_lit *list; /* in / not in */

    /* groups */
    int nkids, capkids;
    struct cond **kids;
};

static const char *const op_names[] = {
    [OP_EQ] = "==", [OP_NE] = "!=", [OP_GT] = ">",      [OP_GE] = ">=",
    [OP_LT] = "<",  [OP_LE] = "<=", [OP_IN] = "in",     [OP_NOT_IN] = "not in",
    [OP_EXISTS] = "exists",         [OP_MISSING] = "missing",
};

#define OPS_HINT "(== != > >= < <= in, not in, exists, missing)"
#define VALUE_HINT "a number, a \"string\", true, false or null"

/* ---- Parsing ---- */

struct cparse {
    const char *text;
    const char *p;
    struct fu_err *err;
    int *err_offset;
};

static int cp_fail(struct cparse *cp, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cp_fail(struct cparse *cp, const char *at, const char *fmt, ...) {
    char msg[sizeof(cp->err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cp->err_offset) *cp->err_offset = (int)(at - cp->text);
    return fu_err_set(cp->err, FU_EINVAL, "%s", msg);
}

static int is_ident(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void cp_skip(struct cparse *cp) {
    while (is_space(*cp->p)) cp->p++;
}

/* Length of the word at s (identifier characters), at least 1 if any
 * non-space character, for quoting in messages. */
static int word_len(const char *s) {
    int n = 0;
    while (s[n] && !is_space(s[n]) && n < 40) n++;
    return n;
}

static void lit_release(struct cond_lit *l) {
    free(l->str);
    l->str = NULL;
}

static int parse_path(struct cparse *cp, struct cond *c) {
    const char *start = cp->p;
    int nsegs = 0;

    if (!is_ident(*cp->p)) {
        if (!*cp->p)
            return cp_fail(cp, cp->p,
                           "empty condition: write PATH OP VALUE, e.g. "
                           "data.amount >= 5000");
        return cp_fail(cp, cp->p,
                       "expected a field path like data.amount at the "
                       "start of the condition, got '%.*s'",
                       word_len(cp->p), cp->p);
    }
    for (;;) {
        if (!is_ident(*cp->p))
            return cp_fail(cp, cp->p,
                           "expected a field name after '.' in '%.*s': "
                           "write a dotted path like data.amount",
                           (int)(cp->p - start), start);
        while (is_ident(*cp->p)) cp->p++;
        if (++nsegs > COND_MAX_SEGS)
            return cp_fail(cp, start, "path has more than %d segments",
                           COND_MAX_SEGS);
        if (*cp->p != '.') break;
        cp->p++;
    }
    size_t len = (size_t)(cp->p - start);
    if (!(c->pathbuf = malloc(len + 1)) ||
        !(c->segs = malloc(sizeof(*c->segs) * (size_t)nsegs)))
        return fu_err_set(cp->err, FU_ENOMEM, "out of memory");
    memcpy(c->pathbuf, start, len);
    c->pathbuf[len] = '\0';
    c->nsegs = 0;
    c->segs[c->nsegs++] = c->pathbuf;
    for (size_t i = 0; i < len; i++) {
        if (c->pathbuf[i] == '.') {
            c->pathbuf[i] = '\0';
            c->segs[c->nsegs++] = c->pathbuf + i + 1;
        }
    }
    return 0;
}

/* The word at p equals w and ends there (not followed by an identifier
 * character). */
static int word_is(const char *p, const char *w) {
    size_t n = strlen(w);
    return !strncmp(p, w, n) && !is_ident(p[n]);
}

/* The operator at cp->p: 0 ok, -1 with err set for a near miss, -2 when
 * there is no operator at all (the caller names the path). */
static int parse_op(struct cparse *cp, struct cond *c) {
    const char *p = cp->p;

    if (p[0] == '=' && p[1] == '=') { c->op = OP_EQ; cp->p += 2; return 0; }
    if (p[0] == '!' && p[1] == '=') { c->op = OP_NE; cp->p += 2; return 0; }
    if (p[0] == '>' && p[1] == '=') { c->op = OP_GE; cp->p += 2; return 0; }
    if (p[0] == '<' && p[1] == '=') { c->op = OP_LE; cp->p += 2; return 0; }
    if (p[0] == '=' && p[1] == '>')
        return cp_fail(cp, p, "'=>' is not an operator: write '>='");
    if (p[0] == '=' && p[1] == '<')
        return cp_fail(cp, p, "'=<' is not an operator: write '<='");
    if (p[0] == '<' && p[1] == '>')
        return cp_fail(cp, p, "'<>' is not an operator: write '!='");
    if (p[0] == '>') { c->op = OP_GT; cp->p += 1; return 0; }
    if (p[0] == '<') { c->op = OP_LT; cp->p += 1; return 0; }
    if (p[0] == '=')
        return cp_fail(cp, p, "'=' is not an operator: write '==' to "
                              "compare");
    if (word_is(p, "in")) { c->op = OP_IN; cp->p += 2; return 0; }
    if (word_is(p, "exists")) { c->op = OP_EXISTS; cp->p += 6; return 0; }
    if (word_is(p, "missing")) { c->op = OP_MISSING; cp->p += 7; return 0; }
    if (word_is(p, "not")) {
        const char *q = p + 3;
        while (is_space(*q)) q++;
        if (word_is(q, "in")) {
            c->op = OP_NOT_IN;
            cp->p = q + 2;
            return 0;
        }
        return cp_fail(cp, p, "'not' must be followed by 'in': write "
                              "'not in [...]', or use {not: ...} to negate "
                              "a condition");
    }
    return -2;
}

static int parse_string(struct cparse *cp, struct cond_lit *l) {
    const char *start = cp->p;
    size_t cap = 16, n = 0;
    char *s = malloc(cap);

    if (!s) return fu_err_set(cp->err, FU_ENOMEM, "out of memory");
    cp->p++; /* opening quote */
    for (;;) {
        char ch = *cp->p;
        unsigned long cpnt;
        char enc[4];
        int nenc = 0;

        if (!ch) {
            free(s);
            return cp_fail(cp, start,
                           "unterminated string: close it with '\"'");
        }
        if (ch == '"') {
            cp->p++;
            break;
        }
        if ((unsigned char)ch < 0x20) {
            free(s);
            return cp_fail(cp, cp->p, "control character in string: "
                                      "write it as an escape like \\n");
        }
        if (ch != '\\') {
            enc[nenc++] = ch;
            cp->p++;
        } else {
            const char *esc = cp->p;
            cp->p++;
            switch (*cp->p) {
            case '"': enc[nenc++] = '"'; cp->p++; break;
            case '\\': enc[nenc++] = '\\'; cp->p++; break;
            case '/': enc[nenc++] = '/'; cp->p++; break;
            case 'b': enc[nenc++] = '\b'; cp->p++; break;
            case 'f': enc[nenc++] = '\f'; cp->p++; break;
            case 'n': enc[nenc++] = '\n'; cp->p++; break;
            case 'r': enc[nenc++] = '\r'; cp->p++; break;
            case 't': enc[nenc++] = '\t'; cp->p++; break;
            case 'u': {
                unsigned long v = 0;
                cp->p++;
                for (int i = 0; i < 4; i++, cp->p++) {
                    char h = *cp->p;
                    int d = h >= '0' && h <= '9'   ? h - '0'
                            : h >= 'a' && h <= 'f' ? h - 'a' + 10
                            : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                   : -1;
                    if (d < 0) {
                        free(s);
                        return cp_fail(cp, esc,
                                       "bad escape '\\u': write four hex "
                                       "digits, e.g. \\u00e9");
                    }
                    v = v * 16 + (unsigned long)d;
                }
                if (v >= 0xD800 && v <= 0xDBFF && cp->p[0] == '\\' &&
                    cp->p[1] == 'u') {
                    unsigned long lo = 0;
                    int ok = 1;
                    for (int i = 0; i < 4; i++) {
                        char h = cp->p[2 + i];
                        int d = h >= '0' && h <= '9'   ? h - '0'
                                : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                       : -1;
                        if (d < 0) { ok = 0; break; }
                        lo = lo * 16 + (unsigned long)d;
                    }
                    if (ok && lo >= 0xDC00 && lo <= 0xDFFF) {
                        v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                        cp->p += 6;
                    }
                }
                if ((v >= 0xD800 && v <= 0xDFFF) || v == 0) {
                    free(s);
                    return cp_fail(cp, esc,
                                   "bad escape: \\u%04lx is not a character",
                                   v);
                }
                cpnt = v;
                if (cpnt < 0x80) {
                    enc[nenc++] = (char)cpnt;
                } else if (cpnt < 0x800) {
                    enc[nenc++] = (char)(0xC0 | (cpnt >> 6));
                    enc[nenc++] = (char)(0x80 | (cpnt & 0x3F));
                } else if (cpnt < 0x10000) {
                    enc[nenc++] = (char)(0xE0 | (cpnt >> 12));
                    enc[nenc++] = (char)(0x80 | ((cpnt >> 6) & 0x3F));
                    enc[nenc++] = (char)(0x80 | (cpnt & 0x3F));
                } else {
                    enc[nenc++] = (char)(0xF0 | (cpnt >> 18));
                    enc[nenc++] = (char)(0x80 | ((cpnt >> 12) & 0x3F));
                    enc[nenc++] = (char)(0x80 | ((cpnt >> 6) & 0x3F));
                    enc[nenc++] = (char)(0x80 | (cpnt & 0x3F));
                }
                break;
            }
            default:
                free(s);
                return cp_fail(cp, esc,
                               "bad escape '\\%.1s' in string: use \\\" \\\\ "
                               "\\/ \\b \\f \\n \\r \\t or \\uXXXX",
                               *cp->p ? cp->p : "");
            }
        }
        if (n + (size_t)nenc + 1 > cap) {
            char *ns = realloc(s, cap * 2);
            if (!ns) {
                free(s);
                return fu_err_set(cp->err, FU_ENOMEM, "out of memory");
            }
            s = ns;
            cap *= 2;
        }
        memcpy(s + n, enc, (size_t)nenc);
        n += (size_t)nenc;
    }
    s[n] = '\0';
    l->type = CV_STRING;
    l->str = s;
    return 0;
}

/* JSON number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(struct cparse *cp, struct cond_lit *l) {
    const char *s = cp->p, *q = s;
    char buf[64];

    if (*q == '-') q++;
    if (*q == '0') {
        q++;
    } else if (*q >= '1' && *q <= '9') {
        while (*q >= '0' && *q <= '9') q++;
    } else {
        return cp_fail(cp, s, "expected digits after '-', e.g. -5");
    }
    if (*q == '.') {
        q++;
        if (!(*q >= '0' && *q <= '9'))
            return cp_fail(cp, s, "bad number '%.*s': write digits after "
                                  "the '.', e.g. 5.0",
                           word_len(s), s);
        while (*q >= '0' && *q <= '9') q++;
    }
    if (*q == 'e' || *q == 'E') {
        q++;
        if (*q == '+' || *q == '-') q++;
        if (!(*q >= '0' && *q <= '9'))
            return cp_fail(cp, s, "bad number '%.*s': write an exponent "
                                  "like 1e6",
                           word_len(s), s);
        while (*q >= '0' && *q <= '9') q++;
    }
    if (is_ident(*q) || *q == '.')
        return cp_fail(cp, s,
                       "bad number '%.*s': write plain digits like 5000 or "
                       "12.5 (quote text: \"%.*s\")",
                       word_len(s), s, word_len(s), s);
    if ((size_t)(q - s) >= sizeof(buf))
        return cp_fail(cp, s, "number too long");
    memcpy(buf, s, (size_t)(q - s));
    buf[q - s] = '\0';
    l->type = CV_NUMBER;
    l->num = strtod(buf, NULL);
    cp->p = q;
    return 0;
}

static int parse_scalar_lit(struct cparse *cp, struct cond_lit *l,
                            const char *opname) {
    const char *p = cp->p;

    if (*p == '"') return parse_string(cp, l);
    if (*p == '-' || (*p >= '0' && *p <= '9')) return parse_number(cp, l);
    if (word_is(p, "true")) {
        l->type = CV_BOOL;
        l->b = 1;
        cp->p += 4;
        return 0;
    }
    if (word_is(p, "false")) {
        l->type = CV_BOOL;
        l->b = 0;
        cp->p += 5;
        return 0;
    }
    if (word_is(p, "null")) {
        l->type = CV_NULL;
        cp->p += 4;
        return 0;
    }
    if (!*p)
        return cp_fail(cp, p, "expected a value after '%s' (" VALUE_HINT ")",
                       opname);
    if (*p == '\'') {
        const char *e = strchr(p + 1, '\'');
        int n = e ? (int)(e - p - 1) : word_len(p + 1);
        return cp_fail(cp, p, "strings take double quotes: write \"%.*s\"",
                       n, p + 1);
    }
    if (is_ident(*p)) {
        int n = 0;
        while (is_ident(p[n]) || p[n] == '.') n++;
        return cp_fail(cp, p,
                       "expected a value after '%s' (" VALUE_HINT
                       "): quote text, e.g. \"%.*s\"",
                       opname, n, p);
    }
    return cp_fail(cp, p, "expected a value after '%s' (" VALUE_HINT
                          "), got '%.*s'",
                   opname, word_len(p), p);
}

static int parse_list(struct cparse *cp, struct cond *c) {
    const char *opname = op_names[c->op];
    int cap = 0;

    cp->p++; /* '[' */
    cp_skip(cp);
    if (*cp->p == ']') {
        cp->p++;
        return 0;
    }
    for (;;) {
        cp_skip(cp);
        if (*cp->p == '[')
            return cp_fail(cp, cp->p, "lists cannot nest: write plain "
                                      "values like [\"a\", \"b\"]");
        if (*cp->p == ']')
            return cp_fail(cp, cp->p, "expected a value before ']' (remove "
                                      "the trailing ',')");
        if (c->nlist == cap) {
            int ncap = cap ? cap * 2 : 4;
            struct cond_lit *nl;
            if (ncap > COND_MAX_LIST)
                return cp_fail(cp, cp->p, "list has more than %d values",
                               COND_MAX_LIST);
            nl = realloc(c->list, sizeof(*nl) * (size_t)ncap);
            if (!nl) return fu_err_set(cp->err, FU_ENOMEM, "out of memory");
            c->list = nl;
            cap = ncap;
        }
        memset(&c->list[c->nlist], 0, sizeof(c->list[0]));
        if (!*cp->p)
            return cp_fail(cp, cp->p,
                           "unterminated list: close it with ']'");
        if (parse_scalar_lit(cp, &c->list[c->nlist], opname)) return -1;
        c->nlist++;
        cp_skip(cp);
        if (*cp->p == ',') {
            cp->p++;
            continue;
        }
        if (*cp->p == ']') {
            cp->p++;
            return 0;
        }
        if (!*cp->p)
            return cp_fail(cp, cp->p,
                           "unterminated list: close it with ']'");
        return cp_fail(cp, cp->p, "expected ',' or ']' in the list, got "
                                  "'%.*s'",
                       word_len(cp->p), cp->p);
    }
}

struct cond *cond_parse(const char *text, int *err_offset,
                        struct fu_err *err) {
    struct cparse cp = {text, text, err, err_offset};
    struct cond *c = calloc(1, sizeof(*c));
    const char *pathend, *opstart;

    if (err_offset) *err_offset = 0;
    if (!c) {
        fu_err_set(err, FU_ENOMEM, "out of memory");
        return NULL;
    }
    c->kind = COND_LEAF;
    cp_skip(&cp);
    const char *pathstart = cp.p;
    if (parse_path(&cp, c)) goto err;
    pathend = cp.p;
    cp_skip(&cp);
    opstart = cp.p;
    int rc = parse_op(&cp, c);
    if (rc == -2 && !*opstart) {
        cp_fail(&cp, opstart, "expected an operator " OPS_HINT " after '%.*s'",
                (int)(pathend - pathstart), pathstart);
        goto err;
    }
    if (rc == -2) {
        cp_fail(&cp, opstart,
                "expected an operator " OPS_HINT " after '%.*s', got '%.*s'",
                (int)(pathend - pathstart), pathstart, word_len(opstart),
                opstart);
        goto err;
    }
    if (rc) goto err;
    if (c->op == OP_EXISTS || c->op == OP_MISSING) {
        cp_skip(&cp);
        if (*cp.p) {
            cp_fail(&cp, cp.p,
                    "unexpected '%.*s' after '%s': nothing may follow it",
                    word_len(cp.p), cp.p, op_names[c->op]);
            goto err;
        }
        return c;
    }
    cp_skip(&cp);
    if (c->op == OP_IN || c->op == OP_NOT_IN) {
        if (*cp.p != '[') {
            cp_fail(&cp, cp.p,
                    "'%s' needs a list like [\"a\", \"b\"]",
                    op_names[c->op]);
            goto err;
        }
        if (parse_list(&cp, c)) goto err;
    } else {
        if (*cp.p == '[') {
            cp_fail(&cp, cp.p,
                    "a list goes only after 'in' or 'not in': write "
                    "'%.*s in [...]'",
                    (int)(pathend - pathstart), pathstart);
            goto err;
        }
        const char *litstart = cp.p;
        if (parse_scalar_lit(&cp, &c->lit, op_names[c->op])) goto err;
        if (c->op != OP_EQ && c->op != OP_NE &&
            (c->lit.type == CV_BOOL || c->lit.type == CV_NULL)) {
            cp_fail(&cp, litstart,
                    "'%s' compares numbers or strings, not %.*s: use == "
                    "or !=",
                    op_names[c->op], word_len(litstart), litstart);
            goto err;
        }
    }
    cp_skip(&cp);
    if (*cp.p) {
        cp_fail(&cp, cp.p,
                "unexpected '%.*s' after the value: write one condition per "
                "item and combine them with {all: [...]} or {any: [...]}",
                word_len(cp.p), cp.p);
        goto err;
    }
    return c;

err:
    cond_free(c);
    return NULL;
}

/* ---- Groups ---- */

struct cond *cond_new_group(enum cond_kind kind) {
    if (kind == COND_LEAF) return NULL;
    struct cond *c = calloc(1, sizeof(*c));
    if (c) c->kind = kind;
    return c;
}

int cond_group_add_take(struct cond *group, struct cond *child) {
    if (!group || !child || group->kind == COND_LEAF ||
        (group->kind == COND_NOT && group->nkids >= 1)) {
        cond_free(child);
        return -1;
    }
    if (group->nkids == group->capkids) {
        int ncap = group->capkids ? group->capkids * 2 : 4;
        struct cond **nk = realloc(group->kids, sizeof(*nk) * (size_t)ncap);
        if (!nk) {
            cond_free(child);
            return -1;
        }
        group->kids = nk;
        group->capkids = ncap;
    }
    group->kids[group->nkids++] = child;
    return 0;
}

void cond_free(struct cond *c) {
    if (!c) return;
    for (int i = 0; i < c->nkids; i++) cond_free(c->kids[i]);
    free(c->kids);
    free(c->pathbuf);
    free(c->segs);
    lit_release(&c->lit);
    for (int i = 0; i < c->nlist; i++) lit_release(&c->list[i]);
    free(c->list);
    free(c);
}

/* ---- Evaluation ---- */

/* 1 when v equals the literal: same type and same value. */
static int lit_equal(const struct cond_value *v, const struct cond_lit *l) {
    if (v->type != l->type) return 0;
    switch (v->type) {
    case CV_NULL: return 1;
    case CV_BOOL: return !v->b == !l->b;
    case CV_NUMBER: return v->num == l->num;
    case CV_STRING: return v->str && !strcmp(v->str, l->str);
    default: return 0;
    }
}

/* <0, 0, >0 for an ordered pair; sets *ok to 0 when the pair has no
 * order (different types, or not numbers/strings). */
static int lit_order(const struct cond_value *v, const struct cond_lit *l,
                     int *ok) {
    *ok = 0;
    if (v->type != l->type) return 0;
    if (v->type == CV_NUMBER) {
        if (v->num != v->num || l->num != l->num) return 0; /* NaN */
        *ok = 1;
        return v->num < l->num ? -1 : v->num > l->num ? 1 : 0;
    }
    if (v->type == CV_STRING && v->str) {
        *ok = 1;
        return strcmp(v->str, l->str); /* compares as unsigned char */
    }
    return 0;
}

static int eval_leaf(const struct cond *c, cond_lookup_fn *lookup,
                     const void *ctx) {
    struct cond_value v = {CV_MISSING, 0, 0, NULL};
    int ok, r;

    lookup(ctx, c->segs, c->nsegs, &v);
    if (c->op == OP_EXISTS) return v.type != CV_MISSING;
    if (c->op == OP_MISSING) return v.type == CV_MISSING;
    if (v.type == CV_MISSING) return 0;
    switch (c->op) {
    case OP_EQ: return lit_equal(&v, &c->lit);
    case OP_NE: return !lit_equal(&v, &c->lit);
    case OP_IN:
    case OP_NOT_IN:
        for (int i = 0; i < c->nlist; i++)
            if (lit_equal(&v, &c->list[i])) return c->op == OP_IN;
        return c->op == OP_NOT_IN;
    default:
        break;
    }
    r = lit_order(&v, &c->lit, &ok);
    if (!ok) return 0;
    switch (c->op) {
    case OP_GT: return r > 0;
    case OP_GE: return r >= 0;
    case OP_LT: return r < 0;
    case OP_LE: return r <= 0;
    default: return 0;
    }
}

int cond_eval(const struct cond *c, cond_lookup_fn *lookup, const void *ctx) {
    if (!c) return 1;
    switch (c->kind) {
    case COND_LEAF: return eval_leaf(c, lookup, ctx);
    case COND_ALL:
        for (int i = 0; i < c->nkids; i++)
            if (!cond_eval(c->kids[i], lookup, ctx)) return 0;
        return 1;
    case COND_ANY:
        for (int i = 0; i < c->nkids; i++)
            if (cond_eval(c->kids[i], lookup, ctx)) return 1;
        return 0;
    case COND_NOT:
        return !cond_eval(c->nkids ? c->kids[0] : NULL, lookup, ctx);
    }
    return 0;
}
