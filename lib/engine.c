/* engine.c -- the decision engine: every rule of spec section 4.
 *
 * Pure: it reads the policy, one user's state, one event or the clock
 * value it is given, updates the state in place and appends the output
 * messages to a plan. No I/O, no clock, no globals, no logging: reasons are
 * returned in decision records and plan->note instead.
 *
 * Reading order: plan, context and ids; message writers; cap arithmetic;
 * slot search; deciding a follow-up; cancelling and moving; the event
 * kinds; due items; retention. */
#include "engine.h"

#include <math.h>  /* round only */
#include <stdio.h> /* snprintf only */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "jsonw.h"
#include "timeutil.h"

#define DAY 86400
#define PREFS_RETENTION (400 * (int64_t)DAY) /* see docs/semantics.md */
#define LATE_OUTCOME_GRACE DAY /* outcomes honoured after expiry */
#define DEFER_MAX_STEPS 100000

/* ---- Context and ids ---- */

/* Everything one engine call works with. */
struct ectx {
    const struct policy *pol;
    struct user_state *st;
    const struct engine_env *env;
    struct plan *plan;
    int64_t now;
    const struct tz *tz;      /* the user's zone */
    const struct window *cw;  /* the user's calling window */
    int oom;
};

static void ectx_zone(struct ectx *c) {
    const struct tz *tz = NULL;
    if (c->st->timezone) tz = tzdb_get(c->env->tzdb, c->st->timezone, NULL);
    c->tz = tz ? tz : c->pol->default_tz;
    c->cw = c->st->has_call_window ? &c->st->call_window
                                   : &c->pol->call_window;
}

static void ectx_init(struct ectx *c, const struct policy *pol,
                      struct user_state *st, const struct engine_env *env,
                      struct plan *plan) {
    memset(c, 0, sizeof(*c));
    c->pol = pol;
    c->st = st;
    c->env = env;
    c->plan = plan;
    c->now = env->now;
    ectx_zone(c);
}

static char *xstrdup(struct ectx *c, const char *s) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) c->oom = 1;
    return d;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Saturating a + b for instants near TIME_MAX. */
static int64_t add64(int64_t a, int64_t b) {
    return a > TIME_MAX - b ? TIME_MAX : a + b;
}

static uint64_t next_seq(struct ectx *c) { return (*c->env->seq)++; }

/* task_id ("t-") or message_id ("m-", spec 4.2): a hash of user, rule,
 * trigger, occurrence, attempt and reschedule count, never of the policy
 * version (spec 4, Ids). */
static void make_task_id(int kind, const char *user, const char *rule,
                         const char *event_id, int occurrence, int attempt,
                         int reschedules, char *out) {
    struct hash128 h;
    hash128_init(&h);
    hash128_str(&h, user);
    hash128_str(&h, rule);
    hash128_str(&h, event_id);
    hash128_int(&h, occurrence);
    hash128_int(&h, attempt);
    hash128_int(&h, reschedules);
    out[0] = kind == FOLLOWUP_MESSAGE ? 'm' : 't';
    out[1] = '-';
    hash128_hex(&h, out + 2, STATE_ID_LEN - 3);
}

static void make_reminder_id(const char *task_id, char *out) {
    struct hash128 h;
    hash128_init(&h);
    hash128_str(&h, task_id);
    out[0] = 'r';
    out[1] = '-';
    hash128_hex(&h, out + 2, STATE_ID_LEN - 3);
}

/* ---- Message writers ---- */

static void emit(struct ectx *c, enum out_topic topic, struct jsonw *w) {
    char *key = xstrdup(c, c->st->user_id);
    char *value = jsonw_detach(w);
    if (!key || plan_add_take(c->plan, topic, c->now, key, value) < 0)
        c->oom = 1;
}

/* A decision record (spec 3.5); zero attempt/occurrence write null. */
struct decision {
    const char *event_id, *rule_id, *decision, *task_id, *reason;
    const char *reminder, *replaces; /* written only when set */
    int kind; /* enum followup_kind: a message's record says so */
    int64_t due_at;
    int attempt, occurrence;
};

static void jsonw_kint_or_null(struct jsonw *w, const char *key, int v) {
    if (v)
        jsonw_kint(w, key, v);
    else
        jsonw_knull(w, key);
}

static void emit_decision(struct ectx *c, const struct decision *d) {
    struct jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_kstr(&w, "schema", "followupd.decision/v1");
    jsonw_kstr(&w, "event_id", d->event_id);
    jsonw_kstr(&w, "user_id", c->st->user_id);
    jsonw_kstr(&w, "rule_id", d->rule_id);
    jsonw_kstr(&w, "decision", d->decision);
    jsonw_kstr(&w, "task_id", d->task_id);
    jsonw_ktime(&w, "due_at", d->due_at);
    jsonw_kstr(&w, "reason", d->reason);
    jsonw_ktime(&w, "at", c->now);
    jsonw_kint_or_null(&w, "attempt", d->attempt);
    jsonw_kint_or_null(&w, "occurrence", d->occurrence);
    if (d->kind == FOLLOWUP_MESSAGE) jsonw_kstr(&w, "kind", "message");
    if (d->reminder) jsonw_kstr(&w, "reminder", d->reminder);
    if (d->replaces) jsonw_kstr(&w, "replaces", d->replaces);
    jsonw_kstr(&w, "policy_version", c->pol->version);
    jsonw_obj_close(&w);
    emit(c, OUT_DECISIONS, &w);
}

/* The decision record about an existing follow-up. */
static void emit_followup_decision(struct ectx *c, const struct followup *f,
                                   const char *cause, const char *decision,
                                   const char *reason) {
    struct decision d = {.event_id = cause,
                         .rule_id = f->rule_id,
                         .decision = decision,
                         .task_id = f->task_id,
                         .reason = reason,
                         .due_at = f->due_at,
                         .attempt = f->attempt,
                         .occurrence = f->occurrence,
                         .kind = f->kind};
    emit_decision(c, &d);
}

static void emit_trigger(struct jsonw *w, const struct followup *f) {
    jsonw_key(w, "trigger");
    jsonw_obj_open(w);
    jsonw_kstr(w, "event_id", f->trigger_event_id);
    jsonw_kstr(w, "type", f->trigger_type);
    jsonw_ktime(w, "occurred_at", f->trigger_at);
    jsonw_obj_close(w);
}

static void emit_task(struct ectx *c, const struct followup *f) {
    struct jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_kstr(&w, "schema", "followupd.task/v1");
    jsonw_kstr(&w, "action", "call");
    jsonw_kstr(&w, "task_id", f->task_id);
    jsonw_kstr(&w, "user_id", c->st->user_id);
    jsonw_kstr(&w, "rule_id", f->rule_id);
    jsonw_kstr(&w, "policy_version", f->policy_version);
    jsonw_kint(&w, "priority", f->priority);
    jsonw_kint(&w, "attempt", f->attempt);
    jsonw_ktime(&w, "due_at", f->due_at);
    jsonw_ktime(&w, "not_after", f->not_after);
    jsonw_ktime(&w, "expires_at", f->expires_at);
    jsonw_kstr(&w, "timezone", tz_name(c->tz));
    jsonw_kstr(&w, "script", f->script);
    jsonw_key(&w, "context");
    jsonw_raw(&w, f->context_json ? f->context_json : "{}");
    emit_trigger(&w, f);
    jsonw_obj_close(&w);
    emit(c, OUT_TASKS, &w);
}

/* A message follow-up, when due (spec 4.2). */
static void emit_message(struct ectx *c, const struct followup *f) {
    struct jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_kstr(&w, "schema", "followupd.message/v1");
    jsonw_kstr(&w, "message_id", f->task_id);
    jsonw_kstr(&w, "user_id", c->st->user_id);
    jsonw_kstr(&w, "rule_id", f->rule_id);
    jsonw_kstr(&w, "channel", f->message_channel);
    jsonw_kstr(&w, "template", f->message_template);
    jsonw_ktime(&w, "send_at", f->due_at);
    jsonw_ktime(&w, "expires_at", f->expires_at);
    jsonw_kstr(&w, "timezone", tz_name(c->tz));
    jsonw_key(&w, "context");
    jsonw_raw(&w, f->context_json ? f->context_json : "{}");
    emit_trigger(&w, f);
    jsonw_kstr(&w, "policy_version", f->policy_version);
    jsonw_obj_close(&w);
    emit(c, OUT_MESSAGES, &w);
}

static void emit_cancel(struct ectx *c, const struct followup *f,
                        const char *reason) {
    struct jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_kstr(&w, "schema", "followupd.task/v1");
    jsonw_kstr(&w, "action", "cancel");
    jsonw_kstr(&w, "task_id", f->task_id);
    jsonw_kstr(&w, "user_id", c->st->user_id);
    jsonw_kstr(&w, "policy_version", c->pol->version);
    jsonw_kstr(&w, "reason", reason);
    jsonw_obj_close(&w);
    emit(c, OUT_TASKS, &w);
}

static void emit_reminder(struct ectx *c, const struct followup *f) {
    char local[32];
    struct jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_kstr(&w, "schema", "followupd.reminder/v1");
    jsonw_kstr(&w, "reminder_id", f->reminder_id);
    jsonw_kstr(&w, "task_id", f->task_id);
    jsonw_kstr(&w, "user_id", c->st->user_id);
    jsonw_kstr(&w, "rule_id", f->rule_id);
    jsonw_kstr(&w, "channel", f->reminder_channel);
    jsonw_kstr(&w, "template", f->reminder_template);
    jsonw_ktime(&w, "send_at", f->reminder_at);
    jsonw_ktime(&w, "callback_at", f->due_at);
    jsonw_kstr(&w, "timezone", tz_name(c->tz));
    jsonw_key(&w, "vars");
    jsonw_obj_open(&w);
    jsonw_kstr(&w, "callback_local", tz_format_local(c->tz, f->due_at, local));
    jsonw_obj_close(&w);
    jsonw_kstr(&w, "policy_version", f->policy_version);
    jsonw_obj_close(&w);
    emit(c, OUT_REMINDERS, &w);
}

/* ---- Cap arithmetic ----
 *
 * A cap `limit N per D` holds when no half-open [t, t+D) contains more than
 * N counted times. Adding d to sorted times x breaks it exactly when some
 * run of N consecutive times x[i..i+N-1] spans less than D and
 * x[i+N-1] - D < d < x[i] + D; the earliest later candidate is then
 * x[i] + D. */

struct times {
    int64_t *v;
    int n, cap;
};

static void times_add(struct ectx *c, struct times *t, int64_t x) {
    if (t->n == t->cap) {
        int ncap = t->cap ? t->cap * 2 : 16;
        int64_t *nv = realloc(t->v, sizeof(*nv) * (size_t)ncap);
        if (!nv) {
            c->oom = 1;
            return;
        }
        t->v = nv;
        t->cap = ncap;
    }
    t->v[t->n++] = x;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* 1 when adding d to t breaks limit-per-per; *next gets the earliest
 * instant > d worth trying. t must be sorted. */
static int cap_breaks(const struct times *t, int limit, int64_t per,
                      int64_t d, int64_t *next) {
    if (limit <= 0) {
        *next = TIME_MAX;
        return 1;
    }
    int broken = 0;
    for (int i = 0; i + limit - 1 < t->n; i++) {
        int64_t a = t->v[i], b = t->v[i + limit - 1];
        if (b - a >= per || !(b - per < d && d < add64(a, per))) continue;
        if (!broken || add64(a, per) > *next) *next = add64(a, per);
        broken = 1;
    }
    return broken;
}

/* A follow-up being placed, for the caps: which apply to it and which
 * follow-ups they count. */
struct cap_check {
    const struct rule *rule;       /* its own cap; NULL to skip it */
    int kind;                      /* enum followup_kind being placed */
    const char *channel;           /* a message's channel */
    int exclude;                   /* follow-up index not counted, or -1 */
    const struct rule *superseder; /* its superseded pending ones are out */
};

/* 1 when rule b supersedes the rule called a_id. */
static int supersedes(const struct policy *pol, const struct rule *b,
                      const char *a_id) {
    for (int i = 0; i < b->nsupersedes; i++)
        if (!strcmp(pol->rules[b->supersedes[i]].id, a_id)) return 1;
    return 0;
}

/* Counted by follow-up caps: attempt 1, not cancelled (spec 4, Caps). */
static int followup_counted(const struct ectx *c, const struct cap_check *cc,
                            int i) {
    const struct followup *f = &c->st->followups[i];
    if (i == cc->exclude || f->attempt != 1 ||
        f->status == FOLLOWUP_CANCELLED)
        return 0;
    if (cc->superseder && f->status == FOLLOWUP_PENDING &&
        supersedes(c->pol, cc->superseder, f->rule_id))
        return 0;
    return 1;
}

/* 1 when shared cap `cap` counts follow-up f: calls for `callbacks`,
 * messages (on its channel) for `messages` (spec 4.2); reminder caps
 * count no follow-up. */
static int cap_counts(const struct cap *cap, int kind, const char *channel) {
    switch (cap->count) {
    case CAP_COUNT_CALLBACKS: return kind == FOLLOWUP_CALL;
    case CAP_COUNT_MESSAGES: return kind == FOLLOWUP_MESSAGE;
    case CAP_COUNT_MESSAGE_CHANNEL:
        return kind == FOLLOWUP_MESSAGE && !strcmp(cap->channel, channel);
    default: return 0;
    }
}

/* The due times counted by the rule's own cap (cap NULL: every kind of
 * the rule) or by shared cap `cap`. */
static void followup_times(struct ectx *c, const struct cap_check *cc,
                           const struct cap *cap, struct times *t) {
    t->n = 0;
    for (int i = 0; i < c->st->nfollowups; i++) {
        const struct followup *f = &c->st->followups[i];
        if (!followup_counted(c, cc, i)) continue;
        if (!cap && strcmp(f->rule_id, cc->rule->id)) continue;
        if (cap && !cap_counts(cap, f->kind, f->message_channel)) continue;
        times_add(c, t, f->due_at);
    }
    if (t->n > 1) qsort(t->v, (size_t)t->n, sizeof(int64_t), cmp_i64);
}

/* The first follow-up cap that d breaks, in precedence order: -1 none, 0
 * the rule's own cap, k + 1 shared cap k. *next: the latest of their
 * earliest retry instants, where a deferred follow-up may try next. */
static int followup_caps_broken(struct ectx *c, const struct cap_check *cc,
                                int64_t d, int64_t *next) {
    struct times t = {0};
    int first = -1;
    int64_t nx;
    *next = d + 1;
    if (cc->rule && cc->rule->has_cap) {
        followup_times(c, cc, NULL, &t);
        if (cap_breaks(&t, cc->rule->cap_limit, cc->rule->cap_per, d, &nx)) {
            first = 0;
            *next = max64(*next, nx);
        }
    }
    for (int k = 0; k < c->pol->ncaps; k++) {
        const struct cap *cap = &c->pol->caps[k];
        if (!cap_counts(cap, cc->kind, cc->channel)) continue;
        followup_times(c, cc, cap, &t);
        if (!cap_breaks(&t, cap->limit, cap->per, d, &nx)) continue;
        if (first < 0) first = k + 1;
        *next = max64(*next, nx);
    }
    free(t.v);
    return first;
}

/* The first reminder cap (in file order) that a reminder on channel at s
 * breaks, or -1. Counts reminders pending or sent. */
static int reminder_caps_broken(struct ectx *c, const char *channel,
                                int64_t s) {
    struct times t = {0};
    int first = -1;
    for (int k = 0; k < c->pol->ncaps && first < 0; k++) {
        const struct cap *cap = &c->pol->caps[k];
        if (cap->count != CAP_COUNT_REMINDERS &&
            cap->count != CAP_COUNT_CHANNEL)
            continue;
        if (cap->count == CAP_COUNT_CHANNEL && strcmp(cap->channel, channel))
            continue;
        t.n = 0;
        for (int i = 0; i < c->st->nfollowups; i++) {
            const struct followup *f = &c->st->followups[i];
            int rs = f->reminder_status;
            if (rs != REMINDER_PENDING && rs != REMINDER_SENT) continue;
            if (cap->count == CAP_COUNT_CHANNEL &&
                strcmp(f->reminder_channel, cap->channel))
                continue;
            times_add(c, &t, f->reminder_at);
        }
        if (t.n > 1) qsort(t.v, (size_t)t.n, sizeof(int64_t), cmp_i64);
        int64_t nx;
        if (cap_breaks(&t, cap->limit, cap->per, s, &nx)) first = k;
    }
    free(t.v);
    return first;
}

static void cap_reason(const struct policy *pol, int broken, char *buf,
                       size_t size) {
    if (broken == 0)
        snprintf(buf, size, "cap:rule");
    else
        snprintf(buf, size, "cap:%s", pol->caps[broken - 1].id);
}

/* ---- Slot search ---- */

/* First instant >= start and < expiry in the window of a follow-up of
 * `kind`: the user's calling window for a call, the message window for a
 * message (spec 4.2). 0 / -1 none. */
static int slot_next(struct ectx *c, int kind, int64_t start, int64_t expiry,
                     int64_t *d, int64_t *slot_end) {
    if (start >= expiry) return -1;
    const struct window *w =
        kind == FOLLOWUP_MESSAGE ? &c->pol->message_window : c->cw;
    return window_next(w, c->tz, start, expiry, d, slot_end);
}

/* The earliest due time that leaves room for a reminder `lead` before it:
 * the reminder goes at the latest message-window instant <= due - lead
 * that is not before now, which exists exactly when due - lead >= the
 * first message-window instant m >= now. TIME_MAX when there is no m. */
static int64_t reminder_room(struct ectx *c, const struct rule *r,
                             int64_t expiry) {
    int64_t m;
    if (window_next(&c->pol->message_window, c->tz, c->now, expiry, &m,
                    NULL) < 0)
        return TIME_MAX;
    return add64(m, r->reminder_lead);
}

/* Move d forward until every cap of the follow-up holds (on_cap: defer
 * and moves), in its kind's window. 0 with *d / *end set, -1 when no slot
 * before expiry keeps them all. */
static int defer_followup(struct ectx *c, const struct cap_check *cc,
                          int64_t start, int64_t expiry, int64_t *d,
                          int64_t *end) {
    for (int step = 0; step < DEFER_MAX_STEPS && !c->oom; step++) {
        int64_t next;
        if (slot_next(c, cc->kind, start, expiry, d, end) < 0) return -1;
        if (followup_caps_broken(c, cc, *d, &next) < 0) return 0;
        start = next;
    }
    return -1;
}

static int in_cooldown(const struct ectx *c, int64_t d) {
    const struct user_state *st = c->st;
    return st->cooldown_until != TIME_NONE && d >= st->cooldown_from &&
           d < st->cooldown_until;
}

/* A cooldown stops follow-ups of rule r at d, unless r ignores cooldowns
 * (spec 4.1); a follow-up whose rule a reload removed does not. */
static int cooldown_stops(const struct ectx *c, const struct rule *r,
                          int64_t d) {
    return !(r && r->ignore_cooldown) && in_cooldown(c, d);
}

/* Under defaults.require_consent, a user whose latest consent is not a
 * yes may not be contacted (spec 4.1). */
static int lacks_consent(const struct ectx *c) {
    return c->pol->require_consent && c->st->consent != CONSENT_GIVEN;
}

/* 1 when a pending follow-up of a rule superseding r exists. */
static int is_superseded(const struct ectx *c, const struct rule *r) {
    for (int i = 0; i < c->st->nfollowups; i++) {
        const struct followup *f = &c->st->followups[i];
        if (f->status != FOLLOWUP_PENDING) continue;
        const struct rule *b = policy_rule(c->pol, f->rule_id);
        if (b && supersedes(c->pol, b, r->id)) return 1;
    }
    return 0;
}

/* ---- Cancelling ---- */

/* Cancel follow-up i with a decision record; an emitted task also gets a
 * cancel message when msg_reason is set. Its unsent reminder goes too. */
static void cancel_followup(struct ectx *c, int i, const char *reason,
                            const char *cause, const char *msg_reason) {
    struct followup *f = &c->st->followups[i];
    if (f->status == FOLLOWUP_EMITTED && msg_reason) emit_cancel(c, f, msg_reason);
    f->status = FOLLOWUP_CANCELLED;
    if (f->reminder_status == REMINDER_PENDING)
        f->reminder_status = REMINDER_DROPPED;
    emit_followup_decision(c, f, cause, "cancelled", reason);
}

static void cancel_superseded(struct ectx *c, const struct rule *b,
                              const char *cause) {
    for (int i = 0; i < c->st->nfollowups; i++) {
        const struct followup *f = &c->st->followups[i];
        if (f->status == FOLLOWUP_PENDING && supersedes(c->pol, b, f->rule_id))
            cancel_followup(c, i, "superseded", cause, NULL);
    }
}

/* Stop contacting the user (an opt-out, or consent withdrawn under
 * require_consent): pending follow-ups and unsent reminders go, emitted
 * tasks still callable get a cancel, and repeat series end. */
static void stop_contact(struct ectx *c, const char *reason,
                         const char *cancel_reason, const char *cause) {
    struct user_state *st = c->st;
    for (int i = 0; i < st->nfollowups; i++) {
        const struct followup *f = &st->followups[i];
        if (f->status == FOLLOWUP_PENDING)
            cancel_followup(c, i, reason, cause, NULL);
        else if (f->status == FOLLOWUP_EMITTED && f->not_after > c->now)
            cancel_followup(c, i, reason, cause, cancel_reason);
    }
    while (st->nrepeats > 0) user_state_remove_repeat(st, st->nrepeats - 1);
}

/* Opt the user out (spec 4, Opt-out). */
static void opt_out(struct ectx *c, const char *cause) {
    c->st->opted_out = 1;
    c->st->prefs_at = c->now; /* an opt-out is kept as long as preferences */
    stop_contact(c, "opted_out", "opt_out", cause);
}

static void start_cooldown(struct ectx *c, int64_t from, const char *cause) {
    struct user_state *st = c->st;
    int64_t len = c->pol->outcomes.cooldown_after_answered;
    if (len <= 0) return;
    int64_t until = add64(from, len);
    if (st->cooldown_until != TIME_NONE && st->cooldown_until >= until) return;
    st->cooldown_from = from;
    st->cooldown_until = until;
    for (int i = 0; i < st->nfollowups; i++) {
        const struct followup *f = &st->followups[i];
        /* a call waiting for the pacer counts as due now (spec 4.3) */
        int64_t due = f->waiting ? max64(c->now, from) : f->due_at;
        if (f->status == FOLLOWUP_PENDING &&
            cooldown_stops(c, policy_rule(c->pol, f->rule_id), due))
            cancel_followup(c, i, "cooldown", cause, NULL);
    }
}

/* ---- Bounds on one user's state (engine.h) ---- */

/* A follow-up the user's bounds count: all but a cancelled one whose
 * reminder never went (a sent reminder still counts for reminder caps). */
static int followup_live(const struct followup *f) {
    return f->status != FOLLOWUP_CANCELLED ||
           f->reminder_status == REMINDER_SENT;
}

static size_t text_len(const char *s) {
    return s ? strlen(s) : 0;
}

/* 1 when one more follow-up with context ctx, and a repeat timer when
 * with_timer, stays within ENGINE_LIVE_MAX and ENGINE_CONTEXTS_MAX. */
static int has_room(const struct user_state *st, const char *ctx,
                    int with_timer) {
    int live = 1 + with_timer + st->nrepeats;
    size_t bytes = text_len(ctx) * (size_t)(1 + with_timer);
    for (int i = 0; i < st->nfollowups; i++) {
        if (!followup_live(&st->followups[i])) continue;
        live++;
        bytes += text_len(st->followups[i].context_json);
    }
    for (int i = 0; i < st->nrepeats; i++)
        bytes += text_len(st->repeats[i].context_json);
    return live <= ENGINE_LIVE_MAX && bytes <= ENGINE_CONTEXTS_MAX;
}

/* Forget cancelled follow-ups, oldest first, while the user keeps more
 * than ENGINE_LIVE_MAX items. Run after an event or due item is handled,
 * never inside a loop over follow-up indexes. Nothing changes for the
 * user: outcomes and reschedules of a cancelled task are ignored whether
 * or not it is remembered, and no cap counts it. */
static void forget_cancelled(struct user_state *st) {
    for (int i = 0; i < st->nfollowups &&
                    st->nfollowups + st->nrepeats > ENGINE_LIVE_MAX;) {
        if (followup_live(&st->followups[i]))
            i++;
        else
            user_state_remove_followup(st, i);
    }
}

/* Before one more channel is turned off: at ENGINE_CHANNELS_OFF_MAX,
 * forget one the policy does not use. Channels it uses are always kept,
 * so the list stays within the bound plus the policy's own channels. */
static void make_channel_room(struct ectx *c) {
    struct user_state *st = c->st;
    if (st->nchannels_off < ENGINE_CHANNELS_OFF_MAX) return;
    for (int i = 0; i < st->nchannels_off; i++)
        if (!policy_uses_channel(c->pol, st->channels_off[i])) {
            user_state_set_channel(st, st->channels_off[i], 1);
            return;
        }
}

/* ---- Deciding a follow-up ---- */

/* A follow-up to decide: a rule's new occurrence or a retry. */
struct candidate {
    const struct rule *rule;
    int kind; /* enum followup_kind, chosen when the trigger was decided */
    const char *trigger_event_id, *trigger_type;
    int64_t trigger_at;
    const char *context_json;
    int occurrence, attempt;
    int64_t planned, expires_at;
    int priority; /* fixed at attempt 1 of occurrence 1 (spec 4.1) */
    const char *cause; /* event_id of the decision record */
};

/* Where a decided follow-up goes: its slot, or why it is suppressed. */
struct placement {
    int have_slot;          /* a first candidate slot exists */
    int64_t due, end;       /* the slot (the first candidate if suppressed) */
    const char *reason;     /* NULL: scheduled */
    char reason_buf[160];
};

/* The first candidate slot, with room for a reminder when one will go. */
static void place_first(struct ectx *c, const struct candidate *k,
                        int room, struct placement *p) {
    int64_t start = max64(k->planned, c->now);
    if (room) start = max64(start, reminder_room(c, k->rule, k->expires_at));
    p->have_slot = start != TIME_MAX &&
                   slot_next(c, k->kind, start, k->expires_at, &p->due,
                             &p->end) == 0;
}

/* The channel of a message follow-up of r, NULL for a call. */
static const char *kind_channel(const struct rule *r, int kind) {
    return kind == FOLLOWUP_MESSAGE ? r->message.channel : NULL;
}

static void place(struct ectx *c, const struct candidate *k, int room,
                  struct placement *p) {
    const struct rule *r = k->rule;
    memset(p, 0, sizeof(*p));
    place_first(c, k, room, p);
    if (c->st->opted_out)
        p->reason = "opted_out";
    else if (lacks_consent(c))
        p->reason = "no_consent";
    else if (k->kind == FOLLOWUP_MESSAGE &&
             !user_state_channel_on(c->st, r->message.channel))
        p->reason = "channel_off";
    else if (is_superseded(c, r))
        p->reason = "superseded";
    else if (!p->have_slot)
        p->reason = "expired";
    else if (cooldown_stops(c, r, p->due))
        p->reason = "cooldown";
    if (p->reason || k->attempt != 1) return;

    struct cap_check cc = {r, k->kind, kind_channel(r, k->kind), -1, r};
    int64_t next, d, end;
    int broken = followup_caps_broken(c, &cc, p->due, &next);
    if (broken < 0) return;
    if (r->on_cap == ON_CAP_DEFER &&
        defer_followup(c, &cc, next, k->expires_at, &d, &end) == 0) {
        p->due = d;
        p->end = end;
        return;
    }
    cap_reason(c->pol, broken, p->reason_buf, sizeof(p->reason_buf));
    p->reason = p->reason_buf;
}

/* Plan the reminder of a scheduled attempt 1 into f; returns what the
 * decision record says of it. */
static const char *plan_reminder(struct ectx *c, const struct rule *r,
                                 struct followup *f, char *buf, size_t size) {
    int64_t s;
    if (!user_state_channel_on(c->st, r->reminder_channel))
        return "channel_off";
    if (window_prev(&c->pol->message_window, c->tz, f->due_at - r->reminder_lead,
                    c->now, &s) < 0)
        return "expired"; /* unreachable: the slot was placed with room */
    int broken = reminder_caps_broken(c, r->reminder_channel, s);
    if (broken >= 0) {
        snprintf(buf, size, "cap:%s", c->pol->caps[broken].id);
        return buf;
    }
    f->reminder_status = REMINDER_PENDING;
    make_reminder_id(f->task_id, f->reminder_id);
    f->reminder_channel = xstrdup(c, r->reminder_channel);
    f->reminder_template = xstrdup(c, r->reminder_template);
    f->reminder_at = s;
    f->reminder_seq = next_seq(c);
    return "scheduled";
}

/* Fill a new pending follow-up from k at p. */
static struct followup *add_pending(struct ectx *c, const struct candidate *k,
                                    const struct placement *p,
                                    const char *task_id) {
    const struct rule *r = k->rule;
    int msg = k->kind == FOLLOWUP_MESSAGE;
    /* copy first: k may point into the followup array that grows here */
    char *strs[7] = {xstrdup(c, r->id), xstrdup(c, k->trigger_event_id),
                     xstrdup(c, k->trigger_type),
                     msg ? NULL : xstrdup(c, r->script),
                     xstrdup(c, k->context_json),
                     msg ? xstrdup(c, r->message.channel) : NULL,
                     msg ? xstrdup(c, r->message.template) : NULL};
    struct followup *f = c->oom ? NULL : user_state_add_followup(c->st);
    if (!f) {
        for (int i = 0; i < 7; i++) free(strs[i]);
        c->oom = 1;
        return NULL;
    }
    memcpy(f->task_id, task_id, STATE_ID_LEN);
    f->kind = k->kind;
    f->rule_id = strs[0];
    f->trigger_event_id = strs[1];
    f->trigger_type = strs[2];
    f->script = strs[3];
    f->context_json = strs[4];
    f->message_channel = strs[5];
    f->message_template = strs[6];
    f->trigger_at = k->trigger_at;
    f->occurrence = k->occurrence;
    f->attempt = k->attempt;
    f->planned = k->planned;
    f->expires_at = k->expires_at;
    f->due_at = p->due;
    f->not_after = min64(p->end, k->expires_at);
    f->seq = next_seq(c);
    f->status = FOLLOWUP_PENDING;
    f->priority = k->priority;
    memcpy(f->policy_version, c->pol->version, sizeof(f->policy_version));
    return f;
}

/* Decide k: schedule it or record why not. Returns 1 when a repeat
 * series ends here (the user is opted out or without consent, or the
 * state is full), else 0. */
static int decide(struct ectx *c, const struct candidate *k) {
    const struct rule *r = k->rule;
    char task_id[STATE_ID_LEN], rbuf[160];
    struct placement p;
    /* on a rule with both kinds the reminder goes with the call (4.2) */
    int with_reminder = k->attempt == 1 && r->has_reminder &&
                        k->kind == FOLLOWUP_CALL;
    int room = with_reminder && user_state_channel_on(c->st, r->reminder_channel);
    int with_timer = k->attempt == 1 && r->has_repeat &&
                     k->occurrence < r->repeat_times;

    make_task_id(k->kind, c->st->user_id, r->id, k->trigger_event_id,
                 k->occurrence, k->attempt, 0, task_id);
    place(c, k, room, &p);
    if (!p.reason && !has_room(c->st, k->context_json, with_timer))
        p.reason = "state_full";
    struct decision d = {.event_id = k->cause, .rule_id = r->id,
                         .task_id = task_id, .attempt = k->attempt,
                         .occurrence = k->occurrence, .kind = k->kind,
                         .due_at = p.have_slot ? p.due : TIME_NONE};
    if (p.reason) {
        d.decision = "suppressed";
        d.reason = p.reason;
        emit_decision(c, &d);
        return !strcmp(p.reason, "opted_out") ||
               !strcmp(p.reason, "no_consent") ||
               !strcmp(p.reason, "state_full");
    }
    struct followup *f = add_pending(c, k, &p, task_id);
    if (!f) return 0;
    d.decision = "scheduled";
    if (with_reminder) d.reminder = plan_reminder(c, r, f, rbuf, sizeof(rbuf));
    emit_decision(c, &d);
    if (k->attempt == 1) cancel_superseded(c, r, k->cause);
    return 0;
}

/* Decide occurrence k->occurrence and arm the decision of the next one at
 * this one's nominal time (spec 4, Repeat). */
static void decide_occurrence(struct ectx *c, const struct candidate *k) {
    const struct rule *r = k->rule;
    int series_ends = decide(c, k);
    if (series_ends || !r->has_repeat || k->occurrence >= r->repeat_times) return;
    char *strs[4] = {xstrdup(c, r->id), xstrdup(c, k->trigger_event_id),
                     xstrdup(c, k->trigger_type), xstrdup(c, k->context_json)};
    struct repeat_timer *t = c->oom ? NULL : user_state_add_repeat(c->st);
    if (!t) {
        for (int i = 0; i < 4; i++) free(strs[i]);
        c->oom = 1;
        return;
    }
    t->rule_id = strs[0];
    t->trigger_event_id = strs[1];
    t->trigger_type = strs[2];
    t->context_json = strs[3];
    t->trigger_at = k->trigger_at;
    t->occurrence = k->occurrence + 1;
    t->nominal = add64(k->planned, r->repeat_every);
    t->decide_at = k->planned;
    t->seq = next_seq(c);
    t->priority = k->priority;
    t->kind = k->kind;
}

/* ---- Moving a follow-up (reschedule and re-plan) ---- */

enum move_mode { MOVE_RESCHEDULE, MOVE_REPLAN, MOVE_PACED };

/* Replace follow-up i by a new task due at d (spec 4, Reschedule); the
 * record says why: "rescheduled", or "paced" for a pacing move (4.3). */
static void replace_followup(struct ectx *c, int i, int64_t planned,
                             int64_t d, int64_t end, const char *reason,
                             const char *cause) {
    struct followup *f = &c->st->followups[i];
    if (f->status == FOLLOWUP_EMITTED) {
        emit_cancel(c, f, "rescheduled");
        emit_followup_decision(c, f, cause, "cancelled", "rescheduled");
    }
    f->status = FOLLOWUP_CANCELLED;
    if (f->reminder_status == REMINDER_PENDING)
        f->reminder_status = REMINDER_DROPPED;

    struct followup *g = user_state_add_followup(c->st);
    if (!g) {
        c->oom = 1;
        return;
    }
    f = &c->st->followups[i]; /* the array may have moved */
    *g = *f;
    g->rule_id = xstrdup(c, f->rule_id);
    g->trigger_event_id = xstrdup(c, f->trigger_event_id);
    g->trigger_type = xstrdup(c, f->trigger_type);
    g->script = xstrdup(c, f->script);
    g->context_json = xstrdup(c, f->context_json);
    g->message_channel = xstrdup(c, f->message_channel);
    g->message_template = xstrdup(c, f->message_template);
    g->reminder_channel = g->reminder_template = NULL;
    g->reminder_status = REMINDER_NONE;
    g->reminder_id[0] = '\0';
    g->reschedules = f->reschedules + 1;
    make_task_id(g->kind, c->st->user_id, g->rule_id ? g->rule_id : "",
                 g->trigger_event_id ? g->trigger_event_id : "",
                 g->occurrence, g->attempt, g->reschedules, g->task_id);
    g->planned = planned;
    g->due_at = d;
    g->not_after = min64(end, g->expires_at);
    g->seq = next_seq(c);
    g->status = FOLLOWUP_PENDING;
    g->waiting = 0;
    g->emitted_at = TIME_NONE;
    memcpy(g->policy_version, c->pol->version, sizeof(g->policy_version));

    struct decision dec = {.event_id = cause, .rule_id = g->rule_id,
                           .decision = "scheduled", .task_id = g->task_id,
                           .reason = reason, .replaces = f->task_id,
                           .due_at = d, .attempt = g->attempt,
                           .occurrence = g->occurrence, .kind = g->kind};
    emit_decision(c, &dec);
}

/* Move follow-up i to the first instant >= max(target, now) in the window
 * that keeps every cap, before its expiry. */
static void move_followup(struct ectx *c, int i, int64_t target,
                          enum move_mode mode, const char *cause) {
    struct followup *f = &c->st->followups[i];
    const char *msg = f->status == FOLLOWUP_EMITTED ? "rescheduled" : NULL;
    struct cap_check cc = {policy_rule(c->pol, f->rule_id), f->kind,
                           f->message_channel, i, NULL};
    int64_t d, end, next;
    int64_t start = max64(target, c->now);
    /* a waiting call stays waiting while now is in the new window (4.3) */
    if (mode == MOVE_REPLAN && f->waiting &&
        slot_next(c, f->kind, c->now, f->expires_at, &d, &end) == 0 &&
        d == c->now) {
        f->not_after = min64(end, f->expires_at);
        return;
    }
    int have = slot_next(c, f->kind, start, f->expires_at, &d, &end) == 0;
    if (have && f->attempt == 1 &&
        followup_caps_broken(c, &cc, d, &next) >= 0)
        have = defer_followup(c, &cc, next, f->expires_at, &d, &end) == 0;

    if (!have) {
        cancel_followup(c, i, "expired", cause, msg);
    } else if (cooldown_stops(c, cc.rule, d)) {
        cancel_followup(c, i, "cooldown", cause, msg);
    } else if (mode == MOVE_REPLAN && d == f->due_at) {
        f->not_after = min64(end, f->expires_at);
    } else {
        replace_followup(c, i, mode == MOVE_RESCHEDULE ? target : f->planned,
                         d, end, mode == MOVE_PACED ? "paced" : "rescheduled",
                         cause);
    }
}

/* Re-plan every pending follow-up, in due order, after a change of the
 * user's zone or calling window (spec 4, User timezone and window); a
 * change of the calling window alone leaves messages be (spec 4.2). */
static void replan_all(struct ectx *c, int calls_only, const char *cause) {
    struct user_state *st = c->st;
    int n = 0, *idx = malloc(sizeof(int) * (size_t)(st->nfollowups + 1));
    if (!idx) {
        c->oom = 1;
        return;
    }
    for (int i = 0; i < st->nfollowups; i++)
        if (st->followups[i].status == FOLLOWUP_PENDING &&
            !(calls_only && st->followups[i].kind == FOLLOWUP_MESSAGE))
            idx[n++] = i;
    /* insertion sort by (due, seq): a user has few pending follow-ups */
    for (int a = 1; a < n; a++) {
        int v = idx[a], b = a;
        const struct followup *fv = &st->followups[v];
        while (b > 0) {
            const struct followup *fb = &st->followups[idx[b - 1]];
            if (fb->due_at < fv->due_at ||
                (fb->due_at == fv->due_at && fb->seq < fv->seq))
                break;
            idx[b] = idx[b - 1];
            b--;
        }
        idx[b] = v;
    }
    for (int a = 0; a < n && !c->oom; a++)
        move_followup(c, idx[a], st->followups[idx[a]].planned, MOVE_REPLAN,
                      cause);
    free(idx);
}

/* ---- The user's zone and calling window ---- */

/* Set the user's zone to name (validated by the event parser). Returns 1
 * when the zone in force changed. */
static int set_timezone(struct ectx *c, const char *name) {
    const struct tz *before = c->tz;
    const struct tz *tz = tzdb_get(c->env->tzdb, name, NULL);
    if (!tz) return 0;
    if (!c->st->timezone || strcmp(c->st->timezone, name)) {
        char *copy = xstrdup(c, name);
        if (!copy) return 0;
        free(c->st->timezone);
        c->st->timezone = copy;
    }
    ectx_zone(c);
    return c->tz != before;
}

/* Set (w) or remove (NULL) the user's calling-window override. Returns 1
 * when the window in force changed. */
static int set_call_window(struct ectx *c, const struct window *w) {
    const struct window *now_in_force = w ? w : &c->pol->call_window;
    int changed = !window_equal(c->cw, now_in_force);
    struct user_state *st = c->st;
    if (w) {
        struct window copy;
        if (window_copy(&copy, w) < 0) {
            c->oom = 1;
            return 0;
        }
        window_release(&st->call_window);
        st->call_window = copy;
        st->has_call_window = 1;
    } else if (st->has_call_window) {
        window_release(&st->call_window);
        window_init(&st->call_window);
        st->has_call_window = 0;
    }
    ectx_zone(c);
    return changed;
}

/* ---- Event kinds ---- */

/* What a rule's `when`, `context` and `priority_from` read (spec 4.1):
 * the trigger event and, for an outcome, three fields of the task it
 * answers under `task.` (copied: the follow-up array may move). */
struct trigger_view {
    const struct event *ev;
    int has_task;
    const char *task_rule_id;
    int task_attempt, task_occurrence;
};

/* cond_lookup_fn over a struct trigger_view: `task.*` names the answered
 * task only, never the event's own fields. */
static int view_lookup(const void *ctx, const char *const *segs, int nsegs,
                       struct cond_value *out) {
    const struct trigger_view *v = ctx;
    if (nsegs < 1 || strcmp(segs[0], "task"))
        return event_lookup(v->ev, segs, nsegs, out);
    memset(out, 0, sizeof(*out)); /* CV_MISSING */
    if (!v->has_task || nsegs != 2) return 0;
    if (!strcmp(segs[1], "rule_id")) {
        out->type = CV_STRING;
        out->str = v->task_rule_id;
    } else if (!strcmp(segs[1], "attempt")) {
        out->type = CV_NUMBER;
        out->num = v->task_attempt;
    } else if (!strcmp(segs[1], "occurrence")) {
        out->type = CV_NUMBER;
        out->num = v->task_occurrence;
    }
    return 0;
}

/* event_overlay_fn: the `task.*` values of a context. */
static int view_context(const void *ctx, const char *path, struct jsonw *w) {
    const struct trigger_view *v = ctx;
    if (strncmp(path, "task.", 5)) return 0;
    path += 5;
    if (v->has_task && !strcmp(path, "rule_id"))
        jsonw_str(w, v->task_rule_id);
    else if (v->has_task && !strcmp(path, "attempt"))
        jsonw_int(w, v->task_attempt);
    else if (v->has_task && !strcmp(path, "occurrence"))
        jsonw_int(w, v->task_occurrence);
    else
        jsonw_null(w);
    return 1;
}

/* The priority of a new follow-up of r (spec 4.1): the number at
 * priority_from rounded half away from zero and clamped to 0-100, else
 * callback.priority. Paths were checked at load (at most COND_MAX_SEGS
 * segments of 255 bytes in all). */
static int trigger_priority(const struct rule *r,
                            const struct trigger_view *v) {
    char buf[256];
    const char *segs[COND_MAX_SEGS];
    int n = 0;
    struct cond_value val;
    if (!r->priority_from || strlen(r->priority_from) >= sizeof(buf))
        return r->priority;
    strcpy(buf, r->priority_from);
    for (char *p = buf; p && n < COND_MAX_SEGS; n++) {
        segs[n] = p;
        if ((p = strchr(p, '.'))) *p++ = '\0';
    }
    view_lookup(v, segs, n, &val);
    if (val.type != CV_NUMBER) return r->priority;
    if (val.num <= 0) return 0;
    if (val.num >= 100) return 100;
    return (int)round(val.num);
}

/* The index of the first rule at or after `from` whose `on` names the
 * trigger's type and whose `when` holds for it, or -1. The one place rule
 * matching is done: deciding (decide_rules) and engine_event_matters share
 * it. Of the built-ins only an outcome can match (spec 4.1). */
static int next_matching_rule(const struct policy *pol,
                              const struct trigger_view *v, int from) {
    const struct event *ev = v->ev;
    if (ev->kind != EV_RULE && ev->kind != EV_OUTCOME) return -1;
    for (int i = from; i < pol->nrules; i++) {
        const struct rule *r = &pol->rules[i];
        int on = 0;
        for (int j = 0; j < r->non && !on; j++) on = !strcmp(r->on[j], ev->type);
        if (on && cond_eval(r->when, view_lookup, v)) return i;
    }
    return -1;
}

/* The kind of r's follow-ups: the one it has, or with both the user's
 * follow_up_by, calls by default (spec 4.2). `kept` is a kind chosen
 * before (a repeat series keeps it) or -1; when a reload took that block
 * away, the rule's other kind serves. */
static int rule_kind(const struct rule *r, const struct user_state *st,
                     int kept) {
    if (!r->has_message) return FOLLOWUP_CALL;
    if (!r->has_callback) return FOLLOWUP_MESSAGE;
    if (kept >= 0) return kept;
    return st->follow_up_by == FOLLOW_UP_MESSAGE ? FOLLOWUP_MESSAGE
                                                 : FOLLOWUP_CALL;
}

static int64_t kind_delay(const struct rule *r, int kind) {
    return kind == FOLLOWUP_MESSAGE ? r->message.delay : r->delay;
}

static int64_t kind_expiry(const struct rule *r, int kind) {
    return kind == FOLLOWUP_MESSAGE ? r->message.expires_after
                                    : r->expires_after;
}

/* The context object of a follow-up of r of `kind` from the trigger, NULL
 * when the kind copies no paths (c->oom set on failure). */
static char *kind_context(struct ectx *c, const struct rule *r, int kind,
                          const struct trigger_view *v) {
    int msg = kind == FOLLOWUP_MESSAGE;
    char **paths = msg ? r->message.context : r->context;
    int n = msg ? r->message.ncontext : r->ncontext;
    if (!n) return NULL;
    char *context = event_context_json_with(v->ev, paths, n, view_context, v);
    if (!context) c->oom = 1;
    return context;
}

/* A new follow-up of every rule the trigger matches, in file order. */
static void decide_rules(struct ectx *c, const struct trigger_view *v) {
    const struct policy *pol = c->pol;
    const struct event *ev = v->ev;
    for (int i = next_matching_rule(pol, v, 0); i >= 0 && !c->oom;
         i = next_matching_rule(pol, v, i + 1)) {
        const struct rule *r = &pol->rules[i];
        int kind = rule_kind(r, c->st, -1);
        char *context = kind_context(c, r, kind, v);
        if (c->oom) return;
        struct candidate k = {
            .rule = r, .kind = kind, .trigger_event_id = ev->event_id,
            .trigger_type = ev->type, .trigger_at = ev->occurred_at,
            .context_json = context, .occurrence = 1, .attempt = 1,
            .planned = add64(ev->occurred_at, kind_delay(r, kind)),
            .priority = trigger_priority(r, v), .cause = ev->event_id};
        k.expires_at = add64(k.planned, kind_expiry(r, kind));
        decide_occurrence(c, &k);
        free(context);
    }
}

/* The user turned channel off: its unsent reminders are dropped and its
 * pending messages cancelled (spec 4.2). */
static void channel_turned_off(struct ectx *c, const char *channel,
                               const char *cause) {
    for (int i = 0; i < c->st->nfollowups; i++) {
        struct followup *f = &c->st->followups[i];
        if (f->reminder_status == REMINDER_PENDING &&
            !strcmp(f->reminder_channel, channel))
            f->reminder_status = REMINDER_DROPPED;
        if (f->status == FOLLOWUP_PENDING && f->kind == FOLLOWUP_MESSAGE &&
            !strcmp(f->message_channel, channel))
            cancel_followup(c, i, "channel_off", cause, NULL);
    }
}

/* Spec 3.3: zone and window are set first, then opt-out and consent act,
 * then channels, then pending follow-ups are re-planned. */
static void on_preferences(struct ectx *c, const struct event *ev) {
    struct user_state *st = c->st;
    int zone_changed = 0, window_changed = 0;
    st->prefs_at = c->now;
    if (ev->pref_timezone) zone_changed = set_timezone(c, ev->pref_timezone);
    if (ev->has_call_window)
        window_changed = set_call_window(c, ev->call_window_null
                                                ? NULL
                                                : &ev->call_window);
    if (ev->has_follow_up_by) st->follow_up_by = ev->follow_up_by;
    if (ev->has_opt_out) {
        if (ev->opt_out)
            opt_out(c, ev->event_id);
        else
            st->opted_out = 0;
    }
    if (ev->has_consent) {
        st->consent = ev->consent ? CONSENT_GIVEN : CONSENT_WITHDRAWN;
        if (!ev->consent && c->pol->require_consent)
            stop_contact(c, "no_consent", "no_consent", ev->event_id);
    }
    for (int i = 0; i < ev->nchannels; i++) {
        const struct event_channel *ch = &ev->channels[i];
        if (!ch->on && user_state_channel_on(st, ch->name))
            make_channel_room(c);
        if (user_state_set_channel(st, ch->name, ch->on) < 0) c->oom = 1;
        if (!ch->on) channel_turned_off(c, ch->name, ev->event_id);
    }
    if (zone_changed || window_changed)
        replan_all(c, !zone_changed, ev->event_id);
}

static int find_task_index(const struct user_state *st, const char *task_id) {
    for (int i = 0; i < st->nfollowups; i++)
        if (!strcmp(st->followups[i].task_id, task_id)) return i;
    return -1;
}

/* Schedule attempt k+1 of follow-up i after a retryable outcome at t. */
static void retry(struct ectx *c, int i, int64_t t, const char *cause) {
    const struct outcomes_policy *op = &c->pol->outcomes;
    const struct followup *f = &c->st->followups[i];
    const struct rule *r = policy_rule(c->pol, f->rule_id);
    if (!r || !r->has_callback || f->attempt >= op->max_attempts) return;
    int64_t backoff = 0;
    if (op->nbackoff > 0) {
        int b = f->attempt - 1 < op->nbackoff ? f->attempt - 1 : op->nbackoff - 1;
        backoff = op->backoff[b];
    }
    struct candidate k = {
        .rule = r, .kind = FOLLOWUP_CALL,
        .trigger_event_id = f->trigger_event_id,
        .trigger_type = f->trigger_type, .trigger_at = f->trigger_at,
        .context_json = f->context_json, .occurrence = f->occurrence,
        .attempt = f->attempt + 1, .planned = add64(t, backoff),
        .expires_at = f->expires_at, .priority = f->priority, .cause = cause};
    decide(c, &k);
}

/* What a counted outcome of follow-up i does by itself (spec 4,
 * Outcomes): an opt-out, or a cooldown and a retry. */
static void outcome_effects(struct ectx *c, const struct event *ev, int i) {
    const struct outcomes_policy *op = &c->pol->outcomes;
    if (!op->present) return;
    int64_t t = max64(ev->occurred_at, c->now);
    unsigned bit = 1u << ev->outcome;
    if (op->opt_out_on & bit) {
        opt_out(c, ev->event_id);
        return;
    }
    if (ev->outcome == OUTCOME_ANSWERED) start_cooldown(c, t, ev->event_id);
    if (op->retry_on & bit) retry(c, i, t, ev->event_id);
}

/* An outcome counts once, for an emitted task of its user; then its own
 * effects come first and the rules on outcomes after (spec 4.1). */
static void on_outcome(struct ectx *c, const struct event *ev) {
    int i = find_task_index(c->st, ev->task_id);
    if (i < 0 || c->st->followups[i].status != FOLLOWUP_EMITTED) {
        c->plan->ignored = 1;
        c->plan->note = "outcome for an unknown, unsent or finished task";
        return;
    }
    struct followup *f = &c->st->followups[i];
    struct trigger_view v = {ev, 1, f->rule_id, f->attempt, f->occurrence};
    f->status = FOLLOWUP_DONE; /* f's strings outlive this event */
    outcome_effects(c, ev, i);
    decide_rules(c, &v);
}

static void on_reschedule(struct ectx *c, const struct event *ev) {
    int i = find_task_index(c->st, ev->task_id);
    int status = i < 0 ? -1 : c->st->followups[i].status;
    if (status != FOLLOWUP_PENDING && status != FOLLOWUP_EMITTED) {
        c->plan->ignored = 1;
        c->plan->note = "reschedule of an unknown or finished task";
        return;
    }
    if (c->st->followups[i].kind == FOLLOWUP_MESSAGE) {
        c->plan->ignored = 1; /* like an unknown task (spec 4.2) */
        c->plan->note = "reschedule naming a message follow-up";
        return;
    }
    if (c->st->opted_out) {
        c->plan->ignored = 1;
        c->plan->note = "reschedule for an opted-out user";
        return;
    }
    if (lacks_consent(c)) {
        c->plan->ignored = 1;
        c->plan->note = "reschedule for a user without consent";
        return;
    }
    move_followup(c, i, ev->at, MOVE_RESCHEDULE, ev->event_id);
}

/* 1 when ev was decided within the last dedupe_for (spec 4, Dedupe). */
static int is_duplicate(const struct ectx *c, const struct event *ev) {
    const struct user_state *st = c->st;
    for (int i = 0; i < st->nseen; i++)
        if (!strcmp(st->seen[i].event_id, ev->event_id) &&
            c->now - st->seen[i].decided_at < c->pol->dedupe_for)
            return 1;
    return 0;
}

int engine_event_matters(const struct policy *pol, const struct event *ev) {
    struct trigger_view v = {ev, 0, NULL, 0, 0};
    return ev->kind != EV_RULE || ev->timezone != NULL ||
           next_matching_rule(pol, &v, 0) >= 0;
}

int engine_on_event(const struct policy *pol, struct user_state *st,
                    const struct event *ev, const struct engine_env *env,
                    struct plan *plan, struct fu_err *err) {
    struct ectx c;
    /* first, before dedupe and pruning: an event that cannot change
     * anything leaves no trace (spec 4, Dedupe) */
    if (!engine_event_matters(pol, ev)) return 0;
    ectx_init(&c, pol, st, env, plan);
    engine_prune(pol, st, env->now);
    if (is_duplicate(&c, ev)) {
        struct decision d = {.event_id = ev->event_id,
                             .decision = "duplicate", .due_at = TIME_NONE};
        emit_decision(&c, &d);
        return c.oom ? fu_err_set(err, FU_ENOMEM, "out of memory") : 0;
    }
    if (st->nseen >= ENGINE_SEEN_MAX) user_state_remove_seen(st, 0);
    if (user_state_add_seen(st, ev->event_id, env->now) < 0) c.oom = 1;
    if (ev->timezone && set_timezone(&c, ev->timezone))
        replan_all(&c, 0, ev->event_id);
    switch (ev->kind) {
    case EV_RULE: {
        struct trigger_view v = {ev, 0, NULL, 0, 0};
        decide_rules(&c, &v);
        break;
    }
    case EV_PREFERENCES: on_preferences(&c, ev); break;
    case EV_OUTCOME: on_outcome(&c, ev); break;
    case EV_RESCHEDULE: on_reschedule(&c, ev); break;
    }
    forget_cancelled(st);
    return c.oom ? fu_err_set(err, FU_ENOMEM, "out of memory") : 0;
}

/* ---- Due items ---- */

/* DUE_WAIT_END: a paced call still waiting at its not_after (4.3). */
enum due_kind { DUE_NONE, DUE_TASK, DUE_WAIT_END, DUE_REMINDER, DUE_REPEAT };

/* The user's earliest item by (due, seq): its kind and index. */
static enum due_kind earliest(const struct user_state *st, int *index,
                              int64_t *at) {
    enum due_kind kind = DUE_NONE;
    uint64_t best_seq = 0;
    for (int i = 0; i < st->nfollowups; i++) {
        const struct followup *f = &st->followups[i];
        struct { int on; int64_t t; uint64_t s; enum due_kind k; } cand[2] = {
            {f->status == FOLLOWUP_PENDING, followup_task_time(f), f->seq,
             f->waiting ? DUE_WAIT_END : DUE_TASK},
            {f->reminder_status == REMINDER_PENDING, f->reminder_at,
             f->reminder_seq, DUE_REMINDER}};
        for (int j = 0; j < 2; j++) {
            if (!cand[j].on) continue;
            if (kind != DUE_NONE && (cand[j].t > *at ||
                (cand[j].t == *at && cand[j].s > best_seq)))
                continue;
            kind = cand[j].k, *index = i, *at = cand[j].t;
            best_seq = cand[j].s;
        }
    }
    for (int i = 0; i < st->nrepeats; i++) {
        const struct repeat_timer *t = &st->repeats[i];
        if (kind != DUE_NONE && (t->decide_at > *at ||
            (t->decide_at == *at && t->seq > best_seq)))
            continue;
        kind = DUE_REPEAT, *index = i, *at = t->decide_at;
        best_seq = t->seq;
    }
    return kind;
}

/* Decide the occurrence a repeat timer stands for, and remove it. */
static void fire_repeat(struct ectx *c, int i) {
    struct repeat_timer t = c->st->repeats[i];
    memset(&c->st->repeats[i], 0, sizeof(t)); /* t owns the strings now */
    user_state_remove_repeat(c->st, i);
    const struct rule *r = policy_rule(c->pol, t.rule_id);
    if (r) {
        int kind = rule_kind(r, c->st, t.kind);
        struct candidate k = {
            .rule = r, .kind = kind, .trigger_event_id = t.trigger_event_id,
            .trigger_type = t.trigger_type, .trigger_at = t.trigger_at,
            .context_json = t.context_json, .occurrence = t.occurrence,
            .attempt = 1, .planned = t.nominal,
            .expires_at = add64(t.nominal, kind_expiry(r, kind)),
            .priority = t.priority >= 0 ? t.priority : r->priority,
            .cause = t.trigger_event_id};
        decide_occurrence(c, &k);
    }
    repeat_timer_release(&t);
}

/* A task or reminder falls due for a user without consent, which only a
 * reload switching require_consent on leaves pending (spec 4.1): the task
 * is cancelled (the record names its trigger, the only event behind it),
 * the reminder dropped without a word. */
static void due_without_consent(struct ectx *c, enum due_kind kind, int i) {
    struct followup *f = &c->st->followups[i];
    if (kind == DUE_REMINDER)
        f->reminder_status = REMINDER_DROPPED;
    else
        cancel_followup(c, i, "no_consent", f->trigger_event_id, NULL);
}

/* A call falls due under pacing (spec 4.3): it waits, still pending, and
 * the pacer is told (an OUT_PACING entry: the driver queues it, it is
 * never produced) which call, how important, due since when and callable
 * until when. */
static void wait_for_pacer(struct ectx *c, int i) {
    struct followup *f = &c->st->followups[i];
    struct jsonw w;
    f->waiting = 1;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_kstr(&w, "task_id", f->task_id);
    jsonw_kint(&w, "priority", f->priority);
    jsonw_kint(&w, "due_at", f->due_at);
    jsonw_kint(&w, "not_after", f->not_after);
    jsonw_obj_close(&w);
    emit(c, OUT_PACING, &w);
}

int engine_on_due(const struct policy *pol, struct user_state *st,
                  const struct engine_env *env, struct plan *plan,
                  struct fu_err *err) {
    struct ectx c;
    int i = 0;
    int64_t at = 0;
    ectx_init(&c, pol, st, env, plan);
    enum due_kind kind = earliest(st, &i, &at);
    if (kind == DUE_NONE || at > env->now) return 0;
    if (kind != DUE_REPEAT && lacks_consent(&c)) {
        due_without_consent(&c, kind, i);
    } else if (kind == DUE_WAIT_END) {
        /* moved like a reschedule to its planned time (4.3) */
        move_followup(&c, i, st->followups[i].planned, MOVE_PACED,
                      st->followups[i].trigger_event_id);
    } else if (kind == DUE_TASK && st->followups[i].kind == FOLLOWUP_MESSAGE) {
        st->followups[i].status = FOLLOWUP_DONE; /* never answered, recalled */
        st->followups[i].emitted_at = env->now;
        emit_message(&c, &st->followups[i]);
    } else if (kind == DUE_TASK && pol->calls_per_minute > 0) {
        wait_for_pacer(&c, i);
    } else if (kind == DUE_TASK) {
        st->followups[i].status = FOLLOWUP_EMITTED;
        st->followups[i].emitted_at = env->now;
        emit_task(&c, &st->followups[i]);
    } else if (kind == DUE_REMINDER) {
        st->followups[i].reminder_status = REMINDER_SENT;
        emit_reminder(&c, &st->followups[i]);
    } else {
        fire_repeat(&c, i);
    }
    forget_cancelled(st);
    return c.oom ? fu_err_set(err, FU_ENOMEM, "out of memory") : 1;
}

int engine_release(const struct policy *pol, struct user_state *st,
                   const char *task_id, const struct engine_env *env,
                   struct plan *plan, struct fu_err *err) {
    struct ectx c;
    int i = find_task_index(st, task_id), released = 0;
    struct followup *f = i < 0 ? NULL : &st->followups[i];
    /* gone, moved, cancelled, or past its slot (its move is due) */
    if (!f || f->status != FOLLOWUP_PENDING || !f->waiting ||
        env->now >= f->not_after)
        return 0;
    ectx_init(&c, pol, st, env, plan);
    if (lacks_consent(&c)) {
        due_without_consent(&c, DUE_TASK, i);
    } else {
        f->waiting = 0;
        f->status = FOLLOWUP_EMITTED;
        f->emitted_at = env->now;
        emit_task(&c, f);
        released = 1;
    }
    forget_cancelled(st);
    return c.oom ? fu_err_set(err, FU_ENOMEM, "out of memory") : released;
}

/* ---- Retention ---- */

/* Until when follow-up f matters: pending ones until well after they can
 * be due (expiry or reschedule target, plus the cap window); emitted ones
 * for caps (due + longest cap window) and late outcomes (expiry + a day);
 * sent reminders for reminder caps. Always finite, so stored state always
 * expires. */
static int64_t followup_keep_until(const struct policy *pol,
                                   const struct followup *f) {
    int64_t keep = 0, window = max64(pol->longest_cap, LATE_OUTCOME_GRACE);
    if (f->status == FOLLOWUP_PENDING || f->reminder_status == REMINDER_PENDING)
        return add64(max64(f->expires_at, f->due_at), window);
    if (f->status == FOLLOWUP_EMITTED)
        keep = max64(add64(f->expires_at, LATE_OUTCOME_GRACE),
                     add64(f->due_at, pol->longest_cap));
    if (f->status == FOLLOWUP_DONE) keep = add64(f->due_at, pol->longest_cap);
    if (f->reminder_status == REMINDER_SENT)
        keep = max64(keep, add64(f->reminder_at, pol->longest_cap));
    return keep;
}

/* A repeat timer matters until its occurrence has surely expired. */
static int64_t repeat_keep_until(const struct policy *pol,
                                 const struct repeat_timer *t) {
    const struct rule *r = policy_rule(pol, t->rule_id);
    int64_t life = r ? max64(r->expires_after, r->message.expires_after) : 0;
    return add64(add64(max64(t->nominal, t->decide_at), life),
                 max64(pol->longest_cap, LATE_OUTCOME_GRACE));
}

void engine_prune(const struct policy *pol, struct user_state *st,
                  int64_t now) {
    for (int i = st->nseen - 1; i >= 0; i--)
        if (now - st->seen[i].decided_at >= pol->dedupe_for)
            user_state_remove_seen(st, i);
    for (int i = st->nfollowups - 1; i >= 0; i--)
        if (followup_keep_until(pol, &st->followups[i]) <= now)
            user_state_remove_followup(st, i);
    if (st->cooldown_until != TIME_NONE && st->cooldown_until <= now)
        st->cooldown_from = st->cooldown_until = TIME_NONE;
}

int64_t engine_keep_until(const struct policy *pol,
                          const struct user_state *st) {
    int64_t keep = 0;
    for (int i = 0; i < st->nrepeats; i++)
        keep = max64(keep, repeat_keep_until(pol, &st->repeats[i]));
    for (int i = 0; i < st->nseen; i++)
        keep = max64(keep, add64(st->seen[i].decided_at, pol->dedupe_for));
    for (int i = 0; i < st->nfollowups; i++)
        keep = max64(keep, followup_keep_until(pol, &st->followups[i]));
    if (st->cooldown_until != TIME_NONE) keep = max64(keep, st->cooldown_until);
    if (st->prefs_at != TIME_NONE)
        keep = max64(keep, add64(st->prefs_at, PREFS_RETENTION));
    return keep;
}
