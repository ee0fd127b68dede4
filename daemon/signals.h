/* signals.h -- what the daemon's signals ask for, as flags the run loop
 * reads between batches (handlers do nothing else). */
#ifndef FU_SIGNALS_H
#define FU_SIGNALS_H

/* SIGTERM/SIGINT ask to stop, SIGHUP to reload the policy; a second stop
 * request exits at once (nothing is lost: offsets are committed only
 * after decisions are durable). 0, or -1 with errno. */
int signals_install(void);

/* 1 once SIGTERM or SIGINT arrived. */
int signals_stop_requested(void);

/* 1 when SIGHUP arrived since the last call (the request is taken). */
int signals_take_reload(void);

/* Exit the process seconds from now unless it is gone by then: the bound
 * on a shutdown that Kafka or Redis would otherwise hold up. */
void signals_exit_deadline(unsigned seconds);

#endif
