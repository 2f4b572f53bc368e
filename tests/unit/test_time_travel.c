/*
 * test_time_travel.c — tst_table_open_at / tst_table_open_as_of without
 * DuckDB: on a log of 250+ hand-made commits (adds and removes), every
 * version opens to the state the writer's handle held right after that
 * commit, with checkpoints or by full replay alike, and an older checkpoint
 * serves a version before the latest one; pinned handles do not move and
 * refuse commits; versions 0 and past the head, instants before the first
 * commit, and versions vacuum removed (the marker) are clear errors.
 */
#include "testsupport.h"

#include "history.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Everything a reader sees of a state, as text. */
static char *facts(const tst_table *t)
{
    size_t cap = 64 + tst_table_segment_count(t) * 128, len = 0;
    char *out = malloc(cap);
    uint64_t cov_version = 0;
    const char *cov = tst_table_coverage_path(t, &cov_version);
    const tst_schema *schema = tst_table_get_meta(t)->schema;
    len += (size_t)snprintf(out + len, cap - len, "v%llu cols=%zu cov=%s@%llu",
                            (unsigned long long)tst_table_version(t),
                            schema ? schema->column_count : 0, cov ? cov : "-",
                            (unsigned long long)cov_version);
    for (size_t i = 0; i < tst_table_segment_count(t); i++) {
        const tst_segment *s = tst_table_segment_at(t, i);
        len += (size_t)snprintf(out + len, cap - len, " %s:%lld", s->path,
                                (long long)s->index_min.v.ts.sec);
    }
    return out;
}

enum { COMMITS = 2 * TST_CHECKPOINT_INTERVAL + 50 };

typedef struct fx {
    char *root;
    char *at[COMMITS + 8]; /* facts of the writer's handle right after each version */
    uint64_t head;
} fx;

static void commit(fx *f, tst_table *t, const char *actions)
{
    assert_tst_ok(tst_table_commit_json(t, actions, NULL));
    f->head = tst_table_version(t);
    f->at[f->head] = facts(t);
}

/* v1 create, v2 meta + seg-0, then one segment per commit; every 7th commit
 * also removes the segment added five commits before (an optimize's shape). */
static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->root = tst_test_tmpdir("travel");
    tst_table *t = tst_test_create_table_v6(f->root, "ts", "symbol", TST_TIME_HOURS, 1);
    f->at[1] = facts(t);
    char *seg = tst_test_add_segment_action("data/seg-0.parquet", "NVDA", 0, 3600);
    char actions[8192];
    snprintf(actions, sizeof actions, "[%s,%s]", TST_TEST_META_ACTION, seg);
    free(seg);
    commit(f, t, actions);
    for (int i = 1; f->head < COMMITS; i++) {
        char path[64];
        snprintf(path, sizeof path, "data/seg-%d.parquet", i);
        seg = tst_test_add_segment_action(path, i % 2 ? "NVDA" : "AAPL", i * 3600LL, i * 3600LL);
        int n = snprintf(actions, sizeof actions, "[%s", seg);
        free(seg);
        if (i % 7 == 0)
            n += snprintf(actions + n, sizeof actions - (size_t)n,
                          ",{\"RemoveSegment\":{\"path\":\"data/seg-%d.parquet\"}}", i - 5);
        snprintf(actions + n, sizeof actions - (size_t)n, "]");
        commit(f, t, actions);
    }
    tst_table_free(t);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    for (size_t i = 0; i <= f->head; i++)
        free(f->at[i]);
    tst_test_rmtree(f->root);
    free(f);
    return 0;
}

static void assert_state_at(const fx *f, uint64_t v)
{
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open_at(&t, f->root, v));
    char *got = facts(t);
    if (strcmp(got, f->at[v]) != 0)
        fail_msg("version %llu:\n  writer saw %.300s\n  opened    %.300s", (unsigned long long)v,
                 f->at[v], got);
    assert_true(tst_table_is_pinned(t));
    free(got);
    tst_table_free(t);
}

static void every_version_opens_to_what_the_writer_held_after_that_commit(void **state)
{
    fx *f = *state;
    char *cp = tst_test_path(f->root, "_timeseries_log/_checkpoints/0000000200.checkpoint");
    assert_true(tst_test_exists(cp)); /* checkpoints at 100 and 200 */
    free(cp);
    for (uint64_t v = 1; v <= f->head; v++)
        assert_state_at(f, v);
}

static void versions_around_checkpoints_match_a_full_replay(void **state)
{
    fx *f = *state;
    static const uint64_t around[] = {99, 100, 101, 150, 199, 200, 201, COMMITS};
    /* Without the checkpoints, every version is replayed from commit 1. */
    char *dir = tst_test_path(f->root, "_timeseries_log/_checkpoints");
    char *aside = tst_test_path(f->root, "checkpoints-aside");
    char *ptr = tst_test_path(f->root, "_timeseries_log/_last_checkpoint");
    char *ptr_aside = tst_test_path(f->root, "last-aside");
    assert_int_equal(rename(dir, aside), 0);
    assert_int_equal(rename(ptr, ptr_aside), 0);
    for (size_t i = 0; i < sizeof around / sizeof around[0]; i++)
        assert_state_at(f, around[i]);
    assert_int_equal(rename(aside, dir), 0);
    assert_int_equal(rename(ptr_aside, ptr), 0);
    /* With them, and commit 50 gone: version 150 opens from checkpoint 100
     * (the pointer names 200), which proves it was used; version 99 needs
     * commit 50 and says so. */
    char *fifty = tst_log_commit_path(f->root, 50);
    char *fifty_aside = tst_test_path(f->root, "fifty.json");
    assert_int_equal(rename(fifty, fifty_aside), 0);
    for (size_t i = 1; i < sizeof around / sizeof around[0]; i++)
        assert_state_at(f, around[i]);
    tst_table *t = NULL;
    assert_tst_fails(tst_table_open_at(&t, f->root, 99), TST_ENOTFOUND);
    assert_null(t);
    assert_non_null(strstr(tst_error_last()->message, "opening version 99"));
    assert_int_equal(rename(fifty_aside, fifty), 0);
    free(fifty), free(fifty_aside), free(dir), free(aside), free(ptr), free(ptr_aside);
}

static void a_pinned_handle_stays_and_refuses_commits(void **state)
{
    fx *f = *state;
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open_at(&t, f->root, 10));
    bool changed = true;
    assert_tst_ok(tst_table_refresh(t, &changed));
    assert_false(changed);
    assert_int_equal(tst_table_version(t), 10);
    char *seg = tst_test_add_segment_action("data/new.parquet", "NVDA", 1, 2);
    char actions[4096];
    snprintf(actions, sizeof actions, "[%s]", seg);
    free(seg);
    assert_tst_fails(tst_table_commit_json(t, actions, NULL), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "opened as of version 10; open the latest "
                                                      "version to write"));
    assert_tst_fails(tst_table_check_writable(t, "append"), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "append of table"));
    uint64_t head = 0;
    assert_tst_ok(tst_log_head(f->root, &head));
    assert_int_equal(head, f->head); /* nothing was written */
    tst_table_free(t);
    /* Even a handle pinned at the latest version stays pinned. */
    assert_tst_ok(tst_table_open_at(&t, f->root, f->head));
    assert_tst_fails(tst_table_commit_json(t, actions, NULL), TST_EINVAL);
    tst_table_free(t);
    /* The latest handle is not pinned and writes. */
    assert_tst_ok(tst_table_open(&t, f->root));
    assert_false(tst_table_is_pinned(t));
    assert_tst_ok(tst_table_check_writable(t, "append"));
    tst_table_free(t);
}

static void version_zero_and_versions_past_the_head_are_clear_errors(void **state)
{
    fx *f = *state;
    tst_table *t = NULL;
    assert_tst_fails(tst_table_open_at(&t, f->root, 0), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "versions start at 1"));
    assert_tst_fails(tst_table_open_at(&t, f->root, f->head + 1), TST_ENOTFOUND);
    char want[64];
    snprintf(want, sizeof want, "its latest version is %llu", (unsigned long long)f->head);
    assert_non_null(strstr(tst_error_last()->message, want));
    assert_null(t);
    char *missing = tst_test_path(f->root, "nope");
    assert_tst_fails(tst_table_open_at(&t, missing, 1), TST_ENOTFOUND);
    assert_tst_fails(tst_table_open_as_of(&t, missing, (tst_timestamp){0, 0}), TST_ENOTFOUND);
    free(missing);
}

static void as_of_an_instant_opens_the_version_current_then(void **state)
{
    fx *f = *state;
    tst_timestamp times[COMMITS + 1];
    for (uint64_t v = 1; v <= f->head; v++)
        assert_tst_ok(tst_history_commit_time(f->root, v, &times[v]));
    for (uint64_t v = 1; v <= f->head; v += 37) {
        /* Exactly at commit v's time: v, or a later commit of the same instant. */
        tst_table *t = NULL;
        assert_tst_ok(tst_table_open_as_of(&t, f->root, times[v]));
        uint64_t got = tst_table_version(t);
        assert_true(got >= v);
        assert_int_equal(times[got].sec, times[v].sec);
        assert_int_equal(times[got].nsec, times[v].nsec);
        char *seen = facts(t);
        assert_string_equal(seen, f->at[got]);
        free(seen);
        assert_true(tst_table_is_pinned(t));
        tst_table_free(t);
    }
    /* Before the first commit: the message says when the table was created. */
    tst_table *t = NULL;
    tst_timestamp before = {times[1].sec - 3600, 0};
    assert_tst_fails(tst_table_open_as_of(&t, f->root, before), TST_ENOTFOUND);
    assert_non_null(strstr(tst_error_last()->message, "it was created at"));
    /* Far in the future: the latest version. */
    assert_tst_ok(tst_table_open_as_of(&t, f->root, (tst_timestamp){times[f->head].sec + 86400, 0}));
    assert_int_equal(tst_table_version(t), f->head);
    tst_table_free(t);
}

static void versions_vacuum_removed_are_refused_with_the_oldest_readable_one(void **state)
{
    fx *f = *state;
    tst_vacuum_marker m = {120, {0, 0}, 7 * 86400};
    assert_tst_ok(tst_timestamp_parse(&m.vacuumed_at, "2026-12-01T08:00:00Z"));
    assert_tst_ok(tst_history_write_marker(f->root, &m));
    tst_table *t = NULL;
    assert_tst_fails(tst_table_open_at(&t, f->root, 119), TST_EVACUUMED);
    assert_null(t);
    const tst_error *e = tst_error_last();
    assert_non_null(strstr(e->message, "the files of version 119 were removed by vacuum on "
                                       "2026-12-01T08:00:00Z (retention 7d); the oldest "
                                       "readable version is 120"));
    assert_int_equal(e->expected_version, 119);
    assert_int_equal(e->found_version, 120);
    assert_string_equal(e->path, f->root);
    assert_string_equal(tst_error_name(TST_EVACUUMED), "TST_EVACUUMED");
    tst_timestamp t1;
    assert_tst_ok(tst_history_commit_time(f->root, 2, &t1));
    assert_tst_fails(tst_table_open_as_of(&t, f->root, t1), TST_EVACUUMED);
    assert_state_at(f, 120);
    assert_state_at(f, f->head);
    /* The latest version never looks at the marker. */
    assert_tst_ok(tst_table_open(&t, f->root));
    tst_table_free(t);
    /* A damaged marker refuses time travel, naming the file. */
    tst_test_put(f->root, "_timeseries_log/_vacuumed.json", "{");
    assert_tst_fails(tst_table_open_at(&t, f->root, 150), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "_vacuumed.json"));
    char *marker = tst_test_path(f->root, "_timeseries_log/_vacuumed.json");
    assert_int_equal(remove(marker), 0);
    free(marker);
    assert_state_at(f, 119);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_version_opens_to_what_the_writer_held_after_that_commit),
        cmocka_unit_test(versions_around_checkpoints_match_a_full_replay),
        cmocka_unit_test(a_pinned_handle_stays_and_refuses_commits),
        cmocka_unit_test(version_zero_and_versions_past_the_head_are_clear_errors),
        cmocka_unit_test(as_of_an_instant_opens_the_version_current_then),
        cmocka_unit_test(versions_vacuum_removed_are_refused_with_the_oldest_readable_one),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
