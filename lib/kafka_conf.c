/* kafka_conf.c -- librdkafka configuration for the daemon's clients.
 *
 * Defaults suit a batch loop: a consumer that fetches often (the default
 * fetch wait of 500 ms costs two thirds of the throughput here), stores
 * offsets only when told, and a producer that is idempotent. A user's
 * `kafka.properties` override the defaults, except the few properties
 * at-least-once delivery rests on, which are refused with a reason. */
#include "kafka_conf.h"

#include <stdio.h>
#include <string.h>

struct prop {
    const char *key, *value;
};

/* librdkafka waits up to 10 s between reconnects by default: after an
 * outage that is seconds of work held back for nothing. */
static const struct prop common_defaults[] = {
    {"reconnect.backoff.max.ms", "1000"},
    {NULL, NULL}};

static const struct prop consumer_defaults[] = {
    {"fetch.wait.max.ms", "100"},
    {"auto.offset.reset", "earliest"},
    {"enable.auto.commit", "true"},
    {"auto.commit.interval.ms", "1000"},
    {"session.timeout.ms", "10000"},
    {"heartbeat.interval.ms", "1000"},
    {"statistics.interval.ms", "2000"}, /* lag, brokers up: metrics */
    /* the prefetch queue is most of the daemon's memory: 64 MiB by
     * default; 16 MiB (some 50,000 events) keeps batches full */
    {"queued.max.messages.kbytes", "16384"},
    {NULL, NULL}};

static const struct prop producer_defaults[] = {
    {"linger.ms", "5"},
    {"message.timeout.ms", "10000"},
    {NULL, NULL}};

/* Set last, and refused in kafka.properties: delivery depends on them. */
static const struct prop consumer_owned[] = {
    {"enable.auto.offset.store", "false"},
    {NULL, NULL}};

static const struct prop producer_owned[] = {
    {"enable.idempotence", "true"},
    {NULL, NULL}};

/* Cooperative-sticky rebalancing moves only the partitions that change
 * owner; before librdkafka 2.3.0 it can assert when a consumer that never
 * got an assignment is closed (librdkafka #4312) and a second member
 * never gets partitions from the 2.0.2 mock cluster, so older versions
 * (Debian 12 ships 2.0.2) use the eager range assignor. */
#define COOPERATIVE_SAFE_VERSION 0x020300ff

static const char *assignment_strategy(void) {
    return rd_kafka_version() >= COOPERATIVE_SAFE_VERSION ? "cooperative-sticky"
                                                          : "range,roundrobin";
}

static int set_prop(rd_kafka_conf_t *conf, const char *key, const char *value,
                    struct fu_err *err) {
    char why[256];
    if (rd_kafka_conf_set(conf, key, value, why, sizeof(why)) ==
        RD_KAFKA_CONF_OK)
        return 0;
    /* librdkafka's reason quotes the value: never a secret's */
    if (strstr(key, "password") || strstr(key, "secret"))
        return fu_err_set(err, FU_EINVAL, "kafka.properties: '%s': refused "
                          "(its value is not shown)", key);
    return fu_err_set(err, FU_EINVAL, "kafka.properties: '%s': %s", key, why);
}

static int set_all(rd_kafka_conf_t *conf, const struct prop *p,
                   struct fu_err *err) {
    for (; p->key; p++)
        if (set_prop(conf, p->key, p->value, err) < 0) return -1;
    return 0;
}

static int is_owned(const struct prop *owned, const char *key) {
    for (; owned->key; owned++)
        if (!strcmp(owned->key, key)) return 1;
    return 0;
}

/* The key as it applies to role, or NULL when it is for the other
 * client only. */
static const char *key_for(const char *key, enum kafka_role role) {
    static const char cons[] = "consumer.", prod[] = "producer.";
    if (!strncmp(key, cons, sizeof(cons) - 1))
        return role == KAFKA_CONSUMER ? key + sizeof(cons) - 1 : NULL;
    if (!strncmp(key, prod, sizeof(prod) - 1))
        return role == KAFKA_PRODUCER ? key + sizeof(prod) - 1 : NULL;
    return key;
}

static int set_user(rd_kafka_conf_t *conf, const struct config *cfg,
                    enum kafka_role role, struct fu_err *err) {
    for (int i = 0; i < cfg->nproperties; i++) {
        const char *key = key_for(cfg->properties[i].key, role);
        if (!key) continue;
        if (is_owned(consumer_owned, key) || is_owned(producer_owned, key))
            return fu_err_set(err, FU_EINVAL,
                              "kafka.properties: '%s' is set by followupd "
                              "(at-least-once delivery depends on it): "
                              "remove it", key);
        if (set_prop(conf, key, cfg->properties[i].value, err) < 0) return -1;
    }
    return 0;
}

static int log_level_of(int syslog_level) {
    if (syslog_level <= 3) return LOG_ERROR;
    if (syslog_level == 4) return LOG_WARN;
    if (syslog_level <= 6) return LOG_INFO;
    return LOG_DEBUG;
}

/* librdkafka's threads call this; the logger writes whole lines. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf) {
    const struct kafka_client *kc = rd_kafka_opaque(rk);
    if (!kc || !kc->lg) return;
    LOG(kc->lg, log_level_of(level), "librdkafka",
        LOG_S("client", rd_kafka_name(rk)) LOG_S("facility", fac)
        LOG_S("detail", buf));
}

rd_kafka_conf_t *kafka_conf_new(const struct config *cfg,
                                const char *bootstrap, enum kafka_role role,
                                struct fu_err *err) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int consumer = role == KAFKA_CONSUMER;
    if (!conf) {
        fu_err_set(err, FU_ENOMEM, "out of memory");
        return NULL;
    }
    if (set_prop(conf, "bootstrap.servers", bootstrap, err) < 0 ||
        set_prop(conf, "client.id", consumer ? "followupd-in" : "followupd-out",
                 err) < 0 ||
        set_all(conf, common_defaults, err) < 0 ||
        set_all(conf, consumer ? consumer_defaults : producer_defaults,
                err) < 0 ||
        (consumer && set_prop(conf, "group.id", cfg->group_id, err) < 0) ||
        (consumer && set_prop(conf, "partition.assignment.strategy",
                              assignment_strategy(), err) < 0) ||
        set_user(conf, cfg, role, err) < 0 ||
        set_all(conf, consumer ? consumer_owned : producer_owned, err) < 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, on_log);
    return conf;
}

void kafka_log_error(struct logger *lg, const char *client, int err,
                     const char *reason) {
    /* connection failures are in librdkafka's own log lines already */
    if (err == RD_KAFKA_RESP_ERR__TRANSPORT) return;
    int fatal = err == RD_KAFKA_RESP_ERR__FATAL;
    int level = fatal || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN
                    ? LOG_ERROR
                    : LOG_WARN;
    LOG(lg, level, "kafka error",
        LOG_S("client", client)
        LOG_S("error", rd_kafka_err2name((rd_kafka_resp_err_t)err))
        LOG_S("reason", reason));
}
