/*
 * test_vacuum.c — what tst_table_vacuum keeps, removes and refuses, on a
 * hand-made format_version-6 log (no DuckDB; runs under valgrind).
 *
 * The log: v1 meta; v2 adds data/a.parquet (a name no tstable writer makes,
 * as the reference 0.4.0 names copies) with snapshot 2-a.roar; v3 replaces it
 * by data/b.parquet with snapshot 3-b.roar; v4 re-states the meta. All
 * commits are dated 2026-01-01, every file is aged two days. Beside them: an
 * orphan segment with Parquet's magic bytes, a note, and a symlink shaped
 * like a segment.
 */
#include "testsupport.h"

#include "history.h"
#include "tstable/error.h"
#include "tstable/vacuum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ORPHAN "data/00000000-0000-4000-8000-000000000001.parquet"
#define LINK "data/_managed/append/00000000-0000-4000-8000-000000000002.parquet"
#define COVERAGE_PTR(path)                                                                    \
    "{\"UpdateTableCoverage\":{\"index_kind\":{\"type\":\"timestamp\",\"bucket\":"           \
    "{\"Hours\":1}},\"coverage_path\":\"" path "\"}}"

static time_t now_sec(void)
{
    return time(NULL);
}

static void age(const char *root, const char *rel, time_t when)
{
    char *p = tst_test_path(root, rel);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "touch -h -d @%lld '%s'", (long long)when, p);
    assert_int_equal(system(cmd), 0);
    free(p);
}

static int setup(void **state)
{
    char *dir = tst_test_tmpdir("vacuum");
    char *root = tst_test_path(dir, "t");
    char actions[8192];
    snprintf(actions, sizeof actions, "[%s]", TST_TEST_META_ACTION);
    assert_int_equal(tst_test_write_commit(root, 1, actions), 0);
    char *a = tst_test_add_segment_action("data/a.parquet", "NVDA", 0, 3600);
    char *b = tst_test_add_segment_action("data/b.parquet", "NVDA", 0, 3600);
    snprintf(actions, sizeof actions, "[%s,%s]", a, COVERAGE_PTR("_coverage/table/2-a.roar"));
    assert_int_equal(tst_test_write_commit(root, 2, actions), 0);
    snprintf(actions, sizeof actions, "[{\"RemoveSegment\":{\"path\":\"data/a.parquet\"}},%s,%s]",
             b, COVERAGE_PTR("_coverage/table/3-b.roar"));
    assert_int_equal(tst_test_write_commit(root, 3, actions), 0);
    snprintf(actions, sizeof actions, "[%s]", TST_TEST_META_ACTION);
    assert_int_equal(tst_test_write_commit(root, 4, actions), 0);
    assert_int_equal(tst_test_set_current(root, 4), 0);
    free(a);
    free(b);
    static const char *const files[] = {"data/a.parquet", "data/b.parquet",
                                        "_coverage/table/2-a.roar", "_coverage/table/3-b.roar",
                                        "data/notes.txt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        tst_test_put(root, files[i], "bytes");
    static const char parquet[] = "PAR1 a footer of 8 bytes: \x08\x00\x00\x00PAR1";
    char *orphan = tst_test_path(root, ORPHAN);
    assert_int_equal(tst_test_write_file(orphan, parquet, sizeof parquet - 1), 0);
    free(orphan);
    char *link = tst_test_path(root, LINK);
    char *target = tst_test_path(root, "data/b.parquet");
    tst_test_put(root, "data/_managed/append/.keep", "");
    assert_int_equal(symlink(target, link), 0);
    free(link);
    free(target);
    time_t old = now_sec() - 2 * 86400;
    static const char *const aged[] = {"data/a.parquet", "data/b.parquet",
                                       "_coverage/table/2-a.roar", "_coverage/table/3-b.roar",
                                       "data/notes.txt", ORPHAN, LINK,
                                       "data/_managed/append/.keep"};
    for (size_t i = 0; i < sizeof aged / sizeof aged[0]; i++)
        age(root, aged[i], old);
    free(dir);
    *state = root;
    return 0;
}

static int teardown(void **state)
{
    char *root = *state;
    char *dir = strdup(root);
    *strrchr(dir, '/') = '\0';
    tst_test_rmtree(dir);
    free(root);
    return 0;
}

static const tst_vacuum_artifact *find(const tst_vacuum_report *r, const char *path)
{
    for (size_t i = 0; i < r->artifact_count; i++)
        if (strcmp(r->artifacts[i].path, path) == 0)
            return &r->artifacts[i];
    fail_msg("%s is not in the report", path);
    return NULL;
}

static void assert_artifact(const tst_vacuum_report *r, const char *path,
                            tst_vacuum_disposition d, tst_vacuum_reason why)
{
    const tst_vacuum_artifact *a = find(r, path);
    if (a->disposition != d || a->reason != why)
        fail_msg("%s: %s/%s, expected %s/%s", path, tst_vacuum_disposition_name(a->disposition),
                 tst_vacuum_reason_name(a->reason), tst_vacuum_disposition_name(d),
                 tst_vacuum_reason_name(why));
}

static int vacuum(const char *root, int64_t retention, bool apply, bool keep_all,
                  tst_vacuum_report *out)
{
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    tst_vacuum_options o = TST_VACUUM_OPTIONS_INIT;
    o.older_than = (tst_timestamp){(int64_t)now_sec() - retention, 0};
    o.apply = apply;
    o.keep_all_versions = keep_all;
    o.allow_short_retention = true;
    int rc = tst_table_vacuum(t, &o, out);
    tst_table_free(t);
    return rc;
}

static void keeping_every_version_removes_only_the_orphan(void **state)
{
    tst_vacuum_report r;
    assert_tst_ok(vacuum(*state, 3600, false, true, &r));
    assert_int_equal(r.oldest_retained_version, 1);
    assert_int_equal(r.table_version, 4);
    assert_artifact(&r, ORPHAN, TST_VACUUM_REMOVABLE, TST_VACUUM_UNREFERENCED);
    assert_artifact(&r, "data/a.parquet", TST_VACUUM_RETAINED, TST_VACUUM_REFERENCED_BY_COMMIT);
    assert_int_equal(find(&r, "data/a.parquet")->referenced_version, 2);
    assert_artifact(&r, "_coverage/table/2-a.roar", TST_VACUUM_RETAINED,
                    TST_VACUUM_REFERENCED_BY_COMMIT);
    assert_artifact(&r, "data/notes.txt", TST_VACUUM_RETAINED,
                    TST_VACUUM_UNRECOGNIZED_ARTIFACT);
    assert_artifact(&r, LINK, TST_VACUUM_RETAINED, TST_VACUUM_UNRECOGNIZED_ARTIFACT);
    assert_int_equal(r.removable_files, 1);
    assert_int_equal(r.considered_files, r.artifact_count);
    tst_vacuum_report_clear(&r);
}

static void expiring_history_removes_what_only_old_versions_name(void **state)
{
    const char *root = *state;
    tst_vacuum_report r;
    assert_tst_ok(vacuum(root, 3600, false, false, &r));
    assert_int_equal(r.oldest_retained_version, 4);
    /* a.parquet's name is no writer's shape, but the log removed it: the table's own. */
    assert_artifact(&r, "data/a.parquet", TST_VACUUM_REMOVABLE, TST_VACUUM_INVALID_PARQUET);
    assert_artifact(&r, "_coverage/table/2-a.roar", TST_VACUUM_REMOVABLE,
                    TST_VACUUM_UNREFERENCED);
    assert_artifact(&r, "data/b.parquet", TST_VACUUM_RETAINED, TST_VACUUM_REFERENCED_BY_COMMIT);
    assert_int_equal(find(&r, "data/b.parquet")->referenced_version, 4);
    assert_int_equal(r.removable_files, 3);
    tst_vacuum_report_clear(&r);

    assert_tst_ok(vacuum(root, 3600, true, false, &r));
    assert_int_equal(r.deleted_files, 3);
    assert_int_equal(r.removable_files, 0);
    tst_vacuum_report_clear(&r);
    char *gone = tst_test_path(root, "data/a.parquet");
    char *kept = tst_test_path(root, "data/notes.txt");
    char *target = tst_test_path(root, "data/b.parquet");
    char *link = tst_test_path(root, LINK);
    assert_false(tst_test_exists(gone));
    assert_true(tst_test_exists(kept) && tst_test_exists(target) && tst_test_exists(link));
    free(gone);
    free(kept);
    free(target);
    free(link);
    tst_vacuum_marker m;
    assert_tst_ok(tst_history_read_marker(root, &m));
    assert_int_equal(m.oldest_readable_version, 4);
    assert_int_equal(m.retention_seconds, 3600);

    /* Done: nothing more to remove, and keeping all versions now starts at the marker. */
    assert_tst_ok(vacuum(root, 3600, true, true, &r));
    assert_int_equal(r.oldest_retained_version, 4);
    assert_int_equal(r.deleted_files, 0);
    tst_vacuum_report_clear(&r);
}

static void files_younger_than_the_cutoff_stay(void **state)
{
    const char *root = *state;
    age(root, ORPHAN, now_sec() - 60);
    tst_vacuum_report r;
    assert_tst_ok(vacuum(root, 3600, true, false, &r));
    assert_artifact(&r, ORPHAN, TST_VACUUM_RETAINED, TST_VACUUM_WITHIN_RETENTION);
    assert_int_equal(r.deleted_files, 2);
    tst_vacuum_report_clear(&r);
    char *p = tst_test_path(root, ORPHAN);
    assert_true(tst_test_exists(p));
    free(p);
}

static void a_dry_run_writes_nothing(void **state)
{
    const char *root = *state;
    tst_vacuum_report r;
    assert_tst_ok(vacuum(root, 3600, false, false, &r));
    assert_int_equal(r.removable_files, 3);
    assert_int_equal(r.deleted_files, 0);
    tst_vacuum_report_clear(&r);
    char *marker = tst_test_path(root, "_timeseries_log/_vacuumed.json");
    char *a = tst_test_path(root, "data/a.parquet");
    assert_false(tst_test_exists(marker));
    assert_true(tst_test_exists(a));
    free(marker);
    free(a);
}

static void a_future_or_short_cutoff_is_refused(void **state)
{
    const char *root = *state;
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    tst_vacuum_options o = TST_VACUUM_OPTIONS_INIT;
    tst_vacuum_report r;
    o.older_than = (tst_timestamp){(int64_t)now_sec() + 60, 0};
    o.allow_short_retention = true;
    assert_int_equal(tst_table_vacuum(t, &o, &r), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "in the future"));
    assert_int_equal(r.artifact_count, 0);
    o.older_than = (tst_timestamp){(int64_t)now_sec() - 600, 0};
    o.allow_short_retention = false;
    o.apply = true;
    assert_int_equal(tst_table_vacuum(t, &o, &r), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "safe minimum of 3600"));
    o.older_than = (tst_timestamp){0, 0}; /* the default, 7 days: the files are 2 days old */
    assert_tst_ok(tst_table_vacuum(t, &o, &r));
    assert_int_equal(r.deleted_files, 0);
    assert_int_equal(r.oldest_retained_version, 4); /* the commits are months old */
    assert_artifact(&r, "data/a.parquet", TST_VACUUM_RETAINED, TST_VACUUM_WITHIN_RETENTION);
    tst_vacuum_report_clear(&r);
    tst_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(keeping_every_version_removes_only_the_orphan, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(expiring_history_removes_what_only_old_versions_name,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(files_younger_than_the_cutoff_stay, setup, teardown),
        cmocka_unit_test_setup_teardown(a_dry_run_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(a_future_or_short_cutoff_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
