/* event.c -- input events: JSON text -> validated struct event (spec 3.3).
 *
 * One jansson parse per message; every field the engine reads is checked
 * here, so a failure carries the dead-letter reason. The reasons name the
 * field and what was expected and never quote the input: event payloads
 * carry personal data (phone numbers, names) and dead letters are read by
 * people. Conditions and task context read the kept document through
 * event_lookup / event_context_json. Nothing here decides anything. */
#include "event.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonw.h"
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

/* obj[key], with JSON null taken as absent: producers often write
 * "timezone": null for "not known". NULL when absent. */
static json_t *event_get(const json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);

    return json_is_null(v) ? NULL : v;
}

/* An id-like string (event_id, type, user_id, task_id): present,
 * non-empty, at most EVENT_MAX_ID bytes, no control characters. name is
 * the field's full path for the message. */
static int event_get_id(const json_t *obj, const char *key, const char *name,
                        const char **out, struct fu_err *err) {
    json_t *v = event_get(obj, key);
    const char *s;
    size_t len;

    if (!v) return fu_err_set(err, FU_EINVAL, "missing required field '%s'",
                              name);
    if (!json_is_string(v))
        return fu_err_set(err, FU_EINVAL, "field '%s' must be a string",
                          name);
    s = json_string_value(v);
    len = json_string_length(v);
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
static int event_time(const json_t *v, const char *name, int64_t *out,
                      struct fu_err *err) {
    if (json_is_string(v)) {
        if (time_parse_rfc3339(json_string_value(v), out) == 0) return 0;
    } else if (json_is_integer(v)) {
        json_int_t ms = json_integer_value(v);
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
static int event_zone(const json_t *v, const char *name, struct tzdb *tzdb,
                      const char **out, struct fu_err *err) {
    struct fu_err tzerr;

    if (!json_is_string(v))
        return fu_err_set(err, FU_EINVAL,
                          "field '%s' must be an IANA timezone name", name);
    fu_err_clear(&tzerr);
    if (!tzdb_get(tzdb, json_string_value(v), &tzerr)) {
        if (tzerr.code == FU_ENOMEM)
            return fu_err_set(err, FU_ENOMEM, "out of memory");
        return fu_err_set(err, FU_EINVAL, "unknown timezone in '%s'", name);
    }
    *out = json_string_value(v);
    return 0;
}

/* "invalid JSON at line L column C: <what>", in our words: jansson's own
 * texts quote the input ("near '...'"), which we must not. */
static int event_json_error(const char *buf, size_t len,
                            const json_error_t *jerr, struct fu_err *err) {
    const char *what;
    size_t i;

    for (i = 0; i < len; i++)
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r' &&
            buf[i] != '\n')
            break;
    if (i == len) return fu_err_set(err, FU_EINVAL, "empty event");

    switch (json_error_code(jerr)) {
    case json_error_out_of_memory:
        return fu_err_set(err, FU_ENOMEM, "out of memory");
    case json_error_stack_overflow: what = "nested too deeply"; break;
    case json_error_invalid_utf8: what = "invalid UTF-8"; break;
    case json_error_premature_end_of_input:
        what = "unexpected end of input";
        break;
    case json_error_end_of_input_expected:
        what = "unexpected text after the value";
        break;
    case json_error_null_character:
    case json_error_null_byte_in_key:
        what = "\\u0000 is not allowed";
        break;
    case json_error_duplicate_key: what = "duplicate key"; break;
    case json_error_numeric_overflow: what = "number out of range"; break;
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

static int event_parse_channels(struct event *ev, const json_t *v,
                                struct fu_err *err) {
    const char *key;
    json_t *on;
    size_t n;

    if (!json_is_object(v))
        return fu_err_set(err, FU_EINVAL,
                          "field 'data.channels' must be an object of "
                          "channel name to true or false");
    if ((n = json_object_size(v)) == 0) return 0;
    ev->channels = calloc(n, sizeof(*ev->channels));
    if (!ev->channels) return fu_err_set(err, FU_ENOMEM, "out of memory");
    json_object_foreach((json_t *)v, key, on) {
        if (!event_channel_name_ok(key))
            return fu_err_set(err, FU_EINVAL,
                              "invalid channel name in 'data.channels' "
                              "(expected [a-z0-9_]+, at most %d bytes)",
                              EVENT_MAX_CHANNEL);
        if (!json_is_boolean(on))
            return fu_err_set(err, FU_EINVAL,
                              "channel in 'data.channels' must be true or "
                              "false");
        ev->channels[ev->nchannels].name = key;
        ev->channels[ev->nchannels].on = json_is_true(on);
        ev->nchannels++;
    }
    return 0;
}

static int event_window_days(struct window *w, const json_t *v,
                             struct fu_err *err) {
    size_t i;
    json_t *d;

    if (!json_is_array(v))
        return fu_err_set(err, FU_EINVAL,
                          "field 'data.call_window.days' must be an array of "
                          "day names (" EVENT_DAYS ")");
    w->days = 0;
    json_array_foreach(v, i, d) {
        int wd = json_is_string(d) ? time_parse_weekday(json_string_value(d))
                                   : -1;
        if (wd < 0)
            return fu_err_set(err, FU_EINVAL,
                              "unknown day in 'data.call_window.days[%zu]' "
                              "(expected one of " EVENT_DAYS ")", i);
        w->days |= (uint8_t)(1u << wd);
    }
    return 0;
}

static int event_window_hours(struct window *w, const json_t *v,
                              struct fu_err *err) {
    size_t i;
    json_t *r;

    if (!json_is_array(v) || json_array_size(v) == 0)
        return fu_err_set(err, FU_EINVAL,
                          "field 'data.call_window.hours' must be a "
                          "non-empty array of \"HH:MM-HH:MM\" ranges");
    json_array_foreach(v, i, r) {
        int start, end;

        if (!json_is_string(r) ||
            time_parse_hours_range(json_string_value(r), &start, &end) < 0)
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

static int event_window_dates(struct window *w, const json_t *v,
                              struct fu_err *err) {
    size_t i;
    json_t *d;

    if (!json_is_array(v))
        return fu_err_set(err, FU_EINVAL,
                          "field 'data.call_window.exclude_dates' must be an "
                          "array of \"YYYY-MM-DD\" dates");
    json_array_foreach(v, i, d) {
        int64_t days;

        if (!json_is_string(d) ||
            time_parse_date(json_string_value(d), &days) < 0)
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
static int event_parse_window(struct window *w, const json_t *v,
                              struct fu_err *err) {
    const char *key;
    json_t *val, *hours = NULL;

    json_object_foreach((json_t *)v, key, val) {
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

/* data keys other than the four below are ignored, as in any event. */
static int event_parse_preferences(struct event *ev, const json_t *data,
                                   struct tzdb *tzdb, struct fu_err *err) {
    json_t *v;

    if ((v = event_get(data, "opt_out"))) {
        if (!json_is_boolean(v))
            return fu_err_set(err, FU_EINVAL,
                              "field 'data.opt_out' must be true or false");
        ev->has_opt_out = 1;
        ev->opt_out = json_is_true(v);
    }
    if ((v = event_get(data, "channels")) &&
        event_parse_channels(ev, v, err) < 0)
        return -1;
    if ((v = event_get(data, "timezone")) &&
        event_zone(v, "data.timezone", tzdb, &ev->pref_timezone, err) < 0)
        return -1;

    /* Here null is a value: it removes the user's override. */
    v = json_object_get(data, "call_window");
    if (json_is_null(v)) {
        ev->has_call_window = 1;
        ev->call_window_null = 1;
    } else if (v) {
        struct window w;

        if (!json_is_object(v))
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

static int event_parse_outcome(struct event *ev, const json_t *data,
                               struct fu_err *err) {
    json_t *v;

    if (event_get_id(data, "task_id", "data.task_id", &ev->task_id, err) < 0)
        return -1;
    if (!(v = event_get(data, "outcome")))
        return fu_err_set(err, FU_EINVAL,
                          "missing required field 'data.outcome'");
    if (!json_is_string(v))
        return fu_err_set(err, FU_EINVAL,
                          "field 'data.outcome' must be a string");
    ev->outcome = outcome_from_name(json_string_value(v));
    if (ev->outcome < 0)
        return fu_err_set(err, FU_EINVAL,
                          "unknown outcome in 'data.outcome' (expected one "
                          "of " EVENT_OUTCOMES ")");
    return 0;
}

static int event_parse_reschedule(struct event *ev, const json_t *data,
                                  struct fu_err *err) {
    json_t *v;

    if (event_get_id(data, "task_id", "data.task_id", &ev->task_id, err) < 0)
        return -1;
    if (!(v = event_get(data, "at")))
        return fu_err_set(err, FU_EINVAL, "missing required field 'data.at'");
    return event_time(v, "data.at", &ev->at, err);
}

/* ---- Parse and release ---- */

static int event_validate(struct event *ev, const json_t *root,
                          struct tzdb *tzdb, struct fu_err *err) {
    json_t *v, *data;

    if (!json_is_object(root))
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
    if ((data = event_get(root, "data")) && !json_is_object(data))
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
    json_error_t jerr;
    json_t *root;

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
    root = json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
                      &jerr);
    if (!root) {
        event_json_error(buf, len, &jerr, err);
        goto err;
    }
    ev->doc = root;
    if (event_validate(ev, root, tzdb, err) < 0) goto err;
    return 0;

err:
    event_release(ev);
    return -1;
}

void event_release(struct event *ev) {
    if (!ev) return;
    json_decref(ev->doc);
    free(ev->channels);
    window_release(&ev->call_window);
    memset(ev, 0, sizeof(*ev));
}

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
    const json_t *v = ev->doc;

    memset(out, 0, sizeof(*out));
    for (int i = 0; i < nsegs && v; i++)
        v = json_object_get(v, segs[i]); /* NULL for a non-object */
    if (!v) {
        out->type = CV_MISSING;
        return 0;
    }
    switch (json_typeof(v)) {
    case JSON_NULL: out->type = CV_NULL; break;
    case JSON_TRUE:
    case JSON_FALSE:
        out->type = CV_BOOL;
        out->b = json_is_true(v);
        break;
    case JSON_INTEGER:
    case JSON_REAL:
        out->type = CV_NUMBER;
        out->num = json_number_value(v);
        break;
    case JSON_STRING:
        out->type = CV_STRING;
        out->str = json_string_value(v);
        break;
    default: out->type = CV_OTHER; break;
    }
    return 0;
}

/* The value at a dotted path, or NULL. */
static const json_t *event_path(const struct event *ev, const char *path) {
    const json_t *v = ev->doc;

    while (v) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);

        v = json_object_getn(v, path, n);
        if (!dot) break;
        path = dot + 1;
    }
    return v;
}

/* Compact JSON text of v (malloc'd; NULL on ENOMEM). Reals get the
 * shortest of 15 or 17 significant digits that reads back as the same
 * value, so 6200.00 is 6200.0 and 0.1 is 0.1, yet nothing is rounded. */
static char *event_dump(const json_t *v) {
    const size_t flags = JSON_ENCODE_ANY | JSON_COMPACT;
    char *text = json_dumps(v, flags | JSON_REAL_PRECISION(15));
    json_t *back;
    int same;

    if (!text) return NULL;
    back = json_loads(text, JSON_DECODE_ANY, NULL);
    same = back && json_equal(back, v);
    json_decref(back);
    if (same) return text;
    free(text);
    return json_dumps(v, flags);
}

char *event_context_json(const struct event *ev, char *const *paths,
                         int npaths) {
    struct jsonw w;

    jsonw_init(&w);
    jsonw_obj_open(&w);
    for (int i = 0; i < npaths; i++) {
        const json_t *v = event_path(ev, paths[i]);
        char *text;

        jsonw_key(&w, paths[i]);
        if (!v) {
            jsonw_null(&w);
            continue;
        }
        if (!(text = event_dump(v))) {
            jsonw_release(&w);
            return NULL;
        }
        jsonw_raw(&w, text);
        free(text);
    }
    jsonw_obj_close(&w);
    return jsonw_detach(&w);
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
