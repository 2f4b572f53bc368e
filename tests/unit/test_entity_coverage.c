/*
 * test_entity_coverage.c — entity identities, the identity -> coverage map,
 * and the TSTECOV2 codec (format-v6 §1.8, §1.11, §4.2, §10.2).
 *
 * The golden vectors come from the reference implementation and are checked
 * byte for byte in both directions. The decoder is fed every truncated
 * prefix of them and a hand-built payload for each malformation the
 * reference names, because sidecars are untrusted input. Random round trips
 * use a fixed seed so a failure reproduces.
 */
#include "testsupport.h"

#include "coverage_internal.h"
#include "tstable/coverage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

#define SIGN_BIT 0x8000000000000000ULL

static tst_entity_value utf8(const char *s)
{
    tst_entity_value v = {TST_ENTITY_UTF8, {.utf8 = {s, strlen(s)}}};
    return v;
}

static tst_entity_value i32(int32_t x)
{
    tst_entity_value v = {TST_ENTITY_INT32, {.i32 = x}};
    return v;
}

static tst_entity_value i64(int64_t x)
{
    tst_entity_value v = {TST_ENTITY_INT64, {.i64 = x}};
    return v;
}

static tst_entity_value u64(uint64_t x)
{
    tst_entity_value v = {TST_ENTITY_UINT64, {.u64 = x}};
    return v;
}

static tst_entity_identity ident(size_t count, const tst_entity_value *values)
{
    tst_entity_identity id = {count, values};
    return id;
}

static tst_coverage *cov_of(tst_entity_coverage *ec, const tst_entity_identity *id)
{
    tst_coverage *cov = NULL;
    assert_tst_ok(tst_entity_coverage_get_or_add(ec, id, &cov));
    return cov;
}

/* Adds [first, last] to the coverage of a one-component utf8 identity. */
static void add_symbol(tst_entity_coverage *ec, const char *symbol, uint64_t first, uint64_t last)
{
    tst_entity_value v = utf8(symbol);
    tst_entity_identity id = ident(1, &v);
    assert_tst_ok(tst_coverage_add_range(cov_of(ec, &id), first, last));
}

static int compare_ids(tst_entity_value a, tst_entity_value b)
{
    tst_entity_identity ia = ident(1, &a), ib = ident(1, &b);
    return tst_entity_identity_compare(&ia, &ib);
}

static size_t hex(const char *text, uint8_t **out)
{
    *out = malloc(strlen(text) / 2 + 1);
    assert_non_null(*out);
    return tst_test_hex(text, *out);
}

static void assert_equal_entity_coverage(const tst_entity_coverage *a, const tst_entity_coverage *b)
{
    assert_int_equal(tst_entity_coverage_count(a), tst_entity_coverage_count(b));
    for (size_t i = 0; i < tst_entity_coverage_count(a); i++) {
        tst_entity_identity ia, ib;
        const tst_coverage *ca, *cb;
        assert_tst_ok(tst_entity_coverage_at(a, i, &ia, &ca));
        assert_tst_ok(tst_entity_coverage_at(b, i, &ib, &cb));
        assert_int_equal(tst_entity_identity_compare(&ia, &ib), 0);
        assert_true(tst_coverage_equals(ca, cb));
    }
}

static void assert_decode_fails(const uint8_t *bytes, size_t len, const char *fragment)
{
    static char untouched;
    tst_entity_coverage *const sentinel = (tst_entity_coverage *)&untouched;
    tst_entity_coverage *ec = sentinel; /* a failed decode must not write *out */
    assert_tst_fails(tst_entity_coverage_deserialize(&ec, bytes, len), TST_ECORRUPT);
    assert_ptr_equal(ec, sentinel);
    if (fragment && strstr(tst_error_last()->message, fragment) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", tst_error_last()->message, fragment);
}

static void assert_hex_fails(const char *text, const char *fragment)
{
    uint8_t *bytes;
    size_t len = hex(text, &bytes);
    assert_decode_fails(bytes, len, fragment);
    free(bytes);
}

/* Global-codec {0}: one 32-bit bitmap, key 0, array container {0}. */
#define ROARING_ZERO "0100000000000000 00000000 3a300000 01000000 00000000 10000000 0000"
#define ROARING_EMPTY "0000000000000000"

#define GOLDEN_TOKYO                                                                           \
    "5453544543 4f5632 00000001 00000004 01 0000000000000006 e69db1e4baac 02 ffffffff"         \
    " 03 8000000000000000 04 ffffffffffffffff 000000000000001e " ROARING_ZERO

#define GOLDEN_NVDA                                                                            \
    "5453544543 4f5632 | 00000001 | 00000001 | 01 | 0000000000000004 4e564441 |"              \
    " 000000000000001b | 0100000000000000 00000080 3b300000 01 0700 ef00 0100 4847 ef00"

#define MAGIC "5453544543 4f5632 "

/* ------------------------------------------------------------------------ */
/* Identities                                                                */

static void identity_types_order_before_values(void **state)
{
    (void)state;
    assert_true(compare_ids(utf8("b"), i32(-5)) < 0);
    assert_true(compare_ids(i32(-5), i64(0)) < 0);
    assert_true(compare_ids(i64(0), u64(0)) < 0);
    assert_true(compare_ids(utf8("zzz"), u64(0)) < 0);
    assert_true(compare_ids(i32(INT32_MAX), i64(INT64_MIN)) < 0);
}

static void identity_values_compare_signed_unsigned_and_bytewise(void **state)
{
    (void)state;
    assert_true(compare_ids(i32(-5), i32(3)) < 0);
    assert_true(compare_ids(i64(INT64_MIN), i64(-1)) < 0);
    assert_true(compare_ids(u64(1), u64(UINT64_MAX)) < 0);
    assert_true(compare_ids(utf8("a"), utf8("ab")) < 0);
    assert_true(compare_ids(utf8("ab"), utf8("b")) < 0);
    assert_true(compare_ids(utf8("Z"), utf8("a")) < 0);
    assert_true(compare_ids(utf8("z"), utf8("\xc3\xa9")) < 0); /* bytes compare unsigned */
    assert_true(compare_ids(utf8(""), utf8("a")) < 0);
    assert_int_equal(compare_ids(utf8("NVDA"), utf8("NVDA")), 0);
    assert_int_equal(compare_ids(i64(7), i64(7)), 0);
}

static void shorter_prefix_identity_sorts_first(void **state)
{
    (void)state;
    tst_entity_value ab[] = {utf8("a"), i32(1)};
    tst_entity_value abc[] = {utf8("a"), i32(1), u64(0)};
    tst_entity_value b[] = {utf8("a"), i32(2)};
    tst_entity_identity short_id = ident(2, ab), long_id = ident(3, abc), other = ident(2, b);
    assert_true(tst_entity_identity_compare(&short_id, &long_id) < 0);
    assert_true(tst_entity_identity_compare(&long_id, &short_id) > 0);
    assert_true(tst_entity_identity_compare(&long_id, &other) < 0);
}

static void identity_format_joins_values_with_commas(void **state)
{
    (void)state;
    tst_entity_value values[] = {utf8("NVDA"), i32(-1), i64(INT64_MIN), u64(UINT64_MAX)};
    tst_entity_identity id = ident(4, values);
    char buf[128];
    const char *want = "NVDA,-1,-9223372036854775808,18446744073709551615";
    assert_int_equal(tst_entity_identity_format(&id, buf, sizeof buf), (int)strlen(want));
    assert_string_equal(buf, want);
    id.count = 1;
    assert_int_equal(tst_entity_identity_format(&id, buf, sizeof buf), 4);
    assert_string_equal(buf, "NVDA");
}

static void identity_format_truncates_like_snprintf(void **state)
{
    (void)state;
    tst_entity_value values[] = {utf8("NVDA"), i32(-1)};
    tst_entity_identity id = ident(2, values);
    char buf[5] = "xxxx";
    assert_int_equal(tst_entity_identity_format(&id, buf, sizeof buf), 7);
    assert_string_equal(buf, "NVDA");
    assert_int_equal(tst_entity_identity_format(&id, buf, 1), 7);
    assert_string_equal(buf, "");
    assert_int_equal(tst_entity_identity_format(&id, NULL, 0), 7);
}

/* ------------------------------------------------------------------------ */
/* The map                                                                   */

static void identities_iterate_in_canonical_order_across_types(void **state)
{
    (void)state;
    tst_entity_coverage *ec;
    assert_tst_ok(tst_entity_coverage_new(&ec));
    tst_entity_value inserted[] = {u64(0), utf8("ab"), i64(0), utf8("b"), i32(-5), utf8("a")};
    for (size_t i = 0; i < 6; i++) {
        tst_entity_identity id = ident(1, &inserted[i]);
        cov_of(ec, &id);
    }
    tst_entity_value want[] = {utf8("a"), utf8("ab"), utf8("b"), i32(-5), i64(0), u64(0)};
    assert_int_equal(tst_entity_coverage_count(ec), 6);
    for (size_t i = 0; i < 6; i++) {
        tst_entity_identity got, expected = ident(1, &want[i]);
        assert_tst_ok(tst_entity_coverage_at(ec, i, &got, NULL));
        assert_int_equal(tst_entity_identity_compare(&got, &expected), 0);
        assert_int_equal(got.values[0].type, want[i].type); /* exact type preserved */
    }
    assert_tst_fails(tst_entity_coverage_at(ec, 6, NULL, NULL), TST_EINVAL);
    tst_entity_coverage_free(ec);
}

static void get_or_add_copies_the_identity(void **state)
{
    (void)state;
    tst_entity_coverage *ec;
    assert_tst_ok(tst_entity_coverage_new(&ec));
    char symbol[] = "AAPL";
    tst_entity_value v = {TST_ENTITY_UTF8, {.utf8 = {symbol, 4}}};
    tst_entity_identity id = ident(1, &v);
    tst_coverage *first = cov_of(ec, &id);
    assert_tst_ok(tst_coverage_add(first, 42));
    memcpy(symbol, "MSFT", 4);
    tst_entity_identity stored;
    assert_tst_ok(tst_entity_coverage_at(ec, 0, &stored, NULL));
    assert_memory_equal(stored.values[0].v.utf8.ptr, "AAPL", 4);
    assert_null(tst_entity_coverage_get(ec, &id)); /* MSFT is absent */
    memcpy(symbol, "AAPL", 4);
    assert_ptr_equal(tst_entity_coverage_get(ec, &id), first);
    assert_ptr_equal(cov_of(ec, &id), first); /* found, not added again */
    assert_int_equal(tst_entity_coverage_count(ec), 1);
    tst_entity_coverage_free(ec);
}

static void get_or_add_rejects_identities_the_codec_cannot_store(void **state)
{
    (void)state;
    tst_entity_coverage *ec;
    tst_coverage *cov;
    assert_tst_ok(tst_entity_coverage_new(&ec));
    tst_entity_value v = utf8("x");
    tst_entity_identity empty = ident(0, &v);
    assert_tst_fails(tst_entity_coverage_get_or_add(ec, &empty, &cov), TST_EINVAL);
    tst_entity_value bad = {TST_ENTITY_UTF8, {.utf8 = {"\xed\xa0\x80", 3}}};
    tst_entity_identity surrogate = ident(1, &bad);
    assert_tst_fails(tst_entity_coverage_get_or_add(ec, &surrogate, &cov), TST_EINVAL);
    tst_entity_value odd = {(tst_entity_type)9, {.u64 = 0}};
    tst_entity_identity unknown = ident(1, &odd);
    assert_tst_fails(tst_entity_coverage_get_or_add(ec, &unknown, &cov), TST_EINVAL);
    assert_int_equal(tst_entity_coverage_count(ec), 0);
    tst_entity_coverage_free(ec);
}

static void empty_identities_are_preserved_and_counted(void **state)
{
    (void)state;
    tst_entity_coverage *ec, *back;
    assert_tst_ok(tst_entity_coverage_new(&ec));
    add_symbol(ec, "A", 5, 6);
    tst_entity_value v = utf8("EMPTY");
    tst_entity_identity id = ident(1, &v);
    cov_of(ec, &id);
    assert_int_equal(tst_entity_coverage_count(ec), 2);
    assert_int_equal(tst_entity_coverage_cardinality(ec), 2);
    uint8_t *bytes;
    size_t len;
    assert_tst_ok(tst_entity_coverage_serialize(ec, &bytes, &len));
    assert_tst_ok(tst_entity_coverage_deserialize(&back, bytes, len));
    assert_int_equal(tst_entity_coverage_count(back), 2);
    assert_non_null(tst_entity_coverage_get(back, &id));
    assert_true(tst_coverage_is_empty(tst_entity_coverage_get(back, &id)));
    free(bytes);
    tst_entity_coverage_free(back);
    tst_entity_coverage_free(ec);
}

static void same_bucket_counts_once_per_identity(void **state)
{
    (void)state;
    tst_entity_coverage *ec;
    tst_coverage *all;
    assert_tst_ok(tst_entity_coverage_new(&ec));
    add_symbol(ec, "A", 100, 100);
    add_symbol(ec, "B", 100, 100);
    add_symbol(ec, "A", 100, 101);
    assert_int_equal(tst_entity_coverage_cardinality(ec), 3);
    assert_tst_ok(tst_entity_coverage_union_all(&all, ec));
    assert_int_equal(tst_coverage_cardinality(all), 2);
    tst_coverage_free(all);
    tst_entity_coverage_free(ec);
}

/*
 * Pairs add up across identities and 32-bit partitions. (Saturation itself
 * cannot be reached in a test: it takes 2^32 full partitions.)
 */
static void cardinality_sums_pairs_across_partitions(void **state)
{
    (void)state;
    tst_entity_coverage *ec;
    assert_tst_ok(tst_entity_coverage_new(&ec));
    add_symbol(ec, "A", 0, (1ULL << 33) - 1); /* two full partitions */
    add_symbol(ec, "B", UINT64_MAX - 9, UINT64_MAX);
    add_symbol(ec, "C", 0, 0);
    assert_true(tst_entity_coverage_cardinality(ec) == (1ULL << 33) + 11);
    tst_entity_coverage_free(ec);
}

static void union_is_identity_scoped(void **state)
{
    (void)state;
    tst_entity_coverage *a, *b;
    assert_tst_ok(tst_entity_coverage_new(&a));
    assert_tst_ok(tst_entity_coverage_new(&b));
    add_symbol(a, "A", 0, 1);
    add_symbol(b, "A", 1, 2);
    add_symbol(b, "C", 9, 9);
    add_symbol(a, "B", 5, 5);
    assert_tst_ok(tst_entity_coverage_union_inplace(a, b));
    assert_tst_ok(tst_entity_coverage_union_inplace(a, a));
    assert_int_equal(tst_entity_coverage_count(a), 3);
    tst_entity_value va = utf8("A"), vb = utf8("B"), vc = utf8("C");
    tst_entity_identity ia = ident(1, &va), ib = ident(1, &vb), ic = ident(1, &vc);
    assert_int_equal(tst_coverage_cardinality(tst_entity_coverage_get(a, &ia)), 3);
    assert_int_equal(tst_coverage_cardinality(tst_entity_coverage_get(a, &ib)), 1);
    assert_true(tst_coverage_contains(tst_entity_coverage_get(a, &ic), 9));
    assert_false(tst_coverage_contains(tst_entity_coverage_get(a, &ic), 5));
    assert_int_equal(tst_entity_coverage_count(b), 2); /* src untouched */
    tst_entity_coverage_free(a);
    tst_entity_coverage_free(b);
}

static void overlap_is_identity_scoped(void **state)
{
    (void)state;
    tst_entity_coverage *a, *b;
    assert_tst_ok(tst_entity_coverage_new(&a));
    assert_tst_ok(tst_entity_coverage_new(&b));
    add_symbol(a, "A", 0, 10);
    add_symbol(b, "B", 0, 10); /* same buckets, different entity */
    uint64_t count = 77, bucket = 88;
    tst_entity_identity id = {0, NULL};
    assert_false(tst_entity_coverage_overlap(a, b, &count, &id, &bucket));
    assert_int_equal(count, 77);
    assert_int_equal(bucket, 88);
    assert_null(id.values);
    tst_entity_coverage_free(a);
    tst_entity_coverage_free(b);
}

static void overlap_example_is_first_canonical_identity_and_min_bucket(void **state)
{
    (void)state;
    tst_entity_coverage *a, *b;
    assert_tst_ok(tst_entity_coverage_new(&a));
    assert_tst_ok(tst_entity_coverage_new(&b));
    /* Inserted out of order; "AMD" sorts before "NVDA". */
    add_symbol(a, "NVDA", SIGN_BIT, SIGN_BIT + 100);
    add_symbol(b, "NVDA", SIGN_BIT + 50, SIGN_BIT + 200);
    add_symbol(a, "AMD", 1000, 2000);
    add_symbol(a, "AMD", (1ULL << 40) + 3, (1ULL << 40) + 9);
    add_symbol(b, "AMD", (1ULL << 40) + 5, (1ULL << 40) + 20);
    add_symbol(b, "AMD", 2000, 2001);
    add_symbol(a, "AAPL", 0, 10); /* absent from b */
    uint64_t count = 0, bucket = 0;
    tst_entity_identity id;
    assert_true(tst_entity_coverage_overlap(a, b, &count, &id, &bucket));
    assert_int_equal(count, 51 + 1 + 5);
    char name[16];
    tst_entity_identity_format(&id, name, sizeof name);
    assert_string_equal(name, "AMD");
    assert_int_equal(bucket, 2000);
    /* The example borrows from a, not b. */
    tst_entity_identity in_a;
    assert_tst_ok(tst_entity_coverage_at(a, 1, &in_a, NULL));
    assert_ptr_equal(id.values, in_a.values);
    /* Asking again gives the same answer; NULL outputs are allowed. */
    assert_true(tst_entity_coverage_overlap(a, b, NULL, NULL, NULL));
    tst_entity_coverage_free(a);
    tst_entity_coverage_free(b);
}

static void clone_is_deep(void **state)
{
    (void)state;
    tst_entity_coverage *ec, *copy;
    assert_tst_ok(tst_entity_coverage_new(&ec));
    add_symbol(ec, "A", 1, 3);
    add_symbol(ec, "B", 7, 7);
    assert_tst_ok(tst_entity_coverage_clone(&copy, ec));
    assert_equal_entity_coverage(ec, copy);
    add_symbol(ec, "A", 100, 100);
    add_symbol(ec, "C", 1, 1);
    assert_int_equal(tst_entity_coverage_count(copy), 2);
    assert_int_equal(tst_entity_coverage_cardinality(copy), 4);
    tst_entity_coverage_free(ec);
    assert_int_equal(tst_entity_coverage_cardinality(copy), 4);
    tst_entity_coverage_free(copy);
    tst_entity_coverage_free(NULL);
}

/* ------------------------------------------------------------------------ */
/* Codec: golden vectors                                                     */

static void assert_encodes_to(const tst_entity_coverage *ec, const char *golden)
{
    uint8_t *want, *got;
    size_t want_len = hex(golden, &want), got_len;
    assert_tst_ok(tst_entity_coverage_serialize(ec, &got, &got_len));
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
    free(got);
    free(want);
}

static tst_entity_coverage *decode_hex(const char *text)
{
    uint8_t *bytes;
    size_t len = hex(text, &bytes);
    tst_entity_coverage *ec = NULL;
    assert_tst_ok(tst_entity_coverage_deserialize(&ec, bytes, len));
    free(bytes);
    return ec;
}

static void golden_tokyo_identity_encodes_byte_exact(void **state)
{
    (void)state;
    tst_entity_coverage *ec;
    assert_tst_ok(tst_entity_coverage_new(&ec));
    tst_entity_value values[] = {utf8("東京"), i32(-1), i64(INT64_MIN), u64(UINT64_MAX)};
    tst_entity_identity id = ident(4, values);
    assert_tst_ok(tst_coverage_add(cov_of(ec, &id), 0));
    assert_encodes_to(ec, GOLDEN_TOKYO);
    tst_entity_coverage_free(ec);
}

static void golden_tokyo_identity_decodes(void **state)
{
    (void)state;
    tst_entity_coverage *ec = decode_hex(GOLDEN_TOKYO);
    assert_int_equal(tst_entity_coverage_count(ec), 1);
    tst_entity_identity id;
    const tst_coverage *cov;
    assert_tst_ok(tst_entity_coverage_at(ec, 0, &id, &cov));
    assert_int_equal(id.count, 4);
    assert_int_equal(id.values[0].type, TST_ENTITY_UTF8);
    assert_int_equal(id.values[0].v.utf8.len, 6);
    assert_memory_equal(id.values[0].v.utf8.ptr, "東京", 6);
    assert_int_equal(id.values[1].type, TST_ENTITY_INT32);
    assert_int_equal(id.values[1].v.i32, -1);
    assert_int_equal(id.values[2].type, TST_ENTITY_INT64);
    assert_true(id.values[2].v.i64 == INT64_MIN);
    assert_int_equal(id.values[3].type, TST_ENTITY_UINT64);
    assert_true(id.values[3].v.u64 == UINT64_MAX);
    assert_int_equal(tst_coverage_cardinality(cov), 1);
    assert_true(tst_coverage_contains(cov, 0));
    tst_entity_coverage_free(ec);
}

static void golden_nvda_sidecar_round_trips_byte_exact(void **state)
{
    (void)state;
    tst_entity_coverage *ec = decode_hex(GOLDEN_NVDA);
    tst_entity_value v = utf8("NVDA");
    tst_entity_identity id = ident(1, &v);
    const tst_coverage *cov = tst_entity_coverage_get(ec, &id);
    assert_non_null(cov);
    assert_int_equal(tst_coverage_cardinality(cov), 240);
    assert_int_equal(tst_coverage_count_range(cov, SIGN_BIT + 477000, SIGN_BIT + 477239), 240);
    assert_encodes_to(ec, GOLDEN_NVDA);
    tst_entity_coverage_free(ec);

    /* Built from scratch (as an append would) it encodes the same way. */
    assert_tst_ok(tst_entity_coverage_new(&ec));
    for (uint64_t h = 477000; h <= 477239; h++)
        assert_tst_ok(tst_coverage_add(cov_of(ec, &id), SIGN_BIT + h));
    assert_encodes_to(ec, GOLDEN_NVDA);
    tst_entity_coverage_free(ec);
}

static void empty_entity_coverage_is_magic_and_zero_count(void **state)
{
    (void)state;
    tst_entity_coverage *ec;
    assert_tst_ok(tst_entity_coverage_new(&ec));
    assert_encodes_to(ec, MAGIC "00000000");
    tst_entity_coverage_free(ec);
    ec = decode_hex(MAGIC "00000000");
    assert_int_equal(tst_entity_coverage_count(ec), 0);
    tst_entity_coverage_free(ec);
}

static void identities_serialize_in_canonical_order(void **state)
{
    (void)state;
    tst_entity_coverage *ec;
    assert_tst_ok(tst_entity_coverage_new(&ec));
    tst_entity_value v[] = {u64(0), i32(-5), utf8("b")};
    for (size_t i = 0; i < 3; i++) {
        tst_entity_identity id = ident(1, &v[i]);
        cov_of(ec, &id);
    }
    assert_encodes_to(ec, MAGIC "00000003"
                              " 00000001 01 0000000000000001 62 0000000000000008 " ROARING_EMPTY
                              " 00000001 02 fffffffb 0000000000000008 " ROARING_EMPTY
                              " 00000001 04 0000000000000000 0000000000000008 " ROARING_EMPTY);
    tst_entity_coverage_free(ec);
}

/* ------------------------------------------------------------------------ */
/* Codec: malformed input                                                    */

static void every_truncated_prefix_is_rejected(void **state)
{
    (void)state;
    const char *goldens[] = {GOLDEN_TOKYO, GOLDEN_NVDA, MAGIC "00000000"};
    for (size_t g = 0; g < 3; g++) {
        uint8_t *bytes;
        size_t len = hex(goldens[g], &bytes);
        for (size_t cut = 0; cut < len; cut++) {
            /* A fresh copy of exactly `cut` bytes, so ASan sees any over-read. */
            uint8_t *prefix = malloc(cut ? cut : 1);
            memcpy(prefix, bytes, cut);
            assert_decode_fails(prefix, cut, NULL);
            free(prefix);
        }
        free(bytes);
    }
}

static void trailing_bytes_are_rejected(void **state)
{
    (void)state;
    assert_hex_fails(GOLDEN_NVDA " 00", "trailing");
    assert_hex_fails(MAGIC "00000000 ff", "trailing");
}

static void invalid_magic_is_rejected(void **state)
{
    (void)state;
    assert_hex_fails("5453544543 4f5631 00000000", "invalid magic"); /* TSTECOV1 */
    assert_hex_fails("0000000000000000", "invalid magic");           /* a global codec payload */
    assert_hex_fails("5453544543", "truncated");
}

static void unknown_value_tag_is_rejected(void **state)
{
    (void)state;
    assert_hex_fails(MAGIC "00000001 00000001 05 0000000000000000 0000000000000008 " ROARING_EMPTY,
                     "unknown value tag 5");
    assert_hex_fails(MAGIC "00000001 00000001 00 00000000 0000000000000008 " ROARING_EMPTY,
                     "unknown value tag 0");
}

static void identity_with_zero_components_is_rejected(void **state)
{
    (void)state;
    assert_hex_fails(MAGIC "00000001 00000000 0000000000000008 " ROARING_EMPTY "00000000",
                     "0 components");
}

#define NVDA_ENTITY "00000001 01 0000000000000004 4e564441 0000000000000008 " ROARING_EMPTY
#define AMD_ENTITY "00000001 01 0000000000000003 414d44 0000000000000008 " ROARING_EMPTY

static void duplicate_identity_is_rejected(void **state)
{
    (void)state;
    assert_hex_fails(MAGIC "00000002 " NVDA_ENTITY NVDA_ENTITY, "duplicate identity \"NVDA\"");
}

static void identities_out_of_canonical_order_are_rejected(void **state)
{
    (void)state;
    tst_entity_coverage *ec = decode_hex(MAGIC "00000002 " AMD_ENTITY NVDA_ENTITY);
    assert_int_equal(tst_entity_coverage_count(ec), 2);
    tst_entity_coverage_free(ec);
    assert_hex_fails(MAGIC "00000002 " NVDA_ENTITY AMD_ENTITY, "canonical order");
    /* Type rank decides before value: int32 0 must not precede utf8 "NVDA". */
    assert_hex_fails(MAGIC "00000002 00000001 02 00000000 0000000000000008 " ROARING_EMPTY
                           NVDA_ENTITY,
                     "canonical order");
}

static void assert_string_rejected(const char *string_hex, size_t len)
{
    char text[512];
    snprintf(text, sizeof text,
             MAGIC "00000001 00000001 01 %016zx %s 0000000000000008 " ROARING_EMPTY, len,
             string_hex);
    assert_hex_fails(text, "invalid UTF-8");
}

static void invalid_utf8_is_rejected(void **state)
{
    (void)state;
    assert_string_rejected("c080", 2);       /* overlong NUL */
    assert_string_rejected("e08080", 3);     /* overlong 3-byte */
    assert_string_rejected("f0808080", 4);   /* overlong 4-byte */
    assert_string_rejected("eda080", 3);     /* surrogate U+D800 */
    assert_string_rejected("edbfbf", 3);     /* surrogate U+DFFF */
    assert_string_rejected("f4908080", 4);   /* U+110000 */
    assert_string_rejected("f5808080", 4);   /* lead byte past U+10FFFF */
    assert_string_rejected("80", 1);         /* lone continuation */
    assert_string_rejected("41e6", 2);       /* sequence cut short */
    assert_string_rejected("e641", 2);       /* continuation missing */
    assert_string_rejected("ff", 1);
}

static void valid_utf8_edge_cases_are_accepted(void **state)
{
    (void)state;
    /* U+0000, U+07FF, U+FFFF, U+10000 and U+10FFFF, each its own identity. */
    const char *ok[] = {"00", "dfbf", "efbfbf", "f0908080", "f48fbfbf"};
    for (size_t i = 0; i < 5; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 MAGIC "00000001 00000001 01 %016zx %s 0000000000000008 " ROARING_EMPTY,
                 strlen(ok[i]) / 2, ok[i]);
        tst_entity_coverage_free(decode_hex(text));
    }
}

static void huge_declared_lengths_are_rejected_without_allocating(void **state)
{
    (void)state;
    assert_hex_fails(MAGIC "ffffffff", "invalid length");
    assert_hex_fails(MAGIC "00000001 ffffffff 02 00000000 0000000000000008 " ROARING_EMPTY,
                     "invalid length");
    assert_hex_fails(MAGIC "00000001 00000001 01 ffffffffffffffff 41 0000000000000008 "
                           ROARING_EMPTY,
                     "invalid length");
    assert_hex_fails(MAGIC "00000001 00000001 02 00000000 ffffffffffffffff " ROARING_EMPTY,
                     "invalid length");
    /* component_count just past what the bytes left could hold: (21 - 8) / 5 = 2. */
    assert_hex_fails(MAGIC "00000001 00000003 02 00000000 0000000000000008 " ROARING_EMPTY,
                     "invalid length");
}

static void malformed_nested_coverage_is_rejected(void **state)
{
    (void)state;
    /* nested_len 8 holding a global payload that claims one bitmap. */
    assert_hex_fails(MAGIC "00000001 " "00000001 01 0000000000000004 4e564441"
                           " 0000000000000008 0100000000000000",
                     "NVDA");
    /* nested_len shorter than the nested payload: the rest is not an entity. */
    assert_hex_fails(MAGIC "00000001 00000001 02 00000000 0000000000000004 " ROARING_EMPTY,
                     NULL);
}

/* ------------------------------------------------------------------------ */
/* Codec: random round trips                                                 */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static const char *const SYMBOLS[] = {"", "A", "AB", "NVDA", "東京", "\xf0\x9f\x93\x88", "a,b"};

static tst_entity_value random_value(void)
{
    switch (rng() % 4) {
    case 0:
        return utf8(SYMBOLS[rng() % 7]);
    case 1:
        return i32((int32_t)(uint32_t)(rng() % 5 == 0 ? 0x80000000u : rng()));
    case 2:
        return i64(rng() % 5 == 0 ? INT64_MIN : (int64_t)(rng() >> 1) - (int64_t)(rng() >> 1));
    default:
        return u64(rng() % 5 == 0 ? UINT64_MAX : rng() % 1000);
    }
}

static void add_random_buckets(tst_coverage *cov)
{
    int shape = (int)(rng() % 4);
    if (shape == 0)
        return; /* an empty identity */
    for (int k = 0; k < 1 + (int)(rng() % 20); k++) {
        uint64_t base = shape == 1 ? rng() : SIGN_BIT + rng() % 100000;
        uint64_t span = shape == 3 ? rng() % 70000 : rng() % 3;
        uint64_t last = base > UINT64_MAX - span ? UINT64_MAX : base + span;
        assert_tst_ok(tst_coverage_add_range(cov, base, last));
    }
}

static tst_entity_coverage *random_entity_coverage(void)
{
    tst_entity_coverage *ec;
    assert_tst_ok(tst_entity_coverage_new(&ec));
    size_t identities = rng() % 12;
    for (size_t i = 0; i < identities; i++) {
        tst_entity_value values[3];
        size_t arity = 1 + rng() % 3;
        for (size_t k = 0; k < arity; k++)
            values[k] = random_value();
        tst_entity_identity id = ident(arity, values);
        add_random_buckets(cov_of(ec, &id));
    }
    return ec;
}

static void random_entity_coverages_round_trip(void **state)
{
    (void)state;
    for (int round = 0; round < 200; round++) {
        tst_entity_coverage *ec = random_entity_coverage(), *back;
        uint8_t *bytes, *again;
        size_t len, again_len;
        assert_tst_ok(tst_entity_coverage_serialize(ec, &bytes, &len));
        assert_tst_ok(tst_entity_coverage_deserialize(&back, bytes, len));
        assert_equal_entity_coverage(ec, back);
        assert_int_equal(tst_entity_coverage_cardinality(ec), tst_entity_coverage_cardinality(back));
        assert_tst_ok(tst_entity_coverage_serialize(back, &again, &again_len));
        assert_int_equal(again_len, len);
        assert_memory_equal(again, bytes, len);
        free(again);
        free(bytes);
        tst_entity_coverage_free(back);
        tst_entity_coverage_free(ec);
    }
}

/* The one-identity decoder gives, for every identity of random payloads and
 * for one they lack, exactly what the full decoder gives for it; and it
 * refuses what the full decoder refuses in the identities it steps over
 * (order, lengths), on every truncated prefix too. */
static void decoding_one_identity_agrees_with_decoding_all(void **state)
{
    (void)state;
    for (int round = 0; round < 100; round++) {
        tst_entity_coverage *ec = random_entity_coverage(), *all, *one;
        uint8_t *bytes;
        size_t len;
        assert_tst_ok(tst_entity_coverage_serialize(ec, &bytes, &len));
        assert_tst_ok(tst_entity_coverage_deserialize(&all, bytes, len));
        for (size_t i = 0; i < tst_entity_coverage_count(all); i++) {
            tst_entity_identity id;
            const tst_coverage *want = NULL;
            assert_tst_ok(tst_entity_coverage_at(all, i, &id, &want));
            assert_tst_ok(tst_entity_coverage_deserialize_one(&one, bytes, len, &id));
            assert_int_equal(tst_entity_coverage_count(one), 1);
            const tst_coverage *got = tst_entity_coverage_get(one, &id);
            assert_non_null(got);
            assert_true(tst_coverage_equals(got, want));
            tst_entity_coverage_free(one);
        }
        tst_entity_value v = utf8("never-there-\x01");
        tst_entity_identity stranger = ident(1, &v);
        assert_tst_ok(tst_entity_coverage_deserialize_one(&one, bytes, len, &stranger));
        assert_int_equal(tst_entity_coverage_count(one), 0);
        tst_entity_coverage_free(one);
        for (size_t cut = 0; cut < len; cut++) {
            tst_entity_coverage *none = NULL;
            assert_tst_fails(tst_entity_coverage_deserialize(&none, bytes, cut), TST_ECORRUPT);
            assert_tst_fails(tst_entity_coverage_deserialize_one(&one, bytes, cut, &stranger),
                             TST_ECORRUPT);
        }
        free(bytes);
        tst_entity_coverage_free(all);
        tst_entity_coverage_free(ec);
    }
}

/* union_all (one roaring_bitmap_or_many per partition) equals unions one
 * entity at a time, on random payloads spanning several partitions. */
static void the_union_of_all_identities_equals_unions_one_at_a_time(void **state)
{
    (void)state;
    for (int round = 0; round < 100; round++) {
        tst_entity_coverage *ec = random_entity_coverage();
        tst_coverage *all = NULL, *slow = NULL;
        assert_tst_ok(tst_entity_coverage_union_all(&all, ec));
        assert_tst_ok(tst_coverage_new(&slow));
        for (size_t i = 0; i < tst_entity_coverage_count(ec); i++) {
            tst_entity_identity id;
            const tst_coverage *cov = NULL;
            assert_tst_ok(tst_entity_coverage_at(ec, i, &id, &cov));
            assert_tst_ok(tst_coverage_union_inplace(slow, cov));
        }
        assert_true(tst_coverage_equals(all, slow));
        assert_int_equal(tst_coverage_cardinality(all), tst_coverage_cardinality(slow));
        tst_coverage_free(all);
        tst_coverage_free(slow);
        tst_entity_coverage_free(ec);
    }
}

/* A random history of appends: each adds random identities and more
 * buckets to some the table has (as a daily append does). At every step
 * the union's bytes, encoded without building it, are the built union's. */
static void an_append_history_encodes_as_the_built_union(void **state)
{
    (void)state;
    for (int history = 0; history < 20; history++) {
        tst_entity_coverage *table = random_entity_coverage();
        for (int step = 0; step < 10; step++) {
            tst_entity_coverage *add = random_entity_coverage();
            for (size_t i = 0; i < tst_entity_coverage_count(table); i++) {
                tst_entity_identity id;
                const tst_coverage *cov = NULL;
                assert_tst_ok(tst_entity_coverage_at(table, i, &id, &cov));
                if (rng() % 2)
                    add_random_buckets(cov_of(add, &id));
            }
            tst_entity_coverage *built;
            uint8_t *want, *got, *got_swapped;
            size_t want_len, got_len, swapped_len;
            assert_tst_ok(tst_entity_coverage_clone(&built, table));
            assert_tst_ok(tst_entity_coverage_union_inplace(built, add));
            assert_tst_ok(tst_entity_coverage_serialize(built, &want, &want_len));
            assert_tst_ok(tst_entity_coverage_serialize_union(table, add, &got, &got_len));
            assert_tst_ok(tst_entity_coverage_serialize_union(add, table, &got_swapped,
                                                              &swapped_len));
            assert_int_equal(got_len, want_len);
            assert_memory_equal(got, want, want_len);
            assert_int_equal(swapped_len, want_len);
            assert_memory_equal(got_swapped, want, want_len);
            free(want);
            free(got);
            free(got_swapped);
            tst_entity_coverage_free(add);
            tst_entity_coverage_free(table);
            table = built;
        }
        tst_entity_coverage_free(table);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_append_history_encodes_as_the_built_union),
        cmocka_unit_test(identity_types_order_before_values),
        cmocka_unit_test(decoding_one_identity_agrees_with_decoding_all),
        cmocka_unit_test(the_union_of_all_identities_equals_unions_one_at_a_time),
        cmocka_unit_test(identity_values_compare_signed_unsigned_and_bytewise),
        cmocka_unit_test(shorter_prefix_identity_sorts_first),
        cmocka_unit_test(identity_format_joins_values_with_commas),
        cmocka_unit_test(identity_format_truncates_like_snprintf),
        cmocka_unit_test(identities_iterate_in_canonical_order_across_types),
        cmocka_unit_test(get_or_add_copies_the_identity),
        cmocka_unit_test(get_or_add_rejects_identities_the_codec_cannot_store),
        cmocka_unit_test(empty_identities_are_preserved_and_counted),
        cmocka_unit_test(same_bucket_counts_once_per_identity),
        cmocka_unit_test(cardinality_sums_pairs_across_partitions),
        cmocka_unit_test(union_is_identity_scoped),
        cmocka_unit_test(overlap_is_identity_scoped),
        cmocka_unit_test(overlap_example_is_first_canonical_identity_and_min_bucket),
        cmocka_unit_test(clone_is_deep),
        cmocka_unit_test(golden_tokyo_identity_encodes_byte_exact),
        cmocka_unit_test(golden_tokyo_identity_decodes),
        cmocka_unit_test(golden_nvda_sidecar_round_trips_byte_exact),
        cmocka_unit_test(empty_entity_coverage_is_magic_and_zero_count),
        cmocka_unit_test(identities_serialize_in_canonical_order),
        cmocka_unit_test(every_truncated_prefix_is_rejected),
        cmocka_unit_test(trailing_bytes_are_rejected),
        cmocka_unit_test(invalid_magic_is_rejected),
        cmocka_unit_test(unknown_value_tag_is_rejected),
        cmocka_unit_test(identity_with_zero_components_is_rejected),
        cmocka_unit_test(duplicate_identity_is_rejected),
        cmocka_unit_test(identities_out_of_canonical_order_are_rejected),
        cmocka_unit_test(invalid_utf8_is_rejected),
        cmocka_unit_test(valid_utf8_edge_cases_are_accepted),
        cmocka_unit_test(huge_declared_lengths_are_rejected_without_allocating),
        cmocka_unit_test(malformed_nested_coverage_is_rejected),
        cmocka_unit_test(random_entity_coverages_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
