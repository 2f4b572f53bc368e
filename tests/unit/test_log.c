/*
 * test_log.c — CURRENT, commit files and the commit protocol: the reference
 * behaviours, and the wedge that this implementation removes.
 */
#include "testsupport.h"

#include "fsio.h"
#include "log.h"
#include "table_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static char *table_with_meta(void)
{
    char *root = tst_test_tmpdir("log");
    char actions[4096];
    snprintf(actions, sizeof actions, "[%s]", TST_TEST_META_ACTION);
    assert_int_equal(tst_test_write_commit(root, 1, actions), 0);
    assert_int_equal(tst_test_set_current(root, 1), 0);
    return root;
}

static char *read_current_text(const char *root)
{
    char *path = tst_test_path(root, "_timeseries_log/CURRENT");
    char *text = NULL;
    assert_int_equal(tst_test_read_file(path, &text, NULL), 0);
    free(path);
    return text;
}

static void a_missing_current_means_version_zero(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("log");
    uint64_t v = 99;
    assert_tst_ok(tst_log_read_current(root, &v));
    assert_int_equal(v, 0);
    assert_tst_ok(tst_log_head(root, &v));
    assert_int_equal(v, 0);
    tst_test_rmtree(root);
}

static void current_is_a_trimmed_decimal_number(void **state)
{
    (void)state;
    char *root = table_with_meta();
    char *path = tst_test_path(root, "_timeseries_log/CURRENT");
    uint64_t v = 0;
    tst_test_write_file(path, "  42  \n", 7);
    assert_tst_ok(tst_log_read_current(root, &v));
    assert_int_equal(v, 42);
    tst_test_write_file(path, "18446744073709551615\n", 21);
    assert_tst_ok(tst_log_read_current(root, &v));
    assert_int_equal(v, UINT64_MAX);
    tst_test_write_file(path, "18446744073709551616\n", 21);
    assert_tst_fails(tst_log_read_current(root, &v), TST_ECORRUPT);
    tst_test_write_file(path, "", 0);
    assert_tst_fails(tst_log_read_current(root, &v), TST_ECORRUPT);
    tst_test_write_file(path, "-1\n", 3);
    assert_tst_fails(tst_log_read_current(root, &v), TST_ECORRUPT);
    tst_test_write_file(path, "1 2\n", 4);
    assert_tst_fails(tst_log_read_current(root, &v), TST_ECORRUPT);
    assert_string_equal(tst_error_last()->path, path);
    free(path);
    tst_test_rmtree(root);
}

static void a_commit_writes_its_file_and_publishes_current_with_a_newline(void **state)
{
    (void)state;
    char *root = table_with_meta();
    uint64_t v = 0;
    assert_tst_ok(tst_log_commit(root, 1, NULL, 0, &v));
    assert_int_equal(v, 2);
    char *text = read_current_text(root);
    assert_string_equal(text, "2\n");
    free(text);
    tst_commit c;
    assert_tst_ok(tst_log_load_commit(root, 2, &c));
    assert_int_equal(c.version, 2);
    assert_int_equal(c.base_version, 1);
    assert_int_equal(c.action_count, 0);
    tst_commit_clear(&c);
    tst_test_rmtree(root);
}

static void a_commit_on_a_stale_version_is_a_conflict(void **state)
{
    (void)state;
    char *root = table_with_meta();
    assert_tst_ok(tst_log_commit(root, 1, NULL, 0, NULL));
    assert_tst_fails(tst_log_commit(root, 1, NULL, 0, NULL), TST_ECONFLICT);
    assert_int_equal(tst_error_last()->expected_version, 1);
    assert_int_equal(tst_error_last()->found_version, 2);
    assert_non_null(strstr(tst_error_last()->message, "expected version 1"));
    tst_test_rmtree(root);
}

static void the_loser_of_the_file_race_gets_a_conflict_not_a_storage_error(void **state)
{
    (void)state;
    /* CURRENT still says 1 while 2.json exists: the advisory check passes and
     * the exclusive publish is what decides. */
    char *root = table_with_meta();
    tst_test_write_commit(root, 2, "[]");
    assert_tst_fails(tst_log_commit(root, 1, NULL, 0, NULL), TST_ECONFLICT);
    assert_int_equal(tst_error_last()->found_version, 2);
    tst_test_rmtree(root);
}

static void an_unpublished_complete_commit_is_rolled_forward(void **state)
{
    (void)state;
    /* A writer died after publishing 2.json but before CURRENT: the
     * reference wedges here; we see version 2 and the next commit is 3. */
    char *root = table_with_meta();
    tst_test_write_commit(root, 2, "[]");
    uint64_t v = 0;
    assert_tst_ok(tst_log_head(root, &v));
    assert_int_equal(v, 2);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_version(t), 2);
    assert_tst_ok(tst_table_commit_json(t, "[]", &v));
    assert_int_equal(v, 3);
    char *text = read_current_text(root);
    assert_string_equal(text, "3\n");
    free(text);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void an_incomplete_commit_file_is_not_a_version(void **state)
{
    (void)state;
    char *root = table_with_meta();
    char *two = tst_log_commit_path(root, 2);
    tst_test_write_file(two, "{\"version\":2,\"base", 18);
    uint64_t v = 0;
    assert_tst_ok(tst_log_head(root, &v));
    assert_int_equal(v, 1);
    /* Young: its writer may still be busy, so a new writer backs off. */
    assert_tst_fails(tst_log_commit(root, 1, NULL, 0, NULL), TST_ECONFLICT);
    assert_non_null(strstr(tst_error_last()->message, "still being written"));
    /* Old: its writer is gone; the next writer sets it aside and commits. */
    struct timespec old[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
    assert_int_equal(utimensat(AT_FDCWD, two, old, 0), 0);
    assert_tst_ok(tst_log_commit(root, 1, NULL, 0, &v));
    assert_int_equal(v, 2);
    tst_commit c;
    assert_tst_ok(tst_log_load_commit(root, 2, &c));
    tst_commit_clear(&c);
    free(two);
    tst_test_rmtree(root);
}

static void leftover_temp_files_are_ignored(void **state)
{
    (void)state;
    char *root = table_with_meta();
    char *tmp = tst_test_path(root, "_timeseries_log/0000000002.json.x.tmp");
    char *ctmp = tst_test_path(root, "_timeseries_log/CURRENT.tmp");
    tst_test_write_file(tmp, "garbage", 7);
    tst_test_write_file(ctmp, "99\n", 3);
    uint64_t v = 0;
    assert_tst_ok(tst_log_head(root, &v));
    assert_int_equal(v, 1);
    assert_tst_ok(tst_log_commit(root, 1, NULL, 0, &v));
    assert_int_equal(v, 2);
    free(tmp);
    free(ctmp);
    tst_test_rmtree(root);
}

static void current_never_moves_backwards(void **state)
{
    (void)state;
    char *root = table_with_meta();
    assert_tst_ok(tst_log_publish_current(root, 5));
    assert_tst_ok(tst_log_publish_current(root, 3));
    char *text = read_current_text(root);
    assert_string_equal(text, "5\n");
    free(text);
    tst_test_rmtree(root);
}

static void the_version_counter_cannot_overflow(void **state)
{
    (void)state;
    char *root = table_with_meta();
    tst_test_set_current(root, UINT64_MAX);
    assert_tst_fails(tst_log_commit(root, UINT64_MAX, NULL, 0, NULL), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "overflow"));
    tst_test_rmtree(root);
}

/* Fails each I/O step of a commit in turn: whatever the outcome, the table
 * opens at N or N+1 afterwards and the next commit succeeds. */
static void a_failure_at_any_step_leaves_the_table_open_and_writable(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("log");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_table_free(t);
    int failures = 0;
    for (uint64_t k = 1; k < 40; k++) {
        assert_tst_ok(tst_table_open(&t, root));
        uint64_t before = tst_table_version(t);
        tst_io_set_fault(TST_IO_FAULT_FAIL, k);
        int rc = tst_table_commit_json(t, "[]", NULL);
        uint64_t steps = tst_io_steps();
        tst_io_set_fault(TST_IO_FAULT_NONE, 0);
        if (rc != 0) {
            failures++;
            assert_true(tst_error_last()->message[0] != '\0');
        }
        tst_table_free(t);
        assert_tst_ok(tst_table_open(&t, root));
        uint64_t after = tst_table_version(t);
        assert_true(after == before || after == before + 1);
        if (rc == 0)
            assert_int_equal(after, before + 1);
        uint64_t v = 0;
        assert_tst_ok(tst_table_commit_json(t, "[]", &v));
        assert_int_equal(v, after + 1);
        tst_table_free(t);
        if (steps < k)
            break; /* the commit finished before step k: every step was covered */
    }
    assert_true(failures >= 5);
    tst_test_rmtree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_missing_current_means_version_zero),
        cmocka_unit_test(current_is_a_trimmed_decimal_number),
        cmocka_unit_test(a_commit_writes_its_file_and_publishes_current_with_a_newline),
        cmocka_unit_test(a_commit_on_a_stale_version_is_a_conflict),
        cmocka_unit_test(the_loser_of_the_file_race_gets_a_conflict_not_a_storage_error),
        cmocka_unit_test(an_unpublished_complete_commit_is_rolled_forward),
        cmocka_unit_test(an_incomplete_commit_file_is_not_a_version),
        cmocka_unit_test(leftover_temp_files_are_ignored),
        cmocka_unit_test(current_never_moves_backwards),
        cmocka_unit_test(the_version_counter_cannot_overflow),
        cmocka_unit_test(a_failure_at_any_step_leaves_the_table_open_and_writable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
