/*
 * test_paths.c — persisted relative paths and coverage ids (format-v6 §1.9, §1.11).
 *
 * Every rejected spelling is a way a hostile or damaged log could point
 * outside the table root, or name one file in two ways.
 */
#include "testsupport.h"

#include "model.h"

#include <string.h>

static void expect_path_corrupt(const char *path, const char *needle)
{
    assert_tst_fails(tst_path_validate(path, "segment path"), TST_ECORRUPT);
    if (needle && !strstr(tst_error_last()->message, needle))
        fail_msg("message for '%s' lacks '%s': %s", path, needle, tst_error_last()->message);
}

static void canonical_relative_paths_are_accepted(void **state)
{
    (void)state;
    assert_tst_ok(tst_path_validate("data/seg.parquet", "segment path"));
    assert_tst_ok(tst_path_validate("seg.parquet", "segment path"));
    assert_tst_ok(tst_path_validate("_coverage/segments/segcov-1-2.roar", "coverage_path"));
    assert_tst_ok(tst_path_validate("data/_staged/entity-rewrite/a/0000000001.parquet", "p"));
    assert_tst_ok(tst_path_validate("data/.hidden", "p"));
    assert_tst_ok(tst_path_validate("data/...", "p"));
    assert_tst_ok(tst_path_validate("data/\xe6\x9d\xb1\xe4\xba\xac.parquet", "p"));
}

static void empty_and_absolute_paths_are_rejected(void **state)
{
    (void)state;
    expect_path_corrupt("", "empty");
    expect_path_corrupt(NULL, "empty");
    expect_path_corrupt("/abs", "absolute");
    expect_path_corrupt("/", "absolute");
    expect_path_corrupt("\\data\\x", "absolute");
    expect_path_corrupt("C:/x", "drive");
    expect_path_corrupt("c:x", "drive");
}

static void dot_components_are_rejected(void **state)
{
    (void)state;
    expect_path_corrupt("..", "'..'");
    expect_path_corrupt("a/../b", "'..'");
    expect_path_corrupt("a/..", "'..'");
    expect_path_corrupt("./a", "canonical form is 'a'");
    expect_path_corrupt("a/./b", "canonical form is 'a/b'");
    expect_path_corrupt(".", "names no file");
}

static void non_canonical_spellings_name_their_canonical_form(void **state)
{
    (void)state;
    expect_path_corrupt("a//b", "canonical form is 'a/b'");
    expect_path_corrupt("a/", "canonical form is 'a'");
    expect_path_corrupt("data\\seg.parquet", "canonical form is 'data/seg.parquet'");
    assert_non_null(strstr(tst_error_last()->message, "segment path"));
}

static void invalid_utf8_is_rejected(void **state)
{
    (void)state;
    expect_path_corrupt("data/\xff.parquet", "UTF-8");
    expect_path_corrupt("data/\xc0\xaf", "UTF-8");     /* overlong '/' */
    expect_path_corrupt("data/\xed\xa0\x80", "UTF-8"); /* surrogate */
    expect_path_corrupt("data/\xe6\x9d", "UTF-8");     /* truncated */
    /* The message shows the bad byte escaped, not raw. */
    expect_path_corrupt("\xff", "\\xff");
}

static void overlong_paths_are_rejected(void **state)
{
    (void)state;
    char path[5000];
    memset(path, 'a', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    expect_path_corrupt(path, "longer than");
}

static void coverage_ids_follow_the_allowlist(void **state)
{
    (void)state;
    assert_tst_ok(tst_coverage_id_validate("seg-001"));
    assert_tst_ok(tst_coverage_id_validate("segcov-46ce555d.v2_x"));
    assert_tst_ok(tst_coverage_id_validate("a"));
    char longest[129];
    memset(longest, 'x', 128);
    longest[128] = '\0';
    assert_tst_ok(tst_coverage_id_validate(longest));
    char too_long[130];
    memset(too_long, 'x', 129);
    too_long[129] = '\0';
    assert_tst_fails(tst_coverage_id_validate(too_long), TST_EINVAL);
    assert_tst_fails(tst_coverage_id_validate(""), TST_EINVAL);
    assert_tst_fails(tst_coverage_id_validate(NULL), TST_EINVAL);
    assert_tst_fails(tst_coverage_id_validate("a/b"), TST_EINVAL);
    assert_tst_fails(tst_coverage_id_validate("a\\b"), TST_EINVAL);
    assert_tst_fails(tst_coverage_id_validate("a..b"), TST_EINVAL);
    assert_tst_fails(tst_coverage_id_validate(".hidden"), TST_EINVAL);
    assert_tst_fails(tst_coverage_id_validate("---"), TST_EINVAL);
    assert_tst_fails(tst_coverage_id_validate("a b"), TST_EINVAL);
    assert_tst_fails(tst_coverage_id_validate("caf\xc3\xa9"), TST_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(canonical_relative_paths_are_accepted),
        cmocka_unit_test(empty_and_absolute_paths_are_rejected),
        cmocka_unit_test(dot_components_are_rejected),
        cmocka_unit_test(non_canonical_spellings_name_their_canonical_form),
        cmocka_unit_test(invalid_utf8_is_rejected),
        cmocka_unit_test(overlong_paths_are_rejected),
        cmocka_unit_test(coverage_ids_follow_the_allowlist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
