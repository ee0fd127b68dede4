/* e2e_check.c -- check what the daemon produced to Kafka against simulate.
 *
 * usage: e2e_check EXPECTED.jsonl ACTUAL.jsonl [--topic NAME=KAFKA]...
 *                  [--input-topic NAME] [--late-max-ms N]
 *                  [--allow-redelivery] [--no-decisions]
 *
 * EXPECTED is `followupd simulate` output for the same policy and events
 * (lines {"at", "topic", "key", "value"}, topic tasks|reminders|decisions|
 * dead_letter|messages); ACTUAL is `kafka_tool consume` output of the
 * daemon's topics (lines {"at", "ts_ms", "topic", "partition", "offset",
 * "key", "value"}). Either file may be "-" for stdin.
 *
 * The daemon is at-least-once, so both sides are compared as sets of
 * distinct messages: call tasks and cancels by task_id, reminders by
 * reminder_id, message follow-ups (spec 4.2) by message_id, decision
 * records by their whole content less "at" (the decision time), dead
 * letters by (error, payload). A message may come several times; every
 * copy must equal the first (an id the oracle itself gives several
 * versions, e.g. a follow-up decided again after the dedupe window, may
 * have those versions). The first copy of a call task, a reminder or a
 * message follow-up must carry a Kafka timestamp in [due, due +
 * late-max-ms] (due: due_at of a call, send_at of a reminder or a
 * message); every task, reminder, message and decision has key ==
 * value.user_id; every dead letter names the input topic and a real
 * partition and offset. A line that is not valid UTF-8 is a problem, and
 * is then compared with each bad byte as U+FFFD (how the daemon makes a
 * dead letter's payload valid).
 *
 * Prints one summary line per kind, the lateness of everything timed and
 * of each timed kind, then at most MAX_SHOWN problems per kind, then
 * `e2e_check: ok` or `e2e_check: N problems`. Exit 0 when
 * everything holds, 1 on any problem (malformed lines included), 2 on
 * usage, an unreadable file or out of memory. ACTUAL lines on topics that
 * are not mapped are counted and ignored. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "timeutil.h"

#define MAX_SHOWN 10     /* problems printed per kind */
#define MAX_DIFFS 4      /* differing fields shown per message */
#define SHOW_CHARS 400   /* a JSON value shown in a problem, at most */
#define PROBLEM_CHARS 1024
#define TS_NONE INT64_MIN

/* ---- Kinds, options, problems ---- */

/* the simulate topics */
enum kind { K_TASKS = 0, K_REMINDERS, K_DECISIONS, K_DEAD, K_MESSAGES,
            NKINDS };

static const char *const kind_names[NKINDS] = {
    "tasks", "reminders", "decisions", "dead_letter", "messages"};
static const char *const default_topics[NKINDS] = {
    "followup.tasks", "followup.reminders", "followup.decisions",
    "followup.dead_letter", "followup.messages"};

/* what is timed: lateness is summed over all and per timed kind */
enum timed { TM_CALLS = 0, TM_REMINDERS, TM_MESSAGES, NTIMED };

static const char *const timed_names[NTIMED] = {"calls", "reminders",
                                                "messages"};

/* what a problem is about; each is printed under its own heading */
enum cat {
    C_INPUT = 0, /* malformed lines on either side */
    C_TASKS,
    C_CANCELS,
    C_REMINDERS,
    C_MESSAGES,
    C_TIMING,
    C_KEYS,
    C_DECISIONS,
    C_DEAD,
    NCATS
};

static const char *const cat_names[NCATS] = {
    "input", "tasks", "cancels", "reminders", "messages",
    "timing", "keys", "decisions", "dead letters"};

enum side { EXP = 0, ACT = 1 };

struct opts {
    const char *path[2];          /* EXPECTED, ACTUAL */
    const char *topic[NKINDS];    /* Kafka topic of each simulate topic */
    const char *input_topic;
    int64_t late_max_ms;
    int allow_redelivery;
    int no_decisions;
};

struct problems {
    long n;
    char *shown[MAX_SHOWN]; /* the first ones, owned */
};

/* ---- Sets of distinct messages ---- */

/* One distinct value an id has on one side. */
struct version {
    json_t *value;       /* owned reference */
    long copies;         /* lines carrying exactly this value */
    int64_t first_ts;    /* smallest Kafka timestamp of a copy, or TS_NONE */
    long line;           /* line of the first copy */
    json_int_t part, off; /* Kafka partition and offset of it, -1 unknown */
    int matched;         /* scratch: the other side has this value */
};

struct item {
    char *id;
    struct version *vers;
    size_t nvers;
};

/* Messages by id, in order of first appearance. */
struct idset {
    json_t *index;      /* id -> position in items */
    struct item *items;
    size_t n, cap;
    long copies;        /* every line added */
};

/* Where a line came from, for messages. */
struct origin {
    enum side side;
    long line;
    const char *topic;   /* ACTUAL only */
    json_int_t part, off; /* ACTUAL only, -1 unknown */
    int64_t ts;          /* ACTUAL only, TS_NONE unknown */
};

/* lateness of first copies, in ms */
struct lateness {
    long timed;
    int64_t max, sum;
};

struct check {
    struct opts o;
    struct idset calls[2], cancels[2], reminders[2], messages[2],
        decisions[2], dead[2];
    struct problems probs[NCATS];
    long ignored;        /* ACTUAL lines on other topics */
    long extra_dups;     /* distinct unexpected `duplicate` records */
    struct lateness late, late_of[NTIMED]; /* all, and by timed kind */
    int oom;
};

static void problem(struct check *ck, enum cat c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct check *ck, enum cat c, const char *fmt, ...) {
    struct problems *p = &ck->probs[c];
    va_list ap;

    if (p->n < MAX_SHOWN) {
        char *s = malloc(PROBLEM_CHARS);

        if (s) {
            va_start(ap, fmt);
            vsnprintf(s, PROBLEM_CHARS, fmt, ap);
            va_end(ap);
        } else {
            ck->oom = 1;
        }
        p->shown[p->n] = s;
    }
    p->n++;
}

static void idset_release(struct idset *set) {
    for (size_t i = 0; i < set->n; i++) {
        for (size_t j = 0; j < set->items[i].nvers; j++)
            json_decref(set->items[i].vers[j].value);
        free(set->items[i].vers);
        free(set->items[i].id);
    }
    free(set->items);
    json_decref(set->index);
    memset(set, 0, sizeof(*set));
}

static struct item *idset_find(const struct idset *set, const char *id) {
    json_t *pos = json_object_get(set->index, id);

    return pos ? &set->items[json_integer_value(pos)] : NULL;
}

/* Adds one copy of id = value (value borrowed). 0 ok, -1 on ENOMEM. */
static int idset_add(struct idset *set, const char *id, json_t *value,
                     const struct origin *org) {
    struct item *it;
    struct version *v = NULL, *grown;

    if (!set->index && !(set->index = json_object())) return -1;
    if (!(it = idset_find(set, id))) {
        if (set->n == set->cap) {
            size_t cap = set->cap ? set->cap * 2 : 64;
            struct item *items = realloc(set->items, cap * sizeof(*items));

            if (!items) return -1;
            set->items = items;
            set->cap = cap;
        }
        it = &set->items[set->n];
        memset(it, 0, sizeof(*it));
        if (!(it->id = strdup(id))) return -1;
        if (json_object_set_new(set->index, id,
                                json_integer((json_int_t)set->n))) {
            free(it->id);
            return -1;
        }
        set->n++;
    }
    set->copies++;
    for (size_t j = 0; j < it->nvers && !v; j++)
        if (json_equal(it->vers[j].value, value)) v = &it->vers[j];
    if (!v) {
        grown = realloc(it->vers, (it->nvers + 1) * sizeof(*grown));
        if (!grown) return -1;
        it->vers = grown;
        v = &it->vers[it->nvers++];
        memset(v, 0, sizeof(*v));
        v->value = json_incref(value);
        v->first_ts = TS_NONE;
        v->line = org->line;
        v->part = org->part;
        v->off = org->off;
    }
    v->copies++;
    if (org->ts != TS_NONE && (v->first_ts == TS_NONE || org->ts < v->first_ts))
        v->first_ts = org->ts;
    return 0;
}

/* ---- Showing JSON ---- */

/* A bounded string builder: appends are truncated, never overflow. */
struct sbuf {
    char b[PROBLEM_CHARS - 128];
    size_t n;
};

static void sbuf_add(struct sbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sbuf_add(struct sbuf *sb, const char *fmt, ...) {
    va_list ap;
    int w;

    if (sb->n >= sizeof(sb->b) - 1) return;
    va_start(ap, fmt);
    w = vsnprintf(sb->b + sb->n, sizeof(sb->b) - sb->n, fmt, ap);
    va_end(ap);
    if (w < 0) return;
    sb->n += (size_t)w;
    if (sb->n > sizeof(sb->b) - 1) sb->n = sizeof(sb->b) - 1;
}

/* Compact JSON of v into buf (cut to max chars with "..."). */
static const char *show(const json_t *v, char *buf, size_t size, size_t max) {
    char *text;

    if (!v) {
        snprintf(buf, size, "(none)");
        return buf;
    }
    text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                             JSON_ENSURE_ASCII);
    if (!text) {
        snprintf(buf, size, "(unprintable)");
        return buf;
    }
    if (max > size - 4) max = size - 4;
    if (strlen(text) > max)
        snprintf(buf, size, "%.*s...", (int)max, text);
    else
        snprintf(buf, size, "%s", text);
    free(text);
    return buf;
}

/* Appends where exp and got differ, as "path: A vs B" items. */
static void diff_json(struct sbuf *sb, const char *path, json_t *exp,
                      json_t *got, int *ndiff) {
    char sub[256], a[128], b[128];
    const char *key;
    json_t *ev;

    if (json_equal(exp, got)) return;
    if (json_is_object(exp) && json_is_object(got)) {
        json_object_foreach(exp, key, ev) {
            json_t *gv = json_object_get(got, key);

            snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
            if (!gv) {
                if ((*ndiff)++ < MAX_DIFFS)
                    sbuf_add(sb, "%s%s: missing (expected %s)",
                             *ndiff > 1 ? "; " : "", sub,
                             show(ev, a, sizeof(a), 60));
            } else {
                diff_json(sb, sub, ev, gv, ndiff);
            }
        }
        json_object_foreach(got, key, ev) {
            if (json_object_get(exp, key)) continue;
            snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
            if ((*ndiff)++ < MAX_DIFFS)
                sbuf_add(sb, "%s%s: not expected (got %s)",
                         *ndiff > 1 ? "; " : "", sub,
                         show(ev, a, sizeof(a), 60));
        }
        return;
    }
    if (json_is_array(exp) && json_is_array(got) &&
        json_array_size(exp) == json_array_size(got)) {
        for (size_t i = 0; i < json_array_size(exp); i++) {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            diff_json(sb, sub, json_array_get(exp, i), json_array_get(got, i),
                      ndiff);
        }
        return;
    }
    if ((*ndiff)++ < MAX_DIFFS)
        sbuf_add(sb, "%s%s: %s vs %s", *ndiff > 1 ? "; " : "",
                 *path ? path : "(value)", show(exp, a, sizeof(a), 60),
                 show(got, b, sizeof(b), 60));
}

/* "a: 1 vs 2; b: missing ..." (first value expected, second got). */
static const char *diff_text(struct sbuf *sb, json_t *exp, json_t *got) {
    int ndiff = 0;

    sb->n = 0;
    sb->b[0] = '\0';
    diff_json(sb, "", exp, got, &ndiff);
    if (ndiff > MAX_DIFFS)
        sbuf_add(sb, "; and %d more field(s)", ndiff - MAX_DIFFS);
    return sb->b;
}

/* "line 12 (followup.tasks/0@11)" or "line 12" */
static const char *where(const struct origin *org, char *buf, size_t size) {
    if (org->side == ACT && org->topic)
        snprintf(buf, size, "ACTUAL line %ld (%s/%lld@%lld)", org->line,
                 org->topic, (long long)org->part, (long long)org->off);
    else
        snprintf(buf, size, "%s line %ld", org->side == EXP ? "EXPECTED"
                                                            : "ACTUAL",
                 org->line);
    return buf;
}

static const char *version_where(const struct version *v, const char *topic,
                                 char *buf, size_t size) {
    struct origin org = {ACT, v->line, topic, v->part, v->off, TS_NONE};

    return where(&org, buf, size);
}

static const char *str_field(const json_t *obj, const char *name) {
    return json_string_value(json_object_get(obj, name));
}

/* ---- Reading the two files ---- */

static enum kind kind_of_sim_topic(const char *name) {
    for (int k = 0; k < NKINDS; k++)
        if (!strcmp(kind_names[k], name)) return (enum kind)k;
    return NKINDS;
}

/* The canonical text of a decision record less "at" (returned, free()),
 * and that record in *out (new reference). NULL on ENOMEM. */
static char *decision_canon(json_t *value, json_t **out) {
    json_t *rec = json_copy(value);
    char *text;

    *out = NULL;
    if (!rec) return NULL;
    json_object_del(rec, "at");
    text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    if (!text) {
        json_decref(rec);
        return NULL;
    }
    *out = rec;
    return text;
}

/* Files one message of the given kind. 0 ok (problems noted), -1 ENOMEM. */
static int add_message(struct check *ck, enum kind k, json_t *value,
                       json_t *key, const struct origin *org) {
    enum side s = org->side;
    char w[256], a[SHOW_CHARS + 8];
    const char *id;

    if (!json_is_object(value)) {
        problem(ck, C_INPUT, "%s: %s value is not a JSON object: %s",
                where(org, w, sizeof(w)), kind_names[k],
                show(value, a, sizeof(a), 80));
        return 0;
    }
    /* keys of the daemon's messages; dead letters keep the event's key */
    if (s == ACT && k != K_DEAD) {
        const char *uid = str_field(value, "user_id");

        if (!uid)
            problem(ck, C_KEYS, "%s: %s message has no string user_id",
                    where(org, w, sizeof(w)), kind_names[k]);
        else if (!json_is_string(key) || strcmp(json_string_value(key), uid))
            problem(ck, C_KEYS, "%s: key %s but user_id \"%s\"",
                    where(org, w, sizeof(w)), show(key, a, sizeof(a), 80),
                    uid);
    }
    switch (k) {
    case K_TASKS: {
        const char *action = str_field(value, "action");

        if (!(id = str_field(value, "task_id"))) {
            problem(ck, C_INPUT, "%s: task lacks a string task_id",
                    where(org, w, sizeof(w)));
            return 0;
        }
        if (action && !strcmp(action, "call"))
            return idset_add(&ck->calls[s], id, value, org);
        if (action && !strcmp(action, "cancel"))
            return idset_add(&ck->cancels[s], id, value, org);
        problem(ck, C_INPUT, "%s: task %s has action %s, not call or cancel",
                where(org, w, sizeof(w)), id,
                show(json_object_get(value, "action"), a, sizeof(a), 80));
        return 0;
    }
    case K_REMINDERS:
        if (!(id = str_field(value, "reminder_id"))) {
            problem(ck, C_INPUT, "%s: reminder lacks a string reminder_id",
                    where(org, w, sizeof(w)));
            return 0;
        }
        return idset_add(&ck->reminders[s], id, value, org);
    case K_MESSAGES:
        if (!(id = str_field(value, "message_id"))) {
            problem(ck, C_INPUT, "%s: message lacks a string message_id",
                    where(org, w, sizeof(w)));
            return 0;
        }
        return idset_add(&ck->messages[s], id, value, org);
    case K_DECISIONS: {
        json_t *rec;
        char *canon = decision_canon(value, &rec);
        int rc;

        if (!canon) return -1;
        rc = idset_add(&ck->decisions[s], canon, rec, org);
        free(canon);
        json_decref(rec);
        return rc;
    }
    case K_DEAD: {
        const char *error = str_field(value, "error");
        json_t *payload = json_object_get(value, "payload"), *pair;
        char *canon;
        int rc;

        if (!error || !json_is_string(payload)) {
            problem(ck, C_INPUT, "%s: dead letter lacks a string error or "
                    "payload", where(org, w, sizeof(w)));
            return 0;
        }
        if (s == ACT) {
            json_t *src = json_object_get(value, "source");
            const char *topic = str_field(src, "topic");
            json_t *part = json_object_get(src, "partition");
            json_t *off = json_object_get(src, "offset");

            if (!topic || strcmp(topic, ck->o.input_topic))
                problem(ck, C_DEAD, "%s: source.topic %s, expected \"%s\"",
                        where(org, w, sizeof(w)),
                        show(json_object_get(src, "topic"), a, sizeof(a), 80),
                        ck->o.input_topic);
            if (!json_is_integer(part) || json_integer_value(part) < 0 ||
                !json_is_integer(off) || json_integer_value(off) < 0)
                problem(ck, C_DEAD, "%s: source.partition/offset must be "
                        "integers >= 0: %s", where(org, w, sizeof(w)),
                        show(src, a, sizeof(a), 120));
        }
        if (!(pair = json_pack("{s:s, s:O}", "error", error, "payload",
                               payload)))
            return -1;
        canon = json_dumps(pair, JSON_COMPACT | JSON_SORT_KEYS |
                                     JSON_ENSURE_ASCII);
        rc = canon ? idset_add(&ck->dead[s], canon, pair, org) : -1;
        free(canon);
        json_decref(pair);
        return rc;
    }
    default:
        return 0;
    }
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    size_t len;
    unsigned min, cp;

    if (s[0] < 0x80) return 1;
    if ((s[0] & 0xE0) == 0xC0) len = 2, min = 0x80, cp = s[0] & 0x1F;
    else if ((s[0] & 0xF0) == 0xE0) len = 3, min = 0x800, cp = s[0] & 0x0F;
    else if ((s[0] & 0xF8) == 0xF0) len = 4, min = 0x10000, cp = s[0] & 0x07;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* Offset of the first byte of text[0..len) that is not valid UTF-8, or
 * len when all of it is. */
static size_t utf8_bad(const char *text, size_t len) {
    const unsigned char *u = (const unsigned char *)text;
    size_t i = 0, k;

    while (i < len && (k = utf8_seq(u + i, len - i))) i += k;
    return i;
}

/* text with each invalid byte as U+FFFD (as the daemon makes a dead
 * letter's payload valid); malloc'd, NULL on ENOMEM. */
static char *utf8_fix(const char *text, size_t len, size_t *out_len) {
    const unsigned char *u = (const unsigned char *)text;
    char *out = malloc(len * 3 + 1);
    size_t o = 0;

    if (!out) return NULL;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(u + i, len - i);

        if (k) {
            memcpy(out + o, text + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

/* One line of either file. 0 ok (problems noted), -1 on ENOMEM. */
static int read_line(struct check *ck, enum side s, long lineno, char *text,
                     size_t len) {
    struct origin org = {s, lineno, NULL, -1, -1, TS_NONE};
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr), *value, *jt;
    const char *topic;
    char w[256];
    enum kind k = NKINDS;
    int rc = 0;
    size_t bad;

    /* JSON text is UTF-8: say so, then compare the line as the daemon
     * would have made it valid */
    if (!root && (bad = utf8_bad(text, len)) < len) {
        size_t fixed_len;
        char *fixed = utf8_fix(text, len, &fixed_len);

        if (!fixed) return -1;
        problem(ck, C_INPUT, "%s: not valid UTF-8 (byte 0x%02x at column "
                "%zu); compared with each bad byte as U+FFFD",
                where(&org, w, sizeof(w)), (unsigned char)text[bad], bad + 1);
        root = json_loadb(fixed, fixed_len, 0, &jerr);
        free(fixed);
    }
    if (!json_is_object(root)) {
        if (root)
            problem(ck, C_INPUT, "%s: not a JSON object",
                    where(&org, w, sizeof(w)));
        else
            problem(ck, C_INPUT, "%s: not JSON: %s (column %d)",
                    where(&org, w, sizeof(w)), jerr.text, jerr.column);
        json_decref(root);
        return 0;
    }
    if (!(topic = str_field(root, "topic"))) {
        problem(ck, C_INPUT, "%s: no string \"topic\"",
                where(&org, w, sizeof(w)));
        goto out;
    }
    if (!(value = json_object_get(root, "value"))) {
        problem(ck, C_INPUT, "%s: no \"value\"", where(&org, w, sizeof(w)));
        goto out;
    }
    if (s == EXP) {
        if ((k = kind_of_sim_topic(topic)) == NKINDS) {
            problem(ck, C_INPUT, "%s: unknown simulate topic \"%s\"",
                    where(&org, w, sizeof(w)), topic);
            goto out;
        }
    } else {
        for (int i = 0; i < NKINDS && k == NKINDS; i++)
            if (!strcmp(topic, ck->o.topic[i])) k = (enum kind)i;
        if (k == NKINDS) {
            ck->ignored++;
            goto out;
        }
        org.topic = topic;
        if (json_is_integer(jt = json_object_get(root, "partition")))
            org.part = json_integer_value(jt);
        if (json_is_integer(jt = json_object_get(root, "offset")))
            org.off = json_integer_value(jt);
        if (json_is_integer(jt = json_object_get(root, "ts_ms")))
            org.ts = json_integer_value(jt);
        else if (k == K_TASKS || k == K_REMINDERS || k == K_MESSAGES)
            problem(ck, C_INPUT, "%s: no integer ts_ms",
                    where(&org, w, sizeof(w)));
    }
    if (k == K_DECISIONS && ck->o.no_decisions) goto out;
    rc = add_message(ck, k, value, json_object_get(root, "key"), &org);
out:
    json_decref(root);
    return rc;
}

/* 0 ok, -1 unreadable (said on stderr), -2 ENOMEM. */
static int read_file(struct check *ck, enum side s) {
    const char *path = ck->o.path[s];
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;

    if (!f) {
        fprintf(stderr, "e2e_check: cannot open '%s': %s\n", path,
                strerror(errno));
        return -1;
    }
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        size_t n = (size_t)len, i;

        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        for (i = 0; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
            ;
        if (i == n) continue;
        if (read_line(ck, s, lineno, line, n) < 0) rc = -2;
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "e2e_check: reading '%s': %s\n", path,
                strerror(errno));
        rc = -1;
    }
    free(line);
    if (f != stdin) fclose(f);
    return rc;
}

/* ---- Comparing ---- */

/* due time in ms of a timed value ("due_at" of a call, "send_at" of a
 * reminder or a message), or TS_NONE */
static int64_t due_ms(const json_t *value, const char *field) {
    const char *s = str_field(value, field);
    int64_t t;

    if (!s || time_parse_rfc3339(s, &t) < 0) return TS_NONE;
    return t * 1000;
}

static void lateness_add(struct lateness *l, int64_t late) {
    if (l->timed == 0 || late > l->max) l->max = late;
    l->sum += late;
    l->timed++;
}

/* Times the first copy of a matched version against its due field;
 * counted in the lateness of all and of kind tm. */
static void time_version(struct check *ck, enum timed tm, const char *what,
                         const char *id, const struct version *v,
                         const char *field, const char *topic) {
    int64_t due = due_ms(v->value, field), late;
    char w[256];

    if (due == TS_NONE) {
        problem(ck, C_TIMING, "%s %s: no valid %s to time it by", what, id,
                field);
        return;
    }
    if (v->first_ts == TS_NONE) {
        problem(ck, C_TIMING, "%s %s: no copy has a Kafka timestamp", what,
                id);
        return;
    }
    late = v->first_ts - due;
    if (late < 0)
        problem(ck, C_TIMING, "%s %s early by %lld ms (%s %s, first copy "
                "%s)", what, id, (long long)-late, field,
                str_field(v->value, field),
                version_where(v, topic, w, sizeof(w)));
    else if (late > ck->o.late_max_ms)
        problem(ck, C_TIMING, "%s %s late by %lld ms, more than %lld (%s %s, "
                "first copy %s)", what, id, (long long)late,
                (long long)ck->o.late_max_ms, field,
                str_field(v->value, field),
                version_where(v, topic, w, sizeof(w)));
    lateness_add(&ck->late, late);
    lateness_add(&ck->late_of[tm], late);
}

/* Compares an id-keyed kind. what names the id ("task_id"); field is the
 * due field to time matched versions by (their lateness counted as kind
 * tm), or NULL. */
static void compare_ids(struct check *ck, enum cat c, struct idset *set,
                        const char *what, const char *field, enum timed tm,
                        const char *topic) {
    struct idset *exp = &set[EXP], *act = &set[ACT];
    char w[256], w0[256], a[SHOW_CHARS + 8];
    struct sbuf sb;

    for (size_t i = 0; i < exp->n; i++) {
        struct item *ei = &exp->items[i];

        if (!idset_find(act, ei->id))
            problem(ck, c, "missing %s %s%s%s", what, ei->id,
                    field ? " due " : "",
                    field ? (str_field(ei->vers[0].value, field)
                                 ? str_field(ei->vers[0].value, field)
                                 : "?")
                          : "");
    }
    for (size_t i = 0; i < act->n; i++) {
        struct item *ai = &act->items[i], *ei = idset_find(exp, ai->id);
        struct version *ref = NULL;

        if (!ei) {
            problem(ck, c, "unexpected %s %s (%s): %s", what, ai->id,
                    version_where(&ai->vers[0], topic, w, sizeof(w)),
                    show(ai->vers[0].value, a, sizeof(a), 160));
            continue;
        }
        for (size_t j = 0; j < ei->nvers; j++) ei->vers[j].matched = 0;
        for (size_t j = 0; j < ai->nvers; j++) {
            ai->vers[j].matched = 0;
            for (size_t e = 0; e < ei->nvers; e++)
                if (json_equal(ai->vers[j].value, ei->vers[e].value)) {
                    ai->vers[j].matched = ei->vers[e].matched = 1;
                    break;
                }
        }
        for (size_t j = 0; j < ai->nvers; j++) {
            struct version *v = &ai->vers[j];

            if (v->matched) {
                if (field)
                    time_version(ck, tm, what, ai->id, v, field, topic);
                continue;
            }
            if (j > 0) {
                problem(ck, c, "%s %s: copy at %s differs from the first "
                        "copy at %s: %s", what, ai->id,
                        version_where(v, topic, w, sizeof(w)),
                        version_where(&ai->vers[0], topic, w0, sizeof(w0)),
                        diff_text(&sb, ai->vers[0].value, v->value));
                continue;
            }
            /* the first copy is wrong: set it against an expected version
             * nothing matched, which is then reported here only */
            for (size_t e = 0; e < ei->nvers && !ref; e++)
                if (!ei->vers[e].matched) ref = &ei->vers[e];
            if (ref)
                ref->matched = 1;
            else
                ref = &ei->vers[0];
            problem(ck, c, "%s %s differs (%s), expected vs got: %s", what,
                    ai->id, version_where(v, topic, w, sizeof(w)),
                    diff_text(&sb, ref->value, v->value));
        }
        for (size_t e = 0; e < ei->nvers; e++)
            if (!ei->vers[e].matched)
                problem(ck, c, "%s %s: missing its version %s", what, ai->id,
                        show(ei->vers[e].value, a, sizeof(a), 200));
    }
}

static void compare_decisions(struct check *ck) {
    struct idset *exp = &ck->decisions[EXP], *act = &ck->decisions[ACT];
    const char *topic = ck->o.topic[K_DECISIONS];
    char w[256], a[SHOW_CHARS + 8];

    for (size_t i = 0; i < exp->n; i++)
        if (!idset_find(act, exp->items[i].id))
            problem(ck, C_DECISIONS, "missing record %s",
                    show(exp->items[i].vers[0].value, a, sizeof(a),
                         SHOW_CHARS));
    for (size_t i = 0; i < act->n; i++) {
        struct version *v = &act->items[i].vers[0];
        const char *d = str_field(v->value, "decision");

        if (idset_find(exp, act->items[i].id)) continue;
        if (d && !strcmp(d, "duplicate")) {
            ck->extra_dups++;
            if (!ck->o.allow_redelivery)
                problem(ck, C_DECISIONS, "unexpected duplicate record (%s; "
                        "allowed with --allow-redelivery): %s",
                        version_where(v, topic, w, sizeof(w)),
                        show(v->value, a, sizeof(a), SHOW_CHARS));
            continue;
        }
        problem(ck, C_DECISIONS, "unexpected record (%s): %s",
                version_where(v, topic, w, sizeof(w)),
                show(v->value, a, sizeof(a), SHOW_CHARS));
    }
}

/* At most max bytes of s[0..n), not cutting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n, size_t max) {
    if (n <= max) return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) max--;
    return max;
}

/* "lengths A vs B, first difference at character N: ...a vs ...b" of two
 * payloads that differ */
static const char *payload_diff(struct sbuf *sb, const char *a, size_t na,
                                const char *b, size_t nb) {
    size_t i = 0, from;
    char ea[120], eb[120];
    json_t *ja, *jb;

    while (i < na && i < nb && a[i] == b[i]) i++;
    from = i > 20 ? i - 20 : 0;
    while (from > 0 && ((unsigned char)a[from] & 0xC0) == 0x80) from--;
    ja = json_stringn(a + from, utf8_cut(a + from, na - from, 60));
    jb = json_stringn(b + from, utf8_cut(b + from, nb - from, 60));
    sb->n = 0;
    sb->b[0] = '\0';
    sbuf_add(sb, "lengths %zu vs %zu, first difference at byte %zu: "
             "%s%s vs %s%s", na, nb, i, from ? "..." : "",
             show(ja, ea, sizeof(ea), 100), from ? "..." : "",
             show(jb, eb, sizeof(eb), 100));
    json_decref(ja);
    json_decref(jb);
    return sb->b;
}

static void compare_dead(struct check *ck) {
    struct idset *exp = &ck->dead[EXP], *act = &ck->dead[ACT];
    const char *topic = ck->o.topic[K_DEAD];
    char w[256], a[SHOW_CHARS + 8];
    struct sbuf sb;

    /* matched: present on the other side, or paired with an unexpected
     * dead letter of the same error below */
    for (size_t i = 0; i < exp->n; i++)
        exp->items[i].vers[0].matched = !!idset_find(act, exp->items[i].id);
    for (size_t i = 0; i < act->n; i++) {
        struct version *v = &act->items[i].vers[0], *e = NULL;
        const char *error = str_field(v->value, "error");

        if (idset_find(exp, act->items[i].id)) continue;
        for (size_t j = 0; j < exp->n && !e; j++)
            if (!exp->items[j].vers[0].matched &&
                !strcmp(error, str_field(exp->items[j].vers[0].value,
                                         "error")))
                e = &exp->items[j].vers[0];
        if (e) {
            json_t *pe = json_object_get(e->value, "payload");
            json_t *pa = json_object_get(v->value, "payload");

            e->matched = 1;
            problem(ck, C_DEAD, "payload differs for error %s (%s): %s",
                    show(json_object_get(v->value, "error"), a, sizeof(a),
                         160),
                    version_where(v, topic, w, sizeof(w)),
                    payload_diff(&sb, json_string_value(pe),
                                 json_string_length(pe),
                                 json_string_value(pa),
                                 json_string_length(pa)));
            continue;
        }
        problem(ck, C_DEAD, "unexpected (%s): %s",
                version_where(v, topic, w, sizeof(w)),
                show(v->value, a, sizeof(a), SHOW_CHARS));
    }
    for (size_t i = 0; i < exp->n; i++)
        if (!exp->items[i].vers[0].matched)
            problem(ck, C_DEAD, "missing %s",
                    show(exp->items[i].vers[0].value, a, sizeof(a),
                         SHOW_CHARS));
}

/* ---- Report ---- */

static long report(const struct check *ck) {
    long total = 0;

    printf("tasks: expected %zu got %zu (copies %ld)\n", ck->calls[EXP].n,
           ck->calls[ACT].n, ck->calls[ACT].copies);
    printf("cancels: expected %zu got %zu (copies %ld)\n", ck->cancels[EXP].n,
           ck->cancels[ACT].n, ck->cancels[ACT].copies);
    printf("reminders: expected %zu got %zu (copies %ld)\n",
           ck->reminders[EXP].n, ck->reminders[ACT].n,
           ck->reminders[ACT].copies);
    printf("messages: expected %zu got %zu (copies %ld)\n",
           ck->messages[EXP].n, ck->messages[ACT].n,
           ck->messages[ACT].copies);
    if (ck->o.no_decisions)
        printf("decisions: not checked (--no-decisions)\n");
    else
        printf("decisions: expected %zu got %zu (+%ld duplicate)\n",
               ck->decisions[EXP].n,
               ck->decisions[ACT].n - (size_t)ck->extra_dups, ck->extra_dups);
    printf("dead letters: expected %zu got %zu (copies %ld)\n",
           ck->dead[EXP].n, ck->dead[ACT].n, ck->dead[ACT].copies);
    if (ck->late.timed)
        printf("lateness ms: max %lld mean %lld (%ld timed, limit %lld)\n",
               (long long)ck->late.max,
               (long long)(ck->late.sum / ck->late.timed), ck->late.timed,
               (long long)ck->o.late_max_ms);
    else
        printf("lateness ms: nothing timed\n");
    for (int t = 0; t < NTIMED; t++) {
        const struct lateness *l = &ck->late_of[t];

        if (l->timed)
            printf("lateness ms of %s: max %lld mean %lld (%ld timed)\n",
                   timed_names[t], (long long)l->max,
                   (long long)(l->sum / l->timed), l->timed);
    }
    if (ck->ignored)
        printf("other topics: %ld lines ignored\n", ck->ignored);
    for (int c = 0; c < NCATS; c++) {
        const struct problems *p = &ck->probs[c];

        for (long i = 0; i < p->n && i < MAX_SHOWN; i++)
            if (p->shown[i]) printf("%s: %s\n", cat_names[c], p->shown[i]);
        if (p->n > MAX_SHOWN)
            printf("%s: ... and %ld more\n", cat_names[c], p->n - MAX_SHOWN);
        total += p->n;
    }
    if (total)
        printf("e2e_check: %ld problem%s\n", total, total == 1 ? "" : "s");
    else
        printf("e2e_check: ok\n");
    return total;
}

static void check_release(struct check *ck) {
    for (int s = 0; s < 2; s++) {
        idset_release(&ck->calls[s]);
        idset_release(&ck->cancels[s]);
        idset_release(&ck->reminders[s]);
        idset_release(&ck->messages[s]);
        idset_release(&ck->decisions[s]);
        idset_release(&ck->dead[s]);
    }
    for (int c = 0; c < NCATS; c++)
        for (long i = 0; i < ck->probs[c].n && i < MAX_SHOWN; i++)
            free(ck->probs[c].shown[i]);
}

/* ---- Command line ---- */

static void usage(FILE *f) {
    fprintf(f,
            "usage: e2e_check EXPECTED.jsonl ACTUAL.jsonl [options]\n"
            "  EXPECTED: `followupd simulate` output; ACTUAL: `kafka_tool "
            "consume` output\n"
            "  (either may be - for stdin)\n"
            "  --topic NAME=KAFKA    Kafka topic of simulate topic NAME "
            "(tasks, reminders,\n"
            "                        decisions, dead_letter, messages); "
            "default followup.NAME\n"
            "  --input-topic NAME    topic dead letters must name "
            "(default wallet.events)\n"
            "  --late-max-ms N       how late a first task/reminder/message "
            "copy may be\n"
            "                        (default 5000)\n"
            "  --allow-redelivery    allow extra `duplicate` decision "
            "records\n"
            "  --no-decisions        ignore the decisions topic on both "
            "sides\n"
            "exit: 0 all checks hold, 1 a problem, 2 usage or unreadable "
            "input\n");
}

/* 0 ok, 1 --help shown, -1 usage error (said on stderr). */
static int parse_args(int argc, char **argv, struct opts *o) {
    static const struct option longopts[] = {
        {"topic", required_argument, NULL, 't'},
        {"input-topic", required_argument, NULL, 'i'},
        {"late-max-ms", required_argument, NULL, 'l'},
        {"allow-redelivery", no_argument, NULL, 'r'},
        {"no-decisions", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int ch;

    for (int k = 0; k < NKINDS; k++) o->topic[k] = default_topics[k];
    o->input_topic = "wallet.events";
    o->late_max_ms = 5000;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 't': {
            const char *eq = strchr(optarg, '=');
            int k;

            for (k = 0; eq && k < NKINDS; k++)
                if (strlen(kind_names[k]) == (size_t)(eq - optarg) &&
                    !strncmp(kind_names[k], optarg, (size_t)(eq - optarg)))
                    break;
            if (!eq || k == NKINDS || !eq[1]) {
                fprintf(stderr, "e2e_check: --topic '%s': write NAME=KAFKA "
                        "with NAME one of tasks, reminders, decisions, "
                        "dead_letter, messages\n", optarg);
                return -1;
            }
            o->topic[k] = eq + 1;
            break;
        }
        case 'i':
            if (!*optarg) {
                fprintf(stderr, "e2e_check: --input-topic is empty\n");
                return -1;
            }
            o->input_topic = optarg;
            break;
        case 'l': {
            char *end;
            long long v;

            errno = 0;
            v = strtoll(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 0) {
                fprintf(stderr, "e2e_check: --late-max-ms '%s' is not a "
                        "count of ms >= 0\n", optarg);
                return -1;
            }
            o->late_max_ms = v;
            break;
        }
        case 'r': o->allow_redelivery = 1; break;
        case 'n': o->no_decisions = 1; break;
        case 'h': usage(stdout); return 1;
        default:
            fprintf(stderr, "e2e_check: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            return -1;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "e2e_check: want EXPECTED and ACTUAL files\n");
        return -1;
    }
    o->path[EXP] = argv[optind];
    o->path[ACT] = argv[optind + 1];
    if (!strcmp(o->path[EXP], "-") && !strcmp(o->path[ACT], "-")) {
        fprintf(stderr, "e2e_check: only one of the files can be stdin\n");
        return -1;
    }
    for (int a = 0; a < NKINDS; a++)
        for (int b = a + 1; b < NKINDS; b++) {
            if (o->no_decisions && (a == K_DECISIONS || b == K_DECISIONS))
                continue;
            if (!strcmp(o->topic[a], o->topic[b])) {
                fprintf(stderr, "e2e_check: %s and %s both map to Kafka "
                        "topic '%s'\n", kind_names[a], kind_names[b],
                        o->topic[a]);
                return -1;
            }
        }
    return 0;
}

int main(int argc, char **argv) {
    struct check ck;
    int rc;
    long total;

    memset(&ck, 0, sizeof(ck));
    rc = parse_args(argc, argv, &ck.o);
    if (rc) {
        if (rc < 0) usage(stderr);
        return rc < 0 ? 2 : 0;
    }
    for (int s = EXP; s <= ACT && rc == 0; s++)
        rc = read_file(&ck, (enum side)s);
    if (rc == 0) {
        compare_ids(&ck, C_TASKS, ck.calls, "task_id", "due_at", TM_CALLS,
                    ck.o.topic[K_TASKS]);
        compare_ids(&ck, C_CANCELS, ck.cancels, "task_id", NULL, TM_CALLS,
                    ck.o.topic[K_TASKS]);
        compare_ids(&ck, C_REMINDERS, ck.reminders, "reminder_id", "send_at",
                    TM_REMINDERS, ck.o.topic[K_REMINDERS]);
        compare_ids(&ck, C_MESSAGES, ck.messages, "message_id", "send_at",
                    TM_MESSAGES, ck.o.topic[K_MESSAGES]);
        if (!ck.o.no_decisions) compare_decisions(&ck);
        compare_dead(&ck);
    }
    if (rc == -2 || ck.oom) {
        fprintf(stderr, "e2e_check: out of memory\n");
        check_release(&ck);
        return 2;
    }
    if (rc < 0) {
        check_release(&ck);
        return 2;
    }
    total = report(&ck);
    check_release(&ck);
    if (fflush(stdout)) {
        fprintf(stderr, "e2e_check: stdout: %s\n", strerror(errno));
        return 2;
    }
    return total ? 1 : 0;
}
