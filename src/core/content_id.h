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
 * Incremental BLAKE3 (default hash mode, 32-byte output), for preimages that
 * are easier to feed in pieces than to assemble: init, update any number of
 * times with any split, then final. The result equals tst_blake3() of the
 * concatenated input. The state lives on the caller's stack (about 2 KB) and
 * allocates nothing; final leaves it unchanged. The fields are private.
 */
#define TST_BLAKE3_MAX_DEPTH 54 /* 2^64 bytes / 1024-byte chunks = 2^54 leaves */

typedef struct tst_blake3_hasher {
    uint32_t chunk_cv[8];     /* running chaining value inside the chunk (starts at the IV) */
    uint64_t chunk_counter;   /* index of the chunk being filled */
    uint8_t block[64];        /* the block being filled (not yet compressed) */
    size_t block_len;         /* bytes in block */
    size_t blocks_compressed; /* full blocks of this chunk already compressed */
    uint32_t cv_stack[TST_BLAKE3_MAX_DEPTH][8]; /* completed subtree chaining values */
    size_t cv_stack_len;
} tst_blake3_hasher;

void tst_blake3_init(tst_blake3_hasher *h);
void tst_blake3_update(tst_blake3_hasher *h, const void *bytes, size_t len);
void tst_blake3_final(const tst_blake3_hasher *h, uint8_t out[32]);

/*
 * The content id of a sidecar holding `bytes` for a table with this index
 * spec: the global v2 form for tables without entity columns, the entity v1
 * form otherwise. Writes a NUL-terminated id into out: "segcov-" or
 * "tblcov-" and 32 lowercase hex digits (39 characters). bytes may be NULL
 * when len is 0. A NULL out/spec/column/entity column, an unknown role, index
 * type or time unit is TST_EINVAL, with out untouched. Allocates nothing;
 * thread-safe.
 */
int tst_coverage_content_id(char out[TST_CONTENT_ID_MAX], tst_sidecar_role role,
                            const tst_index_spec *spec, const uint8_t *bytes, size_t len);

#endif
