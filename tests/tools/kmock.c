/* kmock.c -- a librdkafka mock Kafka cluster driven from stdin, for tests.
 *
 * usage: kmock [--brokers N] [--partitions P] [--topics a,b,c]
 *   --brokers N      brokers, ids 1..N (default 3)
 *   --partitions P   partitions of each --topics topic (default 4)
 *   --topics LIST    topics to create up front (replication min(N, 3));
 *                    any other topic is auto-created, with 4 partitions
 *                    (the mock's default, not P), by the first Metadata
 *                    request naming it, from a producer or a consumer
 *                    alike: the 2.0.2 mock speaks Metadata v0-2 only, so
 *                    allow.auto.create.topics=false never reaches it
 *
 * The first line on stdout is the bootstrap list. Then one command a line
 * on stdin, each answered by one line `ok` or `error: <why>`:
 *   down B | down all         take broker B (or every broker) down
 *   up B | up all             bring it back (same port)
 *   errors API COUNT ERR...   the next COUNT requests of API fail with
 *                             ERR..., the last ERR repeated if fewer given
 *   rtt B|all MS              response delay of broker B
 *   topic NAME PARTITIONS     create a topic
 *   quit                      exit (so does EOF, SIGTERM or SIGINT)
 * API is a Kafka request name (Produce, Fetch, ...) or its key number; ERR
 * is a librdkafka error name without RD_KAFKA_RESP_ERR_ (e.g.
 * NOT_LEADER_FOR_PARTITION, _TRANSPORT) or its number. Exits 0, or 2 on
 * bad arguments, 1 when the cluster cannot be made. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "tool.h"

#define LINE_MAX_LEN 4096
#define MAX_ERRORS 1000
#define MAX_ARGS 64

struct opts {
    int brokers, partitions;
    const char *topics;
};

struct api_name {
    const char *name;
    int16_t key;
};

/* Kafka protocol request keys (the Kafka protocol guide). */
static const struct api_name api_names[] = {
    {"Produce", 0},         {"Fetch", 1},
    {"ListOffsets", 2},     {"Metadata", 3},
    {"OffsetCommit", 8},    {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},
    {"Heartbeat", 12},      {"LeaveGroup", 13},
    {"SyncGroup", 14},      {"DescribeGroups", 15},
    {"ListGroups", 16},     {"ApiVersions", 18},
    {"InitProducerId", 22}, {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25}, {"EndTxn", 26},
    {"TxnOffsetCommit", 28}, {NULL, 0},
};

static void usage(void) {
    fprintf(stderr, "usage: kmock [--brokers N] [--partitions P] "
                    "[--topics a,b,c]\n");
}

/* ---- Parsing ---- */

static int parse_args(int argc, char **argv, struct opts *o) {
    o->brokers = 3;
    o->partitions = 4;
    o->topics = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (i + 1 >= argc) return -1; /* every option takes a value */
        if (!strcmp(a, "--brokers")) {
            if (parse_int(argv[++i], 1, 100, &o->brokers)) return -1;
        } else if (!strcmp(a, "--partitions")) {
            if (parse_int(argv[++i], 1, 10000, &o->partitions)) return -1;
        } else if (!strcmp(a, "--topics")) {
            o->topics = argv[++i];
        } else {
            return -1;
        }
    }
    return 0;
}

/* Request name (any case) or number to its key; -1 if unknown. */
static int api_key(const char *s) {
    int k;

    for (const struct api_name *a = api_names; a->name; a++)
        if (!strcasecmp(a->name, s)) return a->key;
    if (!parse_int(s, 0, 32767, &k)) return k;
    return -1;
}

/* librdkafka error name (with or without the RD_KAFKA_RESP_ERR_ prefix,
 * any case) or number. 0 ok, -1 unknown. */
static int err_code(const char *s, rd_kafka_resp_err_t *out) {
    const struct rd_kafka_err_desc *descs;
    size_t n;
    int num;

    if (!strncasecmp(s, "RD_KAFKA_RESP_ERR_", 18)) s += 18;
    if (!strcasecmp(s, "NOT_LEADER_OR_FOLLOWER")) /* Kafka's newer name */
        s = "NOT_LEADER_FOR_PARTITION";
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++) {
        if (descs[i].name && !strcasecmp(descs[i].name, s)) {
            *out = descs[i].code;
            return 0;
        }
    }
    if (!parse_int(s, -200, 32767, &num)) {
        *out = (rd_kafka_resp_err_t)num;
        return 0;
    }
    return -1;
}

/* "all" is -1 (every broker, as the mock API takes it), else 1..n. */
static int broker_id(const char *s, int n, int32_t *out) {
    int id;

    if (!strcmp(s, "all")) {
        *out = -1;
        return 0;
    }
    if (parse_int(s, 1, n, &id)) return -1;
    *out = id;
    return 0;
}

/* ---- Commands ---- */

/* Answer a command: `ok`, or `error: ...`. Both return 0, so a command
 * handler can end with `return reply_ok();`. */
static int reply_ok(void) {
    fputs("ok\n", stdout);
    fflush(stdout);
    return 0;
}

__attribute__((format(printf, 1, 2))) static int reply(const char *fmt,
                                                       ...) {
    va_list ap;

    fputs("error: ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    return 0;
}

static int reply_err(rd_kafka_resp_err_t err) {
    return reply("%s", rd_kafka_err2str(err));
}

static int cmd_updown(rd_kafka_mock_cluster_t *mc, const struct opts *o,
                       char **argv, int argc) {
    rd_kafka_resp_err_t err;
    int32_t id;

    if (argc != 2 || broker_id(argv[1], o->brokers, &id))
        return reply("usage: %s B|all (B in 1..brokers)", argv[0]);
    if (!strcmp(argv[0], "down"))
        err = rd_kafka_mock_broker_set_down(mc, id);
    else
        err = rd_kafka_mock_broker_set_up(mc, id);
    if (err) return reply_err(err);
    return reply_ok();
}

static int cmd_rtt(rd_kafka_mock_cluster_t *mc, const struct opts *o,
                    char **argv, int argc) {
    rd_kafka_resp_err_t err;
    int32_t id;
    int ms;

    if (argc != 3 || broker_id(argv[1], o->brokers, &id) ||
        parse_int(argv[2], 0, 3600000, &ms))
        return reply("usage: %s B|all MS", argv[0]);
    if ((err = rd_kafka_mock_broker_set_rtt(mc, id, ms)))
        return reply_err(err);
    return reply_ok();
}

static int cmd_errors(rd_kafka_mock_cluster_t *mc, char **argv, int argc) {
    rd_kafka_resp_err_t errs[MAX_ERRORS];
    int key, count;

    if (argc < 4) return reply("usage: %s API COUNT ERR [ERR...]", argv[0]);
    if ((key = api_key(argv[1])) < 0)
        return reply("unknown request '%s'", argv[1]);
    if (parse_int(argv[2], 1, MAX_ERRORS, &count))
        return reply("COUNT '%s' is not in 1..%d", argv[2], MAX_ERRORS);
    if (argc - 3 > count)
        return reply("more errors than COUNT '%s'", argv[2]);
    for (int i = 0; i < count; i++) {
        const char *name = argv[3 + (i < argc - 3 ? i : argc - 4)];

        if (err_code(name, &errs[i]))
            return reply("unknown error '%s'", name);
    }
    rd_kafka_mock_push_request_errors_array(mc, (int16_t)key, (size_t)count,
                                            errs);
    return reply_ok();
}

static int cmd_topic(rd_kafka_mock_cluster_t *mc, const struct opts *o,
                      char **argv, int argc) {
    rd_kafka_resp_err_t err;
    int parts;

    if (argc != 3 || parse_int(argv[2], 1, 10000, &parts))
        return reply("usage: %s NAME PARTITIONS", argv[0]);
    err = rd_kafka_mock_topic_create(mc, argv[1], parts,
                                     o->brokers < 3 ? o->brokers : 3);
    if (err) return reply_err(err);
    return reply_ok();
}

/* Run one command line (modified in place). 1 on quit, else 0. */
static int run_command(rd_kafka_mock_cluster_t *mc, const struct opts *o,
                       char *line) {
    char *argv[MAX_ARGS], *save = NULL, *tok;
    int argc = 0;

    for (tok = strtok_r(line, " \t\r", &save); tok;
         tok = strtok_r(NULL, " \t\r", &save)) {
        if (argc == MAX_ARGS) {
            reply("more than %d words", MAX_ARGS);
            return 0;
        }
        argv[argc++] = tok;
    }
    if (argc == 0) return 0; /* blank lines get no answer */
    if (!strcmp(argv[0], "quit")) return 1;
    if (!strcmp(argv[0], "down") || !strcmp(argv[0], "up"))
        cmd_updown(mc, o, argv, argc);
    else if (!strcmp(argv[0], "errors"))
        cmd_errors(mc, argv, argc);
    else if (!strcmp(argv[0], "rtt"))
        cmd_rtt(mc, o, argv, argc);
    else if (!strcmp(argv[0], "topic"))
        cmd_topic(mc, o, argv, argc);
    else
        reply("unknown command '%s'", argv[0]);
    return 0;
}

/* Read stdin a chunk at a time, polling so a signal is seen within
 * 200 ms, and run each complete line. Returns on EOF, quit or signal. */
static void command_loop(rd_kafka_mock_cluster_t *mc, const struct opts *o) {
    char buf[LINE_MAX_LEN];
    size_t len = 0;
    int discard = 0; /* inside an over-long line */

    while (!stop) {
        struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
        char *nl;
        ssize_t n;
        int r = poll(&pfd, 1, 200);

        if (r < 0 && errno != EINTR) break;
        if (r <= 0) continue;
        n = read(STDIN_FILENO, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) break; /* EOF, or stdin is gone */
        len += (size_t)n;
        buf[len] = '\0';
        while ((nl = memchr(buf, '\n', len))) {
            size_t used = (size_t)(nl - buf) + 1;

            *nl = '\0';
            if (discard) {
                reply("line longer than %d bytes", LINE_MAX_LEN - 1);
                discard = 0;
            } else if (run_command(mc, o, buf)) {
                return;
            }
            memmove(buf, buf + used, len - used);
            len -= used;
        }
        if (len == sizeof(buf) - 1) { /* no newline in a full buffer */
            discard = 1;
            len = 0;
        }
        if (ferror(stdout)) break; /* nobody listens any more */
    }
}

/* ---- Setup ---- */

static int create_topics(rd_kafka_mock_cluster_t *mc, const struct opts *o) {
    char *list, *save = NULL;
    int rc = 0;

    if (!o->topics) return 0;
    if (!(list = strdup(o->topics))) return -1;
    for (char *t = strtok_r(list, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
            mc, t, o->partitions, o->brokers < 3 ? o->brokers : 3);

        if (err) {
            fprintf(stderr, "kmock: topic '%s': %s\n", t,
                    rd_kafka_err2str(err));
            rc = -1;
            break;
        }
    }
    free(list);
    return rc;
}

int main(int argc, char **argv) {
    struct opts o;
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    char errstr[512];
    int rc = 1;

    if (parse_args(argc, argv, &o)) {
        usage();
        return 2;
    }
    if (install_signals()) {
        perror("kmock: sigaction");
        return 1;
    }
    /* The handle only hosts the cluster; it never connects anywhere. */
    conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr))) {
        fprintf(stderr, "kmock: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "kmock: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    conf = NULL; /* now owned by rk */
    if (!(mc = rd_kafka_mock_cluster_new(rk, o.brokers))) {
        fprintf(stderr, "kmock: cannot create the mock cluster\n");
        goto out;
    }
    if (create_topics(mc, &o)) goto out;
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    if (fflush(stdout)) goto out;
    command_loop(mc, &o);
    rc = 0;
out:
    if (mc) rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return rc;
}
