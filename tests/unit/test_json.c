#include "td_json.h"
#include "td_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static td_json *parse_ok(const char *text)
{
    td_json *j = NULL;
    td_error err = {0};

    if (td_json_parse("t.json", text, strlen(text), &j, &err) != 0) {
        fprintf(stderr, "unexpected error: %s\n", err.msg);
        return NULL;
    }
    return j;
}

static void expect_error(const char *text, size_t len, const char *want)
{
    td_json *j = NULL;
    td_error err = {0};

    CU_ASSERT_EQUAL(td_json_parse("t.json", text, len, &j, &err), -EINVAL);
    CU_ASSERT_PTR_NULL(j);
    if (!strstr(err.msg, want)) {
        fprintf(stderr, "got \"%s\", want \"%s\"\n", err.msg, want);
        CU_FAIL("error text");
    }
}

static void test_values_and_positions(void)
{
    td_json *j = parse_ok("{\"a\": [1, -2.5e1, true, null, \"x\"],\n  \"b\": {\"c\": 9007199254740993}}");
    const td_json *a, *c;

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(j->type, TD_JSON_OBJECT);
    CU_ASSERT_EQUAL(j->len, 2);
    a = td_json_get(j, "a");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(a->type, TD_JSON_ARRAY);
    CU_ASSERT_EQUAL(a->len, 5);
    CU_ASSERT_TRUE(a->items[0]->is_integer);
    CU_ASSERT_EQUAL(a->items[0]->integer, 1);
    CU_ASSERT_FALSE(a->items[1]->is_integer);
    CU_ASSERT_DOUBLE_EQUAL(a->items[1]->number, -25.0, 1e-9);
    CU_ASSERT_EQUAL(a->items[2]->type, TD_JSON_BOOL);
    CU_ASSERT_TRUE(a->items[2]->boolean);
    CU_ASSERT_EQUAL(a->items[3]->type, TD_JSON_NULL);
    CU_ASSERT_STRING_EQUAL(a->items[4]->text, "x");
    c = td_json_get(td_json_get(j, "b"), "c");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->integer, INT64_C(9007199254740993)); /* exact beyond double */
    CU_ASSERT_EQUAL(c->line, 2);
    CU_ASSERT_EQUAL(c->col, 14);
    CU_ASSERT_PTR_NULL(td_json_get(j, "zz"));
    CU_ASSERT_PTR_NULL(td_json_get_string(j, "a"));
    td_json_free(j);
}

static void test_strings_decode_escapes_and_utf8(void)
{
    td_json *j = parse_ok("[\"\\u6237\\u7f16\\u53f7\", \"\\ud83d\\ude00\", \"a\\\"b\\\\c\\n\", \"户\"]");

    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(j->items[0]->text, "户编号");
    CU_ASSERT_STRING_EQUAL(j->items[1]->text, "\xF0\x9F\x98\x80");
    CU_ASSERT_STRING_EQUAL(j->items[2]->text, "a\"b\\c\n");
    CU_ASSERT_STRING_EQUAL(j->items[3]->text, "户");
    td_json_free(j);
}

static void test_errors_name_line_and_column(void)
{
    expect_error("{\"a\": 1,\n \"a\": 2}", 17, "t.json:2:2: duplicate key \"a\" (first at line 1, column 7)");
    expect_error("[1, 2", 5, "t.json:1:6: unterminated array");
    expect_error("{\"a\" 1}", 7, "t.json:1:6: expected ':'");
    expect_error("[01]", 4, "leading zero");
    expect_error("\"abc", 4, "t.json:1:1: unterminated string");
    expect_error("\"\\ud800\"", 8, "lone surrogate");
    expect_error("\"\xC3\x28\"", 4, "invalid UTF-8");
    expect_error("\"\xED\xA0\x80\"", 5, "invalid UTF-8"); /* encoded surrogate */
    expect_error("[1] x", 5, "t.json:1:5: unexpected text after");
    expect_error("", 0, "unexpected end of input");
    expect_error("[tru]", 5, "unexpected character 't'");
    expect_error("\"a\x01\"", 4, "control character");
    expect_error("[\"a\\q\"]", 7, "bad escape");
    expect_error("[1.]", 4, "digit expected after '.'");
}

static void test_depth_is_bounded(void)
{
    char deep[400];

    memset(deep, '[', 200);
    memset(deep + 200, ']', 200);
    expect_error(deep, sizeof(deep), "nesting deeper than 64");
    /* 64 levels are fine */
    {
        td_json *j = NULL;
        CU_ASSERT_EQUAL(td_json_parse("t", deep + 136, 128, &j, NULL), 0);
        td_json_free(j);
    }
}

static void test_embedded_nul_is_not_a_terminator(void)
{
    const char text[] = "[1]\0garbage";
    td_json *j = NULL;

    /* the given length counts, not the first NUL */
    CU_ASSERT_EQUAL(td_json_parse("t", text, sizeof(text) - 1, &j, NULL), -EINVAL);
    CU_ASSERT_EQUAL(td_json_parse("t", text, 3, &j, NULL), 0);
    td_json_free(j);
}

static void add_suites(void)
{
    td_test_suite("json", NULL, NULL);
    TD_TEST(test_values_and_positions);
    TD_TEST(test_strings_decode_escapes_and_utf8);
    TD_TEST(test_errors_name_line_and_column);
    TD_TEST(test_depth_is_bounded);
    TD_TEST(test_embedded_nul_is_not_a_terminator);
}

TD_TEST_MAIN(add_suites)
