/* Tests of the spooldir source: readiness, order, moves, name clashes,
 * resume at committed positions (the #190 re-emit regression), restarts of
 * uncommitted files, files changed under us, and the count invariant. */
#include "tdc_spooldir.h"

#include "td_config.h"
#include "td_log.h"
#include "td_test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort();
    return p;
}

static char *root;
static char in[1024];
static int64_t g_now;

static int64_t test_clock(void *opaque)
{
    (void)opaque;
    return g_now;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int t_init(void)
{
    return 0;
}

static int t_clean(void)
{
    return 0;
}

/* A fresh directory tree per test. */
static void fresh(void)
{
    if (root) {
        td_test_rmtree(root);
        free(root);
    }
    root = td_test_tmpdir();
    CU_ASSERT_FATAL(root != NULL);
    snprintf(in, sizeof(in), "%s/in", root);
    CU_ASSERT_FATAL(mkdir(in, 0750) == 0);
    g_now = wall_ns();
}

static char *path_of(const char *sub, const char *name)
{
    char *p;
    CU_ASSERT_FATAL(asprintf(&p, "%s/%s%s%s", in, sub, *sub ? "/" : "", name) > 0);
    return p;
}

static bool exists(const char *sub, const char *name)
{
    char *p = path_of(sub, name);
    bool r = access(p, F_OK) == 0;
    free(p);
    return r;
}

static size_t count_files(const char *sub)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "find '%s/%s' -maxdepth 1 -type f | wc -l", in, sub);
    FILE *f = popen(cmd, "r");
    size_t n = 0;
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(fscanf(f, "%zu", &n) == 1);
    pclose(f);
    return n;
}

static void put_bytes(const char *sub, const char *name, const char *data, size_t len)
{
    char *p = path_of(sub, name);
    FILE *f = fopen(p, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(data, 1, len, f) == len);
    CU_ASSERT_FATAL(fclose(f) == 0);
    free(p);
}

/* Drops name into input (with its marker when marker). */
static void drop(const char *name, const char *text, bool marker)
{
    put_bytes("", name, text, strlen(text));
    if (marker) {
        char m[512];
        snprintf(m, sizeof(m), "%s.done", name);
        put_bytes("", m, "", 0);
    }
}

static tdc_source *make(const char *extra)
{
    struct tdc_spooldir_config cfg = {0};
    tdc_source *src = NULL;
    td_error e;
    char *yaml;

    bool own_poll = extra && strstr(extra, "poll_interval");
    CU_ASSERT_FATAL(asprintf(&yaml, "input_dir: %s\n%s%s", in,
                             own_poll ? "" : "poll_interval: 10ms\n", extra ? extra : "") > 0);
    td_error_clear(&e);
    int rc = td_config_load_string(tdc_spooldir_config_table, "test.yaml", yaml, &cfg, &e);
    if (rc)
        fprintf(stderr, "config: %s\n", e.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    rc = tdc_spooldir_new(&cfg, &src, &e);
    if (rc)
        fprintf(stderr, "new: %s\n", e.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    td_config_free(tdc_spooldir_config_table, &cfg);
    free(yaml);
    tdc_spooldir_set_clock(src, test_clock, NULL);
    return src;
}

typedef struct got {
    char unit[TDC_UNIT_MAX];
    int64_t row, line;
    size_t nfields, ncolumns;
    char f0[64], f1[64];
    bool bad;
    tdc_position after;
} got;

/* One next(); on a row, fills g. IDLE advances the test clock by 1 s. */
static int step(tdc_source *src, got *g)
{
    tdc_row r;
    td_error e;
    int rc;

    td_error_clear(&e);
    memset(&r, 0xA5, sizeof(r)); /* what the caller's stack held: every field is set */
    rc = tdc_source_next(src, &r, &e);
    if (rc < 0)
        fprintf(stderr, "next: %s\n", e.msg);
    CU_ASSERT_FATAL(rc >= 0);
    if (rc == TDC_NEXT_IDLE)
        g_now += 1000000000;
    if (rc != TDC_NEXT_ROW || !g)
        return rc;
    memset(g, 0, sizeof(*g));
    snprintf(g->unit, sizeof(g->unit), "%s", r.unit);
    g->row = r.row;
    g->line = r.line;
    g->nfields = r.nfields;
    g->ncolumns = r.ncolumns;
    if (r.nfields > 0)
        snprintf(g->f0, sizeof(g->f0), "%s", r.fields[0]);
    if (r.nfields > 1)
        snprintf(g->f1, sizeof(g->f1), "%s", r.fields[1]);
    g->bad = tdc_spooldir_row_error(src) != NULL;
    CU_ASSERT_EQUAL(g->bad, r.nfields == 0);
    CU_ASSERT_EQUAL(r.raw[r.raw_len], '\0');
    g->after = r.after;
    /* a file's row is never a delete (read as bytes: a garbage bool is UB) */
    unsigned char deleted;
    memcpy(&deleted, &r.deleted, 1);
    CU_ASSERT_EQUAL(deleted, 0);
    CU_ASSERT_EQUAL(r.after.kind, TDC_POSITION_SPOOLDIR);
    CU_ASSERT_EQUAL(r.after.state, TDC_FILE_IN_PROGRESS);
    CU_ASSERT_EQUAL(r.after.next_row, r.row + 1);
    CU_ASSERT_STRING_EQUAL(r.after.file_name, r.unit);
    return rc;
}

/* One next() without moving the clock; returns its code. */
static int peek(tdc_source *src)
{
    tdc_row r;
    return tdc_source_next(src, &r, NULL);
}

/* Rows until END_UNIT (IDLE is retried a few times). Returns the count. */
static size_t read_unit(tdc_source *src, got *rows, size_t max, tdc_position *end)
{
    size_t n = 0;
    int idle = 0;
    got g;

    for (;;) {
        int rc = step(src, &g);
        if (rc == TDC_NEXT_ROW) {
            if (n < max)
                rows[n] = g;
            n++;
        } else if (rc == TDC_NEXT_END_UNIT) {
            tdc_source_position(src, end);
            return n;
        } else {
            CU_ASSERT_FATAL(++idle < 50);
        }
    }
}

static void commit(tdc_source *src)
{
    tdc_position p;
    td_error e;

    tdc_source_position(src, &p);
    td_error_clear(&e);
    int rc = tdc_source_committed(src, &p, &e);
    if (rc)
        fprintf(stderr, "committed: %s\n", e.msg);
    CU_ASSERT_EQUAL(rc, 0);
}

/* The text of in/<sub>/<name> (freed by the caller), or NULL. */
static char *read_in(const char *sub, const char *name)
{
    char *p = path_of(sub, name);
    char *t = td_test_read_file(p, NULL);
    free(p);
    return t;
}

static bool lacks(const char *text, const char *what)
{
    bool r = text && !strstr(text, what);
    if (!r)
        fprintf(stderr, "\n    \"%s\" should not be in:\n%s\n", what, text ? text : "(no text)");
    return r;
}

static bool has(const char *text, const char *what)
{
    bool r = text && strstr(text, what);
    if (!r)
        fprintf(stderr, "\n    missing \"%s\" in:\n%s\n", what, text ? text : "(no text)");
    return r;
}

static int idle_steps(tdc_source *src, int n)
{
    int rows = 0;
    for (int i = 0; i < n; i++)
        if (step(src, NULL) != TDC_NEXT_IDLE)
            rows++;
    return rows;
}

static const char *const ten =
    "id,name\n1,a\n2,b\n3,c\n4,d\n5,e\n6,f\n7,g\n8,h\n9,i\n10,j\n";

/* --- taking files ------------------------------------------------------- */

static void test_name_order(void)
{
    fresh();
    drop("b.csv", "id\nb1\n", true);
    drop("c.csv", "id\nc1\n", true);
    drop("a.csv", "id\na1\n", true);
    drop("not-a-csv.txt", "id\n", true);
    drop(".hidden.csv", "id\n", true);
    tdc_source *src = make(NULL);
    const char *want[] = {"a.csv", "b.csv", "c.csv"};
    for (int i = 0; i < 3; i++) {
        got rows[4];
        tdc_position end;
        CU_ASSERT_EQUAL_FATAL(read_unit(src, rows, 4, &end), 1);
        CU_ASSERT_STRING_EQUAL(rows[0].unit, want[i]);
        CU_ASSERT_EQUAL(rows[0].row, 2);
        CU_ASSERT_EQUAL(end.state, TDC_FILE_FINISHED);
        CU_ASSERT_STRING_EQUAL(end.file_name, want[i]);
        /* nothing more until the end is committed */
        CU_ASSERT_EQUAL(idle_steps(src, 3), 0);
        CU_ASSERT(exists("processing", want[i]));
        commit(src);
        CU_ASSERT(exists("finished", want[i]));
        CU_ASSERT(!exists("processing", want[i]));
    }
    CU_ASSERT_EQUAL(idle_steps(src, 3), 0);
    CU_ASSERT(exists("", "not-a-csv.txt"));
    CU_ASSERT(exists("", ".hidden.csv"));
    CU_ASSERT(!exists("", "a.csv.done")); /* markers removed with their files */
    CU_ASSERT_EQUAL(count_files("finished"), 3);
    CU_ASSERT_EQUAL(count_files("processing"), 0);
    tdc_source_free(src);
}

static void test_marker_readiness(void)
{
    got g;

    fresh();
    drop("x.csv", ten, false);
    tdc_source *src = make(NULL);
    CU_ASSERT_EQUAL(idle_steps(src, 5), 0);
    CU_ASSERT(exists("", "x.csv"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tdc_source_status(src), "not ready"));
    put_bytes("", "x.csv.done", "", 0);
    int rc;
    while ((rc = step(src, &g)) == TDC_NEXT_IDLE)
        ;
    CU_ASSERT_EQUAL(rc, TDC_NEXT_ROW);
    CU_ASSERT_STRING_EQUAL(g.f0, "1");
    CU_ASSERT(!exists("", "x.csv"));
    CU_ASSERT(!exists("", "x.csv.done"));
    CU_ASSERT(exists("processing", "x.csv"));
    CU_ASSERT(!exists("processing", "x.csv.done"));
    tdc_source_free(src);
}

static void test_age_readiness(void)
{
    struct stat st;
    got g;

    fresh();
    drop("x.csv", ten, false);
    char *p = path_of("", "x.csv");
    CU_ASSERT_FATAL(stat(p, &st) == 0);
    int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    tdc_source *src = make("ready: age\nmin_age: 10s\n");

    g_now = mt + 1000000000LL; /* 1 s old: too young */
    CU_ASSERT_EQUAL(peek(src), TDC_NEXT_IDLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(tdc_source_status(src), "too young"));
    g_now = mt + 9000000000LL;
    CU_ASSERT_EQUAL(peek(src), TDC_NEXT_IDLE);
    CU_ASSERT(exists("", "x.csv"));
    g_now = mt + 11000000000LL; /* old enough and unchanged since the last scan */
    CU_ASSERT_EQUAL(step(src, &g), TDC_NEXT_ROW);
    CU_ASSERT_STRING_EQUAL(g.unit, "x.csv");
    tdc_source_free(src);

    /* an old mtime (a copier that keeps it) but still growing: not taken
     * until two scans see the same size */
    fresh();
    drop("y.csv", "id\n1\n", false);
    p = (free(p), path_of("", "y.csv"));
    struct timespec old[2] = {{.tv_sec = time(NULL) - 3600}, {.tv_sec = time(NULL) - 3600}};
    CU_ASSERT_FATAL(utimensat(AT_FDCWD, p, old, 0) == 0);
    src = make("ready: age\nmin_age: 10s\n");
    g_now = wall_ns();
    CU_ASSERT_EQUAL(step(src, NULL), TDC_NEXT_IDLE); /* first sight */
    FILE *f = fopen(p, "ab");
    fputs("2\n", f);
    fclose(f);
    CU_ASSERT_FATAL(utimensat(AT_FDCWD, p, old, 0) == 0);
    CU_ASSERT_EQUAL(step(src, NULL), TDC_NEXT_IDLE); /* size changed */
    CU_ASSERT_EQUAL(step(src, &g), TDC_NEXT_ROW);    /* stable now */
    CU_ASSERT_STRING_EQUAL(g.f0, "1");
    tdc_source_free(src);
    free(p);
}

/* --- moves -------------------------------------------------------------- */

static void test_finished_and_error(void)
{
    got rows[16];
    tdc_position end;

    fresh();
    drop("a-good.csv", ten, true);
    drop("b-empty.csv", "", true);
    tdc_source *src = make(NULL);
    CU_ASSERT_EQUAL(read_unit(src, rows, 16, &end), 10);
    CU_ASSERT_EQUAL(end.state, TDC_FILE_FINISHED);
    CU_ASSERT_EQUAL(end.next_byte_offset, (int64_t)strlen(ten));
    CU_ASSERT_EQUAL(end.size, (int64_t)strlen(ten));
    CU_ASSERT_EQUAL(end.next_row, 12);
    CU_ASSERT_STRING_EQUAL(end.content_sha256, "");
    commit(src);
    CU_ASSERT(exists("finished", "a-good.csv"));

    CU_ASSERT_EQUAL(read_unit(src, rows, 16, &end), 0);
    CU_ASSERT_EQUAL(end.state, TDC_FILE_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(end.error, "no header"));
    CU_ASSERT(exists("processing", "b-empty.csv"));
    commit(src);
    CU_ASSERT(exists("error", "b-empty.csv"));
    CU_ASSERT(exists("error", "b-empty.csv.error.txt"));
    char *p = path_of("error", "b-empty.csv.error.txt");
    char *txt = td_test_read_file(p, NULL);
    CU_ASSERT_PTR_NOT_NULL(txt);
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "reason: b-empty.csv: no header row"));
    free(txt);
    free(p);
    CU_ASSERT_EQUAL(count_files("processing"), 0);
    tdc_source_free(src);
}

static void test_name_clash(void)
{
    got rows[4];
    tdc_position end;
    struct tm tm = {.tm_year = 126, .tm_mon = 0, .tm_mday = 28, .tm_hour = 13, .tm_min = 5,
                    .tm_sec = 1};
    int64_t stamp = (int64_t)timegm(&tm) * 1000000000 + 123000000;

    fresh();
    tdc_source *src = make(NULL);
    const char *texts[] = {"id\nfirst\n", "id\nsecond\n", "id\nthird\n"};
    for (int i = 0; i < 3; i++) {
        drop("x.csv", texts[i], true);
        CU_ASSERT_EQUAL(read_unit(src, rows, 4, &end), 1);
        g_now = stamp;
        commit(src);
    }
    CU_ASSERT_EQUAL(count_files("finished"), 3);
    char *p = path_of("finished", "x.csv");
    char *t = td_test_read_file(p, NULL);
    CU_ASSERT_STRING_EQUAL(t, "id\nfirst\n"); /* never overwritten */
    free(t);
    free(p);
    p = path_of("finished", "x.20260128T130501.123Z.csv");
    t = td_test_read_file(p, NULL);
    CU_ASSERT_PTR_NOT_NULL(t);
    CU_ASSERT(t && strcmp(t, "id\nsecond\n") == 0);
    free(t);
    free(p);
    CU_ASSERT(exists("finished", "x.20260128T130501.123Z-2.csv"));

    /* the same in error/, with the .error.txt following the final name */
    for (int i = 0; i < 2; i++) {
        drop("bad.csv", "", true);
        CU_ASSERT_EQUAL(read_unit(src, rows, 4, &end), 0);
        CU_ASSERT_EQUAL(end.state, TDC_FILE_ERROR);
        g_now = stamp;
        commit(src);
    }
    CU_ASSERT(exists("error", "bad.csv"));
    CU_ASSERT(exists("error", "bad.csv.error.txt"));
    CU_ASSERT(exists("error", "bad.20260128T130501.123Z.csv"));
    CU_ASSERT(exists("error", "bad.20260128T130501.123Z.csv.error.txt"));
    tdc_source_free(src);
}

/* --- resume ------------------------------------------------------------- */

static const char *const tricky =
    "\xEF\xBB\xBF" "id,name,note\r\n"
    "1,a,\"x\r\ny\"\r\n"
    "\r\n"
    "2,b,plain\n"
    "3,\"c,c\",\"\"\"q\"\"\"\n"
    "\n"
    "4,d,\"multi\nline\nnote\"\n"
    "5,e,last";

/* Kafka Connect spooldir #190: after a restart the last line was emitted
 * again. Resuming at a committed position must yield exactly the next row. */
static void test_resume_in_progress_no_reemit(void)
{
    got first[8], again[8], g;
    tdc_position end, end2;

    fresh();
    drop("t.csv", tricky, true);
    tdc_source *src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(read_unit(src, first, 8, &end), 5);
    CU_ASSERT_EQUAL(end.next_byte_offset, (int64_t)strlen(tricky));
    tdc_source_free(src); /* crash before the END was committed */

    /* for every committed row k: the next row is k+1, same numbers, same after */
    for (int k = 0; k < 5; k++) {
        src = make(NULL);
        td_error e;
        CU_ASSERT_EQUAL_FATAL(tdc_source_resume(src, &first[k].after, &e), 0);
        size_t n = read_unit(src, again, 8, &end2);
        CU_ASSERT_EQUAL_FATAL(n, (size_t)(4 - k));
        for (size_t i = 0; i < n; i++) {
            CU_ASSERT_EQUAL(again[i].row, first[k + 1 + i].row);
            CU_ASSERT_EQUAL(again[i].line, first[k + 1 + i].line);
            CU_ASSERT_STRING_EQUAL(again[i].f0, first[k + 1 + i].f0);
            CU_ASSERT_STRING_EQUAL(again[i].f1, first[k + 1 + i].f1);
            CU_ASSERT_EQUAL(memcmp(&again[i].after, &first[k + 1 + i].after, sizeof(tdc_position)), 0);
        }
        CU_ASSERT_EQUAL(end2.state, TDC_FILE_FINISHED);
        CU_ASSERT_EQUAL(end2.next_byte_offset, end.next_byte_offset);
        CU_ASSERT_EQUAL(end2.next_row, end.next_row);
        tdc_source_free(src);
    }
    /* the exact #190 case: committed after the last row -> END, no row */
    src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(tdc_source_resume(src, &first[4].after, NULL), 0);
    CU_ASSERT_EQUAL(step(src, &g), TDC_NEXT_END_UNIT);
    commit(src);
    CU_ASSERT(exists("finished", "t.csv"));
    tdc_source_free(src);
}

/* After an aborted transaction the engine calls resume() again on the same
 * source: reading goes back to the committed row, in the same file, and to
 * row 2 of a file taken after the last commit. */
static void test_resume_again_while_running(void)
{
    got first[8], again[8], g;
    tdc_position end;

    fresh();
    drop("t.csv", tricky, true);
    tdc_source *src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(step(src, &first[0]), TDC_NEXT_ROW);
    CU_ASSERT_EQUAL_FATAL(step(src, &first[1]), TDC_NEXT_ROW);
    CU_ASSERT_EQUAL_FATAL(step(src, &first[2]), TDC_NEXT_ROW);
    /* abort: back to the position after row 1 (first[0]) */
    CU_ASSERT_EQUAL_FATAL(tdc_source_resume(src, &first[0].after, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(step(src, &g), TDC_NEXT_ROW);
    CU_ASSERT_EQUAL(g.row, first[1].row);
    CU_ASSERT_STRING_EQUAL(g.f0, first[1].f0);
    CU_ASSERT_EQUAL(memcmp(&g.after, &first[1].after, sizeof(tdc_position)), 0);
    /* abort with nothing committed yet: the file (now in processing/) is
     * read again from its first row */
    CU_ASSERT_EQUAL_FATAL(tdc_source_resume(src, NULL, NULL), 0);
    CU_ASSERT_EQUAL(read_unit(src, again, 8, &end), 5);
    CU_ASSERT_EQUAL(again[0].row, first[0].row);
    CU_ASSERT_STRING_EQUAL(again[0].f0, first[0].f0);
    CU_ASSERT_EQUAL(end.state, TDC_FILE_FINISHED);
    commit(src);
    CU_ASSERT(exists("finished", "t.csv"));
    tdc_source_free(src);
}

static void test_resume_at_first_row(void)
{
    got rows[12], g;
    tdc_position end, start;

    fresh();
    drop("t.csv", ten, true);
    tdc_source *src = make(NULL);
    CU_ASSERT_EQUAL(step(src, &g), TDC_NEXT_ROW);
    tdc_source_free(src);
    /* committed: the position before row 2 (right after the header) */
    src = make(NULL);
    start = g.after;
    start.next_byte_offset = 8; /* after "id,name\n" */
    start.next_row = 2;
    CU_ASSERT_EQUAL_FATAL(tdc_source_resume(src, &start, NULL), 0);
    CU_ASSERT_EQUAL(read_unit(src, rows, 12, &end), 10);
    CU_ASSERT_EQUAL(rows[0].row, 2);
    CU_ASSERT_STRING_EQUAL(rows[0].f0, "1");
    tdc_source_free(src);
}

static void test_resume_finished_not_moved(void)
{
    got rows[12];
    tdc_position end;

    fresh();
    drop("t.csv", ten, true);
    drop("u.csv", "", true);
    tdc_source *src = make(NULL);
    CU_ASSERT_EQUAL(read_unit(src, rows, 12, &end), 10);
    tdc_source_free(src); /* committed FINISHED, crashed before the move */

    src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(tdc_source_resume(src, &end, NULL), 0);
    /* moved by resume itself, without reading a row */
    CU_ASSERT(exists("finished", "t.csv"));
    CU_ASSERT(!exists("processing", "t.csv"));
    CU_ASSERT_EQUAL(read_unit(src, rows, 12, &end), 0); /* u.csv: ERROR */
    CU_ASSERT_STRING_EQUAL(end.file_name, "u.csv");
    CU_ASSERT_EQUAL(end.state, TDC_FILE_ERROR);
    tdc_source_free(src);

    /* the same for ERROR */
    src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(tdc_source_resume(src, &end, NULL), 0);
    CU_ASSERT(exists("error", "u.csv"));
    CU_ASSERT(exists("error", "u.csv.error.txt"));
    CU_ASSERT_EQUAL(idle_steps(src, 3), 0);
    tdc_source_free(src);

    /* ERROR committed, the file moved to error/, then a crash before its
     * .error.txt was renamed into place: found there by its inode, and the
     * text says where it is (not "removed") */
    fresh();
    drop("v.csv", "", true);
    src = make(NULL);
    CU_ASSERT_EQUAL(read_unit(src, rows, 12, &end), 0);
    CU_ASSERT_EQUAL(end.state, TDC_FILE_ERROR);
    tdc_source_free(src);
    char *a = path_of("processing", "v.csv"), *b = path_of("error", "v.csv");
    CU_ASSERT_FATAL(rename(a, b) == 0);
    free(a);
    free(b);
    put_bytes("error", ".error.txt.partial", "file: v.csv\n", 12);
    src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(tdc_source_resume(src, &end, NULL), 0);
    char *txt = read_in("error", "v.csv.error.txt");
    CU_ASSERT(has(txt, "moved to: "));
    CU_ASSERT(has(txt, "/error/v.csv\n"));
    CU_ASSERT(lacks(txt, "not moved"));
    free(txt);
    CU_ASSERT(!exists("error", ".error.txt.partial"));
    CU_ASSERT_EQUAL(count_files("error"), 2);
    tdc_source_free(src);
    /* a later restart at the same position writes nothing more */
    src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(tdc_source_resume(src, &end, NULL), 0);
    CU_ASSERT_EQUAL(idle_steps(src, 3), 0);
    CU_ASSERT_EQUAL(count_files("error"), 2);
    tdc_source_free(src);
}

static void test_uncommitted_restarts(void)
{
    got rows[12], g;
    tdc_position end_a, end;

    fresh();
    drop("a.csv", "id\na1\n", true);
    drop("b.csv", ten, true);
    tdc_source *src = make(NULL);
    CU_ASSERT_EQUAL(read_unit(src, rows, 12, &end_a), 1);
    commit(src);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(step(src, &g), TDC_NEXT_ROW);
    CU_ASSERT_STRING_EQUAL(g.unit, "b.csv");
    tdc_source_free(src); /* crash: nothing of b.csv committed */
    CU_ASSERT(exists("processing", "b.csv"));

    /* committed = a.csv FINISHED: b.csv is read again from row 2 */
    src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(tdc_source_resume(src, &end_a, NULL), 0);
    CU_ASSERT_EQUAL(read_unit(src, rows, 12, &end), 10);
    CU_ASSERT_STRING_EQUAL(rows[0].unit, "b.csv");
    CU_ASSERT_EQUAL(rows[0].row, 2);
    tdc_source_free(src);

    /* nothing committed at all */
    src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(tdc_source_resume(src, NULL, NULL), 0);
    CU_ASSERT_EQUAL(read_unit(src, rows, 12, &end), 10);
    CU_ASSERT_EQUAL(rows[0].row, 2);
    tdc_source_free(src);

    /* a crash after the take, before the marker was removed: resume cleans it */
    fresh();
    drop("m.csv", ten, false);
    char *pd = path_of("", "processing");
    CU_ASSERT(mkdir(pd, 0750) == 0 || errno == EEXIST);
    free(pd);
    char *from = path_of("", "m.csv"), *to = path_of("processing", "m.csv");
    CU_ASSERT_FATAL(rename(from, to) == 0);
    put_bytes("", "m.csv.done", "", 0);
    src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(tdc_source_resume(src, NULL, NULL), 0);
    CU_ASSERT(!exists("", "m.csv.done"));
    CU_ASSERT_EQUAL(read_unit(src, rows, 12, &end), 10);
    tdc_source_free(src);
    free(from);
    free(to);
}

static void test_identity_mismatch_restarts(void)
{
    got rows[12], g;
    tdc_position end;

    fresh();
    drop("x.csv", ten, true);
    tdc_source *src = make(NULL);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(step(src, &g), TDC_NEXT_ROW);
    tdc_source_free(src); /* committed: after row 4 of the old x.csv */

    /* another file of the same name (another inode) replaces it */
    put_bytes("processing", "x.new", "id,name\nN1,new\nN2,new\n", 22);
    char *a = path_of("processing", "x.new"), *b = path_of("processing", "x.csv");
    CU_ASSERT_FATAL(rename(a, b) == 0);
    free(a);
    free(b);
    src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(tdc_source_resume(src, &g.after, NULL), 0);
    /* first the old file's end, on record: rows 5 on were never read */
    CU_ASSERT_EQUAL(read_unit(src, rows, 12, &end), 0);
    CU_ASSERT_EQUAL(end.state, TDC_FILE_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(end.error, "replaced"));
    CU_ASSERT_EQUAL(end.inode, g.after.inode);
    commit(src);
    char *txt = read_in("error", "x.csv.error.txt");
    CU_ASSERT(has(txt, "not moved: it is no longer in "));
    CU_ASSERT(has(txt, "another file of the same name took its place"));
    CU_ASSERT(has(txt, "rows read: 2 to 4 "));
    CU_ASSERT(has(txt, "row 5 on): not in the spool any more"));
    CU_ASSERT(lacks(txt, "moved to:"));
    free(txt);
    CU_ASSERT(!exists("error", "x.csv"));
    /* then the new one, from row 2 */
    CU_ASSERT(exists("processing", "x.csv"));
    CU_ASSERT_EQUAL(read_unit(src, rows, 12, &end), 2);
    CU_ASSERT_STRING_EQUAL(rows[0].f0, "N1");
    CU_ASSERT_EQUAL(rows[0].row, 2);
    CU_ASSERT_EQUAL(end.state, TDC_FILE_FINISHED);
    commit(src);
    CU_ASSERT(exists("finished", "x.csv"));
    tdc_source_free(src);
}

/* --- files changed under us -------------------------------------------- */

static void test_changed_while_down(void)
{
    got rows[12], g;
    tdc_position end;

    fresh();
    drop("x.csv", ten, true);
    tdc_source *src = make(NULL);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(step(src, &g), TDC_NEXT_ROW);
    tdc_source_free(src);
    char *p = path_of("processing", "x.csv");
    CU_ASSERT_FATAL(truncate(p, 20) == 0); /* same inode, shorter */
    free(p);
    src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(tdc_source_resume(src, &g.after, NULL), 0);
    CU_ASSERT_EQUAL(read_unit(src, rows, 12, &end), 0); /* not read again from the top */
    CU_ASSERT_EQUAL(end.state, TDC_FILE_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(end.error, "changed"));
    commit(src);
    CU_ASSERT(exists("error", "x.csv"));
    tdc_source_free(src);
}

static void test_truncated_while_reading(void)
{
    got g;
    tdc_position end;
    const size_t nrows = 100000;
    size_t cap = nrows * 40, n = 0;
    char *t = xmalloc(cap);

    fresh();
    n += (size_t)sprintf(t, "id,name,note\n");
    for (size_t i = 0; i < nrows; i++)
        n += (size_t)sprintf(t + n, "%zu,name-%zu,some text here\n", i, i);
    CU_ASSERT_FATAL(n > 3 * 1024 * 1024); /* bigger than the read buffer */
    put_bytes("", "big.csv", t, n);
    put_bytes("", "big.csv.done", "", 0);
    tdc_source *src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(step(src, &g), TDC_NEXT_ROW);
    char *p = path_of("processing", "big.csv");
    CU_ASSERT_FATAL(truncate(p, (off_t)(n / 2)) == 0);
    free(p);
    size_t rows = 1;
    int rc;
    int64_t last_after = 0;
    while ((rc = step(src, &g)) == TDC_NEXT_ROW) {
        rows++;
        CU_ASSERT_EQUAL(g.nfields, 3); /* never a row cut by the truncation */
        CU_ASSERT(g.after.next_byte_offset <= (int64_t)n / 2);
        last_after = g.after.next_byte_offset;
    }
    CU_ASSERT_EQUAL(rc, TDC_NEXT_END_UNIT);
    CU_ASSERT(rows < nrows);
    tdc_source_position(src, &end);
    CU_ASSERT_EQUAL(end.state, TDC_FILE_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(end.error, "changed while being read"));
    CU_ASSERT_EQUAL(end.next_byte_offset, last_after);
    commit(src);
    CU_ASSERT(exists("error", "big.csv"));
    CU_ASSERT(exists("error", "big.csv.error.txt"));
    {
        char *txt = read_in("error", "big.csv.error.txt"), want[256];
        CU_ASSERT(has(txt, "moved to: "));
        CU_ASSERT(has(txt, "/error/big.csv\n"));
        snprintf(want, sizeof(want), "it changed since (%zu bytes now, modified): ", n / 2);
        CU_ASSERT(has(txt, want));
        CU_ASSERT(lacks(txt, "not moved"));
        free(txt);
    }
    tdc_source_free(src);

    /* a small file is wholly buffered: the check at its end catches it */
    fresh();
    drop("s.csv", ten, true);
    src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(step(src, &g), TDC_NEXT_ROW);
    p = path_of("processing", "s.csv");
    CU_ASSERT_FATAL(truncate(p, 10) == 0);
    free(p);
    while ((rc = step(src, &g)) == TDC_NEXT_ROW)
        ;
    CU_ASSERT_EQUAL(rc, TDC_NEXT_END_UNIT);
    tdc_source_position(src, &end);
    CU_ASSERT_EQUAL(end.state, TDC_FILE_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(end.error, "changed while being read"));
    tdc_source_free(src);
    free(t);
}

/* Rewritten in place (same inode, same size, other bytes) while it is read:
 * the reader used to go on with the new bytes at the old offsets, so rows
 * of the new content came out as rows of the file taken (issue 10, found by
 * itest_spool_hostile). Now no row of the new content is returned and the
 * unit ends in ERROR where the change was seen. */
static void test_rewritten_while_reading(void)
{
    got g;
    tdc_position end;
    const size_t nrows = 100000;
    size_t cap = nrows * 40, n = 0, m = 0;
    char *old = xmalloc(cap), *neu = xmalloc(cap);
    int rc;

    fresh();
    n += (size_t)sprintf(old, "id,name,note\n");
    m += (size_t)sprintf(neu, "id,name,note\n");
    for (size_t i = 0; i < nrows; i++) {
        n += (size_t)sprintf(old + n, "%07zu,old-%07zu,some text\n", i, i);
        m += (size_t)sprintf(neu + m, "%07zu,NEW-%07zu,some text\n", i, i);
    }
    CU_ASSERT_FATAL(n == m && n > 2 * 1024 * 1024); /* more than the read buffer */
    put_bytes("", "rw.csv", old, n);
    char *p = path_of("", "rw.csv");
    struct timespec hour_ago[2] = {{.tv_sec = time(NULL) - 3600}, {.tv_sec = time(NULL) - 3600}};
    CU_ASSERT_FATAL(utimensat(AT_FDCWD, p, hour_ago, 0) == 0);
    free(p);
    put_bytes("", "rw.csv.done", "", 0);
    tdc_source *src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(step(src, &g), TDC_NEXT_ROW);
    put_bytes("processing", "rw.csv", neu, m); /* O_TRUNC and write: the same inode */
    size_t rows = 1, of_new = 0;
    while ((rc = step(src, &g)) == TDC_NEXT_ROW) {
        rows++;
        of_new += strncmp(g.f1, "NEW", 3) == 0;
    }
    CU_ASSERT_EQUAL(rc, TDC_NEXT_END_UNIT);
    printf("\n    %zu rows returned, %zu of them from the new content ", rows, of_new);
    CU_ASSERT_EQUAL(of_new, 0);
    CU_ASSERT(rows < nrows);
    tdc_source_position(src, &end);
    CU_ASSERT_EQUAL(end.state, TDC_FILE_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(end.error, "changed while being read (size"));
    CU_ASSERT_PTR_NOT_NULL(strstr(end.error, ", modified)"));
    CU_ASSERT_EQUAL(end.next_row, (int64_t)rows + 2);
    commit(src);
    char *txt = read_in("error", "rw.csv.error.txt");
    CU_ASSERT(has(txt, "moved to: "));
    CU_ASSERT(has(txt, "is the file as it is now"));
    free(txt);
    tdc_source_free(src);
    free(old);
    free(neu);
}

static void test_disappeared(void)
{
    got g;
    tdc_position end;
    int rc;

    fresh();
    drop("x.csv", ten, true);
    tdc_source *src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(step(src, &g), TDC_NEXT_ROW);
    char *p = path_of("processing", "x.csv");
    CU_ASSERT_FATAL(unlink(p) == 0);
    free(p);
    while ((rc = step(src, &g)) == TDC_NEXT_ROW)
        ;
    CU_ASSERT_EQUAL(rc, TDC_NEXT_END_UNIT);
    tdc_source_position(src, &end);
    CU_ASSERT_EQUAL(end.state, TDC_FILE_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(end.error, "disappeared"));
    commit(src);
    CU_ASSERT(exists("error", "x.csv.error.txt"));
    CU_ASSERT(!exists("error", "x.csv"));
    /* issue 10, defect 7: it said "moved to: error/x.csv" */
    char *txt = read_in("error", "x.csv.error.txt");
    CU_ASSERT(lacks(txt, "moved to:"));
    CU_ASSERT(has(txt, "not moved: it is no longer in "));
    CU_ASSERT(has(txt, "it was removed or renamed while it was read"));
    CU_ASSERT(has(txt, "rows read: 2 to 11 (bytes up to 49), each one published or dead-lettered"));
    CU_ASSERT(has(txt, "not read: nothing (read to its end, byte 49)"));
    free(txt);
    CU_ASSERT_EQUAL(count_files("error"), 1); /* the .error.txt alone */
    CU_ASSERT_EQUAL(idle_steps(src, 3), 0);
    tdc_source_free(src);

    /* gone while we were down, with a committed IN_PROGRESS position */
    fresh();
    drop("y.csv", ten, true);
    src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(step(src, &g), TDC_NEXT_ROW);
    tdc_source_free(src);
    p = path_of("processing", "y.csv");
    CU_ASSERT_FATAL(unlink(p) == 0);
    free(p);
    src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(tdc_source_resume(src, &g.after, NULL), 0);
    CU_ASSERT_EQUAL(step(src, NULL), TDC_NEXT_END_UNIT);
    tdc_source_position(src, &end);
    CU_ASSERT_EQUAL(end.state, TDC_FILE_ERROR);
    commit(src);
    CU_ASSERT(exists("error", "y.csv.error.txt"));
    txt = read_in("error", "y.csv.error.txt");
    CU_ASSERT(lacks(txt, "moved to:"));
    CU_ASSERT(has(txt, "rows read: 2 to 2 (bytes up to 12)"));
    CU_ASSERT(has(txt, "not read: bytes 12 to 49 (row 3 on): not in the spool any more"));
    free(txt);
    tdc_source_free(src);
}

/* finished/ removed under us: recreated with create_dirs; without it the
 * move fails loudly (and is retried), the file is never read twice. */
static void test_dirs_removed(void)
{
    got rows[12];
    tdc_position end;
    char cmd[4096];
    td_error e;

    fresh();
    drop("x.csv", ten, true);
    tdc_source *src = make(NULL);
    CU_ASSERT_EQUAL(read_unit(src, rows, 12, &end), 10);
    snprintf(cmd, sizeof(cmd), "rm -r '%s/finished'", in);
    CU_ASSERT_FATAL(system(cmd) == 0);
    commit(src);
    CU_ASSERT(exists("finished", "x.csv"));
    tdc_source_free(src);

    fresh();
    drop("y.csv", ten, true);
    snprintf(cmd, sizeof(cmd), "mkdir '%s/processing' '%s/finished' '%s/error'", in, in, in);
    CU_ASSERT_FATAL(system(cmd) == 0);
    src = make("create_dirs: false\n");
    CU_ASSERT_EQUAL(read_unit(src, rows, 12, &end), 10);
    snprintf(cmd, sizeof(cmd), "rm -r '%s/finished'", in);
    CU_ASSERT_FATAL(system(cmd) == 0);
    tdc_source_position(src, &end);
    CU_ASSERT(tdc_source_committed(src, &end, &e) < 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "finished_dir"));
    CU_ASSERT(exists("processing", "y.csv"));
    tdc_row r;
    CU_ASSERT(tdc_source_next(src, &r, &e) < 0); /* retried, still failing: no re-read */
    snprintf(cmd, sizeof(cmd), "mkdir '%s/finished'", in);
    CU_ASSERT_FATAL(system(cmd) == 0);
    CU_ASSERT_EQUAL(step(src, NULL), TDC_NEXT_IDLE); /* the move is done, nothing re-read */
    CU_ASSERT(exists("finished", "y.csv"));
    CU_ASSERT(!exists("processing", "y.csv"));
    /* processing/ gone while idle, and not to be recreated: an error, not silence */
    snprintf(cmd, sizeof(cmd), "rm -r '%s/processing'", in);
    CU_ASSERT_FATAL(system(cmd) == 0);
    g_now += 10000000000LL;
    CU_ASSERT(tdc_source_next(src, &r, &e) < 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "processing_dir"));
    tdc_source_free(src);
}

/* --- the count invariant ----------------------------------------------- */

static void test_count_invariant(void)
{
    const int records = 3000;
    size_t cap = 4 * 1024 * 1024, n = 0;
    char *t = xmalloc(cap);
    int want_bad = 0, want_ragged = 0;

    fresh();
    n += (size_t)sprintf(t, "id,name,amount\n");
    for (int i = 0; i < records; i++) {
        if (i % 13 == 0)
            n += (size_t)sprintf(t + n, i % 2 ? "\n" : "\r\n"); /* blank: not a record */
        if (i == records - 1) {
            n += (size_t)sprintf(t + n, "%d,\"never closed,1\n", i);
            want_bad++;
        } else if (i % 37 == 5) {
            n += (size_t)sprintf(t + n, "%d,\xff\xfe,1\n", i);
            want_bad++;
        } else if (i % 101 == 7) {
            n += (size_t)sprintf(t + n, "%d,\"x\"y,1\n", i);
            want_bad++;
        } else if (i == 1500) {
            n += (size_t)sprintf(t + n, "%d,", i);
            memset(t + n, 'z', 5000);
            n += 5000;
            n += (size_t)sprintf(t + n, ",1\n");
            want_bad++;
        } else if (i % 53 == 3) {
            n += (size_t)sprintf(t + n, "%d,ragged\n", i);
            want_ragged++;
        } else {
            n += (size_t)sprintf(t + n, "%d,\"name %d\nsecond line\",%d.%02d\r\n", i, i, i, i % 100);
        }
    }
    put_bytes("", "c.csv", t, n);
    put_bytes("", "c.csv.done", "", 0);
    tdc_source *src = make("max_row_bytes: 1KiB\n");

    int good = 0, bad = 0, ragged = 0, rc;
    int64_t expect_row = 2, prev_after = 0;
    got g;
    while ((rc = step(src, &g)) != TDC_NEXT_END_UNIT) {
        if (rc == TDC_NEXT_IDLE)
            continue;
        CU_ASSERT_EQUAL(g.row, expect_row);
        expect_row++;
        CU_ASSERT(g.after.next_byte_offset > prev_after);
        CU_ASSERT_EQUAL(t[g.after.next_byte_offset - 1] == '\n' ||
                            g.after.next_byte_offset == (int64_t)n,
                        1);
        prev_after = g.after.next_byte_offset;
        if (g.bad) {
            bad++;
        } else {
            good++;
            if (g.nfields != g.ncolumns)
                ragged++; /* exposed, not flagged: the dataset rejects it */
        }
    }
    tdc_position end;
    tdc_source_position(src, &end);
    CU_ASSERT_EQUAL(end.state, TDC_FILE_FINISHED);
    CU_ASSERT_EQUAL(end.next_byte_offset, (int64_t)n);
    CU_ASSERT_EQUAL(good + bad, records);
    CU_ASSERT_EQUAL(bad, want_bad);
    CU_ASSERT_EQUAL(ragged, want_ragged);
    printf("\n    %d records: %d returned well-formed (%d ragged), %d flagged bad ", records, good,
           ragged, bad);
    tdc_source_free(src);
    free(t);
}

/* --- config, status, encodings, inotify --------------------------------- */

static void test_config(void)
{
    struct tdc_spooldir_config cfg = {0};
    tdc_source *src = NULL;
    td_error e;
    char yaml[2048];

    fresh();
    snprintf(yaml, sizeof(yaml), "input_dir: %s\n", in);
    CU_ASSERT_EQUAL_FATAL(td_config_load_string(tdc_spooldir_config_table, "t.yaml", yaml, &cfg, &e), 0);
    CU_ASSERT_STRING_EQUAL(cfg.pattern, "*.csv");
    CU_ASSERT_EQUAL(cfg.ready, TDC_SPOOLDIR_READY_MARKER);
    CU_ASSERT_STRING_EQUAL(cfg.marker_suffix, ".done");
    CU_ASSERT_EQUAL(cfg.min_age, 30000);
    CU_ASSERT_EQUAL(cfg.poll_interval, 2000);
    CU_ASSERT_EQUAL(cfg.encoding, TDC_SPOOLDIR_ENCODING_AUTO);
    CU_ASSERT_STRING_EQUAL(cfg.delimiter, ",");
    CU_ASSERT_EQUAL(cfg.max_row_bytes, 960 * 1024);
    CU_ASSERT(cfg.create_dirs);
    CU_ASSERT_PTR_NULL(cfg.processing_dir);
    CU_ASSERT_EQUAL_FATAL(tdc_spooldir_new(&cfg, &src, &e), 0);
    CU_ASSERT(exists("", "processing") && exists("", "finished") && exists("", "error"));
    CU_ASSERT_STRING_EQUAL(src->ops->kind, "spooldir");
    tdc_source_free(src);

    /* delimiter */
    free(cfg.delimiter);
    cfg.delimiter = strdup("::");
    CU_ASSERT_EQUAL(tdc_spooldir_new(&cfg, &src, &e), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "delimiter"));
    free(cfg.delimiter);
    cfg.delimiter = strdup("tab");
    CU_ASSERT_EQUAL(tdc_spooldir_new(&cfg, &src, &e), 0);
    tdc_source_free(src);

    /* the same directory twice */
    cfg.finished_dir = strdup(in);
    CU_ASSERT_EQUAL(tdc_spooldir_new(&cfg, &src, &e), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "same directory"));
    free(cfg.finished_dir);
    cfg.finished_dir = NULL;

    /* missing directories: input never created; others only with create_dirs */
    free(cfg.processing_dir);
    CU_ASSERT_FATAL(asprintf(&cfg.processing_dir, "%s/p/q", root) > 0);
    cfg.create_dirs = false;
    CU_ASSERT_EQUAL(tdc_spooldir_new(&cfg, &src, &e), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "create_dirs"));
    cfg.create_dirs = true;
    CU_ASSERT_EQUAL(tdc_spooldir_new(&cfg, &src, &e), 0);
    tdc_source_free(src);
    free(cfg.input_dir);
    CU_ASSERT_FATAL(asprintf(&cfg.input_dir, "%s/no-such-dir", root) > 0);
    CU_ASSERT_EQUAL(tdc_spooldir_new(&cfg, &src, &e), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "input_dir"));
    free(cfg.input_dir);
    cfg.input_dir = strdup(in);

    /* another filesystem (when this machine has one at hand) */
    struct stat a, b;
    if (stat(root, &a) == 0 && stat("/dev/shm", &b) == 0 && a.st_dev != b.st_dev &&
        access("/dev/shm", W_OK) == 0) {
        char *shm = td_test_unique("/dev/shm/tdc-spool");
        free(cfg.error_dir);
        cfg.error_dir = shm;
        CU_ASSERT_EQUAL(tdc_spooldir_new(&cfg, &src, &e), -EXDEV);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "another filesystem"));
        rmdir(shm);
    } else {
        printf("\n    (no second filesystem writable: EXDEV check skipped) ");
    }
    td_config_free(tdc_spooldir_config_table, &cfg);

    /* unknown keys and bad enum values are the loader's errors */
    snprintf(yaml, sizeof(yaml), "input_dir: %s\nready: whenever\nencodng: gbk\n", in);
    memset(&cfg, 0, sizeof(cfg));
    CU_ASSERT_EQUAL(td_config_load_string(tdc_spooldir_config_table, "t.yaml", yaml, &cfg, &e), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "t.yaml:2:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "t.yaml:3:"));

    /* the reference is generated from the table */
    char *ref = NULL;
    size_t rl = 0;
    FILE *f = open_memstream(&ref, &rl);
    CU_ASSERT_EQUAL(td_config_write_reference(tdc_spooldir_config_table, f), 0);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(ref, "marker_suffix"));
    free(ref);
}

/* tdc_spooldir_check (--check-config): what tdc_spooldir_new() would refuse,
 * every problem at once, and nothing created. Runs in-process: the
 * permission cases are in tests/connectors/test_cli.c (as nobody). */
static int check(const char *yaml, char **ret_out)
{
    struct tdc_spooldir_config cfg = {0};
    td_error e;
    size_t len = 0;
    FILE *f = open_memstream(ret_out, &len);
    int r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    r = td_config_load_string(tdc_spooldir_config_table, "t.yaml", yaml, &cfg, &e);
    if (r < 0)
        printf("\n    %s\n", e.msg);
    CU_ASSERT_EQUAL_FATAL(r, 0);
    r = tdc_spooldir_check(&cfg, NULL, "source.spooldir", f);
    fclose(f);
    td_config_free(tdc_spooldir_config_table, &cfg);
    return r;
}

static void test_check(void)
{
    char yaml[4096], *out = NULL, p[2048];
    struct stat st;

    fresh();
    /* defaults: the three subdirectories would be made; none is */
    snprintf(yaml, sizeof(yaml), "input_dir: %s\n", in);
    CU_ASSERT_EQUAL(check(yaml, &out), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
    free(out);
    snprintf(p, sizeof(p), "%s/processing", in);
    CU_ASSERT_EQUAL(stat(p, &st), -1);
    snprintf(p, sizeof(p), "%s/error", in);
    CU_ASSERT_EQUAL(stat(p, &st), -1);

    /* several problems at once: a bad delimiter, an existing directory
     * twice, a missing one twice, one missing without create_dirs */
    snprintf(yaml, sizeof(yaml),
             "input_dir: %s\ndelimiter: \"#\"\nfinished_dir: %s\n"
             "processing_dir: %s/p\nerror_dir: %s/p\n",
             in, in, root, root);
    CU_ASSERT(check(yaml, &out) < 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "spooldir.delimiter: must be"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "source.spooldir.finished_dir: source.spooldir.input_dir "
                                       "and source.spooldir.finished_dir are the same directory"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "source.spooldir.processing_dir and "
                                       "source.spooldir.error_dir are the same directory"));
    free(out);
    snprintf(yaml, sizeof(yaml), "input_dir: %s\ncreate_dirs: false\n", in);
    CU_ASSERT_EQUAL(check(yaml, &out), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "source.spooldir.processing_dir: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "source.spooldir.finished_dir: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "source.spooldir.error_dir: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "missing (set create_dirs: true to have it created)"));
    free(out);
    /* input_dir is never created, and must be a directory */
    snprintf(yaml, sizeof(yaml), "input_dir: %s/none\n", root);
    CU_ASSERT_EQUAL(check(yaml, &out), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "source.spooldir.input_dir: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "/none: No such file or directory"));
    free(out);
    snprintf(p, sizeof(p), "%s/file", root);
    CU_ASSERT_EQUAL(td_test_write_file(p, "x"), 0);
    snprintf(yaml, sizeof(yaml), "input_dir: %s\n", p);
    CU_ASSERT_EQUAL(check(yaml, &out), -ENOTDIR);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "/file: not a directory"));
    free(out);

    /* a missing directory is made on its parent's filesystem */
    struct stat a, b;
    if (stat(root, &a) == 0 && stat("/dev/shm", &b) == 0 && a.st_dev != b.st_dev &&
        access("/dev/shm", W_OK) == 0) {
        char *shm = td_test_unique("/dev/shm/tdc-check");
        snprintf(yaml, sizeof(yaml), "input_dir: %s\nerror_dir: %s/error\n", in, shm);
        CU_ASSERT_EQUAL(check(yaml, &out), -EXDEV);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "source.spooldir.error_dir: "));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "is on another filesystem than input_dir"));
        CU_ASSERT_EQUAL(stat(shm, &st), -1);
        free(out);
        free(shm);
    } else {
        printf("\n    (no second filesystem writable: EXDEV check skipped) ");
    }
}

static void test_status(void)
{
    got g;

    fresh();
    tdc_source *src = make(NULL);
    CU_ASSERT_EQUAL(step(src, NULL), TDC_NEXT_IDLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(tdc_source_status(src), "waiting for files in"));
    drop("medical-2023-05.csv", ten, true);
    while (step(src, &g) != TDC_NEXT_ROW)
        ;
    CU_ASSERT_EQUAL(step(src, &g), TDC_NEXT_ROW);
    /* after row 3: "2,b\n" ends at byte 16 of 49 */
    CU_ASSERT_STRING_EQUAL(tdc_source_status(src), "medical-2023-05.csv row 3 (32%)");
    while (step(src, &g) == TDC_NEXT_ROW)
        ;
    CU_ASSERT_STRING_EQUAL(tdc_source_status(src),
                           "medical-2023-05.csv finished after row 11, committing");
    tdc_source_free(src);
}

static void test_gb18030_file(void)
{
    /* 身份证号,姓名\n1,张三\n in GB18030 */
    static const char gb[] = "\xc9\xed\xb7\xdd\xd6\xa4\xba\xc5,\xd0\xd5\xc3\xfb\n1,\xd5\xc5\xc8\xfd\n";
    tdc_row r;
    td_error e;
    bool bom = true;

    fresh();
    put_bytes("", "gb.csv", gb, sizeof(gb) - 1);
    put_bytes("", "gb.csv.done", "", 0);
    tdc_source *src = make("encoding: auto\n");
    int rc;
    while ((rc = tdc_source_next(src, &r, &e)) == TDC_NEXT_IDLE)
        g_now += 1000000000;
    CU_ASSERT_EQUAL_FATAL(rc, TDC_NEXT_ROW);
    CU_ASSERT_EQUAL(tdc_spooldir_file_encoding(src, &bom), TDC_CSV_ENCODING_GB18030);
    CU_ASSERT(!bom);
    CU_ASSERT_STRING_EQUAL(r.columns[0], "身份证号");
    CU_ASSERT_STRING_EQUAL(r.columns[1], "姓名");
    CU_ASSERT_STRING_EQUAL(r.fields[1], "张三");
    CU_ASSERT_STRING_EQUAL(r.raw, "1,张三");
    CU_ASSERT_EQUAL(r.after.next_byte_offset, (int64_t)sizeof(gb) - 1);
    tdc_source_free(src);

    /* encoding: gbk reads GB18030 too */
    fresh();
    put_bytes("", "gb.csv", gb, sizeof(gb) - 1);
    put_bytes("", "gb.csv.done", "", 0);
    src = make("encoding: gbk\n");
    while ((rc = tdc_source_next(src, &r, &e)) == TDC_NEXT_IDLE)
        ;
    CU_ASSERT_EQUAL_FATAL(rc, TDC_NEXT_ROW);
    CU_ASSERT_STRING_EQUAL(r.fields[1], "张三");
    tdc_source_free(src);
}

static void test_inotify_wakeup(void)
{
    fresh();
    tdc_source *src = make("poll_interval: 1h\n");
    int fd = tdc_source_wait_fd(src);

    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(peek(src), TDC_NEXT_IDLE);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    CU_ASSERT_EQUAL(poll(&p, 1, 0), 0);
    drop("x.csv", ten, true);
    CU_ASSERT_EQUAL(poll(&p, 1, 2000), 1);
    /* the clock did not move: the event alone triggers the scan */
    CU_ASSERT_EQUAL(peek(src), TDC_NEXT_ROW);
    tdc_source_free(src);
}

/* --- entries never taken: one warning each ------------------------------ */

#define MAX_WARN 64
static char warned[MAX_WARN][2048];
static size_t nwarned;

static void warn_sink(td_log_level level, const char *line, void *opaque)
{
    (void)opaque;
    if (level == TD_LOG_WARNING && strstr(line, "never taken") && nwarned < MAX_WARN)
        snprintf(warned[nwarned++], sizeof(warned[0]), "%s", line);
}

static void ended_sink(td_log_level level, const char *line, void *opaque)
{
    (void)opaque;
    if (level == TD_LOG_WARNING && strstr(line, "ended in error") && nwarned < MAX_WARN)
        snprintf(warned[nwarned++], sizeof(warned[0]), "%s", line);
}

/* How many warnings name in/<name>: and say why. */
static size_t warnings_for(const char *name, const char *why)
{
    char key[1200];
    size_t n = 0;
    snprintf(key, sizeof(key), "%s/%s: never taken: ", in, name);
    for (size_t i = 0; i < nwarned; i++)
        if (strstr(warned[i], key) && strstr(warned[i], why))
            n++;
    return n;
}

/* Issue 10, defect 10: a symlink, a FIFO, a directory (each with its
 * marker), a file that does not match the pattern (with a marker) and a
 * marker without its file were skipped silently at every scan. Each is
 * warned about exactly once over many scans; a hidden file and a file
 * still waiting for its marker are not; an entry that comes back (a new
 * inode) is warned about again, once. */
static void test_never_taken_warned_once(void)
{
    char *p, *q;
    got rows[12];
    tdc_position end;

    fresh();
    nwarned = 0;
    td_log_set_sink(warn_sink, NULL);
    drop("a.csv", ten, true);
    p = path_of("", "link.csv");
    q = path_of("", "a.csv");
    CU_ASSERT_FATAL(symlink(q, p) == 0);
    free(p);
    free(q);
    put_bytes("", "link.csv.done", "", 0);
    p = path_of("", "pipe.csv");
    CU_ASSERT_FATAL(mkfifo(p, 0640) == 0);
    free(p);
    put_bytes("", "pipe.csv.done", "", 0);
    p = path_of("", "dir.csv");
    CU_ASSERT_FATAL(mkdir(p, 0750) == 0);
    free(p);
    put_bytes("", "dir.csv.done", "", 0);
    drop("data.txt", ten, true);
    put_bytes("", "gone.csv.done", "", 0);
    drop(".upload.csv", ten, true);
    drop("pending.csv", ten, false);

    tdc_source *src = make(NULL);
    CU_ASSERT_EQUAL(read_unit(src, rows, 12, &end), 10);
    commit(src);
    CU_ASSERT(exists("finished", "a.csv"));
    CU_ASSERT_EQUAL(idle_steps(src, 20), 0); /* 20 more scans */

    CU_ASSERT_EQUAL(warnings_for("link.csv", "symbolic link"), 1);
    CU_ASSERT_EQUAL(warnings_for("pipe.csv", "FIFO"), 1);
    CU_ASSERT_EQUAL(warnings_for("dir.csv", "directory"), 1);
    CU_ASSERT_EQUAL(warnings_for("data.txt", "does not match pattern \"*.csv\""), 1);
    CU_ASSERT_EQUAL(warnings_for("gone.csv.done", "without its file \"gone.csv\""), 1);
    CU_ASSERT_EQUAL(nwarned, 5); /* nothing about markers of present entries, hidden
                                    files, pending.csv or processing/finished/error */
    for (size_t i = 0; i < nwarned; i++)
        printf("\n    %s", warned[i]);

    /* the same name again as a new entry: one more warning, once */
    p = path_of("", "link.csv");
    CU_ASSERT_FATAL(unlink(p) == 0);
    CU_ASSERT_EQUAL(idle_steps(src, 2), 0); /* its marker is alone now */
    CU_ASSERT_EQUAL(warnings_for("link.csv.done", "without its file \"link.csv\""), 1);
    CU_ASSERT_FATAL(symlink("/nonexistent", p) == 0);
    free(p);
    CU_ASSERT_EQUAL(idle_steps(src, 5), 0);
    CU_ASSERT_EQUAL(warnings_for("link.csv", "symbolic link"), 2);
    CU_ASSERT_EQUAL(warnings_for("link.csv.done", "without its file"), 1);
    CU_ASSERT_EQUAL(nwarned, 7);
    CU_ASSERT(exists("", "pending.csv"));
    td_log_set_sink(NULL, NULL);
    tdc_source_free(src);
}

/* Issue 10, defect 7: a file replaced (renamed over) in processing/ while
 * it is read. The open descriptor still reads the old file to its end; the
 * unit ends in ERROR; error.txt says that nothing was moved, that every row
 * was read and how the rows went (as the engine told), and the new file is
 * read next as a file of its own. The log says the same. */
static void test_replaced_while_reading(void)
{
    got rows[12], g;
    tdc_position end;

    fresh();
    nwarned = 0;
    drop("x.csv", ten, true);
    tdc_source *src = make(NULL);
    CU_ASSERT_EQUAL_FATAL(step(src, &g), TDC_NEXT_ROW);
    put_bytes("", ".new", "id,name\nN1,new\nN2,new\n", 22);
    char *a = path_of("", ".new"), *b = path_of("processing", "x.csv");
    CU_ASSERT_FATAL(rename(a, b) == 0);
    free(a);
    free(b);
    CU_ASSERT_EQUAL(read_unit(src, rows, 12, &end), 9); /* rows 3 to 11 of the old one */
    CU_ASSERT_STRING_EQUAL(rows[8].f0, "10");
    CU_ASSERT_EQUAL(end.state, TDC_FILE_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(end.error, "replaced"));
    tdc_source_unit_counts(src, 2, 8, 2);
    td_log_set_sink(ended_sink, NULL);
    commit(src);
    td_log_set_sink(NULL, NULL);
    CU_ASSERT(!exists("error", "x.csv"));
    char *txt = read_in("error", "x.csv.error.txt");
    CU_ASSERT(lacks(txt, "moved to:"));
    CU_ASSERT(has(txt, "reason: x.csv: replaced in "));
    CU_ASSERT(has(txt, "not moved: it is no longer in "));
    CU_ASSERT(has(txt, "another file of the same name took its place there while it was read "
                       "(that file is read as a new one)"));
    CU_ASSERT(has(txt, "rows read: 2 to 11 (bytes up to 49), each one published or dead-lettered"));
    CU_ASSERT(has(txt, "this run: rows 2 to 11: 8 published, 2 dead-lettered"));
    CU_ASSERT(has(txt, "not read: nothing (read to its end, byte 49)"));
    free(txt);
    CU_ASSERT_EQUAL(nwarned, 1);
    CU_ASSERT(nwarned == 1 && has(warned[0], "x.csv ended in error: reason: x.csv: replaced in "));
    CU_ASSERT(nwarned == 1 && has(warned[0], "not moved: it is no longer in"));
    CU_ASSERT(nwarned == 1 && has(warned[0], "this run: rows 2 to 11: 8 published, 2 dead-lettered"));
    CU_ASSERT(nwarned == 1 && has(warned[0], "x.csv.error.txt"));
    /* the new x.csv: a file of its own, from row 2 */
    CU_ASSERT_EQUAL(read_unit(src, rows, 12, &end), 2);
    CU_ASSERT_STRING_EQUAL(rows[0].f0, "N1");
    CU_ASSERT_EQUAL(rows[0].row, 2);
    CU_ASSERT_EQUAL(end.state, TDC_FILE_FINISHED);
    commit(src);
    CU_ASSERT(exists("finished", "x.csv"));
    CU_ASSERT_EQUAL(count_files("error"), 1);
    tdc_source_free(src);
}

/* Identity numbers never reach an error message: not even through a file
 * name in error.txt (or the log line that tells the same). */
static void test_error_txt_masks_ids(void)
{
    got rows[4];
    tdc_position end;

    fresh();
    drop("id-340421198103210019.csv", "", true);
    tdc_source *src = make(NULL);
    CU_ASSERT_EQUAL(read_unit(src, rows, 4, &end), 0);
    CU_ASSERT_EQUAL(end.state, TDC_FILE_ERROR);
    commit(src);
    char *txt = read_in("error", "id-340421198103210019.csv.error.txt");
    CU_ASSERT(has(txt, "file: id-******************.csv"));
    CU_ASSERT(lacks(txt, "340421198103210019"));
    free(txt);
    tdc_source_free(src);
}

static int all_clean(void)
{
    if (root) {
        td_test_rmtree(root);
        free(root);
        root = NULL;
    }
    return 0;
}

static void add_suites(void)
{
    td_test_suite("spooldir", t_init, all_clean);
    TD_TEST(test_name_order);
    TD_TEST(test_marker_readiness);
    TD_TEST(test_age_readiness);
    TD_TEST(test_finished_and_error);
    TD_TEST(test_name_clash);
    TD_TEST(test_resume_in_progress_no_reemit);
    TD_TEST(test_resume_again_while_running);
    TD_TEST(test_resume_at_first_row);
    TD_TEST(test_resume_finished_not_moved);
    TD_TEST(test_uncommitted_restarts);
    TD_TEST(test_identity_mismatch_restarts);
    TD_TEST(test_changed_while_down);
    TD_TEST(test_truncated_while_reading);
    TD_TEST(test_rewritten_while_reading);
    TD_TEST(test_disappeared);
    TD_TEST(test_dirs_removed);
    TD_TEST(test_count_invariant);
    TD_TEST(test_config);
    TD_TEST(test_check);
    TD_TEST(test_status);
    TD_TEST(test_gb18030_file);
    TD_TEST(test_inotify_wakeup);
    TD_TEST(test_never_taken_warned_once);
    TD_TEST(test_replaced_while_reading);
    TD_TEST(test_error_txt_masks_ids);
    (void)t_clean;
}

TD_TEST_MAIN(add_suites)
