/*
 * tstable/coverage_plot.h — a picture of a table's coverage.
 *
 * One row per entity, time (the index) along the x axis, each pixel
 * coloured by the fraction of its buckets that hold data: a sequential
 * scale from light to dark blue, and missing data (0% covered) in orange.
 *
 * Two steps, each usable alone:
 *   1. the raster: rows x cols covered fractions. Row r aggregates the
 *      entities [r*n/rows, (r+1)*n/rows) (n entities in canonical order),
 *      column c the buckets [first + c*span/cols, first + (c+1)*span/cols)
 *      (floor division, span = last - first + 1). A cell's fraction is its
 *      covered (entity, bucket) slots over all of its slots, exact. It is
 *      computed with Roaring range cardinalities, one per entity and column,
 *      never by visiting buckets: ten years of minute buckets cost what ten
 *      days do.
 *   2. the picture: SVG (text, with title, entity names, axis labels in the
 *      index's units and a legend) or PNG (8-bit palette, the same layout
 *      and the same text, drawn in a built-in 5x7 pixel font: ASCII, plus
 *      a box for any other character of a name). Returned as a buffer the
 *      caller frees with free(); the library writes no file.
 *
 * Thread-safety: like other calls on one table handle; a finished raster is
 * read-only and may be shared.
 */
#ifndef TSTABLE_COVERAGE_PLOT_H
#define TSTABLE_COVERAGE_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "tstable/coverage.h"
#include "tstable/index.h"
#include "tstable/table_coverage.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Step 1 on bare bitmaps: fills out[r * cols + c] (rows * cols doubles) for
 * n coverages over the buckets [first, last]. Needs 1 <= rows <= n and
 * 1 <= cols <= last - first + 1 (TST_EINVAL otherwise; the domain-wide span
 * of 2^64 buckets is refused too).
 */
int tst_coverage_raster_fill(const tst_coverage *const *covs, size_t n, uint64_t first,
                             uint64_t last, size_t rows, size_t cols, double *out);

/* What to plot and how big. */
typedef struct tst_coverage_plot_options {
    const tst_index_value *start; /* NULL: the first covered bucket of the selection */
    const tst_index_value *end;   /* NULL: just past the last covered bucket */
    /* Entity filter: an entity is kept when, for every column named here, its
     * value equals one of the values given for that column (repeat a column
     * for several values). NULL/0: every entity. */
    const tst_entity_binding *entity;
    size_t entity_count;
    unsigned width;  /* pixels; 0: 1000 */
    unsigned height; /* pixels; 0: grows with the entity count, up to 800 */
    const char *title; /* NULL: "coverage of <table folder name>" */
    /* A calendar (tstable/calendar.h), or NULL: a cell's fraction is then its
     * covered expected slots over its expected slots, and a cell the calendar
     * expects nothing of (a night, a weekend) is NaN and drawn neutral grey.
     * A timestamp index only. */
    const tst_calendar *calendar;
} tst_coverage_plot_options;

#define TST_COVERAGE_PLOT_OPTIONS_INIT {NULL, NULL, NULL, 0, 0, 0, NULL, NULL}

typedef struct tst_coverage_raster tst_coverage_raster;

/*
 * Computes the raster of the table (step 1) sized for the picture the
 * options describe: cols = min(plot width, buckets), rows = min(plot
 * height, entities). TST_EINVAL for an empty selection (no entity matches,
 * or nothing covered and no range given), a range with start >= end, or a
 * picture too small (under 240 x 140 pixels; the plot area is the picture
 * less 194 x 128 of margins). Free with tst_coverage_raster_free.
 */
int tst_table_coverage_raster(tst_table *table, const tst_coverage_plot_options *opts,
                              tst_coverage_raster **out);
void tst_coverage_raster_free(tst_coverage_raster *r);

size_t tst_coverage_raster_rows(const tst_coverage_raster *r);
size_t tst_coverage_raster_cols(const tst_coverage_raster *r);
/* rows * cols fractions in [0, 1], row-major, NaN where a calendar expects
 * nothing; borrowed. */
const double *tst_coverage_raster_fractions(const tst_coverage_raster *r);
size_t tst_coverage_raster_entity_count(const tst_coverage_raster *r);
/* The entities row r aggregates: [*first, *first + *count). */
void tst_coverage_raster_row_entities(const tst_coverage_raster *r, size_t row, size_t *first,
                                      size_t *count);
/* Entity i as "NVDA" or "NVDA,XNAS" ("(table)" without entity columns); borrowed. */
const char *tst_coverage_raster_entity_name(const tst_coverage_raster *r, size_t i);
/* The plotted range: start of the first bucket, end of the last (exclusive). */
void tst_coverage_raster_range(const tst_coverage_raster *r, tst_index_value *start,
                               tst_index_value *end);
/* Buckets of the range, and the title the picture will carry (borrowed). */
uint64_t tst_coverage_raster_buckets(const tst_coverage_raster *r);
const char *tst_coverage_raster_title(const tst_coverage_raster *r);
/* The picture's size in pixels, as asked for (or defaulted). */
void tst_coverage_raster_size(const tst_coverage_raster *r, unsigned *width, unsigned *height);

typedef enum tst_plot_format { TST_PLOT_SVG = 1, TST_PLOT_PNG = 2 } tst_plot_format;

/* Step 2: the picture of a raster as a malloc'ed buffer (*out, *len; SVG is
 * NUL-terminated, len excludes the NUL). The caller frees *out. */
int tst_coverage_raster_render(const tst_coverage_raster *r, tst_plot_format format,
                               uint8_t **out, size_t *len);

/* Both steps. */
int tst_table_coverage_plot(tst_table *table, const tst_coverage_plot_options *opts,
                            tst_plot_format format, uint8_t **out, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
