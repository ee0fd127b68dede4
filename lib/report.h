/* report.h -- `followupd report`: what a policy did, counted from its
 * outputs (spec 3.7).
 *
 * A struct report is an accumulator. Feed it output lines in the shape
 * simulate prints ({"at", "topic", "key", "value"}), each parsed and
 * dropped at once, then, optionally, the input event lines (outcomes and
 * satisfaction). Every output line must come before the first event line:
 * an outcome counts only for a call already seen (docs/report.md).
 *
 * Memory does not grow with the number of lines: it holds counters keyed
 * by rule, reason, channel, attempt, day and hour (and per rule the waits
 * for the dialer: calls that left after their due_at, the seconds summed,
 * the largest), and per call task 24 bytes (a 128-bit hash of its
 * task_id, a 32-bit hash of its user, its rule and whether it has its
 * first outcome), plus the hash of each outcome event_id counted.
 *
 * The figures are read as a jansson tree whose keys come in a fixed order
 * (docs/report.md lists every key): the JSON output is that tree as it
 * is, and the text and HTML renderers walk it. */
#ifndef FU_REPORT_H
#define FU_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "err.h"
#include "tz.h"

struct report;

struct report_stats {
    long lines;            /* output lines fed, blank ones included */
    long malformed;        /* output lines skipped as malformed */
    long events;           /* event lines fed, blank ones included */
    long events_unusable;  /* event lines that are not a valid event */
    long outcomes;         /* outcome events counted (first per call) */
    long outcomes_ignored; /* outcome events naming no call of the
                            * outputs (or another user's), a call that
                            * has its outcome, or an event_id counted */
};

/* A new, empty report. tzdb is borrowed (it must outlive the report):
 * the zones of call tasks are looked up in it. NULL when out of memory.
 * Free with report_free(). */
struct report *report_new(struct tzdb *tzdb);
void report_free(struct report *rep);

/* Count one output line line[0..len) (no newline needed; not
 * NUL-terminated). 0 when it was counted or blank. -1 with err:
 * FU_EINVAL when the line is malformed (skipped whole, counted in the
 * stats; err->msg says why, naming fields, never echoing values) or
 * FU_ENOMEM (the report is then incomplete; only report_free is
 * left). */
int report_add_output(struct report *rep, const char *line, size_t len,
                      struct fu_err *err);

/* Read one input event line (events as simulate reads them). Only a valid
 * callback.outcome event counts (spec 3.7: the first outcome event naming
 * a call of the outputs, file order, one per event_id, from the call's
 * own user); anything else is passed over. 0, or -1 with err FU_ENOMEM. */
int report_add_event(struct report *rep, const char *line, size_t len,
                     struct fu_err *err);

/* Borrowed; valid as long as rep. */
const struct report_stats *report_stats(const struct report *rep);

/* The figures: the "followupd.report/v1" object of spec 3.7. Returned to
 * be released with json_decref(); NULL when out of memory. The tree is a
 * copy: changing it does not change rep. */
json_t *report_json(const struct report *rep);

/* The "followupd.report-compare/v1" object: {"schema", "old", "new",
 * "diff"} where diff holds new minus old of every count of the totals
 * that differs (rates left out). Returned to be released with
 * json_decref(); NULL when out of memory. */
json_t *report_compare_json(const struct report *old_rep,
                            const struct report *new_rep);

/* Print the tree of report_json (tables of every figure) or of
 * report_compare_json (old | new | diff columns) as aligned text tables.
 * doc is only read. 0, or -1 when writing failed or out of memory. */
int report_print_text(FILE *f, json_t *doc);

/* The message follow-up figures of one FIGURES object (spec 4.2):
 * decided, scheduled, sent, suppressed, cancelled, moved, the maps
 * summed. Returns 1 when any is not 0. */
#define REPORT_MESSAGE_FIGURES 6
int report_message_figures(json_t *fig, long out[REPORT_MESSAGE_FIGURES]);

#endif
