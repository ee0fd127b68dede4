/* report_cmd.c -- `followupd report` (spec 3.7): its options, reading
 * output and event files into a report, and --compare.
 *
 * --compare runs both policies through simulate's driver (lib/sim.c) on
 * the memory store, in process; each run writes into a stdio stream whose
 * lines go straight into that policy's report, so nothing is kept but the
 * line being written. The events are read from one file three times (old
 * run, new run, outcomes for both reports); stdin or a pipe is first
 * copied once to a temporary file. Returns the exit codes of spec 3.1. */
#define _GNU_SOURCE /* fopencookie */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "report.h"
#include "report_html.h"
#include "sim.h"
#include "store.h"

#define MALFORMED_SHOWN 10 /* malformed lines named on stderr, at most */

struct report_opts {
    const char *events; /* --events */
    const char *html;   /* --html */
    const char *config; /* -c, with --compare */
    int json;           /* --format json */
    int compare;        /* --compare */
    const char *args[3]; /* OUTPUTS, or OLD NEW EVENTS */
};

/* ---- Options ---- */

static int usage_error(const char *msg) {
    fprintf(stderr, "followupd report: %s\n", msg);
    cli_usage(stderr);
    return -1;
}

/* 0, 1 after printing help (exit 0), or -1 after a usage error. */
static int parse_opts(int argc, char **argv, struct report_opts *ro) {
    static const struct option longopts[] = {
        {"events", required_argument, NULL, 'e'},
        {"format", required_argument, NULL, 'f'},
        {"html", required_argument, NULL, 'H'},
        {"compare", no_argument, NULL, 'C'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int ch;
    memset(ro, 0, sizeof(*ro));
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'e': ro->events = optarg; break;
        case 'H': ro->html = optarg; break;
        case 'C': ro->compare = 1; break;
        case 'c': ro->config = optarg; break;
        case 'f':
            if (strcmp(optarg, "json") && strcmp(optarg, "text"))
                return usage_error("--format is text or json");
            ro->json = !strcmp(optarg, "json");
            break;
        case 'h': cli_usage(stdout); return 1;
        default: cli_usage(stderr); return -1;
        }
    }
    int nargs = argc - optind, want = ro->compare ? 3 : 1;
    if (nargs != want)
        return usage_error(ro->compare
                               ? "--compare expects OLD.yaml NEW.yaml EVENTS"
                               : "expects one OUTPUTS file (or -)");
    for (int i = 0; i < nargs; i++) ro->args[i] = argv[optind + i];
    if (ro->compare && ro->events)
        return usage_error("--events goes with OUTPUTS, not --compare");
    if (!ro->compare && ro->config)
        return usage_error("-c goes with --compare");
    if (ro->events && !strcmp(ro->events, "-") && !strcmp(ro->args[0], "-"))
        return usage_error("outputs and events cannot both be stdin");
    return 0;
}

/* ---- Reading files into a report ---- */

/* Feed one line (no newline) as an output or an event. 0, or -1 when out
 * of memory (told on stderr); a malformed output line is named on
 * stderr (the first MALFORMED_SHOWN) and skipped. */
static int feed_line(struct report *rep, const char *name, int events,
                     const char *line, size_t len) {
    struct fu_err err;
    int rc = events ? report_add_event(rep, line, len, &err)
                    : report_add_output(rep, line, len, &err);
    const struct report_stats *st = report_stats(rep);
    if (rc == 0) return 0;
    if (err.code != FU_EINVAL) {
        fprintf(stderr, "followupd report: %s\n", err.msg);
        return -1;
    }
    if (st->malformed <= MALFORMED_SHOWN)
        fprintf(stderr, "followupd report: %s:%ld: skipped: %s\n", name,
                st->lines, err.msg);
    return 0;
}

/* Feed every line of f, from where it is, to each of the n reports.
 * Returns an exit code. */
static int feed_file(struct report *const *reps, int n, FILE *f,
                     const char *name, int events) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n') len--;
        for (int i = 0; rc == 0 && i < n; i++)
            if (feed_line(reps[i], name, events, line, (size_t)len) < 0)
                rc = 3;
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "followupd report: cannot read '%s'\n", name);
        rc = 1;
    }
    free(line);
    return rc;
}

static FILE *open_input(const char *name) {
    FILE *f = strcmp(name, "-") ? fopen(name, "r") : stdin;
    if (!f) fprintf(stderr, "followupd report: cannot open '%s'\n", name);
    return f;
}

static void close_input(FILE *f) {
    if (f && f != stdin) fclose(f);
}

static void note_malformed(const struct report *rep, const char *name) {
    long n = report_stats(rep)->malformed;
    if (n > 0)
        fprintf(stderr, "followupd report: %s: %ld malformed output line%s "
                        "skipped\n", name, n, n == 1 ? "" : "s");
}

/* The page of doc into path (--html). Returns an exit code. */
static int write_html(json_t *doc, const char *path) {
    struct fu_err err;
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "followupd report: cannot write '%s': %s\n", path,
                strerror(errno));
        return 1;
    }
    int rc = report_html_write(f, doc, &err);
    if (fclose(f) != 0 && rc == 0)
        rc = fu_err_set(&err, FU_EFATAL, "cannot write the page");
    if (rc < 0) {
        fprintf(stderr, "followupd report: %s: %s\n", path, err.msg);
        return 3;
    }
    return 0;
}

/* Write the page when asked, then print doc as JSON or text on stdout.
 * Returns an exit code. */
static int print_doc(json_t *doc, const struct report_opts *ro) {
    int ok, json = ro->json;
    if (!doc) {
        fputs("followupd report: out of memory\n", stderr);
        return 3;
    }
    if (ro->html) {
        int rc = write_html(doc, ro->html);
        if (rc) return rc;
    }
    if (json)
        ok = json_dumpf(doc, stdout, JSON_REAL_PRECISION(15)) == 0 &&
             fputc('\n', stdout) != EOF;
    else
        ok = report_print_text(stdout, doc) == 0;
    return ok && fflush(stdout) == 0 ? 0 : 3;
}

/* ---- The first form: OUTPUTS [--events EVENTS] ---- */

static int report_files(const struct report_opts *ro, struct tzdb *db) {
    struct report *rep = report_new(db);
    FILE *f = NULL;
    int rc = 3;
    if (!rep) goto out;
    if (!(f = open_input(ro->args[0]))) {
        rc = 1;
        goto out;
    }
    rc = feed_file(&rep, 1, f, ro->args[0], 0);
    close_input(f);
    note_malformed(rep, ro->args[0]);
    if (rc == 0 && ro->events) {
        if (!(f = open_input(ro->events))) {
            rc = 1;
            goto out;
        }
        rc = feed_file(&rep, 1, f, ro->events, 1);
        close_input(f);
    }
    if (rc == 0) {
        json_t *doc = report_json(rep);
        rc = print_doc(doc, ro);
        json_decref(doc);
    }
out:
    report_free(rep);
    return rc;
}

/* ---- --compare: simulate's output lines straight into a report ---- */

struct line_sink {
    struct report *rep;
    char *buf; /* the line being written */
    size_t len, cap;
};

static int sink_append(struct line_sink *ls, const char *p, size_t n) {
    if (ls->len + n > ls->cap) {
        size_t cap = ls->cap ? ls->cap : 1024;
        while (cap < ls->len + n) cap *= 2;
        char *buf = realloc(ls->buf, cap);
        if (!buf) return -1;
        ls->buf = buf;
        ls->cap = cap;
    }
    memcpy(ls->buf + ls->len, p, n);
    ls->len += n;
    return 0;
}

static ssize_t sink_write(void *cookie, const char *data, size_t size) {
    struct line_sink *ls = cookie;
    const char *p = data, *end = data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (sink_append(ls, p, n) < 0) return -1;
        p += n;
        if (!nl) break;
        p++;
        if (feed_line(ls->rep, "simulate", 0, ls->buf, ls->len) < 0) return -1;
        ls->len = 0;
    }
    return (ssize_t)size;
}

static int sink_close(void *cookie) {
    struct line_sink *ls = cookie;
    int rc = 0;
    if (ls->len > 0 && feed_line(ls->rep, "simulate", 0, ls->buf, ls->len) < 0)
        rc = -1;
    free(ls->buf);
    memset(ls, 0, sizeof(*ls));
    return rc;
}

/* Run pol over events (from the start) into rep. Returns an exit code. */
static int run_policy(const struct policy *pol, struct tzdb *db,
                      FILE *events, const char *source, struct report *rep) {
    static const cookie_io_functions_t io = {NULL, sink_write, NULL,
                                             sink_close};
    struct line_sink ls = {rep, NULL, 0, 0};
    struct store store = {0};
    struct sim_stats stats;
    struct fu_err err;
    int rc = 0;
    FILE *out = fopencookie(&ls, "w", io);
    if (!out) return 3;
    rewind(events);
    if (store_memory_open(&store, &err) < 0 ||
        sim_run(pol, &store, db, events, source, out, NULL, &stats, &err) < 0) {
        fprintf(stderr, "followupd report: %s\n", err.msg);
        rc = err.code == FU_EINVAL ? 2 : 3;
    }
    if (fclose(out) != 0 && rc == 0) rc = 3;
    store_close(&store);
    return rc;
}

/* The events as a file that can be read again: a regular file as it is,
 * stdin or a pipe copied once to a temporary file. */
static FILE *rereadable(const char *name) {
    struct stat st;
    char buf[65536];
    size_t n;
    FILE *in = open_input(name), *tmp;
    if (!in) return NULL;
    if (in != stdin && fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode))
        return in;
    if (!(tmp = tmpfile())) {
        fputs("followupd report: cannot create a temporary file\n", stderr);
        close_input(in);
        return NULL;
    }
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, tmp) != n) break;
    if (ferror(in) || ferror(tmp)) {
        fprintf(stderr, "followupd report: cannot read '%s'\n", name);
        fclose(tmp);
        tmp = NULL;
    }
    close_input(in);
    return tmp;
}

static int report_compare(const struct report_opts *ro, struct tzdb *db) {
    struct cli_opts co = {.config = ro->config};
    struct config *cfg = NULL;
    struct policy *pol[2] = {NULL, NULL};
    struct report *rep[2] = {report_new(db), report_new(db)};
    FILE *events = NULL;
    int rc = 3;
    if (!rep[0] || !rep[1]) goto out;
    /* -c is read for its errors only: no config setting changes a dry run
     * on the memory store */
    if (ro->config && (rc = cli_load_config(&co, 1, &cfg)) != 0) goto out;
    for (int i = 0; i < 2; i++) {
        struct fu_diag diag = {0};
        if (!(pol[i] = policy_load_file(ro->args[i], db, &diag))) {
            cli_print_diag(stderr, &diag);
            fu_diag_release(&diag);
            rc = 1;
            goto out;
        }
    }
    if (!(events = rereadable(ro->args[2]))) {
        rc = 1;
        goto out;
    }
    for (int i = 0; i < 2; i++)
        if ((rc = run_policy(pol[i], db, events, ro->args[2], rep[i])) != 0)
            goto out;
    rewind(events); /* the outcome pass, into both reports */
    if ((rc = feed_file(rep, 2, events, ro->args[2], 1)) != 0) goto out;
    json_t *doc = report_compare_json(rep[0], rep[1]);
    rc = print_doc(doc, ro);
    json_decref(doc);
out:
    if (events) fclose(events); /* never stdin: see rereadable */
    for (int i = 0; i < 2; i++) {
        policy_release(pol[i]);
        report_free(rep[i]);
    }
    config_free(cfg);
    return rc;
}

int cmd_report(int argc, char **argv) {
    struct report_opts ro;
    int rc = parse_opts(argc, argv, &ro);
    if (rc) return rc < 0 ? 2 : 0;
    struct tzdb *db = tzdb_new(NULL);
    if (!db) return 3;
    rc = ro.compare ? report_compare(&ro, db) : report_files(&ro, db);
    tzdb_free(db);
    return rc;
}
