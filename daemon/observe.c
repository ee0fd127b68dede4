/* observe.c -- the daemon's metrics and health: what /metrics, /healthz
 * and /readyz serve.
 *
 * The loop updates counters as batches become durable and messages are
 * acknowledged; the HTTP endpoint renders them on its own thread (lib/
 * metrics.c is thread-safe) and answers health from atomics, so a scrape
 * never waits for the loop. No label carries personal data: event types
 * are those a rule names or a built-in ("other" for the rest), reasons
 * are classes, never values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "daemon.h"
#include "timeutil.h"

#define HEALTHY_LOOP_MS 30000  /* /healthz: the loop turned this recently */
#define STORE_STATS_EVERY_MS 5000
#define MAX_TYPES 64

static const double latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                         0.025,  0.05,  0.1,    0.25,  0.5,
                                         1,      2.5,   5,      10};
/* 20 ms: the latency target (docs/performance.md) is a bucket edge */
static const double durable_buckets[] = {0.005, 0.01, 0.02, 0.05, 0.1, 0.25,
                                         0.5,   1,    2.5,  5,    10,  30,
                                         60,    300};
#define NB(a) ((int)(sizeof(a) / sizeof((a)[0])))

struct family_def {
    const char *name, *help;
    enum metric_type type;
    const double *buckets;
    int nbuckets;
};

static const struct family_def families[] = {
    {"followupd_build_info", "Build and library versions.", METRIC_GAUGE, NULL, 0},
    {"followupd_policy_info", "The policy in force, by version.", METRIC_GAUGE, NULL, 0},
    {"followupd_policy_reloads_total", "Policy reloads by result.", METRIC_COUNTER, NULL, 0},
    {"followupd_ready", "1 when /readyz answers 200.", METRIC_GAUGE, NULL, 0},
    {"followupd_dependency_up", "1 when the dependency is reachable.", METRIC_GAUGE, NULL, 0},
    {"followupd_events_consumed_total", "Valid input events, by type.", METRIC_COUNTER, NULL, 0},
    {"followupd_events_untouched_total", "Events no rule could act on: no state work.", METRIC_COUNTER, NULL, 0},
    {"followupd_events_ignored_total", "Outcomes and reschedules ignored: unknown, unsent, finished or message tasks, opted-out users.", METRIC_COUNTER, NULL, 0},
    {"followupd_state_writes_total", "Users' states written by save.lua.", METRIC_COUNTER, NULL, 0},
    {"followupd_dead_letters_total", "Input records sent to the dead-letter topic, by reason.", METRIC_COUNTER, NULL, 0},
    {"followupd_decisions_total", "Decision records produced, by decision and reason.", METRIC_COUNTER, NULL, 0},
    {"followupd_tasks_produced_total", "Task messages produced, by action.", METRIC_COUNTER, NULL, 0},
    {"followupd_reminders_produced_total", "Reminder messages produced.", METRIC_COUNTER, NULL, 0},
    {"followupd_messages_produced_total", "Message follow-ups produced (spec 4.2), by channel.", METRIC_COUNTER, NULL, 0},
    {"followupd_outbox_depth", "Messages waiting for the broker.", METRIC_GAUGE, NULL, 0},
    {"followupd_pacing_calls_per_minute", "defaults.pacing of the policy in force; 0: not paced (spec 4.3).", METRIC_GAUGE, NULL, 0},
    {"followupd_calls_waiting", "Paced calls due and waiting for the dialer's budget, all daemons.", METRIC_GAUGE, NULL, 0},
    {"followupd_oldest_waiting_call_age_seconds", "Now minus the due_at of the oldest waiting call; 0 when none.", METRIC_GAUGE, NULL, 0},
    {"followupd_pacing_budget_used", "Calls released in the current UTC minute, as this daemon last took budget.", METRIC_GAUGE, NULL, 0},
    {"followupd_oldest_due_age_seconds", "Age of the oldest item that is due and not yet sent.", METRIC_GAUGE, NULL, 0},
    {"followupd_store_call_duration_seconds", "State store calls (Redis round trips), by operation.", METRIC_HISTOGRAM, latency_buckets, NB(latency_buckets)},
    {"followupd_store_errors_total", "Failed state store calls, by operation.", METRIC_COUNTER, NULL, 0},
    {"followupd_batch_decide_duration_seconds", "Deciding a batch and making it durable.", METRIC_HISTOGRAM, latency_buckets, NB(latency_buckets)},
    {"followupd_event_durable_latency_seconds", "From an event's Kafka timestamp to its decision durable.", METRIC_HISTOGRAM, durable_buckets, NB(durable_buckets)},
    {"followupd_consumer_lag", "Messages behind the end of each assigned partition.", METRIC_GAUGE, NULL, 0},
};

/* ---- The store, timed ---- */

enum store_op { OP_LOAD, OP_SAVE, OP_NEXT_DUE, OP_DUE_USERS, OP_CLAIM,
                OP_CONFIRM, OP_STATS, OP_PACE_ADD, OP_PACE_TAKE,
                OP_PACE_DONE, OP_COUNT };
static const char *const op_names[OP_COUNT] = {
    "load", "save", "next_due", "due_users", "outbox_claim", "outbox_confirm",
    "stats", "pacing_add", "pacing_take", "pacing_done"};

_Static_assert(OP_COUNT == METERED_OPS, "a series per store op");

static double mono_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Record one call of op that started at t0 and returned rc. */
static int timed(struct metered_store *ms, enum store_op op, double t0,
                 int rc) {
    metrics_observe(ms->seconds[op], mono_seconds() - t0);
    if (rc < 0) metrics_add(ms->errors[op], 1);
    return rc;
}

#define INNER(ms) ((ms)->inner.ops)
#define CALL(ctx, op, call)                                                  \
    struct metered_store *ms = (ctx);                                        \
    double t0 = mono_seconds();                                              \
    return timed(ms, (op), t0, INNER(ms)->call)

static int m_load(void *ctx, const char *const *users, int n,
                  struct user_state **out, struct fu_err *err) {
    CALL(ctx, OP_LOAD, load(ms->inner.ctx, users, n, out, err));
}
static int m_save(void *ctx, struct store_write *w, int n, struct fu_err *err) {
    CALL(ctx, OP_SAVE, save(ms->inner.ctx, w, n, err));
}
static int m_next_due(void *ctx, int64_t until, char *buf, size_t size,
                      int64_t *due, struct fu_err *err) {
    CALL(ctx, OP_NEXT_DUE, next_due(ms->inner.ctx, until, buf, size, due, err));
}
static int m_due_users(void *ctx, int64_t now, char **users, int max,
                       struct fu_err *err) {
    CALL(ctx, OP_DUE_USERS, due_users(ms->inner.ctx, now, users, max, err));
}
static int m_claim(void *ctx, int64_t now, int lease, struct outbox_msg *out,
                   int max, struct fu_err *err) {
    CALL(ctx, OP_CLAIM, outbox_claim(ms->inner.ctx, now, lease, out, max, err));
}
static int m_confirm(void *ctx, const struct outbox_msg *msgs, int n,
                     struct fu_err *err) {
    CALL(ctx, OP_CONFIRM, outbox_confirm(ms->inner.ctx, msgs, n, err));
}
static int m_stats(void *ctx, struct store_stats *out, struct fu_err *err) {
    struct metered_store *ms = ctx;
    if (!INNER(ms)->stats) return fu_err_set(err, FU_EFATAL, "no stats");
    double t0 = mono_seconds();
    return timed(ms, OP_STATS, t0, INNER(ms)->stats(ms->inner.ctx, out, err));
}
static int m_pace_add(void *ctx, const struct paced_call *calls, int n,
                      struct fu_err *err) {
    CALL(ctx, OP_PACE_ADD, pacing_add(ms->inner.ctx, calls, n, err));
}
static int m_pace_take(void *ctx, int64_t now, int limit, int lease,
                       struct paced_call *out, int max, struct fu_err *err) {
    CALL(ctx, OP_PACE_TAKE,
         pacing_take(ms->inner.ctx, now, limit, lease, out, max, err));
}
static int m_pace_done(void *ctx, const struct paced_call *calls, int n,
                       int64_t minute, int refund, struct fu_err *err) {
    CALL(ctx, OP_PACE_DONE,
         pacing_done(ms->inner.ctx, calls, n, minute, refund, err));
}
static void m_free(void *ctx) {
    struct metered_store *ms = ctx;
    store_close(&ms->inner);
}

static const struct store_ops metered_ops = {
    m_load,     m_save,      m_next_due,  m_due_users,
    m_claim,    m_confirm,   m_free,      m_stats,
    m_pace_add, m_pace_take, m_pace_done};

void observe_wrap_store(struct daemon *d, struct metered_store *ms,
                        struct store *s) {
    ms->inner = *s;
    ms->m = d->metrics;
    for (int op = 0; op < OP_COUNT; op++) {
        char labels[64] = "";
        metrics_label(labels, sizeof(labels), "op", op_names[op]);
        ms->seconds[op] = metrics_series(d->metrics,
            "followupd_store_call_duration_seconds", labels);
        ms->errors[op] = metrics_series(d->metrics,
            "followupd_store_errors_total", labels);
    }
    *s = (struct store){&metered_ops, ms};
}

/* ---- Counting ---- */

void observe_policy(struct daemon *d, int reload_ok) {
    char labels[128] = "";
    if (reload_ok >= 0)
        metrics_inc(d->metrics, "followupd_policy_reloads_total",
                    reload_ok ? "result=\"ok\"" : "result=\"failed\"", 1);
    if (reload_ok == 0) return;
    metrics_clear(d->metrics, "followupd_policy_info");
    metrics_label(labels, sizeof(labels), "version", d->pol->version);
    metrics_put(d->metrics, "followupd_policy_info", labels, 1);
    metrics_put(d->metrics, "followupd_pacing_calls_per_minute", NULL,
                d->pol->calls_per_minute);
    atomic_store(&d->health.policy_ok, 1);
}

/* The type label of ev: a built-in or a type some rule names, else
 * "other" (so a free-text type cannot grow the series without bound). */
static const char *type_label(const struct policy *pol, const struct event *ev) {
    if (ev->kind != EV_RULE) return ev->type;
    for (int i = 0; i < pol->nrules; i++)
        for (int j = 0; j < pol->rules[i].non; j++)
            if (!strcmp(pol->rules[i].on[j], ev->type)) return pol->rules[i].on[j];
    return "other";
}

void observe_batch(struct daemon *d, const struct event *evs, int n,
                   const struct kafka_batch *b, double decide_seconds) {
    struct type_count { const char *type; int count; } types[MAX_TYPES];
    int ntypes = 0;
    for (int i = 0; i < n; i++) {
        const char *t = type_label(d->pol, &evs[i]);
        int k = 0;
        while (k < ntypes && strcmp(types[k].type, t)) k++;
        if (k == ntypes) {
            if (ntypes == MAX_TYPES) t = "other", k = 0;
            else types[ntypes++] = (struct type_count){t, 0};
        }
        types[k].count++;
    }
    for (int k = 0; k < ntypes; k++) {
        char labels[EVENT_MAX_ID + 16] = "";
        metrics_label(labels, sizeof(labels), "type", types[k].type);
        metrics_inc(d->metrics, "followupd_events_consumed_total", labels,
                    types[k].count);
    }
    struct metric_series *lat = metrics_series(
        d->metrics, "followupd_event_durable_latency_seconds", NULL);
    int64_t now = daemon_now_ms();
    for (int i = 0; i < b->n; i++)
        if (b->recs[i].timestamp_ms >= 0)
            metrics_observe(lat, (double)(now - b->recs[i].timestamp_ms) / 1000);
    metrics_observe(metrics_series(d->metrics,
                                   "followupd_batch_decide_duration_seconds", NULL),
                    decide_seconds);
    metrics_put(d->metrics, "followupd_events_untouched_total", NULL,
                (double)d->bstats.untouched);
    metrics_put(d->metrics, "followupd_events_ignored_total", NULL,
                (double)d->bstats.ignored);
    observe_writes(d, &d->bstats, &d->writes_reported);
}

void observe_writes(struct daemon *d, const struct batch_stats *bs,
                    long *reported) {
    long writes = bs->users + bs->conflicts;
    if (writes == *reported) return;
    metrics_inc(d->metrics, "followupd_state_writes_total", NULL,
                (double)(writes - *reported));
    *reported = writes;
}

const char *observe_reason_class(const char *reason) {
    static const char *const classes[][2] = {
        {"invalid JSON", "invalid_json"},  {"empty event", "invalid_json"},
        {"event must be", "not_an_object"}, {"event larger", "too_large"},
        {"missing required", "missing_field"}, {"field '", "wrong_type"}};
    const char *cls = "invalid_value";
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (!strncmp(reason, classes[i][0], strlen(classes[i][0]))) {
            cls = classes[i][1];
            break;
        }
    return cls;
}

void observe_dead_letter(struct daemon *d, const char *reason_class) {
    char labels[64] = "";
    metrics_label(labels, sizeof(labels), "reason", reason_class);
    metrics_inc(d->metrics, "followupd_dead_letters_total", labels, 1);
}

/* The string value of "key" in JSON text we wrote ("" for null). */
static void str_field(const char *json, const char *key, char *out,
                      size_t size) {
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\": \"", key);
    const char *p = strstr(json, pat);
    out[0] = '\0';
    if (!p) return;
    p += strlen(pat);
    size_t n = strcspn(p, "\"");
    if (n >= size) n = size - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

void observe_produced(struct daemon *d, const struct out_msg *m) {
    char a[80], b[80], labels[256] = "";
    switch (m->topic) {
    case OUT_TASKS:
        str_field(m->value, "action", a, sizeof(a));
        metrics_label(labels, sizeof(labels), "action", a);
        metrics_inc(d->metrics, "followupd_tasks_produced_total", labels, 1);
        break;
    case OUT_REMINDERS:
        metrics_inc(d->metrics, "followupd_reminders_produced_total", NULL, 1);
        break;
    case OUT_DECISIONS:
        str_field(m->value, "decision", a, sizeof(a));
        str_field(m->value, "reason", b, sizeof(b));
        metrics_label(labels, sizeof(labels), "decision", a);
        metrics_label(labels, sizeof(labels), "reason", b);
        metrics_inc(d->metrics, "followupd_decisions_total", labels, 1);
        break;
    case OUT_MESSAGES:
        str_field(m->value, "channel", a, sizeof(a));
        metrics_label(labels, sizeof(labels), "channel", a);
        metrics_inc(d->metrics, "followupd_messages_produced_total", labels, 1);
        break;
    case OUT_DEAD_LETTER:
    case OUT_PACING:
        break;
    }
}

void observe_store(struct daemon *d, struct store *s, int64_t *next_ms,
                   int64_t now_ms) {
    struct store_stats st;
    struct fu_err err;
    if (now_ms < *next_ms) return;
    *next_ms = now_ms + STORE_STATS_EVERY_MS;
    if (!s->ops || s->ops->stats(s->ctx, &st, &err) < 0) return;
    int64_t now = now_ms / 1000, oldest = st.oldest_outbox;
    if (st.oldest_due != TIME_NONE && st.oldest_due <= now &&
        (oldest == TIME_NONE || st.oldest_due < oldest))
        oldest = st.oldest_due;
    metrics_put(d->metrics, "followupd_outbox_depth", NULL,
                (double)st.outbox_depth);
    metrics_put(d->metrics, "followupd_oldest_due_age_seconds", NULL,
                oldest == TIME_NONE || oldest > now ? 0 : (double)(now - oldest));
    oldest = st.oldest_waiting;
    metrics_put(d->metrics, "followupd_calls_waiting", NULL,
                (double)st.calls_waiting);
    metrics_put(d->metrics, "followupd_oldest_waiting_call_age_seconds", NULL,
                oldest == TIME_NONE || oldest > now ? 0 : (double)(now - oldest));
    metrics_put(d->metrics, "followupd_pacing_budget_used", NULL,
                (double)st.budget_used);
}

void observe_kafka(void *ctx, int brokers_up, const struct kafka_lag *lags,
                   int nlags) {
    struct daemon *d = ctx;
    atomic_store(&d->health.kafka_up, brokers_up > 0);
    if (nlags < 0) return;
    metrics_clear(d->metrics, "followupd_consumer_lag");
    for (int i = 0; i < nlags; i++) {
        char labels[512] = "", part[16];
        snprintf(part, sizeof(part), "%d", (int)lags[i].partition);
        metrics_label(labels, sizeof(labels), "topic", lags[i].topic);
        metrics_label(labels, sizeof(labels), "partition", part);
        metrics_put(d->metrics, "followupd_consumer_lag", labels,
                    (double)lags[i].lag);
    }
}

/* ---- HTTP ---- */

static const char *not_ready_reason(struct daemon *d) {
    if (!atomic_load(&d->health.policy_ok)) return "no policy loaded";
    if (!atomic_load(&d->health.redis_up)) return "redis unreachable";
    if (!atomic_load(&d->health.kafka_up)) return "kafka unreachable";
    return NULL;
}

/* {"status": status_text} or, with a reason, {..., "reason": reason}. */
static void reply(struct http_reply *out, int status, const char *status_text,
                  const char *reason) {
    char buf[256];
    if (reason)
        snprintf(buf, sizeof(buf), "{\"status\": \"%s\", \"reason\": \"%s\"}\n",
                 status_text, reason);
    else
        snprintf(buf, sizeof(buf), "{\"status\": \"%s\"}\n", status_text);
    out->status = status;
    out->body = strdup(buf);
}

static void on_http(void *ctx, const char *path, struct http_reply *out) {
    struct daemon *d = ctx;
    const char *why = not_ready_reason(d);
    if (!strcmp(path, "/metrics")) {
        metrics_put(d->metrics, "followupd_ready", NULL, why == NULL);
        metrics_put(d->metrics, "followupd_dependency_up", "dependency=\"kafka\"",
                    atomic_load(&d->health.kafka_up));
        metrics_put(d->metrics, "followupd_dependency_up", "dependency=\"redis\"",
                    atomic_load(&d->health.redis_up));
        out->status = 200;
        out->body = metrics_render(d->metrics);
        out->content_type = "text/plain; version=0.0.4; charset=utf-8";
    } else if (!strcmp(path, "/healthz")) {
        int64_t now = daemon_now_ms();
        if (now - atomic_load(&d->health.loop_ms) >= HEALTHY_LOOP_MS)
            reply(out, 503, "stalled", "the loop has not turned for 30 s");
        else if (now - atomic_load(&d->health.emit_ms) >= HEALTHY_LOOP_MS)
            reply(out, 503, "stalled", "the emitter has not turned for 30 s");
        else
            reply(out, 200, "ok", NULL);
    } else if (!strcmp(path, "/readyz")) {
        if (!why) reply(out, 200, "ready", NULL);
        else reply(out, 503, "not ready", why);
    }
}

int observe_start(struct daemon *d, struct fu_err *err) {
    char labels[128] = "";
    if (!(d->metrics = metrics_new()))
        return fu_err_set(err, FU_ENOMEM, "out of memory");
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        const struct family_def *f = &families[i];
        if (metrics_declare(d->metrics, f->name, f->type, f->help, f->buckets,
                            f->nbuckets) < 0)
            return fu_err_set(err, FU_ENOMEM, "out of memory");
    }
    metrics_label(labels, sizeof(labels), "version", FOLLOWUPD_VERSION);
    metrics_label(labels, sizeof(labels), "librdkafka", kafka_library_version());
    metrics_put(d->metrics, "followupd_build_info", labels, 1);
    /* counters with known labels exist from the start, so rate() and
     * increase() see their first change */
    static const char *const zero[][2] = {
        {"followupd_events_untouched_total", ""},
        {"followupd_state_writes_total", ""},
        {"followupd_policy_reloads_total", "result=\"ok\""},
        {"followupd_policy_reloads_total", "result=\"failed\""},
        {"followupd_tasks_produced_total", "action=\"call\""},
        {"followupd_tasks_produced_total", "action=\"cancel\""},
        {"followupd_reminders_produced_total", ""},
        {"followupd_dead_letters_total", "reason=\"invalid_json\""},
        {"followupd_dead_letters_total", "reason=\"not_an_object\""},
        {"followupd_dead_letters_total", "reason=\"missing_field\""},
        {"followupd_dead_letters_total", "reason=\"wrong_type\""},
        {"followupd_dead_letters_total", "reason=\"invalid_value\""},
        {"followupd_dead_letters_total", "reason=\"too_large\""}};
    for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
        metrics_inc(d->metrics, zero[i][0], zero[i][1], 0);
    atomic_store(&d->health.loop_ms, daemon_now_ms());
    atomic_store(&d->health.emit_ms, daemon_now_ms());
    if (!(d->http = http_new(d->cfg->http_listen, on_http, d, err))) return -1;
    LOG(d->lg, LOG_INFO, "http listening", LOG_S("listen", d->cfg->http_listen)
        LOG_I("port", http_port(d->http)));
    return 0;
}

void observe_stop(struct daemon *d) {
    http_free(d->http); /* first: its thread reads the metrics */
    d->http = NULL;
    metrics_free(d->metrics);
    d->metrics = NULL;
}
