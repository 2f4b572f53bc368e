/*
 * fuzz_commit_json.c — the commit parser on arbitrary bytes.
 *
 * A commit file is the most exposed input tstable has. Besides never
 * crashing, parsing must be a fixed point after one print: whatever is
 * accepted, printed, and parsed again must print to the same bytes, or a
 * table could change meaning each time a commit is rewritten.
 */
#include "model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tst_commit first;
    if (tst_commit_parse(&first, (const char *)data, size, "fuzz") != 0)
        return 0;
    char *once = NULL, *twice = NULL;
    size_t once_len = 0, twice_len = 0;
    if (tst_commit_serialize(&first, &once, &once_len) != 0)
        abort(); /* everything parsed must print */
    tst_commit second;
    if (tst_commit_parse(&second, once, once_len, "fuzz reprint") != 0)
        abort(); /* and what we print must parse */
    if (tst_commit_serialize(&second, &twice, &twice_len) != 0)
        abort();
    if (once_len != twice_len || memcmp(once, twice, once_len) != 0)
        abort();
    tst_commit_clear(&first);
    tst_commit_clear(&second);
    free(once);
    free(twice);
    return 0;
}
