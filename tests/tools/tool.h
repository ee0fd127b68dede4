/* tool.h -- what the test tools (kmock, kafka_tool) share: number
 * arguments, and a stop flag set by SIGTERM/SIGINT. One tool per binary
 * includes it, so the static flag is that tool's own. */
#ifndef FU_TOOLS_TOOL_H
#define FU_TOOLS_TOOL_H

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

/* SIGTERM and SIGINT set stop; SIGPIPE is ignored, so a closed stdout
 * shows up as a write error. 0, or -1. */
static inline int install_signals(void) {
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL))
        return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

/* A whole decimal int in [min, max]. 0 ok, -1 bad. */
static inline int parse_int(const char *s, long min, long max, int *out) {
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) return -1;
    *out = (int)v;
    return 0;
}

#endif
