/* args.h -- command-line number parsing shared by the test tools. */
#ifndef FU_TOOLS_ARGS_H
#define FU_TOOLS_ARGS_H

#include <errno.h>
#include <stdlib.h>

/* A whole decimal int in [min, max]. 0 ok, -1 bad. */
static inline int parse_int(const char *s, long min, long max, int *out) {
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) return -1;
    *out = (int)v;
    return 0;
}

#endif
