/* tdc_spooldir: a tdc_source over CSV files dropped into a directory.
 *
 * Directories (all four on one filesystem, checked by tdc_spooldir_new()):
 *   input_dir       where departments drop files; must exist
 *   processing_dir  the one file being read; default <input_dir>/processing
 *   finished_dir    files read to the end; default <input_dir>/finished
 *   error_dir       files that could not be read, each with
 *                   <name>.error.txt; default <input_dir>/error
 * The defaults are subdirectories so that one directory (one permission,
 * one filesystem) holds everything; only regular files directly in
 * input_dir are looked at, so the subdirectories are never taken. With
 * create_dirs (default true) missing processing/finished/error directories
 * are created (input_dir never: a misspelt path must fail, not become a new
 * empty directory nobody writes to).
 *
 * Taking files. A regular file in input_dir (symlinks and hidden files are
 * never taken) whose base name matches `pattern` (fnmatch(3), FNM_PERIOD;
 * default "*.csv") is taken once it is ready:
 *   ready: marker  the file <name><marker_suffix> ("x.csv.done") exists; the
 *                  marker is removed right after the file is taken (and, after
 *                  a crash between the two, when the connector restarts).
 *   ready: age     its mtime is at least min_age old and its inode, size and
 *                  mtime were the same at the previous scan of the directory.
 * Entries of input_dir that will never be taken are logged once each, as a
 * warning naming the entry and why ("never taken: a symbolic link", "a
 * FIFO", "a directory", "its name does not match pattern", "a marker
 * without its file"): once per entry (name and inode) for the life of the
 * source, not at every scan; an entry removed and created again is a new
 * one. Not reported: hidden names (the way to write a file in place before
 * renaming it in), markers of entries that are there, files still waiting
 * for their marker or min_age (STATUS= counts them), and our own
 * processing/finished/error directories.
 * Among ready files the one whose base name is first by strcmp(3) (bytes,
 * not locale) is taken; a file that becomes ready later is taken later even
 * if its name sorts first. Taking = rename(2) (RENAME_NOREPLACE) into
 * processing_dir; one file is in processing at a time.
 *
 * Scans happen when inotify reports a change in input_dir (tdc_source_wait_fd
 * returns the inotify descriptor; -1 without inotify), every poll_interval,
 * and right after a file is done.
 *
 * Reading: rows as tdc_csv reads them (tdc_csv.h): the header is row 1 and is
 * not returned; data rows start at row 2. Each tdc_row's `after` is
 * {file identity, next_byte_offset = the first byte after the row's line
 * end, next_row = row + 1, IN_PROGRESS}. A row the CSV reader flags (bad
 * encoding, unterminated quote, too long, text after a quote) is returned
 * like any other row, with no fields, and tdc_spooldir_row_error() gives its
 * reason: the engine must dead-letter it (row->raw) without mapping it.
 * After the last row, next() returns TDC_NEXT_END_UNIT and position() says
 * FINISHED with next_byte_offset == size (or ERROR with the reason and the
 * offset reached). Then next() returns TDC_NEXT_IDLE until committed() is
 * given that final position: only then is the file moved (FINISHED to
 * finished_dir, ERROR to error_dir plus <name>.error.txt) and the next file
 * taken. A name already present there gets a suffix before its extension,
 * "x.20260128T130501.123Z.csv" (then "-2", "-3" ...): nothing is ever
 * overwritten.
 *
 * error.txt. A unit that ends in ERROR gets error_dir/<final>.error.txt,
 * also when there is no file to move, and the same text goes to the log as
 * one warning ("<name> ended in error: ..."). Its lines:
 *   file:        the base name
 *   reason:      why it ended (the position's error)
 *   moved to:    error_dir/<final>, only when the file was moved there; else
 *   not moved:   it is no longer in processing_dir: another file of that
 *                name took its place (that one is read as a new file), or
 *                it was removed or renamed
 *   rows read:   2 to N (bytes up to B), each published or dead-lettered,
 *                or none
 *   this run:    rows R to N: P published, D dead-lettered (when the engine
 *                gave the counts, tdc_source_unit_counts)
 *   not read:    nothing (read to its end), or bytes B to size (row N+1
 *                on) and where they are: in the moved file from byte B, in
 *                it as it is now (when it changed), or not in the spool any
 *                more
 *   time:        when it was written
 * It is written as error_dir/.error.txt.partial and renamed into place once
 * the file is moved, so that it never says "moved to" a file that is not
 * there; after a crash between the two renames, resume finds the file in
 * error_dir by its inode and writes its .error.txt.
 *
 * File identity: inode, size and mtime_ns as fstat(2) gives them after the
 * rename (rename keeps them); device is recorded but not compared, because
 * device numbers of the same filesystem can change across reboots (dm, md).
 * content_sha256 is not computed (""): processing_dir is written only by this
 * source, so the cheap identity is enough and a restart never reads a big
 * file twice.
 *
 * Resume (tdc_source_resume with the committed position, or NULL):
 *   - committed names a file in processing_dir with the same inode:
 *       IN_PROGRESS: same size and mtime -> reopened at next_byte_offset /
 *         next_row (no row is re-emitted; the position holds no line number,
 *         so the LF bytes before the offset are counted: a plain read of the
 *         prefix, no parsing); otherwise the file changed while
 *         we were down -> the unit ends in ERROR (rows were already
 *         published, so it must not be read again from the top).
 *       FINISHED / ERROR: moved to finished / error now, without reading.
 *   - committed IN_PROGRESS but the file is gone from processing_dir: the
 *     unit ends in ERROR ("disappeared") so that the loss is on record.
 *   - committed IN_PROGRESS but the name now holds another inode: the
 *     committed file was replaced; its unit ends in ERROR ("replaced"), then
 *     the other file is read as below.
 *   - any other regular file in processing_dir (a crash after the rename,
 *     before any commit; or the same name with another inode) was never
 *     committed: it is read again from row 2, in name order, before any new
 *     file is taken (whatever its name: processing_dir holds only files this
 *     source took, maybe under an older pattern).
 * A directory removed under us (rm -r, a restore) is reopened by its path, or
 * created again with create_dirs; if that fails next()/committed() return
 * the error (the engine retries) instead of losing track of a file.
 * A file that shrinks, grows, is modified, replaced or removed while it is
 * being read ends its unit in ERROR with the reason. The file is never read
 * past the size it had when it was taken. A file replaced (renamed over) or
 * removed is still read to its end through the open descriptor, so every
 * row of it is published or dead-lettered; its error.txt says so and that
 * it was not moved.
 *
 * Thread-safety: one thread drives a source (tdc_source.h).
 */
#ifndef TDC_SPOOLDIR_H
#define TDC_SPOOLDIR_H

#include "td_config.h"
#include "td_error.h"
#include "tdc_csv.h"
#include "tdc_source.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum tdc_spooldir_ready {
    TDC_SPOOLDIR_READY_MARKER = 0,
    TDC_SPOOLDIR_READY_AGE,
} tdc_spooldir_ready;

/* Config values of `encoding`; "gbk" reads as GB18030 (a superset). */
typedef enum tdc_spooldir_encoding {
    TDC_SPOOLDIR_ENCODING_AUTO = 0,
    TDC_SPOOLDIR_ENCODING_UTF8,
    TDC_SPOOLDIR_ENCODING_GB18030,
    TDC_SPOOLDIR_ENCODING_GBK,
} tdc_spooldir_encoding;

extern const char *const tdc_spooldir_ready_names[];    /* "marker", "age" */
extern const char *const tdc_spooldir_encoding_names[]; /* "auto", "utf-8", ... */

struct tdc_spooldir_config {
    char *input_dir;        /* required */
    char *processing_dir;   /* NULL: <input_dir>/processing */
    char *finished_dir;     /* NULL: <input_dir>/finished */
    char *error_dir;        /* NULL: <input_dir>/error */
    char *pattern;          /* "*.csv" */
    int ready;              /* tdc_spooldir_ready; "marker" */
    char *marker_suffix;    /* ".done" */
    int64_t min_age;        /* ms; "30s" (ready: age) */
    int64_t poll_interval;  /* ms; "2s" */
    int encoding;           /* tdc_spooldir_encoding; "auto" */
    char *delimiter;        /* ",", ";", "|", a TAB or "tab"; "," */
    int64_t max_row_bytes;  /* "960KiB" */
    bool create_dirs;       /* true */
};

/* The section table (for a `spooldir:` section of the connector's config). */
extern const td_cfg_entry tdc_spooldir_config_table[];

/* Checks cfg (directories exist or are created, are writable and on one
 * filesystem, are four different directories; delimiter, pattern, suffix
 * valid), sets up inotify, and returns the source in *ret. Takes nothing from
 * the directory yet. cfg is copied: the caller keeps and frees it. Returns 0,
 * -EINVAL (bad value), -EXDEV (directories on different filesystems), -ENOENT
 * (input_dir missing), -EACCES, -ENOMEM; the text names the key and path. */
int tdc_spooldir_new(const struct tdc_spooldir_config *cfg, tdc_source **ret, td_error *err);

/* For --check-config: checks cfg as tdc_spooldir_new() does, but creating,
 * opening and changing nothing: the values; input_dir is a directory this
 * user (the effective one, td_path.h) may read, write and search;
 * processing_dir, finished_dir and error_dir are such directories too or,
 * when missing and create_dirs is on, their nearest existing parent is one
 * this user may write and search (so they can be created); all four are on
 * one filesystem and are four different directories. key_prefix names the
 * section in the file ("source.spooldir"; NULL: "spooldir") and config_path
 * the file, for FILE:LINE:COL in messages (NULL: none). Every problem is
 * written to out as a line of its own (td_path_report()); returns 0 or the
 * code of the first (-EINVAL without cfg or out). */
int tdc_spooldir_check(const struct tdc_spooldir_config *cfg, const char *config_path,
                       const char *key_prefix, FILE *out);

/* NULL when the row last returned by next() is well-formed; else the reason
 * ("FILE:LINE: ...", no row data in it) why the CSV reader could not read it.
 * Valid until the next call on the source. src must be a spooldir source. */
const char *tdc_spooldir_row_error(const tdc_source *src);

/* The encoding of the current file (AUTO when no file is open) and whether
 * it had a BOM: what `encoding: auto` chose. */
tdc_csv_encoding tdc_spooldir_file_encoding(const tdc_source *src, bool *bom);

/* For tests: the wall clock in ns since the epoch used for min_age, the poll
 * interval and name suffixes. NULL restores clock_gettime(CLOCK_REALTIME). */
typedef int64_t(tdc_spooldir_clock_fn)(void *opaque);
void tdc_spooldir_set_clock(tdc_source *src, tdc_spooldir_clock_fn *fn, void *opaque);

#endif
