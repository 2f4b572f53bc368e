/*
 * segment_select.h — the SELECT that reads a chosen list of segments, and
 * the Arrow stream over a DuckDB result; shared by the native scan
 * (src/ops/scan.c) and the SQL session (src/sql/session.c).
 *
 * Both decide the segment list before DuckDB binds anything (read_parquet
 * opens every listed file at bind), then read
 *
 *   SELECT CAST(c AS T) AS c, ... FROM read_parquet([files], union_by_name = ...)
 *
 * with T the DuckDB type of the column's logical type, so that the result
 * has the table's schema whichever segments were kept, and
 *
 *   SELECT CAST(NULL AS T) AS c, ... WHERE false
 *
 * when none were: same columns, no rows, no file opened.
 */
#ifndef TST_SEGMENT_SELECT_H
#define TST_SEGMENT_SELECT_H

#include "duck.h"
#include "tstable/arrow.h"
#include "tstable/schema.h"

#include <stdbool.h>
#include <stddef.h>

/* The DuckDB type a segment column of this logical type reads as. */
int tst_select_duck_type(tst_sql *t, const tst_type *type);

/* "CAST(c AS T) AS c" (nested columns pass as read), or with no files
 * "CAST(NULL AS T) AS c". */
int tst_select_column(tst_sql *t, const tst_field *f, bool no_files);

/* " FROM read_parquet(['a', 'b'], union_by_name = true|false)". */
int tst_select_from(tst_sql *t, char *const *files, size_t file_count, bool union_by_name);

/*
 * After add_columns (feature schema_add_columns) files written before an
 * addition lack its columns, and read_parquet(union_by_name = true) has a
 * column only when some listed file has it. So such a table's SELECT first
 * asks DuckDB which columns the kept files have (one more bind, reading
 * their footers), and reads each column they all lack as
 * "CAST(NULL AS T) AS c". The names are malloc'd; clear releases them.
 */
typedef struct tst_select_names {
    char **names;
    size_t count;
} tst_select_names;
int tst_select_file_columns(char *const *files, size_t file_count, tst_select_names *out);
bool tst_select_names_has(const tst_select_names *names, const char *name);
void tst_select_names_clear(tst_select_names *names);

/*
 * The absolute path of a segment's data file, checked to exist: a missing
 * file is TST_ENOTFOUND naming it (instead of DuckDB's error at bind).
 * `what` prefixes the message ("scan of table /x"). *out is malloc'd.
 */
int tst_select_segment_file(const char *root, const tst_segment *seg, const char *what,
                            char **out);

/*
 * Runs `prepared` (already bound) as a streaming query and hands its rows
 * out as an Arrow C stream, one DuckDB chunk per get_next
 * (duckdb_data_chunk_to_arrow), so memory is bounded by a chunk.
 *
 * The stream takes the prepared statement, and the connection too when
 * own_connection is true (the native scan's stream outlives its caller's
 * frame; a session's stream borrows the session's connection). On failure
 * both are released the same way and *out is untouched. `what` names the
 * work in messages ("scan", "query").
 */
int tst_result_stream_open(duckdb_connection con, bool own_connection,
                           duckdb_prepared_statement prepared, const char *what,
                           struct ArrowArrayStream *out);

#endif
