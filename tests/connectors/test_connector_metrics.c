/* tdc_metrics: the reason class of every kind of rejection the datasets
 * make (from their own reasons, not copies of them, so a reworded reason
 * that falls out of its class fails here), counts that follow commits and
 * aborts, the spool directories counted at scrape time, and librdkafka's
 * statistics. */
#include "tdc_dataset_test.h"
#include "tdc_metrics.h"

#include <math.h>
#include <sys/stat.h>

static const char *const HDR =
    "身份证号|姓名|村级区划代码|结算日期|就诊类型|医疗总费用|基金支付|个人负担|是否大病|结算单号";

static t_schemas sc, rsc;

static int suite_init(void)
{
    return t_schemas_load(&sc, TDC_DATASET_MEDICAL_INSURANCE) < 0 ||
                   t_schemas_load(&rsc, TDC_DATASET_ROSTER) < 0
               ? -1
               : 0;
}

static int suite_clean(void)
{
    t_schemas_done(&sc);
    t_schemas_done(&rsc);
    return 0;
}

/* The class of the one rejection of line under hdr (medical). */
static const char *class_of(const char *hdr, const char *line)
{
    const char *cls = "(no rejection)";
    t_sink s;
    tdc_dataset *ds;

    t_sink_init(&s, sc.schema);
    ds = t_run_unit(TDC_DATASET_MEDICAL_INSURANCE, &sc, NULL, hdr, "m.csv", &line, 1, &s);
    if (s.nrejs == 1)
        cls = tdc_reason_class_names[tdc_reason_classify(s.rejs[0].reason)];
    tdc_dataset_free(ds);
    t_sink_done(&s);
    return cls;
}

static void test_classes(void)
{
    static const struct {
        const char *line, *cls;
    } cases[] = {
        {"340524198001010011|张三|340402100201|2024-03-05|住院|100|50|50|否|A", "bad_id_number"},
        {"3405241980|张三|340402100201|2024-03-05|住院|100|50|50|否|A", "bad_id_number"},
        {"|张三|340402100201|2024-03-05|住院|100|50|50|否|A", "missing_value"},
        {"34052419800101001X|张三|340402100201|2024-02-30|住院|100|50|50|否|A", "bad_date"},
        {"34052419800101001X|张三|340402100201|1899-12-31|住院|100|50|50|否|A", "bad_date"},
        {"34052419800101001X|张三|340402100201|2030-01-01|住院|100|50|50|否|A", "bad_date"},
        {"34052419800101001X|张三|340402100201||住院|100|50|50|否|A", "missing_value"},
        {"34052419800101001X|张三|340402100201|2024-03-05|住院|12.345|0|0|否|A", "bad_amount"},
        {"34052419800101001X|张三|340402100201|2024-03-05|住院|100|-5|0|否|A", "bad_amount"},
        {"34052419800101001X|张三|340402100201|2024-03-05|住院|99999999999999999|0|0|否|A",
         "bad_amount"},
        {"34052419800101001X|张三|340402100201|2024-03-05|3|100|50|50|否|A", "unknown_code"},
        /* a cell whose text looks like another reason keeps its class */
        {"34052419800101001X|张三|340402100201|2024-03-05|is not a date|100|50|50|否|A",
         "unknown_code"},
        {"34052419800101001X|张三|340402100201|2024-03-05|住院|100|50|50|也许|A", "bad_boolean"},
        {"34052419800101001X|张三|34040210020|2024-03-05|住院|100|50|50|否|A",
         "bad_village_code"},
        {"34052419800101001X|张三|340402100000|2024-03-05|住院|100|50|50|否|A",
         "bad_village_code"},
        {"34052419800101001X|张三|340402100201|2024-03-05|住院|100|60|50|否|A",
         "inconsistent_fields"},
        {"34052419800101001X|张三|340402100201|2024-03-05|住院|100|50|50|否", "bad_row_shape"},
        {"34052419800101001X|\xff\xfe|340402100201|2024-03-05|住院|100|50|50|否|A",
         "bad_encoding"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = class_of(HDR, cases[i].line);
        if (strcmp(got, cases[i].cls) != 0) {
            fprintf(stderr, "\n    case %zu: %s, want %s\n", i, got, cases[i].cls);
            CU_FAIL("class");
        }
    }
    /* header problems: a missing column, a column twice */
    CU_ASSERT_STRING_EQUAL(
        class_of("身份证号|姓名|村级区划代码|就诊类型|医疗总费用|基金支付|个人负担|是否大病|结算单号",
                 "34052419800101001X|张三|340402100201|住院|100|50|50|否|A"),
        "missing_column");
    CU_ASSERT_STRING_EQUAL(
        class_of("身份证号|姓名|村级区划代码|结算日期|结算日期|就诊类型|医疗总费用|基金支付|"
                 "个人负担|是否大病|结算单号",
                 "34052419800101001X|张三|340402100201|2024-03-05|2024-03-05|住院|100|50|50|否|A"),
        "duplicate_column");
    /* the engine's own */
    CU_ASSERT_EQUAL(tdc_reason_classify("the record of this row is 2000000 bytes, more than the "
                                        "1000000 a Kafka message may have (x)"),
                    TDC_REASON_TOO_LARGE);
    CU_ASSERT_EQUAL(tdc_reason_classify("household rejected: member row 7: 身份证号: identity "
                                        "number's check character is wrong"),
                    TDC_REASON_BAD_ID_NUMBER);
    CU_ASSERT_EQUAL(tdc_reason_classify("something new"), TDC_REASON_OTHER);
    CU_ASSERT_EQUAL(tdc_reason_classify(NULL), TDC_REASON_OTHER);
    /* every name is a Prometheus-friendly code */
    for (size_t i = 0; i < TDC_REASON_N_CLASSES; i++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(tdc_reason_class_names[i]);
        for (const char *p = tdc_reason_class_names[i]; *p; p++)
            CU_ASSERT((*p >= 'a' && *p <= 'z') || *p == '_');
    }
}

/* A roster household with a bad member: every row of it has that
 * member's class. */
static void test_roster_classes(void)
{
    static const char *const hdr =
        "户编号|村级区划代码|网格编号|户类型|监测状态|监测对象类别|识别时间|风险消除时间|风险消除方式|"
        "家庭人口数|收入年度|家庭年纯收入|家庭年人均纯收入|风险类型|更新时间|身份证号|姓名|与户主关系|"
        "劳动技能|残疾等级|在校生状况";
    static const char *const lines[] = {
        "H1|340402100201|G-17|脱贫户|已纳入监测|边缘易致贫户|2023-04-02|||2|2023|23700|7900|"
        "因病、03|2024-05-31 18:00:00|340402196503120021|甲|户主|技能劳动力||",
        "H1|||||||||||||||340402196811200030|乙|配偶|技能劳动力||",
    };
    t_sink s;
    tdc_dataset *ds;

    t_sink_init(&s, rsc.schema);
    ds = t_run_unit(TDC_DATASET_ROSTER, &rsc, NULL, hdr, "r.csv", lines, 2, &s);
    CU_ASSERT_EQUAL_FATAL(s.nrejs, 2);
    for (size_t i = 0; i < s.nrejs; i++)
        CU_ASSERT_STRING_EQUAL(tdc_reason_class_names[tdc_reason_classify(s.rejs[i].reason)],
                               "bad_id_number");
    tdc_dataset_free(ds);
    t_sink_done(&s);
}

static char *render(tdc_metrics *m)
{
    char *text = NULL;
    size_t len = 0;

    CU_ASSERT_FATAL(td_metrics_render(tdc_metrics_registry(m), &text, &len) == 0);
    return text;
}

/* Counts appear when their transaction commits; an abort drops them. */
static void test_commit_abort(void)
{
    tdc_metrics *m = tdc_metrics_new("medical", "medical_insurance", "1.0");
    char *text;

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    tdc_metrics_reject(m, TDC_REASON_BAD_DATE);
    tdc_metrics_aborted(m);
    tdc_metrics_reject(m, TDC_REASON_BAD_ID_NUMBER);
    tdc_metrics_reject(m, TDC_REASON_BAD_ID_NUMBER);
    tdc_metrics_committed(m, 10, 8, 0.02);
    text = render(m);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_connector_rows_read_total 10\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_connector_rows_published_total 8\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, "tuodi_connector_rows_rejected_total{reason=\"bad_id_number\"} 2\n"));
    CU_ASSERT_PTR_NULL(strstr(text, "bad_date"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, "tuodi_connector_transactions_total{result=\"committed\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, "tuodi_connector_transactions_total{result=\"aborted\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_connector_commit_duration_seconds_count 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_connector_info{connector=\"medical\","
                                        "dataset=\"medical_insurance\",version=\"1.0\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_connector_last_commit_timestamp_seconds 1"));
    CU_ASSERT_PTR_NULL(strstr(text, "tuodi_connector_files{"));
    free(text);
    tdc_metrics_free(m);
}

static void touch(const char *dir, const char *name, size_t bytes)
{
    char path[8200];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (size_t i = 0; i < bytes; i++)
        fputc('x', f);
    fclose(f);
}

static void test_spool_dirs(void)
{
    char *dir = td_test_tmpdir(), in[4096], sub[4096];
    struct tdc_spooldir_config cfg = {0};
    tdc_metrics *m = tdc_metrics_new("medical", "medical_insurance", "1.0");
    char *text;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(in, sizeof(in), "%s/in", dir);
    mkdir(in, 0700);
    touch(in, "a.csv", 100);
    touch(in, "a.csv.done", 0); /* a marker */
    touch(in, "b.csv", 23);
    touch(in, "notes.txt", 5); /* not the pattern */
    snprintf(sub, sizeof(sub), "%s/in/finished", dir);
    mkdir(sub, 0700);
    touch(sub, "old1.csv", 1);
    touch(sub, "old2.csv", 1);
    touch(sub, "old3.csv", 1);
    snprintf(sub, sizeof(sub), "%s/in/error", dir);
    mkdir(sub, 0700);
    touch(sub, "bad.csv", 1);
    touch(sub, "bad.csv.error.txt", 1);
    cfg.input_dir = in;
    cfg.pattern = "*.csv";
    cfg.marker_suffix = ".done";
    CU_ASSERT_EQUAL(tdc_metrics_spool(m, &cfg), 0);
    text = render(m);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_connector_files{state=\"waiting\"} 2\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_connector_files{state=\"processing\"} 0\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_connector_files{state=\"finished\"} 3\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_connector_files{state=\"error\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_connector_spool_waiting_bytes 123\n"));
    free(text);
    tdc_metrics_free(m);
    td_test_rmtree(dir);
    free(dir);
}

static void test_kafka_stats(void)
{
    static const char json[] =
        "{\"name\":\"p\",\"type\":\"producer\",\"msg_cnt\":17,\"brokers\":{"
        "\"localhost:9092/bootstrap\":{\"name\":\"localhost:9092/bootstrap\",\"source\":"
        "\"configured\",\"nodeid\":-1,\"state\":\"DOWN\",\"txretries\":2},"
        "\"localhost:9092/1\":{\"source\":\"configured\",\"nodeid\":1,\"state\":\"UP\","
        "\"txretries\":3},"
        "\"localhost:9093/2\":{\"source\":\"learned\",\"nodeid\":2,\"state\":\"INIT\","
        "\"txretries\":0},"
        "\"GroupCoordinator\":{\"source\":\"logical\",\"nodeid\":1,\"state\":\"UP\","
        "\"txretries\":0}}}";
    static const char json2[] =
        "{\"msg_cnt\":0,\"brokers\":{\"localhost:9092/1\":{\"source\":\"configured\","
        "\"nodeid\":1,\"state\":\"DOWN\",\"txretries\":4}}}";
    tdc_metrics *m = tdc_metrics_new("medical", "medical_insurance", "1.0");
    char *text;

    CU_ASSERT_EQUAL(tdc_metrics_kafka_stats(m, json, strlen(json)), 1);
    CU_ASSERT_EQUAL(tdc_metrics_kafka_stats(m, json2, strlen(json2)), 0);
    CU_ASSERT_EQUAL(tdc_metrics_kafka_stats(m, "{", 1), -1);
    text = render(m);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_connector_kafka_producer_queue_messages 0\n"));
    /* 5 at first, then 4 from a new producer: 9 retries in all */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_connector_kafka_producer_retries_total 9\n"));
    /* the cluster's brokers: one lost, one never needed; not the
     * bootstrap address */
    CU_ASSERT_PTR_NULL(strstr(text, "bootstrap"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, "tuodi_connector_kafka_broker_up{broker=\"localhost:9092/1\"} 0\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, "tuodi_connector_kafka_broker_up{broker=\"localhost:9093/2\"} 1\n"));
    CU_ASSERT_PTR_NULL(strstr(text, "GroupCoordinator"));
    free(text);
    tdc_metrics_free(m);
}

static void add_suites(void)
{
    td_test_suite("connector_metrics", suite_init, suite_clean);
    TD_TEST(test_classes);
    TD_TEST(test_roster_classes);
    TD_TEST(test_commit_abort);
    TD_TEST(test_spool_dirs);
    TD_TEST(test_kafka_stats);
}

TD_TEST_MAIN(add_suites)
