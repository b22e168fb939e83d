/* tuodi-matchd end to end against the real Kafka broker (KAFKA_BOOTSTRAP):
 * a roster household and department records go in, the expected alerts come
 * out of the county queue exactly once, through a SIGTERM and a restart.
 *
 *   0. SIGTERM while Kafka cannot be reached yet (start-up)  -> exit 0
 *   1. 低保 application of a roster member (household H2) -> 1 ALERT (dibao-tekun)
 *   2. medical (household H1) out-of-pocket 3000 yuan                 -> nothing
 *   3. medical 2500 yuan (365-day sum 5500 >= 5000)    -> 1 ALERT (medical-oop-365d)
 *   4. medical 1000 yuan                               -> suppressed (open alert)
 *   SIGTERM (exit 0), restart
 *   5. medical 500 yuan                                -> suppressed
 *   6. 低保 application of a person not on the roster  -> 1 ALERT
 *   7. verification outcomes: one-person (DLQ), valid DISMISSED (CLOSED
 *      message), the same again (DLQ: not open)
 *   SIGTERM, LMDB rolled back to run 1's (a crash between the Kafka commit
 *   and the LMDB write), restart (restore mode)
 *   8. 低保 again for the person off the roster        -> suppressed
 *   9. 低保 of a third person off the roster           -> 1 ALERT
 *   SIGTERM, the state directory removed, restart (restore from Kafka)
 *  10. medical 100 yuan                                -> suppressed
 *  11. 低保 application of another person off the roster -> 1 ALERT
 *  12. a roster household below the line (ordinary, not monitored)
 *                                                  -> 1 ALERT (income-below-line)
 *      the same household again (unchanged)        -> suppressed (open alert)
 *  13. a clock tick 14 days ahead (the injected clock) -> one OVERDUE_WARNING
 *      for each of the 5 open alerts (raised today, their visits were due 2
 *      working days later), none for the closed one; a second tick warns
 *      nothing more
 *  14. a second instance of the group: the first is fenced and stops with
 *      an error, the second takes over; 低保 of another person -> 1 ALERT
 *  15. a person off the roster spends 3,000, joins a 脱贫户 household, spends
 *      2,500 more -> 1 ALERT (his history moved into the household's window)
 * The roster also holds 5,000 households of no interest, so that the first
 * run's roster load and the rebuild after the state is lost take a while:
 * with progress_interval 10ms, both log their progress (percent, records/s,
 * time left) and the first run says the same in STATUS= to NOTIFY_SOCKET.
 * Event dates are relative to today (the stream clock is the records' Kafka
 * timestamps, and window history older than the longest window plus the
 * lateness is forgotten). Every alert id appears exactly once per kind in
 * <prefix>.alerts.340421, keyed by the village code. */
#include "td_avro.h"
#include "td_idnum.h"
#include "td_kafka.h"
#include "td_proc.h"
#include "td_time.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VILLAGE "340421100201"
#define VILLAGE2 "340421100202"
#define P_HEAD "340421198001010011"
#define P_H2 "340421198202020028"
#define P_OTHER3 "340421196806060066"
#define P_OTHER4 "340421197707070077"
#define P_OTHER "340421197505050044"
#define P_H3 "340421199003030030"
#define P_OTHER5 "340421198508080088"
#define P_JOINS "340421197011110019"

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
static char t_roster[128], t_med[128], t_civil[128], t_hr[128], t_ver[128], t_dlq[128], t_clock[128],
    prefix[128], t_alerts[160];

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
        exit(1);
    }
    avro_value_decref(&v);
}

/* One record in its own transaction. */
static void produce(const char *topic, const char *key, const char *schema, const char *json)
{
    td_avro_buf b = TD_AVRO_BUF_INIT;
    td_error err = {0};
    encode_json(schema, json, &b);
    FATAL(td_kafka_txn_begin(producer, &err) == 0);
    {
        rd_kafka_vu_t vu[4];
        rd_kafka_error_t *xe;
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
        xe = rd_kafka_produceva(producer, vu, 4);
        FATAL(xe == NULL);
    }
    if (td_kafka_txn_commit(producer, 30000, &err) < 0) {
        fprintf(stderr, "commit: %s\n", err.msg);
        exit(1);
    }
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

/* A household of one member: type POVERTY_ALLEVIATED or ORDINARY, not
 * monitored, per-capita income in fen (income year 2023), updated_at. */
static void household_ex(const char *hid, const char *person, const char *type,
                         long long income_fen, const char *updated)
{
    char json[4096];
    snprintf(json, sizeof(json),
             "{\"household_id\":\"%s\",\"village_code\":\"" VILLAGE "\",\"grid_id\":\"G-1\","
             "\"household_type\":\"%s\","
             "\"monitoring\":{\"state\":\"NOT_MONITORED\",\"category\":null,\"identified_date\":null,"
             "\"risk_eliminated_date\":null,\"risk_elimination_method\":null},"
             "\"members\":[{\"person_key\":\"%s\",\"name\":\"张三\",\"relation\":\"HEAD\","
             "\"birth_date\":\"1980-01-01\",\"labour_capacity\":\"NORMAL\","
             "\"disability_grade\":null,\"in_school\":null}],\"household_size\":1,"
             "\"income\":{\"cn.tuodi.Income\":{\"year\":2023,\"annual_net_fen\":%lld,"
             "\"per_capita_net_fen\":%lld}},\"risks\":[],"
             "\"updated_at\":\"%sT10:00:00Z\","
             "\"source\":{\"department\":\"RURAL_REVITALIZATION\",\"connector_instance\":\"roster\","
             "\"record_id\":\"%s\",\"location\":null,\"row\":null}}", hid, type, person,
             income_fen, income_fen, updated, hid);
    produce(t_roster, hid, "cn.tuodi.Household", json);
}

static void household(const char *hid, const char *person)
{
    household_ex(hid, person, "POVERTY_ALLEVIATED", 3000000, "2023-01-31");
}

/* n households of one member (valid identity numbers) in one transaction:
 * a roster that takes tuodi-matchd a while to load. */
static void households_bulk(int n)
{
    td_error err = {0};

    FATAL(td_kafka_txn_begin(producer, &err) == 0);
    for (int k = 0; k < n; k++) {
        char json[4096], hid[32], id[19];
        td_avro_buf b = TD_AVRO_BUF_INIT;
        rd_kafka_vu_t vu[4];

        snprintf(hid, sizeof(hid), "BULK%05d", k);
        snprintf(id, sizeof(id), "340421%04d%02d%02d%03d", 1940 + k % 60, 1 + k % 12,
                 1 + k % 28, k % 1000);
        id[17] = td_idnum_check_char(id);
        id[18] = '\0';
        snprintf(json, sizeof(json),
                 "{\"household_id\":\"%s\",\"village_code\":\"" VILLAGE "\",\"grid_id\":\"G-1\","
                 "\"household_type\":\"POVERTY_ALLEVIATED\","
                 "\"monitoring\":{\"state\":\"NOT_MONITORED\",\"category\":null,"
                 "\"identified_date\":null,\"risk_eliminated_date\":null,"
                 "\"risk_elimination_method\":null},"
                 "\"members\":[{\"person_key\":\"%s\",\"name\":\"张三\",\"relation\":\"HEAD\","
                 "\"birth_date\":\"1980-01-01\",\"labour_capacity\":\"NORMAL\","
                 "\"disability_grade\":null,\"in_school\":null}],\"household_size\":1,"
                 "\"income\":{\"cn.tuodi.Income\":{\"year\":2023,\"annual_net_fen\":3000000,"
                 "\"per_capita_net_fen\":3000000}},\"risks\":[],"
                 "\"updated_at\":\"2023-01-31T10:00:00Z\","
                 "\"source\":{\"department\":\"RURAL_REVITALIZATION\","
                 "\"connector_instance\":\"roster\",\"record_id\":\"%s\",\"location\":null,"
                 "\"row\":null}}", hid, id, hid);
        encode_json("cn.tuodi.Household", json, &b);
        vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
        vu[0].u.cstr = t_roster;
        vu[1].vtype = RD_KAFKA_VTYPE_KEY;
        vu[1].u.mem.ptr = hid;
        vu[1].u.mem.size = strlen(hid);
        vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
        vu[2].u.mem.ptr = b.data;
        vu[2].u.mem.size = b.len;
        vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
        vu[3].u.i = RD_KAFKA_MSG_F_COPY;
        while (1) {
            rd_kafka_error_t *xe = rd_kafka_produceva(producer, vu, 4);
            if (!xe)
                break;
            FATAL(rd_kafka_error_code(xe) == RD_KAFKA_RESP_ERR__QUEUE_FULL);
            rd_kafka_error_destroy(xe);
            rd_kafka_poll(producer, 50);
        }
        td_avro_buf_done(&b);
    }
    if (td_kafka_txn_commit(producer, 60000, &err) < 0) {
        fprintf(stderr, "commit: %s\n", err.msg);
        exit(1);
    }
}

/* A NOTIFY_SOCKET for the daemon: a thread reads its datagrams (sd_notify
 * would block on a full socket) and counts the STATUS= lines of a roster
 * load's progress. */
static int notify_fd = -1;
static atomic_bool notify_stop;
static atomic_int notify_count, notify_loading;

static void *notify_drain(void *arg)
{
    (void)arg;
    while (!atomic_load(&notify_stop)) {
        char buf[1024];
        ssize_t n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
            continue; /* SO_RCVTIMEO */
        buf[n] = '\0';
        atomic_fetch_add(&notify_count, 1);
        if (strstr(buf, "STATUS=loading the roster: ") && strstr(buf, "% (") &&
            strstr(buf, " records/s, "))
            atomic_fetch_add(&notify_loading, 1);
    }
    return NULL;
}

static pthread_t notify_start(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {0, 100000};
    pthread_t t;

    FATAL(strlen(path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    FATAL(notify_fd >= 0);
    FATAL(bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    FATAL(setsockopt(notify_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
    FATAL(pthread_create(&t, NULL, notify_drain, NULL) == 0);
    return t;
}

/* A clock tick as tuodi-matchd writes them, carrying the time ts (the
 * broker refuses Kafka timestamps more than an hour ahead, so the injected
 * time is in the value; the record's own timestamp is now). */
static void tick(int64_t ts)
{
    td_error err = {0};
    char val[32];
    rd_kafka_vu_t vu[5];
    rd_kafka_error_t *xe;
    snprintf(val, sizeof(val), "%" PRId64, ts);
    FATAL(td_kafka_txn_begin(producer, &err) == 0);
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = t_clock;
    vu[1].vtype = RD_KAFKA_VTYPE_PARTITION;
    vu[1].u.i32 = 0;
    vu[2].vtype = RD_KAFKA_VTYPE_KEY;
    vu[2].u.mem.ptr = (void *)"tick";
    vu[2].u.mem.size = 4;
    vu[3].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[3].u.mem.ptr = val;
    vu[3].u.mem.size = strlen(val);
    vu[4].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[4].u.i = RD_KAFKA_MSG_F_COPY;
    xe = rd_kafka_produceva(producer, vu, 5);
    FATAL(xe == NULL);
    if (td_kafka_txn_commit(producer, 30000, &err) < 0) {
        fprintf(stderr, "tick: %s\n", err.msg);
        exit(1);
    }
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

static void dibao(const char *person, const char *village, const char *date, const char *id)
{
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"event_type\":\"DIBAO_APPLIED\",\"person_key\":\"%s\",\"name\":null,"
             "\"village_code\":{\"string\":\"%s\"},\"event_date\":\"%s\",\"amount_fen\":null,"
             "\"disability_grade\":null,\"source\":{\"department\":\"CIVIL_AFFAIRS\","
             "\"connector_instance\":\"civil\",\"record_id\":\"%s\",\"location\":null,"
             "\"row\":null}}",
             person, village, date, id);
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

/* ---- the alert queue ---- */

typedef struct seen {
    char id[16][80];
    char rule[16][64];
    int count[16];
    int n, total, bad_key;
    char overdue_id[16][80];
    int n_overdue, overdue; /* OVERDUE_WARNINGs: distinct, all (not in n, total) */
    int overdue_evidence;   /* of them, carrying the original ALERT's evidence */
} seen;

/* Reads topic from the start until want messages (ALERT and CLOSED, or dead
 * letters) and want_overdue OVERDUE_WARNINGs came, then 3 s more (anything
 * more would be a duplicate), or timeout_ms. */
static void read_topic(const char *topic, bool dlq, seen *s, int want, int want_overdue,
                       int timeout_ms)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *c = NULL;
    td_error err = {0};
    const td_avro_schema *as = td_avro_registry_find_name(reg, "cn.tuodi.Alert");
    td_avro_decoder *dec = NULL;
    int64_t until = td_time_mono_ms() + timeout_ms, quiet_until = -1;
    char group[128];

    memset(s, 0, sizeof(*s));
    snprintf(group, sizeof(group), "itest-matchd-reader-%d-%" PRId64, (int)getpid(),
             td_time_mono_ms());
    FATAL(td_avro_decoder_new(reg, as, &dec, &err) == 0);
    FATAL(td_kafka_consumer_conf_new(bootstrap, group, &props, &conf, &err) == 0);
    FATAL(td_kafka_new(RD_KAFKA_CONSUMER, conf, &c, &err) == 0);
    /* Wait for the topic, then read all its partitions from the start. */
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
        const char *id = NULL, *rule = NULL;
        size_t size;
        if (!m)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (dlq) {
            const void *reason = NULL;
            size_t rlen = 0;
            rd_kafka_headers_t *h = NULL;
            if (rd_kafka_message_headers(m, &h) != 0 ||
                rd_kafka_header_get_last(h, "tuodi.reason", &reason, &rlen) != 0 || rlen == 0)
                s->bad_key++;
            else
                fprintf(stderr, "dead letter: %.*s\n", (int)rlen, (const char *)reason);
        } else if (td_avro_decode(dec, m->payload, m->len, &v, &err) == 0 &&
            avro_value_get_by_name(v, "alert_id", &f, NULL) == 0 &&
            avro_value_get_string(&f, &id, &size) == 0 &&
            avro_value_get_by_name(v, "rule_id", &f, NULL) == 0 &&
            avro_value_get_string(&f, &rule, &size) == 0) {
            int i, kind = 0;
            char idk[80];
            if (avro_value_get_by_name(v, "kind", &f, NULL) == 0)
                avro_value_get_enum(&f, &kind);
            if (kind == 2) { /* OVERDUE_WARNING */
                size_t ne = 0;
                if (avro_value_get_by_name(v, "evidence", &f, NULL) == 0 &&
                    avro_value_get_size(&f, &ne) == 0 && ne > 0)
                    s->overdue_evidence++;
                for (i = 0; i < s->n_overdue; i++)
                    if (strcmp(s->overdue_id[i], id) == 0)
                        break;
                if (i == s->n_overdue && s->n_overdue < 16)
                    snprintf(s->overdue_id[s->n_overdue++], sizeof(s->overdue_id[0]), "%.64s", id);
                s->overdue++;
                if (s->total >= want && s->overdue >= want_overdue && quiet_until < 0)
                    quiet_until = td_time_mono_ms() + 3000;
                rd_kafka_message_destroy(m);
                continue;
            }
            snprintf(idk, sizeof(idk), "%.64s/%d", id, kind);
            id = idk;
            for (i = 0; i < s->n; i++)
                if (strcmp(s->id[i], id) == 0)
                    break;
            if (i == s->n && s->n < 16) {
                snprintf(s->id[i], sizeof(s->id[i]), "%s", id);
                snprintf(s->rule[i], sizeof(s->rule[i]), "%s", rule);
                s->n++;
            }
            if (i < 16)
                s->count[i]++;
            if (!m->key || (m->key_len != 12) ||
                (memcmp(m->key, VILLAGE, 12) != 0 && memcmp(m->key, VILLAGE2, 12) != 0))
                s->bad_key++;
        } else {
            fprintf(stderr, "undecodable alert: %s\n", err.msg);
        }
        s->total++;
        if (s->total >= want && s->overdue >= want_overdue && quiet_until < 0)
            quiet_until = td_time_mono_ms() + 3000; /* anything more would be a duplicate */
        rd_kafka_message_destroy(m);
    }
out:
    td_kafka_destroy(c);
    td_avro_decoder_free(dec);
}

static int rule_count(const seen *s, const char *rule)
{
    int n = 0;
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->rule[i], rule) == 0)
            n++;
    return n;
}

/* ---- the state (LMDB's own tools, read-only beside the daemon) ---- */

/* Entries of database db in the environment dir, -1 when it cannot be read. */
static long lmdb_entries(const char *dir, const char *db)
{
    char cmd[4600], line[256];
    long n = -1;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "mdb_stat -s %s %s 2>/dev/null", db, dir);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    while (fgets(line, sizeof(line), p))
        if (sscanf(line, " Entries: %ld", &n) == 1)
            break;
    pclose(p);
    return n;
}

/* True when db holds key (printable); nothing is printed. */
static bool lmdb_has_key(const char *dir, const char *db, const char *key)
{
    char cmd[4800];
    snprintf(cmd, sizeof(cmd), "mdb_dump -p -s %s %s 2>/dev/null | grep -qx ' %s'", db, dir,
             key);
    return system(cmd) == 0;
}

/* ---- the daemon ---- */

static pid_t spawn(const char *config, const char *log)
{
    char bin[4200];
    snprintf(bin, sizeof(bin), "%s/daemon/tuodi-matchd", build_root);
    return td_proc_spawn_config(bin, config, log);
}

int main(void)
{
    char dibao_id[80] = "";
    char dir[] = "/tmp/itest-matchd-XXXXXX", config[4200], log[4200], uniq[64];
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    td_kafka_topic_spec specs[5];
    const char *names[5];
    td_error err = {0};
    seen s;
    pid_t pid;
    int status;
    FILE *f;
    int64_t t0 = td_time_mono_ms();

    bootstrap = getenv("KAFKA_BOOTSTRAP");
    if (!bootstrap || !*bootstrap) {
        fprintf(stderr, "KAFKA_BOOTSTRAP is not set: start a broker (deploy/kafka/dev-broker)\n");
        return 1;
    }
    snprintf(src_root, sizeof(src_root), "%s", getenv("TD_SOURCE_ROOT") ? getenv("TD_SOURCE_ROOT") : ".");
    snprintf(build_root, sizeof(build_root), "%s", getenv("TD_BUILD_ROOT") ? getenv("TD_BUILD_ROOT") : "build");
    snprintf(schemas_dir, sizeof(schemas_dir), "%s/schemas", src_root);
    FATAL(mkdtemp(dir));
    FATAL(td_avro_registry_new(&reg) == 0);
    FATAL(td_avro_registry_load_dir(reg, schemas_dir, NULL, &err) == 0);

    snprintf(uniq, sizeof(uniq), "itm%d%" PRId64, (int)getpid(), t0 % 100000);
    snprintf(t_roster, sizeof(t_roster), "%s.roster", uniq);
    snprintf(t_med, sizeof(t_med), "%s.medical", uniq);
    snprintf(t_civil, sizeof(t_civil), "%s.civil", uniq);
    snprintf(t_hr, sizeof(t_hr), "%s.hr", uniq);
    snprintf(t_ver, sizeof(t_ver), "%s.verifications.340421", uniq); /* the alerts' county */
    snprintf(t_dlq, sizeof(t_dlq), "%s.dlq.verifications", uniq);
    snprintf(t_clock, sizeof(t_clock), "%s.clock", uniq);
    snprintf(prefix, sizeof(prefix), "%s.alerts.", uniq);
    snprintf(t_alerts, sizeof(t_alerts), "%s340421", prefix);

    FATAL(td_kafka_producer_conf_new(bootstrap, "itest-matchd-producer", &props, &conf, &err) == 0);
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
        return 1;
    }

    snprintf(config, sizeof(config), "%s/matchd.yaml", dir);
    snprintf(log, sizeof(log), "%s/matchd.log", dir);
    f = fopen(config, "w");
    FATAL(f);
    fprintf(f,
            "kafka:\n  bootstrap.servers: %s\n"
            "group_id: %s\nstate_dir: %s/state\nrules: %s/deploy/rules/huainan-2023.yaml\n"
            "schemas_dir: %s\nlog_level: info\n"
            "topics:\n  roster: %s\n  medical_insurance: %s\n  civil_affairs: %s\n"
            "  human_resources: %s\n  verifications_prefix: %s.verifications.\n"
            "  dlq_verifications: %s\n"
            "  alerts_prefix: %s\n  alert_partitions: 2\n  clock: %s\n"
            "progress_interval: 10ms\n"
            "store:\n  closed_retention: 20d\n"
            "transaction:\n  max_records: 100\n  max_interval: 200ms\n",
            bootstrap, uniq, dir, src_root, schemas_dir, t_roster, t_med, t_civil, t_hr, uniq,
            t_dlq, prefix, t_clock);
    fclose(f);

    /* 0. SIGTERM while Kafka cannot be reached yet (start-up): a clean stop. */
    {
        char config0[4300], log0[4300], cmd[13000];
        pid_t pid0;
        snprintf(config0, sizeof(config0), "%s/matchd0.yaml", dir);
        snprintf(log0, sizeof(log0), "%s/matchd0.log", dir);
        snprintf(cmd, sizeof(cmd),
                 "sed -e 's|^  bootstrap.servers: .*|  bootstrap.servers: 127.0.0.1:1|' "
                 "-e 's|^state_dir: .*|state_dir: %s/state0|' "
                 "-e 's|^  max_interval: 200ms|  max_interval: 200ms\\n  timeout: 2s|' %s > %s",
                 dir, config, config0);
        CHECK(system(cmd) == 0);
        pid0 = spawn(config0, log0);
        CHECK(td_proc_wait_log(log0, "not reachable yet", 1, 30000));
        status = td_proc_stop(pid0, SIGTERM, 30000);
        fprintf(stderr, "SIGTERM during start-up: exit %d (%.1fs)\n",
                status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                (double)(td_time_mono_ms() - t0) / 1000.0);
        CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }

    household("H1", P_HEAD);
    household("H2", P_H2);
    households_bulk(5000);
    dibao(P_H2, VILLAGE, day(0), "MZ-1");
    medical(P_HEAD, day(1), 300000, "YB-1");
    medical(P_HEAD, day(28), 250000, "YB-2");
    medical(P_HEAD, day(37), 100000, "YB-3");

    {
        char npath[4300];
        pthread_t nt;

        snprintf(npath, sizeof(npath), "%s/notify", dir);
        nt = notify_start(npath);
        setenv("NOTIFY_SOCKET", npath, 1);
        pid = spawn(config, log);
        unsetenv("NOTIFY_SOCKET"); /* this run only */
        read_topic(t_alerts, false, &s, 2, 0, 90000);
        fprintf(stderr, "first run: %d alerts, %d distinct (%.1fs)\n", s.total, s.n,
                (double)(td_time_mono_ms() - t0) / 1000.0);
        CHECK(s.total == 2);
        CHECK(s.n == 2);
        CHECK(rule_count(&s, "dibao-tekun") == 1);
        CHECK(rule_count(&s, "medical-oop-365d") == 1);
        CHECK(s.bad_key == 0);
        status = td_proc_stop(pid, SIGTERM, 60000);
        CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
        atomic_store(&notify_stop, true);
        pthread_join(nt, NULL);
        close(notify_fd);
        /* the roster load said how far it was, in the log and to systemd */
        fprintf(stderr, "roster load: %d progress lines, %d of %d notifications its progress\n",
                td_proc_log_count(log, "notice: loading the roster: "),
                atomic_load(&notify_loading), atomic_load(&notify_count));
        {
            char cmd[4400];
            snprintf(cmd, sizeof(cmd), "grep -m1 'loading the roster: ' %s >&2", log);
            if (system(cmd) != 0)
                fprintf(stderr, "(no progress line)\n");
        }
        CHECK(td_proc_log_count(log, "notice: loading the roster: ") >= 1);
        CHECK(td_proc_log_count(log, " records/s, about ") >= 1);
        /* of the roster's end offset at the start: 2 households and the
         * 5,000, each transaction with its commit marker */
        CHECK(td_proc_log_count(log, " of 5005 records), ") >= 1);
        CHECK(atomic_load(&notify_loading) >= 1);
    }
    {
        /* The state as run 1 left it, to roll back to below. */
        char cmd[8500];
        snprintf(cmd, sizeof(cmd), "cp -a %s/state %s/state.run1", dir, dir);
        CHECK(system(cmd) == 0);
    }

    {
        for (int i = 0; i < s.n; i++)
            if (strcmp(s.rule[i], "dibao-tekun") == 0)
                snprintf(dibao_id, sizeof(dibao_id), "%.64s", s.id[i]);
        outcome(dibao_id, "王五", "王五", "OUT-1");   /* one person: rejected */
        outcome(dibao_id, "王五", "赵六", "OUT-2");   /* closes the alert */
        outcome(dibao_id, "王五", "赵六", "OUT-3");   /* closed already: rejected */
    }
    medical(P_HEAD, day(42), 50000, "YB-4");
    dibao(P_OTHER, VILLAGE2, day(43), "MZ-2");
    pid = spawn(config, log);
    CHECK(td_proc_wait_log(log, "notice: ready:", 2, 60000));
    kill(pid, SIGHUP); /* reloads the rules file; the daemon goes on */
    read_topic(t_alerts, false, &s, 4, 0, 90000);
    fprintf(stderr, "after restart: %d alerts, %d distinct (%.1fs)\n", s.total, s.n,
            (double)(td_time_mono_ms() - t0) / 1000.0);
    /* 3 ALERTs and the CLOSED message of the dismissed one. */
    CHECK(s.total == 4);
    CHECK(s.n == 4);
    for (int i = 0; i < s.n; i++)
        CHECK(s.count[i] == 1);
    CHECK(rule_count(&s, "dibao-tekun") == 3);
    CHECK(rule_count(&s, "medical-oop-365d") == 1);
    CHECK(s.bad_key == 0);
    read_topic(t_dlq, true, &s, 2, 0, 60000);
    CHECK(s.total == 2);
    CHECK(s.bad_key == 0);
    CHECK(td_proc_wait_log(log, "notice: rules reloaded", 1, 10000));
    status = td_proc_stop(pid, SIGTERM, 60000);
    CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* A crash between the Kafka commit and the LMDB write, as run 2 would
     * have left it: LMDB rolled back to run 1's state while the group's
     * committed offsets are run 2's. The records of run 2 are re-processed
     * in restore mode (nothing produced); P_OTHER's open 低保 alert is known
     * again, so MZ-4 is suppressed; MZ-5 is a new alert. */
    {
        char cmd[8500];
        snprintf(cmd, sizeof(cmd), "rm -rf %s/state && mv %s/state.run1 %s/state", dir, dir, dir);
        CHECK(system(cmd) == 0);
    }
    dibao(P_OTHER, VILLAGE2, day(52), "MZ-4");
    dibao(P_OTHER4, VILLAGE2, day(53), "MZ-5");
    pid = spawn(config, log);
    read_topic(t_alerts, false, &s, 5, 0, 90000);
    fprintf(stderr, "after a rollback of the state: %d alerts, %d distinct (%.1fs)\n", s.total,
            s.n, (double)(td_time_mono_ms() - t0) / 1000.0);
    CHECK(s.total == 5);
    CHECK(s.n == 5);
    for (int i = 0; i < s.n; i++)
        CHECK(s.count[i] == 1);
    CHECK(rule_count(&s, "dibao-tekun") == 4);
    status = td_proc_stop(pid, SIGTERM, 60000);
    CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* The state directory lost: rebuilt from the roster and by replaying the
     * department topics in restore mode (nothing produced again); the open
     * medical alert is known again, so YB-5 is suppressed. */
    {
        char cmd[4300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s/state", dir);
        CHECK(system(cmd) == 0);
    }
    medical(P_HEAD, day(47), 10000, "YB-5");
    dibao(P_OTHER3, VILLAGE2, day(48), "MZ-3");
    pid = spawn(config, log);
    read_topic(t_alerts, false, &s, 6, 0, 90000);
    fprintf(stderr, "after losing the state: %d alerts, %d distinct (%.1fs)\n", s.total, s.n,
            (double)(td_time_mono_ms() - t0) / 1000.0);
    CHECK(s.total == 6);
    CHECK(s.n == 6);
    for (int i = 0; i < s.n; i++)
        CHECK(s.count[i] == 1);
    CHECK(rule_count(&s, "medical-oop-365d") == 1);
    /* the rebuild said how far it was */
    CHECK(td_proc_log_count(log, "notice: restoring the state: ") >= 1);
    {
        char cmd[4400];
        snprintf(cmd, sizeof(cmd), "grep -m1 'restoring the state: ' %s >&2", log);
        if (system(cmd) != 0)
            fprintf(stderr, "(no restore progress line)\n");
    }

    /* 12. Income below the line from the roster itself, once. */
    household_ex("H3", P_H3, "ORDINARY", 500000, day(50));
    household_ex("H3", P_H3, "ORDINARY", 500000, day(50));
    read_topic(t_alerts, false, &s, 7, 0, 90000);
    fprintf(stderr, "after a household below the line: %d alerts, %d distinct (%.1fs)\n",
            s.total, s.n, (double)(td_time_mono_ms() - t0) / 1000.0);
    CHECK(s.total == 7);
    CHECK(s.n == 7);
    CHECK(rule_count(&s, "income-below-line") == 1);
    CHECK(s.overdue == 0);

    /* 13. The injected clock: 14 days ahead, every open alert is overdue
     * (raised today, due 2 working days later; MZ-1's was closed); a second
     * tick later that day warns nothing more. */
    tick((int64_t)time(NULL) * 1000 + 14 * 86400000LL);
    tick((int64_t)time(NULL) * 1000 + 14 * 86400000LL + 1000);
    read_topic(t_alerts, false, &s, 7, 5, 90000);
    fprintf(stderr, "after the clock moved on: %d overdue warnings, %d distinct (%.1fs)\n",
            s.overdue, s.n_overdue, (double)(td_time_mono_ms() - t0) / 1000.0);
    CHECK(s.total == 7);
    CHECK(s.overdue == 5);
    CHECK(s.n_overdue == 5);
    CHECK(s.overdue_evidence == 5); /* the snapshots carry the ALERT's evidence */
    for (int i = 0; i < s.n_overdue; i++) {
        /* an ALERT that was not CLOSED */
        char alert[80], closed[80];
        bool raised = false, was_closed = false;
        snprintf(alert, sizeof(alert), "%s/1", s.overdue_id[i]);
        snprintf(closed, sizeof(closed), "%s/3", s.overdue_id[i]);
        for (int j = 0; j < s.n; j++) {
            raised = raised || strcmp(s.id[j], alert) == 0;
            was_closed = was_closed || strcmp(s.id[j], closed) == 0;
        }
        CHECK(raised && !was_closed);
    }

    /* 13b. Bounded state, with store.closed_retention 20d: MZ-1's alert,
     * dismissed on the first stream day, is still in the alert index 14
     * days later (an outcome for it: not open), and gone once the clock is
     * 20 days on (an outcome for it: unknown, the reason says why). */
    outcome(dibao_id, "王五", "赵六", "OUT-4");
    CHECK(td_proc_wait_log(log, "rejected (verify)", 3, 60000));
    CHECK(td_proc_log_count(log, "pruned from the alert index") == 0);
    tick((int64_t)time(NULL) * 1000 + 20 * 86400000LL);
    outcome(dibao_id, "王五", "赵六", "OUT-5");
    CHECK(td_proc_wait_log(log, "rejected (verify): unknown alert: not raised by this matchd, "
                                "or closed more than store.closed_retention ago (by the stream "
                                "clock) and pruned from the alert index", 1, 60000));
    CHECK(td_proc_log_count(log, "rejected (verify)") == 4);
    fprintf(stderr, "an outcome for a pruned alert: dead-lettered (%.1fs)\n",
            (double)(td_time_mono_ms() - t0) / 1000.0);

    /* 14. A second instance of the same group (its own state directory):
     * static membership and the transactional.id fence the first, which
     * stops with an error; the second goes on and the queue stays exactly
     * once (a new 低保 application alerts once). */
    {
        char config2[4300], log2[4300], cmd[13000];
        pid_t pid2;
        int64_t until;
        bool first_exited = false;
        snprintf(config2, sizeof(config2), "%s/matchd2.yaml", dir);
        snprintf(log2, sizeof(log2), "%s/matchd2.log", dir);
        snprintf(cmd, sizeof(cmd), "sed 's|^state_dir: .*|state_dir: %s/state2|' %s > %s", dir,
                 config, config2);
        CHECK(system(cmd) == 0);
        pid2 = spawn(config2, log2);
        until = td_time_mono_ms() + 90000;
        while (td_time_mono_ms() < until && !first_exited) {
            if (waitpid(pid, &status, WNOHANG) == pid)
                first_exited = true;
            else
                usleep(100000);
        }
        fprintf(stderr, "a second instance started: the first %s (%.1fs)\n",
                first_exited ? "stopped" : "is still running",
                (double)(td_time_mono_ms() - t0) / 1000.0);
        CHECK(first_exited);
        if (first_exited)
            CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0);
        else
            td_proc_stop(pid, SIGTERM, 60000);
        CHECK(td_proc_wait_log(log, "fenced", 1, 10000) || td_proc_wait_log(log, "Fenced", 1, 1000));
        CHECK(td_proc_wait_log(log2, "notice: ready:", 1, 60000));
        dibao(P_OTHER5, VILLAGE2, day(60), "MZ-6");
        read_topic(t_alerts, false, &s, 8, 5, 90000);
        fprintf(stderr, "after the second instance took over: %d alerts, %d distinct, %d "
                "overdue (%.1fs)\n", s.total, s.n, s.overdue,
                (double)(td_time_mono_ms() - t0) / 1000.0);
        CHECK(s.total == 8);
        CHECK(s.n == 8);
        CHECK(s.overdue == 5);
        for (int i = 0; i < s.n; i++)
            CHECK(s.count[i] == 1);
        pid = pid2;
    }

    /* 15. A person first seen off the roster joins a household: his earlier
     * spending counts in the household's window (3,000 before + 2,500 after
     * joining >= 5,000 for a 脱贫户); alone, 2,500 would not alert. */
    medical(P_JOINS, day(55), 300000, "YB-6");
    household_ex("H4", P_JOINS, "POVERTY_ALLEVIATED", 3000000, day(56));
    medical(P_JOINS, day(57), 250000, "YB-7");
    read_topic(t_alerts, false, &s, 9, 5, 90000);
    fprintf(stderr, "after a person joined a household: %d alerts, %d distinct (%.1fs)\n",
            s.total, s.n, (double)(td_time_mono_ms() - t0) / 1000.0);
    CHECK(s.total == 9);
    CHECK(s.n == 9);
    CHECK(rule_count(&s, "medical-oop-365d") == 2);

    /* 16. Bounded state: P_JOINS's own state, left with nothing but its
     * floor once his history moved into H4, is deleted; a tick 900 days on
     * (past the longest window plus lateness, 730 days, and the dismissal's
     * 90-day suppression) sweeps every state without an open alert: the
     * spent index is empty and fewer states are left; H4, whose alert is
     * open, stays. */
    {
        char state2[4300];
        snprintf(state2, sizeof(state2), "%s/state2", dir);
        long before = lmdb_entries(state2, "state"), after = -1, spent = -1;
        CHECK(!lmdb_has_key(state2, "state", "person:" P_JOINS));
        CHECK(lmdb_has_key(state2, "state", "H4"));
        tick((int64_t)time(NULL) * 1000 + 900 * 86400000LL);
        for (int64_t until = td_time_mono_ms() + 60000; td_time_mono_ms() < until;) {
            spent = lmdb_entries(state2, "spent");
            after = lmdb_entries(state2, "state");
            if (spent == 0)
                break;
            usleep(200000);
        }
        fprintf(stderr, "a tick 900 days on: states %ld -> %ld, spent index %ld (%.1fs)\n",
                before, after, spent, (double)(td_time_mono_ms() - t0) / 1000.0);
        CHECK(before > 0 && spent == 0 && after >= 0 && after < before);
        CHECK(lmdb_has_key(state2, "state", "H4")); /* its alert is open: kept */
    }
    status = td_proc_stop(pid, SIGTERM, 60000);
    CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);

    {
        char cmd[4300];
        if (failures)
            snprintf(cmd, sizeof(cmd), "cat %s >&2", log);
        else if (getenv("TD_KEEP_TMP"))
            snprintf(cmd, sizeof(cmd), "echo kept %s >&2", dir);
        else
            snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "(%s failed)\n", cmd);
    }
    td_kafka_destroy(producer);
    td_avro_registry_free(reg);
    fprintf(stderr, "%s (%.1fs)\n", failures ? "FAILED" : "ok",
            (double)(td_time_mono_ms() - t0) / 1000.0);
    return failures ? 1 : 0;
}
