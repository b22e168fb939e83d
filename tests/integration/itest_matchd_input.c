/* tuodi-matchd and hostile input, against the real broker (KAFKA_BOOTSTRAP);
 * issue 10, defects 3 and 4.
 *
 *   1. Bad records on the roster (random bytes, an unknown schema
 *      fingerprint, a truncated Household, a Household whose id is not its
 *      key, one with an empty member key) and on the medical topic (random
 *      bytes, an unknown fingerprint, a truncated settlement, an empty person
 *      key, a person key of 401 bytes holding identity numbers), each
 *      followed by valid records: every bad record is on its input's DLQ
 *      exactly once, as read (key and value), with tuodi.reason, tuodi.stage,
 *      tuodi.dataset and its source topic/partition/offset, no identity
 *      number in any reason; the valid records still alert.
 *   2. The rules file emptied (an interrupted write), SIGHUP: refused, logged
 *      with the file's name; a 低保 application still alerts.
 *   3. A start with that empty file: refused (exit 1, the file named).
 *   4. Exactly once across a crash between the Kafka and the LMDB commit:
 *      more bad records processed by run 2 (one of 999,800 bytes, whose dead
 *      letter is cut to fit in a Kafka message), LMDB rolled back to run 1's,
 *      run 3 re-processes them in restore mode: no second dead letter. */
#include "td_avro.h"
#include "td_kafka.h"
#include "td_proc.h"
#include "td_time.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

static const char *bootstrap;
static char build_root[4096], src_root[4000], schemas_dir[4200];
static td_avro_registry *reg;
static rd_kafka_t *producer;
static char t_roster[128], t_med[128], t_civil[128], t_hr[128], t_ver[128], t_clock[128],
    t_dlq_roster[128], t_dlq_med[128], prefix[128], t_alerts[160];

/* ---- producing ---- */

/* What went into a topic in one transaction, by offset (the topics are
 * fresh and written only here, one partition: offsets are 0, 1, ... then
 * the transaction's marker). */
typedef struct sent {
    int64_t offset;
    char key[512];
    unsigned char *value;
    size_t len;
    const char *stage;  /* the dead letter's expected stage; NULL: a valid record */
    const char *reason; /* a phrase its reason holds */
} sent;

static sent sent_v[64];
static int n_sent;

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

static void txn_begin(void)
{
    td_error err = {0};
    FATAL(td_kafka_txn_begin(producer, &err) == 0);
}

static void txn_commit(void)
{
    td_error err = {0};
    if (td_kafka_txn_commit(producer, 30000, &err) < 0) {
        fprintf(stderr, "commit: %s\n", err.msg);
        exit(1);
    }
}

/* Produces key/value to topic in the open transaction and remembers it as
 * the record at offset (stage NULL: valid). */
static void put(const char *topic, int64_t offset, const char *key, const void *value, size_t len,
                const char *stage, const char *reason)
{
    rd_kafka_vu_t vu[4];
    rd_kafka_error_t *xe;
    sent *s = &sent_v[n_sent++];

    FATAL(n_sent <= 64);
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
    xe = rd_kafka_produceva(producer, vu, 4);
    FATAL(xe == NULL);
    s->offset = offset;
    snprintf(s->key, sizeof(s->key), "%s", key);
    s->value = malloc(len ? len : 1);
    FATAL(s->value);
    memcpy(s->value, value, len);
    s->len = len;
    s->stage = stage;
    s->reason = reason;
}

/* "YYYY-MM-DD" of today (UTC) - 200 + n days. */
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

static void household_json(char *json, size_t size, const char *hid, const char *person)
{
    snprintf(json, size,
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
}

static void medical_json(char *json, size_t size, const char *person, const char *date,
                         long long oop_fen, const char *id)
{
    snprintf(json, size,
             "{\"person_key\":\"%s\",\"name\":{\"string\":\"张三\"},\"village_code\":null,"
             "\"settlement_date\":\"%s\",\"kind\":\"INPATIENT\",\"total_cost_fen\":%lld,"
             "\"fund_paid_fen\":0,\"out_of_pocket_fen\":%lld,\"major_disease\":false,"
             "\"source\":{\"department\":\"MEDICAL_INSURANCE\",\"connector_instance\":"
             "\"medical\",\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             person, date, oop_fen, oop_fen, id);
}

/* A valid record of schema from json, in the open transaction. */
static void put_json(const char *topic, int64_t offset, const char *key, const char *schema,
                     const char *json)
{
    td_avro_buf b = TD_AVRO_BUF_INIT;
    encode_json(schema, json, &b);
    put(topic, offset, key, b.data, b.len, NULL, NULL);
    td_avro_buf_done(&b);
}

/* size random bytes (from a fixed seed: the same every run). */
static void put_random(const char *topic, int64_t offset, const char *key, unsigned seed,
                       size_t size)
{
    unsigned char *v = malloc(size);
    FATAL(v);
    srand(seed);
    for (size_t i = 0; i < size; i++)
        v[i] = (unsigned char)rand();
    v[0] = 'x'; /* not the single-object magic by chance */
    put(topic, offset, key, v, size, "decode", "");
    free(v);
}

/* A single-object header with a fingerprint no schema has, then a body. */
static void put_unknown_fp(const char *topic, int64_t offset, const char *key)
{
    static const unsigned char v[] = {TD_AVRO_MAGIC_0, TD_AVRO_MAGIC_1, 0xee, 0xff, 0xc0, 0x00,
                                      0xef, 0xbe, 0xad, 0xde, 0x02, 0x41, 0x42};
    put(topic, offset, key, v, sizeof(v), "decode", "unknown schema fingerprint");
}

/* A valid record cut in half. */
static void put_truncated(const char *topic, int64_t offset, const char *key, const char *schema,
                          const char *json)
{
    td_avro_buf b = TD_AVRO_BUF_INIT;
    encode_json(schema, json, &b);
    put(topic, offset, key, b.data, b.len / 2, "decode", "");
    td_avro_buf_done(&b);
}

/* Valid Avro that matchd cannot use. */
static void put_invalid(const char *topic, int64_t offset, const char *key, const char *schema,
                        const char *json, const char *reason)
{
    td_avro_buf b = TD_AVRO_BUF_INIT;
    encode_json(schema, json, &b);
    put(topic, offset, key, b.data, b.len, "validate", reason);
    td_avro_buf_done(&b);
}

/* ---- reading ---- */

typedef struct dl {
    char key[512];
    unsigned char *value;
    size_t len;
    char reason[1024], stage[32], dataset[32], topic[160], partition[16], offset[24],
        source_bytes[24], truncated[8];
} dl;

typedef struct dls {
    dl v[64];
    int n;
} dls;

static void hdr(rd_kafka_headers_t *h, const char *name, char *buf, size_t size)
{
    const void *p = NULL;
    size_t n = 0;
    buf[0] = '\0';
    if (h && rd_kafka_header_get_last(h, name, &p, &n) == 0 && p)
        snprintf(buf, size, "%.*s", (int)n, (const char *)p);
}

/* Reads topic (one partition) from the start until want messages came, then
 * 3 s more (anything more would be a duplicate), or timeout_ms. Alerts:
 * counts only (dl NULL) and rule ids into rules. */
static int read_all(const char *topic, dls *out, int want, int timeout_ms, char rules[][64])
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *c = NULL;
    td_error err = {0};
    int64_t until = td_time_mono_ms() + timeout_ms, quiet_until = -1;
    char group[128];
    int n = 0;
    td_avro_decoder *dec = NULL;

    if (out)
        memset(out, 0, sizeof(*out));
    snprintf(group, sizeof(group), "itest-matchd-input-%d-%" PRId64, (int)getpid(),
             td_time_mono_ms());
    FATAL(td_avro_decoder_new(reg, td_avro_registry_find_name(reg, "cn.tuodi.Alert"), &dec,
                              &err) == 0);
    FATAL(td_kafka_consumer_conf_new(bootstrap, group, &props, &conf, &err) == 0);
    FATAL(td_kafka_new(RD_KAFKA_CONSUMER, conf, &c, &err) == 0);
    {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
        FATAL(rd_kafka_assign(c, l) == 0);
        rd_kafka_topic_partition_list_destroy(l);
    }
    while (td_time_mono_ms() < until && (quiet_until < 0 || td_time_mono_ms() < quiet_until)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        if (!m)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (out && out->n < 64) {
            dl *d = &out->v[out->n++];
            rd_kafka_headers_t *h = NULL;
            rd_kafka_message_headers(m, &h);
            snprintf(d->key, sizeof(d->key), "%.*s", (int)m->key_len,
                     m->key ? (const char *)m->key : "");
            d->value = malloc(m->len ? m->len : 1);
            FATAL(d->value);
            if (m->len)
                memcpy(d->value, m->payload, m->len);
            d->len = m->len;
            hdr(h, "tuodi.reason", d->reason, sizeof(d->reason));
            hdr(h, "tuodi.stage", d->stage, sizeof(d->stage));
            hdr(h, "tuodi.dataset", d->dataset, sizeof(d->dataset));
            hdr(h, "tuodi.topic", d->topic, sizeof(d->topic));
            hdr(h, "tuodi.partition", d->partition, sizeof(d->partition));
            hdr(h, "tuodi.offset", d->offset, sizeof(d->offset));
            hdr(h, "tuodi.source_bytes", d->source_bytes, sizeof(d->source_bytes));
            hdr(h, "tuodi.truncated", d->truncated, sizeof(d->truncated));
        } else if (rules && n < 16) {
            avro_value_t *v, f;
            const char *rule = NULL;
            size_t size;
            rules[n][0] = '\0';
            if (td_avro_decode(dec, m->payload, m->len, &v, &err) == 0 &&
                avro_value_get_by_name(v, "rule_id", &f, NULL) == 0 &&
                avro_value_get_string(&f, &rule, &size) == 0)
                snprintf(rules[n], 64, "%s", rule);
        }
        n++;
        if (n >= want && quiet_until < 0)
            quiet_until = td_time_mono_ms() + 3000;
        rd_kafka_message_destroy(m);
    }
    td_kafka_destroy(c);
    td_avro_decoder_free(dec);
    return n;
}

static void dls_free(dls *d)
{
    for (int i = 0; i < d->n; i++)
        free(d->v[i].value);
    d->n = 0;
}

/* A run of 15 or more digits, or a test identity number's prefix. */
static bool has_id(const char *s)
{
    size_t run = 0;
    if (strstr(s, "3404"))
        return true;
    for (; *s; s++) {
        run = isdigit((unsigned char)*s) ? run + 1 : 0;
        if (run >= 15)
            return true;
    }
    return false;
}

/* Every bad record sent to topic is on its DLQ exactly once, as sent, with
 * its headers; nothing else is. */
static void dl_check(const dls *d, const char *topic, const char *dataset)
{
    int bad = 0;
    for (int i = 0; i < n_sent; i++) {
        const sent *s = &sent_v[i];
        char off[24];
        int hits = 0;
        if (!s->stage || !strstr(s->key, dataset)) /* the keys name their topic's dataset */
            continue;
        bad++;
        snprintf(off, sizeof(off), "%" PRId64, s->offset);
        for (int j = 0; j < d->n; j++) {
            const dl *x = &d->v[j];
            if (strcmp(x->offset, off) != 0)
                continue;
            hits++;
            fprintf(stderr, "  %s [%s] @%s (%s): %s\n", x->topic, x->partition, x->offset,
                    x->stage, x->reason);
            CHECK(strcmp(x->topic, topic) == 0);
            CHECK(strcmp(x->partition, "0") == 0);
            CHECK(strcmp(x->stage, s->stage) == 0);
            CHECK(strcmp(x->dataset, strstr(dataset, "roster") ? "roster" : "medical_insurance") ==
                  0);
            CHECK(x->reason[0] != '\0');
            CHECK(strstr(x->reason, s->reason) != NULL);
            CHECK(!has_id(x->reason));
            CHECK(strcmp(x->key, s->key) == 0);
            CHECK(strtoull(x->source_bytes, NULL, 10) == s->len);
            if (s->len < 900000) {
                CHECK(x->len == s->len && memcmp(x->value, s->value, s->len) == 0);
                CHECK(x->truncated[0] == '\0');
            } else { /* too big with the headers: cut to fit in a Kafka message */
                CHECK(x->len < s->len && x->len > s->len - 2000);
                CHECK(memcmp(x->value, s->value, x->len) == 0);
                CHECK(strcmp(x->truncated, "true") == 0);
            }
        }
        if (hits != 1)
            fprintf(stderr, "%s @%s: %d dead letters\n", topic, off, hits);
        CHECK(hits == 1);
    }
    CHECK(d->n == bad);
}

/* ---- the daemon ---- */

static pid_t spawn(const char *config, const char *log)
{
    char bin[4200];
    snprintf(bin, sizeof(bin), "%s/daemon/tuodi-matchd", build_root);
    return td_proc_spawn_config(bin, config, log);
}

static double secs(int64_t t0)
{
    return (double)(td_time_mono_ms() - t0) / 1000.0;
}

int main(void)
{
    char dir[] = "/tmp/itest-matchd-input-XXXXXX", config[4200], log[4200], rules[4200],
        uniq[64], cmd[13000], json[4096], long_key[512], rl[16][64];
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    td_kafka_topic_spec specs[5];
    const char *names[5];
    td_error err = {0};
    dls d;
    pid_t pid;
    int status, n;
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

    snprintf(uniq, sizeof(uniq), "itmi%d%" PRId64, (int)getpid(), t0 % 100000);
    snprintf(t_roster, sizeof(t_roster), "%s.roster", uniq);
    snprintf(t_med, sizeof(t_med), "%s.medical", uniq);
    snprintf(t_civil, sizeof(t_civil), "%s.civil", uniq);
    snprintf(t_hr, sizeof(t_hr), "%s.hr", uniq);
    snprintf(t_ver, sizeof(t_ver), "%s.verifications.340421", uniq);
    snprintf(t_clock, sizeof(t_clock), "%s.clock", uniq);
    snprintf(t_dlq_roster, sizeof(t_dlq_roster), "%s.dlq.roster", uniq);
    snprintf(t_dlq_med, sizeof(t_dlq_med), "%s.dlq.medical_insurance", uniq);
    snprintf(prefix, sizeof(prefix), "%s.alerts.", uniq);
    snprintf(t_alerts, sizeof(t_alerts), "%s340421", prefix);

    FATAL(td_kafka_producer_conf_new(bootstrap, "itest-matchd-input-producer", &props, &conf,
                                     &err) == 0);
    FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &producer, &err) == 0);
    names[0] = t_roster; names[1] = t_med; names[2] = t_civil; names[3] = t_hr; names[4] = t_ver;
    memset(specs, 0, sizeof(specs));
    for (int i = 0; i < 5; i++) {
        specs[i].name = names[i];
        specs[i].partitions = 1;
        specs[i].replication_factor = 1;
    }
    if (td_kafka_topics_ensure(producer, specs, 5, 60000, &err) < 0 ||
        td_kafka_txn_init(producer, 60000, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }

    snprintf(config, sizeof(config), "%s/matchd.yaml", dir);
    snprintf(log, sizeof(log), "%s/matchd.log", dir);
    snprintf(rules, sizeof(rules), "%s/rules.yaml", dir);
    snprintf(cmd, sizeof(cmd), "cp %s/deploy/rules/huainan-2023.yaml %s", src_root, rules);
    FATAL(system(cmd) == 0);
    f = fopen(config, "w");
    FATAL(f);
    fprintf(f,
            "kafka:\n  bootstrap.servers: %s\n"
            "group_id: %s\nstate_dir: %s/state\nrules: %s\n"
            "schemas_dir: %s\nlog_level: info\n"
            "topics:\n  roster: %s\n  medical_insurance: %s\n  civil_affairs: %s\n"
            "  human_resources: %s\n  verifications_prefix: %s.verifications.\n"
            "  dlq_roster: %s\n  dlq_medical_insurance: %s\n  dlq_civil_affairs: %s.dlq.civil\n"
            "  dlq_human_resources: %s.dlq.hr\n  dlq_verifications: %s.dlq.verifications\n"
            "  alerts_prefix: %s\n  alert_partitions: 1\n  clock: %s\n"
            "transaction:\n  max_records: 100\n  max_interval: 200ms\n",
            bootstrap, uniq, dir, rules, schemas_dir, t_roster, t_med, t_civil, t_hr, uniq,
            t_dlq_roster, t_dlq_med, uniq, uniq, uniq, prefix, t_clock);
    fclose(f);

    /* 1. Bad records, each kind, then valid ones; the keys name the topic's
     * dataset (dl_check tells the two topics apart by them). */
    txn_begin();
    put_random(t_roster, 0, "roster-random", 1, 200);
    put_unknown_fp(t_roster, 1, "roster-fp");
    household_json(json, sizeof(json), "roster-cut", P_HEAD);
    put_truncated(t_roster, 2, "roster-cut", "cn.tuodi.Household", json);
    household_json(json, sizeof(json), "roster-other-id", P_HEAD);
    put_invalid(t_roster, 3, "roster-not-its-id", "cn.tuodi.Household", json,
                "household_id differs from its key");
    household_json(json, sizeof(json), "roster-no-member", "");
    put_invalid(t_roster, 4, "roster-no-member", "cn.tuodi.Household", json,
                "members[0].person_key is empty");
    household_json(json, sizeof(json), "H1", P_HEAD);
    put_json(t_roster, 5, "H1", "cn.tuodi.Household", json);
    household_json(json, sizeof(json), "H2", P_H2);
    put_json(t_roster, 6, "H2", "cn.tuodi.Household", json);
    txn_commit();

    txn_begin();
    put_random(t_med, 0, "medical-random", 2, 200);
    put_unknown_fp(t_med, 1, "medical-fp");
    medical_json(json, sizeof(json), P_HEAD, day(0), 100, "YB-cut");
    put_truncated(t_med, 2, "medical-cut", "cn.tuodi.MedicalSettlement", json);
    medical_json(json, sizeof(json), "", day(0), 100, "YB-nokey");
    put_invalid(t_med, 3, "medical-nokey", "cn.tuodi.MedicalSettlement", json, "no person_key");
    memset(long_key, 0, sizeof(long_key));
    for (int i = 0; i < 23; i++)
        memcpy(long_key + i * 18, P_HEAD, 18);
    long_key[401] = '\0';
    medical_json(json, sizeof(json), long_key, day(0), 100, "YB-long");
    put_invalid(t_med, 4, "medical-long", "cn.tuodi.MedicalSettlement", json,
                "longer than 400 bytes");
    medical_json(json, sizeof(json), P_HEAD, day(1), 300000, "YB-1");
    put_json(t_med, 5, P_HEAD, "cn.tuodi.MedicalSettlement", json);
    medical_json(json, sizeof(json), P_HEAD, day(28), 250000, "YB-2");
    put_json(t_med, 6, P_HEAD, "cn.tuodi.MedicalSettlement", json);
    txn_commit();

    pid = spawn(config, log);
    n = read_all(t_alerts, NULL, 1, 90000, rl);
    fprintf(stderr, "run 1: %d alerts (%.1fs)\n", n, secs(t0));
    CHECK(n == 1);
    CHECK(n >= 1 && strcmp(rl[0], "medical-oop-365d") == 0);
    read_all(t_dlq_roster, &d, 5, 60000, NULL);
    fprintf(stderr, "roster dead letters: %d\n", d.n);
    dl_check(&d, t_roster, "roster");
    dls_free(&d);
    read_all(t_dlq_med, &d, 5, 60000, NULL);
    fprintf(stderr, "medical dead letters: %d (%.1fs)\n", d.n, secs(t0));
    dl_check(&d, t_med, "medical");
    dls_free(&d);
    CHECK(td_proc_wait_log(log, "rejected (decode): unknown schema fingerprint", 2, 1000));

    /* 2. The rules file emptied, SIGHUP: refused, the rules stay. */
    f = fopen(rules, "w");
    FATAL(f);
    fclose(f);
    kill(pid, SIGHUP);
    snprintf(cmd, sizeof(cmd), "rules not reloaded, keeping the current ones: %s:1:1: no enabled "
             "rule", rules);
    CHECK(td_proc_wait_log(log, cmd, 1, 10000));
    CHECK(!td_proc_wait_log(log, "rules reloaded from", 1, 100));
    {
        char civil[2048];
        snprintf(civil, sizeof(civil),
                 "{\"event_type\":\"DIBAO_APPLIED\",\"person_key\":\"%s\",\"name\":null,"
                 "\"village_code\":{\"string\":\"%s\"},\"event_date\":\"%s\",\"amount_fen\":null,"
                 "\"disability_grade\":null,\"source\":{\"department\":\"CIVIL_AFFAIRS\","
                 "\"connector_instance\":\"civil\",\"record_id\":\"MZ-1\",\"location\":null,"
                 "\"row\":null}}", P_H2, VILLAGE, day(30));
        txn_begin();
        put_json(t_civil, 0, "civil-valid", "cn.tuodi.CivilAffairsEvent", civil);
        txn_commit();
    }
    n = read_all(t_alerts, NULL, 2, 60000, rl);
    fprintf(stderr, "after an empty rules file and SIGHUP: %d alerts (%.1fs)\n", n, secs(t0));
    CHECK(n == 2);
    CHECK(n >= 2 && strcmp(rl[1], "dibao-tekun") == 0);
    status = td_proc_stop(pid, SIGTERM, 60000);
    CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    snprintf(cmd, sizeof(cmd), "cp -a %s/state %s/state.run1", dir, dir);
    CHECK(system(cmd) == 0);

    /* 3. A start with the empty rules file is refused, naming it. */
    pid = spawn(config, log);
    {
        int64_t until = td_time_mono_ms() + 30000;
        bool exited = false;
        while (!exited && td_time_mono_ms() < until) {
            exited = waitpid(pid, &status, WNOHANG) == pid;
            if (!exited)
                usleep(50000);
        }
        if (!exited)
            status = td_proc_stop(pid, SIGTERM, 10000);
        CHECK(exited && WIFEXITED(status) && WEXITSTATUS(status) == 1);
    }
    snprintf(cmd, sizeof(cmd), "%s:1:1: no enabled rule", rules);
    CHECK(td_proc_wait_log(log, cmd, 2, 1000));

    /* 4. Run 2 dead-letters two more; LMDB is then rolled back to run 1's
     * and run 3 re-processes them in restore mode: no second dead letter. */
    snprintf(cmd, sizeof(cmd), "cp %s/deploy/rules/huainan-2023.yaml %s", src_root, rules);
    FATAL(system(cmd) == 0);
    txn_begin();
    put_random(t_roster, 8, "roster-random-2", 3, 200); /* 7: the first transaction's marker */
    txn_commit();
    txn_begin();
    /* as big as a producer with Kafka's defaults sends: with the dead
     * letter's headers it would not fit */
    put_random(t_med, 8, "medical-random-2", 4, 999800);
    txn_commit();
    pid = spawn(config, log);
    read_all(t_dlq_med, &d, 6, 60000, NULL);
    CHECK(d.n == 6);
    dls_free(&d);
    status = td_proc_stop(pid, SIGTERM, 60000);
    CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s/state && mv %s/state.run1 %s/state", dir, dir, dir);
    CHECK(system(cmd) == 0);
    pid = spawn(config, log);
    CHECK(td_proc_wait_log(log, "restore done", 1, 60000));
    txn_begin();
    put_random(t_roster, 10, "roster-random-3", 5, 200);
    txn_commit();
    read_all(t_dlq_roster, &d, 7, 60000, NULL);
    fprintf(stderr, "after a restore: %d roster dead letters (%.1fs)\n", d.n, secs(t0));
    dl_check(&d, t_roster, "roster");
    dls_free(&d);
    read_all(t_dlq_med, &d, 6, 60000, NULL);
    dl_check(&d, t_med, "medical");
    dls_free(&d);
    n = read_all(t_alerts, NULL, 2, 60000, rl);
    CHECK(n == 2);
    status = td_proc_stop(pid, SIGTERM, 60000);
    CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);

    if (failures)
        snprintf(cmd, sizeof(cmd), "cat %s >&2", log);
    else
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "(%s failed)\n", cmd);
    for (int i = 0; i < n_sent; i++)
        free(sent_v[i].value);
    td_kafka_destroy(producer);
    td_avro_registry_free(reg);
    fprintf(stderr, "%s (%.1fs)\n", failures ? "FAILED" : "ok", secs(t0));
    return failures ? 1 : 0;
}
