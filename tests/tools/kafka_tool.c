/* kafka_tool.c -- produce, consume and read group offsets, for tests and
 * benchmarks.
 *
 * usage:
 *   kafka_tool produce BOOTSTRAP TOPIC FILE|- [--delay-ms N] [--rate N]
 *                      [--max-ahead N --group G] [--stats]
 *       One message per non-blank line; the key is the line's string
 *       "user_id" when the line is a JSON object having one. Waits for
 *       every delivery report; prints `produced N` on stderr; exits 0 only
 *       if every message was delivered.
 *       --rate N: N messages a second on average, paced every millisecond
 *       (not with --delay-ms). --max-ahead N --group G: never more than N
 *       messages of TOPIC that group G has not committed (TOPIC must
 *       exist); the committed offsets are read at most every 50 ms, only
 *       near the limit. --stats: then `produced N in S s (R msg/s)` on
 *       stderr, and with --max-ahead a line `max ahead ...`.
 *   kafka_tool consume BOOTSTRAP TOPIC[,TOPIC...] [--count N]
 *                      [--timeout-ms T] [--idle-ms I]
 *       Reads every partition from the beginning (assign, no group
 *       commits) and prints one JSON line a message: {"at", "ts_ms",
 *       "topic", "partition", "offset", "key", "value"}, the value
 *       embedded as JSON when it parses, else as a string. Stops after N
 *       messages, T ms in all (default 10000), I ms without a message, or
 *       SIGTERM/SIGINT; prints `consumed N` on stderr and exits 0. Topics
 *       that do not exist yet are picked up when they appear.
 *   kafka_tool consume-bench BOOTSTRAP TOPIC GROUP --count N [--idle-ms I]
 *       The input-side ceiling: a bare consumer in GROUP (subscribed, the
 *       daemon's consumer settings, offsets stored after each batch and
 *       auto-committed every 200 ms) parses each message with jansson and
 *       tests the bench policy's transaction rule on it. After N messages
 *       prints on stdout `bare consumer: N events in S s = R events/s
 *       (matched M)`, timed from the first message to the N-th. Gives up
 *       after I ms without a message (default 60000); exits 1 then, or
 *       when offsets were skipped (records trimmed before they were read).
 *   kafka_tool offsets BOOTSTRAP GROUP TOPIC
 *       The group's committed offset of each partition of TOPIC, one line
 *       `P OFFSET` (-1001 when none).
 * Every command also takes `-X PROPERTY=VALUE` (repeatable), handed to
 * librdkafka after the tool's own settings. Exit codes: 0 ok, 1 Kafka or
 * input error, 2 usage. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "tool.h"

#define MAX_PROPS 32
#define MAX_TOPICS 64
#define MAX_DR_ERRORS 10 /* delivery failures printed, then only counted */
#define METADATA_EVERY_MS 1000
#define POLL_EVERY 256        /* produce: serve reports every N messages */
#define AHEAD_CHECK_US 50000  /* --max-ahead: committed read at most this often */
#define AHEAD_STALL_US 60000000 /* --max-ahead: give up when the group commits
                                   nothing for this long while we wait */
#define BENCH_BATCH 2000      /* consume-bench: records a poll batch (daemon) */
#define BENCH_MAX_PARTS 1024  /* consume-bench: partitions checked for gaps */

enum cmd { CMD_PRODUCE, CMD_CONSUME, CMD_OFFSETS, CMD_CONSUME_BENCH };

struct opts {
    enum cmd cmd;
    const char *pos[3]; /* BOOTSTRAP and the arguments after it */
    int npos;
    int delay_ms, count, timeout_ms, idle_ms;
    int rate, max_ahead; /* produce: 0 = off */
    const char *group;   /* produce --group */
    int stats;           /* produce --stats */
    const char *props[MAX_PROPS]; /* "name=value" */
    int nprops;
};

struct delivery {
    long delivered, failed;
};

static volatile sig_atomic_t fatal; /* librdkafka raised __FATAL */

/* ---- Helpers ---- */

static int64_t now_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_us(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void usage(void) {
    fprintf(stderr,
            "usage: kafka_tool produce BOOTSTRAP TOPIC FILE|- "
            "[--delay-ms N | --rate N] [--max-ahead N --group G] "
            "[--stats] [-X PROP=VAL]...\n"
            "       kafka_tool consume BOOTSTRAP TOPIC[,TOPIC...] "
            "[--count N] [--timeout-ms T] [--idle-ms I] [-X PROP=VAL]...\n"
            "       kafka_tool consume-bench BOOTSTRAP TOPIC GROUP --count N "
            "[--idle-ms I] [-X PROP=VAL]...\n"
            "       kafka_tool offsets BOOTSTRAP GROUP TOPIC "
            "[-X PROP=VAL]...\n");
}

/* A consumer error is informational (the consumer carries on): print it
 * unless it is a partition's end, and free it. 1 when rkm was one. */
static int consumer_event(rd_kafka_message_t *rkm) {
    if (!rkm->err) return 0;
    if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        fprintf(stderr, "kafka_tool: consume: %s\n",
                rd_kafka_message_errstr(rkm));
    rd_kafka_message_destroy(rkm);
    return 1;
}

/* Options may come before, between or after the positional arguments.
 * 0 ok, -1 bad usage. */
static int parse_args(int argc, char **argv, struct opts *o) {
    memset(o, 0, sizeof(*o));
    o->count = -1;
    o->idle_ms = -1;
    o->timeout_ms = 10000;
    if (argc < 2) return -1;
    if (!strcmp(argv[1], "produce")) o->cmd = CMD_PRODUCE;
    else if (!strcmp(argv[1], "consume")) o->cmd = CMD_CONSUME;
    else if (!strcmp(argv[1], "offsets")) o->cmd = CMD_OFFSETS;
    else if (!strcmp(argv[1], "consume-bench")) o->cmd = CMD_CONSUME_BENCH;
    else return -1;

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int *num = NULL;
        long min = 0;

        if (a[0] != '-' || !strcmp(a, "-")) {
            if (o->npos == 3) return -1;
            o->pos[o->npos++] = a;
            continue;
        }
        if (o->cmd == CMD_PRODUCE && !strcmp(a, "--stats")) {
            o->stats = 1; /* the only option without a value */
            continue;
        }
        if (!v) return -1; /* every other option takes a value */
        i++;
        if (!strcmp(a, "-X")) {
            if (o->nprops == MAX_PROPS || !strchr(v, '=')) return -1;
            o->props[o->nprops++] = v;
            continue;
        }
        int consuming = o->cmd == CMD_CONSUME || o->cmd == CMD_CONSUME_BENCH;

        if (o->cmd == CMD_PRODUCE && !strcmp(a, "--group")) {
            o->group = v;
            continue;
        }
        if (o->cmd == CMD_PRODUCE && !strcmp(a, "--delay-ms")) {
            num = &o->delay_ms;
        } else if (o->cmd == CMD_PRODUCE && !strcmp(a, "--rate")) {
            num = &o->rate;
            min = 1;
        } else if (o->cmd == CMD_PRODUCE && !strcmp(a, "--max-ahead")) {
            num = &o->max_ahead;
            min = 1;
        } else if (consuming && !strcmp(a, "--count")) {
            num = &o->count;
            min = 1;
        } else if (o->cmd == CMD_CONSUME && !strcmp(a, "--timeout-ms")) {
            num = &o->timeout_ms;
        } else if (consuming && !strcmp(a, "--idle-ms")) {
            num = &o->idle_ms;
            min = 1;
        } else {
            return -1;
        }
        if (parse_int(v, min, INT32_MAX, num)) return -1;
    }
    if (o->rate && o->delay_ms) return -1;
    if (!o->max_ahead != !o->group) return -1; /* both or neither */
    if (o->cmd == CMD_CONSUME_BENCH) {
        if (o->count < 0) return -1; /* --count is required */
        if (o->idle_ms < 0) o->idle_ms = 60000;
    }
    return o->npos == (o->cmd == CMD_CONSUME ? 2 : 3) ? 0 : -1;
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason,
                     void *opaque) {
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];

        err = rd_kafka_fatal_error(rk, buf, sizeof(buf));
        fprintf(stderr, "kafka_tool: fatal: %s: %s\n",
                rd_kafka_err2name((rd_kafka_resp_err_t)err), buf);
        fatal = 1;
        stop = 1;
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__TRANSPORT) return; /* librdkafka logs it */
    fprintf(stderr, "kafka_tool: %s: %s\n",
            rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* A configuration with bootstrap.servers, the tool's settings
 * (NULL-terminated name, value pairs) and then the -X properties.
 * Returned to be freed with rd_kafka_conf_destroy (or handed to
 * rd_kafka_new); NULL after printing the reason. */
static rd_kafka_conf_t *make_conf(const struct opts *o,
                                  const char *const *settings) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];

    rd_kafka_conf_set_error_cb(conf, error_cb);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", o->pos[0], errstr,
                          sizeof(errstr)))
        goto err;
    for (int i = 0; settings[i]; i += 2)
        if (rd_kafka_conf_set(conf, settings[i], settings[i + 1], errstr,
                              sizeof(errstr)))
            goto err;
    for (int i = 0; i < o->nprops; i++) {
        const char *eq = strchr(o->props[i], '=');
        char name[256];
        size_t n = (size_t)(eq - o->props[i]);

        if (n >= sizeof(name)) {
            snprintf(errstr, sizeof(errstr), "property name too long");
            goto err;
        }
        memcpy(name, o->props[i], n);
        name[n] = '\0';
        if (rd_kafka_conf_set(conf, name, eq + 1, errstr, sizeof(errstr)))
            goto err;
    }
    return conf;
err:
    fprintf(stderr, "kafka_tool: %s\n", errstr);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* A client of the given type; NULL after printing the reason. */
static rd_kafka_t *make_client(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
    char errstr[512];
    rd_kafka_t *rk;

    if (!conf) return NULL;
    if (!(rk = rd_kafka_new(type, conf, errstr, sizeof(errstr)))) {
        fprintf(stderr, "kafka_tool: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
    }
    return rk; /* conf is owned by rk from here */
}

/* ---- The key of a line ---- */

/* The key is the line's top-level string "user_id" as jansson reads it.
 * Building a jansson tree for every line costs more than the rest of the
 * producer, so a scan that builds nothing reads the common lines: plain
 * ASCII JSON, no escapes, short numbers. It answers only when jansson
 * would surely answer the same; anything else (escapes, non-ASCII bytes,
 * long numbers, deep nesting, a repeated user_id, bad JSON) is left to
 * jansson. */

enum { SCAN_UNSURE = -1, SCAN_NONE = 0, SCAN_KEY = 1 };
#define SCAN_MAX_DEPTH 32
#define SCAN_MAX_DIGITS 15 /* below any integer or real overflow */

struct scan {
    const char *p, *end;
    const char *key; /* the user_id string, when found */
    size_t key_len;
    int found; /* 0 none, 1 a string, 2 another kind of value */
};

static void scan_ws(struct scan *sc) {
    while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' ||
                               *sc->p == '\n' || *sc->p == '\r'))
        sc->p++;
}

/* A string without escapes, of printable ASCII; *s and *n its contents.
 * 0 ok, -1 unsure. */
static int scan_string(struct scan *sc, const char **s, size_t *n) {
    const char *q;

    if (sc->p == sc->end || *sc->p != '"') return -1;
    for (q = ++sc->p; q < sc->end && *q != '"'; q++)
        if (*q == '\\' || (unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
            return -1;
    if (q == sc->end) return -1;
    *s = sc->p;
    *n = (size_t)(q - sc->p);
    sc->p = q + 1;
    return 0;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)? of at most SCAN_MAX_DIGITS digits; no
 * exponent. 0 ok, -1 unsure. */
static int scan_number(struct scan *sc) {
    const char *q = sc->p;
    int digits = 0;

    if (q < sc->end && *q == '-') q++;
    if (q < sc->end && *q == '0') {
        q++;
        digits++;
    } else {
        if (q == sc->end || *q < '1' || *q > '9') return -1;
        while (q < sc->end && *q >= '0' && *q <= '9') q++, digits++;
    }
    if (q < sc->end && *q == '.') {
        q++;
        if (q == sc->end || *q < '0' || *q > '9') return -1;
        while (q < sc->end && *q >= '0' && *q <= '9') q++, digits++;
    }
    if (digits > SCAN_MAX_DIGITS ||
        (q < sc->end && (*q == 'e' || *q == 'E')))
        return -1;
    sc->p = q;
    return 0;
}

static int scan_literal(struct scan *sc, const char *word) {
    size_t n = strlen(word);

    if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n)) return -1;
    sc->p += n;
    return 0;
}

static int scan_value(struct scan *sc, int depth);

/* An object or array at *sc->p; depth 1 is the top-level object, whose
 * user_id is recorded. 0 ok, -1 unsure. */
static int scan_container(struct scan *sc, int depth) {
    int object = *sc->p == '{';
    char close = object ? '}' : ']';

    if (depth > SCAN_MAX_DEPTH) return -1;
    sc->p++;
    scan_ws(sc);
    if (sc->p < sc->end && *sc->p == close) {
        sc->p++;
        return 0;
    }
    for (;;) {
        int is_key = 0;

        if (object) {
            const char *name;
            size_t n;

            if (scan_string(sc, &name, &n)) return -1;
            is_key = depth == 1 && n == 7 && !memcmp(name, "user_id", 7);
            if (is_key && sc->found) return -1; /* jansson keeps the last */
            scan_ws(sc);
            if (sc->p == sc->end || *sc->p++ != ':') return -1;
            scan_ws(sc);
        }
        if (is_key && sc->p < sc->end && *sc->p == '"') {
            if (scan_string(sc, &sc->key, &sc->key_len)) return -1;
            sc->found = 1;
        } else {
            if (scan_value(sc, depth + 1)) return -1;
            if (is_key) sc->found = 2;
        }
        scan_ws(sc);
        if (sc->p == sc->end) return -1;
        if (*sc->p == close) {
            sc->p++;
            return 0;
        }
        if (*sc->p++ != ',') return -1;
        scan_ws(sc);
    }
}

static int scan_value(struct scan *sc, int depth) {
    const char *s;
    size_t n;

    if (sc->p == sc->end) return -1;
    switch (*sc->p) {
    case '{':
    case '[': return scan_container(sc, depth);
    case '"': return scan_string(sc, &s, &n);
    case 't': return scan_literal(sc, "true");
    case 'f': return scan_literal(sc, "false");
    case 'n': return scan_literal(sc, "null");
    default: return scan_number(sc);
    }
}

/* SCAN_KEY (the key in *key, *n, pointing into line), SCAN_NONE (a JSON
 * object without a string user_id) or SCAN_UNSURE. */
static int scan_key(const char *line, size_t len, const char **key,
                    size_t *n) {
    struct scan sc = {line, line + len, NULL, 0, 0};

    scan_ws(&sc);
    if (sc.p == sc.end || *sc.p != '{' || scan_container(&sc, 1))
        return SCAN_UNSURE;
    scan_ws(&sc);
    if (sc.p != sc.end) return SCAN_UNSURE;
    if (sc.found != 1) return SCAN_NONE;
    *key = sc.key;
    *n = sc.key_len;
    return SCAN_KEY;
}

/* The string user_id of a JSON object line, as a new string, or NULL. */
static char *line_key(const char *line, size_t len) {
    json_t *root = json_loadb(line, len, 0, NULL);
    json_t *id = json_object_get(root, "user_id");
    char *key = json_is_string(id) ? strdup(json_string_value(id)) : NULL;

    json_decref(root);
    return key;
}

/* ---- Flow control (--max-ahead) ---- */

static rd_kafka_topic_partition_list_t *topic_partitions(rd_kafka_t *rk,
                                                         const char *topic);

/* How far the producer is ahead of a consumer group: the messages of
 * TOPIC in the log that the group has not committed. At the start that is
 * the backlog, sum(high watermark - start) over the partitions, where a
 * partition starts at the group's committed offset or, with none, at its
 * low watermark (auto.offset.reset=earliest); later it is backlog +
 * queued - (committed now - start). An empty topic has backlog 0. */
struct gate {
    rd_kafka_t *rk; /* consumer in the group, never subscribed */
    const char *group, *topic;
    rd_kafka_topic_partition_list_t *parts;
    int64_t *start;   /* per partition, as above */
    int64_t backlog;  /* uncommitted at the start */
    int64_t consumed; /* committed since the start, as last read */
    int64_t last_check_us;
    long limit;
    long max_bound; /* the largest gap bound after a message was queued */
    long max_read;  /* the largest gap found right after a read */
    long checks;
    int64_t wait_us; /* time spent over the limit */
};

/* Read the group's committed offsets; 0 ok (g->consumed updated), -1
 * after printing why. */
static int gate_read(struct gate *g, int first) {
    rd_kafka_resp_err_t err;
    int64_t sum = 0;

    g->last_check_us = now_us();
    g->checks++;
    for (int i = 0; i < g->parts->cnt; i++)
        g->parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    if ((err = rd_kafka_committed(g->rk, g->parts, 5000))) {
        fprintf(stderr, "kafka_tool: committed: %s\n", rd_kafka_err2str(err));
        return -1;
    }
    for (int i = 0; i < g->parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &g->parts->elems[i];
        int64_t lo = 0, hi = 0;

        if (tp->err) {
            fprintf(stderr, "kafka_tool: committed: partition %d: %s\n",
                    (int)tp->partition, rd_kafka_err2str(tp->err));
            return -1;
        }
        if (first) {
            if ((err = rd_kafka_query_watermark_offsets(
                     g->rk, tp->topic, tp->partition, &lo, &hi, 5000))) {
                fprintf(stderr, "kafka_tool: watermarks: %s\n",
                        rd_kafka_err2str(err));
                return -1;
            }
            g->start[i] = tp->offset >= 0 ? tp->offset : lo;
            g->backlog += hi - g->start[i];
        } else if (tp->offset >= 0 && tp->offset > g->start[i]) {
            sum += tp->offset - g->start[i];
        }
    }
    if (!first && sum > g->consumed) g->consumed = sum;
    return 0;
}

/* The gate for group G on TOPIC; 0 ok, -1 after printing why. */
static int gate_init(struct gate *g, const struct opts *o) {
    static const char *const settings[] = {"enable.auto.commit", "false",
                                           NULL};
    rd_kafka_conf_t *conf;
    char errstr[512];

    memset(g, 0, sizeof(*g));
    g->limit = o->max_ahead;
    g->group = o->group;
    g->topic = o->pos[1];
    if ((conf = make_conf(o, settings)) &&
        rd_kafka_conf_set(conf, "group.id", o->group, errstr,
                          sizeof(errstr))) {
        fprintf(stderr, "kafka_tool: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        conf = NULL;
    }
    if (!(g->rk = make_client(RD_KAFKA_CONSUMER, conf))) return -1;
    if (!(g->parts = topic_partitions(g->rk, o->pos[1]))) return -1;
    if (!(g->start = calloc((size_t)g->parts->cnt, sizeof(*g->start)))) {
        fprintf(stderr, "kafka_tool: out of memory\n");
        return -1;
    }
    return gate_read(g, 1);
}

static void gate_release(struct gate *g) {
    if (g->parts) rd_kafka_topic_partition_list_destroy(g->parts);
    free(g->start);
    if (g->rk) {
        rd_kafka_consumer_close(g->rk); /* never subscribed */
        rd_kafka_destroy(g->rk);
    }
}

/* Wait, serving the producer's reports, until one more message keeps
 * the gap within the limit. The committed offsets are read only near
 * the limit (7/8 of it), at most every AHEAD_CHECK_US. The gap computed
 * from the last read is an upper bound of the real one (the group only
 * commits more meanwhile), so the real gap never exceeds the limit.
 * 0 ok, -1 on a read error or a signal. */
static int gate_wait(struct gate *g, rd_kafka_t *rk, long queued) {
    int64_t waited_from = 0, stalled_from = 0, consumed = g->consumed;
    int rc = 0;

    for (;;) {
        int64_t gap = g->backlog + queued - g->consumed;
        int64_t now = now_us();

        if (stop || fatal) {
            rc = -1;
            break;
        }
        if (gap >= g->limit - g->limit / 8 &&
            now - g->last_check_us >= AHEAD_CHECK_US) {
            if (gate_read(g, 0)) {
                rc = -1;
                break;
            }
            gap = g->backlog + queued - g->consumed;
            if (gap > g->max_read) g->max_read = (long)gap;
        }
        if (gap < g->limit) {
            if (gap + 1 > g->max_bound) g->max_bound = (long)gap + 1;
            break;
        }
        if (!waited_from) waited_from = stalled_from = now;
        if (g->consumed > consumed) { /* progress: not stalled */
            consumed = g->consumed;
            stalled_from = now;
        } else if (now - stalled_from >= AHEAD_STALL_US) {
            fprintf(stderr, "kafka_tool: group '%s' committed nothing on "
                    "'%s' for %d s while %lld messages wait for it\n",
                    g->group, g->topic, AHEAD_STALL_US / 1000000,
                    (long long)gap);
            rc = -1;
            break;
        }
        rd_kafka_poll(rk, 5);
    }
    if (waited_from) g->wait_us += now_us() - waited_from;
    return rc;
}

/* ---- produce ---- */

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                      void *opaque) {
    struct delivery *d = opaque;

    (void)rk;
    if (!rkm->err) {
        d->delivered++;
        return;
    }
    if (d->failed++ < MAX_DR_ERRORS)
        fprintf(stderr, "kafka_tool: delivery failed: %s\n",
                rd_kafka_err2str(rkm->err));
}

static int is_blank(const char *s) {
    while (*s && isspace((unsigned char)*s)) s++;
    return !*s;
}

/* Serve delivery reports for ms milliseconds (or until a signal). */
static void wait_serving(rd_kafka_t *rk, int ms) {
    int64_t until = now_ms() + ms;
    int64_t left;

    while (!stop && (left = until - now_ms()) > 0)
        rd_kafka_poll(rk, left > 100 ? 100 : (int)left);
}

/* Serve delivery reports until message number `queued` (0-based) is due
 * at `rate` a second since t0_us (or until a signal). */
static void wait_rate(rd_kafka_t *rk, int rate, int64_t t0_us, long queued) {
    int64_t due = t0_us + (int64_t)queued * 1000000 / rate;
    int64_t left;

    /* in steps of about 1 ms: what fell due meanwhile goes out at once */
    while (!stop && (left = due - now_us()) > 0) rd_kafka_poll(rk, 1);
}

/* 0 queued, -1 failed (message printed). */
static int produce_line(rd_kafka_t *rk, const char *topic, char *line,
                        size_t len) {
    const char *key = NULL;
    char *copy = NULL;
    size_t key_len = 0;
    rd_kafka_resp_err_t err;

    switch (scan_key(line, len, &key, &key_len)) {
    case SCAN_KEY: break;
    case SCAN_NONE: break;
    default:
        if ((key = copy = line_key(line, len))) key_len = strlen(key);
    }
    for (;;) {
        err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_VALUE(line, len),
            RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || stop) break;
        rd_kafka_poll(rk, 100); /* let the queue drain, then retry */
    }
    free(copy);
    if (err) {
        fprintf(stderr, "kafka_tool: produce: %s\n", rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

static int cmd_produce(const struct opts *o) {
    /* a big queue and big batches: a file of a million lines goes out at
     * hundreds of thousands a second */
    static const char *const settings[] = {
        "linger.ms", "5", "queue.buffering.max.messages", "1000000",
        "batch.num.messages", "10000", NULL};
    const char *topic = o->pos[1], *path = o->pos[2];
    struct delivery d = {0, 0};
    struct gate g;
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk = NULL;
    FILE *in;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long queued = 0;
    int64_t t0 = 0, t1;
    int rc = 1, failed = 0;

    memset(&g, 0, sizeof(g));
    if (!strcmp(path, "-")) {
        in = stdin;
    } else if (!(in = fopen(path, "r"))) {
        fprintf(stderr, "kafka_tool: '%s': %s\n", path, strerror(errno));
        return 1;
    }
    if (o->max_ahead && gate_init(&g, o)) goto out;
    if ((conf = make_conf(o, settings))) {
        rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
        rd_kafka_conf_set_opaque(conf, &d);
    }
    if (!(rk = make_client(RD_KAFKA_PRODUCER, conf))) goto out;

    while (!stop && (n = getline(&line, &cap, in)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (is_blank(line)) continue;
        if (queued == 0) t0 = now_us();
        if (queued > 0 && o->delay_ms > 0) wait_serving(rk, o->delay_ms);
        if (o->rate) wait_rate(rk, o->rate, t0, queued);
        if (o->max_ahead && gate_wait(&g, rk, queued)) {
            failed = !stop;
            break;
        }
        if (stop) break;
        if (produce_line(rk, topic, line, (size_t)n)) {
            failed = 1;
            break;
        }
        if (++queued % POLL_EVERY == 0 || o->delay_ms || o->rate)
            rd_kafka_poll(rk, 0);
    }
    if (ferror(in)) {
        fprintf(stderr, "kafka_tool: reading '%s': %s\n", path,
                strerror(errno));
        failed = 1;
    }
    /* Delivery reports come until every message is delivered or has
     * timed out (message.timeout.ms), even across a broker outage. */
    while (!stop && rd_kafka_outq_len(rk) > 0) rd_kafka_flush(rk, 500);
    t1 = now_us();
    fprintf(stderr, "produced %ld\n", d.delivered);
    if (d.delivered != queued)
        fprintf(stderr, "kafka_tool: %ld of %ld not delivered\n",
                queued - d.delivered, queued);
    else if (stop)
        fprintf(stderr, "kafka_tool: interrupted\n");
    if (o->stats) {
        double s = queued ? (double)(t1 - t0) / 1e6 : 0;

        fprintf(stderr, "produced %ld in %.3f s (%.0f msg/s)\n", d.delivered,
                s, s > 0 ? (double)d.delivered / s : 0.0);
        if (o->max_ahead)
            fprintf(stderr,
                    "max ahead %ld of %ld (largest gap at a read %ld, "
                    "backlog at start %lld, %ld reads of the committed "
                    "offsets, %.3f s waiting)\n",
                    g.max_bound, g.limit, g.max_read, (long long)g.backlog,
                    g.checks, (double)g.wait_us / 1e6);
    }
    rc = failed || stop || d.delivered != queued;
out:
    free(line);
    if (rk) rd_kafka_destroy(rk);
    gate_release(&g);
    if (in != stdin) fclose(in);
    return rc;
}

/* ---- consume ---- */

struct consumer {
    rd_kafka_t *rk;
    char *names; /* the TOPIC,... argument, cut at the commas */
    const char *topics[MAX_TOPICS];
    int ntopics;
    int assigned[MAX_TOPICS]; /* partitions assigned so far */
    int any_assigned;         /* assign() done; later additions are
                                 incremental */
    int metadata_ok;          /* some metadata request succeeded */
};

/* Assign the partitions that metadata shows and we do not read yet, from
 * the beginning. 0 ok (also when the metadata request failed: tried again
 * later), -1 on an assignment error. */
static int consumer_refresh(struct consumer *c, int timeout_ms) {
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_partition_list_t *add;
    rd_kafka_resp_err_t err;
    int rc = 0;

    err = rd_kafka_metadata(c->rk, 1, NULL, &md, timeout_ms);
    if (err) {
        fprintf(stderr, "kafka_tool: metadata: %s\n", rd_kafka_err2str(err));
        return 0;
    }
    c->metadata_ok = 1;
    add = rd_kafka_topic_partition_list_new(16);
    for (int t = 0; t < c->ntopics; t++) {
        for (int i = 0; i < md->topic_cnt; i++) {
            const struct rd_kafka_metadata_topic *mt = &md->topics[i];

            if (strcmp(mt->topic, c->topics[t])) continue;
            for (int p = 0; p < mt->partition_cnt; p++) {
                int32_t id = mt->partitions[p].id;

                if (id < c->assigned[t]) continue;
                rd_kafka_topic_partition_list_add(add, mt->topic, id)
                    ->offset = RD_KAFKA_OFFSET_BEGINNING;
            }
            if (mt->partition_cnt > c->assigned[t])
                c->assigned[t] = mt->partition_cnt;
        }
    }
    rd_kafka_metadata_destroy(md);
    if (add->cnt > 0 && !c->any_assigned) {
        if ((err = rd_kafka_assign(c->rk, add))) {
            fprintf(stderr, "kafka_tool: assign: %s\n", rd_kafka_err2str(err));
            rc = -1;
        }
        c->any_assigned = 1;
    } else if (add->cnt > 0) {
        rd_kafka_error_t *error = rd_kafka_incremental_assign(c->rk, add);

        if (error) {
            fprintf(stderr, "kafka_tool: assign: %s\n",
                    rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
            rc = -1;
        }
    }
    rd_kafka_topic_partition_list_destroy(add);
    return rc;
}

/* A JSON string of bytes that may not be UTF-8 (other bytes become '?');
 * NULL on ENOMEM. */
static json_t *lossy_string(const char *p, size_t n) {
    json_t *s = json_stringn(p, n);
    char *copy;

    if (s || !(copy = malloc(n ? n : 1))) return s;
    for (size_t i = 0; i < n; i++)
        copy[i] = (unsigned char)p[i] < 0x80 ? p[i] : '?';
    s = json_stringn(copy, n);
    free(copy);
    return s;
}

/* Compact-spaced JSON text ("{"a": 1, "b": 2}") with reals in the shortest
 * of 15 or 17 digits that reads back the same (as lib/event.c does). */
static char *dump_line(const json_t *v) {
    char *text = json_dumps(v, JSON_REAL_PRECISION(15));
    json_t *back;
    int same;

    if (!text) return NULL;
    back = json_loads(text, 0, NULL);
    same = back && json_equal(back, v);
    json_decref(back);
    if (same) return text;
    free(text);
    return json_dumps(v, 0);
}

/* Print one message as a JSON line. 0 ok, -1 on ENOMEM or a write error. */
static int print_message(const rd_kafka_message_t *rkm) {
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(rkm, &tstype);
    json_t *rec = json_object(), *at = json_null(), *value;
    char *text;
    int bad = 0;

    if (ts >= 0) {
        time_t secs = (time_t)(ts / 1000);
        struct tm tm;
        char buf[64];

        if (gmtime_r(&secs, &tm)) {
            size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);

            snprintf(buf + n, sizeof(buf) - n, ".%03dZ", (int)(ts % 1000));
            at = json_string(buf);
        }
    }
    if (!rkm->payload)
        value = json_null();
    else if (!(value = json_loadb(rkm->payload, rkm->len, JSON_DECODE_ANY,
                                  NULL)))
        value = lossy_string(rkm->payload, rkm->len);

    bad |= json_object_set_new(rec, "at", at);
    bad |= json_object_set_new(rec, "ts_ms",
                               ts >= 0 ? json_integer(ts) : json_null());
    bad |= json_object_set_new(rec, "topic",
                               json_string(rd_kafka_topic_name(rkm->rkt)));
    bad |= json_object_set_new(rec, "partition",
                               json_integer(rkm->partition));
    bad |= json_object_set_new(rec, "offset", json_integer(rkm->offset));
    bad |= json_object_set_new(rec, "key",
                               rkm->key ? lossy_string(rkm->key, rkm->key_len)
                                        : json_null());
    bad |= json_object_set_new(rec, "value", value);
    text = bad ? NULL : dump_line(rec);
    json_decref(rec);
    if (!text) {
        fprintf(stderr, "kafka_tool: out of memory\n");
        return -1;
    }
    bad = printf("%s\n", text) < 0 || fflush(stdout);
    free(text);
    if (bad) fprintf(stderr, "kafka_tool: stdout: %s\n", strerror(errno));
    return bad ? -1 : 0;
}

static int split_topics(struct consumer *c, const char *arg) {
    char *save = NULL;

    if (!(c->names = strdup(arg))) return -1;
    for (char *t = strtok_r(c->names, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        if (c->ntopics == MAX_TOPICS) return -1;
        c->topics[c->ntopics++] = t;
    }
    return c->ntopics > 0 ? 0 : -1;
}

static int cmd_consume(const struct opts *o) {
    /* group.id only because assign() needs a group handle: the consumer
     * never joins the group and never commits. */
    static const char *const settings[] = {
        "group.id", "kafka_tool.consume", "enable.auto.commit", "false",
        "enable.auto.offset.store", "false", "fetch.wait.max.ms", "50",
        NULL};
    struct consumer c;
    int64_t start = now_ms(), deadline = start + o->timeout_ms;
    int64_t last = start, next_md = start;
    long n = 0;
    int rc = 1;

    memset(&c, 0, sizeof(c));
    if (split_topics(&c, o->pos[1])) {
        usage();
        free(c.names);
        return 2;
    }
    if (!(c.rk = make_client(RD_KAFKA_CONSUMER, make_conf(o, settings))))
        goto out;
    rd_kafka_poll_set_consumer(c.rk);

    for (;;) {
        int64_t now = now_ms();
        rd_kafka_message_t *rkm;

        if (stop || now >= deadline) break;
        if (o->idle_ms > 0 && now - last >= o->idle_ms) break;
        if (now >= next_md) {
            int64_t left = deadline - now;

            if (consumer_refresh(&c, left < 2000 ? (int)left : 2000))
                goto out;
            next_md = now_ms() + METADATA_EVERY_MS;
            continue;
        }
        if (!(rkm = rd_kafka_consumer_poll(c.rk, 100)) || consumer_event(rkm))
            continue;
        last = now_ms();
        if (print_message(rkm)) {
            rd_kafka_message_destroy(rkm);
            goto out;
        }
        rd_kafka_message_destroy(rkm);
        if (++n == o->count) break;
    }
    fprintf(stderr, "consumed %ld\n", n);
    if (fatal) goto out;
    if (!c.metadata_ok) {
        fprintf(stderr, "kafka_tool: no metadata from '%s'\n", o->pos[0]);
        goto out;
    }
    for (int t = 0; t < c.ntopics; t++)
        if (!c.assigned[t])
            fprintf(stderr, "kafka_tool: topic '%s' not found\n", c.topics[t]);
    rc = 0;
out:
    if (c.rk) {
        rd_kafka_resp_err_t err = rd_kafka_consumer_close(c.rk);

        if (err) fprintf(stderr, "kafka_tool: close: %s\n",
                         rd_kafka_err2str(err));
        rd_kafka_destroy(c.rk);
    }
    free(c.names);
    return rc;
}

/* ---- consume-bench ---- */

struct bench {
    long n, matched, skipped;
    int64_t first_us, last_us;
    int64_t next[BENCH_MAX_PARTS]; /* offset expected next; -1 unknown */
};

/* The bench policy's transaction rule on a parsed event: type
 * transaction, data.amount >= 5000, data.status "succeeded", data.kind
 * "transfer". */
static int bench_match(const json_t *ev) {
    const json_t *data = json_object_get(ev, "data");
    const json_t *amount = json_object_get(data, "amount");
    const json_t *type = json_object_get(ev, "type");
    const json_t *status = json_object_get(data, "status");
    const json_t *kind = json_object_get(data, "kind");

    return json_is_string(type) &&
           !strcmp(json_string_value(type), "transaction") &&
           json_is_number(amount) && json_number_value(amount) >= 5000 &&
           json_is_string(status) &&
           !strcmp(json_string_value(status), "succeeded") &&
           json_is_string(kind) &&
           !strcmp(json_string_value(kind), "transfer");
}

/* Count a record, and the offsets skipped before it in its partition
 * (records the log dropped before we read them). */
static void bench_record(struct bench *b, const rd_kafka_message_t *rkm) {
    json_t *ev = json_loadb(rkm->payload, rkm->len, 0, NULL);
    int32_t p = rkm->partition;

    if (ev && bench_match(ev)) b->matched++;
    json_decref(ev);
    if (p >= 0 && p < BENCH_MAX_PARTS) {
        if (b->next[p] >= 0 && rkm->offset > b->next[p])
            b->skipped += rkm->offset - b->next[p];
        b->next[p] = rkm->offset + 1;
    }
    b->n++;
}

/* Store the offset after the last record of each partition in recs. */
static void bench_store(rd_kafka_t *rk, rd_kafka_message_t **recs, int n) {
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_resp_err_t err;

    if (n == 0) return;
    l = rd_kafka_topic_partition_list_new(8);
    for (int i = 0; i < n; i++) {
        const char *topic = rd_kafka_topic_name(recs[i]->rkt);
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_find(l, topic, recs[i]->partition);

        if (!tp)
            tp = rd_kafka_topic_partition_list_add(l, topic,
                                                   recs[i]->partition);
        if (recs[i]->offset + 1 > tp->offset) tp->offset = recs[i]->offset + 1;
    }
    if ((err = rd_kafka_offsets_store(rk, l)) && err != RD_KAFKA_RESP_ERR__STATE)
        fprintf(stderr, "kafka_tool: store offsets: %s\n",
                rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
}

static int cmd_consume_bench(const struct opts *o) {
    /* the daemon's consumer (lib/kafka_conf.c), committing more often so
     * that a producer's --max-ahead sees progress soon */
    static const char *const settings[] = {
        "fetch.wait.max.ms", "100", "enable.auto.offset.store", "false",
        "enable.auto.commit", "true", "auto.commit.interval.ms", "200",
        "auto.offset.reset", "earliest", "partition.assignment.strategy",
        "range,roundrobin", "session.timeout.ms", "10000",
        "heartbeat.interval.ms", "1000", "reconnect.backoff.max.ms", "1000",
        NULL};
    const char *topic = o->pos[1], *group = o->pos[2];
    rd_kafka_message_t *recs[BENCH_BATCH];
    rd_kafka_topic_partition_list_t *sub;
    rd_kafka_resp_err_t err;
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    struct bench *b;
    char errstr[512];
    int64_t last = now_ms();
    int rc = 1;

    if (!(b = calloc(1, sizeof(*b)))) {
        fprintf(stderr, "kafka_tool: out of memory\n");
        return 1;
    }
    for (int p = 0; p < BENCH_MAX_PARTS; p++) b->next[p] = -1;
    if ((conf = make_conf(o, settings)) &&
        rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr))) {
        fprintf(stderr, "kafka_tool: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        conf = NULL;
    }
    if (!(rk = make_client(RD_KAFKA_CONSUMER, conf))) {
        free(b);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (err) {
        fprintf(stderr, "kafka_tool: subscribe: %s\n", rd_kafka_err2str(err));
        goto out;
    }

    while (!stop && b->n < o->count && now_ms() - last < o->idle_ms) {
        int n = 0, used, timeout = 100;
        rd_kafka_message_t *rkm;

        /* a batch as the daemon polls one: the first poll waits */
        while (n < BENCH_BATCH && (rkm = rd_kafka_consumer_poll(rk, timeout))) {
            timeout = 0;
            if (consumer_event(rkm)) continue;
            if (!b->first_us) b->first_us = now_us();
            recs[n++] = rkm;
        }
        if (n) last = now_ms();
        for (used = 0; used < n && b->n < o->count; used++)
            bench_record(b, recs[used]);
        if (b->n == o->count && !b->last_us) b->last_us = now_us();
        bench_store(rk, recs, used); /* records past the N-th stay unread */
        for (int i = 0; i < n; i++) rd_kafka_message_destroy(recs[i]);
    }
    if (b->n > 0) {
        double s = (double)((b->last_us ? b->last_us : now_us()) -
                            b->first_us) / 1e6;

        printf("bare consumer: %ld events in %.3f s = %.0f events/s "
               "(matched %ld)\n",
               b->n, s, s > 0 ? (double)b->n / s : 0.0, b->matched);
        if (fflush(stdout)) goto out;
    }
    if (b->n < o->count) {
        fprintf(stderr, "kafka_tool: %ld of %d events (%s)\n", b->n, o->count,
                stop ? "interrupted" : "nothing more came");
        goto out;
    }
    if (b->skipped) {
        fprintf(stderr, "kafka_tool: %ld offsets skipped: records dropped "
                "from the log before they were read\n", b->skipped);
        goto out;
    }
    rc = 0;
out:
    /* commits what was stored, then leaves the group */
    if ((err = rd_kafka_consumer_close(rk)))
        fprintf(stderr, "kafka_tool: close: %s\n", rd_kafka_err2str(err));
    rd_kafka_destroy(rk);
    free(b);
    return rc;
}

/* ---- offsets ---- */

/* Offsets of every partition of TOPIC, sorted, for rd_kafka_committed;
 * NULL after printing why. Asks metadata for all topics: naming the topic
 * would make the mock cluster create it (it knows Metadata v0-2 only, so
 * it never hears allow.auto.create.topics=false). */
static rd_kafka_topic_partition_list_t *topic_partitions(rd_kafka_t *rk,
                                                         const char *topic) {
    const struct rd_kafka_metadata *md;
    const struct rd_kafka_metadata_topic *mt = NULL;
    rd_kafka_topic_partition_list_t *list = NULL;
    rd_kafka_resp_err_t err;

    if ((err = rd_kafka_metadata(rk, 1, NULL, &md, 10000))) {
        fprintf(stderr, "kafka_tool: metadata: %s\n", rd_kafka_err2str(err));
        return NULL;
    }
    for (int i = 0; i < md->topic_cnt && !mt; i++)
        if (!strcmp(md->topics[i].topic, topic)) mt = &md->topics[i];
    if (!mt || mt->partition_cnt == 0) {
        err = mt && mt->err ? mt->err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        fprintf(stderr, "kafka_tool: topic '%s': %s\n", topic,
                rd_kafka_err2str(err));
    } else {
        list = rd_kafka_topic_partition_list_new(mt->partition_cnt);
        for (int p = 0; p < mt->partition_cnt; p++)
            rd_kafka_topic_partition_list_add(list, topic,
                                              mt->partitions[p].id);
        rd_kafka_topic_partition_list_sort(list, NULL, NULL);
    }
    rd_kafka_metadata_destroy(md);
    return list;
}

static int cmd_offsets(const struct opts *o) {
    static const char *const settings[] = {"enable.auto.commit", "false",
                                           NULL};
    const char *group = o->pos[1], *topic = o->pos[2];
    rd_kafka_topic_partition_list_t *list = NULL;
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    rd_kafka_resp_err_t err;
    char errstr[512];
    int rc = 1;

    if ((conf = make_conf(o, settings)) &&
        rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr))) {
        fprintf(stderr, "kafka_tool: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        conf = NULL;
    }
    if (!(rk = make_client(RD_KAFKA_CONSUMER, conf))) return 1;
    if (!(list = topic_partitions(rk, topic))) goto out;
    if ((err = rd_kafka_committed(rk, list, 10000))) {
        fprintf(stderr, "kafka_tool: committed: %s\n", rd_kafka_err2str(err));
        goto out;
    }
    rc = 0;
    for (int i = 0; i < list->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &list->elems[i];

        if (tp->err) {
            fprintf(stderr, "kafka_tool: partition %d: %s\n",
                    (int)tp->partition, rd_kafka_err2str(tp->err));
            rc = 1;
        }
        printf("%d %lld\n", (int)tp->partition, (long long)tp->offset);
    }
    if (fflush(stdout)) rc = 1;
out:
    if (list) rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_consumer_close(rk); /* never subscribed: nothing to leave */
    rd_kafka_destroy(rk);
    return rc;
}

int main(int argc, char **argv) {
    struct opts o;

    if (parse_args(argc, argv, &o)) {
        usage();
        return 2;
    }
    if (install_signals()) {
        perror("kafka_tool: sigaction");
        return 1;
    }
    switch (o.cmd) {
    case CMD_PRODUCE: return cmd_produce(&o);
    case CMD_CONSUME: return cmd_consume(&o);
    case CMD_OFFSETS: return cmd_offsets(&o);
    case CMD_CONSUME_BENCH: return cmd_consume_bench(&o);
    }
    return 2;
}
