/*
 * test_append_signal.c — `tstable append` interrupted by SIGINT or SIGTERM
 * (report finding 12).
 *
 * A CSV of 400k rows is re-encoded by the real command line, and a signal
 * arrives at one of several points: while the CSV is sniffed and measured
 * (a tenth and a third of the time a whole append of the file takes on this
 * machine, timed once in setup, so that a fast machine does not finish
 * before the signal) or while the segment is being written (as soon as a
 * "data/_managed/append/<uuid>.parquet.<uuid>.tmp" file exists). The process must exit
 * with 128 + the signal and "append cancelled; nothing was written", leave
 * no file in data/ or _coverage/, keep the table at its version, and the
 * table must take the same file afterwards. A second signal still kills.
 */
#include "testsupport.h"

#include "tstable/table.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TSTABLE TST_BINARY_DIR "/tstable"
#define ROWS 400000

typedef struct fixture {
    char *dir, *csv, *table;
    long append_ms; /* one whole append of the CSV, timed in setup */
} fixture;

static fixture fx;

static void write_csv(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("ts,symbol,open,high,low,close,volume\n", f);
    for (long i = 0; i < ROWS; i++) {
        long minute = i / 40;
        fprintf(f, "2024-01-%02ldT%02ld:%02ld:00Z,S%02ld,%ld.5,%ld.5,%ld.5,%ld.5,%ld\n",
                1 + minute / 1440, minute / 60 % 24, minute % 60, i % 40, i, i, i, i, i);
    }
    assert_int_equal(fclose(f), 0);
}

/* Runs tstable with args (NULL-terminated); returns the child's pid. */
static pid_t spawn(char *const argv[], bool quiet)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (quiet) {
            freopen("/dev/null", "w", stdout);
            freopen("/dev/null", "w", stderr);
        }
        execv(TSTABLE, argv);
        _exit(127);
    }
    return pid;
}

static int run(char *const argv[])
{
    int status = 0;
    waitpid(spawn(argv, true), &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void create_table(void)
{
    if (fx.table)
        tst_test_rmtree(fx.table);
    fx.table = tst_test_path(fx.dir, "t");
    char *argv[] = {"tstable", "create", "--table", fx.table, "--index-column", "ts",
                    "--bucket", "1m", "--entity", "symbol", NULL};
    assert_int_equal(run(argv), 0);
}

static int count_in(const char *rel)
{
    char *path = tst_test_path(fx.table, rel);
    int n = tst_test_exists(path) ? tst_test_count_files(path) : 0;
    free(path);
    return n;
}

static int leftovers(void)
{
    return count_in("data") + count_in("_coverage/segments") + count_in("_coverage/table");
}

static bool has_tmp(void)
{
    char *path = tst_test_path(fx.table, "data/_managed/append"); /* protocol 7 appends */
    DIR *d = opendir(path);
    free(path);
    bool found = false;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        found |= strstr(e->d_name, ".tmp") != NULL;
    if (d)
        closedir(d);
    return found;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits up to 60 s for a temp file of the append; false if the child ended first. */
static bool wait_for_tmp(pid_t pid)
{
    for (int i = 0; i < 60000; i++) {
        if (has_tmp())
            return true;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fail_msg("the append ended (status %d) before writing a temp file", status);
            return false;
        }
        sleep_ms(1);
    }
    return false;
}

static pid_t start_append(void)
{
    char *argv[] = {"tstable", "append", "--table", fx.table, "--csv", fx.csv, NULL};
    return spawn(argv, true);
}

static void assert_cancelled(pid_t pid, int sig)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 128 + sig);
    assert_int_equal(leftovers(), 0);
}

/* The table is still at version 1 and takes the same file now. */
static void assert_unchanged_and_appendable(void)
{
    tst_table *t = NULL;
    assert_int_equal(tst_table_open(&t, fx.table), 0);
    assert_int_equal(tst_table_version(t), 1);
    tst_table_free(t);
    char *argv[] = {"tstable", "append", "--table", fx.table, "--csv", fx.csv, NULL};
    assert_int_equal(run(argv), 0);
    assert_int_equal(count_in("data"), 1);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A share of a whole append's time: the signal lands inside the append. */
static void signal_after_delay(int sig, long percent)
{
    long ms = fx.append_ms * percent / 100;
    if (ms < 50)
        ms = 50; /* after the command has installed its signal handling */
    create_table();
    pid_t pid = start_append();
    sleep_ms(ms);
    kill(pid, sig);
    assert_cancelled(pid, sig);
    assert_unchanged_and_appendable();
}

static void signal_while_writing(int sig)
{
    create_table();
    pid_t pid = start_append();
    assert_true(wait_for_tmp(pid));
    kill(pid, sig);
    assert_cancelled(pid, sig);
    assert_unchanged_and_appendable();
}

static void sigint_while_reading_the_csv_removes_everything(void **state)
{
    (void)state;
    signal_after_delay(SIGINT, 10);
}

static void sigterm_while_reading_the_csv_removes_everything(void **state)
{
    (void)state;
    signal_after_delay(SIGTERM, 10);
}

static void sigint_while_measuring_removes_everything(void **state)
{
    (void)state;
    signal_after_delay(SIGINT, 33);
}

static void sigterm_while_measuring_removes_everything(void **state)
{
    (void)state;
    signal_after_delay(SIGTERM, 33);
}

static void sigint_while_writing_removes_the_temp_file(void **state)
{
    (void)state;
    signal_while_writing(SIGINT);
}

static void sigterm_while_writing_removes_the_temp_file(void **state)
{
    (void)state;
    signal_while_writing(SIGTERM);
}

static void a_second_signal_kills_the_process(void **state)
{
    (void)state;
    create_table();
    pid_t pid = start_append();
    assert_true(wait_for_tmp(pid));
    kill(pid, SIGINT);
    kill(pid, SIGINT);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* Killed by the second signal, or the first one's cancellation won the race. */
    assert_true((WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) ||
                (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGINT));
}

static int setup(void **state)
{
    (void)state;
    fx.dir = tst_test_tmpdir("append_signal");
    fx.csv = tst_test_path(fx.dir, "big.csv");
    write_csv(fx.csv);
    create_table();
    char *argv[] = {"tstable", "append", "--table", fx.table, "--csv", fx.csv, NULL};
    long start = now_ms();
    assert_int_equal(run(argv), 0);
    fx.append_ms = now_ms() - start;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(fx.table);
    free(fx.csv);
    tst_test_rmtree(fx.dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sigint_while_reading_the_csv_removes_everything),
        cmocka_unit_test(sigterm_while_reading_the_csv_removes_everything),
        cmocka_unit_test(sigint_while_measuring_removes_everything),
        cmocka_unit_test(sigterm_while_measuring_removes_everything),
        cmocka_unit_test(sigint_while_writing_removes_the_temp_file),
        cmocka_unit_test(sigterm_while_writing_removes_the_temp_file),
        cmocka_unit_test(a_second_signal_kills_the_process),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
