/*
 * arrow_schema_write.h — the table's logical schema as the "ARROW:schema"
 * footer value, for segment files the library writes itself.
 *
 * A format_version-6 reader derives a segment's schema from its footer:
 * the embedded Arrow schema when present, else the Parquet types, which
 * lose timezones and (in DuckDB's files, where every column is OPTIONAL)
 * nullability. Embedding the table's own schema makes a segment read back
 * as exactly the table's schema whatever engine wrote its pages. The value
 * is what arrow-rs stores: base64 of an Arrow IPC Schema message
 * (continuation marker, int32 length, flatbuffer). arrow_schema.h decodes
 * it; every schema this encodes decodes there to the same tst_schema.
 */
#ifndef TST_ARROW_SCHEMA_WRITE_H
#define TST_ARROW_SCHEMA_WRITE_H

#include "tstable/schema.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Encodes `schema` as an Arrow IPC Schema message: 0xFFFFFFFF, the int32
 * little-endian length of the flatbuffer (a multiple of 8), the flatbuffer
 * Message{V5, Schema{Little, fields}}. On success *out (malloc'd, caller
 * frees) holds *out_len bytes. Errors, each naming the column:
 *   TST_EUNSUPPORTED  an Int96 or Other type anywhere in the column's tree
 *                     (Arrow has no exact type for them);
 *   TST_EINVAL        a tree the logical schema forbids (fixed width <= 0,
 *                     decimal precision outside 1..76 or scale outside
 *                     0..precision, unknown timestamp unit, empty struct,
 *                     list without element, map without key or with a
 *                     nullable key, nesting deeper than the decoder reads);
 *   TST_ENOMEM.
 * On failure *out is NULL.
 */
int tst_arrow_schema_encode_message(const tst_schema *schema, uint8_t **out, size_t *out_len);

/* The same message as base64 (standard alphabet, '=' padding), the text of
 * the "ARROW:schema" key. *out_base64 is malloc'd and NUL-terminated. */
int tst_arrow_schema_encode(const tst_schema *schema, char **out_base64);

#endif
