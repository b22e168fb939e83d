/* tuodictl's parts without Kafka: the alert fold, the report figures,
 * output formats (double-width alignment, csv quoting, json), config and
 * topics-file errors, the topics file as shipped, and verify's checks. */
#include "td_test.h"
#include "td_kafka.h"
#include "tdt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers ---- */

static tdt_alert_msg msg(const char *id, tdt_kind kind, int32_t visit_due)
{
    tdt_alert_msg m;
    memset(&m, 0, sizeof(m));
    m.alert_id = id;
    m.kind = kind;
    m.rule_id = "dibao-tekun";
    m.rule_name = "申请低保";
    m.risk_code = "01";
    m.severity = "MEDIUM";
    m.household_id = "H1";
    m.head_name = "张三";
    m.person_name = "李四";
    m.village_code = "340421100201";
    m.township_code = "340421100";
    m.county_code = "340421";
    m.raised_at = 1683244800000; /* 2023-05-05T00:00:00Z */
    m.visit_due_date = visit_due;
    m.procedure_due_date = visit_due + 26;
    m.message = "msg";
    return m;
}

static char *capture(void (*fn)(FILE *, void *), void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fn(f, arg);
    fclose(f);
    return buf;
}

#define D(y, m, d) day_of(y, m, d)
static int32_t day_of(int y, int m, int d)
{
    char s[16];
    int32_t r = 0;
    snprintf(s, sizeof(s), "%04d-%02d-%02d", y, m, d);
    CU_ASSERT_FATAL(td_avro_date_parse(s, strlen(s), &r, NULL) == 0);
    return r;
}

/* ---- the fold ---- */

static void test_fold_open_overdue_close(void)
{
    tdt_queue *q = NULL;
    const tdt_alert *a;
    tdt_alert_msg m = msg("A1", TDT_KIND_ALERT, D(2023, 5, 9));
    CU_ASSERT_FATAL(tdt_queue_new(&q) == 0);
    CU_ASSERT(tdt_queue_apply(q, &m, &a) == 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT(a->state == TDT_STATE_OPEN);
    CU_ASSERT(!tdt_alert_overdue(a, D(2023, 5, 9)));  /* a visit on the due day is in time */
    CU_ASSERT(tdt_alert_overdue(a, D(2023, 5, 10)));  /* past it: overdue without a warning */

    m = msg("A1", TDT_KIND_OVERDUE_WARNING, D(2023, 5, 9));
    m.head_name = NULL; /* a null in a later snapshot keeps what was known */
    CU_ASSERT(tdt_queue_apply(q, &m, &a) == 0);
    CU_ASSERT(a->overdue_warned);
    CU_ASSERT(tdt_alert_overdue(a, D(2023, 5, 1))); /* the warning marks it whatever the day */
    CU_ASSERT_STRING_EQUAL(a->head_name, "张三");
    CU_ASSERT_EQUAL(tdt_queue_count(q), 1);

    m = msg("A1", TDT_KIND_CLOSED, D(2023, 5, 9));
    m.has_closure = true;
    m.outcome = TDT_OUTCOME_DISMISSED;
    m.reason = "收入稳定";
    m.outcome_id = "OUT-1";
    CU_ASSERT(tdt_queue_apply(q, &m, &a) == 0);
    CU_ASSERT(a->state == TDT_STATE_CLOSED);
    CU_ASSERT(a->outcome == TDT_OUTCOME_DISMISSED);
    CU_ASSERT_STRING_EQUAL(a->reason, "收入稳定");
    CU_ASSERT(!tdt_alert_overdue(a, D(2023, 6, 1))); /* closed: never overdue */
    CU_ASSERT_EQUAL(tdt_queue_count(q), 1);
    tdt_queue_free(q);
}

/* An escalation (docs/matchd-design.md, "Arrival order and escalation") is
 * a second ALERT of the same alert id at a higher severity: it replaces the
 * first (severity and message are the latest), and the alert stays one
 * alert: raised once, its warning and first raise kept. */
static void test_fold_escalation_same_id(void)
{
    tdt_queue *q = NULL;
    const tdt_alert *a;
    tdt_stats s;
    tdt_alert_msg m = msg("A1", TDT_KIND_ALERT, D(2023, 5, 9));
    CU_ASSERT_FATAL(tdt_queue_new(&q) == 0);
    CU_ASSERT(tdt_queue_apply(q, &m, NULL) == 0);
    m = msg("A1", TDT_KIND_OVERDUE_WARNING, D(2023, 5, 9));
    CU_ASSERT(tdt_queue_apply(q, &m, NULL) == 0);
    m = msg("A1", TDT_KIND_ALERT, D(2023, 5, 9));
    m.severity = "HIGH";
    m.message = "【高】msg";
    m.raised_at += 86400000; /* even a later raised_at: the first raise stays */
    CU_ASSERT(tdt_queue_apply(q, &m, &a) == 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(tdt_queue_count(q), 1);
    CU_ASSERT_STRING_EQUAL(a->severity, "HIGH");
    CU_ASSERT_STRING_EQUAL(a->message, "【高】msg");
    CU_ASSERT_EQUAL(a->raised_at, 1683244800000);
    CU_ASSERT(a->overdue_warned);
    CU_ASSERT(a->state == TDT_STATE_OPEN);
    CU_ASSERT_PTR_NULL(a->supersedes);
    memset(&s, 0, sizeof(s));
    tdt_queue_stats(q, D(2023, 5, 10), &s);
    CU_ASSERT_EQUAL(s.raised, 1);
    CU_ASSERT_EQUAL(s.open, 1);
    CU_ASSERT_EQUAL(s.superseded, 0);
    /* a later CLOSED snapshot carries the escalated severity too */
    m = msg("A1", TDT_KIND_CLOSED, D(2023, 5, 9));
    m.severity = "HIGH";
    CU_ASSERT(tdt_queue_apply(q, &m, &a) == 0);
    CU_ASSERT_STRING_EQUAL(a->severity, "HIGH");
    CU_ASSERT_STRING_EQUAL(a->message, "【高】msg"); /* a snapshot's message is not kept */
    tdt_queue_free(q);
}

static void test_fold_supersede(void)
{
    tdt_queue *q = NULL;
    const tdt_alert *a;
    tdt_alert_msg m1 = msg("OLD", TDT_KIND_ALERT, D(2023, 5, 9));
    tdt_alert_msg m2 = msg("NEW", TDT_KIND_ALERT, D(2023, 5, 12));
    const tdt_alert **v = NULL;
    size_t n = 0;
    m2.severity = "HIGH";
    m2.supersedes_alert_id = "OLD";
    CU_ASSERT_FATAL(tdt_queue_new(&q) == 0);
    CU_ASSERT(tdt_queue_apply(q, &m1, NULL) == 0);
    CU_ASSERT(tdt_queue_apply(q, &m2, &a) == 0);
    CU_ASSERT_STRING_EQUAL(a->supersedes, "OLD");
    a = tdt_queue_find(q, "OLD");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT(a->state == TDT_STATE_SUPERSEDED);
    CU_ASSERT_STRING_EQUAL(a->superseded_by, "NEW");
    /* The open queue shows only the new one; --all shows both. */
    CU_ASSERT(tdt_queue_select(q, false, NULL, &v, &n) == 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(v[0]->alert_id, "NEW");
    free(v);
    CU_ASSERT(tdt_queue_select(q, true, NULL, &v, &n) == 0);
    CU_ASSERT_EQUAL(n, 2);
    free(v);
    tdt_queue_free(q);
}

static void test_fold_later_kind_first_and_unknown(void)
{
    tdt_queue *q = NULL;
    const tdt_alert *a = NULL;
    tdt_alert_msg m = msg("C1", TDT_KIND_CLOSED, D(2023, 5, 9));
    CU_ASSERT_FATAL(tdt_queue_new(&q) == 0);
    /* A CLOSED whose ALERT is gone (retention) still counts, from its snapshot. */
    m.has_closure = true;
    m.outcome = TDT_OUTCOME_COULD_NOT_REACH;
    CU_ASSERT(tdt_queue_apply(q, &m, &a) == 0);
    CU_ASSERT(a && a->state == TDT_STATE_CLOSED && !a->seen_alert);
    m = msg("U1", TDT_KIND_UNKNOWN, D(2023, 5, 9));
    CU_ASSERT(tdt_queue_apply(q, &m, &a) == 0);
    CU_ASSERT_PTR_NULL(a);
    CU_ASSERT_EQUAL(tdt_queue_count(q), 1);
    m.alert_id = "";
    m.kind = TDT_KIND_ALERT;
    CU_ASSERT(tdt_queue_apply(q, &m, NULL) == -EINVAL);
    tdt_queue_free(q);
}

static void test_fold_sort_and_township(void)
{
    tdt_queue *q = NULL;
    const tdt_alert **v = NULL;
    size_t n = 0;
    char ids[300][8];
    CU_ASSERT_FATAL(tdt_queue_new(&q) == 0);
    /* Enough alerts to grow the map several times; due dates in reverse. */
    for (int i = 0; i < 300; i++) {
        tdt_alert_msg m = msg(NULL, TDT_KIND_ALERT, D(2023, 1, 1) + 300 - i);
        snprintf(ids[i], sizeof(ids[i]), "X%03d", i);
        m.alert_id = ids[i];
        if (i % 2)
            m.township_code = "340421101";
        CU_ASSERT_FATAL(tdt_queue_apply(q, &m, NULL) == 0);
    }
    CU_ASSERT_EQUAL(tdt_queue_count(q), 300);
    CU_ASSERT_PTR_NOT_NULL(tdt_queue_find(q, "X157"));
    CU_ASSERT(tdt_queue_select(q, false, NULL, &v, &n) == 0);
    CU_ASSERT_EQUAL_FATAL(n, 300);
    CU_ASSERT_STRING_EQUAL(v[0]->alert_id, "X299"); /* earliest visit due first */
    CU_ASSERT_STRING_EQUAL(v[299]->alert_id, "X000");
    free(v);
    CU_ASSERT(tdt_queue_select(q, false, "340421101", &v, &n) == 0);
    CU_ASSERT_EQUAL(n, 150);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_STRING_EQUAL(v[i]->township_code, "340421101");
    free(v);
    tdt_queue_free(q);
}

static void test_stats_and_roster(void)
{
    tdt_queue *q = NULL;
    tdt_roster *r = NULL;
    tdt_stats s;
    tdt_alert_msg m;
    CU_ASSERT_FATAL(tdt_queue_new(&q) == 0);
    m = msg("A", TDT_KIND_ALERT, D(2023, 5, 9));
    tdt_queue_apply(q, &m, NULL);
    m = msg("B", TDT_KIND_ALERT, D(2023, 5, 20));
    tdt_queue_apply(q, &m, NULL);
    m = msg("C", TDT_KIND_ALERT, D(2023, 5, 9));
    tdt_queue_apply(q, &m, NULL);
    m = msg("C", TDT_KIND_CLOSED, D(2023, 5, 9));
    m.has_closure = true;
    m.outcome = TDT_OUTCOME_IDENTIFIED;
    m.category = "MARGINAL";
    tdt_queue_apply(q, &m, NULL);
    m = msg("D", TDT_KIND_ALERT, D(2023, 5, 20));
    m.supersedes_alert_id = "B";
    tdt_queue_apply(q, &m, NULL);
    memset(&s, 0, sizeof(s));
    tdt_queue_stats(q, D(2023, 5, 10), &s);
    CU_ASSERT_EQUAL(s.raised, 4);
    CU_ASSERT_EQUAL(s.open, 2);     /* A, D */
    CU_ASSERT_EQUAL(s.overdue, 1);  /* A */
    CU_ASSERT_EQUAL(s.closed, 1);
    CU_ASSERT_EQUAL(s.by_outcome[TDT_OUTCOME_IDENTIFIED], 1);
    CU_ASSERT_EQUAL(s.superseded, 1);

    CU_ASSERT_FATAL(tdt_roster_new(&r) == 0);
    CU_ASSERT(tdt_roster_apply(r, "H1", "340421100201", TDT_MON_MONITORED, 1) == 0);
    CU_ASSERT(tdt_roster_apply(r, "H2", "340421100201", TDT_MON_ELIMINATED, 1) == 0);
    CU_ASSERT(tdt_roster_apply(r, "H3", "340421100202", TDT_MON_ELIMINATED, 1) == 0);
    CU_ASSERT(tdt_roster_apply(r, "H4", "340422100201", TDT_MON_ELIMINATED, 1) == 0);
    CU_ASSERT(tdt_roster_apply(r, "H5", "340421100201", TDT_MON_NOT_MONITORED, 1) == 0);
    /* last value per key wins; a tombstone deletes */
    CU_ASSERT(tdt_roster_apply(r, "H1", "340421100201", TDT_MON_ELIMINATED, 1) == 0);
    CU_ASSERT(tdt_roster_apply(r, "H3", NULL, 0, 1) == 0);
    CU_ASSERT(tdt_roster_apply(r, "H9", NULL, 0, 1) == 0);
    for (int i = 0; i < 600; i++) { /* growth */
        char id[16];
        snprintf(id, sizeof(id), "G%d", i);
        CU_ASSERT_FATAL(tdt_roster_apply(r, id, "340405100201", TDT_MON_MONITORED, 1) == 0);
    }
    CU_ASSERT_EQUAL(tdt_roster_count(r), 4 + 600);
    memset(&s, 0, sizeof(s));
    tdt_roster_stats(r, "340421", &s);
    CU_ASSERT_EQUAL(s.monitored, 2);  /* H1, H2 */
    CU_ASSERT_EQUAL(s.eliminated, 2);
    memset(&s, 0, sizeof(s));
    tdt_roster_stats(r, "340405", &s);
    CU_ASSERT_EQUAL(s.monitored, 600);
    CU_ASSERT_EQUAL(s.eliminated, 0);
    CU_ASSERT_EQUAL(tdt_share_bp(8183, 10000), 8183);
    CU_ASSERT_EQUAL(tdt_share_bp(2, 3), 6667);
    CU_ASSERT_EQUAL(tdt_share_bp(1, 3), 3333);
    CU_ASSERT_EQUAL(tdt_share_bp(0, 0), -1);
    tdt_roster_free(r);
    tdt_queue_free(q);
}

static void test_day_cst_and_words(void)
{
    /* 2023-05-04T16:00:00Z is 2023-05-05 00:00 in China. */
    CU_ASSERT_EQUAL(tdt_day_cst(1683216000000), D(2023, 5, 5));
    CU_ASSERT_EQUAL(tdt_day_cst(1683215999999), D(2023, 5, 4));
    CU_ASSERT_STRING_EQUAL(tdt_risk_words("07"), "因务工就业不稳");
    CU_ASSERT_STRING_EQUAL(tdt_risk_words("0201"), "因自然灾害");
    CU_ASSERT_PTR_NULL(tdt_risk_words("42"));
    CU_ASSERT_STRING_EQUAL(tdt_severity_words("HIGH"), "高");
    CU_ASSERT_STRING_EQUAL(tdt_outcome_words(TDT_OUTCOME_DISMISSED), "排除");
}

/* ---- an Alert through the codec ---- */

static void test_alert_from_avro(void)
{
    td_avro_registry *reg = NULL;
    td_avro_decoder *dec = NULL;
    td_error err = {0};
    char dir[4096];
    const td_avro_schema *s;
    avro_value_t val, *out;
    td_avro_buf b = TD_AVRO_BUF_INIT;
    tdt_alert_msg m;
    const char *json =
        "{\"alert_id\":\"abc\",\"kind\":\"CLOSED\",\"rule_id\":\"r\",\"rule_version\":\"1\","
        "\"rule_name\":\"申请低保\",\"risk_code\":{\"string\":\"04\"},\"severity\":\"HIGH\","
        "\"population\":\"ROSTER_MONITORED\",\"household_id\":{\"string\":\"H1\"},"
        "\"household_type\":null,\"person_key\":null,\"person_name\":{\"string\":\"李四\"},"
        "\"village_code\":{\"string\":\"340421100201\"},\"township_code\":{\"string\":"
        "\"340421100\"},\"county_code\":{\"string\":\"340421\"},\"grid_id\":null,"
        "\"head_name\":{\"string\":\"张三\"},\"suggested_category\":null,\"evidence\":[],"
        "\"evidence_count\":0,\"measure\":null,\"raised_at\":\"2023-05-06T02:00:00Z\","
        "\"visit_due_date\":\"2023-05-09\",\"procedure_due_date\":\"2023-06-02\","
        "\"message\":\"m\",\"closure\":{\"cn.tuodi.Closure\":{\"outcome\":"
        "\"IDENTIFIED_AS_MONITORING_OBJECT\",\"category\":{\"cn.tuodi.MonitoringCategory\":"
        "\"MARGINAL\"},\"reason\":null,\"visit_date\":\"2023-05-06\",\"recorded_at\":"
        "\"2023-05-06T02:00:00Z\",\"outcome_id\":\"OUT-9\"}},\"supersedes_alert_id\":null,"
        "\"source\":{\"department\":\"RURAL_REVITALIZATION\",\"connector_instance\":\"x\","
        "\"record_id\":\"abc\",\"location\":null,\"row\":null}}";

    snprintf(dir, sizeof(dir), "%s/schemas", td_test_source_root());
    CU_ASSERT_FATAL(td_avro_registry_new(&reg) == 0);
    CU_ASSERT_FATAL(td_avro_registry_load_dir(reg, dir, NULL, &err) == 0);
    s = td_avro_registry_find_name(reg, "cn.tuodi.Alert");
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_FATAL(td_avro_schema_value_new(s, &val, &err) == 0);
    if (td_avro_value_from_json(s, json, strlen(json), &val, &err) != 0)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_FATAL(td_avro_encode(s, &val, &b, &err) == 0);
    CU_ASSERT_FATAL(td_avro_decoder_new(reg, s, &dec, &err) == 0);
    CU_ASSERT_FATAL(td_avro_decode(dec, b.data, b.len, &out, &err) == 0);
    CU_ASSERT_FATAL(tdt_alert_msg_from_avro(out, &m, &err) == 0);
    CU_ASSERT_STRING_EQUAL(m.alert_id, "abc");
    CU_ASSERT(m.kind == TDT_KIND_CLOSED);
    CU_ASSERT_STRING_EQUAL(m.severity, "HIGH");
    CU_ASSERT_STRING_EQUAL(m.risk_code, "04");
    CU_ASSERT_STRING_EQUAL(m.head_name, "张三");
    CU_ASSERT_PTR_NULL(m.supersedes_alert_id);
    CU_ASSERT(m.has_closure);
    CU_ASSERT(m.outcome == TDT_OUTCOME_IDENTIFIED);
    CU_ASSERT_STRING_EQUAL(m.category, "MARGINAL");
    CU_ASSERT_STRING_EQUAL(m.outcome_id, "OUT-9");
    CU_ASSERT_EQUAL(m.visit_due_date, D(2023, 5, 9));
    avro_value_decref(&val);
    td_avro_buf_done(&b);
    td_avro_decoder_free(dec);
    td_avro_registry_free(reg);
}

/* ---- formats ---- */

static const tdt_column cols[] = {
    {"a", "编号", false}, {"b", "村", false}, {"n", "数", true}};

static void write_table(FILE *f, void *arg)
{
    tdt_table_write(arg, TDT_FMT_TABLE, f);
}
static void write_csv(FILE *f, void *arg)
{
    tdt_table_write(arg, TDT_FMT_CSV, f);
}
static void write_json(FILE *f, void *arg)
{
    tdt_table_write(arg, TDT_FMT_JSON, f);
}

static void test_display_width(void)
{
    CU_ASSERT_EQUAL(tdt_display_width("abc"), 3);
    CU_ASSERT_EQUAL(tdt_display_width("张三"), 4);
    CU_ASSERT_EQUAL(tdt_display_width("凤台县A"), 7);
    CU_ASSERT_EQUAL(tdt_display_width("ＡＢ"), 4);    /* full-width forms */
    CU_ASSERT_EQUAL(tdt_display_width("e\xcc\x81"), 1); /* combining acute */
    CU_ASSERT_EQUAL(tdt_display_width("\xff"), 1);   /* invalid byte */
    CU_ASSERT_EQUAL(tdt_display_width(""), 0);
}

static void test_table_alignment(void)
{
    tdt_table t;
    const char *r1[] = {"A1", "凤凰村", "1"};
    const char *r2[] = {"BBBBBB", "x", "22"};
    char *s, *l1, *l2, *l3;
    tdt_table_init(&t, cols, 3);
    CU_ASSERT(tdt_table_add(&t, r1) == 0);
    CU_ASSERT(tdt_table_add(&t, r2) == 0);
    s = capture(write_table, &t);
    /* Every line's third column starts at the same display column. */
    l1 = strtok(s, "\n");
    l2 = strtok(NULL, "\n");
    l3 = strtok(NULL, "\n");
    CU_ASSERT_STRING_EQUAL(l1, "编号    村      数");
    CU_ASSERT_STRING_EQUAL(l2, "A1      凤凰村  1");
    CU_ASSERT_STRING_EQUAL(l3, "BBBBBB  x       22");
    free(s);
    tdt_table_done(&t);
}

static void test_csv_json(void)
{
    tdt_table t;
    const char *r1[] = {"a,b", "say \"hi\"\nthere", "12"};
    const char *r2[] = {"plain", "凤台县", ""};
    char *s;
    tdt_table_init(&t, cols, 3);
    CU_ASSERT(tdt_table_add(&t, r1) == 0);
    CU_ASSERT(tdt_table_add(&t, r2) == 0);
    s = capture(write_csv, &t);
    CU_ASSERT_STRING_EQUAL(s, "a,b,n\r\n\"a,b\",\"say \"\"hi\"\"\nthere\",12\r\nplain,凤台县,\r\n");
    free(s);
    s = capture(write_json, &t);
    CU_ASSERT_STRING_EQUAL(s, "[\n {\"a\":\"a,b\",\"b\":\"say \\\"hi\\\"\\nthere\",\"n\":12},\n"
                              " {\"a\":\"plain\",\"b\":\"凤台县\",\"n\":null}\n]\n");
    /* and it parses */
    {
        td_json *j = NULL;
        CU_ASSERT(td_json_parse("out", s, strlen(s), &j, NULL) == 0);
        CU_ASSERT(j && j->type == TD_JSON_ARRAY && j->len == 2);
        td_json_free(j);
    }
    free(s);
    tdt_table_done(&t);
    {
        tdt_format f;
        CU_ASSERT(tdt_format_parse("json", &f) == 0 && f == TDT_FMT_JSON);
        CU_ASSERT(tdt_format_parse("xml", &f) == -EINVAL);
    }
}

/* ---- config and topics file ---- */

static void test_config(void)
{
    tdt_config c;
    td_error err = {0};
    memset(&c, 0, sizeof(c));
    CU_ASSERT_FATAL(tdt_config_load_string("ctl.yaml", "kafka:\n  bootstrap.servers: k:9092\n",
                                           &c, &err) == 0);
    CU_ASSERT_STRING_EQUAL(c.topics.roster, "tuodi.roster.households");
    CU_ASSERT_STRING_EQUAL(c.topics.verifications_prefix, "tuodi.verifications.");
    CU_ASSERT_STRING_EQUAL(c.topics.connect_offsets_prefix, "tuodi.connect.offsets.");
    CU_ASSERT(tdt_config_set_prefix(&c, "it-1") == 0);
    CU_ASSERT_STRING_EQUAL(c.topics.roster, "it-1.roster.households");
    CU_ASSERT_STRING_EQUAL(c.topics.alerts_prefix, "it-1.alerts.");
    CU_ASSERT_STRING_EQUAL(c.topics.connect_offsets_prefix, "it-1.connect.offsets.");
    {
        char *t = tdt_alert_topic(&c, "340421");
        CU_ASSERT_STRING_EQUAL(t, "it-1.alerts.340421");
        free(t);
        /* outcomes: one topic per county, renamed with the others */
        t = tdt_verification_topic(&c, "340421");
        CU_ASSERT_STRING_EQUAL(t, "it-1.verifications.340421");
        free(t);
        t = tdt_verification_topic(&c, "unrouted");
        CU_ASSERT_STRING_EQUAL(t, "it-1.verifications.unrouted");
        free(t);
    }
    tdt_config_free(&c);

    memset(&c, 0, sizeof(c));
    CU_ASSERT(tdt_config_load_string("ctl.yaml", "kafka:\n  bootstrap.servers: k:9092\n"
                                     "timeout: 5 sec\ncounties: [340421]\nbogus: 1\n",
                                     &c, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "ctl.yaml:3:10:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "ctl.yaml:5:1:"));
    CU_ASSERT(tdt_config_load_string("ctl.yaml", "counties: [34042]\n", &c, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "6-digit"));

    {
        char *n = tdt_topic_rename("tuodi.alerts.340421", "x");
        CU_ASSERT_STRING_EQUAL(n, "x.alerts.340421");
        free(n);
        n = tdt_topic_rename("other.topic", "x");
        CU_ASSERT_STRING_EQUAL(n, "other.topic");
        free(n);
    }
}

static void test_topics_file_errors(void)
{
    tdt_topics_file f;
    td_error err = {0};
    memset(&f, 0, sizeof(f));
    CU_ASSERT(tdt_topics_file_load_string("t.yaml",
                                          "topics:\n"
                                          "  - name: a\n"
                                          "    partitions: 0\n"
                                          "  - name: b\n"
                                          "    partitions: 1\n"
                                          "    cleanup_policy: shred\n",
                                          &f, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "t.yaml:3:17:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "t.yaml:6:21:"));
    CU_ASSERT(tdt_topics_file_load_string("t.yaml",
                                          "topics:\n"
                                          "  - {name: a, partitions: 1, cleanup_policy: compact,"
                                          " retention: 1d}\n"
                                          "  - {name: a, partitions: 1}\n",
                                          &f, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "remove retention"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "listed twice"));

    /* min_compaction_lag: a duration as retention, on compacted topics only */
    CU_ASSERT_FATAL(tdt_topics_file_load_string("t.yaml",
                                                "topics:\n"
                                                "  - name: a\n"
                                                "    partitions: 1\n"
                                                "    cleanup_policy: compact\n"
                                                "    min_compaction_lag: 7d\n"
                                                "  - {name: b, partitions: 1, cleanup_policy: "
                                                "compact}\n",
                                                &f, &err) == 0);
    CU_ASSERT_EQUAL(f.topics[0].min_compaction_lag_ms, INT64_C(7) * 86400000);
    CU_ASSERT_EQUAL(f.topics[1].min_compaction_lag_ms, 0);
    tdt_topics_file_free(&f);
    memset(&f, 0, sizeof(f));
    td_error_clear(&err);
    CU_ASSERT(tdt_topics_file_load_string("t.yaml",
                                          "topics:\n"
                                          "  - name: a\n"
                                          "    partitions: 1\n"
                                          "    cleanup_policy: compact\n"
                                          "    min_compaction_lag: soon\n"
                                          "  - name: b\n"
                                          "    partitions: 1\n"
                                          "    cleanup_policy: compact\n"
                                          "    min_compaction_lag: -1d\n",
                                          &f, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "t.yaml:5:25:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "t.yaml:9:25:"));
    memset(&f, 0, sizeof(f));
    td_error_clear(&err);
    CU_ASSERT(tdt_topics_file_load_string("t.yaml",
                                          "topics:\n"
                                          "  - {name: a, partitions: 1, min_compaction_lag: 1d}\n"
                                          "  - name: b\n"
                                          "    partitions: 1\n"
                                          "    cleanup_policy: compact\n"
                                          "    config:\n"
                                          "      min.compaction.lag.ms: '1000'\n",
                                          &f, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "topics[0] (a): min_compaction_lag applies to a "
                                           "compacted topic only"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "t.yaml:7:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "write min.compaction.lag.ms as min_compaction_lag"));
}

/* The shipped deploy/topics.yaml says what the docs require. */
static void test_topics_file_shipped(void)
{
    tdt_topics_file f;
    td_error err = {0};
    char path[4096];
    const char *counties[] = {"340402", "340403", "340404", "340405", "340406", "340421",
                              "340422", "unrouted"};
    /* deploy/connectors/<file>.yaml and the instance it runs */
    static const char *const instances[][2] = {{"roster", "roster"},
                                               {"medical_insurance", "medical"},
                                               {"civil_affairs", "civil"},
                                               {"human_resources", "hr"}};
    tdt_topic_plan *p = NULL;
    size_t n = 0;

    memset(&f, 0, sizeof(f));
    snprintf(path, sizeof(path), "%s/deploy/topics.yaml", td_test_source_root());
    if (tdt_topics_file_load(path, &f, &err) != 0)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_FATAL(f.ntopics > 0);
    for (size_t c = 0; c < 3 * sizeof(counties) / sizeof(counties[0]); c++) {
        static const char *const kinds[] = {"alerts", "verifications", "suspects"};
        char name[64];
        bool found = false;
        size_t nc = sizeof(counties) / sizeof(counties[0]), k = c % nc;
        /* every county's alert topic, its verification topic, its suspect list */
        snprintf(name, sizeof(name), "tuodi.%s.%s", kinds[c / nc], counties[k]);
        for (size_t i = 0; i < f.ntopics; i++)
            if (strcmp(f.topics[i].name, name) == 0) {
                found = true;
                CU_ASSERT(f.topics[i].cleanup_policy == TDT_CLEANUP_DELETE);
                CU_ASSERT(f.topics[i].retention_ms >= INT64_C(365) * 86400000);
            }
        CU_ASSERT(found);
    }
    for (size_t i = 0; i < f.ntopics; i++) {
        const tdt_topic_def *t = &f.topics[i];
        bool positions = strncmp(t->name, "tuodi.connect.offsets", 21) == 0;
        bool compact = strcmp(t->name, "tuodi.roster.households") == 0 || positions;
        /* the connectors refuse their offsets topic with another count */
        if (positions)
            CU_ASSERT_EQUAL(t->partitions, TD_KAFKA_OFFSETS_TOPIC_PARTITIONS);
        /* one per instance, no shared one: an ACL cannot protect a key */
        CU_ASSERT(strcmp(t->name, "tuodi.connect.offsets") != 0);
        CU_ASSERT_EQUAL(t->cleanup_policy, compact ? TDT_CLEANUP_COMPACT : TDT_CLEANUP_DELETE);
        /* a recovery replay must not read a cleaned roster (docs/matchd-design.md) */
        if (strcmp(t->name, "tuodi.roster.households") == 0)
            CU_ASSERT(t->min_compaction_lag_ms >= INT64_C(86400000));
        if (strstr(t->name, ".settlements") || strstr(t->name, ".events"))
            CU_ASSERT(t->retention_ms >= INT64_C(400) * 86400000);
        CU_ASSERT(strcmp(t->name, "tuodi.verifications") != 0); /* one topic per county */
        if (strncmp(t->name, "tuodi.verifications.", 20) == 0)
            CU_ASSERT(t->retention_ms >= INT64_C(365) * 86400000);
    }
    /* the positions topic of each shipped connector instance */
    for (size_t d = 0; d < sizeof(instances) / sizeof(instances[0]); d++) {
        char file[4200], line[128], name[160];
        char *text;
        bool found = false;

        snprintf(file, sizeof(file), "%s/deploy/connectors/%s.yaml", td_test_source_root(),
                 instances[d][0]);
        text = td_test_read_file(file, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        snprintf(line, sizeof(line), "\ninstance: %s\n", instances[d][1]);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, line));
        free(text);
        snprintf(name, sizeof(name), "tuodi.connect.offsets.%s", instances[d][1]);
        for (size_t i = 0; i < f.ntopics; i++)
            found = found || strcmp(f.topics[i].name, name) == 0;
        if (!found)
            fprintf(stderr, "\n    deploy/topics.yaml: no %s\n", name);
        CU_ASSERT(found);
    }
    CU_ASSERT(tdt_topics_plan(&f, "p1", 1, &p, &n, &err) == 0);
    CU_ASSERT_EQUAL(n, f.ntopics);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT(strncmp(p[i].name, "p1.", 3) == 0);
        CU_ASSERT_EQUAL(p[i].replication_factor, 1);
    }
    tdt_topics_plan_free(p, n);
    tdt_topics_file_free(&f);
}

/* docs/tuodictl.md holds the config and topics-file references between
 * "<!-- BEGIN reference NAME -->" and "<!-- END reference NAME -->", exactly
 * as td_config_write_reference() writes them (TD_UPDATE_REFERENCE=1 rewrites
 * the sections). */
static void test_reference_docs(void)
{
    const struct {
        const char *name;
        const td_cfg_entry *table;
    } refs[] = {{"tuodictl.yaml", tdt_config_table}, {"topics.yaml", tdt_topics_file_table},
                {"acls.yaml", tdt_acl_policy_table}};

    for (size_t k = 0; k < sizeof(refs) / sizeof(refs[0]); k++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(td_config_write_reference(refs[k].table, f), 0);
        fclose(f);
        /* The docs show the paths of a build with prefix /usr. */
        buf = td_test_replace(buf, tdt_data_dir, "/usr/share/tuodi");
        CU_ASSERT(td_test_reference_block("docs/tuodictl.md", refs[k].name, buf));
        free(buf);
    }
}

/* ---- places ---- */

static void test_places(void)
{
    tdt_places *p = NULL;
    td_error err = {0};
    char path[4096];
    snprintf(path, sizeof(path), "%s/deploy/data/huainan-divisions.csv", td_test_source_root());
    CU_ASSERT_FATAL(tdt_places_load(path, &p, &err) == 0);
    CU_ASSERT_STRING_EQUAL(tdt_places_name(p, "340421"), "凤台县");
    CU_ASSERT_STRING_EQUAL(tdt_places_name(p, "340402100"), "上窑镇");
    CU_ASSERT_PTR_NULL(tdt_places_name(p, "999999"));
    CU_ASSERT_PTR_NULL(tdt_places_name(p, "34042"));
    CU_ASSERT_EQUAL(tdt_places_ncounties(p), 7);
    CU_ASSERT_STRING_EQUAL(tdt_places_county(p, 5), "340421");
    tdt_places_free(p);
    CU_ASSERT(tdt_places_load("/nonexistent/places.csv", &p, &err) == -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "places:"));
}

/* ---- verify's checks ---- */

/* An alert id as tuodi-matchd makes them: 64 lower-case hex characters. */
#define ID64 "0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd"

static tdt_verify_input vin(void)
{
    tdt_verify_input in;
    memset(&in, 0, sizeof(in));
    in.alert_id = ID64;
    in.outcome = "dismissed";
    in.reason = " 家庭收入稳定 ";
    in.verifier = "王五";
    in.reviewer = "赵六";
    in.visit_date = "2023-05-06";
    in.now_ms = 1683338400000; /* 2023-05-06T02:00:00Z */
    return in;
}

static void test_verify_checks(void)
{
    tdt_verify_input in = vin();
    tdt_verification v;
    td_error err = {0};

    CU_ASSERT_FATAL(tdt_verify_check(&in, &v, &err) == 0);
    CU_ASSERT(v.outcome == TDT_OUTCOME_DISMISSED);
    CU_ASSERT_STRING_EQUAL(v.reason, "家庭收入稳定"); /* trimmed */
    CU_ASSERT_EQUAL(strlen(v.outcome_id), 36);     /* a UUID */
    CU_ASSERT_EQUAL(v.outcome_id[14], '4');
    tdt_verification_done(&v);

    in = vin(); /* two-person rule, after trimming (also the ideographic space) */
    in.reviewer = "\xE3\x80\x80王五 ";
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "two-person rule"));
    in.reviewer = "  ";
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "two-person rule"));
    in.reviewer = NULL;
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);

    in = vin(); /* dismissed needs a reason */
    in.reason = "   ";
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--reason"));

    in = vin(); /* identified needs a category, and only it takes one */
    in.outcome = "识别为监测对象";
    in.reason = NULL;
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--category"));
    in.category = "边缘易致贫户";
    CU_ASSERT_FATAL(tdt_verify_check(&in, &v, &err) == 0);
    CU_ASSERT_STRING_EQUAL(v.category, "MARGINAL");
    CU_ASSERT(v.outcome == TDT_OUTCOME_IDENTIFIED);
    tdt_verification_done(&v);
    in.outcome = "could-not-reach";
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);
    in.category = "poorish";
    in.outcome = "identified";
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);

    in = vin(); /* unknown outcome */
    in.outcome = "maybe";
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "dismissed"));

    in = vin(); /* no identity number in the reason, and none echoed */
    in.reason = "户主340421198001010011收入稳定";
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);
    CU_ASSERT_PTR_NULL(strstr(err.msg, "340421198001010011"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "identity number"));

    in = vin(); /* dates */
    in.visit_date = "2023-05-07";
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);
    in.visit_date = "2023-02-30";
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);
    in.visit_date = NULL;
    CU_ASSERT_FATAL(tdt_verify_check(&in, &v, &err) == 0);
    CU_ASSERT_EQUAL(v.visit_date, D(2023, 5, 6));
    tdt_verification_done(&v);

    in = vin(); /* alert ids */
    in.alert_id = "has space";
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);
    in.alert_id = "";
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);
}

static void test_verify_encode(void)
{
    tdt_verify_input in = vin();
    tdt_verification v;
    td_error err = {0};
    td_avro_registry *reg = NULL;
    td_avro_decoder *dec = NULL;
    td_avro_buf b = TD_AVRO_BUF_INIT, j = TD_AVRO_BUF_INIT;
    avro_value_t *out;
    char dir[4096];
    const td_avro_schema *s;

    in.outcome_id = "OUT-7";
    in.reason = "已核实 \"稳定\"";
    CU_ASSERT_FATAL(tdt_verify_check(&in, &v, &err) == 0);
    snprintf(dir, sizeof(dir), "%s/schemas", td_test_source_root());
    CU_ASSERT_FATAL(td_avro_registry_new(&reg) == 0);
    CU_ASSERT_FATAL(td_avro_registry_load_dir(reg, dir, NULL, &err) == 0);
    CU_ASSERT_FATAL(tdt_verification_encode(reg, &v, &b, &err) == 0);
    s = td_avro_registry_find_name(reg, "cn.tuodi.VerificationOutcome");
    CU_ASSERT_FATAL(td_avro_decoder_new(reg, s, &dec, &err) == 0);
    CU_ASSERT_FATAL(td_avro_decode(dec, b.data, b.len, &out, &err) == 0);
    CU_ASSERT_FATAL(td_avro_value_to_json(s, out, &j, &err) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)j.data, "\"alert_id\":\"" ID64 "\""));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)j.data, "\"outcome\":\"DISMISSED\""));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)j.data, "已核实 \\\"稳定\\\""));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)j.data, "\"visit_date\":\"2023-05-06\""));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)j.data, "\"recorded_at\":\"2023-05-06T02:00:00.000Z\""));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)j.data, "\"record_id\":\"OUT-7\""));
    CU_ASSERT_PTR_NOT_NULL(strstr((char *)j.data, "\"connector_instance\":\"tuodictl\""));
    td_avro_buf_done(&j);
    td_avro_buf_done(&b);
    td_avro_decoder_free(dec);
    td_avro_registry_free(reg);
    tdt_verification_done(&v);
}


/* ---- bad arguments, as a new user types them (issue 10, defect 13) ---- */

/* A port on 127.0.0.1 that nothing listens on: bound, then closed. */
static int closed_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    CU_ASSERT_FATAL(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* A config with the shipped places file and schemas and a broker that is
 * not there (what reaches Kafka fails with exit 1 after timeout). extra is
 * appended. Returns the path (static buffer). */
static const char *bad_args_config_t(const char *dir, const char *timeout, const char *extra)
{
    static char cfg[4096];
    char text[8192];
    snprintf(cfg, sizeof(cfg), "%s/ctl-args.yaml", dir);
    snprintf(text, sizeof(text),
             "kafka:\n  bootstrap.servers: 127.0.0.1:%d\ntimeout: %s\n"
             "places: %s/deploy/data/huainan-divisions.csv\nschemas_dir: %s/schemas\n"
             "topics_file: %s/deploy/topics.yaml\n%s",
             closed_port(), timeout, td_test_source_root(), td_test_source_root(), td_test_source_root(),
             extra ? extra : "");
    CU_ASSERT_FATAL(td_test_write_file(cfg, text) == 0);
    return cfg;
}

static const char *bad_args_config(const char *dir, const char *extra)
{
    return bad_args_config_t(dir, "1s", extra);
}

static int run(const char *const *args, char **out, char **errs);

/* Runs args (after "tuodictl --config cfg") and checks the exit status and
 * that stderr holds every string of want (NULL-terminated) and none of
 * unwanted. */
static void expect(const char *cfg, const char *const *args, int status,
                   const char *const *want, const char *const *unwanted)
{
    const char *a[32] = {"tuodictl", "--config", cfg};
    char *o, *e;
    size_t n = 3;
    int r;
    for (size_t i = 0; args[i] && n < 31; i++)
        a[n++] = args[i];
    a[n] = NULL;
    r = run(a, &o, &e);
    CU_ASSERT_EQUAL(r, status);
    for (size_t i = 0; want && want[i]; i++) {
        CU_ASSERT_PTR_NOT_NULL(strstr(e, want[i]));
        if (!strstr(e, want[i]))
            fprintf(stderr, "\n  %s %s: stderr lacks \"%s\":\n%s", args[0], args[1] ? args[1] : "",
                    want[i], e);
    }
    for (size_t i = 0; unwanted && unwanted[i]; i++)
        CU_ASSERT_PTR_NULL(strstr(e, unwanted[i]));
    if (r != status)
        fprintf(stderr, "\n  %s %s: exit %d, wanted %d:\n%s", args[0], args[1] ? args[1] : "", r,
                status, e);
    free(o);
    free(e);
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

/* --county: a code of the wrong length says so (not "required") and names
 * the nearest counties; an unknown code is refused before Kafka, by every
 * command that takes one; report prints no row of zeros for it. */
static void test_args_county(void)
{
    char *dir = td_test_tmpdir();
    const char *cfg = bad_args_config(dir, NULL);

    expect(cfg, L("alerts", "--county", "34042"), TDT_EXIT_USAGE,
           L("--county 34042: a county code has 6 digits, not 5", "did you mean 340421 凤台县",
             "340422 寿县"),
           L("is required", "kafka"));
    expect(cfg, L("alerts", "--county", "凤台"), TDT_EXIT_USAGE, L("did you mean 340421 凤台县?"),
           NULL);
    expect(cfg, L("alerts", "--county", "999999"), TDT_EXIT_USAGE,
           L("--county 999999: no such county in the places file", "huainan-divisions.csv",
             "the counties are 340402 大通区", "340422 寿县"),
           L("kafka"));
    expect(cfg, L("alerts", "--county", "340412"), TDT_EXIT_USAGE,
           L("did you mean 340402 大通区, 340421 凤台县"), NULL);
    expect(cfg, L("verify", ID64, "--outcome", "could-not-reach", "--verifier", "王五",
                  "--reviewer", "赵六", "--county", "999999"),
           TDT_EXIT_USAGE, L("--county 999999: no such county"), L("kafka"));
    expect(cfg, L("report", "--county", "340499"), TDT_EXIT_USAGE,
           L("--county 340499: no such county"), L("kafka"));
    expect(cfg, L("report", "--county", "340421", "--county", "3404"), TDT_EXIT_USAGE,
           L("--county 3404: a county code has 6 digits, not 4"), NULL);
    expect(cfg, L("report", "--county", "unrouted"), TDT_EXIT_USAGE,
           L("row 未定位 of the report without --county"), NULL);
    /* a missing value is missing, not the next option */
    expect(cfg, L("alerts", "--county", "--all"), TDT_EXIT_USAGE, L("--county needs a value"),
           NULL);
    expect(cfg, L("alerts", "--county="), TDT_EXIT_USAGE,
           L("--county needs a value", "the counties are"), NULL);
    expect(cfg, L("report", "--county", "--format", "json"), TDT_EXIT_USAGE,
           L("--county needs a value"), NULL);
    expect(cfg, L("alerts"), TDT_EXIT_USAGE, L("--county CODE is required", "340421 凤台县"),
           NULL);
    /* the report of a county the places file does not know: nothing printed */
    {
        const char *a[] = {"tuodictl", "--config", cfg, "report", "--county", "340499", NULL};
        char *o, *e;
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_USAGE);
        CU_ASSERT_STRING_EQUAL(o, "");
        free(o);
        free(e);
    }
    /* counties: in the config is checked the same way */
    cfg = bad_args_config(dir, "counties: [340421, 340499]\n");
    expect(cfg, L("report"), TDT_EXIT_USAGE,
           L("counties: 340499 is not a county of the places file"), L("kafka"));
    td_test_rmtree(dir);
    free(dir);
}

/* --township: of the county, and in the places file. */
static void test_args_township(void)
{
    char *dir = td_test_tmpdir();
    const char *cfg = bad_args_config(dir, NULL);
    expect(cfg, L("alerts", "--county", "340421", "--township", "340422100"), TDT_EXIT_USAGE,
           L("--township 340422100 (寿春镇) is in 340422 寿县, not in 340421 凤台县"), NULL);
    expect(cfg, L("alerts", "--county", "340421", "--township", "340421999"), TDT_EXIT_USAGE,
           L("--township 340421999: no such township of 340421 凤台县",
             "the townships of 340421 凤台县 are 340421100 城关镇"),
           L("kafka"));
    expect(cfg, L("alerts", "--county", "340421", "--township", "城关镇"), TDT_EXIT_USAGE,
           L("did you mean 340421100 城关镇?"), NULL);
    expect(cfg, L("alerts", "--county", "340421", "--township", "3404211"), TDT_EXIT_USAGE,
           L("a township code has 9 digits, not 7"), NULL);
    expect(cfg, L("alerts", "--county", "unrouted", "--township", "340421100"), TDT_EXIT_USAGE,
           L("--township goes with a county code"), NULL);
    td_test_rmtree(dir);
    free(dir);
}

/* Dates: a well-formed day that does not exist says why; a visit in the
 * future is refused. */
static void test_args_dates(void)
{
    char *dir = td_test_tmpdir();
    const char *cfg = bad_args_config(dir, NULL);
    td_error err = {0};
    int32_t d = 0;

    expect(cfg, L("verify", ID64, "--outcome", "could-not-reach", "--verifier", "王五",
                  "--reviewer", "赵六", "--visit-date", "2023-02-30"),
           TDT_EXIT_USAGE, L("--visit-date 2023-02-30 is not a date: February 2023 has 28 days"),
           L("expected YYYY-MM-DD"));
    expect(cfg, L("verify", ID64, "--outcome", "could-not-reach", "--verifier", "王五",
                  "--reviewer", "赵六", "--visit-date", "2999-01-01"),
           TDT_EXIT_USAGE, L("--visit-date 2999-01-01 is in the future (today is "), NULL);
    expect(cfg, L("alerts", "--county", "340421", "--today", "2023-04-31"), TDT_EXIT_USAGE,
           L("tuodictl alerts: --today 2023-04-31 is not a date: April 2023 has 30 days"), NULL);
    expect(cfg, L("report", "--today", "2023/05/06"), TDT_EXIT_USAGE,
           L("--today 2023/05/06: expected a date as YYYY-MM-DD, e.g. 2023-05-06"), NULL);

    CU_ASSERT(tdt_date_arg("--d", "2024-02-29", &d, &err) == 0);
    CU_ASSERT_EQUAL(d, D(2024, 2, 29));
    CU_ASSERT(tdt_date_arg("--d", "1900-02-29", &d, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "February 1900 has 28 days"));
    CU_ASSERT(tdt_date_arg("--d", "2023-13-01", &d, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no month 13"));
    CU_ASSERT(tdt_date_arg("--d", "2023-00-10", &d, &err) == -EINVAL);
    CU_ASSERT(tdt_date_arg("--d", "2023-01-00", &d, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "January 2023 has 31 days"));
    CU_ASSERT(tdt_date_arg("--d", "0000-01-01", &d, &err) == -EINVAL);
    CU_ASSERT(tdt_date_arg("--d", "2023-5-6", &d, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "expected a date as YYYY-MM-DD"));
    CU_ASSERT(tdt_date_arg("--d", "", &d, &err) == -EINVAL);
    td_test_rmtree(dir);
    free(dir);
}

/* Options: a typo gets the nearest name, a flag takes no value, the
 * options of every command also after it, one subcommand of topics. */
static void test_args_options(void)
{
    char *dir = td_test_tmpdir();
    const char *cfg = bad_args_config(dir, NULL);
    expect(cfg, L("alerts", "--county", "340421", "--countyy", "340421"), TDT_EXIT_USAGE,
           L("unknown option --countyy; did you mean --county?"), NULL);
    expect(cfg, L("alerts", "--county", "340421", "--all=yes"), TDT_EXIT_USAGE,
           L("--all takes no value"), NULL);
    expect(cfg, L("alerts", "--county", "340421", "--format", "bogus"), TDT_EXIT_USAGE,
           L("--format bogus: expected table, csv or json"), NULL);
    expect(cfg, L("report", "--format", "xml"), TDT_EXIT_USAGE,
           L("--format xml: expected table, csv or json"), NULL);
    expect(cfg, L("topics", "delete"), TDT_EXIT_USAGE, L("unknown subcommand \"delete\""), NULL);
    expect(cfg, L("topics", "create", "--replication-factor", "three"), TDT_EXIT_USAGE,
           L("--replication-factor three: expected a whole number from 1 to 16"), NULL);
    expect(cfg, L("topics", "create", "--replication-factor"), TDT_EXIT_USAGE,
           L("--replication-factor needs a value"), NULL);
    expect(cfg, L("verify", ID64, "extra"), TDT_EXIT_USAGE, L("unexpected argument \"extra\""),
           NULL);
    expect(cfg, L("alert", "--county", "340421"), TDT_EXIT_USAGE,
           L("unknown command \"alert\"; did you mean alerts?"), NULL);
    /* the command forgotten: its option first */
    expect(cfg, L("--county", "340421"), TDT_EXIT_USAGE,
           L("--county goes after the command, e.g. tuodictl alerts --county 340421"), NULL);
    /* --config after the command is the config too (not "unknown option") */
    {
        const char *a[] = {"tuodictl", "alerts", "--county", "340421", "--config",
                           "/nonexistent/ctl.yaml", NULL};
        char *o, *e;
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "/nonexistent/ctl.yaml"));
        free(o);
        free(e);
    }
    {
        const char *a[] = {"tuodictl", "help", "verify", NULL};
        char *o, *e;
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_OK);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "verify ALERT_ID --outcome"));
        free(o);
        free(e);
    }
    td_test_rmtree(dir);
    free(dir);
}

/* Alert ids: a shortened one (the table shows 12 characters) is refused
 * without --county, and looked up with it: unique prefix, ambiguous, too
 * short. */
static void test_args_alert_id(void)
{
    char *dir = td_test_tmpdir();
    const char *cfg = bad_args_config(dir, NULL);
    tdt_queue *q = NULL;
    const tdt_alert *found[4];
    size_t n = 0;
    tdt_alert_msg m;

    expect(cfg, L("verify", "0123abcd0123", "--outcome", "could-not-reach", "--verifier", "王五",
                  "--reviewer", "赵六"),
           TDT_EXIT_USAGE,
           L("--county CODE is required: the county of the alert",
             "tuodi.verifications.340421"),
           L("kafka"));
    /* ids that are not tuodi-matchd's shape are taken as given */
    CU_ASSERT_FALSE(tdt_alert_id_shortened("A1-open-past-due"));
    CU_ASSERT_FALSE(tdt_alert_id_shortened(ID64));
    CU_ASSERT_FALSE(tdt_alert_id_shortened("0123ABCD"));
    CU_ASSERT(tdt_alert_id_shortened("0123abcd"));

    CU_ASSERT_FATAL(tdt_queue_new(&q) == 0);
    m = msg("5f0c1a2b3c4d5e6f-one", TDT_KIND_ALERT, D(2023, 5, 9));
    CU_ASSERT(tdt_queue_apply(q, &m, NULL) == 0);
    m = msg("5f0c1a2b3c4d9999-two", TDT_KIND_ALERT, D(2023, 5, 9));
    CU_ASSERT(tdt_queue_apply(q, &m, NULL) == 0);
    m = msg("5f0c", TDT_KIND_ALERT, D(2023, 5, 9));
    CU_ASSERT(tdt_queue_apply(q, &m, NULL) == 0);
    CU_ASSERT(tdt_queue_resolve(q, "5f0c1a2b3c4d5", found, 4, &n) == 0); /* unique prefix */
    CU_ASSERT_STRING_EQUAL(found[0]->alert_id, "5f0c1a2b3c4d5e6f-one");
    CU_ASSERT(tdt_queue_resolve(q, "5f0c1a2b3c4d", found, 4, &n) == -ENOTUNIQ);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT(tdt_queue_resolve(q, "5f0c1a", found, 4, &n) == -EINVAL); /* too short */
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT(tdt_queue_resolve(q, "5f0c", found, 4, &n) == 0); /* a whole id, however short */
    CU_ASSERT_STRING_EQUAL(found[0]->alert_id, "5f0c");
    CU_ASSERT(tdt_queue_resolve(q, "5f0c1a2b3c4d7", found, 4, &n) == -ENOENT);
    CU_ASSERT(tdt_queue_resolve(q, "", found, 4, &n) == -ENOENT);
    CU_ASSERT(tdt_queue_resolve(q, "zz", found, 4, &n) == -ENOENT); /* short, but no alert */
    tdt_queue_free(q);
    td_test_rmtree(dir);
    free(dir);
}

/* The suggestions themselves. */
static void test_places_suggest(void)
{
    tdt_places *p = NULL;
    td_error err = {0};
    const char *codes[8];
    char path[4096];
    snprintf(path, sizeof(path), "%s/deploy/data/huainan-divisions.csv", td_test_source_root());
    CU_ASSERT_FATAL(tdt_places_load(path, &p, &err) == 0);
    CU_ASSERT_EQUAL(tdt_places_level(p, "340421"), TDT_LEVEL_COUNTY);
    CU_ASSERT_EQUAL(tdt_places_level(p, "340421100"), TDT_LEVEL_TOWNSHIP);
    CU_ASSERT_EQUAL(tdt_places_level(p, "340421000"), TDT_LEVEL_NONE);
    CU_ASSERT_EQUAL(tdt_places_level(p, "340499"), TDT_LEVEL_NONE);
    CU_ASSERT_EQUAL(tdt_places_level(p, "340400"), TDT_LEVEL_NONE); /* the city */
    CU_ASSERT_EQUAL(tdt_places_suggest(p, NULL, "34042", codes, 8), 3);
    CU_ASSERT_STRING_EQUAL(codes[0], "340421");
    CU_ASSERT_STRING_EQUAL(codes[1], "340422");
    CU_ASSERT_STRING_EQUAL(codes[2], "340402"); /* a 0 left out */
    CU_ASSERT_EQUAL(tdt_places_suggest(p, NULL, "寿县", codes, 8), 1);
    CU_ASSERT_STRING_EQUAL(codes[0], "340422");
    CU_ASSERT_EQUAL(tdt_places_suggest(p, NULL, "999999", codes, 8), 0);
    CU_ASSERT(tdt_places_suggest(p, "340421", "340421190", codes, 8) >= 1);
    CU_ASSERT_STRING_EQUAL(codes[0], "340421100"); /* a digit off */
    CU_ASSERT_EQUAL(tdt_places_list(p, NULL, codes, 8), 7);
    CU_ASSERT_EQUAL(tdt_places_list(p, "340421", codes, 2), 19);
    CU_ASSERT_STRING_EQUAL(codes[0], "340421100");
    tdt_places_free(p);
}

/* Kafka unreachable: the program itself, stderr to a file. Without -v one
 * line (the summary, saying what to check), none of librdkafka's; with -v
 * librdkafka's lines too. */
static char *run_program(const char *const *args, int *status)
{
    const char *build = getenv("TD_BUILD_ROOT");
    char exe[4096], errp[4096];
    char *dir = td_test_tmpdir(), *text;
    pid_t pid;
    snprintf(exe, sizeof(exe), "%s/tools/tuodictl/tuodictl", build ? build : ".");
    snprintf(errp, sizeof(errp), "%s/stderr", dir);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        int fd = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int nul = open("/dev/null", O_WRONLY);
        if (fd < 0 || nul < 0)
            _exit(127);
        dup2(fd, 2);
        dup2(nul, 1);
        execv(exe, (char *const *)args);
        _exit(127);
    }
    CU_ASSERT_FATAL(waitpid(pid, status, 0) == pid);
    text = td_test_read_file(errp, NULL);
    td_test_rmtree(dir);
    free(dir);
    return text ? text : strdup("");
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* What is told without -v: every broker down while --follow waits, once
 * until messages come again; nothing before the catch-up (the one-line
 * summary says it then). */
static void test_kafka_notice(void)
{
    tdt_kafka_diag d;
    tdt_kafka_diag_init(&d, false);
    CU_ASSERT_FALSE(tdt_kafka_diag_notice(&d, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN));
    d.following = true;
    CU_ASSERT_FALSE(tdt_kafka_diag_notice(&d, RD_KAFKA_RESP_ERR__TRANSPORT));
    CU_ASSERT_TRUE(tdt_kafka_diag_notice(&d, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN));
    CU_ASSERT_FALSE(tdt_kafka_diag_notice(&d, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN));
    d.told_down = false; /* a message came */
    CU_ASSERT_TRUE(tdt_kafka_diag_notice(&d, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN));
    tdt_kafka_diag_done(&d);
    tdt_kafka_diag_init(&d, true); /* -v: librdkafka's own line says it */
    d.following = true;
    CU_ASSERT_FALSE(tdt_kafka_diag_notice(&d, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN));
    tdt_kafka_diag_done(&d);
}

static void test_kafka_quiet(void)
{
    char *dir = td_test_tmpdir();
    char cfg[4096];
    int status = 0;
    /* 2 s: librdkafka has said something by then */
    snprintf(cfg, sizeof(cfg), "%s", bad_args_config_t(dir, "2s", NULL));
    {
        const char *const cmds[][14] = {
            {"tuodictl", "--config", cfg, "alerts", "--county", "340421", NULL},
            {"tuodictl", "--config", cfg, "verify", ID64, "--outcome", "could-not-reach",
             "--verifier", "王五", "--reviewer", "赵六", "--county", "340421", NULL},
            {"tuodictl", "--config", cfg, "topics", "create", NULL},
        };
        for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
            char *e = run_program(cmds[i], &status);
            CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == TDT_EXIT_FAILURE);
            CU_ASSERT_EQUAL(count_lines(e), 1);
            CU_ASSERT_PTR_NULL(strstr(e, "rdkafka#")); /* rdkafka#consumer-1: FAIL: ... */
            CU_ASSERT_PTR_NOT_NULL(strstr(e, "cannot reach a broker at 127.0.0.1:"));
            CU_ASSERT_PTR_NOT_NULL(strstr(e, "Connection refused"));
            CU_ASSERT_PTR_NOT_NULL(strstr(e, "Check that a broker listens there"));
            CU_ASSERT_PTR_NOT_NULL(strstr(e, "-v shows librdkafka's messages"));
            if (count_lines(e) != 1)
                fprintf(stderr, "\n  %s: stderr:\n%s", cmds[i][3], e);
            free(e);
        }
    }
    {
        const char *a[] = {"tuodictl", "--config", cfg, "-v", "alerts", "--county", "340421",
                           NULL};
        const char *b[] = {"tuodictl", "--config", cfg, "alerts", "--county", "340421", "-v",
                           NULL};
        char *e = run_program(a, &status);
        CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == TDT_EXIT_FAILURE);
        CU_ASSERT(count_lines(e) > 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "rdkafka#"));
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "cannot reach a broker at 127.0.0.1:"));
        free(e);
        e = run_program(b, &status); /* -v after the command too */
        CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == TDT_EXIT_FAILURE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "rdkafka#"));
        free(e);
    }
    td_test_rmtree(dir);
    free(dir);
}

/* ---- the command line without Kafka ---- */

static int run(const char *const *args, char **out, char **errs)
{
    char *ob = NULL, *eb = NULL;
    size_t ol = 0, el = 0;
    FILE *of = open_memstream(&ob, &ol), *ef = open_memstream(&eb, &el);
    int argc = 0, r;
    char *argv[32];
    while (args[argc]) {
        argv[argc] = (char *)args[argc];
        argc++;
    }
    argv[argc] = NULL;
    r = tdt_main(argc, argv, of, ef);
    fclose(of);
    fclose(ef);
    *out = ob;
    *errs = eb;
    return r;
}

static void test_cli(void)
{
    char *o, *e, cfg[4096];
    char *dir = td_test_tmpdir();
    const char *help[][4] = {{"tuodictl", "--help", NULL},
                             {"tuodictl", "topics", "--help", NULL},
                             {"tuodictl", "alerts", "--help", NULL},
                             {"tuodictl", "verify", "--help", NULL},
                             {"tuodictl", "report", "--help", NULL},
                             {"tuodictl", "dead-letters", "--help", NULL}};
    for (size_t i = 0; i < sizeof(help) / sizeof(help[0]); i++) {
        CU_ASSERT_EQUAL(run(help[i], &o, &e), TDT_EXIT_OK);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "Usage: tuodictl"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "Exit status"));
        free(o);
        free(e);
    }
    {
        const char *a[] = {"tuodictl", "frobnicate", NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "unknown command"));
        free(o);
        free(e);
    }
    {
        const char *a[] = {"tuodictl", "alerts", NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "--county"));
        free(o);
        free(e);
    }
    {
        const char *a[] = {"tuodictl", "verify", "A1", "--outcome", "dismissed", "--verifier",
                           "王五", "--reviewer", "王五", "--reason", "x", NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "two-person rule"));
        free(o);
        free(e);
    }
    /* An identity number typed by mistake is not echoed. */
    {
        const char *a[] = {"tuodictl", "verify", "A1", "340421198001010011", NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "unexpected argument"));
        CU_ASSERT_PTR_NULL(strstr(e, "340421198001010011"));
        free(o);
        free(e);
    }
    {
        const char *a[] = {"tuodictl", "340421198001010011", NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "unknown command"));
        CU_ASSERT_PTR_NULL(strstr(e, "340421198001010011"));
        free(o);
        free(e);
    }
    /* A config error: file:line:col and exit 2. */
    snprintf(cfg, sizeof(cfg), "%s/ctl.yaml", dir);
    CU_ASSERT_FATAL(td_test_write_file(cfg, "kafka:\n  bootstrap.servers: x:1\ntimeout: soon\n")
                    == 0);
    {
        const char *a[] = {"tuodictl", "--config", cfg, "report", NULL};
        char want[4200];
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_USAGE);
        snprintf(want, sizeof(want), "%s:3:10:", cfg);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, want));
        free(o);
        free(e);
    }
    {
        const char *a[] = {"tuodictl", "--config", "/nonexistent/t.yaml", "report", NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "--config FILE"));
        free(o);
        free(e);
    }
    /* A places file that is not there: a config error, saying which key. */
    CU_ASSERT_FATAL(td_test_write_file(cfg, "kafka:\n  bootstrap.servers: 127.0.0.1:1\n"
                                            "places: /nonexistent/places.csv\n") == 0);
    {
        const char *a[] = {"tuodictl", "--config", cfg, "alerts", "--county", "340421", NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "/nonexistent/places.csv"));
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "places:"));
        free(o);
        free(e);
    }
    /* Kafka unreachable: exit 1 and what to do. */
    CU_ASSERT_FATAL(td_test_write_file(cfg, "kafka:\n  bootstrap.servers: 127.0.0.1:1\n"
                                            "timeout: 2s\n") == 0);
    {
        char tf[4200];
        snprintf(tf, sizeof(tf), "%s/deploy/topics.yaml", td_test_source_root());
        const char *a[] = {"tuodictl", "--config", cfg, "topics", "create", "--file", tf, NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_FAILURE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "bootstrap.servers"));
        free(o);
        free(e);
    }
    td_test_rmtree(dir);
    free(dir);
}

/* --check-config (issue 11): the config and the files it names, every
 * problem at once with its key's file:line:col, nothing created; as nobody
 * when the tests run as root, for the permission check. */
static void test_check_config(void)
{
    char *o, *e, cfg[4096], text[8192], cmd[8192], out[16384], want[4300];
    char *dir = td_test_tmpdir();
    const char *b = getenv("TD_BUILD_ROOT");

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL(chmod(dir, 0755), 0);
    snprintf(cfg, sizeof(cfg), "%s/ctl.yaml", dir);
    snprintf(text, sizeof(text),
             "kafka:\n  bootstrap.servers: 127.0.0.1:1\n"
             "schemas_dir: %s/schemas\nplaces: %s/deploy/data/huainan-divisions.csv\n"
             "topics_file: %s/deploy/topics.yaml\n",
             td_test_source_root(), td_test_source_root(), td_test_source_root());
    CU_ASSERT_FATAL(td_test_write_file(cfg, text) == 0);
    {
        const char *a[] = {"tuodictl", "--config", cfg, "--check-config", NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_OK);
        snprintf(want, sizeof(want), "%s: ok (", cfg);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, want));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, " topics in "));
        free(o);
        free(e);
    }
    {
        const char *a[] = {"tuodictl", "--config", cfg, "--check-config", "report", NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "--check-config takes no command"));
        free(o);
        free(e);
    }
    /* the access policy beside it (acls_file: acls.yaml) is checked too */
    {
        const char *a[] = {"tuodictl", "--config", cfg, "--check-config", NULL};
        char pol[4200];
        snprintf(pol, sizeof(pol), "%s/acls.yaml", dir);
        CU_ASSERT_FATAL(td_test_write_file(pol, "principals:\n  - user: a\n    allow:\n"
                                                "      - topic: t\n        ops: [Wirte]\n") == 0);
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "unknown operation \"Wirte\" (did you mean Write?)"));
        free(o);
        free(e);
        unlink(pol);
    }
    /* every problem: a missing topics file and places file, an unreadable
     * certificate (as nobody) */
    snprintf(text, sizeof(text),
             "kafka:\n"                                /* 1 */
             "  bootstrap.servers: 127.0.0.1:1\n"      /* 2 */
             "  ssl.ca.location: %s/ca.pem\n"          /* 3 */
             "schemas_dir: %s/schemas\n"               /* 4 */
             "places: no-places.csv\n"                 /* 5 */
             "topics_file: no-topics.yaml\n",          /* 6 */
             dir, td_test_source_root());
    CU_ASSERT_FATAL(td_test_write_file(cfg, text) == 0);
    snprintf(want, sizeof(want), "%s/ca.pem", dir);
    CU_ASSERT_FATAL(td_test_write_file(want, "not a certificate\n") == 0);
    CU_ASSERT_EQUAL(chmod(want, 0000), 0);
    snprintf(cmd, sizeof(cmd), "%s/tools/tuodictl/tuodictl --config %s --check-config",
             b ? b : "build", cfg);
    CU_ASSERT_EQUAL(td_test_run_unprivileged(cmd, out, sizeof(out)), TDT_EXIT_USAGE);
    snprintf(want, sizeof(want), "%s:6:1: topics_file: %s/no-topics.yaml: ", cfg, dir);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
    snprintf(want, sizeof(want), "%s:5:1: places: %s/no-places.csv: ", cfg, dir);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
    snprintf(want, sizeof(want), "%s:3:3: kafka.ssl.ca.location: %s/ca.pem: ", cfg, dir);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "has no read permission on it"));
    if (!strstr(out, "has no read permission"))
        fprintf(stderr, "\n    output:\n%s", out);
    td_test_rmtree(dir);
    free(dir);
}

/* ---- dead letters ---- */

#define DLQ_ID "340421198001010011"

static rd_kafka_headers_t *dlq_headers(const char *const *kv)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(16);
    for (size_t i = 0; kv[i]; i += 2)
        rd_kafka_header_add(h, kv[i], -1, kv[i + 1], -1);
    return h;
}

/* A connector's dead letter of row (line = row + 1) at ts, reason with an
 * identity number the writer failed to mask. */
static void dlq_connector(tdt_dead_letter *d, const char *instance, const char *location,
                          const char *row, const char *line, int64_t ts, const char *value)
{
    rd_kafka_headers_t *h = dlq_headers(L(
        "tuodi.connector", instance, "tuodi.dataset", "medical_insurance", "tuodi.location",
        location, "tuodi.row", row, "tuodi.line", line, "tuodi.column", "身份证号",
        "tuodi.reason", "a.csv:7: 身份证号 " DLQ_ID ": wrong check character", "tuodi.stage",
        "validate", "tuodi.source_bytes", "120"));
    CU_ASSERT_FATAL(tdt_dead_letter_parse(h, value, strlen(value), d) == 0);
    rd_kafka_headers_destroy(h);
    d->timestamp = ts;
}

static void dlq_matchd(tdt_dead_letter *d, int64_t ts)
{
    rd_kafka_headers_t *h = dlq_headers(L(
        "tuodi.matchd", "matchd-1", "tuodi.dataset", "medical_insurance", "tuodi.topic",
        "tuodi.medical_insurance.settlements", "tuodi.partition", "2", "tuodi.offset", "17",
        "tuodi.reason", "no person_key", "tuodi.stage", "decode", "tuodi.source_bytes", "31",
        "tuodi.truncated", "true"));
    CU_ASSERT_FATAL(tdt_dead_letter_parse(h, "\x01\x02", 2, d) == 0);
    rd_kafka_headers_destroy(h);
    d->timestamp = ts;
}

static char *dlq_print(tdt_dead_letter *v, size_t n, tdt_format fmt)
{
    tdt_table t;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tdt_dlq_table_init(&t, fmt);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT(tdt_dead_letter_row(&t, &v[i], fmt) == 0);
    tdt_table_write(&t, fmt, f);
    tdt_dlq_summary(v, n, f);
    tdt_table_done(&t);
    fclose(f);
    return buf;
}

/* The headers of both writers, the selection, oldest first, and the three
 * formats: no row and no identity number printed. */
static void test_dlq_list(void)
{
    tdt_dead_letter v[4];
    tdt_dlq_filter f = {NULL, NULL, INT64_MIN};
    char *o;

    dlq_connector(&v[0], "medical", "b.csv", "11", "12", 1700000300000, "row11," DLQ_ID);
    dlq_matchd(&v[1], 1700000200000);
    dlq_connector(&v[2], "medical", "a.csv", "6", "7", 1700000100000, "row6," DLQ_ID);
    dlq_connector(&v[3], "medical-2", "a.csv", "9", "9", 1700000400000, "row9");
    CU_ASSERT_FALSE(v[0].matchd);
    CU_ASSERT_STRING_EQUAL(v[0].instance, "medical");
    CU_ASSERT_EQUAL(v[0].row, 11);
    CU_ASSERT_EQUAL(v[0].line, 12);
    CU_ASSERT_EQUAL(v[0].source_bytes, 120);
    CU_ASSERT_FALSE(v[0].truncated);
    CU_ASSERT(v[1].matchd);
    CU_ASSERT_STRING_EQUAL(v[1].instance, "matchd-1");
    CU_ASSERT_EQUAL(v[1].partition, 2);
    CU_ASSERT_EQUAL(v[1].offset, 17);
    CU_ASSERT_EQUAL(v[1].row, -1);
    CU_ASSERT(v[1].truncated);

    /* the selection */
    CU_ASSERT(tdt_dlq_match(&v[1], &f));
    f.location = "a.csv";
    CU_ASSERT(tdt_dlq_match(&v[2], &f));
    CU_ASSERT_FALSE(tdt_dlq_match(&v[0], &f));
    CU_ASSERT_FALSE(tdt_dlq_match(&v[1], &f)); /* matchd's have no file */
    f.location = NULL;
    f.connector = "medical";
    CU_ASSERT(tdt_dlq_match(&v[0], &f));
    CU_ASSERT_FALSE(tdt_dlq_match(&v[3], &f));
    CU_ASSERT_FALSE(tdt_dlq_match(&v[1], &f));
    f.connector = NULL;
    /* --since 2023-11-15 is China time: 2023-11-14T16:00Z on */
    f.since_ms = tdt_day_cst_start_ms(D(2023, 11, 15));
    CU_ASSERT_EQUAL(f.since_ms, 1699977600000);
    CU_ASSERT(tdt_dlq_match(&v[2], &f)); /* 2023-11-15 06:15 in China */
    CU_ASSERT_EQUAL(tdt_day_cst(f.since_ms), D(2023, 11, 15));
    CU_ASSERT_EQUAL(tdt_day_cst(f.since_ms - 1), D(2023, 11, 14));
    f.since_ms = 1700000300000;
    CU_ASSERT(tdt_dlq_match(&v[0], &f));
    CU_ASSERT_FALSE(tdt_dlq_match(&v[2], &f));

    tdt_dlq_sort(v, 4);
    CU_ASSERT_EQUAL(v[0].timestamp, 1700000100000);
    CU_ASSERT_EQUAL(v[3].timestamp, 1700000400000);

    o = dlq_print(v, 4, TDT_FMT_TABLE);
    CU_ASSERT_PTR_NULL(strstr(o, DLQ_ID));
    CU_ASSERT_PTR_NULL(strstr(o, "row6"));   /* the row itself is never shown */
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "时间"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "2023-11-15 06:15:00")); /* 1700000100 s, China time */
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "6 (line 7)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "matchd matchd-1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "tuodi.medical_insurance.settlements"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "[2] @17"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "wrong check character"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "4 dead letters: a.csv 2, b.csv 1, tuodi-matchd 1\n"));
    /* oldest first: a.csv row 6 before b.csv row 11 */
    CU_ASSERT(strstr(o, "6 (line 7)") < strstr(o, "11 (line 12)"));
    free(o);

    o = dlq_print(v, 4, TDT_FMT_CSV);
    CU_ASSERT_PTR_NULL(strstr(o, DLQ_ID));
    CU_ASSERT_PTR_NULL(strstr(o, "row6"));
    CU_ASSERT(strncmp(o, "timestamp,writer,instance,dataset,location,row,line,topic,partition,"
                         "offset,column,stage,reason,record_id,source_bytes,truncated,"
                         "dlq_partition,dlq_offset\r\n", 130) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "2023-11-14T22:15:00.000Z,connector,medical,"
                                     "medical_insurance,a.csv,6,7,,,,身份证号,validate,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o, ",matchd,matchd-1,medical_insurance,,,,"
                                     "tuodi.medical_insurance.settlements,2,17,,decode,"));
    free(o);

    o = dlq_print(v, 4, TDT_FMT_JSON);
    CU_ASSERT_PTR_NULL(strstr(o, DLQ_ID));
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "\"row\":6,\"line\":7,\"topic\":null"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "\"partition\":2,\"offset\":17"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "\"truncated\":\"true\""));
    free(o);
    for (size_t i = 0; i < 4; i++)
        tdt_dead_letter_done(&v[i]);
    tdt_dead_letter_done(NULL);
    {
        /* many files: the first 10 by name */
        tdt_dead_letter w[12];
        for (int i = 0; i < 12; i++) {
            char loc[16];
            snprintf(loc, sizeof(loc), "f%d.csv", i);
            dlq_connector(&w[i], "medical", loc, "2", "2", i, "x");
        }
        o = dlq_print(w, 12, TDT_FMT_TABLE);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "12 dead letters: f0.csv 1, f1.csv 1, "));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, ", f9.csv 1, 2 more files 2\n"));
        free(o);
        for (int i = 0; i < 12; i++)
            tdt_dead_letter_done(&w[i]);
    }
    {
        tdt_dead_letter none;
        CU_ASSERT(tdt_dead_letter_parse(NULL, NULL, 0, &none) == 0);
        o = dlq_print(&none, 1, TDT_FMT_TABLE);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "1 dead letter: (no location) 1\n"));
        free(o);
        tdt_dead_letter_done(&none);
    }
}

/* The rows file: a BOM, the header when given, every connector row as it
 * is in the topic with CRLF; matchd's and cut ones left out. The header of
 * a department's file, UTF-8 or GB18030. */
static void test_dlq_rows(void)
{
    tdt_dead_letter v[5];
    tdt_dlq_rows_stats st;
    char *buf = NULL, *dir = td_test_tmpdir(), path[4096], *h = NULL, *o;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    td_error err = {0};
    static const char want[] = "\xEF\xBB\xBF身份证号,姓名\r\n"
                               "row6,\"a,b\nc\"\r\nrow9,张三\r\n";

    dlq_connector(&v[0], "medical", "a.csv", "6", "7", 1, "row6,\"a,b\nc\"");
    dlq_matchd(&v[1], 2);
    dlq_connector(&v[2], "medical", "a.csv", "8", "9", 3, "row8-cut");
    v[2].truncated = true;
    dlq_connector(&v[3], "medical", "b.csv", "9", "10", 4, "row9,张三");
    {
        /* a row of a postgres table: JSON, with its record id */
        rd_kafka_headers_t *hs = dlq_headers(L("tuodi.connector", "civil", "tuodi.location",
                                               "civil_events", "tuodi.row", "3", "tuodi.line",
                                               "3", "tuodi.record_id", "4711"));
        CU_ASSERT_FATAL(tdt_dead_letter_parse(hs, "{\"id\":4711}", 11, &v[4]) == 0);
        rd_kafka_headers_destroy(hs);
        o = dlq_print(&v[4], 1, TDT_FMT_TABLE);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "civil_events  id 4711"));
        free(o);
    }
    CU_ASSERT(tdt_dlq_write_rows(v, 5, "身份证号,姓名", f, &st) == 0);
    fclose(f);
    CU_ASSERT_EQUAL(len, sizeof(want) - 1);
    CU_ASSERT(len == sizeof(want) - 1 && memcmp(buf, want, len) == 0);
    CU_ASSERT_EQUAL(st.written, 2);
    CU_ASSERT_EQUAL(st.matchd, 1);
    CU_ASSERT_EQUAL(st.truncated, 1);
    CU_ASSERT_EQUAL(st.table, 1);
    CU_ASSERT_EQUAL(st.locations, 2);
    free(buf);
    for (size_t i = 0; i < 5; i++)
        tdt_dead_letter_done(&v[i]);

    snprintf(path, sizeof(path), "%s/utf8.csv", dir);
    CU_ASSERT_FATAL(td_test_write_file(path, "\xEF\xBB\xBF身份证号,姓名\r\n1,2\r\n") == 0);
    CU_ASSERT(tdt_dlq_read_header(path, &h, &err) == 0);
    CU_ASSERT_STRING_EQUAL(h, "身份证号,姓名");
    free(h);
    snprintf(path, sizeof(path), "%s/gb.csv", dir);
    /* 身份证号,姓名 in GB18030 */
    CU_ASSERT_FATAL(td_test_write_file(path, "\xC9\xED\xB7\xDD\xD6\xA4\xBA\xC5,"
                                             "\xD0\xD5\xC3\xFB\nx\n") == 0);
    CU_ASSERT(tdt_dlq_read_header(path, &h, &err) == 0);
    CU_ASSERT_STRING_EQUAL(h, "身份证号,姓名");
    free(h);
    snprintf(path, sizeof(path), "%s/empty.csv", dir);
    CU_ASSERT_FATAL(td_test_write_file(path, "\r\n") == 0);
    CU_ASSERT(tdt_dlq_read_header(path, &h, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "empty"));
    td_test_rmtree(dir);
    free(dir);
}

/* dead-letters: every bad argument refused before Kafka with exit 2; an
 * existing rows file is never touched. */
static void test_args_dead_letters(void)
{
    char *dir = td_test_tmpdir();
    const char *cfg = bad_args_config(dir, NULL);
    char rows[4096], nodir[4096], *before, *after;

    snprintf(rows, sizeof(rows), "%s/rows.csv", dir);
    snprintf(nodir, sizeof(nodir), "%s/nodir/rows.csv", dir);
    CU_ASSERT_FATAL(td_test_write_file(rows, "kept\n") == 0);
    before = td_test_tree_listing(dir);
    expect(cfg, L("dead-letters"), TDT_EXIT_USAGE,
           L("--dataset NAME or --topic T is required", "roster, medical_insurance, "
             "civil_affairs, human_resources or verifications"), L("kafka"));
    expect(cfg, L("dead-letters", "--dataset", "medical"), TDT_EXIT_USAGE,
           L("--dataset medical: no such dataset (did you mean medical_insurance?)"), L("kafka"));
    expect(cfg, L("dead-letters", "--dataset", "roster", "--topic", "x"), TDT_EXIT_USAGE,
           L("not both"), NULL);
    expect(cfg, L("dead-letters", "--dataset", "roster", "--since", "2023-02-30"),
           TDT_EXIT_USAGE, L("--since 2023-02-30 is not a date: February 2023 has 28 days"),
           L("kafka"));
    expect(cfg, L("dead-letters", "--dataset", "roster", "--format", "xml"), TDT_EXIT_USAGE,
           L("--format xml: expected table, csv or json"), NULL);
    expect(cfg, L("dead-letters", "--dataset", "roster", "--rows", rows), TDT_EXIT_USAGE,
           L("the file exists; it is never overwritten"), L("kafka"));
    expect(cfg, L("dead-letters", "--dataset", "roster", "--export", rows), TDT_EXIT_USAGE,
           L("the file exists"), L("kafka"));
    expect(cfg, L("dead-letters", "--dataset", "roster", "--rows", nodir), TDT_EXIT_USAGE,
           L("cannot create a file in"), L("kafka"));
    expect(cfg, L("dead-letters", "--dataset", "roster", "--header-from", rows), TDT_EXIT_USAGE,
           L("--header-from goes with --rows"), NULL);
    expect(cfg, L("dead-letters", "--dataset", "roster", "--location", "", "--rows", nodir),
           TDT_EXIT_USAGE, L("--location needs a value"), NULL);
    expect(cfg, L("dead-letters", "--dataset", "roster", "--connectr", "x"), TDT_EXIT_USAGE,
           L("unknown option --connectr; did you mean --connector?"), NULL);
    expect(cfg, L("dead-letters", "--topic", DLQ_ID), TDT_EXIT_FAILURE, L("cannot reach"),
           L(DLQ_ID));
    expect(cfg, L("--dataset", "roster"), TDT_EXIT_USAGE, L("--dataset goes after the command"),
           NULL);
    expect(cfg, L("dead-letter", "--dataset", "roster"), TDT_EXIT_USAGE,
           L("did you mean dead-letters?"), NULL);
    after = td_test_tree_listing(dir);
    CU_ASSERT_PTR_NOT_NULL(before);
    CU_ASSERT(before && after && strcmp(before, after) == 0); /* rows.csv untouched */
    free(before);
    free(after);
    td_test_rmtree(dir);
    free(dir);
}

/* ---- the suspicious-data list (疑点数据清单) ---- */

/* 2024-01-05T02:00:00Z, a morning in China */
#define T0 INT64_C(1704420000000)
#define DAY_MS INT64_C(86400000)

static tdt_suspect_msg smsg(const char *id, tdt_suspect_kind kind, const char *village,
                            const char *hh, const char *person)
{
    static char town[16][10];
    static size_t k;
    tdt_suspect_msg m;
    char *t = town[k++ % 16];
    memset(&m, 0, sizeof(m));
    snprintf(t, 10, "%.9s", village);
    m.suspect_id = id;
    m.kind = kind;
    m.indicator_id = "death-still-listed";
    m.indicator_name = "已登记死亡人员仍在册";
    m.fix_hint = "核实后从名册中标注死亡";
    m.household_id = hh;
    m.village_code = village;
    m.township_code = t;
    m.county_code = "340421";
    m.head_name = "张三";
    m.person_name = person;
    m.roster_value = "在册";
    m.department_value = "2023-12-01 登记死亡";
    m.raised_at = T0;
    m.fix_due_date = D(2024, 2, 2);
    return m;
}

static void test_suspects_fold(void)
{
    tdt_suspects *l = NULL;
    const tdt_suspect *s, *found[4];
    tdt_suspect_msg m;
    size_t n;

    CU_ASSERT_FATAL(tdt_suspects_new(&l) == 0);
    m = smsg("sus-aaaa1111x", TDT_SUSPECT_RAISED, "340421100001", "H1", "李四");
    CU_ASSERT(tdt_suspects_apply(l, &m, &s) == 0);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT(s->state == TDT_SSTATE_OPEN);
    CU_ASSERT_STRING_EQUAL(s->person_name, "李四");
    /* overdue only after the fix due date */
    CU_ASSERT(!tdt_suspect_overdue(s, D(2024, 2, 2)));
    CU_ASSERT(tdt_suspect_overdue(s, D(2024, 2, 3)));
    CU_ASSERT_STRING_EQUAL(tdt_suspect_state_words(s, D(2024, 2, 2)), "待整改");
    CU_ASSERT_STRING_EQUAL(tdt_suspect_state_words(s, D(2024, 2, 3)), "逾期未整改");
    CU_ASSERT_STRING_EQUAL(tdt_suspect_state_symbol(s, D(2024, 2, 3)), "overdue");

    /* the latest snapshot wins, whole: a null replaces what was there */
    m = smsg("sus-aaaa1111x", TDT_SUSPECT_RESOLVED, "340421100001", "H1", NULL);
    m.has_resolution = true;
    m.resolved_at = T0 + 10 * DAY_MS;
    m.roster_value = NULL;
    CU_ASSERT(tdt_suspects_apply(l, &m, &s) == 0);
    CU_ASSERT(s->state == TDT_SSTATE_RESOLVED);
    CU_ASSERT_PTR_NULL(s->person_name);
    CU_ASSERT_PTR_NULL(s->roster_value);
    CU_ASSERT_EQUAL(s->resolved_at, T0 + 10 * DAY_MS);
    CU_ASSERT(!tdt_suspect_overdue(s, D(2024, 3, 1))); /* resolved: never overdue */
    CU_ASSERT_STRING_EQUAL(tdt_suspect_state_words(s, 0), "整改到位");
    CU_ASSERT_EQUAL(tdt_suspects_count(l), 1);

    /* CLOSED with its outcome; a kind this reader does not know is ignored */
    m = smsg("sus-bbbb2222x", TDT_SUSPECT_CLOSED, "340421100001", "H1", "李四");
    m.has_closure = true;
    m.outcome = TDT_OUTCOME_DEPARTMENT_DATA_WRONG;
    m.reason = "民政登记有误";
    m.outcome_id = "OUT-1";
    m.recorded_at = T0 + DAY_MS;
    CU_ASSERT(tdt_suspects_apply(l, &m, &s) == 0);
    CU_ASSERT(s->state == TDT_SSTATE_CLOSED);
    CU_ASSERT(s->outcome == TDT_OUTCOME_DEPARTMENT_DATA_WRONG);
    CU_ASSERT_STRING_EQUAL(s->reason, "民政登记有误");
    CU_ASSERT_STRING_EQUAL(tdt_suspect_state_words(s, 0), "部门数据有误");
    m = smsg("sus-bbbb2222x", TDT_SUSPECT_UNKNOWN, "340421100001", "H1", "李四");
    CU_ASSERT(tdt_suspects_apply(l, &m, &s) == 0);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT(tdt_suspects_at(l, 1)->state == TDT_SSTATE_CLOSED);
    m.suspect_id = "";
    CU_ASSERT(tdt_suspects_apply(l, &m, NULL) == -EINVAL);

    /* growth past the map's first size, in first-seen order */
    for (int i = 0; i < 300; i++) {
        char id[32];
        snprintf(id, sizeof(id), "sus-g%04d", i);
        m = smsg(id, TDT_SUSPECT_RAISED, "340421102200", "H9", "王五");
        CU_ASSERT_FATAL(tdt_suspects_apply(l, &m, NULL) == 0);
    }
    CU_ASSERT_EQUAL(tdt_suspects_count(l), 302);
    CU_ASSERT_STRING_EQUAL(tdt_suspects_at(l, 2)->suspect_id, "sus-g0000");
    CU_ASSERT_EQUAL(tdt_suspects_at(l, 301)->order, 301);

    /* ids: exact, a unique prefix of 12 or more, too short, ambiguous */
    CU_ASSERT(tdt_suspects_resolve(l, "sus-aaaa1111x", found, 4, &n) == 0 && n == 1);
    CU_ASSERT(tdt_suspects_resolve(l, "sus-aaaa1111", found, 4, &n) == 0);
    CU_ASSERT_STRING_EQUAL(found[0]->suspect_id, "sus-aaaa1111x");
    CU_ASSERT(tdt_suspects_resolve(l, "sus-aaaa111", found, 4, &n) == -EINVAL);
    CU_ASSERT(tdt_suspects_resolve(l, "sus-g0", found, 4, &n) == -EINVAL && n == 300);
    CU_ASSERT(tdt_suspects_resolve(l, "sus-cccc3333", found, 4, &n) == -ENOENT);
    {
        tdt_suspect_msg a = smsg("sus-dddd4444a", TDT_SUSPECT_RAISED, "340421100001", "H1", "x");
        tdt_suspect_msg b = smsg("sus-dddd4444b", TDT_SUSPECT_RAISED, "340421100001", "H1", "y");
        CU_ASSERT(tdt_suspects_apply(l, &a, NULL) == 0 && tdt_suspects_apply(l, &b, NULL) == 0);
        CU_ASSERT(tdt_suspects_resolve(l, "sus-dddd4444", found, 4, &n) == -ENOTUNIQ && n == 2);
    }
    CU_ASSERT(tdt_suspect_id_is("sus-1"));
    CU_ASSERT(!tdt_suspect_id_is(ID64));
    tdt_suspects_free(l);
}

/* The list: open ones, grouped by township, then village, then household;
 * the township and village filters. */
static void test_suspects_select(void)
{
    tdt_suspects *l = NULL;
    const tdt_suspect **v = NULL;
    size_t n = 0;
    struct {
        const char *id, *village, *hh, *person;
        tdt_suspect_kind kind;
    } in[] = {
        {"sus-6", "340421102200", "H-7", "乙", TDT_SUSPECT_RAISED},
        {"sus-5", "340421100002", "H-2", "甲", TDT_SUSPECT_RAISED},
        {"sus-4", "340421100001", "H-9", "甲", TDT_SUSPECT_RAISED},
        {"sus-3", "340421100001", "H-1", "丙", TDT_SUSPECT_RAISED},
        {"sus-2", "340421100001", "H-1", "丙", TDT_SUSPECT_RESOLVED},
        {"sus-1", "340421102200", "H-7", NULL, TDT_SUSPECT_RAISED},
    };
    const char *want_open[] = {"sus-3", "sus-4", "sus-5", "sus-1", "sus-6"};

    CU_ASSERT_FATAL(tdt_suspects_new(&l) == 0);
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        tdt_suspect_msg m = smsg(in[i].id, in[i].kind, in[i].village, in[i].hh, in[i].person);
        m.raised_at = T0 - (int64_t)i; /* later ones raised earlier: not the order */
        CU_ASSERT_FATAL(tdt_suspects_apply(l, &m, NULL) == 0);
    }
    CU_ASSERT_FATAL(tdt_suspects_select(l, false, NULL, NULL, &v, &n) == 0);
    CU_ASSERT_EQUAL_FATAL(n, 5);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_STRING_EQUAL(v[i]->suspect_id, want_open[i]);
    free(v);
    CU_ASSERT_FATAL(tdt_suspects_select(l, true, "340421100", NULL, &v, &n) == 0);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_STRING_EQUAL(v[0]->suspect_id, "sus-2"); /* same person: raised earlier first */
    CU_ASSERT_STRING_EQUAL(v[1]->suspect_id, "sus-3");
    free(v);
    CU_ASSERT_FATAL(tdt_suspects_select(l, false, NULL, "340421100002", &v, &n) == 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(v[0]->suspect_id, "sus-5");
    free(v);
    tdt_suspects_free(l);
}

static void write_suspects_table(FILE *f, void *arg)
{
    tdt_suspects_write(arg, NULL, "340421", NULL, NULL, false, D(2024, 2, 3), TDT_FMT_TABLE, f);
}
static void write_suspects_csv(FILE *f, void *arg)
{
    tdt_suspects_write(arg, NULL, "340421", NULL, NULL, true, D(2024, 2, 3), TDT_FMT_CSV, f);
}
static void write_suspects_json(FILE *f, void *arg)
{
    tdt_suspects_write(arg, NULL, "340421", "340421100", NULL, false, D(2024, 2, 3),
                       TDT_FMT_JSON, f);
}

/* The three forms of the list: csv for Excel (byte-order mark, Chinese
 * headers, CRLF, whole ids), json lines, the table; names, never a key. */
static void test_suspects_formats(void)
{
    tdt_suspects *l = NULL;
    tdt_suspect_msg m;
    char *s;

    CU_ASSERT_FATAL(tdt_suspects_new(&l) == 0);
    m = smsg("sus-11111111aaaa", TDT_SUSPECT_RAISED, "340421100001", "H-1", "李四");
    CU_ASSERT_FATAL(tdt_suspects_apply(l, &m, NULL) == 0);
    m = smsg("sus-22222222bbbb", TDT_SUSPECT_RESOLVED, "340421102200", "H-2", NULL);
    m.roster_value = "未享受低保, \"特困\"";
    m.has_resolution = true;
    m.resolved_at = T0 + 3 * DAY_MS;
    CU_ASSERT_FATAL(tdt_suspects_apply(l, &m, NULL) == 0);

    s = capture(write_suspects_csv, l);
    CU_ASSERT_STRING_EQUAL(s,
        "\xEF\xBB\xBF"
        "序号,乡镇,村,户编号,户主,成员姓名,疑点指标,名册值,部门数据,整改提示,发现日期,"
        "整改期限,状态,疑点编号\r\n"
        "1,340421100,340421100001,H-1,张三,李四,已登记死亡人员仍在册,在册,"
        "2023-12-01 登记死亡,核实后从名册中标注死亡,2024-01-05,2024-02-02 逾期,逾期未整改,"
        "sus-11111111aaaa\r\n"
        "2,340421102,340421102200,H-2,张三,-,已登记死亡人员仍在册,"
        "\"未享受低保, \"\"特困\"\"\",2023-12-01 登记死亡,核实后从名册中标注死亡,2024-01-05,"
        "2024-02-02,整改到位,sus-22222222bbbb\r\n");
    free(s);

    s = capture(write_suspects_json, l);
    CU_ASSERT_STRING_EQUAL(s,
        "{\"seq\":1,\"suspect_id\":\"sus-11111111aaaa\",\"county_code\":\"340421\","
        "\"township_code\":\"340421100\",\"township\":null,\"village_code\":\"340421100001\","
        "\"village\":null,\"household_id\":\"H-1\",\"head_name\":\"张三\","
        "\"person_name\":\"李四\",\"indicator_id\":\"death-still-listed\","
        "\"indicator_name\":\"已登记死亡人员仍在册\",\"roster_value\":\"在册\","
        "\"department_value\":\"2023-12-01 登记死亡\",\"fix_hint\":\"核实后从名册中标注死亡\","
        "\"raised_date\":\"2024-01-05\",\"fix_due_date\":\"2024-02-02\",\"state\":\"overdue\","
        "\"resolved_date\":null,\"outcome\":null,\"reason\":null}\n");
    free(s);

    s = capture(write_suspects_table, l);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "疑点数据清单 340421 (340421, 未整改, 2024-02-03)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "序号  乡镇"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, " sus-11111111\n"));  /* the id shortened to 12 */
    CU_ASSERT_PTR_NULL(strstr(s, "sus-11111111aaaa"));
    CU_ASSERT_PTR_NULL(strstr(s, "sus-2222"));              /* resolved: not open */
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\n1 open suspects\n"));
    free(s);
    tdt_suspects_free(l);
}

/* A Suspect through the codec: RESOLVED with its resolution, CLOSED with its
 * closure; and a Household's members counted. */
static void test_suspect_from_avro(void)
{
    td_avro_registry *reg = NULL;
    td_avro_decoder *dec = NULL;
    td_error err = {0};
    char dir[4096], json[8192];
    const td_avro_schema *s;
    avro_value_t val, *out;
    tdt_suspect_msg m;
    const char *ev =
        "{\"dataset\":\"ROSTER\",\"event_type\":null,\"person_key\":null,\"event_date\":null,"
        "\"amount_fen\":null,\"topic\":\"tuodi.roster.households\",\"partition\":1,"
        "\"offset\":9,\"source\":{\"department\":\"RURAL_REVITALIZATION\","
        "\"connector_instance\":\"roster\",\"record_id\":\"H1\",\"location\":null,"
        "\"row\":null}}";
    const char *fmt =
        "{\"suspect_id\":\"sus-1\",\"kind\":\"%s\",\"indicator_id\":\"i\","
        "\"indicator_version\":\"1\",\"indicator_name\":\"名\",\"fix_hint\":\"提示\","
        "\"household_id\":\"H1\",\"village_code\":\"340421100001\",\"township_code\":"
        "\"340421100\",\"county_code\":\"340421\",\"grid_id\":null,\"head_name\":null,"
        "\"person_key\":{\"string\":\"340421198001010011\"},\"person_name\":{\"string\":"
        "\"李四\"},\"roster_value\":null,\"department_value\":{\"string\":\"残疾等级=一级\"},"
        "\"evidence\":[],\"raised_at\":\"2024-01-05T02:00:00Z\",\"fix_due_date\":"
        "\"2024-02-02\",\"resolution\":%s,\"closure\":%s,\"source\":{\"department\":"
        "\"RURAL_REVITALIZATION\",\"connector_instance\":\"x\",\"record_id\":\"sus-1\","
        "\"location\":null,\"row\":null}}";
    char res[2048];

    snprintf(dir, sizeof(dir), "%s/schemas", td_test_source_root());
    CU_ASSERT_FATAL(td_avro_registry_new(&reg) == 0);
    CU_ASSERT_FATAL(td_avro_registry_load_dir(reg, dir, NULL, &err) == 0);
    s = td_avro_registry_find_name(reg, "cn.tuodi.Suspect");
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_FATAL(td_avro_decoder_new(reg, s, &dec, &err) == 0);
    for (int k = 0; k < 2; k++) {
        td_avro_buf b = TD_AVRO_BUF_INIT;
        if (k == 0) {
            snprintf(res, sizeof(res), "{\"cn.tuodi.SuspectResolution\":{\"resolved_at\":"
                     "\"2024-02-02T15:59:59Z\",\"record\":%s}}", ev);
            snprintf(json, sizeof(json), fmt, "RESOLVED", res, "null");
        } else {
            snprintf(json, sizeof(json), fmt, "CLOSED", "null",
                     "{\"cn.tuodi.Closure\":{\"outcome\":\"DEPARTMENT_DATA_WRONG\",\"category\":"
                     "null,\"reason\":{\"string\":\"有误\"},\"visit_date\":\"2024-01-20\","
                     "\"recorded_at\":\"2024-01-20T03:00:00Z\",\"outcome_id\":\"OUT-2\"}}");
        }
        CU_ASSERT_FATAL(td_avro_schema_value_new(s, &val, &err) == 0);
        if (td_avro_value_from_json(s, json, strlen(json), &val, &err) != 0)
            fprintf(stderr, "%s\n", err.msg);
        CU_ASSERT_FATAL(td_avro_encode(s, &val, &b, &err) == 0);
        CU_ASSERT_FATAL(td_avro_decode(dec, b.data, b.len, &out, &err) == 0);
        CU_ASSERT_FATAL(tdt_suspect_msg_from_avro(out, &m, &err) == 0);
        CU_ASSERT_STRING_EQUAL(m.suspect_id, "sus-1");
        CU_ASSERT_STRING_EQUAL(m.township_code, "340421100");
        CU_ASSERT_STRING_EQUAL(m.person_name, "李四");
        CU_ASSERT_PTR_NULL(m.head_name);
        CU_ASSERT_PTR_NULL(m.roster_value);
        CU_ASSERT_EQUAL(m.fix_due_date, D(2024, 2, 2));
        CU_ASSERT_EQUAL(m.raised_at, T0);
        if (k == 0) {
            CU_ASSERT(m.kind == TDT_SUSPECT_RESOLVED);
            CU_ASSERT(m.has_resolution && !m.has_closure);
            CU_ASSERT_EQUAL(tdt_day_cst(m.resolved_at), D(2024, 2, 2));
        } else {
            CU_ASSERT(m.kind == TDT_SUSPECT_CLOSED);
            CU_ASSERT(m.has_closure && !m.has_resolution);
            CU_ASSERT(m.outcome == TDT_OUTCOME_DEPARTMENT_DATA_WRONG);
            CU_ASSERT_STRING_EQUAL(m.reason, "有误");
            CU_ASSERT_STRING_EQUAL(m.outcome_id, "OUT-2");
        }
        avro_value_decref(&val);
        td_avro_buf_done(&b);
    }
    /* a Household is not a Suspect; its members are counted */
    {
        const td_avro_schema *hs = td_avro_registry_find_name(reg, "cn.tuodi.Household");
        const char *h =
            "{\"household_id\":\"H1\",\"village_code\":\"340421100001\",\"grid_id\":\"G\","
            "\"household_type\":\"POVERTY_ALLEVIATED\",\"monitoring\":{\"state\":\"MONITORED\","
            "\"category\":null,\"identified_date\":null,\"risk_eliminated_date\":null,"
            "\"risk_elimination_method\":null},\"members\":["
            "{\"person_key\":\"A\",\"name\":\"a\",\"relation\":\"HEAD\",\"birth_date\":"
            "\"1980-01-01\",\"labour_capacity\":\"NORMAL\",\"disability_grade\":null,"
            "\"in_school\":null},{\"person_key\":\"B\",\"name\":\"b\",\"relation\":\"OTHER\","
            "\"birth_date\":\"1980-01-01\",\"labour_capacity\":\"NORMAL\",\"disability_grade\":"
            "null,\"in_school\":null},{\"person_key\":\"C\",\"name\":\"c\",\"relation\":"
            "\"OTHER\",\"birth_date\":\"1980-01-01\",\"labour_capacity\":\"NORMAL\","
            "\"disability_grade\":null,\"in_school\":null}],\"household_size\":3,"
            "\"income\":null,\"risks\":[],\"updated_at\":\"2024-01-31T10:00:00Z\",\"source\":"
            "{\"department\":\"RURAL_REVITALIZATION\",\"connector_instance\":\"roster\","
            "\"record_id\":\"H1\",\"location\":null,\"row\":null}}";
        const char *id, *village;
        int state;
        size_t persons = 0;
        CU_ASSERT_FATAL(td_avro_schema_value_new(hs, &val, &err) == 0);
        if (td_avro_value_from_json(hs, h, strlen(h), &val, &err) != 0)
            fprintf(stderr, "%s\n", err.msg);
        CU_ASSERT(tdt_suspect_msg_from_avro(&val, &m, &err) == -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "suspect_id"));
        CU_ASSERT(tdt_household_from_avro(&val, &id, &village, &state, &persons, &err) == 0);
        CU_ASSERT_EQUAL(persons, 3);
        CU_ASSERT_EQUAL(state, TDT_MON_MONITORED);
        avro_value_decref(&val);
    }
    td_avro_decoder_free(dec);
    td_avro_registry_free(reg);
}

/* Fixed within 20 working days: resolved on or before the fix due date in
 * China time; 23:59:59 on the due day is in time, 00:00 the next day not. */
static void test_quality_in_time(void)
{
    tdt_suspects *l = NULL;
    tdt_quality q;
    int64_t due_end = tdt_day_cst_start_ms(D(2024, 2, 3)); /* 2024-02-03 00:00 China */
    const int64_t at[] = {due_end - 1000, due_end, due_end - 30 * DAY_MS};
    const char *ids[] = {"sus-a", "sus-b", "sus-c"};

    CU_ASSERT_FATAL(tdt_suspects_new(&l) == 0);
    for (int i = 0; i < 3; i++) {
        tdt_suspect_msg m = smsg(ids[i], TDT_SUSPECT_RESOLVED, "340421100001", "H1", "李四");
        m.has_resolution = true;
        m.resolved_at = at[i];
        CU_ASSERT_FATAL(tdt_suspects_apply(l, &m, NULL) == 0);
    }
    memset(&q, 0, sizeof(q));
    for (size_t i = 0; i < tdt_suspects_count(l); i++)
        tdt_quality_add(&q, tdt_suspects_at(l, i), INT32_MIN, D(2024, 3, 31));
    CU_ASSERT_EQUAL(q.raised, 3);
    CU_ASSERT_EQUAL(q.resolved, 3);
    CU_ASSERT_EQUAL(q.resolved_in_time, 2); /* a, c; b was a day late */
    CU_ASSERT_EQUAL(q.open, 0);
    CU_ASSERT_EQUAL(tdt_share_bp(q.resolved_in_time, q.resolved), 6667); /* 66.67% */
    tdt_suspects_free(l);
}

/* The period: raised in it; open at its end (raised by then, not yet
 * resolved or closed); resolved and closed in it. */
static void test_quality_period(void)
{
    tdt_suspects *l = NULL;
    tdt_quality q;
    int32_t from = D(2024, 1, 1), to = D(2024, 3, 31);
    int64_t q2 = tdt_day_cst_start_ms(D(2024, 4, 1)); /* 2024-03-31T16:00:00Z */
    struct {
        const char *id;
        tdt_suspect_kind kind;
        int64_t raised, ended;
    } in[] = {
        {"sus-last-day", TDT_SUSPECT_RAISED, q2 - 1, 0},                /* raised, open */
        {"sus-next-q", TDT_SUSPECT_RAISED, q2, 0},                      /* neither */
        {"sus-old-open", TDT_SUSPECT_RAISED, T0 - 60 * DAY_MS, 0},      /* open only */
        {"sus-fixed-q2", TDT_SUSPECT_RESOLVED, T0, q2},                 /* raised, open */
        {"sus-fixed-q1", TDT_SUSPECT_RESOLVED, T0, q2 - 1},             /* raised, resolved */
        {"sus-old-fixed", TDT_SUSPECT_RESOLVED, T0 - 60 * DAY_MS, T0 - 30 * DAY_MS}, /* - */
        {"sus-closed-q1", TDT_SUSPECT_CLOSED, T0 - 60 * DAY_MS, T0},    /* closed */
        {"sus-closed-q2", TDT_SUSPECT_CLOSED, T0, q2 + DAY_MS},         /* raised, open */
    };

    CU_ASSERT_FATAL(tdt_suspects_new(&l) == 0);
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        tdt_suspect_msg m = smsg(in[i].id, in[i].kind, "340421100001", "H1", "李四");
        m.raised_at = in[i].raised;
        m.fix_due_date = D(2024, 12, 31);
        m.has_resolution = in[i].kind == TDT_SUSPECT_RESOLVED;
        m.resolved_at = in[i].ended;
        m.has_closure = in[i].kind == TDT_SUSPECT_CLOSED;
        m.outcome = TDT_OUTCOME_DEPARTMENT_DATA_WRONG;
        m.recorded_at = in[i].ended;
        CU_ASSERT_FATAL(tdt_suspects_apply(l, &m, NULL) == 0);
    }
    memset(&q, 0, sizeof(q));
    for (size_t i = 0; i < tdt_suspects_count(l); i++)
        tdt_quality_add(&q, tdt_suspects_at(l, i), from, to);
    CU_ASSERT_EQUAL(q.raised, 4);   /* last-day, fixed-q2, fixed-q1, closed-q2 */
    CU_ASSERT_EQUAL(q.open, 4);     /* last-day, old-open, fixed-q2, closed-q2 */
    CU_ASSERT_EQUAL(q.resolved, 1); /* fixed-q1 */
    CU_ASSERT_EQUAL(q.resolved_in_time, 1);
    CU_ASSERT_EQUAL(q.closed, 1);   /* closed-q1 */
    tdt_suspects_free(l);
}

/* Open suspects per 1,000 roster persons in hundredths of a per mille,
 * rounded half up, and the ranking: lowest first, ties share a rank, no
 * roster last. */
static void test_quality_rank(void)
{
    tdt_quality_row v[6];
    const struct {
        const char *code;
        size_t open, persons;
    } in[] = {
        {"340421", 3, 12},     /* 250.00 */
        {"340422", 2, 3},      /* 666.666... -> 666.67 */
        {"340402", 1, 3},      /* 333.333... -> 333.33 */
        {"340403", 1, 200000}, /* 0.005 -> 0.01 (half up) */
        {"340404", 0, 0},      /* no roster persons: last */
        {"340405", 1, 400000}, /* 0.0025 -> 0.00 */
    };

    CU_ASSERT_EQUAL(tdt_per_mille_x100(1, 200000), 1);
    CU_ASSERT_EQUAL(tdt_per_mille_x100(1, 400000), 0);
    CU_ASSERT_EQUAL(tdt_per_mille_x100(1, 3), 33333);
    CU_ASSERT_EQUAL(tdt_per_mille_x100(2, 3), 66667);
    CU_ASSERT_EQUAL(tdt_per_mille_x100(1, 7), 14286);
    CU_ASSERT_EQUAL(tdt_per_mille_x100(0, 7), 0);
    CU_ASSERT_EQUAL(tdt_per_mille_x100(5, 0), -1);
    tdt_quality_rank(NULL, 0); /* a county without townships (UBSan: qsort of NULL) */
    memset(v, 0, sizeof(v));
    for (int i = 0; i < 6; i++) {
        snprintf(v[i].code, sizeof(v[i].code), "%s", in[i].code);
        v[i].q.open = in[i].open;
        v[i].q.persons = in[i].persons;
    }
    tdt_quality_rank(v, 6);
    {
        const char *codes[] = {"340405", "340403", "340421", "340402", "340422", "340404"};
        const int64_t rates[] = {0, 1, 25000, 33333, 66667, -1};
        const size_t ranks[] = {1, 2, 3, 4, 5, 6};
        for (int i = 0; i < 6; i++) {
            CU_ASSERT_STRING_EQUAL(v[i].code, codes[i]);
            CU_ASSERT_EQUAL(v[i].rate, rates[i]);
            CU_ASSERT_EQUAL(v[i].rank, ranks[i]);
        }
    }
    /* equal rates share a rank (1, 1, 3), fewer open suspects first */
    memset(v, 0, sizeof(v));
    snprintf(v[0].code, sizeof(v[0].code), "340421100");
    v[0].q.open = 2;
    v[0].q.persons = 1000;
    snprintf(v[1].code, sizeof(v[1].code), "340421102");
    v[1].q.open = 1;
    v[1].q.persons = 500;
    snprintf(v[2].code, sizeof(v[2].code), "340421103");
    v[2].q.open = 1;
    v[2].q.persons = 100;
    tdt_quality_rank(v, 3);
    CU_ASSERT_STRING_EQUAL(v[0].code, "340421102");
    CU_ASSERT_STRING_EQUAL(v[1].code, "340421100");
    CU_ASSERT_EQUAL(v[0].rank, 1);
    CU_ASSERT_EQUAL(v[1].rank, 1);
    CU_ASSERT_EQUAL(v[2].rank, 3);
    CU_ASSERT_EQUAL(v[2].rate, 1000);
}

static void write_quality_csv(FILE *f, void *arg)
{
    void **a = arg;
    tdt_quality_write(a[0], a[1], a[2], 2, a[3], NULL, D(2024, 1, 1), D(2024, 3, 31),
                      TDT_FMT_CSV, f);
}
static void write_quality_table(FILE *f, void *arg)
{
    void **a = arg;
    tdt_quality_write(a[0], a[1], a[2], 2, a[3], NULL, INT32_MIN, D(2024, 3, 31), TDT_FMT_TABLE,
                      f);
}

/* A county's rows from its list and the roster: the townships of the
 * roster and of the suspects, persons of live households only; then the
 * whole report in csv and table form. */
static void test_quality_county(void)
{
    tdt_suspects *l = NULL;
    tdt_roster *r = NULL;
    tdt_quality_row c[2], *towns[2] = {NULL, NULL};
    size_t nt[2] = {0, 0};
    tdt_suspect_msg m;
    char *s;

    CU_ASSERT_FATAL(tdt_suspects_new(&l) == 0);
    CU_ASSERT_FATAL(tdt_roster_new(&r) == 0);
    CU_ASSERT(tdt_roster_apply(r, "H1", "340421100001", TDT_MON_NOT_MONITORED, 3) == 0);
    CU_ASSERT(tdt_roster_apply(r, "H2", "340421100002", TDT_MON_NOT_MONITORED, 4) == 0);
    CU_ASSERT(tdt_roster_apply(r, "H2", "340421100002", TDT_MON_NOT_MONITORED, 2) == 0);
    CU_ASSERT(tdt_roster_apply(r, "H3", "340421102200", TDT_MON_NOT_MONITORED, 9) == 0);
    CU_ASSERT(tdt_roster_apply(r, "H3", NULL, 0, 0) == 0);              /* removed */
    CU_ASSERT(tdt_roster_apply(r, "H4", "340421103201", TDT_MON_NOT_MONITORED, 6) == 0);
    CU_ASSERT(tdt_roster_apply(r, "H5", "340422100001", TDT_MON_NOT_MONITORED, 8) == 0);
    CU_ASSERT_EQUAL(tdt_roster_persons(r, "340421"), 11);
    CU_ASSERT_EQUAL(tdt_roster_persons(r, "340421100"), 5);
    CU_ASSERT_EQUAL(tdt_roster_persons(r, "340421100002"), 2);
    m = smsg("sus-1", TDT_SUSPECT_RAISED, "340421100001", "H1", "李四");
    CU_ASSERT(tdt_suspects_apply(l, &m, NULL) == 0);
    m = smsg("sus-2", TDT_SUSPECT_RAISED, "340421102200", "H3", "王五"); /* no roster now */
    CU_ASSERT(tdt_suspects_apply(l, &m, NULL) == 0);
    m = smsg("sus-3", TDT_SUSPECT_RESOLVED, "340421103201", "H4", "孙七");
    m.has_resolution = true;
    m.resolved_at = T0 + DAY_MS;
    CU_ASSERT(tdt_suspects_apply(l, &m, NULL) == 0);

    CU_ASSERT_FATAL(tdt_quality_county(l, r, "340421", D(2024, 1, 1), D(2024, 3, 31), &c[0],
                                       &towns[0], &nt[0]) == 0);
    CU_ASSERT_STRING_EQUAL(c[0].code, "340421");
    CU_ASSERT_EQUAL(c[0].q.raised, 3);
    CU_ASSERT_EQUAL(c[0].q.open, 2);
    CU_ASSERT_EQUAL(c[0].q.resolved, 1);
    CU_ASSERT_EQUAL(c[0].q.persons, 11);
    CU_ASSERT_EQUAL(c[0].rate, 18182); /* 2 * 1000 / 11 = 181.818... */
    CU_ASSERT_EQUAL_FATAL(nt[0], 3);
    CU_ASSERT_STRING_EQUAL(towns[0][0].code, "340421103"); /* 0 open of 6 */
    CU_ASSERT_EQUAL(towns[0][0].rate, 0);
    CU_ASSERT_STRING_EQUAL(towns[0][1].code, "340421100"); /* 1 of 5: 200.00 */
    CU_ASSERT_EQUAL(towns[0][1].rate, 20000);
    CU_ASSERT_STRING_EQUAL(towns[0][2].code, "340421102"); /* 1 open, no roster: last */
    CU_ASSERT_EQUAL(towns[0][2].rate, -1);
    CU_ASSERT_EQUAL(towns[0][2].rank, 3);
    /* a county without a list: its roster only */
    CU_ASSERT_FATAL(tdt_quality_county(NULL, r, "340422", D(2024, 1, 1), D(2024, 3, 31), &c[1],
                                       &towns[1], &nt[1]) == 0);
    CU_ASSERT_EQUAL(c[1].q.persons, 8);
    CU_ASSERT_EQUAL(c[1].q.open, 0);
    CU_ASSERT_EQUAL(nt[1], 1);
    {
        /* suspects without a village: their own row, unranked, in the total */
        tdt_quality_row u;
        void *a[4] = {c, towns, nt, &u};
        memset(&u, 0, sizeof(u));
        snprintf(u.code, sizeof(u.code), "unrouted");
        u.rate = -1;
        u.q.raised = 1;
        u.q.open = 1;
        s = capture(write_quality_csv, a);
        CU_ASSERT_STRING_EQUAL(s,
            "\xEF\xBB\xBF"
            "level,rank,county_code,county,township_code,township,raised,open,resolved,closed,"
            "resolved_in_time,in_time_share,roster_persons,open_per_1000\r\n"
            "county,1,340422,340422,,,0,0,0,0,0,,8,0.00\r\n"
            "county,2,340421,340421,,,3,2,1,0,1,100.00,11,181.82\r\n"
            "unrouted,,unrouted,未定位,,,1,1,0,0,0,,0,\r\n"
            "total,,,合计,,,4,3,1,0,1,100.00,19,157.89\r\n"
            "township,1,340422,340422,340422100,340422100,0,0,0,0,0,,8,0.00\r\n"
            "township,1,340421,340421,340421103,340421103,1,0,1,0,1,100.00,6,0.00\r\n"
            "township,2,340421,340421,340421100,340421100,1,1,0,0,0,,5,200.00\r\n"
            "township,3,340421,340421,340421102,340421102,1,1,0,0,0,,0,\r\n");
        free(s);
        s = capture(write_quality_table, a);
        CU_ASSERT_PTR_NOT_NULL(strstr(s, "疑点数据质量 开始 至 2024-03-31\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(s, "181.82‰"));
        CU_ASSERT_PTR_NOT_NULL(strstr(s, "100.00%"));
        CU_ASSERT_PTR_NOT_NULL(strstr(s, "四舍五入到 0.01‰"));
        CU_ASSERT_PTR_NOT_NULL(strstr(s, "未定位"));
        free(s);
    }
    free(towns[0]);
    free(towns[1]);
    tdt_roster_free(r);
    tdt_suspects_free(l);
}

static void test_quarter_arg(void)
{
    int32_t from = 0, to = 0;
    td_error err = {0};
    CU_ASSERT(tdt_quarter_arg("2024Q1", &from, &to, &err) == 0);
    CU_ASSERT_EQUAL(from, D(2024, 1, 1));
    CU_ASSERT_EQUAL(to, D(2024, 3, 31));
    CU_ASSERT(tdt_quarter_arg("2023q4", &from, &to, &err) == 0);
    CU_ASSERT_EQUAL(from, D(2023, 10, 1));
    CU_ASSERT_EQUAL(to, D(2023, 12, 31));
    CU_ASSERT(tdt_quarter_arg("2024Q2", &from, &to, &err) == 0);
    CU_ASSERT_EQUAL(to, D(2024, 6, 30));
    CU_ASSERT(tdt_quarter_arg("2024Q5", &from, &to, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "e.g. 2024Q1"));
    CU_ASSERT(tdt_quarter_arg("24Q1", &from, &to, &err) == -EINVAL);
    CU_ASSERT(tdt_quarter_arg("2024-Q1", &from, &to, &err) == -EINVAL);
}

/* verify: a suspect takes department-data-wrong only, with a reason and two
 * people; an alert never takes it. */
static void test_verify_suspect_checks(void)
{
    tdt_verify_input in = vin();
    tdt_verification v;
    td_error err = {0};

    in.alert_id = "sus-0123456789abcdef0123456789abcdef";
    in.outcome = "department-data-wrong";
    CU_ASSERT_FATAL(tdt_verify_check(&in, &v, &err) == 0);
    CU_ASSERT(v.outcome == TDT_OUTCOME_DEPARTMENT_DATA_WRONG);
    CU_ASSERT_STRING_EQUAL(v.reason, "家庭收入稳定");
    tdt_verification_done(&v);
    in.outcome = "部门数据有误";
    CU_ASSERT_FATAL(tdt_verify_check(&in, &v, &err) == 0);
    tdt_verification_done(&v);
    in.outcome = "DEPARTMENT_DATA_WRONG";
    in.alert_id = "sus-01234567"; /* shortened, looked up with --county */
    in.lookup = true;
    CU_ASSERT_FATAL(tdt_verify_check(&in, &v, &err) == 0);
    tdt_verification_done(&v);

    in.reason = " ";
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "department-data-wrong needs --reason"));
    in.reason = "民政有误";
    in.reviewer = "王五";
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "two-person rule"));
    in = vin();
    in.alert_id = "sus-1";
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL); /* dismissed */
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "only outcome is department-data-wrong"));
    in.outcome = NULL;
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "department-data-wrong"));
    in.outcome = "maybe";
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "department-data-wrong (部门数据有误) for a suspect"));

    in = vin(); /* an alert */
    in.outcome = "department-data-wrong";
    CU_ASSERT(tdt_verify_check(&in, &v, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "is for suspects only"));
    CU_ASSERT_STRING_EQUAL(tdt_outcome_symbol(TDT_OUTCOME_DEPARTMENT_DATA_WRONG),
                           "DEPARTMENT_DATA_WRONG");
    CU_ASSERT_STRING_EQUAL(tdt_outcome_words(TDT_OUTCOME_DEPARTMENT_DATA_WRONG), "部门数据有误");
}

/* The suspect topics follow the config and --prefix. */
static void test_suspect_topic(void)
{
    tdt_config c;
    td_error err = {0};
    char *t;
    memset(&c, 0, sizeof(c));
    CU_ASSERT_FATAL(tdt_config_load_string("t.yaml", "kafka:\n  bootstrap.servers: x:1\n", &c,
                                           &err) == 0);
    t = tdt_suspect_topic(&c, "340421");
    CU_ASSERT_STRING_EQUAL(t, "tuodi.suspects.340421");
    free(t);
    CU_ASSERT_FATAL(tdt_config_set_prefix(&c, "t9") == 0);
    t = tdt_suspect_topic(&c, "340422");
    CU_ASSERT_STRING_EQUAL(t, "t9.suspects.340422");
    free(t);
    tdt_config_free(&c);
    memset(&c, 0, sizeof(c));
    CU_ASSERT_FATAL(tdt_config_load_string("t.yaml", "topics:\n  suspects_prefix: q.s.\n", &c,
                                           &err) == 0);
    t = tdt_suspect_topic(&c, "340421");
    CU_ASSERT_STRING_EQUAL(t, "q.s.340421");
    free(t);
    tdt_config_free(&c);
}

/* suspects, report --quality and verify of a suspect: what is wrong on the
 * command line is said before Kafka (the broker here is not there). */
static void test_args_suspects(void)
{
    char *dir = td_test_tmpdir();
    const char *cfg = bad_args_config(dir, NULL);

    expect(cfg, L("suspects"), TDT_EXIT_USAGE, L("--county CODE is required", "340421 凤台县"),
           NULL);
    expect(cfg, L("suspects", "--county", "340499"), TDT_EXIT_USAGE,
           L("--county 340499: no such county"), L("kafka"));
    expect(cfg, L("suspects", "--county", "unrouted", "--village", "340421100001"),
           TDT_EXIT_USAGE, L("--village goes with a county code, not with --county unrouted"),
           NULL);
    expect(cfg, L("suspects", "--county", "unrouted", "--township", "340421100"),
           TDT_EXIT_USAGE, L("tuodictl suspects: --township goes with a county code"), NULL);
    expect(cfg, L("suspects", "--county", "340421", "--township", "340422100"), TDT_EXIT_USAGE,
           L("tuodictl suspects: --township 340422100 (寿春镇) is in 340422"), NULL);
    expect(cfg, L("suspects", "--county", "340421", "--village", "3404211000"), TDT_EXIT_USAGE,
           L("--village 3404211000: expected a village code (12 digits"), NULL);
    expect(cfg, L("suspects", "--county", "340421", "--township", "340421100", "--village",
                  "340421102200"),
           TDT_EXIT_USAGE, L("--village 340421102200 is not in township 340421100"), NULL);
    expect(cfg, L("suspects", "--county", "340421", "--village", "340421100999"),
           TDT_EXIT_USAGE, L("--village 340421100999: no such village in the places file"),
           L("kafka"));
    expect(cfg, L("suspects", "--county", "340421", "--state", "closed"), TDT_EXIT_USAGE,
           L("--state closed: expected open"), NULL);
    expect(cfg, L("suspects", "--county", "340421", "--format", "xls"), TDT_EXIT_USAGE,
           L("--format xls: expected table, csv or json"), NULL);
    expect(cfg, L("suspects", "--county", "340421", "--all"), TDT_EXIT_USAGE,
           L("unknown option --all"), NULL);
    expect(cfg, L("suspects", "--county", "340421"), TDT_EXIT_FAILURE, L("cannot reach"), NULL);
    expect(cfg, L("suspect", "--county", "340421"), TDT_EXIT_USAGE,
           L("did you mean suspects?"), NULL);
    expect(cfg, L("report", "--quarter", "2024Q1"), TDT_EXIT_USAGE,
           L("--quarter goes with --quality"), NULL);
    expect(cfg, L("report", "--quality", "--quarter", "2024Q9"), TDT_EXIT_USAGE,
           L("--quarter 2024Q9: expected a year and quarter"), NULL);
    expect(cfg, L("report", "--quality", "--quarter", "2024Q1", "--from", "2024-01-01"),
           TDT_EXIT_USAGE, L("--quarter or --from/--to, not both"), NULL);
    expect(cfg, L("report", "--quality", "--from", "2024-03-01", "--to", "2024-02-01"),
           TDT_EXIT_USAGE, L("--from 2024-03-01 is after --to 2024-02-01"), NULL);
    expect(cfg, L("report", "--quality", "--to", "2024-02-30"), TDT_EXIT_USAGE,
           L("--to 2024-02-30 is not a date"), NULL);
    expect(cfg, L("report", "--quality", "--county", "340421", "--quarter", "2024Q1"),
           TDT_EXIT_FAILURE, L("cannot reach"), NULL);
    expect(cfg, L("verify", "sus-0123456789ab", "--outcome", "identified", "--category",
                  "marginal", "--verifier", "a", "--reviewer", "b", "--county", "340421"),
           TDT_EXIT_USAGE, L("only outcome is department-data-wrong"), L("kafka"));
    {
        const char *a[] = {"tuodictl", "--config", cfg, "help", "suspects", NULL};
        const char *b[] = {"tuodictl", "--config", cfg, "report", "--help", NULL};
        char *o, *e;
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_OK);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "疑点数据清单"));
        free(o);
        free(e);
        CU_ASSERT_EQUAL(run(b, &o, &e), TDT_EXIT_OK);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "--quarter Q"));
        free(o);
        free(e);
    }
    td_test_rmtree(dir);
    free(dir);
}

static void add_suites(void)
{
    td_test_suite("fold", NULL, NULL);
    TD_TEST(test_fold_open_overdue_close);
    TD_TEST(test_fold_escalation_same_id);
    TD_TEST(test_fold_supersede);
    TD_TEST(test_fold_later_kind_first_and_unknown);
    TD_TEST(test_fold_sort_and_township);
    TD_TEST(test_stats_and_roster);
    TD_TEST(test_day_cst_and_words);
    TD_TEST(test_alert_from_avro);
    td_test_suite("format", NULL, NULL);
    TD_TEST(test_display_width);
    TD_TEST(test_table_alignment);
    TD_TEST(test_csv_json);
    td_test_suite("config", NULL, NULL);
    TD_TEST(test_config);
    TD_TEST(test_topics_file_errors);
    TD_TEST(test_topics_file_shipped);
    TD_TEST(test_places);
    TD_TEST(test_reference_docs);
    td_test_suite("verify", NULL, NULL);
    TD_TEST(test_verify_checks);
    TD_TEST(test_verify_encode);
    td_test_suite("cli", NULL, NULL);
    TD_TEST(test_cli);
    TD_TEST(test_check_config);
    TD_TEST(test_args_county);
    TD_TEST(test_args_township);
    TD_TEST(test_args_dates);
    TD_TEST(test_args_options);
    TD_TEST(test_args_alert_id);
    TD_TEST(test_places_suggest);
    TD_TEST(test_kafka_quiet);
    TD_TEST(test_kafka_notice);
    TD_TEST(test_args_dead_letters);
    td_test_suite("suspects", NULL, NULL);
    TD_TEST(test_suspects_fold);
    TD_TEST(test_suspects_select);
    TD_TEST(test_suspects_formats);
    TD_TEST(test_suspect_from_avro);
    TD_TEST(test_quality_in_time);
    TD_TEST(test_quality_period);
    TD_TEST(test_quality_rank);
    TD_TEST(test_quality_county);
    TD_TEST(test_quarter_arg);
    TD_TEST(test_verify_suspect_checks);
    TD_TEST(test_suspect_topic);
    TD_TEST(test_args_suspects);
    td_test_suite("dead_letters", NULL, NULL);
    TD_TEST(test_dlq_list);
    TD_TEST(test_dlq_rows);
}

TD_TEST_MAIN(add_suites)
