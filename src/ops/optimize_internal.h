/*
 * optimize_internal.h — a test hook into the optimize's commit loop.
 *
 * As append_internal.h does for appends: a test runs another writer's
 * commit right before an optimize's commit attempt, to test the rebase and
 * conflict paths deterministically. NULL (the default) costs one branch.
 */
#ifndef TST_OPTIMIZE_INTERNAL_H
#define TST_OPTIMIZE_INTERNAL_H

typedef void (*tst_optimize_hook_fn)(void *ctx, unsigned attempt);
extern tst_optimize_hook_fn tst_optimize_before_commit_hook;
extern void *tst_optimize_before_commit_ctx;

#endif
