/*
 * test_session_prune.c — segment pruning in SQL sessions: a statement's
 * range and entity predicates keep only the segments they can need, the
 * files of the others are never opened (they are deleted here and the
 * answers stay right), and whatever the planner cannot read keeps
 * everything.
 *
 * Fixture: 20 segments, one per day and symbol: NVDA (the sample) and AMD
 * (the same rows under another symbol), 2024-06-01 .. 2024-06-10, hourly.
 */
#include "testsupport.h"

#include "duck.h"
#include "tstable/append.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NVDA_CSV TST_SOURCE_DIR "/examples/data/nvda_1h_sample.csv"

typedef tst_test_session_fixture fixture;

static void append_day(tst_table *t, const char *dir, const char *symbol, int day)
{
    char name[64], sql[1024];
    snprintf(name, sizeof name, "%s_%02d.parquet", symbol, day);
    char *path = tst_test_path(dir, name);
    snprintf(sql, sizeof sql,
             "COPY (SELECT * REPLACE ('%s' AS symbol) FROM read_csv('%s') WHERE ts >= "
             "TIMESTAMPTZ '2024-06-%02d' AND ts < TIMESTAMPTZ '2024-06-%02d' + INTERVAL 1 DAY) "
             "TO '%s' (FORMAT parquet)",
             symbol, NVDA_CSV, day, day, path);
    tst_test_duck(sql);
    assert_tst_ok(tst_table_append_parquet(t, path, NULL, NULL));
    unlink(path);
    free(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tst_test_tmpdir("prune");
    f->root = tst_test_path(f->dir, "bars");
    tst_table *t = tst_test_create_table(f->root, "ts", "symbol", TST_TIME_HOURS, 1);
    for (int day = 1; day <= 10; day++) {
        append_day(t, f->dir, "NVDA", day);
        append_day(t, f->dir, "AMD", day);
    }
    assert_int_equal(tst_table_segment_count(t), 20);
    tst_table_free(t);
    assert_tst_ok(tst_session_open(&f->s));
    assert_tst_ok(tst_session_register_table(f->s, "bars", f->root));
    *state = f;
    return 0;
}

/* Runs sql; checks its first value and how many segments it kept. */
static void expect(tst_session *s, const char *sql, const tst_param *p, size_t n,
                   const char *want, uint64_t kept)
{
    char *got = tst_test_first_value(s, sql, p, n);
    tst_prune_stats st;
    tst_session_last_prune(s, &st);
    if (strcmp(got, want) != 0 || st.kept_segments != kept)
        print_error("%s\n got %s kept %llu, want %s kept %llu\n", sql, got,
                    (unsigned long long)st.kept_segments, want, (unsigned long long)kept);
    assert_string_equal(got, want);
    assert_int_equal(st.candidate_segments, 20);
    assert_int_equal(st.kept_segments, kept);
    free(got);
}

/* Deletes the data files of every segment but those named by keep(). */
static void delete_segments_except(const char *root, bool (*keep)(const tst_segment *))
{
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    for (size_t i = 0; i < tst_table_segment_count(t); i++) {
        const tst_segment *seg = tst_table_segment_at(t, i);
        if (keep(seg))
            continue;
        char *path = tst_test_path(root, seg->path);
        assert_int_equal(unlink(path), 0);
        free(path);
    }
    tst_table_free(t);
}

static bool is_june_3_nvda(const tst_segment *seg)
{
    char text[64];
    tst_index_value_format(&seg->index_min, text, sizeof text);
    return strcmp(text, "2024-06-03T00:00:00Z") == 0 &&
           memcmp(seg->layout.values[0].v.utf8.ptr, "NVDA", 4) == 0;
}

static bool is_amd(const tst_segment *seg)
{
    return seg->layout.values[0].v.utf8.len == 3;
}

static void a_one_day_range_keeps_one_segment_and_never_opens_the_others(void **state)
{
    fixture *f = *state;
    const char *q = "SELECT count(*) || '/' || round(sum(close), 2) FROM bars "
                    "WHERE ts >= '2024-06-03' AND ts < TIMESTAMPTZ '2024-06-04 00:00:00+00' "
                    "AND symbol = 'NVDA'";
    char *before = tst_test_first_value(f->s, q, NULL, 0);
    expect(f->s, "SELECT count(*) FROM bars WHERE ts BETWEEN '2024-06-03' AND "
                 "'2024-06-03 23:00:00'", NULL, 0, "48", 2);
    delete_segments_except(f->root, is_june_3_nvda);
    expect(f->s, q, NULL, 0, before, 1);
    expect(f->s, "SELECT count(*) FROM bars WHERE '2024-06-03T05:00:00Z' = ts AND "
                 "symbol = 'NVDA'", NULL, 0, "1", 1);
    expect(f->s, "SELECT count(*) FROM bars b WHERE b.ts > '2024-06-03 22:00:00' AND "
                 "b.ts <= '2024-06-03 23:00:00' AND b.symbol = 'NVDA'", NULL, 0, "1", 1);
    /* A range no segment meets keeps none: the columns are still there. */
    expect(f->s, "SELECT count(close) FROM bars WHERE ts >= '2030-01-01'", NULL, 0, "0", 0);
    expect(f->s, "SELECT count(*) FROM bars WHERE ts > '2024-06-05' AND ts < '2024-06-04'",
           NULL, 0, "0", 0);
    free(before);
}

static void an_entity_equality_prunes_the_segments_of_other_symbols(void **state)
{
    fixture *f = *state;
    expect(f->s, "SELECT count(*) FROM bars WHERE symbol = 'AMD'", NULL, 0, "240", 10);
    delete_segments_except(f->root, is_amd);
    expect(f->s, "SELECT count(*) FROM bars WHERE bars.symbol = 'AMD' AND ts < '2024-06-02'",
           NULL, 0, "24", 1);
    expect(f->s, "SELECT count(*) FROM bars WHERE symbol = 'AMD' AND symbol = 'NVDA'", NULL, 0,
           "0", 0);
    tst_rows *rows = NULL; /* without the equality the deleted files are needed */
    assert_tst_fails(tst_session_query_rows(f->s, "SELECT count(*) FROM bars", NULL, 0, &rows),
                     TST_ENOTFOUND);
}

static void what_the_planner_cannot_read_keeps_everything_and_answers_right(void **state)
{
    fixture *f = *state;
    expect(f->s, "SELECT count(*) FROM bars WHERE ts < '2024-06-02' OR ts >= '2024-06-10'",
           NULL, 0, "96", 20);
    expect(f->s, "SELECT count(*) FROM bars WHERE date_trunc('day', ts) = '2024-06-03'", NULL,
           0, "48", 20);
    expect(f->s, "SELECT count(*) FROM bars WHERE NOT (ts >= '2024-06-02' AND "
                 "ts < '2024-06-11')", NULL, 0, "48", 20);
    /* The parser itself turns NOT (ts >= x) into ts < x, which prunes exactly. */
    expect(f->s, "SELECT count(*) FROM bars WHERE NOT (ts >= '2024-06-02')", NULL, 0, "48", 2);
    expect(f->s, "SELECT count(*) FROM bars WHERE symbol = 'AMD' OR symbol = 'x'", NULL, 0,
           "240", 20);
    expect(f->s, "SELECT count(*) FROM bars WHERE ts + INTERVAL 1 DAY < '2024-06-03'", NULL, 0,
           "48", 20);
    /* A subquery's own WHERE still prunes its reference. */
    expect(f->s, "SELECT count(*) FROM (SELECT * FROM bars WHERE ts < '2024-06-02') "
                 "WHERE close > 0", NULL, 0, "48", 2);
}

static void parameters_prune_like_literals(void **state)
{
    fixture *f = *state;
    tst_param p[3];
    memset(p, 0, sizeof p);
    const char *text[] = {"2024-06-07T00:00:00Z", "2024-06-08T00:00:00Z", "AMD"};
    for (int i = 0; i < 3; i++) {
        p[i].type = TST_PARAM_TEXT;
        p[i].v.bytes.ptr = text[i];
        p[i].v.bytes.len = strlen(text[i]);
    }
    expect(f->s, "SELECT count(*) FROM bars WHERE ts >= $1 AND ts < $2", p, 2, "48", 2);
    p[0].name = "lo", p[1].name = "hi", p[2].name = "sym";
    expect(f->s, "SELECT count(*) FROM bars WHERE ts >= $lo AND ts < $hi AND symbol = $sym",
           p, 3, "24", 1);
}

static void a_self_join_with_two_ranges_keeps_the_union(void **state)
{
    fixture *f = *state;
    expect(f->s, "SELECT count(*) FROM bars a JOIN bars b ON a.symbol = b.symbol AND "
                 "b.ts = a.ts + INTERVAL 2 DAY WHERE a.ts >= '2024-06-03' AND a.ts < "
                 "'2024-06-04' AND b.ts >= '2024-06-05' AND b.ts < '2024-06-06'", NULL, 0,
           "48", 4);
    /* Each reference keeps what its own predicates need: 10 AMD + NVDA's first day. */
    expect(f->s, "SELECT count(*) FROM bars a, bars b WHERE a.ts = b.ts AND a.symbol = "
                 "b.symbol AND b.ts < '2024-06-02' AND a.symbol = 'AMD'", NULL, 0, "24", 11);
    /* An ASOF join keeps everything on both sides. */
    expect(f->s, "SELECT count(*) FROM bars a ASOF JOIN bars b ON a.symbol = b.symbol AND "
                 "a.ts > b.ts WHERE a.ts < '2024-06-02' AND b.ts < '2024-06-02'", NULL, 0,
           "46", 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            a_one_day_range_keeps_one_segment_and_never_opens_the_others, setup,
            tst_test_session_teardown),
        cmocka_unit_test_setup_teardown(
            an_entity_equality_prunes_the_segments_of_other_symbols, setup,
            tst_test_session_teardown),
        cmocka_unit_test_setup_teardown(
            what_the_planner_cannot_read_keeps_everything_and_answers_right, setup,
            tst_test_session_teardown),
        cmocka_unit_test_setup_teardown(parameters_prune_like_literals, setup,
                                        tst_test_session_teardown),
        cmocka_unit_test_setup_teardown(a_self_join_with_two_ranges_keeps_the_union, setup,
                                        tst_test_session_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
