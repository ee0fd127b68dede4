/* metrics.h -- counters, gauges and histograms with labels, rendered in
 * the Prometheus text exposition format.
 *
 * Pure and thread-safe: the daemon's loop updates series while the HTTP
 * thread renders them; a mutex guards both. A family is declared once
 * (name, type, help, histogram buckets); a series is a family plus a label
 * set written as Prometheus label pairs (`type="transaction"`), made on
 * first use and kept until the family is cleared. */
#ifndef FU_METRICS_H
#define FU_METRICS_H

#include <stddef.h>

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metrics;
struct metric_series;

/* NULL on ENOMEM. */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m); /* NULL ok */

/* Declare a family; buckets (upper bounds, increasing, +Inf implied) for
 * histograms only, copied. 0, or -1 on ENOMEM or a second declaration. */
int metrics_declare(struct metrics *m, const char *name, enum metric_type type,
                    const char *help, const double *buckets, int nbuckets);

/* The series of family name with labels (NULL or "" for none), made on
 * first use; NULL when the family is not declared or on ENOMEM. The
 * pointer stays valid until the family is cleared or m is freed. */
struct metric_series *metrics_series(struct metrics *m, const char *name,
                                     const char *labels);

void metrics_add(struct metric_series *s, double v);     /* counter, gauge */
void metrics_set(struct metric_series *s, double v);     /* gauge */
void metrics_observe(struct metric_series *s, double v); /* histogram */

/* Shorthands: look the series up and update it (no-op when NULL). */
void metrics_inc(struct metrics *m, const char *name, const char *labels,
                 double v);
void metrics_put(struct metrics *m, const char *name, const char *labels,
                 double v);

/* Forget every series of a family (a gauge whose label sets change, such
 * as the lag of the partitions assigned now). */
void metrics_clear(struct metrics *m, const char *name);

/* `key="value"` with the value escaped as the format requires, appended
 * to buf (comma-separated when buf is not empty); returns buf. */
char *metrics_label(char *buf, size_t size, const char *key,
                    const char *value);

/* The whole exposition text (families in declaration order, series in
 * creation order). malloc'd; NULL on ENOMEM. */
char *metrics_render(struct metrics *m);

#endif
