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

/* Regression (issue 10.2): with a full disk matchd logged "writing the state
 * after the Kafka commit: writing the state after the Kafka commit: ce" and
 * lost the cause, because the context was formatted over the message it
 * quoted. */
static void test_prefix_keeps_the_cause(void)
{
    td_error err = {0};

    td_error_set(&err, -EIO, "no space left on device");
    CU_ASSERT_EQUAL(td_error_prefix(&err, -ENOSPC, "writing the state after the %s: ", "Kafka commit"),
                    -ENOSPC);
    CU_ASSERT_EQUAL(err.code, -ENOSPC);
    CU_ASSERT_STRING_EQUAL(err.msg, "writing the state after the Kafka commit: no space left on device");
    td_error_prefix(&err, -ENOSPC, "alert %s: ", "1f2e");
    CU_ASSERT_STRING_EQUAL(err.msg,
                           "alert 1f2e: writing the state after the Kafka commit: no space left on device");
    /* an empty error gets the prefix alone */
    td_error_clear(&err);
    td_error_prefix(&err, -EINVAL, "ctx: ");
    CU_ASSERT_STRING_EQUAL(err.msg, "ctx: ");
    CU_ASSERT_EQUAL(td_error_prefix(NULL, -EIO, "x"), -EIO);
}

static void test_prefix_on_a_full_message_is_cut(void)
{
    td_error err = {0};
    char big[TD_ERROR_MSG_MAX];

    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    td_error_set(&err, -EIO, "%s", big);
    td_error_prefix(&err, -EIO, "context: ");
    CU_ASSERT_EQUAL(strlen(err.msg), TD_ERROR_MSG_MAX - 1);
    CU_ASSERT_EQUAL(strncmp(err.msg, "context: bbb", 12), 0);
    CU_ASSERT_STRING_EQUAL(err.msg + TD_ERROR_MSG_MAX - 4, "...");
}

static void add_suites(void)
{
    td_test_suite("error", NULL, NULL);
    TD_TEST(test_set_returns_code_and_text);
    TD_TEST(test_null_error_is_allowed);
    TD_TEST(test_prefix_keeps_the_cause);
    TD_TEST(test_prefix_on_a_full_message_is_cut);
    TD_TEST(test_append_keeps_first_code_and_adds_lines);
    TD_TEST(test_overflow_is_cut_with_ellipsis);
}

TD_TEST_MAIN(add_suites)
