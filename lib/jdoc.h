/* jdoc.h -- a read-only JSON document parsed into one arena.
 *
 * Every input event is parsed once and then only read (validation,
 * conditions, task context), so the tree needs no per-value allocation:
 * nodes and unescaped strings live in a few large chunks freed together.
 * (jansson's tree cost a third of the daemon's CPU, most of it malloc.)
 * The grammar is RFC 8259 as jansson reads it with JSON_DECODE_ANY and
 * JSON_REJECT_DUPLICATES: any value at the top, duplicate keys, \u0000,
 * invalid UTF-8 and integers beyond int64 refused, nesting up to 2048. */
#ifndef FU_JDOC_H
#define FU_JDOC_H

#include <stddef.h>
#include <stdint.h>

#include "jsonw.h"

#define JDOC_MAX_DEPTH 2048

enum jdoc_type {
    JDOC_NULL = 0,
    JDOC_FALSE,
    JDOC_TRUE,
    JDOC_INT,
    JDOC_REAL,
    JDOC_STRING,
    JDOC_ARRAY,
    JDOC_OBJECT,
};

struct jnode {
    struct jnode *next;  /* next element of the parent array or object */
    const char *key;     /* member name (NUL-terminated), NULL in arrays */
    uint32_t klen;       /* bytes of key */
    uint32_t len;        /* bytes of a string; children of a container */
    uint32_t key_end;    /* input offset just past the key (errors) */
    unsigned char type;  /* enum jdoc_type */
    union {
        int64_t i;          /* JDOC_INT */
        double d;           /* JDOC_REAL */
        const char *s;      /* JDOC_STRING, NUL-terminated */
        struct jnode *first; /* JDOC_ARRAY, JDOC_OBJECT */
    } u;
};

enum jdoc_error_code {
    JDOC_OK = 0,
    JDOC_ENOMEM,
    JDOC_ESYNTAX,   /* not JSON here */
    JDOC_EEOF,      /* the input ends inside a value */
    JDOC_ETRAILING, /* text after the value */
    JDOC_EUTF8,     /* invalid UTF-8 */
    JDOC_ENUL,      /* \u0000 in a string */
    JDOC_EDUPKEY,   /* a key twice in one object */
    JDOC_ERANGE,    /* an integer beyond int64, a real beyond double */
    JDOC_EDEPTH,    /* nested deeper than JDOC_MAX_DEPTH */
    JDOC_EEMPTY,    /* nothing but white space */
};

/* Where parsing stopped: line and column are 1-based; the column counts
 * code points up to and including the last one read, as jansson does. */
struct jdoc_error {
    enum jdoc_error_code code;
    int line, column;
};

struct jdoc_chunk;
struct jdoc {
    struct jdoc_chunk *chunks;
    const struct jnode *root; /* NULL until a parse succeeds */
};

/* Parse buf[0..len) (need not be NUL-terminated) into doc, which the
 * caller releases with jdoc_release whatever the result. Returns 0, or -1
 * with err filled. */
int jdoc_parse(struct jdoc *doc, const char *buf, size_t len,
               struct jdoc_error *err);
/* Free everything doc holds and zero it; safe on a zeroed doc and twice. */
void jdoc_release(struct jdoc *doc);

/* obj's member named key[0..n), or NULL (also when obj is NULL or not an
 * object). */
const struct jnode *jdoc_getn(const struct jnode *obj, const char *key,
                              size_t n);
const struct jnode *jdoc_get(const struct jnode *obj, const char *key);
/* The value of a number node as a double. */
double jdoc_number(const struct jnode *v);

/* Compact JSON text of v appended to w, at any depth. Reals get the
 * shortest of 15 or 17 significant digits that reads back as the same
 * double (6200.00 -> 6200.0, 0.1 -> 0.1), so nothing is rounded. */
void jdoc_write(struct jsonw *w, const struct jnode *v);

#endif
