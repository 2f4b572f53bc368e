/*
 * tstable/scan.h — reading a time range of a table as Arrow.
 *
 * tst_table_scan() returns the rows whose index lies in the half-open range
 * [start, end) as an Arrow C stream (tstable/arrow.h) that pyarrow, polars,
 * DuckDB or any Arrow consumer can read without a copy through another
 * format. Rows with a null index are never returned. Row order is not
 * specified.
 *
 * Only segments that can hold such rows are opened: those whose recorded
 * [index_min, index_max] meets [start, end) and, when an entity is given,
 * whose layout does not name another identity. The list is decided from the
 * handle's metadata before any file is touched, so a segment outside the
 * range is never read (its file may even be gone).
 *
 * Timestamp bounds are compared in the index column's own unit, rounded up
 * when they fall between two representable values (format §5.1): with a
 * millisecond column, start = 10.0005 s keeps rows from 10.001 s on, and
 * end = 10.0005 s keeps rows up to 10.000 s. A bound beyond the unit's range
 * (nanosecond columns hold years 1677..2262) is clamped, never an error.
 *
 * Streaming: the result is produced batch by batch by DuckDB while the
 * consumer calls get_next, so memory is bounded by a batch (a few thousand
 * rows) plus DuckDB's read buffers, not by the segments' size.
 *
 * Thread-safety: the call reads the handle like other readers (see
 * table.h). The stream it returns is independent of the handle (it may
 * outlive it) and may be consumed from any one thread at a time.
 */
#ifndef TSTABLE_SCAN_H
#define TSTABLE_SCAN_H

#include <stddef.h>

#include "tstable/arrow.h"
#include "tstable/index.h"
#include "tstable/table_coverage.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tst_table tst_table;

/*
 * Scans [start, end) of the table at the handle's version into *out.
 *
 * start, end: values of the table's index type, start < end.
 * entity, entity_count: NULL, 0 for every entity; otherwise bindings for
 *   every entity column exactly once, as in table_coverage.h, and only the
 *   rows of that identity are returned.
 * columns, column_count: NULL, 0 for every column in schema order;
 *   otherwise these columns, in this order (each named once).
 *
 * The Arrow schema is a struct ("+s") of the columns as the segments store
 * them: utf8 "u", int64 "l", uint64 "L", timestamps "tsm:", "tsu:", "tsn:"
 * (zoned ones "tsu:UTC"), ... A range no segment meets gives a stream with
 * that schema and no batches.
 *
 * Ownership: on success *out is a live stream the caller must release
 * (out->release(out)) exactly once; it owns the DuckDB connection and
 * result behind it and frees them on release. On failure *out is left
 * with release == NULL.
 *
 * Errors, all before any stream is returned: TST_EINVAL for a NULL
 * argument, a value of another domain, start >= end, bad entity bindings,
 * an unknown or repeated column, or a table with no schema yet (nothing
 * appended, so no columns to describe) — all checked before any I/O;
 * TST_ENOTFOUND naming the data file of a segment the range needs that is
 * missing; TST_ESQL when DuckDB cannot open the files; TST_ENOMEM.
 * A failure while the stream runs is returned by get_next as an errno (EIO)
 * with DuckDB's message in get_last_error.
 */
int tst_table_scan(tst_table *table, const tst_index_value *start, const tst_index_value *end,
                   const tst_entity_binding *entity, size_t entity_count,
                   const char *const *columns, size_t column_count,
                   struct ArrowArrayStream *out);

#ifdef __cplusplus
}
#endif
#endif
