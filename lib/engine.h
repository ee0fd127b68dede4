/* engine.h -- the decision engine: events and due items in, outputs out.
 *
 * Pure: no I/O, no clock, no globals, no logging. The caller passes the
 * time, the user's state (updated in place) and a plan that collects the
 * output messages. `run` and `simulate` make the same calls. When a call
 * fails (only ENOMEM) the state must be dropped, not saved. */
#ifndef FU_ENGINE_H
#define FU_ENGINE_H

#include <stdint.h>

#include "err.h"
#include "event.h"
#include "outmsg.h"
#include "policy.h"
#include "state.h"
#include "tz.h"

/* Bounds on one user's state (README, Limits), so that a user with a
 * million events cannot make each later event of theirs cost more:
 * - the ids of the last ENGINE_SEEN_MAX decided events are remembered for
 *   dedupe (older ones are forgotten first, before dedupe_for is up);
 * - at most ENGINE_LIVE_MAX follow-ups that are pending, emitted or
 *   answered, plus repeat series, are kept; cancelled ones beyond that are
 *   forgotten oldest first; a new follow-up past it, or one whose context
 *   would take the user's contexts past ENGINE_CONTEXTS_MAX bytes, is
 *   suppressed with reason "state_full";
 * - once ENGINE_CHANNELS_OFF_MAX channels are off, channels the policy does
 *   not use are forgotten first. */
#define ENGINE_SEEN_MAX 1000
#define ENGINE_LIVE_MAX 500
#define ENGINE_CONTEXTS_MAX (256 * 1024)
#define ENGINE_CHANNELS_OFF_MAX 64

struct engine_env {
    int64_t now;
    uint64_t *seq;      /* next scheduling sequence number, advanced */
    struct tzdb *tzdb;  /* zones named in states were validated already */
};

/* 1 when ev can change something and so is decided and remembered (spec
 * 4, Dedupe): a built-in event (ev->kind != EV_RULE), an event carrying
 * `timezone`, or one that at least one rule's `on` and `when` match; else
 * 0. Depends on the policy and the event only, never on a user's state,
 * so a caller can test it before loading the user. Cannot fail. */
int engine_event_matters(const struct policy *pol, const struct event *ev);

/* Decide one validated event for its user (st->user_id == ev->user_id).
 * An event that does not matter (engine_event_matters) is left alone: st
 * and plan are untouched (not even pruned) and 0 is returned; callers
 * should not load or save the user for it. 0 ok, -1 ENOMEM. */
int engine_on_event(const struct policy *pol, struct user_state *st,
                    const struct event *ev, const struct engine_env *env,
                    struct plan *plan, struct fu_err *err);

/* Handle the user's earliest scheduled item if it is due at env->now or
 * before: emit a task or reminder, or decide a repeat occurrence.
 * Returns 1 when an item was handled, 0 when none is due, -1 on ENOMEM. */
int engine_on_due(const struct policy *pol, struct user_state *st,
                  const struct engine_env *env, struct plan *plan,
                  struct fu_err *err);

/* The pacer releases a waiting call (spec 4.3): if task_id names a call
 * of st that still waits and env->now is before its not_after, it is
 * emitted (a task on the plan) and 1 is returned; a stale entry (moved,
 * cancelled, released before, past its slot) returns 0 and changes
 * nothing, and costs the caller no budget. Under require_consent a user
 * without consent gets the call cancelled instead (0). -1 on ENOMEM. */
int engine_release(const struct policy *pol, struct user_state *st,
                   const char *task_id, const struct engine_env *env,
                   struct plan *plan, struct fu_err *err);

/* Forget what no rule of spec 4 can need any more at env->now (old event
 * ids, finished follow-ups past every cap window). */
void engine_prune(const struct policy *pol, struct user_state *st,
                  int64_t now);

/* The instant after which st holds nothing needed (for key expiry);
 * always finite. */
int64_t engine_keep_until(const struct policy *pol,
                          const struct user_state *st);

#endif
