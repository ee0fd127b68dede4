/* intake.c -- a batch of input records through parse, engine and store.
 *
 * A batch is durable when every decision it caused is saved in the store
 * and every dead letter it produced is acknowledged by Kafka; only then
 * may its offsets be stored. Dead letters are produced after the
 * decisions are saved, so a batch retried after a store failure does not
 * send them twice. */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "event.h"
#include "signals.h"

#define DEAD_LETTER_WAIT_POLL_MS 50
#define STOP_GRACE_MS 3000 /* how long a stopping daemon waits for them */

/* ---- Dead letters ---- */

static void dead_letters_clear(struct daemon *d) {
    for (int i = 0; i < d->ndl; i++) {
        free(d->dls[i].key);
        free(d->dls[i].value);
    }
    d->ndl = 0;
    d->dl_round++;
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

/* Produce every dead letter not produced or failed; how many are still
 * waiting for their report. */
static int dead_letters_send(struct daemon *d) {
    int waiting = 0;
    for (int i = 0; i < d->ndl; i++) {
        struct dead_letter *dl = &d->dls[i];
        struct fu_err err;
        if (dl->status == SENT_FAILED) {
            dl->status = SENT_PENDING;
            if (kafka_out_produce(d->out, d->cfg->topic_dead_letter, dl->key,
                                  dl->value, strlen(dl->value),
                                  daemon_sent_tag(SENT_DEAD_LETTER,
                                                  d->dl_round, i),
                                  &err) < 0)
                dl->status = SENT_FAILED;
        }
        waiting += dl->status != SENT_OK;
    }
    return waiting;
}

/* Until every dead letter is acknowledged: 0, or -1 when the producer
 * broke or the daemon is stopping and they did not make it in time. */
static int dead_letters_wait(struct daemon *d) {
    int64_t stop_at = -1;
    while (dead_letters_send(d) > 0) {
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
    if (!evs || (n = parse_batch(d, b, evs)) < 0) {
        LOG(d->lg, LOG_ERROR, "out of memory deciding a batch", );
        free(evs);
        return -1;
    }
    long calls = d->bstats.load_calls;
    int64_t t0 = daemon_now_ms();
    fu_err_clear(&err);
    if (batch_decide(d->pol, &d->store, d->tzdb, evs, n,
                     daemon_now_ms() / 1000, &d->seq, &d->bstats, &err) < 0) {
        daemon_store_failed(d, "batch", &err);
    } else {
        if (d->bstats.load_calls > calls) daemon_store_ok(d);
        rc = dead_letters_wait(d);
    }
    if (rc == 0) {
        observe_batch(d, evs, n, b, (double)(daemon_now_ms() - t0) / 1000);
        d->stats.records += b->n;
        d->stats.events += n;
        d->stats.dead_letters += d->ndl;
        for (int i = 0; i < d->ndl; i++)
            observe_dead_letter(d, d->dls[i].reason_class);
    }
    for (int i = 0; i < n; i++) event_release(&evs[i]);
    free(evs);
    dead_letters_clear(d);
    return rc;
}

int intake_on_revoke(void *ctx, struct kafka_batch *b) {
    struct daemon *d = ctx;
    return intake_batch(d, b);
}
