/* kafka_in.c -- the consumer adapter (librdkafka high-level consumer).
 *
 * Offsets are stored by hand (enable.auto.offset.store=false) after the
 * caller's decisions are durable, and auto-commit sends what is stored.
 * Rebalances are cooperative-sticky by default; on a revocation the batch
 * in flight is finished (or its revoked records dropped) and the stored
 * offsets committed before the partitions go. See kafka_in.h. */
#include "kafka_in.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "kafka_conf.h"

struct kafka_in {
    struct kafka_client base; /* first: the client's opaque */
    rd_kafka_t *rk;
    struct kafka_batch batch;
    struct kafka_in_hooks hooks;
};

/* ---- The batch ---- */

static int batch_push(struct kafka_batch *b, rd_kafka_message_t *m) {
    if (b->n == b->cap) {
        int n = b->cap ? b->cap * 2 : 256;
        struct kafka_rec *nr = realloc(b->recs, sizeof(*nr) * (size_t)n);
        if (!nr) return -1;
        b->recs = nr;
        b->cap = n;
    }
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    b->recs[b->n++] = (struct kafka_rec){
        rd_kafka_topic_name(m->rkt), m->partition, m->offset, m->payload,
        m->len, ts, m};
    return 0;
}

static void batch_clear(struct kafka_batch *b) {
    for (int i = 0; i < b->n; i++) rd_kafka_message_destroy(b->recs[i].handle);
    b->n = 0;
}

/* The offset after the last record of each partition in b. */
static rd_kafka_topic_partition_list_t *
batch_marks(const struct kafka_batch *b) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    for (int i = 0; i < b->n; i++) {
        const struct kafka_rec *r = &b->recs[i];
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_find(l, r->topic, r->partition);
        if (!tp)
            tp = rd_kafka_topic_partition_list_add(l, r->topic, r->partition);
        if (r->offset + 1 > tp->offset) tp->offset = r->offset + 1;
    }
    return l;
}

static void store_marks(struct kafka_in *ki,
                        rd_kafka_topic_partition_list_t *l) {
    /* a partition no longer assigned refuses (_STATE): its new owner
     * reads those records again, which dedupe makes harmless */
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(ki->rk, l);
    if (err && err != RD_KAFKA_RESP_ERR__STATE)
        LOG(ki->base.lg, LOG_WARN, "cannot store offsets",
            LOG_S("error", rd_kafka_err2str(err)));
}

/* Drop the records of the partitions in parts from b, keeping order. */
static void drop_partitions(struct kafka_batch *b,
                            const rd_kafka_topic_partition_list_t *parts) {
    int k = 0;
    for (int i = 0; i < b->n; i++) {
        struct kafka_rec *r = &b->recs[i];
        if (rd_kafka_topic_partition_list_find(parts, r->topic, r->partition))
            rd_kafka_message_destroy(r->handle);
        else
            b->recs[k++] = *r;
    }
    b->n = k;
}

/* ---- Rebalances ---- */

static void log_partitions(struct kafka_in *ki, const char *what,
                           const rd_kafka_topic_partition_list_t *parts) {
    for (int i = 0; i < parts->cnt; i++)
        LOG(ki->base.lg, LOG_INFO, what,
            LOG_S("topic", parts->elems[i].topic)
            LOG_I("partition", parts->elems[i].partition));
}

static void revoke(struct kafka_in *ki, rd_kafka_t *rk,
                   rd_kafka_topic_partition_list_t *parts) {
    int lost = rd_kafka_assignment_lost(rk);
    log_partitions(ki, lost ? "partition lost" : "partition revoked", parts);
    /* called with an empty batch too: the caller may hold marks */
    if (!lost && ki->hooks.on_revoke(ki->hooks.ctx, &ki->batch) == 0)
        kafka_in_done(ki);
    else
        drop_partitions(&ki->batch, parts);
    if (!lost) {
        rd_kafka_resp_err_t err = rd_kafka_commit(rk, NULL, 0);
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
            LOG(ki->base.lg, LOG_WARN, "commit before revocation failed",
                LOG_S("error", rd_kafka_err2str(err)));
    }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
    struct kafka_in *ki = opaque;
    int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t ret = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log_partitions(ki, "partition assigned", parts);
        if (coop)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            ret = rd_kafka_assign(rk, parts);
    } else {
        revoke(ki, rk, parts);
        if (coop)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            ret = rd_kafka_assign(rk, NULL);
    }
    if (error) {
        LOG(ki->base.lg, LOG_ERROR, "rebalance failed",
            LOG_S("error", rd_kafka_error_string(error)));
        rd_kafka_error_destroy(error);
    } else if (ret) {
        LOG(ki->base.lg, LOG_ERROR, "rebalance failed",
            LOG_S("error", rd_kafka_err2str(ret)));
    }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason,
                     void *opaque) {
    struct kafka_in *ki = opaque;
    (void)rk;
    kafka_log_error(ki->base.lg, "consumer", err, reason);
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && ki->hooks.on_stats)
        ki->hooks.on_stats(ki->hooks.ctx, 0, NULL, -1);
}

/* ---- Statistics ---- */

static int brokers_up(json_t *brokers) {
    const char *name;
    json_t *b;
    int up = 0;
    json_object_foreach(brokers, name, b) {
        const char *state = json_string_value(json_object_get(b, "state"));
        if (json_integer_value(json_object_get(b, "nodeid")) >= 0 && state &&
            !strcmp(state, "UP"))
            up++;
    }
    return up;
}

/* The lag of each partition in the statistics that we consume. */
static int collect_lags(json_t *topics, struct kafka_lag *lags, int max) {
    const char *tname, *pname;
    json_t *t, *p;
    int n = 0;
    json_object_foreach(topics, tname, t) {
        json_object_foreach(json_object_get(t, "partitions"), pname, p) {
            json_int_t part = json_integer_value(json_object_get(p, "partition"));
            json_int_t lag = json_integer_value(json_object_get(p, "consumer_lag"));
            const char *fetch = json_string_value(json_object_get(p, "fetch_state"));
            if (part < 0 || lag < 0 || !fetch || !strcmp(fetch, "none") || n == max)
                continue;
            lags[n++] = (struct kafka_lag){tname, (int32_t)part, (int64_t)lag};
        }
    }
    return n;
}

#define MAX_LAGS 1024

static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
    struct kafka_in *ki = opaque;
    json_t *root = json_loadb(json, len, 0, NULL);
    (void)rk;
    if (!root) return 0;
    struct kafka_lag *lags = malloc(sizeof(*lags) * MAX_LAGS);
    if (lags) {
        int n = collect_lags(json_object_get(root, "topics"), lags, MAX_LAGS);
        ki->hooks.on_stats(ki->hooks.ctx,
                           brokers_up(json_object_get(root, "brokers")), lags, n);
    }
    free(lags);
    json_decref(root);
    return 0; /* librdkafka frees json */
}

/* ---- Public ---- */

static int subscribe(struct kafka_in *ki, const struct config *cfg,
                     struct fu_err *err) {
    rd_kafka_topic_partition_list_t *topics =
        rd_kafka_topic_partition_list_new(cfg->ninput_topics);
    for (int i = 0; i < cfg->ninput_topics; i++)
        rd_kafka_topic_partition_list_add(topics, cfg->input_topics[i],
                                          RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(ki->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e)
        return fu_err_set(err, FU_EFATAL, "kafka: cannot subscribe: %s",
                          rd_kafka_err2str(e));
    return 0;
}

struct kafka_in *kafka_in_new(const struct config *cfg, const char *bootstrap,
                              struct logger *lg,
                              const struct kafka_in_hooks *hooks,
                              struct fu_err *err) {
    char why[512];
    struct kafka_in *ki = calloc(1, sizeof(*ki));
    rd_kafka_conf_t *conf;
    if (!ki) {
        fu_err_set(err, FU_ENOMEM, "out of memory");
        return NULL;
    }
    ki->base.lg = lg;
    ki->hooks = *hooks;
    if (!(conf = kafka_conf_new(cfg, bootstrap, KAFKA_CONSUMER, err))) {
        free(ki);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, ki);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_error_cb(conf, on_error);
    if (hooks->on_stats) rd_kafka_conf_set_stats_cb(conf, on_stats);
    if (!(ki->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why)))) {
        rd_kafka_conf_destroy(conf);
        fu_err_set(err, FU_EINVAL, "kafka: cannot create the consumer: %s",
                   why);
        free(ki);
        return NULL;
    }
    conf = NULL; /* owned by ki->rk now */
    rd_kafka_poll_set_consumer(ki->rk);
    if (subscribe(ki, cfg, err) < 0) {
        kafka_in_free(ki);
        return NULL;
    }
    return ki;
}

struct kafka_batch *kafka_in_batch(struct kafka_in *ki) { return &ki->batch; }

int kafka_in_poll(struct kafka_in *ki, int max, int timeout_ms) {
    while (ki->batch.n < max) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(ki->rk, timeout_ms);
        if (!m) break;
        timeout_ms = 0; /* only the first waits */
        if (m->err) {
            /* informational: the client recovers by itself */
            LOG(ki->base.lg, LOG_WARN, "consumer error",
                LOG_S("error", rd_kafka_message_errstr(m)));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (batch_push(&ki->batch, m) < 0) {
            /* out of memory: seek back so the record is read again */
            rd_kafka_topic_partition_list_t *l =
                rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt),
                                              m->partition)->offset = m->offset;
            rd_kafka_error_t *e = rd_kafka_seek_partitions(ki->rk, l, 1000);
            if (e) rd_kafka_error_destroy(e);
            rd_kafka_topic_partition_list_destroy(l);
            rd_kafka_message_destroy(m);
            break;
        }
    }
    return ki->batch.n;
}

void kafka_in_done(struct kafka_in *ki) {
    if (ki->batch.n > 0) kafka_in_store(ki, kafka_in_take(ki));
}

struct kafka_marks *kafka_in_take(struct kafka_in *ki) {
    rd_kafka_topic_partition_list_t *l = batch_marks(&ki->batch);
    batch_clear(&ki->batch);
    return (struct kafka_marks *)l;
}

void kafka_in_store(struct kafka_in *ki, struct kafka_marks *m) {
    if (!m) return;
    store_marks(ki, (rd_kafka_topic_partition_list_t *)m);
    kafka_marks_free(m);
}

void kafka_marks_free(struct kafka_marks *m) {
    if (m)
        rd_kafka_topic_partition_list_destroy(
            (rd_kafka_topic_partition_list_t *)m);
}

int kafka_in_commit(struct kafka_in *ki, struct fu_err *err) {
    rd_kafka_resp_err_t e = rd_kafka_commit(ki->rk, NULL, 0);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
        return fu_err_set(err, FU_ETRANSIENT, "kafka: commit failed: %s",
                          rd_kafka_err2str(e));
    return 0;
}

void kafka_in_free(struct kafka_in *ki) {
    if (!ki) return;
    batch_clear(&ki->batch);
    if (ki->rk) {
        rd_kafka_resp_err_t e = rd_kafka_consumer_close(ki->rk);
        if (e)
            LOG(ki->base.lg, LOG_WARN, "consumer close failed",
                LOG_S("error", rd_kafka_err2str(e)));
        rd_kafka_destroy(ki->rk);
    }
    free(ki->batch.recs);
    free(ki);
}

const char *kafka_library_version(void) { return rd_kafka_version_str(); }
