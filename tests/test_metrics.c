/* test_metrics.c -- lib/metrics.c: the exact exposition text of each
 * metric type, label escaping, histogram buckets, clearing. */
#include <stdlib.h>

#include "metrics.h"
#include "test.h"

static void test_counter_gauge(void) {
    struct metrics *m = metrics_new();
    char labels[128] = "";
    TEST("counter and gauge text");
    CHECK(metrics_declare(m, "fu_events_total", METRIC_COUNTER, "Events.", NULL, 0) == 0);
    CHECK(metrics_declare(m, "fu_events_total", METRIC_COUNTER, "again", NULL, 0) == -1);
    CHECK(metrics_declare(m, "fu_depth", METRIC_GAUGE, "Depth.", NULL, 0) == 0);
    metrics_label(labels, sizeof(labels), "type", "transaction");
    metrics_inc(m, "fu_events_total", labels, 2);
    metrics_inc(m, "fu_events_total", labels, 3);
    metrics_inc(m, "fu_events_total", "type=\"other\"", 1);
    metrics_put(m, "fu_depth", NULL, 7);
    metrics_put(m, "fu_depth", NULL, 4.5);
    metrics_inc(m, "fu_undeclared", NULL, 1); /* ignored */
    char *text = metrics_render(m);
    CHECK_STR(text, "# HELP fu_events_total Events.\n"
                    "# TYPE fu_events_total counter\n"
                    "fu_events_total{type=\"transaction\"} 5\n"
                    "fu_events_total{type=\"other\"} 1\n"
                    "# HELP fu_depth Depth.\n"
                    "# TYPE fu_depth gauge\n"
                    "fu_depth 4.5\n");
    free(text);
    TEST("clear");
    metrics_clear(m, "fu_events_total");
    text = metrics_render(m);
    CHECK(text && !strstr(text, "fu_events_total{"));
    free(text);
    metrics_free(m);
    metrics_free(NULL);
}

static void test_histogram(void) {
    static const double b[] = {0.1, 1, 10};
    struct metrics *m = metrics_new();
    TEST("histogram text");
    CHECK(metrics_declare(m, "fu_seconds", METRIC_HISTOGRAM, "Latency.", b, 3) == 0);
    struct metric_series *s = metrics_series(m, "fu_seconds", "op=\"load\"");
    CHECK(s != NULL);
    CHECK(s == metrics_series(m, "fu_seconds", "op=\"load\""));
    metrics_observe(s, 0.05);
    metrics_observe(s, 0.1); /* on a bound: counted in it (le) */
    metrics_observe(s, 5);
    metrics_observe(s, 50);
    char *text = metrics_render(m);
    CHECK_STR(text, "# HELP fu_seconds Latency.\n"
                    "# TYPE fu_seconds histogram\n"
                    "fu_seconds_bucket{op=\"load\",le=\"0.1\"} 2\n"
                    "fu_seconds_bucket{op=\"load\",le=\"1\"} 2\n"
                    "fu_seconds_bucket{op=\"load\",le=\"10\"} 3\n"
                    "fu_seconds_bucket{op=\"load\",le=\"+Inf\"} 4\n"
                    "fu_seconds_sum{op=\"load\"} 55.15\n"
                    "fu_seconds_count{op=\"load\"} 4\n");
    free(text);
    metrics_free(m);
}

static void test_labels(void) {
    char buf[64] = "";
    TEST("label escaping");
    metrics_label(buf, sizeof(buf), "a", "x\"y\\z\nw");
    CHECK_STR(buf, "a=\"x\\\"y\\\\z\\nw\"");
    metrics_label(buf, sizeof(buf), "b", "2");
    CHECK_STR(buf, "a=\"x\\\"y\\\\z\\nw\",b=\"2\"");
    char small[8] = "";
    metrics_label(small, sizeof(small), "key", "a long value");
    CHECK(strlen(small) < sizeof(small));
}

int main(void) {
    test_counter_gauge();
    test_histogram();
    test_labels();
    return test_report();
}
