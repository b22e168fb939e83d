/* tdc_csv: a streaming RFC 4180 reader for departments' CSV exports.
 *
 * One reader reads one file (a file descriptor or a FILE) front to back
 * through one big buffer. Field texts are copied into a per-row arena that is
 * reused: no allocation per row or per field once the buffers have grown to
 * the largest row seen.
 *
 * What it accepts (and how it numbers things):
 *   - Row 1 is the header: its fields are the column names. Rows are counted
 *     from 1 (the header) and blank lines are not rows. Lines are physical
 *     lines counted from 1: every LF byte in the file ends one, including
 *     LFs inside quoted fields and blank lines.
 *   - Line ends are LF or CRLF; a CR right before the end of the file counts
 *     as a line end too; a lone CR elsewhere is data (old Mac files are not
 *     supported). The last row may lack a line end.
 *   - A blank line (nothing, or only the line end) is skipped: never a row,
 *     never an error. A line of spaces is a row of one field.
 *   - A field is quoted when its first byte is '"'. Inside, "" is one quote,
 *     and delimiters, CR and LF are data, kept as they are. A '"' inside an
 *     unquoted field is a literal quote (`5"` stays `5"`). Text between a
 *     closing quote and the next delimiter or line end (`"ab"c`) makes the
 *     row a reject (TDC_CSV_ROW_BAD_QUOTE).
 *   - Delimiter ',' (default), '\t', ';' or '|'.
 *   - Encodings: UTF-8 (validated; a UTF-8 BOM at the start is skipped) or
 *     GB18030 (GBK is a subset; a GB18030 BOM 84 31 95 33 is skipped),
 *     converted to UTF-8 with iconv(3) field by field. The CSV structure is
 *     parsed on the raw bytes: '"', ',', ';', TAB, CR and LF never occur
 *     inside a GB18030 multi-byte sequence. '|' (0x7C) can be the second
 *     byte of a two-byte GB18030 character, so with '|' the unquoted-field
 *     scan steps over whole GB18030 characters.
 *     TDC_CSV_ENCODING_AUTO picks: a UTF-8 BOM -> UTF-8; a GB18030 BOM ->
 *     GB18030; the first 64 KiB valid UTF-8 -> UTF-8; otherwise GB18030,
 *     except when the valid multi-byte UTF-8 sequences there outnumber the
 *     invalid bytes 16 to 1: a UTF-8 export with a few broken rows stays
 *     UTF-8 (those rows are rejected) instead of turning every row into
 *     mojibake. GB18030 Chinese text is mostly invalid as UTF-8, so it is
 *     never mistaken. tdc_csv_encoding_used() tells which was chosen.
 *
 * Bad rows are rows, not failures: a row whose bytes are not valid in the
 * encoding (or hold a NUL byte), whose quote is never closed before the end
 * of the file, which is longer than max_row_bytes, or which has text after a
 * closing quote is returned with `error` set and no fields, so that the
 * caller can dead-letter it with the reason and go on. A row with another
 * number of fields than the header is NOT flagged here: nfields is exposed
 * and the caller decides (the datasets reject it).
 *
 * Over-long rows: when a row reaches max_row_bytes + 3 bytes without ending,
 * the reader keeps its first max_row_bytes bytes as the row's raw text, then
 * skips forward to the next line end that is outside quotes (with the same
 * quoting rules as above), and returns one TDC_CSV_ROW_TOO_LONG row that
 * spans everything skipped (its next_offset and next_line are after it). A
 * quote that is never closed therefore swallows the rest of the file into
 * that one row. Memory stays bounded by a small multiple of max_row_bytes
 * (read buffer, field arena, GB18030 output: at most about 8x).
 *
 * Byte offsets are offsets in the file as stored (before any conversion):
 * `offset` is the first byte of the row (after any blank lines before it),
 * `next_offset` the first byte after its line end. Reopening the file with
 * tdc_csv_start {next_offset, row + 1, next_line} yields exactly the rows
 * that would have followed, with the same numbers and offsets.
 *
 * Errors follow td_error.h: 0 or a negative errno, text in td_error; texts
 * and row reasons name "FILE:LINE" and never quote the row's data (identity
 * numbers), only column names (passed through td_log_redact()).
 *
 * Thread-safety: a reader is used by one thread at a time.
 */
#ifndef TDC_CSV_H
#define TDC_CSV_H

#include "td_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TDC_CSV_DEFAULT_MAX_ROW_BYTES (1024u * 1024u)
#define TDC_CSV_DEFAULT_BUFFER_BYTES (1024u * 1024u)
#define TDC_CSV_DETECT_BYTES (64u * 1024u)
#define TDC_CSV_REASON_MAX 512

typedef enum tdc_csv_encoding {
    TDC_CSV_ENCODING_AUTO = 0,
    TDC_CSV_ENCODING_UTF8,
    TDC_CSV_ENCODING_GB18030,
} tdc_csv_encoding;

/* "auto", "utf-8", "gb18030". */
const char *tdc_csv_encoding_name(tdc_csv_encoding e);

typedef struct tdc_csv_options {
    tdc_csv_encoding encoding; /* default (0): AUTO */
    char delimiter;            /* ',', '\t', ';' or '|'; 0: ',' */
    size_t max_row_bytes;      /* a row's bytes without its line end; 0: 1 MiB */
    size_t buffer_bytes;       /* initial read buffer; 0: 1 MiB (min 128 KiB) */
    /* > 0: the file is known to be exactly this long (spooldir passes the
     * size it took). The reader never reads past it, and a file that ends
     * earlier is an error (-EIO, "truncated while being read") instead of a
     * short last row. 0: read to the end of the file. */
    int64_t expect_size;
    /* With expect_size: the file's mtime (ns since the epoch) as it was
     * taken. After every read the file is fstat'ed, and a size or mtime
     * that differs fails the reader (-ESTALE, "changed while being read")
     * before a byte of that read is used: a file rewritten in place under
     * the reader never yields rows of its new content (a write updates
     * mtime before it changes a byte). 0: not checked. */
    int64_t expect_mtime_ns;
} tdc_csv_options;

/* Where to start: the resume position. */
typedef struct tdc_csv_start {
    /* a row boundary: the next_offset of a row (>= the header's). The reader
     * checks only that the byte before it is a LF (or that it is the end of
     * the file); an LF inside a quoted field would pass: offsets come from
     * the reader itself, through a committed position. */
    int64_t offset;
    int64_t row;    /* the number of the row that starts there (>= 2) */
    int64_t line;   /* its physical line; <= 0: unknown, the reader counts LF
                       bytes up to offset (a read of the prefix, no parsing) */
} tdc_csv_start;

typedef enum tdc_csv_row_error {
    TDC_CSV_ROW_OK = 0,
    TDC_CSV_ROW_BAD_ENCODING,  /* not valid UTF-8 / GB18030, or a NUL byte */
    TDC_CSV_ROW_UNTERMINATED,  /* a quote opened and not closed before EOF */
    TDC_CSV_ROW_TOO_LONG,      /* longer than max_row_bytes (then resynced) */
    TDC_CSV_ROW_BAD_QUOTE,     /* text after a closing quote */
} tdc_csv_row_error;

/* One row. Everything is borrowed from the reader and valid until its next
 * call (tdc_csv_next, tdc_csv_free). */
typedef struct tdc_csv_row {
    int64_t row;          /* record number, header = 1 */
    int64_t line;         /* physical line it starts on */
    int64_t offset;       /* file offset of its first byte */
    int64_t next_offset;  /* file offset just after its line end */
    int64_t next_line;    /* the line just after it */
    size_t nfields;       /* 0 when error != OK */
    const char *const *fields; /* UTF-8, NUL-terminated */
    const size_t *lens;
    /* The row as written, without its line end, NUL-terminated: converted to
     * UTF-8 when it converts; otherwise (BAD_ENCODING) the original bytes.
     * TOO_LONG rows hold their first max_row_bytes bytes (cut at a character
     * boundary for UTF-8). */
    const char *raw;
    size_t raw_len;
    tdc_csv_row_error error;
    const char *reason;   /* NULL when OK; else "FILE:LINE: ..." */
} tdc_csv_row;

typedef struct tdc_csv tdc_csv;

/* Opens a reader on fd (not owned: the caller closes it after
 * tdc_csv_free()), which must be at offset 0 (or, with start, seekable).
 * name is used in messages (copied). opt NULL: the defaults. start NULL:
 * from the beginning; otherwise the header is read from offset 0 (and the
 * encoding detected there), then the reader moves to start->offset with
 * lseek(), without reading what lies between (unless start->line <= 0).
 *
 * Returns 0 and *ret, or: -EBADMSG when the file cannot be used (no header:
 * an empty file or only blank lines; a header that is a bad row), -EINVAL
 * for bad options or a start that is not at a row boundary, -ENOMEM, or the
 * errno of a failed read or seek; the text names FILE:LINE. */
int tdc_csv_open_fd(int fd, const char *name, const tdc_csv_options *opt,
                    const tdc_csv_start *start, tdc_csv **ret, td_error *err);

/* The same over a stdio stream (not owned; fseeko() is used with start).
 * The stream must not be read by anyone else while the reader lives. */
int tdc_csv_open_file(FILE *f, const char *name, const tdc_csv_options *opt,
                      const tdc_csv_start *start, tdc_csv **ret, td_error *err);

/* Frees the reader (not the fd or FILE). Accepts NULL; returns NULL. */
tdc_csv *tdc_csv_free(tdc_csv *csv);

/* Reads the next row into *row. Returns 1 (a row, maybe one with error set),
 * 0 at the end of the file, or a negative errno when reading failed (-EIO
 * with "truncated" when the file is shorter than expect_size, -ESTALE when
 * it changed (expect_mtime_ns), -ENOMEM); a
 * failure is sticky: later calls return it again. */
int tdc_csv_next(tdc_csv *csv, tdc_csv_row *row, td_error *err);

/* The header's column names (UTF-8, NUL-terminated), valid until free. */
const char *const *tdc_csv_columns(const tdc_csv *csv, size_t *ncolumns);
/* The encoding in use (never AUTO) and whether a BOM was skipped. */
tdc_csv_encoding tdc_csv_encoding_used(const tdc_csv *csv, bool *bom);
/* Offset and line just after the header: where row 2 may start. */
int64_t tdc_csv_header_end(const tdc_csv *csv, int64_t *line);

#endif
