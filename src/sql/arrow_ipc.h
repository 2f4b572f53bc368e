/*
 * arrow_ipc.h — an Arrow C stream written out as an Arrow IPC stream (the
 * "Arrow streaming format": a Schema message, one RecordBatch message per
 * batch, the end-of-stream marker), the bytes pyarrow.ipc.open_stream,
 * polars and apache-arrow's tableFromIPC read. tst_session_export's
 * "arrow" format is this writer over tst_session_query's stream.
 *
 * The writer is a consumer of the C data interface, not of DuckDB: any
 * producer's stream works, including arrays with a non-zero offset
 * (slices), which are written normalised (offset 0). Types: null, bool,
 * every int and float width, utf8/binary and their large forms, fixed
 * binary, decimals, dates, times, timestamps (with timezone), durations,
 * intervals, struct, list, large list, fixed-size list, map. Dictionary
 * encoded columns, unions, run-end and view types are refused.
 */
#ifndef TST_ARROW_IPC_H
#define TST_ARROW_IPC_H

#include "tstable/arrow.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Receives the stream's bytes in order. Returns 0, or a negative TST_E
 * code after recording the error with tst_fail() (the writer stops and
 * returns that code).
 */
typedef int (*tst_arrow_ipc_sink)(void *ctx, const void *bytes, size_t len);

/*
 * Reads `stream` to its end and writes it to `sink` as an Arrow IPC stream.
 * The stream is borrowed (not released); each batch is released once
 * written. *out_rows (may be NULL) receives the number of rows written.
 * Errors:
 *   TST_EUNSUPPORTED  a column whose type has no encoding here (dictionary,
 *                     union, view, run-end), naming the column and format;
 *   TST_EINVAL        a schema or array that breaks the C data interface
 *                     (unknown format, wrong buffer or child count, offsets
 *                     going backwards);
 *   TST_ESQL          the stream failed (its get_last_error text);
 *   TST_ENOMEM, or whatever the sink returned.
 * Nothing is retracted on failure: the caller writes to a temp file.
 */
int tst_arrow_ipc_write_stream(struct ArrowArrayStream *stream, tst_arrow_ipc_sink sink, void *ctx,
                               uint64_t *out_rows);

/*
 * The same as an Arrow IPC file (Feather v2: magic, the stream, a footer
 * listing every batch; read by pyarrow.ipc.open_file, pyarrow.feather,
 * polars.read_ipc). Same errors.
 */
int tst_arrow_ipc_write_file(struct ArrowArrayStream *stream, tst_arrow_ipc_sink sink, void *ctx,
                             uint64_t *out_rows);

#endif
