/*
 * diagnostics.c — the process-wide log callback (see diagnostics.h).
 *
 * The callback and its context are one pair guarded by a mutex, so a reader
 * never sees a new function with an old context. The callback itself runs
 * outside the lock: it may log, or replace itself, without deadlocking. The
 * price is that a callback being replaced may still receive an event that
 * was already on its way; callers that free their context after
 * tst_set_log_callback(NULL, NULL) must make sure no other thread is logging.
 */
#include "diagnostics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static tst_log_fn log_fn;
static void *log_ctx;

void tst_set_log_callback(tst_log_fn fn, void *ctx)
{
    pthread_mutex_lock(&log_lock);
    log_fn = fn;
    log_ctx = fn ? ctx : NULL;
    pthread_mutex_unlock(&log_lock);
}

void tst_log_event(tst_log_level level, const char *event, const char *fmt, ...)
{
    pthread_mutex_lock(&log_lock);
    tst_log_fn fn = log_fn;
    void *ctx = log_ctx;
    pthread_mutex_unlock(&log_lock);
    if (!fn)
        return;
    char message[TST_LOG_MESSAGE_CAP];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (n < 0)
        message[0] = '\0';
    else if ((size_t)n >= sizeof message)
        memcpy(message + sizeof message - 4, "...", 4); /* say it was cut */
    fn(ctx, level, event, message);
}
