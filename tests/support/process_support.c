/* process_support.c — see process_support.h. */
#include "process_support.h"

#include "fsio.h"
#include "log.h"
#include "state_at.h"
#include "tstable/error.h"
#include "tstable/append.h"
#include "tstable/session.h"
#include "testsupport.h"

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

static int commit_crash_child_op(tst_table *t, void *arg)
{
    const tst_proc_commit_crash *c = arg;
    return c->op(t, true);
}

/* One crash at step k on a copy of the template, then the checks. Returns 1
 * when the operation ran to the end without reaching step k. */
static int commit_crash_at_step(const tst_proc_commit_crash *c, const char *template_root,
                                const char *work, uint64_t k)
{
    tst_proc_copy_tree(template_root, work);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, work));
    uint64_t before = tst_table_version(t);
    size_t columns = tst_table_get_meta(t)->schema ? tst_table_get_meta(t)->schema->column_count : 0;
    tst_table_free(t);

    int status = tst_proc_run_crashing(work, k, commit_crash_child_op, (void *)c);
    assert_true(status == TST_PROC_CRASHED || status == 0);

    assert_tst_ok(tst_table_open(&t, work));
    uint64_t after = tst_table_version(t);
    assert_true(after == before || after == before + 1);
    if (status == 0)
        assert_int_equal(after, before + 1);
    int ops = after == before ? 0 : 1;
    if (c->check)
        c->check(t, columns, ops);
    uint64_t current = tst_proc_assert_replay_reads(work);
    assert_true(current == before || current == after);

    assert_tst_ok(c->op(t, false));
    assert_int_equal(tst_table_version(t), after + 1);
    if (c->check)
        c->check(t, columns, ops + 1);
    tst_table_free(t);
    assert_int_equal(tst_proc_assert_replay_reads(work), after + 1);
    return status == 0;
}

void tst_proc_commit_crash_rounds(const tst_proc_commit_crash *c)
{
    char *base = tst_test_tmpdir(c->tag);
    char *template_root = tst_test_path(base, "template");
    char *work = tst_test_path(base, "work");
    assert_int_equal(tst_test_write_commit(template_root, 1, c->first_actions), 0);
    assert_int_equal(tst_test_set_current(template_root, 1), 0);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, template_root));
    while (tst_table_version(t) < c->version_before)
        assert_tst_ok(tst_table_commit_json(t, "[]", NULL));
    tst_table_free(t);

    for (int round = 0; round < c->rounds; round++) {
        uint64_t k = 1;
        while (!commit_crash_at_step(c, template_root, work, k))
            k++;
        print_message("round %d at version %llu: crashed at each of %llu steps of %s\n", round,
                      (unsigned long long)c->version_before + 1, (unsigned long long)k - 1,
                      c->what);
        assert_true(k - 1 >= c->min_steps);
        /* The next round starts from the table this round left behind. */
        tst_proc_copy_tree(work, template_root);
    }
    free(template_root);
    free(work);
    tst_test_rmtree(base);
}

/* Day d of the sample for NVDA and AAPL, as <dir>/day<d>.parquet. */
static char *mixed_day_file(const char *dir, int d)
{
    char name[32], sql[4096], rows[1024];
    snprintf(name, sizeof name, "day%d.parquet", d);
    char *path = tst_test_path(dir, name);
    snprintf(rows, sizeof rows,
             "SELECT * FROM read_csv('%s/examples/data/nvda_1h_sample.csv') WHERE ts >= "
             "TIMESTAMPTZ '2024-06-01' + INTERVAL %d DAY AND ts < TIMESTAMPTZ '2024-06-01' + "
             "INTERVAL %d DAY", TST_SOURCE_DIR, d, d + 1);
    snprintf(sql, sizeof sql, "COPY (%s UNION ALL SELECT * REPLACE ('AAPL' AS symbol) FROM (%s)) "
             "TO '%s' (FORMAT parquet)", rows, rows, path);
    tst_test_duck_in_child(sql);
    return path;
}

static int append_file(tst_table *t, void *arg)
{
    return tst_table_append_parquet(t, arg, NULL, NULL);
}

void tst_proc_two_day_fixture_make(tst_proc_two_day_fixture *f, const char *tag,
                                   uint32_t protocol)
{
    memset(f, 0, sizeof *f);
    f->base = tst_test_tmpdir(tag);
    f->days = tst_test_path(f->base, "days");
    f->fixture = tst_test_path(f->base, "fixture");
    f->work = tst_test_path(f->base, "work");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", f->days);
    assert_int_equal(system(cmd), 0);
    for (int d = 0; d < 3; d++)
        f->day[d] = mixed_day_file(f->days, d);
    tst_table_free(tst_test_create_symbol_table(f->fixture, protocol));
    assert_int_equal(tst_proc_run_crashing(f->fixture, 0, append_file, f->day[0]), 0);
    assert_int_equal(tst_proc_run_crashing(f->fixture, 0, append_file, f->day[1]), 0);
    f->before = tst_test_log_state_of(f->fixture);
    assert_int_equal(f->before.version, 3);
}

void tst_proc_two_day_fixture_free(tst_proc_two_day_fixture *f)
{
    tst_test_log_state_clear(&f->before);
    for (int d = 0; d < 3; d++)
        free(f->day[d]);
    free(f->days);
    free(f->fixture);
    free(f->work);
    tst_test_rmtree(f->base);
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

void tst_proc_mark_won(char *seen, uint64_t last, const uint64_t *won, int n)
{
    for (int i = 0; i < n; i++) {
        uint64_t v = won[i];
        assert_true(v >= 2 && v <= last);
        assert_int_equal(seen[v], 0); /* no version won twice */
        seen[v] = 1;
    }
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

/* ---- vacuum ------------------------------------------------------------ */

static void assert_file(const char *root, const char *rel, uint64_t version)
{
    if (!rel)
        return;
    char *full = tst_test_path(root, rel);
    if (!tst_test_exists(full))
        fail_msg("version %llu of %s names %s, which is gone", (unsigned long long)version, root,
                 rel);
    free(full);
}

uint64_t tst_proc_assert_versions_whole(const char *root, uint64_t from)
{
    uint64_t head = 0;
    assert_int_equal(tst_log_head(root, &head), 0);
    for (uint64_t v = from ? from : 1; v <= head; v++) {
        tst_state st;
        int rc = tst_state_load_at(&st, root, v);
        if (rc != 0)
            fail_msg("version %llu of %s does not load: %s", (unsigned long long)v, root,
                     tst_error_last()->message);
        for (size_t i = 0; i < st.segment_count; i++) {
            assert_file(root, st.segments[i].path, v);
            assert_file(root, st.segments[i].coverage_path, v);
        }
        if (st.has_coverage)
            assert_file(root, st.coverage.coverage_path, v);
        tst_state_clear(&st);
    }
    return head;
}

void tst_proc_age_files(const char *dir, int64_t sec)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "find '%s' -type f -exec touch -h -d @%lld {} +", dir,
             (long long)sec);
    assert_int_equal(system(cmd), 0);
}

int tst_proc_append_once(const char *root, const char *file)
{
    tst_table *t = NULL;
    int rc = tst_table_open(&t, root);
    if (rc == 0)
        rc = tst_table_append_parquet(t, file, NULL, NULL);
    if (rc != 0)
        fprintf(stderr, "append %s: %s\n", file, tst_error_last()->message);
    tst_table_free(t);
    return rc;
}

void tst_proc_assert_query(const char *root, const char *expected, const char *sql)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        tst_session *s = NULL;
        if (tst_session_open(&s) != 0 || tst_session_register_table(s, "t", root) != 0)
            _exit(3);
        char *v = tst_test_first_value(s, sql, NULL, 0);
        if (strcmp(v, expected) != 0)
            fprintf(stderr, "%s\n  expected %s\n  got      %s\n", sql, expected, v);
        _exit(strcmp(v, expected) == 0 ? 0 : 5);
    }
    assert_int_equal(tst_proc_wait(pid), 0);
}
