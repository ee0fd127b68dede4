/* store_memory.c -- the in-process state store (simulate, demo, tests).
 *
 * Users live in a chained hash table; the due index is a binary min-heap of
 * (due, seq, user) with lazy deletion: each user remembers the one entry
 * that is current, and stale heap entries are skipped when they surface.
 * The outbox is a FIFO of leased messages. Nothing here scans all users.
 * Not durable. Alone, a store is single-threaded and a load checks the
 * state out, so a load never conflicts. Shared (store_memory_share: the
 * daemon's intake and emitter threads), every call holds a lock, a load
 * hands out a copy, and a save whose version is not the stored one is a
 * conflict, as on Redis. Paced calls (spec 4.3) wait in a heap in serving
 * order (pacing.c); taken ones sit in a short leased list until done. */
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "state_codec.h"
#include "timeutil.h"

struct mem_user {
    char *user_id;
    struct user_state *st; /* NULL while checked out or when empty */
    uint64_t version;      /* of the last save, kept when st is dropped */
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

struct mem_outbox_item {
    uint64_t id;
    int64_t visible_at; /* leased until then; INT64_MAX once confirmed */
    struct out_msg msg;
};

struct mem_store {
    struct mem_user **buckets;
    size_t nbuckets, nusers;
    struct heap_item *heap;
    size_t nheap, capheap;
    struct mem_outbox_item *outbox; /* FIFO: [head, n) are live */
    size_t outbox_head, noutbox, capoutbox;
    uint64_t next_outbox_id;
    struct pacer waiting;       /* paced calls queued, best first */
    struct paced_call *taken;   /* taken and not done, leased */
    int64_t *taken_until;
    int ntaken, captaken;
    /* shared by two handles (store_memory_share) */
    int shared, handles;
    pthread_mutex_t lock;
};

/* ---- Users ---- */

static int rehash(struct mem_store *ms) {
    size_t n = ms->nbuckets ? ms->nbuckets * 2 : 1024;
    struct mem_user **nb = calloc(n, sizeof(*nb));
    if (!nb) return -1;
    for (size_t i = 0; i < ms->nbuckets; i++) {
        struct mem_user *u = ms->buckets[i], *next;
        for (; u; u = next) {
            next = u->next;
            size_t b = hash64_str(u->user_id) & (n - 1);
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
    size_t b = hash64_str(user_id) & (ms->nbuckets - 1);
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

/* ---- State ---- */

/* A copy of st through the codec (shared stores hand out copies). */
static struct user_state *state_copy(const struct user_state *st) {
    struct fu_err err;
    char *blob = state_encode(st);
    struct user_state *copy = blob ? state_decode(blob, strlen(blob), &err)
                                   : NULL;
    free(blob);
    if (copy) copy->version = st->version;
    return copy;
}

/* User u's state for a caller: checked out when alone, copied when
 * shared, new when there is none. NULL on ENOMEM. */
static struct user_state *state_out(struct mem_store *ms, struct mem_user *u,
                                    const char *user_id) {
    struct user_state *st;
    if (u && u->st && ms->shared) return state_copy(u->st);
    if (u && u->st) {
        st = u->st;
        u->st = NULL;
        return st;
    }
    if (!u || !(st = user_state_new(user_id))) return NULL;
    st->version = u->version;
    return st;
}

static int mem_load(void *ctx, const char *const *users, int n,
                    struct user_state **out, struct fu_err *err) {
    struct mem_store *ms = ctx;
    for (int i = 0; i < n; i++) {
        if (!(out[i] = state_out(ms, user_get(ms, users[i]), users[i]))) {
            for (int j = 0; j < i; j++) user_state_free(out[j]);
            return fu_err_set(err, FU_ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* Point the due index at the user's earliest item. */
static int reindex(struct mem_store *ms, struct mem_user *u,
                   const struct user_state *st) {
    int64_t due;
    uint64_t seq;
    if (!user_state_next_due(st, &due, &seq)) {
        u->indexed = 0;
        return 0;
    }
    if (u->indexed && u->idx_due == due && u->idx_seq == seq) return 0;
    struct heap_item it = {due, seq, u};
    if (heap_push(ms, it) < 0) return -1;
    u->indexed = 1;
    u->idx_due = due;
    u->idx_seq = seq;
    return 0;
}

static int outbox_push(struct mem_store *ms, const struct out_msg *m) {
    if (ms->noutbox == ms->capoutbox) {
        size_t n = ms->capoutbox ? ms->capoutbox * 2 : 256;
        struct mem_outbox_item *no = realloc(ms->outbox, n * sizeof(*no));
        if (!no) return -1;
        ms->outbox = no;
        ms->capoutbox = n;
    }
    struct mem_outbox_item *it = &ms->outbox[ms->noutbox];
    it->msg.topic = m->topic;
    it->msg.at = m->at;
    it->msg.key = m->key ? strdup(m->key) : NULL;
    it->msg.value = strdup(m->value);
    if ((m->key && !it->msg.key) || !it->msg.value) {
        free(it->msg.key);
        free(it->msg.value);
        return -1;
    }
    it->id = ++ms->next_outbox_id;
    it->visible_at = INT64_MIN;
    ms->noutbox++;
    return 0;
}

static int save_one(struct mem_store *ms, struct store_write *w) {
    struct user_state *st = w->st;
    struct mem_user *u = user_get(ms, st->user_id);
    int rc = u ? 0 : -1;
    if (u && st->version != u->version) { /* saved by the other handle */
        w->conflict = 1;
        user_state_free(st);
        return 0;
    }
    for (int i = 0; rc == 0 && w->outbox && i < w->outbox->n; i++)
        rc = outbox_push(ms, &w->outbox->msgs[i]);
    if (rc < 0) {
        user_state_free(st);
        return -1;
    }
    user_state_free(u->st);
    u->version = ++st->version;
    u->st = st;
    rc = reindex(ms, u, st);
    if (user_state_empty(st)) {
        user_state_free(st);
        u->st = NULL;
    }
    return rc;
}

static int mem_save(void *ctx, struct store_write *w, int n,
                    struct fu_err *err) {
    struct mem_store *ms = ctx;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        w[i].conflict = 0;
        if (save_one(ms, &w[i]) < 0) rc = -1;
    }
    return rc < 0 ? fu_err_set(err, FU_ENOMEM, "out of memory") : 0;
}

/* ---- Due index ---- */

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

/* Hands each due user out once: its index entry is dropped until the
 * caller saves the user again (which re-indexes it). */
static int mem_due_users(void *ctx, int64_t now, char **users, int max,
                         struct fu_err *err) {
    struct mem_store *ms = ctx;
    int n = 0;
    while (n < max && ms->nheap > 0) {
        struct heap_item top = ms->heap[0];
        if (!heap_top_current(&top)) {
            heap_pop(ms);
            continue;
        }
        if (top.due > now) break;
        if (!(users[n] = strdup(top.u->user_id))) {
            while (n > 0) free(users[--n]);
            return fu_err_set(err, FU_ENOMEM, "out of memory");
        }
        n++;
        top.u->indexed = 0;
        heap_pop(ms);
    }
    return n;
}

/* ---- Outbox ---- */

/* Keys (user ids) of messages under a live lease, met in id order during
 * one claim: an open-addressing set of borrowed strings. */
struct held_users {
    const char **slot;
    size_t cap;
};

static size_t key_hash(const char *s) {
    size_t h = 5381;
    for (; *s; s++) h = h * 33 + (unsigned char)*s;
    return h;
}

/* 1 when key is in the set; with add, put it in. -1 on ENOMEM. */
static int held_find(struct held_users *h, const char *key, int add) {
    if (!h->cap) {
        if (!add) return 0;
        if (!(h->slot = calloc(64, sizeof(*h->slot)))) return -1;
        h->cap = 64;
    }
    size_t i = key_hash(key) & (h->cap - 1);
    for (; h->slot[i]; i = (i + 1) & (h->cap - 1))
        if (!strcmp(h->slot[i], key)) return 1;
    if (!add) return 0;
    h->slot[i] = key;
    return 0;
}

/* Adds key, growing the set to keep it at most half full. 0 / -1. */
static int held_add(struct held_users *h, const char *key, size_t *n) {
    if (2 * (*n + 1) > h->cap && h->cap) {
        struct held_users big = {calloc(2 * h->cap, sizeof(*h->slot)),
                                 2 * h->cap};
        if (!big.slot) return -1;
        for (size_t i = 0; i < h->cap; i++)
            if (h->slot[i]) held_find(&big, h->slot[i], 1);
        free(h->slot);
        *h = big;
    }
    int rc = held_find(h, key, 1);
    if (rc == 0) (*n)++;
    return rc < 0 ? -1 : 0;
}

/* A user's messages leave in the order they were written (as claim.lua
 * does on Redis): one whose user has an earlier message under a live
 * lease waits until that one is confirmed or leased again. */
static int mem_outbox_claim(void *ctx, int64_t now, int lease,
                            struct outbox_msg *out, int max,
                            struct fu_err *err) {
    struct mem_store *ms = ctx;
    struct held_users held = {NULL, 0};
    size_t nheld = 0;
    int n = 0;
    for (size_t i = ms->outbox_head; i < ms->noutbox && n < max; i++) {
        struct mem_outbox_item *it = &ms->outbox[i];
        const char *user = it->msg.key ? it->msg.key : "";
        if (it->visible_at == INT64_MAX) continue; /* confirmed */
        if (it->visible_at > now) {
            if (held_add(&held, user, &nheld) < 0) goto nomem;
            continue;
        }
        if (held_find(&held, user, 0)) continue;
        struct outbox_msg *o = &out[n];
        memset(o, 0, sizeof(*o));
        snprintf(o->id, sizeof(o->id), "%020llu", (unsigned long long)it->id);
        o->msg.topic = it->msg.topic;
        o->msg.at = it->msg.at;
        o->msg.key = it->msg.key ? strdup(it->msg.key) : NULL;
        o->msg.value = strdup(it->msg.value);
        if ((it->msg.key && !o->msg.key) || !o->msg.value) {
            outbox_msg_release(o);
            goto nomem;
        }
        it->visible_at = now + lease;
        n++;
    }
    free(held.slot);
    return n;
nomem:
    while (n > 0) outbox_msg_release(&out[--n]);
    free(held.slot);
    return fu_err_set(err, FU_ENOMEM, "out of memory");
}

static void outbox_compact(struct mem_store *ms) {
    while (ms->outbox_head < ms->noutbox &&
           ms->outbox[ms->outbox_head].visible_at == INT64_MAX)
        ms->outbox_head++;
    if (ms->outbox_head == ms->noutbox) ms->outbox_head = ms->noutbox = 0;
}

static int mem_outbox_confirm(void *ctx, const struct outbox_msg *msgs, int n,
                              struct fu_err *err) {
    struct mem_store *ms = ctx;
    (void)err;
    for (int k = 0; k < n; k++) {
        uint64_t id = strtoull(msgs[k].id, NULL, 10);
        for (size_t i = ms->outbox_head; i < ms->noutbox; i++) {
            struct mem_outbox_item *it = &ms->outbox[i];
            if (it->id != id || it->visible_at == INT64_MAX) continue;
            free(it->msg.key);
            free(it->msg.value);
            it->msg.key = it->msg.value = NULL;
            it->visible_at = INT64_MAX;
            break;
        }
    }
    outbox_compact(ms);
    return 0;
}

/* ---- Pacing (spec 4.3) ---- */

static int same_call(const struct paced_call *a, const struct paced_call *b) {
    return !strcmp(a->task_id, b->task_id) && !strcmp(a->user_id, b->user_id);
}

/* 1 when c is queued or taken already (a redelivered pacing entry). */
static int pacing_known(const struct mem_store *ms, const struct paced_call *c) {
    for (int i = 0; i < ms->waiting.n; i++)
        if (same_call(&ms->waiting.heap[i], c)) return 1;
    for (int i = 0; i < ms->ntaken; i++)
        if (same_call(&ms->taken[i], c)) return 1;
    return 0;
}

static int mem_pacing_add(void *ctx, const struct paced_call *calls, int n,
                          struct fu_err *err) {
    struct mem_store *ms = ctx;
    for (int i = 0; i < n; i++) {
        struct paced_call c = calls[i];
        if (pacing_known(ms, &c)) continue;
        if (!(c.user_id = strdup(calls[i].user_id)) ||
            pacer_push(&ms->waiting, &c) < 0)
            return fu_err_set(err, FU_ENOMEM, "out of memory");
    }
    return 0;
}

static void taken_remove(struct mem_store *ms, int i) {
    paced_call_release(&ms->taken[i]);
    ms->taken[i] = ms->taken[--ms->ntaken];
    ms->taken_until[i] = ms->taken_until[ms->ntaken];
}

/* Calls whose taker let the lease run out go back to the queue. */
static int pacing_requeue(struct mem_store *ms, int64_t now) {
    for (int i = 0; i < ms->ntaken;) {
        if (ms->taken_until[i] > now) {
            i++;
            continue;
        }
        struct paced_call c = ms->taken[i];
        ms->taken[i].user_id = NULL;
        taken_remove(ms, i);
        if (pacer_push(&ms->waiting, &c) < 0) return -1;
    }
    return 0;
}

static int taken_reserve(struct mem_store *ms, int more) {
    if (ms->ntaken + more <= ms->captaken) return 0;
    int ncap = ms->captaken ? ms->captaken : 16;
    while (ncap < ms->ntaken + more) ncap *= 2;
    struct paced_call *nt = realloc(ms->taken, sizeof(*nt) * (size_t)ncap);
    if (nt) ms->taken = nt;
    int64_t *nu = realloc(ms->taken_until, sizeof(*nu) * (size_t)ncap);
    if (nu) ms->taken_until = nu;
    if (!nt || !nu) return -1;
    ms->captaken = ncap;
    return 0;
}

static int mem_pacing_take(void *ctx, int64_t now, int limit, int lease,
                           struct paced_call *out, int max,
                           struct fu_err *err) {
    struct mem_store *ms = ctx;
    if (pacing_requeue(ms, now) < 0 || taken_reserve(ms, max) < 0)
        return fu_err_set(err, FU_ENOMEM, "out of memory");
    int left = pacer_budget(&ms->waiting, now, limit > 0 ? limit : max);
    int n = 0;
    while (n < max && n < left && ms->waiting.n > 0) {
        struct paced_call c;
        pacer_pop(&ms->waiting, &c);
        out[n] = c;
        if (!(out[n].user_id = strdup(c.user_id))) {
            pacer_push(&ms->waiting, &c);
            break;
        }
        ms->taken[ms->ntaken] = c;
        ms->taken_until[ms->ntaken++] = now + lease;
        pacer_spend(&ms->waiting, now);
        n++;
    }
    return n;
}

static int mem_pacing_done(void *ctx, const struct paced_call *calls, int n,
                           int64_t minute, int refund, struct fu_err *err) {
    struct mem_store *ms = ctx;
    (void)err;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < ms->ntaken; i++)
            if (same_call(&ms->taken[i], &calls[k])) {
                taken_remove(ms, i);
                break;
            }
    if (minute == ms->waiting.minute)
        ms->waiting.used -= refund < ms->waiting.used ? refund
                                                      : ms->waiting.used;
    return 0;
}

static void pacing_stats(const struct mem_store *ms, struct store_stats *out) {
    out->calls_waiting = ms->waiting.n + ms->ntaken;
    out->oldest_waiting = TIME_NONE;
    out->budget_used = ms->waiting.used;
    for (int i = 0; i < ms->waiting.n; i++)
        if (out->oldest_waiting == TIME_NONE ||
            ms->waiting.heap[i].due_at < out->oldest_waiting)
            out->oldest_waiting = ms->waiting.heap[i].due_at;
    for (int i = 0; i < ms->ntaken; i++)
        if (out->oldest_waiting == TIME_NONE ||
            ms->taken[i].due_at < out->oldest_waiting)
            out->oldest_waiting = ms->taken[i].due_at;
}

/* ---- Lifecycle ---- */

static void mem_free(void *ctx) {
    struct mem_store *ms = ctx;
    if (!ms) return;
    if (ms->shared) {
        pthread_mutex_lock(&ms->lock);
        int last = --ms->handles == 0;
        pthread_mutex_unlock(&ms->lock);
        if (!last) return;
        pthread_mutex_destroy(&ms->lock);
    }
    for (size_t i = 0; i < ms->nbuckets; i++) {
        struct mem_user *u = ms->buckets[i], *next;
        for (; u; u = next) {
            next = u->next;
            user_state_free(u->st);
            free(u->user_id);
            free(u);
        }
    }
    for (size_t i = ms->outbox_head; i < ms->noutbox; i++) {
        free(ms->outbox[i].msg.key);
        free(ms->outbox[i].msg.value);
    }
    free(ms->outbox);
    free(ms->buckets);
    free(ms->heap);
    pacer_release(&ms->waiting);
    while (ms->ntaken > 0) taken_remove(ms, ms->ntaken - 1);
    free(ms->taken);
    free(ms->taken_until);
    free(ms);
}

static int mem_stats(void *ctx, struct store_stats *out, struct fu_err *err) {
    struct mem_store *ms = ctx;
    (void)err;
    out->outbox_depth = 0;
    out->oldest_due = out->oldest_outbox = TIME_NONE;
    for (size_t i = ms->outbox_head; i < ms->noutbox; i++) {
        if (ms->outbox[i].visible_at == INT64_MAX) continue;
        if (out->outbox_depth++ == 0) out->oldest_outbox = ms->outbox[i].msg.at;
    }
    while (ms->nheap > 0 && !heap_top_current(&ms->heap[0])) heap_pop(ms);
    if (ms->nheap > 0) out->oldest_due = ms->heap[0].due;
    pacing_stats(ms, out);
    return 0;
}

static const struct store_ops mem_ops = {
    mem_load,         mem_save,           mem_next_due, mem_due_users,
    mem_outbox_claim, mem_outbox_confirm, mem_free,     mem_stats,
    mem_pacing_add,   mem_pacing_take,    mem_pacing_done};

/* ---- Shared: the same calls under the store's lock ---- */

#define LOCKED(ctx, call)                                                    \
    struct mem_store *ms = (ctx);                                            \
    pthread_mutex_lock(&ms->lock);                                           \
    int rc = (call);                                                         \
    pthread_mutex_unlock(&ms->lock);                                         \
    return rc

static int sh_load(void *ctx, const char *const *users, int n,
                   struct user_state **out, struct fu_err *err) {
    LOCKED(ctx, mem_load(ms, users, n, out, err));
}
static int sh_save(void *ctx, struct store_write *w, int n,
                   struct fu_err *err) {
    LOCKED(ctx, mem_save(ms, w, n, err));
}
static int sh_next_due(void *ctx, int64_t until, char *buf, size_t size,
                       int64_t *due, struct fu_err *err) {
    LOCKED(ctx, mem_next_due(ms, until, buf, size, due, err));
}
static int sh_due_users(void *ctx, int64_t now, char **users, int max,
                        struct fu_err *err) {
    LOCKED(ctx, mem_due_users(ms, now, users, max, err));
}
static int sh_claim(void *ctx, int64_t now, int lease, struct outbox_msg *out,
                    int max, struct fu_err *err) {
    LOCKED(ctx, mem_outbox_claim(ms, now, lease, out, max, err));
}
static int sh_confirm(void *ctx, const struct outbox_msg *msgs, int n,
                      struct fu_err *err) {
    LOCKED(ctx, mem_outbox_confirm(ms, msgs, n, err));
}
static int sh_stats(void *ctx, struct store_stats *out, struct fu_err *err) {
    LOCKED(ctx, mem_stats(ms, out, err));
}

static int sh_pacing_add(void *ctx, const struct paced_call *calls, int n,
                         struct fu_err *err) {
    LOCKED(ctx, mem_pacing_add(ms, calls, n, err));
}
static int sh_pacing_take(void *ctx, int64_t now, int limit, int lease,
                          struct paced_call *out, int max,
                          struct fu_err *err) {
    LOCKED(ctx, mem_pacing_take(ms, now, limit, lease, out, max, err));
}
static int sh_pacing_done(void *ctx, const struct paced_call *calls, int n,
                          int64_t minute, int refund, struct fu_err *err) {
    LOCKED(ctx, mem_pacing_done(ms, calls, n, minute, refund, err));
}

static const struct store_ops shared_ops = {
    sh_load,       sh_save,        sh_next_due,   sh_due_users,
    sh_claim,      sh_confirm,     mem_free,      sh_stats,
    sh_pacing_add, sh_pacing_take, sh_pacing_done};

int store_memory_share(struct store *s, struct store *second,
                       struct fu_err *err) {
    struct mem_store *ms = s->ctx;
    if (s->ops != &mem_ops || ms->handles > 0)
        return fu_err_set(err, FU_EINVAL, "not an unshared memory store");
    if (pthread_mutex_init(&ms->lock, NULL) != 0)
        return fu_err_set(err, FU_ENOMEM, "cannot create a lock");
    ms->shared = 1;
    ms->handles = 2;
    s->ops = second->ops = &shared_ops;
    second->ctx = ms;
    return 0;
}

int store_memory_open(struct store *out, struct fu_err *err) {
    struct mem_store *ms = calloc(1, sizeof(*ms));
    if (!ms || rehash(ms) < 0) {
        free(ms);
        return fu_err_set(err, FU_ENOMEM, "out of memory");
    }
    pacer_init(&ms->waiting);
    out->ops = &mem_ops;
    out->ctx = ms;
    return 0;
}
