/* outmsg.c -- output messages and the plan that collects them.
 *
 * Shared by the engine (which fills plans), the stores (which queue them
 * in their outbox) and the drivers (which print or produce them). */
#include "outmsg.h"

#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "utf8.h"

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
                                        "dead_letter", "messages",
                                        "pacing"};
    return names[topic];
}

/* ---- Dead letters ---- */

/* payload[0..len) as valid UTF-8 (each invalid byte becomes U+FFFD), cut
 * at a character boundary before max bytes; *cut says whether it was.
 * malloc'd, NULL on ENOMEM. */
static char *valid_utf8(const char *payload, size_t len, size_t max,
                        int *cut, size_t *out_len) {
    size_t cap = (len < max ? len : max) * 3 + 4, o = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    *cut = 0;
    for (size_t i = 0; i < len;) {
        size_t k = (size_t)utf8_seq(payload + i, payload + len);
        const char *src = k ? payload + i : "\xEF\xBF\xBD";
        size_t w = k ? k : 3;
        if (i + (k ? k : 1) > max) {
            *cut = 1;
            break;
        }
        memcpy(out + o, src, w);
        o += w;
        i += k ? k : 1;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

char *outmsg_dead_letter(const char *error, const char *topic,
                         int32_t partition, int64_t offset,
                         const char *payload, size_t len) {
    struct jsonw w;
    int cut;
    size_t n;
    char *text = valid_utf8(payload ? payload : "", payload ? len : 0,
                            DEAD_LETTER_PAYLOAD_MAX, &cut, &n);
    if (!text) return NULL;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_kstr(&w, "schema", "followupd.dead_letter/v1");
    jsonw_kstr(&w, "error", error);
    jsonw_key(&w, "source");
    jsonw_obj_open(&w);
    jsonw_kstr(&w, "topic", topic);
    jsonw_kint(&w, "partition", partition);
    jsonw_kint(&w, "offset", offset);
    jsonw_obj_close(&w);
    jsonw_key(&w, "payload");
    jsonw_strn(&w, text, n);
    if (cut) {
        jsonw_key(&w, "payload_truncated");
        jsonw_bool(&w, 1);
    }
    jsonw_obj_close(&w);
    free(text);
    return jsonw_detach(&w);
}
