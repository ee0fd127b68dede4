/* feed.c -- drive lib/batch.c against a store, for the concurrency, fault
 * and throughput tests: what `run` will do, without Kafka.
 *
 * usage: feed [options] EVENTS.jsonl
 *   --state URL     redis://host:port/db (default: the memory store)
 *   --policy FILE   the policy (required)
 *   --prefix P      key prefix (default "fu:")
 *   --batch N       events per batch (default 100)
 *   --drain UNTIL   afterwards, emit everything due up to UNTIL (RFC 3339)
 *   --dump          afterwards, claim the whole outbox, print it as JSON
 *                   lines ({"topic", "key", "value"}) and confirm it
 *   --stats         print batch statistics on stderr, with the wall and
 *                   CPU seconds of deciding the events (parsing them,
 *                   done first, not counted)
 *   --pause-ms N    sleep N ms between batches (to be caught mid-run)
 * The clock of a batch is the latest occurred_at seen so far. A store
 * failure (Redis down) is retried every 100 ms for up to 60 s; the batch
 * is decided again from scratch, as `run` would after not committing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "batch.h"
#include "jsonw.h"
#include "timeutil.h"

#define RETRY_LIMIT 600

struct opts {
    const char *state, *policy, *prefix, *events, *drain;
    int batch, dump, stats, pause_ms;
};

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void usage(void) {
    fprintf(stderr, "usage: feed --policy FILE [--state URL] [--prefix P] "
                    "[--batch N] [--drain UNTIL] [--dump] [--stats] "
                    "[--pause-ms N] EVENTS\n");
    exit(2);
}

static void parse_opts(int argc, char **argv, struct opts *o) {
    memset(o, 0, sizeof(*o));
    o->prefix = "fu:";
    o->batch = 100;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--state") && more) o->state = argv[++i];
        else if (!strcmp(a, "--policy") && more) o->policy = argv[++i];
        else if (!strcmp(a, "--prefix") && more) o->prefix = argv[++i];
        else if (!strcmp(a, "--batch") && more) o->batch = atoi(argv[++i]);
        else if (!strcmp(a, "--drain") && more) o->drain = argv[++i];
        else if (!strcmp(a, "--dump")) o->dump = 1;
        else if (!strcmp(a, "--stats")) o->stats = 1;
        else if (!strcmp(a, "--pause-ms") && more) o->pause_ms = atoi(argv[++i]);
        else if (a[0] != '-' && !o->events) o->events = a;
        else usage();
    }
    if (!o->policy || !o->events || o->batch <= 0) usage();
}

/* Retry fn until it succeeds or a non-transient error. */
#define WITH_RETRY(call)                                                   \
    ({                                                                     \
        int rc_, tries_ = 0;                                               \
        while ((rc_ = (call)) < 0 && err.code == FU_ETRANSIENT &&          \
               ++tries_ < RETRY_LIMIT)                                     \
            sleep_ms(100);                                                 \
        rc_;                                                               \
    })

static int dump_outbox(struct store *s) {
    struct outbox_msg msgs[256];
    struct fu_err err;
    int n;
    while ((n = WITH_RETRY(s->ops->outbox_claim(s->ctx, 0, 3600, msgs, 256,
                                                 &err))) > 0) {
        for (int i = 0; i < n; i++) {
            struct jsonw w;
            jsonw_init(&w);
            jsonw_obj_open(&w);
            jsonw_kstr(&w, "topic", out_topic_name(msgs[i].msg.topic));
            jsonw_kstr(&w, "key", msgs[i].msg.key);
            jsonw_key(&w, "value");
            jsonw_raw(&w, msgs[i].msg.value);
            jsonw_obj_close(&w);
            printf("%s\n", w.buf);
            jsonw_release(&w);
        }
        int rc = WITH_RETRY(s->ops->outbox_confirm(s->ctx, msgs, n, &err));
        for (int i = 0; i < n; i++) outbox_msg_release(&msgs[i]);
        if (rc < 0) break;
    }
    if (n < 0) fprintf(stderr, "feed: outbox: %s\n", err.msg);
    return n < 0 ? -1 : 0;
}

/* Parse every line; bad ones are counted and skipped. */
static struct event *read_events(const char *path, struct tzdb *db, int *n) {
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    int capev = 1024, bad = 0;
    struct event *evs = malloc(sizeof(*evs) * (size_t)capev);
    *n = 0;
    if (!f || !evs) {
        if (f) fclose(f);
        free(evs);
        return NULL;
    }
    while (getline(&line, &cap, f) >= 0) {
        struct fu_err err;
        if (*n == capev) {
            capev *= 2;
            evs = realloc(evs, sizeof(*evs) * (size_t)capev);
            if (!evs) break;
        }
        if (event_parse(line, strlen(line), db, &evs[*n], &err) == 0)
            (*n)++;
        else
            bad++;
    }
    free(line);
    fclose(f);
    if (bad) fprintf(stderr, "feed: %d bad lines skipped\n", bad);
    return evs;
}

static int feed_events(const struct opts *o, const struct policy *pol,
                       struct store *s, struct tzdb *db, struct event *evs,
                       int n, uint64_t *seq, struct batch_stats *st) {
    int64_t clock = 0;
    struct fu_err err;
    for (int i = 0; i < n; i += o->batch) {
        int k = n - i < o->batch ? n - i : o->batch;
        for (int j = i; j < i + k; j++)
            if (evs[j].occurred_at > clock) clock = evs[j].occurred_at;
        if (WITH_RETRY(batch_decide(pol, s, db, evs + i, k, clock, seq, st,
                                    &err)) < 0) {
            fprintf(stderr, "feed: batch at event %d: %s\n", i, err.msg);
            return -1;
        }
        if (o->pause_ms) sleep_ms(o->pause_ms);
    }
    return 0;
}

static double wall_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This process's user + system CPU seconds so far. */
static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Emit everything due up to until, each step at the earliest due time,
 * as a clock running through it would. */
static int drain(const char *until_s, const struct policy *pol,
                 struct store *s, struct tzdb *db, uint64_t *seq,
                 struct batch_stats *st) {
    int64_t until, due;
    struct fu_err err;
    char user[EVENT_MAX_ID + 1];
    int n = 0;
    if (time_parse_rfc3339(until_s, &until) < 0) usage();
    while ((n = WITH_RETRY(s->ops->next_due(s->ctx, until, user, sizeof(user),
                                            &due, &err))) > 0)
        if ((n = WITH_RETRY(batch_due(pol, s, db, due, 256, seq, st, &err))) < 0)
            break;
    if (n < 0) fprintf(stderr, "feed: drain: %s\n", err.msg);
    return n;
}

int main(int argc, char **argv) {
    struct opts o;
    struct fu_err err;
    struct fu_diag diag = {0};
    struct store s = {0};
    struct batch_stats st = {0};
    uint64_t seq = (uint64_t)time(NULL) << 20;
    int n = 0, rc = 1;
    parse_opts(argc, argv, &o);
    struct tzdb *db = tzdb_new(NULL);
    struct policy *pol = policy_load_file(o.policy, db, &diag);
    struct event *evs = pol ? read_events(o.events, db, &n) : NULL;
    if (!pol || !evs) {
        fprintf(stderr, "feed: cannot load the policy or the events\n");
        goto out;
    }
    if ((o.state ? WITH_RETRY(store_redis_open(&s, o.state, o.prefix, 0, &err))
                 : store_memory_open(&s, &err)) < 0) {
        fprintf(stderr, "feed: %s\n", err.msg);
        goto out;
    }
    double wall0 = wall_seconds(), cpu0 = cpu_seconds();
    int fed = feed_events(&o, pol, &s, db, evs, n, &seq, &st);
    double wall = wall_seconds() - wall0, cpu = cpu_seconds() - cpu0;
    if (fed == 0 &&
        (!o.drain || drain(o.drain, pol, &s, db, &seq, &st) == 0) &&
        (!o.dump || dump_outbox(&s) == 0))
        rc = 0;
    if (o.stats)
        fprintf(stderr, "feed: %ld events, %ld users, %ld conflicts, %ld "
                        "messages, %ld untouched, %ld load + %ld save calls\n"
                        "feed: decided in %.3f s wall, %.3f s cpu\n",
                st.events, st.users, st.conflicts, st.messages, st.untouched,
                st.load_calls, st.save_calls, wall, cpu);
out:
    for (int i = 0; i < n; i++) event_release(&evs[i]);
    free(evs);
    store_close(&s);
    policy_release(pol);
    fu_diag_release(&diag);
    tzdb_free(db);
    return rc;
}
