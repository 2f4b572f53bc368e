/*
 * process_support.h — helpers for the process tests (tests/process): a
 * table operation run in a forked child with a crash armed at one durable
 * I/O step, the checks a log must pass after such a crash, and groups of
 * child processes that race on one table and report back.
 */
#ifndef TST_PROCESS_SUPPORT_H
#define TST_PROCESS_SUPPORT_H

#include "testsupport.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The exit status of a child that the I/O layer crashed (fsio.c). */
#define TST_PROC_CRASHED 77

/* Replaces `to` by a copy of the folder `from` (rm -rf, then cp -a): a fresh
 * table for each crash. Fails the test on error. */
void tst_proc_copy_tree(const char *from, const char *to);

/* Waits for the child `pid`; fails the test unless it exited normally.
 * Returns its exit status. */
int tst_proc_wait(pid_t pid);

/* An operation on an open table, run in a child; returns 0 or an error code.
 * `t` is NULL when the child opens no table (root NULL below). */
typedef int (*tst_proc_table_op)(tst_table *t, void *arg);

/* Forks a child that opens the table at `root` (exit 3 if it cannot; root
 * NULL: no table), arms a crash at I/O step `k` (0: none), runs op(t, arg)
 * and exits 0 if it returned 0, else 4. Returns the child's exit status:
 * TST_PROC_CRASHED when it died at step k. */
int tst_proc_run_crashing(const char *root, uint64_t k, tst_proc_table_op op, void *arg);

/* Replays the log the way a reader that trusts nothing else does: CURRENT
 * (at least 1), then every commit 1..=CURRENT must load. Returns CURRENT. */
uint64_t tst_proc_assert_replay_reads(const char *root);

/* An operation that makes one commit, crashed at every durable step (the
 * crash tests of commits and of add_columns). A template table is written
 * from `first_actions` (version 1) and padded with empty commits up to
 * `version_before`. Then, each round, for k = 1, 2, ... until the operation
 * runs to its end without reaching step k: a copy of the template is made;
 * `op` runs on it in a child with a crash armed at step k (in_child true);
 * the table must open at the copy's version or the next one (the next one
 * when the child finished), and a reader replaying 1..=CURRENT reads it
 * with CURRENT one of the two; `op` runs again in this process (in_child
 * false) and must commit the version after that, which the replay then
 * reads as CURRENT. Every round crashes at least `min_steps` steps, and the
 * next round starts from the table the last one left. */
typedef struct tst_proc_commit_crash {
    const char *tag;           /* the scratch folder's tag */
    const char *what;          /* the operation, for the message */
    const char *first_actions; /* a JSON action array */
    uint64_t version_before;
    int rounds;
    uint64_t min_steps;
    int (*op)(tst_table *t, bool in_child);
    /* Optional: checks a table that has had `ops` operations (0, 1 or 2)
     * since the copy, which had `columns` columns. */
    void (*check)(tst_table *t, size_t columns, int ops);
} tst_proc_commit_crash;
void tst_proc_commit_crash_rounds(const tst_proc_commit_crash *c);

/* The starting point of the crash tests of optimize and update, made
 * without starting DuckDB in this process: under a fresh scratch folder
 * `base`, days/day<d>.parquet for d = 0, 1, 2 (the sample's day d for NVDA,
 * then the same rows as AAPL), and `fixture`, a table
 * (tst_test_create_symbol_table at `protocol`) to which children appended
 * days 0 and 1: two mixed segments, version 3, as `before` says. `work` is
 * the path for the crashed copies. */
typedef struct tst_proc_two_day_fixture {
    char *base, *days, *fixture, *work;
    char *day[3];
    tst_test_log_state before;
} tst_proc_two_day_fixture;
void tst_proc_two_day_fixture_make(tst_proc_two_day_fixture *f, const char *tag,
                                   uint32_t protocol);
/* Frees the paths and `before`, and removes the scratch folder. */
void tst_proc_two_day_fixture_free(tst_proc_two_day_fixture *f);

/* The body of a racing writer, in its own child: fills `report` (zeroed,
 * `size` bytes) and returns 0, or returns the exit status the child should
 * die with without a report (e.g. 3 when the table did not open). */
typedef int (*tst_proc_writer)(int w, void *report, void *arg);

/* Forks n writers at once; writer w sends its report back through a pipe
 * into reports + w * size. Fails the test unless every writer sent a whole
 * report and exited 0. */
void tst_proc_run_writers(int n, tst_proc_writer writer, void *arg, void *reports, size_t size);

/* Marks the versions won[0..n) in seen[] (indexed by version, zeroed by the
 * caller, last + 1 entries or more); fails the test unless each is in
 * 2..=last and none was marked before: no version was won twice. */
void tst_proc_mark_won(char *seen, uint64_t last, const uint64_t *won, int n);

/* Forks n children that wait on a gate and all start when the parent opens
 * it; child w exits with job(w, arg) (0..255; 99 if the gate failed). Fails
 * the test unless each exited normally; statuses[w] gets child w's status. */
void tst_proc_run_gated(int n, int (*job)(int w, void *arg), void *arg, int *statuses);

/* Vacuum's promise: for every version from..=head (head = the log's), the
 * state at that version (a checkpoint plus replay) names only files that
 * exist: live segments, their sidecars, the table coverage snapshot. Fails
 * the test otherwise. Returns the head. */
uint64_t tst_proc_assert_versions_whole(const char *root, uint64_t from);

/* Sets the modification time of every file under dir to `sec` (epoch). */
void tst_proc_age_files(const char *dir, int64_t sec);

/* Opens the table at root, appends one Parquet file, frees the handle; the
 * library's code (its message goes to stderr). */
int tst_proc_append_once(const char *root, const char *file);

/* Asserts that the first value of `sql` over the table registered as "t" is
 * `expected`, computed in a child so that the parent keeps no engine. */
void tst_proc_assert_query(const char *root, const char *expected, const char *sql);

#endif
