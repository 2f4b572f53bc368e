/*
 * fuzz_parquet_footer.c — the Parquet footer walker on arbitrary bytes.
 *
 * Besides never crashing or reading out of bounds, a refusal must leave
 * the bytes as they were, an accepted footer may differ only in type
 * nibbles turned from false (2) to true (1) and in a rewritten one-byte
 * ConvertedType, and marking it again must change nothing. Adding string
 * logical types must give a footer that grows by 4 or 5 bytes a column,
 * parses again, and has nothing more to add.
 */
#include "parquet_footer.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const cols[] = {"ts", "ms"};
    uint8_t *footer = malloc(size ? size : 1);
    if (!footer)
        return 0;
    memcpy(footer, data, size);
    bool changed = false;
    int rc = tst_parquet_footer_mark_utc_bytes(footer, size, cols, 2, "fuzz", &changed);
    if (rc != 0 && memcmp(footer, data, size) != 0)
        abort(); /* a refusal changes nothing */
    size_t differ = 0;
    for (size_t i = 0; i < size; i++)
        differ += footer[i] != data[i];
    if (rc == 0 && (changed != (differ > 0) || differ > 4))
        abort(); /* two columns: a nibble and a ConvertedType each, at most */
    if (rc == 0) {
        if (tst_parquet_footer_mark_utc_bytes(footer, size, cols, 2, "fuzz", &changed) != 0 ||
            changed)
            abort(); /* marked is marked */
    }
    uint8_t *grown = NULL, *again = NULL;
    size_t grown_len = 0, again_len = 0;
    if (tst_parquet_footer_logical_types_bytes(data, size, "fuzz", &grown, &grown_len) == 0 &&
        grown) {
        if (grown_len <= size || (grown_len - size) % 4 > (grown_len - size) / 4)
            abort(); /* 4 or 5 bytes for each column given a type */
        if (tst_parquet_footer_logical_types_bytes(grown, grown_len, "fuzz", &again,
                                                  &again_len) != 0 ||
            again)
            abort(); /* the grown footer parses and has them all */
    } else if (grown) {
        abort(); /* a refusal returns nothing */
    }
    free(grown);
    free(footer);
    return 0;
}
