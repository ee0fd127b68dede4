/* event.c -- input events: JSON text -> validated struct event (spec 3.3).
 *
 * One parse per message (jdoc: an arena tree); every field the engine reads is checked
 * here, so a failure carries the dead-letter reason. The reasons name the
 * field and what was expected and never quote the input: event payloads
 * carry personal data (phone numbers, names) and dead letters are read by
 * people. Conditions and task context read the kept document through
 * event_lookup / event_context_json. Nothing here decides anything. */
#include "event.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jdoc.h"
#include "jsonw.h"
#include "state.h" /* enum follow_up_by */
#include "timeutil.h"

/* ---- Constants ---- */

static const char *const outcome_names[OUTCOME_COUNT] = {
    [OUTCOME_ANSWERED] = "answered",
    [OUTCOME_NO_ANSWER] = "no_answer",
    [OUTCOME_BUSY] = "busy",
    [OUTCOME_FAILED] = "failed",
    [OUTCOME_REFUSED] = "refused",
    [OUTCOME_OPT_OUT] = "opt_out",
    [OUTCOME_WRONG_NUMBER] = "wrong_number",
};

#define EVENT_OUTCOMES                                                     \
    "answered, no_answer, busy, failed, refused, opt_out, wrong_number"
#define EVENT_DAYS "mon, tue, wed, thu, fri, sat, sun"

#define EVENT_MAX_CHANNEL 64 /* longest channel name accepted */
/* 9999-12-31T23:59:59.999Z: later instants have no RFC 3339 form. */
#define EVENT_MAX_EPOCH_MS 253402300799999LL

/* ---- Field helpers ---- */

static int is_type(const struct jnode *v, int type) {
    return v && v->type == type;
}

static int is_bool(const struct jnode *v) {
    return is_type(v, JDOC_TRUE) || is_type(v, JDOC_FALSE);
}

/* obj[key], with JSON null taken as absent: producers often write
 * "timezone": null for "not known". NULL when absent. */
static const struct jnode *event_get(const struct jnode *obj,
                                     const char *key) {
    const struct jnode *v = jdoc_get(obj, key);

    return v && v->type == JDOC_NULL ? NULL : v;
}

/* An id-like string (event_id, type, user_id, task_id): present,
 * non-empty, at most EVENT_MAX_ID bytes, no control characters. name is
 * the field's full path for the message. */
static int event_get_id(const struct jnode *obj, const char *key, const char *name,
                        const char **out, struct fu_err *err) {
    const struct jnode *v = event_get(obj, key);
    const char *s;
    size_t len;

    if (!v) return fu_err_set(err, FU_EINVAL, "missing required field '%s'",
                              name);
    if (!is_type(v, JDOC_STRING))
        return fu_err_set(err, FU_EINVAL, "field '%s' must be a string",
                          name);
    s = v->u.s;
    len = v->len;
    if (len == 0)
        return fu_err_set(err, FU_EINVAL, "field '%s' must not be empty",
                          name);
    if (len > EVENT_MAX_ID)
        return fu_err_set(err, FU_EINVAL,
                          "field '%s' is longer than %d bytes", name,
                          EVENT_MAX_ID);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return fu_err_set(err, FU_EINVAL,
                              "field '%s' must not contain control "
                              "characters", name);
    }
    *out = s;
    return 0;
}

/* An instant: RFC 3339 text or integer epoch milliseconds (0 to the end
 * of year 9999, floored to the second). Reals are refused. */
static int event_time(const struct jnode *v, const char *name, int64_t *out,
                      struct fu_err *err) {
    if (is_type(v, JDOC_STRING)) {
        if (time_parse_rfc3339(v->u.s, out) == 0) return 0;
    } else if (is_type(v, JDOC_INT)) {
        int64_t ms = v->u.i;
        if (ms >= 0 && ms <= EVENT_MAX_EPOCH_MS) {
            *out = time_from_epoch_ms((int64_t)ms);
            return 0;
        }
    }
    return fu_err_set(err, FU_EINVAL,
                      "field '%s' must be an RFC 3339 time or epoch "
                      "milliseconds", name);
}

/* A zone name that tzdb knows (and has now loaded). */
static int event_zone(const struct jnode *v, const char *name, struct tzdb *tzdb,
                      const char **out, struct fu_err *err) {
    struct fu_err tzerr;

    if (!is_type(v, JDOC_STRING))
        return fu_err_set(err, FU_EINVAL,
                          "field '%s' must be an IANA timezone name", name);
    fu_err_clear(&tzerr);
    if (!tzdb_get(tzdb, v->u.s, &tzerr)) {
        if (tzerr.code == FU_ENOMEM)
            return fu_err_set(err, FU_ENOMEM, "out of memory");
        return fu_err_set(err, FU_EINVAL, "unknown timezone in '%s'", name);
    }
    *out = v->u.s;
    return 0;
}

/* "invalid JSON at line L column C: <what>", in our words: the reason
 * never quotes the input, which may hold personal data. */
static int event_json_error(const struct jdoc_error *jerr,
                            struct fu_err *err) {
    const char *what;

    switch (jerr->code) {
    case JDOC_EEMPTY: return fu_err_set(err, FU_EINVAL, "empty event");
    case JDOC_ENOMEM: return fu_err_set(err, FU_ENOMEM, "out of memory");
    case JDOC_EDEPTH: what = "nested too deeply"; break;
    case JDOC_EUTF8: what = "invalid UTF-8"; break;
    case JDOC_EEOF: what = "unexpected end of input"; break;
    case JDOC_ETRAILING: what = "unexpected text after the value"; break;
    case JDOC_ENUL: what = "\\u0000 is not allowed"; break;
    case JDOC_EDUPKEY: what = "duplicate key"; break;
    case JDOC_ERANGE: what = "number out of range"; break;
    default: what = "invalid syntax"; break;
    }
    return fu_err_set(err, FU_EINVAL, "invalid JSON at line %d column %d: %s",
                      jerr->line, jerr->column > 0 ? jerr->column : 1, what);
}

/* ---- user.preferences ---- */

static int event_channel_name_ok(const char *s) {
    size_t n = strlen(s);

    if (n == 0 || n > EVENT_MAX_CHANNEL) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_'))
            return 0;
    return 1;
}

static int event_parse_channels(struct event *ev, const struct jnode *v,
                                struct fu_err *err) {
    const struct jnode *on;
    size_t n;

    if (!is_type(v, JDOC_OBJECT))
        return fu_err_set(err, FU_EINVAL,
                          "field 'data.channels' must be an object of "
                          "channel name to true or false");
    if ((n = v->len) == 0) return 0;
    ev->channels = calloc(n, sizeof(*ev->channels));
    if (!ev->channels) return fu_err_set(err, FU_ENOMEM, "out of memory");
    for (on = v->u.first; on; on = on->next) {
        if (!event_channel_name_ok(on->key))
            return fu_err_set(err, FU_EINVAL,
                              "invalid channel name in 'data.channels' "
                              "(expected [a-z0-9_]+, at most %d bytes)",
                              EVENT_MAX_CHANNEL);
        if (!is_bool(on))
            return fu_err_set(err, FU_EINVAL,
                              "channel in 'data.channels' must be true or "
                              "false");
        ev->channels[ev->nchannels].name = on->key;
        ev->channels[ev->nchannels].on = is_type(on, JDOC_TRUE);
        ev->nchannels++;
    }
    return 0;
}

static int event_window_days(struct window *w, const struct jnode *v,
                             struct fu_err *err) {
    size_t i;
    const struct jnode *d;

    if (!is_type(v, JDOC_ARRAY))
        return fu_err_set(err, FU_EINVAL,
                          "field 'data.call_window.days' must be an array of "
                          "day names (" EVENT_DAYS ")");
    w->days = 0;
    for (i = 0, d = v->u.first; d; i++, d = d->next) {
        int wd = is_type(d, JDOC_STRING) ? time_parse_weekday(d->u.s)
                                   : -1;
        if (wd < 0)
            return fu_err_set(err, FU_EINVAL,
                              "unknown day in 'data.call_window.days[%zu]' "
                              "(expected one of " EVENT_DAYS ")", i);
        w->days |= (uint8_t)(1u << wd);
    }
    return 0;
}

static int event_window_hours(struct window *w, const struct jnode *v,
                              struct fu_err *err) {
    size_t i;
    const struct jnode *r;

    if (!is_type(v, JDOC_ARRAY) || v->len == 0)
        return fu_err_set(err, FU_EINVAL,
                          "field 'data.call_window.hours' must be a "
                          "non-empty array of \"HH:MM-HH:MM\" ranges");
    for (i = 0, r = v->u.first; r; i++, r = r->next) {
        int start, end;

        if (!is_type(r, JDOC_STRING) ||
            time_parse_hours_range(r->u.s, &start, &end) < 0)
            return fu_err_set(err, FU_EINVAL,
                              "invalid range in 'data.call_window.hours[%zu]' "
                              "(expected \"HH:MM-HH:MM\", 00:00 to 24:00)",
                              i);
        if (start >= end)
            return fu_err_set(err, FU_EINVAL,
                              "range in 'data.call_window.hours[%zu]' must "
                              "start before it ends (write two ranges to "
                              "cross midnight)", i);
        if (window_add_range(w, start, end) < 0)
            return fu_err_set(err, FU_EINVAL,
                              "too many ranges in 'data.call_window.hours' "
                              "(at most %d)", WINDOW_MAX_RANGES);
    }
    return 0;
}

static int event_window_dates(struct window *w, const struct jnode *v,
                              struct fu_err *err) {
    size_t i;
    const struct jnode *d;

    if (!is_type(v, JDOC_ARRAY))
        return fu_err_set(err, FU_EINVAL,
                          "field 'data.call_window.exclude_dates' must be an "
                          "array of \"YYYY-MM-DD\" dates");
    for (i = 0, d = v->u.first; d; i++, d = d->next) {
        int64_t days;

        if (i == WINDOW_MAX_EXCLUDE)
            return fu_err_set(err, FU_EINVAL,
                              "too many dates in "
                              "'data.call_window.exclude_dates' (at most %d)",
                              WINDOW_MAX_EXCLUDE);
        if (!is_type(d, JDOC_STRING) ||
            time_parse_date(d->u.s, &days) < 0)
            return fu_err_set(err, FU_EINVAL,
                              "invalid date in "
                              "'data.call_window.exclude_dates[%zu]' "
                              "(expected \"YYYY-MM-DD\")", i);
        if (window_exclude_date(w, days) < 0)
            return fu_err_set(err, FU_ENOMEM, "out of memory");
    }
    return 0;
}

/* data.call_window: the policy's window shape (spec 3.4). Fills w, which
 * the caller has window_init'ed and releases on failure. */
static int event_parse_window(struct window *w, const struct jnode *v,
                              struct fu_err *err) {
    const struct jnode *val, *hours = NULL;

    for (val = v->u.first; val; val = val->next) {
        const char *key = val->key;

        if (!strcmp(key, "days")) {
            if (event_window_days(w, val, err) < 0) return -1;
        } else if (!strcmp(key, "hours")) {
            hours = val;
        } else if (!strcmp(key, "exclude_dates")) {
            if (event_window_dates(w, val, err) < 0) return -1;
        } else {
            return fu_err_set(err, FU_EINVAL,
                              "unknown key in 'data.call_window' (expected "
                              "days, hours, exclude_dates)");
        }
    }
    if (!hours)
        return fu_err_set(err, FU_EINVAL,
                          "missing required field 'data.call_window.hours'");
    if (event_window_hours(w, hours, err) < 0) return -1;
    if (window_never_opens(w))
        return fu_err_set(err, FU_EINVAL,
                          "field 'data.call_window' never opens (expected at "
                          "least one day in 'days')");
    return 0;
}

/* data.follow_up_by: "call", "message", or null to reset (spec 4.2). */
static int event_parse_follow_up_by(struct event *ev,
                                    const struct jnode *data,
                                    struct fu_err *err) {
    const struct jnode *v = jdoc_get(data, "follow_up_by");
    const char *s = is_type(v, JDOC_STRING) ? v->u.s : NULL;
    if (!v) return 0;
    ev->has_follow_up_by = 1;
    if (is_type(v, JDOC_NULL)) {
        ev->follow_up_by = FOLLOW_UP_ANY;
    } else if (s && !strcmp(s, "call")) {
        ev->follow_up_by = FOLLOW_UP_CALL;
    } else if (s && !strcmp(s, "message")) {
        ev->follow_up_by = FOLLOW_UP_MESSAGE;
    } else {
        return fu_err_set(err, FU_EINVAL,
                          "field 'data.follow_up_by' must be \"call\", "
                          "\"message\" or null");
    }
    return 0;
}

/* data keys other than those below are ignored, as in any event. */
static int event_parse_preferences(struct event *ev, const struct jnode *data,
                                   struct tzdb *tzdb, struct fu_err *err) {
    const struct jnode *v;

    if ((v = event_get(data, "opt_out"))) {
        if (!is_bool(v))
            return fu_err_set(err, FU_EINVAL,
                              "field 'data.opt_out' must be true or false");
        ev->has_opt_out = 1;
        ev->opt_out = is_type(v, JDOC_TRUE);
    }
    if ((v = event_get(data, "consent"))) {
        if (!is_bool(v))
            return fu_err_set(err, FU_EINVAL,
                              "field 'data.consent' must be true or false");
        ev->has_consent = 1;
        ev->consent = is_type(v, JDOC_TRUE);
    }
    if (event_parse_follow_up_by(ev, data, err) < 0) return -1;
    if ((v = event_get(data, "channels")) &&
        event_parse_channels(ev, v, err) < 0)
        return -1;
    if ((v = event_get(data, "timezone")) &&
        event_zone(v, "data.timezone", tzdb, &ev->pref_timezone, err) < 0)
        return -1;

    /* Here null is a value: it removes the user's override. */
    v = jdoc_get(data, "call_window");
    if (is_type(v, JDOC_NULL)) {
        ev->has_call_window = 1;
        ev->call_window_null = 1;
    } else if (v) {
        struct window w;

        if (!is_type(v, JDOC_OBJECT))
            return fu_err_set(err, FU_EINVAL,
                              "field 'data.call_window' must be an object or "
                              "null");
        window_init(&w);
        if (event_parse_window(&w, v, err) < 0) {
            window_release(&w);
            return -1;
        }
        window_release(&ev->call_window);
        ev->call_window = w; /* ev owns w's exclude list now */
        ev->has_call_window = 1;
    }
    return 0;
}

/* ---- callback.outcome and callback.reschedule ---- */

static int event_parse_outcome(struct event *ev, const struct jnode *data,
                               struct fu_err *err) {
    const struct jnode *v;

    if (event_get_id(data, "task_id", "data.task_id", &ev->task_id, err) < 0)
        return -1;
    if (!(v = event_get(data, "outcome")))
        return fu_err_set(err, FU_EINVAL,
                          "missing required field 'data.outcome'");
    if (!is_type(v, JDOC_STRING))
        return fu_err_set(err, FU_EINVAL,
                          "field 'data.outcome' must be a string");
    ev->outcome = outcome_from_name(v->u.s);
    if (ev->outcome < 0)
        return fu_err_set(err, FU_EINVAL,
                          "unknown outcome in 'data.outcome' (expected one "
                          "of " EVENT_OUTCOMES ")");
    if ((v = event_get(data, "satisfaction"))) {
        if (v->type != JDOC_INT || v->u.i < 1 || v->u.i > 5)
            return fu_err_set(err, FU_EINVAL,
                              "field 'data.satisfaction' must be an integer "
                              "from 1 to 5");
        ev->satisfaction = (int)v->u.i;
    }
    return 0;
}

static int event_parse_reschedule(struct event *ev, const struct jnode *data,
                                  struct fu_err *err) {
    const struct jnode *v;

    if (event_get_id(data, "task_id", "data.task_id", &ev->task_id, err) < 0)
        return -1;
    if (!(v = event_get(data, "at")))
        return fu_err_set(err, FU_EINVAL, "missing required field 'data.at'");
    return event_time(v, "data.at", &ev->at, err);
}

/* ---- Parse and release ---- */

static int event_validate(struct event *ev, const struct jnode *root,
                          struct tzdb *tzdb, struct fu_err *err) {
    const struct jnode *v, *data;

    if (!is_type(root, JDOC_OBJECT))
        return fu_err_set(err, FU_EINVAL, "event must be a JSON object");
    if (event_get_id(root, "event_id", "event_id", &ev->event_id, err) < 0 ||
        event_get_id(root, "type", "type", &ev->type, err) < 0 ||
        event_get_id(root, "user_id", "user_id", &ev->user_id, err) < 0)
        return -1;
    if (!(v = event_get(root, "occurred_at")))
        return fu_err_set(err, FU_EINVAL,
                          "missing required field 'occurred_at'");
    if (event_time(v, "occurred_at", &ev->occurred_at, err) < 0) return -1;
    if ((v = event_get(root, "timezone")) &&
        event_zone(v, "timezone", tzdb, &ev->timezone, err) < 0)
        return -1;
    if ((data = event_get(root, "data")) && !is_type(data, JDOC_OBJECT))
        return fu_err_set(err, FU_EINVAL, "field 'data' must be an object");

    if (!strcmp(ev->type, "user.preferences"))
        ev->kind = EV_PREFERENCES;
    else if (!strcmp(ev->type, "callback.outcome"))
        ev->kind = EV_OUTCOME;
    else if (!strcmp(ev->type, "callback.reschedule"))
        ev->kind = EV_RESCHEDULE;
    else
        return 0;
    if (!data)
        return fu_err_set(err, FU_EINVAL, "missing required field 'data'");
    switch (ev->kind) {
    case EV_PREFERENCES: return event_parse_preferences(ev, data, tzdb, err);
    case EV_OUTCOME: return event_parse_outcome(ev, data, err);
    default: return event_parse_reschedule(ev, data, err);
    }
}

int event_parse(const char *buf, size_t len, struct tzdb *tzdb,
                struct event *ev, struct fu_err *err) {
    struct jdoc_error jerr;

    memset(ev, 0, sizeof(*ev));
    window_init(&ev->call_window);
    ev->occurred_at = TIME_NONE;
    ev->at = TIME_NONE;
    ev->outcome = -1;

    if (len > EVENT_MAX_BYTES) {
        fu_err_set(err, FU_EINVAL, "event larger than %d bytes",
                   EVENT_MAX_BYTES);
        goto err;
    }
    if (jdoc_parse(&ev->doc, buf, len, &jerr) < 0) {
        event_json_error(&jerr, err);
        goto err;
    }
    if (event_validate(ev, ev->doc.root, tzdb, err) < 0) goto err;
    return 0;

err:
    event_release(ev);
    return -1;
}

void event_release(struct event *ev) {
    if (!ev) return;
    jdoc_release(&ev->doc);
    free(ev->channels);
    window_release(&ev->call_window);
    memset(ev, 0, sizeof(*ev));
}

/* jansson here, not jdoc: this reads events that failed validation, and
 * one with duplicate keys should still be keyed by its (last) user_id. A
 * dead letter is rare, so the cost does not matter. */
char *event_peek_user_id(const char *buf, size_t len) {
    json_t *root = json_loadb(buf, len, 0, NULL);
    json_t *v = json_object_get(root, "user_id");
    char *id = NULL;

    if (json_is_string(v) && json_string_length(v) > 0)
        id = strdup(json_string_value(v));
    json_decref(root);
    return id;
}

/* ---- Lookups for conditions and context ---- */

int event_lookup(const void *ctx, const char *const *segs, int nsegs,
                 struct cond_value *out) {
    const struct event *ev = ctx;
    const struct jnode *v = ev->doc.root;

    memset(out, 0, sizeof(*out));
    for (int i = 0; i < nsegs && v; i++)
        v = jdoc_get(v, segs[i]); /* NULL for a non-object */
    if (!v) {
        out->type = CV_MISSING;
        return 0;
    }
    switch (v->type) {
    case JDOC_NULL: out->type = CV_NULL; break;
    case JDOC_TRUE:
    case JDOC_FALSE:
        out->type = CV_BOOL;
        out->b = v->type == JDOC_TRUE;
        break;
    case JDOC_INT:
    case JDOC_REAL:
        out->type = CV_NUMBER;
        out->num = jdoc_number(v);
        break;
    case JDOC_STRING:
        out->type = CV_STRING;
        out->str = v->u.s;
        break;
    default: out->type = CV_OTHER; break;
    }
    return 0;
}

/* The value at a dotted path, or NULL. */
static const struct jnode *event_path(const struct event *ev,
                                      const char *path) {
    const struct jnode *v = ev->doc.root;

    while (v) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);

        v = jdoc_getn(v, path, n);
        if (!dot) break;
        path = dot + 1;
    }
    return v;
}

/* Each value is written compactly by jdoc (any depth, reals exact), then
 * placed into the spaced outer object. */
char *event_context_json_with(const struct event *ev, char *const *paths,
                              int npaths, event_overlay_fn *overlay,
                              const void *overlay_ctx) {
    struct jsonw w, value;

    jsonw_init(&w);
    jsonw_init(&value);
    jsonw_obj_open(&w);
    for (int i = 0; i < npaths; i++) {
        const struct jnode *v;

        jsonw_key(&w, paths[i]);
        if (overlay && overlay(overlay_ctx, paths[i], &w)) continue;
        if (!(v = event_path(ev, paths[i]))) {
            jsonw_null(&w);
            continue;
        }
        jsonw_reset(&value);
        jdoc_write(&value, v);
        if (value.oom) {
            jsonw_release(&value);
            jsonw_release(&w);
            return NULL;
        }
        jsonw_raw(&w, value.buf);
    }
    jsonw_obj_close(&w);
    jsonw_release(&value);
    return jsonw_detach(&w);
}

char *event_context_json(const struct event *ev, char *const *paths,
                         int npaths) {
    return event_context_json_with(ev, paths, npaths, NULL, NULL);
}

/* ---- Outcomes ---- */

int outcome_from_name(const char *name) {
    for (int i = 0; i < OUTCOME_COUNT; i++)
        if (!strcmp(name, outcome_names[i])) return i;
    return -1;
}

const char *outcome_name(int outcome) {
    if (outcome < 0 || outcome >= OUTCOME_COUNT) return NULL;
    return outcome_names[outcome];
}
