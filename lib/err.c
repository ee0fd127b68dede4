/* err.c -- struct fu_err helpers: set, format, map to exit codes. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void err_vset(struct fu_err *err, int code, const char *fmt,
                     va_list ap) {
    err->code = code;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int fu_err_set(struct fu_err *err, int code, const char *fmt, ...) {
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, fmt, ap);
    va_end(ap);
    err->file[0] = '\0';
    err->line = err->col = 0;
    return -1;
}

int fu_err_at(struct fu_err *err, int code, const char *file, int line,
              int col, const char *fmt, ...) {
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, fmt, ap);
    va_end(ap);
    snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
    err->line = line;
    err->col = col;
    return -1;
}

void fu_err_clear(struct fu_err *err) {
    if (err) memset(err, 0, sizeof(*err));
}

const char *fu_err_str(const struct fu_err *err, char *buf, unsigned size) {
    if (err->file[0] && err->line > 0)
        snprintf(buf, size, "%s:%d:%d: %s", err->file, err->line, err->col,
                 err->msg);
    else if (err->file[0])
        snprintf(buf, size, "%s: %s", err->file, err->msg);
    else
        snprintf(buf, size, "%s", err->msg);
    return buf;
}

int fu_err_exit_code(int code) {
    switch (code) {
    case FU_OK: return 0;
    case FU_EINVAL: return 1;
    case FU_EUSAGE: return 2;
    default: return 3;
    }
}

void fu_bug(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "BUG: %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

int fu_diag_add(struct fu_diag *d, const struct fu_err *err) {
    if (d->n < d->cap) {
        d->items[d->n] = *err;
    } else if (d->cap < 100) {
        int ncap = d->cap ? d->cap * 2 : 8;
        struct fu_err *ni = realloc(d->items, sizeof(*ni) * (size_t)ncap);
        if (!ni) return -1;
        d->items = ni;
        d->cap = ncap;
        d->items[d->n] = *err;
    }
    d->n++;
    return -1;
}

int fu_diag_at(struct fu_diag *d, const char *file, int line, int col,
               const char *fmt, ...) {
    struct fu_err e;
    va_list ap;
    fu_err_clear(&e);
    e.code = FU_EINVAL;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
    va_end(ap);
    snprintf(e.file, sizeof(e.file), "%s", file ? file : "");
    e.line = line;
    e.col = col;
    return fu_diag_add(d, &e);
}

void fu_diag_release(struct fu_diag *d) {
    if (!d) return;
    free(d->items);
    d->items = NULL;
    d->n = d->cap = 0;
}
