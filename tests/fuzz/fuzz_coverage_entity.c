/*
 * fuzz_coverage_entity.c — the TSTECOV2 decoder on untrusted bytes.
 *
 * Any input must either be rejected with an error or decode into a value
 * whose encoding is stable: encode, decode that, encode again, and the two
 * encodings must be equal byte for byte. Comparing two outputs of our own
 * encoder (rather than the input) is deliberate: the decoder accepts nested
 * bitmaps in any valid container form, while the encoder always writes the
 * canonical one. Sanitizers catch out-of-bounds reads and leaks; abort()
 * flags a round trip that does not hold.
 */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tst_entity_coverage *first = NULL, *second = NULL;
    if (tst_entity_coverage_deserialize(&first, data, size) != 0)
        return 0;
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
