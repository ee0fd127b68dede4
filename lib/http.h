/* http.h -- a small HTTP endpoint (libmicrohttpd) for metrics and health.
 *
 * The server runs on libmicrohttpd's own thread, so a slow or stuck
 * client never holds up the caller's loop; the handler is called on that
 * thread and must only read state that is safe to read from it. Only GET
 * and HEAD are served (others: 405). */
#ifndef FU_HTTP_H
#define FU_HTTP_H

#include "err.h"

/* What a handler answers: status, body (malloc'd, taken) and its type. */
struct http_reply {
    int status;
    char *body;
    const char *content_type; /* static text */
};

/* Answer path (no query string); called on the server's thread. */
typedef void http_handler_fn(void *ctx, const char *path,
                             struct http_reply *out);

struct http;

/* Listen on listen ("HOST:PORT"; IPv4 address or a name, "0.0.0.0" for
 * all; port 0 picks a free one). ctx is borrowed. NULL with err. */
struct http *http_new(const char *listen, http_handler_fn *handler, void *ctx,
                      struct fu_err *err);

/* The port actually bound. */
int http_port(const struct http *h);

void http_free(struct http *h); /* stops the thread; NULL ok */

#endif
