/*
 * test_history.c — history.c: the version current at an instant (commit
 * timestamps that step back, an instant before the first commit, exactly
 * at a commit), and the vacuum marker (round trip, only moving forward,
 * malformed files), on hand-written logs.
 */
#include "testsupport.h"

#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A log whose commit v (1-based) has timestamp stamps[v-1]; version 1 sets
 * the meta, the others commit nothing else. */
static char *log_with_times(const char *const *stamps, size_t n)
{
    char *root = tst_test_tmpdir("history");
    for (size_t v = 1; v <= n; v++) {
        char rel[64], text[4096];
        snprintf(rel, sizeof rel, "_timeseries_log/%010zu.json", v);
        snprintf(text, sizeof text,
                 "{\"version\":%zu,\"base_version\":%zu,\"timestamp\":\"%s\",\"actions\":[%s]}", v,
                 v - 1, stamps[v - 1], v == 1 ? TST_TEST_META_ACTION : "");
        tst_test_put(root, rel, text);
    }
    assert_int_equal(tst_test_set_current(root, n), 0);
    return root;
}

static uint64_t version_at(const char *root, uint64_t head, const char *when)
{
    tst_timestamp at;
    assert_tst_ok(tst_timestamp_parse(&at, when));
    uint64_t v = 99;
    assert_tst_ok(tst_history_version_at(root, head, at, &v));
    return v;
}

static void the_version_at_an_instant_is_the_last_commit_at_or_before_it(void **state)
{
    (void)state;
    const char *const stamps[] = {"2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z",
                                  "2024-01-03T00:00:00Z"};
    char *root = log_with_times(stamps, 3);
    assert_int_equal(version_at(root, 3, "2024-01-01T00:00:00Z"), 1); /* exactly at commit 1 */
    assert_int_equal(version_at(root, 3, "2024-01-01T23:59:59.999999999Z"), 1);
    assert_int_equal(version_at(root, 3, "2024-01-02T00:00:00Z"), 2);
    assert_int_equal(version_at(root, 3, "2024-01-02T12:00:00Z"), 2);
    assert_int_equal(version_at(root, 3, "2030-01-01T00:00:00Z"), 3);
    /* The head bounds the answer: commits after it are not looked at. */
    assert_int_equal(version_at(root, 2, "2030-01-01T00:00:00Z"), 2);
    tst_test_rmtree(root);
}

static void a_timestamp_that_steps_back_counts_from_the_one_before_it(void **state)
{
    (void)state;
    /* Commit 3's writer had a slow clock: it is older than commit 2. */
    const char *const stamps[] = {"2024-01-01T00:00:00Z", "2024-01-03T00:00:00Z",
                                  "2024-01-02T00:00:00Z", "2024-01-04T00:00:00Z"};
    char *root = log_with_times(stamps, 4);
    /* At 01-02, commit 3's own time, commit 2 (01-03) had not happened yet:
     * so neither had 3, which came after it. */
    assert_int_equal(version_at(root, 4, "2024-01-02T00:00:00Z"), 1);
    assert_int_equal(version_at(root, 4, "2024-01-02T12:00:00Z"), 1);
    /* From 01-03 both are current: "as of" never goes back as time moves on. */
    assert_int_equal(version_at(root, 4, "2024-01-03T00:00:00Z"), 3);
    assert_int_equal(version_at(root, 4, "2024-01-03T12:00:00Z"), 3);
    assert_int_equal(version_at(root, 4, "2024-01-04T00:00:00Z"), 4);
    uint64_t last = 0;
    for (int day = 1; day <= 5; day++) {
        char when[32];
        snprintf(when, sizeof when, "2024-01-0%dT06:00:00Z", day);
        uint64_t v = version_at(root, 4, when);
        assert_true(v >= last);
        last = v;
    }
    tst_test_rmtree(root);
}

static void an_instant_before_the_first_commit_names_when_the_table_was_created(void **state)
{
    (void)state;
    const char *const stamps[] = {"2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"};
    char *root = log_with_times(stamps, 2);
    tst_timestamp at;
    assert_tst_ok(tst_timestamp_parse(&at, "2023-12-31T23:59:59Z"));
    uint64_t v = 99;
    assert_tst_fails(tst_history_version_at(root, 2, at, &v), TST_ENOTFOUND);
    assert_int_equal(v, 0);
    assert_non_null(strstr(tst_error_last()->message, "created at 2024-01-01T00:00:00Z"));
    assert_non_null(strstr(tst_error_last()->message, "as of 2023-12-31T23:59:59Z"));
    assert_string_equal(tst_error_last()->path, root);
    tst_test_rmtree(root);
}

static void commit_time_reads_the_commit(void **state)
{
    (void)state;
    const char *const stamps[] = {"2024-01-01T00:00:00Z", "2024-01-02T03:04:05.5Z"};
    char *root = log_with_times(stamps, 2);
    tst_timestamp ts;
    assert_tst_ok(tst_history_commit_time(root, 2, &ts));
    char text[TST_TIMESTAMP_TEXT_MAX];
    (void)tst_timestamp_format(ts, text, sizeof text);
    assert_string_equal(text, "2024-01-02T03:04:05.500Z");
    assert_tst_fails(tst_history_commit_time(root, 3, &ts), TST_ENOTFOUND);
    tst_test_rmtree(root);
}

/* ---- the marker ------------------------------------------------------------ */

static tst_vacuum_marker marker(uint64_t oldest, const char *when, int64_t retention)
{
    tst_vacuum_marker m = {oldest, {0, 0}, retention};
    assert_tst_ok(tst_timestamp_parse(&m.vacuumed_at, when));
    return m;
}

static void a_table_never_vacuumed_has_an_all_zero_marker(void **state)
{
    (void)state;
    const char *const stamps[] = {"2024-01-01T00:00:00Z"};
    char *root = log_with_times(stamps, 1);
    tst_vacuum_marker m = marker(5, "2024-01-01T00:00:00Z", 7);
    assert_tst_ok(tst_history_read_marker(root, &m));
    assert_int_equal(m.oldest_readable_version, 0);
    assert_int_equal(m.vacuumed_at.sec, 0);
    assert_int_equal(m.retention_seconds, 0);
    tst_test_rmtree(root);
}

static void the_marker_round_trips_and_only_moves_forward(void **state)
{
    (void)state;
    const char *const stamps[] = {"2024-01-01T00:00:00Z"};
    char *root = log_with_times(stamps, 1);
    tst_vacuum_marker w = marker(41, "2026-12-08T10:00:00Z", 604800), r;
    assert_tst_ok(tst_history_write_marker(root, &w));
    assert_tst_ok(tst_history_read_marker(root, &r));
    assert_int_equal(r.oldest_readable_version, 41);
    assert_int_equal(r.vacuumed_at.sec, w.vacuumed_at.sec);
    assert_int_equal(r.retention_seconds, 604800);
    /* An older vacuum's marker does not overwrite a newer one... */
    tst_vacuum_marker older = marker(12, "2026-12-09T10:00:00Z", 60);
    assert_tst_ok(tst_history_write_marker(root, &older));
    assert_tst_ok(tst_history_read_marker(root, &r));
    assert_int_equal(r.oldest_readable_version, 41);
    assert_int_equal(r.retention_seconds, 604800);
    /* ...a newer one does. */
    tst_vacuum_marker newer = marker(50, "2026-12-10T10:00:00Z", 3600);
    assert_tst_ok(tst_history_write_marker(root, &newer));
    assert_tst_ok(tst_history_read_marker(root, &r));
    assert_int_equal(r.oldest_readable_version, 50);
    assert_int_equal(r.retention_seconds, 3600);
    /* No temp file is left beside it. */
    char *log = tst_test_path(root, "_timeseries_log");
    assert_int_equal(tst_test_count_files(log), 3); /* CURRENT, the commit, the marker */
    free(log);
    tst_test_rmtree(root);
}

static void a_malformed_marker_is_corrupt_and_named(void **state)
{
    (void)state;
    const char *const stamps[] = {"2024-01-01T00:00:00Z"};
    char *root = log_with_times(stamps, 1);
    const char *const bad[] = {
        "not json",
        "[]",
        "{\"vacuumed_at\":\"2026-12-08T10:00:00Z\",\"retention_seconds\":1}",
        "{\"oldest_readable_version\":-3,\"vacuumed_at\":\"2026-12-08T10:00:00Z\","
        "\"retention_seconds\":1}",
        "{\"oldest_readable_version\":3,\"vacuumed_at\":\"yesterday\",\"retention_seconds\":1}",
        "{\"oldest_readable_version\":3,\"vacuumed_at\":\"2026-12-08T10:00:00Z\","
        "\"retention_seconds\":1,\"extra\":true}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tst_test_put(root, "_timeseries_log/_vacuumed.json", bad[i]);
        tst_vacuum_marker m = marker(9, "2024-01-01T00:00:00Z", 9);
        assert_tst_fails(tst_history_read_marker(root, &m), TST_ECORRUPT);
        assert_non_null(strstr(tst_error_last()->message, "_vacuumed.json"));
        assert_int_equal(m.oldest_readable_version, 0);
        /* A writer does not paper over it either. */
        tst_vacuum_marker w = marker(10, "2026-12-08T10:00:00Z", 1);
        assert_tst_fails(tst_history_write_marker(root, &w), TST_ECORRUPT);
    }
    tst_test_rmtree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_version_at_an_instant_is_the_last_commit_at_or_before_it),
        cmocka_unit_test(a_timestamp_that_steps_back_counts_from_the_one_before_it),
        cmocka_unit_test(an_instant_before_the_first_commit_names_when_the_table_was_created),
        cmocka_unit_test(commit_time_reads_the_commit),
        cmocka_unit_test(a_table_never_vacuumed_has_an_all_zero_marker),
        cmocka_unit_test(the_marker_round_trips_and_only_moves_forward),
        cmocka_unit_test(a_malformed_marker_is_corrupt_and_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
