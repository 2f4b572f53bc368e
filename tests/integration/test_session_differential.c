/*
 * test_session_differential.c — SQL over registered tables (pruned) against
 * the same SQL over every data file of the table (a plain read_parquet view,
 * no pruning), for a few hundred seeded random queries: ranges with
 * inclusive and exclusive bounds written in every literal form the pruner
 * reads (and some it does not), empty ranges, entity equalities, ORs,
 * projections and aggregates. Results are compared as sorted text rows.
 *
 * Tables: (a) the NVDA sample (TIMESTAMPTZ index, one segment); (b) three
 * symbols over six time slices, Single and Mixed segments, naive TIMESTAMP
 * index with gaps; (c) an int64 index with an int64 entity column.
 */
#include "testsupport.h"

#include "duck.h"
#include "tstable/append.h"
#include "tstable/session.h"
#include "tstable/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NVDA_CSV TST_SOURCE_DIR "/examples/data/nvda_1h_sample.csv"
#define QUERIES_PER_TABLE 150

static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static tst_table *create(const char *root, const char *index, char **entity,
                         tst_index_type type)
{
    tst_index_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.column = (char *)index;
    spec.entity_columns = entity;
    spec.entity_count = 1;
    spec.kind.type = type;
    spec.kind.bucket.unit = TST_TIME_HOURS;
    spec.kind.bucket.count = 1;
    spec.kind.bucket_width = type == TST_INDEX_TIMESTAMP ? 0 : 10;
    tst_table *t = NULL;
    assert_tst_ok(tst_table_create(&t, root, &spec));
    return t;
}

static void append_select(tst_table *t, const char *dir, const char *select)
{
    char *path = tst_test_path(dir, "slice.parquet");
    char sql[2048];
    snprintf(sql, sizeof sql, "COPY (%s) TO '%s' (FORMAT parquet)", select, path);
    tst_test_duck(sql);
    assert_tst_ok(tst_table_append_parquet(t, path, NULL, NULL));
    unlink(path);
    free(path);
}

/* (b): hours 40k..40k+39 from 2024-01-01; even k: one file per symbol A, B;
 * odd k: one Mixed file of A, B and C. Every 7th hour is missing. */
static void build_synthetic(const char *dir, const char *root)
{
    static char *entity[] = {"symbol"};
    tst_table *t = create(root, "ts", entity, TST_INDEX_TIMESTAMP);
    for (int k = 0; k < 6; k++) {
        const char *syms[] = {"A", "B", NULL};
        for (int j = 0; k % 2 == 0 ? syms[j] != NULL : j < 1; j++) {
            char which[32], select[1024];
            snprintf(which, sizeof which, k % 2 == 0 ? "s = '%s'" : "true", syms[j]);
            snprintf(select, sizeof select,
                     "SELECT TIMESTAMP '2024-01-01' + INTERVAL (h) HOUR AS ts, s AS symbol, "
                     "CAST((h * 7 %% 101) / 4.0 AS DOUBLE) AS price, CAST(h AS BIGINT) AS qty "
                     "FROM range(%d, %d) r(h), (VALUES ('A'), ('B'), ('C')) v(s) "
                     "WHERE h %% 7 <> 3 AND %s ORDER BY s, h",
                     40 * k, 40 * k + 40, which);
            append_select(t, dir, select);
        }
    }
    tst_table_free(t);
}

/* (c): ids -100..99 of sensors 1 and 2 in five slices; the middle one Mixed. */
static void build_ints(const char *dir, const char *root)
{
    static char *entity[] = {"sensor"};
    tst_table *t = create(root, "id", entity, TST_INDEX_INT64);
    for (int k = 0; k < 5; k++) {
        for (int sensor = 1; sensor <= 2; sensor++) {
            if (k == 2 && sensor == 2)
                continue;
            char select[1024];
            snprintf(select, sizeof select,
                     "SELECT CAST(i AS BIGINT) AS id, CAST(%s AS BIGINT) AS sensor, "
                     "CAST(i * 0.5 AS DOUBLE) AS v FROM range(%d, %d) r(i), "
                     "(VALUES (1), (2)) s(x) WHERE i %% 9 <> 4 %s",
                     k == 2 ? "x" : (sensor == 1 ? "1" : "2"), -100 + 40 * k, -60 + 40 * k,
                     k == 2 ? "" : "AND x = 1");
            append_select(t, dir, select);
        }
    }
    tst_table_free(t);
}

static void build_nvda(const char *root)
{
    static char *entity[] = {"symbol"};
    tst_table *t = create(root, "ts", entity, TST_INDEX_TIMESTAMP);
    assert_tst_ok(tst_table_append_csv(t, NVDA_CSV, NULL, NULL, NULL));
    tst_table_free(t);
}

/* ---- random statements ---------------------------------------------------- */

typedef struct table_case {
    const char *name, *ref;     /* registered table, and its unpruned view */
    bool integer;               /* int64 index "id", entity "sensor" */
    const char *base;           /* first day, for timestamps */
    const char *entity_col;
    const char *entities[4];
} table_case;

static void timestamp_literal(char *buf, size_t cap, const table_case *c)
{
    int hour = (int)rnd(270) - 15;
    int day = hour >= 0 ? hour / 24 : -1, h = hour >= 0 ? hour % 24 : 23;
    int y, m, d0;
    sscanf(c->base, "%d-%d-%d", &y, &m, &d0);
    char date[16];
    int dd = d0 + day, mm = m;
    if (dd > 30)
        dd -= 30, mm++;
    if (dd < 1) /* the day before the first: any day of the month before */
        dd = 28, mm--;
    if (mm < 1)
        mm = 12, y--;
    snprintf(date, sizeof date, "%04d-%02d-%02d", y, mm, dd);
    switch (rnd(8)) {
    case 0: snprintf(buf, cap, "'%s'", date); break;
    case 1: snprintf(buf, cap, "'%s %02d:00:00'", date, h); break;
    case 2: snprintf(buf, cap, "'%sT%02d:00:00Z'", date, h); break;
    case 3: snprintf(buf, cap, "TIMESTAMP '%s %02d:00:00'", date, h); break;
    case 4: snprintf(buf, cap, "CAST('%s %02d:30:00+00' AS TIMESTAMPTZ)", date, h); break;
    case 5: snprintf(buf, cap, "'%s %02d:59:59.5'", date, h); break;
    case 6: snprintf(buf, cap, "DATE '%s'", date); break;
    default: snprintf(buf, cap, "'%s %02d:00:00.000001'", date, h); break;
    }
}

static void literal(char *buf, size_t cap, const table_case *c)
{
    if (!c->integer)
        timestamp_literal(buf, cap, c);
    else if (rnd(4) == 0)
        snprintf(buf, cap, "CAST(%d AS BIGINT)", (int)rnd(260) - 130);
    else
        snprintf(buf, cap, "%d", (int)rnd(260) - 130);
}

static void atom(tst_sql *t, const table_case *c, const char *qual)
{
    static const char *const ops[] = {"<", "<=", ">", ">=", "="};
    const char *col = c->integer ? "id" : "ts";
    char a[96], b[96];
    literal(a, sizeof a, c);
    literal(b, sizeof b, c);
    switch (rnd(6)) {
    case 0: SQL_F(t, "%s%s BETWEEN %s AND %s", qual, col, a, b); break;
    case 1: SQL_F(t, "%s %s %s%s", a, ops[rnd(5)], qual, col); break;
    case 2:
        if (c->integer)
            SQL_F(t, "%s%s = %d", qual, c->entity_col, (int)rnd(3) + 1);
        else
            SQL_F(t, "%s%s = '%s'", qual, c->entity_col, c->entities[rnd(4)]);
        break;
    default: SQL_F(t, "%s%s %s %s", qual, col, ops[rnd(5)], a); break;
    }
}

static void predicate(tst_sql *t, const table_case *c, const char *qual)
{
    unsigned n = 1 + rnd(3);
    for (unsigned i = 0; i < n; i++) {
        SQL_F(t, "%s", i ? " AND " : "");
        if (rnd(8) == 0) {
            SQL_F(t, "(");
            atom(t, c, qual);
            SQL_F(t, " OR ");
            atom(t, c, qual);
            SQL_F(t, ")");
        } else {
            atom(t, c, qual);
        }
    }
}

/* One random statement over `table` (%1$s is the table name). */
static char *random_statement(const table_case *c)
{
    tst_sql t = {0};
    const char *idx = c->integer ? "id" : "ts", *val = c->integer ? "v" : "close";
    const char *ent = c->entity_col;
    bool nvda = !c->integer && strcmp(c->base, "2024-06-01") == 0;
    if (!nvda && !c->integer)
        val = "price";
    switch (rnd(4)) {
    case 0: SQL_F(&t, "SELECT count(*), min(%s), max(%s) FROM %%s WHERE ", idx, idx); break;
    case 1: SQL_F(&t, "SELECT %s, count(*), round(sum(%s), 6) FROM %%s WHERE ", ent, val); break;
    case 2: SQL_F(&t, "SELECT %s, %s, %s FROM %%s WHERE ", idx, ent, val); break;
    default:
        SQL_F(&t, "SELECT count(*), count(DISTINCT x.%s) FROM %%s x JOIN %%s y ON x.%s = y.%s "
                  "AND x.%s = y.%s WHERE ", ent, idx, idx, ent, ent);
        predicate(&t, c, "x.");
        SQL_F(&t, " AND ");
        predicate(&t, c, "y.");
        return t.s;
    }
    predicate(&t, c, "");
    if (strstr(t.s, "round(sum(") != NULL)
        SQL_F(&t, " GROUP BY %s", ent);
    return t.s;
}

static int compare_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The result as sorted "a|b|c" lines joined by newlines. */
static char *sorted_rows(tst_session *s, const char *sql)
{
    tst_rows *rows = NULL;
    assert_tst_ok(tst_session_query_rows(s, sql, NULL, 0, &rows));
    char **lines = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = tst_rows_next(rows)) == 1) {
        tst_sql line = {0};
        SQL_F(&line, "%s", "");
        for (size_t c = 0; c < tst_rows_column_count(rows); c++) {
            const char *v = tst_rows_value(rows, c);
            SQL_F(&line, "%s%s", c ? "|" : "", v ? v : "NULL");
        }
        if (n == cap)
            lines = realloc(lines, (cap = cap ? cap * 2 : 64) * sizeof *lines);
        lines[n++] = line.s;
    }
    assert_int_equal(rc, 0);
    tst_rows_free(rows);
    if (n > 1)
        qsort(lines, n, sizeof *lines, compare_lines);
    tst_sql out = {0};
    SQL_F(&out, "%s", "");
    for (size_t i = 0; i < n; i++) {
        SQL_F(&out, "%s\n", lines[i]);
        free(lines[i]);
    }
    free(lines);
    return out.s;
}

static void run_cases(tst_session *s, const table_case *c)
{
    unsigned pruned = 0;
    for (int i = 0; i < QUERIES_PER_TABLE; i++) {
        char *shape = random_statement(c);
        char a[4096], b[4096];
        snprintf(a, sizeof a, shape, c->name, c->name);
        snprintf(b, sizeof b, shape, c->ref, c->ref);
        char *got = sorted_rows(s, a);
        tst_prune_stats st;
        tst_session_last_prune(s, &st);
        pruned += st.kept_segments < st.candidate_segments;
        char *want = sorted_rows(s, b);
        if (strcmp(got, want) != 0)
            print_error("query %d differs:\n%s\n--- pruned:\n%.2000s\n--- all files:\n%.2000s\n",
                        i, a, got, want);
        assert_string_equal(got, want);
        free(got), free(want), free(shape);
    }
    assert_true(pruned > 0); /* the statements did exercise pruning */
}

static void sql_over_tables_equals_sql_over_all_their_files(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("differential");
    char *nvda = tst_test_path(dir, "nvda"), *syn = tst_test_path(dir, "syn");
    char *ints = tst_test_path(dir, "ints");
    build_nvda(nvda);
    build_synthetic(dir, syn);
    build_ints(dir, ints);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    const char *roots[] = {nvda, syn, ints};
    const char *names[] = {"nvda", "syn", "ints"}, *refs[] = {"all_nvda", "all_syn", "all_ints"};
    for (int i = 0; i < 3; i++) {
        char *data = tst_test_path(roots[i], "data");
        assert_tst_ok(tst_session_register_table(s, names[i], roots[i]));
        assert_tst_ok(tst_session_register_parquet(s, refs[i], data));
        free(data);
    }
    const table_case cases[] = {
        {"nvda", "all_nvda", false, "2024-06-01", "symbol", {"NVDA", "NVDA", "AMD", "x"}},
        {"syn", "all_syn", false, "2024-01-01", "symbol", {"A", "B", "C", "D"}},
        {"ints", "all_ints", true, NULL, "sensor", {NULL}},
    };
    for (int i = 0; i < 3; i++)
        run_cases(s, &cases[i]);
    tst_session_free(s);
    free(nvda), free(syn), free(ints);
    tst_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sql_over_tables_equals_sql_over_all_their_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
