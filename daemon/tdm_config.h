/* tdm_config: tuodi-matchd's YAML configuration (one table, td_config). */
#ifndef TDM_CONFIG_H
#define TDM_CONFIG_H

#include "td_config.h"
#include "td_error.h"
#include "td_http.h"
#include "td_kafka.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct tdm_topics_config {
    char *roster;
    char *medical;
    char *civil;
    char *hr;
    char *verifications_prefix; /* outcomes: <prefix><county>, <prefix>unrouted */
    char *dlq_roster;          /* dead letters of each input (docs/matchd-design.md) */
    char *dlq_medical;
    char *dlq_civil;
    char *dlq_hr;
    char *dlq_verifications;
    char *clock;               /* the daemon's clock ticks */
    char *alerts_prefix;       /* alert topics are <prefix><county> */
    char *suspects_prefix;     /* suspect topics are <prefix><county> */
    int64_t alert_partitions;
    int64_t replication_factor;
} tdm_topics_config;

typedef struct tdm_txn_config {
    int64_t max_records;
    int64_t max_interval_ms;
    int64_t timeout_ms;
} tdm_txn_config;

typedef struct tdm_clock_config {
    int64_t tick_interval_ms;  /* 0: no ticks */
    int64_t lateness_ms;
    int64_t max_idle_ms;
} tdm_clock_config;

typedef struct tdm_alerts_config {
    int64_t max_event_age_ms;  /* older events raise no alert (whole days) */
} tdm_alerts_config;

typedef struct tdm_store_config {
    int64_t map_size;          /* bytes the LMDB map starts with */
    int64_t max_map_size;      /* bytes it may grow to */
    int64_t closed_retention_ms; /* closed alerts and suspects stay indexed this long */
} tdm_store_config;

typedef struct tdm_config {
    td_kafka_props kafka;
    char *group_id;
    char *state_dir;
    char *rules;
    char *calendar;            /* China's holidays and make-up days (tdm_calendar.h) */
    int64_t rules_max_drop_percent; /* a reload may drop at most this share (%) */
    char *schemas_dir;
    int log_level;             /* index into error, warning, notice, info, debug */
    int64_t progress_interval_ms; /* start-up load progress lines at most this often */
    bool suspects;             /* the suspicious-data list (false: off whatever the rules) */
    tdm_topics_config topics;
    tdm_txn_config transaction;
    tdm_clock_config clock;
    tdm_alerts_config alerts;
    tdm_store_config store;
    td_http_config http;       /* /metrics, /health, /ready; off unless listen is set */
} tdm_config;

#ifndef TDM_DATA_DIR
#define TDM_DATA_DIR "/usr/share/tuodi"
#endif
/* The holiday file the package installs: calendar:'s default. A missing file
 * there is a warning (Monday to Friday), one that calendar: names an error. */
#define TDM_CALENDAR_DEFAULT TDM_DATA_DIR "/china-holidays.csv"

extern const td_cfg_entry tdm_config_table[];

/* Loads and checks path into cfg (zeroed). On error cfg holds nothing. */
int tdm_config_load(const char *path, tdm_config *cfg, td_error *err);
void tdm_config_free(tdm_config *cfg);

#endif
