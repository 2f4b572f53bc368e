/*
 * bench_open_long_log.c — how long does opening a table with a long log take?
 *
 *   bench_open_long_log [COMMITS] [FOLDER]     default 100000, a temp folder
 *
 * Builds a table whose log has COMMITS commits, each adding one segment (the
 * worst case for replay: every commit changes the state), then times, in one
 * run and side by side:
 *   - open from the latest checkpoint plus the commits after it;
 *   - open by replaying every commit from version 1, as a format_version 6
 *     reader must (the checkpoint pointer hidden);
 *   - refresh of an open handle after one more commit.
 * Building uses TST_UNSAFE_NO_FSYNC=1 so the fixture takes minutes, not
 * hours; the opens themselves only read. Prints one line per measurement.
 */
#include "tstable/error.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int die(const char *what)
{
    fprintf(stderr, "bench_open_long_log: %s: %s\n", what, tst_error_last()->message);
    return 1;
}

static const char *SCHEMA_META =
    "{\"UpdateTableMeta\":{\"kind\":{\"TimeSeries\":{\"column\":\"ts\",\"entity_columns\":"
    "[\"symbol\"],\"kind\":{\"type\":\"timestamp\",\"bucket\":{\"Hours\":1}}}},"
    "\"logical_schema\":{\"columns\":[{\"name\":\"ts\",\"data_type\":{\"Timestamp\":{\"unit\":"
    "\"Millis\",\"timezone\":null}},\"nullable\":false},{\"name\":\"symbol\",\"data_type\":"
    "\"Utf8\",\"nullable\":false}]},\"created_at\":\"2026-01-01T00:00:00Z\",\"format_version\":6}}";

static int add_segment(tst_table *t, long i)
{
    char min[TST_TIMESTAMP_TEXT_MAX], max[TST_TIMESTAMP_TEXT_MAX], actions[1024];
    tst_timestamp_format((tst_timestamp){1700000000LL + i * 3600, 0}, min, sizeof min);
    tst_timestamp_format((tst_timestamp){1700000000LL + i * 3600 + 3599, 0}, max, sizeof max);
    snprintf(actions, sizeof actions,
             "[{\"AddSegment\":{\"path\":\"data/%08ld.parquet\",\"format\":\"parquet\","
             "\"entity_layout\":{\"Single\":[{\"type\":\"utf8\",\"value\":\"SYM%ld\"}]},"
             "\"index_min\":{\"type\":\"timestamp\",\"value\":\"%s\"},\"index_max\":{\"type\":"
             "\"timestamp\",\"value\":\"%s\"},\"row_count\":3600,\"file_size\":65536,"
             "\"coverage_path\":\"_coverage/segments/segcov-%08ld.roar\"}}]",
             i, i % 50, min, max, i);
    return tst_table_commit_json(t, actions, NULL);
}

int main(int argc, char **argv)
{
    long commits = argc > 1 ? atol(argv[1]) : 100000;
    char root[4096];
    if (argc > 2) {
        snprintf(root, sizeof root, "%s", argv[2]);
    } else {
        snprintf(root, sizeof root, "%s/tst-bench-open-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(root))
            return perror("mkdtemp"), 1;
    }
    setenv("TST_UNSAFE_NO_FSYNC", "1", 1);
    char *entities[] = {"symbol"};
    tst_index_spec spec = {"ts", entities, 1, {TST_INDEX_TIMESTAMP, {TST_TIME_HOURS, 1}, 0, ""}};
    tst_table *t = NULL;
    double t0 = now_ms();
    if (tst_table_create(&t, root, &spec) != 0)
        return die("create");
    char first[2048];
    snprintf(first, sizeof first, "[%s]", SCHEMA_META);
    if (tst_table_commit_json(t, first, NULL) != 0)
        return die("schema commit");
    for (long i = 0; i < commits; i++) {
        if (add_segment(t, i) != 0)
            return die("commit");
        if ((i + 1) % 10000 == 0)
            fprintf(stderr, "  built %ld commits (%.1f s)\n", i + 1, (now_ms() - t0) / 1e3);
    }
    tst_table_free(t);
    printf("built %ld commits in %.1f s (%.2f ms/commit, fsync off)\n", commits,
           (now_ms() - t0) / 1e3, (now_ms() - t0) / commits);

    t0 = now_ms();
    if (tst_table_open(&t, root) != 0)
        return die("open");
    printf("open from checkpoint: %.1f ms (version %llu, %zu segments)\n", now_ms() - t0,
           (unsigned long long)tst_table_version(t), tst_table_segment_count(t));

    tst_table *writer = NULL;
    if (tst_table_open(&writer, root) != 0 || add_segment(writer, commits) != 0)
        return die("one more commit");
    t0 = now_ms();
    bool changed = false;
    if (tst_table_refresh(t, &changed) != 0)
        return die("refresh");
    printf("refresh after one new commit: %.2f ms\n", now_ms() - t0);
    tst_table_free(writer);
    tst_table_free(t);

    char pointer[4200], hidden[4200];
    snprintf(pointer, sizeof pointer, "%s/_timeseries_log/_last_checkpoint", root);
    snprintf(hidden, sizeof hidden, "%s/last_checkpoint.hidden", root);
    if (rename(pointer, hidden) != 0)
        return perror("rename"), 1;
    t0 = now_ms();
    if (tst_table_open(&t, root) != 0)
        return die("open by full replay");
    printf("open by full replay:  %.1f ms\n", now_ms() - t0);
    tst_table_free(t);
    rename(hidden, pointer);
    if (argc <= 2) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", root);
    }
    return 0;
}
