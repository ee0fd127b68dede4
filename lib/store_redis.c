/* store_redis.c -- the state store on Redis (hiredis, Lua scripts).
 *
 * Each user's state is one hash {v: version, s: encoded state} under a key
 * tagged with the user's bucket, `<prefix>{bNN}:u:<user>`; the bucket also
 * holds the due index (zset user -> next due second) and the outbox. A
 * save runs lib/lua/save.lua, which checks the version read and writes
 * state, index and outbox messages in one step, so every key a script
 * touches shares one hash slot and the scheme holds on Redis Cluster. A
 * batch is one pipelined round trip for loads and one for saves.
 *
 * Errors: a connection error drops the context (hiredis cannot reuse it)
 * and reports FU_ETRANSIENT; the next call reconnects, with backoff.
 * NOSCRIPT (the script cache is empty after a restart or failover) loads
 * the scripts again and retries once. Key layout: docs/redis.md. */
#include "store.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "hash.h"
#include "state_codec.h"
#include "timeutil.h"

/* The scripts, generated from lib/lua/ by the Makefile. */
extern const char lua_save[], lua_claim[], lua_confirm[];

#define REDIS_BUCKETS 64
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define IO_TIMEOUT_MS 5000
#define KEY_MAX 600

enum script { SCRIPT_SAVE, SCRIPT_CLAIM, SCRIPT_CONFIRM, SCRIPT_COUNT };

struct rstore {
    redisContext *c;
    char *host, *path, *password;
    int port, db;
    char *prefix;
    char sha[SCRIPT_COUNT][41];
    int64_t retry_at_ms; /* monotonic; no reconnect before */
    int backoff_ms;
    /* next_due's view of each bucket's earliest due (single writer) */
    int64_t head[REDIS_BUCKETS];
    int head_valid[REDIS_BUCKETS];
    int claim_cursor; /* outbox buckets are scanned round-robin */
    int scratch;      /* delete every key under prefix when closed */
};

/* ---- Keys ---- */

static int bucket_of(const char *user) {
    return (int)(hash64_str(user) % REDIS_BUCKETS);
}

enum key_kind { KEY_USER, KEY_DUE, KEY_OB_ORDER, KEY_OB_MSGS, KEY_OB_ID };

static void make_key(const struct rstore *rs, enum key_kind kind, int bucket,
                     const char *user, char *out) {
    static const char *const suffix[] = {"u:", "due", "ob", "om", "oid"};
    snprintf(out, KEY_MAX, "%s{b%02d}:%s%s", rs->prefix, bucket, suffix[kind],
             kind == KEY_USER ? user : "");
}

/* ---- Connection ---- */

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void drop_conn(struct rstore *rs) {
    if (!rs->c) return;
    redisFree(rs->c);
    rs->c = NULL;
    rs->retry_at_ms = mono_ms() + rs->backoff_ms;
    rs->backoff_ms = rs->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                         : rs->backoff_ms * 2;
    memset(rs->head_valid, 0, sizeof(rs->head_valid));
}

/* A command's reply, or NULL with err set (and the connection dropped
 * on I/O errors). An error reply is returned as such. */
static redisReply *command(struct rstore *rs, struct fu_err *err,
                           const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(rs->c, fmt, ap);
    va_end(ap);
    if (!r) {
        fu_err_set(err, FU_ETRANSIENT, "redis: %s", rs->c->errstr);
        drop_conn(rs);
    }
    return r;
}

static int load_scripts(struct rstore *rs, struct fu_err *err) {
    const char *src[SCRIPT_COUNT] = {lua_save, lua_claim, lua_confirm};
    for (int i = 0; i < SCRIPT_COUNT; i++) {
        redisReply *r = command(rs, err, "SCRIPT LOAD %s", src[i]);
        if (!r) return -1;
        int ok = r->type == REDIS_REPLY_STRING && r->len == 40;
        if (ok) memcpy(rs->sha[i], r->str, 41);
        freeReplyObject(r);
        if (!ok) return fu_err_set(err, FU_EFATAL, "redis: SCRIPT LOAD failed");
    }
    return 0;
}

/* AUTH and SELECT on a fresh connection. */
static int handshake(struct rstore *rs, struct fu_err *err) {
    redisReply *r = NULL;
    if (rs->password) {
        r = command(rs, err, "AUTH %s", rs->password);
        if (!r) return -1;
        int bad = r->type == REDIS_REPLY_ERROR;
        freeReplyObject(r);
        if (bad) return fu_err_set(err, FU_EINVAL, "redis: authentication failed");
    }
    if (rs->db) {
        r = command(rs, err, "SELECT %d", rs->db);
        if (!r) return -1;
        int bad = r->type == REDIS_REPLY_ERROR;
        freeReplyObject(r);
        if (bad) return fu_err_set(err, FU_EINVAL, "redis: cannot select db %d", rs->db);
    }
    return load_scripts(rs, err);
}

/* Make sure there is a connection; reconnects after the backoff. */
static int ensure_conn(struct rstore *rs, struct fu_err *err) {
    struct timeval tv = {IO_TIMEOUT_MS / 1000, (IO_TIMEOUT_MS % 1000) * 1000};
    if (rs->c) return 0;
    if (mono_ms() < rs->retry_at_ms)
        return fu_err_set(err, FU_ETRANSIENT, "redis: unreachable, retrying");
    rs->c = rs->path ? redisConnectUnixWithTimeout(rs->path, tv)
                     : redisConnectWithTimeout(rs->host, rs->port, tv);
    if (!rs->c || rs->c->err) {
        fu_err_set(err, FU_ETRANSIENT, "redis: cannot connect: %s",
                   rs->c ? rs->c->errstr : "out of memory");
        if (!rs->c) return -1;
        drop_conn(rs);
        return -1;
    }
    redisSetTimeout(rs->c, tv);
    if (handshake(rs, err) < 0) {
        drop_conn(rs);
        return -1;
    }
    rs->backoff_ms = BACKOFF_MIN_MS;
    return 0;
}

/* ---- Pipelines ---- */

/* One command of a pipeline, built argument by argument. */
struct cmd {
    int argc, cap;
    const char **argv;
    size_t *lens;
    char **owned; /* strings this command frees */
    int nowned;
};

static int cmd_arg(struct cmd *c, const char *s, size_t len) {
    if (c->argc == c->cap) {
        int n = c->cap ? c->cap * 2 : 16;
        const char **na = realloc(c->argv, sizeof(*na) * (size_t)n);
        if (!na) return -1;
        c->argv = na;
        size_t *nl = realloc(c->lens, sizeof(*nl) * (size_t)n);
        if (!nl) return -1;
        c->lens = nl;
        c->cap = n;
    }
    c->argv[c->argc] = s;
    c->lens[c->argc++] = len;
    return 0;
}

static int cmd_str(struct cmd *c, const char *s) { return cmd_arg(c, s, strlen(s)); }

/* Add a malloc'd string as an argument; the command frees it. */
static int cmd_take(struct cmd *c, char *s) {
    if (!s) return -1;
    char **no = realloc(c->owned, sizeof(*no) * (size_t)(c->nowned + 1));
    if (!no) {
        free(s);
        return -1;
    }
    c->owned = no;
    c->owned[c->nowned++] = s;
    return cmd_str(c, s);
}

/* Add a copy of s as an argument (keys built in a stack buffer). */
static int cmd_copy(struct cmd *c, const char *s) { return cmd_take(c, strdup(s)); }

static int cmd_fmt(struct cmd *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int cmd_fmt(struct cmd *c, const char *fmt, ...) {
    char buf[KEY_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return cmd_take(c, strdup(buf));
}

static void cmd_release(struct cmd *c) {
    for (int i = 0; i < c->nowned; i++) free(c->owned[i]);
    free(c->owned);
    free(c->argv);
    free(c->lens);
    memset(c, 0, sizeof(*c));
}

/* Send cmds[0..n) in one round trip; replies[i] for each (error replies
 * included). -1 with err (connection dropped) on I/O failure. */
static int pipeline(struct rstore *rs, struct cmd *cmds, int n,
                    redisReply **replies, struct fu_err *err) {
    int i = 0;
    memset(replies, 0, sizeof(*replies) * (size_t)n);
    for (; i < n; i++)
        if (redisAppendCommandArgv(rs->c, cmds[i].argc, cmds[i].argv,
                                   cmds[i].lens) != REDIS_OK)
            break;
    for (int j = 0; i == n && j < n; j++) {
        void *r = NULL;
        if (redisGetReply(rs->c, &r) != REDIS_OK) break;
        replies[j] = r;
    }
    if (i == n && !rs->c->err) return 0;
    fu_err_set(err, FU_ETRANSIENT, "redis: %s", rs->c->errstr);
    for (int j = 0; j < n; j++) freeReplyObject(replies[j]);
    memset(replies, 0, sizeof(*replies) * (size_t)n);
    drop_conn(rs);
    return -1;
}

static int is_noscript(const redisReply *r) {
    return r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8);
}

/* n commands and their replies, allocated and freed together. */
struct pipe {
    int n;
    struct cmd *cmds;
    redisReply **replies;
};

/* Always leaves p releasable. 0, or -1 with err (ENOMEM). */
static int pipe_init(struct pipe *p, int n, struct fu_err *err) {
    p->n = n;
    p->cmds = calloc((size_t)n + 1, sizeof(*p->cmds));
    p->replies = calloc((size_t)n + 1, sizeof(*p->replies));
    if (p->cmds && p->replies) return 0;
    return fu_err_set(err, FU_ENOMEM, "out of memory");
}

static void pipe_release(struct pipe *p) {
    for (int i = 0; i < p->n; i++) {
        if (p->cmds) cmd_release(&p->cmds[i]);
        if (p->replies) freeReplyObject(p->replies[i]);
    }
    free(p->cmds);
    free(p->replies);
    memset(p, 0, sizeof(*p));
}

static int oom(struct fu_err *err) {
    return fu_err_set(err, FU_ENOMEM, "out of memory");
}

/* ---- Load ---- */

static int build_load(struct rstore *rs, const char *user, struct cmd *c) {
    char key[KEY_MAX];
    make_key(rs, KEY_USER, bucket_of(user), user, key);
    return cmd_str(c, "HMGET") | cmd_copy(c, key) | cmd_str(c, "v") |
           cmd_str(c, "s");
}

/* The state in reply r (HMGET v s) of user; NULL with err. */
static struct user_state *state_from_reply(const redisReply *r,
                                           const char *user,
                                           struct fu_err *err) {
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        fu_err_set(err, FU_EFATAL, "redis: unexpected reply to HMGET: %s",
                   r && r->type == REDIS_REPLY_ERROR ? r->str : "?");
        return NULL;
    }
    const redisReply *v = r->element[0], *s = r->element[1];
    if (v->type == REDIS_REPLY_NIL || s->type != REDIS_REPLY_STRING) {
        struct user_state *st = user_state_new(user);
        if (!st) fu_err_set(err, FU_ENOMEM, "out of memory");
        return st;
    }
    struct user_state *st = state_decode(s->str, s->len, err);
    if (st) st->version = strtoull(v->str, NULL, 10);
    return st;
}

static int rs_load(void *ctx, const char *const *users, int n,
                   struct user_state **out, struct fu_err *err) {
    struct rstore *rs = ctx;
    struct pipe p;
    int rc = -1, i;
    if (pipe_init(&p, n, err) < 0 || ensure_conn(rs, err) < 0) goto out;
    for (i = 0; i < n; i++)
        if (build_load(rs, users[i], &p.cmds[i]) != 0) {
            oom(err);
            goto out;
        }
    if (pipeline(rs, p.cmds, n, p.replies, err) < 0) goto out;
    for (i = 0; i < n; i++)
        if (!(out[i] = state_from_reply(p.replies[i], users[i], err))) break;
    if (i < n) {
        while (i > 0) user_state_free(out[--i]);
        goto out;
    }
    rc = 0;
out:
    pipe_release(&p);
    return rc;
}

/* ---- Save ---- */

/* One write's arguments to save.lua (see the script). */
static int save_args(const struct store_write *w, struct cmd *c) {
    const struct user_state *st = w->st;
    int n = w->outbox ? w->outbox->n : 0, rc = 0;
    int64_t due;
    uint64_t seq;
    rc |= cmd_fmt(c, "%" PRIu64, st->version);
    rc |= user_state_empty(st) ? cmd_str(c, "") : cmd_take(c, state_encode(st));
    rc |= cmd_fmt(c, "%" PRId64, w->ttl > 0 ? w->ttl : 1);
    rc |= cmd_str(c, st->user_id);
    if (user_state_next_due(st, &due, &seq))
        rc |= cmd_fmt(c, "%" PRId64, due);
    else
        rc |= cmd_str(c, "");
    rc |= cmd_fmt(c, "%d", n);
    for (int i = 0; i < n; i++)
        rc |= cmd_take(c, outbox_encode(&w->outbox->msgs[i]));
    return rc;
}

/* EVALSHA save.lua for the writes w[idx[0..m)], all of bucket b. */
static int build_save(struct rstore *rs, int b, const struct store_write *w,
                      const int *idx, int m, struct cmd *c) {
    char key[KEY_MAX];
    int rc = cmd_str(c, "EVALSHA") | cmd_str(c, rs->sha[SCRIPT_SAVE]) |
             cmd_fmt(c, "%d", 4 + m);
    for (int k = KEY_DUE; k <= KEY_OB_ID; k++) {
        make_key(rs, (enum key_kind)k, b, NULL, key);
        rc |= cmd_copy(c, key);
    }
    for (int i = 0; i < m; i++) {
        make_key(rs, KEY_USER, b, w[idx[i]].st->user_id, key);
        rc |= cmd_copy(c, key);
    }
    for (int i = 0; i < m; i++) rc |= save_args(&w[idx[i]], c);
    return rc;
}

/* Run the save commands (NOSCRIPT: load the scripts, run those again). */
static int run_saves(struct rstore *rs, struct cmd *cmds, int n,
                     redisReply **replies, struct fu_err *err) {
    if (pipeline(rs, cmds, n, replies, err) < 0) return -1;
    int again = 0;
    for (int i = 0; i < n; i++) again |= is_noscript(replies[i]);
    if (!again) return 0;
    if (load_scripts(rs, err) < 0) return -1;
    for (int i = 0; i < n; i++) {
        if (!is_noscript(replies[i])) continue;
        freeReplyObject(replies[i]);
        replies[i] = NULL;
        if (pipeline(rs, &cmds[i], 1, &replies[i], err) < 0) return -1;
    }
    return 0;
}

/* Bucket b's reply r into the conflict flags of w[idx[0..m)]. */
static int save_result(struct rstore *rs, int b, struct store_write *w,
                       const int *idx, int m, const redisReply *r,
                       struct fu_err *err) {
    rs->head_valid[b] = 0;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)m)
        return fu_err_set(err, FU_EFATAL, "redis: save failed: %s",
                          r && r->type == REDIS_REPLY_ERROR ? r->str : "?");
    for (int i = 0; i < m; i++) {
        const redisReply *v = r->element[i];
        if (v->type != REDIS_REPLY_INTEGER)
            return fu_err_set(err, FU_EFATAL, "redis: save failed: "
                              "unexpected reply");
        w[idx[i]].conflict = v->integer < 0;
    }
    return 0;
}

/* The writes grouped by bucket: order[] lists write indexes bucket by
 * bucket (each in write order); start[b]..start[b + 1] is bucket b's. */
static int *group_by_bucket(const struct store_write *w, int n,
                            int start[REDIS_BUCKETS + 1]) {
    int *order = malloc(sizeof(*order) * (size_t)(n + 1)), *bucket;
    int fill[REDIS_BUCKETS] = {0};
    if (!order || !(bucket = malloc(sizeof(*bucket) * (size_t)(n + 1)))) {
        free(order);
        return NULL;
    }
    memset(start, 0, sizeof(int) * (REDIS_BUCKETS + 1));
    for (int i = 0; i < n; i++) {
        bucket[i] = bucket_of(w[i].st->user_id);
        start[bucket[i] + 1]++;
    }
    for (int b = 0; b < REDIS_BUCKETS; b++) start[b + 1] += start[b];
    for (int i = 0; i < n; i++)
        order[start[bucket[i]] + fill[bucket[i]]++] = i;
    free(bucket);
    return order;
}

static int rs_save(void *ctx, struct store_write *w, int n,
                   struct fu_err *err) {
    struct rstore *rs = ctx;
    int start[REDIS_BUCKETS + 1], used[REDIS_BUCKETS], m = 0, rc = -1;
    int *order = group_by_bucket(w, n, start);
    struct pipe p;
    if (pipe_init(&p, REDIS_BUCKETS, err) < 0 || !order ||
        ensure_conn(rs, err) < 0) {
        if (!order) oom(err);
        goto out;
    }
    for (int b = 0; b < REDIS_BUCKETS; b++) {
        if (start[b] == start[b + 1]) continue;
        used[m] = b;
        if (build_save(rs, b, w, order + start[b], start[b + 1] - start[b],
                       &p.cmds[m++]) != 0) {
            oom(err);
            goto out;
        }
    }
    for (int i = 0; i < n; i++) w[i].conflict = 0;
    if (run_saves(rs, p.cmds, m, p.replies, err) < 0) goto out;
    rc = 0;
    for (int i = 0; i < m && rc == 0; i++) {
        int b = used[i];
        rc = save_result(rs, b, w, order + start[b], start[b + 1] - start[b],
                         p.replies[i], err);
    }
out:
    pipe_release(&p);
    free(order);
    for (int i = 0; i < n; i++) {
        user_state_free(w[i].st);
        w[i].st = NULL;
    }
    return rc;
}

/* ---- Due index ---- */

/* Refresh next_due's view of the buckets it has not seen since a write. */
static int refresh_heads(struct rstore *rs, struct fu_err *err) {
    struct cmd cmds[REDIS_BUCKETS];
    redisReply *replies[REDIS_BUCKETS];
    int idx[REDIS_BUCKETS], n = 0, rc = 0;
    char key[KEY_MAX];
    memset(cmds, 0, sizeof(cmds));
    for (int b = 0; b < REDIS_BUCKETS; b++) {
        if (rs->head_valid[b]) continue;
        make_key(rs, KEY_DUE, b, NULL, key);
        if (cmd_str(&cmds[n], "ZRANGE") | cmd_copy(&cmds[n], key) |
            cmd_str(&cmds[n], "0") | cmd_str(&cmds[n], "0") |
            cmd_str(&cmds[n], "WITHSCORES"))
            rc = oom(err);
        idx[n++] = b;
    }
    if (rc == 0 && n > 0) rc = pipeline(rs, cmds, n, replies, err);
    for (int i = 0; i < n; i++) {
        const redisReply *r = rc == 0 ? replies[i] : NULL;
        if (r && r->type == REDIS_REPLY_ARRAY) {
            rs->head[idx[i]] = r->elements == 2
                                   ? strtoll(r->element[1]->str, NULL, 10)
                                   : INT64_MAX;
            rs->head_valid[idx[i]] = 1;
        }
        if (rc == 0) freeReplyObject(replies[i]);
        cmd_release(&cmds[i]);
    }
    return rc;
}

/* Users of bucket b due exactly at t; NULL-terminated, strdup'd. */
static char **users_due_at(struct rstore *rs, int b, int64_t t,
                           struct fu_err *err) {
    char key[KEY_MAX];
    make_key(rs, KEY_DUE, b, NULL, key);
    redisReply *r = command(rs, err, "ZRANGEBYSCORE %s %lld %lld", key,
                            (long long)t, (long long)t);
    if (!r) return NULL;
    char **users = calloc(r->elements + 1, sizeof(char *));
    for (size_t i = 0; users && i < r->elements; i++)
        users[i] = strdup(r->element[i]->str);
    freeReplyObject(r);
    if (!users) oom(err);
    return users;
}

/* Among the users due at t, the one whose earliest item has the lowest
 * scheduling seq (the order a single process would use). */
static int pick_by_seq(struct rstore *rs, int64_t t, char *buf, size_t size,
                       struct fu_err *err) {
    uint64_t best = UINT64_MAX;
    int found = 0;
    for (int b = 0; b < REDIS_BUCKETS; b++) {
        if (rs->head[b] != t) continue;
        char **users = users_due_at(rs, b, t, err);
        if (!users) return -1;
        for (char **u = users; *u; u++) {
            struct user_state *st;
            int64_t due;
            uint64_t seq;
            const char *one[1] = {*u};
            if (rs_load(rs, one, 1, &st, err) < 0) break;
            if (user_state_next_due(st, &due, &seq) && seq < best) {
                best = seq;
                snprintf(buf, size, "%s", *u);
                found = 1;
            }
            user_state_free(st);
        }
        for (char **u = users; *u; u++) free(*u);
        free(users);
    }
    return found ? 1 : 0;
}

static int rs_next_due(void *ctx, int64_t until, char *buf, size_t size,
                       int64_t *due, struct fu_err *err) {
    struct rstore *rs = ctx;
    int64_t min = INT64_MAX;
    if (ensure_conn(rs, err) < 0 || refresh_heads(rs, err) < 0) return -1;
    for (int b = 0; b < REDIS_BUCKETS; b++)
        if (rs->head[b] < min) min = rs->head[b];
    if (min == INT64_MAX || min > until) return 0;
    *due = min;
    return pick_by_seq(rs, min, buf, size, err);
}

static int rs_due_users(void *ctx, int64_t now, char **users, int max,
                        struct fu_err *err) {
    struct rstore *rs = ctx;
    struct cmd cmds[REDIS_BUCKETS];
    redisReply *replies[REDIS_BUCKETS];
    char key[KEY_MAX];
    int n = 0, rc = 0;
    if (ensure_conn(rs, err) < 0) return -1;
    memset(cmds, 0, sizeof(cmds));
    for (int b = 0; b < REDIS_BUCKETS; b++) {
        make_key(rs, KEY_DUE, b, NULL, key);
        if (cmd_str(&cmds[b], "ZRANGEBYSCORE") | cmd_copy(&cmds[b], key) |
            cmd_str(&cmds[b], "-inf") | cmd_fmt(&cmds[b], "%lld", (long long)now) |
            cmd_str(&cmds[b], "LIMIT") | cmd_str(&cmds[b], "0") |
            cmd_fmt(&cmds[b], "%d", max))
            rc = oom(err);
    }
    if (rc == 0) rc = pipeline(rs, cmds, REDIS_BUCKETS, replies, err);
    for (int b = 0; b < REDIS_BUCKETS; b++) {
        const redisReply *r = rc == 0 ? replies[b] : NULL;
        for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements &&
                           n < max; i++)
            if ((users[n] = strdup(r->element[i]->str))) n++;
        if (rc == 0) freeReplyObject(replies[b]);
        cmd_release(&cmds[b]);
    }
    return rc < 0 ? -1 : n;
}

/* ---- Outbox ---- */

/* How many messages each bucket may lease now: what it has visible,
 * handed out round-robin from the cursor until max. One round trip. */
static int claim_quotas(struct rstore *rs, int64_t now, int max,
                        int quota[REDIS_BUCKETS], struct fu_err *err) {
    struct pipe p;
    char key[KEY_MAX];
    int rc = -1;
    if (pipe_init(&p, REDIS_BUCKETS, err) < 0) goto out;
    for (int b = 0; b < REDIS_BUCKETS; b++) {
        make_key(rs, KEY_OB_ORDER, b, NULL, key);
        if (cmd_str(&p.cmds[b], "ZCOUNT") | cmd_copy(&p.cmds[b], key) |
            cmd_str(&p.cmds[b], "-inf") |
            cmd_fmt(&p.cmds[b], "%lld", (long long)now)) {
            oom(err);
            goto out;
        }
    }
    if (pipeline(rs, p.cmds, REDIS_BUCKETS, p.replies, err) < 0) goto out;
    for (int k = 0; k < REDIS_BUCKETS; k++) {
        int b = (rs->claim_cursor + k) % REDIS_BUCKETS;
        const redisReply *r = p.replies[b];
        long long visible = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
        quota[b] = visible < max ? (int)visible : max;
        max -= quota[b];
    }
    rc = 0;
out:
    pipe_release(&p);
    return rc;
}

/* The messages of one claim.lua reply of bucket b into out; how many,
 * or -1 with err when an entry cannot be read (that stops the outbox
 * loudly rather than leasing the entry again forever). */
static int claim_reply(const redisReply *r, int b, struct outbox_msg *out,
                       struct fu_err *err) {
    int n = 0;
    if (r->type == REDIS_REPLY_ERROR)
        return fu_err_set(err, FU_EFATAL, "redis: outbox claim: %s", r->str);
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
         i += 2) {
        const redisReply *id = r->element[i], *m = r->element[i + 1];
        if (outbox_decode(m->str, m->len, &out[n].msg) < 0) {
            while (n > 0) outbox_msg_release(&out[--n]);
            return fu_err_set(err, FU_EFATAL, "redis: outbox entry %s of "
                                              "bucket %d cannot be read",
                              id->str, b);
        }
        snprintf(out[n].id, sizeof(out[n].id), "%02d/%s", b, id->str);
        n++;
    }
    return n;
}

/* Two round trips whatever the number of buckets: count what each
 * bucket has visible, then lease the quotas with one claim.lua call per
 * bucket that has any, pipelined. */
static int rs_outbox_claim(void *ctx, int64_t now, int lease,
                           struct outbox_msg *out, int max,
                           struct fu_err *err) {
    struct rstore *rs = ctx;
    int quota[REDIS_BUCKETS], bucket[REDIS_BUCKETS], nb = 0, n = 0;
    struct pipe p = {0};
    char order[KEY_MAX], msgs[KEY_MAX];
    if (ensure_conn(rs, err) < 0 || claim_quotas(rs, now, max, quota, err) < 0)
        return -1;
    rs->claim_cursor = (rs->claim_cursor + 1) % REDIS_BUCKETS;
    for (int b = 0; b < REDIS_BUCKETS; b++)
        if (quota[b] > 0) bucket[nb++] = b;
    if (nb == 0) return 0;
    if (pipe_init(&p, nb, err) < 0) goto fail;
    for (int i = 0; i < nb; i++) {
        struct cmd *c = &p.cmds[i];
        make_key(rs, KEY_OB_ORDER, bucket[i], NULL, order);
        make_key(rs, KEY_OB_MSGS, bucket[i], NULL, msgs);
        if (cmd_str(c, "EVALSHA") | cmd_str(c, rs->sha[SCRIPT_CLAIM]) |
            cmd_str(c, "2") | cmd_copy(c, order) | cmd_copy(c, msgs) |
            cmd_fmt(c, "%lld", (long long)now) |
            cmd_fmt(c, "%lld", (long long)(now + lease)) |
            cmd_fmt(c, "%d", quota[bucket[i]])) {
            oom(err);
            goto fail;
        }
    }
    if (run_saves(rs, p.cmds, nb, p.replies, err) < 0) goto fail;
    for (int i = 0; i < nb; i++) {
        int got = claim_reply(p.replies[i], bucket[i], out + n, err);
        if (got < 0) goto fail;
        n += got;
    }
    pipe_release(&p);
    return n;
fail:
    while (n > 0) outbox_msg_release(&out[--n]);
    pipe_release(&p);
    return -1;
}

/* The bucket of an outbox id ("<bucket>/<id>"), or -1. */
static int id_bucket(const char *id) {
    int b = atoi(id);
    return strchr(id, '/') && b >= 0 && b < REDIS_BUCKETS ? b : -1;
}

/* EVALSHA confirm.lua for every message of bucket b among msgs. */
static int build_confirm(struct rstore *rs, int b, const struct outbox_msg *msgs,
                         int n, struct cmd *c) {
    char order[KEY_MAX], keys[KEY_MAX];
    make_key(rs, KEY_OB_ORDER, b, NULL, order);
    make_key(rs, KEY_OB_MSGS, b, NULL, keys);
    int rc = cmd_str(c, "EVALSHA") | cmd_str(c, rs->sha[SCRIPT_CONFIRM]) |
             cmd_str(c, "2") | cmd_copy(c, order) | cmd_copy(c, keys);
    for (int i = 0; i < n; i++)
        if (id_bucket(msgs[i].id) == b)
            rc |= cmd_str(c, strchr(msgs[i].id, '/') + 1);
    return rc;
}

/* One confirm.lua call per bucket that has messages, pipelined. */
static int rs_outbox_confirm(void *ctx, const struct outbox_msg *msgs, int n,
                             struct fu_err *err) {
    struct rstore *rs = ctx;
    int has[REDIS_BUCKETS] = {0}, bucket[REDIS_BUCKETS], nb = 0, rc = -1;
    struct pipe p = {0};
    for (int i = 0; i < n; i++) {
        int b = id_bucket(msgs[i].id);
        if (b < 0) return fu_err_set(err, FU_EFATAL, "outbox id '%s' is not ours",
                                     msgs[i].id);
        if (!has[b]++) bucket[nb++] = b;
    }
    if (nb == 0) return 0;
    if (pipe_init(&p, nb, err) < 0 || ensure_conn(rs, err) < 0) goto out;
    for (int i = 0; i < nb; i++)
        if (build_confirm(rs, bucket[i], msgs, n, &p.cmds[i]) != 0) {
            oom(err);
            goto out;
        }
    if (run_saves(rs, p.cmds, nb, p.replies, err) < 0) goto out;
    rc = 0;
    for (int i = 0; i < nb && rc == 0; i++)
        if (!p.replies[i] || p.replies[i]->type == REDIS_REPLY_ERROR)
            rc = fu_err_set(err, FU_EFATAL, "redis: outbox confirm failed");
out:
    pipe_release(&p);
    return rc;
}

/* ---- Stats ---- */

/* Per bucket: the due index head, the outbox size and its first id. */
static int stats_scan(struct rstore *rs, struct pipe *p, struct fu_err *err) {
    char key[KEY_MAX];
    for (int b = 0; b < REDIS_BUCKETS; b++) {
        struct cmd *c = &p->cmds[3 * b];
        make_key(rs, KEY_DUE, b, NULL, key);
        if (cmd_str(&c[0], "ZRANGE") | cmd_copy(&c[0], key) |
            cmd_str(&c[0], "0") | cmd_str(&c[0], "0") |
            cmd_str(&c[0], "WITHSCORES"))
            return oom(err);
        make_key(rs, KEY_OB_ORDER, b, NULL, key);
        if (cmd_str(&c[1], "ZCARD") | cmd_copy(&c[1], key) |
            cmd_str(&c[2], "ZRANGE") | cmd_copy(&c[2], key) |
            cmd_str(&c[2], "0") | cmd_str(&c[2], "0"))
            return oom(err);
    }
    return pipeline(rs, p->cmds, p->n, p->replies, err);
}

/* The `at` of outbox message id of bucket b, or TIME_NONE. */
static int64_t outbox_at(struct rstore *rs, int b, const char *id,
                         struct fu_err *err) {
    char key[KEY_MAX];
    struct out_msg m;
    int64_t at = TIME_NONE;
    make_key(rs, KEY_OB_MSGS, b, NULL, key);
    redisReply *r = command(rs, err, "HGET %s %s", key, id);
    if (r && r->type == REDIS_REPLY_STRING &&
        outbox_decode(r->str, r->len, &m) == 0) {
        at = m.at;
        free(m.key);
        free(m.value);
    }
    freeReplyObject(r);
    return at;
}

static int rs_stats(void *ctx, struct store_stats *out, struct fu_err *err) {
    struct rstore *rs = ctx;
    struct pipe p;
    int rc = -1;
    out->outbox_depth = 0;
    out->oldest_due = out->oldest_outbox = TIME_NONE;
    if (pipe_init(&p, 3 * REDIS_BUCKETS, err) < 0 || ensure_conn(rs, err) < 0 ||
        stats_scan(rs, &p, err) < 0)
        goto out;
    for (int b = 0; b < REDIS_BUCKETS; b++) {
        const redisReply *due = p.replies[3 * b], *n = p.replies[3 * b + 1],
                         *first = p.replies[3 * b + 2];
        if (due->type == REDIS_REPLY_ARRAY && due->elements == 2) {
            int64_t t = strtoll(due->element[1]->str, NULL, 10);
            if (out->oldest_due == TIME_NONE || t < out->oldest_due)
                out->oldest_due = t;
        }
        if (n->type == REDIS_REPLY_INTEGER) out->outbox_depth += n->integer;
        if (first->type == REDIS_REPLY_ARRAY && first->elements == 1) {
            int64_t at = outbox_at(rs, b, first->element[0]->str, err);
            if (at != TIME_NONE &&
                (out->oldest_outbox == TIME_NONE || at < out->oldest_outbox))
                out->oldest_outbox = at;
        }
    }
    rc = rs->c ? 0 : -1; /* an HGET may have lost the connection */
out:
    pipe_release(&p);
    return rc;
}

/* ---- Lifecycle ---- */

/* Delete every key under the prefix (a scratch namespace), best effort. */
static void purge(struct rstore *rs) {
    char cursor[32] = "0", match[KEY_MAX];
    struct fu_err err;
    snprintf(match, sizeof(match), "%s*", rs->prefix);
    do {
        if (ensure_conn(rs, &err) < 0) return;
        redisReply *r = command(rs, &err, "SCAN %s MATCH %s COUNT 1000",
                                cursor, match);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            freeReplyObject(r);
            return;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        const redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++)
            freeReplyObject(command(rs, &err, "DEL %s", keys->element[i]->str));
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0 && rs->c);
}

static void rs_free(void *ctx) {
    struct rstore *rs = ctx;
    if (!rs) return;
    if (rs->scratch) purge(rs);
    if (rs->c) redisFree(rs->c);
    free(rs->host);
    free(rs->path);
    free(rs->password);
    free(rs->prefix);
    free(rs);
}

/* redis://[:password@]host[:port][/db] or unix:///path.sock */
static int parse_url(struct rstore *rs, const char *url, struct fu_err *err) {
    const char *p;
    rs->port = 6379;
    if (!strncmp(url, "unix://", 7)) {
        rs->path = strdup(url + 7);
        return rs->path && rs->path[0] == '/' ? 0
               : fu_err_set(err, FU_EINVAL, "bad redis url: write unix:///path/to/redis.sock");
    }
    if (strncmp(url, "redis://", 8))
        return fu_err_set(err, FU_EINVAL, "bad redis url: write redis://[:password@]host:port/db");
    p = url + 8;
    const char *at = strchr(p, '@');
    if (at) {
        if (*p == ':') p++;
        rs->password = strndup(p, (size_t)(at - p));
        p = at + 1;
    }
    size_t hl = strcspn(p, ":/");
    rs->host = strndup(p, hl);
    p += hl;
    if (*p == ':') rs->port = (int)strtol(p + 1, (char **)&p, 10);
    if (*p == '/') rs->db = (int)strtol(p + 1, (char **)&p, 10);
    if (!rs->host || !rs->host[0] || *p || rs->port <= 0 || rs->port > 65535 ||
        rs->db < 0)
        return fu_err_set(err, FU_EINVAL, "bad redis url: write redis://[:password@]host:port/db");
    return 0;
}

static const struct store_ops redis_ops = {
    rs_load,         rs_save,           rs_next_due, rs_due_users,
    rs_outbox_claim, rs_outbox_confirm, rs_free,     rs_stats};

int store_redis_open(struct store *out, const char *url, const char *prefix,
                     int scratch, struct fu_err *err) {
    struct rstore *rs = calloc(1, sizeof(*rs));
    if (!rs) return fu_err_set(err, FU_ENOMEM, "out of memory");
    rs->backoff_ms = BACKOFF_MIN_MS;
    rs->scratch = scratch;
    rs->prefix = strdup(prefix ? prefix : "fu:");
    if (!rs->prefix || parse_url(rs, url, err) < 0 || ensure_conn(rs, err) < 0) {
        rs_free(rs);
        return -1;
    }
    out->ops = &redis_ops;
    out->ctx = rs;
    return 0;
}
