/*
 * tstable/calendar.h — which buckets data is expected for.
 *
 * A market is closed at night, on weekends and on holidays; a factory line
 * runs two shifts. Coverage questions asked without a calendar count those
 * hours as gaps. With a calendar, coverage, gaps, ratios, the last fully
 * covered window and backfill plans count only EXPECTED buckets:
 *
 *     a bucket is expected when any part of it lies in an open session.
 *
 * A calendar has:
 *   - open days of the week (default: all seven);
 *   - daily sessions, wall-clock windows in its time zone (default: the
 *     whole day, 00:00-00:00). Several per day are allowed. A session whose
 *     end is not after its start runs past midnight and belongs to the day
 *     it starts (a Sunday 18:00-09:00 session is Sunday's);
 *   - a time zone (default UTC): a tz database name, "UTC" or "+05:30";
 *   - closed days (holidays): no session starts on them;
 *   - per-date sessions (early closes): that day's sessions replaced. A
 *     date with its own sessions is open with them even on a closed
 *     weekday or a listed holiday;
 *   - closed ranges of local date-times: no instant inside is open.
 * Wall times become UTC with the zone's rules; a wall time skipped by a
 * DST jump maps to the instant of the jump, one that occurs twice to its
 * first occurrence (src/core/tzfile.h), so a session's UTC length follows
 * the clocks on the nights they change.
 *
 * The text spec (one grammar for the CLI, Python and SQL): items separated
 * by ';', spaces around them ignored, each at most once:
 *     weekdays                    Monday to Friday
 *     all                         every day (the default)
 *     days=mon-fri | days=sun,tue-thu
 *     tz=America/New_York         a zone name, UTC, or +05:30
 *     sessions=09:30-16:00[,18:00-20:00]   HH:MM or HH:MM:SS, 24:00 as an end
 *     holidays=PATH               a holiday file (below)
 *     closed=2024-12-25[,2025-01-01]       closed days, inline
 * e.g. "weekdays;tz=America/New_York;sessions=09:30-16:00;holidays=nyse.txt".
 * Anything else is TST_EINVAL naming the position and what is accepted.
 *
 * A holiday file: UTF-8 text, one entry per line, '#' starts a comment,
 * blank lines ignored:
 *     2024-12-25                              closed all day
 *     2024-12-24 09:30-13:00[,14:00-15:00]    that day's sessions replaced
 *     2025-01-09 10:00 to 2025-01-09 14:00    closed range [from, to), local
 *     2024-12-24 to 2024-12-26                closed range of whole days, inclusive
 * A bad line is TST_EINVAL naming file:line and the forms above.
 *
 * Calendars need a timestamp index: an integer index is TST_EINVAL.
 *
 * Ownership: tst_calendar_new/parse create, tst_calendar_free (NULL ok)
 * releases. A finished calendar is immutable for the calls that take it
 * const and may be shared by threads; setters need exclusive access.
 */
#ifndef TSTABLE_CALENDAR_H
#define TSTABLE_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tstable/coverage.h"
#include "tstable/index.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tst_calendar tst_calendar;

/* Day masks for tst_calendar_set_days: bit 0 is Monday, bit 6 Sunday. */
#define TST_CALENDAR_MONDAY 0x01u
#define TST_CALENDAR_SUNDAY 0x40u
#define TST_CALENDAR_WEEKDAYS 0x1fu
#define TST_CALENDAR_ALL_DAYS 0x7fu

/* Every day, the whole day, UTC: every bucket is expected. */
int tst_calendar_new(tst_calendar **out);

/* A calendar from the text spec above (holiday files are read now). */
int tst_calendar_parse(tst_calendar **out, const char *spec);

void tst_calendar_free(tst_calendar *cal);

/* Open days (a mask of the bits above, not 0). */
int tst_calendar_set_days(tst_calendar *cal, unsigned days);

/* "mon-fri", "sat,sun", "weekdays", "all" (the spec's days= value). */
int tst_calendar_set_days_text(tst_calendar *cal, const char *text);

/* The zone; loaded now (TST_ENOTFOUND when the system has no such zone). */
int tst_calendar_set_timezone(tst_calendar *cal, const char *zone);

/* Replaces the daily sessions: "09:30-16:00[,18:00-20:00]". */
int tst_calendar_set_sessions(tst_calendar *cal, const char *text);

/* Adds one holiday-file entry ("2024-12-25", "2024-12-24 09:30-13:00", ...). */
int tst_calendar_add_holiday(tst_calendar *cal, const char *entry);

/* Adds every entry of a holiday file. */
int tst_calendar_load_holidays(tst_calendar *cal, const char *path);

/*
 * The expected buckets among [first_bucket, last_bucket] (bucket ids of a
 * timestamp index of this kind, index.h), as a new coverage (*out: free it
 * with tst_coverage_free). Cost: proportional to the days and sessions in
 * the range, never to its buckets (one add_range per open interval).
 * Buckets outside years 0000..9999 are never expected.
 */
int tst_calendar_expected(tst_coverage **out, const tst_calendar *cal, const tst_index_kind *kind,
                          uint64_t first_bucket, uint64_t last_bucket);

/* ---- questions in buckets, given the expected set ------------------------ */
/*
 * These answer coverage.h's questions counting only buckets in `expected`
 * (e.g. from tst_calendar_expected over at least [first, last]). Cost:
 * proportional to the runs of covered and expected buckets in the range.
 */

/* Covered expected buckets, expected buckets, and the longest gap in
 * expected buckets. With nothing expected, *ratio is 1 (nothing missing). */
int tst_coverage_expected_counts(const tst_coverage *cov, const tst_coverage *expected,
                                 uint64_t first, uint64_t last, uint64_t *covered,
                                 uint64_t *total, double *ratio, uint64_t *max_gap);

/*
 * Calls fn for each gap: a maximal stretch of [first, last] with no covered
 * expected bucket, holding at least one missing expected bucket, from its
 * first missing expected bucket to its last. `missing` counts its expected
 * buckets only (nights and holidays inside neither end a gap nor count).
 * max_missing > 0 cuts a gap into pieces of at most that many missing
 * expected buckets. fn returns 0 to go on; anything else stops the walk
 * and is returned.
 */
typedef int (*tst_expected_gap_fn)(void *ctx, uint64_t first, uint64_t last, uint64_t missing);
int tst_coverage_each_expected_gap(const tst_coverage *cov, const tst_coverage *expected,
                                   uint64_t first, uint64_t last, uint64_t max_missing,
                                   tst_expected_gap_fn fn, void *ctx);

/*
 * The most recent window of `len` buckets within [first, end_bucket] whose
 * expected buckets are all covered and which holds at least one expected
 * bucket: *out_found false when there is none or len == 0.
 */
int tst_coverage_last_expected_window(const tst_coverage *cov, const tst_coverage *expected,
                                      uint64_t first, uint64_t end_bucket, uint64_t len,
                                      bool *out_found, uint64_t *out_first, uint64_t *out_last);

#ifdef __cplusplus
}
#endif
#endif
