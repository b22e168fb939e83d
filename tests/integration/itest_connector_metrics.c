/* tuodi-connector's /metrics, /health and /ready on the real broker:
 *
 *   itest_connector_metrics metrics   the figures after a run equal what
 *                                     happened (rows, rejections by reason
 *                                     class, files), the text passes
 *                                     `promtool check metrics` and holds no
 *                                     identity number (KAFKA_BOOTSTRAP)
 *   itest_connector_metrics ready     /ready turns 503 when the broker stops
 *                                     and 200 when it is back (a broker of
 *                                     its own)
 *   itest_connector_metrics pglag     source_lag_rows of a postgres source:
 *                                     the whole table at the start, 0 once
 *                                     caught up, exactly the rows inserted
 *                                     while it was stopped at the restart;
 *                                     source_held_seconds while a
 *                                     transaction is left open, the rows
 *                                     behind it in source_lag_rows, one
 *                                     warning (KAFKA_BOOTSTRAP, a
 *                                     PostgreSQL of its own)
 */
#include "td_pg.h"
#include "td_test.h"
#include "td_time.h"
#include "tdc_it.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct fixture {
    char *dir;
    char spool[4096], config[4096], log[4096], prefix[256];
    pid_t pid;
    int port;
} fixture;

static int fixture_new(fixture *fx, const char *bootstrap)
{
    char *u = td_test_unique("tdc-metrics");
    FILE *f;

    memset(fx, 0, sizeof(*fx));
    fx->dir = td_test_tmpdir();
    if (!fx->dir || !u)
        return -1;
    snprintf(fx->spool, sizeof(fx->spool), "%s/spool", fx->dir);
    snprintf(fx->config, sizeof(fx->config), "%s/connector.yaml", fx->dir);
    snprintf(fx->log, sizeof(fx->log), "%s/connector.log", fx->dir);
    snprintf(fx->prefix, sizeof(fx->prefix), "%s", u);
    free(u);
    if (mkdir(fx->spool, 0755) < 0)
        return -1;
    /* statistics every second, so that /ready follows the broker quickly */
    tdc_it_kafka_lines = "  statistics.interval.ms: 1000\n";
    if (tdc_it_write_config(fx->config, fx->prefix, bootstrap, fx->spool, fx->prefix, 300) < 0)
        return -1;
    tdc_it_kafka_lines = NULL;
    f = fopen(fx->config, "a");
    if (!f)
        return -1;
    fprintf(f, "http:\n  listen: 127.0.0.1:0\n");
    return fclose(f) == 0 ? 0 : -1;
}

static void fixture_free(fixture *fx)
{
    if (fx->pid > 0)
        tdc_it_stop(fx->pid, SIGKILL, 5000);
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
        fprintf(stderr, "--- connector log (last 3000 bytes) ---\n%s\n",
                len > 3000 ? log + len - 3000 : log);
        free(log);
    }
}

/* The port from the log line "http: listening on 127.0.0.1:PORT". */
static int find_port(const fixture *fx, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        char *log = td_test_read_file(fx->log, NULL);
        const char *p = log ? strstr(log, "http: listening on 127.0.0.1:") : NULL;
        int port = p ? atoi(p + strlen("http: listening on 127.0.0.1:")) : 0;

        free(log);
        if (port > 0)
            return port;
        usleep(100 * 1000);
    }
    return -1;
}

/* GET path: the status code (-1: no answer) and the body (malloc'd) in
 * *body when body. */
static int http_get(int port, const char *path, char **body)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char req[256], *buf = NULL, *sep;
    size_t len = 0, cap = 0;
    int fd, status = -1;
    ssize_t n;

    if (body)
        *body = NULL;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        close(fd);
        return -1;
    }
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);
            if (!nb)
                break;
            buf = nb;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (!buf)
        return -1;
    buf[len] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        status = -1;
    sep = strstr(buf, "\r\n\r\n");
    if (body && sep)
        *body = strdup(sep + 4);
    free(buf);
    return status;
}

/* The value of the series line that starts with series (name and labels,
 * exactly) in text; NAN when there is none. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return NAN;
}

/* A number of 15 or 18 characters (the last maybe X) standing alone: an
 * identity number. Digits after a decimal point are a value's, not one. */
static bool has_id_number(const char *text)
{
    for (const char *p = text; *p; p++) {
        size_t n = 0;

        if (!isdigit((unsigned char)*p) || (p > text && (isdigit((unsigned char)p[-1]) ||
                                                         p[-1] == '.')))
            continue;
        while (isdigit((unsigned char)p[n]))
            n++;
        if (p[n] == 'X' || p[n] == 'x')
            n++;
        if (n >= 15)
            return true;
    }
    return false;
}

/* /metrics through promtool check metrics: 0 when it finds nothing. */
static int promtool_check(const fixture *fx, const char *text, char *out, size_t size)
{
    char path[4200], cmd[8600];
    FILE *p;
    size_t len = 0;

    snprintf(path, sizeof(path), "%s/metrics.txt", fx->dir);
    if (td_test_write_file(path, text) < 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    out[0] = '\0';
    while (len + 1 < size && fgets(out + len, (int)(size - len), p))
        len = strlen(out);
    return pclose(p);
}

/* --check-config with http.listen on a port this test holds: it checks
 * and exits 0, opening nothing (a start would fail on the port). */
static void check_config_opens_nothing(const fixture *fx)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof(a);
    char path[4200], cmd[12600], *text;
    int fd = socket(AF_INET, SOCK_STREAM, 0), st;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 1) == 0);
    CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    text = td_test_read_file(fx->config, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    snprintf(path, sizeof(path), "127.0.0.1:%d", ntohs(a.sin_port));
    text = td_test_replace(text, "127.0.0.1:0", path);
    snprintf(path, sizeof(path), "%s/check.yaml", fx->dir);
    CU_ASSERT_EQUAL(td_test_write_file(path, text), 0);
    snprintf(cmd, sizeof(cmd), "%s --check-config --config %s >/dev/null 2>&1",
             tdc_it_connector_bin(), path);
    st = system(cmd);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    free(text);
    close(fd);
}

/* Good and bad rows of two kinds, and files: the figures equal what
 * happened once the files are finished. */
static void test_metrics(void)
{
    static const char *const names[] = {"m-1.csv", "m-2.csv"};
    fixture fx;
    char *text = NULL, out[4096];
    int bad, st;
    double rows = NAN;

    CU_ASSERT_EQUAL_FATAL(fixture_new(&fx, td_test_bootstrap()), 0);
    /* 1000 rows, every 10th with a wrong check character */
    bad = tdc_it_write_medical(fx.spool, names[0], 0, 1000, 10, false);
    CU_ASSERT_EQUAL(bad, 100);
    /* 50 rows whose header lacks the identity number column */
    tdc_it_id_column = "证件号";
    CU_ASSERT_EQUAL(tdc_it_write_medical(fx.spool, names[1], 1, 50, 0, false), 0);
    tdc_it_id_column = "身份证号";
    check_config_opens_nothing(&fx);
    fx.pid = tdc_it_spawn(fx.config, fx.log);
    CU_ASSERT_FATAL(fx.pid > 0);
    fx.port = find_port(&fx, 30000);
    CU_ASSERT_FATAL(fx.port > 0);
    if (!tdc_it_wait_finished(fx.spool, names, 2, 120000)) {
        show_log(&fx);
        CU_FAIL_FATAL("files not finished");
    }
    /* the last commit is before the file moves; a scrape may still come
     * before the counts of a commit in flight, or before librdkafka's first
     * statistics (every second here) */
    for (int i = 0; i < 100; i++) {
        free(text);
        CU_ASSERT_EQUAL_FATAL(http_get(fx.port, "/metrics", &text), 200);
        rows = value_of(text, "tuodi_connector_rows_read_total");
        if (rows == 1050 && strstr(text, "tuodi_connector_kafka_broker_up{"))
            break;
        usleep(100 * 1000);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    printf("\n    rows read %.0f, published %.0f, rejected bad_id_number %.0f, "
           "missing_column %.0f; transactions %.0f\n",
           rows, value_of(text, "tuodi_connector_rows_published_total"),
           value_of(text, "tuodi_connector_rows_rejected_total{reason=\"bad_id_number\"}"),
           value_of(text, "tuodi_connector_rows_rejected_total{reason=\"missing_column\"}"),
           value_of(text, "tuodi_connector_transactions_total{result=\"committed\"}"));
    CU_ASSERT_EQUAL(rows, 1050);
    CU_ASSERT_EQUAL(value_of(text, "tuodi_connector_rows_published_total"), 900);
    CU_ASSERT_EQUAL(
        value_of(text, "tuodi_connector_rows_rejected_total{reason=\"bad_id_number\"}"), 100);
    CU_ASSERT_EQUAL(
        value_of(text, "tuodi_connector_rows_rejected_total{reason=\"missing_column\"}"), 50);
    CU_ASSERT_EQUAL(value_of(text, "tuodi_connector_files{state=\"finished\"}"), 2);
    CU_ASSERT_EQUAL(value_of(text, "tuodi_connector_files{state=\"waiting\"}"), 0);
    CU_ASSERT_EQUAL(value_of(text, "tuodi_connector_files{state=\"processing\"}"), 0);
    CU_ASSERT_EQUAL(value_of(text, "tuodi_connector_files{state=\"error\"}"), 0);
    CU_ASSERT_EQUAL(value_of(text, "tuodi_connector_spool_waiting_bytes"), 0);
    CU_ASSERT(value_of(text, "tuodi_connector_transactions_total{result=\"committed\"}") > 0);
    CU_ASSERT(value_of(text, "tuodi_connector_commit_duration_seconds_count") > 0);
    CU_ASSERT(value_of(text, "tuodi_connector_last_commit_timestamp_seconds") >
              (double)time(NULL) - 300);
    CU_ASSERT_EQUAL(value_of(text, "tuodi_connector_ready"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_connector_info{connector=\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_connector_kafka_producer_queue_messages "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_connector_kafka_broker_up{broker=\""));
    CU_ASSERT_PTR_NULL(strstr(text, "\ntuodi_connector_source_lag_rows ")); /* spooldir */
    CU_ASSERT_FALSE(has_id_number(text));
    st = promtool_check(&fx, text, out, sizeof(out));
    if (st != 0)
        fprintf(stderr, "promtool check metrics: %s\n", out);
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT_EQUAL(http_get(fx.port, "/health", NULL), 200);
    CU_ASSERT_EQUAL(http_get(fx.port, "/ready", NULL), 200);
    free(text);
    st = tdc_it_stop(fx.pid, SIGTERM, 30000);
    fx.pid = 0;
    CU_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    fixture_free(&fx);
}

/* Scrapes until source_lag_rows has a series (timeout_ms); its value, or
 * NAN. */
static double first_lag(const fixture *fx, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        char *text = NULL;
        double v = NAN;

        if (http_get(fx->port, "/metrics", &text) == 200)
            v = value_of(text, "tuodi_connector_source_lag_rows");
        free(text);
        if (!isnan(v))
            return v;
        usleep(20 * 1000);
    }
    return NAN;
}

/* Scrapes until source_lag_rows is 0 and rows_read_total is rows
 * (timeout_ms); the seconds that took, or -1. Values seen go to *max_seen. */
static double lag_to_zero(const fixture *fx, double rows, int timeout_ms, double *max_seen)
{
    int64_t t0 = td_time_mono_ms();

    for (int waited = 0; waited < timeout_ms; waited += 200) {
        char *text = NULL;
        double v = NAN, read = NAN;

        if (http_get(fx->port, "/metrics", &text) == 200) {
            v = value_of(text, "tuodi_connector_source_lag_rows");
            read = value_of(text, "tuodi_connector_rows_read_total");
        }
        free(text);
        if (!isnan(v) && v > *max_seen)
            *max_seen = v;
        if (v == 0 && read == rows)
            return (double)(td_time_mono_ms() - t0) / 1000.0;
        usleep(200 * 1000);
    }
    return -1;
}

static void insert_settlements(PGconn *db, int from, int n)
{
    char id[19];

    tdc_it_person_id(0, 1, id);
    CU_ASSERT_EQUAL_FATAL(
        td_pg_execf(db,
                    "INSERT INTO settlement (id, 身份证号, 姓名, 结算日期, 就诊类型, 医疗总费用,"
                    " 基金支付, 个人负担, 是否大病, 结算单号) SELECT g, '%s', '王' || g,"
                    " '2023-06-01', '住院', '2000.00', '100.00', '300.50', '否', 'F0R' || g"
                    " FROM generate_series(%d, %d) AS g",
                    id, from, from + n - 1),
        0);
}

/* A postgres source: source_lag_rows is the table's rows at the start
 * (counted before the first poll), 0 once caught up (up to 10 s later),
 * and after a stop, the rows inserted meanwhile. */
static void test_pglag(void)
{
    fixture fx;
    td_pg *pg = NULL;
    PGconn *db;
    FILE *cf;
    double lag, secs, max_seen = 0;
    int st;

    CU_ASSERT_EQUAL_FATAL(fixture_new(&fx, td_test_bootstrap()), 0);
    CU_ASSERT_EQUAL_FATAL(td_pg_new(NULL, &pg), 0);
    db = td_pg_connect(pg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(db);
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(db,
        "CREATE TABLE settlement (id bigint PRIMARY KEY,"
        " updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
        " 身份证号 text, 姓名 text, 结算日期 text, 就诊类型 text, 医疗总费用 text,"
        " 基金支付 text, 个人负担 text, 是否大病 text, 结算单号 text);"
        "CREATE INDEX ON settlement (updated_at, id)"), 0);
    insert_settlements(db, 1, 3000);
    cf = fopen(fx.config, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cf);
    fprintf(cf,
            "instance: %s\ndataset: medical_insurance\nschemas_dir: %s/schemas\n"
            "kafka:\n  bootstrap.servers: \"%s\"\n"
            "topics:\n  records: %s.records\n  dlq: %s.dlq\n  offsets: %s.offsets\n"
            "source:\n  postgres:\n    conninfo: \"%s\"\n    table: public.settlement\n"
            "    poll_interval: 200ms\n    batch_size: 100\n    hold_warning: 5s\n"
            "transaction:\n  max_records: 250\n"
            "http:\n  listen: 127.0.0.1:0\n",
            fx.prefix, td_test_source_root(), td_test_bootstrap(), fx.prefix, fx.prefix,
            fx.prefix, td_pg_conninfo(pg));
    CU_ASSERT_FATAL(fclose(cf) == 0);

    fx.pid = tdc_it_spawn(fx.config, fx.log);
    CU_ASSERT_FATAL(fx.pid > 0);
    fx.port = find_port(&fx, 30000);
    CU_ASSERT_FATAL(fx.port > 0);
    lag = first_lag(&fx, 30000);
    secs = lag_to_zero(&fx, 3000, 40000, &max_seen);
    printf("\n    source_lag_rows %.0f at the start, 0 after %.1f s\n", lag, secs);
    if (lag != 3000 || secs < 0)
        show_log(&fx);
    CU_ASSERT_EQUAL(lag, 3000);
    CU_ASSERT(secs >= 0);
    CU_ASSERT(max_seen <= 3000);
    st = tdc_it_stop(fx.pid, SIGTERM, 30000);
    fx.pid = 0;
    CU_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* stopped: 700 rows more; the restart counts exactly them */
    insert_settlements(db, 3001, 700);
    snprintf(fx.log, sizeof(fx.log), "%s/connector-2.log", fx.dir);
    fx.pid = tdc_it_spawn(fx.config, fx.log);
    CU_ASSERT_FATAL(fx.pid > 0);
    fx.port = find_port(&fx, 30000);
    CU_ASSERT_FATAL(fx.port > 0);
    lag = first_lag(&fx, 30000);
    max_seen = 0;
    secs = lag_to_zero(&fx, 700, 40000, &max_seen);
    printf("    after the restart: %.0f, 0 after %.1f s\n", lag, secs);
    if (lag != 700 || secs < 0)
        show_log(&fx);
    CU_ASSERT_EQUAL(lag, 700);
    CU_ASSERT(secs >= 0);

    /* Snapshot mode (the default): a transaction left open holds the
     * reading back; source_held_seconds shows how long, the rows committed
     * behind it count in source_lag_rows, the log warns once; after its
     * commit both are 0 and every row is read. */
    {
        PGconn *h = td_pg_connect(pg);
        double held = NAN, hlag = NAN;
        char *log;

        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        CU_ASSERT_EQUAL_FATAL(td_pg_exec(h, "BEGIN"), 0);
        insert_settlements(h, 3701, 1);
        insert_settlements(db, 3702, 5);
        for (int waited = 0; waited < 40000; waited += 200) {
            char *text = NULL;

            if (http_get(fx.port, "/metrics", &text) == 200) {
                held = value_of(text, "tuodi_connector_source_held_seconds");
                hlag = value_of(text, "tuodi_connector_source_lag_rows");
            }
            free(text);
            if (held >= 10 && hlag == 5)
                break;
            usleep(200 * 1000);
        }
        printf("    held back: source_held_seconds %.1f, source_lag_rows %.0f\n", held, hlag);
        CU_ASSERT(held >= 10);
        CU_ASSERT_EQUAL(hlag, 5);
        CU_ASSERT_EQUAL_FATAL(td_pg_exec(h, "COMMIT"), 0);
        PQfinish(h);
        max_seen = 0;
        CU_ASSERT(lag_to_zero(&fx, 706, 40000, &max_seen) >= 0);
        for (int waited = 0; waited < 20000; waited += 200) {
            char *text = NULL;

            if (http_get(fx.port, "/metrics", &text) == 200)
                held = value_of(text, "tuodi_connector_source_held_seconds");
            free(text);
            if (held == 0)
                break;
            usleep(200 * 1000);
        }
        CU_ASSERT_EQUAL(held, 0);
        log = td_test_read_file(fx.log, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(log);
        CU_ASSERT(strstr(log, "public.settlement: a transaction on the database server has "
                              "been running for at least") != NULL);
        {
            int warned = 0;
            for (const char *q = strstr(log, "holds back reading"); q;
                 q = strstr(q + 1, "holds back reading"))
                warned++;
            CU_ASSERT_EQUAL(warned, 1);
        }
        CU_ASSERT(strstr(log, "has ended") != NULL);
        CU_ASSERT(!has_id_number(log));
        free(log);
    }
    st = tdc_it_stop(fx.pid, SIGTERM, 30000);
    fx.pid = 0;
    CU_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    PQfinish(db);
    td_pg_free(pg);
    fixture_free(&fx);
}

/* Polls /ready until it answers want (timeout_ms); true if it did. */
static bool wait_ready(int port, int want, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 200) {
        if (http_get(port, "/ready", NULL) == want)
            return true;
        usleep(200 * 1000);
    }
    return false;
}

/* A broker of its own: stopped, /ready says 503 (and /health 200: the
 * loop is alive); started again, /ready says 200. */
static void test_ready(void)
{
    const char *root = td_test_source_root();
    char cmd[8192], kdir[2048], boot[256] = "";
    static const char *const names[] = {"r-1.csv"};
    fixture fx;
    FILE *p;
    int st;

    {
        char *d = td_test_tmpdir();
        snprintf(kdir, sizeof(kdir), "%.2000s", d);
        free(d);
    }
    snprintf(cmd, sizeof(cmd), "%s/deploy/kafka/dev-broker start --dir %s/kafka 2>/dev/null",
             root, kdir);
    p = popen(cmd, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    if (!fgets(boot, sizeof(boot), p))
        boot[0] = '\0';
    pclose(p);
    boot[strcspn(boot, "\n")] = '\0';
    CU_ASSERT_FATAL(boot[0] != '\0');

    CU_ASSERT_EQUAL_FATAL(fixture_new(&fx, boot), 0);
    CU_ASSERT(tdc_it_write_medical(fx.spool, names[0], 0, 200, 0, false) == 0);
    fx.pid = tdc_it_spawn(fx.config, fx.log);
    fx.port = find_port(&fx, 30000);
    CU_ASSERT_FATAL(fx.port > 0);
    CU_ASSERT(tdc_it_wait_finished(fx.spool, names, 1, 120000));
    CU_ASSERT(wait_ready(fx.port, 200, 30000));

    snprintf(cmd, sizeof(cmd), "%s/deploy/kafka/dev-broker stop-node 1 --dir %s/kafka "
             ">/dev/null 2>&1", root, kdir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    if (!wait_ready(fx.port, 503, 30000)) {
        show_log(&fx);
        CU_FAIL("/ready did not turn 503 with the broker stopped");
    }
    CU_ASSERT_EQUAL(http_get(fx.port, "/health", NULL), 200);
    {
        char *text = NULL;
        CU_ASSERT_EQUAL(http_get(fx.port, "/metrics", &text), 200);
        CU_ASSERT_EQUAL(text ? value_of(text, "tuodi_connector_ready") : -1, 0);
        free(text);
    }
    snprintf(cmd, sizeof(cmd), "%s/deploy/kafka/dev-broker start-node 1 --dir %s/kafka "
             ">/dev/null 2>&1", root, kdir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    if (!wait_ready(fx.port, 200, 60000)) {
        show_log(&fx);
        CU_FAIL("/ready did not turn 200 with the broker back");
    }
    st = tdc_it_stop(fx.pid, SIGTERM, 30000);
    fx.pid = 0;
    CU_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    fixture_free(&fx);
    snprintf(cmd, sizeof(cmd), "%s/deploy/kafka/dev-broker stop --dir %s/kafka >/dev/null 2>&1; "
             "rm -rf %s", root, kdir, kdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not stop the test's broker\n");
}

static void add_suites(void)
{
    td_test_suite("metrics", NULL, NULL);
    TD_TEST(test_metrics);
    td_test_suite("ready", NULL, NULL);
    TD_TEST(test_ready);
    td_test_suite("pglag", NULL, NULL);
    TD_TEST(test_pglag);
}

TD_TEST_MAIN(add_suites)
