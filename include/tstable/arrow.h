/*
 * tstable/arrow.h — the Arrow C Data Interface, as tstable exchanges data.
 *
 * Rows cross the library's boundary as Arrow: an append consumes a
 * struct ArrowArrayStream (tst_table_append_arrow, append.h) and the native
 * range scan produces one (tst_table_scan, scan.h). pyarrow, polars, DuckDB
 * and arrow-rs all speak this ABI, so data moves between them and tstable
 * without a copy through another format.
 *
 * The structs below are the ones the Arrow specification defines
 * (https://arrow.apache.org/docs/format/CDataInterface.html and
 * CStreamInterface.html), byte for byte. Every producer and consumer
 * defines them under the same guards, ARROW_C_DATA_INTERFACE and
 * ARROW_C_STREAM_INTERFACE, so this header can be included together with
 * nanoarrow, Arrow C++'s abi.h or any other copy. duckdb.h only
 * forward-declares struct ArrowSchema and struct ArrowArray, so it combines
 * with this header in either order.
 *
 * Ownership follows the specification: whoever holds a struct whose
 * `release` is not NULL must call release exactly once; release sets it to
 * NULL. Moving a struct is a plain copy followed by marking the source
 * released (release = NULL).
 */
#ifndef TSTABLE_ARROW_H
#define TSTABLE_ARROW_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
    /* Array type description */
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;

    /* Release callback */
    void (*release)(struct ArrowSchema *);
    /* Opaque producer-specific data */
    void *private_data;
};

struct ArrowArray {
    /* Array data description */
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;

    /* Release callback */
    void (*release)(struct ArrowArray *);
    /* Opaque producer-specific data */
    void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

struct ArrowArrayStream {
    /* Callbacks providing stream functionality. Each returns 0 or an errno
     * value; get_last_error describes the last failure (borrowed, valid
     * until the next call on the stream). get_next sets out->release to
     * NULL at the end of the stream. */
    int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
    int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
    const char *(*get_last_error)(struct ArrowArrayStream *);

    /* Release callback */
    void (*release)(struct ArrowArrayStream *);
    /* Opaque producer-specific data */
    void *private_data;
};

#endif /* ARROW_C_STREAM_INTERFACE */

#ifdef __cplusplus
}
#endif
#endif
