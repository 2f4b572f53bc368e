/*
 * delete.c — deleting the rows of (entity, range) targets and their
 * coverage in one commit (see tstable/delete.h).
 *
 * The work is split in two so that other operations can commit a removal
 * with their own actions (a replace-on-append): delete_plan.c checks the
 * targets, chooses the segments and writes the rewrites; this file turns a
 * plan into a commit. It reads top to bottom:
 *   1. refresh the handle, check the table is writable by this build and at
 *      the expected version;
 *   2. build the plan (nothing matching: a no-op report, nothing written);
 *   3. commit the plan's actions and an UpdateTableCoverage through
 *      rewrite.c's loop. Before each attempt the snapshot is written for the
 *      version the attempt would commit: the coverage of the version the
 *      handle is at (after a rebase: the other writer's) less the plan's
 *      pairs. A rebase onto another writer's commit is taken when every
 *      segment the plan removes is still live (rewrite.c's rule); an append
 *      cannot have added rows to the plan's pairs meanwhile, since they were
 *      covered until this commit, so the subtraction stays exact;
 *   4. on failure everything written is removed, snapshots included.
 */
#include "delete_internal.h"
#include "delete_plan.h"

#include "cancel.h"
#include "fail.h"
#include "fsio.h"
#include "table_internal.h"
#include "tstable/delete.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OP "delete"

/* delete_internal.h */
tst_rewrite_hook_fn tst_delete_before_commit_hook;
void *tst_delete_before_commit_ctx;

typedef struct delete_run {
    tst_table *table;
    const tst_delete_options *opts;
    const char *root;
    tst_delete_plan plan;
    tst_action *actions;  /* the plan's, then the UpdateTableCoverage */
    size_t action_count;
    char **replaced;
    char snapshot_path[TST_SIDECAR_PATH_MAX];
    bool snapshot_written;
    tst_table_cov snapshot;
    tst_delete_report report;
} delete_run;

static void remove_snapshot(delete_run *r)
{
    if (!r->snapshot_written)
        return;
    char *abs = tst_io_join(r->root, r->snapshot_path);
    if (abs)
        tst_io_unlink(abs);
    free(abs);
    r->snapshot_written = false;
}

/* rewrite.c's before_attempt: the snapshot for the version this attempt commits. */
static int write_snapshot(void *ctx, unsigned attempt)
{
    (void)attempt;
    delete_run *r = ctx;
    remove_snapshot(r);
    tst_table_cov_clear(&r->snapshot);
    const tst_table_cov *cov = NULL;
    int rc = tst_table_load_coverage(r->table, &cov);
    if (rc == 0)
        rc = tst_delete_plan_uncover(&r->plan, cov, &r->snapshot);
    if (rc == 0)
        rc = tst_sidecar_write_snapshot(r->root, tst_table_index(r->table),
                                        tst_table_version(r->table) + 1, &r->snapshot,
                                        r->plan.attempt_uuid, r->snapshot_path,
                                        sizeof r->snapshot_path);
    r->snapshot_written = rc == 0;
    tst_action *a = &r->actions[r->action_count - 1];
    a->type = TST_ACTION_UPDATE_TABLE_COVERAGE;
    a->u.coverage.index_kind = tst_table_index(r->table)->kind;
    a->u.coverage.coverage_path = r->snapshot_path;
    return rc;
}

static int commit(delete_run *r)
{
    size_t n = tst_delete_plan_action_count(&r->plan);
    r->action_count = n + 1;
    r->actions = calloc(r->action_count, sizeof *r->actions);
    r->replaced = calloc(r->plan.count, sizeof *r->replaced);
    if (!r->actions || !r->replaced)
        return tst_fail(TST_ENOMEM, "out of memory");
    tst_delete_plan_fill_actions(&r->plan, r->actions);
    tst_delete_plan_replaced(&r->plan, r->replaced);
    tst_rewrite_commit c = {
        .table = r->table, .op = OP, .actions = r->actions, .action_count = r->action_count,
        .replaced = r->replaced, .replaced_count = r->plan.count,
        .starting_version = r->report.starting_version, .max_attempts = r->opts->max_attempts,
        .cancel = r->opts->cancel, .hook = tst_delete_before_commit_hook,
        .hook_ctx = tst_delete_before_commit_ctx, .before_attempt = write_snapshot,
        .before_attempt_ctx = r};
    int rc = tst_rewrite_commit_run(&c, &r->report.committed_version, &r->report.attempts);
    if (rc == 0) /* the handle is at our version: it knows its coverage already */
        (void)tst_table_adopt_coverage(r->table, &r->snapshot);
    return rc;
}

static int check_version(const delete_run *r)
{
    uint64_t expected = r->opts->expected_version, found = tst_table_version(r->table);
    if (expected == 0 || expected == found)
        return 0;
    tst_fail(TST_ECONFLICT, "%s of table %s: expected version %" PRIu64 " but the table is at "
             "version %" PRIu64 "; nothing was read or written; look at the table again and "
             "pass its version", OP, r->root, expected, found);
    tst_fail_set_conflict(expected, found);
    tst_fail_set_path(r->root);
    return TST_ECONFLICT;
}

static int run(delete_run *r, const tst_delete_target *targets, size_t count)
{
    int rc = tst_table_refresh(r->table, NULL);
    if (rc == 0)
        rc = tst_table_check_writable(r->table, OP);
    if (rc == 0)
        rc = check_version(r);
    r->report.starting_version = r->report.committed_version = tst_table_version(r->table);
    if (rc == 0)
        rc = tst_delete_plan_build(&r->plan, r->table, OP, targets, count, r->opts->cancel);
    if (rc != 0)
        return rc;
    if (r->plan.count == 0) {
        r->report.no_op = true;
        return 0;
    }
    rc = commit(r);
    if (rc == TST_EAMBIGUOUS)
        return rc; /* the commit may stand: keep every file it names */
    if (rc != 0) {
        remove_snapshot(r);
        tst_delete_plan_roll_back(&r->plan);
        return rc;
    }
    r->report.rows_deleted = r->plan.rows_deleted;
    r->report.segments_removed = r->plan.segments_removed;
    r->report.segments_rewritten = r->plan.segments_rewritten;
    r->report.buckets_uncovered = tst_delete_plan_pairs(&r->plan);
    return 0;
}

int tst_table_delete_rows(tst_table *table, const tst_delete_target *targets, size_t count,
                          const tst_delete_options *opts, tst_delete_report *out)
{
    static const tst_delete_options defaults = TST_DELETE_OPTIONS_INIT;
    if (!table)
        return tst_fail(TST_EINVAL, "delete needs a table");
    delete_run r;
    memset(&r, 0, sizeof r);
    r.table = table;
    r.opts = opts ? opts : &defaults;
    r.root = tst_table_root(table);
    tst_cancel *outer = tst_cancel_scope_enter(r.opts->cancel);
    int rc = run(&r, targets, count);
    if (rc == TST_ECANCELLED)
        tst_fail(TST_ECANCELLED, "%s of table %s cancelled; nothing was committed and the "
                 "files it wrote were removed", OP, r.root);
    tst_cancel_scope_leave(outer);
    if (rc == 0 && out)
        *out = r.report;
    free(r.actions);
    free(r.replaced);
    tst_table_cov_clear(&r.snapshot);
    tst_delete_plan_clear(&r.plan);
    return rc;
}
