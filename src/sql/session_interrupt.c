/*
 * session_interrupt.c — cancelling the statement a session is running
 * (tst_session_interrupt), for a shell's Ctrl-C.
 *
 * DuckDB's duckdb_interrupt() only raises a flag that the running query
 * checks between chunks; it takes no lock the running thread holds, so it
 * may be called from another thread while tst_rows_next or an export is
 * blocked in the engine. The statement then fails with DuckDB's
 * "INTERRUPT Error: Interrupted!" (TST_ESQL) and the session stays usable,
 * its registrations intact. A separate file so the registry (session.c)
 * stays as it is.
 */
#include "session_internal.h"

void tst_session_interrupt(tst_session *session)
{
    if (session && session->con)
        duckdb_interrupt(session->con);
}
