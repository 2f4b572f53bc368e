/*
 * test_parquet_footer.c — marking timestamp columns as UTC instants in a
 * Parquet footer (parquet_footer.h).
 *
 * Files are written by DuckDB with TIMESTAMP_MS, TIMESTAMP and TIMESTAMP_NS
 * columns after strings, a struct holding a list and a map, and a list, so
 * the walk must skip nested groups by their num_children; after the flip
 * DuckDB reads TIMESTAMPTZ and the same instants, and the file differs in
 * exactly one nibble per column. Refusals (a name that is not a top-level
 * timestamp, a truncated or garbled footer) leave the file as it was.
 * Footers built by hand reach what DuckDB does not write: every compact
 * type in a field the walk skips, a ConvertedType of the wrong unit, and a
 * cut at every byte.
 *
 * Adding StringType, ListType and MapType to DuckDB's UTF8, LIST and MAP
 * columns (top-level and nested) grows the footer by four bytes a column
 * and leaves every value as it was; a second pass adds nothing, and a
 * garbled footer is refused untouched.
 */
#include "testsupport.h"

#include "duck.h"
#include "parquet_footer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *scratch;

static int setup(void **state)
{
    (void)state;
    scratch = tst_test_tmpdir("footer");
    return scratch ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tst_test_rmtree(scratch);
    scratch = NULL;
    return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static char *sql_text(const char *fmt, const char *path)
{
    char sql[2048];
    snprintf(sql, sizeof sql, fmt, path);
    duckdb_connection con;
    duckdb_result res;
    assert_tst_ok(tst_duck_connect(&con));
    assert_tst_ok(tst_duck_query(con, "SET TimeZone = 'America/New_York'", NULL, "test zone"));
    assert_tst_ok(tst_duck_query(con, sql, &res, "test check"));
    char *v = duckdb_value_varchar(&res, 0, 0);
    char *text = strdup(v ? v : "(null)");
    duckdb_free(v);
    duckdb_destroy_result(&res);
    tst_duck_disconnect(&con);
    return text;
}

static void assert_sql(const char *want, const char *fmt, const char *path)
{
    char *got = sql_text(fmt, path);
    if (strcmp(got, want) != 0)
        print_error("query %s on %s\n  gave   %s\n  wanted %s\n", fmt, path, got, want);
    assert_string_equal(got, want);
    free(got);
}

#define WIDE_SELECT                                                                              \
    "SELECT 'x' || r AS s, {'a': r::INTEGER, 'b': [r, r + 1], 'm': MAP {'k': r::DOUBLE}} AS "    \
    "st, [r::INTEGER] AS l, make_timestamp(1704067200000000 + r * 3600000000)::TIMESTAMP_MS "    \
    "AS ms, r AS n, make_timestamp(1704067200000000 + r * 1000001) AS us, "                      \
    "make_timestamp_ns(1704067200000000000 + r * 1000000007) AS ns, 'y' AS ts FROM range(50) "   \
    "t(r)"

/* A DuckDB file of WIDE_SELECT plus `extra` more columns (a long schema list). */
static char *duck_file(const char *name, int extra)
{
    char *path = tst_test_path(scratch, name);
    char cols[1024] = "";
    for (int i = 0; i < extra; i++)
        snprintf(cols + strlen(cols), sizeof cols - strlen(cols), ", %d AS c%d", i, i);
    char sql[4096];
    snprintf(sql, sizeof sql, "COPY (SELECT *%s FROM (" WIDE_SELECT ")) TO '%s' (FORMAT parquet)",
             cols, path);
    tst_test_duck(sql);
    return path;
}

static void read_whole(const char *path, char **out, size_t *len)
{
    assert_int_equal(tst_test_read_file(path, out, len), 0);
}

/* Asserts path's bytes equal before's. */
static void assert_unchanged(const char *path, const char *before, size_t before_len)
{
    char *now;
    size_t len;
    read_whole(path, &now, &len);
    assert_int_equal(len, before_len);
    assert_memory_equal(now, before, len);
    free(now);
}

static const char *const ALL3[] = {"ms", "us", "ns"};

/* ---- DuckDB's files ------------------------------------------------------- */

static void duckdb_reads_instants_after_the_flip(void **state)
{
    (void)state;
    char *path = duck_file("wide.parquet", 0);
    /* Before: zone-less, so a New York session takes them as its wall times. */
    assert_sql("TIMESTAMP,TIMESTAMP,TIMESTAMP_NS",
               "SELECT typeof(ms) || ',' || typeof(us) || ',' || typeof(ns) FROM "
               "read_parquet('%s') LIMIT 1",
               path);
    char *want = sql_text("SELECT sum(epoch_ms(ms))::VARCHAR || ',' || sum(epoch_us(us)) || ',' "
                          "|| sum(epoch_us(ns)) FROM read_parquet('%s')",
                          path);
    assert_tst_ok(tst_parquet_footer_mark_utc(path, ALL3, 3));
    assert_sql("TIMESTAMP WITH TIME ZONE,TIMESTAMP WITH TIME ZONE,TIMESTAMP WITH TIME ZONE",
               "SELECT typeof(ms) || ',' || typeof(us) || ',' || typeof(ns) FROM "
               "read_parquet('%s') LIMIT 1",
               path);
    /* The same instants as the UTC wall times they held, in a New York session. */
    assert_sql(want,
               "SELECT sum(epoch_ms(ms))::VARCHAR || ',' || sum(epoch_us(us)) || ',' || "
               "sum(epoch_us(ns)) FROM read_parquet('%s')",
               path);
    assert_sql("50,x9,50,y,49",
               "SELECT count(*)::VARCHAR || ',' || max(s) || ',' || max(st.b[2]) || ',' || "
               "max(ts) || ',' || max(n) FROM read_parquet('%s')",
               path);
    /* The legacy ConvertedType agrees (TIMESTAMP_MILLIS/MICROS); nanoseconds have none. */
    assert_sql("TIMESTAMP_MILLIS,-,TIMESTAMP_MICROS",
               "SELECT string_agg(coalesce(converted_type, '-'), ',' ORDER BY name) FROM "
               "parquet_schema('%s') WHERE name IN ('ms', 'us', 'ns')",
               path);
    free(want);
    free(path);
}

/* The flipped file differs from the original in one low nibble per column, 2 -> 1. */
static void the_flip_changes_one_nibble_per_column(void **state)
{
    (void)state;
    char *path = duck_file("nibble.parquet", 20); /* 28 columns: a long-form list size */
    char *before, *after;
    size_t before_len, after_len;
    read_whole(path, &before, &before_len);
    assert_tst_ok(tst_parquet_footer_mark_utc(path, ALL3, 3));
    read_whole(path, &after, &after_len);
    assert_int_equal(after_len, before_len);
    int differ = 0;
    for (size_t i = 0; i < after_len; i++) {
        if (before[i] == after[i])
            continue;
        differ++;
        assert_int_equal(before[i] & 0x0f, 2);
        assert_int_equal(after[i] & 0x0f, 1);
        assert_int_equal(before[i] & 0xf0, after[i] & 0xf0);
    }
    assert_int_equal(differ, 3);
    /* Marking again changes nothing. */
    assert_tst_ok(tst_parquet_footer_mark_utc(path, ALL3, 3));
    assert_unchanged(path, after, after_len);
    free(before);
    free(after);
    free(path);
}

static void a_column_that_is_not_a_top_level_timestamp_is_refused(void **state)
{
    (void)state;
    char *path = duck_file("names.parquet", 0);
    char *before;
    size_t len;
    read_whole(path, &before, &len);
    const char *const missing[] = {"ms", "nope"};
    assert_tst_fails(tst_parquet_footer_mark_utc(path, missing, 2), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "'nope'"));
    assert_non_null(strstr(tst_error_last()->message, path));
    /* "a" is a leaf, but inside the struct st: not a top-level column. */
    const char *const nested[] = {"a"};
    assert_tst_fails(tst_parquet_footer_mark_utc(path, nested, 1), TST_ECORRUPT);
    const char *const group[] = {"st"};
    assert_tst_fails(tst_parquet_footer_mark_utc(path, group, 1), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "group"));
    const char *const text[] = {"ts"}; /* a VARCHAR called ts */
    assert_tst_fails(tst_parquet_footer_mark_utc(path, text, 1), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "TimestampType"));
    const char *const integer[] = {"n"};
    assert_tst_fails(tst_parquet_footer_mark_utc(path, integer, 1), TST_ECORRUPT);
    assert_unchanged(path, before, len); /* not even "ms" was flipped */
    free(before);
    free(path);
}

static void a_truncated_or_garbled_file_is_refused_and_left_as_it_was(void **state)
{
    (void)state;
    char *path = duck_file("bad.parquet", 0);
    char *good;
    size_t len;
    read_whole(path, &good, &len);
    uint32_t flen = (uint32_t)(uint8_t)good[len - 8] | (uint32_t)(uint8_t)good[len - 7] << 8 |
                    (uint32_t)(uint8_t)good[len - 6] << 16 | (uint32_t)(uint8_t)good[len - 5] << 24;
    char *bad = malloc(len);
    assert_non_null(bad);

    /* Cut short: the magic is gone. */
    assert_int_equal(tst_test_write_file(path, good, len - 1), 0);
    assert_tst_fails(tst_parquet_footer_mark_utc(path, ALL3, 3), TST_ECORRUPT);
    assert_unchanged(path, good, len - 1);
    /* Shorter than any Parquet file. */
    assert_int_equal(tst_test_write_file(path, "PAR1PAR1", 8), 0);
    assert_tst_fails(tst_parquet_footer_mark_utc(path, ALL3, 3), TST_ECORRUPT);
    /* A footer length past the start of the file. */
    memcpy(bad, good, len);
    bad[len - 5] = 0x7f;
    assert_int_equal(tst_test_write_file(path, bad, len), 0);
    assert_tst_fails(tst_parquet_footer_mark_utc(path, ALL3, 3), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "length"));
    /* The footer's first half overwritten with 0xff (a run of unfinished varints). */
    memcpy(bad, good, len);
    memset(bad + len - 8 - flen, 0xff, flen / 2);
    assert_int_equal(tst_test_write_file(path, bad, len), 0);
    assert_tst_fails(tst_parquet_footer_mark_utc(path, ALL3, 3), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "malformed"));
    assert_unchanged(path, bad, len);
    /* The footer length one short: the walk ends before the bytes do... or fails. */
    memcpy(bad, good, len);
    bad[len - 8] = (char)(flen - 1), bad[len - 7] = (char)((flen - 1) >> 8);
    assert_int_equal(tst_test_write_file(path, bad, len), 0);
    assert_tst_fails(tst_parquet_footer_mark_utc(path, ALL3, 3), TST_ECORRUPT);
    assert_unchanged(path, bad, len);
    /* Missing. */
    char *gone = tst_test_path(scratch, "gone.parquet");
    assert_tst_fails(tst_parquet_footer_mark_utc(gone, ALL3, 3), TST_ENOTFOUND);
    free(gone);
    free(bad);
    free(good);
    free(path);
}


/* ---- logical types for legacy-only columns ------------------------------- */

#define LEGACY_ONLY                                                                              \
    "SELECT count(*)::VARCHAR FROM parquet_schema('%s') WHERE converted_type IN ('UTF8', "       \
    "'LIST', 'MAP') AND logical_type IS NULL"
#define BOTH_TYPES                                                                               \
    "SELECT string_agg(name || ':' || logical_type, ',' ORDER BY name) FROM parquet_schema('%s') " \
    "WHERE converted_type IN ('UTF8', 'LIST', 'MAP')"
#define STRING_VALUES                                                                            \
    "SELECT count(*)::VARCHAR || ',' || max(s) || ',' || max(ts) || ',' || "                     \
    "max(map_keys(st.m)[1]) || ',' || max(st.b[2]) || ',' || max(typeof(s)) FROM "              \
    "read_parquet('%s')"

static void duckdb_strings_lists_and_maps_get_their_logical_types(void **state)
{
    (void)state;
    char *path = duck_file("strings.parquet", 0);
    char *before;
    size_t before_len;
    read_whole(path, &before, &before_len);
    /* s, ts, the map's key (UTF8), st.b and l (LIST), st.m (MAP): the ConvertedType only, as
     * DuckDB 1.4.4 writes them. */
    assert_sql("6", LEGACY_ONLY, path);
    char *values = sql_text(STRING_VALUES, path);
    assert_tst_ok(tst_parquet_footer_add_logical_types(path));
    assert_sql("0", LEGACY_ONLY, path);
    assert_sql("b:ListType(),key:StringType(),l:ListType(),m:MapType(),s:StringType(),"
               "ts:StringType()",
               BOTH_TYPES, path);
    assert_sql(values, STRING_VALUES, path);
    char *after;
    size_t after_len;
    read_whole(path, &after, &after_len);
    assert_int_equal(after_len, before_len + 6 * 4);
    /* The data before the footer did not move. */
    uint32_t flen = (uint32_t)(uint8_t)before[before_len - 8] |
                    (uint32_t)(uint8_t)before[before_len - 7] << 8 |
                    (uint32_t)(uint8_t)before[before_len - 6] << 16 |
                    (uint32_t)(uint8_t)before[before_len - 5] << 24;
    assert_memory_equal(after, before, before_len - 8 - flen);
    /* A second pass has nothing to add and leaves the file alone. */
    assert_tst_ok(tst_parquet_footer_add_logical_types(path));
    assert_unchanged(path, after, after_len);
    free(values);
    free(before);
    free(after);
    free(path);
}

static void a_file_without_legacy_only_columns_is_left_alone(void **state)
{
    (void)state;
    char *path = tst_test_path(scratch, "numbers.parquet");
    char sql[512];
    snprintf(sql, sizeof sql, "COPY (SELECT r AS n, r * 1.5 AS x FROM range(5) t(r)) TO '%s' "
             "(FORMAT parquet)", path);
    tst_test_duck(sql);
    char *before;
    size_t len;
    read_whole(path, &before, &len);
    assert_tst_ok(tst_parquet_footer_add_logical_types(path));
    assert_unchanged(path, before, len);
    free(before);
    free(path);
}

static void adding_logical_types_to_a_garbled_file_is_refused_and_changes_nothing(void **state)
{
    (void)state;
    char *path = duck_file("garbled.parquet", 0);
    char *bad;
    size_t len;
    read_whole(path, &bad, &len);
    uint32_t flen = (uint32_t)(uint8_t)bad[len - 8] | (uint32_t)(uint8_t)bad[len - 7] << 8 |
                    (uint32_t)(uint8_t)bad[len - 6] << 16 | (uint32_t)(uint8_t)bad[len - 5] << 24;
    memset(bad + len - 8 - flen, 0xff, flen / 2);
    assert_int_equal(tst_test_write_file(path, bad, len), 0);
    assert_tst_fails(tst_parquet_footer_add_logical_types(path), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "cannot be given logical types"));
    assert_unchanged(path, bad, len);
    assert_int_equal(tst_test_write_file(path, "PAR1", 4), 0);
    assert_tst_fails(tst_parquet_footer_add_logical_types(path), TST_ECORRUPT);
    char *gone = tst_test_path(scratch, "gone.parquet");
    assert_tst_fails(tst_parquet_footer_add_logical_types(gone), TST_ENOTFOUND);
    free(gone);
    free(bad);
    free(path);
}

/* ---- hand-built footers ---------------------------------------------------- */

typedef struct buf {
    uint8_t b[512];
    size_t n;
} buf;

static void put(buf *o, int byte)
{
    assert_true(o->n < sizeof o->b);
    o->b[o->n++] = (uint8_t)byte;
}

static void varint(buf *o, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        put(o, (int)(v & 0x7f) | 0x80);
    put(o, (int)v);
}

static void zz(buf *o, int64_t v)
{
    varint(o, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void name(buf *o, const char *s) /* SchemaElement field 4 (after field 1 or 3) */
{
    varint(o, strlen(s));
    for (const char *p = s; *p; p++)
        put(o, *p);
}

/* A leaf: name, optional ConvertedType, TimestampType(false, unit) unless unit is 0. */
static void timestamp_leaf(buf *o, const char *col, int converted, int unit)
{
    put(o, 0x15), zz(o, 2);  /* 1: type INT64 */
    put(o, 0x38), name(o, col); /* 4: name */
    if (converted >= 0)
        put(o, 0x25), zz(o, converted); /* 6: converted_type */
    if (unit) {
        put(o, converted >= 0 ? 0x4c : 0x6c); /* 10: logicalType */
        put(o, 0x8c);                          /* 8: TIMESTAMP */
        put(o, 0x12);                          /* 1: isAdjustedToUTC = false */
        put(o, 0x1c);                          /* 2: unit */
        put(o, (unit << 4) | 0x0c), put(o, 0), put(o, 0), put(o, 0), put(o, 0);
    }
    put(o, 0);
}

/* FileMetaData: version, the schema (root + two leaves), num_rows, no row groups,
 * and fields 100-108 of every compact type, which the walk must skip. */
static void footer(buf *o, int converted, int unit)
{
    *o = (buf){.n = 0};
    put(o, 0x15), zz(o, 1);   /* 1: version */
    put(o, 0x19), put(o, 0x3c); /* 2: schema, 3 structs */
    put(o, 0x48), name(o, "root"), put(o, 0x15), zz(o, 2), put(o, 0);
    put(o, 0x15), zz(o, 2), put(o, 0x38), name(o, "v"), put(o, 0); /* no logical type */
    timestamp_leaf(o, "ts", converted, unit);
    put(o, 0x16), zz(o, 50);  /* 3: num_rows */
    put(o, 0x19), put(o, 0x0c); /* 4: row_groups, empty */
    put(o, 0x0b), zz(o, 100);   /* 100 (long form): map<i32, bool> of 2 */
    varint(o, 2), put(o, 0x51), zz(o, 1), put(o, 1), zz(o, 2), put(o, 2);
    put(o, 0x1a), put(o, 0x27); /* 101: set<double> of 2 */
    for (int i = 0; i < 16; i++)
        put(o, i);
    put(o, 0x19), put(o, 0x31), put(o, 1), put(o, 2), put(o, 1); /* 102: list<bool> */
    put(o, 0x19), put(o, 0xf5), varint(o, 16);                     /* 103: list<i32> of 16 */
    for (int i = 0; i < 16; i++)
        zz(o, -i * 1000);
    put(o, 0x18), name(o, "abc");                  /* 104: binary */
    put(o, 0x13), put(o, 0x7f);                    /* 105: byte */
    put(o, 0x14), zz(o, -3);                       /* 106: i16 */
    put(o, 0x1c), put(o, 0x1b), varint(o, 0), put(o, 0x11), put(o, 0); /* 107: {map{}, true} */
    put(o, 0x11);                                  /* 108: bool true */
    put(o, 0);
}

/* A UTF8 leaf (fields 1, 4, 6), then an unknown i32 field `late` (12, or -3 in the long
 * form; 0: none); with logical, the StringType tstable adds: short form after 6, long form
 * after a field id the header's delta cannot reach. */
static void utf8_leaf(buf *o, const char *col, int late, bool logical)
{
    put(o, 0x15), zz(o, 6);     /* 1: type BYTE_ARRAY */
    put(o, 0x38), name(o, col); /* 4: name */
    put(o, 0x25), zz(o, 0);     /* 6: converted_type UTF8 */
    if (late > 0)
        put(o, (late - 6) << 4 | 0x05), zz(o, 7); /* an i32 a newer writer might add */
    else if (late < 0)
        put(o, 0x05), zz(o, late), zz(o, 7); /* long form, a negative id */
    if (logical && late)
        put(o, 0x0c), zz(o, 10); /* 10, long form */
    else if (logical)
        put(o, 0x4c);
    if (logical)
        put(o, 0x1c), put(o, 0), put(o, 0); /* 1: StringType {} */
    put(o, 0);
}

/* A LIST group of one repeated INT64 leaf (fields 4, 5, 6 on the group); MapType-less MAP is
 * the same with converted 1 and member 2. */
static void list_group(buf *o, const char *col, int converted, bool logical)
{
    put(o, 0x48), name(o, col);          /* 4: name */
    put(o, 0x15), zz(o, 1);              /* 5: num_children */
    put(o, 0x15), zz(o, converted);      /* 6: converted_type LIST (3) or MAP (1) */
    if (logical)
        put(o, 0x4c), put(o, (converted == 3 ? 3 : 2) << 4 | 0x0c), put(o, 0), put(o, 0);
    put(o, 0);
    put(o, 0x15), zz(o, 2), put(o, 0x25), zz(o, 2); /* 1: INT64, 3: REPEATED */
    put(o, 0x18), name(o, "element"), put(o, 0);
}

static void strings_footer(buf *o, bool logical)
{
    *o = (buf){.n = 0};
    put(o, 0x15), zz(o, 1);     /* 1: version */
    put(o, 0x19), put(o, 0x8c); /* 2: schema, 8 structs */
    put(o, 0x48), name(o, "root"), put(o, 0x15), zz(o, 5), put(o, 0);
    utf8_leaf(o, "a", 0, logical);
    utf8_leaf(o, "b", 12, logical);
    utf8_leaf(o, "c", -3, logical);
    list_group(o, "l", 3, logical);
    list_group(o, "m", 1, logical);
    put(o, 0x16), zz(o, 50);    /* 3: num_rows */
    put(o, 0x19), put(o, 0x0c); /* 4: row_groups, empty */
    put(o, 0);
}

static void logical_types_are_inserted_after_the_last_field_in_either_form(void **state)
{
    (void)state;
    buf bare, want;
    strings_footer(&bare, false);
    strings_footer(&want, true);
    uint8_t *out = NULL;
    size_t out_len = 0;
    assert_tst_ok(tst_parquet_footer_logical_types_bytes(bare.b, bare.n, "hand.parquet", &out,
                                                        &out_len));
    assert_non_null(out);
    assert_int_equal(out_len, want.n);
    assert_memory_equal(out, want.b, want.n);
    free(out);
    /* A footer that has them already gets nothing. */
    assert_tst_ok(tst_parquet_footer_logical_types_bytes(want.b, want.n, "hand.parquet", &out,
                                                        &out_len));
    assert_null(out);
    assert_int_equal(out_len, 0);
    /* Cut anywhere, it is refused and nothing is returned. */
    for (size_t cut = 0; cut < bare.n; cut++) {
        assert_tst_fails(tst_parquet_footer_logical_types_bytes(bare.b, cut, "hand.parquet", &out,
                                                               &out_len),
                         TST_ECORRUPT);
        assert_null(out);
    }
}

static int mark(buf *o, const char *col, bool *changed)
{
    const char *const cols[] = {col};
    return tst_parquet_footer_mark_utc_bytes(o->b, o->n, cols, 1, "hand.parquet", changed);
}

static void every_compact_type_is_skipped_and_the_flag_flips(void **state)
{
    (void)state;
    buf o;
    footer(&o, 10, 2); /* TIMESTAMP_MICROS, MICROS */
    buf before = o;
    bool changed = false;
    assert_tst_ok(mark(&o, "ts", &changed));
    assert_true(changed);
    int differ = 0;
    for (size_t i = 0; i < o.n; i++)
        if (o.b[i] != before.b[i]) {
            differ++;
            assert_int_equal(before.b[i], 0x12);
            assert_int_equal(o.b[i], 0x11);
        }
    assert_int_equal(differ, 1);
    assert_tst_ok(mark(&o, "ts", &changed));
    assert_false(changed);
    /* A leaf without a logical type is not a timestamp. */
    assert_tst_fails(mark(&o, "v", &changed), TST_ECORRUPT);
}

static void a_converted_type_of_the_wrong_unit_is_corrected(void **state)
{
    (void)state;
    buf o;
    footer(&o, 10, 1); /* TIMESTAMP_MICROS on a MILLIS column */
    bool changed = false;
    assert_tst_ok(mark(&o, "ts", &changed));
    assert_true(changed);
    buf want;
    footer(&want, 9, 1);
    /* The same footer as one written with TIMESTAMP_MILLIS, apart from the flag. */
    for (size_t i = 0; i < o.n; i++)
        if (o.b[i] != want.b[i]) {
            assert_int_equal(want.b[i], 0x12);
            assert_int_equal(o.b[i], 0x11);
        }
    /* Nanoseconds have no ConvertedType: one that is there cannot be right. */
    footer(&o, 10, 3);
    buf before = o;
    assert_tst_fails(mark(&o, "ts", &changed), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "nanoseconds"));
    assert_memory_equal(o.b, before.b, o.n);
    /* None at all on nanoseconds is right, and stays absent. */
    footer(&o, -1, 3);
    assert_tst_ok(mark(&o, "ts", &changed));
    assert_true(changed);
}

static void a_footer_cut_at_any_byte_or_with_a_byte_too_many_is_refused(void **state)
{
    (void)state;
    buf o;
    footer(&o, 9, 1);
    buf whole = o;
    bool changed;
    for (size_t cut = 0; cut < whole.n; cut++) {
        o = whole;
        o.n = cut;
        const char *const cols[] = {"ts"};
        int rc = tst_parquet_footer_mark_utc_bytes(o.b, cut, cols, 1, "cut.parquet", &changed);
        if (rc != TST_ECORRUPT)
            fail_msg("a footer cut at byte %zu of %zu gave %d", cut, whole.n, rc);
        assert_memory_equal(o.b, whole.b, whole.n);
    }
    o = whole;
    put(&o, 0);
    assert_tst_fails(mark(&o, "ts", &changed), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "follow"));
    /* An unknown compact type (13) in a skipped field. */
    o = whole;
    o.b[o.n - 1] = 0x1d;
    put(&o, 0);
    assert_tst_fails(mark(&o, "ts", &changed), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "unknown compact type"));
}

static void structures_nested_without_end_are_refused(void **state)
{
    (void)state;
    buf o = {.n = 0};
    for (int i = 0; i < 200; i++)
        put(&o, 0x1c); /* field 1: a struct, whose field 1 is a struct, ... */
    for (int i = 0; i < 201; i++)
        put(&o, 0);
    bool changed;
    assert_tst_fails(mark(&o, "ts", &changed), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "nested too deeply"));
    /* A list claiming more elements than bytes remain. */
    o = (buf){.n = 0};
    put(&o, 0x19), put(&o, 0xf5), varint(&o, 1u << 30), put(&o, 0);
    assert_tst_fails(mark(&o, "ts", &changed), TST_ECORRUPT);
    assert_non_null(strstr(tst_error_last()->message, "more elements"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(duckdb_reads_instants_after_the_flip, setup, teardown),
        cmocka_unit_test_setup_teardown(the_flip_changes_one_nibble_per_column, setup, teardown),
        cmocka_unit_test_setup_teardown(a_column_that_is_not_a_top_level_timestamp_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_truncated_or_garbled_file_is_refused_and_left_as_it_was, setup, teardown),
        cmocka_unit_test_setup_teardown(duckdb_strings_lists_and_maps_get_their_logical_types,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_file_without_legacy_only_columns_is_left_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            adding_logical_types_to_a_garbled_file_is_refused_and_changes_nothing, setup,
            teardown),
        cmocka_unit_test(logical_types_are_inserted_after_the_last_field_in_either_form),
        cmocka_unit_test(every_compact_type_is_skipped_and_the_flag_flips),
        cmocka_unit_test(a_converted_type_of_the_wrong_unit_is_corrected),
        cmocka_unit_test(a_footer_cut_at_any_byte_or_with_a_byte_too_many_is_refused),
        cmocka_unit_test(structures_nested_without_end_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
