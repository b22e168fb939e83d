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

static void test_reference_in_docs(void)
{
    char *ref = NULL, *p = NULL, *doc;
    size_t rl = 0;
    FILE *f = open_memstream(&ref, &rl);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(td_config_write_reference(tdm_config_table, f), 0);
    fclose(f);
    CU_ASSERT_FATAL(asprintf(&p, "%s/docs/configuration.md", td_test_source_root()) > 0);
    doc = td_test_read_file(p, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    if (!strstr(doc, ref))
        printf("\n    docs/configuration.md does not hold tuodi-matchd's reference; "
               "regenerate it:\n%s\n", ref);
    CU_ASSERT_PTR_NOT_NULL(strstr(doc, ref));
    free(doc);
    free(p);
    free(ref);
}

static void add_suites(void)
{
    td_test_suite("matchd_config", NULL, NULL);
    TD_TEST(test_shipped_example);
    TD_TEST(test_clock_keys);
    TD_TEST(test_store_keys);
    TD_TEST(test_reference_in_docs);
}

TD_TEST_MAIN(add_suites)
