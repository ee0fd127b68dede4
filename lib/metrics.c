/* metrics.c -- a small Prometheus registry (see metrics.h).
 *
 * Families and series are kept in creation order in plain arrays: a
 * daemon has a few hundred series at most, and callers hold series
 * pointers for the hot paths, so lookups by name are rare. */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct metric_series {
    struct metrics *m;         /* whose lock guards the values */
    const struct family *fam;  /* bounds of a histogram */
    char *labels;
    double value;    /* counter, gauge; histogram: the sum */
    double count;    /* histogram */
    double *buckets; /* histogram: cumulative counts per bound */
    struct metric_series *next;
};

struct family {
    char *name, *help;
    enum metric_type type;
    double *bounds;
    int nbounds;
    struct metric_series *first, *last;
};

struct metrics {
    pthread_mutex_t lock;
    struct family **fams; /* each allocated alone: series point at theirs */
    int n, cap;
};

/* ---- Families and series ---- */

struct metrics *metrics_new(void) {
    struct metrics *m = calloc(1, sizeof(*m));
    if (m && pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

static void series_free_all(struct family *f) {
    struct metric_series *s = f->first;
    while (s) {
        struct metric_series *next = s->next;
        free(s->labels);
        free(s->buckets);
        free(s);
        s = next;
    }
    f->first = f->last = NULL;
}


void metrics_free(struct metrics *m) {
    if (!m) return;
    for (int i = 0; i < m->n; i++) {
        series_free_all(m->fams[i]);
        free(m->fams[i]->name);
        free(m->fams[i]->help);
        free(m->fams[i]->bounds);
        free(m->fams[i]);
    }
    free(m->fams);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static struct family *find_family(struct metrics *m, const char *name) {
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->fams[i]->name, name)) return m->fams[i];
    return NULL;
}

int metrics_declare(struct metrics *m, const char *name, enum metric_type type,
                    const char *help, const double *buckets, int nbuckets) {
    int rc = -1;
    pthread_mutex_lock(&m->lock);
    if (find_family(m, name)) goto out;
    if (m->n == m->cap) {
        int n = m->cap ? m->cap * 2 : 32;
        struct family **nf = realloc(m->fams, sizeof(*nf) * (size_t)n);
        if (!nf) goto out;
        m->fams = nf;
        m->cap = n;
    }
    struct family *f = calloc(1, sizeof(*f));
    if (!f) goto out;
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help);
    if (type == METRIC_HISTOGRAM && nbuckets > 0) {
        f->bounds = malloc(sizeof(double) * (size_t)nbuckets);
        if (f->bounds) memcpy(f->bounds, buckets, sizeof(double) * (size_t)nbuckets);
        f->nbounds = nbuckets;
    }
    if (!f->name || !f->help || (type == METRIC_HISTOGRAM && nbuckets > 0 && !f->bounds)) {
        free(f->name);
        free(f->help);
        free(f->bounds);
        free(f);
        goto out;
    }
    m->fams[m->n++] = f;
    rc = 0;
out:
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static struct metric_series *new_series(struct metrics *m, struct family *f,
                                        const char *labels) {
    struct metric_series *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->m = m;
    s->labels = strdup(labels);
    if (f->type == METRIC_HISTOGRAM)
        s->buckets = calloc((size_t)f->nbounds + 1, sizeof(double));
    s->fam = f;
    if (!s->labels || (f->type == METRIC_HISTOGRAM && !s->buckets)) {
        free(s->labels);
        free(s->buckets);
        free(s);
        return NULL;
    }
    if (f->last) f->last->next = s;
    else f->first = s;
    f->last = s;
    return s;
}

struct metric_series *metrics_series(struct metrics *m, const char *name,
                                     const char *labels) {
    struct metric_series *s = NULL;
    if (!labels) labels = "";
    pthread_mutex_lock(&m->lock);
    struct family *f = find_family(m, name);
    if (f) {
        for (s = f->first; s; s = s->next)
            if (!strcmp(s->labels, labels)) break;
        if (!s) s = new_series(m, f, labels);
    }
    pthread_mutex_unlock(&m->lock);
    return s;
}

void metrics_clear(struct metrics *m, const char *name) {
    pthread_mutex_lock(&m->lock);
    struct family *f = find_family(m, name);
    if (f) series_free_all(f);
    pthread_mutex_unlock(&m->lock);
}

/* ---- Updates ---- */

void metrics_add(struct metric_series *s, double v) {
    if (!s) return;
    pthread_mutex_lock(&s->m->lock);
    s->value += v;
    pthread_mutex_unlock(&s->m->lock);
}

void metrics_set(struct metric_series *s, double v) {
    if (!s) return;
    pthread_mutex_lock(&s->m->lock);
    s->value = v;
    pthread_mutex_unlock(&s->m->lock);
}

void metrics_observe(struct metric_series *s, double v) {
    if (!s || !s->buckets) return;
    pthread_mutex_lock(&s->m->lock);
    s->value += v;
    s->count += 1;
    for (int i = 0; i < s->fam->nbounds; i++)
        if (v <= s->fam->bounds[i]) s->buckets[i] += 1;
    pthread_mutex_unlock(&s->m->lock);
}

void metrics_inc(struct metrics *m, const char *name, const char *labels,
                 double v) {
    metrics_add(metrics_series(m, name, labels), v);
}

void metrics_put(struct metrics *m, const char *name, const char *labels,
                 double v) {
    metrics_set(metrics_series(m, name, labels), v);
}

/* ---- Text ---- */

char *metrics_label(char *buf, size_t size, const char *key,
                    const char *value) {
    size_t n = strlen(buf);
    if (n + 1 >= size) return buf;
    n += (size_t)snprintf(buf + n, size - n, "%s%s=\"", n ? "," : "", key);
    for (const char *p = value; *p && n + 3 < size; p++) {
        if (*p == '\\' || *p == '"') buf[n++] = '\\', buf[n++] = *p;
        else if (*p == '\n') buf[n++] = '\\', buf[n++] = 'n';
        else buf[n++] = *p;
    }
    if (n + 1 < size) buf[n++] = '"';
    buf[n < size ? n : size - 1] = '\0';
    return buf;
}

struct text {
    char *buf;
    size_t len, cap;
    int oom;
};

static void put(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        if (t->oom) return;
        size_t room = t->cap - t->len;
        va_start(ap, fmt);
        int k = vsnprintf(t->buf ? t->buf + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (k < 0) {
            t->oom = 1;
            return;
        }
        if ((size_t)k < room) {
            t->len += (size_t)k;
            return;
        }
        size_t ncap = (t->cap ? t->cap * 2 : 4096) + (size_t)k;
        char *nb = realloc(t->buf, ncap);
        if (!nb) {
            t->oom = 1;
            return;
        }
        t->buf = nb;
        t->cap = ncap;
    }
}

/* A sample value as the format wants it (integers without a fraction). */
static const char *num(double v, char *buf, size_t size) {
    if (isnan(v)) return "NaN";
    if (isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (v == floor(v) && fabs(v) < 1e15) snprintf(buf, size, "%.0f", v);
    else snprintf(buf, size, "%.9g", v);
    return buf;
}

static void braces(struct text *t, const char *labels, const char *extra) {
    if (!*labels && !*extra) return;
    put(t, "{%s%s%s}", labels, *labels && *extra ? "," : "", extra);
}

static void render_histogram(struct text *t, const struct family *f,
                             const struct metric_series *s) {
    char le[64], v[64];
    for (int i = 0; i <= f->nbounds; i++) {
        double cum = i < f->nbounds ? s->buckets[i] : s->count;
        if (i < f->nbounds)
            snprintf(le, sizeof(le), "le=\"%s\"", num(f->bounds[i], v, sizeof(v)));
        else
            snprintf(le, sizeof(le), "le=\"+Inf\"");
        put(t, "%s_bucket", f->name);
        braces(t, s->labels, le);
        put(t, " %s\n", num(cum, v, sizeof(v)));
    }
    put(t, "%s_sum", f->name);
    braces(t, s->labels, "");
    put(t, " %s\n", num(s->value, v, sizeof(v)));
    put(t, "%s_count", f->name);
    braces(t, s->labels, "");
    put(t, " %s\n", num(s->count, v, sizeof(v)));
}

char *metrics_render(struct metrics *m) {
    static const char *const types[] = {"counter", "gauge", "histogram"};
    struct text t = {0};
    char v[64];
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < m->n; i++) {
        const struct family *f = m->fams[i];
        put(&t, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
            types[f->type]);
        for (const struct metric_series *s = f->first; s; s = s->next) {
            if (f->type == METRIC_HISTOGRAM) {
                render_histogram(&t, f, s);
                continue;
            }
            put(&t, "%s", f->name);
            braces(&t, s->labels, "");
            put(&t, " %s\n", num(s->value, v, sizeof(v)));
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (t.oom || !t.buf) {
        free(t.buf);
        return t.oom ? NULL : strdup("");
    }
    return t.buf;
}
