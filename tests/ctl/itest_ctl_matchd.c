/* tuodictl over real tuodi-matchd output (KAFKA_BOOTSTRAP): topics created
 * by `tuodictl topics create`, a roster household and a 低保 application go
 * in, tuodi-matchd raises an alert on the county queue, `tuodictl alerts`
 * shows it by names (never the identity number), `tuodictl verify` records a
 * DISMISSED outcome on the county's own topic (<prefix>.verifications.340421),
 * tuodi-matchd closes the alert, and `tuodictl alerts --all` and `report`
 * show it closed.
 *
 * Outcomes per county: an outcome for an alert of 340422 (寿县) written by a
 * plain producer on 340421's topic is dead-lettered by tuodi-matchd (stage
 * verify, a reason naming both counties) and the 340422 alert stays open;
 * the same outcome on 340422's own topic closes it. */
#include "td_kafka.h"
#include "td_proc.h"
#include "td_test.h"
#include "td_time.h"
#include "tdt.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VILLAGE "340421100001" /* 城关镇 中山社区居委会 */
#define P_HEAD "340421198001010011"
#define VILLAGE_B "340422100001" /* 寿县 寿春镇 南关社区居委会 */
#define P_HEAD_B "340422198101010012"

static const char *bootstrap;
static char *tmp, *prefix, cfg[4096];
static td_avro_registry *reg;

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
    *out = ob;
    *errs = eb;
    return r;
}

/* "YYYY-MM-DD", n days from today (UTC). */
static const char *day(int n, char *buf)
{
    time_t t = time(NULL) + (time_t)n * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 16, "%Y-%m-%d", &tm);
    return buf;
}

/* One message (value NULL: a tombstone), with rd_kafka_produceva: the
 * producev macros are GNU statement expressions (clang -Wpedantic). */
static void produce_raw(rd_kafka_t *rk, const char *topic, const char *key, const void *value,
                        size_t len)
{
    rd_kafka_vu_t vu[4];
    rd_kafka_error_t *pe;
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = topic;
    vu[1].vtype = RD_KAFKA_VTYPE_KEY;
    vu[1].u.mem.ptr = (void *)key;
    vu[1].u.mem.size = strlen(key);
    vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[2].u.mem.ptr = (void *)value;
    vu[2].u.mem.size = len;
    vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[3].u.i = RD_KAFKA_MSG_F_COPY;
    pe = rd_kafka_produceva(rk, vu, 4);
    CU_ASSERT_FATAL(pe == NULL);
}

static void produce(rd_kafka_t *rk, const char *topic, const char *key, const char *rec,
                    const char *json)
{
    const td_avro_schema *s = td_avro_registry_find_name(reg, rec);
    avro_value_t v;
    td_avro_buf b = TD_AVRO_BUF_INIT;
    td_error err = {0};
    CU_ASSERT_FATAL(td_avro_schema_value_new(s, &v, &err) == 0);
    if (td_avro_value_from_json(s, json, strlen(json), &v, &err) != 0)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_FATAL(td_avro_encode(s, &v, &b, &err) == 0);
    produce_raw(rk, topic, key, b.data, b.len);
    avro_value_decref(&v);
    td_avro_buf_done(&b);
}

/* Runs `alerts --county COUNTY --all --format json` until pred holds for
 * its output or timeout_ms passes; returns the last output parsed. */
static td_json *poll_county(const char *county, bool (*pred)(const td_json *), int timeout_ms)
{
    const char *a[] = {"tuodictl", "--config", cfg, "alerts", "--county", county, "--all",
                       "--format", "json", NULL};
    int64_t until = td_time_mono_ms() + timeout_ms;
    td_json *j = NULL;
    for (;;) {
        char *o, *e;
        int r = run(a, &o, &e);
        td_json_free(j);
        j = NULL;
        if (r == 0) {
            CU_ASSERT_PTR_NULL(strstr(o, P_HEAD)); /* never the identity number */
            CU_ASSERT_PTR_NULL(strstr(o, P_HEAD_B));
            td_json_parse("alerts", o, strlen(o), &j, NULL);
        }
        free(o);
        free(e);
        if ((j && pred(j)) || td_time_mono_ms() > until)
            return j;
        usleep(500000);
    }
}

static td_json *poll_alerts(bool (*pred)(const td_json *), int timeout_ms)
{
    return poll_county("340421", pred, timeout_ms);
}

static bool one_alert(const td_json *j)
{
    return j->len >= 1;
}

/* A household of one member in village, and a 低保 application of its
 * head 10 days ago: tuodi-matchd raises one dibao-tekun alert. */
static void household_dibao(rd_kafka_t *rk, const char *hid, const char *village,
                            const char *person)
{
    char text[4096], d[16], t_roster[256], t_civil[256];
    snprintf(t_roster, sizeof(t_roster), "%s.roster.households", prefix);
    snprintf(t_civil, sizeof(t_civil), "%s.civil_affairs.events", prefix);
    snprintf(text, sizeof(text),
             "{\"household_id\":\"%s\",\"village_code\":\"%s\",\"grid_id\":\"G-1\","
             "\"household_type\":\"POVERTY_ALLEVIATED\","
             "\"monitoring\":{\"state\":\"NOT_MONITORED\",\"category\":null,"
             "\"identified_date\":null,\"risk_eliminated_date\":null,"
             "\"risk_elimination_method\":null},"
             "\"members\":[{\"person_key\":\"%s\",\"name\":\"张三\",\"relation\":\"HEAD\","
             "\"birth_date\":\"1980-01-01\",\"labour_capacity\":\"NORMAL\","
             "\"disability_grade\":null,\"in_school\":null}],\"household_size\":1,"
             "\"income\":null,\"risks\":[],\"updated_at\":\"%sT10:00:00Z\","
             "\"source\":{\"department\":\"RURAL_REVITALIZATION\",\"connector_instance\":"
             "\"roster\",\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             hid, village, person, day(-30, d), hid);
    produce(rk, t_roster, hid, "cn.tuodi.Household", text);
    snprintf(text, sizeof(text),
             "{\"event_type\":\"DIBAO_APPLIED\",\"person_key\":\"%s\",\"name\":null,"
             "\"village_code\":{\"string\":\"%s\"},\"event_date\":\"%s\","
             "\"amount_fen\":null,\"disability_grade\":null,\"source\":{\"department\":"
             "\"CIVIL_AFFAIRS\",\"connector_instance\":\"civil\",\"record_id\":\"MZ-%s\","
             "\"location\":null,\"row\":null}}",
             person, village, day(-10, d), hid);
    produce(rk, t_civil, person, "cn.tuodi.CivilAffairsEvent", text);
}

/* A DISMISSED outcome for alert_id as any client could write it, on the
 * verification topic of county (not through tuodictl, which checks). */
static void outcome_raw(rd_kafka_t *rk, const char *county, const char *alert_id,
                        const char *outcome_id)
{
    char text[2048], topic[256], d[16];
    snprintf(topic, sizeof(topic), "%s.verifications.%s", prefix, county);
    snprintf(text, sizeof(text),
             "{\"alert_id\":\"%s\",\"outcome\":\"DISMISSED\",\"category\":null,"
             "\"reason\":{\"string\":\"已核实\"},\"verifier\":\"王五\",\"reviewer\":\"赵六\","
             "\"visit_date\":\"%s\",\"recorded_at\":\"%sT02:00:00Z\",\"source\":{"
             "\"department\":\"RURAL_REVITALIZATION\",\"connector_instance\":\"crafted\","
             "\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             alert_id, day(-1, d), day(-1, d), outcome_id);
    produce(rk, topic, alert_id, "cn.tuodi.VerificationOutcome", text);
}

static bool open_alert(const td_json *j)
{
    return j->len >= 1 && strcmp(td_json_get_string(j->items[0], "state"), "closed") != 0;
}

static bool closed(const td_json *j)
{
    return j->len >= 1 && strcmp(td_json_get_string(j->items[0], "state"), "closed") == 0;
}

static void test_matchd_queue(void)
{
    char dir_src[4096], mcfg[4200], log[4200], text[8192], d[16], alert_id[200] = "";
    char alert_b[200] = "";
    const char *src = td_test_source_root(), *build = getenv("TD_BUILD_ROOT");
    rd_kafka_t *rk = NULL;
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    td_error err = {0};
    td_json *j;
    char *o, *e;
    pid_t pid;
    int status = 0;

    CU_ASSERT_FATAL(build != NULL);
    snprintf(dir_src, sizeof(dir_src), "%s/schemas", src);
    snprintf(cfg, sizeof(cfg), "%s/ctl.yaml", tmp);
    snprintf(text, sizeof(text),
             "kafka:\n  bootstrap.servers: %s\nschemas_dir: %s\n"
             "places: %s/deploy/data/huainan-divisions.csv\ntopics_file: %s/deploy/topics.yaml\n"
             "topic_prefix: %s\nreplication_factor: 1\n",
             bootstrap, dir_src, src, src, prefix);
    CU_ASSERT_FATAL(td_test_write_file(cfg, text) == 0);
    {
        const char *a[] = {"tuodictl", "--config", cfg, "topics", "create", NULL};
        CU_ASSERT_FATAL(run(a, &o, &e) == TDT_EXIT_OK);
        free(o);
        free(e);
    }

    /* tuodi-matchd on the same topics. */
    snprintf(mcfg, sizeof(mcfg), "%s/matchd.yaml", tmp);
    snprintf(log, sizeof(log), "%s/matchd.log", tmp);
    snprintf(text, sizeof(text),
             "kafka:\n  bootstrap.servers: %s\ngroup_id: %s\nstate_dir: %s/state\n"
             "rules: %s/deploy/rules/huainan-2023.yaml\nschemas_dir: %s\nlog_level: info\n"
             "topics:\n  roster: %s.roster.households\n"
             "  medical_insurance: %s.medical_insurance.settlements\n"
             "  civil_affairs: %s.civil_affairs.events\n"
             "  human_resources: %s.human_resources.events\n"
             "  verifications_prefix: %s.verifications.\n"
             "  dlq_verifications: %s.dlq.verifications\n"
             "  alerts_prefix: %s.alerts.\n  alert_partitions: 3\n  replication_factor: 1\n"
             "transaction:\n  max_records: 100\n  max_interval: 200ms\n",
             bootstrap, prefix, tmp, src, dir_src, prefix, prefix, prefix, prefix, prefix,
             prefix, prefix);
    CU_ASSERT_FATAL(td_test_write_file(mcfg, text) == 0);

    CU_ASSERT_FATAL(td_kafka_producer_conf_new(bootstrap, NULL, &props, &conf, &err) == 0);
    CU_ASSERT_FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) == 0);
    household_dibao(rk, "H1", VILLAGE, P_HEAD);
    household_dibao(rk, "H2", VILLAGE_B, P_HEAD_B); /* an alert of 340422 */
    CU_ASSERT_FATAL(rd_kafka_flush(rk, 30000) == 0);

    fflush(NULL);
    {
        char bin[4200];
        snprintf(bin, sizeof(bin), "%s/daemon/tuodi-matchd", build);
        pid = td_proc_spawn_config(bin, mcfg, log);
    }
    CU_ASSERT_FATAL(pid >= 0);

    j = poll_alerts(one_alert, 120000);
    CU_ASSERT_PTR_NOT_NULL(j);
    if (j && j->len >= 1) {
        const td_json *a = j->items[0];
        CU_ASSERT_EQUAL(j->len, 1);
        CU_ASSERT_STRING_EQUAL(td_json_get_string(a, "rule_id"), "dibao-tekun");
        CU_ASSERT_STRING_EQUAL(td_json_get_string(a, "village"), "中山社区居委会");
        CU_ASSERT_STRING_EQUAL(td_json_get_string(a, "township"), "城关镇");
        CU_ASSERT_STRING_EQUAL(td_json_get_string(a, "head_name"), "张三");
        /* raised today (the push day), due 2 working days later: not overdue */
        CU_ASSERT_STRING_EQUAL(td_json_get_string(a, "state"), "open");
        snprintf(alert_id, sizeof(alert_id), "%s", td_json_get_string(a, "alert_id"));
        CU_ASSERT_EQUAL(strlen(alert_id), 64);
    } else {
        char *l = td_test_read_file(log, NULL);
        fprintf(stderr, "no alert; matchd log:\n%s\n", l ? l : "");
        free(l);
    }
    td_json_free(j);

    /* 340422's alert, and an outcome for it on 340421's topic (before
     * 340421's own outcome below: processed once that one is). */
    j = poll_county("340422", one_alert, 60000);
    CU_ASSERT_PTR_NOT_NULL(j);
    if (j && j->len == 1)
        snprintf(alert_b, sizeof(alert_b), "%s", td_json_get_string(j->items[0], "alert_id"));
    td_json_free(j);
    CU_ASSERT_EQUAL(strlen(alert_b), 64);
    if (alert_b[0]) {
        outcome_raw(rk, "340421", alert_b, "OUT-CROSS");
        CU_ASSERT_FATAL(rd_kafka_flush(rk, 30000) == 0);
    }

    if (alert_id[0]) {
        const char *a[] = {"tuodictl", "--config", cfg, "verify", alert_id, "--outcome",
                           "排除", "--reason", "已核实，家庭收入稳定", "--verifier", "王五",
                           "--reviewer", "赵六", "--visit-date", day(-1, d), "--county",
                           "340421", NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_OK);
        {
            char want[300];
            snprintf(want, sizeof(want), "recorded %s.verifications.340421\n", prefix);
            CU_ASSERT_PTR_NOT_NULL(strstr(o, want));
        }
        free(o);
        free(e);
        j = poll_alerts(closed, 60000);
        CU_ASSERT_PTR_NOT_NULL(j);
        CU_ASSERT(j && closed(j));
        if (j && closed(j))
            CU_ASSERT_STRING_EQUAL(td_json_get_string(j->items[0], "outcome"), "DISMISSED");
        td_json_free(j);
    }
    /* The outcome on the wrong county's topic: dead-lettered with its
     * reason, and 340422's alert still open. */
    if (alert_b[0]) {
        const char *a[] = {"tuodictl", "--config", cfg, "dead-letters", "--dataset",
                           "verifications", "--format", "json", NULL};
        char t_wrong[256];
        bool found = false;
        snprintf(t_wrong, sizeof(t_wrong), "%s.verifications.340421", prefix);
        CU_ASSERT_FATAL(run(a, &o, &e) == TDT_EXIT_OK);
        j = NULL;
        CU_ASSERT_FATAL(td_json_parse("dead-letters", o, strlen(o), &j, NULL) == 0);
        for (size_t i = 0; i < j->len; i++) {
            const char *reason = td_json_get_string(j->items[i], "reason");
            if (strcmp(td_json_get_string(j->items[i], "topic"), t_wrong) != 0)
                continue;
            found = true;
            CU_ASSERT_STRING_EQUAL(td_json_get_string(j->items[i], "stage"), "verify");
            CU_ASSERT_STRING_EQUAL(td_json_get_string(j->items[i], "writer"), "matchd");
            CU_ASSERT_PTR_NOT_NULL(strstr(reason, "the alert is of county 340422"));
            CU_ASSERT_PTR_NOT_NULL(strstr(reason, t_wrong));
            CU_ASSERT_PTR_NOT_NULL(strstr(reason, "(county 340421)"));
        }
        CU_ASSERT(found);
        CU_ASSERT_EQUAL(j->len, 1);
        if (!found)
            fprintf(stderr, "dead letters of verifications: %s\n", o);
        td_json_free(j);
        free(o);
        free(e);
        j = poll_county("340422", one_alert, 10000);
        CU_ASSERT(j && j->len == 1 && open_alert(j));
        td_json_free(j);
        {
            char *l = td_test_read_file(log, NULL);
            char want[400];
            snprintf(want, sizeof(want), "%s [0] @0: rejected (verify): the alert is of county "
                     "340422", t_wrong);
            CU_ASSERT(l && strstr(l, want));
            CU_ASSERT(l && !strstr(l, P_HEAD_B)); /* no identity number logged */
            free(l);
        }
        /* the same outcome on 340422's own topic is taken */
        outcome_raw(rk, "340422", alert_b, "OUT-OWN");
        CU_ASSERT_FATAL(rd_kafka_flush(rk, 30000) == 0);
        j = poll_county("340422", closed, 60000);
        CU_ASSERT(j && closed(j));
        td_json_free(j);
    }
    td_kafka_destroy(rk);
    {
        const char *a[] = {"tuodictl", "--config", cfg, "report", "--county", "340421",
                           "--format", "json", NULL};
        CU_ASSERT_FATAL(run(a, &o, &e) == TDT_EXIT_OK);
        j = NULL;
        CU_ASSERT_FATAL(td_json_parse("report", o, strlen(o), &j, NULL) == 0);
        CU_ASSERT_EQUAL(td_json_get(j->items[0], "raised")->integer, 1);
        CU_ASSERT_EQUAL(td_json_get(j->items[0], "closed")->integer, 1);
        CU_ASSERT_EQUAL(td_json_get(j->items[0], "dismissed")->integer, 1);
        CU_ASSERT_EQUAL(td_json_get(j->items[0], "open")->integer, 0);
        td_json_free(j);
        free(o);
        free(e);
    }
    status = td_proc_stop(pid, SIGTERM, 60000);
    CU_ASSERT(status >= 0);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int setup(void)
{
    char dir[4096];
    td_error err = {0};
    bootstrap = td_test_bootstrap();
    tmp = td_test_tmpdir();
    prefix = td_test_unique("ctlm");
    snprintf(dir, sizeof(dir), "%s/schemas", td_test_source_root());
    if (td_avro_registry_new(&reg) < 0 || td_avro_registry_load_dir(reg, dir, NULL, &err) < 0)
        return 1;
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

static void add_suites(void)
{
    td_test_suite("matchd", setup, teardown);
    TD_TEST(test_matchd_queue);
}

TD_TEST_MAIN(add_suites)
