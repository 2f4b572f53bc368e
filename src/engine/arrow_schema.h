/*
 * arrow_schema.h — the Arrow schema a Parquet writer embeds in its footer
 * ("ARROW:schema"), decoded into source columns, and the small type-tree
 * helpers that source.c shares with this decoder.
 *
 * pyarrow, arrow-rs and Spark store the exact Arrow schema of the data they
 * wrote as base64 text in the footer's key-value metadata. It carries what
 * the Parquet types lose: timezones, narrow integers, Arrow field names.
 * The bytes are untrusted: the decoder never reads out of bounds, caps its
 * recursion and total work, and reports any malformation as TST_ECORRUPT so
 * the caller can fall back to the Parquet types instead of failing.
 */
#ifndef TST_ARROW_SCHEMA_H
#define TST_ARROW_SCHEMA_H

#include "source.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * Decodes an "ARROW:schema" value: base64 of an Arrow IPC Schema message,
 * with the 0xFFFFFFFF continuation marker and an int32 length before the
 * flatbuffer, or (legacy) the int32 length only. On success *out holds
 * *out_count columns (free with tst_source_columns_free), each with its
 * field annotations (custom_metadata, nested ones in the type tree), and
 * *schema_metadata (when not NULL; the caller clears it) the schema's.
 * Malformed bytes: TST_ECORRUPT, *out NULL. An annotation that is not UTF-8:
 * TST_EINVAL naming it. TST_ENOMEM.
 */
int tst_arrow_schema_decode(const char *base64, size_t len, tst_source_column **out,
                            size_t *out_count, tst_metadata *schema_metadata);

/* ---- type trees shared with source.c --------------------------------- */

/*
 * Every mapper (Arrow here, Parquet and DuckDB in source.c) produces a
 * tst_type tree and a wire kind: TST_WIRE_EXACT when the whole tree is a
 * table logical type, a narrow-integer kind for such a leaf, TST_WIRE_OTHER
 * otherwise. A leaf that is not exact is a TST_TYPE_OTHER node whose
 * other_name reads the incoming type ("int16", "date32"), so the display of
 * any tree (tst_type_format) names what arrived.
 */

/* Makes *out an OTHER leaf named `name`, with the given wire kind. */
int tst_source_type_other(tst_type *out, tst_wire_kind *wire, tst_wire_kind kind,
                          const char *name);
/* True if the whole tree is a table logical type (format §1.7): no OTHER or
 * Int96 node, non-empty structs with valid names, named list elements,
 * non-null map keys, decimal and fixed-width bounds. */
bool tst_source_type_exact(const tst_type *type);
/* True if a struct's field names are non-empty, not blank, and distinct. */
bool tst_source_names_valid(const tst_field *fields, size_t count);
/* Fills a column from a mapped field (moving its name and type) and the
 * wire kind; type_text is what arrived (a converted type's incoming name,
 * else the display of the tree). A nested column holding converted nodes
 * is ENCODED when each of them passes through a re-encode as it is
 * (strings, binaries, large or fixed-size lists), else OTHER. On failure
 * the field is still released. */
int tst_source_column_take(tst_source_column *col, tst_field *field, tst_wire_kind wire);
/* Marks an exact type as converted from `incoming` (kept in other_name,
 * which only OTHER leaves otherwise use) with the given wire kind. */
int tst_source_type_mark(tst_type *type, tst_wire_kind *wire, tst_wire_kind kind,
                         const char *incoming);
/* Makes *out the type a converted kind is adopted as (int8 -> int32, date ->
 * timestamp[us], ...; see source.h), marked as converted from `incoming`. */
int tst_source_type_converted(tst_type *out, tst_wire_kind *wire, tst_wire_kind kind,
                              const char *incoming);
/* Turns a converted node back into an OTHER leaf named by what arrived:
 * conversions apply to top-level columns only, so a nested tree holding
 * one is not a table type ("List<large_utf8>"). */
int tst_source_type_unconvert(tst_type *type);
/* Marks a list as another list layout ("large_list<" + element + ">"),
 * ENCODED: its values pass through a re-encode as a plain list. */
int tst_source_mark_list(tst_type *list, tst_wire_kind *wire, const char *prefix,
                         const char *suffix);
/* The display of a type tree as it arrived (converted nodes by the names
 * they arrived as), into a new string. */
int tst_source_incoming_text(const tst_type *type, char **out);
/* Marks a timestamp (already in milliseconds, zone kept) as timestamp[s]. */
int tst_source_mark_seconds(tst_type *type, tst_wire_kind *wire);
/* A dictionary-encoded column reads as its values: marks the value type as
 * converted from "dictionary<values=...>" (ENCODED for exact values). */
int tst_source_type_dictionary(tst_type *type, tst_wire_kind *wire);
/* Releases a type tree or a field (and zeroes it). */
void tst_source_type_clear(tst_type *type);
void tst_source_field_clear(tst_field *field);
/* Releases count columns and the array; accepts NULL. */
void tst_source_columns_free(tst_source_column *cols, size_t count);

#endif
