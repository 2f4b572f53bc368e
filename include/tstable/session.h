/*
 * tstable/session.h — SQL over tables and Parquet files.
 *
 * A session is a SQL workspace backed by DuckDB. Register tstables and plain
 * Parquet files (or folders of them) under names, then run any SQL DuckDB
 * understands against those names: joins between tables and files, window
 * functions, date_trunc, time_bucket, ASOF joins, EXPLAIN.
 *
 *   tst_session *s;
 *   tst_session_open(&s);
 *   tst_session_register_table(s, "bars", "/data/bars");
 *   tst_session_register_parquet(s, "refs", "/data/refs.parquet");
 *   tst_session_query(s, "SELECT symbol, avg(close) FROM bars "
 *                        "WHERE ts >= $1 AND ts < $2 GROUP BY symbol", params, 2, &stream);
 *
 * Freshness: a registered table answers for its latest committed version;
 * each statement refreshes it (reading only new commits), so rows another
 * process appended are seen without registering again. A table registered
 * at a version (tst_session_register_table_at) or named "name@v12" in a
 * statement answers for that version instead (time travel, below).
 *
 * Pruning: before a statement runs, its predicates on a registered table's
 * index column (comparisons and BETWEEN with constants or parameters,
 * col::DATE comparisons, now() [+|- interval], OR and IN of those) and
 * equalities on its entity columns are read from the parsed statement, and
 * only the segments whose bounds and identity can match are given to the
 * engine — the files of the others are never opened. Timestamp constants are
 * read exactly as DuckDB reads them in this session: a zone-less text, DATE
 * or TIMESTAMP compared with a TIMESTAMPTZ index is in the session's current
 * TimeZone (SET TimeZone = '...' is followed, DST included). EXPLAIN
 * [ANALYZE] prunes its inner statement. A table reached through a view or
 * macro the session defined reads every segment. Anything the planner cannot
 * read prunes nothing: results are always those of the full table.
 *
 * Registration opens and checks no data file. A statement that needs a
 * segment whose file is missing fails with TST_ENOTFOUND naming the table,
 * the segment and the file (tst_error_last()->path is the file); one whose
 * range excludes it runs.
 *
 * Coverage in SQL, as table functions usable in joins:
 *   tstable_coverage('name', start, end)
 *       -> entity VARCHAR, covered_buckets UBIGINT, missing_buckets UBIGINT,
 *          total_buckets UBIGINT, ratio DOUBLE, max_gap_buckets UBIGINT
 *          (one row per entity identity; one row with entity NULL for a
 *          table without entity columns)
 *   tstable_gaps('name', start, end [, entity])
 *       -> entity VARCHAR, gap_start, gap_end (the index type), buckets UBIGINT
 *          (one row per missing range; entity 'col=value[,col=value]' or,
 *          for a single entity column, just the value)
 * start and end are values of the index type (or ISO-8601 strings for
 * timestamps); ranges are half-open.
 *
 * Errors from the engine are TST_ESQL with DuckDB's message; an unknown
 * registration name is TST_ENOTFOUND. Thread-safety: one thread at a time
 * per session; sessions are independent (each has its own connection).
 */
#ifndef TSTABLE_SESSION_H
#define TSTABLE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tstable/arrow.h"
#include "tstable/index.h"
#include "tstable/calendar.h"
#include "tstable/table_coverage.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tst_session tst_session;

int tst_session_open(tst_session **out);
/* Releases the session and its registrations (not the tables on disk). */
void tst_session_free(tst_session *session);

/*
 * Registers the tstable at `root` as `name` (a SQL identifier). The table
 * must have a schema (at least one append): TST_EEMPTY otherwise. Replaces
 * an existing registration of that name only on success.
 */
int tst_session_register_table(tst_session *session, const char *name, const char *root);

/*
 * Time travel: registers the table as it was at `version`, or as of the
 * instant `at` (resolved once, at registration), as tst_table_open_at and
 * tst_table_open_as_of open it. Statements never move such a registration;
 * pruning applies as usual. Errors: those of tst_table_open_at / _as_of
 * (TST_EVACUUMED, TST_ENOTFOUND for a version after the latest, ...), and
 * those of tst_session_register_table.
 *
 * A statement can also name any registered table at another version with
 * a quoted identifier, "name@v12" (or "name@12") for a version and
 * "name@2024-06-01T09:30:00Z" for an instant (no offset: UTC, whatever the
 * session's TimeZone), e.g. to compare two versions in one statement:
 *
 *   SELECT count(*) FROM bars EXCEPT SELECT count(*) FROM "bars@v12"
 *
 * Such a name is opened at its first use and kept for the session (an
 * instant is resolved again when the table has new commits); its
 * predicates prune its segments as the table's own do. tstable_coverage and
 * tstable_gaps take it as text too: tstable_coverage('bars@v12', ...).
 */
int tst_session_register_table_at(tst_session *session, const char *name, const char *root,
                                  uint64_t version);
int tst_session_register_table_as_of(tst_session *session, const char *name, const char *root,
                                     tst_timestamp at);

/* Registers a Parquet file, a folder of Parquet files, or a glob, as `name`. */
int tst_session_register_parquet(tst_session *session, const char *name, const char *path);

/* Forgets a registration. TST_ENOTFOUND if there is none. */
int tst_session_deregister(tst_session *session, const char *name);

/* Registered names, sorted; the pointers live until the next (de)registration. */
size_t tst_session_name_count(const tst_session *session);
const char *tst_session_name_at(const tst_session *session, size_t i);
/* The table root behind a registered tstable name, or NULL (Parquet or unknown). */
const char *tst_session_table_root(const tst_session *session, const char *name);

/* A statement parameter: $1, $2, ... when name is NULL, else $name. */
typedef enum tst_param_type {
    TST_PARAM_NULL = 0,
    TST_PARAM_BOOL,
    TST_PARAM_INT64,
    TST_PARAM_UINT64,
    TST_PARAM_DOUBLE,
    TST_PARAM_TEXT,    /* also for timestamps: '2024-06-01T00:00:00Z' */
    TST_PARAM_BLOB
} tst_param_type;

typedef struct tst_param {
    const char *name;   /* NULL: positional, in array order */
    tst_param_type type;
    union {
        bool b;
        int64_t i64;
        uint64_t u64;
        double f64;
        struct {
            const char *ptr;
            size_t len;
        } bytes;         /* TEXT (UTF-8) and BLOB */
    } v;
} tst_param;

/*
 * Runs one statement and returns its rows as an Arrow C stream, produced
 * batch by batch as the consumer reads (memory is bounded by a batch).
 * The stream owns what it needs; release it when done. A session runs one
 * statement at a time: release (or read to the end) the stream before the
 * next call on the same session.
 */
int tst_session_query(tst_session *session, const char *sql, const tst_param *params,
                      size_t param_count, struct ArrowArrayStream *out);

/*
 * Row by row, for printing: every value rendered as text (NULL for SQL
 * NULL). Timestamps print as RFC 3339 UTC (zone-less TIMESTAMP without the
 * Z), DOUBLEs with the fewest significant digits (up to 17) that read back
 * as the same value, FLOATs likewise (up to 9).
 */
typedef struct tst_rows tst_rows;
int tst_session_query_rows(tst_session *session, const char *sql, const tst_param *params,
                           size_t param_count, tst_rows **out);
size_t tst_rows_column_count(const tst_rows *rows);
const char *tst_rows_column_name(const tst_rows *rows, size_t col);
/* The column's type as DuckDB names it ("BIGINT", "TIMESTAMP WITH TIME ZONE"). */
const char *tst_rows_column_type(const tst_rows *rows, size_t col);
/* Advances to the next row: 1 = a row, 0 = done, negative = error. */
int tst_rows_next(tst_rows *rows);
/* The current row's value as text, rendered when asked (a row that is only
 * counted costs nothing), borrowed until the next tst_rows_next; NULL for
 * SQL NULL, or when rendering ran out of memory (tst_error_last says). */
const char *tst_rows_value(tst_rows *rows, size_t col);
void tst_rows_free(tst_rows *rows);

/*
 * Writes the whole result of a statement to a file, streaming:
 * format "csv" (with header), "json" (one array of row objects), "jsonl"
 * (one object per line), "parquet", "arrow" (the Arrow IPC file format,
 * Feather v2) or "arrows" (the Arrow IPC stream format); ENUM and UNION
 * columns are TST_EUNSUPPORTED in the Arrow formats. In csv, json and jsonl,
 * timestamp columns are written as RFC 3339 text, as tst_rows_value renders
 * them (2024-06-01T00:00:00Z; fractional digits only when present; no Z for
 * a zone-less TIMESTAMP). Any statement works: SELECTs, DESCRIBE, SHOW and
 * SUMMARIZE through DuckDB's COPY; others (EXPLAIN, PRAGMA) are written row
 * by row, and only in csv, json, jsonl or the Arrow formats. Errors in the
 * statement quote the statement as given. Written to a temp file beside
 * `path` and renamed into place; a missing folder is TST_ENOTFOUND naming
 * it. *out_rows (may be NULL) receives the row count.
 */
int tst_session_export(tst_session *session, const char *sql, const tst_param *params,
                       size_t param_count, const char *format, const char *path,
                       uint64_t *out_rows);

/*
 * Asks the statement the session is running to stop: it fails soon after
 * with TST_ESQL ("Interrupted"), and the session and its registrations stay
 * usable. Safe to call from another thread than the one running the
 * statement (not from a signal handler: post to a thread that calls it).
 * Does nothing when no statement runs.
 */
void tst_session_interrupt(tst_session *session);

/* What pruning decided for the last statement, for EXPLAIN-like output and
 * tests: segments considered and kept, summed over the registered tables
 * the statement reached (for EXPLAIN [ANALYZE] x, those of x), and why the
 * others were skipped: their index range or single identity cannot match
 * (range_skipped), or their range can but their coverage sidecar holds
 * none of the (entity, bucket) slots asked for (bitmap_skipped). candidate
 * = kept + range_skipped + bitmap_skipped. */
typedef struct tst_prune_stats {
    uint64_t candidate_segments;
    uint64_t kept_segments;
    uint64_t range_skipped_segments;
    uint64_t bitmap_skipped_segments;
} tst_prune_stats;
void tst_session_last_prune(const tst_session *session, tst_prune_stats *out);

/* ---- coverage-guaranteed reads --------------------------------------------
 *
 * A backtest that silently reads a range with holes in it is wrong without
 * saying so. With a coverage mode set, every statement is checked before it
 * runs: the (entity, bucket) slots it reads of each registered tstable must
 * all be covered by that table (at the version the statement reads: a
 * time-travel registration is checked against its own version).
 *
 * What a statement reads is what the pruner reads from it (see Pruning
 * above), per reference to a table, unioned over its references: an index
 * range [lo, hi] and the entity equalities. Where the planner cannot be
 * exact, it checks more than the statement reads — never less — so a check
 * may fail for a slot the statement would not have read, never pass with a
 * slot missing. The report says where a bound was widened
 * (TST_COVERAGE_WIDENED_*) and the message says how to write an exact one.
 *   - a side with no bound reaches the table's covered extent (its first
 *     covered bucket, the end of its last, over all entities): an entity
 *     that stopped early shows its tail as missing;
 *   - no equality on the entity columns: every entity the table knows; an
 *     equality naming an entity the table has no data for: that entity,
 *     missing over the whole range;
 *   - a reference the planner does not narrow (ASOF or POSITIONAL joins,
 *     SAMPLE, a view or macro the session defined): the whole table;
 *   - a statement the planner cannot read at all (COPY, several statements,
 *     DDL, the name inside a string or query('...')) but that names a
 *     registered tstable is not checked: TST_COVERAGE_REQUIRE refuses it,
 *     TST_COVERAGE_WARN reports that nothing could be checked. So is a
 *     range left open on a side where a condition on the index could not
 *     be read (ts >= date_trunc('day', now()), NOT (ts < x), an index
 *     compared with another column, or a bound applied outside the WHERE
 *     that reads the table, over a CTE or subquery of it): its open side is
 *     not "no bound", and clamping it to the extent could miss a gap before
 *     the data starts.
 * Missing slots are merged into ranges per entity, in index values; the
 * cost is proportional to the covered runs in the ranges, never to their
 * length in buckets.
 */
typedef enum tst_coverage_mode {
    TST_COVERAGE_OFF = 0,     /* no check (the default) */
    TST_COVERAGE_REQUIRE = 1, /* fail with TST_EINCOMPLETE and run nothing */
    TST_COVERAGE_WARN = 2     /* run, and leave the report for the caller to show */
} tst_coverage_mode;

/* Sets the mode for the session's next statements (query, query_rows,
 * export). TST_EINVAL for an unknown mode. */
int tst_session_set_coverage_mode(tst_session *session, tst_coverage_mode mode);
tst_coverage_mode tst_session_coverage_mode(const tst_session *session);

/*
 * A calendar for the checks (tstable/calendar.h): only the buckets it
 * expects are asked, so nights, weekends and holidays are never missing,
 * and a missing range runs across closed time the way a calendar gap does
 * (its `buckets` count expected buckets only). The session takes
 * ownership of `cal` (freed with the session or the next call); NULL goes
 * back to every bucket. A table without a timestamp index cannot be
 * checked under a calendar (TST_EINVAL from the statement).
 */
void tst_session_set_coverage_calendar(tst_session *session, tst_calendar *cal);

/* Why what was checked may be more than the statement reads. */
enum {
    TST_COVERAGE_WIDENED_ZONE = 1,  /* a zone offset the planner does not compute: +-17 h */
    TST_COVERAGE_WIDENED_NOW = 2,   /* now() is read just before the statement: +-1 h */
    TST_COVERAGE_WIDENED_HULL = 4,  /* OR / IN of separate ranges: everything between */
    TST_COVERAGE_WIDENED_WHOLE = 8, /* a reference the planner does not narrow: all of it */
    TST_COVERAGE_WIDENED_VIEW = 16  /* reached through a view or macro: all of it */
};

/* One missing range of one entity. */
typedef struct tst_coverage_missing {
    const char *table;   /* the registration name, e.g. "bars" or "bars@v3" */
    const char *entity;  /* "symbol=AAPL" ("" for a table without entity columns) */
    /* The entity as column = value: every entity column, or only those the
     * statement fixed when the table has no entity matching them (known
     * false). */
    const tst_entity_binding *bindings;
    size_t binding_count;
    bool known;          /* the table has data for this entity somewhere */
    tst_index_value start, end; /* [start, end), bucket edges */
    bool end_inclusive;  /* end is the domain's maximum itself */
    uint64_t buckets;
} tst_coverage_missing;

/* What was checked of one table the statement reaches. */
typedef struct tst_coverage_checked {
    const char *table;
    bool readable;        /* false: the planner could not tell what it reads (unchecked) */
    bool bound_unread;    /* why readable is false: a condition on the index the planner
                           * cannot read leaves a side of the range open, so it is not
                           * known to mean "to the end of the data" */
    bool empty;           /* the statement reads nothing of it (or the range is outside it) */
    tst_index_value start, end; /* hull of the asked buckets, [start, end) */
    bool end_inclusive;
    unsigned widened;     /* TST_COVERAGE_WIDENED_* */
    size_t entities;      /* entities asked about */
    bool calendar;        /* under a calendar: only the slots it expects were asked */
    uint64_t asked_buckets;   /* (entity, bucket) slots asked, saturating */
    uint64_t missing_buckets; /* of those, not covered */
} tst_coverage_checked;

typedef struct tst_coverage_report {
    tst_coverage_mode mode;
    bool complete;        /* every table readable and nothing missing */
    const tst_coverage_checked *tables;
    size_t table_count;
    const tst_coverage_missing *missing; /* by table, entity, start */
    size_t missing_count;
    uint64_t missing_buckets;
    /* "" when complete; else what is missing (up to 5 ranges per entity),
     * what was checked and what to do: the TST_EINCOMPLETE message. */
    const char *message;
} tst_coverage_report;

/*
 * The check of the session's last statement, or NULL when it ran without
 * one (mode off, or it failed before the check). Borrowed: valid until the
 * session's next statement or tst_session_free. Under TST_COVERAGE_REQUIRE
 * a failed check is also the statement's TST_EINCOMPLETE error.
 */
const tst_coverage_report *tst_session_last_coverage(const tst_session *session);

/*
 * The same check for a direct read of [start, end) of `table` (the
 * entity as bindings, possibly only some of the entity columns; none: every
 * entity), as tst_scan reads it, with tst_coverage_mode semantics: under
 * TST_COVERAGE_REQUIRE a gap is TST_EINCOMPLETE (with the report still
 * given in *out). `name` labels the table in the report (NULL: its root);
 * `cal` (NULL: every bucket) as for tst_session_set_coverage_calendar.
 * *out is the caller's: tst_coverage_report_free. Errors: TST_EINVAL for a
 * bad range or binding, those of loading the coverage.
 */
int tst_table_check_coverage(tst_table *table, const char *name,
                             const tst_entity_binding *entity, size_t entity_count,
                             const tst_index_value *start, const tst_index_value *end,
                             const tst_calendar *cal, tst_coverage_mode mode,
                             tst_coverage_report **out);
void tst_coverage_report_free(tst_coverage_report *report);

#ifdef __cplusplus
}
#endif
#endif
