#include "tdc_config.h"

#include "td_str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TD_SCHEMAS_DIR
#define TD_SCHEMAS_DIR "/usr/share/tuodi/schemas"
#endif

static const char *const tdc_log_levels[] = {"error", "warning", "notice", "info", "debug", NULL};

static const td_cfg_entry tdc_topics_table[] = {
    TD_CFG_STRING("records", tdc_topics_config, records, NULL,
                  "Topic for the dataset's records (default: the dataset's, e.g. tuodi.medical_insurance.settlements)"),
    TD_CFG_STRING("dlq", tdc_topics_config, dlq, NULL,
                  "Dead-letter topic for rejected rows (default: tuodi.dlq.<dataset>)"),
    TD_CFG_STRING("offsets", tdc_topics_config, offsets, NULL,
                  "Compacted topic of this instance's source positions (default: "
                  "tuodi.connect.offsets.<instance>, one per instance so that ACLs keep "
                  "departments apart)"),
    TD_CFG_BOOL("create", tdc_topics_config, create, "true",
                "Create missing topics at start (the offsets topic compacted)"),
    TD_CFG_INT("partitions", tdc_topics_config, partitions, "6", 1, 10000,
               "Partitions of topics this connector creates"),
    TD_CFG_INT("replication_factor", tdc_topics_config, replication_factor, "1", 1, 16,
               "Replication factor of topics this connector creates"),
    TD_CFG_DURATION("retention", tdc_topics_config, retention_ms, "400d", 86400000,
                    (int64_t)3650 * 86400000,
                    "Retention of the records topic this connector creates (the roster's is "
                    "compacted instead): tuodi-matchd rebuilds its state from at least 400 days"),
    TD_CFG_DURATION("dlq_retention", tdc_topics_config, dlq_retention_ms, "90d", 86400000,
                    (int64_t)3650 * 86400000, "Retention of the DLQ topic this connector creates"),
    TD_CFG_END,
};

static const td_cfg_entry tdc_source_table[] = {
    TD_CFG_SECTION("spooldir", tdc_source_config, spooldir, tdc_spooldir_config_table,
                   "CSV files dropped into a spool directory", TD_CFG_OPTIONAL),
    TD_CFG_SECTION("postgres", tdc_source_config, postgres, tdc_postgres_config_table,
                   "A PostgreSQL table read incrementally (mode: snapshot, timestamp or logical)",
                   TD_CFG_OPTIONAL),
    TD_CFG_END,
};

static const td_cfg_entry tdc_txn_table[] = {
    TD_CFG_INT("max_records", tdc_txn_config, max_records, "10000", 1, 10000000,
               "Most rows in one Kafka transaction"),
    TD_CFG_DURATION("max_interval", tdc_txn_config, max_interval_ms, "1s", 1, 3600000,
                    "Longest a transaction stays open before it commits"),
    TD_CFG_DURATION("timeout", tdc_txn_config, timeout_ms, "30s", 1000, 3600000,
                    "How long one init or commit attempt may take before it is retried"),
    TD_CFG_END,
};

const td_cfg_entry tdc_config_table[] = {
    TD_CFG_STRING("instance", tdc_config, instance, NULL,
                  "Instance name (e.g. medical): names the transactional.id and the position key",
                  TD_CFG_REQUIRED),
    TD_CFG_ENUM("dataset", tdc_config, dataset, NULL, tdc_dataset_kind_names,
                "What the rows are", TD_CFG_REQUIRED),
    TD_CFG_PATH("schemas_dir", tdc_config, schemas_dir, TD_SCHEMAS_DIR,
                "Directory of the Avro schemas (*.avsc)"),
    TD_CFG_ENUM("log_level", tdc_config, log_level, "info", tdc_log_levels,
                "Most verbose level logged"),
    TD_CFG_KAFKA("kafka", tdc_config, kafka,
                 "librdkafka properties (bootstrap.servers, security, ...); the exactly-once settings are fixed",
                 TD_CFG_REQUIRED),
    TD_CFG_SECTION("topics", tdc_config, topics, tdc_topics_table, "Topics"),
    TD_CFG_SECTION("source", tdc_config, source, tdc_source_table,
                   "Where rows come from: exactly one of spooldir or postgres", TD_CFG_REQUIRED),
    TD_CFG_SECTION("mapping", tdc_config, mapping, tdc_mapping_config_table,
                   "Column names and code values of the department's data"),
    TD_CFG_SECTION("transaction", tdc_config, transaction, tdc_txn_table,
                   "Kafka transactions"),
    TD_CFG_SECTION("http", tdc_config, http, td_http_config_table,
                   "The HTTP endpoint: /metrics (Prometheus), /health and /ready "
                   "(docs/monitoring.md); off unless listen is set", TD_CFG_OPTIONAL),
    TD_CFG_END,
};

static int tdc_config_default(char **slot, const char *fmt, const char *arg)
{
    char buf[256];

    if (*slot)
        return 0;
    snprintf(buf, sizeof(buf), fmt, arg);
    *slot = strdup(buf);
    return *slot ? 0 : -ENOMEM;
}

int tdc_config_load(const char *path, tdc_config *cfg, td_error *err)
{
    bool spool, pg;
    int r;

    r = td_config_load_file(tdc_config_table, path, cfg, err);
    if (r < 0)
        return r;
    spool = cfg->source.spooldir.input_dir != NULL;
    pg = cfg->source.postgres.conninfo != NULL;
    if (spool == pg) {
        r = td_error_set(err, -EINVAL, "%s: source: set exactly one of source.spooldir "
                         "and source.postgres", path);
        goto fail;
    }
    cfg->use_postgres = pg;
    if (!td_str_name_ok(cfg->instance, /* max= */ 100)) {
        r = td_error_set(err, -EINVAL, "%s: instance: use 1 to 100 letters, digits, '.', '_' "
                         "or '-' (it names the transactional.id)", path);
        goto fail;
    }
    if (!td_kafka_props_find(&cfg->kafka, "bootstrap.servers") &&
        !td_kafka_props_find(&cfg->kafka, "metadata.broker.list")) {
        r = td_error_set(err, -EINVAL, "%s: kafka: bootstrap.servers is required", path);
        goto fail;
    }
    if (tdc_config_default(&cfg->topics.records, "%s",
                           tdc_dataset_default_topic((tdc_dataset_kind)cfg->dataset)) < 0 ||
        tdc_config_default(&cfg->topics.dlq, "tuodi.dlq.%s",
                           tdc_dataset_kind_names[cfg->dataset]) < 0 ||
        tdc_config_default(&cfg->topics.offsets, TDC_OFFSETS_TOPIC_PREFIX "%s",
                           cfg->instance) < 0) {
        r = td_error_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    cfg->offsets_default = strncmp(cfg->topics.offsets, TDC_OFFSETS_TOPIC_PREFIX,
                                   strlen(TDC_OFFSETS_TOPIC_PREFIX)) == 0 &&
                           strcmp(cfg->topics.offsets + strlen(TDC_OFFSETS_TOPIC_PREFIX),
                                  cfg->instance) == 0;
    return 0;
fail:
    tdc_config_free(cfg);
    return r;
}

void tdc_config_free(tdc_config *cfg)
{
    if (!cfg)
        return;
    td_config_free(tdc_config_table, cfg);
    cfg->use_postgres = false;
    cfg->offsets_default = false;
}
