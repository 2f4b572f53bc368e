/*
 * append_overlap.c — coverage arithmetic for the append's overlap modes
 * (see append_overlap.h).
 */
#include "append_overlap.h"

#include "coverage_internal.h"
#include "fail.h"
#include "table_internal.h"

#include <stdlib.h>
#include <string.h>

/* *out = a ∩ b, in a's form (global or per entity). */
int tst_overlap_intersect(const tst_table *table, const tst_table_cov *a, const tst_table_cov *b,
                          tst_table_cov *out)
{
    int rc = tst_table_cov_new(out, tst_table_index(table));
    if (rc == 0 && a->global && b->global) {
        tst_coverage *both = NULL;
        rc = tst_coverage_intersect(&both, a->global, b->global);
        if (rc == 0)
            rc = tst_coverage_union_inplace(out->global, both);
        tst_coverage_free(both);
    }
    size_t n = a->entities && b->entities ? tst_entity_coverage_count(a->entities) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        tst_entity_identity id;
        const tst_coverage *mine = NULL, *theirs;
        tst_coverage *both = NULL, *slot = NULL;
        rc = tst_entity_coverage_at(a->entities, i, &id, &mine);
        if (rc != 0 || !(theirs = tst_entity_coverage_get(b->entities, &id)) ||
            tst_coverage_intersection_cardinality(mine, theirs) == 0)
            continue;
        rc = tst_coverage_intersect(&both, mine, theirs);
        if (rc == 0)
            rc = tst_entity_coverage_get_or_add(out->entities, &id, &slot);
        if (rc == 0)
            rc = tst_coverage_union_inplace(slot, both);
        tst_coverage_free(both);
    }
    return rc;
}

uint64_t tst_overlap_pairs(const tst_table_cov *c)
{
    return c->global ? tst_coverage_cardinality(c->global)
                     : c->entities ? tst_entity_coverage_cardinality(c->entities) : 0;
}

static int add_target(void *ctx, uint64_t first, uint64_t last)
{
    tst_overlap_targets *l = ctx;
    if (l->count == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        tst_delete_target *grown = realloc(l->items, cap * sizeof *grown);
        if (!grown)
            return tst_fail(TST_ENOMEM, "out of memory");
        l->items = grown;
        l->cap = cap;
    }
    tst_delete_target *t = &l->items[l->count];
    tst_index_value ignored;
    bool inclusive = false;
    int rc = tst_bucket_bounds(&l->spec->kind, first, &t->start, &ignored, &inclusive);
    if (rc == 0)
        rc = tst_bucket_bounds(&l->spec->kind, last, &ignored, &t->end, &inclusive);
    t->entity = l->current;
    t->entity_count = l->current ? l->spec->entity_count : 0;
    l->count += rc == 0;
    return rc;
}

int tst_overlap_targets_of(const tst_table *table, const tst_table_cov *cov,
                           tst_overlap_targets *l)
{
    memset(l, 0, sizeof *l);
    l->spec = tst_table_index(table);
    if (cov->global)
        return tst_coverage_each_run(cov->global, 0, UINT64_MAX, add_target, l);
    size_t n = tst_entity_coverage_count(cov->entities), k = l->spec->entity_count;
    l->bindings = calloc(n * k + 1, sizeof *l->bindings);
    int rc = l->bindings ? 0 : tst_fail(TST_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        tst_entity_identity id;
        const tst_coverage *c = NULL;
        rc = tst_entity_coverage_at(cov->entities, i, &id, &c);
        for (size_t j = 0; rc == 0 && j < k; j++)
            l->bindings[i * k + j] = (tst_entity_binding){l->spec->entity_columns[j],
                                                          id.values[j]};
        l->current = &l->bindings[i * k];
        if (rc == 0)
            rc = tst_coverage_each_run(c, 0, UINT64_MAX, add_target, l);
    }
    return rc;
}

void tst_overlap_targets_clear(tst_overlap_targets *l)
{
    free(l->items);
    free(l->bindings);
    memset(l, 0, sizeof *l);
}

/* Whether every bucket of `both` is the first or the last of `src`. */
static bool only_edges(const tst_coverage *src, const tst_coverage *both)
{
    uint64_t lo = 0, hi = 0;
    if (!tst_coverage_min(src, &lo) || !tst_coverage_max(src, &hi))
        return false;
    uint64_t edges = tst_coverage_contains(both, lo) +
                     (hi != lo && tst_coverage_contains(both, hi));
    return tst_coverage_cardinality(both) == edges;
}

bool tst_overlap_only_boundary(const tst_table_cov *src, const tst_table_cov *overlap)
{
    if (overlap->global)
        return only_edges(src->global, overlap->global);
    size_t n = tst_entity_coverage_count(overlap->entities);
    for (size_t i = 0; i < n; i++) {
        tst_entity_identity id;
        const tst_coverage *both = NULL, *mine;
        if (tst_entity_coverage_at(overlap->entities, i, &id, &both) != 0 ||
            !(mine = tst_entity_coverage_get(src->entities, &id)) || !only_edges(mine, both))
            return false;
    }
    return true;
}

/* "e1, e2, <index key>": what makes two rows the same (entity, index value). */
int tst_overlap_key_sql(tst_sql *t, const tst_index_spec *spec, const tst_schema *schema)
{
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < spec->entity_count; k++) {
        rc = SQL_IDENT(t, spec->entity_columns[k]);
        if (rc == 0)
            rc = SQL_F(t, ", ");
    }
    const tst_field *f = tst_schema_find(schema, spec->column);
    bool ts = f && f->type.kind == TST_TYPE_TIMESTAMP;
    if (rc == 0 && ts)
        rc = SQL_F(t, "epoch_ns(");
    if (rc == 0)
        rc = SQL_IDENT(t, spec->column);
    return rc == 0 ? SQL_F(t, "%s AS tst_key", ts ? ")" : "") : rc;
}
