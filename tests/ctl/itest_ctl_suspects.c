/* tuodictl and the suspicious-data list (疑点数据清单) against the real broker
 * (KAFKA_BOOTSTRAP), under a topic prefix of its own. Suspect messages are
 * written here as tuodi-matchd writes them (JSON -> Avro with the registry,
 * in a Kafka transaction; one more in an aborted transaction), for two
 * townships of 凤台县, with roster households beside them:
 *  - suspects: the exact open list (json lines), one township's whole list
 *    as the csv file for Excel (byte for byte), the table for people; never
 *    a person key;
 *  - report --quality --quarter 2024Q1: the exact rows (csv);
 *  - verify: department-data-wrong on an open suspect (by its shortened id)
 *    goes to the county's verification topic keyed by the whole id; other
 *    outcomes, resolved and closed suspects are refused.
 */
#include "td_kafka.h"
#include "td_test.h"
#include "suspect_it.h"
#include "tdt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define C1 "340421"
#define V1 "340421100001" /* 城关镇 中山社区居委会 */
#define V1B "340421100002" /* 城关镇 人民社区居委会 */
#define V2 "340421102200" /* 新集镇 郭郢村村委会 */
#define V3 "340422100001" /* 寿县 寿春镇 南关社区居委会 */
#define PKEY SUSPECT_IT_PKEY

/* suspect ids: "sus-" and 32 hex, the first 12 characters distinct */
#define S1 "sus-11111111aaaaaaaaaaaaaaaaaaaaaaaa"
#define S2 "sus-22222222aaaaaaaaaaaaaaaaaaaaaaaa"
#define S3 "sus-33333333aaaaaaaaaaaaaaaaaaaaaaaa"
#define S4 "sus-44444444aaaaaaaaaaaaaaaaaaaaaaaa"
#define S5 "sus-55555555aaaaaaaaaaaaaaaaaaaaaaaa"
#define S6 "sus-66666666aaaaaaaaaaaaaaaaaaaaaaaa"
#define S7 "sus-77777777aaaaaaaaaaaaaaaaaaaaaaaa" /* aborted */
#define S8 "sus-88888888aaaaaaaaaaaaaaaaaaaaaaaa"
#define S9 "sus-99999999aaaaaaaaaaaaaaaaaaaaaaaa" /* unrouted */

static const char *bootstrap;
static char *tmp;
static td_avro_registry *reg;
static char *prefix;
static char cfg[4096];

static int setup(void)
{
    char dir[4096];
    td_error err = {0};
    bootstrap = td_test_bootstrap();
    tmp = td_test_tmpdir();
    snprintf(dir, sizeof(dir), "%s/schemas", td_test_source_root());
    if (td_avro_registry_new(&reg) < 0 || td_avro_registry_load_dir(reg, dir, NULL, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    return 0;
}

static int teardown(void)
{
    td_test_rmtree(tmp);
    free(tmp);
    free(prefix);
    td_avro_registry_free(reg);
    return 0;
}

static void write_config(void)
{
    char text[8192];
    snprintf(cfg, sizeof(cfg), "%s/%s.yaml", tmp, prefix);
    snprintf(text, sizeof(text),
             "kafka:\n  bootstrap.servers: %s\n"
             "schemas_dir: %s/schemas\n"
             "places: %s/deploy/data/huainan-divisions.csv\n"
             "topics_file: %s/deploy/topics.yaml\n"
             "topic_prefix: %s\n"
             "replication_factor: 1\n"
             "timeout: 30s\n",
             bootstrap, td_test_source_root(), td_test_source_root(), td_test_source_root(),
             prefix);
    CU_ASSERT_FATAL(td_test_write_file(cfg, text) == 0);
}

static int run(const char *const *args, char **out, char **errs)
{
    char *ob = NULL, *eb = NULL;
    size_t ol = 0, el = 0;
    FILE *of = open_memstream(&ob, &ol), *ef = open_memstream(&eb, &el);
    int argc = 0, r;
    char *argv[40];
    while (args[argc] && argc < 39) {
        argv[argc] = (char *)args[argc];
        argc++;
    }
    argv[argc] = NULL;
    r = tdt_main(argc, argv, of, ef);
    fclose(of);
    fclose(ef);
    if (r != 0)
        fprintf(stderr, "tuodictl exit %d:\n%s%s", r, ob, eb);
    *out = ob;
    *errs = eb;
    return r;
}

static rd_kafka_t *producer(const char *txn_id)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_error err = {0};
    CU_ASSERT_FATAL(td_kafka_producer_conf_new(bootstrap, txn_id, &props, &conf, &err) == 0);
    CU_ASSERT_FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) == 0);
    return rk;
}

/* suspect_it_produce with this file's registry */
static void suspect(rd_kafka_t *rk, const char *topic, const char *id, const char *kind,
                    const char *village, const char *hh, const char *head, const char *person,
                    const char *indicator, const char *name, const char *roster,
                    const char *dept, const char *raised, const char *due, const char *ended)
{
    suspect_it_produce(reg, rk, topic, id, kind, village, hh, head, person, indicator, name,
                       roster, dept, raised, due, ended);
}

/* A roster household with n members (the person keys are made up). */
static void household(rd_kafka_t *rk, const char *topic, const char *hid, const char *village,
                      int n)
{
    char json[8192], members[6144] = "";
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(members + len, sizeof(members) - len,
                                "%s{\"person_key\":\"P-%s-%d\",\"name\":\"成员%d\","
                                "\"relation\":\"%s\",\"birth_date\":\"1980-01-01\","
                                "\"labour_capacity\":\"NORMAL\",\"disability_grade\":null,"
                                "\"in_school\":null}",
                                i ? "," : "", hid, i, i, i ? "OTHER" : "HEAD");
    snprintf(json, sizeof(json),
             "{\"household_id\":\"%s\",\"village_code\":\"%s\",\"grid_id\":\"G-1\","
             "\"household_type\":\"POVERTY_ALLEVIATED\","
             "\"monitoring\":{\"state\":\"NOT_MONITORED\",\"category\":null,"
             "\"identified_date\":null,\"risk_eliminated_date\":null,"
             "\"risk_elimination_method\":null},\"members\":[%s],\"household_size\":%d,"
             "\"income\":null,\"risks\":[],\"updated_at\":\"2024-01-31T10:00:00Z\","
             "\"source\":{\"department\":\"RURAL_REVITALIZATION\",\"connector_instance\":"
             "\"roster\",\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             hid, village, members, n, hid);
    suspect_it_produce_json(reg, rk, topic, hid, "cn.tuodi.Household", json);
}

static void fill(void)
{
    const char *create[] = {"tuodictl", "--config", cfg, "topics", "create", NULL};
    char ts[256], ts2[256], tun[256], tro[256], txn[256], *o, *e;
    td_kafka_topic_spec specs[3];
    rd_kafka_t *rk;
    td_error err = {0};

    prefix = td_test_unique("ctl-suspects");
    write_config();
    CU_ASSERT_FATAL(run(create, &o, &e) == TDT_EXIT_OK);
    free(o);
    free(e);
    snprintf(ts, sizeof(ts), "%s.suspects.340421", prefix);
    snprintf(ts2, sizeof(ts2), "%s.suspects.340422", prefix);
    snprintf(tun, sizeof(tun), "%s.suspects.unrouted", prefix);
    snprintf(tro, sizeof(tro), "%s.roster.households", prefix);
    snprintf(txn, sizeof(txn), "%s-txn", prefix);
    /* the suspect topics, as deploy/topics.yaml has them (3 partitions) */
    rk = producer(NULL);
    specs[0] = (td_kafka_topic_spec){ts, 3, 1, NULL};
    specs[1] = (td_kafka_topic_spec){ts2, 3, 1, NULL};
    specs[2] = (td_kafka_topic_spec){tun, 3, 1, NULL};
    CU_ASSERT_FATAL(td_kafka_topics_ensure(rk, specs, 3, 30000, &err) == 0);
    td_kafka_destroy(rk);

    rk = producer(txn);
    CU_ASSERT_FATAL(td_kafka_txn_init(rk, 30000, &err) == 0);
    CU_ASSERT_FATAL(td_kafka_txn_begin(rk, &err) == 0);
    /* 城关镇: two open ones, S1 past its due date */
    suspect(rk, ts, S1, "RAISED", V1, "H-1", "张三", "李四", "death-still-listed",
            "已登记死亡人员仍在册", "在册", "2023-12-01 登记死亡", "2024-01-05T02:00:00Z",
            "2024-02-02", NULL);
    suspect(rk, ts, S2, "RAISED", V1B, "H-2", "赵六", "赵小六", "disability-grade",
            "残疾等级不一致", "残疾等级=无", "残疾等级=二级", "2024-02-20T02:00:00Z",
            "2024-03-19", NULL);
    /* 新集镇: resolved in time, resolved late, closed, open, open after Q1 */
    suspect(rk, ts, S3, "RAISED", V2, "H-3", "王五", "王小五", "dibao-not-recorded",
            "享受低保未标注", "未享受低保", "低保 2023-12-01 批准", "2024-01-10T02:00:00Z",
            "2024-02-05", NULL);
    suspect(rk, ts, S3, "RESOLVED", V2, "H-3", "王五", "王小五", "dibao-not-recorded",
            "享受低保未标注", "未享受低保", "低保 2023-12-01 批准", "2024-01-10T02:00:00Z",
            "2024-02-05", "2024-02-05T15:59:59Z"); /* 23:59:59 China time on the due day */
    suspect(rk, ts, S4, "RAISED", V2, "H-4", "孙七", "孙七", "welfare-job",
            "公益性岗位未标注", "无公益性岗位", "公益性岗位 2023-11-01 上岗",
            "2024-01-15T02:00:00Z", "2024-02-20", NULL);
    suspect(rk, ts, S4, "RESOLVED", V2, "H-4", "孙七", "孙七", "welfare-job",
            "公益性岗位未标注", "无公益性岗位", "公益性岗位 2023-11-01 上岗",
            "2024-01-15T02:00:00Z", "2024-02-20", "2024-02-20T16:00:00Z"); /* 02-21 China */
    suspect(rk, ts, S5, "RAISED", V2, "H-3", "王五", "王五", "death-still-listed",
            "已登记死亡人员仍在册", "在册", "2024-01-02 登记死亡", "2024-01-20T02:00:00Z",
            "2024-02-18", NULL);
    suspect(rk, ts, S5, "CLOSED", V2, "H-3", "王五", "王五", "death-still-listed",
            "已登记死亡人员仍在册", "在册", "2024-01-02 登记死亡", "2024-01-20T02:00:00Z",
            "2024-02-18", "2024-02-10T02:00:00Z");
    suspect(rk, ts, S6, "RAISED", V2, "H-3", "王五", NULL, "income-below-transfers",
            "收入低于转移性收入", "年收入=1000元", "转移性收入=3600元", "2024-03-05T02:00:00Z",
            "2024-04-02", NULL);
    suspect(rk, ts, S8, "RAISED", V2, "H-4", "孙七", "孙七", "disability-grade",
            "残疾等级不一致", "残疾等级=无", "残疾等级=一级", "2024-03-31T16:00:00Z",
            "2024-04-29", NULL); /* 04-01 China time: the second quarter */
    suspect(rk, tun, S9, "RAISED", "", "H-0", "周八", "周八", "duplicate-person",
            "一人多户", "在册两户", "-", "2024-02-01T02:00:00Z", "2024-02-29", NULL);
    CU_ASSERT_FATAL(td_kafka_txn_commit(rk, 30000, &err) == 0);
    CU_ASSERT_FATAL(td_kafka_txn_begin(rk, &err) == 0);
    suspect(rk, ts, S7, "RAISED", V1, "H-1", "张三", "李四", "death-still-listed",
            "已登记死亡人员仍在册", "在册", "2023-12-01 登记死亡", "2024-01-06T02:00:00Z",
            "2024-02-03", NULL);
    CU_ASSERT_FATAL(rd_kafka_flush(rk, 30000) == 0);
    CU_ASSERT_FATAL(td_kafka_txn_abort(rk, 30000, &err) == 0);
    td_kafka_destroy(rk);

    /* the roster: 城关镇 3 + 2 persons, 新集镇 5 + 2, 寿县 2 */
    rk = producer(NULL);
    household(rk, tro, "H-1", V1, 3);
    household(rk, tro, "H-2", V1B, 2);
    household(rk, tro, "H-X", V1B, 4);
    suspect_it_produce_raw(rk, tro, "H-X", NULL, 0); /* removed: its 4 persons do not count */
    household(rk, tro, "H-3", V2, 5);
    household(rk, tro, "H-4", V2, 1);
    household(rk, tro, "H-4", V2, 2); /* the latest export wins */
    household(rk, tro, "H-9", V3, 2);
    CU_ASSERT_FATAL(rd_kafka_flush(rk, 30000) == 0);
    td_kafka_destroy(rk);
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_suspects_list(void)
{
    char *o, *e;
    fill();
    {
        /* the open list, for machines: every line exactly */
        const char *a[] = {"tuodictl", "--config", cfg, "suspects", "--county", C1, "--today",
                           "2024-03-10", "--format", "json", NULL};
        const char *want =
            "{\"seq\":1,\"suspect_id\":\"" S1 "\",\"county_code\":\"340421\","
            "\"township_code\":\"340421100\",\"township\":\"城关镇\",\"village_code\":\"" V1
            "\",\"village\":\"中山社区居委会\",\"household_id\":\"H-1\",\"head_name\":\"张三\","
            "\"person_name\":\"李四\",\"indicator_id\":\"death-still-listed\","
            "\"indicator_name\":\"已登记死亡人员仍在册\",\"roster_value\":\"在册\","
            "\"department_value\":\"2023-12-01 登记死亡\",\"fix_hint\":\"请核实后整改\","
            "\"raised_date\":\"2024-01-05\",\"fix_due_date\":\"2024-02-02\","
            "\"state\":\"overdue\",\"resolved_date\":null,\"outcome\":null,\"reason\":null}\n"
            "{\"seq\":2,\"suspect_id\":\"" S2 "\",\"county_code\":\"340421\","
            "\"township_code\":\"340421100\",\"township\":\"城关镇\",\"village_code\":\"" V1B
            "\",\"village\":\"人民社区居委会\",\"household_id\":\"H-2\",\"head_name\":\"赵六\","
            "\"person_name\":\"赵小六\",\"indicator_id\":\"disability-grade\","
            "\"indicator_name\":\"残疾等级不一致\",\"roster_value\":\"残疾等级=无\","
            "\"department_value\":\"残疾等级=二级\",\"fix_hint\":\"请核实后整改\","
            "\"raised_date\":\"2024-02-20\",\"fix_due_date\":\"2024-03-19\","
            "\"state\":\"open\",\"resolved_date\":null,\"outcome\":null,\"reason\":null}\n"
            "{\"seq\":3,\"suspect_id\":\"" S6 "\",\"county_code\":\"340421\","
            "\"township_code\":\"340421102\",\"township\":\"新集镇\",\"village_code\":\"" V2
            "\",\"village\":\"郭郢村村委会\",\"household_id\":\"H-3\",\"head_name\":\"王五\","
            "\"person_name\":null,\"indicator_id\":\"income-below-transfers\","
            "\"indicator_name\":\"收入低于转移性收入\",\"roster_value\":\"年收入=1000元\","
            "\"department_value\":\"转移性收入=3600元\",\"fix_hint\":\"请核实后整改\","
            "\"raised_date\":\"2024-03-05\",\"fix_due_date\":\"2024-04-02\","
            "\"state\":\"open\",\"resolved_date\":null,\"outcome\":null,\"reason\":null}\n"
            "{\"seq\":4,\"suspect_id\":\"" S8 "\",\"county_code\":\"340421\","
            "\"township_code\":\"340421102\",\"township\":\"新集镇\",\"village_code\":\"" V2
            "\",\"village\":\"郭郢村村委会\",\"household_id\":\"H-4\",\"head_name\":\"孙七\","
            "\"person_name\":\"孙七\",\"indicator_id\":\"disability-grade\","
            "\"indicator_name\":\"残疾等级不一致\",\"roster_value\":\"残疾等级=无\","
            "\"department_value\":\"残疾等级=一级\",\"fix_hint\":\"请核实后整改\","
            "\"raised_date\":\"2024-04-01\",\"fix_due_date\":\"2024-04-29\","
            "\"state\":\"open\",\"resolved_date\":null,\"outcome\":null,\"reason\":null}\n";
        CU_ASSERT_FATAL(run(a, &o, &e) == TDT_EXIT_OK);
        CU_ASSERT_STRING_EQUAL(o, want);
        if (strcmp(o, want) != 0)
            fprintf(stderr, "got:\n%s\nwant:\n%s\n", o, want);
        CU_ASSERT_STRING_EQUAL(e, "");
        CU_ASSERT_PTR_NULL(strstr(o, PKEY));
        free(o);
        free(e);
    }
    {
        /* one township's whole list as the file for Excel, byte for byte */
        const char *a[] = {"tuodictl", "--config", cfg, "suspects", "--county", C1,
                           "--township", "340421102", "--state", "all", "--today",
                           "2024-03-10", "--format", "csv", NULL};
        const char *want =
            "\xEF\xBB\xBF"
            "序号,乡镇,村,户编号,户主,成员姓名,疑点指标,名册值,部门数据,整改提示,发现日期,"
            "整改期限,状态,疑点编号\r\n"
            "1,新集镇,郭郢村村委会,H-3,王五,-,收入低于转移性收入,年收入=1000元,"
            "转移性收入=3600元,请核实后整改,2024-03-05,2024-04-02,待整改," S6 "\r\n"
            "2,新集镇,郭郢村村委会,H-3,王五,王五,已登记死亡人员仍在册,在册,"
            "2024-01-02 登记死亡,请核实后整改,2024-01-20,2024-02-18,部门数据有误," S5 "\r\n"
            "3,新集镇,郭郢村村委会,H-3,王五,王小五,享受低保未标注,未享受低保,"
            "低保 2023-12-01 批准,请核实后整改,2024-01-10,2024-02-05,整改到位," S3 "\r\n"
            "4,新集镇,郭郢村村委会,H-4,孙七,孙七,公益性岗位未标注,无公益性岗位,"
            "公益性岗位 2023-11-01 上岗,请核实后整改,2024-01-15,2024-02-20,整改到位," S4 "\r\n"
            "5,新集镇,郭郢村村委会,H-4,孙七,孙七,残疾等级不一致,残疾等级=无,残疾等级=一级,"
            "请核实后整改,2024-04-01,2024-04-29,待整改," S8 "\r\n";
        CU_ASSERT_FATAL(run(a, &o, &e) == TDT_EXIT_OK);
        CU_ASSERT_STRING_EQUAL(o, want);
        if (strcmp(o, want) != 0)
            fprintf(stderr, "got:\n%s\nwant:\n%s\n", o, want);
        free(o);
        free(e);
    }
    {
        /* the table for people: a village, overdue marked, names only */
        const char *a[] = {"tuodictl", "--config", cfg, "suspects", "--county", C1,
                           "--village", V1, "--today", "2024-03-10", NULL};
        CU_ASSERT_FATAL(run(a, &o, &e) == TDT_EXIT_OK);
        fputs(o, stderr);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "疑点数据清单 凤台县 城关镇 中山社区居委会 (" V1 ", 未整改, "
                                         "2024-03-10)\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "序号"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "整改提示"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "2024-02-02 逾期"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "逾期未整改"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "sus-11111111\n")); /* the id shortened */
        CU_ASSERT_PTR_NULL(strstr(o, S1));
        CU_ASSERT_PTR_NULL(strstr(o, "sus-7777"));           /* aborted: never shown */
        CU_ASSERT_PTR_NULL(strstr(o, "赵小六"));              /* another village */
        CU_ASSERT_PTR_NULL(strstr(o, PKEY));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "\n1 open suspects\n"));
        free(o);
        free(e);
    }
    {
        /* the suspects of households without a known village */
        const char *a[] = {"tuodictl", "--config", cfg, "suspects", "--county", "unrouted",
                           "--today", "2024-03-10", "--format", "csv", NULL};
        CU_ASSERT_FATAL(run(a, &o, &e) == TDT_EXIT_OK);
        CU_ASSERT_STRING_EQUAL(strchr(o, '\n') ? strchr(o, '\n') + 1 : o,
                               "1,-,-,H-0,周八,周八,一人多户,在册两户,-,请核实后整改,2024-02-01,"
                               "2024-02-29 逾期,逾期未整改," S9 "\r\n");
        free(o);
        free(e);
    }
    {
        /* no suspect topic (a prefix without topics): exit 1, saying so */
        char *none = td_test_unique("ctl-none");
        const char *a[] = {"tuodictl", "--config", cfg, "--prefix", none, "suspects", "--county",
                           "340402", NULL};
        char want[256];
        snprintf(want, sizeof(want), "topic %s.suspects.340402 does not exist", none);
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_FAILURE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, want));
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "tuodictl topics create"));
        free(none);
        free(o);
        free(e);
    }
}

static void test_quality_report(void)
{
    char *o, *e;
    /* Q1 2024 (2024-01-01 to 2024-03-31, China time), 340421: raised S1-S6
     * (not S8, raised 04-01), open at the end S1, S2, S6; resolved S3 (on its
     * due day) and S4 (a day late); closed S5. Persons 5 + 7 = 12 (H-X
     * removed, H-4's latest export). 3 * 1000 / 12 = 250.00; 城关镇 2 / 5 =
     * 400.00; 新集镇 1 / 7 = 142.857 -> 142.86. 340422: no topic, 2 persons,
     * 0 open: 0.00, first. */
    const char *a[] = {"tuodictl", "--config", cfg, "report", "--quality", "--county", C1,
                       "--county", "340422", "--quarter", "2024Q1", "--format", "csv", NULL};
    const char *want =
        "\xEF\xBB\xBF"
        "level,rank,county_code,county,township_code,township,raised,open,resolved,closed,"
        "resolved_in_time,in_time_share,roster_persons,open_per_1000\r\n"
        "county,1,340422,寿县,,,0,0,0,0,0,,2,0.00\r\n"
        "county,2,340421,凤台县,,,6,3,2,1,1,50.00,12,250.00\r\n"
        "total,,,合计,,,6,3,2,1,1,50.00,14,214.29\r\n"
        "township,1,340422,寿县,340422100,寿春镇,0,0,0,0,0,,2,0.00\r\n"
        "township,1,340421,凤台县,340421102,新集镇,4,1,2,1,1,50.00,7,142.86\r\n"
        "township,2,340421,凤台县,340421100,城关镇,2,2,0,0,0,,5,400.00\r\n";
    CU_ASSERT_FATAL(prefix != NULL);
    CU_ASSERT_FATAL(run(a, &o, &e) == TDT_EXIT_OK);
    CU_ASSERT_STRING_EQUAL(o, want);
    if (strcmp(o, want) != 0)
        fprintf(stderr, "got:\n%s\nwant:\n%s\n", o, want);
    free(o);
    free(e);
    {
        /* the whole city (every county of the places file): the unrouted
         * suspect has a row of its own, unranked, counted in the total:
         * open 4 of 14 persons = 285.71 */
        const char *w[] = {"tuodictl", "--config", cfg, "report", "--quality", "--quarter",
                           "2024Q1", "--format", "csv", NULL};
        CU_ASSERT_FATAL(run(w, &o, &e) == TDT_EXIT_OK);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "\r\nunrouted,,unrouted,未定位,,,1,1,0,0,0,,0,\r\n"
                                         "total,,,合计,,,7,4,2,1,1,50.00,14,285.71\r\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "\r\ncounty,1,340422,寿县,,,0,0,0,0,0,,2,0.00\r\n"
                                         "county,2,340421,凤台县,,,6,3,2,1,1,50.00,12,250.00\r\n"
                                         "county,3,340402,大通区,,,0,0,0,0,0,,0,\r\n"));
        free(o);
        free(e);
    }
    {
        /* without the roster topic (a prefix without topics) no rate could be
         * given: exit 1 naming it, not a report of zeros */
        char *none = td_test_unique("ctl-none");
        const char *w[] = {"tuodictl", "--config", cfg, "--prefix", none, "report", "--quality",
                           "--county", C1, NULL};
        char missing[256];
        snprintf(missing, sizeof(missing), "topic %s.roster.households does not exist", none);
        CU_ASSERT_EQUAL(run(w, &o, &e), TDT_EXIT_FAILURE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, missing));
        CU_ASSERT_STRING_EQUAL(o, "");
        free(o);
        free(e);
        free(none);
    }
    {
        /* the table: the period and the formula stated */
        const char *t[] = {"tuodictl", "--config", cfg, "report", "--quality", "--county", C1,
                           "--from", "2024-01-01", "--to", "2024-03-31", NULL};
        CU_ASSERT_FATAL(run(t, &o, &e) == TDT_EXIT_OK);
        fputs(o, stderr);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "疑点数据质量 2024-01-01 至 2024-03-31"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "250.00‰"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "142.86‰"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "50.00%"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "每千人未整改 = "));
        free(o);
        free(e);
    }
}

typedef struct got {
    char key[160];
    char json[8192];
    int n;
} got;

static int collect(const rd_kafka_message_t *m, void *opaque)
{
    got *g = opaque;
    td_avro_decoder *dec = NULL;
    avro_value_t *v;
    td_avro_buf b = TD_AVRO_BUF_INIT;
    td_error err = {0};
    const td_avro_schema *s = td_avro_registry_find_name(reg, "cn.tuodi.VerificationOutcome");
    g->n++;
    snprintf(g->key, sizeof(g->key), "%.*s", (int)m->key_len, (const char *)m->key);
    CU_ASSERT_FATAL(td_avro_decoder_new(reg, s, &dec, &err) == 0);
    CU_ASSERT(td_avro_decode(dec, m->payload, m->len, &v, &err) == 0);
    CU_ASSERT(td_avro_value_to_json(s, v, &b, &err) == 0);
    snprintf(g->json, sizeof(g->json), "%s", b.data ? (char *)b.data : "");
    td_avro_buf_done(&b);
    td_avro_decoder_free(dec);
    return 0;
}

static void test_verify_suspect(void)
{
    char *o, *e, topic[256];
    tdt_config c;
    td_error err = {0};
    got g;

    CU_ASSERT_FATAL(prefix != NULL);
    {
        /* another outcome for a suspect: refused before Kafka */
        const char *a[] = {"tuodictl", "--config", cfg, "verify", S1, "--outcome", "dismissed",
                           "--reason", "x", "--verifier", "王五", "--reviewer", "赵六",
                           "--county", C1, NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "only outcome is department-data-wrong"));
        free(o);
        free(e);
    }
    {
        /* resolved and closed ones: refused, nothing recorded */
        const char *a[] = {"tuodictl", "--config", cfg, "verify", S3, "--outcome",
                           "department-data-wrong", "--reason", "民政数据有误", "--verifier",
                           "王五", "--reviewer", "赵六", "--county", C1, NULL};
        const char *b[] = {"tuodictl", "--config", cfg, "verify", S5, "--outcome",
                           "部门数据有误", "--reason", "民政数据有误", "--verifier", "王五",
                           "--reviewer", "赵六", "--county", C1, NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "is resolved already (整改到位 on 2024-02-05"));
        free(o);
        free(e);
        CU_ASSERT_EQUAL(run(b, &o, &e), TDT_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "is closed already (部门数据有误, outcome id OUT-" S5));
        free(o);
        free(e);
    }
    {
        /* on another county's list it is not there */
        const char *a[] = {"tuodictl", "--config", cfg, "verify", S1, "--outcome",
                           "department-data-wrong", "--reason", "民政数据有误", "--verifier",
                           "王五", "--reviewer", "赵六", "--county", "340422", NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "is not on"));
        free(o);
        free(e);
    }
    {
        /* the open S1 by the 12 characters the table shows */
        const char *a[] = {"tuodictl", "--config", cfg, "verify", "sus-11111111", "--outcome",
                           "department-data-wrong", "--reason", "民政死亡登记有误",
                           "--verifier", "王五", "--reviewer", "赵六", "--visit-date",
                           "2024-03-08", "--outcome-id", "OUT-S1", "--county", C1, NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_OK);
        snprintf(topic, sizeof(topic), "recorded %s.verifications.340421\n", prefix);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, topic));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "  suspect    " S1 "\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "部门数据有误 (DEPARTMENT_DATA_WRONG)"));
        free(o);
        free(e);
    }
    {
        /* a suspect without a village: its outcome goes to the unrouted topic */
        const char *a[] = {"tuodictl", "--config", cfg, "verify", S9, "--outcome",
                           "department-data-wrong", "--reason", "户籍数据有误", "--verifier",
                           "王五", "--reviewer", "赵六", "--county", "unrouted", NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_OK);
        snprintf(topic, sizeof(topic), "recorded %s.verifications.unrouted\n", prefix);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, topic));
        free(o);
        free(e);
    }
    memset(&g, 0, sizeof(g));
    memset(&c, 0, sizeof(c));
    CU_ASSERT_FATAL(tdt_config_load(cfg, &c, &err) == 0);
    CU_ASSERT_FATAL(tdt_config_set_prefix(&c, prefix) == 0);
    snprintf(topic, sizeof(topic), "%s.verifications.340421", prefix);
    {
        const char *topics[1] = {topic};
        CU_ASSERT(tdt_kafka_read(&c, topics, 1, false, false, collect, NULL, &g, &err) == 0);
    }
    CU_ASSERT_EQUAL(g.n, 1);
    CU_ASSERT_STRING_EQUAL(g.key, S1); /* keyed by the whole id */
    CU_ASSERT_PTR_NOT_NULL(strstr(g.json, "\"alert_id\":\"" S1 "\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(g.json, "\"outcome\":\"DEPARTMENT_DATA_WRONG\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(g.json, "\"record_id\":\"OUT-S1\""));
    CU_ASSERT_EQUAL(count(g.json, "\"category\":null"), 1);
    tdt_config_free(&c);
}

static void add_suites(void)
{
    td_test_suite("suspects", setup, teardown);
    TD_TEST(test_suspects_list);
    TD_TEST(test_quality_report);
    TD_TEST(test_verify_suspect);
}

TD_TEST_MAIN(add_suites)
