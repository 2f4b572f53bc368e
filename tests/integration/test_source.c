/*
 * test_source.c — append sources: CSV types from DuckDB's inference, Parquet
 * types from the footer (format §1.7 "Parquet → logical"), the embedded
 * ARROW:schema preferred when it decodes, and every failure named.
 *
 * Parquet fixtures are written by DuckDB itself (COPY ... TO ... FORMAT
 * parquet) into a scratch folder. Arrow schemas are built here with a tiny
 * flatbuffer writer (below) and stored in the footer with COPY's
 * KV_METADATA option, the way pyarrow and arrow-rs store theirs.
 */
#include "testsupport.h"

#include "arrow_schema.h"
#include "duck.h"
#include "model.h"
#include "source.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NVDA_CSV TST_SOURCE_DIR "/examples/data/nvda_1h_sample.csv"

/* ---- helpers ------------------------------------------------------------- */

static void duck_exec(const char *sql)
{
    duckdb_connection con = NULL;
    assert_tst_ok(tst_duck_connect(&con));
    assert_tst_ok(tst_duck_query(con, sql, NULL, "test fixture"));
    tst_duck_disconnect(&con);
}

/* Writes SELECT `select` to <dir>/<name> as Parquet; `options` extra COPY options. */
static char *write_parquet(const char *dir, const char *name, const char *select,
                           const char *options)
{
    char *path = tst_test_path(dir, name);
    size_t len = strlen(select) + strlen(path) + (options ? strlen(options) : 0) + 64;
    char *sql = malloc(len);
    assert_non_null(sql);
    snprintf(sql, len, "COPY (%s) TO '%s' (FORMAT parquet%s%s)", select, path,
             options ? ", " : "", options ? options : "");
    duck_exec(sql);
    free(sql);
    return path;
}

static const tst_source_column *column(const tst_source *src, const char *name)
{
    for (size_t i = 0; i < src->column_count; i++)
        if (strcmp(src->columns[i].name, name) == 0)
            return &src->columns[i];
    fail_msg("no column '%s'", name);
    return NULL;
}

static void assert_column(const tst_source *src, const char *name, tst_wire_kind wire,
                          const char *type_text, bool nullable)
{
    const tst_source_column *c = column(src, name);
    if (strcmp(c->type_text, type_text) != 0 || c->wire != wire)
        fail_msg("column '%s': got %s (wire %d), wanted %s (wire %d)", name, c->type_text,
                 (int)c->wire, type_text, (int)wire);
    assert_int_equal(c->nullable, nullable);
}

static void assert_message_has(const char *needle)
{
    if (!strstr(tst_error_last()->message, needle))
        fail_msg("message lacks '%s': %s", needle, tst_error_last()->message);
}

/* One Parquet file from a SELECT, inspected. */
static void inspect_select(tst_source *src, const char *select)
{
    char *dir = tst_test_tmpdir("source");
    char *path = write_parquet(dir, "x.parquet", select, NULL);
    assert_tst_ok(tst_source_parquet(src, path));
    free(path);
    tst_test_rmtree(dir);
}

/* ---- a tiny flatbuffer writer for Arrow schema messages ------------------- */
/*
 * Objects are laid out front to back: a table is written first with its
 * offset slots zeroed, its strings, sub-tables and vectors after it (offsets
 * point forward), then the slots are patched. Every slot is 4 bytes wide;
 * a vtable precedes its table.
 */

typedef struct fbb {
    uint8_t b[8192];
    size_t n;
} fbb;

enum { SLOT_ABSENT = 0, SLOT_U8 = 1, SLOT_I16 = 2, SLOT_I32 = 4, SLOT_OFFSET = -1 };

static void put_le(fbb *f, size_t pos, uint64_t v, int size)
{
    for (int i = 0; i < size; i++)
        f->b[pos + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static size_t fbb_alloc(fbb *f, size_t size)
{
    f->n = (f->n + 3) & ~(size_t)3;
    assert_true(f->n + size <= sizeof f->b);
    size_t pos = f->n;
    memset(f->b + pos, 0, size);
    f->n += size;
    return pos;
}

/* A table of n slots: sizes[i] as the enum above, values[i] for scalars. */
static size_t fbb_table(fbb *f, int n, const int *sizes, const int64_t *values)
{
    size_t vt = fbb_alloc(f, 4 + 2 * (size_t)n);
    size_t t = fbb_alloc(f, 4 + 4 * (size_t)n);
    put_le(f, vt, 4 + 2 * (uint64_t)n, 2);
    put_le(f, vt + 2, 4 + 4 * (uint64_t)n, 2);
    put_le(f, t, (uint64_t)(t - vt), 4); /* soffset: the vtable is t - soffset */
    for (int i = 0; i < n; i++) {
        if (sizes[i] == SLOT_ABSENT)
            continue;
        put_le(f, vt + 4 + 2 * (size_t)i, 4 + 4 * (uint64_t)i, 2);
        if (sizes[i] > 0)
            put_le(f, t + 4 + 4 * (size_t)i, (uint64_t)values[i], sizes[i]);
    }
    return t;
}

static void fbb_patch(fbb *f, size_t slot_pos, size_t target)
{
    put_le(f, slot_pos, target - slot_pos, 4);
}

static size_t fbb_slot(size_t table, int slot)
{
    return table + 4 + 4 * (size_t)slot;
}

static size_t fbb_string(fbb *f, const char *s)
{
    size_t len = strlen(s);
    size_t pos = fbb_alloc(f, 4 + len + 1);
    put_le(f, pos, len, 4);
    memcpy(f->b + pos + 4, s, len);
    return pos;
}

/* Arrow's Type ids and a field description to serialize. */
enum { T_NULL = 1, T_INT, T_FLOAT, T_BINARY, T_UTF8, T_BOOL, T_DECIMAL, T_DATE, T_TIME,
       T_TIMESTAMP, T_INTERVAL, T_LIST, T_STRUCT, T_UNION, T_FIXED_BINARY, T_FIXED_LIST,
       T_MAP, T_DURATION, T_LARGE_BINARY, T_LARGE_UTF8 };

typedef struct afield {
    const char *name;
    bool nullable;
    int type;
    int nparams;       /* scalar parameters of the type table, slots 0.. */
    int sizes[3];
    int64_t params[3];
    const char *tz;    /* Timestamp: slot 1 */
    const struct afield *children;
    int nchildren;
    bool dictionary;
} afield;

static size_t fbb_field(fbb *f, const afield *a);

static size_t fbb_type(fbb *f, const afield *a)
{
    int sizes[4] = {0};
    int64_t values[4] = {0};
    int n = a->nparams;
    for (int i = 0; i < n; i++) {
        sizes[i] = a->sizes[i];
        values[i] = a->params[i];
    }
    if (a->tz) {
        sizes[1] = SLOT_OFFSET;
        n = 2;
    }
    size_t t = fbb_table(f, n, sizes, values);
    if (a->tz)
        fbb_patch(f, fbb_slot(t, 1), fbb_string(f, a->tz));
    return t;
}

static size_t fbb_fields(fbb *f, const afield *fields, int n)
{
    size_t vec = fbb_alloc(f, 4 + 4 * (size_t)n);
    put_le(f, vec, (uint64_t)n, 4);
    for (int i = 0; i < n; i++)
        fbb_patch(f, vec + 4 + 4 * (size_t)i, fbb_field(f, &fields[i]));
    return vec;
}

static size_t fbb_field(fbb *f, const afield *a)
{
    int sizes[6] = {SLOT_OFFSET, SLOT_U8, SLOT_U8, SLOT_OFFSET,
                    a->dictionary ? SLOT_OFFSET : SLOT_ABSENT,
                    a->nchildren ? SLOT_OFFSET : SLOT_ABSENT};
    int64_t values[6] = {0, a->nullable, a->type, 0, 0, 0};
    size_t t = fbb_table(f, 6, sizes, values);
    fbb_patch(f, fbb_slot(t, 0), fbb_string(f, a->name));
    fbb_patch(f, fbb_slot(t, 3), fbb_type(f, a));
    if (a->dictionary)
        fbb_patch(f, fbb_slot(t, 4), fbb_table(f, 0, NULL, NULL));
    if (a->nchildren)
        fbb_patch(f, fbb_slot(t, 5), fbb_fields(f, a->children, a->nchildren));
    return t;
}

/* Message{version V5, header_type Schema, header Schema{endianness, fields}}
 * framed with the continuation marker and length; returns the byte count. */
static size_t arrow_message(uint8_t *out, size_t cap, const afield *fields, int n)
{
    static fbb f;
    memset(&f, 0, sizeof f);
    size_t root = fbb_alloc(&f, 4);
    int msizes[3] = {SLOT_I16, SLOT_U8, SLOT_OFFSET};
    int64_t mvalues[3] = {4, 1, 0};
    size_t msg = fbb_table(&f, 3, msizes, mvalues);
    put_le(&f, root, msg - root, 4);
    int ssizes[2] = {SLOT_I16, SLOT_OFFSET};
    int64_t svalues[2] = {0, 0};
    size_t schema = fbb_table(&f, 2, ssizes, svalues);
    fbb_patch(&f, fbb_slot(msg, 2), schema);
    fbb_patch(&f, fbb_slot(schema, 1), fbb_fields(&f, fields, n));
    size_t body = (f.n + 7) & ~(size_t)7;
    assert_true(body + 8 <= cap);
    memset(out, 0xFF, 4);
    out[4] = (uint8_t)body;
    out[5] = (uint8_t)(body >> 8);
    out[6] = out[7] = 0;
    memset(out + 8, 0, body);
    memcpy(out + 8, f.b, f.n);
    return body + 8;
}

static char *base64(const uint8_t *bytes, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(4 * (n / 3 + 1) + 1);
    assert_non_null(out);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)bytes[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)bytes[i + 1] << 8;
        if (i + 2 < n)
            v |= bytes[i + 2];
        out[o++] = abc[v >> 18 & 63];
        out[o++] = abc[v >> 12 & 63];
        out[o++] = i + 1 < n ? abc[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? abc[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

#define INT_T(bits, is_signed) T_INT, 2, {SLOT_I32, SLOT_U8}, {bits, is_signed}

/* {ts: timestamp[ms, tz=UTC] non-null, symbol: utf8 non-null, v: int16}. */
static const afield TICKS[] = {
    {"ts", false, T_TIMESTAMP, 1, {SLOT_I16}, {1}, "UTC", NULL, 0, false},
    {"symbol", false, T_UTF8, 0, {0}, {0}, NULL, NULL, 0, false},
    {"v", true, INT_T(16, 1), NULL, NULL, 0, false},
};
#define TICKS_SELECT                                                                  \
    "SELECT TIMESTAMP '2024-01-01 00:00:00'::TIMESTAMP_MS AS ts, 'NVDA' AS symbol, " \
    "7::SMALLINT AS v"

/* Writes the TICKS data with KV_METADATA {'ARROW:schema': value}. */
static char *write_with_arrow_schema(const char *dir, const char *value)
{
    size_t len = strlen(value) + 64;
    char *options = malloc(len);
    assert_non_null(options);
    snprintf(options, len, "KV_METADATA {'ARROW:schema': '%s'}", value);
    char *path = write_parquet(dir, "arrow.parquet", TICKS_SELECT, options);
    free(options);
    return path;
}

static char *ticks_schema_base64(void)
{
    uint8_t msg[4096];
    size_t n = arrow_message(msg, sizeof msg, TICKS, 3);
    return base64(msg, n);
}

/* ---- CSV ----------------------------------------------------------------- */

static void csv_nvda_sample_infers_seven_nullable_columns(void **state)
{
    (void)state;
    tst_source src;
    assert_tst_ok(tst_source_csv(&src, NVDA_CSV, NULL, NULL));
    assert_int_equal(src.column_count, 7);
    assert_false(src.is_parquet);
    assert_true(src.row_count == UINT64_MAX);
    assert_true(strncmp(src.relation_sql, "read_csv('", 10) == 0);
    /* ISO timestamps ending in Z: DuckDB's ICU infers TIMESTAMP WITH TIME ZONE. */
    assert_column(&src, "ts", TST_WIRE_EXACT, "timestamp[us](UTC)", true);
    assert_string_equal(src.columns[0].type.timezone, "UTC");
    assert_column(&src, "symbol", TST_WIRE_EXACT, "utf8", true);
    assert_column(&src, "open", TST_WIRE_EXACT, "float64", true);
    assert_column(&src, "close", TST_WIRE_EXACT, "float64", true);
    assert_column(&src, "volume", TST_WIRE_EXACT, "int64", true);
    tst_source_clear(&src);
}

static void csv_declared_column_types_replace_inference(void **state)
{
    (void)state;
    tst_csv_options opts = TST_CSV_OPTIONS_INIT;
    opts.header = 1;
    opts.columns = "{'ts': 'TIMESTAMP_MS', 'symbol': 'VARCHAR', 'open': 'DECIMAL(10,2)', "
                   "'high': 'FLOAT', 'low': 'DOUBLE', 'close': 'DOUBLE', 'volume': 'SMALLINT'}";
    tst_source src;
    assert_tst_ok(tst_source_csv(&src, NVDA_CSV, &opts, NULL));
    assert_column(&src, "ts", TST_WIRE_EXACT, "timestamp[ms]", true);
    assert_null(column(&src, "ts")->type.timezone);
    assert_column(&src, "open", TST_WIRE_EXACT, "decimal(precision=10, scale=2)", true);
    assert_column(&src, "high", TST_WIRE_EXACT, "float32", true);
    assert_column(&src, "volume", TST_WIRE_INT16, "int16", true);
    assert_non_null(strstr(src.relation_sql, "header=true"));
    assert_non_null(strstr(src.relation_sql, "delim=','"));
    tst_source_clear(&src);
}

static void csv_types_without_a_logical_type_keep_duckdbs_name(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("source");
    char *path = tst_test_path(dir, "d.csv");
    const char *text = "d;t;u\n2024-01-02;10:00:00;7\n";
    assert_int_equal(tst_test_write_file(path, text, strlen(text)), 0);
    tst_csv_options opts = TST_CSV_OPTIONS_INIT;
    opts.delimiter = ';';
    opts.columns = "{'d': 'DATE', 't': 'TIME', 'u': 'UINTEGER'}";
    tst_source src;
    assert_tst_ok(tst_source_csv(&src, path, &opts, NULL));
    assert_column(&src, "d", TST_WIRE_DATE, "date32", true); /* read as timestamp[us] */
    assert_int_equal(column(&src, "d")->type.kind, TST_TYPE_TIMESTAMP);
    assert_column(&src, "t", TST_WIRE_OTHER, "TIME", true);
    assert_column(&src, "u", TST_WIRE_UINT32, "uint32", true);
    tst_source_clear(&src);
    free(path);
    tst_test_rmtree(dir);
}

static void csv_failures_name_the_file(void **state)
{
    (void)state;
    tst_source src;
    assert_tst_fails(tst_source_csv(&src, "/nonexistent/x.csv", NULL, NULL), TST_ENOTFOUND);
    assert_message_has("/nonexistent/x.csv");
    tst_csv_options opts = TST_CSV_OPTIONS_INIT;
    opts.columns = "{'ts': 'NOT_A_TYPE'}";
    assert_tst_fails(tst_source_csv(&src, NVDA_CSV, &opts, NULL), TST_EINVAL);
    assert_message_has("nvda_1h_sample.csv cannot be read");
    assert_message_has("NOT_A_TYPE");
    assert_null(src.columns);
}

/* ---- Parquet mapping ------------------------------------------------------- */

static void parquet_of_the_nvda_csv_maps_parquet_types(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("source");
    char *path = write_parquet(dir, "nvda.parquet", "SELECT * FROM read_csv('" NVDA_CSV "')", NULL);
    tst_source src;
    assert_tst_ok(tst_source_parquet(&src, path));
    assert_true(src.is_parquet);
    assert_int_equal(src.row_count, 240);
    assert_string_equal(src.path, path);
    char expected[4200];
    snprintf(expected, sizeof expected, "read_parquet('%s')", path);
    assert_string_equal(src.relation_sql, expected);
    assert_int_equal(src.column_count, 7);
    /* DuckDB writes TIMESTAMPTZ as INT64 TIMESTAMP(MICROS, isAdjustedToUTC=true):
     * read as UTC, the same type the CSV itself adopts (the reference's §1.7
     * fallback would drop the timezone; see pq_timestamp). */
    assert_column(&src, "ts", TST_WIRE_EXACT, "timestamp[us](UTC)", true);
    assert_column(&src, "symbol", TST_WIRE_EXACT, "utf8", true);
    assert_column(&src, "high", TST_WIRE_EXACT, "float64", true);
    assert_column(&src, "volume", TST_WIRE_EXACT, "int64", true);

    tst_schema *schema = NULL;
    assert_tst_ok(tst_source_logical_schema(&src, &schema));
    assert_int_equal(schema->column_count, 7);
    assert_string_equal(schema->columns[0].name, "ts");
    assert_int_equal(schema->columns[0].type.kind, TST_TYPE_TIMESTAMP);
    assert_int_equal(schema->columns[0].type.unit, TST_PRECISION_MICROS);
    tst_schema_free(schema);
    tst_source_clear(&src);
    free(path);
    tst_test_rmtree(dir);
}

static void parquet_timestamp_units_map_to_their_precision(void **state)
{
    (void)state;
    tst_source src;
    inspect_select(&src, "SELECT TIMESTAMP '2024-01-01'::TIMESTAMP_MS AS ms, "
                         "TIMESTAMP '2024-01-01'::TIMESTAMP_NS AS ns, "
                         "TIMESTAMP '2024-01-01' AS us, "
                         "TIMESTAMP '2024-01-01'::TIMESTAMP_S AS s");
    assert_column(&src, "ms", TST_WIRE_EXACT, "timestamp[ms]", true);
    assert_column(&src, "ns", TST_WIRE_EXACT, "timestamp[ns]", true);
    assert_column(&src, "us", TST_WIRE_EXACT, "timestamp[us]", true);
    /* DuckDB has no seconds unit in Parquet: it writes TIMESTAMP_S as micros. */
    assert_column(&src, "s", TST_WIRE_EXACT, "timestamp[us]", true);
    tst_source_clear(&src);
}

static void parquet_integers_map_exactly_or_to_wire_kinds(void **state)
{
    (void)state;
    tst_source src;
    inspect_select(&src, "SELECT 1::TINYINT AS i8, 1::SMALLINT AS i16, 1::INTEGER AS i32, "
                         "1::BIGINT AS i64, 1::UTINYINT AS u8, 1::USMALLINT AS u16, "
                         "1::UINTEGER AS u32, 1::UBIGINT AS u64, true AS b, 1::FLOAT AS f32");
    assert_column(&src, "i8", TST_WIRE_INT8, "int8", true);
    assert_column(&src, "i16", TST_WIRE_INT16, "int16", true);
    assert_column(&src, "i32", TST_WIRE_EXACT, "int32", true);
    assert_column(&src, "i64", TST_WIRE_EXACT, "int64", true);
    assert_column(&src, "u8", TST_WIRE_UINT8, "uint8", true);
    assert_column(&src, "u16", TST_WIRE_UINT16, "uint16", true);
    assert_column(&src, "u32", TST_WIRE_UINT32, "uint32", true);
    assert_column(&src, "u64", TST_WIRE_EXACT, "uint64", true);
    assert_column(&src, "b", TST_WIRE_EXACT, "bool", true);
    assert_column(&src, "f32", TST_WIRE_EXACT, "float32", true);
    tst_source_clear(&src);
}

static void parquet_dates_times_decimals_and_binaries_follow_the_mapping(void **state)
{
    (void)state;
    tst_source src;
    inspect_select(&src, "SELECT DATE '2024-01-01' AS d, TIME '10:00' AS t, "
                         "1.5::DECIMAL(10,2) AS dec, 1.5::DECIMAL(38,4) AS wide, "
                         "'x'::BLOB AS bin, gen_random_uuid() AS id, INTERVAL 1 DAY AS iv, "
                         "'{}'::JSON AS js, TIMESTAMPTZ '2024-01-01' AS tz, "
                         "TIMESTAMP '2024-01-01' AS naive");
    assert_column(&src, "d", TST_WIRE_DATE, "date32", true);
    assert_int_equal(column(&src, "d")->type.kind, TST_TYPE_TIMESTAMP);
    assert_int_equal(column(&src, "d")->type.unit, TST_PRECISION_MICROS);
    assert_null(column(&src, "d")->type.timezone);
    assert_column(&src, "t", TST_WIRE_OTHER, "time64[us]", true);
    assert_column(&src, "dec", TST_WIRE_EXACT, "decimal(precision=10, scale=2)", true);
    assert_column(&src, "wide", TST_WIRE_EXACT, "decimal(precision=38, scale=4)", true);
    assert_column(&src, "bin", TST_WIRE_EXACT, "binary", true);
    /* UUID: its bytes would be a BLOB that no '<uuid>' string matches (finding 2) */
    assert_column(&src, "id", TST_WIRE_OTHER, "uuid", true);
    assert_column(&src, "iv", TST_WIRE_OTHER, "interval", true);
    /* JSON is text: read as utf8, re-encoded (a footer reader sees binary). */
    assert_column(&src, "js", TST_WIRE_ENCODED, "json", true);
    assert_int_equal(column(&src, "js")->type.kind, TST_TYPE_UTF8);
    assert_false(column(&src, "js")->footer_exact);
    /* Without ARROW:schema a footer reader takes every timestamp as zone-less. */
    assert_false(column(&src, "tz")->footer_exact);
    assert_true(column(&src, "naive")->footer_exact);
    assert_true(column(&src, "dec")->footer_exact);
    tst_source_clear(&src);
}

static void parquet_lists_structs_and_maps_nest(void **state)
{
    (void)state;
    tst_source src;
    inspect_select(&src, "SELECT [1, 2] AS l, {'x': 1, 'y': 'a'} AS s, "
                         "MAP {'k': 1.5::DOUBLE} AS m, [1::SMALLINT] AS narrow, "
                         "[[1]] AS ll, [{'a': 1}] AS ls");
    assert_column(&src, "l", TST_WIRE_EXACT, "List<element?: int32>", true);
    assert_column(&src, "s", TST_WIRE_EXACT, "Struct{x?: int32, y?: utf8}", true);
    assert_column(&src, "m", TST_WIRE_EXACT, "Map<key: utf8, value?: float64>", true);
    assert_column(&src, "narrow", TST_WIRE_OTHER, "List<element?: int16>", true);
    assert_column(&src, "ll", TST_WIRE_EXACT, "List<element?: List<element?: int32>>", true);
    assert_column(&src, "ls", TST_WIRE_EXACT, "List<element?: Struct{a?: int32}>", true);
    const tst_type *m = &column(&src, "m")->type;
    assert_false(m->keys_sorted);
    assert_false(m->key->nullable);
    tst_source_clear(&src);
}

/* DuckDB 1.4.4 writes every column OPTIONAL, NOT NULL constraint or not. */
static void parquet_not_null_columns_from_duckdb_are_still_optional(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("source");
    char *path = tst_test_path(dir, "nn.parquet");
    char sql[4400];
    snprintf(sql, sizeof sql,
             "CREATE OR REPLACE TEMP TABLE nn(a INTEGER NOT NULL, b VARCHAR); "
             "INSERT INTO nn VALUES (1, 'x'); COPY nn TO '%s' (FORMAT parquet); DROP TABLE nn",
             path);
    duck_exec(sql);
    tst_source src;
    assert_tst_ok(tst_source_parquet(&src, path));
    assert_column(&src, "a", TST_WIRE_EXACT, "int32", true);
    assert_column(&src, "b", TST_WIRE_EXACT, "utf8", true);
    tst_source_clear(&src);
    free(path);
    tst_test_rmtree(dir);
}

static void parquet_failures_name_the_file(void **state)
{
    (void)state;
    tst_source src;
    assert_tst_fails(tst_source_parquet(&src, "/nonexistent/x.parquet"), TST_ENOTFOUND);
    assert_message_has("/nonexistent/x.parquet");
    assert_tst_fails(tst_source_parquet(&src, NVDA_CSV), TST_EINVAL);
    assert_message_has("nvda_1h_sample.csv is not a readable Parquet file");
    assert_message_has("No magic bytes"); /* DuckDB's own words */
    assert_tst_fails(tst_source_parquet(&src, TST_SOURCE_DIR "/examples"), TST_EINVAL);
    assert_message_has("not a regular file");
    assert_null(src.relation_sql);
}

static void logical_schema_rejects_inexact_types_naming_the_column(void **state)
{
    (void)state;
    tst_source src;
    inspect_select(&src, "SELECT 1::BIGINT AS ok, 1::SMALLINT AS small, TIME '10:00' AS t");
    tst_schema *schema = NULL;
    assert_tst_fails(tst_source_logical_schema(&src, &schema), TST_ESCHEMA);
    assert_null(schema);
    assert_string_equal(tst_error_last()->message,
                        "column 't' has type time64[us], which no table column can hold; store "
                        "it as text or as an int64 count since midnight: DuckDB `t::VARCHAR` or "
                        "`epoch_us(t)`, polars `pl.col('t').cast(pl.Utf8)`, pyarrow "
                        "`pc.cast(t, pa.int64())`");
    tst_source_clear(&src);
}

static void logical_schema_rejects_duplicate_column_names(void **state)
{
    (void)state;
    tst_source src;
    inspect_select(&src, "SELECT 1::BIGINT AS a, 2::BIGINT AS b");
    free(src.columns[1].name);
    src.columns[1].name = strdup("a");
    tst_schema *schema = NULL;
    assert_tst_fails(tst_source_logical_schema(&src, &schema), TST_ESCHEMA);
    assert_message_has("two columns named 'a'");
    tst_source_clear(&src);
}

/* ---- the embedded Arrow schema -------------------------------------------- */

static void arrow_schema_in_the_footer_is_preferred(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("source");
    char *b64 = ticks_schema_base64();
    char *path = write_with_arrow_schema(dir, b64);
    tst_source src;
    assert_tst_ok(tst_source_parquet(&src, path));
    assert_int_equal(src.column_count, 3);
    assert_column(&src, "ts", TST_WIRE_EXACT, "timestamp[ms](UTC)", false);
    assert_string_equal(column(&src, "ts")->type.timezone, "UTC");
    assert_column(&src, "symbol", TST_WIRE_EXACT, "utf8", false);
    assert_column(&src, "v", TST_WIRE_INT16, "int16", true);
    tst_source_clear(&src);
    free(b64);
    free(path);
    tst_test_rmtree(dir);
}

static void arrow_types_map_per_the_exact_mapping(void **state)
{
    (void)state;
    static const afield item = {"item", true, INT_T(64, 1), NULL, NULL, 0, false};
    static const afield kv[] = {
        {"key", false, T_UTF8, 0, {0}, {0}, NULL, NULL, 0, false},
        {"value", true, INT_T(32, 1), NULL, NULL, 0, false},
    };
    static const afield entries = {"entries", false, T_STRUCT, 0, {0}, {0}, NULL, kv, 2, false};
    static const afield keys_only_kv[] = {
        {"key", false, T_UTF8, 0, {0}, {0}, NULL, NULL, 0, false},
        {"value", true, T_NULL, 0, {0}, {0}, NULL, NULL, 0, false},
    };
    static const afield keys_only = {"entries", false, T_STRUCT, 0, {0}, {0}, NULL,
                                     keys_only_kv, 2, false};
    const afield fields[] = {
        {"u64", false, INT_T(64, 0), NULL, NULL, 0, false},
        {"u8", true, INT_T(8, 0), NULL, NULL, 0, false},
        {"half", true, T_FLOAT, 1, {SLOT_I16}, {0}, NULL, NULL, 0, false},
        {"f64", true, T_FLOAT, 1, {SLOT_I16}, {2}, NULL, NULL, 0, false},
        {"dec", true, T_DECIMAL, 3, {SLOT_I32, SLOT_I32, SLOT_I32}, {50, 2, 256}, NULL, NULL, 0, false},
        {"dec256small", true, T_DECIMAL, 3, {SLOT_I32, SLOT_I32, SLOT_I32}, {10, 2, 256}, NULL, NULL, 0, false},
        {"secs", true, T_TIMESTAMP, 1, {SLOT_I16}, {0}, NULL, NULL, 0, false},
        {"ns", true, T_TIMESTAMP, 1, {SLOT_I16}, {3}, "America/Phoenix", NULL, 0, false},
        {"fsb", true, T_FIXED_BINARY, 1, {SLOT_I32}, {16}, NULL, NULL, 0, false},
        {"day", true, T_DATE, 1, {SLOT_I16}, {0}, NULL, NULL, 0, false},
        {"big", true, T_LARGE_UTF8, 0, {0}, {0}, NULL, NULL, 0, false},
        {"cat", true, T_UTF8, 0, {0}, {0}, NULL, NULL, 0, true},
        {"list", true, T_LIST, 0, {0}, {0}, NULL, &item, 1, false},
        {"map", true, T_MAP, 1, {SLOT_U8}, {1}, NULL, &entries, 1, false},
        {"keys", true, T_MAP, 0, {0}, {0}, NULL, &keys_only, 1, false},
    };
    uint8_t msg[8192];
    size_t n = arrow_message(msg, sizeof msg, fields, (int)(sizeof fields / sizeof fields[0]));
    char *b64 = base64(msg, n);
    tst_source_column *cols = NULL;
    size_t count = 0;
    assert_tst_ok(tst_arrow_schema_decode(b64, strlen(b64), &cols, &count, NULL));
    assert_int_equal(count, sizeof fields / sizeof fields[0]);
    tst_source view = {.columns = cols, .column_count = count};
    assert_column(&view, "u64", TST_WIRE_EXACT, "uint64", false);
    assert_column(&view, "u8", TST_WIRE_UINT8, "uint8", true);
    assert_column(&view, "half", TST_WIRE_FLOAT16, "float16", true);
    assert_int_equal(column(&view, "half")->type.kind, TST_TYPE_FLOAT32);
    assert_column(&view, "f64", TST_WIRE_EXACT, "float64", true);
    assert_column(&view, "dec", TST_WIRE_EXACT, "decimal(precision=50, scale=2)", true);
    assert_column(&view, "dec256small", TST_WIRE_OTHER, "decimal256(10, 2)", true);
    assert_column(&view, "secs", TST_WIRE_SECONDS, "timestamp[s]", true);
    assert_int_equal(column(&view, "secs")->type.unit, TST_PRECISION_MILLIS);
    assert_column(&view, "ns", TST_WIRE_EXACT, "timestamp[ns](America/Phoenix)", true);
    assert_column(&view, "fsb", TST_WIRE_EXACT, "fixed_binary[16]", true);
    assert_column(&view, "day", TST_WIRE_DATE, "date32", true);
    assert_column(&view, "big", TST_WIRE_ENCODED, "large_utf8", true);
    assert_int_equal(column(&view, "big")->type.kind, TST_TYPE_UTF8);
    assert_column(&view, "cat", TST_WIRE_ENCODED, "dictionary<values=utf8>", true);
    assert_int_equal(column(&view, "cat")->type.kind, TST_TYPE_UTF8);
    assert_false(column(&view, "cat")->footer_exact);
    assert_true(column(&view, "u64")->footer_exact);
    assert_column(&view, "list", TST_WIRE_EXACT, "List<item?: int64>", true);
    assert_column(&view, "map", TST_WIRE_EXACT, "Map<key: utf8, value?: int32, sorted>", true);
    assert_column(&view, "keys", TST_WIRE_EXACT, "Map<key: utf8>", true);
    assert_null(column(&view, "keys")->type.value);
    tst_source_columns_free(cols, count);
    free(b64);
}

/* Malformed hints fall back to the Parquet types, never to a failure. */
static void assert_falls_back(const char *dir, const char *value)
{
    char *path = write_with_arrow_schema(dir, value);
    tst_source src;
    assert_tst_ok(tst_source_parquet(&src, path));
    assert_column(&src, "ts", TST_WIRE_EXACT, "timestamp[ms]", true); /* no timezone */
    assert_column(&src, "symbol", TST_WIRE_EXACT, "utf8", true);
    assert_column(&src, "v", TST_WIRE_INT16, "int16", true);
    tst_source_clear(&src);
    free(path);
}

static void malformed_arrow_schema_falls_back_to_parquet_types(void **state)
{
    (void)state;
    char *dir = tst_test_tmpdir("source");
    assert_falls_back(dir, "not base64 at all!");
    assert_falls_back(dir, "");
    char *b64 = ticks_schema_base64();
    b64[strlen(b64) / 2] = '\0'; /* a truncated flatbuffer */
    assert_falls_back(dir, b64);
    free(b64);

    /* A well-formed schema that names other columns than the file's. */
    static const afield other_names[] = {{"x", false, T_UTF8, 0, {0}, {0}, NULL, NULL, 0, false}};
    uint8_t msg[1024];
    size_t n = arrow_message(msg, sizeof msg, other_names, 1);
    b64 = base64(msg, n);
    assert_falls_back(dir, b64);
    free(b64);
    tst_test_rmtree(dir);
}

/* Every truncation and every single-byte change of a valid message decodes
 * or fails cleanly (run under ASan/valgrind, this proves the bounds checks). */
static void corrupted_arrow_messages_never_read_out_of_bounds(void **state)
{
    (void)state;
    uint8_t msg[4096];
    size_t n = arrow_message(msg, sizeof msg, TICKS, 3);
    for (size_t cut = 0; cut <= n; cut++) {
        char *b64 = base64(msg, cut);
        tst_source_column *cols = NULL;
        size_t count = 0;
        int rc = tst_arrow_schema_decode(b64, strlen(b64), &cols, &count, NULL);
        assert_true(rc == 0 || rc == TST_ECORRUPT);
        tst_source_columns_free(cols, count);
        free(b64);
    }
    static const uint8_t flips[] = {0x00, 0x01, 0x7F, 0x80, 0xFF};
    for (size_t i = 0; i < n; i++) {
        for (size_t f = 0; f < sizeof flips; f++) {
            uint8_t copy[4096];
            memcpy(copy, msg, n);
            copy[i] = flips[f];
            char *b64 = base64(copy, n);
            tst_source_column *cols = NULL;
            size_t count = 0;
            int rc = tst_arrow_schema_decode(b64, strlen(b64), &cols, &count, NULL);
            assert_true(rc == 0 || rc == TST_ECORRUPT);
            tst_source_columns_free(cols, count);
            free(b64);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csv_nvda_sample_infers_seven_nullable_columns),
        cmocka_unit_test(csv_declared_column_types_replace_inference),
        cmocka_unit_test(csv_types_without_a_logical_type_keep_duckdbs_name),
        cmocka_unit_test(csv_failures_name_the_file),
        cmocka_unit_test(parquet_of_the_nvda_csv_maps_parquet_types),
        cmocka_unit_test(parquet_timestamp_units_map_to_their_precision),
        cmocka_unit_test(parquet_integers_map_exactly_or_to_wire_kinds),
        cmocka_unit_test(parquet_dates_times_decimals_and_binaries_follow_the_mapping),
        cmocka_unit_test(parquet_lists_structs_and_maps_nest),
        cmocka_unit_test(parquet_not_null_columns_from_duckdb_are_still_optional),
        cmocka_unit_test(parquet_failures_name_the_file),
        cmocka_unit_test(logical_schema_rejects_inexact_types_naming_the_column),
        cmocka_unit_test(logical_schema_rejects_duplicate_column_names),
        cmocka_unit_test(arrow_schema_in_the_footer_is_preferred),
        cmocka_unit_test(arrow_types_map_per_the_exact_mapping),
        cmocka_unit_test(malformed_arrow_schema_falls_back_to_parquet_types),
        cmocka_unit_test(corrupted_arrow_messages_never_read_out_of_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
