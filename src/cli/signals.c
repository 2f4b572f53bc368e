/*
 * signals.c — Ctrl-C and SIGTERM cancel a long command instead of killing it
 * half way.
 *
 * cli_guard_start() blocks the two signals before any other thread exists
 * (DuckDB starts its threads on first use, and they inherit the mask) and
 * starts a thread that waits for them in sigwait(). The first signal asks
 * the library to cancel through the guard's tst_cancel token, which the
 * command passes to the operation; the library then removes what it wrote
 * and returns TST_ECANCELLED, and the command exits 128 + the signal. A
 * second signal kills the process as it would without the guard.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "cli.h"

static void *wait_signals(void *arg)
{
    cli_signal_guard *g = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(&g->set, &sig) != 0)
            continue;
        if (!g->received) {
            g->received = sig;
            tst_cancel_request(g->cancel);
            continue;
        }
        /* A second signal: the user means it. Die by it, as without us. */
        signal(sig, SIG_DFL);
        pthread_sigmask(SIG_UNBLOCK, &g->set, NULL);
        raise(sig);
    }
    return NULL;
}

void cli_guard_start(cli_signal_guard *g)
{
    memset(g, 0, sizeof *g);
    sigemptyset(&g->set);
    sigaddset(&g->set, SIGINT);
    sigaddset(&g->set, SIGTERM);
    if (tst_cancel_new(&g->cancel) != 0)
        return;
    pthread_sigmask(SIG_BLOCK, &g->set, NULL);
    g->running = pthread_create(&g->thread, NULL, wait_signals, g) == 0;
}

void cli_guard_stop(cli_signal_guard *g)
{
    if (g->running) {
        pthread_cancel(g->thread); /* sigwait is a cancellation point */
        pthread_join(g->thread, NULL);
    }
    tst_cancel_free(g->cancel);
    g->cancel = NULL;
}
