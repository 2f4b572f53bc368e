/*
 * test_arrow_schema_write.c — the table schema as an ARROW:schema value:
 * every representable logical type survives encode → decode (the decoder
 * is arrow_schema.c, written separately from the encoder), what Arrow
 * cannot hold is refused naming the column, the IPC framing is what
 * arrow-rs writes, and segments written through DuckDB carry the key so
 * that they read back as exactly the table's schema.
 *
 * Schemas are written as the commit log's JSON (format §1.7) and parsed
 * by the library, so each case reads as the table would declare it.
 */
#include "testsupport.h"

#include "arrow_schema.h"
#include "arrow_schema_write.h"
#include "duck.h"
#include "model.h"
#include "segment.h"
#include "source.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------- */

static tst_schema *schema_parse(const char *columns_json)
{
    char *json = NULL;
    assert_true(asprintf(&json, "{\"columns\":%s}", columns_json) > 0);
    json_object *obj = json_tokener_parse(json);
    if (!obj)
        fail_msg("test schema is not JSON: %s", json);
    tst_schema *schema = NULL;
    assert_tst_ok(tst_schema_from_json(&schema, obj, "test schema"));
    json_object_put(obj);
    free(json);
    return schema;
}

static void assert_same_field(const tst_field *want, const char *got_name, bool got_nullable,
                              const tst_type *got, const char *path);

static void assert_same_type(const tst_type *want, const tst_type *got, const char *path)
{
    if (want->kind != got->kind)
        fail_msg("%s: kind %d, wanted %d", path, (int)got->kind, (int)want->kind);
    switch (want->kind) {
    case TST_TYPE_FIXED_BINARY: assert_int_equal(got->byte_width, want->byte_width); break;
    case TST_TYPE_TIMESTAMP:
        assert_int_equal(got->unit, want->unit);
        if (!want->timezone)
            assert_null(got->timezone);
        else
            assert_string_equal(got->timezone, want->timezone);
        break;
    case TST_TYPE_DECIMAL:
        assert_int_equal(got->precision, want->precision);
        assert_int_equal(got->scale, want->scale);
        break;
    case TST_TYPE_STRUCT:
        assert_int_equal(got->field_count, want->field_count);
        for (size_t i = 0; i < want->field_count; i++)
            assert_same_field(&want->fields[i], got->fields[i].name, got->fields[i].nullable,
                              &got->fields[i].type, path);
        break;
    case TST_TYPE_LIST:
        assert_non_null(got->element);
        assert_same_field(want->element, got->element->name, got->element->nullable,
                          &got->element->type, path);
        break;
    case TST_TYPE_MAP:
        assert_int_equal(got->keys_sorted, want->keys_sorted);
        assert_non_null(got->key);
        assert_same_field(want->key, got->key->name, got->key->nullable, &got->key->type, path);
        if (!want->value) {
            assert_null(got->value);
        } else {
            assert_non_null(got->value);
            assert_same_field(want->value, got->value->name, got->value->nullable,
                              &got->value->type, path);
        }
        break;
    default: break;
    }
}

static void assert_same_field(const tst_field *want, const char *got_name, bool got_nullable,
                              const tst_type *got, const char *path)
{
    char here[512];
    snprintf(here, sizeof here, "%s.%s", path, want->name);
    if (strcmp(got_name, want->name) != 0)
        fail_msg("%s: named '%s'", here, got_name);
    if (got_nullable != want->nullable)
        fail_msg("%s: nullable %d, wanted %d", here, (int)got_nullable, (int)want->nullable);
    assert_same_type(&want->type, got, here);
}

/* Decoded columns equal the schema: names, nullability, exact type trees. */
static void assert_columns_are(const tst_source_column *cols, size_t count,
                               const tst_schema *want)
{
    assert_int_equal(count, want->column_count);
    for (size_t i = 0; i < count; i++) {
        if (cols[i].wire != TST_WIRE_EXACT)
            fail_msg("column '%s' decoded inexact: %s", cols[i].name, cols[i].type_text);
        assert_same_field(&want->columns[i], cols[i].name, cols[i].nullable, &cols[i].type, "");
    }
}

/* Encodes the schema, decodes it with arrow_schema.c, and compares. */
static void assert_round_trips(const char *columns_json)
{
    tst_schema *schema = schema_parse(columns_json);
    char *b64 = NULL;
    assert_tst_ok(tst_arrow_schema_encode(schema, &b64));
    tst_source_column *cols = NULL;
    size_t count = 0;
    assert_tst_ok(tst_arrow_schema_decode(b64, strlen(b64), &cols, &count, NULL));
    assert_columns_are(cols, count, schema);
    tst_source_columns_free(cols, count);
    free(b64);
    tst_schema_free(schema);
}

static void assert_encode_fails(const char *columns_json, int code, const char *needle)
{
    tst_schema *schema = schema_parse(columns_json);
    char *b64 = (char *)"untouched";
    assert_tst_fails(tst_arrow_schema_encode(schema, &b64), code);
    assert_null(b64);
    if (!strstr(tst_error_last()->message, needle))
        fail_msg("message lacks '%s': %s", needle, tst_error_last()->message);
    tst_schema_free(schema);
}

#define COL(name, type, nullable) \
    "{\"name\":\"" name "\",\"data_type\":" type ",\"nullable\":" #nullable "}"
#define TS(unit, tz) "{\"Timestamp\":{\"unit\":\"" unit "\",\"timezone\":" tz "}}"
#define DEC(p, s) "{\"Decimal\":{\"precision\":" #p ",\"scale\":" #s "}}"

/* ---- round trips --------------------------------------------------------- */

static void every_scalar_type_round_trips_with_either_nullability(void **state)
{
    (void)state;
    assert_round_trips(
        "[" COL("b", "\"Bool\"", false) "," COL("b2", "\"Bool\"", true) ","
        COL("i32", "\"Int32\"", false) "," COL("i64", "\"Int64\"", true) ","
        COL("u64", "\"UInt64\"", false) "," COL("f32", "\"Float32\"", true) ","
        COL("f64", "\"Float64\"", false) "," COL("bin", "\"Binary\"", true) ","
        COL("s", "\"Utf8\"", false) ","
        COL("fixed", "{\"FixedBinary\":{\"byte_width\":16}}", true) ","
        COL("fixed1", "{\"FixedBinary\":{\"byte_width\":1}}", false) "]");
}

static void timestamps_keep_their_unit_and_timezone_or_its_absence(void **state)
{
    (void)state;
    assert_round_trips(
        "[" COL("ms", TS("Millis", "null"), false) "," COL("us", TS("Micros", "null"), true) ","
        COL("ns", TS("Nanos", "null"), false) "," COL("ms_utc", TS("Millis", "\"UTC\""), false) ","
        COL("us_utc", TS("Micros", "\"UTC\""), true) ","
        COL("ns_ny", TS("Nanos", "\"America/New_York\""), true) ","
        COL("us_off", TS("Micros", "\"+05:30\""), false) "]");
}

static void decimals_use_128_bits_up_to_38_digits_and_256_beyond(void **state)
{
    (void)state;
    assert_round_trips("[" COL("d1", DEC(1, 0), false) "," COL("d18", DEC(18, 3), true) ","
                       COL("d38", DEC(38, 38), false) "," COL("d39", DEC(39, 0), true) ","
                       COL("d76", DEC(76, 10), false) "]");
    /* The decoder maps Decimal256 of <= 38 digits to OTHER: the width
     * chosen must follow the precision for the round trip to be exact. */
}

static void structs_lists_and_maps_round_trip_at_any_depth(void **state)
{
    (void)state;
    const char *inner = "{\"Struct\":{\"fields\":[" COL("x", "\"Int32\"", false) ","
                        COL("when", TS("Nanos", "\"UTC\""), true) "]}}";
    char *cols = NULL;
    assert_true(asprintf(&cols,
        "[" COL("st", "{\"Struct\":{\"fields\":[" COL("a", "\"Int64\"", false) ","
                COL("b", "\"Utf8\"", true) "," COL("inner", "%s", false) "]}}", true) ","
        COL("list", "{\"List\":{\"elements\":" COL("item", "\"Float64\"", true) "}}", false) ","
        COL("list_nn", "{\"List\":{\"elements\":" COL("element", DEC(40, 2), false) "}}", true) ","
        COL("list_of_structs", "{\"List\":{\"elements\":" COL("item", "%s", true) "}}", true) ","
        COL("map", "{\"Map\":{\"key\":" COL("key", "\"Utf8\"", false) ",\"value\":"
                COL("value", "\"Int32\"", true) ",\"keys_sorted\":false}}", true) ","
        COL("sorted", "{\"Map\":{\"key\":" COL("k", "\"Int64\"", false) ",\"value\":"
                COL("v", "%s", false) ",\"keys_sorted\":true}}", false) ","
        COL("keys_only", "{\"Map\":{\"key\":" COL("key", "\"Utf8\"", false)
                ",\"value\":null,\"keys_sorted\":false}}", true) ","
        COL("list_of_maps", "{\"List\":{\"elements\":" COL("item", "{\"Map\":{\"key\":"
                COL("key", "\"Int32\"", false) ",\"value\":null,\"keys_sorted\":true}}", true)
                "}}", true) "]",
        inner, inner, inner) > 0);
    assert_round_trips(cols);
    free(cols);
}

/* A column of `levels` nested lists of int32, built by hand: JSON this
 * deep is beyond the log parser's nesting limit. */
static tst_field *nested_lists(int levels)
{
    tst_field *chain = calloc((size_t)levels + 1, sizeof *chain);
    assert_non_null(chain);
    for (int i = 0; i < levels; i++) {
        chain[i] = (tst_field){(char *)(i == 0 ? "deep" : "item"), {.kind = TST_TYPE_LIST}, true};
        chain[i].type.element = &chain[i + 1];
    }
    chain[levels] = (tst_field){(char *)"leaf", {.kind = TST_TYPE_INT32}, false};
    return chain;
}

static void deep_nesting_round_trips_to_the_decoders_limit(void **state)
{
    (void)state;
    /* 64 levels below the column decode; 65 would not, so they are refused. */
    tst_field *chain = nested_lists(64);
    tst_schema schema = {chain, 1};
    char *b64 = NULL;
    assert_tst_ok(tst_arrow_schema_encode(&schema, &b64));
    tst_source_column *cols = NULL;
    size_t count = 0;
    assert_tst_ok(tst_arrow_schema_decode(b64, strlen(b64), &cols, &count, NULL));
    assert_columns_are(cols, count, &schema);
    tst_source_columns_free(cols, count);
    free(b64);
    free(chain);

    chain = nested_lists(65);
    schema.columns = chain;
    assert_tst_fails(tst_arrow_schema_encode(&schema, &b64), TST_EINVAL);
    assert_null(b64);
    assert_non_null(strstr(tst_error_last()->message, "column 'deep'"));
    free(chain);
}

static void an_empty_schema_round_trips(void **state)
{
    (void)state;
    tst_schema empty = {NULL, 0};
    char *b64 = NULL;
    assert_tst_ok(tst_arrow_schema_encode(&empty, &b64));
    tst_source_column *cols = NULL;
    size_t count = 1;
    assert_tst_ok(tst_arrow_schema_decode(b64, strlen(b64), &cols, &count, NULL));
    assert_int_equal(count, 0);
    tst_source_columns_free(cols, count);
    free(b64);
}

/* ---- what cannot be encoded --------------------------------------------- */

static void int96_and_other_are_unsupported_naming_the_column(void **state)
{
    (void)state;
    assert_encode_fails("[" COL("ok", "\"Int32\"", true) "," COL("legacy", "\"Int96\"", true) "]",
                        TST_EUNSUPPORTED, "column 'legacy'");
    assert_encode_fails("[" COL("odd", "{\"Other\":\"parquet::Enum\"}", true) "]",
                        TST_EUNSUPPORTED, "column 'odd'");
    /* Nested: the message names the top-level column. */
    assert_encode_fails("[" COL("st", "{\"Struct\":{\"fields\":[" COL("a", "\"Int96\"", true)
                        "]}}", true) "]", TST_EUNSUPPORTED, "column 'st'");
    assert_encode_fails("[" COL("m", "{\"Map\":{\"key\":" COL("key", "\"Utf8\"", false)
                        ",\"value\":" COL("value", "{\"Other\":\"x\"}", true)
                        ",\"keys_sorted\":false}}", true) "]", TST_EUNSUPPORTED, "column 'm'");
}

/* Trees the JSON parser refuses, built by hand: the encoder checks too. */
static void invalid_trees_are_refused_naming_the_column(void **state)
{
    (void)state;
    tst_field key = {"key", {.kind = TST_TYPE_UTF8}, true};
    tst_field cols[] = {
        {"fixed0", {.kind = TST_TYPE_FIXED_BINARY, .byte_width = 0}, true},
        {"dec0", {.kind = TST_TYPE_DECIMAL, .precision = 0}, true},
        {"dec77", {.kind = TST_TYPE_DECIMAL, .precision = 77}, true},
        {"scale", {.kind = TST_TYPE_DECIMAL, .precision = 5, .scale = 6}, true},
        {"secs", {.kind = TST_TYPE_TIMESTAMP, .unit = 0}, true},
        {"empty", {.kind = TST_TYPE_STRUCT}, true},
        {"list", {.kind = TST_TYPE_LIST}, true},
        {"nullkey", {.kind = TST_TYPE_MAP, .key = &key}, true},
    };
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        tst_schema one = {&cols[i], 1};
        char *b64 = NULL;
        char needle[64];
        assert_tst_fails(tst_arrow_schema_encode(&one, &b64), TST_EINVAL);
        assert_null(b64);
        snprintf(needle, sizeof needle, "column '%s'", cols[i].name);
        if (!strstr(tst_error_last()->message, needle))
            fail_msg("message lacks '%s': %s", needle, tst_error_last()->message);
    }
}

/* ---- bytes --------------------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void the_message_is_framed_like_arrow_rs_and_padded_to_8(void **state)
{
    (void)state;
    tst_schema *schema = schema_parse("[" COL("ts", TS("Micros", "\"UTC\""), false) ","
                                      COL("symbol", "\"Utf8\"", false) "]");
    uint8_t *msg = NULL;
    size_t len = 0;
    assert_tst_ok(tst_arrow_schema_encode_message(schema, &msg, &len));
    assert_true(len > 8);
    assert_int_equal(le32(msg), 0xFFFFFFFFu);
    assert_int_equal(le32(msg + 4), len - 8);
    assert_int_equal((len - 8) % 8, 0);
    /* Root: a forward uoffset to the Message table, whose soffset reaches
     * back to a vtable (the layout the reader walks). */
    uint32_t root = le32(msg + 8);
    assert_true(root >= 4 && root % 4 == 0 && root < len - 8);
    int32_t soffset = (int32_t)le32(msg + 8 + root);
    assert_true(soffset > 0 && (uint32_t)soffset <= root);

    /* The base64 text is the same bytes, standard alphabet, padded. */
    char *b64 = NULL;
    assert_tst_ok(tst_arrow_schema_encode(schema, &b64));
    assert_int_equal(strlen(b64), (len + 2) / 3 * 4);
    assert_int_equal(strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789+/="), strlen(b64));
    size_t pad = (3 - len % 3) % 3, n = strlen(b64);
    assert_int_equal(strspn(b64 + n - pad, "="), pad);
    assert_true(b64[n - pad - 1] != '=');
    free(b64);
    free(msg);
    tst_schema_free(schema);
}

/*
 * An alignment walk over an encoded message, the checks flatbuffers'
 * verifiers (arrow-rs uses one) make: tables and their soffsets at
 * multiples of 4, vtables at multiples of 2, every scalar at a multiple of
 * its size, strings and vectors at multiples of 4, strings NUL-terminated,
 * every uoffset pointing forward inside the buffer.
 */
typedef struct fb_walk {
    const uint8_t *b;
    size_t n;
    size_t tables;
} fb_walk;

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Checks a table whose slots have the given sizes (4 for a uoffset). */
static void walk_table(fb_walk *w, size_t t, const uint8_t *sizes, int nsizes)
{
    assert_true(t % 4 == 0 && t + 4 <= w->n);
    size_t vt = t - (size_t)(int32_t)le32(w->b + t);
    assert_true(vt % 2 == 0 && vt < t);
    uint16_t vlen = le16(w->b + vt), tlen = le16(w->b + vt + 2);
    assert_true(vlen >= 4 && vlen % 2 == 0 && (vlen - 4) / 2 <= nsizes && t + tlen <= w->n);
    for (int i = 0; i < (vlen - 4) / 2; i++) {
        uint16_t off = le16(w->b + vt + 4 + 2 * (size_t)i);
        if (off != 0)
            assert_true(off >= 4 && off + sizes[i] <= tlen && (t + off) % sizes[i] == 0);
    }
    w->tables++;
}

/* The target of uoffset slot `slot` of table t, or 0 when absent. */
static size_t walk_ref(const fb_walk *w, size_t t, int slot)
{
    size_t vt = t - (size_t)(int32_t)le32(w->b + t);
    if (4 + 2 * (size_t)slot >= le16(w->b + vt))
        return 0;
    uint16_t off = le16(w->b + vt + 4 + 2 * (size_t)slot);
    if (off == 0)
        return 0;
    size_t target = t + off + le32(w->b + t + off);
    assert_true(target > t + off && target % 4 == 0 && target + 4 <= w->n);
    return target;
}

static void walk_string(const fb_walk *w, size_t s)
{
    size_t len = le32(w->b + s);
    assert_true(s + 4 + len < w->n && w->b[s + 4 + len] == 0);
}

static void walk_fields(fb_walk *w, size_t vector);

static void walk_field(fb_walk *w, size_t f)
{
    static const uint8_t FIELD[] = {4, 1, 1, 4, 4, 4, 4};
    static const uint8_t INT[] = {4, 1}, FLOAT[] = {2}, DECIMAL[] = {4, 4, 4},
                         TIMESTAMP[] = {2, 4}, FIXED[] = {4}, MAP[] = {1};
    walk_table(w, f, FIELD, 7);
    walk_string(w, walk_ref(w, f, 0));
    assert_int_equal(walk_ref(w, f, 4), 0); /* no dictionary */
    size_t type = walk_ref(w, f, 3);
    uint8_t id = 0;
    size_t vt = f - (size_t)(int32_t)le32(w->b + f);
    if (le16(w->b + vt) > 8 && le16(w->b + vt + 8) != 0)
        id = w->b[f + le16(w->b + vt + 8)];
    switch (id) {
    case 2: walk_table(w, type, INT, 2); break;
    case 3: walk_table(w, type, FLOAT, 1); break;
    case 7: walk_table(w, type, DECIMAL, 3); break;
    case 10:
        walk_table(w, type, TIMESTAMP, 2);
        if (walk_ref(w, type, 1))
            walk_string(w, walk_ref(w, type, 1));
        break;
    case 15: walk_table(w, type, FIXED, 1); break;
    case 17: walk_table(w, type, MAP, 1); break;
    default: assert_true(id >= 1 && id <= 13); walk_table(w, type, NULL, 0); break;
    }
    size_t children = walk_ref(w, f, 5);
    assert_true(children != 0); /* always present, as arrow-rs writes it */
    walk_fields(w, children);
}

static void walk_fields(fb_walk *w, size_t vector)
{
    size_t count = le32(w->b + vector);
    assert_true(vector + 4 + 4 * count <= w->n);
    for (size_t i = 0; i < count; i++) {
        size_t at = vector + 4 + 4 * i;
        walk_field(w, at + le32(w->b + at));
    }
}

static void every_object_is_aligned_as_flatbuffers_verifiers_require(void **state)
{
    (void)state;
    tst_schema *schema = schema_parse(
        "[" COL("b", "\"Bool\"", false) "," COL("i", "\"Int32\"", true) ","
        COL("f", "\"Float32\"", true) "," COL("fx", "{\"FixedBinary\":{\"byte_width\":3}}", true) ","
        COL("t", TS("Nanos", "\"Europe/Paris\""), false) "," COL("d", DEC(50, 5), true) ","
        COL("m", "{\"Map\":{\"key\":" COL("k", "\"Utf8\"", false) ",\"value\":null,"
        "\"keys_sorted\":true}}", true) ","
        COL("l", "{\"List\":{\"elements\":" COL("item", DEC(9, 2), true) "}}", true) "]");
    uint8_t *msg = NULL;
    size_t len = 0;
    assert_tst_ok(tst_arrow_schema_encode_message(schema, &msg, &len));
    fb_walk w = {msg + 8, len - 8, 0};
    static const uint8_t MESSAGE[] = {2, 1, 4, 8, 4}, SCHEMA[] = {2, 4, 4, 4};
    size_t root = le32(w.b);
    walk_table(&w, root, MESSAGE, 5);
    size_t header = walk_ref(&w, root, 2);
    walk_table(&w, header, SCHEMA, 4);
    walk_fields(&w, walk_ref(&w, header, 1));
    assert_true(w.tables > 20);
    free(msg);
    tst_schema_free(schema);
}

/*
 * Golden bytes for {ts: timestamp[us](UTC) not null, v: int64}, the first
 * output of this encoder, checked field by field against Schema.fbs and
 * decoded by apache-arrow (JS) as this exact schema. A change here is a
 * change of the bytes every segment carries: make it on purpose.
 */
static const char *GOLDEN_SCHEMA = "[" COL("ts", TS("Micros", "\"UTC\""), false) ","
                                   COL("v", "\"Int64\"", true) "]";
static const char *GOLDEN_BASE64 =
    "/////8gAAAAQAAAACgALAAgACgAEAAAADAAAABAAAAAEAAEACAAIAAAABAAIAAAABAAAAAIAAAAYAAAAYAAAABAAEQAE"
    "AAAAEAAIAAAADAAQAAAAEAAAABwAAAAsAAAACgAAAAIAAAB0cwAACAAKAAgABAAIAAAACAAAAAIAAAADAAAAVVRDAAAA"
    "AAAQABIABAAQABEACAAAAAwAEAAAABAAAAAcAAAAJAAAAAECAAABAAAAdgAIAAkABAAIAAAACgAAAEAAAAABAAAAAAAA"
    "AA==";

static void a_small_schema_encodes_to_the_golden_bytes(void **state)
{
    (void)state;
    tst_schema *schema = schema_parse(GOLDEN_SCHEMA);
    char *b64 = NULL;
    assert_tst_ok(tst_arrow_schema_encode(schema, &b64));
    if (strcmp(b64, GOLDEN_BASE64) != 0)
        fail_msg("encoded %s", b64);
    free(b64);
    tst_schema_free(schema);
}

/* ---- segments written through DuckDB ------------------------------------- */

static char *scratch;

static int setup(void **state)
{
    (void)state;
    scratch = tst_test_tmpdir("arrow_schema_write");
    return scratch ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tst_test_rmtree(scratch);
    scratch = NULL;
    return 0;
}

static void spec_parse(tst_index_spec *out, const char *json)
{
    json_object *obj = json_tokener_parse(json);
    assert_non_null(obj);
    assert_tst_ok(tst_index_spec_from_json(out, obj, "test spec"));
    json_object_put(obj);
}

#define TICKS_COLUMNS                                                                   \
    "[" COL("ts", TS("Micros", "\"UTC\""), false) "," COL("symbol", "\"Utf8\"", false) "," \
    COL("v", "\"Int64\"", true) "]"
#define TICKS_SOURCE                                                                     \
    "(SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL (i) MINUTE AS ts, "         \
    "CASE WHEN i % 2 = 0 THEN 'NVDA' ELSE 'AAPL' END AS symbol, "                         \
    "CASE WHEN i % 3 = 0 THEN NULL ELSE i END AS v FROM range(1000) t(i))"

/* Writes TICKS_SOURCE in `columns_json` with tst_segment_write; the path. */
static char *write_segment(const char *columns_json, const char *name)
{
    tst_index_spec spec;
    spec_parse(&spec, "{\"column\":\"ts\",\"entity_columns\":[\"symbol\"],"
                      "\"kind\":{\"type\":\"timestamp\",\"bucket\":{\"Hours\":1}}}");
    tst_schema *schema = schema_parse(columns_json);
    char *dst = tst_test_path(scratch, name);
    assert_tst_ok(tst_segment_write(TICKS_SOURCE, &spec, schema, dst, NULL));
    tst_schema_free(schema);
    tst_index_spec_clear(&spec);
    return dst;
}

static void a_written_segment_reads_back_as_exactly_the_table_schema(void **state)
{
    (void)state;
    char *dst = write_segment(TICKS_COLUMNS, "ticks.parquet");
    tst_test_assert_sql("1", "SELECT count(*)::VARCHAR FROM parquet_kv_metadata('%s') "
                        "WHERE key = 'ARROW:schema'::BLOB", dst);

    tst_source src;
    assert_tst_ok(tst_source_parquet(&src, dst));
    tst_schema *want = schema_parse(TICKS_COLUMNS);
    assert_columns_are(src.columns, src.column_count, want);
    assert_string_equal(src.columns[0].type_text, "timestamp[us](UTC)");
    tst_schema_free(want);
    tst_source_clear(&src);

    /* The Parquet columns are still OPTIONAL: the embedded schema alone
     * carries nullable=false. */
    tst_test_assert_sql("OPTIONAL", "SELECT repetition_type FROM parquet_schema('%s') "
                        "WHERE name = 'symbol'", dst);
    free(dst);
}

static void duckdb_still_reads_every_row_of_a_segment_with_the_key(void **state)
{
    (void)state;
    char *dst = write_segment(TICKS_COLUMNS, "rows.parquet");
    tst_test_assert_sql("1000", "SELECT count(*)::VARCHAR FROM read_parquet('%s')", dst);
    tst_test_assert_sql("0", "SELECT count(*)::VARCHAR FROM (SELECT * FROM read_parquet('%s') "
                        "EXCEPT ALL SELECT * FROM %s)", dst, TICKS_SOURCE);
    tst_test_assert_sql("334", "SELECT count(*)::VARCHAR FROM read_parquet('%s') WHERE v IS NULL",
                        dst);
    free(dst);
}

/* Every type DuckDB writes exactly (segment_write.c), as the table says. */
static void a_segment_of_every_writable_type_reads_back_as_its_schema(void **state)
{
    (void)state;
    static const char *COLUMNS =
        "[" COL("ts", TS("Micros", "\"UTC\""), false) "," COL("symbol", "\"Utf8\"", false) ","
        COL("v", "\"Int64\"", true) "," COL("i", "\"Int32\"", false) ","
        COL("u", "\"UInt64\"", true) "," COL("f", "\"Float32\"", true) ","
        COL("d", "\"Float64\"", false) "," COL("b", "\"Bool\"", true) ","
        COL("bin", "\"Binary\"", true) "," COL("dec", DEC(18, 3), false) ","
        COL("ms", TS("Millis", "null"), true) "," COL("ns", TS("Nanos", "null"), false) "]";
    tst_index_spec spec;
    spec_parse(&spec, "{\"column\":\"ts\",\"entity_columns\":[\"symbol\"],"
                      "\"kind\":{\"type\":\"timestamp\",\"bucket\":{\"Hours\":1}}}");
    tst_schema *schema = schema_parse(COLUMNS);
    char *dst = tst_test_path(scratch, "wide.parquet");
    assert_tst_ok(tst_segment_write(
        "(SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00' AS ts, 'NVDA' AS symbol, 1 AS v, 2 AS i, "
        "3 AS u, 1.5 AS f, 2.5 AS d, true AS b, 'x'::BLOB AS bin, 1.25 AS dec, "
        "TIMESTAMP '2024-01-01' AS ms, TIMESTAMP '2024-01-01' AS ns)",
        &spec, schema, dst, NULL));
    tst_source src;
    assert_tst_ok(tst_source_parquet(&src, dst));
    assert_columns_are(src.columns, src.column_count, schema);
    tst_test_assert_sql("1", "SELECT count(*)::VARCHAR FROM read_parquet('%s')", dst);
    tst_source_clear(&src);
    free(dst);
    tst_schema_free(schema);
    tst_index_spec_clear(&spec);
}

/* Annotations (schema_metadata) on the schema, a column, a struct field, a map's key and
 * entries and a keys-only map's Null value travel through custom_metadata and back. */
static void annotations_round_trip_through_custom_metadata(void **state)
{
    (void)state;
    json_object *obj = NULL;
    static const char TEXT[] =
        "{\"columns\":[{\"name\":\"v\",\"data_type\":\"Float64\",\"nullable\":true,"
        "\"metadata\":{\"a\":\"\",\"unit\":\"\xe6\xb8\xa9\"}},{\"name\":\"s\",\"data_type\":"
        "{\"Struct\":{\"fields\":[{\"name\":\"x\",\"data_type\":\"Int64\",\"nullable\":true,"
        "\"metadata\":{\"unit\":\"ms\"}}]}},\"nullable\":true},{\"name\":\"m\",\"data_type\":"
        "{\"Map\":{\"key\":{\"name\":\"key\",\"data_type\":\"Utf8\",\"nullable\":false,"
        "\"metadata\":{\"k\":\"1\"}},\"value\":null,\"keys_sorted\":false,\"entries_metadata\":"
        "{\"e\":\"2\"},\"null_value_metadata\":{\"n\":\"3\"}}},\"nullable\":true}],"
        "\"metadata\":{\"b\":\"x\",\"unit\":\"ms\"}}";
    tst_schema *schema = NULL;
    assert_non_null(obj = json_tokener_parse(TEXT));
    assert_tst_ok(tst_schema_from_json(&schema, obj, "test"));
    json_object_put(obj);
    char *b64 = NULL;
    assert_tst_ok(tst_arrow_schema_encode(schema, &b64));
    tst_source_column *cols = NULL;
    size_t count = 0;
    tst_metadata md = {NULL, 0};
    assert_tst_ok(tst_arrow_schema_decode(b64, strlen(b64), &cols, &count, &md));
    assert_columns_are(cols, count, schema);
    assert_true(tst_metadata_equal(&md, &schema->metadata));
    for (size_t i = 0; i < count; i++)
        assert_true(tst_metadata_equal(&cols[i].metadata, &schema->columns[i].metadata));
    assert_true(tst_metadata_equal(&cols[1].type.fields[0].metadata,
                                   &schema->columns[1].type.fields[0].metadata));
    const tst_type *map = &cols[2].type, *want = &schema->columns[2].type;
    assert_true(tst_metadata_equal(&map->key->metadata, &want->key->metadata));
    assert_true(tst_metadata_equal(&map->entries_metadata, &want->entries_metadata));
    assert_true(tst_metadata_equal(&map->null_value_metadata, &want->null_value_metadata));
    assert_int_equal(map->null_value_metadata.count, 1);
    tst_metadata_clear(&md);
    tst_source_columns_free(cols, count);
    free(b64);
    /* Without annotations the message is what it was: no custom_metadata slot. */
    tst_schema_clear_metadata(schema);
    assert_false(tst_schema_has_metadata(schema));
    assert_tst_ok(tst_arrow_schema_encode(schema, &b64));
    assert_tst_ok(tst_arrow_schema_decode(b64, strlen(b64), &cols, &count, &md));
    assert_int_equal(md.count, 0);
    tst_source_columns_free(cols, count);
    free(b64);
    tst_schema_free(schema);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_scalar_type_round_trips_with_either_nullability),
        cmocka_unit_test(timestamps_keep_their_unit_and_timezone_or_its_absence),
        cmocka_unit_test(decimals_use_128_bits_up_to_38_digits_and_256_beyond),
        cmocka_unit_test(structs_lists_and_maps_round_trip_at_any_depth),
        cmocka_unit_test(deep_nesting_round_trips_to_the_decoders_limit),
        cmocka_unit_test(an_empty_schema_round_trips),
        cmocka_unit_test(int96_and_other_are_unsupported_naming_the_column),
        cmocka_unit_test(invalid_trees_are_refused_naming_the_column),
        cmocka_unit_test(the_message_is_framed_like_arrow_rs_and_padded_to_8),
        cmocka_unit_test(every_object_is_aligned_as_flatbuffers_verifiers_require),
        cmocka_unit_test(a_small_schema_encodes_to_the_golden_bytes),
        cmocka_unit_test(annotations_round_trip_through_custom_metadata),
        cmocka_unit_test_setup_teardown(a_written_segment_reads_back_as_exactly_the_table_schema,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(duckdb_still_reads_every_row_of_a_segment_with_the_key,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_segment_of_every_writable_type_reads_back_as_its_schema,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
