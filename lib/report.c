/* report.c -- the report accumulator: figures of spec 3.7 counted from
 * output lines and outcome events, as a JSON tree and as text tables.
 *
 * Here: sorted counter maps, the call table (task id -> rule, outcome
 * seen), reading output and event lines, the figures tree, the compare
 * diff, and the text renderer. Not here: reading files, running the
 * engine for --compare (daemon/report_cmd.c), HTML. */
#include "report.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "hash.h"
#include "timeutil.h"

/* ---- Counter maps: key -> count, sorted by key_cmp ---- */

struct count {
    char *key; /* owned */
    long n;
};

struct counts {
    struct count *v;
    int n, cap;
};

static int all_digits(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

/* The one key order of every map: numbers (attempts, hours) by value,
 * anything else bytewise (reasons, channels, outcomes, days, rule ids). */
static int key_cmp(const char *a, const char *b) {
    if (all_digits(a) && all_digits(b)) {
        size_t la = strlen(a), lb = strlen(b);
        if (la != lb) return la < lb ? -1 : 1;
    }
    return strcmp(a, b);
}

/* Index of key in c, or -(insertion point) - 1. */
static int counts_find(const struct counts *c, const char *key) {
    int lo = 0, hi = c->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, r = key_cmp(c->v[mid].key, key);
        if (r == 0) return mid;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -lo - 1;
}

static int counts_add(struct counts *c, const char *key, long by) {
    int i = counts_find(c, key);
    if (i >= 0) {
        c->v[i].n += by;
        return 0;
    }
    i = -i - 1;
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 8;
        struct count *v = realloc(c->v, (size_t)cap * sizeof(*v));
        if (!v) return -1;
        c->v = v;
        c->cap = cap;
    }
    char *k = strdup(key);
    if (!k) return -1;
    memmove(&c->v[i + 1], &c->v[i], (size_t)(c->n - i) * sizeof(*c->v));
    c->v[i] = (struct count){k, by};
    c->n++;
    return 0;
}

static void counts_release(struct counts *c) {
    for (int i = 0; i < c->n; i++) free(c->v[i].key);
    free(c->v);
    memset(c, 0, sizeof(*c));
}

static long counts_get(const struct counts *c, const char *key) {
    int i = counts_find(c, key);
    return i >= 0 ? c->v[i].n : 0;
}

static long counts_sum(const struct counts *c) {
    long s = 0;
    for (int i = 0; i < c->n; i++) s += c->v[i].n;
    return s;
}

/* ---- Id table: 128-bit hashes of ids, open addressing ---- */

/* One call (or one counted outcome event_id). meta packs the rule index
 * + 1 (0: not seen as a call yet), whether the call has its outcome, and
 * cancels seen before their call. */
struct slot {
    uint64_t lo, hi; /* 0, 0: empty */
    uint32_t user;   /* hash of the call's user_id */
    uint32_t meta;
};

#define META_RULE_MASK 0x00FFFFFFu
#define META_OUTCOME (1u << 24)
#define META_CANCEL_SHIFT 25 /* up to 127 cancels waiting for the call */
#define META_CANCEL_MAX 127u
#define REPORT_MAX_RULES ((int)META_RULE_MASK - 1)

struct idtable {
    struct slot *s;
    size_t cap, n; /* cap a power of two, or 0 */
};

struct idkey {
    uint64_t lo, hi;
};

static struct idkey idkey_of(const char *id) {
    struct hash128 hs;
    hash128_init(&hs);
    hash128_str(&hs, id);
    struct idkey k = {(uint64_t)hs.h, (uint64_t)(hs.h >> 64)};
    if (!k.lo && !k.hi) k.lo = 1; /* 0, 0 marks an empty slot */
    return k;
}

static size_t idtable_home(const struct idtable *t, struct idkey k) {
    return (size_t)(((k.lo ^ k.hi) * 0x9E3779B97F4A7C15ull) >> 32) &
           (t->cap - 1);
}

static struct slot *idtable_find(const struct idtable *t, struct idkey k) {
    if (!t->cap) return NULL;
    for (size_t i = idtable_home(t, k);; i = (i + 1) & (t->cap - 1)) {
        struct slot *s = &t->s[i];
        if (!s->lo && !s->hi) return NULL;
        if (s->lo == k.lo && s->hi == k.hi) return s;
    }
}

static int idtable_grow(struct idtable *t) {
    size_t cap = t->cap ? 2 * t->cap : 1024;
    struct idtable nt = {calloc(cap, sizeof(struct slot)), cap, t->n};
    if (!nt.s) return -1;
    for (size_t i = 0; i < t->cap; i++) {
        struct slot *s = &t->s[i];
        if (!s->lo && !s->hi) continue;
        size_t j = idtable_home(&nt, (struct idkey){s->lo, s->hi});
        while (nt.s[j].lo || nt.s[j].hi) j = (j + 1) & (cap - 1);
        nt.s[j] = *s;
    }
    free(t->s);
    *t = nt;
    return 0;
}

/* The slot of k, added (user and meta 0) when missing; NULL on ENOMEM. */
static struct slot *idtable_put(struct idtable *t, struct idkey k) {
    struct slot *s = idtable_find(t, k);
    if (s) return s;
    if ((t->n + 1) * 4 > t->cap * 3 && idtable_grow(t) < 0) return NULL;
    size_t i = idtable_home(t, k);
    while (t->s[i].lo || t->s[i].hi) i = (i + 1) & (t->cap - 1);
    t->s[i] = (struct slot){k.lo, k.hi, 0, 0};
    t->n++;
    return &t->s[i];
}

/* ---- The accumulator ---- */

enum fig_map {
    M_SUPPRESSED = 0, /* by reason */
    M_CANCELLED,      /* by reason */
    M_MOVED,          /* scheduled with a reason, by reason */
    M_CALLS,          /* call tasks by attempt */
    M_SKIPPED,        /* reminders skipped, by the record's "reminder" */
    M_MESSAGES,       /* message follow-ups by channel */
    M_MSG_SUPPRESSED, /* records of kind message: suppressed by reason */
    M_MSG_CANCELLED,  /* ... cancelled by reason */
    M_MSG_MOVED,      /* ... scheduled with a reason, by reason */
    M_OUTCOMES,       /* first outcomes by kind */
    M_DAYS,           /* calls by UTC date of "at" */
    M_HOURS,          /* calls by local hour of "at" */
    M_COUNT
};

struct figures {
    long scheduled, cancels, reminders;
    /* pacing (spec 4.3): call tasks that left after their due_at, and
     * the seconds they waited (at - due_at; 0 for the others) */
    long long waited, wait_total, wait_max;
    long msg_scheduled; /* records of kind message: scheduled, reason null */
    long sat_sum, sat_n;
    struct counts maps[M_COUNT];
};

struct rule_figs {
    char *id; /* owned */
    struct figures f;
};

struct report {
    struct tzdb *tzdb; /* borrowed */
    struct figures total;
    struct rule_figs *rules; /* in order of first sight: slots name them */
    int *order;              /* rule indexes sorted by id */
    int nrules, caprules;
    long duplicates;
    struct counts dead_letters; /* by error */
    struct idtable calls;       /* task_id -> struct slot */
    struct idtable outcome_ids; /* event_ids of the outcomes counted */
    struct report_stats stats;
};

static void figures_release(struct figures *f) {
    for (int i = 0; i < M_COUNT; i++) counts_release(&f->maps[i]);
}

struct report *report_new(struct tzdb *tzdb) {
    struct report *rep = calloc(1, sizeof(*rep));
    if (rep) rep->tzdb = tzdb;
    return rep;
}

void report_free(struct report *rep) {
    if (!rep) return;
    figures_release(&rep->total);
    for (int i = 0; i < rep->nrules; i++) {
        free(rep->rules[i].id);
        figures_release(&rep->rules[i].f);
    }
    free(rep->rules);
    free(rep->order);
    counts_release(&rep->dead_letters);
    free(rep->calls.s);
    free(rep->outcome_ids.s);
    free(rep);
}

const struct report_stats *report_stats(const struct report *rep) {
    return &rep->stats;
}

/* Index of rule id, added when new; -1 on ENOMEM or too many rules. */
static int rule_get(struct report *rep, const char *id) {
    int lo = 0, hi = rep->nrules;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int r = key_cmp(rep->rules[rep->order[mid]].id, id);
        if (r == 0) return rep->order[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (rep->nrules == rep->caprules) {
        int cap = rep->caprules ? 2 * rep->caprules : 16;
        if (cap > REPORT_MAX_RULES) return -1;
        struct rule_figs *rules =
            realloc(rep->rules, (size_t)cap * sizeof(*rules));
        if (!rules) return -1;
        rep->rules = rules;
        int *order = realloc(rep->order, (size_t)cap * sizeof(*order));
        if (!order) return -1;
        rep->order = order;
        rep->caprules = cap;
    }
    char *copy = strdup(id);
    if (!copy) return -1;
    int ri = rep->nrules++;
    memset(&rep->rules[ri], 0, sizeof(rep->rules[ri]));
    rep->rules[ri].id = copy;
    memmove(&rep->order[lo + 1], &rep->order[lo],
            (size_t)(ri - lo) * sizeof(*rep->order));
    rep->order[lo] = ri;
    return ri;
}

/* Count key in map m of the totals and of rule ri. */
static int bump(struct report *rep, int ri, enum fig_map m, const char *key) {
    if (counts_add(&rep->total.maps[m], key, 1) < 0) return -1;
    return counts_add(&rep->rules[ri].f.maps[m], key, 1);
}

/* ---- Output lines ---- */

/* obj.key as a string, or NULL. */
static const char *str_at(json_t *obj, const char *key) {
    return json_string_value(json_object_get(obj, key));
}

static int need_str(json_t *v, const char *key, const char **out,
                    struct fu_err *err) {
    if (!(*out = str_at(v, key)))
        return fu_err_set(err, FU_EINVAL, "field 'value.%s' must be a string",
                          key);
    return 0;
}

/* value.<key> absent or null (*out NULL), or a string. */
static int opt_str(json_t *v, const char *key, const char **out,
                   struct fu_err *err) {
    json_t *x = json_object_get(v, key);
    *out = json_string_value(x);
    if (x && !json_is_null(x) && !*out)
        return fu_err_set(err, FU_EINVAL,
                          "field 'value.%s' must be a string or null", key);
    return 0;
}

static int oom(struct fu_err *err) {
    return fu_err_set(err, FU_ENOMEM, "out of memory");
}

/* A call task: calls by attempt, per day, per local hour; its slot. */
static int add_call(struct report *rep, json_t *v, int64_t at,
                    struct fu_err *err) {
    const char *task_id, *user_id, *rule_id, *zone, *due_s;
    json_t *attempt = json_object_get(v, "attempt");
    int64_t due;
    if (need_str(v, "task_id", &task_id, err) < 0 ||
        need_str(v, "user_id", &user_id, err) < 0 ||
        need_str(v, "rule_id", &rule_id, err) < 0 ||
        need_str(v, "timezone", &zone, err) < 0 ||
        need_str(v, "due_at", &due_s, err) < 0)
        return -1;
    if (time_parse_rfc3339(due_s, &due) < 0)
        return fu_err_set(err, FU_EINVAL,
                          "field 'value.due_at' must be an RFC 3339 time");
    if (!json_is_integer(attempt) || json_integer_value(attempt) < 1)
        return fu_err_set(err, FU_EINVAL,
                          "field 'value.attempt' must be an integer >= 1");
    struct fu_err zerr;
    const struct tz *tz = tzdb_get(rep->tzdb, zone, &zerr);
    if (!tz)
        return fu_err_set(err, FU_EINVAL,
                          "unknown timezone in 'value.timezone'");

    char key[32];
    int64_t y;
    int m, d;
    int ri = rule_get(rep, rule_id);
    if (ri < 0) return oom(err);
    snprintf(key, sizeof(key), "%lld",
             (long long)json_integer_value(attempt));
    if (bump(rep, ri, M_CALLS, key) < 0) return oom(err);
    time_civil_from_days(time_floor_div(at, 86400), &y, &m, &d);
    snprintf(key, sizeof(key), "%04lld-%02d-%02d", (long long)y, m, d);
    if (bump(rep, ri, M_DAYS, key) < 0) return oom(err);
    int64_t local = at + tz_offset(tz, at, NULL);
    int64_t hour = time_floor_div(local, 3600) -
                   time_floor_div(local, 86400) * 24;
    snprintf(key, sizeof(key), "%d", (int)hour);
    if (bump(rep, ri, M_HOURS, key) < 0) return oom(err);
    /* Waiting for the dialer (spec 4.3): "at" is when the call left, so a
     * paced call left at - due_at seconds late. A call that left before
     * its due_at (clock skew in a dump) waited 0. Both instants are
     * bounded by RFC 3339's four-digit years: no overflow. */
    if (at > due) {
        long long w = (long long)(at - due);
        struct figures *fs[2] = {&rep->total, &rep->rules[ri].f};
        for (int i = 0; i < 2; i++) {
            fs[i]->waited++;
            fs[i]->wait_total += w;
            if (w > fs[i]->wait_max) fs[i]->wait_max = w;
        }
    }

    struct slot *s = idtable_put(&rep->calls, idkey_of(task_id));
    if (!s) return oom(err);
    long waiting = (long)(s->meta >> META_CANCEL_SHIFT);
    s->user = (uint32_t)hash64_str(user_id);
    s->meta = (s->meta & META_OUTCOME) | (uint32_t)(ri + 1);
    rep->rules[ri].f.cancels += waiting; /* cancels seen before the call */
    return 0;
}

/* A cancel counts for the rule of the call it names; before that call is
 * seen it waits in the call's slot. */
static int add_cancel(struct report *rep, json_t *v, struct fu_err *err) {
    const char *task_id;
    if (need_str(v, "task_id", &task_id, err) < 0) return -1;
    struct slot *s = idtable_put(&rep->calls, idkey_of(task_id));
    if (!s) return oom(err);
    rep->total.cancels++;
    uint32_t ri = s->meta & META_RULE_MASK;
    uint32_t waiting = s->meta >> META_CANCEL_SHIFT;
    if (ri)
        rep->rules[ri - 1].f.cancels++;
    else if (waiting < META_CANCEL_MAX)
        s->meta += 1u << META_CANCEL_SHIFT;
    return 0;
}

static int add_task(struct report *rep, json_t *v, int64_t at,
                    struct fu_err *err) {
    const char *action;
    if (need_str(v, "action", &action, err) < 0) return -1;
    if (!strcmp(action, "call")) return add_call(rep, v, at, err);
    if (!strcmp(action, "cancel")) return add_cancel(rep, v, err);
    return fu_err_set(err, FU_EINVAL, "unknown action in 'value.action'");
}

static int add_reminder(struct report *rep, json_t *v, struct fu_err *err) {
    const char *rule_id;
    if (need_str(v, "rule_id", &rule_id, err) < 0) return -1;
    int ri = rule_get(rep, rule_id);
    if (ri < 0) return oom(err);
    rep->total.reminders++;
    rep->rules[ri].f.reminders++;
    return 0;
}

static int add_message(struct report *rep, json_t *v, struct fu_err *err) {
    const char *rule_id, *channel;
    if (need_str(v, "rule_id", &rule_id, err) < 0 ||
        need_str(v, "channel", &channel, err) < 0)
        return -1;
    int ri = rule_get(rep, rule_id);
    if (ri < 0 || bump(rep, ri, M_MESSAGES, channel) < 0) return oom(err);
    return 0;
}

static int add_decision(struct report *rep, json_t *v, struct fu_err *err) {
    const char *decision, *rule_id, *reason, *reminder = NULL, *kind;
    if (need_str(v, "decision", &decision, err) < 0) return -1;
    if (!strcmp(decision, "duplicate")) {
        rep->duplicates++;
        return 0;
    }
    int sched = !strcmp(decision, "scheduled");
    if (!sched && strcmp(decision, "suppressed") && strcmp(decision, "cancelled"))
        return fu_err_set(err, FU_EINVAL,
                          "unknown decision in 'value.decision'");
    if (need_str(v, "rule_id", &rule_id, err) < 0 ||
        opt_str(v, "kind", &kind, err) < 0)
        return -1;
    /* spec 4.2: records of message follow-ups carry "kind": "message";
     * call records none or "call" */
    int msg = kind && !strcmp(kind, "message");
    if (kind && !msg && strcmp(kind, "call"))
        return fu_err_set(err, FU_EINVAL, "unknown kind in 'value.kind'");
    if (sched) {
        if (opt_str(v, "reason", &reason, err) < 0 ||
            opt_str(v, "reminder", &reminder, err) < 0)
            return -1;
    } else if (need_str(v, "reason", &reason, err) < 0) {
        return -1;
    }

    int ri = rule_get(rep, rule_id);
    if (ri < 0) return oom(err);
    enum fig_map m = sched ? M_MOVED
                   : !strcmp(decision, "suppressed") ? M_SUPPRESSED
                                                     : M_CANCELLED;
    if (sched && !reason) {
        rep->total.scheduled++;
        rep->rules[ri].f.scheduled++;
        if (msg) {
            rep->total.msg_scheduled++;
            rep->rules[ri].f.msg_scheduled++;
        }
    } else if (bump(rep, ri, m, reason) < 0) {
        return oom(err);
    } else if (msg) {
        enum fig_map mm = m == M_MOVED        ? M_MSG_MOVED
                        : m == M_SUPPRESSED ? M_MSG_SUPPRESSED
                                            : M_MSG_CANCELLED;
        if (bump(rep, ri, mm, reason) < 0) return oom(err);
    }
    if (reminder && strcmp(reminder, "scheduled") &&
        bump(rep, ri, M_SKIPPED, reminder) < 0)
        return oom(err);
    return 0;
}

static int add_dead_letter(struct report *rep, json_t *v, struct fu_err *err) {
    const char *error;
    if (need_str(v, "error", &error, err) < 0) return -1;
    return counts_add(&rep->dead_letters, error, 1) < 0 ? oom(err) : 0;
}

static int blank(const char *line, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' &&
            line[i] != '\n')
            return 0;
    return 1;
}

static int add_output(struct report *rep, json_t *o, struct fu_err *err) {
    const char *topic = str_at(o, "topic"), *at_s = str_at(o, "at");
    json_t *v = json_object_get(o, "value");
    int64_t at;
    if (!json_is_object(o))
        return fu_err_set(err, FU_EINVAL, "line must be a JSON object");
    if (!topic)
        return fu_err_set(err, FU_EINVAL, "field 'topic' must be a string");
    if (!at_s || time_parse_rfc3339(at_s, &at) < 0)
        return fu_err_set(err, FU_EINVAL,
                          "field 'at' must be an RFC 3339 time");
    if (!json_is_object(v))
        return fu_err_set(err, FU_EINVAL, "field 'value' must be an object");
    if (!strcmp(topic, "tasks")) return add_task(rep, v, at, err);
    if (!strcmp(topic, "reminders")) return add_reminder(rep, v, err);
    if (!strcmp(topic, "messages")) return add_message(rep, v, err);
    if (!strcmp(topic, "decisions")) return add_decision(rep, v, err);
    if (!strcmp(topic, "dead_letter")) return add_dead_letter(rep, v, err);
    return fu_err_set(err, FU_EINVAL, "unknown topic in 'topic'");
}

int report_add_output(struct report *rep, const char *line, size_t len,
                      struct fu_err *err) {
    struct fu_err local;
    json_error_t jerr;
    if (!err) err = &local;
    rep->stats.lines++;
    if (blank(line, len)) return 0;
    json_t *o = json_loadb(line, len, 0, &jerr);
    int rc = o ? add_output(rep, o, err)
               : fu_err_set(err, FU_EINVAL, "invalid JSON at column %d",
                            jerr.column); /* jerr.text may quote the line */
    json_decref(o);
    if (rc < 0 && err->code == FU_EINVAL) rep->stats.malformed++;
    return rc;
}

/* ---- Outcome events ---- */

/* ev is the first outcome of the call in slot s (of rep->calls). */
static int count_outcome(struct report *rep, const struct event *ev,
                         struct slot *s, struct fu_err *err) {
    int ri = (int)(s->meta & META_RULE_MASK) - 1;
    struct figures *rf = &rep->rules[ri].f;
    if (!idtable_put(&rep->outcome_ids, idkey_of(ev->event_id)) ||
        bump(rep, ri, M_OUTCOMES, outcome_name(ev->outcome)) < 0)
        return oom(err);
    s->meta |= META_OUTCOME;
    rep->stats.outcomes++;
    if (ev->satisfaction > 0) {
        rep->total.sat_sum += ev->satisfaction;
        rep->total.sat_n++;
        rf->sat_sum += ev->satisfaction;
        rf->sat_n++;
    }
    return 0;
}

int report_add_event(struct report *rep, const char *line, size_t len,
                     struct fu_err *err) {
    struct event ev;
    struct fu_err perr;
    int rc = 0;
    rep->stats.events++;
    if (blank(line, len)) return 0;
    if (event_parse(line, len, rep->tzdb, &ev, &perr) < 0) {
        if (perr.code == FU_ENOMEM) return oom(err);
        rep->stats.events_unusable++;
        return 0;
    }
    if (ev.kind == EV_OUTCOME) {
        struct slot *s = idtable_find(&rep->calls, idkey_of(ev.task_id));
        if (s && (s->meta & META_RULE_MASK) && !(s->meta & META_OUTCOME) &&
            s->user == (uint32_t)hash64_str(ev.user_id) &&
            !idtable_find(&rep->outcome_ids, idkey_of(ev.event_id)))
            rc = count_outcome(rep, &ev, s, err);
        else
            rep->stats.outcomes_ignored++;
    }
    event_release(&ev);
    return rc;
}

/* ---- The figures tree ---- */

static void put(json_t *obj, const char *key, json_t *v, int *ok) {
    if (json_object_set_new(obj, key, v) < 0) *ok = 0;
}

static double round4(double x) {
    return round(x * 10000.0) / 10000.0;
}

/* num / den rounded to 4 decimals, or null when den is 0. */
static json_t *rate(long num, long den) {
    return den ? json_real(round4((double)num / (double)den)) : json_null();
}

static json_t *counts_json(const struct counts *c) {
    json_t *o = json_object();
    int ok = 1;
    for (int i = 0; i < c->n; i++)
        put(o, c->v[i].key, json_integer(c->v[i].n), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* FIGURES of spec 3.7, keys in the order written there, with the
 * message follow-up figures (docs/report.md) after "messages". */
static json_t *figures_json(const struct figures *f) {
    const struct counts *mp = f->maps;
    long calls = counts_sum(&mp[M_CALLS]);
    long answered = counts_get(&mp[M_OUTCOMES], "answered");
    json_t *o = json_object(), *sat = json_object();
    int ok = 1;
    put(o, "scheduled", json_integer(f->scheduled), &ok);
    put(o, "suppressed", counts_json(&mp[M_SUPPRESSED]), &ok);
    put(o, "cancelled", counts_json(&mp[M_CANCELLED]), &ok);
    put(o, "moved", counts_json(&mp[M_MOVED]), &ok);
    put(o, "calls", counts_json(&mp[M_CALLS]), &ok);
    put(o, "calls_waited", json_integer(f->waited), &ok);
    put(o, "wait_seconds_total", json_integer(f->wait_total), &ok);
    put(o, "wait_seconds_max", json_integer(f->wait_max), &ok);
    put(o, "cancels", json_integer(f->cancels), &ok);
    put(o, "reminders", json_integer(f->reminders), &ok);
    put(o, "reminders_skipped", counts_json(&mp[M_SKIPPED]), &ok);
    put(o, "messages", counts_json(&mp[M_MESSAGES]), &ok);
    put(o, "messages_decided",
        json_integer(f->msg_scheduled + counts_sum(&mp[M_MSG_SUPPRESSED])),
        &ok);
    put(o, "messages_scheduled", json_integer(f->msg_scheduled), &ok);
    put(o, "messages_suppressed", counts_json(&mp[M_MSG_SUPPRESSED]), &ok);
    put(o, "messages_cancelled", counts_json(&mp[M_MSG_CANCELLED]), &ok);
    put(o, "messages_moved", counts_json(&mp[M_MSG_MOVED]), &ok);
    put(o, "outcomes", counts_json(&mp[M_OUTCOMES]), &ok);
    put(o, "answer_rate", rate(answered, counts_sum(&mp[M_OUTCOMES])), &ok);
    put(o, "attempts_per_answer", rate(calls, answered), &ok);
    put(sat, "mean", rate(f->sat_sum, f->sat_n), &ok);
    put(sat, "count", json_integer(f->sat_n), &ok);
    put(o, "satisfaction", sat, &ok);
    put(o, "calls_per_day", counts_json(&mp[M_DAYS]), &ok);
    put(o, "calls_per_local_hour", counts_json(&mp[M_HOURS]), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *report_json(const struct report *rep) {
    json_t *o = json_object(), *rules = json_object();
    int ok = 1;
    put(o, "schema", json_string("followupd.report/v1"), &ok);
    put(o, "total", figures_json(&rep->total), &ok);
    for (int i = 0; i < rep->nrules; i++) {
        const struct rule_figs *r = &rep->rules[rep->order[i]];
        put(rules, r->id, figures_json(&r->f), &ok);
    }
    put(o, "rules", rules, &ok);
    put(o, "duplicates", json_integer(rep->duplicates), &ok);
    put(o, "dead_letters", counts_json(&rep->dead_letters), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- Compare ---- */

static int key_cmp_p(const void *a, const void *b) {
    return key_cmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of objects a and b (either may be NULL), each once, sorted by
 * key_cmp; borrowed from the trees. *out is malloc'd (free it); returns
 * the count, or -1 on ENOMEM. */
static int union_keys(json_t *a, json_t *b, const char ***out) {
    size_t n = json_object_size(a) + json_object_size(b), k = 0;
    const char **keys = malloc((n ? n : 1) * sizeof(*keys));
    const char *key;
    json_t *v;
    *out = keys;
    if (!keys) return -1;
    json_object_foreach(a, key, v) keys[k++] = key;
    json_object_foreach(b, key, v) keys[k++] = key;
    qsort(keys, k, sizeof(*keys), key_cmp_p);
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (!m || strcmp(keys[m - 1], keys[i])) keys[m++] = keys[i];
    return (int)m;
}

static json_t *diff_counts(json_t *o, json_t *n) {
    const char **keys;
    int nk = union_keys(o, n, &keys), ok = nk >= 0;
    json_t *d = json_object();
    for (int i = 0; i < nk; i++) {
        json_int_t x = json_integer_value(json_object_get(n, keys[i])) -
                       json_integer_value(json_object_get(o, keys[i]));
        if (x) put(d, keys[i], json_integer(x), &ok);
    }
    free(keys);
    if (!ok) {
        json_decref(d);
        return NULL;
    }
    return d;
}

/* new - old of every count of FIGURES (or of satisfaction) that differs,
 * in the order of the keys of o; rates are left out. */
static json_t *diff_figures(json_t *o, json_t *n) {
    json_t *d = json_object(), *ov;
    const char *key;
    int ok = 1;
    json_object_foreach(o, key, ov) {
        json_t *nv = json_object_get(n, key), *dv = NULL;
        if (json_is_integer(ov)) {
            json_int_t x = json_integer_value(nv) - json_integer_value(ov);
            if (x) put(d, key, json_integer(x), &ok);
        } else if (json_is_object(ov)) { /* rates (real, null) left out */
            dv = strcmp(key, "satisfaction") ? diff_counts(ov, nv)
                                             : diff_figures(ov, nv);
            if (!dv || json_object_size(dv))
                put(d, key, dv, &ok);
            else
                json_decref(dv);
        }
    }
    if (!ok) {
        json_decref(d);
        return NULL;
    }
    return d;
}

json_t *report_compare_json(const struct report *old_rep,
                            const struct report *new_rep) {
    json_t *o = json_object(), *a = report_json(old_rep),
           *b = report_json(new_rep);
    int ok = a && b;
    json_t *d = ok ? diff_figures(json_object_get(a, "total"),
                                  json_object_get(b, "total"))
                   : NULL;
    put(o, "schema", json_string("followupd.report-compare/v1"), &ok);
    put(o, "old", a, &ok);
    put(o, "new", b, &ok);
    put(o, "diff", d, &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- Text tables ---- */

/* Cells row by row, ncols a row; the first row is the header. The first
 * column is left-aligned, the others right-aligned. */
struct table {
    int ncols;
    size_t n, cap;
    char **cells;
    int oom;
};

static void cell(struct table *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void cell(struct table *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *text = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (!text) {
        t->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(text, (size_t)len + 1, fmt, ap);
    va_end(ap);
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **cells = realloc(t->cells, cap * sizeof(*cells));
        if (!cells) {
            free(text);
            t->oom = 1;
            return;
        }
        t->cells = cells;
        t->cap = cap;
    }
    t->cells[t->n++] = text;
}

static void table_release(struct table *t) {
    for (size_t i = 0; i < t->n; i++) free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

/* Print the table (a blank line after it) and release it. */
static int table_print(FILE *f, struct table *t) {
    size_t *w = calloc((size_t)t->ncols, sizeof(*w));
    int ok = w && !t->oom && t->n % (size_t)t->ncols == 0;
    for (size_t i = 0; ok && i < t->n; i++) {
        size_t len = strlen(t->cells[i]), c = i % (size_t)t->ncols;
        if (len > w[c]) w[c] = len;
    }
    for (size_t row = 0; ok && row < t->n; row += (size_t)t->ncols) {
        char **cells = &t->cells[row];
        int end = t->ncols; /* no trailing blanks: stop at the last cell */
        while (end > 1 && !cells[end - 1][0]) end--;
        for (int c = 0; ok && c < end; c++)
            ok = (c == 0 ? fprintf(f, "%-*s", end > 1 ? (int)w[0] : 0, cells[0])
                         : fprintf(f, "  %*s", (int)w[c], cells[c])) >= 0;
        if (ok) ok = fputc('\n', f) != EOF;
    }
    if (ok) ok = fputc('\n', f) != EOF;
    free(w);
    table_release(t);
    return ok ? 0 : -1;
}

static long sum_obj(json_t *o) {
    const char *key;
    json_t *v;
    long s = 0;
    json_object_foreach(o, key, v) s += (long)json_integer_value(v);
    return s;
}

/* A rate or mean cell: 4 decimals, "-" for null. */
static void rate_cell(struct table *t, json_t *v) {
    if (json_is_number(v))
        cell(t, "%.4f", json_number_value(v));
    else
        cell(t, "-");
}

static void count_cell(struct table *t, json_t *v) {
    cell(t, "%lld", (long long)json_integer_value(v));
}

/* The summary row of one FIGURES object. */
static void summary_row(struct table *t, const char *name, json_t *fig) {
    static const char *const sums[] = {"suppressed", "cancelled", "moved",
                                       "calls"};
    json_t *sat = json_object_get(fig, "satisfaction");
    cell(t, "%s", name);
    count_cell(t, json_object_get(fig, "scheduled"));
    for (int i = 0; i < 4; i++)
        cell(t, "%ld", sum_obj(json_object_get(fig, sums[i])));
    count_cell(t, json_object_get(fig, "cancels"));
    count_cell(t, json_object_get(fig, "reminders"));
    cell(t, "%ld", sum_obj(json_object_get(fig, "reminders_skipped")));
    cell(t, "%ld", sum_obj(json_object_get(fig, "messages")));
    cell(t, "%ld", sum_obj(json_object_get(fig, "outcomes")));
    rate_cell(t, json_object_get(fig, "answer_rate"));
    rate_cell(t, json_object_get(fig, "attempts_per_answer"));
    rate_cell(t, json_object_get(sat, "mean"));
    count_cell(t, json_object_get(sat, "count"));
}

static const char *const summary_head[] = {
    "rule",    "scheduled", "suppressed", "cancelled",  "moved",
    "calls",   "cancels",   "reminders",  "skipped",    "messages",
    "outcomes", "answer_rate", "per_answer", "satisfaction", "rated"};

/* The maps of FIGURES and their table titles, in the order printed. */
static const char *const section_keys[][2] = {
    {"suppressed", "suppressed by reason"},
    {"cancelled", "cancelled by reason"},
    {"moved", "moved by reason"},
    {"calls", "calls by attempt"},
    {"reminders_skipped", "reminders skipped"},
    {"messages", "messages by channel"},
    {"messages_suppressed", "messages suppressed by reason"},
    {"messages_cancelled", "messages cancelled by reason"},
    {"messages_moved", "messages moved by reason"},
    {"outcomes", "outcomes"},
    {"calls_per_day", "calls per day (UTC)"},
    {"calls_per_local_hour", "calls per local hour"}};

#define NSECTIONS (sizeof(section_keys) / sizeof(section_keys[0]))

/* One map of FIGURES: a row per key of the totals, a column for the
 * totals and one for each rule that has a count there. Nothing when the
 * totals have none. */
static int print_section(FILE *f, json_t *total, json_t *rules,
                         const char *key, const char *title) {
    json_t *tm = json_object_get(total, key), *fig;
    const char *id, *k;
    json_t *v;
    struct table t = {0};
    if (!json_object_size(tm)) return 0;
    t.ncols = 2;
    json_object_foreach(rules, id, fig)
        t.ncols += json_object_size(json_object_get(fig, key)) > 0;
    cell(&t, "%s", title);
    cell(&t, "total");
    json_object_foreach(rules, id, fig)
        if (json_object_size(json_object_get(fig, key))) cell(&t, "%s", id);
    json_object_foreach(tm, k, v) {
        cell(&t, "%s", k);
        count_cell(&t, v);
        json_object_foreach(rules, id, fig) {
            json_t *rm = json_object_get(fig, key);
            if (json_object_size(rm)) count_cell(&t, json_object_get(rm, k));
        }
    }
    return table_print(f, &t);
}

static long int_at(json_t *obj, const char *key) {
    return (long)json_integer_value(json_object_get(obj, key));
}

#define NMSG_FIGS REPORT_MESSAGE_FIGURES
int report_message_figures(json_t *fig, long out[REPORT_MESSAGE_FIGURES]) {
    int any = 0;
    out[0] = int_at(fig, "messages_decided");
    out[1] = int_at(fig, "messages_scheduled");
    out[2] = sum_obj(json_object_get(fig, "messages"));
    out[3] = sum_obj(json_object_get(fig, "messages_suppressed"));
    out[4] = sum_obj(json_object_get(fig, "messages_cancelled"));
    out[5] = sum_obj(json_object_get(fig, "messages_moved"));
    for (int i = 0; i < REPORT_MESSAGE_FIGURES; i++) any |= out[i] != 0;
    return any;
}

static void message_figs(json_t *fig, long out[NMSG_FIGS]) {
    report_message_figures(fig, out);
}

static int any_message(json_t *fig) {
    long n[NMSG_FIGS];
    return report_message_figures(fig, n);
}

static void message_row(struct table *t, const char *name, json_t *fig) {
    long n[NMSG_FIGS];
    message_figs(fig, n);
    cell(t, "%s", name);
    for (int i = 0; i < NMSG_FIGS; i++) cell(t, "%ld", n[i]);
}

/* Message follow-ups apart from calls (spec 4.2, decision records with
 * "kind": "message"): a row for the total and one per rule that has any;
 * nothing when no line is about a message. */
static int print_messages(FILE *f, json_t *total, json_t *rules) {
    static const char *const head[] = {"message follow-ups", "decided",
                                       "scheduled", "sent", "suppressed",
                                       "cancelled", "moved"};
    const char *id;
    json_t *fig;
    struct table t = {.ncols = NMSG_FIGS + 1};
    if (!any_message(total)) return 0;
    for (int i = 0; i < t.ncols; i++) cell(&t, "%s", head[i]);
    message_row(&t, "total", total);
    json_object_foreach(rules, id, fig)
        if (any_message(fig)) message_row(&t, id, fig);
    return table_print(f, &t);
}

/* ---- Waiting for the dialer (pacing, spec 4.3) ---- */

static long long ll_at(json_t *obj, const char *key) {
    return (long long)json_integer_value(json_object_get(obj, key));
}

static long paced_of(json_t *fig) {
    return int_at(json_object_get(fig, "moved"), "paced");
}

/* Whether any call of fig waited for the dialer or was moved by pacing:
 * never under a policy without defaults.pacing. */
static int any_wait(json_t *fig) {
    return ll_at(fig, "calls_waited") > 0 || paced_of(fig) > 0;
}

/* The mean wait of fig's calls (wait_seconds_total / calls, every call
 * counted); -1 when it has no call. */
static double mean_wait(json_t *fig) {
    long calls = sum_obj(json_object_get(fig, "calls"));
    return calls ? (double)ll_at(fig, "wait_seconds_total") / (double)calls
                 : -1.0;
}

static void seconds_cell(struct table *t, double s) {
    if (s < 0)
        cell(t, "-");
    else
        cell(t, "%.1f", s);
}

static void wait_row(struct table *t, const char *name, json_t *fig) {
    cell(t, "%s", name);
    cell(t, "%ld", sum_obj(json_object_get(fig, "calls")));
    cell(t, "%lld", ll_at(fig, "calls_waited"));
    cell(t, "%lld", ll_at(fig, "wait_seconds_total"));
    seconds_cell(t, mean_wait(fig));
    cell(t, "%lld", ll_at(fig, "wait_seconds_max"));
    cell(t, "%ld", paced_of(fig));
}

/* The table "waiting for the dialer (pacing)": a row for the total, then
 * one per rule that has a call or a pacing move; nothing when no call
 * waited and none was moved by pacing (so the report of a policy without
 * pacing is what it always was). */
static int print_waiting(FILE *f, json_t *total, json_t *rules) {
    static const char *const head[] = {"waiting for the dialer (pacing)",
                                       "calls", "waited", "wait_s",
                                       "mean_s", "max_s", "paced"};
    const char *id;
    json_t *fig;
    struct table t = {.ncols = (int)(sizeof(head) / sizeof(*head))};
    if (!any_wait(total)) return 0;
    for (int i = 0; i < t.ncols; i++) cell(&t, "%s", head[i]);
    wait_row(&t, "total", total);
    json_object_foreach(rules, id, fig)
        if (sum_obj(json_object_get(fig, "calls")) || paced_of(fig))
            wait_row(&t, id, fig);
    return table_print(f, &t);
}

static int print_report(FILE *f, json_t *doc) {
    json_t *total = json_object_get(doc, "total"),
           *rules = json_object_get(doc, "rules"), *fig, *v;
    const char *id;
    struct table t = {.ncols = (int)(sizeof(summary_head) /
                                     sizeof(*summary_head))};
    int rc = 0;
    for (int i = 0; i < t.ncols; i++) cell(&t, "%s", summary_head[i]);
    summary_row(&t, "total", total);
    json_object_foreach(rules, id, fig) summary_row(&t, id, fig);
    rc |= table_print(f, &t);
    rc |= print_messages(f, total, rules);
    for (size_t i = 0; i < NSECTIONS; i++) {
        rc |= print_section(f, total, rules, section_keys[i][0],
                            section_keys[i][1]);
        if (!strcmp(section_keys[i][0], "calls"))
            rc |= print_waiting(f, total, rules);
    }
    t = (struct table){.ncols = 2};
    cell(&t, "duplicates");
    count_cell(&t, json_object_get(doc, "duplicates"));
    json_object_foreach(json_object_get(doc, "dead_letters"), id, v) {
        cell(&t, "dead_letters %s", id);
        count_cell(&t, v);
    }
    rc |= table_print(f, &t);
    return rc ? -1 : 0;
}

/* An integer figure, or the sum of a map figure. */
static long count_of(json_t *v) {
    return json_is_object(v) ? sum_obj(v) : (long)json_integer_value(v);
}

/* The old, new and diff cells of a count. */
static void diff_cells(struct table *t, long a, long b) {
    cell(t, "%ld", a);
    cell(t, "%ld", b);
    if (b == a)
        cell(t, "0");
    else
        cell(t, "%+ld", b - a);
}

/* Cells up to the end of the row: the compare table of the totals has a
 * fifth column, relative, when a policy paced; rows without one leave it
 * blank (and table_print drops trailing blanks). */
static void row_done(struct table *t) {
    while (t->n % (size_t)t->ncols) cell(t, "%s", "");
}

/* (b - a) / a as a signed percentage, "-" when a is 0. */
static void rel_cell(struct table *t, double a, double b) {
    if (a <= 0)
        cell(t, "-");
    else
        cell(t, "%+.1f%%", 100.0 * (b - a) / a);
}

/* An old | new | diff row of the count at key of two objects; its label
 * is name, or "name key" when key is a map key. With rel, also the
 * relative change (a fifth column). */
static void diff_row_rel(struct table *t, const char *name, const char *key,
                         json_t *o, json_t *n, int rel) {
    long a = int_at(o, key ? key : name), b = int_at(n, key ? key : name);
    if (key)
        cell(t, "%s %s", name, key);
    else
        cell(t, "%s", name);
    diff_cells(t, a, b);
    if (rel) rel_cell(t, (double)a, (double)b);
    row_done(t);
}

static void diff_row(struct table *t, const char *name, const char *key,
                     json_t *o, json_t *n) {
    diff_row_rel(t, name, key, o, n, 0);
}

/* A row per key of map figure name of two objects (one row of zeros when
 * both are empty); with waits, the relative change of "moved paced". */
static int diff_map_rows(struct table *t, const char *name, json_t *o,
                         json_t *n, int waits) {
    const char **keys;
    json_t *om = json_object_get(o, name), *nm = json_object_get(n, name);
    int nk = union_keys(om, nm, &keys);
    if (nk == 0) diff_row(t, name, NULL, o, n);
    for (int i = 0; i < nk; i++)
        diff_row_rel(t, name, keys[i], om, nm,
                     waits && !strcmp(name, "moved") &&
                         !strcmp(keys[i], "paced"));
    free(keys);
    return nk < 0 ? -1 : 0;
}

static int is_wait_key(const char *key) {
    return !strcmp(key, "calls_waited") ||
           !strcmp(key, "wait_seconds_total") ||
           !strcmp(key, "wait_seconds_max");
}

/* The mean wait of both (wait_seconds_total / calls; not a key of the
 * JSON): old, new, their difference and the relative change. */
static void mean_wait_row(struct table *t, json_t *o, json_t *n) {
    double a = mean_wait(o), b = mean_wait(n);
    cell(t, "wait_seconds_mean");
    seconds_cell(t, a);
    seconds_cell(t, b);
    if (a < 0 || b < 0)
        cell(t, "%s", "");
    else if (a == b)
        cell(t, "0");
    else
        cell(t, "%+.1f", b - a);
    if (a < 0 || b < 0)
        cell(t, "%s", "");
    else
        rel_cell(t, a, b);
    row_done(t);
}

/* Every figure of two FIGURES objects, one row each (a row per key of a
 * map); rates without a diff. The figures of waiting for the dialer only
 * when waits (a policy paced), with their relative change and the mean
 * wait after them. */
static int compare_rows(struct table *t, json_t *o, json_t *n, int waits) {
    json_t *ov;
    const char *key;
    int rc = 0;
    json_object_foreach(o, key, ov) {
        json_t *nv = json_object_get(n, key);
        if (is_wait_key(key)) {
            if (!waits) continue;
            diff_row_rel(t, key, NULL, o, n, 1);
            if (!strcmp(key, "wait_seconds_max")) mean_wait_row(t, o, n);
        } else if (json_is_integer(ov)) {
            diff_row(t, key, NULL, o, n);
        } else if (!strcmp(key, "satisfaction")) {
            cell(t, "satisfaction mean");
            rate_cell(t, json_object_get(ov, "mean"));
            rate_cell(t, json_object_get(nv, "mean"));
            row_done(t);
            diff_row(t, key, "count", ov, nv);
        } else if (json_is_object(ov)) {
            rc |= diff_map_rows(t, key, o, n, waits);
        } else {
            cell(t, "%s", key);
            rate_cell(t, ov);
            rate_cell(t, nv);
            row_done(t);
        }
    }
    return rc;
}

static int print_compare(FILE *f, json_t *doc) {
    static const char *const per_rule[] = {"scheduled", "suppressed", "calls",
                                           "messages", "calls_waited",
                                           "wait_seconds_total"};
    static const char *const per_head[] = {"scheduled", "suppressed", "calls",
                                           "messages", "waited", "wait_s"};
    json_t *a = json_object_get(doc, "old"), *b = json_object_get(doc, "new");
    json_t *ra = json_object_get(a, "rules"), *rb = json_object_get(b, "rules");
    json_t *ta = json_object_get(a, "total"), *tb = json_object_get(b, "total");
    int waits = any_wait(ta) || any_wait(tb);
    /* the wait columns by rule only when a policy paced */
    const int nper = (int)(sizeof(per_rule) / sizeof(per_rule[0])) -
                     (waits ? 0 : 2);
    struct table t = {.ncols = waits ? 5 : 4};
    const char **keys;
    int rc = 0;

    cell(&t, "total");
    cell(&t, "old");
    cell(&t, "new");
    cell(&t, "diff");
    if (waits) cell(&t, "relative");
    rc |= compare_rows(&t, ta, tb, waits);
    diff_row(&t, "duplicates", NULL, a, b);
    rc |= diff_map_rows(&t, "dead_letters", a, b, 0);
    rc |= table_print(f, &t);

    t = (struct table){.ncols = 1 + 3 * nper};
    cell(&t, "rule");
    for (int j = 0; j < nper; j++) {
        cell(&t, "%s old", per_head[j]);
        cell(&t, "new");
        cell(&t, "diff");
    }
    int nk = union_keys(ra, rb, &keys);
    for (int i = 0; i < nk; i++) {
        json_t *fa = json_object_get(ra, keys[i]);
        json_t *fb = json_object_get(rb, keys[i]);
        cell(&t, "%s", keys[i]);
        for (int j = 0; j < nper; j++)
            diff_cells(&t, count_of(json_object_get(fa, per_rule[j])),
                       count_of(json_object_get(fb, per_rule[j])));
    }
    free(keys);
    rc |= table_print(f, &t);
    return rc || nk < 0 ? -1 : 0;
}

int report_print_text(FILE *f, json_t *doc) {
    const char *schema = str_at(doc, "schema");
    if (schema && !strcmp(schema, "followupd.report-compare/v1"))
        return print_compare(f, doc);
    return print_report(f, doc);
}
