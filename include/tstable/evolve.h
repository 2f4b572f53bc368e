/*
 * tstable/evolve.h — changing a table's schema: adding nullable columns.
 *
 * A protocol-7 table's logical schema is fixed by its first append. Later,
 * new columns can be added at its end, each nullable, in one metadata-only
 * commit: the commit holds a single UpdateTableMeta with the full TableMeta,
 * the new fields appended to logical_schema.columns in the order given, and
 * the feature "schema_add_columns" added to required_reader_features (the
 * reference's `add_columns`, releases 0.8+). No data file, sidecar or
 * coverage pointer is read or written.
 *
 * After the addition:
 *   - rows written before it read as NULL in the new columns (scan, SQL);
 *   - appends may leave out any nullable column other than the index and
 *     entity columns; the segment is written with the whole schema, nulls
 *     in the columns left out (a table that never added a column keeps the
 *     rule that every column must be given);
 *   - optimize rewrites older segments in the whole schema, nulls filled;
 *   - readers that do not know "schema_add_columns" (the reference 0.5 to
 *     0.7, tstable before this feature) refuse the table, naming it.
 * A SQL session that registered the table sees the new columns at its next
 * query (the reference 0.9.0 asks to register the table again; doing so here
 * is harmless).
 *
 * Format_version-6 tables (reference 0.4) have no feature lists, so they
 * cannot take an addition: migrate them to protocol 7 first
 * (`tstable migrate --table SRC --to DST`).
 */
#ifndef TSTABLE_EVOLVE_H
#define TSTABLE_EVOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "tstable/arrow.h"
#include "tstable/schema.h"
#include "tstable/table.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Adds `count` columns (borrowed; copied into the table's metadata) at the
 * end of the table's schema, in one commit, and moves the handle to it.
 * *out_version (may be NULL) receives the committed version.
 *
 * The commit is made on the handle's version, which is not refreshed first:
 * when another writer committed since the handle was opened or refreshed,
 * nothing is written and the call fails with TST_ECONFLICT (expected and
 * found versions in tst_error_last()); refresh and call again.
 *
 * Rules, each TST_ESCHEMA naming the column when broken (nothing written):
 *   - at least one column;
 *   - every name non-empty, not only whitespace, new to the table and not
 *     repeated (names are exact and case-sensitive: "Price" and "price"
 *     are two columns);
 *   - every column nullable (rows already written hold no value for it);
 *   - the type a table type this build can write (struct, list and map
 *     included; Int96 and "Other" types, fixed-size binary and decimals over
 *     38 digits are refused);
 *   - the table already has a schema (it gets one from its first append).
 * Other errors: TST_EINVAL for NULL arguments; TST_EUNSUPPORTED for a
 * format_version-6 table (migrate it first, see above) or a table with a
 * feature this build cannot write; TST_EIO, TST_EAMBIGUOUS as for any
 * commit (tst_table_commit_json in table.h).
 *
 * Not thread-safe on one handle; several processes may add columns and
 * append concurrently: each version is won by exactly one writer.
 */
int tst_table_add_columns(tst_table *table, const tst_field *columns, size_t count,
                          uint64_t *out_version);

/*
 * The same, with the columns given as the children of an Arrow struct schema
 * (borrowed: not released). Each child's type must be a table type exactly
 * (pyarrow's pa.int64(), pa.string(), pa.timestamp("us", tz="UTC"), ...;
 * int16, large_string or timestamp[s] are TST_ESCHEMA: cast them first), and
 * its nullable flag must be set. A schema that is not a struct: TST_EINVAL.
 */
int tst_table_add_columns_arrow(tst_table *table, const struct ArrowSchema *columns,
                                uint64_t *out_version);

#ifdef __cplusplus
}
#endif
#endif
