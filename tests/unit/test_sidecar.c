/*
 * test_sidecar.c — coverage sidecar files (format-v6 §1.11, §1.12): both
 * codecs round-trip through files, files are created exclusively, entity
 * identities are checked against the schema, missing and malformed files
 * are typed errors naming the path, and names follow the reference layout.
 * Also the process-wide log callback, which sidecar recovery reports to.
 */
#include "testsupport.h"

#include "diagnostics.h"
#include "fsio.h"
#include "sidecar.h"
#include "tstable/coverage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

#define SIGN_BIT 0x8000000000000000ULL
#define UUID "679d3b3c-8c37-45bd-87ab-d4ce2500acf0"

static char *symbol_entity[] = {"symbol"};
static char *two_entities[] = {"symbol", "venue"};

/* ts: timestamp, symbol: utf8, venue: int32 */
static tst_field schema_fields[] = {
    {"ts", {.kind = TST_TYPE_TIMESTAMP, .unit = TST_PRECISION_MILLIS}, false},
    {"symbol", {.kind = TST_TYPE_UTF8}, false},
    {"venue", {.kind = TST_TYPE_INT32}, false},
};
static const tst_schema schema = {schema_fields, 3};

static tst_entity_value utf8(const char *s)
{
    tst_entity_value v = {TST_ENTITY_UTF8, {.utf8 = {s, strlen(s)}}};
    return v;
}

static tst_entity_value i32(int32_t x)
{
    tst_entity_value v = {TST_ENTITY_INT32, {.i32 = x}};
    return v;
}

static tst_table_cov global_cov(const uint64_t *buckets, size_t n)
{
    tst_table_cov cov = {NULL, NULL};
    assert_tst_ok(tst_coverage_new(&cov.global));
    for (size_t i = 0; i < n; i++)
        assert_tst_ok(tst_coverage_add(cov.global, buckets[i]));
    return cov;
}

/* Adds buckets [first, last] to the identity made of `values`. */
static void add_identity(tst_table_cov *cov, const tst_entity_value *values, size_t count,
                         uint64_t first, uint64_t last)
{
    if (!cov->entities)
        assert_tst_ok(tst_entity_coverage_new(&cov->entities));
    tst_entity_identity id = {count, values};
    tst_coverage *c = NULL;
    assert_tst_ok(tst_entity_coverage_get_or_add(cov->entities, &id, &c));
    if (first <= last)
        assert_tst_ok(tst_coverage_add_range(c, first, last));
}

static tst_table_cov symbol_cov(const char *sym, uint64_t first, uint64_t last)
{
    tst_table_cov cov = {NULL, NULL};
    tst_entity_value v = utf8(sym);
    add_identity(&cov, &v, 1, first, last);
    return cov;
}

static void assert_message_contains(const char *needle)
{
    const char *message = tst_error_last()->message;
    if (!strstr(message, needle))
        print_error("message \"%s\" lacks \"%s\"\n", message, needle);
    assert_non_null(strstr(message, needle));
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                               */

static void a_global_sidecar_round_trips_through_its_file(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("sidecar");
    tst_index_spec spec = tst_test_hourly_spec(NULL, 0);
    uint64_t buckets[] = {0, SIGN_BIT, SIGN_BIT + 1, SIGN_BIT + 7, UINT64_MAX};
    tst_table_cov cov = global_cov(buckets, 5);
    assert_tst_ok(tst_sidecar_write(root, "_coverage/segments/a.roar", &cov));
    tst_table_cov back;
    assert_tst_ok(tst_sidecar_read(root, "_coverage/segments/a.roar", &spec, NULL, &back));
    assert_non_null(back.global);
    assert_null(back.entities);
    assert_true(tst_table_cov_equals(&cov, &back));
    tst_table_cov_clear(&back);
    tst_table_cov_clear(&cov);
    tst_test_rmtree(root);
}

static void an_entity_sidecar_round_trips_with_its_empty_identities(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("sidecar");
    tst_index_spec spec = tst_test_hourly_spec(symbol_entity, 1);
    tst_table_cov cov = symbol_cov("NVDA", SIGN_BIT + 477000, SIGN_BIT + 477239);
    tst_entity_value msft = utf8("MSFT");
    add_identity(&cov, &msft, 1, 1, 0); /* an identity with no buckets is kept */
    assert_tst_ok(tst_sidecar_write(root, "_coverage/table/2-x.roar", &cov));
    tst_table_cov back;
    assert_tst_ok(tst_sidecar_read(root, "_coverage/table/2-x.roar", &spec, &schema, &back));
    assert_non_null(back.entities);
    assert_null(back.global);
    assert_int_equal(tst_entity_coverage_count(back.entities), 2);
    assert_true(tst_table_cov_equals(&cov, &back));
    tst_table_cov_clear(&back);
    tst_table_cov_clear(&cov);
    tst_test_rmtree(root);
}

static void the_nvda_segment_sidecar_has_the_reference_bytes_and_name(void **state)
{
    (void)state;
    tst_table_cov cov = symbol_cov("NVDA", SIGN_BIT + 477000, SIGN_BIT + 477239);
    uint8_t want[64];
    size_t n = tst_test_hex("54535445434f5632 00000001 00000001 01 0000000000000004 4e564441 "
                            "000000000000001b 0100000000000000 00000080 3b300000 01 0700 ef00 "
                            "0100 4847 ef00",
                            want);
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_tst_ok(tst_sidecar_encode(&cov, &bytes, &len));
    assert_int_equal(len, n);
    assert_memory_equal(bytes, want, n);
    /* ...and is named as in examples/nvda_table (format §1.1). */
    tst_index_spec spec = tst_test_hourly_spec(symbol_entity, 1);
    char path[TST_SIDECAR_PATH_MAX];
    assert_tst_ok(tst_sidecar_segment_path(path, sizeof path, &spec, bytes, len, UUID));
    assert_string_equal(path,
                        "_coverage/segments/segcov-46ce555d301706364664f7bd6fd774a1-" UUID ".roar");
    free(bytes);
    tst_table_cov_clear(&cov);
}

static void a_second_write_to_the_same_path_fails_and_keeps_the_first(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("sidecar");
    tst_index_spec spec = tst_test_hourly_spec(NULL, 0);
    uint64_t one[] = {1}, two[] = {2};
    tst_table_cov first = global_cov(one, 1), second = global_cov(two, 1);
    assert_tst_ok(tst_sidecar_write(root, "_coverage/segments/a.roar", &first));
    assert_tst_fails(tst_sidecar_write(root, "_coverage/segments/a.roar", &second), TST_EEXISTS);
    tst_table_cov back;
    assert_tst_ok(tst_sidecar_read(root, "_coverage/segments/a.roar", &spec, NULL, &back));
    assert_true(tst_table_cov_equals(&first, &back));
    tst_table_cov_clear(&back);
    tst_table_cov_clear(&first);
    tst_table_cov_clear(&second);
    tst_test_rmtree(root);
}

static void a_sidecar_that_fails_at_any_step_leaves_no_file(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("sidecar");
    uint64_t one[] = {1};
    tst_table_cov cov = global_cov(one, 1);
    char *full = tst_test_path(root, "_coverage/segments/a.roar");
    int failures = 0;
    for (uint64_t step = 1; step <= 8; step++) {
        tst_io_set_fault(TST_IO_FAULT_FAIL, tst_io_steps() + step);
        int rc = tst_sidecar_write(root, "_coverage/segments/a.roar", &cov);
        tst_io_set_fault(TST_IO_FAULT_NONE, 0);
        if (rc == 0) {
            assert_true(tst_test_exists(full));
            unlink(full);
            continue;
        }
        failures++;
        assert_false(tst_test_exists(full)); /* the fsync of the folder failing too */
    }
    assert_true(failures >= 2); /* the write and the folder's fsync */
    free(full);
    tst_table_cov_clear(&cov);
    tst_test_rmtree(root);
}

static void a_non_canonical_sidecar_path_is_rejected_before_writing(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("sidecar");
    uint64_t one[] = {1};
    tst_table_cov cov = global_cov(one, 1);
    assert_tst_fails(tst_sidecar_write(root, "../escape.roar", &cov), TST_EINVAL);
    assert_tst_fails(tst_sidecar_write(root, "/abs.roar", &cov), TST_EINVAL);
    assert_tst_fails(tst_sidecar_write(root, "_coverage//a.roar", &cov), TST_EINVAL);
    tst_table_cov_clear(&cov);
    tst_test_rmtree(root);
}

/* ------------------------------------------------------------------------ */
/* Validation                                                                */

static void an_identity_of_the_wrong_arity_is_corrupt(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("sidecar");
    tst_index_spec spec = tst_test_hourly_spec(symbol_entity, 1);
    tst_table_cov cov = {NULL, NULL};
    tst_entity_value pair[] = {utf8("NVDA"), i32(1)};
    add_identity(&cov, pair, 2, 5, 5);
    assert_tst_ok(tst_sidecar_write(root, "_coverage/segments/a.roar", &cov));
    tst_table_cov back;
    assert_tst_fails(tst_sidecar_read(root, "_coverage/segments/a.roar", &spec, &schema, &back),
                     TST_ECORRUPT);
    assert_message_contains("EntityIdentitySchema");
    assert_message_contains("_coverage/segments/a.roar");
    assert_null(strstr(tst_error_last()->message, "NVDA")); /* values stay out of messages */
    assert_null(back.entities);
    tst_table_cov_clear(&cov);
    tst_test_rmtree(root);
}

static void an_identity_component_of_the_wrong_type_is_corrupt(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("sidecar");
    tst_index_spec spec = tst_test_hourly_spec(two_entities, 2);
    tst_table_cov cov = {NULL, NULL};
    tst_entity_value good[] = {utf8("NVDA"), i32(1)};
    tst_entity_value bad[] = {utf8("NVDA"), utf8("XNAS")}; /* venue is int32 */
    add_identity(&cov, good, 2, 5, 5);
    add_identity(&cov, bad, 2, 6, 6);
    assert_tst_ok(tst_sidecar_write(root, "_coverage/segments/a.roar", &cov));
    tst_table_cov back;
    assert_tst_fails(tst_sidecar_read(root, "_coverage/segments/a.roar", &spec, &schema, &back),
                     TST_ECORRUPT);
    assert_message_contains("EntityIdentitySchema");
    assert_message_contains("venue");
    /* Without a schema only the arity is checked. */
    assert_tst_ok(tst_sidecar_read(root, "_coverage/segments/a.roar", &spec, NULL, &back));
    tst_table_cov_clear(&back);
    tst_table_cov_clear(&cov);
    tst_test_rmtree(root);
}

static void a_missing_sidecar_is_not_found_naming_the_path(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("sidecar");
    tst_index_spec spec = tst_test_hourly_spec(NULL, 0);
    tst_table_cov back;
    assert_tst_fails(tst_sidecar_read(root, "_coverage/segments/none.roar", &spec, NULL, &back),
                     TST_ENOTFOUND);
    assert_message_contains("_coverage/segments/none.roar");
    assert_non_null(strstr(tst_error_last()->path, "_coverage/segments/none.roar"));
    tst_test_rmtree(root);
}

static void a_malformed_sidecar_is_corrupt_naming_the_path(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("sidecar");
    tst_index_spec global = tst_test_hourly_spec(NULL, 0);
    tst_index_spec entity = tst_test_hourly_spec(symbol_entity, 1);
    char *dir = tst_test_path(root, "_coverage");
    char *path = tst_test_path(root, "_coverage/bad.roar");
    assert_tst_ok(tst_io_mkdirs(dir));
    assert_int_equal(tst_test_write_file(path, "not roaring", 11), 0);
    tst_table_cov back;
    assert_tst_fails(tst_sidecar_read(root, "_coverage/bad.roar", &global, NULL, &back),
                     TST_ECORRUPT);
    assert_message_contains("_coverage/bad.roar");
    assert_tst_fails(tst_sidecar_read(root, "_coverage/bad.roar", &entity, &schema, &back),
                     TST_ECORRUPT);
    assert_message_contains("_coverage/bad.roar");
    free(dir);
    free(path);
    tst_test_rmtree(root);
}

static void global_bytes_are_corrupt_for_an_entity_table(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("sidecar");
    tst_index_spec entity = tst_test_hourly_spec(symbol_entity, 1);
    uint64_t one[] = {1};
    tst_table_cov cov = global_cov(one, 1);
    assert_tst_ok(tst_sidecar_write(root, "_coverage/g.roar", &cov));
    tst_table_cov back;
    assert_tst_fails(tst_sidecar_read(root, "_coverage/g.roar", &entity, &schema, &back),
                     TST_ECORRUPT);
    tst_table_cov_clear(&cov);
    tst_test_rmtree(root);
}

/* ------------------------------------------------------------------------ */
/* Names                                                                     */

static bool is_hex32(const char *s)
{
    for (int i = 0; i < 32; i++)
        if (!strchr("0123456789abcdef", s[i]))
            return false;
    return true;
}

static void sidecar_names_follow_the_reference_layout(void **state)
{
    (void)state;
    tst_index_spec spec = tst_test_hourly_spec(symbol_entity, 1);
    const uint8_t bytes[] = "TSTECOV2\0\0\0\0";
    char seg[TST_SIDECAR_PATH_MAX], snap[TST_SIDECAR_PATH_MAX];
    assert_tst_ok(tst_sidecar_segment_path(seg, sizeof seg, &spec, bytes, 12, UUID));
    assert_tst_ok(tst_sidecar_snapshot_path(snap, sizeof snap, &spec, 42, bytes, 12, UUID));
    const char *seg_prefix = "_coverage/segments/segcov-";
    const char *snap_prefix = "_coverage/table/42-tblcov-";
    assert_memory_equal(seg, seg_prefix, strlen(seg_prefix));
    assert_true(is_hex32(seg + strlen(seg_prefix)));
    assert_string_equal(seg + strlen(seg_prefix) + 32, "-" UUID ".roar");
    assert_memory_equal(snap, snap_prefix, strlen(snap_prefix));
    assert_true(is_hex32(snap + strlen(snap_prefix)));
    assert_string_equal(snap + strlen(snap_prefix) + 32, "-" UUID ".roar");
    /* The id depends on the bytes. */
    char other[TST_SIDECAR_PATH_MAX];
    assert_tst_ok(tst_sidecar_segment_path(other, sizeof other, &spec, bytes, 11, UUID));
    assert_string_not_equal(seg, other);
}

static void a_sidecar_name_needs_room_and_a_valid_uuid(void **state)
{
    (void)state;
    tst_index_spec spec = tst_test_hourly_spec(NULL, 0);
    const uint8_t bytes[8] = {0};
    char small[40];
    assert_tst_fails(tst_sidecar_segment_path(small, sizeof small, &spec, bytes, 8, UUID),
                     TST_EINVAL);
    assert_string_equal(small, "");
    char buf[TST_SIDECAR_PATH_MAX];
    assert_tst_fails(tst_sidecar_segment_path(buf, sizeof buf, &spec, bytes, 8, "../x"),
                     TST_EINVAL);
    assert_tst_fails(tst_sidecar_snapshot_path(buf, sizeof buf, &spec, 3, bytes, 8, NULL),
                     TST_EINVAL);
}

static void writing_a_named_sidecar_returns_the_path_it_wrote(void **state)
{
    (void)state;
    char *root = tst_test_tmpdir("sidecar");
    tst_index_spec spec = tst_test_hourly_spec(NULL, 0);
    uint64_t one[] = {SIGN_BIT};
    tst_table_cov cov = global_cov(one, 1);
    char seg[TST_SIDECAR_PATH_MAX], snap[TST_SIDECAR_PATH_MAX];
    assert_tst_ok(tst_sidecar_write_segment(root, &spec, &cov, UUID, seg, sizeof seg));
    assert_tst_ok(tst_sidecar_write_snapshot(root, &spec, 7, &cov, UUID, snap, sizeof snap));
    assert_memory_equal(snap, "_coverage/table/7-tblcov-", 25);
    tst_table_cov back;
    assert_tst_ok(tst_sidecar_read(root, seg, &spec, NULL, &back));
    assert_true(tst_table_cov_equals(&cov, &back));
    tst_table_cov_clear(&back);
    assert_tst_ok(tst_sidecar_read(root, snap, &spec, NULL, &back));
    assert_true(tst_table_cov_equals(&cov, &back));
    tst_table_cov_clear(&back);
    /* Same content, same attempt: the same name, which already exists. */
    assert_tst_fails(tst_sidecar_write_segment(root, &spec, &cov, UUID, seg, sizeof seg),
                     TST_EEXISTS);
    tst_table_cov_clear(&cov);
    tst_test_rmtree(root);
}

/* ------------------------------------------------------------------------ */
/* In-memory helpers                                                         */

static void union_and_clone_keep_the_encoding(void **state)
{
    (void)state;
    tst_index_spec spec = tst_test_hourly_spec(symbol_entity, 1);
    tst_table_cov all;
    assert_tst_ok(tst_table_cov_new(&all, &spec));
    tst_table_cov a = symbol_cov("A", 1, 2), b = symbol_cov("B", 3, 3);
    assert_tst_ok(tst_table_cov_union_inplace(&all, &a));
    assert_tst_ok(tst_table_cov_union_inplace(&all, &b));
    assert_int_equal(tst_entity_coverage_count(all.entities), 2);
    tst_table_cov copy;
    assert_tst_ok(tst_table_cov_clone(&copy, &all));
    assert_true(tst_table_cov_equals(&copy, &all));
    assert_false(tst_table_cov_equals(&copy, &a));
    uint64_t one[] = {1};
    tst_table_cov g = global_cov(one, 1);
    assert_tst_fails(tst_table_cov_union_inplace(&all, &g), TST_EINVAL);
    assert_false(tst_table_cov_equals(&g, &a));
    tst_table_cov_clear(&g);
    tst_table_cov_clear(&copy);
    tst_table_cov_clear(&a);
    tst_table_cov_clear(&b);
    tst_table_cov_clear(&all);
    tst_table_cov_clear(&all); /* clearing twice is fine */
}

/* ------------------------------------------------------------------------ */
/* The log callback                                                          */

typedef struct captured {
    int calls;
    tst_log_level level;
    char event[64];
    char message[TST_LOG_MESSAGE_CAP];
} captured;

static void capture(void *ctx, tst_log_level level, const char *event, const char *message)
{
    captured *c = ctx;
    c->calls++;
    c->level = level;
    snprintf(c->event, sizeof c->event, "%s", event);
    snprintf(c->message, sizeof c->message, "%s", message);
}

static void log_events_reach_the_callback_until_it_is_turned_off(void **state)
{
    (void)state;
    captured c;
    memset(&c, 0, sizeof c);
    tst_log_event(TST_LOG_INFO, "test.before", "nobody listens");
    tst_set_log_callback(capture, &c);
    tst_log_event(TST_LOG_WARN, "test.event", "value=%d", 42);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.level, TST_LOG_WARN);
    assert_string_equal(c.event, "test.event");
    assert_string_equal(c.message, "value=42");
    tst_set_log_callback(NULL, NULL);
    tst_log_event(TST_LOG_WARN, "test.after", "nobody listens");
    assert_int_equal(c.calls, 1);
}

static void a_long_log_message_is_cut_and_marked(void **state)
{
    (void)state;
    captured c;
    memset(&c, 0, sizeof c);
    char *big = malloc(4000);
    memset(big, 'x', 3999);
    big[3999] = '\0';
    tst_set_log_callback(capture, &c);
    tst_log_event(TST_LOG_DEBUG, "test.long", "%s", big);
    tst_set_log_callback(NULL, NULL);
    assert_int_equal(strlen(c.message), TST_LOG_MESSAGE_CAP - 1);
    assert_string_equal(c.message + TST_LOG_MESSAGE_CAP - 4, "...");
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_global_sidecar_round_trips_through_its_file),
        cmocka_unit_test(an_entity_sidecar_round_trips_with_its_empty_identities),
        cmocka_unit_test(the_nvda_segment_sidecar_has_the_reference_bytes_and_name),
        cmocka_unit_test(a_second_write_to_the_same_path_fails_and_keeps_the_first),
        cmocka_unit_test(a_sidecar_that_fails_at_any_step_leaves_no_file),
        cmocka_unit_test(a_non_canonical_sidecar_path_is_rejected_before_writing),
        cmocka_unit_test(an_identity_of_the_wrong_arity_is_corrupt),
        cmocka_unit_test(an_identity_component_of_the_wrong_type_is_corrupt),
        cmocka_unit_test(a_missing_sidecar_is_not_found_naming_the_path),
        cmocka_unit_test(a_malformed_sidecar_is_corrupt_naming_the_path),
        cmocka_unit_test(global_bytes_are_corrupt_for_an_entity_table),
        cmocka_unit_test(sidecar_names_follow_the_reference_layout),
        cmocka_unit_test(a_sidecar_name_needs_room_and_a_valid_uuid),
        cmocka_unit_test(writing_a_named_sidecar_returns_the_path_it_wrote),
        cmocka_unit_test(union_and_clone_keep_the_encoding),
        cmocka_unit_test(log_events_reach_the_callback_until_it_is_turned_off),
        cmocka_unit_test(a_long_log_message_is_cut_and_marked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
