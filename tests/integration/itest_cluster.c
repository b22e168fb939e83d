/* Every tuodi program starts on a three-node cluster with one node down
 * (issue 10, defect 12).
 *
 * The test starts a cluster of its own (deploy/kafka/dev-broker --nodes 3,
 * under the build dir, small heaps), creates what a running installation
 * already has (some topics, the transaction and offsets topics), SIGKILLs
 * node 1 and at once starts, against all three addresses:
 *   - four tuodi-connectors, two whose topics exist and two whose topics do
 *     not: each must publish its CSV file (in finished/, every row in the
 *     topic);
 *   - tuodi-matchd, whose clock topic does not exist: it must log "ready:";
 *   - tuodictl topics create (one topic missing: created), then several
 *     topics create --dry-run and a report: each must answer, exit 0.
 * Each must get there within START_BOUND_MS of its own start, and the
 * connection attempts to the dead node that its log shows (librdkafka logs
 * the first failure and then, every 30 s, "N identical error(s) suppressed")
 * must stay below MAX_ATTEMPTS. The programs run until HOLD_MS after the
 * kill, so that a tight reconnect loop would have logged its count; one
 * shorter than 30 s shows in the CPU time instead (MAX_CPU_S).
 *
 * Why it failed before: the Metadata response names a random live broker as
 * "controller" (KRaft), and for about 9 s after the kill (the broker session
 * timeout) the dead node still counts as live. librdkafka 2.0.2 sends
 * CreateTopics and DescribeConfigs to that controller; while it waits for
 * the dead one, every change of the broker's state wakes the lookup, which
 * asks for a connection with the reconnect backoff reset: hundreds of
 * thousands of connection attempts, and "Failed while waiting for
 * controller: Local: Timed out"; a retry asks the same dead node (the
 * cached controller is looked up again only while none is known). A
 * program is hit with a chance of about 1 in 3, so the test starts sixteen
 * that ask the controller (the daemons, and tuodictl topics create eleven
 * times) while the dead node counts as live: all of them pass the old code
 * with a chance of (2/3)^16, 0.2 %.
 *
 *   itest_cluster
 */
#include "td_kafka.h"
#include "td_proc.h"
#include "td_test.h"
#include "td_time.h"
#include "tdc_it.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define START_BOUND_MS 30000
#define HOLD_MS 40000
#define MAX_ATTEMPTS 300
/* CPU seconds a program may use in the whole test: a healthy connector or
 * matchd uses about 0.1 s, tuodictl 0.01 s; a tight loop of even 5 s burns
 * 2.5-5 s, and its attempts are not logged (librdkafka logs the count of
 * suppressed ones only with a failure 30 s after the first). */
#define MAX_CPU_S 1.5
#define DEAD_NODE 1
#define ROWS 2000
#define DRY_RUNS 10

static char kdir[1024], tmp[1024], boot[1024], dead_addr[128];
static pid_t running[8]; /* the daemons, for the cleanup */
static size_t nrunning;

/* A daemon under test: when it started, and when it got past start-up. */
typedef struct program {
    const char *what;
    const char *name; /* a connector's instance and topic prefix; NULL: matchd */
    bool topics_exist;
    char config[4200];
    char log[4200];
    char spool[4200]; /* a connector's: the file in finished/ is the sign */
    pid_t pid;
    int64_t started, reached; /* monotonic ms; reached 0: not yet */
} program;

/* Four connectors, so that a connector's own start (not only tuodictl's)
 * would meet the dead controller with a chance of 1 - (2/3)^4, 80 %. */
static program daemons[] = {
    {.what = "tuodi-connector A (topics exist)", .name = "ita", .topics_exist = true},
    {.what = "tuodi-connector B (topics missing)", .name = "itb"},
    {.what = "tuodi-connector C (topics exist)", .name = "itc", .topics_exist = true},
    {.what = "tuodi-connector D (topics missing)", .name = "itd"},
    {.what = "tuodi-matchd (clock topic missing)"},
};
#define NDAEMONS (sizeof(daemons) / sizeof(daemons[0]))

static const char *source_root(void)
{
    return td_test_source_root();
}

static const char *build_root(void)
{
    const char *b = getenv("TD_BUILD_ROOT");
    return b && *b ? b : "build";
}

/* Runs a dev-broker command line (after "dev-broker"); its exit status. */
static int dev_broker(const char *args)
{
    char cmd[16384];
    snprintf(cmd, sizeof(cmd), "%s/deploy/kafka/dev-broker %s --dir %s >>%s/dev-broker.log 2>&1",
             source_root(), args, kdir, tmp);
    return system(cmd);
}

/* The address node k listens on (PLAINTEXT), from its server.properties. */
static int node_addr(int k, char *out, size_t size)
{
    char path[4200], *text, *at, *end;
    snprintf(path, sizeof(path), "%s/node-%d/server.properties", kdir, k);
    text = td_test_read_file(path, NULL);
    if (!text)
        return -1;
    at = strstr(text, "\nlisteners=PLAINTEXT://");
    if (!at) {
        free(text);
        return -1;
    }
    at += strlen("\nlisteners=PLAINTEXT://");
    end = at + strcspn(at, ",\n");
    snprintf(out, size, "%.*s", (int)(end - at), at);
    free(text);
    return 0;
}

/* Starts argv[0] (a path) with stdout and stderr into log. */
static pid_t spawn(const char *const *argv, const char *log)
{
    return td_proc_spawn(argv[0], argv, log);
}

static pid_t spawn_daemon(const char *const *argv, const char *log)
{
    pid_t pid = spawn(argv, log);
    if (pid > 0 && nrunning < sizeof(running) / sizeof(running[0]))
        running[nrunning++] = pid;
    return pid;
}

static bool finished(const char *spool)
{
    char path[4300];
    struct stat st;
    snprintf(path, sizeof(path), "%s/finished/rows.csv", spool);
    return stat(path, &st) == 0;
}

static bool file_has(const char *path, const char *text)
{
    return td_proc_log_count(path, text) > 0;
}

/* Connection attempts to addr that the log shows: failures logged, plus the
 * identical ones librdkafka counted as suppressed. */
static long attempts_logged(const char *log, const char *addr)
{
    char *s = td_test_read_file(log, NULL), needle[200];
    long n = 0;
    snprintf(needle, sizeof(needle), "Connect to ipv4#%s failed", addr);
    for (char *p = s ? strstr(s, needle) : NULL; p; p = strstr(p + 1, needle)) {
        char *eol = strchr(p, '\n'), *sup = strstr(p, " identical error(s) suppressed");
        n++;
        if (sup && (!eol || sup < eol)) {
            char *d = sup;
            while (d > p && d[-1] >= '0' && d[-1] <= '9')
                d--;
            n += strtol(d, NULL, 10);
        }
    }
    free(s);
    return n;
}

/* Notes which daemons got past start-up since the last call. */
static void poll_daemons(void)
{
    int64_t now = td_time_mono_ms();
    for (size_t i = 0; i < NDAEMONS; i++) {
        program *p = &daemons[i];
        if (p->pid <= 0 || p->reached)
            continue;
        if (p->spool[0] ? finished(p->spool) : file_has(p->log, "ready: roster caught up"))
            p->reached = now;
    }
}

/* Waits for pid up to timeout_ms (then SIGKILL), noting the daemons'
 * progress meanwhile; the status, -1 if killed; *cpu: the CPU seconds pid
 * used. */
static int wait_exit_polling(pid_t pid, int timeout_ms, double *cpu)
{
    int64_t until = td_time_mono_ms() + timeout_ms;
    struct rusage ru;
    int st, r = -1;

    while (td_time_mono_ms() < until) {
        if (wait4(pid, &st, WNOHANG, &ru) == pid) {
            r = st;
            goto done;
        }
        poll_daemons();
        usleep(20000);
    }
    kill(pid, SIGKILL);
    wait4(pid, &st, 0, &ru);
done:
    *cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    return r;
}

/* CPU seconds pid has used (user + system), from /proc; -1 if unknown. A
 * tight reconnect loop burns a core while it lasts, however short. */
static double cpu_seconds(pid_t pid)
{
    char path[64], buf[2048], *p;
    unsigned long long ut = 0, st = 0;
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the name may hold spaces */
    /* after ") ": state(3) ... utime(14) stime(15) */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                     &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void show_tail(const char *what, const char *log)
{
    fprintf(stderr, "--- %s: %s ---\n", what, log);
    td_proc_show_log(log, 30);
}

/* ---- what an installation has before the node dies ---- */

static rd_kafka_t *admin(const char *txn_id)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_error err = {0};
    if (td_kafka_producer_conf_new(boot, txn_id, &props, &conf, &err) < 0 ||
        td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) < 0)
        fprintf(stderr, "admin client: %s\n", err.msg);
    return rk;
}

/* The topics of the connectors whose topics exist and of matchd's inputs,
 * and the internal transaction and offsets topics (created on first use,
 * which needs all three replicas). */
static int prepare(void)
{
    char names[16][64];
    const char *roster = "itm.roster", *inputs[] = {"itm.medical", "itm.civil", "itm.hr",
                                                    "itm.verifications.340421"};
    td_kafka_props compact = {0};
    td_kafka_topic_spec specs[16];
    size_t n = 0;
    rd_kafka_t *rk = admin("itest-cluster-warmup"), *c = NULL;
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_topic_partition_list_t *l = NULL;
    td_error err = {0};
    int r = -1;

    if (!rk || td_kafka_props_add(&compact, "cleanup.policy", "compact", NULL) < 0)
        goto out;
    memset(specs, 0, sizeof(specs));
    for (size_t i = 0; i < NDAEMONS; i++) {
        /* as the connector makes them */
        static const char *const suffix[] = {"records", "dlq", "offsets"};
        static const int parts[] = {3, 1, TD_KAFKA_OFFSETS_TOPIC_PARTITIONS};
        if (!daemons[i].name || !daemons[i].topics_exist)
            continue;
        for (int k = 0; k < 3; k++, n++) {
            snprintf(names[n], sizeof(names[n]), "%s.%s", daemons[i].name, suffix[k]);
            specs[n].name = names[n];
            specs[n].partitions = parts[k];
            specs[n].config = k == 2 ? &compact : NULL;
        }
    }
    specs[n].name = roster;
    specs[n].partitions = 2;
    specs[n++].config = &compact;
    for (size_t k = 0; k < 4; k++) {
        specs[n].name = inputs[k];
        specs[n++].partitions = 2;
    }
    for (size_t i = 0; i < n; i++)
        specs[i].replication_factor = 3;
    if (td_kafka_topics_ensure(rk, specs, n, 60000, &err) < 0 ||
        td_kafka_txn_init(rk, 60000, &err) < 0) {
        fprintf(stderr, "prepare: %s\n", err.msg);
        goto out;
    }
    /* __consumer_offsets: an OffsetFetch waits until the group has a
     * coordinator. */
    if (td_kafka_consumer_conf_new(boot, "itest-cluster-warmup", NULL, &conf, &err) < 0 ||
        td_kafka_new(RD_KAFKA_CONSUMER, conf, &c, &err) < 0) {
        fprintf(stderr, "prepare: %s\n", err.msg);
        goto out;
    }
    l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, "itm.roster", 0);
    if (rd_kafka_committed(c, l, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "prepare: the offsets topic did not come up\n");
        goto out;
    }
    r = 0;
out:
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    td_kafka_destroy(c);
    td_kafka_destroy(rk);
    td_kafka_props_clear(&compact);
    return r;
}

static void write_connector(program *p)
{
    const char *name = p->name, *prefix = p->name, *spool = p->spool;
    char text[4096];
    snprintf(p->spool, sizeof(p->spool), "%s/%s-spool", tmp, name);
    snprintf(p->config, sizeof(p->config), "%s/%s.yaml", tmp, name);
    snprintf(p->log, sizeof(p->log), "%s/%s.log", tmp, name);
    CU_ASSERT_FATAL(mkdir(spool, 0755) == 0);
    snprintf(text, sizeof(text),
             "instance: %s\n"
             "dataset: medical_insurance\n"
             "schemas_dir: %s/schemas\n"
             "log_level: info\n"
             "kafka:\n"
             "  bootstrap.servers: \"%s\"\n"
             "topics:\n"
             "  records: %s.records\n"
             "  dlq: %s.dlq\n"
             "  offsets: %s.offsets\n"
             "  partitions: 3\n"
             "  replication_factor: 3\n"
             "source:\n"
             "  spooldir:\n"
             "    input_dir: %s\n"
             "    poll_interval: 200ms\n"
             "transaction:\n"
             "  max_records: 500\n"
             "  max_interval: 500ms\n",
             name, source_root(), boot, prefix, prefix, prefix, spool);
    CU_ASSERT_FATAL(td_test_write_file(p->config, text) == 0);
    CU_ASSERT_FATAL(tdc_it_write_medical(spool, "rows.csv", 0, ROWS, 0, false) == 0);
}

static void test_one_node_down(void)
{
    program *matchd = &daemons[NDAEMONS - 1];
    char cfg_t[4200];
    char topics1[4200], topics2[4200], text[8192], bin[4200], tlog[4200];
    int64_t killed, t_start;
    long total_attempts = 0;
    int st;

    /* the cluster */
    {
        char *d = td_test_tmpdir();
        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        snprintf(tmp, sizeof(tmp), "%s", d);
        free(d);
    }
    snprintf(kdir, sizeof(kdir), "%s/itest-cluster-%d", build_root(), (int)getpid());
    setenv("KAFKA_HEAP_OPTS", "-Xmx256m -Xms64m", 0);
    t_start = td_time_mono_ms();
    {
        char cmd[16384];
        FILE *p;
        snprintf(cmd, sizeof(cmd), "%s/deploy/kafka/dev-broker start --fresh --nodes 3 --dir %s "
                 "2>>%s/dev-broker.log", source_root(), kdir, tmp);
        p = popen(cmd, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        if (!fgets(boot, sizeof(boot), p))
            boot[0] = '\0';
        pclose(p);
        boot[strcspn(boot, "\n")] = '\0';
    }
    if (!boot[0]) {
        snprintf(text, sizeof(text), "%s/dev-broker.log", tmp);
        show_tail("dev-broker start", text);
    }
    CU_ASSERT_FATAL(boot[0] != '\0');
    CU_ASSERT_FATAL(node_addr(DEAD_NODE, dead_addr, sizeof(dead_addr)) == 0);
    printf("\n    3 nodes up in %.1f s: %s\n", (td_time_mono_ms() - t_start) / 1000.0, boot);
    CU_ASSERT_FATAL(prepare() == 0);

    /* the programs' configs */
    for (size_t i = 0; i + 1 < NDAEMONS; i++)
        write_connector(&daemons[i]);
    snprintf(matchd->config, sizeof(matchd->config), "%s/matchd.yaml", tmp);
    snprintf(matchd->log, sizeof(matchd->log), "%s/matchd.log", tmp);
    snprintf(text, sizeof(text),
             "kafka:\n  bootstrap.servers: \"%s\"\n"
             "group_id: itest-cluster\nstate_dir: %s/state\n"
             "rules: %s/deploy/rules/huainan-2023.yaml\n"
             "schemas_dir: %s/schemas\nlog_level: info\n"
             "topics:\n  roster: itm.roster\n  medical_insurance: itm.medical\n"
             "  civil_affairs: itm.civil\n  human_resources: itm.hr\n"
             "  verifications_prefix: itm.verifications.\n  dlq_verifications: itm.dlq.verifications\n"
             "  alerts_prefix: itm.alerts.\n  clock: itm.clock\n  replication_factor: 3\n",
             boot, tmp, source_root(), source_root());
    CU_ASSERT_FATAL(td_test_write_file(matchd->config, text) == 0);
    snprintf(topics1, sizeof(topics1), "%s/topics1.yaml", tmp);
    snprintf(topics2, sizeof(topics2), "%s/topics2.yaml", tmp);
    CU_ASSERT_FATAL(td_test_write_file(topics1,
                                       "topics:\n"
                                       "  - name: tuodi.roster.households\n"
                                       "    partitions: 3\n"
                                       "    cleanup_policy: compact\n"
                                       "  - name: tuodi.alerts.340421\n"
                                       "    partitions: 3\n"
                                       "    retention: 7d\n") == 0);
    CU_ASSERT_FATAL(td_test_write_file(topics2,
                                       "topics:\n"
                                       "  - name: tuodi.roster.households\n"
                                       "    partitions: 3\n"
                                       "    cleanup_policy: compact\n"
                                       "  - name: tuodi.alerts.340421\n"
                                       "    partitions: 3\n"
                                       "    retention: 7d\n"
                                       "  - name: tuodi.alerts.340422\n"
                                       "    partitions: 3\n"
                                       "    retention: 7d\n") == 0);
    snprintf(cfg_t, sizeof(cfg_t), "%s/tuodictl.yaml", tmp);
    snprintf(text, sizeof(text),
             "kafka:\n  bootstrap.servers: \"%s\"\n"
             "schemas_dir: %s/schemas\n"
             "places: %s/deploy/data/huainan-divisions.csv\n"
             "topics_file: %s\n"
             "topic_prefix: itt\n"
             "counties: [340421, 340422]\n"
             "timeout: 30s\n",
             boot, source_root(), source_root(), topics1);
    CU_ASSERT_FATAL(td_test_write_file(cfg_t, text) == 0);
    snprintf(bin, sizeof(bin), "%s/tools/tuodictl/tuodictl", build_root());
    snprintf(tlog, sizeof(tlog), "%s/tuodictl.log", tmp);
    {
        const char *a[] = {bin, "--config", cfg_t, "topics", "create", NULL};
        double cpu;
        st = wait_exit_polling(spawn(a, tlog), 60000, &cpu);
        if (!(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0))
            show_tail("tuodictl topics create (all nodes up)", tlog);
        CU_ASSERT_FATAL(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    printf("    prepared in %.1f s\n", (td_time_mono_ms() - t_start) / 1000.0);

    /* node 1 dies; everything starts at once */
    CU_ASSERT_FATAL(dev_broker("kill-node 1") == 0);
    killed = td_time_mono_ms();
    for (size_t i = 0; i < NDAEMONS; i++) {
        char path[4200];
        const char *argv[] = {path, "--config", daemons[i].config, NULL};
        if (daemons[i].name)
            snprintf(path, sizeof(path), "%s", tdc_it_connector_bin());
        else
            snprintf(path, sizeof(path), "%s/daemon/tuodi-matchd", build_root());
        daemons[i].started = td_time_mono_ms();
        daemons[i].pid = spawn_daemon(argv, daemons[i].log);
    }

    /* tuodictl, one command after the other, while the daemons start */
    {
        char ctl_log[4300];
        int n = 0;
        for (int i = 0; i < DRY_RUNS + 2; i++) {
            const char *create[] = {bin, "--config", cfg_t, "topics", "create", "--file",
                                    topics2, NULL};
            const char *dry[] = {bin, "--config", cfg_t, "topics", "create", "--file", topics2,
                                 "--dry-run", NULL};
            const char *report[] = {bin, "--config", cfg_t, "report", "--format", "csv", NULL};
            const char *const *args = i == 0 ? create : i <= DRY_RUNS ? dry : report;
            const char *want = i == 0 ? "created" : i <= DRY_RUNS ? "exists, ok" : "total,";
            int64_t t0 = td_time_mono_ms(), took;
            double cpu;
            bool ok;

            snprintf(ctl_log, sizeof(ctl_log), "%s/tuodictl-%d.log", tmp, i);
            st = wait_exit_polling(spawn(args, ctl_log), START_BOUND_MS, &cpu);
            took = td_time_mono_ms() - t0;
            ok = st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && file_has(ctl_log, want);
            printf("    tuodictl %-22s %s in %5.1f s (%.1f s after the kill), %.2f s CPU\n",
                   i == 0 ? "topics create" : i <= DRY_RUNS ? "topics create --dry-run" : "report",
                   ok ? "answered" : "FAILED", took / 1000.0, (td_time_mono_ms() - killed) / 1000.0,
                   cpu);
            if (!ok)
                show_tail("tuodictl", ctl_log);
            CU_ASSERT(ok);
            CU_ASSERT(attempts_logged(ctl_log, dead_addr) <= MAX_ATTEMPTS);
            CU_ASSERT(cpu <= MAX_CPU_S);
            n += ok;
            if (!ok)
                break; /* failed already: the next runs would only add 30 s each */
        }
        CU_ASSERT_EQUAL(n, DRY_RUNS + 2);
    }

    /* the daemons past start-up */
    {
        int64_t until = matchd->started + START_BOUND_MS + 1000;
        size_t nreached = 0;
        while (td_time_mono_ms() < until && nreached < NDAEMONS) {
            poll_daemons();
            nreached = 0;
            for (size_t i = 0; i < NDAEMONS; i++)
                nreached += daemons[i].reached != 0;
            usleep(100000);
        }
    }

    /* long enough for a tight loop to log its count, then stop */
    while (td_time_mono_ms() - killed < HOLD_MS) {
        poll_daemons();
        usleep(100000);
    }
    for (size_t i = 0; i < NDAEMONS; i++) {
        program *p = &daemons[i];
        long n = attempts_logged(p->log, dead_addr);
        bool in_time = p->reached && p->reached - p->started <= START_BOUND_MS;
        double cpu = cpu_seconds(p->pid);

        st = td_proc_stop(p->pid, SIGTERM, 15000);
        p->pid = 0;
        running[i] = 0;
        printf("    %-36s %s after %5.1f s; %ld attempts to the dead node logged, %.2f s CPU "
               "in %.0f s\n",
               p->what, !p->reached ? "NEVER got past start-up" : in_time ? "past start-up"
               : "past start-up TOO LATE", p->reached ? (p->reached - p->started) / 1000.0 : 0.0,
               n, cpu, HOLD_MS / 1000.0);
        if (!in_time || n > MAX_ATTEMPTS || !(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0))
            show_tail(p->what, p->log);
        CU_ASSERT(in_time);
        CU_ASSERT(n <= MAX_ATTEMPTS);
        CU_ASSERT(cpu >= 0 && cpu <= MAX_CPU_S);
        CU_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
        total_attempts += n;
    }
    printf("    %ld connection attempts to the dead node logged by the daemons\n", total_attempts);

    /* what the connectors published */
    {
        tdc_it_seen seen;
        char schemas[4200];
        snprintf(schemas, sizeof(schemas), "%s/schemas", source_root());
        for (size_t i = 0; i < NDAEMONS; i++) {
            char topic[128];
            if (!daemons[i].name || !daemons[i].reached)
                continue;
            snprintf(topic, sizeof(topic), "%s.records", daemons[i].name);
            CU_ASSERT_FATAL(tdc_it_read(boot, topic, false, schemas, &seen) == 0);
            CU_ASSERT_EQUAL(seen.total, ROWS);
            tdc_it_seen_free(&seen);
        }
    }

    printf("    whole test %.1f s (without stopping the cluster)\n",
           (td_time_mono_ms() - t_start) / 1000.0);
}

/* Also after a fatal assertion: the nodes run detached from the test. A
 * throwaway cluster, killed (a clean stop waits for the dead voter). */
static int cluster_cleanup(void)
{
    for (size_t i = 0; i < nrunning; i++)
        if (running[i] > 0)
            td_proc_stop(running[i], SIGKILL, 5000);
    if (!kdir[0])
        return 0;
    for (int k = 1; k <= 3; k++) {
        char args[32];
        snprintf(args, sizeof(args), "kill-node %d", k);
        dev_broker(args);
    }
    if (getenv("TD_KEEP_TMP")) {
        fprintf(stderr, "kept %s and %s\n", tmp, kdir);
    } else {
        td_test_rmtree(kdir);
        td_test_rmtree(tmp);
    }
    return 0;
}

/* meson's timeout sends SIGTERM: the nodes must not outlive the test.
 * (system() in a handler is not async-signal-safe; the main thread only
 * sleeps, waits or reads files, and this is a test.) */
static void on_term(int sig)
{
    (void)sig;
    cluster_cleanup();
    _exit(1);
}

static void add_suites(void)
{
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    td_test_suite("cluster", NULL, cluster_cleanup);
    TD_TEST(test_one_node_down);
}

TD_TEST_MAIN(add_suites)
