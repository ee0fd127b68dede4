/* cond.h -- the `when` condition language, compiled once at policy load.
 *
 * A leaf is `PATH OP LITERAL` (OP one of == != > >= < <= in, not in) or
 * `PATH exists` / `PATH missing`; groups are all / any / not. PATH is a
 * dotted path into the event. Comparing a missing field is false, never an
 * error. Evaluation reads the event through a lookup callback, so this
 * module knows nothing of JSON libraries. */
#ifndef FU_COND_H
#define FU_COND_H

#include <stddef.h>

#include "err.h"

#define COND_MAX_SEGS 32 /* segments of a PATH */

enum cond_value_type {
    CV_MISSING = 0,
    CV_NULL,
    CV_BOOL,
    CV_NUMBER,
    CV_STRING,
    CV_OTHER, /* object or array: only `exists` is true of it */
};

struct cond_value {
    enum cond_value_type type;
    int b;
    double num;
    const char *str; /* borrowed, NUL-terminated */
};

/* Look up the path segs[0..nsegs) in ctx; fill out (CV_MISSING when any
 * segment is absent). Returns 0. */
typedef int cond_lookup_fn(const void *ctx, const char *const *segs,
                           int nsegs, struct cond_value *out);

enum cond_kind { COND_LEAF, COND_ALL, COND_ANY, COND_NOT };

struct cond;

/* Compile one leaf from text. On error returns NULL, fills err (FU_EINVAL,
 * message says what to write instead) and sets *err_offset to the byte
 * offset in text where the problem starts (for the caret). */
struct cond *cond_parse(const char *text, int *err_offset, struct fu_err *err);

/* A new empty all/any/not group; NULL on ENOMEM. */
struct cond *cond_new_group(enum cond_kind kind);
/* Append child to group, taking it (freed on failure too). 0 / -1. A NOT
 * group takes exactly one child: a second one is -1. */
int cond_group_add_take(struct cond *group, struct cond *child);

/* 1 if the condition holds, 0 if not. NULL holds. */
int cond_eval(const struct cond *c, cond_lookup_fn *lookup, const void *ctx);

void cond_free(struct cond *c);

#endif
