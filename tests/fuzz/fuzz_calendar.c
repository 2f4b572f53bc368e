/*
 * fuzz_calendar.c — the calendar parsers on untrusted text: the spec
 * grammar (tst_calendar_parse), one holiday-file entry
 * (tst_calendar_add_holiday) and, for inputs that start with "TZif",
 * tzfile.c's TZif reader (through tst_tz_parse) and its POSIX rule parser.
 *
 * Any input must either be refused with TST_EINVAL / TST_ENOTFOUND /
 * TST_ECORRUPT and a message, or give an object whose questions answer
 * without a crash: expected buckets of a small range, an offset and a
 * local-to-UTC mapping that never goes backwards. Anything else aborts.
 */
#include "tstable/calendar.h"
#include "tstable/error.h"
#include "tzfile.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_refusal(int rc)
{
    if (rc != TST_EINVAL && rc != TST_ENOTFOUND && rc != TST_ECORRUPT && rc != TST_EIO)
        abort();
    if (tst_error_last()->message[0] == '\0')
        abort();
}

static void ask_zone(const tst_tz *tz)
{
    int64_t prev = INT64_MIN;
    for (int64_t w = -3000000000LL; w < 5000000000LL; w += 86400 * 97 + 3601) {
        int64_t t = tst_tz_local_to_utc(tz, w);
        if (t < prev)
            abort();
        prev = t;
        (void)tst_tz_offset_at(tz, w);
    }
}

static void ask_calendar(const tst_calendar *cal)
{
    static const tst_index_kind hourly = {TST_INDEX_TIMESTAMP, {TST_TIME_HOURS, 1}, 0, "", 7};
    uint64_t first = (uint64_t)(19800 * 24) ^ TST_BUCKET_SIGN_BIT; /* 2024-03-18 */
    tst_coverage *out = NULL;
    int rc = tst_calendar_expected(&out, cal, &hourly, first, first + 24 * 20);
    if (rc != 0)
        check_refusal(rc);
    tst_coverage_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 4 && memcmp(data, "TZif", 4) == 0) {
        tst_tz *tz = NULL;
        int rc = tst_tz_parse(&tz, "fuzz", data, size);
        if (rc != 0)
            check_refusal(rc);
        else
            ask_zone(tz);
        tst_tz_free(tz);
        return 0;
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    tst_calendar *cal = NULL;
    int rc = tst_calendar_parse(&cal, text);
    if (rc != 0)
        check_refusal(rc);
    else
        ask_calendar(cal);
    tst_calendar_free(cal);
    if (tst_calendar_new(&cal) != 0)
        abort();
    rc = tst_calendar_add_holiday(cal, text);
    if (rc != 0)
        check_refusal(rc);
    else
        ask_calendar(cal);
    tst_calendar_free(cal);
    tst_tz *tz = NULL;
    rc = tst_tz_from_rule(&tz, text);
    if (rc != 0)
        check_refusal(rc);
    else
        ask_zone(tz);
    tst_tz_free(tz);
    free(text);
    return 0;
}
