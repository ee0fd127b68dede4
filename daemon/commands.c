/* commands.c -- `check` and `simulate` (`run` is run.c).
 *
 * Each returns the process exit code of spec 3.1. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "sim.h"
#include "store.h"

/* Config (optional) and policy for check/simulate. Returns an exit code;
 * on 0 the caller owns *cfg (may be NULL) and *pol. */
static int load_inputs(const struct cli_opts *o, struct tzdb *db,
                       struct config **cfg, struct policy **pol) {
    struct fu_diag diag = {0};
    int rc = cli_load_config(o, o->policy == NULL, cfg);
    if (rc) return rc;
    const char *path = cli_policy_path(o, *cfg);
    if (!path) {
        fprintf(stderr, "followupd: no policy: give --policy FILE or -c CONFIG\n");
        config_free(*cfg);
        *cfg = NULL;
        return 2;
    }
    *pol = policy_load_file(path, db, &diag);
    if (!*pol) {
        cli_print_diag(stderr, &diag);
        fu_diag_release(&diag);
        config_free(*cfg);
        *cfg = NULL;
        return 1;
    }
    return 0;
}

static int count_rules(const struct policy *pol, int messages) {
    int n = 0;
    for (int i = 0; i < pol->nrules; i++)
        n += messages ? pol->rules[i].has_message : pol->rules[i].has_reminder;
    return n;
}

int cmd_check(const struct cli_opts *o) {
    struct tzdb *db = tzdb_new(NULL);
    struct config *cfg = NULL;
    struct policy *pol = NULL;
    if (!db) return 3;
    int rc = load_inputs(o, db, &cfg, &pol);
    if (rc == 0) {
        if (cfg) printf("%s: ok\n", cfg->path);
        printf("%s: ok: %d rules (%d with reminders, %d with messages), "
               "%d caps, policy version %s\n",
               pol->file, pol->nrules, count_rules(pol, 0), count_rules(pol, 1),
               pol->ncaps, pol->version);
    }
    policy_release(pol);
    config_free(cfg);
    tzdb_free(db);
    return rc;
}

/* The memory store, or with --state a scratch namespace of the Redis
 * store (a dry run never touches the daemon's keys; it is deleted at the
 * end). */
static int open_store(const struct cli_opts *o, const struct config *cfg,
                      struct store *store, struct fu_err *err) {
    char prefix[256];
    if (!o->state) return store_memory_open(store, err);
    snprintf(prefix, sizeof(prefix), "%ssim:%ld:%ld:",
             cfg ? cfg->key_prefix : "fu:", (long)getpid(), (long)time(NULL));
    return store_redis_open(store, o->state, prefix, 1, err);
}

int cmd_simulate(const struct cli_opts *o) {
    struct tzdb *db = tzdb_new(NULL);
    struct config *cfg = NULL;
    struct policy *pol = NULL;
    struct store store = {0};
    struct sim_stats stats;
    struct fu_err err;
    FILE *in = NULL;
    if (!db) return 3;
    int rc = load_inputs(o, db, &cfg, &pol);
    if (rc) goto out;
    in = strcmp(o->events, "-") ? fopen(o->events, "r") : stdin;
    if (!in) {
        fprintf(stderr, "followupd simulate: cannot open '%s'\n", o->events);
        rc = 1;
        goto out;
    }
    if (open_store(o, cfg, &store, &err) < 0 ||
        sim_run(pol, &store, db, in, o->events, stdout, stderr, &stats,
                &err) < 0) {
        fprintf(stderr, "followupd simulate: %s\n", err.msg);
        rc = err.code == FU_EINVAL ? 2 : 3;
        goto out;
    }
    if (fflush(stdout) != 0) rc = 3;
out:
    if (in && in != stdin) fclose(in);
    store_close(&store);
    policy_release(pol);
    config_free(cfg);
    tzdb_free(db);
    return rc;
}
