/* signals.c -- sigaction handlers that only set flags (the one piece of
 * global mutable state the daemon has), and the shutdown deadline. */
#include "signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requests;
static volatile sig_atomic_t reload_requested;

static void write_stderr(const char *msg) {
    ssize_t rc = write(STDERR_FILENO, msg, strlen(msg));
    (void)rc; /* nothing to do about a failed write in a handler */
}

static void on_stop(int sig) {
    (void)sig;
    if (++stop_requests > 1) {
        write_stderr("{\"level\":\"warn\",\"msg\":\"second stop signal: "
                     "exiting now\"}\n");
        _exit(0);
    }
}

static void on_reload(int sig) {
    (void)sig;
    reload_requested = 1;
}

static void on_deadline(int sig) {
    (void)sig;
    write_stderr("{\"level\":\"warn\",\"msg\":\"shutdown took too long: "
                 "exiting; uncommitted events will be read again\"}\n");
    _exit(0);
}

static int handle(int sig, void (*fn)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    return sigaction(sig, &sa, NULL);
}

int signals_install(void) {
    if (handle(SIGTERM, on_stop) < 0 || handle(SIGINT, on_stop) < 0 ||
        handle(SIGHUP, on_reload) < 0 || handle(SIGALRM, on_deadline) < 0)
        return -1;
    return handle(SIGPIPE, SIG_IGN);
}

int signals_stop_requested(void) { return stop_requests > 0; }

int signals_take_reload(void) {
    if (!reload_requested) return 0;
    reload_requested = 0;
    return 1;
}

void signals_exit_deadline(unsigned seconds) { alarm(seconds); }
