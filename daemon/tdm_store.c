/* tdm_store: the LMDB environment under the state directory. */
#include "tdm_store.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TDM_META "meta"
#define TDM_FORMAT_KEY "format"

struct tdm_store {
    char *dir;
    size_t map_size;
    MDB_env *env;
    MDB_dbi meta;
    bool writing;     /* a write transaction is open */
    bool was_reset;
};

struct tdm_txn {
    tdm_store *s;
    MDB_txn *t;
    bool write;
};

/* LMDB's code as the project's negative errno. */
static int tdm_mdb_code(int rc)
{
    switch (rc) {
    case MDB_NOTFOUND: return -ENOENT;
    case MDB_MAP_FULL: return -ENOSPC;
    case MDB_BAD_VALSIZE: return -EINVAL;
    case MDB_KEYEXIST: return -EEXIST;
    case MDB_DBS_FULL: return -EMFILE;
    case MDB_READERS_FULL:
    case MDB_MAP_RESIZED: return -EAGAIN;
    case MDB_TXN_FULL: return -E2BIG;
    default: break;
    }
    if (rc > 0 && rc < 4096) /* an errno from the system */
        return -rc;
    return -EIO;
}

static int tdm_mdb_fail(td_error *err, int rc, const char *what)
{
    return td_error_set(err, tdm_mdb_code(rc), "state store: %s: %s", what, mdb_strerror(rc));
}

/* Codes that say the files are not a usable environment of ours. */
static bool tdm_mdb_is_corrupt(int rc)
{
    return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED ||
           rc == MDB_PAGE_NOTFOUND || rc == MDB_PANIC || rc == MDB_INCOMPATIBLE;
}

static int tdm_mkdir_p(const char *dir, td_error *err)
{
    char *p = strdup(dir);
    int r = 0;

    if (!p)
        return td_error_set(err, -ENOMEM, "state store: out of memory");
    for (char *c = p + 1;; c++) {
        if (*c == '/' || *c == '\0') {
            char saved = *c;
            *c = '\0';
            if (mkdir(p, 0700) < 0 && errno != EEXIST) {
                r = td_error_set(err, -errno, "state store: cannot create %s: %s", p,
                                 strerror(errno));
                break;
            }
            *c = saved;
            if (saved == '\0')
                break;
        }
    }
    free(p);
    return r;
}

/* 1: the environment must be reset; 0: open and current; < 0: an error that
 * a reset would not cure (permissions, space, memory). */
static int tdm_env_try(tdm_store *s, td_error *err)
{
    MDB_txn *t = NULL;
    MDB_dbi main_db;
    MDB_val k, v;
    MDB_stat st;
    int rc;

    if ((rc = mdb_env_create(&s->env)) != 0)
        return tdm_mdb_fail(err, rc, "mdb_env_create");
    if ((rc = mdb_env_set_mapsize(s->env, s->map_size)) != 0 ||
        (rc = mdb_env_set_maxdbs(s->env, TDM_STORE_MAX_DBS)) != 0)
        goto fail;
    if ((rc = mdb_env_open(s->env, s->dir, MDB_NOTLS, 0600)) != 0)
        goto fail;
    if ((rc = mdb_txn_begin(s->env, NULL, 0, &t)) != 0)
        goto fail;
    rc = mdb_dbi_open(t, TDM_META, 0, &s->meta);
    if (rc == MDB_NOTFOUND) {
        /* No meta: a fresh environment, unless it holds something else. */
        if ((rc = mdb_dbi_open(t, NULL, 0, &main_db)) != 0 ||
            (rc = mdb_stat(t, main_db, &st)) != 0)
            goto fail;
        if (st.ms_entries != 0)
            goto reset;
        uint32_t f = TDM_STORE_FORMAT;
        unsigned char le[4] = {(unsigned char)f, (unsigned char)(f >> 8),
                               (unsigned char)(f >> 16), (unsigned char)(f >> 24)};
        if ((rc = mdb_dbi_open(t, TDM_META, MDB_CREATE, &s->meta)) != 0)
            goto fail;
        k = (MDB_val){strlen(TDM_FORMAT_KEY), (void *)TDM_FORMAT_KEY};
        v = (MDB_val){sizeof(le), le};
        if ((rc = mdb_put(t, s->meta, &k, &v, 0)) != 0)
            goto fail;
    } else if (rc != 0) {
        goto fail;
    } else {
        k = (MDB_val){strlen(TDM_FORMAT_KEY), (void *)TDM_FORMAT_KEY};
        rc = mdb_get(t, s->meta, &k, &v);
        if (rc == MDB_NOTFOUND)
            goto reset;
        if (rc != 0)
            goto fail;
        if (v.mv_size != 4)
            goto reset;
        const unsigned char *b = v.mv_data;
        uint32_t f = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                     (uint32_t)b[3] << 24;
        if (f != TDM_STORE_FORMAT)
            goto reset;
    }
    rc = mdb_txn_commit(t);
    t = NULL;
    if (rc != 0)
        goto fail;
    return 0;

reset:
    mdb_txn_abort(t);
    mdb_env_close(s->env);
    s->env = NULL;
    return 1;

fail:
    if (t)
        mdb_txn_abort(t);
    mdb_env_close(s->env);
    s->env = NULL;
    if (tdm_mdb_is_corrupt(rc))
        return 1;
    return tdm_mdb_fail(err, rc, s->dir);
}

static int tdm_env_wipe(const tdm_store *s, td_error *err)
{
    static const char *const files[] = {"data.mdb", "lock.mdb"};
    char path[4096];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", s->dir, files[i]) >= sizeof(path))
            return td_error_set(err, -ENAMETOOLONG, "state store: path too long");
        if (unlink(path) < 0 && errno != ENOENT)
            return td_error_set(err, -errno, "state store: cannot remove %s: %s", path,
                                strerror(errno));
    }
    return 0;
}

int tdm_store_open(const char *dir, size_t map_size, tdm_store **ret, td_error *err)
{
    tdm_store *s;
    int r;

    if (!dir || !*dir)
        return td_error_set(err, -EINVAL, "state store: no directory given");
    if (!(s = calloc(1, sizeof(*s))) || !(s->dir = strdup(dir))) {
        free(s);
        return td_error_set(err, -ENOMEM, "state store: out of memory");
    }
    s->map_size = map_size ? map_size : TDM_STORE_DEFAULT_MAP_SIZE;
    if ((r = tdm_mkdir_p(dir, err)) < 0)
        goto fail;
    if ((r = tdm_env_try(s, err)) < 0)
        goto fail;
    if (r == 1) {
        s->was_reset = true;
        if ((r = tdm_env_wipe(s, err)) < 0)
            goto fail;
        if ((r = tdm_env_try(s, err)) < 0)
            goto fail;
        if (r == 1) {
            r = td_error_set(err, -EIO, "state store: %s: a fresh environment is unusable", dir);
            goto fail;
        }
    }
    *ret = s;
    return 0;

fail:
    tdm_store_close(s);
    return r;
}

tdm_store *tdm_store_close(tdm_store *s)
{
    if (!s)
        return NULL;
    if (s->env)
        mdb_env_close(s->env);
    free(s->dir);
    free(s);
    return NULL;
}

bool tdm_store_was_reset(const tdm_store *s)
{
    return s->was_reset;
}

size_t tdm_store_max_key_len(const tdm_store *s)
{
    return (size_t)mdb_env_get_maxkeysize(s->env);
}

int tdm_store_db(tdm_store *s, const char *name, tdm_db *ret, td_error *err)
{
    MDB_txn *t;
    MDB_dbi dbi;
    int rc;

    if (!name || !*name || strcmp(name, TDM_META) == 0)
        return td_error_set(err, -EINVAL, "state store: invalid database name");
    if (s->writing)
        return td_error_set(err, -EBUSY, "state store: database %s opened inside a write transaction",
                            name);
    if ((rc = mdb_txn_begin(s->env, NULL, 0, &t)) != 0)
        return tdm_mdb_fail(err, rc, "begin");
    if ((rc = mdb_dbi_open(t, name, MDB_CREATE, &dbi)) != 0) {
        mdb_txn_abort(t);
        return tdm_mdb_fail(err, rc, name);
    }
    if ((rc = mdb_txn_commit(t)) != 0)
        return tdm_mdb_fail(err, rc, name);
    *ret = dbi;
    return 0;
}

static int tdm_begin(tdm_store *s, bool write, tdm_txn **ret, td_error *err)
{
    tdm_txn *x;
    int rc;

    if (write && s->writing)
        return td_error_set(err, -EBUSY, "state store: a write transaction is open already");
    if (!(x = calloc(1, sizeof(*x))))
        return td_error_set(err, -ENOMEM, "state store: out of memory");
    if ((rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &x->t)) != 0) {
        free(x);
        return tdm_mdb_fail(err, rc, "begin");
    }
    x->s = s;
    x->write = write;
    if (write)
        s->writing = true;
    *ret = x;
    return 0;
}

int tdm_store_begin(tdm_store *s, tdm_txn **ret, td_error *err)
{
    return tdm_begin(s, true, ret, err);
}

int tdm_store_begin_read(tdm_store *s, tdm_txn **ret, td_error *err)
{
    return tdm_begin(s, false, ret, err);
}

int tdm_store_commit(tdm_txn *txn, td_error *err)
{
    int rc = mdb_txn_commit(txn->t);

    if (txn->write)
        txn->s->writing = false;
    free(txn);
    return rc ? tdm_mdb_fail(err, rc, "commit") : 0;
}

void tdm_store_abort(tdm_txn *txn)
{
    if (!txn)
        return;
    mdb_txn_abort(txn->t);
    if (txn->write)
        txn->s->writing = false;
    free(txn);
}

int tdm_store_get(tdm_txn *txn, tdm_db db, const void *key, size_t key_len,
                  const void **ret_val, size_t *ret_len, td_error *err)
{
    MDB_val k = {key_len, (void *)key}, v;
    int rc = mdb_get(txn->t, db, &k, &v);

    if (rc == MDB_NOTFOUND)
        return -ENOENT; /* the common case: no text */
    if (rc != 0)
        return tdm_mdb_fail(err, rc, "get");
    *ret_val = v.mv_data;
    *ret_len = v.mv_size;
    return 0;
}

int tdm_store_first(tdm_txn *txn, tdm_db db, const void **ret_key, size_t *ret_key_len,
                    const void **ret_val, size_t *ret_len, td_error *err)
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn->t, db, &c);

    if (rc != 0)
        return tdm_mdb_fail(err, rc, "cursor");
    rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
        return -ENOENT;
    if (rc != 0)
        return tdm_mdb_fail(err, rc, "first");
    *ret_key = k.mv_data;
    *ret_key_len = k.mv_size;
    *ret_val = v.mv_data;
    *ret_len = v.mv_size;
    return 0;
}

int tdm_store_put(tdm_txn *txn, tdm_db db, const void *key, size_t key_len,
                  const void *val, size_t val_len, td_error *err)
{
    MDB_val k = {key_len, (void *)key}, v = {val_len, (void *)val};
    int rc;

    if (!txn->write)
        return td_error_set(err, -EROFS, "state store: put in a read-only transaction");
    if ((rc = mdb_put(txn->t, db, &k, &v, 0)) != 0)
        return tdm_mdb_fail(err, rc, "put");
    return 0;
}

int tdm_store_del(tdm_txn *txn, tdm_db db, const void *key, size_t key_len, td_error *err)
{
    MDB_val k = {key_len, (void *)key};
    int rc;

    if (!txn->write)
        return td_error_set(err, -EROFS, "state store: delete in a read-only transaction");
    rc = mdb_del(txn->t, db, &k, NULL);
    if (rc == MDB_NOTFOUND)
        return -ENOENT;
    if (rc != 0)
        return tdm_mdb_fail(err, rc, "delete");
    return 0;
}

int tdm_store_count(tdm_txn *txn, tdm_db db, size_t *ret, td_error *err)
{
    MDB_stat st;
    int rc = mdb_stat(txn->t, db, &st);

    if (rc != 0)
        return tdm_mdb_fail(err, rc, "stat");
    *ret = st.ms_entries;
    return 0;
}

int tdm_store_db_bytes(tdm_txn *txn, tdm_db db, size_t *ret, td_error *err)
{
    MDB_stat st;
    int rc = mdb_stat(txn->t, db, &st);

    if (rc != 0)
        return tdm_mdb_fail(err, rc, "stat");
    *ret = (size_t)st.ms_psize * (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages);
    return 0;
}

/* "<topic>/<partition>" into buf; its length or -EINVAL. */
static int tdm_offset_key(const char *topic, int32_t partition, char *buf, size_t size,
                          td_error *err)
{
    int n;

    if (!topic || !*topic || partition < 0)
        return td_error_set(err, -EINVAL, "state store: invalid topic or partition");
    n = snprintf(buf, size, "%s/%" PRId32, topic, partition);
    if (n < 0 || (size_t)n >= size)
        return td_error_set(err, -EINVAL, "state store: topic name too long");
    return n;
}

int tdm_store_offset_get(tdm_txn *txn, const char *topic, int32_t partition, int64_t *ret,
                         td_error *err)
{
    char key[512];
    const unsigned char *b;
    const void *v = NULL;
    size_t len = 0;
    uint64_t u = 0;
    int n, r;

    if ((n = tdm_offset_key(topic, partition, key, sizeof(key), err)) < 0)
        return n;
    if ((r = tdm_store_get(txn, txn->s->meta, key, (size_t)n, &v, &len, err)) < 0)
        return r;
    if (len != 8)
        return td_error_set(err, -EIO, "state store: offset of %s has %zu bytes", key, len);
    b = v;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | b[i];
    *ret = (int64_t)u;
    return 0;
}

int tdm_store_offset_set(tdm_txn *txn, const char *topic, int32_t partition, int64_t offset,
                         td_error *err)
{
    char key[512];
    unsigned char b[8];
    uint64_t u = (uint64_t)offset;
    int n;

    if ((n = tdm_offset_key(topic, partition, key, sizeof(key), err)) < 0)
        return n;
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(u >> (8 * i));
    return tdm_store_put(txn, txn->s->meta, key, (size_t)n, b, sizeof(b), err);
}
