/*
 * coverage_internal.h — what other modules of the library may use of a
 * tst_coverage beyond the public header.
 *
 * A tst_coverage keeps one invariant the rest of the library may rely on:
 * it never holds an empty 32-bit partition, so two equal sets have the same
 * partitions and the global codec writes the same bytes for them (the
 * canonical form: partitions in key order, each container in its smallest
 * encoding, see coverage.c). tst_coverage_serialize always writes that
 * canonical form, whatever the in-memory container types are; nothing has
 * to be optimized first.
 */
#ifndef TST_COVERAGE_INTERNAL_H
#define TST_COVERAGE_INTERNAL_H

#include "tstable/coverage.h"

/*
 * Calls fn for each maximal run of covered buckets inside [first, last], in
 * ascending order, clipped to the range. Costs time proportional to the
 * covered containers inside the range. fn returns 0 to go on, anything else
 * to stop: that value is then returned. Returns 0 when done.
 */
int tst_coverage_each_run(const tst_coverage *cov, uint64_t first, uint64_t last,
                          tst_bucket_run_fn fn, void *ctx);

/* The number of maximal runs of covered buckets (so gaps between the first
 * and the last bucket = runs - 1), counted per container without walking
 * the runs: a run container's runs are its run count. */
uint64_t tst_coverage_run_count(const tst_coverage *cov);

/* What a summary needs of a bucket set, read from its serialized bytes
 * (the global codec) without building it: tst_coverage_tally_serialized
 * makes every check tst_coverage_deserialize makes, and fails as it does;
 * the numbers are those of the decoded set (cardinality saturates). */
typedef struct tst_coverage_tally {
    bool any;
    uint64_t min, max;
    uint64_t cardinality;
    uint64_t runs; /* maximal runs, as tst_coverage_run_count */
} tst_coverage_tally;
int tst_coverage_tally_serialized(const uint8_t *bytes, size_t len, tst_coverage_tally *out);

/*
 * The union of many serialized bucket sets (the global codec), without
 * decoding each: new, then add each set's bytes — every check
 * tst_coverage_deserialize makes is made, and fails as it does — then
 * finish, which builds the union (the set the decoded sets' union holds),
 * and free. add returns TST_COVERAGE_UNION_TOO_WIDE (positive, not an
 * error) when the union spans too many containers to accumulate in bounded
 * memory: decode instead. Whole-table questions on a fresh handle use it
 * (sidecar.c), where decoding a thousand entities cost 35 ms.
 */
#define TST_COVERAGE_UNION_TOO_WIDE 2
typedef struct tst_coverage_union_acc tst_coverage_union_acc;
int tst_coverage_union_acc_new(tst_coverage_union_acc **out);
int tst_coverage_union_acc_add(tst_coverage_union_acc *a, const uint8_t *bytes, size_t len);
int tst_coverage_union_acc_finish(tst_coverage_union_acc *a, tst_coverage **out);
void tst_coverage_union_acc_free(tst_coverage_union_acc *a);

/* A growing byte buffer (bytes malloc'd, freed by the caller). */
typedef struct tst_byte_buf {
    uint8_t *bytes;
    size_t len, cap;
} tst_byte_buf;
int tst_byte_buf_reserve(tst_byte_buf *b, size_t more);

/*
 * Appends to out what tst_coverage_serialize writes for a ∪ b, without
 * building the union: the containers only one side holds are encoded from
 * it as they are, and only the containers both hold are united (as a
 * 65,536-bit set, one at a time). A table's next snapshot is its coverage
 * united with an append's, which touches few containers of each entity.
 */
int tst_coverage_serialize_union(const tst_coverage *a, const tst_coverage *b, tst_byte_buf *out);

/* What tst_entity_coverage_serialize writes for a ∪ b (identities merged
 * in canonical order; a shared identity's set by
 * tst_coverage_serialize_union), without building the union. */
int tst_entity_coverage_serialize_union(const tst_entity_coverage *a,
                                        const tst_entity_coverage *b, uint8_t **out_bytes,
                                        size_t *out_len);

/* *out = the union of covs[0..n) (n may be 0: empty), a new coverage. */
int tst_coverage_union_many(tst_coverage **out, const tst_coverage *const *covs, size_t n);

/*
 * tst_entity_coverage_deserialize for one identity: every identity of the
 * bytes is read and checked as there (components, canonical order, lengths
 * within the bytes), but only want's bucket set is decoded, the others'
 * are stepped over. *out holds want and its set, or nothing when the bytes
 * do not hold want. A question about one entity of a large snapshot
 * (sidecar.c) costs the identities plus that entity's bitmap.
 */
int tst_entity_coverage_deserialize_one(tst_entity_coverage **out, const uint8_t *bytes,
                                        size_t len, const tst_entity_identity *want);

/*
 * Walks TSTECOV2 bytes without decoding them: every identity is read and
 * checked as tst_entity_coverage_deserialize does (components, canonical
 * order, lengths within the bytes), then fn gets it (valid during the call;
 * its strings point into bytes), its index, the identity count, and its
 * nested bucket-set bytes — unchecked: fn checks what it reads (e.g.
 * tst_coverage_tally_serialized). A non-zero return of fn stops the walk
 * and is returned. Malformed bytes: TST_ECORRUPT.
 */
typedef int (*tst_entity_bytes_fn)(void *ctx, uint32_t index, uint32_t count,
                                   const tst_entity_identity *id, const uint8_t *bytes,
                                   size_t len);
int tst_entity_coverage_each_serialized(const uint8_t *bytes, size_t len, tst_entity_bytes_fn fn,
                                        void *ctx);

#endif
