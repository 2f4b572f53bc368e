/*
 * test_add_columns_crash.c — a writer killed at every durable step of
 * tst_table_add_columns (tstable/evolve.h).
 *
 * For each step k (every write, fsync, link, rename, unlink the addition
 * performs through fsio.c), a child process adds a column with a crash armed
 * at step k and dies there without cleanup. Afterwards:
 *   - the table opens at the old version with the old schema, or at the next
 *     one with the column at the end and the feature schema_add_columns
 *     (the next one only if the commit file was published);
 *   - a reader that replays 1..=CURRENT and trusts nothing else reads it;
 *   - the next addition succeeds as version head+1.
 * Rounds: an ordinary commit, and the one that writes a checkpoint.
 */
#include "process_support.h"

#include "log.h"
#include "table_internal.h"
#include "tstable/evolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define META7                                                                                    \
    "[{\"UpdateTableMeta\":{\"kind\":{\"TimeSeries\":{\"column\":\"ts\",\"entity_columns\":"    \
    "[\"symbol\"],\"kind\":{\"type\":\"timestamp\",\"index_granularity\":{\"Hours\":1}}}},"     \
    "\"logical_schema\":{\"columns\":[{\"name\":\"ts\",\"data_type\":{\"Timestamp\":{\"unit\":" \
    "\"Micros\",\"timezone\":null}},\"nullable\":false},{\"name\":\"symbol\",\"data_type\":"    \
    "\"Utf8\",\"nullable\":false}]},\"created_at\":\"2026-01-01T00:00:00Z\","                  \
    "\"protocol_version\":7,\"required_reader_features\":[],\"required_writer_features\":[]}}]"

static int add_column(tst_table *t, uint64_t n)
{
    char name[32];
    snprintf(name, sizeof name, "c%llu", (unsigned long long)n);
    tst_field f;
    memset(&f, 0, sizeof f);
    f.name = name;
    f.type.kind = TST_TYPE_FLOAT64;
    f.nullable = true;
    return tst_table_add_columns(t, &f, 1, NULL);
}

/* In the child: add the next column (the crash is armed by then). */
static int add_next_column(tst_table *t, void *arg)
{
    (void)arg;
    return add_column(t, tst_table_version(t) + 1);
}

/* The table at `version` has exactly the columns ts, symbol, c<v> for each addition. */
static void assert_schema_at(tst_table *t, size_t columns)
{
    const tst_table_meta *m = tst_table_get_meta(t);
    assert_int_equal(m->schema->column_count, columns);
    if (columns > 2) {
        assert_int_equal(m->reader_feature_count, 1);
        assert_string_equal(m->reader_features[0], "schema_add_columns");
        assert_true(m->schema->columns[columns - 1].nullable);
    } else {
        assert_int_equal(m->reader_feature_count, 0);
    }
}

static int crash_at_step(const char *template_root, const char *work, uint64_t k)
{
    tst_proc_copy_tree(template_root, work);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, work));
    uint64_t before = tst_table_version(t);
    size_t columns = tst_table_get_meta(t)->schema->column_count;
    tst_table_free(t);

    int status = tst_proc_run_crashing(work, k, add_next_column, NULL);
    assert_true(status == TST_PROC_CRASHED || status == 0);

    assert_tst_ok(tst_table_open(&t, work));
    uint64_t after = tst_table_version(t);
    assert_true(after == before || after == before + 1);
    if (status == 0)
        assert_int_equal(after, before + 1);
    assert_schema_at(t, after == before ? columns : columns + 1);
    uint64_t current = tst_proc_assert_replay_reads(work);
    assert_true(current == before || current == after);

    assert_tst_ok(add_column(t, after + 1));
    assert_int_equal(tst_table_version(t), after + 1);
    assert_schema_at(t, (after == before ? columns : columns + 1) + 1);
    tst_table_free(t);
    assert_int_equal(tst_proc_assert_replay_reads(work), after + 1);
    return status == 0;
}

static void run_rounds(uint64_t version_before, int rounds)
{
    char *base = tst_test_tmpdir("addcols_crash");
    char *template_root = tst_test_path(base, "template");
    char *work = tst_test_path(base, "work");
    assert_int_equal(tst_test_write_commit(template_root, 1, META7), 0);
    assert_int_equal(tst_test_set_current(template_root, 1), 0);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, template_root));
    while (tst_table_version(t) < version_before)
        assert_tst_ok(tst_table_commit_json(t, "[]", NULL));
    tst_table_free(t);
    for (int round = 0; round < rounds; round++) {
        uint64_t k = 1;
        while (!crash_at_step(template_root, work, k))
            k++;
        print_message("round %d: crashed at each of %llu steps of add_columns\n", round,
                      (unsigned long long)k - 1);
        assert_true(k > 8);
        tst_proc_copy_tree(work, template_root);
    }
    free(template_root);
    free(work);
    tst_test_rmtree(base);
}

static void a_writer_killed_at_any_step_of_add_columns_leaves_old_or_new_version(void **state)
{
    (void)state;
    run_rounds(1, 2);
}

static void a_writer_killed_while_add_columns_checkpoints_never_wedges_the_table(void **state)
{
    (void)state;
    run_rounds(TST_CHECKPOINT_INTERVAL - 1, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_writer_killed_at_any_step_of_add_columns_leaves_old_or_new_version),
        cmocka_unit_test(a_writer_killed_while_add_columns_checkpoints_never_wedges_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
