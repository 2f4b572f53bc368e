/*
 * tstable/error.h — how every tstable call reports failure.
 *
 * Every function that can fail returns an int: 0 on success, or one of the
 * negative TST_E* codes below. The codes are stable: they are never
 * renumbered, and new ones are only ever added at the end.
 *
 * The detail of the most recent failure on the calling thread is kept in a
 * thread-local tst_error, read with tst_error_last(). It holds a message that
 * says what failed, where (table root, file, version) and what to do, plus the
 * structured fields a program needs to react without parsing text: the
 * expected and found versions of a commit conflict, the count, entity and
 * bucket range of a coverage overlap, the path involved.
 *
 * A successful call does not clear the last error; only the next failure
 * replaces it. Every negative return sets it: a test asserts this.
 */
#ifndef TSTABLE_ERROR_H
#define TSTABLE_ERROR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes. Expected failures each have their own code. */
enum tst_error_code {
    TST_OK = 0,
    TST_EINVAL = -1,       /* an argument or option is invalid; nothing was touched */
    TST_ENOTFOUND = -2,    /* a table, file, version or entity does not exist */
    TST_EEXISTS = -3,      /* the table (or a file that must be new) already exists */
    TST_ECONFLICT = -4,    /* another writer committed first: reload and retry */
    TST_EOVERLAP = -5,     /* an append re-covers (entity, bucket) pairs already in the table */
    TST_ESCHEMA = -6,      /* incoming data does not match the table schema */
    TST_ECORRUPT = -7,     /* persisted state is malformed: log, CURRENT, sidecar, path */
    TST_EIO = -8,          /* the operating system refused a read or write */
    TST_ESQL = -9,         /* the SQL engine rejected or failed a statement */
    TST_ENOMEM = -10,      /* an allocation failed */
    TST_EUNSUPPORTED = -11,/* a valid request this version cannot serve (format version, type) */
    TST_EEMPTY = -12,      /* the table has no commits, or an append source has no rows */
    TST_EAMBIGUOUS = -13,  /* a commit may or may not have been published; files were kept */
    TST_ECANCELLED = -14,  /* the caller cancelled the operation (tst_cancel_request) */
    TST_EDUPLICATE = -15,  /* protocol 7: two rows of one append in one (entity, index interval) */
    TST_EUPDATEKEY = -16,  /* update_rows: a source key is null, repeated, unmatched or ambiguous */
    TST_EVACUUMED = -17,   /* time travel: vacuum removed the files of the version asked for */
    TST_EINCOMPLETE = -18  /* the statement reads ranges the table does not cover (or that
                            * could not be checked); nothing was run */
};

/*
 * The detail of the last failure. Strings are never NULL (empty when not
 * applicable) and stay valid until the next failing tstable call on the
 * same thread.
 */
typedef struct tst_error {
    int code;                  /* the TST_E* code that was returned */
    const char *message;       /* full human-readable message */
    const char *path;          /* file or table root involved, or "" */
    /* TST_ECONFLICT: the version the writer built on, and the one it found.
     * TST_EVACUUMED: the version asked for, and the oldest readable one. */
    uint64_t expected_version;
    uint64_t found_version;
    /* TST_EOVERLAP: how many (entity, bucket) pairs overlap in total, the
     * first overlapping entity (canonical order) rendered as
     * "col=value[,col=value]" ("" for tables without entity columns), and
     * its smallest overlapping bucket. */
    uint64_t overlap_count;
    const char *entity;
    uint64_t bucket;
    const char *bucket_range;  /* e.g. "[2024-01-03T09:00:00Z, 2024-01-03T10:00:00Z)" */
    /* TST_EOVERLAP: how many entities overlap (1 for tables without entity
     * columns), and how many buckets of the first one (`entity`) do; equal
     * to overlap_count when only one entity overlaps. */
    uint64_t overlap_entity_count;
    uint64_t entity_overlap_count;
    /* TST_EDUPLICATE uses overlap_count (rows in the interval), entity, bucket
     * and bucket_range for the first duplicated (entity, interval). */
    /* TST_EUPDATEKEY: which rule failed ("duplicate_source_key",
     * "unmatched_source_key", "ambiguous_target_key" or "null_identity", the
     * reference's names), one offending key as a JSON object (entity columns
     * and the index column by name; index values as integers in the table's
     * unit, entity values as they are; null for a null), the source rows read
     * and how many keys break the rule. */
    const char *reason;
    const char *example_key;
    uint64_t input_rows_seen;
    uint64_t observed_violations;
} tst_error;

/* The last failure on this thread. Never NULL; code is TST_OK if none yet. */
const tst_error *tst_error_last(void);

/* Forget the last failure on this thread. */
void tst_error_clear(void);

/* A short constant name for a code: "TST_ECONFLICT", ... ("unknown" otherwise). */
const char *tst_error_name(int code);

#ifdef __cplusplus
}
#endif
#endif
