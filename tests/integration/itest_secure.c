/* The secure bus (issue 12, first part): tuodi's programs on a broker of
 * their own started with deploy/kafka/dev-broker --secure (TLS, SASL users,
 * StandardAuthorizer with no access without an ACL).
 *
 * The admin user makes the topics (tuodictl topics create) and grants the
 * ACLs of connector-medical, county-340421 and matchd (tdsec_it_grant:
 * tuodictl's Kafka client, transactional ids too). Then:
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
#include "tdsec_it.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PREFIX "sec"
/* A refusal must end a program within this (librdkafka's first attempt,
 * one metadata try of td_kafka: 5 s), far below the timeouts it would
 * otherwise wait out (tuodictl's 20 s, the connector's forever). */
#define REFUSED_BOUND_MS 8000

static void show_tail(const char *what, const char *path)
{
    fprintf(stderr, "\n    --- %s (%s) ---\n", what, path);
    td_proc_show_log(path, 30);
}

/* A connector config for instance as user, spooling from tdsec_tmp/spool-<instance>. */
static const char *connector_config(const char *instance, const char *dataset,
                                    const char *records, const char *dlq, const char *proto,
                                    const char *user, const char *pw, bool ca)
{
    static char path[4096];
    char k[4096], text[16384], spool[4200];
    tdsec_it_kafka_yaml(k, sizeof(k), proto, user, pw, ca);
    snprintf(spool, sizeof(spool), "%s/spool-%s", tdsec_tmp, instance);
    mkdir(spool, 0755);
    snprintf(path, sizeof(path), "%s/connector-%s.yaml", tdsec_tmp, instance);
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

static int setup(void)
{
    return tdsec_it_start("itest-secure", PREFIX) == 0 ? 0 : 1;
}

static int teardown(void)
{
    tdsec_it_stop();
    return 0;
}

/* ---- the tests ------------------------------------------------------------ */

/* The topics, as admin (a super user): the other tests need them. */
static void test_topics(void)
{
    char log[4200];
    int64_t ms;
    snprintf(log, sizeof(log), "%s/topics.log", tdsec_tmp);
    CU_ASSERT_EQUAL_FATAL(tdsec_it_ctl(tdsec_it_ctl_config("admin", "admin", NULL), log, &ms,
                                       "topics", "create", NULL),
                          0);
    CU_ASSERT(tdsec_it_log_has(log, "topics ok"));
}

static void test_flow(void)
{
    const char *rec = PREFIX ".medical_insurance.settlements";
    const char *dlq = PREFIX ".dlq.medical_insurance";
    const char *med = "connector-medical", *county = "county-340421";
    const char *cfg = connector_config(
        "medical", "medical_insurance", "medical_insurance.settlements", "dlq.medical_insurance",
        "SASL_SSL", "connector-medical", tdsec_it_pwfile("connector-medical"), true);
    const char *names[] = {"m1.csv"};
    char spool[4200], log[4200], clog[4200];
    int64_t ms;
    pid_t pid;

    CU_ASSERT_FATAL(tdsec_it_grant(med, TDT_ACL_TOPIC, rec, TDT_ACL_LITERAL, "Write", "Describe",
                                   "DescribeConfigs", NULL) == 0);
    CU_ASSERT_FATAL(tdsec_it_grant(med, TDT_ACL_TOPIC, dlq, TDT_ACL_LITERAL, "Write", "Read",
                                   "Describe", "DescribeConfigs", NULL) == 0);
    /* its positions (shared topic, keyed by instance: see docs/security.md) */
    CU_ASSERT_FATAL(tdsec_it_grant(med, TDT_ACL_TOPIC, PREFIX ".connect.offsets", TDT_ACL_LITERAL,
                                   "All", NULL) == 0);
    CU_ASSERT_FATAL(tdsec_it_grant(med, TDT_ACL_GROUP, "tuodi-offsets-reader.", TDT_ACL_PREFIXED,
                                   "Read", NULL) == 0);
    CU_ASSERT_FATAL(
        tdsec_it_grant(med, TDT_ACL_GROUP, "tuodictl-", TDT_ACL_PREFIXED, "Read", NULL) == 0);
    CU_ASSERT_FATAL(tdsec_it_grant(med, TDT_ACL_TRANSACTIONAL_ID, "tuodi-connector.medical",
                                   TDT_ACL_LITERAL, "Write", "Describe", NULL) == 0);
    /* county-340421: its own alerts only */
    CU_ASSERT_FATAL(tdsec_it_grant(county, TDT_ACL_TOPIC, PREFIX ".alerts.340421", TDT_ACL_LITERAL,
                                   "Read", "Describe", NULL) == 0);
    CU_ASSERT_FATAL(
        tdsec_it_grant(county, TDT_ACL_GROUP, "tuodictl-", TDT_ACL_PREFIXED, "Read", NULL) == 0);
    snprintf(spool, sizeof(spool), "%s/spool-medical", tdsec_tmp);
    CU_ASSERT_FATAL(tdc_it_write_medical(spool, "m1.csv", 1, 40, 20, false) == 2);
    snprintf(clog, sizeof(clog), "%s/connector-medical.log", tdsec_tmp);
    pid = tdc_it_spawn(cfg, clog);
    CU_ASSERT_FATAL(pid > 0);
    if (!tdc_it_wait_finished(spool, names, 1, 60000))
        show_tail("connector-medical", clog);
    CU_ASSERT_EQUAL(tdc_it_stop(pid, SIGTERM, 20000), 0);
    CU_ASSERT_EQUAL(tdsec_it_count_as_admin(PREFIX ".medical_insurance.settlements", 6), 38);

    /* its dead letters, read by the same user with tuodictl */
    snprintf(log, sizeof(log), "%s/ctl-dlq.log", tdsec_tmp);
    CU_ASSERT_EQUAL(tdsec_it_ctl(tdsec_it_ctl_config("ctl-medical", "connector-medical", NULL), log,
                                 &ms, "dead-letters", "--dataset", "medical_insurance", "--format",
                                 "csv", NULL),
                    0);
    if (td_proc_log_count(log, ",medical,medical_insurance,m1.csv,") != 2)
        show_tail("tuodictl dead-letters as connector-medical", log);
    CU_ASSERT_EQUAL(td_proc_log_count(log, ",medical,medical_insurance,m1.csv,"), 2);

    /* the county reads its own queue (empty, but allowed) */
    snprintf(log, sizeof(log), "%s/ctl-county-own.log", tdsec_tmp);
    CU_ASSERT_EQUAL(tdsec_it_ctl(tdsec_it_ctl_config("ctl-county", "county-340421", NULL), log, &ms,
                                 "alerts", "--county", "340421", NULL),
                    0);
}

/* A matchd config as matchd with pw; returns its path. */
static const char *matchd_config(const char *name, const char *pw)
{
    static char path[4096];
    char k[4096], text[16384];
    tdsec_it_kafka_yaml(k, sizeof(k), "SASL_SSL", "matchd", pw, true);
    snprintf(path, sizeof(path), "%s/%s.yaml", tdsec_tmp, name);
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
             k, tdsec_tmp, name, td_test_source_root(), td_test_source_root());
    CU_ASSERT_FATAL(td_test_write_file(path, text) == 0);
    return path;
}

/* tuodi-matchd as matchd, with ACLs on its topics (prefixed), its group and
 * its transactional id: ready, and stops on SIGTERM. With a wrong password:
 * refused, exit 1. */
static void test_matchd(void)
{
    char log[4200], pw[4200];
    const char *argv[4] = {"tuodi-matchd", "--config", NULL, NULL};
    int64_t ms;
    pid_t pid;

    CU_ASSERT_FATAL(
        tdsec_it_grant("matchd", TDT_ACL_TOPIC, PREFIX ".", TDT_ACL_PREFIXED, "All", NULL) == 0);
    CU_ASSERT_FATAL(
        tdsec_it_grant("matchd", TDT_ACL_GROUP, "itest-secure", TDT_ACL_LITERAL, "All", NULL) == 0);
    CU_ASSERT_FATAL(tdsec_it_grant("matchd", TDT_ACL_TRANSACTIONAL_ID, "tuodi-matchd.itest-secure",
                                   TDT_ACL_LITERAL, "All", NULL) == 0);

    snprintf(log, sizeof(log), "%s/matchd.log", tdsec_tmp);
    pid = td_proc_spawn_config(tdsec_it_matchd_bin(),
                               matchd_config("matchd", tdsec_it_pwfile("matchd")), log);
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT(td_proc_wait_log(log, "ready: ", 1, 60000));
    CU_ASSERT_EQUAL(td_proc_stop(pid, SIGTERM, 30000), 0);
    if (td_proc_log_count(log, "ready: ") < 1)
        show_tail("tuodi-matchd as matchd", log);

    snprintf(pw, sizeof(pw), "%s/wrong-matchd.password", tdsec_tmp);
    CU_ASSERT_FATAL(td_test_write_file(pw, "not-the-password\n") == 0);
    CU_ASSERT_FATAL(chmod(pw, 0600) == 0);
    argv[2] = matchd_config("matchd-wrong", pw);
    snprintf(log, sizeof(log), "%s/matchd-wrong.log", tdsec_tmp);
    CU_ASSERT_EQUAL(tdsec_it_run(tdsec_it_matchd_bin(), argv, log, 60000, &ms), 1);
    printf("\n    tuodi-matchd, wrong password: exit 1 after %.1f s", ms / 1000.0);
    CU_ASSERT(ms < 15000); /* within its transaction timeout (10 s) */
    CU_ASSERT(tdsec_it_log_has(log, "kafka: authentication failed for user \"matchd\""));
}

static void test_wrong_password(void)
{
    char pw[4200], log[4200];
    int64_t ms;

    snprintf(pw, sizeof(pw), "%s/wrong.password", tdsec_tmp);
    CU_ASSERT_FATAL(td_test_write_file(pw, "not-the-password\n") == 0);
    CU_ASSERT_FATAL(chmod(pw, 0600) == 0);

    snprintf(log, sizeof(log), "%s/ctl-wrong.log", tdsec_tmp);
    CU_ASSERT_EQUAL(tdsec_it_ctl(tdsec_it_ctl_config_as("ctl-wrong", "SASL_SSL", "county-340421",
                                                        pw, true, NULL),
                                 log, &ms, "alerts", "--county", "340421", NULL),
                    1);
    printf("\n    tuodictl, wrong password: exit 1 after %.1f s", ms / 1000.0);
    CU_ASSERT(ms < REFUSED_BOUND_MS);
    CU_ASSERT(tdsec_it_log_has(log, "kafka: authentication failed for user \"county-340421\""));
    CU_ASSERT(tdsec_it_log_has(log, "not retrying"));
    CU_ASSERT_EQUAL(td_proc_log_count(log, "not-the-password"), 0);

    {
        const char *cfg = connector_config("wrongpw", "medical_insurance",
                                           "medical_insurance.settlements",
                                           "dlq.medical_insurance", "SASL_SSL",
                                           "connector-medical", pw, true);
        const char *argv[] = {"tuodi-connector", "--config", cfg, NULL};
        snprintf(log, sizeof(log), "%s/connector-wrong.log", tdsec_tmp);
        CU_ASSERT_EQUAL(tdsec_it_run(tdc_it_connector_bin(), argv, log, 60000, &ms), 1);
        printf("\n    tuodi-connector, wrong password: exit 1 after %.1f s", ms / 1000.0);
        CU_ASSERT(ms < REFUSED_BOUND_MS);
        CU_ASSERT(
            tdsec_it_log_has(log, "kafka: authentication failed for user \"connector-medical\""));
    }
    {
        /* --check-config --connect: told at once, as a problem of the config */
        const char *cfg = connector_config("wrongpw", "medical_insurance",
                                           "medical_insurance.settlements",
                                           "dlq.medical_insurance", "SASL_SSL",
                                           "connector-medical", pw, true);
        const char *argv[] = {"tuodi-connector", "--config", cfg, "--check-config", "--connect",
                              NULL};
        snprintf(log, sizeof(log), "%s/connector-wrong-check.log", tdsec_tmp);
        CU_ASSERT_EQUAL(tdsec_it_run(tdc_it_connector_bin(), argv, log, 60000, &ms), 2);
        printf("\n    tuodi-connector --check-config --connect, wrong password: exit 2 after "
               "%.1f s", ms / 1000.0);
        CU_ASSERT(ms < REFUSED_BOUND_MS);
        CU_ASSERT(tdsec_it_log_has(log,
                                   "kafka.bootstrap.servers: kafka: authentication failed for user "
                                   "\"connector-medical\""));
    }
}

/* librdkafka 2.0.2's SCRAM, with the right password: refused by Kafka 4,
 * and the message says why and what to use instead. */
static void test_scram(void)
{
    char log[4200];
    int64_t ms;
    const char *cfg = tdsec_it_ctl_config("ctl-scram", "county-340421", NULL);
    char *text = td_test_read_file(cfg, NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    text = td_test_replace(text, "sasl.mechanisms: PLAIN", "sasl.mechanisms: SCRAM-SHA-512");
    CU_ASSERT_FATAL(td_test_write_file(cfg, text) == 0);
    free(text);
    snprintf(log, sizeof(log), "%s/ctl-scram.log", tdsec_tmp);
    CU_ASSERT_EQUAL(tdsec_it_ctl(cfg, log, &ms, "alerts", "--county", "340421", NULL), 1);
    CU_ASSERT(ms < REFUSED_BOUND_MS);
    CU_ASSERT(tdsec_it_log_has(log, "kafka: authentication failed for user \"county-340421\""));
    if (rd_kafka_version() < 0x020601ff)
        CU_ASSERT(tdsec_it_log_has(log,
                                   "SCRAM fails against Kafka 3.8.1 and later even with the right "
                                   "password: use sasl.mechanisms PLAIN inside SASL_SSL"));
}

static void test_plaintext(void)
{
    char log[4200];
    int64_t ms;
    const char *cfg = tdsec_it_ctl_config_as("ctl-plain", "plaintext", NULL, NULL, false, NULL);
    char *text = td_test_read_file(cfg, NULL);

    /* 2 s: the broker never answers a plaintext client */
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    text = td_test_replace(text, "timeout: 20s", "timeout: 2s");
    CU_ASSERT_FATAL(td_test_write_file(cfg, text) == 0);
    free(text);
    snprintf(log, sizeof(log), "%s/ctl-plain.log", tdsec_tmp);
    CU_ASSERT_EQUAL(tdsec_it_ctl(cfg, log, &ms, "alerts", "--county", "340421", NULL), 1);
    CU_ASSERT(tdsec_it_log_has(log, "cannot reach a broker"));
}

static void test_untrusted_ca(void)
{
    char log[4200];
    int64_t ms;

    snprintf(log, sizeof(log), "%s/ctl-noca.log", tdsec_tmp);
    CU_ASSERT_EQUAL(
        tdsec_it_ctl(tdsec_it_ctl_config_as("ctl-noca", "SASL_SSL", "county-340421",
                                            tdsec_it_pwfile("county-340421"), false, NULL),
                     log, &ms, "alerts", "--county", "340421", NULL),
        1);
    printf("\n    tuodictl, CA not trusted: exit 1 after %.1f s", ms / 1000.0);
    CU_ASSERT(ms < REFUSED_BOUND_MS);
    CU_ASSERT(tdsec_it_log_has(log, "kafka: the brokers' TLS certificate is not trusted"));
    CU_ASSERT(tdsec_it_log_has(log, "certificate verify failed"));
    CU_ASSERT(tdsec_it_log_has(log, "kafka.ssl.ca.location"));
}

static void test_no_acl(void)
{
    char log[4200];
    int64_t ms;

    /* a county reading another county's queue */
    snprintf(log, sizeof(log), "%s/ctl-other-county.log", tdsec_tmp);
    CU_ASSERT_EQUAL(tdsec_it_ctl(tdsec_it_ctl_config("ctl-county2", "county-340421", NULL), log,
                                 &ms, "alerts", "--county", "340422", NULL),
                    1);
    CU_ASSERT(ms < REFUSED_BOUND_MS);
    CU_ASSERT(tdsec_it_log_has(log, "not authorised: user \"county-340421\" may not "
                                    "Describe topic " PREFIX ".alerts.340422 "
                                    "(TOPIC_AUTHORIZATION_FAILED)"));

    /* a county with its topic but no group: tuodictl's throwaway group */
    {
        CU_ASSERT_FATAL(tdsec_it_grant("county-340422", TDT_ACL_TOPIC, PREFIX ".alerts.340422",
                                       TDT_ACL_LITERAL, "Read", "Describe", NULL) == 0);
        snprintf(log, sizeof(log), "%s/ctl-no-group.log", tdsec_tmp);
        CU_ASSERT_EQUAL(tdsec_it_ctl(tdsec_it_ctl_config("ctl-county22", "county-340422", NULL),
                                     log, &ms, "alerts", "--county", "340422", NULL),
                        1);
        CU_ASSERT(ms < REFUSED_BOUND_MS);
        CU_ASSERT(tdsec_it_log_has(log, "not authorised: user \"county-340422\" may not Read group "
                                        "tuodictl-"));
    }

    /* a connector without any ACL: its topics exist but it may not see them */
    {
        const char *cfg =
            connector_config("roster", "roster", "roster.households", "dlq.roster", "SASL_SSL",
                             "connector-roster", tdsec_it_pwfile("connector-roster"), true);
        const char *argv[] = {"tuodi-connector", "--config", cfg, NULL};
        char *text = td_test_read_file(cfg, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        text = td_test_replace(text, "partitions: 6", "partitions: 3");
        CU_ASSERT_FATAL(td_test_write_file(cfg, text) == 0);
        free(text);
        snprintf(log, sizeof(log), "%s/connector-roster.log", tdsec_tmp);
        CU_ASSERT_EQUAL(tdsec_it_run(tdc_it_connector_bin(), argv, log, 60000, &ms), 1);
        CU_ASSERT(ms < REFUSED_BOUND_MS);
        CU_ASSERT(tdsec_it_log_has(log,
                                   "not authorised: user \"connector-roster\" may not Describe or "
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
    const char *hr = "connector-hr";
    const char *cfg = connector_config(
        "hrwrite", "medical_insurance", "medical_insurance.settlements", "dlq.medical_insurance",
        "SASL_SSL", "connector-hr", tdsec_it_pwfile("connector-hr"), true);
    const char *argv[] = {"tuodi-connector", "--config", cfg, NULL};
    char spool[4200], log[4200];
    long before = tdsec_it_count_as_admin(rec, 6);
    int64_t ms;

    CU_ASSERT_FATAL(tdsec_it_grant(hr, TDT_ACL_TOPIC, rec, TDT_ACL_LITERAL, "Describe", NULL) == 0);
    CU_ASSERT_FATAL(
        tdsec_it_grant(hr, TDT_ACL_TOPIC, dlq, TDT_ACL_LITERAL, "Describe", "Write", NULL) == 0);
    CU_ASSERT_FATAL(tdsec_it_grant(hr, TDT_ACL_TOPIC, off, TDT_ACL_LITERAL, "All", NULL) == 0);
    CU_ASSERT_FATAL(tdsec_it_grant(hr, TDT_ACL_GROUP, "tuodi-offsets-reader.", TDT_ACL_PREFIXED,
                                   "Read", NULL) == 0);
    CU_ASSERT_FATAL(tdsec_it_grant(hr, TDT_ACL_TRANSACTIONAL_ID, "tuodi-connector.hrwrite",
                                   TDT_ACL_LITERAL, "Write", "Describe", NULL) == 0);
    snprintf(spool, sizeof(spool), "%s/spool-hrwrite", tdsec_tmp);
    CU_ASSERT_FATAL(tdc_it_write_medical(spool, "w1.csv", 2, 10, 0, false) == 0);
    snprintf(log, sizeof(log), "%s/connector-hrwrite.log", tdsec_tmp);
    CU_ASSERT_EQUAL(tdsec_it_run(tdc_it_connector_bin(), argv, log, 60000, &ms), 1);
    printf("\n    tuodi-connector, no Write ACL: exit 1 after %.1f s", ms / 1000.0);
    CU_ASSERT(ms < REFUSED_BOUND_MS);
    CU_ASSERT(tdsec_it_log_has(log, "not authorised: user \"connector-hr\" may not "
                                    "Write topic " PREFIX ".medical_insurance.settlements "
                                    "(TOPIC_AUTHORIZATION_FAILED)"));
    CU_ASSERT_EQUAL(tdsec_it_count_as_admin(rec, 6), before);
}

static void test_password_file_mode(void)
{
    char pw[4200], log[4200], expect[4400];
    const char *cfg;
    int64_t ms;

    snprintf(pw, sizeof(pw), "%s/open.password", tdsec_tmp);
    CU_ASSERT_FATAL(td_test_write_file(pw, "whatever\n") == 0);
    CU_ASSERT_FATAL(chmod(pw, 0644) == 0);
    snprintf(expect, sizeof(expect), "kafka.sasl.password: ${file:\"%s\"} holds a secret but "
             "is readable by others (mode 0644): chmod o-rwx it", pw);

    cfg = tdsec_it_ctl_config_as("ctl-open", "SASL_SSL", "county-340421", pw, true, NULL);
    snprintf(log, sizeof(log), "%s/ctl-open.log", tdsec_tmp);
    CU_ASSERT_EQUAL(tdsec_it_ctl(cfg, log, &ms, "--check-config", NULL), 2);
    CU_ASSERT(tdsec_it_log_has(log, expect));
    CU_ASSERT(tdsec_it_log_has(log, "ctl-open.yaml:6:18: "));

    cfg = connector_config("open", "medical_insurance", "medical_insurance.settlements",
                           "dlq.medical_insurance", "SASL_SSL", "connector-medical", pw, true);
    {
        const char *check[] = {"tuodi-connector", "--config", cfg, "--check-config", NULL};
        const char *start[] = {"tuodi-connector", "--config", cfg, NULL};
        snprintf(log, sizeof(log), "%s/connector-open-check.log", tdsec_tmp);
        CU_ASSERT_EQUAL(tdsec_it_run(tdc_it_connector_bin(), check, log, 30000, &ms), 2);
        CU_ASSERT(tdsec_it_log_has(log, expect));
        snprintf(log, sizeof(log), "%s/connector-open.log", tdsec_tmp);
        CU_ASSERT_NOT_EQUAL(tdsec_it_run(tdc_it_connector_bin(), start, log, 30000, &ms), 0);
        CU_ASSERT(tdsec_it_log_has(log, expect));
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
    tdsec_it_admin_props(&props);
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
    const char *cfg = tdsec_it_ctl_config("ctl-county-verify", "county-340421", NULL);
    char log[4200], want[512];
    long before_other = tdsec_it_count_as_admin(other, 1),
         before_own = tdsec_it_count_as_admin(own, 1);
    int64_t ms;

    CU_ASSERT_FATAL(
        tdsec_it_grant("county-340421", TDT_ACL_TOPIC, own, TDT_ACL_LITERAL, "Write", NULL) == 0);
    /* what tuodictl needs to read its own queue */
    CU_ASSERT_FATAL(tdsec_it_grant("county-340421", TDT_ACL_TOPIC, PREFIX ".alerts.340421",
                                   TDT_ACL_LITERAL, "Read", NULL) == 0);
    CU_ASSERT_FATAL(tdsec_it_grant("county-340421", TDT_ACL_GROUP, "tuodictl-", TDT_ACL_PREFIXED,
                                   "Read", NULL) == 0);
    alert_as_admin(id21, "340421100001");
    alert_as_admin(id22, "340422100001");

    /* another county's alert: refused before anything is read or sent */
    snprintf(log, sizeof(log), "%s/ctl-verify-other.log", tdsec_tmp);
    CU_ASSERT_EQUAL(tdsec_it_ctl(cfg, log, &ms, "verify", id22, "--county", "340422", "--outcome",
                                 "dismissed", "--reason", "收入稳定", "--verifier", "王五",
                                 "--reviewer", "赵六", NULL),
                    1);
    printf("\n    tuodictl verify for another county's alert: exit 1 after %.1f s",
           ms / 1000.0);
    CU_ASSERT(ms < REFUSED_BOUND_MS);
    CU_ASSERT(tdsec_it_log_has(log, "not authorised: user \"county-340421\" may not "
                                    "Write topic " PREFIX ".verifications.340422 "
                                    "(TOPIC_AUTHORIZATION_FAILED)"));
    CU_ASSERT(tdsec_it_log_has(log, "nothing was recorded"));
    CU_ASSERT_EQUAL(count_lines(log), 1);
    if (count_lines(log) != 1)
        show_tail("tuodictl verify as county-340421 for 340422", log);
    CU_ASSERT_EQUAL(tdsec_it_count_as_admin(other, 1), before_other);

    /* its own county's alert: recorded on its own topic */
    snprintf(log, sizeof(log), "%s/ctl-verify-own.log", tdsec_tmp);
    CU_ASSERT_EQUAL(tdsec_it_ctl(cfg, log, &ms, "verify", id21, "--county", "340421", "--outcome",
                                 "dismissed", "--reason", "收入稳定", "--verifier", "王五",
                                 "--reviewer", "赵六", NULL),
                    0);
    snprintf(want, sizeof(want), "recorded %s", own);
    CU_ASSERT(tdsec_it_log_has(log, want));
    CU_ASSERT_EQUAL(tdsec_it_count_as_admin(own, 1), before_own + 1);
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
    const char *med = "connector-medical";
    const char *cfg = connector_config(
        "medical", "medical_insurance", "medical_insurance.settlements", "dlq.medical_insurance",
        "SASL_SSL", "connector-medical", tdsec_it_pwfile("connector-medical"), true);
    const char *argv[] = {"tuodi-connector", "--config", cfg, NULL};
    const char *names[] = {"pos-1.csv", "pos-2.csv"};
    char spool[4200], log[4200], *text, *base;
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
        tdsec_it_admin_props(&props);
        CU_ASSERT_FATAL(td_kafka_props_add(&compact, "cleanup.policy", "compact", NULL) == 0);
        CU_ASSERT_FATAL(td_kafka_producer_conf_new(NULL, NULL, &props, &conf, &err) == 0);
        CU_ASSERT_FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) == 0);
        if (td_kafka_topics_ensure(rk, &spec, 1, 30000, &err) != 0)
            fprintf(stderr, "%s\n", err.msg);
        td_kafka_destroy(rk);
        td_kafka_props_clear(&props);
        td_kafka_props_clear(&compact);
    }
    CU_ASSERT_FATAL(
        tdsec_it_grant(med, TDT_ACL_TOPIC, rec, TDT_ACL_LITERAL, "Write", "Describe", NULL) == 0);
    CU_ASSERT_FATAL(tdsec_it_grant(med, TDT_ACL_TOPIC, dlq, TDT_ACL_LITERAL, "Write", "Read",
                                   "Describe", NULL) == 0);
    CU_ASSERT_FATAL(tdsec_it_grant(med, TDT_ACL_TOPIC, own, TDT_ACL_LITERAL, "Write", "Read",
                                   "Describe", NULL) == 0);
    CU_ASSERT_FATAL(tdsec_it_grant(med, TDT_ACL_GROUP, "tuodi-offsets-reader.medical",
                                   TDT_ACL_PREFIXED, "Read", NULL) == 0);
    CU_ASSERT_FATAL(tdsec_it_grant(med, TDT_ACL_TRANSACTIONAL_ID, "tuodi-connector.medical",
                                   TDT_ACL_LITERAL, "Write", "Describe", NULL) == 0);

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
    snprintf(spool, sizeof(spool), "%s/spool-medical", tdsec_tmp);
    CU_ASSERT_FATAL(tdc_it_write_medical(spool, names[0], 3, 30, 0, false) == 0);
    before_rec = tdsec_it_count_as_admin(rec, 6);
    before_hr = tdsec_it_count_as_admin(hr, TD_KAFKA_OFFSETS_TOPIC_PARTITIONS);

    /* 1. hr's positions topic, no ACL on it: refused at the first use */
    snprintf(log, sizeof(log), "%s/connector-pos-hr.log", tdsec_tmp);
    CU_ASSERT_EQUAL(tdsec_it_run(tdc_it_connector_bin(), argv, log, 60000, &ms), 1);
    printf("\n    tuodi-connector on another department's positions topic: exit 1 after "
           "%.1f s", ms / 1000.0);
    CU_ASSERT(ms < REFUSED_BOUND_MS);
    CU_ASSERT(tdsec_it_log_has(log, "not authorised: user \"connector-medical\" may not "));
    CU_ASSERT(
        tdsec_it_log_has(log, " topic " PREFIX ".connect.offsets.hr (TOPIC_AUTHORIZATION_FAILED)"));
    CU_ASSERT_EQUAL(tdsec_it_count_as_admin(hr, TD_KAFKA_OFFSETS_TOPIC_PARTITIONS), before_hr);
    CU_ASSERT_EQUAL(tdsec_it_count_as_admin(rec, 6), before_rec);

    /* 2. allowed to read hr's positions, not to write them: refused at
     *    the commit, naming Write; the records of that transaction too
     *    are not written */
    CU_ASSERT_FATAL(
        tdsec_it_grant(med, TDT_ACL_TOPIC, hr, TDT_ACL_LITERAL, "Read", "Describe", NULL) == 0);
    snprintf(log, sizeof(log), "%s/connector-pos-hr-read.log", tdsec_tmp);
    CU_ASSERT_EQUAL(tdsec_it_run(tdc_it_connector_bin(), argv, log, 60000, &ms), 1);
    printf("\n    tuodi-connector writing another department's positions: exit 1 after %.1f s",
           ms / 1000.0);
    CU_ASSERT(ms < REFUSED_BOUND_MS + 5000);
    CU_ASSERT(tdsec_it_log_has(log, "not authorised: user \"connector-medical\" may not "
                                    "Write topic " PREFIX ".connect.offsets.hr "
                                    "(TOPIC_AUTHORIZATION_FAILED)"));
    CU_ASSERT_EQUAL(tdsec_it_count_as_admin(hr, TD_KAFKA_OFFSETS_TOPIC_PARTITIONS), before_hr);
    CU_ASSERT_EQUAL(tdsec_it_count_as_admin(rec, 6), before_rec);
    CU_ASSERT_FATAL(
        tdsec_it_ungrant(med, TDT_ACL_TOPIC, hr, TDT_ACL_LITERAL, "Read", "Describe", NULL) == 0);

    /* 3. its own positions topic (the default name): the file is published
     *    and its position is there; hr's is untouched */
    CU_ASSERT_FATAL(td_test_write_file(cfg, base) == 0);
    free(base);
    snprintf(log, sizeof(log), "%s/connector-pos-own.log", tdsec_tmp);
    pid = tdc_it_spawn(cfg, log);
    CU_ASSERT_FATAL(pid > 0);
    if (!tdc_it_wait_finished(spool, names, 1, 60000))
        show_tail("connector-medical with its own positions topic", log);
    CU_ASSERT_EQUAL(tdc_it_stop(pid, SIGTERM, 20000), 0);
    CU_ASSERT(tdsec_it_log_has(
        log, "tuodi.connect.offsets.medical holds no position of medical/spooldir, "
             "and the old shared topic tuodi.connect.offsets may not be read"));
    CU_ASSERT_EQUAL(td_proc_log_count(log, "kafka: not authorised"), 0);
    CU_ASSERT_EQUAL(tdsec_it_count_as_admin(rec, 6), before_rec + 30);
    CU_ASSERT(tdsec_it_count_as_admin(own, TD_KAFKA_OFFSETS_TOPIC_PARTITIONS) >= 1);
    CU_ASSERT_EQUAL(tdsec_it_count_as_admin(hr, TD_KAFKA_OFFSETS_TOPIC_PARTITIONS), before_hr);
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
