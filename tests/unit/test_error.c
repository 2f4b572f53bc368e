/*
 * test_error.c — the per-thread last error: codes, messages, structured
 * fields, truncation, and isolation between threads.
 */
#include "testsupport.h"

#include "fail.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

static void a_failure_records_code_message_and_returns_the_code(void **state)
{
    (void)state;
    assert_int_equal(tst_fail(TST_ECORRUPT, "commit %d is bad", 7), TST_ECORRUPT);
    assert_int_equal(tst_error_last()->code, TST_ECORRUPT);
    assert_string_equal(tst_error_last()->message, "commit 7 is bad");
    assert_string_equal(tst_error_last()->path, "");
    assert_string_equal(tst_error_last()->entity, "");
}

static void context_prefixes_the_deeper_message_and_keeps_fields(void **state)
{
    (void)state;
    tst_fail(TST_ECONFLICT, "expected 1, found 2");
    tst_fail_set_conflict(1, 2);
    tst_fail_set_path("/t");
    assert_int_equal(tst_fail_context(TST_ECONFLICT, "append to %s", "/t"), TST_ECONFLICT);
    assert_string_equal(tst_error_last()->message, "append to /t: expected 1, found 2");
    assert_int_equal(tst_error_last()->expected_version, 1);
    assert_int_equal(tst_error_last()->found_version, 2);
    assert_string_equal(tst_error_last()->path, "/t");
}

static void a_new_failure_resets_the_structured_fields(void **state)
{
    (void)state;
    tst_fail(TST_EOVERLAP, "overlap");
    tst_fail_set_overlap(120, "symbol=AAPL", 42, "[a, b)");
    assert_int_equal(tst_error_last()->overlap_count, 120);
    assert_string_equal(tst_error_last()->entity, "symbol=AAPL");
    tst_fail(TST_EIO, "disk");
    assert_int_equal(tst_error_last()->overlap_count, 0);
    assert_string_equal(tst_error_last()->entity, "");
    assert_string_equal(tst_error_last()->bucket_range, "");
}

static void errno_text_is_appended(void **state)
{
    (void)state;
    tst_fail_errno(TST_EIO, ENOENT, "cannot open %s", "/x");
    assert_string_equal(tst_error_last()->message, "cannot open /x: No such file or directory");
}

static void overlong_messages_are_cut_with_an_ellipsis(void **state)
{
    (void)state;
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tst_fail(TST_EINVAL, "%s", big);
    size_t len = strlen(tst_error_last()->message);
    assert_true(len < sizeof big);
    assert_string_equal(tst_error_last()->message + len - 3, "...");
}

static void clear_forgets_the_last_failure(void **state)
{
    (void)state;
    tst_fail(TST_EINVAL, "x");
    tst_error_clear();
    assert_int_equal(tst_error_last()->code, TST_OK);
    assert_string_equal(tst_error_last()->message, "");
}

static void every_code_has_a_name(void **state)
{
    (void)state;
    for (int code = TST_OK; code >= TST_EINCOMPLETE; code--)
        assert_string_not_equal(tst_error_name(code), "unknown");
    assert_string_equal(tst_error_name(TST_ECONFLICT), "TST_ECONFLICT");
    assert_string_equal(tst_error_name(-999), "unknown");
}

static void *fail_in_thread(void *arg)
{
    (void)arg;
    tst_fail(TST_ESQL, "from the other thread");
    return NULL;
}

static void each_thread_has_its_own_last_error(void **state)
{
    (void)state;
    tst_fail(TST_EINVAL, "from this thread");
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, fail_in_thread, NULL), 0);
    pthread_join(th, NULL);
    assert_int_equal(tst_error_last()->code, TST_EINVAL);
    assert_string_equal(tst_error_last()->message, "from this thread");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_failure_records_code_message_and_returns_the_code),
        cmocka_unit_test(context_prefixes_the_deeper_message_and_keeps_fields),
        cmocka_unit_test(a_new_failure_resets_the_structured_fields),
        cmocka_unit_test(errno_text_is_appended),
        cmocka_unit_test(overlong_messages_are_cut_with_an_ellipsis),
        cmocka_unit_test(clear_forgets_the_last_failure),
        cmocka_unit_test(every_code_has_a_name),
        cmocka_unit_test(each_thread_has_its_own_last_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
