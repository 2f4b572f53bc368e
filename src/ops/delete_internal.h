/*
 * delete_internal.h — a test hook into the delete's commit loop, as
 * update_internal.h: a test runs another writer's commit right before a
 * delete's commit attempt, to test the rebase and conflict paths
 * deterministically. NULL (the default) costs one branch.
 */
#ifndef TST_DELETE_INTERNAL_H
#define TST_DELETE_INTERNAL_H

#include "rewrite.h"

extern tst_rewrite_hook_fn tst_delete_before_commit_hook;
extern void *tst_delete_before_commit_ctx;

#endif
