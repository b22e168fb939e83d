/* Hostile files in the spool, against the real broker and the real
 * tuodi-connector program (issue 10): NUL bytes, invalid UTF-8 in a UTF-8
 * spool, GB18030 cut in the middle of a character at the end of the file,
 * and files replaced or rewritten while they are read.
 *
 * For each file: rows in = published + rejected (the log's line and both
 * topics, row by row), every rejected row dead-lettered once with a reason
 * naming FILE:LINE, no valid row lost or repeated, no row of another file
 * published under its name; and the connector keeps running and takes the
 * next file.
 *
 *   itest_spool_hostile
 */
#include "td_kafka.h"
#include "td_test.h"
#include "td_time.h"
#include "tdc_it.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct fixture {
    char *dir;
    char spool[4096];
    char stage[4096];
    char config[4096];
    char log[4096];
    char prefix[256];
    const char *bootstrap;
    pid_t pid;
} fixture;

/* A fixture whose spooldir section gets `extra` (indented lines). */
static int fixture_new(fixture *fx, const char *extra)
{
    char *u = td_test_unique("tdc-hostile");
    char *text = NULL, *at, *out = NULL;
    int rc = -1;

    memset(fx, 0, sizeof(*fx));
    fx->dir = td_test_tmpdir();
    if (!fx->dir || !u)
        goto done;
    snprintf(fx->spool, sizeof(fx->spool), "%s/spool", fx->dir);
    snprintf(fx->stage, sizeof(fx->stage), "%s/stage", fx->dir);
    snprintf(fx->config, sizeof(fx->config), "%s/connector.yaml", fx->dir);
    snprintf(fx->log, sizeof(fx->log), "%s/connector.log", fx->dir);
    snprintf(fx->prefix, sizeof(fx->prefix), "%s", u);
    fx->bootstrap = td_test_bootstrap();
    if (mkdir(fx->spool, 0755) < 0 || mkdir(fx->stage, 0755) < 0 ||
        tdc_it_write_config(fx->config, fx->prefix, fx->bootstrap, fx->spool, fx->prefix, 2000) < 0)
        goto done;
    text = td_test_read_file(fx->config, NULL);
    at = text ? strstr(text, "    poll_interval: 200ms\n") : NULL;
    if (!at)
        goto done;
    at += strlen("    poll_interval: 200ms\n");
    if (asprintf(&out, "%.*s%s%s", (int)(at - text), text, extra, at) < 0)
        goto done;
    rc = td_test_write_file(fx->config, out);
done:
    free(out);
    free(text);
    free(u);
    return rc;
}

static void show_log(const fixture *fx)
{
    char *log = td_test_read_file(fx->log, NULL);
    if (log) {
        size_t len = strlen(log);
        fprintf(stderr, "--- connector log (last 6000 bytes) ---\n%s\n",
                len > 6000 ? log + len - 6000 : log);
        free(log);
    }
}

static void fixture_free(fixture *fx)
{
    if (fx->pid > 0) {
        int st = tdc_it_stop(fx->pid, SIGTERM, 30000);
        CU_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
        if (!(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0))
            show_log(fx);
    }
    if (getenv("TD_KEEP_TMP"))
        fprintf(stderr, "kept %s\n", fx->dir);
    else
        td_test_rmtree(fx->dir);
    free(fx->dir);
}

/* --- files --------------------------------------------------------------- */

/* A department file as lines: lines[0] is the header; what each data line
 * should become. */
enum { WANT_RECORD, WANT_DEAD };

typedef struct want {
    int kind;
    int file, k;     /* WANT_RECORD: record id F<file>R<k> */
    const char *why; /* WANT_DEAD: a word the reason must hold */
} want;

typedef struct dfile {
    char name[128];
    char **line; /* without line ends */
    size_t *len;
    size_t n;     /* lines, header included */
    want *want;   /* [n], want[0] unused */
    bool gb18030;
} dfile;

static void dfile_free(dfile *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->line[i]);
    free(d->line);
    free(d->len);
    free(d->want);
    memset(d, 0, sizeof(*d));
}

/* nrows medical rows of file number file (tdc_it_write_medical's text,
 * split into lines), every one a record. */
static void dfile_medical(const fixture *fx, dfile *d, const char *name, int file, int nrows,
                          bool gb18030)
{
    char path[4200], marker[4300];
    size_t len = 0;
    char *text;

    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "%s", name);
    d->gb18030 = gb18030;
    CU_ASSERT_EQUAL_FATAL(tdc_it_write_medical(fx->stage, name, file, nrows, 0, gb18030), 0);
    snprintf(path, sizeof(path), "%s/%s", fx->stage, name);
    snprintf(marker, sizeof(marker), "%s.done", path);
    text = td_test_read_file(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    unlink(path);
    unlink(marker);
    d->line = calloc((size_t)nrows + 64, sizeof(*d->line));
    d->len = calloc((size_t)nrows + 64, sizeof(*d->len));
    d->want = calloc((size_t)nrows + 64, sizeof(*d->want));
    CU_ASSERT_FATAL(d->line && d->len && d->want);
    for (size_t at = 0; at < len;) {
        const char *e = memchr(text + at, '\n', len - at);
        size_t l = (e ? (size_t)(e - text) : len) - at;
        if (l > 0 && text[at + l - 1] == '\r')
            l--;
        d->line[d->n] = malloc(l + 1);
        memcpy(d->line[d->n], text + at, l);
        d->line[d->n][l] = '\0';
        d->len[d->n] = l;
        if (d->n > 0)
            d->want[d->n] = (want){.kind = WANT_RECORD, .file = file, .k = (int)d->n - 1};
        d->n++;
        at += e ? (size_t)(e - (text + at)) + 1 : len - at;
    }
    CU_ASSERT_EQUAL_FATAL(d->n, (size_t)nrows + 1);
    free(text);
}

/* Puts bytes into data line i (1-based: data row i is line i + 1) right
 * after its first comma, replacing cut bytes there: the 姓名 cell, never
 * the record id at the end. The row must then be dead-lettered. */
static void dfile_spoil(dfile *d, size_t i, const char *bytes, size_t n, size_t cut,
                        const char *why)
{
    char *l = d->line[i], *c = memchr(l, ',', d->len[i]);
    size_t at = (size_t)(c - l) + 1;
    char *nl = malloc(d->len[i] + n + 1);

    CU_ASSERT_FATAL(c != NULL && at + cut <= d->len[i]);
    memcpy(nl, l, at);
    memcpy(nl + at, bytes, n);
    memcpy(nl + at + n, l + at + cut, d->len[i] - at - cut);
    d->len[i] = d->len[i] + n - cut;
    nl[d->len[i]] = '\0';
    free(l);
    d->line[i] = nl;
    d->want[i] = (want){.kind = WANT_DEAD, .why = why};
}

/* Adds a last line (no record id in it) that must be dead-lettered. */
static void dfile_add_dead(dfile *d, const char *bytes, size_t n, const char *why)
{
    d->line[d->n] = malloc(n + 1);
    memcpy(d->line[d->n], bytes, n);
    d->line[d->n][n] = '\0';
    d->len[d->n] = n;
    d->want[d->n] = (want){.kind = WANT_DEAD, .why = why};
    d->n++;
}

/* The file's bytes (CRLF line ends, none after the last line when
 * no_last_eol). */
static char *dfile_bytes(const dfile *d, bool no_last_eol, size_t *ret_len)
{
    size_t cap = 16, n = 0;
    for (size_t i = 0; i < d->n; i++)
        cap += d->len[i] + 2;
    char *b = malloc(cap);
    CU_ASSERT_FATAL(b != NULL);
    for (size_t i = 0; i < d->n; i++) {
        memcpy(b + n, d->line[i], d->len[i]);
        n += d->len[i];
        if (!(no_last_eol && i + 1 == d->n)) {
            b[n++] = '\r';
            b[n++] = '\n';
        }
    }
    *ret_len = n;
    return b;
}

static void write_bytes(const char *path, const char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(b, 1, n, f) == n);
    CU_ASSERT_FATAL(fclose(f) == 0);
}

/* Drops the file into the spool (written aside, renamed in, then marked). */
static void dfile_drop(const fixture *fx, const dfile *d, bool no_last_eol)
{
    char tmp[4300], path[4300];
    size_t n;
    char *b = dfile_bytes(d, no_last_eol, &n);

    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", fx->spool, d->name);
    snprintf(path, sizeof(path), "%s/%s", fx->spool, d->name);
    write_bytes(tmp, b, n);
    CU_ASSERT_FATAL(rename(tmp, path) == 0);
    snprintf(path, sizeof(path), "%s/%s.done", fx->spool, d->name);
    write_bytes(path, "", 0);
    free(b);
}

/* --- what the topics hold ----------------------------------------------- */

typedef struct dead {
    char loc[256];
    int64_t row, line;
    char reason[1024];
} dead;

typedef struct deads {
    dead *v;
    size_t n, cap;
    int64_t bad_headers;
} deads;

static bool header(rd_kafka_headers_t *h, const char *key, char *buf, size_t size)
{
    const void *v;
    size_t vl;
    if (rd_kafka_header_get_last(h, key, &v, &vl) != 0 || vl >= size)
        return false;
    memcpy(buf, v, vl);
    buf[vl] = '\0';
    return true;
}

/* Every dead letter of topic (read_committed, to its end). 0 or -1. */
static int read_dead(const fixture *fx, deads *out)
{
    char topic[300], group[128];
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    td_error err = {0};
    int nparts = 0, eof = 0, rc = -1;
    int64_t until = td_time_mono_ms() + 60000;

    memset(out, 0, sizeof(*out));
    snprintf(topic, sizeof(topic), "%s.dlq", fx->prefix);
    snprintf(group, sizeof(group), "tdc-hostile-%d", (int)getpid());
    if (td_kafka_consumer_conf_new(fx->bootstrap, group, NULL, &conf, &err) < 0 ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0) != RD_KAFKA_CONF_OK ||
        td_kafka_new(RD_KAFKA_CONSUMER, conf, &rk, &err) < 0) {
        fprintf(stderr, "read_dead: %s\n", err.msg);
        return -1;
    }
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != 0 || md->topic_cnt != 1 ||
        md->topics[0].err) {
        fprintf(stderr, "read_dead: no metadata for %s\n", topic);
        goto out;
    }
    nparts = md->topics[0].partition_cnt;
    parts = rd_kafka_topic_partition_list_new(nparts);
    for (int i = 0; i < nparts; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, parts);
    while (eof < nparts && td_time_mono_ms() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        rd_kafka_headers_t *h = NULL;
        char num[32], lnum[32];
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eof++;
        } else if (!m->err) {
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 64;
                out->v = realloc(out->v, out->cap * sizeof(*out->v));
                CU_ASSERT_FATAL(out->v != NULL);
            }
            dead *d = &out->v[out->n];
            memset(d, 0, sizeof(*d));
            if (rd_kafka_message_headers(m, &h) == 0 &&
                header(h, "tuodi.location", d->loc, sizeof(d->loc)) &&
                header(h, "tuodi.row", num, sizeof(num)) &&
                header(h, "tuodi.line", lnum, sizeof(lnum)) &&
                header(h, "tuodi.reason", d->reason, sizeof(d->reason))) {
                d->row = atoll(num);
                d->line = atoll(lnum);
                out->n++;
            } else {
                out->bad_headers++;
            }
        }
        rd_kafka_message_destroy(m);
    }
    rc = eof == nparts ? 0 : -1;
out:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    td_kafka_destroy(rk);
    return rc;
}

/* Checks the topics against the files: every line once, as it should be;
 * records of `foreign` file numbers (files never taken under these names)
 * nowhere. Then the log's line per file. */
static void verify(const fixture *fx, dfile *const *files, size_t nfiles)
{
    tdc_it_seen rec;
    deads dl;
    char topic[300], schemas[4096];
    int64_t want_rec = 0, want_dead = 0;
    char *log;

    snprintf(schemas, sizeof(schemas), "%s/schemas", td_test_source_root());
    snprintf(topic, sizeof(topic), "%s.records", fx->prefix);
    CU_ASSERT_EQUAL_FATAL(tdc_it_read(fx->bootstrap, topic, false, schemas, &rec), 0);
    CU_ASSERT_EQUAL_FATAL(read_dead(fx, &dl), 0);
    CU_ASSERT_EQUAL(rec.unparsed, 0);
    CU_ASSERT_EQUAL(dl.bad_headers, 0);
    log = td_test_read_file(fx->log, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);

    for (size_t f = 0; f < nfiles; f++) {
        const dfile *d = files[f];
        int64_t rows = (int64_t)d->n - 1, published = 0, rejected = 0, wrong = 0;
        for (size_t i = 1; i < d->n; i++) {
            const want *w = &d->want[i];
            int64_t row = (int64_t)i + 1; /* header = row 1; no multi-line rows */
            size_t hits = 0;
            for (size_t j = 0; j < dl.n; j++) {
                if (strcmp(dl.v[j].loc, d->name) != 0 || dl.v[j].row != row)
                    continue;
                char pfx[300];
                hits++;
                snprintf(pfx, sizeof(pfx), "%s:%lld: ", d->name, (long long)row);
                if (w->kind != WANT_DEAD || dl.v[j].line != row ||
                    strncmp(dl.v[j].reason, pfx, strlen(pfx)) != 0 || !strstr(dl.v[j].reason, w->why)) {
                    fprintf(stderr, "\n    %s row %lld: dead letter \"%s\" (line %lld), want %s%s\n",
                            d->name, (long long)row, dl.v[j].reason, (long long)dl.v[j].line,
                            w->kind == WANT_DEAD ? "a reason with " : "a record",
                            w->kind == WANT_DEAD ? w->why : "");
                    wrong++;
                }
            }
            rejected += (int64_t)hits;
            if (w->kind == WANT_RECORD) {
                uint8_t c = rec.count[(size_t)w->file * TDC_IT_MAX_ROWS + (size_t)w->k];
                published += c;
                if (c != 1 || hits != 0) {
                    if (wrong < 5)
                        fprintf(stderr, "\n    %s row %lld: %u records, %zu dead letters, want 1 record\n",
                                d->name, (long long)row, c, hits);
                    wrong++;
                }
                want_rec++;
            } else {
                want_dead++;
                if (hits != 1) {
                    fprintf(stderr, "\n    %s row %lld: %zu dead letters, want 1\n", d->name,
                            (long long)row, hits);
                    wrong++;
                }
            }
        }
        char line[512];
        snprintf(line, sizeof(line), "%s: %lld rows read (from row 2) = %lld published + %lld rejected",
                 d->name, (long long)rows, (long long)published, (long long)rejected);
        printf("\n    %s%s", line, wrong ? "  WRONG" : "");
        CU_ASSERT_EQUAL(wrong, 0);
        CU_ASSERT_EQUAL(published + rejected, rows);
        if (!strstr(log, line)) {
            fprintf(stderr, "\n    log lacks \"%s\"\n", line);
            CU_FAIL("the log's rows read = published + rejected line");
        }
    }
    printf("\n    records %lld (want %lld), dead letters %zu (want %lld)\n", (long long)rec.total,
           (long long)want_rec, dl.n, (long long)want_dead);
    CU_ASSERT_EQUAL(rec.total, want_rec);
    CU_ASSERT_EQUAL((int64_t)dl.n, want_dead);
    CU_ASSERT_PTR_NULL(strstr(log, "please report"));
    free(log);
    free(dl.v);
    tdc_it_seen_free(&rec);
}

static bool exists_in(const fixture *fx, const char *sub, const char *name)
{
    char p[4500];
    snprintf(p, sizeof(p), "%s/%s/%s", fx->spool, sub, name);
    return access(p, F_OK) == 0;
}

static bool wait_for(const fixture *fx, const char *sub, const char *name, int timeout_ms)
{
    int64_t until = td_time_mono_ms() + timeout_ms;
    do {
        if (exists_in(fx, sub, name))
            return true;
        usleep(20000);
    } while (td_time_mono_ms() < until);
    return false;
}

/* Waits until the connector's log holds what. */
static bool log_has(const fixture *fx, const char *what, int timeout_ms)
{
    int64_t until = td_time_mono_ms() + timeout_ms;
    do {
        char *log = td_test_read_file(fx->log, NULL);
        bool found = log && strstr(log, what);
        free(log);
        if (found)
            return true;
        usleep(50000);
    } while (td_time_mono_ms() < until);
    return false;
}

static char *read_in(const fixture *fx, const char *sub, const char *name)
{
    char p[4500];
    snprintf(p, sizeof(p), "%s/%s/%s", fx->spool, sub, name);
    return td_test_read_file(p, NULL);
}

static void start(fixture *fx)
{
    fx->pid = tdc_it_spawn(fx->config, fx->log);
    CU_ASSERT_FATAL(fx->pid > 0);
}

/* The connector is alive and takes one more good file. */
static void takes_next(fixture *fx, dfile *next)
{
    int st;
    dfile_drop(fx, next, false);
    char line[300];
    snprintf(line, sizeof(line), "%s: %zu rows read", next->name, next->n - 1);
    if (!wait_for(fx, "finished", next->name, 60000) || !log_has(fx, line, 10000)) {
        show_log(fx);
        CU_FAIL("the next file was not taken");
    }
    CU_ASSERT_EQUAL(waitpid(fx->pid, &st, WNOHANG), 0);
}

/* --- the tests ----------------------------------------------------------- */

/* NUL bytes and invalid UTF-8 in a UTF-8 spool. */
static void test_nul_and_bad_utf8(void)
{
    fixture fx;
    dfile nul, bad, next;

    CU_ASSERT_EQUAL_FATAL(fixture_new(&fx, "    encoding: utf-8\n"), 0);
    start(&fx);

    dfile_medical(&fx, &nul, "nul.csv", 0, 300, false);
    dfile_spoil(&nul, 5, "\0", 1, 0, "NUL byte");                 /* one NUL in a cell */
    dfile_spoil(&nul, 77, "\0\0\0\0\0\0\0\0", 8, 3, "NUL byte"); /* NULs over a character */
    dfile_spoil(&nul, 300, "a\0b", 3, 0, "NUL byte");            /* the last row */
    dfile_add_dead(&nul, "\0\0\0\0,\0\0", 7, "NUL byte");         /* a line of NULs */
    dfile_drop(&fx, &nul, false);

    dfile_medical(&fx, &bad, "bad-utf8.csv", 1, 300, false);
    dfile_spoil(&bad, 3, "\xff", 1, 0, "not valid UTF-8");            /* never valid */
    dfile_spoil(&bad, 40, "\xc0\xaf", 2, 0, "not valid UTF-8");       /* overlong '/' */
    dfile_spoil(&bad, 41, "\xed\xa0\x80", 3, 0, "not valid UTF-8");   /* a surrogate */
    dfile_spoil(&bad, 150, "\xe5\xbc", 2, 3, "not valid UTF-8");      /* 张 cut: 2 of 3 bytes */
    dfile_spoil(&bad, 151, "\xd5\xc5", 2, 3, "not valid UTF-8");      /* 张 in GB18030 */
    dfile_spoil(&bad, 299, "\xf4\x90\x80\x80", 4, 0, "not valid UTF-8"); /* above U+10FFFF */
    dfile_add_dead(&bad, "\xe5\xbc", 2, "not valid UTF-8");           /* cut at the very end */
    dfile_drop(&fx, &bad, true);

    {
        /* NULs everywhere: a UTF-16LE export. No header can be read: the
         * file goes to error/ with its reason, no row of it anywhere */
        const char *text = "\xff\xfeid,name\r\n1,a\r\n2,b\r\n";
        char u16[128], path[4300];
        size_t n = 0;
        for (size_t i = 0; text[i]; i++) {
            u16[n++] = text[i];
            if (i >= 2)
                u16[n++] = '\0';
        }
        snprintf(path, sizeof(path), "%s/.utf16.csv.tmp", fx.spool);
        write_bytes(path, u16, n);
        char to[4300];
        snprintf(to, sizeof(to), "%s/utf16.csv", fx.spool);
        CU_ASSERT_FATAL(rename(path, to) == 0);
        snprintf(path, sizeof(path), "%s/utf16.csv.done", fx.spool);
        write_bytes(path, "", 0);
    }

    const char *names[] = {"nul.csv", "bad-utf8.csv"};
    if (!tdc_it_wait_finished(fx.spool, names, 2, 60000) ||
        !wait_for(&fx, "error", "utf16.csv.error.txt", 60000)) {
        show_log(&fx);
        CU_FAIL("files not finished");
    }
    {
        char *txt = read_in(&fx, "error", "utf16.csv.error.txt");
        CU_ASSERT_PTR_NOT_NULL_FATAL(txt);
        printf("\n    utf16.csv.error.txt:\n%s", txt);
        CU_ASSERT_PTR_NOT_NULL(strstr(txt, "reason: utf16.csv:1: "));
        CU_ASSERT_PTR_NOT_NULL(strstr(txt, "moved to: "));
        CU_ASSERT_PTR_NOT_NULL(strstr(txt, "rows read: none"));
        CU_ASSERT(exists_in(&fx, "error", "utf16.csv"));
        free(txt);
        /* the log names it (it said "(empty file)" for a file without rows) */
        CU_ASSERT(log_has(&fx, "utf16.csv: 0 rows read", 10000));
        CU_ASSERT(log_has(&fx, "utf16.csv ended in error: reason: utf16.csv:1: ", 10000));
    }
    dfile_medical(&fx, &next, "next.csv", 2, 50, false);
    takes_next(&fx, &next);
    dfile *all[] = {&nul, &bad, &next};
    verify(&fx, all, 3);
    dfile_free(&nul);
    dfile_free(&bad);
    dfile_free(&next);
    fixture_free(&fx);
}

/* GB18030 files (encoding: auto) that end in the middle of a character: a
 * two-byte one and a four-byte one. */
static void test_gb18030_cut(void)
{
    fixture fx;
    dfile cut2, cut4, next;

    CU_ASSERT_EQUAL_FATAL(fixture_new(&fx, ""), 0);
    start(&fx);

    dfile_medical(&fx, &cut2, "gb-cut2.csv", 3, 200, true);
    {
        /* the last row, cut after the first byte of the surname (two bytes) */
        char last[256];
        size_t n = cut2.len[200];
        memcpy(last, cut2.line[200], n);
        char *c = memchr(last, ',', n);
        CU_ASSERT_FATAL(c && (unsigned char)c[1] >= 0x81); /* a surname's lead byte */
        dfile_add_dead(&cut2, last, (size_t)(c - last) + 2, "not valid GB18030");
    }
    dfile_drop(&fx, &cut2, true);

    dfile_medical(&fx, &cut4, "gb-cut4.csv", 4, 200, true);
    {
        /* the last row ends with the first two bytes of a four-byte character */
        char last[256];
        size_t n = cut4.len[200];
        memcpy(last, cut4.line[200], n);
        char *c = memchr(last, ',', n);
        memcpy(c + 1, "\x81\x30", 2);
        dfile_add_dead(&cut4, last, (size_t)(c - last) + 3, "not valid GB18030");
    }
    dfile_drop(&fx, &cut4, true);

    const char *names[] = {"gb-cut2.csv", "gb-cut4.csv"};
    if (!tdc_it_wait_finished(fx.spool, names, 2, 60000)) {
        show_log(&fx);
        CU_FAIL("files not finished");
    }
    dfile_medical(&fx, &next, "next.csv", 5, 50, true);
    takes_next(&fx, &next);
    dfile *all[] = {&cut2, &cut4, &next};
    verify(&fx, all, 3);
    dfile_free(&cut2);
    dfile_free(&cut4);
    dfile_free(&next);
    fixture_free(&fx);
}

/* Waits until name is being read (taken into processing/). */
static bool wait_reading(const fixture *fx, const char *name, int timeout_ms)
{
    return wait_for(fx, "processing", name, timeout_ms);
}

/* Files replaced or removed while they are read: renamed over in
 * processing/ (a new inode), and unlinked. */
static void test_replaced_while_read(void)
{
    fixture fx;
    dfile old, repl, next;
    char path[4300], tmp[4300];
    size_t n;
    char *b, *txt;

    CU_ASSERT_EQUAL_FATAL(fixture_new(&fx, "    encoding: utf-8\n"), 0);
    start(&fx);

    /* renamed over: the open descriptor still reads the old file to its
     * end; the new one is then read as a file of its own */
    dfile_medical(&fx, &old, "swap.csv", 6, 150000, false);
    dfile_medical(&fx, &repl, "swap.csv", 7, 1000, false);
    b = dfile_bytes(&repl, false, &n);
    snprintf(tmp, sizeof(tmp), "%s/.swap.new", fx.spool);
    write_bytes(tmp, b, n);
    free(b);
    dfile_drop(&fx, &old, false);
    CU_ASSERT_FATAL(wait_reading(&fx, "swap.csv", 30000));
    usleep(100 * 1000); /* opened and being read (150,000 rows take over a second) */
    snprintf(path, sizeof(path), "%s/processing/swap.csv", fx.spool);
    CU_ASSERT_FATAL(rename(tmp, path) == 0);
    if (!wait_for(&fx, "error", "swap.csv.error.txt", 60000) ||
        !wait_for(&fx, "finished", "swap.csv", 60000)) {
        show_log(&fx);
        CU_FAIL_FATAL("swap.csv: no error.txt, or its replacement not finished");
    }
    CU_ASSERT(!exists_in(&fx, "error", "swap.csv"));
    txt = read_in(&fx, "error", "swap.csv.error.txt");
    CU_ASSERT_PTR_NOT_NULL(txt);
    if (txt) {
        printf("\n    swap.csv.error.txt:\n%s", txt);
        CU_ASSERT_PTR_NULL(strstr(txt, "moved to:"));
        CU_ASSERT_PTR_NOT_NULL(strstr(txt, "not moved: it is no longer in "));
        CU_ASSERT_PTR_NOT_NULL(strstr(txt, "another file of the same name took its place"));
        CU_ASSERT_PTR_NOT_NULL(strstr(txt, "rows read: 2 to 150001 "));
        CU_ASSERT_PTR_NOT_NULL(strstr(txt, "this run: rows 2 to 150001: 150000 published, 0 dead-lettered"));
        CU_ASSERT_PTR_NOT_NULL(strstr(txt, "not read: nothing"));
    }
    free(txt);

    /* removed while it is read: read to its end all the same, nothing
     * moved, and error.txt says so */
    dfile gone;
    dfile_medical(&fx, &gone, "gone.csv", 12, 100000, false);
    dfile_drop(&fx, &gone, false);
    CU_ASSERT_FATAL(wait_reading(&fx, "gone.csv", 30000));
    usleep(100 * 1000);
    snprintf(path, sizeof(path), "%s/processing/gone.csv", fx.spool);
    CU_ASSERT_FATAL(unlink(path) == 0);
    if (!wait_for(&fx, "error", "gone.csv.error.txt", 60000)) {
        show_log(&fx);
        CU_FAIL_FATAL("gone.csv: no error.txt");
    }
    CU_ASSERT(!exists_in(&fx, "error", "gone.csv"));
    txt = read_in(&fx, "error", "gone.csv.error.txt");
    CU_ASSERT_PTR_NOT_NULL(txt);
    if (txt) {
        printf("\n    gone.csv.error.txt:\n%s", txt);
        CU_ASSERT_PTR_NULL(strstr(txt, "moved to:"));
        CU_ASSERT_PTR_NOT_NULL(strstr(txt, "not moved: it is no longer in "));
        CU_ASSERT_PTR_NOT_NULL(strstr(txt, "it was removed or renamed while it was read"));
        CU_ASSERT_PTR_NOT_NULL(strstr(txt, "this run: rows 2 to 100001: 100000 published, 0 dead-lettered"));
        CU_ASSERT_PTR_NOT_NULL(strstr(txt, "not read: nothing"));
    }
    free(txt);

    dfile_medical(&fx, &next, "next.csv", 8, 50, false);
    takes_next(&fx, &next);
    {
        /* both swap.csv are checked: the first by its records, the second
         * (read as a new file, the log's second line for the name) too */
        dfile *all[] = {&old, &repl, &gone, &next};
        verify(&fx, all, 4);
    }
    dfile_free(&gone);
    dfile_free(&old);
    dfile_free(&repl);
    dfile_free(&next);
    fixture_free(&fx);
}

/* Rewritten in place (cp over it: the same inode, truncated, other rows
 * written) while it is read: no row of the new content may be published
 * as a row of the old one; the rows read before the change count, the
 * unit ends in ERROR with a true error.txt. */
static void test_rewritten_while_read(void)
{
    fixture fx;
    dfile old, other, next;
    char path[4300];
    size_t n;
    char *b, *txt;
    tdc_it_seen rec;
    char topic[300], schemas[4096];

    CU_ASSERT_EQUAL_FATAL(fixture_new(&fx, "    encoding: utf-8\n"), 0);
    start(&fx);
    dfile_medical(&fx, &old, "rw.csv", 9, 150000, false);
    dfile_medical(&fx, &other, "rw.csv", 10, 150000, false);
    dfile_drop(&fx, &old, false);
    CU_ASSERT_FATAL(wait_reading(&fx, "rw.csv", 30000));
    usleep(100 * 1000); /* opened and being read (150,000 rows take over a second) */
    b = dfile_bytes(&other, false, &n);
    snprintf(path, sizeof(path), "%s/processing/rw.csv", fx.spool);
    write_bytes(path, b, n); /* fopen "wb": O_TRUNC, the same inode */
    free(b);
    if (!wait_for(&fx, "error", "rw.csv.error.txt", 60000)) {
        show_log(&fx);
        CU_FAIL_FATAL("rw.csv: no error.txt");
    }
    CU_ASSERT(exists_in(&fx, "error", "rw.csv"));
    txt = read_in(&fx, "error", "rw.csv.error.txt");
    CU_ASSERT_PTR_NOT_NULL_FATAL(txt);
    printf("\n    rw.csv.error.txt:\n%s", txt);
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "reason: rw.csv: changed while being read (size "));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "moved to: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "is the file as it is now"));

    dfile_medical(&fx, &next, "next.csv", 11, 50, false);
    takes_next(&fx, &next);

    snprintf(schemas, sizeof(schemas), "%s/schemas", td_test_source_root());
    snprintf(topic, sizeof(topic), "%s.records", fx.prefix);
    CU_ASSERT_EQUAL_FATAL(tdc_it_read(fx.bootstrap, topic, false, schemas, &rec), 0);
    {
        int64_t of_new = 0, prefix = 0, twice = 0, holes = 0;
        for (int k = 0; k < 150000; k++)
            of_new += rec.count[(size_t)10 * TDC_IT_MAX_ROWS + (size_t)k];
        while (prefix < 150000 && rec.count[(size_t)9 * TDC_IT_MAX_ROWS + (size_t)prefix] == 1)
            prefix++;
        for (int k = 0; k < 150000; k++) {
            uint8_t c = rec.count[(size_t)9 * TDC_IT_MAX_ROWS + (size_t)k];
            twice += c > 1;
            holes += k > prefix && c > 0;
        }
        printf("\n    rw.csv: the first %lld rows published once; rows of the new content "
               "published under its name: %lld; repeated %lld, after a gap %lld\n",
               (long long)prefix, (long long)of_new, (long long)twice, (long long)holes);
        CU_ASSERT(prefix > 0);
        CU_ASSERT_EQUAL(of_new, 0);
        {
            /* error.txt and the log tell the same rows: 2 to prefix + 1 */
            char line[256];
            snprintf(line, sizeof(line), "rows read: 2 to %lld ", (long long)prefix + 1);
            CU_ASSERT_PTR_NOT_NULL(strstr(txt, line));
            snprintf(line, sizeof(line), "this run: rows 2 to %lld: %lld published, 0 dead-lettered",
                     (long long)prefix + 1, (long long)prefix);
            CU_ASSERT_PTR_NOT_NULL(strstr(txt, line));
            snprintf(line, sizeof(line), "rw.csv: %lld rows read (from row 2) = %lld published + 0 rejected",
                     (long long)prefix, (long long)prefix);
            CU_ASSERT(log_has(&fx, line, 10000));
        }
        CU_ASSERT_EQUAL(twice, 0);
        CU_ASSERT_EQUAL(holes, 0);
        CU_ASSERT_EQUAL(rec.count[(size_t)11 * TDC_IT_MAX_ROWS], 1); /* next.csv */
    }
    tdc_it_seen_free(&rec);
    free(txt);
    {
        char *log = td_test_read_file(fx.log, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(log);
        CU_ASSERT_PTR_NULL(strstr(log, "please report"));
        CU_ASSERT_PTR_NOT_NULL(strstr(log, "rw.csv ended in error"));
        free(log);
    }
    dfile_free(&old);
    dfile_free(&other);
    dfile_free(&next);
    fixture_free(&fx);
}

static void add_suites(void)
{
    td_test_suite("spool_hostile", NULL, NULL);
    TD_TEST(test_nul_and_bad_utf8);
    TD_TEST(test_gb18030_cut);
    TD_TEST(test_replaced_while_read);
    TD_TEST(test_rewritten_while_read);
}

TD_TEST_MAIN(add_suites)
