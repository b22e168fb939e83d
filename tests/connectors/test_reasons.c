/* tdc_reasons: rejections counted by reason class (the reason without its
 * row-specific values), and the summary the connector logs at a file's end:
 * the three commonest classes quoted, commonest first, with the rest
 * counted. */
#include "td_log.h"
#include "td_test.h"
#include "tdc_reasons.h"

#include <stdio.h>
#include <string.h>

static void test_class_leaves_out_values(void)
{
    char a[256], b[256];

    CU_ASSERT_STRING_EQUAL(tdc_reason_class_of("出生日期: \"1990-13-01\" is not a date", a,
                                               sizeof(a)),
                           "出生日期: \"…\" is not a date");
    CU_ASSERT_STRING_EQUAL(tdc_reason_class_of("the row has 9 fields, the header has 10", a,
                                               sizeof(a)),
                           "the row has # fields, the header has #");
    /* a masked identity number is a value too */
    CU_ASSERT_STRING_EQUAL(tdc_reason_class_of("身份证号: ****************** has a wrong "
                                               "check character", a, sizeof(a)),
                           "身份证号: # has a wrong check character");
    /* same template, other values: one class; another column: another */
    tdc_reason_class_of("household rejected: member row 3: 残疾等级: \"五级\" is not a whole "
                        "number", a, sizeof(a));
    tdc_reason_class_of("household rejected: member row 17: 残疾等级: \"x\" is not a whole "
                        "number", b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(a, b);
    tdc_reason_class_of("household rejected: member row 17: 劳动技能: \"x\" is not a whole "
                        "number", b, sizeof(b));
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    /* an unpaired quote is kept; a small buffer cuts at a character */
    CU_ASSERT_STRING_EQUAL(tdc_reason_class_of("a \"b", a, sizeof(a)), "a \"b");
    CU_ASSERT_STRING_EQUAL(tdc_reason_class_of("收入年度", a, 5), "收");
}

static void test_summary(void)
{
    tdc_reasons t;
    char out[2048], reason[256];

    memset(&t, 0, sizeof(t));
    CU_ASSERT_STRING_EQUAL(tdc_reasons_format(&t, out, sizeof(out)), "");
    for (int i = 0; i < 5; i++) {
        snprintf(reason, sizeof(reason), "残疾等级: \"%d级\" is not a whole number", i + 5);
        tdc_reasons_add(&t, reason);
    }
    for (int i = 0; i < 7; i++)
        tdc_reasons_add(&t, "姓名: empty, but required");
    tdc_reasons_add(&t, "the row has 9 fields, the header has 10");
    tdc_reasons_add(&t, "户编号: empty");
    tdc_reasons_add(&t, "户编号: empty");
    tdc_reasons_add(&t, "更新时间: \"x\" is not a date and time");
    CU_ASSERT_EQUAL(t.total, 16);
    CU_ASSERT_EQUAL(t.nclasses, 5);
    CU_ASSERT_STRING_EQUAL(tdc_reasons_format(&t, out, sizeof(out)),
                           "7 × \"姓名: empty, but required\"; "
                           "5 × \"残疾等级: \"5级\" is not a whole number\" (e.g.); "
                           "2 × \"户编号: empty\"; and 2 more for 2 other reasons");
}

/* More classes than it keeps: counted as other, never lost. */
static void test_many_classes(void)
{
    tdc_reasons t;
    char out[2048], reason[64], want[128];

    memset(&t, 0, sizeof(t));
    for (int i = 0; i < TDC_REASONS_MAX + 4; i++) {
        snprintf(reason, sizeof(reason), "column %c: bad", 'A' + i);
        tdc_reasons_add(&t, reason);
    }
    tdc_reasons_add(&t, "column B: bad");
    CU_ASSERT_EQUAL(t.total, TDC_REASONS_MAX + 5);
    CU_ASSERT_EQUAL(t.other, 4);
    tdc_reasons_format(&t, out, sizeof(out));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "2 × \"column B: bad\"; 1 × \"column A: bad\"; "
                                       "1 × \"column C: bad\"; "));
    snprintf(want, sizeof(want), "and %d more for %d or more other reasons",
             TDC_REASONS_MAX + 5 - 4, TDC_REASONS_MAX - 3 + 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
}

static void add_suites(void)
{
    td_test_suite("reasons", NULL, NULL);
    TD_TEST(test_class_leaves_out_values);
    TD_TEST(test_summary);
    TD_TEST(test_many_classes);
}

TD_TEST_MAIN(add_suites)
