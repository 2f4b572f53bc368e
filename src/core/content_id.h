/*
 * content_id.h — names of coverage sidecar files (format §1.11).
 *
 * Sidecar names are informational (readers use the paths in the log) but we
 * write them exactly as the reference does, so tables look the same whoever
 * wrote them:
 *   _coverage/segments/<segcov-id>-<attempt uuid>.roar
 *   _coverage/table/<version>-<tblcov-id>-<attempt uuid>.roar
 * where the id is "segcov-"/"tblcov-" + the first 32 hex digits of a BLAKE3
 * hash over a domain tag, the index column, the index kind (and for entity
 * tables the entity columns) and the sidecar's bytes.
 */
#ifndef TST_CONTENT_ID_H
#define TST_CONTENT_ID_H

#include "tstable/schema.h"

#include <stddef.h>
#include <stdint.h>

#define TST_CONTENT_ID_MAX 40 /* "segcov-" + 32 hex + NUL, rounded up */

typedef enum tst_sidecar_role {
    TST_SIDECAR_SEGMENT = 1, /* "segcov-" */
    TST_SIDECAR_TABLE = 2    /* "tblcov-" */
} tst_sidecar_role;

/* BLAKE3 of bytes, 32-byte output (the default hash). */
void tst_blake3(const void *bytes, size_t len, uint8_t out[32]);

/*
 * The content id of a sidecar holding `bytes` for a table with this index
 * spec: the global v2 form for tables without entity columns, the entity v1
 * form otherwise. Writes a NUL-terminated id into out.
 */
int tst_coverage_content_id(char out[TST_CONTENT_ID_MAX], tst_sidecar_role role,
                            const tst_index_spec *spec, const uint8_t *bytes, size_t len);

#endif
