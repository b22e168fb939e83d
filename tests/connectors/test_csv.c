/* Tests of tdc_csv: RFC 4180 details, numbering, encodings, bad rows,
 * resume at every row boundary, and the parse rate (printed, not asserted). */
#include "tdc_csv.h"

#include "td_test.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort();
    return p;
}

static char *tmp;

static int suite_init(void)
{
    tmp = td_test_tmpdir();
    return tmp ? 0 : 1;
}

static int suite_clean(void)
{
    if (tmp)
        td_test_rmtree(tmp);
    free(tmp);
    tmp = NULL;
    return 0;
}

/* --- helpers ------------------------------------------------------------ */

typedef struct rec {
    int64_t row, line, offset, next_offset, next_line;
    int error;
    size_t nfields;
    char **fields;
    size_t *lens;
    char *raw;
    size_t raw_len;
    char *reason;
} rec;

typedef struct recs {
    rec *v;
    size_t n, cap;
    int end_rc; /* what tdc_csv_next returned last: 0 or < 0 */
    size_t defects; /* rows breaking the row contract (checked once) */
} recs;

static char *memdup0(const char *p, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

static void recs_free(recs *r)
{
    for (size_t i = 0; i < r->n; i++) {
        for (size_t k = 0; k < r->v[i].nfields; k++)
            free(r->v[i].fields[k]);
        free(r->v[i].fields);
        free(r->v[i].lens);
        free(r->v[i].raw);
        free(r->v[i].reason);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}

static void recs_add(recs *r, const tdc_csv_row *x)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = realloc(r->v, r->cap * sizeof(*r->v));
    }
    rec *e = &r->v[r->n++];
    e->row = x->row;
    e->line = x->line;
    e->offset = x->offset;
    e->next_offset = x->next_offset;
    e->next_line = x->next_line;
    e->error = x->error;
    e->nfields = x->nfields;
    e->fields = calloc(x->nfields + 1, sizeof(char *));
    e->lens = calloc(x->nfields + 1, sizeof(size_t));
    for (size_t k = 0; k < x->nfields; k++) {
        /* NUL-terminated at its length, no NUL inside */
        if (x->fields[k][x->lens[k]] != '\0' || strlen(x->fields[k]) != x->lens[k])
            r->defects++;
        e->fields[k] = memdup0(x->fields[k], x->lens[k]);
        e->lens[k] = x->lens[k];
    }
    if (x->raw[x->raw_len] != '\0' || (x->error == TDC_CSV_ROW_OK) != (x->reason == NULL))
        r->defects++;
    e->raw = memdup0(x->raw, x->raw_len);
    e->raw_len = x->raw_len;
    e->reason = x->reason ? strdup(x->reason) : NULL;
}

static char *put(const char *name, const void *data, size_t len)
{
    char *path;
    FILE *f;

    CU_ASSERT_FATAL(asprintf(&path, "%s/%s", tmp, name) > 0);
    f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(data, 1, len, f) == len);
    CU_ASSERT_FATAL(fclose(f) == 0);
    return path;
}

static char *puts_(const char *name, const char *text)
{
    return put(name, text, strlen(text));
}

/* Reads path (through an fd, or a FILE with use_file) into out. Returns the
 * open result. */
static int read_all(const char *path, const tdc_csv_options *o, const tdc_csv_start *st,
                    bool use_file, recs *out, td_error *err)
{
    tdc_csv *c = NULL;
    tdc_csv_row r;
    int fd = -1, rc;
    FILE *f = NULL;

    memset(out, 0, sizeof(*out));
    if (use_file) {
        f = fopen(path, "rb");
        CU_ASSERT_FATAL(f != NULL);
        rc = tdc_csv_open_file(f, "t.csv", o, st, &c, err);
    } else {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        CU_ASSERT_FATAL(fd >= 0);
        rc = tdc_csv_open_fd(fd, "t.csv", o, st, &c, err);
    }
    if (rc == 0) {
        while ((rc = tdc_csv_next(c, &r, err)) == 1)
            recs_add(out, &r);
        CU_ASSERT_EQUAL(out->defects, 0);
        out->end_rc = rc;
        rc = 0;
        tdc_csv_free(c);
    }
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int read_text(const char *text, size_t len, const tdc_csv_options *o, recs *out,
                     td_error *err)
{
    char *p = put("t.csv", text, len);
    int rc = read_all(p, o, NULL, false, out, err);
    free(p);
    return rc;
}

#define READ(text, opts, out)                                                                      \
    do {                                                                                           \
        td_error e_;                                                                               \
        td_error_clear(&e_);                                                                       \
        int rc_ = read_text((text), sizeof(text) - 1, (opts), (out), &e_);                         \
        if (rc_ != 0)                                                                              \
            fprintf(stderr, "open failed: %s\n", e_.msg);                                          \
        CU_ASSERT_EQUAL_FATAL(rc_, 0);                                                             \
        CU_ASSERT_EQUAL((out)->end_rc, 0);                                                         \
    } while (0)

static bool fields_are(const rec *r, size_t n, const char *const *want)
{
    if (r->nfields != n)
        return false;
    for (size_t k = 0; k < n; k++)
        if (strlen(want[k]) != r->lens[k] || memcmp(want[k], r->fields[k], r->lens[k]) != 0)
            return false;
    return true;
}

#define FIELDS(r, ...)                                                                             \
    fields_are((r), sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *),                  \
               (const char *[]){__VA_ARGS__})

static char *to_gb18030(const char *utf8, size_t len, size_t *out_len)
{
    iconv_t cd = iconv_open("GB18030", "UTF-8");
    CU_ASSERT_FATAL(cd != (iconv_t)-1);
    char *out = xmalloc(len * 2 + 16), *op = out, *ip = (char *)utf8;
    size_t il = len, ol = len * 2 + 16;
    CU_ASSERT_FATAL(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1);
    iconv_close(cd);
    *out_len = (size_t)(op - out);
    return out;
}

/* --- RFC 4180 ---------------------------------------------------------- */

static void test_quoted_fields(void)
{
    static const char text[] = "id,name,note\n"
                               "1,\"Zhang, San\",\"he said \"\"hi\"\"\"\n"
                               "2,\"multi\nline\r\nfield\",x\n"
                               "3,,\"\"\n"
                               "4,a\"b,5\"\n";
    recs r;

    READ(text, NULL, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 4);
    CU_ASSERT(FIELDS(&r.v[0], "1", "Zhang, San", "he said \"hi\""));
    CU_ASSERT(FIELDS(&r.v[1], "2", "multi\nline\r\nfield", "x"));
    CU_ASSERT(FIELDS(&r.v[2], "3", "", ""));
    CU_ASSERT(FIELDS(&r.v[3], "4", "a\"b", "5\"")); /* literal quotes in unquoted fields */
    /* numbering: rows count records, lines count LFs (also inside quotes) */
    CU_ASSERT_EQUAL(r.v[0].row, 2);
    CU_ASSERT_EQUAL(r.v[0].line, 2);
    CU_ASSERT_EQUAL(r.v[1].row, 3);
    CU_ASSERT_EQUAL(r.v[1].line, 3);
    CU_ASSERT_EQUAL(r.v[1].next_line, 6);
    CU_ASSERT_EQUAL(r.v[2].row, 4);
    CU_ASSERT_EQUAL(r.v[2].line, 6);
    CU_ASSERT_EQUAL(r.v[3].row, 5);
    CU_ASSERT_EQUAL(r.v[3].line, 7);
    /* offsets in the file; raw is the row without its line end */
    CU_ASSERT_EQUAL(r.v[0].offset, 13);
    CU_ASSERT_EQUAL(r.v[0].next_offset, r.v[1].offset);
    CU_ASSERT_EQUAL(r.v[3].next_offset, (int64_t)sizeof(text) - 1);
    CU_ASSERT_STRING_EQUAL(r.v[1].raw, "2,\"multi\nline\r\nfield\",x");
    CU_ASSERT_STRING_EQUAL(r.v[0].raw, "1,\"Zhang, San\",\"he said \"\"hi\"\"\"");
    recs_free(&r);
}

static void test_line_ends(void)
{
    static const char crlf[] = "a,b\r\n1,2\r\n3,\"x\r\ny\"\r\n4,5";
    static const char cr_eof[] = "a,b\n1,2\r";
    static const char quoted_cr_eof[] = "a,b\n1,\"2\"\r";
    static const char lone_cr_eof[] = "a,b\n1,2\n\r";
    recs r;

    READ(crlf, NULL, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 3);
    CU_ASSERT(FIELDS(&r.v[0], "1", "2"));
    CU_ASSERT(FIELDS(&r.v[1], "3", "x\r\ny"));
    CU_ASSERT(FIELDS(&r.v[2], "4", "5")); /* no final line end */
    CU_ASSERT_STRING_EQUAL(r.v[0].raw, "1,2");
    CU_ASSERT_EQUAL(r.v[0].offset, 5);
    CU_ASSERT_EQUAL(r.v[0].next_offset, 10);
    CU_ASSERT_EQUAL(r.v[2].line, 5);
    CU_ASSERT_EQUAL(r.v[2].next_offset, (int64_t)sizeof(crlf) - 1);
    CU_ASSERT_EQUAL(r.v[2].next_line, 5);
    recs_free(&r);

    READ(cr_eof, NULL, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT(FIELDS(&r.v[0], "1", "2"));
    CU_ASSERT_EQUAL(r.v[0].next_offset, (int64_t)sizeof(cr_eof) - 1);
    recs_free(&r);

    READ(quoted_cr_eof, NULL, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT(FIELDS(&r.v[0], "1", "2"));
    CU_ASSERT_EQUAL(r.v[0].error, TDC_CSV_ROW_OK);
    recs_free(&r);

    READ(lone_cr_eof, NULL, &r); /* a CR alone at the end is a blank line */
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT(FIELDS(&r.v[0], "1", "2"));
    recs_free(&r);
}

static void test_bom(void)
{
    static const char text[] = "\xEF\xBB\xBFid,name\n1,a\n";
    char *p = puts_("bom.csv", text);
    tdc_csv *c = NULL;
    td_error e;
    size_t n;
    bool bom = false;
    int64_t line;
    int fd = open(p, O_RDONLY);

    CU_ASSERT_EQUAL_FATAL(tdc_csv_open_fd(fd, "bom.csv", NULL, NULL, &c, &e), 0);
    const char *const *cols = tdc_csv_columns(c, &n);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_STRING_EQUAL(cols[0], "id"); /* BOM not part of the first name */
    CU_ASSERT_EQUAL(tdc_csv_encoding_used(c, &bom), TDC_CSV_ENCODING_UTF8);
    CU_ASSERT(bom);
    CU_ASSERT_EQUAL(tdc_csv_header_end(c, &line), 11);
    CU_ASSERT_EQUAL(line, 2);
    tdc_csv_free(c);
    close(fd);
    free(p);
}

static void test_blank_lines(void)
{
    static const char text[] = "\n\r\nid,v\n\n1,a\r\n\r\n\n2,b\n\n";
    recs r;

    READ(text, NULL, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 2);
    CU_ASSERT(FIELDS(&r.v[0], "1", "a"));
    CU_ASSERT_EQUAL(r.v[0].row, 2);
    CU_ASSERT_EQUAL(r.v[0].line, 5);
    CU_ASSERT_EQUAL(r.v[0].offset, 9);
    CU_ASSERT(FIELDS(&r.v[1], "2", "b"));
    CU_ASSERT_EQUAL(r.v[1].row, 3);
    CU_ASSERT_EQUAL(r.v[1].line, 8);
    recs_free(&r);

    /* only blank lines, or nothing: no header */
    td_error e;
    td_error_clear(&e);
    CU_ASSERT_EQUAL(read_text("\n\r\n\n", 4, NULL, &r, &e), -EBADMSG);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no header"));
    CU_ASSERT_EQUAL(read_text("", 0, NULL, &r, &e), -EBADMSG);
    /* a header that is a bad row */
    CU_ASSERT_EQUAL(read_text("a,\"b\n", 5, NULL, &r, &e), -EBADMSG);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "t.csv:1:"));
}

static void test_ragged_rows(void)
{
    static const char text[] = "a,b,c\n1,2\n1,2,3,4\n\"\"\n";
    recs r;

    READ(text, NULL, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 3);
    CU_ASSERT_EQUAL(r.v[0].nfields, 2);
    CU_ASSERT_EQUAL(r.v[0].error, TDC_CSV_ROW_OK);
    CU_ASSERT_EQUAL(r.v[1].nfields, 4);
    CU_ASSERT(FIELDS(&r.v[2], "")); /* a quoted empty line is a row */
    recs_free(&r);
}

static void test_unterminated_quote(void)
{
    static const char text[] = "a,b\n1,x\n2,\"never closed\nmore\n";
    recs r;

    READ(text, NULL, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 2);
    CU_ASSERT(FIELDS(&r.v[0], "1", "x"));
    CU_ASSERT_EQUAL(r.v[1].error, TDC_CSV_ROW_UNTERMINATED);
    CU_ASSERT_EQUAL(r.v[1].nfields, 0);
    CU_ASSERT_EQUAL(r.v[1].row, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.v[1].reason, "t.csv:3:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.v[1].reason, "column 2 (\"b\")"));
    CU_ASSERT_EQUAL(r.v[1].next_offset, (int64_t)sizeof(text) - 1);
    recs_free(&r);
}

static void test_stray_quote(void)
{
    static const char text[] = "a,b\n\"ab\"c,d\n1,2\n";
    recs r;

    READ(text, NULL, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 2);
    CU_ASSERT_EQUAL(r.v[0].error, TDC_CSV_ROW_BAD_QUOTE);
    CU_ASSERT_STRING_EQUAL(r.v[0].raw, "\"ab\"c,d");
    CU_ASSERT(FIELDS(&r.v[1], "1", "2"));
    recs_free(&r);
}

static void test_too_long_resync(void)
{
    tdc_csv_options o = {.max_row_bytes = 1024};
    size_t cap = 64 * 1024, n = 0;
    char *t = xmalloc(cap);
    recs r;
    td_error e;

    n += (size_t)sprintf(t + n, "a,b\n1,ok\n");
    /* an unquoted monster */
    n += (size_t)sprintf(t + n, "2,");
    memset(t + n, 'x', 5000);
    n += 5000;
    t[n++] = '\n';
    n += (size_t)sprintf(t + n, "3,ok\n");
    /* a monster with a quoted field holding line ends and a doubled quote:
     * the resync must not stop inside the quotes */
    n += (size_t)sprintf(t + n, "4,\"");
    for (int i = 0; i < 300; i++)
        n += (size_t)sprintf(t + n, "q\"\"q\nzz,");
    n += (size_t)sprintf(t + n, "\"\n5,ok\n");
    /* an over-long multi-byte row: the kept prefix is cut at a character */
    n += (size_t)sprintf(t + n, "6,");
    for (int i = 0; i < 700; i++)
        n += (size_t)sprintf(t + n, "中");
    n += (size_t)sprintf(t + n, "\n7,ok\n");
    td_error_clear(&e);
    CU_ASSERT_EQUAL_FATAL(read_text(t, n, &o, &r, &e), 0);
    CU_ASSERT_EQUAL_FATAL(r.n, 7);
    CU_ASSERT(FIELDS(&r.v[0], "1", "ok"));
    CU_ASSERT_EQUAL(r.v[1].error, TDC_CSV_ROW_TOO_LONG);
    CU_ASSERT_EQUAL(r.v[1].raw_len, 1024);
    CU_ASSERT_EQUAL(r.v[1].row, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.v[1].reason, "longer than 1024 bytes"));
    CU_ASSERT(FIELDS(&r.v[2], "3", "ok"));
    CU_ASSERT_EQUAL(r.v[2].row, 4);
    CU_ASSERT_EQUAL(r.v[2].line, 4);
    CU_ASSERT_EQUAL(r.v[3].error, TDC_CSV_ROW_TOO_LONG);
    CU_ASSERT_EQUAL(r.v[3].line, 5);
    CU_ASSERT_EQUAL(r.v[3].next_line, 306);
    CU_ASSERT(FIELDS(&r.v[4], "5", "ok"));
    CU_ASSERT_EQUAL(r.v[4].row, 6);
    CU_ASSERT_EQUAL(r.v[4].line, 306);
    CU_ASSERT_EQUAL(r.v[5].error, TDC_CSV_ROW_TOO_LONG);
    /* "6," + 340 characters of 3 bytes; the 341st was cut by the limit */
    CU_ASSERT_EQUAL(r.v[5].raw_len, 1022);
    CU_ASSERT(FIELDS(&r.v[6], "7", "ok"));
    CU_ASSERT_EQUAL(r.v[6].row, 8);
    recs_free(&r);
    free(t);
}

static void test_too_long_then_row(void)
{
    tdc_csv_options o = {.max_row_bytes = 1024};
    char *t = xmalloc(8192);
    size_t n = 0;
    recs r;
    td_error e;

    n += (size_t)sprintf(t + n, "a\n");
    memset(t + n, 'y', 3000);
    n += 3000;
    n += (size_t)sprintf(t + n, "\nlast\n");
    CU_ASSERT_EQUAL_FATAL(read_text(t, n, &o, &r, &e), 0);
    CU_ASSERT_EQUAL_FATAL(r.n, 2);
    CU_ASSERT_EQUAL(r.v[0].error, TDC_CSV_ROW_TOO_LONG);
    CU_ASSERT(FIELDS(&r.v[1], "last"));
    CU_ASSERT_EQUAL(r.v[1].row, 3);
    CU_ASSERT_EQUAL(r.v[1].line, 3);
    recs_free(&r);

    /* a quote never closed in a long row swallows the rest: one bad row */
    n = (size_t)sprintf(t, "a\n\"");
    memset(t + n, 'y', 3000);
    n += 3000;
    n += (size_t)sprintf(t + n, "\nlast\n");
    CU_ASSERT_EQUAL_FATAL(read_text(t, n, &o, &r, &e), 0);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_EQUAL(r.v[0].error, TDC_CSV_ROW_TOO_LONG);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.v[0].reason, "never closed"));
    CU_ASSERT_EQUAL(r.v[0].next_offset, (int64_t)n);
    recs_free(&r);
    free(t);
}

static void test_invalid_utf8(void)
{
    static const char text[] = "id,姓名\n1,张三\n2,\xff\xfe\n3,\xe5\xbc\n4,李四\n5,a\0b\n";
    tdc_csv_options o = {.encoding = TDC_CSV_ENCODING_UTF8};
    recs r;

    READ(text, &o, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 5);
    CU_ASSERT(FIELDS(&r.v[0], "1", "张三"));
    CU_ASSERT_EQUAL(r.v[1].error, TDC_CSV_ROW_BAD_ENCODING);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.v[1].reason, "t.csv:3: column 2 (\"姓名\") is not valid UTF-8"));
    CU_ASSERT_EQUAL(r.v[1].raw_len, 4);
    CU_ASSERT_EQUAL(memcmp(r.v[1].raw, "2,\xff\xfe", 4), 0); /* the original bytes */
    CU_ASSERT_EQUAL(r.v[2].error, TDC_CSV_ROW_BAD_ENCODING); /* cut sequence */
    CU_ASSERT(FIELDS(&r.v[3], "4", "李四"));
    CU_ASSERT_EQUAL(r.v[4].error, TDC_CSV_ROW_BAD_ENCODING); /* NUL byte */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.v[4].reason, "NUL"));
    recs_free(&r);

    /* auto: a UTF-8 export with one broken row stays UTF-8; only that row is
     * rejected (the whole file is not read as GB18030 mojibake) */
    size_t n = 0;
    char *t = xmalloc(64 * 1024);
    n += (size_t)sprintf(t, "id,姓名,地址\n");
    for (int i = 0; i < 300; i++)
        n += (size_t)sprintf(t + n, i == 150 ? "%d,\xd5\xc5\xc8\xfd,GB in UTF-8\n" : "%d,张三,河南省郑州市\n", i);
    td_error e;
    CU_ASSERT_EQUAL_FATAL(read_text(t, n, NULL, &r, &e), 0);
    CU_ASSERT_EQUAL_FATAL(r.n, 300);
    CU_ASSERT(FIELDS(&r.v[0], "0", "张三", "河南省郑州市"));
    CU_ASSERT_EQUAL(r.v[150].error, TDC_CSV_ROW_BAD_ENCODING);
    size_t bad = 0;
    for (size_t i = 0; i < r.n; i++)
        bad += r.v[i].error != TDC_CSV_ROW_OK;
    CU_ASSERT_EQUAL(bad, 1);
    recs_free(&r);
    free(t);
}

static void test_delimiters(void)
{
    static const char tab[] = "a\tb\n1,2\t\"x\ty\"\n";
    static const char semi[] = "a;b\n1,5;2\n";
    static const char pipe[] = "a|b\n1|\"|\"\n";
    tdc_csv_options o = {0};
    recs r;

    o.delimiter = '\t';
    READ(tab, &o, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT(FIELDS(&r.v[0], "1,2", "x\ty"));
    recs_free(&r);
    o.delimiter = ';';
    READ(semi, &o, &r);
    CU_ASSERT(r.n == 1 && FIELDS(&r.v[0], "1,5", "2"));
    recs_free(&r);
    o.delimiter = '|';
    READ(pipe, &o, &r);
    CU_ASSERT(r.n == 1 && FIELDS(&r.v[0], "1", "|"));
    recs_free(&r);

    td_error e;
    o.delimiter = 'x';
    CU_ASSERT_EQUAL(read_text("a\n", 2, &o, &r, &e), -EINVAL);
}

/* --- GB18030 ------------------------------------------------------------ */

static const char gb_utf8[] = "身份证号,姓名,地址,金额\n"
                              "110101199003074514,张三,\"北京市,东城区\",12.50\n"
                              "110101199003075000,李四,\"多行\n地址\",0\n"
                              "110101199003076000,王𠀀五,亅|丆,3\n";

static void test_gb18030(void)
{
    size_t gl;
    char *gb = to_gb18030(gb_utf8, sizeof(gb_utf8) - 1, &gl);
    char *p = put("gb.csv", gb, gl);
    tdc_csv_options o = {.encoding = TDC_CSV_ENCODING_GB18030};
    recs r;
    td_error e;

    /* the file really is not UTF-8 */
    CU_ASSERT(gl != sizeof(gb_utf8) - 1);
    for (int pass = 0; pass < 2; pass++) {
        o.encoding = pass == 0 ? TDC_CSV_ENCODING_GB18030 : TDC_CSV_ENCODING_AUTO;
        CU_ASSERT_EQUAL_FATAL(read_all(p, &o, NULL, false, &r, &e), 0);
        CU_ASSERT_EQUAL_FATAL(r.n, 3);
        CU_ASSERT(FIELDS(&r.v[0], "110101199003074514", "张三", "北京市,东城区", "12.50"));
        CU_ASSERT(FIELDS(&r.v[1], "110101199003075000", "李四", "多行\n地址", "0"));
        CU_ASSERT(FIELDS(&r.v[2], "110101199003076000", "王𠀀五", "亅|丆", "3"));
        CU_ASSERT_STRING_EQUAL(r.v[0].raw, "110101199003074514,张三,\"北京市,东城区\",12.50");
        CU_ASSERT_EQUAL(r.v[2].line, 5);
        /* offsets are in the GB18030 bytes */
        CU_ASSERT_EQUAL(r.v[2].next_offset, (int64_t)gl);
        CU_ASSERT_EQUAL(gb[r.v[1].offset], '1');
        CU_ASSERT_EQUAL(gb[r.v[1].offset - 1], '\n');
        recs_free(&r);
    }

    /* column names decoded */
    int fd = open(p, O_RDONLY);
    tdc_csv *c = NULL;
    size_t n;
    o.encoding = TDC_CSV_ENCODING_AUTO;
    CU_ASSERT_EQUAL_FATAL(tdc_csv_open_fd(fd, "gb.csv", &o, NULL, &c, &e), 0);
    const char *const *cols = tdc_csv_columns(c, &n);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_STRING_EQUAL(cols[0], "身份证号");
    CU_ASSERT_STRING_EQUAL(cols[1], "姓名");
    CU_ASSERT_EQUAL(tdc_csv_encoding_used(c, NULL), TDC_CSV_ENCODING_GB18030);
    tdc_csv_free(c);
    close(fd);
    free(p);
    free(gb);
}

/* '|' is the second byte of 亅 (81 7C) in GB18030: with '|' as the delimiter
 * the reader must step over whole characters. */
static void test_gb18030_pipe(void)
{
    static const char u[] = "名|值\n亅亅|\"亅|\"\n亅|x\n";
    size_t gl;
    char *gb = to_gb18030(u, sizeof(u) - 1, &gl);
    tdc_csv_options o = {.encoding = TDC_CSV_ENCODING_GB18030, .delimiter = '|'};
    recs r;
    td_error e;

    CU_ASSERT_PTR_NOT_NULL(memmem(gb, gl, "\x81\x7c", 2));
    CU_ASSERT_EQUAL_FATAL(read_text(gb, gl, &o, &r, &e), 0);
    CU_ASSERT_EQUAL_FATAL(r.n, 2);
    CU_ASSERT(FIELDS(&r.v[0], "亅亅", "亅|"));
    CU_ASSERT(FIELDS(&r.v[1], "亅", "x"));
    recs_free(&r);
    free(gb);
}

static void test_gb18030_bad_row(void)
{
    /* 0x80 and 0xFF are not GB18030; a lone lead byte at the end neither */
    static const char text[] = "a,b\n1,\xd5\xc5\n2,\x80\n3,\xff\xff\n4,\xd5\n5,\xc8\xfd\n";
    tdc_csv_options o = {.encoding = TDC_CSV_ENCODING_GB18030};
    recs r;

    READ(text, &o, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 5);
    CU_ASSERT(FIELDS(&r.v[0], "1", "张"));
    CU_ASSERT_EQUAL(r.v[1].error, TDC_CSV_ROW_BAD_ENCODING);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.v[1].reason, "not valid GB18030"));
    CU_ASSERT_EQUAL(r.v[2].error, TDC_CSV_ROW_BAD_ENCODING);
    CU_ASSERT_EQUAL(r.v[3].error, TDC_CSV_ROW_BAD_ENCODING);
    CU_ASSERT(FIELDS(&r.v[4], "5", "三"));
    recs_free(&r);
}

static void test_auto_detect(void)
{
    size_t gl;
    char *gb = to_gb18030(gb_utf8, sizeof(gb_utf8) - 1, &gl);
    struct {
        const char *name;
        const char *data;
        size_t len;
        tdc_csv_encoding want;
        bool bom;
    } cases[] = {
        {"u.csv", gb_utf8, sizeof(gb_utf8) - 1, TDC_CSV_ENCODING_UTF8, false},
        {"ub.csv", "\xEF\xBB\xBF" "a\n1\n", 7, TDC_CSV_ENCODING_UTF8, true},
        {"g.csv", gb, gl, TDC_CSV_ENCODING_GB18030, false},
        {"gb.csv", "\x84\x31\x95\x33" "a\n\xd5\xc5\n", 9, TDC_CSV_ENCODING_GB18030, true},
        {"a.csv", "a\n1\n", 4, TDC_CSV_ENCODING_UTF8, false},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *p = put(cases[i].name, cases[i].data, cases[i].len);
        int fd = open(p, O_RDONLY);
        tdc_csv *c = NULL;
        td_error e;
        bool bom = !cases[i].bom;
        CU_ASSERT_EQUAL_FATAL(tdc_csv_open_fd(fd, cases[i].name, NULL, NULL, &c, &e), 0);
        CU_ASSERT_EQUAL(tdc_csv_encoding_used(c, &bom), cases[i].want);
        CU_ASSERT_EQUAL(bom, cases[i].bom);
        tdc_csv_free(c);
        close(fd);
        free(p);
    }

    /* a UTF-8 character cut by the 64 KiB window does not make it GB18030 */
    size_t n = 70000, k = 0;
    char *big = xmalloc(n);
    k += (size_t)sprintf(big, "a\n");
    while (k < n - 4) {
        memcpy(big + k, "中\n", 4);
        k += 4;
    }
    big[0] = 'a';
    char *p = put("cut.csv", big, k);
    int fd = open(p, O_RDONLY);
    tdc_csv *c = NULL;
    td_error e;
    CU_ASSERT_EQUAL_FATAL(tdc_csv_open_fd(fd, "cut.csv", NULL, NULL, &c, &e), 0);
    CU_ASSERT_EQUAL(tdc_csv_encoding_used(c, NULL), TDC_CSV_ENCODING_UTF8);
    tdc_csv_free(c);
    close(fd);
    free(p);
    free(big);
    free(gb);
}

/* --- resume ------------------------------------------------------------- */

static bool same_row(const tdc_csv_row *a, const rec *b)
{
    if (a->row != b->row || a->line != b->line || a->offset != b->offset ||
        a->next_offset != b->next_offset || a->next_line != b->next_line ||
        (int)a->error != b->error || a->nfields != b->nfields || a->raw_len != b->raw_len ||
        memcmp(a->raw, b->raw, a->raw_len) != 0)
        return false;
    for (size_t k = 0; k < a->nfields; k++)
        if (a->lens[k] != b->lens[k] || memcmp(a->fields[k], b->fields[k], a->lens[k]) != 0)
            return false;
    return (a->reason == NULL) == (b->reason == NULL) &&
           (!a->reason || strcmp(a->reason, b->reason) == 0);
}

/* Every resume at row k's next_offset yields exactly rows k+1.. as a
 * straight read does, with the line given and with the line counted, over
 * an fd and over a FILE. stride > 1 samples every stride-th boundary (and
 * always the last three). */
static void check_resume_everywhere(const char *path, const tdc_csv_options *o, size_t stride)
{
    recs all;
    td_error e;

    td_error_clear(&e);
    CU_ASSERT_EQUAL_FATAL(read_all(path, o, NULL, false, &all, &e), 0);
    CU_ASSERT_FATAL(all.n > 3);
    for (size_t k = 0; k < all.n; k++) {
        if (k % stride != 0 && k + 3 < all.n)
            continue;
        for (int mode = 0; mode < 3; mode++) {
            tdc_csv_start st = {
                .offset = all.v[k].next_offset,
                .row = all.v[k].row + 1,
                .line = mode == 1 ? 0 : all.v[k].next_line,
            };
            tdc_csv *c = NULL;
            tdc_csv_row r;
            FILE *f = NULL;
            int fd = -1, rc;
            if (mode == 2) {
                f = fopen(path, "rb");
                rc = tdc_csv_open_file(f, "t.csv", o, &st, &c, &e);
            } else {
                fd = open(path, O_RDONLY);
                rc = tdc_csv_open_fd(fd, "t.csv", o, &st, &c, &e);
            }
            if (rc != 0)
                fprintf(stderr, "resume after row %lld: %s\n", (long long)all.v[k].row, e.msg);
            CU_ASSERT_EQUAL_FATAL(rc, 0);
            size_t i = k + 1, differ = 0;
            while ((rc = tdc_csv_next(c, &r, &e)) == 1) {
                if (i >= all.n || !same_row(&r, &all.v[i])) {
                    if (differ++ == 0)
                        fprintf(stderr, "resume after row %lld (mode %d): row %lld differs\n",
                                (long long)all.v[k].row, mode, (long long)r.row);
                }
                i++;
            }
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_EQUAL(differ, 0);
            CU_ASSERT_EQUAL(i, all.n);
            tdc_csv_free(c);
            if (f)
                fclose(f);
            if (fd >= 0)
                close(fd);
        }
    }
    recs_free(&all);
}

static void test_resume_every_boundary(void)
{
    static const char text[] =
        "\xEF\xBB\xBF\r\n"
        "id,name,note\r\n"
        "\r\n"
        "1,\"Zhang, San\",\"multi\r\nline\"\r\n"
        "2,plain,x\n"
        "\n\n"
        "3,\"\"\"quoted\"\"\",\"a\nb\nc\"\r\n"
        "4,\xff,bad utf-8\n"
        "5,ragged\n"
        "6,\"ab\"c,stray\n"
        "7,中文,\"多\n行\"\n"
        "\r\n"
        "8,last,\"unterminated\n...";
    char *p = put("tricky.csv", text, sizeof(text) - 1);
    recs all;
    td_error e;

    CU_ASSERT_EQUAL_FATAL(read_all(p, NULL, NULL, false, &all, &e), 0);
    CU_ASSERT_EQUAL_FATAL(all.n, 8);
    CU_ASSERT_EQUAL(all.v[0].row, 2);
    CU_ASSERT_EQUAL(all.v[0].line, 4);
    CU_ASSERT_EQUAL(all.v[3].error, TDC_CSV_ROW_BAD_ENCODING);
    CU_ASSERT_EQUAL(all.v[5].error, TDC_CSV_ROW_BAD_QUOTE);
    CU_ASSERT_EQUAL(all.v[7].error, TDC_CSV_ROW_UNTERMINATED);
    CU_ASSERT_EQUAL(all.v[7].next_offset, (int64_t)sizeof(text) - 1);
    recs_free(&all);
    check_resume_everywhere(p, NULL, 1);

    /* a start right after the header (row 2, nothing consumed yet) */
    int fd = open(p, O_RDONLY);
    tdc_csv *c = NULL;
    tdc_csv_row row;
    int64_t hline, hend;
    CU_ASSERT_EQUAL_FATAL(tdc_csv_open_fd(fd, "t.csv", NULL, NULL, &c, &e), 0);
    hend = tdc_csv_header_end(c, &hline);
    tdc_csv_free(c);
    CU_ASSERT_EQUAL(hend, 19); /* BOM, blank line, header */
    CU_ASSERT_EQUAL(hline, 3);
    tdc_csv_start at = {.offset = hend, .row = 2, .line = hline};
    CU_ASSERT_FATAL(lseek(fd, 0, SEEK_SET) == 0);
    CU_ASSERT_EQUAL_FATAL(tdc_csv_open_fd(fd, "t.csv", NULL, &at, &c, &e), 0);
    CU_ASSERT_EQUAL(tdc_csv_next(c, &row, &e), 1);
    CU_ASSERT_EQUAL(row.row, 2);
    CU_ASSERT_EQUAL(row.line, 4);
    tdc_csv_free(c);
    close(fd);

    /* a start that is not at a row boundary */
    tdc_csv_start st = {.offset = 25, .row = 2, .line = 3};
    CU_ASSERT_EQUAL(read_all(p, NULL, &st, false, &all, &e), -EINVAL);
    st.offset = 3;
    CU_ASSERT_EQUAL(read_all(p, NULL, &st, false, &all, &e), -EINVAL);
    free(p);
}

/* A random file bigger than the read buffer: every field round-trips, and
 * rows, lines and offsets are what the generator wrote. */
typedef struct gen_row {
    int64_t offset, next_offset, line;
    size_t nf;
    char *f[6];
} gen_row;

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void test_random_roundtrip(void)
{
    static const char *const pieces[] = {"abc", "x", ",", "\"", "\n", "\r\n", "中文", " ", "",
                                         "12345", "\"\"", "亅"};
    const size_t nrows = 80000;
    size_t cap = 16 * 1024 * 1024, n = 0;
    char *t = xmalloc(cap);
    gen_row *g = calloc(nrows, sizeof(*g));
    int64_t line = 1;

    n += (size_t)sprintf(t, "c1,c2,c3\n");
    line = 2;
    for (size_t i = 0; i < nrows; i++) {
        while (rnd(10) == 0) { /* blank lines */
            const char *bl = rnd(2) ? "\n" : "\r\n";
            memcpy(t + n, bl, strlen(bl));
            n += strlen(bl);
            line++;
        }
        g[i].offset = (int64_t)n;
        g[i].line = line;
        g[i].nf = 1 + rnd(5);
        for (size_t k = 0; k < g[i].nf; k++) {
            char buf[256];
            size_t bl = 0;
            int np = (int)rnd(5);
            for (int j = 0; j < np; j++) {
                const char *pc = pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))];
                memcpy(buf + bl, pc, strlen(pc));
                bl += strlen(pc);
            }
            buf[bl] = '\0';
            g[i].f[k] = strdup(buf);
            bool must = strpbrk(buf, ",\"\r\n") != NULL || (g[i].nf == 1 && bl == 0);
            if (k > 0)
                t[n++] = ',';
            if (must || rnd(4) == 0) {
                t[n++] = '"';
                for (size_t j = 0; j < bl; j++) {
                    if (buf[j] == '"')
                        t[n++] = '"';
                    if (buf[j] == '\n')
                        line++;
                    t[n++] = buf[j];
                }
                t[n++] = '"';
            } else {
                memcpy(t + n, buf, bl);
                n += bl;
            }
        }
        if (i + 1 < nrows || rnd(2)) {
            const char *le = rnd(2) ? "\n" : "\r\n";
            memcpy(t + n, le, strlen(le));
            n += strlen(le);
            line++;
        }
        g[i].next_offset = (int64_t)n;
    }
    CU_ASSERT_FATAL(n > 1024 * 1024); /* crosses many buffer refills */

    char *p = put("random.csv", t, n);
    tdc_csv_options o = {.encoding = TDC_CSV_ENCODING_UTF8};
    recs r;
    td_error e;
    CU_ASSERT_EQUAL_FATAL(read_all(p, &o, NULL, false, &r, &e), 0);
    CU_ASSERT_EQUAL_FATAL(r.n, nrows);
    size_t bad = 0;
    for (size_t i = 0; i < nrows; i++) {
        bool ok = r.v[i].error == TDC_CSV_ROW_OK && r.v[i].row == (int64_t)i + 2 &&
                  r.v[i].offset == g[i].offset && r.v[i].next_offset == g[i].next_offset &&
                  r.v[i].line == g[i].line && fields_are(&r.v[i], g[i].nf, (const char *const *)g[i].f);
        if (!ok && bad++ < 3)
            fprintf(stderr, "random row %zu (row %lld) differs\n", i, (long long)r.v[i].row);
    }
    CU_ASSERT_EQUAL(bad, 0);
    recs_free(&r);
    /* resume at sampled boundaries of the big file (seek path) */
    check_resume_everywhere(p, &o, 1009);

    for (size_t i = 0; i < nrows; i++)
        for (size_t k = 0; k < g[i].nf; k++)
            free(g[i].f[k]);
    free(g);
    free(t);
    free(p);
}

/* Random byte soup (structure bytes, NUL, GB18030 lead/trail bytes, 0x7C,
 * long runs without a line end) for each encoding and delimiter: never a
 * crash; the same rows whatever the buffer size (the over-long row path
 * that streams and the one that sees the whole row agree); offsets, rows
 * and line ends consistent; resume equals a straight read. */
static void test_hostile_bytes(void)
{
    static const unsigned char alphabet[] = {'"', '"', ',', ',', '\r', '\n', '\n', '|', ';', '\t',
                                             'a', 'b', ' ', 0x00, 0x81, 0x7c, 0xd5, 0xc5, 0xe4,
                                             0xb8, 0xad, 0xff, 0x80, 0x30, 0xef, 0xbb, 0xbf};
    static const char delims[] = {',', '|', ';', '\t'};
    size_t total_rows = 0;

    for (int it = 0; it < 32; it++) {
        /* big ones cross buffer refills; GB18030 ones get every delimiter */
        bool bigf = it % 4 == 0 || it % 3 == 2;
        size_t size = bigf ? 400000 + rnd(100000) : 2000 + rnd(20000), n = 0;
        unsigned char *t = xmalloc(size + 4000);
        if (it % 3 == 0)
            n += (size_t)sprintf((char *)t, "h1,h2|h3\n");
        while (n < size) {
            uint32_t k = rnd(4000);
            if (k == 0) {
                size_t run = 1000 + rnd(3000);
                memset(t + n, rnd(2) ? 'a' : 0xd5, run);
                n += run;
            } else if (k < 40) {
                t[n++] = '\n';
            } else {
                t[n++] = alphabet[rnd(sizeof(alphabet))];
            }
        }
        char *p = put("hostile.csv", t, n);
        tdc_csv_options o = {.encoding = (tdc_csv_encoding)(it % 3), .delimiter = delims[it % 4],
                             .max_row_bytes = 1024, .buffer_bytes = 128 * 1024};
        tdc_csv_options big = o;
        big.buffer_bytes = 1024 * 1024;
        recs a;
        td_error e;
        int rc = read_all(p, &o, NULL, false, &a, &e);
        if (rc != 0) {
            recs b;
            CU_ASSERT_EQUAL(read_all(p, &big, NULL, false, &b, &e), rc);
            free(p);
            free(t);
            continue;
        }
        CU_ASSERT_EQUAL(a.end_rc, 0);
        total_rows += a.n;
        int64_t prev = 0;
        for (size_t i = 0; i < a.n; i++) {
            CU_ASSERT_EQUAL(a.v[i].row, (int64_t)i + 2);
            CU_ASSERT(a.v[i].offset >= prev && a.v[i].next_offset > a.v[i].offset);
            CU_ASSERT(a.v[i].next_offset <= (int64_t)n);
            CU_ASSERT(a.v[i].next_offset == (int64_t)n || t[a.v[i].next_offset - 1] == '\n');
            /* max_row_bytes bounds the bytes read; GB18030 grows up to 1.5x in UTF-8 */
            CU_ASSERT(a.v[i].raw_len <= (o.encoding == TDC_CSV_ENCODING_UTF8 ? 1024u : 1536u));
            prev = a.v[i].next_offset;
        }
        /* the same rows with a buffer that holds the whole file */
        tdc_csv *c = NULL;
        tdc_csv_row r;
        int fd = open(p, O_RDONLY);
        CU_ASSERT_EQUAL_FATAL(tdc_csv_open_fd(fd, "t.csv", &big, NULL, &c, &e), 0);
        size_t i = 0, differ = 0;
        while (tdc_csv_next(c, &r, &e) == 1) {
            if (i >= a.n || !same_row(&r, &a.v[i]))
                if (differ++ == 0)
                    fprintf(stderr, "hostile %d: row %lld differs with a big buffer\n", it,
                            (long long)r.row);
            i++;
        }
        CU_ASSERT_EQUAL(differ, 0);
        CU_ASSERT_EQUAL(i, a.n);
        tdc_csv_free(c);
        close(fd);
        if (a.n > 3)
            check_resume_everywhere(p, &o, size > 100000 ? 499 : 11);
        recs_free(&a);
        free(p);
        free(t);
    }
    printf("\n    %zu rows from random bytes ", total_rows);
}

/* Rows bigger than the initial buffer make it grow (up to max_row_bytes);
 * bigger than max_row_bytes they are rejected and the reader resyncs. */
static void test_buffer_growth(void)
{
    tdc_csv_options o = {.max_row_bytes = 512 * 1024, .buffer_bytes = 128 * 1024};
    size_t cap = 4 * 1024 * 1024, n = 0;
    char *t = xmalloc(cap);
    recs r;
    td_error e;

    n += (size_t)sprintf(t, "id,text\n1,\"");
    for (int i = 0; i < 30000; i++)
        n += (size_t)sprintf(t + n, "line %05d\n", i); /* 330 KB, 30000 LFs */
    n += (size_t)sprintf(t + n, "\"\n2,");
    memset(t + n, 'z', 700 * 1024);
    n += 700 * 1024;
    n += (size_t)sprintf(t + n, "\n3,last\n");
    CU_ASSERT_EQUAL_FATAL(read_text(t, n, &o, &r, &e), 0);
    CU_ASSERT_EQUAL_FATAL(r.n, 3);
    CU_ASSERT_EQUAL(r.v[0].error, TDC_CSV_ROW_OK);
    CU_ASSERT_EQUAL(r.v[0].lens[1], 330000);
    CU_ASSERT_EQUAL(r.v[0].next_line, 30003);
    CU_ASSERT_EQUAL(r.v[1].error, TDC_CSV_ROW_TOO_LONG);
    CU_ASSERT_EQUAL(r.v[1].line, 30003);
    CU_ASSERT(FIELDS(&r.v[2], "3", "last"));
    CU_ASSERT_EQUAL(r.v[2].line, 30004);
    recs_free(&r);
    free(t);
}

static void test_expect_size(void)
{
    static const char text[] = "a,b\n1,2\n3,4\n";
    char *p = puts_("short.csv", text);
    tdc_csv_options o = {.expect_size = 100};
    recs r;
    td_error e;

    /* shorter than expected and wholly read at open: open fails */
    td_error_clear(&e);
    CU_ASSERT_EQUAL(read_all(p, &o, NULL, false, &r, &e), -EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "truncated"));

    /* bigger than the buffer: rows, then the failure, and never a row cut
     * short by the end of the file */
    size_t n = 0, cap = 1024 * 1024;
    char *t = xmalloc(cap);
    n += (size_t)sprintf(t, "a,b\n");
    while (n < 600 * 1000)
        n += (size_t)sprintf(t + n, "%zu,some text\n", n);
    char *q = put("long.csv", t, n - 5); /* the last row loses its end */
    o.expect_size = (int64_t)n;
    CU_ASSERT_EQUAL_FATAL(read_all(q, &o, NULL, false, &r, &e), 0);
    CU_ASSERT_EQUAL(r.end_rc, -EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "truncated"));
    CU_ASSERT(r.n > 1000);
    for (size_t i = 0; i < r.n; i++)
        CU_ASSERT_EQUAL(r.v[i].nfields, 2);
    CU_ASSERT(r.v[r.n - 1].next_offset <= (int64_t)n - 5);
    recs_free(&r);
    free(q);
    free(t);
    /* never read past the size taken: appended bytes are ignored */
    o.expect_size = 8;
    CU_ASSERT_EQUAL_FATAL(read_all(p, &o, NULL, false, &r, &e), 0);
    CU_ASSERT_EQUAL(r.end_rc, 0);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT(FIELDS(&r.v[0], "1", "2"));
    recs_free(&r);
    free(p);
}

/* Regression (flaky itest_spool_hostile): a file rewritten in place (O_TRUNC)
 * under the reader may be seen empty by the next read; that is a change
 * while being read (-ESTALE), the same as when new bytes are seen, not a
 * truncation. */
static void test_truncated_in_place_is_a_change(void)
{
    size_t n = 0, cap = 1024 * 1024;
    char *t = xmalloc(cap);
    struct stat st;
    tdc_csv *c = NULL;
    tdc_csv_row row;
    td_error e;
    int fd, rc, rows = 0;

    n += (size_t)sprintf(t, "a,b\n");
    while (n < 600 * 1000)
        n += (size_t)sprintf(t + n, "%zu,some text\n", n);
    char *p = put("inplace.csv", t, n);
    fd = open(p, O_RDONLY);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL_FATAL(fstat(fd, &st), 0);
    tdc_csv_options o = {.expect_size = (int64_t)n,
                         .expect_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
                                            st.st_mtim.tv_nsec,
                         .buffer_bytes = 128 * 1024};
    CU_ASSERT_EQUAL_FATAL(tdc_csv_open_fd(fd, "inplace.csv", &o, NULL, &c, &e), 0);
    CU_ASSERT_EQUAL_FATAL(tdc_csv_next(c, &row, &e), 1);
    rows++;
    /* rewritten in place: truncated, nothing written yet */
    int w = open(p, O_WRONLY | O_TRUNC);
    CU_ASSERT_FATAL(w >= 0);
    close(w);
    while ((rc = tdc_csv_next(c, &row, &e)) == 1)
        rows++;
    CU_ASSERT_EQUAL(rc, -ESTALE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "inplace.csv: changed while being read (size "));
    CU_ASSERT_PTR_NULL(strstr(e.msg, "truncated"));
    CU_ASSERT(rows > 1 && (size_t)rows < n / 10);
    tdc_csv_free(c);
    close(fd);
    free(p);
    free(t);
}

/* --- rate --------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void rate_one(const char *label, const char *path, size_t bytes, size_t want_rows)
{
    int fd = open(path, O_RDONLY);
    tdc_csv *c = NULL;
    tdc_csv_row r;
    td_error e;
    size_t rows = 0, fields = 0;
    double t0 = now_s();

    CU_ASSERT_EQUAL_FATAL(tdc_csv_open_fd(fd, label, NULL, NULL, &c, &e), 0);
    while (tdc_csv_next(c, &r, &e) == 1) {
        rows++;
        fields += r.nfields;
    }
    double dt = now_s() - t0;
    CU_ASSERT_EQUAL(rows, want_rows);
    CU_ASSERT_EQUAL(fields, want_rows * 9);
    printf("\n    %s: %zu rows, %.1f MB in %.3f s: %.0f rows/s, %.0f MB/s ", label, rows,
           (double)bytes / 1e6, dt, (double)rows / dt, (double)bytes / 1e6 / dt);
    tdc_csv_free(c);
    close(fd);
}

static void test_parse_rate(void)
{
    const size_t nrows = 500000;
    size_t cap = nrows * 160 + 256, n = 0;
    char *t = xmalloc(cap);

    n += (size_t)sprintf(t, "身份证号,姓名,结算日期,医疗总费用,统筹支付,村代码,就诊类型,医疗机构,备注\n");
    for (size_t i = 0; i < nrows; i++)
        n += (size_t)sprintf(t + n,
                             "4101021990%08zu,张%zu,2023-05-%02zu,%zu.%02zu,%zu.00,41010200%04zu,门诊,"
                             "\"第%zu人民医院, 内科\",\n",
                             i, i % 1000, 1 + i % 28, 100 + i % 9000, i % 100, i % 500, i % 10000,
                             i % 7);
    char *p = put("rate.csv", t, n);
    rate_one("utf-8", p, n, nrows);
    free(p);
    size_t gl;
    char *gb = to_gb18030(t, n, &gl);
    p = put("rate-gb.csv", gb, gl);
    rate_one("gb18030", p, gl, nrows);
    free(p);
    free(gb);
    free(t);
}

static void add_suites(void)
{
    td_test_suite("csv", suite_init, suite_clean);
    TD_TEST(test_quoted_fields);
    TD_TEST(test_line_ends);
    TD_TEST(test_bom);
    TD_TEST(test_blank_lines);
    TD_TEST(test_ragged_rows);
    TD_TEST(test_unterminated_quote);
    TD_TEST(test_stray_quote);
    TD_TEST(test_too_long_resync);
    TD_TEST(test_too_long_then_row);
    TD_TEST(test_invalid_utf8);
    TD_TEST(test_delimiters);
    TD_TEST(test_gb18030);
    TD_TEST(test_gb18030_pipe);
    TD_TEST(test_gb18030_bad_row);
    TD_TEST(test_auto_detect);
    TD_TEST(test_resume_every_boundary);
    TD_TEST(test_random_roundtrip);
    TD_TEST(test_buffer_growth);
    TD_TEST(test_expect_size);
    TD_TEST(test_truncated_in_place_is_a_change);
    TD_TEST(test_hostile_bytes);
    td_test_suite("csv_rate", suite_init, suite_clean);
    TD_TEST(test_parse_rate);
}

TD_TEST_MAIN(add_suites)
