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
    bool pinned;                /* opened at a version or instant: never moves, never writes */
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

/*
 * 0 unless the handle is pinned (time travel): then TST_EINVAL, "<operation>
 * of table R refused: the handle is opened as of version N; open the latest
 * version to write". tst_table_check_writable and tst_table_commit call it;
 * writes that do not call check_writable early call it themselves.
 */
int tst_table_check_unpinned(const tst_table *table, const char *operation);

/*
 * For a read of a pinned handle that failed with TST_ENOTFOUND (a data
 * file, sidecar or coverage snapshot is gone): adds that the version may
 * have been vacuumed. Any other code, or a handle at the latest version,
 * passes through. Returns rc.
 */
int tst_table_note_lost_file(const tst_table *table, int rc);

/* The state the handle holds (borrowed). */
const tst_state *tst_table_state(const tst_table *table);

#endif
