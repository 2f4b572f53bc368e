/*
 * state_at.h — a table's state at an older version, for vacuum (and any
 * other reader of the past that must not disturb the open paths of table.c).
 *
 * The state comes from the newest checkpoint file at or below the version
 * (found by listing _timeseries_log/_checkpoints, since _last_checkpoint
 * names only the latest), or from version 1, then a replay of the commits up
 * to the version. Checkpoints are shortcuts: one that cannot be read is
 * skipped for the next older one, and the log stays the truth.
 */
#ifndef TST_STATE_AT_H
#define TST_STATE_AT_H

#include "state.h"

#include <stddef.h>
#include <stdint.h>

/*
 * The versions of the checkpoint files in _timeseries_log/_checkpoints whose
 * names have the canonical shape (<version:010>.checkpoint), ascending;
 * *out is malloc'd (NULL when there are none). A missing folder gives none.
 */
int tst_checkpoint_list(const char *root, uint64_t **out, size_t *out_count);

/*
 * Builds the state at `version` (1 <= version <= head) into *out (which it
 * initialises; clear it with tst_state_clear on success and failure alike).
 * The state is not validated against the files (their sidecars may be gone
 * for versions vacuum expired). TST_ENOTFOUND for a missing commit.
 */
int tst_state_load_at(tst_state *out, const char *root, uint64_t version);

#endif
