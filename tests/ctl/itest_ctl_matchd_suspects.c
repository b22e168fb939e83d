/* tuodictl over the suspects the real tuodi-matchd raises (KAFKA_BOOTSTRAP),
 * the cycle 筛查—整改—再筛查 as a county office sees it:
 *   1. a roster (H1 in 城关镇, H2 in 新集镇) and two department records (A of
 *      H1 certified grade 1 while the roster says none; 低保 approved for C
 *      of H2 while the roster says none): `tuodictl suspects` lists the two,
 *      grouped by township, with the rules file's names and fix hints, by
 *      names only;
 *   2. H1 exported again with the grade (整改): matchd resolves its suspect,
 *      the open list shrinks to H2's, `--state all` shows H1's 整改到位;
 *   3. `tuodictl verify` by the shortened id: department-data-wrong on H2's,
 *      matchd closes it, the open list is empty;
 *   4. `report --quality` rows exactly: two raised, one resolved in time, one
 *      closed, none open, two roster persons.
 * The rules file is written here (two indicators with no grace period), so
 * the test does not follow the shipped file's thresholds. */
#include "suspect_it.h"
#include "td_kafka.h"
#include "td_proc.h"
#include "td_test.h"
#include "td_time.h"
#include "tdt.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define V1 "340421100001" /* 城关镇 中山社区居委会 */
#define V2 "340421102200" /* 新集镇 郭郢村村委会 */
#define P_A "340421198001010011"
#define P_C "340421194003030030"

static const char *bootstrap;
static char *tmp, *prefix, cfg[4200];
static td_avro_registry *reg;

static int setup(void)
{
    char dir[4096];
    td_error err = {0};
    bootstrap = td_test_bootstrap();
    tmp = td_test_tmpdir();
    prefix = td_test_unique("ctl-msus");
    snprintf(dir, sizeof(dir), "%s/schemas", td_test_source_root());
    return td_avro_registry_new(&reg) < 0 ||
           td_avro_registry_load_dir(reg, dir, NULL, &err) < 0;
}

static int teardown(void)
{
    td_test_rmtree(tmp);
    free(tmp);
    free(prefix);
    td_avro_registry_free(reg);
    return 0;
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

/* "YYYY-MM-DD", n days from today (UTC); four rotating buffers. */
static const char *day(int n)
{
    static char buf[4][16];
    static int k;
    time_t t = time(NULL) + (time_t)n * 86400;
    struct tm tm;
    char *b = buf[k++ % 4];
    gmtime_r(&t, &tm);
    strftime(b, 16, "%Y-%m-%d", &tm);
    return b;
}

/* A household of one member (grade 0: none on the roster), 低保 not recorded,
 * exported ago days ago. */
static void household(rd_kafka_t *rk, const char *hid, const char *village, const char *person,
                      const char *name, int grade, int ago)
{
    char json[4096], topic[256], g[32] = "null";
    if (grade)
        snprintf(g, sizeof(g), "{\"int\":%d}", grade);
    snprintf(topic, sizeof(topic), "%s.roster.households", prefix);
    snprintf(json, sizeof(json),
             "{\"household_id\":\"%s\",\"village_code\":\"%s\",\"grid_id\":\"G-1\","
             "\"household_type\":\"POVERTY_ALLEVIATED\","
             "\"monitoring\":{\"state\":\"NOT_MONITORED\",\"category\":null,"
             "\"identified_date\":null,\"risk_eliminated_date\":null,"
             "\"risk_elimination_method\":null},"
             "\"members\":[{\"person_key\":\"%s\",\"name\":\"%s\",\"relation\":\"HEAD\","
             "\"birth_date\":\"1980-01-01\",\"labour_capacity\":\"NORMAL\","
             "\"disability_grade\":%s,\"in_school\":null}],\"household_size\":1,"
             "\"income\":null,\"risks\":[],\"updated_at\":\"%sT02:00:00Z\","
             "\"dibao\":{\"boolean\":false},"
             "\"source\":{\"department\":\"RURAL_REVITALIZATION\",\"connector_instance\":"
             "\"roster\",\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             hid, village, person, name, g, day(-ago), hid);
    suspect_it_produce_json(reg, rk, topic, hid, "cn.tuodi.Household", json);
}

static void civil(rd_kafka_t *rk, const char *type, const char *person, const char *village,
                  int ago, const char *grade, const char *id)
{
    char json[2048], topic[256];
    snprintf(topic, sizeof(topic), "%s.civil_affairs.events", prefix);
    snprintf(json, sizeof(json),
             "{\"event_type\":\"%s\",\"person_key\":\"%s\",\"name\":null,"
             "\"village_code\":{\"string\":\"%s\"},\"event_date\":\"%s\","
             "\"amount_fen\":null,\"disability_grade\":%s,\"source\":{\"department\":"
             "\"CIVIL_AFFAIRS\",\"connector_instance\":\"civil\",\"record_id\":\"%s\","
             "\"location\":null,\"row\":null}}",
             type, person, village, day(-ago), grade, id);
    suspect_it_produce_json(reg, rk, topic, person, "cn.tuodi.CivilAffairsEvent", json);
}

/* The county's list as json lines (state "open" or "all") once it has n
 * lines, or the last one after timeout_ms (NULL if tuodictl failed). */
static char *poll_list(const char *state, size_t n, int timeout_ms)
{
    const char *a[] = {"tuodictl", "--config", cfg, "suspects", "--county", "340421",
                       "--state", state, "--format", "json", NULL};
    int64_t until = td_time_mono_ms() + timeout_ms;
    for (;;) {
        char *o, *e;
        size_t lines = 0;
        int r = run(a, &o, &e);
        free(e);
        for (const char *p = o; r == 0 && p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
            lines++;
        if ((r == 0 && lines == n) || td_time_mono_ms() > until)
            return o;
        free(o);
        usleep(500000);
    }
}

/* Line i (0-based) of json lines, parsed; NULL when there is none. */
static td_json *line(const char *s, size_t i)
{
    td_json *j = NULL;
    for (; s && i > 0; i--) {
        s = strchr(s, '\n');
        s = s ? s + 1 : NULL;
    }
    if (!s || !*s || td_json_parse("line", s, strcspn(s, "\n"), &j, NULL) < 0)
        return NULL;
    return j;
}

static const char *str(const td_json *j, const char *key)
{
    const char *s = j ? td_json_get_string(j, key) : NULL;
    return s ? s : "(null)";
}

static void test_matchd_suspects(void)
{
    char mcfg[4200], log[4200], rules[4200], text[16384], dir_src[4096], sus_h2[200] = "";
    const char *src = td_test_source_root(), *build = getenv("TD_BUILD_ROOT");
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_error err = {0};
    td_json *j;
    char *o, *e;
    pid_t pid;
    int status;

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
    snprintf(rules, sizeof(rules), "%s/rules.yaml", tmp);
    CU_ASSERT_FATAL(td_test_write_file(rules,
        "lines:\n"
        "  - {province: \"34\", year: 2023, per_capita_yuan: 7900}\n"
        "rules:\n"
        "  - id: dibao\n    name: 低保申请\n    version: \"1\"\n"
        "    dataset: civil_affairs\n"
        "    condition: {kind: event, events: [DIBAO_APPLIED]}\n    severity: high\n"
        "suspects:\n"
        "  - id: disability-differs\n    name: 残疾等级与残联认定不一致\n"
        "    check: disability_grade_differs\n    grace_days: 0\n"
        "    fix_hint: 核实残疾证等级并更正名册\n"
        "  - id: dibao-not-recorded\n    name: 享受低保但名册未标注\n"
        "    check: allowance_not_recorded\n    allowance: dibao\n    grace_days: 0\n"
        "    fix_hint: 核实低保待遇并更正名册\n") == 0);
    snprintf(mcfg, sizeof(mcfg), "%s/matchd.yaml", tmp);
    snprintf(log, sizeof(log), "%s/matchd.log", tmp);
    snprintf(text, sizeof(text),
             "kafka:\n  bootstrap.servers: %s\ngroup_id: %s\nstate_dir: %s/state\n"
             "rules: %s\nschemas_dir: %s\nlog_level: info\n"
             "topics:\n  roster: %s.roster.households\n"
             "  medical_insurance: %s.medical_insurance.settlements\n"
             "  civil_affairs: %s.civil_affairs.events\n"
             "  human_resources: %s.human_resources.events\n"
             "  verifications_prefix: %s.verifications.\n"
             "  dlq_verifications: %s.dlq.verifications\n"
             "  alerts_prefix: %s.alerts.\n  suspects_prefix: %s.suspects.\n"
             "  alert_partitions: 3\n  replication_factor: 1\n"
             "transaction:\n  max_records: 100\n  max_interval: 200ms\n",
             bootstrap, prefix, tmp, rules, dir_src, prefix, prefix, prefix, prefix, prefix,
             prefix, prefix, prefix);
    CU_ASSERT_FATAL(td_test_write_file(mcfg, text) == 0);

    /* 1. the roster and two department records */
    CU_ASSERT_FATAL(td_kafka_producer_conf_new(bootstrap, NULL, &props, &conf, &err) == 0);
    CU_ASSERT_FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) == 0);
    household(rk, "H1", V1, P_A, "张三", 0, 2);
    household(rk, "H2", V2, P_C, "李四", 0, 2);
    civil(rk, "DISABILITY_CERTIFIED", P_A, V1, 5, "{\"int\":1}", "MZ-1");
    civil(rk, "DIBAO_APPROVED", P_C, V2, 4, "null", "MZ-2");
    CU_ASSERT_FATAL(rd_kafka_flush(rk, 30000) == 0);
    fflush(NULL);
    {
        char bin[4200];
        snprintf(bin, sizeof(bin), "%s/daemon/tuodi-matchd", build);
        pid = td_proc_spawn_config(bin, mcfg, log);
    }
    CU_ASSERT_FATAL(pid >= 0);

    o = poll_list("open", 2, 120000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    fprintf(stderr, "open list:\n%s", o);
    CU_ASSERT_PTR_NULL(strstr(o, P_A)); /* names only */
    CU_ASSERT_PTR_NULL(strstr(o, P_C));
    j = line(o, 0);
    CU_ASSERT_STRING_EQUAL(str(j, "township"), "城关镇");
    CU_ASSERT_STRING_EQUAL(str(j, "village"), "中山社区居委会");
    CU_ASSERT_STRING_EQUAL(str(j, "household_id"), "H1");
    CU_ASSERT_STRING_EQUAL(str(j, "person_name"), "张三");
    CU_ASSERT_STRING_EQUAL(str(j, "indicator_id"), "disability-differs");
    CU_ASSERT_STRING_EQUAL(str(j, "indicator_name"), "残疾等级与残联认定不一致");
    CU_ASSERT_STRING_EQUAL(str(j, "fix_hint"), "核实残疾证等级并更正名册");
    CU_ASSERT_STRING_EQUAL(str(j, "state"), "open");
    td_json_free(j);
    j = line(o, 1);
    CU_ASSERT_STRING_EQUAL(str(j, "township"), "新集镇");
    CU_ASSERT_STRING_EQUAL(str(j, "household_id"), "H2");
    CU_ASSERT_STRING_EQUAL(str(j, "indicator_id"), "dibao-not-recorded");
    CU_ASSERT_STRING_EQUAL(str(j, "fix_hint"), "核实低保待遇并更正名册");
    snprintf(sus_h2, sizeof(sus_h2), "%s", str(j, "suspect_id"));
    td_json_free(j);
    free(o);
    CU_ASSERT_EQUAL(strncmp(sus_h2, "sus-", 4), 0);

    /* 2. H1 exported again with A's grade: its suspect resolves itself */
    household(rk, "H1", V1, P_A, "张三", 1, 0);
    CU_ASSERT_FATAL(rd_kafka_flush(rk, 30000) == 0);
    o = poll_list("open", 1, 60000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    j = line(o, 0);
    CU_ASSERT_STRING_EQUAL(str(j, "household_id"), "H2");
    CU_ASSERT_PTR_NULL(line(o, 1));
    td_json_free(j);
    free(o);
    o = poll_list("all", 2, 10000);
    j = line(o, 0);
    CU_ASSERT_STRING_EQUAL(str(j, "household_id"), "H1");
    CU_ASSERT_STRING_EQUAL(str(j, "state"), "resolved");
    CU_ASSERT(j && td_json_get_string(j, "resolved_date") != NULL);
    td_json_free(j);
    free(o);

    /* 3. the village finds the roster right for H2: department data wrong,
     * recorded by the 12 characters the table shows */
    if (sus_h2[0]) {
        char shortid[16];
        snprintf(shortid, sizeof(shortid), "%.12s", sus_h2);
        const char *a[] = {"tuodictl", "--config", cfg, "verify", shortid, "--county",
                           "340421", "--outcome", "department-data-wrong", "--reason",
                           "民政低保名单有误，该户未享受低保", "--verifier", "王五",
                           "--reviewer", "赵六", NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_OK);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, sus_h2)); /* the whole id */
        free(o);
        free(e);
    }
    o = poll_list("open", 0, 60000);
    CU_ASSERT_STRING_EQUAL(o ? o : "(failed)", "");
    free(o);
    o = poll_list("all", 2, 10000);
    j = line(o, 1);
    CU_ASSERT_STRING_EQUAL(str(j, "household_id"), "H2");
    CU_ASSERT_STRING_EQUAL(str(j, "state"), "closed");
    CU_ASSERT_STRING_EQUAL(str(j, "outcome"), "DEPARTMENT_DATA_WRONG");
    CU_ASSERT_STRING_EQUAL(str(j, "reason"), "民政低保名单有误，该户未享受低保");
    td_json_free(j);
    free(o);

    /* 4. the quality report: both raised, one resolved in time, one closed */
    {
        const char *a[] = {"tuodictl", "--config", cfg, "report", "--quality", "--county",
                           "340421", "--from", day(-60), "--to", day(60), "--format", "csv",
                           NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_OK);
        CU_ASSERT_STRING_EQUAL(
            o, "\xEF\xBB\xBF"
               "level,rank,county_code,county,township_code,township,raised,open,resolved,"
               "closed,resolved_in_time,in_time_share,roster_persons,open_per_1000\r\n"
               "county,1,340421,凤台县,,,2,0,1,1,1,100.00,2,0.00\r\n"
               "total,,,合计,,,2,0,1,1,1,100.00,2,0.00\r\n"
               "township,1,340421,凤台县,340421100,城关镇,1,0,1,0,1,100.00,1,0.00\r\n"
               "township,1,340421,凤台县,340421102,新集镇,1,0,0,1,0,,1,0.00\r\n");
        free(o);
        free(e);
    }

    status = td_proc_stop(pid, SIGTERM, 60000);
    CU_ASSERT(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (CU_get_number_of_failures() > 0)
        td_proc_show_log(log, 40);
    td_kafka_destroy(rk);
}

static void add_suites(void)
{
    td_test_suite("matchd_suspects", setup, teardown);
    TD_TEST(test_matchd_suspects);
}

TD_TEST_MAIN(add_suites)
