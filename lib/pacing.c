/* pacing.c -- the waiting calls of spec 4.3 and their serving order; the
 * in-memory queue and minute budget simulate uses (pacing.h). */
#include "pacing.h"

#include <stdlib.h>
#include <string.h>

#include "jdoc.h"
#include "timeutil.h"

/* ---- Entries ---- */

static int int_member(const struct jnode *obj, const char *key,
                      int64_t *out) {
    const struct jnode *v = jdoc_get(obj, key);
    if (!v || v->type != JDOC_INT) return -1;
    *out = v->u.i;
    return 0;
}

int paced_call_decode(const struct out_msg *m, struct paced_call *pc,
                      struct fu_err *err) {
    struct jdoc doc = {0};
    struct jdoc_error jerr;
    const struct jnode *task;
    int64_t prio, due, end;
    memset(pc, 0, sizeof(*pc));
    int ok = m->topic == OUT_PACING && m->key && m->value &&
             jdoc_parse(&doc, m->value, strlen(m->value), &jerr) == 0 &&
             (task = jdoc_get(doc.root, "task_id")) &&
             task->type == JDOC_STRING && task->len < STATE_ID_LEN &&
             int_member(doc.root, "priority", &prio) == 0 &&
             int_member(doc.root, "due_at", &due) == 0 &&
             int_member(doc.root, "not_after", &end) == 0 && prio >= 0 &&
             prio <= 100;
    if (ok) {
        memcpy(pc->task_id, task->u.s, task->len + 1);
        pc->priority = (int)prio;
        pc->due_at = due;
        pc->not_after = end;
    }
    jdoc_release(&doc);
    if (!ok) return fu_err_set(err, FU_EINVAL, "damaged pacing entry");
    if (!(pc->user_id = strdup(m->key)))
        return fu_err_set(err, FU_ENOMEM, "out of memory");
    return 0;
}

void paced_call_release(struct paced_call *pc) {
    free(pc->user_id);
    pc->user_id = NULL;
}

int paced_call_cmp(const struct paced_call *a, const struct paced_call *b) {
    if (a->priority != b->priority) return a->priority > b->priority ? -1 : 1;
    if (a->due_at != b->due_at) return a->due_at < b->due_at ? -1 : 1;
    int c = strcmp(a->task_id, b->task_id);
    return c ? c : strcmp(a->user_id, b->user_id);
}

int64_t pacing_minute(int64_t t) {
    int64_t r = t % 60;
    return t - (r < 0 ? r + 60 : r);
}

/* ---- simulate's queue: a binary heap, best call at the root ---- */

void pacer_init(struct pacer *p) {
    memset(p, 0, sizeof(*p));
    p->minute = TIME_NONE;
}

void pacer_release(struct pacer *p) {
    for (int i = 0; i < p->n; i++) paced_call_release(&p->heap[i]);
    free(p->heap);
    pacer_init(p);
}

static void swap(struct paced_call *a, struct paced_call *b) {
    struct paced_call t = *a;
    *a = *b;
    *b = t;
}

int pacer_push(struct pacer *p, struct paced_call *pc) {
    if (p->n == p->cap) {
        int ncap = p->cap ? 2 * p->cap : 64;
        struct paced_call *nh = realloc(p->heap, sizeof(*nh) * (size_t)ncap);
        if (!nh) {
            paced_call_release(pc);
            return -1;
        }
        p->heap = nh;
        p->cap = ncap;
    }
    int i = p->n++;
    p->heap[i] = *pc;
    pc->user_id = NULL;
    while (i > 0 && paced_call_cmp(&p->heap[i], &p->heap[(i - 1) / 2]) < 0) {
        swap(&p->heap[i], &p->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    return 0;
}

int pacer_pop(struct pacer *p, struct paced_call *out) {
    if (p->n == 0) return 0;
    *out = p->heap[0];
    p->heap[0] = p->heap[--p->n];
    for (int i = 0;;) {
        int best = i, l = 2 * i + 1, r = l + 1;
        if (l < p->n && paced_call_cmp(&p->heap[l], &p->heap[best]) < 0)
            best = l;
        if (r < p->n && paced_call_cmp(&p->heap[r], &p->heap[best]) < 0)
            best = r;
        if (best == i) break;
        swap(&p->heap[i], &p->heap[best]);
        i = best;
    }
    return 1;
}

int pacer_budget(struct pacer *p, int64_t t, int limit) {
    if (p->minute != pacing_minute(t)) {
        p->minute = pacing_minute(t);
        p->used = 0;
    }
    return limit > p->used ? limit - p->used : 0;
}

void pacer_spend(struct pacer *p, int64_t t) {
    pacer_budget(p, t, 0);
    p->used++;
}
