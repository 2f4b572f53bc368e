/*
 * state_at.h — a table's state at a version: the newest usable checkpoint at
 * or below it, then a replay of the commits up to it. Open, refresh, time
 * travel and vacuum all build their states here.
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Replays the commits after the state's version up to head; *out_reshaped
 * (may be NULL) is set when one changed the meta or removed a segment. */
int tst_state_replay(tst_state *state, const char *root, uint64_t head, bool *out_reshaped);

/*
 * Builds the state at `version` (1 <= version <= head) into *out (which it
 * initialises; clear it with tst_state_clear on success and failure alike).
 * The state is not validated against the files (their sidecars may be gone
 * for versions vacuum expired). TST_ENOTFOUND for a missing commit.
 */
int tst_state_load_at(tst_state *out, const char *root, uint64_t version);

#endif
