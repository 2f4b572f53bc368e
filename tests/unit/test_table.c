/*
 * test_table.c — creating, opening, refreshing and committing to tables,
 * and every replay check of format §2.2 as a typed error.
 */
#include "testsupport.h"

#include "log.h"
#include "model.h"
#include "table_internal.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Commits the schema-setting meta plus one segment, through the public API. */
static void commit_schema_and_segment(tst_table *t, const char *path, long long sec)
{
    char *seg = tst_test_add_segment_action(path, "NVDA", sec, sec + 3600);
    char actions[4096];
    snprintf(actions, sizeof actions, "[%s,%s]", TST_TEST_META_ACTION, seg);
    free(seg);
    assert_tst_ok(tst_table_commit_json(t, actions, NULL));
}

static void create_initializes_log_and_state(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("table");
    tst_table *t = tst_test_create_table_v6(root, "ts", "symbol", TST_TIME_HOURS, 1);
    assert_int_equal(tst_table_version(t), 1);
    assert_int_equal(tst_table_get_meta(t)->format_version, 6);
    assert_null(tst_table_get_meta(t)->schema);
    assert_int_equal(tst_table_segment_count(t), 0);
    assert_string_equal(tst_table_index(t)->column, "ts");
    char *current = NULL;
    char *path = tst_test_path(root, "_timeseries_log/CURRENT");
    assert_int_equal(tst_test_read_file(path, &current, NULL), 0);
    assert_string_equal(current, "1\n");
    free(current);
    free(path);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void create_makes_missing_folders(void **state)
{
    (void)state;
    char *base = tst_test_tmpdir("table");
    char *root = tst_test_path(base, "a/b/c");
    tst_table *t = tst_test_create_table_v6(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_table_free(t);
    tst_table *again = NULL;
    assert_tst_ok(tst_table_open(&again, root));
    tst_table_free(again);
    free(root);
    tst_test_rmtree(base);
}

static void create_rejects_invalid_specs_before_writing_anything(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("table");
    char *log = tst_test_path(root, "_timeseries_log");
    tst_table *t = NULL;

    tst_index_spec spec = tst_test_hourly_spec(NULL, 0);
    spec.column = "";
    assert_tst_fails(tst_table_create(&t, root, &spec), TST_EINVAL);

    char *same[] = {"ts"};
    spec = tst_test_hourly_spec(same, 1);
    assert_tst_fails(tst_table_create(&t, root, &spec), TST_EINVAL);

    char *dup[] = {"a", "a"};
    spec = tst_test_hourly_spec(dup, 2);
    assert_tst_fails(tst_table_create(&t, root, &spec), TST_EINVAL);

    spec = tst_test_hourly_spec(NULL, 0);
    spec.kind.bucket.count = 0;
    assert_tst_fails(tst_table_create(&t, root, &spec), TST_EINVAL);

    spec = tst_test_hourly_spec(NULL, 0);
    spec.kind.type = TST_INDEX_INT64;
    spec.kind.bucket_width = 0;
    assert_tst_fails(tst_table_create(&t, root, &spec), TST_EINVAL);

    assert_null(t);
    assert_false(tst_test_exists(log));
    free(log);
    tst_test_rmtree(root);
}

static void create_fails_if_the_table_already_exists(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("table");
    tst_table *t = tst_test_create_table_v6(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_table *second = NULL;
    tst_index_spec spec = tst_test_hourly_spec(NULL, 0);
    assert_tst_fails(tst_table_create(&second, root, &spec), TST_EEXISTS);
    assert_non_null(strstr(tst_error_last()->message, "version is 1"));
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void locations_are_local_folders_only(void **state)
{
    (void)state;
    tst_table *t = NULL;
    assert_tst_fails(tst_table_open(&t, "s3://bucket/table"), TST_EUNSUPPORTED);
    assert_tst_fails(tst_table_open(&t, "   "), TST_EINVAL);
    tst_index_spec spec = tst_test_hourly_spec(NULL, 0);
    assert_tst_fails(tst_table_create(&t, "gs://x/y", &spec), TST_EUNSUPPORTED);
}

static void opening_a_folder_without_commits_is_eempty(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("table");
    tst_table *t = NULL;
    assert_tst_fails(tst_table_open(&t, root), TST_EEMPTY);
    assert_string_equal(tst_error_last()->path, root);
    assert_non_null(strstr(tst_error_last()->message, "not a table"));
    /* A log folder without commits says so. */
    char *log = tst_test_path(root, "_timeseries_log");
    assert_int_equal(mkdir(log, 0755), 0);
    assert_tst_fails(tst_table_open(&t, root), TST_EEMPTY);
    assert_non_null(strstr(tst_error_last()->message, "no commits"));
    free(log);
    /* A folder that does not exist is not found. */
    char *missing = tst_test_path(root, "missing");
    assert_tst_fails(tst_table_open(&t, missing), TST_ENOTFOUND);
    assert_non_null(strstr(tst_error_last()->message, "does not exist"));
    free(missing);
    tst_test_rmtree(root);
}

static void refresh_reports_whether_new_commits_arrived(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("table");
    tst_table *writer = tst_test_create_table_v6(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_table *reader = NULL;
    assert_tst_ok(tst_table_open(&reader, root));
    bool changed = true;
    assert_tst_ok(tst_table_refresh(reader, &changed));
    assert_false(changed);

    commit_schema_and_segment(writer, "data/a.parquet", 0);
    assert_tst_ok(tst_table_refresh(reader, &changed));
    assert_true(changed);
    assert_int_equal(tst_table_version(reader), 2);
    assert_int_equal(tst_table_segment_count(reader), 1);
    assert_non_null(tst_table_get_meta(reader)->schema);
    tst_table_free(writer);
    tst_table_free(reader);
    tst_test_rmtree(root);
}

static void a_stale_handle_gets_a_conflict_with_both_versions(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("table");
    tst_table *a = tst_test_create_table_v6(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_table *b = NULL;
    assert_tst_ok(tst_table_open(&b, root));
    commit_schema_and_segment(a, "data/a.parquet", 0);
    assert_tst_fails(tst_table_commit_json(b, "[]", NULL), TST_ECONFLICT);
    assert_int_equal(tst_error_last()->expected_version, 1);
    assert_int_equal(tst_error_last()->found_version, 2);
    /* Nothing was written by the loser. */
    char *three = tst_log_commit_path(root, 3);
    assert_false(tst_test_exists(three));
    free(three);
    assert_tst_ok(tst_table_refresh(b, NULL));
    uint64_t v = 0;
    assert_tst_ok(tst_table_commit_json(b, "[]", &v));
    assert_int_equal(v, 3);
    tst_table_free(a);
    tst_table_free(b);
    tst_test_rmtree(root);
}

static void segments_are_listed_in_index_order(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("table");
    tst_table *t = tst_test_create_table_v6(root, "ts", "symbol", TST_TIME_HOURS, 1);
    commit_schema_and_segment(t, "data/c.parquet", 7200);
    char *s1 = tst_test_add_segment_action("data/a.parquet", "NVDA", 0, 3600);
    char *s2 = tst_test_add_segment_action("data/b.parquet", "AAPL", 0, 3600);
    char actions[2048];
    snprintf(actions, sizeof actions, "[%s,%s]", s1, s2);
    assert_tst_ok(tst_table_commit_json(t, actions, NULL));
    free(s1);
    free(s2);
    assert_int_equal(tst_table_segment_count(t), 3);
    assert_string_equal(tst_table_segment_at(t, 0)->path, "data/a.parquet");
    assert_string_equal(tst_table_segment_at(t, 1)->path, "data/b.parquet");
    assert_string_equal(tst_table_segment_at(t, 2)->path, "data/c.parquet");
    assert_null(tst_table_segment_at(t, 3));
    /* Same order after a fresh open. */
    tst_table *reopened = NULL;
    assert_tst_ok(tst_table_open(&reopened, root));
    assert_string_equal(tst_table_segment_at(reopened, 0)->path, "data/a.parquet");
    assert_string_equal(tst_table_segment_at(reopened, 2)->path, "data/c.parquet");
    tst_table_free(reopened);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void commits_that_would_corrupt_the_log_are_refused_unwritten(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("table");
    tst_table *t = tst_test_create_table_v6(root, "ts", "symbol", TST_TIME_HOURS, 1);
    /* A segment before the table has a schema. */
    char *seg = tst_test_add_segment_action("data/a.parquet", "NVDA", 0, 3600);
    char actions[4096];
    snprintf(actions, sizeof actions, "[%s]", seg);
    assert_tst_fails(tst_table_commit_json(t, actions, NULL), TST_EINVAL);
    commit_schema_and_segment(t, "data/b.parquet", 0);
    /* The same live path again. */
    char *dup = tst_test_add_segment_action("data/b.parquet", "NVDA", 0, 3600);
    snprintf(actions, sizeof actions, "[%s]", dup);
    assert_tst_fails(tst_table_commit_json(t, actions, NULL), TST_EINVAL);
    /* A path twice in one commit. */
    snprintf(actions, sizeof actions, "[%s,%s]", seg, seg);
    assert_tst_fails(tst_table_commit_json(t, actions, NULL), TST_EINVAL);
    /* Removing a segment that is not live, or one segment twice. */
    assert_tst_fails(tst_table_commit_json(
                         t, "[{\"RemoveSegment\":{\"path\":\"data/zzz.parquet\"}}]", NULL),
                     TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "data/zzz.parquet is not live"));
    assert_tst_fails(tst_table_commit_json(t, "[{\"RemoveSegment\":{\"path\":\"data/b.parquet\"}},"
                                              "{\"RemoveSegment\":{\"path\":\"data/b.parquet\"}}]",
                                           NULL),
                     TST_EINVAL);
    assert_int_equal(tst_table_segment_count(t), 1);
    /* Not JSON, not an array, an unknown action. */
    assert_tst_fails(tst_table_commit_json(t, "[{", NULL), TST_EINVAL);
    assert_tst_fails(tst_table_commit_json(t, "{}", NULL), TST_EINVAL);
    assert_tst_fails(tst_table_commit_json(t, "[{\"Vacuum\":{}}]", NULL), TST_EINVAL);
    /* A coverage pointer of another index kind. */
    assert_tst_fails(tst_table_commit_json(
                         t, "[{\"UpdateTableCoverage\":{\"index_kind\":{\"type\":\"int64\","
                            "\"bucket_width\":1},\"coverage_path\":\"_coverage/table/x.roar\"}}]",
                         NULL),
                     TST_EINVAL);
    /* A different index spec. */
    char *meta = strdup(TST_TEST_META_ACTION);
    memcpy(strstr(meta, "\"Hours\""), "\"Days\" ", 7);
    snprintf(actions, sizeof actions, "[%s]", meta);
    assert_tst_fails(tst_table_commit_json(t, actions, NULL), TST_EINVAL);
    free(meta);
    free(seg);
    free(dup);
    assert_int_equal(tst_table_version(t), 2);
    char *three = tst_log_commit_path(root, 3);
    assert_false(tst_test_exists(three));
    free(three);
    tst_table_free(t);
    tst_test_rmtree(root);
}

/* ---- replay errors, on hand-made logs ---------------------------------- */

static char *hand_made_table(void)
{
    char *root = tst_test_tmpdir("replay");
    char actions[4096];
    snprintf(actions, sizeof actions, "[%s]", TST_TEST_META_ACTION);
    assert_int_equal(tst_test_write_commit(root, 1, actions), 0);
    assert_int_equal(tst_test_set_current(root, 1), 0);
    return root;
}

static int open_code(const char *root)
{
    tst_table *t = NULL;
    int rc = tst_table_open(&t, root);
    tst_table_free(t);
    return rc;
}

typedef struct current_warning {
    int calls;
    char event[64];
    char message[1024];
} current_warning;

static void capture_warning(void *ctx, tst_log_level level, const char *event,
                            const char *message)
{
    current_warning *w = ctx;
    (void)level;
    w->calls++;
    snprintf(w->event, sizeof w->event, "%s", event);
    snprintf(w->message, sizeof w->message, "%s", message);
}

/* Finding 18: a garbage CURRENT is a hint gone bad, handled like a missing one. */
static void replay_rolls_forward_over_a_garbage_current_with_a_warning(void **state)
{
    (void)state;
    char *root = hand_made_table();
    char *cur = tst_test_path(root, "_timeseries_log/CURRENT");
    current_warning w;
    memset(&w, 0, sizeof w);
    tst_set_log_callback(capture_warning, &w);
    tst_test_write_file(cur, "garbage\n", 8);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_version(t), 1);
    tst_table_free(t);
    assert_int_equal(w.calls, 1);
    assert_string_equal(w.event, "log.current_invalid");
    assert_non_null(strstr(w.message, "'garbage'")); /* no newline inside the quotes */
    tst_test_write_file(cur, " \n", 2);
    assert_tst_ok(open_code(root));
    assert_int_equal(w.calls, 2);
    assert_non_null(strstr(w.message, "empty"));
    tst_set_log_callback(NULL, NULL);
    tst_test_write_file(cur, "  1  \n", 6);
    assert_tst_ok(open_code(root));
    free(cur);
    tst_test_rmtree(root);
}

static void replay_names_where_the_log_ends_when_current_is_beyond_it(void **state)
{
    (void)state;
    char *root = hand_made_table();
    char *cur = tst_test_path(root, "_timeseries_log/CURRENT");
    tst_test_write_file(cur, "99\n", 3);
    assert_tst_fails(open_code(root), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message,
                           "CURRENT says 99 but the log ends at version 1"));
    assert_non_null(strstr(tst_error_last()->message, "write 1 to"));
    assert_string_equal(tst_error_last()->path, cur);
    free(cur);
    tst_test_rmtree(root);
}

static void replay_rejects_a_corrupt_commit_naming_the_file(void **state)
{
    (void)state;
    char *root = hand_made_table();
    char *two = tst_log_commit_path(root, 2);
    tst_test_write_file(two, "{\"version\":2,", 13);
    tst_test_set_current(root, 2);
    assert_tst_fails(open_code(root), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "0000000002.json"));
    free(two);
    tst_test_rmtree(root);
}

static void replay_rejects_a_version_that_does_not_match_its_file(void **state)
{
    (void)state;
    char *root = hand_made_table();
    char *two = tst_log_commit_path(root, 2);
    const char *text = "{\"version\":3,\"base_version\":2,\"timestamp\":\"2026-01-01T00:00:00Z\","
                       "\"actions\":[]}";
    tst_test_write_file(two, text, strlen(text));
    tst_test_set_current(root, 2);
    assert_tst_fails(open_code(root), TST_ECORRUPT);
    free(two);
    tst_test_rmtree(root);
}

static void replay_reports_a_missing_intermediate_commit(void **state)
{
    (void)state;
    char *root = hand_made_table();
    tst_test_write_commit(root, 3, "[]");
    tst_test_set_current(root, 3);
    assert_tst_fails(open_code(root), TST_ENOTFOUND);
    assert_non_null(strstr(tst_error_last()->message, "0000000002.json"));
    tst_test_rmtree(root);
}

static void replay_rejects_duplicate_live_segment_paths(void **state)
{
    (void)state;
    char *root = hand_made_table();
    char *seg = tst_test_add_segment_action("data/a.parquet", "NVDA", 0, 3600);
    char actions[2048];
    snprintf(actions, sizeof actions, "[%s]", seg);
    tst_test_write_commit(root, 2, actions);
    tst_test_write_commit(root, 3, actions);
    tst_test_set_current(root, 3);
    assert_tst_fails(open_code(root), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "duplicate live segment path"));
    /* Removing it in between makes the log valid; removing an unknown path is a no-op. */
    tst_test_write_commit(root, 3, "[{\"RemoveSegment\":{\"path\":\"data/a.parquet\"}},"
                                    "{\"RemoveSegment\":{\"path\":\"data/zzz.parquet\"}}]");
    tst_test_write_commit(root, 4, actions);
    tst_test_set_current(root, 4);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_segment_count(t), 1);
    tst_table_free(t);
    free(seg);
    tst_test_rmtree(root);
}

static void replay_rejects_other_format_versions(void **state)
{
    (void)state;
    char *root = hand_made_table();
    char *meta = strdup(TST_TEST_META_ACTION);
    char *fv = strstr(meta, "\"format_version\":6");
    fv[strlen("\"format_version\":")] = '7';
    char actions[4096];
    snprintf(actions, sizeof actions, "[%s]", meta);
    tst_test_write_commit(root, 2, actions);
    tst_test_set_current(root, 2);
    assert_tst_fails(open_code(root), TST_EUNSUPPORTED);
    free(meta);
    tst_test_rmtree(root);
}

static void replay_rejects_layouts_that_do_not_fit_the_entity_columns(void **state)
{
    (void)state;
    char *root = hand_made_table();
    tst_test_write_commit(
        root, 2,
        "[{\"AddSegment\":{\"path\":\"data/a.parquet\",\"entity_layout\":\"NotApplicable\","
        "\"index_min\":{\"type\":\"timestamp\",\"value\":\"2024-01-01T00:00:00Z\"},"
        "\"index_max\":{\"type\":\"timestamp\",\"value\":\"2024-01-01T00:00:00Z\"},"
        "\"row_count\":1}}]");
    tst_test_set_current(root, 2);
    assert_tst_fails(open_code(root), TST_ECORRUPT);
    tst_test_rmtree(root);
}

static void replay_rejects_segment_bounds_out_of_order_or_domain(void **state)
{
    (void)state;
    char *root = hand_made_table();
    char *seg = tst_test_add_segment_action("data/a.parquet", "NVDA", 7200, 0);
    char actions[2048];
    snprintf(actions, sizeof actions, "[%s]", seg);
    tst_test_write_commit(root, 2, actions);
    tst_test_set_current(root, 2);
    assert_tst_fails(open_code(root), TST_ECORRUPT);
    tst_test_write_commit(
        root, 2,
        "[{\"AddSegment\":{\"path\":\"data/a.parquet\",\"entity_layout\":{\"Single\":[{\"type\":"
        "\"utf8\",\"value\":\"X\"}]},\"index_min\":{\"type\":\"int64\",\"value\":1},"
        "\"index_max\":{\"type\":\"int64\",\"value\":2},\"row_count\":1}}]");
    assert_tst_fails(open_code(root), TST_ECORRUPT);
    free(seg);
    tst_test_rmtree(root);
}

static void replay_rejects_a_coverage_pointer_of_another_index_kind(void **state)
{
    (void)state;
    char *root = hand_made_table();
    tst_test_write_commit(root, 2,
                          "[{\"UpdateTableCoverage\":{\"index_kind\":{\"type\":\"timestamp\","
                          "\"bucket\":{\"Minutes\":1}},\"coverage_path\":\"_coverage/table/2-x.roar\"}}]");
    tst_test_set_current(root, 2);
    assert_tst_fails(open_code(root), TST_ECORRUPT);
    tst_test_rmtree(root);
}

static void replay_without_table_meta_is_corrupt(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("replay");
    tst_test_write_commit(root, 1, "[]");
    tst_test_set_current(root, 1);
    assert_tst_fails(open_code(root), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "TableMeta"));
    tst_test_rmtree(root);
}

static void the_last_table_meta_and_coverage_pointer_win(void **state)
{
    (void)state;
    char *root = hand_made_table();
    tst_test_write_commit(root, 2,
                          "[{\"UpdateTableCoverage\":{\"index_kind\":{\"type\":\"timestamp\","
                          "\"bucket\":{\"Hours\":1}},\"coverage_path\":\"_coverage/table/2-a.roar\"}}]");
    tst_test_write_commit(root, 3,
                          "[{\"UpdateTableCoverage\":{\"index_kind\":{\"type\":\"timestamp\","
                          "\"bucket\":{\"Hours\":1}},\"coverage_path\":\"_coverage/table/3-b.roar\"}}]");
    tst_test_set_current(root, 3);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    uint64_t v = 0;
    assert_string_equal(tst_table_coverage_path(t, &v), "_coverage/table/3-b.roar");
    assert_int_equal(v, 3);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void the_reference_example_table_opens(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("golden");
    char *one = NULL, *two = NULL;
    size_t len1 = 0, len2 = 0;
    assert_int_equal(tst_test_read_file(TST_SOURCE_DIR "/tests/golden/commit_0000000001.json",
                                        &one, &len1), 0);
    assert_int_equal(tst_test_read_file(TST_SOURCE_DIR "/tests/golden/commit_0000000002.json",
                                        &two, &len2), 0);
    tst_test_write_commit(root, 1, "[]");
    char *p1 = tst_log_commit_path(root, 1), *p2 = tst_log_commit_path(root, 2);
    tst_test_write_file(p1, one, len1);
    tst_test_write_file(p2, two, len2);
    tst_test_set_current(root, 2);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_version(t), 2);
    assert_int_equal(tst_table_segment_count(t), 1);
    const tst_segment *s = tst_table_segment_at(t, 0);
    assert_string_equal(s->path, "data/nvda_1h.parquet");
    assert_int_equal(s->row_count, 240);
    assert_int_equal(s->layout.kind, TST_LAYOUT_SINGLE);
    assert_int_equal(tst_table_get_meta(t)->schema->column_count, 7);
    assert_non_null(tst_table_coverage_path(t, NULL));
    tst_table_free(t);
    free(p1);
    free(p2);
    free(one);
    free(two);
    tst_test_rmtree(root);
}

/* ---- checkpoints ------------------------------------------------------- */

static void open_uses_the_latest_checkpoint_instead_of_replaying(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("checkpoint");
    tst_table *t = tst_test_create_table_v6(root, "ts", "symbol", TST_TIME_HOURS, 1);
    commit_schema_and_segment(t, "data/seg-0.parquet", 0);
    for (int i = 1; tst_table_version(t) < TST_CHECKPOINT_INTERVAL + 5; i++) {
        char path[64];
        snprintf(path, sizeof path, "data/seg-%d.parquet", i);
        char *seg = tst_test_add_segment_action(path, "NVDA", i * 3600LL, i * 3600LL);
        char actions[2048];
        snprintf(actions, sizeof actions, "[%s]", seg);
        free(seg);
        assert_tst_ok(tst_table_commit_json(t, actions, NULL));
    }
    uint64_t version = tst_table_version(t);
    size_t segments = tst_table_segment_count(t);
    tst_table_free(t);
    char *cp = tst_test_path(root, "_timeseries_log/_checkpoints/0000000100.checkpoint");
    assert_true(tst_test_exists(cp));

    /* Without commit 50 a full replay fails; with the checkpoint, open succeeds. */
    char *fifty = tst_log_commit_path(root, 50);
    char *aside = tst_test_path(root, "fifty.json");
    assert_int_equal(rename(fifty, aside), 0);
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_version(t), version);
    assert_int_equal(tst_table_segment_count(t), segments);
    tst_table_free(t);

    /* A damaged checkpoint (one byte flipped) is ignored: the log is replayed. */
    assert_int_equal(rename(aside, fifty), 0);
    char *bytes = NULL;
    size_t len = 0;
    assert_int_equal(tst_test_read_file(cp, &bytes, &len), 0);
    bytes[len / 2] ^= 0x40;
    tst_test_write_file(cp, bytes, len);
    free(bytes);
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_version(t), version);
    assert_int_equal(tst_table_segment_count(t), segments);
    tst_table_free(t);
    /* So is a truncated one. */
    tst_test_write_file(cp, "TSTCKPT1", 8);
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_version(t), version);
    assert_int_equal(tst_table_segment_count(t), segments);
    tst_table_free(t);
    free(cp);
    free(fifty);
    free(aside);
    tst_test_rmtree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_initializes_log_and_state),
        cmocka_unit_test(create_makes_missing_folders),
        cmocka_unit_test(create_rejects_invalid_specs_before_writing_anything),
        cmocka_unit_test(create_fails_if_the_table_already_exists),
        cmocka_unit_test(locations_are_local_folders_only),
        cmocka_unit_test(opening_a_folder_without_commits_is_eempty),
        cmocka_unit_test(refresh_reports_whether_new_commits_arrived),
        cmocka_unit_test(a_stale_handle_gets_a_conflict_with_both_versions),
        cmocka_unit_test(segments_are_listed_in_index_order),
        cmocka_unit_test(commits_that_would_corrupt_the_log_are_refused_unwritten),
        cmocka_unit_test(replay_rolls_forward_over_a_garbage_current_with_a_warning),
        cmocka_unit_test(replay_names_where_the_log_ends_when_current_is_beyond_it),
        cmocka_unit_test(replay_rejects_a_corrupt_commit_naming_the_file),
        cmocka_unit_test(replay_rejects_a_version_that_does_not_match_its_file),
        cmocka_unit_test(replay_reports_a_missing_intermediate_commit),
        cmocka_unit_test(replay_rejects_duplicate_live_segment_paths),
        cmocka_unit_test(replay_rejects_other_format_versions),
        cmocka_unit_test(replay_rejects_layouts_that_do_not_fit_the_entity_columns),
        cmocka_unit_test(replay_rejects_segment_bounds_out_of_order_or_domain),
        cmocka_unit_test(replay_rejects_a_coverage_pointer_of_another_index_kind),
        cmocka_unit_test(replay_without_table_meta_is_corrupt),
        cmocka_unit_test(the_last_table_meta_and_coverage_pointer_win),
        cmocka_unit_test(the_reference_example_table_opens),
        cmocka_unit_test(open_uses_the_latest_checkpoint_instead_of_replaying),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
