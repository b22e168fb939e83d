/* tuodictl acls apply on a secured broker of its own (dev-broker --secure):
 * the shipped policy deploy/acls.yaml made the brokers' ACLs, and what
 * that means for the programs.
 *
 *   - dry run: every binding listed as "+", nothing changed (the county
 *     still refused);
 *   - apply: every binding added; again: nothing to do (idempotent);
 *   - under the policy alone (transactional-id ACLs included, which
 *     librdkafka 2.0.2 cannot create): connector-medical publishes a file;
 *     county-340421 reads its queue;
 *   - deny paths under the policy: connector-medical writing hr's records,
 *     county-340421 reading 340422's queue, a non-admin applying;
 *   - a stray ACL (county-340421 Read on 340422's queue) works until apply
 *     removes it, and is refused again after;
 *   - keep: a user under keep: keeps its ACLs.
 *
 *   itest_acls
 */
#include "td_proc.h"
#include "td_test.h"
#include "td_time.h"
#include "tdc_it.h"
#include "tdsec_it.h"
#include "tdt.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char admin_cfg[4200];
static long nbindings; /* what the first dry run says it would add */

static int setup(void)
{
    const char *c;
    if (tdsec_it_start("itest-acls", "acl") < 0)
        return 1;
    c = tdsec_it_ctl_config("admin", "admin", NULL);
    if (!c)
        return 1;
    snprintf(admin_cfg, sizeof(admin_cfg), "%s", c);
    return 0;
}

static int teardown(void)
{
    tdsec_it_stop();
    return 0;
}

static const char *logpath(const char *name)
{
    static char path[4][4200];
    static int i;
    i = (i + 1) % 4;
    snprintf(path[i], sizeof(path[i]), "%s/%s.log", tdsec_tmp, name);
    return path[i];
}

/* The number after "acls: " in log's summary line's field, e.g. "to add". */
static long summary(const char *log, const char *what)
{
    char *text = td_test_read_file(log, NULL), *p;
    long n = -1;
    if (!text)
        return -1;
    p = strstr(text, "acls: ");
    if (p) {
        char *w = strstr(p, what);
        /* the number just before " what" */
        if (w) {
            char *s = w - 1;
            while (s > p && s[-1] >= '0' && s[-1] <= '9')
                s--;
            n = strtol(s, NULL, 10);
        }
    }
    free(text);
    return n;
}

/* A ctl as county-340421 reading county's queue: the exit status. */
static int county_reads(const char *county, const char *log)
{
    int64_t ms;
    return tdsec_it_ctl(tdsec_it_ctl_config("county-340421", "county-340421", NULL), log, &ms,
                        "alerts", "--county", county, NULL);
}

/* The topics as admin (deploy/topics.yaml: the connectors' positions
 * topics too, one per instance). */
static void test_topics(void)
{
    int64_t ms;
    CU_ASSERT_EQUAL_FATAL(tdsec_it_ctl(admin_cfg, logpath("topics"), &ms, "topics", "create",
                                       NULL),
                          0);
}

static void test_dry_run(void)
{
    const char *log = logpath("dry");
    int64_t ms;
    CU_ASSERT_EQUAL_FATAL(tdsec_it_ctl(admin_cfg, log, &ms, "acls", "apply", "--dry-run", NULL),
                          0);
    CU_ASSERT(tdsec_it_log_has(log, "+ allow User:county-340421 Read topic acl.alerts.340421\n"));
    CU_ASSERT(tdsec_it_log_has(log, "+ allow User:county-340402 Write topic "
                                    "acl.verifications.340402\n"));
    CU_ASSERT(tdsec_it_log_has(log, "+ allow User:connector-medical Write transactional_id "
                                    "tuodi-connector.medical\n"));
    CU_ASSERT(tdsec_it_log_has(log, "+ allow User:matchd Read topic acl.verifications.*\n"));
    CU_ASSERT(tdsec_it_log_has(log, "(dry run: nothing changed)"));
    nbindings = summary(log, " to add");
    CU_ASSERT(nbindings > 100);
    CU_ASSERT_EQUAL(summary(log, " to remove"), 0);
    CU_ASSERT_EQUAL(td_proc_log_count(log, "+ allow "), nbindings);
    /* nothing changed: the county may still not read its queue */
    CU_ASSERT_EQUAL(county_reads("340421", logpath("county-before")), 1);
    CU_ASSERT(tdsec_it_log_has(logpath("county-before"), "user \"county-340421\" may not"));
}

static void test_apply(void)
{
    const char *log = logpath("apply"), *log2 = logpath("apply2");
    int64_t ms;
    CU_ASSERT_EQUAL_FATAL(tdsec_it_ctl(admin_cfg, log, &ms, "acls", "apply", NULL), 0);
    CU_ASSERT_EQUAL(summary(log, " added"), nbindings);
    CU_ASSERT_EQUAL(summary(log, " removed"), 0);
    /* it returns once the broker shows them (its authorizer's state) */
    CU_ASSERT(tdsec_it_log_has(log, "; in effect on the broker after "));
    /* idempotent */
    CU_ASSERT_EQUAL_FATAL(tdsec_it_ctl(admin_cfg, log2, &ms, "acls", "apply", NULL), 0);
    CU_ASSERT_EQUAL(summary(log2, " added"), 0);
    CU_ASSERT_EQUAL(summary(log2, " removed"), 0);
    CU_ASSERT_EQUAL(summary(log2, " unchanged"), nbindings);
    CU_ASSERT_EQUAL(td_proc_log_count(log2, "+ allow "), 0);
    /* the county reads its own queue now */
    CU_ASSERT_EQUAL(county_reads("340421", logpath("county-own")), 0);
}

static const char *connector_config(const char *name, const char *records)
{
    static char path[4200];
    char k[4096], text[16384], spool[4200];
    tdsec_it_kafka_yaml(k, sizeof(k), "SASL_SSL", "connector-medical",
                        tdsec_it_pwfile("connector-medical"), true);
    snprintf(spool, sizeof(spool), "%s/spool-%s", tdsec_tmp, name);
    mkdir(spool, 0755);
    snprintf(path, sizeof(path), "%s/connector-%s.yaml", tdsec_tmp, name);
    snprintf(text, sizeof(text),
             "instance: medical\ndataset: medical_insurance\nschemas_dir: %s/schemas\n"
             "log_level: info\n%s  transaction.timeout.ms: 30000\n  message.timeout.ms: 30000\n"
             "topics:\n  records: acl.%s\n  dlq: acl.dlq.medical_insurance\n"
             "  offsets: acl.connect.offsets.medical\n  create: false\n"
             "source:\n  spooldir:\n    input_dir: %s\n    poll_interval: 200ms\n"
             "transaction:\n  max_records: 100\n  max_interval: 500ms\n  timeout: 10s\n",
             td_test_source_root(), k, records, spool);
    CU_ASSERT_FATAL(td_test_write_file(path, text) == 0);
    return path;
}

/* connector-medical with nothing but the policy's ACLs: its transactional
 * id (made by tdt_kwire), records, dead letters, positions. */
static void test_connector_under_policy(void)
{
    const char *cfg = connector_config("medical", "medical_insurance.settlements");
    const char *names[] = {"m1.csv"};
    char spool[4200];
    const char *log = logpath("connector-medical");
    pid_t pid;

    snprintf(spool, sizeof(spool), "%s/spool-medical", tdsec_tmp);
    CU_ASSERT_FATAL(tdc_it_write_medical(spool, "m1.csv", 1, 40, 20, false) == 2);
    pid = tdc_it_spawn(cfg, log);
    CU_ASSERT_FATAL(pid > 0);
    if (!tdc_it_wait_finished(spool, names, 1, 60000)) {
        CU_FAIL("the connector did not finish m1.csv");
        td_proc_show_log(log, 30);
    }
    CU_ASSERT_EQUAL(tdc_it_stop(pid, SIGTERM, 20000), 0);
    CU_ASSERT_EQUAL(tdsec_it_count_as_admin("acl.medical_insurance.settlements", 6), 38);
    CU_ASSERT_EQUAL(tdsec_it_count_as_admin("acl.dlq.medical_insurance", 1), 2);
}

static void test_deny_under_policy(void)
{
    const char *cfg = connector_config("medical-as-hr", "human_resources.events");
    const char *argv[] = {"tuodi-connector", "--config", cfg, NULL};
    const char *log = logpath("connector-as-hr");
    char spool[4200];
    int64_t ms;
    int st;

    /* a department writing another's records: refused, nothing written */
    snprintf(spool, sizeof(spool), "%s/spool-medical-as-hr", tdsec_tmp);
    CU_ASSERT_FATAL(tdc_it_write_medical(spool, "h1.csv", 2, 10, 0, false) == 0);
    st = tdsec_it_run(tdc_it_connector_bin(), argv, log, 60000, &ms);
    CU_ASSERT(st == 1);
    CU_ASSERT(tdsec_it_log_has(log, "user \"connector-medical\" may not"));
    CU_ASSERT(tdsec_it_log_has(log, "may not Write topic acl.human_resources.events "
                                    "(TOPIC_AUTHORIZATION_FAILED)"));
    CU_ASSERT(tdsec_it_log_has(log, "not retrying: the sink refused the record of row 2"));
    CU_ASSERT_EQUAL(tdsec_it_count_as_admin("acl.human_resources.events", 6), 0);
    /* a refusal is no bad row: nothing dead-lettered, the file not done */
    CU_ASSERT_EQUAL(tdsec_it_count_as_admin("acl.dlq.medical_insurance", 1), 2);
    {
        char done[4300];
        struct stat st2;
        snprintf(done, sizeof(done), "%s/finished/h1.csv", spool);
        CU_ASSERT(stat(done, &st2) != 0);
    }

    /* a county reading another county's queue */
    log = logpath("county-other");
    CU_ASSERT_EQUAL(county_reads("340422", log), 1);
    CU_ASSERT(tdsec_it_log_has(log, "user \"county-340421\" may not Describe topic "
                                    "acl.alerts.340422"));

    /* only the admin applies the policy */
    log = logpath("apply-as-county");
    CU_ASSERT_EQUAL(tdsec_it_ctl(tdsec_it_ctl_config("county-apply", "county-340421", NULL), log,
                                 &ms, "acls", "apply", "--dry-run", NULL),
                    1);
    CU_ASSERT(tdsec_it_log_has(log, "not authorised: user \"county-340421\" may not Describe "
                                    "the cluster's ACLs (CLUSTER_AUTHORIZATION_FAILED)"));
}

static void test_stray_removed(void)
{
    const char *log = logpath("stray-dry"), *log2 = logpath("stray-apply");
    int64_t ms;

    CU_ASSERT_FATAL(tdsec_it_grant("county-340421", TDT_ACL_TOPIC, "acl.alerts.340422",
                                   TDT_ACL_LITERAL, "Read", "Describe", NULL) == 0);
    /* the stray works: the county reads another county's queue */
    CU_ASSERT_EQUAL(county_reads("340422", logpath("county-stray")), 0);
    CU_ASSERT_EQUAL_FATAL(tdsec_it_ctl(admin_cfg, log, &ms, "acls", "apply", "--dry-run", NULL),
                          0);
    CU_ASSERT(tdsec_it_log_has(log, "- allow User:county-340421 Read topic acl.alerts.340422\n"));
    CU_ASSERT(tdsec_it_log_has(log, "- allow User:county-340421 Describe topic "
                                    "acl.alerts.340422\n"));
    CU_ASSERT_EQUAL(summary(log, " to remove"), 2);
    CU_ASSERT_EQUAL(summary(log, " to add"), 0);
    CU_ASSERT_EQUAL_FATAL(tdsec_it_ctl(admin_cfg, log2, &ms, "acls", "apply", NULL), 0);
    CU_ASSERT_EQUAL(summary(log2, " removed"), 2);
    CU_ASSERT_EQUAL(summary(log2, " unchanged"), nbindings);
    /* refused again */
    CU_ASSERT_EQUAL(county_reads("340422", logpath("county-after")), 1);
    CU_ASSERT_EQUAL(county_reads("340421", logpath("county-own-after")), 0);
}

static void test_keep(void)
{
    char *text, path[4200], *k;
    const char *log = logpath("keep"), *log2 = logpath("nokeep");
    int64_t ms;

    CU_ASSERT_FATAL(tdsec_it_grant("other-app", TDT_ACL_TOPIC, "other.topic", TDT_ACL_LITERAL,
                                   "Read", NULL) == 0);
    snprintf(path, sizeof(path), "%s/deploy/acls.yaml", td_test_source_root());
    text = td_test_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    k = strstr(text, "\nkeep: []\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    {
        size_t n = strlen(text) + 64;
        char *kept = malloc(n);
        snprintf(kept, n, "%.*s\nkeep: [other-app]\n%s", (int)(k - text), text, k + 10);
        snprintf(path, sizeof(path), "%s/acls-keep.yaml", tdsec_tmp);
        CU_ASSERT_FATAL(td_test_write_file(path, kept) == 0);
        free(kept);
    }
    free(text);
    CU_ASSERT_EQUAL_FATAL(tdsec_it_ctl(admin_cfg, log, &ms, "acls", "apply", "--file", path,
                                       NULL),
                          0);
    CU_ASSERT_EQUAL(summary(log, " removed"), 0);
    CU_ASSERT_EQUAL(summary(log, " kept"), 1);
    CU_ASSERT_EQUAL(tdsec_it_count_acls("other-app"), 1);
    /* without keep: the shipped policy removes it */
    CU_ASSERT_EQUAL_FATAL(tdsec_it_ctl(admin_cfg, log2, &ms, "acls", "apply", NULL), 0);
    CU_ASSERT(tdsec_it_log_has(log2, "- allow User:other-app Read topic other.topic\n"));
    CU_ASSERT_EQUAL(tdsec_it_count_acls("other-app"), 0);
}

/* CA rotation (docs/security.md): while the brokers move to a new CA,
 * clients trust both, one file holding the two certificates. A bundle of a
 * new CA and the brokers' CA works for librdkafka (tuodictl alerts) and for
 * tdt_kwire (acls apply); the new CA alone is refused as not trusted. */
static void test_ca_bundle(void)
{
    char cmd[16384], bundle[4200], only[4200];
    const char *log;
    int64_t ms;

    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout new-ca.key "
             "-out new-ca.pem -days 2 -subj /CN=tuodi-new-ca >openssl.log 2>&1 && "
             "cat new-ca.pem %s/tls/ca.pem >bundle.pem",
             tdsec_tmp, tdsec_kdir);
    CU_ASSERT_FATAL(system(cmd) == 0);
    snprintf(bundle, sizeof(bundle), "%s/bundle.pem", tdsec_tmp);
    snprintf(only, sizeof(only), "%s/new-ca.pem", tdsec_tmp);

    /* the kafka: section with ssl.ca.location last, replaced */
    for (int k = 0; k < 2; k++) {
        const char *ca = k == 0 ? bundle : only;
        char kafka[4096], text[16384], path[4200], *at;
        tdsec_it_kafka_yaml(kafka, sizeof(kafka), "SASL_SSL", "county-340421",
                            tdsec_it_pwfile("county-340421"), true);
        at = strstr(kafka, "  ssl.ca.location: ");
        CU_ASSERT_PTR_NOT_NULL_FATAL(at);
        snprintf(at, sizeof(kafka) - (size_t)(at - kafka), "  ssl.ca.location: %s\n", ca);
        snprintf(path, sizeof(path), "%s/ctl-ca-%d.yaml", tdsec_tmp, k);
        snprintf(text, sizeof(text),
                 "%sschemas_dir: %s/schemas\nplaces: %s/deploy/data/huainan-divisions.csv\n"
                 "acls_file: %s/deploy/acls.yaml\ntopic_prefix: acl\ntimeout: 20s\n",
                 kafka, td_test_source_root(), td_test_source_root(), td_test_source_root());
        CU_ASSERT_FATAL(td_test_write_file(path, text) == 0);
        log = logpath(k == 0 ? "ca-bundle" : "ca-new-only");
        CU_ASSERT_EQUAL(tdsec_it_ctl(path, log, &ms, "alerts", "--county", "340421", NULL),
                        k == 0 ? 0 : 1);
        if (k == 1)
            CU_ASSERT(tdsec_it_log_has(log, "the brokers' TLS certificate is not trusted"));
        /* tdt_kwire: the county is refused by the brokers' ACLs, so it got
         * through TLS with the bundle; with the new CA alone, TLS fails */
        log = logpath(k == 0 ? "ca-bundle-acls" : "ca-new-only-acls");
        CU_ASSERT_EQUAL(tdsec_it_ctl(path, log, &ms, "acls", "apply", "--dry-run", NULL), 1);
        CU_ASSERT(tdsec_it_log_has(log, k == 0 ? "CLUSTER_AUTHORIZATION_FAILED"
                                               : "the brokers' TLS certificate is not trusted"));
    }
}

static void add(void)
{
    td_test_suite("acls", setup, teardown);
    td_test_add("topics created as admin", test_topics);
    td_test_add("dry run: every binding listed, nothing changed", test_dry_run);
    td_test_add("apply: every binding added; again: nothing to do", test_apply);
    td_test_add("the connector under the policy alone", test_connector_under_policy);
    td_test_add("deny paths under the policy", test_deny_under_policy);
    td_test_add("a stray ACL: works until apply removes it", test_stray_removed);
    td_test_add("keep: a kept user's ACLs stay", test_keep);
    td_test_add("CA rotation: a bundle of old and new CA", test_ca_bundle);
}

int main(int argc, char **argv)
{
    return td_test_main(argc, argv, add);
}
