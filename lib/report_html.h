/* report_html.h -- `followupd report --html`: a report's JSON object as
 * one self-contained HTML page (tables and inline SVG charts, no script,
 * no network; spec 3.7). */
#ifndef FU_REPORT_HTML_H
#define FU_REPORT_HTML_H

#include <stdio.h>

#include <jansson.h>

#include "err.h"

/* Write the page of report (a followupd.report/v1 or
 * followupd.report-compare/v1 object, borrowed) to out. 0, or -1 with err
 * (FU_EINVAL for another object, FU_ENOMEM, FU_EFATAL). */
int report_html_write(FILE *out, const json_t *report, struct fu_err *err);

#endif
