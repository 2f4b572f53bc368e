/*
 * diagnostics.h — how library code reports notable events without printing.
 *
 * The library never writes to stdout or stderr. Events a user may want to
 * know about (a coverage snapshot rebuilt from segment sidecars, ...) go to
 * the process-wide callback set with tst_set_log_callback() (public, in
 * tstable/table_coverage.h). With no callback set, an event costs one
 * mutex-guarded pointer read and nothing is formatted.
 *
 * Event names are stable, dotted identifiers ("coverage.recover"); messages
 * are one line of "key=value" friendly prose, cut at TST_LOG_MESSAGE_CAP.
 * Callers must keep user data (entity values, row contents) out of them:
 * the callback may forward them to shared logs.
 */
#ifndef TST_DIAGNOSTICS_H
#define TST_DIAGNOSTICS_H

#include "fail.h"
#include "tstable/table_coverage.h"

/* Longest message handed to the callback, including the NUL. */
#define TST_LOG_MESSAGE_CAP 1024

void tst_log_event(tst_log_level level, const char *event, const char *fmt, ...) TST_PRINTF(3, 4);

#endif
