/* sim.c -- the simulate driver: virtual clock, store, JSON lines out.
 *
 * The same engine calls as the daemon's run loop, with the clock taken
 * from the events instead of the wall. Under pacing (spec 4.3) it is also
 * the pacer: calls that fall due wait in a queue, served at each instant
 * where calls fell due (after that instant's other outputs) and at each
 * minute start while calls wait. */
#include "sim.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "event.h"
#include "jsonw.h"
#include "pacing.h"
#include "timeutil.h"

struct sim {
    const struct policy *pol;
    struct store *store;
    struct tzdb *tzdb;
    FILE *out, *log;
    const char *source;
    int64_t clock;
    uint64_t seq;
    struct plan plan;
    struct sim_stats *stats;
    const char *ignored; /* why the last event was ignored, or NULL */
    struct pacer pacer;  /* calls waiting for budget (spec 4.3) */
    int serve_now;       /* serve once this instant's items are done */
};

static int print_output(struct sim *s, const struct out_msg *m) {
    struct jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_ktime(&w, "at", m->at);
    jsonw_kstr(&w, "topic", out_topic_name(m->topic));
    jsonw_kstr(&w, "key", m->key);
    jsonw_key(&w, "value");
    jsonw_raw(&w, m->value);
    jsonw_obj_close(&w);
    int ok = !w.oom && fprintf(s->out, "%s\n", w.buf) > 0;
    jsonw_release(&w);
    s->stats->outputs++;
    return ok ? 0 : -1;
}

/* Print the plan's outputs; a call that now waits for the pacer is
 * queued instead, and serving is due once this instant is done. */
static int flush_plan(struct sim *s, struct fu_err *err) {
    int rc = 0;
    for (int i = 0; i < s->plan.n && rc == 0; i++) {
        const struct out_msg *m = &s->plan.msgs[i];
        struct paced_call pc;
        if (m->topic != OUT_PACING) {
            if (print_output(s, m) < 0)
                rc = fu_err_set(err, FU_EFATAL, "cannot write the output");
        } else if (paced_call_decode(m, &pc, err) < 0 ||
                   pacer_push(&s->pacer, &pc) < 0) {
            rc = fu_err_set(err, FU_ENOMEM, "out of memory");
        } else {
            s->serve_now = 1;
        }
    }
    plan_reset(&s->plan);
    return rc;
}

/* Load, decide (an event, a due item, or the release of a paced call),
 * save, print: one user's step. Returns the engine's result (for a
 * release, 1 when the call left), or -1. */
static int step(struct sim *s, const char *user_id, const struct event *ev,
                const char *release, struct fu_err *err) {
    struct user_state *st;
    struct engine_env env = {s->clock, &s->seq, s->tzdb};
    if (store_load_one(s->store, user_id, &st, err) < 0) return -1;
    int rc = ev        ? engine_on_event(s->pol, st, ev, &env, &s->plan, err)
             : release ? engine_release(s->pol, st, release, &env, &s->plan,
                                        err)
                       : engine_on_due(s->pol, st, &env, &s->plan, err);
    if (rc < 0) {
        user_state_free(st);
        plan_reset(&s->plan);
        return -1;
    }
    s->ignored = s->plan.ignored ? s->plan.note : NULL;
    int64_t ttl = engine_keep_until(s->pol, st) - s->clock;
    if (store_save_one(s->store, st, ttl > 0 ? ttl : 1, NULL, err) < 0) {
        plan_reset(&s->plan);
        return -1;
    }
    return flush_plan(s, err) < 0 ? -1 : rc;
}

/* Release the waiting calls best first while the clock's minute has
 * budget (spec 4.3); a stale entry costs nothing. Without pacing in the
 * policy every waiting call may go. */
static int serve(struct sim *s, struct fu_err *err) {
    int limit = s->pol->calls_per_minute > 0 ? s->pol->calls_per_minute
                                             : 0x7fffffff;
    struct paced_call pc;
    s->serve_now = 0;
    while (pacer_budget(&s->pacer, s->clock, limit) > 0 &&
           pacer_pop(&s->pacer, &pc)) {
        int rc = step(s, pc.user_id, NULL, pc.task_id, err);
        paced_call_release(&pc);
        if (rc < 0) return -1;
        if (rc == 1) pacer_spend(&s->pacer, s->clock);
    }
    return 0;
}

/* Move the clock to t; crossing into a new minute while calls wait makes
 * a serving due at t (a minute start that an event lands on). */
static void advance(struct sim *s, int64_t t) {
    if (t <= s->clock) return;
    if (s->pacer.n && pacing_minute(t) != pacing_minute(s->clock))
        s->serve_now = 1;
    s->clock = t;
}

/* Emit everything due at or before until, moving the clock along, and
 * serve waiting calls after each instant where calls fell due and at each
 * minute start while calls wait. A serving is the last thing of its
 * instant (spec 4.3: after that instant's other outputs, decisions of
 * events at that instant included), so one at `until` itself waits for
 * the next drain: more events may come at that instant. */
static int drain(struct sim *s, int64_t until, struct fu_err *err) {
    char user[EVENT_MAX_ID + 1];
    int64_t due;
    int rc;
    for (;;) {
        rc = s->store->ops->next_due(s->store->ctx, until, user, sizeof(user),
                                     &due, err);
        if (rc < 0) return -1;
        if (s->serve_now && s->clock < until && (rc == 0 || due > s->clock)) {
            if (serve(s, err) < 0) return -1;
            continue;
        }
        int64_t minute = pacing_minute(s->clock) + 60;
        if (s->pacer.n && minute < until && (rc == 0 || minute < due)) {
            s->clock = minute;
            if (serve(s, err) < 0) return -1;
            continue;
        }
        if (rc == 0) return 0;
        advance(s, due); /* items exactly at a minute start come first */
        if (step(s, user, NULL, NULL, err) < 0) return -1;
    }
}

static int dead_letter(struct sim *s, const char *line, size_t len,
                       long lineno, const char *reason, struct fu_err *err) {
    char *value = outmsg_dead_letter(reason, s->source, 0, lineno, line, len);
    char *key = value ? event_peek_user_id(line, len) : NULL;
    s->stats->dead_letters++;
    if (!value ||
        plan_add_take(&s->plan, OUT_DEAD_LETTER, s->clock, key, value) < 0)
        return fu_err_set(err, FU_ENOMEM, "out of memory");
    return flush_plan(s, err);
}

static int blank(const char *line, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)line[i])) return 0;
    return 1;
}

static int handle_line(struct sim *s, const char *line, size_t len,
                       long lineno, struct fu_err *err) {
    struct event ev;
    struct fu_err perr;
    fu_err_clear(&perr);
    if (event_parse(line, len, s->tzdb, &ev, &perr) < 0)
        return dead_letter(s, line, len, lineno, perr.msg, err);
    s->stats->events++;
    int64_t t = ev.occurred_at > s->clock ? ev.occurred_at : s->clock;
    int rc = drain(s, t, err);
    if (rc == 0) {
        advance(s, t);
        /* an event that cannot change anything still moves the clock, but
         * leaves no trace: no load, no save, no output (spec 4, Dedupe) */
        if (engine_event_matters(s->pol, &ev))
            rc = step(s, ev.user_id, &ev, NULL, err) < 0 ? -1 : 0;
        else
            s->stats->untouched++;
    }
    if (rc == 0 && s->ignored) {
        s->stats->ignored++;
        if (s->log)
            fprintf(s->log, "simulate: line %ld: ignored: %s\n", lineno,
                    s->ignored);
    }
    s->ignored = NULL;
    event_release(&ev);
    /* items the event made due right away come out at this clock */
    return rc < 0 ? -1 : drain(s, s->clock, err);
}

int sim_run(const struct policy *pol, struct store *store, struct tzdb *tzdb,
            FILE *in, const char *source, FILE *out, FILE *log,
            struct sim_stats *stats, struct fu_err *err) {
    struct sim s = {pol, store, tzdb, out, log, source, 0, 1, {0}, stats, NULL,
                    {0}, 0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;
    memset(stats, 0, sizeof(*stats));
    plan_init(&s.plan);
    pacer_init(&s.pacer);
    while (rc == 0 && (len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (!blank(line, (size_t)len))
            rc = handle_line(&s, line, (size_t)len, lineno, err);
    }
    if (rc == 0 && ferror(in))
        rc = fu_err_set(err, FU_EFATAL, "cannot read '%s'", source);
    if (rc == 0) rc = drain(&s, TIME_MAX, err) < 0 ? -1 : 0;
    free(line);
    plan_release(&s.plan);
    pacer_release(&s.pacer);
    return rc;
}
