/* tdc_config: tuodi-connector's configuration, one YAML file per instance
 * (/etc/tuodi/connectors/<instance>.yaml), described by one table
 * (tdc_config_table) that drives parsing, defaults, validation and the
 * reference in docs/connector-config.md.
 */
#ifndef TDC_CONFIG_H
#define TDC_CONFIG_H

#include "td_config.h"
#include "td_http.h"
#include "td_kafka.h"
#include "tdc_dataset.h"
#include "tdc_postgres.h"
#include "tdc_spooldir.h"

#include <stdbool.h>
#include <stdint.h>

/* The default positions topic is this followed by the instance name
 * (tuodi.connect.offsets.medical): one topic per instance, so that a
 * department's Kafka principal can be allowed to write its own positions
 * and no other's (an ACL names a topic, not a key). */
#define TDC_OFFSETS_TOPIC_PREFIX "tuodi.connect.offsets."
/* The one positions topic all instances shared before (keys
 * "<instance>/<source id>"); read once at start to take a position over
 * (docs/connector.md, "Positions"). */
#define TDC_OFFSETS_TOPIC_SHARED "tuodi.connect.offsets"

typedef struct tdc_topics_config {
    char *records;   /* default: the dataset's topic */
    char *dlq;       /* default: tuodi.dlq.<dataset> */
    char *offsets;   /* default: tuodi.connect.offsets.<instance> */
    bool create;     /* create missing topics at start */
    int64_t partitions;
    int64_t replication_factor;
    int64_t retention_ms;     /* of the records topic it creates (not the roster's) */
    int64_t dlq_retention_ms; /* of the DLQ topic it creates */
} tdc_topics_config;

typedef struct tdc_source_config {
    struct tdc_spooldir_config spooldir;
    struct tdc_postgres_config postgres;
} tdc_source_config;

typedef struct tdc_txn_config {
    int64_t max_records;    /* rows per transaction */
    int64_t max_interval_ms;/* the longest a transaction stays open */
    int64_t timeout_ms;     /* one commit/init attempt */
} tdc_txn_config;

typedef struct tdc_config {
    char *instance;
    int dataset;             /* tdc_dataset_kind */
    char *schemas_dir;
    int log_level;           /* index: error, warning, notice, info, debug */
    td_kafka_props kafka;
    tdc_topics_config topics;
    tdc_source_config source;
    struct tdc_mapping_config mapping;
    tdc_txn_config transaction;
    td_http_config http;     /* /metrics, /health, /ready; off unless http.listen */
    /* derived by tdc_config_load(), not from the file */
    bool use_postgres;
    bool offsets_default; /* topics.offsets is the default name, written or not */
} tdc_config;

extern const td_cfg_entry tdc_config_table[];

/* Loads and validates path into cfg (zeroed by the caller). Beyond the
 * table: exactly one of source.spooldir / source.postgres; an instance name
 * without '/'; topic defaults from the dataset and, for topics.offsets,
 * from the instance (offsets_default: it is that name). 0 or -errno with every
 * problem in err. Free with tdc_config_free(). */
int tdc_config_load(const char *path, tdc_config *cfg, td_error *err);
void tdc_config_free(tdc_config *cfg);

#endif
