/* test_cond.c -- the condition language: parsing, errors, evaluation. */
#include <stdio.h>
#include <string.h>

#include "cond.h"
#include "test.h"

/* ---- A fake event: a table of dotted paths and values ---- */

struct field {
    const char *path;
    struct cond_value v;
};

static const struct field fields[] = {
    {"type", {CV_STRING, 0, 0, "transaction"}},
    {"data.amount", {CV_NUMBER, 0, 6200.0, NULL}},
    {"data.fee", {CV_NUMBER, 0, -1.5, NULL}},
    {"data.status", {CV_STRING, 0, 0, "succeeded"}},
    {"data.kind", {CV_STRING, 0, 0, "transfer"}},
    {"data.note", {CV_STRING, 0, 0, "caf\xc3\xa9 \"q\""}},
    {"data.vip", {CV_BOOL, 1, 0, NULL}},
    {"data.flagged", {CV_BOOL, 0, 0, NULL}},
    {"data.ref", {CV_NULL, 0, 0, NULL}},
    {"data.meta", {CV_OTHER, 0, 0, NULL}},
    {"data.user-name_2", {CV_STRING, 0, 0, "B"}},
    {"data.amount_str", {CV_STRING, 0, 0, "6200"}},
    {NULL, {CV_MISSING, 0, 0, NULL}},
};

static int lookups;

static int fake_lookup(const void *ctx, const char *const *segs, int nsegs,
                       struct cond_value *out) {
    const struct field *tab = ctx;
    char path[256];
    size_t off = 0;

    lookups++;
    path[0] = '\0';
    for (int i = 0; i < nsegs; i++)
        off += (size_t)snprintf(path + off, sizeof(path) - off, "%s%s",
                                i ? "." : "", segs[i]);
    for (int i = 0; tab[i].path; i++) {
        if (!strcmp(tab[i].path, path)) {
            *out = tab[i].v;
            return 0;
        }
    }
    out->type = CV_MISSING;
    return 0;
}

/* -1 parse error, else the truth of text over fields. */
static int ev(const char *text) {
    struct fu_err err;
    int off = -1;
    struct cond *c = cond_parse(text, &off, &err);
    if (!c) {
        printf("    unexpected parse error in '%s': %s (at %d)\n", text,
               err.msg, off);
        return -1;
    }
    int r = cond_eval(c, fake_lookup, fields);
    cond_free(c);
    return r;
}

/* ---- Evaluation, table-driven ---- */

struct eval_case {
    const char *text;
    int want;
};

static const struct eval_case eval_cases[] = {
    /* numbers */
    {"data.amount == 6200", 1},
    {"data.amount == 6200.0", 1},
    {"data.amount == 6.2e3", 1},
    {"data.amount != 6200", 0},
    {"data.amount != 1", 1},
    {"data.amount > 5000", 1},
    {"data.amount > 6200", 0},
    {"data.amount >= 6200", 1},
    {"data.amount < 6200", 0},
    {"data.amount <= 6200", 1},
    {"data.amount < 1e4", 1},
    {"data.fee < 0", 1},
    {"data.fee == -1.5", 1},
    {"data.fee >= -1.5", 1},
    {"data.amount>=5000", 1},
    {"  data.amount   >=   5000  ", 1},
    /* strings */
    {"data.status == \"succeeded\"", 1},
    {"data.status != \"succeeded\"", 0},
    {"data.status != \"failed\"", 1},
    {"data.status > \"a\"", 1},
    {"data.status < \"t\"", 1},
    {"data.status >= \"succeeded\"", 1},
    {"data.status <= \"succeedea\"", 0},
    {"data.status <= \"succeedee\"", 1},
    {"data.user-name_2 < \"a\"", 1}, /* byte-wise: 'B' < 'a' */
    {"data.note == \"caf\\u00e9 \\\"q\\\"\"", 1},
    {"data.note == \"caf\xc3\xa9 \\\"q\\\"\"", 1},
    {"type == \"transaction\"", 1},
    /* bool and null */
    {"data.vip == true", 1},
    {"data.vip != true", 0},
    {"data.vip == false", 0},
    {"data.flagged == false", 1},
    {"data.flagged != true", 1},
    {"data.ref == null", 1},
    {"data.ref != null", 0},
    {"data.amount != null", 1},
    /* in / not in */
    {"data.kind in [\"transfer\", \"withdrawal\"]", 1},
    {"data.kind in [\"withdrawal\"]", 0},
    {"data.kind not in [\"withdrawal\"]", 1},
    {"data.kind not in [\"transfer\", \"x\"]", 0},
    {"data.kind   not   in   [ \"x\" ]", 1},
    {"data.amount in [1, 6200, \"a\"]", 1},
    {"data.amount in []", 0},
    {"data.amount not in []", 1},
    {"data.vip in [true]", 1},
    {"data.ref in [null, 1]", 1},
    {"data.amount in [\"6200\"]", 0}, /* no coercion */
    /* type mismatch: false, but != true */
    {"data.amount == \"6200\"", 0},
    {"data.amount_str == 6200", 0},
    {"data.amount != \"6200\"", 1},
    {"data.amount_str > 5", 0},
    {"data.amount > \"5\"", 0},
    {"data.vip == 1", 0},
    {"data.vip != 1", 1},
    {"data.meta == null", 0},
    {"data.meta != null", 1},
    {"data.meta > 1", 0},
    /* missing: every comparison false */
    {"data.nope == 1", 0},
    {"data.nope != 1", 0},
    {"data.nope != null", 0},
    {"data.nope > 1", 0},
    {"data.nope <= 1", 0},
    {"data.nope in [1]", 0},
    {"data.nope not in [1]", 0},
    {"data.amount.deeper == 1", 0},
    /* exists / missing */
    {"data.amount exists", 1},
    {"data.ref exists", 1},
    {"data.meta exists", 1},
    {"data.nope exists", 0},
    {"data.nope missing", 1},
    {"data.amount missing", 0},
    {"data exists", 0}, /* the fake table has no entry for the object */
    {NULL, 0},
};

static void test_eval(void) {
    TEST("eval");
    for (int i = 0; eval_cases[i].text; i++) {
        int got = ev(eval_cases[i].text);
        CHECK_INT(got, eval_cases[i].want);
        if (got != eval_cases[i].want)
            printf("    in: %s\n", eval_cases[i].text);
    }
}

/* ---- Parse errors: message prefix and offset ---- */

struct err_case {
    const char *text;
    int offset;
    const char *msg; /* the start of the message */
};

static const struct err_case err_cases[] = {
    {"", 0, "empty condition"},
    {"   ", 3, "empty condition"},
    {"== 5", 0, "expected a field path like data.amount"},
    {"data. == 5", 5, "expected a field name after '.' in 'data.'"},
    {"data..x == 5", 5, "expected a field name after '.'"},
    {".x == 5", 0, "expected a field path"},
    {"data.amount", 11,
     "expected an operator (== != > >= < <= in, not in, exists, missing) "
     "after 'data.amount'"},
    {"data.amount   ", 14, "expected an operator"},
    {"data.amount ~ 5", 12,
     "expected an operator (== != > >= < <= in, not in, exists, missing) "
     "after 'data.amount', got '~'"},
    {"data.amount is 5", 12, "expected an operator"},
    {"data.amount = 5", 12, "'=' is not an operator: write '=='"},
    {"data.amount => 5", 12, "'=>' is not an operator: write '>='"},
    {"data.amount =< 5", 12, "'=<' is not an operator: write '<='"},
    {"data.amount <> 5", 12, "'<>' is not an operator: write '!='"},
    {"data.kind not [\"a\"]", 10, "'not' must be followed by 'in'"},
    {"data.amount >=", 14, "expected a value after '>='"},
    {"data.amount == ", 15, "expected a value after '=='"},
    {"data.status == succeeded", 15,
     "expected a value after '==' (a number, a \"string\", true, false or "
     "null): quote text, e.g. \"succeeded\""},
    {"data.status == 'ok'", 15,
     "strings take double quotes: write \"ok\""},
    {"data.status == \"ok", 15, "unterminated string"},
    {"data.status == \"a\\qb\"", 17, "bad escape '\\q'"},
    {"data.status == \"\\u12\"", 16, "bad escape '\\u'"},
    {"data.status == \"\\ud800\"", 16, "bad escape: \\ud800"},
    {"data.amount == 12abc", 15, "bad number '12abc'"},
    {"data.amount == 1.", 15, "bad number '1.'"},
    {"data.amount == 1e", 15, "bad number '1e'"},
    {"data.amount == -", 15, "expected digits after '-'"},
    {"data.amount == 5 and data.x == 1", 17,
     "unexpected 'and' after the value"},
    {"data.kind in \"transfer\"", 13, "'in' needs a list like [\"a\", \"b\"]"},
    {"data.kind in", 12, "'in' needs a list"},
    {"data.kind not in 5", 17, "'not in' needs a list"},
    {"data.kind == [\"a\"]", 13, "a list goes only after 'in' or 'not in'"},
    {"data.kind in [\"a\", [\"b\"]]", 19, "lists cannot nest"},
    {"data.kind in [\"a\",]", 18, "expected a value before ']'"},
    {"data.kind in [\"a\" \"b\"]", 18, "expected ',' or ']' in the list"},
    {"data.kind in [\"a\", ", 19, "unterminated list"},
    {"data.kind in [\"a\"", 17, "unterminated list"},
    {"data.kind in [ok]", 14, "expected a value after 'in'"},
    {"data.x exists 1", 14, "unexpected '1' after 'exists'"},
    {"data.x missing now", 15, "unexpected 'now' after 'missing'"},
    {"data.vip > true", 11, "'>' compares numbers or strings, not true"},
    {"data.ref <= null", 12, "'<=' compares numbers or strings, not null"},
    {NULL, 0, NULL},
};

static void test_errors(void) {
    TEST("parse errors");
    for (int i = 0; err_cases[i].text; i++) {
        const struct err_case *ec = &err_cases[i];
        struct fu_err err;
        int off = -1;
        fu_err_clear(&err);
        struct cond *c = cond_parse(ec->text, &off, &err);
        CHECK(c == NULL);
        cond_free(c);
        CHECK_INT(err.code, FU_EINVAL);
        CHECK_INT(off, ec->offset);
        int ok = !strncmp(err.msg, ec->msg, strlen(ec->msg));
        CHECK(ok);
        if (!ok || off != ec->offset)
            printf("    in: '%s'\n    msg: %s\n", ec->text, err.msg);
    }
    /* err and err_offset may be NULL */
    CHECK(cond_parse("data.x", NULL, NULL) == NULL);
}

/* ---- Groups and nesting ---- */

static struct cond *leaf(const char *text) {
    struct fu_err err;
    int off;
    return cond_parse(text, &off, &err);
}

static void test_groups(void) {
    TEST("groups");
    struct cond *all = cond_new_group(COND_ALL);
    struct cond *any = cond_new_group(COND_ANY);
    struct cond *not = cond_new_group(COND_NOT);

    CHECK(all && any && not);
    CHECK_INT(cond_eval(all, fake_lookup, fields), 1); /* empty ALL */
    CHECK_INT(cond_eval(any, fake_lookup, fields), 0); /* empty ANY */
    CHECK_INT(cond_eval(NULL, fake_lookup, fields), 1);
    CHECK(cond_new_group(COND_LEAF) == NULL);

    /* any(amount < 10, kind == "transfer") */
    CHECK_INT(cond_group_add_take(any, leaf("data.amount < 10")), 0);
    CHECK_INT(cond_eval(any, fake_lookup, fields), 0);
    CHECK_INT(cond_group_add_take(any, leaf("data.kind == \"transfer\"")), 0);
    CHECK_INT(cond_eval(any, fake_lookup, fields), 1);

    /* not(status == "failed") */
    CHECK_INT(cond_group_add_take(not, leaf("data.status == \"failed\"")), 0);
    CHECK_INT(cond_eval(not, fake_lookup, fields), 1);
    CHECK_INT(cond_group_add_take(not, leaf("data.x exists")), -1);

    /* all(any(...), not(...), amount >= 5000) */
    CHECK_INT(cond_group_add_take(all, any), 0);
    CHECK_INT(cond_group_add_take(all, not), 0);
    CHECK_INT(cond_group_add_take(all, leaf("data.amount >= 5000")), 0);
    CHECK_INT(cond_eval(all, fake_lookup, fields), 1);
    CHECK_INT(cond_group_add_take(all, leaf("data.nope != 1")), 0);
    CHECK_INT(cond_eval(all, fake_lookup, fields), 0);

    /* short circuit: ALL stops at the first false */
    lookups = 0;
    struct cond *sc = cond_new_group(COND_ALL);
    cond_group_add_take(sc, leaf("data.nope == 1"));
    cond_group_add_take(sc, leaf("data.amount == 1"));
    CHECK_INT(cond_eval(sc, fake_lookup, fields), 0);
    CHECK_INT(lookups, 1);
    cond_free(sc);

    /* not(not(x)) == x, deep nesting */
    struct cond *c = leaf("data.vip == true");
    for (int i = 0; i < 10; i++) {
        struct cond *n = cond_new_group(COND_NOT);
        CHECK_INT(cond_group_add_take(n, c), 0);
        c = n;
    }
    CHECK_INT(cond_eval(c, fake_lookup, fields), 1);
    cond_free(c);

    /* adding NULL or to a leaf fails and frees the child */
    struct cond *l = leaf("data.x exists");
    CHECK_INT(cond_group_add_take(l, leaf("data.y exists")), -1);
    CHECK_INT(cond_group_add_take(all, NULL), -1);
    cond_free(l);
    cond_free(all);
    cond_free(NULL);
}

int main(void) {
    test_eval();
    test_errors();
    test_groups();
    return test_report();
}
