/*
 * test_content_id.c — coverage sidecar content ids (format-v6 §1.11, §10.2 "layout").
 *
 * The strongest check is the reference's own example table (§1.1,
 * examples/nvda_table): its first append wrote a segment sidecar and a
 * table snapshot whose names carry ids we must reproduce from the 64-byte
 * TSTECOV2 payload given in §1.11. The global (no entity columns) layout has
 * no published example, so its preimage is spelled out byte by byte here
 * from the text of §1.11 and hashed directly. The rest checks what the
 * reference's layout tests check: ids are deterministic, well-formed, and
 * change with every input.
 */
#include "testsupport.h"

#include "content_id.h"
#include "model.h"

#include <stdlib.h>
#include <string.h>

/* The nvda segment sidecar (§1.11 worked example); the first snapshot is identical. */
static const char NVDA_SIDECAR_HEX[] =
    "5453544543 4f5632"         /* "TSTECOV2" */
    "00000001 00000001 01"      /* 1 identity, 1 component, Utf8 */
    "0000000000000004 4e564441" /* "NVDA" */
    "000000000000001b 0100000000000000 00000080 3b300000 01 0700 ef00 0100 4847 ef00";

static size_t nvda_sidecar(uint8_t out[64])
{
    size_t len = tst_test_hex(NVDA_SIDECAR_HEX, out);
    assert_int_equal(len, 64);
    return len;
}

static char *nvda_entity_columns[] = {"symbol"};

/* The nvda table: hourly on "ts", entity "symbol", no timezone. */
static tst_index_spec nvda_spec(void)
{
    return tst_test_hourly_spec(nvda_entity_columns, 1);
}

/* The same shape without entity columns: the global layout. */
static tst_index_spec global_spec(void)
{
    return tst_test_hourly_spec(NULL, 0);
}

static void nvda_segment_sidecar_id_matches_the_reference_example(void **state)
{
    (void)state;
    uint8_t bytes[64];
    size_t len = nvda_sidecar(bytes);
    tst_index_spec spec = nvda_spec();
    char id[TST_CONTENT_ID_MAX];
    assert_tst_ok(tst_coverage_content_id(id, TST_SIDECAR_SEGMENT, &spec, bytes, len));
    assert_string_equal(id, "segcov-46ce555d301706364664f7bd6fd774a1");
}

static void nvda_table_snapshot_id_matches_the_reference_example(void **state)
{
    (void)state;
    uint8_t bytes[64];
    size_t len = nvda_sidecar(bytes);
    tst_index_spec spec = nvda_spec();
    char id[TST_CONTENT_ID_MAX];
    assert_tst_ok(tst_coverage_content_id(id, TST_SIDECAR_TABLE, &spec, bytes, len));
    assert_string_equal(id, "tblcov-690c41a668bbc5276b4fbad9b02a2dec");
}

/* ---- preimages spelled out ------------------------------------------------ */

/* A preimage under construction, for hashing by hand. */
typedef struct preimage {
    uint8_t bytes[512];
    size_t len;
} preimage;

static void put(preimage *p, const void *bytes, size_t len)
{
    assert_true(p->len + len <= sizeof p->bytes);
    memcpy(p->bytes + p->len, bytes, len);
    p->len += len;
}

static void put_str(preimage *p, const char *s)
{
    put(p, s, strlen(s));
}

/* A literal that may hold NUL bytes, taken whole. */
#define PUT_LITERAL(p, lit) put((p), (lit), sizeof(lit) - 1)

static void put_byte(preimage *p, uint8_t b)
{
    put(p, &b, 1);
}

/* The hand-built preimage's id, as the library should compute it. */
static void expected_id(char out[TST_CONTENT_ID_MAX], const char *prefix, const preimage *p)
{
    uint8_t digest[32];
    tst_blake3(p->bytes, p->len, digest);
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(prefix);
    memcpy(out, prefix, n);
    for (int i = 0; i < 16; i++) {
        out[n++] = hex[digest[i] >> 4];
        out[n++] = hex[digest[i] & 0x0F];
    }
    out[n] = '\0';
}

static void assert_id_of(const tst_index_spec *spec, tst_sidecar_role role, const uint8_t *bytes,
                         size_t len, const char *prefix, const preimage *p)
{
    char want[TST_CONTENT_ID_MAX], got[TST_CONTENT_ID_MAX];
    expected_id(want, prefix, p);
    assert_tst_ok(tst_coverage_content_id(got, role, spec, bytes, len));
    assert_string_equal(got, want);
}

static void global_timestamp_preimage_follows_the_documented_layout(void **state)
{
    (void)state;
    static const uint8_t coverage[] = {1, 2, 3};
    tst_index_spec spec = global_spec();
    spec.kind.bucket.unit = TST_TIME_MINUTES;
    spec.kind.bucket.count = 0x01020304;

    /* No timezone: ... 'T' 'M' u32le 00 'N' 00 bytes. */
    preimage p = {{0}, 0};
    put_str(&p, "segcov-v2");
    put_byte(&p, 0);
    put_str(&p, "ts");
    put_byte(&p, 0);
    PUT_LITERAL(&p, "TM\x04\x03\x02\x01\x00N");
    put_byte(&p, 0);
    put(&p, coverage, sizeof coverage);
    assert_id_of(&spec, TST_SIDECAR_SEGMENT, coverage, sizeof coverage, "segcov-", &p);

    /* A timezone: 'S' and its raw bytes in place of 'N'; table role. */
    strcpy(spec.kind.timezone, "Europe/Paris");
    p.len = 0;
    put_str(&p, "tblcov-v2");
    put_byte(&p, 0);
    put_str(&p, "ts");
    put_byte(&p, 0);
    PUT_LITERAL(&p, "TM\x04\x03\x02\x01\x00S");
    put_str(&p, "Europe/Paris");
    put_byte(&p, 0);
    put(&p, coverage, sizeof coverage);
    assert_id_of(&spec, TST_SIDECAR_TABLE, coverage, sizeof coverage, "tblcov-", &p);
}

static void global_integer_preimages_follow_the_documented_layout(void **state)
{
    (void)state;
    static const uint8_t coverage[8] = {0}; /* empty global coverage */
    tst_index_spec spec = global_spec();
    spec.column = "seq";
    spec.kind.bucket_width = 0x0102030405060708ULL;
    static const tst_index_type types[] = {TST_INDEX_INT64, TST_INDEX_UINT64};
    static const char letters[] = {'I', 'U'};
    for (int i = 0; i < 2; i++) {
        spec.kind.type = types[i];
        preimage p = {{0}, 0};
        put_str(&p, "segcov-v2");
        put_byte(&p, 0);
        put_str(&p, "seq");
        put_byte(&p, 0);
        put_byte(&p, (uint8_t)letters[i]);
        PUT_LITERAL(&p, "\x08\x07\x06\x05\x04\x03\x02\x01");
        put_byte(&p, 0);
        put(&p, coverage, sizeof coverage);
        assert_id_of(&spec, TST_SIDECAR_SEGMENT, coverage, sizeof coverage, "segcov-", &p);
    }
}

static void entity_preimage_length_prefixes_every_string(void **state)
{
    (void)state;
    static const uint8_t coverage[] = {'T', 'S', 'T', 'E', 'C', 'O', 'V', '2', 0, 0, 0, 0};
    char *entities[] = {"exchange", "instrument_identifier"};
    tst_index_spec spec = nvda_spec();
    spec.column = "event_time";
    spec.entity_columns = entities;
    spec.entity_count = 2;
    spec.kind.bucket.unit = TST_TIME_DAYS;
    spec.kind.bucket.count = 7;
    strcpy(spec.kind.timezone, "America/New_York");

    /* usize and lp: decimal length, ':', bytes; two-digit lengths included. */
    preimage p = {{0}, 0};
    put_str(&p, "entity-tblcov-v1");
    put_byte(&p, 0);
    put_str(&p, "C10:event_time");
    put_str(&p, "E2:8:exchange21:instrument_identifier");
    PUT_LITERAL(&p, "KTD\x07\x00\x00\x00S16:America/New_York");
    put_byte(&p, 0);
    put(&p, coverage, sizeof coverage);
    assert_id_of(&spec, TST_SIDECAR_TABLE, coverage, sizeof coverage, "tblcov-", &p);

    /* An integer kind has no timezone part at all. */
    spec.kind.type = TST_INDEX_UINT64;
    spec.kind.bucket_width = 1000;
    p.len = 0;
    put_str(&p, "entity-segcov-v1");
    put_byte(&p, 0);
    put_str(&p, "C10:event_time");
    put_str(&p, "E2:8:exchange21:instrument_identifier");
    PUT_LITERAL(&p, "KU\xe8\x03\x00\x00\x00\x00\x00\x00");
    put_byte(&p, 0);
    put(&p, coverage, sizeof coverage);
    assert_id_of(&spec, TST_SIDECAR_SEGMENT, coverage, sizeof coverage, "segcov-", &p);
}

/* ---- shape, determinism, sensitivity ---------------------------------------- */

static void ids_are_a_prefix_and_32_lowercase_hex_digits(void **state)
{
    (void)state;
    uint8_t bytes[64];
    size_t len = nvda_sidecar(bytes);
    tst_index_spec specs[2] = {nvda_spec(), global_spec()};
    static const tst_sidecar_role roles[] = {TST_SIDECAR_SEGMENT, TST_SIDECAR_TABLE};
    for (int s = 0; s < 2; s++) {
        for (int r = 0; r < 2; r++) {
            char id[TST_CONTENT_ID_MAX];
            assert_tst_ok(tst_coverage_content_id(id, roles[r], &specs[s], bytes, len));
            assert_int_equal(strlen(id), 39);
            assert_memory_equal(id, r == 0 ? "segcov-" : "tblcov-", 7);
            for (size_t i = 7; i < 39; i++)
                assert_true((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'));
            /* It must also be a valid id in a persisted path. */
            assert_tst_ok(tst_coverage_id_validate(id));
        }
    }
}

static void ids_are_deterministic(void **state)
{
    (void)state;
    uint8_t bytes[64];
    size_t len = nvda_sidecar(bytes);
    tst_index_spec spec = global_spec();
    char first[TST_CONTENT_ID_MAX], again[TST_CONTENT_ID_MAX];
    assert_tst_ok(tst_coverage_content_id(first, TST_SIDECAR_SEGMENT, &spec, bytes, len));
    /* A different buffer with the same content, and a copied spec. */
    uint8_t copy[64];
    memcpy(copy, bytes, len);
    tst_index_spec spec_copy = spec;
    assert_tst_ok(tst_coverage_content_id(again, TST_SIDECAR_SEGMENT, &spec_copy, copy, len));
    assert_string_equal(first, again);
}

static void empty_coverage_bytes_are_hashed_too(void **state)
{
    (void)state;
    tst_index_spec spec = global_spec();
    char a[TST_CONTENT_ID_MAX], b[TST_CONTENT_ID_MAX];
    assert_tst_ok(tst_coverage_content_id(a, TST_SIDECAR_SEGMENT, &spec, NULL, 0));
    assert_tst_ok(tst_coverage_content_id(b, TST_SIDECAR_SEGMENT, &spec, (const uint8_t *)"", 0));
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), 39);
}

#define VARIANTS_MAX 32

typedef struct variants {
    char ids[VARIANTS_MAX][TST_CONTENT_ID_MAX];
    const char *what[VARIANTS_MAX];
    int count;
} variants;

static void add_variant(variants *v, const char *what, tst_sidecar_role role,
                        const tst_index_spec *spec, const uint8_t *bytes, size_t len)
{
    assert_true(v->count < VARIANTS_MAX);
    assert_tst_ok(tst_coverage_content_id(v->ids[v->count], role, spec, bytes, len));
    v->what[v->count] = what;
    v->count++;
}

/* Every variant differs from the base in exactly one input, so all ids must differ. */
static void assert_all_distinct(const variants *v)
{
    for (int i = 0; i < v->count; i++)
        for (int j = i + 1; j < v->count; j++)
            if (strcmp(v->ids[i] + 7, v->ids[j] + 7) == 0)
                fail_msg("'%s' and '%s' share the hash %s", v->what[i], v->what[j], v->ids[i]);
}

static void add_kind_variants(variants *v, const tst_index_spec *base, const uint8_t *bytes,
                              size_t len)
{
    tst_index_spec s = *base;
    s.kind.bucket.unit = TST_TIME_MINUTES;
    add_variant(v, "unit minutes", TST_SIDECAR_SEGMENT, &s, bytes, len);
    s.kind.bucket.unit = TST_TIME_SECONDS;
    add_variant(v, "unit seconds", TST_SIDECAR_SEGMENT, &s, bytes, len);
    s.kind.bucket.unit = TST_TIME_DAYS;
    add_variant(v, "unit days", TST_SIDECAR_SEGMENT, &s, bytes, len);
    s = *base;
    s.kind.bucket.count = 2;
    add_variant(v, "count 2", TST_SIDECAR_SEGMENT, &s, bytes, len);
    s = *base;
    strcpy(s.kind.timezone, "UTC");
    add_variant(v, "timezone UTC", TST_SIDECAR_SEGMENT, &s, bytes, len);
    strcpy(s.kind.timezone, "Asia/Tokyo");
    add_variant(v, "timezone Asia/Tokyo", TST_SIDECAR_SEGMENT, &s, bytes, len);
    s = *base;
    s.kind.type = TST_INDEX_INT64;
    s.kind.bucket_width = 1;
    add_variant(v, "int64 width 1", TST_SIDECAR_SEGMENT, &s, bytes, len);
    s.kind.bucket_width = 2;
    add_variant(v, "int64 width 2", TST_SIDECAR_SEGMENT, &s, bytes, len);
    s.kind.type = TST_INDEX_UINT64;
    add_variant(v, "uint64 width 2", TST_SIDECAR_SEGMENT, &s, bytes, len);
}

static void add_byte_variants(variants *v, const tst_index_spec *base, uint8_t *bytes, size_t len)
{
    bytes[len - 1] ^= 0x80;
    add_variant(v, "last byte flipped", TST_SIDECAR_SEGMENT, base, bytes, len);
    bytes[len - 1] ^= 0x80;
    bytes[0] ^= 0x01;
    add_variant(v, "first byte flipped", TST_SIDECAR_SEGMENT, base, bytes, len);
    bytes[0] ^= 0x01;
    add_variant(v, "one byte shorter", TST_SIDECAR_SEGMENT, base, bytes, len - 1);
    add_variant(v, "no bytes", TST_SIDECAR_SEGMENT, base, bytes, 0);
}

static void add_input_variants(variants *v, const tst_index_spec *base, uint8_t *bytes, size_t len)
{
    add_variant(v, "base", TST_SIDECAR_SEGMENT, base, bytes, len);
    add_variant(v, "table role", TST_SIDECAR_TABLE, base, bytes, len);
    tst_index_spec s = *base;
    s.column = "time";
    add_variant(v, "column time", TST_SIDECAR_SEGMENT, &s, bytes, len);
    add_kind_variants(v, base, bytes, len);
    add_byte_variants(v, base, bytes, len);
}

static void global_ids_change_with_every_input(void **state)
{
    (void)state;
    uint8_t bytes[64];
    size_t len = nvda_sidecar(bytes);
    tst_index_spec base = global_spec();
    variants v = {.count = 0};
    add_input_variants(&v, &base, bytes, len);
    /* The same table with an entity column uses the other layout. */
    tst_index_spec s = nvda_spec();
    add_variant(&v, "one entity column", TST_SIDECAR_SEGMENT, &s, bytes, len);
    assert_all_distinct(&v);
}

static void entity_ids_change_with_every_input(void **state)
{
    (void)state;
    uint8_t bytes[64];
    size_t len = nvda_sidecar(bytes);
    tst_index_spec base = nvda_spec();
    variants v = {.count = 0};
    add_input_variants(&v, &base, bytes, len);

    char *renamed[] = {"ticker"};
    char *two[] = {"symbol", "venue"};
    char *swapped[] = {"venue", "symbol"};
    /* Same concatenated text, different split: length prefixes tell them apart. */
    char *resplit[] = {"symbolv", "enue"};
    struct {
        const char *what;
        char **columns;
        size_t count;
    } entity_sets[] = {{"entity ticker", renamed, 1},
                       {"entities symbol, venue", two, 2},
                       {"entities venue, symbol", swapped, 2},
                       {"entities symbolv, enue", resplit, 2}};
    for (size_t i = 0; i < sizeof entity_sets / sizeof entity_sets[0]; i++) {
        tst_index_spec s = base;
        s.entity_columns = entity_sets[i].columns;
        s.entity_count = entity_sets[i].count;
        add_variant(&v, entity_sets[i].what, TST_SIDECAR_SEGMENT, &s, bytes, len);
    }
    tst_index_spec global = global_spec();
    add_variant(&v, "no entity columns", TST_SIDECAR_SEGMENT, &global, bytes, len);
    assert_all_distinct(&v);
}

/* ---- invalid arguments ------------------------------------------------------- */

static void expect_invalid(tst_sidecar_role role, const tst_index_spec *spec, const uint8_t *bytes,
                           size_t len)
{
    char id[TST_CONTENT_ID_MAX] = "untouched";
    assert_tst_fails(tst_coverage_content_id(id, role, spec, bytes, len), TST_EINVAL);
    assert_string_equal(id, "untouched");
}

static void invalid_arguments_are_rejected_with_a_message(void **state)
{
    (void)state;
    uint8_t bytes[1] = {0};
    tst_index_spec spec = nvda_spec();
    expect_invalid((tst_sidecar_role)0, &spec, bytes, 1);
    expect_invalid((tst_sidecar_role)3, &spec, bytes, 1);
    expect_invalid(TST_SIDECAR_SEGMENT, NULL, bytes, 1);
    expect_invalid(TST_SIDECAR_SEGMENT, &spec, NULL, 1);

    tst_index_spec bad = spec;
    bad.column = NULL;
    expect_invalid(TST_SIDECAR_SEGMENT, &bad, bytes, 1);
    bad = spec;
    bad.entity_columns = NULL;
    expect_invalid(TST_SIDECAR_SEGMENT, &bad, bytes, 1);
    char *null_column[] = {NULL};
    bad.entity_columns = null_column;
    expect_invalid(TST_SIDECAR_SEGMENT, &bad, bytes, 1);
    bad = spec;
    bad.kind.type = (tst_index_type)9;
    expect_invalid(TST_SIDECAR_SEGMENT, &bad, bytes, 1);
    bad = spec;
    bad.kind.bucket.unit = (tst_time_unit)0;
    expect_invalid(TST_SIDECAR_TABLE, &bad, bytes, 1);

    assert_tst_fails(tst_coverage_content_id(NULL, TST_SIDECAR_SEGMENT, &spec, bytes, 1),
                     TST_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nvda_segment_sidecar_id_matches_the_reference_example),
        cmocka_unit_test(nvda_table_snapshot_id_matches_the_reference_example),
        cmocka_unit_test(global_timestamp_preimage_follows_the_documented_layout),
        cmocka_unit_test(global_integer_preimages_follow_the_documented_layout),
        cmocka_unit_test(entity_preimage_length_prefixes_every_string),
        cmocka_unit_test(ids_are_a_prefix_and_32_lowercase_hex_digits),
        cmocka_unit_test(ids_are_deterministic),
        cmocka_unit_test(empty_coverage_bytes_are_hashed_too),
        cmocka_unit_test(global_ids_change_with_every_input),
        cmocka_unit_test(entity_ids_change_with_every_input),
        cmocka_unit_test(invalid_arguments_are_rejected_with_a_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
