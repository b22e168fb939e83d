/* tdc_csv: see tdc_csv.h for what is accepted and how things are numbered.
 *
 * Layout: one read buffer buf[0..cap) (+1 byte for a sentinel LF), holding
 * file bytes [buf_off, buf_off + end); the next unread byte is buf[pos]. A
 * row is parsed only when it is wholly in the buffer: when the scan reaches
 * the end of the buffered bytes first, the buffer is compacted (and grown up
 * to max_row_bytes + 4), more is read and the row is scanned again from its
 * start. Field texts go into the arena (cap + 2 bytes: a row's texts plus one
 * NUL per field never exceed its raw bytes + 1), so the scan needs no bounds
 * checks for them. GB18030 fields are converted into conv.
 */
#include "tdc_csv.h"

#include "td_log.h"

#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define TDC_CSV_MIN_BUFFER (128u * 1024u)
#define TDC_CSV_MAX_MAX_ROW ((size_t)1 << 30)

struct tdc_csv {
    int fd;
    FILE *f;
    char *name;
    tdc_csv_encoding enc;
    bool bom;
    unsigned char delim;
    bool gb_pipe; /* GB18030 with '|': step over two-byte characters */
    size_t max_row;
    int64_t limit; /* expect_size, 0: none */
    int64_t mtime_ns; /* expect_mtime_ns, 0: not checked */
    iconv_t cd;

    unsigned char *buf;
    size_t cap, pos, end, grow_max;
    int64_t buf_off;
    bool eof;
    unsigned char cls[256]; /* 1 for the delimiter and LF */

    int64_t row;  /* number of the next row */
    int64_t line; /* line of buf[pos] */

    char *colbuf;
    const char **cols;
    size_t ncols;
    int64_t header_next, header_next_line;

    /* the current row */
    char *arena;            /* cap + 2 */
    size_t alen;
    size_t *fstart, *flen;  /* fcap each */
    const char **fptr;
    size_t *olen;
    size_t nf, fcap;
    char *conv;             /* GB18030 output */
    size_t ccap;
    char *longraw;          /* an over-long row's first max_row bytes */
    size_t lcap;
    char reason[TDC_CSV_REASON_MAX];

    int fail;               /* sticky error of tdc_csv_next */
    char failmsg[TD_ERROR_MSG_MAX];
};

const char *tdc_csv_encoding_name(tdc_csv_encoding e)
{
    switch (e) {
    case TDC_CSV_ENCODING_AUTO:
        return "auto";
    case TDC_CSV_ENCODING_UTF8:
        return "utf-8";
    case TDC_CSV_ENCODING_GB18030:
        return "gb18030";
    }
    return "?";
}

/* --- UTF-8 ----------------------------------------------------------- */

/* Index of the first byte that does not start a valid UTF-8 sequence, or n.
 * With allow_cut, a sequence cut off by the end of s is accepted. */
static size_t utf8_bad_at(const unsigned char *s, size_t n, bool allow_cut)
{
    size_t i = 0;

    while (i < n) {
        if (n - i >= 8) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            if (!(v & UINT64_C(0x8080808080808080))) {
                i += 8;
                continue;
            }
        }
        unsigned c = s[i];
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c == 0xE0) {
            need = 2;
            lo = 0xA0;
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
            need = 2;
        } else if (c == 0xED) {
            need = 2;
            hi = 0x9F;
        } else if (c == 0xF0) {
            need = 3;
            lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3) {
            need = 3;
        } else if (c == 0xF4) {
            need = 3;
            hi = 0x8F;
        } else {
            return i;
        }
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= n)
                return allow_cut ? n : i;
            unsigned t = s[i + k];
            if (k == 1 ? (t < lo || t > hi) : (t < 0x80 || t > 0xBF))
                return i;
        }
        i += need + 1;
    }
    return n;
}

/* Counts valid multi-byte sequences and invalid bytes in s (a sequence cut
 * by the end of s counts as valid). */
static void utf8_stats(const unsigned char *s, size_t n, size_t *multi, size_t *bad)
{
    size_t i = 0;

    *multi = *bad = 0;
    while (i < n) {
        size_t at = utf8_bad_at(s + i, n - i, true);
        /* count the multi-byte sequences in the valid run */
        for (size_t k = i; k < i + at; k++)
            if ((s[k] & 0xC0) == 0xC0)
                (*multi)++;
        i += at;
        if (i < n) {
            (*bad)++;
            i++;
        }
    }
}

static bool is_ascii(const unsigned char *s, size_t n)
{
    size_t i = 0;
    uint64_t acc = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        acc |= v;
    }
    if (acc & UINT64_C(0x8080808080808080))
        return false;
    for (; i < n; i++)
        if (s[i] & 0x80)
            return false;
    return true;
}

static int64_t count_lf(const unsigned char *p, size_t n)
{
    const unsigned char *e = p + n;
    int64_t k = 0;

    while (p < e && (p = memchr(p, '\n', (size_t)(e - p)))) {
        k++;
        p++;
    }
    return k;
}

static bool gb_trail(unsigned char t)
{
    return (t >= 0x40 && t <= 0x7E) || (t >= 0x80 && t <= 0xFE);
}

/* --- input ------------------------------------------------------------ */

static ssize_t csv_read(tdc_csv *c, void *p, size_t n)
{
    if (c->f) {
        size_t r = fread(p, 1, n, c->f);
        if (r == 0 && ferror(c->f))
            return errno ? -errno : -EIO;
        return (ssize_t)r;
    }
    for (;;) {
        ssize_t r = read(c->fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        return r < 0 ? -errno : r;
    }
}

static int csv_seek(tdc_csv *c, int64_t off)
{
    if (c->f) {
        if (fseeko(c->f, (off_t)off, SEEK_SET) < 0)
            return -errno;
        clearerr(c->f);
        return 0;
    }
    if (lseek(c->fd, (off_t)off, SEEK_SET) < 0)
        return -errno;
    return 0;
}

static int csv_grow(tdc_csv *c, size_t ncap)
{
    unsigned char *b = realloc(c->buf, ncap + 1);
    if (!b)
        return -ENOMEM;
    c->buf = b;
    char *a = realloc(c->arena, ncap + 2);
    if (!a)
        return -ENOMEM;
    c->arena = a;
    c->cap = ncap;
    return 0;
}

/* Moves [pos, end) to the front, grows a full buffer if allowed, and reads
 * once. Returns 0 (also at EOF: c->eof is set) or a negative errno, with the
 * text in c->failmsg. */

/* After a read of a file taken with a known size and mtime: 0 if it still
 * has both, else -ESTALE with the reason in failmsg. A write updates mtime
 * before it changes a byte, so when the file is unchanged after a read,
 * every byte read so far is from the file as it was taken. */
static int csv_check_unchanged(tdc_csv *c)
{
    struct stat st;

    if (fstat(c->f ? fileno(c->f) : c->fd, &st) < 0) {
        int e = errno;
        snprintf(c->failmsg, sizeof(c->failmsg), "%s: fstat: %s", c->name, strerror(e));
        return -e;
    }
    int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if ((int64_t)st.st_size != c->limit || mt != c->mtime_ns) {
        snprintf(c->failmsg, sizeof(c->failmsg),
                 "%s: changed while being read (size %lld -> %lld bytes%s), seen at byte %lld: "
                 "nothing from there on is used",
                 c->name, (long long)c->limit, (long long)st.st_size,
                 mt != c->mtime_ns ? ", modified" : "",
                 (long long)(c->buf_off + (int64_t)c->end));
        return -ESTALE;
    }
    return 0;
}

static int csv_fill(tdc_csv *c)
{
    int r;

    if (c->eof)
        return 0;
    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->end - c->pos);
        c->buf_off += (int64_t)c->pos;
        c->end -= c->pos;
        c->pos = 0;
    }
    if (c->end == c->cap) {
        size_t ncap = c->cap * 2;
        if (ncap > c->grow_max)
            ncap = c->grow_max;
        if (ncap <= c->cap) {
            snprintf(c->failmsg, sizeof(c->failmsg), "%s: internal: read buffer full", c->name);
            return -ENOBUFS;
        }
        if ((r = csv_grow(c, ncap)) < 0) {
            snprintf(c->failmsg, sizeof(c->failmsg), "%s: out of memory", c->name);
            return r;
        }
    }
    size_t want = c->cap - c->end;
    if (c->limit > 0) {
        int64_t left = c->limit - (c->buf_off + (int64_t)c->end);
        if (left <= 0) {
            c->eof = true;
            return 0;
        }
        if ((uint64_t)left < want)
            want = (size_t)left;
    }
    ssize_t n = csv_read(c, c->buf + c->end, want);
    if (n < 0) {
        snprintf(c->failmsg, sizeof(c->failmsg), "%s: reading at byte %lld: %s", c->name,
                 (long long)(c->buf_off + (int64_t)c->end), strerror((int)-n));
        return (int)n;
    }
    if (n == 0) {
        if (c->limit > 0) {
            /* cut short by a rewrite in place (O_TRUNC): say so, as when the
             * change is seen after a read */
            if (c->mtime_ns != 0 && (r = csv_check_unchanged(c)) < 0)
                return r;
            snprintf(c->failmsg, sizeof(c->failmsg),
                     "%s: file ends at byte %lld, expected %lld bytes (truncated while being read)",
                     c->name, (long long)(c->buf_off + (int64_t)c->end), (long long)c->limit);
            return -EIO;
        }
        c->eof = true;
        return 0;
    }
    if (c->limit > 0 && c->mtime_ns != 0 && (r = csv_check_unchanged(c)) < 0)
        return r;
    c->end += (size_t)n;
    if (c->limit > 0 && c->buf_off + (int64_t)c->end >= c->limit)
        c->eof = true;
    return 0;
}

/* --- the row scan ----------------------------------------------------- */

enum { SCAN_OK = 0, SCAN_UNTERMINATED, SCAN_STRAY };

typedef struct csv_scan {
    size_t raw_end;   /* buf index: end of the row text */
    size_t next;      /* buf index after the line end */
    int64_t lines;    /* LF bytes in the row including its line end */
    int problem;
    size_t problem_field;
} csv_scan;

static int csv_push_field(tdc_csv *c, size_t start, size_t len)
{
    if (c->nf == c->fcap) {
        size_t n = c->fcap ? c->fcap * 2 : 64;
        size_t *s = realloc(c->fstart, n * sizeof(*s));
        if (!s)
            return -ENOMEM;
        c->fstart = s;
        size_t *l = realloc(c->flen, n * sizeof(*l));
        if (!l)
            return -ENOMEM;
        c->flen = l;
        size_t *o = realloc(c->olen, n * sizeof(*o));
        if (!o)
            return -ENOMEM;
        c->olen = o;
        const char **p = realloc(c->fptr, n * sizeof(*p));
        if (!p)
            return -ENOMEM;
        c->fptr = p;
        c->fcap = n;
    }
    c->fstart[c->nf] = start;
    c->flen[c->nf] = len;
    c->nf++;
    c->arena[c->alen++] = '\0';
    return 0;
}

static const unsigned char *scan_unquoted(const tdc_csv *c, const unsigned char *p,
                                          const unsigned char *end)
{
    if (!c->gb_pipe) {
        while (!c->cls[*p])
            p++;
        return p;
    }
    for (;;) {
        unsigned char b = *p;
        if (b == c->delim || b == '\n')
            return p;
        if (b >= 0x81 && b <= 0xFE && p + 1 < end && gb_trail(p[1]))
            p += 2;
        else
            p++;
    }
}

/* Scans the row at buf[pos]. Returns 1 with *o filled (fields in the
 * arena), 0 when the buffer ends before the row does (and more may come), or
 * -ENOMEM. The byte at buf[end] is overwritten by a sentinel LF. */
static int csv_scan_row(tdc_csv *c, csv_scan *o)
{
    unsigned char *b = c->buf;
    const unsigned char *p = b + c->pos, *end = b + c->end;
    const unsigned char delim = c->delim;
    char *arena = c->arena;

    b[c->end] = '\n';
    c->alen = 0;
    c->nf = 0;
    o->lines = 0;
    o->problem = SCAN_OK;
    o->problem_field = 0;
    for (;;) {
        size_t fst = c->alen;
        bool unq_tail = false;

        if (p < end && *p == '"') {
            p++;
            for (;;) {
                const unsigned char *q = memchr(p, '"', (size_t)(end - p));
                if (!q) {
                    if (!c->eof)
                        return 0;
                    memcpy(arena + c->alen, p, (size_t)(end - p));
                    c->alen += (size_t)(end - p);
                    o->lines += count_lf(p, (size_t)(end - p));
                    p = end;
                    o->problem = SCAN_UNTERMINATED;
                    o->problem_field = c->nf;
                    break;
                }
                memcpy(arena + c->alen, p, (size_t)(q - p));
                c->alen += (size_t)(q - p);
                o->lines += count_lf(p, (size_t)(q - p));
                p = q + 1;
                if (p == end) {
                    if (!c->eof)
                        return 0;
                    break;
                }
                if (*p == '"') {
                    arena[c->alen++] = '"';
                    p++;
                    continue;
                }
                break;
            }
            if (p < end && *p != delim && *p != '\n') {
                bool stray = true;
                if (*p == '\r') {
                    if (p + 1 == end) {
                        if (!c->eof)
                            return 0;
                        stray = false; /* CR at EOF: a line end */
                        p++;
                    } else if (p[1] == '\n') {
                        stray = false;
                        p++;
                    }
                }
                if (stray) {
                    if (o->problem == SCAN_OK) {
                        o->problem = SCAN_STRAY;
                        o->problem_field = c->nf;
                    }
                    const unsigned char *s = p;
                    p = scan_unquoted(c, p, end);
                    memcpy(arena + c->alen, s, (size_t)(p - s));
                    c->alen += (size_t)(p - s);
                    unq_tail = true;
                }
            }
        } else {
            const unsigned char *s = p;
            p = scan_unquoted(c, p, end);
            memcpy(arena + c->alen, s, (size_t)(p - s));
            c->alen += (size_t)(p - s);
            unq_tail = true;
        }

        if (p >= end) {
            if (!c->eof)
                return 0;
            /* the row ends at EOF; a CR right before EOF is a line end */
            size_t re = c->end;
            if (o->problem != SCAN_UNTERMINATED && re > c->pos && b[re - 1] == '\r') {
                re--;
                if (unq_tail && c->alen > fst && arena[c->alen - 1] == '\r')
                    c->alen--;
            }
            if (csv_push_field(c, fst, c->alen - fst) < 0)
                return -ENOMEM;
            o->raw_end = re;
            o->next = c->end;
            return 1;
        }
        if (*p == delim) {
            if (csv_push_field(c, fst, c->alen - fst) < 0)
                return -ENOMEM;
            p++;
            continue;
        }
        /* LF: the row ends here */
        size_t re = (size_t)(p - b);
        if (re > c->pos && b[re - 1] == '\r') {
            re--;
            if (unq_tail && c->alen > fst && arena[c->alen - 1] == '\r')
                c->alen--;
        }
        if (csv_push_field(c, fst, c->alen - fst) < 0)
            return -ENOMEM;
        o->raw_end = re;
        o->next = (size_t)(p - b) + 1;
        o->lines++;
        return 1;
    }
}

/* --- rows ------------------------------------------------------------- */

/* "column 3 (\"name\")", cut at a character boundary. */
static void col_label(const tdc_csv *c, size_t k, char *out, size_t size)
{
    if (k < c->ncols && c->cols[k][0]) {
        const char *n = c->cols[k];
        size_t len = strlen(n);
        if (len > 64) {
            len = 64;
            while (len > 0 && ((unsigned char)n[len] & 0xC0) == 0x80)
                len--;
        }
        snprintf(out, size, "column %zu (\"%.*s\")", k + 1, (int)len, n);
    } else {
        snprintf(out, size, "column %zu", k + 1);
    }
}

static void set_reason(tdc_csv *c, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_reason(tdc_csv *c, int64_t line, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(c->reason, sizeof(c->reason), "%s:%lld: ", c->name, (long long)line);

    if (n < 0 || (size_t)n >= sizeof(c->reason))
        n = 0;
    va_start(ap, fmt);
    vsnprintf(c->reason + n, sizeof(c->reason) - (size_t)n, fmt, ap);
    va_end(ap);
    td_log_redact(c->reason);
}

static int conv_reserve(tdc_csv *c, size_t need)
{
    if (need <= c->ccap)
        return 0;
    size_t n = c->ccap ? c->ccap : 4096;
    while (n < need)
        n *= 2;
    char *p = realloc(c->conv, n);
    if (!p)
        return -ENOMEM;
    c->conv = p;
    c->ccap = n;
    return 0;
}

/* Converts GB18030 in[0..len) to UTF-8 at conv[*at], NUL-terminated; the
 * caller reserved 2 * len + 1 bytes there. Returns 0 and advances *at past
 * the NUL, or -EILSEQ with *bad the input index where conversion stopped.
 * With allow_cut, an incomplete last character is dropped. */
static int conv_gb(tdc_csv *c, const char *in, size_t len, size_t *at, size_t *bad,
                   bool allow_cut)
{
    char *out = c->conv + *at;

    if (is_ascii((const unsigned char *)in, len)) {
        memcpy(out, in, len);
        out[len] = '\0';
        *at += len + 1;
        return 0;
    }
    char *ip = (char *)in, *op = out;
    size_t il = len, ol = 2 * len;
    iconv(c->cd, NULL, NULL, NULL, NULL);
    if (iconv(c->cd, &ip, &il, &op, &ol) == (size_t)-1 && !(allow_cut && errno == EINVAL)) {
        *bad = (size_t)(ip - in);
        return -EILSEQ;
    }
    *op = '\0';
    *at += (size_t)(op - out) + 1;
    return 0;
}

static void row_error(tdc_csv_row *r, tdc_csv_row_error e, const char *raw, size_t raw_len,
                      const char *reason)
{
    static const char *const none[1] = {NULL};
    static const size_t nolen[1] = {0};

    r->nfields = 0;
    r->fields = none;
    r->lens = nolen;
    r->raw = raw;
    r->raw_len = raw_len;
    r->error = e;
    r->reason = reason;
}

static int keep_prefix(tdc_csv *c, const unsigned char *p);
static int long_row_out(tdc_csv *c, tdc_csv_row *r);

/* Fills r from the scanned row and advances past it. */
static int csv_emit(tdc_csv *c, const csv_scan *o, tdc_csv_row *r)
{
    size_t rs = c->pos;
    char *raw = (char *)c->buf + rs;
    size_t raw_len = o->raw_end - rs;
    char lab[128];

    r->row = c->row;
    r->line = c->line;
    r->offset = c->buf_off + (int64_t)rs;
    r->next_offset = c->buf_off + (int64_t)o->next;
    r->next_line = c->line + o->lines;
    r->error = TDC_CSV_ROW_OK;
    r->reason = NULL;
    c->pos = o->next;
    c->row++;
    c->line = r->next_line;

    if (raw_len > c->max_row) {
        /* the whole row was buffered (buffer bigger than max_row) */
        if (keep_prefix(c, (const unsigned char *)raw) < 0)
            return -ENOMEM;
        set_reason(c, r->line, "row is longer than %zu bytes%s; skipped to line %lld", c->max_row,
                   o->problem == SCAN_UNTERMINATED ? " and a quoted field in it is never closed"
                                                   : "",
                   (long long)r->next_line);
        return long_row_out(c, r);
    }
    raw[raw_len] = '\0';
    if (memchr(raw, '\0', raw_len)) {
        size_t k = 0;
        while (k + 1 < c->nf && !memchr(c->arena + c->fstart[k], '\0', c->flen[k]))
            k++;
        col_label(c, k, lab, sizeof(lab));
        set_reason(c, r->line, "%s holds a NUL byte", lab);
        row_error(r, TDC_CSV_ROW_BAD_ENCODING, raw, raw_len, c->reason);
        return 1;
    }
    if (o->problem == SCAN_UNTERMINATED) {
        col_label(c, o->problem_field, lab, sizeof(lab));
        set_reason(c, r->line, "%s: quoted field is not closed before the end of the file", lab);
    } else if (o->problem == SCAN_STRAY) {
        col_label(c, o->problem_field, lab, sizeof(lab));
        set_reason(c, r->line, "%s: text after the closing quote", lab);
    }

    if (c->enc == TDC_CSV_ENCODING_UTF8) {
        if (utf8_bad_at((const unsigned char *)raw, raw_len, false) != raw_len) {
            size_t k = 0, at = 0;
            for (; k < c->nf; k++) {
                at = utf8_bad_at((const unsigned char *)c->arena + c->fstart[k], c->flen[k], false);
                if (at != c->flen[k])
                    break;
            }
            if (k == c->nf)
                k = c->nf - 1;
            col_label(c, k, lab, sizeof(lab));
            set_reason(c, r->line, "%s is not valid UTF-8 (byte %zu of the field)", lab, at + 1);
            row_error(r, TDC_CSV_ROW_BAD_ENCODING, raw, raw_len, c->reason);
            return 1;
        }
        if (o->problem != SCAN_OK) {
            row_error(r, o->problem == SCAN_UNTERMINATED ? TDC_CSV_ROW_UNTERMINATED
                                                         : TDC_CSV_ROW_BAD_QUOTE,
                      raw, raw_len, c->reason);
            return 1;
        }
        for (size_t k = 0; k < c->nf; k++)
            c->fptr[k] = c->arena + c->fstart[k];
        r->nfields = c->nf;
        r->fields = c->fptr;
        r->lens = c->flen;
        r->raw = raw;
        r->raw_len = raw_len;
        return 1;
    }

    /* GB18030: all fields in one iconv call (they are NUL-separated in the
     * arena, NUL converts to NUL and no field holds one), then the raw text */
    if (conv_reserve(c, 2 * (c->alen + raw_len) + 2) < 0)
        return -ENOMEM;
    size_t at = 0, bad = 0;
    if (c->alen > 0 && conv_gb(c, c->arena, c->alen - 1, &at, &bad, false) < 0) {
        size_t k = 0;
        while (k + 1 < c->nf && bad >= c->fstart[k + 1])
            k++;
        col_label(c, k, lab, sizeof(lab));
        set_reason(c, r->line, "%s is not valid GB18030 (byte %zu of the field)", lab,
                   bad - c->fstart[k] + 1);
        row_error(r, TDC_CSV_ROW_BAD_ENCODING, raw, raw_len, c->reason);
        return 1;
    }
    {
        size_t off = 0;
        for (size_t k = 0; k < c->nf; k++) {
            size_t len = strlen(c->conv + off);
            c->fstart[k] = off; /* now an index into conv */
            c->olen[k] = len;
            off += len + 1;
        }
    }
    size_t raw_at = at;
    if (conv_gb(c, raw, raw_len, &at, &bad, false) < 0) {
        set_reason(c, r->line, "row is not valid GB18030 (byte %zu of the row)", bad + 1);
        row_error(r, TDC_CSV_ROW_BAD_ENCODING, raw, raw_len, c->reason);
        return 1;
    }
    if (o->problem != SCAN_OK) {
        row_error(r, o->problem == SCAN_UNTERMINATED ? TDC_CSV_ROW_UNTERMINATED
                                                     : TDC_CSV_ROW_BAD_QUOTE,
                  c->conv + raw_at, at - raw_at - 1, c->reason);
        return 1;
    }
    for (size_t k = 0; k < c->nf; k++)
        c->fptr[k] = c->conv + c->fstart[k];
    r->nfields = c->nf;
    r->fields = c->fptr;
    r->lens = c->olen;
    r->raw = c->conv + raw_at;
    r->raw_len = at - raw_at - 1;
    return 1;
}

/* The row at pos is longer than max_row: keep its first max_row bytes,
 * skip to the next line end outside quotes, return one TOO_LONG row. */
enum { SK_FIELD, SK_UNQ, SK_LEAD, SK_QUOTED, SK_QSEEN };

/* Copies the first max_row bytes at p into longraw. */
static int keep_prefix(tdc_csv *c, const unsigned char *p)
{
    if (c->lcap < c->max_row + 1) {
        char *n = realloc(c->longraw, c->max_row + 1);
        if (!n) {
            snprintf(c->failmsg, sizeof(c->failmsg), "%s: out of memory", c->name);
            return -ENOMEM;
        }
        c->longraw = n;
        c->lcap = c->max_row + 1;
    }
    memcpy(c->longraw, p, c->max_row);
    c->longraw[c->max_row] = '\0';
    return 0;
}

static int csv_too_long(tdc_csv *c, tdc_csv_row *r)
{
    int64_t start_off = c->buf_off + (int64_t)c->pos, lines = 0;
    int st = SK_FIELD, rc;
    bool done = false;

    if ((rc = keep_prefix(c, c->buf + c->pos)) < 0)
        return rc;

    while (!done) {
        size_t i = c->pos;
        for (; i < c->end && !done; i++) {
            unsigned char b = c->buf[i];
            switch (st) {
            case SK_LEAD:
                if (gb_trail(b)) {
                    st = SK_UNQ;
                    break;
                }
                /* b is a character of its own */
                __attribute__((fallthrough));
            case SK_UNQ:
            case SK_FIELD:
                if (b == '\n') {
                    lines++;
                    done = true;
                } else if (b == c->delim) {
                    st = SK_FIELD;
                } else if (st == SK_FIELD && b == '"') {
                    st = SK_QUOTED;
                } else if (c->gb_pipe && b >= 0x81 && b <= 0xFE) {
                    st = SK_LEAD;
                } else {
                    st = SK_UNQ;
                }
                break;
            case SK_QUOTED:
                if (b == '"')
                    st = SK_QSEEN;
                else if (b == '\n')
                    lines++;
                break;
            case SK_QSEEN:
                if (b == '"') {
                    st = SK_QUOTED;
                } else if (b == '\n') {
                    lines++;
                    done = true;
                } else if (b == c->delim) {
                    st = SK_FIELD;
                } else {
                    st = (c->gb_pipe && b >= 0x81 && b <= 0xFE) ? SK_LEAD : SK_UNQ;
                }
                break;
            }
        }
        c->pos = i;
        if (done)
            break;
        if (c->eof)
            break;
        if ((rc = csv_fill(c)) < 0)
            return rc;
        if (c->eof && c->pos == c->end)
            break;
    }

    r->row = c->row;
    r->line = c->line;
    r->offset = start_off;
    r->next_offset = c->buf_off + (int64_t)c->pos;
    r->next_line = c->line + lines;
    c->row++;
    c->line = r->next_line;
    set_reason(c, r->line, "row is longer than %zu bytes%s; skipped to line %lld", c->max_row,
               st == SK_QUOTED && !done ? " and a quoted field in it is never closed" : "",
               (long long)r->next_line);
    return long_row_out(c, r);
}

/* The TOO_LONG row from the first max_row bytes in longraw (and the reason
 * in c->reason): as UTF-8 when it converts, cut at a character boundary. */
static int long_row_out(tdc_csv *c, tdc_csv_row *r)
{
    size_t len = c->max_row;
    if (c->enc == TDC_CSV_ENCODING_UTF8) {
        size_t ok = utf8_bad_at((const unsigned char *)c->longraw, len, true);
        if (ok == len) {
            /* drop a character cut by the limit */
            size_t k = len;
            while (k > 0 && len - k < 4 && ((unsigned char)c->longraw[k - 1] & 0xC0) == 0x80)
                k--;
            if (k > 0 && ((unsigned char)c->longraw[k - 1] & 0x80) &&
                utf8_bad_at((const unsigned char *)c->longraw + k - 1, len - k + 1, false) !=
                    len - k + 1)
                len = k - 1;
            c->longraw[len] = '\0';
        }
        row_error(r, TDC_CSV_ROW_TOO_LONG, c->longraw, len, c->reason);
        return 1;
    }
    size_t at = 0, bad = 0;
    if (conv_reserve(c, 2 * len + 2) < 0) {
        snprintf(c->failmsg, sizeof(c->failmsg), "%s: out of memory", c->name);
        return -ENOMEM;
    }
    if (conv_gb(c, c->longraw, len, &at, &bad, true) == 0)
        row_error(r, TDC_CSV_ROW_TOO_LONG, c->conv, at - 1, c->reason);
    else
        row_error(r, TDC_CSV_ROW_TOO_LONG, c->longraw, len, c->reason);
    return 1;
}

/* 1 and a row, 0 at EOF, or a negative errno with c->failmsg. */
static int csv_read_row(tdc_csv *c, tdc_csv_row *r)
{
    int rc;

    for (;;) {
        /* blank lines */
        while (c->pos < c->end) {
            unsigned char b = c->buf[c->pos];
            if (b == '\n') {
                c->pos++;
                c->line++;
            } else if (b == '\r' && c->pos + 1 < c->end && c->buf[c->pos + 1] == '\n') {
                c->pos += 2;
                c->line++;
            } else if (b == '\r' && c->pos + 1 == c->end && c->eof) {
                c->pos++;
            } else {
                break;
            }
        }
        if (c->pos == c->end || (c->buf[c->pos] == '\r' && c->pos + 1 == c->end)) {
            if (c->eof && c->pos == c->end)
                return 0;
            if ((rc = csv_fill(c)) < 0)
                return rc;
            continue;
        }
        csv_scan o;
        rc = csv_scan_row(c, &o);
        if (rc < 0) {
            snprintf(c->failmsg, sizeof(c->failmsg), "%s: out of memory", c->name);
            return rc;
        }
        if (rc == 1) {
            rc = csv_emit(c, &o, r);
            if (rc < 0)
                snprintf(c->failmsg, sizeof(c->failmsg), "%s: out of memory", c->name);
            return rc;
        }
        if (c->end - c->pos >= c->max_row + 3)
            return csv_too_long(c, r);
        if ((rc = csv_fill(c)) < 0)
            return rc;
    }
}

int tdc_csv_next(tdc_csv *c, tdc_csv_row *row, td_error *err)
{
    int rc;

    if (!c || !row)
        return td_error_set(err, -EINVAL, "tdc_csv_next: NULL argument");
    if (c->fail < 0)
        return td_error_set(err, c->fail, "%s", c->failmsg);
    rc = csv_read_row(c, row);
    if (rc < 0) {
        c->fail = rc;
        return td_error_set(err, rc, "%s", c->failmsg);
    }
    return rc;
}

/* --- open ------------------------------------------------------------- */

static int csv_start_at(tdc_csv *c, const tdc_csv_start *st, td_error *err)
{
    int rc;
    int64_t here = c->buf_off + (int64_t)c->pos;
    int prev = '\n';

    if (st->row < 2 || st->offset < c->header_next)
        return td_error_set(err, -EINVAL,
                            "%s: start at byte %lld row %lld is before the first row (byte %lld)",
                            c->name, (long long)st->offset, (long long)st->row,
                            (long long)c->header_next);
    if (c->limit > 0 && st->offset > c->limit)
        return td_error_set(err, -EINVAL, "%s: start at byte %lld is beyond the end (%lld bytes)",
                            c->name, (long long)st->offset, (long long)c->limit);
    if (st->offset == here) {
        c->row = st->row;
        if (st->line > 0)
            c->line = st->line;
        return 0;
    }
    if (st->offset <= c->buf_off + (int64_t)c->end) {
        size_t t = (size_t)(st->offset - c->buf_off);
        if (st->line <= 0)
            c->line += count_lf(c->buf + c->pos, t - c->pos);
        prev = c->buf[t - 1];
        c->pos = t;
    } else if (st->line > 0) {
        if ((rc = csv_seek(c, st->offset - 1)) < 0)
            return td_error_set(err, rc, "%s: seeking to byte %lld: %s", c->name,
                                (long long)st->offset, strerror(-rc));
        c->buf_off = st->offset - 1;
        c->pos = c->end = 0;
        c->eof = false;
        if ((rc = csv_fill(c)) < 0)
            return td_error_set(err, rc, "%s", c->failmsg);
        if (c->end == 0)
            return td_error_set(err, -EINVAL, "%s: start at byte %lld is beyond the end of the file",
                                c->name, (long long)st->offset);
        prev = c->buf[0];
        c->pos = 1;
    } else {
        /* count the lines on the way */
        for (;;) {
            int64_t bend = c->buf_off + (int64_t)c->end;
            if (st->offset <= bend) {
                size_t t = (size_t)(st->offset - c->buf_off);
                c->line += count_lf(c->buf + c->pos, t - c->pos);
                if (t > 0)
                    prev = c->buf[t - 1];
                c->pos = t;
                break;
            }
            c->line += count_lf(c->buf + c->pos, c->end - c->pos);
            if (c->end > 0)
                prev = c->buf[c->end - 1];
            c->pos = c->end;
            if (c->eof)
                return td_error_set(err, -EINVAL,
                                    "%s: start at byte %lld is beyond the end of the file",
                                    c->name, (long long)st->offset);
            if ((rc = csv_fill(c)) < 0)
                return td_error_set(err, rc, "%s", c->failmsg);
        }
    }
    if (st->line > 0)
        c->line = st->line;
    c->row = st->row;
    if (prev != '\n') {
        /* only the end of a file without a final line end may follow */
        if (c->pos == c->end && (rc = csv_fill(c)) < 0)
            return td_error_set(err, rc, "%s", c->failmsg);
        if (!(c->pos == c->end && c->eof))
            return td_error_set(err, -EINVAL, "%s: start at byte %lld is not at a row boundary",
                                c->name, (long long)st->offset);
    }
    return 0;
}

static int csv_open(int fd, FILE *f, const char *name, const tdc_csv_options *opt,
                    const tdc_csv_start *start, tdc_csv **ret, td_error *err)
{
    tdc_csv_options o = opt ? *opt : (tdc_csv_options){0};
    tdc_csv *c = NULL;
    tdc_csv_row hdr;
    int rc;

    if (!ret || (fd < 0 && !f))
        return td_error_set(err, -EINVAL, "tdc_csv_open: bad argument");
    if (!name)
        name = "<csv>";
    if (!o.delimiter)
        o.delimiter = ',';
    if (o.delimiter != ',' && o.delimiter != '\t' && o.delimiter != ';' && o.delimiter != '|')
        return td_error_set(err, -EINVAL, "%s: delimiter must be ',', TAB, ';' or '|'", name);
    if (o.encoding != TDC_CSV_ENCODING_AUTO && o.encoding != TDC_CSV_ENCODING_UTF8 &&
        o.encoding != TDC_CSV_ENCODING_GB18030)
        return td_error_set(err, -EINVAL, "%s: unknown encoding", name);
    if (!o.max_row_bytes)
        o.max_row_bytes = TDC_CSV_DEFAULT_MAX_ROW_BYTES;
    if (o.max_row_bytes > TDC_CSV_MAX_MAX_ROW)
        return td_error_set(err, -EINVAL, "%s: max_row_bytes is over 1 GiB", name);
    if (!o.buffer_bytes)
        o.buffer_bytes = TDC_CSV_DEFAULT_BUFFER_BYTES;
    if (o.buffer_bytes < TDC_CSV_MIN_BUFFER)
        o.buffer_bytes = TDC_CSV_MIN_BUFFER;
    if (o.expect_size < 0)
        return td_error_set(err, -EINVAL, "%s: expect_size is negative", name);

    c = calloc(1, sizeof(*c));
    if (!c)
        return td_error_set(err, -ENOMEM, "%s: out of memory", name);
    c->fd = fd;
    c->f = f;
    c->cd = (iconv_t)-1;
    c->delim = (unsigned char)o.delimiter;
    c->max_row = o.max_row_bytes;
    c->limit = o.expect_size;
    c->mtime_ns = o.expect_size > 0 ? o.expect_mtime_ns : 0;
    c->grow_max = o.max_row_bytes + 4;
    if (c->grow_max < o.buffer_bytes)
        c->grow_max = o.buffer_bytes;
    c->row = 1;
    c->line = 1;
    c->cls[c->delim] = 1;
    c->cls['\n'] = 1;
    c->name = strdup(name);
    if (!c->name || csv_grow(c, o.buffer_bytes) < 0) {
        rc = td_error_set(err, -ENOMEM, "%s: out of memory", name);
        goto fail;
    }

    while (!c->eof && c->end < TDC_CSV_DETECT_BYTES)
        if ((rc = csv_fill(c)) < 0) {
            td_error_set(err, rc, "%s", c->failmsg);
            goto fail;
        }

    const unsigned char *b = c->buf;
    bool utf8_bom = c->end >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF;
    bool gb_bom = c->end >= 4 && b[0] == 0x84 && b[1] == 0x31 && b[2] == 0x95 && b[3] == 0x33;
    c->enc = o.encoding;
    if (c->enc == TDC_CSV_ENCODING_AUTO) {
        if (utf8_bom)
            c->enc = TDC_CSV_ENCODING_UTF8;
        else if (gb_bom)
            c->enc = TDC_CSV_ENCODING_GB18030;
        else {
            size_t n = c->end < TDC_CSV_DETECT_BYTES ? c->end : TDC_CSV_DETECT_BYTES;
            bool cut = !(c->eof && n == c->end);
            size_t multi, bad;
            if (utf8_bad_at(b, n, cut) == n) {
                c->enc = TDC_CSV_ENCODING_UTF8;
            } else {
                /* a UTF-8 export with a few broken rows stays UTF-8 (and those
                 * rows are rejected); GB18030 text is mostly invalid UTF-8 */
                utf8_stats(b, n, &multi, &bad);
                c->enc = multi >= 16 * bad ? TDC_CSV_ENCODING_UTF8 : TDC_CSV_ENCODING_GB18030;
            }
        }
    }
    if (c->enc == TDC_CSV_ENCODING_UTF8 && utf8_bom) {
        c->bom = true;
        c->pos = 3;
    } else if (c->enc == TDC_CSV_ENCODING_GB18030) {
        if (gb_bom) {
            c->bom = true;
            c->pos = 4;
        }
        c->cd = iconv_open("UTF-8", "GB18030");
        if (c->cd == (iconv_t)-1) {
            rc = td_error_set(err, -errno, "%s: iconv cannot convert GB18030 to UTF-8: %s", name,
                              strerror(errno));
            goto fail;
        }
        c->gb_pipe = c->delim == '|';
    }

    rc = csv_read_row(c, &hdr);
    if (rc < 0) {
        td_error_set(err, rc, "%s", c->failmsg);
        goto fail;
    }
    if (rc == 0) {
        rc = td_error_set(err, -EBADMSG, "%s: no header row (the file is empty)", name);
        goto fail;
    }
    if (hdr.error != TDC_CSV_ROW_OK) {
        rc = td_error_set(err, -EBADMSG, "%s (in the header row)", hdr.reason);
        goto fail;
    }
    size_t total = 0;
    for (size_t k = 0; k < hdr.nfields; k++)
        total += hdr.lens[k] + 1;
    c->colbuf = malloc(total ? total : 1);
    c->cols = calloc(hdr.nfields + 1, sizeof(*c->cols));
    if (!c->colbuf || !c->cols) {
        rc = td_error_set(err, -ENOMEM, "%s: out of memory", name);
        goto fail;
    }
    total = 0;
    for (size_t k = 0; k < hdr.nfields; k++) {
        memcpy(c->colbuf + total, hdr.fields[k], hdr.lens[k] + 1);
        c->cols[k] = c->colbuf + total;
        total += hdr.lens[k] + 1;
    }
    c->ncols = hdr.nfields;
    c->header_next = hdr.next_offset;
    c->header_next_line = hdr.next_line;

    if (start && (rc = csv_start_at(c, start, err)) < 0)
        goto fail;
    *ret = c;
    return 0;

fail:
    tdc_csv_free(c);
    return rc;
}

int tdc_csv_open_fd(int fd, const char *name, const tdc_csv_options *opt,
                    const tdc_csv_start *start, tdc_csv **ret, td_error *err)
{
    if (fd < 0)
        return td_error_set(err, -EBADF, "tdc_csv_open_fd: bad file descriptor");
    return csv_open(fd, NULL, name, opt, start, ret, err);
}

int tdc_csv_open_file(FILE *f, const char *name, const tdc_csv_options *opt,
                      const tdc_csv_start *start, tdc_csv **ret, td_error *err)
{
    if (!f)
        return td_error_set(err, -EINVAL, "tdc_csv_open_file: NULL stream");
    return csv_open(-1, f, name, opt, start, ret, err);
}

tdc_csv *tdc_csv_free(tdc_csv *c)
{
    if (!c)
        return NULL;
    if (c->cd != (iconv_t)-1)
        iconv_close(c->cd);
    free(c->name);
    free(c->buf);
    free(c->arena);
    free(c->fstart);
    free(c->flen);
    free(c->olen);
    free(c->fptr);
    free(c->conv);
    free(c->longraw);
    free(c->colbuf);
    free(c->cols);
    free(c);
    return NULL;
}

const char *const *tdc_csv_columns(const tdc_csv *c, size_t *ncolumns)
{
    if (ncolumns)
        *ncolumns = c->ncols;
    return c->cols;
}

tdc_csv_encoding tdc_csv_encoding_used(const tdc_csv *c, bool *bom)
{
    if (bom)
        *bom = c->bom;
    return c->enc;
}

int64_t tdc_csv_header_end(const tdc_csv *c, int64_t *line)
{
    if (line)
        *line = c->header_next_line;
    return c->header_next;
}
