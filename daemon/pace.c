/* pace.c -- the daemon's pacer (spec 4.3), on the emitter's thread.
 *
 * A call that falls due under pacing waits: the engine marks it in the
 * user's state and puts an OUT_PACING entry in the user's outbox. When the
 * emitter claims such an entry it adds the call to the store's shared
 * queue instead of producing it, and confirms the entry only once the
 * queue has it (at least once; the queue ignores a call twice).
 *
 * At each second's turn (so at each minute start) and whenever calls were
 * queued, the pacer takes the best waiting calls the minute's budget
 * allows -- one atomic step in the store, shared by every daemon -- and
 * releases them through the engine like due items: each task goes to its
 * user's outbox with the user's state, and leaves within the turn. A
 * taken call that turned out stale (moved, cancelled) gives its budget
 * back. A daemon that dies between taking and releasing leaves the calls
 * leased: they go back to the queue when the lease ends, and their budget
 * stays spent (a fault may cost budget, never a call; a call released
 * twice is refused by its user's state the second time). */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

#define PACE_TAKE_MAX 256 /* calls one take may release */
#define PACE_LEASE_S 30   /* far above a release's round trips */

/* Queue the claimed round's OUT_PACING entries; mark them acknowledged
 * (confirmed with the round) when the store has them, failed (they come
 * back with their lease) when not. */
void pace_enqueue(struct emitter *em) {
    int npaced = 0;
    for (int i = 0; i < em->n; i++) npaced += em->msgs[i].msg.topic == OUT_PACING;
    if (npaced == 0) return; /* most rounds: nothing to allocate */
    struct paced_call *calls = calloc((size_t)npaced, sizeof(*calls));
    int *at = calloc((size_t)npaced, sizeof(int)), n = 0, ok = 0;
    struct fu_err err;
    if (!calls || !at) {
        for (int i = 0; i < em->n; i++) /* back with their lease */
            if (em->msgs[i].msg.topic == OUT_PACING)
                em->status[i] = SENT_FAILED;
        goto out;
    }
    for (int i = 0; i < em->n; i++) {
        if (em->msgs[i].msg.topic != OUT_PACING) continue;
        em->status[i] = SENT_FAILED;
        if (paced_call_decode(&em->msgs[i].msg, &calls[n], &err) == 0) {
            at[n++] = i;
        } else {
            /* damaged: never ours to call; confirm it away, loudly */
            LOG(em->d->lg, LOG_ERROR, "dropping a damaged pacing entry",
                LOG_S("error", err.msg));
            em->status[i] = SENT_OK;
        }
    }
    if (n == 0) goto out;
    if (em->store.ops->pacing_add(em->store.ctx, calls, n, &err) < 0) {
        daemon_store_failed(em->d, &em->outage, "pacing queue", &err);
        goto out;
    }
    ok = 1;
    em->pace_now = 1; /* serve what just started waiting */
    em->pace_seen = 1;
out:
    for (int k = 0; k < n; k++) {
        if (ok) em->status[at[k]] = SENT_OK;
        paced_call_release(&calls[k]);
    }
    free(calls);
    free(at);
}

/* Release the calls taken; how many left, or -1 (they stay leased). */
static int release(struct emitter *em, int64_t now, struct paced_call *calls,
                   int n, int *released) {
    struct fu_err err;
    daemon_seq_advance(&em->seq);
    if (batch_release(em->pol, &em->store, em->tzdb, now, calls, n, released,
                      &em->seq, &em->bstats, &err) < 0) {
        daemon_store_failed(em->d, &em->outage, "pacing release", &err);
        return -1;
    }
    int left = 0;
    for (int i = 0; i < n; i++) left += released[i];
    if (em->store.ops->pacing_done(em->store.ctx, calls, n,
                                   pacing_minute(now), n - left, &err) < 0)
        daemon_store_failed(em->d, &em->outage, "pacing done", &err);
    return left;
}

/* One serving: take what the budget allows, release it. */
void pace_turn(struct emitter *em, int64_t now_ms) {
    int64_t now = now_ms / 1000;
    int limit = em->pol->calls_per_minute; /* 0: pacing removed, drain */
    if (!limit && !em->pace_seen) return;
    if (!em->pace_now && now == em->pace_second) return;
    em->pace_now = 0;
    em->pace_second = now;
    struct paced_call calls[PACE_TAKE_MAX];
    int released[PACE_TAKE_MAX];
    struct fu_err err;
    int n = em->store.ops->pacing_take(em->store.ctx, now, limit, PACE_LEASE_S,
                                       calls, PACE_TAKE_MAX, &err);
    if (n < 0) {
        daemon_store_failed(em->d, &em->outage, "pacing take", &err);
        return;
    }
    if (n > 0) em->pace_seen = 1;
    int left = n > 0 ? release(em, now, calls, n, released) : 0;
    if (left > 0) em->decided += left; /* claim the tasks once settled */
    em->pace_now = n == PACE_TAKE_MAX; /* more may wait, and budget left */
    for (int i = 0; i < n; i++) paced_call_release(&calls[i]);
}
