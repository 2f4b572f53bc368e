/*
 * json_util.h — strict reading and compact printing of log JSON over json-c.
 *
 * json-c is lenient where the format must not be: it saturates integers
 * beyond the 64-bit range, silently turns numbers into strings or booleans
 * into integers through its getters, and keeps the last of duplicate keys.
 * These helpers put the format's rules in one place, so every parser of the
 * commit log reads values the same way and fails with the same kind of
 * message: "<where>: field `row_count` must be an unsigned 64-bit integer,
 * found -1".
 *
 * `where` strings name a place in a document ("commit /t/x.json,
 * actions[1].AddSegment"); the helpers append the field.
 */
#ifndef TST_JSON_UTIL_H
#define TST_JSON_UTIL_H

#include "tstable/index.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nesting limit for untrusted documents: deep enough for nested schemas. */
#define TST_JSON_MAX_DEPTH 64
/* Room for a `where` string; longer ones are cut (they only feed messages). */
#define TST_JSON_WHERE_MAX 512

/*
 * Parses `len` bytes as one strict JSON object (RFC 8259: no trailing
 * commas, single quotes, leading zeros or invalid UTF-8; trailing whitespace
 * only), with integers checked to fit int64 or uint64. `what` names the
 * document in messages ("commit /t/_timeseries_log/0000000002.json").
 * TST_ECORRUPT on any failure; *out is a new reference on success.
 */
int tst_json_parse_object(json_object **out, const char *text, size_t len, const char *what);

/* Prints compactly (no spaces, no slash escaping). *out is malloc'd, NUL-terminated. */
int tst_json_print(json_object *obj, char **out, size_t *out_len);

/* Required member: TST_ECORRUPT "<where>: missing field `key`" when absent. */
int tst_json_require(json_object *obj, const char *key, const char *where, json_object **out);
/* Optional member: NULL when absent or JSON null. */
json_object *tst_json_optional(json_object *obj, const char *key);

/* Rejects members not in `allowed` (NULL-terminated): the reference's deny_unknown_fields. */
int tst_json_only_fields(json_object *obj, const char *const *allowed, const char *where);

/*
 * An externally tagged enum value: an object with exactly one member.
 * *out_tag borrows the member name, *out_value its value.
 */
int tst_json_single_member(json_object *obj, const char *where, const char **out_tag,
                           json_object **out_value);

/* Exact value readers: `field` names the value in messages. TST_ECORRUPT on mismatch. */
int tst_json_u64(json_object *v, const char *where, const char *field, uint64_t *out);
int tst_json_i64(json_object *v, const char *where, const char *field, int64_t *out);
int tst_json_u32(json_object *v, const char *where, const char *field, uint32_t *out);
int tst_json_i32(json_object *v, const char *where, const char *field, int32_t *out);
int tst_json_bool(json_object *v, const char *where, const char *field, bool *out);
/* A string with no NUL byte inside; *out borrows from v. */
int tst_json_cstr(json_object *v, const char *where, const char *field, const char **out);
/* Any string (may hold NUL bytes); borrows from v. */
int tst_json_bytes(json_object *v, const char *where, const char *field, const char **out,
                   size_t *out_len);
/* tst_json_cstr, then a malloc'd copy (TST_ENOMEM on allocation failure). */
int tst_json_strdup(json_object *v, const char *where, const char *field, char **out);

/* An RFC 3339 timestamp string (any offset; normalised to UTC). */
int tst_json_timestamp(json_object *v, const char *where, const char *field, tst_timestamp *out);

/* Short description of a value for messages: its JSON text, cut to fit. */
const char *tst_json_describe(json_object *v, char *buf, size_t cap);

/* Builds "<where>.<field>" (or "<where>[i]" when field is NULL) into buf. */
const char *tst_json_where(char *buf, size_t cap, const char *where, const char *field);
const char *tst_json_where_index(char *buf, size_t cap, const char *where, size_t i);

/*
 * Output helpers. tst_json_add() takes ownership of val: if val is NULL
 * (an allocation failed upstream) or the add fails, val is released and -1
 * returned, so a builder can `goto fail` after any add.
 */
int tst_json_add(json_object *obj, const char *key, json_object *val);
/* Adds a JSON null. */
int tst_json_add_null(json_object *obj, const char *key);
/* A new string object holding a copy of s (NULL on ENOMEM). */
json_object *tst_json_new_string(const char *s);
/* A timestamp as RFC 3339 UTC text with 0, 3, 6 or 9 fractional digits (NULL on failure). */
json_object *tst_json_new_timestamp(tst_timestamp ts);

#endif
