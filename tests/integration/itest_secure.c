/* The secure bus (issue 12, first part): tuodi's programs on a broker of
 * their own started with deploy/kafka/dev-broker --secure (TLS, SASL users,
 * StandardAuthorizer with no access without an ACL).
 *
 * The admin user makes the topics (tuodictl topics create) and grants the
 * ACLs of connector-medical, county-340421 and matchd (rd_kafka_CreateAcls;
 * Kafka's AclCommand for transactional ids). Then:
 *   - flow: tuodi-connector as connector-medical publishes a file (its
 *     records read back as admin) and tuodictl dead-letters, as the same
 *     user, lists its dead-lettered row;
 *   - matchd: tuodi-matchd as matchd (ACLs on the topics under the
 *     prefix, its group and transactional id) gets ready; with a wrong
 *     password it ends (exit 1) within its transaction timeout;
 *   - wrong password: tuodictl and tuodi-connector end at once (exit 1)
 *     saying that authentication failed for which user, instead of
 *     retrying until their timeout or for ever; --check-config --connect
 *     says so at once too (exit 2);
 *   - plaintext: a client without TLS and SASL gets nothing (exit 1);
 *   - untrusted CA: a client without ssl.ca.location is refused at once,
 *     saying the brokers' certificate is not trusted;
 *   - no ACL: county-340421 reading county 340422's alerts, and
 *     connector-roster starting, are refused, naming the user, the
 *     operation and the topic or transactional id; a connector that may see
 *     but not write its records topic publishes nothing and ends naming
 *     Write and the topic;
 *   - a password file others may read: refused by --check-config (exit 2)
 *     and at start, with file:line:col and the key;
 *   - outcomes per county: county-340421, allowed to Write only its own
 *     verification topic, is refused (one line: user, Write, topic; nothing
 *     written) when it verifies an alert of 340422, and records for its own.
 * Nothing here needs KAFKA_BOOTSTRAP.
 *
 *   itest_secure
 */
#include "td_avro.h"
#include "td_kafka.h"
#include "td_proc.h"
#include "td_test.h"
#include "td_time.h"
#include "tdc_it.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PREFIX "sec"
/* A refusal must end a program within this (librdkafka's first attempt,
 * one metadata try of td_kafka: 5 s), far below the timeouts it would
 * otherwise wait out (tuodictl's 20 s, the connector's forever). */
#define REFUSED_BOUND_MS 8000

static char tmp[1024], kdir[1024], boot[1024];

static const char *build_root(void)
{
    const char *b = getenv("TD_BUILD_ROOT");
    return b ? b : "build";
}

static const char *tuodictl_bin(void)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/tools/tuodictl/tuodictl", build_root());
    return path;
}

static void show_tail(const char *what, const char *path)
{
    fprintf(stderr, "\n    --- %s (%s) ---\n", what, path);
    td_proc_show_log(path, 30);
}

/* The kafka: section of a client; proto "plaintext" leaves out TLS and
 * SASL, ca NULL leaves out ssl.ca.location. */
static void kafka_yaml(char *out, size_t size, const char *proto, const char *user,
                       const char *pwfile, bool ca)
{
    if (strcmp(proto, "plaintext") == 0) {
        snprintf(out, size, "kafka:\n  bootstrap.servers: \"%s\"\n", boot);
        return;
    }
    snprintf(out, size,
             "kafka:\n  bootstrap.servers: \"%s\"\n  security.protocol: %s\n"
             "  sasl.mechanisms: PLAIN\n  sasl.username: %s\n"
             "  sasl.password: ${file:%s}\n%s%s%s",
             boot, proto, user, pwfile, ca ? "  ssl.ca.location: " : "", ca ? kdir : "",
             ca ? "/tls/ca.pem\n" : "");
}

static const char *pwfile(const char *user)
{
    static char path[4][4096];
    static int i;
    i = (i + 1) % 4;
    snprintf(path[i], sizeof(path[i]), "%s/users/%s.password", kdir, user);
    return path[i];
}

/* A tuodictl config as user; returns its path (a static buffer per name). */
static const char *ctl_config(const char *name, const char *proto, const char *user,
                              const char *pw, bool ca)
{
    static char path[4096];
    char k[4096], text[16384];
    kafka_yaml(k, sizeof(k), proto, user, pw, ca);
    snprintf(path, sizeof(path), "%s/%s.yaml", tmp, name);
    snprintf(text, sizeof(text),
             "%sschemas_dir: %s/schemas\nplaces: %s/deploy/data/huainan-divisions.csv\n"
             "topics_file: %s/deploy/topics.yaml\ntopic_prefix: " PREFIX "\n"
             "replication_factor: 1\ntimeout: 20s\n",
             k, td_test_source_root(), td_test_source_root(), td_test_source_root());
    CU_ASSERT_FATAL(td_test_write_file(path, text) == 0);
    return path;
}

/* A connector config for instance as user, spooling from tmp/spool-<instance>. */
static const char *connector_config(const char *instance, const char *dataset,
                                    const char *records, const char *dlq, const char *proto,
                                    const char *user, const char *pw, bool ca)
{
    static char path[4096];
    char k[4096], text[16384], spool[4200];
    kafka_yaml(k, sizeof(k), proto, user, pw, ca);
    snprintf(spool, sizeof(spool), "%s/spool-%s", tmp, instance);
    mkdir(spool, 0755);
    snprintf(path, sizeof(path), "%s/connector-%s.yaml", tmp, instance);
    snprintf(text, sizeof(text),
             "instance: %s\ndataset: %s\nschemas_dir: %s/schemas\nlog_level: info\n"
             "%s  transaction.timeout.ms: 30000\n  message.timeout.ms: 30000\n"
             "topics:\n  records: " PREFIX ".%s\n  dlq: " PREFIX ".%s\n"
             "  offsets: " PREFIX ".connect.offsets\n  partitions: 6\n"
             "source:\n  spooldir:\n    input_dir: %s\n    poll_interval: 200ms\n"
             "transaction:\n  max_records: 100\n  max_interval: 500ms\n  timeout: 10s\n",
             instance, dataset, td_test_source_root(), k, records, dlq, spool);
    CU_ASSERT_FATAL(td_test_write_file(path, text) == 0);
    return path;
}

/* Runs bin with argv until it exits (killed after timeout_ms); its output
 * into log. Returns the exit status (-1 killed) and the time in *ms. */
static int run(const char *bin, const char *const *argv, const char *log, int timeout_ms,
               int64_t *ms)
{
    int64_t t0 = td_time_mono_ms();
    pid_t pid = td_proc_spawn(bin, argv, log);
    int st = -1;
    CU_ASSERT_FATAL(pid > 0);
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (td_time_mono_ms() - t0 > timeout_ms) {
            td_proc_stop(pid, SIGKILL, 5000);
            st = -1;
            break;
        }
        usleep(50 * 1000);
    }
    *ms = td_time_mono_ms() - t0;
    if (st != -1 && WIFEXITED(st))
        return WEXITSTATUS(st);
    return -1;
}

/* tuodictl --config cfg ARGS... (NULL-terminated); the log's path in log. */
static int ctl(const char *cfg, const char *log, int64_t *ms, ...)
{
    const char *argv[16] = {"tuodictl", "--config", cfg};
    int n = 3;
    va_list ap;
    va_start(ap, ms);
    for (const char *a; n < 15 && (a = va_arg(ap, const char *));)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return run(tuodictl_bin(), argv, log, 60000, ms);
}

static bool log_has(const char *log, const char *text)
{
    bool yes = td_proc_log_count(log, text) > 0;
    if (!yes) {
        fprintf(stderr, "\n    expected in %s: %s\n", log, text);
        show_tail("log", log);
    }
    return yes;
}

/* The admin's librdkafka props. */
static void admin_props(td_kafka_props *p)
{
    char pw[256] = "", *text = td_test_read_file(pwfile("admin"), NULL), ca[4200];
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    snprintf(pw, sizeof(pw), "%.*s", (int)strcspn(text, "\n"), text);
    free(text);
    snprintf(ca, sizeof(ca), "%s/tls/ca.pem", kdir);
    CU_ASSERT_FATAL(td_kafka_props_add(p, "bootstrap.servers", boot, NULL) == 0);
    CU_ASSERT_FATAL(td_kafka_props_add(p, "security.protocol", "SASL_SSL", NULL) == 0);
    CU_ASSERT_FATAL(td_kafka_props_add(p, "sasl.mechanisms", "PLAIN", NULL) == 0);
    CU_ASSERT_FATAL(td_kafka_props_add(p, "sasl.username", "admin", NULL) == 0);
    CU_ASSERT_FATAL(td_kafka_props_add(p, "sasl.password", pw, NULL) == 0);
    CU_ASSERT_FATAL(td_kafka_props_add(p, "ssl.ca.location", ca, NULL) == 0);
}

typedef struct acl {
    rd_kafka_ResourceType_t type;
    const char *name;
    rd_kafka_ResourcePatternType_t pattern;
    const char *user;
    rd_kafka_AclOperation_t op;
} acl;

/* Grants the ACLs as admin, with librdkafka's admin API. */
static int grant(const acl *acls, size_t n)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_error err = {0};
    rd_kafka_AclBinding_t *b[64];
    rd_kafka_queue_t *q;
    rd_kafka_event_t *ev;
    char errstr[512], principal[128];
    int r = 0;

    CU_ASSERT_FATAL(n <= 64);
    admin_props(&props);
    CU_ASSERT_FATAL(td_kafka_producer_conf_new(NULL, NULL, &props, &conf, &err) == 0);
    CU_ASSERT_FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) == 0);
    for (size_t i = 0; i < n; i++) {
        snprintf(principal, sizeof(principal), "User:%s", acls[i].user);
        b[i] = rd_kafka_AclBinding_new(acls[i].type, acls[i].name, acls[i].pattern, principal,
                                       "*", acls[i].op, RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW,
                                       errstr, sizeof(errstr));
        CU_ASSERT_PTR_NOT_NULL_FATAL(b[i]);
    }
    q = rd_kafka_queue_new(rk);
    rd_kafka_CreateAcls(rk, b, n, NULL, q);
    ev = rd_kafka_queue_poll(q, 30000);
    if (!ev || rd_kafka_event_error(ev)) {
        fprintf(stderr, "CreateAcls: %s\n", ev ? rd_kafka_event_error_string(ev) : "no answer");
        r = -1;
    } else {
        size_t nres = 0;
        const rd_kafka_acl_result_t **res =
            rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(ev), &nres);
        for (size_t i = 0; i < nres; i++)
            if (rd_kafka_acl_result_error(res[i])) {
                fprintf(stderr, "CreateAcls: %s\n",
                        rd_kafka_error_string(rd_kafka_acl_result_error(res[i])));
                r = -1;
            }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AclBinding_destroy_array(b, n);
    td_kafka_destroy(rk);
    td_kafka_props_clear(&props);
    return r;
}

/* Messages in topic (committed ones), read as admin to the end. */
static long count_as_admin(const char *topic, int partitions)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_error err = {0};
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(partitions);
    long n = 0;
    int eof = 0;
    int64_t until = td_time_mono_ms() + 30000;

    admin_props(&props);
    CU_ASSERT_FATAL(td_kafka_props_add(&props, "enable.partition.eof", "true", NULL) == 0);
    CU_ASSERT_FATAL(td_kafka_consumer_conf_new(NULL, "itest-secure-admin", &props, &conf,
                                               &err) == 0);
    CU_ASSERT_FATAL(td_kafka_new(RD_KAFKA_CONSUMER, conf, &rk, &err) == 0);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    CU_ASSERT_FATAL(rd_kafka_assign(rk, l) == 0);
    while (eof < partitions && td_time_mono_ms() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            eof++;
        else if (!m->err)
            n++;
        rd_kafka_message_destroy(m);
    }
    CU_ASSERT_EQUAL(eof, partitions);
    rd_kafka_topic_partition_list_destroy(l);
    td_kafka_destroy(rk);
    td_kafka_props_clear(&props);
    return n;
}

/* ---- the broker --------------------------------------------------------- */

static int setup(void)
{
    char cmd[16384], log[4200];
    char *d = td_test_tmpdir();
    FILE *p;
    int64_t t0 = td_time_mono_ms();

    if (!d)
        return 1;
    snprintf(tmp, sizeof(tmp), "%s", d);
    free(d);
    snprintf(kdir, sizeof(kdir), "%s/itest-secure-%d", build_root(), (int)getpid());
    setenv("KAFKA_HEAP_OPTS", "-Xmx256m -Xms64m", 0);
    snprintf(cmd, sizeof(cmd), "%s/deploy/kafka/dev-broker start --fresh --secure --dir %s "
             "2>>%s/dev-broker.log", td_test_source_root(), kdir, tmp);
    p = popen(cmd, "r");
    if (!p)
        return 1;
    if (!fgets(boot, sizeof(boot), p))
        boot[0] = '\0';
    pclose(p);
    boot[strcspn(boot, "\n")] = '\0';
    snprintf(log, sizeof(log), "%s/dev-broker.log", tmp);
    if (!boot[0]) {
        show_tail("dev-broker start --secure", log);
        return 1;
    }
    printf("\n    secured broker up in %.1f s: %s\n", (td_time_mono_ms() - t0) / 1000.0, boot);
    /* stderr says where the CA and the passwords are */
    if (td_proc_log_count(log, "/tls/ca.pem") < 1 || td_proc_log_count(log, "/users/") < 1) {
        show_tail("dev-broker start --secure: no CA or password location", log);
        return 1;
    }
    return 0;
}

static int teardown(void)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "%s/deploy/kafka/dev-broker stop --dir %s 2>/dev/null",
             td_test_source_root(), kdir);
    if (system(cmd) != 0)
        fprintf(stderr, "dev-broker stop failed\n");
    td_test_rmtree(kdir);
    td_test_rmtree(tmp);
    return 0;
}

/* ---- the tests ------------------------------------------------------------ */

/* The topics, as admin (a super user): the other tests need them. */
static void test_topics(void)
{
    char log[4200];
    int64_t ms;
    snprintf(log, sizeof(log), "%s/topics.log", tmp);
    CU_ASSERT_EQUAL_FATAL(ctl(ctl_config("admin", "SASL_SSL", "admin", pwfile("admin"), true),
                              log, &ms, "topics", "create", NULL),
                          0);
    CU_ASSERT(log_has(log, "topics ok"));
}

static void test_flow(void)
{
    const char *rec = PREFIX ".medical_insurance.settlements";
    const char *dlq = PREFIX ".dlq.medical_insurance";
    const acl acls[] = {
        {RD_KAFKA_RESOURCE_TOPIC, rec, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_WRITE},
        {RD_KAFKA_RESOURCE_TOPIC, rec, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_DESCRIBE},
        {RD_KAFKA_RESOURCE_TOPIC, rec, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS},
        {RD_KAFKA_RESOURCE_TOPIC, dlq, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_WRITE},
        {RD_KAFKA_RESOURCE_TOPIC, dlq, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_READ},
        {RD_KAFKA_RESOURCE_TOPIC, dlq, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_DESCRIBE},
        {RD_KAFKA_RESOURCE_TOPIC, dlq, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS},
        /* its positions (shared topic, keyed by instance: see docs/security.md) */
        {RD_KAFKA_RESOURCE_TOPIC, PREFIX ".connect.offsets", RD_KAFKA_RESOURCE_PATTERN_LITERAL,
         "connector-medical", RD_KAFKA_ACL_OPERATION_ALL},
        {RD_KAFKA_RESOURCE_GROUP, "tuodi-offsets-reader.", RD_KAFKA_RESOURCE_PATTERN_PREFIXED,
         "connector-medical", RD_KAFKA_ACL_OPERATION_READ},
        {RD_KAFKA_RESOURCE_GROUP, "tuodictl-", RD_KAFKA_RESOURCE_PATTERN_PREFIXED,
         "connector-medical", RD_KAFKA_ACL_OPERATION_READ},
        /* county-340421: its own alerts only */
        {RD_KAFKA_RESOURCE_TOPIC, PREFIX ".alerts.340421", RD_KAFKA_RESOURCE_PATTERN_LITERAL,
         "county-340421", RD_KAFKA_ACL_OPERATION_READ},
        {RD_KAFKA_RESOURCE_TOPIC, PREFIX ".alerts.340421", RD_KAFKA_RESOURCE_PATTERN_LITERAL,
         "county-340421", RD_KAFKA_ACL_OPERATION_DESCRIBE},
        {RD_KAFKA_RESOURCE_GROUP, "tuodictl-", RD_KAFKA_RESOURCE_PATTERN_PREFIXED,
         "county-340421", RD_KAFKA_ACL_OPERATION_READ},
    };
    const char *cfg = connector_config("medical", "medical_insurance", "medical_insurance.settlements",
                                       "dlq.medical_insurance", "SASL_SSL", "connector-medical",
                                       pwfile("connector-medical"), true);
    const char *names[] = {"m1.csv"};
    char spool[4200], log[4200], clog[4200];
    int64_t ms;
    pid_t pid;

    CU_ASSERT_FATAL(grant(acls, sizeof(acls) / sizeof(acls[0])) == 0);
    /* librdkafka 2.0.2's admin API has no transactional-id resource: Kafka's
     * own tool, as admin */
    {
        char cmd[16384];
        snprintf(cmd, sizeof(cmd), "%s/deploy/kafka/dev-broker acls --dir %s --add "
                 "--allow-principal User:connector-medical --operation Write --operation "
                 "Describe --transactional-id tuodi-connector.medical >>%s/acls.log 2>&1",
                 td_test_source_root(), kdir, tmp);
        CU_ASSERT_FATAL(system(cmd) == 0);
    }
    snprintf(spool, sizeof(spool), "%s/spool-medical", tmp);
    CU_ASSERT_FATAL(tdc_it_write_medical(spool, "m1.csv", 1, 40, 20, false) == 2);
    snprintf(clog, sizeof(clog), "%s/connector-medical.log", tmp);
    pid = tdc_it_spawn(cfg, clog);
    CU_ASSERT_FATAL(pid > 0);
    if (!tdc_it_wait_finished(spool, names, 1, 60000))
        show_tail("connector-medical", clog);
    CU_ASSERT_EQUAL(tdc_it_stop(pid, SIGTERM, 20000), 0);
    CU_ASSERT_EQUAL(count_as_admin(PREFIX ".medical_insurance.settlements", 6), 38);

    /* its dead letters, read by the same user with tuodictl */
    snprintf(log, sizeof(log), "%s/ctl-dlq.log", tmp);
    CU_ASSERT_EQUAL(ctl(ctl_config("ctl-medical", "SASL_SSL", "connector-medical",
                                   pwfile("connector-medical"), true),
                        log, &ms, "dead-letters", "--dataset", "medical_insurance", "--format",
                        "csv", NULL),
                    0);
    if (td_proc_log_count(log, ",medical,medical_insurance,m1.csv,") != 2)
        show_tail("tuodictl dead-letters as connector-medical", log);
    CU_ASSERT_EQUAL(td_proc_log_count(log, ",medical,medical_insurance,m1.csv,"), 2);

    /* the county reads its own queue (empty, but allowed) */
    snprintf(log, sizeof(log), "%s/ctl-county-own.log", tmp);
    CU_ASSERT_EQUAL(ctl(ctl_config("ctl-county", "SASL_SSL", "county-340421",
                                   pwfile("county-340421"), true),
                        log, &ms, "alerts", "--county", "340421", NULL),
                    0);
}

/* A matchd config as matchd with pw; returns its path. */
static const char *matchd_config(const char *name, const char *pw)
{
    static char path[4096];
    char k[4096], text[16384];
    kafka_yaml(k, sizeof(k), "SASL_SSL", "matchd", pw, true);
    snprintf(path, sizeof(path), "%s/%s.yaml", tmp, name);
    snprintf(text, sizeof(text),
             "%sgroup_id: itest-secure\nstate_dir: %s/state-%s\n"
             "rules: %s/deploy/rules/huainan-2023.yaml\nschemas_dir: %s/schemas\n"
             "log_level: info\n"
             "topics:\n  roster: " PREFIX ".roster.households\n"
             "  medical_insurance: " PREFIX ".medical_insurance.settlements\n"
             "  civil_affairs: " PREFIX ".civil_affairs.events\n"
             "  human_resources: " PREFIX ".human_resources.events\n"
             "  verifications_prefix: " PREFIX ".verifications.\n"
             "  dlq_roster: " PREFIX ".dlq.roster\n"
             "  dlq_medical_insurance: " PREFIX ".dlq.medical_insurance\n"
             "  dlq_civil_affairs: " PREFIX ".dlq.civil_affairs\n"
             "  dlq_human_resources: " PREFIX ".dlq.human_resources\n"
             "  dlq_verifications: " PREFIX ".dlq.verifications\n"
             "  alerts_prefix: " PREFIX ".alerts.\n  clock: " PREFIX ".matchd.clock\n"
             "  replication_factor: 1\n"
             "transaction:\n  timeout: 10s\n",
             k, tmp, name, td_test_source_root(), td_test_source_root());
    CU_ASSERT_FATAL(td_test_write_file(path, text) == 0);
    return path;
}

static const char *matchd_bin(void)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/daemon/tuodi-matchd", build_root());
    return path;
}

/* tuodi-matchd as matchd, with ACLs on its topics (prefixed), its group and
 * its transactional id: ready, and stops on SIGTERM. With a wrong password:
 * refused, exit 1. */
static void test_matchd(void)
{
    const acl acls[] = {
        {RD_KAFKA_RESOURCE_TOPIC, PREFIX ".", RD_KAFKA_RESOURCE_PATTERN_PREFIXED, "matchd",
         RD_KAFKA_ACL_OPERATION_ALL},
        {RD_KAFKA_RESOURCE_GROUP, "itest-secure", RD_KAFKA_RESOURCE_PATTERN_LITERAL, "matchd",
         RD_KAFKA_ACL_OPERATION_ALL},
    };
    char cmd[16384], log[4200], pw[4200];
    const char *argv[4] = {"tuodi-matchd", "--config", NULL, NULL};
    int64_t ms;
    pid_t pid;

    CU_ASSERT_FATAL(grant(acls, sizeof(acls) / sizeof(acls[0])) == 0);
    snprintf(cmd, sizeof(cmd), "%s/deploy/kafka/dev-broker acls --dir %s --add "
             "--allow-principal User:matchd --operation All "
             "--transactional-id tuodi-matchd.itest-secure >>%s/acls.log 2>&1",
             td_test_source_root(), kdir, tmp);
    CU_ASSERT_FATAL(system(cmd) == 0);

    snprintf(log, sizeof(log), "%s/matchd.log", tmp);
    pid = td_proc_spawn_config(matchd_bin(), matchd_config("matchd", pwfile("matchd")), log);
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT(td_proc_wait_log(log, "ready: ", 1, 60000));
    CU_ASSERT_EQUAL(td_proc_stop(pid, SIGTERM, 30000), 0);
    if (td_proc_log_count(log, "ready: ") < 1)
        show_tail("tuodi-matchd as matchd", log);

    snprintf(pw, sizeof(pw), "%s/wrong-matchd.password", tmp);
    CU_ASSERT_FATAL(td_test_write_file(pw, "not-the-password\n") == 0);
    CU_ASSERT_FATAL(chmod(pw, 0600) == 0);
    argv[2] = matchd_config("matchd-wrong", pw);
    snprintf(log, sizeof(log), "%s/matchd-wrong.log", tmp);
    CU_ASSERT_EQUAL(run(matchd_bin(), argv, log, 60000, &ms), 1);
    printf("\n    tuodi-matchd, wrong password: exit 1 after %.1f s", ms / 1000.0);
    CU_ASSERT(ms < 15000); /* within its transaction timeout (10 s) */
    CU_ASSERT(log_has(log, "kafka: authentication failed for user \"matchd\""));
}

static void test_wrong_password(void)
{
    char pw[4200], log[4200];
    int64_t ms;

    snprintf(pw, sizeof(pw), "%s/wrong.password", tmp);
    CU_ASSERT_FATAL(td_test_write_file(pw, "not-the-password\n") == 0);
    CU_ASSERT_FATAL(chmod(pw, 0600) == 0);

    snprintf(log, sizeof(log), "%s/ctl-wrong.log", tmp);
    CU_ASSERT_EQUAL(ctl(ctl_config("ctl-wrong", "SASL_SSL", "county-340421", pw, true), log,
                        &ms, "alerts", "--county", "340421", NULL),
                    1);
    printf("\n    tuodictl, wrong password: exit 1 after %.1f s", ms / 1000.0);
    CU_ASSERT(ms < REFUSED_BOUND_MS);
    CU_ASSERT(log_has(log, "kafka: authentication failed for user \"county-340421\""));
    CU_ASSERT(log_has(log, "not retrying"));
    CU_ASSERT_EQUAL(td_proc_log_count(log, "not-the-password"), 0);

    {
        const char *cfg = connector_config("wrongpw", "medical_insurance",
                                           "medical_insurance.settlements",
                                           "dlq.medical_insurance", "SASL_SSL",
                                           "connector-medical", pw, true);
        const char *argv[] = {"tuodi-connector", "--config", cfg, NULL};
        snprintf(log, sizeof(log), "%s/connector-wrong.log", tmp);
        CU_ASSERT_EQUAL(run(tdc_it_connector_bin(), argv, log, 60000, &ms), 1);
        printf("\n    tuodi-connector, wrong password: exit 1 after %.1f s", ms / 1000.0);
        CU_ASSERT(ms < REFUSED_BOUND_MS);
        CU_ASSERT(log_has(log, "kafka: authentication failed for user \"connector-medical\""));
    }
    {
        /* --check-config --connect: told at once, as a problem of the config */
        const char *cfg = connector_config("wrongpw", "medical_insurance",
                                           "medical_insurance.settlements",
                                           "dlq.medical_insurance", "SASL_SSL",
                                           "connector-medical", pw, true);
        const char *argv[] = {"tuodi-connector", "--config", cfg, "--check-config", "--connect",
                              NULL};
        snprintf(log, sizeof(log), "%s/connector-wrong-check.log", tmp);
        CU_ASSERT_EQUAL(run(tdc_it_connector_bin(), argv, log, 60000, &ms), 2);
        printf("\n    tuodi-connector --check-config --connect, wrong password: exit 2 after "
               "%.1f s", ms / 1000.0);
        CU_ASSERT(ms < REFUSED_BOUND_MS);
        CU_ASSERT(log_has(log, "kafka.bootstrap.servers: kafka: authentication failed for user "
                               "\"connector-medical\""));
    }
}

/* librdkafka 2.0.2's SCRAM, with the right password: refused by Kafka 4,
 * and the message says why and what to use instead. */
static void test_scram(void)
{
    char log[4200];
    int64_t ms;
    const char *cfg = ctl_config("ctl-scram", "SASL_SSL", "county-340421",
                                 pwfile("county-340421"), true);
    char *text = td_test_read_file(cfg, NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    text = td_test_replace(text, "sasl.mechanisms: PLAIN", "sasl.mechanisms: SCRAM-SHA-512");
    CU_ASSERT_FATAL(td_test_write_file(cfg, text) == 0);
    free(text);
    snprintf(log, sizeof(log), "%s/ctl-scram.log", tmp);
    CU_ASSERT_EQUAL(ctl(cfg, log, &ms, "alerts", "--county", "340421", NULL), 1);
    CU_ASSERT(ms < REFUSED_BOUND_MS);
    CU_ASSERT(log_has(log, "kafka: authentication failed for user \"county-340421\""));
    if (rd_kafka_version() < 0x020601ff)
        CU_ASSERT(log_has(log, "SCRAM fails against Kafka 3.8.1 and later even with the right "
                               "password: use sasl.mechanisms PLAIN inside SASL_SSL"));
}

static void test_plaintext(void)
{
    char log[4200];
    int64_t ms;
    const char *cfg = ctl_config("ctl-plain", "plaintext", NULL, NULL, false);
    char *text = td_test_read_file(cfg, NULL);

    /* 5 s: the broker never answers a plaintext client */
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    text = td_test_replace(text, "timeout: 20s", "timeout: 5s");
    CU_ASSERT_FATAL(td_test_write_file(cfg, text) == 0);
    free(text);
    snprintf(log, sizeof(log), "%s/ctl-plain.log", tmp);
    CU_ASSERT_EQUAL(ctl(cfg, log, &ms, "alerts", "--county", "340421", NULL), 1);
    CU_ASSERT(log_has(log, "cannot reach a broker"));
}

static void test_untrusted_ca(void)
{
    char log[4200];
    int64_t ms;

    snprintf(log, sizeof(log), "%s/ctl-noca.log", tmp);
    CU_ASSERT_EQUAL(ctl(ctl_config("ctl-noca", "SASL_SSL", "county-340421",
                                   pwfile("county-340421"), false),
                        log, &ms, "alerts", "--county", "340421", NULL),
                    1);
    printf("\n    tuodictl, CA not trusted: exit 1 after %.1f s", ms / 1000.0);
    CU_ASSERT(ms < REFUSED_BOUND_MS);
    CU_ASSERT(log_has(log, "kafka: the brokers' TLS certificate is not trusted"));
    CU_ASSERT(log_has(log, "certificate verify failed"));
    CU_ASSERT(log_has(log, "kafka.ssl.ca.location"));
}

static void test_no_acl(void)
{
    char log[4200];
    int64_t ms;

    /* a county reading another county's queue */
    snprintf(log, sizeof(log), "%s/ctl-other-county.log", tmp);
    CU_ASSERT_EQUAL(ctl(ctl_config("ctl-county2", "SASL_SSL", "county-340421",
                                   pwfile("county-340421"), true),
                        log, &ms, "alerts", "--county", "340422", NULL),
                    1);
    CU_ASSERT(ms < REFUSED_BOUND_MS);
    CU_ASSERT(log_has(log, "not authorised: user \"county-340421\" may not Describe topic "
                           PREFIX ".alerts.340422 (TOPIC_AUTHORIZATION_FAILED)"));

    /* a county with its topic but no group: tuodictl's throwaway group */
    {
        const acl acls[] = {
            {RD_KAFKA_RESOURCE_TOPIC, PREFIX ".alerts.340422", RD_KAFKA_RESOURCE_PATTERN_LITERAL,
             "county-340422", RD_KAFKA_ACL_OPERATION_READ},
            {RD_KAFKA_RESOURCE_TOPIC, PREFIX ".alerts.340422", RD_KAFKA_RESOURCE_PATTERN_LITERAL,
             "county-340422", RD_KAFKA_ACL_OPERATION_DESCRIBE},
        };
        CU_ASSERT_FATAL(grant(acls, 2) == 0);
        snprintf(log, sizeof(log), "%s/ctl-no-group.log", tmp);
        CU_ASSERT_EQUAL(ctl(ctl_config("ctl-county22", "SASL_SSL", "county-340422",
                                       pwfile("county-340422"), true),
                            log, &ms, "alerts", "--county", "340422", NULL),
                        1);
        CU_ASSERT(ms < REFUSED_BOUND_MS);
        CU_ASSERT(log_has(log, "not authorised: user \"county-340422\" may not Read group "
                               "tuodictl-"));
    }

    /* a connector without any ACL: its topics exist but it may not see them */
    {
        const char *cfg = connector_config("roster", "roster", "roster.households",
                                           "dlq.roster", "SASL_SSL", "connector-roster",
                                           pwfile("connector-roster"), true);
        const char *argv[] = {"tuodi-connector", "--config", cfg, NULL};
        char *text = td_test_read_file(cfg, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        text = td_test_replace(text, "partitions: 6", "partitions: 3");
        CU_ASSERT_FATAL(td_test_write_file(cfg, text) == 0);
        free(text);
        snprintf(log, sizeof(log), "%s/connector-roster.log", tmp);
        CU_ASSERT_EQUAL(run(tdc_it_connector_bin(), argv, log, 60000, &ms), 1);
        CU_ASSERT(ms < REFUSED_BOUND_MS);
        CU_ASSERT(log_has(log, "not authorised: user \"connector-roster\" may not Describe or "
                               "Create topic " PREFIX ".roster.households"));
    }
}

/* A connector allowed to see its topics and to use its transactional id,
 * but not to write its records topic: the file is not published, and the
 * program ends naming the user, Write and the topic. */
static void test_no_write_acl(void)
{
    const char *rec = PREFIX ".medical_insurance.settlements";
    const char *dlq = PREFIX ".dlq.medical_insurance";
    const char *off = PREFIX ".connect.offsets";
    const acl acls[] = {
        {RD_KAFKA_RESOURCE_TOPIC, rec, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-hr",
         RD_KAFKA_ACL_OPERATION_DESCRIBE},
        {RD_KAFKA_RESOURCE_TOPIC, dlq, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-hr",
         RD_KAFKA_ACL_OPERATION_DESCRIBE},
        {RD_KAFKA_RESOURCE_TOPIC, dlq, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-hr",
         RD_KAFKA_ACL_OPERATION_WRITE},
        {RD_KAFKA_RESOURCE_TOPIC, off, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-hr",
         RD_KAFKA_ACL_OPERATION_ALL},
        {RD_KAFKA_RESOURCE_GROUP, "tuodi-offsets-reader.", RD_KAFKA_RESOURCE_PATTERN_PREFIXED,
         "connector-hr", RD_KAFKA_ACL_OPERATION_READ},
    };
    const char *cfg = connector_config("hrwrite", "medical_insurance",
                                       "medical_insurance.settlements", "dlq.medical_insurance",
                                       "SASL_SSL", "connector-hr", pwfile("connector-hr"), true);
    const char *argv[] = {"tuodi-connector", "--config", cfg, NULL};
    char cmd[16384], spool[4200], log[4200];
    long before = count_as_admin(rec, 6);
    int64_t ms;

    CU_ASSERT_FATAL(grant(acls, sizeof(acls) / sizeof(acls[0])) == 0);
    snprintf(cmd, sizeof(cmd), "%s/deploy/kafka/dev-broker acls --dir %s --add "
             "--allow-principal User:connector-hr --operation Write --operation Describe "
             "--transactional-id tuodi-connector.hrwrite >>%s/acls.log 2>&1",
             td_test_source_root(), kdir, tmp);
    CU_ASSERT_FATAL(system(cmd) == 0);
    snprintf(spool, sizeof(spool), "%s/spool-hrwrite", tmp);
    CU_ASSERT_FATAL(tdc_it_write_medical(spool, "w1.csv", 2, 10, 0, false) == 0);
    snprintf(log, sizeof(log), "%s/connector-hrwrite.log", tmp);
    CU_ASSERT_EQUAL(run(tdc_it_connector_bin(), argv, log, 60000, &ms), 1);
    printf("\n    tuodi-connector, no Write ACL: exit 1 after %.1f s", ms / 1000.0);
    CU_ASSERT(ms < REFUSED_BOUND_MS);
    CU_ASSERT(log_has(log, "not authorised: user \"connector-hr\" may not Write topic "
                           PREFIX ".medical_insurance.settlements (TOPIC_AUTHORIZATION_FAILED)"));
    CU_ASSERT_EQUAL(count_as_admin(rec, 6), before);
}

static void test_password_file_mode(void)
{
    char pw[4200], log[4200], expect[4400];
    const char *cfg;
    int64_t ms;

    snprintf(pw, sizeof(pw), "%s/open.password", tmp);
    CU_ASSERT_FATAL(td_test_write_file(pw, "whatever\n") == 0);
    CU_ASSERT_FATAL(chmod(pw, 0644) == 0);
    snprintf(expect, sizeof(expect), "kafka.sasl.password: ${file:\"%s\"} holds a secret but "
             "is readable by others (mode 0644): chmod o-rwx it", pw);

    cfg = ctl_config("ctl-open", "SASL_SSL", "county-340421", pw, true);
    snprintf(log, sizeof(log), "%s/ctl-open.log", tmp);
    CU_ASSERT_EQUAL(ctl(cfg, log, &ms, "--check-config", NULL), 2);
    CU_ASSERT(log_has(log, expect));
    CU_ASSERT(log_has(log, "ctl-open.yaml:6:18: "));

    cfg = connector_config("open", "medical_insurance", "medical_insurance.settlements",
                           "dlq.medical_insurance", "SASL_SSL", "connector-medical", pw, true);
    {
        const char *check[] = {"tuodi-connector", "--config", cfg, "--check-config", NULL};
        const char *start[] = {"tuodi-connector", "--config", cfg, NULL};
        snprintf(log, sizeof(log), "%s/connector-open-check.log", tmp);
        CU_ASSERT_EQUAL(run(tdc_it_connector_bin(), check, log, 30000, &ms), 2);
        CU_ASSERT(log_has(log, expect));
        snprintf(log, sizeof(log), "%s/connector-open.log", tmp);
        CU_ASSERT_NOT_EQUAL(run(tdc_it_connector_bin(), start, log, 30000, &ms), 0);
        CU_ASSERT(log_has(log, expect));
    }
}

/* An ALERT of county (village in it) with id, written as admin. */
static void alert_as_admin(const char *id, const char *village)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_avro_registry *reg = NULL;
    const td_avro_schema *sch;
    avro_value_t v;
    td_avro_buf b = TD_AVRO_BUF_INIT;
    td_error err = {0};
    char dir[4200], json[8192], topic[64];
    rd_kafka_vu_t vu[4];

    snprintf(dir, sizeof(dir), "%s/schemas", td_test_source_root());
    CU_ASSERT_FATAL(td_avro_registry_new(&reg) == 0);
    CU_ASSERT_FATAL(td_avro_registry_load_dir(reg, dir, NULL, &err) == 0);
    sch = td_avro_registry_find_name(reg, "cn.tuodi.Alert");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sch);
    snprintf(json, sizeof(json),
             "{\"alert_id\":\"%s\",\"kind\":\"ALERT\",\"rule_id\":\"dibao-tekun\","
             "\"rule_version\":\"1\",\"rule_name\":\"申请低保\",\"risk_code\":{\"string\":"
             "\"04\"},\"severity\":\"MEDIUM\",\"population\":\"ROSTER_MONITORED\","
             "\"household_id\":{\"string\":\"H-%.6s\"},\"household_type\":null,"
             "\"person_key\":null,\"person_name\":{\"string\":\"李四\"},"
             "\"village_code\":{\"string\":\"%s\"},\"township_code\":{\"string\":\"%.9s\"},"
             "\"county_code\":{\"string\":\"%.6s\"},\"grid_id\":null,"
             "\"head_name\":{\"string\":\"张三\"},\"suggested_category\":null,"
             "\"evidence\":[],\"evidence_count\":1,\"measure\":null,"
             "\"raised_at\":\"2023-05-04T16:00:00Z\",\"visit_due_date\":\"2023-05-09\","
             "\"procedure_due_date\":\"2023-06-30\",\"message\":\"【中】申请低保\","
             "\"closure\":null,\"supersedes_alert_id\":null,\"source\":{\"department\":"
             "\"RURAL_REVITALIZATION\",\"connector_instance\":\"tuodi-matchd@it\","
             "\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             id, village, village, village, village, id);
    CU_ASSERT_FATAL(td_avro_schema_value_new(sch, &v, &err) == 0);
    if (td_avro_value_from_json(sch, json, strlen(json), &v, &err) != 0)
        fprintf(stderr, "alert json: %s\n", err.msg);
    CU_ASSERT_FATAL(td_avro_encode(sch, &v, &b, &err) == 0);
    avro_value_decref(&v);
    snprintf(topic, sizeof(topic), PREFIX ".alerts.%.6s", village);
    admin_props(&props);
    CU_ASSERT_FATAL(td_kafka_producer_conf_new(NULL, NULL, &props, &conf, &err) == 0);
    CU_ASSERT_FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) == 0);
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = topic;
    vu[1].vtype = RD_KAFKA_VTYPE_KEY;
    vu[1].u.mem.ptr = (void *)village;
    vu[1].u.mem.size = strlen(village);
    vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[2].u.mem.ptr = b.data;
    vu[2].u.mem.size = b.len;
    vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[3].u.i = RD_KAFKA_MSG_F_COPY;
    CU_ASSERT_FATAL(rd_kafka_produceva(rk, vu, 4) == NULL);
    CU_ASSERT_FATAL(rd_kafka_flush(rk, 30000) == 0);
    td_kafka_destroy(rk);
    td_kafka_props_clear(&props);
    td_avro_buf_done(&b);
    td_avro_registry_free(reg);
}

static int count_lines(const char *path)
{
    char *text = td_test_read_file(path, NULL);
    int n = 0;
    for (const char *p = text; p && *p; p++)
        n += *p == '\n';
    free(text);
    return n;
}

/* Outcomes per county (docs/security.md): county-340421 may Write its own
 * verification topic only (and read its queue). tuodictl verify for an
 * alert of 340422 is refused with one line naming the user, Write and
 * 340422's topic, and nothing is written there; for its own alert the
 * outcome is recorded on its own topic. */
static void test_county_outcomes(void)
{
    const char *own = PREFIX ".verifications.340421", *other = PREFIX ".verifications.340422";
    const char *id21 = "2121212121212121212121212121212121212121212121212121212121212121";
    const char *id22 = "2222222222222222222222222222222222222222222222222222222222222222";
    const acl acls[] = {
        {RD_KAFKA_RESOURCE_TOPIC, own, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "county-340421",
         RD_KAFKA_ACL_OPERATION_WRITE},
        /* what tuodictl needs to read its own queue */
        {RD_KAFKA_RESOURCE_TOPIC, PREFIX ".alerts.340421", RD_KAFKA_RESOURCE_PATTERN_LITERAL,
         "county-340421", RD_KAFKA_ACL_OPERATION_READ},
        {RD_KAFKA_RESOURCE_GROUP, "tuodictl-", RD_KAFKA_RESOURCE_PATTERN_PREFIXED,
         "county-340421", RD_KAFKA_ACL_OPERATION_READ},
    };
    const char *cfg = ctl_config("ctl-county-verify", "SASL_SSL", "county-340421",
                                 pwfile("county-340421"), true);
    char log[4200], want[512];
    long before_other = count_as_admin(other, 1), before_own = count_as_admin(own, 1);
    int64_t ms;

    CU_ASSERT_FATAL(grant(acls, sizeof(acls) / sizeof(acls[0])) == 0);
    alert_as_admin(id21, "340421100001");
    alert_as_admin(id22, "340422100001");

    /* another county's alert: refused before anything is read or sent */
    snprintf(log, sizeof(log), "%s/ctl-verify-other.log", tmp);
    CU_ASSERT_EQUAL(ctl(cfg, log, &ms, "verify", id22, "--county", "340422", "--outcome",
                        "dismissed", "--reason", "收入稳定", "--verifier", "王五", "--reviewer",
                        "赵六", NULL),
                    1);
    printf("\n    tuodictl verify for another county's alert: exit 1 after %.1f s",
           ms / 1000.0);
    CU_ASSERT(ms < REFUSED_BOUND_MS);
    CU_ASSERT(log_has(log, "not authorised: user \"county-340421\" may not Write topic "
                           PREFIX ".verifications.340422 (TOPIC_AUTHORIZATION_FAILED)"));
    CU_ASSERT(log_has(log, "nothing was recorded"));
    CU_ASSERT_EQUAL(count_lines(log), 1);
    if (count_lines(log) != 1)
        show_tail("tuodictl verify as county-340421 for 340422", log);
    CU_ASSERT_EQUAL(count_as_admin(other, 1), before_other);

    /* its own county's alert: recorded on its own topic */
    snprintf(log, sizeof(log), "%s/ctl-verify-own.log", tmp);
    CU_ASSERT_EQUAL(ctl(cfg, log, &ms, "verify", id21, "--county", "340421", "--outcome",
                        "dismissed", "--reason", "收入稳定", "--verifier", "王五", "--reviewer",
                        "赵六", NULL),
                    0);
    snprintf(want, sizeof(want), "recorded %s", own);
    CU_ASSERT(log_has(log, want));
    CU_ASSERT_EQUAL(count_as_admin(own, 1), before_own + 1);
}

/* Takes back ACLs granted with grant(), as admin. */
static int ungrant(const acl *acls, size_t n)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_error err = {0};
    rd_kafka_AclBindingFilter_t *f[64];
    rd_kafka_queue_t *q;
    rd_kafka_event_t *ev;
    char errstr[512], principal[128];
    int r = 0;

    CU_ASSERT_FATAL(n <= 64);
    admin_props(&props);
    CU_ASSERT_FATAL(td_kafka_producer_conf_new(NULL, NULL, &props, &conf, &err) == 0);
    CU_ASSERT_FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) == 0);
    for (size_t i = 0; i < n; i++) {
        snprintf(principal, sizeof(principal), "User:%s", acls[i].user);
        f[i] = rd_kafka_AclBindingFilter_new(acls[i].type, acls[i].name, acls[i].pattern,
                                             principal, "*", acls[i].op,
                                             RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, errstr,
                                             sizeof(errstr));
        CU_ASSERT_PTR_NOT_NULL_FATAL(f[i]);
    }
    q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteAcls(rk, f, n, NULL, q);
    ev = rd_kafka_queue_poll(q, 30000);
    if (!ev || rd_kafka_event_error(ev)) {
        fprintf(stderr, "DeleteAcls: %s\n", ev ? rd_kafka_event_error_string(ev) : "no answer");
        r = -1;
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AclBinding_destroy_array(f, n);
    td_kafka_destroy(rk);
    td_kafka_props_clear(&props);
    return r;
}

/* Positions per department (docs/security.md): connector-medical may
 * Write, Read and Describe its own records, dead-letter and positions
 * topics (literal ACLs; its positions topic the default name,
 * tuodi.connect.offsets.medical) and use its transactional id.
 *   - configured to write connector-hr's positions topic
 *     (topics.offsets: sec.connect.offsets.hr), it is refused at once with
 *     one line naming the user, the operation and that topic; nothing is
 *     written there or to its records;
 *   - allowed to see and read hr's positions topic but not to write it,
 *     it is refused at its first commit, naming Write and the topic; the
 *     transaction with its records is aborted: nothing written;
 *   - with its own positions topic it publishes its file and its position
 *     lands there; the old shared topic, which it may not see, is said in
 *     a notice and does not stop it.
 * What is on hr's positions topic is read as admin: nothing new. */
static void test_positions_per_department(void)
{
    const char *rec = PREFIX ".medical_insurance.settlements";
    const char *dlq = PREFIX ".dlq.medical_insurance";
    const char *hr = PREFIX ".connect.offsets.hr"; /* from deploy/topics.yaml */
    const char *own = "tuodi.connect.offsets.medical"; /* the default name */
    const acl acls[] = {
        {RD_KAFKA_RESOURCE_TOPIC, rec, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_WRITE},
        {RD_KAFKA_RESOURCE_TOPIC, rec, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_DESCRIBE},
        {RD_KAFKA_RESOURCE_TOPIC, dlq, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_WRITE},
        {RD_KAFKA_RESOURCE_TOPIC, dlq, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_READ},
        {RD_KAFKA_RESOURCE_TOPIC, dlq, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_DESCRIBE},
        {RD_KAFKA_RESOURCE_TOPIC, own, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_WRITE},
        {RD_KAFKA_RESOURCE_TOPIC, own, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_READ},
        {RD_KAFKA_RESOURCE_TOPIC, own, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_DESCRIBE},
        {RD_KAFKA_RESOURCE_GROUP, "tuodi-offsets-reader.medical",
         RD_KAFKA_RESOURCE_PATTERN_PREFIXED, "connector-medical", RD_KAFKA_ACL_OPERATION_READ},
    };
    /* hr's positions readable, not writable, for the second case */
    const acl read_hr[] = {
        {RD_KAFKA_RESOURCE_TOPIC, hr, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_READ},
        {RD_KAFKA_RESOURCE_TOPIC, hr, RD_KAFKA_RESOURCE_PATTERN_LITERAL, "connector-medical",
         RD_KAFKA_ACL_OPERATION_DESCRIBE},
    };
    const char *cfg = connector_config("medical", "medical_insurance",
                                       "medical_insurance.settlements", "dlq.medical_insurance",
                                       "SASL_SSL", "connector-medical",
                                       pwfile("connector-medical"), true);
    const char *argv[] = {"tuodi-connector", "--config", cfg, NULL};
    const char *names[] = {"pos-1.csv", "pos-2.csv"};
    char cmd[16384], spool[4200], log[4200], *text, *base;
    long before_rec, before_hr;
    int64_t ms;
    pid_t pid;

    /* the default-named positions topic, made by the admin */
    {
        td_kafka_props props = {0}, compact = {0};
        rd_kafka_conf_t *conf = NULL;
        rd_kafka_t *rk = NULL;
        td_error err = {0};
        td_kafka_topic_spec spec = {.name = own,
                                    .partitions = TD_KAFKA_OFFSETS_TOPIC_PARTITIONS,
                                    .replication_factor = 1,
                                    .config = &compact};
        admin_props(&props);
        CU_ASSERT_FATAL(td_kafka_props_add(&compact, "cleanup.policy", "compact", NULL) == 0);
        CU_ASSERT_FATAL(td_kafka_producer_conf_new(NULL, NULL, &props, &conf, &err) == 0);
        CU_ASSERT_FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) == 0);
        if (td_kafka_topics_ensure(rk, &spec, 1, 30000, &err) != 0)
            fprintf(stderr, "%s\n", err.msg);
        td_kafka_destroy(rk);
        td_kafka_props_clear(&props);
        td_kafka_props_clear(&compact);
    }
    CU_ASSERT_FATAL(grant(acls, sizeof(acls) / sizeof(acls[0])) == 0);
    snprintf(cmd, sizeof(cmd), "%s/deploy/kafka/dev-broker acls --dir %s --add "
             "--allow-principal User:connector-medical --operation Write --operation "
             "Describe --transactional-id tuodi-connector.medical >>%s/acls.log 2>&1",
             td_test_source_root(), kdir, tmp);
    CU_ASSERT_FATAL(system(cmd) == 0);

    /* the config: created topics only (as in production), and hr's
     * positions topic instead of its own */
    base = td_test_read_file(cfg, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    base = td_test_replace(base, "  offsets: " PREFIX ".connect.offsets\n",
                           "  create: false\n");
    text = td_test_replace(strdup(base), "  create: false\n",
                           "  create: false\n  offsets: " PREFIX ".connect.offsets.hr\n");
    CU_ASSERT_FATAL(td_test_write_file(cfg, text) == 0);
    free(text);
    snprintf(spool, sizeof(spool), "%s/spool-medical", tmp);
    CU_ASSERT_FATAL(tdc_it_write_medical(spool, names[0], 3, 30, 0, false) == 0);
    before_rec = count_as_admin(rec, 6);
    before_hr = count_as_admin(hr, TD_KAFKA_OFFSETS_TOPIC_PARTITIONS);

    /* 1. hr's positions topic, no ACL on it: refused at the first use */
    snprintf(log, sizeof(log), "%s/connector-pos-hr.log", tmp);
    CU_ASSERT_EQUAL(run(tdc_it_connector_bin(), argv, log, 60000, &ms), 1);
    printf("\n    tuodi-connector on another department's positions topic: exit 1 after "
           "%.1f s", ms / 1000.0);
    CU_ASSERT(ms < REFUSED_BOUND_MS);
    CU_ASSERT(log_has(log, "not authorised: user \"connector-medical\" may not "));
    CU_ASSERT(log_has(log, " topic " PREFIX ".connect.offsets.hr (TOPIC_AUTHORIZATION_FAILED)"));
    CU_ASSERT_EQUAL(count_as_admin(hr, TD_KAFKA_OFFSETS_TOPIC_PARTITIONS), before_hr);
    CU_ASSERT_EQUAL(count_as_admin(rec, 6), before_rec);

    /* 2. allowed to read hr's positions, not to write them: refused at
     *    the commit, naming Write; the records of that transaction too
     *    are not written */
    CU_ASSERT_FATAL(grant(read_hr, 2) == 0);
    snprintf(log, sizeof(log), "%s/connector-pos-hr-read.log", tmp);
    CU_ASSERT_EQUAL(run(tdc_it_connector_bin(), argv, log, 60000, &ms), 1);
    printf("\n    tuodi-connector writing another department's positions: exit 1 after %.1f s",
           ms / 1000.0);
    CU_ASSERT(ms < REFUSED_BOUND_MS + 5000);
    CU_ASSERT(log_has(log, "not authorised: user \"connector-medical\" may not Write topic "
                           PREFIX ".connect.offsets.hr (TOPIC_AUTHORIZATION_FAILED)"));
    CU_ASSERT_EQUAL(count_as_admin(hr, TD_KAFKA_OFFSETS_TOPIC_PARTITIONS), before_hr);
    CU_ASSERT_EQUAL(count_as_admin(rec, 6), before_rec);
    CU_ASSERT_FATAL(ungrant(read_hr, 2) == 0);

    /* 3. its own positions topic (the default name): the file is published
     *    and its position is there; hr's is untouched */
    CU_ASSERT_FATAL(td_test_write_file(cfg, base) == 0);
    free(base);
    snprintf(log, sizeof(log), "%s/connector-pos-own.log", tmp);
    pid = tdc_it_spawn(cfg, log);
    CU_ASSERT_FATAL(pid > 0);
    if (!tdc_it_wait_finished(spool, names, 1, 60000))
        show_tail("connector-medical with its own positions topic", log);
    CU_ASSERT_EQUAL(tdc_it_stop(pid, SIGTERM, 20000), 0);
    CU_ASSERT(log_has(log, "tuodi.connect.offsets.medical holds no position of medical/spooldir, "
                           "and the old shared topic tuodi.connect.offsets may not be read"));
    CU_ASSERT_EQUAL(td_proc_log_count(log, "kafka: not authorised"), 0);
    CU_ASSERT_EQUAL(count_as_admin(rec, 6), before_rec + 30);
    CU_ASSERT(count_as_admin(own, TD_KAFKA_OFFSETS_TOPIC_PARTITIONS) >= 1);
    CU_ASSERT_EQUAL(count_as_admin(hr, TD_KAFKA_OFFSETS_TOPIC_PARTITIONS), before_hr);
}

static void add(void)
{
    td_test_suite("secure", setup, teardown);
    td_test_add("topics created as admin", test_topics);
    td_test_add("flow: connector and tuodictl as their users", test_flow);
    td_test_add("matchd as its user; wrong password refused", test_matchd);
    td_test_add("wrong password: refused at once", test_wrong_password);
    td_test_add("SCRAM with librdkafka < 2.6.1: refused, and why", test_scram);
    td_test_add("plaintext client: refused", test_plaintext);
    td_test_add("untrusted CA: refused at once", test_untrusted_ca);
    td_test_add("no ACL: refused, naming user, operation, topic", test_no_acl);
    td_test_add("no Write ACL: refused, naming user, Write, topic", test_no_write_acl);
    td_test_add("password file readable by others: refused", test_password_file_mode);
    td_test_add("a county records outcomes for its own alerts only", test_county_outcomes);
    td_test_add("a department writes its own positions only", test_positions_per_department);
}

int main(int argc, char **argv)
{
    return td_test_main(argc, argv, add);
}
