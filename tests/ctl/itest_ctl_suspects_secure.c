/* The suspicious-data list on the secure bus: a broker of its own (dev-broker
 * --secure: TLS, SASL users, no access without an ACL) whose ACLs are the
 * shipped policy deploy/acls.yaml (tuodictl acls apply as admin). Suspect
 * messages are written as admin, as tuodi-matchd (its user) would. Then:
 *   - county-340421 lists its own county's suspects, and is refused (exit
 *     1, one line naming the user, the operation and the topic) another
 *     county's;
 *   - county-340421 records "department data wrong" for its own suspect
 *     on its own verification topic (read back as admin), and is refused
 *     writing 340422's;
 *   - the bureau lists any county's suspects.
 *
 *   itest_ctl_suspects_secure
 */
#include "suspect_it.h"
#include "td_test.h"
#include "tdsec_it.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "ss"
#define S1 "sus-11111111aaaaaaaaaaaaaaaaaaaaaaaa"
#define S2 "sus-22222222aaaaaaaaaaaaaaaaaaaaaaaa"

static char admin_cfg[4200];
static td_avro_registry *reg;

static int setup(void)
{
    char dir[4096];
    const char *c;
    td_error err = {0};
    snprintf(dir, sizeof(dir), "%s/schemas", td_test_source_root());
    if (td_avro_registry_new(&reg) < 0 || td_avro_registry_load_dir(reg, dir, NULL, &err) < 0)
        return 1;
    if (tdsec_it_start("itest-ctl-suspects", PREFIX) < 0)
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
    td_avro_registry_free(reg);
    return 0;
}

/* Whether the file at path holds text (without a word when not). */
static bool has(const char *path, const char *text)
{
    char *t = td_test_read_file(path, NULL);
    bool r = t && strstr(t, text);
    free(t);
    return r;
}

static const char *logpath(const char *name)
{
    static char path[4][4200];
    static int i;
    i = (i + 1) % 4;
    snprintf(path[i], sizeof(path[i]), "%s/%s.log", tdsec_tmp, name);
    return path[i];
}

/* The topics and the shipped policy as admin; a suspect in each of 340421
 * and 340422, written as admin. */
static void test_setup_bus(void)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_error err = {0};
    int64_t ms;

    CU_ASSERT_EQUAL_FATAL(tdsec_it_ctl(admin_cfg, logpath("topics"), &ms, "topics", "create",
                                       NULL),
                          0);
    CU_ASSERT_EQUAL_FATAL(tdsec_it_ctl(admin_cfg, logpath("apply"), &ms, "acls", "apply", NULL),
                          0);
    tdsec_it_admin_props(&props);
    CU_ASSERT_FATAL(td_kafka_producer_conf_new(NULL, NULL, &props, &conf, &err) == 0);
    CU_ASSERT_FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) == 0);
    suspect_it_produce(reg, rk, PREFIX ".suspects.340421", S1, "RAISED", "340421100001", "H-1",
                       "张三", "李四", "death-still-listed", "已登记死亡人员仍在册", "在册",
                       "2023-12-01 登记死亡", "2024-01-05T02:00:00Z", "2024-02-02", NULL);
    suspect_it_produce(reg, rk, PREFIX ".suspects.340422", S2, "RAISED", "340422100001", "H-2",
                       "王五", "王五", "death-still-listed", "已登记死亡人员仍在册", "在册",
                       "2023-12-01 登记死亡", "2024-01-05T02:00:00Z", "2024-02-02", NULL);
    CU_ASSERT_FATAL(rd_kafka_flush(rk, 30000) == 0);
    td_kafka_destroy(rk);
    td_kafka_props_clear(&props);
}

static void test_county_list(void)
{
    const char *cfg = tdsec_it_ctl_config("county", "county-340421", NULL);
    const char *log = logpath("county-own");
    int64_t ms;

    CU_ASSERT_EQUAL(tdsec_it_ctl(cfg, log, &ms, "suspects", "--county", "340421", "--format",
                                 "csv", NULL),
                    0);
    CU_ASSERT(tdsec_it_log_has(log, "1,城关镇,中山社区居委会,H-1,张三,李四,已登记死亡人员仍在册"));
    CU_ASSERT(tdsec_it_log_has(log, S1));
    log = logpath("county-other");
    CU_ASSERT_EQUAL(tdsec_it_ctl(cfg, log, &ms, "suspects", "--county", "340422", NULL), 1);
    CU_ASSERT(tdsec_it_log_has(log, "user \"county-340421\" may not Describe topic "
                                    PREFIX ".suspects.340422"));
    CU_ASSERT(!has(log, S2));
}

static void test_county_verify(void)
{
    const char *cfg = tdsec_it_ctl_config("county-v", "county-340421", NULL);
    const char *log = logpath("verify-own");
    int64_t ms;

    CU_ASSERT_EQUAL(tdsec_it_ctl(cfg, log, &ms, "verify", "sus-11111111", "--county", "340421",
                                 "--outcome", "department-data-wrong", "--reason", "民政登记有误",
                                 "--verifier", "王五", "--reviewer", "赵六", NULL),
                    0);
    CU_ASSERT(tdsec_it_log_has(log, "recorded " PREFIX ".verifications.340421"));
    CU_ASSERT(tdsec_it_log_has(log, "  suspect    " S1 "\n"));
    CU_ASSERT_EQUAL(tdsec_it_count_as_admin(PREFIX ".verifications.340421", 1), 1);
    /* another county's suspect: its topic may not be written */
    log = logpath("verify-other");
    CU_ASSERT_EQUAL(tdsec_it_ctl(cfg, log, &ms, "verify", S2, "--county", "340422", "--outcome",
                                 "department-data-wrong", "--reason", "民政登记有误",
                                 "--verifier", "王五", "--reviewer", "赵六", NULL),
                    1);
    CU_ASSERT(tdsec_it_log_has(log, "user \"county-340421\" may not Write topic "
                                    PREFIX ".verifications.340422"));
    CU_ASSERT_EQUAL(tdsec_it_count_as_admin(PREFIX ".verifications.340422", 1), 0);
}

static void test_bureau_list(void)
{
    const char *cfg = tdsec_it_ctl_config("bureau", "bureau", NULL);
    const char *log = logpath("bureau");
    int64_t ms;

    CU_ASSERT_EQUAL(tdsec_it_ctl(cfg, log, &ms, "suspects", "--county", "340422", "--format",
                                 "json", NULL),
                    0);
    CU_ASSERT(tdsec_it_log_has(log, "\"suspect_id\":\"" S2 "\""));
    CU_ASSERT(!has(log, SUSPECT_IT_PKEY));
}

static void add(void)
{
    td_test_suite("suspects_secure", setup, teardown);
    TD_TEST(test_setup_bus);
    TD_TEST(test_county_list);
    TD_TEST(test_county_verify);
    TD_TEST(test_bureau_list);
}

TD_TEST_MAIN(add)
