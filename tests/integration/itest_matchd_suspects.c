/* tuodi-matchd's suspicious-data list (疑点数据清单, issue 14) end to end
 * against the real Kafka broker (KAFKA_BOOTSTRAP): a roster and department
 * records raise suspects on <prefix>.suspects.340421 (keyed by the village),
 * a corrected roster export resolves them, an uncorrected one keeps them,
 * an outcome DEPARTMENT_DATA_WRONG closes one, a restart duplicates nothing.
 *
 * The rules (written here): an alert rule (低保 application) and four
 * indicators: disability grade differs, 低保 approved but not recorded,
 * one person on two households, death registered and still listed 30 days
 * later.
 *
 *   roster: H1 (A NORMAL no grade, B; 低保 false), H2 (C), H3 (D), H4 (D, E),
 *           H5 (F; its row last changed 200 days ago)
 *   1. the roster alone                   -> RAISED dup-person on H3 and H4
 *   2. A certified grade 1; 低保 approved for B; C's death registered 10
 *      days ago; F's death registered 400 days ago (a backfill); 低保
 *      application of A                   -> RAISED disability (H1), 低保 (H1),
 *                                            death (H5) raised today, its fix
 *                                            due after today; C's death waits;
 *                                            1 ALERT
 *   SIGTERM, restart (nothing again)
 *   3. a tick 25 days ahead               -> RAISED death (H2): no new record
 *   4. H1 re-exported with A's grade 1, 低保 still false; H2 unchanged;
 *      H4 without D                       -> RESOLVED disability, dup H3 and
 *                                            H4; 低保 and death stay open
 *   5. outcomes: DEPARTMENT_DATA_WRONG on the 低保 suspect by one person
 *      (DLQ), by two (CLOSED); DEPARTMENT_DATA_WRONG on the alert (DLQ with
 *      its reason); H1 re-exported again (the closed one is not raised
 *      again)
 *   6. (store.closed_retention 30d) an outcome for the closed 低保 suspect:
 *      refused; a tick 60 days ahead, the same outcome: unknown suspect,
 *      pruned from the suspect index (DLQ with that reason)
 * Every (suspect id, kind) appears exactly once, keyed by the village. */
#include "td_avro.h"
#include "td_kafka.h"
#include "td_proc.h"
#include "td_time.h"

#include <errno.h>
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
#define P_A "340421198001010011"
#define P_B "340421198202020028"
#define P_C "340421194003030030"
#define P_D "340421197505050044"
#define P_E "340421199006060066"
#define P_F "340421195007070077"

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
static char t_roster[128], t_med[128], t_civil[128], t_hr[128], t_ver[128], t_dlq[128],
    t_clock[128], t_alerts[160], t_suspects[160];

static void produce_raw(const char *topic, const char *key, const void *val, size_t len)
{
    td_error err = {0};
    rd_kafka_vu_t vu[4];

    FATAL(td_kafka_txn_begin(producer, &err) == 0);
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = topic;
    vu[1].vtype = RD_KAFKA_VTYPE_KEY;
    vu[1].u.mem.ptr = (void *)key;
    vu[1].u.mem.size = strlen(key);
    vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[2].u.mem.ptr = (void *)val;
    vu[2].u.mem.size = len;
    vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[3].u.i = RD_KAFKA_MSG_F_COPY;
    FATAL(rd_kafka_produceva(producer, vu, 4) == NULL);
    if (td_kafka_txn_commit(producer, 30000, &err) < 0) {
        fprintf(stderr, "commit: %s\n", err.msg);
        exit(1);
    }
}

static void produce(const char *topic, const char *key, const char *schema, const char *json)
{
    const td_avro_schema *s = td_avro_registry_find_name(reg, schema);
    td_avro_buf b = TD_AVRO_BUF_INIT;
    avro_value_t v;
    td_error err = {0};

    FATAL(s);
    FATAL(td_avro_schema_value_new(s, &v, &err) == 0);
    if (td_avro_value_from_json(s, json, strlen(json), &v, &err) < 0 ||
        td_avro_encode(s, &v, &b, &err) < 0) {
        fprintf(stderr, "encode %s: %s\n", schema, err.msg);
        exit(1);
    }
    avro_value_decref(&v);
    produce_raw(topic, key, b.data, b.len);
    td_avro_buf_done(&b);
}

/* "YYYY-MM-DD" of today (UTC) + n days; four rotating buffers. */
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

/* A member: key, relation, labour capacity, disability grade (0: null). */
static int member(char *buf, size_t size, const char *key, const char *rel, const char *labour,
                  int grade)
{
    char g[32] = "null";
    if (grade)
        snprintf(g, sizeof(g), "{\"int\":%d}", grade);
    return snprintf(buf, size,
                    "{\"person_key\":\"%s\",\"name\":\"张三\",\"relation\":\"%s\","
                    "\"birth_date\":\"1980-01-01\",\"labour_capacity\":\"%s\","
                    "\"disability_grade\":%s,\"in_school\":null}",
                    key, rel, labour, g);
}

/* A household of the village; members is a JSON array body; dibao "null",
 * "true" or "false"; updated_at is today - ago days. */
static void household(const char *hid, const char *members, int nmembers, const char *dibao,
                      int ago)
{
    char json[8192], d[40] = "null";
    if (strcmp(dibao, "null") != 0)
        snprintf(d, sizeof(d), "{\"boolean\":%s}", dibao);
    snprintf(json, sizeof(json),
             "{\"household_id\":\"%s\",\"village_code\":\"" VILLAGE "\",\"grid_id\":\"G-1\","
             "\"household_type\":\"POVERTY_ALLEVIATED\","
             "\"monitoring\":{\"state\":\"NOT_MONITORED\",\"category\":null,"
             "\"identified_date\":null,\"risk_eliminated_date\":null,"
             "\"risk_elimination_method\":null},"
             "\"members\":[%s],\"household_size\":%d,"
             "\"income\":{\"cn.tuodi.Income\":{\"year\":2023,\"annual_net_fen\":3000000,"
             "\"per_capita_net_fen\":3000000}},\"risks\":[],"
             "\"updated_at\":\"%sT02:00:00Z\",\"dibao\":%s,"
             "\"source\":{\"department\":\"RURAL_REVITALIZATION\",\"connector_instance\":"
             "\"roster\",\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             hid, members, nmembers, day(-ago), d, hid);
    produce(t_roster, hid, "cn.tuodi.Household", json);
}

static void h1(int grade_a)
{
    char m[2048];
    int n = member(m, sizeof(m), P_A, "HEAD", "NORMAL", grade_a);
    m[n++] = ',';
    member(m + n, sizeof(m) - (size_t)n, P_B, "SPOUSE", "NORMAL", 0);
    household("H1", m, 2, "false", 1);
}

static void h2(void)
{
    char m[1024];
    member(m, sizeof(m), P_C, "HEAD", "LOST", 0);
    household("H2", m, 1, "null", 1);
}

static void h3(void)
{
    char m[1024];
    member(m, sizeof(m), P_D, "HEAD", "NORMAL", 0);
    household("H3", m, 1, "null", 1);
}

static void h4(bool with_d)
{
    char m[2048];
    int n = member(m, sizeof(m), P_E, "HEAD", "NORMAL", 0);
    if (with_d) {
        m[n++] = ',';
        member(m + n, sizeof(m) - (size_t)n, P_D, "CHILD", "NORMAL", 0);
    }
    household("H4", m, with_d ? 2 : 1, "null", 1);
}

static void h5(void)
{
    char m[1024];
    member(m, sizeof(m), P_F, "HEAD", "WEAK", 0);
    household("H5", m, 1, "null", 200);
}

/* Today in China Standard Time, days since the epoch. */
static int cst_today(void)
{
    return (int)(((int64_t)time(NULL) + 8 * 3600) / 86400);
}

static void civil(const char *type, const char *person, int ago, const char *grade,
                  const char *id)
{
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"event_type\":\"%s\",\"person_key\":\"%s\",\"name\":null,"
             "\"village_code\":{\"string\":\"" VILLAGE "\"},\"event_date\":\"%s\","
             "\"amount_fen\":null,\"disability_grade\":%s,\"source\":{\"department\":"
             "\"CIVIL_AFFAIRS\",\"connector_instance\":\"civil\",\"record_id\":\"%s\","
             "\"location\":null,\"row\":null}}",
             type, person, day(-ago), grade, id);
    produce(t_civil, person, "cn.tuodi.CivilAffairsEvent", json);
}

static void outcome(const char *id, const char *result, const char *verifier,
                    const char *reviewer, const char *rec)
{
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"alert_id\":\"%s\",\"outcome\":\"%s\",\"category\":null,"
             "\"reason\":{\"string\":\"民政部门数据有误，已核实该户未申请低保\"},"
             "\"verifier\":\"%s\",\"reviewer\":\"%s\",\"visit_date\":\"%s\","
             "\"recorded_at\":\"%sT02:00:00Z\",\"source\":{\"department\":"
             "\"RURAL_REVITALIZATION\",\"connector_instance\":\"tuodictl\",\"record_id\":"
             "\"%s\",\"location\":null,\"row\":null}}",
             id, result, verifier, reviewer, day(0), day(0), rec);
    produce(t_ver, id, "cn.tuodi.VerificationOutcome", json);
}

static void tick(int64_t ts)
{
    char val[32];
    snprintf(val, sizeof(val), "%" PRId64, ts);
    produce_raw(t_clock, "tick", val, strlen(val));
}

/* ---- reading a topic back ---- */

#define MAXMSG 64

typedef struct msg {
    char id[80];
    int kind;          /* Suspect: 1 RAISED, 2 RESOLVED, 3 CLOSED; Alert: its kind */
    char what[256];    /* indicator or rule id; a dead letter's reason */
    char household[32];
    int64_t raised_at; /* Suspect: ms since the epoch */
    int fix_due;       /* Suspect: days since the epoch */
} msg;

typedef struct seen {
    msg v[MAXMSG];
    int n, bad_key;
} seen;

/* Reads topic (Suspect, Alert or dead letters: schema NULL) from the start
 * until want messages came, then 3 s more (anything more would be a
 * duplicate), or timeout_ms. */
static void read_topic(const char *topic, const char *schema, seen *s, int want, int timeout_ms)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *c = NULL;
    td_error err = {0};
    td_avro_decoder *dec = NULL;
    int64_t until = td_time_mono_ms() + timeout_ms, quiet_until = -1;
    char group[128];
    bool suspect = schema && strcmp(schema, "cn.tuodi.Suspect") == 0;

    memset(s, 0, sizeof(*s));
    snprintf(group, sizeof(group), "itest-sus-reader-%d-%" PRId64, (int)getpid(),
             td_time_mono_ms());
    if (schema)
        FATAL(td_avro_decoder_new(reg, td_avro_registry_find_name(reg, schema), &dec, &err) ==
              0);
    FATAL(td_kafka_consumer_conf_new(bootstrap, group, &props, &conf, &err) == 0);
    FATAL(td_kafka_new(RD_KAFKA_CONSUMER, conf, &c, &err) == 0);
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(c, topic, NULL);
        rd_kafka_resp_err_t x = rd_kafka_metadata(c, 0, rkt, &md, 5000);
        rd_kafka_topic_destroy(rkt);
        if (x == 0 && md->topics[0].err == 0 && md->topics[0].partition_cnt > 0) {
            rd_kafka_topic_partition_list_t *l =
                rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
            for (int i = 0; i < md->topics[0].partition_cnt; i++)
                rd_kafka_topic_partition_list_add(l, topic, i)->offset =
                    RD_KAFKA_OFFSET_BEGINNING;
            FATAL(rd_kafka_assign(c, l) == 0);
            rd_kafka_topic_partition_list_destroy(l);
            rd_kafka_metadata_destroy(md);
            break;
        }
        if (x == 0)
            rd_kafka_metadata_destroy(md);
        if (td_time_mono_ms() > until) {
            fprintf(stderr, "topic %s never appeared\n", topic);
            goto out;
        }
        usleep(200000);
    }
    while (td_time_mono_ms() < until && (quiet_until < 0 || td_time_mono_ms() < quiet_until)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        avro_value_t *v, f;
        const char *str = NULL;
        size_t size;
        msg *o;
        if (!m)
            continue;
        if (m->err || s->n == MAXMSG) {
            rd_kafka_message_destroy(m);
            continue;
        }
        o = &s->v[s->n++];
        memset(o, 0, sizeof(*o));
        if (!dec) {
            const void *reason = NULL;
            size_t rlen = 0;
            rd_kafka_headers_t *h = NULL;
            if (rd_kafka_message_headers(m, &h) == 0 &&
                rd_kafka_header_get_last(h, "tuodi.reason", &reason, &rlen) == 0) {
                snprintf(o->what, sizeof(o->what), "%.*s", (int)rlen, (const char *)reason);
                fprintf(stderr, "dead letter: %.*s\n", (int)rlen, (const char *)reason);
            }
        } else if (td_avro_decode(dec, m->payload, m->len, &v, &err) == 0) {
            if (avro_value_get_by_name(v, suspect ? "suspect_id" : "alert_id", &f, NULL) == 0 &&
                avro_value_get_string(&f, &str, &size) == 0)
                snprintf(o->id, sizeof(o->id), "%s", str);
            if (avro_value_get_by_name(v, suspect ? "indicator_id" : "rule_id", &f, NULL) == 0 &&
                avro_value_get_string(&f, &str, &size) == 0)
                snprintf(o->what, sizeof(o->what), "%s", str);
            if (suspect && avro_value_get_by_name(v, "household_id", &f, NULL) == 0 &&
                avro_value_get_string(&f, &str, &size) == 0)
                snprintf(o->household, sizeof(o->household), "%s", str);
            if (avro_value_get_by_name(v, "kind", &f, NULL) == 0)
                avro_value_get_enum(&f, &o->kind);
            if (suspect && avro_value_get_by_name(v, "raised_at", &f, NULL) == 0)
                avro_value_get_long(&f, &o->raised_at);
            if (suspect && avro_value_get_by_name(v, "fix_due_date", &f, NULL) == 0)
                avro_value_get_int(&f, &o->fix_due);
            if (!m->key || m->key_len != 12 || memcmp(m->key, VILLAGE, 12) != 0)
                s->bad_key++;
            fprintf(stderr, "%s %s kind %d %s %s\n", suspect ? "suspect" : "alert", o->id,
                    o->kind, o->what, o->household);
        } else {
            fprintf(stderr, "undecodable: %s\n", err.msg);
        }
        if (s->n >= want && quiet_until < 0)
            quiet_until = td_time_mono_ms() + 3000;
        rd_kafka_message_destroy(m);
    }
out:
    td_kafka_destroy(c);
    td_avro_decoder_free(dec);
}

/* Messages of (indicator, household, kind); household NULL: any. */
static int count(const seen *s, const char *what, const char *household, int kind)
{
    int n = 0;
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i].what, what) == 0 && s->v[i].kind == kind &&
            (!household || strcmp(s->v[i].household, household) == 0))
            n++;
    return n;
}

/* No (id, kind) twice. */
static bool no_duplicates(const seen *s)
{
    for (int i = 0; i < s->n; i++)
        for (int j = i + 1; j < s->n; j++)
            if (s->v[i].kind == s->v[j].kind && strcmp(s->v[i].id, s->v[j].id) == 0) {
                fprintf(stderr, "duplicate: %s kind %d\n", s->v[i].id, s->v[i].kind);
                return false;
            }
    return true;
}

static const msg *find_msg(const seen *s, const char *what, const char *household, int kind)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i].what, what) == 0 && s->v[i].kind == kind &&
            strcmp(s->v[i].household, household) == 0)
            return &s->v[i];
    return NULL;
}

static const char *id_of(const seen *s, const char *what, int kind)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i].what, what) == 0 && s->v[i].kind == kind)
            return s->v[i].id;
    return "";
}

static pid_t spawn(const char *config, const char *log)
{
    char bin[4200];
    snprintf(bin, sizeof(bin), "%s/daemon/tuodi-matchd", build_root);
    return td_proc_spawn_config(bin, config, log);
}

static void stop(pid_t pid)
{
    int status = td_proc_stop(pid, SIGTERM, 60000);
    CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    char dir[] = "/tmp/itest-sus-XXXXXX", config[4200], log[4200], rules[4200], uniq[64],
        sus_dibao[80], alert_id[80];
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    td_kafka_topic_spec specs[6];
    const char *names[6];
    td_error err = {0};
    seen s, a, d;
    pid_t pid;
    FILE *f;
    int64_t t0 = td_time_mono_ms();

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

    snprintf(uniq, sizeof(uniq), "its%d%" PRId64, (int)getpid(), t0 % 100000);
    snprintf(t_roster, sizeof(t_roster), "%s.roster", uniq);
    snprintf(t_med, sizeof(t_med), "%s.medical", uniq);
    snprintf(t_civil, sizeof(t_civil), "%s.civil", uniq);
    snprintf(t_hr, sizeof(t_hr), "%s.hr", uniq);
    snprintf(t_ver, sizeof(t_ver), "%s.verifications.340421", uniq);
    snprintf(t_dlq, sizeof(t_dlq), "%s.dlq.verifications", uniq);
    snprintf(t_clock, sizeof(t_clock), "%s.clock", uniq);
    snprintf(t_alerts, sizeof(t_alerts), "%s.alerts.340421", uniq);
    snprintf(t_suspects, sizeof(t_suspects), "%s.suspects.340421", uniq);

    FATAL(td_kafka_producer_conf_new(bootstrap, "itest-sus-producer", &props, &conf, &err) == 0);
    FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &producer, &err) == 0);
    names[0] = t_roster; names[1] = t_med; names[2] = t_civil; names[3] = t_hr;
    names[4] = t_ver; names[5] = t_clock;
    memset(specs, 0, sizeof(specs));
    for (int i = 0; i < 6; i++) {
        specs[i].name = names[i];
        specs[i].partitions = 1;
        specs[i].replication_factor = 1;
    }
    if (td_kafka_topics_ensure(producer, specs, 6, 60000, &err) < 0 ||
        td_kafka_txn_init(producer, 60000, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }

    snprintf(rules, sizeof(rules), "%s/rules.yaml", dir);
    f = fopen(rules, "w");
    FATAL(f);
    fputs("lines:\n"
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
          "    fix_hint: 核实低保待遇并更正名册\n"
          "  - id: duplicate-person\n    name: 同一人员在多户\n"
          "    check: duplicate_person\n"
          "    fix_hint: 核实该人员户籍，仅保留一户\n"
          "  - id: death-still-listed\n    name: 已登记死亡人员仍在册\n"
          "    check: death_still_listed\n    grace_days: 30\n"
          "    fix_hint: 核实该成员是否已故并办理自然减少\n",
          f);
    fclose(f);
    snprintf(config, sizeof(config), "%s/matchd.yaml", dir);
    snprintf(log, sizeof(log), "%s/matchd.log", dir);
    f = fopen(config, "w");
    FATAL(f);
    fprintf(f,
            "kafka:\n  bootstrap.servers: %s\n"
            "group_id: %s\nstate_dir: %s/state\nrules: %s\n"
            "schemas_dir: %s\nlog_level: info\n"
            "topics:\n  roster: %s\n  medical_insurance: %s\n  civil_affairs: %s\n"
            "  human_resources: %s\n  verifications_prefix: %s.verifications.\n"
            "  dlq_verifications: %s\n"
            "  alerts_prefix: %s.alerts.\n  suspects_prefix: %s.suspects.\n"
            "  alert_partitions: 2\n  clock: %s\n"
            "store:\n  closed_retention: 30d\n"
            "transaction:\n  max_records: 100\n  max_interval: 200ms\n",
            bootstrap, uniq, dir, rules, schemas_dir, t_roster, t_med, t_civil, t_hr, uniq, t_dlq,
            uniq, uniq, t_clock);
    fclose(f);

    /* 1. the roster alone: one person on H3 and H4 */
    h1(0);
    h2();
    h3();
    h4(true);
    h5();
    pid = spawn(config, log);
    if (!td_proc_wait_log(log, "ready: roster caught up", 1, 60000)) {
        td_proc_show_log(log, 20);
        FATAL(!"matchd ready");
    }
    read_topic(t_suspects, "cn.tuodi.Suspect", &s, 2, 60000);
    fprintf(stderr, "1. roster: %d suspect messages (%.1fs)\n", s.n,
            (double)(td_time_mono_ms() - t0) / 1000.0);
    CHECK(s.n == 2);
    CHECK(count(&s, "duplicate-person", "H3", 1) == 1);
    CHECK(count(&s, "duplicate-person", "H4", 1) == 1);

    /* 2. department records */
    int today0 = cst_today();
    civil("DISABILITY_CERTIFIED", P_A, 5, "{\"int\":1}", "MZ-1");
    civil("DIBAO_APPROVED", P_B, 4, "null", "MZ-2");
    civil("DEATH_REGISTERED", P_C, 10, "null", "MZ-3");
    civil("DEATH_REGISTERED", P_F, 400, "null", "MZ-5");
    civil("DIBAO_APPLIED", P_A, 3, "null", "MZ-4");
    read_topic(t_suspects, "cn.tuodi.Suspect", &s, 5, 60000);
    fprintf(stderr, "2. records: %d suspect messages (%.1fs)\n", s.n,
            (double)(td_time_mono_ms() - t0) / 1000.0);
    CHECK(s.n == 5);
    CHECK(count(&s, "disability-differs", "H1", 1) == 1);
    CHECK(count(&s, "dibao-not-recorded", "H1", 1) == 1);
    CHECK(count(&s, "death-still-listed", "H2", 1) == 0); /* 10 of 30 days */
    {
        /* the backfilled death: raised on the push day (the stream clock's
         * day, today), not on the roster's day 200 days ago, and so its fix
         * is due after today, not long past */
        const msg *m = find_msg(&s, "death-still-listed", "H5", 1);
        int raised = m ? (int)((m->raised_at + 8 * 3600 * 1000LL) / 86400000LL) : -1;
        CHECK(m != NULL);
        if (m)
            fprintf(stderr, "   H5's death: raised day %d, fix due %d, today %d\n", raised,
                    m->fix_due, today0);
        CHECK(m && raised >= today0 && raised <= cst_today());
        CHECK(m && m->fix_due > raised + 20 && m->fix_due > cst_today());
    }
    read_topic(t_alerts, "cn.tuodi.Alert", &a, 1, 60000);
    CHECK(a.n == 1);
    snprintf(alert_id, sizeof(alert_id), "%s", a.n ? a.v[0].id : "");

    /* a restart: nothing again */
    stop(pid);
    pid = spawn(config, log);
    FATAL(td_proc_wait_log(log, "ready: roster caught up", 2, 60000));

    /* 3. the stream clock 25 days ahead: the death has been listed 35 days */
    tick((int64_t)(time(NULL) + 25 * 86400) * 1000);
    read_topic(t_suspects, "cn.tuodi.Suspect", &s, 6, 60000);
    fprintf(stderr, "3. tick: %d suspect messages (%.1fs)\n", s.n,
            (double)(td_time_mono_ms() - t0) / 1000.0);
    CHECK(s.n == 6);
    CHECK(count(&s, "death-still-listed", "H2", 1) == 1);

    /* 4. a corrected export of H1's grade (低保 still not recorded), H2
     * unchanged, H4 without D */
    h1(1);
    h2();
    h4(false);
    read_topic(t_suspects, "cn.tuodi.Suspect", &s, 9, 60000);
    fprintf(stderr, "4. re-export: %d suspect messages (%.1fs)\n", s.n,
            (double)(td_time_mono_ms() - t0) / 1000.0);
    CHECK(s.n == 9);
    CHECK(count(&s, "disability-differs", "H1", 2) == 1);
    CHECK(count(&s, "duplicate-person", "H3", 2) == 1);
    CHECK(count(&s, "duplicate-person", "H4", 2) == 1);
    CHECK(count(&s, "dibao-not-recorded", NULL, 2) == 0);
    CHECK(count(&s, "death-still-listed", NULL, 2) == 0);

    /* 5. outcomes */
    snprintf(sus_dibao, sizeof(sus_dibao), "%s", id_of(&s, "dibao-not-recorded", 1));
    CHECK(strncmp(sus_dibao, "sus-", 4) == 0);
    outcome(sus_dibao, "DEPARTMENT_DATA_WRONG", "李四", "李四", "V-1"); /* one person */
    outcome(sus_dibao, "DEPARTMENT_DATA_WRONG", "李四", "王五", "V-2");
    outcome(alert_id, "DEPARTMENT_DATA_WRONG", "李四", "王五", "V-3");
    h1(1);
    read_topic(t_suspects, "cn.tuodi.Suspect", &s, 10, 60000);
    fprintf(stderr, "5. outcomes: %d suspect messages (%.1fs)\n", s.n,
            (double)(td_time_mono_ms() - t0) / 1000.0);
    CHECK(s.n == 10);
    CHECK(count(&s, "dibao-not-recorded", "H1", 3) == 1);
    CHECK(count(&s, "dibao-not-recorded", "H1", 1) == 1); /* not raised again */
    read_topic(t_dlq, NULL, &d, 2, 60000);
    CHECK(d.n == 2);
    CHECK(d.n == 2 && strstr(d.v[0].what, "two-person") != NULL);
    CHECK(d.n == 2 && strstr(d.v[1].what, "DEPARTMENT_DATA_WRONG is an outcome for a suspect"));

    /* 6. Bounded state, store.closed_retention 30d: the 低保 suspect, closed
     * on stream day +25, is still in the suspect index then (an outcome:
     * refused, not as unknown), and pruned once the clock is 60 days on (an
     * outcome: unknown, the reason says why). */
    outcome(sus_dibao, "DEPARTMENT_DATA_WRONG", "李四", "王五", "V-4");
    read_topic(t_dlq, NULL, &d, 3, 60000);
    CHECK(d.n == 3 && strstr(d.v[2].what, "pruned") == NULL);
    tick((int64_t)(time(NULL) + 60 * 86400) * 1000);
    outcome(sus_dibao, "DEPARTMENT_DATA_WRONG", "李四", "王五", "V-5");
    read_topic(t_dlq, NULL, &d, 4, 60000);
    fprintf(stderr, "6. an outcome for a pruned suspect: %d dead letters (%.1fs)\n", d.n,
            (double)(td_time_mono_ms() - t0) / 1000.0);
    CHECK(d.n == 4 && strstr(d.v[3].what, "unknown suspect: not raised by this matchd, or "
                                          "resolved or closed more than store.closed_retention "
                                          "ago (by the stream clock) and pruned from the "
                                          "suspect index") != NULL);
    stop(pid);

    CHECK(no_duplicates(&s));
    CHECK(s.bad_key == 0);
    CHECK(td_proc_log_count(log, P_A) == 0); /* no identity number in the log */
    if (failures)
        td_proc_show_log(log, 60);
    fprintf(stderr, "%s (%.1fs)\n", failures ? "FAILED" : "ok",
            (double)(td_time_mono_ms() - t0) / 1000.0);
    td_kafka_destroy(producer);
    td_avro_registry_free(reg);
    if (!failures) {
        char cmd[4300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return failures ? 1 : 0;
}
