/*
 * source_values.h — what the append rules need to know about a source's
 * values, not only its types: whether a nullable column holds nulls, and
 * whether finer timestamps are whole numbers of a coarser unit.
 */
#ifndef TST_SOURCE_VALUES_H
#define TST_SOURCE_VALUES_H

#include "source.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The number of nulls in a top-level column of the source. A Parquet
 * file's footer answers when every row group has a null count for the
 * column (not for `nested` columns, whose leaves count their own nulls);
 * otherwise the column is read. TST_ESQL when DuckDB fails.
 */
int tst_source_null_count(const tst_source *src, const char *column, bool nested,
                          uint64_t *out);

/*
 * How many values of a timestamp column in unit `from` are not whole
 * numbers of the coarser unit `to`, and the smallest of them as DuckDB
 * prints it (in UTC) in first[cap] ("" when none). TST_EINVAL unless `to`
 * is coarser than `from`.
 */
int tst_source_inexact_count(const tst_source *src, const char *column, tst_time_precision from,
                             tst_time_precision to, uint64_t *count, char *first, size_t cap);

#endif
