/* The Huainan sample end to end (issue 6), against the real Kafka broker
 * named by KAFKA_BOOTSTRAP:
 *
 *   tuodi-sample (a few hundred households) -> the roster connector (waited
 *   for until its file is finished) -> the three department connectors (until
 *   their files are finished) -> tuodi-matchd (roster to its end first) ->
 *   every alert topic <prefix>.alerts.* and every dead-letter topic
 *   <prefix>.dlq.*
 *
 * with the configs of deploy/data/demo-config/ (a unique topic prefix, group
 * and state directory). Then:
 *   - the alerts of kind ALERT folded by alert id (the latest message of an
 *     id wins: an escalation is a later ALERT of the same id, at a higher
 *     severity, of the same rule and subject), as (rule, household id or
 *     person key, queue), equal expected/alerts.csv exactly: nothing
 *     missing, nothing extra, nothing twice, each in its county's topic;
 *   - per alert, the severity equals the expected one (an alert's final
 *     severity does not depend on the order matchd sees the departments,
 *     docs/matchd-design.md, "Arrival order and escalation");
 *   - the dead letters, as (dataset, file, line), equal expected/rejected.csv
 *     exactly, and each reason is of the expected class;
 *   - the suspects (the suspicious-data list) on every <prefix>.suspects.*
 *     topic: the RAISED messages, as (indicator, household id, person key or
 *     "household", queue), equal expected/suspects.csv exactly, each keyed
 *     by its village in its county's topic, with no identity number in its
 *     texts, and nothing resolved or closed yet;
 *   - then the roster re-export roster-fix/ (two households of 凤台县
 *     corrected) goes through the roster connector, and matchd resolves
 *     exactly the suspects expected/suspects.csv marks "resolved", each one
 *     it raised before;
 *   - every program stops with exit status 0 on SIGTERM.
 * The differences are printed on failure. */
#include "td_avro.h"
#include "td_kafka.h"
#include "td_proc.h"
#include "td_time.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
static char src_root[4000], build_root[4000], dir[64], data[128], prefix[64];

/* ---------------------------------------------------------- string lists */

typedef struct list {
    char **v;
    size_t n, cap;
} list;

static void list_add(list *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        FATAL(l->v);
    }
    l->v[l->n] = strdup(s);
    FATAL(l->v[l->n]);
    l->n++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_free(list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* Compares two lists as multisets; prints what is missing and extra. */
static bool same(const char *what, list *want, list *got)
{
    size_t i = 0, j = 0;
    bool ok = true;
    qsort(want->v, want->n, sizeof(char *), cmp_str);
    qsort(got->v, got->n, sizeof(char *), cmp_str);
    while (i < want->n || j < got->n) {
        int c = i == want->n ? 1 : j == got->n ? -1 : strcmp(want->v[i], got->v[j]);
        if (c == 0) {
            i++;
            j++;
        } else if (c < 0) {
            fprintf(stderr, "%s: missing: %s\n", what, want->v[i++]);
            ok = false;
        } else {
            fprintf(stderr, "%s: extra:   %s\n", what, got->v[j++]);
            ok = false;
        }
    }
    fprintf(stderr, "%s: expected %zu, got %zu%s\n", what, want->n, got->n,
            ok ? ", the same" : "");
    return ok;
}

/* ---------------------------------------------------------- processes */

static bool wait_file(const char *path, int timeout_ms)
{
    int64_t until = td_time_mono_ms() + timeout_ms;
    struct stat st;
    while (td_time_mono_ms() < until) {
        if (stat(path, &st) == 0)
            return true;
        usleep(100000);
    }
    return false;
}

/* ---------------------------------------------------------- Kafka */

static rd_kafka_t *consumer(const char *group, bool eof)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *c = NULL;
    td_error err = {0};
    FATAL(td_kafka_props_add(&props, "enable.partition.eof", eof ? "true" : "false", NULL) ==
          0);
    FATAL(td_kafka_consumer_conf_new(bootstrap, group, &props, &conf, &err) == 0);
    FATAL(td_kafka_new(RD_KAFKA_CONSUMER, conf, &c, &err) == 0);
    td_kafka_props_clear(&props);
    return c;
}

/* Partitions of topic (0 when it does not exist). */
static int partitions(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int n = 0;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == 0) {
        if (md->topic_cnt == 1 && md->topics[0].err == 0)
            n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return n;
}

/* True when matchd's group has committed every input topic to its end (the
 * last message of a transactional topic is the commit marker). */
static bool matchd_caught_up(rd_kafka_t *rk)
{
    static const char *const inputs[] = {"civil_affairs.events", "medical_insurance.settlements",
                                         "human_resources.events"};
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    bool ok = true;
    char topic[160];
    for (size_t t = 0; t < 3; t++) {
        snprintf(topic, sizeof(topic), "%s.%s", prefix, inputs[t]);
        int n = partitions(rk, topic);
        if (n == 0)
            ok = false;
        for (int p = 0; p < n; p++)
            rd_kafka_topic_partition_list_add(l, topic, p);
    }
    if (ok && rd_kafka_committed(rk, l, 10000) != 0)
        ok = false;
    for (int i = 0; ok && i < l->cnt; i++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, l->elems[i].topic, l->elems[i].partition, &lo,
                                             &hi, 10000) != 0)
            ok = false;
        else if (hi > 0 && l->elems[i].offset < hi - 1)
            ok = false;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return ok;
}

static const char *header(rd_kafka_message_t *m, const char *name, char *buf, size_t size)
{
    rd_kafka_headers_t *h = NULL;
    const void *v = NULL;
    size_t len = 0;
    if (rd_kafka_message_headers(m, &h) != 0 || rd_kafka_header_get_last(h, name, &v, &len) != 0)
        return NULL;
    snprintf(buf, size, "%.*s", (int)len, (const char *)v);
    return buf;
}

/* An optional string field ("" for null). */
static const char *opt_str(avro_value_t *rec, const char *name)
{
    avro_value_t f, b;
    const char *s = NULL;
    size_t size;
    if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
        return "";
    if (avro_value_get_type(&f) == AVRO_UNION) {
        if (avro_value_get_current_branch(&f, &b) != 0)
            return "";
        f = b;
    }
    if (avro_value_get_type(&f) != AVRO_STRING || avro_value_get_string(&f, &s, &size) != 0)
        return "";
    return s;
}

static const char *enum_sym(avro_value_t *rec, const char *name)
{
    avro_value_t f;
    int idx;
    if (avro_value_get_by_name(rec, name, &f, NULL) != 0 || avro_value_get_enum(&f, &idx) != 0)
        return "";
    const char *s = avro_schema_enum_get(avro_value_get_schema(&f), idx);
    return s ? s : "";
}

/* Reads the topics of names from the start to their end (read_committed);
 * each message goes to fn. */
typedef void (*msg_fn)(const char *topic, rd_kafka_message_t *m, void *opaque);

static void read_all(list *topics, msg_fn fn, void *opaque)
{
    char group[128];
    snprintf(group, sizeof(group), "%s-reader-%" PRId64, prefix, td_time_mono_ms());
    rd_kafka_t *c = consumer(group, true);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(32);
    int open = 0;
    for (size_t t = 0; t < topics->n; t++) {
        int n = partitions(c, topics->v[t]);
        for (int p = 0; p < n; p++) {
            rd_kafka_topic_partition_list_add(l, topics->v[t], p)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
            open++;
        }
    }
    FATAL(rd_kafka_assign(c, l) == 0);
    rd_kafka_topic_partition_list_destroy(l);
    int64_t until = td_time_mono_ms() + 60000;
    while (open > 0 && td_time_mono_ms() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 500);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            open--;
        else if (!m->err)
            fn(rd_kafka_topic_name(m->rkt), m, opaque);
        rd_kafka_message_destroy(m);
    }
    CHECK(open == 0);
    td_kafka_destroy(c);
}

typedef struct alerts_seen {
    td_avro_decoder *dec;
    list ids;         /* alert_id, one per alert */
    list alerts;      /* rule,kind,subject,queue, the same index as ids */
    list severities;  /* rule,kind,subject,queue,severity: the latest */
    int other_kinds, undecodable, bad_key, escalations, bad_escalation;
} alerts_seen;

static int sev_rank(const char *s)
{
    return strcmp(s, "LOW") == 0 ? 1 : strcmp(s, "MEDIUM") == 0 ? 2 : strcmp(s, "HIGH") == 0 ? 3 : 0;
}

static void on_alert(const char *topic, rd_kafka_message_t *m, void *opaque)
{
    alerts_seen *s = opaque;
    avro_value_t *v;
    td_error err = {0};
    char row[512];
    const char *queue = topic + strlen(prefix) + strlen(".alerts.");
    if (td_avro_decode(s->dec, m->payload, m->len, &v, &err) < 0) {
        fprintf(stderr, "undecodable alert in %s: %s\n", topic, err.msg);
        s->undecodable++;
        return;
    }
    if (strcmp(enum_sym(v, "kind"), "ALERT") != 0) {
        s->other_kinds++;
        return;
    }
    const char *hid = opt_str(v, "household_id");
    const char *subject = *hid ? hid : opt_str(v, "person_key");
    const char *id = opt_str(v, "alert_id"), *sev = enum_sym(v, "severity");
    char srow[600];
    snprintf(row, sizeof(row), "%s,%s,%s,%s", opt_str(v, "rule_id"),
             *hid ? "household" : "person", subject, queue);
    snprintf(srow, sizeof(srow), "%s,%s", row, sev);
    size_t i;
    for (i = 0; i < s->ids.n && strcmp(s->ids.v[i], id) != 0; i++)
        ;
    if (i == s->ids.n) {
        list_add(&s->ids, id);
        list_add(&s->alerts, row);
        list_add(&s->severities, srow);
    } else {
        /* an escalation: same rule and subject, a higher severity */
        const char *was = strrchr(s->severities.v[i], ',') + 1;
        s->escalations++;
        if (strcmp(s->alerts.v[i], row) != 0 || sev_rank(sev) <= sev_rank(was)) {
            fprintf(stderr, "alert %s: a second ALERT that is no escalation (%s %s after %s)\n",
                    id, row, sev, s->severities.v[i]);
            s->bad_escalation++;
        }
        free(s->severities.v[i]);
        s->severities.v[i] = strdup(srow);
        FATAL(s->severities.v[i]);
    }
    /* keyed by the village (unrouted: by the alert id) */
    const char *village = opt_str(v, "village_code");
    if (strcmp(queue, "unrouted") != 0 &&
        (!m->key || m->key_len != strlen(village) || memcmp(m->key, village, m->key_len) != 0 ||
         strncmp(village, queue, 6) != 0))
        s->bad_key++;
}

typedef struct suspects_seen {
    td_avro_decoder *dec;
    list raised;      /* indicator,household,subject,queue */
    list raised_ids;  /* suspect_id */
    list resolved;    /* indicator,household,subject,queue */
    list resolved_ids;
    int closed, undecodable, bad_key, id_in_text;
} suspects_seen;

/* True when s holds a run of 15 or more digits (an identity number). */
static bool has_idnum(const char *s)
{
    int run = 0;
    for (; *s; s++) {
        run = *s >= '0' && *s <= '9' ? run + 1 : 0;
        if (run >= 15)
            return true;
    }
    return false;
}

static void on_suspect(const char *topic, rd_kafka_message_t *m, void *opaque)
{
    suspects_seen *s = opaque;
    avro_value_t *v;
    td_error err = {0};
    char row[512];
    const char *queue = topic + strlen(prefix) + strlen(".suspects.");
    if (td_avro_decode(s->dec, m->payload, m->len, &v, &err) < 0) {
        fprintf(stderr, "undecodable suspect in %s: %s\n", topic, err.msg);
        s->undecodable++;
        return;
    }
    const char *kind = enum_sym(v, "kind"), *person = opt_str(v, "person_key");
    snprintf(row, sizeof(row), "%s,%s,%s,%s", opt_str(v, "indicator_id"),
             opt_str(v, "household_id"), *person ? person : "household", queue);
    if (strcmp(kind, "RAISED") == 0) {
        list_add(&s->raised, row);
        list_add(&s->raised_ids, opt_str(v, "suspect_id"));
    } else if (strcmp(kind, "RESOLVED") == 0) {
        list_add(&s->resolved, row);
        list_add(&s->resolved_ids, opt_str(v, "suspect_id"));
    } else {
        s->closed++;
    }
    const char *village = opt_str(v, "village_code");
    if (!m->key || m->key_len != strlen(village) || memcmp(m->key, village, m->key_len) != 0 ||
        strncmp(village, queue, 6) != 0 || strcmp(opt_str(v, "county_code"), queue) != 0)
        s->bad_key++;
    if (has_idnum(opt_str(v, "roster_value")) || has_idnum(opt_str(v, "department_value")) ||
        has_idnum(opt_str(v, "indicator_name")) || has_idnum(opt_str(v, "fix_hint")))
        s->id_in_text++;
}

static void suspects_clear(suspects_seen *s)
{
    list_free(&s->raised);
    list_free(&s->raised_ids);
    list_free(&s->resolved);
    list_free(&s->resolved_ids);
    s->closed = s->undecodable = s->bad_key = s->id_in_text = 0;
}

/* Every <prefix>.suspects.* topic, from the start to its end. */
static void read_suspects(suspects_seen *s)
{
    list topics = {0};
    const struct rd_kafka_metadata *md = NULL;
    char group[128], sp[128];
    snprintf(group, sizeof(group), "%s-meta", prefix);
    snprintf(sp, sizeof(sp), "%s.suspects.", prefix);
    rd_kafka_t *c = consumer(group, false);
    FATAL(rd_kafka_metadata(c, 1, NULL, &md, 10000) == 0);
    for (int i = 0; i < md->topic_cnt; i++)
        if (strncmp(md->topics[i].topic, sp, strlen(sp)) == 0)
            list_add(&topics, md->topics[i].topic);
    rd_kafka_metadata_destroy(md);
    td_kafka_destroy(c);
    suspects_clear(s);
    read_all(&topics, on_suspect, s);
    list_free(&topics);
}

typedef struct dlq_seen {
    list rows;        /* dataset,file,line */
    list reasons;     /* dataset,file,line\treason */
    int bad_headers;
} dlq_seen;

static void on_dead_letter(const char *topic, rd_kafka_message_t *m, void *opaque)
{
    dlq_seen *s = opaque;
    char ds[64], loc[256], line[32], reason[1024], row[2048];
    (void)topic;
    if (!header(m, "tuodi.dataset", ds, sizeof(ds)) ||
        !header(m, "tuodi.location", loc, sizeof(loc)) ||
        !header(m, "tuodi.line", line, sizeof(line)) ||
        !header(m, "tuodi.reason", reason, sizeof(reason))) {
        s->bad_headers++;
        return;
    }
    snprintf(row, sizeof(row), "%s,%s,%s", ds, loc, line);
    list_add(&s->rows, row);
    snprintf(row, sizeof(row), "%s,%s,%s\t%s", ds, loc, line, reason);
    list_add(&s->reasons, row);
}

/* ---------------------------------------------------------- expectations */

/* The lines of a CSV file after its header, with the first `keep` fields. */
static void read_expected(const char *path, int keep, list *out, list *rest)
{
    FILE *f = fopen(path, "r");
    char line[2048];
    FATAL(f);
    FATAL(fgets(line, sizeof(line), f));
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        for (int i = 0; i < keep && p; i++) {
            p = strchr(p, ',');
            if (p && i + 1 < keep)
                p++;
        }
        if (p) {
            *p = '\0';
            if (rest)
                list_add(rest, p + 1);
        }
        list_add(out, line);
    }
    fclose(f);
}

/* What a dead letter's reason must contain, by class. */
static const char *class_text(const char *cls)
{
    static const struct {
        const char *cls, *text;
    } m[] = {
        {"idnum", "identity number"}, {"date", "not a date"},
        {"code", "unknown value"},    {"required", "required"},
        {"amount", ""},               {"fields", "the header has"},
        {"village", "village"},       {"encoding", "not valid UTF-8"},
        {"number", ""},               {"household", "household"},
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        if (strcmp(m[i].cls, cls) == 0)
            return m[i].text;
    return NULL;
}

/* ---------------------------------------------------------- main */

int main(void)
{
    char cmd[9000], bin_conn[4200], bin_matchd[4200], cfg[4200], log[4200], path[4200],
        topic[256];
    static const char *const depts[] = {"civil_affairs", "medical_insurance", "human_resources"};
    static const char *const dept_files[] = {"civil_affairs/finished/civil-01.csv",
                                             "medical_insurance/finished/medical-01.csv",
                                             "medical_insurance/finished/medical-02.csv",
                                             "human_resources/finished/hr-01.csv"};
    pid_t roster, matchd, conn[3];
    int status;
    int64_t t0 = td_time_mono_ms();
    td_error err = {0};

    bootstrap = getenv("KAFKA_BOOTSTRAP");
    if (!bootstrap || !*bootstrap) {
        fprintf(stderr, "KAFKA_BOOTSTRAP is not set: start a broker (deploy/kafka/dev-broker)\n");
        return 1;
    }
    snprintf(src_root, sizeof(src_root), "%s",
             getenv("TD_SOURCE_ROOT") ? getenv("TD_SOURCE_ROOT") : ".");
    snprintf(build_root, sizeof(build_root), "%s",
             getenv("TD_BUILD_ROOT") ? getenv("TD_BUILD_ROOT") : "build");
    snprintf(dir, sizeof(dir), "/tmp/itest-sample-XXXXXX");
    FATAL(mkdtemp(dir));
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(prefix, sizeof(prefix), "tds%d-%" PRId64, (int)getpid(), t0 % 1000000);
    snprintf(bin_conn, sizeof(bin_conn), "%s/connectors/tuodi-connector", build_root);
    snprintf(bin_matchd, sizeof(bin_matchd), "%s/daemon/tuodi-matchd", build_root);

    /* 1. the data */
    snprintf(cmd, sizeof(cmd), "%s/tools/sample/tuodi-sample --out %s --households 300 --seed 6",
             build_root, data);
    FATAL(system(cmd) == 0);

    /* 2. the configs' variables */
    snprintf(path, sizeof(path), "%s/state", dir);
    setenv("TUODI_BOOTSTRAP", bootstrap, 1);
    setenv("TUODI_SAMPLE_DIR", data, 1);
    setenv("TUODI_PREFIX", prefix, 1);
    /* the connectors' /metrics on free ports, not the demo's fixed ones */
    setenv("TUODI_HTTP_ROSTER", "127.0.0.1:0", 1);
    setenv("TUODI_HTTP_MEDICAL", "127.0.0.1:0", 1);
    setenv("TUODI_HTTP_CIVIL", "127.0.0.1:0", 1);
    setenv("TUODI_HTTP_HR", "127.0.0.1:0", 1);
    setenv("TUODI_STATE_DIR", path, 1);
    snprintf(path, sizeof(path), "%s/schemas", src_root);
    setenv("TUODI_SCHEMAS_DIR", path, 1);
    snprintf(path, sizeof(path), "%s/deploy/rules/huainan-2023.yaml", src_root);
    setenv("TUODI_RULES", path, 1);
    /* matchd's endpoint on a free port: 9464 may be another run's */
    setenv("TUODI_MATCHD_HTTP", "127.0.0.1:0", 1);

    /* 3. the roster first, to its end */
    snprintf(cfg, sizeof(cfg), "%s/deploy/data/demo-config/roster.yaml", src_root);
    snprintf(log, sizeof(log), "%s/roster.log", dir);
    roster = td_proc_spawn_config(bin_conn, cfg, log);
    snprintf(path, sizeof(path), "%s/roster/finished/huainan-roster.csv", data);
    FATAL(wait_file(path, 120000));
    fprintf(stderr, "roster published (%.1fs)\n", (double)(td_time_mono_ms() - t0) / 1000.0);

    /* 4. the departments, then matchd (it reads the roster to its end before
     * READY). matchd starts once the department topics exist: a consumer
     * subscribed to a topic that does not exist yet finds it only at its next
     * metadata refresh (librdkafka: 5 minutes by default). */
    for (int i = 0; i < 3; i++) {
        snprintf(cfg, sizeof(cfg), "%s/deploy/data/demo-config/%s.yaml", src_root, depts[i]);
        snprintf(log, sizeof(log), "%s/%s.log", dir, depts[i]);
        conn[i] = td_proc_spawn_config(bin_conn, cfg, log);
    }
    for (size_t i = 0; i < sizeof(dept_files) / sizeof(dept_files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", data, dept_files[i]);
        CHECK(wait_file(path, 180000));
    }
    fprintf(stderr, "department files published (%.1fs)\n",
            (double)(td_time_mono_ms() - t0) / 1000.0);
    snprintf(cfg, sizeof(cfg), "%s/deploy/data/demo-config/matchd.yaml", src_root);
    snprintf(log, sizeof(log), "%s/matchd.log", dir);
    matchd = td_proc_spawn_config(bin_matchd, cfg, log);
    if (!td_proc_wait_log(log, "ready", 1, 120000))
        fprintf(stderr, "matchd did not say ready (see %s)\n", log);

    /* 5. until matchd has committed every input */
    {
        char group[128];
        snprintf(group, sizeof(group), "%s-matchd", prefix);
        rd_kafka_t *c = consumer(group, false);
        int64_t until = td_time_mono_ms() + 180000;
        bool ok = false;
        while (!(ok = matchd_caught_up(c)) && td_time_mono_ms() < until && td_proc_alive(matchd))
            usleep(500000);
        CHECK(ok);
        td_kafka_destroy(c);
    }
    fprintf(stderr, "matchd caught up (%.1fs)\n", (double)(td_time_mono_ms() - t0) / 1000.0);

    /* 6. every alert topic */
    td_avro_registry *reg = NULL;
    alerts_seen as;
    memset(&as, 0, sizeof(as));
    snprintf(path, sizeof(path), "%s/schemas", src_root);
    FATAL(td_avro_registry_new(&reg) == 0);
    FATAL(td_avro_registry_load_dir(reg, path, NULL, &err) == 0);
    FATAL(td_avro_decoder_new(reg, td_avro_registry_find_name(reg, "cn.tuodi.Alert"), &as.dec,
                              &err) == 0);
    {
        list topics = {0};
        const struct rd_kafka_metadata *md = NULL;
        char group[128], ap[128];
        snprintf(group, sizeof(group), "%s-meta", prefix);
        snprintf(ap, sizeof(ap), "%s.alerts.", prefix);
        rd_kafka_t *c = consumer(group, false);
        FATAL(rd_kafka_metadata(c, 1, NULL, &md, 10000) == 0);
        for (int i = 0; i < md->topic_cnt; i++)
            if (strncmp(md->topics[i].topic, ap, strlen(ap)) == 0)
                list_add(&topics, md->topics[i].topic);
        rd_kafka_metadata_destroy(md);
        td_kafka_destroy(c);
        fprintf(stderr, "%zu alert topics\n", topics.n);
        read_all(&topics, on_alert, &as);
        list_free(&topics);
    }
    {
        list want = {0}, sev = {0}, want_sev = {0};
        snprintf(path, sizeof(path), "%s/expected/alerts.csv", data);
        read_expected(path, 4, &want, &sev);
        /* rule,kind,subject,queue,severity from the rest "severity,scenario" */
        for (size_t i = 0; i < want.n; i++) {
            char row[1024];
            snprintf(row, sizeof(row), "%s,%.*s", want.v[i], (int)strcspn(sev.v[i], ","),
                     sev.v[i]);
            list_add(&want_sev, row);
        }
        CHECK(same("alerts (rule,subject,queue)", &want, &as.alerts));
        CHECK(same("severities (rule,subject,queue,severity)", &want_sev, &as.severities));
        list_free(&want);
        list_free(&sev);
        list_free(&want_sev);
    }
    CHECK(as.undecodable == 0);
    CHECK(as.bad_key == 0);
    CHECK(as.bad_escalation == 0);
    fprintf(stderr, "%d escalations\n", as.escalations);
    fprintf(stderr, "%d messages of other kinds (overdue warnings, closures)\n", as.other_kinds);

    /* 7. the dead letters */
    {
        list topics = {0}, want = {0}, cls = {0};
        dlq_seen ds;
        static const char *const all[] = {"roster", "civil_affairs", "medical_insurance",
                                          "human_resources"};
        memset(&ds, 0, sizeof(ds));
        for (size_t i = 0; i < 4; i++) {
            snprintf(topic, sizeof(topic), "%s.dlq.%s", prefix, all[i]);
            list_add(&topics, topic);
        }
        read_all(&topics, on_dead_letter, &ds);
        CHECK(ds.bad_headers == 0);
        snprintf(path, sizeof(path), "%s/expected/rejected.csv", data);
        read_expected(path, 3, &want, &cls);
        /* each reason of the expected class */
        for (size_t i = 0; i < want.n; i++) {
            char cl[64];
            snprintf(cl, sizeof(cl), "%.*s", (int)strcspn(cls.v[i], ","), cls.v[i]);
            const char *text = class_text(cl);
            bool found = false;
            CHECK(text != NULL);
            for (size_t k = 0; k < ds.reasons.n && text; k++) {
                size_t n = strlen(want.v[i]);
                if (strncmp(ds.reasons.v[k], want.v[i], n) == 0 && ds.reasons.v[k][n] == '\t') {
                    found = true;
                    if (!strstr(ds.reasons.v[k] + n + 1, text)) {
                        fprintf(stderr, "dead letter %s: reason is not of class %s: %s\n",
                                want.v[i], cl, ds.reasons.v[k] + n + 1);
                        failures++;
                    }
                }
            }
            (void)found;
        }
        CHECK(same("dead letters (dataset,file,line)", &want, &ds.rows));
        list_free(&topics);
        list_free(&want);
        list_free(&cls);
        list_free(&ds.rows);
        list_free(&ds.reasons);
    }

    /* 8. the suspicious-data list */
    suspects_seen ss;
    list want_sus = {0}, want_resolved = {0};
    memset(&ss, 0, sizeof(ss));
    FATAL(td_avro_decoder_new(reg, td_avro_registry_find_name(reg, "cn.tuodi.Suspect"), &ss.dec,
                              &err) == 0);
    {
        list rest = {0};
        snprintf(path, sizeof(path), "%s/expected/suspects.csv", data);
        read_expected(path, 4, &want_sus, &rest);
        /* rest: "scenario,after_fix" */
        for (size_t i = 0; i < want_sus.n; i++)
            if (strcmp(strchr(rest.v[i], ',') + 1, "resolved") == 0)
                list_add(&want_resolved, want_sus.v[i]);
        list_free(&rest);
    }
    read_suspects(&ss);
    CHECK(same("suspects raised (indicator,household,subject,queue)", &want_sus, &ss.raised));
    CHECK(ss.resolved.n == 0 && ss.closed == 0);
    CHECK(ss.undecodable == 0);
    CHECK(ss.bad_key == 0);
    CHECK(ss.id_in_text == 0);

    /* 9. the re-export fixes two: matchd resolves exactly those */
    {
        char src[400], dst[400];
        snprintf(src, sizeof(src), "%s/roster-fix/huainan-roster-2.csv", data);
        snprintf(dst, sizeof(dst), "%s/roster/huainan-roster-2.csv", data);
        snprintf(cmd, sizeof(cmd), "cp %s %s && touch %s.done", src, dst, dst);
        FATAL(system(cmd) == 0);
        snprintf(path, sizeof(path), "%s/roster/finished/huainan-roster-2.csv", data);
        CHECK(wait_file(path, 120000));
        fprintf(stderr, "roster re-export published (%.1fs)\n",
                (double)(td_time_mono_ms() - t0) / 1000.0);
        int64_t until = td_time_mono_ms() + 60000;
        for (;;) {
            read_suspects(&ss);
            if (ss.resolved.n >= want_resolved.n || td_time_mono_ms() > until)
                break;
            usleep(500000);
        }
    }
    CHECK(same("suspects resolved by the re-export", &want_resolved, &ss.resolved));
    CHECK(same("suspects raised, after the re-export", &want_sus, &ss.raised));
    for (size_t i = 0; i < ss.resolved_ids.n; i++) {
        bool found = false;
        for (size_t k = 0; k < ss.raised_ids.n; k++)
            found = found || strcmp(ss.resolved_ids.v[i], ss.raised_ids.v[k]) == 0;
        if (!found)
            fprintf(stderr, "resolved %s was never raised\n", ss.resolved_ids.v[i]);
        CHECK(found);
    }
    CHECK(ss.closed == 0 && ss.bad_key == 0 && ss.id_in_text == 0);
    suspects_clear(&ss);
    list_free(&want_sus);
    list_free(&want_resolved);
    td_avro_decoder_free(ss.dec);

    /* 10. everything stops cleanly */
    for (int i = 0; i < 3; i++) {
        status = td_proc_stop(conn[i], SIGTERM, 60000);
        CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    status = td_proc_stop(roster, SIGTERM, 60000);
    CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    status = td_proc_stop(matchd, SIGTERM, 60000);
    CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);

    list_free(&as.alerts);
    list_free(&as.severities);
    list_free(&as.ids);
    td_avro_decoder_free(as.dec);
    td_avro_registry_free(reg);
    fprintf(stderr, "sample end to end: %d failures (%.1fs)%s%s\n", failures,
            (double)(td_time_mono_ms() - t0) / 1000.0, failures ? "; logs and data in " : "",
            failures ? dir : "");
    if (!failures) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        CHECK(system(cmd) == 0);
    }
    return failures ? 1 : 0;
}
