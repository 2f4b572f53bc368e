/*
 * test_coverage_raster.c — tst_coverage_raster_fill against a naive model.
 *
 * The model keeps one byte per (entity, bucket) and sums a cell's slots by
 * walking them; the raster must give the same fraction exactly (both divide
 * the same integers). Random coverage mixes runs and single buckets, and
 * the shapes cover the edges of aggregation: one entity, 5,000 entities in
 * 672 rows, one bucket, uneven divisions (7 buckets in 3 columns), ranges
 * that straddle a 2^32 partition, and ten years of minute buckets.
 */
#include "testsupport.h"

#include "tstable/coverage.h"
#include "tstable/coverage_plot.h"
#include "tstable/error.h"

#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

typedef struct world {
    size_t n;
    uint64_t first, span;
    uint8_t *slots; /* n * span */
    tst_coverage **covs;
} world;

/* Each entity: random runs and points, some entities empty. */
static void world_make(world *w, size_t n, uint64_t first, uint64_t span, uint64_t seed)
{
    rng_state = seed;
    w->n = n;
    w->first = first;
    w->span = span;
    w->slots = calloc(n * span, 1);
    w->covs = calloc(n, sizeof *w->covs);
    assert_non_null(w->slots);
    for (size_t e = 0; e < n; e++) {
        assert_int_equal(tst_coverage_new(&w->covs[e]), 0);
        if (rng() % 7 == 0)
            continue; /* an entity with nothing */
        size_t pieces = 1 + rng() % 6;
        for (size_t p = 0; p < pieces; p++) {
            uint64_t a = rng() % span, len = rng() % 3 == 0 ? 1 : 1 + rng() % (span / 3 + 1);
            uint64_t b = a + len - 1 < span ? a + len - 1 : span - 1;
            assert_int_equal(tst_coverage_add_range(w->covs[e], first + a, first + b), 0);
            memset(w->slots + e * span + a, 1, b - a + 1);
        }
    }
    /* a bucket just outside the range must not count */
    if (first > 0)
        assert_int_equal(tst_coverage_add(w->covs[0], first - 1), 0);
}

static void world_free(world *w)
{
    for (size_t e = 0; e < w->n; e++)
        tst_coverage_free(w->covs[e]);
    free(w->covs);
    free(w->slots);
}

static double naive_cell(const world *w, size_t rows, size_t cols, size_t r, size_t c)
{
    size_t e0 = w->n * r / rows, e1 = w->n * (r + 1) / rows;
    uint64_t b0 = (uint64_t)((unsigned __int128)w->span * c / cols);
    uint64_t b1 = (uint64_t)((unsigned __int128)w->span * (c + 1) / cols);
    uint64_t sum = 0;
    for (size_t e = e0; e < e1; e++)
        for (uint64_t b = b0; b < b1; b++)
            sum += w->slots[e * w->span + b];
    return (double)sum / ((double)(b1 - b0) * (double)(e1 - e0));
}

static void check(size_t n, uint64_t first, uint64_t span, size_t rows, size_t cols, uint64_t seed)
{
    world w;
    world_make(&w, n, first, span, seed);
    double *out = calloc(rows * cols, sizeof *out);
    assert_int_equal(tst_coverage_raster_fill((const tst_coverage *const *)w.covs, n, first,
                                              first + span - 1, rows, cols, out),
                     0);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            double want = naive_cell(&w, rows, cols, r, c);
            if (out[r * cols + c] != want)
                fail_msg("cell (%zu, %zu) of %zux%zu: %.17g, the model says %.17g", r, c, rows,
                         cols, out[r * cols + c], want);
        }
    free(out);
    world_free(&w);
}

static void random_coverage_matches_the_model_cell_by_cell(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        size_t n = 1 + seed % 9, rows = 1 + seed % n;
        check(n, 1000 + seed * 37, 50 + seed * 61, rows, 1 + seed * 13 % 50, seed);
    }
}

static void one_entity_one_row_and_every_bucket_its_own_column(void **state)
{
    (void)state;
    check(1, 10, 300, 1, 300, 7);
    check(1, 10, 300, 1, 1, 8);
}

static void one_bucket_is_one_cell(void **state)
{
    (void)state;
    check(3, 5, 1, 3, 1, 9);
    check(3, 5, 1, 1, 1, 10);
}

static void uneven_divisions_put_the_extra_bucket_and_entity_where_floor_says(void **state)
{
    (void)state;
    check(7, 0, 7, 3, 3, 11);
    check(10, 100, 23, 4, 5, 12);
    check(13, 100, 1000, 6, 999, 13);
}

static void five_thousand_entities_aggregate_into_672_rows(void **state)
{
    (void)state;
    check(5000, 1u << 20, 40, 672, 17, 14);
}

static void a_range_across_a_2_to_the_32_partition_counts_both_sides(void **state)
{
    (void)state;
    check(4, (1ull << 32) - 150, 300, 2, 7, 15);
}

/* Ten years of minutes: the fractions of 5,259,600 buckets in 1,000 columns. */
static void ten_years_of_minutes_match_the_model(void **state)
{
    (void)state;
    check(3, 28000000, 5259600, 3, 1000, 16);
}

static void rows_or_columns_that_do_not_fit_are_refused_with_a_message(void **state)
{
    (void)state;
    tst_coverage *cov = NULL;
    assert_int_equal(tst_coverage_new(&cov), 0);
    const tst_coverage *covs[1] = {cov};
    double out[8];
    assert_int_equal(tst_coverage_raster_fill(covs, 1, 0, 9, 2, 1, out), TST_EINVAL);
    assert_non_null(strstr(tst_error_last()->message, "do not fit"));
    assert_int_equal(tst_coverage_raster_fill(covs, 1, 0, 3, 1, 5, out), TST_EINVAL);
    assert_int_equal(tst_coverage_raster_fill(covs, 1, 0, 3, 0, 1, out), TST_EINVAL);
    assert_int_equal(tst_coverage_raster_fill(covs, 1, 5, 3, 1, 1, out), TST_EINVAL);
    assert_int_equal(tst_coverage_raster_fill(covs, 1, 0, UINT64_MAX, 1, 1, out), TST_EINVAL);
    assert_int_equal(tst_coverage_raster_fill(covs, 1, 0, 3, 1, 4, out), 0);
    for (int i = 0; i < 4; i++)
        assert_true(out[i] == 0.0);
    tst_coverage_free(cov);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_coverage_matches_the_model_cell_by_cell),
        cmocka_unit_test(one_entity_one_row_and_every_bucket_its_own_column),
        cmocka_unit_test(one_bucket_is_one_cell),
        cmocka_unit_test(uneven_divisions_put_the_extra_bucket_and_entity_where_floor_says),
        cmocka_unit_test(five_thousand_entities_aggregate_into_672_rows),
        cmocka_unit_test(a_range_across_a_2_to_the_32_partition_counts_both_sides),
        cmocka_unit_test(ten_years_of_minutes_match_the_model),
        cmocka_unit_test(rows_or_columns_that_do_not_fit_are_refused_with_a_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
