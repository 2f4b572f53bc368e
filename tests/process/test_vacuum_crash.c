/*
 * test_vacuum_crash.c — a vacuuming process killed at every step.
 *
 * The table: two mixed appends (versions 2, 3), an optimize that replaces
 * them (4), checkpoints of versions 2 and 4, then the cutoff T, then an
 * append (5); every file is aged to before T, and leftovers of interrupted
 * writers are planted (an orphan segment, a staged rewrite, a temp snapshot,
 * an abandoned commit) next to files vacuum must not recognise. A vacuum
 * with cutoff T retains versions 4 and 5 and has plenty to delete: the mixed
 * segments and their sidecars, the snapshot of version 2, checkpoint 2, the
 * leftovers.
 *
 * For each durable step k of that vacuum (the marker's temp write, fsync,
 * rename, the unlinks, the staging folder's removal), a child vacuums a copy
 * with a crash armed at step k. Afterwards: the table opens at version 5
 * with every live file; versions 4 and 5 load (from checkpoint 4 or the
 * log) and name only files that exist; every commit replays; the files
 * vacuum does not recognise are all there; a second vacuum succeeds and
 * leaves nothing removable; an append commits. The parent never starts
 * DuckDB: appends run in children, and vacuum needs none.
 */
#include "process_support.h"

#include "checkpoint.h"
#include "history.h"
#include "state_at.h"
#include "tstable/append.h"
#include "tstable/optimize.h"
#include "tstable/vacuum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const UNRECOGNISED[] = {"data/notes.txt", "_coverage/README",
                                           "data/_staged/entity-rewrite/mine/keep.parquet",
                                           "_timeseries_log/my-notes.txt"};
#define UNRECOGNISED_COUNT (sizeof UNRECOGNISED / sizeof UNRECOGNISED[0])

static const char *const LEFTOVERS[] = {
    "data/_managed/append/00000000-0000-4000-8000-000000000001.parquet",
    "data/_staged/entity-rewrite/00000000-0000-4000-8000-000000000002/0000000000.parquet",
    "_coverage/table/9-tblcov-0-00000000-0000-4000-8000-000000000003.roar."
    "00000000-0000-4000-8000-000000000004.tmp",
    "_timeseries_log/0000000009.json.abandoned-00000000-0000-4000-8000-000000000005",
    "_timeseries_log/CURRENT.00000000-0000-4000-8000-000000000006.tmp"};
#define LEFTOVER_COUNT (sizeof LEFTOVERS / sizeof LEFTOVERS[0])

static tst_timestamp cutoff;

static int append_file(tst_table *t, void *arg)
{
    return tst_table_append_parquet(t, arg, NULL, NULL);
}

static int optimize(tst_table *t, void *arg)
{
    (void)arg;
    return tst_table_optimize(t, NULL, NULL);
}

static int vacuum(tst_table *t, void *arg)
{
    tst_vacuum_report *out = arg;
    tst_vacuum_options o = TST_VACUUM_OPTIONS_INIT;
    o.older_than = cutoff;
    o.apply = true;
    o.allow_short_retention = true;
    tst_vacuum_report r;
    int rc = tst_table_vacuum(t, &o, out ? out : &r);
    if (!out)
        tst_vacuum_report_clear(&r);
    return rc;
}

static void checkpoint_at(const char *root, uint64_t version)
{
    tst_state st;
    assert_int_equal(tst_state_load_at(&st, root, version), 0);
    assert_int_equal(tst_checkpoint_write(root, &st), 0);
    tst_state_clear(&st);
}

/* In a child: the MSFT rows of day 2 (for the append after each crash). */
static char *msft_file(const char *dir)
{
    char *path = tst_test_path(dir, "msft.parquet");
    char sql[4096];
    snprintf(sql, sizeof sql, "COPY (SELECT * REPLACE ('MSFT' AS symbol) FROM read_csv('%s/"
             "examples/data/nvda_1h_sample.csv') WHERE ts >= TIMESTAMPTZ '2024-06-03' AND ts < "
             "TIMESTAMPTZ '2024-06-04') TO '%s' (FORMAT parquet)", TST_SOURCE_DIR, path);
    tst_test_duck_in_child(sql);
    return path;
}

static void make_fixture(tst_proc_two_day_fixture *f)
{
    tst_proc_two_day_fixture_make(f, "vcrash", 0);
    assert_int_equal(tst_proc_run_crashing(f->fixture, 0, optimize, NULL), 0);
    checkpoint_at(f->fixture, 2);
    checkpoint_at(f->fixture, 4);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    cutoff = (tst_timestamp){(int64_t)now.tv_sec, (uint32_t)now.tv_nsec};
    usleep(20000); /* commit timestamps after the cutoff */
    assert_int_equal(tst_proc_run_crashing(f->fixture, 0, append_file, f->day[2]), 0);
    for (size_t i = 0; i < LEFTOVER_COUNT; i++)
        tst_test_put(f->fixture, LEFTOVERS[i], "interrupted");
    for (size_t i = 0; i < UNRECOGNISED_COUNT; i++)
        tst_test_put(f->fixture, UNRECOGNISED[i], "mine");
    tst_proc_age_files(f->fixture, cutoff.sec - 100);
}

static void assert_unrecognised_kept(const char *root)
{
    for (size_t i = 0; i < UNRECOGNISED_COUNT; i++) {
        char *p = tst_test_path(root, UNRECOGNISED[i]);
        assert_true(tst_test_exists(p));
        free(p);
    }
}

/* What a dry run in this process would still remove. */
static uint64_t removable(const char *root)
{
    tst_table *t = NULL;
    assert_int_equal(tst_table_open(&t, root), 0);
    tst_vacuum_options o = TST_VACUUM_OPTIONS_INIT;
    o.older_than = cutoff;
    o.allow_short_retention = true;
    tst_vacuum_report r;
    assert_int_equal(tst_table_vacuum(t, &o, &r), 0);
    uint64_t n = r.removable_files;
    assert_int_equal(r.oldest_retained_version, 4);
    tst_vacuum_report_clear(&r);
    tst_table_free(t);
    return n;
}

static void a_vacuum_killed_at_any_step_leaves_every_retained_version_whole(void **state)
{
    (void)state;
    tst_proc_two_day_fixture f;
    make_fixture(&f);
    char *extra = msft_file(f.days);
    uint64_t planned = removable(f.fixture);
    print_message("the vacuum removes %llu files\n", (unsigned long long)planned);
    assert_true(planned >= 10);

    uint64_t k = 1;
    for (;; k++) {
        tst_proc_copy_tree(f.fixture, f.work);
        int status = tst_proc_run_crashing(f.work, k, vacuum, NULL);
        assert_true(status == TST_PROC_CRASHED || status == 0);
        tst_test_log_state now = tst_test_log_state_of(f.work); /* live files all there */
        assert_int_equal(now.version, 5);
        tst_test_log_state_clear(&now);
        assert_int_equal(tst_proc_assert_versions_whole(f.work, 4), 5);
        assert_int_equal(tst_proc_assert_replay_reads(f.work), 5);
        assert_unrecognised_kept(f.work);
        tst_vacuum_marker m;
        assert_int_equal(tst_history_read_marker(f.work, &m), 0);
        assert_true(m.oldest_readable_version == 0 || m.oldest_readable_version == 4);

        /* The next vacuum finishes the job; appends go on. */
        assert_int_equal(tst_proc_run_crashing(f.work, 0, vacuum, NULL), 0);
        assert_int_equal(removable(f.work), 0);
        assert_unrecognised_kept(f.work);
        assert_int_equal(tst_proc_assert_versions_whole(f.work, 4), 5);
        assert_int_equal(tst_proc_run_crashing(f.work, 0, append_file, extra), 0);
        assert_int_equal(tst_proc_assert_versions_whole(f.work, 4), 6);
        if (status == 0)
            break;
    }
    print_message("vacuum crashed at each of %llu steps\n", (unsigned long long)k - 1);
    assert_true(k > planned);
    free(extra);
    tst_proc_two_day_fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_vacuum_killed_at_any_step_leaves_every_retained_version_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
