/*
 * bench_coverage_raster.c — how long the coverage picture's raster takes for
 * 5,000 entities over ten years of minute buckets (docs/guide/coverage-plot.md).
 *
 * Each entity lives for a random stretch of the ten years with 50 random
 * gaps of up to a day; the raster is 672 rows x 806 columns, the default
 * picture (1000 pixels wide) for that many entities. Prints the time to
 * build the bitmaps and the best of three raster runs.
 *
 *   ./build/bench_coverage_raster [entities] [years]
 */
#include "tstable/coverage.h"
#include "tstable/coverage_plot.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t state = 88172645463325252ull;

static uint64_t rng(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 5000;
    uint64_t years = argc > 2 ? strtoul(argv[2], NULL, 10) : 10;
    uint64_t first = 28000000, span = years * 525960, last = first + span - 1;
    tst_coverage **covs = calloc(n, sizeof *covs);
    double t0 = now();
    for (size_t e = 0; e < n; e++) {
        tst_coverage_new(&covs[e]);
        uint64_t a = rng() % (span / 2), b = a + span / 4 + rng() % (span - a - span / 4);
        /* 50 gaps of up to a day, at sorted random places in [a, b) */
        uint64_t at[50];
        for (int g = 0; g < 50; g++)
            at[g] = a + rng() % (b - a);
        qsort(at, 50, sizeof at[0], cmp_u64);
        uint64_t from = a;
        for (int g = 0; g <= 50; g++) {
            uint64_t to = g < 50 ? at[g] : b;
            if (to > from)
                tst_coverage_add_range(covs[e], first + from, first + to - 1);
            if (g < 50)
                from = to + 1 + rng() % 1440 > from ? to + 1 + rng() % 1440 : from;
        }
        tst_coverage_optimize(covs[e]);
    }
    double t1 = now();
    size_t rows = n < 672 ? n : 672, cols = span < 806 ? (size_t)span : 806;
    double *out = malloc(rows * cols * sizeof *out), best = 1e9;
    for (int run = 0; run < 3; run++) {
        double s = now();
        if (tst_coverage_raster_fill((const tst_coverage *const *)covs, n, first, last, rows, cols,
                                     out) != 0)
            return 1;
        best = now() - s < best ? now() - s : best;
    }
    printf("entities %zu, buckets %llu (%llu years of minutes), raster %zux%zu\n", n,
           (unsigned long long)span, (unsigned long long)years, rows, cols);
    printf("bitmaps built in %.3f s; raster best of 3: %.3f s\n", t1 - t0, best);
    for (size_t e = 0; e < n; e++)
        tst_coverage_free(covs[e]);
    free(covs);
    free(out);
    return 0;
}
