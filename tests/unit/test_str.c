/* Unit tests for td_str: the growing buffer (growth, oom, steal, reset),
 * printf into a string, the one "did you mean" rule at its boundaries, digit
 * checks and the name check. */
#include "td_str.h"
#include "td_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_buf(void)
{
    td_str_buf b = {0};
    char *s;

    /* nothing added: "" (a string, not NULL) */
    s = td_str_buf_steal(&b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s, "");
    free(s);
    CU_ASSERT_PTR_NULL(b.p);

    td_str_buf_add(&b, "SELECT ");
    td_str_buf_addn(&b, "t.idXXX", 4);
    td_str_buf_addn(&b, NULL, 0);
    td_str_buf_addf(&b, " LIMIT $%d::bigint", 3);
    CU_ASSERT_STRING_EQUAL(b.p, "SELECT t.id LIMIT $3::bigint");
    CU_ASSERT_EQUAL(b.len, strlen(b.p));
    s = td_str_buf_steal(&b);
    CU_ASSERT_STRING_EQUAL(s, "SELECT t.id LIMIT $3::bigint");
    free(s);
    CU_ASSERT(b.p == NULL && b.len == 0 && b.cap == 0 && !b.oom);

    /* growth over many doublings, and addf past its stack buffer */
    char big[1000];
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (int i = 0; i < 100; i++)
        td_str_buf_add(&b, "0123456789");
    td_str_buf_addf(&b, "<%s>", big);
    CU_ASSERT_EQUAL(b.len, 1000 + 2 + 999);
    CU_ASSERT_EQUAL(strlen(b.p), b.len);
    CU_ASSERT_EQUAL(b.p[1000], '<');
    CU_ASSERT_EQUAL(b.p[b.len - 1], '>');
    CU_ASSERT(b.cap > b.len);
    td_str_buf_reset(&b);
    CU_ASSERT(b.p == NULL && b.len == 0 && b.cap == 0);
    td_str_buf_reset(NULL);

    /* a size that cannot be had: oom, later appends ignored, steal NULL */
    td_str_buf_add(&b, "abc");
    td_str_buf_addn(&b, "x", SIZE_MAX / 2);
    CU_ASSERT(b.oom);
    td_str_buf_add(&b, "def");
    CU_ASSERT_STRING_EQUAL(b.p, "abc");
    CU_ASSERT_PTR_NULL(td_str_buf_steal(&b));
    CU_ASSERT(b.p == NULL && !b.oom);
    /* usable again after the steal */
    td_str_buf_add(&b, "ok");
    s = td_str_buf_steal(&b);
    CU_ASSERT_STRING_EQUAL(s, "ok");
    free(s);
}

static char *vp(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *vp(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = td_str_vprintf(fmt, ap);
    va_end(ap);
    return s;
}

static void test_printf(void)
{
    char *s = td_str_printf("%s:%d:%d: %s", "f.yaml", 3, 14, "bad");
    CU_ASSERT_STRING_EQUAL(s, "f.yaml:3:14: bad");
    free(s);
    s = td_str_printf("%s", "");
    CU_ASSERT_STRING_EQUAL(s, "");
    free(s);
    char big[5000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    s = vp("[%s]", big);
    CU_ASSERT_EQUAL(strlen(s), 5000 + 1);
    free(s);
}

static const char *sugg(const char *word, const char *const *names)
{
    td_str_suggest s;
    td_str_suggest_init(&s, word);
    for (; *names; names++)
        td_str_suggest_add(&s, *names);
    return td_str_suggest_best(&s);
}

static void test_suggest(void)
{
    static const char *const keys[] = {"workers", "bootstrap_servers", "name", "warning",
                                       "out_of_pocket_fen", "total_cost_fen", NULL};
    static const char *const none[] = {NULL};
    const char *r;

    r = sugg("wrokers", keys);            /* a swap: 1 edit */
    CU_ASSERT(r && strcmp(r, "workers") == 0);
    r = sugg("bootstrap_server", keys);   /* a letter missing */
    CU_ASSERT(r && strcmp(r, "bootstrap_servers") == 0);
    r = sugg("nme", keys);
    CU_ASSERT(r && strcmp(r, "name") == 0);
    r = sugg("warn", keys);               /* 3 edits; the start of "warning" */
    CU_ASSERT(r && strcmp(r, "warning") == 0);
    r = sugg("out_of", keys);             /* the start of one */
    CU_ASSERT(r && strcmp(r, "out_of_pocket_fen") == 0);
    CU_ASSERT_PTR_NULL(sugg("wa", keys));        /* too short to be a start */
    CU_ASSERT_PTR_NULL(sugg("xyzzy", keys));     /* nothing close */
    CU_ASSERT_PTR_NULL(sugg("nm", keys));        /* 2 edits from "name", only 2 bytes */
    CU_ASSERT_PTR_NULL(sugg("workers_xyz", keys)); /* 4 edits */
    CU_ASSERT_PTR_NULL(sugg("anything", none));

    /* closer wins over earlier; on a tie the first offered */
    static const char *const tie[] = {"abcx", "abcy", "abcd", NULL};
    r = sugg("abcd", tie);
    CU_ASSERT(r && strcmp(r, "abcd") == 0);
    r = sugg("abcz", tie);
    CU_ASSERT(r && strcmp(r, "abcx") == 0);
    /* a NULL candidate is passed over */
    td_str_suggest s;
    td_str_suggest_init(&s, "nam");
    td_str_suggest_add(&s, NULL);
    td_str_suggest_add(&s, "name");
    CU_ASSERT_STRING_EQUAL(td_str_suggest_best(&s), "name");
}

static void test_digits(void)
{
    CU_ASSERT(td_str_all_digits("0123456789", 10));
    CU_ASSERT(td_str_all_digits("12ab", 2));     /* only len bytes */
    CU_ASSERT(td_str_all_digits("", 0));
    CU_ASSERT_FALSE(td_str_all_digits("12a", 3));
    CU_ASSERT_FALSE(td_str_all_digits("１２", 2)); /* full-width: not ASCII digits */
    CU_ASSERT_FALSE(td_str_all_digits("/:", 1));   /* the bytes around '0'..'9' */
    CU_ASSERT_FALSE(td_str_all_digits(":", 1));

    CU_ASSERT(td_str_digits("34", 2));
    CU_ASSERT(td_str_digits("2023", 4));
    CU_ASSERT(td_str_digits("", 0));
    CU_ASSERT_FALSE(td_str_digits("342", 2));    /* longer */
    CU_ASSERT_FALSE(td_str_digits("3", 2));      /* shorter */
    CU_ASSERT_FALSE(td_str_digits("3a", 2));
    CU_ASSERT_FALSE(td_str_digits(" 34", 3));
    CU_ASSERT_FALSE(td_str_digits(NULL, 0));
}

static void test_name(void)
{
    char s[102];

    CU_ASSERT(td_str_name_ok("huainan-1", 100));
    CU_ASSERT(td_str_name_ok("A.b_C-9", 100));
    CU_ASSERT_FALSE(td_str_name_ok("", 100));
    CU_ASSERT_FALSE(td_str_name_ok(NULL, 100));
    CU_ASSERT_FALSE(td_str_name_ok("a b", 100));
    CU_ASSERT_FALSE(td_str_name_ok("a/b", 100));
    CU_ASSERT_FALSE(td_str_name_ok("淮南", 100));
    CU_ASSERT_FALSE(td_str_name_ok("a:b", 100));
    memset(s, 'a', 100);
    s[100] = '\0';
    CU_ASSERT(td_str_name_ok(s, 100));           /* exactly max */
    s[100] = 'a';
    s[101] = '\0';
    CU_ASSERT_FALSE(td_str_name_ok(s, 100));     /* one over */
}

static void add_suites(void)
{
    td_test_suite("str", NULL, NULL);
    TD_TEST(test_buf);
    TD_TEST(test_printf);
    TD_TEST(test_suggest);
    TD_TEST(test_digits);
    TD_TEST(test_name);
}

TD_TEST_MAIN(add_suites)
