/* kafka_in.h -- the input side of the daemon: a consumer-group consumer
 * that hands out batches of records and stores a record's offset only
 * when the caller says its decisions are durable.
 *
 * The batch in flight lives here, so that a rebalance (served inside
 * kafka_in_poll) can ask the caller to finish it before partitions are
 * given away: at-least-once, and never a commit past what is durable. */
#ifndef FU_KAFKA_IN_H
#define FU_KAFKA_IN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "log.h"

struct kafka_rec {
    const char *topic; /* borrowed from the client, valid until cleared */
    int32_t partition;
    int64_t offset;
    const char *payload; /* may be NULL with len 0 */
    size_t len;
    int64_t timestamp_ms; /* the record's Kafka timestamp, -1 if none */
    void *handle; /* the librdkafka message, owned by the batch */
};

struct kafka_batch {
    int n, cap;
    struct kafka_rec *recs; /* in consumption order */
};

/* Finish batch b (decide and save it; it may be empty) because
 * partitions are being revoked, and store any marks taken earlier
 * (kafka_in_take) that are durable now. Return 0 when b's decisions are
 * durable (its offsets are then stored, and all stored offsets
 * committed), -1 when not (the records of the revoked partitions are
 * dropped; their new owner reads them again). */
typedef int kafka_revoke_fn(void *ctx, struct kafka_batch *b);

/* The lag of one assigned partition (messages behind the end). */
struct kafka_lag {
    const char *topic;
    int32_t partition;
    int64_t lag;
};

/* What librdkafka's statistics say (every few seconds, from inside
 * kafka_in_poll): how many brokers are up, and the lag of each assigned
 * partition; nlags < 0 when only the brokers are known (all went down). */
typedef void kafka_stats_fn(void *ctx, int brokers_up,
                            const struct kafka_lag *lags, int nlags);

struct kafka_in_hooks {
    kafka_revoke_fn *on_revoke;
    kafka_stats_fn *on_stats; /* may be NULL */
    void *ctx;
};

struct kafka_in;

/* A consumer in cfg's group on its input topics, through bootstrap.
 * lg and hooks->ctx are borrowed and must outlive it; hooks is copied.
 * NULL with err. */
struct kafka_in *kafka_in_new(const struct config *cfg, const char *bootstrap,
                              struct logger *lg,
                              const struct kafka_in_hooks *hooks,
                              struct fu_err *err);

/* The batch in flight (empty after kafka_in_done). */
struct kafka_batch *kafka_in_batch(struct kafka_in *ki);

/* Add up to max records to the batch in flight: wait up to timeout_ms for
 * the first, then take what has arrived. Serves rebalances. Returns the
 * number of records in the batch. */
int kafka_in_poll(struct kafka_in *ki, int max, int timeout_ms);

/* The batch in flight is durable: store the offset after each of its
 * records (auto-commit sends them) and clear it. */
void kafka_in_done(struct kafka_in *ki);

/* The positions after a batch's records, per partition, to store once
 * the batch is durable. */
struct kafka_marks;
/* The batch in flight is decided but not durable yet (its dead letters
 * are in flight): take its marks and clear it, so the next batch can be
 * read meanwhile. Store the marks in the order they were taken. */
struct kafka_marks *kafka_in_take(struct kafka_in *ki);
/* Store m's offsets and free m. NULL is a no-op. */
void kafka_in_store(struct kafka_in *ki, struct kafka_marks *m);
void kafka_marks_free(struct kafka_marks *m);

/* Commit the stored offsets now (shutdown). 0, or -1 with err. */
int kafka_in_commit(struct kafka_in *ki, struct fu_err *err);

/* Leave the group (committing what is stored) and free everything; the
 * batch in flight, if any, is dropped uncommitted. NULL is a no-op. */
void kafka_in_free(struct kafka_in *ki);

/* The librdkafka version in use ("2.0.2"). */
const char *kafka_library_version(void);

#endif
