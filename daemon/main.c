/* main.c -- followupd: subcommand dispatch and exit codes (spec 3.1).
 *
 * 0 ok, 1 invalid input or config, 2 usage, 3 runtime failure. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv) {
    struct cli_opts o;
    const char *cmd = argc > 1 ? argv[1] : NULL;
    if (!cmd || !strcmp(cmd, "-h") || !strcmp(cmd, "--help") ||
        !strcmp(cmd, "help")) {
        cli_usage(cmd ? stdout : stderr);
        return cmd ? 0 : 2;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("followupd %s\n", FOLLOWUPD_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "report")) return cmd_report(argc - 1, argv + 1);
    if (strcmp(cmd, "run") && strcmp(cmd, "check") && strcmp(cmd, "simulate")) {
        fprintf(stderr, "followupd: unknown command '%s'\n", cmd);
        cli_usage(stderr);
        return 2;
    }
    if (cli_parse(cmd, argc - 1, argv + 1, &o) < 0) return 2;
    if (!strcmp(cmd, "check")) return cmd_check(&o);
    if (!strcmp(cmd, "simulate")) return cmd_simulate(&o);
    return cmd_run(&o);
}
