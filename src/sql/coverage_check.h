/*
 * coverage_check.h — coverage-guaranteed reads: are the (entity, bucket)
 * slots a statement reads all covered? (see coverage_check.c and
 * tstable/session.h)
 */
#ifndef TST_COVERAGE_CHECK_H
#define TST_COVERAGE_CHECK_H

#include "prune.h"
#include "tstable/session.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * Checks what a pruned statement reads of each table it reaches
 * (targets[i].asks; indirect[i]: reached through a view or macro, so all
 * of it, or unchecked when `sql` or a definition names its index column;
 * !referenced: unreadable), under the session's coverage mode, and
 * keeps the report in the session (replacing the last one; none when the
 * mode is off). Returns TST_EINCOMPLETE when the mode is
 * TST_COVERAGE_REQUIRE and the check fails; TST_ENOMEM; the errors of
 * loading a table's coverage.
 */
int tst_coverage_check_statement(tst_session *s, const char *sql,
                                 const tst_prune_target *targets, const bool *indirect,
                                 size_t count);

/* Forgets the session's last report (before a statement, and at the end). */
void tst_coverage_report_drop(tst_session *s);

#endif
