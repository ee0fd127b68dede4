/* kafka_out.c -- the producer adapter (librdkafka, idempotent).
 *
 * Idempotence keeps retries inside librdkafka from duplicating or
 * reordering messages; whatever librdkafka cannot deliver within
 * message.timeout.ms is reported as failed, and the caller sends it again
 * later from its outbox. See kafka_out.h. */
#include "kafka_out.h"

#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "kafka_conf.h"

#define QUEUE_FULL_WAIT_MS 100
#define QUEUE_FULL_TRIES 50

struct kafka_out {
    struct kafka_client base; /* first: the client's opaque */
    rd_kafka_t *rk;
    kafka_delivered_fn *delivered;
    void *ctx;
    int broken;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque) {
    struct kafka_out *ko = opaque;
    (void)rk;
    if (m->err)
        LOG(ko->base.lg, LOG_WARN, "delivery failed",
            LOG_S("topic", rd_kafka_topic_name(m->rkt))
            LOG_S("error", rd_kafka_err2str(m->err)));
    ko->delivered(ko->ctx, m->_private, m->err == RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason,
                     void *opaque) {
    struct kafka_out *ko = opaque;
    char why[512];
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, why, sizeof(why));
        reason = why;
        ko->broken = 1;
    }
    kafka_log_error(ko->base.lg, "producer", err, reason);
}

struct kafka_out *kafka_out_new(const struct config *cfg,
                                const char *bootstrap, struct logger *lg,
                                kafka_delivered_fn *delivered, void *ctx,
                                struct fu_err *err) {
    char why[512];
    struct kafka_out *ko = calloc(1, sizeof(*ko));
    rd_kafka_conf_t *conf;
    if (!ko) {
        fu_err_set(err, FU_ENOMEM, "out of memory");
        return NULL;
    }
    ko->base.lg = lg;
    ko->delivered = delivered;
    ko->ctx = ctx;
    if (!(conf = kafka_conf_new(cfg, bootstrap, KAFKA_PRODUCER, err))) {
        free(ko);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, ko);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    if (!(ko->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why)))) {
        rd_kafka_conf_destroy(conf);
        fu_err_set(err, FU_EINVAL, "kafka: cannot create the producer: %s",
                   why);
        free(ko);
        return NULL;
    }
    return ko;
}

int kafka_out_produce(struct kafka_out *ko, const char *topic,
                      const char *key, const char *value, size_t len,
                      void *msg_opaque, struct fu_err *err) {
    for (int tries = 0; !ko->broken; tries++) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            ko->rk, RD_KAFKA_V_TOPIC(topic),
            RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
            RD_KAFKA_V_VALUE((void *)value, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return fu_err_set(err, FU_EFATAL, "kafka: cannot produce to '%s': %s",
                              topic, rd_kafka_err2str(e));
        if (tries == QUEUE_FULL_TRIES)
            return fu_err_set(err, FU_ETRANSIENT,
                              "kafka: producer queue full");
        rd_kafka_poll(ko->rk, QUEUE_FULL_WAIT_MS);
    }
    return fu_err_set(err, FU_EFATAL, "kafka: the producer failed");
}

void kafka_out_poll(struct kafka_out *ko, int timeout_ms) {
    rd_kafka_poll(ko->rk, timeout_ms);
}

int kafka_out_flush(struct kafka_out *ko, int timeout_ms) {
    rd_kafka_flush(ko->rk, timeout_ms);
    return rd_kafka_outq_len(ko->rk);
}

int kafka_out_broken(const struct kafka_out *ko) { return ko->broken; }

void kafka_out_free(struct kafka_out *ko) {
    if (!ko) return;
    if (ko->rk) {
        rd_kafka_purge(ko->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(ko->rk, 0); /* the purged messages' reports */
        rd_kafka_destroy(ko->rk);
    }
    free(ko);
}
