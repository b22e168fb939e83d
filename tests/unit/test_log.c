#include "td_log.h"
#include "td_test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static char captured[8][8192];
static int ncaptured;

static void capture(td_log_level level, const char *line, void *opaque)
{
    (void)level;
    (void)opaque;
    if (ncaptured < 8)
        snprintf(captured[ncaptured++], sizeof(captured[0]), "%s", line);
}

static int setup(void)
{
    td_log_setup("tuodi-test", "medical", TD_LOG_INFO, TD_LOG_TARGET_STDERR);
    td_log_set_sink(capture, NULL);
    return 0;
}

static int teardown(void)
{
    td_log_set_sink(NULL, NULL);
    return 0;
}

static void reset(void)
{
    ncaptured = 0;
    memset(captured, 0, sizeof(captured));
}

static void test_line_has_program_instance_level_component(void)
{
    reset();
    td_log_component(TD_LOG_WARNING, "spooldir", "file %s: %d rows", "a.csv", 12);
    CU_ASSERT_EQUAL(ncaptured, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(captured[0], " tuodi-test[medical] warning: spooldir: file a.csv: 12 rows"));
    /* ISO timestamp first */
    CU_ASSERT_EQUAL(captured[0][4], '-');
    CU_ASSERT_EQUAL(captured[0][10], 'T');
}

static void test_level_filter(void)
{
    reset();
    td_log_debug("hidden %d", 1);
    CU_ASSERT_EQUAL(ncaptured, 0);
    td_log_set_level(TD_LOG_DEBUG);
    td_log_debug("shown %d", 2);
    CU_ASSERT_EQUAL(ncaptured, 1);
    td_log_set_level(TD_LOG_INFO);
    CU_ASSERT_EQUAL(td_log_get_level(), TD_LOG_INFO);
}

static void test_level_parse(void)
{
    td_log_level l = TD_LOG_ERR;

    CU_ASSERT_EQUAL(td_log_level_parse("debug", &l), 0);
    CU_ASSERT_EQUAL(l, TD_LOG_DEBUG);
    CU_ASSERT_EQUAL(td_log_level_parse("warning", &l), 0);
    CU_ASSERT_EQUAL(l, TD_LOG_WARNING);
    CU_ASSERT_EQUAL(td_log_level_parse("loud", &l), -EINVAL);
    CU_ASSERT_EQUAL(l, TD_LOG_WARNING);
    CU_ASSERT_STRING_EQUAL(td_log_level_name(TD_LOG_ERR), "error");
}

static void test_identity_numbers_never_logged(void)
{
    reset();
    /* 18-digit with X, 18-digit, lower-case x, 15-digit legacy, full-width */
    td_log_error("row 7: person 34052419800101001X (alt 340524198001010014, "
                 "34052419800101001x) legacy 441900890101221 fw "
                 "\xEF\xBC\x93\xEF\xBC\x94\xEF\xBC\x90\xEF\xBC\x95\xEF\xBC\x92\xEF\xBC\x94"
                 "198001010014 bad");
    CU_ASSERT_EQUAL(ncaptured, 1);
    CU_ASSERT_PTR_NULL(strstr(captured[0], "3405241980"));
    CU_ASSERT_PTR_NULL(strstr(captured[0], "4419008901"));
    CU_ASSERT_PTR_NULL(strstr(captured[0], "198001010014"));
    CU_ASSERT_PTR_NOT_NULL(strstr(captured[0], "person ****************** (alt ******************, ******************) legacy *************** fw ****************** bad"));
    CU_ASSERT_PTR_NOT_NULL(strstr(captured[0], "row 7:"));
}

static void test_redact_keeps_other_numbers(void)
{
    char s[256];

    snprintf(s, sizeof(s), "offset 1234567 ts 1764334800123 fen 99999999999999999999 code 340421100201");
    CU_ASSERT_EQUAL(td_log_redact(s), 0);
    CU_ASSERT_STRING_EQUAL(s, "offset 1234567 ts 1764334800123 fen 99999999999999999999 code 340421100201");

    /* 19 digits with no identity number's shape in any window */
    snprintf(s, sizeof(s), "9999999999999999999 0000000000000000000000");
    CU_ASSERT_EQUAL(td_log_redact(s), 0);

    snprintf(s, sizeof(s), "x123456789012345y"); /* 15 digits between letters */
    CU_ASSERT_EQUAL(td_log_redact(s), 1);
    CU_ASSERT_STRING_EQUAL(s, "x***************y");

    snprintf(s, sizeof(s), "%s", "");
    CU_ASSERT_EQUAL(td_log_redact(s), 0);
}

/* Regression (issue 10.6): an identity number with digits glued on by a lost
 * delimiter appeared in clear in a dead letter's reason:
 * 医疗类别: unknown value "34040219810321001911". */
static void test_redact_ids_inside_longer_runs(void)
{
    static const char *const cases[] = {
        "unknown value \"34040219810321001911\"",   /* 18 + 2 glued on */
        "unknown value \"1234040219810321001X\"",   /* 1 + 17 + X */
        "unknown value \"9934040219810321001x\"",   /* 2 + 17 + x */
        "unknown value \"44190089010122177\"",      /* 15-digit legacy + 2 */
        "v 0034040219810321001534040219810321001612", /* two ids glued */
        "fw \xEF\xBC\x93\xEF\xBC\x94\xEF\xBC\x90\xEF\xBC\x95"
        "\xEF\xBC\x92\xEF\xBC\x94" "19800101001477",         /* full-width start, 20 */
    };
    static const char *const secret[] = {
        "3404021981032100", "3404021981032100", "3404021981032100", "441900890101221",
        "3404021981032100", "198001010014",
    };
    char s[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(s, sizeof(s), "%s", cases[i]);
        CU_ASSERT_EQUAL(td_log_redact(s), 1);
        CU_ASSERT_PTR_NULL(strstr(s, secret[i]));
        /* nothing of the run is left: no digit at all in these texts */
        CU_ASSERT_PTR_NULL(strpbrk(s, "0123456789"));
    }
    /* a run too long to look at window by window is masked whole */
    memset(s, '7', 100);
    s[100] = '\0';
    CU_ASSERT_EQUAL(td_log_redact(s), 1);
    CU_ASSERT_PTR_NULL(strchr(s, '7'));
}

static void test_errno_preserved(void)
{
    errno = ENOENT;
    td_log_info("something");
    CU_ASSERT_EQUAL(errno, ENOENT);
}

static void test_long_message_is_cut_not_overflowed(void)
{
    static char big[20000];

    reset();
    memset(big, 'a', sizeof(big) - 1);
    td_log_info("%s", big);
    CU_ASSERT_EQUAL(ncaptured, 1);
    CU_ASSERT(strlen(captured[0]) < 8192);
}

static void add_suites(void)
{
    td_test_suite("log", setup, teardown);
    TD_TEST(test_line_has_program_instance_level_component);
    TD_TEST(test_level_filter);
    TD_TEST(test_level_parse);
    TD_TEST(test_identity_numbers_never_logged);
    TD_TEST(test_redact_keeps_other_numbers);
    TD_TEST(test_redact_ids_inside_longer_runs);
    TD_TEST(test_errno_preserved);
    TD_TEST(test_long_message_is_cut_not_overflowed);
}

TD_TEST_MAIN(add_suites)
