/* tdm_store: the LMDB environment under the state directory. */
#include "tdm_store.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define TDM_META "meta"
#define TDM_FORMAT_KEY "format"
#define TDM_OWNER_KEY "owner"

/* The redo log of the open write transaction: its puts and deletes in
 * order, each a tdm_op header followed by the key and the value bytes. */
enum { TDM_OP_PUT, TDM_OP_DEL };
typedef struct tdm_op {
    size_t klen, vlen;
    MDB_dbi dbi;
    int kind;
} tdm_op;
/* A log bigger than this is freed at the end of its transaction rather than
 * kept for the next one. */
#define TDM_LOG_KEEP ((size_t)64 << 20)

struct tdm_store {
    char *dir;
    size_t map_size, max_map_size;
    size_t psize;     /* LMDB's page size */
    MDB_env *env;
    MDB_dbi meta;
    bool writing;     /* a write transaction is open */
    bool was_reset;
    const char *owner; /* what the state is of (tdm_store_open_owned), or NULL */
    char *prev_owner;  /* the other owner the state was of, when that reset it */
    bool broken;      /* a resize failed: the environment is unmapped */
    int readers;      /* read-only transactions open (the map cannot move) */
    unsigned char *log;
    size_t log_len, log_cap, log_ops;
};

struct tdm_txn {
    tdm_store *s;
    MDB_txn *t;       /* NULL after a failed redo: only abort is allowed */
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

/* n bytes as "512 B", "3.0 MiB", "32.0 GiB". */
static const char *tdm_bytes(char *buf, size_t size, uint64_t n)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    int u = 0;

    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%" PRIu64 " B", n);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
    return buf;
}

/* Bytes free for us on the filesystem of dir (root may use the reserved
 * blocks too), or -1 when statvfs fails. */
static int64_t tdm_free_bytes(const char *dir)
{
    struct statvfs fs;

    if (statvfs(dir, &fs) != 0)
        return -1;
    return (int64_t)((geteuid() == 0 ? fs.f_bfree : fs.f_bavail) * (uint64_t)fs.f_frsize);
}

/* The size of dir/data.mdb, 0 when it cannot be read. */
static uint64_t tdm_data_bytes(const char *dir)
{
    char path[4096];
    struct stat st;

    if ((size_t)snprintf(path, sizeof(path), "%s/data.mdb", dir) >= sizeof(path) ||
        stat(path, &st) != 0)
        return 0;
    return (uint64_t)st.st_size;
}

/* A failed write of the environment (a commit, an open): a full disk is
 * reported as such. LMDB returns ENOSPC or EDQUOT when a write fails
 * outright, but EIO for a short write (the space ran out half-way through a
 * commit): EIO with less room free than the write needed is a full disk
 * too. need: an upper bound of the bytes the write adds to the data file. */
static int tdm_write_fail(const char *dir, int rc, const char *what, uint64_t need, td_error *err)
{
    char b1[32], b2[32], b3[32];
    int64_t avail;

    if (rc != ENOSPC && rc != EDQUOT && rc != EIO)
        return tdm_mdb_fail(err, rc, what);
    avail = tdm_free_bytes(dir);
    if (rc == EIO && (avail < 0 || (uint64_t)avail >= need))
        return tdm_mdb_fail(err, rc, what);
    return td_error_set(err, -ENOSPC,
                        "state store: no space left on device%s: %s in %s needs up to %s more, "
                        "its filesystem has %s free (data.mdb holds %s): free space there or "
                        "move state_dir to a larger filesystem (the state grows with the roster "
                        "and the alerts: docs/benchmarks.md)",
                        rc == EDQUOT ? " (disk quota exceeded)" : "", what, dir,
                        tdm_bytes(b1, sizeof(b1), need),
                        tdm_bytes(b2, sizeof(b2), avail < 0 ? 0 : (uint64_t)avail),
                        tdm_bytes(b3, sizeof(b3), tdm_data_bytes(dir)));
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
    if (s->owner) {
        /* The state is of one group and its topics: another's is not ours to
         * build on. A store without an owner (older, or new) takes this one. */
        k = (MDB_val){strlen(TDM_OWNER_KEY), (void *)TDM_OWNER_KEY};
        rc = mdb_get(t, s->meta, &k, &v);
        if (rc == 0 && (v.mv_size != strlen(s->owner) || memcmp(v.mv_data, s->owner, v.mv_size))) {
            free(s->prev_owner);
            s->prev_owner = strndup(v.mv_data, v.mv_size);
            goto reset;
        }
        if (rc == MDB_NOTFOUND) {
            v = (MDB_val){strlen(s->owner), (void *)s->owner};
            rc = mdb_put(t, s->meta, &k, &v, 0);
        }
        if (rc != 0)
            goto fail;
    }
    rc = mdb_txn_commit(t);
    t = NULL;
    if (rc != 0)
        goto fail;
    {
        MDB_envinfo info;
        MDB_stat st2;
        if ((rc = mdb_env_info(s->env, &info)) != 0 || (rc = mdb_env_stat(s->env, &st2)) != 0)
            goto fail;
        s->map_size = info.me_mapsize; /* at least what the file holds */
        s->psize = st2.ms_psize;
        if (s->max_map_size < s->map_size)
            s->max_map_size = s->map_size;
    }
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
    /* a new environment writes its meta pages and the format */
    return tdm_write_fail(s->dir, rc, "opening the state store", 4 * (uint64_t)sysconf(_SC_PAGESIZE),
                          err);
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

int tdm_store_open(const char *dir, size_t map_size, size_t max_map_size, tdm_store **ret,
                   td_error *err)
{
    return tdm_store_open_owned(dir, map_size, max_map_size, NULL, ret, err);
}

int tdm_store_open_owned(const char *dir, size_t map_size, size_t max_map_size,
                         const char *owner, tdm_store **ret, td_error *err)
{
    tdm_store *s;
    int64_t avail;
    int r;

    if (!dir || !*dir)
        return td_error_set(err, -EINVAL, "state store: no directory given");
    if (!(s = calloc(1, sizeof(*s))) || !(s->dir = strdup(dir))) {
        free(s);
        return td_error_set(err, -ENOMEM, "state store: out of memory");
    }
    s->owner = owner;
    s->map_size = map_size ? map_size : TDM_STORE_DEFAULT_MAP_SIZE;
    s->max_map_size = max_map_size ? max_map_size : TDM_STORE_DEFAULT_MAX_MAP_SIZE;
    if (s->max_map_size < s->map_size)
        s->max_map_size = s->map_size;
    if ((r = tdm_mkdir_p(dir, err)) < 0)
        goto fail;
    avail = tdm_free_bytes(dir);
    if (avail >= 0 && (uint64_t)avail < TDM_STORE_MIN_FREE) {
        char b1[32], b2[32], b3[32];
        r = td_error_set(err, -ENOSPC,
                         "state store: no space left on device: opening the state store in %s "
                         "needs at least %s free on its filesystem, it has %s (data.mdb holds "
                         "%s): free space there or move state_dir to a larger filesystem",
                         dir, tdm_bytes(b1, sizeof(b1), TDM_STORE_MIN_FREE),
                         tdm_bytes(b2, sizeof(b2), (uint64_t)avail),
                         tdm_bytes(b3, sizeof(b3), tdm_data_bytes(dir)));
        goto fail;
    }
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
    s->owner = NULL; /* the caller's string: only for the open */
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
    free(s->log);
    free(s->prev_owner);
    free(s->dir);
    free(s);
    return NULL;
}

const char *tdm_store_previous_owner(const tdm_store *s)
{
    return s->prev_owner;
}

bool tdm_store_was_reset(const tdm_store *s)
{
    return s->was_reset;
}

size_t tdm_store_max_key_len(const tdm_store *s)
{
    return (size_t)mdb_env_get_maxkeysize(s->env);
}

size_t tdm_store_map_size(const tdm_store *s)
{
    return s->map_size;
}

int tdm_store_usage(tdm_store *s, uint64_t *ret_file_bytes, uint64_t *ret_used_bytes)
{
    MDB_envinfo info;
    struct stat st;
    char path[4200];

    snprintf(path, sizeof(path), "%s/data.mdb", s->dir);
    if (stat(path, &st) < 0)
        return -errno;
    if (s->broken || mdb_env_info(s->env, &info) != 0)
        return -EIO;
    *ret_file_bytes = (uint64_t)st.st_size;
    *ret_used_bytes = ((uint64_t)info.me_last_pgno + 1) * s->psize;
    return 0;
}

/* ------------------------------------------------------ growing the map */

static int tdm_broken(const tdm_store *s, td_error *err)
{
    return td_error_set(err, -EIO, "state store: %s: unusable after a failed map resize "
                        "(restart tuodi-matchd)", s->dir);
}

/* Doubles the map, up to max_map_size. No transaction of this store may be
 * open (LMDB's rule for mdb_env_set_mapsize). */
static int tdm_grow(tdm_store *s, td_error *err)
{
    char b1[32], b2[32];
    size_t next;
    int rc;

    if (s->map_size >= s->max_map_size)
        return td_error_set(err, -ENOSPC,
                            "state store: %s is full: its map reached store.max_map_size (%s; "
                            "data.mdb holds %s): raise store.max_map_size (it costs address "
                            "space, not memory; the file grows only as data is written)",
                            s->dir, tdm_bytes(b1, sizeof(b1), s->map_size),
                            tdm_bytes(b2, sizeof(b2), tdm_data_bytes(s->dir)));
    if (s->readers > 0)
        return td_error_set(err, -ENOSPC,
                            "state store: %s: the map (%s) is full and cannot grow while a "
                            "read-only transaction is open", s->dir,
                            tdm_bytes(b1, sizeof(b1), s->map_size));
    next = s->map_size > s->max_map_size / 2 ? s->max_map_size : s->map_size * 2;
    rc = mdb_env_set_mapsize(s->env, next);
    if (rc != 0) {
        s->broken = true;
        return td_error_set(err, tdm_mdb_code(rc),
                            "state store: %s: cannot grow the map from %s to %s: %s%s", s->dir,
                            tdm_bytes(b1, sizeof(b1), s->map_size),
                            tdm_bytes(b2, sizeof(b2), next), mdb_strerror(rc),
                            rc == ENOMEM ? " (the address space is limited: raise ulimit -v or "
                                           "systemd's LimitAS=)" : "");
    }
    s->map_size = next;
    return 0;
}

static int tdm_log_add(tdm_store *s, int kind, MDB_dbi dbi, const MDB_val *k, const MDB_val *v,
                       td_error *err)
{
    tdm_op op = {k->mv_size, v ? v->mv_size : 0, dbi, kind};
    size_t need = sizeof(op) + op.klen + op.vlen;

    if (s->log_cap - s->log_len < need) {
        size_t cap = s->log_cap ? s->log_cap : 4096;
        unsigned char *p;
        while (cap - s->log_len < need)
            cap *= 2;
        if (!(p = realloc(s->log, cap)))
            return td_error_set(err, -ENOMEM, "state store: out of memory (a redo log of %zu "
                                "bytes)", cap);
        s->log = p;
        s->log_cap = cap;
    }
    memcpy(s->log + s->log_len, &op, sizeof(op));
    memcpy(s->log + s->log_len + sizeof(op), k->mv_data, op.klen);
    if (op.vlen)
        memcpy(s->log + s->log_len + sizeof(op) + op.klen, v->mv_data, op.vlen);
    s->log_len += need;
    s->log_ops++;
    return 0;
}

/* Takes back the last entry, which began at mark. */
static void tdm_log_undo(tdm_store *s, size_t mark)
{
    s->log_len = mark;
    s->log_ops--;
}

static void tdm_log_reset(tdm_store *s)
{
    s->log_len = 0;
    s->log_ops = 0;
    if (s->log_cap > TDM_LOG_KEEP) {
        free(s->log);
        s->log = NULL;
        s->log_cap = 0;
    }
}

/* An upper bound of the bytes the open write transaction adds to the data
 * file: a page per write (the leaf it dirties) plus the bytes written, plus
 * the free list and the meta page. */
static uint64_t tdm_log_need(const tdm_store *s)
{
    size_t ps = s->psize ? s->psize : 4096;
    return (uint64_t)(s->log_ops + 3) * ps + s->log_len;
}

/* Repeats the log in t: MDB_SUCCESS or the first failure. */
static int tdm_log_replay(tdm_store *s, MDB_txn *t)
{
    size_t off = 0;

    while (off < s->log_len) {
        tdm_op op;
        MDB_val k, v;
        int rc;
        memcpy(&op, s->log + off, sizeof(op));
        k = (MDB_val){op.klen, s->log + off + sizeof(op)};
        v = (MDB_val){op.vlen, s->log + off + sizeof(op) + op.klen};
        rc = op.kind == TDM_OP_PUT ? mdb_put(t, op.dbi, &k, &v, 0) : mdb_del(t, op.dbi, &k, NULL);
        if (rc != 0 && !(op.kind == TDM_OP_DEL && rc == MDB_NOTFOUND))
            return rc;
        off += sizeof(op) + op.klen + op.vlen;
    }
    return MDB_SUCCESS;
}

/* The map filled in x (whose LMDB transaction is aborted here, or was by a
 * failed commit: x->t NULL): grows the map, begins again and redoes the log,
 * until the log fits or the map cannot grow. On failure x->t is NULL. */
static int tdm_redo(tdm_txn *x, td_error *err)
{
    tdm_store *s = x->s;
    int rc, r;

    for (;;) {
        if (x->t)
            mdb_txn_abort(x->t);
        x->t = NULL;
        if ((r = tdm_grow(s, err)) < 0)
            return r;
        if ((rc = mdb_txn_begin(s->env, NULL, 0, &x->t)) != 0) {
            x->t = NULL;
            return tdm_mdb_fail(err, rc, "begin (after growing the map)");
        }
        rc = tdm_log_replay(s, x->t);
        if (rc == MDB_SUCCESS)
            return 0;
        if (rc != MDB_MAP_FULL) {
            mdb_txn_abort(x->t);
            x->t = NULL;
            return tdm_mdb_fail(err, rc, "redoing a transaction after growing the map");
        }
    }
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
    if (s->broken)
        return tdm_broken(s, err);
    for (;;) {
        int r;
        if ((rc = mdb_txn_begin(s->env, NULL, 0, &t)) != 0)
            return tdm_mdb_fail(err, rc, "begin");
        if ((rc = mdb_dbi_open(t, name, MDB_CREATE, &dbi)) != 0)
            mdb_txn_abort(t);
        else
            rc = mdb_txn_commit(t);
        if (rc != MDB_MAP_FULL)
            break;
        if ((r = tdm_grow(s, err)) < 0)
            return r;
    }
    if (rc != 0)
        return tdm_write_fail(s->dir, rc, name, 4 * (uint64_t)s->psize, err);
    *ret = dbi;
    return 0;
}

static int tdm_begin(tdm_store *s, bool write, tdm_txn **ret, td_error *err)
{
    tdm_txn *x;
    int rc;

    if (write && s->writing)
        return td_error_set(err, -EBUSY, "state store: a write transaction is open already");
    if (s->broken)
        return tdm_broken(s, err);
    if (!(x = calloc(1, sizeof(*x))))
        return td_error_set(err, -ENOMEM, "state store: out of memory");
    if ((rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &x->t)) != 0) {
        free(x);
        return tdm_mdb_fail(err, rc, "begin");
    }
    x->s = s;
    x->write = write;
    if (write) {
        s->writing = true;
        tdm_log_reset(s);
    } else {
        s->readers++;
    }
    *ret = x;
    return 0;
}

/* Ends x's bookkeeping (its LMDB transaction is over) and frees it. */
static void tdm_end(tdm_txn *x)
{
    if (x->write) {
        x->s->writing = false;
        tdm_log_reset(x->s);
    } else {
        x->s->readers--;
    }
    free(x);
}

/* Refuses a write transaction whose redo failed. */
static int tdm_live(const tdm_txn *x, td_error *err)
{
    if (x->t)
        return 0;
    return td_error_set(err, -EIO, "state store: %s: the transaction failed before (abort it)",
                        x->s->dir);
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
    uint64_t need;
    int rc, r;

    if ((r = tdm_live(txn, err)) < 0) {
        tdm_end(txn);
        return r;
    }
    need = tdm_log_need(txn->s);
    /* the free list written at commit may need a page more than the map has */
    while ((rc = mdb_txn_commit(txn->t)) == MDB_MAP_FULL && txn->write) {
        txn->t = NULL; /* a failed commit frees it */
        if ((r = tdm_redo(txn, err)) < 0) {
            tdm_end(txn);
            return r;
        }
    }
    txn->t = NULL;
    if (rc != 0) {
        char what[64];
        snprintf(what, sizeof(what), "committing %zu changes", txn->s->log_ops);
        r = tdm_write_fail(txn->s->dir, rc, txn->write ? what : "commit", need, err);
    }
    tdm_end(txn);
    return rc ? r : 0;
}

void tdm_store_abort(tdm_txn *txn)
{
    if (!txn)
        return;
    if (txn->t)
        mdb_txn_abort(txn->t);
    tdm_end(txn);
}

int tdm_store_get(tdm_txn *txn, tdm_db db, const void *key, size_t key_len,
                  const void **ret_val, size_t *ret_len, td_error *err)
{
    MDB_val k = {key_len, (void *)key}, v;
    int rc;

    if ((rc = tdm_live(txn, err)) < 0)
        return rc;
    rc = mdb_get(txn->t, db, &k, &v);
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
    int rc;

    if ((rc = tdm_live(txn, err)) < 0)
        return rc;
    rc = mdb_cursor_open(txn->t, db, &c);
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

int tdm_store_foreach(tdm_txn *txn, tdm_db db, tdm_store_each_fn fn, void *opaque,
                      td_error *err)
{
    MDB_cursor *c = NULL;
    MDB_val k, v;
    int rc, r = 0;

    if ((rc = tdm_live(txn, err)) < 0)
        return rc;
    rc = mdb_cursor_open(txn->t, db, &c);
    if (rc != 0)
        return tdm_mdb_fail(err, rc, "cursor");
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && r == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        r = fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size, opaque);
    mdb_cursor_close(c);
    if (r != 0)
        return r;
    if (rc != MDB_NOTFOUND)
        return tdm_mdb_fail(err, rc, "next");
    return 0;
}

int tdm_store_put(tdm_txn *txn, tdm_db db, const void *key, size_t key_len,
                  const void *val, size_t val_len, td_error *err)
{
    MDB_val k = {key_len, (void *)key}, v = {val_len, (void *)val};
    size_t mark = txn->s->log_len;
    int rc;

    if (!txn->write)
        return td_error_set(err, -EROFS, "state store: put in a read-only transaction");
    if ((rc = tdm_live(txn, err)) < 0 || (rc = tdm_log_add(txn->s, TDM_OP_PUT, db, &k, &v, err)) < 0)
        return rc;
    rc = mdb_put(txn->t, db, &k, &v, 0);
    if (rc == MDB_MAP_FULL)
        return tdm_redo(txn, err); /* the log ends with this put */
    if (rc != 0) {
        tdm_log_undo(txn->s, mark);
        return tdm_mdb_fail(err, rc, "put");
    }
    return 0;
}

int tdm_store_del(tdm_txn *txn, tdm_db db, const void *key, size_t key_len, td_error *err)
{
    MDB_val k = {key_len, (void *)key};
    size_t mark = txn->s->log_len;
    int rc;

    if (!txn->write)
        return td_error_set(err, -EROFS, "state store: delete in a read-only transaction");
    if ((rc = tdm_live(txn, err)) < 0 || (rc = tdm_log_add(txn->s, TDM_OP_DEL, db, &k, NULL, err)) < 0)
        return rc;
    rc = mdb_del(txn->t, db, &k, NULL);
    if (rc == MDB_MAP_FULL)
        return tdm_redo(txn, err); /* the log ends with this delete */
    if (rc != 0)
        tdm_log_undo(txn->s, mark);
    if (rc == MDB_NOTFOUND)
        return -ENOENT;
    if (rc != 0)
        return tdm_mdb_fail(err, rc, "delete");
    return 0;
}

int tdm_store_count(tdm_txn *txn, tdm_db db, size_t *ret, td_error *err)
{
    MDB_stat st;
    int rc;

    if ((rc = tdm_live(txn, err)) < 0)
        return rc;
    rc = mdb_stat(txn->t, db, &st);
    if (rc != 0)
        return tdm_mdb_fail(err, rc, "stat");
    *ret = st.ms_entries;
    return 0;
}

int tdm_store_db_bytes(tdm_txn *txn, tdm_db db, size_t *ret, td_error *err)
{
    MDB_stat st;
    int rc;

    if ((rc = tdm_live(txn, err)) < 0)
        return rc;
    rc = mdb_stat(txn->t, db, &st);
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
