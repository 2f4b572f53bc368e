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
#include <time.h>
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
    spec.kind.protocol = 6; /* many rows per bucket in one append: format_version 6 only */
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
static char *sorted_rows_with(tst_session *s, const char *sql, const tst_param *p, size_t n_p)
{
    tst_rows *rows = NULL;
    assert_tst_ok(tst_session_query_rows(s, sql, p, n_p, &rows));
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

static char *sorted_rows(tst_session *s, const char *sql)
{
    return sorted_rows_with(s, sql, NULL, 0);
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
        char *data = tst_test_path(roots[i], "data/**/*.parquet");
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

/* ---- across time zones ---------------------------------------------------- */

/*
 * Two tables with the same half-hourly rows of symbols A and B, one with a
 * TIMESTAMPTZ index and one with a zone-less TIMESTAMP index, in two windows
 * that hold DST changes: 2024-03-08 .. 04-02 (New York springs forward on
 * 03-10, Berlin on 03-31) and 2024-10-24 .. 11-05 (Berlin falls back on
 * 10-27, New York on 11-03). Slices of 4 to 40 hours make segment bounds
 * fall at every hour of the day; every 7th half hour is missing.
 */
#define ZONE_QUERIES 50 /* per zone and table */

static const char *const windows[][2] = {{"2024-03-08", "2024-04-02"},
                                         {"2024-10-24", "2024-11-05"}};

static void build_dst(const char *dir, const char *root, bool zoned)
{
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_MINUTES, 30);
    for (size_t w = 0; w < 2; w++) {
        int days = w == 0 ? 25 : 12;
        for (int m = 0; m < days * 48;) {
            int len = 8 + (int)rnd(73), end = m + len < days * 48 ? m + len : days * 48;
            char select[1024];
            snprintf(select, sizeof select,
                     "SELECT %s(TIMESTAMP '%s' + INTERVAL (m * 30) MINUTE)%s AS ts, s AS symbol, "
                     "CAST(m %% 97 AS DOUBLE) AS price, CAST(m AS BIGINT) AS qty "
                     "FROM range(%d, %d) r(m), (VALUES ('A'), ('B')) v(s) "
                     "WHERE m %% 7 <> 5 ORDER BY ts, s",
                     zoned ? "CAST(" : "", windows[w][0], zoned ? " AS TIMESTAMPTZ)" : "", m,
                     end);
            append_select(t, dir, select);
            m = end;
        }
    }
    tst_table_free(t);
}

/* A statement's parameters, kept alive with their text. */
typedef struct zone_params {
    tst_param p[24];
    char text[24][48];
    size_t n;
} zone_params;

/* A wall-clock time near the windows, often at a DST change. */
static void wall_time(char *date, size_t date_cap, char *time, size_t time_cap)
{
    static const char *const changes[] = {"2024-03-10", "2024-03-31", "2024-10-27",
                                          "2024-11-03", "2024-03-09", "2024-11-02"};
    int hour, minute = rnd(2) ? 30 : 0;
    if (rnd(3) == 0) {
        snprintf(date, date_cap, "%s", changes[rnd(6)]);
        hour = (int)rnd(6);
    } else {
        size_t w = rnd(2);
        int y, mo, d, days = w == 0 ? 27 : 14;
        sscanf(windows[w][0], "%d-%d-%d", &y, &mo, &d);
        d += (int)rnd((unsigned)days) - 1;
        int month_days = mo == 3 ? 31 : mo == 10 ? 31 : 30;
        if (d < 1)
            d += 28, mo--;
        while (d > month_days)
            d -= month_days, mo++, month_days = 30;
        snprintf(date, date_cap, "%04d-%02d-%02d", y, mo, d);
        hour = (int)rnd(24);
    }
    snprintf(time, time_cap, "%02d:%02d:00", hour, minute);
}

static const char *param_ref(zone_params *zp, const char *text)
{
    static char ref[16];
    size_t k = zp->n++;
    snprintf(zp->text[k], sizeof zp->text[k], "%s", text);
    memset(&zp->p[k], 0, sizeof zp->p[k]);
    zp->p[k].type = TST_PARAM_TEXT;
    zp->p[k].v.bytes.ptr = zp->text[k];
    zp->p[k].v.bytes.len = strlen(zp->text[k]);
    snprintf(ref, sizeof ref, "$%zu", zp->n);
    return ref;
}

/* Seconds since the epoch of a date and time read as UTC. */
static long long utc_seconds(const char *d, const char *t)
{
    struct tm tm = {0};
    sscanf(d, "%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
    sscanf(t, "%d:%d:%d", &tm.tm_hour, &tm.tm_min, &tm.tm_sec);
    tm.tm_year -= 1900, tm.tm_mon -= 1;
    return (long long)timegm(&tm);
}

/* A DataFusion constant (datafusion_functions.c): to_timestamp_*(n) or
 * to_date('d'), some seconds off the wall time so that floors matter.
 * Without `all` only to_timestamp_micros (TIMESTAMP) and to_date: DuckDB
 * refuses TIMESTAMPTZ against TIMESTAMP_S/_MS/_NS (a zoned index, or a
 * BETWEEN or IN that mixes it with a TIMESTAMPTZ). */
static void datafusion_literal(char *buf, size_t cap, bool all, const char *d, const char *t)
{
    static const int offsets[] = {0, 1, -1, 59, 1799};
    long long sec = utc_seconds(d, t) + offsets[rnd(5)];
    switch (rnd(all ? 5 : 2)) {
    case 0: snprintf(buf, cap, "to_timestamp_micros(%lld)", sec * 1000000 + 250); break;
    case 1: snprintf(buf, cap, "to_date('%s')", d); break;
    case 2: snprintf(buf, cap, "to_timestamp_seconds(%lld)", sec); break;
    case 3: snprintf(buf, cap, "to_timestamp_millis(%lld)", sec * 1000 + 123); break;
    default: snprintf(buf, cap, "to_timestamp_nanos(%lld)", sec * 1000000000 + 999); break;
    }
}

/* A timestamp operand in one of the forms users write. */
static void zone_literal(char *buf, size_t cap, bool zoned, zone_params *zp)
{
    char d[16], t[16], both[40];
    wall_time(d, sizeof d, t, sizeof t);
    snprintf(both, sizeof both, "%s %s", d, t);
    if (rnd(8) == 0) {
        datafusion_literal(buf, cap, false, d, t);
        return;
    }
    switch (rnd(zoned ? 15 : 14)) {
    case 0: snprintf(buf, cap, "'%s'", both); break;
    case 1: snprintf(buf, cap, "'%s'", d); break;
    case 2: snprintf(buf, cap, "DATE '%s'", d); break;
    case 3: snprintf(buf, cap, "'%s'::TIMESTAMP", both); break;
    case 4: snprintf(buf, cap, "'%s'::TIMESTAMPTZ", both); break;
    case 5: snprintf(buf, cap, "'%s'::DATE", d); break;
    case 6: snprintf(buf, cap, "CAST('%s+05:30' AS TIMESTAMPTZ)", both); break;
    case 7: snprintf(buf, cap, "'%s America/New_York'::TIMESTAMPTZ", both); break;
    case 8: snprintf(buf, cap, "TIMESTAMPTZ '%s UTC'", both); break;
    case 9: snprintf(buf, cap, "'%s.5'", both); break;
    case 10: snprintf(buf, cap, "%s", param_ref(zp, both)); break;
    case 11: snprintf(buf, cap, "%s::DATE", param_ref(zp, d)); break;
    case 12: snprintf(buf, cap, "%s::TIMESTAMPTZ", param_ref(zp, both)); break;
    case 13: snprintf(buf, cap, "TIMESTAMP '%s'", both); break;
    default: snprintf(buf, cap, "'%s Europe/Berlin'", both); break;
    }
}

/* A date operand for `ts::DATE op date`. */
static void zone_date(char *buf, size_t cap, zone_params *zp)
{
    char d[16], t[16];
    wall_time(d, sizeof d, t, sizeof t);
    switch (rnd(4)) {
    case 0: snprintf(buf, cap, "'%s'", d); break;
    case 1: snprintf(buf, cap, "DATE '%s'", d); break;
    case 2: snprintf(buf, cap, "'%s'::DATE", d); break;
    default: snprintf(buf, cap, "%s", param_ref(zp, d)); break;
    }
}

static void zone_atom(tst_sql *t, bool zoned, const char *qual, zone_params *zp)
{
    static const char *const ops[] = {"<", "<=", ">", ">=", "="};
    char a[96], b[96];
    unsigned form = rnd(12);
    if (form >= 8) { /* DataFusion functions of the index (prune.c) */
        static const char *const strides[] = {"INTERVAL '15 minutes'", "INTERVAL 1 HOUR",
                                              "INTERVAL '3 hours'", "INTERVAL '45 minutes'",
                                              "INTERVAL 1 DAY", "INTERVAL '90 seconds'"};
        char d[16], tm[16];
        wall_time(d, sizeof d, tm, sizeof tm);
        if (form == 8) {
            static const int offsets[] = {0, 1, -1, 899, 1800};
            SQL_F(t, "to_unixtime(%sts) %s %lld", qual, ops[rnd(5)],
                  utc_seconds(d, tm) + offsets[rnd(5)]);
        } else if (form == 9) {
            zone_date(a, sizeof a, zp);
            if (rnd(3) == 0) {
                zone_date(b, sizeof b, zp);
                SQL_F(t, "to_date(%sts) BETWEEN %s AND %s", qual, a, b);
            } else {
                SQL_F(t, "to_date(%sts) %s %s", qual, ops[rnd(5)], a);
            }
        } else if (form == 11) {
            datafusion_literal(a, sizeof a, !zoned, d, tm);
            SQL_F(t, "%sts %s %s", qual, ops[rnd(5)], a);
        } else {
            zone_literal(a, sizeof a, zoned, zp);
            SQL_F(t, "date_bin(%s, %sts) %s %s", strides[rnd(6)], qual, ops[rnd(5)], a);
        }
        return;
    }
    if (form == 2) {
        SQL_F(t, "%ssymbol = '%s'", qual, rnd(2) ? "A" : "B");
        return;
    }
    if (form >= 6) { /* the local day of the index */
        zone_date(a, sizeof a, zp);
        if (form == 7) {
            zone_date(b, sizeof b, zp);
            SQL_F(t, "CAST(%sts AS DATE) BETWEEN %s AND %s", qual, a, b);
        } else {
            SQL_F(t, "%sts::DATE %s %s", qual, ops[rnd(5)], a);
        }
        return;
    }
    zone_literal(a, sizeof a, zoned, zp); /* only when used: it may be a parameter */
    switch (form) {
    case 0:
        zone_literal(b, sizeof b, zoned, zp);
        SQL_F(t, "%sts BETWEEN %s AND %s", qual, a, b);
        break;
    case 1: SQL_F(t, "%s %s %sts", a, ops[rnd(5)], qual); break;
    default: SQL_F(t, "%sts %s %s", qual, ops[rnd(4)], a); break;
    }
}

/* A range (two bounds, so that most statements can prune) and more. */
static void zone_predicate(tst_sql *t, bool zoned, const char *qual, zone_params *zp)
{
    char lo[96], hi[96];
    zone_literal(lo, sizeof lo, zoned, zp);
    zone_literal(hi, sizeof hi, zoned, zp);
    SQL_F(t, "%sts %s %s AND %sts %s %s", qual, rnd(2) ? ">=" : ">", lo, qual,
          rnd(2) ? "<" : "<=", hi);
    for (unsigned i = rnd(3); i > 0; i--) {
        SQL_F(t, " AND ");
        if (rnd(5) == 0) { /* alternatives: the hull of their ranges prunes */
            SQL_F(t, "(");
            zone_atom(t, zoned, qual, zp);
            SQL_F(t, " OR ");
            zone_atom(t, zoned, qual, zp);
            SQL_F(t, ")");
        } else if (rnd(5) == 0) {
            char a[96], b[96];
            zone_literal(a, sizeof a, zoned, zp);
            zone_literal(b, sizeof b, zoned, zp);
            SQL_F(t, "%sts IN (%s, %s)", qual, a, b);
        } else {
            zone_atom(t, zoned, qual, zp);
        }
    }
}

static char *zone_statement(bool zoned, zone_params *zp)
{
    tst_sql t = {0};
    switch (rnd(4)) {
    case 0: SQL_F(&t, "SELECT count(*), min(ts), max(ts) FROM %%s WHERE "); break;
    case 1: SQL_F(&t, "SELECT symbol, count(*), sum(qty) FROM %%s WHERE "); break;
    case 2: SQL_F(&t, "SELECT ts, symbol, price FROM %%s WHERE "); break;
    default:
        SQL_F(&t, "SELECT count(*) FROM %%s x JOIN %%s y ON x.ts = y.ts AND x.symbol <> "
                  "y.symbol WHERE ");
        zone_predicate(&t, zoned, "x.", zp);
        SQL_F(&t, " AND ");
        zone_predicate(&t, zoned, "y.", zp);
        return t.s;
    }
    zone_predicate(&t, zoned, "", zp);
    if (strncmp(t.s, "SELECT symbol", 13) == 0)
        SQL_F(&t, " GROUP BY symbol");
    return t.s;
}

/* Runs the random statements of one table in the session's current zone;
 * returns how many of them pruned at least one segment. */
static unsigned run_zone_cases(tst_session *s, const char *zone, const char *name,
                               const char *ref, bool zoned)
{
    unsigned pruned = 0;
    for (int i = 0; i < ZONE_QUERIES; i++) {
        zone_params zp;
        zp.n = 0;
        char *shape = zone_statement(zoned, &zp);
        char a[4096], b[4096];
        snprintf(a, sizeof a, shape, name, name);
        snprintf(b, sizeof b, shape, ref, ref);
        char *got = sorted_rows_with(s, a, zp.p, zp.n);
        tst_prune_stats st;
        tst_session_last_prune(s, &st);
        pruned += st.kept_segments < st.candidate_segments;
        char *want = sorted_rows_with(s, b, zp.p, zp.n);
        if (strcmp(got, want) != 0) {
            print_error("%s, query %d differs:\n%s\n", zone, i, a);
            for (size_t k = 0; k < zp.n; k++)
                print_error("  $%zu = '%s'\n", k + 1, zp.text[k]);
            print_error("--- pruned (kept %llu of %llu):\n%.2000s\n--- all files:\n%.2000s\n",
                        (unsigned long long)st.kept_segments,
                        (unsigned long long)st.candidate_segments, got, want);
        }
        assert_string_equal(got, want);
        free(got), free(want), free(shape);
    }
    return pruned;
}

static void sql_equals_sql_over_all_files_in_every_time_zone_across_dst_changes(void **state)
{
    (void)state;
    static const char *const zones[] = {"UTC", "America/New_York", "Asia/Kolkata",
                                        "Europe/Berlin"};
    char *dir = tst_test_tmpdir("zones");
    char *tz = tst_test_path(dir, "tz"), *naive = tst_test_path(dir, "naive");
    build_dst(dir, tz, true);
    build_dst(dir, naive, false);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    const char *roots[] = {tz, naive}, *names[] = {"tz", "naive"};
    const char *refs[] = {"all_tz", "all_naive"};
    for (int i = 0; i < 2; i++) {
        char *data = tst_test_path(roots[i], "data/**/*.parquet");
        assert_tst_ok(tst_session_register_table(s, names[i], roots[i]));
        assert_tst_ok(tst_session_register_parquet(s, refs[i], data));
        free(data);
    }
    unsigned total = 0, pruned = 0;
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        char set[96];
        snprintf(set, sizeof set, "SET TimeZone = '%s'", zones[z]);
        free(sorted_rows(s, set));
        for (int i = 0; i < 2; i++) {
            unsigned p = run_zone_cases(s, zones[z], names[i], refs[i], i == 0);
            print_message("%-16s %-5s: %u of %d statements pruned segments\n", zones[z],
                          names[i], p, ZONE_QUERIES);
            assert_true(p * 2 >= ZONE_QUERIES); /* pruning did happen, in most of them */
            pruned += p, total += ZONE_QUERIES;
        }
    }
    print_message("all zones: %u of %u statements pruned segments, all equal\n", pruned, total);
    tst_session_free(s);
    free(tz), free(naive);
    tst_test_rmtree(dir);
}

/*
 * The DataFusion forms the reference's documentation writes (prune.c):
 * each prunes to exactly the segments of the plain range it means, and
 * gives the rows of the same statement over all the files, in a UTC and a
 * New York session. A pair: the DataFusion statement, the plain one; %1$s
 * is the table, %2$s the offset a text needs for the zoned index ("+00").
 * 2024-03-12 06:00:00 UTC is 1710223200 s.
 */
static const char *const df_pairs[][2] = {
    {"SELECT count(*), min(ts), max(ts) FROM %1$s WHERE to_unixtime(ts) >= 1710223201 AND "
     "to_unixtime(ts) < 1710237600",
     "SELECT count(*), min(ts), max(ts) FROM %1$s WHERE ts >= '2024-03-12 06:00:01%2$s' AND "
     "ts < '2024-03-12 10:00:00%2$s'"},
    {"SELECT ts, symbol FROM %1$s WHERE to_unixtime(ts) = 1710223200",
     "SELECT ts, symbol FROM %1$s WHERE ts >= '2024-03-12 06:00:00%2$s' AND "
     "ts < '2024-03-12 06:00:01%2$s'"},
    {"SELECT symbol, sum(qty) FROM %1$s WHERE to_unixtime(ts) BETWEEN 1710223199 AND 1710226799 "
     "GROUP BY symbol",
     "SELECT symbol, sum(qty) FROM %1$s WHERE ts >= '2024-03-12 05:59:59%2$s' AND "
     "ts < '2024-03-12 07:00:00%2$s' GROUP BY symbol"},
    {"SELECT count(*), sum(qty) FROM %1$s WHERE to_date(ts) = '2024-03-20'",
     "SELECT count(*), sum(qty) FROM %1$s WHERE ts >= '2024-03-20 00:00:00%2$s' AND "
     "ts < '2024-03-21 00:00:00%2$s'"},
    {"SELECT count(*) FROM %1$s WHERE to_date(ts) > DATE '2024-03-28'",
     "SELECT count(*) FROM %1$s WHERE ts >= '2024-03-29 00:00:00%2$s'"},
    {"SELECT count(*) FROM %1$s WHERE date_bin(INTERVAL '3 hours', ts) BETWEEN "
     "'2024-03-15 04:00:00%2$s' AND '2024-03-15 10:00:00%2$s'",
     "SELECT count(*) FROM %1$s WHERE ts >= '2024-03-15 06:00:00%2$s' AND "
     "ts < '2024-03-15 12:00:00%2$s'"},
    {"SELECT count(*) FROM %1$s WHERE date_bin(INTERVAL '15 minutes', ts) = "
     "'2024-10-30 10:30:00%2$s'",
     "SELECT count(*) FROM %1$s WHERE ts >= '2024-10-30 10:30:00%2$s' AND "
     "ts < '2024-10-30 10:45:00%2$s'"},
    {"SELECT count(*) FROM %1$s WHERE date_bin(INTERVAL 1 DAY, ts) < '2024-03-09 00:00:01%2$s'",
     "SELECT count(*) FROM %1$s WHERE ts < '2024-03-10 00:00:00%2$s'"},
    {"SELECT count(*) FROM %1$s WHERE ts >= to_timestamp_micros(1710223200000000) AND "
     "ts < to_timestamp_micros(1710237600000000)",
     "SELECT count(*) FROM %1$s WHERE ts >= '2024-03-12 06:00:00%2$s' AND "
     "ts < '2024-03-12 10:00:00%2$s'"},
};

/* Zone-less only: DuckDB refuses TIMESTAMPTZ against TIMESTAMP_S/_MS/_NS. */
static const char *const df_naive_pairs[][2] = {
    {"SELECT count(*) FROM %1$s WHERE ts > to_timestamp_seconds(1710223200) AND "
     "ts <= to_timestamp_millis(1710237600123)",
     "SELECT count(*) FROM %1$s WHERE ts > '2024-03-12 06:00:00' AND "
     "ts <= '2024-03-12 10:00:00.123'"},
    {"SELECT count(*) FROM %1$s WHERE ts < to_timestamp_nanos(1710237600000000999) AND "
     "ts >= to_date('2024-03-12')",
     "SELECT count(*) FROM %1$s WHERE ts < '2024-03-12 10:00:00.000001' AND "
     "ts >= '2024-03-12'"},
};

/* Runs one pair: the same segments kept as the plain range, fewer than all,
 * and the rows of the statement over all the files. */
static void df_pair(tst_session *s, const char *zone, const char *name, const char *ref,
                    const char *offset, const char *const pair[2])
{
    char df[1024], plain[1024], all[1024];
    snprintf(df, sizeof df, pair[0], name, offset);
    snprintf(plain, sizeof plain, pair[1], name, offset);
    snprintf(all, sizeof all, pair[0], ref, offset);
    tst_prune_stats a, b;
    char *got = sorted_rows(s, df);
    tst_session_last_prune(s, &a);
    char *want_plain = sorted_rows(s, plain);
    tst_session_last_prune(s, &b);
    char *want = sorted_rows(s, all);
    if (a.kept_segments != b.kept_segments || a.kept_segments >= a.candidate_segments ||
        strcmp(got, want) != 0 || strcmp(got, want_plain) != 0)
        print_error("%s %s: kept %llu (plain range: %llu) of %llu\n%s\n--- got:\n%.800s\n"
                    "--- over all files:\n%.800s\n--- plain range:\n%.800s\n",
                    zone, name, (unsigned long long)a.kept_segments,
                    (unsigned long long)b.kept_segments,
                    (unsigned long long)a.candidate_segments, df, got, want, want_plain);
    assert_int_equal(a.kept_segments, b.kept_segments);
    assert_true(a.kept_segments < a.candidate_segments);
    assert_string_equal(got, want);
    assert_string_equal(got, want_plain);
    free(got), free(want), free(want_plain);
}

static void datafusion_bounds_prune_to_the_range_they_mean(void **state)
{
    (void)state;
    static const char *const zones[] = {"UTC", "America/New_York"};
    char *dir = tst_test_tmpdir("dfbounds");
    char *tz = tst_test_path(dir, "tz"), *naive = tst_test_path(dir, "naive");
    build_dst(dir, tz, true);
    build_dst(dir, naive, false);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    const char *roots[] = {tz, naive}, *names[] = {"tz", "naive"};
    const char *refs[] = {"all_tz", "all_naive"}, *offsets[] = {"+00", ""};
    for (int i = 0; i < 2; i++) {
        char *data = tst_test_path(roots[i], "data/**/*.parquet");
        assert_tst_ok(tst_session_register_table(s, names[i], roots[i]));
        assert_tst_ok(tst_session_register_parquet(s, refs[i], data));
        free(data);
    }
    unsigned runs = 0;
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        char set[96];
        snprintf(set, sizeof set, "SET TimeZone = '%s'", zones[z]);
        free(sorted_rows(s, set));
        for (int i = 0; i < 2; i++)
            for (size_t k = 0; k < sizeof df_pairs / sizeof df_pairs[0]; k++, runs++)
                df_pair(s, zones[z], names[i], refs[i], offsets[i], df_pairs[k]);
        for (size_t k = 0; k < sizeof df_naive_pairs / sizeof df_naive_pairs[0]; k++, runs++)
            df_pair(s, zones[z], "naive", "all_naive", "", df_naive_pairs[k]);
    }
    print_message("%u DataFusion statements pruned as their plain ranges\n", runs);
    tst_session_free(s);
    free(tz), free(naive);
    tst_test_rmtree(dir);
}

/*
 * The pruner's time index of the segments (prune.c): segments whose
 * [index_min, index_max] overlap every which way (each holds two random
 * hours of a shuffled pool: no bucket twice), appended one by one while a
 * session has the table registered, so the index is rebuilt at each new
 * version. After each append, random ranges keep exactly the segments
 * whose min/max meet them (counted here by brute force) and give the rows
 * of the same statement over all the files.
 */
#define OV_HOURS 160
static void index_follows_appends_and_overlapping_segments(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("ovl");
    char *root = tst_test_path(dir, "ov");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_MINUTES, 30);
    int pool[OV_HOURS], seg_lo[OV_HOURS / 2], seg_hi[OV_HOURS / 2];
    for (int i = 0; i < OV_HOURS; i++)
        pool[i] = i;
    for (int i = OV_HOURS - 1; i > 0; i--) {
        int j = (int)rnd((unsigned)i + 1), x = pool[i];
        pool[i] = pool[j], pool[j] = x;
    }
    tst_session *s = NULL;
    char *data = tst_test_path(root, "data/**/*.parquet");
    unsigned checked = 0;
    for (int k = 0; k < OV_HOURS / 2; k++) {
        int a = pool[2 * k] < pool[2 * k + 1] ? pool[2 * k] : pool[2 * k + 1];
        int b = pool[2 * k] ^ pool[2 * k + 1] ^ a;
        seg_lo[k] = a, seg_hi[k] = b;
        char select[512];
        snprintf(select, sizeof select,
                 "SELECT CAST(TIMESTAMP '2024-01-01' + INTERVAL (h) HOUR AS TIMESTAMPTZ) AS ts, "
                 "'A' AS symbol, CAST(h AS DOUBLE) AS price, CAST(h AS BIGINT) AS qty "
                 "FROM (VALUES (%d), (%d)) v(h) ORDER BY h",
                 a, b);
        append_select(t, dir, select);
        if (k == 9) { /* registered with 10 segments; the rest arrive while it is */
            assert_tst_ok(tst_session_open(&s));
            free(sorted_rows(s, "SET TimeZone = 'UTC'"));
            assert_tst_ok(tst_session_register_table(s, "ov", root));
            assert_tst_ok(tst_session_register_parquet(s, "all_ov", data));
        }
        for (int q = 0; s && q < 4; q++) {
            int x = (int)rnd(OV_HOURS + 4) - 2, y = x + 1 + (int)rnd(30);
            char sql[2][512];
            for (int w = 0; w < 2; w++)
                snprintf(sql[w], sizeof sql[w],
                         "SELECT count(*), sum(qty), min(ts), max(ts) FROM %s WHERE ts >= "
                         "TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL (%d) HOUR AND ts < "
                         "'2024-01-01 00:00:00+00'::TIMESTAMPTZ + INTERVAL (%d) HOUR",
                         w ? "all_ov" : "ov", x, y);
            /* the bounds are arithmetic the planner does not read: literal ones */
            char lo[64], hi[64];
            time_t base = 1704067200;
            time_t tl = base + (time_t)x * 3600, th = base + (time_t)y * 3600;
            strftime(lo, sizeof lo, "%Y-%m-%d %H:%M:%S+00", gmtime(&tl));
            strftime(hi, sizeof hi, "%Y-%m-%d %H:%M:%S+00", gmtime(&th));
            snprintf(sql[0], sizeof sql[0],
                     "SELECT count(*), sum(qty), min(ts), max(ts) FROM ov WHERE ts >= '%s' AND "
                     "ts < '%s'", lo, hi);
            char *got = sorted_rows(s, sql[0]);
            tst_prune_stats st;
            tst_session_last_prune(s, &st);
            char *want = sorted_rows(s, sql[1]);
            uint64_t meet = 0;
            for (int j = 0; j <= k; j++) /* rows at seg_lo and seg_hi hours: [lo h, hi h] */
                meet += seg_hi[j] >= x && seg_lo[j] < y;
            assert_int_equal(st.candidate_segments, (uint64_t)k + 1);
            assert_int_equal(st.candidate_segments - st.range_skipped_segments, meet);
            assert_string_equal(got, want);
            free(got), free(want);
            checked++;
        }
    }
    print_message("%u ranges over 10..%d overlapping segments: kept as brute force, rows equal\n",
                  checked, OV_HOURS / 2);
    tst_session_free(s);
    tst_table_free(t);
    free(data), free(root);
    tst_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sql_over_tables_equals_sql_over_all_their_files),
        cmocka_unit_test(sql_equals_sql_over_all_files_in_every_time_zone_across_dst_changes),
        cmocka_unit_test(datafusion_bounds_prune_to_the_range_they_mean),
        cmocka_unit_test(index_follows_appends_and_overlapping_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
