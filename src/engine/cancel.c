/*
 * cancel.c — cancellation tokens for long operations (see cancel.h and
 * tstable/append.h).
 *
 * A token is a flag and the list of DuckDB connections in use under it.
 * Requesting cancellation sets the flag and interrupts each connection's
 * running query; both happen under the token's mutex, as do attach and
 * detach, so a connection is never interrupted after it was closed. The
 * flag is also checked before each query starts (a request that lands
 * between two queries), and by the append between its steps.
 */
#include "cancel.h"

#include "duck.h"
#include "fail.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define CANCEL_MAX_CONNECTIONS 16

struct tst_cancel {
    pthread_mutex_t lock;
    atomic_bool requested;
    duckdb_connection cons[CANCEL_MAX_CONNECTIONS];
};

static _Thread_local tst_cancel *current;

int tst_cancel_new(tst_cancel **out)
{
    if (!out)
        return tst_fail(TST_EINVAL, "tst_cancel_new needs an out pointer");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return tst_fail(TST_ENOMEM, "out of memory creating a cancellation token");
    pthread_mutex_init(&(*out)->lock, NULL);
    atomic_init(&(*out)->requested, false);
    return 0;
}

void tst_cancel_free(tst_cancel *token)
{
    if (!token)
        return;
    pthread_mutex_destroy(&token->lock);
    free(token);
}

void tst_cancel_request(tst_cancel *token)
{
    if (!token)
        return;
    pthread_mutex_lock(&token->lock);
    atomic_store(&token->requested, true);
    for (size_t i = 0; i < CANCEL_MAX_CONNECTIONS; i++)
        if (token->cons[i])
            duckdb_interrupt(token->cons[i]);
    pthread_mutex_unlock(&token->lock);
}

bool tst_cancel_requested(const tst_cancel *token)
{
    return token && atomic_load(&((tst_cancel *)token)->requested);
}

tst_cancel *tst_cancel_scope_enter(tst_cancel *token)
{
    tst_cancel *previous = current;
    current = token;
    return previous;
}

void tst_cancel_scope_leave(tst_cancel *previous)
{
    current = previous;
}

tst_cancel *tst_cancel_current(void)
{
    return current;
}

void tst_cancel_attach(duckdb_connection con)
{
    tst_cancel *t = current;
    if (!t || !con)
        return;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < CANCEL_MAX_CONNECTIONS; i++) {
        if (!t->cons[i]) {
            t->cons[i] = con;
            break;
        }
    }
    if (atomic_load(&t->requested))
        duckdb_interrupt(con);
    pthread_mutex_unlock(&t->lock);
}

void tst_cancel_detach(duckdb_connection con)
{
    tst_cancel *t = current;
    if (!t || !con)
        return;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < CANCEL_MAX_CONNECTIONS; i++)
        if (t->cons[i] == con)
            t->cons[i] = NULL;
    pthread_mutex_unlock(&t->lock);
}

int tst_cancel_check(const char *what)
{
    if (!tst_cancel_requested(current))
        return 0;
    return tst_fail(TST_ECANCELLED, "%s cancelled", what);
}
