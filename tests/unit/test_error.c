#include "td_error.h"
#include "td_test.h"

#include <errno.h>
#include <string.h>

static void test_set_returns_code_and_text(void)
{
    td_error err = {0};

    CU_ASSERT_EQUAL(td_error_set(&err, -EINVAL, "bad %s at %d", "thing", 7), -EINVAL);
    CU_ASSERT_EQUAL(err.code, -EINVAL);
    CU_ASSERT_STRING_EQUAL(td_error_msg(&err), "bad thing at 7");
    /* set replaces */
    td_error_set(&err, -ENOENT, "gone");
    CU_ASSERT_EQUAL(err.code, -ENOENT);
    CU_ASSERT_STRING_EQUAL(err.msg, "gone");
}

static void test_null_error_is_allowed(void)
{
    CU_ASSERT_EQUAL(td_error_set(NULL, -EIO, "x"), -EIO);
    CU_ASSERT_EQUAL(td_error_append(NULL, -EIO, "x"), -EIO);
    td_error_clear(NULL);
    CU_ASSERT_STRING_EQUAL(td_error_msg(NULL), "");
}

static void test_append_keeps_first_code_and_adds_lines(void)
{
    td_error err = {0};

    td_error_append(&err, -EINVAL, "a.yaml:1:1: first");
    td_error_append(&err, -ENOENT, "a.yaml:2:1: second");
    CU_ASSERT_EQUAL(err.code, -EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "a.yaml:1:1: first\na.yaml:2:1: second");
    td_error_clear(&err);
    CU_ASSERT_EQUAL(err.code, 0);
    CU_ASSERT_STRING_EQUAL(err.msg, "");
}

static void test_overflow_is_cut_with_ellipsis(void)
{
    td_error err = {0};
    char big[TD_ERROR_MSG_MAX * 2];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    td_error_set(&err, -EINVAL, "%s", big);
    CU_ASSERT_EQUAL(strlen(err.msg), TD_ERROR_MSG_MAX - 1);
    CU_ASSERT_STRING_EQUAL(err.msg + TD_ERROR_MSG_MAX - 4, "...");
    /* appending to a full buffer neither overflows nor changes it */
    td_error_append(&err, -EIO, "more");
    CU_ASSERT_EQUAL(strlen(err.msg), TD_ERROR_MSG_MAX - 1);
}

static void add_suites(void)
{
    td_test_suite("error", NULL, NULL);
    TD_TEST(test_set_returns_code_and_text);
    TD_TEST(test_null_error_is_allowed);
    TD_TEST(test_append_keeps_first_code_and_adds_lines);
    TD_TEST(test_overflow_is_cut_with_ellipsis);
}

TD_TEST_MAIN(add_suites)
