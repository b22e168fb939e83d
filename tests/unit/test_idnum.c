#include "td_idnum.h"
#include "td_date.h"
#include "td_test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int32_t today(void)
{
    int32_t d;
    td_date_from_ymd(2026, 11, 28, &d);
    return d;
}

static void expect_ok(const char *in, const char *want)
{
    char out[TD_IDNUM_LEN + 1];
    td_error err = {0};

    if (td_idnum_normalize(in, strlen(in), today(), out, &err) != 0) {
        fprintf(stderr, "unexpected: %s\n", err.msg);
        CU_FAIL("normalize failed");
        return;
    }
    CU_ASSERT_STRING_EQUAL(out, want);
}

static void expect_bad(const char *in, const char *phrase)
{
    char out[TD_IDNUM_LEN + 1] = "untouched";
    td_error err = {0};

    CU_ASSERT_EQUAL(td_idnum_normalize(in, strlen(in), today(), out, &err), -EINVAL);
    CU_ASSERT_STRING_EQUAL(out, "untouched");
    if (!strstr(err.msg, phrase)) {
        fprintf(stderr, "got \"%s\" want \"%s\"\n", err.msg, phrase);
        CU_FAIL("reason");
    }
    /* the reason never carries digits of the number */
    CU_ASSERT_PTR_NULL(strstr(err.msg, "1980"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, "3405"));
}

static void test_check_character(void)
{
    /* domain.md: body 34052419800101001 -> X */
    CU_ASSERT_EQUAL(td_idnum_check_char("34052419800101001"), 'X');
    CU_ASSERT_EQUAL(td_idnum_check_char("44190019890101221"), '9');
}

static void test_normal_forms(void)
{
    expect_ok("34052419800101001X", "34052419800101001X");
    expect_ok("34052419800101001x", "34052419800101001X");
    expect_ok("  34052419800101001X\t", "34052419800101001X");
    /* legacy 15 digits (domain.md example) */
    expect_ok("441900890101221", "441900198901012219");
    /* full-width digits and X, ideographic spaces */
    expect_ok("\xE3\x80\x80\xEF\xBC\x93\xEF\xBC\x94" "052419800101001\xEF\xBC\xB8\xE3\x80\x80",
              "34052419800101001X");
}

static void test_rejections(void)
{
    expect_bad("", "empty");
    expect_bad("34052419800101001", "has 17 characters");
    expect_bad("3405241980010100123", "longer than 18");
    expect_bad("34052419800101001Y", "other than digits");
    expect_bad("340524198001010019", "check character is wrong");
    expect_bad("3405241980X101001X", "X before its last");
    expect_bad("34052419800231001X", "not a real date");   /* Feb 31 */
    expect_bad("340524203001010014", "in the future");
    expect_bad("340524180001010014", "not a real date");   /* before 1900 */
    expect_bad("05052419800101001X", "not a province");
    expect_bad("44190089010122X", "15-digit identity number contains X");
}

static void test_every_valid_check_passes_and_others_fail(void)
{
    char id[19] = "34042119900615123";
    char out[19];

    for (char c = '0'; c <= '9'; c++) {
        id[17] = c;
        id[18] = '\0';
        CU_ASSERT_EQUAL(td_idnum_normalize(id, 18, today(), out, NULL) == 0,
                        c == td_idnum_check_char(id));
    }
    id[17] = 'X';
    CU_ASSERT_EQUAL(td_idnum_normalize(id, 18, today(), out, NULL) == 0,
                    'X' == td_idnum_check_char(id));
}

static void test_birth_and_sex(void)
{
    int32_t want;

    td_date_from_ymd(1980, 1, 1, &want);
    CU_ASSERT_EQUAL(td_idnum_birth_date("34052419800101001X"), want);
    CU_ASSERT_EQUAL(td_idnum_sex("34052419800101001X"), 1);  /* 1 odd: male */
    CU_ASSERT_EQUAL(td_idnum_sex("441900198901012219"), 1);  /* sequence 221: male */
    CU_ASSERT_EQUAL(td_idnum_sex("340524198001010024"), 2);  /* sequence 002: female */
}

static void test_pseudonym_is_hmac_sha256(void)
{
    unsigned char key[32];
    char a[65], b[65];

    memset(key, 'k', sizeof(key));
    CU_ASSERT_EQUAL(td_idnum_pseudonymize(key, sizeof(key), "34052419800101001X", a), 0);
    /* printf %s 34052419800101001X | openssl dgst -sha256 -hmac kkkk...k (32 k) */
    CU_ASSERT_STRING_EQUAL(a, "e777d3edeea22de89dd543b9bfcfbc09b7ff179677f92673bec2d619af9f636d");
    CU_ASSERT_EQUAL(strlen(a), 64);
    key[0] = 'K';
    CU_ASSERT_EQUAL(td_idnum_pseudonymize(key, sizeof(key), "34052419800101001X", b), 0);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    CU_ASSERT_EQUAL(td_idnum_pseudonymize(key, 31, "34052419800101001X", b), -EINVAL);
}

static void add_suites(void)
{
    td_test_suite("idnum", NULL, NULL);
    TD_TEST(test_check_character);
    TD_TEST(test_normal_forms);
    TD_TEST(test_rejections);
    TD_TEST(test_every_valid_check_passes_and_others_fail);
    TD_TEST(test_birth_and_sex);
    TD_TEST(test_pseudonym_is_hmac_sha256);
}

TD_TEST_MAIN(add_suites)
