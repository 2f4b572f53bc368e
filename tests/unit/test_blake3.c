/*
 * test_blake3.c — tstable's BLAKE3 against the official test vectors.
 *
 * The vectors come from test_vectors/test_vectors.json in the BLAKE3
 * repository (BLAKE3-team/BLAKE3): the input of length n is the bytes
 * i % 251, and each "hash" field is extended output whose first 32 bytes are
 * the default digest. The lengths straddle every boundary the tree has: one
 * block, one chunk (1024), two chunks, odd numbers of chunks (a right edge
 * that is not a power of two) and a deep tree (102400 = 100 chunks).
 *
 * The incremental hasher must give the same digest however the input is cut,
 * since content ids feed their preimage in pieces.
 */
#include "testsupport.h"

#include "content_id.h"

#include <stdlib.h>
#include <string.h>

typedef struct vector {
    size_t len;
    const char *hash; /* first 32 bytes of the "hash" field */
} vector;

static const vector VECTORS[] = {
    {0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
    {1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
    {1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"},
    {1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"},
    {1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"},
    {2048, "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a"},
    {2049, "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030"},
    {3072, "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2"},
    {3073, "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3"},
    {4096, "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969"},
    {4097, "9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995"},
    {5120, "9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833"},
    {5121, "628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff"},
    {6144, "3e2e5b74e048f3add6d21faab3f83aa44d3b2278afb83b80b3c35164ebeca205"},
    {6145, "f1323a8631446cc50536a9f705ee5cb619424d46887f3c376c695b70e0f0507f"},
    {7168, "61da957ec2499a95d6b8023e2b0e604ec7f6b50e80a9678b89d2628e99ada77a"},
    {7169, "a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e7817"},
    {8192, "aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63"},
    {8193, "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b"},
    {16384, "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4"},
    {31744, "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47"},
    {102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"},
};
#define VECTOR_COUNT (sizeof VECTORS / sizeof VECTORS[0])
#define MAX_VECTOR_LEN 102400

/* The vectors' input: 0, 1, ..., 250, 0, 1, ... */
static uint8_t *vector_input(size_t len)
{
    uint8_t *bytes = malloc(len ? len : 1);
    assert_non_null(bytes);
    for (size_t i = 0; i < len; i++)
        bytes[i] = (uint8_t)(i % 251);
    return bytes;
}

static void to_hex(const uint8_t digest[32], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 0x0F];
    }
    out[64] = '\0';
}

static void assert_digest(const uint8_t digest[32], const char *expected_hex, size_t len)
{
    char got[65];
    to_hex(digest, got);
    if (strcmp(got, expected_hex) != 0)
        fail_msg("input length %zu: got %s, wanted %s", len, got, expected_hex);
}

static void the_empty_input_hashes_to_the_published_digest(void **state)
{
    (void)state;
    uint8_t digest[32];
    tst_blake3("", 0, digest);
    assert_digest(digest, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262", 0);
    tst_blake3(NULL, 0, digest);
    assert_digest(digest, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262", 0);
}

static void abc_hashes_to_the_published_digest(void **state)
{
    (void)state;
    uint8_t digest[32];
    tst_blake3("abc", 3, digest);
    assert_digest(digest, "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85", 3);
}

static void every_official_vector_matches_in_one_call(void **state)
{
    (void)state;
    uint8_t *input = vector_input(MAX_VECTOR_LEN);
    for (size_t v = 0; v < VECTOR_COUNT; v++) {
        uint8_t digest[32];
        tst_blake3(input, VECTORS[v].len, digest);
        assert_digest(digest, VECTORS[v].hash, VECTORS[v].len);
    }
    free(input);
}

/* Feeds input in pieces of `step` bytes (the last one shorter). */
static void hash_in_steps(const uint8_t *input, size_t len, size_t step, uint8_t digest[32])
{
    tst_blake3_hasher h;
    tst_blake3_init(&h);
    for (size_t at = 0; at < len; at += step)
        tst_blake3_update(&h, input + at, len - at < step ? len - at : step);
    tst_blake3_final(&h, digest);
}

static void every_official_vector_matches_however_the_input_is_split(void **state)
{
    (void)state;
    /* Steps that land on, before and after block and chunk boundaries, and
     * steps of several chunks (the wide path hashes 4 chunks at a time). */
    static const size_t steps[] = {1, 7, 63, 64, 65, 1023, 1024, 1025, 4096, 5000, 8192, 9000, 20000};
    uint8_t *input = vector_input(MAX_VECTOR_LEN);
    for (size_t v = 0; v < VECTOR_COUNT; v++) {
        for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
            uint8_t digest[32];
            hash_in_steps(input, VECTORS[v].len, steps[s], digest);
            assert_digest(digest, VECTORS[v].hash, VECTORS[v].len);
        }
    }
    free(input);
}

static void empty_updates_change_nothing(void **state)
{
    (void)state;
    uint8_t *input = vector_input(2049);
    tst_blake3_hasher h;
    tst_blake3_init(&h);
    tst_blake3_update(&h, NULL, 0);
    tst_blake3_update(&h, input, 1024);
    tst_blake3_update(&h, input + 1024, 0);
    tst_blake3_update(&h, input + 1024, 1025);
    tst_blake3_update(&h, NULL, 0);
    uint8_t digest[32];
    tst_blake3_final(&h, digest);
    assert_digest(digest, VECTORS[6].hash, 2049);
    free(input);
}

static void final_can_be_called_again_and_hashing_can_continue(void **state)
{
    (void)state;
    uint8_t *input = vector_input(3073);
    tst_blake3_hasher h;
    tst_blake3_init(&h);
    tst_blake3_update(&h, input, 3072);
    uint8_t first[32], again[32], longer[32];
    tst_blake3_final(&h, first);
    tst_blake3_final(&h, again);
    assert_digest(first, VECTORS[7].hash, 3072);
    assert_memory_equal(first, again, 32);
    /* final leaves the state as it was, so the 3073-byte digest follows. */
    tst_blake3_update(&h, input + 3072, 1);
    tst_blake3_final(&h, longer);
    assert_digest(longer, VECTORS[8].hash, 3073);
    free(input);
}

static void one_changed_bit_anywhere_changes_the_digest(void **state)
{
    (void)state;
    uint8_t *input = vector_input(5121);
    uint8_t base[32];
    tst_blake3(input, 5121, base);
    /* First byte, a block edge, a chunk edge, the lone byte of the last chunk. */
    static const size_t at[] = {0, 63, 64, 1023, 1024, 4095, 5120};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        uint8_t digest[32];
        input[at[i]] ^= 0x01;
        tst_blake3(input, 5121, digest);
        input[at[i]] ^= 0x01;
        assert_memory_not_equal(base, digest, 32);
    }
    free(input);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_empty_input_hashes_to_the_published_digest),
        cmocka_unit_test(abc_hashes_to_the_published_digest),
        cmocka_unit_test(every_official_vector_matches_in_one_call),
        cmocka_unit_test(every_official_vector_matches_however_the_input_is_split),
        cmocka_unit_test(empty_updates_change_nothing),
        cmocka_unit_test(final_can_be_called_again_and_hashing_can_continue),
        cmocka_unit_test(one_changed_bit_anywhere_changes_the_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
