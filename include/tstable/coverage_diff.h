/*
 * tstable/coverage_diff.h — comparing coverage, and planning a backfill.
 *
 * Two questions asked of coverage snapshots, without reading any Parquet:
 *
 *   Diff: which (entity, bucket) slots does `to` hold that `from` does not
 *   (added), and the reverse (removed)? `from` and `to` are two handles:
 *   the same table at two versions (tst_table_open_at), or two tables with
 *   the same index (vendor A against vendor B). This is the exact refresh
 *   set of a downstream job, or a reconciliation report.
 *
 *   Backfill plan: for a range and a set of entities, the fewest
 *   (entity, start, end) requests that fill every missing bucket, none
 *   longer than max_request_buckets. Requests never cover a bucket that
 *   is already covered unless merge_within_buckets allows it: two gaps
 *   separated by at most that many covered buckets may be fetched as one
 *   request (over-fetching the covered buckets between them, which a
 *   vendor API usually charges less for than a second call). With
 *   merge_within_buckets == 0, requests cover gaps only.
 *
 * Results are ranges of whole buckets, half-open [start, end) in index
 * values (end_inclusive when the last bucket is clipped at the domain
 * maximum), merged into maximal runs, sorted by entity (canonical order,
 * coverage.h) and then by start. A list owns its identities: it stays
 * valid after the tables are freed.
 *
 * Cost: proportional to the covered runs inside the range, never to its
 * length in buckets.
 *
 * Thread-safety: like other calls on one handle; a finished list may be
 * read from many threads.
 */
#ifndef TSTABLE_COVERAGE_DIFF_H
#define TSTABLE_COVERAGE_DIFF_H

#include "tstable/table_coverage.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tst_range_change {
    TST_RANGE_ADDED = 1,   /* diff: covered in `to`, not in `from` */
    TST_RANGE_REMOVED = 2, /* diff: covered in `from`, not in `to` */
    TST_RANGE_REQUEST = 3  /* backfill plan: one request */
} tst_range_change;

/* "added", "removed" or "request". */
const char *tst_range_change_name(tst_range_change change);

typedef struct tst_entity_range {
    tst_entity_identity identity; /* borrowed from the list; count 0 without entity columns */
    tst_range_change change;
    tst_index_value start;
    tst_index_value end; /* exclusive, unless end_inclusive */
    bool end_inclusive;
    uint64_t buckets;         /* buckets in [start, end) */
    uint64_t missing_buckets; /* request: of those, the missing ones (== buckets
                                 unless merge_within_buckets over-fetches); diff: buckets */
} tst_entity_range;

typedef struct tst_range_list tst_range_list;
size_t tst_range_list_count(const tst_range_list *list);
/* The i-th range (borrowed, valid until the list is freed); NULL past the end. */
const tst_entity_range *tst_range_list_at(const tst_range_list *list, size_t i);
void tst_range_list_free(tst_range_list *list);

/*
 * What to compare or plan for. start/end: NULL for a diff means the whole
 * index domain; a backfill plan requires both. entities: identities with
 * one value per entity column, in the table's entity_columns order (the
 * values typed as the columns are); NULL/0 means every entity either
 * table knows. An identity a table has never seen covers nothing: a plan
 * asks for all of its range.
 */
typedef struct tst_coverage_scope {
    const tst_index_value *start;
    const tst_index_value *end;
    const tst_entity_identity *entities;
    size_t entity_count;
} tst_coverage_scope;
#define TST_COVERAGE_SCOPE_INIT {NULL, NULL, NULL, 0}

/*
 * The diff from `from` to `to`. The tables must have the same index type
 * and bucket width (1h and 60m are the same buckets) and the same entity
 * columns by name, order and type; otherwise TST_EINVAL naming both. The
 * timezone is display metadata and may differ. Entities match by value.
 * Errors: TST_EINVAL (arguments, mismatched indexes), and the coverage
 * load errors of table_coverage.h.
 */
int tst_table_coverage_diff(tst_range_list **out, tst_table *from, tst_table *to,
                            const tst_coverage_scope *scope);

typedef struct tst_backfill_options {
    tst_coverage_scope scope;     /* start and end required */
    uint64_t max_request_buckets; /* 0: no limit */
    uint64_t merge_within_buckets; /* 0: never request a covered bucket */
    /*
     * Calendars: the buckets data is expected for (bucket ids, index.h), or
     * NULL for every bucket of the range. Only expected buckets are gaps;
     * an unexpected bucket between two gaps counts like a covered one for
     * merge_within_buckets. A weekday/session/holiday calendar plugs in
     * here by producing this set for the range; the planner needs nothing
     * else from it.
     */
    const tst_coverage *expected;
} tst_backfill_options;
#define TST_BACKFILL_OPTIONS_INIT {TST_COVERAGE_SCOPE_INIT, 0, 0, NULL}

/*
 * The fewest requests that fill the gaps of opts->scope in `table`: greedy
 * from the left, each request extended as far as max_request_buckets and
 * merge_within_buckets allow, which is optimal for covering sorted gaps
 * with bounded intervals. Errors as for the diff.
 */
int tst_table_plan_backfill(tst_range_list **out, tst_table *table,
                            const tst_backfill_options *opts);

#ifdef __cplusplus
}
#endif
#endif
