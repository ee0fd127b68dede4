/* store.h -- the state-store interface: per-user state and the due index.
 *
 * A store keeps one struct user_state per user and an index of each
 * user's earliest scheduled item. Loading checks a state out to the
 * caller; saving hands it back, so one user's read-decide-write is a
 * single atomic step on every backend (the Redis store does it with a
 * compare-and-set on st->version). Implementations: store_memory.c
 * (simulate, demo, tests) and the Redis store. */
#ifndef FU_STORE_H
#define FU_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "state.h"

struct store_ops {
    /* Check out user_id's state into *out (a new empty one if unknown);
     * the caller owns it until it gives it to save, or frees it with
     * user_state_free to abandon the change. 0 / -1 with err. */
    int (*load)(void *ctx, const char *user_id, struct user_state **out,
                struct fu_err *err);
    /* Write st back and re-index its earliest item; takes st in every
     * case. keep_until: when the state may be forgotten (TIME_MAX: not
     * while something is scheduled). 0 / -1 (FU_ETRANSIENT: retry). */
    int (*save)(void *ctx, struct user_state *st, int64_t keep_until,
                struct fu_err *err);
    /* The user whose earliest item is earliest by (due, seq), if it is
     * due at or before `until`: copies the user id into buf and its due
     * time into *due and returns 1; returns 0 when none is due. */
    int (*next_due)(void *ctx, int64_t until, char *buf, size_t size,
                    int64_t *due, struct fu_err *err);
    void (*free)(void *ctx);
};

struct store {
    const struct store_ops *ops;
    void *ctx;
};

/* The in-memory store: hash table of users plus a heap of due times.
 * NULL on ENOMEM. Single-threaded, not durable. */
int store_memory_open(struct store *out, struct fu_err *err);

/* Free a store's backend (NULL ops is a no-op). */
void store_close(struct store *s);

#endif
