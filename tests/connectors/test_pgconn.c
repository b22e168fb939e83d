/* The postgres readers' shared helpers (connectors/sources/tdc_pgconn.h)
 * that need no server: a row's raw JSON (escaping, SQL NULL, growth), a
 * message on one line, the reconnect backoff, the offline conninfo check,
 * the columns setting's check and copy, and the failure text and class
 * without a connection. The rest (SQLSTATE classes, connecting) runs
 * against a real PostgreSQL in tests/integration (postgres_source,
 * postgres_snapshot, pglogical_source). */
#include "td_test.h"
#include "tdc_pgconn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_raw_json(void)
{
    tdc_pg_raw raw = {0};
    const char ctl[] = {'a', '"', '\\', '\n', '\r', '\t', 0x01, 0x1f, 'z'};

    CU_ASSERT_EQUAL(tdc_pg_raw_begin(&raw), 0);
    CU_ASSERT_EQUAL(tdc_pg_raw_end(&raw), 0);
    CU_ASSERT_STRING_EQUAL(raw.buf, "{}");

    CU_ASSERT_EQUAL(tdc_pg_raw_begin(&raw), 0);
    CU_ASSERT_EQUAL(tdc_pg_raw_field(&raw, "id", "42", 2, false), 0);
    CU_ASSERT_EQUAL(tdc_pg_raw_field(&raw, "gone", NULL, 0, true), 0);
    CU_ASSERT_EQUAL(tdc_pg_raw_field(&raw, "q\"k", ctl, sizeof(ctl), false), 0);
    CU_ASSERT_EQUAL(tdc_pg_raw_field(&raw, "empty", "", 0, false), 0);
    CU_ASSERT_EQUAL(tdc_pg_raw_end(&raw), 0);
    CU_ASSERT_STRING_EQUAL(raw.buf, "{\"id\":\"42\",\"gone\":null,"
                                    "\"q\\\"k\":\"a\\\"\\\\\\n\\r\\t\\u0001\\u001fz\","
                                    "\"empty\":\"\"}");
    CU_ASSERT_EQUAL(raw.len, strlen(raw.buf));

    /* a value with a NUL byte keeps it (escaped), and begin starts over */
    CU_ASSERT_EQUAL(tdc_pg_raw_begin(&raw), 0);
    CU_ASSERT_EQUAL(tdc_pg_raw_field(&raw, "n", "a\0b", 3, false), 0);
    CU_ASSERT_EQUAL(tdc_pg_raw_end(&raw), 0);
    CU_ASSERT_STRING_EQUAL(raw.buf, "{\"n\":\"a\\u0000b\"}");
    tdc_pg_raw_free(&raw);
    CU_ASSERT_PTR_NULL(raw.buf);
    tdc_pg_raw_free(NULL);
}

static void test_raw_json_grows(void)
{
    tdc_pg_raw raw = {0};
    size_t n = 100000;
    char *big = malloc(n);

    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, '\n', n);
    CU_ASSERT_EQUAL(tdc_pg_raw_begin(&raw), 0);
    CU_ASSERT_EQUAL(tdc_pg_raw_field(&raw, "v", big, n, false), 0);
    CU_ASSERT_EQUAL(tdc_pg_raw_end(&raw), 0);
    /* {"v":" + n * \n + "} */
    CU_ASSERT_EQUAL(raw.len, 6 + 2 * n + 2);
    CU_ASSERT_EQUAL(raw.len, strlen(raw.buf));
    CU_ASSERT(raw.cap > raw.len);
    CU_ASSERT_STRING_EQUAL(raw.buf + raw.len - 4, "\\n\"}");
    free(big);
    tdc_pg_raw_free(&raw);
}

static void test_one_line(void)
{
    char buf[64], small[6];

    tdc_pg_one_line(buf, sizeof(buf), "FATAL:  role \"x\" does not exist\n");
    CU_ASSERT_STRING_EQUAL(buf, "FATAL: role \"x\" does not exist");
    tdc_pg_one_line(buf, sizeof(buf), "\t a\r\n\n b \t");
    CU_ASSERT_STRING_EQUAL(buf, "a b");
    tdc_pg_one_line(buf, sizeof(buf), NULL);
    CU_ASSERT_STRING_EQUAL(buf, "");
    tdc_pg_one_line(small, sizeof(small), "abcdefgh");
    CU_ASSERT_STRING_EQUAL(small, "abcde");
}

static void test_backoff(void)
{
    int64_t b = TDC_PG_BACKOFF_FIRST_MS;

    CU_ASSERT_EQUAL(b, 100);
    b = tdc_pg_backoff_next(b, 30000);
    CU_ASSERT_EQUAL(b, 200);
    for (int i = 0; i < 20; i++)
        b = tdc_pg_backoff_next(b, 30000);
    CU_ASSERT_EQUAL(b, 30000);
    CU_ASSERT_EQUAL(tdc_pg_backoff_next(100, 150), 150);
}

static void test_conninfo(void)
{
    td_error err = {0};

    CU_ASSERT_TRUE(tdc_pg_conninfo_has_keys("host=h dbname=d"));
    CU_ASSERT_TRUE(tdc_pg_conninfo_has_keys("postgresql://u@h/d"));
    CU_ASSERT_TRUE(tdc_pg_conninfo_has_keys("postgres://h/d"));
    CU_ASSERT_FALSE(tdc_pg_conninfo_has_keys("settlements"));

    CU_ASSERT_EQUAL(tdc_pg_conninfo_check("host=h dbname=d", &err), 0);
    CU_ASSERT_EQUAL(tdc_pg_conninfo_check("settlements", &err), 0);
    CU_ASSERT_EQUAL(tdc_pg_conninfo_check("", &err), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "postgres: conninfo is empty");
    CU_ASSERT_EQUAL(tdc_pg_conninfo_check(NULL, &err), -EINVAL);
    /* an unknown key: refused, and the text (a password) is not repeated */
    CU_ASSERT_EQUAL(tdc_pg_conninfo_check("host=h password=Secr3t nosuchkey=1", &err),
                    -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a valid libpq connection string"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, "Secr3t"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, "nosuchkey"));
}

static void test_columns(void)
{
    char *ok[] = {"id", "name", "Name"};
    char *twice[] = {"id", "name", "id"};
    char *empty[] = {"id", ""};
    char *null[] = {NULL};
    char **copy = (char **)1;
    size_t n = 7;
    td_error err = {0};

    CU_ASSERT_EQUAL(tdc_pg_columns_check("public.t", ok, 3, &err), 0);
    CU_ASSERT_EQUAL(tdc_pg_columns_check("public.t", NULL, 0, &err), 0);
    CU_ASSERT_EQUAL(tdc_pg_columns_check("public.t", twice, 3, &err), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "postgres: public.t: column \"id\" is listed twice");
    CU_ASSERT_EQUAL(tdc_pg_columns_check("public.t", empty, 2, &err), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "postgres: public.t: columns[1] is empty");
    CU_ASSERT_EQUAL(tdc_pg_columns_check("public.t", null, 1, &err), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "postgres: public.t: columns[0] is empty");

    CU_ASSERT_EQUAL(tdc_pg_columns_dup(NULL, 0, &copy, &n), 0);
    CU_ASSERT_PTR_NULL(copy);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(tdc_pg_columns_dup(ok, 3, &copy, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_STRING_EQUAL(copy[i], ok[i]);
        CU_ASSERT_PTR_NOT_EQUAL(copy[i], ok[i]);
    }
    tdc_pg_columns_free(copy, n);
    tdc_pg_columns_free(NULL, 3);
    tdc_pg_conninfo_free(NULL);
    tdc_pg_conninfo_free(strdup("host=h password=x"));
}

static void test_failure_without_connection(void)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);

    CU_ASSERT_TRUE(tdc_pg_transient(NULL, NULL));
    CU_ASSERT_TRUE(tdc_pg_transient(NULL, res));
    CU_ASSERT_STRING_EQUAL(tdc_pg_error_text(NULL, NULL), "no connection");
    CU_ASSERT_STRING_EQUAL(tdc_pg_error_text(NULL, res), "no connection");
    PQclear(res);
}

static void add_suites(void)
{
    td_test_suite("pgconn", NULL, NULL);
    TD_TEST(test_raw_json);
    TD_TEST(test_raw_json_grows);
    TD_TEST(test_one_line);
    TD_TEST(test_backoff);
    TD_TEST(test_conninfo);
    TD_TEST(test_columns);
    TD_TEST(test_failure_without_connection);
}

TD_TEST_MAIN(add_suites)
