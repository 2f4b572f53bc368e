/*
 * rewrite.h — what the operations that replace segments share (optimize,
 * update, delete): checking a live segment's file against the log before it is
 * rewritten, measuring a replacement and writing its sidecar, committing
 * RemoveSegment/AddSegment actions with a rebase when other writers got in
 * first, and removing what an attempt wrote when it fails.
 *
 * Each operation decides what its replacements hold and how its actions are
 * ordered (optimize: removes then adds; update: pairs; delete: removes and
 * pairs, then a coverage snapshot rewritten per attempt); this module owns
 * the steps whose rules must not drift apart between them.
 */
#ifndef TST_REWRITE_H
#define TST_REWRITE_H

#include "model.h"
#include "segment.h"
#include "sidecar.h"
#include "source.h"
#include "tstable/append.h"

#include <stdbool.h>
#include <stdint.h>

/* "data/_staged/<op>/<uuid>/<ordinal:010>.parquet" and its NUL */
#define TST_REWRITE_PATH_MAX 96

/* One replacement segment being written. */
typedef struct tst_rewrite_piece {
    char path[TST_REWRITE_PATH_MAX];
    char cov_path[TST_SIDECAR_PATH_MAX];
    tst_entity_layout layout; /* utf8 bytes owned */
    tst_index_value min, max;
    uint64_t rows, bytes;
    bool data_written, cov_written;
} tst_rewrite_piece;

/* TST_ECANCELLED "<op> of table T cancelled; nothing was committed" when
 * cancel was requested, else 0. */
int tst_rewrite_cancelled(const tst_cancel *cancel, const char *op, const char *root);

/*
 * Opens the live segment `path` as a source and checks it against the log
 * before it is rewritten: the table's schema, the footer's annotations (when
 * the table records some: a differing or extra key is refused), the log's row
 * count, the segment's sidecar equal to the measured coverage (out_m, also
 * returned).
 * A mismatch is TST_ECORRUPT naming the segment. The caller clears both.
 */
int tst_rewrite_open_segment(tst_table *table, const char *path, tst_source *out_src,
                             tst_measure *out_m);

/* Footer rows and bytes of a written replacement at `abs`, and its measure. */
int tst_rewrite_measure_piece(tst_table *table, tst_rewrite_piece *piece, const char *abs,
                              tst_measure *out_m);

/* Writes the piece's sidecar from `m` (named after the attempt uuid, as the
 * reference does) and records its path; min/max come from m. */
int tst_rewrite_write_sidecar(tst_table *table, tst_rewrite_piece *piece, const tst_measure *m,
                              const char *uuid);

/* The AddSegment of a piece; borrowed pointers into it. */
void tst_rewrite_fill_segment(const tst_rewrite_piece *piece, tst_segment *seg);

/* Removes the piece's files it wrote (sidecar first, then data). */
void tst_rewrite_remove_piece(const char *root, tst_rewrite_piece *piece);

/* A segment's relation with its file row numbers as the column
 * file_row_number: read_parquet(..., file_row_number = true), to keep the
 * segment's row order in a rewrite (tst_segment_layout.order_by). *out is
 * malloc'd. TST_EINVAL for a relation that is not one read_parquet(...). */
int tst_rewrite_numbered(const char *relation, char **out);

typedef void (*tst_rewrite_hook_fn)(void *ctx, unsigned attempt);
/* Runs before each attempt, after the rebase onto the new version (if any):
 * an operation whose actions depend on the version (a coverage snapshot
 * named after it) rewrites them here. Non-zero stops the loop with that code. */
typedef int (*tst_rewrite_attempt_fn)(void *ctx, unsigned attempt);

/* One commit of replacement actions, retried over other writers' commits. */
typedef struct tst_rewrite_commit {
    tst_table *table;
    const char *op;                  /* "optimize", "update_rows": for messages */
    const tst_action *actions;
    size_t action_count;
    char *const *replaced;           /* the paths removed: each must stay live to rebase */
    size_t replaced_count;
    uint64_t starting_version;       /* for the conflict's expected version */
    unsigned max_attempts;           /* 0 means 1 */
    bool no_rebase;                  /* a conflict is final (update_rows strict) */
    const tst_cancel *cancel;
    tst_rewrite_hook_fn hook;        /* tests: runs before each attempt */
    void *hook_ctx;
    tst_rewrite_attempt_fn before_attempt; /* NULL: the actions fit every version */
    void *before_attempt_ctx;
} tst_rewrite_commit;

/*
 * Commits the actions as the handle's next version; on TST_ECONFLICT
 * refreshes and tries again while every replaced path is still live and the
 * schema is the one the replacements were written in, else TST_ECONFLICT
 * (expected: starting_version, found: the new version). Sets *out_version
 * and *out_attempts on success.
 */
int tst_rewrite_commit_run(const tst_rewrite_commit *c, uint64_t *out_version,
                           unsigned *out_attempts);

#endif
