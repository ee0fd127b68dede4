/* kafka_mock.h -- librdkafka's in-process mock cluster, for
 * `kafka.brokers: mock` (the demo): real Kafka protocol over loopback,
 * no broker to install, nothing kept after the process ends. */
#ifndef FU_KAFKA_MOCK_H
#define FU_KAFKA_MOCK_H

#include "err.h"

struct kafka_mock;

/* A cluster of nbrokers brokers. NULL with err. */
struct kafka_mock *kafka_mock_new(int nbrokers, struct fu_err *err);

/* Create topic with partitions partitions. 0, or -1 with err. */
int kafka_mock_topic(struct kafka_mock *km, const char *topic, int partitions,
                     struct fu_err *err);

/* "host:port,..." for bootstrap.servers; owned by km. */
const char *kafka_mock_bootstraps(const struct kafka_mock *km);

void kafka_mock_free(struct kafka_mock *km); /* NULL ok */

#endif
