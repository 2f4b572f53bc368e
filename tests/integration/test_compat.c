/*
 * test_compat.c — the same data, written by other hands, gives the same
 * table.
 *
 * Three angles on compatibility:
 *
 *   1. Encodings: the NVDA sample written by DuckDB under every codec it
 *      offers, both Parquet versions, with and without string dictionaries,
 *      and in several row groups. Each file appended to a fresh table must
 *      give the same rows, bounds, schema and coverage answers.
 *   2. A second writer: the same sample written by parquet-wasm (arrow-rs,
 *      the reference implementation's writer, compiled to WebAssembly) with
 *      its own codecs, DATA_PAGE_V2 pages, no statistics, and an embedded
 *      ARROW:schema. The table must adopt exactly the Arrow schema the
 *      script built. The files come from tests/fixtures/write_parquet_wasm.mjs
 *      (scripts/fixtures.sh), found in $TST_FIXTURES_DIR or generated here;
 *      without node and its packages the test fails, unless
 *      TST_ALLOW_MISSING_FIXTURES=1 makes it skip.
 *   3. The reference's example table (format §1.1, §1.11), rebuilt file by
 *      file as the reference would have left it, must answer every coverage
 *      question exactly like tables our library builds from the same CSV,
 *      refuse the sample again as overlap, and take the next ten days.
 *
 * Every table is summarised as one text (describe()) so that a difference
 * shows up as a readable diff rather than a lone number.
 */
#include "testsupport.h"

#include "duck.h"
#include "tstable/append.h"
#include "tstable/table.h"
#include "tstable/table_coverage.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NVDA_CSV TST_SOURCE_DIR "/examples/data/nvda_1h_sample.csv"
#define FIXTURE_SCRIPT TST_SOURCE_DIR "/tests/fixtures/write_parquet_wasm.mjs"
#define NODE_DEPS TST_SOURCE_DIR "/.deps/node"

/* What every table holding exactly the NVDA sample must answer. */
static const char EXPECTED_ANSWERS[] =
    "rows 240, index [2024-06-01T00:00:00Z, 2024-06-10T23:00:00Z]\n"
    "NVDA [2024-06-01T00:00:00Z, 2024-06-11T00:00:00Z): 240/240 ratio 1.000000 max gap 0\n"
    "NVDA [2024-05-31T00:00:00Z, 2024-06-12T00:00:00Z): 240/288 ratio 0.833333 max gap 24\n"
    "all [2024-05-31T00:00:00Z, 2024-06-12T00:00:00Z): 240/288 ratio 0.833333 max gap 24\n"
    "AAPL [2024-05-31T00:00:00Z, 2024-06-12T00:00:00Z): 0/288 ratio 0.000000 max gap 288\n"
    "NVDA [2024-06-03T05:30:00Z, 2024-06-03T07:00:00Z): 2/2 ratio 1.000000 max gap 0\n"
    "gap [2024-05-31T00:00:00Z, 2024-06-01T00:00:00Z) 24\n"
    "gap [2024-06-11T00:00:00Z, 2024-06-12T00:00:00Z) 24\n"
    "gap pieces of 10: 6\n"
    "last 24 before 2024-06-12T00:00:00Z: [2024-06-10T00:00:00Z, 2024-06-11T00:00:00Z)\n"
    "last 24 before 2024-06-05T12:00:00Z: [2024-06-04T12:00:00Z, 2024-06-05T12:00:00Z)\n"
    "last 241 before 2024-06-12T00:00:00Z: none\n"
    "summary NVDA: [2024-06-01T00:00:00Z, 2024-06-11T00:00:00Z) 240 buckets, 0 gaps\n";

/* ---- small helpers ------------------------------------------------------ */

/* The first value of a one-row query, as text (malloc'd). */
static char *duck_text(const char *sql)
{
    duckdb_connection con = NULL;
    duckdb_result r;
    assert_tst_ok(tst_duck_connect(&con));
    assert_tst_ok(tst_duck_query(con, sql, &r, "test fixture query"));
    char *v = duckdb_value_varchar(&r, 0, 0);
    char *out = strdup(v ? v : "NULL");
    duckdb_free(v);
    duckdb_destroy_result(&r);
    tst_duck_disconnect(&con);
    return out;
}

/* A growing text buffer for describe(). */
typedef struct text {
    char buf[8192];
    size_t len;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof t->buf - t->len);
    t->len += (size_t)n;
}

static const char *fmt_value(const tst_index_value *v, char *buf)
{
    assert_true(tst_index_value_format(v, buf, TST_TIMESTAMP_TEXT_MAX) > 0);
    return buf;
}

/* ---- describe(): every coverage answer of a table, as text -------------- */

static void describe_rows(text *out, tst_table *t)
{
    uint64_t rows = 0;
    tst_index_value lo = {TST_INDEX_TIMESTAMP, {{0, 0}}}, hi = lo;
    for (size_t i = 0; i < tst_table_segment_count(t); i++) {
        const tst_segment *s = tst_table_segment_at(t, i);
        int cmp = 0;
        rows += s->row_count;
        if (i == 0 || (tst_index_value_compare(&s->index_min, &lo, &cmp) == 0 && cmp < 0))
            lo = s->index_min;
        if (i == 0 || (tst_index_value_compare(&s->index_max, &hi, &cmp) == 0 && cmp > 0))
            hi = s->index_max;
    }
    char a[TST_TIMESTAMP_TEXT_MAX], b[TST_TIMESTAMP_TEXT_MAX];
    put(out, "rows %llu, index [%s, %s]\n", (unsigned long long)rows, fmt_value(&lo, a),
        fmt_value(&hi, b));
}

static void describe_coverage(text *out, tst_table *t, const char *sym, const char *from,
                              const char *to)
{
    tst_entity_binding b = tst_test_symbol(sym ? sym : "");
    tst_index_value start = tst_test_ts(from), end = tst_test_ts(to);
    tst_coverage_counts c;
    assert_tst_ok(tst_table_coverage(t, sym ? &b : NULL, sym ? 1 : 0, &start, &end, &c));
    char x[TST_TIMESTAMP_TEXT_MAX], y[TST_TIMESTAMP_TEXT_MAX];
    put(out, "%s [%s, %s): %llu/%llu ratio %f max gap %llu\n", sym ? sym : "all",
        fmt_value(&start, x), fmt_value(&end, y), (unsigned long long)c.covered_buckets,
        (unsigned long long)c.total_buckets, c.ratio, (unsigned long long)c.max_gap_buckets);
}

static int put_gap(void *ctx, const tst_index_value *gs, const tst_index_value *ge, bool incl,
                   uint64_t buckets)
{
    char a[TST_TIMESTAMP_TEXT_MAX], b[TST_TIMESTAMP_TEXT_MAX];
    put(ctx, "gap [%s, %s%c %llu\n", fmt_value(gs, a), fmt_value(ge, b), incl ? ']' : ')',
        (unsigned long long)buckets);
    return 0;
}

static int count_gap(void *ctx, const tst_index_value *gs, const tst_index_value *ge, bool incl,
                     uint64_t buckets)
{
    (void)gs, (void)ge, (void)incl, (void)buckets;
    ++*(int *)ctx;
    return 0;
}

static void describe_gaps(text *out, tst_table *t)
{
    tst_entity_binding nvda = tst_test_symbol("NVDA");
    tst_index_value start = tst_test_ts("2024-05-31T00:00:00Z"), end = tst_test_ts("2024-06-12T00:00:00Z");
    assert_tst_ok(tst_table_gaps(t, &nvda, 1, &start, &end, 0, put_gap, out));
    int pieces = 0;
    assert_tst_ok(tst_table_gaps(t, &nvda, 1, &start, &end, 10, count_gap, &pieces));
    put(out, "gap pieces of 10: %d\n", pieces);
}

static void describe_window(text *out, tst_table *t, const char *before, uint64_t buckets)
{
    tst_entity_binding nvda = tst_test_symbol("NVDA");
    tst_index_value end = tst_test_ts(before), ws, we;
    bool found = false;
    assert_tst_ok(tst_table_last_covered_window(t, &nvda, 1, &end, buckets, &found, &ws, &we));
    char a[TST_TIMESTAMP_TEXT_MAX], b[TST_TIMESTAMP_TEXT_MAX];
    put(out, "last %llu before %s: ", (unsigned long long)buckets, fmt_value(&end, a));
    if (found)
        put(out, "[%s, %s)\n", fmt_value(&ws, a), fmt_value(&we, b));
    else
        put(out, "none\n");
}

static void describe_summary(text *out, tst_table *t)
{
    tst_coverage_summary *s = NULL;
    assert_tst_ok(tst_table_coverage_summary(t, &s));
    for (size_t i = 0; i < tst_coverage_summary_count(s); i++) {
        const tst_entity_summary *e = tst_coverage_summary_at(s, i);
        char id[128], a[TST_TIMESTAMP_TEXT_MAX], b[TST_TIMESTAMP_TEXT_MAX];
        tst_entity_identity_format(&e->identity, id, sizeof id);
        if (!e->covered) {
            put(out, "summary %s: nothing\n", id);
            continue;
        }
        put(out, "summary %s: [%s, %s) %llu buckets, %llu gaps\n", id, fmt_value(&e->first, a),
            fmt_value(&e->last, b), (unsigned long long)e->covered_buckets,
            (unsigned long long)e->gaps);
    }
    tst_coverage_summary_free(s);
}

static void describe(text *out, tst_table *t)
{
    out->len = 0;
    out->buf[0] = '\0';
    describe_rows(out, t);
    describe_coverage(out, t, "NVDA", "2024-06-01T00:00:00Z", "2024-06-11T00:00:00Z");
    describe_coverage(out, t, "NVDA", "2024-05-31T00:00:00Z", "2024-06-12T00:00:00Z");
    describe_coverage(out, t, NULL, "2024-05-31T00:00:00Z", "2024-06-12T00:00:00Z");
    describe_coverage(out, t, "AAPL", "2024-05-31T00:00:00Z", "2024-06-12T00:00:00Z");
    describe_coverage(out, t, "NVDA", "2024-06-03T05:30:00Z", "2024-06-03T07:00:00Z");
    describe_gaps(out, t);
    describe_window(out, t, "2024-06-12T00:00:00Z", 24);
    describe_window(out, t, "2024-06-05T12:00:00Z", 24);
    describe_window(out, t, "2024-06-12T00:00:00Z", 241);
    describe_summary(out, t);
}

static void assert_answers(tst_table *t, const char *expected, const char *what)
{
    text got;
    describe(&got, t);
    if (strcmp(got.buf, expected) != 0)
        print_error("%s answers differ.\n--- got\n%s--- wanted\n%s", what, got.buf, expected);
    assert_string_equal(got.buf, expected);
}

/* The adopted schema, one column per line, as the fixture script spells it. */
static void schema_text(text *out, tst_table *t)
{
    out->len = 0;
    out->buf[0] = '\0';
    const tst_schema *s = tst_table_get_meta(t)->schema;
    assert_non_null(s);
    for (size_t i = 0; i < s->column_count; i++) {
        char type[128];
        assert_true(tst_type_format(&s->columns[i].type, type, sizeof type) > 0);
        put(out, "%s %s %s\n", s->columns[i].name, type,
            s->columns[i].nullable ? "optional" : "required");
    }
}

/*
 * Appends one file to a fresh table and checks the answers; returns the
 * adopted schema in *schema.
 */
static void append_to_fresh_table(const char *file, text *schema)
{
    char *root = tst_test_tmpdir("compat");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_append_result res;
    int rc = tst_table_append_parquet(t, file, NULL, &res);
    if (rc != 0)
        print_error("appending %s: %s\n", file, tst_error_last()->message);
    assert_tst_ok(rc);
    assert_int_equal(res.rows, 240);
    assert_answers(t, EXPECTED_ANSWERS, file);
    schema_text(schema, t);
    tst_table_free(t);

    /* And the same answers from a fresh handle, read from disk. */
    assert_tst_ok(tst_table_open(&t, root));
    assert_answers(t, EXPECTED_ANSWERS, file);
    tst_table_free(t);
    tst_test_rmtree(root);
}

/* ---- 1. DuckDB: every codec and encoding --------------------------------- */

typedef struct duck_variant {
    const char *name;
    const char *options; /* COPY options after FORMAT parquet */
    const char *codec;   /* what parquet_metadata must report for every column */
    int row_groups;
    bool split; /* write as three row groups, the latest days first */
} duck_variant;

static const duck_variant DUCK_VARIANTS[] = {
    {"uncompressed", "COMPRESSION uncompressed", "UNCOMPRESSED", 1, false},
    {"snappy", "COMPRESSION snappy", "SNAPPY", 1, false},
    {"gzip", "COMPRESSION gzip", "GZIP", 1, false},
    {"zstd", "COMPRESSION zstd", "ZSTD", 1, false},
    {"zstd-level-19", "COMPRESSION zstd, COMPRESSION_LEVEL 19", "ZSTD", 1, false},
    {"lz4", "COMPRESSION lz4", "LZ4_RAW", 1, false}, /* DuckDB's lz4 is LZ4_RAW */
    {"lz4_raw", "COMPRESSION lz4_raw", "LZ4_RAW", 1, false},
    {"brotli", "COMPRESSION brotli", "BROTLI", 1, false},
    {"v1", "PARQUET_VERSION V1", "SNAPPY", 1, false},
    {"v2-snappy", "PARQUET_VERSION V2", "SNAPPY", 1, false},
    {"v2-zstd", "PARQUET_VERSION V2, COMPRESSION zstd", "ZSTD", 1, false},
    {"v2-uncompressed", "PARQUET_VERSION V2, COMPRESSION uncompressed", "UNCOMPRESSED", 1, false},
    {"no-dict", "STRING_DICTIONARY_PAGE_SIZE_LIMIT 1", "SNAPPY", 1, false},
    {"v2-no-dict", "PARQUET_VERSION V2, STRING_DICTIONARY_PAGE_SIZE_LIMIT 1", "SNAPPY", 1, false},
    {"row-groups", "ROW_GROUP_SIZE 60", "SNAPPY", 3, true},
    {"v2-gzip-row-groups", "PARQUET_VERSION V2, COMPRESSION gzip, ROW_GROUP_SIZE 60", "GZIP", 3,
     true},
};
#define DUCK_VARIANT_COUNT (sizeof DUCK_VARIANTS / sizeof DUCK_VARIANTS[0])

/*
 * DuckDB cuts row groups per input chunk, so a UNION ALL of three slices
 * with a small ROW_GROUP_SIZE gives three row groups; the latest days come
 * first so the minimum sits in the last group.
 */
static char *write_duck_variant(const char *dir, const duck_variant *v)
{
    char name[128], sql[4096];
    snprintf(name, sizeof name, "duck-%s.parquet", v->name);
    char *path = tst_test_path(dir, name);
    const char *split =
        "SELECT * FROM nvda WHERE ts >= '2024-06-07' UNION ALL SELECT * FROM nvda WHERE ts >= "
        "'2024-06-04' AND ts < '2024-06-07' UNION ALL SELECT * FROM nvda WHERE ts < '2024-06-04'";
    snprintf(sql, sizeof sql,
             "COPY (WITH nvda AS (SELECT * FROM read_csv('%s')) %s) TO '%s' (FORMAT parquet, %s)",
             NVDA_CSV, v->split ? split : "SELECT * FROM nvda", path, v->options);
    tst_test_duck(sql);
    return path;
}

/* The fixture is what it claims to be: its codec and its row groups. */
static void assert_duck_variant_written(const char *path, const duck_variant *v)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT string_agg(DISTINCT compression, ',') FROM parquet_metadata('%s')", path);
    char *codecs = duck_text(sql);
    assert_string_equal(codecs, v->codec);
    free(codecs);
    snprintf(sql, sizeof sql, "SELECT num_row_groups FROM parquet_file_metadata('%s')", path);
    char *groups = duck_text(sql);
    assert_int_equal(atoi(groups), v->row_groups);
    free(groups);
}

static void every_duckdb_codec_and_encoding_gives_the_same_table(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("compat-duck");
    text first_schema = {{0}, 0}, schema;
    for (size_t i = 0; i < DUCK_VARIANT_COUNT; i++) {
        char *file = write_duck_variant(dir, &DUCK_VARIANTS[i]);
        assert_duck_variant_written(file, &DUCK_VARIANTS[i]);
        append_to_fresh_table(file, &schema);
        if (i == 0)
            first_schema = schema;
        if (strcmp(schema.buf, first_schema.buf) != 0)
            print_error("%s adopted\n%s\nbut %s adopted\n%s", file, schema.buf,
                        DUCK_VARIANTS[0].name, first_schema.buf);
        assert_string_equal(schema.buf, first_schema.buf);
        free(file);
    }
    tst_test_rmtree(dir);
}

static void a_duckdb_file_appended_again_is_rejected_as_overlap(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("compat-duck");
    char *root = tst_test_tmpdir("compat");
    char *a = write_duck_variant(dir, &DUCK_VARIANTS[3]);
    char *b = write_duck_variant(dir, &DUCK_VARIANTS[15]);
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    assert_tst_ok(tst_table_append_parquet(t, a, NULL, NULL));
    /* The same rows under another codec and layout are still the same buckets. */
    assert_tst_fails(tst_table_append_parquet(t, b, NULL, NULL), TST_EOVERLAP);
    assert_int_equal(tst_error_last()->overlap_count, 240);
    assert_string_equal(tst_error_last()->entity, "symbol=NVDA");
    assert_tst_fails(tst_table_append_parquet(t, a, NULL, NULL), TST_EOVERLAP);
    assert_int_equal(tst_error_last()->overlap_count, 240);
    assert_int_equal(tst_table_version(t), 2);
    assert_answers(t, EXPECTED_ANSWERS, "after the rejected appends");
    free(a);
    free(b);
    tst_table_free(t);
    tst_test_rmtree(root);
    tst_test_rmtree(dir);
}

/* ---- 2. parquet-wasm (arrow-rs) ----------------------------------------- */

/* The files write_parquet_wasm.mjs writes; any of them missing is a failure. */
static const char *const WASM_FILES[] = {
    "pw-ms-utc-req-uncompressed-v1",
    "pw-ms-utc-req-uncompressed-v2",
    "pw-ms-utc-req-snappy-v1",
    "pw-ms-utc-req-snappy-v2",
    "pw-ms-utc-req-gzip-v1",
    "pw-ms-utc-req-gzip-v2",
    "pw-ms-utc-req-brotli-v1",
    "pw-ms-utc-req-brotli-v2",
    "pw-ms-utc-req-zstd-v1",
    "pw-ms-utc-req-zstd-v2",
    "pw-ms-utc-req-lz4_raw-v1",
    "pw-ms-utc-req-lz4_raw-v2",
    "pw-ms-naive-req-snappy-v1",
    "pw-ms-naive-req-zstd-v2",
    "pw-ms-utc-opt-snappy-v1",
    "pw-ms-naive-opt-zstd-v2",
    "pw-us-utc-req-snappy-v1",
    "pw-ns-utc-req-snappy-v2",
    "pw-ms-utc-req-snappy-v1-nodict",
    "pw-ms-utc-req-zstd-v2-nodict",
    "pw-ms-utc-req-snappy-v1-rg50-rev",
    "pw-ms-utc-req-gzip-v2-rg50-rev",
    "pw-ms-utc-req-uncompressed-v1-nostats",
    "pw-ms-utc-req-snappy-v2-rg50-rev-nostats",
};
#define WASM_FILE_COUNT (sizeof WASM_FILES / sizeof WASM_FILES[0])

/* Hadoop-framed LZ4, which DuckDB 1.4.4 cannot read (see the test below). */
static const char *const WASM_LZ4_FILES[] = {"pw-ms-utc-req-lz4-v1", "pw-ms-utc-req-lz4-v2"};
/* The ten days after the sample, in the reference table's exact schema. */
#define WASM_NEXT_DAYS "pw-ms-naive-req-uncompressed-v1-next240h"

static char *wasm_file(const char *dir, const char *name, const char *ext)
{
    char rel[160];
    snprintf(rel, sizeof rel, "%s.%s", name, ext);
    return tst_test_path(dir, rel);
}

static bool wasm_fixtures_complete(const char *dir)
{
    bool ok = true;
    for (size_t i = 0; i < WASM_FILE_COUNT && ok; i++) {
        char *p = wasm_file(dir, WASM_FILES[i], "parquet"),
             *s = wasm_file(dir, WASM_FILES[i], "schema");
        ok = tst_test_exists(p) && tst_test_exists(s);
        free(p);
        free(s);
    }
    char *lz4 = wasm_file(dir, WASM_LZ4_FILES[0], "parquet");
    char *next = wasm_file(dir, WASM_NEXT_DAYS, "parquet");
    ok = ok && tst_test_exists(lz4) && tst_test_exists(next);
    free(lz4);
    free(next);
    return ok;
}

static char *generated_dir; /* fixtures this process generated, removed at exit */
static char wasm_problem[512];

/* Runs the fixture script into a fresh folder; NULL (and wasm_problem) if it can't. */
static const char *generate_wasm_fixtures(void)
{
    if (system("command -v node >/dev/null 2>&1") != 0) {
        snprintf(wasm_problem, sizeof wasm_problem, "node is not installed");
        return NULL;
    }
    const char *deps = getenv("TST_NODE_DEPS");
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/node_modules/parquet-wasm", deps ? deps : NODE_DEPS);
    if (!tst_test_exists(probe)) {
        snprintf(wasm_problem, sizeof wasm_problem,
                 "%s is missing: run scripts/deps.sh (npm packages parquet-wasm, apache-arrow)",
                 probe);
        return NULL;
    }
    generated_dir = tst_test_tmpdir("compat-wasm");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "node '%s' '%s' '%s' 2>&1", FIXTURE_SCRIPT, NVDA_CSV, generated_dir);
    int rc = system(cmd);
    if (rc != 0 || !wasm_fixtures_complete(generated_dir)) {
        snprintf(wasm_problem, sizeof wasm_problem, "%s failed (status %d) or wrote too little",
                 FIXTURE_SCRIPT, rc);
        return NULL;
    }
    return generated_dir;
}

/*
 * The fixture folder: $TST_FIXTURES_DIR when it holds every file, else one
 * generated now (once per process). NULL when neither works: the caller
 * fails, or skips under TST_ALLOW_MISSING_FIXTURES=1.
 */
static const char *wasm_fixtures(void)
{
    static const char *dir;
    static bool tried;
    if (tried)
        return dir;
    tried = true;
    const char *env = getenv("TST_FIXTURES_DIR");
    if (env && *env && wasm_fixtures_complete(env))
        return dir = env;
    return dir = generate_wasm_fixtures();
}

static const char *require_wasm_fixtures(void)
{
    const char *dir = wasm_fixtures();
    if (dir)
        return dir;
    const char *allow = getenv("TST_ALLOW_MISSING_FIXTURES");
    if (allow && strcmp(allow, "1") == 0) {
        print_message("parquet-wasm fixtures unavailable (%s); skipped because "
                      "TST_ALLOW_MISSING_FIXTURES=1\n",
                      wasm_problem);
        skip();
    }
    fail_msg("parquet-wasm fixtures unavailable: %s. Set TST_FIXTURES_DIR to the output of "
             "scripts/fixtures.sh, or TST_ALLOW_MISSING_FIXTURES=1 to skip.",
             wasm_problem);
    return NULL;
}

/* The Parquet page type at a column's first data page (thrift compact field 1). */
static int first_page_type(const char *path, const char *column)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT data_page_offset FROM parquet_metadata('%s') WHERE path_in_schema = '%s' "
             "AND row_group_id = 0",
             path, column);
    char *offset = duck_text(sql);
    long off = atol(offset);
    free(offset);
    char *bytes = NULL;
    size_t len = 0;
    assert_int_equal(tst_test_read_file(path, &bytes, &len), 0);
    assert_true(off > 0 && (size_t)off + 2 <= len);
    int type = (unsigned char)bytes[off] == 0x15 ? (unsigned char)bytes[off + 1] / 2 : -1;
    free(bytes);
    return type;
}

/*
 * The file is what its name says: the codec ("-zstd-" is ZSTD), five row
 * groups for "-rg50", no index statistics for "-nostats", and DATA_PAGE_V2
 * pages (type 3) for "-v2", DATA_PAGE (0) otherwise.
 */
static void assert_wasm_file_written(const char *path, const char *name)
{
    char codec[32] = "", sql[1024];
    assert_int_equal(sscanf(name, "pw-%*[^-]-%*[^-]-%*[^-]-%31[^-]", codec), 1);
    for (char *c = codec; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
    snprintf(sql, sizeof sql,
             "SELECT string_agg(DISTINCT compression, ',') || ' ' || count(DISTINCT row_group_id) "
             "|| ' ' || count(stats_min) FILTER (WHERE path_in_schema = 'ts') "
             "FROM parquet_metadata('%s')",
             path);
    char *got = duck_text(sql);
    int groups = strstr(name, "-rg50") ? 5 : 1;
    char want[96];
    snprintf(want, sizeof want, "%s %d %d", codec, groups, strstr(name, "-nostats") ? 0 : groups);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(first_page_type(path, "ts"), strstr(name, "-v2") ? 3 : 0);
}

static void every_parquet_wasm_file_gives_the_same_table_and_its_own_schema(void **state)
{
    (void)state;
    const char *dir = require_wasm_fixtures();
    for (size_t i = 0; i < WASM_FILE_COUNT; i++) {
        char *file = wasm_file(dir, WASM_FILES[i], "parquet");
        char *schema_file = wasm_file(dir, WASM_FILES[i], "schema");
        char *built = NULL;
        assert_int_equal(tst_test_read_file(schema_file, &built, NULL), 0);

        assert_wasm_file_written(file, WASM_FILES[i]);

        text adopted;
        append_to_fresh_table(file, &adopted);
        if (strcmp(adopted.buf, built) != 0)
            print_error("%s: the script built\n%sbut the table adopted\n%s", file, built,
                        adopted.buf);
        assert_string_equal(adopted.buf, built);
        free(built);
        free(schema_file);
        free(file);
    }
}

static void a_parquet_wasm_file_matching_the_table_is_copied_and_then_overlaps(void **state)
{
    (void)state;
    const char *dir = require_wasm_fixtures();
    char *snappy = wasm_file(dir, "pw-ms-utc-req-snappy-v1", "parquet");
    char *zstd = wasm_file(dir, "pw-ms-utc-req-zstd-v2", "parquet");
    char *nullable = wasm_file(dir, "pw-ms-utc-opt-snappy-v1", "parquet");
    char *root = tst_test_tmpdir("compat");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet(t, snappy, NULL, &res));
    assert_true(res.copied);
    assert_tst_fails(tst_table_append_parquet(t, zstd, NULL, NULL), TST_EOVERLAP);
    assert_int_equal(tst_error_last()->overlap_count, 240);
    assert_string_equal(tst_error_last()->entity, "symbol=NVDA");
    /* Nullable columns without a null fit the non-null table (finding 6):
     * the schema passes and the same rows are refused as overlap. */
    assert_tst_fails(tst_table_append_parquet(t, nullable, NULL, NULL), TST_EOVERLAP);
    assert_int_equal(tst_table_version(t), 2);
    free(snappy);
    free(zstd);
    free(nullable);
    tst_table_free(t);
    tst_test_rmtree(root);
}

/*
 * arrow-rs writes Parquet's LZ4 codec as Hadoop-framed LZ4, which DuckDB
 * 1.4.4 refuses ("Unsupported compression codec LZ4"). The append must fail
 * cleanly, name the codec, and leave the table as it was.
 */
static void a_hadoop_lz4_file_is_refused_cleanly(void **state)
{
    (void)state;
    const char *dir = require_wasm_fixtures();
    for (size_t i = 0; i < 2; i++) {
        char *file = wasm_file(dir, WASM_LZ4_FILES[i], "parquet");
        char *root = tst_test_tmpdir("compat");
        tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
        int rc = tst_table_append_parquet(t, file, NULL, NULL);
        assert_true(rc < 0);
        assert_int_equal(tst_error_last()->code, rc);
        assert_non_null(strstr(tst_error_last()->message, "LZ4"));
        assert_int_equal(tst_table_version(t), 1);
        assert_int_equal(tst_table_segment_count(t), 0);
        char *data = tst_test_path(root, "data"), *cov = tst_test_path(root, "_coverage");
        assert_int_equal(tst_test_count_files(data), 0);
        assert_int_equal(tst_test_count_files(cov), 0);
        free(data);
        free(cov);
        tst_table_free(t);
        tst_test_rmtree(root);
        free(file);
    }
}

/* ---- 3. the reference's example table ----------------------------------- */

#define REF_SEGMENT_SIDECAR                                                                        \
    "_coverage/segments/segcov-46ce555d301706364664f7bd6fd774a1-"                                  \
    "679d3b3c-8c37-45bd-87ab-d4ce2500acf0.roar"
#define REF_TABLE_SNAPSHOT                                                                         \
    "_coverage/table/2-tblcov-690c41a668bbc5276b4fbad9b02a2dec-"                                   \
    "679d3b3c-8c37-45bd-87ab-d4ce2500acf0.roar"

/* §1.11's worked example: the NVDA segment's entity sidecar, 64 bytes. */
static const char REF_SIDECAR_HEX[] =
    "54535445434f5632 | 00000001 | 00000001 | 01 | 0000000000000004 4e564441 |"
    "000000000000001b | 0100000000000000 | 00000080 | 3b300000 | 01 | 0700 ef00 |"
    "0100 4847 ef00";

/* The schema of the reference table (commit 2), as schema_text() prints it. */
static const char REF_SCHEMA[] = "ts timestamp[ms] required\n"
                                 "symbol utf8 required\n"
                                 "open float64 required\n"
                                 "high float64 required\n"
                                 "low float64 required\n"
                                 "close float64 required\n"
                                 "volume int64 required\n";

static void make_dirs(const char *root, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
}

static void write_rel(const char *root, const char *rel, const void *bytes, size_t len)
{
    make_dirs(root, rel);
    char *path = tst_test_path(root, rel);
    assert_int_equal(tst_test_write_file(path, bytes, len), 0);
    free(path);
}

/* The sample with ts as TIMESTAMP_MS (Parquet TIMESTAMP(MILLIS), not UTC-adjusted). */
static void write_sample_millis(const char *path, int shift_hours)
{
    char sql[4096];
    snprintf(sql, sizeof sql,
             "COPY (SELECT (ts + INTERVAL %d HOUR)::TIMESTAMP_MS AS ts, symbol, open, high, low, "
             "close, volume FROM read_csv('%s', columns = {'ts': 'TIMESTAMP', 'symbol': "
             "'VARCHAR', 'open': 'DOUBLE', 'high': 'DOUBLE', 'low': 'DOUBLE', 'close': 'DOUBLE', "
             "'volume': 'BIGINT'})) TO '%s' (FORMAT parquet)",
             shift_hours, NVDA_CSV, path);
    tst_test_duck(sql);
}

/* Commit 2 of §1.1, from the golden file, with file_size set to the real size. */
static char *reference_commit_2(uint64_t file_size)
{
    char *golden = NULL;
    assert_int_equal(
        tst_test_read_file(TST_SOURCE_DIR "/tests/golden/commit_0000000002.json", &golden, NULL),
        0);
    const char *old = "\"file_size\":14272,";
    char *at = strstr(golden, old);
    assert_non_null(at);
    assert_non_null(strstr(golden, "\"path\":\"data/nvda_1h.parquet\""));
    size_t cap = strlen(golden) + 32;
    char *out = malloc(cap);
    snprintf(out, cap, "%.*s\"file_size\":%llu,%s", (int)(at - golden), golden,
             (unsigned long long)file_size, at + strlen(old));
    free(golden);
    return out;
}

/* Builds, in a fresh folder, the table §1.1 describes, byte for byte where it can. */
static char *build_reference_table(void)
{
    char *root = tst_test_tmpdir("compat-ref");
    make_dirs(root, "data/x");
    char *data = tst_test_path(root, "data/nvda_1h.parquet");
    write_sample_millis(data, 0);
    struct stat st;
    assert_int_equal(stat(data, &st), 0);
    free(data);

    char *commit1 = NULL;
    size_t len1 = 0;
    assert_int_equal(
        tst_test_read_file(TST_SOURCE_DIR "/tests/golden/commit_0000000001.json", &commit1, &len1),
        0);
    write_rel(root, "_timeseries_log/0000000001.json", commit1, len1);
    free(commit1);
    char *commit2 = reference_commit_2((uint64_t)st.st_size);
    write_rel(root, "_timeseries_log/0000000002.json", commit2, strlen(commit2));
    free(commit2);
    write_rel(root, "_timeseries_log/CURRENT", "2\n", 2);

    uint8_t sidecar[64];
    assert_int_equal(tst_test_hex(REF_SIDECAR_HEX, sidecar), sizeof sidecar);
    write_rel(root, REF_SEGMENT_SIDECAR, sidecar, sizeof sidecar);
    write_rel(root, REF_TABLE_SNAPSHOT, sidecar, sizeof sidecar);
    return root;
}

/* Warnings from the library (e.g. a snapshot it had to rebuild) fail the test. */
static int log_warnings;
static void count_warnings(void *ctx, tst_log_level level, const char *event, const char *message)
{
    (void)ctx;
    if (level >= TST_LOG_WARN) {
        print_error("library warning %s: %s\n", event, message);
        log_warnings++;
    }
}

static void the_reference_table_opens_with_its_own_files(void **state)
{
    (void)state;
    char *root = build_reference_table();
    log_warnings = 0;
    tst_set_log_callback(count_warnings, NULL);
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));
    assert_int_equal(tst_table_version(t), 2);
    uint64_t at = 0;
    assert_string_equal(tst_table_coverage_path(t, &at), REF_TABLE_SNAPSHOT);
    assert_int_equal(at, 2);
    assert_int_equal(tst_table_segment_count(t), 1);
    const tst_segment *seg = tst_table_segment_at(t, 0);
    assert_string_equal(seg->path, "data/nvda_1h.parquet");
    assert_string_equal(seg->coverage_path, REF_SEGMENT_SIDECAR);
    text schema;
    schema_text(&schema, t);
    assert_string_equal(schema.buf, REF_SCHEMA);
    assert_answers(t, EXPECTED_ANSWERS, "the reference table");
    tst_set_log_callback(NULL, NULL);
    assert_int_equal(log_warnings, 0);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void our_tables_from_csv_and_parquet_answer_like_the_reference_table(void **state)
{
    (void)state;
    char *ref_root = build_reference_table();
    tst_table *ref = NULL;
    assert_tst_ok(tst_table_open(&ref, ref_root));
    text ref_answers;
    describe(&ref_answers, ref);

    char *csv_root = tst_test_tmpdir("compat");
    tst_table *csv = tst_test_create_table(csv_root, "ts", "symbol", TST_TIME_HOURS, 1);
    assert_tst_ok(tst_table_append_csv(csv, NVDA_CSV, NULL, NULL, NULL));
    assert_answers(csv, ref_answers.buf, "the table from the CSV");

    /* From the reference table's own data file, through the Parquet path. */
    char *pq_root = tst_test_tmpdir("compat");
    tst_table *pq = tst_test_create_table(pq_root, "ts", "symbol", TST_TIME_HOURS, 1);
    char *data = tst_test_path(ref_root, "data/nvda_1h.parquet");
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet(pq, data, NULL, &res));
    assert_answers(pq, ref_answers.buf, "the table from the reference's Parquet file");

    /* The segment sidecar we write for the same rows is the §1.11 worked example. */
    char *ours = NULL, *theirs = NULL;
    size_t ours_len = 0, theirs_len = 0;
    char *ours_path = tst_test_path(pq_root, tst_table_segment_at(pq, 0)->coverage_path);
    char *theirs_path = tst_test_path(ref_root, REF_SEGMENT_SIDECAR);
    assert_int_equal(tst_test_read_file(ours_path, &ours, &ours_len), 0);
    assert_int_equal(tst_test_read_file(theirs_path, &theirs, &theirs_len), 0);
    assert_int_equal(ours_len, theirs_len);
    assert_memory_equal(ours, theirs, theirs_len);

    free(ours);
    free(theirs);
    free(ours_path);
    free(theirs_path);
    free(data);
    tst_table_free(ref);
    tst_table_free(csv);
    tst_table_free(pq);
    tst_test_rmtree(ref_root);
    tst_test_rmtree(csv_root);
    tst_test_rmtree(pq_root);
}

/*
 * The CSV cannot reach the overlap check: CSV columns are always nullable
 * and the reference schema is non-null, and the schema is checked first
 * (format §3, step 2 before step 6). The same rows from a file with the
 * exact schema (parquet-wasm, REQUIRED columns, ms without timezone) are
 * refused as overlap.
 */
static void the_sample_again_is_rejected_by_the_reference_table(void **state)
{
    (void)state;
    const char *fixtures = require_wasm_fixtures();
    char *root = build_reference_table();
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));

    tst_csv_options csv = TST_CSV_OPTIONS_INIT;
    csv.columns = "{'ts': 'TIMESTAMP_MS', 'symbol': 'VARCHAR', 'open': 'DOUBLE', 'high': "
                  "'DOUBLE', 'low': 'DOUBLE', 'close': 'DOUBLE', 'volume': 'BIGINT'}";
    /* A CSV column may be empty, so it is nullable; it holds no null, so it
     * fits the non-null table (finding 6), and the rows overlap. */
    assert_tst_fails(tst_table_append_csv(t, NVDA_CSV, &csv, NULL, NULL), TST_EOVERLAP);

    char *same = wasm_file(fixtures, "pw-ms-naive-req-snappy-v1", "parquet");
    assert_tst_fails(tst_table_append_parquet(t, same, NULL, NULL), TST_EOVERLAP);
    assert_int_equal(tst_error_last()->overlap_count, 240);
    assert_string_equal(tst_error_last()->entity, "symbol=NVDA");
    assert_string_equal(tst_error_last()->bucket_range,
                        "[2024-06-01T00:00:00Z, 2024-06-01T01:00:00Z)");
    assert_int_equal(tst_table_version(t), 2);
    assert_answers(t, EXPECTED_ANSWERS, "the reference table after the rejected appends");
    free(same);
    tst_table_free(t);
    tst_test_rmtree(root);
}

static void the_next_ten_days_extend_the_reference_table(void **state)
{
    (void)state;
    const char *fixtures = require_wasm_fixtures();
    char *root = build_reference_table();
    char *dir = tst_test_tmpdir("compat-next");
    tst_table *t = NULL;
    assert_tst_ok(tst_table_open(&t, root));

    /*
     * DuckDB writes every column OPTIONAL, even from a table declared NOT
     * NULL. Its columns hold no null, so the file fits the reference's
     * non-null schema (finding 6); it is re-encoded to declare it.
     */
    char *duck_next = tst_test_path(dir, "next.parquet");
    write_sample_millis(duck_next, 240);
    tst_append_result res;
    assert_tst_ok(tst_table_append_parquet(t, duck_next, NULL, &res));
    assert_int_equal(res.version, 3);
    assert_int_equal(res.rows, 240);
    assert_false(res.copied);

    /* arrow-rs writes REQUIRED columns: the same rows from it match the
     * table exactly and are refused as overlap, not for their schema. */
    char *next = wasm_file(fixtures, WASM_NEXT_DAYS, "parquet");
    assert_tst_fails(tst_table_append_parquet(t, next, NULL, NULL), TST_EOVERLAP);
    assert_int_equal(tst_error_last()->overlap_count, 240);
    tst_table_free(t);

    assert_tst_ok(tst_table_open(&t, root));
    tst_entity_binding nvda = tst_test_symbol("NVDA");
    tst_index_value start = tst_test_ts("2024-06-01T00:00:00Z"), end = tst_test_ts("2024-06-21T00:00:00Z");
    tst_coverage_counts c;
    assert_tst_ok(tst_table_coverage(t, &nvda, 1, &start, &end, &c));
    assert_int_equal(c.covered_buckets, 480);
    assert_true(c.ratio == 1.0);
    text schema;
    schema_text(&schema, t);
    assert_string_equal(schema.buf, REF_SCHEMA);
    text summary = {{0}, 0};
    describe_summary(&summary, t);
    assert_string_equal(summary.buf, "summary NVDA: [2024-06-01T00:00:00Z, "
                                     "2024-06-21T00:00:00Z) 480 buckets, 0 gaps\n");
    free(next);
    free(duck_next);
    tst_table_free(t);
    tst_test_rmtree(dir);
    tst_test_rmtree(root);
}

static int remove_generated(void **state)
{
    (void)state;
    if (generated_dir)
        tst_test_rmtree(generated_dir);
    generated_dir = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_duckdb_codec_and_encoding_gives_the_same_table),
        cmocka_unit_test(a_duckdb_file_appended_again_is_rejected_as_overlap),
        cmocka_unit_test(every_parquet_wasm_file_gives_the_same_table_and_its_own_schema),
        cmocka_unit_test(a_parquet_wasm_file_matching_the_table_is_copied_and_then_overlaps),
        cmocka_unit_test(a_hadoop_lz4_file_is_refused_cleanly),
        cmocka_unit_test(the_reference_table_opens_with_its_own_files),
        cmocka_unit_test(our_tables_from_csv_and_parquet_answer_like_the_reference_table),
        cmocka_unit_test(the_sample_again_is_rejected_by_the_reference_table),
        cmocka_unit_test(the_next_ten_days_extend_the_reference_table),
    };
    return cmocka_run_group_tests(tests, NULL, remove_generated);
}
