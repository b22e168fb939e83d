/* Dataset medical_insurance -> MedicalSettlement, and through it the generic
 * mapping engine: exact records read back from their encoding, every
 * validation failure as a rejection naming the column (never holding an
 * identity number), codes and columns from the config, header problems,
 * rows of the wrong length, identity-number normalisation, sink failures. */
#include "tdc_dataset_test.h"

static const char *const HDR =
    "身份证号|姓名|村级区划代码|结算日期|就诊类型|医疗总费用|基金支付|个人负担|是否大病|结算单号";
static const char *const UNIT = "med-2024-03.csv";
static const char *const ID = "34052419800101001X";

static t_schemas sc;

static int suite_init(void)
{
    return t_schemas_load(&sc, TDC_DATASET_MEDICAL_INSURANCE);
}

static int suite_clean(void)
{
    t_schemas_done(&sc);
    return 0;
}

/* Maps lines[] (after HDR) with cfg into s. */
static tdc_dataset *run(const struct tdc_mapping_config *cfg, const char *hdr,
                        const char *const *lines, size_t n, t_sink *s)
{
    tdc_dataset *ds = t_run_unit(TDC_DATASET_MEDICAL_INSURANCE, &sc, cfg, hdr, UNIT, lines, n, s);

    CU_ASSERT_PTR_NULL(tdc_dataset_safe_position(ds));
    return ds;
}

static void test_good_row(void)
{
    static const char *const lines[] = {
        "34052419800101001X|张三|340402100201|2024-03-05|住院|12,345.60|8000|3000.5|是|JS0001",
    };
    t_sink s;
    tdc_dataset *ds;
    avro_value_t *v;

    t_sink_init(&s, sc.schema);
    ds = run(NULL, HDR, lines, 1, &s);
    CU_ASSERT_EQUAL_FATAL(s.nrecs, 1);
    CU_ASSERT_EQUAL(s.nrejs, 0);
    CU_ASSERT_STRING_EQUAL(s.recs[0].key, ID);
    CU_ASSERT_EQUAL(s.recs[0].first_row, 2);
    CU_ASSERT_EQUAL(s.recs[0].last_row, 2);
    v = t_decode(&sc, &s, 0);
    CU_ASSERT_STRING_EQUAL(t_str(v, "person_key"), ID);
    CU_ASSERT_STRING_EQUAL(t_str(v, "name"), "张三");
    CU_ASSERT_STRING_EQUAL(t_str(v, "village_code"), "340402100201");
    CU_ASSERT_EQUAL(t_long(v, "settlement_date"), t_days("2024-03-05"));
    CU_ASSERT_STRING_EQUAL(t_enum(v, "kind"), "INPATIENT");
    CU_ASSERT_EQUAL(t_long(v, "total_cost_fen"), 1234560);
    CU_ASSERT_EQUAL(t_long(v, "fund_paid_fen"), 800000);
    CU_ASSERT_EQUAL(t_long(v, "out_of_pocket_fen"), 300050);
    CU_ASSERT_EQUAL(t_bool(v, "major_disease"), 1);
    CU_ASSERT_STRING_EQUAL(t_enum(v, "source.department"), "MEDICAL_INSURANCE");
    CU_ASSERT_STRING_EQUAL(t_str(v, "source.connector_instance"), "test-instance");
    CU_ASSERT_STRING_EQUAL(t_str(v, "source.record_id"), "JS0001");
    CU_ASSERT_STRING_EQUAL(t_str(v, "source.location"), UNIT);
    CU_ASSERT_EQUAL(t_long(v, "source.row"), 2);
    tdc_dataset_free(ds);
    t_sink_done(&s);
}

/* Empty optional cells are nulls (the union's null branch), an empty flag is
 * false, a missing record id is derived, and trailing spaces, full-width
 * spaces and a time after the date are tolerated. */
static void test_optional_and_derived(void)
{
    static const char *const lines[] = {
        " 34052419800101001X ||　|2024/3/5 08:30:00|门诊| 99.9 |0|99.90||",
    };
    t_sink s;
    tdc_dataset *ds;
    avro_value_t *v;
    char want[128];

    t_sink_init(&s, sc.schema);
    ds = run(NULL, HDR, lines, 1, &s);
    CU_ASSERT_EQUAL_FATAL(s.nrecs, 1);
    v = t_decode(&sc, &s, 0);
    CU_ASSERT_TRUE(t_is_null(v, "name"));
    CU_ASSERT_TRUE(t_is_null(v, "village_code"));
    CU_ASSERT_EQUAL(t_long(v, "settlement_date"), t_days("2024-03-05"));
    CU_ASSERT_STRING_EQUAL(t_enum(v, "kind"), "OUTPATIENT");
    CU_ASSERT_EQUAL(t_long(v, "total_cost_fen"), 9990);
    CU_ASSERT_EQUAL(t_bool(v, "major_disease"), 0);
    snprintf(want, sizeof(want), "%s@%" PRId64 ":2", UNIT, T_MTIME_NS);
    CU_ASSERT_STRING_EQUAL(t_str(v, "source.record_id"), want);
    tdc_dataset_free(ds);
    t_sink_done(&s);
}

/* Every kind of bad value: one rejection, the right column, a reason with
 * the expected words, and no identity number in it. */
static void test_validation(void)
{
    static const struct {
        const char *line, *column, *reason;
    } cases[] = {
        {"340524198001010011|张三|340402100201|2024-03-05|住院|100|50|50|否|A",
         "身份证号", "身份证号: identity number's check character is wrong"},
        {"34052419800230001X|张三|340402100201|2024-03-05|住院|100|50|50|否|A",
         "身份证号", "birth date is not a real date"},
        {"340524202501010015|张三|340402100201|2024-03-05|住院|100|50|50|否|A",
         "身份证号", "birth date is in the future"},
        {"340524189901010010|张三|340402100201|2024-03-05|住院|100|50|50|否|A",
         "身份证号", "birth date is not a real date"},
        {"990524198001010010|张三|340402100201|2024-03-05|住院|100|50|50|否|A",
         "身份证号", "address code is not a province"},
        {"3405241980|张三|340402100201|2024-03-05|住院|100|50|50|否|A",
         "身份证号", "has 10 characters"},
        {"34052419800101001A|张三|340402100201|2024-03-05|住院|100|50|50|否|A",
         "身份证号", "other than digits and X"},
        {"|张三|340402100201|2024-03-05|住院|100|50|50|否|A",
         "身份证号", "身份证号: empty, but required"},
        {"34052419800101001X|张三|340402100201|2024-02-30|住院|100|50|50|否|A",
         "结算日期", "结算日期: \"2024-02-30\" is not a date"},
        {"34052419800101001X|张三|340402100201|1899-12-31|住院|100|50|50|否|A",
         "结算日期", "1899-12-31 is before 1900"},
        {"34052419800101001X|张三|340402100201|2030-01-01|住院|100|50|50|否|A",
         "结算日期", "2030-01-01 is more than a year in the future"},
        {"34052419800101001X|张三|340402100201||住院|100|50|50|否|A",
         "结算日期", "结算日期: empty, but required"},
        {"34052419800101001X|张三|340402100201|2024-03-05|住院|12.345|0|0|否|A",
         "医疗总费用", "医疗总费用: \"12.345\" is not an amount in yuan with at most two decimals"},
        {"34052419800101001X|张三|340402100201|2024-03-05|住院|1,23|0|0|否|A",
         "医疗总费用", "is not an amount in yuan"},
        {"34052419800101001X|张三|340402100201|2024-03-05|住院|100|-5|0|否|A",
         "基金支付", "基金支付: \"-5\" is negative"},
        {"34052419800101001X|张三|340402100201|2024-03-05|住院|99999999999999999|0|0|否|A",
         "医疗总费用", "too large"},
        {"34052419800101001X|张三|340402100201|2024-03-05|3|100|50|50|否|A",
         "就诊类型", "就诊类型: unknown value \"3\" (allowed: 住院, 门诊, 普通门诊, 急诊, 门诊慢特病"},
        {"34052419800101001X|张三|340402100201|2024-03-05|UNKNOWN|100|50|50|否|A",
         "就诊类型", "unknown value \"UNKNOWN\""},
        {"34052419800101001X|张三|340402100201|2024-03-05|住院|100|50|50|也许|A",
         "是否大病", "是否大病: \"也许\" is not a yes/no value"},
        {"34052419800101001X|张三|34040210020|2024-03-05|住院|100|50|50|否|A",
         "村级区划代码", "\"34040210020\" is not a village code (12 digits)"},
        {"34052419800101001X|张三|340402100000|2024-03-05|住院|100|50|50|否|A",
         "村级区划代码", "340402100000 is a township or county code, not a village"},
        {"34052419800101001X|张三|990402100201|2024-03-05|住院|100|50|50|否|A",
         "村级区划代码", "no province 99"},
        {"34052419800101001X|张三|340402100201|2024-03-05|住院|100|60|50|否|A",
         "个人负担", "基金支付 + 个人负担 (60.00 + 50.00 yuan) exceed 医疗总费用 (100.00 yuan)"},
        {"34052419800101001X|张三|340402100201|2024-03-05|住院|100|50|50|否",
         "", "the row has 9 fields, the header has 10"},
        {"34052419800101001X|张三|340402100201|2024-03-05|住院|100|50|50|否|A|extra",
         "", "the row has 11 fields, the header has 10"},
        /* an identity number in the wrong column is masked where quoted */
        {"34052419800101001X|张三|340402100201|2024-03-05|34052419800101001X|100|50|50|否|A",
         "就诊类型", "unknown value \"******************\""},
        {"34052419800101001X|张三|340402100201|34052419800101001X|住院|100|50|50|否|A",
         "结算日期", "\"******************\" is not a date"},
        /* regression (issue 10.6): an identity number with digits glued on
         * (a lost delimiter) was quoted in clear */
        {"34052419800101001X|张三|340402100201|2024-03-05|34040219810321001911|100|50|50|否|A",
         "就诊类型", "unknown value \"********************\""},
        {"34052419800101001X|张三|340402100201|2024-03-05|734052419800101001X|100|50|50|否|A",
         "就诊类型", "unknown value \"*******************\""},
        /* a long value is cut, never through a run of digits */
        {"34052419800101001X|张三|340402100201|2024-03-05|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "34052419800101001X|100|50|50|否|A",
         "就诊类型", "unknown value \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\""},
        /* 40 bytes are shown: 13 Chinese characters */
        {"34052419800101001X|张三|340402100201|2024-03-05|住院住院住院住院住院住院住|100|50|50|否|A",
         "就诊类型", "unknown value \"住院住院住院住院住院住院住\" (allowed"},
        {"34052419800101001X|张三|340402100201|2024-03-05|住院住院住院住院住院住院住院|100|50|50|否|A",
         "就诊类型", "unknown value \"住院住院住院住院住院住院住...\" (allowed"},
        {"34052419800101001X|张三|340402100201|2024-03-05|住院住院住院３４０５２４１９８００１"
         "|100|50|50|否|A",
         "就诊类型", "unknown value \"住院住院住院...\" (allowed"},
        /* a NUL byte or broken UTF-8 in a text field */
        {"34052419800101001X|\xff\xfe|340402100201|2024-03-05|住院|100|50|50|否|A",
         "姓名", "not valid UTF-8"},
    };
    static const char *const ids[] = {"34052419800101001X", "340524202501010015",
                                      "340524189901010010", "990524198001010010",
                                      "340402198103210019", NULL};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        t_sink s;
        tdc_dataset *ds;

        t_sink_init(&s, sc.schema);
        ds = run(NULL, HDR, &cases[i].line, 1, &s);
        CU_ASSERT_EQUAL(s.nrecs, 0);
        CU_ASSERT_EQUAL(s.nrejs, 1);
        if (s.nrejs == 1) {
            if (strcmp(s.rejs[0].column, cases[i].column) != 0 ||
                !strstr(s.rejs[0].reason, cases[i].reason)) {
                fprintf(stderr, "\n    case %zu: column \"%s\" reason \"%s\"\n    want \"%s\" "
                        "\"%s\"\n", i, s.rejs[0].column, s.rejs[0].reason, cases[i].column,
                        cases[i].reason);
                CU_FAIL("reason");
            }
            CU_ASSERT_TRUE(t_no_id(s.rejs[0].reason, ids));
            CU_ASSERT_PTR_NULL(strstr(s.rejs[0].reason, "3405241980"));
            CU_ASSERT_STRING_EQUAL(s.rejs[0].raw, cases[i].line); /* the dead letter */
            CU_ASSERT_EQUAL(s.rejs[0].row, 2);
            CU_ASSERT_STRING_EQUAL(s.rejs[0].unit, UNIT);
        }
        tdc_dataset_free(ds);
        t_sink_done(&s);
    }
}

/* 15-digit numbers, lower-case x, full-width digits and X: one normal form. */
static void test_id_normalised(void)
{
    static const char *const lines[] = {
        "340402650312002|a|340402100201|2024-03-05|住院|1|0|0|否|A",
        "34052419800101001x|b|340402100201|2024-03-05|住院|1|0|0|否|B",
        "３４０５２４１９８００１０１００１Ｘ|c|340402100201|2024-03-05|住院|1|0|0|否|C",
        "\t340402196503120021|d|340402100201|2024-03-05|住院|1|0|0|否|D",
    };
    static const char *const want[] = {"340402196503120021", ID, ID, "340402196503120021"};
    t_sink s;
    tdc_dataset *ds;

    t_sink_init(&s, sc.schema);
    ds = run(NULL, HDR, lines, 4, &s);
    CU_ASSERT_EQUAL_FATAL(s.nrecs, 4);
    for (size_t i = 0; i < 4; i++) {
        avro_value_t *v;

        CU_ASSERT_STRING_EQUAL(s.recs[i].key, want[i]);
        v = t_decode(&sc, &s, i);
        CU_ASSERT_STRING_EQUAL(t_str(v, "person_key"), want[i]);
    }
    tdc_dataset_free(ds);
    t_sink_done(&s);
}

/* codes: from the config replace the defaults of that field. */
static void test_codes_from_config(void)
{
    static const char *const lines[] = {
        "34052419800101001X|a|340402100201|2024-03-05|1|1|0|0|N|A",
        "34052419800101001X|a|340402100201|2024-03-05|2|1|0|0|Y|B",
        "34052419800101001X|a|340402100201|2024-03-05|住院|1|0|0|1|C",
        "34052419800101001X|a|340402100201|2024-03-05|门诊|1|0|0|0|D",
        "34052419800101001X|a|340402100201|2024-03-05|OUTPATIENT|1|0|0|大病|E",
    };
    struct tdc_mapping_config cfg;
    td_error err;
    t_sink s;
    tdc_dataset *ds;
    avro_value_t *v;

    CU_ASSERT_EQUAL_FATAL(t_mapping_load("codes:\n"
                                         "  kind: {\"1\": INPATIENT, \"2\": OUTPATIENT, "
                                         "住院: INPATIENT}\n"
                                         "  major_disease: {大病: \"true\", \"\": \"false\"}\n",
                                         &cfg, &err), 0);
    t_sink_init(&s, sc.schema);
    ds = run(&cfg, HDR, lines, 5, &s);
    CU_ASSERT_EQUAL_FATAL(s.nrecs, 4);
    CU_ASSERT_EQUAL_FATAL(s.nrejs, 1);
    v = t_decode(&sc, &s, 0);
    CU_ASSERT_STRING_EQUAL(t_enum(v, "kind"), "INPATIENT");
    CU_ASSERT_EQUAL(t_bool(v, "major_disease"), 0);
    v = t_decode(&sc, &s, 1);
    CU_ASSERT_STRING_EQUAL(t_enum(v, "kind"), "OUTPATIENT");
    CU_ASSERT_EQUAL(t_bool(v, "major_disease"), 1);
    v = t_decode(&sc, &s, 2);
    CU_ASSERT_STRING_EQUAL(t_enum(v, "kind"), "INPATIENT");
    /* a symbol is accepted as itself */
    v = t_decode(&sc, &s, 3);
    CU_ASSERT_STRING_EQUAL(t_enum(v, "kind"), "OUTPATIENT");
    CU_ASSERT_EQUAL(t_bool(v, "major_disease"), 1);
    /* 门诊 is no longer a code: the config replaced the defaults */
    CU_ASSERT_EQUAL(s.rejs[0].row, 5);
    CU_ASSERT_STRING_EQUAL(s.rejs[0].column, "就诊类型");
    CU_ASSERT_STRING_EQUAL(s.rejs[0].reason,
                           "就诊类型: unknown value \"门诊\" (allowed: 1, 2, 住院)");
    tdc_dataset_free(ds);
    t_sink_done(&s);
    t_mapping_free(&cfg);
}

/* columns: renames; the configured name must then be in the header. */
static void test_columns_from_config(void)
{
    static const char *const hdr = "公民身份证号|费用发生日期|就诊类型|医疗总费用|基金支付|"
                                   "个人负担|是否大病|结算单号|姓名";
    static const char *const lines[] = {
        "34052419800101001X|20240305|住院|10|5|5|否|X1|李四",
    };
    struct tdc_mapping_config cfg;
    td_error err;
    t_sink s;
    tdc_dataset *ds;
    avro_value_t *v;

    CU_ASSERT_EQUAL_FATAL(t_mapping_load("columns:\n"
                                         "  person_key: 公民身份证号\n"
                                         "  settlement_date: 费用发生日期\n"
                                         "  village_code: 所属村\n",
                                         &cfg, &err), 0);
    t_sink_init(&s, sc.schema);
    /* 所属村 is configured but missing: a header problem */
    ds = run(&cfg, hdr, lines, 1, &s);
    CU_ASSERT_EQUAL(s.nrecs, 0);
    CU_ASSERT_EQUAL_FATAL(s.nrejs, 1);
    CU_ASSERT_STRING_EQUAL(s.rejs[0].column, "所属村");
    CU_ASSERT_PTR_NOT_NULL(strstr(s.rejs[0].reason, "the header has no column 所属村 "
                                  "(village_code, set in columns: at conn.yaml:4:17)"));
    tdc_dataset_free(ds);
    t_sink_done(&s);
    t_mapping_free(&cfg);

    CU_ASSERT_EQUAL_FATAL(t_mapping_load("columns:\n"
                                         "  person_key: 公民身份证号\n"
                                         "  settlement_date: 费用发生日期\n",
                                         &cfg, &err), 0);
    t_sink_init(&s, sc.schema);
    ds = run(&cfg, hdr, lines, 1, &s);
    CU_ASSERT_EQUAL_FATAL(s.nrecs, 1);
    v = t_decode(&sc, &s, 0);
    CU_ASSERT_STRING_EQUAL(t_str(v, "person_key"), ID);
    CU_ASSERT_EQUAL(t_long(v, "settlement_date"), t_days("2024-03-05"));
    CU_ASSERT_STRING_EQUAL(t_str(v, "name"), "李四"); /* columns in any order */
    CU_ASSERT_TRUE(t_is_null(v, "village_code"));  /* optional default column absent */
    tdc_dataset_free(ds);
    t_sink_done(&s);
    /* the default name alone no longer matches */
    t_sink_init(&s, sc.schema);
    ds = run(&cfg, HDR, lines, 1, &s);
    CU_ASSERT_EQUAL(s.nrejs, 1);
    CU_ASSERT_STRING_EQUAL(s.rejs[0].column, "公民身份证号");
    tdc_dataset_free(ds);
    t_sink_done(&s);
    t_mapping_free(&cfg);
}

/* A header without a required column: every row of that unit rejected with
 * one clear reason; the next unit is fine again. */
static void test_missing_required_column(void)
{
    static const char *const bad_hdr = "身份证号|姓名|就诊类型|医疗总费用|基金支付|个人负担|是否大病";
    tdc_dataset *ds = t_dataset(TDC_DATASET_MEDICAL_INSURANCE, &sc, NULL);
    t_header h, g;
    t_sink s;

    t_sink_init(&s, sc.schema);
    t_header_init(&h, bad_hdr);
    t_header_init(&g, HDR);
    CU_ASSERT_EQUAL(t_map_line(ds, &s, &h, "bad.csv", 2, "34052419800101001X|a|住院|1|0|0|否"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tdc_dataset_header_problem(ds));
    CU_ASSERT_STRING_EQUAL(tdc_dataset_header_problem(ds),
                           "the header has no column 结算日期; also looked for 结算时间, "
                           "费用结算日期 (settlement_date); every row of bad.csv is rejected");
    CU_ASSERT_EQUAL(t_map_line(ds, &s, &h, "bad.csv", 3, "340402650312002|b|门诊|1|0|0|否"), 0);
    CU_ASSERT_EQUAL(t_end_unit(ds, &s), 0);
    CU_ASSERT_PTR_NULL(tdc_dataset_header_problem(ds));
    CU_ASSERT_EQUAL(s.nrecs, 0);
    CU_ASSERT_EQUAL_FATAL(s.nrejs, 2);
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_STRING_EQUAL(s.rejs[i].column, "结算日期");
        CU_ASSERT_PTR_NOT_NULL(strstr(s.rejs[i].reason, "the header has no column 结算日期"));
    }
    CU_ASSERT_EQUAL(t_map_line(ds, &s, &g, "good.csv", 2,
                               "34052419800101001X|a|340402100201|2024-03-05|住院|1|0|0|否|A"), 0);
    CU_ASSERT_PTR_NULL(tdc_dataset_header_problem(ds));
    CU_ASSERT_EQUAL(s.nrecs, 1);
    t_header_done(&h);
    t_header_done(&g);
    tdc_dataset_free(ds);
    t_sink_done(&s);
}

/* A mapped column twice in the header is ambiguous: the unit is rejected. */
static void test_duplicate_column(void)
{
    static const char *const hdr = "身份证号|结算日期|就诊类型|医疗总费用|基金支付|个人负担|是否大病|"
                                   "结算日期";
    static const char *const lines[] = {"34052419800101001X|2024-03-05|住院|1|0|0|否|2024-03-06"};
    t_sink s;
    tdc_dataset *ds;

    t_sink_init(&s, sc.schema);
    ds = run(NULL, hdr, lines, 1, &s);
    CU_ASSERT_EQUAL_FATAL(s.nrejs, 1);
    CU_ASSERT_STRING_EQUAL(s.rejs[0].column, "结算日期");
    CU_ASSERT_PTR_NOT_NULL(strstr(s.rejs[0].reason, "column 结算日期 (settlement_date) appears "
                                  "twice in the header (columns 2 and 8)"));
    tdc_dataset_free(ds);
    t_sink_done(&s);
}

/* The header is resolved again for each unit: another column order. */
static void test_header_per_unit(void)
{
    static const char *const hdr2 =
        "结算单号|是否大病|个人负担|基金支付|医疗总费用|就诊类型|结算日期|身份证号";
    tdc_dataset *ds = t_dataset(TDC_DATASET_MEDICAL_INSURANCE, &sc, NULL);
    t_header h1, h2;
    t_sink s;
    avro_value_t *v;

    t_sink_init(&s, sc.schema);
    t_header_init(&h1, HDR);
    t_header_init(&h2, hdr2);
    CU_ASSERT_EQUAL(t_map_line(ds, &s, &h1, "a.csv", 2,
                               "34052419800101001X|a|340402100201|2024-03-05|住院|3|2|1|否|A"), 0);
    CU_ASSERT_EQUAL(t_end_unit(ds, &s), 0);
    CU_ASSERT_EQUAL(t_map_line(ds, &s, &h2, "b.csv", 2,
                               "B7|是|1|2|3|门诊|2024-03-06|340402650312002"), 0);
    CU_ASSERT_EQUAL(t_end_unit(ds, &s), 0);
    CU_ASSERT_EQUAL_FATAL(s.nrecs, 2);
    v = t_decode(&sc, &s, 1);
    CU_ASSERT_STRING_EQUAL(t_str(v, "person_key"), "340402196503120021");
    CU_ASSERT_STRING_EQUAL(t_str(v, "source.record_id"), "B7");
    CU_ASSERT_STRING_EQUAL(t_str(v, "source.location"), "b.csv");
    CU_ASSERT_EQUAL(t_long(v, "total_cost_fen"), 300);
    CU_ASSERT_EQUAL(t_bool(v, "major_disease"), 1);
    CU_ASSERT_TRUE(t_is_null(v, "name"));
    t_header_done(&h1);
    t_header_done(&h2);
    tdc_dataset_free(ds);
    t_sink_done(&s);
}

/* A postgres row: record id from the source's id, no row number. */
static void test_table_source(void)
{
    tdc_dataset *ds = t_dataset(TDC_DATASET_MEDICAL_INSURANCE, &sc, NULL);
    static const char *const hdr = "身份证号|结算日期|就诊类型|医疗总费用|基金支付|个人负担|是否大病";
    t_header h;
    t_row r;
    t_sink s;
    tdc_sink k = t_sink_of(&s);
    td_error err;
    avro_value_t *v;

    t_sink_init(&s, sc.schema);
    t_header_init(&h, hdr);
    t_row_init(&r, &h, "yb.settlements", 17, "34052419800101001X|2024-03-05|住院|3|2|1|否");
    r.row.after.kind = TDC_POSITION_POSTGRES;
    r.row.source_record_id = "884211";
    CU_ASSERT_EQUAL(tdc_dataset_map(ds, &r.row, NULL, &k, &err), 0);
    CU_ASSERT_EQUAL_FATAL(s.nrecs, 1);
    v = t_decode(&sc, &s, 0);
    CU_ASSERT_STRING_EQUAL(t_str(v, "source.record_id"), "884211");
    CU_ASSERT_STRING_EQUAL(t_str(v, "source.location"), "yb.settlements");
    CU_ASSERT_TRUE(t_is_null(v, "source.row"));
    t_row_done(&r);
    t_header_done(&h);
    tdc_dataset_free(ds);
    t_sink_done(&s);
}

/* constants: a column the department does not have. */
static void test_constants(void)
{
    static const char *const hdr = "身份证号|结算日期|医疗总费用|基金支付|个人负担";
    static const char *const lines[] = {"34052419800101001X|2024-03-05|3|2|1"};
    struct tdc_mapping_config cfg;
    td_error err;
    t_sink s;
    tdc_dataset *ds;
    avro_value_t *v;

    CU_ASSERT_EQUAL_FATAL(t_mapping_load("constants:\n"
                                         "  major_disease: \"false\"\n"
                                         "  kind: 住院\n"
                                         "  village_code: \"340402100201\"\n",
                                         &cfg, &err), 0);
    t_sink_init(&s, sc.schema);
    ds = run(&cfg, hdr, lines, 1, &s);
    CU_ASSERT_EQUAL_FATAL(s.nrecs, 1);
    v = t_decode(&sc, &s, 0);
    CU_ASSERT_EQUAL(t_bool(v, "major_disease"), 0);
    CU_ASSERT_STRING_EQUAL(t_enum(v, "kind"), "INPATIENT");
    CU_ASSERT_STRING_EQUAL(t_str(v, "village_code"), "340402100201");
    tdc_dataset_free(ds);
    t_sink_done(&s);
    t_mapping_free(&cfg);
}

/* required: a nullable field made mandatory. */
static void test_required_from_config(void)
{
    static const char *const lines[] = {
        "34052419800101001X||340402100201|2024-03-05|住院|1|0|0|否|A",
    };
    struct tdc_mapping_config cfg;
    td_error err;
    t_sink s;
    tdc_dataset *ds;

    CU_ASSERT_EQUAL_FATAL(t_mapping_load("required: [name]\n", &cfg, &err), 0);
    t_sink_init(&s, sc.schema);
    ds = run(&cfg, HDR, lines, 1, &s);
    CU_ASSERT_EQUAL_FATAL(s.nrejs, 1);
    CU_ASSERT_STRING_EQUAL(s.rejs[0].column, "姓名");
    CU_ASSERT_STRING_EQUAL(s.rejs[0].reason, "姓名: empty, but required");
    tdc_dataset_free(ds);
    t_sink_done(&s);
    t_mapping_free(&cfg);
}

/* A broken sink is the only negative return; the text says which call. */
static void test_sink_failure(void)
{
    tdc_dataset *ds = t_dataset(TDC_DATASET_MEDICAL_INSURANCE, &sc, NULL);
    t_header h;
    t_sink s;

    t_sink_init(&s, sc.schema);
    s.fail = -EIO;
    t_header_init(&h, HDR);
    CU_ASSERT_EQUAL(t_map_line(ds, &s, &h, UNIT, 2,
                               "34052419800101001X|a|340402100201|2024-03-05|住院|1|0|0|否|A"),
                    -EIO);
    CU_ASSERT_EQUAL(t_map_line(ds, &s, &h, UNIT, 3, "bad"), -EIO);
    s.fail = 0;
    CU_ASSERT_EQUAL(t_map_line(ds, &s, &h, UNIT, 4,
                               "34052419800101001X|a|340402100201|2024-03-05|住院|1|0|0|否|A"), 0);
    CU_ASSERT_EQUAL(s.nrecs, 1);
    t_header_done(&h);
    tdc_dataset_free(ds);
    t_sink_done(&s);
}

/* The wrong schema for the dataset is refused. */
static void test_wrong_schema(void)
{
    t_schemas other;
    tdc_dataset *ds = NULL;
    td_error err;

    CU_ASSERT_EQUAL_FATAL(t_schemas_load(&other, TDC_DATASET_ROSTER), 0);
    CU_ASSERT_EQUAL(tdc_dataset_new(TDC_DATASET_MEDICAL_INSURANCE, NULL, other.schema, "x", &ds,
                                    &err), -EINVAL);
    CU_ASSERT_PTR_NULL(ds);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "dataset medical_insurance needs the schema "
                                  "cn.tuodi.MedicalSettlement (medical_settlement.avsc), not "
                                  "cn.tuodi.Household"));
    t_schemas_done(&other);
}

static void test_names(void)
{
    CU_ASSERT_STRING_EQUAL(tdc_dataset_default_topic(TDC_DATASET_MEDICAL_INSURANCE),
                           "tuodi.medical_insurance.settlements");
    CU_ASSERT_STRING_EQUAL(tdc_dataset_default_topic(TDC_DATASET_CIVIL_AFFAIRS),
                           "tuodi.civil_affairs.events");
    CU_ASSERT_STRING_EQUAL(tdc_dataset_default_topic(TDC_DATASET_HUMAN_RESOURCES),
                           "tuodi.human_resources.events");
    CU_ASSERT_STRING_EQUAL(tdc_dataset_default_topic(TDC_DATASET_ROSTER),
                           "tuodi.roster.households");
    CU_ASSERT_STRING_EQUAL(tdc_dataset_schema_file(TDC_DATASET_MEDICAL_INSURANCE),
                           "medical_settlement.avsc");
    CU_ASSERT_STRING_EQUAL(tdc_dataset_schema_file(TDC_DATASET_ROSTER), "household.avsc");
    CU_ASSERT_STRING_EQUAL(tdc_dataset_record_name(TDC_DATASET_HUMAN_RESOURCES),
                           "cn.tuodi.EmploymentEvent");
    CU_ASSERT_PTR_NULL(tdc_dataset_default_topic((tdc_dataset_kind)42));
    CU_ASSERT_PTR_NULL(tdc_dataset_free(NULL));
}

/* A row deleted in the source (postgres logical mode) is dead-lettered with
 * the dataset's reason, never published. */
static void test_deleted_in_source(void)
{
    static const char *const ids[] = {"34052419800101001X", "340402196811200031", NULL};

    t_check_delete(TDC_DATASET_MEDICAL_INSURANCE, &sc, HDR, UNIT,
                   "34052419800101001X|张三|340402100201|2024-03-05|住院|12,345.60|8000|3000.5|是|JS0001", ids);
}

static void add_suites(void)
{
    td_test_suite("dataset_medical", suite_init, suite_clean);
    TD_TEST(test_deleted_in_source);
    TD_TEST(test_good_row);
    TD_TEST(test_optional_and_derived);
    TD_TEST(test_validation);
    TD_TEST(test_id_normalised);
    TD_TEST(test_codes_from_config);
    TD_TEST(test_columns_from_config);
    TD_TEST(test_missing_required_column);
    TD_TEST(test_duplicate_column);
    TD_TEST(test_header_per_unit);
    TD_TEST(test_table_source);
    TD_TEST(test_constants);
    TD_TEST(test_required_from_config);
    TD_TEST(test_sink_failure);
    TD_TEST(test_wrong_schema);
    TD_TEST(test_names);
}

TD_TEST_MAIN(add_suites)
