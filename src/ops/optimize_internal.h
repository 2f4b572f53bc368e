/*
 * optimize_internal.h — what optimize.c (the entity layout) and compact.c
 * (compaction) share, and a test hook into their commit loops.
 *
 * As append_internal.h does for appends: a test runs another writer's
 * commit right before an optimize's commit attempt, to test the rebase and
 * conflict paths deterministically. NULL (the default) costs one branch.
 */
#ifndef TST_OPTIMIZE_INTERNAL_H
#define TST_OPTIMIZE_INTERNAL_H

#include "source.h"
#include "tstable/optimize.h"

/* Compaction (compact.c): tst_table_optimize in TST_OPTIMIZE_COMPACT mode. */
int tst_optimize_compact(tst_table *table, const tst_optimize_options *opts,
                         tst_optimize_report *out);

/* "(SELECT * FROM <src> WHERE e1 = v1 AND ...)": the rows of one identity of
 * a source, malloc'd into *out. */
int tst_optimize_identity_relation(tst_table *table, const tst_source *src,
                                   const tst_entity_identity *id, char **out);

/* Runs before each commit attempt of either mode (NULL: nothing). */
typedef void (*tst_optimize_hook_fn)(void *ctx, unsigned attempt);
extern tst_optimize_hook_fn tst_optimize_before_commit_hook;
extern void *tst_optimize_before_commit_ctx;

#endif
