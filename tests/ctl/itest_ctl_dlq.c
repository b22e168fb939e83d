/* tuodictl dead-letters over what the real tuodi-connector dead-letters, on
 * the real broker (KAFKA_BOOTSTRAP):
 *  - a GB18030 file with three bad rows (a wrong check character, a date
 *    that does not exist, a missing column) and a UTF-8 file with one, and
 *    a dead letter as tuodi-matchd writes them on the same topic;
 *  - the tuodictl program (as the runbook runs it) lists every rejected row
 *    with its file, row number and reason, and matchd's with topic,
 *    partition and offset; no identity number in its output;
 *  - --since today lists them, --since tomorrow none;
 *  - --rows --location writes exactly the file's rejected rows, byte for
 *    byte as read (converted to UTF-8), mode 0600, and refuses to overwrite
 *    it; fixed and dropped into the spool again, the file is published with
 *    no dead letter.
 */
#include "td_kafka.h"
#include "td_log.h"
#include "td_proc.h"
#include "td_test.h"
#include "td_time.h"
#include "tdc_it.h"
#include "tdt.h"

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *bootstrap;
static char *tmp;

static int setup(void)
{
    bootstrap = td_test_bootstrap();
    tmp = td_test_tmpdir();
    return tmp ? 0 : 1;
}

static int teardown(void)
{
    if (getenv("TD_KEEP_TMP"))
        fprintf(stderr, "kept %s\n", tmp);
    else
        td_test_rmtree(tmp);
    free(tmp);
    return 0;
}

/* Runs build/tools/tuodictl/tuodictl with args (argv[0] first); its stdout
 * and stderr into *out and *errs (malloc'd). Returns the exit status, -1 if
 * it did not exit. */
static int ctl(const char *const *args, char **out, char **errs)
{
    const char *build = getenv("TD_BUILD_ROOT");
    char exe[4096], op[4200], ep[4200];
    int status = 0;
    pid_t pid;

    snprintf(exe, sizeof(exe), "%s/tools/tuodictl/tuodictl", build ? build : "build");
    snprintf(op, sizeof(op), "%s/ctl.out", tmp);
    snprintf(ep, sizeof(ep), "%s/ctl.err", tmp);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        int o = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0)
            _exit(127);
        dup2(o, 1);
        dup2(e, 2);
        execv(exe, (char *const *)args);
        _exit(127);
    }
    CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
    *out = td_test_read_file(op, NULL);
    *errs = td_test_read_file(ep, NULL);
    CU_ASSERT_FATAL(*out && *errs);
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 1)
        fprintf(stderr, "\ntuodictl %s: status %d\n--- stdout\n%s--- stderr\n%s", args[3],
                status, *out, *errs);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A department file: lines[0] the header, UTF-8, without line ends. */
#define NLINES 9
typedef struct dfile {
    const char *name;
    char *lines[NLINES];
    size_t n;
    bool bad[NLINES];      /* a row the connector must reject */
    const char *why[NLINES]; /* words its reason holds */
    char *fixed[NLINES];   /* the bad row corrected */
} dfile;

static char *row_text(int f, int k, const char *id, const char *date, bool cut)
{
    char *s = NULL;
    CU_ASSERT_FATAL(asprintf(&s, "%s,%s%d,340421100201,%s,%s,%d.50,500.00,%d.25,否%s", id,
                             k % 2 ? "张" : "李", k, date, k % 2 ? "住院" : "门诊", 1000 + k,
                             100 + k, cut ? "" : (f == 0 ? ",F0R" : ",F1R")) >= 0);
    if (!cut) {
        char *t = NULL;
        CU_ASSERT_FATAL(asprintf(&t, "%s%d", s, k) >= 0);
        free(s);
        s = t;
    }
    return s;
}

/* File f with nrows rows; the rows k in bad get the fault of their kind. */
static void dfile_make(dfile *d, const char *name, int f, size_t nrows, const int *bad, size_t nbad)
{
    memset(d, 0, sizeof(*d));
    d->name = name;
    d->lines[0] = strdup("身份证号,姓名,村级区划代码,结算日期,就诊类型,医疗总费用,基金支付,"
                         "个人负担,是否大病,结算单号");
    d->n = nrows + 1;
    for (size_t i = 1; i <= nrows; i++) {
        int k = (int)i - 1;
        char id[19];
        int fault = 0;
        tdc_it_person_id(f, k, id);
        for (size_t b = 0; b < nbad; b++)
            if (bad[b] == k)
                fault = (int)b % 3 + 1;
        d->fixed[i] = row_text(f, k, id, "2023-05-06", false);
        if (fault == 1)
            id[17] = id[17] == '0' ? '1' : '0'; /* a wrong check character */
        d->lines[i] = row_text(f, k, id, fault == 2 ? "2023-02-30" : "2023-05-06", fault == 3);
        d->bad[i] = fault != 0;
        d->why[i] = fault == 1   ? "\"column\":\"身份证号\",\"stage\":\"validate\",\"reason\":"
                                   "\"身份证号: identity number's check character is wrong\""
                    : fault == 2 ? "\"column\":\"结算日期\",\"stage\":\"validate\",\"reason\":"
                                   "\"结算日期: \\\"2023-02-30\\\" is not a date"
                                 : "\"reason\":\"the row has 9 fields, the header has 10\"";
    }
}

static void dfile_free(dfile *d)
{
    for (size_t i = 0; i < NLINES; i++) {
        free(d->lines[i]);
        free(d->fixed[i]);
    }
}

/* The lines with CRLF (from: 0 with the header, 1 without; only: the bad
 * rows; fixed: the bad rows corrected). */
static char *dfile_text(const dfile *d, size_t from, bool only_bad, bool fixed)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    for (size_t i = from; i < d->n; i++) {
        if (i > 0 && only_bad && !d->bad[i])
            continue;
        fputs(fixed && d->bad[i] ? d->fixed[i] : d->lines[i], f);
        fputs("\r\n", f);
    }
    fclose(f);
    return buf;
}

/* Writes text into the spool as name (GB18030 when gb), then its marker. */
static void drop(const char *spool, const char *name, const char *text, bool gb)
{
    char path[4200], tmpf[4300];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", spool, name);
    snprintf(tmpf, sizeof(tmpf), "%s/.%s.tmp", spool, name);
    f = fopen(tmpf, "wb");
    CU_ASSERT_FATAL(f != NULL);
    if (gb) {
        iconv_t cd = iconv_open("GB18030", "UTF-8");
        size_t len = strlen(text), ocap = len * 2 + 16, li = len, lo = ocap;
        char *out = malloc(ocap), *in = (char *)text, *o = out;
        CU_ASSERT_FATAL(cd != (iconv_t)-1 && out && iconv(cd, &in, &li, &o, &lo) != (size_t)-1);
        iconv_close(cd);
        fwrite(out, 1, ocap - lo, f);
        free(out);
    } else {
        fputs(text, f);
    }
    CU_ASSERT_FATAL(fclose(f) == 0 && rename(tmpf, path) == 0);
    snprintf(path, sizeof(path), "%s/%s.done", spool, name);
    CU_ASSERT_FATAL(td_test_write_file(path, "") == 0);
}

/* A dead letter as tuodi-matchd writes it (daemon/tdm_engine.c). */
static void produce_matchd_dead_letter(const char *topic)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_error err = {0};
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    rd_kafka_header_add(h, "tuodi.matchd", -1, "matchd-it", -1);
    rd_kafka_header_add(h, "tuodi.dataset", -1, "medical_insurance", -1);
    rd_kafka_header_add(h, "tuodi.topic", -1, "it.records", -1);
    rd_kafka_header_add(h, "tuodi.partition", -1, "2", -1);
    rd_kafka_header_add(h, "tuodi.offset", -1, "4711", -1);
    rd_kafka_header_add(h, "tuodi.reason", -1, "not a MedicalSettlement record", -1);
    rd_kafka_header_add(h, "tuodi.stage", -1, "decode", -1);
    rd_kafka_header_add(h, "tuodi.source_bytes", -1, "3", -1);
    CU_ASSERT_FATAL(td_kafka_producer_conf_new(bootstrap, NULL, NULL, &conf, &err) == 0);
    CU_ASSERT_FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) == 0);
    CU_ASSERT_FATAL(td_kafka_produce(rk, topic, NULL, 0, "\x00\x01\x02", 3, h) ==
                    RD_KAFKA_RESP_ERR_NO_ERROR);
    CU_ASSERT_FATAL(rd_kafka_flush(rk, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR);
    td_kafka_destroy(rk);
}

/* No identity number of d (valid or not) in s, nor anything shaped like one. */
static void no_identity_numbers(const char *s, const dfile *d, int f)
{
    char *copy = strdup(s);
    for (int k = 0; k < (int)d->n - 1; k++) {
        char id[19];
        tdc_it_person_id(f, k, id);
        CU_ASSERT_PTR_NULL(strstr(s, id));
        id[17] = id[17] == '0' ? '1' : '0';
        CU_ASSERT_PTR_NULL(strstr(s, id));
    }
    CU_ASSERT_EQUAL(td_log_redact(copy), 0);
    free(copy);
}

static void test_dead_letters(void)
{
    static const int bad_a[] = {1, 4, 6}; /* check character, date, missing column */
    static const int bad_b[] = {2};
    char spool[4096], cfg[4096], ccfg[4096], log[4096], rows[4096], rows2[4096], topic[300];
    char *prefix = td_test_unique("ctl-dlq"), *o, *e, *want, *got, *text;
    const char *finished[2] = {"a.csv", "b.csv"};
    dfile a, b;
    struct stat st;
    size_t len = 0;
    pid_t pid;
    int64_t t0 = td_time_mono_ms();

    snprintf(spool, sizeof(spool), "%s/spool", tmp);
    snprintf(ccfg, sizeof(ccfg), "%s/connector.yaml", tmp);
    snprintf(cfg, sizeof(cfg), "%s/tuodictl.yaml", tmp);
    snprintf(log, sizeof(log), "%s/connector.log", tmp);
    snprintf(rows, sizeof(rows), "%s/a-rejected.csv", tmp);
    snprintf(rows2, sizeof(rows2), "%s/all-rejected.csv", tmp);
    snprintf(topic, sizeof(topic), "%s.dlq", prefix);
    CU_ASSERT_FATAL(mkdir(spool, 0755) == 0);
    CU_ASSERT_FATAL(tdc_it_write_config(ccfg, "medical-it", bootstrap, spool, prefix, 1000) == 0);
    {
        char t[8192];
        snprintf(t, sizeof(t),
                 "kafka:\n  bootstrap.servers: %s\n"
                 "schemas_dir: %s/schemas\n"
                 "places: %s/deploy/data/huainan-divisions.csv\n"
                 "timeout: 20s\n"
                 "topics:\n  dlq_medical_insurance: %s\n",
                 bootstrap, td_test_source_root(), td_test_source_root(), topic);
        CU_ASSERT_FATAL(td_test_write_file(cfg, t) == 0);
    }
    dfile_make(&a, "a.csv", 0, 8, bad_a, 3);
    dfile_make(&b, "b.csv", 1, 4, bad_b, 1);
    text = dfile_text(&a, 0, false, false);
    drop(spool, "a.csv", text, true); /* GB18030 */
    free(text);
    text = dfile_text(&b, 0, false, false);
    drop(spool, "b.csv", text, false);
    free(text);

    pid = tdc_it_spawn(ccfg, log);
    CU_ASSERT_FATAL(pid > 0);
    if (!tdc_it_wait_finished(spool, finished, 2, 20000)) {
        td_proc_show_log(log, 30);
        CU_FAIL_FATAL("the connector did not finish a.csv and b.csv within 20 s");
    }
    produce_matchd_dead_letter(topic);

    /* the table: every rejected row with file, row and reason; no identity
     * number; the summary */
    {
        const char *args[] = {"tuodictl", "--config", cfg, "dead-letters", "--dataset",
                              "medical_insurance", NULL};
        CU_ASSERT_EQUAL(ctl(args, &o, &e), 0);
        no_identity_numbers(o, &a, 0);
        no_identity_numbers(o, &b, 1);
        no_identity_numbers(e, &a, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "5 dead letters: a.csv 3, b.csv 1, tuodi-matchd 1\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "matchd matchd-it"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "it.records"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "[2] @4711"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "medical-it"));
        for (size_t i = 1; i < a.n; i++) {
            char *body = strchr(a.lines[i], ','); /* the row without its id */
            CU_ASSERT_PTR_NULL(strstr(o, body));
        }
        free(o);
        free(e);
    }
    /* json: each rejected row with its number and a reason naming it */
    {
        char rows3[4200];
        snprintf(rows3, sizeof(rows3), "%s/json-rows.csv", tmp);
        const char *args[] = {"tuodictl", "--config", cfg, "dead-letters", "--topic", topic,
                              "--format", "json", "--rows", rows3, NULL};
        const dfile *ds[2] = {&a, &b};
        CU_ASSERT_EQUAL(ctl(args, &o, &e), 0);
        no_identity_numbers(o, &a, 0);
        for (size_t f = 0; f < 2; f++)
            for (size_t i = 1; i < ds[f]->n; i++) {
                char want_row[256];
                const char *want_reason = ds[f]->why[i];
                snprintf(want_row, sizeof(want_row),
                         "\"instance\":\"medical-it\",\"dataset\":\"medical_insurance\","
                         "\"location\":\"%s\",\"row\":%zu,\"line\":%zu,", ds[f]->name, i + 1,
                         i + 1);
                char *at = strstr(o, want_row);
                CU_ASSERT_EQUAL(at != NULL, ds[f]->bad[i]);
                if (at) {
                    char *eol = strchr(at, '\n');
                    char *r = strstr(at, want_reason);
                    CU_ASSERT(r && (!eol || r < eol));
                    if (!r || (eol && r > eol))
                        fprintf(stderr, "\nno reason \"%s\" in: %.*s\n", want_reason,
                                (int)(eol ? eol - at : 300), at);
                }
            }
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "5 dead letters: a.csv 3, b.csv 1, tuodi-matchd 1\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "wrote 4 rows of 2 files to"));
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "not written: 1 dead letter of tuodi-matchd"));
        CU_ASSERT_EQUAL(o[0], '['); /* stdout stays json */
        free(o);
        free(e);
    }
    /* --since: by the record's day in China time */
    {
        char today[TD_AVRO_DATE_BUFSZ], tomorrow[TD_AVRO_DATE_BUFSZ];
        int32_t day = tdt_day_cst(td_time_wall_ms());
        td_avro_date_format(day, today);
        td_avro_date_format(day + 1, tomorrow);
        const char *a1[] = {"tuodictl", "--config", cfg, "dead-letters", "--dataset",
                            "medical_insurance", "--since", today, NULL};
        const char *a2[] = {"tuodictl", "--config", cfg, "dead-letters", "--dataset",
                            "medical_insurance", "--since", tomorrow, NULL};
        CU_ASSERT_EQUAL(ctl(a1, &o, &e), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "5 dead letters"));
        free(o);
        free(e);
        CU_ASSERT_EQUAL(ctl(a2, &o, &e), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "0 dead letters\n"));
        free(o);
        free(e);
    }
    /* --rows of one file: exactly its rejected rows, as read, in UTF-8;
     * with --header-from the original's header first */
    {
        char orig[4200];
        snprintf(orig, sizeof(orig), "%s/finished/a.csv", spool);
        const char *args[] = {"tuodictl", "--config", cfg, "dead-letters", "--dataset",
                              "medical_insurance", "--location", "a.csv", "--rows", rows,
                              "--header-from", orig, NULL};
        CU_ASSERT_EQUAL(ctl(args, &o, &e), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "3 dead letters: a.csv 3\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "wrote 3 rows of 1 file to"));
        CU_ASSERT_PTR_NULL(strstr(o, "b.csv"));
        no_identity_numbers(o, &a, 0);
        free(o);
        free(e);
        text = dfile_text(&a, 0, true, false);
        CU_ASSERT_FATAL(asprintf(&want, "\xEF\xBB\xBF%s", text) >= 0);
        free(text);
        got = td_test_read_file(rows, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        CU_ASSERT_EQUAL(len, strlen(want));
        CU_ASSERT(len == strlen(want) && memcmp(got, want, len) == 0);
        if (len != strlen(want) || memcmp(got, want, len) != 0)
            fprintf(stderr, "\nrows file:\n%s\nwanted:\n%s\n", got, want);
        CU_ASSERT(stat(rows, &st) == 0 && (st.st_mode & 07777) == 0600);
        free(got);
        free(want);
    }
    /* never overwritten */
    {
        const char *args[] = {"tuodictl", "--config", cfg, "dead-letters", "--dataset",
                              "medical_insurance", "--rows", rows, NULL};
        struct stat st2;
        CU_ASSERT_EQUAL(ctl(args, &o, &e), 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "the file exists"));
        CU_ASSERT(stat(rows, &st2) == 0 && st2.st_size == st.st_size &&
                  st2.st_mtim.tv_nsec == st.st_mtim.tv_nsec);
        free(o);
        free(e);
    }
    /* every file's rows, no header: matchd's record left out, said so */
    {
        const char *args[] = {"tuodictl", "--config", cfg, "dead-letters", "--dataset",
                              "medical_insurance", "--connector", "medical-it", "--export",
                              rows2, NULL};
        char *ta = dfile_text(&a, 1, true, false), *tb = dfile_text(&b, 1, true, false);
        CU_ASSERT_EQUAL(ctl(args, &o, &e), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "wrote 4 rows of 2 files"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "4 dead letters: a.csv 3, b.csv 1\n"));
        CU_ASSERT_FATAL(asprintf(&want, "\xEF\xBB\xBF%s%s", ta, tb) >= 0);
        got = td_test_read_file(rows2, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        CU_ASSERT(len == strlen(want) && memcmp(got, want, len) == 0);
        free(got);
        free(want);
        free(ta);
        free(tb);
        free(o);
        free(e);
    }
    /* the department fixes the rows and drops the file again: published,
     * no new dead letter */
    {
        const char *args[] = {"tuodictl", "--config", cfg, "dead-letters", "--dataset",
                              "medical_insurance", "--location", "a-fixed.csv", NULL};
        const char *fin[1] = {"a-fixed.csv"};
        char *fixed = dfile_text(&a, 0, true, true);
        CU_ASSERT_FATAL(asprintf(&text, "\xEF\xBB\xBF%s", fixed) >= 0);
        drop(spool, "a-fixed.csv", text, false);
        free(text);
        free(fixed);
        CU_ASSERT(tdc_it_wait_finished(spool, fin, 1, 20000));
        CU_ASSERT_EQUAL(ctl(args, &o, &e), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "0 dead letters\n"));
        free(o);
        free(e);
    }
    {
        int stt = tdc_it_stop(pid, SIGTERM, 20000);
        CU_ASSERT(stt >= 0 && WIFEXITED(stt) && WEXITSTATUS(stt) == 0);
        CU_ASSERT_EQUAL(td_proc_log_count(log, "a-fixed.csv: 3 rows read (from row 2) = 3 "
                                                "published + 0 rejected"), 1);
    }
    fprintf(stderr, "\n  dead-letters end to end: %.1f s\n", (td_time_mono_ms() - t0) / 1000.0);
    dfile_free(&a);
    dfile_free(&b);
    free(prefix);
}

static void add_suites(void)
{
    td_test_suite("dead_letters", setup, teardown);
    TD_TEST(test_dead_letters);
}

TD_TEST_MAIN(add_suites)
