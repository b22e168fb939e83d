#include "td_date.h"
#include "td_test.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

static int32_t parse(const char *s)
{
    int32_t d = -999999;
    CU_ASSERT_EQUAL(td_date_parse(s, strlen(s), &d), 0);
    return d;
}

static void test_epoch_and_known_days(void)
{
    int32_t d;
    int y, m, dd;

    CU_ASSERT_TRUE(td_date_from_ymd(1970, 1, 1, &d));
    CU_ASSERT_EQUAL(d, 0);
    CU_ASSERT_TRUE(td_date_from_ymd(2000, 3, 1, &d));
    CU_ASSERT_EQUAL(d, 11017);
    CU_ASSERT_TRUE(td_date_from_ymd(1969, 12, 31, &d));
    CU_ASSERT_EQUAL(d, -1);
    CU_ASSERT_TRUE(td_date_from_ymd(2026, 11, 28, &d));
    CU_ASSERT_EQUAL(d, 20785);
    td_date_to_ymd(20785, &y, &m, &dd);
    CU_ASSERT(y == 2026 && m == 11 && dd == 28);
    /* round trip over a wide range */
    for (int32_t k = -719000; k < 2900000; k += 997) /* years 1 to 9909 */ {
        int32_t back;
        td_date_to_ymd(k, &y, &m, &dd);
        CU_ASSERT_TRUE(td_date_from_ymd(y, m, dd, &back));
        CU_ASSERT_EQUAL(back, k);
    }
}

static void test_impossible_dates(void)
{
    int32_t d;

    CU_ASSERT_FALSE(td_date_from_ymd(2023, 2, 29, &d));
    CU_ASSERT_TRUE(td_date_from_ymd(2024, 2, 29, &d));
    CU_ASSERT_FALSE(td_date_from_ymd(1900, 2, 29, &d));
    CU_ASSERT_TRUE(td_date_from_ymd(2000, 2, 29, &d));
    CU_ASSERT_FALSE(td_date_from_ymd(2023, 4, 31, &d));
    CU_ASSERT_FALSE(td_date_from_ymd(2023, 13, 1, &d));
    CU_ASSERT_FALSE(td_date_from_ymd(2023, 0, 1, &d));
    CU_ASSERT_FALSE(td_date_from_ymd(2023, 1, 0, &d));
    CU_ASSERT_FALSE(td_date_from_ymd(10000, 1, 1, &d));

    /* what tuodictl says of a day that does not exist */
    CU_ASSERT_EQUAL(td_date_days_in_month(2023, 2), 28);
    CU_ASSERT_EQUAL(td_date_days_in_month(2024, 2), 29);
    CU_ASSERT_EQUAL(td_date_days_in_month(1900, 2), 28);
    CU_ASSERT_EQUAL(td_date_days_in_month(2000, 2), 29);
    CU_ASSERT_EQUAL(td_date_days_in_month(2023, 4), 30);
    CU_ASSERT_EQUAL(td_date_days_in_month(2023, 12), 31);
    CU_ASSERT_EQUAL(td_date_days_in_month(2023, 13), 0);
    CU_ASSERT_EQUAL(td_date_days_in_month(0, 1), 0);
}

static void test_department_formats(void)
{
    int32_t want;

    td_date_from_ymd(2023, 5, 1, &want);
    CU_ASSERT_EQUAL(parse("2023-05-01"), want);
    CU_ASSERT_EQUAL(parse("2023/5/1"), want);
    CU_ASSERT_EQUAL(parse("2023.05.01"), want);
    CU_ASSERT_EQUAL(parse("20230501"), want);
    CU_ASSERT_EQUAL(parse("2023年5月1日"), want);
    CU_ASSERT_EQUAL(parse(" 2023-05-01 00:00:00 "), want);
    CU_ASSERT_EQUAL(parse("2023-05-01T08:30"), want);
}

static void test_bad_texts(void)
{
    static const char *bad[] = {"", "2023", "2023-5", "23-05-01", "2023-02-30", "20231301",
                                "2023-05-01x", "2023--05-01", "abcd-05-01", "2023年5月"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int32_t d = 12345;
        CU_ASSERT_EQUAL(td_date_parse(bad[i], strlen(bad[i]), &d), -EINVAL);
        CU_ASSERT_EQUAL(d, 12345); /* untouched on error */
    }
}

static void test_format_weekday_working_days_age(void)
{
    char buf[16];
    int32_t fri, mon, birth, on;

    td_date_format(0, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "1970-01-01");
    td_date_from_ymd(2026, 11, 27, &fri);
    CU_ASSERT_EQUAL(td_date_weekday(fri), 4);
    CU_ASSERT_EQUAL(td_date_weekday(0), 3);
    CU_ASSERT_EQUAL(td_date_weekday(-1), 2);
    /* Friday + 2 working days = Tuesday */
    td_date_from_ymd(2026, 12, 1, &mon);
    CU_ASSERT_EQUAL(td_date_add_working_days(fri, 2), mon);
    /* 20 working days = 4 weeks */
    CU_ASSERT_EQUAL(td_date_add_working_days(fri, 20), fri + 28);
    /* a Saturday start: 1 working day = Monday */
    CU_ASSERT_EQUAL(td_date_add_working_days(fri + 1, 1), fri + 3);
    /* a date from outside at the end of the range: saturates, never wraps
     * (the due date of an alert or suspect on such a day) */
    CU_ASSERT_EQUAL(td_date_add_working_days(INT32_MAX - 3, 20), INT32_MAX);
    CU_ASSERT_EQUAL(td_date_add_working_days(INT32_MAX, 2), INT32_MAX);

    td_date_from_ymd(1980, 3, 15, &birth);
    td_date_from_ymd(2020, 3, 14, &on);
    CU_ASSERT_EQUAL(td_date_age(birth, on), 39);
    CU_ASSERT_EQUAL(td_date_age(birth, on + 1), 40);
}

static void add_suites(void)
{
    td_test_suite("date", NULL, NULL);
    TD_TEST(test_epoch_and_known_days);
    TD_TEST(test_impossible_dates);
    TD_TEST(test_department_formats);
    TD_TEST(test_bad_texts);
    TD_TEST(test_format_weekday_working_days_age);
}

TD_TEST_MAIN(add_suites)
