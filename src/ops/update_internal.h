/*
 * update_internal.h — a test hook into the update's commit loop, as
 * optimize_internal.h: a test runs another writer's commit right before an
 * update's commit attempt, to test the rebase and conflict paths
 * deterministically. NULL (the default) costs one branch.
 */
#ifndef TST_UPDATE_INTERNAL_H
#define TST_UPDATE_INTERNAL_H

typedef void (*tst_update_hook_fn)(void *ctx, unsigned attempt);
extern tst_update_hook_fn tst_update_before_commit_hook;
extern void *tst_update_before_commit_ctx;

#endif
