/*
 * append_overlap.h — coverage arithmetic for the append's overlap modes
 * (tstable/append.h, on_overlap and allow_boundary_overlap).
 *
 * What a skip, a replace and a boundary check share: the pairs a source
 * shares with the table, their count, their runs of buckets as (entity,
 * [start, end)) targets for delete_plan.h (whose predicate filters a skip's
 * source and whose planner finds a replace's or a boundary check's
 * segments), whether the shared pairs are only each entity's first or last
 * source bucket, and the SQL key that makes two rows the same (entity,
 * index value). No I/O here; append.c reads top to bottom with these.
 */
#ifndef TST_APPEND_OVERLAP_H
#define TST_APPEND_OVERLAP_H

#include "duck.h"
#include "model.h"
#include "sidecar.h"
#include "tstable/delete.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* (entity, range) targets for tst_delete_plan_build / _predicate: one per run
 * of buckets of each identity, on bucket edges. */
typedef struct tst_overlap_targets {
    const tst_index_spec *spec;
    tst_delete_target *items;
    size_t count, cap;
    tst_entity_binding *bindings; /* entity_count per identity, for items' entity */
    const tst_entity_binding *current;
} tst_overlap_targets;

/* *out = a ∩ b, in a's form (global or per entity); *out must be empty (cleared or
 * zeroed) on entry, and is cleared by the caller after. */
int tst_overlap_intersect(const tst_table *table, const tst_table_cov *a, const tst_table_cov *b,
                          tst_table_cov *out);

/* The (entity, bucket) pairs of c. */
uint64_t tst_overlap_pairs(const tst_table_cov *c);

/* One target per run of buckets of each identity of cov, into l (cleared first). */
int tst_overlap_targets_of(const tst_table *table, const tst_table_cov *cov,
                           tst_overlap_targets *l);
void tst_overlap_targets_clear(tst_overlap_targets *l);

/* Whether every pair of overlap is its entity's first or last bucket in src. */
bool tst_overlap_only_boundary(const tst_table_cov *src, const tst_table_cov *overlap);

/* "e1, e2, <index as an integer> AS tst_key" for SELECT DISTINCT and a join USING. */
int tst_overlap_key_sql(tst_sql *t, const tst_index_spec *spec, const tst_schema *schema);

#endif
