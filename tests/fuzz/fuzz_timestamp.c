/*
 * fuzz_timestamp.c — round-trip fuzz target for the text parsers of
 * tstable/index.h: RFC 3339 timestamps (commit log, segment bounds, CLI
 * ranges) and time bucket specs (CLI, Python).
 *
 * The input, as a string, goes to tst_timestamp_parse. Whatever parses must
 * format, and the formatted text must parse back to the same instant and
 * format to the same text: the log writes what it reads. A failure must
 * leave a message. The same input also goes to tst_time_bucket_parse with
 * the same round-trip rule. Any breach calls abort(), which libFuzzer (and
 * the replay driver, by crashing) reports.
 */
#include "tstable/error.h"
#include "tstable/index.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void require(int ok)
{
    if (!ok)
        abort();
}

/* A failing call must say why. */
static void require_failure_message(int rc)
{
    require(rc < 0);
    require(tst_error_last()->code == rc && tst_error_last()->message[0] != '\0');
}

static void round_trip_timestamp(const char *text)
{
    tst_timestamp ts, again;
    int rc = tst_timestamp_parse(&ts, text);
    if (rc != 0) {
        require_failure_message(rc);
        return;
    }
    require(ts.nsec < 1000000000u);
    char first[TST_TIMESTAMP_TEXT_MAX], second[TST_TIMESTAMP_TEXT_MAX];
    int n = tst_timestamp_format(ts, first, sizeof first);
    require(n > 0 && (size_t)n == strlen(first));
    require(tst_timestamp_parse(&again, first) == 0);
    require(again.sec == ts.sec && again.nsec == ts.nsec);
    require(tst_timestamp_format(again, second, sizeof second) == n);
    require(strcmp(first, second) == 0);
}

static void round_trip_time_bucket(const char *text)
{
    tst_time_bucket b, again;
    int rc = tst_time_bucket_parse(&b, text);
    if (rc != 0) {
        require_failure_message(rc);
        return;
    }
    require(b.count >= 1 && tst_time_bucket_seconds(b) > 0);
    char buf[16];
    require(tst_time_bucket_format(b, buf, sizeof buf) > 0);
    require(tst_time_bucket_parse(&again, buf) == 0);
    require(again.unit == b.unit && again.count == b.count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* embedded NULs just end the string early */
    round_trip_timestamp(text);
    round_trip_time_bucket(text);
    free(text);
    return 0;
}
