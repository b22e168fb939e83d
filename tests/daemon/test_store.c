/* tdm_store: named databases, one write transaction at a time, offsets in
 * the same transaction as the state, abort leaves nothing, reopen keeps the
 * data, and a corrupt, foreign or other-format environment is reset (and
 * says so) into a usable store. */
#include "tdm_store.h"
#include "td_test.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *state_dir(char **root)
{
    char *dir;

    *root = td_test_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(*root);
    if (asprintf(&dir, "%s/state/matchd", *root) < 0)
        CU_FAIL_FATAL("asprintf");
    return dir;
}

static tdm_store *open_ok(const char *dir, size_t map_size)
{
    tdm_store *s = NULL;
    td_error err = {0};
    int r = tdm_store_open(dir, map_size, &s, &err);

    if (r != 0)
        fprintf(stderr, "\n%s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(r, 0);
    return s;
}

static void put_str(tdm_txn *t, tdm_db db, const char *k, const char *v)
{
    td_error err = {0};
    CU_ASSERT_EQUAL(tdm_store_put(t, db, k, strlen(k), v, strlen(v), &err), 0);
}

/* 1 when db holds k -> v, 0 when k is absent, -1 otherwise. */
static int has_str(tdm_txn *t, tdm_db db, const char *k, const char *v)
{
    const void *got;
    size_t len;
    int r = tdm_store_get(t, db, k, strlen(k), &got, &len, NULL);

    if (r == -ENOENT)
        return 0;
    if (r != 0)
        return -1;
    return len == strlen(v) && memcmp(got, v, len) == 0 ? 1 : -1;
}

static void test_fresh_put_get_del(void)
{
    char *root, *dir = state_dir(&root);
    tdm_store *s = open_ok(dir, 0);
    td_error err = {0};
    tdm_txn *t, *t2;
    tdm_db db;
    size_t n;
    int64_t off;

    CU_ASSERT_FALSE(tdm_store_was_reset(s));
    CU_ASSERT(tdm_store_max_key_len(s) >= 511);
    CU_ASSERT_EQUAL(tdm_store_db(s, "meta", &db, &err), -EINVAL);
    CU_ASSERT_EQUAL_FATAL(tdm_store_db(s, "things", &db, &err), 0);

    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t, &err), 0);
    CU_ASSERT_EQUAL(tdm_store_begin(s, &t2, &err), -EBUSY);
    CU_ASSERT_EQUAL(tdm_store_db(s, "other", &db, &err), -EBUSY);
    CU_ASSERT_EQUAL(tdm_store_offset_get(t, "tuodi.roster.households", 0, &off, &err), -ENOENT);
    put_str(t, db, "a", "1");
    put_str(t, db, "b", "2");
    put_str(t, db, "a", "one");
    CU_ASSERT_EQUAL(has_str(t, db, "a", "one"), 1);
    CU_ASSERT_EQUAL(tdm_store_del(t, db, "b", 1, &err), 0);
    CU_ASSERT_EQUAL(tdm_store_del(t, db, "b", 1, &err), -ENOENT);
    CU_ASSERT_EQUAL(tdm_store_put(t, db, "", 0, "x", 1, &err), -EINVAL);
    CU_ASSERT_EQUAL(tdm_store_count(t, db, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(tdm_store_commit(t, &err), 0);

    /* The write transaction is over: another may begin. */
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin_read(s, &t, &err), 0);
    CU_ASSERT_EQUAL(has_str(t, db, "a", "one"), 1);
    CU_ASSERT_EQUAL(has_str(t, db, "b", "2"), 0);
    CU_ASSERT_EQUAL(tdm_store_put(t, db, "c", 1, "3", 1, &err), -EROFS);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t2, &err), 0); /* beside a reader */
    tdm_store_abort(t2);
    tdm_store_abort(t);

    tdm_store_close(s);
    td_test_rmtree(root);
    free(root);
    free(dir);
}

/* tdm_store_first: the smallest key by bytes (the due index relies on it:
 * big-endian days sort in date order), the writes of the open transaction
 * included, -ENOENT when empty. */
static void test_first_in_key_order(void)
{
    char *root, *dir = state_dir(&root);
    tdm_store *s = open_ok(dir, 0);
    td_error err = {0};
    tdm_txn *t;
    tdm_db db;
    const void *k, *v;
    size_t klen, vlen;
    static const unsigned char late[] = {0x80, 0x00, 0x4f, 0x10, 'b'};
    static const unsigned char early[] = {0x80, 0x00, 0x4e, 0xff, 'z'};
    static const unsigned char earlier[] = {0x7f, 0xff, 0xff, 0xff, 'a'};

    CU_ASSERT_EQUAL_FATAL(tdm_store_db(s, "due", &db, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t, &err), 0);
    CU_ASSERT_EQUAL(tdm_store_first(t, db, &k, &klen, &v, &vlen, &err), -ENOENT);
    CU_ASSERT_EQUAL(tdm_store_put(t, db, late, sizeof(late), "L", 1, &err), 0);
    CU_ASSERT_EQUAL(tdm_store_put(t, db, early, sizeof(early), "E", 1, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_first(t, db, &k, &klen, &v, &vlen, &err), 0);
    CU_ASSERT(klen == sizeof(early) && memcmp(k, early, klen) == 0);
    CU_ASSERT(vlen == 1 && memcmp(v, "E", 1) == 0);
    CU_ASSERT_EQUAL(tdm_store_put(t, db, earlier, sizeof(earlier), "A", 1, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_first(t, db, &k, &klen, &v, &vlen, &err), 0);
    CU_ASSERT(vlen == 1 && memcmp(v, "A", 1) == 0);
    CU_ASSERT_EQUAL(tdm_store_del(t, db, earlier, sizeof(earlier), &err), 0);
    CU_ASSERT_EQUAL(tdm_store_del(t, db, early, sizeof(early), &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_first(t, db, &k, &klen, &v, &vlen, &err), 0);
    CU_ASSERT(vlen == 1 && memcmp(v, "L", 1) == 0);
    CU_ASSERT_EQUAL(tdm_store_commit(t, &err), 0);
    tdm_store_close(s);
    td_test_rmtree(root);
    free(root);
    free(dir);
}

static void test_offsets_with_state_and_reopen(void)
{
    char *root, *dir = state_dir(&root);
    tdm_store *s = open_ok(dir, 0);
    td_error err = {0};
    tdm_txn *t;
    tdm_db db;
    int64_t off;

    CU_ASSERT_EQUAL_FATAL(tdm_store_db(s, "things", &db, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t, &err), 0);
    put_str(t, db, "k", "v");
    CU_ASSERT_EQUAL(tdm_store_offset_set(t, "tuodi.roster.households", 0, 41, &err), 0);
    CU_ASSERT_EQUAL(tdm_store_offset_set(t, "tuodi.roster.households", 3, INT64_MAX, &err), 0);
    CU_ASSERT_EQUAL(tdm_store_offset_set(t, "tuodi.medical", 2, -1, &err), 0);
    CU_ASSERT_EQUAL(tdm_store_offset_set(t, "", 2, 5, &err), -EINVAL);
    CU_ASSERT_EQUAL(tdm_store_offset_set(t, "x", -1, 5, &err), -EINVAL);
    CU_ASSERT_EQUAL(tdm_store_commit(t, &err), 0);
    tdm_store_close(s);

    s = open_ok(dir, 0);
    CU_ASSERT_FALSE(tdm_store_was_reset(s));
    CU_ASSERT_EQUAL_FATAL(tdm_store_db(s, "things", &db, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin_read(s, &t, &err), 0);
    CU_ASSERT_EQUAL(has_str(t, db, "k", "v"), 1);
    CU_ASSERT_EQUAL(tdm_store_offset_get(t, "tuodi.roster.households", 0, &off, &err), 0);
    CU_ASSERT_EQUAL(off, 41);
    CU_ASSERT_EQUAL(tdm_store_offset_get(t, "tuodi.roster.households", 3, &off, &err), 0);
    CU_ASSERT_EQUAL(off, INT64_MAX);
    CU_ASSERT_EQUAL(tdm_store_offset_get(t, "tuodi.medical", 2, &off, &err), 0);
    CU_ASSERT_EQUAL(off, -1);
    CU_ASSERT_EQUAL(tdm_store_offset_get(t, "tuodi.medical", 1, &off, &err), -ENOENT);
    tdm_store_abort(t);

    tdm_store_close(s);
    td_test_rmtree(root);
    free(root);
    free(dir);
}

static void test_abort_leaves_nothing(void)
{
    char *root, *dir = state_dir(&root);
    tdm_store *s = open_ok(dir, 0);
    td_error err = {0};
    tdm_txn *t;
    tdm_db db;
    int64_t off;
    size_t n;

    CU_ASSERT_EQUAL_FATAL(tdm_store_db(s, "things", &db, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t, &err), 0);
    put_str(t, db, "k", "v");
    CU_ASSERT_EQUAL(tdm_store_offset_set(t, "topic", 0, 7, &err), 0);
    tdm_store_abort(t);
    tdm_store_abort(NULL);

    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t, &err), 0);
    CU_ASSERT_EQUAL(has_str(t, db, "k", "v"), 0);
    CU_ASSERT_EQUAL(tdm_store_offset_get(t, "topic", 0, &off, &err), -ENOENT);
    CU_ASSERT_EQUAL(tdm_store_count(t, db, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 0);
    tdm_store_abort(t);

    tdm_store_close(s);
    td_test_rmtree(root);
    free(root);
    free(dir);
}

/* Fills a store with one entry and an offset, closes it. */
static void seed(const char *dir)
{
    tdm_store *s = open_ok(dir, 0);
    td_error err = {0};
    tdm_txn *t;
    tdm_db db;

    CU_ASSERT_EQUAL_FATAL(tdm_store_db(s, "things", &db, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t, &err), 0);
    put_str(t, db, "k", "v");
    CU_ASSERT_EQUAL(tdm_store_offset_set(t, "topic", 0, 7, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_commit(t, &err), 0);
    tdm_store_close(s);
}

/* Opens dir expecting a reset: empty, usable, writes survive a reopen. */
static void expect_reset(const char *dir)
{
    tdm_store *s = open_ok(dir, 0);
    td_error err = {0};
    tdm_txn *t;
    tdm_db db;
    int64_t off;

    CU_ASSERT_TRUE(tdm_store_was_reset(s));
    CU_ASSERT_EQUAL_FATAL(tdm_store_db(s, "things", &db, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t, &err), 0);
    CU_ASSERT_EQUAL(has_str(t, db, "k", "v"), 0);
    CU_ASSERT_EQUAL(tdm_store_offset_get(t, "topic", 0, &off, &err), -ENOENT);
    put_str(t, db, "k", "again");
    CU_ASSERT_EQUAL(tdm_store_commit(t, &err), 0);
    tdm_store_close(s);

    s = open_ok(dir, 0);
    CU_ASSERT_FALSE(tdm_store_was_reset(s));
    CU_ASSERT_EQUAL_FATAL(tdm_store_db(s, "things", &db, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin_read(s, &t, &err), 0);
    CU_ASSERT_EQUAL(has_str(t, db, "k", "again"), 1);
    tdm_store_abort(t);
    tdm_store_close(s);
}

static void test_corrupt_env_is_reset(void)
{
    char *root, *dir = state_dir(&root);
    char path[4096];
    static char garbage[65536];
    int fd;

    seed(dir);
    memset(garbage, 'x', sizeof(garbage));
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    fd = open(path, O_WRONLY | O_TRUNC);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, garbage, sizeof(garbage)), (ssize_t)sizeof(garbage));
    close(fd);
    expect_reset(dir);

    /* Garbage over the two meta pages only, the rest intact. */
    seed(dir);
    fd = open(path, O_WRONLY);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, garbage, 8192), 8192);
    close(fd);
    expect_reset(dir);

    td_test_rmtree(root);
    free(root);
    free(dir);
}

/* Rewrites meta's "format" through LMDB directly (or, with format NULL,
 * makes an environment of somebody else's: a named database, no meta). */
static void raw_env(const char *dir, const unsigned char *format)
{
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi dbi;
    MDB_val k, v;

    CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, dir, MDB_NOTLS, 0600), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, 0, &t), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(t, format ? "meta" : "foreign", MDB_CREATE, &dbi), 0);
    k = (MDB_val){6, (void *)"format"};
    v = (MDB_val){4, (void *)(format ? format : (const unsigned char *)"\1\0\0\0")};
    CU_ASSERT_EQUAL(mdb_put(t, dbi, &k, &v, 0), 0);
    CU_ASSERT_EQUAL(mdb_txn_commit(t), 0);
    mdb_env_close(env);
}

static void test_format_bump_is_reset(void)
{
    char *root, *dir = state_dir(&root);
    static const unsigned char other[4] = {TDM_STORE_FORMAT + 1, 0, 0, 0};

    seed(dir);
    raw_env(dir, other);
    expect_reset(dir);

    td_test_rmtree(root);
    free(root);
    free(dir);
}

static void test_foreign_env_is_reset(void)
{
    char *root, *dir = state_dir(&root);
    tdm_store *s;
    td_error err = {0};

    CU_ASSERT_EQUAL_FATAL(td_test_rmtree(root), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_open(dir, 0, &s, &err), 0); /* creates the dirs */
    tdm_store_close(s);
    {
        char path[4096];
        snprintf(path, sizeof(path), "%s/data.mdb", dir);
        CU_ASSERT_EQUAL(unlink(path), 0);
        snprintf(path, sizeof(path), "%s/lock.mdb", dir);
        unlink(path);
    }
    raw_env(dir, NULL);
    expect_reset(dir);

    td_test_rmtree(root);
    free(root);
    free(dir);
}

static void test_map_full(void)
{
    char *root, *dir = state_dir(&root);
    tdm_store *s = open_ok(dir, (size_t)1 << 20);
    td_error err = {0};
    static char big[256 * 1024];
    tdm_txn *t;
    tdm_db db;
    int r = 0;

    CU_ASSERT_EQUAL_FATAL(tdm_store_db(s, "things", &db, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t, &err), 0);
    for (int i = 0; i < 16 && r == 0; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        r = tdm_store_put(t, db, k, strlen(k), big, sizeof(big), &err);
    }
    CU_ASSERT_EQUAL(r, -ENOSPC);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "MDB_MAP_FULL"));
    tdm_store_abort(t);
    tdm_store_close(s);
    td_test_rmtree(root);
    free(root);
    free(dir);
}

static void add_suites(void)
{
    td_test_suite("store", NULL, NULL);
    TD_TEST(test_fresh_put_get_del);
    TD_TEST(test_first_in_key_order);
    TD_TEST(test_offsets_with_state_and_reopen);
    TD_TEST(test_abort_leaves_nothing);
    TD_TEST(test_corrupt_env_is_reset);
    TD_TEST(test_format_bump_is_reset);
    TD_TEST(test_foreign_env_is_reset);
    TD_TEST(test_map_full);
}

TD_TEST_MAIN(add_suites)
