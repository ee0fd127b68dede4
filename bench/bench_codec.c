/* bench_codec.c -- state_decode, before and after: speed, and the two
 * decoders side by side on damaged and odd input.
 *
 * Not built by the Makefile. After `make BUILD=build-h8`:
 *   cc -O2 -g -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Ilib \
 *      bench/bench_codec.c build-h8/libfollowupd.a \
 *      $(pkg-config --cflags --libs jansson) -lm -o build-h8/bench_codec
 *
 *   build-h8/bench_codec bench [N]     ns/decode of a realistic state, old
 *                                      (jansson) and new, N times (1e6);
 *                                      each decode includes user_state_free
 *   build-h8/bench_codec old|new N     just one of them, for
 *                                      valgrind --tool=callgrind
 *   build-h8/bench_codec diff [N] [SEED]  N mutated texts (200000) through
 *                                      both: same verdict, same state, same
 *                                      kind of message; prints counts
 *   build-h8/bench_codec depth         nesting around jansson's limit
 *   build-h8/bench_codec show          the realistic state's text
 *
 * The old decoder below is lib/state_codec.c's as it was before the
 * single-pass decoder replaced it (jansson: json_loadb, then a walk of the
 * tree), renamed old_state_decode; it lives only here. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "state_codec.h"
#include "timeutil.h"

#define CODEC_VERSION 1

/* ---- The old decoder (jansson), verbatim but for its name ---- */

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

static struct user_state *old_state_decode(const char *buf, size_t len,
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

/* ---- A realistic state ---- */

/* A user with 3 tasks (2 with a pending reminder), 2 repeat timers, 10
 * seen event ids, 2 channels off, a call window of their own. */
static struct user_state *realistic_state(void) {
    static const char *const ctx[] = {
        "{\"invoice_id\": \"INV-2026-00417\", \"amount\": \"129.90\", "
        "\"currency\": \"EUR\"}",
        "{\"invoice_id\": \"INV-2026-00433\", \"amount\": \"12.00\", "
        "\"currency\": \"EUR\"}",
        "{\"ticket\": \"C-88121\", \"topic\": \"card \\u00e9 blocked\"}"};
    struct user_state *st = user_state_new("u-8f3a2c41d9");
    char id[64];
    int64_t t0 = 1793520000; /* 2026-11-02 */

    st->timezone = strdup("Europe/Berlin");
    st->has_call_window = 1;
    st->call_window.days = 0x1f;
    window_add_range(&st->call_window, 540, 720);
    window_add_range(&st->call_window, 780, 1080);
    window_exclude_date(&st->call_window, 20812);
    user_state_set_channel(st, "email", 0);
    user_state_set_channel(st, "push", 0);
    st->prefs_at = t0 - 86400;
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), "0f8e6b2a-5c1d-4e8f-9a7b-3c2d1e0f%04x", i);
        user_state_add_seen(st, id, t0 - 3600 * (10 - i));
    }
    for (int i = 0; i < 3; i++) {
        struct followup *f = user_state_add_followup(st);
        snprintf(f->task_id, sizeof(f->task_id), "t-%020" PRIx64,
                 (uint64_t)0x3c2d1e0f9a8b77 + (uint64_t)i);
        f->rule_id = strdup(i < 2 ? "late-payment" : "complaint-resolved");
        snprintf(id, sizeof(id), "9b2f0c1e-77aa-4c1e-8d0f-%012d", 40 + i);
        f->trigger_event_id = strdup(id);
        f->trigger_type = strdup(i < 2 ? "invoice.overdue" : "complaint.resolved");
        f->trigger_at = t0 + 600 * i;
        f->occurrence = 1;
        f->attempt = 1 + (i == 1);
        f->reschedules = i == 1;
        f->planned = f->trigger_at + 3600;
        f->expires_at = f->trigger_at + 2 * 86400;
        f->due_at = f->planned + 120;
        f->not_after = f->expires_at;
        f->seq = (uint64_t)(100 + 2 * i);
        f->status = i == 2 ? FOLLOWUP_EMITTED : FOLLOWUP_PENDING;
        f->emitted_at = i == 2 ? f->due_at : TIME_NONE;
        f->priority = 5;
        f->script = strdup(i < 2 ? "payment-reminder-v2" : "complaint-follow-up");
        f->context_json = strdup(ctx[i]);
        snprintf(f->policy_version, sizeof(f->policy_version), "3f2a9c1b7d4e8f60");
        if (i < 2) {
            f->reminder_status = REMINDER_PENDING;
            snprintf(f->reminder_id, sizeof(f->reminder_id), "r-%020" PRIx64,
                     (uint64_t)0x3c2d1e0f9a8b77 + (uint64_t)i);
            f->reminder_channel = strdup("sms");
            f->reminder_template = strdup("payment-due-sms");
            f->reminder_at = f->due_at - 1800;
            f->reminder_seq = (uint64_t)(101 + 2 * i);
        }
    }
    for (int i = 0; i < 2; i++) {
        struct repeat_timer *t = user_state_add_repeat(st);
        t->rule_id = strdup("weekly-check-in");
        snprintf(id, sizeof(id), "5d1c9e0a-1f2b-4c3d-9e8f-%012d", 7 + i);
        t->trigger_event_id = strdup(id);
        t->trigger_type = strdup("user.registered");
        t->trigger_at = t0 - 86400 * (7 + i);
        t->context_json = strdup("{\"plan\": \"basic\", \"source\": \"app\"}");
        t->occurrence = 2;
        t->nominal = t->trigger_at + 14 * 86400;
        t->decide_at = t->nominal;
        t->seq = (uint64_t)(90 + i);
    }
    return st;
}

/* ---- Timing ---- */

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct user_state *decode_fn(const char *, size_t, struct fu_err *);

/* Mean ns per decode (and free) of text, over n runs. */
static double time_decode(decode_fn *decode, const char *text, long n) {
    size_t len = strlen(text);
    struct fu_err err;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        struct user_state *st = decode(text, len, &err);
        if (!st) {
            fprintf(stderr, "decode failed: %s\n", err.msg);
            exit(1);
        }
        user_state_free(st);
    }
    return (now_ns() - t0) / (double)n;
}

/* ---- Differential check ---- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n) { /* splitmix64, uniform enough */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return n ? (uint32_t)(z % n) : 0;
}

struct diff_stats {
    long cases, both_ok, both_refused, nul_quirk, mismatched;
};

/* jansson's lexer drops one NUL byte that directly follows a number or
 * true/false/null (ungetting a NUL makes its one-character buffer look
 * empty), so it read "[1\0]" as [1]. The new decoder refuses that NUL, a
 * sure sign of corruption. 1 when the new decoder's message points at
 * such a byte. */
static int nul_quirk(const char *text, size_t len, const char *msg) {
    const char *at = strstr(msg, " at byte ");
    size_t i;
    if (!at) return 0;
    i = strtoull(at + 9, NULL, 10);
    return i > 0 && i < len && text[i] == '\0' &&
           strchr("0123456789elu", text[i - 1]) && text[i - 1];
}

/* The kind of a refusal message: 1 not in format, 2 damaged, 3 other. */
static int msg_kind(const char *msg) {
    if (!strncmp(msg, "stored user state is not in format", 34)) return 1;
    if (!strncmp(msg, "stored user state is damaged", 28)) return 2;
    return 3;
}

/* text with bytes outside printable ASCII as \xNN. */
static void show(const char *label, const char *text, size_t len) {
    printf("%s ", label);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c < 0x7f)
            putchar(c);
        else
            printf("\\x%02x", c);
    }
    putchar('\n');
}

static void diff_one(const char *text, size_t len, struct diff_stats *ds) {
    struct fu_err eo, en;
    char *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */
    struct user_state *o, *n;
    memcpy(copy, text, len);
    memset(&eo, 0, sizeof(eo));
    memset(&en, 0, sizeof(en));
    o = old_state_decode(copy, len, &eo);
    n = state_decode(copy, len, &en);
    ds->cases++;
    if (o && n) {
        char *a = state_encode(o), *b = state_encode(n);
        if (strcmp(a, b)) {
            ds->mismatched++;
            if (ds->mismatched <= 10)
                show("DIFFERENT STATE for", text, len),
                    printf("  old %s\n  new %s\n", a, b);
        } else {
            ds->both_ok++;
        }
        free(a);
        free(b);
    } else if (!o && !n) {
        if (msg_kind(eo.msg) == 2 && nul_quirk(text, len, en.msg)) {
            ds->nul_quirk++;
        } else if (msg_kind(eo.msg) != msg_kind(en.msg) ||
                   en.code != FU_EFATAL) {
            ds->mismatched++;
            if (ds->mismatched <= 10)
                show("DIFFERENT MESSAGE for", text, len),
                    printf("  old %s\n  new %s\n", eo.msg, en.msg);
        } else {
            ds->both_refused++;
        }
    } else if (o && nul_quirk(text, len, en.msg)) {
        ds->nul_quirk++;
    } else {
        ds->mismatched++;
        if (ds->mismatched <= 10)
            show("DIFFERENT VERDICT for", text, len),
                printf("  old %s\n  new %s\n", o ? "ok" : eo.msg,
                       n ? "ok" : en.msg);
    }
    user_state_free(o);
    user_state_free(n);
    free(copy);
}

/* Values to drop anywhere: every JSON type, jansson's limits and the
 * spots the old decoder read leniently. */
static const char *const FRAGS[] = {
    "null", "true", "false", "0", "-0", "1", "-1", "2", "127", "129", "600",
    "1440", "1.5", "-0.0", "1e5", "1E+2", "1e400", "-1e400", "1e-400",
    "0.0000000000000000000000000000001e-400", "1.7976931348623157e308",
    "1.7976931348623159e308", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "-9223372036854775809",
    "99999999999999999999", "99999999999999999999.0", "01", "-", "1.", ".5",
    "1e", "+1", "\"\"", "\"x\"", "\"sms\"", "\"\\u0000\"", "\"a\\u0000b\"",
    "\"\\ud83d\\ude00\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
    "\"\\ud800x\"", "\"\\u00e9\"", "\"\\uZZZZ\"", "\"\\x\"", "\"\xc3\xa9\"",
    "\"\xc3\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xc0\xaf\"",
    "\"\xe0\x80\xaf\"", "\"\xf0\x9f\x98\x80\"", "\"a\tb\"", "\"\x7f\"",
    "[]", "{}", "[1,2]", "[[]]", "{\"a\":[1,{\"b\":null}]}", "[1,]", "{,}",
    "[127,[540,600],[]]", "[0,[],[]]", "[129,[0,1440],[5,3,5]]",
    "[127,[540.5,600],[1.5]]", "[127,[600,540],[]]", "[127,[540],[]]",
    "[127,[540,600]]", "[127,{},[]]", "[\"a\",null]", "[\"a\",1,\"b\"]",
    "[null,null,null]", "[1,\"x\"]", ",", ":", "\"v\":1,", "\"u\":\"y\",",
    "\"f\":[],", "\"zz\":[[[{}]]],", "\"v\":2,", "\"\\u0076\":1,",
    "\"\\u0075\":\"w\",", "\"co\":[\"email\"],", "\"co\":[\"email\",\"email\"],",
    "\"s\":[\"e\",1,\"e\"],", "\"s\":[1,2],", "\"cd\":[1,null,\"x\"],",
    "\"oo\":true,", "\"oo\":\"yes\",", "\"tz\":5,", "\"cw\":null,",
    " ", "\n", "\t", "\r", "\x0b", "\xef\xbb\xbf", "\\", "\"", "]", "}", "[",
    "{", NULL};

/* One random mutation of buf (len in/out; buf has room for 4096 more). */
static void mutate(char *buf, size_t *len) {
    static const char bytes[] = "{}[],:\"\\/-+.0123456789eEtrufalsn \t\n";
    size_t n = *len, at = n ? rnd((uint32_t)n + 1) : 0;
    int frags = 0;
    while (FRAGS[frags]) frags++;
    switch (rnd(7)) {
    case 0: /* flip a bit */
        if (n) buf[rnd((uint32_t)n)] ^= (char)(1u << rnd(8));
        break;
    case 1: /* a random byte */
        if (n) buf[rnd((uint32_t)n)] = (char)rnd(256);
        break;
    case 2: /* a JSON-ish byte */
        if (n) buf[rnd((uint32_t)n)] = bytes[rnd(sizeof(bytes) - 1)];
        break;
    case 3: { /* delete a run */
        size_t k = 1 + rnd(8);
        if (at + k > n) k = n - at;
        memmove(buf + at, buf + at + k, n - at - k);
        *len = n - k;
        break;
    }
    case 4: { /* duplicate a run */
        size_t k = 1 + rnd(24);
        if (at + k > n) k = n - at;
        memmove(buf + at + k, buf + at, n - at);
        *len = n + k;
        break;
    }
    default: { /* insert a fragment, or replace the next value with one */
        const char *f = FRAGS[rnd((uint32_t)frags)];
        size_t k = strlen(f), cut = 0;
        if (rnd(2)) /* replace the bytes up to the next , ] or } */
            while (at + cut < n && !strchr(",]}", buf[at + cut])) cut++;
        memmove(buf + at + k, buf + at + cut, n - at - cut);
        memcpy(buf + at, f, k);
        *len = n - cut + k;
        break;
    }
    }
}

/* A random state text, key by key, with values of every type in every
 * place (mostly the right one). */
static size_t random_text(char *buf, size_t cap) {
    static const char *const keys[] = {"v", "u", "tz", "cw", "oo", "co",
                                       "cd", "s", "f", "r", "x", "\\u0066"};
    static const char *const good[] = {
        "1", "\"u-1\"", "\"Asia/Shanghai\"", "[96,[600,660,900,960],[20812]]",
        "1", "[\"sms\",\"email\"]", "[null,1793520000,5]",
        "[\"e1\",1793520000,\"e2\",5]",
        "[[\"t-1\",\"r\",\"e\",\"ty\",1,1,1,0,2,3,4,5,6,0,null,0,null,"
        "\"{}\",\"p\",1,\"r-1\",\"sms\",\"tpl\",7,8]]",
        "[[\"w\",\"e2\",\"reg\",1,\"{}\",2,3,4,5]]", "[]", "[]"};
    size_t n = 0;
    int nkeys = 2 + (int)rnd(12);
    n += (size_t)snprintf(buf + n, cap - n, "{\"v\":1,\"u\":\"u\"");
    for (int i = 0; i < nkeys && n + 600 < cap; i++) {
        int k = (int)rnd(12);
        const char *val;
        char field[512];
        if (rnd(3)) {
            val = good[k];
        } else if (rnd(2) || k < 7 || k > 9) {
            val = FRAGS[rnd(sizeof(FRAGS) / sizeof(FRAGS[0]) - 1)];
        } else { /* a list of one item with one field of another type */
            int nf = k == 7 ? 2 : k == 8 ? 25 : 9, bad = (int)rnd((uint32_t)nf);
            size_t m = 0;
            m += (size_t)snprintf(field + m, sizeof(field) - m, "[%s", k == 7 ? "" : "[");
            for (int j = 0; j < nf; j++) {
                const char *fv = j == bad ? FRAGS[rnd(sizeof(FRAGS) / sizeof(FRAGS[0]) - 1)]
                                 : (j < 4 && k != 7) || (k == 7 && j == 0) ? "\"a\""
                                                                           : "3";
                m += (size_t)snprintf(field + m, sizeof(field) - m, "%s%s", j ? "," : "", fv);
            }
            snprintf(field + m, sizeof(field) - m, "%s]", k == 7 ? "" : "]");
            val = field;
        }
        n += (size_t)snprintf(buf + n, cap - n, ",\"%s\":%s", keys[k], val);
    }
    n += (size_t)snprintf(buf + n, cap - n, "}");
    return n;
}

/* Nesting at jansson's limit (2048 values deep, the object around all
 * being 1) under an unknown key: arrays or objects, the innermost one
 * empty or holding a scalar. With verbose, prints each verdict. */
static void diff_depth(struct diff_stats *ds, int verbose) {
    static char buf[8 * 2100 + 64];
    for (int depth = 2044; depth <= 2050; depth++)
        for (int kind = 0; kind < 4; kind++) {
            int obj = kind & 1, scalar = kind & 2;
            size_t n = (size_t)sprintf(buf, "{\"v\":1,\"u\":\"x\",\"z\":");
            for (int i = 0; i < depth; i++)
                n += (size_t)sprintf(buf + n, "%s", obj ? "{\"k\":" : "[");
            n += (size_t)sprintf(buf + n, "%s", scalar ? "1" : obj ? "{}" : "[]");
            for (int i = 0; i < depth; i++)
                n += (size_t)sprintf(buf + n, "%s", obj ? "}" : "]");
            n += (size_t)sprintf(buf + n, "}");
            if (verbose) {
                struct fu_err e;
                struct user_state *st = state_decode(buf, n, &e);
                printf("%d %s, innermost %s: %s\n", depth + 2,
                       obj ? "objects" : "arrays", scalar ? "1" : "empty",
                       st ? "ok" : e.msg);
                user_state_free(st);
            }
            diff_one(buf, n, ds);
        }
}

static int run_diff(long iters, uint64_t seed) {
    static char buf[1 << 16];
    struct user_state *st = realistic_state();
    char *text = state_encode(st);
    size_t tlen = strlen(text);
    struct diff_stats ds = {0, 0, 0, 0, 0};

    /* every truncation of the realistic text */
    for (size_t i = 0; i <= tlen; i++) diff_one(text, i, &ds);
    diff_depth(&ds, 0);
    for (int i = 0; FRAGS[i]; i++) { /* each fragment as the whole text */
        diff_one(FRAGS[i], strlen(FRAGS[i]), &ds);
        snprintf(buf, sizeof(buf), "{\"v\":1,\"u\":\"u\",\"z\":%s}", FRAGS[i]);
        diff_one(buf, strlen(buf), &ds);
    }
    rng_state = seed;
    for (long it = 0; it < iters; it++) {
        size_t len;
        if (rnd(2)) {
            memcpy(buf, text, tlen);
            len = tlen;
        } else {
            len = random_text(buf, sizeof(buf) - 8192);
        }
        int muts = (int)rnd(4); /* 0 to 3 */
        for (int m = 0; m < muts && len + 4200 < sizeof(buf); m++) mutate(buf, &len);
        diff_one(buf, len, &ds);
    }
    printf("%ld texts: %ld read the same, %ld refused by both (same kind of "
           "message), %ld jansson NUL quirk, %ld differ\n",
           ds.cases, ds.both_ok, ds.both_refused, ds.nul_quirk, ds.mismatched);
    free(text);
    user_state_free(st);
    return ds.mismatched ? 1 : 0;
}

/* ---- Main ---- */

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "bench";
    struct user_state *st = realistic_state();
    char *text = state_encode(st);
    int rc = 0;

    if (!strcmp(mode, "show")) {
        printf("%s\n%zu bytes\n", text, strlen(text));
    } else if (!strcmp(mode, "bench")) {
        long n = argc > 2 ? atol(argv[2]) : 1000000;
        time_decode(old_state_decode, text, n / 20); /* warm up */
        time_decode(state_decode, text, n / 20);
        printf("state of %zu bytes, %ld decodes each\n", strlen(text), n);
        printf("old (jansson):  %.0f ns/decode\n",
               time_decode(old_state_decode, text, n));
        printf("new (one pass): %.0f ns/decode\n",
               time_decode(state_decode, text, n));
    } else if (!strcmp(mode, "old") || !strcmp(mode, "new")) {
        long n = argc > 2 ? atol(argv[2]) : 10000;
        time_decode(!strcmp(mode, "old") ? old_state_decode : state_decode,
                    text, n);
    } else if (!strcmp(mode, "depth")) {
        struct diff_stats ds = {0, 0, 0, 0, 0};
        diff_depth(&ds, 1);
        rc = ds.mismatched ? 1 : 0;
    } else if (!strcmp(mode, "diff")) {
        rc = run_diff(argc > 2 ? atol(argv[2]) : 200000,
                      argc > 3 ? strtoull(argv[3], NULL, 10) : 20261102);
    } else {
        fprintf(stderr, "usage: bench_codec [bench [N] | old N | new N | "
                        "diff [N [SEED]] | depth | show]\n");
        rc = 2;
    }
    free(text);
    user_state_free(st);
    return rc;
}
