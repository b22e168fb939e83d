#include "td_money.h"
#include "td_test.h"

#include <errno.h>
#include <string.h>

static void ok(const char *s, int64_t want)
{
    int64_t fen = -1;
    CU_ASSERT_EQUAL(td_money_parse_yuan(s, strlen(s), &fen), 0);
    CU_ASSERT_EQUAL(fen, want);
}

static void bad(const char *s, int want_rc)
{
    int64_t fen = 777;
    CU_ASSERT_EQUAL(td_money_parse_yuan(s, strlen(s), &fen), want_rc);
    CU_ASSERT_EQUAL(fen, 777);
}

static void test_parse(void)
{
    ok("0", 0);
    ok("1234", 123400);
    ok("1234.5", 123450);
    ok("1234.56", 123456);
    ok("0.01", 1);
    ok(".5", 50);
    ok("-12.30", -1230);
    ok("+7", 700);
    ok(" 5000.00 ", 500000);
    ok("12,345.60", 1234560);
    ok("1,234,567", 123456700);
    ok("900000000000000", INT64_C(90000000000000000));
}

static void test_reject(void)
{
    bad("", -EINVAL);
    bad(" ", -EINVAL);
    bad("-", -EINVAL);
    bad(".", -EINVAL);
    bad("1.234", -EINVAL);   /* three decimals: not money */
    bad("1e3", -EINVAL);
    bad("12a", -EINVAL);
    bad("1,23", -EINVAL);
    bad("1234,567", -EINVAL);
    bad(",123", -EINVAL);
    bad("1.2.3", -EINVAL);
    bad("¥12", -EINVAL);
    bad("900000000000001", -ERANGE);
    bad("99999999999999999999999", -ERANGE);
}

static void test_format(void)
{
    char buf[32];

    td_money_format_yuan(123450, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "1234.50");
    td_money_format_yuan(-5, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "-0.05");
    td_money_format_yuan(INT64_MIN, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "-92233720368547758.08");
}

static void add_suites(void)
{
    td_test_suite("money", NULL, NULL);
    TD_TEST(test_parse);
    TD_TEST(test_reject);
    TD_TEST(test_format);
}

TD_TEST_MAIN(add_suites)
