/* Dataset human_resources -> EmploymentEvent: every event type, months
 * worked away required for MIGRANT_WORK_REPORTED (0 to 12) and kept for
 * other events when given, codes and columns from the config. */
#include "tdc_dataset_test.h"

static const char *const HDR = "业务类型|身份证号|姓名|村级区划代码|业务日期|外出务工月数|业务编号";
static const char *const UNIT = "rs-2024-05.csv";

static t_schemas sc;

static int suite_init(void)
{
    return t_schemas_load(&sc, TDC_DATASET_HUMAN_RESOURCES);
}

static int suite_clean(void)
{
    t_schemas_done(&sc);
    return 0;
}

static tdc_dataset *run(const struct tdc_mapping_config *cfg, const char *hdr,
                        const char *const *lines, size_t n, t_sink *s)
{
    tdc_dataset *ds = t_run_unit(TDC_DATASET_HUMAN_RESOURCES, &sc, cfg, hdr, UNIT, lines, n, s);

    CU_ASSERT_EQUAL((int64_t)n, s->rows_in_records + (int64_t)s->nrejs);
    return ds;
}

static void test_event_types(void)
{
    static const char *const lines[] = {
        "失业登记|34052419800101001X|张三|340402100201|2024-05-06||RS-1",
        "失业登记注销|34052419800101001X|张三||2024-05-07||RS-2",
        "公益性岗位上岗|340402196503120021|||2024-05-08||RS-3",
        "公益性岗位离岗|340402196503120021|||2024-05-09|3|RS-4",
        "职工保险断缴|340402196811200031|||2024-05-10||RS-5",
        "外出务工情况|340402196811200031|||2024-05-31|7|RS-6",
        "外出务工情况|340402196811200031|||2024-05-31|0|RS-7",
    };
    static const char *const types[] = {
        "UNEMPLOYMENT_REGISTERED", "UNEMPLOYMENT_ENDED", "PUBLIC_WELFARE_JOB_STARTED",
        "PUBLIC_WELFARE_JOB_ENDED", "EMPLOYEE_INSURANCE_LAPSED", "MIGRANT_WORK_REPORTED",
        "MIGRANT_WORK_REPORTED",
    };
    t_sink s;
    tdc_dataset *ds;
    avro_value_t *v;

    t_sink_init(&s, sc.schema);
    ds = run(NULL, HDR, lines, 7, &s);
    CU_ASSERT_EQUAL(s.nrejs, 0);
    CU_ASSERT_EQUAL_FATAL(s.nrecs, 7);
    for (size_t i = 0; i < 7; i++) {
        v = t_decode(&sc, &s, i);
        CU_ASSERT_STRING_EQUAL(t_enum(v, "event_type"), types[i]);
        CU_ASSERT_STRING_EQUAL(t_enum(v, "source.department"), "HUMAN_RESOURCES");
        CU_ASSERT_STRING_EQUAL(t_str(v, "source.connector_instance"), "test-instance");
        CU_ASSERT_EQUAL(t_long(v, "source.row"), (int64_t)i + 2);
    }
    v = t_decode(&sc, &s, 0);
    CU_ASSERT_STRING_EQUAL(t_str(v, "person_key"), "34052419800101001X");
    CU_ASSERT_STRING_EQUAL(t_str(v, "name"), "张三");
    CU_ASSERT_STRING_EQUAL(t_str(v, "village_code"), "340402100201");
    CU_ASSERT_EQUAL(t_long(v, "event_date"), t_days("2024-05-06"));
    CU_ASSERT_TRUE(t_is_null(v, "months_worked_away"));
    CU_ASSERT_STRING_EQUAL(t_str(v, "source.record_id"), "RS-1");
    v = t_decode(&sc, &s, 3);
    CU_ASSERT_EQUAL(t_long(v, "months_worked_away"), 3); /* kept when given */
    v = t_decode(&sc, &s, 5);
    CU_ASSERT_EQUAL(t_long(v, "months_worked_away"), 7);
    v = t_decode(&sc, &s, 6);
    CU_ASSERT_EQUAL(t_long(v, "months_worked_away"), 0);
    tdc_dataset_free(ds);
    t_sink_done(&s);
}

static void test_rules(void)
{
    static const struct {
        const char *line, *column, *reason;
    } cases[] = {
        {"外出务工情况|34052419800101001X|||2024-05-31||A", "外出务工月数",
         "外出务工月数: empty, but required for MIGRANT_WORK_REPORTED"},
        {"外出务工情况|34052419800101001X|||2024-05-31|13|A", "外出务工月数",
         "外出务工月数: 13 is out of range (0 to 12)"},
        {"外出务工情况|34052419800101001X|||2024-05-31|6.5|A", "外出务工月数",
         "外出务工月数: \"6.5\" is not a whole number"},
        {"失业登记|34052419800101001X|||2024-05-31|-1|A", "外出务工月数",
         "外出务工月数: -1 is out of range (0 to 12)"},
        {"失业|34052419800101001X|||2024-05-31||A", "业务类型",
         "业务类型: unknown value \"失业\" (allowed: 失业登记, 失业登记注销, 公益性岗位上岗, "
         "公益性岗位离岗, 职工保险断缴, 外出务工情况)"},
        {"失业登记|34052419800101001x|||2024-05-31||A|", "",
         "the row has 8 fields, the header has 7"},
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

static void test_department_codes(void)
{
    static const char *const hdr = "类别|公民身份号码|日期|月数";
    static const char *const lines[] = {
        "11|340402650312002|2024-05-06|",
        "51|340402650312002|2024-05-06|10",
    };
    struct tdc_mapping_config cfg;
    td_error err;
    t_sink s;
    tdc_dataset *ds;
    avro_value_t *v;

    CU_ASSERT_EQUAL_FATAL(t_mapping_load("columns:\n"
                                         "  event_type: 类别\n"
                                         "  event_date: 日期\n"
                                         "  months_worked_away: 月数\n"
                                         "codes:\n"
                                         "  event_type: {\"11\": UNEMPLOYMENT_REGISTERED, "
                                         "\"51\": MIGRANT_WORK_REPORTED}\n",
                                         &cfg, &err), 0);
    t_sink_init(&s, sc.schema);
    ds = run(&cfg, hdr, lines, 2, &s);
    CU_ASSERT_EQUAL(s.nrejs, 0);
    CU_ASSERT_EQUAL_FATAL(s.nrecs, 2);
    v = t_decode(&sc, &s, 0);
    CU_ASSERT_STRING_EQUAL(t_enum(v, "event_type"), "UNEMPLOYMENT_REGISTERED");
    CU_ASSERT_STRING_EQUAL(t_str(v, "person_key"), "340402196503120021");
    CU_ASSERT_TRUE(t_is_null(v, "name")); /* no column at all */
    v = t_decode(&sc, &s, 1);
    CU_ASSERT_EQUAL(t_long(v, "months_worked_away"), 10);
    tdc_dataset_free(ds);
    t_sink_done(&s);
    t_mapping_free(&cfg);
}

/* A row deleted in the source (postgres logical mode) is dead-lettered with
 * the dataset's reason, never published. */
static void test_deleted_in_source(void)
{
    static const char *const ids[] = {"34052419800101001X", "340402196811200031", NULL};

    t_check_delete(TDC_DATASET_HUMAN_RESOURCES, &sc, HDR, UNIT,
                   "失业登记|34052419800101001X|张三|340402100201|2024-05-06||RS-1", ids);
}

static void add_suites(void)
{
    td_test_suite("dataset_human_resources", suite_init, suite_clean);
    TD_TEST(test_deleted_in_source);
    TD_TEST(test_event_types);
    TD_TEST(test_rules);
    TD_TEST(test_department_codes);
}

TD_TEST_MAIN(add_suites)
