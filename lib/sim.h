/* sim.h -- `followupd simulate`: the engine on a virtual clock (spec 3.6).
 *
 * Events are read in file order; before each one the clock moves to
 * max(clock, occurred_at) and everything due by then is emitted in
 * (due, scheduling) order; after the last event the clock runs on until
 * nothing is scheduled. An event that does not matter (engine_event_matters)
 * only moves the clock: its user is not loaded or saved and nothing is
 * printed for it. Each output is one JSON line. */
#ifndef FU_SIM_H
#define FU_SIM_H

#include <stdio.h>

#include "err.h"
#include "policy.h"
#include "store.h"
#include "tz.h"

struct sim_stats {
    long events, dead_letters, ignored, outputs;
    long untouched; /* events that did not matter: no state read or write */
};

/* Run the events of in (named source in dead letters) through pol on
 * store, writing output lines to out and notes (no personal data) to log
 * (may be NULL). 0 ok; -1 with err when the store or an output fails. */
int sim_run(const struct policy *pol, struct store *store, struct tzdb *tzdb,
            FILE *in, const char *source, FILE *out, FILE *log,
            struct sim_stats *stats, struct fu_err *err);

#endif
