/*
 * append_internal.h — a test hook into the append's commit loop.
 *
 * Races between writers are timing-dependent; to test the rebase path
 * deterministically, a test can run code (another writer's commit) right
 * before an append's commit attempt, the way SQLite's test hooks do. NULL
 * (the default) costs one branch per attempt.
 */
#ifndef TST_APPEND_INTERNAL_H
#define TST_APPEND_INTERNAL_H

typedef void (*tst_append_hook_fn)(void *ctx, unsigned attempt);
extern tst_append_hook_fn tst_append_before_commit_hook;
extern void *tst_append_before_commit_ctx;

#endif
