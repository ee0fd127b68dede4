/* tz.h -- IANA time zones read from the system tz database (TZif files).
 *
 * A struct tzdb caches loaded zones by name; zones are immutable and live
 * as long as the db. Lookups of a zone already loaded do no I/O, which is
 * what lets the engine stay pure: every name it sees was validated (and so
 * loaded) when the event or policy carrying it was parsed. */
#ifndef FU_TZ_H
#define FU_TZ_H

#include <stdint.h>

#include "err.h"

struct tz;
struct tzdb;

/* dir: zoneinfo directory, or NULL for $TZDIR, else /usr/share/zoneinfo.
 * Returns NULL only on allocation failure. Free with tzdb_free(). */
struct tzdb *tzdb_new(const char *dir);
void tzdb_free(struct tzdb *db);

/* The zone called name ("Asia/Shanghai", "UTC"), loaded on first use.
 * Returns a pointer owned by db, or NULL with err set (FU_EINVAL) when the
 * name is not a valid IANA zone of the database (FU_ENOMEM when out of
 * memory). Never accepts paths ("../x", "/etc/passwd"): names are
 * [A-Za-z0-9_+-] parts joined by '/', shorter than 128. Files counting
 * leap seconds ("right/...") are refused. A miss is not cached. */
const struct tz *tzdb_get(struct tzdb *db, const char *name,
                          struct fu_err *err);

const char *tz_name(const struct tz *tz);

/* UTC offset in seconds (east positive) in force at instant t. When
 * next_change is not NULL it receives the next instant > t at which the
 * offset may change (INT64_MAX if never). */
int32_t tz_offset(const struct tz *tz, int64_t t, int64_t *next_change);

/* Local wall time of t as "YYYY-MM-DD HH:MM" into buf (>= 32 bytes). */
char *tz_format_local(const struct tz *tz, int64_t t, char *buf);

#endif
