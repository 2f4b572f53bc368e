/*
 * prune.h — which segments of each registered table a SQL statement can
 * need, read from the statement itself (see prune.c for the plan).
 */
#ifndef TST_PRUNE_H
#define TST_PRUNE_H

#include "duck.h"
#include "segment_covs.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <stdbool.h>
#include <stddef.h>

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
} tst_prune_target;

/*
 * Decides referenced/keep for every target. Uses json_serialize_sql on
 * `con` (EXPLAIN [ANALYZE] is read as its inner statement), and evaluates
 * timestamp constants there too, so they are read in the session's current
 * TimeZone exactly as the statement will read them. A statement it cannot
 * serialize (COPY, SHOW, several statements, a syntax error) keeps every
 * segment of every target and leaves `referenced` false: the planner does
 * not know whether it reads the table. Parameters feed the bounds.
 * Errors: TST_ENOMEM only (a statement the planner cannot read is not an
 * error: it prunes nothing). Free the keep arrays with tst_prune_clear().
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
