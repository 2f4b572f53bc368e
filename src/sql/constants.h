/*
 * constants.h — the constants a statement compares a timestamp index with,
 * evaluated by DuckDB in the statement's own session, all in one SELECT
 * (see constants.c). The pruner uses it so that it never interprets a
 * timestamp itself.
 */
#ifndef TST_CONSTANTS_H
#define TST_CONSTANTS_H

#include "duck.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tst_constant {
    char *sql;   /* a BIGINT expression: epoch_us(CAST('...' AS TIMESTAMPTZ)) */
    bool ok;     /* a value came back (not NULL, no error) */
    int64_t value;
} tst_constant;

/* Zero-initialise, then set `con`. Collecting until tst_constants_evaluate. */
typedef struct tst_constants {
    duckdb_connection con;
    bool evaluated;
    bool zone_read, zone_utc;
    tst_constant *items;
    size_t count, cap;
} tst_constants;

/*
 * Before tst_constants_evaluate: records `expr` and answers false. After:
 * answers its value (false when it has none, e.g. a text DuckDB cannot
 * cast, infinity, or an expression that was not recorded).
 */
bool tst_constants_get(tst_constants *k, const char *expr, int64_t *out);

/* SELECT current_setting('TimeZone'), TRY(e1), TRY(e2), ... in the session. */
void tst_constants_evaluate(tst_constants *k);

/* Whether the session's TimeZone is UTC (read with the batch, or now). */
bool tst_constants_zone_is_utc(tst_constants *k);

void tst_constants_free(tst_constants *k);

#endif
