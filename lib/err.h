/* err.h -- error values shared by every module.
 *
 * Functions in lib/ return 0 / -1 (or a pointer / NULL) and put the detail
 * in a caller-owned struct fu_err. Codes map onto the exit codes of the
 * command line (see fu_err_exit_code). */
#ifndef FU_ERR_H
#define FU_ERR_H

enum fu_code {
    FU_OK = 0,
    FU_EINVAL,     /* bad input or config: exit 1 */
    FU_EUSAGE,     /* bad command line: exit 2 */
    FU_EFATAL,     /* runtime failure: exit 3 */
    FU_ETRANSIENT, /* retry later: Redis or broker down */
    FU_ENOMEM,     /* allocation failed */
};

struct fu_err {
    int code;
    int line, col; /* 1-based; 0 = unknown */
    char file[256];
    char msg[512];
};

/* Fill err (may be NULL) and return -1, so a check is one line:
 * return fu_err_set(err, FU_EINVAL, "unknown key '%s'", key); */
int fu_err_set(struct fu_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like fu_err_set, with a source location (file may be NULL). */
int fu_err_at(struct fu_err *err, int code, const char *file, int line,
              int col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

void fu_err_clear(struct fu_err *err);

/* "file:line:col: msg" (or just msg) into buf; returns buf. */
const char *fu_err_str(const struct fu_err *err, char *buf, unsigned size);

/* Exit code of the command line for an error code (0,1,2,3). */
int fu_err_exit_code(int code);

/* A list of problems, for validators that report all of them at once
 * (followupd check). Owns its items. */
struct fu_diag {
    int n, cap;
    struct fu_err *items;
};

/* Append a copy of err; keeps at most 100 (later ones are counted only).
 * Returns -1 so callers can `return fu_diag_add(...)`. */
int fu_diag_add(struct fu_diag *d, const struct fu_err *err);
/* Report err (location and all) into d: the short form of
 * fu_err_at + fu_diag_add. Returns -1. */
int fu_diag_at(struct fu_diag *d, const char *file, int line, int col,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void fu_diag_release(struct fu_diag *d);

/* Abort with file:line for programmer errors only. */
#define FU_BUG(...) fu_bug(__FILE__, __LINE__, __VA_ARGS__)
void fu_bug(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

#endif
