#include "tdm_config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#ifndef TD_SCHEMAS_DIR
#define TD_SCHEMAS_DIR "/usr/share/tuodi/schemas"
#endif

static const char *const tdm_log_levels[] = {"error", "warning", "notice", "info", "debug", NULL};

static const td_cfg_entry tdm_topics_table[] = {
    TD_CFG_STRING("roster", tdm_topics_config, roster, "tuodi.roster.households",
                  "Compacted roster topic (Household records keyed by household id)"),
    TD_CFG_STRING("medical_insurance", tdm_topics_config, medical,
                  "tuodi.medical_insurance.settlements", "Medical settlements"),
    TD_CFG_STRING("civil_affairs", tdm_topics_config, civil, "tuodi.civil_affairs.events",
                  "Civil-affairs events"),
    TD_CFG_STRING("human_resources", tdm_topics_config, hr, "tuodi.human_resources.events",
                  "Employment events"),
    TD_CFG_STRING("verifications", tdm_topics_config, verifications, "tuodi.verifications",
                  "Verification outcomes (key alert id)"),
    TD_CFG_STRING("dlq_verifications", tdm_topics_config, dlq_verifications,
                  "tuodi.dlq.verifications", "Rejected verification outcomes"),
    TD_CFG_STRING("alerts_prefix", tdm_topics_config, alerts_prefix, "tuodi.alerts.",
                  "Prefix of the alert topics: <prefix><county code> or <prefix>unrouted"),
    TD_CFG_INT("alert_partitions", tdm_topics_config, alert_partitions, "3", 1, 10000,
               "Partitions of alert and DLQ topics this daemon creates"),
    TD_CFG_INT("replication_factor", tdm_topics_config, replication_factor, "1", 1, 16,
               "Replication factor of topics this daemon creates"),
    TD_CFG_END,
};

static const td_cfg_entry tdm_txn_table[] = {
    TD_CFG_INT("max_records", tdm_txn_config, max_records, "1000", 1, 10000000,
               "Most input records in one Kafka transaction"),
    TD_CFG_DURATION("max_interval", tdm_txn_config, max_interval_ms, "1s", 1, 3600000,
                    "Longest a transaction stays open before it commits"),
    TD_CFG_DURATION("timeout", tdm_txn_config, timeout_ms, "30s", 1000, 3600000,
                    "How long one init, send-offsets or commit may take"),
    TD_CFG_END,
};

const td_cfg_entry tdm_config_table[] = {
    TD_CFG_KAFKA("kafka", tdm_config, kafka,
                 "librdkafka properties (bootstrap.servers, security, ...); the exactly-once settings are fixed",
                 TD_CFG_REQUIRED),
    TD_CFG_STRING("group_id", tdm_config, group_id, "tuodi-matchd",
                  "Consumer group; names the transactional.id tuodi-matchd.<group_id>"),
    TD_CFG_PATH("state_dir", tdm_config, state_dir, "/var/lib/tuodi/matchd",
                "Directory of the LMDB state (rebuilt from Kafka when lost)"),
    TD_CFG_PATH("rules", tdm_config, rules, NULL, "The rules file (YAML)", TD_CFG_REQUIRED),
    TD_CFG_PATH("schemas_dir", tdm_config, schemas_dir, TD_SCHEMAS_DIR,
                "Directory of the Avro schemas (*.avsc)"),
    TD_CFG_ENUM("log_level", tdm_config, log_level, "info", tdm_log_levels,
                "Most verbose level logged"),
    TD_CFG_SECTION("topics", tdm_config, topics, tdm_topics_table, "Topics"),
    TD_CFG_SECTION("transaction", tdm_config, transaction, tdm_txn_table, "Kafka transactions"),
    TD_CFG_END,
};

static bool tdm_config_name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 100)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

int tdm_config_load(const char *path, tdm_config *cfg, td_error *err)
{
    int r = td_config_load_file(tdm_config_table, path, cfg, err);

    if (r < 0)
        return r;
    if (!tdm_config_name_ok(cfg->group_id)) {
        r = td_error_set(err, -EINVAL, "%s: group_id: use 1 to 100 letters, digits, '.', '_' "
                         "or '-' (it names the transactional.id)", path);
        goto fail;
    }
    if (!td_kafka_props_find(&cfg->kafka, "bootstrap.servers") &&
        !td_kafka_props_find(&cfg->kafka, "metadata.broker.list")) {
        r = td_error_set(err, -EINVAL, "%s: kafka: bootstrap.servers is required", path);
        goto fail;
    }
    if (!cfg->topics.alerts_prefix || strlen(cfg->topics.alerts_prefix) > 200) {
        r = td_error_set(err, -EINVAL, "%s: topics.alerts_prefix: at most 200 bytes", path);
        goto fail;
    }
    return 0;
fail:
    tdm_config_free(cfg);
    return r;
}

void tdm_config_free(tdm_config *cfg)
{
    if (cfg)
        td_config_free(tdm_config_table, cfg);
}
