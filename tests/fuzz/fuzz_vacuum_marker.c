/*
 * fuzz_vacuum_marker.c — the vacuum marker's parser (_vacuumed.json, read by
 * time travel) on arbitrary bytes: it must never crash, a refusal leaves an
 * all-zero marker, and what it accepts must print back to a marker that
 * parses to the same fields.
 */
#include "history.h"

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
    tst_vacuum_marker m;
    if (tst_history_parse_marker(text, size, "_vacuumed.json", &m) != 0) {
        if (m.oldest_readable_version || m.vacuumed_at.sec || m.vacuumed_at.nsec ||
            m.retention_seconds)
            abort();
    } else {
        char when[TST_TIMESTAMP_TEXT_MAX], again_text[256];
        (void)tst_timestamp_format(m.vacuumed_at, when, sizeof when);
        int n = snprintf(again_text, sizeof again_text,
                         "{\"oldest_readable_version\":%" PRIu64 ",\"vacuumed_at\":\"%s\","
                         "\"retention_seconds\":%" PRId64 "}",
                         m.oldest_readable_version, when, m.retention_seconds);
        tst_vacuum_marker again;
        if (tst_history_parse_marker(again_text, (size_t)n, "again", &again) != 0 ||
            again.oldest_readable_version != m.oldest_readable_version ||
            again.vacuumed_at.sec != m.vacuumed_at.sec ||
            again.vacuumed_at.nsec != m.vacuumed_at.nsec ||
            again.retention_seconds != m.retention_seconds)
            abort();
    }
    free(text);
    return 0;
}
