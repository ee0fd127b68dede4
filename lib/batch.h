/* batch.h -- deciding a batch of events, and the due items of a set of
 * users, against a store: the loop body `run` shares with the tools.
 *
 * Events that cannot change anything (engine_event_matters) are dropped
 * first: no load, no save, no round trip for them, so a batch made only of
 * such events makes no store call. The others are grouped by user; every
 * user is loaded in one store call, each user's events are decided in
 * order with the engine, and every user is saved with the messages it
 * produced (queued in the store's outbox) in one store call. A user another writer saved in between is decided again from
 * its new state, so nothing is double-counted; a store failure leaves the
 * whole batch undecided, so the caller keeps its input offsets and retries. */
#ifndef FU_BATCH_H
#define FU_BATCH_H

#include <stdint.h>

#include "engine.h"
#include "event.h"
#include "policy.h"
#include "store.h"

struct batch_stats {
    long events, users, conflicts, ignored, messages;
    long untouched;              /* events that did not matter: no store work */
    long load_calls, save_calls; /* store calls = round trips on Redis */
};

/* Decide evs[0..n) (validated events) at now. seq is the scheduling
 * counter (advanced). 0, or -1 with err (FU_ETRANSIENT: retry later). */
int batch_decide(const struct policy *pol, struct store *store,
                 struct tzdb *tzdb, const struct event *evs, int n,
                 int64_t now, uint64_t *seq, struct batch_stats *stats,
                 struct fu_err *err);

/* Emit what is due at now for up to max users with due items: each user's
 * due items are handled and saved with their messages like a batch.
 * Returns how many users were handled, or -1 with err. */
int batch_due(const struct policy *pol, struct store *store,
              struct tzdb *tzdb, int64_t now, int max, uint64_t *seq,
              struct batch_stats *stats, struct fu_err *err);

/* Release paced calls[0..n) the store's pacer took (spec 4.3): each
 * user's waiting calls through engine_release, then its due items, saved
 * with their messages like a batch. released[i] says whether call i left
 * (0: stale, moved or cancelled meanwhile). 0, or -1 with err. */
int batch_release(const struct policy *pol, struct store *store,
                  struct tzdb *tzdb, int64_t now,
                  const struct paced_call *calls, int n, int *released,
                  uint64_t *seq, struct batch_stats *stats,
                  struct fu_err *err);

#endif
