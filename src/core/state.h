/*
 * state.h — a table's state at one version, built by replaying commits.
 *
 * The state is what the log says at a version: the latest TableMeta, the
 * live segments keyed by path, and the table coverage pointer. Applying a
 * commit is incremental (cost proportional to the commit, not the table),
 * so a handle that is refreshed after new commits only reads those.
 *
 * tst_state_validate() runs the checks the reference runs after a replay
 * (format §2.2): meta present and time-series, index spec valid, schema
 * consistent with the index and entity columns, segment layouts and bounds
 * consistent with the meta, coverage pointer of the table's index kind.
 */
#ifndef TST_STATE_H
#define TST_STATE_H

#include "model.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct tst_state {
    uint64_t version;
    bool has_meta;
    tst_table_meta meta;
    tst_segment *segments; /* live, in the order they were added */
    size_t segment_count;
    size_t segment_cap;
    size_t *slots;         /* open-addressing index: path -> segment position + 1 */
    size_t slot_cap;
    tst_segment *removed;  /* segments removed by later commits, still validated */
    size_t removed_count;
    size_t removed_cap;
    bool has_coverage;
    tst_coverage_pointer coverage;
    uint64_t coverage_version;
} tst_state;

void tst_state_init(tst_state *state);
void tst_state_clear(tst_state *state);

/* Applies one commit (its version must be state->version + 1). `origin`
 * names the commit in messages. On failure the state is unusable. */
int tst_state_apply(tst_state *state, const tst_commit *commit, const char *origin);

/* The same, moving what the commit's actions own into the state instead of
 * copying it (the commit is left with cleared actions, still to be cleared). */
int tst_state_apply_owned(tst_state *state, tst_commit *commit, const char *origin);

/* Adds a live segment (TST_ECORRUPT if its path is live already), or records
 * a removed one; used to load checkpoints. take_segment moves *segment into
 * the state and zeroes it (on failure it is left to the caller). */
int tst_state_add_segment(tst_state *state, const tst_segment *segment, const char *origin);
int tst_state_take_segment(tst_state *state, tst_segment *segment, const char *origin);
int tst_state_add_removed(tst_state *state, const tst_segment *segment);

/* Post-replay checks; TST_ECORRUPT naming the table root on failure. */
int tst_state_validate(const tst_state *state, const char *root);

/* Checks one TableMeta on its own: format version, kind, index spec, and
 * schema against the index and entity columns. */
int tst_meta_check(const tst_table_meta *meta, const char *root);

/* Checks one segment against a meta: layout, identity types, bounds. */
int tst_segment_check(const tst_table_meta *meta, const tst_segment *segment, const char *root);

/* The live segment with that path, or NULL. */
const tst_segment *tst_state_find(const tst_state *state, const char *path);

#endif
