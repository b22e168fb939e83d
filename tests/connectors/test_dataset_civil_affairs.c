/* Dataset civil_affairs -> CivilAffairsEvent: every event type, the
 * per-event required fields (amount for temporary assistance, grade for a
 * disability certification), fields ignored for other events, codes from the
 * config, and the count invariant over a mixed fixture. */
#include "tdc_dataset_test.h"

static const char *const HDR = "业务类型|身份证号|姓名|村级区划代码|业务日期|救助金额|残疾等级|业务编号";
static const char *const UNIT = "mz-2024-05.csv";

static t_schemas sc;

static int suite_init(void)
{
    return t_schemas_load(&sc, TDC_DATASET_CIVIL_AFFAIRS);
}

static int suite_clean(void)
{
    t_schemas_done(&sc);
    return 0;
}

static tdc_dataset *run(const struct tdc_mapping_config *cfg, const char *hdr,
                        const char *const *lines, size_t n, t_sink *s)
{
    tdc_dataset *ds = t_run_unit(TDC_DATASET_CIVIL_AFFAIRS, &sc, cfg, hdr, UNIT, lines, n, s);

    CU_ASSERT_EQUAL((int64_t)n, s->rows_in_records + (int64_t)s->nrejs);
    return ds;
}

static void test_event_types(void)
{
    static const char *const lines[] = {
        "低保申请|34052419800101001X|张三|340402100201|2024-05-06|||MZ-1",
        "低保批准|34052419800101001X|张三||2024年5月20日|300||MZ-2",
        "低保取消|340402196503120021|王建国||20240521|||MZ-3",
        "特困供养批准|340402196503120021|||2024.05.22|||MZ-4",
        "临时救助|340402196811200031|李秀英|340402100202|2024-05-23|1,500.00||MZ-5",
        "残疾认定|340402201005050044|王小明||2024-05-24||二级|MZ-6",
        "残疾认定|340402201005050044|王小明||2024-05-24||1|MZ-7",
        "死亡登记|340402194001010069|||2024-05-25|||MZ-8",
        /* a grade on another event is ignored, even a bad one */
        "低保申请|34052419800101001X|||2024-05-26||3|MZ-9",
        "低保申请|34052419800101001X|||2024-05-26||很重|MZ-10",
        /* the end of 特困 support, in both wordings; a grade is ignored */
        "特困终止|340402196503120021|||2024-06-01|||MZ-11",
        "特困供养终止|340402196503120021|||2024-06-02||一级|MZ-12",
        "特困批准|340402196503120021|||2024-06-03|||MZ-13",
    };
    static const char *const types[] = {
        "DIBAO_APPLIED", "DIBAO_APPROVED", "DIBAO_CANCELLED", "TEKUN_APPROVED",
        "TEMP_ASSISTANCE_GRANTED", "DISABILITY_CERTIFIED", "DISABILITY_CERTIFIED",
        "DEATH_REGISTERED", "DIBAO_APPLIED", "DIBAO_APPLIED", "TEKUN_CANCELLED",
        "TEKUN_CANCELLED", "TEKUN_APPROVED",
    };
    const size_t n = sizeof(lines) / sizeof(lines[0]);
    t_sink s;
    tdc_dataset *ds;
    avro_value_t *v;

    CU_ASSERT_EQUAL_FATAL(n, sizeof(types) / sizeof(types[0]));
    t_sink_init(&s, sc.schema);
    ds = run(NULL, HDR, lines, n, &s);
    CU_ASSERT_EQUAL(s.nrejs, 0);
    CU_ASSERT_EQUAL_FATAL(s.nrecs, n);
    for (size_t i = 0; i < n; i++) {
        char rid[16];

        v = t_decode(&sc, &s, i);
        CU_ASSERT_STRING_EQUAL(t_enum(v, "event_type"), types[i]);
        CU_ASSERT_STRING_EQUAL(t_enum(v, "source.department"), "CIVIL_AFFAIRS");
        snprintf(rid, sizeof(rid), "MZ-%zu", i + 1);
        CU_ASSERT_STRING_EQUAL(t_str(v, "source.record_id"), rid);
        CU_ASSERT_STRING_EQUAL(t_str(v, "person_key"), s.recs[i].key);
    }
    v = t_decode(&sc, &s, 0);
    CU_ASSERT_STRING_EQUAL(t_str(v, "name"), "张三");
    CU_ASSERT_STRING_EQUAL(t_str(v, "village_code"), "340402100201");
    CU_ASSERT_EQUAL(t_long(v, "event_date"), t_days("2024-05-06"));
    CU_ASSERT_TRUE(t_is_null(v, "amount_fen"));
    CU_ASSERT_TRUE(t_is_null(v, "disability_grade"));
    CU_ASSERT_STRING_EQUAL(t_str(v, "source.location"), UNIT);
    CU_ASSERT_EQUAL(t_long(v, "source.row"), 2);
    v = t_decode(&sc, &s, 1);
    CU_ASSERT_EQUAL(t_long(v, "event_date"), t_days("2024-05-20"));
    CU_ASSERT_EQUAL(t_long(v, "amount_fen"), 30000); /* kept when given */
    CU_ASSERT_TRUE(t_is_null(v, "village_code"));
    v = t_decode(&sc, &s, 4);
    CU_ASSERT_EQUAL(t_long(v, "amount_fen"), 150000);
    CU_ASSERT_STRING_EQUAL(s.recs[4].key, "340402196811200031");
    v = t_decode(&sc, &s, 5);
    CU_ASSERT_EQUAL(t_long(v, "disability_grade"), 2);
    v = t_decode(&sc, &s, 6);
    CU_ASSERT_EQUAL(t_long(v, "disability_grade"), 1);
    v = t_decode(&sc, &s, 8);
    CU_ASSERT_TRUE(t_is_null(v, "disability_grade"));
    v = t_decode(&sc, &s, 9);
    CU_ASSERT_TRUE(t_is_null(v, "disability_grade"));
    v = t_decode(&sc, &s, 11);
    CU_ASSERT_EQUAL(t_long(v, "event_date"), t_days("2024-06-02"));
    CU_ASSERT_TRUE(t_is_null(v, "disability_grade"));
    CU_ASSERT_STRING_EQUAL(s.recs[11].key, "340402196503120021");
    tdc_dataset_free(ds);
    t_sink_done(&s);
}

static void test_per_event_rules(void)
{
    static const struct {
        const char *line, *column, *reason;
    } cases[] = {
        {"临时救助|34052419800101001X|||2024-05-23|||A", "救助金额",
         "救助金额: empty, but required for TEMP_ASSISTANCE_GRANTED"},
        {"临时救助|34052419800101001X|||2024-05-23|-10||A", "救助金额",
         "救助金额: \"-10\" is negative"},
        {"残疾认定|34052419800101001X|||2024-05-23|||A", "残疾等级",
         "残疾等级: empty, but required for DISABILITY_CERTIFIED"},
        {"残疾认定|34052419800101001X|||2024-05-23||5|A", "残疾等级",
         "残疾等级: 5 is out of range (1 to 4)"},
        {"残疾认定|34052419800101001X|||2024-05-23||五级|A", "残疾等级",
         "残疾等级: \"五级\" is not a whole number"},
        {"低保续保|34052419800101001X|||2024-05-23|||A", "业务类型",
         "业务类型: unknown value \"低保续保\" (allowed: 低保申请, 低保批准, 低保新增, 低保取消, "
         "低保停保, 特困批准, 特困供养批准, 特困终止, 特困供养终止, 临时救助, 残疾认定, 死亡登记)"},
        {"|34052419800101001X|||2024-05-23|||A", "业务类型", "业务类型: empty, but required"},
        {"死亡登记|34052419800101001X|||2024-13-01|||A", "业务日期",
         "业务日期: \"2024-13-01\" is not a date (write it as 2023-05-01, 2023/5/1, 20230501 "
         "or 2023年5月1日)"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        t_sink s;
        tdc_dataset *ds;

        t_sink_init(&s, sc.schema);
        ds = run(NULL, HDR, &cases[i].line, 1, &s);
        CU_ASSERT_EQUAL(s.nrecs, 0);
        CU_ASSERT_EQUAL_FATAL(s.nrejs, 1);
        if (strcmp(s.rejs[0].column, cases[i].column) != 0 ||
            strcmp(s.rejs[0].reason, cases[i].reason) != 0) {
            fprintf(stderr, "\n    case %zu: \"%s\" \"%s\"\n", i, s.rejs[0].column,
                    s.rejs[0].reason);
            CU_FAIL("reason");
        }
        tdc_dataset_free(ds);
        t_sink_done(&s);
    }
}

/* A header without the amount column: only the events that need it fail. */
static void test_conditional_column_absent(void)
{
    static const char *const hdr = "业务类型|身份证号|业务日期|残疾等级";
    static const char *const lines[] = {
        "低保申请|34052419800101001X|2024-05-06|",
        "临时救助|34052419800101001X|2024-05-06|",
    };
    t_sink s;
    tdc_dataset *ds;

    t_sink_init(&s, sc.schema);
    ds = run(NULL, hdr, lines, 2, &s);
    CU_ASSERT_PTR_NULL(tdc_dataset_header_problem(ds));
    CU_ASSERT_EQUAL(s.nrecs, 1);
    CU_ASSERT_EQUAL_FATAL(s.nrejs, 1);
    CU_ASSERT_EQUAL(s.rejs[0].row, 3);
    CU_ASSERT_STRING_EQUAL(s.rejs[0].column, "救助金额");
    CU_ASSERT_STRING_EQUAL(s.rejs[0].reason, "救助金额: required for TEMP_ASSISTANCE_GRANTED, "
                                             "but the header has no such column");
    tdc_dataset_free(ds);
    t_sink_done(&s);
}

/* A department's own codes and column names. */
static void test_department_codes(void)
{
    static const char *const hdr = "事项|证件号码|发生日期|金额|编号";
    static const char *const lines[] = {
        "0101|34052419800101001X|2024-05-06||A",
        "0401|34052419800101001X|2024-05-06|800|B",
        "低保申请|34052419800101001X|2024-05-06||C",
    };
    struct tdc_mapping_config cfg;
    td_error err;
    t_sink s;
    tdc_dataset *ds;
    avro_value_t *v;

    CU_ASSERT_EQUAL_FATAL(t_mapping_load("columns:\n"
                                         "  event_type: 事项\n"
                                         "  event_date: 发生日期\n"
                                         "  amount_fen: 金额\n"
                                         "  source.record_id: 编号\n"
                                         "codes:\n"
                                         "  event_type:\n"
                                         "    \"0101\": DIBAO_APPLIED\n"
                                         "    \"0401\": TEMP_ASSISTANCE_GRANTED\n",
                                         &cfg, &err), 0);
    t_sink_init(&s, sc.schema);
    ds = run(&cfg, hdr, lines, 3, &s);
    CU_ASSERT_EQUAL_FATAL(s.nrecs, 2);
    v = t_decode(&sc, &s, 0);
    CU_ASSERT_STRING_EQUAL(t_enum(v, "event_type"), "DIBAO_APPLIED");
    CU_ASSERT_STRING_EQUAL(t_str(v, "source.record_id"), "A");
    v = t_decode(&sc, &s, 1);
    CU_ASSERT_STRING_EQUAL(t_enum(v, "event_type"), "TEMP_ASSISTANCE_GRANTED");
    CU_ASSERT_EQUAL(t_long(v, "amount_fen"), 80000);
    CU_ASSERT_EQUAL_FATAL(s.nrejs, 1);
    CU_ASSERT_STRING_EQUAL(s.rejs[0].reason,
                           "事项: unknown value \"低保申请\" (allowed: 0101, 0401)");
    tdc_dataset_free(ds);
    t_sink_done(&s);
    t_mapping_free(&cfg);
}

/* A row deleted in the source (postgres logical mode) is dead-lettered with
 * the dataset's reason, never published. */
static void test_deleted_in_source(void)
{
    static const char *const ids[] = {"34052419800101001X", "340402196811200031", NULL};

    t_check_delete(TDC_DATASET_CIVIL_AFFAIRS, &sc, HDR, UNIT,
                   "低保申请|34052419800101001X|张三|340402100201|2024-05-06|||MZ-1", ids);
}

static void add_suites(void)
{
    td_test_suite("dataset_civil_affairs", suite_init, suite_clean);
    TD_TEST(test_deleted_in_source);
    TD_TEST(test_event_types);
    TD_TEST(test_per_event_rules);
    TD_TEST(test_conditional_column_absent);
    TD_TEST(test_department_codes);
}

TD_TEST_MAIN(add_suites)
