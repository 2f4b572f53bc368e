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

/* Adds the column c<version + 1> (in the child with the crash armed, then
 * in the parent). */
static int add_next_column(tst_table *t, bool in_child)
{
    (void)in_child;
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

/* After `ops` additions on a copy with `columns` columns. */
static void check_schema(tst_table *t, size_t columns, int ops)
{
    assert_schema_at(t, columns + (size_t)ops);
}

static void run_rounds(uint64_t version_before, int rounds)
{
    tst_proc_commit_crash c = {
        .tag = "addcols_crash", .what = "add_columns", .first_actions = META7,
        .version_before = version_before, .rounds = rounds, .min_steps = 8,
        .op = add_next_column, .check = check_schema,
    };
    tst_proc_commit_crash_rounds(&c);
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
