/*
 * test_arrow_ipc.c — results exported as Arrow IPC streams read back, by
 * another implementation, as the same rows.
 *
 * The independent reader is apache-arrow, the JavaScript implementation
 * (tests/fixtures/read_arrow_ipc.mjs, run with node; the package lives in
 * .deps/node, installed by scripts/deps.sh). It prints the schema it
 * decoded, the number of batches, and every row as one JSON line with each
 * value in tstable's text rendering; the test builds the same lines from
 * tst_session_query_rows over the same statement and compares the texts.
 * Without node or the package the tests fail, unless
 * TST_ALLOW_MISSING_FIXTURES=1 makes them skip (as in test_compat.c).
 *
 * Covered: the NVDA sample, a statement holding every common type (with
 * extremes, unicode, empty strings and a NULL in every column), nested and
 * rarer types, several batches, zero rows, arrays with non-zero offsets
 * from a hand-made stream (DuckDB never slices), and the refusals.
 */
#include "testsupport.h"

#include "arrow_ipc.h"
#include "tstable/session.h"
#include "fail.h"
#include "tstable/append.h"
#include "tstable/table.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NVDA_CSV TST_SOURCE_DIR "/examples/data/nvda_1h_sample.csv"
#define READER TST_SOURCE_DIR "/tests/fixtures/read_arrow_ipc.mjs"
#define NODE_DEPS TST_SOURCE_DIR "/.deps/node"

/* ---- growing text ------------------------------------------------------ */

typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void text_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->len + (size_t)n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* A JSON string as JavaScript's JSON.stringify writes it. */
static void text_json(text *t, const char *s)
{
    text_add(t, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *esc = *p == '"'    ? "\\\""
                          : *p == '\\' ? "\\\\"
                          : *p == '\n' ? "\\n"
                          : *p == '\r' ? "\\r"
                          : *p == '\t' ? "\\t"
                          : *p == '\b' ? "\\b"
                          : *p == '\f' ? "\\f"
                                       : NULL;
        if (esc)
            text_add(t, "%s", esc);
        else if (*p < 0x20)
            text_add(t, "\\u%04x", *p);
        else
            text_add(t, "%c", *p);
    }
    text_add(t, "\"");
}

/* ---- the reader -------------------------------------------------------- */

static char node_problem[512];

static bool node_ready(void)
{
    if (system("command -v node >/dev/null 2>&1") != 0) {
        snprintf(node_problem, sizeof node_problem, "node is not installed");
        return false;
    }
    if (!tst_test_exists(NODE_DEPS "/node_modules/apache-arrow/package.json")) {
        snprintf(node_problem, sizeof node_problem,
                 "%s/node_modules/apache-arrow is missing: run scripts/deps.sh", NODE_DEPS);
        return false;
    }
    return true;
}

/* Fails (or skips under TST_ALLOW_MISSING_FIXTURES=1) without the reader. */
static void require_node(void)
{
    if (node_ready())
        return;
    const char *allow = getenv("TST_ALLOW_MISSING_FIXTURES");
    if (allow && strcmp(allow, "1") == 0) {
        print_message("apache-arrow reader unavailable (%s); skipped because "
                      "TST_ALLOW_MISSING_FIXTURES=1\n",
                      node_problem);
        skip();
    }
    fail_msg("apache-arrow reader unavailable: %s. Set TST_ALLOW_MISSING_FIXTURES=1 to skip.",
             node_problem);
}

/* What the reader printed for `path`; fails the test if it did not succeed. */
static char *read_with_node(const char *path)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "node '%s' '%s' '%s' 2>&1", READER, path, NODE_DEPS);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    text out = {0};
    char buf[4096];
    size_t n;
    text_add(&out, "%s", "");
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        text_add(&out, "%.*s", (int)n, buf);
    int status = pclose(p);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the apache-arrow reader failed on %s:\n%s", path, out.s);
    return out.s;
}

/* The reader's output split: schema lines, the batch count, the row lines. */
typedef struct reading {
    text schema, rows;
    int batches;
} reading;

static reading parse_reading(char *out)
{
    reading r = {{0}, {0}, -1};
    text_add(&r.schema, "%s", "");
    text_add(&r.rows, "%s", "");
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "schema ", 7) == 0)
            text_add(&r.schema, "%s\n", line + 7);
        else if (sscanf(line, "batches %d", &r.batches) == 1)
            continue;
        else
            text_add(&r.rows, "%s\n", line);
    }
    return r;
}

/* The lines the reader must print for sql's rows, from tst_session_query_rows. */
static char *expected_rows(tst_session *s, const char *sql)
{
    tst_rows *rows = NULL;
    assert_tst_ok(tst_session_query_rows(s, sql, NULL, 0, &rows));
    text t = {0};
    text_add(&t, "%s", "");
    int more;
    while ((more = tst_rows_next(rows)) == 1) {
        for (size_t c = 0; c < tst_rows_column_count(rows); c++) {
            text_add(&t, "%s", c ? "," : "{");
            text_json(&t, tst_rows_column_name(rows, c));
            const char *v = tst_rows_value(rows, c);
            text_add(&t, ":");
            if (v)
                text_json(&t, v);
            else
                text_add(&t, "null");
        }
        text_add(&t, "}\n");
    }
    assert_int_equal(more, 0);
    tst_rows_free(rows);
    return t.s;
}

/*
 * Exports sql as Arrow, reads it with apache-arrow, and checks the schema
 * it decoded, the batch count (`batches`, or at least -`batches` when
 * negative) and every row against tst_session_query_rows.
 */
static void assert_reads_back(tst_session *s, const char *dir, const char *sql, const char *schema,
                              int batches)
{
    char *path = tst_test_path(dir, "out.arrow");
    uint64_t n = UINT64_MAX;
    assert_tst_ok(tst_session_export(s, sql, NULL, 0, "arrow", path, &n));
    char *out = read_with_node(path);
    reading r = parse_reading(out);
    char *want = expected_rows(s, sql);
    assert_string_equal(r.schema.s, schema);
    if (batches >= 0)
        assert_int_equal(r.batches, batches);
    else
        assert_true(r.batches >= -batches);
    assert_string_equal(r.rows.s, want);
    size_t lines = 0;
    for (const char *p = want; *p; p++)
        lines += *p == '\n';
    assert_int_equal(n, lines);
    free(want);
    free(r.schema.s);
    free(r.rows.s);
    free(out);
    free(path);
}

/* ---- fixtures ------------------------------------------------------------ */

/* A session with the NVDA sample registered as `nvda`, its table under dir. */
static tst_session *nvda_session(const char *dir)
{
    char *root = tst_test_path(dir, "nvda");
    tst_table *t = tst_test_create_table(root, "ts", "symbol", TST_TIME_HOURS, 1);
    assert_tst_ok(tst_table_append_csv(t, NVDA_CSV, NULL, NULL, NULL));
    tst_table_free(t);
    tst_session *s = NULL;
    assert_tst_ok(tst_session_open(&s));
    assert_tst_ok(tst_session_register_table(s, "nvda", root));
    free(root);
    return s;
}

static const char NVDA_SCHEMA[] = "ts: Timestamp<MICROSECOND, UTC> nullable\n"
                                  "symbol: Utf8 nullable\n"
                                  "open: Float64 nullable\n"
                                  "high: Float64 nullable\n"
                                  "low: Float64 nullable\n"
                                  "close: Float64 nullable\n"
                                  "volume: Int64 nullable\n";

/* ---- statements ---------------------------------------------------------- */

static void the_nvda_sample_reads_back_in_apache_arrow(void **state)
{
    (void)state;
    require_node();
    char *dir = tst_test_tmpdir("arrow-ipc");
    tst_session *s = nvda_session(dir);
    assert_reads_back(s, dir, "SELECT * FROM nvda ORDER BY ts", NVDA_SCHEMA, 1);
    tst_session_free(s);
    tst_test_rmtree(dir);
}

/* Extremes in the first row, everyday values in the second, NULLs in the third. */
static const char EVERY_TYPE_SQL[] =
    "SELECT * FROM (VALUES "
    "((-128)::TINYINT, (-32768)::SMALLINT, (-2147483648)::INTEGER, "
    " (-9223372036854775808)::BIGINT, 255::UTINYINT, 65535::USMALLINT, 4294967295::UINTEGER, "
    " 18446744073709551615::UBIGINT, 1.5::FLOAT, 1e300::DOUBLE, true, '', ''::BLOB, "
    " DATE '1969-12-31', (-0.05)::DECIMAL(4,2), 123456789012.345::DECIMAL(18,3), "
    " (-12345678901234567890.1234567890)::DECIMAL(38,10), "
    " '1969-12-31 23:59:59.999'::TIMESTAMP_MS, '2024-06-01 09:30:00.123456'::TIMESTAMP, "
    " '2024-06-01 09:30:00.123456789'::TIMESTAMP_NS, "
    " '2024-06-01 09:30:00+02'::TIMESTAMPTZ, '23:59:59.999999'::TIME, [1, NULL, 3], "
    " {'a': 1, 'b': 'x'}), "
    "(127, 32767, 2147483647, 9223372036854775807, 0, 0, 0, 0, 0.1, -3.141592653589793, "
    " false, 'naïve — 日本語 🚀 \"q\" \\ ' || chr(9) || chr(10), '\\x00\\xFFab\\x5C'::BLOB, "
    " '2024-02-29', 99.99, -0.001, 0, '2024-06-01 00:00:00', '2024-06-01 00:00:00', "
    " '2262-04-11 23:47:16.854775806', '2024-06-01 00:00:00Z', '00:00:00', [], "
    " {'a': NULL, 'b': 'it''s'}), "
    "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
    ") AS t(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, flag, str, bin, day, d4, d18, d38, "
    "ts_ms, ts_us, ts_ns, ts_tz, tod, ints, rec)";

static const char EVERY_TYPE_SCHEMA[] = "i8: Int8 nullable\n"
                                        "i16: Int16 nullable\n"
                                        "i32: Int32 nullable\n"
                                        "i64: Int64 nullable\n"
                                        "u8: Uint8 nullable\n"
                                        "u16: Uint16 nullable\n"
                                        "u32: Uint32 nullable\n"
                                        "u64: Uint64 nullable\n"
                                        "f32: Float32 nullable\n"
                                        "f64: Float64 nullable\n"
                                        "flag: Bool nullable\n"
                                        "str: Utf8 nullable\n"
                                        "bin: Binary nullable\n"
                                        "day: Date32<DAY> nullable\n"
                                        "d4: Decimal[4e+2] nullable\n"
                                        "d18: Decimal[18e+3] nullable\n"
                                        "d38: Decimal[38e+10] nullable\n"
                                        "ts_ms: Timestamp<MILLISECOND> nullable\n"
                                        "ts_us: Timestamp<MICROSECOND> nullable\n"
                                        "ts_ns: Timestamp<NANOSECOND> nullable\n"
                                        "ts_tz: Timestamp<MICROSECOND, UTC> nullable\n"
                                        "tod: Time64<MICROSECOND> nullable\n"
                                        "ints: List<Int32> nullable\n"
                                        "rec: Struct<{a:Int32, b:Utf8}> nullable\n";

static void every_common_type_reads_back_with_its_values_and_nulls(void **state)
{
    (void)state;
    require_node();
    char *dir = tst_test_tmpdir("arrow-ipc");
    tst_session *s = nvda_session(dir);
    assert_reads_back(s, dir, EVERY_TYPE_SQL, EVERY_TYPE_SCHEMA, 1);
    tst_session_free(s);
    tst_test_rmtree(dir);
}

static void maps_fixed_lists_intervals_and_deep_nesting_read_back(void **state)
{
    (void)state;
    require_node();
    char *dir = tst_test_tmpdir("arrow-ipc");
    tst_session *s = nvda_session(dir);
    const char *sql =
        "SELECT * FROM (VALUES "
        "(MAP {'k': 1, 'j': NULL}, [1, 2]::INT[2], INTERVAL '1 month 2 days 3.5 seconds', "
        " '00000000-0000-0000-0000-000000000001'::UUID, "
        " 170141183460469231731687303715884105727::HUGEINT, [[1], [2, NULL]], "
        " {'a': [1], 'b': {'c': 'x'}}, NULL), "
        "(MAP {}, [NULL, 4]::INT[2], INTERVAL '-1 day', NULL, -1, [], {'a': NULL, 'b': NULL}, "
        " NULL), "
        "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
        ") AS t(m, pair, span, id, huge, nested, deep, nothing)";
    const char *schema = "m: Map<{key:Utf8, value:Int32}> nullable\n"
                         "pair: FixedSizeList[2]<Int32> nullable\n"
                         "span: Interval<MONTH_DAY_NANO> nullable\n"
                         "id: Utf8 nullable\n"
                         "huge: Decimal[38e0] nullable\n"
                         "nested: List<List<Int32>> nullable\n"
                         "deep: Struct<{a:List<Int32>, b:Struct<{c:Utf8}>}> nullable\n"
                         "nothing: Int32 nullable\n";
    assert_reads_back(s, dir, sql, schema, 1);
    tst_session_free(s);
    tst_test_rmtree(dir);
}

static void a_result_of_several_batches_reads_back_whole(void **state)
{
    (void)state;
    require_node();
    char *dir = tst_test_tmpdir("arrow-ipc");
    tst_session *s = nvda_session(dir);
    const char *sql = "SELECT i, i * 1.5 AS x, 'row ' || i AS label, "
                      "CASE WHEN i % 7 = 0 THEN NULL ELSE i % 2 = 0 END AS even, "
                      "CASE WHEN i % 5 = 0 THEN NULL ELSE [i, i + 1] END AS pair "
                      "FROM range(5000) t(i) ORDER BY i";
    const char *schema = "i: Int64 nullable\n"
                         "x: Decimal[21e+1] nullable\n"
                         "label: Utf8 nullable\n"
                         "even: Bool nullable\n"
                         "pair: List<Int64> nullable\n";
    assert_reads_back(s, dir, sql, schema, -2);
    tst_session_free(s);
    tst_test_rmtree(dir);
}

static uint32_t le32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

/* A schema message and the end marker, nothing else; still a valid stream,
 * and as a file the same between the magic and the footer. */
static void zero_rows_give_the_schema_and_the_end_marker(void **state)
{
    (void)state;
    require_node();
    char *dir = tst_test_tmpdir("arrow-ipc");
    tst_session *s = nvda_session(dir);
    assert_reads_back(s, dir, "SELECT * FROM nvda WHERE false", NVDA_SCHEMA, 0);
    char *path = tst_test_path(dir, "out.arrows"), *bytes = NULL;
    assert_tst_ok(tst_session_export(s, "SELECT * FROM nvda WHERE false", NULL, 0, "arrows", path,
                                     NULL));
    size_t len = 0;
    assert_int_equal(tst_test_read_file(path, &bytes, &len), 0);
    assert_true(len >= 16);
    assert_int_equal(le32(bytes), 0xFFFFFFFFu);
    uint32_t meta = le32(bytes + 4);
    assert_int_equal(meta % 8, 0);
    assert_int_equal(len, 8 + meta + 8);
    assert_memory_equal(bytes + len - 8, "\xFF\xFF\xFF\xFF\0\0\0\0", 8);
    char *file = tst_test_path(dir, "out.arrow"), *fbytes = NULL;
    size_t flen = 0;
    assert_int_equal(tst_test_read_file(file, &fbytes, &flen), 0);
    assert_memory_equal(fbytes, "ARROW1\0\0", 8);
    assert_memory_equal(fbytes + flen - 6, "ARROW1", 6);
    uint32_t footer = le32(fbytes + flen - 10);
    assert_int_equal(flen, 8 + len + footer + 10); /* magic, the stream, footer, length, magic */
    assert_memory_equal(fbytes + 8, bytes, len);
    free(fbytes);
    free(file);
    free(bytes);
    free(path);
    tst_session_free(s);
    tst_test_rmtree(dir);
}

/* ---- a hand-made stream of sliced arrays ---------------------------------- */

static void release_schema(struct ArrowSchema *s)
{
    s->release = NULL;
}

static void release_array(struct ArrowArray *a)
{
    a->release = NULL;
}

#define LEAF(fmt, nm)                                                                              \
    {                                                                                              \
        fmt, nm, NULL, ARROW_FLAG_NULLABLE, 0, NULL, NULL, release_schema, NULL                    \
    }

static struct ArrowSchema s_n = LEAF("i", "n"), s_s = LEAF("u", "s"), s_b = LEAF("b", "b");
static struct ArrowSchema s_item = LEAF("i", "item"), s_x = LEAF("l", "x");
static struct ArrowSchema s_at = LEAF("tsn:Europe/Paris", "at");
static struct ArrowSchema *s_l_children[] = {&s_item}, *s_st_children[] = {&s_x};
static struct ArrowSchema s_l = {
    "+l", "l", NULL, ARROW_FLAG_NULLABLE, 1, s_l_children, NULL, release_schema, NULL};
static struct ArrowSchema s_st = {"+s", "st",           NULL, ARROW_FLAG_NULLABLE, 1, s_st_children,
                                  NULL, release_schema, NULL};
static struct ArrowSchema *s_columns[] = {&s_n, &s_s, &s_b, &s_l, &s_st, &s_at};
static struct ArrowSchema s_top = {"+s", "", NULL, 0, 6, s_columns, NULL, release_schema, NULL};

/* Ten values per column; every column array is the slice [3, 8). */
static const int32_t n_values[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
static const uint8_t n_valid[2] = {0xDF, 0x03}; /* 5 is null */
static const int32_t s_offsets[11] = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20};
static const char s_bytes[] = "s0s1s2s3s4s5s6s7s8s9";
static const uint8_t b_bits[2] = {0x49, 0x02};                          /* i % 3 == 0 */
static const int32_t l_offsets[11] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5}; /* even i: [10 i] */
static const int32_t item_values[6] = {99, 0, 20, 40, 60, 80};          /* offset 1 */
static const int64_t x_values[12] = {100, 101, 102, 103, 104, 105,
                                     106, 107, 108, 109, 110, 111}; /* offset 2 */
static const int64_t at_values[10] = {0,          1000000001, 2000000002, 3000000003, 4000000004,
                                      5000000005, 6000000006, 7000000007, 8000000008, 9000000009};

static const void *n_buffers[] = {n_valid, n_values}, *s_buffers[] = {NULL, s_offsets, s_bytes};
static const void *b_buffers[] = {NULL, b_bits}, *l_buffers[] = {NULL, l_offsets};
static const void *item_buffers[] = {NULL, item_values}, *x_buffers[] = {NULL, x_values};
static const void *st_buffers[] = {NULL}, *top_buffers[] = {NULL},
                  *at_buffers[] = {NULL, at_values};

#define ARRAY(len, nulls, off, nbuf, bufs, nch, ch)                                                \
    {                                                                                              \
        len, nulls, off, nbuf, nch, bufs, ch, NULL, release_array, NULL                            \
    }

static struct ArrowArray a_item = ARRAY(5, 0, 1, 2, item_buffers, 0, NULL);
static struct ArrowArray a_x = ARRAY(10, 0, 2, 2, x_buffers, 0, NULL);
static struct ArrowArray *a_l_children[] = {&a_item}, *a_st_children[] = {&a_x};
static struct ArrowArray a_n = ARRAY(5, -1, 3, 2, n_buffers, 0, NULL);
static struct ArrowArray a_s = ARRAY(5, 0, 3, 3, s_buffers, 0, NULL);
static struct ArrowArray a_b = ARRAY(5, 0, 3, 2, b_buffers, 0, NULL);
static struct ArrowArray a_l = ARRAY(5, 0, 3, 2, l_buffers, 1, a_l_children);
static struct ArrowArray a_st = ARRAY(5, 0, 3, 1, st_buffers, 1, a_st_children);
static struct ArrowArray a_at = ARRAY(5, 0, 3, 2, at_buffers, 0, NULL);
static struct ArrowArray *a_columns[] = {&a_n, &a_s, &a_b, &a_l, &a_st, &a_at};

/* Batch 0: the columns whole; batch 1: rows 2..4 of them (a top offset). */
typedef struct hand_stream {
    struct ArrowSchema *schema;
    int next;
} hand_stream;

static int hand_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    *out = *((hand_stream *)st->private_data)->schema;
    return 0;
}

static int hand_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    hand_stream *h = st->private_data;
    struct ArrowArray top = ARRAY(5, 0, 0, 1, top_buffers, 6, a_columns);
    memset(out, 0, sizeof *out);
    if (h->next == 1)
        top.offset = 2, top.length = 3;
    if (h->next++ < 2)
        *out = top;
    return 0;
}

static const char *hand_last_error(struct ArrowArrayStream *st)
{
    (void)st;
    return NULL;
}

static void hand_release(struct ArrowArrayStream *st)
{
    st->release = NULL;
}

static struct ArrowArrayStream hand_stream_of(hand_stream *h)
{
    struct ArrowArrayStream st = {hand_get_schema, hand_get_next, hand_last_error, hand_release, h};
    return st;
}

static int file_sink(void *ctx, const void *bytes, size_t len)
{
    return fwrite(bytes, 1, len, ctx) == len ? 0 : tst_fail(TST_EIO, "test sink: write failed");
}

static void sliced_arrays_are_written_as_their_slices(void **state)
{
    (void)state;
    require_node();
    char *dir = tst_test_tmpdir("arrow-ipc");
    char *path = tst_test_path(dir, "sliced.arrow");
    hand_stream h = {&s_top, 0};
    struct ArrowArrayStream st = hand_stream_of(&h);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t rows = 0;
    assert_tst_ok(tst_arrow_ipc_write_stream(&st, file_sink, f, &rows));
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rows, 8);
    char *out = read_with_node(path);
    reading r = parse_reading(out);
    assert_string_equal(r.schema.s, "n: Int32 nullable\ns: Utf8 nullable\nb: Bool nullable\n"
                                    "l: List<Int32> nullable\n"
                                    "st: Struct<{x:Int64}> nullable\n"
                                    "at: Timestamp<NANOSECOND, Europe/Paris> nullable\n");
    assert_int_equal(r.batches, 2);
    static const char *ROW[] = {"{\"n\":\"3\",\"s\":\"s3\",\"b\":\"true\",\"l\":\"[]\",\"st\":\"{'"
                                "x': 105}\",\"at\":\"1970-01-01T00:00:03.000000003Z\"}\n",
                                "{\"n\":\"4\",\"s\":\"s4\",\"b\":\"false\",\"l\":\"[40]\",\"st\":"
                                "\"{'x': 106}\",\"at\":\"1970-01-01T00:00:04.000000004Z\"}\n",
                                "{\"n\":null,\"s\":\"s5\",\"b\":\"false\",\"l\":\"[]\",\"st\":\"{'"
                                "x': 107}\",\"at\":\"1970-01-01T00:00:05.000000005Z\"}\n",
                                "{\"n\":\"6\",\"s\":\"s6\",\"b\":\"true\",\"l\":\"[60]\",\"st\":\"{"
                                "'x': 108}\",\"at\":\"1970-01-01T00:00:06.000000006Z\"}\n",
                                "{\"n\":\"7\",\"s\":\"s7\",\"b\":\"false\",\"l\":\"[]\",\"st\":\"{'"
                                "x': 109}\",\"at\":\"1970-01-01T00:00:07.000000007Z\"}\n"};
    text want = {0};
    for (int i = 0; i < 5; i++)
        text_add(&want, "%s", ROW[i]);
    for (int i = 2; i < 5; i++)
        text_add(&want, "%s", ROW[i]);
    assert_string_equal(r.rows.s, want.s);
    free(want.s);
    free(r.schema.s);
    free(r.rows.s);
    free(out);
    free(path);
    tst_test_rmtree(dir);
}

/* ---- refusals -------------------------------------------------------------- */

static int failing_sink(void *ctx, const void *bytes, size_t len)
{
    (void)bytes;
    size_t *left = ctx;
    if (len > *left)
        return tst_fail(TST_EIO, "test sink: disk full");
    *left -= len;
    return 0;
}

static void a_failing_sink_stops_the_writer_with_its_error(void **state)
{
    (void)state;
    hand_stream whole = {&s_top, 0};
    struct ArrowArrayStream counted = hand_stream_of(&whole);
    size_t total = SIZE_MAX;
    assert_tst_ok(tst_arrow_ipc_write_stream(&counted, failing_sink, &total, NULL));
    total = SIZE_MAX - total;
    for (size_t budget = 0; budget < total; budget += 7) {
        hand_stream h = {&s_top, 0};
        struct ArrowArrayStream st = hand_stream_of(&h);
        size_t left = budget;
        assert_tst_fails(tst_arrow_ipc_write_stream(&st, failing_sink, &left, NULL), TST_EIO);
    }
}

static void unknown_and_unsupported_formats_are_refused_by_name(void **state)
{
    (void)state;
    static const struct {
        const char *format;
        int code;
    } CASES[] = {
        {"+us:0", TST_EUNSUPPORTED}, {"vu", TST_EUNSUPPORTED}, {"q", TST_EINVAL},
        {"d:40", TST_EINVAL},        {"w:0", TST_EINVAL},      {"tsx:", TST_EINVAL},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        struct ArrowSchema col = LEAF(CASES[i].format, "odd");
        struct ArrowSchema *cols[] = {&col};
        struct ArrowSchema top = {"+s", "", NULL, 0, 1, cols, NULL, release_schema, NULL};
        hand_stream h = {&top, 0};
        struct ArrowArrayStream st = hand_stream_of(&h);
        size_t left = SIZE_MAX;
        assert_tst_fails(tst_arrow_ipc_write_stream(&st, failing_sink, &left, NULL), CASES[i].code);
        assert_non_null(strstr(tst_error_last()->message, "'odd'"));
    }
}

static void enums_and_sql_errors_fail_and_leave_no_file(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("arrow-ipc");
    tst_session *s = nvda_session(dir);
    char *path = tst_test_path(dir, "out.arrow");
    assert_tst_fails(
        tst_session_export(s, "SELECT 'a'::ENUM('a', 'b') AS e", NULL, 0, "arrow", path, NULL),
        TST_EUNSUPPORTED);
    assert_non_null(strstr(tst_error_last()->message, "'e'"));
    assert_tst_fails(tst_session_export(s, "SELECT nope FROM nvda", NULL, 0, "arrow", path, NULL),
                     TST_ESQL);
    assert_tst_fails(
        tst_session_export(s, "SELECT 1", NULL, 0, "arrow", "/no/such/dir/x.arrow", NULL),
        TST_ENOTFOUND);
    assert_non_null(strstr(tst_error_last()->message, "folder /no/such/dir does not exist"));
    assert_false(tst_test_exists(path));
    tst_session_free(s);
    tst_test_rmtree(tst_test_path(dir, "nvda"));
    assert_int_equal(rmdir(dir), 0); /* empty: no temp file was left behind */
    free(dir);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_nvda_sample_reads_back_in_apache_arrow),
        cmocka_unit_test(every_common_type_reads_back_with_its_values_and_nulls),
        cmocka_unit_test(maps_fixed_lists_intervals_and_deep_nesting_read_back),
        cmocka_unit_test(a_result_of_several_batches_reads_back_whole),
        cmocka_unit_test(zero_rows_give_the_schema_and_the_end_marker),
        cmocka_unit_test(sliced_arrays_are_written_as_their_slices),
        cmocka_unit_test(a_failing_sink_stops_the_writer_with_its_error),
        cmocka_unit_test(unknown_and_unsupported_formats_are_refused_by_name),
        cmocka_unit_test(enums_and_sql_errors_fail_and_leave_no_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
