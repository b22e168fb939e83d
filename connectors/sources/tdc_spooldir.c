/* tdc_spooldir: see tdc_spooldir.h for the behaviour and its reasons.
 *
 * A unit (one file) goes through these states:
 *   NONE -> READING -> END_PENDING (next() returns END_UNIT once) -> ENDED
 *   (IDLE until committed() acknowledges the final position) -> MOVE (the
 *   rename to finished/ or error/; retried by next() if it failed) -> NONE.
 *   REOPEN: the reader failed for want of memory; next() reopens the file at
 *   the last position returned.
 */
#include "tdc_spooldir.h"

#include "td_log.h"
#include "td_path.h"
#include "td_time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *const tdc_spooldir_ready_names[] = {"marker", "age", NULL};
const char *const tdc_spooldir_encoding_names[] = {"auto", "utf-8", "gb18030", "gbk", NULL};

#define CFG struct tdc_spooldir_config
const td_cfg_entry tdc_spooldir_config_table[] = {
    TD_CFG_PATH("input_dir", CFG, input_dir, NULL,
                "Directory departments drop CSV files into (must exist)", TD_CFG_REQUIRED),
    TD_CFG_PATH("processing_dir", CFG, processing_dir, NULL,
                "Where the file being read is kept (default: <input_dir>/processing)"),
    TD_CFG_PATH("finished_dir", CFG, finished_dir, NULL,
                "Where files go when every row is published or rejected (default: <input_dir>/finished)"),
    TD_CFG_PATH("error_dir", CFG, error_dir, NULL,
                "Where unreadable files go, each with <name>.error.txt (default: <input_dir>/error)"),
    TD_CFG_STRING("pattern", CFG, pattern, "*.csv",
                  "Glob (fnmatch, leading dot not matched) for the files to take"),
    TD_CFG_ENUM("ready", CFG, ready, "marker", tdc_spooldir_ready_names,
                "When a file is complete: marker (<name><marker_suffix> exists) or age (min_age old and unchanged between two scans)"),
    TD_CFG_STRING("marker_suffix", CFG, marker_suffix, ".done",
                  "Suffix of the marker file (ready: marker); removed when the file is taken"),
    TD_CFG_DURATION("min_age", CFG, min_age, "30s", 0, 86400000,
                    "Minimum age of the file's mtime (ready: age)"),
    TD_CFG_DURATION("poll_interval", CFG, poll_interval, "2s", 10, 3600000,
                    "How often the input directory is scanned besides inotify events"),
    TD_CFG_ENUM("encoding", CFG, encoding, "auto", tdc_spooldir_encoding_names,
                "File encoding: auto (BOM, else UTF-8 if the first 64 KiB are valid UTF-8, else GB18030), utf-8, gb18030, gbk (read as GB18030)"),
    TD_CFG_STRING("delimiter", CFG, delimiter, ",",
                  "Field delimiter: \",\", \";\", \"|\", or \"tab\" (or a TAB character)"),
    TD_CFG_SIZE("max_row_bytes", CFG, max_row_bytes, "960KiB", 1024, 268435456,
                "Longest row accepted; a longer one is rejected and the reader resyncs at the next line end. Lowered at start, with a notice, to what one Kafka message can carry with the record's framing or a dead letter's headers (16 KiB below the smallest of kafka.message.max.bytes and the topics' max.message.bytes)"),
    TD_CFG_BOOL("create_dirs", CFG, create_dirs, "true",
                "Create missing processing, finished and error directories (never input_dir)"),
    TD_CFG_END,
};
#undef CFG

enum { U_NONE, U_READING, U_END_PENDING, U_ENDED, U_MOVE, U_REOPEN };

typedef struct spool_entry {
    char *name;
    int64_t ino, size, mtime_ns;
    int why; /* skipped entries: a skip_why */
} spool_entry;

/* Why an entry of input_dir is never taken (hidden names are not reported:
 * they are how a file is written in place before it is renamed in). */
typedef enum skip_why {
    SKIP_PATTERN = 0,
    SKIP_MARKER,
    SKIP_SYMLINK,
    SKIP_DIRECTORY,
    SKIP_FIFO,
    SKIP_SOCKET,
    SKIP_DEVICE,
} skip_why;

typedef struct tdc_spooldir {
    tdc_source base;
    char *input, *processing, *finished, *errdir, *pattern, *marker;
    int ready;
    int64_t min_age_ns, poll_ns;
    tdc_csv_options csvopt;
    int in_fd, proc_fd, fin_fd, err_fd, ino_fd;
    bool create_dirs;
    dev_t dev;
    tdc_spooldir_clock_fn *clock;
    void *clock_opaque;

    bool started;
    bool scan_due;
    int64_t last_scan;
    spool_entry *seen; /* the previous scan's candidates, sorted (age) */
    size_t nseen;
    spool_entry *skipped; /* entries of input_dir never taken, each warned about
                             once: the previous scan's, sorted */
    size_t nskipped;
    size_t not_ready;  /* candidates not ready at the last scan */

    int ustate;
    char name[TDC_UNIT_MAX];
    int file_fd;
    tdc_csv *csv;
    tdc_csv_encoding enc;
    bool bom;
    const char *const *cols;
    size_t ncols;
    tdc_position pos;
    bool have_pos;
    const char *row_error;
    char status[TDC_UNIT_MAX + 160];
    /* how the rows of the unit went, as the engine said (unit_counts) */
    bool have_counts;
    int64_t counts_first_row, counts_published, counts_rejected;
} tdc_spooldir;

static const tdc_source_ops spooldir_ops;

static tdc_spooldir *to_spool(const tdc_source *src)
{
    return (tdc_spooldir *)src;
}

static int64_t default_clock(void *opaque)
{
    struct timespec ts;
    (void)opaque;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t spool_now(const tdc_spooldir *s)
{
    return s->clock(s->clock_opaque);
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Copies text into dst (size bytes), cut at a UTF-8 character boundary. */
static void copy_text(char *dst, size_t size, const char *text)
{
    size_t n = strlen(text);

    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, text, n);
    dst[n] = '\0';
}

static bool has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return k > 0 && n >= k && strcmp(name + n - k, suffix) == 0;
}

/* --- directories --------------------------------------------------------- */

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0750) < 0 && errno != EEXIST)
            return -errno;
        buf[i] = c;
    }
    return 0;
}

static int open_dir(const char *key, const char *path, bool create, struct stat *st, int *ret_fd,
                    td_error *err)
{
    int fd;

    if (stat(path, st) < 0) {
        int e = errno;
        if (e == ENOENT && create) {
            int r = mkdir_p(path);
            if (r < 0)
                return td_error_set(err, r, "spooldir.%s: cannot create %s: %s", key, path,
                                    strerror(-r));
            if (stat(path, st) < 0)
                return td_error_set(err, -errno, "spooldir.%s: %s: %s", key, path, strerror(errno));
        } else {
            return td_error_set(err, -e, "spooldir.%s: %s: %s%s", key, path, strerror(e),
                                e == ENOENT && strcmp(key, "input_dir") != 0
                                    ? " (set create_dirs: true to create it)" : "");
        }
    }
    if (!S_ISDIR(st->st_mode))
        return td_error_set(err, -ENOTDIR, "spooldir.%s: %s is not a directory", key, path);
    if (access(path, W_OK | X_OK | R_OK) < 0)
        return td_error_set(err, -errno, "spooldir.%s: %s: need read, write and search permission: %s",
                            key, path, strerror(errno));
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return td_error_set(err, -errno, "spooldir.%s: %s: %s", key, path, strerror(errno));
    *ret_fd = fd;
    return 0;
}

/* A directory removed or replaced under us (rm -r, a restore) would make
 * renames fail with ENOENT or go to a directory nobody sees: reopen each one
 * whose path no longer names the directory we hold (creating it again when
 * create_dirs allows; never input_dir). */
static int check_dirs(tdc_spooldir *s, td_error *err)
{
    struct {
        int *fd;
        const char *path, *key;
        bool create;
    } d[4] = {
        {&s->in_fd, s->input, "input_dir", false},
        {&s->proc_fd, s->processing, "processing_dir", s->create_dirs},
        {&s->fin_fd, s->finished, "finished_dir", s->create_dirs},
        {&s->err_fd, s->errdir, "error_dir", s->create_dirs},
    };

    for (int i = 0; i < 4; i++) {
        struct stat a, b;
        int fd, rc;
        if (fstat(*d[i].fd, &a) == 0 && stat(d[i].path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino)
            continue;
        if ((rc = open_dir(d[i].key, d[i].path, d[i].create, &b, &fd, err)) < 0)
            return rc;
        if (b.st_dev != s->dev) {
            close(fd);
            return td_error_set(err, -EXDEV, "spooldir.%s: %s is now on another filesystem",
                                d[i].key, d[i].path);
        }
        close(*d[i].fd);
        *d[i].fd = fd;
        if (i == 0 && s->ino_fd >= 0)
            inotify_add_watch(s->ino_fd, s->input, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB);
    }
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const spool_entry *)a)->name, ((const spool_entry *)b)->name);
}

static void free_entries(spool_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

typedef struct entry_vec {
    spool_entry *v;
    size_t n, cap;
} entry_vec;

static int push_entry(entry_vec *ev, const char *name, const struct stat *st, int why)
{
    if (ev->n == ev->cap) {
        size_t nc = ev->cap ? ev->cap * 2 : 16;
        spool_entry *nv = realloc(ev->v, nc * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        ev->v = nv;
        ev->cap = nc;
    }
    spool_entry *e = &ev->v[ev->n];
    e->name = strdup(name);
    if (!e->name)
        return -ENOMEM;
    e->ino = (int64_t)st->st_ino;
    e->size = (int64_t)st->st_size;
    e->mtime_ns = mtime_ns(st);
    e->why = why;
    ev->n++;
    return 0;
}

/* The reason an entry of input_dir that is not a candidate is never taken,
 * or -1 when it is no concern (one of our own directories). */
static int skip_reason(const tdc_spooldir *s, const struct stat *st, bool matches, bool marker)
{
    int fds[3] = {s->proc_fd, s->fin_fd, s->err_fd};

    if (S_ISDIR(st->st_mode)) {
        for (int i = 0; i < 3; i++) {
            struct stat o;
            if (fstat(fds[i], &o) == 0 && o.st_dev == st->st_dev && o.st_ino == st->st_ino)
                return -1;
        }
    }
    if (marker)
        return SKIP_MARKER;
    if (!matches)
        return SKIP_PATTERN;
    if (S_ISLNK(st->st_mode))
        return SKIP_SYMLINK;
    if (S_ISDIR(st->st_mode))
        return SKIP_DIRECTORY;
    if (S_ISFIFO(st->st_mode))
        return SKIP_FIFO;
    if (S_ISSOCK(st->st_mode))
        return SKIP_SOCKET;
    return SKIP_DEVICE;
}

/* Regular files in dirfd, sorted by strcmp. With skipped (input_dir): only
 * those whose name matches the pattern and is not a marker, and in
 * *skipped (sorted) the entries that will never be taken, with why: names
 * that do not match, entries that are not regular files, markers whose file
 * is not there. Hidden names are left out of both. processing_dir holds only
 * files this source took (maybe under an older pattern): every regular,
 * non-hidden file there is listed. */
static int list_dir(const tdc_spooldir *s, int dirfd, spool_entry **ret, size_t *ret_n,
                    spool_entry **skipped, size_t *nskipped)
{
    entry_vec v = {0}, sk = {0};
    struct dirent *de;
    DIR *d;
    int rc = 0, fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return -e;
    }
    while ((errno = 0, de = readdir(d))) {
        struct stat st;
        const char *nm = de->d_name;
        if (strlen(nm) >= TDC_UNIT_MAX || nm[0] == '.')
            continue;
        if (fstatat(dirfd, nm, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* gone meanwhile */
        if (skipped) {
            bool marker = has_suffix(nm, s->marker);
            bool matches = fnmatch(s->pattern, nm, FNM_PERIOD) == 0;
            if (marker || !matches || !S_ISREG(st.st_mode)) {
                int why = skip_reason(s, &st, matches, marker);
                if (marker) {
                    /* the marker of an entry that is there: that entry speaks for it */
                    char base[TDC_UNIT_MAX];
                    snprintf(base, sizeof(base), "%.*s", (int)(strlen(nm) - strlen(s->marker)), nm);
                    if (base[0] && faccessat(dirfd, base, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                        why = -1;
                }
                if (why >= 0 && (rc = push_entry(&sk, nm, &st, why)) < 0)
                    goto fail;
                continue;
            }
        } else if (!S_ISREG(st.st_mode)) {
            continue;
        }
        if ((rc = push_entry(&v, nm, &st, 0)) < 0)
            goto fail;
    }
    closedir(d);
    if (v.n > 1)
        qsort(v.v, v.n, sizeof(*v.v), cmp_entry);
    if (sk.n > 1)
        qsort(sk.v, sk.n, sizeof(*sk.v), cmp_entry);
    *ret = v.v;
    *ret_n = v.n;
    if (skipped) {
        *skipped = sk.v;
        *nskipped = sk.n;
    }
    return 0;
fail:
    closedir(d);
    free_entries(v.v, v.n);
    free_entries(sk.v, sk.n);
    return rc;
}

/* Copies a file name for a log line: control characters and bytes that are
 * not UTF-8 become '?'. */
static void printable_name(char *dst, size_t size, const char *name)
{
    const unsigned char *p = (const unsigned char *)name;
    size_t o = 0;

    while (*p && o + 5 < size) {
        size_t len = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3
                   : (*p & 0xF8) == 0xF0 ? 4 : 0;
        bool ok = len > 0 && (len == 1 ? *p >= 0x20 && *p != 0x7F : *p >= 0xC2 && *p <= 0xF4);
        for (size_t k = 1; ok && k < len; k++)
            ok = (p[k] & 0xC0) == 0x80;
        if (!ok) {
            dst[o++] = '?';
            p++;
            continue;
        }
        memcpy(dst + o, p, len);
        o += len;
        p += len;
    }
    dst[o] = '\0';
}

/* Warns once about each entry of input_dir that will never be taken: those
 * in now that were not in the previous scan's list (same name and inode).
 * Takes now (sorted) as the new list. */
static void warn_skipped(tdc_spooldir *s, spool_entry *now, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const spool_entry *e = &now[i];
        const spool_entry *old = s->nskipped ? bsearch(e, s->skipped, s->nskipped, sizeof(*e),
                                                       cmp_entry)
                                             : NULL;
        char nm[TDC_UNIT_MAX * 3], why[TDC_UNIT_MAX * 3 + 160];
        if (old && old->ino == e->ino && old->why == e->why)
            continue;
        printable_name(nm, sizeof(nm), e->name);
        switch ((skip_why)e->why) {
        case SKIP_PATTERN:
            snprintf(why, sizeof(why), "its name does not match pattern \"%s\"", s->pattern);
            break;
        case SKIP_MARKER: {
            char base[TDC_UNIT_MAX * 3];
            snprintf(base, sizeof(base), "%.*s", (int)(strlen(nm) - strlen(s->marker)), nm);
            snprintf(why, sizeof(why), "a marker (marker_suffix \"%s\") without its file \"%s\"",
                     s->marker, base);
            break;
        }
        case SKIP_SYMLINK:
            snprintf(why, sizeof(why), "a symbolic link (only regular files are taken)");
            break;
        case SKIP_DIRECTORY:
            snprintf(why, sizeof(why), "a directory (only regular files are taken)");
            break;
        case SKIP_FIFO:
            snprintf(why, sizeof(why), "a FIFO (only regular files are taken)");
            break;
        case SKIP_SOCKET:
            snprintf(why, sizeof(why), "a socket (only regular files are taken)");
            break;
        case SKIP_DEVICE:
            snprintf(why, sizeof(why), "a device (only regular files are taken)");
            break;
        }
        td_log_component(TD_LOG_WARNING, "spooldir", "%s/%s: never taken: %s", s->input, nm, why);
    }
    free_entries(s->skipped, s->nskipped);
    s->skipped = now;
    s->nskipped = n;
}

/* --- units ------------------------------------------------------------- */

static void unit_close(tdc_spooldir *s)
{
    s->csv = tdc_csv_free(s->csv);
    if (s->file_fd >= 0)
        close(s->file_fd);
    s->file_fd = -1;
    s->cols = NULL;
    s->ncols = 0;
}

static void unit_end(tdc_spooldir *s, tdc_file_state state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void unit_end(tdc_spooldir *s, tdc_file_state state, const char *fmt, ...)
{
    unit_close(s);
    s->pos.state = state;
    s->pos.error[0] = '\0';
    if (state == TDC_FILE_FINISHED) {
        s->pos.next_byte_offset = s->pos.size;
    } else if (fmt) {
        char text[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        td_log_redact(text);
        copy_text(s->pos.error, sizeof(s->pos.error), text);
    }
    s->have_pos = true;
    s->ustate = U_END_PENDING;
}

/* Opens processing/<name>: from the top (at NULL) or at a committed
 * position whose identity must match. Data problems end the unit in ERROR;
 * a negative return is a problem of the source (memory). */
static int unit_open(tdc_spooldir *s, const char *name, const tdc_position *at)
{
    struct stat st;
    td_error e;
    int rc, fd;

    td_error_clear(&e);
    copy_text(s->name, sizeof(s->name), name);
    s->row_error = NULL;
    s->have_counts = false;
    if (at) {
        s->pos = *at;
    } else {
        memset(&s->pos, 0, sizeof(s->pos));
        s->pos.kind = TDC_POSITION_SPOOLDIR;
        copy_text(s->pos.file_name, sizeof(s->pos.file_name), name);
        s->pos.next_row = 1;
    }
    s->pos.state = TDC_FILE_IN_PROGRESS;
    s->pos.error[0] = '\0';
    s->have_pos = true;
    s->ustate = U_READING;

    /* the identity first, so that a file we cannot open still moves to error/ */
    if (fstatat(s->proc_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        int en = errno;
        if (en == ENOMEM)
            return -en;
        unit_end(s, TDC_FILE_ERROR, "%s: %s in %s", name,
                 en == ENOENT ? "disappeared" : strerror(en), s->processing);
        return 0;
    }
    if (!at) {
        s->pos.device = (int64_t)st.st_dev;
        s->pos.inode = (int64_t)st.st_ino;
        s->pos.size = (int64_t)st.st_size;
        s->pos.mtime_ns = mtime_ns(&st);
        s->pos.content_sha256[0] = '\0';
    }
    fd = openat(s->proc_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) {
        int en = errno;
        if (en == ENOMEM || en == EMFILE || en == ENFILE)
            return -en;
        unit_end(s, TDC_FILE_ERROR, "%s: cannot open: %s", name, strerror(en));
        return 0;
    }
    s->file_fd = fd;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        unit_end(s, TDC_FILE_ERROR, "%s: not a regular file", name);
        return 0;
    }
    if (!at && ((int64_t)st.st_ino != s->pos.inode || (int64_t)st.st_size != s->pos.size ||
                mtime_ns(&st) != s->pos.mtime_ns)) {
        unit_end(s, TDC_FILE_ERROR, "%s: changed while being opened", name);
        return 0;
    }
    if (at) {
        if ((int64_t)st.st_ino != at->inode) {
            unit_end(s, TDC_FILE_ERROR, "%s: replaced by another file while in %s", name,
                     s->processing);
            return 0;
        }
        if ((int64_t)st.st_size != at->size || mtime_ns(&st) != at->mtime_ns) {
            unit_end(s, TDC_FILE_ERROR,
                     "%s: changed while in %s (size %lld -> %lld bytes%s); rows up to row %lld were "
                     "already published, so it is not read again",
                     name, s->processing, (long long)at->size, (long long)st.st_size,
                     mtime_ns(&st) != at->mtime_ns ? ", modified" : "",
                     (long long)at->next_row - 1);
            return 0;
        }
        s->pos.device = (int64_t)st.st_dev;
    }

    tdc_csv_options o = s->csvopt;
    o.expect_size = (int64_t)st.st_size;
    o.expect_mtime_ns = mtime_ns(&st);
    tdc_csv_start start = {0};
    bool resume = at && at->next_row > 2;
    if (resume) {
        start.offset = at->next_byte_offset;
        start.row = at->next_row;
        start.line = 0; /* not in the position: counted */
    }
    rc = tdc_csv_open_fd(fd, name, &o, resume ? &start : NULL, &s->csv, &e);
    if (rc == -ENOMEM)
        return -ENOMEM;
    if (rc < 0) {
        unit_end(s, TDC_FILE_ERROR, "%s", td_error_msg(&e));
        return 0;
    }
    s->enc = tdc_csv_encoding_used(s->csv, &s->bom);
    s->cols = tdc_csv_columns(s->csv, &s->ncols);
    if (!resume) {
        int64_t line;
        s->pos.next_byte_offset = tdc_csv_header_end(s->csv, &line);
        s->pos.next_row = 2;
    }
    return 0;
}

/* At the end of the file: is it still what we took? */
static void unit_finish(tdc_spooldir *s)
{
    struct stat st;

    if (fstat(s->file_fd, &st) < 0) {
        unit_end(s, TDC_FILE_ERROR, "%s: fstat: %s", s->name, strerror(errno));
        return;
    }
    if ((int64_t)st.st_size != s->pos.size || mtime_ns(&st) != s->pos.mtime_ns) {
        unit_end(s, TDC_FILE_ERROR, "%s: changed while being read (size %lld -> %lld bytes%s)",
                 s->name, (long long)s->pos.size, (long long)st.st_size,
                 mtime_ns(&st) != s->pos.mtime_ns ? ", modified" : "");
        return;
    }
    if (fstatat(s->proc_fd, s->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        unit_end(s, TDC_FILE_ERROR, "%s: disappeared from %s while being read", s->name,
                 s->processing);
        return;
    }
    if ((int64_t)st.st_ino != s->pos.inode) {
        unit_end(s, TDC_FILE_ERROR, "%s: replaced in %s while being read", s->name, s->processing);
        return;
    }
    unit_end(s, TDC_FILE_FINISHED, NULL);
}

/* A free name for name in dirfd (also free with ".error.txt" when
 * with_txt): name itself, else name with a UTC timestamp before its
 * extension, then "-2", "-3", ... */
static int free_name(const tdc_spooldir *s, int dirfd, const char *name, bool with_txt,
                     char *out, size_t size)
{
    char stamp[40], txt[TDC_UNIT_MAX + 80];
    const char *dot = strrchr(name, '.');
    struct tm tm;
    int64_t now = spool_now(s);
    time_t secs = (time_t)(now / 1000000000);

    if (!dot || dot == name)
        dot = name + strlen(name);
    gmtime_r(&secs, &tm);
    for (int k = 0; k < 1000; k++) {
        if (k == 0) {
            snprintf(out, size, "%s", name);
        } else {
            size_t sl = (size_t)snprintf(stamp, sizeof(stamp), ".%04d%02d%02dT%02d%02d%02d.%03dZ",
                                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                         tm.tm_min, tm.tm_sec, (int)((now / 1000000) % 1000));
            if (k > 1)
                sl += (size_t)snprintf(stamp + sl, sizeof(stamp) - sl, "-%d", k);
            size_t stem = (size_t)(dot - name), ext = strlen(dot);
            /* keep the result and its .error.txt within NAME_MAX (255) */
            if (stem + sl + ext + 10 > 255)
                stem = 255 > sl + ext + 10 ? 255 - sl - ext - 10 : 0;
            snprintf(out, size, "%.*s%s%s", (int)stem, name, stamp, dot);
        }
        snprintf(txt, sizeof(txt), "%s.error.txt", out);
        if (faccessat(dirfd, out, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
            continue;
        if (with_txt && faccessat(dirfd, txt, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
            continue;
        return 0;
    }
    return -EEXIST;
}

static int rename_noreplace(int ofd, const char *oname, int nfd, const char *nname)
{
    if (renameat2(ofd, oname, nfd, nname, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return -errno;
    /* a filesystem without RENAME_NOREPLACE: only this source writes here */
    if (faccessat(nfd, nname, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return -EEXIST;
    return renameat(ofd, oname, nfd, nname) == 0 ? 0 : -errno;
}

/* Where a file that ended in ERROR went. */
typedef enum end_where {
    END_MOVED,    /* renamed into error_dir */
    END_REPLACED, /* processing/<name> is another file now */
    END_REMOVED,  /* processing/<name> is gone */
} end_where;

#define STORY_MAX 4096

/* Writes to buf (size STORY_MAX) what happened to the unit that ended in
 * ERROR, as "key: value" lines: the reason, where the file is, which rows
 * were read (and, when the engine said, how they went) and where the rest
 * is. now: the file as it is at the move (END_MOVED), else NULL. */
static void end_story(const tdc_spooldir *s, end_where where, const char *final,
                      const struct stat *now, char *buf)
{
    const tdc_position *p = &s->pos;
    size_t n = 0;
    int64_t last_row = p->next_row - 1;

#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (n < STORY_MAX)                                                                         \
            n += (size_t)snprintf(buf + n, STORY_MAX - n, __VA_ARGS__);                            \
    } while (0)
    ADD("file: %s\nreason: %s\n", p->file_name, p->error[0] ? p->error : "(none given)");
    switch (where) {
    case END_MOVED:
        ADD("moved to: %s/%s\n", s->errdir, final);
        break;
    case END_REPLACED:
        ADD("not moved: it is no longer in %s: another file of the same name took its place "
            "there while it was read (that file is read as a new one)\n",
            s->processing);
        break;
    case END_REMOVED:
        ADD("not moved: it is no longer in %s: it was removed or renamed while it was read\n",
            s->processing);
        break;
    }
    if (last_row >= 2)
        ADD("rows read: 2 to %lld (bytes up to %lld), each one published or dead-lettered\n",
            (long long)last_row, (long long)p->next_byte_offset);
    else
        ADD("rows read: none\n");
    if (s->have_counts && s->counts_first_row >= 2 && s->counts_first_row <= last_row)
        ADD("this run: rows %lld to %lld: %lld published, %lld dead-lettered\n",
            (long long)s->counts_first_row, (long long)last_row, (long long)s->counts_published,
            (long long)s->counts_rejected);
    else if (s->have_counts && s->counts_first_row == 0 && last_row >= 2)
        ADD("this run: no row (the rows above were committed by an earlier run)\n");
    if (p->next_byte_offset >= p->size)
        ADD("not read: nothing (read to its end, byte %lld)\n", (long long)p->size);
    else if (where == END_MOVED && now && (int64_t)now->st_size == p->size &&
             mtime_ns(now) == p->mtime_ns)
        ADD("not read: bytes %lld to %lld (row %lld on): in %s/%s from byte %lld\n",
            (long long)p->next_byte_offset, (long long)p->size, (long long)p->next_row, s->errdir,
            final, (long long)p->next_byte_offset);
    else if (where == END_MOVED)
        ADD("not read: bytes %lld to %lld (row %lld on) of the file as it was taken; it changed "
            "since (%lld bytes now%s): %s/%s is the file as it is now\n",
            (long long)p->next_byte_offset, (long long)p->size, (long long)p->next_row,
            now ? (long long)now->st_size : 0LL,
            now && mtime_ns(now) != p->mtime_ns ? ", modified" : "", s->errdir, final);
    else
        ADD("not read: bytes %lld to %lld (row %lld on): not in the spool any more\n",
            (long long)p->next_byte_offset, (long long)p->size, (long long)p->next_row);
#undef ADD
    td_log_redact(buf); /* a file name can hold an identity number too */
}

/* The name error.txt is written under before it is renamed into place. */
#define ERROR_TXT_PARTIAL ".error.txt.partial"

static int write_error_txt(const tdc_spooldir *s, const char *story, td_error *err)
{
    char when[40];
    int fd;
    FILE *f;

    fd = openat(s->err_fd, ERROR_TXT_PARTIAL, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                0640);
    if (fd < 0)
        return td_error_set(err, -errno, "%s/%s: %s", s->errdir, ERROR_TXT_PARTIAL, strerror(errno));
    f = fdopen(fd, "w");
    if (!f) {
        int e = errno;
        close(fd);
        return td_error_set(err, -e, "%s/%s: %s", s->errdir, ERROR_TXT_PARTIAL, strerror(e));
    }
    td_time_format_iso(spool_now(s) / 1000000, when, sizeof(when));
    fprintf(f, "%stime: %s\n", story, when);
    if (fclose(f) != 0)
        return td_error_set(err, -EIO, "%s/%s: write failed", s->errdir, ERROR_TXT_PARTIAL);
    return 0;
}

/* The name in error_dir of a regular file with inode ino, into out: a unit
 * we moved there before a crash, before its .error.txt was in place. */
static bool find_moved(const tdc_spooldir *s, int64_t ino, char *out, size_t size)
{
    int fd = openat(s->err_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct dirent *de;
    bool found = false;
    DIR *d;

    if (fd < 0)
        return false;
    if (!(d = fdopendir(fd))) {
        close(fd);
        return false;
    }
    while (!found && (de = readdir(d))) {
        struct stat st;
        if (de->d_name[0] != '.' && (int64_t)de->d_ino == ino &&
            fstatat(s->err_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            (int64_t)st.st_ino == ino && strlen(de->d_name) < size) {
            copy_text(out, size, de->d_name);
            found = true;
        }
    }
    closedir(d);
    return found;
}

/* Moves processing/<pos.file_name> to finished/ or error/ by pos.state. An
 * ERROR unit gets error/<final>.error.txt saying what happened, also when
 * the file is not there to move (replaced or removed while it was read): it
 * is written aside, the file is moved, then it is renamed into place, and
 * the same story goes to the log. */
static int unit_move(tdc_spooldir *s, td_error *err)
{
    const char *name = s->pos.file_name;
    bool is_err = s->pos.state == TDC_FILE_ERROR;
    const char *dname = is_err ? s->errdir : s->finished;
    char final[TDC_UNIT_MAX + 64], txt[TDC_UNIT_MAX + 80];
    char *story = NULL;
    end_where where = END_MOVED;
    struct stat st;
    bool present, there;
    int rc, dfd;

    if ((rc = check_dirs(s, err)) < 0)
        return rc;
    dfd = is_err ? s->err_fd : s->fin_fd; /* after check_dirs() may have reopened it */
    if (is_err && !(story = malloc(STORY_MAX)))
        return td_error_set(err, -ENOMEM, "spooldir: out of memory");
again:
    there = fstatat(s->proc_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    present = there && (int64_t)st.st_ino == s->pos.inode;
    if (!present && !is_err)
        return 0; /* gone (or replaced: a new file, read later) */
    if (!present && find_moved(s, s->pos.inode, final, sizeof(final))) {
        /* moved before a crash: only its .error.txt is missing */
        if (fstatat(s->err_fd, final, &st, AT_SYMLINK_NOFOLLOW) < 0)
            memset(&st, 0, sizeof(st));
        where = END_MOVED;
    } else {
        if ((rc = free_name(s, dfd, name, is_err, final, sizeof(final))) < 0) {
            rc = td_error_set(err, rc, "%s: no free name for %s", dname, name);
            goto out;
        }
        where = present ? END_MOVED : there ? END_REPLACED : END_REMOVED;
    }
    if (is_err) {
        end_story(s, where, final, where == END_MOVED ? &st : NULL, story);
        if ((rc = write_error_txt(s, story, err)) < 0)
            goto out;
    }
    if (present) {
        rc = rename_noreplace(s->proc_fd, name, dfd, final);
        if (rc == -ENOENT && faccessat(s->proc_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = 0;
            if (is_err)
                goto again; /* it went away meanwhile: tell that instead */
            goto out;
        }
        if (rc < 0) {
            if (is_err)
                unlinkat(s->err_fd, ERROR_TXT_PARTIAL, 0);
            rc = td_error_set(err, rc, "moving %s/%s to %s/%s: %s", s->processing, name, dname,
                              final, strerror(-rc));
            goto out;
        }
    }
    if (is_err) {
        snprintf(txt, sizeof(txt), "%s.error.txt", final);
        rc = rename_noreplace(s->err_fd, ERROR_TXT_PARTIAL, s->err_fd, txt);
        if (rc < 0) {
            rc = td_error_set(err, rc, "%s/%s: %s", s->errdir, txt, strerror(-rc));
            goto out;
        }
        /* the story after "file:", on one line */
        const char *from = strchr(story, '\n');
        char line[STORY_MAX];
        size_t o = 0;
        for (const char *c = from ? from + 1 : story; *c && o + 3 < sizeof(line); c++) {
            if (*c != '\n') {
                line[o++] = *c;
            } else if (c[1]) {
                line[o++] = ';';
                line[o++] = ' ';
            }
        }
        line[o] = '\0';
        td_log_component(TD_LOG_WARNING, "spooldir", "%s ended in error: %s; see %s/%s", name,
                         line, s->errdir, txt);
    }
    rc = 0;
out:
    free(story);
    return rc;
}

/* --- taking files ------------------------------------------------------ */

static bool seen_unchanged(const tdc_spooldir *s, const spool_entry *e)
{
    spool_entry key = {.name = e->name};
    const spool_entry *p = s->nseen ? bsearch(&key, s->seen, s->nseen, sizeof(key), cmp_entry) : NULL;
    return p && p->ino == e->ino && p->size == e->size && p->mtime_ns == e->mtime_ns;
}

/* Scans input_dir; renames the first ready file into processing/ and
 * returns 1 with its name, or 0 when none is ready. */
static int take_file(tdc_spooldir *s, char *out, size_t size, td_error *err)
{
    spool_entry *v = NULL;
    size_t n = 0;
    int64_t now = spool_now(s);
    int rc = check_dirs(s, err);

    if (rc < 0)
        return rc;
    spool_entry *sk = NULL;
    size_t nsk = 0;
    rc = list_dir(s, s->in_fd, &v, &n, &sk, &nsk);
    if (rc < 0)
        return td_error_set(err, rc, "spooldir: listing %s: %s", s->input, strerror(-rc));
    warn_skipped(s, sk, nsk);
    s->last_scan = now;
    s->not_ready = 0;
    int found = 0;
    for (size_t i = 0; i < n && !found; i++) {
        bool ready;
        if (s->ready == TDC_SPOOLDIR_READY_MARKER) {
            char m[TDC_UNIT_MAX + 64];
            snprintf(m, sizeof(m), "%s%s", v[i].name, s->marker);
            ready = faccessat(s->in_fd, m, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
        } else {
            ready = now - v[i].mtime_ns >= s->min_age_ns && seen_unchanged(s, &v[i]);
        }
        if (!ready) {
            s->not_ready++;
            continue;
        }
        rc = rename_noreplace(s->in_fd, v[i].name, s->proc_fd, v[i].name);
        if (rc == -ENOENT || rc == -EEXIST)
            continue; /* gone meanwhile / a leftover in processing: read first */
        if (rc < 0) {
            td_error_set(err, rc, "spooldir: moving %s/%s to %s: %s", s->input, v[i].name,
                         s->processing, strerror(-rc));
            break;
        }
        if (s->ready == TDC_SPOOLDIR_READY_MARKER) {
            char m[TDC_UNIT_MAX + 64];
            snprintf(m, sizeof(m), "%s%s", v[i].name, s->marker);
            unlinkat(s->in_fd, m, 0); /* a failure leaves a stale marker: resume retries */
        }
        copy_text(out, size, v[i].name);
        found = 1;
    }
    free_entries(s->seen, s->nseen);
    s->seen = v;
    s->nseen = n;
    return rc < 0 && rc != -ENOENT && rc != -EEXIST ? rc : found;
}

/* The first file left in processing/ (never committed), or 0. */
static int leftover(tdc_spooldir *s, char *out, size_t size, td_error *err)
{
    spool_entry *v = NULL;
    size_t n = 0;
    int rc = check_dirs(s, err);

    if (rc < 0)
        return rc;
    rc = list_dir(s, s->proc_fd, &v, &n, NULL, NULL);
    if (rc < 0)
        return td_error_set(err, rc, "spooldir: listing %s: %s", s->processing, strerror(-rc));
    if (n > 0)
        copy_text(out, size, v[0].name);
    free_entries(v, n);
    return n > 0;
}

static void drain_inotify(tdc_spooldir *s)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

    if (s->ino_fd < 0)
        return;
    for (;;) {
        ssize_t n = read(s->ino_fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        s->scan_due = true;
    }
}

/* --- the source -------------------------------------------------------- */

static int spool_resume(tdc_source *src, const tdc_position *committed, td_error *err)
{
    tdc_spooldir *s = to_spool(src);
    spool_entry *v = NULL;
    size_t n = 0;
    struct stat st;
    int rc;

    if (s->started) {
        /* Again, after an aborted transaction: forget the open file; the
         * committed position (or, for a file taken since, the leftover scan
         * of processing/) says where to read again. */
        unit_close(s);
        s->ustate = U_NONE;
        s->have_pos = false;
        s->name[0] = '\0';
        s->row_error = NULL;
        s->have_counts = false;
        memset(&s->pos, 0, sizeof(s->pos));
    }
    if (committed && committed->kind != TDC_POSITION_NONE &&
        committed->kind != TDC_POSITION_SPOOLDIR)
        return td_error_set(err, -EINVAL, "spooldir: the committed position is not a spooldir one");
    s->started = true;
    s->scan_due = true;
    unlinkat(s->err_fd, ERROR_TXT_PARTIAL, 0); /* of a move cut short by a crash */

    /* markers of files taken just before a crash */
    if (s->ready == TDC_SPOOLDIR_READY_MARKER) {
        if ((rc = list_dir(s, s->proc_fd, &v, &n, NULL, NULL)) < 0)
            return td_error_set(err, rc, "spooldir: listing %s: %s", s->processing, strerror(-rc));
        for (size_t i = 0; i < n; i++) {
            char m[TDC_UNIT_MAX + 64];
            snprintf(m, sizeof(m), "%s%s", v[i].name, s->marker);
            unlinkat(s->in_fd, m, 0);
        }
        free_entries(v, n);
    }

    if (!committed || committed->kind != TDC_POSITION_SPOOLDIR || !committed->file_name[0])
        return 0;
    if (committed->state != TDC_FILE_IN_PROGRESS && committed->state != TDC_FILE_FINISHED &&
        committed->state != TDC_FILE_ERROR)
        return td_error_set(err, -EINVAL, "spooldir: the committed position has no valid state");
    if (memchr(committed->file_name, '\0', sizeof(committed->file_name)) == NULL ||
        strchr(committed->file_name, '/'))
        return td_error_set(err, -EINVAL, "spooldir: the committed file name is not a base name");
    s->pos = *committed;
    s->have_pos = true;
    copy_text(s->name, sizeof(s->name), committed->file_name);

    if (fstatat(s->proc_fd, committed->file_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno != ENOENT)
            return td_error_set(err, -errno, "spooldir: %s/%s: %s", s->processing,
                                committed->file_name, strerror(errno));
        if (committed->state == TDC_FILE_IN_PROGRESS)
            unit_end(s, TDC_FILE_ERROR, "%s: disappeared from %s before it was read to the end",
                     committed->file_name, s->processing);
        if (committed->state == TDC_FILE_ERROR) {
            /* moved to error/ just before a crash, without its .error.txt? */
            char final[TDC_UNIT_MAX + 64], txt[TDC_UNIT_MAX + 80];
            if (find_moved(s, committed->inode, final, sizeof(final))) {
                snprintf(txt, sizeof(txt), "%s.error.txt", final);
                if (faccessat(s->err_fd, txt, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
                    s->ustate = U_MOVE;
                    if ((rc = unit_move(s, err)) < 0)
                        return rc; /* next() retries */
                    s->ustate = U_NONE;
                }
            }
        }
        return 0;
    }
    if ((int64_t)st.st_ino != committed->inode) {
        /* another file of that name: never committed, read from the top; an
         * IN_PROGRESS one it replaced ends in ERROR first, so that the rows
         * of it never read are on record */
        if (committed->state == TDC_FILE_IN_PROGRESS)
            unit_end(s, TDC_FILE_ERROR,
                     "%s: replaced in %s by another file of the same name before it was read to "
                     "the end",
                     committed->file_name, s->processing);
        return 0;
    }
    if (committed->state == TDC_FILE_IN_PROGRESS)
        return unit_open(s, committed->file_name, committed) < 0
                   ? td_error_set(err, -ENOMEM, "spooldir: out of memory")
                   : 0;
    s->ustate = U_MOVE;
    if ((rc = unit_move(s, err)) < 0)
        return rc; /* next() retries */
    s->ustate = U_NONE;
    return 0;
}

static void fill_row(tdc_spooldir *s, const tdc_csv_row *r, tdc_row *row)
{
    memset(row, 0, sizeof(*row)); /* every field this does not set is 0 (deleted too) */
    s->pos.next_byte_offset = r->next_offset;
    s->pos.next_row = r->row + 1;
    row->unit = s->name;
    row->row = r->row;
    row->line = r->line;
    row->nfields = r->nfields;
    row->fields = r->fields;
    row->lens = r->lens;
    row->columns = s->cols;
    row->ncolumns = s->ncols;
    row->raw = r->raw;
    row->raw_len = r->raw_len;
    row->raw_cut = r->error == TDC_CSV_ROW_TOO_LONG;
    row->source_bytes = r->next_offset - r->offset;
    row->source_record_id = NULL;
    row->after = s->pos;
    s->row_error = r->error != TDC_CSV_ROW_OK ? r->reason : NULL;
    row->reject_reason = s->row_error;
}

static int spool_next(tdc_source *src, tdc_row *row, td_error *err)
{
    tdc_spooldir *s = to_spool(src);
    char name[TDC_UNIT_MAX];
    tdc_csv_row r;
    td_error e;
    int rc;

    if (!s->started && (rc = spool_resume(src, NULL, err)) < 0)
        return rc;
    s->row_error = NULL;
    for (;;) {
        switch (s->ustate) {
        case U_END_PENDING:
            s->ustate = U_ENDED;
            return TDC_NEXT_END_UNIT;
        case U_ENDED:
            drain_inotify(s);
            return TDC_NEXT_IDLE;
        case U_MOVE:
            if ((rc = unit_move(s, err)) < 0)
                return rc;
            s->ustate = U_NONE;
            s->scan_due = true;
            continue;
        case U_REOPEN: {
            tdc_position at = s->pos;
            if ((rc = unit_open(s, at.file_name, &at)) < 0)
                return td_error_set(err, rc, "spooldir: %s: out of memory", s->name);
            continue;
        }
        case U_READING:
            td_error_clear(&e);
            rc = tdc_csv_next(s->csv, &r, &e);
            if (rc == 1) {
                fill_row(s, &r, row);
                return TDC_NEXT_ROW;
            }
            if (rc == 0) {
                unit_finish(s);
            } else if (rc == -ENOMEM) {
                unit_close(s);
                s->ustate = U_REOPEN;
                return td_error_set(err, rc, "%s", td_error_msg(&e));
            } else {
                unit_end(s, TDC_FILE_ERROR, "%s", td_error_msg(&e));
            }
            continue;
        case U_NONE:
        default:
            rc = leftover(s, name, sizeof(name), err);
            if (rc < 0)
                return rc;
            if (rc == 0) {
                int64_t now = spool_now(s);
                drain_inotify(s);
                if (!s->scan_due && now >= s->last_scan && now - s->last_scan < s->poll_ns)
                    return TDC_NEXT_IDLE;
                s->scan_due = false;
                rc = take_file(s, name, sizeof(name), err);
                if (rc < 0)
                    return rc;
                if (rc == 0)
                    return TDC_NEXT_IDLE;
            }
            if ((rc = unit_open(s, name, NULL)) < 0)
                return td_error_set(err, rc, "spooldir: %s: out of memory", name);
            continue;
        }
    }
}

static void spool_position(const tdc_source *src, tdc_position *ret)
{
    const tdc_spooldir *s = to_spool(src);

    if (s->have_pos) {
        *ret = s->pos;
    } else {
        memset(ret, 0, sizeof(*ret));
        ret->kind = TDC_POSITION_NONE;
    }
}

static int spool_committed(tdc_source *src, const tdc_position *pos, td_error *err)
{
    tdc_spooldir *s = to_spool(src);
    int rc;

    if (!pos || pos->kind != TDC_POSITION_SPOOLDIR || s->ustate != U_ENDED)
        return 0;
    if (strcmp(pos->file_name, s->pos.file_name) != 0 || pos->inode != s->pos.inode ||
        pos->state != s->pos.state)
        return 0;
    s->ustate = U_MOVE;
    if ((rc = unit_move(s, err)) < 0)
        return rc; /* next() retries */
    s->ustate = U_NONE;
    s->scan_due = true;
    return 0;
}

static void spool_unit_counts(tdc_source *src, int64_t first_row, int64_t published,
                              int64_t rejected)
{
    tdc_spooldir *s = to_spool(src);

    s->have_counts = true;
    s->counts_first_row = first_row;
    s->counts_published = published;
    s->counts_rejected = rejected;
}

static int spool_wait_fd(const tdc_source *src)
{
    return to_spool(src)->ino_fd;
}

static const char *spool_status(const tdc_source *src)
{
    tdc_spooldir *s = to_spool(src);

    switch (s->ustate) {
    case U_READING:
    case U_REOPEN: {
        int pct = s->pos.size > 0 ? (int)(s->pos.next_byte_offset * 100 / s->pos.size) : 100;
        snprintf(s->status, sizeof(s->status), "%s row %lld (%d%%)", s->name,
                 (long long)(s->pos.next_row - 1), pct);
        break;
    }
    case U_END_PENDING:
    case U_ENDED:
    case U_MOVE:
        snprintf(s->status, sizeof(s->status), "%s %s after row %lld, committing", s->name,
                 s->pos.state == TDC_FILE_FINISHED ? "finished" : "failed",
                 (long long)(s->pos.next_row - 1));
        break;
    default:
        if (s->not_ready)
            snprintf(s->status, sizeof(s->status), "waiting: %zu file%s in %.100s not ready (%s)",
                     s->not_ready, s->not_ready == 1 ? "" : "s", s->input,
                     s->ready == TDC_SPOOLDIR_READY_MARKER ? "no marker" : "too young");
        else
            snprintf(s->status, sizeof(s->status), "waiting for files in %.200s", s->input);
        break;
    }
    return s->status;
}

static void spool_free(tdc_source *src)
{
    tdc_spooldir *s = to_spool(src);

    if (!s)
        return;
    unit_close(s);
    if (s->in_fd >= 0)
        close(s->in_fd);
    if (s->proc_fd >= 0)
        close(s->proc_fd);
    if (s->fin_fd >= 0)
        close(s->fin_fd);
    if (s->err_fd >= 0)
        close(s->err_fd);
    if (s->ino_fd >= 0)
        close(s->ino_fd);
    free_entries(s->seen, s->nseen);
    free_entries(s->skipped, s->nskipped);
    free(s->input);
    free(s->processing);
    free(s->finished);
    free(s->errdir);
    free(s->pattern);
    free(s->marker);
    free(s);
}

static const tdc_source_ops spooldir_ops = {
    .kind = "spooldir",
    .resume = spool_resume,
    .next = spool_next,
    .position = spool_position,
    .committed = spool_committed,
    .wait_fd = spool_wait_fd,
    .status = spool_status,
    .unit_counts = spool_unit_counts,
    .free = spool_free,
};

static char *sub_dir(const char *input, const char *given, const char *sub)
{
    char *p;

    if (given)
        return strdup(given);
    if (asprintf(&p, "%s/%s", input, sub) < 0)
        return NULL;
    return p;
}

/* The checks of cfg's values that need no directory; *ret_delim gets the
 * delimiter character. 0 or -EINVAL with the problem in err. */
static int spool_check_values(const struct tdc_spooldir_config *cfg, char *ret_delim,
                              td_error *err)
{
    if (!cfg->input_dir || !cfg->input_dir[0])
        return td_error_set(err, -EINVAL, "spooldir.input_dir: not set");
    if (!cfg->pattern || !cfg->pattern[0] || strchr(cfg->pattern, '/'))
        return td_error_set(err, -EINVAL, "spooldir.pattern: must be a non-empty glob without '/'");
    if (!cfg->marker_suffix || !cfg->marker_suffix[0] || strchr(cfg->marker_suffix, '/'))
        return td_error_set(err, -EINVAL, "spooldir.marker_suffix: must be non-empty, without '/'");
    if (cfg->ready != TDC_SPOOLDIR_READY_MARKER && cfg->ready != TDC_SPOOLDIR_READY_AGE)
        return td_error_set(err, -EINVAL, "spooldir.ready: must be marker or age");
    if (cfg->encoding < TDC_SPOOLDIR_ENCODING_AUTO || cfg->encoding > TDC_SPOOLDIR_ENCODING_GBK)
        return td_error_set(err, -EINVAL, "spooldir.encoding: unknown value");
    if (cfg->min_age < 0 || cfg->poll_interval <= 0)
        return td_error_set(err, -EINVAL, "spooldir: min_age and poll_interval must be positive");
    if (cfg->max_row_bytes < 1024 || cfg->max_row_bytes > 268435456)
        return td_error_set(err, -EINVAL, "spooldir.max_row_bytes: must be 1KiB to 256MiB");
    const char *d = cfg->delimiter ? cfg->delimiter : ",";
    if (strcmp(d, "tab") == 0 || strcmp(d, "\t") == 0)
        *ret_delim = '\t';
    else if (strcmp(d, ",") == 0 || strcmp(d, ";") == 0 || strcmp(d, "|") == 0)
        *ret_delim = d[0];
    else
        return td_error_set(err, -EINVAL,
                            "spooldir.delimiter: must be \",\", \";\", \"|\" or \"tab\"");
    return 0;
}

int tdc_spooldir_new(const struct tdc_spooldir_config *cfg, tdc_source **ret, td_error *err)
{
    tdc_spooldir *s = NULL;
    struct stat st[4];
    char delim;
    int rc;

    if (!cfg || !ret)
        return td_error_set(err, -EINVAL, "tdc_spooldir_new: NULL argument");
    if ((rc = spool_check_values(cfg, &delim, err)) < 0)
        return rc;

    s = calloc(1, sizeof(*s));
    if (!s)
        return td_error_set(err, -ENOMEM, "spooldir: out of memory");
    s->base.ops = &spooldir_ops;
    s->in_fd = s->proc_fd = s->fin_fd = s->err_fd = s->ino_fd = s->file_fd = -1;
    s->clock = default_clock;
    s->ready = cfg->ready;
    s->min_age_ns = cfg->min_age * 1000000;
    s->poll_ns = cfg->poll_interval * 1000000;
    s->csvopt.delimiter = delim;
    s->csvopt.max_row_bytes = (size_t)cfg->max_row_bytes;
    s->csvopt.encoding = cfg->encoding == TDC_SPOOLDIR_ENCODING_AUTO   ? TDC_CSV_ENCODING_AUTO
                         : cfg->encoding == TDC_SPOOLDIR_ENCODING_UTF8 ? TDC_CSV_ENCODING_UTF8
                                                                       : TDC_CSV_ENCODING_GB18030;
    s->input = strdup(cfg->input_dir);
    s->processing = s->input ? sub_dir(s->input, cfg->processing_dir, "processing") : NULL;
    s->finished = s->input ? sub_dir(s->input, cfg->finished_dir, "finished") : NULL;
    s->errdir = s->input ? sub_dir(s->input, cfg->error_dir, "error") : NULL;
    s->pattern = strdup(cfg->pattern);
    s->marker = strdup(cfg->marker_suffix);
    if (!s->input || !s->processing || !s->finished || !s->errdir || !s->pattern || !s->marker) {
        rc = td_error_set(err, -ENOMEM, "spooldir: out of memory");
        goto fail;
    }

    if ((rc = open_dir("input_dir", s->input, false, &st[0], &s->in_fd, err)) < 0 ||
        (rc = open_dir("processing_dir", s->processing, cfg->create_dirs, &st[1], &s->proc_fd, err)) < 0 ||
        (rc = open_dir("finished_dir", s->finished, cfg->create_dirs, &st[2], &s->fin_fd, err)) < 0 ||
        (rc = open_dir("error_dir", s->errdir, cfg->create_dirs, &st[3], &s->err_fd, err)) < 0)
        goto fail;
    s->create_dirs = cfg->create_dirs;
    s->dev = st[0].st_dev;
    static const char *const keys[4] = {"input_dir", "processing_dir", "finished_dir", "error_dir"};
    const char *paths[4] = {s->input, s->processing, s->finished, s->errdir};
    for (int i = 1; i < 4; i++)
        if (st[i].st_dev != st[0].st_dev) {
            rc = td_error_set(err, -EXDEV,
                              "spooldir.%s: %s is on another filesystem than input_dir %s "
                              "(files are moved with rename(), which cannot cross filesystems)",
                              keys[i], paths[i], paths[0]);
            goto fail;
        }
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (st[i].st_ino == st[j].st_ino) {
                rc = td_error_set(err, -EINVAL, "spooldir.%s and spooldir.%s are the same directory (%s)",
                                  keys[i], keys[j], paths[j]);
                goto fail;
            }

    s->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (s->ino_fd >= 0 &&
        inotify_add_watch(s->ino_fd, s->input,
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB) < 0) {
        close(s->ino_fd);
        s->ino_fd = -1; /* poll_interval alone */
    }
    *ret = &s->base;
    return 0;

fail:
    spool_free(&s->base);
    return rc;
}

int tdc_spooldir_check(const struct tdc_spooldir_config *cfg, const char *config_path,
                       const char *key_prefix, FILE *out)
{
    static const char *const keys[4] = {"input_dir", "processing_dir", "finished_dir",
                                        "error_dir"};
    static const char *const why[4] = {
        "files are taken from it by renaming them into processing_dir",
        "the file being read is kept there", "finished files are moved there",
        "unreadable files and their .error.txt go there"};
    char *paths[4] = {NULL, NULL, NULL, NULL}, key[4][200], delim;
    struct stat st[4];
    bool there[4] = {false, false, false, false};
    td_check ck = {.out = out};
    td_error *err = &ck.step; /* one problem at a time, then to out */
    int r;

    if (!cfg || !out)
        return -EINVAL;
    if (!key_prefix)
        key_prefix = "spooldir";
    for (int i = 0; i < 4; i++)
        snprintf(key[i], sizeof(key[i]), "%s.%s", key_prefix, keys[i]);
    if ((r = td_check_step(&ck, spool_check_values(cfg, &delim, err))) < 0 &&
        (!cfg->input_dir || !cfg->input_dir[0]))
        return r;
    paths[0] = strdup(cfg->input_dir);
    paths[1] = paths[0] ? sub_dir(paths[0], cfg->processing_dir, "processing") : NULL;
    paths[2] = paths[0] ? sub_dir(paths[0], cfg->finished_dir, "finished") : NULL;
    paths[3] = paths[0] ? sub_dir(paths[0], cfg->error_dir, "error") : NULL;
    if (!paths[0] || !paths[1] || !paths[2] || !paths[3]) {
        td_check_step(&ck, td_error_set(err, -ENOMEM, "spooldir: out of memory"));
        goto done;
    }
    for (int i = 0; i < 4; i++) {
        td_path_need need = i == 0 ? TD_PATH_WRITE_DIR
                            : cfg->create_dirs ? TD_PATH_MAKE_DIR : TD_PATH_WRITE_DIR;
        if (i > 0 && !cfg->create_dirs && stat(paths[i], &st[i]) < 0 && errno == ENOENT)
            r = td_path_problem(err, config_path, key[i], -ENOENT, "%s: missing (set "
                                "create_dirs: true to have it created)", paths[i]);
        else
            r = td_path_check(config_path, key[i], paths[i], need, why[i], err);
        td_check_step(&ck, r);
        there[i] = stat(paths[i], &st[i]) == 0 && S_ISDIR(st[i].st_mode);
    }
    /* rename() cannot cross filesystems; a missing directory will be made
     * on the filesystem of its nearest existing parent */
    for (int i = 0; i < 4; i++) {
        char up[4096];
        size_t n;

        if (there[i])
            continue;
        snprintf(up, sizeof(up), "%s", paths[i]);
        for (n = strlen(up); n > 1;) {
            char *slash = strrchr(up, '/');
            if (!slash)
                break;
            *(slash == up ? slash + 1 : slash) = '\0';
            n = strlen(up);
            if (stat(up, &st[i]) == 0) {
                there[i] = i > 0; /* a parent stands in for its filesystem only */
                break;
            }
            if (slash == up)
                break;
        }
        if (there[i])
            st[i].st_ino = 0; /* not the directory itself: never "the same" */
    }
    for (int i = 1; i < 4 && there[0]; i++) {
        if (!there[i])
            continue;
        if (st[i].st_dev != st[0].st_dev)
            td_check_step(&ck, td_path_problem(err, config_path, key[i], -EXDEV,
                                               "%s is on another filesystem than input_dir %s "
                                               "(files are moved with rename(), which cannot "
                                               "cross filesystems)", paths[i], paths[0]));
    }
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++) {
            bool same = strcmp(paths[i], paths[j]) == 0 ||
                        (there[i] && there[j] && st[i].st_ino != 0 &&
                         st[i].st_ino == st[j].st_ino && st[i].st_dev == st[j].st_dev);
            if (same)
                td_check_step(&ck, td_path_problem(err, config_path, key[j], -EINVAL,
                                                   "%s and %s are the same directory (%s)",
                                                   key[i], key[j], paths[j]));
        }
done:
    for (int i = 0; i < 4; i++)
        free(paths[i]);
    return ck.rc;
}

const char *tdc_spooldir_row_error(const tdc_source *src)
{
    return to_spool(src)->row_error;
}

tdc_csv_encoding tdc_spooldir_file_encoding(const tdc_source *src, bool *bom)
{
    const tdc_spooldir *s = to_spool(src);

    if (bom)
        *bom = s->csv ? s->bom : false;
    return s->csv ? s->enc : TDC_CSV_ENCODING_AUTO;
}

void tdc_spooldir_set_clock(tdc_source *src, tdc_spooldir_clock_fn *fn, void *opaque)
{
    tdc_spooldir *s = to_spool(src);

    s->clock = fn ? fn : default_clock;
    s->clock_opaque = fn ? opaque : NULL;
}
