/* test_policy.c -- policy loading: the shipped example, defaults, versions,
 * lifetime, and the golden suite of invalid policies.
 *
 * usage: test_policy [INVALID_DIR [POLICY_FILE]]
 * INVALID_DIR (default tests/policies/invalid) holds one directory per
 * case with policy.yaml and expected: the exact first error line, with the
 * file named "policy.yaml" (the case is loaded from memory under that
 * name). POLICY_FILE defaults to config/policy.yaml. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "policy.h"
#include "test.h"
#include "timeutil.h"

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) || !(buf = malloc((size_t)n + 1)) ||
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void print_diag(const struct fu_diag *d) {
    char line[1024];
    int n = d->n < d->cap ? d->n : d->cap;
    for (int i = 0; i < n; i++)
        printf("    %s\n", fu_err_str(&d->items[i], line, sizeof(line)));
}

/* ---- A fake event for the compiled conditions ---- */

struct field {
    const char *path;
    struct cond_value v;
};

static int fake_lookup(const void *ctx, const char *const *segs, int nsegs,
                       struct cond_value *out) {
    const struct field *tab = ctx;
    char path[256];
    size_t off = 0;

    path[0] = '\0';
    for (int i = 0; i < nsegs; i++)
        off += (size_t)snprintf(path + off, sizeof(path) - off, "%s%s",
                                i ? "." : "", segs[i]);
    out->type = CV_MISSING;
    for (int i = 0; tab[i].path; i++)
        if (!strcmp(tab[i].path, path)) *out = tab[i].v;
    return 0;
}

/* ---- The shipped example ---- */

static void test_example(const char *path, struct tzdb *db) {
    struct fu_diag d = {0, 0, NULL};
    struct policy *pol;

    TEST("example policy");
    pol = policy_load_file(path, db, &d);
    CHECK(pol != NULL);
    CHECK_INT(d.n, 0);
    if (!pol) {
        print_diag(&d);
        fu_diag_release(&d);
        return;
    }
    CHECK_STR(pol->file, path);
    CHECK_INT(strlen(pol->version), 16);
    CHECK_INT(strspn(pol->version, "0123456789abcdef"), 16);
    CHECK_INT(pol->refcount, 1);

    /* defaults */
    CHECK_STR(pol->default_tz_name, "Asia/Shanghai");
    CHECK(pol->default_tz != NULL);
    CHECK_INT(pol->call_window.days, 0x3f); /* mon..sat */
    CHECK_INT(pol->call_window.nranges, 2);
    CHECK_INT(pol->call_window.ranges[0].start, 9 * 60);
    CHECK_INT(pol->call_window.ranges[0].end, 12 * 60);
    CHECK_INT(pol->call_window.ranges[1].start, 14 * 60);
    CHECK_INT(pol->call_window.ranges[1].end, 20 * 60);
    CHECK_INT(pol->call_window.nexclude, 1);
    if (pol->call_window.nexclude == 1)
        CHECK_INT(pol->call_window.exclude[0],
                  time_days_from_civil(2026, 10, 1));
    CHECK_INT(pol->has_message_window, 1);
    CHECK_INT(pol->message_window.days, 0x7f);
    CHECK_INT(pol->message_window.nranges, 1);
    CHECK_INT(pol->message_window.ranges[0].start, 8 * 60);
    CHECK_INT(pol->message_window.ranges[0].end, 21 * 60);
    CHECK_INT(pol->message_window.nexclude, 0);
    CHECK_INT(pol->dedupe_for, 7 * 86400);

    /* caps */
    CHECK_INT(pol->ncaps, 3);
    if (pol->ncaps == 3) {
        CHECK_STR(pol->caps[0].id, "calls-per-month");
        CHECK_INT(pol->caps[0].count, CAP_COUNT_CALLBACKS);
        CHECK(pol->caps[0].channel == NULL);
        CHECK_INT(pol->caps[0].limit, 2);
        CHECK_INT(pol->caps[0].per, 30 * 86400);
        CHECK_STR(pol->caps[1].id, "sms-per-week");
        CHECK_INT(pol->caps[1].count, CAP_COUNT_CHANNEL);
        CHECK_STR(pol->caps[1].channel, "sms");
        CHECK_INT(pol->caps[1].limit, 3);
        CHECK_INT(pol->caps[1].per, 7 * 86400);
        CHECK_STR(pol->caps[2].id, "surveys-per-month");
        CHECK_INT(pol->caps[2].count, CAP_COUNT_MESSAGES);
        CHECK(pol->caps[2].channel == NULL);
    }

    /* outcomes */
    CHECK_INT(pol->outcomes.present, 1);
    CHECK_INT(pol->outcomes.retry_on, (1u << OUTCOME_NO_ANSWER) |
                                          (1u << OUTCOME_BUSY) |
                                          (1u << OUTCOME_FAILED));
    CHECK_INT(pol->outcomes.opt_out_on,
              (1u << OUTCOME_REFUSED) | (1u << OUTCOME_OPT_OUT));
    CHECK_INT(pol->outcomes.max_attempts, 3);
    CHECK_INT(pol->outcomes.nbackoff, 2);
    if (pol->outcomes.nbackoff == 2) {
        CHECK_INT(pol->outcomes.backoff[0], 2 * 3600);
        CHECK_INT(pol->outcomes.backoff[1], 86400);
    }
    CHECK_INT(pol->outcomes.cooldown_after_answered, 14 * 86400);

    /* rules */
    CHECK_INT(pol->nrules, 5);
    CHECK_INT(pol->longest_cap, 30 * 86400);
    CHECK_INT(pol->require_consent, 0);
    if (pol->nrules != 5) goto out;

    const struct rule *r = &pol->rules[0];
    CHECK_STR(r->id, "large-transfer");
    CHECK_STR(r->description, "Confirm large transfers went well");
    CHECK_INT(r->non, 1);
    CHECK_STR(r->on[0], "transaction");
    CHECK(r->when != NULL);
    CHECK_INT(r->delay, 2 * 3600);
    CHECK_INT(r->expires_after, 72 * 3600);
    CHECK_INT(r->priority, 50);
    CHECK_STR(r->priority_from, "data.risk_score");
    CHECK_INT(r->ignore_cooldown, 0);
    CHECK_STR(r->script, "txn_followup_v1");
    CHECK_INT(r->ncontext, 2);
    if (r->ncontext == 2) {
        CHECK_STR(r->context[0], "data.amount");
        CHECK_STR(r->context[1], "data.currency");
    }
    CHECK_INT(r->has_reminder, 1);
    CHECK_STR(r->reminder_channel, "sms");
    CHECK_STR(r->reminder_template, "call_notice_txn");
    CHECK_INT(r->reminder_lead, 3600);
    CHECK_INT(r->has_cap, 1);
    CHECK_INT(r->cap_limit, 1);
    CHECK_INT(r->cap_per, 7 * 86400);
    CHECK_INT(r->on_cap, ON_CAP_DROP);
    CHECK_INT(r->nsupersedes, 0);
    CHECK_INT(r->has_repeat, 0);

    /* its `when` compiled: status, amount, kind, any(currency) */
    {
        struct field ok[] = {
            {"data.status", {CV_STRING, 0, 0, "succeeded"}},
            {"data.amount", {CV_NUMBER, 0, 6200, NULL}},
            {"data.kind", {CV_STRING, 0, 0, "withdrawal"}},
            {NULL, {CV_MISSING, 0, 0, NULL}},
        };
        CHECK_INT(cond_eval(r->when, fake_lookup, ok), 1);
        ok[1].v.num = 4999;
        CHECK_INT(cond_eval(r->when, fake_lookup, ok), 0);
        ok[1].v.num = 5000;
        ok[2].v.str = "payment";
        CHECK_INT(cond_eval(r->when, fake_lookup, ok), 0);
        ok[2].v.str = "transfer";
        struct field usd[] = {
            ok[0], ok[1], ok[2],
            {"data.currency", {CV_STRING, 0, 0, "USD"}},
            {NULL, {CV_MISSING, 0, 0, NULL}},
        };
        CHECK_INT(cond_eval(r->when, fake_lookup, usd), 0);
        usd[3].v.str = "CNY";
        CHECK_INT(cond_eval(r->when, fake_lookup, usd), 1);
    }

    r = &pol->rules[1];
    CHECK_STR(r->id, "complaint-resolved");
    CHECK_INT(r->non, 1); /* given as a single string */
    CHECK_STR(r->on[0], "complaint.resolved");
    CHECK(r->when == NULL);
    CHECK_INT(r->delay, 86400);
    CHECK_INT(r->expires_after, 5 * 86400);
    CHECK_INT(r->priority, 90);
    CHECK_STR(r->script, "complaint_followup_v1");
    CHECK_INT(r->ncontext, 0);
    CHECK_INT(r->has_reminder, 0);
    CHECK_INT(r->has_cap, 0);
    CHECK_INT(r->nsupersedes, 1);
    if (r->nsupersedes == 1) CHECK_INT(r->supersedes[0], 0);

    r = &pol->rules[2];
    CHECK_STR(r->id, "welcome-week");
    CHECK_STR(r->on[0], "user.registered");
    CHECK_INT(r->delay, 7 * 86400);
    CHECK_INT(r->expires_after, 3 * 86400);
    CHECK_INT(r->priority, 20);
    CHECK_STR(r->script, "welcome_v1");
    CHECK_INT(r->has_repeat, 1);
    CHECK_INT(r->repeat_every, 90 * 86400);
    CHECK_INT(r->repeat_times, 4);
    CHECK_INT(r->has_cap, 1);
    CHECK_INT(r->cap_limit, 1);
    CHECK_INT(r->cap_per, 30 * 86400);
    CHECK_INT(r->on_cap, ON_CAP_DEFER);
    {
        struct field t[] = {{"data.channel", {CV_STRING, 0, 0, "test"}},
                            {NULL, {CV_MISSING, 0, 0, NULL}}};
        CHECK_INT(cond_eval(r->when, fake_lookup, t), 0);
        t[0].v.str = "app";
        CHECK_INT(cond_eval(r->when, fake_lookup, t), 1);
    }

    r = &pol->rules[3]; /* spec 4.1: a rule on outcomes */
    CHECK_STR(r->id, "unhappy-escalation");
    CHECK_STR(r->on[0], "callback.outcome");
    CHECK_INT(r->ignore_cooldown, 1);
    CHECK_INT(r->priority, 95);
    CHECK(r->priority_from == NULL);
    {
        struct field t[] = {{"data.outcome", {CV_STRING, 0, 0, "answered"}},
                            {"data.satisfaction", {CV_NUMBER, 0, 2, NULL}},
                            {"task.rule_id", {CV_STRING, 0, 0, "large-transfer"}},
                            {NULL, {CV_MISSING, 0, 0, NULL}}};
        CHECK_INT(cond_eval(r->when, fake_lookup, t), 1);
        t[2].v.str = "unhappy-escalation";
        CHECK_INT(cond_eval(r->when, fake_lookup, t), 0);
        t[2].v.str = "large-transfer";
        t[1].v.num = 3;
        CHECK_INT(cond_eval(r->when, fake_lookup, t), 0);
    }

    r = &pol->rules[4]; /* spec 4.2: a follow-up by message */
    CHECK_STR(r->id, "welcome-survey");
    CHECK_INT(r->has_callback, 0);
    CHECK_INT(r->has_message, 1);
    CHECK_INT(r->has_reminder, 0);
    CHECK_STR(r->message.channel, "sms");
    CHECK_STR(r->message.template, "welcome_survey_v1");
    CHECK_INT(r->message.delay, 7 * 86400);
    CHECK_INT(r->message.expires_after, 3 * 86400);
    CHECK_INT(r->message.ncontext, 1);
    if (r->message.ncontext == 1)
        CHECK_STR(r->message.context[0], "data.channel");
    CHECK_INT(r->ncontext, 0);
    CHECK_INT(r->has_cap, 1);
    CHECK_INT(pol->rules[0].has_callback, 1);
    CHECK_INT(pol->rules[0].has_message, 0);
    CHECK_INT(policy_uses_channel(pol, "sms"), 1);
    CHECK_INT(policy_uses_channel(pol, "email"), 0);

    /* lookups */
    CHECK_INT(policy_rule_index(pol, "welcome-week"), 2);
    CHECK_INT(policy_rule_index(pol, "nope"), -1);
    CHECK(policy_rule(pol, "complaint-resolved") == &pol->rules[1]);
    CHECK(policy_rule(pol, "nope") == NULL);

    /* retain / release */
    CHECK(policy_retain(pol) == pol);
    CHECK_INT(pol->refcount, 2);
    policy_release(pol);
    CHECK_INT(pol->refcount, 1);
    CHECK_STR(pol->rules[0].id, "large-transfer");
    policy_retain(NULL);
    policy_release(NULL);
out:
    policy_release(pol);
    fu_diag_release(&d);
}

/* ---- Versions ---- */

static void test_version(const char *path, struct tzdb *db) {
    struct fu_diag d = {0, 0, NULL};
    size_t len;
    char *buf = slurp(path, &len);

    TEST("version");
    CHECK(buf != NULL);
    if (!buf) return;
    struct policy *a = policy_load_file(path, db, &d);
    struct policy *b = policy_load_buffer("x.yaml", buf, len, db, &d);
    /* one byte of a comment changed: same rules, another version */
    char *hash = strchr(buf, '#');
    CHECK(hash != NULL && hash[1] == ' ');
    hash[1] = '!';
    struct policy *c = policy_load_buffer("x.yaml", buf, len, db, &d);
    CHECK_INT(d.n, 0);
    CHECK(a && b && c);
    if (a && b && c) {
        CHECK_STR(a->version, b->version);
        CHECK(strcmp(a->version, c->version) != 0);
        CHECK_INT(c->nrules, a->nrules);
    }
    policy_release(a);
    policy_release(b);
    policy_release(c);
    free(buf);
    fu_diag_release(&d);
}

/* ---- Defaults of a minimal policy, and error collection ---- */

static const char minimal[] =
    "version: 1\n"
    "defaults:\n"
    "  timezone: UTC\n"
    "  call_window: {hours: [\"09:00-17:00\"]}\n"
    "rules:\n"
    "  - id: r1\n"
    "    on: x\n"
    "    callback: {expires_after: 1d}\n";

static void test_minimal(struct tzdb *db) {
    struct fu_diag d = {0, 0, NULL};
    struct policy *pol;

    TEST("minimal");
    pol = policy_load_buffer("min.yaml", minimal, strlen(minimal), db, &d);
    CHECK(pol != NULL);
    if (!pol) {
        print_diag(&d);
        fu_diag_release(&d);
        return;
    }
    CHECK_INT(pol->call_window.days, 0x7f);
    CHECK_INT(pol->has_message_window, 0);
    CHECK_INT(pol->dedupe_for, 7 * 86400);
    CHECK_INT(pol->ncaps, 0);
    CHECK_INT(pol->outcomes.present, 0);
    CHECK_INT(pol->outcomes.max_attempts, 1);
    CHECK_INT(pol->outcomes.retry_on, 0);
    CHECK_INT(pol->outcomes.nbackoff, 0);
    CHECK_INT(pol->outcomes.cooldown_after_answered, 0);
    CHECK_INT(pol->longest_cap, 0);
    CHECK_INT(pol->nrules, 1);
    const struct rule *r = &pol->rules[0];
    CHECK(r->description == NULL);
    CHECK(r->when == NULL);
    CHECK_INT(r->delay, 0);
    CHECK_INT(r->expires_after, 86400);
    CHECK_INT(r->priority, 0);
    CHECK(r->script == NULL);
    CHECK_INT(r->ncontext, 0);
    CHECK_INT(r->has_reminder, 0);
    CHECK_INT(r->has_cap, 0);
    CHECK_INT(r->on_cap, ON_CAP_DROP);
    CHECK_INT(r->has_repeat, 0);
    policy_release(pol);

    /* every problem is reported, sorted by position */
    static const char bad[] =
        "version: 1\n"
        "defaults:\n"
        "  timezone: UTC\n"
        "  call_window: {hours: [\"09:00-17:00\"], days: [mon, funday]}\n"
        "rules:\n"
        "  - id: r1\n"
        "    on: x\n"
        "    callback: {expires_after: 0s, dely: 1h}\n"
        "  - id: r1\n"
        "    on: x\n"
        "    callback: {expires_after: 1d}\n"
        "    supersedes: [r2]\n";
    pol = policy_load_buffer("bad.yaml", bad, strlen(bad), db, &d);
    CHECK(pol == NULL);
    CHECK_INT(d.n, 5);
    if (d.n == 5) {
        CHECK_INT(d.items[0].line, 4);  /* funday */
        CHECK_INT(d.items[1].line, 8);  /* expires_after 0s */
        CHECK_INT(d.items[2].line, 8);  /* dely */
        CHECK(d.items[1].col < d.items[2].col);
        CHECK_INT(d.items[3].line, 9);  /* duplicate id */
        CHECK_INT(d.items[4].line, 12); /* unknown r2 */
        CHECK_STR(d.items[4].file, "bad.yaml");
        CHECK_INT(d.items[4].code, FU_EINVAL);
    } else {
        print_diag(&d);
    }
    fu_diag_release(&d);

    /* a missing file */
    pol = policy_load_file("/nonexistent/policy.yaml", db, &d);
    CHECK(pol == NULL);
    CHECK_INT(d.n, 1);
    if (d.n == 1) {
        CHECK_STR(d.items[0].file, "/nonexistent/policy.yaml");
        CHECK(strstr(d.items[0].msg, "cannot open") != NULL);
    }
    fu_diag_release(&d);
}

/* ---- The golden suite ---- */

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_golden(const char *dir, struct tzdb *db) {
    DIR *dh = opendir(dir);
    char *names[512];
    int n = 0;

    TEST("golden");
    CHECK(dh != NULL);
    if (!dh) {
        printf("    cannot open %s\n", dir);
        return;
    }
    struct dirent *de;
    while ((de = readdir(dh)) && n < 512)
        if (de->d_name[0] != '.') names[n++] = strdup(de->d_name);
    closedir(dh);
    qsort(names, (size_t)n, sizeof(names[0]), cmp_names);
    CHECK(n >= 25);

    for (int i = 0; i < n; i++) {
        char path[1024], want[1024], got[1024];
        size_t len, wlen;
        struct fu_diag d = {0, 0, NULL};

        TEST(names[i]);
        snprintf(path, sizeof(path), "%s/%s/expected", dir, names[i]);
        char *exp = slurp(path, &wlen);
        snprintf(path, sizeof(path), "%s/%s/policy.yaml", dir, names[i]);
        char *buf = slurp(path, &len);
        CHECK(exp && buf);
        if (exp && buf) {
            snprintf(want, sizeof(want), "%.*s", (int)strcspn(exp, "\n"),
                     exp);
            struct policy *pol =
                policy_load_buffer("policy.yaml", buf, len, db, &d);
            CHECK(pol == NULL);
            policy_release(pol);
            CHECK(d.n >= 1);
            if (d.n >= 1) {
                fu_err_str(&d.items[0], got, sizeof(got));
                CHECK_STR(got, want);
            }
        }
        free(exp);
        free(buf);
        free(names[i]);
        fu_diag_release(&d);
    }
}

int main(int argc, char **argv) {
    const char *invalid = argc > 1 ? argv[1] : "tests/policies/invalid";
    const char *example = argc > 2 ? argv[2] : "config/policy.yaml";
    struct tzdb *db = tzdb_new(NULL);

    CHECK(db != NULL);
    if (!db) return test_report();
    test_example(example, db);
    test_version(example, db);
    test_minimal(db);
    test_golden(invalid, db);
    tzdb_free(db);
    return test_report();
}
