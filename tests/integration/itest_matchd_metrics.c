/* tuodi-matchd's /metrics, /health and /ready during a real run, on a broker
 * of the test's own (deploy/kafka/dev-broker, plain), which it stops and
 * starts again.
 *
 *   1. matchd starts (http.listen 127.0.0.1:0) before the roster topic
 *      exists: /health 200, /ready 503 ("starting: ...")
 *   2. the topics, 2 roster households, a 低保 application (ALERT
 *      dibao-tekun), 2 medical settlements (ALERT medical-oop-365d), a
 *      medical record that is no Avro (dead letter), two outcomes for the
 *      dibao alert (one person: dead letter; two: CLOSED), a 低保 application
 *      in the medical household 2 days after its settlement (ALERT
 *      dibao-tekun HIGH, the medical alert escalated), a clock tick 14 days
 *      ahead (OVERDUE_WARNING of both open alerts)
 *   3. /ready 200; /metrics: records and dead letters by input, alerts by
 *      rule, county and kind as the log says they were produced, outcomes,
 *      open and overdue alerts by county, roster persons and households,
 *      consumer lag down to 0, the store's sizes, a commit; no 15-digit
 *      number anywhere; `promtool check metrics` accepts the text
 *   4. the broker stops: /ready 503 (all brokers down), /health still 200;
 *      the broker starts again: /ready 200
 *   5. a restart: open and overdue alerts counted from the state (2 and 2),
 *      the counters at 0 again.
 * The holiday file (calendar:) covers 2000 only: every due date counts
 * Monday to Friday, each year concerned warned once in the log and counted
 * in tuodi_matchd_calendar_fallback_total{year}; calendar_last_year is 2000. */
#include "td_avro.h"
#include "td_kafka.h"
#include "td_proc.h"
#include "td_test.h"
#include "td_time.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VILLAGE "340421100201"
#define P_HEAD "340421198001010011"
#define P_H2 "340421198202020028"

static int failures;
#define CHECK(c)                                                                        \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);       \
            failures++;                                                                 \
        }                                                                               \
    } while (0)
#define FATAL(c)                                                                        \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: FATAL: %s\n", __FILE__, __LINE__, #c);              \
            cleanup();                                                                  \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

static char kdir[2048], bootstrap[256], schemas_dir[4200];
static td_avro_registry *reg;
static rd_kafka_t *producer;
static pid_t matchd = -1;
static char t_roster[128], t_med[128], t_civil[128], t_hr[128], t_ver[128], t_clock[128],
    prefix[128];

static int broker(const char *what)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "%s/deploy/kafka/dev-broker %s --dir %s/kafka >>%s/dev-broker.log 2>&1",
             td_test_source_root(), what, kdir, kdir);
    return system(cmd);
}

static void cleanup(void)
{
    if (matchd > 0)
        td_proc_stop(matchd, SIGKILL, 5000);
    matchd = -1;
    if (kdir[0])
        broker("stop");
}

/* ---- input, as in itest_matchd.c ---- */

static void encode_json(const char *schema, const char *json, td_avro_buf *out)
{
    const td_avro_schema *s = td_avro_registry_find_name(reg, schema);
    avro_value_t v;
    td_error err = {0};
    FATAL(s);
    FATAL(td_avro_schema_value_new(s, &v, &err) == 0);
    if (td_avro_value_from_json(s, json, strlen(json), &v, &err) < 0 ||
        td_avro_encode(s, &v, out, &err) < 0) {
        fprintf(stderr, "encode %s: %s\n", schema, err.msg);
        FATAL(0);
    }
    avro_value_decref(&v);
}

/* One record in its own transaction (schema NULL: value as given). */
static void produce_raw(const char *topic, const char *key, const void *val, size_t len,
                        int32_t partition)
{
    td_error err = {0};
    rd_kafka_vu_t vu[5];
    size_t n = 0;
    rd_kafka_error_t *xe;
    FATAL(td_kafka_txn_begin(producer, &err) == 0);
    vu[n].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[n++].u.cstr = topic;
    vu[n].vtype = RD_KAFKA_VTYPE_KEY;
    vu[n].u.mem.ptr = (void *)key;
    vu[n++].u.mem.size = strlen(key);
    vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[n].u.mem.ptr = (void *)val;
    vu[n++].u.mem.size = len;
    vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
    if (partition >= 0) {
        vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
        vu[n++].u.i32 = partition;
    }
    xe = rd_kafka_produceva(producer, vu, n);
    FATAL(xe == NULL);
    if (td_kafka_txn_commit(producer, 30000, &err) < 0) {
        fprintf(stderr, "commit: %s\n", err.msg);
        FATAL(0);
    }
}

static void produce(const char *topic, const char *key, const char *schema, const char *json)
{
    td_avro_buf b = TD_AVRO_BUF_INIT;
    encode_json(schema, json, &b);
    produce_raw(topic, key, b.data, b.len, -1);
    td_avro_buf_done(&b);
}

/* "YYYY-MM-DD" of today (UTC) - 200 + n days; four rotating buffers. */
static const char *day(int n)
{
    static char buf[4][16];
    static int k;
    time_t t = time(NULL) + (time_t)(n - 200) * 86400;
    struct tm tm;
    char *b = buf[k++ % 4];
    gmtime_r(&t, &tm);
    strftime(b, 16, "%Y-%m-%d", &tm);
    return b;
}

static void household(const char *hid, const char *person)
{
    char json[4096];
    snprintf(json, sizeof(json),
             "{\"household_id\":\"%s\",\"village_code\":\"" VILLAGE "\",\"grid_id\":\"G-1\","
             "\"household_type\":\"POVERTY_ALLEVIATED\","
             "\"monitoring\":{\"state\":\"NOT_MONITORED\",\"category\":null,\"identified_date\":null,"
             "\"risk_eliminated_date\":null,\"risk_elimination_method\":null},"
             "\"members\":[{\"person_key\":\"%s\",\"name\":\"张三\",\"relation\":\"HEAD\","
             "\"birth_date\":\"1980-01-01\",\"labour_capacity\":\"NORMAL\","
             "\"disability_grade\":null,\"in_school\":null}],\"household_size\":1,"
             "\"income\":{\"cn.tuodi.Income\":{\"year\":2023,\"annual_net_fen\":3000000,"
             "\"per_capita_net_fen\":3000000}},\"risks\":[],"
             "\"updated_at\":\"2023-01-31T10:00:00Z\","
             "\"source\":{\"department\":\"RURAL_REVITALIZATION\",\"connector_instance\":\"roster\","
             "\"record_id\":\"%s\",\"location\":null,\"row\":null}}", hid, person, hid);
    produce(t_roster, hid, "cn.tuodi.Household", json);
}

static void medical(const char *person, const char *date, long long oop_fen, const char *id)
{
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"person_key\":\"%s\",\"name\":{\"string\":\"张三\"},\"village_code\":null,"
             "\"settlement_date\":\"%s\",\"kind\":\"INPATIENT\",\"total_cost_fen\":%lld,"
             "\"fund_paid_fen\":0,\"out_of_pocket_fen\":%lld,\"major_disease\":false,"
             "\"source\":{\"department\":\"MEDICAL_INSURANCE\",\"connector_instance\":"
             "\"medical\",\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             person, date, oop_fen, oop_fen, id);
    produce(t_med, person, "cn.tuodi.MedicalSettlement", json);
}

static void dibao(const char *person, const char *date, const char *id)
{
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"event_type\":\"DIBAO_APPLIED\",\"person_key\":\"%s\",\"name\":null,"
             "\"village_code\":{\"string\":\"" VILLAGE "\"},\"event_date\":\"%s\","
             "\"amount_fen\":null,\"disability_grade\":null,\"source\":{\"department\":"
             "\"CIVIL_AFFAIRS\",\"connector_instance\":\"civil\",\"record_id\":\"%s\","
             "\"location\":null,\"row\":null}}",
             person, date, id);
    produce(t_civil, person, "cn.tuodi.CivilAffairsEvent", json);
}

static void outcome(const char *alert_id, const char *verifier, const char *reviewer,
                    const char *id)
{
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"alert_id\":\"%s\",\"outcome\":\"DISMISSED\",\"category\":null,"
             "\"reason\":{\"string\":\"已核实，家庭收入稳定\"},\"verifier\":\"%s\","
             "\"reviewer\":\"%s\",\"visit_date\":\"%s\","
             "\"recorded_at\":\"%sT02:00:00Z\",\"source\":{\"department\":"
             "\"RURAL_REVITALIZATION\",\"connector_instance\":\"tuodictl\",\"record_id\":"
             "\"%s\",\"location\":null,\"row\":null}}",
             alert_id, verifier, reviewer, day(2), day(2), id);
    produce(t_ver, alert_id, "cn.tuodi.VerificationOutcome", json);
}

/* ---- HTTP ---- */

static int port;

/* GET path: the status code (-1: no answer) and the body (malloc'd). */
static int get(const char *path, char **body)
{
    struct sockaddr_in a = {0};
    char req[256], *buf = NULL;
    size_t len = 0, cap = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0), code = -1;
    struct timeval tv = {5, 0};

    *body = NULL;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t n;
        if (cap - len < 4096) {
            cap = cap ? 2 * cap : 65536;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (!buf)
        return -1;
    buf[len] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1)
        code = -1;
    {
        char *b = strstr(buf, "\r\n\r\n");
        *body = strdup(b ? b + 4 : "");
    }
    free(buf);
    return code;
}

static int status(const char *path)
{
    char *body;
    int code = get(path, &body);
    free(body);
    return code;
}

/* Waits up to timeout_ms for path to answer code. */
static bool wait_status(const char *path, int code, int timeout_ms)
{
    int64_t end = td_time_mono_ms() + timeout_ms;
    do {
        if (status(path) == code)
            return true;
        usleep(200000);
    } while (td_time_mono_ms() < end);
    return false;
}

/* The value of the series line that starts with series (name and labels as
 * rendered, then a space); NAN when there is none. */
static double value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return NAN;
}

/* The sum of every series of family name (its lines "name{" or "name "). */
static double sum(const char *text, const char *name)
{
    size_t n = strlen(name);
    double s = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && (p[n] == '{' || p[n] == ' ')) {
            const char *sp = strchr(p, ' ');
            const char *nl = strchr(p, '\n');
            if (sp && (!nl || sp < nl))
                s += strtod(sp + 1, NULL);
        }
    return s;
}

/* 15 digits in a row, as an identity number would be: in a label, or as a
 * value's integer part (the digits after a decimal point are a double's,
 * e.g. a histogram's sum 0.20700000000000002). */
static bool has_long_number(const char *text)
{
    int run = 0;
    bool fraction = false;
    for (const char *p = text; *p; p++) {
        if (!isdigit((unsigned char)*p)) {
            run = 0;
            fraction = *p == '.';
            continue;
        }
        if (++run >= 15 && !fraction)
            return true;
    }
    return false;
}

/* How many "alert ... (KIND, rule RULE) to TOPIC" lines matchd logged. */
static int logged_alerts(const char *log, const char *kind, const char *rule, const char *topic)
{
    char text[512];
    snprintf(text, sizeof(text), "(%s, rule %s) to %s", kind, rule, topic);
    return td_proc_log_count(log, text);
}

/* The alert id of the first alert of rule in the log. */
static bool alert_id_of(const char *log, const char *rule, char *out, size_t size)
{
    char *text = td_test_read_file(log, NULL), needle[160];
    const char *p;
    bool ok = false;
    if (!text)
        return false;
    snprintf(needle, sizeof(needle), " (ALERT, rule %s) to ", rule);
    p = strstr(text, needle);
    if (p) {
        const char *b = p;
        while (b > text && b[-1] != ' ')
            b--;
        if ((size_t)(p - b) < size) {
            memcpy(out, b, (size_t)(p - b));
            out[p - b] = '\0';
            ok = true;
        }
    }
    free(text);
    return ok;
}

int main(void)
{
    char *dir = td_test_tmpdir(), config[4200], log[4200], cmd[9000], series[512], alerts[200];
    char dibao_id[160] = "", *text = NULL;
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    td_kafka_topic_spec specs[5];
    const char *names[5];
    td_error err = {0};
    int64_t t0 = td_time_mono_ms();
    FILE *f;

    FATAL(dir);
    snprintf(kdir, sizeof(kdir), "%.2000s", dir);
    snprintf(schemas_dir, sizeof(schemas_dir), "%s/schemas", td_test_source_root());
    FATAL(td_avro_registry_new(&reg) == 0);
    FATAL(td_avro_registry_load_dir(reg, schemas_dir, NULL, &err) == 0);
    snprintf(cmd, sizeof(cmd), "%s/deploy/kafka/dev-broker start --fresh --dir %s/kafka 2>>%s/dev-broker.log",
             td_test_source_root(), kdir, kdir);
    f = popen(cmd, "r");
    FATAL(f);
    if (!fgets(bootstrap, sizeof(bootstrap), f))
        bootstrap[0] = '\0';
    pclose(f);
    bootstrap[strcspn(bootstrap, "\n")] = '\0';
    FATAL(bootstrap[0]);

    snprintf(t_roster, sizeof(t_roster), "itmm.roster");
    snprintf(t_med, sizeof(t_med), "itmm.medical");
    snprintf(t_civil, sizeof(t_civil), "itmm.civil");
    snprintf(t_hr, sizeof(t_hr), "itmm.hr");
    snprintf(t_ver, sizeof(t_ver), "itmm.verifications.340421");
    snprintf(t_clock, sizeof(t_clock), "itmm.clock");
    snprintf(prefix, sizeof(prefix), "itmm.alerts.");
    snprintf(alerts, sizeof(alerts), "%s340421", prefix);

    /* 1. matchd first: the roster topic does not exist yet */
    snprintf(config, sizeof(config), "%s/matchd.yaml", dir);
    snprintf(log, sizeof(log), "%s/matchd.log", dir);
    f = fopen(config, "w");
    FATAL(f);
    fprintf(f,
            "kafka:\n  bootstrap.servers: %s\n"
            "group_id: itmm\nstate_dir: %s/state\nrules: %s/deploy/rules/huainan-2023.yaml\n"
            "schemas_dir: %s\nlog_level: info\n"
            "topics:\n  roster: %s\n  medical_insurance: %s\n  civil_affairs: %s\n"
            "  human_resources: %s\n  verifications_prefix: itmm.verifications.\n"
            "  dlq_roster: itmm.dlq.roster\n  dlq_medical_insurance: itmm.dlq.medical\n"
            "  dlq_civil_affairs: itmm.dlq.civil\n  dlq_human_resources: itmm.dlq.hr\n"
            "  dlq_verifications: itmm.dlq.verifications\n"
            "  alerts_prefix: %s\n  clock: %s\n"
            "transaction:\n  max_records: 100\n  max_interval: 200ms\n"
            "clock:\n  tick_interval: 0\n"
            "http:\n  listen: 127.0.0.1:0\n"
            "calendar: holidays.csv\n",
            bootstrap, dir, td_test_source_root(), schemas_dir, t_roster, t_med, t_civil, t_hr,
            prefix, t_clock);
    fclose(f);
    {
        char path[4300];
        snprintf(path, sizeof(path), "%s/holidays.csv", dir);
        FATAL(td_test_write_file(path, "# source 2000: a test's year\ndate,kind,name\n"
                                       "2000-01-03,holiday,元旦\n") == 0);
    }
    {
        char bin[4200];
        snprintf(bin, sizeof(bin), "%s/daemon/tuodi-matchd",
                 getenv("TD_BUILD_ROOT") ? getenv("TD_BUILD_ROOT") : "build");
        matchd = td_proc_spawn_config(bin, config, log);
        FATAL(matchd > 0);
    }
    FATAL(td_proc_wait_log(log, "http: listening on 127.0.0.1:", 1, 30000));
    {
        char *l = td_test_read_file(log, NULL);
        const char *p = l ? strstr(l, "http: listening on 127.0.0.1:") : NULL;
        port = p ? atoi(p + strlen("http: listening on 127.0.0.1:")) : 0;
        free(l);
        FATAL(port > 0);
    }
    CHECK(td_proc_wait_log(log, "not available yet", 1, 30000));
    CHECK(status("/health") == 200);
    {
        char *body = NULL;
        int code = get("/ready", &body);
        fprintf(stderr, "/ready before the roster: %d %s", code, body ? body : "");
        CHECK(code == 503);
        CHECK(body && strstr(body, "starting"));
        free(body);
        code = get("/metrics", &body);
        CHECK(code == 200);
        CHECK(body && value(body, "tuodi_matchd_ready") == 0);
        free(body);
    }

    /* 2. the topics and the input */
    FATAL(td_kafka_producer_conf_new(bootstrap, "itest-matchd-metrics", &props, &conf, &err) == 0);
    FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &producer, &err) == 0);
    names[0] = t_roster; names[1] = t_med; names[2] = t_civil; names[3] = t_hr; names[4] = t_ver;
    memset(specs, 0, sizeof(specs));
    for (int i = 0; i < 5; i++) {
        specs[i].name = names[i];
        specs[i].partitions = i == 1 ? 2 : 1;
        specs[i].replication_factor = 1;
    }
    if (td_kafka_topics_ensure(producer, specs, 5, 60000, &err) < 0 ||
        td_kafka_txn_init(producer, 60000, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        FATAL(0);
    }
    household("H1", P_HEAD);
    household("H2", P_H2);
    dibao(P_H2, day(0), "MZ-1");
    medical(P_HEAD, day(1), 300000, "YB-1");
    medical(P_HEAD, day(28), 250000, "YB-2");
    produce_raw(t_med, P_HEAD, "not avro", 8, 0); /* a dead letter */
    CHECK(wait_status("/ready", 200, 90000));
    FATAL(td_proc_wait_log(log, "(ALERT, rule medical-oop-365d)", 1, 60000));
    FATAL(alert_id_of(log, "dibao-tekun", dibao_id, sizeof(dibao_id)));
    outcome(dibao_id, "王五", "王五", "OUT-1"); /* one person: dead letter */
    outcome(dibao_id, "王五", "赵六", "OUT-2"); /* CLOSED */
    FATAL(td_proc_wait_log(log, "(CLOSED, rule dibao-tekun)", 1, 60000));
    /* a second department for H1: its alert HIGH, the medical one escalated */
    dibao(P_HEAD, day(30), "MZ-2");
    FATAL(td_proc_wait_log(log, "(ESCALATED, rule medical-oop-365d)", 1, 60000));
    {
        /* 14 days on: the open medical alert's visit (2 working days after
         * the day it was raised, today) is overdue */
        char v[32];
        snprintf(v, sizeof(v), "%" PRId64, td_time_wall_ms() + (int64_t)14 * 86400000);
        produce_raw(t_clock, "tick", v, strlen(v), 0);
    }
    FATAL(td_proc_wait_log(log, "(OVERDUE, rule medical-oop-365d)", 1, 60000));

    /* 3. the figures, once the lag is 0 and the last batch committed */
    {
        int64_t end = td_time_mono_ms() + 30000;
        do {
            free(text);
            CHECK(get("/metrics", &text) == 200);
            if (text && sum(text, "tuodi_matchd_consumer_lag_records") == 0 &&
                value(text, "tuodi_matchd_records_total{input=\"clock\"}") >= 1 &&
                value(text, "tuodi_matchd_alerts_overdue{county=\"340421\"}") == 2)
                break;
            usleep(300000);
        } while (td_time_mono_ms() < end);
    }
    FATAL(text);
    fprintf(stderr, "---- /metrics ----\n%s----\n", text);
    CHECK(value(text, "tuodi_matchd_ready") == 1);
    CHECK(value(text, "tuodi_matchd_info{group=\"itmm\",version=\"" TUODI_VERSION "\"}") == 1);
    CHECK(sum(text, "tuodi_matchd_consumer_lag_records") == 0);
    CHECK(value(text, "tuodi_matchd_consumer_lag_records{topic=\"itmm.medical\",partition=\"1\"}") == 0);
    CHECK(value(text, "tuodi_matchd_records_total{input=\"roster\"}") == 2);
    CHECK(value(text, "tuodi_matchd_records_total{input=\"civil_affairs\"}") == 2);
    CHECK(value(text, "tuodi_matchd_records_total{input=\"medical_insurance\"}") == 3);
    CHECK(value(text, "tuodi_matchd_records_total{input=\"verifications\"}") == 2);
    CHECK(value(text, "tuodi_matchd_records_total{input=\"human_resources\"}") == 0);
    CHECK(value(text, "tuodi_matchd_records_total{input=\"clock\"}") == 1);
    CHECK(value(text, "tuodi_matchd_dead_letters_total{input=\"medical_insurance\"}") == 1);
    CHECK(value(text, "tuodi_matchd_dead_letters_total{input=\"verifications\"}") == 1);
    CHECK(value(text, "tuodi_matchd_dead_letters_total{input=\"roster\"}") == 0);
    CHECK(value(text, "tuodi_matchd_outcomes_total{result=\"accepted\"}") == 1);
    CHECK(value(text, "tuodi_matchd_outcomes_total{result=\"dead_lettered\"}") == 1);
    /* alerts by rule, county and kind: as many as matchd produced */
    {
        static const struct { const char *rule, *kind, *logged; int n; } want[] = {
            {"dibao-tekun", "alert", "ALERT", 2},
            {"dibao-tekun", "closed", "CLOSED", 1},
            {"dibao-tekun", "overdue_warning", "OVERDUE", 1},
            {"medical-oop-365d", "alert", "ALERT", 1},
            {"medical-oop-365d", "escalated", "ESCALATED", 1},
            {"medical-oop-365d", "overdue_warning", "OVERDUE", 1},
        };
        int total = 0;
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            snprintf(series, sizeof(series),
                     "tuodi_matchd_alerts_raised_total{rule=\"%s\",county=\"340421\",kind=\"%s\"}",
                     want[i].rule, want[i].kind);
            fprintf(stderr, "%s: %g, logged %d\n", series, value(text, series),
                    logged_alerts(log, want[i].logged, want[i].rule, alerts));
            CHECK(value(text, series) == want[i].n);
            CHECK(value(text, series) == logged_alerts(log, want[i].logged, want[i].rule, alerts));
            total += want[i].n;
        }
        CHECK(sum(text, "tuodi_matchd_alerts_raised_total") == total);
    }
    CHECK(value(text, "tuodi_matchd_alerts_open{county=\"340421\"}") == 2);
    CHECK(value(text, "tuodi_matchd_alerts_overdue{county=\"340421\"}") == 2);
    CHECK(value(text, "tuodi_matchd_roster_households") == 2);
    CHECK(value(text, "tuodi_matchd_roster_persons") >= 2);
    CHECK(value(text, "tuodi_matchd_restore_progress_ratio") == 1);
    CHECK(value(text, "tuodi_matchd_lmdb_size_bytes") > 0);
    CHECK(value(text, "tuodi_matchd_lmdb_used_bytes") > 0);
    CHECK(value(text, "tuodi_matchd_lmdb_used_bytes") <= value(text, "tuodi_matchd_lmdb_size_bytes"));
    CHECK(value(text, "tuodi_matchd_last_commit_timestamp_seconds") > (double)time(NULL) - 120);
    CHECK(value(text, "tuodi_matchd_transaction_duration_seconds_count") >= 1);
    /* the tick put the stream clock two days ahead of the wall clock */
    CHECK(value(text, "tuodi_matchd_stream_clock_lag_seconds") < -86400);
    CHECK(value(text, "tuodi_matchd_metrics_refused_label_values_total") == 0);
    /* the engine counts its due dates with the holiday file: every year is
     * past 2000, so each alert's counts fell back, one warning per year */
    CHECK(value(text, "tuodi_matchd_calendar_last_year") == 2000);
    {
        int years = 0;
        const char *name = "\ntuodi_matchd_calendar_fallback_total{year=\"";
        for (const char *p = strstr(text, name); p; p = strstr(p + 1, name))
            years++;
        int warned = td_proc_log_count(log, "covers 2000 to 2000, not ");
        fprintf(stderr, "calendar: %d years fell back, %d warnings, %.0f counts\n", years,
                warned, sum(text, "tuodi_matchd_calendar_fallback_total"));
        CHECK(years >= 1 && years <= 2);
        CHECK(warned == years);
        CHECK(sum(text, "tuodi_matchd_calendar_fallback_total") >= 2 * 2); /* 2 alerts, 2 dates */
    }
    CHECK(!has_long_number(text));
    CHECK(!strstr(text, "张"));
    {
        char path[4300];
        snprintf(path, sizeof(path), "%s/metrics.txt", dir);
        FATAL(td_test_write_file(path, text) == 0);
        snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
        CHECK(system(cmd) == 0);
    }
    free(text);
    text = NULL;

    /* 4. the broker goes away and comes back */
    rd_kafka_destroy(producer);
    producer = NULL;
    CHECK(broker("stop") == 0);
    {
        char *body = NULL;
        CHECK(wait_status("/ready", 503, 60000));
        CHECK(get("/ready", &body) == 503);
        fprintf(stderr, "/ready with the broker down: %s", body ? body : "");
        CHECK(body && strstr(body, "not ready: all Kafka brokers are down"));
        free(body);
        CHECK(status("/health") == 200);
        CHECK(get("/metrics", &body) == 200);
        CHECK(body && value(body, "tuodi_matchd_ready") == 0);
        free(body);
    }
    CHECK(broker("start") == 0);
    CHECK(wait_status("/ready", 200, 90000));
    CHECK(status("/health") == 200);
    {
        int st = td_proc_stop(matchd, SIGTERM, 30000);
        matchd = -1;
        CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }

    /* 5. a restart: the open and overdue alerts are counted from the state,
     * the counters start again at 0 */
    {
        char bin[4200], log2[4300];
        snprintf(bin, sizeof(bin), "%s/daemon/tuodi-matchd",
                 getenv("TD_BUILD_ROOT") ? getenv("TD_BUILD_ROOT") : "build");
        snprintf(log2, sizeof(log2), "%s/matchd2.log", dir);
        matchd = td_proc_spawn_config(bin, config, log2);
        FATAL(matchd > 0);
        FATAL(td_proc_wait_log(log2, "http: listening on 127.0.0.1:", 1, 30000));
        {
            char *l = td_test_read_file(log2, NULL);
            const char *p = l ? strstr(l, "http: listening on 127.0.0.1:") : NULL;
            port = p ? atoi(p + strlen("http: listening on 127.0.0.1:")) : 0;
            free(l);
            FATAL(port > 0);
        }
        CHECK(wait_status("/ready", 200, 60000));
        CHECK(get("/metrics", &text) == 200);
        CHECK(text && value(text, "tuodi_matchd_alerts_open{county=\"340421\"}") == 2);
        CHECK(text && value(text, "tuodi_matchd_alerts_overdue{county=\"340421\"}") == 2);
        CHECK(text && value(text, "tuodi_matchd_roster_households") == 2);
        CHECK(text && sum(text, "tuodi_matchd_alerts_raised_total") == 0);
        free(text);
        text = NULL;
        {
            int st = td_proc_stop(matchd, SIGTERM, 30000);
            matchd = -1;
            CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        if (failures)
            td_proc_show_log(log2, 40);
    }
    fprintf(stderr, "done in %.1fs\n", (double)(td_time_mono_ms() - t0) / 1000.0);
    if (failures)
        td_proc_show_log(log, 60);
    cleanup();
    if (!failures && !getenv("TD_KEEP_TMP"))
        td_test_rmtree(dir);
    else
        fprintf(stderr, "kept %s\n", dir);
    free(dir);
    td_avro_registry_free(reg);
    return failures ? 1 : 0;
}
