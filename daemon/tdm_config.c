#include "tdm_config.h"

#include "td_str.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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
    TD_CFG_STRING("verifications_prefix", tdm_topics_config, verifications_prefix,
                  "tuodi.verifications.",
                  "Prefix of the verification outcome topics (key alert id), one per county: "
                  "<prefix><county code>, <prefix>unrouted; matchd reads every one that exists "
                  "and rejects an outcome for an alert of another county than its topic's"),
    TD_CFG_STRING("dlq_roster", tdm_topics_config, dlq_roster, "tuodi.dlq.roster",
                  "Dead letters of the roster topic: records matchd cannot decode or apply "
                  "(shared with the roster connector's rejected rows)"),
    TD_CFG_STRING("dlq_medical_insurance", tdm_topics_config, dlq_medical,
                  "tuodi.dlq.medical_insurance",
                  "Dead letters of medical settlements matchd cannot decode or use"),
    TD_CFG_STRING("dlq_civil_affairs", tdm_topics_config, dlq_civil, "tuodi.dlq.civil_affairs",
                  "Dead letters of civil-affairs events matchd cannot decode or use"),
    TD_CFG_STRING("dlq_human_resources", tdm_topics_config, dlq_hr,
                  "tuodi.dlq.human_resources",
                  "Dead letters of employment events matchd cannot decode or use"),
    TD_CFG_STRING("dlq_verifications", tdm_topics_config, dlq_verifications,
                  "tuodi.dlq.verifications",
                  "Rejected verification outcomes (undecodable, unknown alert, two-person rule, "
                  "an alert of another county than its topic's)"),
    TD_CFG_STRING("alerts_prefix", tdm_topics_config, alerts_prefix, "tuodi.alerts.",
                  "Prefix of the alert topics: <prefix><county code> or <prefix>unrouted"),
    TD_CFG_STRING("suspects_prefix", tdm_topics_config, suspects_prefix, "tuodi.suspects.",
                  "Prefix of the suspect topics (the suspicious-data list, key village code): "
                  "<prefix><county code> or <prefix>unrouted; created with alert_partitions"),
    TD_CFG_STRING("clock", tdm_topics_config, clock, NULL,
                  "This daemon's clock ticks (one partition; it writes them in its own "
                  "transactions and reads them back as input); default "
                  "tuodi.matchd.<group_id>.clock"),
    TD_CFG_INT("alert_partitions", tdm_topics_config, alert_partitions, "3", 1, 10000,
               "Partitions of the alert topics this daemon creates (it creates DLQ topics "
               "with one, as deploy/topics.yaml)"),
    TD_CFG_INT("replication_factor", tdm_topics_config, replication_factor, "1", 1, 16,
               "Replication factor of topics this daemon creates"),
    TD_CFG_END,
};

static const td_cfg_entry tdm_txn_table[] = {
    TD_CFG_INT("max_records", tdm_txn_config, max_records, "10000", 1, 10000000,
               "Most input records in one Kafka transaction"),
    TD_CFG_DURATION("max_interval", tdm_txn_config, max_interval_ms, "1s", 1, 3600000,
                    "Longest a transaction stays open before it commits"),
    TD_CFG_DURATION("timeout", tdm_txn_config, timeout_ms, "30s", 1000, 3600000,
                    "How long one init, send-offsets or commit may take"),
    TD_CFG_END,
};

static const td_cfg_entry tdm_clock_table[] = {
    TD_CFG_DURATION("tick_interval", tdm_clock_config, tick_interval_ms, "1m", 0, 86400000,
                    "When no input has moved the stream clock for this long, a tick with the "
                    "wall-clock time is written to topics.clock (0: never; the clock then "
                    "moves only with the inputs' timestamps)"),
    TD_CFG_DURATION("lateness", tdm_clock_config, lateness_ms, "365d", 86400000,
                    (int64_t)3650 * 86400000,
                    "How late (by the stream clock) a record may come and still count in "
                    "windows; older window history is forgotten"),
    TD_CFG_DURATION("max_idle", tdm_clock_config, max_idle_ms, "5s", 0, 3600000,
                    "How long to wait for a partition that has data but none fetched yet "
                    "before merging the others without it (order then depends on timing)"),
    TD_CFG_END,
};

static const td_cfg_entry tdm_alerts_table[] = {
    TD_CFG_DURATION("max_event_age", tdm_alerts_config, max_event_age_ms, "365d", 0,
                    (int64_t)3650 * 86400000,
                    "A record whose event date is more than this many whole days before the "
                    "stream clock's day raises no alert of its own (a department's history): it "
                    "still counts in windows and signals, and a window rule it brings over the "
                    "threshold is judged on the window as it stands today. Held-back records are "
                    "logged once per batch and counted (docs/matchd-design.md, \"Old records\")"),
    TD_CFG_END,
};

/* Defaults as in tdm_store.h (TDM_STORE_DEFAULT_MAP_SIZE and _MAX_MAP_SIZE;
 * tests/daemon/test_matchd_config.c checks that they agree). */
static const td_cfg_entry tdm_store_table[] = {
    TD_CFG_SIZE("map_size", tdm_store_config, map_size, "32GiB", (int64_t)1 << 20,
                (int64_t)1 << 50,
                "Size of the LMDB map the state store opens with (address space, not memory "
                "or disk: the file grows only as data is written); it grows by itself when "
                "full, up to max_map_size. The default holds a province's roster of 30 million "
                "persons about three times over"),
    TD_CFG_SIZE("max_map_size", tdm_store_config, max_map_size, "1TiB", (int64_t)1 << 20,
                (int64_t)1 << 50,
                "Most the map may grow to; a state that needs more stops tuodi-matchd with "
                "\"raise store.max_map_size\" (at least map_size)"),
    TD_CFG_DURATION("closed_retention", tdm_store_config, closed_retention_ms, "400d",
                    86400000, (int64_t)3650 * 86400000,
                    "How long (by the stream clock, whole days) a closed alert or a resolved or "
                    "closed suspect stays in the state's indexes; an outcome for one pruned "
                    "after it is dead-lettered as unknown. The default is the department "
                    "topics' retention"),
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
    TD_CFG_INT("rules_max_drop_percent", tdm_config, rules_max_drop_percent, "50", 0, 100,
               "A reload (SIGHUP) that drops more than this percentage of the running rules is "
               "refused and the running rules stay (a cut file?); one that drops all of them "
               "always is. A rules file that says expected_rules: N is an intended change and "
               "passes (docs/rules.md)"),
    TD_CFG_PATH("calendar", tdm_config, calendar, TDM_CALENDAR_DEFAULT,
                "China's working days for the due dates: the public holidays and make-up "
                "working days (调休) of the State Council's notices, one year per notice "
                "(docs/operations.md, \"Next year's holidays\"); a year it does not cover counts "
                "Monday to Friday, with a warning. SIGHUP reloads it. Missing at the default "
                "path: a warning; missing where this key points: an error"),
    TD_CFG_PATH("schemas_dir", tdm_config, schemas_dir, TD_SCHEMAS_DIR,
                "Directory of the Avro schemas (*.avsc)"),
    TD_CFG_ENUM("log_level", tdm_config, log_level, "info", tdm_log_levels,
                "Most verbose level logged"),
    TD_CFG_DURATION("progress_interval", tdm_config, progress_interval_ms, "10s", 1, 3600000,
                    "While loading the roster or restoring the state at start-up, log the "
                    "progress (percent, records/s, time left) at most this often; STATUS= "
                    "says the same every second"),
    TD_CFG_BOOL("suspects", tdm_config, suspects, "true",
                "Keep the suspicious-data list (疑点数据清单): department facts per person, the "
                "suspect rules of the rules file evaluated, Suspect messages produced. false: "
                "off (as a rules file without suspect rules); facts that come while it is off "
                "are not known when it is turned on again"),
    TD_CFG_SECTION("topics", tdm_config, topics, tdm_topics_table, "Topics"),
    TD_CFG_SECTION("transaction", tdm_config, transaction, tdm_txn_table, "Kafka transactions"),
    TD_CFG_SECTION("clock", tdm_config, clock, tdm_clock_table,
                   "The stream clock: the order of the inputs, ticks, lateness"),
    TD_CFG_SECTION("alerts", tdm_config, alerts, tdm_alerts_table,
                   "Which records raise alerts (the policy for old records)"),
    TD_CFG_SECTION("store", tdm_config, store, tdm_store_table,
                   "The LMDB state store under state_dir"),
    TD_CFG_SECTION("http", tdm_config, http, td_http_config_table,
                   "The HTTP endpoint: /metrics (Prometheus), /health, /ready "
                   "(docs/monitoring.md)", TD_CFG_OPTIONAL),
    TD_CFG_END,
};

int tdm_config_load(const char *path, tdm_config *cfg, td_error *err)
{
    int r = td_config_load_file(tdm_config_table, path, cfg, err);

    if (r < 0)
        return r;
    if (!td_str_name_ok(cfg->group_id, /* max= */ 100)) {
        r = td_error_set(err, -EINVAL, "%s: group_id: use 1 to 100 letters, digits, '.', '_' "
                         "or '-' (it names the transactional.id)", path);
        goto fail;
    }
    if (!td_kafka_props_find(&cfg->kafka, "bootstrap.servers") &&
        !td_kafka_props_find(&cfg->kafka, "metadata.broker.list")) {
        r = td_error_set(err, -EINVAL, "%s: kafka: bootstrap.servers is required", path);
        goto fail;
    }
    if (!cfg->topics.clock) {
        size_t n = strlen("tuodi.matchd..clock") + strlen(cfg->group_id) + 1;
        cfg->topics.clock = malloc(n);
        if (!cfg->topics.clock) {
            r = td_error_set(err, -ENOMEM, "out of memory");
            goto fail;
        }
        snprintf(cfg->topics.clock, n, "tuodi.matchd.%s.clock", cfg->group_id);
    }
    if (cfg->store.max_map_size < cfg->store.map_size) {
        r = td_error_set(err, -EINVAL, "%s: store.max_map_size is below store.map_size", path);
        goto fail;
    }
    if (!cfg->topics.alerts_prefix || strlen(cfg->topics.alerts_prefix) > 200) {
        r = td_error_set(err, -EINVAL, "%s: topics.alerts_prefix: at most 200 bytes", path);
        goto fail;
    }
    if (!cfg->topics.suspects_prefix || strlen(cfg->topics.suspects_prefix) > 200) {
        r = td_error_set(err, -EINVAL, "%s: topics.suspects_prefix: at most 200 bytes", path);
        goto fail;
    }
    if (!td_str_name_ok(cfg->topics.verifications_prefix, /* max= */ 100)) {
        char where[512];
        if (td_config_origin(path, "topics.verifications_prefix", where, sizeof(where)) < 0)
            snprintf(where, sizeof(where), "%s", path);
        r = td_error_set(err, -EINVAL, "%s: topics.verifications_prefix: use 1 to 100 letters, "
                         "digits, '.', '_' or '-' (the topics are <prefix><county code>, e.g. "
                         "tuodi.verifications.340421)", where);
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
