/* fuzz.h -- what every fuzz target shares: the libFuzzer entry point's
 * prototype, a NUL-terminated copy of the input, and the check that
 * stops a run when a property fails (libFuzzer keeps the input).
 * tests/fuzz/replay.c runs a target over files (make test: the corpus
 * and every crash found, kept in tests/fuzz/regress/). */
#ifndef FU_FUZZ_H
#define FU_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data[0..size) as a C string (a NUL inside ends it early); free it. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#define FUZZ_ASSERT(cond)                                                  \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__,     \
                    __LINE__, #cond);                                      \
            abort();                                                       \
        }                                                                  \
    } while (0)

#endif
