/* http.c -- the HTTP endpoint on libmicrohttpd (see http.h).
 *
 * libmicrohttpd parses the requests and runs its own polling thread; this
 * file only maps a request to the handler's reply. */
#include "http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

struct http {
    struct MHD_Daemon *d;
    http_handler_fn *handler;
    void *ctx;
    int port;
};

static enum MHD_Result queue(struct MHD_Connection *conn, int status,
                             char *body, const char *type, int allow) {
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (allow) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **state) {
    struct http *h = cls;
    static int first_call;
    (void)version;
    (void)upload;
    if (*state == NULL) { /* headers only so far: wait for the body */
        *state = &first_call;
        return MHD_YES;
    }
    if (*upload_size) { /* a body is ignored */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
        char *body = strdup("{\"error\": \"method not allowed\"}\n");
        return body ? queue(conn, MHD_HTTP_METHOD_NOT_ALLOWED, body,
                            "application/json", 1)
                    : MHD_NO;
    }
    struct http_reply rep = {404, NULL, "application/json"};
    h->handler(h->ctx, url, &rep);
    if (!rep.body) rep.body = strdup(rep.status == 404 ? "{\"error\": \"not found\"}\n" : "");
    if (!rep.body) return MHD_NO;
    return queue(conn, rep.status, rep.body, rep.content_type, 0);
}

/* host:port into addr. 0, or -1 with err. */
static int parse_listen(const char *listen, struct sockaddr_in *addr,
                        struct fu_err *err) {
    const char *colon = strrchr(listen, ':');
    char host[256];
    struct addrinfo hints, *res = NULL;
    if (!colon || (size_t)(colon - listen) >= sizeof(host))
        return fu_err_set(err, FU_EINVAL, "http.listen '%s': write HOST:PORT",
                          listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host[0] ? host : "0.0.0.0", colon + 1, &hints, &res) != 0 ||
        !res)
        return fu_err_set(err, FU_EINVAL,
                          "http.listen '%s': cannot resolve the host", listen);
    memcpy(addr, res->ai_addr, sizeof(*addr));
    freeaddrinfo(res);
    return 0;
}

struct http *http_new(const char *listen, http_handler_fn *handler, void *ctx,
                      struct fu_err *err) {
    struct sockaddr_in addr;
    struct http *h;
    if (parse_listen(listen, &addr, err) < 0) return NULL;
    if (!(h = calloc(1, sizeof(*h)))) {
        fu_err_set(err, FU_ENOMEM, "out of memory");
        return NULL;
    }
    h->handler = handler;
    h->ctx = ctx;
    h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL,
                            ntohs(addr.sin_port), NULL, NULL, on_request, h,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                            MHD_OPTION_END);
    if (!h->d) {
        fu_err_set(err, FU_EFATAL, "http.listen '%s': cannot listen there "
                                   "(address in use?)", listen);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : ntohs(addr.sin_port);
    return h;
}

int http_port(const struct http *h) { return h->port; }

void http_free(struct http *h) {
    if (!h) return;
    if (h->d) MHD_stop_daemon(h->d);
    free(h);
}
