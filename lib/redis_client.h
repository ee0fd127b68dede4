/* redis_client.h -- pipelined commands to one Redis server or to a Redis
 * Cluster, for the Redis store (plain hiredis: Debian's has no cluster
 * support).
 *
 * A URL names one server (redis://[:password@]host[:port][/db],
 * unix:///path.sock) or a cluster's seed nodes
 * (redis+cluster://[:password@]host:port[,host:port...]). Every command
 * carries the hash slot of the keys it touches. On a cluster the client
 * keeps the slot map (CLUSTER SLOTS) and one connection per master,
 * sends each command to the master that serves its slot (a pipeline is
 * split by master, written to all of them, then read), follows MOVED
 * (the map is read again) and ASK (ASKING first) redirections, and
 * reports TRYAGAIN, CLUSTERDOWN, a slot nobody serves and every lost
 * connection as FU_ETRANSIENT, so the caller retries the whole call. */
#ifndef FU_REDIS_CLIENT_H
#define FU_REDIS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "err.h"

#define REDIS_SLOTS 16384

/* One command, built argument by argument (or preformatted: raw). */
struct redis_cmd {
    int slot; /* of its keys; any value on a single server */
    int argc, cap;
    const char **argv;
    size_t *lens;
    char **owned; /* strings the command frees */
    int nowned;
    char *raw; /* a formatted command (redisFormatCommand), owned */
    size_t rawlen;
};

/* Builders: 0, or -1 on ENOMEM (results can be or-ed together). */
int redis_cmd_str(struct redis_cmd *c, const char *s);
int redis_cmd_take(struct redis_cmd *c, char *s); /* frees s in any case */
int redis_cmd_copy(struct redis_cmd *c, const char *s);
int redis_cmd_fmt(struct redis_cmd *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void redis_cmd_release(struct redis_cmd *c);

/* The hash slot of a key (CRC16 of its {hash tag}, or of all of it). */
int redis_key_slot(const char *key, size_t len);

/* Run on every new connection after AUTH and SELECT (the store loads its
 * scripts): 0, or -1 with err. */
typedef int redis_connect_fn(void *ctx, redisContext *c, struct fu_err *err);

struct redis_client;

/* A client for url; connects later (redis_client_ensure). NULL with err
 * (FU_EINVAL: a bad URL, with the form to write; FU_ENOMEM). */
struct redis_client *redis_client_new(const char *url,
                                      redis_connect_fn *on_connect, void *ctx,
                                      struct fu_err *err);
void redis_client_free(struct redis_client *cl); /* NULL is a no-op */

/* 1 for a redis+cluster:// URL. */
int redis_client_is_cluster(const struct redis_client *cl);

/* Connected (one server) or the slot map read (a cluster), reconnecting
 * with backoff after a failure. 0, or -1 with err (FU_ETRANSIENT). */
int redis_client_ensure(struct redis_client *cl, struct fu_err *err);

/* Send cmds[0..n), each to the master of its slot, in one round trip per
 * master; replies[i] for each (error replies included, redirections
 * followed). -1 with err (no reply is kept) when a connection failed,
 * a redirection did not end, or the cluster answered TRYAGAIN or
 * CLUSTERDOWN: nothing is known to have run or not; retry the call. */
int redis_client_pipeline(struct redis_client *cl, struct redis_cmd *cmds,
                          int n, redisReply **replies, struct fu_err *err);

/* On a cluster, wait until a replica of every master that cmds[0..n)
 * went to has acknowledged every write so far (WAIT 1), or timeout_ms
 * passed (a replica down: go on). A master's acknowledged write is lost
 * in a failover unless a replica had it; callers that commit input
 * offsets after a write wait here first. 0 at once on one server or for
 * masters without replicas; -1 with err (FU_ETRANSIENT) when a
 * connection failed. */
int redis_client_wait_replicas(struct redis_client *cl,
                               const struct redis_cmd *cmds, int n,
                               int timeout_ms, struct fu_err *err);

/* One command (redisCommand's format) to the master of slot. NULL with
 * err as above; an error reply is returned as such. */
redisReply *redis_client_command(struct redis_client *cl, int slot,
                                 struct fu_err *err, const char *fmt, ...);

/* How many masters serve slots (1 on a single server): after ensure. */
int redis_client_masters(const struct redis_client *cl);

/* One command to the i-th master (0 <= i < redis_client_masters): SCAN
 * runs on every master. NULL with err as above. */
redisReply *redis_client_master_command(struct redis_client *cl, int i,
                                        struct fu_err *err, const char *fmt,
                                        ...);

/* Run fn on every live connection (scripts loaded again after NOSCRIPT).
 * 0, or -1 with err. */
int redis_client_each(struct redis_client *cl, redis_connect_fn *fn,
                      void *ctx, struct fu_err *err);

/* Counts lost connections: what a caller cached from the server may be
 * stale when it changed. */
uint64_t redis_client_epoch(const struct redis_client *cl);

#endif
