/*
 * segment_covs.h — the coverage sidecars of one registered table's segments,
 * loaded when the pruner first asks for them and kept for the session (see
 * segment_covs.c).
 */
#ifndef TST_SEGMENT_COVS_H
#define TST_SEGMENT_COVS_H

#include "sidecar.h"

#include <stdbool.h>

typedef struct tst_segment_covs tst_segment_covs;

/*
 * The decoded sidecar at `coverage_path` (relative to `root`), borrowed from
 * the cache (valid until tst_segment_covs_free), or NULL when it cannot be
 * had: no path, a missing, unreadable or corrupt file, no memory. NULL means
 * "do not know", and the caller keeps the segment; a failure is remembered,
 * so one bad file costs one read per session, and is not reported (the
 * statement goes on without the bitmap). *covs is created on first use.
 */
const tst_table_cov *tst_segment_covs_get(tst_segment_covs **covs, const char *root,
                                          const tst_index_spec *spec, const tst_schema *schema,
                                          const char *coverage_path);

void tst_segment_covs_free(tst_segment_covs *covs);

#endif
