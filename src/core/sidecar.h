/*
 * sidecar.h — the coverage of a table or a segment, in memory and on disk.
 *
 * Coverage lives in small ".roar" sidecar files next to the data (format
 * §1.11, §1.12): one per segment, written once by the append that adds the
 * segment, and one snapshot per append holding the union over all live
 * segments, which the log's UpdateTableCoverage action points to. A table
 * without entity columns stores plain bucket sets (the global codec); a
 * table with entity columns stores identity -> bucket set (TSTECOV2), for
 * segments and snapshots alike. tst_table_cov carries either form, so the
 * append and query code handle both through one type.
 *
 * Files are never overwritten: a sidecar is created exclusively under a
 * name unique to the append attempt, then its folder is fsynced. Readers
 * treat sidecar bytes as untrusted: size-capped, fully validated, and for
 * entity tables every identity is checked against the table schema.
 *
 * Loading a table's coverage (format §4.3) reads the snapshot the handle's
 * version points to; when that file is missing or corrupt, the coverage is
 * rebuilt in memory from the segments' own sidecars ("read-only recovery",
 * reported as a "coverage.recover" warning to the log callback, never
 * written back). The result is cached in the handle per table version.
 *
 * Thread-safety: the cache may be filled from several threads reading one
 * handle; what it hands out stays valid until the handle's version changes
 * (refresh or commit, which need exclusive access) or the handle is freed.
 */
#ifndef TST_SIDECAR_H
#define TST_SIDECAR_H

#include "coverage_internal.h"
#include "tstable/coverage.h"
#include "tstable/schema.h"
#include "tstable/table.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A table's or segment's coverage: exactly one member is non-NULL —
 * `global` for tables without entity columns, `entities` otherwise. A
 * zeroed struct is "no coverage yet" and may be cleared.
 */
typedef struct tst_table_cov {
    tst_coverage *global;
    tst_entity_coverage *entities;
} tst_table_cov;

/* Largest sidecar file a reader accepts (bigger is TST_ECORRUPT). */
#define TST_SIDECAR_MAX_BYTES ((size_t)1 << 30)

/* Enough for any sidecar path these helpers build, with its NUL. */
#define TST_SIDECAR_PATH_MAX 192

/* ---- in memory ---------------------------------------------------------- */

/* An empty coverage in the encoding the spec calls for. */
int tst_table_cov_new(tst_table_cov *out, const tst_index_spec *spec);
/* Deep copy of src into *out (which is overwritten, not cleared). */
int tst_table_cov_clone(tst_table_cov *out, const tst_table_cov *src);
/* dst |= src (identity by identity). Mixing encodings is TST_EINVAL. */
int tst_table_cov_union_inplace(tst_table_cov *dst, const tst_table_cov *src);
/* Same buckets (and, for entity coverage, same identities). */
bool tst_table_cov_equals(const tst_table_cov *a, const tst_table_cov *b);
/* Frees what cov holds and zeroes it; a zeroed struct is fine. */
void tst_table_cov_clear(tst_table_cov *cov);

/* ---- codec -------------------------------------------------------------- */

/* Serializes with the codec of cov's form. *out_bytes is malloc'd: free() it. */
int tst_sidecar_encode(const tst_table_cov *cov, uint8_t **out_bytes, size_t *out_len);

/* The bytes tst_sidecar_encode writes for base ∪ add (same form), without
 * building the union: what only one side holds is encoded as it is. An
 * append's next snapshot is the table's coverage united with its own. */
int tst_sidecar_encode_union(const tst_table_cov *base, const tst_table_cov *add,
                             uint8_t **out_bytes, size_t *out_len);

/*
 * Decodes bytes with the codec the spec calls for, checking every identity
 * against the schema (arity = entity column count, each component of the
 * column's exact type; schema NULL checks the arity only). `origin` names
 * the bytes in messages. TST_ECORRUPT naming origin on any problem.
 */
int tst_sidecar_decode(tst_table_cov *out, const uint8_t *bytes, size_t len,
                       const tst_index_spec *spec, const tst_schema *schema, const char *origin);

/* ---- files -------------------------------------------------------------- */

/*
 * Reads <root>/<rel_path> and decodes it as above. Missing: TST_ENOTFOUND;
 * malformed, too big or not matching the schema: TST_ECORRUPT; both name
 * rel_path and set the error's path. TST_EIO otherwise.
 */
int tst_sidecar_read(const char *root, const char *rel_path, const tst_index_spec *spec,
                     const tst_schema *schema, tst_table_cov *out);

/*
 * Creates <root>/<rel_path> (parent folders as needed) holding cov's bytes,
 * exclusively, fsyncs it and its folder. TST_EEXISTS if the file exists
 * (it is left alone); TST_EINVAL for a non-canonical rel_path; TST_EIO.
 */
int tst_sidecar_write(const char *root, const char *rel_path, const tst_table_cov *cov);
/* The same with bytes already encoded (tst_sidecar_encode), so they are
 * serialized once for both naming and writing. */
int tst_sidecar_write_bytes(const char *root, const char *rel_path, const uint8_t *bytes,
                            size_t len);

/*
 * Sidecar names (§1.11), from the encoded bytes and the append attempt's
 * UUID:
 *   "_coverage/segments/<segcov-id>-<uuid>.roar"
 *   "_coverage/table/<version>-<tblcov-id>-<uuid>.roar"
 * Returns 0, or TST_EINVAL if buf (use TST_SIDECAR_PATH_MAX) is too small
 * or the UUID is not a valid coverage-id part.
 */
int tst_sidecar_segment_path(char *buf, size_t cap, const tst_index_spec *spec,
                             const uint8_t *bytes, size_t len, const char *attempt_uuid);
int tst_sidecar_snapshot_path(char *buf, size_t cap, const tst_index_spec *spec, uint64_t version,
                              const uint8_t *bytes, size_t len, const char *attempt_uuid);

/*
 * Encode, name and write in one step: out_path (cap >= TST_SIDECAR_PATH_MAX)
 * receives the relative path for the log (AddSegment.coverage_path or
 * UpdateTableCoverage.coverage_path). `version` is the version the commit
 * will get.
 */
int tst_sidecar_write_segment(const char *root, const tst_index_spec *spec,
                              const tst_table_cov *cov, const char *attempt_uuid, char *out_path,
                              size_t cap);
int tst_sidecar_write_snapshot(const char *root, const tst_index_spec *spec, uint64_t version,
                               const tst_table_cov *cov, const char *attempt_uuid, char *out_path,
                               size_t cap);
/* The same with the snapshot's bytes already encoded. */
int tst_sidecar_write_snapshot_bytes(const char *root, const tst_index_spec *spec,
                                     uint64_t version, const uint8_t *bytes, size_t len,
                                     const char *attempt_uuid, char *out_path, size_t cap);

/* ---- a table's coverage ------------------------------------------------- */

/*
 * The coverage of the table at the handle's version, with read-only
 * recovery (§4.3):
 *   - no snapshot pointer, no segments: empty coverage;
 *   - no pointer but segments: the union of every segment sidecar;
 *   - a pointer whose index kind differs from the table's: TST_ECORRUPT
 *     (no recovery: the pointer itself is wrong);
 *   - a pointer to a missing or corrupt snapshot: a "coverage.recover"
 *     warning, then the union of every segment sidecar. A live segment
 *     without coverage_path is TST_ECORRUPT; an unreadable segment sidecar
 *     is its own error, naming the segment and the sidecar.
 * Other read errors (TST_EIO, TST_ENOMEM) are returned as they are.
 * *out is borrowed from the handle's cache: valid until the handle's
 * version changes or the handle is freed. Loads at most once per version.
 */
int tst_table_load_coverage(tst_table *table, const tst_table_cov **out);

/*
 * For an entity table, the union over every identity (a bucket any entity
 * covers); for a table without entity columns, its coverage. Cached with
 * the above; same lifetime.
 */
int tst_table_load_coverage_union(tst_table *table, const tst_coverage **out);

/*
 * One identity's bucket set at the handle's version (an entity table's),
 * NULL when the table does not hold that identity. When the cache does not
 * hold the version yet, the first such question reads the snapshot
 * selectively (tst_entity_coverage_deserialize_one: every identity is
 * checked, only this one's bitmap decoded) and caches that one identity;
 * a question about another identity at the same version loads everything,
 * as tst_table_load_coverage does. So a process that asks about one entity
 * (the tool's coverage, gaps, last window) pays for that entity, and one
 * that asks about many loads the table once. A snapshot that cannot be
 * read selectively is loaded, and recovered, as above. Same lifetime.
 */
int tst_table_load_entity_coverage(tst_table *table, const tst_entity_identity *id,
                                   const tst_coverage **out);

/*
 * For a summary of every entity on a handle whose cache does not hold its
 * version yet: walks the snapshot's bytes (mapped, not decoded) and calls
 * fn for each identity after checking it against the schema, as loading
 * does (tst_entity_coverage_each_serialized). Returns 1 without calling fn
 * when the walk does not apply (a table without entity columns, no
 * snapshot, a snapshot of another index kind, or a cache that already
 * holds the version: the caller loads, or uses, the cache); TST_ENOTFOUND
 * or TST_ECORRUPT when the snapshot cannot be read so (the caller loads it
 * in full, which recovers); fn's own non-zero return otherwise.
 */
int tst_table_each_snapshot_identity(tst_table *table, tst_entity_bytes_fn fn, void *ctx);

/*
 * Strict: the snapshot only, no recovery, nothing cached; *out is the
 * caller's to clear. No pointer and no segments: empty. No pointer but
 * segments: TST_ENOTFOUND. Index kind mismatch: TST_ECORRUPT. A missing or
 * corrupt snapshot: its read error.
 */
int tst_table_load_coverage_strict(tst_table *table, tst_table_cov *out);

/*
 * Hands the cache the coverage of the handle's current version, which the
 * caller just computed (an append after its commit: the union it wrote as
 * the new snapshot), so the next query does not read it back. Takes
 * ownership of *cov (zeroed on return, also on failure).
 */
int tst_table_adopt_coverage(tst_table *table, tst_table_cov *cov);

/*
 * After a commit that added `add` to the coverage `base` of version
 * base_version (as tst_table_load_coverage gave it): when the cache still
 * holds that coverage, `add` is united into it in place and it becomes the
 * handle's version's, so the writer's handle answers without reading its
 * snapshot and without a copy of the table's coverage. Otherwise nothing is
 * adopted (the handle reads its snapshot when asked). Sets handed out at
 * base_version stop being valid, as with any version change.
 */
void tst_table_adopt_coverage_union(tst_table *table, uint64_t base_version,
                                    const tst_table_cov *base, const tst_table_cov *add);

/* The per-handle cache behind the functions above; freed with the handle. */
struct tst_coverage_cache;
void tst_coverage_cache_free(struct tst_coverage_cache *cache);

#endif
