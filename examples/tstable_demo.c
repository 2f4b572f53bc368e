/*
 * tstable_demo.c — the core of tstable in one run, through the public API.
 *
 *   tstable_demo TABLE_ROOT SAMPLE_CSV [PROTOCOL]
 *
 * PROTOCOL is 7 (the default: the reference 0.5 to 0.9 read the table) or 6
 * (format_version 6, for the reference 0.4).
 * Creates (or opens) an hourly table keyed by symbol, appends the sample
 * bars, and asks the table the coverage questions: how much of a window is
 * covered, the longest gap, where the gaps are, the last fully covered day,
 * and a per-symbol summary. Then it appends the same file again, which the
 * table rejects as overlap without writing anything.
 */
#include "tstable/append.h"
#include "tstable/error.h"
#include "tstable/index.h"
#include "tstable/table.h"
#include "tstable/table_coverage.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what)
{
    const tst_error *e = tst_error_last();
    fprintf(stderr, "tstable_demo: %s: %s (%s)\n", what, e->message, tst_error_name(e->code));
    return 1;
}

static tst_table *open_or_create(const char *root, uint32_t protocol)
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
    spec.kind.protocol = protocol; /* 0 is the library's default, protocol 7 */
    tst_table *t = NULL;
    if (tst_table_create(&t, root, &spec) == 0) {
        printf("created table %s (index ts, 1h buckets, entity symbol)\n", root);
        return t;
    }
    if (tst_error_last()->code == TST_EEXISTS && tst_table_open(&t, root) == 0) {
        printf("opened table %s at version %" PRIu64 "\n", root, tst_table_version(t));
        return t;
    }
    fail("create table");
    return NULL;
}

static tst_index_value at(const char *text)
{
    tst_index_value v = {TST_INDEX_TIMESTAMP, {{0, 0}}};
    tst_timestamp_parse(&v.v.ts, text);
    return v;
}

static int print_gap(void *ctx, const tst_index_value *start, const tst_index_value *end,
                     bool end_inclusive, uint64_t buckets)
{
    (void)ctx;
    char a[TST_TIMESTAMP_TEXT_MAX], b[TST_TIMESTAMP_TEXT_MAX];
    tst_index_value_format(start, a, sizeof a);
    tst_index_value_format(end, b, sizeof b);
    printf("    missing [%s, %s%c: %" PRIu64 " hours\n", a, b, end_inclusive ? ']' : ')', buckets);
    return 0;
}

static int ask(tst_table *t, const tst_entity_binding *who, const char *start, const char *end)
{
    tst_index_value s = at(start), e = at(end);
    tst_coverage_counts c;
    if (tst_table_coverage(t, who, 1, &s, &e, &c) != 0)
        return fail("coverage");
    printf("  [%s, %s): %.1f%% covered (%" PRIu64 " of %" PRIu64 " hours), longest gap %" PRIu64
           " hours\n", start, end, 100.0 * c.ratio, c.covered_buckets, c.total_buckets,
           c.max_gap_buckets);
    if (tst_table_gaps(t, who, 1, &s, &e, 0, print_gap, NULL) != 0)
        return fail("gaps");
    bool found = false;
    tst_index_value ws, we;
    if (tst_table_last_covered_window(t, who, 1, &e, 24, &found, &ws, &we) != 0)
        return fail("last window");
    char a[TST_TIMESTAMP_TEXT_MAX] = "-";
    if (found)
        tst_index_value_format(&ws, a, sizeof a);
    printf("    last fully covered 24 hours before %s start at %s\n", end, a);
    return 0;
}

static int summarize(tst_table *t)
{
    tst_coverage_summary *sum = NULL;
    if (tst_table_coverage_summary(t, &sum) != 0)
        return fail("summary");
    for (size_t i = 0; i < tst_coverage_summary_count(sum); i++) {
        const tst_entity_summary *s = tst_coverage_summary_at(sum, i);
        char name[128], first[TST_TIMESTAMP_TEXT_MAX] = "-", last[TST_TIMESTAMP_TEXT_MAX] = "-";
        tst_entity_identity_format(&s->identity, name, sizeof name);
        if (s->covered) {
            tst_index_value_format(&s->first, first, sizeof first);
            tst_index_value_format(&s->last, last, sizeof last);
        }
        printf("  symbol=%s: %" PRIu64 " hours from %s to %s, %" PRIu64 " gaps\n", name,
               s->covered_buckets, first, last, s->gaps);
    }
    tst_coverage_summary_free(sum);
    return 0;
}

int main(int argc, char **argv)
{
    uint32_t protocol = argc == 4 ? (uint32_t)atoi(argv[3]) : 0;
    if ((argc != 3 && argc != 4) || (argc == 4 && protocol != 6 && protocol != 7)) {
        fprintf(stderr, "usage: tstable_demo TABLE_ROOT SAMPLE_CSV [6|7]\n");
        return 2;
    }
    tst_table *t = open_or_create(argv[1], protocol);
    if (!t)
        return 1;
    tst_append_result res;
    if (tst_table_append_csv(t, argv[2], NULL, NULL, &res) != 0) {
        tst_table_free(t);
        return fail("append");
    }
    printf("appended %" PRIu64 " rows from %s as version %" PRIu64 " (%s, %" PRIu64 " bytes)\n",
           res.rows, argv[2], res.version, res.segment_path, res.bytes);

    tst_entity_binding nvda = {"symbol", {TST_ENTITY_UTF8, {{"NVDA", 4}}}};
    printf("coverage of symbol=NVDA:\n");
    int rc = ask(t, &nvda, "2024-06-01T00:00:00Z", "2024-06-11T00:00:00Z");
    if (rc == 0)
        rc = ask(t, &nvda, "2024-05-30T00:00:00Z", "2024-06-12T12:00:00Z");
    printf("summary:\n");
    if (rc == 0)
        rc = summarize(t);

    printf("appending the same file again:\n");
    if (rc == 0 && tst_table_append_csv(t, argv[2], NULL, NULL, NULL) == TST_EOVERLAP)
        printf("  rejected: %s\n", tst_error_last()->message);
    else if (rc == 0)
        rc = fail("the second append should have been rejected");
    printf("table %s is at version %" PRIu64 " with %zu segment(s)\n", argv[1],
           tst_table_version(t), tst_table_segment_count(t));
    tst_table_free(t);
    return rc;
}
