/* tdm_store: named databases, one write transaction at a time, offsets in
 * the same transaction as the state, abort leaves nothing, reopen keeps the
 * data, a corrupt, foreign or other-format environment is reset (and says
 * so) into a usable store, so is another owner's, the map grows under a write transaction without
 * losing or repeating a write, a map at its limit and a full disk say so. */
#include "tdm_store.h"
#include "td_test.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

static tdm_store *open_max(const char *dir, size_t map_size, size_t max_map_size)
{
    tdm_store *s = NULL;
    td_error err = {0};
    int r = tdm_store_open(dir, map_size, max_map_size, &s, &err);

    if (r != 0)
        fprintf(stderr, "\n%s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(r, 0);
    return s;
}

static tdm_store *open_ok(const char *dir, size_t map_size)
{
    return open_max(dir, map_size, 0);
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

/* Format 3 kept one latest signal day per department in each state (window
 * format 1); format 4 keeps every signal day per rule: a store of format 3
 * is rebuilt from Kafka (docs/matchd-design.md, "Arrival order and
 * escalation"). */
static void test_format_3_is_rebuilt(void)
{
    char *root, *dir = state_dir(&root);
    static const unsigned char v3[4] = {3, 0, 0, 0};

    CU_ASSERT(TDM_STORE_FORMAT >= 4);
    seed(dir);
    raw_env(dir, v3);
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
    CU_ASSERT_EQUAL_FATAL(tdm_store_open(dir, 0, 0, &s, &err), 0); /* creates the dirs */
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

/* The value of key i in the growth test: its length and bytes depend on i
 * and on the round that last wrote it. */
static size_t grow_val(int i, int pass, char *buf)
{
    size_t n = 200 + (size_t)(i * 37 % 1800);
    if (i % 97 == 0)
        n = 40000 + (size_t)i; /* overflow pages */
    for (size_t j = 0; j < n; j++)
        buf[j] = (char)('a' + (i + pass + (int)j) % 26);
    return n;
}

/* A map of 1 MiB that must grow several times inside one write transaction
 * (and again in a later one): every put and delete lands exactly once,
 * reads inside the transaction see its writes across the growth, the
 * offsets commit with the data, and a reopen with the small map still finds
 * everything. The old store failed the first put past 1 MiB with
 * MDB_MAP_FULL. */
/* A store of one owner (matchd's group and topics) opened for another is
 * reset, and says whose it was; the same owner keeps it; a store without an
 * owner (from before owners) takes the first one; no owner checks nothing. */
static tdm_store *open_owned(const char *dir, const char *owner)
{
    tdm_store *s = NULL;
    td_error err = {0};
    int r = tdm_store_open_owned(dir, 0, 0, owner, &s, &err);

    if (r != 0)
        fprintf(stderr, "\n%s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(r, 0);
    return s;
}

static int owned_value(tdm_store *s)
{
    td_error err = {0};
    tdm_txn *t;
    tdm_db db;
    int r;

    CU_ASSERT_EQUAL_FATAL(tdm_store_db(s, "things", &db, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin_read(s, &t, &err), 0);
    r = has_str(t, db, "k", "v");
    tdm_store_abort(t);
    return r;
}

static void test_other_owner_is_reset(void)
{
    char *root, *dir = state_dir(&root);
    const char *a = "group_id=tuodi-matchd roster=tuodi.roster.households";
    const char *b = "group_id=tuodi2-matchd roster=tuodi2.roster.households";
    td_error err = {0};
    tdm_store *s;
    tdm_txn *t;
    tdm_db db;

    /* no owner yet: written by an older matchd */
    s = open_ok(dir, 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_db(s, "things", &db, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t, &err), 0);
    put_str(t, db, "k", "v");
    CU_ASSERT_EQUAL(tdm_store_commit(t, &err), 0);
    tdm_store_close(s);

    s = open_owned(dir, a); /* takes owner a */
    CU_ASSERT_FALSE(tdm_store_was_reset(s));
    CU_ASSERT_PTR_NULL(tdm_store_previous_owner(s));
    CU_ASSERT_EQUAL(owned_value(s), 1);
    tdm_store_close(s);

    s = open_owned(dir, a); /* the same owner keeps it */
    CU_ASSERT_FALSE(tdm_store_was_reset(s));
    CU_ASSERT_EQUAL(owned_value(s), 1);
    tdm_store_close(s);

    s = open_ok(dir, 0); /* no owner: no check */
    CU_ASSERT_FALSE(tdm_store_was_reset(s));
    CU_ASSERT_EQUAL(owned_value(s), 1);
    tdm_store_close(s);

    s = open_owned(dir, b); /* another owner: reset, and says whose it was */
    CU_ASSERT_TRUE(tdm_store_was_reset(s));
    CU_ASSERT_STRING_EQUAL(tdm_store_previous_owner(s) ? tdm_store_previous_owner(s) : "", a);
    CU_ASSERT_EQUAL(owned_value(s), 0);
    tdm_store_close(s);

    s = open_owned(dir, b); /* and is b's from then on */
    CU_ASSERT_FALSE(tdm_store_was_reset(s));
    CU_ASSERT_PTR_NULL(tdm_store_previous_owner(s));
    tdm_store_close(s);

    s = open_owned(dir, "group_id=tuodi2-matchd roster=tuodi2.roster.household"); /* a prefix of b */
    CU_ASSERT_TRUE(tdm_store_was_reset(s));
    tdm_store_close(s);

    td_test_rmtree(root);
    free(root);
    free(dir);
}

static void test_map_grows(void)
{
    enum { KEYS = 3000 };
    char *root, *dir = state_dir(&root);
    tdm_store *s = open_ok(dir, (size_t)1 << 20);
    static char buf[50000];
    static int last[KEYS]; /* the pass that wrote key i last, -1: deleted */
    td_error err = {0};
    tdm_txn *t;
    tdm_db db;
    size_t n, map0 = tdm_store_map_size(s), map1;
    int64_t off;
    char k[32];

    CU_ASSERT_EQUAL(map0, (size_t)1 << 20);
    CU_ASSERT_EQUAL_FATAL(tdm_store_db(s, "things", &db, &err), 0);
    for (int pass = 0; pass < 2; pass++) {
        CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t, &err), 0);
        for (int i = 0; i < KEYS; i++) {
            int r;
            if (pass == 1 && i % 3 != 0)
                continue;
            snprintf(k, sizeof(k), "key-%05d", i);
            n = grow_val(i, pass, buf);
            r = tdm_store_put(t, db, k, strlen(k), buf, n, &err);
            if (r != 0)
                fprintf(stderr, "\nput %d: %s\n", i, err.msg);
            CU_ASSERT_EQUAL_FATAL(r, 0);
            last[i] = pass;
            if (i % 5 == 4) { /* delete an earlier one */
                snprintf(k, sizeof(k), "key-%05d", i - 2);
                CU_ASSERT_EQUAL_FATAL(tdm_store_del(t, db, k, strlen(k), &err),
                                      last[i - 2] >= 0 ? 0 : -ENOENT);
                last[i - 2] = -1;
            }
            if (i % 50 == 0) { /* read back one written before */
                const void *got;
                size_t len;
                int j = i / 2;
                snprintf(k, sizeof(k), "key-%05d", j);
                r = tdm_store_get(t, db, k, strlen(k), &got, &len, &err);
                if (last[j] < 0) {
                    CU_ASSERT_EQUAL(r, -ENOENT);
                } else {
                    n = grow_val(j, last[j], buf);
                    CU_ASSERT(r == 0 && len == n && memcmp(got, buf, n) == 0);
                }
            }
        }
        CU_ASSERT_EQUAL(tdm_store_offset_set(t, "tuodi.roster.households", 0, 1000 + pass, &err),
                        0);
        CU_ASSERT_EQUAL_FATAL(tdm_store_commit(t, &err), 0);
        map1 = tdm_store_map_size(s);
        CU_ASSERT(map1 > map0); /* it grew in each pass */
        map0 = map1;
    }
    tdm_store_close(s);

    s = open_ok(dir, (size_t)1 << 20); /* LMDB maps at least what the file holds */
    CU_ASSERT_EQUAL_FATAL(tdm_store_db(s, "things", &db, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin_read(s, &t, &err), 0);
    {
        size_t want = 0, bad = 0;
        for (int i = 0; i < KEYS; i++) {
            const void *got;
            size_t len;
            int r;
            snprintf(k, sizeof(k), "key-%05d", i);
            r = tdm_store_get(t, db, k, strlen(k), &got, &len, &err);
            if (last[i] < 0) {
                bad += r != -ENOENT;
                continue;
            }
            want++;
            n = grow_val(i, last[i], buf);
            bad += !(r == 0 && len == n && memcmp(got, buf, n) == 0);
        }
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT_EQUAL(tdm_store_count(t, db, &n, &err), 0);
        CU_ASSERT_EQUAL(n, want);
    }
    CU_ASSERT_EQUAL(tdm_store_offset_get(t, "tuodi.roster.households", 0, &off, &err), 0);
    CU_ASSERT_EQUAL(off, 1001);
    tdm_store_abort(t);
    tdm_store_close(s);
    td_test_rmtree(root);
    free(root);
    free(dir);
}

/* A map at store.max_map_size: the write fails with -ENOSPC and says which
 * limit to raise; the transaction aborts cleanly, what was committed stays,
 * and the store takes the next transaction. A map that would have to grow
 * under an open read-only transaction says so. */
static void test_map_full(void)
{
    char *root, *dir = state_dir(&root);
    tdm_store *s = open_max(dir, (size_t)1 << 20, (size_t)2 << 20);
    td_error err = {0};
    static char big[256 * 1024];
    tdm_txn *t, *rt;
    tdm_db db;
    int r = 0;

    CU_ASSERT_EQUAL_FATAL(tdm_store_db(s, "things", &db, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t, &err), 0);
    put_str(t, db, "kept", "yes");
    CU_ASSERT_EQUAL_FATAL(tdm_store_commit(t, &err), 0);

    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t, &err), 0);
    for (int i = 0; i < 16 && r == 0; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        r = tdm_store_put(t, db, k, strlen(k), big, sizeof(big), &err);
    }
    CU_ASSERT_EQUAL(r, -ENOSPC);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "is full: its map reached store.max_map_size (2.0 MiB"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "raise store.max_map_size"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, dir));
    CU_ASSERT_EQUAL(tdm_store_map_size(s), (size_t)2 << 20);
    tdm_store_abort(t);

    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t, &err), 0);
    CU_ASSERT_EQUAL(has_str(t, db, "kept", "yes"), 1);
    CU_ASSERT_EQUAL(has_str(t, db, "k0", ""), 0);
    put_str(t, db, "after", "ok");
    CU_ASSERT_EQUAL(tdm_store_commit(t, &err), 0);
    tdm_store_close(s);

    /* room to grow, but a reader holds the map in place */
    s = open_max(dir, (size_t)1 << 20, (size_t)64 << 20);
    CU_ASSERT_EQUAL_FATAL(tdm_store_db(s, "things", &db, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin_read(s, &rt, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t, &err), 0);
    r = 0;
    for (int i = 0; i < 16 && r == 0; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        r = tdm_store_put(t, db, k, strlen(k), big, sizeof(big), &err);
    }
    CU_ASSERT_EQUAL(r, -ENOSPC);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot grow while a read-only transaction is open"));
    /* the failed transaction refuses more work until it is aborted */
    CU_ASSERT_EQUAL(tdm_store_put(t, db, "x", 1, "y", 1, &err), -EIO);
    tdm_store_abort(t);
    CU_ASSERT_EQUAL(has_str(rt, db, "after", "ok"), 1);
    tdm_store_abort(rt);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t, &err), 0); /* now it grows */
    r = 0;
    for (int i = 0; i < 16 && r == 0; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        r = tdm_store_put(t, db, k, strlen(k), big, sizeof(big), &err);
    }
    CU_ASSERT_EQUAL(r, 0);
    CU_ASSERT_EQUAL(tdm_store_commit(t, &err), 0);
    CU_ASSERT(tdm_store_map_size(s) > ((size_t)4 << 20));
    tdm_store_close(s);
    td_test_rmtree(root);
    free(root);
    free(dir);
}

/* ------------------------------------------------------------ full disk */

/* What the child of test_disk_full saw. */
typedef struct disk_result {
    int setup;             /* 0, or the errno of the step that failed */
    char setup_step[64];
    int commit_r;          /* the commit that found the disk full */
    char commit_msg[TD_ERROR_MSG_MAX];
    long committed;        /* batches committed before it */
    int open_r;            /* a reopen on the full disk */
    char open_msg[TD_ERROR_MSG_MAX];
    int reopen_r;          /* a reopen after space was freed */
    long found;            /* batches found then */
} disk_result;

static int write_whole(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* In a mount namespace of its own (a user namespace too when not root), a
 * 4 MiB tmpfs on fsdir: seen by this process only, gone when it exits. */
static int private_tmpfs(const char *fsdir, disk_result *res)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    char map[64];

    if (geteuid() == 0) {
        if (unshare(CLONE_NEWNS) != 0)
            goto fail_unshare;
    } else {
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
            goto fail_unshare;
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
        if (write_whole("/proc/self/uid_map", map) != 0 ||
            write_whole("/proc/self/setgroups", "deny") != 0)
            goto fail_map;
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
        if (write_whole("/proc/self/gid_map", map) != 0)
            goto fail_map;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", fsdir, "tmpfs", 0, "size=4m,mode=0700") != 0) {
        res->setup = errno;
        snprintf(res->setup_step, sizeof(res->setup_step), "mount tmpfs");
        return -1;
    }
    return 0;
fail_unshare:
    res->setup = errno;
    snprintf(res->setup_step, sizeof(res->setup_step), "unshare");
    return -1;
fail_map:
    res->setup = errno;
    snprintf(res->setup_step, sizeof(res->setup_step), "user namespace id maps");
    return -1;
}

/* The child: batches of 64 values of 3,000 bytes committed until the disk
 * is full, a reopen on the full disk, a reopen after freeing space. */
static void disk_child(const char *fsdir, disk_result *res)
{
    char dir[4096], filler[4096], k[32];
    static char val[3000];
    tdm_store *s = NULL;
    td_error err = {0};
    tdm_txn *t;
    tdm_db db;
    int fd, r = 0;

    if (private_tmpfs(fsdir, res) < 0)
        return;
    snprintf(dir, sizeof(dir), "%s/state", fsdir);
    snprintf(filler, sizeof(filler), "%s/filler", fsdir);
    /* 1.5 MiB that can be freed later */
    fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    memset(val, 'f', sizeof(val));
    for (int i = 0; fd >= 0 && i < 512; i++)
        if (write(fd, val, sizeof(val)) != (ssize_t)sizeof(val))
            fd = (close(fd), -1);
    if (fd < 0) {
        res->setup = errno ? errno : EIO;
        snprintf(res->setup_step, sizeof(res->setup_step), "filler");
        return;
    }
    close(fd);
    if ((r = tdm_store_open(dir, 0, 0, &s, &err)) < 0 ||
        (r = tdm_store_db(s, "things", &db, &err)) < 0) {
        res->setup = -r;
        snprintf(res->setup_step, sizeof(res->setup_step), "first open: %.40s", err.msg);
        tdm_store_close(s);
        return;
    }
    memset(val, 'v', sizeof(val));
    for (long b = 0; b < 10000; b++) {
        if ((r = tdm_store_begin(s, &t, &err)) < 0)
            break;
        for (int i = 0; i < 64 && r == 0; i++) {
            snprintf(k, sizeof(k), "b%06ld-%02d", b, i);
            r = tdm_store_put(t, db, k, strlen(k), val, sizeof(val), &err);
        }
        if (r < 0) {
            tdm_store_abort(t);
            break;
        }
        if ((r = tdm_store_commit(t, &err)) < 0)
            break;
        res->committed++;
    }
    res->commit_r = r;
    snprintf(res->commit_msg, sizeof(res->commit_msg), "%s", err.msg);
    tdm_store_close(s);
    s = NULL;

    td_error_clear(&err);
    res->open_r = tdm_store_open(dir, 0, 0, &s, &err);
    snprintf(res->open_msg, sizeof(res->open_msg), "%s", err.msg);
    s = tdm_store_close(s);

    unlink(filler);
    td_error_clear(&err);
    res->reopen_r = tdm_store_open(dir, 0, 0, &s, &err);
    if (res->reopen_r == 0 && tdm_store_db(s, "things", &db, &err) == 0 &&
        tdm_store_begin_read(s, &t, &err) == 0) {
        size_t n = 0;
        if (tdm_store_count(t, db, &n, &err) == 0)
            res->found = (long)(n / 64);
        tdm_store_abort(t);
    }
    tdm_store_close(s);
}

/* A full disk (a 4 MiB tmpfs) is reported as "no space left on device" with
 * the state directory and the room needed and free, not as LMDB's
 * "Input/output error" of a short write; a reopen on the full disk says so
 * too; after space is freed the store opens with every committed batch. */
static void test_disk_full(void)
{
    char *root = td_test_tmpdir(), fsdir[2048], dir[4096];
    disk_result *res;
    pid_t pid;
    int status = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    snprintf(fsdir, sizeof(fsdir), "%s/fs", root);
    snprintf(dir, sizeof(dir), "%s/state", fsdir);
    CU_ASSERT_EQUAL_FATAL(mkdir(fsdir, 0700), 0);
    res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CU_ASSERT_FATAL(res != MAP_FAILED);
    memset(res, 0, sizeof(*res));
    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        disk_child(fsdir, res);
        _exit(0);
    }
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (res->setup)
        fprintf(stderr, "\ncannot make a small filesystem for the test (%s: %s): it needs root, "
                "or unprivileged user namespaces\n", res->setup_step, strerror(res->setup));
    CU_ASSERT_EQUAL_FATAL(res->setup, 0);
    if (res->commit_r != -ENOSPC || !strstr(res->commit_msg, "no space left on device"))
        fprintf(stderr, "\ncommit on the full disk: %d %s\n", res->commit_r, res->commit_msg);
    CU_ASSERT(res->committed > 0);
    CU_ASSERT_EQUAL(res->commit_r, -ENOSPC);
    CU_ASSERT_PTR_NOT_NULL(strstr(res->commit_msg, "state store: no space left on device: "
                                                   "committing 64 changes in "));
    CU_ASSERT_PTR_NOT_NULL(strstr(res->commit_msg, dir));
    CU_ASSERT_PTR_NOT_NULL(strstr(res->commit_msg, " needs up to "));
    CU_ASSERT_PTR_NOT_NULL(strstr(res->commit_msg, " free (data.mdb holds "));
    CU_ASSERT_PTR_NULL(strstr(res->commit_msg, "Input/output error"));
    if (res->open_r != -ENOSPC)
        fprintf(stderr, "\nreopen on the full disk: %d %s\n", res->open_r, res->open_msg);
    CU_ASSERT_EQUAL(res->open_r, -ENOSPC);
    CU_ASSERT_PTR_NOT_NULL(strstr(res->open_msg, "no space left on device: opening the state "
                                                 "store in "));
    CU_ASSERT_PTR_NOT_NULL(strstr(res->open_msg, "needs at least 1.0 MiB free"));
    CU_ASSERT_EQUAL(res->reopen_r, 0);
    CU_ASSERT_EQUAL(res->found, res->committed);
    munmap(res, sizeof(*res));
    td_test_rmtree(root);
    free(root);
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
    TD_TEST(test_format_3_is_rebuilt);
    TD_TEST(test_foreign_env_is_reset);
    TD_TEST(test_other_owner_is_reset);
    TD_TEST(test_map_grows);
    TD_TEST(test_map_full);
    TD_TEST(test_disk_full);
}

TD_TEST_MAIN(add_suites)
