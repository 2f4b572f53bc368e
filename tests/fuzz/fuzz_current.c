/*
 * fuzz_current.c — CURRENT's parser on arbitrary bytes: it must never
 * crash, must accept exactly the trimmed decimal u64 forms, and what it
 * accepts must print back to the same number.
 */
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    uint64_t v = 0;
    if (tst_log_parse_current(text, "CURRENT", &v) == 0) {
        char printed[32], again_text[64];
        snprintf(printed, sizeof printed, "%" PRIu64, v);
        /* The digits must appear in the input, after optional leading zeros. */
        const char *p = text;
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        while (*p == '0' && p[1] >= '0' && p[1] <= '9')
            p++;
        if (strncmp(p, printed, strlen(printed)) != 0)
            abort();
        snprintf(again_text, sizeof again_text, "%s\n", printed);
        uint64_t again = 0;
        if (tst_log_parse_current(again_text, "CURRENT", &again) != 0 || again != v)
            abort();
    }
    free(text);
    return 0;
}
