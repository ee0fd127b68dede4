/* outmsg.c -- output messages and the plan that collects them.
 *
 * Shared by the engine (which fills plans), the stores (which queue them
 * in their outbox) and the drivers (which print or produce them). */
#include "outmsg.h"

#include <stdlib.h>
#include <string.h>

void plan_init(struct plan *plan) { memset(plan, 0, sizeof(*plan)); }

void plan_reset(struct plan *plan) {
    for (int i = 0; i < plan->n; i++) {
        free(plan->msgs[i].key);
        free(plan->msgs[i].value);
    }
    plan->n = 0;
    plan->ignored = 0;
    plan->note = NULL;
}

void plan_release(struct plan *plan) {
    plan_reset(plan);
    free(plan->msgs);
    plan_init(plan);
}

int plan_add_take(struct plan *plan, enum out_topic topic, int64_t at,
                  char *key, char *value) {
    if (!value || plan->n == plan->cap) {
        int ncap = plan->cap ? plan->cap * 2 : 16;
        struct out_msg *nm =
            value ? realloc(plan->msgs, sizeof(*nm) * (size_t)ncap) : NULL;
        if (!nm) {
            free(key);
            free(value);
            return -1;
        }
        plan->msgs = nm;
        plan->cap = ncap;
    }
    struct out_msg *m = &plan->msgs[plan->n++];
    m->topic = topic;
    m->at = at;
    m->key = key;
    m->value = value;
    return 0;
}

const char *out_topic_name(enum out_topic topic) {
    static const char *const names[] = {"tasks", "reminders", "decisions",
                                        "dead_letter"};
    return names[topic];
}
