/*
 * test_model_commit.c — commit files and the shapes inside them: golden
 * bytes from the reference, round trips, and every rule enforced on read
 * (format-v6 §1.1–§1.9, the behaviours listed in §10.1).
 */
#include "testsupport.h"

#include "json_util.h"
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORIGIN "/t/_timeseries_log/0000000003.json"
#define HEAD "{\"version\":3,\"base_version\":2,\"timestamp\":\"2024-01-01T00:00:00Z\",\"actions\":["
#define TAIL "]}"
#define KIND_1H "{\"type\":\"timestamp\",\"bucket\":{\"Hours\":1}}"
#define META(kind, fv)                                                                       \
    "{\"UpdateTableMeta\":{\"kind\":" kind ",\"logical_schema\":null,\"created_at\":"       \
    "\"2024-01-01T00:00:00Z\",\"format_version\":" fv "}}"
#define TS_KIND(spec) "{\"TimeSeries\":" spec "}"
#define SPEC(cols, kind) "{\"column\":\"ts\",\"entity_columns\":" cols ",\"kind\":" kind "}"
#define TSV(v) "{\"type\":\"timestamp\",\"value\":\"" v "\"}"
#define SEGMENT(extra)                                                                       \
    "{\"AddSegment\":{\"path\":\"data/a.parquet\",\"format\":\"parquet\",\"entity_layout\":" \
    "\"NotApplicable\",\"index_min\":" TSV("2024-01-01T00:00:00Z") ",\"index_max\":" TSV(     \
        "2024-01-02T00:00:00Z") ",\"row_count\":10" extra "}}"

/* ---- helpers ------------------------------------------------------------ */

static char *read_golden(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/golden/%s", TST_SOURCE_DIR, name);
    char *text = NULL;
    size_t len = 0;
    if (tst_test_read_file(path, &text, &len) != 0)
        fail_msg("cannot read golden file %s", path);
    return text;
}

static int parse(tst_commit *commit, const char *text)
{
    return tst_commit_parse(commit, text, strlen(text), ORIGIN);
}

/* Parses text and requires serialize() to give back exactly `expected`. */
static void assert_reprints_as(const char *text, const char *expected)
{
    tst_commit commit;
    assert_tst_ok(parse(&commit, text));
    char *out = NULL;
    size_t len = 0;
    assert_tst_ok(tst_commit_serialize(&commit, &out, &len));
    assert_string_equal(out, expected);
    assert_int_equal(len, strlen(expected));
    tst_commit_clear(&commit);
    free(out);
}

static void assert_round_trip(const char *text)
{
    assert_reprints_as(text, text);
}

static void expect_fails(const char *text, int code, const char *needle)
{
    tst_commit commit;
    memset(&commit, 0xAB, sizeof commit);
    assert_tst_fails(parse(&commit, text), code);
    assert_int_equal(commit.action_count, 0);
    assert_null(commit.actions);
    if (needle && !strstr(tst_error_last()->message, needle))
        fail_msg("message lacks '%s': %s", needle, tst_error_last()->message);
}

static json_object *json(const char *text)
{
    json_object *obj = NULL;
    assert_tst_ok(tst_json_parse_object(&obj, text, strlen(text), "test"));
    return obj;
}

static char *print(json_object *obj)
{
    assert_non_null(obj);
    char *text = NULL;
    assert_tst_ok(tst_json_print(obj, &text, NULL));
    json_object_put(obj);
    return text;
}

/* ---- golden commits ----------------------------------------------------- */

static void golden_create_commit_round_trips_byte_for_byte(void **state)
{
    (void)state;
    char *text = read_golden("commit_0000000001.json");
    assert_round_trip(text);
    tst_commit commit;
    assert_tst_ok(parse(&commit, text));
    assert_int_equal(commit.version, 1);
    assert_int_equal(commit.base_version, 0);
    assert_int_equal(commit.timestamp.nsec, 6820466);
    assert_int_equal(commit.action_count, 1);
    const tst_table_meta *meta = &commit.actions[0].u.meta;
    assert_int_equal(commit.actions[0].type, TST_ACTION_UPDATE_TABLE_META);
    assert_false(meta->generic);
    assert_string_equal(meta->index.column, "ts");
    assert_int_equal(meta->index.entity_count, 1);
    assert_string_equal(meta->index.entity_columns[0], "symbol");
    assert_int_equal(meta->index.kind.type, TST_INDEX_TIMESTAMP);
    assert_int_equal(meta->index.kind.bucket.unit, TST_TIME_HOURS);
    assert_int_equal(meta->index.kind.bucket.count, 1);
    assert_string_equal(meta->index.kind.timezone, "");
    assert_null(meta->schema);
    assert_int_equal(meta->format_version, 6);
    assert_non_null(strstr(text, "\"format_version\":6"));
    tst_commit_clear(&commit);
    free(text);
}

static void golden_append_commit_round_trips_byte_for_byte(void **state)
{
    (void)state;
    char *text = read_golden("commit_0000000002.json");
    assert_round_trip(text);
    tst_commit commit;
    assert_tst_ok(parse(&commit, text));
    assert_int_equal(commit.action_count, 3);
    assert_int_equal(commit.actions[0].u.meta.schema->column_count, 7);
    assert_int_equal(commit.actions[0].u.meta.schema->columns[0].type.unit, TST_PRECISION_MILLIS);
    const tst_segment *seg = &commit.actions[1].u.segment;
    assert_string_equal(seg->path, "data/nvda_1h.parquet");
    assert_int_equal(seg->layout.kind, TST_LAYOUT_SINGLE);
    assert_int_equal(seg->layout.count, 1);
    assert_int_equal(seg->layout.values[0].type, TST_ENTITY_UTF8);
    assert_int_equal(seg->layout.values[0].v.utf8.len, 4);
    assert_memory_equal(seg->layout.values[0].v.utf8.ptr, "NVDA", 4);
    assert_int_equal(seg->index_min.type, TST_INDEX_TIMESTAMP);
    assert_int_equal(seg->index_min.v.ts.sec, 1717200000);
    assert_int_equal(seg->row_count, 240);
    assert_true(seg->has_file_size);
    assert_int_equal(seg->file_size, 14272);
    assert_non_null(seg->coverage_path);
    const tst_coverage_pointer *cov = &commit.actions[2].u.coverage;
    assert_int_equal(commit.actions[2].type, TST_ACTION_UPDATE_TABLE_COVERAGE);
    assert_true(tst_index_kind_equal(&cov->index_kind, &commit.actions[0].u.meta.index.kind));
    assert_string_equal(cov->coverage_path, "_coverage/table/2-tblcov-690c41a668bbc5276b4fbad9b02a2dec-679d3b3c-8c37-45bd-87ab-d4ce2500acf0.roar");
    tst_commit_clear(&commit);
    tst_commit_clear(&commit); /* clearing twice is harmless */
    free(text);
}

/* ---- commits and actions ------------------------------------------------ */

static void commit_with_empty_actions_round_trips(void **state)
{
    (void)state;
    assert_round_trip(HEAD TAIL);
    tst_commit commit;
    assert_tst_ok(parse(&commit, HEAD TAIL));
    assert_int_equal(commit.action_count, 0);
    tst_commit_clear(&commit);
}

static void remove_segment_action_round_trips(void **state)
{
    (void)state;
    assert_round_trip(HEAD "{\"RemoveSegment\":{\"path\":\"data/x.parquet\"}}" TAIL);
}

static void generic_table_kind_round_trips(void **state)
{
    (void)state;
    assert_round_trip(HEAD META("\"Generic\"", "6") TAIL);
    tst_commit commit;
    assert_tst_ok(parse(&commit, HEAD META("\"Generic\"", "6") TAIL));
    assert_true(commit.actions[0].u.meta.generic);
    tst_commit_clear(&commit);
}

static void commit_timestamps_keep_nanoseconds_and_normalise_to_utc(void **state)
{
    (void)state;
    assert_round_trip("{\"version\":1,\"base_version\":0,\"timestamp\":\"2024-01-01T00:00:00.500Z\",\"actions\":[]}");
    assert_round_trip("{\"version\":1,\"base_version\":0,\"timestamp\":\"2024-01-01T00:00:00.000001Z\",\"actions\":[]}");
    assert_reprints_as("{\"version\":1,\"base_version\":0,\"timestamp\":\"2024-01-01T02:00:00.5+02:00\",\"actions\":[]}",
                       "{\"version\":1,\"base_version\":0,\"timestamp\":\"2024-01-01T00:00:00.500Z\",\"actions\":[]}");
    expect_fails("{\"version\":1,\"base_version\":0,\"timestamp\":\"yesterday\",\"actions\":[]}",
                 TST_ECORRUPT, "field `timestamp`");
}

static void unknown_and_malformed_actions_are_rejected(void **state)
{
    (void)state;
    expect_fails(HEAD "{\"Checkpoint\":{}}" TAIL, TST_ECORRUPT,
                 "commit " ORIGIN ", actions[0]: unknown action `Checkpoint`");
    expect_fails(HEAD "{\"RemoveSegment\":{\"path\":\"a\"},\"AddSegment\":{}}" TAIL, TST_ECORRUPT,
                 "exactly one member");
    expect_fails(HEAD "\"RemoveSegment\"" TAIL, TST_ECORRUPT, "actions[0]");
    expect_fails(HEAD "{\"RemoveSegment\":\"data/a\"}" TAIL, TST_ECORRUPT, "expected an object");
    expect_fails(HEAD "{\"RemoveSegment\":{}}" TAIL, TST_ECORRUPT, "missing field `path`");
}

static void commit_fields_are_required_and_exact(void **state)
{
    (void)state;
    expect_fails("{\"base_version\":0,\"timestamp\":\"2024-01-01T00:00:00Z\",\"actions\":[]}",
                 TST_ECORRUPT, "commit " ORIGIN ": missing field `version`");
    expect_fails("{\"version\":1,\"base_version\":0,\"timestamp\":\"2024-01-01T00:00:00Z\"}",
                 TST_ECORRUPT, "missing field `actions`");
    expect_fails("{\"version\":-1,\"base_version\":0,\"timestamp\":\"2024-01-01T00:00:00Z\",\"actions\":[]}",
                 TST_ECORRUPT, "field `version` must be an unsigned 64-bit integer, found -1");
    expect_fails("{\"version\":1.0,\"base_version\":0,\"timestamp\":\"2024-01-01T00:00:00Z\",\"actions\":[]}",
                 TST_ECORRUPT, "found 1.0");
    expect_fails("{\"version\":\"1\",\"base_version\":0,\"timestamp\":\"2024-01-01T00:00:00Z\",\"actions\":[]}",
                 TST_ECORRUPT, "found \"1\"");
    expect_fails("{\"version\":true,\"base_version\":0,\"timestamp\":\"2024-01-01T00:00:00Z\",\"actions\":[]}",
                 TST_ECORRUPT, "found true");
    expect_fails("{\"version\":18446744073709551616,\"base_version\":0,\"timestamp\":\"2024-01-01T00:00:00Z\",\"actions\":[]}",
                 TST_ECORRUPT, "does not fit in 64 bits");
    expect_fails("{\"version\":1,\"base_version\":0,\"timestamp\":\"2024-01-01T00:00:00Z\",\"actions\":{}}",
                 TST_ECORRUPT, "field `actions` must be an array");
    assert_round_trip("{\"version\":18446744073709551615,\"base_version\":18446744073709551614,\"timestamp\":\"2024-01-01T00:00:00Z\",\"actions\":[]}");
}

static void unknown_commit_fields_are_ignored(void **state)
{
    (void)state;
    assert_reprints_as("{\"version\":3,\"extra\":{\"x\":[1,2]},\"base_version\":2,\"timestamp\":\"2024-01-01T00:00:00Z\",\"actions\":[]}",
                       HEAD TAIL);
}

static void invalid_json_is_corrupt_and_names_the_origin(void **state)
{
    (void)state;
    expect_fails("", TST_ECORRUPT, ORIGIN);
    expect_fails("not json", TST_ECORRUPT, "commit " ORIGIN ": invalid JSON");
    expect_fails("[1,2]", TST_ECORRUPT, "expected a JSON object at the top level, found an array");
    expect_fails("\"x\"", TST_ECORRUPT, "found a string");
    expect_fails("{\"version\":1,}", TST_ECORRUPT, "invalid JSON");
    expect_fails(HEAD TAIL "x", TST_ECORRUPT, ORIGIN);
    expect_fails(HEAD TAIL "{}", TST_ECORRUPT, ORIGIN);
    expect_fails("{'version':1}", TST_ECORRUPT, "invalid JSON");
    expect_fails("{\"version\":3,\"x\":NaN,\"base_version\":2,\"timestamp\":\"2024-01-01T00:00:00Z\",\"actions\":[]}",
                 TST_ECORRUPT, "NaN is not JSON");
    expect_fails("{\"version\":3,\"x\":-Infinity,\"base_version\":2,\"timestamp\":\"2024-01-01T00:00:00Z\",\"actions\":[]}",
                 TST_ECORRUPT, "Infinity is not JSON");
    expect_fails("{\"version\":01}", TST_ECORRUPT, "invalid JSON");
    expect_fails("{\"a\":\"\xff\"}", TST_ECORRUPT, "invalid JSON");
    assert_round_trip(HEAD TAIL);
    /* Trailing whitespace is fine (a hand-edited file may end with a newline). */
    assert_reprints_as(HEAD TAIL "\n", HEAD TAIL);

    tst_commit commit;
    const char with_nul[] = "{\"version\":3}\0{}";
    assert_tst_fails(tst_commit_parse(&commit, with_nul, sizeof with_nul - 1, ORIGIN),
                     TST_ECORRUPT);
}

static void deeply_nested_json_is_rejected(void **state)
{
    (void)state;
    char text[600];
    size_t n = 0;
    text[n++] = '{';
    memcpy(text + n, "\"a\":", 4);
    n += 4;
    for (int i = 0; i < 200; i++)
        text[n++] = '[';
    for (int i = 0; i < 200; i++)
        text[n++] = ']';
    text[n++] = '}';
    text[n] = '\0';
    expect_fails(text, TST_ECORRUPT, "invalid JSON");
}

static void every_truncation_of_a_commit_is_rejected(void **state)
{
    (void)state;
    char *text = read_golden("commit_0000000002.json");
    size_t len = strlen(text);
    for (size_t cut = 0; cut < len; cut++) {
        tst_commit commit;
        int rc = tst_commit_parse(&commit, text, cut, ORIGIN);
        if (rc != TST_ECORRUPT)
            fail_msg("prefix of %zu bytes: got %d", cut, rc);
        assert_non_null(strstr(tst_error_last()->message, ORIGIN));
        assert_null(commit.actions);
    }
    free(text);
}

/* ---- TableMeta ---------------------------------------------------------- */

static void unsupported_format_versions_are_typed_errors(void **state)
{
    (void)state;
    expect_fails(HEAD META(TS_KIND(SPEC("[]", KIND_1H)), "7") TAIL, TST_EUNSUPPORTED,
                 "unsupported format_version 7 (this build reads 6)");
    expect_fails(HEAD META(TS_KIND(SPEC("[]", KIND_1H)), "5") TAIL, TST_EUNSUPPORTED,
                 "actions[0].UpdateTableMeta: unsupported format_version 5");
    /* Found before anything else is checked: a newer format is not "corrupt". */
    expect_fails(HEAD "{\"AddSegment\":{}}," META("{\"Future\":{}}", "7") TAIL, TST_EUNSUPPORTED,
                 "actions[1]");
    json_object *obj = json("{\"kind\":\"Generic\",\"logical_schema\":null,\"created_at\":"
                            "\"2024-01-01T00:00:00Z\",\"format_version\":9}");
    tst_table_meta meta;
    assert_tst_fails(tst_table_meta_from_json(&meta, obj, "meta"), TST_EUNSUPPORTED);
    json_object_put(obj);
}

static void table_meta_fields_are_checked(void **state)
{
    (void)state;
    expect_fails(HEAD "{\"UpdateTableMeta\":{\"kind\":\"Generic\",\"created_at\":\"2024-01-01T00:00:00Z\"}}" TAIL,
                 TST_ECORRUPT, "actions[0].UpdateTableMeta: missing field `format_version`");
    expect_fails(HEAD META("\"Other\"", "6") TAIL, TST_ECORRUPT, "unknown table kind \"Other\"");
    expect_fails(HEAD META("{\"Batch\":{}}", "6") TAIL, TST_ECORRUPT, "unknown table kind");
    expect_fails(HEAD "{\"UpdateTableMeta\":{\"kind\":\"Generic\",\"format_version\":6}}" TAIL,
                 TST_ECORRUPT, "missing field `created_at`");
    /* logical_schema may be absent: read as null, written as null. */
    assert_reprints_as(HEAD "{\"UpdateTableMeta\":{\"kind\":\"Generic\",\"created_at\":\"2024-01-01T00:00:00Z\",\"format_version\":6}}" TAIL,
                       HEAD META("\"Generic\"", "6") TAIL);
    /* Unknown TableMeta fields are ignored. */
    assert_reprints_as(HEAD "{\"UpdateTableMeta\":{\"kind\":\"Generic\",\"future\":1,\"logical_schema\":null,\"created_at\":\"2024-01-01T00:00:00Z\",\"format_version\":6}}" TAIL,
                       HEAD META("\"Generic\"", "6") TAIL);
}

static void table_meta_copies_are_deep(void **state)
{
    (void)state;
    char *text = read_golden("commit_0000000002.json");
    tst_commit commit;
    assert_tst_ok(parse(&commit, text));
    tst_table_meta copy;
    assert_tst_ok(tst_table_meta_copy(&copy, &commit.actions[0].u.meta));
    char *a = print(tst_table_meta_to_json(&commit.actions[0].u.meta));
    tst_commit_clear(&commit);
    char *b = print(tst_table_meta_to_json(&copy));
    assert_string_equal(a, b);
    assert_ptr_not_equal(copy.index.column, NULL);
    tst_table_meta_clear(&copy);
    tst_table_meta_clear(&copy);
    assert_null(copy.schema);
    free(a);
    free(b);
    free(text);
}

/* ---- IndexSpec, IndexKind, TimeBucket ------------------------------------ */

static void missing_entity_columns_default_to_none(void **state)
{
    (void)state;
    assert_reprints_as(HEAD META(TS_KIND("{\"column\":\"ts\",\"kind\":" KIND_1H "}"), "6") TAIL,
                       HEAD META(TS_KIND(SPEC("[]", KIND_1H)), "6") TAIL);
    json_object *obj = json("{\"column\":\"ts\",\"kind\":" KIND_1H "}");
    tst_index_spec spec;
    assert_tst_ok(tst_index_spec_from_json(&spec, obj, "spec"));
    assert_int_equal(spec.entity_count, 0);
    assert_null(spec.entity_columns);
    assert_string_equal(spec.kind.timezone, "");
    tst_index_spec_clear(&spec);
    json_object_put(obj);
}

static void timezone_is_omitted_when_absent_and_kept_when_present(void **state)
{
    (void)state;
    assert_round_trip(HEAD META(TS_KIND(SPEC("[\"symbol\"]", KIND_1H)), "6") TAIL);
    assert_round_trip(HEAD META(TS_KIND(SPEC("[]", "{\"type\":\"timestamp\",\"bucket\":{\"Minutes\":5},\"timezone\":\"America/New_York\"}")), "6") TAIL);
    assert_reprints_as(HEAD META(TS_KIND(SPEC("[]", "{\"type\":\"timestamp\",\"bucket\":{\"Hours\":1},\"timezone\":null}")), "6") TAIL,
                       HEAD META(TS_KIND(SPEC("[]", KIND_1H)), "6") TAIL);
    expect_fails(HEAD META(TS_KIND(SPEC("[]", "{\"type\":\"timestamp\",\"bucket\":{\"Hours\":1},\"timezone\":\"\"}")), "6") TAIL,
                 TST_ECORRUPT, "timezone");
}

static void kind_round_trip(const char *text)
{
    json_object *obj = json(text);
    tst_index_kind kind;
    assert_tst_ok(tst_index_kind_from_json(&kind, obj, "kind"));
    json_object_put(obj);
    char *out = print(tst_index_kind_to_json(&kind));
    assert_string_equal(out, text);
    free(out);
}

static void kind_rejected(const char *text, const char *needle)
{
    json_object *obj = json(text);
    tst_index_kind kind;
    assert_tst_fails(tst_index_kind_from_json(&kind, obj, "kind"), TST_ECORRUPT);
    json_object_put(obj);
    if (needle && !strstr(tst_error_last()->message, needle))
        fail_msg("message lacks '%s': %s", needle, tst_error_last()->message);
}

static void all_time_bucket_variants_round_trip(void **state)
{
    (void)state;
    kind_round_trip("{\"type\":\"timestamp\",\"bucket\":{\"Seconds\":30}}");
    kind_round_trip("{\"type\":\"timestamp\",\"bucket\":{\"Minutes\":15}}");
    kind_round_trip("{\"type\":\"timestamp\",\"bucket\":{\"Hours\":2}}");
    kind_round_trip("{\"type\":\"timestamp\",\"bucket\":{\"Days\":1}}");
    kind_round_trip("{\"type\":\"timestamp\",\"bucket\":{\"Seconds\":4294967295}}");
    kind_rejected("{\"type\":\"timestamp\",\"bucket\":{\"Seconds\":4294967296}}", "32-bit");
    kind_rejected("{\"type\":\"timestamp\",\"bucket\":{\"Weeks\":1}}", "unknown time bucket unit `Weeks`");
    kind_rejected("{\"type\":\"timestamp\",\"bucket\":{\"Hours\":0}}", "time bucket count is 0");
    kind_rejected("{\"type\":\"timestamp\",\"bucket\":{\"Hours\":1,\"Days\":1}}", "exactly one member");
    kind_rejected("{\"type\":\"timestamp\",\"bucket\":\"1h\"}", "exactly one member");
    kind_rejected("{\"type\":\"timestamp\"}", "missing field `bucket`");
}

static void index_specs_round_trip_in_every_domain(void **state)
{
    (void)state;
    kind_round_trip("{\"type\":\"int64\",\"bucket_width\":10}");
    kind_round_trip("{\"type\":\"u_int64\",\"bucket_width\":18446744073709551615}");
    kind_round_trip("{\"type\":\"int64\",\"bucket_width\":18446744073709551615}");
    assert_round_trip(HEAD META(TS_KIND(SPEC("[\"a\",\"b\"]", "{\"type\":\"u_int64\",\"bucket_width\":18446744073709551615}")), "6") TAIL);
    assert_round_trip(HEAD META(TS_KIND(SPEC("[\"a\"]", "{\"type\":\"int64\",\"bucket_width\":1}")), "6") TAIL);
    json_object *obj = json("{\"type\":\"u_int64\",\"bucket_width\":18446744073709551615}");
    tst_index_kind kind;
    assert_tst_ok(tst_index_kind_from_json(&kind, obj, "kind"));
    assert_int_equal(kind.type, TST_INDEX_UINT64);
    assert_true(kind.bucket_width == UINT64_MAX);
    json_object_put(obj);
}

/* The reference 0.4.0 writes the unsigned tag as "u_int64" (serde snake_case of UInt64) in both
 * IndexKind and IndexValue; "uint64" (what tstable wrote before, and protocol 7's IndexKind) is
 * still read, and is written back as "u_int64". */
static void uint64_tags_are_written_as_u_int64_and_read_in_both_spellings(void **state)
{
    (void)state;
    const char *const kinds[] = {"{\"type\":\"uint64\",\"bucket_width\":7}",
                                 "{\"type\":\"u_int64\",\"bucket_width\":7}"};
    for (int i = 0; i < 2; i++) {
        json_object *obj = json(kinds[i]);
        tst_index_kind kind;
        assert_tst_ok(tst_index_kind_from_json(&kind, obj, "kind"));
        json_object_put(obj);
        assert_int_equal(kind.type, TST_INDEX_UINT64);
        char *out = print(tst_index_kind_to_json(&kind));
        assert_string_equal(out, kinds[1]);
        free(out);
    }
    const char *const values[] = {"{\"type\":\"uint64\",\"value\":18446744073709551611}",
                                  "{\"type\":\"u_int64\",\"value\":18446744073709551611}"};
    for (int i = 0; i < 2; i++) {
        json_object *obj = json(values[i]);
        tst_index_value v;
        assert_tst_ok(tst_index_value_from_json(&v, obj, "value"));
        json_object_put(obj);
        assert_true(v.type == TST_INDEX_UINT64 && v.v.u64 == UINT64_MAX - 4);
        char *out = print(tst_index_value_to_json(&v));
        assert_string_equal(out, values[1]);
        free(out);
    }
    /* Other spellings stay unknown, and the message names the tag it expects. */
    kind_rejected("{\"type\":\"UInt64\",\"bucket_width\":7}", "`u_int64`");
    kind_rejected("{\"type\":\"u_int_64\",\"bucket_width\":7}", "unknown index type");
}

static void impossible_index_kinds_are_rejected(void **state)
{
    (void)state;
    kind_rejected("{\"type\":\"timestamp\",\"bucket\":{\"Hours\":1},\"bucket_width\":1}",
                  "unknown field `bucket_width`");
    kind_rejected("{\"type\":\"int64\",\"bucket_width\":1,\"bucket\":{\"Hours\":1}}",
                  "unknown field `bucket`");
    kind_rejected("{\"type\":\"int64\",\"bucket_width\":1,\"timezone\":\"UTC\"}", "unknown field");
    kind_rejected("{\"type\":\"int64\",\"bucket_width\":0}", "bucket_width is 0");
    kind_rejected("{\"type\":\"uint64\",\"bucket_width\":-1}", "unsigned 64-bit");
    kind_rejected("{\"type\":\"float64\",\"bucket_width\":1}", "unknown index type `float64`");
    kind_rejected("{\"bucket_width\":1}", "missing field `type`");
    kind_rejected("{\"type\":\"int64\"}", "missing field `bucket_width`");
}

static void index_kinds_compare_by_every_field(void **state)
{
    (void)state;
    tst_index_kind a = {.type = TST_INDEX_TIMESTAMP, .bucket = {TST_TIME_HOURS, 1}};
    tst_index_kind b = a;
    assert_true(tst_index_kind_equal(&a, &b));
    strcpy(b.timezone, "UTC");
    assert_false(tst_index_kind_equal(&a, &b));
    b = a;
    b.bucket.count = 2;
    assert_false(tst_index_kind_equal(&a, &b));
    tst_index_kind i = {.type = TST_INDEX_INT64, .bucket_width = 10};
    tst_index_kind u = {.type = TST_INDEX_UINT64, .bucket_width = 10};
    assert_false(tst_index_kind_equal(&i, &u));
    tst_index_kind i2 = i;
    assert_true(tst_index_kind_equal(&i, &i2));
}

static void spec_rejected(const char *text, const char *needle)
{
    json_object *obj = json(text);
    tst_index_spec spec;
    assert_tst_fails(tst_index_spec_from_json(&spec, obj, "spec"), TST_ECORRUPT);
    assert_null(spec.column);
    json_object_put(obj);
    if (needle && !strstr(tst_error_last()->message, needle))
        fail_msg("message lacks '%s': %s", needle, tst_error_last()->message);
}

static void index_spec_structure_is_validated_on_read(void **state)
{
    (void)state;
    spec_rejected("{\"column\":\"\",\"kind\":" KIND_1H "}", "spec: ordered index column is empty");
    spec_rejected("{\"column\":\"ts\",\"entity_columns\":[\"\"],\"kind\":" KIND_1H "}",
                  "entity column 0 is empty");
    spec_rejected("{\"column\":\"ts\",\"entity_columns\":[\"a\",\"a\"],\"kind\":" KIND_1H "}",
                  "duplicate entity column: a");
    spec_rejected("{\"column\":\"x\",\"entity_columns\":[\"x\"],\"kind\":" KIND_1H "}",
                  "entity column cannot also be the ordered index column: x");
    spec_rejected("{\"column\":\"ts\",\"kind\":" KIND_1H ",\"extra\":1}", "unknown field `extra`");
    spec_rejected("{\"column\":\"ts\",\"entity_columns\":[1],\"kind\":" KIND_1H "}",
                  "entity_columns[0]");
    spec_rejected("{\"column\":\"ts\",\"entity_columns\":\"a\",\"kind\":" KIND_1H "}",
                  "must be an array");
    spec_rejected("{\"column\":\"ts\"}", "missing field `kind`");
    spec_rejected("{\"kind\":" KIND_1H "}", "missing field `column`");
}

static void index_spec_validation_is_an_invalid_argument(void **state)
{
    (void)state;
    char *cols[] = {"sym", "ts"};
    tst_index_spec spec = {.column = "ts", .entity_columns = cols, .entity_count = 1,
                           .kind = {.type = TST_INDEX_TIMESTAMP, .bucket = {TST_TIME_HOURS, 1}}};
    assert_tst_ok(tst_index_spec_validate(&spec));
    spec.entity_count = 2;
    assert_tst_fails(tst_index_spec_validate(&spec), TST_EINVAL);
    spec.entity_count = 1;
    spec.kind.bucket.count = 0;
    assert_tst_fails(tst_index_spec_validate(&spec), TST_EINVAL);
    spec.kind = (tst_index_kind){.type = TST_INDEX_INT64, .bucket_width = 0};
    assert_tst_fails(tst_index_spec_validate(&spec), TST_EINVAL);
    spec.column = "";
    assert_tst_fails(tst_index_spec_validate(&spec), TST_EINVAL);

    spec = (tst_index_spec){.column = "ts", .entity_columns = cols, .entity_count = 1,
                            .kind = {.type = TST_INDEX_UINT64, .bucket_width = 7}};
    tst_index_spec copy;
    assert_tst_ok(tst_index_spec_copy(&copy, &spec));
    assert_ptr_not_equal(copy.column, spec.column);
    assert_string_equal(copy.entity_columns[0], "sym");
    tst_index_spec_clear(&copy);
    tst_index_spec_clear(&copy);
}

/* ---- values ------------------------------------------------------------- */

static void value_round_trip(const char *text, bool entity)
{
    json_object *obj = json(text);
    json_object *out = NULL;
    if (entity) {
        tst_entity_value v;
        assert_tst_ok(tst_entity_value_from_json(&v, obj, "value"));
        out = tst_entity_value_to_json(&v);
    } else {
        tst_index_value v;
        assert_tst_ok(tst_index_value_from_json(&v, obj, "value"));
        out = tst_index_value_to_json(&v);
    }
    json_object_put(obj);
    char *printed = print(out);
    assert_string_equal(printed, text);
    free(printed);
}

static void value_rejected(const char *text, bool entity, const char *needle)
{
    json_object *obj = json(text);
    int rc;
    if (entity) {
        tst_entity_value v;
        rc = tst_entity_value_from_json(&v, obj, "value");
    } else {
        tst_index_value v;
        rc = tst_index_value_from_json(&v, obj, "value");
    }
    json_object_put(obj);
    assert_tst_fails(rc, TST_ECORRUPT);
    if (needle && !strstr(tst_error_last()->message, needle))
        fail_msg("message lacks '%s': %s", needle, tst_error_last()->message);
}

static void index_values_round_trip_at_integer_extremes(void **state)
{
    (void)state;
    value_round_trip("{\"type\":\"int64\",\"value\":-9223372036854775808}", false);
    value_round_trip("{\"type\":\"int64\",\"value\":9223372036854775807}", false);
    value_round_trip("{\"type\":\"int64\",\"value\":-5}", false);
    value_round_trip("{\"type\":\"u_int64\",\"value\":18446744073709551615}", false);
    value_round_trip("{\"type\":\"u_int64\",\"value\":0}", false);
    value_round_trip("{\"type\":\"timestamp\",\"value\":\"2024-06-01T00:00:00.123456789Z\"}", false);
    value_round_trip("{\"type\":\"timestamp\",\"value\":\"1969-12-31T23:59:59Z\"}", false);

    json_object *obj = json("{\"type\":\"u_int64\",\"value\":18446744073709551615}");
    tst_index_value v;
    assert_tst_ok(tst_index_value_from_json(&v, obj, "value"));
    assert_true(v.type == TST_INDEX_UINT64 && v.v.u64 == UINT64_MAX);
    json_object_put(obj);
}

static void index_values_outside_their_domain_are_rejected(void **state)
{
    (void)state;
    value_rejected("{\"type\":\"int64\",\"value\":9223372036854775808}", false, "signed 64-bit");
    value_rejected("{\"type\":\"uint64\",\"value\":-1}", false, "unsigned 64-bit");
    value_rejected("{\"type\":\"uint64\",\"value\":1e3}", false, "unsigned 64-bit");
    value_rejected("{\"type\":\"int64\",\"value\":\"5\"}", false, "found \"5\"");
    value_rejected("{\"type\":\"timestamp\",\"value\":5}", false, "must be a string");
    value_rejected("{\"type\":\"timestamp\",\"value\":\"2024-13-01T00:00:00Z\"}", false, "value");
    value_rejected("{\"type\":\"float\",\"value\":1}", false, "unknown index value type `float`");
    value_rejected("{\"type\":\"int64\",\"value\":1,\"unit\":\"s\"}", false, "unknown field `unit`");
    value_rejected("{\"type\":\"int64\"}", false, "missing field `value`");
    /* Beyond the 64-bit range json-c would saturate; the parser refuses. */
    expect_fails(HEAD SEGMENT(",\"file_size\":99999999999999999999") TAIL, TST_ECORRUPT,
                 "99999999999999999999");
    expect_fails(HEAD "{\"AddSegment\":{\"path\":\"data/a.parquet\",\"entity_layout\":\"NotApplicable\",\"index_min\":{\"type\":\"int64\",\"value\":-9223372036854775809},\"index_max\":{\"type\":\"int64\",\"value\":0},\"row_count\":1}}" TAIL,
                 TST_ECORRUPT, "does not fit in 64 bits");
}

static void entity_values_round_trip_in_every_type(void **state)
{
    (void)state;
    value_round_trip("{\"type\":\"utf8\",\"value\":\"NVDA\"}", true);
    value_round_trip("{\"type\":\"utf8\",\"value\":\"\xe6\x9d\xb1\xe4\xba\xac/x\"}", true);
    value_round_trip("{\"type\":\"utf8\",\"value\":\"a\\u0000b\\n\\\"\"}", true);
    value_round_trip("{\"type\":\"int32\",\"value\":-2147483648}", true);
    value_round_trip("{\"type\":\"int64\",\"value\":-9223372036854775808}", true);
    value_round_trip("{\"type\":\"uint64\",\"value\":18446744073709551615}", true);
    value_rejected("{\"type\":\"int32\",\"value\":2147483648}", true, "signed 32-bit");
    value_rejected("{\"type\":\"Utf8\",\"value\":\"x\"}", true, "unknown entity value type `Utf8`");
    value_rejected("{\"type\":\"utf8\",\"value\":\"x\",\"column\":\"s\"}", true, "unknown field `column`");
}

/* ---- segments ----------------------------------------------------------- */

static void segments_round_trip_with_and_without_optionals(void **state)
{
    (void)state;
    assert_round_trip(HEAD SEGMENT("") TAIL);
    assert_round_trip(HEAD SEGMENT(",\"file_size\":0") TAIL);
    assert_round_trip(HEAD SEGMENT(",\"coverage_path\":\"_coverage/segments/a.roar\"") TAIL);
    assert_round_trip(HEAD SEGMENT(",\"file_size\":18446744073709551615,\"coverage_path\":\"_coverage/segments/a.roar\"") TAIL);
    /* null optionals read as absent and are omitted. */
    assert_reprints_as(HEAD SEGMENT(",\"file_size\":null,\"coverage_path\":null") TAIL,
                       HEAD SEGMENT("") TAIL);
    /* Unknown SegmentMeta fields are ignored. */
    assert_reprints_as(HEAD SEGMENT(",\"stats\":{\"a\":1}") TAIL, HEAD SEGMENT("") TAIL);
}

static void segment_format_defaults_to_parquet(void **state)
{
    (void)state;
    const char *without = HEAD "{\"AddSegment\":{\"path\":\"data/a.parquet\",\"entity_layout\":\"NotApplicable\",\"index_min\":" TSV("2024-01-01T00:00:00Z") ",\"index_max\":" TSV("2024-01-02T00:00:00Z") ",\"row_count\":10}}" TAIL;
    assert_reprints_as(without, HEAD SEGMENT("") TAIL);
    assert_non_null(strstr(HEAD SEGMENT("") TAIL, "\"format\":\"parquet\""));
    expect_fails(HEAD "{\"AddSegment\":{\"path\":\"data/a.parquet\",\"format\":\"Parquet\",\"entity_layout\":\"Mixed\",\"index_min\":" TSV("2024-01-01T00:00:00Z") ",\"index_max\":" TSV("2024-01-02T00:00:00Z") ",\"row_count\":10}}" TAIL,
                 TST_ECORRUPT, "unknown segment format \"Parquet\"");
}

static void segment_fields_are_required(void **state)
{
    (void)state;
    expect_fails(HEAD "{\"AddSegment\":{\"path\":\"data/a.parquet\",\"index_min\":" TSV("2024-01-01T00:00:00Z") ",\"index_max\":" TSV("2024-01-02T00:00:00Z") ",\"row_count\":10}}" TAIL,
                 TST_ECORRUPT, "actions[0].AddSegment: missing field `entity_layout`");
    expect_fails(HEAD "{\"AddSegment\":{\"path\":\"data/a.parquet\",\"entity_layout\":\"Mixed\",\"index_max\":" TSV("2024-01-02T00:00:00Z") ",\"row_count\":10}}" TAIL,
                 TST_ECORRUPT, "missing field `index_min`");
    expect_fails(HEAD "{\"AddSegment\":{\"path\":\"data/a.parquet\",\"entity_layout\":\"Mixed\",\"index_min\":" TSV("2024-01-01T00:00:00Z") ",\"index_max\":" TSV("2024-01-02T00:00:00Z") "}}" TAIL,
                 TST_ECORRUPT, "missing field `row_count`");
    expect_fails(HEAD "{\"AddSegment\":{\"entity_layout\":\"Mixed\"}}" TAIL, TST_ECORRUPT,
                 "missing field `path`");
}

static void entity_layouts_round_trip(void **state)
{
    (void)state;
    const char *single = HEAD "{\"AddSegment\":{\"path\":\"data/a.parquet\",\"format\":\"parquet\",\"entity_layout\":{\"Single\":[{\"type\":\"utf8\",\"value\":\"us\"},{\"type\":\"int32\",\"value\":-1},{\"type\":\"int64\",\"value\":7},{\"type\":\"uint64\",\"value\":8}]},\"index_min\":" TSV("2024-01-01T00:00:00Z") ",\"index_max\":" TSV("2024-01-02T00:00:00Z") ",\"row_count\":10}}" TAIL;
    assert_round_trip(single);
    char *mixed = strdup(HEAD SEGMENT("") TAIL);
    assert_round_trip(mixed);
    char *at = strstr(mixed, "\"NotApplicable\"");
    memcpy(at, "\"Mixed\"", 7);
    memmove(at + 7, at + 15, strlen(at + 15) + 1);
    assert_round_trip(mixed);
    free(mixed);

    tst_commit commit;
    assert_tst_ok(parse(&commit, single));
    tst_segment copy;
    assert_tst_ok(tst_segment_copy(&copy, &commit.actions[0].u.segment));
    assert_ptr_not_equal(copy.layout.values[0].v.utf8.ptr,
                         commit.actions[0].u.segment.layout.values[0].v.utf8.ptr);
    char *a = print(tst_segment_to_json(&commit.actions[0].u.segment));
    tst_commit_clear(&commit);
    char *b = print(tst_segment_to_json(&copy));
    assert_string_equal(a, b);
    tst_segment_clear(&copy);
    tst_segment_clear(&copy);
    free(a);
    free(b);
}

static void malformed_entity_layouts_are_rejected(void **state)
{
    (void)state;
    expect_fails(HEAD "{\"AddSegment\":{\"path\":\"data/a.parquet\",\"entity_layout\":{\"Single\":[]},\"index_min\":" TSV("2024-01-01T00:00:00Z") ",\"index_max\":" TSV("2024-01-02T00:00:00Z") ",\"row_count\":10}}" TAIL,
                 TST_ECORRUPT, "at least one component");
    expect_fails(HEAD "{\"AddSegment\":{\"path\":\"data/a.parquet\",\"entity_layout\":\"Single\",\"index_min\":" TSV("2024-01-01T00:00:00Z") ",\"index_max\":" TSV("2024-01-02T00:00:00Z") ",\"row_count\":10}}" TAIL,
                 TST_ECORRUPT, "unknown entity layout");
    expect_fails(HEAD "{\"AddSegment\":{\"path\":\"data/a.parquet\",\"entity_layout\":{\"Single\":[{\"type\":\"utf8\",\"value\":\"a\"},{\"type\":\"utf8\"}]},\"index_min\":" TSV("2024-01-01T00:00:00Z") ",\"index_max\":" TSV("2024-01-02T00:00:00Z") ",\"row_count\":10}}" TAIL,
                 TST_ECORRUPT, "entity_layout.Single[1]: missing field `value`");
}

static void persisted_paths_are_validated_on_read(void **state)
{
    (void)state;
    expect_fails(HEAD "{\"RemoveSegment\":{\"path\":\"..\"}}" TAIL, TST_ECORRUPT,
                 "actions[0].RemoveSegment: invalid persisted removed segment path '..'");
    expect_fails(HEAD "{\"RemoveSegment\":{\"path\":\"data\\\\seg.parquet\"}}" TAIL, TST_ECORRUPT,
                 "canonical form is 'data/seg.parquet'");
    expect_fails(HEAD "{\"AddSegment\":{\"path\":\"/abs\",\"entity_layout\":\"Mixed\"}}" TAIL,
                 TST_ECORRUPT, "actions[0].AddSegment: invalid persisted segment path '/abs'");
    expect_fails(HEAD SEGMENT(",\"coverage_path\":\"a//b\"") TAIL, TST_ECORRUPT,
                 "segment coverage_path 'a//b'; canonical form is 'a/b'");
    expect_fails(HEAD "{\"UpdateTableCoverage\":{\"index_kind\":" KIND_1H ",\"coverage_path\":\"C:/x\"}}" TAIL,
                 TST_ECORRUPT, "actions[0].UpdateTableCoverage: invalid persisted table coverage_path");
    expect_fails(HEAD "{\"RemoveSegment\":{\"path\":\"a\\u0000b\"}}" TAIL, TST_ECORRUPT,
                 "NUL character");
}

static void coverage_pointers_round_trip_and_copy(void **state)
{
    (void)state;
    const char *text = HEAD "{\"UpdateTableCoverage\":{\"index_kind\":{\"type\":\"int64\",\"bucket_width\":100},\"coverage_path\":\"_coverage/table/3-x.roar\"}}" TAIL;
    assert_round_trip(text);
    expect_fails(HEAD "{\"UpdateTableCoverage\":{\"coverage_path\":\"_coverage/table/3-x.roar\"}}" TAIL,
                 TST_ECORRUPT, "missing field `index_kind`");
    tst_commit commit;
    assert_tst_ok(parse(&commit, text));
    tst_coverage_pointer copy;
    assert_tst_ok(tst_coverage_pointer_copy(&copy, &commit.actions[0].u.coverage));
    tst_commit_clear(&commit);
    assert_string_equal(copy.coverage_path, "_coverage/table/3-x.roar");
    assert_int_equal(copy.index_kind.bucket_width, 100);
    tst_coverage_pointer_clear(&copy);
    tst_coverage_pointer_clear(&copy);
}

static void commits_built_in_memory_serialize_in_reference_order(void **state)
{
    (void)state;
    tst_entity_value sym = {.type = TST_ENTITY_UTF8, .v.utf8 = {"NVDA", 4}};
    tst_action action = {.type = TST_ACTION_ADD_SEGMENT};
    action.u.segment = (tst_segment){
        .path = "data/x.parquet",
        .layout = {.kind = TST_LAYOUT_SINGLE, .values = &sym, .count = 1},
        .index_min = tst_index_value_uint64(0),
        .index_max = tst_index_value_uint64(UINT64_MAX),
        .row_count = 2,
        .has_file_size = true,
        .file_size = 9,
    };
    tst_commit commit = {.version = 2, .base_version = 1, .timestamp = {1, 5000000},
                         .actions = &action, .action_count = 1};
    char *out = NULL;
    assert_tst_ok(tst_commit_serialize(&commit, &out, NULL));
    assert_string_equal(out, "{\"version\":2,\"base_version\":1,\"timestamp\":\"1970-01-01T00:00:01.005Z\",\"actions\":[{\"AddSegment\":{\"path\":\"data/x.parquet\",\"format\":\"parquet\",\"entity_layout\":{\"Single\":[{\"type\":\"utf8\",\"value\":\"NVDA\"}]},\"index_min\":{\"type\":\"u_int64\",\"value\":0},\"index_max\":{\"type\":\"u_int64\",\"value\":18446744073709551615},\"row_count\":2,\"file_size\":9}}]}");
    free(out);
    action.type = (tst_action_type)99;
    assert_tst_fails(tst_commit_serialize(&commit, &out, NULL), TST_EINVAL);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(golden_create_commit_round_trips_byte_for_byte),
        cmocka_unit_test(golden_append_commit_round_trips_byte_for_byte),
        cmocka_unit_test(commit_with_empty_actions_round_trips),
        cmocka_unit_test(remove_segment_action_round_trips),
        cmocka_unit_test(generic_table_kind_round_trips),
        cmocka_unit_test(commit_timestamps_keep_nanoseconds_and_normalise_to_utc),
        cmocka_unit_test(unknown_and_malformed_actions_are_rejected),
        cmocka_unit_test(commit_fields_are_required_and_exact),
        cmocka_unit_test(unknown_commit_fields_are_ignored),
        cmocka_unit_test(invalid_json_is_corrupt_and_names_the_origin),
        cmocka_unit_test(deeply_nested_json_is_rejected),
        cmocka_unit_test(every_truncation_of_a_commit_is_rejected),
        cmocka_unit_test(unsupported_format_versions_are_typed_errors),
        cmocka_unit_test(table_meta_fields_are_checked),
        cmocka_unit_test(table_meta_copies_are_deep),
        cmocka_unit_test(missing_entity_columns_default_to_none),
        cmocka_unit_test(timezone_is_omitted_when_absent_and_kept_when_present),
        cmocka_unit_test(all_time_bucket_variants_round_trip),
        cmocka_unit_test(index_specs_round_trip_in_every_domain),
        cmocka_unit_test(uint64_tags_are_written_as_u_int64_and_read_in_both_spellings),
        cmocka_unit_test(impossible_index_kinds_are_rejected),
        cmocka_unit_test(index_kinds_compare_by_every_field),
        cmocka_unit_test(index_spec_structure_is_validated_on_read),
        cmocka_unit_test(index_spec_validation_is_an_invalid_argument),
        cmocka_unit_test(index_values_round_trip_at_integer_extremes),
        cmocka_unit_test(index_values_outside_their_domain_are_rejected),
        cmocka_unit_test(entity_values_round_trip_in_every_type),
        cmocka_unit_test(segments_round_trip_with_and_without_optionals),
        cmocka_unit_test(segment_format_defaults_to_parquet),
        cmocka_unit_test(segment_fields_are_required),
        cmocka_unit_test(entity_layouts_round_trip),
        cmocka_unit_test(malformed_entity_layouts_are_rejected),
        cmocka_unit_test(persisted_paths_are_validated_on_read),
        cmocka_unit_test(coverage_pointers_round_trip_and_copy),
        cmocka_unit_test(commits_built_in_memory_serialize_in_reference_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
