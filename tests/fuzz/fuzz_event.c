/* fuzz_event.c -- the event parser and validator (lib/event.c over
 * lib/jdoc.c): any bytes are an event or a dead-letter reason, never a
 * crash; a reason never echoes the input's values (it is logged). */
#include "fuzz.h"

#include "event.h"

static struct tzdb *zones;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct event ev;
    struct fu_err err;
    if (!zones && !(zones = tzdb_new(NULL))) abort();
    fu_err_clear(&err);
    if (event_parse((const char *)data, size, zones, &ev, &err) == 0) {
        FUZZ_ASSERT(ev.event_id && ev.user_id && ev.type);
        event_release(&ev);
        return 0;
    }
    FUZZ_ASSERT(err.code == FU_EINVAL || err.code == FU_ENOMEM);
    FUZZ_ASSERT(err.msg[0] != '\0' && strlen(err.msg) < sizeof(err.msg));
    return 0;
}
