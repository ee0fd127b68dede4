/* test.h -- the whole unit-test framework: CHECK counts, test_report sums.
 *
 * Every assertion goes through CHECK so none can print FAILED without
 * being counted. A test binary ends with `return test_report();`, which
 * prints "N passed, N failed" (tests/run.sh adds these up). */
#ifndef FU_TEST_H
#define FU_TEST_H

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed;
static const char *test_current = "";

#define TEST(name) (test_current = (name))

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (cond) {                                                        \
            test_passed++;                                                 \
        } else {                                                           \
            test_failed++;                                                 \
            printf("%s:%d: FAILED [%s]: %s\n", __FILE__, __LINE__,        \
                   test_current, #cond);                                   \
        }                                                                  \
    } while (0)

/* Equality of two C strings, printing both when they differ. */
#define CHECK_STR(a, b)                                                    \
    do {                                                                   \
        const char *check_a_ = (a), *check_b_ = (b);                       \
        int check_ok_ = check_a_ && check_b_ && !strcmp(check_a_, check_b_); \
        CHECK(check_ok_ && #a " == " #b);                                  \
        if (!check_ok_)                                                    \
            printf("    got:      %s\n    expected: %s\n",                 \
                   check_a_ ? check_a_ : "(null)",                         \
                   check_b_ ? check_b_ : "(null)");                        \
    } while (0)

#define CHECK_INT(a, b)                                                    \
    do {                                                                   \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);    \
        CHECK(check_a_ == check_b_ && #a " == " #b);                       \
        if (check_a_ != check_b_)                                          \
            printf("    got: %lld  expected: %lld\n", check_a_, check_b_); \
    } while (0)

static inline int test_report(void) {
    printf("%d passed, %d failed\n", test_passed, test_failed);
    return test_failed ? 1 : 0;
}

#endif
