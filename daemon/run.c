/* run.c -- `followupd run`: start, loop, reload, stop.
 *
 * The main thread turns the loop: take a batch of input records (waiting
 * at most POLL_MS), decide it and make it durable, store its offsets.
 * The emitter (emit.c) sends due work on its own thread. A batch the
 * store could not take is kept and retried with backoff, so an outage
 * delays work and loses none. Signals only set flags (signals.c); the
 * loop reloads the policy between batches and, on stop, finishes the
 * batch in flight, has its dead letters acknowledged, stops the emitter
 * and commits before it exits. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "daemon.h"
#include "signals.h"

#define BATCH_MAX 2000
#define POLL_MS 50
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define STATS_EVERY_MS 30000
#define STOP_DEADLINE_S 10
#define MOCK_PARTITIONS 4

int64_t daemon_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep up to ms, waking early for a signal. */
static void nap(int64_t ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

void daemon_seq_advance(uint64_t *seq) {
    uint64_t clock = (uint64_t)daemon_now_ms() << 11;
    if (*seq < clock) *seq = clock;
}

static int64_t next_backoff(int64_t ms) {
    if (ms == 0) return BACKOFF_MIN_MS;
    return ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms * 2;
}

/* ---- Outages ---- */

#define OUTAGE_LOG_MS 10000

void daemon_store_failed(struct daemon *d, struct outage *o, const char *what,
                         const struct fu_err *err) {
    struct outages *all = &d->outages;
    int64_t now = daemon_now_ms();
    if (err->code != FU_ETRANSIENT) {
        LOG(d->lg, LOG_ERROR, "store call failed, will retry",
            LOG_S("call", what) LOG_S("error", err->msg));
        return;
    }
    atomic_store(&d->health.redis_up, 0);
    pthread_mutex_lock(&all->lock);
    int starts = !o->down && all->ndown == 0;
    if (!o->down) {
        o->down = 1;
        all->ndown++;
    }
    if (starts) {
        all->since_ms = all->logged_ms = now;
        LOG(d->lg, LOG_WARN, "store unavailable: work is delayed, not lost",
            LOG_S("call", what) LOG_S("error", err->msg));
    } else if (now - all->logged_ms >= OUTAGE_LOG_MS) {
        all->logged_ms = now;
        LOG(d->lg, LOG_WARN, "store still unavailable",
            LOG_S("error", err->msg) LOG_I("down_ms", now - all->since_ms));
    }
    pthread_mutex_unlock(&all->lock);
}

void daemon_store_ok(struct daemon *d, struct outage *o) {
    struct outages *all = &d->outages;
    if (!o->down) return;
    pthread_mutex_lock(&all->lock);
    o->down = 0;
    if (--all->ndown == 0) {
        atomic_store(&d->health.redis_up, 1);
        LOG(d->lg, LOG_INFO, "store available again",
            LOG_I("down_ms", daemon_now_ms() - all->since_ms));
    }
    pthread_mutex_unlock(&all->lock);
}

/* ---- Policy ---- */

static void log_diag(struct logger *lg, const char *what,
                     const struct fu_diag *diag) {
    for (int i = 0; i < diag->n && i < diag->cap; i++) {
        char buf[1024];
        LOG(lg, LOG_ERROR, what,
            LOG_S("problem", fu_err_str(&diag->items[i], buf, sizeof(buf))));
    }
}

static void reload_policy(struct daemon *d) {
    struct fu_diag diag = {0};
    struct policy *pol = policy_load_file(d->policy_path, d->tzdb, &diag);
    if (!pol) {
        d->stats.reload_failures++;
        log_diag(d->lg, "policy reload failed, keeping the current policy",
                 &diag);
        fu_diag_release(&diag);
        observe_policy(d, 0);
        return;
    }
    pthread_mutex_lock(&d->pol_lock);
    struct policy *old = d->pol;
    d->pol = pol;
    pthread_mutex_unlock(&d->pol_lock);
    policy_release(old);
    d->stats.reloads++;
    observe_policy(d, 1);
    LOG(d->lg, LOG_INFO, "policy reloaded", LOG_S("version", pol->version)
        LOG_I("rules", pol->nrules));
}

/* ---- Start ---- */

static int start_mock(struct daemon *d, struct fu_err *err) {
    const struct config *cfg = d->cfg;
    const char *outputs[] = {cfg->topic_tasks, cfg->topic_reminders,
                             cfg->topic_dead_letter, cfg->topic_decisions,
                             cfg->topic_messages};
    if (!(d->mock = kafka_mock_new(1, err))) return -1;
    for (int i = 0; i < cfg->ninput_topics; i++)
        if (kafka_mock_topic(d->mock, cfg->input_topics[i], MOCK_PARTITIONS,
                             err) < 0)
            return -1;
    for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++)
        if (outputs[i] &&
            kafka_mock_topic(d->mock, outputs[i], MOCK_PARTITIONS, err) < 0)
            return -1;
    d->bootstrap = strdup(kafka_mock_bootstraps(d->mock));
    if (!d->bootstrap) return fu_err_set(err, FU_ENOMEM, "out of memory");
    LOG(d->lg, LOG_INFO, "kafka mock cluster started",
        LOG_S("bootstrap", d->bootstrap));
    return 0;
}

/* Open a Redis store into *s, waiting for Redis as long as it takes (or
 * a stop). 0, 1 when stopped first, -1 with err on a lasting error. */
static int open_redis(struct daemon *d, struct store *s, struct fu_err *err) {
    const struct config *cfg = d->cfg;
    for (int64_t backoff = 0;; ) {
        if (store_redis_open(s, cfg->redis_url, cfg->key_prefix, 0, err) == 0)
            return 0;
        if (err->code != FU_ETRANSIENT) return -1;
        backoff = next_backoff(backoff);
        LOG(d->lg, LOG_WARN, "redis unreachable, retrying",
            LOG_S("error", err->msg) LOG_I("retry_in_ms", backoff));
        for (int64_t slept = 0; slept < backoff; slept += 50) {
            if (signals_stop_requested()) return 1;
            atomic_store(&d->health.loop_ms, daemon_now_ms());
            atomic_store(&d->health.emit_ms, daemon_now_ms());
            nap(50);
        }
    }
}

/* The intake's store and the emitter's: two Redis connections, or one
 * memory store shared by both threads. 0, 1 when stopped first, -1. */
static int open_stores(struct daemon *d, struct fu_err *err) {
    int rc;
    if (d->cfg->backend == STATE_MEMORY) {
        LOG(d->lg, LOG_WARN, "state in memory: not durable, one process only", );
        if (store_memory_open(&d->store, err) < 0) return -1;
        return store_memory_share(&d->store, &d->em.store, err);
    }
    if ((rc = open_redis(d, &d->store, err)) != 0) return rc;
    return open_redis(d, &d->em.store, err);
}

static int start_kafka(struct daemon *d, struct fu_err *err) {
    if (!strcmp(d->cfg->brokers, "mock")) {
        if (start_mock(d, err) < 0) return -1;
    } else if (!(d->bootstrap = strdup(d->cfg->brokers))) {
        return fu_err_set(err, FU_ENOMEM, "out of memory");
    }
    if (!(d->out = kafka_out_new(d->cfg, d->bootstrap, d->lg,
                                 intake_delivered, d, err)))
        return -1;
    struct kafka_in_hooks hooks = {intake_on_revoke, observe_kafka, d};
    atomic_store(&d->health.kafka_up, 1); /* until librdkafka says otherwise */
    if (!(d->in = kafka_in_new(d->cfg, d->bootstrap, d->lg, &hooks, err)))
        return -1;
    return 0;
}

/* Everything up to the loop. Returns an exit code, -1 to go on. */
static int start(struct daemon *d, const struct cli_opts *o) {
    struct fu_diag diag = {0};
    struct fu_err err;
    int rc = cli_load_config(o, 1, &d->cfg);
    if (rc) return rc;
    int level = log_level_from_name(d->cfg->log_level);
    if (!(d->lg = log_new(stderr, level < 0 ? LOG_INFO : level,
                          d->cfg->log_format == LOG_FORMAT_JSON)) ||
        !(d->tzdb = tzdb_new(NULL))) {
        fprintf(stderr, "followupd run: out of memory\n");
        return 3;
    }
    d->policy_path = cli_policy_path(o, d->cfg);
    if (!(d->pol = policy_load_file(d->policy_path, d->tzdb, &diag))) {
        cli_print_diag(stderr, &diag);
        fu_diag_release(&diag);
        return 1;
    }
    if (signals_install() < 0) {
        LOG(d->lg, LOG_ERROR, "cannot install signal handlers", );
        return 3;
    }
    fu_err_clear(&err);
    if (observe_start(d, &err) < 0) {
        LOG(d->lg, LOG_ERROR, "cannot start", LOG_S("error", err.msg));
        return fu_err_exit_code(err.code);
    }
    observe_policy(d, -1);
    if ((rc = open_stores(d, &err)) != 0 || start_kafka(d, &err) < 0 ||
        emit_start(d, &err) < 0) {
        if (rc == 1) return 0; /* stopped while waiting for Redis */
        LOG(d->lg, LOG_ERROR, "cannot start", LOG_S("error", err.msg));
        return fu_err_exit_code(err.code == FU_ETRANSIENT ? FU_EFATAL
                                                          : err.code);
    }
    observe_wrap_store(d, &d->metered, &d->store);
    atomic_store(&d->health.redis_up, 1);
    LOG(d->lg, LOG_INFO, "started", LOG_S("version", FOLLOWUPD_VERSION)
        LOG_S("policy_version", d->pol->version) LOG_I("rules", d->pol->nrules)
        LOG_S("group", d->cfg->group_id)
        LOG_S("state", d->cfg->backend == STATE_MEMORY ? "memory" : "redis"));
    return -1;
}

/* ---- Loop ---- */

static void log_stats(struct daemon *d) {
    LOG(d->lg, LOG_INFO, "progress", LOG_I("records", d->stats.records)
        LOG_I("events", d->stats.events)
        LOG_I("untouched", d->bstats.untouched)
        LOG_I("ignored", d->bstats.ignored)
        LOG_I("dead_letters", d->stats.dead_letters)
        LOG_I("produced", atomic_load(&d->em.produced))
        LOG_I("confirmed", atomic_load(&d->em.confirmed))
        LOG_I("store_conflicts",
              d->bstats.conflicts + atomic_load(&d->em.conflicts)));
}

/* A turn that holds events back this long is worth a line. */
#define SLOW_TURN_MS 250

static void log_slow_turn(struct daemon *d, int64_t t_in, long records) {
    int64_t ms = daemon_now_ms() - t_in;
    if (ms < SLOW_TURN_MS) return;
    LOG(d->lg, LOG_WARN, "slow loop turn", LOG_I("intake_ms", ms)
        LOG_I("records", records));
}

static void replace_producer(struct daemon *d) {
    struct fu_err err;
    LOG(d->lg, LOG_ERROR, "producer failed fatally, replacing it", );
    kafka_out_free(d->out);
    d->out = NULL;
    while (!(d->out = kafka_out_new(d->cfg, d->bootstrap, d->lg,
                                    intake_delivered, d, &err))) {
        LOG(d->lg, LOG_ERROR, "cannot create the producer",
            LOG_S("error", err.msg));
        nap(BACKOFF_MAX_MS);
    }
}

static void loop(struct daemon *d) {
    int64_t backoff = 0, retry_at = 0, stats_at = daemon_now_ms() + STATS_EVERY_MS;
    while (!signals_stop_requested()) {
        struct kafka_batch *b = kafka_in_batch(d->in);
        int64_t now = daemon_now_ms();
        atomic_store(&d->health.loop_ms, now);
        if (signals_take_reload()) reload_policy(d);
        if (kafka_out_broken(d->out)) replace_producer(d);
        if (b->n == 0)
            kafka_in_poll(d->in, BATCH_MAX, POLL_MS);
        else if (now < retry_at)
            nap(retry_at - now < POLL_MS ? retry_at - now : POLL_MS);
        int64_t t_in = daemon_now_ms(), records = b->n;
        if (b->n > 0 && t_in >= retry_at) {
            if (intake_batch(d, b) == 0) {
                backoff = 0;
            } else {
                backoff = next_backoff(backoff);
                retry_at = daemon_now_ms() + backoff;
            }
        }
        intake_settle(d);
        log_slow_turn(d, t_in, records);
        if ((now = daemon_now_ms()) >= stats_at) {
            log_stats(d);
            stats_at = now + STATS_EVERY_MS;
        }
    }
}

/* ---- Stop ---- */

static void stop(struct daemon *d) {
    struct kafka_batch *b = kafka_in_batch(d->in);
    struct fu_err err;
    signals_exit_deadline(STOP_DEADLINE_S);
    LOG(d->lg, LOG_INFO, "stopping", LOG_I("batch_in_flight", b->n));
    if (b->n > 0) intake_batch(d, b);
    intake_drain(d);
    emit_stop(d);
    if (kafka_in_commit(d->in, &err) < 0)
        LOG(d->lg, LOG_WARN, "final commit failed; events since the last "
            "commit will be read again", LOG_S("error", err.msg));
    log_stats(d);
}

static void cleanup(struct daemon *d) {
    kafka_in_free(d->in);
    emit_free(d);
    kafka_out_free(d->out); /* before the lists its reports point into */
    intake_release(d);
    store_close(&d->store);
    kafka_mock_free(d->mock);
    free(d->bootstrap);
    policy_release(d->pol);
    tzdb_free(d->tzdb);
    config_free(d->cfg);
    observe_stop(d);
    if (d->lg) LOG(d->lg, LOG_INFO, "stopped", );
    log_free(d->lg);
}

int cmd_run(const struct cli_opts *o) {
    struct daemon d;
    memset(&d, 0, sizeof(d));
    pthread_mutex_init(&d.pol_lock, NULL);
    pthread_mutex_init(&d.outages.lock, NULL);
    int rc = start(&d, o);
    if (rc < 0) {
        loop(&d);
        stop(&d);
        rc = 0;
    }
    cleanup(&d);
    pthread_mutex_destroy(&d.pol_lock);
    pthread_mutex_destroy(&d.outages.lock);
    return rc;
}
