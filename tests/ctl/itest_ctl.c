/* tuodictl against the real Kafka broker (KAFKA_BOOTSTRAP), each test under
 * its own topic prefix:
 *  - topics create: --dry-run creates nothing; a run creates every topic with
 *    its partitions and cleanup policy; a rerun is "exists, ok"; topics that
 *    exist with other partitions or another policy are a CONFLICT (exit 1);
 *  - verify produces a VerificationOutcome that decodes, keyed by alert id;
 *    against a missing topic it fails (exit 1) without creating it;
 *  - alerts and report over Alert messages (written here in a Kafka
 *    transaction, as tuodi-matchd writes them) and roster Households, in
 *    json and table form, and --follow (the program itself, SIGTERM stops it).
 */
#include "td_kafka.h"
#include "td_test.h"
#include "td_time.h"
#include "tdt.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define V1 "340421100001" /* 城关镇 中山社区居委会 */
#define V2 "340421102200" /* 新集镇 郭郢村村委会 */
#define V3 "340422100001" /* 寿县 寿春镇 南关社区居委会 */
#define PKEY "340421198001010011"

static const char *bootstrap;
static char *tmp;
static td_avro_registry *reg;

static int setup(void)
{
    char dir[4096];
    td_error err = {0};
    bootstrap = td_test_bootstrap();
    tmp = td_test_tmpdir();
    snprintf(dir, sizeof(dir), "%s/schemas", td_test_source_root());
    if (td_avro_registry_new(&reg) < 0 || td_avro_registry_load_dir(reg, dir, NULL, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    return 0;
}

static int teardown(void)
{
    td_test_rmtree(tmp);
    free(tmp);
    td_avro_registry_free(reg);
    return 0;
}

/* Writes a config for prefix and returns its path (static buffer). */
static const char *config(const char *prefix)
{
    static char path[4096];
    char text[8192];
    snprintf(path, sizeof(path), "%s/%s.yaml", tmp, prefix);
    snprintf(text, sizeof(text),
             "kafka:\n  bootstrap.servers: %s\n"
             "schemas_dir: %s/schemas\n"
             "places: %s/deploy/data/huainan-divisions.csv\n"
             "topics_file: %s/deploy/topics.yaml\n"
             "topic_prefix: %s\n"
             "replication_factor: 1\n"
             "timeout: 30s\n",
             bootstrap, td_test_source_root(), td_test_source_root(), td_test_source_root(),
             prefix);
    CU_ASSERT_FATAL(td_test_write_file(path, text) == 0);
    return path;
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

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static rd_kafka_t *producer(const char *txn_id)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_error err = {0};
    CU_ASSERT_FATAL(td_kafka_producer_conf_new(bootstrap, txn_id, &props, &conf, &err) == 0);
    CU_ASSERT_FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) == 0);
    return rk;
}

/* Partition count of topic, -1 when it does not exist. */
static int partitions_of(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    int n = -1;
    CU_ASSERT_FATAL(rd_kafka_metadata(rk, 1, NULL, &md, 10000) == 0);
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, topic) == 0 && md->topics[i].err == 0)
            n = md->topics[i].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
}

/* ---- topics create ---- */

/* How many topics the shipped deploy/topics.yaml lists (the counts below
 * follow the file, not a number that every new topic would break). */
static int shipped_topics(void)
{
    char path[4096];
    tdt_topics_file tf;
    td_error err = {0};
    int n;
    memset(&tf, 0, sizeof(tf));
    snprintf(path, sizeof(path), "%s/deploy/topics.yaml", td_test_source_root());
    CU_ASSERT_FATAL(tdt_topics_file_load(path, &tf, &err) == 0);
    n = (int)tf.ntopics;
    tdt_topics_file_free(&tf);
    CU_ASSERT(n >= 26); /* at least: roster, 7 counties' queues and outcomes, ... */
    return n;
}

/* A topic config as the broker reports it (DescribeConfigs), into buf;
 * -1 when the broker did not answer with it. */
static int topic_config(rd_kafka_t *rk, const char *topic, const char *key, char *buf,
                        size_t size)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_event_t *ev;
    int rc = -1;

    rd_kafka_DescribeConfigs(rk, &res, 1, NULL, q);
    ev = rd_kafka_queue_poll(q, 30000);
    if (ev && rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const rd_kafka_DescribeConfigs_result_t *r = rd_kafka_event_DescribeConfigs_result(ev);
        size_t nres = 0, ncfg = 0;
        const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(r, &nres);
        const rd_kafka_ConfigEntry_t **cs =
            nres == 1 ? rd_kafka_ConfigResource_configs(rs[0], &ncfg) : NULL;
        for (size_t i = 0; i < ncfg; i++)
            if (strcmp(rd_kafka_ConfigEntry_name(cs[i]), key) == 0 &&
                rd_kafka_ConfigEntry_value(cs[i])) {
                snprintf(buf, size, "%s", rd_kafka_ConfigEntry_value(cs[i]));
                rc = 0;
            }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(q);
    return rc;
}

static void test_topics_create(void)
{
    char *prefix = td_test_unique("ctl-topics");
    const char *cfg = config(prefix);
    const char *dry[] = {"tuodictl", "--config", cfg, "topics", "create", "--dry-run", NULL};
    const char *create[] = {"tuodictl", "--config", cfg, "topics", "create", NULL};
    rd_kafka_t *rk = producer(NULL);
    char *o, *e, name[256];

    CU_ASSERT_EQUAL(run(dry, &o, &e), TDT_EXIT_OK);
    CU_ASSERT_EQUAL(count(o, "would create"), shipped_topics());
    free(o);
    free(e);
    snprintf(name, sizeof(name), "%s.alerts.340421", prefix);
    CU_ASSERT_EQUAL(partitions_of(rk, name), -1); /* the dry run created nothing */

    CU_ASSERT_EQUAL(run(create, &o, &e), TDT_EXIT_OK);
    CU_ASSERT_EQUAL(count(o, "created"), shipped_topics());
    free(o);
    free(e);
    CU_ASSERT_EQUAL(partitions_of(rk, name), 3);
    snprintf(name, sizeof(name), "%s.roster.households", prefix);
    CU_ASSERT_EQUAL(partitions_of(rk, name), 6);
    /* the cleaner leaves a week of roster exports for a recovery replay */
    {
        char v[64] = "";
        CU_ASSERT_EQUAL(topic_config(rk, name, "min.compaction.lag.ms", v, sizeof(v)), 0);
        CU_ASSERT_STRING_EQUAL(v, "604800000");
        CU_ASSERT_EQUAL(topic_config(rk, name, "cleanup.policy", v, sizeof(v)), 0);
        CU_ASSERT_STRING_EQUAL(v, "compact");
    }
    snprintf(name, sizeof(name), "%s.dlq.verifications", prefix);
    CU_ASSERT_EQUAL(partitions_of(rk, name), 1);
    snprintf(name, sizeof(name), "%s.verifications.340422", prefix); /* one per county */
    CU_ASSERT_EQUAL(partitions_of(rk, name), 1);

    /* Idempotent; the configs are read back and compared. */
    CU_ASSERT_EQUAL(run(create, &o, &e), TDT_EXIT_OK);
    CU_ASSERT_EQUAL(count(o, "exists, ok"), shipped_topics());
    CU_ASSERT_EQUAL(count(o, "created"), 0);
    CU_ASSERT_PTR_NULL(strstr(o, "retention is")); /* retention as created */
    CU_ASSERT_PTR_NULL(strstr(o, "min.compaction.lag.ms is"));
    free(o);
    free(e);
    td_kafka_destroy(rk);
    free(prefix);
}

static void test_topics_conflict(void)
{
    char *prefix = td_test_unique("ctl-conflict");
    const char *cfg = config(prefix);
    const char *create[] = {"tuodictl", "--config", cfg, "topics", "create", NULL};
    rd_kafka_t *rk = producer(NULL);
    char roster[256], ver[256], alerts[256], *o, *e;
    td_kafka_props del = {0};
    td_error err = {0};
    td_kafka_topic_spec specs[2];

    snprintf(roster, sizeof(roster), "%s.roster.households", prefix);
    snprintf(ver, sizeof(ver), "%s.verifications.340421", prefix);
    snprintf(alerts, sizeof(alerts), "%s.alerts.340402", prefix);
    /* The roster not compacted (same partitions), a county's verifications
     * with 3 partitions. */
    CU_ASSERT_FATAL(td_kafka_props_add(&del, "cleanup.policy", "delete", NULL) == 0);
    specs[0] = (td_kafka_topic_spec){roster, 6, 1, &del};
    specs[1] = (td_kafka_topic_spec){ver, 3, 1, NULL};
    CU_ASSERT_FATAL(td_kafka_topics_ensure(rk, specs, 2, 30000, &err) == 0);

    CU_ASSERT_EQUAL(run(create, &o, &e), TDT_EXIT_FAILURE);
    CU_ASSERT_EQUAL(count(o, "CONFLICT"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "has cleanup.policy=delete, the topics file says compact"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "has 3 partitions, the topics file says 1"));
    CU_ASSERT_EQUAL(count(o, "created"), shipped_topics() - 2); /* the others are still created */
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "2 topics differ"));
    free(o);
    free(e);
    CU_ASSERT_EQUAL(partitions_of(rk, alerts), 3);
    CU_ASSERT_EQUAL(partitions_of(rk, ver), 3); /* left alone */
    td_kafka_props_clear(&del);
    td_kafka_destroy(rk);
    free(prefix);
}

/* A compacted roster made without min.compaction.lag.ms (as before the
 * key): reported on its line, not changed, exit 0. */
static void test_topics_lag_note(void)
{
    char *prefix = td_test_unique("ctl-lag");
    const char *cfg = config(prefix);
    char file[4200], roster[256], v[64] = "", *o, *e;
    const char *create[] = {"tuodictl", "--config", cfg, "topics", "create", "--file", file,
                            NULL};
    rd_kafka_t *rk = producer(NULL);
    td_kafka_props compact = {0};
    td_error err = {0};
    td_kafka_topic_spec spec;

    snprintf(file, sizeof(file), "%s/%s-topics.yaml", tmp, prefix);
    CU_ASSERT_FATAL(td_test_write_file(file, "topics:\n"
                                             "  - name: tuodi.roster.households\n"
                                             "    partitions: 6\n"
                                             "    cleanup_policy: compact\n"
                                             "    min_compaction_lag: 7d\n") == 0);
    snprintf(roster, sizeof(roster), "%s.roster.households", prefix);
    CU_ASSERT_FATAL(td_kafka_props_add(&compact, "cleanup.policy", "compact", NULL) == 0);
    spec = (td_kafka_topic_spec){roster, 6, 1, &compact};
    CU_ASSERT_FATAL(td_kafka_topics_ensure(rk, &spec, 1, 30000, &err) == 0);

    CU_ASSERT_EQUAL(run(create, &o, &e), TDT_EXIT_OK);
    CU_ASSERT_EQUAL(count(o, "exists, ok"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "min.compaction.lag.ms is 0, the topics file says 7d"));
    free(o);
    free(e);
    CU_ASSERT_EQUAL(topic_config(rk, roster, "min.compaction.lag.ms", v, sizeof(v)), 0);
    CU_ASSERT_STRING_EQUAL(v, "0"); /* left alone */
    td_kafka_props_clear(&compact);
    td_kafka_destroy(rk);
    free(prefix);
}

/* ---- reading a topic back ---- */

typedef struct got {
    char key[160];
    char json[8192];
    int n;
} got;

static int collect(const rd_kafka_message_t *m, void *opaque)
{
    got *g = opaque;
    td_avro_decoder *dec = NULL;
    avro_value_t *v;
    td_avro_buf b = TD_AVRO_BUF_INIT;
    td_error err = {0};
    const td_avro_schema *s = td_avro_registry_find_name(reg, "cn.tuodi.VerificationOutcome");
    g->n++;
    snprintf(g->key, sizeof(g->key), "%.*s", (int)m->key_len, (const char *)m->key);
    CU_ASSERT_FATAL(td_avro_decoder_new(reg, s, &dec, &err) == 0);
    CU_ASSERT(td_avro_decode(dec, m->payload, m->len, &v, &err) == 0);
    CU_ASSERT(td_avro_value_to_json(s, v, &b, &err) == 0);
    snprintf(g->json, sizeof(g->json), "%s", b.data ? (char *)b.data : "");
    td_avro_buf_done(&b);
    td_avro_decoder_free(dec);
    return 0;
}

/* An alert id as tuodi-matchd makes them: 64 lower-case hex characters. */
#define ID64 "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2"

static void alert(rd_kafka_t *rk, const char *topic, const char *id, const char *kind,
                  const char *village, const char *raised, const char *visit_due,
                  const char *closure, const char *supersedes, const char *severity);

static void test_verify(void)
{
    char *prefix = td_test_unique("ctl-verify");
    const char *cfg = config(prefix);
    const char *create[] = {"tuodictl", "--config", cfg, "topics", "create", NULL};
    const char *verify[] = {"tuodictl", "--config", cfg, "verify", ID64,
                            "--outcome", "identified", "--category", "marginal",
                            "--verifier", "王五", "--reviewer", "赵六",
                            "--visit-date", "2023-05-06", "--outcome-id", "OUT-1",
                            "--county", "340421", NULL};
    tdt_config c;
    td_error err = {0};
    got g;
    char *o, *e, topic[256];

    memset(&g, 0, sizeof(g));
    CU_ASSERT_FATAL(run(create, &o, &e) == TDT_EXIT_OK);
    free(o);
    free(e);
    {
        /* the alert, open on 340421's queue */
        rd_kafka_t *rk = producer(NULL);
        snprintf(topic, sizeof(topic), "%s.alerts.340421", prefix);
        alert(rk, topic, ID64, "ALERT", V1, "2023-05-04T16:00:00Z", "2023-05-09", NULL, NULL,
              "MEDIUM");
        CU_ASSERT_FATAL(rd_kafka_flush(rk, 30000) == 0);
        td_kafka_destroy(rk);
    }
    CU_ASSERT_EQUAL(run(verify, &o, &e), TDT_EXIT_OK);
    snprintf(topic, sizeof(topic), "recorded %s.verifications.340421\n", prefix);
    CU_ASSERT_PTR_NOT_NULL(strstr(o, topic)); /* the county's own topic */
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "识别为监测对象"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o, "边缘易致贫户"));
    free(o);
    free(e);

    memset(&c, 0, sizeof(c));
    CU_ASSERT_FATAL(tdt_config_load(cfg, &c, &err) == 0);
    CU_ASSERT_FATAL(tdt_config_set_prefix(&c, prefix) == 0);
    snprintf(topic, sizeof(topic), "%s.verifications.340421", prefix);
    {
        const char *topics[1] = {topic};
        CU_ASSERT(tdt_kafka_read(&c, topics, 1, false, false, collect, NULL, &g, &err) == 0);
    }
    CU_ASSERT_EQUAL(g.n, 1);
    CU_ASSERT_STRING_EQUAL(g.key, ID64); /* keyed by alert id, as matchd expects */
    CU_ASSERT_PTR_NOT_NULL(strstr(g.json, "\"outcome\":\"IDENTIFIED_AS_MONITORING_OBJECT\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(g.json, "\"cn.tuodi.MonitoringCategory\":\"MARGINAL\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(g.json, "\"verifier\":\"王五\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(g.json, "\"reviewer\":\"赵六\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(g.json, "\"visit_date\":\"2023-05-06\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(g.json, "\"record_id\":\"OUT-1\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(g.json, "\"department\":\"RURAL_REVITALIZATION\""));
    tdt_config_free(&c);

    /* Under a prefix with no topics: exit 1, and the topic is not auto-created. */
    {
        char *p2 = td_test_unique("ctl-none");
        const char *cfg2 = config(p2);
        const char *v2[] = {"tuodictl", "--config", cfg2, "verify", ID64, "--outcome",
                            "could-not-reach", "--verifier", "a", "--reviewer", "b",
                            "--county", "340421", NULL};
        rd_kafka_t *rk = producer(NULL);
        char t2[256];
        CU_ASSERT_EQUAL(run(v2, &o, &e), TDT_EXIT_FAILURE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "tuodictl topics create"));
        free(o);
        free(e);
        snprintf(t2, sizeof(t2), "%s.verifications.340421", p2);
        CU_ASSERT_EQUAL(partitions_of(rk, t2), -1);
        td_kafka_destroy(rk);
        free(p2);
    }
    free(prefix);
}

/* ---- alerts and report ---- */

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

static void produce_json(rd_kafka_t *rk, const char *topic, const char *key, const char *rec,
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

static void alert(rd_kafka_t *rk, const char *topic, const char *id, const char *kind,
                  const char *village, const char *raised, const char *visit_due,
                  const char *closure, const char *supersedes, const char *severity)
{
    char json[8192], town[16], county[8];
    snprintf(town, sizeof(town), "%.9s", village);
    snprintf(county, sizeof(county), "%.6s", village);
    snprintf(json, sizeof(json),
             "{\"alert_id\":\"%s\",\"kind\":\"%s\",\"rule_id\":\"dibao-tekun\","
             "\"rule_version\":\"1\",\"rule_name\":\"申请低保\",\"risk_code\":{\"string\":"
             "\"04\"},\"severity\":\"%s\",\"population\":\"ROSTER_MONITORED\","
             "\"household_id\":{\"string\":\"H-%s\"},\"household_type\":null,"
             "\"person_key\":{\"string\":\"" PKEY "\"},\"person_name\":{\"string\":\"李四\"},"
             "\"village_code\":{\"string\":\"%s\"},\"township_code\":{\"string\":\"%s\"},"
             "\"county_code\":{\"string\":\"%s\"},\"grid_id\":null,"
             "\"head_name\":{\"string\":\"张三\"},\"suggested_category\":null,\"evidence\":[],"
             "\"evidence_count\":1,\"measure\":null,\"raised_at\":\"%s\","
             "\"visit_due_date\":\"%s\",\"procedure_due_date\":\"2023-06-30\","
             "\"message\":\"【中】申请低保\",\"closure\":%s,\"supersedes_alert_id\":%s%s%s,"
             "\"source\":{\"department\":\"RURAL_REVITALIZATION\",\"connector_instance\":"
             "\"tuodi-matchd@it\",\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             id, kind, severity, id, village, town, county, raised, visit_due,
             closure ? closure : "null", supersedes ? "{\"string\":\"" : "",
             supersedes ? supersedes : "null", supersedes ? "\"}" : "", id);
    produce_json(rk, topic, village, "cn.tuodi.Alert", json);
}

static void household(rd_kafka_t *rk, const char *topic, const char *hid, const char *village,
                      const char *state)
{
    char json[4096];
    snprintf(json, sizeof(json),
             "{\"household_id\":\"%s\",\"village_code\":\"%s\",\"grid_id\":\"G-1\","
             "\"household_type\":\"POVERTY_ALLEVIATED\","
             "\"monitoring\":{\"state\":\"%s\",\"category\":null,\"identified_date\":null,"
             "\"risk_eliminated_date\":null,\"risk_elimination_method\":null},"
             "\"members\":[{\"person_key\":\"" PKEY "\",\"name\":\"张三\",\"relation\":\"HEAD\","
             "\"birth_date\":\"1980-01-01\",\"labour_capacity\":\"NORMAL\","
             "\"disability_grade\":null,\"in_school\":null}],\"household_size\":1,"
             "\"income\":null,\"risks\":[],\"updated_at\":\"2023-01-31T10:00:00Z\","
             "\"source\":{\"department\":\"RURAL_REVITALIZATION\",\"connector_instance\":"
             "\"roster\",\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             hid, village, state, hid);
    produce_json(rk, topic, hid, "cn.tuodi.Household", json);
}

static void tombstone(rd_kafka_t *rk, const char *topic, const char *hid)
{
    produce_raw(rk, topic, hid, NULL, 0);
}

#define CLOSED_DISMISSED                                                                    \
    "{\"cn.tuodi.Closure\":{\"outcome\":\"DISMISSED\",\"category\":null,\"reason\":"        \
    "{\"string\":\"收入稳定\"},\"visit_date\":\"2023-05-06\",\"recorded_at\":"              \
    "\"2023-05-06T02:00:00Z\",\"outcome_id\":\"OUT-3\"}}"

static char *qprefix;

static void fill_queue(void)
{
    const char *cfg = config(qprefix);
    const char *create[] = {"tuodictl", "--config", cfg, "topics", "create", NULL};
    char t21[256], t22[256], tun[256], tro[256], txn[256], *o, *e;
    rd_kafka_t *rk;
    td_error err = {0};

    CU_ASSERT_FATAL(run(create, &o, &e) == TDT_EXIT_OK);
    free(o);
    free(e);
    snprintf(t21, sizeof(t21), "%s.alerts.340421", qprefix);
    snprintf(t22, sizeof(t22), "%s.alerts.340422", qprefix);
    snprintf(tun, sizeof(tun), "%s.alerts.unrouted", qprefix);
    snprintf(tro, sizeof(tro), "%s.roster.households", qprefix);
    snprintf(txn, sizeof(txn), "%s-txn", qprefix);
    /* Alerts in a transaction, as matchd writes them (commit markers in the
     * partitions: the end is the last stable offset, not a message). */
    rk = producer(txn);
    CU_ASSERT_FATAL(td_kafka_txn_init(rk, 30000, &err) == 0);
    CU_ASSERT_FATAL(td_kafka_txn_begin(rk, &err) == 0);
    alert(rk, t21, "A1-open-past-due", "ALERT", V1, "2023-05-04T16:00:00Z", "2023-05-09",
          NULL, NULL, "MEDIUM");
    alert(rk, t21, "A2-warned", "ALERT", V2, "2023-05-05T16:00:00Z", "2023-05-10", NULL, NULL,
          "MEDIUM");
    alert(rk, t21, "A2-warned", "OVERDUE_WARNING", V2, "2023-05-10T16:00:00Z", "2023-05-10",
          NULL, NULL, "MEDIUM");
    /* an escalation as matchd writes it: a second ALERT of the same id, the
     * original's raised_at and due dates, a higher severity */
    alert(rk, t21, "A2-warned", "ALERT", V2, "2023-05-05T16:00:00Z", "2023-05-10", NULL, NULL,
          "HIGH");
    alert(rk, t21, "A3-closed", "ALERT", V1, "2023-05-03T16:00:00Z", "2023-05-08", NULL, NULL,
          "LOW");
    alert(rk, t21, "A3-closed", "CLOSED", V1, "2023-05-06T02:00:00Z", "2023-05-08",
          CLOSED_DISMISSED, NULL, "LOW");
    alert(rk, t21, "A4-old", "ALERT", V2, "2023-05-06T16:00:00Z", "2023-05-11", NULL, NULL,
          "MEDIUM");
    alert(rk, t21, "A5-escalated", "ALERT", V2, "2023-05-07T16:00:00Z", "2023-05-12", NULL,
          "A4-old", "HIGH");
    alert(rk, t22, "B1-shou", "ALERT", V3, "2023-05-07T16:00:00Z", "2023-05-12", NULL, NULL,
          "LOW");
    alert(rk, tun, "U1-unrouted", "ALERT", V1, "2023-05-07T16:00:00Z", "2023-05-12", NULL,
          NULL, "LOW");
    CU_ASSERT_FATAL(td_kafka_txn_commit(rk, 30000, &err) == 0);
    /* An aborted transaction: read_committed must not show it. */
    CU_ASSERT_FATAL(td_kafka_txn_begin(rk, &err) == 0);
    alert(rk, t21, "Z9-aborted", "ALERT", V1, "2023-05-07T16:00:00Z", "2023-05-12", NULL, NULL,
          "LOW");
    CU_ASSERT_FATAL(rd_kafka_flush(rk, 30000) == 0);
    CU_ASSERT_FATAL(td_kafka_txn_abort(rk, 30000, &err) == 0);
    td_kafka_destroy(rk);

    rk = producer(NULL);
    household(rk, tro, "H1", V1, "MONITORED");
    household(rk, tro, "H2", V1, "RISK_ELIMINATED");
    household(rk, tro, "H3", V2, "MONITORED");
    household(rk, tro, "H3", V2, "RISK_ELIMINATED"); /* last value wins */
    household(rk, tro, "H4", V2, "NOT_MONITORED");
    household(rk, tro, "H5", V2, "RISK_ELIMINATED");
    tombstone(rk, tro, "H5");                         /* removed */
    household(rk, tro, "H6", V3, "MONITORED");
    CU_ASSERT_FATAL(rd_kafka_flush(rk, 30000) == 0);
    td_kafka_destroy(rk);
}

static void test_alerts(void)
{
    const char *cfg;
    char *o, *e;
    td_json *j = NULL;

    qprefix = td_test_unique("ctl-queue");
    fill_queue();
    cfg = config(qprefix);
    {
        const char *a[] = {"tuodictl", "--config", cfg, "alerts", "--county", "340421",
                           "--today", "2023-05-10", "--format", "json", NULL};
        CU_ASSERT_FATAL(run(a, &o, &e) == TDT_EXIT_OK);
        CU_ASSERT_FATAL(td_json_parse("alerts", o, strlen(o), &j, NULL) == 0);
        CU_ASSERT_EQUAL_FATAL(j->len, 3); /* A1, A2, A5 open; not A3 (closed), A4, Z9 */
        /* sorted by visit due date */
        CU_ASSERT_STRING_EQUAL(td_json_get_string(j->items[0], "alert_id"), "A1-open-past-due");
        CU_ASSERT_STRING_EQUAL(td_json_get_string(j->items[1], "alert_id"), "A2-warned");
        CU_ASSERT_STRING_EQUAL(td_json_get_string(j->items[2], "alert_id"), "A5-escalated");
        /* the escalation replaced the first ALERT of A2: one row, HIGH, still
         * warned, raised when it was first raised */
        CU_ASSERT_STRING_EQUAL(td_json_get_string(j->items[1], "severity"), "HIGH");
        CU_ASSERT_STRING_EQUAL(td_json_get_string(j->items[1], "raised_at"),
                               "2023-05-05T16:00:00.000Z");
        CU_ASSERT_EQUAL(count(o, "\"A2-warned\""), 1);
        CU_ASSERT_STRING_EQUAL(td_json_get_string(j->items[0], "state"), "overdue");
        CU_ASSERT_STRING_EQUAL(td_json_get_string(j->items[1], "state"), "overdue");
        CU_ASSERT_STRING_EQUAL(td_json_get_string(j->items[2], "state"), "open");
        CU_ASSERT_STRING_EQUAL(td_json_get_string(j->items[0], "village"), "中山社区居委会");
        CU_ASSERT_STRING_EQUAL(td_json_get_string(j->items[1], "township"), "新集镇");
        CU_ASSERT_STRING_EQUAL(td_json_get_string(j->items[2], "supersedes"), "A4-old");
        CU_ASSERT_STRING_EQUAL(td_json_get_string(j->items[0], "risk"), "缺劳动力");
        CU_ASSERT_PTR_NULL(strstr(o, PKEY)); /* never an identity number */
        td_json_free(j);
        free(o);
        free(e);
    }
    {
        const char *a[] = {"tuodictl", "--config", cfg, "alerts", "--county", "340421",
                           "--today", "2023-05-10", NULL};
        CU_ASSERT_FATAL(run(a, &o, &e) == TDT_EXIT_OK);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "编号"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "郭郢村村委会"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "城关镇"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "张三"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "2023-05-09 逾期"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "2023-05-10 逾期")); /* the warning marks it */
        CU_ASSERT_PTR_NULL(strstr(o, "2023-05-12 逾期"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "3 open alerts"));
        {
            /* A2's one row shows the escalated severity */
            const char *row = strstr(o, "A2-warned");
            const char *end = row ? strchr(row, '\n') : NULL;
            CU_ASSERT_FATAL(row && end);
            CU_ASSERT_PTR_NULL(strstr(end, "A2-warned"));
            CU_ASSERT_PTR_NOT_NULL(memmem(row, (size_t)(end - row), "高", strlen("高")));
        }
        CU_ASSERT_PTR_NULL(strstr(o, PKEY));
        CU_ASSERT_PTR_NULL(strstr(o, "Z9"));
        fputs(o, stderr);
        free(o);
        free(e);
    }
    {
        const char *a[] = {"tuodictl", "--config", cfg, "alerts", "--county", "340421", "--all",
                           "--township", "340421100", "--today", "2023-05-10", "--format",
                           "csv", NULL};
        CU_ASSERT_FATAL(run(a, &o, &e) == TDT_EXIT_OK);
        CU_ASSERT_EQUAL(count(o, "\r\n"), 3); /* header, A1, A3 */
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "A3-closed"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, ",closed,DISMISSED,"));
        CU_ASSERT_PTR_NULL(strstr(o, "A2-warned"));
        free(o);
        free(e);
    }
    {
        const char *a[] = {"tuodictl", "--config", cfg, "alerts", "--county", "340421",
                           "--today", "2023-05-10", "--format", "csv", NULL};
        CU_ASSERT_FATAL(run(a, &o, &e) == TDT_EXIT_OK);
        CU_ASSERT_EQUAL(count(o, "\nA2-warned,"), 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, ",HIGH,2023-05-05T16:00:00.000Z,"));
        free(o);
        free(e);
    }
    {
        /* a county the places file does not know: refused before Kafka */
        const char *a[] = {"tuodictl", "--config", cfg, "alerts", "--county", "340499", NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "--county 340499: no such county"));
        free(o);
        free(e);
    }
    {
        /* a county whose topic was never created */
        char *p2 = td_test_unique("ctl-none");
        const char *a[] = {"tuodictl", "--config", config(p2), "alerts", "--county", "340421",
                           NULL};
        CU_ASSERT_EQUAL(run(a, &o, &e), TDT_EXIT_FAILURE);
        CU_ASSERT_PTR_NOT_NULL(strstr(e, "does not exist"));
        free(o);
        free(e);
        free(p2);
    }
}

static void test_report(void)
{
    const char *cfg = config(qprefix);
    const char *a[] = {"tuodictl", "--config", cfg, "report", "--county", "340421",
                       "--county", "340422", "--today", "2023-05-10", "--format", "json",
                       NULL};
    char *o, *e;
    td_json *j = NULL;
    const td_json *r;

    CU_ASSERT_FATAL(run(a, &o, &e) == TDT_EXIT_OK);
    CU_ASSERT_FATAL(td_json_parse("report", o, strlen(o), &j, NULL) == 0);
    CU_ASSERT_EQUAL_FATAL(j->len, 3); /* 340421, 340422, total: not the unrouted queue */
    r = j->items[0];
    CU_ASSERT_STRING_EQUAL(td_json_get_string(r, "county"), "凤台县");
    CU_ASSERT_EQUAL(td_json_get(r, "raised")->integer, 5);
    CU_ASSERT_EQUAL(td_json_get(r, "open")->integer, 3);
    CU_ASSERT_EQUAL(td_json_get(r, "overdue")->integer, 2);
    CU_ASSERT_EQUAL(td_json_get(r, "closed")->integer, 1);
    CU_ASSERT_EQUAL(td_json_get(r, "dismissed")->integer, 1);
    CU_ASSERT_EQUAL(td_json_get(r, "identified")->integer, 0);
    CU_ASSERT_EQUAL(td_json_get(r, "superseded")->integer, 1);
    CU_ASSERT_EQUAL(td_json_get(r, "monitored_households")->integer, 3); /* H1, H2, H3 */
    CU_ASSERT_EQUAL(td_json_get(r, "risk_eliminated")->integer, 2);      /* H2, H3 */
    CU_ASSERT_DOUBLE_EQUAL(td_json_get(r, "risk_eliminated_share")->number, 66.67, 0.001);
    r = j->items[1];
    CU_ASSERT_STRING_EQUAL(td_json_get_string(r, "county"), "寿县");
    CU_ASSERT_EQUAL(td_json_get(r, "raised")->integer, 1);
    CU_ASSERT_EQUAL(td_json_get(r, "monitored_households")->integer, 1);
    CU_ASSERT_DOUBLE_EQUAL(td_json_get(r, "risk_eliminated_share")->number, 0.0, 0.001);
    r = j->items[2];
    CU_ASSERT_STRING_EQUAL(td_json_get_string(r, "county_code"), "total");
    CU_ASSERT_EQUAL(td_json_get(r, "raised")->integer, 6);
    CU_ASSERT_DOUBLE_EQUAL(td_json_get(r, "risk_eliminated_share")->number, 50.0, 0.001);
    td_json_free(j);
    free(o);
    free(e);
    {
        /* counties: from the config (more of them than arguments) */
        char cfg2[4200], text[8192];
        char *base = td_test_read_file(cfg, NULL);
        const char *t[] = {"tuodictl", "--config", cfg2, "report", "--format", "csv", NULL};
        snprintf(cfg2, sizeof(cfg2), "%s/counties.yaml", tmp);
        snprintf(text, sizeof(text), "%scounties: [340402, 340403, 340404, 340405, 340422, "
                 "340421]\n", base);
        CU_ASSERT_FATAL(td_test_write_file(cfg2, text) == 0);
        CU_ASSERT_FATAL(run(t, &o, &e) == TDT_EXIT_OK);
        CU_ASSERT_EQUAL(count(o, "\r\n"), 9); /* header, 6 counties, unrouted, total */
        CU_ASSERT_PTR_NULL(strstr(o, "340406"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "340421,凤台县,5,"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "unrouted,未定位,1,"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "total,合计,7,"));
        free(base);
        free(o);
        free(e);
    }
    {
        /* a county given twice is one row, counted once */
        const char *t[] = {"tuodictl", "--config", cfg, "report", "--county", "340421",
                           "--county", "340421", "--format", "csv", NULL};
        CU_ASSERT_FATAL(run(t, &o, &e) == TDT_EXIT_OK);
        CU_ASSERT_EQUAL(count(o, "340421,凤台县,"), 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "total,合计,5,"));
        free(o);
        free(e);
    }
    {
        const char *t[] = {"tuodictl", "--config", cfg, "report", "--today", "2023-05-10",
                           NULL};
        CU_ASSERT_FATAL(run(t, &o, &e) == TDT_EXIT_OK);
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "凤台县"));
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "大通区")); /* every county, with zeros */
        CU_ASSERT_PTR_NOT_NULL(strstr(o, "66.67%"));
        fputs(o, stderr);
        free(o);
        free(e);
    }
}

/* verify --county checks the alert is open on the county's queue. */
static void test_verify_county(void)
{
    const char *cfg = config(qprefix);
    struct {
        const char *id, *want;
        int status;
    } cases[] = {
        {"A3-closed", "is closed already (排除, outcome id OUT-3)", TDT_EXIT_USAGE},
        {"A4-old", "verify the alert that replaced it, A5-escalated", TDT_EXIT_USAGE},
        {"nope", "is not on", TDT_EXIT_USAGE},
        {"A2-warned", "would record (dry run)", TDT_EXIT_OK},
        /* the 12 characters the table shows: the one alert they start */
        {"A1-open-past", "alert      A1-open-past-due\n", TDT_EXIT_OK},
        {"A3-close", "alert A3-closed is closed already", TDT_EXIT_USAGE},
        {"A1-o", "alert id A1-o is too short to look up: give at least 8 characters",
         TDT_EXIT_USAGE},
        {"A1-open-past-due-x", "is not on", TDT_EXIT_USAGE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *a[] = {"tuodictl", "--config", cfg, "verify", cases[i].id, "--outcome",
                           "could-not-reach", "--verifier", "王五", "--reviewer", "赵六",
                           "--county", "340421", "--dry-run", NULL};
        char *o, *e;
        CU_ASSERT_EQUAL(run(a, &o, &e), cases[i].status);
        CU_ASSERT_PTR_NOT_NULL(strstr(cases[i].status ? e : o, cases[i].want));
        if (!strstr(cases[i].status ? e : o, cases[i].want))
            fprintf(stderr, "\n  verify %s: %s%s", cases[i].id, o, e);
        free(o);
        free(e);
    }
}

/* --follow: the program itself, stopped by SIGTERM. */
static void test_follow(void)
{
    const char *cfg = config(qprefix);
    char outp[4096], t21[256], *text = NULL;
    const char *build = getenv("TD_BUILD_ROOT");
    char exe[4096];
    pid_t pid;
    int status = 0;
    rd_kafka_t *rk;

    CU_ASSERT_FATAL(build != NULL);
    snprintf(exe, sizeof(exe), "%s/tools/tuodictl/tuodictl", build);
    snprintf(outp, sizeof(outp), "%s/follow.out", tmp);
    snprintf(t21, sizeof(t21), "%s.alerts.340421", qprefix);
    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        FILE *f = freopen(outp, "w", stdout);
        if (!f)
            _exit(99);
        execl(exe, "tuodictl", "--config", cfg, "alerts", "--county", "340421", "--follow",
              "--format", "csv", "--today", "2023-05-10", (char *)NULL);
        _exit(98);
    }
    /* Wait for the queue, then add an alert and close one. */
    for (int i = 0; i < 300; i++) {
        free(text);
        text = td_test_read_file(outp, NULL);
        if (text && strstr(text, "A5-escalated"))
            break;
        usleep(100000);
    }
    CU_ASSERT_FATAL(text && strstr(text, "A5-escalated"));
    rk = producer(NULL);
    alert(rk, t21, "A6-new", "ALERT", V1, "2023-05-08T16:00:00Z", "2023-05-12", NULL, NULL,
          "LOW");
    alert(rk, t21, "A1-open-past-due", "CLOSED", V1, "2023-05-09T02:00:00Z", "2023-05-09",
          CLOSED_DISMISSED, NULL, "MEDIUM");
    alert(rk, t21, "A7-escalates-A6", "ALERT", V1, "2023-05-09T16:00:00Z", "2023-05-12", NULL,
          "A6-new", "HIGH");
    CU_ASSERT_FATAL(rd_kafka_flush(rk, 30000) == 0);
    td_kafka_destroy(rk);
    for (int i = 0; i < 300; i++) {
        free(text);
        text = td_test_read_file(outp, NULL);
        if (text && strstr(text, "A6-new") && strstr(text, "A1-open-past-due,340421") &&
            strstr(text, ",closed,") && strstr(text, "A7-escalates-A6"))
            break;
        usleep(100000);
    }
    kill(pid, SIGTERM);
    CU_ASSERT(waitpid(pid, &status, 0) == pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT(text && strstr(text, "A6-new"));
    CU_ASSERT(text && strstr(text, ",closed,DISMISSED,"));
    /* the escalation prints the alert it replaced as superseded, then itself */
    {
        const char *old = text ? strstr(text, "\nA6-new,") : NULL;
        old = old ? strstr(old + 1, "\nA6-new,") : NULL; /* its second row */
        CU_ASSERT_PTR_NOT_NULL(old);
        if (old) {
            const char *eol = strchr(old + 1, '\n');
            const char *st = strstr(old, ",superseded,");
            CU_ASSERT(st && eol && st < eol);
            CU_ASSERT_PTR_NOT_NULL(strstr(old, "\nA7-escalates-A6,"));
        }
    }
    free(text);
}

static void add_suites(void)
{
    td_test_suite("topics", setup, teardown);
    TD_TEST(test_topics_create);
    TD_TEST(test_topics_lag_note);
    TD_TEST(test_topics_conflict);
    td_test_suite("verify", setup, teardown);
    TD_TEST(test_verify);
    td_test_suite("queue", setup, teardown);
    TD_TEST(test_alerts);
    TD_TEST(test_report);
    TD_TEST(test_verify_county);
    TD_TEST(test_follow);
}

TD_TEST_MAIN(add_suites)
