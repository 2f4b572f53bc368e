/*
 * fuzz_coverage_global.c — the global coverage codec on untrusted bytes.
 *
 * Any input must either be rejected with TST_ECORRUPT (and a message) or
 * decode to a coverage whose canonical encoding decodes again to an equal
 * coverage and re-encodes to the very same bytes; the tally read from the
 * bytes without decoding (tst_coverage_tally_serialized) accepts exactly
 * what the decoder accepts, with the decoded set's numbers; the union
 * accumulated from the bytes (tst_coverage_union_acc_add) accepts exactly
 * what the decoder accepts and holds the decoded set (or declines a set too
 * wide); and the encoding of a union without building it
 * (tst_coverage_serialize_union) of the set with itself and with the empty
 * set is the set's own encoding. Anything else aborts, so
 * libFuzzer (and the corpus replay in the test suite) reports it.
 */
#include "coverage_internal.h"
#include "tstable/coverage.h"
#include "tstable/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *encode(const tst_coverage *cov, size_t *len)
{
    *len = tst_coverage_serialized_size(cov);
    uint8_t *bytes = malloc(*len);
    if (!bytes || tst_coverage_serialize(cov, bytes) != *len)
        abort();
    return bytes;
}

static void check_tally(const tst_coverage *cov, const uint8_t *data, size_t size)
{
    tst_coverage_tally t;
    int rc = tst_coverage_tally_serialized(data, size, &t);
    if ((rc == 0) != (cov != NULL))
        abort();
    if (!cov)
        return;
    uint64_t min = 0, max = 0;
    bool any = tst_coverage_min(cov, &min) && tst_coverage_max(cov, &max);
    if (t.any != any || t.cardinality != tst_coverage_cardinality(cov) ||
        t.runs != tst_coverage_run_count(cov) || (any && (t.min != min || t.max != max)))
        abort();
}

static void check_union_acc(const tst_coverage *cov, const uint8_t *data, size_t size)
{
    tst_coverage_union_acc *acc = NULL;
    if (tst_coverage_union_acc_new(&acc) != 0)
        abort();
    int rc = tst_coverage_union_acc_add(acc, data, size);
    if (rc == TST_COVERAGE_UNION_TOO_WIDE && cov) {
        tst_coverage_union_acc_free(acc);
        return;
    }
    if ((rc == 0) != (cov != NULL) || (rc != 0 && rc != TST_ECORRUPT))
        abort();
    if (cov) {
        tst_coverage *got = NULL;
        if (tst_coverage_union_acc_finish(acc, &got) != 0 || !tst_coverage_equals(got, cov))
            abort();
        tst_coverage_free(got);
    }
    tst_coverage_union_acc_free(acc);
}

static void check_serialize_union(const tst_coverage *cov, const uint8_t *bytes, size_t len)
{
    tst_coverage *empty = NULL;
    if (tst_coverage_new(&empty) != 0)
        abort();
    const tst_coverage *others[] = {cov, empty};
    for (int k = 0; k < 2; k++) {
        tst_byte_buf out = {0};
        if (tst_coverage_serialize_union(cov, others[k], &out) != 0 || out.len != len ||
            memcmp(out.bytes, bytes, len) != 0)
            abort();
        free(out.bytes);
    }
    tst_coverage_free(empty);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tst_coverage *cov = NULL;
    int rc = tst_coverage_deserialize(&cov, data, size);
    if (rc != 0) {
        if (rc != TST_ECORRUPT || tst_error_last()->message[0] == '\0' || cov)
            abort();
        check_tally(NULL, data, size);
        check_union_acc(NULL, data, size);
        return 0;
    }
    check_tally(cov, data, size);
    check_union_acc(cov, data, size);
    size_t len, len2;
    uint8_t *bytes = encode(cov, &len);
    check_serialize_union(cov, bytes, len);
    tst_coverage *again = NULL;
    if (tst_coverage_deserialize(&again, bytes, len) != 0 || !tst_coverage_equals(cov, again))
        abort();
    if (tst_coverage_cardinality(cov) != tst_coverage_cardinality(again))
        abort();
    uint8_t *bytes2 = encode(again, &len2);
    if (len2 != len || memcmp(bytes, bytes2, len) != 0)
        abort();
    free(bytes2);
    free(bytes);
    tst_coverage_free(again);
    tst_coverage_free(cov);
    return 0;
}
