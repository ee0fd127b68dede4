/* store_memory.c -- the in-process state store (simulate, demo, tests).
 *
 * Users live in a chained hash table; the due index is a binary min-heap of
 * (due, seq, user) with lazy deletion: each user remembers the one entry
 * that is current, and stale heap entries are skipped when they surface.
 * Nothing here scans all users. Not durable, single-threaded. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mem_user {
    char *user_id;
    struct user_state *st; /* NULL while checked out or when empty */
    int indexed;           /* idx_due/idx_seq name the current heap entry */
    int64_t idx_due;
    uint64_t idx_seq;
    struct mem_user *next; /* hash chain */
};

struct heap_item {
    int64_t due;
    uint64_t seq;
    struct mem_user *u;
};

struct mem_store {
    struct mem_user **buckets;
    size_t nbuckets, nusers;
    struct heap_item *heap;
    size_t nheap, capheap;
};

/* ---- Users ---- */

static uint64_t hash_str(const char *s) {
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int rehash(struct mem_store *ms) {
    size_t n = ms->nbuckets ? ms->nbuckets * 2 : 1024;
    struct mem_user **nb = calloc(n, sizeof(*nb));
    if (!nb) return -1;
    for (size_t i = 0; i < ms->nbuckets; i++) {
        struct mem_user *u = ms->buckets[i], *next;
        for (; u; u = next) {
            next = u->next;
            size_t b = hash_str(u->user_id) & (n - 1);
            u->next = nb[b];
            nb[b] = u;
        }
    }
    free(ms->buckets);
    ms->buckets = nb;
    ms->nbuckets = n;
    return 0;
}

/* The entry of user_id, created when missing; NULL on ENOMEM. */
static struct mem_user *user_get(struct mem_store *ms, const char *user_id) {
    if (ms->nusers >= ms->nbuckets && rehash(ms) < 0) return NULL;
    size_t b = hash_str(user_id) & (ms->nbuckets - 1);
    for (struct mem_user *u = ms->buckets[b]; u; u = u->next)
        if (!strcmp(u->user_id, user_id)) return u;
    struct mem_user *u = calloc(1, sizeof(*u));
    if (!u || !(u->user_id = strdup(user_id))) {
        free(u);
        return NULL;
    }
    u->next = ms->buckets[b];
    ms->buckets[b] = u;
    ms->nusers++;
    return u;
}

/* ---- Heap ---- */

static int heap_less(const struct heap_item *a, const struct heap_item *b) {
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_swap(struct heap_item *a, struct heap_item *b) {
    struct heap_item t = *a;
    *a = *b;
    *b = t;
}

static int heap_push(struct mem_store *ms, struct heap_item it) {
    if (ms->nheap == ms->capheap) {
        size_t n = ms->capheap ? ms->capheap * 2 : 1024;
        struct heap_item *nh = realloc(ms->heap, n * sizeof(*nh));
        if (!nh) return -1;
        ms->heap = nh;
        ms->capheap = n;
    }
    size_t i = ms->nheap++;
    ms->heap[i] = it;
    while (i > 0 && heap_less(&ms->heap[i], &ms->heap[(i - 1) / 2])) {
        heap_swap(&ms->heap[i], &ms->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    return 0;
}

static void heap_pop(struct mem_store *ms) {
    ms->heap[0] = ms->heap[--ms->nheap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < ms->nheap && heap_less(&ms->heap[l], &ms->heap[m])) m = l;
        if (r < ms->nheap && heap_less(&ms->heap[r], &ms->heap[m])) m = r;
        if (m == i) break;
        heap_swap(&ms->heap[i], &ms->heap[m]);
        i = m;
    }
}

static int heap_top_current(const struct heap_item *it) {
    const struct mem_user *u = it->u;
    return u->indexed && u->idx_due == it->due && u->idx_seq == it->seq;
}

/* ---- store_ops ---- */

static int mem_load(void *ctx, const char *user_id, struct user_state **out,
                    struct fu_err *err) {
    struct mem_store *ms = ctx;
    struct mem_user *u = user_get(ms, user_id);
    if (!u) return fu_err_set(err, FU_ENOMEM, "out of memory");
    if (u->st) {
        *out = u->st;
        u->st = NULL;
        return 0;
    }
    *out = user_state_new(user_id);
    return *out ? 0 : fu_err_set(err, FU_ENOMEM, "out of memory");
}

static int mem_save(void *ctx, struct user_state *st, int64_t keep_until,
                    struct fu_err *err) {
    struct mem_store *ms = ctx;
    struct mem_user *u = user_get(ms, st->user_id);
    int64_t due;
    uint64_t seq;
    (void)keep_until; /* the engine prunes; nothing here outlives a run */
    if (!u) {
        user_state_free(st);
        return fu_err_set(err, FU_ENOMEM, "out of memory");
    }
    user_state_free(u->st);
    st->version++;
    u->st = st;
    if (!user_state_next_due(st, &due, &seq)) {
        u->indexed = 0;
    } else if (!u->indexed || u->idx_due != due || u->idx_seq != seq) {
        struct heap_item it = {due, seq, u};
        if (heap_push(ms, it) < 0)
            return fu_err_set(err, FU_ENOMEM, "out of memory");
        u->indexed = 1;
        u->idx_due = due;
        u->idx_seq = seq;
    }
    if (user_state_empty(st)) {
        user_state_free(st);
        u->st = NULL;
    }
    return 0;
}

static int mem_next_due(void *ctx, int64_t until, char *buf, size_t size,
                        int64_t *due, struct fu_err *err) {
    struct mem_store *ms = ctx;
    (void)err;
    while (ms->nheap > 0 && !heap_top_current(&ms->heap[0])) heap_pop(ms);
    if (ms->nheap == 0 || ms->heap[0].due > until) return 0;
    snprintf(buf, size, "%s", ms->heap[0].u->user_id);
    *due = ms->heap[0].due;
    return 1;
}

static void mem_free(void *ctx) {
    struct mem_store *ms = ctx;
    if (!ms) return;
    for (size_t i = 0; i < ms->nbuckets; i++) {
        struct mem_user *u = ms->buckets[i], *next;
        for (; u; u = next) {
            next = u->next;
            user_state_free(u->st);
            free(u->user_id);
            free(u);
        }
    }
    free(ms->buckets);
    free(ms->heap);
    free(ms);
}

static const struct store_ops mem_ops = {mem_load, mem_save, mem_next_due,
                                         mem_free};

int store_memory_open(struct store *out, struct fu_err *err) {
    struct mem_store *ms = calloc(1, sizeof(*ms));
    if (!ms || rehash(ms) < 0) {
        free(ms);
        return fu_err_set(err, FU_ENOMEM, "out of memory");
    }
    out->ops = &mem_ops;
    out->ctx = ms;
    return 0;
}

void store_close(struct store *s) {
    if (!s || !s->ops) return;
    s->ops->free(s->ctx);
    s->ops = NULL;
    s->ctx = NULL;
}
