/* store.c -- what every store shares: single-user helpers over the batch
 * calls, the outbox message encoding, closing. */
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_load_one(struct store *s, const char *user,
                   struct user_state **out, struct fu_err *err) {
    const char *users[1] = {user};
    return s->ops->load(s->ctx, users, 1, out, err);
}

int store_save_one(struct store *s, struct user_state *st, int64_t ttl,
                   const struct plan *outbox, struct fu_err *err) {
    struct store_write w = {st, ttl, outbox, 0};
    if (s->ops->save(s->ctx, &w, 1, err) < 0) return -1;
    if (w.conflict)
        return fu_err_set(err, FU_ETRANSIENT,
                          "another writer saved the user's state first");
    return 0;
}

void outbox_msg_release(struct outbox_msg *m) {
    free(m->msg.key);
    free(m->msg.value);
    memset(m, 0, sizeof(*m));
}

/* Keys are user ids, which never hold a newline or are empty (event.c
 * rejects such ids), so "" stands for no key and a newline ends it. */
char *outbox_encode(const struct out_msg *m) {
    const char *key = m->key ? m->key : "";
    size_t n = strlen(key) + strlen(m->value) + 48;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%d %" PRId64 " %s\n%s", (int)m->topic, m->at, key,
                 m->value);
    return s;
}

/* A decimal integer ([-]digits) at p, before end: past it, or NULL. */
static const char *take_int(const char *p, const char *end, int64_t *out) {
    int neg = p < end && *p == '-';
    uint64_t v = 0;
    const char *start = p += neg;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10) return NULL;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (p == start || v > (uint64_t)INT64_MAX + (uint64_t)neg) return NULL;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return p;
}

int outbox_decode(const char *s, size_t len, struct out_msg *m) {
    const char *end = s + len, *nl = memchr(s, '\n', len);
    memset(m, 0, sizeof(*m));
    /* a NUL byte is never in an entry we wrote: the entry is damaged */
    if (!nl || memchr(s, '\0', len)) return -1;
    int64_t topic, at;
    const char *q = s;
    /* s is not NUL-terminated: no strtol here */
    if (!(q = take_int(q, nl, &topic)) || *q != ' ' || topic < OUT_TASKS ||
        topic > OUT_TOPIC_LAST || !(q = take_int(q + 1, nl, &at)) || *q != ' ')
        return -1;
    m->topic = (enum out_topic)topic;
    m->at = at;
    q++; /* the key runs to the newline; empty: no key */
    if (q < nl && !(m->key = strndup(q, (size_t)(nl - q)))) return -1;
    if (!(m->value = strndup(nl + 1, (size_t)(end - nl - 1)))) {
        free(m->key);
        m->key = NULL;
        return -1;
    }
    return 0;
}

void store_close(struct store *s) {
    if (!s || !s->ops) return;
    s->ops->free(s->ctx);
    s->ops = NULL;
    s->ctx = NULL;
}
