/* emit.c -- the emitter: due work out of the store and onto Kafka.
 *
 * Each turn decides what fell due (the due index through the engine:
 * tasks, reminders and repeat decisions become outbox messages, saved
 * with the user's state), then, when the previous round is settled,
 * leases a round of outbox messages, produces them, and confirms in the
 * store only those the broker acknowledged. A message whose report failed
 * stays leased and comes back when its lease ends; a message of a daemon
 * that died comes back the same way. So a message leaves the store only
 * after Kafka has it, and a repeat carries the same id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

#define TURN_MS 100       /* due items leave well within 1 s */
/* Users whose due items one turn decides: a turn stays a few ms, so the
 * events waiting behind it do not wait long; with more due, the next
 * turn comes at once (emit_wants_turn) instead of after TURN_MS. */
#define DUE_USERS_MAX 200
#define CLAIM_MAX 1000
#define LEASE_S 15        /* above the producer's message.timeout.ms */

static const char *topic_for(const struct config *cfg, enum out_topic t) {
    switch (t) {
    case OUT_TASKS: return cfg->topic_tasks;
    case OUT_REMINDERS: return cfg->topic_reminders;
    case OUT_DECISIONS: return cfg->topic_decisions;
    case OUT_DEAD_LETTER: return cfg->topic_dead_letter;
    }
    return NULL;
}

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

/* Confirm the acknowledged messages of the round (moved to the front) and
 * end it; the others come back when their lease ends. 0, or -1 when the
 * store failed (the round stays, to be confirmed next turn). */
static int round_confirm(struct daemon *d) {
    struct emitter *em = &d->em;
    struct fu_err err;
    int k = 0;
    for (int i = 0; i < em->n; i++) {
        if (em->status[i] != SENT_OK) continue;
        struct outbox_msg tmp = em->msgs[k];
        int ts = em->status[k];
        em->msgs[k] = em->msgs[i], em->status[k] = em->status[i];
        em->msgs[i] = tmp, em->status[i] = ts;
        k++;
    }
    if (k > 0 && d->store.ops->outbox_confirm(d->store.ctx, em->msgs, k,
                                              &err) < 0) {
        daemon_store_failed(d, "outbox confirm", &err);
        return -1;
    }
    if (k > 0) daemon_store_ok(d);
    d->stats.confirmed += k;
    for (int i = 0; i < k; i++)
        if (topic_for(d->cfg, em->msgs[i].msg.topic))
            observe_produced(d, &em->msgs[i].msg);
    round_clear(em);
    return 0;
}

/* Decide one slice of what fell due; 1 when there may be more. */
static int decide_due(struct daemon *d, int64_t now) {
    struct fu_err err;
    int n = batch_due(d->pol, &d->store, d->tzdb, now, DUE_USERS_MAX, &d->seq,
                      &d->bstats, &err);
    if (n < 0) {
        daemon_store_failed(d, "due items", &err);
        return 0;
    }
    daemon_store_ok(d);
    return n == DUE_USERS_MAX;
}

static int emitter_reserve(struct emitter *em) {
    if (em->cap) return 0;
    em->msgs = calloc(CLAIM_MAX, sizeof(*em->msgs));
    em->status = calloc(CLAIM_MAX, sizeof(*em->status));
    if (!em->msgs || !em->status) return -1;
    em->cap = CLAIM_MAX;
    return 0;
}

static void claim_and_send(struct daemon *d, int64_t now) {
    struct emitter *em = &d->em;
    struct fu_err err;
    int n;
    if (emitter_reserve(em) < 0) {
        LOG(d->lg, LOG_ERROR, "out of memory in the emitter", );
        return;
    }
    n = d->store.ops->outbox_claim(d->store.ctx, now, LEASE_S, em->msgs,
                                   em->cap, &err);
    if (n < 0) {
        daemon_store_failed(d, "outbox claim", &err);
        return;
    }
    em->n = n;
    em->claim_more = n == em->cap;
    for (int i = 0; i < n; i++) {
        const struct out_msg *m = &em->msgs[i].msg;
        const char *topic = topic_for(d->cfg, m->topic);
        em->status[i] = SENT_PENDING;
        if (!topic) { /* the optional decisions topic is off */
            em->status[i] = SENT_OK;
            continue;
        }
        if (kafka_out_produce(d->out, topic, m->key, m->value,
                              strlen(m->value),
                              daemon_sent_tag(SENT_OUTBOX, em->round, i),
                              &err) < 0) {
            em->status[i] = SENT_FAILED;
            LOG(d->lg, LOG_WARN, "produce failed, will retry",
                LOG_S("error", err.msg));
        } else {
            d->stats.produced++;
        }
    }
}

void emit_turn(struct daemon *d, int64_t now_ms) {
    struct emitter *em = &d->em;
    kafka_out_poll(d->out, 0);
    if (em->n > 0 && round_settled(em)) round_confirm(d);
    if (!emit_wants_turn(d) && now_ms < em->next_ms) return;
    em->next_ms = now_ms + TURN_MS;
    em->due_more = decide_due(d, now_ms / 1000);
    if (em->n == 0) claim_and_send(d, now_ms / 1000);
}

int emit_in_flight(const struct daemon *d) { return d->em.n; }

/* More due users, or a full claim whose round is settled: not a full
 * claim still waiting for its delivery reports (that would spin). */
int emit_wants_turn(const struct daemon *d) {
    const struct emitter *em = &d->em;
    return em->due_more || (em->claim_more && round_settled(em));
}

void emit_release(struct daemon *d) {
    struct emitter *em = &d->em;
    if (em->n > 0 && round_confirm(d) < 0) round_clear(em);
    free(em->msgs);
    free(em->status);
    memset(em, 0, sizeof(*em));
}

/* ---- Delivery reports ---- */

_Static_assert(sizeof(uintptr_t) >= 8, "delivery tags need 64-bit pointers");

void *daemon_sent_tag(enum sent_kind kind, uint32_t round, int index) {
    uint64_t tag = (uint64_t)kind << 62 | (uint64_t)(round & 0x3FFFFFFF) << 32 |
                   (uint32_t)index;
    return (void *)(uintptr_t)tag;
}

void daemon_delivered(void *ctx, void *msg_opaque, int ok) {
    struct daemon *d = ctx;
    uint64_t tag = (uintptr_t)msg_opaque;
    uint32_t round = (uint32_t)(tag >> 32) & 0x3FFFFFFF;
    int index = (int)(uint32_t)tag;
    int status = ok ? SENT_OK : SENT_FAILED;
    switch ((enum sent_kind)(tag >> 62)) {
    case SENT_OUTBOX:
        if (round == (d->em.round & 0x3FFFFFFF) && index < d->em.n)
            d->em.status[index] = status;
        break;
    case SENT_DEAD_LETTER:
        intake_delivered(d, round, index, status);
        break;
    }
}
