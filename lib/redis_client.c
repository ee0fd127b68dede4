/* redis_client.c -- connections, routing by hash slot and pipelines for
 * the Redis store: one server, or a Redis Cluster on plain hiredis.
 *
 * Here: commands built argument by argument (struct redis_cmd), URLs,
 * one connection per node with its own reconnect backoff, the cluster's
 * slot map (CLUSTER SLOTS, read at start and again after MOVED or a lost
 * connection), and pipelines split by master with MOVED / ASK followed.
 * A connection error drops that connection (hiredis cannot reuse it) and
 * fails the call as FU_ETRANSIENT; the next call reconnects. Not here:
 * keys, scripts and states (store_redis.c). */
#include "redis_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define IO_TIMEOUT_MS 5000
#define REDIRECTS_MAX 5
#define NODES_MAX 1024

struct node {
    char *host; /* NULL for a unix socket */
    int port;
    redisContext *c;
    int64_t retry_at_ms; /* monotonic; no reconnect before */
    int backoff_ms;
    int replicas; /* a cluster master's replicas, from the slot map */
};

struct redis_client {
    int cluster;
    char *path; /* unix socket */
    char *user, *password; /* AUTH [user] password (an ACL user) */
    int db;
    struct node *nodes; /* one server: nodes[0]; a cluster: seeds first */
    int nnodes, nseeds;
    int16_t *slot_node; /* cluster: the node serving each slot, or -1 */
    int map_stale;
    uint64_t epoch;
    redis_connect_fn *on_connect;
    void *ctx;
};

/* ---- Commands ---- */

static int cmd_arg(struct redis_cmd *c, const char *s, size_t len) {
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

int redis_cmd_str(struct redis_cmd *c, const char *s) {
    return cmd_arg(c, s, strlen(s));
}

int redis_cmd_take(struct redis_cmd *c, char *s) {
    if (!s) return -1;
    char **no = realloc(c->owned, sizeof(*no) * (size_t)(c->nowned + 1));
    if (!no) {
        free(s);
        return -1;
    }
    c->owned = no;
    c->owned[c->nowned++] = s;
    return redis_cmd_str(c, s);
}

int redis_cmd_copy(struct redis_cmd *c, const char *s) {
    return redis_cmd_take(c, strdup(s));
}

int redis_cmd_fmt(struct redis_cmd *c, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return redis_cmd_take(c, strdup(buf));
}

void redis_cmd_release(struct redis_cmd *c) {
    for (int i = 0; i < c->nowned; i++) free(c->owned[i]);
    free(c->owned);
    free(c->argv);
    free(c->lens);
    redisFreeCommand(c->raw);
    memset(c, 0, sizeof(*c));
}

/* ---- Slots ---- */

/* CRC16-CCITT (XModem), the cluster's key hash. */
static uint16_t crc16(const char *buf, size_t len) {
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((unsigned char)buf[i] << 8);
        for (int k = 0; k < 8; k++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

int redis_key_slot(const char *key, size_t len) {
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t rest = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        if (close && close > open + 1) /* "{}" hashes the whole key */
            return crc16(open + 1, (size_t)(close - open - 1)) & (REDIS_SLOTS - 1);
    }
    return crc16(key, len) & (REDIS_SLOTS - 1);
}

/* ---- Nodes ---- */

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void node_drop(struct redis_client *cl, struct node *nd) {
    if (!nd->c) return;
    redisFree(nd->c);
    nd->c = NULL;
    nd->retry_at_ms = mono_ms() + nd->backoff_ms;
    nd->backoff_ms = nd->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                         : nd->backoff_ms * 2;
    cl->epoch++;
    cl->map_stale = cl->cluster; /* a failover may have moved slots */
}

/* The index of host:port among the nodes, added when new; -1 ENOMEM. */
static int node_find(struct redis_client *cl, const char *host, size_t hlen,
                     int port) {
    for (int i = 0; i < cl->nnodes; i++)
        if (cl->nodes[i].port == port && cl->nodes[i].host &&
            strlen(cl->nodes[i].host) == hlen &&
            !memcmp(cl->nodes[i].host, host, hlen))
            return i;
    if (cl->nnodes == NODES_MAX) return -1;
    struct node *nn = realloc(cl->nodes, sizeof(*nn) * (size_t)(cl->nnodes + 1));
    if (!nn) return -1;
    cl->nodes = nn;
    struct node *nd = &nn[cl->nnodes];
    memset(nd, 0, sizeof(*nd));
    if (!(nd->host = strndup(host, hlen))) return -1;
    nd->port = port;
    nd->backoff_ms = BACKOFF_MIN_MS;
    return cl->nnodes++;
}

/* A handshake reply: 0, or -1 with err (FU_ETRANSIENT when the
 * connection failed, FU_EINVAL when Redis refused: what failed). */
static int handshake_reply(redisContext *c, redisReply *r, const char *what,
                           struct fu_err *err) {
    if (!r) return fu_err_set(err, FU_ETRANSIENT, "redis: %s", c->errstr);
    int bad = r->type == REDIS_REPLY_ERROR;
    if (bad) fu_err_set(err, FU_EINVAL, "redis: %s: %s", what, r->str);
    freeReplyObject(r);
    return bad ? -1 : 0;
}

/* AUTH, SELECT and the caller's hook on a fresh connection. */
static int handshake(struct redis_client *cl, redisContext *c,
                     struct fu_err *err) {
    if (cl->password &&
        handshake_reply(c, cl->user ? redisCommand(c, "AUTH %s %s", cl->user,
                                                   cl->password)
                                    : redisCommand(c, "AUTH %s", cl->password),
                        "authentication failed", err) < 0)
        return -1;
    if (cl->db &&
        handshake_reply(c, redisCommand(c, "SELECT %d", cl->db), "SELECT",
                        err) < 0)
        return -1;
    return cl->on_connect ? cl->on_connect(cl->ctx, c, err) : 0;
}

/* Node i connected, after its backoff. 0, or -1 with err. */
static int node_connect(struct redis_client *cl, int i, struct fu_err *err) {
    struct node *nd = &cl->nodes[i];
    struct timeval tv = {IO_TIMEOUT_MS / 1000, (IO_TIMEOUT_MS % 1000) * 1000};
    if (nd->c) return 0;
    if (mono_ms() < nd->retry_at_ms)
        return fu_err_set(err, FU_ETRANSIENT, "redis: unreachable, retrying");
    nd->c = cl->path ? redisConnectUnixWithTimeout(cl->path, tv)
                     : redisConnectWithTimeout(nd->host, nd->port, tv);
    if (!nd->c) return fu_err_set(err, FU_ENOMEM, "out of memory");
    if (nd->c->err) {
        fu_err_set(err, FU_ETRANSIENT, "redis: cannot connect: %s",
                   nd->c->errstr);
        node_drop(cl, nd);
        return -1;
    }
    redisSetTimeout(nd->c, tv);
    if (handshake(cl, nd->c, err) < 0) {
        node_drop(cl, nd);
        return -1;
    }
    nd->backoff_ms = BACKOFF_MIN_MS;
    return 0;
}

/* ---- The slot map ---- */

/* Fill the map from a CLUSTER SLOTS reply r of node `from`. */
static int map_from_reply(struct redis_client *cl, int from,
                          const redisReply *r, struct fu_err *err) {
    if (r->type != REDIS_REPLY_ARRAY)
        return fu_err_set(err, FU_ETRANSIENT, "redis: CLUSTER SLOTS: %s",
                          r->type == REDIS_REPLY_ERROR ? r->str : "?");
    for (int s = 0; s < REDIS_SLOTS; s++) cl->slot_node[s] = -1;
    for (int k = 0; k < cl->nnodes; k++) cl->nodes[k].replicas = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *range = r->element[i];
        if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) continue;
        const redisReply *m = range->element[2];
        if (m->type != REDIS_REPLY_ARRAY || m->elements < 2) continue;
        const char *host = m->element[0]->str ? m->element[0]->str : "";
        if (!*host || !strcmp(host, "?")) host = cl->nodes[from].host;
        int node = node_find(cl, host, strlen(host), (int)m->element[1]->integer);
        if (node < 0) return fu_err_set(err, FU_ENOMEM, "out of memory");
        if ((int)range->elements - 3 > cl->nodes[node].replicas)
            cl->nodes[node].replicas = (int)range->elements - 3;
        long long lo = range->element[0]->integer, hi = range->element[1]->integer;
        for (long long s = lo; s <= hi && s < REDIS_SLOTS; s++)
            if (s >= 0) cl->slot_node[s] = (int16_t)node;
    }
    return 0;
}

/* Read the slot map from the first node that answers, seeds first. */
static int map_refresh(struct redis_client *cl, struct fu_err *err) {
    fu_err_set(err, FU_ETRANSIENT, "redis cluster: no node reachable");
    for (int i = 0; i < cl->nnodes; i++) {
        struct fu_err e;
        if (node_connect(cl, i, &e) < 0) {
            *err = e;
            continue;
        }
        redisReply *r = redisCommand(cl->nodes[i].c, "CLUSTER SLOTS");
        if (!r) {
            fu_err_set(err, FU_ETRANSIENT, "redis: %s", cl->nodes[i].c->errstr);
            node_drop(cl, &cl->nodes[i]);
            continue;
        }
        int rc = map_from_reply(cl, i, r, err);
        freeReplyObject(r);
        if (rc == 0) {
            cl->map_stale = 0;
            return 0;
        }
        if (err->code == FU_ENOMEM) return -1;
    }
    return -1;
}

int redis_client_ensure(struct redis_client *cl, struct fu_err *err) {
    if (!cl->cluster) return node_connect(cl, 0, err);
    return cl->map_stale ? map_refresh(cl, err) : 0;
}

/* ---- Pipelines ---- */

/* Where command i goes: a node index, or -1 with err. */
static int route(struct redis_client *cl, const struct redis_cmd *c,
                 struct fu_err *err) {
    if (!cl->cluster) return 0;
    int node = c->slot >= 0 && c->slot < REDIS_SLOTS ? cl->slot_node[c->slot] : -1;
    if (node < 0) {
        cl->map_stale = 1;
        return fu_err_set(err, FU_ETRANSIENT, "redis cluster: slot %d is not "
                          "served (CLUSTERDOWN?)", c->slot);
    }
    return node;
}

static int append(redisContext *c, const struct redis_cmd *cmd, int asking) {
    if (asking && redisAppendCommand(c, "ASKING") != REDIS_OK) return -1;
    if (cmd->raw)
        return redisAppendFormattedCommand(c, cmd->raw, cmd->rawlen);
    return redisAppendCommandArgv(c, cmd->argc, cmd->argv, cmd->lens);
}

static int flush(redisContext *c) {
    int done = 0;
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK) return -1;
    return 0;
}

static int get_reply(redisContext *c, redisReply **out) {
    void *r = NULL;
    if (redisGetReply(c, &r) != REDIS_OK) return -1;
    *out = r;
    return 0;
}

/* Whether node k has a command of this wave. */
static int wave_uses(int k, int n, const int *todo, const int *node) {
    for (int i = 0; i < n; i++)
        if (todo[i] && node[i] == k) return 1;
    return 0;
}

/* Write node k's commands of this wave (ASKING first where asked). */
static int wave_write(struct redis_client *cl, int k, struct redis_cmd *cmds,
                      int n, const int *todo, const int *node,
                      const int *asking, struct fu_err *err) {
    if (node_connect(cl, k, err) < 0) return -1;
    redisContext *c = cl->nodes[k].c;
    for (int i = 0; i < n; i++)
        if (todo[i] && node[i] == k && append(c, &cmds[i], asking[i]) < 0)
            return fu_err_set(err, FU_ETRANSIENT, "redis: %s", c->errstr);
    if (flush(c) < 0)
        return fu_err_set(err, FU_ETRANSIENT, "redis: %s", c->errstr);
    return 0;
}

/* Read node k's replies of this wave into replies[]. */
static int wave_read(struct redis_client *cl, int k, int n, const int *todo,
                     const int *node, const int *asking, redisReply **replies,
                     struct fu_err *err) {
    redisContext *c = cl->nodes[k].c;
    for (int i = 0; i < n; i++) {
        if (!todo[i] || node[i] != k) continue;
        redisReply *ok = NULL;
        int rc = (asking[i] && get_reply(c, &ok) < 0) ||
                 get_reply(c, &replies[i]) < 0;
        freeReplyObject(ok);
        if (rc) return fu_err_set(err, FU_ETRANSIENT, "redis: %s", c->errstr);
    }
    return 0;
}

/* One wave: send every command i with todo[i] to node[i], every node
 * written before any is read (so the masters work at once); replies[i]
 * filled. -1 with err when a connection failed: then every connection
 * with replies still unread is dropped too, since a reply read later
 * would answer the wrong command. */
static int wave(struct redis_client *cl, struct redis_cmd *cmds, int n,
                const int *todo, const int *node, const int *asking,
                redisReply **replies, struct fu_err *err) {
    char unread[NODES_MAX] = {0};
    int rc = 0;
    for (int k = 0; k < cl->nnodes && rc == 0; k++) {
        if (!wave_uses(k, n, todo, node)) continue;
        unread[k] = 1;
        rc = wave_write(cl, k, cmds, n, todo, node, asking, err);
    }
    for (int k = 0; k < cl->nnodes && rc == 0; k++) {
        if (!unread[k]) continue;
        rc = wave_read(cl, k, n, todo, node, asking, replies, err);
        if (rc == 0) unread[k] = 0;
    }
    for (int k = 0; rc < 0 && k < cl->nnodes; k++)
        if (unread[k]) node_drop(cl, &cl->nodes[k]);
    return rc;
}

static int is_error(const redisReply *r, const char *prefix) {
    return r && r->type == REDIS_REPLY_ERROR &&
           !strncmp(r->str, prefix, strlen(prefix));
}

/* A MOVED or ASK reply: the node it names into *node, the reply freed.
 * 1 when r was one, 0 when not, -1 with err. */
static int redirect(struct redis_client *cl, redisReply **r, int *node,
                    int *asking, struct fu_err *err) {
    int moved = is_error(*r, "MOVED "), ask = is_error(*r, "ASK ");
    if (!moved && !ask) return 0;
    const char *addr = strchr((*r)->str + (moved ? 6 : 4), ' ');
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    if (!colon)
        return fu_err_set(err, FU_ETRANSIENT, "redis: bad redirection: %s",
                          (*r)->str);
    addr++;
    *node = node_find(cl, addr, (size_t)(colon - addr), atoi(colon + 1));
    *asking = ask;
    if (moved) cl->map_stale = 1; /* read the map before the next call */
    freeReplyObject(*r);
    *r = NULL;
    return *node < 0 ? fu_err_set(err, FU_ENOMEM, "out of memory") : 1;
}

static void free_replies(redisReply **replies, int n) {
    for (int i = 0; i < n; i++) freeReplyObject(replies[i]);
    memset(replies, 0, sizeof(*replies) * (size_t)n);
}

/* Follow redirections wave after wave. 0, or -1 with err. */
static int run_waves(struct redis_client *cl, struct redis_cmd *cmds, int n,
                     int *todo, int *node, int *asking, redisReply **replies,
                     struct fu_err *err) {
    for (int w = 0; w <= REDIRECTS_MAX; w++) {
        if (wave(cl, cmds, n, todo, node, asking, replies, err) < 0) return -1;
        int again = 0;
        for (int i = 0; i < n; i++) {
            if (!todo[i]) continue;
            int rc = redirect(cl, &replies[i], &node[i], &asking[i], err);
            if (rc < 0) return -1;
            todo[i] = rc;
            again |= rc;
        }
        if (!again) return 0;
    }
    return fu_err_set(err, FU_ETRANSIENT, "redis cluster: too many redirections");
}

int redis_client_pipeline(struct redis_client *cl, struct redis_cmd *cmds,
                          int n, redisReply **replies, struct fu_err *err) {
    int *todo = calloc((size_t)n + 1, 3 * sizeof(int)), rc = -1;
    memset(replies, 0, sizeof(*replies) * (size_t)n);
    if (!todo) return fu_err_set(err, FU_ENOMEM, "out of memory");
    int *node = todo + n + 1, *asking = node + n + 1;
    if (redis_client_ensure(cl, err) < 0) goto out;
    for (int i = 0; i < n; i++) {
        todo[i] = 1;
        if ((node[i] = route(cl, &cmds[i], err)) < 0) goto out;
    }
    if (run_waves(cl, cmds, n, todo, node, asking, replies, err) < 0) goto out;
    rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        if (is_error(replies[i], "TRYAGAIN") || is_error(replies[i], "CLUSTERDOWN")) {
            fu_err_set(err, FU_ETRANSIENT, "redis cluster: %s", replies[i]->str);
            cl->map_stale = cl->cluster;
            rc = -1;
        }
out:
    if (rc < 0) free_replies(replies, n);
    free(todo);
    return rc;
}

int redis_client_wait_replicas(struct redis_client *cl,
                               const struct redis_cmd *cmds, int n,
                               int timeout_ms, struct fu_err *err) {
    struct redis_cmd waits[NODES_MAX];
    redisReply *replies[NODES_MAX];
    char asked[NODES_MAX] = {0};
    int m = 0, rc = 0;
    if (!cl->cluster) return 0;
    for (int i = 0; i < n && rc == 0; i++) {
        int node = cmds[i].slot >= 0 && cmds[i].slot < REDIS_SLOTS
                       ? cl->slot_node[cmds[i].slot] : -1;
        if (node < 0 || asked[node] || cl->nodes[node].replicas == 0) continue;
        asked[node] = 1;
        memset(&waits[m], 0, sizeof(waits[m]));
        waits[m].slot = cmds[i].slot;
        rc = redis_cmd_str(&waits[m], "WAIT") | redis_cmd_str(&waits[m], "1") |
             redis_cmd_fmt(&waits[m], "%d", timeout_ms);
        m++;
    }
    if (rc < 0) fu_err_set(err, FU_ENOMEM, "out of memory");
    else if (m > 0) rc = redis_client_pipeline(cl, waits, m, replies, err);
    for (int i = 0; i < m; i++) {
        if (rc == 0) freeReplyObject(replies[i]);
        redis_cmd_release(&waits[i]);
    }
    return rc;
}

static redisReply *vcommand(struct redis_client *cl, int slot, int node,
                            struct fu_err *err, const char *fmt, va_list ap) {
    struct redis_cmd c = {0};
    redisReply *r = NULL;
    int len = redisvFormatCommand(&c.raw, fmt, ap);
    if (len < 0) {
        fu_err_set(err, FU_ENOMEM, "out of memory");
        return NULL;
    }
    c.rawlen = (size_t)len;
    c.slot = slot;
    if (node < 0) {
        redis_client_pipeline(cl, &c, 1, &r, err);
    } else {
        int todo = 1, asking = 0;
        if (redis_client_ensure(cl, err) == 0)
            run_waves(cl, &c, 1, &todo, &node, &asking, &r, err);
    }
    redis_cmd_release(&c);
    return r;
}

redisReply *redis_client_command(struct redis_client *cl, int slot,
                                 struct fu_err *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(cl, slot, -1, err, fmt, ap);
    va_end(ap);
    return r;
}

/* The node of the i-th master in slot order, or -1. */
static int master_node(const struct redis_client *cl, int i) {
    if (!cl->cluster) return i == 0 ? 0 : -1;
    int seen[NODES_MAX] = {0}, k = 0;
    for (int s = 0; s < REDIS_SLOTS; s++) {
        int nd = cl->slot_node[s];
        if (nd < 0 || seen[nd]) continue;
        seen[nd] = 1;
        if (k++ == i) return nd;
    }
    return -1;
}

int redis_client_masters(const struct redis_client *cl) {
    int n = 0;
    while (master_node(cl, n) >= 0) n++;
    return n;
}

redisReply *redis_client_master_command(struct redis_client *cl, int i,
                                        struct fu_err *err, const char *fmt,
                                        ...) {
    int node = master_node(cl, i);
    if (node < 0) {
        fu_err_set(err, FU_EINVAL, "redis: no master %d", i);
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(cl, 0, node, err, fmt, ap);
    va_end(ap);
    return r;
}

int redis_client_each(struct redis_client *cl, redis_connect_fn *fn,
                      void *ctx, struct fu_err *err) {
    for (int i = 0; i < cl->nnodes; i++) {
        struct node *nd = &cl->nodes[i];
        if (nd->c && fn(ctx, nd->c, err) < 0) {
            if (nd->c->err) node_drop(cl, nd);
            return -1;
        }
    }
    return 0;
}

uint64_t redis_client_epoch(const struct redis_client *cl) { return cl->epoch; }

int redis_client_is_cluster(const struct redis_client *cl) { return cl->cluster; }

/* ---- URLs ---- */

#define FORM_ONE \
    "write redis://[[user]:password@]host:port/db or unix:///path.sock"
#define FORM_CLUSTER \
    "write redis+cluster://[[user]:password@]host:port[,host:port...]"

/* "[[user]:password@]" at *p (up to the last '@', so a password may hold
 * one): into cl->user and cl->password, *p moved past it. */
static int take_password(struct redis_client *cl, const char **p) {
    const char *at = strrchr(*p, '@');
    if (!at) return 0;
    const char *colon = memchr(*p, ':', (size_t)(at - *p));
    if (colon) {
        if (colon > *p && !(cl->user = strndup(*p, (size_t)(colon - *p))))
            return -1;
        *p = colon + 1;
    }
    if (!(cl->password = strndup(*p, (size_t)(at - *p)))) return -1;
    *p = at + 1;
    return 0;
}

/* "host[:port]" at *p up to one of stops; a node added. */
static int take_node(struct redis_client *cl, const char **p,
                     const char *stops) {
    size_t hl = strcspn(*p, ":,/");
    const char *host = *p;
    long port = 6379;
    *p += hl;
    if (**p == ':') port = strtol(*p + 1, (char **)p, 10);
    if (hl == 0 || port <= 0 || port > 65535 || (**p && !strchr(stops, **p)))
        return -1;
    return node_find(cl, host, hl, (int)port) < 0 ? -1 : 0;
}

static int parse_cluster(struct redis_client *cl, const char *p,
                         struct fu_err *err) {
    cl->cluster = 1;
    if (take_password(cl, &p) < 0) return fu_err_set(err, FU_ENOMEM, "out of memory");
    do {
        if (*p == ',') p++;
        if (take_node(cl, &p, ",") < 0)
            return fu_err_set(err, FU_EINVAL, "bad redis url: " FORM_CLUSTER);
    } while (*p == ',');
    cl->nseeds = cl->nnodes;
    cl->slot_node = malloc(sizeof(*cl->slot_node) * REDIS_SLOTS);
    if (!cl->slot_node) return fu_err_set(err, FU_ENOMEM, "out of memory");
    for (int s = 0; s < REDIS_SLOTS; s++) cl->slot_node[s] = -1;
    cl->map_stale = 1;
    return 0;
}

static int parse_url(struct redis_client *cl, const char *url,
                     struct fu_err *err) {
    const char *p;
    if (!strncmp(url, "redis+cluster://", 16)) return parse_cluster(cl, url + 16, err);
    if (!strncmp(url, "unix://", 7)) {
        cl->path = strdup(url + 7);
        if (!cl->path || cl->path[0] != '/' || node_find(cl, "", 0, 0) < 0)
            return fu_err_set(err, FU_EINVAL, "bad redis url: " FORM_ONE);
        return 0;
    }
    if (strncmp(url, "redis://", 8))
        return fu_err_set(err, FU_EINVAL, "bad redis url: " FORM_ONE);
    p = url + 8;
    if (take_password(cl, &p) < 0) return fu_err_set(err, FU_ENOMEM, "out of memory");
    if (take_node(cl, &p, "/") < 0)
        return fu_err_set(err, FU_EINVAL, "bad redis url: " FORM_ONE);
    if (*p == '/') cl->db = (int)strtol(p + 1, (char **)&p, 10);
    if (*p || cl->db < 0)
        return fu_err_set(err, FU_EINVAL, "bad redis url: " FORM_ONE);
    return 0;
}

struct redis_client *redis_client_new(const char *url,
                                      redis_connect_fn *on_connect, void *ctx,
                                      struct fu_err *err) {
    struct redis_client *cl = calloc(1, sizeof(*cl));
    if (!cl) {
        fu_err_set(err, FU_ENOMEM, "out of memory");
        return NULL;
    }
    cl->on_connect = on_connect;
    cl->ctx = ctx;
    if (parse_url(cl, url, err) < 0) {
        redis_client_free(cl);
        return NULL;
    }
    return cl;
}

void redis_client_free(struct redis_client *cl) {
    if (!cl) return;
    for (int i = 0; i < cl->nnodes; i++) {
        if (cl->nodes[i].c) redisFree(cl->nodes[i].c);
        free(cl->nodes[i].host);
    }
    free(cl->nodes);
    free(cl->slot_node);
    free(cl->path);
    free(cl->user);
    free(cl->password);
    free(cl);
}
