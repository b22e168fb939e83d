/* tuodi-connector against hostile files on the real broker: rows that no
 * Kafka message could carry must become dead letters (cut to fit, with their
 * reason and original size), the rows after them published, the connector
 * still running, and rows read = published + rejected.
 *
 *   hostile.csv (UTF-8, max_row_bytes: 1MiB, which the connector lowers to
 *   what Kafka's default 1,000,000-byte messages carry):
 *     a 50 MB single line, a row of 1.02 MB (inside 1 MiB), a row of 100,000
 *     columns, each between valid rows;
 *   hostile-gb.csv (GB18030): a row of 680 KB whose name (340,000 characters)
 *     becomes 1.02 MB in UTF-8: inside the row limit, but its record is too
 *     big for a Kafka message.
 *
 *   itest_connector_limits
 */
#include "td_kafka.h"
#include "td_test.h"
#include "td_time.h"
#include "tdc_it.h"

#include <iconv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KAFKA_MAX_MESSAGE 1000000 /* librdkafka's default message.max.bytes */

typedef struct fixture {
    char *dir;
    char spool[4096];
    char config[4096];
    char log[4096];
    char prefix[256];
    const char *bootstrap;
} fixture;

/* A spool dir and a config with max_row_bytes: 1MiB. */
static int fixture_new(fixture *fx, const char *bootstrap)
{
    char *u = td_test_unique("tdc-limits");
    char *text = NULL, *at;
    const char *anchor = "    poll_interval: 200ms\n";
    int r = -1;

    memset(fx, 0, sizeof(*fx));
    fx->dir = td_test_tmpdir();
    if (!fx->dir || !u)
        goto out;
    snprintf(fx->spool, sizeof(fx->spool), "%s/spool", fx->dir);
    snprintf(fx->config, sizeof(fx->config), "%s/connector.yaml", fx->dir);
    snprintf(fx->log, sizeof(fx->log), "%s/connector.log", fx->dir);
    snprintf(fx->prefix, sizeof(fx->prefix), "%s", u);
    fx->bootstrap = bootstrap;
    if (mkdir(fx->spool, 0755) < 0 ||
        tdc_it_write_config(fx->config, fx->prefix, bootstrap, fx->spool, fx->prefix, 1000) < 0)
        goto out;
    text = td_test_read_file(fx->config, NULL);
    if (!text || !(at = strstr(text, anchor)))
        goto out;
    {
        size_t cut = (size_t)(at - text) + strlen(anchor);
        char *with = malloc(strlen(text) + 64);
        if (!with)
            goto out;
        snprintf(with, strlen(text) + 64, "%.*s    max_row_bytes: 1MiB\n%s", (int)cut, text,
                 text + cut);
        r = td_test_write_file(fx->config, with);
        free(with);
    }
out:
    free(text);
    free(u);
    return r;
}

static void fixture_free(fixture *fx)
{
    if (getenv("TD_KEEP_TMP"))
        fprintf(stderr, "kept %s\n", fx->dir);
    else
        td_test_rmtree(fx->dir);
    free(fx->dir);
}

static void show_log(const fixture *fx)
{
    char *log = td_test_read_file(fx->log, NULL);
    if (log) {
        size_t len = strlen(log);
        fprintf(stderr, "--- connector log (last 4000 bytes) ---\n%s\n",
                len > 4000 ? log + len - 4000 : log);
        free(log);
    }
}

/* ------------------------------------------------------------ the files */

/* A growing text buffer. */
typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1 << 20;
        while (t->len + n + 1 > cap)
            cap *= 2;
        t->p = realloc(t->p, cap);
        if (!t->p)
            abort();
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void puts_(text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void put_repeat(text *t, const char *s, size_t times)
{
    for (size_t i = 0; i < times; i++)
        puts_(t, s);
}

static const char header[] = "身份证号,姓名,村级区划代码,结算日期,就诊类型,医疗总费用,基金支付,"
                             "个人负担,是否大病,结算单号\r\n";

/* A valid row of file f, person k, whose name is name_text repeated
 * name_times times (NULL: an ordinary name). */
static void put_row(text *t, int f, int k, const char *name_text, size_t name_times)
{
    char id[19], rest[256];

    tdc_it_person_id(f, k, id);
    puts_(t, id);
    puts_(t, ",");
    if (name_text)
        put_repeat(t, name_text, name_times);
    else
        puts_(t, "张三");
    snprintf(rest, sizeof(rest), ",3404%02d100201,2023-%02d-%02d,门诊,%d.50,500.00,100.25,否,"
             "F%dR%d\r\n", 21 + f % 7, 1 + k % 12, 1 + k % 28, 1000 + k, f, k);
    puts_(t, rest);
}

/* Writes t (UTF-8) to dir/name, converted to GB18030 if asked, and the
 * .done marker. */
static int write_file(const char *dir, const char *name, const text *t, bool gb18030)
{
    char path[4096], tmp[4200];
    FILE *f;
    int r = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    f = fopen(tmp, "wb");
    if (!f)
        return -1;
    if (gb18030) {
        iconv_t cd = iconv_open("GB18030", "UTF-8");
        size_t ocap = t->len * 2 + 16, left_in = t->len, left_out = ocap;
        char *out = malloc(ocap), *in = t->p, *o = out;
        if (cd == (iconv_t)-1 || !out || iconv(cd, &in, &left_in, &o, &left_out) == (size_t)-1)
            r = -1;
        else if (fwrite(out, 1, ocap - left_out, f) != ocap - left_out)
            r = -1;
        if (cd != (iconv_t)-1)
            iconv_close(cd);
        free(out);
    } else if (fwrite("\xEF\xBB\xBF", 1, 3, f) != 3 || fwrite(t->p, 1, t->len, f) != t->len) {
        r = -1;
    }
    if (fclose(f) != 0 || r < 0 || rename(tmp, path) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/%s.done", dir, name);
    return td_test_write_file(path, "");
}

/* ------------------------------------------------------- the dead letters */

typedef struct dead_letter {
    char location[256];
    int64_t row;
    char reason[1024];
    char stage[32];
    int64_t source_bytes; /* -1: no header */
    bool truncated;
    size_t len;           /* of the value */
    size_t size;          /* of the whole message, as librdkafka counts it */
    bool utf8;            /* the value is valid UTF-8 (not cut inside a character) */
} dead_letter;

static bool valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = s[i] < 0x80 ? 1 : (s[i] & 0xE0) == 0xC0 ? 2 : (s[i] & 0xF0) == 0xE0 ? 3
                                   : (s[i] & 0xF8) == 0xF0 ? 4 : 0;
        if (k == 0 || i + k > n)
            return false;
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
        i += k;
    }
    return true;
}

static void header_text(rd_kafka_headers_t *h, const char *name, char *buf, size_t size)
{
    const void *v;
    size_t vl;

    buf[0] = '\0';
    if (rd_kafka_header_get_last(h, name, &v, &vl) == RD_KAFKA_RESP_ERR_NO_ERROR && v) {
        if (vl >= size)
            vl = size - 1;
        memcpy(buf, v, vl);
        buf[vl] = '\0';
    }
}

/* Reads the one-partition topic to its end (read_committed). */
static int read_dead_letters(const char *bootstrap, const char *topic, dead_letter *out,
                             size_t max, size_t *n)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *parts;
    td_error err = {0};
    char group[128];
    int64_t until = td_time_mono_ms() + 60000;
    bool eof = false;

    *n = 0;
    snprintf(group, sizeof(group), "tdc-limits-reader-%d", (int)getpid());
    if (td_kafka_consumer_conf_new(bootstrap, group, NULL, &conf, &err) < 0 ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0) != RD_KAFKA_CONF_OK ||
        td_kafka_new(RD_KAFKA_CONSUMER, conf, &rk, &err) < 0) {
        fprintf(stderr, "read_dead_letters: %s\n", err.msg);
        return -1;
    }
    parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    while (!eof && td_time_mono_ms() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        rd_kafka_headers_t *h = NULL;
        char num[32];

        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eof = true;
        } else if (!m->err && *n < max &&
                   rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            dead_letter *d = &out[(*n)++];
            header_text(h, "tuodi.location", d->location, sizeof(d->location));
            header_text(h, "tuodi.row", num, sizeof(num));
            d->row = atoll(num);
            header_text(h, "tuodi.reason", d->reason, sizeof(d->reason));
            header_text(h, "tuodi.stage", d->stage, sizeof(d->stage));
            header_text(h, "tuodi.source_bytes", num, sizeof(num));
            d->source_bytes = num[0] ? atoll(num) : -1;
            header_text(h, "tuodi.truncated", num, sizeof(num));
            d->truncated = strcmp(num, "true") == 0;
            d->len = m->len;
            d->utf8 = valid_utf8(m->payload, m->len);
            d->size = td_kafka_message_size(m->key_len, m->len, h);
        } else if (!m->err) {
            (*n)++; /* a message without headers: counted, and fails the checks */
        }
        rd_kafka_message_destroy(m);
    }
    td_kafka_destroy(rk);
    return eof ? 0 : -1;
}

static const dead_letter *find(const dead_letter *d, size_t n, const char *location, int64_t row)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(d[i].location, location) == 0 && d[i].row == row)
            return &d[i];
    return NULL;
}

/* ------------------------------------------------------------- the test */

static void test_hostile_rows(void)
{
    fixture fx;
    const char *names[] = {"hostile.csv", "hostile-gb.csv"};
    text a = {0}, g = {0};
    tdc_it_seen rec;
    dead_letter dl[16];
    size_t ndl = 0;
    char topic[300], schemas[4096];
    const dead_letter *d;
    char *log;
    pid_t pid;
    int st;

    CU_ASSERT_EQUAL_FATAL(fixture_new(&fx, td_test_bootstrap()), 0);

    /* hostile.csv: 15 data rows (rows 2-16); k 3, 7 and 11 are hostile */
    puts_(&a, header);
    for (int k = 0; k < 15; k++) {
        if (k == 3) {
            put_row(&a, 0, k, "a", 50u * 1000 * 1000); /* a 50 MB line */
        } else if (k == 7) {
            put_row(&a, 0, k, "b", 1020u * 1000); /* 1.02 MB, inside 1 MiB */
        } else if (k == 11) {
            char id[19];
            tdc_it_person_id(0, k, id);
            puts_(&a, id);
            put_repeat(&a, ",cell", 99998); /* 100,000 columns, 500 KB */
            puts_(&a, ",F0R11\r\n");
        } else {
            put_row(&a, 0, k, NULL, 0);
        }
    }
    /* hostile-gb.csv: 5 data rows; k 2's name is 340,000 characters: 680 KB
     * in GB18030, 1.02 MB in UTF-8 */
    puts_(&g, header);
    for (int k = 0; k < 5; k++)
        put_row(&g, 1, k, k == 2 ? "张" : NULL, k == 2 ? 340000u : 0);
    CU_ASSERT_EQUAL_FATAL(write_file(fx.spool, names[0], &a, false), 0);
    CU_ASSERT_EQUAL_FATAL(write_file(fx.spool, names[1], &g, true), 0);
    free(a.p);
    free(g.p);

    pid = tdc_it_spawn(fx.config, fx.log);
    CU_ASSERT_FATAL(pid > 0);
    {
        /* both files finished, or the connector gone */
        int64_t until = td_time_mono_ms() + 120000;
        bool done = false;
        while (!done && td_time_mono_ms() < until && waitpid(pid, &st, WNOHANG) == 0)
            done = tdc_it_wait_finished(fx.spool, names, 2, 500);
        if (!done) {
            show_log(&fx);
            CU_FAIL("files not finished");
        }
    }
    /* still running after every hostile row */
    if (kill(pid, 0) != 0 || waitpid(pid, &st, WNOHANG) != 0) {
        show_log(&fx);
        CU_FAIL("the connector exited");
        printf("\n    the connector ended: %s %d\n", WIFEXITED(st) ? "exit" : "signal",
               WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    } else {
        st = tdc_it_stop(pid, SIGTERM, 30000);
        CU_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }

    /* the valid rows published once each */
    snprintf(schemas, sizeof(schemas), "%s/schemas", td_test_source_root());
    snprintf(topic, sizeof(topic), "%s.records", fx.prefix);
    CU_ASSERT_EQUAL_FATAL(tdc_it_read(fx.bootstrap, topic, false, schemas, &rec), 0);
    CU_ASSERT_EQUAL(rec.total, 12 + 4);
    CU_ASSERT_EQUAL(rec.unparsed, 0);
    for (int k = 0; k < 15; k++)
        CU_ASSERT_EQUAL(rec.count[k], (k == 3 || k == 7 || k == 11) ? 0 : 1);
    for (int k = 0; k < 5; k++)
        CU_ASSERT_EQUAL(rec.count[TDC_IT_MAX_ROWS + k], k == 2 ? 0 : 1);
    tdc_it_seen_free(&rec);

    /* the hostile rows dead-lettered once each, with reason and size */
    snprintf(topic, sizeof(topic), "%s.dlq", fx.prefix);
    CU_ASSERT_EQUAL_FATAL(read_dead_letters(fx.bootstrap, topic, dl, 16, &ndl), 0);
    printf("\n    %zu dead letters\n", ndl);
    for (size_t i = 0; i < ndl; i++) {
        printf("    %s row %lld: %zu bytes (message %zu), source %lld bytes%s, %s: %.160s\n",
               dl[i].location, (long long)dl[i].row, dl[i].len, dl[i].size,
               (long long)dl[i].source_bytes, dl[i].truncated ? ", truncated" : "",
               dl[i].stage, dl[i].reason);
        CU_ASSERT(dl[i].size <= KAFKA_MAX_MESSAGE);
        CU_ASSERT(dl[i].reason[0] != '\0');
        CU_ASSERT(dl[i].utf8);
    }
    CU_ASSERT_EQUAL(ndl, 4);

    d = find(dl, ndl, "hostile.csv", 5); /* the 50 MB line */
    CU_ASSERT_PTR_NOT_NULL(d);
    if (d) {
        CU_ASSERT_PTR_NOT_NULL(strstr(d->reason, "row is longer than"));
        CU_ASSERT(d->source_bytes > 50 * 1000 * 1000);
        CU_ASSERT(d->truncated);
        CU_ASSERT(d->len > 900 * 1000);
    }
    d = find(dl, ndl, "hostile.csv", 9); /* 1.02 MB */
    CU_ASSERT_PTR_NOT_NULL(d);
    if (d) {
        CU_ASSERT_PTR_NOT_NULL(strstr(d->reason, "row is longer than"));
        CU_ASSERT(d->source_bytes > 1020 * 1000 && d->source_bytes < 1021 * 1000);
        CU_ASSERT(d->truncated);
    }
    d = find(dl, ndl, "hostile.csv", 13); /* 100,000 columns */
    CU_ASSERT_PTR_NOT_NULL(d);
    if (d) {
        CU_ASSERT_PTR_NOT_NULL(strstr(d->reason, "100000 fields"));
        CU_ASSERT(!d->truncated);
        CU_ASSERT_EQUAL((int64_t)d->len + 2, d->source_bytes); /* whole, without CRLF */
    }
    d = find(dl, ndl, "hostile-gb.csv", 4); /* its record is too big */
    CU_ASSERT_PTR_NOT_NULL(d);
    if (d) {
        CU_ASSERT_PTR_NOT_NULL(strstr(d->reason, "the record of this row is"));
        CU_ASSERT_STRING_EQUAL(d->stage, "produce");
        CU_ASSERT(d->source_bytes > 680 * 1000 && d->source_bytes < 681 * 1000);
        CU_ASSERT(d->truncated);
        CU_ASSERT(d->len > 900 * 1000);
    }

    /* counts = rows in, the row limit lowered with a notice */
    log = td_test_read_file(fx.log, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "hostile.csv: 15 rows read (from row 2) = 12 published "
                                       "+ 3 rejected"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "hostile-gb.csv: 5 rows read (from row 2) = 4 "
                                       "published + 1 rejected"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "source.spooldir.max_row_bytes lowered from 1048576"));
    CU_ASSERT_PTR_NULL(strstr(log, "please report"));
    CU_ASSERT_PTR_NULL(strstr(log, "aborted"));
    free(log);
    fixture_free(&fx);
}

/* Sets topic's config key to value (AlterConfigs, which replaces the
 * topic's other overrides: fine for a test topic). 0 or -1. */
static int alter_topic(const char *bootstrap, const char *topic, const char *key,
                       const char *value)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_queue_t *q;
    rd_kafka_ConfigResource_t *res;
    rd_kafka_event_t *ev;
    td_error err = {0};
    int rc = -1;

    if (td_kafka_producer_conf_new(bootstrap, NULL, NULL, &conf, &err) < 0 ||
        td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) < 0) {
        fprintf(stderr, "alter_topic: %s\n", err.msg);
        return -1;
    }
    q = rd_kafka_queue_new(rk);
    res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_ConfigResource_set_config(res, key, value);
    rd_kafka_AlterConfigs(rk, &res, 1, NULL, q);
    ev = rd_kafka_queue_poll(q, 30000);
    if (ev && rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        size_t n = 0;
        const rd_kafka_ConfigResource_t **rs = rd_kafka_AlterConfigs_result_resources(
            rd_kafka_event_AlterConfigs_result(ev), &n);
        rc = n == 1 && rd_kafka_ConfigResource_error(rs[0]) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0
                                                                                        : -1;
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(q);
    td_kafka_destroy(rk);
    return rc;
}

/* The records topic's max.message.bytes lowered to 100,000 while the
 * connector runs: the limits read at start let a 300 KB row (of letters
 * that lz4 cannot shrink) through to the producer, and the broker refuses
 * its batch. The transaction aborts; the connector reads the limits again
 * with a new producer and redoes the rows from the committed position:
 * the row becomes a dead letter, the others are published once, and the
 * connector keeps running. */
static void test_limit_lowered_while_running(void)
{
    fixture fx;
    const char *names[] = {"first.csv", "second.csv"};
    text a = {0}, b = {0};
    tdc_it_seen rec;
    dead_letter dl[8];
    size_t ndl = 0;
    char topic[300], schemas[4096], v[64] = "", big[300001];
    uint32_t x = 12345;
    char *log;
    pid_t pid;
    int st;

    CU_ASSERT_EQUAL_FATAL(fixture_new(&fx, td_test_bootstrap()), 0);
    for (size_t i = 0; i < sizeof(big) - 1; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (char)('a' + (x >> 16) % 26);
    }
    big[sizeof(big) - 1] = '\0';
    puts_(&a, header);
    for (int k = 0; k < 5; k++)
        put_row(&a, 0, k, NULL, 0);
    puts_(&b, header);
    for (int k = 0; k < 5; k++)
        put_row(&b, 1, k, k == 2 ? big : NULL, 1);

    CU_ASSERT_EQUAL_FATAL(write_file(fx.spool, names[0], &a, false), 0);
    pid = tdc_it_spawn(fx.config, fx.log);
    CU_ASSERT_FATAL(pid > 0);
    if (!tdc_it_wait_finished(fx.spool, names, 1, 60000)) {
        show_log(&fx);
        CU_FAIL("first file not finished");
    }
    snprintf(topic, sizeof(topic), "%s.records", fx.prefix);
    CU_ASSERT_EQUAL_FATAL(alter_topic(fx.bootstrap, topic, "max.message.bytes", "100000"), 0);
    CU_ASSERT_EQUAL(tdc_it_topic_config(fx.bootstrap, topic, "max.message.bytes", v, sizeof(v)),
                    0);
    CU_ASSERT_STRING_EQUAL(v, "100000");
    CU_ASSERT_EQUAL_FATAL(write_file(fx.spool, names[1], &b, false), 0);
    {
        int64_t until = td_time_mono_ms() + 120000;
        bool done = false;
        while (!done && td_time_mono_ms() < until && waitpid(pid, &st, WNOHANG) == 0)
            done = tdc_it_wait_finished(fx.spool, names, 2, 500);
        if (!done) {
            show_log(&fx);
            CU_FAIL("second file not finished");
        }
    }
    if (kill(pid, 0) != 0 || waitpid(pid, &st, WNOHANG) != 0) {
        show_log(&fx);
        CU_FAIL("the connector exited");
    } else {
        st = tdc_it_stop(pid, SIGTERM, 30000);
        CU_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }

    snprintf(schemas, sizeof(schemas), "%s/schemas", td_test_source_root());
    CU_ASSERT_EQUAL_FATAL(tdc_it_read(fx.bootstrap, topic, false, schemas, &rec), 0);
    CU_ASSERT_EQUAL(rec.total, 5 + 4);
    CU_ASSERT_EQUAL(rec.unparsed, 0);
    for (int k = 0; k < 5; k++) {
        CU_ASSERT_EQUAL(rec.count[k], 1);
        CU_ASSERT_EQUAL(rec.count[TDC_IT_MAX_ROWS + k], k == 2 ? 0 : 1);
    }
    tdc_it_seen_free(&rec);

    snprintf(topic, sizeof(topic), "%s.dlq", fx.prefix);
    CU_ASSERT_EQUAL_FATAL(read_dead_letters(fx.bootstrap, topic, dl, 8, &ndl), 0);
    CU_ASSERT_EQUAL(ndl, 1);
    if (ndl >= 1) {
        printf("\n    %s row %lld: %zu bytes (message %zu), source %lld bytes%s: %.160s\n",
               dl[0].location, (long long)dl[0].row, dl[0].len, dl[0].size,
               (long long)dl[0].source_bytes, dl[0].truncated ? ", truncated" : "", dl[0].reason);
        CU_ASSERT_STRING_EQUAL(dl[0].location, "second.csv");
        CU_ASSERT_EQUAL(dl[0].row, 4);
        CU_ASSERT(dl[0].truncated);
        CU_ASSERT(dl[0].source_bytes > 300000);
        CU_ASSERT(dl[0].size < 100000);
    }

    log = td_test_read_file(fx.log, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "second.csv: 5 rows read (from row 2) = 4 published + "
                                       "1 rejected"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "kafka.message.max.bytes and kafka.batch.size lowered "
                                       "from 1000000 to 99436"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "message of 99436 bytes (max.message.bytes 100000 of "
                                       "topic "));
    CU_ASSERT_PTR_NULL(strstr(log, "please report"));
    free(log);
    free(a.p);
    free(b.p);
    fixture_free(&fx);
}

/* A roster household whose record is too big for a Kafka message (three
 * members with 600 KB names, each row inside the row limit): each of its
 * rows becomes a dead letter naming the household's rows; the households
 * around it are published. */
static void test_roster_household_too_big(void)
{
    fixture fx;
    const char *names[] = {"roster.csv"};
    text t = {0};
    tdc_it_seen rec;
    dead_letter dl[8];
    size_t ndl = 0;
    char topic[300], schemas[4096], *cfg, *at, *log;
    int rows = 0, st;
    pid_t pid;

    CU_ASSERT_EQUAL_FATAL(fixture_new(&fx, td_test_bootstrap()), 0);
    cfg = td_test_read_file(fx.config, NULL);
    at = cfg ? strstr(cfg, "medical_insurance") : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    memcpy(at, "roster           ", 17);
    CU_ASSERT_EQUAL(td_test_write_file(fx.config, cfg), 0);
    free(cfg);

    puts_(&t, "户编号,村级区划代码,网格编号,户类型,监测状态,身份证号,姓名,与户主关系,劳动技能,"
              "行号\n");
    /* households 0 (2 members), 1 (3 members, too big together), 2 (1) */
    for (int h = 0; h < 3; h++) {
        int n = h == 0 ? 2 : h == 1 ? 3 : 1;
        for (int m = 0; m < n; m++) {
            char id[19], line[256];
            tdc_it_person_id(5, h * 5 + m, id);
            snprintf(line, sizeof(line), "F0R%d,340421100201,G001,一般农户,,%s,", h, id);
            puts_(&t, line);
            if (h == 1)
                put_repeat(&t, "x", 600000);
            else
                puts_(&t, "李四");
            snprintf(line, sizeof(line), ",%s,普通劳动力,F1R%d\n", m == 0 ? "户主" : "配偶",
                     rows++);
            puts_(&t, line);
        }
    }
    CU_ASSERT_EQUAL_FATAL(write_file(fx.spool, names[0], &t, false), 0);
    free(t.p);

    pid = tdc_it_spawn(fx.config, fx.log);
    CU_ASSERT_FATAL(pid > 0);
    {
        int64_t until = td_time_mono_ms() + 60000;
        bool done = false;
        while (!done && td_time_mono_ms() < until && waitpid(pid, &st, WNOHANG) == 0)
            done = tdc_it_wait_finished(fx.spool, names, 1, 500);
        if (!done) {
            show_log(&fx);
            CU_FAIL("roster not finished");
        }
    }
    if (kill(pid, 0) != 0 || waitpid(pid, &st, WNOHANG) != 0) {
        show_log(&fx);
        CU_FAIL("the connector exited");
    } else {
        st = tdc_it_stop(pid, SIGTERM, 30000);
        CU_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }

    snprintf(schemas, sizeof(schemas), "%s/schemas", td_test_source_root());
    snprintf(topic, sizeof(topic), "%s.records", fx.prefix);
    CU_ASSERT_EQUAL_FATAL(tdc_it_read_records(fx.bootstrap, topic, "cn.tuodi.Household",
                                              schemas, &rec, NULL), 0);
    CU_ASSERT_EQUAL(rec.total, 2);
    CU_ASSERT_EQUAL(rec.count[0], 1);
    CU_ASSERT_EQUAL(rec.count[1], 0);
    CU_ASSERT_EQUAL(rec.count[2], 1);
    tdc_it_seen_free(&rec);

    snprintf(topic, sizeof(topic), "%s.dlq", fx.prefix);
    CU_ASSERT_EQUAL_FATAL(read_dead_letters(fx.bootstrap, topic, dl, 8, &ndl), 0);
    CU_ASSERT_EQUAL(ndl, 3);
    for (size_t i = 0; i < ndl; i++) {
        printf("\n    %s row %lld: %zu bytes (message %zu)%s, %s: %.160s", dl[i].location,
               (long long)dl[i].row, dl[i].len, dl[i].size, dl[i].truncated ? ", truncated" : "",
               dl[i].stage, dl[i].reason);
        CU_ASSERT_EQUAL(dl[i].row, 4 + (int64_t)i); /* rows 4-6, in order */
        CU_ASSERT_STRING_EQUAL(dl[i].stage, "produce");
        CU_ASSERT_PTR_NOT_NULL(strstr(dl[i].reason, "the household record of rows 4-6 is "));
        CU_ASSERT(!dl[i].truncated);
        CU_ASSERT(dl[i].size <= KAFKA_MAX_MESSAGE);
    }
    printf("\n");
    log = td_test_read_file(fx.log, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "roster.csv: 6 rows read (from row 2) = 3 published + 3 "
                                       "rejected"));
    free(log);
    fixture_free(&fx);
}

/* Runs the connector on fx's config until it exits (at most 60 s); its
 * exit status as from waitpid, or -1. */
static int run_until_exit(const fixture *fx)
{
    pid_t pid = tdc_it_spawn(fx->config, fx->log);
    int64_t until = td_time_mono_ms() + 60000;
    int st;

    while (td_time_mono_ms() < until) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return st;
        usleep(50000);
    }
    tdc_it_stop(pid, SIGKILL, 5000);
    return -1;
}

/* Limits that cannot agree are refused at start with an error naming the
 * setting's file:line:col or the topic: kafka.message.max.bytes too small
 * for any row, then a DLQ topic whose max.message.bytes is. */
static void test_limits_that_cannot_agree(void)
{
    fixture fx;
    char *conf, *with, *log, topic[300], want[512];
    const char *anchor = "  bootstrap.servers:";
    int st, line = 1;

    CU_ASSERT_EQUAL_FATAL(fixture_new(&fx, td_test_bootstrap()), 0);
    conf = td_test_read_file(fx.config, NULL);
    CU_ASSERT_FATAL(conf && strstr(conf, anchor));
    for (const char *p = conf; p < strstr(conf, anchor); p++)
        line += *p == '\n';
    with = malloc(strlen(conf) + 64);
    CU_ASSERT_FATAL(with != NULL);
    snprintf(with, strlen(conf) + 64, "%.*s  message.max.bytes: 5000\n%s",
             (int)(strstr(conf, anchor) - conf), conf, strstr(conf, anchor));
    CU_ASSERT_EQUAL(td_test_write_file(fx.config, with), 0);
    st = run_until_exit(&fx);
    CU_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
    log = td_test_read_file(fx.log, NULL);
    snprintf(want, sizeof(want), "connector.yaml:%d:3: kafka.message.max.bytes: 5000 is too "
             "little", line);
    CU_ASSERT(log && strstr(log, want));
    if (!log || !strstr(log, want))
        show_log(&fx);
    free(log);

    /* the original config; a DLQ topic that takes 10,000-byte batches */
    CU_ASSERT_EQUAL(td_test_write_file(fx.config, conf), 0);
    snprintf(topic, sizeof(topic), "%s.dlq", fx.prefix);
    CU_ASSERT_EQUAL(alter_topic(fx.bootstrap, topic, "max.message.bytes", "10000"), 0);
    CU_ASSERT_EQUAL(td_test_write_file(fx.log, ""), 0);
    st = run_until_exit(&fx);
    CU_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
    log = td_test_read_file(fx.log, NULL);
    snprintf(want, sizeof(want), "topic %s takes record batches of at most 10000 bytes "
             "(max.message.bytes): too little", topic);
    CU_ASSERT(log && strstr(log, want));
    if (!log || !strstr(log, want))
        show_log(&fx);
    free(log);
    free(with);
    free(conf);
    fixture_free(&fx);
}

static void add_suites(void)
{
    td_test_suite("connector_limits", NULL, NULL);
    TD_TEST(test_hostile_rows);
    TD_TEST(test_limit_lowered_while_running);
    TD_TEST(test_limits_that_cannot_agree);
    TD_TEST(test_roster_household_too_big);
}

TD_TEST_MAIN(add_suites)
