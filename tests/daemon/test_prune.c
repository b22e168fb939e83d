/* tdm_prune: a closed alert or suspect leaves its index once the stream
 * clock is store.closed_retention past its closure (400 days: one closed
 * 400 days before today goes, one closed 399 days before stays), oldest
 * first, with its closed entry; what is still open is never touched; a
 * closure noted twice is one; the same notes and days give the same store. */
#include "tdm_prune.h"
#include "td_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    char *root;
    tdm_store *s;
    tdm_db index, closed;
} fixture;

static void setup(fixture *f)
{
    char *dir;
    td_error err = {0};

    f->root = td_test_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->root);
    if (asprintf(&dir, "%s/state", f->root) < 0)
        CU_FAIL_FATAL("asprintf");
    CU_ASSERT_EQUAL_FATAL(tdm_store_open(dir, (size_t)1 << 24, 0, &f->s, &err), 0);
    free(dir);
    CU_ASSERT_EQUAL_FATAL(tdm_store_db(f->s, "alerts", &f->index, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_db(f->s, "alerts_closed", &f->closed, &err), 0);
}

static void teardown(fixture *f)
{
    tdm_store_close(f->s);
    td_test_rmtree(f->root);
    free(f->root);
}

static bool has(tdm_txn *t, tdm_db db, const char *k)
{
    const void *v;
    size_t n;
    td_error err = {0};
    return tdm_store_get(t, db, k, strlen(k), &v, &n, &err) == 0;
}

static size_t count(tdm_txn *t, tdm_db db)
{
    size_t n = 0;
    td_error err = {0};
    CU_ASSERT_EQUAL(tdm_store_count(t, db, &n, &err), 0);
    return n;
}

static void put(tdm_txn *t, tdm_db db, const char *k)
{
    td_error err = {0};
    CU_ASSERT_EQUAL(tdm_store_put(t, db, k, strlen(k), "hh-1\0ALERT", 10, &err), 0);
}

static void test_400_days_go_399_stay(void)
{
    const int32_t today = 20700; /* 2026-09-05 */
    fixture f;
    tdm_txn *t = NULL;
    td_error err = {0};
    size_t n = 99;

    setup(&f);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(f.s, &t, &err), 0);
    put(t, f.index, "closed-400");
    put(t, f.index, "closed-399");
    put(t, f.index, "closed-900");
    put(t, f.index, "open");
    CU_ASSERT_EQUAL(tdm_prune_note(t, f.closed, today - 400, "closed-400", &err), 0);
    CU_ASSERT_EQUAL(tdm_prune_note(t, f.closed, today - 399, "closed-399", &err), 0);
    CU_ASSERT_EQUAL(tdm_prune_note(t, f.closed, today - 900, "closed-900", &err), 0);
    CU_ASSERT_EQUAL(tdm_prune_note(t, f.closed, today - 900, "closed-900", &err), 0); /* again */
    CU_ASSERT_EQUAL(tdm_prune_note(t, f.closed, today - 500, "never-indexed", &err), 0);
    CU_ASSERT_EQUAL(count(t, f.closed), 4);
    CU_ASSERT_EQUAL(tdm_store_commit(t, &err), 0);

    /* the day before: only what closed 400 days before yesterday goes */
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(f.s, &t, &err), 0);
    CU_ASSERT_EQUAL(tdm_prune_run(t, f.closed, f.index, today - 1, 400, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 2); /* closed-900 and never-indexed */
    CU_ASSERT_FALSE(has(t, f.index, "closed-900"));
    CU_ASSERT_TRUE(has(t, f.index, "closed-400"));
    CU_ASSERT_TRUE(has(t, f.index, "closed-399"));
    CU_ASSERT_EQUAL(tdm_store_commit(t, &err), 0);

    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(f.s, &t, &err), 0);
    CU_ASSERT_EQUAL(tdm_prune_run(t, f.closed, f.index, today, 400, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_FALSE(has(t, f.index, "closed-400"));
    CU_ASSERT_TRUE(has(t, f.index, "closed-399"));
    CU_ASSERT_TRUE(has(t, f.index, "open"));
    CU_ASSERT_EQUAL(count(t, f.closed), 1);
    CU_ASSERT_EQUAL(count(t, f.index), 2);
    /* running again on the same day changes nothing */
    CU_ASSERT_EQUAL(tdm_prune_run(t, f.closed, f.index, today, 400, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(tdm_prune_run(t, f.closed, f.index, today + 1, 400, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(count(t, f.closed), 0);
    CU_ASSERT_FALSE(has(t, f.index, "closed-399"));
    CU_ASSERT_TRUE(has(t, f.index, "open"));
    /* an abort keeps everything (the batch discipline) */
    tdm_store_abort(t);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin_read(f.s, &t, &err), 0);
    CU_ASSERT_EQUAL(count(t, f.closed), 2);
    CU_ASSERT_EQUAL(count(t, f.index), 3);
    tdm_store_abort(t);
    teardown(&f);
}

static void test_exactly_399_stays(void)
{
    const int32_t today = 20700;
    fixture f;
    tdm_txn *t = NULL;
    td_error err = {0};
    size_t n = 99;

    setup(&f);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(f.s, &t, &err), 0);
    put(t, f.index, "a");
    CU_ASSERT_EQUAL(tdm_prune_note(t, f.closed, today - 399, "a", &err), 0);
    CU_ASSERT_EQUAL(tdm_prune_run(t, f.closed, f.index, today, 400, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_TRUE(has(t, f.index, "a"));
    CU_ASSERT_EQUAL(tdm_prune_run(t, f.closed, f.index, today + 1, 400, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_FALSE(has(t, f.index, "a"));
    tdm_store_abort(t);
    teardown(&f);
}

static void test_bad_input(void)
{
    fixture f;
    tdm_txn *t = NULL;
    td_error err = {0};
    char long_id[200];

    setup(&f);
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(f.s, &t, &err), 0);
    CU_ASSERT_EQUAL(tdm_prune_note(t, f.closed, 1, "", &err), -EINVAL);
    CU_ASSERT_EQUAL(tdm_prune_note(t, f.closed, 1, long_id, &err), -EINVAL);
    CU_ASSERT_EQUAL(tdm_prune_run(t, f.closed, f.index, 1, 0, NULL, &err), -EINVAL);
    /* a garbage entry (no id) is reported, not skipped */
    CU_ASSERT_EQUAL(tdm_store_put(t, f.closed, "\0\0\0", 3, "", 0, &err), 0);
    CU_ASSERT_EQUAL(tdm_prune_run(t, f.closed, f.index, 1, 1, NULL, &err), -EIO);
    tdm_store_abort(t);
    teardown(&f);
}

static void add_suites(void)
{
    td_test_suite("prune", NULL, NULL);
    TD_TEST(test_400_days_go_399_stay);
    TD_TEST(test_exactly_399_stays);
    TD_TEST(test_bad_input);
}

TD_TEST_MAIN(add_suites)
