/* config.c -- load the daemon configuration file (spec 3.2).
 *
 * Starts from the spec defaults and overlays what the file says, checking
 * every mapping against its allowed keys. Every problem goes to the diag
 * with file:line:col. The policy path is resolved against the config
 * file's directory. Environment overrides are applied by the caller
 * through config_override(); nothing here reads the environment. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yamlutil.h"

static const char *const top_keys[] = {"kafka", "state", "http", "policy",
                                       "log", NULL};
static const char *const kafka_keys[] = {"brokers", "group_id",
                                         "input_topics", "topics",
                                         "properties", NULL};
static const char *const topics_keys[] = {"tasks", "reminders",
                                          "dead_letter", "decisions",
                                          "messages", NULL};
static const char *const state_keys[] = {"backend", "redis_url",
                                         "key_prefix", NULL};
static const char *const http_keys[] = {"listen", NULL};
static const char *const log_keys[] = {"level", "format", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error",
                                         NULL};

/* ---- Value checks shared by the file and the overrides ---- */

static int check_redis_url(const char *s, struct fu_err *err) {
    if ((!strncmp(s, "redis://", 8) && s[8]) ||
        (!strncmp(s, "unix://", 7) && s[7]) ||
        (!strncmp(s, "redis+cluster://", 16) && s[16]))
        return 0;
    /* a password is never echoed: what precedes the last '@' is hidden */
    const char *at = strrchr(s, '@');
    return fu_err_set(err, FU_EINVAL,
                      "bad redis_url '%s%s': write "
                      "redis://[[user]:password@]host:port/db, "
                      "unix:///path.sock or "
                      "redis+cluster://host:port[,host:port...]",
                      at ? "***" : "", at ? at : s);
}

static int check_listen(const char *s, struct fu_err *err) {
    const char *colon = strrchr(s, ':');
    long port = -1;
    if (colon && colon[1]) {
        char *end;
        port = strtol(colon + 1, &end, 10);
        if (*end || colon[1] < '0' || colon[1] > '9') port = -1;
    }
    if (port < 0 || port > 65535)
        return fu_err_set(err, FU_EINVAL,
                          "bad listen address '%s': write HOST:PORT, e.g. "
                          "127.0.0.1:9464",
                          s);
    return 0;
}

static int check_nonempty(const char *s, const char *what,
                          struct fu_err *err) {
    if (*s) return 0;
    return fu_err_set(err, FU_EINVAL, "'%s' is empty: write a value", what);
}

/* Replace *slot by a copy of s. 0 / -1 ENOMEM. */
static int set_str(char **slot, const char *s) {
    char *c = strdup(s);
    if (!c) return -1;
    free(*slot);
    *slot = c;
    return 0;
}

/* ---- Defaults ---- */

struct config *config_new_default(void) {
    struct config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg) return NULL;
    cfg->backend = STATE_REDIS;
    cfg->log_format = LOG_FORMAT_JSON;
    cfg->ninput_topics = 1;
    if (!(cfg->input_topics = calloc(1, sizeof(char *))) ||
        set_str(&cfg->input_topics[0], "wallet.events") ||
        set_str(&cfg->brokers, "localhost:9092") ||
        set_str(&cfg->group_id, "followupd") ||
        set_str(&cfg->topic_tasks, "followup.tasks") ||
        set_str(&cfg->topic_reminders, "followup.reminders") ||
        set_str(&cfg->topic_dead_letter, "followup.dead_letter") ||
        set_str(&cfg->topic_messages, "followup.messages") ||
        set_str(&cfg->redis_url, "redis://127.0.0.1:6379/0") ||
        set_str(&cfg->key_prefix, "fu:") ||
        set_str(&cfg->http_listen, "127.0.0.1:9464") ||
        set_str(&cfg->policy_path, "policy.yaml") ||
        set_str(&cfg->log_level, "info")) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* ---- Loading ---- */

struct cloader {
    struct yu_doc *doc;
    struct fu_diag *diag;
    struct config *cfg;
};

#define ERR(n, ...) yu_error(cl->doc, (n), cl->diag, __VA_ARGS__)

/* key of map into *slot, when present: a non-empty string passing check
 * (may be NULL). */
static void get_str(struct cloader *cl, const struct yu_node *map,
                    const char *key,
                    int (*check)(const char *, struct fu_err *),
                    char **slot) {
    struct yu_node *v = yu_map_get(cl->doc, map, key, NULL);
    const char *s;
    struct fu_err e;

    if (!v || yu_str(cl->doc, v, key, cl->diag, &s)) return;
    fu_err_clear(&e);
    if (check ? check(s, &e) : check_nonempty(s, key, &e))
        ERR(v, "%s", e.msg);
    else if (set_str(slot, s))
        ERR(v, "out of memory");
}

static void load_properties(struct cloader *cl, const struct yu_node *pn) {
    struct config *cfg = cl->cfg;
    int n;

    if (yu_is_null(pn)) return;
    if (yu_type(pn) != YU_MAP) {
        ERR(pn, "expected a mapping for 'properties' like "
                "{fetch.wait.max.ms: 100}, got %s", yu_type_name(pn));
        return;
    }
    n = yu_len(pn);
    if (!n) return;
    if (!(cfg->properties = calloc((size_t)n, sizeof(*cfg->properties)))) {
        ERR(pn, "out of memory");
        return;
    }
    for (int i = 0; i < n; i++) {
        struct yu_node *k = yu_map_key(cl->doc, pn, i);
        struct yu_node *v = yu_map_value(cl->doc, pn, i);
        const char *ks, *vs;
        if (yu_str(cl->doc, k, "properties key", cl->diag, &ks)) continue;
        if (yu_type(v) != YU_SCALAR || yu_is_null(v)) {
            ERR(v, "expected a value for property '%s' (a string, number "
                   "or true/false), got %s", ks, yu_type_name(v));
            continue;
        }
        vs = yu_scalar(v);
        struct config_property *p = &cfg->properties[cfg->nproperties];
        if (!(p->key = strdup(ks)) || !(p->value = strdup(vs))) {
            free(p->key);
            free(p->value);
            p->key = p->value = NULL;
            ERR(v, "out of memory");
            continue;
        }
        cfg->nproperties++;
    }
}

static void load_kafka(struct cloader *cl, const struct yu_node *kn) {
    struct config *cfg = cl->cfg;
    struct yu_node *v;

    if (yu_check_map(cl->doc, kn, "kafka", kafka_keys, "in kafka",
                     cl->diag) &&
        yu_type(kn) != YU_MAP)
        return;
    get_str(cl, kn, "brokers", NULL, &cfg->brokers);
    get_str(cl, kn, "group_id", NULL, &cfg->group_id);
    if ((v = yu_map_get(cl->doc, kn, "input_topics", NULL))) {
        char **topics;
        int n;
        if (!yu_str_list(cl->doc, v, "input_topics",
                         YU_LIST_SCALAR_OK | YU_LIST_NONEMPTY, cl->diag,
                         &topics, &n)) {
            yu_strv_free(cfg->input_topics, cfg->ninput_topics);
            cfg->input_topics = topics;
            cfg->ninput_topics = n;
        }
    }
    if ((v = yu_map_get(cl->doc, kn, "topics", NULL))) {
        if (!yu_check_map(cl->doc, v, "topics", topics_keys, "in topics",
                          cl->diag) ||
            yu_type(v) == YU_MAP) {
            struct yu_node *d;
            get_str(cl, v, "tasks", NULL, &cfg->topic_tasks);
            get_str(cl, v, "reminders", NULL, &cfg->topic_reminders);
            get_str(cl, v, "dead_letter", NULL, &cfg->topic_dead_letter);
            get_str(cl, v, "messages", NULL, &cfg->topic_messages);
            if ((d = yu_map_get(cl->doc, v, "decisions", NULL)) &&
                !yu_is_null(d))
                get_str(cl, v, "decisions", NULL, &cfg->topic_decisions);
        }
    }
    if ((v = yu_map_get(cl->doc, kn, "properties", NULL)))
        load_properties(cl, v);
}

static void load_state(struct cloader *cl, const struct yu_node *sn) {
    struct config *cfg = cl->cfg;
    struct yu_node *v;
    const char *s;

    if (yu_check_map(cl->doc, sn, "state", state_keys, "in state",
                     cl->diag) &&
        yu_type(sn) != YU_MAP)
        return;
    if ((v = yu_map_get(cl->doc, sn, "backend", NULL)) &&
        !yu_str(cl->doc, v, "backend", cl->diag, &s)) {
        if (!strcmp(s, "redis"))
            cfg->backend = STATE_REDIS;
        else if (!strcmp(s, "memory"))
            cfg->backend = STATE_MEMORY;
        else
            ERR(v, "bad backend '%s': write redis, or memory (one process, "
                   "not durable)", s);
    }
    get_str(cl, sn, "redis_url", check_redis_url, &cfg->redis_url);
    if ((v = yu_map_get(cl->doc, sn, "key_prefix", NULL)) &&
        !yu_str_or_null(cl->doc, v, "key_prefix", cl->diag, &s)) {
        if (s && strlen(s) > CONFIG_KEY_PREFIX_MAX)
            ERR(v, "key_prefix is %zu bytes: at most %d (every key starts "
                   "with it)", strlen(s), CONFIG_KEY_PREFIX_MAX);
        else if (set_str(&cfg->key_prefix, s ? s : ""))
            ERR(v, "out of memory");
    }
}

static void load_log(struct cloader *cl, const struct yu_node *ln) {
    struct config *cfg = cl->cfg;
    struct yu_node *v;
    const char *s;

    if (yu_check_map(cl->doc, ln, "log", log_keys, "in log", cl->diag) &&
        yu_type(ln) != YU_MAP)
        return;
    if ((v = yu_map_get(cl->doc, ln, "level", NULL)) &&
        !yu_str(cl->doc, v, "level", cl->diag, &s)) {
        int ok = 0;
        for (int i = 0; log_levels[i]; i++)
            if (!strcmp(log_levels[i], s)) ok = 1;
        if (!ok)
            ERR(v, "bad log level '%s': write debug, info, warn or error", s);
        else if (set_str(&cfg->log_level, s))
            ERR(v, "out of memory");
    }
    if ((v = yu_map_get(cl->doc, ln, "format", NULL)) &&
        !yu_str(cl->doc, v, "format", cl->diag, &s)) {
        if (!strcmp(s, "json"))
            cfg->log_format = LOG_FORMAT_JSON;
        else if (!strcmp(s, "text"))
            cfg->log_format = LOG_FORMAT_TEXT;
        else
            ERR(v, "bad log format '%s': write json or text", s);
    }
}

/* The policy path p relative to the directory of the config file. */
static char *resolve_policy(const char *cfgpath, const char *p) {
    const char *slash = strrchr(cfgpath, '/');
    if (p[0] == '/' || !slash) return strdup(p);
    size_t dlen = (size_t)(slash - cfgpath) + 1;
    char *out = malloc(dlen + strlen(p) + 1);
    if (!out) return NULL;
    memcpy(out, cfgpath, dlen);
    strcpy(out + dlen, p);
    return out;
}

struct config *config_load(const char *path, struct fu_diag *diag) {
    struct cloader cl = {NULL, diag, NULL};
    struct yu_node *root, *v;
    int n0 = diag->n;
    const char *pol = "policy.yaml";

    if (!(cl.cfg = config_new_default()) ||
        !(cl.cfg->path = strdup(path))) {
        struct fu_err e;
        fu_err_at(&e, FU_ENOMEM, path, 0, 0, "out of memory");
        fu_diag_add(diag, &e);
        goto out;
    }
    if (!(cl.doc = yu_load_file(path, diag))) goto out;
    root = yu_root(cl.doc);
    if (root && !yu_is_null(root)) {
        if (yu_check_map(cl.doc, root, "config", top_keys, "at the top level",
                         diag) &&
            yu_type(root) != YU_MAP)
            goto out;
        if ((v = yu_map_get(cl.doc, root, "kafka", NULL))) load_kafka(&cl, v);
        if ((v = yu_map_get(cl.doc, root, "state", NULL))) load_state(&cl, v);
        if ((v = yu_map_get(cl.doc, root, "http", NULL)) &&
            (!yu_check_map(cl.doc, v, "http", http_keys, "in http", diag) ||
             yu_type(v) == YU_MAP))
            get_str(&cl, v, "listen", check_listen, &cl.cfg->http_listen);
        if ((v = yu_map_get(cl.doc, root, "log", NULL))) load_log(&cl, v);
        if ((v = yu_map_get(cl.doc, root, "policy", NULL)) &&
            yu_str(cl.doc, v, "policy", diag, &pol))
            pol = "policy.yaml";
    }
    free(cl.cfg->policy_path);
    if (!(cl.cfg->policy_path = resolve_policy(path, pol))) {
        struct fu_err e;
        fu_err_at(&e, FU_ENOMEM, path, 0, 0, "out of memory");
        fu_diag_add(diag, &e);
    }

out:
    yu_free(cl.doc);
    if (diag->n > n0) {
        config_free(cl.cfg);
        return NULL;
    }
    return cl.cfg;
}

int config_override(struct config *cfg, const char *key, const char *value,
                    struct fu_err *err) {
    char **slot;
    int (*check)(const char *, struct fu_err *) = NULL;

    if (!strcmp(key, "kafka.brokers")) {
        slot = &cfg->brokers;
    } else if (!strcmp(key, "state.redis_url")) {
        slot = &cfg->redis_url;
        check = check_redis_url;
    } else if (!strcmp(key, "http.listen")) {
        slot = &cfg->http_listen;
        check = check_listen;
    } else if (!strcmp(key, "policy")) {
        slot = &cfg->policy_path;
    } else {
        return fu_err_set(err, FU_EINVAL,
                          "unknown override '%s': write kafka.brokers, "
                          "state.redis_url, http.listen or policy",
                          key);
    }
    if (check ? check(value, err) : check_nonempty(value, key, err))
        return -1;
    if (set_str(slot, value))
        return fu_err_set(err, FU_ENOMEM, "out of memory");
    return 0;
}

int config_holds_secret(const struct config *cfg) {
    const char *url = cfg->redis_url ? strstr(cfg->redis_url, "://") : NULL;
    const char *at = url ? strrchr(url, '@') : NULL;
    if (at && at > url + 3) return 1;
    for (int i = 0; i < cfg->nproperties; i++)
        if (strstr(cfg->properties[i].key, "password") ||
            strstr(cfg->properties[i].key, "secret"))
            return 1;
    return 0;
}

void config_free(struct config *cfg) {
    if (!cfg) return;
    free(cfg->path);
    free(cfg->brokers);
    free(cfg->group_id);
    yu_strv_free(cfg->input_topics, cfg->ninput_topics);
    free(cfg->topic_tasks);
    free(cfg->topic_reminders);
    free(cfg->topic_dead_letter);
    free(cfg->topic_messages);
    free(cfg->topic_decisions);
    for (int i = 0; i < cfg->nproperties; i++) {
        free(cfg->properties[i].key);
        free(cfg->properties[i].value);
    }
    free(cfg->properties);
    free(cfg->redis_url);
    free(cfg->key_prefix);
    free(cfg->http_listen);
    free(cfg->policy_path);
    free(cfg->log_level);
    free(cfg);
}
