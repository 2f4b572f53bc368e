/*
 * test_add_columns_race.c — processes adding columns and committing segments
 * to one protocol-7 table at once.
 *
 * 3 processes each add 10 columns one call at a time, and 3 others each
 * commit 20 segments; every loser of a version gets TST_ECONFLICT (expected =
 * its handle's version, found later), refreshes and tries again. Afterwards
 * every version from 2 to 1 + 90 was won exactly once, each addition's
 * commit holds one UpdateTableMeta, and the final schema holds all 30 added
 * columns, each once, each writer's in its own order: an addition made on a
 * stale handle can never drop a column another process added.
 */
#include "process_support.h"

#include "log.h"
#include "table_internal.h"
#include "tstable/evolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADDERS 3
#define APPENDERS 3
#define EACH_ADDS 10
#define EACH_APPENDS 20
#define WRITERS (ADDERS + APPENDERS)
#define TOTAL (ADDERS * EACH_ADDS + APPENDERS * EACH_APPENDS)

#define META7                                                                                    \
    "[{\"UpdateTableMeta\":{\"kind\":{\"TimeSeries\":{\"column\":\"ts\",\"entity_columns\":"    \
    "[\"symbol\"],\"kind\":{\"type\":\"timestamp\",\"index_granularity\":{\"Hours\":1}}}},"     \
    "\"logical_schema\":{\"columns\":[{\"name\":\"ts\",\"data_type\":{\"Timestamp\":{\"unit\":" \
    "\"Millis\",\"timezone\":null}},\"nullable\":false},{\"name\":\"symbol\",\"data_type\":"    \
    "\"Utf8\",\"nullable\":false},{\"name\":\"close\",\"data_type\":\"Float64\",\"nullable\":"  \
    "false}]},\"created_at\":\"2026-01-01T00:00:00Z\",\"protocol_version\":7,"                  \
    "\"required_reader_features\":[],\"required_writer_features\":[]}}]"

typedef struct writer_report {
    int wrong_errors;
    int conflicts;
    int done;
    uint64_t won[EACH_APPENDS];
} writer_report;

static int attempt(tst_table *t, int writer, int i)
{
    if (writer < ADDERS) {
        char name[32];
        snprintf(name, sizeof name, "w%d_c%02d", writer, i);
        tst_field f;
        memset(&f, 0, sizeof f);
        f.name = name;
        f.type.kind = TST_TYPE_INT64;
        f.nullable = true;
        return tst_table_add_columns(t, &f, 1, NULL);
    }
    char path[64];
    snprintf(path, sizeof path, "data/w%d-%d.parquet", writer, i);
    long long at = (long long)(writer * 1000 + i) * 3600;
    char *seg = tst_test_add_segment_action(path, "NVDA", at, at);
    char actions[2048];
    snprintf(actions, sizeof actions, "[%s]", seg);
    free(seg);
    return tst_table_commit_json(t, actions, NULL);
}

/* One writer's additions or commits, in its own child (tst_proc_writer). */
static int run_writer(int writer, void *report, void *arg)
{
    writer_report *rep = report;
    int goal = writer < ADDERS ? EACH_ADDS : EACH_APPENDS;
    tst_table *t = NULL;
    if (tst_table_open(&t, arg) != 0)
        return 3;
    while (rep->done < goal && rep->wrong_errors < 10) {
        uint64_t expected = tst_table_version(t);
        int rc = attempt(t, writer, rep->done);
        if (rc == 0) {
            rep->won[rep->done++] = tst_table_version(t);
            continue;
        }
        const tst_error *e = tst_error_last();
        if (rc != TST_ECONFLICT || e->expected_version != expected ||
            e->found_version <= expected) {
            fprintf(stderr, "writer %d: unexpected %s: %s\n", writer, tst_error_name(rc),
                    e->message);
            rep->wrong_errors++;
        }
        rep->conflicts++;
        if (tst_table_refresh(t, NULL) != 0)
            rep->wrong_errors++;
    }
    tst_table_free(t);
    return 0;
}

/* The added columns of the final schema: all of them, once each, each writer's in order. */
static void assert_no_column_lost(const tst_schema *s)
{
    assert_int_equal(s->column_count, 3 + ADDERS * EACH_ADDS);
    int next[ADDERS] = {0};
    for (size_t i = 3; i < s->column_count; i++) {
        int w = -1, c = -1;
        assert_int_equal(sscanf(s->columns[i].name, "w%d_c%d", &w, &c), 2);
        assert_true(w >= 0 && w < ADDERS);
        assert_int_equal(c, next[w]);
        next[w]++;
        assert_true(s->columns[i].nullable);
    }
}

static void adders_and_committers_win_each_version_once_and_lose_no_column(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("addcols_race");
    assert_int_equal(tst_test_write_commit(root, 1, META7), 0);
    assert_int_equal(tst_test_set_current(root, 1), 0);
    static writer_report reps[WRITERS];
    tst_proc_run_writers(WRITERS, run_writer, root, reps, sizeof reps[0]);
    static char seen[TOTAL + 2];
    int conflicts = 0;
    for (int w = 0; w < WRITERS; w++) {
        const writer_report *rep = &reps[w];
        assert_int_equal(rep->wrong_errors, 0);
        assert_int_equal(rep->done, w < ADDERS ? EACH_ADDS : EACH_APPENDS);
        conflicts += rep->conflicts;
        tst_proc_mark_won(seen, TOTAL + 1, rep->won, rep->done);
    }
    print_message("%d commits by %d writers, %d conflicts retried\n", TOTAL, WRITERS, conflicts);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_version(t), 1 + TOTAL);
    assert_int_equal(tst_table_segment_count(t), APPENDERS * EACH_APPENDS);
    assert_no_column_lost(tst_table_get_meta(t)->schema);
    int metas = 0;
    for (uint64_t v = 2; v <= 1 + TOTAL; v++) {
        tst_commit c;
        assert_tst_ok(tst_log_load_commit(root, v, &c));
        assert_int_equal(c.action_count, 1);
        metas += c.actions[0].type == TST_ACTION_UPDATE_TABLE_META;
        tst_commit_clear(&c);
    }
    assert_int_equal(metas, ADDERS * EACH_ADDS);
    char *next = tst_log_commit_path(root, 2 + TOTAL);
    assert_false(tst_test_exists(next));
    free(next);
    tst_table_free(t);
    tst_test_rmtree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adders_and_committers_win_each_version_once_and_lose_no_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
