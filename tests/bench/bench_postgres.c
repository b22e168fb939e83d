/* Benchmark: rows/s of tuodi-connector's postgres source in each of its
 * modes on the same table and broker, in one run (issue 20). The baseline is
 * mode timestamp (the polling by updated_at behind settle_delay that every
 * release before issue 20 had); snapshot and logical are reported beside it
 * as a ratio, and all three as raw rows/s.
 *
 * One PostgreSQL server of the benchmark's own (tests/support/td_pg.h, with
 * wal_level=logical) holds public.settlement, the medical dataset's columns
 * with updated_at DEFAULT clock_timestamp(), an index on (updated_at, id)
 * and a publication of it. Before the rows are loaded, one logical
 * replication slot per repeat is made (pgoutput), so the slot holds every
 * row the polling modes find in the table. Then:
 *
 *   1. initial load: ROWS rows (multi-row INSERTs, 10,000 per transaction),
 *      VACUUM ANALYZE (hint bits set once for every mode), a pause longer
 *      than the default settle_delay. Each mode then starts on fresh topics
 *      with the source's defaults (batch_size 5000, poll_interval 2s,
 *      settle_delay 5s) and the connector's default transactions; its rate
 *      is the rows in the table divided by the time from the connector's
 *      "running" line to the last of them read back by a read_committed
 *      consumer.
 *   2. steady state: with the connector still running, RATE rows/s for
 *      SECONDS s (a thread, an INSERT every 10 ms); latency per row from its
 *      commit to the consumer, p50 / p99 / max.
 *
 * The rows a run adds in step 2 are in the table (and the slots) for the
 * next modes' step 1, so each run loads a little more than the one before;
 * the order of the modes rotates from repeat to repeat. After each run the
 * records topic is read again: every row in the table exactly once, no
 * dead letter, or the benchmark fails (exit 1).
 *
 *   KAFKA_BOOTSTRAP=host:port bench_postgres [ROWS [RATE [SECONDS [REPEATS]]]]
 *   (defaults 200000 1000 10 1; plaintext bus only; TD_BENCH_PG_MODES=timestamp,snapshot
 *   runs only the modes named)
 * Prints "summary postgres ..." lines; asserts nothing about time.
 */
#include "bench_bus.h"
#include "td_avro.h"
#include "td_kafka.h"
#include "td_pg.h"
#include "td_proc.h"
#include "td_test.h"
#include "td_time.h"
#include "tdc_it.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MODES 3
#define MAX_REPEATS 5
#define LOAD_TXN_ROWS 10000
#define LOAD_STMT_ROWS 1000
/* the default settle_delay (timestamp mode) and a margin */
#define SETTLE_WAIT_MS 6000

static const char *const mode_names[MODES] = {"timestamp", "snapshot", "logical"};

/* Whether mode m runs: all of them, or those TD_BENCH_PG_MODES names
 * ("timestamp,snapshot"). */
static bool mode_on(int m)
{
    const char *list = getenv("TD_BENCH_PG_MODES");

    return !list || !*list || strstr(list, mode_names[m]) != NULL;
}

typedef struct figures {
    long rows;        /* rows in the table when the run started */
    double rate;      /* rows/s, running line -> last row read back */
    double start_s;   /* spawn -> running line */
    double cpu_us;    /* connector CPU per row of the initial load (with start-up) */
    double pg_cpu_us; /* its PostgreSQL backends' CPU per row, the same span (-1: unknown) */
    double p50, p99, max; /* steady-state latency, ms */
    long steady_rows;
    bool ok;
} figures;

typedef struct bench {
    const char *bootstrap;
    td_pg *pg;
    PGconn *db;
    char *dir;
    char schemas[4096];
    long table_rows; /* rows in the table, every one committed */
    int next_file;   /* record ids F<file>R<k>: 0 the initial load, then one per run */
    long file_rows[TDC_IT_MAX_FILES];
} bench;

static int64_t wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* INSERT of rows [k0, k0 + n) of file f into sql. */
static void insert_sql(char *sql, size_t size, int f, long k0, long n)
{
    size_t len = (size_t)snprintf(sql, size,
                                  "INSERT INTO settlement (id, 身份证号, 姓名, 结算日期, 就诊类型, "
                                  "医疗总费用, 基金支付, 个人负担, 是否大病, 结算单号) VALUES ");
    for (long k = k0; k < k0 + n; k++) {
        char id[19];

        tdc_it_person_id(f, (int)k, id);
        len += (size_t)snprintf(sql + len, size - len,
                                "%s(%ld, '%s', '王%ld', '2023-06-%02ld', '住院', '%ld.00', "
                                "'100.00', '%ld.50', '否', 'F%dR%ld')",
                                k == k0 ? "" : ",", (long)f * TDC_IT_MAX_ROWS + k + 1, id, k,
                                1 + k % 28, 2000 + k % 3000, 300 + k % 90, f, k);
    }
}

static int setup(bench *b, long rows, int repeats)
{
    static const char *const settings[] = {"wal_level=logical", "max_wal_senders=10",
                                           "max_replication_slots=10", NULL};
    char *sql = malloc((size_t)LOAD_STMT_ROWS * 300 + 512);
    int64_t t0;

    b->dir = td_test_tmpdir();
    snprintf(b->schemas, sizeof(b->schemas), "%s/schemas", td_test_source_root());
    if (!sql || !b->dir || td_pg_new(settings, &b->pg) < 0 || !(b->db = td_pg_connect(b->pg)))
        goto fail;
    if (td_pg_exec(b->db,
                   "CREATE TABLE settlement (id bigint PRIMARY KEY,"
                   " updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
                   " 身份证号 text, 姓名 text, 结算日期 text, 就诊类型 text, 医疗总费用 text,"
                   " 基金支付 text, 个人负担 text, 是否大病 text, 结算单号 text);"
                   "CREATE INDEX ON settlement (updated_at, id);"
                   "CREATE PUBLICATION tuodi_bench FOR TABLE settlement") < 0)
        goto fail;
    for (int r = 0; r < repeats; r++)
        if (td_pg_execf(b->db, "SELECT pg_create_logical_replication_slot('tuodi_bench_%d', "
                        "'pgoutput')", r) < 0)
            goto fail;
    t0 = td_time_mono_ms();
    for (long k0 = 0; k0 < rows; k0 += LOAD_TXN_ROWS) {
        if (td_pg_exec(b->db, "BEGIN") < 0)
            goto fail;
        for (long k = k0; k < k0 + LOAD_TXN_ROWS && k < rows; k += LOAD_STMT_ROWS) {
            long n = rows - k < LOAD_STMT_ROWS ? rows - k : LOAD_STMT_ROWS;
            insert_sql(sql, (size_t)LOAD_STMT_ROWS * 300 + 512, 0, k, n);
            if (td_pg_exec(b->db, sql) < 0)
                goto fail;
        }
        if (td_pg_exec(b->db, "COMMIT") < 0)
            goto fail;
    }
    if (td_pg_exec(b->db, "VACUUM ANALYZE settlement") < 0)
        goto fail;
    printf("bench_postgres: %ld rows loaded in %.1f s (and VACUUM ANALYZE)\n", rows,
           (double)(td_time_mono_ms() - t0) / 1000.0);
    fflush(stdout);
    b->table_rows = rows;
    b->file_rows[0] = rows;
    b->next_file = 1;
    free(sql);
    usleep(SETTLE_WAIT_MS * 1000);
    return 0;
fail:
    fprintf(stderr, "bench_postgres: cannot set up the table\n");
    free(sql);
    return -1;
}

/* ---- steady-state inserts --------------------------------------------------- */

typedef struct steady {
    PGconn *db;
    int file;
    long rate, seconds, n; /* n: rows committed */
    int64_t *commit_us;    /* [k]: wall time of row k's commit */
    bool failed;
} steady;

static void *steady_main(void *arg)
{
    steady *s = arg;
    long per = s->rate / 100 > 0 ? s->rate / 100 : 1, total = s->rate * s->seconds;
    char *sql = malloc((size_t)per * 300 + 512);
    int64_t t0 = td_time_mono_us();

    for (long i = 0; s->n < total && sql; i++) {
        int64_t at = t0 + i * 10000, now = td_time_mono_us(), c;
        long n = total - s->n < per ? total - s->n : per;

        if (at > now)
            usleep((useconds_t)(at - now));
        insert_sql(sql, (size_t)per * 300 + 512, s->file, s->n, n);
        if (td_pg_exec(s->db, sql) < 0) {
            s->failed = true;
            break;
        }
        c = wall_us();
        for (long k = s->n; k < s->n + n; k++)
            __atomic_store_n(&s->commit_us[k], c, __ATOMIC_RELEASE);
        s->n += n;
    }
    free(sql);
    return NULL;
}

/* ---- the consumer ------------------------------------------------------------ */

typedef struct reader {
    rd_kafka_t *rk;
    td_avro_registry *reg;
    td_avro_decoder *dec;
} reader;

static int reader_open(reader *r, const bench *b, const char *topic)
{
    rd_kafka_conf_t *conf = NULL;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt;
    rd_kafka_topic_partition_list_t *parts;
    const td_avro_schema *schema;
    td_error err = {0};
    char group[128];

    memset(r, 0, sizeof(*r));
    snprintf(group, sizeof(group), "bench-postgres-%d", (int)getpid());
    if (td_avro_registry_new(&r->reg) < 0 ||
        td_avro_registry_load_dir(r->reg, b->schemas, NULL, &err) < 0 ||
        !(schema = td_avro_registry_find_name(r->reg, "cn.tuodi.MedicalSettlement")) ||
        td_avro_decoder_new(r->reg, schema, &r->dec, &err) < 0 ||
        td_kafka_consumer_conf_new(b->bootstrap, group, NULL, &conf, &err) < 0 ||
        td_kafka_new(RD_KAFKA_CONSUMER, conf, &r->rk, &err) < 0) {
        fprintf(stderr, "bench_postgres: reader: %s\n", td_error_msg(&err));
        return -1;
    }
    rkt = rd_kafka_topic_new(r->rk, topic, NULL);
    if (rd_kafka_metadata(r->rk, 0, rkt, &md, 10000) != 0 || md->topic_cnt != 1 ||
        md->topics[0].err) {
        fprintf(stderr, "bench_postgres: no metadata for %s\n", topic);
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        return -1;
    }
    parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(r->rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return 0;
}

static void reader_close(reader *r)
{
    td_kafka_destroy(r->rk);
    td_avro_decoder_free(r->dec);
    td_avro_registry_free(r->reg);
}

/* The record id's file and row of a record, or false. */
static bool record_id(reader *r, const rd_kafka_message_t *m, int *file, long *row)
{
    avro_value_t *v, src, rid;
    const char *s;
    size_t len;
    td_error err = {0};
    char buf[64];

    if (td_avro_decode(r->dec, m->payload, m->len, &v, &err) < 0 ||
        avro_value_get_by_name(v, "source", &src, NULL) != 0 ||
        avro_value_get_by_name(&src, "record_id", &rid, NULL) != 0 ||
        avro_value_get_string(&rid, &s, &len) != 0 || len == 0 || len > sizeof(buf))
        return false;
    memcpy(buf, s, len - 1);
    buf[len - 1] = '\0';
    return sscanf(buf, "F%dR%ld", file, row) == 2;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The wall time (µs) of the connector's first "running" line in logp, or
 * -1: the log's lines start with an ISO 8601 UTC time in milliseconds. */
static int64_t running_at(const char *logp)
{
    char *log = td_test_read_file(logp, NULL), *at, *b;
    struct tm tm = {0};
    int ms = 0;
    int64_t r = -1;

    if (log && (at = strstr(log, ": running ("))) {
        for (b = at; b > log && b[-1] != '\n'; b--)
            ;
        if (sscanf(b, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) == 7) {
            tm.tm_year -= 1900;
            tm.tm_mon -= 1;
            r = (int64_t)timegm(&tm) * 1000000 + (int64_t)ms * 1000;
        }
    }
    free(log);
    return r;
}

/* CPU seconds of the server's backends other than the benchmark's own
 * connection (the connector's: a client backend, or a walsender), or -1. */
static double backends_cpu(bench *b)
{
    PGresult *res = PQexec(b->db, "SELECT pid FROM pg_stat_activity WHERE pid <> "
                                  "pg_backend_pid() AND backend_type IN "
                                  "('client backend', 'walsender')");
    double sum = 0;

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0) {
        PQclear(res);
        return -1;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        double c = bench_cpu_seconds((pid_t)atoi(PQgetvalue(res, i, 0)));
        if (c < 0) {
            sum = -1;
            break;
        }
        sum += c;
    }
    PQclear(res);
    return sum;
}

/* One mode: a fresh instance and topics, the initial load, the steady
 * phase, the check. */
static int run_mode(bench *b, int mode, int rep, long rate, long seconds, figures *fg)
{
    char *prefix = td_test_unique("bench-pg");
    char config[4200], logp[4200], records[300], dlq[300];
    reader rd = {0};
    steady s = {0};
    pthread_t th;
    bool th_started = false;
    int64_t *lat = NULL, t_spawn, t_done = 0, until;
    long got = 0, nlat = 0, want = b->table_rows;
    pid_t pid = -1;
    FILE *f;
    int rc = -1;

    memset(fg, 0, sizeof(*fg));
    fg->rows = want;
    snprintf(config, sizeof(config), "%s/%s.yaml", b->dir, prefix);
    snprintf(logp, sizeof(logp), "%s/%s.log", b->dir, prefix);
    snprintf(records, sizeof(records), "%s.records", prefix);
    snprintf(dlq, sizeof(dlq), "%s.dlq", prefix);
    f = fopen(config, "w");
    if (!f)
        goto out;
    fprintf(f,
            "instance: %s\ndataset: medical_insurance\nschemas_dir: %s\nlog_level: info\n"
            "kafka:\n  bootstrap.servers: \"%s\"\n"
            "topics:\n  records: %s\n  dlq: %s\n  offsets: %s.offsets\n  partitions: 3\n"
            "source:\n  postgres:\n    conninfo: \"%s\"\n    table: public.settlement\n"
            "    mode: %s\n",
            prefix, b->schemas, b->bootstrap, records, dlq, prefix, td_pg_conninfo(b->pg),
            mode_names[mode]);
    if (mode == 2)
        fprintf(f, "    slot: tuodi_bench_%d\n    publication: tuodi_bench\n", rep);
    if (fclose(f) != 0)
        goto out;

    t_spawn = wall_us();
    pid = tdc_it_spawn(config, logp);
    if (pid <= 0 || !td_proc_wait_log(logp, ": running (", 1, 120000)) {
        fprintf(stderr, "bench_postgres: %s did not start\n", mode_names[mode]);
        goto out;
    }
    if (reader_open(&rd, b, records) < 0)
        goto out;
    /* the initial load: count, do not decode (checked after the run) */
    until = td_time_mono_ms() + 600000;
    while (got < want && td_time_mono_ms() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rd.rk, 100);
        if (!m)
            continue;
        if (!m->err && ++got == want)
            t_done = wall_us();
        rd_kafka_message_destroy(m);
    }
    fg->cpu_us = bench_cpu_seconds(pid) * 1e6 / (double)want;
    fg->pg_cpu_us = backends_cpu(b) * 1e6 / (double)want;
    if (got < want) {
        fprintf(stderr, "bench_postgres: %s: %ld of %ld rows in 10 minutes\n", mode_names[mode],
                got, want);
        goto out;
    }
    {
        int64_t t_run = running_at(logp);
        fg->start_s = (double)(t_run - t_spawn) / 1e6;
        fg->rate = (double)want * 1e6 / (double)(t_done - t_run);
    }

    /* steady state */
    s.db = b->db;
    s.file = b->next_file++;
    s.rate = rate;
    s.seconds = seconds;
    s.commit_us = calloc((size_t)(rate * seconds), sizeof(int64_t));
    lat = calloc((size_t)(rate * seconds), sizeof(int64_t));
    if (!s.commit_us || !lat || s.file >= TDC_IT_MAX_FILES ||
        pthread_create(&th, NULL, steady_main, &s) != 0)
        goto out;
    th_started = true;
    until = td_time_mono_ms() + seconds * 1000 + 60000;
    while (nlat < rate * seconds && td_time_mono_ms() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rd.rk, 50);
        int file;
        long row;

        if (!m)
            continue;
        if (!m->err && record_id(&rd, m, &file, &row) && file == s.file && row >= 0 &&
            row < rate * seconds) {
            int64_t c = __atomic_load_n(&s.commit_us[row], __ATOMIC_ACQUIRE);
            if (c > 0)
                lat[nlat++] = wall_us() - c;
        }
        rd_kafka_message_destroy(m);
    }
    pthread_join(th, NULL);
    th_started = false;
    b->table_rows += s.n;
    b->file_rows[s.file] = s.n;
    fg->steady_rows = nlat;
    if (s.failed || nlat < s.n) {
        fprintf(stderr, "bench_postgres: %s: %ld of %ld steady rows read back\n",
                mode_names[mode], nlat, s.n);
        goto out;
    }
    qsort(lat, (size_t)nlat, sizeof(*lat), cmp_i64);
    fg->p50 = (double)lat[nlat / 2] / 1000.0;
    fg->p99 = (double)lat[nlat * 99 / 100] / 1000.0;
    fg->max = (double)lat[nlat - 1] / 1000.0;
    tdc_it_stop(pid, SIGTERM, 30000);
    pid = -1;

    /* every row in the table exactly once, nothing else */
    {
        tdc_it_seen rec, dead;
        long wrong = 0, expect = 0;

        if (tdc_it_read(b->bootstrap, records, false, b->schemas, &rec) < 0 ||
            tdc_it_read(b->bootstrap, dlq, true, b->schemas, &dead) < 0)
            goto out;
        for (int fi = 0; fi < b->next_file; fi++)
            for (long k = 0; k < b->file_rows[fi]; k++)
                wrong += rec.count[(size_t)fi * TDC_IT_MAX_ROWS + (size_t)k] != 1;
        for (int fi = 0; fi < b->next_file; fi++)
            expect += b->file_rows[fi];
        fg->ok = wrong == 0 && rec.total == expect && rec.unparsed == 0 && dead.total == 0;
        if (!fg->ok)
            fprintf(stderr, "bench_postgres: %s: %ld rows not exactly once; %lld records of "
                    "%ld, %lld dead letters\n", mode_names[mode], wrong,
                    (long long)rec.total, expect, (long long)dead.total);
        tdc_it_seen_free(&rec);
        tdc_it_seen_free(&dead);
    }
    printf("repeat %d, %-9s: %ld rows: %8.0f rows/s (start-up %.1f s; CPU per row: connector "
           "%.2f us, its PostgreSQL backends %.2f us); steady %ld rows/s: latency p50 %.0f ms, p99 %.0f ms, max %.0f ms%s\n",
           rep + 1, mode_names[mode], fg->rows, fg->rate, fg->start_s, fg->cpu_us, fg->pg_cpu_us,
           rate, fg->p50,
           fg->p99, fg->max, fg->ok ? "" : " (FAILED: not exactly once)");
    fflush(stdout);
    rc = fg->ok ? 0 : -1;
out:
    if (th_started) {
        pthread_join(th, NULL);
        b->table_rows += s.n;
        b->file_rows[s.file] = s.n;
    }
    if (pid > 0)
        tdc_it_stop(pid, SIGTERM, 30000);
    if (rc < 0) {
        char cmd[4400];
        snprintf(cmd, sizeof(cmd), "tail -n 20 %s >&2", logp);
        if (system(cmd) != 0)
            fprintf(stderr, "(no log)\n");
    }
    if (rd.rk)
        reader_close(&rd);
    free(s.commit_us);
    free(lat);
    free(prefix);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double s[MAX_REPEATS];
    memcpy(s, v, (size_t)n * sizeof(*v));
    qsort(s, (size_t)n, sizeof(*s), cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    long rows = argc > 1 ? atol(argv[1]) : 200000;
    long rate = argc > 2 ? atol(argv[2]) : 1000;
    long seconds = argc > 3 ? atol(argv[3]) : 10;
    int repeats = argc > 4 ? atoi(argv[4]) : 1, failures = 0;
    static figures fig[MODES][MAX_REPEATS];
    bench b = {0};

    if (rows < 1 || rows > TDC_IT_MAX_ROWS || rate < 1 || seconds < 1 ||
        rate * seconds > TDC_IT_MAX_ROWS || repeats < 1 || repeats > MAX_REPEATS ||
        1 + MODES * repeats >= TDC_IT_MAX_FILES) {
        fprintf(stderr, "bench_postgres: ROWS 1..%d, RATE x SECONDS up to %d, REPEATS 1..%d\n",
                TDC_IT_MAX_ROWS, TDC_IT_MAX_ROWS, MAX_REPEATS);
        return 1;
    }
    b.bootstrap = td_test_bootstrap();
    printf("bench_postgres: %ld rows, then %ld rows/s for %ld s, each mode %d time(s) on "
           "the plaintext broker; the modes' order rotates\n", rows, rate, seconds, repeats);
    fflush(stdout);
    if (setup(&b, rows, repeats) < 0)
        return 1;
    for (int rep = 0; rep < repeats; rep++)
        for (int i = 0; i < MODES; i++) {
            int m = (i + rep) % MODES;
            if (!mode_on(m))
                continue;
            if (run_mode(&b, m, rep, rate, seconds, &fig[m][rep]) < 0)
                failures++;
        }
    if (failures) {
        fprintf(stderr, "bench_postgres: FAILED: %d run(s) failed (files kept in %s)\n",
                failures, b.dir);
        PQfinish(b.db);
        td_pg_free(b.pg);
        return 1;
    }
    {
        double r[MODES], c[MODES], pc[MODES], p50[MODES], p99[MODES], v[MAX_REPEATS];
        char load[1024] = "", cpu[512] = "", lat[512] = "";
        for (int m = 0; m < MODES; m++) {
            if (!mode_on(m))
                continue;
            for (int i = 0; i < repeats; i++)
                v[i] = fig[m][i].rate;
            r[m] = median(v, repeats);
            for (int i = 0; i < repeats; i++)
                v[i] = fig[m][i].cpu_us;
            c[m] = median(v, repeats);
            for (int i = 0; i < repeats; i++)
                v[i] = fig[m][i].pg_cpu_us;
            pc[m] = median(v, repeats);
            for (int i = 0; i < repeats; i++)
                v[i] = fig[m][i].p50;
            p50[m] = median(v, repeats);
            for (int i = 0; i < repeats; i++)
                v[i] = fig[m][i].p99;
            p99[m] = median(v, repeats);
            snprintf(load + strlen(load), sizeof(load) - strlen(load), "%s%s %.0f rows/s",
                     load[0] ? ", " : "", mode_names[m], r[m]);
            if (m == 0)
                snprintf(load + strlen(load), sizeof(load) - strlen(load), " (baseline)");
            else if (mode_on(0))
                snprintf(load + strlen(load), sizeof(load) - strlen(load), " (ratio %.2f)",
                         r[m] / r[0]);
            snprintf(cpu + strlen(cpu), sizeof(cpu) - strlen(cpu), "%s%s %.2f + %.2f us",
                     cpu[0] ? ", " : "", mode_names[m], c[m], pc[m]);
            snprintf(lat + strlen(lat), sizeof(lat) - strlen(lat),
                     "%s%s %.0f / %.0f ms", lat[0] ? ", " : "", mode_names[m], p50[m],
                     p99[m]);
        }
        printf("summary postgres initial load (%ld rows): %s (medians of %d)\n", rows, load,
               repeats);
        printf("summary postgres CPU per row, connector + its PostgreSQL backends (initial "
               "load, with start-up): %s\n", cpu);
        printf("summary postgres steady %ld rows/s, latency p50 / p99: %s (the defaults: "
               "poll_interval 2s; timestamp's settle_delay 5s)\n", rate, lat);
    }
    PQfinish(b.db);
    td_pg_free(b.pg);
    if (!getenv("TD_KEEP_TMP"))
        td_test_rmtree(b.dir);
    free(b.dir);
    return 0;
}
