/* fuzz_cond.c -- the condition language (lib/cond.c): any text parses
 * or fails with an offset inside it; what parses evaluates, whatever type
 * each path turns out to have, without crashing. */
#include "fuzz.h"

#include "cond.h"

/* A value of a type chosen by the path's first letter. */
static int lookup(const void *ctx, const char *const *segs, int nsegs,
                  struct cond_value *out) {
    (void)ctx;
    memset(out, 0, sizeof(*out));
    switch (nsegs > 0 && segs[0] ? segs[0][0] : 0) {
    case 'n': out->type = CV_NUMBER, out->num = 42.5; break;
    case 's': out->type = CV_STRING, out->str = "abc"; break;
    case 'b': out->type = CV_BOOL, out->b = 1; break;
    case 'z': out->type = CV_NULL; break;
    case 'o': out->type = CV_OTHER; break;
    default: out->type = CV_MISSING; break;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_cstr(data, size);
    struct fu_err err;
    int offset = -1;
    struct cond *c = cond_parse(text, &offset, &err);
    if (c) {
        int v = cond_eval(c, lookup, NULL);
        FUZZ_ASSERT(v == 0 || v == 1);
        cond_free(c);
    } else {
        FUZZ_ASSERT(offset >= 0 && (size_t)offset <= strlen(text));
    }
    free(text);
    return 0;
}
