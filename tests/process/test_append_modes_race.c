/*
 * test_append_modes_race.c — several processes append with on_overlap skip
 * or replace to one table at once.
 *
 * skip: from a table missing AAPL's day 1, two writers append day 1 (NVDA's
 * rows covered: filtered) and two append day 2. For each file exactly one
 * writer commits its rows; the other, rebasing onto it, finds them all
 * covered now and ends as a no-op. The table ends with every row once.
 * replace: four writers replace day 1 at once. Every one commits (each
 * rebase re-plans the removal against the winner's version, so it replaces
 * the rows the previous writer put there), and the table ends with day 1's
 * rows once, in one segment besides day 0's. Both protocols.
 */
#include "process_support.h"

#include "tstable/append.h"
#include "tstable/delete.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WRITERS 4

typedef struct race {
    const char *root;
    const char *files[WRITERS];
    tst_overlap_mode mode;
} race;

typedef struct writer_report {
    int rc;
    bool no_op;
    uint64_t version, rows, rows_skipped, rows_replaced;
    unsigned attempts;
} writer_report;

static int writer(int w, void *report, void *arg)
{
    const race *r = arg;
    writer_report *rep = report;
    tst_table *t = NULL;
    if (tst_table_open(&t, r->root) != 0)
        return 3;
    tst_append_options opts = TST_APPEND_OPTIONS_INIT;
    opts.on_overlap = r->mode;
    opts.max_attempts = 50;
    tst_append_result res;
    memset(&res, 0, sizeof res);
    rep->rc = tst_table_append_parquet(t, r->files[w], &opts, &res);
    if (rep->rc != 0)
        fprintf(stderr, "writer %d: %s\n", w, tst_error_last()->message);
    rep->no_op = res.no_op;
    rep->version = res.version;
    rep->rows = res.rows;
    rep->rows_skipped = res.rows_skipped;
    rep->rows_replaced = res.rows_replaced;
    rep->attempts = res.attempts;
    tst_table_free(t);
    return 0;
}

static int delete_aapl_day1(tst_table *t, void *arg)
{
    (void)arg;
    tst_entity_binding aapl = tst_test_symbol("AAPL");
    tst_delete_target target = {&aapl, 1, tst_test_ts("2024-06-02T00:00:00Z"),
                                tst_test_ts("2024-06-03T00:00:00Z")};
    return tst_table_delete_rows(t, &target, 1, NULL, NULL);
}

/* In a child: the table holds `arg` rows, each (symbol, ts) once. */
static int count_rows(tst_table *t, void *arg)
{
    (void)t;
    const char *const *a = arg;
    tst_session *s = NULL;
    if (tst_session_open(&s) != 0 || tst_session_register_table(s, "t", a[0]) != 0)
        _exit(3);
    char *v = tst_test_first_value(s, "SELECT count(*) || '/' || count(DISTINCT (symbol, ts))"
                                      " FROM t", NULL, 0);
    char want[64];
    snprintf(want, sizeof want, "%s/%s", a[1], a[1]);
    _exit(strcmp(v, want) == 0 ? 0 : 5);
}

static void assert_rows(const char *root, const char *n)
{
    const char *a[2] = {root, n};
    assert_int_equal(tst_proc_run_crashing(NULL, 0, count_rows, (void *)a), 0);
}

static void skip_race(uint32_t protocol, const char *tag)
{
    tst_proc_two_day_fixture f;
    tst_proc_two_day_fixture_make(&f, tag, protocol);
    tst_proc_copy_tree(f.fixture, f.work);
    assert_int_equal(tst_proc_run_crashing(f.work, 0, delete_aapl_day1, NULL), 0);
    race r = {f.work, {f.day[1], f.day[1], f.day[2], f.day[2]}, TST_OVERLAP_SKIP};
    writer_report reps[WRITERS];
    tst_proc_run_writers(WRITERS, writer, &r, reps, sizeof reps[0]);
    int committed = 0, no_ops = 0;
    uint64_t rows = 0, versions[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        assert_int_equal(reps[w].rc, 0);
        if (reps[w].no_op) {
            no_ops++;
            assert_int_equal(reps[w].rows_skipped, 48); /* the whole file, covered by then */
            continue;
        }
        versions[committed++] = reps[w].version;
        rows += reps[w].rows;
        assert_int_equal(reps[w].rows_skipped, w < 2 ? 24 : 0);
    }
    assert_int_equal(committed, 2);
    assert_int_equal(no_ops, 2);
    assert_int_equal(rows, 24 + 48);
    assert_true(versions[0] != versions[1]);
    tst_test_log_state now = tst_test_log_state_of(f.work);
    assert_int_equal(now.version, 6);
    assert_int_equal(now.rows, 144);
    tst_test_log_state_clear(&now);
    assert_rows(f.work, "144");
    tst_proc_two_day_fixture_free(&f);
}

static void replace_race(uint32_t protocol, const char *tag)
{
    tst_proc_two_day_fixture f;
    tst_proc_two_day_fixture_make(&f, tag, protocol);
    tst_proc_copy_tree(f.fixture, f.work);
    race r = {f.work, {f.day[1], f.day[1], f.day[1], f.day[1]}, TST_OVERLAP_REPLACE};
    writer_report reps[WRITERS];
    tst_proc_run_writers(WRITERS, writer, &r, reps, sizeof reps[0]);
    char seen[3 + WRITERS + 1];
    memset(seen, 0, sizeof seen);
    uint64_t won[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        assert_int_equal(reps[w].rc, 0);
        assert_int_equal(reps[w].rows_replaced, 48); /* the rows the previous writer left */
        won[w] = reps[w].version;
    }
    tst_proc_mark_won(seen, 3 + WRITERS, won, WRITERS);
    unsigned attempts = 0;
    for (int w = 0; w < WRITERS; w++)
        attempts += reps[w].attempts;
    print_message("replace (protocol %u): %u commit attempts for %d commits\n", protocol,
                  attempts, WRITERS);
    tst_test_log_state now = tst_test_log_state_of(f.work);
    assert_int_equal(now.version, 3 + WRITERS);
    assert_int_equal(now.rows, 96);
    tst_test_log_state_clear(&now);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f.work));
    assert_int_equal(tst_table_segment_count(t), 2);
    tst_table_free(t);
    assert_rows(f.work, "96");
    tst_proc_two_day_fixture_free(&f);
}

static void racing_skips_commit_each_row_once_v7(void **state)
{
    (void)state;
    skip_race(7, "mskip7");
}

static void racing_skips_commit_each_row_once_v6(void **state)
{
    (void)state;
    skip_race(6, "mskip6");
}

static void racing_replaces_all_commit_and_leave_one_copy_v7(void **state)
{
    (void)state;
    replace_race(7, "mrepl7");
}

static void racing_replaces_all_commit_and_leave_one_copy_v6(void **state)
{
    (void)state;
    replace_race(6, "mrepl6");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(racing_skips_commit_each_row_once_v7),
        cmocka_unit_test(racing_skips_commit_each_row_once_v6),
        cmocka_unit_test(racing_replaces_all_commit_and_leave_one_copy_v7),
        cmocka_unit_test(racing_replaces_all_commit_and_leave_one_copy_v6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
