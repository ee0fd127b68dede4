/* fuzz_policy.c -- the policy loader (lib/policy.c over libyaml): any
 * bytes are a policy or problems with a place, never a crash, a hang or
 * unbounded memory (anchors, alias bombs, deep nesting, huge scalars,
 * wrong types). */
#include "fuzz.h"

#include "policy.h"

static struct tzdb *zones;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct fu_diag diag = {0};
    if (!zones && !(zones = tzdb_new(NULL))) abort();
    struct policy *pol = policy_load_buffer("fuzz.yaml", (const char *)data,
                                            size, zones, &diag);
    if (pol) {
        FUZZ_ASSERT(diag.n == 0 && pol->version[0] != '\0');
        policy_release(pol);
    } else {
        FUZZ_ASSERT(diag.n > 0);
    }
    fu_diag_release(&diag);
    return 0;
}
