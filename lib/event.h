/* event.h -- input events: JSON text -> validated struct event (spec 3.3).
 *
 * Everything the engine needs is pulled out and checked here, once, so the
 * engine never sees a malformed event: a failure's message is the
 * dead-letter reason. The parsed JSON document stays attached for
 * conditions and context paths. */
#ifndef FU_EVENT_H
#define FU_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "cond.h"
#include "err.h"
#include "jdoc.h"
#include "tz.h"
#include "window.h"

#define EVENT_MAX_ID 256 /* longest event_id, user_id, task_id accepted */
#define EVENT_MAX_BYTES 65536 /* longer events go to the dead-letter topic */

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

    /* callback.outcome and callback.reschedule; NULL, -1 and TIME_NONE
     * for other kinds */
    const char *task_id; /* borrowed from the document */
    int outcome;     /* enum outcome */
    int satisfaction; /* data.satisfaction 1-5 of an outcome; 0 when absent */
    int64_t at;      /* reschedule target */

    /* user.preferences: each has_* says the key was present */
    int has_opt_out, opt_out;
    int has_consent, consent;       /* data.consent (spec 4.1) */
    int has_follow_up_by, follow_up_by; /* enum follow_up_by (state.h) */
    int nchannels;
    struct event_channel *channels; /* owned */
    const char *pref_timezone;      /* data.timezone, NULL when absent */
    int has_call_window;            /* data.call_window present */
    int call_window_null;           /* ... and null: remove the override */
    struct window call_window;      /* owned */

    struct jdoc doc; /* the parsed document, owned */
};

/* Parse and validate one event from buf[0..len) (not NUL-terminated;
 * duplicate keys are refused). tzdb (borrowed) validates zone names and
 * loads them. An optional field set to JSON null counts as absent, except
 * data.call_window, where null removes the override. On failure returns
 * -1 with err->code FU_EINVAL (FU_ENOMEM when out of memory) and err->msg
 * a dead-letter reason free of personal data (names the field, never
 * echoes values); ev is left released. On success the caller releases ev
 * with event_release(). */
int event_parse(const char *buf, size_t len, struct tzdb *tzdb,
                struct event *ev, struct fu_err *err);
/* Free what ev owns and zero it. Safe on NULL, on a zeroed struct and
 * twice. */
void event_release(struct event *ev);

/* user_id of a line that may not parse as a valid event, for the
 * dead-letter key: a malloc'd copy of a non-empty string user_id of a JSON
 * object (duplicate keys allowed, last wins), or NULL. free() it. */
char *event_peek_user_id(const char *buf, size_t len);

/* Condition lookup over an event (ctx is a const struct event *): paths
 * start at the top of the event ("data.amount", "type") and walk objects
 * only (arrays are not indexed). Integers and reals are CV_NUMBER, objects
 * and arrays CV_OTHER. out->str is borrowed from the event. Returns 0. */
int event_lookup(const void *ctx, const char *const *segs, int nsegs,
                 struct cond_value *out);

/* The JSON object {"<path>": value, ...} of the given dotted paths in the
 * given order, in the spaced style of jsonw, values as they are in the
 * event re-encoded compactly (null when missing; reals with the shortest
 * of 15 or 17 digits that reads back the same: 6200.00 -> 6200.0, 0.1 ->
 * 0.1). paths are borrowed. Returns a malloc'd string; NULL on ENOMEM. */
char *event_context_json(const struct event *ev, char *const *paths,
                         int npaths);

/* The same, where overlay may supply a path's value first: it writes one
 * value into w and returns 1, or returns 0 to read the event (a rule on
 * outcomes sees the answered task's fields this way, spec 4.1). */
struct jsonw;
typedef int event_overlay_fn(const void *ctx, const char *path,
                             struct jsonw *w);
char *event_context_json_with(const struct event *ev, char *const *paths,
                              int npaths, event_overlay_fn *overlay,
                              const void *overlay_ctx);

/* "answered" -> OUTCOME_ANSWERED ...; -1 when unknown (exact, lower-case).
 * outcome_name returns a static string, NULL when out of range. */
int outcome_from_name(const char *name);
const char *outcome_name(int outcome);

#endif
