/* Benchmark: tuodi-matchd (issue 5 "Performance"), through its external
 * interface only (config file, topics, log), on the broker of
 * KAFKA_BOOTSTRAP, with topics of its own (prefix bench-mtd-<pid>-...).
 *
 *   bench_matchd [PERSONS [RECORDS [LATENCY_RATE [LATENCY_SECONDS [TXN_RECORDS]]]]]
 *   (defaults 1000000 1000000 1000 30 10000: matchd's default transaction
 *   size; TD_BUILD_ROOT / TD_SOURCE_ROOT as meson's test_env sets them;
 *   TD_KEEP_TMP=1 keeps the work directory)
 *
 * 1. Roster: PERSONS people in households of 3 (bench_matchd_data.h) into
 *    the compacted roster topic (6 partitions) with an idempotent producer.
 *    Run 1 of matchd on the roster alone: time from spawn to the "ready" log
 *    line; RSS (VmRSS, VmHWM) at ready and the LMDB files: the index per
 *    roster person. SIGTERM.
 * 2. RECORDS department records (90% medical settlements, 10% civil-affairs
 *    events; about 4.3% raise an alert) into 6-partition department topics,
 *    before any consumer runs.
 * 3. Baseline, same run, same broker, same records: a read_committed
 *    consumer in a group over the department topics and a transactional
 *    producer with matchd's transaction settings (max_records TXN_RECORDS,
 *    max_interval 1s) that produces each input value to an output topic and
 *    commits the consumer offsets with send_offsets_to_transaction; records/s
 *    from the first record consumed to the last commit.
 * 4. Run 2 of matchd (same state): records/s from its "ready" line to the
 *    moment the group's committed offsets reach the end of every department
 *    partition (polled every 50 ms). Then every alert topic is read
 *    (read_committed) to its end: the number of ALERT messages per rule and
 *    per county queue must equal what the data implies, with no duplicate
 *    alert id, no unrouted alert, the village as key. Any mismatch fails the
 *    benchmark (exit 1). RSS and LMDB size at the end; SIGTERM, and the
 *    "stopped:" counts must match as well.
 *    Runs 2 and 3 start on the kept state: the time from spawn to "ready"
 *    is the ready-after-restart time (the roster topic read to its end, no
 *    roster record to apply).
 * 5. Latency, run 3 with max_interval 100ms: LATENCY_RATE records/s for
 *    LATENCY_SECONDS, each a 低保 application of a distinct person off the
 *    roster (exactly one alert each, record id "LAT-<i>"); latency = the
 *    moment a read_committed consumer of the alert topics gets the alert
 *    minus the moment the record was handed to the producer (linger.ms 1).
 *    p50, p99, max; every alert must arrive exactly once.
 * 6. With TD_BENCH_HTTP=N: the http: endpoint's cost. N pairs of runs, each
 *    in a group and state of its own (the roster rebuilt, then the same
 *    department records), one with the endpoint off, one with it on and
 *    /metrics scraped every second (the order alternating from pair to
 *    pair); records/s from ready to the committed end as in run 2, the mean
 *    of each and their ratio (target: on >= 0.98 of off).
 * 7. With TD_BENCH_SUSPECTS=N: the suspicious-data list's cost. N pairs of
 *    runs as in 6, one with `suspects: false` (off), one with the suspect
 *    rules of the rules file on (the default; the roster's and the civil-
 *    affairs records' facts noted and evaluated, Suspect messages produced),
 *    the order alternating; records/s from ready to the committed end, the
 *    means and their ratio (target: on >= 0.8 of off).
 * Rates are reported beside the baseline, never asserted.
 */
#include "bench_bus.h"
#include "bench_matchd_data.h"
#include "td_avro.h"
#include "td_kafka.h"
#include "td_test.h"
#include "td_time.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEPT_PARTITIONS 6
#define ALERT_PARTITIONS 3
#define TXN_MAX_INTERVAL_MS 1000
#define LAT_MAX_INTERVAL_MS 100
#define N_ALERT_TOPICS (BMD_COUNTIES + 1) /* the counties, then unrouted */

#define FATAL(c)                                                                     \
    do {                                                                             \
        if (!(c)) {                                                                  \
            fprintf(stderr, "bench_matchd: %s:%d: FAILED: %s\n", __FILE__, __LINE__, #c); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

/* transaction.max_records of matchd and of the baseline (argument 5) */
static long txn_max_records = 10000; /* tuodi-matchd's default */

/* The principals on the secured bus: tuodi-matchd and its baseline as
 * matchd; the loaders, the offsets monitor and the alert readers, which
 * stand for the departments and the counties, as admin. */
#define USER_MATCHD "matchd"
#define USER_HARNESS "admin"

static struct bench {
    const bench_bus *bus;
    char *dir;
    char prefix[64];
    char t_roster[128], t_med[128], t_civil[128], t_hr[128], t_ver[128], t_raw[128];
    char alert_prefix[128], t_alerts[N_ALERT_TOPICS][160];
    char bin[4200], rules[4200], schemas[4200], state[4200];
    bool clock_key; /* the config accepts clock: {tick_interval: 0} */
    /* runs 4 and 5 (TD_BENCH_HTTP=N): a group and state of their own, and
     * the http: endpoint on or off */
    const char *group_suffix, *state_dir;
    bool http;
    bool no_suspects; /* suspects: false (7, TD_BENCH_SUSPECTS) */
    td_avro_registry *reg;
} B;

static void die(const char *what, const td_error *err)
{
    fprintf(stderr, "bench_matchd: FAILED: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static double secs(int64_t us)
{
    return (double)us / 1e6;
}

/* ---------------------------------------------------------------- loading */

typedef struct loader {
    rd_kafka_t *rk;
    const char *topics[3];
    long sent, failed;
} loader;

static void loader_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    loader *l = opaque;
    (void)rk;
    if (m->err)
        l->failed++;
}

static int loader_emit(void *opaque, enum bmd_topic topic, const char *key, size_t key_len,
                       const void *value, size_t value_len)
{
    loader *l = opaque;
    if (td_kafka_produce(l->rk, l->topics[topic], key, key_len, value, value_len, NULL))
        return -EIO;
    l->sent++;
    if (l->sent % 1024 == 0)
        rd_kafka_poll(l->rk, 0);
    return 0;
}

/* An idempotent producer (tuodi's defaults, linger.ms as given) as user. */
static rd_kafka_t *producer_new(const char *user, const char *txid, const char *linger,
                                void *dr_opaque)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_error err = {0};

    FATAL(bench_bus_props(B.bus, user, &props) == 0);
    if (linger)
        FATAL(td_kafka_props_add(&props, "linger.ms", linger, NULL) == 0);
    if (td_kafka_producer_conf_new(NULL, txid, &props, &conf, &err) < 0)
        die("producer conf", &err);
    if (dr_opaque) {
        rd_kafka_conf_set_opaque(conf, dr_opaque);
        rd_kafka_conf_set_dr_msg_cb(conf, loader_dr);
    }
    if (td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) < 0)
        die("producer", &err);
    td_kafka_props_clear(&props);
    return rk;
}

static void loader_finish(loader *l, const char *what)
{
    while (rd_kafka_outq_len(l->rk) > 0)
        rd_kafka_flush(l->rk, 1000);
    if (l->failed) {
        fprintf(stderr, "bench_matchd: FAILED: %ld of %ld %s not delivered\n", l->failed,
                l->sent, what);
        exit(1);
    }
}

static void create_topics(rd_kafka_t *rk)
{
    td_kafka_props compact = {0};
    td_kafka_topic_spec specs[6 + N_ALERT_TOPICS];
    const char *names[6] = {B.t_roster, B.t_med, B.t_civil, B.t_hr, B.t_ver, B.t_raw};
    const int parts[6] = {DEPT_PARTITIONS, DEPT_PARTITIONS, DEPT_PARTITIONS, DEPT_PARTITIONS,
                          1, DEPT_PARTITIONS};
    td_error err = {0};
    size_t n = 0;

    FATAL(td_kafka_props_add(&compact, "cleanup.policy", "compact", NULL) == 0);
    memset(specs, 0, sizeof(specs));
    for (int i = 0; i < 6; i++, n++) {
        specs[n].name = names[i];
        specs[n].partitions = parts[i];
        specs[n].replication_factor = 1;
        specs[n].config = i == 0 ? &compact : NULL;
    }
    /* the alert topics as matchd creates them (alert_partitions), so that a
     * reader can be assigned before the first alert */
    for (int i = 0; i < N_ALERT_TOPICS; i++, n++) {
        specs[n].name = B.t_alerts[i];
        specs[n].partitions = ALERT_PARTITIONS;
        specs[n].replication_factor = 1;
    }
    if (td_kafka_topics_ensure(rk, specs, n, 60000, &err) < 0)
        die("topics", &err);
    td_kafka_props_clear(&compact);
}

/* --------------------------------------------------------------- matchd */

static void write_config(const char *path, int max_interval_ms, bool clock)
{
    FILE *f = fopen(path, "w");
    char kafka[8192], group[200];
    FATAL(f);
    snprintf(group, sizeof(group), "%s%s", B.prefix, B.group_suffix ? B.group_suffix : "");
    bench_bus_yaml(B.bus, USER_MATCHD, kafka, sizeof(kafka));
    /* every topic under the run's prefix: the ACLs of the secured bus
     * (bench_bus_grant) cover them */
    fprintf(f,
            "kafka:\n  bootstrap.servers: %s\n%s"
            "group_id: %s\nstate_dir: %s\nrules: %s\nschemas_dir: %s\nlog_level: info\n"
            "topics:\n  roster: %s\n  medical_insurance: %s\n  civil_affairs: %s\n"
            "  human_resources: %s\n  verifications_prefix: %s.verifications.\n"
            "  dlq_verifications: %s.dlq\n"
            "  dlq_roster: %s.dlq.roster\n  dlq_medical_insurance: %s.dlq.medical\n"
            "  dlq_civil_affairs: %s.dlq.civil\n  dlq_human_resources: %s.dlq.hr\n"
            "  clock: %s.clock\n"
            "  alerts_prefix: %s\n  suspects_prefix: %s.suspects.\n  alert_partitions: %d\n"
            "  replication_factor: 1\n"
            "transaction:\n  max_records: %ld\n  max_interval: %dms\n",
            B.bus->bootstrap, kafka, group, B.state_dir ? B.state_dir : B.state, B.rules,
            B.schemas, B.t_roster, B.t_med,
            B.t_civil, B.t_hr, B.prefix, B.prefix, B.prefix, B.prefix, B.prefix, B.prefix,
            B.prefix, B.alert_prefix, B.prefix, ALERT_PARTITIONS, txn_max_records,
            max_interval_ms);
    if (B.no_suspects)
        fprintf(f, "suspects: false\n");
    if (clock)
        fprintf(f, "clock:\n  tick_interval: 0\n");
    if (B.http)
        fprintf(f, "http:\n  listen: 127.0.0.1:0\n");
    FATAL(fclose(f) == 0);
}

/* Writes the config of a run; names the clock section only when this
 * matchd's --check-config accepts it (the section is being added). */
static void make_config(const char *path, int max_interval_ms)
{
    static int accepted = -1;
    if (accepted < 0) {
        char cmd[9000];
        write_config(path, max_interval_ms, true);
        snprintf(cmd, sizeof(cmd), "%s --config %s --check-config >/dev/null 2>&1", B.bin, path);
        accepted = system(cmd) == 0;
    }
    B.clock_key = accepted;
    write_config(path, max_interval_ms, B.clock_key);
}

typedef struct run {
    pid_t pid;
    char log[4300];
    long log_off;
    int64_t spawned_us, ready_us;
    double cpu_s;        /* user + system CPU of the whole run (wait4) */
} run;

static void run_spawn(run *r, const char *config, const char *name)
{
    snprintf(r->log, sizeof(r->log), "%s/%s.log", B.dir, name);
    r->log_off = 0;
    r->spawned_us = td_time_mono_us();
    r->pid = fork();
    FATAL(r->pid >= 0);
    if (r->pid == 0) {
        int fd = open(r->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
        unsetenv("JOURNAL_STREAM");
        unsetenv("NOTIFY_SOCKET");
        execl(B.bin, "tuodi-matchd", "--config", config, (char *)NULL);
        _exit(127);
    }
}

static void run_check_alive(const run *r)
{
    int status;
    if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
        char cmd[4400];
        fprintf(stderr, "bench_matchd: FAILED: tuodi-matchd exited (status %d); its log:\n",
                status);
        snprintf(cmd, sizeof(cmd), "tail -n 40 %s >&2", r->log);
        if (system(cmd) != 0)
            fprintf(stderr, "(no log)\n");
        exit(1);
    }
}

/* Scans the complete lines added to the log since the last call for text;
 * copies the first such line into line (if not NULL). */
static bool run_log_find(run *r, const char *text, char *line, size_t size)
{
    FILE *f = fopen(r->log, "r");
    char buf[8192];
    bool found = false;

    if (!f)
        return false;
    if (fseek(f, r->log_off, SEEK_SET) != 0) {
        fclose(f);
        return false;
    }
    while (!found && fgets(buf, sizeof(buf), f)) {
        size_t n = strlen(buf);
        if (n == 0 || buf[n - 1] != '\n')
            break; /* partial: read it again next time */
        r->log_off += (long)n;
        if (strstr(buf, text)) {
            found = true;
            if (line)
                snprintf(line, size, "%s", buf);
        }
    }
    fclose(f);
    return found;
}

static void run_wait_log(run *r, const char *text, char *line, size_t size, int timeout_ms)
{
    int64_t until = td_time_mono_ms() + timeout_ms;
    while (!run_log_find(r, text, line, size)) {
        run_check_alive(r);
        if (td_time_mono_ms() > until) {
            fprintf(stderr, "bench_matchd: FAILED: no \"%s\" in %s within %d ms\n", text, r->log,
                    timeout_ms);
            kill(r->pid, SIGKILL);
            exit(1);
        }
        usleep(10000);
    }
}

static void run_wait_ready(run *r)
{
    run_wait_log(r, "notice: ready:", NULL, 0, 600000);
    r->ready_us = td_time_mono_us();
}

/* SIGTERM; waits for exit 0 and returns the "stopped:" line's counts. */
static void run_stop(run *r, long *records, long *alerts)
{
    int64_t until = td_time_mono_ms() + 120000;
    int status = -1;
    char line[8192];
    const char *p;

    struct rusage ru;

    kill(r->pid, SIGTERM);
    while (wait4(r->pid, &status, WNOHANG, &ru) != r->pid) {
        if (td_time_mono_ms() > until) {
            kill(r->pid, SIGKILL);
            waitpid(r->pid, &status, 0);
            die("tuodi-matchd did not stop within 120 s", NULL);
        }
        usleep(20000);
    }
    FATAL(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    r->cpu_s = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    r->log_off = 0;
    FATAL(run_log_find(r, "notice: stopped: ", line, sizeof(line)));
    /* "stopped: N records, A alerts, ..." or, from versions that count the
     * roster too, "stopped: N records (R roster), A alerts, ..." */
    p = strstr(line, "stopped: ") + strlen("stopped: ");
    {
        long n = -1, roster = 0;
        const char *q = strstr(p, " alerts");
        FATAL(sscanf(p, "%ld records", &n) == 1 && q);
        if (strstr(p, " roster)"))
            FATAL(sscanf(p, "%*d records (%ld roster)", &roster) == 1);
        while (q > p && q[-1] >= '0' && q[-1] <= '9')
            q--;
        *records = n - roster;
        *alerts = atol(q);
    }
}

/* VmRSS is RssAnon (the heap: buffers, the open batch) plus RssFile (the
 * LMDB pages mapped and touched: page cache, shared, reclaimable). */
typedef struct memory {
    long rss_kb, hwm_kb, anon_kb, file_kb;
} memory;

static memory proc_memory(pid_t pid)
{
    char path[64], line[256];
    memory m = {-1, -1, -1, -1};
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return m;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            m.rss_kb = atol(line + 6);
        else if (strncmp(line, "VmHWM:", 6) == 0)
            m.hwm_kb = atol(line + 6);
        else if (strncmp(line, "RssAnon:", 8) == 0)
            m.anon_kb = atol(line + 8);
        else if (strncmp(line, "RssFile:", 8) == 0)
            m.file_kb = atol(line + 8);
    }
    fclose(f);
    return m;
}

/* Bytes of the files in the state directory: apparent size and allocated. */
static void state_size(long long *apparent, long long *allocated)
{
    DIR *d = opendir(B.state);
    struct dirent *de;

    *apparent = *allocated = 0;
    if (!d)
        return;
    while ((de = readdir(d))) {
        char path[4500];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", B.state, de->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            *apparent += (long long)st.st_size;
            *allocated += (long long)st.st_blocks * 512;
        }
    }
    closedir(d);
}

/* ---------------------------------------------------- committed offsets */

/* The department partitions with their end offsets (high watermarks). */
static rd_kafka_topic_partition_list_t *department_ends(rd_kafka_t *rk, long *total)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(2 * DEPT_PARTITIONS);
    const char *topics[2] = {B.t_med, B.t_civil};

    *total = 0;
    for (int t = 0; t < 2; t++)
        for (int p = 0; p < DEPT_PARTITIONS; p++) {
            int64_t lo = 0, hi = 0;
            rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topics[t], p, &lo, &hi,
                                                                     10000);
            FATAL(e == RD_KAFKA_RESP_ERR_NO_ERROR);
            rd_kafka_topic_partition_list_add(l, topics[t], p)->offset = hi;
            *total += (long)(hi - lo);
        }
    return l;
}

/* True when group's committed offsets reached every end in ends. */
static bool group_done(rd_kafka_t *mon, const rd_kafka_topic_partition_list_t *ends)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(ends);
    bool done = true;

    for (int i = 0; i < l->cnt; i++)
        l->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    if (rd_kafka_committed(mon, l, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        done = false;
    for (int i = 0; done && i < l->cnt; i++)
        if (l->elems[i].err || l->elems[i].offset < ends->elems[i].offset)
            done = false;
    rd_kafka_topic_partition_list_destroy(l);
    return done;
}

static rd_kafka_t *consumer_new(const char *user, const char *group, bool eof)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *c = NULL;
    td_error err = {0};

    FATAL(bench_bus_props(B.bus, user, &props) == 0);
    if (eof)
        FATAL(td_kafka_props_add(&props, "enable.partition.eof", "true", NULL) == 0);
    FATAL(td_kafka_props_add(&props, "fetch.wait.max.ms", "10", NULL) == 0);
    if (td_kafka_consumer_conf_new(NULL, group, &props, &conf, &err) < 0 ||
        td_kafka_new(RD_KAFKA_CONSUMER, conf, &c, &err) < 0)
        die("consumer", &err);
    td_kafka_props_clear(&props);
    return c;
}

/* --------------------------------------------------------------- baseline */

static double baseline(long total, long *ret_n, double *ret_secs)
{
    char group[200], txid[200];
    rd_kafka_t *c, *p;
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(2);
    td_error err = {0};
    int64_t t0 = -1, t1 = 0, batch_start = 0, idle_until = td_time_mono_ms() + 120000;
    long n = 0, batch = 0;

    snprintf(group, sizeof(group), "%s.raw", B.prefix);
    snprintf(txid, sizeof(txid), "%s.raw", B.prefix);
    c = consumer_new(USER_MATCHD, group, false);
    p = producer_new(USER_MATCHD, txid, NULL, NULL);
    if (td_kafka_txn_init(p, 60000, &err) < 0)
        die("baseline init", &err);
    rd_kafka_topic_partition_list_add(sub, B.t_med, RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(sub, B.t_civil, RD_KAFKA_PARTITION_UA);
    FATAL(rd_kafka_subscribe(c, sub) == 0);
    rd_kafka_topic_partition_list_destroy(sub);
    while (n < total) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        int64_t now;
        if (m && m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "baseline consumer: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            m = NULL;
        }
        now = td_time_mono_us();
        if (m) {
            if (t0 < 0)
                t0 = now;
            if (batch == 0) {
                if (td_kafka_txn_begin(p, &err) < 0)
                    die("baseline begin", &err);
                batch_start = now;
            }
            FATAL(td_kafka_produce(p, B.t_raw, m->key, m->key_len, m->payload, m->len, NULL) ==
                  RD_KAFKA_RESP_ERR_NO_ERROR);
            rd_kafka_message_destroy(m);
            n++;
            batch++;
            idle_until = td_time_mono_ms() + 120000;
        } else if (td_time_mono_ms() > idle_until) {
            fprintf(stderr, "bench_matchd: FAILED: baseline got %ld of %ld records\n", n, total);
            exit(1);
        }
        rd_kafka_poll(p, 0);
        if (batch > 0 && (batch >= txn_max_records || n == total ||
                          now - batch_start >= (int64_t)TXN_MAX_INTERVAL_MS * 1000)) {
            if (td_kafka_txn_send_offsets(p, c, 60000, NULL, &err) < 0 ||
                td_kafka_txn_commit(p, 60000, &err) < 0)
                die("baseline commit", &err);
            batch = 0;
        }
    }
    t1 = td_time_mono_us();
    td_kafka_destroy(c);
    td_kafka_destroy(p);
    *ret_n = n;
    *ret_secs = secs(t1 - t0);
    return (double)n / secs(t1 - t0);
}

/* ------------------------------------------------------------ alert reader */

typedef struct tally {
    long total, medical, dibao, other_rule, not_alert_kind, overdue, bad_key, bad_county, undecodable;
    long per_topic[N_ALERT_TOPICS];
    uint64_t *ids;
    size_t nids, capids;
} tally;

typedef struct reader {
    rd_kafka_t *c;
    td_avro_decoder *dec;
    int eofs;
    bool eof[N_ALERT_TOPICS][ALERT_PARTITIONS];
} reader;

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void reader_open(reader *r)
{
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(N_ALERT_TOPICS * ALERT_PARTITIONS);
    char group[200];
    td_error err = {0};

    memset(r, 0, sizeof(*r));
    snprintf(group, sizeof(group), "%s.reader", B.prefix);
    r->c = consumer_new(USER_HARNESS, group, true);
    if (td_avro_decoder_new(B.reg, td_avro_registry_find_name(B.reg, "cn.tuodi.Alert"), &r->dec,
                            &err) < 0)
        die("decoder", &err);
    for (int t = 0; t < N_ALERT_TOPICS; t++)
        for (int p = 0; p < ALERT_PARTITIONS; p++)
            rd_kafka_topic_partition_list_add(l, B.t_alerts[t], p)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
    FATAL(rd_kafka_assign(r->c, l) == 0);
    rd_kafka_topic_partition_list_destroy(l);
}

static int topic_index(const char *name)
{
    for (int t = 0; t < N_ALERT_TOPICS; t++)
        if (strcmp(name, B.t_alerts[t]) == 0)
            return t;
    return -1;
}

static bool str_field(avro_value_t *v, const char *name, const char **s, size_t *n)
{
    avro_value_t f, b;
    if (avro_value_get_by_name(v, name, &f, NULL) != 0)
        return false;
    if (avro_value_get_type(&f) == AVRO_UNION) {
        if (avro_value_get_current_branch(&f, &b) != 0 || avro_value_get_type(&b) != AVRO_STRING)
            return false;
        f = b;
    }
    if (avro_value_get_string(&f, s, n) != 0)
        return false;
    *n = *n > 0 ? *n - 1 : 0; /* Avro C counts the NUL */
    return true;
}

/* Polls once (timeout_ms); tallies an alert, and for the latency phase
 * returns the "LAT-<i>" index of its first evidence (else -1). */
static long reader_poll(reader *r, tally *ty, int timeout_ms)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(r->c, timeout_ms);
    avro_value_t *v, f, ev, src;
    td_error err = {0};
    const char *s, *village = NULL, *county = NULL;
    size_t n, nvillage = 0, ncounty = 0;
    int t, kind = 0;
    long lat = -1;

    if (!m)
        return -1;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        t = topic_index(rd_kafka_topic_name(m->rkt));
        if (t >= 0 && m->partition >= 0 && m->partition < ALERT_PARTITIONS &&
            !r->eof[t][m->partition]) {
            r->eof[t][m->partition] = true;
            r->eofs++;
        }
        rd_kafka_message_destroy(m);
        return -1;
    }
    if (m->err) {
        fprintf(stderr, "alert reader: %s\n", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        return -1;
    }
    t = topic_index(rd_kafka_topic_name(m->rkt));
    FATAL(t >= 0);
    ty->total++;
    if (td_avro_decode(r->dec, m->payload, m->len, &v, &err) < 0) {
        ty->undecodable++;
        rd_kafka_message_destroy(m);
        return -1;
    }
    if (avro_value_get_by_name(v, "kind", &f, NULL) == 0)
        avro_value_get_enum(&f, &kind);
    if (kind == 1)
        ty->per_topic[t]++; /* ALERT messages per queue */
    if (kind == 2)
        ty->overdue++; /* OVERDUE_WARNING: old alerts may become overdue */
    else if (kind != 1)
        ty->not_alert_kind++;
    if (str_field(v, "alert_id", &s, &n)) {
        if (ty->nids == ty->capids) {
            ty->capids = ty->capids ? 2 * ty->capids : 65536;
            ty->ids = realloc(ty->ids, ty->capids * sizeof(*ty->ids));
            FATAL(ty->ids);
        }
        ty->ids[ty->nids++] = fnv1a(s, n);
    }
    if (kind == 1 && str_field(v, "rule_id", &s, &n)) {
        if (n == 16 && memcmp(s, "medical-oop-365d", 16) == 0)
            ty->medical++;
        else if (n == 11 && memcmp(s, "dibao-tekun", 11) == 0)
            ty->dibao++;
        else
            ty->other_rule++;
    }
    if (!str_field(v, "village_code", &village, &nvillage) || !m->key ||
        m->key_len != nvillage || memcmp(m->key, village, nvillage) != 0)
        ty->bad_key++;
    if (t == BMD_COUNTIES || !str_field(v, "county_code", &county, &ncounty) || ncounty != 6 ||
        memcmp(county, bmd_counties[t], 6) != 0)
        ty->bad_county++;
    if (avro_value_get_by_name(v, "evidence", &f, NULL) == 0 &&
        avro_value_get_by_index(&f, 0, &ev, NULL) == 0 &&
        avro_value_get_by_name(&ev, "source", &src, NULL) == 0 &&
        str_field(&src, "record_id", &s, &n))
        lat = bmd_latency_index(s, n);
    rd_kafka_message_destroy(m);
    return lat;
}

static size_t duplicates(tally *ty)
{
    size_t d = 0;
    qsort(ty->ids, ty->nids, sizeof(*ty->ids), cmp_u64);
    for (size_t i = 1; i < ty->nids; i++)
        if (ty->ids[i] == ty->ids[i - 1])
            d++;
    return d;
}

/* ------------------------------------------------------------------ main */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- the http: endpoint's cost (TD_BENCH_HTTP=N) ---- */

typedef struct scraper {
    pthread_t t;
    int port;
    atomic_bool stop;
    long scrapes, failed;
    size_t bytes;
} scraper;

/* GET /metrics every second, as Prometheus would (a new connection each). */
static void *scraper_main(void *arg)
{
    scraper *sc = arg;
    while (!atomic_load(&sc->stop)) {
        struct sockaddr_in a = {0};
        char buf[65536];
        const char *req = "GET /metrics HTTP/1.0\r\n\r\n";
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        ssize_t n;
        bool ok = false;
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)sc->port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
            write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
            while ((n = read(fd, buf, sizeof(buf))) > 0) {
                if (!ok)
                    ok = strncmp(buf, "HTTP/1.1 200", 12) == 0 || strncmp(buf, "HTTP/1.0 200", 12) == 0;
                sc->bytes += (size_t)n;
            }
        }
        if (fd >= 0)
            close(fd);
        sc->scrapes++;
        sc->failed += !ok;
        for (int i = 0; i < 20 && !atomic_load(&sc->stop); i++)
            usleep(50000);
    }
    return NULL;
}

static double http_run_ex(const char *config, const char *suffix, bool http, bool no_suspects,
                          const rd_kafka_topic_partition_list_t *ends, long dept_total,
                          double *cpu_us, long *scrapes, char *stopped);

/* A run of matchd in a group and state of its own (suffix), the endpoint on
 * (scraped every second) or off: the roster rebuilt, then the department
 * records; records/s from ready to the group's offsets at the end, as run
 * 2. Its CPU per record in *cpu_us (the whole run's, roster included). */
static double http_run(const char *config, const char *suffix, bool http,
                       const rd_kafka_topic_partition_list_t *ends, long dept_total,
                       double *cpu_us, long *scrapes)
{
    char line[512];
    return http_run_ex(config, suffix, http, false, ends, dept_total, cpu_us, scrapes, line);
}

/* The same run with the suspicious-data list off (no_suspects) or on; the
 * "stopped:" line of its log into stopped. */
static double http_run_ex(const char *config, const char *suffix, bool http, bool no_suspects,
                          const rd_kafka_topic_partition_list_t *ends, long dept_total,
                          double *cpu_us, long *scrapes, char *stopped)
{
    char group[200], state[4300], name[64], line[512];
    rd_kafka_t *mon;
    run r;
    scraper sc;
    int64_t t_end;
    long recs = 0, alerts = 0;

    snprintf(group, sizeof(group), "%s%s", B.prefix, suffix);
    snprintf(state, sizeof(state), "%s%s", B.state, suffix);
    snprintf(name, sizeof(name), "run%s", suffix);
    B.group_suffix = suffix;
    B.state_dir = state;
    B.http = http;
    B.no_suspects = no_suspects;
    make_config(config, TXN_MAX_INTERVAL_MS);
    B.group_suffix = NULL;
    B.state_dir = NULL;
    B.http = false;
    B.no_suspects = false;
    mon = consumer_new(USER_HARNESS, group, false);
    memset(&sc, 0, sizeof(sc));
    run_spawn(&r, config, name);
    if (http) {
        const char *p;
        run_wait_log(&r, "http: listening on 127.0.0.1:", line, sizeof(line), 60000);
        p = strstr(line, "127.0.0.1:");
        sc.port = p ? atoi(p + strlen("127.0.0.1:")) : 0;
        FATAL(sc.port > 0);
        FATAL(pthread_create(&sc.t, NULL, scraper_main, &sc) == 0);
    }
    run_wait_ready(&r);
    for (;;) {
        run_check_alive(&r);
        if (group_done(mon, ends))
            break;
        if (td_time_mono_us() - r.ready_us > 1200 * 1000000LL)
            die("matchd did not commit the end of its inputs within 1200 s", NULL);
        usleep(50000);
    }
    t_end = td_time_mono_us();
    if (http) {
        atomic_store(&sc.stop, true);
        pthread_join(sc.t, NULL);
        fprintf(stderr, "%s: %ld scrapes (%ld failed), %zu bytes\n", name, sc.scrapes,
                sc.failed, sc.bytes);
        FATAL(sc.scrapes > 0 && sc.failed == 0);
    }
    run_stop(&r, &recs, &alerts);
    r.log_off = 0; /* from the start: run_stop read it already */
    if (!run_log_find(&r, "stopped:", stopped, 512))
        stopped[0] = '\0';
    td_kafka_destroy(mon);
    *cpu_us = r.cpu_s * 1e6 / (double)dept_total;
    *scrapes = sc.scrapes;
    fprintf(stderr, "%s: ready (the roster loaded) in %.2f s, then %ld records in %.2f s\n",
            name, secs(r.ready_us - r.spawned_us), dept_total, secs(t_end - r.ready_us));
    return (double)dept_total / secs(t_end - r.ready_us);
}

/* What main compares between the buses. */
typedef struct result {
    double roster_rate;       /* persons/s, run 1 */
    double matchd_rate;       /* records/s, run 2 */
    double raw_rate;          /* the baseline's records/s */
    double matchd_cpu;        /* tuodi-matchd's CPU per record (µs), run 2 */
    double broker_cpu;        /* the broker's CPU per record (µs) during run 2, -1 unknown */
    double raw_broker_cpu;    /* the same during the baseline */
    double p50_ms, p99_ms;    /* latency, run 3 */
    double http_off, http_on; /* records/s, runs 4 and 5 (TD_BENCH_HTTP=N), 0: not run */
    double sus_off, sus_on;   /* records/s (TD_BENCH_SUSPECTS=N), 0: not run */
} result;

/* The whole benchmark on bus: its own topics, state and work directory.
 * Returns the number of failed checks. */
static int bench_on(const bench_bus *bus, long persons, long records, long lat_rate,
                    long lat_secs, result *res)
{
    const char *src = getenv("TD_SOURCE_ROOT") ? getenv("TD_SOURCE_ROOT") : ".";
    const char *build = getenv("TD_BUILD_ROOT") ? getenv("TD_BUILD_ROOT") : "build";
    char config[4300], *uniq;
    td_error err = {0};
    bmd_gen *gen = NULL;
    bmd_expect ex;
    loader ld;
    run r1, r2, r3;
    memory mem_ready, mem_end;
    long long disk1_app, disk1_alloc, disk2_app, disk2_alloc;
    long dept_total = 0, raw_n = 0, stop_records = 0, stop_alerts = 0, r3_records = 0,
         r3_alerts = 0;
    double raw_rate, raw_secs, t_roster_load, t_dept_load, matchd_secs, matchd_rate;
    int64_t t0, t_end;
    rd_kafka_topic_partition_list_t *ends;
    rd_kafka_t *mon;
    reader rd;
    tally ty;
    int failures = 0;
    bool ready_note = false;

    pid_t broker = bench_bus_broker_pid(bus);
    double bcpu0, bcpu1;

    memset(&B, 0, sizeof(B));
    B.bus = bus;
    B.dir = td_test_tmpdir();
    FATAL(B.dir);
    uniq = td_test_unique("bench-mtd");
    snprintf(B.prefix, sizeof(B.prefix), "%s", uniq);
    free(uniq);
    snprintf(B.t_roster, sizeof(B.t_roster), "%s.roster", B.prefix);
    snprintf(B.t_med, sizeof(B.t_med), "%s.medical", B.prefix);
    snprintf(B.t_civil, sizeof(B.t_civil), "%s.civil", B.prefix);
    snprintf(B.t_hr, sizeof(B.t_hr), "%s.hr", B.prefix);
    snprintf(B.t_ver, sizeof(B.t_ver), "%s.verifications.340421", B.prefix);
    snprintf(B.t_raw, sizeof(B.t_raw), "%s.raw", B.prefix);
    snprintf(B.alert_prefix, sizeof(B.alert_prefix), "%s.alerts.", B.prefix);
    {
        char tx[200];
        const char *prefixes[] = {B.prefix, NULL}, *txids[] = {tx, B.prefix, NULL};
        snprintf(tx, sizeof(tx), "tuodi-matchd.%s", B.prefix);
        FATAL(bench_bus_grant(bus, USER_MATCHD, prefixes, prefixes, txids) == 0);
    }
    for (int i = 0; i < BMD_COUNTIES; i++)
        snprintf(B.t_alerts[i], sizeof(B.t_alerts[i]), "%s%s", B.alert_prefix, bmd_counties[i]);
    snprintf(B.t_alerts[BMD_COUNTIES], sizeof(B.t_alerts[0]), "%sunrouted", B.alert_prefix);
    snprintf(B.bin, sizeof(B.bin), "%s/daemon/tuodi-matchd", build);
    snprintf(B.rules, sizeof(B.rules), "%s/deploy/rules/huainan-2023.yaml", src);
    snprintf(B.schemas, sizeof(B.schemas), "%s/schemas", src);
    snprintf(B.state, sizeof(B.state), "%s/state", B.dir);
    snprintf(config, sizeof(config), "%s/matchd.yaml", B.dir);
    FATAL(access(B.bin, X_OK) == 0);

    if (td_avro_registry_new(&B.reg) < 0 ||
        td_avro_registry_load_dir(B.reg, B.schemas, NULL, &err) < 0)
        die("schemas", &err);
    if (bmd_gen_new(B.reg, persons, records, &gen, &err) < 0)
        die("data", &err);

    /* 1. the roster, and matchd on it alone */
    memset(&ld, 0, sizeof(ld));
    ld.rk = producer_new(USER_HARNESS, NULL, NULL, &ld);
    ld.topics[BMD_ROSTER] = B.t_roster;
    ld.topics[BMD_MEDICAL] = B.t_med;
    ld.topics[BMD_CIVIL] = B.t_civil;
    create_topics(ld.rk);
    t0 = td_time_mono_us();
    if (bmd_gen_roster(gen, loader_emit, &ld, &err) < 0)
        die("roster", &err);
    loader_finish(&ld, "roster records");
    t_roster_load = secs(td_time_mono_us() - t0);
    fprintf(stderr, "roster: %ld households (%ld persons) produced in %.1f s\n", ld.sent,
            persons, t_roster_load);

    make_config(config, TXN_MAX_INTERVAL_MS);
    run_spawn(&r1, config, "run1");
    run_wait_ready(&r1);
    mem_ready = proc_memory(r1.pid);
    {
        /* "... N households, M persons ..." in the line that reports the
         * roster read (its wording differs between versions) */
        char line[8192];
        long nh = -1, np = -1;
        const char *p;
        r1.log_off = 0;
        while (run_log_find(&r1, " households, ", line, sizeof(line))) {
            p = strstr(line, " households, ");
            while (p > line && p[-1] >= '0' && p[-1] <= '9')
                p--;
            if (sscanf(p, "%ld households, %ld persons", &nh, &np) == 2)
                break;
        }
        if (nh != ld.sent || np != persons) {
            /* a note, not a failure: a version may count what its store has
             * committed so far; the alert check below is what matters */
            fprintf(stderr, "bench_matchd: NOTE: at ready matchd reports %ld households, %ld "
                    "persons; the roster holds %ld, %ld\n", nh, np, ld.sent, persons);
            ready_note = true;
        }
    }
    run_stop(&r1, &stop_records, &stop_alerts);
    state_size(&disk1_app, &disk1_alloc);
    fprintf(stderr, "run 1: ready after %.2f s\n", secs(r1.ready_us - r1.spawned_us));

    /* 2. the department records */
    ld.sent = 0;
    t0 = td_time_mono_us();
    if (bmd_gen_departments(gen, loader_emit, &ld, &ex, &err) < 0)
        die("department records", &err);
    loader_finish(&ld, "department records");
    t_dept_load = secs(td_time_mono_us() - t0);
    ends = department_ends(ld.rk, &dept_total);
    FATAL(dept_total == records);
    fprintf(stderr, "departments: %ld records produced in %.1f s; %ld alerts expected\n",
            dept_total, t_dept_load, ex.alerts);

    /* 3. the baseline */
    bcpu0 = bench_cpu_seconds(broker);
    raw_rate = baseline(dept_total, &raw_n, &raw_secs);
    bcpu1 = bench_cpu_seconds(broker);
    res->raw_broker_cpu =
        broker > 0 && bcpu0 >= 0 && bcpu1 >= 0 ? (bcpu1 - bcpu0) * 1e6 / (double)raw_n : -1;
    fprintf(stderr, "baseline: %ld records in %.2f s\n", raw_n, raw_secs);

    /* 4. matchd through the same records */
    {
        char group[200];
        snprintf(group, sizeof(group), "%s", B.prefix);
        mon = consumer_new(USER_HARNESS, group, false);
    }
    run_spawn(&r2, config, "run2");
    run_wait_ready(&r2);
    bcpu0 = bench_cpu_seconds(broker);
    for (;;) {
        run_check_alive(&r2);
        if (group_done(mon, ends))
            break;
        if (td_time_mono_us() - r2.ready_us > 1200 * 1000000LL)
            die("matchd did not commit the end of its inputs within 1200 s", NULL);
        usleep(50000);
    }
    t_end = td_time_mono_us();
    bcpu1 = bench_cpu_seconds(broker);
    res->broker_cpu =
        broker > 0 && bcpu0 >= 0 && bcpu1 >= 0 ? (bcpu1 - bcpu0) * 1e6 / (double)dept_total : -1;
    mem_end = proc_memory(r2.pid);
    matchd_secs = secs(t_end - r2.ready_us);
    matchd_rate = (double)dept_total / matchd_secs;
    fprintf(stderr, "matchd: %ld records in %.2f s\n", dept_total, matchd_secs);

    memset(&ty, 0, sizeof(ty));
    reader_open(&rd);
    {
        int64_t until = td_time_mono_ms() + 120000;
        while (rd.eofs < N_ALERT_TOPICS * ALERT_PARTITIONS && td_time_mono_ms() < until)
            reader_poll(&rd, &ty, 100);
        FATAL(rd.eofs == N_ALERT_TOPICS * ALERT_PARTITIONS);
    }
    run_stop(&r2, &stop_records, &stop_alerts);
    state_size(&disk2_app, &disk2_alloc);
    {
        size_t dups = duplicates(&ty);
        bool ok = ty.total - ty.overdue == ex.alerts && ty.medical == ex.medical_alerts &&
                  ty.dibao == ex.dibao_alerts && ty.other_rule == 0 && ty.not_alert_kind == 0 &&
                  ty.bad_key == 0 && ty.bad_county == 0 && ty.undecodable == 0 && dups == 0 &&
                  ty.per_topic[BMD_COUNTIES] == 0 && stop_records == dept_total &&
                  stop_alerts == ex.alerts;
        for (int c = 0; c < BMD_COUNTIES; c++)
            ok = ok && ty.per_topic[c] == ex.per_county[c];
        fprintf(stderr,
                "alerts: %ld read (expected %ld): medical-oop-365d %ld (%ld), dibao-tekun %ld "
                "(%ld), other rules %ld, not ALERT %ld, wrong key %ld, wrong county %ld, "
                "undecodable %ld, duplicate ids %zu, unrouted %ld, OVERDUE_WARNING %ld; per county",
                ty.total, ex.alerts, ty.medical, ex.medical_alerts, ty.dibao, ex.dibao_alerts,
                ty.other_rule, ty.not_alert_kind, ty.bad_key, ty.bad_county, ty.undecodable,
                dups, ty.per_topic[BMD_COUNTIES], ty.overdue);
        for (int c = 0; c < BMD_COUNTIES; c++)
            fprintf(stderr, " %s %ld (%ld)", bmd_counties[c], ty.per_topic[c], ex.per_county[c]);
        fprintf(stderr, "; matchd stopped: %ld records, %ld alerts\n", stop_records, stop_alerts);
        if (!ok) {
            fprintf(stderr, "bench_matchd: FAILED: tuodi-matchd produced the wrong alerts\n");
            failures++;
        }
    }

    /* 5. latency at lat_rate records/s */
    make_config(config, LAT_MAX_INTERVAL_MS);
    run_spawn(&r3, config, "run3");
    run_wait_ready(&r3);
    {
        long nlat = lat_rate * lat_secs, got = 0, dup = 0, lost;
        int64_t *sent = calloc((size_t)nlat, sizeof(int64_t));
        int64_t *lat = calloc((size_t)nlat, sizeof(int64_t));
        rd_kafka_t *p = producer_new(USER_HARNESS, NULL, "1", NULL);
        td_avro_buf b = TD_AVRO_BUF_INIT;
        char key[32];
        long produced = 0;
        int64_t start, until;
        tally lty;

        FATAL(sent && lat);
        memset(&lty, 0, sizeof(lty));
        /* the producer connected before the clock starts */
        {
            const struct rd_kafka_metadata *md = NULL;
            FATAL(rd_kafka_metadata(p, 1, NULL, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
            rd_kafka_metadata_destroy(md);
        }
        start = td_time_mono_us();
        until = start + (lat_secs + 30) * 1000000LL;
        while (got + dup < nlat && td_time_mono_us() < until) {
            int64_t now = td_time_mono_us();
            long i;
            while (produced < nlat && now >= start + produced * 1000000LL / lat_rate) {
                if (bmd_gen_latency_record(gen, produced, key, &b, &err) < 0)
                    die("latency record", &err);
                sent[produced] = td_time_mono_us();
                FATAL(td_kafka_produce(p, B.t_civil, key, strlen(key), b.data, b.len, NULL) ==
                      RD_KAFKA_RESP_ERR_NO_ERROR);
                produced++;
            }
            rd_kafka_poll(p, 0);
            i = reader_poll(&rd, &lty, 1);
            if (i >= 0 && i < produced) {
                if (lat[i])
                    dup++;
                else {
                    lat[i] = td_time_mono_us() - sent[i];
                    got++;
                }
            }
            run_check_alive(&r3);
        }
        rd_kafka_flush(p, 10000);
        td_kafka_destroy(p);
        td_avro_buf_done(&b);
        /* anything more would be a duplicate */
        until = td_time_mono_us() + 3000000;
        while (td_time_mono_us() < until) {
            long i = reader_poll(&rd, &lty, 100);
            if (i >= 0 && i < nlat && lat[i])
                dup++;
        }
        lost = nlat - got;
        run_stop(&r3, &r3_records, &r3_alerts);
        qsort(lat, (size_t)nlat, sizeof(*lat), cmp_i64);
        if (lost || dup || lty.total - lty.overdue != nlat || lty.not_alert_kind ||
            r3_alerts - lty.overdue != nlat) {
            fprintf(stderr, "bench_matchd: FAILED: latency phase: %ld of %ld alerts arrived, "
                    "%ld duplicates, %ld alert messages (%ld OVERDUE_WARNING), matchd counted "
                    "%ld\n", got, nlat, dup, lty.total, lty.overdue, r3_alerts);
            failures++;
        }

        printf("\n== tuodi-matchd benchmark, %s broker%s (%ld roster persons, %ld department "
               "records) ==\n", bus->name,
               bench_bus_secured(bus) ? " (SASL_SSL, PLAIN; matchd and its baseline as "
               USER_MATCHD ", with ACLs)" : "", persons, dept_total);
        printf("data: roster %ld households produced in %.1f s; department records "
               "(%ld medical, %ld civil affairs; %ld alerts expected) in %.1f s\n",
               ld.sent > 0 ? (persons + 2) / 3 : 0, t_roster_load, ex.medical_records,
               ex.civil_records, ex.alerts, t_dept_load);
        printf("matchd config: transaction max_records %ld, max_interval %d ms%s\n",
               txn_max_records, TXN_MAX_INTERVAL_MS,
               B.clock_key ? ", clock tick_interval 0" : "");
        printf("roster load (run 1, fresh state): ready %.2f s after start = %.0f persons/s\n",
               secs(r1.ready_us - r1.spawned_us),
               (double)persons / secs(r1.ready_us - r1.spawned_us));
        printf("index per roster person: RSS at ready %.0f B (VmRSS %ld kB = RssAnon %ld kB + "
               "RssFile %ld kB, VmHWM %ld kB); LMDB %.0f B allocated (%lld bytes; apparent "
               "%lld)\n",
               (double)mem_ready.rss_kb * 1024 / (double)persons, mem_ready.rss_kb,
               mem_ready.anon_kb, mem_ready.file_kb, mem_ready.hwm_kb,
               (double)disk1_alloc / (double)persons, disk1_alloc, disk1_app);
        if (ready_note)
            printf("NOTE: at ready (run 1) matchd reported fewer roster persons than the topic "
                   "holds (see above)\n");
        printf("ready after a restart (state kept): run 2 %.2f s (the roster indexed), run 3 "
               "%.2f s (and the department records' states and alerts)\n",
               secs(r2.ready_us - r2.spawned_us), secs(r3.ready_us - r3.spawned_us));
        printf("matchd: %ld records in %.2f s = %.0f records/s (ready -> offsets committed)\n",
               dept_total, matchd_secs, matchd_rate);
        /* CPU time does not grow when other processes take the cores */
        printf("matchd CPU (user + system, whole run): run 1 %.2f s = %.2f us per roster "
               "person; run 2 %.2f s = %.2f us per record\n", r1.cpu_s,
               r1.cpu_s * 1e6 / (double)persons, r2.cpu_s, r2.cpu_s * 1e6 / (double)dept_total);
        printf("baseline raw consume-produce (read_committed, transactional, same settings): "
               "%.0f records/s (%ld in %.2f s)\n", raw_rate, raw_n, raw_secs);
        printf("ratio matchd/baseline: %.2f\n", matchd_rate / raw_rate);
        printf("alerts: %ld, as expected: %s\n", ty.total,
               ty.total == ex.alerts && failures == 0 ? "yes" : "NO");
        printf("after the run, per roster person: RSS %.0f B (VmRSS %ld kB = RssAnon %ld kB + "
               "RssFile %ld kB, VmHWM %ld kB); LMDB %.0f B allocated (%lld bytes; apparent "
               "%lld)\n",
               (double)mem_end.rss_kb * 1024 / (double)persons, mem_end.rss_kb,
               mem_end.anon_kb, mem_end.file_kb, mem_end.hwm_kb,
               (double)disk2_alloc / (double)persons, disk2_alloc, disk2_app);
        printf("latency (run 3, max_interval %d ms): %ld records at %ld/s, record produced -> "
               "alert read (read_committed): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
               LAT_MAX_INTERVAL_MS, nlat, lat_rate, (double)lat[nlat / 2] / 1000.0,
               (double)lat[(nlat * 99) / 100] / 1000.0, (double)lat[nlat - 1] / 1000.0);
        if (res->broker_cpu >= 0)
            printf("broker CPU per record: %.2f us during matchd's run 2, %.2f us during the "
                   "baseline\n", res->broker_cpu, res->raw_broker_cpu);
        res->roster_rate = (double)persons / secs(r1.ready_us - r1.spawned_us);
        res->matchd_rate = matchd_rate;
        res->raw_rate = raw_rate;
        res->matchd_cpu = r2.cpu_s * 1e6 / (double)dept_total;
        res->p50_ms = (double)lat[nlat / 2] / 1000.0;
        res->p99_ms = (double)lat[(nlat * 99) / 100] / 1000.0;
        printf("targets: >= 50000 records/s: %s; >= 0.5 of baseline: %s; p99 < 1 s: %s\n",
               matchd_rate >= 50000 ? "met" : "NOT met",
               matchd_rate >= 0.5 * raw_rate ? "met" : "NOT met",
               lat[(nlat * 99) / 100] < 1000000 ? "met" : "NOT met");
        free(sent);
        free(lat);
        free(lty.ids);
    }
    /* 6. the http: endpoint's cost (TD_BENCH_HTTP=N): N pairs of runs, each
     * in a group and state of its own over the same records, off and on
     * (scraped every second), the order alternating from pair to pair */
    if (getenv("TD_BENCH_HTTP") && atoi(getenv("TD_BENCH_HTTP")) > 0) {
        int pairs = atoi(getenv("TD_BENCH_HTTP"));
        double off = 0, on = 0, cpu_off = 0, cpu_on = 0;
        long scrapes = 0;
        for (int i = 0; i < pairs && i < 20; i++) {
            char s_off[32], s_on[32];
            double cpu, rate;
            long n = 0;
            snprintf(s_off, sizeof(s_off), "-off%d", i);
            snprintf(s_on, sizeof(s_on), "-http%d", i);
            for (int k = 0; k < 2; k++) {
                bool http = (k == 0) == (i % 2 == 1); /* off first in even pairs */
                rate = http_run(config, http ? s_on : s_off, http, ends, dept_total, &cpu, &n);
                printf("http endpoint run %d.%d: %s %.0f records/s, CPU %.2f us per record\n",
                       i + 1, k + 1, http ? "on, scraped every second" : "off", rate, cpu);
                if (http) {
                    on += rate / pairs;
                    cpu_on += cpu / pairs;
                    scrapes += n;
                } else {
                    off += rate / pairs;
                    cpu_off += cpu / pairs;
                }
            }
        }
        printf("http endpoint (%d pair(s) of runs, the roster rebuilt, then the same %ld "
               "records; ready -> offsets committed; means): off %.0f records/s, on and scraped "
               "every second (%ld scrapes) %.0f records/s: ratio on/off %.3f (cost %.1f%%); CPU "
               "per record (whole run) off %.2f us, on %.2f us\n",
               pairs, dept_total, off, scrapes, on, on / off, (1 - on / off) * 100, cpu_off,
               cpu_on);
        res->http_off = off;
        res->http_on = on;
    }
    /* 7. the suspicious-data list's cost (TD_BENCH_SUSPECTS=N): N pairs of
     * runs as in 6, suspects off and on, the order alternating */
    if (getenv("TD_BENCH_SUSPECTS") && atoi(getenv("TD_BENCH_SUSPECTS")) > 0) {
        int pairs = atoi(getenv("TD_BENCH_SUSPECTS"));
        double off = 0, on = 0, cpu_off = 0, cpu_on = 0;
        for (int i = 0; i < pairs && i < 20; i++) {
            char s_off[32], s_on[32], stopped[512];
            double cpu, rate;
            long n = 0;
            snprintf(s_off, sizeof(s_off), "-susoff%d", i);
            snprintf(s_on, sizeof(s_on), "-suson%d", i);
            for (int k = 0; k < 2; k++) {
                bool sus = (k == 0) == (i % 2 == 1); /* off first in even pairs */
                rate = http_run_ex(config, sus ? s_on : s_off, false, !sus, ends, dept_total,
                                   &cpu, &n, stopped);
                printf("suspects run %d.%d: %s %.0f records/s, CPU %.2f us per record (%s)\n",
                       i + 1, k + 1, sus ? "on" : "off", rate, cpu,
                       strstr(stopped, "stopped:") ? strstr(stopped, "stopped:") : "?");
                if (sus) {
                    on += rate / pairs;
                    cpu_on += cpu / pairs;
                } else {
                    off += rate / pairs;
                    cpu_off += cpu / pairs;
                }
            }
        }
        printf("suspects (%d pair(s) of runs, the roster rebuilt, then the same %ld records; "
               "ready -> offsets committed; means): off %.0f records/s, on %.0f records/s: "
               "ratio on/off %.3f; CPU per record (whole run) off %.2f us, on %.2f us\n",
               pairs, dept_total, off, on, on / off, cpu_off, cpu_on);
        res->sus_off = off;
        res->sus_on = on;
    }
    rd_kafka_topic_partition_list_destroy(ends);
    td_kafka_destroy(mon);
    td_kafka_destroy(rd.c);
    td_avro_decoder_free(rd.dec);
    td_kafka_destroy(ld.rk);
    free(ty.ids);
    bmd_gen_free(gen);
    td_avro_registry_free(B.reg);
    if (failures)
        fprintf(stderr, "bench_matchd: FAILED on the %s broker (logs kept in %s)\n", bus->name,
                B.dir);
    else if (!getenv("TD_KEEP_TMP"))
        td_test_rmtree(B.dir);
    free(B.dir);
    fflush(stdout);
    return failures;
}

int main(int argc, char **argv)
{
    long persons = argc > 1 ? atol(argv[1]) : 1000000;
    long records = argc > 2 ? atol(argv[2]) : 1000000;
    long lat_rate = argc > 3 ? atol(argv[3]) : 1000;
    long lat_secs = argc > 4 ? atol(argv[4]) : 30;
    bench_bus bus[2];
    result res[2];
    int nbus = bench_bus_list(bus), failures = 0;

    if (nbus < 0)
        return 1;
    if (argc > 5)
        txn_max_records = atol(argv[5]);
    FATAL(lat_rate > 0 && lat_secs > 0 && lat_rate <= 100000);
    FATAL(txn_max_records >= 1 && txn_max_records <= 10000000);
    memset(res, 0, sizeof(res));
    /* the same data on each bus (bmd_gen is deterministic) */
    for (int b = 0; b < nbus; b++)
        failures += bench_on(&bus[b], persons, records, lat_rate, lat_secs, &res[b]);
    printf("\n");
    for (int b = 0; b < nbus; b++)
        printf("summary matchd %s: tuodi-matchd %.0f records/s, baseline raw consume-produce "
               "%.0f records/s, ratio to baseline %.2f; CPU per record: matchd %.2f us, broker "
               "%.2f us (baseline: broker %.2f us); roster load %.0f persons/s; latency p50 %.1f "
               "ms, p99 %.1f ms\n",
               bus[b].name, res[b].matchd_rate, res[b].raw_rate,
               res[b].matchd_rate / res[b].raw_rate, res[b].matchd_cpu, res[b].broker_cpu,
               res[b].raw_broker_cpu, res[b].roster_rate, res[b].p50_ms, res[b].p99_ms);
    for (int b = 0; b < nbus; b++)
        if (res[b].sus_off > 0)
            printf("summary matchd %s suspects: off %.0f records/s, on %.0f records/s, ratio "
                   "%.3f; target >= 0.8: %s\n", bus[b].name, res[b].sus_off, res[b].sus_on,
                   res[b].sus_on / res[b].sus_off,
                   res[b].sus_on >= 0.8 * res[b].sus_off ? "met" : "NOT met");
    for (int b = 0; b < nbus; b++)
        if (res[b].http_off > 0)
            printf("summary matchd %s http: endpoint off %.0f records/s, on and scraped every "
                   "second %.0f records/s, ratio %.3f; target cost < 2%%: %s\n", bus[b].name,
                   res[b].http_off, res[b].http_on, res[b].http_on / res[b].http_off,
                   res[b].http_on >= 0.98 * res[b].http_off ? "met" : "NOT met");
    if (nbus == 2) {
        double ratio = res[1].matchd_rate / res[0].matchd_rate;
        printf("summary matchd secured/plaintext: tuodi-matchd %.2f, baseline %.2f, roster load "
               "%.2f; target >= 0.8: %s\n", ratio, res[1].raw_rate / res[0].raw_rate,
               res[1].roster_rate / res[0].roster_rate, ratio >= 0.8 ? "met" : "NOT met");
    }
    if (failures)
        fprintf(stderr, "bench_matchd: FAILED: %d check(s)\n", failures);
    return failures ? 1 : 0;
}
