/* process_support.c — see process_support.h. */
#include "process_support.h"

#include "fsio.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void tst_proc_copy_tree(const char *from, const char *to)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    assert_int_equal(system(cmd), 0);
}

int tst_proc_wait(pid_t pid)
{
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

int tst_proc_run_crashing(const char *root, uint64_t k, tst_proc_table_op op, void *arg)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        tst_table *t = NULL;
        if (root && tst_table_open(&t, root) != 0)
            _exit(3);
        if (k)
            tst_io_set_fault(TST_IO_FAULT_CRASH, k);
        _exit(op(t, arg) == 0 ? 0 : 4);
    }
    return tst_proc_wait(pid);
}

uint64_t tst_proc_assert_replay_reads(const char *root)
{
    uint64_t current = 0;
    assert_tst_ok(tst_log_read_current(root, &current));
    assert_true(current >= 1);
    for (uint64_t v = 1; v <= current; v++) {
        tst_commit c;
        assert_tst_ok(tst_log_load_commit(root, v, &c));
        tst_commit_clear(&c);
    }
    return current;
}

void tst_proc_run_writers(int n, tst_proc_writer writer, void *arg, void *reports, size_t size)
{
    int (*fds)[2] = calloc((size_t)n, sizeof *fds);
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    assert_non_null(fds);
    assert_non_null(pids);
    for (int w = 0; w < n; w++) {
        assert_int_equal(pipe(fds[w]), 0);
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            void *rep = (char *)reports + (size_t)w * size;
            memset(rep, 0, size);
            int rc = writer(w, rep, arg);
            if (rc != 0)
                _exit(rc);
            ssize_t put = write(fds[w][1], rep, size);
            _exit(put == (ssize_t)size ? 0 : 4);
        }
        close(fds[w][1]);
    }
    for (int w = 0; w < n; w++) {
        void *rep = (char *)reports + (size_t)w * size;
        assert_int_equal(read(fds[w][0], rep, size), (ssize_t)size);
        close(fds[w][0]);
        assert_int_equal(tst_proc_wait(pids[w]), 0);
    }
    free(fds);
    free(pids);
}

void tst_proc_run_gated(int n, int (*job)(int w, void *arg), void *arg, int *statuses)
{
    int gate[2];
    assert_int_equal(pipe(gate), 0);
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    assert_non_null(pids);
    for (int w = 0; w < n; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            close(gate[1]);
            char go;
            if (read(gate[0], &go, 1) != 0)
                _exit(99);
            _exit(job(w, arg));
        }
    }
    close(gate[0]);
    close(gate[1]); /* everyone reads EOF at once */
    for (int w = 0; w < n; w++)
        statuses[w] = tst_proc_wait(pids[w]);
    free(pids);
}
