/* pacing.h -- pacing calls to the dialer's capacity (spec 4.3): the
 * calls waiting for budget, in the order they are served, and the budget
 * of a UTC minute.
 *
 * The engine marks a due call as waiting and says so with an OUT_PACING
 * entry on its plan (never produced); a driver turns the entry into a
 * struct paced_call, queues it, and at each serving instant releases the
 * best calls (engine_release) while the minute's budget lasts. An entry
 * whose call was moved or cancelled meanwhile is stale: engine_release
 * refuses it and it costs nothing. simulate keeps the queue in memory
 * (struct pacer); the daemon keeps the same order in Redis. */
#ifndef FU_PACING_H
#define FU_PACING_H

#include <stdint.h>

#include "err.h"
#include "outmsg.h"
#include "state.h"

struct paced_call {
    char *user_id; /* owned */
    char task_id[STATE_ID_LEN];
    int priority;
    int64_t due_at, not_after;
};

/* The call an OUT_PACING entry stands for; 0, or -1 when the entry is
 * damaged or memory runs out (err says which). pc->user_id is a copy. */
int paced_call_decode(const struct out_msg *m, struct paced_call *pc,
                      struct fu_err *err);
void paced_call_release(struct paced_call *pc);

/* Serving order: higher priority first, then earlier due_at, then
 * task_id (then user_id, which task ids make moot). <0, 0, >0. */
int paced_call_cmp(const struct paced_call *a, const struct paced_call *b);

/* The UTC minute an instant lies in, as its first second. */
int64_t pacing_minute(int64_t t);

/* simulate's queue: a binary heap in serving order, and the calls served
 * in the current minute. */
struct pacer {
    struct paced_call *heap;
    int n, cap;
    int64_t minute; /* the minute `used` counts; TIME_NONE before any */
    int used;
};

void pacer_init(struct pacer *p);
void pacer_release(struct pacer *p);
/* Queue pc, taking its user_id. 0, or -1 on ENOMEM (pc released). */
int pacer_push(struct pacer *p, struct paced_call *pc);
/* Move the best call into *out (the caller releases it). 0 when empty. */
int pacer_pop(struct pacer *p, struct paced_call *out);
/* How many more calls may leave at t under limit calls a minute. */
int pacer_budget(struct pacer *p, int64_t t, int limit);
/* One call left at t (after pacer_budget said there was room). */
void pacer_spend(struct pacer *p, int64_t t);

#endif
