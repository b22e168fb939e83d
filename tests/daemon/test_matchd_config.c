/* tdm_config: tuodi-matchd's configuration table. The shipped example loads,
 * defaults are what the docs say (the clock topic follows the group), bad
 * files are refused with file:line:col, and docs/configuration.md holds the
 * generated reference. */
#include "tdm_config.h"
#include "tdm_store.h"
#include "td_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char *write_tmp(const char *dir, const char *name, const char *text)
{
    char *p = NULL;
    FILE *f;
    CU_ASSERT_FATAL(asprintf(&p, "%s/%s", dir, name) > 0);
    f = fopen(p, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static void test_shipped_example(void)
{
    tdm_config cfg;
    td_error err = {0};
    char *p = NULL;
    int r;

    CU_ASSERT_FATAL(asprintf(&p, "%s/deploy/matchd.yaml", td_test_source_root()) > 0);
    memset(&cfg, 0, sizeof(cfg));
    r = tdm_config_load(p, &cfg, &err);
    if (r < 0)
        printf("\n%s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(r, 0);
    CU_ASSERT_STRING_EQUAL(cfg.group_id, "tuodi-matchd");
    CU_ASSERT_STRING_EQUAL(cfg.topics.clock, "tuodi.matchd.tuodi-matchd.clock");
    CU_ASSERT_EQUAL(cfg.clock.tick_interval_ms, 60000);
    CU_ASSERT_EQUAL(cfg.clock.lateness_ms, 365LL * 86400000);
    CU_ASSERT_EQUAL(cfg.clock.max_idle_ms, 5000);
    CU_ASSERT_EQUAL(cfg.transaction.max_records, 10000);
    /* the table's defaults are the store's */
    CU_ASSERT_EQUAL(cfg.store.map_size, (int64_t)TDM_STORE_DEFAULT_MAP_SIZE);
    CU_ASSERT_EQUAL(cfg.store.max_map_size, (int64_t)TDM_STORE_DEFAULT_MAX_MAP_SIZE);
    /* the endpoint on for localhost (docs/monitoring.md) */
    CU_ASSERT_STRING_EQUAL(cfg.http.listen, "127.0.0.1:9464");
    tdm_config_free(&cfg);
    free(p);
}

static void test_store_keys(void)
{
    char *dir = td_test_tmpdir();
    tdm_config cfg;
    td_error err = {0};
    char *p = write_tmp(dir, "m.yaml",
                        "kafka: {bootstrap.servers: 'localhost:9092'}\n"
                        "rules: r.yaml\n"
                        "store: {map_size: 64GiB, max_map_size: 2TiB}\n");
    memset(&cfg, 0, sizeof(cfg));
    CU_ASSERT_EQUAL_FATAL(tdm_config_load(p, &cfg, &err), 0);
    CU_ASSERT_EQUAL(cfg.store.map_size, (int64_t)64 << 30);
    CU_ASSERT_EQUAL(cfg.store.max_map_size, (int64_t)2 << 40);
    tdm_config_free(&cfg);
    free(p);

    p = write_tmp(dir, "below.yaml",
                  "kafka: {bootstrap.servers: 'localhost:9092'}\n"
                  "rules: r.yaml\n"
                  "store: {map_size: 64GiB, max_map_size: 16GiB}\n");
    memset(&cfg, 0, sizeof(cfg));
    CU_ASSERT_EQUAL(tdm_config_load(p, &cfg, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "store.max_map_size is below store.map_size"));
    free(p);

    p = write_tmp(dir, "small.yaml",
                  "kafka: {bootstrap.servers: 'localhost:9092'}\n"
                  "rules: r.yaml\n"
                  "store:\n  map_size: 4096\n");
    memset(&cfg, 0, sizeof(cfg));
    CU_ASSERT_EQUAL(tdm_config_load(p, &cfg, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "small.yaml:4:"));
    free(p);
    td_test_rmtree(dir);
    free(dir);
}

static void test_clock_keys(void)
{
    char *dir = td_test_tmpdir();
    tdm_config cfg;
    td_error err = {0};
    char *p = write_tmp(dir, "m.yaml",
                        "kafka: {bootstrap.servers: 'localhost:9092'}\n"
                        "group_id: g1\nrules: r.yaml\n"
                        "topics: {clock: my.clock}\n"
                        "clock: {tick_interval: 0, lateness: 30d, max_idle: 250ms}\n");
    memset(&cfg, 0, sizeof(cfg));
    CU_ASSERT_EQUAL_FATAL(tdm_config_load(p, &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.topics.clock, "my.clock");
    CU_ASSERT_EQUAL(cfg.clock.tick_interval_ms, 0);
    CU_ASSERT_EQUAL(cfg.clock.lateness_ms, 30LL * 86400000);
    CU_ASSERT_EQUAL(cfg.clock.max_idle_ms, 250);
    tdm_config_free(&cfg);
    free(p);

    /* lateness below a day: refused where it stands */
    p = write_tmp(dir, "bad.yaml",
                  "kafka: {bootstrap.servers: 'localhost:9092'}\n"
                  "rules: r.yaml\n"
                  "clock:\n  lateness: 1h\n  tick: 5s\n");
    memset(&cfg, 0, sizeof(cfg));
    CU_ASSERT_EQUAL(tdm_config_load(p, &cfg, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "bad.yaml:4:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "bad.yaml:5:"));
    free(p);
    td_test_rmtree(dir);
    free(dir);
}

/* Outcomes per county: the prefix of their topics; the old single-topic
 * key and a prefix that is no topic name part are refused where they
 * stand. */
static void test_verifications_prefix(void)
{
    char *dir = td_test_tmpdir();
    tdm_config cfg;
    td_error err = {0};
    char *p = write_tmp(dir, "m.yaml",
                        "kafka: {bootstrap.servers: 'localhost:9092'}\n"
                        "rules: r.yaml\n"
                        "topics: {verifications_prefix: it.v.}\n");
    memset(&cfg, 0, sizeof(cfg));
    CU_ASSERT_EQUAL_FATAL(tdm_config_load(p, &cfg, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.topics.verifications_prefix, "it.v.");
    tdm_config_free(&cfg);
    free(p);

    p = write_tmp(dir, "old.yaml",
                  "kafka: {bootstrap.servers: 'localhost:9092'}\n"
                  "rules: r.yaml\n"
                  "topics:\n  verifications: tuodi.verifications\n");
    memset(&cfg, 0, sizeof(cfg));
    CU_ASSERT_EQUAL(tdm_config_load(p, &cfg, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "old.yaml:4:3: unknown key \"verifications\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "did you mean \"verifications_prefix\"?"));
    free(p);

    p = write_tmp(dir, "bad.yaml",
                  "kafka: {bootstrap.servers: 'localhost:9092'}\n"
                  "rules: r.yaml\n"
                  "topics:\n  verifications_prefix: \"a b(\"\n");
    memset(&cfg, 0, sizeof(cfg));
    CU_ASSERT_EQUAL(tdm_config_load(p, &cfg, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "bad.yaml:4:3: topics.verifications_prefix: use 1 "
                                           "to 100 letters"));
    free(p);

    /* group_id names the transactional.id: the same rule */
    p = write_tmp(dir, "g.yaml",
                  "kafka: {bootstrap.servers: 'localhost:9092'}\n"
                  "rules: r.yaml\n"
                  "group_id: huainan/1\n");
    memset(&cfg, 0, sizeof(cfg));
    CU_ASSERT_EQUAL(tdm_config_load(p, &cfg, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "g.yaml: group_id: use 1 to 100 letters, digits, "
                                           "'.', '_' or '-' (it names the transactional.id)"));
    free(p);
    td_test_rmtree(dir);
    free(dir);
}

/* --check-config (issue 11): as the unprivileged user when the tests run as
 * root. It checks state_dir, the schemas and the files Kafka's settings name,
 * not only the rules, lists every problem with the file:line:col of its key,
 * and creates nothing (a missing state_dir that could be made is fine). */
static int run_check(const char *config, char *out, size_t size)
{
    char cmd[8192];
    const char *b = getenv("TD_BUILD_ROOT");

    snprintf(cmd, sizeof(cmd), "%s/daemon/tuodi-matchd --config %s --check-config",
             b ? b : "build", config);
    return td_test_run_unprivileged(cmd, out, size);
}

static void test_check_config(void)
{
    char *dir = td_test_tmpdir(), *p, *before, *after, text[4096], out[16384], ro[4096];

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL(chmod(dir, 0777), 0); /* the unprivileged user makes state/ here */
    snprintf(ro, sizeof(ro), "%s/ro", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(ro, 0555), 0);
    CU_ASSERT_EQUAL(chmod(ro, 0555), 0);

    /* fine: state_dir missing but creatable; nothing is created; the
     * shipped holiday file */
    snprintf(text, sizeof(text),
             "kafka: {bootstrap.servers: 'localhost:9092'}\n"
             "rules: %s/deploy/rules/huainan-2023.yaml\n"
             "schemas_dir: %s/schemas\n"
             "state_dir: state/matchd\n"
             "calendar: %s/deploy/data/china-holidays.csv\n",
             td_test_source_root(), td_test_source_root(), td_test_source_root());
    p = write_tmp(dir, "ok.yaml", text);
    CU_ASSERT_EQUAL(chmod(p, 0644), 0);
    before = td_test_tree_listing(dir);
    CU_ASSERT_EQUAL(run_check(p, out, sizeof(out)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "ok.yaml: ok (group tuodi-matchd, "));
    after = td_test_tree_listing(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(before);
    CU_ASSERT_PTR_NOT_NULL_FATAL(after);
    CU_ASSERT_STRING_EQUAL(before, after);
    free(before);
    free(after);
    free(p);

    /* an http: section is checked, and its port is not opened: the test
     * holds it, and the check passes all the same */
    {
        struct sockaddr_in a = {0};
        socklen_t al = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        CU_ASSERT_FATAL(fd >= 0);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 1) == 0);
        CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
        snprintf(text, sizeof(text),
                 "kafka: {bootstrap.servers: 'localhost:9092'}\n"
                 "rules: %s/deploy/rules/huainan-2023.yaml\n"
                 "schemas_dir: %s/schemas\n"
                 "state_dir: state/matchd\n"
                 "http: {listen: '127.0.0.1:%d'}\n",
                 td_test_source_root(), td_test_source_root(), ntohs(a.sin_port));
        p = write_tmp(dir, "http.yaml", text);
        CU_ASSERT_EQUAL(chmod(p, 0644), 0);
        CU_ASSERT_EQUAL(run_check(p, out, sizeof(out)), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "http.yaml: ok (group tuodi-matchd, "));
        CU_ASSERT_PTR_NULL(strstr(out, "http:"));
        free(p);
        close(fd);
    }

    /* every problem, each where its key is */
    snprintf(text, sizeof(text),
             "kafka:\n"                                         /* 1 */
             "  bootstrap.servers: localhost:9092\n"            /* 2 */
             "  ssl.certificate.location: %s/cert.pem\n"        /* 3 */
             "rules: %s/deploy/rules/huainan-2023.yaml\n"       /* 4 */
             "schemas_dir: no-such-dir\n"                       /* 5 */
             "state_dir: ro/state\n"                            /* 6 */
             "calendar: holidays.csv\n",                        /* 7 */
             dir, td_test_source_root());
    p = write_tmp(dir, "bad.yaml", text);
    CU_ASSERT_EQUAL(chmod(p, 0644), 0);
    free(write_tmp(dir, "holidays.csv",
                   "# source 2025: 国务院办公厅关于2025年部分节假日安排的通知\n"
                   "date,kind,name\n2025-02-01,holiday,春节\n"));
    snprintf(ro, sizeof(ro), "%s/holidays.csv", dir);
    CU_ASSERT_EQUAL(chmod(ro, 0644), 0);
    free(write_tmp(dir, "cert.pem", "not a certificate\n"));
    snprintf(ro, sizeof(ro), "%s/cert.pem", dir);
    CU_ASSERT_EQUAL(chmod(ro, 0000), 0);
    before = td_test_tree_listing(dir);
    CU_ASSERT_EQUAL(run_check(p, out, sizeof(out)), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "bad.yaml:6:1: state_dir: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "/ro/state: missing, and "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "cannot create it: no write and search permission on "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "bad.yaml:5:1: schemas_dir: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "/no-such-dir: No such file or directory"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "bad.yaml:3:3: kafka.ssl.certificate.location: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "/cert.pem: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "has no read permission on it"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "/holidays.csv:3:1: 2025-02-01 is a Saturday: "));
    if (!strstr(out, "bad.yaml:6:1:"))
        fprintf(stderr, "\n    output:\n%s", out);
    after = td_test_tree_listing(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(before);
    CU_ASSERT_PTR_NOT_NULL_FATAL(after);
    CU_ASSERT_STRING_EQUAL(before, after);
    free(before);
    free(after);
    free(p);
    td_test_rmtree(dir);
    free(dir);
}

/* docs/configuration.md holds the reference between "<!-- BEGIN reference
 * matchd.yaml -->" and its END line, with the paths of a build with prefix
 * /usr (TD_UPDATE_REFERENCE=1 rewrites it). */
static void test_reference_in_docs(void)
{
    const char *usr = "/usr/share/tuodi/schemas", *built = NULL, *cal = NULL;
    char *ref = NULL;
    size_t rl = 0;
    FILE *f = open_memstream(&ref, &rl);

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(td_config_write_reference(tdm_config_table, f), 0);
    fclose(f);
    for (const td_cfg_entry *e = tdm_config_table; e->key; e++)
        if (strcmp(e->key, "schemas_dir") == 0)
            built = e->def;
        else if (strcmp(e->key, "calendar") == 0)
            cal = e->def;
    CU_ASSERT_PTR_NOT_NULL_FATAL(built);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cal);
    ref = td_test_replace(ref, built, usr);
    ref = td_test_replace(ref, cal, "/usr/share/tuodi/china-holidays.csv");
    CU_ASSERT(td_test_reference_block("docs/configuration.md", "matchd.yaml", ref));
    free(ref);
}

static void add_suites(void)
{
    td_test_suite("matchd_config", NULL, NULL);
    TD_TEST(test_shipped_example);
    TD_TEST(test_clock_keys);
    TD_TEST(test_store_keys);
    TD_TEST(test_verifications_prefix);
    TD_TEST(test_check_config);
    TD_TEST(test_reference_in_docs);
}

TD_TEST_MAIN(add_suites)
