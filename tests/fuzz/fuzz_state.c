/* fuzz_state.c -- the state codec (lib/state_codec.c): a damaged stored
 * value is refused cleanly, and a value that decodes encodes to one that
 * decodes to the same encoding (nothing lost or invented on the way). */
#include "fuzz.h"

#include "state_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct fu_err err;
    fu_err_clear(&err);
    struct user_state *st = state_decode((const char *)data, size, &err);
    if (!st) {
        FUZZ_ASSERT(err.code == FU_EFATAL || err.code == FU_ENOMEM);
        return 0;
    }
    char *once = state_encode(st);
    FUZZ_ASSERT(once);
    struct user_state *again = state_decode(once, strlen(once), &err);
    FUZZ_ASSERT(again);
    char *twice = state_encode(again);
    FUZZ_ASSERT(twice && !strcmp(once, twice));
    free(once);
    free(twice);
    user_state_free(st);
    user_state_free(again);
    return 0;
}
