/*
 * fuzz_coverage_entity.c — the TSTECOV2 decoder on untrusted bytes.
 *
 * Any input must either be rejected with an error or decode into a value
 * whose encoding is stable: encode, decode that, encode again, and the two
 * encodings must be equal byte for byte. Comparing two outputs of our own
 * encoder (rather than the input) is deliberate: the decoder accepts nested
 * bitmaps in any valid container form, while the encoder always writes the
 * canonical one. Bytes that decode must also read the same through the
 * partial readers: each identity alone (tst_entity_coverage_deserialize_one)
 * and the walk without decoding (tst_entity_coverage_each_serialized, with
 * each nested set's tally). Sanitizers catch out-of-bounds reads and leaks;
 * abort() flags a round trip that does not hold.
 */
#include "coverage_internal.h"
#include "tstable/coverage.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void encode_or_abort(const tst_entity_coverage *ec, uint8_t **bytes, size_t *len)
{
    if (tst_entity_coverage_serialize(ec, bytes, len) != 0)
        abort();
}

/* Each identity of the walk, with its tally, against the decoded value. */
static int walked(void *ctx, uint32_t index, uint32_t count, const tst_entity_identity *id,
                  const uint8_t *bytes, size_t len)
{
    const tst_entity_coverage *ec = ctx;
    tst_entity_identity want;
    const tst_coverage *cov = NULL;
    tst_coverage_tally t;
    uint64_t min = 0, max = 0;
    if (count != tst_entity_coverage_count(ec) || tst_entity_coverage_at(ec, index, &want, &cov) ||
        tst_entity_identity_compare(&want, id) != 0 ||
        tst_coverage_tally_serialized(bytes, len, &t) != 0)
        abort();
    bool any = tst_coverage_min(cov, &min) && tst_coverage_max(cov, &max);
    if (t.any != any || t.cardinality != tst_coverage_cardinality(cov) ||
        t.runs != tst_coverage_run_count(cov) || (any && (t.min != min || t.max != max)))
        abort();
    return 0;
}

static void check_partial_reads(const tst_entity_coverage *ec, const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < tst_entity_coverage_count(ec); i++) {
        tst_entity_identity id;
        const tst_coverage *cov = NULL;
        tst_entity_coverage *one = NULL;
        if (tst_entity_coverage_at(ec, i, &id, &cov) != 0 ||
            tst_entity_coverage_deserialize_one(&one, data, size, &id) != 0 ||
            tst_entity_coverage_count(one) != 1 ||
            !tst_coverage_equals(tst_entity_coverage_get(one, &id), cov))
            abort();
        tst_entity_coverage_free(one);
    }
    if (tst_entity_coverage_each_serialized(data, size, walked, (void *)ec) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tst_entity_coverage *first = NULL, *second = NULL;
    if (tst_entity_coverage_deserialize(&first, data, size) != 0)
        return 0;
    check_partial_reads(first, data, size);
    uint8_t *once, *twice;
    size_t once_len, twice_len;
    encode_or_abort(first, &once, &once_len);
    if (tst_entity_coverage_deserialize(&second, once, once_len) != 0)
        abort(); /* our own output must decode */
    encode_or_abort(second, &twice, &twice_len);
    if (once_len != twice_len || memcmp(once, twice, once_len) != 0)
        abort();
    if (tst_entity_coverage_count(first) != tst_entity_coverage_count(second) ||
        tst_entity_coverage_cardinality(first) != tst_entity_coverage_cardinality(second))
        abort();
    free(once);
    free(twice);
    tst_entity_coverage_free(first);
    tst_entity_coverage_free(second);
    return 0;
}
