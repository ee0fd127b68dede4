/* batch.h -- deciding a batch of events, and the due items of a set of
 * users, against a store: the loop body `run` shares with the tools.
 *
 * A batch groups its events by user, loads every user in one store call,
 * decides each user's events in order with the engine, and saves every
 * user with the messages it produced (queued in the store's outbox) in one
 * store call. A user another writer saved in between is decided again from
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

#endif
