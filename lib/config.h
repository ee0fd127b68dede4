/* config.h -- the daemon configuration file (spec 3.2).
 *
 * Unknown keys and wrong types are errors with file:line:column, like in
 * policies. Environment overrides are applied by the caller through
 * config_override(), so this module never reads the environment. */
#ifndef FU_CONFIG_H
#define FU_CONFIG_H

#include "err.h"

/* Longest state.key_prefix: keys are the prefix, a bucket and a user id
 * (at most 256 bytes), and must fit the store's key buffer. */
#define CONFIG_KEY_PREFIX_MAX 64

enum state_backend { STATE_REDIS = 0, STATE_MEMORY };
enum log_format { LOG_FORMAT_JSON = 0, LOG_FORMAT_TEXT };

struct config_property {
    char *key, *value;
};

struct config {
    char *path; /* the file read, NULL for built-in defaults */

    char *brokers;
    char *group_id;
    int ninput_topics;
    char **input_topics;
    char *topic_tasks, *topic_reminders, *topic_dead_letter;
    char *topic_decisions; /* NULL: audit topic disabled */
    char *topic_messages;  /* message follow-ups (spec 4.2) */
    int nproperties;
    struct config_property *properties;

    enum state_backend backend;
    char *redis_url;
    char *key_prefix;

    char *http_listen;
    char *policy_path; /* resolved against the config file's directory */
    char *log_level;   /* debug | info | warn | error */
    enum log_format log_format;
};

/* A config holding the defaults of spec 3.2 (policy "policy.yaml" in the
 * current directory). NULL on ENOMEM. */
struct config *config_new_default(void);

/* Load path; every problem goes to diag and NULL is returned. */
struct config *config_load(const char *path, struct fu_diag *diag);

/* Apply one override: key is one of "kafka.brokers", "state.redis_url",
 * "http.listen", "policy" (the FOLLOWUPD_* variables of spec 3.2). A policy
 * path given this way is used as is. 0 ok, -1 unknown key or ENOMEM. */
int config_override(struct config *cfg, const char *key, const char *value,
                    struct fu_err *err);

void config_free(struct config *cfg);

/* 1 when cfg holds a secret: a password in state.redis_url, or a
 * kafka.properties key naming a password or secret (sasl.password,
 * ssl.key.password, ...). The caller warns when such a file can be read
 * by others. */
int config_holds_secret(const struct config *cfg);

#endif
