/* --check-config --connect against the real broker (KAFKA_BOOTSTRAP): the
 * brokers are asked whether the topics exist, nothing is created, and an
 * unreachable cluster is one clear problem after at most 10 s.
 *   connector: a missing records topic is a problem only with
 *              topics.create: false (the connector would make it);
 *   matchd:    each missing input topic is named; with all five there, ok.
 * Every test makes its own topics (td_test_unique). */
#include "td_kafka.h"
#include "td_test.h"
#include "td_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static const char *bootstrap;
static char out[16384];

/* Runs PROGRAM --config path --check-config --connect; output in out. */
static int run_check(const char *program, const char *path)
{
    char cmd[8192];
    const char *b = getenv("TD_BUILD_ROOT");
    FILE *p;
    size_t n;
    int st;

    snprintf(cmd, sizeof(cmd), "%s/%s --config %s --check-config --connect 2>&1",
             b ? b : "build", program, path);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Whether topic exists, asked with the same probe. */
static bool topic_exists(const char *topic)
{
    td_kafka_props props = {0};
    td_error err = {0};
    bool exists = false;

    CU_ASSERT_EQUAL_FATAL(td_kafka_props_add(&props, "bootstrap.servers", bootstrap, NULL), 0);
    CU_ASSERT_EQUAL(td_kafka_probe(&props, &topic, 1, 30000, &exists, &err), 0);
    td_kafka_props_clear(&props);
    return exists;
}

static void create_topics(const char *const *names, size_t n)
{
    td_kafka_props props = {0};
    td_kafka_topic_spec specs[8];
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_error err = {0};

    CU_ASSERT_FATAL(n <= 8);
    CU_ASSERT_EQUAL_FATAL(td_kafka_props_add(&props, "bootstrap.servers", bootstrap, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(td_kafka_producer_conf_new(NULL, NULL, &props, &conf, &err), 0);
    CU_ASSERT_EQUAL_FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err), 0);
    memset(specs, 0, sizeof(specs));
    for (size_t i = 0; i < n; i++)
        specs[i] = (td_kafka_topic_spec){.name = names[i], .partitions = 1,
                                         .replication_factor = 1};
    if (td_kafka_topics_ensure(rk, specs, n, 30000, &err) < 0)
        fprintf(stderr, "\n    %s\n", err.msg);
    td_kafka_destroy(rk);
    td_kafka_props_clear(&props);
}

static void test_connector(void)
{
    char *dir = td_test_tmpdir(), *records = td_test_unique("check.records");
    char *dlq = td_test_unique("check.dlq"), *offsets = td_test_unique("check.offsets");
    char path[4096], text[8192], want[512];

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof(path), "%s/in", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/c.yaml", dir);
    snprintf(text, sizeof(text),
             "instance: check\ndataset: medical_insurance\nschemas_dir: %s/schemas\n"
             "kafka:\n  bootstrap.servers: %s\n"
             "source:\n  spooldir:\n    input_dir: in\n"
             "topics:\n  records: %s\n  dlq: %s\n  offsets: %s\n  create: %s\n",
             td_test_source_root(), bootstrap, records, dlq, offsets, "true");
    CU_ASSERT_EQUAL_FATAL(td_test_write_file(path, text), 0);
    /* missing topics the connector would create: fine, and none is made */
    CU_ASSERT_EQUAL(run_check("connectors/tuodi-connector", path), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "; the brokers answer, the topics exist or will be "
                                       "created)"));
    CU_ASSERT_FALSE(topic_exists(records));
    CU_ASSERT_FALSE(topic_exists(offsets));
    /* ... but with create: false they are problems, each at its key */
    text[strlen(text) - strlen("true\n")] = '\0';
    strcat(text, "false\n");
    CU_ASSERT_EQUAL_FATAL(td_test_write_file(path, text), 0);
    CU_ASSERT_EQUAL(run_check("connectors/tuodi-connector", path), 2);
    snprintf(want, sizeof(want), "c.yaml:10:3: topics.records: topic %s does not exist", records);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
    snprintf(want, sizeof(want), "c.yaml:12:3: topics.offsets: topic %s does not exist", offsets);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
    /* once they exist, ok */
    create_topics((const char *const[]){records, dlq, offsets}, 3);
    CU_ASSERT_EQUAL(run_check("connectors/tuodi-connector", path), 0);
    if (!strstr(out, ": ok ("))
        fprintf(stderr, "\n    output:\n%s", out);
    td_test_rmtree(dir);
    free(dir);
    free(records);
    free(dlq);
    free(offsets);
}

static void test_unreachable(void)
{
    char *dir = td_test_tmpdir(), path[4096], text[4096];
    int64_t t0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof(path), "%s/in", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/c.yaml", dir);
    snprintf(text, sizeof(text),
             "instance: check\ndataset: medical_insurance\nschemas_dir: %s/schemas\n"
             "kafka:\n  bootstrap.servers: 127.0.0.1:1\n"
             "source:\n  spooldir:\n    input_dir: in\n",
             td_test_source_root());
    CU_ASSERT_EQUAL_FATAL(td_test_write_file(path, text), 0);
    t0 = td_time_mono_ms();
    CU_ASSERT_EQUAL(run_check("connectors/tuodi-connector", path), 2);
    CU_ASSERT(td_time_mono_ms() - t0 < 20000);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "c.yaml:5:3: kafka.bootstrap.servers: no broker of "
                                       "bootstrap.servers 127.0.0.1:1 answered within"));
    td_test_rmtree(dir);
    free(dir);
}

static void test_matchd(void)
{
    char *dir = td_test_tmpdir(), path[4096], text[8192], want[512];
    char *t[4];

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    for (int i = 0; i < 4; i++)
        t[i] = td_test_unique("check.in");
    snprintf(path, sizeof(path), "%s/m.yaml", dir);
    snprintf(text, sizeof(text),
             "kafka:\n  bootstrap.servers: %s\n"
             "rules: %s/deploy/rules/huainan-2023.yaml\nschemas_dir: %s/schemas\n"
             "state_dir: state\n"
             "topics:\n  roster: %s\n  medical_insurance: %s\n  civil_affairs: %s\n"
             "  human_resources: %s\n  verifications_prefix: check.none.\n",
             bootstrap, td_test_source_root(), td_test_source_root(), t[0], t[1], t[2], t[3]);
    CU_ASSERT_EQUAL_FATAL(td_test_write_file(path, text), 0);
    CU_ASSERT_EQUAL(run_check("daemon/tuodi-matchd", path), 2);
    snprintf(want, sizeof(want), "m.yaml:7:3: topics.roster: topic %s does not exist", t[0]);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
    snprintf(want, sizeof(want), "m.yaml:10:3: topics.human_resources: topic %s does not exist",
             t[3]);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
    /* the counties' verification topics are read as they come: none needed */
    CU_ASSERT_PTR_NULL(strstr(out, "verifications"));
    CU_ASSERT_FALSE(topic_exists(t[0]));
    create_topics((const char *const *)t, 4);
    CU_ASSERT_EQUAL(run_check("daemon/tuodi-matchd", path), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "; the brokers answer, the input topics exist)"));
    if (!strstr(out, ": ok ("))
        fprintf(stderr, "\n    output:\n%s", out);
    for (int i = 0; i < 4; i++)
        free(t[i]);
    td_test_rmtree(dir);
    free(dir);
}

static int init(void)
{
    bootstrap = td_test_bootstrap();
    return 0;
}

static void add_suites(void)
{
    td_test_suite("check_connect", init, NULL);
    TD_TEST(test_connector);
    TD_TEST(test_unreachable);
    TD_TEST(test_matchd);
}

TD_TEST_MAIN(add_suites)
