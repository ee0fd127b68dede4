/* emit.c -- the emitter: due work out of the store and onto Kafka, on a
 * thread of its own.
 *
 * Each turn decides what fell due (the due index through the engine:
 * tasks, reminders and repeat decisions become outbox messages, saved
 * with the user's state), then, when the previous round is settled,
 * leases a round of outbox messages, produces them, and confirms in the
 * store only those the broker acknowledged. A message whose report failed
 * stays leased and comes back when its lease ends; a message of a daemon
 * that died comes back the same way. So a message leaves the store only
 * after Kafka has it, and a repeat carries the same id.
 *
 * The thread has its own store connection (or a locked handle on the
 * memory store), producer, zone cache and counters: due items never wait
 * behind a batch being decided, and intake never waits behind a claim.
 * Where both threads save the same user, the store's compare-and-set
 * makes the later one decide again. The daemon reads only its atomics
 * and hands it a new policy under d->pol_lock. */
#include <signal.h>
#include <sys/prctl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"

/* Due times are whole seconds, so a turn comes at each second's start
 * as well as every TURN_MS (for what intake queued in the outbox). */
#define TURN_MS 50
#define IDLE_POLL_MS 10   /* the wait between turns, cut short by a report */
/* Users whose due items one turn decides; with more due, the next turn
 * comes at once (wants_turn). */
#define DUE_USERS_MAX 1000
#define CLAIM_MAX 5000 /* a due second's burst in one or two rounds */
#define LEASE_S 15        /* above the producer's message.timeout.ms */
#define FLUSH_MS 5000
#define REPLACE_RETRY_MS 1000

static const char *topic_for(const struct config *cfg, enum out_topic t) {
    switch (t) {
    case OUT_TASKS: return cfg->topic_tasks;
    case OUT_REMINDERS: return cfg->topic_reminders;
    case OUT_DECISIONS: return cfg->topic_decisions;
    case OUT_DEAD_LETTER: return cfg->topic_dead_letter;
    case OUT_MESSAGES: return cfg->topic_messages;
    case OUT_PACING: break; /* never produced: queued by pace.c */
    }
    return NULL;
}

/* ---- A round: claimed, produced, confirmed ---- */

static int round_settled(const struct emitter *em) {
    for (int i = 0; i < em->n; i++)
        if (em->status[i] == SENT_PENDING) return 0;
    return 1;
}

static void round_clear(struct emitter *em) {
    for (int i = 0; i < em->n; i++) outbox_msg_release(&em->msgs[i]);
    em->n = 0;
    em->round++;
}

/* Move the acknowledged messages of the round to its front; how many. */
static int round_partition(struct emitter *em) {
    int k = 0;
    for (int i = 0; i < em->n; i++) {
        if (em->status[i] != SENT_OK) continue;
        struct outbox_msg tmp = em->msgs[k];
        int ts = em->status[k];
        em->msgs[k] = em->msgs[i], em->status[k] = em->status[i];
        em->msgs[i] = tmp, em->status[i] = ts;
        k++;
    }
    return k;
}

/* Confirm the acknowledged messages of the round and end it; the others
 * come back when their lease ends. 0, or -1 when the store failed (the
 * round stays, to be confirmed next turn). */
static int round_confirm(struct emitter *em) {
    struct daemon *d = em->d;
    struct fu_err err;
    int k = round_partition(em);
    if (k > 0 && em->store.ops->outbox_confirm(em->store.ctx, em->msgs, k,
                                               &err) < 0) {
        daemon_store_failed(d, &em->outage, "outbox confirm", &err);
        return -1;
    }
    if (k > 0) daemon_store_ok(d, &em->outage);
    atomic_fetch_add(&em->confirmed, k);
    for (int i = 0; i < k; i++)
        if (topic_for(d->cfg, em->msgs[i].msg.topic))
            observe_produced(d, &em->msgs[i].msg);
    round_clear(em);
    return 0;
}

static int round_reserve(struct emitter *em) {
    if (em->cap) return 0;
    em->msgs = calloc(CLAIM_MAX, sizeof(*em->msgs));
    em->status = calloc(CLAIM_MAX, sizeof(*em->status));
    if (!em->msgs || !em->status) return -1;
    em->cap = CLAIM_MAX;
    return 0;
}

static void produce_one(struct emitter *em, int i) {
    const struct out_msg *m = &em->msgs[i].msg;
    const char *topic = topic_for(em->d->cfg, m->topic);
    struct fu_err err;
    if (m->topic == OUT_PACING) return; /* pace_enqueue set its status */
    em->status[i] = SENT_PENDING;
    if (!topic) { /* the optional decisions topic is off */
        em->status[i] = SENT_OK;
        return;
    }
    if (kafka_out_produce(em->out, topic, m->key, m->value, strlen(m->value),
                          daemon_sent_tag(SENT_OUTBOX, em->round, i),
                          &err) < 0) {
        em->status[i] = SENT_FAILED;
        LOG(em->d->lg, LOG_WARN, "produce failed, will retry",
            LOG_S("error", err.msg));
        return;
    }
    atomic_fetch_add(&em->produced, 1);
}

static void claim_and_send(struct emitter *em, int64_t now) {
    struct fu_err err;
    if (round_reserve(em) < 0) {
        LOG(em->d->lg, LOG_ERROR, "out of memory in the emitter", );
        return;
    }
    int n = em->store.ops->outbox_claim(em->store.ctx, now, LEASE_S, em->msgs,
                                        em->cap, &err);
    if (n < 0) {
        daemon_store_failed(em->d, &em->outage, "outbox claim", &err);
        return;
    }
    em->n = n;
    em->claim_more = n == em->cap;
    em->decided = 0;
    pace_enqueue(em);
    for (int i = 0; i < n; i++) produce_one(em, i);
}

/* ---- Turns ---- */

/* Decide one slice of what fell due; 1 when there may be more. */
static int decide_due(struct emitter *em, int64_t now) {
    struct fu_err err;
    daemon_seq_advance(&em->seq);
    int n = batch_due(em->pol, &em->store, em->tzdb, now, DUE_USERS_MAX,
                      &em->seq, &em->bstats, &err);
    if (n < 0) {
        daemon_store_failed(em->d, &em->outage, "due items", &err);
        return 0;
    }
    em->decided += n;
    daemon_store_ok(em->d, &em->outage);
    return n == DUE_USERS_MAX;
}

/* More due users, or a settled round with more to claim (the last claim
 * was full, or due items were decided since): not a round still waiting
 * for its delivery reports (that would spin). */
static int wants_turn(const struct emitter *em) {
    return em->due_more || em->pace_now ||
           (em->claim_more && round_settled(em));
}

/* Confirm what the broker acknowledged; when nothing is in flight,
 * decide what fell due and send the outbox. */
static void emit_turn(struct emitter *em, int64_t now_ms) {
    kafka_out_poll(em->out, 0);
    if (em->n > 0 && round_settled(em)) round_confirm(em);
    if (!wants_turn(em) && now_ms < em->next_ms) return;
    int64_t second = (now_ms / 1000 + 1) * 1000;
    em->next_ms = now_ms + TURN_MS < second ? now_ms + TURN_MS : second;
    em->due_more = decide_due(em, now_ms / 1000);
    pace_turn(em, now_ms);
    if (em->n == 0) claim_and_send(em, now_ms / 1000);
    else if (em->decided > 0) em->claim_more = 1; /* once the round settles */
}

/* The policy the daemon has now (a reload swaps it under pol_lock). */
static void take_policy(struct emitter *em) {
    struct daemon *d = em->d;
    pthread_mutex_lock(&d->pol_lock);
    if (em->pol != d->pol) {
        policy_release(em->pol);
        em->pol = policy_retain(d->pol);
    }
    pthread_mutex_unlock(&d->pol_lock);
}

static void replace_producer(struct emitter *em) {
    struct daemon *d = em->d;
    struct fu_err err;
    LOG(d->lg, LOG_ERROR, "producer failed fatally, replacing it", );
    kafka_out_free(em->out); /* reports what was in flight as failed */
    em->out = NULL;
    while (!(em->out = kafka_out_new(d->cfg, d->bootstrap, d->lg,
                                     emit_delivered, em, &err))) {
        LOG(d->lg, LOG_ERROR, "cannot create the producer",
            LOG_S("error", err.msg));
        struct timespec ts = {REPLACE_RETRY_MS / 1000, 0};
        nanosleep(&ts, NULL);
    }
}

/* At stop: wait for what is in flight, confirm what was acknowledged;
 * the rest stays leased in the outbox and is sent by whoever runs next. */
static void finish(struct emitter *em) {
    int left = kafka_out_flush(em->out, FLUSH_MS);
    if (left > 0)
        LOG(em->d->lg, LOG_WARN, "messages not acknowledged at stop; "
            "they stay in the outbox and are sent again", LOG_I("count", left));
    if (em->n > 0 && round_confirm(em) < 0) round_clear(em);
}

static void *emitter_main(void *arg) {
    struct emitter *em = arg;
    struct daemon *d = em->d;
    prctl(PR_SET_NAME, "fu-emitter"); /* for top -H, perf and the bench */
    while (!atomic_load(&em->stop)) {
        int64_t now = daemon_now_ms();
        atomic_store(&d->health.emit_ms, now);
        take_policy(em);
        if (kafka_out_broken(em->out)) replace_producer(em);
        emit_turn(em, now);
        observe_store(d, &em->store, &em->store_stats_at, now);
        observe_writes(d, &em->bstats, &em->writes_reported);
        atomic_store(&em->conflicts, em->bstats.conflicts);
        if (!wants_turn(em)) kafka_out_poll(em->out, IDLE_POLL_MS);
    }
    finish(em);
    return NULL;
}

/* ---- Start and stop ---- */

int emit_start(struct daemon *d, struct fu_err *err) {
    struct emitter *em = &d->em;
    em->d = d;
    observe_wrap_store(d, &em->metered, &em->store);
    if (!(em->tzdb = tzdb_new(NULL)))
        return fu_err_set(err, FU_ENOMEM, "out of memory");
    em->pol = policy_retain(d->pol);
    if (!(em->out = kafka_out_new(d->cfg, d->bootstrap, d->lg, emit_delivered,
                                  em, err)))
        return -1;
    /* signals are the main thread's: it alone reads their flags */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&em->thread, NULL, emitter_main, em);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) return fu_err_set(err, FU_EFATAL, "cannot start the emitter");
    em->started = 1;
    return 0;
}

void emit_stop(struct daemon *d) {
    struct emitter *em = &d->em;
    if (!em->started) return;
    atomic_store(&em->stop, 1);
    pthread_join(em->thread, NULL);
    em->started = 0;
}

void emit_free(struct daemon *d) {
    struct emitter *em = &d->em;
    emit_stop(d);
    kafka_out_free(em->out); /* before the round its reports point into */
    em->out = NULL;
    round_clear(em);
    free(em->msgs);
    free(em->status);
    em->msgs = NULL;
    em->status = NULL;
    em->cap = 0;
    store_close(&em->store);
    policy_release(em->pol);
    em->pol = NULL;
    tzdb_free(em->tzdb);
    em->tzdb = NULL;
}

/* ---- Delivery reports ---- */

_Static_assert(sizeof(uintptr_t) >= 8, "delivery tags need 64-bit pointers");

void *daemon_sent_tag(enum sent_kind kind, uint32_t round, int index) {
    uint64_t tag = (uint64_t)kind << 62 | (uint64_t)(round & 0x3FFFFFFF) << 32 |
                   (uint32_t)index;
    return (void *)(uintptr_t)tag;
}

void daemon_sent_untag(void *msg_opaque, uint32_t *round, int *index) {
    uint64_t tag = (uintptr_t)msg_opaque;
    *round = (uint32_t)(tag >> 32) & 0x3FFFFFFF;
    *index = (int)(uint32_t)tag;
}

void emit_delivered(void *ctx, void *msg_opaque, int ok) {
    struct emitter *em = ctx;
    uint32_t round;
    int index;
    daemon_sent_untag(msg_opaque, &round, &index);
    if (round == (em->round & 0x3FFFFFFF) && index < em->n)
        em->status[index] = ok ? SENT_OK : SENT_FAILED;
}
