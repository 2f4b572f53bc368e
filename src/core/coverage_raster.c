/*
 * coverage_raster.c — per-pixel covered fractions for a coverage picture
 * (tstable/coverage_plot.h, step 1).
 *
 * The workload: up to thousands of entities over years of minute buckets,
 * drawn into a thousand columns. A cell's fraction is summed from one
 * Roaring range cardinality per (entity, column), so the cost is entities x
 * columns x (containers touched), never the number of buckets. An entity
 * whose bitmap misses the range entirely (min/max outside it) costs nothing
 * beyond that check.
 *
 * Column and row edges are floor(i * total / parts), so every column holds
 * span/cols or one more bucket, and every row n/rows or one more entity;
 * edges are computed in 128 bits because span * cols can pass 2^64.
 */
#include "tstable/coverage_plot.h"

#include "tstable/calendar.h"

#include "coverage_plot_internal.h"
#include "fail.h"
#include "model.h"
#include "sidecar.h"
#include "table_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

struct tst_coverage_raster {
    size_t rows, cols, entities;
    unsigned width, height;
    double *fraction;
    char **names;
    uint64_t first, last;
    tst_index_value start, end;
    char title[512];
};

static uint64_t edge(uint64_t first, uint64_t span, size_t i, size_t parts)
{
    return first + (uint64_t)((u128)span * i / parts);
}

/* Adds entity cov's covered counts per column into sums[0..cols). */
static void add_entity(const tst_coverage *cov, uint64_t first, uint64_t span, size_t cols,
                       uint64_t *sums)
{
    uint64_t lo = 0, hi = 0;
    if (!tst_coverage_min(cov, &lo) || !tst_coverage_max(cov, &hi))
        return;
    for (size_t c = 0; c < cols; c++) {
        uint64_t a = edge(first, span, c, cols), b = edge(first, span, c + 1, cols) - 1;
        if (b < lo || a > hi)
            continue;
        sums[c] += tst_coverage_count_range(cov, a, b);
    }
}

/* The slots of each column: its width, or its expected buckets. */
static void column_slots(const tst_coverage *expected, uint64_t first, uint64_t span, size_t cols,
                         uint64_t *slots)
{
    for (size_t c = 0; c < cols; c++) {
        uint64_t a = edge(first, span, c, cols), b = edge(first, span, c + 1, cols);
        slots[c] = expected ? tst_coverage_count_range(expected, a, b - 1) : b - a;
    }
}

/* Like add_entity, counting only expected buckets. */
static int add_expected(const tst_coverage *cov, const tst_coverage *expected, uint64_t first,
                        uint64_t span, size_t cols, uint64_t *sums)
{
    if (!expected) {
        add_entity(cov, first, span, cols, sums);
        return 0;
    }
    tst_coverage *both = NULL;
    int rc = tst_coverage_intersect(&both, cov, expected);
    if (rc == 0)
        add_entity(both, first, span, cols, sums);
    tst_coverage_free(both);
    return rc;
}

static int raster_fill(const tst_coverage *const *covs, size_t n, const tst_coverage *expected,
                       uint64_t first, uint64_t last, size_t rows, size_t cols, double *out);

int tst_coverage_raster_fill(const tst_coverage *const *covs, size_t n, uint64_t first,
                             uint64_t last, size_t rows, size_t cols, double *out)
{
    return raster_fill(covs, n, NULL, first, last, rows, cols, out);
}

static int raster_fill(const tst_coverage *const *covs, size_t n, const tst_coverage *expected,
                       uint64_t first, uint64_t last, size_t rows, size_t cols, double *out)
{
    if (!covs || !out || last < first || last - first == UINT64_MAX)
        return tst_fail(TST_EINVAL, "coverage raster: no coverages, no output, or a range "
                                    "that is empty or spans the whole bucket domain");
    uint64_t span = last - first + 1;
    if (rows < 1 || rows > n || cols < 1 || cols > span)
        return tst_fail(TST_EINVAL,
                        "coverage raster: %zu rows x %zu columns do not fit %zu entities x "
                        "%llu buckets (need 1 <= rows <= entities, 1 <= columns <= buckets)",
                        rows, cols, n, (unsigned long long)span);
    uint64_t *sums = malloc(cols * sizeof *sums), *slots = malloc(cols * sizeof *slots);
    if (!sums || !slots) {
        free(sums), free(slots);
        return tst_fail(TST_ENOMEM, "out of memory for a coverage raster of %zu columns", cols);
    }
    column_slots(expected, first, span, cols, slots);
    int rc = 0;
    for (size_t r = 0; rc == 0 && r < rows; r++) {
        size_t e0 = (size_t)((u128)n * r / rows), e1 = (size_t)((u128)n * (r + 1) / rows);
        memset(sums, 0, cols * sizeof *sums);
        for (size_t e = e0; rc == 0 && e < e1; e++)
            rc = add_expected(covs[e], expected, first, span, cols, sums);
        for (size_t c = 0; c < cols; c++)
            out[r * cols + c] = slots[c] ? (double)sums[c] / ((double)slots[c] * (double)(e1 - e0))
                                         : NAN; /* nothing expected: neither covered nor a gap */
    }
    free(sums);
    free(slots);
    return rc;
}

/* ---- the table's selection ---------------------------------------------- */

typedef struct selection {
    const tst_coverage **covs;
    char **names;
    size_t count;
} selection;

static void selection_free(selection *s)
{
    for (size_t i = 0; s->names && i < s->count; i++)
        free(s->names[i]);
    free(s->names);
    free(s->covs);
}

static int column_of(const tst_table *t, const char *column, size_t *out)
{
    const tst_index_spec *spec = &t->state.meta.index;
    for (size_t j = 0; column && j < spec->entity_count; j++)
        if (strcmp(spec->entity_columns[j], column) == 0) {
            *out = j;
            return 0;
        }
    return tst_fail(TST_EINVAL, "coverage plot: \"%s\" is not an entity column of table %s",
                    column ? column : "(null)", t->root);
}

static int check_filter(const tst_table *t, const tst_coverage_plot_options *o)
{
    if (o->entity_count == 0)
        return 0;
    if (!o->entity || t->state.meta.index.entity_count == 0)
        return tst_fail(TST_EINVAL, "coverage plot: table %s has no entity columns to filter "
                                    "on (or the bindings are NULL)",
                        t->root);
    for (size_t i = 0; i < o->entity_count; i++) {
        size_t j = 0;
        int rc = column_of(t, o->entity[i].column, &j);
        if (rc != 0)
            return rc;
        const tst_field *f = tst_schema_find(t->state.meta.schema, o->entity[i].column);
        tst_entity_type want = f ? tst_entity_type_of(&f->type) : (tst_entity_type)0;
        if (o->entity[i].value.type != want)
            return tst_fail(TST_EINVAL, "coverage plot: entity column \"%s\" of table %s is %s, "
                                        "but the value given is %s",
                            o->entity[i].column, t->root, tst_entity_type_name(want),
                            tst_entity_type_name(o->entity[i].value.type));
    }
    return 0;
}

static bool value_is(const tst_entity_value *a, const tst_entity_value *b)
{
    tst_entity_identity x = {1, a}, y = {1, b};
    return tst_entity_identity_compare(&x, &y) == 0;
}

/* For each column named in the filter, the identity's value is one given. */
static bool kept(const tst_table *t, const tst_coverage_plot_options *o,
                 const tst_entity_identity *id)
{
    for (size_t i = 0; i < o->entity_count; i++) {
        size_t j = 0, ignored = 0;
        column_of(t, o->entity[i].column, &j);
        bool any = false;
        for (size_t k = 0; k < o->entity_count && !any; k++)
            any = column_of(t, o->entity[k].column, &ignored) == 0 && ignored == j &&
                  value_is(&id->values[j], &o->entity[k].value);
        if (!any)
            return false;
    }
    return true;
}

static int add_selected(selection *s, const tst_coverage *cov, const tst_entity_identity *id)
{
    char name[512];
    if (id)
        tst_entity_identity_format(id, name, sizeof name);
    else
        snprintf(name, sizeof name, "(table)");
    s->names[s->count] = strdup(name);
    if (!s->names[s->count])
        return tst_fail(TST_ENOMEM, "out of memory naming entities");
    s->covs[s->count++] = cov;
    return 0;
}

static int select_entities(tst_table *t, const tst_coverage_plot_options *o, selection *s)
{
    const tst_table_cov *tc = NULL;
    int rc = check_filter(t, o);
    if (rc == 0)
        rc = tst_table_load_coverage(t, &tc);
    if (rc != 0)
        return rc;
    size_t n = tc->entities ? tst_entity_coverage_count(tc->entities) : 1;
    s->covs = calloc(n ? n : 1, sizeof *s->covs);
    s->names = calloc(n ? n : 1, sizeof *s->names);
    if (!s->covs || !s->names)
        return tst_fail(TST_ENOMEM, "out of memory selecting %zu entities", n);
    if (!tc->entities)
        return add_selected(s, tc->global, NULL);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        tst_entity_identity id;
        const tst_coverage *cov = NULL;
        rc = tst_entity_coverage_at(tc->entities, i, &id, &cov);
        if (rc == 0 && kept(t, o, &id))
            rc = add_selected(s, cov, &id);
    }
    if (rc == 0 && s->count == 0)
        rc = tst_fail(TST_EINVAL, "coverage plot: no entity of table %s matches the filter",
                      t->root);
    return rc;
}

/* Without start/end: the selection's own covered extent. */
static int pick_range(tst_table *t, const tst_coverage_plot_options *o, const selection *s,
                      uint64_t *first, uint64_t *last)
{
    bool any = false;
    uint64_t lo = UINT64_MAX, hi = 0, v = 0;
    for (size_t i = 0; i < s->count; i++) {
        if (tst_coverage_min(s->covs[i], &v)) {
            any = true;
            lo = v < lo ? v : lo;
        }
        if (tst_coverage_max(s->covs[i], &v))
            hi = v > hi ? v : hi;
    }
    if ((!o->start || !o->end) && !any)
        return tst_fail(TST_EINVAL, "coverage plot: table %s covers nothing yet; give a "
                                    "start and an end to plot an empty range",
                        t->root);
    *first = lo;
    *last = hi;
    if (o->start && o->end) {
        int rc = tst_bucket_range(&t->state.meta.index.kind, o->start, o->end, first, last);
        return rc != 0 ? tst_fail_context(rc, "coverage plot of table %s", t->root) : 0;
    }
    const tst_index_kind *kind = &t->state.meta.index.kind;
    uint64_t b = 0;
    int rc = 0;
    if (o->start && (rc = tst_bucket_of(kind, o->start, &b)) == 0)
        *first = b;
    if (rc == 0 && o->end) {
        uint64_t unused = 0;
        tst_index_value lo_v;
        bool incl = false;
        rc = tst_bucket_bounds(kind, *first, &lo_v, &lo_v, &incl);
        if (rc == 0)
            rc = tst_bucket_range(kind, &lo_v, o->end, &unused, last);
    }
    if (rc != 0)
        return tst_fail_context(rc, "coverage plot of table %s", t->root);
    if (*last < *first)
        return tst_fail(TST_EINVAL, "coverage plot: nothing of table %s is covered on that side "
                                    "of the %s given; give both --start and --end",
                        t->root, o->start ? "start" : "end");
    return 0;
}

/* ---- the raster object --------------------------------------------------- */


static void title_of(const tst_table *t, const tst_coverage_plot_options *o, char *buf,
                     size_t cap)
{
    if (o->title) {
        snprintf(buf, cap, "%s", o->title);
        return;
    }
    const char *slash = strrchr(t->root, '/');
    const char *name = slash && slash[1] ? slash + 1 : t->root;
    snprintf(buf, cap, "coverage of %s", name);
}

static int raster_build(tst_table *t, const tst_coverage_plot_options *o, selection *s,
                        tst_coverage_raster *r)
{
    unsigned width = o->width ? o->width : 1000;
    unsigned height = o->height ? o->height : tst_coverage_plot_default_height(s->count);
    unsigned w = 0, h = 0;
    if (width < 240 || height < 140 || width > 20000 || height > 20000)
        return tst_fail(TST_EINVAL, "coverage plot: %ux%u pixels is outside 240x140 .. "
                                    "20000x20000",
                        width, height);
    tst_coverage_plot_area(width, height, &w, &h);
    r->width = width;
    r->height = height;
    int rc = pick_range(t, o, s, &r->first, &r->last);
    if (rc == 0 && r->last - r->first == UINT64_MAX)
        rc = tst_fail(TST_EINVAL, "coverage plot: the range spans the whole bucket domain");
    if (rc != 0)
        return rc;
    uint64_t span = r->last - r->first + 1;
    r->entities = s->count;
    r->rows = s->count < h ? s->count : h;
    r->cols = span < w ? (size_t)span : w;
    r->fraction = calloc(r->rows * r->cols, sizeof *r->fraction);
    if (!r->fraction)
        return tst_fail(TST_ENOMEM, "out of memory for a %zux%zu raster", r->rows, r->cols);
    tst_coverage *expected = NULL;
    if (o->calendar)
        rc = tst_calendar_expected(&expected, o->calendar, &t->state.meta.index.kind, r->first,
                                   r->last);
    if (rc == 0)
        rc = raster_fill(s->covs, s->count, expected, r->first, r->last, r->rows, r->cols,
                         r->fraction);
    tst_coverage_free(expected);
    bool incl = false;
    tst_index_value ignored;
    if (rc == 0)
        rc = tst_bucket_bounds(&t->state.meta.index.kind, r->first, &r->start, &ignored, &incl);
    if (rc == 0)
        rc = tst_bucket_bounds(&t->state.meta.index.kind, r->last, &ignored, &r->end, &incl);
    title_of(t, o, r->title, sizeof r->title);
    return rc;
}

int tst_table_coverage_raster(tst_table *t, const tst_coverage_plot_options *opts,
                              tst_coverage_raster **out)
{
    tst_coverage_plot_options defaults = TST_COVERAGE_PLOT_OPTIONS_INIT;
    const tst_coverage_plot_options *o = opts ? opts : &defaults;
    if (!t || !out)
        return tst_fail(TST_EINVAL, "coverage plot: table or output is NULL");
    if (t->stale)
        return tst_fail(TST_EINVAL, "table %s: the handle failed to refresh; refresh it first",
                        t->root);
    selection s = {0};
    tst_coverage_raster *r = calloc(1, sizeof *r);
    int rc = r ? select_entities(t, o, &s) : tst_fail(TST_ENOMEM, "out of memory");
    if (rc == 0)
        rc = raster_build(t, o, &s, r);
    if (rc == 0) {
        r->names = s.names; /* the raster keeps the names */
        s.names = NULL;
        *out = r;
    } else {
        tst_coverage_raster_free(r);
    }
    selection_free(&s);
    return rc;
}

void tst_coverage_raster_free(tst_coverage_raster *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->names && i < r->entities; i++)
        free(r->names[i]);
    free(r->names);
    free(r->fraction);
    free(r);
}

size_t tst_coverage_raster_rows(const tst_coverage_raster *r)
{
    return r->rows;
}

size_t tst_coverage_raster_cols(const tst_coverage_raster *r)
{
    return r->cols;
}

const double *tst_coverage_raster_fractions(const tst_coverage_raster *r)
{
    return r->fraction;
}

size_t tst_coverage_raster_entity_count(const tst_coverage_raster *r)
{
    return r->entities;
}

void tst_coverage_raster_row_entities(const tst_coverage_raster *r, size_t row, size_t *first,
                                      size_t *count)
{
    size_t a = (size_t)((u128)r->entities * row / r->rows);
    size_t b = (size_t)((u128)r->entities * (row + 1) / r->rows);
    *first = a;
    *count = b - a;
}

const char *tst_coverage_raster_entity_name(const tst_coverage_raster *r, size_t i)
{
    return i < r->entities ? r->names[i] : NULL;
}

void tst_coverage_raster_range(const tst_coverage_raster *r, tst_index_value *start,
                               tst_index_value *end)
{
    *start = r->start;
    *end = r->end;
}

uint64_t tst_coverage_raster_buckets(const tst_coverage_raster *r)
{
    return r->last - r->first + 1;
}

const char *tst_coverage_raster_title(const tst_coverage_raster *r)
{
    return r->title;
}

void tst_coverage_raster_size(const tst_coverage_raster *r, unsigned *width, unsigned *height)
{
    *width = r->width;
    *height = r->height;
}
