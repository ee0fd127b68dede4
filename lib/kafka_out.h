/* kafka_out.h -- the output side of the daemon: an idempotent producer
 * whose delivery reports tell the caller what the broker acknowledged.
 *
 * The caller confirms an outbox message only from a successful report,
 * so a message leaves the store only after Kafka has it. */
#ifndef FU_KAFKA_OUT_H
#define FU_KAFKA_OUT_H

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "log.h"

/* One delivery report: ok is 1 when the broker acknowledged the message
 * produced with msg_opaque. Called from kafka_out_poll / _flush / _free,
 * on the caller's thread, exactly once per produced message. */
typedef void kafka_delivered_fn(void *ctx, void *msg_opaque, int ok);

struct kafka_out;

/* A producer through bootstrap; lg and ctx are borrowed. NULL with err. */
struct kafka_out *kafka_out_new(const struct config *cfg,
                                const char *bootstrap, struct logger *lg,
                                kafka_delivered_fn *delivered, void *ctx,
                                struct fu_err *err);

/* Queue value[0..len) for topic, keyed by key (NULL: no key). 0, or -1
 * with err: FU_ETRANSIENT when the queue stayed full, FU_EFATAL when the
 * producer must be replaced (kafka_out_broken). No report is made for a
 * message that was not queued. */
int kafka_out_produce(struct kafka_out *ko, const char *topic,
                      const char *key, const char *value, size_t len,
                      void *msg_opaque, struct fu_err *err);

/* Serve delivery reports, waiting up to timeout_ms for one. */
void kafka_out_poll(struct kafka_out *ko, int timeout_ms);

/* Wait up to timeout_ms for every queued message; returns how many are
 * still queued. */
int kafka_out_flush(struct kafka_out *ko, int timeout_ms);

/* 1 after a fatal error (the idempotent producer lost its guarantees):
 * free it and make a new one; unacknowledged messages are reported as
 * failed and will be sent again. */
int kafka_out_broken(const struct kafka_out *ko);

/* Purge what is still queued (reported as failed) and free. NULL ok. */
void kafka_out_free(struct kafka_out *ko);

#endif
