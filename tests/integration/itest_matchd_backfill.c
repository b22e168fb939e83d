/* A department's history loaded at once (docs/matchd-design.md, "Old
 * records"), against the real Kafka broker (KAFKA_BOOTSTRAP): 12 months of
 * records, produced now (so the stream clock is today) in one transaction
 * per department, newest first in places, with alerts.max_event_age 90d.
 *
 *   HW1  脱贫户: 2,500 out of pocket 100 days ago, then 3,000 200 days ago
 *        -> ALERT medical-oop-365d (5,500 in the window to today; at the
 *           records' own dates the window never reached 5,000)
 *   HW2  2,000 + 2,000 + 900 over 300 days          -> nothing
 *   HW3  6,000 250 days ago (one old settlement)     -> ALERT medical-oop-365d
 *   HE1  低保 application 200 days ago               -> nothing (held back)
 *   HE2  低保 application 300 days ago               -> nothing (held back)
 *   HE3  低保 application 30 days ago                -> ALERT dibao-tekun
 *   HE4  临时救助 1,500 yuan 60 days ago             -> ALERT temp-assistance
 *   HX1  低保 application 100 days ago (held back, still a signal), then
 *        unemployment 30 days ago                    -> ALERT employment-loss, HIGH
 *   30 households with 12 monthly settlements of 100 yuan -> nothing
 *
 * Exactly those 5 ALERTs, each raised today (raised_at is 00:00 CST of the
 * stream clock's day) and due after today: none is born overdue, and no
 * OVERDUE_WARNING comes. The log's held-back lines add up to 3, and the
 * /metrics counter tuodi_matchd_alerts_held_back_total says 3. */
#include "td_avro.h"
#include "td_idnum.h"
#include "td_kafka.h"
#include "td_proc.h"
#include "td_test.h"
#include "td_time.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VILLAGE "340421100201"
#define DAY_MS INT64_C(86400000)
#define CST_MS (INT64_C(8) * 3600000)

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
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

static const char *bootstrap;
static char schemas_dir[4200], build_root[4096], src_root[4000];
static td_avro_registry *reg;
static rd_kafka_t *producer;
static char t_roster[128], t_med[128], t_civil[128], t_hr[128], t_clock[128], prefix[128],
    t_alerts[160];

static int32_t cst_day(int64_t ms)
{
    return (int32_t)((ms + CST_MS) / DAY_MS);
}

/* "YYYY-MM-DD" n days before today (China Standard Time); rotating buffers. */
static const char *ago(int n)
{
    static char buf[8][16];
    static int k;
    time_t t = (time_t)((int64_t)(cst_day(td_time_wall_ms()) - n) * 86400);
    struct tm tm;
    char *b = buf[k++ % 8];
    gmtime_r(&t, &tm);
    strftime(b, 16, "%Y-%m-%d", &tm);
    return b;
}

/* A valid 18-digit identity number for person k, born 1980 (aged 46 or so). */
static const char *pid_of(int k, char buf[19])
{
    snprintf(buf, 19, "34042119800101%03d", k % 1000);
    buf[17] = td_idnum_check_char(buf);
    buf[18] = '\0';
    return buf;
}

/* ---- producing: one open transaction at a time ---- */

static void put(const char *topic, const char *key, const char *schema, const char *json)
{
    const td_avro_schema *s = td_avro_registry_find_name(reg, schema);
    td_avro_buf b = TD_AVRO_BUF_INIT;
    avro_value_t v;
    td_error err = {0};
    rd_kafka_vu_t vu[4];
    FATAL(s);
    FATAL(td_avro_schema_value_new(s, &v, &err) == 0);
    if (td_avro_value_from_json(s, json, strlen(json), &v, &err) < 0 ||
        td_avro_encode(s, &v, &b, &err) < 0) {
        fprintf(stderr, "encode %s: %s\n", schema, err.msg);
        exit(1);
    }
    avro_value_decref(&v);
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = topic;
    vu[1].vtype = RD_KAFKA_VTYPE_KEY;
    vu[1].u.mem.ptr = (void *)key;
    vu[1].u.mem.size = strlen(key);
    vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[2].u.mem.ptr = b.data;
    vu[2].u.mem.size = b.len;
    vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[3].u.i = RD_KAFKA_MSG_F_COPY;
    for (;;) {
        rd_kafka_error_t *xe = rd_kafka_produceva(producer, vu, 4);
        if (!xe)
            break;
        FATAL(rd_kafka_error_code(xe) == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        rd_kafka_error_destroy(xe);
        rd_kafka_poll(producer, 50);
    }
    td_avro_buf_done(&b);
}

static void begin(void)
{
    td_error err = {0};
    FATAL(td_kafka_txn_begin(producer, &err) == 0);
}

static void commit(void)
{
    td_error err = {0};
    if (td_kafka_txn_commit(producer, 60000, &err) < 0) {
        fprintf(stderr, "commit: %s\n", err.msg);
        exit(1);
    }
}

/* A 脱贫户 of one member, not monitored, income well above the line. */
static void household(const char *hid, const char *person)
{
    char json[4096];
    snprintf(json, sizeof(json),
             "{\"household_id\":\"%s\",\"village_code\":\"" VILLAGE "\",\"grid_id\":\"G-1\","
             "\"household_type\":\"POVERTY_ALLEVIATED\","
             "\"monitoring\":{\"state\":\"NOT_MONITORED\",\"category\":null,"
             "\"identified_date\":null,\"risk_eliminated_date\":null,"
             "\"risk_elimination_method\":null},"
             "\"members\":[{\"person_key\":\"%s\",\"name\":\"张三\",\"relation\":\"HEAD\","
             "\"birth_date\":\"1980-01-01\",\"labour_capacity\":\"NORMAL\","
             "\"disability_grade\":null,\"in_school\":null}],\"household_size\":1,"
             "\"income\":{\"cn.tuodi.Income\":{\"year\":2025,\"annual_net_fen\":3000000,"
             "\"per_capita_net_fen\":3000000}},\"risks\":[],"
             "\"updated_at\":\"2025-01-31T10:00:00Z\","
             "\"source\":{\"department\":\"RURAL_REVITALIZATION\","
             "\"connector_instance\":\"roster\",\"record_id\":\"%s\",\"location\":null,"
             "\"row\":null}}",
             hid, person, hid);
    put(t_roster, hid, "cn.tuodi.Household", json);
}

static void medical(const char *person, const char *date, long long yuan, const char *id)
{
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"person_key\":\"%s\",\"name\":{\"string\":\"张三\"},\"village_code\":null,"
             "\"settlement_date\":\"%s\",\"kind\":\"INPATIENT\",\"total_cost_fen\":%lld,"
             "\"fund_paid_fen\":0,\"out_of_pocket_fen\":%lld,\"major_disease\":false,"
             "\"source\":{\"department\":\"MEDICAL_INSURANCE\",\"connector_instance\":"
             "\"medical\",\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             person, date, yuan * 100, yuan * 100, id);
    put(t_med, person, "cn.tuodi.MedicalSettlement", json);
}

/* amount_yuan < 0: null */
static void civil(const char *type, const char *person, const char *date, long long amount_yuan,
                  const char *id)
{
    char json[2048], am[64];
    if (amount_yuan < 0)
        snprintf(am, sizeof(am), "null");
    else
        snprintf(am, sizeof(am), "{\"long\":%lld}", amount_yuan * 100);
    snprintf(json, sizeof(json),
             "{\"event_type\":\"%s\",\"person_key\":\"%s\",\"name\":null,"
             "\"village_code\":{\"string\":\"" VILLAGE "\"},\"event_date\":\"%s\","
             "\"amount_fen\":%s,\"disability_grade\":null,\"source\":{\"department\":"
             "\"CIVIL_AFFAIRS\",\"connector_instance\":\"civil\",\"record_id\":\"%s\","
             "\"location\":null,\"row\":null}}",
             type, person, date, am, id);
    put(t_civil, person, "cn.tuodi.CivilAffairsEvent", json);
}

static void unemployment(const char *person, const char *date, const char *id)
{
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"event_type\":\"UNEMPLOYMENT_REGISTERED\",\"person_key\":\"%s\",\"name\":null,"
             "\"village_code\":null,\"event_date\":\"%s\",\"months_worked_away\":null,"
             "\"source\":{\"department\":\"HUMAN_RESOURCES\",\"connector_instance\":\"hr\","
             "\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             person, date, id);
    put(t_hr, person, "cn.tuodi.EmploymentEvent", json);
}

/* ---- the alert queue ---- */

typedef struct got {
    char household[32];
    char rule[64];
    char severity[16];
    int kind; /* 1 ALERT, 2 OVERDUE_WARNING, 3 CLOSED */
    int64_t raised_at;
    int32_t visit_due, procedure_due;
} got;

static const char *enum_symbol(avro_value_t *v)
{
    int i = 0;
    if (avro_value_get_enum(v, &i) != 0)
        return "";
    return avro_schema_enum_get(avro_value_get_schema(v), i);
}

/* Reads the alert topic from the start until want messages came and then
 * 5 s more (anything more would be a mistake), or timeout_ms. */
static int read_alerts(got *g, int max, int want, int timeout_ms)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *c = NULL;
    td_error err = {0};
    td_avro_decoder *dec = NULL;
    int64_t until = td_time_mono_ms() + timeout_ms, quiet_until = -1;
    char group[128];
    int n = 0;

    snprintf(group, sizeof(group), "itest-backfill-reader-%d", (int)getpid());
    FATAL(td_avro_decoder_new(reg, td_avro_registry_find_name(reg, "cn.tuodi.Alert"), &dec,
                              &err) == 0);
    FATAL(td_kafka_consumer_conf_new(bootstrap, group, &props, &conf, &err) == 0);
    FATAL(td_kafka_new(RD_KAFKA_CONSUMER, conf, &c, &err) == 0);
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(c, t_alerts, NULL);
        rd_kafka_resp_err_t x = rd_kafka_metadata(c, 0, rkt, &md, 5000);
        rd_kafka_topic_destroy(rkt);
        if (x == 0 && md->topics[0].err == 0 && md->topics[0].partition_cnt > 0) {
            rd_kafka_topic_partition_list_t *l =
                rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
            for (int i = 0; i < md->topics[0].partition_cnt; i++)
                rd_kafka_topic_partition_list_add(l, t_alerts, i)->offset =
                    RD_KAFKA_OFFSET_BEGINNING;
            FATAL(rd_kafka_assign(c, l) == 0);
            rd_kafka_topic_partition_list_destroy(l);
            rd_kafka_metadata_destroy(md);
            break;
        }
        if (x == 0)
            rd_kafka_metadata_destroy(md);
        if (td_time_mono_ms() > until) {
            fprintf(stderr, "topic %s never appeared\n", t_alerts);
            goto out;
        }
        usleep(200000);
    }
    while (td_time_mono_ms() < until && (quiet_until < 0 || td_time_mono_ms() < quiet_until)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        avro_value_t *v, f, b;
        const char *str;
        size_t size;
        if (!m)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (td_avro_decode(dec, m->payload, m->len, &v, &err) == 0 && n < max) {
            got *a = &g[n++];
            memset(a, 0, sizeof(*a));
            if (avro_value_get_by_name(v, "kind", &f, NULL) == 0)
                avro_value_get_enum(&f, &a->kind);
            if (avro_value_get_by_name(v, "rule_id", &f, NULL) == 0 &&
                avro_value_get_string(&f, &str, &size) == 0)
                snprintf(a->rule, sizeof(a->rule), "%s", str);
            if (avro_value_get_by_name(v, "severity", &f, NULL) == 0)
                snprintf(a->severity, sizeof(a->severity), "%s", enum_symbol(&f));
            if (avro_value_get_by_name(v, "household_id", &f, NULL) == 0 &&
                avro_value_get_current_branch(&f, &b) == 0 &&
                avro_value_get_string(&b, &str, &size) == 0)
                snprintf(a->household, sizeof(a->household), "%s", str);
            if (avro_value_get_by_name(v, "raised_at", &f, NULL) == 0)
                avro_value_get_long(&f, &a->raised_at);
            if (avro_value_get_by_name(v, "visit_due_date", &f, NULL) == 0)
                avro_value_get_int(&f, &a->visit_due);
            if (avro_value_get_by_name(v, "procedure_due_date", &f, NULL) == 0)
                avro_value_get_int(&f, &a->procedure_due);
        } else if (n < max) {
            fprintf(stderr, "undecodable alert: %s\n", err.msg);
            n++;
        }
        if (n >= want && quiet_until < 0)
            quiet_until = td_time_mono_ms() + 5000;
        rd_kafka_message_destroy(m);
    }
out:
    td_kafka_destroy(c);
    td_avro_decoder_free(dec);
    return n;
}

static const got *find(const got *g, int n, const char *hid)
{
    for (int i = 0; i < n; i++)
        if (strcmp(g[i].household, hid) == 0)
            return &g[i];
    return NULL;
}

/* The sum of N over the log's "N record(s) older than alerts.max_event_age"
 * lines. */
static long held_back_logged(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[4096];
    long sum = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, " record(s) older than alerts.max_event_age");
        if (!p)
            continue;
        while (p > line && p[-1] >= '0' && p[-1] <= '9')
            p--;
        sum += strtol(p, NULL, 10);
    }
    fclose(f);
    return sum;
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

/* The value of an unlabelled sample in a /metrics text, or -1. */
static double metric(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

int main(void)
{
    char dir[] = "/tmp/itest-backfill-XXXXXX", config[4200], log[4200], uniq[64], bin[4200];
    char id[64][19];
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    td_kafka_topic_spec specs[4];
    const char *names[4];
    td_error err = {0};
    got g[64];
    pid_t pid;
    int status, n;
    FILE *f;
    int64_t t0 = td_time_mono_ms();
    int32_t day_first;

    bootstrap = getenv("KAFKA_BOOTSTRAP");
    if (!bootstrap || !*bootstrap) {
        fprintf(stderr, "KAFKA_BOOTSTRAP is not set: start a broker (deploy/kafka/dev-broker)\n");
        return 1;
    }
    snprintf(src_root, sizeof(src_root), "%s",
             getenv("TD_SOURCE_ROOT") ? getenv("TD_SOURCE_ROOT") : ".");
    snprintf(build_root, sizeof(build_root), "%s",
             getenv("TD_BUILD_ROOT") ? getenv("TD_BUILD_ROOT") : "build");
    snprintf(schemas_dir, sizeof(schemas_dir), "%s/schemas", src_root);
    FATAL(mkdtemp(dir));
    FATAL(td_avro_registry_new(&reg) == 0);
    FATAL(td_avro_registry_load_dir(reg, schemas_dir, NULL, &err) == 0);
    for (int k = 0; k < 64; k++)
        pid_of(k, id[k]);

    snprintf(uniq, sizeof(uniq), "itb%d%" PRId64, (int)getpid(), t0 % 100000);
    snprintf(t_roster, sizeof(t_roster), "%s.roster", uniq);
    snprintf(t_med, sizeof(t_med), "%s.medical", uniq);
    snprintf(t_civil, sizeof(t_civil), "%s.civil", uniq);
    snprintf(t_hr, sizeof(t_hr), "%s.hr", uniq);
    snprintf(t_clock, sizeof(t_clock), "%s.clock", uniq);
    snprintf(prefix, sizeof(prefix), "%s.alerts.", uniq);
    snprintf(t_alerts, sizeof(t_alerts), "%s340421", prefix);

    FATAL(td_kafka_producer_conf_new(bootstrap, "itest-backfill-producer", &props, &conf,
                                     &err) == 0);
    FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &producer, &err) == 0);
    names[0] = t_roster; names[1] = t_med; names[2] = t_civil; names[3] = t_hr;
    memset(specs, 0, sizeof(specs));
    for (int i = 0; i < 4; i++) {
        specs[i].name = names[i];
        specs[i].partitions = 1;
        specs[i].replication_factor = 1;
    }
    if (td_kafka_topics_ensure(producer, specs, 4, 60000, &err) < 0 ||
        td_kafka_txn_init(producer, 60000, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }

    snprintf(config, sizeof(config), "%s/matchd.yaml", dir);
    snprintf(log, sizeof(log), "%s/matchd.log", dir);
    f = fopen(config, "w");
    FATAL(f);
    fprintf(f,
            "kafka:\n  bootstrap.servers: %s\n"
            "group_id: %s\nstate_dir: %s/state\nrules: %s/deploy/rules/huainan-2023.yaml\n"
            "schemas_dir: %s\nlog_level: info\nsuspects: false\n"
            "topics:\n  roster: %s\n  medical_insurance: %s\n  civil_affairs: %s\n"
            "  human_resources: %s\n  verifications_prefix: %s.verifications.\n"
            "  alerts_prefix: %s\n  alert_partitions: 1\n  clock: %s\n"
            "alerts:\n  max_event_age: 90d\n"
            "transaction:\n  max_records: 100\n  max_interval: 200ms\n"
            "http:\n  listen: 127.0.0.1:0\n",
            bootstrap, uniq, dir, src_root, schemas_dir, t_roster, t_med, t_civil, t_hr, uniq,
            prefix, t_clock);
    fclose(f);

    /* The roster first (matchd joins it in time): HW1-3 = 0-2, HE1-4 = 3-6,
     * HX1 = 7, the 30 plain households 10-39. */
    static const char *const HIDS[8] = {"HW1", "HW2", "HW3", "HE1", "HE2", "HE3", "HE4", "HX1"};
    begin();
    for (int k = 0; k < 8; k++)
        household(HIDS[k], id[k]);
    for (int k = 10; k < 40; k++) {
        char hid[16];
        snprintf(hid, sizeof(hid), "HP%02d", k);
        household(hid, id[k]);
    }
    commit();

    day_first = cst_day(td_time_wall_ms());
    /* 12 months of history at once, one transaction per department */
    begin();
    medical(id[0], ago(100), 2500, "YB-W1a"); /* newest first */
    medical(id[0], ago(200), 3000, "YB-W1b");
    medical(id[1], ago(300), 2000, "YB-W2a");
    medical(id[1], ago(150), 2000, "YB-W2b");
    medical(id[1], ago(20), 900, "YB-W2c");
    medical(id[2], ago(250), 6000, "YB-W3");
    for (int k = 10; k < 40; k++)
        for (int month = 11; month >= 0; month--) {
            char rid[32];
            snprintf(rid, sizeof(rid), "YB-P%02d-%02d", k, month);
            medical(id[k], ago(5 + 30 * month), 100, rid);
        }
    commit();
    begin();
    civil("DIBAO_APPLIED", id[3], ago(200), -1, "MZ-E1");
    civil("DIBAO_APPLIED", id[4], ago(300), -1, "MZ-E2");
    civil("DIBAO_APPLIED", id[5], ago(30), -1, "MZ-E3");
    civil("TEMP_ASSISTANCE_GRANTED", id[6], ago(60), 1500, "MZ-E4");
    civil("DIBAO_APPLIED", id[7], ago(100), -1, "MZ-X1");
    commit();
    begin();
    unemployment(id[7], ago(30), "RS-X1");
    commit();

    snprintf(bin, sizeof(bin), "%s/daemon/tuodi-matchd", build_root);
    pid = td_proc_spawn_config(bin, config, log);
    FATAL(pid > 0);
    n = read_alerts(g, 64, 5, 120000);
    fprintf(stderr, "%d alert messages (%.1fs)\n", n, (double)(td_time_mono_ms() - t0) / 1000.0);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "  %s %s %s kind %d raised day %d visit due %d\n", g[i].household,
                g[i].rule, g[i].severity, g[i].kind, cst_day(g[i].raised_at), g[i].visit_due);

    CHECK(n == 5);
    {
        const got *w1 = find(g, n, "HW1"), *w3 = find(g, n, "HW3"), *e3 = find(g, n, "HE3"),
                  *e4 = find(g, n, "HE4"), *x1 = find(g, n, "HX1");
        CHECK(w1 && strcmp(w1->rule, "medical-oop-365d") == 0);
        CHECK(w3 && strcmp(w3->rule, "medical-oop-365d") == 0);
        CHECK(e3 && strcmp(e3->rule, "dibao-tekun") == 0);
        CHECK(e4 && strcmp(e4->rule, "temp-assistance") == 0);
        CHECK(x1 && strcmp(x1->rule, "employment-loss") == 0 &&
              strcmp(x1->severity, "HIGH") == 0);
        CHECK(!find(g, n, "HW2") && !find(g, n, "HE1") && !find(g, n, "HE2"));
    }
    /* raised today, due after today: none born overdue, and none warned */
    for (int i = 0; i < n; i++) {
        int32_t raised = cst_day(g[i].raised_at), today = cst_day(td_time_wall_ms());
        CHECK(g[i].kind == 1);
        CHECK(g[i].raised_at == (int64_t)raised * DAY_MS - CST_MS);
        CHECK(raised >= day_first && raised <= today);
        CHECK(g[i].visit_due > today);
        CHECK(g[i].procedure_due > g[i].visit_due);
    }
    /* the held-back records: logged per batch, counted */
    {
        long logged = held_back_logged(log);
        char *text = NULL, *l = td_test_read_file(log, NULL);
        const char *p = l ? strstr(l, "http: listening on 127.0.0.1:") : NULL;
        port = p ? atoi(p + strlen("http: listening on 127.0.0.1:")) : 0;
        free(l);
        fprintf(stderr, "held back (log): %ld\n", logged);
        CHECK(logged == 3);
        CHECK(port > 0 && get("/metrics", &text) == 200);
        CHECK(text && metric(text, "tuodi_matchd_alerts_held_back_total") == 3);
        free(text);
    }
    /* the log never names a person */
    {
        char cmd[8500];
        snprintf(cmd, sizeof(cmd), "grep -q '%s' %s", id[3], log);
        CHECK(system(cmd) != 0);
    }

    status = td_proc_stop(pid, SIGTERM, 60000);
    CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    td_kafka_destroy(producer);
    td_avro_registry_free(reg);
    if (failures == 0) {
        char cmd[4300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        (void)system(cmd);
    } else {
        fprintf(stderr, "the log and state are in %s\n", dir);
    }
    fprintf(stderr, "%s (%.1fs)\n", failures ? "FAILED" : "ok",
            (double)(td_time_mono_ms() - t0) / 1000.0);
    return failures ? 1 : 0;
}
