/*
 * state_at.c — the state at an older version (see state_at.h).
 *
 * Vacuum asks for the state at the oldest retained version V0, which is
 * usually a few versions behind the head: the newest checkpoint at or below
 * V0 bounds the replay to the checkpoint interval, as open does for the head.
 */
#include "state_at.h"

#include "checkpoint.h"
#include "fail.h"
#include "fsio.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Replays commits after the state's version up to head. *out_reshaped (may
 * be NULL) tells whether any changed the meta or removed segments, which
 * calls for a full validation and re-sort rather than incremental ones. */
int tst_state_replay(tst_state *state, const char *root, uint64_t head, bool *out_reshaped)
{
    while (state->version < head) {
        tst_commit c;
        int rc = tst_log_load_commit_for(
            root, state->version + 1, state->has_meta ? state->meta.protocol_version : 0, &c);
        if (rc == 0) {
            for (size_t i = 0; out_reshaped && i < c.action_count; i++)
                *out_reshaped |= c.actions[i].type == TST_ACTION_UPDATE_TABLE_META ||
                                 c.actions[i].type == TST_ACTION_REMOVE_SEGMENT;
            char origin[64];
            snprintf(origin, sizeof origin, "commit %" PRIu64, c.version);
            rc = tst_state_apply_owned(state, &c, origin);
        }
        tst_commit_clear(&c);
        if (rc != 0)
            return tst_fail_context(rc, "table %s", root);
    }
    return 0;
}

int tst_state_load_at(tst_state *out, const char *root, uint64_t version)
{
    tst_state_init(out);
    if (tst_checkpoint_load(root, version, out) != 0) {
        tst_state_clear(out);
        tst_state_init(out);
    }
    return tst_state_replay(out, root, version, NULL);
}
