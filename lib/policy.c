/* policy.c -- load and validate the rule author's policy YAML (spec 3.4).
 *
 * The whole file is read through yamlutil, checked key by key against
 * tables of allowed keys, and turned into an immutable struct policy:
 * durations in seconds, windows built, conditions compiled, rule
 * references resolved to indexes. Every problem is reported (not only the
 * first) with file:line:col and what to write instead; the report is
 * sorted by position. Nothing here decides anything (engine.c does). */
#include "policy.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "hash.h"
#include "timeutil.h"
#include "yamlutil.h"

#define POLICY_MAX_COND_DEPTH 32
/* Counts far above any real policy; they bound the work of checking and
 * of deciding each event, which loops over rules and caps. */
#define POLICY_MAX_RULES 1000
#define POLICY_MAX_CAPS 100
#define POLICY_MAX_BACKOFF 100        /* max_attempts is at most 100 */
#define POLICY_MAX_PATH 255           /* a context or priority_from path */

/* ---- Key tables ---- */

static const char *const top_keys[] = {"version", "defaults", "caps",
                                       "outcomes", "rules", NULL};
static const char *const defaults_keys[] = {
    "timezone", "call_window", "message_window", "dedupe_for",
    "require_consent", "pacing", NULL};
static const char *const pacing_keys[] = {"calls_per_minute", NULL};
static const char *const window_keys[] = {"days", "hours", "exclude_dates",
                                          NULL};
static const char *const cap_keys[] = {"id", "count", "limit", "per", NULL};
static const char *const outcomes_keys[] = {
    "retry_on", "opt_out_on", "max_attempts", "backoff",
    "cooldown_after_answered", NULL};
static const char *const rule_keys[] = {
    "id",  "description", "on",     "when",       "callback", "context",
    "reminder", "cap",    "on_cap", "supersedes", "repeat",
    "ignore_cooldown", "message", NULL};
static const char *const callback_keys[] = {
    "delay", "expires_after", "priority", "priority_from", "script",
    "context", NULL};
static const char *const reminder_keys[] = {"channel", "lead", "template",
                                            NULL};
static const char *const message_keys[] = {"channel", "template", "delay",
                                           "expires_after", "context", NULL};
static const char *const rule_cap_keys[] = {"limit", "per", NULL};
static const char *const repeat_keys[] = {"every", "times", NULL};
static const char *const group_keys[] = {"all", "any", "not", NULL};
static const char *const count_names[] = {"callbacks", "reminders",
                                          "messages", NULL};

/* In enum outcome order (event.h). */
static const char *const outcome_names[] = {
    [OUTCOME_ANSWERED] = "answered", [OUTCOME_NO_ANSWER] = "no_answer",
    [OUTCOME_BUSY] = "busy",         [OUTCOME_FAILED] = "failed",
    [OUTCOME_REFUSED] = "refused",   [OUTCOME_OPT_OUT] = "opt_out",
    [OUTCOME_WRONG_NUMBER] = "wrong_number", NULL};

/* Built-in types rules cannot list in `on` (callback.outcome they may:
 * spec 4.1). */
static const char *const builtin_types[] = {"user.preferences",
                                            "callback.reschedule", NULL};

/* ---- Loader state ---- */

struct ploader {
    struct yu_doc *doc;
    struct fu_diag *diag;
    struct tzdb *tzdb;
    struct policy *pol;
    struct yu_node **supersedes; /* per rule: the supersedes node or NULL */
    struct yu_node **rule_id_nodes; /* per rule: the id node or NULL */
};

#define ERR(n, ...) yu_error(pl->doc, (n), pl->diag, __VA_ARGS__)

/* ---- Small helpers ---- */

/* An id of letters, digits, '_', '.', '-'. */
static int valid_id(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' ||
              *s == '-'))
            return 0;
    return 1;
}

/* A reminder or message channel: [a-z0-9_]+. */
static int valid_channel(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

/* A dotted path of [A-Za-z0-9_-] segments, as in conditions: at most
 * POLICY_MAX_PATH bytes and COND_MAX_SEGS segments. */
static int valid_path(const char *s) {
    int seglen = 0, nsegs = 1;
    if (strlen(s) > POLICY_MAX_PATH) return 0;
    for (; *s; s++) {
        if (*s == '.') {
            if (!seglen || ++nsegs > COND_MAX_SEGS) return 0;
            seglen = 0;
        } else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                   (*s >= '0' && *s <= '9') || *s == '_' || *s == '-') {
            seglen++;
        } else {
            return 0;
        }
    }
    return seglen > 0;
}

static int name_index(const char *const *names, const char *s) {
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

/* names joined by ", " into buf. */
static const char *join(char *buf, size_t size, const char *const *names,
                        int n) {
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; (n < 0 ? names[i] != NULL : i < n) && off < size; i++)
        off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "",
                                names[i]);
    return buf;
}

/* The value of a required key, or NULL after reporting it missing at `at`
 * (the key that holds map, else map itself). */
static struct yu_node *need(struct ploader *pl, const struct yu_node *map,
                            const struct yu_node *at, const char *key,
                            const char *where, const char *hint) {
    struct yu_node *v = yu_map_get(pl->doc, map, key, NULL);
    const char *const cand[] = {key, NULL};

    if (v) return v;
    /* a misspelt key is reported as unknown with "did you mean": once */
    for (int i = 0; i < yu_len(map); i++) {
        const char *k = yu_scalar(yu_map_key(pl->doc, map, i));
        if (k && yu_suggest(k, cand)) return NULL;
    }
    ERR(at ? at : map, "missing '%s' %s: %s", key, where, hint);
    return NULL;
}

/* ---- Windows ---- */

struct hours_item {
    int start, end;
    const struct yu_node *node;
};

static void parse_window(struct ploader *pl, const struct yu_node *wn,
                         const struct yu_node *wkey, const char *name,
                         struct window *w) {
    char where[64];
    struct yu_node *days, *hours, *ex, *key;

    snprintf(where, sizeof(where), "in %s", name);
    if (yu_check_map(pl->doc, wn, name, window_keys, where, pl->diag) &&
        yu_type(wn) != YU_MAP)
        return;

    if ((days = yu_map_get(pl->doc, wn, "days", &key))) {
        if (yu_type(days) != YU_SEQ) {
            ERR(days, "expected a list for 'days' like [mon, tue, wed], "
                      "got %s", yu_type_name(days));
        } else if (yu_len(days) == 0) {
            ERR(days, "'days' is empty: the %s never opens; list days like "
                      "[mon, tue, wed, thu, fri], or remove 'days' for all "
                      "seven", name);
        } else {
            uint8_t bits = 0;
            for (int i = 0; i < yu_len(days); i++) {
                struct yu_node *d = yu_seq_item(pl->doc, days, i);
                const char *s = yu_scalar(d);
                int wd = s && !yu_is_null(d) ? time_parse_weekday(s) : -1;
                if (wd < 0)
                    ERR(d, "unknown day '%s' in days: write mon, tue, wed, "
                           "thu, fri, sat or sun",
                        s && !yu_is_null(d) ? s : yu_type_name(d));
                else
                    bits |= (uint8_t)(1u << wd);
            }
            w->days = bits;
        }
    }

    hours = need(pl, wn, wkey, "hours", where,
                 "add ranges of local time like [\"09:00-12:00\", "
                 "\"14:00-20:00\"]");
    if (!hours) {
        /* reported */
    } else if (yu_type(hours) != YU_SEQ) {
        ERR(hours, "expected a list for 'hours' like [\"09:00-18:00\"], got "
                   "%s", yu_type_name(hours));
    } else if (yu_len(hours) == 0) {
        ERR(hours, "'hours' is empty: the %s never opens; add a range like "
                   "\"09:00-18:00\"", name);
    } else if (yu_len(hours) > WINDOW_MAX_RANGES) {
        ERR(hours, "too many hours ranges (%d): at most %d", yu_len(hours),
            WINDOW_MAX_RANGES);
    } else {
        struct hours_item items[WINDOW_MAX_RANGES];
        int n = 0;
        for (int i = 0; i < yu_len(hours); i++) {
            struct yu_node *h = yu_seq_item(pl->doc, hours, i);
            const char *s = yu_scalar(h);
            int start, end;
            if (!s || yu_is_null(h)) {
                ERR(h, "expected a range like \"09:00-12:00\" in hours, got "
                       "%s", yu_type_name(h));
                continue;
            }
            if (time_parse_hours_range(s, &start, &end)) {
                ERR(h, "bad hours range '%s': write \"HH:MM-HH:MM\" in "
                       "24-hour local time, e.g. \"09:00-12:00\"", s);
                continue;
            }
            if (start >= end) {
                ERR(h, "hours range '%s' must start before it ends: no wrap "
                       "past midnight: write two ranges, e.g. "
                       "\"22:00-24:00\" and \"00:00-06:00\"", s);
                continue;
            }
            int overlap = 0;
            for (int j = 0; j < n && !overlap; j++) {
                if (start < items[j].end && items[j].start < end) {
                    ERR(h, "hours range '%s' overlaps '%s': merge them into "
                           "one range", s, yu_scalar(items[j].node));
                    overlap = 1;
                }
            }
            if (overlap) continue;
            items[n].start = start;
            items[n].end = end;
            items[n].node = h;
            n++;
        }
        for (int i = 0; i < n; i++)
            if (window_add_range(w, items[i].start, items[i].end))
                ERR(items[i].node, "cannot add hours range '%s'",
                    yu_scalar(items[i].node));
    }

    if ((ex = yu_map_get(pl->doc, wn, "exclude_dates", NULL))) {
        if (yu_type(ex) != YU_SEQ) {
            ERR(ex, "expected a list for 'exclude_dates' like "
                    "[\"2026-10-01\"], got %s", yu_type_name(ex));
            return;
        }
        if (yu_len(ex) > WINDOW_MAX_EXCLUDE) {
            ERR(ex, "too many exclude_dates (%d): at most %d; drop dates "
                    "that have passed", yu_len(ex), WINDOW_MAX_EXCLUDE);
            return;
        }
        for (int i = 0; i < yu_len(ex); i++) {
            struct yu_node *d = yu_seq_item(pl->doc, ex, i);
            const char *s = yu_scalar(d);
            int64_t days_n, y;
            int m, dd;
            if (!s || yu_is_null(d)) {
                ERR(d, "expected a date like \"2026-10-01\" in exclude_dates, "
                       "got %s", yu_type_name(d));
                continue;
            }
            char back[16];
            int ok = !time_parse_date(s, &days_n);
            if (ok) {
                time_civil_from_days(days_n, &y, &m, &dd);
                snprintf(back, sizeof(back), "%04lld-%02d-%02d",
                         (long long)y, m, dd);
                ok = !strcmp(back, s);
            }
            if (!ok) {
                ERR(d, "bad date '%s' in exclude_dates: write a real date as "
                       "YYYY-MM-DD, e.g. \"2026-10-01\"", s);
                continue;
            }
            if (window_exclude_date(w, days_n))
                ERR(d, "out of memory");
        }
    }
}

/* ---- Conditions ---- */

static struct cond *compile_cond(struct ploader *pl, const struct yu_node *n,
                                 int depth);

/* Every item of seq added to group; -1 if any failed. */
static int compile_list_into(struct ploader *pl, const struct yu_node *seq,
                             struct cond *group, int depth) {
    int bad = 0;
    for (int i = 0; i < yu_len(seq); i++) {
        struct cond *c = compile_cond(pl, yu_seq_item(pl->doc, seq, i),
                                      depth + 1);
        if (!c) {
            bad = -1;
            continue;
        }
        if (cond_group_add_take(group, c)) {
            ERR(seq, "out of memory");
            bad = -1;
        }
    }
    return bad;
}

static struct cond *compile_cond(struct ploader *pl, const struct yu_node *n,
                                 int depth) {
    if (depth > POLICY_MAX_COND_DEPTH) {
        ERR(n, "conditions nest too deep: at most %d levels",
            POLICY_MAX_COND_DEPTH);
        return NULL;
    }
    if (yu_type(n) == YU_SCALAR && !yu_is_null(n)) {
        struct fu_err e;
        int off = 0;
        fu_err_clear(&e);
        struct cond *c = cond_parse(yu_scalar(n), &off, &e);
        if (!c) yu_error_in(pl->doc, n, off, pl->diag, "%s", e.msg);
        return c;
    }
    if (yu_type(n) == YU_SEQ) {
        struct cond *g = cond_new_group(COND_ALL);
        if (!g) {
            ERR(n, "out of memory");
            return NULL;
        }
        if (compile_list_into(pl, n, g, depth)) {
            cond_free(g);
            return NULL;
        }
        return g;
    }
    if (yu_type(n) != YU_MAP) {
        ERR(n, "expected a condition like data.amount >= 5000, got %s",
            yu_type_name(n));
        return NULL;
    }
    if (yu_check_map(pl->doc, n, "condition", group_keys,
                     "in condition (a group is {all: [...]}, {any: [...]} "
                     "or {not: ...})", pl->diag))
        return NULL;
    if (yu_len(n) != 1) {
        ERR(n, "a condition group has exactly one key: write {all: [...]}, "
               "{any: [...]} or {not: ...}");
        return NULL;
    }
    const char *k = yu_scalar(yu_map_key(pl->doc, n, 0));
    struct yu_node *v = yu_map_value(pl->doc, n, 0);
    struct cond *g;
    if (!strcmp(k, "not")) {
        struct cond *c = compile_cond(pl, v, depth + 1);
        if (!c) return NULL;
        if (!(g = cond_new_group(COND_NOT)) || cond_group_add_take(g, c)) {
            if (!g) cond_free(c);
            cond_free(g);
            ERR(n, "out of memory");
            return NULL;
        }
        return g;
    }
    if (yu_type(v) != YU_SEQ) {
        ERR(v, "expected a list of conditions for '%s' like "
               "[data.amount >= 5000, data.kind == \"transfer\"], got %s",
            k, yu_type_name(v));
        return NULL;
    }
    if (!(g = cond_new_group(!strcmp(k, "any") ? COND_ANY : COND_ALL))) {
        ERR(n, "out of memory");
        return NULL;
    }
    if (compile_list_into(pl, v, g, depth)) {
        cond_free(g);
        return NULL;
    }
    return g;
}

/* ---- Rules ---- */

static void parse_paths(struct ploader *pl, const struct yu_node *n,
                        const char *what, char ***paths, int *npaths) {
    if (yu_str_list(pl->doc, n, what, 0, pl->diag, paths, npaths)) return;
    for (int i = 0; i < *npaths; i++)
        if (!valid_path((*paths)[i]))
            ERR(yu_seq_item(pl->doc, n, i),
                "bad path '%s' in %s: write a dotted path into the event "
                "like data.amount", (*paths)[i], what);
}

/* A required expires_after of a callback or message, longer than 0s. */
static void parse_expiry(struct ploader *pl, const struct yu_node *map,
                         const struct yu_node *key, const char *where,
                         int64_t *out) {
    struct yu_node *v = need(pl, map, key, "expires_after", where,
                             "a follow-up without an end is a compliance "
                             "risk; add e.g. expires_after: 72h");
    if (v && !yu_duration(pl->doc, v, "expires_after", 0, pl->diag, out) &&
        *out == 0)
        ERR(v, "'expires_after' must be longer than 0s: a follow-up needs "
               "an end, e.g. 72h");
}

/* A required channel ([a-z0-9_]+) or template (not empty) name. */
static void parse_channel(struct ploader *pl, const struct yu_node *map,
                          const struct yu_node *key, const char *where,
                          char **out) {
    struct yu_node *v = need(pl, map, key, "channel", where,
                             "add e.g. channel: sms");
    if (v && !yu_strdup(pl->doc, v, "channel", pl->diag, out) &&
        !valid_channel(*out))
        ERR(v, "bad channel '%s': write lower-case letters, digits and '_', "
               "e.g. sms", *out);
}

static void parse_template(struct ploader *pl, const struct yu_node *map,
                           const struct yu_node *key, const char *where,
                           const char *hint, char **out) {
    struct yu_node *v = need(pl, map, key, "template", where, hint);
    if (v && !yu_strdup(pl->doc, v, "template", pl->diag, out) && !**out)
        ERR(v, "'template' is empty: write the message template id");
}

static void parse_callback(struct ploader *pl, const struct yu_node *cb,
                           const struct yu_node *cbkey, const char *rid,
                           struct rule *r, int rule_context) {
    char where[128];
    struct yu_node *v, *key;
    long long iv;

    snprintf(where, sizeof(where), "in callback of rule '%s'", rid);
    if (yu_check_map(pl->doc, cb, "callback", callback_keys, where,
                     pl->diag) &&
        yu_type(cb) != YU_MAP)
        return;
    r->has_callback = 1;
    if ((v = yu_map_get(pl->doc, cb, "delay", NULL)))
        yu_duration(pl->doc, v, "delay", 0, pl->diag, &r->delay);
    parse_expiry(pl, cb, cbkey, where, &r->expires_after);
    if ((v = yu_map_get(pl->doc, cb, "priority", NULL)) &&
        !yu_int(pl->doc, v, "priority", 0, 100, pl->diag, &iv))
        r->priority = (int)iv;
    if ((v = yu_map_get(pl->doc, cb, "priority_from", NULL)) &&
        !yu_strdup(pl->doc, v, "priority_from", pl->diag, &r->priority_from) &&
        !valid_path(r->priority_from))
        ERR(v, "bad path '%s' in priority_from: write a dotted path into "
               "the event like data.score (at most %d characters)",
            r->priority_from, POLICY_MAX_PATH);
    if ((v = yu_map_get(pl->doc, cb, "script", NULL))) {
        const char *s;
        if (!yu_str_or_null(pl->doc, v, "script", pl->diag, &s) && s &&
            !(r->script = strdup(s)))
            ERR(v, "out of memory");
    }
    if ((v = yu_map_get(pl->doc, cb, "context", &key))) {
        if (rule_context)
            ERR(key, "'context' is given both in rule '%s' and in its "
                     "callback: keep only callback.context", rid);
        else
            parse_paths(pl, v, "context", &r->context, &r->ncontext);
    }
}

static void parse_message(struct ploader *pl, const struct yu_node *mn,
                          const struct yu_node *mkey, const char *rid,
                          struct rule *r) {
    struct rule_message *m = &r->message;
    char where[128];
    struct yu_node *v;

    snprintf(where, sizeof(where), "in message of rule '%s'", rid);
    if (yu_check_map(pl->doc, mn, "message", message_keys, where,
                     pl->diag) &&
        yu_type(mn) != YU_MAP)
        return;
    r->has_message = 1;
    parse_channel(pl, mn, mkey, where, &m->channel);
    parse_template(pl, mn, mkey, where,
                   "add the message template id, e.g. template: "
                   "welcome_survey_v1", &m->template);
    if ((v = yu_map_get(pl->doc, mn, "delay", NULL)))
        yu_duration(pl->doc, v, "delay", 0, pl->diag, &m->delay);
    parse_expiry(pl, mn, mkey, where, &m->expires_after);
    if ((v = yu_map_get(pl->doc, mn, "context", NULL)))
        parse_paths(pl, v, "context", &m->context, &m->ncontext);
}

static void parse_reminder(struct ploader *pl, const struct yu_node *rn,
                           const struct yu_node *rkey, const char *rid,
                           struct rule *r) {
    char where[128];
    struct yu_node *v;

    snprintf(where, sizeof(where), "in reminder of rule '%s'", rid);
    if (yu_check_map(pl->doc, rn, "reminder", reminder_keys, where,
                     pl->diag) &&
        yu_type(rn) != YU_MAP)
        return;
    r->has_reminder = 1;
    parse_channel(pl, rn, rkey, where, &r->reminder_channel);
    if ((v = need(pl, rn, rkey, "lead", where,
                  "add how long before the call it is sent, e.g. lead: 1h")))
        yu_duration(pl->doc, v, "lead", 1, pl->diag, &r->reminder_lead);
    parse_template(pl, rn, rkey, where,
                   "add the message template id, e.g. template: "
                   "call_notice", &r->reminder_template);
}

static void parse_rule_cap(struct ploader *pl, const struct yu_node *cn,
                           const struct yu_node *ckey, const char *rid,
                           struct rule *r) {
    char where[128];
    struct yu_node *v;
    long long iv;

    snprintf(where, sizeof(where), "in cap of rule '%s'", rid);
    if (yu_check_map(pl->doc, cn, "cap", rule_cap_keys, where, pl->diag) &&
        yu_type(cn) != YU_MAP)
        return;
    r->has_cap = 1;
    if ((v = need(pl, cn, ckey, "limit", where, "add e.g. limit: 1")) &&
        !yu_int(pl->doc, v, "limit", 0, INT_MAX, pl->diag, &iv))
        r->cap_limit = (int)iv;
    if ((v = need(pl, cn, ckey, "per", where, "add e.g. per: 7d")))
        yu_duration(pl->doc, v, "per", 1, pl->diag, &r->cap_per);
}

static void parse_repeat(struct ploader *pl, const struct yu_node *rn,
                         const struct yu_node *rkey, const char *rid,
                         struct rule *r) {
    char where[128];
    struct yu_node *v;
    long long iv;

    snprintf(where, sizeof(where), "in repeat of rule '%s'", rid);
    if (yu_check_map(pl->doc, rn, "repeat", repeat_keys, where, pl->diag) &&
        yu_type(rn) != YU_MAP)
        return;
    r->has_repeat = 1;
    if ((v = need(pl, rn, rkey, "every", where, "add e.g. every: 90d")))
        yu_duration(pl->doc, v, "every", 1, pl->diag, &r->repeat_every);
    if ((v = need(pl, rn, rkey, "times", where,
                  "add how many occurrences in total, e.g. times: 4")) &&
        !yu_int(pl->doc, v, "times", 1, INT_MAX, pl->diag, &iv))
        r->repeat_times = (int)iv;
}

/* A rule's callback, message, reminder and rule-level context (the
 * callback's, from before callback.context existed). */
static void parse_kinds(struct ploader *pl, const struct yu_node *rn,
                        const char *rid, const char *where, struct rule *r) {
    struct yu_node *cb, *cbkey = NULL, *msg, *mkey = NULL, *ctx, *ctxkey = NULL;
    struct yu_node *rem, *remkey = NULL;

    cb = yu_map_get(pl->doc, rn, "callback", &cbkey);
    msg = yu_map_get(pl->doc, rn, "message", &mkey);
    ctx = yu_map_get(pl->doc, rn, "context", &ctxkey);
    rem = yu_map_get(pl->doc, rn, "reminder", &remkey);
    if (!cb && !msg) {
        const char *const kinds[] = {"callback", "message", NULL};
        /* a misspelt key already got its "did you mean" */
        for (int i = 0; i < yu_len(rn); i++) {
            const char *k = yu_scalar(yu_map_key(pl->doc, rn, i));
            if (k && yu_suggest(k, kinds)) return;
        }
        ERR(rn, "%s has neither 'callback' nor 'message': add callback: "
                "{delay: 2h, expires_after: 72h} to call the user, or "
                "message: {channel: sms, template: welcome_survey_v1, "
                "expires_after: 3d} to send a message (or both)",
            where + 3 /* "rule 'x'" */);
        return;
    }
    if (cb) parse_callback(pl, cb, cbkey, rid, r, ctx != NULL);
    if (msg) parse_message(pl, msg, mkey, rid, r);
    if (ctx && cb) {
        parse_paths(pl, ctx, "context", &r->context, &r->ncontext);
    } else if (ctx) {
        ERR(ctxkey, "'context' of rule '%s' belongs to a callback, and the "
                    "rule has none: write it as message.context", rid);
    }
    if (rem && !cb) {
        ERR(remkey, "rule '%s' has a reminder but no callback: a reminder "
                    "announces a call; remove it (the message is what the "
                    "user gets)", rid);
    } else if (rem) {
        parse_reminder(pl, rem, remkey, rid, r);
    }
}

static void parse_rule(struct ploader *pl, int idx, const struct yu_node *rn) {
    struct policy *pol = pl->pol;
    struct rule *r = &pol->rules[idx];
    char rid[96], where[128];
    struct yu_node *v, *key;

    snprintf(rid, sizeof(rid), "#%d", idx + 1);
    if (yu_type(rn) != YU_MAP) {
        ERR(rn, "expected a mapping for rule #%d (id, on, callback, ...), "
                "got %s", idx + 1, yu_type_name(rn));
        return;
    }

    /* the id first: later messages name the rule */
    v = yu_map_get(pl->doc, rn, "id", NULL);
    if (!v) {
        ERR(rn, "missing 'id' in rule #%d: add e.g. id: large-transfer",
            idx + 1);
    } else if (!yu_strdup(pl->doc, v, "id", pl->diag, &r->id)) {
        if (!valid_id(r->id)) {
            ERR(v, "bad rule id '%s': use letters, digits, '_', '.' and '-', "
                   "e.g. large-transfer", r->id);
        } else {
            pl->rule_id_nodes[idx] = v;
            snprintf(rid, sizeof(rid), "%s", r->id);
            for (int j = 0; j < idx; j++) {
                if (pol->rules[j].id && pl->rule_id_nodes[j] &&
                    !strcmp(pol->rules[j].id, r->id)) {
                    ERR(v, "duplicate rule id '%s' (first at line %d): give "
                           "each rule its own id",
                        r->id, yu_line(pl->rule_id_nodes[j]));
                    break;
                }
            }
        }
    }
    if (r->id && !valid_id(r->id)) snprintf(rid, sizeof(rid), "#%d", idx + 1);
    snprintf(where, sizeof(where), "in rule '%s'", rid);
    if (rid[0] == '#') snprintf(where, sizeof(where), "in rule %s", rid);

    yu_check_map(pl->doc, rn, "rule", rule_keys, where, pl->diag);

    if ((v = yu_map_get(pl->doc, rn, "description", NULL))) {
        const char *s;
        if (!yu_str_or_null(pl->doc, v, "description", pl->diag, &s) && s &&
            !(r->description = strdup(s)))
            ERR(v, "out of memory");
    }

    if ((v = need(pl, rn, NULL, "on", where,
                  "add the event types it reacts to, e.g. on: "
                  "[transaction]")) &&
        !yu_str_list(pl->doc, v, "on", YU_LIST_SCALAR_OK | YU_LIST_NONEMPTY,
                     pl->diag, &r->on, &r->non)) {
        for (int i = 0; i < r->non; i++) {
            const struct yu_node *it =
                yu_type(v) == YU_SEQ ? yu_seq_item(pl->doc, v, i) : v;
            if (name_index(builtin_types, r->on[i]) >= 0)
                ERR(it, "'%s' is a built-in event type that rules never "
                        "match: the daemon handles it itself; use the types "
                        "of your wallet events, e.g. transaction (of the "
                        "built-ins only callback.outcome may stand in 'on')",
                    r->on[i]);
            else if (!*r->on[i])
                ERR(it, "empty event type in 'on': write e.g. transaction");
        }
    }

    if ((v = yu_map_get(pl->doc, rn, "when", NULL)))
        r->when = compile_cond(pl, v, 0);
    if ((v = yu_map_get(pl->doc, rn, "ignore_cooldown", NULL)))
        yu_bool(pl->doc, v, "ignore_cooldown", pl->diag, &r->ignore_cooldown);

    parse_kinds(pl, rn, rid, where, r);
    if ((v = yu_map_get(pl->doc, rn, "cap", &key)))
        parse_rule_cap(pl, v, key, rid, r);
    if ((v = yu_map_get(pl->doc, rn, "on_cap", NULL))) {
        const char *s;
        if (!yu_str(pl->doc, v, "on_cap", pl->diag, &s)) {
            if (!strcmp(s, "drop"))
                r->on_cap = ON_CAP_DROP;
            else if (!strcmp(s, "defer"))
                r->on_cap = ON_CAP_DEFER;
            else
                ERR(v, "bad on_cap '%s': write drop (suppress the call) or "
                       "defer (move it to the next slot the caps allow)", s);
        }
    }
    pl->supersedes[idx] = yu_map_get(pl->doc, rn, "supersedes", NULL);
    if ((v = yu_map_get(pl->doc, rn, "repeat", &key)))
        parse_repeat(pl, v, key, rid, r);
}

/* Second pass, once every rule id is known. */
static void resolve_supersedes(struct ploader *pl) {
    struct policy *pol = pl->pol;
    const char **ids = calloc((size_t)pol->nrules + 1, sizeof(*ids));
    int nids = 0;

    if (!ids) {
        ERR(NULL, "out of memory");
        return;
    }
    for (int i = 0; i < pol->nrules; i++)
        if (pol->rules[i].id && pl->rule_id_nodes[i])
            ids[nids++] = pol->rules[i].id;
    ids[nids] = NULL;

    for (int i = 0; i < pol->nrules; i++) {
        struct rule *r = &pol->rules[i];
        const struct yu_node *sn = pl->supersedes[i];
        char **names;
        int n;

        if (!sn) continue;
        if (yu_str_list(pl->doc, sn, "supersedes", YU_LIST_SCALAR_OK,
                        pl->diag, &names, &n))
            continue;
        if (n && !(r->supersedes = calloc((size_t)n, sizeof(int)))) {
            ERR(sn, "out of memory");
            yu_strv_free(names, n);
            continue;
        }
        for (int j = 0; j < n; j++) {
            const struct yu_node *it =
                yu_type(sn) == YU_SEQ ? yu_seq_item(pl->doc, sn, j) : sn;
            int k = policy_rule_index(pol, names[j]);
            if (k < 0 || !pl->rule_id_nodes[k]) {
                char list[400];
                const char *hint = yu_suggest(names[j], ids);
                if (hint)
                    ERR(it, "unknown rule '%s' in supersedes: did you mean "
                            "'%s'?", names[j], hint);
                else if (nids)
                    ERR(it, "unknown rule '%s' in supersedes: known rules "
                            "are %s", names[j],
                        join(list, sizeof(list), ids, nids));
                else
                    ERR(it, "unknown rule '%s' in supersedes", names[j]);
                continue;
            }
            if (k == i) {
                ERR(it, "rule '%s' cannot supersede itself: list other "
                        "rules' ids", names[j]);
                continue;
            }
            int dup = 0;
            for (int m = 0; m < r->nsupersedes; m++)
                if (r->supersedes[m] == k) dup = 1;
            if (!dup) r->supersedes[r->nsupersedes++] = k;
        }
        yu_strv_free(names, n);
    }
    free(ids);
}

/* ---- Defaults, caps, outcomes ---- */

/* defaults.pacing: {calls_per_minute: N} (spec 4.3). */
static void parse_pacing(struct ploader *pl, const struct yu_node *pn,
                         const struct yu_node *pkey) {
    struct yu_node *v;
    long long iv;
    if (yu_check_map(pl->doc, pn, "pacing", pacing_keys, "in pacing",
                     pl->diag) &&
        yu_type(pn) != YU_MAP)
        return;
    if ((v = need(pl, pn, pkey, "calls_per_minute", "in pacing",
                  "add how many calls the dialer takes a minute, e.g. "
                  "calls_per_minute: 200 (agents x 60 / average call "
                  "seconds)")) &&
        !yu_int(pl->doc, v, "calls_per_minute", 0, 1000000, pl->diag, &iv)) {
        if (iv == 0)
            ERR(v, "'calls_per_minute' is 0, which would never call anyone: "
                   "write how many calls the dialer takes a minute (at least "
                   "1), or remove 'pacing' not to pace calls");
        pl->pol->calls_per_minute = (int)iv;
    }
}

static void parse_defaults(struct ploader *pl, const struct yu_node *root) {
    struct policy *pol = pl->pol;
    struct yu_node *dn, *dkey, *v, *key;
    int first_reminder = -1, first_message = -1;

    for (int i = 0; i < pol->nrules && first_reminder < 0; i++)
        if (pol->rules[i].has_reminder) first_reminder = i;
    for (int i = 0; i < pol->nrules && first_message < 0; i++)
        if (pol->rules[i].has_message) first_message = i;

    dn = yu_map_get(pl->doc, root, "defaults", &dkey);
    if (!dn) {
        ERR(root, "missing 'defaults': add defaults with timezone and "
                  "call_window (see config/policy.yaml)");
        return;
    }
    if (yu_check_map(pl->doc, dn, "defaults", defaults_keys, "in defaults",
                     pl->diag) &&
        yu_type(dn) != YU_MAP)
        return;

    if ((v = need(pl, dn, dkey, "timezone", "in defaults",
                  "add e.g. timezone: Asia/Shanghai"))) {
        const char *s;
        if (!yu_str(pl->doc, v, "timezone", pl->diag, &s)) {
            struct fu_err e;
            fu_err_clear(&e);
            pol->default_tz = tzdb_get(pl->tzdb, s, &e);
            if (!pol->default_tz)
                ERR(v, "unknown timezone '%s': write an IANA zone name like "
                       "Asia/Shanghai, Europe/Berlin or UTC", s);
            else if (!(pol->default_tz_name = strdup(s)))
                ERR(v, "out of memory");
        }
    }
    if ((v = need(pl, dn, dkey, "call_window", "in defaults",
                  "add e.g. call_window: {hours: [\"09:00-18:00\"]}"))) {
        yu_map_get(pl->doc, dn, "call_window", &key);
        parse_window(pl, v, key, "call_window", &pol->call_window);
    }
    if ((v = yu_map_get(pl->doc, dn, "message_window", &key))) {
        pol->has_message_window = 1;
        parse_window(pl, v, key, "message_window", &pol->message_window);
    } else if (first_reminder >= 0) {
        ERR(dkey, "missing 'message_window' in defaults: rule '%s' has a "
                  "reminder; add e.g. message_window: {hours: "
                  "[\"08:00-21:00\"]}",
            pol->rules[first_reminder].id ? pol->rules[first_reminder].id
                                          : "?");
    } else if (first_message >= 0) {
        ERR(dkey, "missing 'message_window' in defaults: rule '%s' sends "
                  "messages, which go only inside it; add e.g. "
                  "message_window: {hours: [\"08:00-21:00\"]}",
            pol->rules[first_message].id ? pol->rules[first_message].id
                                         : "?");
    }
    if ((v = yu_map_get(pl->doc, dn, "dedupe_for", NULL)))
        yu_duration(pl->doc, v, "dedupe_for", 1, pl->diag, &pol->dedupe_for);
    if ((v = yu_map_get(pl->doc, dn, "require_consent", NULL)))
        yu_bool(pl->doc, v, "require_consent", pl->diag,
                &pol->require_consent);
    if ((v = yu_map_get(pl->doc, dn, "pacing", &key)))
        parse_pacing(pl, v, key);
}

/* The channels the rules send reminders on (messages 0) or messages on
 * (messages 1), unique, in rule order. */
static int used_channels(const struct policy *pol, int messages,
                         const char **out) {
    int n = 0;
    for (int i = 0; i < pol->nrules; i++) {
        const struct rule *r = &pol->rules[i];
        const char *ch = messages ? (r->has_message ? r->message.channel : NULL)
                                  : (r->has_reminder ? r->reminder_channel
                                                     : NULL);
        if (!ch) continue;
        int seen = 0;
        for (int j = 0; j < n; j++)
            if (!strcmp(out[j], ch)) seen = 1;
        if (!seen) out[n++] = ch;
    }
    out[n] = NULL;
    return n;
}

int policy_uses_channel(const struct policy *pol, const char *channel) {
    for (int i = 0; i < pol->nrules; i++) {
        const struct rule *r = &pol->rules[i];
        if ((r->has_reminder && !strcmp(r->reminder_channel, channel)) ||
            (r->has_message && !strcmp(r->message.channel, channel)))
            return 1;
    }
    return 0;
}

/* count: <what>.<channel> (what is reminders or messages), for a channel
 * some rule sends `what` on. */
static void parse_count_channel(struct ploader *pl, const struct yu_node *v,
                                struct cap *cap, const char *what,
                                const char *ch) {
    const struct policy *pol = pl->pol;
    int messages = !strcmp(what, "messages");
    const char **chans = calloc((size_t)pol->nrules + 1, sizeof(*chans));
    char list[400];
    if (!chans) {
        ERR(v, "out of memory");
        return;
    }
    int nchans = used_channels(pol, messages, chans);
    const char *hint = yu_suggest(ch, chans);
    if (name_index(chans, ch) >= 0) {
        cap->count = messages ? CAP_COUNT_MESSAGE_CHANNEL : CAP_COUNT_CHANNEL;
        if (!(cap->channel = strdup(ch))) ERR(v, "out of memory");
    } else if (!nchans) {
        ERR(v, "no rule sends %s on channel '%s': no rule has a %s; count "
               "%s, or add a %s to a rule",
            what, ch, messages ? "message" : "reminder",
            messages ? "callbacks or reminders" : "callbacks or messages",
            messages ? "message" : "reminder");
    } else if (hint) {
        ERR(v, "no rule sends %s on channel '%s': did you mean '%s.%s'? "
               "(channels used: %s)",
            what, ch, what, hint, join(list, sizeof(list), chans, nchans));
    } else {
        ERR(v, "no rule sends %s on channel '%s': channels used by the "
               "rules are %s",
            what, ch, join(list, sizeof(list), chans, nchans));
    }
    free(chans);
}

static void parse_count(struct ploader *pl, const struct yu_node *v,
                        struct cap *cap) {
    const char *s;

    if (yu_str(pl->doc, v, "count", pl->diag, &s)) return;
    if (!strcmp(s, "callbacks")) {
        cap->count = CAP_COUNT_CALLBACKS;
    } else if (!strcmp(s, "reminders")) {
        cap->count = CAP_COUNT_REMINDERS;
    } else if (!strcmp(s, "messages")) {
        cap->count = CAP_COUNT_MESSAGES;
    } else if (!strncmp(s, "reminders.", 10)) {
        parse_count_channel(pl, v, cap, "reminders", s + 10);
    } else if (!strncmp(s, "messages.", 9)) {
        parse_count_channel(pl, v, cap, "messages", s + 9);
    } else {
        const char *hint = yu_suggest(s, count_names);
        if (hint)
            ERR(v, "unknown count '%s': did you mean '%s'?", s, hint);
        else
            ERR(v, "unknown count '%s': write callbacks, reminders, "
                   "reminders.<channel>, messages or messages.<channel>", s);
    }
}

static void parse_caps(struct ploader *pl, const struct yu_node *cn) {
    struct policy *pol = pl->pol;
    const struct yu_node **idn = NULL;

    if (yu_type(cn) != YU_SEQ) {
        ERR(cn, "expected a list for 'caps' like [{id: calls-per-month, "
                "count: callbacks, limit: 2, per: 30d}], got %s",
            yu_type_name(cn));
        goto out;
    }
    if (yu_len(cn) > POLICY_MAX_CAPS) {
        ERR(cn, "too many caps (%d): at most %d in one policy", yu_len(cn),
            POLICY_MAX_CAPS);
        goto out;
    }
    pol->ncaps = yu_len(cn);
    if (pol->ncaps &&
        (!(pol->caps = calloc((size_t)pol->ncaps, sizeof(*pol->caps))) ||
         !(idn = calloc((size_t)pol->ncaps, sizeof(*idn))))) {
        pol->ncaps = 0;
        ERR(cn, "out of memory");
        goto out;
    }
    for (int i = 0; i < pol->ncaps; i++) {
        struct yu_node *it = yu_seq_item(pl->doc, cn, i), *v;
        struct cap *cap = &pol->caps[i];
        char where[128];
        long long iv;

        if (yu_type(it) != YU_MAP) {
            ERR(it, "expected a mapping for cap #%d (id, count, limit, per), "
                    "got %s", i + 1, yu_type_name(it));
            continue;
        }
        snprintf(where, sizeof(where), "in cap #%d", i + 1);
        if ((v = need(pl, it, NULL, "id", where,
                      "add e.g. id: calls-per-month")) &&
            !yu_strdup(pl->doc, v, "id", pl->diag, &cap->id)) {
            if (!valid_id(cap->id)) {
                ERR(v, "bad cap id '%s': use letters, digits, '_', '.' and "
                       "'-', e.g. calls-per-month", cap->id);
            } else {
                idn[i] = v;
                snprintf(where, sizeof(where), "in cap '%s'", cap->id);
                for (int j = 0; j < i; j++)
                    if (idn[j] && !strcmp(pol->caps[j].id, cap->id)) {
                        ERR(v, "duplicate cap id '%s' (first at line %d): "
                               "give each cap its own id",
                            cap->id, yu_line(idn[j]));
                        break;
                    }
            }
        }
        yu_check_map(pl->doc, it, "cap", cap_keys, where, pl->diag);
        if ((v = need(pl, it, NULL, "count", where,
                      "add count: callbacks, reminders, "
                      "reminders.<channel>, messages or messages.<channel>")))
            parse_count(pl, v, cap);
        if ((v = need(pl, it, NULL, "limit", where, "add e.g. limit: 2")) &&
            !yu_int(pl->doc, v, "limit", 0, INT_MAX, pl->diag, &iv))
            cap->limit = (int)iv;
        if ((v = need(pl, it, NULL, "per", where, "add e.g. per: 30d")))
            yu_duration(pl->doc, v, "per", 1, pl->diag, &cap->per);
    }
out:
    free(idn);
}

static unsigned parse_outcome_list(struct ploader *pl,
                                   const struct yu_node *v, const char *what,
                                   unsigned other, const char *other_what) {
    char **names;
    int n;
    unsigned bits = 0;
    char list[200];

    if (yu_str_list(pl->doc, v, what, YU_LIST_SCALAR_OK, pl->diag, &names,
                    &n))
        return 0;
    for (int i = 0; i < n; i++) {
        const struct yu_node *it =
            yu_type(v) == YU_SEQ ? yu_seq_item(pl->doc, v, i) : v;
        int o = name_index(outcome_names, names[i]);
        if (o < 0) {
            const char *hint = yu_suggest(names[i], outcome_names);
            if (hint)
                ERR(it, "unknown outcome '%s' in %s: did you mean '%s'?",
                    names[i], what, hint);
            else
                ERR(it, "unknown outcome '%s' in %s: write one of %s",
                    names[i], what, join(list, sizeof(list), outcome_names, -1));
            continue;
        }
        if (other & (1u << o)) {
            ERR(it, "outcome '%s' is in both %s and %s: keep it in one",
                names[i], other_what, what);
            continue;
        }
        bits |= 1u << o;
    }
    yu_strv_free(names, n);
    return bits;
}

static void parse_outcomes(struct ploader *pl, const struct yu_node *on,
                           const struct yu_node *okey) {
    struct outcomes_policy *op = &pl->pol->outcomes;
    struct yu_node *v;
    long long iv;

    if (yu_check_map(pl->doc, on, "outcomes", outcomes_keys, "in outcomes",
                     pl->diag) &&
        yu_type(on) != YU_MAP)
        return;
    op->present = 1;
    if ((v = yu_map_get(pl->doc, on, "retry_on", NULL)))
        op->retry_on = parse_outcome_list(pl, v, "retry_on", 0, NULL);
    if ((v = yu_map_get(pl->doc, on, "opt_out_on", NULL)))
        op->opt_out_on = parse_outcome_list(pl, v, "opt_out_on",
                                            op->retry_on, "retry_on");
    if ((v = yu_map_get(pl->doc, on, "max_attempts", NULL)) &&
        !yu_int(pl->doc, v, "max_attempts", 1, 100, pl->diag, &iv))
        op->max_attempts = (int)iv;
    if ((v = yu_map_get(pl->doc, on, "backoff", NULL))) {
        if (yu_type(v) != YU_SEQ) {
            ERR(v, "expected a list for 'backoff' like [2h, 1d] (before "
                   "attempt 2, before attempt 3), got %s", yu_type_name(v));
        } else if (yu_len(v) > POLICY_MAX_BACKOFF) {
            ERR(v, "too many backoff durations (%d): at most %d, one per "
                   "attempt", yu_len(v), POLICY_MAX_BACKOFF);
        } else if (yu_len(v) &&
                   !(op->backoff = calloc((size_t)yu_len(v),
                                          sizeof(*op->backoff)))) {
            ERR(v, "out of memory");
        } else {
            int bad = 0;
            for (int i = 0; i < yu_len(v); i++)
                if (yu_duration(pl->doc, yu_seq_item(pl->doc, v, i),
                                "backoff", 1, pl->diag, &op->backoff[i]))
                    bad = 1;
            if (!bad) op->nbackoff = yu_len(v);
        }
    }
    if ((v = yu_map_get(pl->doc, on, "cooldown_after_answered", NULL)))
        yu_duration(pl->doc, v, "cooldown_after_answered", 0, pl->diag,
                    &op->cooldown_after_answered);
    if (op->retry_on && op->max_attempts > 1 && !op->nbackoff &&
        !yu_map_get(pl->doc, on, "backoff", NULL))
        ERR(okey, "missing 'backoff' in outcomes: retries need a pause; add "
                  "e.g. backoff: [2h, 1d] (the last one repeats)");
}

/* ---- Loading ---- */

static void policy_hash(struct policy *pol, const char *buf, size_t len) {
    struct hash128 hs;
    hash128_init(&hs);
    hash128_update(&hs, buf, len);
    hash128_hex(&hs, pol->version, 16);
}

/* Stable sort of the items this load added, by line then column. */
static void sort_diag(struct fu_diag *diag, int from) {
    int n = diag->n < diag->cap ? diag->n : diag->cap;
    for (int i = from + 1; i < n; i++) {
        struct fu_err e = diag->items[i];
        int j = i;
        while (j > from && (diag->items[j - 1].line > e.line ||
                            (diag->items[j - 1].line == e.line &&
                             diag->items[j - 1].col > e.col))) {
            diag->items[j] = diag->items[j - 1];
            j--;
        }
        diag->items[j] = e;
    }
}

static void policy_compute(struct policy *pol) {
    int64_t m = 0;
    for (int i = 0; i < pol->ncaps; i++)
        if (pol->caps[i].per > m) m = pol->caps[i].per;
    for (int i = 0; i < pol->nrules; i++)
        if (pol->rules[i].has_cap && pol->rules[i].cap_per > m)
            m = pol->rules[i].cap_per;
    pol->longest_cap = m;
}

static void policy_build(struct ploader *pl) {
    struct policy *pol = pl->pol;
    struct yu_node *root = yu_root(pl->doc), *v, *key;
    long long iv;

    if (!root) {
        ERR(NULL, "empty policy: start with 'version: 1', then defaults and "
                  "rules (see config/policy.yaml)");
        return;
    }
    if (yu_type(root) != YU_MAP) {
        ERR(root, "expected a mapping at the top level (version, defaults, "
                  "rules, ...), got %s", yu_type_name(root));
        return;
    }
    yu_check_map(pl->doc, root, "policy", top_keys, "at the top level",
                 pl->diag);

    if ((v = need(pl, root, NULL, "version", "at the top level",
                  "add 'version: 1' as the first line")) &&
        !yu_int(pl->doc, v, "version", INT_MIN, INT_MAX, pl->diag, &iv) &&
        iv != 1)
        ERR(v, "unsupported policy version %lld: write 'version: 1'", iv);

    if ((v = need(pl, root, NULL, "rules", "at the top level",
                  "add a list of rules (see config/policy.yaml)"))) {
        if (yu_type(v) != YU_SEQ) {
            ERR(v, "expected a list for 'rules' (each item starts with "
                   "'- id: ...'), got %s", yu_type_name(v));
        } else if (yu_len(v) > POLICY_MAX_RULES) {
            ERR(v, "too many rules (%d): at most %d in one policy",
                yu_len(v), POLICY_MAX_RULES);
        } else if ((pol->nrules = yu_len(v)) > 0) {
            pol->rules = calloc((size_t)pol->nrules, sizeof(*pol->rules));
            pl->supersedes = calloc((size_t)pol->nrules,
                                    sizeof(*pl->supersedes));
            pl->rule_id_nodes = calloc((size_t)pol->nrules,
                                       sizeof(*pl->rule_id_nodes));
            if (!pol->rules || !pl->supersedes || !pl->rule_id_nodes) {
                ERR(v, "out of memory");
                return;
            }
            for (int i = 0; i < pol->nrules; i++)
                parse_rule(pl, i, yu_seq_item(pl->doc, v, i));
            resolve_supersedes(pl);
        }
    }

    parse_defaults(pl, root);
    if ((v = yu_map_get(pl->doc, root, "caps", NULL)))
        parse_caps(pl, v);
    if ((v = yu_map_get(pl->doc, root, "outcomes", &key)))
        parse_outcomes(pl, v, key);
    policy_compute(pol);
}

struct policy *policy_load_buffer(const char *name, const char *buf,
                                  size_t len, struct tzdb *tzdb,
                                  struct fu_diag *diag) {
    struct ploader pl;
    int n0 = diag->n;

    memset(&pl, 0, sizeof(pl));
    pl.diag = diag;
    pl.tzdb = tzdb;
    if (!(pl.pol = calloc(1, sizeof(*pl.pol))) ||
        !(pl.pol->file = strdup(name))) {
        struct fu_err e;
        fu_err_at(&e, FU_ENOMEM, name, 0, 0, "out of memory");
        fu_diag_add(diag, &e);
        free(pl.pol);
        return NULL;
    }
    pl.pol->refcount = 1;
    window_init(&pl.pol->call_window);
    window_init(&pl.pol->message_window);
    pl.pol->dedupe_for = 7 * 86400;
    pl.pol->outcomes.max_attempts = 1;
    policy_hash(pl.pol, buf, len);

    if ((pl.doc = yu_load_buffer(name, buf, len, diag)))
        policy_build(&pl);
    yu_free(pl.doc);
    free(pl.supersedes);
    free(pl.rule_id_nodes);
    if (diag->n > n0) {
        sort_diag(diag, n0);
        policy_release(pl.pol);
        return NULL;
    }
    return pl.pol;
}

struct policy *policy_load_file(const char *path, struct tzdb *tzdb,
                                struct fu_diag *diag) {
    size_t len;
    char *buf = yu_read_file(path, &len, diag);
    if (!buf) return NULL;
    struct policy *pol = policy_load_buffer(path, buf, len, tzdb, diag);
    free(buf);
    return pol;
}

/* ---- Lifetime and lookups ---- */

struct policy *policy_retain(struct policy *pol) {
    if (pol) __atomic_add_fetch(&pol->refcount, 1, __ATOMIC_RELAXED);
    return pol;
}

static void rule_release(struct rule *r) {
    free(r->id);
    free(r->description);
    yu_strv_free(r->on, r->non);
    cond_free(r->when);
    free(r->script);
    free(r->priority_from);
    yu_strv_free(r->context, r->ncontext);
    free(r->reminder_channel);
    free(r->reminder_template);
    free(r->supersedes);
    free(r->message.channel);
    free(r->message.template);
    yu_strv_free(r->message.context, r->message.ncontext);
}

void policy_release(struct policy *pol) {
    if (!pol) return;
    if (__atomic_sub_fetch(&pol->refcount, 1, __ATOMIC_ACQ_REL) > 0) return;
    for (int i = 0; i < pol->nrules; i++) rule_release(&pol->rules[i]);
    free(pol->rules);
    for (int i = 0; i < pol->ncaps; i++) {
        free(pol->caps[i].id);
        free(pol->caps[i].channel);
    }
    free(pol->caps);
    free(pol->outcomes.backoff);
    window_release(&pol->call_window);
    window_release(&pol->message_window);
    free(pol->default_tz_name);
    free(pol->file);
    free(pol);
}

int policy_rule_index(const struct policy *pol, const char *id) {
    for (int i = 0; i < pol->nrules; i++)
        if (pol->rules[i].id && !strcmp(pol->rules[i].id, id)) return i;
    return -1;
}

const struct rule *policy_rule(const struct policy *pol, const char *id) {
    int i = policy_rule_index(pol, id);
    return i < 0 ? NULL : &pol->rules[i];
}
