/* cli.c -- option parsing, config loading with environment overrides, and
 * the printing of problems with their source line. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cli_usage(FILE *f) {
    fputs("usage:\n"
          "  followupd run      [-c CONFIG]\n"
          "  followupd check    [-c CONFIG] [--policy FILE]\n"
          "  followupd simulate [-c CONFIG] [--policy FILE] "
          "[--state redis://HOST:PORT/DB] EVENTS.jsonl|-\n"
          "  followupd report   [--events EVENTS.jsonl] [--format text|json] "
          "[--html OUT.html] OUTPUTS.jsonl|-\n"
          "  followupd report   --compare OLD.yaml NEW.yaml [-c CONFIG] "
          "[--format text|json] [--html OUT.html] EVENTS.jsonl|-\n"
          "  followupd version\n"
          "CONFIG defaults to " DEFAULT_CONFIG ".\n",
          f);
}

int cli_parse(const char *cmd, int argc, char **argv, struct cli_opts *o) {
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"policy", required_argument, NULL, 'p'},
        {"state", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int is_sim = !strcmp(cmd, "simulate"), is_run = !strcmp(cmd, "run");
    int ch;
    memset(o, 0, sizeof(*o));
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': o->config = optarg; break;
        case 'p':
            if (is_run) goto usage;
            o->policy = optarg;
            break;
        case 's':
            if (!is_sim) goto usage;
            o->state = optarg;
            break;
        case 'h': cli_usage(stdout); exit(0);
        default: goto usage;
        }
    }
    if (is_sim && optind == argc - 1) {
        o->events = argv[optind];
        return 0;
    }
    if (!is_sim && optind == argc) return 0;
    fprintf(stderr, "followupd %s: %s\n", cmd,
            is_sim ? "expects one EVENTS file (or -)" : "takes no arguments");
usage:
    cli_usage(stderr);
    return -1;
}

static int apply_env(struct config *cfg) {
    static const char *const vars[][2] = {
        {"FOLLOWUPD_KAFKA_BROKERS", "kafka.brokers"},
        {"FOLLOWUPD_REDIS_URL", "state.redis_url"},
        {"FOLLOWUPD_HTTP_LISTEN", "http.listen"},
        {"FOLLOWUPD_POLICY", "policy"}};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i][0]);
        struct fu_err err;
        if (!v || !*v) continue;
        if (config_override(cfg, vars[i][1], v, &err) < 0) {
            fprintf(stderr, "followupd: %s: %s\n", vars[i][0], err.msg);
            return 1;
        }
    }
    return 0;
}

/* A config file holding a password should be readable by its owner
 * (and group) only. */
static void warn_if_exposed(const char *path, const struct config *cfg) {
    struct stat st;
    if (!config_holds_secret(cfg) || stat(path, &st) != 0 ||
        !(st.st_mode & S_IROTH))
        return;
    fprintf(stderr, "followupd: warning: %s holds a password and can be read "
                    "by other users: chmod o-rwx %s\n", path, path);
}

int cli_load_config(const struct cli_opts *o, int need, struct config **out) {
    struct fu_diag diag = {0};
    const char *path = o->config ? o->config : DEFAULT_CONFIG;
    *out = NULL;
    if (!o->config && !need && access(path, F_OK) != 0) return 0;
    struct config *cfg = config_load(path, &diag);
    if (!cfg) {
        cli_print_diag(stderr, &diag);
        fu_diag_release(&diag);
        return 1;
    }
    warn_if_exposed(path, cfg);
    if (apply_env(cfg)) {
        config_free(cfg);
        return 1;
    }
    *out = cfg;
    return 0;
}

const char *cli_policy_path(const struct cli_opts *o, const struct config *cfg) {
    const char *env = getenv("FOLLOWUPD_POLICY");
    if (o->policy) return o->policy;
    if (cfg) return cfg->policy_path;
    return env && *env ? env : NULL;
}

/* Line `line` (1-based) of file into buf, without its newline. */
static int read_line(const char *file, int line, char *buf, size_t size) {
    FILE *f = fopen(file, "r");
    int n = 1, ok = 0;
    if (!f) return 0;
    while (fgets(buf, (int)size, f)) {
        size_t len = strlen(buf);
        int whole = len > 0 && buf[len - 1] == '\n';
        if (n == line) {
            if (whole) buf[len - 1] = '\0';
            ok = 1;
            break;
        }
        if (whole) n++;
    }
    fclose(f);
    return ok;
}

/* A config line that may hold a password is never echoed. */
static int line_holds_secret(const char *src) {
    return (strstr(src, "redis_url") && strchr(src, '@')) ||
           strstr(src, "password") || strstr(src, "secret");
}

void cli_print_diag(FILE *f, const struct fu_diag *d) {
    int shown = d->n < d->cap ? d->n : d->cap;
    for (int i = 0; i < shown; i++) {
        const struct fu_err *e = &d->items[i];
        char msg[1024], src[512];
        fprintf(f, "%s\n", fu_err_str(e, msg, sizeof(msg)));
        if (e->line <= 0 || !read_line(e->file, e->line, src, sizeof(src)))
            continue;
        if (line_holds_secret(src)) {
            fputs("  (the line is not shown: it may hold a password)\n", f);
            continue;
        }
        fprintf(f, "  %s\n  ", src);
        for (int c = 1; c < e->col && src[c - 1]; c++)
            fputc(src[c - 1] == '\t' ? '\t' : ' ', f);
        fputs("^\n", f);
    }
    if (d->n > shown) fprintf(f, "... and %d more problems\n", d->n - shown);
}
