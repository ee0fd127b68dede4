/* intake.c -- a batch of input records through parse, engine and store.
 *
 * A batch is durable when every decision it caused is saved in the store
 * and every dead letter it produced is acknowledged by Kafka; only then
 * may its offsets be stored. Dead letters are produced after the
 * decisions are saved, so a batch retried after a store failure does not
 * send them twice. Their acknowledgements are not waited for: the batch
 * is held (its offsets kept back, in order behind every earlier held
 * batch) while the next ones are read and decided, because a broker round
 * trip per batch with one bad record in it cost a third of the
 * throughput. */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "event.h"
#include "signals.h"

#define DEAD_LETTER_WAIT_POLL_MS 50
#define STOP_GRACE_MS 3000 /* how long a stopping daemon waits for them */

/* ---- Dead letters ---- */

static void dead_letters_free(struct dead_letter *dls, int n) {
    for (int i = 0; i < n; i++) {
        free(dls[i].key);
        free(dls[i].value);
    }
}

static void dead_letters_clear(struct daemon *d) {
    dead_letters_free(d->dls, d->ndl);
    d->ndl = 0;
}

static int dead_letter_add(struct daemon *d, const struct kafka_rec *r,
                           const char *reason) {
    if (d->ndl == d->capdl) {
        int n = d->capdl ? d->capdl * 2 : 16;
        struct dead_letter *nd = realloc(d->dls, sizeof(*nd) * (size_t)n);
        if (!nd) return -1;
        d->dls = nd;
        d->capdl = n;
    }
    char *value = outmsg_dead_letter(reason, r->topic, r->partition,
                                     r->offset, r->payload, r->len);
    if (!value) return -1;
    d->dls[d->ndl++] = (struct dead_letter){
        r->payload ? event_peek_user_id(r->payload, r->len) : NULL, value,
        observe_reason_class(reason), SENT_FAILED /* not produced yet */};
    LOG(d->lg, LOG_WARN, "dead letter", LOG_S("reason", reason)
        LOG_S("topic", r->topic) LOG_I("partition", r->partition)
        LOG_I("offset", r->offset));
    return 0;
}

/* ---- Held batches ---- */

static struct held_batch *held_at(struct daemon *d, int i) {
    return &d->held.q[(d->held.head + i) % HELD_MAX];
}

/* Produce every dead letter of hb not produced or failed; how many are
 * still waiting for their report. */
static int held_send(struct daemon *d, struct held_batch *hb) {
    int waiting = 0;
    for (int i = 0; i < hb->ndl; i++) {
        struct dead_letter *dl = &hb->dls[i];
        struct fu_err err;
        if (dl->status == SENT_FAILED) {
            dl->status = SENT_PENDING;
            if (kafka_out_produce(d->out, d->cfg->topic_dead_letter, dl->key,
                                  dl->value, strlen(dl->value),
                                  daemon_sent_tag(SENT_DEAD_LETTER, hb->id, i),
                                  &err) < 0)
                dl->status = SENT_FAILED;
        }
        waiting += dl->status != SENT_OK;
    }
    return waiting;
}

/* The batch being decided, saved: hold it with its dead letters (moved
 * out of d) and the marks of the batch in flight, and send them. */
static void held_push(struct daemon *d) {
    struct held_batch *hb = held_at(d, d->held.n++);
    *hb = (struct held_batch){d->held.next_id++ & 0x3FFFFFFF,
                              kafka_in_take(d->in), d->dls, d->ndl};
    d->dls = NULL;
    d->ndl = d->capdl = 0;
    held_send(d, hb);
}

static void held_pop(struct daemon *d, int store) {
    struct held_batch *hb = held_at(d, 0);
    if (store) {
        kafka_in_store(d->in, hb->marks);
        d->stats.dead_letters += hb->ndl;
        for (int i = 0; i < hb->ndl; i++)
            observe_dead_letter(d, hb->dls[i].reason_class);
    } else {
        kafka_marks_free(hb->marks);
    }
    dead_letters_free(hb->dls, hb->ndl);
    free(hb->dls);
    memset(hb, 0, sizeof(*hb));
    d->held.head = (d->held.head + 1) % HELD_MAX;
    d->held.n--;
}

void intake_settle(struct daemon *d) {
    int i = 0;
    kafka_out_poll(d->out, 0); /* the dead letters' reports */
    while (i < d->held.n && held_send(d, held_at(d, i)) == 0) i++;
    while (i-- > 0) held_pop(d, 1); /* the durable ones, oldest first */
    for (i = 1; i < d->held.n; i++) held_send(d, held_at(d, i));
}

/* Until at most `left` batches are held: 0, or -1 when the producer
 * broke or the daemon is stopping and they did not make it in time. */
static int held_wait(struct daemon *d, int left) {
    int64_t stop_at = -1;
    for (intake_settle(d); d->held.n > left; intake_settle(d)) {
        if (kafka_out_broken(d->out)) return -1;
        if (signals_stop_requested()) {
            int64_t now = daemon_now_ms();
            if (stop_at < 0) stop_at = now + STOP_GRACE_MS;
            if (now >= stop_at) return -1;
        }
        kafka_out_poll(d->out, DEAD_LETTER_WAIT_POLL_MS);
    }
    return 0;
}

int intake_drain(struct daemon *d) {
    if (held_wait(d, 0) == 0) return 0;
    LOG(d->lg, LOG_WARN, "dead letters not acknowledged; their batches "
        "stay uncommitted and are read again", LOG_I("batches", d->held.n));
    while (d->held.n > 0) held_pop(d, 0);
    return -1;
}

void intake_delivered(void *ctx, void *msg_opaque, int ok) {
    struct daemon *d = ctx;
    uint32_t round;
    int index, status = ok ? SENT_OK : SENT_FAILED;
    daemon_sent_untag(msg_opaque, &round, &index);
    for (int i = 0; i < d->held.n; i++) {
        struct held_batch *hb = held_at(d, i);
        if (hb->id == round && index < hb->ndl) hb->dls[index].status = status;
    }
}

void intake_release(struct daemon *d) {
    while (d->held.n > 0) held_pop(d, 0);
    dead_letters_clear(d);
    free(d->dls);
    d->dls = NULL;
    d->capdl = 0;
}

/* ---- Batches ---- */

/* Parse b into evs (validated events) and dead letters. Returns the
 * number of events, or -1 on ENOMEM. */
static int parse_batch(struct daemon *d, const struct kafka_batch *b,
                       struct event *evs) {
    int n = 0;
    for (int i = 0; i < b->n; i++) {
        const struct kafka_rec *r = &b->recs[i];
        struct fu_err perr;
        fu_err_clear(&perr);
        if (event_parse(r->payload ? r->payload : "", r->len, d->tzdb,
                        &evs[n], &perr) == 0) {
            n++;
            continue;
        }
        if (perr.code == FU_ENOMEM || dead_letter_add(d, r, perr.msg) < 0) {
            while (n > 0) event_release(&evs[--n]);
            return -1;
        }
    }
    return n;
}

int intake_batch(struct daemon *d, struct kafka_batch *b) {
    struct event *evs = calloc((size_t)b->n + 1, sizeof(*evs));
    struct fu_err err;
    int n, rc = -1;
    dead_letters_clear(d);
    /* room to hold this batch, should it need it, before it is decided */
    if (d->held.n == HELD_MAX && held_wait(d, HELD_MAX - 1) < 0) {
        free(evs);
        return -1;
    }
    if (!evs || (n = parse_batch(d, b, evs)) < 0) {
        LOG(d->lg, LOG_ERROR, "out of memory deciding a batch", );
        free(evs);
        return -1;
    }
    long calls = d->bstats.load_calls;
    int64_t t0 = daemon_now_ms();
    fu_err_clear(&err);
    daemon_seq_advance(&d->seq);
    if (batch_decide(d->pol, &d->store, d->tzdb, evs, n,
                     daemon_now_ms() / 1000, &d->seq, &d->bstats, &err) < 0) {
        daemon_store_failed(d, &d->store_outage, "batch", &err);
    } else {
        if (d->bstats.load_calls > calls) daemon_store_ok(d, &d->store_outage);
        observe_batch(d, evs, n, b, (double)(daemon_now_ms() - t0) / 1000);
        d->stats.records += b->n;
        d->stats.events += n;
        rc = 0;
    }
    for (int i = 0; i < n; i++) event_release(&evs[i]);
    free(evs);
    if (rc < 0) {
        dead_letters_clear(d);
    } else if (d->ndl == 0 && d->held.n == 0) {
        kafka_in_done(d->in);
    } else {
        held_push(d);
    }
    return rc;
}

int intake_on_revoke(void *ctx, struct kafka_batch *b) {
    struct daemon *d = ctx;
    int rc = b->n > 0 ? intake_batch(d, b) : 0;
    if (intake_drain(d) < 0) return -1;
    return rc;
}
