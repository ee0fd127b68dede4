/* fuzz_outbox.c -- the outbox entry decoder (lib/store_redis.c's
 * "<topic> <at> <key>\n<value>"): a damaged entry is refused, never a
 * crash; one that decodes encodes back to the same entry. */
#include "fuzz.h"

#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct out_msg m;
    if (outbox_decode((const char *)data, size, &m) < 0) return 0;
    char *again = outbox_encode(&m);
    FUZZ_ASSERT(again);
    struct out_msg m2;
    FUZZ_ASSERT(outbox_decode(again, strlen(again), &m2) == 0);
    FUZZ_ASSERT(m2.topic == m.topic && m2.at == m.at);
    FUZZ_ASSERT((!m.key && !m2.key) || (m.key && m2.key && !strcmp(m.key, m2.key)));
    FUZZ_ASSERT(!strcmp(m.value, m2.value));
    free(again);
    free(m.key);
    free(m.value);
    free(m2.key);
    free(m2.value);
    return 0;
}
