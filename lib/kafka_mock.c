/* kafka_mock.c -- librdkafka's mock cluster behind a small handle.
 *
 * The cluster lives inside a throwaway producer handle; freeing the
 * handle stops it. */
#include "kafka_mock.h"

#include <stdlib.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

struct kafka_mock {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
};

struct kafka_mock *kafka_mock_new(int nbrokers, struct fu_err *err) {
    char why[256];
    struct kafka_mock *km = calloc(1, sizeof(*km));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!km || !conf) {
        free(km);
        if (conf) rd_kafka_conf_destroy(conf);
        fu_err_set(err, FU_ENOMEM, "out of memory");
        return NULL;
    }
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    if (!(km->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why)))) {
        rd_kafka_conf_destroy(conf);
        fu_err_set(err, FU_EFATAL, "kafka mock: %s", why);
        free(km);
        return NULL;
    }
    if (!(km->mc = rd_kafka_mock_cluster_new(km->rk, nbrokers))) {
        fu_err_set(err, FU_EFATAL, "kafka mock: cannot start the cluster");
        kafka_mock_free(km);
        return NULL;
    }
    return km;
}

int kafka_mock_topic(struct kafka_mock *km, const char *topic, int partitions,
                     struct fu_err *err) {
    rd_kafka_resp_err_t e =
        rd_kafka_mock_topic_create(km->mc, topic, partitions, 1);
    if (e)
        return fu_err_set(err, FU_EFATAL, "kafka mock: topic '%s': %s", topic,
                          rd_kafka_err2str(e));
    return 0;
}

const char *kafka_mock_bootstraps(const struct kafka_mock *km) {
    return rd_kafka_mock_cluster_bootstraps(km->mc);
}

void kafka_mock_free(struct kafka_mock *km) {
    if (!km) return;
    if (km->mc) rd_kafka_mock_cluster_destroy(km->mc);
    if (km->rk) rd_kafka_destroy(km->rk);
    free(km);
}
