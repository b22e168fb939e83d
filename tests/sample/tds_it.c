/* tds_it: what the sample's integration tests share (tds_it.h). */
#include "tds_it.h"

#include "td_kafka.h"
#include "td_time.h"

#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tds_it_failures;
const char *tds_it_bootstrap;
char tds_it_src_root[4000], tds_it_build_root[4000];

bool tds_it_init(void)
{
    tds_it_bootstrap = getenv("KAFKA_BOOTSTRAP");
    if (!tds_it_bootstrap || !*tds_it_bootstrap) {
        fprintf(stderr, "KAFKA_BOOTSTRAP is not set: start a broker (deploy/kafka/dev-broker)\n");
        return false;
    }
    snprintf(tds_it_src_root, sizeof(tds_it_src_root), "%s",
             getenv("TD_SOURCE_ROOT") ? getenv("TD_SOURCE_ROOT") : ".");
    snprintf(tds_it_build_root, sizeof(tds_it_build_root), "%s",
             getenv("TD_BUILD_ROOT") ? getenv("TD_BUILD_ROOT") : "build");
    return true;
}

void tds_it_set_env(const char *data, const char *prefix, const char *state_dir)
{
    char path[4200];
    setenv("TUODI_BOOTSTRAP", tds_it_bootstrap, 1);
    setenv("TUODI_SAMPLE_DIR", data, 1);
    setenv("TUODI_PREFIX", prefix, 1);
    /* the connectors' /metrics on free ports, not the demo's fixed ones */
    setenv("TUODI_HTTP_ROSTER", "127.0.0.1:0", 1);
    setenv("TUODI_HTTP_MEDICAL", "127.0.0.1:0", 1);
    setenv("TUODI_HTTP_CIVIL", "127.0.0.1:0", 1);
    setenv("TUODI_HTTP_HR", "127.0.0.1:0", 1);
    setenv("TUODI_STATE_DIR", state_dir, 1);
    snprintf(path, sizeof(path), "%s/schemas", tds_it_src_root);
    setenv("TUODI_SCHEMAS_DIR", path, 1);
    snprintf(path, sizeof(path), "%s/deploy/rules/huainan-2023.yaml", tds_it_src_root);
    setenv("TUODI_RULES", path, 1);
    /* matchd's endpoint on a free port: 9464 may be another run's */
    setenv("TUODI_MATCHD_HTTP", "127.0.0.1:0", 1);
}

/* ---------------------------------------------------------- string lists */

void tds_it_list_add(tds_it_list *l, const char *s)
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

void tds_it_list_sort(tds_it_list *l)
{
    if (l->n > 1)
        qsort(l->v, l->n, sizeof(char *), cmp_str);
}

void tds_it_list_free(tds_it_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

bool tds_it_same(const char *what, tds_it_list *want, tds_it_list *got)
{
    size_t i = 0, j = 0;
    bool ok = true;
    tds_it_list_sort(want);
    tds_it_list_sort(got);
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

void tds_it_read_expected(const char *path, int keep, tds_it_list *out, tds_it_list *rest)
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
                tds_it_list_add(rest, p + 1);
        }
        tds_it_list_add(out, line);
    }
    fclose(f);
}

bool tds_it_wait_file(const char *path, int timeout_ms)
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

rd_kafka_t *tds_it_consumer(const char *group, bool eof)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *c = NULL;
    td_error err = {0};
    FATAL(td_kafka_props_add(&props, "enable.partition.eof", eof ? "true" : "false", NULL) ==
          0);
    FATAL(td_kafka_consumer_conf_new(tds_it_bootstrap, group, &props, &conf, &err) == 0);
    FATAL(td_kafka_new(RD_KAFKA_CONSUMER, conf, &c, &err) == 0);
    td_kafka_props_clear(&props);
    return c;
}

int tds_it_partitions(rd_kafka_t *rk, const char *topic)
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

bool tds_it_matchd_caught_up(rd_kafka_t *rk, const char *prefix)
{
    static const char *const inputs[] = {"civil_affairs.events", "medical_insurance.settlements",
                                         "human_resources.events"};
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    bool ok = true;
    char topic[160];
    for (size_t t = 0; t < 3; t++) {
        snprintf(topic, sizeof(topic), "%s.%s", prefix, inputs[t]);
        int n = tds_it_partitions(rk, topic);
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

void tds_it_topics_starting(const char *group, const char *start, tds_it_list *out)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_t *c = tds_it_consumer(group, false);
    FATAL(rd_kafka_metadata(c, 1, NULL, &md, 10000) == 0);
    for (int i = 0; i < md->topic_cnt; i++)
        if (strncmp(md->topics[i].topic, start, strlen(start)) == 0)
            tds_it_list_add(out, md->topics[i].topic);
    rd_kafka_metadata_destroy(md);
    td_kafka_destroy(c);
}

void tds_it_read_all(const char *prefix, const tds_it_list *topics, tds_it_msg_fn fn,
                     void *opaque)
{
    char group[128];
    snprintf(group, sizeof(group), "%s-reader-%" PRId64, prefix, td_time_mono_ms());
    rd_kafka_t *c = tds_it_consumer(group, true);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(32);
    int open = 0;
    for (size_t t = 0; t < topics->n; t++) {
        int n = tds_it_partitions(c, topics->v[t]);
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

const char *tds_it_header(rd_kafka_message_t *m, const char *name, char *buf, size_t size)
{
    rd_kafka_headers_t *h = NULL;
    const void *v = NULL;
    size_t len = 0;
    if (rd_kafka_message_headers(m, &h) != 0 || rd_kafka_header_get_last(h, name, &v, &len) != 0)
        return NULL;
    snprintf(buf, size, "%.*s", (int)len, (const char *)v);
    return buf;
}

/* ---------------------------------------------------------- Avro fields */

const char *tds_it_opt_str(avro_value_t *rec, const char *name)
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

const char *tds_it_enum_sym(avro_value_t *rec, const char *name)
{
    avro_value_t f;
    int idx;
    if (avro_value_get_by_name(rec, name, &f, NULL) != 0 || avro_value_get_enum(&f, &idx) != 0)
        return "";
    const char *s = avro_schema_enum_get(avro_value_get_schema(&f), idx);
    return s ? s : "";
}
