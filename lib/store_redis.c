/* store_redis.c -- the state store on Redis (hiredis, Lua scripts).
 *
 * Each user's state is one hash {v: version, s: encoded state} under a key
 * tagged with the user's bucket, `<prefix>{bNN}:u:<user>`; the bucket also
 * holds the due index (zset user -> next due second) and the outbox. A
 * save runs lib/lua/save.lua, which checks the version read and writes
 * state, index and outbox messages in one step, so every key a script
 * touches shares one hash slot and the scheme holds on Redis Cluster. A
 * batch is one pipelined round trip for loads and one for saves (one per
 * master on a cluster: lib/redis_client.c routes each bucket's commands
 * to the master of the bucket's slot).
 *
 * Errors: a lost connection, a cluster that is failing over or moving a
 * slot (TRYAGAIN, CLUSTERDOWN) report FU_ETRANSIENT and the caller
 * retries; the compare-and-set version makes a repeated save harmless.
 * NOSCRIPT (the script cache is empty after a restart or failover) loads
 * the scripts again and retries once. Paced calls (spec 4.3) wait in keys
 * of their own slot, `<prefix>{pacing}:...`, shared by every daemon: the
 * queue in serving order, the taken calls under lease, and the budget of
 * the current minute (lib/lua/pace_*.lua). Key layout: docs/redis.md. */
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
#include "redis_client.h"
#include "state_codec.h"
#include "timeutil.h"

/* The scripts, generated from lib/lua/ by the Makefile. */
extern const char lua_save[], lua_claim[], lua_confirm[], lua_pace_add[],
    lua_pace_take[], lua_pace_done[];

#define REDIS_BUCKETS 64
#define KEY_MAX 600
/* A key is the prefix, "{bNN}:u:" and a user id of at most 256 bytes
 * (EVENT_MAX_ID); a longer prefix would cut keys and mix users. */
#define PREFIX_MAX (KEY_MAX - 256 - 16)
/* How long a save waits for a replica of each master it wrote to (a
 * cluster): the write then survives a failover. A replica that is down
 * costs each save this much, never a stop. */
#define REPLICA_WAIT_MS 200

enum script { SCRIPT_SAVE, SCRIPT_CLAIM, SCRIPT_CONFIRM, SCRIPT_PACE_ADD,
              SCRIPT_PACE_TAKE, SCRIPT_PACE_DONE, SCRIPT_COUNT };
/* Pacing keys outlive the longest wait (a calling slot) by far. */
#define PACE_TTL_S (3 * 86400)

struct rstore {
    struct redis_client *cl;
    char *prefix;
    int slot[REDIS_BUCKETS]; /* the hash slot of each bucket's keys */
    char sha[SCRIPT_COUNT][41];
    /* next_due's view of each bucket's earliest due (single writer),
     * valid while no connection was lost (epoch) */
    int64_t head[REDIS_BUCKETS];
    int head_valid[REDIS_BUCKETS];
    uint64_t epoch;
    int claim_cursor; /* outbox buckets are scanned round-robin */
    int pace_slot;    /* the slot of the {pacing} keys */
    long pace_used;   /* budget used in the minute of the last take */
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

/* redis_connect_fn: load the scripts on a new connection (every master
 * of a cluster has its own script cache). */
static int load_scripts(void *ctx, redisContext *c, struct fu_err *err) {
    struct rstore *rs = ctx;
    const char *src[SCRIPT_COUNT] = {lua_save,     lua_claim,
                                     lua_confirm,  lua_pace_add,
                                     lua_pace_take, lua_pace_done};
    for (int i = 0; i < SCRIPT_COUNT; i++) {
        redisReply *r = redisCommand(c, "SCRIPT LOAD %s", src[i]);
        if (!r) return fu_err_set(err, FU_ETRANSIENT, "redis: %s", c->errstr);
        int ok = r->type == REDIS_REPLY_STRING && r->len == 40;
        if (ok) memcpy(rs->sha[i], r->str, 41);
        freeReplyObject(r);
        if (!ok) return fu_err_set(err, FU_EFATAL, "redis: SCRIPT LOAD failed");
    }
    return 0;
}

static int ensure_conn(struct rstore *rs, struct fu_err *err) {
    return redis_client_ensure(rs->cl, err);
}

static int pipeline(struct rstore *rs, struct redis_cmd *cmds, int n,
                    redisReply **replies, struct fu_err *err) {
    return redis_client_pipeline(rs->cl, cmds, n, replies, err);
}

/* A new command addressed to bucket b's slot. */
static struct redis_cmd *for_bucket(struct rstore *rs, struct redis_cmd *c,
                                    int b) {
    c->slot = rs->slot[b];
    return c;
}

static int is_noscript(const redisReply *r) {
    return r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8);
}

/* n commands and their replies, allocated and freed together. */
struct pipe {
    int n;
    struct redis_cmd *cmds;
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
        if (p->cmds) redis_cmd_release(&p->cmds[i]);
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

static int build_load(struct rstore *rs, const char *user, struct redis_cmd *c) {
    char key[KEY_MAX];
    int b = bucket_of(user);
    make_key(rs, KEY_USER, b, user, key);
    return redis_cmd_str(for_bucket(rs, c, b), "HMGET") | redis_cmd_copy(c, key) | redis_cmd_str(c, "v") |
           redis_cmd_str(c, "s");
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
static int save_args(const struct store_write *w, struct redis_cmd *c) {
    const struct user_state *st = w->st;
    int n = w->outbox ? w->outbox->n : 0, rc = 0;
    int64_t due;
    uint64_t seq;
    rc |= redis_cmd_fmt(c, "%" PRIu64, st->version);
    rc |= user_state_empty(st) ? redis_cmd_str(c, "") : redis_cmd_take(c, state_encode(st));
    rc |= redis_cmd_fmt(c, "%" PRId64, w->ttl > 0 ? w->ttl : 1);
    rc |= redis_cmd_str(c, st->user_id);
    if (user_state_next_due(st, &due, &seq))
        rc |= redis_cmd_fmt(c, "%" PRId64, due);
    else
        rc |= redis_cmd_str(c, "");
    rc |= redis_cmd_fmt(c, "%d", n);
    for (int i = 0; i < n; i++)
        rc |= redis_cmd_take(c, outbox_encode(&w->outbox->msgs[i]));
    return rc;
}

/* EVALSHA save.lua for the writes w[idx[0..m)], all of bucket b. */
static int build_save(struct rstore *rs, int b, const struct store_write *w,
                      const int *idx, int m, struct redis_cmd *c) {
    char key[KEY_MAX];
    int rc = redis_cmd_str(for_bucket(rs, c, b), "EVALSHA") |
             redis_cmd_str(c, rs->sha[SCRIPT_SAVE]) |
             redis_cmd_fmt(c, "%d", 4 + m);
    for (int k = KEY_DUE; k <= KEY_OB_ID; k++) {
        make_key(rs, (enum key_kind)k, b, NULL, key);
        rc |= redis_cmd_copy(c, key);
    }
    for (int i = 0; i < m; i++) {
        make_key(rs, KEY_USER, b, w[idx[i]].st->user_id, key);
        rc |= redis_cmd_copy(c, key);
    }
    for (int i = 0; i < m; i++) rc |= save_args(&w[idx[i]], c);
    return rc;
}

/* Run the save commands (NOSCRIPT: load the scripts, run those again). */
static int run_saves(struct rstore *rs, struct redis_cmd *cmds, int n,
                     redisReply **replies, struct fu_err *err) {
    if (pipeline(rs, cmds, n, replies, err) < 0) return -1;
    int again = 0;
    for (int i = 0; i < n; i++) again |= is_noscript(replies[i]);
    if (!again) return 0;
    if (redis_client_each(rs->cl, load_scripts, rs, err) < 0) return -1;
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
    if (run_saves(rs, p.cmds, m, p.replies, err) < 0 ||
        redis_client_wait_replicas(rs->cl, p.cmds, m, REPLICA_WAIT_MS, err) < 0)
        goto out;
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
    struct redis_cmd cmds[REDIS_BUCKETS];
    redisReply *replies[REDIS_BUCKETS];
    int idx[REDIS_BUCKETS], n = 0, rc = 0;
    char key[KEY_MAX];
    memset(cmds, 0, sizeof(cmds));
    if (rs->epoch != redis_client_epoch(rs->cl)) { /* Redis may have restarted */
        memset(rs->head_valid, 0, sizeof(rs->head_valid));
        rs->epoch = redis_client_epoch(rs->cl);
    }
    for (int b = 0; b < REDIS_BUCKETS; b++) {
        if (rs->head_valid[b]) continue;
        make_key(rs, KEY_DUE, b, NULL, key);
        if (redis_cmd_str(for_bucket(rs, &cmds[n], b), "ZRANGE") | redis_cmd_copy(&cmds[n], key) |
            redis_cmd_str(&cmds[n], "0") | redis_cmd_str(&cmds[n], "0") |
            redis_cmd_str(&cmds[n], "WITHSCORES"))
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
        redis_cmd_release(&cmds[i]);
    }
    return rc;
}

/* Users of bucket b due exactly at t; NULL-terminated, strdup'd. */
static char **users_due_at(struct rstore *rs, int b, int64_t t,
                           struct fu_err *err) {
    char key[KEY_MAX];
    make_key(rs, KEY_DUE, b, NULL, key);
    redisReply *r = redis_client_command(rs->cl, rs->slot[b], err,
                                         "ZRANGEBYSCORE %s %lld %lld", key,
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
    struct redis_cmd cmds[REDIS_BUCKETS];
    redisReply *replies[REDIS_BUCKETS];
    char key[KEY_MAX];
    int n = 0, rc = 0;
    if (ensure_conn(rs, err) < 0) return -1;
    memset(cmds, 0, sizeof(cmds));
    for (int b = 0; b < REDIS_BUCKETS; b++) {
        make_key(rs, KEY_DUE, b, NULL, key);
        if (redis_cmd_str(for_bucket(rs, &cmds[b], b), "ZRANGEBYSCORE") | redis_cmd_copy(&cmds[b], key) |
            redis_cmd_str(&cmds[b], "-inf") | redis_cmd_fmt(&cmds[b], "%lld", (long long)now) |
            redis_cmd_str(&cmds[b], "LIMIT") | redis_cmd_str(&cmds[b], "0") |
            redis_cmd_fmt(&cmds[b], "%d", max))
            rc = oom(err);
    }
    if (rc == 0) rc = pipeline(rs, cmds, REDIS_BUCKETS, replies, err);
    for (int b = 0; b < REDIS_BUCKETS; b++) {
        const redisReply *r = rc == 0 ? replies[b] : NULL;
        for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements &&
                           n < max; i++)
            if ((users[n] = strdup(r->element[i]->str))) n++;
        if (rc == 0) freeReplyObject(replies[b]);
        redis_cmd_release(&cmds[b]);
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
        if (redis_cmd_str(for_bucket(rs, &p.cmds[b], b), "ZCOUNT") | redis_cmd_copy(&p.cmds[b], key) |
            redis_cmd_str(&p.cmds[b], "-inf") |
            redis_cmd_fmt(&p.cmds[b], "%lld", (long long)now)) {
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
        struct redis_cmd *c = &p.cmds[i];
        make_key(rs, KEY_OB_ORDER, bucket[i], NULL, order);
        make_key(rs, KEY_OB_MSGS, bucket[i], NULL, msgs);
        if (redis_cmd_str(for_bucket(rs, c, bucket[i]), "EVALSHA") |
            redis_cmd_str(c, rs->sha[SCRIPT_CLAIM]) |
            redis_cmd_str(c, "2") | redis_cmd_copy(c, order) | redis_cmd_copy(c, msgs) |
            redis_cmd_fmt(c, "%lld", (long long)now) |
            redis_cmd_fmt(c, "%lld", (long long)(now + lease)) |
            redis_cmd_fmt(c, "%d", quota[bucket[i]])) {
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
                         int n, struct redis_cmd *c) {
    char order[KEY_MAX], keys[KEY_MAX];
    make_key(rs, KEY_OB_ORDER, b, NULL, order);
    make_key(rs, KEY_OB_MSGS, b, NULL, keys);
    int rc = redis_cmd_str(for_bucket(rs, c, b), "EVALSHA") |
             redis_cmd_str(c, rs->sha[SCRIPT_CONFIRM]) |
             redis_cmd_str(c, "2") | redis_cmd_copy(c, order) | redis_cmd_copy(c, keys);
    for (int i = 0; i < n; i++)
        if (id_bucket(msgs[i].id) == b)
            rc |= redis_cmd_str(c, strchr(msgs[i].id, '/') + 1);
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
        struct redis_cmd *c = &p->cmds[3 * b];
        make_key(rs, KEY_DUE, b, NULL, key);
        for (int k = 0; k < 3; k++) for_bucket(rs, &c[k], b);
        if (redis_cmd_str(&c[0], "ZRANGE") | redis_cmd_copy(&c[0], key) |
            redis_cmd_str(&c[0], "0") | redis_cmd_str(&c[0], "0") |
            redis_cmd_str(&c[0], "WITHSCORES"))
            return oom(err);
        make_key(rs, KEY_OB_ORDER, b, NULL, key);
        if (redis_cmd_str(&c[1], "ZCARD") | redis_cmd_copy(&c[1], key) |
            redis_cmd_str(&c[2], "ZRANGE") | redis_cmd_copy(&c[2], key) |
            redis_cmd_str(&c[2], "0") | redis_cmd_str(&c[2], "0"))
            return oom(err);
    }
    return pipeline(rs, p->cmds, p->n, p->replies, err);
}

/* The `at` of outbox message id of bucket b, or TIME_NONE; *failed set
 * when the call failed. */
static int64_t outbox_at(struct rstore *rs, int b, const char *id,
                         int *failed, struct fu_err *err) {
    char key[KEY_MAX];
    struct out_msg m;
    int64_t at = TIME_NONE;
    make_key(rs, KEY_OB_MSGS, b, NULL, key);
    redisReply *r = redis_client_command(rs->cl, rs->slot[b], err,
                                         "HGET %s %s", key, id);
    if (!r) *failed = 1;
    if (r && r->type == REDIS_REPLY_STRING &&
        outbox_decode(r->str, r->len, &m) == 0) {
        at = m.at;
        free(m.key);
        free(m.value);
    }
    freeReplyObject(r);
    return at;
}

static int pace_stats(struct rstore *rs, struct store_stats *out,
                      struct fu_err *err);

static int rs_stats(void *ctx, struct store_stats *out, struct fu_err *err) {
    struct rstore *rs = ctx;
    struct pipe p;
    int rc = -1, failed = 0;
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
            int64_t at = outbox_at(rs, b, first->element[0]->str, &failed,
                                   err);
            if (at != TIME_NONE &&
                (out->oldest_outbox == TIME_NONE || at < out->oldest_outbox))
                out->oldest_outbox = at;
        }
    }
    rc = failed || pace_stats(rs, out, err) < 0 ? -1 : 0;
out:
    pipe_release(&p);
    return rc;
}

/* ---- Lifecycle ---- */

/* Delete every key under the prefix (a scratch namespace) on one
 * master, best effort; -1 when a call failed. */
static int purge_master(struct rstore *rs, int master) {
    char cursor[32] = "0", match[KEY_MAX];
    struct fu_err err;
    snprintf(match, sizeof(match), "%s*", rs->prefix);
    do {
        redisReply *r = redis_client_master_command(
            rs->cl, master, &err, "SCAN %s MATCH %s COUNT 1000", cursor, match);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            freeReplyObject(r);
            return -1;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        const redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            const redisReply *k = keys->element[i];
            freeReplyObject(redis_client_command(
                rs->cl, redis_key_slot(k->str, k->len), &err, "DEL %b",
                k->str, k->len));
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

static void purge(struct rstore *rs) {
    struct fu_err err;
    if (ensure_conn(rs, &err) < 0) return;
    int masters = redis_client_masters(rs->cl);
    for (int i = 0; i < masters; i++)
        if (purge_master(rs, i) < 0) return;
}

static void rs_free(void *ctx) {
    struct rstore *rs = ctx;
    if (!rs) return;
    if (rs->scratch && rs->cl) purge(rs);
    redis_client_free(rs->cl);
    free(rs->prefix);
    free(rs);
}

/* ---- Pacing (spec 4.3) ----
 *
 * A waiting call is one member string that sorts in serving order:
 * 100 - priority (3 digits), due_at + PACE_DUE_OFFSET (20 digits), the
 * task id (always STATE_ID_LEN - 1 bytes), then the user id. All members
 * of the queue have score 0, so ZRANGE returns them in that order. */

#define PACE_DUE_OFFSET 100000000000LL /* keeps due times before 1970 sortable */

enum pace_key { PACE_QUEUE, PACE_TAKEN, PACE_BY_DUE, PACE_BUDGET, PACE_KEYS };

static void pace_key(const struct rstore *rs, enum pace_key k, char *out) {
    static const char *const suffix[PACE_KEYS] = {"q", "t", "d", "b"};
    snprintf(out, KEY_MAX, "%s{pacing}:%s", rs->prefix, suffix[k]);
}

static char *pace_member(const struct paced_call *c) {
    size_t size = 3 + 20 + strlen(c->task_id) + strlen(c->user_id) + 1;
    char *m = malloc(size);
    if (m)
        snprintf(m, size, "%03d%020lld%s%s", 100 - c->priority,
                 (long long)(c->due_at + PACE_DUE_OFFSET), c->task_id,
                 c->user_id);
    return m;
}

/* The call a member names (not_after is not kept: the release checks
 * it). 0, or -1 when the member is not one of ours. */
static int pace_parse(const char *m, size_t len, struct paced_call *c) {
    const size_t head = 3 + 20 + STATE_ID_LEN - 1;
    char num[21];
    memset(c, 0, sizeof(*c));
    if (len <= head) return -1;
    memcpy(num, m, 3);
    num[3] = '\0';
    c->priority = 100 - atoi(num);
    memcpy(num, m + 3, 20);
    num[20] = '\0';
    c->due_at = strtoll(num, NULL, 10) - PACE_DUE_OFFSET;
    memcpy(c->task_id, m + 23, STATE_ID_LEN - 1);
    c->task_id[STATE_ID_LEN - 1] = '\0';
    c->not_after = TIME_MAX;
    if ((c->user_id = malloc(len - head + 1))) {
        memcpy(c->user_id, m + head, len - head);
        c->user_id[len - head] = '\0';
    }
    return c->user_id && c->priority >= 0 && c->priority <= 100 ? 0 : -1;
}

/* EVALSHA script with the pacing keys kinds[0..nkeys) and args. */
static int pace_cmd(struct rstore *rs, struct redis_cmd *c, enum script s,
                    const enum pace_key *kinds, int nkeys) {
    char key[KEY_MAX];
    c->slot = rs->pace_slot;
    int rc = redis_cmd_str(c, "EVALSHA") | redis_cmd_str(c, rs->sha[s]) |
             redis_cmd_fmt(c, "%d", nkeys);
    for (int i = 0; i < nkeys; i++) {
        pace_key(rs, kinds[i], key);
        rc |= redis_cmd_copy(c, key);
    }
    return rc;
}

/* Run one pacing script; its reply, or NULL with err. */
static redisReply *pace_run(struct rstore *rs, struct redis_cmd *c,
                            struct fu_err *err) {
    redisReply *r = NULL;
    if (ensure_conn(rs, err) < 0 || run_saves(rs, c, 1, &r, err) < 0) {
        freeReplyObject(r);
        return NULL;
    }
    if (!r || r->type == REDIS_REPLY_ERROR) {
        fu_err_set(err, FU_ETRANSIENT, "redis: pacing script failed: %s",
                   r ? r->str : "no reply");
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

static int rs_pacing_add(void *ctx, const struct paced_call *calls, int n,
                         struct fu_err *err) {
    static const enum pace_key keys[] = {PACE_QUEUE, PACE_TAKEN, PACE_BY_DUE};
    struct rstore *rs = ctx;
    struct redis_cmd c = {0};
    if (n == 0) return 0;
    int rc = pace_cmd(rs, &c, SCRIPT_PACE_ADD, keys, 3) |
             redis_cmd_fmt(&c, "%d", PACE_TTL_S);
    for (int i = 0; i < n; i++)
        rc |= redis_cmd_take(&c, pace_member(&calls[i])) |
              redis_cmd_fmt(&c, "%lld", (long long)calls[i].due_at);
    redisReply *r = rc ? NULL : pace_run(rs, &c, err);
    if (rc) oom(err);
    redis_cmd_release(&c);
    freeReplyObject(r);
    return r ? 0 : -1;
}

static int rs_pacing_take(void *ctx, int64_t now, int limit, int lease,
                          struct paced_call *out, int max,
                          struct fu_err *err) {
    static const enum pace_key keys[] = {PACE_QUEUE, PACE_TAKEN, PACE_BY_DUE,
                                         PACE_BUDGET};
    struct rstore *rs = ctx;
    struct redis_cmd c = {0};
    int n = 0;
    if (pace_cmd(rs, &c, SCRIPT_PACE_TAKE, keys, 4) |
        redis_cmd_fmt(&c, "%lld", (long long)now) |
        redis_cmd_fmt(&c, "%d", limit) | redis_cmd_fmt(&c, "%d", max) |
        redis_cmd_fmt(&c, "%lld", (long long)(now + lease)) |
        redis_cmd_fmt(&c, "%d", PACE_TTL_S)) {
        redis_cmd_release(&c);
        return oom(err);
    }
    redisReply *r = pace_run(rs, &c, err);
    redis_cmd_release(&c);
    if (!r) return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
        freeReplyObject(r);
        return fu_err_set(err, FU_EFATAL, "redis: unexpected pacing reply");
    }
    rs->pace_used = r->element[0]->integer;
    for (size_t i = 1; i < r->elements && n < max; i++) {
        const redisReply *m = r->element[i];
        if (m->type != REDIS_REPLY_STRING ||
            pace_parse(m->str, m->len, &out[n]) < 0) {
            paced_call_release(&out[n]);
            continue; /* not ours: never queued by pace_add */
        }
        n++;
    }
    freeReplyObject(r);
    return n;
}

static int rs_pacing_done(void *ctx, const struct paced_call *calls, int n,
                          int64_t minute, int refund, struct fu_err *err) {
    static const enum pace_key keys[] = {PACE_TAKEN, PACE_BY_DUE, PACE_BUDGET};
    struct rstore *rs = ctx;
    struct redis_cmd c = {0};
    if (n == 0) return 0;
    int rc = pace_cmd(rs, &c, SCRIPT_PACE_DONE, keys, 3) |
             redis_cmd_fmt(&c, "%lld", (long long)minute) |
             redis_cmd_fmt(&c, "%d", refund);
    for (int i = 0; i < n; i++) rc |= redis_cmd_take(&c, pace_member(&calls[i]));
    redisReply *r = rc ? NULL : pace_run(rs, &c, err);
    if (rc) oom(err);
    redis_cmd_release(&c);
    freeReplyObject(r);
    return r ? 0 : -1;
}

/* Waiting calls, the oldest due among them, the budget used. */
static int pace_stats(struct rstore *rs, struct store_stats *out,
                      struct fu_err *err) {
    char q[KEY_MAX], t[KEY_MAX], d[KEY_MAX];
    pace_key(rs, PACE_QUEUE, q);
    pace_key(rs, PACE_TAKEN, t);
    pace_key(rs, PACE_BY_DUE, d);
    redisReply *r = redis_client_command(rs->cl, rs->pace_slot, err,
                                         "ZCARD %s", q);
    redisReply *r2 = r ? redis_client_command(rs->cl, rs->pace_slot, err,
                                              "ZCARD %s", t)
                       : NULL;
    redisReply *r3 = r2 ? redis_client_command(rs->cl, rs->pace_slot, err,
                                               "ZRANGE %s 0 0 WITHSCORES", d)
                        : NULL;
    int ok = r3 != NULL;
    out->calls_waiting = 0;
    out->oldest_waiting = TIME_NONE;
    out->budget_used = rs->pace_used;
    if (ok && r->type == REDIS_REPLY_INTEGER) out->calls_waiting += r->integer;
    if (ok && r2->type == REDIS_REPLY_INTEGER) out->calls_waiting += r2->integer;
    if (ok && r3->type == REDIS_REPLY_ARRAY && r3->elements == 2)
        out->oldest_waiting = strtoll(r3->element[1]->str, NULL, 10);
    freeReplyObject(r);
    freeReplyObject(r2);
    freeReplyObject(r3);
    return ok ? 0 : -1;
}

static const struct store_ops redis_ops = {
    rs_load,         rs_save,           rs_next_due,   rs_due_users,
    rs_outbox_claim, rs_outbox_confirm, rs_free,       rs_stats,
    rs_pacing_add,   rs_pacing_take,    rs_pacing_done};

int store_redis_open(struct store *out, const char *url, const char *prefix,
                     int scratch, struct fu_err *err) {
    if (prefix && strlen(prefix) > PREFIX_MAX)
        return fu_err_set(err, FU_EINVAL, "key prefix longer than %d bytes",
                          PREFIX_MAX);
    struct rstore *rs = calloc(1, sizeof(*rs));
    if (!rs) return fu_err_set(err, FU_ENOMEM, "out of memory");
    rs->scratch = scratch;
    rs->prefix = strdup(prefix ? prefix : "fu:");
    if (!rs->prefix) {
        rs_free(rs);
        return fu_err_set(err, FU_ENOMEM, "out of memory");
    }
    for (int b = 0; b < REDIS_BUCKETS; b++) {
        char tag[8];
        int len = snprintf(tag, sizeof(tag), "{b%02d}", b);
        rs->slot[b] = redis_key_slot(tag, (size_t)len);
    }
    rs->pace_slot = redis_key_slot("{pacing}", 8);
    if (!(rs->cl = redis_client_new(url, load_scripts, rs, err)) ||
        ensure_conn(rs, err) < 0) {
        rs_free(rs);
        return -1;
    }
    out->ops = &redis_ops;
    out->ctx = rs;
    return 0;
}
