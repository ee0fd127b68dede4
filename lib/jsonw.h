/* jsonw.h -- a small JSON text writer for output messages.
 *
 * Output keys come out in the order written and in the spaced style of the
 * spec (`{"a": 1, "b": "x"}`), deterministically, without building a tree.
 * Invariant: buf is never NULL after jsonw_init and always NUL-terminated.
 * An allocation failure, or nesting deeper than JSONW_MAX_DEPTH - 1, sets
 * oom and makes later calls no-ops; jsonw_detach then returns NULL. The
 * writer does not check that the calls form a valid document. */
#ifndef FU_JSONW_H
#define FU_JSONW_H

#include <stddef.h>
#include <stdint.h>

#define JSONW_MAX_DEPTH 32

struct jsonw {
    char *buf;
    size_t len, cap;
    int depth;
    unsigned char first[JSONW_MAX_DEPTH]; /* no member written yet */
    int after_key;
    int oom;
    int compact; /* set after init: `{"a":1,"b":2}` (stored state) */
};

/* Cannot fail (allocates on the first write). */
void jsonw_init(struct jsonw *w);
/* Free the buffer; w is re-initialised and may be used again. */
void jsonw_release(struct jsonw *w);
/* Hand the text to the caller (free() it); w is re-initialised. NULL if
 * an allocation failed on the way. */
char *jsonw_detach(struct jsonw *w);
/* Start over with an empty text, keeping the buffer; clears oom. */
void jsonw_reset(struct jsonw *w);

void jsonw_obj_open(struct jsonw *w);
void jsonw_obj_close(struct jsonw *w);
void jsonw_arr_open(struct jsonw *w);
void jsonw_arr_close(struct jsonw *w);
void jsonw_key(struct jsonw *w, const char *key);
void jsonw_str(struct jsonw *w, const char *s);          /* NULL -> null */
void jsonw_strn(struct jsonw *w, const char *s, size_t n);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_bool(struct jsonw *w, int v);
void jsonw_null(struct jsonw *w);
/* RFC 3339 UTC ("2026-11-20T11:15:00Z"); TIME_NONE -> null */
void jsonw_time(struct jsonw *w, int64_t t);
/* Already-valid JSON text, copied as is (NULL -> null). */
void jsonw_raw(struct jsonw *w, const char *json);

/* For writers of nested text (jdoc_write): bytes, or s[0..n) quoted and
 * escaped, appended with no separator and no depth bound. */
void jsonw_rawn(struct jsonw *w, const char *s, size_t n);
void jsonw_quoted(struct jsonw *w, const char *s, size_t n);

/* Shorthands: key + value. */
void jsonw_kstr(struct jsonw *w, const char *key, const char *s);
void jsonw_kint(struct jsonw *w, const char *key, int64_t v);
void jsonw_ktime(struct jsonw *w, const char *key, int64_t t);
void jsonw_knull(struct jsonw *w, const char *key);

#endif
