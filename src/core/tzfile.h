/*
 * tzfile.h — time zones for calendars, read from the system's TZif files.
 *
 * A calendar's sessions are wall-clock windows in a zone ("09:30-16:00 in
 * America/New_York"); turning them into UTC instants needs the zone's
 * offsets. They come from the compiled tz database the operating system
 * ships (Debian: the tzdata package), read without DuckDB or libc's
 * process-wide TZ state, so two calendars in two zones can live in one
 * process and every thread.
 *
 * Names: "UTC" (also "Z", "GMT", "Etc/UTC"), a fixed offset "+05:30" /
 * "-08:00" / "+0530" / "+05", or a zone name looked up as a TZif file under
 * $TZDIR, /usr/share/zoneinfo, /usr/lib/zoneinfo, /usr/share/lib/zoneinfo
 * (in that order). A name with "..", a leading "/" or a character outside
 * [A-Za-z0-9_+-/] is refused. A zone found nowhere is TST_ENOTFOUND naming
 * the zone and the folders searched; a file that is not TZif is TST_ECORRUPT.
 *
 * The file: version 1 files are read from their 32-bit block; version 2 and
 * 3 files from their 64-bit block, and their footer, a POSIX TZ rule
 * ("EST5EDT,M3.2.0,M11.1.0", "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
 * v3's negative and extended hours "M3.5.0/-2", Jn and n days) gives the
 * offset after the last transition, as RFC 8536 says. Debian ships "slim"
 * files whose transitions stop in 2037 or earlier and rely on the footer.
 * Before the first transition the zone uses its first local time type.
 * Leap-second ("right/") files are not meant for this and are not special-cased.
 *
 * Local wall time -> UTC, deterministically: tst_tz_local_to_utc(w) is the
 * FIRST instant whose local wall time is at or after w. So:
 *   - a wall time that exists once maps to that instant;
 *   - a wall time that exists twice (a fold, clocks set back) maps to its
 *     first occurrence (the offset before the change);
 *   - a wall time that never exists (a gap, clocks set forward) maps to the
 *     instant of the jump: 02:30 on a spring-forward night in New York is
 *     07:00Z, the moment 02:00 EST became 03:00 EDT.
 * The map never decreases, so a session [start, end) in wall time stays a
 * (possibly empty) interval in UTC, from the first time the clocks show its
 * start to the first time they show its end: a 02:00-03:00 session on a
 * spring-forward night is empty; a 01:00-02:00 session on a fall-back night
 * lasts two hours (the clocks show 01:xx twice before they first show 02:00).
 *
 * All times are seconds; local times are "seconds since 1970-01-01T00:00 in
 * wall-clock time". A loaded zone is immutable and may be shared by threads.
 */
#ifndef TST_TZFILE_H
#define TST_TZFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tst_tz tst_tz;

/* Loads a zone by name (see above). *out: free with tst_tz_free. */
int tst_tz_load(tst_tz **out, const char *name);
/* Parses TZif bytes (for tests and fuzzing); `name` is kept for messages. */
int tst_tz_parse(tst_tz **out, const char *name, const uint8_t *bytes, size_t len);
/* A zone from a POSIX TZ rule alone, e.g. "EST5EDT,M3.2.0,M11.1.0". */
int tst_tz_from_rule(tst_tz **out, const char *rule);
void tst_tz_free(tst_tz *tz);

/* The name it was loaded by. */
const char *tst_tz_name(const tst_tz *tz);

/* Seconds east of UTC in effect at the UTC instant t. */
int32_t tst_tz_offset_at(const tst_tz *tz, int64_t t);

/* The first instant whose local wall time is >= local (the rules above). */
int64_t tst_tz_local_to_utc(const tst_tz *tz, int64_t local);

/* Proleptic Gregorian helpers (days since 1970-01-01), shared with calendar.c. */
int64_t tst_tz_days_from_civil(int64_t y, int m, int d);
void tst_tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d);
/* 0 = Monday .. 6 = Sunday */
int tst_tz_weekday(int64_t days);

#endif
