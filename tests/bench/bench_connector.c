/* Benchmark: rows/s from a 1,000,000-row medical-insurance CSV into Kafka
 * through tuodi-connector (CSV parsing, validation, mapping, Avro encoding,
 * transactional produce with the position), beside a baseline measured in
 * the same run on the same broker: the same file's lines produced raw (no
 * parsing, the line as the value, the first 18 bytes as the key) by
 * librdkafka with the same producer settings, committing a transaction every
 * 10,000 rows as the connector does.
 *
 * On each bus of the run (bench_bus.h: the plaintext broker, and the secured
 * one when TD_BENCH_SECURE_DIR is set) the same file goes through the
 * baseline and the connector, REPEATS times, the buses' order alternating
 * from one repeat to the next. On the secured bus the connector and its
 * baseline run as connector-medical (SASL_SSL, PLAIN), with ACLs on this
 * run's topics, transactional ids and the positions reader's group only.
 *
 *   KAFKA_BOOTSTRAP=host:port [TD_BENCH_SECURE_DIR=DIR] bench_connector [ROWS [REPEATS]]
 *   (defaults 1000000 1)
 * On the first bus, each repeat also runs the connector with its /metrics
 * endpoint on and scraped every second (the order of the two alternating):
 * the endpoint's cost ("summary connector ... /metrics").
 * Reports rates, their ratios and the medians ("summary connector ..."
 * lines); asserts nothing about time. Exit 1 if a pass fails.
 */
#include "bench_bus.h"
#include "td_kafka.h"
#include "td_test.h"
#include "td_time.h"
#include "tdc_it.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TXN_ROWS 10000
#define MAX_REPEATS 20
#define USER "connector-medical" /* the principal on the secured bus */

typedef struct figures {
    double raw;  /* baseline rows/s */
    double file; /* the connector's own rate, first row to end of file */
    double wall; /* the connector's rows/s from spawn to the file finished */
    /* CPU time per row (µs): the baseline's and the connector's own, and
     * the broker's during each (-1: not known) */
    double raw_cpu, raw_broker_cpu, conn_cpu, conn_broker_cpu;
    /* the connector's own rate and CPU per row with the endpoint on and
     * scraped every second (0: not measured) */
    double http_file, http_cpu;
} figures;

static double baseline(const bench_bus *bus, const char *path, const char *topic,
                       const char *txid, long *rows, double *cpu)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_kafka_props props = {0};
    td_error err = {0};
    td_kafka_topic_spec spec = {.name = topic, .partitions = 3, .replication_factor = 1};
    size_t len;
    char *text = td_test_read_file(path, &len), *p, *end;
    int64_t t0, t1;
    long n = 0;

    if (!text || bench_bus_props(bus, USER, &props) < 0 ||
        td_kafka_producer_conf_new(NULL, txid, &props, &conf, &err) < 0 ||
        td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) < 0 ||
        td_kafka_topics_ensure(rk, &spec, 1, 30000, &err) < 0 ||
        td_kafka_txn_init(rk, 30000, &err) < 0) {
        fprintf(stderr, "baseline (%s): %s\n", bus->name, err.msg);
        exit(1);
    }
    td_kafka_props_clear(&props);
    p = strchr(text, '\n') + 1; /* skip the header */
    end = text + len;
    t0 = td_time_mono_us();
    *cpu = bench_cpu_seconds(0);
    td_kafka_txn_begin(rk, &err);
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        {
            rd_kafka_resp_err_t e = td_kafka_produce(rk, topic, p, l > 18 ? 18 : l, p, l, NULL);
            if (e) {
                fprintf(stderr, "baseline: %s\n", rd_kafka_err2str(e));
                exit(1);
            }
        }
        n++;
        if (n % TXN_ROWS == 0) {
            if (td_kafka_txn_commit(rk, 60000, &err) < 0 || td_kafka_txn_begin(rk, &err) < 0) {
                fprintf(stderr, "baseline (%s): %s\n", bus->name, err.msg);
                exit(1);
            }
        }
        p += l + 1;
    }
    if (td_kafka_txn_commit(rk, 60000, &err) < 0) {
        fprintf(stderr, "baseline (%s): %s\n", bus->name, err.msg);
        exit(1);
    }
    t1 = td_time_mono_us();
    *cpu = bench_cpu_seconds(0) - *cpu;
    td_kafka_destroy(rk);
    free(text);
    *rows = n;
    return (double)n * 1e6 / (double)(t1 - t0);
}

static int run_connector(const bench_bus *bus, const char *dir, const char *data, long nrows,
                         int rep, const char *instance, bool http, figures *f);

/* One pass on bus: the baseline, then the connector on a fresh spool
 * holding data (a hard link) under a fresh instance and topics. */
static int pass(const bench_bus *bus, const char *dir, const char *data, long nrows, int rep,
                bool with_http, figures *f)
{
    char *prefix = td_test_unique("bench-conn");
    char topic[300], txid[300], conn_txid[300];
    const char *topics[] = {prefix, NULL}, *groups[] = {"tuodi-offsets-reader.", NULL};
    const char *txids[] = {prefix, conn_txid, NULL};
    long raw_rows = 0;
    double b0, b1;
    pid_t broker;
    int r = -1;

    snprintf(conn_txid, sizeof(conn_txid), "tuodi-connector.%s", prefix);
    if (bench_bus_grant(bus, USER, topics, groups, txids) < 0)
        goto out;
    snprintf(topic, sizeof(topic), "%s.raw", prefix);
    snprintf(txid, sizeof(txid), "%s.raw", prefix);
    broker = bench_bus_broker_pid(bus);
    b0 = bench_cpu_seconds(broker);
    f->raw = baseline(bus, data, topic, txid, &raw_rows, &f->raw_cpu);
    b1 = bench_cpu_seconds(broker);
    f->raw_cpu *= 1e6 / (double)nrows;
    f->raw_broker_cpu = broker > 0 && b0 >= 0 && b1 >= 0 ? (b1 - b0) * 1e6 / (double)nrows : -1;
    if (raw_rows != nrows) {
        fprintf(stderr, "bench_connector: the baseline produced %ld of %ld rows\n", raw_rows,
                nrows);
        goto out;
    }

    /* with_http: the connector also with /metrics on and scraped, the
     * order of the two runs alternating from one repeat to the next */
    if (with_http && rep % 2) {
        figures h;
        r = run_connector(bus, dir, data, nrows, rep, prefix, true, &h);
        if (r == 0)
            r = run_connector(bus, dir, data, nrows, rep, prefix, false, f);
        f->http_file = h.file;
        f->http_cpu = h.conn_cpu;
    } else {
        r = run_connector(bus, dir, data, nrows, rep, prefix, false, f);
        if (r == 0 && with_http) {
            figures h;
            r = run_connector(bus, dir, data, nrows, rep, prefix, true, &h);
            f->http_file = h.file;
            f->http_cpu = h.conn_cpu;
        }
    }
    if (r < 0)
        goto out;
    if (with_http)
        printf("repeat %d, %-9s: tuodi-connector with /metrics scraped every second %8.0f "
               "rows/s, %.2f us CPU per row; without %8.0f rows/s, %.2f us (ratio %.3f)\n",
               rep + 1, bus->name, f->http_file, f->http_cpu, f->file, f->conn_cpu,
               f->http_file / f->file);
    printf("repeat %d, %-9s: baseline raw librdkafka produce %8.0f rows/s; tuodi-connector "
           "file %8.0f rows/s (%.2f of baseline), wall incl. start-up %8.0f rows/s\n",
           rep + 1, bus->name, f->raw, f->file, f->file / f->raw, f->wall);
    printf("repeat %d, %-9s: CPU per row: baseline %.2f us + broker %.2f us; tuodi-connector "
           "%.2f us + broker %.2f us\n", rep + 1, bus->name, f->raw_cpu, f->raw_broker_cpu,
           f->conn_cpu, f->conn_broker_cpu);
    fflush(stdout);
    r = 0;
out:
    free(prefix);
    return r;
}

/* Scrapes /metrics of the connector whose log is logp every second, until
 * killed (a child process: the connector runs as in production, with a
 * Prometheus beside it). */
static void scrape_forever(const char *logp)
{
    static const char at[] = "http: listening on 127.0.0.1:";
    int port = 0;

    for (;;) {
        if (port <= 0) {
            char *log = td_test_read_file(logp, NULL);
            const char *p = log ? strstr(log, at) : NULL;
            port = p ? atoi(p + strlen(at)) : 0;
            free(log);
        }
        if (port > 0) {
            struct sockaddr_in a = {.sin_family = AF_INET,
                                    .sin_port = htons((uint16_t)port)};
            static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
            char buf[65536];
            int fd = socket(AF_INET, SOCK_STREAM, 0);

            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
                write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1))
                while (read(fd, buf, sizeof(buf)) > 0)
                    ;
            if (fd >= 0)
                close(fd);
        }
        usleep(port > 0 ? 1000 * 1000 : 50 * 1000);
    }
}

/* The connector through the file on a fresh spool (a hard link to data)
 * under instance prefix (with "-http" when http: the endpoint on and
 * scraped every second): its rate, CPU and the broker's into f. */
static int run_connector(const bench_bus *bus, const char *dir, const char *data, long nrows,
                         int rep, const char *instance, bool http, figures *f)
{
    char spool[4096], config[4096], logp[4096], path[4200], marker[4300], kafka[8192];
    char prefix[300];
    const char *names[1] = {"medical-bench.csv"};
    const char *tag = http ? "-http" : "";
    int64_t t0, t1;
    double b0, b1;
    pid_t pid, broker = bench_bus_broker_pid(bus), scraper = 0;
    char *log, *at;
    int r = -1;

    snprintf(prefix, sizeof(prefix), "%s%s", instance, tag);
    snprintf(spool, sizeof(spool), "%s/spool-%s-%d%s", dir, bus->name, rep, tag);
    snprintf(config, sizeof(config), "%s/c-%s-%d%s.yaml", dir, bus->name, rep, tag);
    snprintf(logp, sizeof(logp), "%s/c-%s-%d%s.log", dir, bus->name, rep, tag);
    snprintf(path, sizeof(path), "%s/%s", spool, names[0]);
    snprintf(marker, sizeof(marker), "%s.done", path);
    bench_bus_yaml(bus, USER, kafka, sizeof(kafka));
    tdc_it_kafka_lines = kafka;
    if (mkdir(spool, 0755) < 0 || link(data, path) < 0 || td_test_write_file(marker, "") < 0 ||
        tdc_it_write_config(config, prefix, bus->bootstrap, spool, prefix, TXN_ROWS) < 0) {
        fprintf(stderr, "bench_connector: cannot write the spool or config of %s\n", spool);
        goto out;
    }
    tdc_it_kafka_lines = NULL;
    if (http) {
        FILE *cf = fopen(config, "a");
        if (!cf || fprintf(cf, "http:\n  listen: 127.0.0.1:0\n") < 0 || fclose(cf) != 0) {
            fprintf(stderr, "bench_connector: cannot write %s\n", config);
            goto out;
        }
    }
    t0 = td_time_mono_us();
    b0 = bench_cpu_seconds(broker);
    pid = tdc_it_spawn(config, logp);
    if (http && (scraper = fork()) == 0) {
        scrape_forever(logp);
        _exit(0);
    }
    if (!tdc_it_wait_finished(spool, names, 1, 600000)) {
        char cmd[4400];
        fprintf(stderr, "bench_connector: the file was not finished (%s); the log:\n", bus->name);
        tdc_it_stop(pid, SIGKILL, 1000);
        snprintf(cmd, sizeof(cmd), "tail -n 30 %s >&2", logp);
        if (system(cmd) != 0)
            fprintf(stderr, "(no log)\n");
        goto out;
    }
    if (http) {
        /* the endpoint answered while the file went through */
        log = td_test_read_file(logp, NULL);
        if (!log || !strstr(log, "http: listening on")) {
            fprintf(stderr, "bench_connector: no endpoint in %s\n", logp);
            free(log);
            tdc_it_stop(pid, SIGKILL, 1000);
            goto out;
        }
        free(log);
    }
    t1 = td_time_mono_us();
    b1 = bench_cpu_seconds(broker);
    f->conn_cpu = bench_cpu_seconds(pid) * 1e6 / (double)nrows; /* with its start-up */
    f->conn_broker_cpu = broker > 0 && b0 >= 0 && b1 >= 0 ? (b1 - b0) * 1e6 / (double)nrows : -1;
    tdc_it_stop(pid, SIGTERM, 30000);
    f->wall = (double)nrows * 1e6 / (double)(t1 - t0);
    f->file = 0;
    log = td_test_read_file(logp, NULL);
    if (log && (at = strstr(log, " rejected, ")))
        f->file = atof(at + strlen(" rejected, "));
    free(log);
    r = 0;
out:
    if (scraper > 0) {
        kill(scraper, SIGKILL);
        waitpid(scraper, NULL, 0);
    }
    tdc_it_kafka_lines = NULL;
    return r;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n) (sorts a copy). */
static double median(const double *v, int n)
{
    double s[MAX_REPEATS];
    memcpy(s, v, (size_t)n * sizeof(*v));
    qsort(s, (size_t)n, sizeof(*s), cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    long nrows = argc > 1 ? atol(argv[1]) : 1000000;
    int repeats = argc > 2 ? atoi(argv[2]) : 1, nbus;
    bench_bus bus[2];
    char *dir = td_test_tmpdir(), datadir[4096], data[4200];
    static figures fig[2][MAX_REPEATS];
    double raw[2][MAX_REPEATS], file[2][MAX_REPEATS], ratio[MAX_REPEATS], raw_ratio[MAX_REPEATS];
    int failures = 0;

    nbus = bench_bus_list(bus);
    if (nbus < 0 || !dir)
        return 1;
    if (nrows < 1 || nrows > TDC_IT_MAX_ROWS || repeats < 1 || repeats > MAX_REPEATS) {
        fprintf(stderr, "bench_connector: ROWS 1..%d, REPEATS 1..%d\n", TDC_IT_MAX_ROWS,
                MAX_REPEATS);
        return 1;
    }
    snprintf(datadir, sizeof(datadir), "%s/data", dir);
    snprintf(data, sizeof(data), "%s/medical-bench.csv", datadir);
    if (mkdir(datadir, 0755) < 0 || tdc_it_write_medical(datadir, "medical-bench.csv", 0, (int)nrows, 0, false) < 0) {
        fprintf(stderr, "bench_connector: cannot write the fixture\n");
        return 1;
    }
    printf("bench_connector: %ld rows of medical CSV, transactions of %d rows, %d repeat(s) "
           "on %s%s\n", nrows, TXN_ROWS, repeats, nbus == 2 ? "the plaintext and the secured "
           "broker (SASL_SSL, PLAIN, as " USER ")" : "the plaintext broker",
           nbus == 2 ? "; the order alternates" : "");
    fflush(stdout);
    for (int rep = 0; rep < repeats; rep++)
        for (int k = 0; k < nbus; k++) {
            int b = nbus == 2 && rep % 2 ? 1 - k : k;
            if (pass(&bus[b], dir, data, nrows, rep, b == 0, &fig[b][rep]) < 0)
                failures++;
            raw[b][rep] = fig[b][rep].raw;
            file[b][rep] = fig[b][rep].file;
        }
    if (failures) {
        fprintf(stderr, "bench_connector: FAILED: %d pass(es) failed (files kept in %s)\n",
                failures, dir);
        free(dir);
        return 1;
    }

    for (int b = 0; b < nbus; b++) {
        double r = median(raw[b], repeats), c = median(file[b], repeats), cpu[4][MAX_REPEATS];
        for (int i = 0; i < repeats; i++) {
            cpu[0][i] = fig[b][i].conn_cpu;
            cpu[1][i] = fig[b][i].conn_broker_cpu;
            cpu[2][i] = fig[b][i].raw_cpu;
            cpu[3][i] = fig[b][i].raw_broker_cpu;
        }
        printf("summary connector %s: tuodi-connector %.0f rows/s, baseline raw produce %.0f "
               "rows/s, ratio to baseline %.2f (medians of %d)\n",
               bus[b].name, c, r, c / r, repeats);
        printf("summary connector %s CPU per row: tuodi-connector %.2f us + broker %.2f us; "
               "baseline %.2f us + broker %.2f us (medians)\n", bus[b].name,
               median(cpu[0], repeats), median(cpu[1], repeats), median(cpu[2], repeats),
               median(cpu[3], repeats));
        printf("targets (%s): >= 100000 rows/s: %s; >= 0.5 of baseline: %s\n", bus[b].name,
               c >= 100000 ? "met" : "NOT met", c >= 0.5 * r ? "met" : "NOT met");
    }
    {
        double on[MAX_REPEATS], off[MAX_REPEATS], onc[MAX_REPEATS], offc[MAX_REPEATS];
        for (int i = 0; i < repeats; i++) {
            on[i] = fig[0][i].http_file;
            off[i] = fig[0][i].file;
            onc[i] = fig[0][i].http_cpu;
            offc[i] = fig[0][i].conn_cpu;
        }
        printf("summary connector %s /metrics: scraped every second %.0f rows/s (%.2f us CPU "
               "per row), off %.0f rows/s (%.2f us), ratio %.3f (medians of %d); target >= "
               "0.98: %s\n", bus[0].name, median(on, repeats), median(onc, repeats),
               median(off, repeats), median(offc, repeats),
               median(on, repeats) / median(off, repeats), repeats,
               median(on, repeats) >= 0.98 * median(off, repeats) ? "met" : "NOT met");
    }
    if (nbus == 2) {
        char pairs[512] = "";
        for (int i = 0; i < repeats; i++) {
            ratio[i] = file[1][i] / file[0][i];
            raw_ratio[i] = raw[1][i] / raw[0][i];
            snprintf(pairs + strlen(pairs), sizeof(pairs) - strlen(pairs), "%s%.2f",
                     i ? " " : "", ratio[i]);
        }
        printf("summary connector secured/plaintext: tuodi-connector %.2f (median of the "
               "repeats' ratios: %s), baseline %.2f; target >= 0.8: %s\n",
               median(ratio, repeats), pairs, median(raw_ratio, repeats),
               median(ratio, repeats) >= 0.8 ? "met" : "NOT met");
    }
    if (!getenv("TD_KEEP_TMP"))
        td_test_rmtree(dir);
    free(dir);
    return 0;
}
