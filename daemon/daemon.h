/* daemon.h -- the state of `followupd run`, shared by the run loop
 * (run.c), the intake of input batches (intake.c) and the emitter of due
 * work (emit.c). Only daemon/ sees it. */
#ifndef FU_DAEMON_H
#define FU_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "batch.h"
#include "config.h"
#include "event.h"
#include "kafka_in.h"
#include "kafka_mock.h"
#include "kafka_out.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "store.h"
#include "tz.h"

/* A produced message's fate, written by the delivery report. */
enum sent_status { SENT_PENDING = 0, SENT_OK, SENT_FAILED };

/* A dead letter waiting for its acknowledgement. */
struct dead_letter {
    char *key, *value; /* owned */
    const char *reason_class; /* static: observe_reason_class */
    int status;        /* enum sent_status */
};

/* A batch whose decisions are saved, its offsets held back until its
 * dead letters (and those of every batch before it) are acknowledged,
 * so the next batch is read and decided meanwhile. */
struct held_batch {
    uint32_t id; /* tags its dead letters' delivery reports */
    struct kafka_marks *marks;
    struct dead_letter *dls; /* owned */
    int ndl;
};

#define HELD_MAX 8 /* batches held at most; then intake waits */

struct held {
    struct held_batch q[HELD_MAX]; /* a ring, oldest at head */
    int head, n;
    uint32_t next_id;
};

/* The opaque of a produced message: which list, which round, which
 * entry; reports of an earlier round find nothing to update. */
enum sent_kind { SENT_OUTBOX = 1, SENT_DEAD_LETTER = 2 };
void *daemon_sent_tag(enum sent_kind kind, uint32_t round, int index);
void daemon_sent_untag(void *msg_opaque, uint32_t *round, int *index);

/* Whether the store answers. Each thread keeps whether its own calls
 * fail (struct outage); the daemon counts the threads that are down
 * (struct outages), so an outage is logged once when the first thread
 * meets it, now and then while it lasts, and once when the last thread
 * is through it. */
struct outage {
    int down;
};

struct outages {
    pthread_mutex_t lock;
    int ndown;
    int64_t since_ms, logged_ms;
};

/* What /healthz and /readyz read from the HTTP thread. */
struct health {
    atomic_llong loop_ms;   /* the loop's last turn (wall ms) */
    atomic_llong emit_ms;   /* the emitter's last turn (wall ms) */
    atomic_int kafka_up;    /* a broker is reachable */
    atomic_int redis_up;    /* the last store call worked */
    atomic_int policy_ok;   /* a policy is loaded */
};

/* The store calls, timed and counted (observe.c): one series each. */
#define METERED_OPS 10
struct metered_store {
    struct store inner;
    struct metrics *m;
    struct metric_series *seconds[METERED_OPS], *errors[METERED_OPS];
};

struct daemon_stats {
    long records, events, dead_letters;
    long reloads, reload_failures;
};

/* The emitter thread (emit.c). The daemon reads only its atomics; the
 * rest is the thread's own between emit_start and emit_stop. */
struct emitter {
    struct daemon *d; /* shared: cfg, lg, metrics, health, pol_lock */
    pthread_t thread;
    int started;
    atomic_int stop;
    atomic_long produced, confirmed, conflicts;
    struct store store; /* its own connection, or a memory store handle */
    struct metered_store metered;
    struct kafka_out *out;
    struct tzdb *tzdb;
    struct policy *pol; /* retained; the daemon's, taken each turn */
    uint64_t seq;
    struct batch_stats bstats;
    long writes_reported;
    struct outage outage;
    int64_t store_stats_at;
    /* the outbox messages claimed in one round, until every one has its
     * delivery report and the acknowledged ones are confirmed */
    uint32_t round; /* tags delivery reports; a stale report is ignored */
    struct outbox_msg *msgs;
    int *status; /* enum sent_status, one per message */
    int n, cap;
    int due_more;   /* the last slice of due users was full */
    int claim_more; /* claim again once the round settles */
    int decided;    /* users decided since the last claim */
    int64_t next_ms;
    /* the pacer (pace.c) */
    int pace_now;         /* serve this turn: calls queued, or more left */
    int pace_seen;        /* calls were paced since start: serve even if a
                             reload took pacing away */
    int64_t pace_second;  /* the second of the last serving */
};

/* The pacer on the emitter's thread (pace.c, spec 4.3). */
void pace_enqueue(struct emitter *em); /* the claimed round's OUT_PACING */
void pace_turn(struct emitter *em, int64_t now_ms);

struct daemon {
    struct config *cfg;
    const char *policy_path;
    struct logger *lg;
    struct tzdb *tzdb;
    pthread_mutex_t pol_lock; /* d->pol changes under it (reload) */
    struct policy *pol;
    struct kafka_mock *mock; /* kafka.brokers: mock */
    char *bootstrap;
    struct store store;
    struct kafka_in *in;
    struct kafka_out *out;
    uint64_t seq; /* scheduling sequence, see engine.h */
    struct emitter em;
    /* the dead letters of the batch being decided, then held */
    struct dead_letter *dls;
    int ndl, capdl;
    struct held held;
    struct batch_stats bstats;
    struct daemon_stats stats;
    struct outage store_outage; /* the intake's */
    struct outages outages;
    struct health health;
    struct metrics *metrics;
    struct http *http;
    struct metered_store metered;
    long writes_reported; /* state writes counted in the metrics */
};

/* ---- observe.c: metrics and health ---- */

/* Declare the metrics and start the HTTP endpoint on http.listen.
 * 0, or -1 with err. */
int observe_start(struct daemon *d, struct fu_err *err);
void observe_stop(struct daemon *d);

/* Put the timing and error counting of every call around *s, keeping
 * them in ms (after it is opened; observe_start first). */
void observe_wrap_store(struct daemon *d, struct metered_store *ms,
                        struct store *s);

/* The policy in force (info gauge), and a reload's result. */
void observe_policy(struct daemon *d, int reload_ok);

/* A batch made durable: its valid events (by type) and its records'
 * time from Kafka to durable. */
void observe_batch(struct daemon *d, const struct event *evs, int n,
                   const struct kafka_batch *b, double decide_seconds);

/* The class of a dead-letter reason, for a label (static text). */
const char *observe_reason_class(const char *reason);
/* A dead letter made durable, by reason class. */
void observe_dead_letter(struct daemon *d, const char *reason_class);

/* A message the broker acknowledged (tasks, reminders, decisions). */
void observe_produced(struct daemon *d, const struct out_msg *m);

/* Refresh the store gauges (outbox depth, oldest due age) through s
 * when now_ms reaches *next_ms, and set the next time. */
void observe_store(struct daemon *d, struct store *s, int64_t *next_ms,
                   int64_t now_ms);

/* Count the state writes in bs not counted yet (*reported so far). */
void observe_writes(struct daemon *d, const struct batch_stats *bs,
                    long *reported);

/* kafka_stats_fn: brokers up and consumer lag. */
void observe_kafka(void *ctx, int brokers_up, const struct kafka_lag *lags,
                   int nlags);

/* Report a failed store call (what: "batch", "due items", ...) of the
 * thread whose outage record o is: a transient failure is logged when an
 * outage starts and every OUTAGE_LOG_MS while it lasts; anything else
 * every time. */
void daemon_store_failed(struct daemon *d, struct outage *o, const char *what,
                         const struct fu_err *err);
/* Report a store call that worked (logs the end of an outage). */
void daemon_store_ok(struct daemon *d, struct outage *o);

/* Bring a scheduling sequence up to the wall clock (ms << 11), so items
 * scheduled by either thread, or by another daemon, later in time get a
 * larger number; it still only grows. */
void daemon_seq_advance(uint64_t *seq);

/* Decide the batch in flight (b, of d->in): good records through the
 * engine into the store, bad ones to the dead-letter topic. 0 when its
 * decisions are saved: the batch is then cleared, its offsets stored at
 * once or held until its dead letters are acknowledged (intake_settle).
 * -1 when not (retry later; nothing is committed). */
int intake_batch(struct daemon *d, struct kafka_batch *b);

/* Send dead letters again that failed, and store the offsets of the held
 * batches that are durable now, oldest first. Never waits. */
void intake_settle(struct daemon *d);

/* Wait until every held batch is durable and its offsets stored: 0, or
 * -1 (the producer broke, or the daemon is stopping and they did not
 * make it in time), when the held batches are dropped uncommitted. */
int intake_drain(struct daemon *d);

/* Free the held batches (at exit). */
void intake_release(struct daemon *d);

/* kafka_revoke_fn: intake_batch, then intake_drain. */
int intake_on_revoke(void *ctx, struct kafka_batch *b);

/* kafka_delivered_fn of the daemon's own producer (dead letters). */
void intake_delivered(void *ctx, void *msg_opaque, int ok);

/* Start the emitter thread with its own producer and d->em.store (opened
 * by the caller). 0, or -1 with err. */
int emit_start(struct daemon *d, struct fu_err *err);

/* Ask the emitter to stop and wait for it: it waits up to 5 s for what
 * it produced and confirms what was acknowledged; the rest comes back
 * from the outbox when its lease ends. */
void emit_stop(struct daemon *d);

/* emit_stop, then free what the emitter holds (its store included). */
void emit_free(struct daemon *d);

/* kafka_delivered_fn of the emitter's producer. */
void emit_delivered(void *ctx, void *msg_opaque, int ok);

/* Wall clock in milliseconds. */
int64_t daemon_now_ms(void);

#endif
