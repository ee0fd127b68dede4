/* kafka_tool.c -- produce, consume and read group offsets, for tests.
 *
 * usage:
 *   kafka_tool produce BOOTSTRAP TOPIC FILE|- [--delay-ms N]
 *       One message per non-blank line; the key is the line's string
 *       "user_id" when the line is a JSON object having one. Waits for
 *       every delivery report; prints `produced N` on stderr; exits 0 only
 *       if every message was delivered.
 *   kafka_tool consume BOOTSTRAP TOPIC[,TOPIC...] [--count N]
 *                      [--timeout-ms T] [--idle-ms I]
 *       Reads every partition from the beginning (assign, no group
 *       commits) and prints one JSON line a message: {"at", "ts_ms",
 *       "topic", "partition", "offset", "key", "value"}, the value
 *       embedded as JSON when it parses, else as a string. Stops after N
 *       messages, T ms in all (default 10000), I ms without a message, or
 *       SIGTERM/SIGINT; prints `consumed N` on stderr and exits 0. Topics
 *       that do not exist yet are picked up when they appear.
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

#define MAX_PROPS 32
#define MAX_TOPICS 64
#define MAX_DR_ERRORS 10 /* delivery failures printed, then only counted */
#define METADATA_EVERY_MS 1000

enum cmd { CMD_PRODUCE, CMD_CONSUME, CMD_OFFSETS };

struct opts {
    enum cmd cmd;
    const char *pos[3]; /* BOOTSTRAP and the arguments after it */
    int npos;
    int delay_ms, count, timeout_ms, idle_ms;
    const char *props[MAX_PROPS]; /* "name=value" */
    int nprops;
};

struct delivery {
    long delivered, failed;
};

static volatile sig_atomic_t stop;
static volatile sig_atomic_t fatal; /* librdkafka raised __FATAL */

/* ---- Helpers ---- */

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static int install_signals(void) {
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL))
        return -1;
    sa.sa_handler = SIG_IGN; /* a closed stdout shows up as a write error */
    return sigaction(SIGPIPE, &sa, NULL);
}

static int64_t now_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(void) {
    fprintf(stderr,
            "usage: kafka_tool produce BOOTSTRAP TOPIC FILE|- "
            "[--delay-ms N] [-X PROP=VAL]...\n"
            "       kafka_tool consume BOOTSTRAP TOPIC[,TOPIC...] "
            "[--count N] [--timeout-ms T] [--idle-ms I] [-X PROP=VAL]...\n"
            "       kafka_tool offsets BOOTSTRAP GROUP TOPIC "
            "[-X PROP=VAL]...\n");
}

/* A whole decimal int in [min, max]. 0 ok, -1 bad. */
static int parse_int(const char *s, long min, long max, int *out) {
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) return -1;
    *out = (int)v;
    return 0;
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
        if (!v) return -1; /* every option takes a value */
        i++;
        if (!strcmp(a, "-X")) {
            if (o->nprops == MAX_PROPS || !strchr(v, '=')) return -1;
            o->props[o->nprops++] = v;
            continue;
        }
        if (o->cmd == CMD_PRODUCE && !strcmp(a, "--delay-ms")) {
            num = &o->delay_ms;
        } else if (o->cmd == CMD_CONSUME && !strcmp(a, "--count")) {
            num = &o->count;
            min = 1;
        } else if (o->cmd == CMD_CONSUME && !strcmp(a, "--timeout-ms")) {
            num = &o->timeout_ms;
        } else if (o->cmd == CMD_CONSUME && !strcmp(a, "--idle-ms")) {
            num = &o->idle_ms;
            min = 1;
        } else {
            return -1;
        }
        if (parse_int(v, min, INT32_MAX, num)) return -1;
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

/* The string user_id of a JSON object line, as a new string, or NULL. */
static char *line_key(const char *line, size_t len) {
    json_t *root = json_loadb(line, len, 0, NULL);
    json_t *id = json_object_get(root, "user_id");
    char *key = json_is_string(id) ? strdup(json_string_value(id)) : NULL;

    json_decref(root);
    return key;
}

/* 0 queued, -1 failed (message printed). */
static int produce_line(rd_kafka_t *rk, const char *topic, char *line,
                        size_t len) {
    char *key = line_key(line, len);
    rd_kafka_resp_err_t err;

    for (;;) {
        err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_VALUE(line, len),
            RD_KAFKA_V_KEY(key, key ? strlen(key) : 0), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || stop) break;
        rd_kafka_poll(rk, 100); /* let the queue drain, then retry */
    }
    free(key);
    if (err) {
        fprintf(stderr, "kafka_tool: produce: %s\n", rd_kafka_err2str(err));
        return -1;
    }
    rd_kafka_poll(rk, 0);
    return 0;
}

static int cmd_produce(const struct opts *o) {
    static const char *const settings[] = {"linger.ms", "5", NULL};
    const char *topic = o->pos[1], *path = o->pos[2];
    struct delivery d = {0, 0};
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk = NULL;
    FILE *in;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long queued = 0;
    int rc = 1, failed = 0;

    if (!strcmp(path, "-")) {
        in = stdin;
    } else if (!(in = fopen(path, "r"))) {
        fprintf(stderr, "kafka_tool: '%s': %s\n", path, strerror(errno));
        return 1;
    }
    if ((conf = make_conf(o, settings))) {
        rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
        rd_kafka_conf_set_opaque(conf, &d);
    }
    if (!(rk = make_client(RD_KAFKA_PRODUCER, conf))) goto out;

    while (!stop && (n = getline(&line, &cap, in)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (is_blank(line)) continue;
        if (queued > 0 && o->delay_ms > 0) wait_serving(rk, o->delay_ms);
        if (stop) break;
        if (produce_line(rk, topic, line, (size_t)n)) {
            failed = 1;
            break;
        }
        queued++;
    }
    if (ferror(in)) {
        fprintf(stderr, "kafka_tool: reading '%s': %s\n", path,
                strerror(errno));
        failed = 1;
    }
    /* Delivery reports come until every message is delivered or has
     * timed out (message.timeout.ms), even across a broker outage. */
    while (!stop && rd_kafka_outq_len(rk) > 0) rd_kafka_flush(rk, 500);
    fprintf(stderr, "produced %ld\n", d.delivered);
    if (d.delivered != queued)
        fprintf(stderr, "kafka_tool: %ld of %ld not delivered\n",
                queued - d.delivered, queued);
    else if (stop)
        fprintf(stderr, "kafka_tool: interrupted\n");
    rc = failed || stop || d.delivered != queued;
out:
    free(line);
    if (rk) rd_kafka_destroy(rk);
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
        if (!(rkm = rd_kafka_consumer_poll(c.rk, 100))) continue;
        if (rkm->err) { /* informational; the consumer carries on */
            if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "kafka_tool: consume: %s\n",
                        rd_kafka_message_errstr(rkm));
            rd_kafka_message_destroy(rkm);
            continue;
        }
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
    }
    return 2;
}
