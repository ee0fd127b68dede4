/* batch.c -- a batch of events (or due users) through engine and store.
 *
 * Per batch: one load call and one save call per round; a round decides
 * again only the users that lost a race (conflict); a batch with no event
 * that matters makes no store call at all. See batch.h. */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define MAX_ROUNDS 16

/* One user's part of a batch. */
struct ubatch {
    const char *user; /* borrowed: an event's user_id or a due list entry */
    int *events;      /* indexes into the batch, in input order */
    int nevents, capevents;
    struct plan plan;
    int done;
};

struct group {
    struct ubatch *u;
    int n;
    int *slots; /* open addressing: user -> index + 1 */
    int nslots;
};

/* ---- Grouping events by user ---- */

static struct ubatch *group_user(struct group *g, const char *user) {
    size_t i = hash64_str(user) & (size_t)(g->nslots - 1);
    for (; g->slots[i]; i = (i + 1) & (size_t)(g->nslots - 1))
        if (!strcmp(g->u[g->slots[i] - 1].user, user)) return &g->u[g->slots[i] - 1];
    struct ubatch *ub = &g->u[g->n++];
    g->slots[i] = g->n;
    ub->user = user;
    plan_init(&ub->plan);
    return ub;
}

static int ubatch_add(struct ubatch *ub, int ev) {
    if (ub->nevents == ub->capevents) {
        int n = ub->capevents ? ub->capevents * 2 : 4;
        int *ne = realloc(ub->events, sizeof(int) * (size_t)n);
        if (!ne) return -1;
        ub->events = ne;
        ub->capevents = n;
    }
    ub->events[ub->nevents++] = ev;
    return 0;
}

static int group_init(struct group *g, int n) {
    memset(g, 0, sizeof(*g));
    g->nslots = 16;
    while (g->nslots < 2 * n) g->nslots *= 2;
    g->u = calloc((size_t)n + 1, sizeof(*g->u));
    g->slots = calloc((size_t)g->nslots, sizeof(int));
    return g->u && g->slots ? 0 : -1;
}

static void group_release(struct group *g) {
    for (int i = 0; i < g->n; i++) {
        free(g->u[i].events);
        plan_release(&g->u[i].plan);
    }
    free(g->u);
    free(g->slots);
    memset(g, 0, sizeof(*g));
}

/* ---- Rounds ---- */

/* What a batch decides: events, or paced calls to release (their index
 * in ubatch.events), or neither (due items only). */
struct inputs {
    const struct event *evs;
    const struct paced_call *calls;
    int *released; /* per call: 1 when it left */
};

/* Decide one user's events or releases, then its due items, on st. */
static int decide_user(const struct policy *pol, struct user_state *st,
                       struct ubatch *ub, const struct inputs *in,
                       const struct engine_env *env, struct batch_stats *stats,
                       struct fu_err *err) {
    for (int i = 0; i < ub->nevents; i++) {
        int k = ub->events[i], rc;
        if (in->calls)
            rc = in->released[k] = engine_release(
                pol, st, in->calls[k].task_id, env, &ub->plan, err);
        else
            rc = engine_on_event(pol, st, &in->evs[k], env, &ub->plan, err);
        if (rc < 0) return -1;
        stats->ignored += ub->plan.ignored;
        ub->plan.ignored = 0;
    }
    int rc;
    while ((rc = engine_on_due(pol, st, env, &ub->plan, err)) == 1) {
    }
    return rc;
}

/* One round over the users not done yet: load, decide, save. */
static int round_once(const struct policy *pol, struct store *store,
                      struct group *g, const struct inputs *in,
                      const struct engine_env *env, struct batch_stats *stats,
                      struct fu_err *err) {
    int n = 0, rc = -1;
    const char **users = calloc((size_t)g->n + 1, sizeof(char *));
    struct ubatch **ubs = calloc((size_t)g->n + 1, sizeof(*ubs));
    struct user_state **sts = calloc((size_t)g->n + 1, sizeof(*sts));
    struct store_write *w = calloc((size_t)g->n + 1, sizeof(*w));
    if (!users || !ubs || !sts || !w) {
        fu_err_set(err, FU_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < g->n; i++)
        if (!g->u[i].done) ubs[n] = &g->u[i], users[n++] = g->u[i].user;
    stats->load_calls++;
    if (store->ops->load(store->ctx, users, n, sts, err) < 0) goto out;
    for (int i = 0; i < n; i++) {
        plan_reset(&ubs[i]->plan);
        if (decide_user(pol, sts[i], ubs[i], in, env, stats, err) < 0) {
            for (int j = i; j < n; j++) user_state_free(sts[j]);
            goto out;
        }
        int64_t ttl = engine_keep_until(pol, sts[i]) - env->now;
        w[i] = (struct store_write){sts[i], ttl > 0 ? ttl : 1, &ubs[i]->plan, 0};
        sts[i] = NULL; /* taken by save below */
    }
    stats->save_calls++;
    if (store->ops->save(store->ctx, w, n, err) < 0) goto out;
    for (int i = 0; i < n; i++) {
        ubs[i]->done = !w[i].conflict;
        stats->conflicts += w[i].conflict;
        if (!w[i].conflict) stats->messages += ubs[i]->plan.n;
    }
    rc = 0;
out:
    free(users);
    free(ubs);
    free(sts);
    free(w);
    return rc;
}

static int run_rounds(const struct policy *pol, struct store *store,
                      struct group *g, const struct inputs *in,
                      const struct engine_env *env, struct batch_stats *stats,
                      struct fu_err *err) {
    for (int round = 0; round < MAX_ROUNDS; round++) {
        int left = 0;
        for (int i = 0; i < g->n; i++) left += !g->u[i].done;
        if (left == 0) return 0;
        if (round_once(pol, store, g, in, env, stats, err) < 0) return -1;
    }
    for (int i = 0; i < g->n; i++)
        if (!g->u[i].done)
            return fu_err_set(err, FU_ETRANSIENT,
                              "users kept changing under the batch");
    return 0;
}

/* ---- Public ---- */

int batch_decide(const struct policy *pol, struct store *store,
                 struct tzdb *tzdb, const struct event *evs, int n,
                 int64_t now, uint64_t *seq, struct batch_stats *stats,
                 struct fu_err *err) {
    struct group g;
    struct engine_env env = {now, seq, tzdb};
    int rc = -1;
    if (group_init(&g, n) < 0) {
        fu_err_set(err, FU_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        /* an event no rule can act on is not grouped: its user is neither
         * loaded nor saved for it (spec 4, Dedupe) */
        if (!engine_event_matters(pol, &evs[i])) {
            stats->untouched++;
            continue;
        }
        if (ubatch_add(group_user(&g, evs[i].user_id), i) < 0) {
            fu_err_set(err, FU_ENOMEM, "out of memory");
            goto out;
        }
    }
    stats->events += n;
    stats->users += g.n;
    struct inputs in = {evs, NULL, NULL};
    rc = run_rounds(pol, store, &g, &in, &env, stats, err);
out:
    group_release(&g);
    return rc;
}

int batch_due(const struct policy *pol, struct store *store,
              struct tzdb *tzdb, int64_t now, int max, uint64_t *seq,
              struct batch_stats *stats, struct fu_err *err) {
    struct group g;
    struct engine_env env = {now, seq, tzdb};
    char **users = calloc((size_t)max + 1, sizeof(char *));
    int n = 0, rc = -1;
    memset(&g, 0, sizeof(g));
    if (!users) return fu_err_set(err, FU_ENOMEM, "out of memory");
    n = store->ops->due_users(store->ctx, now, users, max, err);
    if (n < 0) goto out;
    if (group_init(&g, n) < 0) {
        fu_err_set(err, FU_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) group_user(&g, users[i]);
    stats->users += g.n;
    struct inputs in = {NULL, NULL, NULL};
    rc = run_rounds(pol, store, &g, &in, &env, stats, err) < 0 ? -1 : n;
out:
    group_release(&g);
    for (int i = 0; i < n; i++) free(users[i]);
    free(users);
    return rc;
}

int batch_release(const struct policy *pol, struct store *store,
                  struct tzdb *tzdb, int64_t now,
                  const struct paced_call *calls, int n, int *released,
                  uint64_t *seq, struct batch_stats *stats,
                  struct fu_err *err) {
    struct group g;
    struct engine_env env = {now, seq, tzdb};
    struct inputs in = {NULL, calls, released};
    int rc = -1;
    if (group_init(&g, n) < 0) {
        fu_err_set(err, FU_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        released[i] = 0;
        if (ubatch_add(group_user(&g, calls[i].user_id), i) < 0) {
            fu_err_set(err, FU_ENOMEM, "out of memory");
            goto out;
        }
    }
    stats->users += g.n;
    rc = run_rounds(pol, store, &g, &in, &env, stats, err);
out:
    group_release(&g);
    return rc;
}
