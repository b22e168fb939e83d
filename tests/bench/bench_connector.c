/* Benchmark: rows/s from a 1,000,000-row medical-insurance CSV into Kafka
 * through tuodi-connector (CSV parsing, validation, mapping, Avro encoding,
 * transactional produce with the position), beside a baseline measured in
 * the same run on the same broker: the same file's lines produced raw (no
 * parsing, the line as the value, the first 18 bytes as the key) by
 * librdkafka with the same producer settings, committing a transaction every
 * 10,000 rows as the connector does.
 *
 *   KAFKA_BOOTSTRAP=host:port bench_connector [ROWS]
 * Reports rates and their ratio; asserts nothing about time.
 */
#include "td_kafka.h"
#include "td_test.h"
#include "td_time.h"
#include "tdc_it.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TXN_ROWS 10000

static double baseline(const char *bootstrap, const char *path, const char *topic, long *rows)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_error err = {0};
    td_kafka_topic_spec spec = {.name = topic, .partitions = 3, .replication_factor = 1};
    char *txid = td_test_unique("bench-raw");
    size_t len;
    char *text = td_test_read_file(path, &len), *p, *end;
    int64_t t0, t1;
    long n = 0;

    if (!text || td_kafka_producer_conf_new(bootstrap, txid, NULL, &conf, &err) < 0 ||
        td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) < 0 ||
        td_kafka_topics_ensure(rk, &spec, 1, 30000, &err) < 0 ||
        td_kafka_txn_init(rk, 30000, &err) < 0) {
        fprintf(stderr, "baseline: %s\n", err.msg);
        exit(1);
    }
    p = strchr(text, '\n') + 1; /* skip the header */
    end = text + len;
    t0 = td_time_mono_us();
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
                fprintf(stderr, "baseline: %s\n", err.msg);
                exit(1);
            }
        }
        p += l + 1;
    }
    if (td_kafka_txn_commit(rk, 60000, &err) < 0) {
        fprintf(stderr, "baseline: %s\n", err.msg);
        exit(1);
    }
    t1 = td_time_mono_us();
    td_kafka_destroy(rk);
    free(text);
    free(txid);
    *rows = n;
    return (double)n * 1e6 / (double)(t1 - t0);
}

int main(int argc, char **argv)
{
    const char *bootstrap = td_test_bootstrap();
    long nrows = argc > 1 ? atol(argv[1]) : 1000000, raw_rows = 0;
    char *dir = td_test_tmpdir(), *prefix = td_test_unique("bench-conn");
    char spool[4096], config[4096], logp[4096], path[4200], topic[300];
    const char *names[1] = {"medical-bench.csv"};
    double raw, wall, file_rate = 0;
    int64_t t0, t1;
    pid_t pid;
    char *log, *at;

    snprintf(spool, sizeof(spool), "%s/spool", dir);
    snprintf(config, sizeof(config), "%s/c.yaml", dir);
    snprintf(logp, sizeof(logp), "%s/c.log", dir);
    mkdir(spool, 0755);
    if (tdc_it_write_medical(spool, names[0], 0, (int)nrows, 0, false) < 0 ||
        tdc_it_write_config(config, prefix, bootstrap, spool, prefix, TXN_ROWS) < 0) {
        fprintf(stderr, "bench_connector: cannot write the fixture\n");
        return 1;
    }
    /* the baseline reads the same file (moved later by the connector) */
    snprintf(path, sizeof(path), "%s/%s", spool, names[0]);
    {
        char copy[4300];
        snprintf(copy, sizeof(copy), "cp %s %s/raw.csv", path, dir);
        if (system(copy) != 0)
            return 1;
        snprintf(path, sizeof(path), "%s/raw.csv", dir);
    }
    snprintf(topic, sizeof(topic), "%s.raw", prefix);
    raw = baseline(bootstrap, path, topic, &raw_rows);

    t0 = td_time_mono_us();
    pid = tdc_it_spawn(config, logp);
    if (!tdc_it_wait_finished(spool, names, 1, 600000)) {
        fprintf(stderr, "bench_connector: the file was not finished\n");
        tdc_it_stop(pid, SIGKILL, 1000);
        return 1;
    }
    t1 = td_time_mono_us();
    tdc_it_stop(pid, SIGTERM, 30000);
    wall = (double)nrows * 1e6 / (double)(t1 - t0);
    log = td_test_read_file(logp, NULL);
    if (log && (at = strstr(log, " rejected, ")))
        file_rate = atof(at + strlen(" rejected, "));

    printf("bench_connector: %ld rows of medical CSV, transactions of %d rows\n", nrows, TXN_ROWS);
    printf("baseline raw librdkafka produce:     %10.0f rows/s (%ld rows)\n", raw, raw_rows);
    printf("tuodi-connector, file (first row to end): %10.0f rows/s (%.2f of baseline)\n",
           file_rate, file_rate / raw);
    printf("tuodi-connector, wall (incl. start-up):   %10.0f rows/s (%.2f of baseline)\n", wall,
           wall / raw);
    printf("targets: >= 100000 rows/s: %s; >= 0.5 of baseline: %s\n",
           file_rate >= 100000 ? "met" : "NOT met", file_rate >= 0.5 * raw ? "met" : "NOT met");
    free(log);
    if (!getenv("TD_KEEP_TMP"))
        td_test_rmtree(dir);
    free(dir);
    free(prefix);
    return 0;
}
