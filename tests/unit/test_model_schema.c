/*
 * test_model_schema.c — logical schemas: JSON shapes, the rules enforced
 * when reading them, deep copies and display names (format-v6 §1.7).
 */
#include "testsupport.h"

#include "json_util.h"
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_schema(tst_schema **out, const char *text)
{
    json_object *obj = NULL;
    int rc = tst_json_parse_object(&obj, text, strlen(text), "test schema");
    if (rc == 0)
        rc = tst_schema_from_json(out, obj, "test schema");
    json_object_put(obj);
    return rc;
}

static char *print_schema(const tst_schema *schema)
{
    json_object *obj = tst_schema_to_json(schema);
    assert_non_null(obj);
    char *text = NULL;
    assert_tst_ok(tst_json_print(obj, &text, NULL));
    json_object_put(obj);
    return text;
}

/* Parses, prints, and requires the same bytes back; also through a copy. */
static void assert_round_trip(const char *text)
{
    tst_schema *schema = NULL, *copy = NULL;
    assert_tst_ok(parse_schema(&schema, text));
    char *printed = print_schema(schema);
    assert_string_equal(printed, text);
    assert_tst_ok(tst_schema_copy(&copy, schema));
    tst_schema_free(schema);
    char *copied = print_schema(copy);
    assert_string_equal(copied, text);
    tst_schema_free(copy);
    free(printed);
    free(copied);
}

static void expect_rejected(const char *text, const char *needle)
{
    tst_schema *schema = NULL;
    assert_tst_fails(parse_schema(&schema, text), TST_ECORRUPT);
    assert_null(schema);
    if (needle && !strstr(tst_error_last()->message, needle))
        fail_msg("message lacks '%s': %s", needle, tst_error_last()->message);
}

#define COL(name, type, nullable) \
    "{\"name\":\"" name "\",\"data_type\":" type ",\"nullable\":" nullable "}"

static void every_plain_type_round_trips(void **state)
{
    (void)state;
    assert_round_trip("{\"columns\":[" COL("a", "\"Bool\"", "false") "," COL(
        "b", "\"Int32\"", "true") "," COL("c", "\"Int64\"", "false") "," COL("d", "\"UInt64\"",
                                                                             "false") "," COL("e", "\"Float32\"", "false") "," COL("f", "\"Float64\"", "false") "," COL("g", "\"Binary\"", "false") "," COL("h", "\"Utf8\"", "false") "," COL("i", "\"Int96\"", "false") "]}");
    assert_round_trip("{\"columns\":[]}");
}

static void parameterised_types_round_trip(void **state)
{
    (void)state;
    assert_round_trip(
        "{\"columns\":[" COL("ts", "{\"Timestamp\":{\"unit\":\"Millis\",\"timezone\":null}}",
                             "false") "," COL("tz", "{\"Timestamp\":{\"unit\":\"Nanos\",\"timezone\":\"America/Phoenix\"}}", "true") "," COL("us", "{\"Timestamp\":{\"unit\":\"Micros\",\"timezone\":\"UTC\"}}", "true") "," COL("d", "{\"Decimal\":{\"precision\":76,\"scale\":76}}", "true") "," COL("d1", "{\"Decimal\":{\"precision\":1,\"scale\":0}}", "true") "," COL("fb", "{\"FixedBinary\":{\"byte_width\":16}}", "false") "," COL("o", "{\"Other\":\"parquet::Enum\"}", "false") "]}");
}

static void nested_types_round_trip(void **state)
{
    (void)state;
    assert_round_trip("{\"columns\":[" COL(
        "s", "{\"Struct\":{\"fields\":[" COL("a", "\"Int32\"", "false") "," COL(
                 "b", "\"Utf8\"", "true") "]}}",
        "true") "," COL("l", "{\"List\":{\"elements\":" COL("item", "\"Int64\"", "true") "}}",
                        "false") "," COL("m", "{\"Map\":{\"key\":" COL("key", "\"Utf8\"", "false") ",\"value\":" COL("value", "{\"List\":{\"elements\":" COL("item", "\"Float64\"", "true") "}}", "true") ",\"keys_sorted\":true}}", "false") "," COL("k", "{\"Map\":{\"key\":" COL("key", "\"UInt64\"", "false") ",\"value\":null,\"keys_sorted\":false}}", "false") "]}");
}

static void missing_optionals_read_as_null(void **state)
{
    (void)state;
    tst_schema *schema = NULL;
    assert_tst_ok(parse_schema(
        &schema, "{\"columns\":[" COL("ts", "{\"Timestamp\":{\"unit\":\"Millis\"}}", "false") "," COL(
                     "k", "{\"Map\":{\"key\":" COL("key", "\"Utf8\"", "false") ",\"keys_sorted\":false}}",
                     "false") "]}"));
    assert_null(schema->columns[0].type.timezone);
    assert_null(schema->columns[1].type.value);
    char *text = print_schema(schema);
    assert_non_null(strstr(text, "\"timezone\":null"));
    assert_non_null(strstr(text, "\"value\":null"));
    free(text);
    tst_schema_free(schema);
}

static void nullable_is_required(void **state)
{
    (void)state;
    expect_rejected("{\"columns\":[{\"name\":\"a\",\"data_type\":\"Utf8\"}]}",
                    "missing field `nullable`");
    expect_rejected("{\"columns\":[{\"name\":\"a\",\"data_type\":\"Utf8\",\"nullable\":0}]}",
                    "must be a boolean");
    expect_rejected("{\"columns\":[{\"data_type\":\"Utf8\",\"nullable\":true}]}",
                    "missing field `name`");
    expect_rejected("{\"columns\":[{\"name\":\"a\",\"nullable\":true}]}",
                    "missing field `data_type`");
    expect_rejected("{}", "missing field `columns`");
}

static void duplicate_columns_are_rejected(void **state)
{
    (void)state;
    expect_rejected("{\"columns\":[" COL("a", "\"Utf8\"", "false") "," COL("a", "\"Int64\"",
                                                                          "false") "]}",
                    "duplicate column \"a\"");
}

static void decimal_bounds_are_enforced(void **state)
{
    (void)state;
    expect_rejected("{\"columns\":[" COL("d", "{\"Decimal\":{\"precision\":0,\"scale\":0}}",
                                         "true") "]}",
                    "precision");
    expect_rejected("{\"columns\":[" COL("d", "{\"Decimal\":{\"precision\":77,\"scale\":0}}",
                                         "true") "]}",
                    "precision");
    expect_rejected("{\"columns\":[" COL("d", "{\"Decimal\":{\"precision\":10,\"scale\":11}}",
                                         "true") "]}",
                    "scale");
    expect_rejected("{\"columns\":[" COL("d", "{\"Decimal\":{\"precision\":10,\"scale\":-1}}",
                                         "true") "]}",
                    "scale");
    expect_rejected("{\"columns\":[" COL("d", "{\"Decimal\":{\"precision\":10}}", "true") "]}",
                    "missing field `scale`");
}

static void fixed_binary_width_must_be_positive(void **state)
{
    (void)state;
    expect_rejected("{\"columns\":[" COL("f", "{\"FixedBinary\":{\"byte_width\":0}}", "true") "]}",
                    "byte_width");
    expect_rejected("{\"columns\":[" COL("f", "{\"FixedBinary\":{\"byte_width\":-3}}", "true") "]}",
                    "byte_width");
    expect_rejected(
        "{\"columns\":[" COL("f", "{\"FixedBinary\":{\"byte_width\":4294967296}}", "true") "]}",
        "32-bit");
}

static void nested_type_rules_are_enforced(void **state)
{
    (void)state;
    expect_rejected("{\"columns\":[" COL("s", "{\"Struct\":{\"fields\":[]}}", "true") "]}",
                    "at least one field");
    expect_rejected("{\"columns\":[" COL("s", "{\"Struct\":{\"fields\":[" COL(" ", "\"Utf8\"",
                                                                               "true") "]}}",
                                         "true") "]}",
                    "blank");
    expect_rejected("{\"columns\":[" COL("s", "{\"Struct\":{\"fields\":[" COL(
                                                  "x", "\"Utf8\"", "true") "," COL("x", "\"Int32\"", "true") "]}}",
                                         "true") "]}",
                    "duplicate struct field \"x\"");
    expect_rejected("{\"columns\":[" COL("l", "{\"List\":{\"elements\":" COL("", "\"Utf8\"", "true") "}}",
                                         "true") "]}",
                    "list element name is blank");
    expect_rejected(
        "{\"columns\":[" COL("m", "{\"Map\":{\"key\":" COL("key", "\"Utf8\"", "true") ",\"value\":null,\"keys_sorted\":false}}",
                             "true") "]}",
        "Map key must not be nullable");
    expect_rejected("{\"columns\":[" COL("m", "{\"Map\":{\"key\":" COL("key", "\"Utf8\"", "false") "}}",
                                         "true") "]}",
                    "missing field `keys_sorted`");
}

static void unknown_types_are_rejected_with_their_place(void **state)
{
    (void)state;
    expect_rejected("{\"columns\":[" COL("a", "\"Int8\"", "true") "]}",
                    "test schema.columns[0].data_type: unknown data type \"Int8\"");
    expect_rejected("{\"columns\":[" COL("a", "{\"Tensor\":{}}", "true") "]}",
                    "unknown data type \"Tensor\"");
    expect_rejected("{\"columns\":[" COL("a", "{\"Timestamp\":{\"unit\":\"Second\"}}", "true") "]}",
                    "unknown timestamp unit");
    expect_rejected("{\"columns\":[" COL("a", "{\"Utf8\":{},\"Int32\":{}}", "true") "]}",
                    "exactly one member");
    expect_rejected("{\"columns\":[" COL("a", "\"Utf8\"", "true") ",3]}",
                    "columns[1]: expected a field object");
}

static void find_returns_the_named_column(void **state)
{
    (void)state;
    tst_schema *schema = NULL;
    assert_tst_ok(parse_schema(&schema, "{\"columns\":[" COL("ts", "\"Int64\"", "false") "," COL(
                                            "sym", "\"Utf8\"", "false") "]}"));
    const tst_field *f = tst_schema_find(schema, "sym");
    assert_non_null(f);
    assert_int_equal(f->type.kind, TST_TYPE_UTF8);
    assert_null(tst_schema_find(schema, "nope"));
    assert_null(tst_schema_find(NULL, "sym"));
    tst_schema_free(schema);
    tst_schema_free(NULL);
}

static void assert_format(const char *column_type, const char *expected)
{
    char text[512];
    snprintf(text, sizeof text, "{\"columns\":[{\"name\":\"c\",\"data_type\":%s,\"nullable\":true}]}",
             column_type);
    tst_schema *schema = NULL;
    assert_tst_ok(parse_schema(&schema, text));
    char buf[256];
    int n = tst_type_format(&schema->columns[0].type, buf, sizeof buf);
    assert_string_equal(buf, expected);
    assert_int_equal(n, (int)strlen(expected));
    /* Like snprintf: a short buffer is cut but the full length is returned. */
    char small[4];
    assert_int_equal(tst_type_format(&schema->columns[0].type, small, sizeof small), n);
    assert_int_equal(strlen(small), n < 3 ? n : 3);
    tst_schema_free(schema);
}

static void types_have_readable_display_names(void **state)
{
    (void)state;
    assert_format("\"Int64\"", "int64");
    assert_format("\"Utf8\"", "utf8");
    assert_format("\"UInt64\"", "uint64");
    assert_format("\"Bool\"", "bool");
    assert_format("\"Int96\"", "int96");
    assert_format("{\"Timestamp\":{\"unit\":\"Millis\",\"timezone\":\"UTC\"}}", "timestamp[ms](UTC)");
    assert_format("{\"Timestamp\":{\"unit\":\"Nanos\",\"timezone\":null}}", "timestamp[ns]");
    assert_format("{\"Timestamp\":{\"unit\":\"Micros\",\"timezone\":null}}", "timestamp[us]");
    assert_format("{\"Decimal\":{\"precision\":10,\"scale\":2}}", "decimal(precision=10, scale=2)");
    assert_format("{\"FixedBinary\":{\"byte_width\":16}}", "fixed_binary[16]");
    assert_format("{\"Other\":\"parquet::Enum\"}", "parquet::Enum");
    assert_format("{\"Struct\":{\"fields\":[" COL("a", "\"Int32\"", "false") "," COL(
                      "b", "\"Utf8\"", "true") "]}}",
                  "Struct{a: int32, b?: utf8}");
    assert_format("{\"List\":{\"elements\":" COL("item", "\"Int64\"", "true") "}}",
                  "List<item?: int64>");
    assert_format("{\"Map\":{\"key\":" COL("key", "\"Utf8\"", "false") ",\"value\":" COL(
                      "value", "\"Float64\"", "true") ",\"keys_sorted\":false}}",
                  "Map<key: utf8, value?: float64>");
    assert_format("{\"Map\":{\"key\":" COL("key", "\"Utf8\"", "false") ",\"value\":null,\"keys_sorted\":true}}",
                  "Map<key: utf8, sorted>");
}

static void copy_of_nothing_is_nothing(void **state)
{
    (void)state;
    tst_schema *copy = (tst_schema *)1;
    assert_tst_ok(tst_schema_copy(&copy, NULL));
    assert_null(copy);
}

/* ---- annotations (schema_metadata, protocol 7) ---------------------------- */

/* The logical schema the real 0.9.0 wrote for an append whose Arrow schema had
 * schema, field, nested field and map key annotations (one non-ASCII value). */
static const char REFERENCE09_ANNOTATED[] =
    "{\"columns\":[{\"name\":\"idx\",\"data_type\":\"Int64\",\"nullable\":true},{\"name\":\"e"
    "ntity\",\"data_type\":\"Utf8\",\"nullable\":true,\"metadata\":{\"a\":\"2\",\"z\":\"1\"}}"
    ",{\"name\":\"v\",\"data_type\":\"Float64\",\"nullable\":true,\"metadata\":{\"unit\":\"ms"
    "\"}},{\"name\":\"m\",\"data_type\":{\"Map\":{\"key\":{\"name\":\"key\",\"data_type\":\"U"
    "tf8\",\"nullable\":false,\"metadata\":{\"k\":\"1\"}},\"value\":{\"name\":\"value\",\"dat"
    "a_type\":\"Int64\",\"nullable\":true,\"metadata\":{\"unit\":\"ms\"}},\"keys_sorted\":fal"
    "se}},\"nullable\":true},{\"name\":\"l\",\"data_type\":{\"List\":{\"elements\":{\"name\":"
    "\"item\",\"data_type\":\"Int64\",\"nullable\":true,\"metadata\":{\"unit\":\"ms\"}}}},\"n"
    "ullable\":true},{\"name\":\"s\",\"data_type\":{\"Struct\":{\"fields\":[{\"name\":\"value"
    "\",\"data_type\":\"Int64\",\"nullable\":true,\"metadata\":{\"unit\":\"ms\"}}]}},\"nullab"
    "le\":true}],\"metadata\":{\"a\":\"温\",\"b\":\"x\",\"unit\":\"ms\"}}";

static void reference_annotated_schema_round_trips_byte_for_byte(void **state)
{
    (void)state;
    assert_round_trip(REFERENCE09_ANNOTATED);
    tst_schema *schema = NULL;
    assert_tst_ok(parse_schema(&schema, REFERENCE09_ANNOTATED));
    assert_true(tst_schema_has_metadata(schema));
    assert_int_equal(schema->metadata.count, 3);
    assert_string_equal(tst_metadata_get(&schema->metadata, "a"), "\xe6\xb8\xa9");
    assert_string_equal(tst_metadata_get(&schema->columns[1].metadata, "z"), "1");
    assert_null(tst_metadata_get(&schema->columns[0].metadata, "z"));
    assert_string_equal(tst_metadata_get(&schema->columns[3].type.key->metadata, "k"), "1");
    tst_schema_free(schema);
}

static void annotations_are_printed_sorted_and_omitted_when_empty(void **state)
{
    (void)state;
    tst_schema *schema = NULL;
    assert_tst_ok(parse_schema(&schema, "{\"columns\":[{\"name\":\"a\",\"data_type\":\"Int64\","
                                        "\"nullable\":true,\"metadata\":{}}],"
                                        "\"metadata\":{\"z\":\"1\",\"b\":\"2\",\"a\":\"\"}}"));
    char *printed = print_schema(schema);
    assert_string_equal(printed, "{\"columns\":[" COL("a", "\"Int64\"", "true")
                                 "],\"metadata\":{\"a\":\"\",\"b\":\"2\",\"z\":\"1\"}}");
    free(printed);
    assert_true(tst_schema_has_metadata(schema));
    tst_schema_free(schema);
    assert_tst_ok(parse_schema(&schema, "{\"columns\":[" COL("a", "\"Int64\"", "true") "]}"));
    assert_false(tst_schema_has_metadata(schema));
    assert_int_equal(schema->metadata.count, 0);
    tst_schema_free(schema);
}

static void map_annotations_round_trip_after_keys_sorted(void **state)
{
    (void)state;
    assert_round_trip("{\"columns\":[{\"name\":\"m\",\"data_type\":{\"Map\":{\"key\":"
                      "{\"name\":\"key\",\"data_type\":\"Utf8\",\"nullable\":false},\"value\":null,"
                      "\"keys_sorted\":false,\"entries_metadata\":{\"e\":\"1\"},"
                      "\"null_value_metadata\":{\"n\":\"2\"}}},\"nullable\":true}]}");
    tst_schema *schema = NULL;
    assert_tst_ok(parse_schema(&schema, "{\"columns\":[{\"name\":\"m\",\"data_type\":{\"Map\":"
                  "{\"key\":{\"name\":\"key\",\"data_type\":\"Utf8\",\"nullable\":false},"
                  "\"value\":null,\"keys_sorted\":false,\"entries_metadata\":{\"e\":\"1\"}}},"
                  "\"nullable\":true}]}"));
    assert_true(tst_schema_has_metadata(schema));
    tst_schema_free(schema);
}

static void malformed_annotations_are_rejected(void **state)
{
    (void)state;
    expect_rejected("{\"columns\":[],\"metadata\":[]}", "must be an object of strings");
    expect_rejected("{\"columns\":[],\"metadata\":{\"a\":1}}", "must be a string");
    expect_rejected("{\"columns\":[{\"name\":\"a\",\"data_type\":\"Int64\",\"nullable\":true,"
                    "\"metadata\":{\"k\":\"a\\u0000b\"}}]}", "NUL");
    /* A map with a value cannot annotate the keys-only Null value. */
    expect_rejected("{\"columns\":[{\"name\":\"m\",\"data_type\":{\"Map\":{\"key\":"
                    "{\"name\":\"key\",\"data_type\":\"Utf8\",\"nullable\":false},\"value\":"
                    "{\"name\":\"value\",\"data_type\":\"Int64\",\"nullable\":true},"
                    "\"keys_sorted\":false,\"null_value_metadata\":{\"unit\":\"ms\"}}},"
                    "\"nullable\":true}]}", "cannot have null_value_metadata");
}

static void annotations_from_arrow_bytes_must_be_utf8(void **state)
{
    (void)state;
    tst_metadata md = {NULL, 0};
    assert_tst_ok(tst_metadata_add(&md, "unit", 4, "ms", 2, "schema metadata"));
    assert_tst_ok(tst_metadata_add(&md, "a", 1, "\xe6\xb8\xa9", 3, "schema metadata"));
    assert_tst_ok(tst_metadata_add(&md, "unit", 4, "us", 2, "schema metadata"));
    assert_int_equal(md.count, 2);
    assert_string_equal(md.items[0].key, "a");
    assert_string_equal(md.items[1].value, "us");
    assert_tst_fails(tst_metadata_add(&md, "bad", 3, "\xff", 1, "schema metadata"), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "not valid UTF-8"));
    assert_tst_fails(tst_metadata_add(&md, "\xff", 1, "bad", 3, "field 'x' metadata"),
                     TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "field 'x' metadata"));
    /* overlong '/', a lone surrogate, past U+10FFFF, a truncated sequence */
    assert_tst_fails(tst_metadata_add(&md, "k", 1, "\xc0\xaf", 2, "m"), TST_EINVAL);
    assert_tst_fails(tst_metadata_add(&md, "k", 1, "\xed\xa0\x80", 3, "m"), TST_EINVAL);
    assert_tst_fails(tst_metadata_add(&md, "k", 1, "\xf4\x90\x80\x80", 4, "m"), TST_EINVAL);
    assert_tst_fails(tst_metadata_add(&md, "k", 1, "\xe6\xb8", 2, "m"), TST_EINVAL);
    assert_tst_fails(tst_metadata_add(&md, "k", 1, "a\0b", 3, "m"), TST_EINVAL);
    assert_int_equal(md.count, 2);
    tst_metadata copy;
    assert_tst_ok(tst_metadata_copy(&copy, &md));
    assert_true(tst_metadata_equal(&copy, &md));
    assert_tst_ok(tst_metadata_add(&copy, "unit", 4, "ms", 2, "m"));
    assert_false(tst_metadata_equal(&copy, &md));
    tst_metadata_clear(&copy);
    /* Removing keeps the order; removing the last leaves an empty map. */
    assert_tst_ok(tst_metadata_add(&md, "pandas", 6, "{}", 2, "m"));
    tst_metadata_remove(&md, "pandas");
    tst_metadata_remove(&md, "absent");
    assert_int_equal(md.count, 2);
    assert_string_equal(md.items[0].key, "a");
    assert_string_equal(md.items[1].key, "unit");
    tst_metadata_remove(&md, "a");
    tst_metadata_remove(&md, "unit");
    assert_int_equal(md.count, 0);
    assert_null(md.items);
    tst_metadata_clear(&md);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_plain_type_round_trips),
        cmocka_unit_test(parameterised_types_round_trip),
        cmocka_unit_test(nested_types_round_trip),
        cmocka_unit_test(missing_optionals_read_as_null),
        cmocka_unit_test(nullable_is_required),
        cmocka_unit_test(duplicate_columns_are_rejected),
        cmocka_unit_test(decimal_bounds_are_enforced),
        cmocka_unit_test(fixed_binary_width_must_be_positive),
        cmocka_unit_test(nested_type_rules_are_enforced),
        cmocka_unit_test(unknown_types_are_rejected_with_their_place),
        cmocka_unit_test(find_returns_the_named_column),
        cmocka_unit_test(types_have_readable_display_names),
        cmocka_unit_test(copy_of_nothing_is_nothing),
        cmocka_unit_test(reference_annotated_schema_round_trips_byte_for_byte),
        cmocka_unit_test(annotations_are_printed_sorted_and_omitted_when_empty),
        cmocka_unit_test(map_annotations_round_trip_after_keys_sorted),
        cmocka_unit_test(malformed_annotations_are_rejected),
        cmocka_unit_test(annotations_from_arrow_bytes_must_be_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
