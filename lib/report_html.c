/* report_html.c -- a report (spec 3.7) as one self-contained HTML page:
 * the figures as tables and inline SVG charts (calls per day by rule,
 * suppressions by reason, the local-hour histogram; for --compare both
 * policies side by side). No JavaScript, no fonts or images fetched, and a
 * print stylesheet, so the file reads the same offline and on paper.
 *
 * It reads the report's JSON object (followupd.report/v1 or
 * followupd.report-compare/v1), never the report's internals, so the page
 * shows exactly what `--format json` says. */
#include "report_html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h" /* report_message_figures */

#define HOURS 24
#define CHART_H 180 /* plot height in px */
#define MARGIN_L 48 /* room for the value ticks */

static const char *const PALETTE[] = {"#4477aa", "#ee6677", "#228833",
                                      "#ccbb44", "#66ccee", "#aa3377",
                                      "#bbbbbb", "#222222"};
#define NPALETTE (sizeof(PALETTE) / sizeof(PALETTE[0]))

/* ---- Text ---- */

static void put_esc(FILE *out, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
    }
}

static long count_of(const json_t *obj, const char *key) {
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long)json_integer_value(v) : 0;
}

static long sum_of(const json_t *obj) {
    const char *k;
    json_t *v;
    long n = 0;
    json_object_foreach((json_t *)obj, k, v) {
        if (json_is_integer(v)) n += (long)json_integer_value(v);
    }
    return n;
}

/* A difference with its sign ("0" for none). */
static void put_diff(FILE *out, long d) {
    if (d)
        fprintf(out, "<td>%+ld</td>", d);
    else
        fputs("<td>0</td>", out);
}

/* A difference with the relative change from old value a when a > 0:
 * "+120 (+50.0%)". */
static void put_diff_rel(FILE *out, double d, double a, int decimals) {
    fputs("<td>", out);
    if (d == 0)
        fputs("0", out);
    else
        fprintf(out, "%+.*f", decimals, d);
    if (d != 0 && a > 0) fprintf(out, " (%+.1f%%)", 100.0 * d / a);
    fputs("</td>", out);
}

/* ---- Waiting for the dialer (pacing, spec 4.3) ---- */

/* Whether a call of f waited for the dialer or was moved by pacing:
 * never under a policy without defaults.pacing. */
static int any_wait(const json_t *f) {
    return count_of(f, "calls_waited") > 0 ||
           count_of(json_object_get(f, "moved"), "paced") > 0;
}

/* wait_seconds_total / calls (every call); -1 when f has no call. */
static double mean_wait(const json_t *f) {
    long calls = sum_of(json_object_get(f, "calls"));
    return calls ? (double)count_of(f, "wait_seconds_total") / (double)calls
                 : -1.0;
}

static void put_seconds(FILE *out, double s) {
    if (s < 0)
        fputs("<td>&ndash;</td>", out);
    else
        fprintf(out, "<td>%.1f</td>", s);
}

static const char *const WAIT_KEYS[] = {"calls_waited", "wait_seconds_total",
                                        "wait_seconds_max", NULL};

/* The rows of the waits in the totals table (after the calls by
 * attempt): their counts, the mean wait, and for --compare the
 * difference with the relative change. The difference of the mean is
 * new minus old of the last two columns. */
static void rows_waits(FILE *out, const json_t *const *figs, int ncols,
                       const json_t *diff) {
    for (int i = 0; WAIT_KEYS[i]; i++) {
        fprintf(out, "<tr><td>%s</td>", WAIT_KEYS[i]);
        for (int c = 0; c < ncols; c++)
            fprintf(out, "<td>%ld</td>", count_of(figs[c], WAIT_KEYS[i]));
        if (diff)
            put_diff_rel(out, (double)count_of(diff, WAIT_KEYS[i]),
                         (double)count_of(figs[0], WAIT_KEYS[i]), 0);
        fputs("</tr>\n", out);
    }
    fputs("<tr><td>mean wait, s (wait_seconds_total / calls)</td>", out);
    for (int c = 0; c < ncols; c++) put_seconds(out, mean_wait(figs[c]));
    if (diff) {
        double a = mean_wait(figs[0]), b = mean_wait(figs[ncols - 1]);
        if (a < 0 || b < 0)
            fputs("<td></td>", out);
        else
            put_diff_rel(out, b - a, a, 1);
    }
    fputs("</tr>\n", out);
}

/* A rate or mean as the JSON has it, or a dash for null. */
static void put_rate(FILE *out, const json_t *v) {
    if (json_is_number(v))
        fprintf(out, "%.4g", json_number_value(v));
    else
        fputs("&ndash;", out);
}

/* ---- Sorted key sets ---- */

struct keys {
    const char **v;
    int n, cap;
};

static int keys_add(struct keys *k, const char *s) {
    for (int i = 0; i < k->n; i++)
        if (!strcmp(k->v[i], s)) return 0;
    if (k->n == k->cap) {
        int cap = k->cap ? 2 * k->cap : 16;
        const char **nv = realloc(k->v, sizeof(*nv) * (size_t)cap);
        if (!nv) return -1;
        k->v = nv;
        k->cap = cap;
    }
    k->v[k->n++] = s;
    return 0;
}

/* Adds the keys of obj (borrowed: the JSON outlives the page). */
static int keys_union(struct keys *k, const json_t *obj) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (keys_add(k, key) < 0) return -1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void keys_sort(struct keys *k) {
    if (k->n) qsort(k->v, (size_t)k->n, sizeof(*k->v), cmp_str);
}

/* ---- Charts ---- */

/* Bars over labels: nseries values per label, grouped side by side, or
 * stacked (one bar per label). v[s * nlabels + l]. */
struct chart {
    const char *title;
    const char *const *labels;
    int nlabels;
    const char *const *series;
    int nseries;
    const double *v;
    int stacked;
    int left, bottom; /* margins: the rotated labels need room */
};

/* The largest bar, rounded up to a multiple of 4 so the four ticks are
 * whole numbers. */
static double chart_max(const struct chart *c) {
    double top = 0;
    for (int l = 0; l < c->nlabels; l++) {
        double sum = 0;
        for (int s = 0; s < c->nseries; s++) {
            double x = c->v[s * c->nlabels + l];
            if (c->stacked)
                sum += x;
            else if (x > sum)
                sum = x;
        }
        if (sum > top) top = sum;
    }
    return 4 * ceil(top / 4);
}

static void chart_legend(FILE *out, const struct chart *c, int y) {
    int x = c->left;
    for (int s = 0; s < c->nseries && c->nseries > 1; s++) {
        fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" "
                     "fill=\"%s\"/><text x=\"%d\" y=\"%d\">",
                x, y, PALETTE[s % NPALETTE], x + 14, y + 9);
        put_esc(out, c->series[s]);
        fputs("</text>", out);
        x += 24 + 7 * (int)strlen(c->series[s]);
    }
}

static void chart_axis(FILE *out, const struct chart *c, double top,
                       int width) {
    fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                 "class=\"axis\"/>",
            c->left, 10 + CHART_H, width - 8, 10 + CHART_H);
    for (int i = 0; i <= 4; i++) {
        double val = top * i / 4;
        int y = 10 + CHART_H - (int)(CHART_H * i / 4);
        fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"tick\">%.0f</text>",
                c->left - 6, y + 4, val);
    }
}

static void chart_bars(FILE *out, const struct chart *c, double top,
                       int slot, int every) {
    int groups = c->stacked ? 1 : c->nseries;
    int bar = (slot - 4) / groups;
    if (bar < 1) bar = 1;
    for (int l = 0; l < c->nlabels; l++) {
        int x0 = c->left + 2 + l * slot, base = 10 + CHART_H;
        for (int s = 0; s < c->nseries; s++) {
            double val = c->v[s * c->nlabels + l];
            int h = top > 0 ? (int)(CHART_H * val / top + 0.5) : 0;
            int x = c->stacked ? x0 : x0 + s * bar;
            if (h > 0)
                fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" "
                             "height=\"%d\" fill=\"%s\"><title>%.0f</title>"
                             "</rect>",
                        x, base - h, bar, h, PALETTE[s % NPALETTE], val);
            if (c->stacked) base -= h;
        }
        if (l % every == 0) {
            fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"label\" "
                         "transform=\"rotate(-60 %d %d)\">",
                    x0 + slot / 2, 24 + CHART_H, x0 + slot / 2, 24 + CHART_H);
            put_esc(out, c->labels[l]);
            fputs("</text>", out);
        }
    }
}

/* Margins for labels of up to maxlen characters written at -60 degrees
 * (about 6.5 px a character: cos 60 = 0.5 of it to the left, sin 60 =
 * 0.87 of it down). */
static void chart_margins(struct chart *c, int slot) {
    size_t maxlen = 1;
    for (int l = 0; l < c->nlabels; l++)
        if (strlen(c->labels[l]) > maxlen) maxlen = strlen(c->labels[l]);
    c->left = 13 * (int)maxlen / 4 + 8 - slot / 2;
    if (c->left < MARGIN_L) c->left = MARGIN_L;
    c->bottom = 24 + 6 * (int)maxlen;
}

static void put_chart(FILE *out, struct chart *c) {
    int slot = c->stacked || c->nseries == 1 ? 16 : 10 + 8 * c->nseries;
    int every = c->nlabels > 40 ? (c->nlabels + 39) / 40 : 1;
    chart_margins(c, slot);
    int width = c->left + 10 + slot * (c->nlabels ? c->nlabels : 1);
    if (width < 360) width = 360;
    int height = 10 + CHART_H + c->bottom + (c->nseries > 1 ? 18 : 0);
    double top = chart_max(c);

    fputs("<figure><figcaption>", out);
    put_esc(out, c->title);
    fputs("</figcaption>", out);
    if (!c->nlabels || top <= 0) {
        fputs("<p class=\"empty\">nothing to show</p></figure>\n", out);
        return;
    }
    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                 "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">",
            width, height, width, height);
    chart_axis(out, c, top, width);
    chart_bars(out, c, top, slot, every);
    chart_legend(out, c, height - 14);
    fputs("</svg></figure>\n", out);
}

/* ---- Tables ---- */

/* The figures that are plain counts, in the order of spec 3.7, then
 * those of message follow-ups (docs/report.md). */
static const char *const COUNT_KEYS[] = {"scheduled", "cancels", "reminders",
                                         "messages_decided",
                                         "messages_scheduled", NULL};
/* The figures that are maps of counts. */
static const char *const MAP_KEYS[] = {"suppressed", "cancelled", "moved",
                                       "calls", "reminders_skipped",
                                       "messages", "messages_suppressed",
                                       "messages_cancelled", "messages_moved",
                                       "outcomes", NULL};

/* One row per figure and key, one column per report (old, new...). */
static void table_figures(FILE *out, const json_t *const *figs,
                          const char *const *heads, int ncols,
                          const json_t *diff) {
    fputs("<table><thead><tr><th>figure</th>", out);
    for (int c = 0; c < ncols; c++) {
        fputs("<th>", out);
        put_esc(out, heads[c]);
        fputs("</th>", out);
    }
    if (diff) fputs("<th>difference</th>", out);
    fputs("</tr></thead><tbody>\n", out);
    for (int i = 0; COUNT_KEYS[i]; i++) {
        fprintf(out, "<tr><td>%s</td>", COUNT_KEYS[i]);
        for (int c = 0; c < ncols; c++)
            fprintf(out, "<td>%ld</td>", count_of(figs[c], COUNT_KEYS[i]));
        if (diff) put_diff(out, count_of(diff, COUNT_KEYS[i]));
        fputs("</tr>\n", out);
    }
    int waits = 0;
    for (int c = 0; c < ncols; c++) waits |= any_wait(figs[c]);
    for (int i = 0; MAP_KEYS[i]; i++) {
        struct keys k = {0};
        if (i && !strcmp(MAP_KEYS[i - 1], "calls") && waits)
            rows_waits(out, figs, ncols, diff);
        for (int c = 0; c < ncols; c++)
            keys_union(&k, json_object_get(figs[c], MAP_KEYS[i]));
        keys_sort(&k);
        for (int j = 0; j < k.n; j++) {
            fprintf(out, "<tr><td>%s: ", MAP_KEYS[i]);
            put_esc(out, k.v[j]);
            fputs("</td>", out);
            for (int c = 0; c < ncols; c++)
                fprintf(out, "<td>%ld</td>",
                        count_of(json_object_get(figs[c], MAP_KEYS[i]),
                                 k.v[j]));
            if (diff)
                put_diff(out, count_of(json_object_get(diff, MAP_KEYS[i]),
                                       k.v[j]));
            fputs("</tr>\n", out);
        }
        free(k.v);
    }
    static const char *const RATES[] = {"answer_rate", "attempts_per_answer",
                                        NULL};
    for (int i = 0; RATES[i]; i++) {
        fprintf(out, "<tr><td>%s</td>", RATES[i]);
        for (int c = 0; c < ncols; c++) {
            fputs("<td>", out);
            put_rate(out, json_object_get(figs[c], RATES[i]));
            fputs("</td>", out);
        }
        if (diff) fputs("<td></td>", out);
        fputs("</tr>\n", out);
    }
    fputs("<tr><td>satisfaction (mean, count)</td>", out);
    for (int c = 0; c < ncols; c++) {
        const json_t *sat = json_object_get(figs[c], "satisfaction");
        fputs("<td>", out);
        put_rate(out, json_object_get(sat, "mean"));
        fprintf(out, " (%ld)</td>", count_of(sat, "count"));
    }
    if (diff) fputs("<td></td>", out);
    fputs("</tr>\n</tbody></table>\n", out);
}

/* Per rule: the headline figures, one row a rule; when a call waited for
 * the dialer, the waits too. */
static void table_rules(FILE *out, const json_t *rules) {
    const char *id;
    json_t *f;
    int waits = 0;
    json_object_foreach((json_t *)rules, id, f) waits |= any_wait(f);
    fputs("<table><thead><tr><th>rule</th><th>scheduled</th>"
          "<th>suppressed</th><th>cancelled</th><th>moved</th><th>calls</th>"
          "<th>reminders</th><th>messages</th><th>answer rate</th>", out);
    if (waits)
        fputs("<th>calls waited</th><th>wait, s</th><th>mean wait, s</th>"
              "<th>max wait, s</th>", out);
    fputs("</tr></thead><tbody>\n", out);
    json_object_foreach((json_t *)rules, id, f) {
        fputs("<tr><td>", out);
        put_esc(out, id);
        fprintf(out, "</td><td>%ld</td><td>%ld</td><td>%ld</td><td>%ld</td>"
                     "<td>%ld</td><td>%ld</td><td>%ld</td><td>",
                count_of(f, "scheduled"),
                sum_of(json_object_get(f, "suppressed")),
                sum_of(json_object_get(f, "cancelled")),
                sum_of(json_object_get(f, "moved")),
                sum_of(json_object_get(f, "calls")), count_of(f, "reminders"),
                sum_of(json_object_get(f, "messages")));
        put_rate(out, json_object_get(f, "answer_rate"));
        fputs("</td>", out);
        if (waits) {
            fprintf(out, "<td>%ld</td><td>%ld</td>",
                    count_of(f, "calls_waited"),
                    count_of(f, "wait_seconds_total"));
            put_seconds(out, mean_wait(f));
            fprintf(out, "<td>%ld</td>", count_of(f, "wait_seconds_max"));
        }
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
}

#define NMSG REPORT_MESSAGE_FIGURES

static void message_figs(const json_t *f, long n[NMSG]) {
    report_message_figures((json_t *)f, n);
}

static int any_message(const json_t *f) {
    long n[NMSG];
    return report_message_figures((json_t *)f, n);
}

/* One map of the message figures (messages_suppressed...) by key and
 * rule: a row per key, a column per rule that has messages. Nothing when
 * no rule has a count there. */
static int table_message_reasons(FILE *out, const json_t *rules,
                                 const char *key, const char *head) {
    struct keys reasons = {0}, ids = {0};
    const char *id;
    json_t *f;
    int rc = -1;
    json_object_foreach((json_t *)rules, id, f) {
        if (!any_message(f)) continue;
        if (keys_add(&ids, id) < 0 ||
            keys_union(&reasons, json_object_get(f, key)) < 0)
            goto out;
    }
    rc = 0;
    if (!reasons.n) goto out;
    keys_sort(&reasons);
    fputs("<table><thead><tr><th>", out);
    put_esc(out, head);
    fputs("</th>", out);
    for (int c = 0; c < ids.n; c++) {
        fputs("<th>", out);
        put_esc(out, ids.v[c]);
        fputs("</th>", out);
    }
    fputs("</tr></thead><tbody>\n", out);
    for (int r = 0; r < reasons.n; r++) {
        fputs("<tr><td>", out);
        put_esc(out, reasons.v[r]);
        fputs("</td>", out);
        for (int c = 0; c < ids.n; c++)
            fprintf(out, "<td>%ld</td>",
                    count_of(json_object_get(json_object_get(rules, ids.v[c]),
                                             key),
                             reasons.v[r]));
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
out:
    free(reasons.v);
    free(ids.v);
    return rc;
}

/* Message follow-ups apart from calls, per rule (decision records with
 * "kind": "message"): the counts, then suppressions and cancellations by
 * reason. Nothing when no rule has a message figure. */
static int table_messages(FILE *out, const json_t *rules, const char *h) {
    static const char *const HEADS[NMSG] = {"decided",    "scheduled",
                                            "sent",       "suppressed",
                                            "cancelled",  "moved"};
    const char *id;
    json_t *f;
    int any = 0;
    json_object_foreach((json_t *)rules, id, f) any |= any_message(f);
    if (!any) return 0;
    fprintf(out, "<h2>%s</h2>\n<table><thead><tr><th>rule</th>", h);
    for (int i = 0; i < NMSG; i++) fprintf(out, "<th>%s</th>", HEADS[i]);
    fputs("</tr></thead><tbody>\n", out);
    json_object_foreach((json_t *)rules, id, f) {
        long n[NMSG];
        if (!any_message(f)) continue;
        message_figs(f, n);
        fputs("<tr><td>", out);
        put_esc(out, id);
        fputs("</td>", out);
        for (int i = 0; i < NMSG; i++) fprintf(out, "<td>%ld</td>", n[i]);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
    if (table_message_reasons(out, rules, "messages_suppressed",
                              "messages suppressed by reason") < 0 ||
        table_message_reasons(out, rules, "messages_cancelled",
                              "messages cancelled by reason") < 0 ||
        table_message_reasons(out, rules, "messages_moved",
                              "messages moved by reason") < 0)
        return -1;
    return 0;
}

static void table_dead(FILE *out, const json_t *rep) {
    const char *err;
    json_t *n;
    fprintf(out, "<p>Duplicate events: %ld. Dead letters: %ld.</p>\n",
            count_of(rep, "duplicates"),
            sum_of(json_object_get(rep, "dead_letters")));
    if (!json_object_size(json_object_get(rep, "dead_letters"))) return;
    fputs("<table><thead><tr><th>dead-letter reason</th><th>count</th></tr>"
          "</thead><tbody>\n", out);
    json_object_foreach(json_object_get(rep, "dead_letters"), err, n) {
        fputs("<tr><td>", out);
        put_esc(out, err);
        fprintf(out, "</td><td>%ld</td></tr>\n",
                json_is_integer(n) ? (long)json_integer_value(n) : 0);
    }
    fputs("</tbody></table>\n", out);
}

/* ---- Charts from the figures ---- */

/* Calls per UTC day, one stacked series per rule. */
static int chart_days(FILE *out, const json_t *rep, const char *title) {
    struct keys days = {0}, rules = {0};
    const char *id;
    json_t *f;
    int rc = -1;
    json_object_foreach(json_object_get(rep, "rules"), id, f) {
        if (!json_object_size(json_object_get(f, "calls_per_day"))) continue;
        if (keys_add(&rules, id) < 0 ||
            keys_union(&days, json_object_get(f, "calls_per_day")) < 0)
            goto out;
    }
    keys_sort(&days);
    double *v = calloc((size_t)(days.n * rules.n) + 1, sizeof(double));
    if (!v) goto out;
    for (int s = 0; s < rules.n; s++) {
        const json_t *cpd = json_object_get(
            json_object_get(json_object_get(rep, "rules"), rules.v[s]),
            "calls_per_day");
        for (int l = 0; l < days.n; l++)
            v[s * days.n + l] = (double)count_of(cpd, days.v[l]);
    }
    struct chart c = {title, days.v, days.n, rules.v, rules.n, v, 1, 0, 0};
    put_chart(out, &c);
    free(v);
    rc = 0;
out:
    free(days.v);
    free(rules.v);
    return rc;
}

/* One map of counts (key -> n) per report, as grouped bars over the union
 * of keys; hours are 0..23 in order, other keys sorted. */
static int chart_map(FILE *out, const json_t *const *maps,
                     const char *const *names, int n, const char *title,
                     int hours) {
    static const char *const HOUR_LABELS[HOURS] = {
        "0",  "1",  "2",  "3",  "4",  "5",  "6",  "7",  "8",  "9",  "10", "11",
        "12", "13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23"};
    struct keys k = {0};
    int rc = -1;
    if (hours) {
        for (int h = 0; h < HOURS; h++)
            if (keys_add(&k, HOUR_LABELS[h]) < 0) goto out;
    } else {
        for (int s = 0; s < n; s++)
            if (keys_union(&k, maps[s]) < 0) goto out;
        keys_sort(&k);
    }
    double *v = calloc((size_t)(k.n * n) + 1, sizeof(double));
    if (!v) goto out;
    for (int s = 0; s < n; s++)
        for (int l = 0; l < k.n; l++)
            v[s * k.n + l] = (double)count_of(maps[s], k.v[l]);
    struct chart c = {title, k.v, k.n, names, n, v, 0, 0, 0};
    put_chart(out, &c);
    free(v);
    rc = 0;
out:
    free(k.v);
    return rc;
}

/* ---- The page ---- */

static void page_head(FILE *out, const char *title) {
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
          "<meta charset=\"utf-8\">\n<title>", out);
    put_esc(out, title);
    fputs("</title>\n<style>\n"
          "body{font:14px/1.4 sans-serif;margin:2em;color:#222}\n"
          "table{border-collapse:collapse;margin:0 0 1.5em}\n"
          "th,td{border:1px solid #bbb;padding:2px 8px;text-align:right}\n"
          "th:first-child,td:first-child{text-align:left}\n"
          "thead th{background:#eee}\n"
          "figure{margin:0 0 1.5em}figcaption{font-weight:bold}\n"
          "svg text{font:11px sans-serif;fill:#222}\n"
          "svg .tick{text-anchor:end}svg .label{text-anchor:end}\n"
          "svg .axis{stroke:#222}\n"
          ".empty{color:#777}\n"
          "@media print{body{margin:0}figure,table{break-inside:avoid}}\n"
          "</style>\n</head>\n<body>\n<h1>", out);
    put_esc(out, title);
    fputs("</h1>\n", out);
}

static int page_single(FILE *out, const json_t *rep) {
    const json_t *total = json_object_get(rep, "total");
    const json_t *figs[1] = {total};
    const char *heads[1] = {"total"};
    page_head(out, "followupd report");
    fputs("<h2>Totals</h2>\n", out);
    table_figures(out, figs, heads, 1, NULL);
    fputs("<h2>By rule</h2>\n", out);
    table_rules(out, json_object_get(rep, "rules"));
    if (table_messages(out, json_object_get(rep, "rules"),
                       "Message follow-ups by rule") < 0)
        return -1;
    table_dead(out, rep);
    fputs("<h2>Charts</h2>\n", out);
    const json_t *sup[1] = {json_object_get(total, "suppressed")};
    const json_t *hrs[1] = {json_object_get(total, "calls_per_local_hour")};
    if (chart_days(out, rep, "Calls per day (UTC) by rule") < 0 ||
        chart_map(out, sup, heads, 1, "Suppressions by reason", 0) < 0 ||
        chart_map(out, hrs, heads, 1, "Calls by hour of the user's local time",
                  1) < 0)
        return -1;
    fputs("</body>\n</html>\n", out);
    return 0;
}

static int page_compare(FILE *out, const json_t *cmp) {
    const json_t *old = json_object_get(cmp, "old"),
                 *new = json_object_get(cmp, "new");
    const json_t *figs[2] = {json_object_get(old, "total"),
                             json_object_get(new, "total")};
    const char *heads[2] = {"old policy", "new policy"};
    page_head(out, "followupd report: old and new policy");
    fputs("<h2>Totals</h2>\n", out);
    table_figures(out, figs, heads, 2, json_object_get(cmp, "diff"));
    fputs("<h2>By rule, old policy</h2>\n", out);
    table_rules(out, json_object_get(old, "rules"));
    fputs("<h2>By rule, new policy</h2>\n", out);
    table_rules(out, json_object_get(new, "rules"));
    if (table_messages(out, json_object_get(old, "rules"),
                       "Message follow-ups by rule, old policy") < 0 ||
        table_messages(out, json_object_get(new, "rules"),
                       "Message follow-ups by rule, new policy") < 0)
        return -1;
    fputs("<h2>Charts</h2>\n", out);
    const json_t *sup[2] = {json_object_get(figs[0], "suppressed"),
                            json_object_get(figs[1], "suppressed")};
    const json_t *hrs[2] = {json_object_get(figs[0], "calls_per_local_hour"),
                            json_object_get(figs[1], "calls_per_local_hour")};
    if (chart_days(out, old, "Calls per day (UTC) by rule, old policy") < 0 ||
        chart_days(out, new, "Calls per day (UTC) by rule, new policy") < 0 ||
        chart_map(out, sup, heads, 2, "Suppressions by reason", 0) < 0 ||
        chart_map(out, hrs, heads, 2,
                  "Calls by hour of the user's local time", 1) < 0)
        return -1;
    fputs("<h2>Dead letters and duplicates</h2>\n<h3>Old policy</h3>\n", out);
    table_dead(out, old);
    fputs("<h3>New policy</h3>\n", out);
    table_dead(out, new);
    fputs("</body>\n</html>\n", out);
    return 0;
}

int report_html_write(FILE *out, const json_t *report, struct fu_err *err) {
    const char *schema = json_string_value(json_object_get(report, "schema"));
    int rc;
    if (schema && !strcmp(schema, "followupd.report/v1"))
        rc = page_single(out, report);
    else if (schema && !strcmp(schema, "followupd.report-compare/v1"))
        rc = page_compare(out, report);
    else
        return fu_err_set(err, FU_EINVAL, "not a followupd report object");
    if (rc < 0) return fu_err_set(err, FU_ENOMEM, "out of memory");
    if (ferror(out)) return fu_err_set(err, FU_EFATAL, "cannot write the page");
    return 0;
}
