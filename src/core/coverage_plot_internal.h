/*
 * coverage_plot_internal.h — the picture's geometry, shared by the raster
 * (coverage_raster.c sizes the raster for the plot area) and the renderer
 * (coverage_plot.c draws it there).
 */
#ifndef TST_COVERAGE_PLOT_INTERNAL_H
#define TST_COVERAGE_PLOT_INTERNAL_H

#include <stddef.h>

/* The plot area (w x h pixels) inside a picture of width x height. */
void tst_coverage_plot_area(unsigned width, unsigned height, unsigned *w, unsigned *h);
/* The default picture height for this many entities: 14 px a row, 40..672 px of plot. */
unsigned tst_coverage_plot_default_height(size_t entities);

#endif
