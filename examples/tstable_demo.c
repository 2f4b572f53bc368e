/*
 * tstable_demo.c — the core of tstable in one run, through the public API.
 *
 *   tstable_demo TABLE_ROOT SAMPLE_CSV
 *
 * Creates (or opens) an hourly table keyed by symbol, reads the sample bars'
 * timestamps into per-symbol coverage, and answers the coverage questions:
 * how much of a window is covered, the longest gap, where the gaps are, and
 * the last fully covered day. Then it shows optimistic concurrency: two
 * handles commit on the same version and the second is told to retry.
 *
 * Appending Parquet data and SQL come with the append and query layers;
 * until then the coverage here is computed in memory from the CSV.
 */
#include "tstable/coverage.h"
#include "tstable/error.h"
#include "tstable/index.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what)
{
    const tst_error *e = tst_error_last();
    fprintf(stderr, "tstable_demo: %s: %s (%s)\n", what, e->message, tst_error_name(e->code));
    return 1;
}

static tst_table *open_or_create(const char *root)
{
    static char *entities[] = {"symbol"};
    tst_index_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.column = "ts";
    spec.entity_columns = entities;
    spec.entity_count = 1;
    spec.kind.type = TST_INDEX_TIMESTAMP;
    spec.kind.bucket.unit = TST_TIME_HOURS;
    spec.kind.bucket.count = 1;
    tst_table *t = NULL;
    if (tst_table_create(&t, root, &spec) == 0) {
        printf("created table at %s\n", root);
        return t;
    }
    if (tst_error_last()->code == TST_EEXISTS && tst_table_open(&t, root) == 0) {
        printf("opened table at %s\n", root);
        return t;
    }
    fail("create table");
    return NULL;
}

/* Reads "ts,symbol,..." rows into per-symbol hourly coverage. */
static int load_csv(const char *path, const tst_index_kind *kind, tst_entity_coverage *ec,
                    size_t *out_rows)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char line[1024];
    size_t rows = 0;
    int rc = fgets(line, sizeof line, f) ? 0 : -1; /* header */
    while (rc == 0 && fgets(line, sizeof line, f)) {
        char *ts_text = strtok(line, ",");
        char *symbol = strtok(NULL, ",");
        if (!ts_text || !symbol)
            continue;
        tst_index_value v = {TST_INDEX_TIMESTAMP, {{0, 0}}};
        uint64_t bucket = 0;
        tst_entity_value sym = {TST_ENTITY_UTF8, {{symbol, strlen(symbol)}}};
        tst_entity_identity id = {1, &sym};
        tst_coverage *cov = NULL;
        rc = tst_timestamp_parse(&v.v.ts, ts_text);
        if (rc == 0)
            rc = tst_bucket_of(kind, &v, &bucket);
        if (rc == 0)
            rc = tst_entity_coverage_get_or_add(ec, &id, &cov);
        if (rc == 0)
            rc = tst_coverage_add(cov, bucket);
        rows++;
    }
    fclose(f);
    *out_rows = rows;
    return rc;
}

static int print_gap(void *ctx, uint64_t first, uint64_t last)
{
    const tst_index_kind *kind = ctx;
    tst_index_value start, end, ignored;
    bool inclusive = false;
    char a[TST_TIMESTAMP_TEXT_MAX], b[TST_TIMESTAMP_TEXT_MAX];
    tst_bucket_bounds(kind, first, &start, &ignored, &inclusive);
    tst_bucket_bounds(kind, last, &ignored, &end, &inclusive);
    tst_index_value_format(&start, a, sizeof a);
    tst_index_value_format(&end, b, sizeof b);
    printf("    missing [%s, %s): %llu hours\n", a, b, (unsigned long long)(last - first + 1));
    return 0;
}

static int answer(const tst_index_kind *kind, const tst_coverage *cov, const char *start,
                  const char *end)
{
    tst_index_value s = {TST_INDEX_TIMESTAMP, {{0, 0}}}, e = s;
    uint64_t first = 0, last = 0;
    if (tst_timestamp_parse(&s.v.ts, start) != 0 || tst_timestamp_parse(&e.v.ts, end) != 0 ||
        tst_bucket_range(kind, &s, &e, &first, &last) != 0)
        return fail("range");
    printf("  [%s, %s): %.1f%% covered (%llu of %llu hours), longest gap %llu hours\n", start, end,
           100.0 * tst_coverage_ratio(cov, first, last),
           (unsigned long long)tst_coverage_count_range(cov, first, last),
           (unsigned long long)(last - first + 1),
           (unsigned long long)tst_coverage_max_gap(cov, first, last));
    tst_coverage_each_missing_run(cov, first, last, 0, print_gap, (void *)kind);
    uint64_t wf = 0, wl = 0;
    if (tst_coverage_last_window(cov, last, 24, &wf, &wl)) {
        char a[TST_BUCKET_TEXT_MAX];
        tst_bucket_format(kind, wf, a, sizeof a);
        printf("    last fully covered 24 hours start at %s\n", a);
    }
    return 0;
}

static int show_conflict(const char *root, tst_table *t)
{
    tst_table *other = NULL;
    if (tst_table_open(&other, root) != 0)
        return fail("open second handle");
    uint64_t v = 0;
    if (tst_table_commit_json(t, "[]", &v) != 0)
        return fail("commit");
    printf("handle A committed version %llu\n", (unsigned long long)v);
    if (tst_table_commit_json(other, "[]", &v) == TST_ECONFLICT)
        printf("handle B was told: %s\n", tst_error_last()->message);
    tst_table_free(other);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: tstable_demo TABLE_ROOT SAMPLE_CSV\n");
        return 2;
    }
    tst_table *t = open_or_create(argv[1]);
    if (!t)
        return 1;
    const tst_index_spec *spec = tst_table_index(t);
    char bucket[16];
    tst_time_bucket_format(spec->kind.bucket, bucket, sizeof bucket);
    printf("version %llu, index '%s' (timestamp, %s buckets), entity column '%s', %zu segments\n",
           (unsigned long long)tst_table_version(t), spec->column, bucket,
           spec->entity_columns[0], tst_table_segment_count(t));

    tst_entity_coverage *ec = NULL;
    size_t rows = 0;
    if (tst_entity_coverage_new(&ec) != 0 || load_csv(argv[2], &spec->kind, ec, &rows) != 0)
        return fail("read sample");
    printf("read %zu rows from %s into coverage of %zu symbol(s)\n", rows, argv[2],
           tst_entity_coverage_count(ec));
    for (size_t i = 0; i < tst_entity_coverage_count(ec); i++) {
        tst_entity_identity id;
        const tst_coverage *cov = NULL;
        tst_entity_coverage_at(ec, i, &id, &cov);
        char name[128];
        tst_entity_identity_format(&id, name, sizeof name);
        printf("symbol=%s:\n", name);
        answer(&spec->kind, cov, "2024-06-01T00:00:00Z", "2024-06-11T00:00:00Z");
        answer(&spec->kind, cov, "2024-05-30T00:00:00Z", "2024-06-12T12:00:00Z");
    }
    int rc = show_conflict(argv[1], t);
    tst_entity_coverage_free(ec);
    tst_table_free(t);
    return rc;
}
