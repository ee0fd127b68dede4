/* event.h -- input events: JSON text -> validated struct event (spec 3.3).
 *
 * Everything the engine needs is pulled out and checked here, once, so the
 * engine never sees a malformed event: a failure's message is the
 * dead-letter reason. The parsed JSON document stays attached (opaque) for
 * conditions and context paths. */
#ifndef FU_EVENT_H
#define FU_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "cond.h"
#include "err.h"
#include "tz.h"
#include "window.h"

#define EVENT_MAX_ID 256 /* longest event_id, user_id, task_id accepted */

enum event_kind {
    EV_RULE = 0,      /* any type rules may match */
    EV_PREFERENCES,   /* user.preferences */
    EV_OUTCOME,       /* callback.outcome */
    EV_RESCHEDULE,    /* callback.reschedule */
};

enum outcome {
    OUTCOME_ANSWERED = 0,
    OUTCOME_NO_ANSWER,
    OUTCOME_BUSY,
    OUTCOME_FAILED,
    OUTCOME_REFUSED,
    OUTCOME_OPT_OUT,
    OUTCOME_WRONG_NUMBER,
    OUTCOME_COUNT
};

struct event_channel {
    const char *name; /* borrowed from the document */
    int on;
};

struct event {
    enum event_kind kind;
    const char *event_id, *type, *user_id; /* borrowed from the document */
    int64_t occurred_at;
    const char *timezone; /* NULL when absent; a valid zone name */

    /* callback.outcome and callback.reschedule */
    const char *task_id;
    int outcome;     /* enum outcome */
    int64_t at;      /* reschedule target */

    /* user.preferences: each has_* says the key was present */
    int has_opt_out, opt_out;
    int nchannels;
    struct event_channel *channels; /* owned */
    const char *pref_timezone;      /* data.timezone, NULL when absent */
    int has_call_window;            /* data.call_window present */
    int call_window_null;           /* ... and null: remove the override */
    struct window call_window;      /* owned */

    void *doc; /* the parsed document, owned */
};

/* Parse and validate one event from buf[0..len). tzdb validates zone names
 * (and loads them). On failure returns -1 with err->msg a dead-letter
 * reason free of personal data (names the field, never echoes values);
 * ev is left released. Release a parsed event with event_release(). */
int event_parse(const char *buf, size_t len, struct tzdb *tzdb,
                struct event *ev, struct fu_err *err);
void event_release(struct event *ev);

/* user_id of a line that may not parse as a valid event, for the
 * dead-letter key: a malloc'd string, or NULL when there is none. */
char *event_peek_user_id(const char *buf, size_t len);

/* Condition lookup over an event (ctx is a const struct event *): paths
 * start at the top of the event ("data.amount", "type"). */
int event_lookup(const void *ctx, const char *const *segs, int nsegs,
                 struct cond_value *out);

/* The JSON object {"<path>": value, ...} of the given dotted paths, values
 * as they are in the event (null when missing). malloc'd; NULL on ENOMEM. */
char *event_context_json(const struct event *ev, char *const *paths,
                         int npaths);

/* "answered" -> OUTCOME_ANSWERED ...; -1 when unknown. */
int outcome_from_name(const char *name);
const char *outcome_name(int outcome);

#endif
