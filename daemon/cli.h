/* cli.h -- what the daemon's subcommands share: options, config loading,
 * printing problems. */
#ifndef FU_CLI_H
#define FU_CLI_H

#include <stdio.h>

#include "config.h"
#include "err.h"
#include "policy.h"
#include "tz.h"

#define FOLLOWUPD_VERSION "0.1.0"
#define DEFAULT_CONFIG "config/followupd.yaml"

struct cli_opts {
    const char *config;  /* -c; NULL: DEFAULT_CONFIG if it exists */
    const char *policy;  /* --policy */
    const char *state;   /* --state */
    const char *events;  /* simulate's EVENTS file or "-" */
};

/* Parse argv of subcommand cmd ("run", "check", "simulate"). Returns 0, or
 * -1 after printing the usage error. */
int cli_parse(const char *cmd, int argc, char **argv, struct cli_opts *o);
void cli_usage(FILE *f);

/* Load the config named by o (with FOLLOWUPD_* overrides). *out is NULL
 * when no config file was given and the default does not exist while a
 * policy is given (simulate/check of a bare policy). Returns an exit code. */
int cli_load_config(const struct cli_opts *o, int need, struct config **out);

/* The policy path from --policy, FOLLOWUPD_POLICY or the config. */
const char *cli_policy_path(const struct cli_opts *o, const struct config *cfg);

/* Print each problem as `file:line:col: message`, with the source line and
 * a caret under the column when the file can be read. */
void cli_print_diag(FILE *f, const struct fu_diag *d);

int cmd_check(const struct cli_opts *o);
int cmd_simulate(const struct cli_opts *o);
int cmd_run(const struct cli_opts *o);
/* `report` parses its own options (report_cmd.c); argv[0] is "report". */
int cmd_report(int argc, char **argv);

#endif
