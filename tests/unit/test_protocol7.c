/*
 * test_protocol7.c — the reference's protocol 7 (0.5 to 0.9) in the log:
 * TableMeta and IndexKind JSON both ways (bytes as the real 0.9.0 writes
 * them), and every protocol rule: unknown reader feature refused naming it,
 * unknown writer-only feature readable but not writable, feature names,
 * format_version inside a v7 meta, a protocol other than 7, unknown actions
 * dropped only in protocol-7 logs, and create(protocol 7).
 */
#include "testsupport.h"

#include "json_util.h"
#include "model.h"
#include "tstable/append.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORIGIN "/t/_timeseries_log/0000000001.json"
#define HEAD "{\"version\":1,\"base_version\":0,\"timestamp\":\"2024-01-01T00:00:00Z\",\"actions\":["
#define TAIL "]}"
#define KIND7_1H "{\"type\":\"timestamp\",\"index_granularity\":{\"Hours\":1},\"timezone\":\"UTC\"}"
#define META7_F(kind, readers, writers, extra)                                                \
    "{\"UpdateTableMeta\":{\"kind\":{\"TimeSeries\":{\"column\":\"ts\",\"entity_columns\":"    \
    "[\"sym\"],\"kind\":" kind "}},\"logical_schema\":null,\"created_at\":"                   \
    "\"2024-01-01T00:00:00Z\"" extra ",\"protocol_version\":7,\"required_reader_features\":" \
    readers ",\"required_writer_features\":" writers "}}"
#define META7(readers, writers) META7_F(KIND7_1H, readers, writers, "")

/* Byte for byte what the real 0.9.0 wrote for create(index_type="uint64", index_granularity=7). */
static const char REF09_UINT64_COMMIT[] =
    "{\"version\":1,\"base_version\":0,\"timestamp\":\"2026-12-07T20:41:01.441740681Z\","
    "\"actions\":[{\"UpdateTableMeta\":{\"kind\":{\"TimeSeries\":{\"column\":\"k\","
    "\"entity_columns\":[],\"kind\":{\"type\":\"uint64\",\"index_granularity\":7}}},"
    "\"logical_schema\":null,\"created_at\":\"2026-12-07T20:41:01.441540292Z\","
    "\"protocol_version\":7,\"required_reader_features\":[],\"required_writer_features\":[]}}]}";

/* Its AddSegment and UpdateTableCoverage (IndexValue keeps "u_int64"; IndexKind is "uint64"). */
static const char REF09_UINT64_APPEND[] =
    "{\"version\":2,\"base_version\":1,\"timestamp\":\"2026-12-07T20:41:01.463290806Z\","
    "\"actions\":[{\"AddSegment\":{\"path\":\"data/_managed/append/"
    "0eb0db48-cb3c-45f2-a813-e3d31d4ce3ec.parquet\",\"format\":\"parquet\",\"entity_layout\":"
    "\"NotApplicable\",\"index_min\":{\"type\":\"u_int64\",\"value\":18446744073709551606},"
    "\"index_max\":{\"type\":\"u_int64\",\"value\":18446744073709551615},\"row_count\":2,"
    "\"file_size\":832,\"coverage_path\":\"_coverage/segments/segcov-5f03429bf2dfb98929da6a3e"
    "48b42c0c-373c2c93-3758-4251-8b11-d0b0e7102597.roar\"}},{\"UpdateTableCoverage\":"
    "{\"index_kind\":{\"type\":\"uint64\",\"index_granularity\":7},\"coverage_path\":"
    "\"_coverage/table/2-tblcov-1def27b5b80a0615aafd7be53d056a01-373c2c93-3758-4251-8b11-"
    "d0b0e7102597.roar\"}}]}";

static int parse(tst_commit *commit, const char *text)
{
    return tst_commit_parse(commit, text, strlen(text), ORIGIN);
}

static void assert_reprints_as(const char *text, const char *expected)
{
    tst_commit commit;
    assert_tst_ok(parse(&commit, text));
    char *out = NULL;
    assert_tst_ok(tst_commit_serialize(&commit, &out, NULL));
    assert_string_equal(out, expected);
    tst_commit_clear(&commit);
    free(out);
}

static void expect_fails(const char *text, int code, const char *needle)
{
    tst_commit commit;
    assert_tst_fails(parse(&commit, text), code);
    assert_int_equal(commit.action_count, 0);
    if (!strstr(tst_error_last()->message, needle))
        fail_msg("message lacks '%s': %s", needle, tst_error_last()->message);
}

static void reference_09_commits_round_trip_byte_for_byte(void **state)
{
    (void)state;
    assert_reprints_as(REF09_UINT64_COMMIT, REF09_UINT64_COMMIT);
    assert_reprints_as(REF09_UINT64_APPEND, REF09_UINT64_APPEND);
    tst_commit c;
    assert_tst_ok(parse(&c, REF09_UINT64_COMMIT));
    const tst_table_meta *m = &c.actions[0].u.meta;
    assert_int_equal(m->protocol_version, 7);
    assert_int_equal(m->format_version, 0);
    assert_int_equal(m->index.kind.type, TST_INDEX_UINT64);
    assert_int_equal(m->index.kind.protocol, 7);
    assert_int_equal(m->index.kind.bucket_width, 7);
    tst_commit_clear(&c);
}

static void timestamp_kind_and_features_round_trip(void **state)
{
    (void)state;
    /* (Reader features would stop the commit parser: see protocol_rules_on_read.) */
    const char *text = HEAD META7("[]", "[\"aa\",\"b_1\"]") TAIL;
    tst_commit c;
    assert_tst_ok(parse(&c, text));
    const tst_table_meta *m = &c.actions[0].u.meta;
    assert_int_equal(m->reader_feature_count, 0);
    assert_int_equal(m->writer_feature_count, 2);
    assert_string_equal(m->writer_features[1], "b_1");
    assert_int_equal(m->index.kind.bucket.unit, TST_TIME_HOURS);
    assert_string_equal(m->index.kind.timezone, "UTC");
    /* A copy keeps the protocol fields. */
    tst_table_meta copy;
    assert_tst_ok(tst_table_meta_copy(&copy, m));
    json_object *a = tst_table_meta_to_json(m), *b = tst_table_meta_to_json(&copy);
    assert_string_equal(json_object_to_json_string(a), json_object_to_json_string(b));
    json_object_put(a);
    json_object_put(b);
    tst_table_meta_clear(&copy);
    char *out = NULL;
    assert_tst_ok(tst_commit_serialize(&c, &out, NULL));
    assert_string_equal(out, text);
    free(out);
    tst_commit_clear(&c);
    /* The meta decoder alone keeps reader features too, and prints them back. */
    json_object *obj = NULL;
    const char *meta_text = "{\"kind\":\"Generic\",\"logical_schema\":null,\"created_at\":"
                            "\"2024-01-01T00:00:00Z\",\"protocol_version\":7,"
                            "\"required_reader_features\":[\"r\"],\"required_writer_features\":"
                            "[\"r\",\"w\"]}";
    assert_tst_ok(tst_json_parse_object(&obj, meta_text, strlen(meta_text), "meta"));
    tst_table_meta rm;
    assert_tst_ok(tst_table_meta_from_json(&rm, obj, "meta"));
    json_object_put(obj);
    assert_int_equal(rm.reader_feature_count, 1);
    assert_tst_fails(tst_protocol_check_read(&rm, "t"), TST_EUNSUPPORTED);
    obj = tst_table_meta_to_json(&rm);
    assert_string_equal(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN), meta_text);
    json_object_put(obj);
    tst_table_meta_clear(&rm);
    /* "u_int64" is accepted for a v7 IndexKind too, and written as "uint64". */
    assert_reprints_as(HEAD META7_F("{\"type\":\"u_int64\",\"index_granularity\":3}", "[]", "[]", "") TAIL,
                       HEAD META7_F("{\"type\":\"uint64\",\"index_granularity\":3}", "[]", "[]", "") TAIL);
    /* Unknown extra TableMeta fields are ignored. */
    assert_reprints_as(HEAD META7_F(KIND7_1H, "[]", "[]", ",\"future_field\":{\"x\":1}") TAIL,
                       HEAD META7("[]", "[]") TAIL);
}

static void v6_commits_are_unchanged(void **state)
{
    (void)state;
    const char *v6 = HEAD "{\"UpdateTableMeta\":{\"kind\":{\"TimeSeries\":{\"column\":\"k\","
                     "\"entity_columns\":[],\"kind\":{\"type\":\"u_int64\",\"bucket_width\":7}}},"
                     "\"logical_schema\":null,\"created_at\":\"2024-01-01T00:00:00Z\","
                     "\"format_version\":6}}" TAIL;
    assert_reprints_as(v6, v6);
    /* Shapes cannot be mixed: a v6 meta with index_granularity, a v7 one with bucket. */
    expect_fails(HEAD "{\"UpdateTableMeta\":{\"kind\":{\"TimeSeries\":{\"column\":\"k\","
                 "\"entity_columns\":[],\"kind\":{\"type\":\"int64\",\"index_granularity\":7}}},"
                 "\"logical_schema\":null,\"created_at\":\"2024-01-01T00:00:00Z\","
                 "\"format_version\":6}}" TAIL,
                 TST_ECORRUPT, "the index kind uses `index_granularity`, but the table is "
                               "format_version 6");
    expect_fails(HEAD META7_F("{\"type\":\"int64\",\"bucket_width\":7}", "[]", "[]", "") TAIL,
                 TST_ECORRUPT, "the index kind uses `bucket`/`bucket_width`, but the table is "
                               "protocol 7");
    expect_fails(HEAD META7_F("{\"type\":\"int64\",\"index_granularity\":7,\"bucket_width\":7}",
                              "[]", "[]", "") TAIL,
                 TST_ECORRUPT, "bucket_width");
    expect_fails(HEAD META7_F("{\"type\":\"int64\",\"index_granularity\":0}", "[]", "[]", "") TAIL,
                 TST_ECORRUPT, "index_granularity is 0");
}

static void protocol_rules_on_read(void **state)
{
    (void)state;
    /* An unknown reader feature: refused by name, before anything else is decoded. */
    expect_fails(HEAD "{\"AddSegment\":{}}," META7("[\"time_travel\"]", "[]") TAIL,
                 TST_EUNSUPPORTED, "requires reader feature `time_travel`");
    /* schema_add_columns is read (scans fill the missing columns with nulls), and
     * schema_metadata read and written. */
    tst_commit c;
    assert_tst_ok(parse(&c, HEAD META7("[\"schema_add_columns\"]", "[]") TAIL));
    tst_commit_clear(&c);
    assert_tst_ok(parse(&c, HEAD META7("[\"schema_metadata\"]", "[\"schema_metadata\"]") TAIL));
    tst_commit_clear(&c);
    /* A protocol other than 7. */
    expect_fails(HEAD "{\"UpdateTableMeta\":{\"kind\":\"Generic\",\"created_at\":"
                 "\"2024-01-01T00:00:00Z\",\"protocol_version\":8,\"required_reader_features\":"
                 "[],\"required_writer_features\":[]}}" TAIL,
                 TST_EUNSUPPORTED, "unsupported protocol_version 8");
    /* format_version inside a v7 meta. */
    expect_fails(HEAD META7_F(KIND7_1H, "[]", "[]", ",\"format_version\":6") TAIL, TST_ECORRUPT,
                 "legacy field 'format_version' is not valid protocol-v7 metadata");
    /* Feature lists: required, arrays, valid names, sorted, unique. */
    expect_fails(HEAD META7("null", "[]") TAIL, TST_ECORRUPT,
                 "field `required_reader_features` must be an array");
    expect_fails(HEAD "{\"UpdateTableMeta\":{\"kind\":\"Generic\",\"created_at\":"
                 "\"2024-01-01T00:00:00Z\",\"protocol_version\":7,\"required_reader_features\":[]}}"
                 TAIL, TST_ECORRUPT, "missing field `required_writer_features`");
    expect_fails(HEAD META7("[]", "[\"Bad\"]") TAIL, TST_ECORRUPT,
                 "`Bad` is not a valid feature name");
    expect_fails(HEAD META7("[]", "[\"1x\"]") TAIL, TST_ECORRUPT, "not a valid feature name");
    expect_fails(HEAD META7("[]", "[\"a-b\"]") TAIL, TST_ECORRUPT, "not a valid feature name");
    expect_fails(HEAD META7("[]", "[\"b\",\"a\"]") TAIL, TST_ECORRUPT, "is not sorted");
    expect_fails(HEAD META7("[]", "[\"a\",\"a\"]") TAIL, TST_ECORRUPT, "lists `a` twice");
    expect_fails(HEAD META7("[]", "[7]") TAIL, TST_ECORRUPT, "required_writer_features[0]");
    assert_true(tst_feature_name_valid("schema_add_columns"));
    assert_false(tst_feature_name_valid(""));
    assert_false(tst_feature_name_valid("_a"));
}

static void unknown_actions_are_dropped_only_in_protocol_7(void **state)
{
    (void)state;
    const char *v7 = HEAD META7("[]", "[]") ",{\"FutureAction\":{\"x\":1}}" TAIL;
    tst_commit c;
    assert_tst_ok(parse(&c, v7));
    assert_int_equal(c.action_count, 1);
    tst_commit_clear(&c);
    const char *later = "{\"version\":2,\"base_version\":1,\"timestamp\":\"2024-01-01T00:00:00Z\","
                        "\"actions\":[{\"FutureAction\":{}},{\"RemoveSegment\":{\"path\":\"a\"}}]}";
    assert_tst_ok(tst_commit_parse_for(&c, later, strlen(later), ORIGIN, 7));
    assert_int_equal(c.action_count, 1);
    assert_int_equal(c.actions[0].type, TST_ACTION_REMOVE_SEGMENT);
    tst_commit_clear(&c);
    assert_tst_fails(tst_commit_parse_for(&c, later, strlen(later), ORIGIN, 6), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "unknown action `FutureAction`"));
}

/* ---- tables on disk ------------------------------------------------------ */

#define V7_TABLE_META                                                                        \
    "{\"UpdateTableMeta\":{\"kind\":{\"TimeSeries\":{\"column\":\"ts\",\"entity_columns\":"  \
    "[\"symbol\"],\"kind\":{\"type\":\"timestamp\",\"index_granularity\":{\"Hours\":1}}}},"   \
    "\"logical_schema\":{\"columns\":[{\"name\":\"ts\",\"data_type\":{\"Timestamp\":"        \
    "{\"unit\":\"Millis\",\"timezone\":null}},\"nullable\":false},{\"name\":\"symbol\","      \
    "\"data_type\":\"Utf8\",\"nullable\":false},{\"name\":\"close\",\"data_type\":"          \
    "\"Float64\",\"nullable\":true}]},\"created_at\":\"2024-01-01T00:00:00Z\","              \
    "\"protocol_version\":7,\"required_reader_features\":%s,\"required_writer_features\":%s}}"

static char *v7_table(const char *tag, const char *readers, const char *writers)
{
    char *root = tst_test_tmpdir(tag);
    char actions[4096];
    snprintf(actions, sizeof actions, "[" V7_TABLE_META "]", readers, writers);
    assert_int_equal(tst_test_write_commit(root, 1, actions), 0);
    assert_int_equal(tst_test_set_current(root, 1), 0);
    return root;
}

static void unknown_reader_feature_refuses_the_table(void **state)
{
    (void)state;
    char *root = v7_table("p7reader", "[\"future_read\"]", "[\"future_read\"]");
    tst_table *t = NULL;
    assert_tst_fails(tst_table_open(&t, root), TST_EUNSUPPORTED);
    assert_non_null(strstr(tst_error_last()->message, "reader feature `future_read`"));
    assert_null(t);
    tst_test_rmtree(root);
}

static void unknown_writer_feature_leaves_it_readable_not_writable(void **state)
{
    (void)state;
    char *root = v7_table("p7writer", "[]", "[\"future_write\"]");
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_get_meta(t)->protocol_version, 7);
    assert_int_equal(tst_table_get_meta(t)->writer_feature_count, 1);
    /* A raw commit, an append and an optimize are all refused, naming the feature. */
    assert_tst_fails(tst_table_commit_json(t, "[{\"RemoveSegment\":{\"path\":\"data/x.parquet\"}}]",
                                           NULL),
                     TST_EUNSUPPORTED);
    assert_non_null(strstr(tst_error_last()->message, "writer feature `future_write`"));
    char *csv = tst_test_path(root, "in.csv");
    const char rows[] = "ts,symbol,close\n2024-01-01T00:00:00Z,A,1.0\n";
    assert_int_equal(tst_test_write_file(csv, rows, sizeof rows - 1), 0);
    assert_tst_fails(tst_table_append_csv(t, csv, NULL, NULL, NULL), TST_EUNSUPPORTED);
    assert_non_null(strstr(tst_error_last()->message, "writer feature `future_write`"));
    assert_int_equal(tst_table_version(t), 1);
    char *data = tst_test_path(root, "data");
    assert_false(tst_test_exists(data));
    free(data);
    free(csv);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void features_cannot_be_removed_nor_the_protocol_changed(void **state)
{
    (void)state;
    char *root = v7_table("p7trans", "[]", "[]");
    /* Version 2 swaps to a format_version-6 meta: the log is corrupt. */
    const char *v6 = "[{\"UpdateTableMeta\":{\"kind\":{\"TimeSeries\":{\"column\":\"ts\","
                     "\"entity_columns\":[\"symbol\"],\"kind\":{\"type\":\"timestamp\","
                     "\"bucket\":{\"Hours\":1}}}},\"logical_schema\":null,\"created_at\":"
                     "\"2024-01-01T00:00:00Z\",\"format_version\":6}}]";
    assert_int_equal(tst_test_write_commit(root, 2, v6), 0);
    assert_int_equal(tst_test_set_current(root, 2), 0);
    tst_table *t = NULL;
    assert_tst_fails(tst_table_open(&t, root), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "keeps its format for its whole history"));
    tst_test_rmtree(root);
}

static void later_unknown_actions_are_dropped_when_the_table_is_opened(void **state)
{
    (void)state;
    char *root = v7_table("p7future", "[]", "[]");
    assert_int_equal(tst_test_write_commit(root, 2, "[{\"FutureAction\":{\"x\":[1,2]}}]"), 0);
    assert_int_equal(tst_test_set_current(root, 2), 0);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_version(t), 2);
    assert_int_equal(tst_table_segment_count(t), 0);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void checkpoints_keep_the_protocol(void **state)
{
    (void)state;
    char *root = v7_table("p7ckpt", "[]", "[]");
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    char meta[4096];
    snprintf(meta, sizeof meta, "[" V7_TABLE_META "]", "[]", "[]");
    for (int i = 0; i < TST_CHECKPOINT_INTERVAL + 1; i++)
        assert_tst_ok(tst_table_commit_json(t, meta, NULL));
    tst_table_free(t);
    char *dir = tst_test_path(root, "_timeseries_log/_checkpoints");
    assert_true(tst_test_count_files(dir) > 0);
    free(dir);
    /* Without commit 1, only the checkpoint can give the meta back. */
    char *first = tst_test_path(root, "_timeseries_log/0000000001.json");
    assert_int_equal(remove(first), 0);
    free(first);
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_version(t), TST_CHECKPOINT_INTERVAL + 2);
    assert_int_equal(tst_table_get_meta(t)->protocol_version, 7);
    assert_int_equal(tst_table_index(t)->kind.protocol, 7);
    tst_table_free(t);
    tst_test_rmtree(root);
}

/* Version 2 of a v7 table: its meta with `columns` as the schema's columns. */
static int open_after_meta(const char *tag, const char *readers, const char *columns)
{
    char *root = v7_table(tag, "[]", "[]");
    char actions[4096];
    snprintf(actions, sizeof actions,
             "[{\"UpdateTableMeta\":{\"kind\":{\"TimeSeries\":{\"column\":\"ts\","
             "\"entity_columns\":[\"symbol\"],\"kind\":{\"type\":\"timestamp\","
             "\"index_granularity\":{\"Hours\":1}}}},\"logical_schema\":{\"columns\":[%s]},"
             "\"created_at\":\"2024-01-01T00:00:00Z\",\"protocol_version\":7,"
             "\"required_reader_features\":%s,\"required_writer_features\":[]}}]",
             columns, readers);
    assert_int_equal(tst_test_write_commit(root, 2, actions), 0);
    assert_int_equal(tst_test_set_current(root, 2), 0);
    tst_table *t = NULL;
    int rc = tst_table_open(&t, root);
    if (rc == 0) {
        assert_int_equal(tst_table_version(t), 2);
        /* Readable and writable: this build writes tables with schema_add_columns. */
        if (strstr(readers, "schema_add_columns")) {
            uint64_t v = 0;
            assert_tst_ok(tst_table_commit_json(t, "[]", &v));
            assert_int_equal(v, 3);
        }
        tst_table_free(t);
    }
    tst_test_rmtree(root);
    return rc;
}

#define COL_TS "{\"name\":\"ts\",\"data_type\":{\"Timestamp\":{\"unit\":\"Millis\",\"timezone\":null}},\"nullable\":false}"
#define COL_SYM "{\"name\":\"symbol\",\"data_type\":\"Utf8\",\"nullable\":false}"
#define COL_CLOSE "{\"name\":\"close\",\"data_type\":\"Float64\",\"nullable\":true}"
#define COL_EXTRA(nullable) "{\"name\":\"extra\",\"data_type\":\"Int64\",\"nullable\":" nullable "}"

static void schema_grows_only_by_declared_nullable_columns(void **state)
{
    (void)state;
    const char *added = COL_TS "," COL_SYM "," COL_CLOSE "," COL_EXTRA("true");
    assert_tst_ok(open_after_meta("p7add", "[\"schema_add_columns\"]", added));
    assert_tst_fails(open_after_meta("p7undeclared", "[]", added), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message,
                           "changes the logical schema without declaring the feature "
                           "`schema_add_columns`"));
    const char *required = COL_TS "," COL_SYM "," COL_CLOSE "," COL_EXTRA("false");
    assert_tst_fails(open_after_meta("p7required", "[\"schema_add_columns\"]", required),
                     TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "other than by adding nullable columns"));
    const char *dropped = COL_TS "," COL_SYM;
    assert_tst_fails(open_after_meta("p7dropped", "[\"schema_add_columns\"]", dropped),
                     TST_ECORRUPT);
    const char *same = COL_TS "," COL_SYM "," COL_CLOSE;
    assert_tst_ok(open_after_meta("p7same", "[]", same));
}

static void create_protocol_7_and_refuse_others(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("p7create");
    char *ents[] = {"symbol"};
    tst_index_spec spec = tst_test_hourly_spec(ents, 1);
    spec.kind.protocol = 9;
    tst_table *t = NULL;
    assert_tst_fails(tst_table_create(&t, root, &spec), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "unknown table protocol 9"));
    spec.kind.protocol = 7;
    assert_tst_ok(tst_table_create(&t, root, &spec));
    tst_table_free(t);
    char *path = tst_test_path(root, "_timeseries_log/0000000001.json");
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(tst_test_read_file(path, &text, &len), 0);
    assert_non_null(strstr(text, "\"kind\":{\"type\":\"timestamp\",\"index_granularity\":"
                                 "{\"Hours\":1}}}},\"logical_schema\":null,\"created_at\":"));
    assert_non_null(strstr(text, ",\"protocol_version\":7,\"required_reader_features\":[],"
                                 "\"required_writer_features\":[]}}]}"));
    assert_null(strstr(text, "format_version"));
    free(text);
    free(path);
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_get_meta(t)->protocol_version, 7);
    tst_table_free(t);
    tst_test_rmtree(root);
}

/* Byte for byte the first-append commit the real 0.9.0 wrote for an Arrow schema
 * with schema, field, nested and map-key annotations: schema_metadata declared. */
static const char REF09_ANNOTATED_APPEND[] =
    "{\"version\":2,\"base_version\":1,\"timestamp\":\"2026-12-07T22:07:44.207926605Z\",\"act"
    "ions\":[{\"UpdateTableMeta\":{\"kind\":{\"TimeSeries\":{\"column\":\"idx\",\"entity_colu"
    "mns\":[\"entity\"],\"kind\":{\"type\":\"int64\",\"index_granularity\":1}}},\"logical_sch"
    "ema\":{\"columns\":[{\"name\":\"idx\",\"data_type\":\"Int64\",\"nullable\":true},{\"name"
    "\":\"entity\",\"data_type\":\"Utf8\",\"nullable\":true,\"metadata\":{\"a\":\"2\",\"z\":\""
    "1\"}},{\"name\":\"v\",\"data_type\":\"Float64\",\"nullable\":true,\"metadata\":{\"unit\""
    ":\"ms\"}},{\"name\":\"m\",\"data_type\":{\"Map\":{\"key\":{\"name\":\"key\",\"data_type\""
    ":\"Utf8\",\"nullable\":false,\"metadata\":{\"k\":\"1\"}},\"value\":{\"name\":\"value\",\""
    "data_type\":\"Int64\",\"nullable\":true,\"metadata\":{\"unit\":\"ms\"}},\"keys_sorted\":"
    "false}},\"nullable\":true},{\"name\":\"l\",\"data_type\":{\"List\":{\"elements\":{\"name"
    "\":\"item\",\"data_type\":\"Int64\",\"nullable\":true,\"metadata\":{\"unit\":\"ms\"}}}},"
    "\"nullable\":true},{\"name\":\"s\",\"data_type\":{\"Struct\":{\"fields\":[{\"name\":\"va"
    "lue\",\"data_type\":\"Int64\",\"nullable\":true,\"metadata\":{\"unit\":\"ms\"}}]}},\"nul"
    "lable\":true}],\"metadata\":{\"a\":\"温\",\"b\":\"x\",\"unit\":\"ms\"}},\"created_at\":\""
    "2026-12-07T22:07:44.125892706Z\",\"protocol_version\":7,\"required_reader_features\":[\""
    "schema_metadata\"],\"required_writer_features\":[\"schema_metadata\"]}},{\"AddSegment\":"
    "{\"path\":\"data/_managed/append/77c36375-8b00-4ee2-80bf-98ea4b59fe83.parquet\",\"format"
    "\":\"parquet\",\"entity_layout\":\"Mixed\",\"index_min\":{\"type\":\"int64\",\"value\":0"
    "},\"index_max\":{\"type\":\"int64\",\"value\":0},\"row_count\":2,\"file_size\":3284,\"co"
    "verage_path\":\"_coverage/segments/segcov-f2147bdb874308b546df46453971bac6-85abb2e5-b49d"
    "-4aff-a1d9-6a23ec2c9c6a.roar\"}},{\"UpdateTableCoverage\":{\"index_kind\":{\"type\":\"in"
    "t64\",\"index_granularity\":1},\"coverage_path\":\"_coverage/table/2-tblcov-72b8924bb2c4"
    "06d1f55d3178b2b5f097-85abb2e5-b49d-4aff-a1d9-6a23ec2c9c6a.roar\"}}]}";

static void schema_metadata_tables_are_read_and_written(void **state)
{
    (void)state;
    assert_reprints_as(REF09_ANNOTATED_APPEND, REF09_ANNOTATED_APPEND);
    tst_commit c;
    assert_tst_ok(parse(&c, REF09_ANNOTATED_APPEND));
    tst_table_meta *meta = &c.actions[0].u.meta;
    assert_true(tst_schema_has_metadata(meta->schema));
    assert_tst_ok(tst_protocol_check_read(meta, "t"));
    assert_tst_ok(tst_protocol_check_write(meta, "t"));
    /* Annotations without the feature on both lists: refused as the reference does. */
    tst_features_free(meta->writer_features, meta->writer_feature_count);
    meta->writer_features = NULL;
    meta->writer_feature_count = 0;
    assert_tst_fails(tst_protocol_check_read(meta, "t"), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "schema_metadata"));
    /* Declaring it puts it back, sorted among the others, once. */
    assert_tst_ok(tst_protocol_enable_metadata(meta));
    assert_tst_ok(tst_protocol_enable_metadata(meta));
    assert_int_equal(meta->writer_feature_count, 1);
    assert_int_equal(meta->reader_feature_count, 1);
    assert_tst_ok(tst_protocol_check_read(meta, "t"));
    tst_commit_clear(&c);

    assert_tst_ok(parse(&c, HEAD META7("[\"schema_add_columns\"]", "[]") TAIL));
    meta = &c.actions[0].u.meta;
    /* No schema, no annotations: nothing to declare. */
    assert_tst_ok(tst_protocol_enable_metadata(meta));
    assert_int_equal(meta->reader_feature_count, 1);
    tst_schema *schema = calloc(1, sizeof *schema);
    assert_non_null(schema);
    meta->schema = schema;
    assert_tst_ok(tst_metadata_add(&schema->metadata, "unit", 4, "ms", 2, "m"));
    assert_tst_ok(tst_protocol_enable_metadata(meta));
    assert_int_equal(meta->reader_feature_count, 2);
    assert_string_equal(meta->reader_features[0], "schema_add_columns");
    assert_string_equal(meta->reader_features[1], "schema_metadata");
    assert_string_equal(meta->writer_features[0], "schema_metadata");
    assert_tst_ok(tst_features_validate(meta->reader_features, meta->reader_feature_count, "t",
                                        "required_reader_features"));
    tst_commit_clear(&c);
}

/* New tables are protocol 7 unless the spec says 6; a kind read back says which, so a
 * spec copied from an open table makes a table of the same format. */
static void the_default_is_protocol_7_and_6_is_explicit(void **state)
{
    (void)state;
    static const struct {
        uint32_t asked, meta_protocol, meta_format;
    } cases[] = {{0, 7, 0}, {7, 7, 0}, {6, 0, 6}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *root = tst_test_tmpdir("p7default");
        tst_index_spec spec = tst_test_hourly_spec(NULL, 0);
        spec.kind.protocol = cases[i].asked;
        tst_table *t = NULL;
        assert_tst_ok(tst_table_create(&t, root, &spec));
        tst_table_free(t);
        assert_tst_ok(tst_table_open(&t, root));
        assert_int_equal(tst_table_get_meta(t)->protocol_version, cases[i].meta_protocol);
        assert_int_equal(tst_table_get_meta(t)->format_version, cases[i].meta_format);
        uint32_t kind = tst_table_index(t)->kind.protocol;
        assert_int_equal(kind, cases[i].meta_protocol ? 7 : 6);
        char *again = tst_test_path(root, "again");
        tst_table *u = NULL;
        assert_tst_ok(tst_table_create(&u, again, tst_table_index(t)));
        assert_int_equal(tst_table_get_meta(u)->protocol_version, cases[i].meta_protocol);
        tst_table_free(u);
        tst_table_free(t);
        free(again);
        tst_test_rmtree(root);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reference_09_commits_round_trip_byte_for_byte),
        cmocka_unit_test(timestamp_kind_and_features_round_trip),
        cmocka_unit_test(v6_commits_are_unchanged),
        cmocka_unit_test(protocol_rules_on_read),
        cmocka_unit_test(unknown_actions_are_dropped_only_in_protocol_7),
        cmocka_unit_test(unknown_reader_feature_refuses_the_table),
        cmocka_unit_test(unknown_writer_feature_leaves_it_readable_not_writable),
        cmocka_unit_test(features_cannot_be_removed_nor_the_protocol_changed),
        cmocka_unit_test(later_unknown_actions_are_dropped_when_the_table_is_opened),
        cmocka_unit_test(checkpoints_keep_the_protocol),
        cmocka_unit_test(schema_grows_only_by_declared_nullable_columns),
        cmocka_unit_test(create_protocol_7_and_refuse_others),
        cmocka_unit_test(schema_metadata_tables_are_read_and_written),
        cmocka_unit_test(the_default_is_protocol_7_and_6_is_explicit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
