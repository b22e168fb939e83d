/* tdt_kafka: the schemas, and reading topics from the beginning to the end. */
#include "tdt.h"

#include "td_signal.h"
#include "td_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tdt_registry_load(const tdt_config *c, td_avro_registry **ret, td_error *err)
{
    td_avro_registry *reg = NULL;
    char hist[4096];
    struct stat st;
    int r;

    if (td_avro_registry_new(&reg) < 0)
        return td_error_set(err, -ENOMEM, "out of memory");
    r = td_avro_registry_load_dir(reg, c->schemas_dir, NULL, err);
    if (r == 0 && !td_avro_registry_find_name(reg, "cn.tuodi.Alert"))
        r = td_error_set(err, -ENOENT, "%s: no alert.avsc (set schemas_dir: in the config)",
                         c->schemas_dir);
    snprintf(hist, sizeof(hist), "%s/history", c->schemas_dir);
    if (r == 0 && stat(hist, &st) == 0 && S_ISDIR(st.st_mode))
        r = td_avro_registry_load_dir(reg, hist, NULL, err);
    if (r < 0) {
        td_avro_registry_free(reg);
        return r;
    }
    *ret = reg;
    return 0;
}

typedef struct tdt_part {
    const char *topic;
    int32_t partition;
    bool eof;
} tdt_part;

int tdt_kafka_read(const tdt_config *c, const char *const *topics, size_t ntopics,
                   bool missing_ok, bool follow, tdt_msg_fn *fn, tdt_caught_up_fn *caught_up,
                   void *opaque, td_error *err)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *l = NULL;
    tdt_part *parts = NULL;
    size_t nparts = 0, neof = 0;
    bool caught = false;
    char group[96], errstr[512];
    int64_t deadline;
    rd_kafka_resp_err_t x;
    int r = 0;

    if (!td_kafka_props_find(&c->kafka, "bootstrap.servers"))
        return td_error_set(err, -EINVAL, "no kafka: bootstrap.servers in the config: add the "
                            "broker addresses (host:port,...)");
    snprintf(group, sizeof(group), "tuodictl-%d-%" PRId64, (int)getpid(), td_time_wall_ms());
    r = td_kafka_consumer_conf_new(NULL, group, &c->kafka, &conf, err);
    if (r < 0)
        return r;
    if (rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return td_error_set(err, -EINVAL, "kafka: %s", errstr);
    }
    r = td_kafka_new(RD_KAFKA_CONSUMER, conf, &rk, err);
    if (r < 0)
        return r;
    x = rd_kafka_metadata(rk, 1, NULL, &md, (int)c->timeout_ms);
    if (x != RD_KAFKA_RESP_ERR_NO_ERROR) {
        r = td_error_set(err, -ETIMEDOUT, "kafka: cannot reach the broker (%s) within %" PRId64
                         " ms: %s; check kafka.bootstrap.servers and that the broker runs",
                         td_kafka_props_find(&c->kafka, "bootstrap.servers")->value,
                         c->timeout_ms, rd_kafka_err2str(x));
        md = NULL;
        goto out;
    }
    l = rd_kafka_topic_partition_list_new(16);
    for (size_t t = 0; t < ntopics; t++) {
        const struct rd_kafka_metadata_topic *mt = NULL;
        for (int i = 0; i < md->topic_cnt; i++)
            if (strcmp(md->topics[i].topic, topics[t]) == 0)
                mt = &md->topics[i];
        if (!mt || mt->err || mt->partition_cnt == 0) {
            if (missing_ok)
                continue;
            r = td_error_set(err, -ENOENT, "topic %s does not exist: check the county code and "
                             "topic names (topics:, --prefix), or create the topics with "
                             "'tuodictl topics create'", topics[t]);
            goto out;
        }
        tdt_part *np = realloc(parts, (nparts + (size_t)mt->partition_cnt) * sizeof(*np));
        if (!np) {
            r = td_error_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        parts = np;
        for (int p = 0; p < mt->partition_cnt; p++) {
            parts[nparts].topic = topics[t];
            parts[nparts].partition = mt->partitions[p].id;
            parts[nparts++].eof = false;
            rd_kafka_topic_partition_list_add(l, topics[t], mt->partitions[p].id)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
        }
    }
    if (nparts > 0 && rd_kafka_assign(rk, l) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        r = td_error_set(err, -EIO, "kafka: cannot assign the partitions");
        goto out;
    }
    deadline = td_time_mono_ms() + c->timeout_ms;
    if (nparts == 0) {
        caught = true;
        if (caught_up && (r = caught_up(opaque)) != 0)
            goto out;
        if (!follow)
            goto out;
    }
    while (!td_signal_stop_requested()) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m) {
            if (!caught && td_time_mono_ms() > deadline) {
                r = td_error_set(err, -ETIMEDOUT, "kafka: nothing came from the broker for %" PRId64
                                 " ms before the end of the topics (is it reachable? timeout: "
                                 "in the config)", c->timeout_ms);
                goto out;
            }
            continue;
        }
        deadline = td_time_mono_ms() + c->timeout_ms; /* progress: the wait starts again */
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            const char *tn = rd_kafka_topic_name(m->rkt);
            for (size_t i = 0; i < nparts; i++)
                if (!parts[i].eof && parts[i].partition == m->partition &&
                    strcmp(parts[i].topic, tn) == 0) {
                    parts[i].eof = true;
                    neof++;
                }
            rd_kafka_message_destroy(m);
        } else if (m->err) {
            bool fatal = m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                         m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
            if (fatal)
                r = td_error_set(err, -EIO, "kafka: %s: %s",
                                 m->rkt ? rd_kafka_topic_name(m->rkt) : "",
                                 rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            if (fatal)
                goto out;
            continue;
        } else {
            r = fn(m, opaque);
            rd_kafka_message_destroy(m);
            if (r != 0)
                goto out;
        }
        if (!caught && neof == nparts) {
            caught = true;
            if (caught_up && (r = caught_up(opaque)) != 0)
                goto out;
            if (!follow)
                break;
        }
    }
    if (r == 0 && !caught)
        r = td_error_set(err, -EINTR, "interrupted before the end of the topics: nothing shown");
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    free(parts);
    td_kafka_destroy(rk);
    return r;
}
