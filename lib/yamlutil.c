/* yamlutil.c -- libyaml behind typed getters that report with locations.
 *
 * Here: loading a document (syntax errors from problem_mark/context_mark,
 * duplicate keys), node access, typed getters, allowed-key tables and the
 * "did you mean" helper. Not here: what any key means (policy.c,
 * config.c). libyaml marks are zero-based; yu_loc() is the only place that
 * turns them into the 1-based line:col of messages. */
#include "yamlutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "timeutil.h"

struct yu_doc {
    yaml_document_t doc;
    int loaded; /* doc holds a document to delete */
    char *file;
};

/* struct yu_node is never defined: a pointer to one is a yaml_node_t. */
#define NODE(n) ((yaml_node_t *)(n))
#define CNODE(n) ((const yaml_node_t *)(n))
#define YU(n) ((struct yu_node *)(n))

/* ---- Locations ---- */

/* The one conversion of a zero-based libyaml mark to line:col. */
static void yu_loc(yaml_mark_t m, int *line, int *col) {
    *line = (int)m.line + 1;
    *col = (int)m.column + 1;
}

static void yu_vreport(const struct yu_doc *doc, int line, int col,
                       struct fu_diag *diag, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void yu_vreport(const struct yu_doc *doc, int line, int col,
                       struct fu_diag *diag, const char *fmt, va_list ap) {
    char msg[sizeof(((struct fu_err *)0)->msg)];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    fu_diag_at(diag, doc->file, line, col, "%s", msg);
}

int yu_error(const struct yu_doc *doc, const struct yu_node *n,
             struct fu_diag *diag, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    yu_vreport(doc, n ? yu_line(n) : 1, n ? yu_col(n) : 1, diag, fmt, ap);
    va_end(ap);
    return -1;
}

int yu_error_in(const struct yu_doc *doc, const struct yu_node *n, int off,
                struct fu_diag *diag, const char *fmt, ...) {
    int line = 1, col = 1;
    if (n) {
        line = yu_line(n);
        col = yu_col(n);
        yaml_scalar_style_t st = CNODE(n)->data.scalar.style;
        if (CNODE(n)->type == YAML_SCALAR_NODE &&
            st != YAML_LITERAL_SCALAR_STYLE &&
            st != YAML_FOLDED_SCALAR_STYLE)
            col += off + (yu_is_quoted(n) ? 1 : 0);
    }
    va_list ap;
    va_start(ap, fmt);
    yu_vreport(doc, line, col, diag, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- Loading ---- */

/* Line and column of byte off in buf, for reader errors (bad UTF-8), which
 * carry an offset but no mark. */
static void yu_offset_loc(const char *buf, size_t len, size_t off,
                          int *line, int *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (buf[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static void yu_report_parser(struct yu_doc *doc, const yaml_parser_t *p,
                             const char *buf, size_t len,
                             struct fu_diag *diag) {
    int line, col;
    const char *problem = p->problem ? p->problem : "cannot parse";

    if (p->error == YAML_MEMORY_ERROR) {
        struct fu_err e;
        fu_err_at(&e, FU_ENOMEM, doc->file, 0, 0, "out of memory");
        fu_diag_add(diag, &e);
        return;
    }
    if (p->error == YAML_READER_ERROR) {
        yu_offset_loc(buf, len, p->problem_offset, &line, &col);
        fu_diag_at(diag, doc->file, line, col,
                   "invalid YAML: %s: save the file as UTF-8", problem);
        return;
    }
    yu_loc(p->problem_mark, &line, &col);
    if (p->problem_mark.index < len && buf[p->problem_mark.index] == '\t') {
        fu_diag_at(diag, doc->file, line, col,
                   "invalid YAML: a tab cannot indent or start a value: use "
                   "spaces");
        return;
    }
    if (p->context) {
        int cline, ccol;
        yu_loc(p->context_mark, &cline, &ccol);
        fu_diag_at(diag, doc->file, line, col,
                   "invalid YAML: %s (%s at line %d column %d): check "
                   "indentation, quoting and brackets there",
                   problem, p->context, cline, ccol);
    } else {
        fu_diag_at(diag, doc->file, line, col,
                   "invalid YAML: %s: check indentation, quoting and "
                   "brackets there", problem);
    }
}

/* Report every mapping key that repeats an earlier one of the same map. */
/* A key and where it stands in its mapping, for the duplicate check. */
struct yu_keyref {
    const char *key;
    int index;
};

static int keyref_cmp(const void *a, const void *b) {
    const struct yu_keyref *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Reports each repeated key of one mapping. Sorting keeps this n log n:
 * a hostile file can hold one mapping with a hundred thousand keys. */
static int yu_map_duplicates(struct yu_doc *doc, yaml_node_t *n,
                             struct yu_keyref *refs, struct fu_diag *diag) {
    int len = (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    int nrefs = 0, bad = 0;
    for (int i = 0; i < len; i++) {
        const char *k = yu_scalar(yu_map_key(doc, YU(n), i));
        if (k) refs[nrefs++] = (struct yu_keyref){k, i};
    }
    if (nrefs < 2) return 0; /* refs is NULL when no mapping has a key */
    qsort(refs, (size_t)nrefs, sizeof(*refs), keyref_cmp);
    for (int i = 1; i < nrefs; i++) {
        int first = i - 1;
        while (i < nrefs && !strcmp(refs[i].key, refs[first].key)) {
            yu_error(doc, yu_map_key(doc, YU(n), refs[i].index), diag,
                     "duplicate key '%s' (first at line %d): keep only one",
                     refs[i].key,
                     yu_line(yu_map_key(doc, YU(n), refs[first].index)));
            bad = -1;
            i++;
        }
    }
    return bad;
}

static int yu_check_duplicates(struct yu_doc *doc, struct fu_diag *diag) {
    int bad = 0;
    size_t most = 0;
    for (yaml_node_t *n = doc->doc.nodes.start; n < doc->doc.nodes.top; n++)
        if (n->type == YAML_MAPPING_NODE) {
            size_t len = (size_t)(n->data.mapping.pairs.top -
                                  n->data.mapping.pairs.start);
            if (len > most) most = len;
        }
    struct yu_keyref *refs = most ? calloc(most, sizeof(*refs)) : NULL;
    if (most && !refs) {
        struct fu_err e;
        fu_err_at(&e, FU_ENOMEM, doc->file, 0, 0, "out of memory");
        fu_diag_add(diag, &e);
        return -1;
    }
    for (yaml_node_t *n = doc->doc.nodes.start; n < doc->doc.nodes.top; n++)
        if (n->type == YAML_MAPPING_NODE &&
            yu_map_duplicates(doc, n, refs, diag))
            bad = -1;
    free(refs);
    return bad;
}

struct yu_doc *yu_load_buffer(const char *name, const char *buf, size_t len,
                              struct fu_diag *diag) {
    yaml_parser_t parser;
    struct yu_doc *doc = calloc(1, sizeof(*doc));
    if (!doc || !(doc->file = strdup(name ? name : ""))) {
        struct fu_err e;
        fu_err_at(&e, FU_ENOMEM, name, 0, 0, "out of memory");
        fu_diag_add(diag, &e);
        free(doc);
        return NULL;
    }
    if (len > YU_FILE_MAX) {
        fu_diag_at(diag, doc->file, 0, 0,
                   "%zu bytes: a policy or config holds at most %d; one "
                   "this large is a mistake (is it the right file?)",
                   len, YU_FILE_MAX);
        yu_free(doc);
        return NULL;
    }
    if (!yaml_parser_initialize(&parser)) {
        struct fu_err e;
        fu_err_at(&e, FU_ENOMEM, name, 0, 0, "out of memory");
        fu_diag_add(diag, &e);
        yu_free(doc);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&parser, &doc->doc)) {
        /* libyaml deletes the half-built document itself */
        yu_report_parser(doc, &parser, buf, len, diag);
        goto err;
    }
    doc->loaded = 1;
    if (yaml_document_get_root_node(&doc->doc)) {
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            yu_report_parser(doc, &parser, buf, len, diag);
            goto err;
        }
        yaml_node_t *root2 = yaml_document_get_root_node(&next);
        if (root2) {
            int line, col;
            yu_loc(root2->start_mark, &line, &col);
            fu_diag_at(diag, doc->file, line, col,
                       "a second YAML document: keep one document per file "
                       "(remove the '---' line)");
        }
        yaml_document_delete(&next);
        if (root2) goto err;
        if (yu_check_duplicates(doc, diag)) goto err;
    }
    yaml_parser_delete(&parser);
    return doc;

err:
    yaml_parser_delete(&parser);
    yu_free(doc);
    return NULL;
}

char *yu_read_file(const char *path, size_t *len, struct fu_diag *diag) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (!f) {
        fu_diag_at(diag, path, 0, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    for (;;) {
        if (cap - n < 4096 + 1) {
            size_t ncap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                struct fu_err e;
                fu_err_at(&e, FU_ENOMEM, path, 0, 0, "out of memory");
                fu_diag_add(diag, &e);
                goto err;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
        if (n > YU_FILE_MAX) {
            fu_diag_at(diag, path, 0, 0,
                       "more than %d bytes: a policy or config holds at "
                       "most that; one this large is a mistake (is it the "
                       "right file?)",
                       YU_FILE_MAX);
            goto err;
        }
    }
    if (ferror(f)) {
        fu_diag_at(diag, path, 0, 0, "cannot read: %s", strerror(errno));
        goto err;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;

err:
    fclose(f);
    free(buf);
    return NULL;
}

struct yu_doc *yu_load_file(const char *path, struct fu_diag *diag) {
    size_t len;
    char *buf = yu_read_file(path, &len, diag);
    if (!buf) return NULL;
    struct yu_doc *doc = yu_load_buffer(path, buf, len, diag);
    free(buf);
    return doc;
}

void yu_free(struct yu_doc *doc) {
    if (!doc) return;
    if (doc->loaded) yaml_document_delete(&doc->doc);
    free(doc->file);
    free(doc);
}

const char *yu_file(const struct yu_doc *doc) {
    return doc->file;
}

struct yu_node *yu_root(const struct yu_doc *doc) {
    if (!doc->loaded) return NULL;
    return YU(yaml_document_get_root_node((yaml_document_t *)&doc->doc));
}

/* ---- Node access ---- */

enum yu_type yu_type(const struct yu_node *n) {
    if (!n) return YU_NONE;
    switch (CNODE(n)->type) {
    case YAML_SCALAR_NODE: return YU_SCALAR;
    case YAML_SEQUENCE_NODE: return YU_SEQ;
    case YAML_MAPPING_NODE: return YU_MAP;
    default: return YU_NONE;
    }
}

int yu_line(const struct yu_node *n) {
    int line, col;
    yu_loc(CNODE(n)->start_mark, &line, &col);
    return line;
}

int yu_col(const struct yu_node *n) {
    int line, col;
    yu_loc(CNODE(n)->start_mark, &line, &col);
    return col;
}

const char *yu_scalar(const struct yu_node *n) {
    if (!n || CNODE(n)->type != YAML_SCALAR_NODE) return NULL;
    return (const char *)CNODE(n)->data.scalar.value;
}

int yu_is_quoted(const struct yu_node *n) {
    if (!n || CNODE(n)->type != YAML_SCALAR_NODE) return 0;
    yaml_scalar_style_t st = CNODE(n)->data.scalar.style;
    return st == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
           st == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
}

int yu_is_null(const struct yu_node *n) {
    if (!n || CNODE(n)->type != YAML_SCALAR_NODE) return 0;
    if (CNODE(n)->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *s = yu_scalar(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
           !strcmp(s, "Null") || !strcmp(s, "NULL");
}

int yu_len(const struct yu_node *n) {
    if (!n) return 0;
    if (CNODE(n)->type == YAML_SEQUENCE_NODE)
        return (int)(CNODE(n)->data.sequence.items.top -
                     CNODE(n)->data.sequence.items.start);
    if (CNODE(n)->type == YAML_MAPPING_NODE)
        return (int)(CNODE(n)->data.mapping.pairs.top -
                     CNODE(n)->data.mapping.pairs.start);
    return 0;
}

static struct yu_node *yu_node_at(const struct yu_doc *doc, int index) {
    return YU(yaml_document_get_node((yaml_document_t *)&doc->doc, index));
}

struct yu_node *yu_seq_item(const struct yu_doc *doc,
                            const struct yu_node *seq, int i) {
    if (yu_type(seq) != YU_SEQ || i < 0 || i >= yu_len(seq)) return NULL;
    return yu_node_at(doc, CNODE(seq)->data.sequence.items.start[i]);
}

struct yu_node *yu_map_key(const struct yu_doc *doc,
                           const struct yu_node *map, int i) {
    if (yu_type(map) != YU_MAP || i < 0 || i >= yu_len(map)) return NULL;
    return yu_node_at(doc, CNODE(map)->data.mapping.pairs.start[i].key);
}

struct yu_node *yu_map_value(const struct yu_doc *doc,
                             const struct yu_node *map, int i) {
    if (yu_type(map) != YU_MAP || i < 0 || i >= yu_len(map)) return NULL;
    return yu_node_at(doc, CNODE(map)->data.mapping.pairs.start[i].value);
}

struct yu_node *yu_map_get(const struct yu_doc *doc,
                           const struct yu_node *map, const char *key,
                           struct yu_node **keynode) {
    int len = yu_len(map);
    if (keynode) *keynode = NULL;
    if (yu_type(map) != YU_MAP) return NULL;
    for (int i = 0; i < len; i++) {
        struct yu_node *k = yu_map_key(doc, map, i);
        const char *ks = yu_scalar(k);
        if (ks && !strcmp(ks, key)) {
            if (keynode) *keynode = k;
            return yu_map_value(doc, map, i);
        }
    }
    return NULL;
}

const char *yu_type_name(const struct yu_node *n) {
    switch (yu_type(n)) {
    case YU_SEQ: return "a list";
    case YU_MAP: return "a mapping";
    case YU_SCALAR: return yu_is_null(n) ? "null" : "a scalar";
    default: return "nothing";
    }
}

/* ---- Typed getters ---- */

int yu_str(const struct yu_doc *doc, const struct yu_node *n,
           const char *what, struct fu_diag *diag, const char **out) {
    if (yu_type(n) != YU_SCALAR || yu_is_null(n))
        return yu_error(doc, n, diag,
                        "expected a string for '%s', got %s", what,
                        yu_type_name(n));
    *out = yu_scalar(n);
    return 0;
}

int yu_str_or_null(const struct yu_doc *doc, const struct yu_node *n,
                   const char *what, struct fu_diag *diag,
                   const char **out) {
    if (yu_is_null(n)) {
        *out = NULL;
        return 0;
    }
    return yu_str(doc, n, what, diag, out);
}

int yu_strdup(const struct yu_doc *doc, const struct yu_node *n,
              const char *what, struct fu_diag *diag, char **out) {
    const char *s;
    if (yu_str(doc, n, what, diag, &s)) return -1;
    if (!(*out = strdup(s)))
        return yu_error(doc, n, diag, "out of memory");
    return 0;
}

int yu_int(const struct yu_doc *doc, const struct yu_node *n,
           const char *what, long long min, long long max,
           struct fu_diag *diag, long long *out) {
    const char *s = yu_scalar(n);
    char *end;
    long long v;

    if (!s || yu_is_quoted(n) || yu_is_null(n))
        goto bad;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || *end || errno || (*s != '-' && *s != '+' &&
                                      (*s < '0' || *s > '9')))
        goto bad;
    if (v < min || v > max) {
        if (max == INT32_MAX || max == INT64_MAX)
            return yu_error(doc, n, diag,
                            "'%s' must be at least %lld, got %lld", what,
                            min, v);
        return yu_error(doc, n, diag,
                        "'%s' must be between %lld and %lld, got %lld",
                        what, min, max, v);
    }
    *out = v;
    return 0;

bad:
    if (s && yu_is_quoted(n))
        return yu_error(doc, n, diag,
                        "expected a whole number for '%s', got the string "
                        "'%s': remove the quotes", what, s);
    if (s && !yu_is_null(n))
        return yu_error(doc, n, diag,
                        "expected a whole number for '%s', got '%s'", what,
                        s);
    return yu_error(doc, n, diag, "expected a whole number for '%s', got %s",
                    what, yu_type_name(n));
}

int yu_bool(const struct yu_doc *doc, const struct yu_node *n,
            const char *what, struct fu_diag *diag, int *out) {
    const char *s = yu_scalar(n);
    if (s && !yu_is_quoted(n)) {
        if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
            *out = 1;
            return 0;
        }
        if (!strcmp(s, "false") || !strcmp(s, "False") ||
            !strcmp(s, "FALSE")) {
            *out = 0;
            return 0;
        }
    }
    if (s && !yu_is_null(n))
        return yu_error(doc, n, diag,
                        "expected true or false for '%s', got '%s'", what, s);
    return yu_error(doc, n, diag, "expected true or false for '%s', got %s",
                    what, yu_type_name(n));
}

int yu_duration(const struct yu_doc *doc, const struct yu_node *n,
                const char *what, int64_t min, struct fu_diag *diag,
                int64_t *out) {
    const char *s = yu_scalar(n);
    int64_t v;

    if (!s || yu_is_null(n))
        return yu_error(doc, n, diag,
                        "expected a duration for '%s' like 90m, 2h or 7d, "
                        "got %s",
                        what, yu_type_name(n));
    if (time_parse_duration(s, &v))
        return yu_error(doc, n, diag,
                        "bad duration '%s' for '%s': write a whole number "
                        "and a unit s, m, h, d or w, e.g. 90m or 2h",
                        s, what);
    if (v < min) {
        if (min == 1)
            return yu_error(doc, n, diag,
                            "'%s' must be longer than 0s, e.g. 1h", what);
        return yu_error(doc, n, diag,
                        "'%s' must be at least %llds, got '%s'", what,
                        (long long)min, s);
    }
    *out = v;
    return 0;
}

void yu_strv_free(char **v, int n) {
    if (!v) return;
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

int yu_str_list(const struct yu_doc *doc, const struct yu_node *n,
                const char *what, unsigned flags, struct fu_diag *diag,
                char ***out, int *nout) {
    char **v = NULL;
    int len, bad = 0;

    *out = NULL;
    *nout = 0;
    if (yu_type(n) == YU_SCALAR && !yu_is_null(n) &&
        (flags & YU_LIST_SCALAR_OK)) {
        if (!(v = calloc(1, sizeof(*v))) || !(v[0] = strdup(yu_scalar(n)))) {
            free(v);
            return yu_error(doc, n, diag, "out of memory");
        }
        *out = v;
        *nout = 1;
        return 0;
    }
    if (yu_type(n) != YU_SEQ)
        return yu_error(doc, n, diag,
                        "expected a list for '%s' like [a, b], got %s", what,
                        yu_type_name(n));
    len = yu_len(n);
    if (len == 0 && (flags & YU_LIST_NONEMPTY))
        return yu_error(doc, n, diag,
                        "'%s' is empty: list at least one item", what);
    if (len && !(v = calloc((size_t)len, sizeof(*v))))
        return yu_error(doc, n, diag, "out of memory");
    for (int i = 0; i < len; i++) {
        struct yu_node *it = yu_seq_item(doc, n, i);
        const char *s;
        if (yu_type(it) != YU_SCALAR || yu_is_null(it)) {
            yu_error(doc, it, diag,
                     "expected a string as item %d of '%s', got %s", i + 1,
                     what, yu_type_name(it));
            bad = -1;
            continue;
        }
        s = yu_scalar(it);
        if (!(v[i] = strdup(s))) {
            yu_error(doc, it, diag, "out of memory");
            bad = -1;
        }
    }
    if (bad) {
        yu_strv_free(v, len);
        return -1;
    }
    *out = v;
    *nout = len;
    return 0;
}

/* ---- Allowed keys ---- */

/* Optimal string alignment distance (edits + adjacent swaps), capped to
 * short words: keys are short. */
static int yu_distance(const char *a, const char *b) {
    enum { MAXW = 64 };
    int la = (int)strlen(a), lb = (int)strlen(b);
    int d[MAXW + 1][MAXW + 1];

    if (la > MAXW || lb > MAXW) return MAXW;
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++) {
        for (int j = 1; j <= lb; j++) {
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[la][lb];
}

const char *yu_suggest(const char *word, const char *const *cands) {
    const char *best = NULL;
    int bestd = 1 << 30, wl = (int)strlen(word);
    int limit = wl <= 4 ? 1 : wl <= 8 ? 2 : 3;

    for (int i = 0; cands[i]; i++) {
        int dist = yu_distance(word, cands[i]);
        if (dist < bestd) {
            bestd = dist;
            best = cands[i];
        }
    }
    return best && bestd <= limit && bestd < wl ? best : NULL;
}

int yu_check_map(const struct yu_doc *doc, const struct yu_node *n,
                 const char *what, const char *const *allowed,
                 const char *where, struct fu_diag *diag) {
    int len, bad = 0;

    if (yu_type(n) != YU_MAP)
        return yu_error(doc, n, diag, "expected a mapping for '%s', got %s",
                        what, yu_type_name(n));
    len = yu_len(n);
    for (int i = 0; i < len; i++) {
        struct yu_node *k = yu_map_key(doc, n, i);
        const char *ks = yu_scalar(k);
        int found = 0;
        if (!ks) {
            yu_error(doc, k, diag,
                     "expected a plain key %s, got %s", where,
                     yu_type_name(k));
            bad = -1;
            continue;
        }
        for (int j = 0; allowed[j]; j++)
            if (!strcmp(allowed[j], ks)) found = 1;
        if (found) continue;
        bad = -1;
        const char *hint = yu_suggest(ks, allowed);
        if (hint) {
            yu_error(doc, k, diag, "unknown key '%s' %s: did you mean '%s'?",
                     ks, where, hint);
        } else {
            char list[400];
            size_t off = 0;
            list[0] = '\0';
            for (int j = 0; allowed[j] && off < sizeof(list); j++)
                off += (size_t)snprintf(list + off, sizeof(list) - off,
                                        "%s%s", j ? ", " : "", allowed[j]);
            yu_error(doc, k, diag,
                     "unknown key '%s' %s: allowed keys are %s", ks, where,
                     list);
        }
    }
    return bad;
}
