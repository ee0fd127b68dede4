/* kafka_conf.h -- librdkafka configuration for the daemon's clients.
 *
 * Internal to the Kafka adapters (kafka_in.c, kafka_out.c, kafka_mock.c):
 * it is the one place that knows our defaults, how `kafka.properties`
 * reach librdkafka, and which properties followupd must own. */
#ifndef FU_KAFKA_CONF_H
#define FU_KAFKA_CONF_H

#include <librdkafka/rdkafka.h>

#include "config.h"
#include "err.h"
#include "log.h"

enum kafka_role { KAFKA_CONSUMER, KAFKA_PRODUCER };

/* The first member of every adapter whose struct is its client's opaque
 * (rd_kafka_conf_set_opaque), so librdkafka's log lines find the logger. */
struct kafka_client {
    struct logger *lg; /* borrowed */
};

/* A new librdkafka configuration for role: bootstrap servers, our
 * defaults, then cfg's `kafka.properties` as they are (a key prefixed
 * `consumer.` or `producer.` applies to that client only), then the
 * properties delivery depends on. librdkafka's own log lines go to the
 * logger of the struct kafka_client the caller sets as opaque. Returns
 * NULL with err (FU_EINVAL names the property librdkafka refused). */
rd_kafka_conf_t *kafka_conf_new(const struct config *cfg,
                                const char *bootstrap, enum kafka_role role,
                                struct fu_err *err);

/* Log a librdkafka error through lg: reason text only (it names brokers
 * and topics, never message contents). */
void kafka_log_error(struct logger *lg, const char *client, int err,
                     const char *reason);

#endif
