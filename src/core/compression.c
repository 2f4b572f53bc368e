/*
 * compression.c — the Parquet codecs a re-encoded segment may use, by name.
 *
 * The names are the ones Parquet writers (and the reference's append
 * options) use; the table's format does not record the codec, each
 * segment's footer does.
 */
#include "fail.h"
#include "tstable/append.h"

#include <string.h>

static const char *const names[] = {"zstd", "uncompressed", "snappy", "zstd"};

int tst_compression_parse(const char *name, tst_compression *out)
{
    for (int c = TST_COMPRESSION_UNCOMPRESSED; name && c <= TST_COMPRESSION_ZSTD; c++)
        if (strcmp(name, names[c]) == 0) {
            *out = (tst_compression)c;
            return 0;
        }
    return tst_fail(TST_EINVAL, "unknown compression '%s': expected \"uncompressed\", \"snappy\" "
                    "or \"zstd\"", name ? name : "(null)");
}

const char *tst_compression_name(tst_compression c)
{
    return (unsigned)c <= TST_COMPRESSION_ZSTD ? names[c] : NULL;
}
