/* Fuzz target for the CSV reader (connectors/sources/tdc_csv.c).
 *
 * Input: two option bytes, then the file's bytes.
 *   byte 0: encoding (% 3: auto, UTF-8, GB18030), delimiter (/ 3 % 4: ',',
 *           TAB, ';', '|'), read through a file descriptor or a FILE (bit
 *           of / 12), and whether the reader is told the file's size
 *           (expect_size: / 24 % 3: no; exactly; one byte more than there
 *           is, as for a file truncated while being read).
 *   byte 1: max_row_bytes: 0 the default (1 MiB), else 4 + 8 * (b % 64),
 *           so that over-long rows and their resync are reached.
 * Properties, beyond no crash, leak or undefined behaviour:
 *   - rows are numbered 2, 3, ... and their byte ranges and lines follow
 *     each other inside the file; a good row has fields of valid UTF-8
 *     without NUL bytes; a bad row has no fields and a reason that starts
 *     with "FILE:LINE: "; no reason or error text holds an identity number's
 *     shape (a run of 15 or more digits);
 *   - the end of the file is sticky (0 again), a failure too;
 *   - a size one byte longer than the file fails with -EIO ("truncated");
 *   - resuming at the position after any row (and after the header), with
 *     the line known or counted by the reader, gives exactly the rows of the
 *     first pass from there: numbers, lines, offsets, fields, raw text,
 *     errors and reasons. Each input resumes after the header, after its
 *     last row and after two rows picked by a hash of the input.
 * corpus/csv/ holds seeds: every encoding and delimiter, quoting, CRLF,
 * BOMs, blank lines, bad rows (tests/fuzz/gen_corpus.py writes them).
 */
#include "fuzz_common.h"
#include "tdc_csv.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define T "fuzz_csv"
#define NAME "fz.csv"
#define MAX_ROWS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One row of the first pass, copied. */
typedef struct snap {
    tdc_csv_row r;
    char *text; /* fields (each NUL-ended), raw, reason */
    size_t text_len;
} snap;

static int memfd = -1;

static void snap_take(snap *s, const tdc_csv_row *r)
{
    size_t n = r->raw_len + 1 + (r->reason ? strlen(r->reason) : 0) + 1;
    char *p;

    for (size_t k = 0; k < r->nfields; k++)
        n += r->lens[k] + 1;
    s->r = *r;
    s->text = p = malloc(n);
    if (!p)
        abort();
    for (size_t k = 0; k < r->nfields; k++) {
        memcpy(p, r->fields[k], r->lens[k] + 1);
        p += r->lens[k] + 1;
    }
    memcpy(p, r->raw, r->raw_len);
    p += r->raw_len;
    *p++ = '\0';
    if (r->reason) {
        memcpy(p, r->reason, strlen(r->reason) + 1);
        p += strlen(r->reason) + 1;
    } else {
        *p++ = '\0';
    }
    s->text_len = (size_t)(p - s->text);
    s->r.fields = NULL;
    s->r.lens = NULL;
    s->r.raw = NULL;
    s->r.reason = NULL;
}

static bool snap_same(const snap *a, const snap *b)
{
    return a->r.row == b->r.row && a->r.line == b->r.line && a->r.offset == b->r.offset &&
           a->r.next_offset == b->r.next_offset && a->r.next_line == b->r.next_line &&
           a->r.nfields == b->r.nfields && a->r.raw_len == b->r.raw_len &&
           a->r.error == b->r.error && a->text_len == b->text_len &&
           memcmp(a->text, b->text, a->text_len) == 0;
}

/* The file as a reader input: a FILE over the bytes, or the memfd. */
typedef struct src {
    FILE *f;
    int fd;
} src;

static void src_open(src *s, bool use_file, const uint8_t *data, size_t size)
{
    s->f = NULL;
    s->fd = -1;
    if (use_file && size > 0) {
        s->f = fmemopen((void *)data, size, "r");
        if (!s->f)
            abort();
        return;
    }
    if (lseek(memfd, 0, SEEK_SET) < 0)
        abort();
    s->fd = memfd;
}

static void src_close(src *s)
{
    if (s->f)
        fclose(s->f);
}

static int open_reader(const src *s, const tdc_csv_options *o, const tdc_csv_start *st,
                       tdc_csv **ret, td_error *err)
{
    if (s->f)
        return tdc_csv_open_file(s->f, NAME, o, st, ret, err);
    return tdc_csv_open_fd(s->fd, NAME, o, st, ret, err);
}

static void check_row(const tdc_csv_row *r, int64_t want_row, int64_t min_offset,
                      int64_t min_line, size_t size)
{
    char prefix[64];

    if (r->row != want_row)
        fuzz_fail(T, "row %lld where %lld was due", (long long)r->row, (long long)want_row);
    if (r->offset < min_offset || r->next_offset <= r->offset || r->next_offset > (int64_t)size)
        fuzz_fail(T, "row %lld spans bytes [%lld, %lld) after %lld in a file of %zu",
                  (long long)r->row, (long long)r->offset, (long long)r->next_offset,
                  (long long)min_offset, size);
    if (r->line < min_line || r->next_line < r->line)
        fuzz_fail(T, "row %lld spans lines %lld..%lld after line %lld", (long long)r->row,
                  (long long)r->line, (long long)r->next_line, (long long)min_line);
    if (!r->raw || r->raw[r->raw_len] != '\0')
        fuzz_fail(T, "row %lld: raw text not NUL-terminated", (long long)r->row);
    if (r->error == TDC_CSV_ROW_OK) {
        if (r->reason || r->nfields == 0)
            fuzz_fail(T, "row %lld: a good row with a reason or no field", (long long)r->row);
        for (size_t k = 0; k < r->nfields; k++) {
            if (strlen(r->fields[k]) != r->lens[k])
                fuzz_fail(T, "row %lld field %zu: a NUL byte inside", (long long)r->row, k);
            if (!fuzz_utf8_valid(r->fields[k], r->lens[k]))
                fuzz_fail(T, "row %lld field %zu: not UTF-8", (long long)r->row, k);
        }
        if (!fuzz_utf8_valid(r->raw, r->raw_len))
            fuzz_fail(T, "row %lld: raw text of a good row is not UTF-8", (long long)r->row);
        return;
    }
    if (r->nfields != 0 || !r->reason)
        fuzz_fail(T, "row %lld: a bad row with fields or without a reason", (long long)r->row);
    snprintf(prefix, sizeof(prefix), NAME ":%lld: ", (long long)r->line);
    if (strncmp(r->reason, prefix, strlen(prefix)) != 0)
        fuzz_fail(T, "row %lld: reason does not start with %s: %s", (long long)r->row, prefix,
                  r->reason);
    fuzz_check_no_idnum(T, "a row's reason", r->reason);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[] = {',', '\t', ';', '|'};
    tdc_csv_options o = {0};
    tdc_csv *c = NULL;
    td_error err = {0};
    snap *rows = NULL;
    size_t nrows = 0;
    int64_t hdr_off, hdr_line;
    bool use_file, truncated = false;
    int rc, expect;
    src s;

    if (memfd < 0) {
        memfd = memfd_create("fuzz_csv", 0);
        if (memfd < 0)
            abort();
    }
    if (size < 2)
        return 0;
    o.encoding = (tdc_csv_encoding)(data[0] % 3);
    o.delimiter = delims[(data[0] / 3) % 4];
    use_file = (data[0] / 12) & 1;
    expect = (data[0] / 24) % 3;
    o.max_row_bytes = data[1] ? 4 + 8 * (size_t)(data[1] % 64) : 0;
    data += 2;
    size -= 2;
    if (expect == 1)
        o.expect_size = (int64_t)size;
    else if (expect == 2)
        o.expect_size = (int64_t)size + 1;
    if (ftruncate(memfd, 0) < 0 || (size && pwrite(memfd, data, size, 0) != (ssize_t)size))
        abort();

    /* the first pass */
    src_open(&s, use_file, data, size);
    rc = open_reader(&s, &o, NULL, &c, &err);
    if (rc < 0) {
        if (!err.msg[0])
            fuzz_fail(T, "open failed (%d) without a message", rc);
        fuzz_check_no_idnum(T, "the open error", err.msg);
        src_close(&s);
        return 0;
    }
    {
        size_t ncols = 0;
        const char *const *cols = tdc_csv_columns(c, &ncols);
        for (size_t k = 0; k < ncols; k++)
            if (!fuzz_utf8_valid(cols[k], strlen(cols[k])))
                fuzz_fail(T, "column %zu is not UTF-8", k);
    }
    if (tdc_csv_encoding_used(c, NULL) == TDC_CSV_ENCODING_AUTO)
        fuzz_fail(T, "the encoding in use is AUTO");
    hdr_off = tdc_csv_header_end(c, &hdr_line);
    rows = malloc(MAX_ROWS * sizeof(*rows));
    if (!rows)
        abort();
    for (;;) {
        tdc_csv_row r;
        const snap *prev = nrows ? &rows[nrows - 1] : NULL;

        rc = tdc_csv_next(c, &r, &err);
        if (rc <= 0)
            break;
        check_row(&r, prev ? prev->r.row + 1 : 2, prev ? prev->r.next_offset : hdr_off,
                  prev ? prev->r.next_line : hdr_line, size);
        if (nrows == MAX_ROWS)
            fuzz_fail(T, "more than %d rows in %zu bytes", MAX_ROWS, size);
        snap_take(&rows[nrows++], &r);
    }
    if (rc < 0) {
        fuzz_check_no_idnum(T, "a read error", err.msg);
        if (expect != 2 || rc != -EIO || !strstr(err.msg, "truncated"))
            fuzz_fail(T, "reading failed: %s", err.msg);
        truncated = true;
        if (tdc_csv_next(c, &(tdc_csv_row){0}, &err) != rc)
            fuzz_fail(T, "a failure that is not sticky");
    } else {
        if (expect == 2)
            fuzz_fail(T, "a file shorter than its expected size read to the end");
        if (tdc_csv_next(c, &(tdc_csv_row){0}, &err) != 0)
            fuzz_fail(T, "the end of the file is not sticky");
    }
    tdc_csv_free(c);
    src_close(&s);

    /* resume after the header, after the last row, and after two rows
     * picked by a hash of the input (over many inputs: after every row) */
    if (!truncated) {
        uint32_t h = 2166136261u;
        size_t at[4];

        for (size_t i = 0; i < size; i++)
            h = (h ^ data[i]) * 16777619u;
        at[0] = 0;
        at[1] = nrows;
        at[2] = h % (nrows + 1);
        at[3] = (h >> 16) % (nrows + 1);
        for (size_t i = 0; i < 4; i++) {
            size_t k = at[i], j = k;
            tdc_csv_start st;

            if (k == 0)
                st = (tdc_csv_start){hdr_off, 2, hdr_line};
            else
                st = (tdc_csv_start){rows[k - 1].r.next_offset, rows[k - 1].r.row + 1,
                                     rows[k - 1].r.next_line};
            if ((h >> (24 + i)) & 1)
                st.line = 0; /* the reader counts the lines */
            src_open(&s, use_file, data, size);
            rc = open_reader(&s, &o, &st, &c, &err);
            if (rc < 0)
                fuzz_fail(T, "resuming at byte %lld row %lld: %s", (long long)st.offset,
                          (long long)st.row, err.msg);
            for (;;) {
                tdc_csv_row r;
                snap got;

                rc = tdc_csv_next(c, &r, &err);
                if (rc < 0)
                    fuzz_fail(T, "resumed at byte %lld: %s", (long long)st.offset, err.msg);
                if (rc == 0)
                    break;
                if (j == nrows)
                    fuzz_fail(T, "resumed at byte %lld: row %lld beyond the first pass",
                              (long long)st.offset, (long long)r.row);
                snap_take(&got, &r);
                if (!snap_same(&got, &rows[j]))
                    fuzz_fail(T, "resumed at byte %lld: row %lld (line %lld, bytes %lld..%lld) "
                              "differs from the first pass (row %lld, line %lld, bytes "
                              "%lld..%lld)",
                              (long long)st.offset, (long long)got.r.row, (long long)got.r.line,
                              (long long)got.r.offset, (long long)got.r.next_offset,
                              (long long)rows[j].r.row, (long long)rows[j].r.line,
                              (long long)rows[j].r.offset, (long long)rows[j].r.next_offset);
                free(got.text);
                j++;
            }
            if (j != nrows)
                fuzz_fail(T, "resumed at byte %lld: %zu rows where the first pass had %zu",
                          (long long)st.offset, j - k, nrows - k);
            tdc_csv_free(c);
            src_close(&s);
        }
    }
    for (size_t i = 0; i < nrows; i++)
        free(rows[i].text);
    free(rows);
    return 0;
}
