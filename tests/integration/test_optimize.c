/*
 * test_optimize.c — entity-layout optimization end to end: mixed segments
 * become single-entity ones in one commit with the same rows, sums and
 * coverage; a second run is a no-op; tables without entities are refused;
 * another writer's append is rebased over and another optimize of the same
 * segments is a conflict; a failure at any I/O step leaves the table as it
 * was, readable and optimizable.
 */
#include "testsupport.h"

#include "fsio.h"
#include "log.h"
#include "model.h"
#include "optimize_internal.h"
#include "sidecar.h"
#include "table_internal.h"
#include "tstable/append.h"
#include "tstable/optimize.h"
#include "tstable/session.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A table (entity symbol, hourly) with two mixed segments and a single one:
 *   A: NVDA + AAPL, 2024-06-01 .. 06-04;  B: NVDA + AAPL + MSFT, 06-04 .. 06-07;
 *   C: NVDA alone, 06-07 onwards. */
typedef struct fixture {
    char *dir, *root;
    char *later; /* AMD from 06-01: another writer's append, mixed with nothing */
} fixture;

static const char *const MIXED_A =
    "SELECT * FROM nvda WHERE ts < '2024-06-04' UNION ALL "
    "SELECT * REPLACE ('AAPL' AS symbol, close + 1 AS close) FROM nvda WHERE ts < '2024-06-04'";
static const char *const MIXED_B =
    "SELECT * FROM nvda WHERE ts >= '2024-06-04' AND ts < '2024-06-07' UNION ALL "
    "SELECT * REPLACE ('AAPL' AS symbol) FROM nvda WHERE ts >= '2024-06-04' AND ts < "
    "'2024-06-07' UNION ALL "
    "SELECT * REPLACE ('MSFT' AS symbol, close * 2 AS close) FROM nvda WHERE ts >= "
    "'2024-06-05' AND ts < '2024-06-06'";
static const char *const SINGLE_C = "SELECT * FROM nvda WHERE ts >= '2024-06-07'";

static void append_select(const fixture *f, tst_table *t, const char *name, const char *select)
{
    char *file = tst_test_nvda_parquet(f->dir, name, select);
    assert_tst_ok(tst_table_append_parquet(t, file, NULL, NULL));
    free(file);
}

static fixture *make_fixture(void)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tst_test_tmpdir("optsrc");
    f->root = tst_test_tmpdir("optimize");
    tst_table *t = tst_test_create_table(f->root, "ts", "symbol", TST_TIME_HOURS, 1);
    append_select(f, t, "a.parquet", MIXED_A);
    append_select(f, t, "b.parquet", MIXED_B);
    append_select(f, t, "c.parquet", SINGLE_C);
    f->later = tst_test_nvda_parquet(f->dir, "later.parquet",
                                     "SELECT * REPLACE ('AMD' AS symbol) FROM nvda");
    tst_table_free(t);
    return f;
}

static void free_fixture(fixture *f)
{
    tst_test_rmtree(f->dir);
    tst_test_rmtree(f->root);
    free(f->later);
    free(f);
}

/* ---- what must not change ------------------------------------------------ */

typedef struct table_facts {
    char *rows, *sum, *per_symbol;
    tst_table_cov cov;
    int files;
} table_facts;

static int count_files(const char *root)
{
    char *data = tst_test_path(root, "data"), *cov = tst_test_path(root, "_coverage");
    int n = tst_test_count_files(data) + tst_test_count_files(cov);
    free(data);
    free(cov);
    return n;
}

static table_facts facts_of(const char *root)
{
    table_facts f;
    memset(&f, 0, sizeof f);
    f.rows = tst_test_table_value(root, "SELECT count(*) FROM t");
    f.sum = tst_test_table_value(root, "SELECT round(sum(close), 4) FROM t");
    f.per_symbol = tst_test_table_value(root, "SELECT string_agg(symbol || ':' || n, ',' ORDER BY symbol) "
                                     "FROM (SELECT symbol, count(*) AS n FROM t GROUP BY symbol)");
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    const tst_table_cov *cov = NULL;
    assert_tst_ok(tst_table_load_coverage(t, &cov));
    assert_tst_ok(tst_table_cov_clone(&f.cov, cov));
    tst_table_free(t);
    f.files = count_files(root);
    return f;
}

static void facts_clear(table_facts *f)
{
    free(f->rows);
    free(f->sum);
    free(f->per_symbol);
    tst_table_cov_clear(&f->cov);
}

/* Rows, sums, rows per entity and coverage are what they were. */
static void assert_same_data(const table_facts *a, const table_facts *b)
{
    assert_string_equal(a->rows, b->rows);
    assert_string_equal(a->sum, b->sum);
    assert_string_equal(a->per_symbol, b->per_symbol);
    assert_true(tst_table_cov_equals(&a->cov, &b->cov));
}

/* The union of the live segments' own sidecars equals `expected`: the new
 * sidecars say exactly what the replaced ones said. */
static void assert_segment_sidecars_cover(tst_table *t, const tst_table_cov *expected)
{
    tst_table_cov all = {0};
    assert_tst_ok(tst_table_cov_new(&all, tst_table_index(t)));
    for (size_t i = 0; i < tst_table_segment_count(t); i++) {
        tst_table_cov one = {0};
        assert_tst_ok(tst_sidecar_read(tst_table_root(t), tst_table_segment_at(t, i)->coverage_path,
                                       tst_table_index(t), tst_table_get_meta(t)->schema, &one));
        assert_tst_ok(tst_table_cov_union_inplace(&all, &one));
        tst_table_cov_clear(&one);
    }
    assert_true(tst_table_cov_equals(&all, expected));
    tst_table_cov_clear(&all);
}

static size_t mixed_count(const tst_table *t)
{
    size_t n = 0;
    for (size_t i = 0; i < tst_table_segment_count(t); i++)
        n += tst_table_segment_at(t, i)->layout.kind == TST_LAYOUT_MIXED;
    return n;
}

/* ---- the rewrite ---------------------------------------------------------- */

static void mixed_segments_become_single_entity_segments_with_the_same_data(void **state)
{
    (void)state;
    fixture *f = make_fixture();
    table_facts before = facts_of(f->root);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f->root));
    assert_int_equal(mixed_count(t), 2);
    char *old_a = strdup(tst_table_segment_at(t, 0)->path);
    char *old_b = strdup(tst_table_segment_at(t, 1)->path);
    const char *snapshot = tst_table_coverage_path(t, NULL);
    char *snapshot_before = strdup(snapshot);

    tst_optimize_report rep;
    assert_tst_ok(tst_table_optimize(t, NULL, &rep));
    assert_int_equal(rep.starting_version, 4);
    assert_int_equal(rep.committed_version, 5);
    assert_int_equal(tst_table_version(t), 5);
    assert_int_equal(rep.candidate_source_segments, 2);
    assert_int_equal(rep.source_segments_replaced, 2);
    assert_int_equal(rep.replacement_segments_written, 5); /* A: 2 identities, B: 3 */
    assert_int_equal(rep.distinct_identities_materialized, 3);
    assert_int_equal(rep.rows_read, 72 * 2 + 72 * 2 + 24);
    assert_int_equal(rep.rows_written, rep.rows_read);
    assert_false(rep.no_op);
    assert_int_equal(rep.attempts, 1);

    /* Every live segment is single-entity; the replacements live where the
     * reference puts them, and the coverage pointer did not move. */
    assert_int_equal(mixed_count(t), 0);
    assert_int_equal(tst_table_segment_count(t), 6);
    for (size_t i = 0; i < tst_table_segment_count(t); i++) {
        const tst_segment *seg = tst_table_segment_at(t, i);
        assert_int_equal(seg->layout.kind, TST_LAYOUT_SINGLE);
        assert_non_null(seg->coverage_path);
        if (strncmp(seg->path, "data/_staged/entity-rewrite/", 28) == 0)
            assert_int_equal(strlen(seg->path), 28 + 36 + 1 + 10 + 8);
    }
    assert_string_equal(tst_table_coverage_path(t, NULL), snapshot_before);

    table_facts after = facts_of(f->root);
    assert_same_data(&before, &after);
    assert_segment_sidecars_cover(t, &before.cov);
    /* 5 data files and 5 sidecars more; the mixed files stay (for vacuum). */
    assert_int_equal(after.files, before.files + 10);
    char *a_abs = tst_test_path(f->root, old_a), *b_abs = tst_test_path(f->root, old_b);
    assert_true(tst_test_exists(a_abs) && tst_test_exists(b_abs));

    /* One commit: the removes, then the adds; no coverage action. */
    tst_commit c;
    memset(&c, 0, sizeof c);
    assert_tst_ok(tst_log_load_commit(f->root, 5, &c));
    assert_int_equal(c.action_count, 7);
    assert_int_equal(c.actions[0].type, TST_ACTION_REMOVE_SEGMENT);
    assert_string_equal(c.actions[0].u.remove_path, old_a);
    assert_int_equal(c.actions[1].type, TST_ACTION_REMOVE_SEGMENT);
    assert_string_equal(c.actions[1].u.remove_path, old_b);
    for (size_t i = 2; i < 7; i++)
        assert_int_equal(c.actions[i].type, TST_ACTION_ADD_SEGMENT);
    /* A's replacements: AAPL then NVDA (canonical order), ordinals 0 and 1. */
    assert_string_equal(c.actions[2].u.segment.layout.values[0].v.utf8.ptr, "AAPL");
    assert_non_null(strstr(c.actions[2].u.segment.path, "/0000000000.parquet"));
    assert_string_equal(c.actions[3].u.segment.layout.values[0].v.utf8.ptr, "NVDA");
    assert_non_null(strstr(c.actions[3].u.segment.path, "/0000000001.parquet"));
    assert_int_equal(c.actions[3].u.segment.row_count, 72);
    tst_commit_clear(&c);

    free(a_abs);
    free(b_abs);
    free(old_a);
    free(old_b);
    free(snapshot_before);
    facts_clear(&before);
    facts_clear(&after);
    tst_table_free(t);
    free_fixture(f);
}

static void a_second_optimize_is_a_no_op(void **state)
{
    (void)state;
    fixture *f = make_fixture();
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f->root));
    assert_tst_ok(tst_table_optimize(t, NULL, NULL));
    int files = count_files(f->root);
    tst_optimize_report rep;
    memset(&rep, 0xff, sizeof rep);
    assert_tst_ok(tst_table_optimize(t, NULL, &rep));
    assert_true(rep.no_op);
    assert_int_equal(rep.starting_version, 5);
    assert_int_equal(rep.committed_version, 5);
    assert_int_equal(rep.candidate_source_segments + rep.source_segments_replaced +
                         rep.replacement_segments_written + rep.distinct_identities_materialized +
                         rep.rows_read + rep.rows_written + rep.attempts,
                     0);
    assert_int_equal(count_files(f->root), files);
    tst_table_free(t);
    assert_tst_ok(tst_table_open(&t, f->root));
    assert_int_equal(tst_table_version(t), 5);
    tst_table_free(t);
    free_fixture(f);
}

static void an_empty_table_is_a_no_op_at_version_one(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("optimize");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_optimize_report rep;
    assert_tst_ok(tst_table_optimize(t, NULL, &rep));
    assert_true(rep.no_op);
    assert_int_equal(rep.starting_version, 1);
    assert_int_equal(rep.committed_version, 1);
    assert_int_equal(count_files(root), 0);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void a_table_without_entity_columns_is_refused_as_not_applicable(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("optimize");
    char *dir = tst_test_tmpdir("optsrc");
    tst_table *t = tst_test_create_table(root, "ts", NULL, TST_TIME_HOURS, 1);
    char *file = tst_test_nvda_parquet(dir, "a.parquet", "SELECT * FROM nvda");
    assert_tst_ok(tst_table_append_parquet(t, file, NULL, NULL));
    int files = count_files(root);
    assert_tst_fails(tst_table_optimize(t, NULL, NULL), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "not applicable to table"));
    assert_non_null(strstr(tst_error_last()->message, root));
    assert_string_equal(tst_error_last()->path, root);
    assert_int_equal(count_files(root), files);
    assert_int_equal(tst_table_version(t), 2);
    free(file);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}


static void integer_entity_columns_are_split_by_their_exact_values(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("optimize");
    char *dir = tst_test_tmpdir("optsrc");
    char *entities[] = {"venue", "id"};
    tst_index_spec spec = tst_test_hourly_spec(entities, 2);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_create(&t, root, &spec));
    /* Extremes of each type, so a literal that loses them selects nothing. */
    char *file = tst_test_nvda_parquet(
        dir, "ints.parquet",
        "SELECT ts, (-2147483648)::INTEGER AS venue, 18446744073709551615::UBIGINT AS id, close "
        "FROM nvda UNION ALL SELECT ts, 7::INTEGER, 0::UBIGINT, close FROM nvda UNION ALL "
        "SELECT ts, 7::INTEGER, 9223372036854775808::UBIGINT, close FROM nvda WHERE ts < "
        "'2024-06-02'");
    assert_tst_ok(tst_table_append_parquet(t, file, NULL, NULL));
    tst_optimize_report rep;
    assert_tst_ok(tst_table_optimize(t, NULL, &rep));
    assert_int_equal(rep.replacement_segments_written, 3);
    assert_int_equal(rep.rows_written, 240 + 240 + 24);
    /* Canonical order: INT32_MIN first; then 7 with 0, then 7 with 2^63. */
    const tst_entity_value *v[3];
    uint64_t rows[3];
    size_t n = 0;
    tst_commit c;
    memset(&c, 0, sizeof c);
    assert_tst_ok(tst_log_load_commit(root, 3, &c));
    for (size_t i = 1; i < c.action_count; i++) {
        v[n] = c.actions[i].u.segment.layout.values;
        rows[n++] = c.actions[i].u.segment.row_count;
    }
    assert_int_equal(n, 3);
    assert_int_equal(v[0][0].type, TST_ENTITY_INT32);
    assert_int_equal(v[0][0].v.i32, INT32_MIN);
    assert_int_equal(v[0][1].type, TST_ENTITY_UINT64);
    assert_true(v[0][1].v.u64 == UINT64_MAX);
    assert_int_equal(v[1][0].v.i32, 7);
    assert_true(v[1][1].v.u64 == 0);
    assert_true(v[2][1].v.u64 == (uint64_t)1 << 63);
    assert_int_equal(rows[0], 240);
    assert_int_equal(rows[1], 240);
    assert_int_equal(rows[2], 24);
    tst_commit_clear(&c);
    free(file);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

/* ---- other writers ---------------------------------------------------------- */

typedef struct other_writer {
    const char *root, *file; /* file: append it; NULL: optimize */
    int rc;
} other_writer;

static void interlope(void *ctx, unsigned attempt)
{
    other_writer *w = ctx;
    if (attempt != 1)
        return;
    tst_optimize_before_commit_hook = NULL; /* the other writer runs plainly */
    tst_table *other = NULL;
    w->rc = tst_table_open(&other, w->root);
    if (w->rc == 0)
        w->rc = w->file ? tst_table_append_parquet(other, w->file, NULL, NULL)
                        : tst_table_optimize(other, NULL, NULL);
    tst_table_free(other);
    tst_optimize_before_commit_hook = interlope;
}

static int optimize_with_other_writer(tst_table *t, other_writer *w, tst_optimize_report *rep)
{
    w->rc = -1;
    tst_optimize_before_commit_ctx = w;
    tst_optimize_before_commit_hook = interlope;
    int rc = tst_table_optimize(t, NULL, rep);
    tst_optimize_before_commit_hook = NULL;
    return rc;
}

static void an_append_by_another_writer_meanwhile_is_rebased_over(void **state)
{
    (void)state;
    fixture *f = make_fixture();
    table_facts before = facts_of(f->root);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f->root));
    other_writer w = {f->root, f->later, -1};
    tst_optimize_report rep;
    assert_tst_ok(optimize_with_other_writer(t, &w, &rep));
    assert_tst_ok(w.rc);
    assert_int_equal(rep.attempts, 2);
    assert_int_equal(rep.starting_version, 4);
    assert_int_equal(rep.committed_version, 6); /* the append took 5 */
    assert_int_equal(rep.replacement_segments_written, 5);
    /* Both writers' work is there: 6 segments of ours, AMD's one. */
    assert_int_equal(tst_table_segment_count(t), 7);
    assert_int_equal(mixed_count(t), 0);
    char *amd = tst_test_table_value(f->root, "SELECT count(*) FROM t WHERE symbol = 'AMD'");
    assert_string_equal(amd, "240");
    free(amd);
    table_facts after = facts_of(f->root);
    assert_int_equal(atoi(after.rows), atoi(before.rows) + 240);
    /* The table's coverage is the other writer's snapshot, and the segment
     * sidecars still add up to it. */
    tst_table_free(t);
    assert_tst_ok(tst_table_open(&t, f->root));
    assert_segment_sidecars_cover(t, &after.cov);
    facts_clear(&before);
    facts_clear(&after);
    tst_table_free(t);
    free_fixture(f);
}

static void another_optimize_of_the_same_segments_meanwhile_is_a_conflict(void **state)
{
    (void)state;
    fixture *f = make_fixture();
    table_facts before = facts_of(f->root);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f->root));
    other_writer w = {f->root, NULL, -1};
    tst_optimize_report rep;
    assert_tst_fails(optimize_with_other_writer(t, &w, &rep), TST_ECONFLICT);
    assert_tst_ok(w.rc);
    assert_int_equal(tst_error_last()->expected_version, 4);
    assert_int_equal(tst_error_last()->found_version, 5);
    assert_non_null(strstr(tst_error_last()->message, "another writer removed segment"));
    /* Only the other writer's commit and files: ours were removed. */
    table_facts after = facts_of(f->root);
    assert_same_data(&before, &after);
    assert_int_equal(after.files, before.files + 10);
    tst_table_free(t);
    assert_tst_ok(tst_table_open(&t, f->root));
    assert_int_equal(tst_table_version(t), 5);
    assert_int_equal(tst_table_segment_count(t), 6);
    assert_segment_sidecars_cover(t, &before.cov);
    facts_clear(&before);
    facts_clear(&after);
    tst_table_free(t);
    free_fixture(f);
}

static void a_bounded_number_of_attempts_gives_up_with_a_conflict(void **state)
{
    (void)state;
    fixture *f = make_fixture();
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f->root));
    other_writer w = {f->root, f->later, -1};
    w.rc = -1;
    tst_optimize_options opts = TST_OPTIMIZE_OPTIONS_INIT;
    opts.max_attempts = 1;
    tst_optimize_before_commit_ctx = &w;
    tst_optimize_before_commit_hook = interlope;
    int rc = tst_table_optimize(t, &opts, NULL);
    tst_optimize_before_commit_hook = NULL;
    assert_tst_fails(rc, TST_ECONFLICT);
    assert_non_null(strstr(tst_error_last()->message, "gave up after 1 commit attempt"));
    int files = count_files(f->root);
    /* The append's segment and its two sidecars; nothing of ours. */
    tst_table_free(t);
    assert_tst_ok(tst_table_open(&t, f->root));
    assert_int_equal(tst_table_version(t), 5);
    assert_int_equal(mixed_count(t), 2);
    assert_tst_ok(tst_table_optimize(t, NULL, NULL)); /* and it can be run again */
    assert_int_equal(count_files(f->root), files + 10);
    tst_table_free(t);
    free_fixture(f);
}

static void a_cancelled_optimize_commits_nothing_and_removes_its_files(void **state)
{
    (void)state;
    fixture *f = make_fixture();
    int files = count_files(f->root);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f->root));
    tst_cancel *cancel = NULL;
    assert_tst_ok(tst_cancel_new(&cancel));
    tst_cancel_request(cancel);
    tst_optimize_options opts = TST_OPTIMIZE_OPTIONS_INIT;
    opts.cancel = cancel;
    assert_tst_fails(tst_table_optimize(t, &opts, NULL), TST_ECANCELLED);
    assert_non_null(strstr(tst_error_last()->message, "cancelled"));
    assert_int_equal(tst_table_version(t), 4);
    assert_int_equal(count_files(f->root), files);
    tst_cancel_free(cancel);
    tst_table_free(t);
    free_fixture(f);
}


/* ---- a segment that disagrees with the log ---------------------------------- */

/* Replaces the first `from` in commit `version`'s file with `to`. */
static void edit_commit(const char *root, uint64_t version, const char *from, const char *to)
{
    char *path = tst_log_commit_path(root, version), *text = NULL;
    size_t len = 0;
    assert_int_equal(tst_test_read_file(path, &text, &len), 0);
    char *at = strstr(text, from);
    assert_non_null(at);
    size_t cap = len + strlen(to) + 1;
    char *out = malloc(cap);
    int n = snprintf(out, cap, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    assert_int_equal(tst_test_write_file(path, out, (size_t)n), 0);
    free(out);
    free(text);
    free(path);
}

/* The first mixed segment (A, version 2) as the log has it; its strings are
 * borrowed from *t. */
static tst_segment first_mixed(const char *root, tst_table **t)
{
    assert_tst_ok(tst_table_open(t, root));
    const tst_segment *seg = tst_table_segment_at(*t, 0);
    assert_int_equal(seg->layout.kind, TST_LAYOUT_MIXED);
    return *seg;
}

/* optimize fails with `code` naming the segment, and changes nothing. */
static void assert_refused(const fixture *f, int code, const char *words)
{
    int files = count_files(f->root);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f->root));
    assert_tst_fails(tst_table_optimize(t, NULL, NULL), code);
    if (!strstr(tst_error_last()->message, words) || !strstr(tst_error_last()->message, f->root))
        fail_msg("unexpected message: %s", tst_error_last()->message);
    assert_int_equal(tst_table_version(t), 4);
    assert_int_equal(count_files(f->root), files);
    tst_table_free(t);
}

static void a_row_count_the_file_does_not_have_is_refused_as_corrupt(void **state)
{
    (void)state;
    fixture *f = make_fixture();
    edit_commit(f->root, 2, "\"row_count\":144", "\"row_count\":143");
    assert_refused(f, TST_ECORRUPT, "holds 144 rows but the log says 143");
    free_fixture(f);
}

static void a_sidecar_that_disagrees_with_the_file_is_refused_as_corrupt(void **state)
{
    (void)state;
    fixture *f = make_fixture();
    tst_table *t = NULL;
    tst_segment a = first_mixed(f->root, &t);
    const tst_segment *b = tst_table_segment_at(t, 1);
    char *a_cov = tst_test_path(f->root, a.coverage_path);
    char *b_cov = tst_test_path(f->root, b->coverage_path), *bytes = NULL;
    size_t len = 0;
    assert_int_equal(tst_test_read_file(b_cov, &bytes, &len), 0);
    assert_int_equal(tst_test_write_file(a_cov, bytes, len), 0); /* B's coverage under A's name */
    tst_table_free(t);
    assert_refused(f, TST_ECORRUPT, "than its coverage sidecar says");
    free(bytes);
    free(a_cov);
    free(b_cov);
    free_fixture(f);
}

static void a_segment_without_coverage_path_is_refused_as_corrupt(void **state)
{
    (void)state;
    fixture *f = make_fixture();
    tst_table *t = NULL;
    tst_segment a = first_mixed(f->root, &t);
    char *from = NULL;
    assert_true(asprintf(&from, ",\"coverage_path\":\"%s\"", a.coverage_path) > 0);
    tst_table_free(t);
    edit_commit(f->root, 2, from, "");
    assert_refused(f, TST_ECORRUPT, "the log names no coverage sidecar");
    free(from);
    free_fixture(f);
}

static void a_segment_file_of_another_schema_is_refused_as_corrupt(void **state)
{
    (void)state;
    fixture *f = make_fixture();
    tst_table *t = NULL;
    tst_segment a = first_mixed(f->root, &t);
    char *abs = tst_test_path(f->root, a.path), *sql = NULL;
    tst_table_free(t);
    assert_int_equal(unlink(abs), 0);
    assert_true(asprintf(&sql, "COPY (SELECT ts, symbol, 1::INTEGER AS close FROM "
                               "read_csv('%s')) TO '%s' (FORMAT parquet)",
                         TST_SOURCE_DIR "/examples/data/nvda_1h_sample.csv", abs) > 0);
    tst_test_duck(sql);
    assert_refused(f, TST_ECORRUPT, "does not hold the table's schema");
    free(sql);
    free(abs);
    free_fixture(f);
}

static void a_missing_segment_file_is_not_found(void **state)
{
    (void)state;
    fixture *f = make_fixture();
    tst_table *t = NULL;
    tst_segment a = first_mixed(f->root, &t);
    char *abs = tst_test_path(f->root, a.path), *rel = strdup(a.path);
    tst_table_free(t);
    assert_int_equal(unlink(abs), 0);
    assert_refused(f, TST_ENOTFOUND, rel);
    free(rel);
    free(abs);
    free_fixture(f);
}

/* ---- failures --------------------------------------------------------------- */

static void a_failure_at_any_io_step_leaves_the_table_as_it_was(void **state)
{
    (void)state;
    fixture *f = make_fixture();
    table_facts before = facts_of(f->root);
    uint64_t k = 1;
    for (;; k++) {
        tst_table *t = NULL;
        assert_tst_ok(tst_table_open(&t, f->root));
        tst_io_set_fault(TST_IO_FAULT_FAIL, k);
        int rc = tst_table_optimize(t, NULL, NULL);
        tst_io_set_fault(TST_IO_FAULT_NONE, 0);
        tst_table_free(t);
        if (rc == 0)
            break;
        char *message = strdup(tst_error_last()->message);
        assert_non_null(strstr(message, f->root));
        assert_tst_ok(tst_table_open(&t, f->root));
        uint64_t v = tst_table_version(t);
        tst_table_free(t);
        table_facts now = facts_of(f->root);
        assert_same_data(&before, &now);
        if (rc == TST_EAMBIGUOUS) {
            free(message);
            /* The commit file is in place but unsynced: it may stand. */
            assert_true(v == 4 || v == 5);
            facts_clear(&now);
            if (v == 5)
                break;
            continue;
        }
        assert_int_equal(v, 4);
        if (now.files != before.files)
            print_error("step %llu: %s\n", (unsigned long long)k, message);
        free(message);
        assert_int_equal(now.files, before.files);
        facts_clear(&now);
    }
    print_message("optimize failed at each of %llu I/O steps\n", (unsigned long long)k - 1);
    assert_true(k > 10);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, f->root));
    assert_int_equal(mixed_count(t), 0);
    table_facts after = facts_of(f->root);
    assert_same_data(&before, &after);
    facts_clear(&after);
    facts_clear(&before);
    tst_table_free(t);
    free_fixture(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mixed_segments_become_single_entity_segments_with_the_same_data),
        cmocka_unit_test(a_second_optimize_is_a_no_op),
        cmocka_unit_test(an_empty_table_is_a_no_op_at_version_one),
        cmocka_unit_test(a_table_without_entity_columns_is_refused_as_not_applicable),
        cmocka_unit_test(integer_entity_columns_are_split_by_their_exact_values),
        cmocka_unit_test(an_append_by_another_writer_meanwhile_is_rebased_over),
        cmocka_unit_test(another_optimize_of_the_same_segments_meanwhile_is_a_conflict),
        cmocka_unit_test(a_bounded_number_of_attempts_gives_up_with_a_conflict),
        cmocka_unit_test(a_cancelled_optimize_commits_nothing_and_removes_its_files),
        cmocka_unit_test(a_row_count_the_file_does_not_have_is_refused_as_corrupt),
        cmocka_unit_test(a_sidecar_that_disagrees_with_the_file_is_refused_as_corrupt),
        cmocka_unit_test(a_segment_without_coverage_path_is_refused_as_corrupt),
        cmocka_unit_test(a_segment_file_of_another_schema_is_refused_as_corrupt),
        cmocka_unit_test(a_missing_segment_file_is_not_found),
        cmocka_unit_test(a_failure_at_any_io_step_leaves_the_table_as_it_was),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
