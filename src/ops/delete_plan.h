/*
 * delete_plan.h — the removal of (entity, range) pairs from a table, planned
 * and staged but not committed: what tst_table_delete_rows commits, and what
 * a replace-on-append can commit together with its own segments.
 *
 * A plan is built at the handle's version: the targets are checked (bucket
 * alignment, known identities), the live segments holding rows of the
 * targets are found from their coverage sidecars, and each segment that
 * keeps some rows is rewritten without the others (files under
 * data/_staged/<op>-rewrite/ and _coverage/segments/). The plan then hands
 * out its actions (RemoveSegment for a segment removed whole, RemoveSegment
 * + AddSegment for a rewrite, in the handle's segment order), the paths
 * that must stay live for the actions to fit after another writer's commit
 * (rewrite.h's rebase rule), and the (entity, bucket) pairs it uncovers, to
 * take out of the table's coverage snapshot. The caller writes the snapshot
 * and commits; on failure it rolls the plan back (removes what it wrote).
 */
#ifndef TST_DELETE_PLAN_H
#define TST_DELETE_PLAN_H

#include "model.h"
#include "rewrite.h"
#include "sidecar.h"
#include "tstable/delete.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One live segment the plan removes or replaces. */
typedef struct tst_delete_item {
    char *path;            /* the live segment (copied) */
    uint64_t rows;         /* its rows, as the log says */
    bool rewrite;          /* false: removed whole */
    tst_table_cov hit;     /* its (entity, bucket) pairs inside the targets */
    tst_table_cov rest;    /* the others: what its rewrite must cover */
    tst_rewrite_piece piece; /* the rewrite */
} tst_delete_item;

/* One target, resolved against the table. */
typedef struct tst_delete_span {
    tst_entity_value *identity; /* entity_columns order, utf8 bytes borrowed; NULL: every entity */
    tst_index_value start, end;
    uint64_t first, last;       /* its buckets, inclusive */
} tst_delete_span;

typedef struct tst_delete_plan {
    tst_table *table;
    const char *op;       /* "delete": messages and the rewrite folder */
    const char *root;
    const tst_cancel *cancel;
    tst_delete_span *spans;
    size_t span_count;
    tst_delete_item *items; /* in the handle's segment order */
    size_t count;
    tst_table_cov doomed;   /* every pair the plan uncovers (the union of the hits) */
    char attempt_uuid[37];
    uint64_t rows_deleted, segments_removed, segments_rewritten;
} tst_delete_plan;

/*
 * Builds the plan for the targets at the handle's version and writes the
 * rewrites. `op` names the operation in messages. Nothing matching leaves
 * count 0 (and nothing written). Errors as tst_table_delete_rows; on failure
 * the plan has removed what it wrote (clear it still).
 */
int tst_delete_plan_build(tst_delete_plan *plan, tst_table *table, const char *op,
                          const tst_delete_target *targets, size_t count,
                          const tst_cancel *cancel);

/* The first half of tst_delete_plan_build: the targets checked and the live
 * segments holding their rows found (items, doomed), nothing written. An
 * append accepting a partly covered boundary bucket reads those segments
 * to look for colliding rows. Clear the plan afterwards. */
int tst_delete_plan_find(tst_delete_plan *plan, tst_table *table, const char *op,
                         const tst_delete_target *targets, size_t count);

/*
 * The SQL predicate true for a row of the targets (the rows a plan for them
 * would remove), checked as tst_delete_plan_build checks them, into *out
 * (malloc'd). An append skipping what the table covers filters its source
 * with NOT this.
 */
int tst_delete_targets_predicate(tst_table *table, const char *op,
                                 const tst_delete_target *targets, size_t count, char **out);

/* The number of actions (one or two per item) and the actions themselves,
 * into out[that many]; pointers borrowed from the plan. */
size_t tst_delete_plan_action_count(const tst_delete_plan *plan);
void tst_delete_plan_fill_actions(const tst_delete_plan *plan, tst_action *out);

/* The paths of the segments the plan removes, into out[plan->count]
 * (borrowed): rewrite.h's `replaced`. */
void tst_delete_plan_replaced(const tst_delete_plan *plan, char **out);

/* *out = cov less the plan's pairs, identities left empty dropped. */
int tst_delete_plan_uncover(const tst_delete_plan *plan, const tst_table_cov *cov,
                            tst_table_cov *out);

/* The number of (entity, bucket) pairs the plan uncovers. */
uint64_t tst_delete_plan_pairs(const tst_delete_plan *plan);

/* Removes the files the plan wrote. */
void tst_delete_plan_roll_back(tst_delete_plan *plan);
/* Frees the plan (not its files). */
void tst_delete_plan_clear(tst_delete_plan *plan);

#endif
