/* store.h -- the state-store interface: per-user state, the due index and
 * the outbox of messages waiting for the broker.
 *
 * A store keeps one struct user_state per user. Loading checks states out
 * to the caller; saving hands them back together with the messages their
 * decisions produced, in one atomic step per user that fails (conflict)
 * when another writer saved the user in between -- so a read-decide-write
 * never double-counts, even with two daemons on one user. Both calls take
 * a batch, so a backend can do a whole batch in one round trip.
 * Implementations: store_memory.c (simulate, demo, tests) and
 * store_redis.c. */
#ifndef FU_STORE_H
#define FU_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "outmsg.h"
#include "pacing.h"
#include "state.h"

/* One user's write. */
struct store_write {
    struct user_state *st;     /* taken by save in every case */
    int64_t ttl;               /* seconds the state must be kept, > 0 */
    const struct plan *outbox; /* messages to queue atomically, or NULL */
    int conflict;              /* out: another writer saved the user first;
                                  nothing was written: reload and redo */
};

/* A message taken from the outbox: send it, then confirm its id. */
struct outbox_msg {
    char id[24];
    struct out_msg msg; /* owned: key and value freed by outbox_msg_release */
};

/* What a store holds back, for the daemon's gauges. */
struct store_stats {
    long outbox_depth;     /* messages waiting for the broker */
    int64_t oldest_due;    /* the earliest due time in the due index,
                              TIME_NONE when nothing is scheduled */
    int64_t oldest_outbox; /* `at` of the oldest outbox message, TIME_NONE
                              when the outbox is empty */
    long calls_waiting;    /* paced calls queued or taken (spec 4.3) */
    int64_t oldest_waiting; /* the earliest due_at among them, TIME_NONE */
    long budget_used;      /* calls taken in the minute of the last take */
};

struct store_ops {
    /* Check out the states of users[0..n) into out[0..n) (new empty ones
     * for unknown users). The caller owns them until it saves or frees
     * them. A user must appear once per batch. 0 / -1 with err
     * (FU_ETRANSIENT: the backend is unreachable; nothing was loaded). */
    int (*load)(void *ctx, const char *const *users, int n,
                struct user_state **out, struct fu_err *err);
    /* Write w[0..n); sets w[i].conflict for users written by someone else
     * since their load. 0 / -1 with err when the backend failed: then
     * nothing is known to be written, and the caller retries the batch. */
    int (*save)(void *ctx, struct store_write *w, int n, struct fu_err *err);
    /* The user whose earliest item is earliest by (due, seq), if due at or
     * before `until`: user id into buf, due into *due; returns 1, or 0 when
     * none is due, -1 on error. Exact for a single writer (simulate). */
    int (*next_due)(void *ctx, int64_t until, char *buf, size_t size,
                    int64_t *due, struct fu_err *err);
    /* Up to max users with an item due at or before now, into users[]
     * (strdup'd; the caller frees). Returns how many, or -1. */
    int (*due_users)(void *ctx, int64_t now, char **users, int max,
                     struct fu_err *err);
    /* Lease up to max outbox messages until now + lease seconds. Returns
     * how many were written to out[], or -1. */
    int (*outbox_claim)(void *ctx, int64_t now, int lease,
                        struct outbox_msg *out, int max, struct fu_err *err);
    /* Forget messages the broker acknowledged. 0 / -1. */
    int (*outbox_confirm)(void *ctx, const struct outbox_msg *msgs, int n,
                          struct fu_err *err);
    void (*free)(void *ctx);
    /* Fill *out (may be NULL in a store that cannot tell). 0 / -1. */
    int (*stats)(void *ctx, struct store_stats *out, struct fu_err *err);

    /* Pacing (spec 4.3, pacing.h): one queue of waiting calls and one
     * budget per UTC minute for every daemon sharing the store.
     * pacing_add queues calls[0..n); a call already queued or taken stays
     * as it is. 0 / -1. */
    int (*pacing_add)(void *ctx, const struct paced_call *calls, int n,
                      struct fu_err *err);
    /* Take the best waiting calls, in serving order, as many as the
     * budget of now's minute has left under limit (0: no limit) and at
     * most max, spending that budget in the same atomic step; they are
     * leased until now + lease seconds, after which a taker that died
     * gives them back to the queue (their budget stays spent). Into out[]
     * (the caller releases each); returns how many, or -1. */
    int (*pacing_take)(void *ctx, int64_t now, int limit, int lease,
                       struct paced_call *out, int max, struct fu_err *err);
    /* Forget taken calls[0..n) once released or found stale, and give
     * back `refund` calls of budget to minute (the stale ones). 0 / -1. */
    int (*pacing_done)(void *ctx, const struct paced_call *calls, int n,
                       int64_t minute, int refund, struct fu_err *err);
};

struct store {
    const struct store_ops *ops;
    void *ctx;
};

/* The in-memory store: hash table of users, a heap of due times and a
 * queue for the outbox. Single-threaded, not durable. 0 / -1 ENOMEM. */
int store_memory_open(struct store *out, struct fu_err *err);

/* Make *s (a memory store just opened, nothing checked out) usable from
 * two threads and *second a handle on it for the other one: every call
 * then takes a lock, loads hand out copies and a save of a user the other
 * handle saved since the load is a conflict. The store is freed when both
 * handles are closed. 0, or -1 with err. */
int store_memory_share(struct store *s, struct store *second,
                       struct fu_err *err);

/* The Redis store at url (redis://[:password@]host:port/db or
 * unix:///path.sock), keys prefixed with prefix. With scratch, every key
 * under prefix is deleted when the store is closed (simulate's dry runs).
 * Connects and loads the scripts now; 0, or -1 with err (FU_EINVAL bad
 * url, FU_ETRANSIENT unreachable). */
int store_redis_open(struct store *out, const char *url, const char *prefix,
                     int scratch, struct fu_err *err);

/* Single-user conveniences over load/save (simulate, tests). */
int store_load_one(struct store *s, const char *user,
                   struct user_state **out, struct fu_err *err);
/* Save st (taken) with ttl and outbox; a conflict is an error here
 * (FU_ETRANSIENT). */
int store_save_one(struct store *s, struct user_state *st, int64_t ttl,
                   const struct plan *outbox, struct fu_err *err);

void outbox_msg_release(struct outbox_msg *m);

/* Outbox message <-> one string ("<topic> <at> <key>\n<value>"), as the
 * Redis outbox keeps them. */
char *outbox_encode(const struct out_msg *m);
int outbox_decode(const char *s, size_t len, struct out_msg *m);

/* Free a store's backend (NULL or closed is a no-op). */
void store_close(struct store *s);

#endif
