/*
 * prune.h — which segments of each registered table a SQL statement can
 * need, read from the statement itself (see prune.c for the plan).
 */
#ifndef TST_PRUNE_H
#define TST_PRUNE_H

#include "duck.h"
#include "segment_covs.h"
#include "tstable/coverage.h"
#include "tstable/index.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <stdbool.h>
#include <stddef.h>

/* Why a bound of what a reference reads may be wider than what it reads. */
enum {
    TST_WIDEN_ZONE = 1,  /* a zone offset the planner does not compute (ZONE_SLACK_NS) */
    TST_WIDEN_NOW = 2,   /* now() is read before the statement runs (NOW_SLACK_NS) */
    TST_WIDEN_HULL = 4,  /* an OR or IN of ranges with gaps between them: their hull */
    TST_WIDEN_WHOLE = 8  /* no predicate read (join kind, sample, ...): the whole table */
};

/* Entity columns whose equalities a reference can narrow on. */
#define TST_PRUNE_MAX_ENTITY 8

/*
 * What one reference to a table reads: index values in [lo, hi]
 * (inclusive; a side with has_* false is unbounded) of the entities whose
 * columns equal eq[k] where eq_set[k] (every entity otherwise). It is a
 * superset of what the reference reads: every row the statement reads from
 * the table lies in the union of its references' asks. *_widened say why a
 * bound may be wider than the statement's (TST_WIDEN_*; 0: exact).
 */
typedef struct tst_read_ask {
    bool empty;          /* no row can match (lo > hi, a = 'x' AND a = 'y') */
    bool has_lo, has_hi;
    tst_index_value lo, hi;
    unsigned lo_widened, hi_widened, widened; /* widened: the range as a whole */
    /* A condition on the index was not read: an open side may not mean "no
     * bound", so the check cannot clamp it to the table's extent. */
    bool unread;
    bool eq_set[TST_PRUNE_MAX_ENTITY];
    tst_entity_value eq[TST_PRUNE_MAX_ENTITY]; /* utf8 bytes malloc'd, owned by the ask */
} tst_read_ask;

/* One registered tstable, as the pruner sees it. */
typedef struct tst_prune_target {
    const char *name;   /* the registration name (matched case-insensitively) */
    tst_table *table;   /* refreshed by the caller; read only */
    /* For the bitmap check: the table root and the session's sidecar cache
     * of this table (NULL: min/max and identity only). */
    const char *root;
    tst_segment_covs **covs;
    /* Filled by tst_prune_statement(): */
    bool referenced;    /* the parsed statement reads the table by name */
    bool *keep;         /* per segment (tst_table_segment_at order); malloc'd, or NULL */
    bool *in_range;     /* per segment: min/max and identity kept it (the bitmap
                         * may still have skipped it: in_range && !keep) */
    tst_read_ask *asks; /* one per reference the walk read (malloc'd), when referenced */
    /* A WHERE of a SELECT that does not itself read the table names a column
     * of its index column's name: a bound applied outside its references
     * (over a CTE, a subquery), which the asks do not show. */
    bool outer_bound;
    size_t ask_count, ask_cap;
    /* The session's time index of this table's segments (prune.c builds it
     * when the table's version changes; NULL: scan every segment). */
    struct tst_segment_order **order;
} tst_prune_target;

/* Segments sorted by index_min with the running maximum of index_max, so
 * that a statement finds the segments meeting its range in O(log n + k). */
typedef struct tst_segment_order tst_segment_order;
void tst_segment_order_free(tst_segment_order *order);

/*
 * Decides referenced/keep for every target. Uses json_serialize_sql on
 * `con` (EXPLAIN [ANALYZE] is read as its inner statement), and evaluates
 * timestamp constants there too, so they are read in the session's current
 * TimeZone exactly as the statement will read them. A statement it cannot
 * serialize (COPY, SHOW, several statements, a syntax error) keeps every
 * segment of every target and leaves `referenced` false: the planner does
 * not know whether it reads the table. Parameters feed the bounds.
 * Each reference also leaves what it reads in `asks` (coverage_check.c).
 * Errors: TST_ENOMEM only (a statement the planner cannot read is not an
 * error: it prunes nothing). Free the keep arrays and asks with
 * tst_prune_clear().
 */
int tst_prune_statement(duckdb_connection con, const char *sql, const tst_param *params,
                        size_t param_count, tst_prune_target *targets, size_t target_count);
/* Whether `name` appears in the text as a whole identifier (any case): the
 * tables a statement can reference are among those it mentions. */
bool tst_prune_mentions(const char *sql, const char *name);

/* The name a statement defines when it is CREATE [OR REPLACE] [TEMP|TEMPORARY]
 * VIEW|MACRO|FUNCTION [IF NOT EXISTS] name ...: *out malloc'd, "" when the
 * name cannot be read; *out NULL for any other statement. TST_ENOMEM. */
int tst_prune_defined_name(const char *sql, char **out);

void tst_prune_clear(tst_prune_target *targets, size_t target_count);

#endif
