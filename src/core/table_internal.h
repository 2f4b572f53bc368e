/*
 * table_internal.h — what the rest of the library (append, SQL) and the
 * tests see of a table handle beyond the public header.
 */
#ifndef TST_TABLE_INTERNAL_H
#define TST_TABLE_INTERNAL_H

#include "state.h"
#include "tstable/table.h"

struct tst_table {
    char *root;
    tst_state state;
    size_t *sorted;             /* positions of live segments by (index_min, index_max, path) */
    bool stale;                 /* a failed refresh left the state unusable: reload */
    uint64_t checkpoint_version; /* latest checkpoint this handle knows of */
    struct tst_coverage_cache *coverage_cache; /* sidecar.c: coverage per version, lazily */
};

/*
 * Commits typed actions as the version after the handle's, after checking
 * them against the handle's state (nothing is written if they don't fit).
 * TST_ECONFLICT when another writer committed first. On success the handle
 * moves to the new version, and every TST_CHECKPOINT_INTERVAL versions a
 * checkpoint is written (a failed checkpoint does not fail the commit).
 */
int tst_table_commit(tst_table *table, const tst_action *actions, size_t count,
                     uint64_t *out_version);

/* The state the handle holds (borrowed). */
const tst_state *tst_table_state(const tst_table *table);

#endif
