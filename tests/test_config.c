/* test_config.c -- the daemon configuration: the shipped file, defaults,
 * errors with locations, overrides.
 *
 * usage: test_config [CONFIG_FILE] (default config/followupd.yaml) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "test.h"

/* Write text to a fresh file under /tmp (name given back in path, which
 * must hold 64 bytes). 0 / -1. */
static int write_tmp(char *path, const char *name, const char *text) {
    snprintf(path, 64, "/tmp/fu-test-config-XXXXXX");
    char *dir = mkdtemp(path);
    if (!dir) return -1;
    size_t dl = strlen(path);
    snprintf(path + dl, 64 - dl, "/%s", name);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    fclose(f);
    return 0;
}

static void remove_tmp(char *path) {
    unlink(path);
    char *slash = strrchr(path, '/');
    if (slash) {
        *slash = '\0';
        rmdir(path);
    }
}

/* Load text as a config file; the result, with d filled. */
static struct config *load_text(const char *text, struct fu_diag *d,
                                char *path) {
    if (write_tmp(path, "followupd.yaml", text)) return NULL;
    return config_load(path, d);
}

static void test_defaults(void) {
    TEST("defaults");
    struct config *cfg = config_new_default();
    CHECK(cfg != NULL);
    if (!cfg) return;
    CHECK(cfg->path == NULL);
    CHECK_STR(cfg->brokers, "localhost:9092");
    CHECK_STR(cfg->group_id, "followupd");
    CHECK_INT(cfg->ninput_topics, 1);
    CHECK_STR(cfg->input_topics[0], "wallet.events");
    CHECK_STR(cfg->topic_tasks, "followup.tasks");
    CHECK_STR(cfg->topic_reminders, "followup.reminders");
    CHECK_STR(cfg->topic_dead_letter, "followup.dead_letter");
    CHECK(cfg->topic_decisions == NULL);
    CHECK_INT(cfg->nproperties, 0);
    CHECK_INT(cfg->backend, STATE_REDIS);
    CHECK_STR(cfg->redis_url, "redis://127.0.0.1:6379/0");
    CHECK_STR(cfg->key_prefix, "fu:");
    CHECK_STR(cfg->http_listen, "127.0.0.1:9464");
    CHECK_STR(cfg->policy_path, "policy.yaml");
    CHECK_STR(cfg->log_level, "info");
    CHECK_INT(cfg->log_format, LOG_FORMAT_JSON);
    config_free(cfg);
    config_free(NULL);
}

static void test_shipped(const char *path) {
    struct fu_diag d = {0, 0, NULL};
    char want[512];

    TEST("shipped config");
    struct config *cfg = config_load(path, &d);
    CHECK(cfg != NULL);
    CHECK_INT(d.n, 0);
    if (!cfg) {
        char line[1024];
        for (int i = 0; i < d.n && i < d.cap; i++)
            printf("    %s\n", fu_err_str(&d.items[i], line, sizeof(line)));
        fu_diag_release(&d);
        return;
    }
    CHECK_STR(cfg->path, path);
    CHECK_STR(cfg->brokers, "localhost:9092");
    CHECK_STR(cfg->group_id, "followupd");
    CHECK_INT(cfg->ninput_topics, 1);
    CHECK_STR(cfg->input_topics[0], "wallet.events");
    CHECK_STR(cfg->topic_tasks, "followup.tasks");
    CHECK_STR(cfg->topic_reminders, "followup.reminders");
    CHECK_STR(cfg->topic_dead_letter, "followup.dead_letter");
    CHECK_STR(cfg->topic_decisions, "followup.decisions");
    CHECK_INT(cfg->nproperties, 0);
    CHECK_INT(cfg->backend, STATE_REDIS);
    CHECK_STR(cfg->redis_url, "redis://127.0.0.1:6379/0");
    CHECK_STR(cfg->key_prefix, "fu:");
    CHECK_STR(cfg->http_listen, "127.0.0.1:9464");
    const char *slash = strrchr(path, '/');
    snprintf(want, sizeof(want), "%.*spolicy.yaml",
             slash ? (int)(slash - path + 1) : 0, path);
    CHECK_STR(cfg->policy_path, want);
    CHECK_STR(cfg->log_level, "info");
    CHECK_INT(cfg->log_format, LOG_FORMAT_JSON);
    config_free(cfg);
    fu_diag_release(&d);
}

static void test_values(void) {
    struct fu_diag d = {0, 0, NULL};
    char path[64], want[128];

    TEST("values");
    struct config *cfg = load_text(
        "kafka:\n"
        "  brokers: mock\n"
        "  input_topics: a.events\n"
        "  topics: {tasks: t, decisions: null}\n"
        "  properties:\n"
        "    fetch.wait.max.ms: 100\n"
        "    enable.idempotence: true\n"
        "    client.id: \"fu-1\"\n"
        "state: {backend: memory, key_prefix: \"\"}\n"
        "policy: rules/p.yaml\n"
        "log: {level: debug, format: text}\n",
        &d, path);
    CHECK(cfg != NULL);
    CHECK_INT(d.n, 0);
    if (cfg) {
        CHECK_STR(cfg->brokers, "mock");
        CHECK_INT(cfg->ninput_topics, 1);
        CHECK_STR(cfg->input_topics[0], "a.events");
        CHECK_STR(cfg->topic_tasks, "t");
        CHECK_STR(cfg->topic_reminders, "followup.reminders");
        CHECK(cfg->topic_decisions == NULL);
        CHECK_INT(cfg->nproperties, 3);
        if (cfg->nproperties == 3) {
            CHECK_STR(cfg->properties[0].key, "fetch.wait.max.ms");
            CHECK_STR(cfg->properties[0].value, "100");
            CHECK_STR(cfg->properties[1].key, "enable.idempotence");
            CHECK_STR(cfg->properties[1].value, "true");
            CHECK_STR(cfg->properties[2].value, "fu-1");
        }
        CHECK_INT(cfg->backend, STATE_MEMORY);
        CHECK_STR(cfg->key_prefix, "");
        strcpy(want, path);
        strcpy(strrchr(want, '/') + 1, "rules/p.yaml");
        CHECK_STR(cfg->policy_path, want);
        CHECK_STR(cfg->log_level, "debug");
        CHECK_INT(cfg->log_format, LOG_FORMAT_TEXT);
    }
    config_free(cfg);
    remove_tmp(path);

    /* absolute policy path, list of topics, empty file = defaults */
    cfg = load_text("policy: /etc/fu/p.yaml\nkafka: {input_topics: [a, b]}\n",
                    &d, path);
    CHECK(cfg != NULL);
    if (cfg) {
        CHECK_STR(cfg->policy_path, "/etc/fu/p.yaml");
        CHECK_INT(cfg->ninput_topics, 2);
        CHECK_STR(cfg->input_topics[1], "b");
    }
    config_free(cfg);
    remove_tmp(path);
    cfg = load_text("# empty\n", &d, path);
    CHECK(cfg != NULL);
    if (cfg) {
        strcpy(want, path);
        strcpy(strrchr(want, '/') + 1, "policy.yaml");
        CHECK_STR(cfg->policy_path, want);
        CHECK_STR(cfg->brokers, "localhost:9092");
    }
    config_free(cfg);
    remove_tmp(path);
    CHECK_INT(d.n, 0);
    fu_diag_release(&d);
}

struct err_case {
    const char *text;
    const char *want; /* "line:col: message" */
};

static const struct err_case err_cases[] = {
    {"kafka:\n  brokers: x\n  group: g\n",
     "3:3: unknown key 'group' in kafka: allowed keys are brokers, "
     "group_id, input_topics, topics, properties"},
    {"kafka:\n  topics:\n    task: t\n",
     "3:5: unknown key 'task' in topics: did you mean 'tasks'?"},
    {"htp: {listen: x}\n",
     "1:1: unknown key 'htp' at the top level: did you mean 'http'?"},
    {"state:\n  backend: postgres\n",
     "2:12: bad backend 'postgres': write redis, or memory (one process, "
     "not durable)"},
    {"state: {redis_url: \"localhost:6379\"}\n",
     "1:20: bad redis_url 'localhost:6379': write "
     "redis://[[user]:password@]host:port/db, unix:///path.sock or "
     "redis+cluster://host:port[,host:port...]"},
    {"state: {redis_url: \"fu:s3cr3t@localhost:6379\"}\n",
     "1:20: bad redis_url '***@localhost:6379': write "
     "redis://[[user]:password@]host:port/db, unix:///path.sock or "
     "redis+cluster://host:port[,host:port...]"},
    {"http: {listen: localhost}\n",
     "1:16: bad listen address 'localhost': write HOST:PORT, e.g. "
     "127.0.0.1:9464"},
    {"state: {key_prefix: "
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}\n",
     "1:21: key_prefix is 65 bytes: at most 64 (every key starts with it)"},
    {"log: {level: verbose}\n",
     "1:14: bad log level 'verbose': write debug, info, warn or error"},
    {"log: {format: xml}\n", "1:15: bad log format 'xml': write json or text"},
    {"kafka: {input_topics: []}\n",
     "1:23: 'input_topics' is empty: list at least one item"},
    {"kafka: {properties: [a]}\n",
     "1:21: expected a mapping for 'properties' like "
     "{fetch.wait.max.ms: 100}, got a list"},
    {"kafka: {properties: {a: [1]}}\n",
     "1:25: expected a value for property 'a' (a string, number or "
     "true/false), got a list"},
    {"kafka: {brokers: \"\"}\n", "1:18: 'brokers' is empty: write a value"},
    {"kafka: {brokers: [a]}\n",
     "1:18: expected a string for 'brokers', got a list"},
    {"log: {level: info, level: debug}\n",
     "1:20: duplicate key 'level' (first at line 1): keep only one"},
    {"kafka: [\n", "2:1: invalid YAML: did not find expected node content "
                   "(while parsing a flow node at line 2 column 1): check "
                   "indentation, quoting and brackets there"},
    {"- a\n", "1:1: expected a mapping for 'config', got a list"},
    {NULL, NULL},
};

static void test_errors(void) {
    TEST("errors");
    for (int i = 0; err_cases[i].text; i++) {
        struct fu_diag d = {0, 0, NULL};
        char path[64], want[512], got[1024];
        struct config *cfg = load_text(err_cases[i].text, &d, path);
        CHECK(cfg == NULL);
        config_free(cfg);
        CHECK_INT(d.n, 1);
        if (d.n >= 1) {
            snprintf(want, sizeof(want), "%s:%s", path, err_cases[i].want);
            CHECK_STR(fu_err_str(&d.items[0], got, sizeof(got)), want);
        }
        remove_tmp(path);
        fu_diag_release(&d);
    }

    /* every problem is collected */
    struct fu_diag d = {0, 0, NULL};
    char path[64];
    struct config *cfg = load_text("kafka: {brokrs: x}\nlog: {level: loud}\n"
                                   "extra: 1\n",
                                   &d, path);
    CHECK(cfg == NULL);
    CHECK_INT(d.n, 3);
    remove_tmp(path);
    fu_diag_release(&d);

    /* a missing file */
    cfg = config_load("/nonexistent/followupd.yaml", &d);
    CHECK(cfg == NULL);
    CHECK_INT(d.n, 1);
    if (d.n == 1) {
        CHECK_STR(d.items[0].file, "/nonexistent/followupd.yaml");
        CHECK_INT(d.items[0].line, 0);
    }
    fu_diag_release(&d);
}

static void test_override(void) {
    struct fu_err err;

    TEST("override");
    struct config *cfg = config_new_default();
    CHECK(cfg != NULL);
    if (!cfg) return;
    CHECK_INT(config_override(cfg, "kafka.brokers", "mock", &err), 0);
    CHECK_STR(cfg->brokers, "mock");
    CHECK_INT(config_override(cfg, "state.redis_url",
                              "redis://10.0.0.1:6380/2", &err), 0);
    CHECK_STR(cfg->redis_url, "redis://10.0.0.1:6380/2");
    CHECK_INT(config_override(cfg, "state.redis_url", "unix:///tmp/r.sock",
                              &err), 0);
    CHECK_STR(cfg->redis_url, "unix:///tmp/r.sock");
    CHECK_INT(config_override(cfg, "http.listen", "0.0.0.0:8080", &err), 0);
    CHECK_STR(cfg->http_listen, "0.0.0.0:8080");
    CHECK_INT(config_override(cfg, "policy", "other/p.yaml", &err), 0);
    CHECK_STR(cfg->policy_path, "other/p.yaml"); /* used as is */

    fu_err_clear(&err);
    CHECK_INT(config_override(cfg, "kafka.group_id", "g", &err), -1);
    CHECK_INT(err.code, FU_EINVAL);
    CHECK(strstr(err.msg, "unknown override 'kafka.group_id'") != NULL);
    CHECK_INT(config_override(cfg, "state.redis_url", "http://x", &err), -1);
    CHECK(strstr(err.msg, "bad redis_url") != NULL);
    CHECK_STR(cfg->redis_url, "unix:///tmp/r.sock"); /* unchanged */
    CHECK_INT(config_override(cfg, "http.listen", "x:99999", &err), -1);
    CHECK_INT(config_override(cfg, "kafka.brokers", "", &err), -1);
    CHECK_STR(cfg->brokers, "mock");
    config_free(cfg);
}

int main(int argc, char **argv) {
    test_defaults();
    test_shipped(argc > 1 ? argv[1] : "config/followupd.yaml");
    test_values();
    test_errors();
    test_override();
    return test_report();
}
