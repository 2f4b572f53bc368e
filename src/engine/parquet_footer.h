/*
 * parquet_footer.h — marking top-level timestamp columns of a Parquet file
 * as UTC instants (isAdjustedToUTC=true) by editing its footer in place.
 *
 * DuckDB writes a zoned column only as microseconds (TIMESTAMPTZ); a
 * re-encoded segment of a zoned ms, ns or non-UTC table holds the UTC
 * instants in a plain timestamp of the unit, which the footer then calls
 * TIMESTAMP(unit, isAdjustedToUTC=false). Readers that trust that flag
 * (DuckDB) take such values as wall times of the session's zone. Thrift's
 * compact protocol keeps a bool field in its field header's type nibble, so
 * the flag turns true without any byte moving (see parquet_footer.c).
 * Also: adding the logical types DuckDB leaves out (strings, lists, maps)
 * for readers that look at nothing else, such as the reference 0.4.0.
 */
#ifndef TST_PARQUET_FOOTER_H
#define TST_PARQUET_FOOTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Sets isAdjustedToUTC=true on each named column of the Parquet file at
 * path: top-level leaf columns (direct children of the schema root) with a
 * TimestampType logical type. A ConvertedType that contradicts the result
 * (TIMESTAMP_MILLIS/MICROS of another unit) is corrected; an absent one
 * stays absent. A column already marked is left as it is. The file is
 * written in place with pwrite and fsynced: meant for a temp file that no
 * one else sees yet. A column that is not there, is not a timestamp, or a
 * footer that is not well-formed compact Thrift is TST_ECORRUPT naming the
 * file; the file is then unchanged. An unreadable or unwritable file is
 * TST_EIO (TST_ENOTFOUND when missing).
 */
int tst_parquet_footer_mark_utc(const char *path, const char *const *columns, size_t count);

/*
 * The reverse, isAdjustedToUTC=false, on a private copy of a source file:
 * DuckDB 1.4 reads a zoned nanosecond column only to microseconds, but a
 * zone-less one exactly, so an unmarked copy shows every digit (used to
 * check that values fit a coarser unit). ConvertedType is left as it is.
 */
int tst_parquet_footer_unmark_utc(const char *path, const char *const *columns, size_t count);

/*
 * The same on a footer already in memory (the FileMetaData bytes, without
 * the length and magic): edits footer in place and sets *changed when a
 * byte changed. path only names the file in messages. On failure footer is
 * unchanged.
 */
int tst_parquet_footer_mark_utc_bytes(uint8_t *footer, size_t len, const char *const *columns,
                                      size_t count, const char *path, bool *changed);

/*
 * Gives every column of the Parquet file at path whose only type note is a
 * legacy ConvertedType the matching LogicalType: UTF8 leaves StringType,
 * MAP groups MapType, LIST groups ListType (DuckDB 1.4.4 writes VARCHAR,
 * MAP and LIST columns, top-level and nested, with the ConvertedType only).
 * The reference 0.4.0 reads a segment's schema from its Parquet logical
 * types (not from ARROW:schema, not from ConvertedType): it takes such a
 * string for Binary and such a map for a Struct, and its optimize() then
 * refuses the segment as not matching the table's schema. The footer grows
 * by four bytes a column and is written again after the data (offsets into
 * the data do not move); the file is fsynced. Meant for a temp file no one
 * else sees yet. A footer that is not well-formed compact Thrift is
 * TST_ECORRUPT and the file is unchanged; I/O errors are TST_EIO
 * (TST_ENOTFOUND when missing). A file with nothing to add is untouched.
 */
int tst_parquet_footer_add_logical_types(const char *path);

/*
 * The same on a footer in memory (FileMetaData bytes): *out is a new
 * malloc'd footer of *out_len bytes, or NULL when nothing lacks a logical
 * type. path only names the file in messages.
 */
int tst_parquet_footer_logical_types_bytes(const uint8_t *footer, size_t len, const char *path,
                                          uint8_t **out, size_t *out_len);

#endif
