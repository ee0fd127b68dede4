/* state_codec.c -- struct user_state <-> compact JSON, for stores that
 * keep a user's state as one value (Redis).
 *
 * The format is versioned ("v": 1) and positional (arrays, not objects) to
 * keep per-user bytes low; a field added later goes at the end of its
 * array, and a decoder reads missing trailing fields as their zero value,
 * so a rolling upgrade can read both. Times are seconds; null = TIME_NONE. */
#include "state_codec.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonw.h"
#include "timeutil.h"

#define CODEC_VERSION 1

/* ---- Encoding ---- */

static void put_time(struct jsonw *w, int64_t t) {
    if (t == TIME_NONE)
        jsonw_null(w);
    else
        jsonw_int(w, t);
}

static void put_window(struct jsonw *w, const struct window *win) {
    jsonw_arr_open(w);
    jsonw_int(w, win->days);
    jsonw_arr_open(w);
    for (int i = 0; i < win->nranges; i++) {
        jsonw_int(w, win->ranges[i].start);
        jsonw_int(w, win->ranges[i].end);
    }
    jsonw_arr_close(w);
    jsonw_arr_open(w);
    for (int i = 0; i < win->nexclude; i++) jsonw_int(w, win->exclude[i]);
    jsonw_arr_close(w);
    jsonw_arr_close(w);
}

static void put_followup(struct jsonw *w, const struct followup *f) {
    jsonw_arr_open(w);
    jsonw_str(w, f->task_id);
    jsonw_str(w, f->rule_id);
    jsonw_str(w, f->trigger_event_id);
    jsonw_str(w, f->trigger_type);
    jsonw_int(w, f->trigger_at);
    jsonw_int(w, f->occurrence);
    jsonw_int(w, f->attempt);
    jsonw_int(w, f->reschedules);
    jsonw_int(w, f->planned);
    jsonw_int(w, f->expires_at);
    jsonw_int(w, f->due_at);
    jsonw_int(w, f->not_after);
    jsonw_int(w, (int64_t)f->seq);
    jsonw_int(w, f->status);
    put_time(w, f->emitted_at);
    jsonw_int(w, f->priority);
    jsonw_str(w, f->script);
    jsonw_str(w, f->context_json);
    jsonw_str(w, f->policy_version);
    jsonw_int(w, f->reminder_status);
    jsonw_str(w, f->reminder_id);
    jsonw_str(w, f->reminder_channel);
    jsonw_str(w, f->reminder_template);
    jsonw_int(w, f->reminder_at);
    jsonw_int(w, (int64_t)f->reminder_seq);
    jsonw_arr_close(w);
}

static void put_repeat(struct jsonw *w, const struct repeat_timer *t) {
    jsonw_arr_open(w);
    jsonw_str(w, t->rule_id);
    jsonw_str(w, t->trigger_event_id);
    jsonw_str(w, t->trigger_type);
    jsonw_int(w, t->trigger_at);
    jsonw_str(w, t->context_json);
    jsonw_int(w, t->occurrence);
    jsonw_int(w, t->nominal);
    jsonw_int(w, t->decide_at);
    jsonw_int(w, (int64_t)t->seq);
    jsonw_arr_close(w);
}

char *state_encode(const struct user_state *st) {
    struct jsonw w;
    jsonw_init(&w);
    w.compact = 1;
    jsonw_obj_open(&w);
    jsonw_kint(&w, "v", CODEC_VERSION);
    jsonw_kstr(&w, "u", st->user_id);
    jsonw_kstr(&w, "tz", st->timezone);
    jsonw_key(&w, "cw");
    if (st->has_call_window)
        put_window(&w, &st->call_window);
    else
        jsonw_null(&w);
    jsonw_kint(&w, "oo", st->opted_out);
    jsonw_key(&w, "co");
    jsonw_arr_open(&w);
    for (int i = 0; i < st->nchannels_off; i++) jsonw_str(&w, st->channels_off[i]);
    jsonw_arr_close(&w);
    jsonw_key(&w, "cd");
    jsonw_arr_open(&w);
    put_time(&w, st->cooldown_from);
    put_time(&w, st->cooldown_until);
    put_time(&w, st->prefs_at);
    jsonw_arr_close(&w);
    jsonw_key(&w, "s");
    jsonw_arr_open(&w);
    for (int i = 0; i < st->nseen; i++) {
        jsonw_str(&w, st->seen[i].event_id);
        jsonw_int(&w, st->seen[i].decided_at);
    }
    jsonw_arr_close(&w);
    jsonw_key(&w, "f");
    jsonw_arr_open(&w);
    for (int i = 0; i < st->nfollowups; i++) put_followup(&w, &st->followups[i]);
    jsonw_arr_close(&w);
    jsonw_key(&w, "r");
    jsonw_arr_open(&w);
    for (int i = 0; i < st->nrepeats; i++) put_repeat(&w, &st->repeats[i]);
    jsonw_arr_close(&w);
    jsonw_obj_close(&w);
    return jsonw_detach(&w);
}

/* ---- Decoding ---- */

/* Positional reader over one JSON array; a missing trailing field reads as
 * zero / NULL, a field of the wrong type fails the whole decode. */
struct reader {
    json_t *arr;
    size_t i;
    int bad;
};

static json_t *next(struct reader *r) {
    return json_array_get(r->arr, r->i++); /* NULL past the end */
}

static int64_t rd_int(struct reader *r) {
    json_t *v = next(r);
    if (!v) return 0;
    if (!json_is_integer(v)) r->bad = 1;
    return json_integer_value(v);
}

static int64_t rd_time(struct reader *r) {
    json_t *v = next(r);
    if (!v || json_is_null(v)) return TIME_NONE;
    if (!json_is_integer(v)) r->bad = 1;
    return json_integer_value(v);
}

/* A strdup of the next string, NULL for null or absent. */
static char *rd_str(struct reader *r) {
    json_t *v = next(r);
    if (!v || json_is_null(v)) return NULL;
    if (!json_is_string(v)) {
        r->bad = 1;
        return NULL;
    }
    char *s = strdup(json_string_value(v));
    if (!s) r->bad = 1;
    return s;
}

static void rd_id(struct reader *r, char *out, size_t size) {
    char *s = rd_str(r);
    snprintf(out, size, "%s", s ? s : "");
    free(s);
}

static int get_window(json_t *arr, struct window *w) {
    json_t *ranges = json_array_get(arr, 1), *excl = json_array_get(arr, 2);
    window_init(w);
    if (!json_is_array(arr) || !json_is_array(ranges) || !json_is_array(excl) ||
        json_array_size(ranges) % 2 != 0)
        return -1;
    w->days = (uint8_t)json_integer_value(json_array_get(arr, 0));
    for (size_t i = 0; i + 1 < json_array_size(ranges); i += 2)
        if (window_add_range(w, (int)json_integer_value(json_array_get(ranges, i)),
                             (int)json_integer_value(json_array_get(ranges, i + 1))) < 0)
            return -1;
    for (size_t i = 0; i < json_array_size(excl); i++)
        if (window_exclude_date(w, json_integer_value(json_array_get(excl, i))) < 0)
            return -1;
    return window_never_opens(w) ? -1 : 0;
}

static int get_followup(struct user_state *st, json_t *arr) {
    struct followup *f = user_state_add_followup(st);
    struct reader r = {arr, 0, !json_is_array(arr)};
    if (!f) return -1;
    rd_id(&r, f->task_id, sizeof(f->task_id));
    f->rule_id = rd_str(&r);
    f->trigger_event_id = rd_str(&r);
    f->trigger_type = rd_str(&r);
    f->trigger_at = rd_int(&r);
    f->occurrence = (int)rd_int(&r);
    f->attempt = (int)rd_int(&r);
    f->reschedules = (int)rd_int(&r);
    f->planned = rd_int(&r);
    f->expires_at = rd_int(&r);
    f->due_at = rd_int(&r);
    f->not_after = rd_int(&r);
    f->seq = (uint64_t)rd_int(&r);
    f->status = (int)rd_int(&r);
    f->emitted_at = rd_time(&r);
    f->priority = (int)rd_int(&r);
    f->script = rd_str(&r);
    f->context_json = rd_str(&r);
    rd_id(&r, f->policy_version, sizeof(f->policy_version));
    f->reminder_status = (int)rd_int(&r);
    rd_id(&r, f->reminder_id, sizeof(f->reminder_id));
    f->reminder_channel = rd_str(&r);
    f->reminder_template = rd_str(&r);
    f->reminder_at = rd_int(&r);
    f->reminder_seq = (uint64_t)rd_int(&r);
    if (!f->rule_id || !f->trigger_event_id || !f->trigger_type ||
        (f->reminder_status != REMINDER_NONE && !f->reminder_channel))
        r.bad = 1;
    return r.bad ? -1 : 0;
}

static int get_repeat(struct user_state *st, json_t *arr) {
    struct repeat_timer *t = user_state_add_repeat(st);
    struct reader r = {arr, 0, !json_is_array(arr)};
    if (!t) return -1;
    t->rule_id = rd_str(&r);
    t->trigger_event_id = rd_str(&r);
    t->trigger_type = rd_str(&r);
    t->trigger_at = rd_int(&r);
    t->context_json = rd_str(&r);
    t->occurrence = (int)rd_int(&r);
    t->nominal = rd_int(&r);
    t->decide_at = rd_int(&r);
    t->seq = (uint64_t)rd_int(&r);
    if (!t->rule_id || !t->trigger_event_id || !t->trigger_type) r.bad = 1;
    return r.bad ? -1 : 0;
}

static int get_prefs(struct user_state *st, json_t *root) {
    json_t *tz = json_object_get(root, "tz"), *cw = json_object_get(root, "cw");
    json_t *co = json_object_get(root, "co");
    struct reader cd = {json_object_get(root, "cd"), 0, 0};
    if (json_is_string(tz) && !(st->timezone = strdup(json_string_value(tz))))
        return -1;
    if (cw && !json_is_null(cw)) {
        if (get_window(cw, &st->call_window) < 0) return -1;
        st->has_call_window = 1;
    }
    st->opted_out = json_is_true(json_object_get(root, "oo")) ||
                    json_integer_value(json_object_get(root, "oo")) != 0;
    for (size_t i = 0; i < json_array_size(co); i++) {
        const char *ch = json_string_value(json_array_get(co, i));
        if (!ch || user_state_set_channel(st, ch, 0) < 0) return -1;
    }
    st->cooldown_from = rd_time(&cd);
    st->cooldown_until = rd_time(&cd);
    st->prefs_at = rd_time(&cd);
    return cd.bad ? -1 : 0;
}

static int get_lists(struct user_state *st, json_t *root) {
    json_t *seen = json_object_get(root, "s"), *fs = json_object_get(root, "f");
    json_t *rs = json_object_get(root, "r");
    for (size_t i = 0; i + 1 < json_array_size(seen); i += 2) {
        const char *id = json_string_value(json_array_get(seen, i));
        if (!id || user_state_add_seen(st, id, json_integer_value(
                                                   json_array_get(seen, i + 1))) < 0)
            return -1;
    }
    for (size_t i = 0; i < json_array_size(fs); i++)
        if (get_followup(st, json_array_get(fs, i)) < 0) return -1;
    for (size_t i = 0; i < json_array_size(rs); i++)
        if (get_repeat(st, json_array_get(rs, i)) < 0) return -1;
    return 0;
}

struct user_state *state_decode(const char *buf, size_t len,
                                struct fu_err *err) {
    json_error_t je;
    json_t *root = json_loadb(buf, len, 0, &je);
    json_t *v = json_object_get(root, "v"), *u = json_object_get(root, "u");
    struct user_state *st = NULL;
    if (!json_is_object(root) || json_integer_value(v) != CODEC_VERSION ||
        !json_is_string(u)) {
        fu_err_set(err, FU_EFATAL, "stored user state is not in format v%d",
                   CODEC_VERSION);
        goto out;
    }
    st = user_state_new(json_string_value(u));
    if (!st || get_prefs(st, root) < 0 || get_lists(st, root) < 0) {
        fu_err_set(err, FU_EFATAL, "stored user state is damaged");
        user_state_free(st);
        st = NULL;
    }
out:
    json_decref(root);
    return st;
}
