/* tdt_topics: tuodictl topics create. Existing topics are compared through
 * the metadata (partitions) and DescribeConfigs (cleanup.policy,
 * retention.ms, min.compaction.lag.ms); missing ones are created with td_kafka_topics_ensure. */
#include "tdt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int tdt_topics_plan(const tdt_topics_file *f, const char *prefix, int rf_override,
                    tdt_topic_plan **ret, size_t *ret_n, td_error *err)
{
    tdt_topic_plan *p = calloc(f->ntopics ? f->ntopics : 1, sizeof(*p));
    if (!p)
        return td_error_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < f->ntopics; i++) {
        p[i].def = &f->topics[i];
        p[i].name = tdt_topic_rename(f->topics[i].name, prefix);
        p[i].replication_factor =
            rf_override > 0 ? rf_override : (int)f->topics[i].replication_factor;
        if (!p[i].name) {
            tdt_topics_plan_free(p, i);
            return td_error_set(err, -ENOMEM, "out of memory");
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(p[j].name, p[i].name) == 0) {
                td_error_set(err, -EINVAL, "topics %s and %s are both %s under prefix %s",
                             f->topics[j].name, f->topics[i].name, p[i].name, prefix);
                tdt_topics_plan_free(p, i + 1);
                return -EINVAL;
            }
    }
    *ret = p;
    *ret_n = f->ntopics;
    return 0;
}

void tdt_topics_plan_free(tdt_topic_plan *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++)
        free(p[i].name);
    free(p);
}

static const char *tdt_policy_name(int p)
{
    return p == TDT_CLEANUP_COMPACT ? "compact" : "delete";
}

/* Fills cleanup.policy, retention.ms and min.compaction.lag.ms of the n
 * existing topics in names[] into policy[] / retention[] / lag[] (retention
 * and lag -2 when unknown). Asks
 * broker (a broker that is up, from td_kafka_metadata; -1: the controller):
 * librdkafka 2.0.2 would ask the controller it has cached, which can be a
 * node that has just died, and loop on connecting to it (see td_kafka.c). */
static int tdt_describe(rd_kafka_t *rk, int32_t broker, char **names, size_t n,
                        char (*policy)[32], int64_t *retention, int64_t *lag, int timeout_ms,
                        td_error *err)
{
    rd_kafka_ConfigResource_t **res = calloc(n ? n : 1, sizeof(*res));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_event_t *ev = NULL;
    char errstr[256];
    int r = 0;

    if (!res || !q || !opt) {
        r = td_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    rd_kafka_AdminOptions_set_request_timeout(opt, timeout_ms, errstr, sizeof(errstr));
    if (broker >= 0)
        rd_kafka_AdminOptions_set_broker(opt, broker, errstr, sizeof(errstr));
    for (size_t i = 0; i < n; i++)
        res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, names[i]);
    rd_kafka_DescribeConfigs(rk, res, n, opt, q);
    ev = rd_kafka_queue_poll(q, timeout_ms + 5000);
    if (!ev) {
        r = td_error_set(err, -ETIMEDOUT, "kafka: DescribeConfigs got no answer within %d ms",
                         timeout_ms);
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        r = td_error_set(err, -EIO, "kafka: DescribeConfigs: %s", rd_kafka_event_error_string(ev));
        goto out;
    }
    {
        const rd_kafka_DescribeConfigs_result_t *res_ev = rd_kafka_event_DescribeConfigs_result(ev);
        size_t nr = 0;
        const rd_kafka_ConfigResource_t **rr = rd_kafka_DescribeConfigs_result_resources(res_ev, &nr);
        for (size_t i = 0; i < nr; i++) {
            const char *name = rd_kafka_ConfigResource_name(rr[i]);
            size_t k, ne = 0;
            const rd_kafka_ConfigEntry_t **ents;
            for (k = 0; k < n; k++)
                if (strcmp(names[k], name) == 0)
                    break;
            if (k == n)
                continue;
            if (rd_kafka_ConfigResource_error(rr[i])) {
                r = td_error_set(err, -EIO, "kafka: topic %s: DescribeConfigs: %s", name,
                                 rd_kafka_ConfigResource_error_string(rr[i]));
                goto out;
            }
            ents = rd_kafka_ConfigResource_configs(rr[i], &ne);
            for (size_t e = 0; e < ne; e++) {
                const char *en = rd_kafka_ConfigEntry_name(ents[e]);
                const char *ev2 = rd_kafka_ConfigEntry_value(ents[e]);
                if (!ev2)
                    continue;
                if (strcmp(en, "cleanup.policy") == 0)
                    snprintf(policy[k], sizeof(policy[k]), "%s", ev2);
                else if (strcmp(en, "retention.ms") == 0)
                    retention[k] = strtoll(ev2, NULL, 10);
                else if (strcmp(en, "min.compaction.lag.ms") == 0)
                    lag[k] = strtoll(ev2, NULL, 10);
            }
        }
    }
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    for (size_t i = 0; res && i < n; i++)
        if (res[i])
            rd_kafka_ConfigResource_destroy(res[i]);
    free(res);
    if (opt)
        rd_kafka_AdminOptions_destroy(opt);
    if (q)
        rd_kafka_queue_destroy(q);
    return r;
}

static void tdt_fmt_retention(int64_t ms, char *buf, size_t size)
{
    if (ms <= 0)
        snprintf(buf, size, ms == -1 ? "forever" : "broker default");
    else if (ms % 86400000 == 0)
        snprintf(buf, size, "%" PRId64 "d", ms / 86400000);
    else if (ms % 3600000 == 0)
        snprintf(buf, size, "%" PRId64 "h", ms / 3600000);
    else
        snprintf(buf, size, "%" PRId64 "ms", ms);
}

int tdt_topics_create(const tdt_config *c, tdt_topic_plan *p, size_t n, bool dry_run,
                      FILE *out, td_error *err)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    const struct rd_kafka_metadata *md = NULL;
    char **existing = NULL;
    size_t *idx = NULL, nex = 0, ncreate = 0, nconflict = 0;
    char (*policy)[32] = NULL;
    int64_t *retention = NULL, *lag = NULL;
    td_kafka_props *cfgs = NULL;
    td_kafka_topic_spec *specs = NULL;
    rd_kafka_resp_err_t x;
    size_t namew = 0;
    tdt_kafka_diag diag;
    int r;

    if (!td_kafka_props_find(&c->kafka, "bootstrap.servers"))
        return td_error_set(err, -EINVAL, "no kafka: bootstrap.servers in the config: add the "
                            "broker addresses (host:port,...)");
    r = td_kafka_producer_conf_new(NULL, NULL, &c->kafka, &conf, err);
    if (r < 0)
        return r;
    tdt_kafka_diag_init(&diag, c->verbose);
    tdt_kafka_diag_install(&diag, conf);
    r = td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, err);
    if (r < 0)
        goto out;
    x = tdt_kafka_metadata(rk, c->timeout_ms, &md);
    if (x != RD_KAFKA_RESP_ERR_NO_ERROR) {
        md = NULL;
        r = tdt_kafka_unreachable(&diag, "nothing was created", err, "cannot reach a broker "
                                  "at %s within %" PRId64 " ms",
                                  td_kafka_props_find(&c->kafka, "bootstrap.servers")->value,
                                  c->timeout_ms);
        goto out;
    }
    existing = calloc(n ? n : 1, sizeof(*existing));
    idx = calloc(n ? n : 1, sizeof(*idx));
    policy = calloc(n ? n : 1, sizeof(*policy));
    retention = calloc(n ? n : 1, sizeof(*retention));
    lag = calloc(n ? n : 1, sizeof(*lag));
    cfgs = calloc(n ? n : 1, sizeof(*cfgs));
    specs = calloc(n ? n : 1, sizeof(*specs));
    if (!existing || !idx || !policy || !retention || !lag || !cfgs || !specs) {
        r = td_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct rd_kafka_metadata_topic *mt = NULL;
        size_t w = tdt_display_width(p[i].name);
        if (w > namew)
            namew = w;
        for (int t = 0; t < md->topic_cnt; t++)
            if (strcmp(md->topics[t].topic, p[i].name) == 0 && md->topics[t].err == 0)
                mt = &md->topics[t];
        if (!mt) {
            p[i].status = TDT_TOPIC_CREATE;
            continue;
        }
        p[i].status = TDT_TOPIC_OK;
        if (mt->partition_cnt != p[i].def->partitions) {
            p[i].status = TDT_TOPIC_CONFLICT;
            snprintf(p[i].note, sizeof(p[i].note), "has %d partitions, the topics file says %"
                     PRId64 " (keys would move to other partitions: recreate it or change "
                     "the file)", mt->partition_cnt, p[i].def->partitions);
        }
        existing[nex] = p[i].name;
        idx[nex] = i;
        retention[nex] = -2;
        lag[nex] = -2;
        nex++;
    }
    if (nex > 0) {
        r = tdt_describe(rk, md->orig_broker_id, existing, nex, policy, retention, lag,
                         (int)c->timeout_ms, err);
        if (r < 0)
            goto out;
    }
    for (size_t k = 0; k < nex; k++) {
        tdt_topic_plan *t = &p[idx[k]];
        const char *want = tdt_policy_name(t->def->cleanup_policy);
        if (t->status == TDT_TOPIC_CONFLICT)
            continue;
        if (policy[k][0] && strcmp(policy[k], want) != 0) {
            t->status = TDT_TOPIC_CONFLICT;
            snprintf(t->note, sizeof(t->note), "has cleanup.policy=%s, the topics file says %s "
                     "(change it with kafka-configs.sh --alter, or fix the file)", policy[k],
                     want);
        } else if (t->def->retention_ms > 0 && retention[k] != -2 &&
                   retention[k] != t->def->retention_ms) {
            char a[32], b[32];
            tdt_fmt_retention(retention[k], a, sizeof(a));
            tdt_fmt_retention(t->def->retention_ms, b, sizeof(b));
            snprintf(t->note, sizeof(t->note), "retention is %s, the topics file says %s (not "
                     "changed: alter it with kafka-configs.sh if meant)", a, b);
        } else if (t->def->min_compaction_lag_ms > 0 && lag[k] != -2 &&
                   lag[k] != t->def->min_compaction_lag_ms) {
            char a[32], b[32];
            tdt_fmt_retention(lag[k], a, sizeof(a));
            tdt_fmt_retention(t->def->min_compaction_lag_ms, b, sizeof(b));
            snprintf(t->note, sizeof(t->note), "min.compaction.lag.ms is %s, the topics file "
                     "says %s (not changed: alter it with kafka-configs.sh if meant)",
                     lag[k] == 0 ? "0" : a, b);
        }
    }
    /* The topics to create. */
    for (size_t i = 0; i < n; i++) {
        const tdt_topic_def *d = p[i].def;
        char num[32];
        if (p[i].status != TDT_TOPIC_CREATE)
            continue;
        if (td_kafka_props_add(&cfgs[ncreate], "cleanup.policy",
                               tdt_policy_name(d->cleanup_policy), NULL) < 0) {
            r = td_error_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        if (d->retention_ms > 0) {
            snprintf(num, sizeof(num), "%" PRId64, d->retention_ms);
            if (td_kafka_props_add(&cfgs[ncreate], "retention.ms", num, NULL) < 0) {
                r = td_error_set(err, -ENOMEM, "out of memory");
                goto out;
            }
        }
        if (d->min_compaction_lag_ms > 0) {
            snprintf(num, sizeof(num), "%" PRId64, d->min_compaction_lag_ms);
            if (td_kafka_props_add(&cfgs[ncreate], "min.compaction.lag.ms", num, NULL) < 0) {
                r = td_error_set(err, -ENOMEM, "out of memory");
                goto out;
            }
        }
        for (size_t k = 0; k < d->config.n; k++)
            if (td_kafka_props_add(&cfgs[ncreate], d->config.v[k].key, d->config.v[k].value,
                                   d->config.v[k].origin) < 0) {
                r = td_error_set(err, -ENOMEM, "out of memory");
                goto out;
            }
        specs[ncreate].name = p[i].name;
        specs[ncreate].partitions = (int)d->partitions;
        specs[ncreate].replication_factor = p[i].replication_factor;
        specs[ncreate].config = &cfgs[ncreate];
        ncreate++;
    }
    if (!dry_run && ncreate > 0) {
        r = td_kafka_topics_ensure(rk, specs, ncreate, (int)c->timeout_ms, err);
        if (r < 0) {
            if (r == -EINVAL)
                td_error_append(err, r, "(a replication factor above the number of brokers is "
                                "refused: use --replication-factor N or replication_factor: "
                                "in the config)");
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const tdt_topic_def *d = p[i].def;
        char ret_s[32], what[64];
        const char *state;
        tdt_fmt_retention(d->retention_ms, ret_s, sizeof(ret_s));
        snprintf(what, sizeof(what), "%3" PRId64 " partition%s  rf %d  %-7s  %s", d->partitions,
                 d->partitions == 1 ? " " : "s", p[i].replication_factor, tdt_policy_name(d->cleanup_policy),
                 d->cleanup_policy == TDT_CLEANUP_COMPACT ? "" : ret_s);
        if (p[i].status == TDT_TOPIC_CREATE)
            state = dry_run ? "would create" : "created";
        else if (p[i].status == TDT_TOPIC_OK)
            state = "exists, ok";
        else
            state = "CONFLICT";
        fprintf(out, "%s", p[i].name);
        for (size_t k = tdt_display_width(p[i].name); k < namew + 2; k++)
            fputc(' ', out);
        fprintf(out, "%-52s  %s%s%s\n", what, state, p[i].note[0] ? ": " : "", p[i].note);
        if (p[i].status == TDT_TOPIC_CONFLICT)
            nconflict++;
    }
    if (nconflict > 0)
        r = td_error_set(err, -EEXIST, "%zu topic%s differ%s from the topics file (see above); "
                         "nothing was changed on %s", nconflict, nconflict == 1 ? "" : "s",
                         nconflict == 1 ? "s" : "", nconflict == 1 ? "it" : "them");
    else
        r = 0;
out:
    for (size_t i = 0; cfgs && i < n; i++)
        td_kafka_props_clear(&cfgs[i]);
    free(cfgs);
    free(specs);
    free(existing);
    free(idx);
    free(policy);
    free(retention);
    free(lag);
    if (md)
        rd_kafka_metadata_destroy(md);
    td_kafka_destroy(rk);
    tdt_kafka_diag_done(&diag);
    return r;
}
