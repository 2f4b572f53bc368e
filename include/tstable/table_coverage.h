/*
 * tstable/table_coverage.h — asking a table what it covers.
 *
 * "Do I have data for 2024-01-15 to 2024-03-20?", "where are the gaps?",
 * "what is the last fully covered day?" — answered from the table's coverage
 * snapshot (one small sidecar file), without reading any Parquet and without
 * starting the SQL engine. Ranges are half-open [start, end) in the index's
 * own units (tst_index_value of the table's index type); answers come back
 * in the same units, never as bucket ids.
 *
 * The entity: tables with entity columns keep coverage per identity (e.g.
 * symbol=NVDA). Pass the identity as bindings of column name to value, in
 * any order; every entity column must be given exactly once, with a value of
 * the column's type (TST_EINVAL otherwise, naming the column). Pass no
 * bindings (NULL, 0) to ask about the whole table: for an entity table a
 * bucket then counts as covered when any entity covers it. An identity the
 * table has never seen covers nothing.
 *
 * Loading: the snapshot is read once per table version and cached in the
 * handle. A missing or corrupt snapshot is rebuilt in memory from the
 * segments' own sidecars (never rewritten on disk), and a warning goes to
 * the log callback (tst_set_log_callback).
 *
 * Counts saturate at UINT64_MAX (only a range over the whole 64-bit bucket
 * domain can exceed it). Thread-safety: like other calls on one handle.
 */
#ifndef TSTABLE_TABLE_COVERAGE_H
#define TSTABLE_TABLE_COVERAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tstable/calendar.h"
#include "tstable/coverage.h"
#include "tstable/index.h"
#include "tstable/schema.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tst_table tst_table;

/* One entity column and its value. */
typedef struct tst_entity_binding {
    const char *column;
    tst_entity_value value;
} tst_entity_binding;

/* Covered and total buckets of [start, end) (start < end), and their ratio. */
typedef struct tst_coverage_counts {
    uint64_t covered_buckets;
    uint64_t total_buckets;
    double ratio;
    uint64_t max_gap_buckets; /* longest run of missing buckets */
} tst_coverage_counts;

int tst_table_coverage(tst_table *table, const tst_entity_binding *entity, size_t entity_count,
                       const tst_index_value *start, const tst_index_value *end,
                       tst_coverage_counts *out);

/*
 * Calls fn for each missing range of the buckets [start, end) touches, in
 * order, as index values [gap_start, gap_end) (gap_end_inclusive when
 * clipped at the domain maximum) and its length in buckets. Gaps follow
 * bucket edges, so the first may start before `start` and the last end
 * after `end`. max_buckets > 0 splits longer gaps
 * into pieces of at most that many buckets. fn returns 0 to go on; any
 * other value stops the walk and is returned.
 */
typedef int (*tst_gap_fn)(void *ctx, const tst_index_value *gap_start,
                          const tst_index_value *gap_end, bool gap_end_inclusive,
                          uint64_t buckets);
int tst_table_gaps(tst_table *table, const tst_entity_binding *entity, size_t entity_count,
                   const tst_index_value *start, const tst_index_value *end,
                   uint64_t max_buckets, tst_gap_fn fn, void *ctx);

/*
 * The most recent fully covered window of `buckets` buckets ending before
 * `end`: *out_found tells whether there is one; [*out_start, *out_end) is
 * the window.
 */
int tst_table_last_covered_window(tst_table *table, const tst_entity_binding *entity,
                                  size_t entity_count, const tst_index_value *end,
                                  uint64_t buckets, bool *out_found, tst_index_value *out_start,
                                  tst_index_value *out_end);

/*
 * The same three questions counting only the buckets a calendar expects
 * (tstable/calendar.h); cal NULL asks the calendar-free question above.
 *   counts: covered_buckets / total_buckets are covered expected buckets
 *     and expected buckets of [start, end); ratio is 1 when nothing is
 *     expected; max_gap_buckets is the longest gap counted in expected buckets.
 *   gaps: nights, weekends and holidays neither end a gap nor count in it: a
 *     Wednesday-to-Friday outage is one gap, from the start of its first
 *     missing expected bucket to the end of its last, whose `buckets` are
 *     the missing expected ones; max_buckets cuts it by that count.
 *   last window: the most recent window of `buckets` buckets ending before
 *     `end` whose expected buckets are all covered and that holds at least one.
 * A table without a timestamp index is TST_EINVAL.
 */
int tst_table_coverage_cal(tst_table *table, const tst_entity_binding *entity,
                           size_t entity_count, const tst_index_value *start,
                           const tst_index_value *end, const tst_calendar *cal,
                           tst_coverage_counts *out);
int tst_table_gaps_cal(tst_table *table, const tst_entity_binding *entity, size_t entity_count,
                       const tst_index_value *start, const tst_index_value *end,
                       const tst_calendar *cal, uint64_t max_buckets, tst_gap_fn fn, void *ctx);
int tst_table_last_covered_window_cal(tst_table *table, const tst_entity_binding *entity,
                                      size_t entity_count, const tst_index_value *end,
                                      uint64_t buckets, const tst_calendar *cal, bool *out_found,
                                      tst_index_value *out_start, tst_index_value *out_end);

/*
 * The buckets cal expects in [start, end) of this table's index (bucket
 * ids, *out: tst_coverage_free it), e.g. for tst_backfill_options.expected
 * or a coverage-guaranteed read.
 */
int tst_table_expected_buckets(tst_coverage **out, tst_table *table, const tst_calendar *cal,
                               const tst_index_value *start, const tst_index_value *end);

/*
 * Renders an identity with its column names, "symbol=NVDA" or
 * "symbol=NVDA,venue=XNAS", as error messages and tools show it. Returns the
 * length it needed, like snprintf (the text is cut to fit cap).
 */
int tst_entity_identity_format_named(const tst_index_spec *spec, const tst_entity_identity *id,
                                     char *buf, size_t cap);

/* Per entity (one row for a table without entity columns, with count 0). */
typedef struct tst_entity_summary {
    tst_entity_identity identity;   /* borrowed from the summary list */
    bool covered;                   /* false: no covered bucket (first/last invalid) */
    tst_index_value first;          /* start of the first covered bucket */
    tst_index_value last;           /* end of the last covered bucket (exclusive) */
    uint64_t covered_buckets;
    uint64_t gaps;                  /* missing runs between first and last */
    uint64_t missing_buckets;       /* buckets of those runs: covered_buckets +
                                       missing_buckets is the extent in buckets */
} tst_entity_summary;

typedef struct tst_coverage_summary tst_coverage_summary;
int tst_table_coverage_summary(tst_table *table, tst_coverage_summary **out);
size_t tst_coverage_summary_count(const tst_coverage_summary *s);
const tst_entity_summary *tst_coverage_summary_at(const tst_coverage_summary *s, size_t i);
void tst_coverage_summary_free(tst_coverage_summary *s);
/*
 * The summary under a calendar (tstable/calendar.h; NULL: the one above):
 * first and last stay the first and last covered buckets, covered_buckets
 * counts covered expected buckets, missing_buckets the expected buckets
 * between first and last that are not covered, and gaps the calendar's
 * gaps between them (closed time between two runs is not a gap).
 */
int tst_table_coverage_summary_cal(tst_table *table, const tst_calendar *cal,
                                   tst_coverage_summary **out);

/*
 * Whether the table has ever seen the identity the bindings name (checked
 * like tst_table_coverage's): *out_known is false when it has no coverage
 * entry at all, which is how a tool tells a misspelt entity ("NVDAA") from
 * one that exists but misses the range asked about. No bindings: true.
 */
int tst_table_entity_known(tst_table *table, const tst_entity_binding *entity,
                           size_t entity_count, bool *out_known);

/* ---- diagnostics -------------------------------------------------------- */

typedef enum tst_log_level { TST_LOG_DEBUG = 0, TST_LOG_INFO = 1, TST_LOG_WARN = 2 } tst_log_level;

/*
 * The library never prints. It reports notable events (e.g. "coverage.recover"
 * when a snapshot had to be rebuilt) to this callback, process-wide; NULL
 * turns it off (the default). The callback may run on any thread; an event
 * already being reported may still reach the previous callback.
 */
typedef void (*tst_log_fn)(void *ctx, tst_log_level level, const char *event,
                           const char *message);
void tst_set_log_callback(tst_log_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
