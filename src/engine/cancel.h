/*
 * cancel.h — how a tst_cancel token (tstable/append.h) reaches DuckDB.
 *
 * A long append spends its time inside DuckDB queries that the library
 * cannot stop between rows. So a token keeps the connections opened while
 * it is in scope on the calling thread, and tst_cancel_request() calls
 * duckdb_interrupt() on each: the running query fails, its caller cleans up
 * as after any failure, and tst_duck_query() reports TST_ECANCELLED.
 *
 * Scope: tst_cancel_scope_enter() makes a token the calling thread's
 * current one (NULL: none) and returns the previous one, to restore with
 * tst_cancel_scope_leave(). tst_duck_connect/disconnect/query consult it
 * (tst_cancel_attach/detach are declared in duck.h, which knows DuckDB's
 * types; this header does not, so core code can include it).
 */
#ifndef TST_CANCEL_H
#define TST_CANCEL_H

#include "tstable/append.h"

tst_cancel *tst_cancel_scope_enter(tst_cancel *token);
void tst_cancel_scope_leave(tst_cancel *previous);
/* The calling thread's current token, or NULL. */
tst_cancel *tst_cancel_current(void);

/* TST_ECANCELLED "<what> cancelled" when the current token was cancelled, else 0. */
int tst_cancel_check(const char *what);

#endif
