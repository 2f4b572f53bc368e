/*
 * fail.h — the one way library code reports a failure.
 *
 * tst_fail() records a formatted message in the calling thread's last error
 * and returns the code, so a failure reads as one line:
 *
 *     return tst_fail(TST_ECORRUPT, "commit %s: version %llu does not match its file name", path, v);
 *
 * tst_fail_context() prefixes the message already recorded by a deeper call
 * (the context "open table /x" + ": " + "CURRENT has invalid content ..."), keeping the
 * structured fields that call set. The setters below fill those fields.
 */
#ifndef TST_FAIL_H
#define TST_FAIL_H

#include "tstable/error.h"

#include <stdint.h>

#if defined(__GNUC__)
#define TST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TST_PRINTF(a, b)
/* TST_EUPDATEKEY: the rule, an example key (JSON object), rows read, violations. */
void tst_fail_set_update_key(const char *reason, const char *example_key, uint64_t rows_seen,
                             uint64_t violations);
#endif

int tst_fail(int code, const char *fmt, ...) TST_PRINTF(2, 3);
/* Prefixes the current message with the formatted context; returns code. */
int tst_fail_context(int code, const char *fmt, ...) TST_PRINTF(2, 3);
/* Same as tst_fail() with errno's text appended: "...: No such file or directory". */
int tst_fail_errno(int code, int err, const char *fmt, ...) TST_PRINTF(3, 4);

void tst_fail_set_path(const char *path);
void tst_fail_set_conflict(uint64_t expected, uint64_t found);
void tst_fail_set_overlap(uint64_t count, const char *entity, uint64_t bucket,
                          const char *bucket_range);
/* TST_EOVERLAP: entities that overlap, and buckets of the first one that do. */
void tst_fail_set_overlap_entities(uint64_t entity_count, uint64_t first_entity_count);

/* TST_EUPDATEKEY: the rule, an example key (JSON object), rows read, violations. */
void tst_fail_set_update_key(const char *reason, const char *example_key, uint64_t rows_seen,
                             uint64_t violations);
#endif
