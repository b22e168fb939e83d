/* tdt_config: tuodictl's config file and the topics file, each from one
 * td_config table (docs/tuodictl.md has the reference). */
#include "tdt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifndef TDT_DATA_DIR
#define TDT_DATA_DIR "/usr/share/tuodi"
#endif

const char tdt_data_dir[] = TDT_DATA_DIR;

static const td_cfg_entry tdt_topics_table[] = {
    TD_CFG_STRING("roster", tdt_topic_names, roster, "tuodi.roster.households",
                  "Roster of households (compacted)"),
    TD_CFG_STRING("medical_insurance", tdt_topic_names, medical_insurance,
                  "tuodi.medical_insurance.settlements", "Medical insurance settlements"),
    TD_CFG_STRING("civil_affairs", tdt_topic_names, civil_affairs, "tuodi.civil_affairs.events",
                  "Civil affairs events"),
    TD_CFG_STRING("human_resources", tdt_topic_names, human_resources,
                  "tuodi.human_resources.events", "Human resources events"),
    TD_CFG_STRING("verifications_prefix", tdt_topic_names, verifications_prefix,
                  "tuodi.verifications.",
                  "Verification outcome topics: prefix + county code, prefix + unrouted "
                  "(tuodictl verify --county writes to the alert's county's)"),
    TD_CFG_STRING("dlq_roster", tdt_topic_names, dlq_roster, "tuodi.dlq.roster",
                  "Dead letters of the roster (tuodictl dead-letters --dataset roster)"),
    TD_CFG_STRING("dlq_medical_insurance", tdt_topic_names, dlq_medical_insurance,
                  "tuodi.dlq.medical_insurance", "Dead letters of medical insurance"),
    TD_CFG_STRING("dlq_civil_affairs", tdt_topic_names, dlq_civil_affairs,
                  "tuodi.dlq.civil_affairs", "Dead letters of civil affairs"),
    TD_CFG_STRING("dlq_human_resources", tdt_topic_names, dlq_human_resources,
                  "tuodi.dlq.human_resources", "Dead letters of human resources"),
    TD_CFG_STRING("dlq_verifications", tdt_topic_names, dlq_verifications,
                  "tuodi.dlq.verifications", "Rejected verification outcomes"),
    TD_CFG_STRING("alerts_prefix", tdt_topic_names, alerts_prefix, "tuodi.alerts.",
                  "Alert topics: prefix + county code, prefix + unrouted"),
    TD_CFG_STRING("suspects_prefix", tdt_topic_names, suspects_prefix, "tuodi.suspects.",
                  "Suspect lists (疑点数据清单): prefix + county code (tuodictl suspects, "
                  "report --quality)"),
    TD_CFG_STRING("connect_offsets_prefix", tdt_topic_names, connect_offsets_prefix,
                  "tuodi.connect.offsets.",
                  "The connectors' positions: prefix + instance, one compacted topic each"),
    TD_CFG_END,
};

const td_cfg_entry tdt_config_table[] = {
    TD_CFG_KAFKA("kafka", tdt_config, kafka,
                 "librdkafka properties; bootstrap.servers is needed by every command "
                 "that talks to Kafka"),
    TD_CFG_PATH("schemas_dir", tdt_config, schemas_dir, TDT_DATA_DIR "/schemas",
                "Directory of the *.avsc files (and history/)"),
    TD_CFG_PATH("places", tdt_config, places, TDT_DATA_DIR "/huainan-divisions.csv",
                "Division names: CSV code,name,parent_code,level,county_code,county_name"),
    TD_CFG_PATH("acls_file", tdt_config, acls_file, "acls.yaml",
                "The access policy (deploy/acls.yaml) of tuodictl acls apply; relative to "
                "this file"),
    TD_CFG_PATH("topics_file", tdt_config, topics_file, "topics.yaml",
                "Every topic with partitions, replication, policy, retention "
                "(tuodictl topics create)"),
    TD_CFG_STRING("topic_prefix", tdt_config, topic_prefix, "tuodi",
                  "Topic names starting with \"tuodi.\" start with this instead "
                  "(--prefix overrides)"),
    TD_CFG_INT("replication_factor", tdt_config, replication_factor, "0", 0, 16,
               "Replication factor for topics create (0: as the topics file says)"),
    TD_CFG_DURATION("timeout", tdt_config, timeout_ms, "30s", 1000, 3600000,
                    "How long to wait for the broker"),
    TD_CFG_SECTION("topics", tdt_config, topics, tdt_topics_table, "Topic names"),
    TD_CFG_STRINGS("counties", tdt_config, counties, ncounties,
                   "County codes (6 digits) for report; empty: every county of places"),
    TD_CFG_END,
};

static int tdt_config_check(tdt_config *c, const char *name, td_error *err)
{
    for (size_t i = 0; i < c->ncounties; i++) {
        const char *s = c->counties[i];
        bool ok = strlen(s) == 6;
        for (size_t k = 0; ok && k < 6; k++)
            ok = s[k] >= '0' && s[k] <= '9';
        if (!ok) {
            td_error_set(err, -EINVAL, "%s: counties[%zu]: \"%s\" is not a 6-digit county "
                         "code (e.g. 340421)", name, i, s);
            td_config_free(tdt_config_table, c);
            return -EINVAL;
        }
    }
    if (!*c->topic_prefix || strchr(c->topic_prefix, '/')) {
        td_error_set(err, -EINVAL, "%s: topic_prefix must be a non-empty topic name part", name);
        td_config_free(tdt_config_table, c);
        return -EINVAL;
    }
    return 0;
}

int tdt_config_load(const char *path, tdt_config *out, td_error *err)
{
    int r = td_config_load_file(tdt_config_table, path, out, err);
    if (r < 0)
        return r;
    return tdt_config_check(out, path, err);
}

int tdt_config_load_string(const char *name, const char *yaml, tdt_config *out, td_error *err)
{
    int r = td_config_load_string(tdt_config_table, name, yaml, out, err);
    if (r < 0)
        return r;
    return tdt_config_check(out, name ? name : "<string>", err);
}

void tdt_config_free(tdt_config *c)
{
    td_config_free(tdt_config_table, c);
}

char *tdt_topic_rename(const char *name, const char *prefix)
{
    static const char base[] = "tuodi.";
    size_t bl = sizeof(base) - 1;
    if (!name)
        return NULL;
    if (!prefix || strcmp(prefix, "tuodi") == 0 || strncmp(name, base, bl) != 0)
        return strdup(name);
    size_t n = strlen(prefix) + 1 + strlen(name + bl) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s.%s", prefix, name + bl);
    return s;
}

int tdt_config_set_prefix(tdt_config *c, const char *prefix)
{
    char **names[] = {&c->topics.roster, &c->topics.medical_insurance,
                      &c->topics.civil_affairs, &c->topics.human_resources,
                      &c->topics.verifications_prefix, &c->topics.dlq_roster,
                      &c->topics.dlq_medical_insurance, &c->topics.dlq_civil_affairs,
                      &c->topics.dlq_human_resources, &c->topics.dlq_verifications,
                      &c->topics.alerts_prefix, &c->topics.suspects_prefix,
                      &c->topics.connect_offsets_prefix};
    char *p = strdup(prefix);
    if (!p)
        return -ENOMEM;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *n = tdt_topic_rename(*names[i], prefix);
        if (!n) {
            free(p);
            return -ENOMEM;
        }
        free(*names[i]);
        *names[i] = n;
    }
    free(c->topic_prefix);
    c->topic_prefix = p;
    return 0;
}

char *tdt_verification_topic(const tdt_config *c, const char *county)
{
    size_t n = strlen(c->topics.verifications_prefix) + strlen(county) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s", c->topics.verifications_prefix, county);
    return s;
}

char *tdt_alert_topic(const tdt_config *c, const char *county)
{
    size_t n = strlen(c->topics.alerts_prefix) + strlen(county) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s", c->topics.alerts_prefix, county);
    return s;
}

char *tdt_suspect_topic(const tdt_config *c, const char *county)
{
    size_t n = strlen(c->topics.suspects_prefix) + strlen(county) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s", c->topics.suspects_prefix, county);
    return s;
}

/* ---- the topics file ---- */

static const char *const tdt_cleanup_names[] = {"delete", "compact", NULL};

static const td_cfg_entry tdt_topic_def_table[] = {
    TD_CFG_STRING("name", tdt_topic_def, name, NULL, "Topic name", TD_CFG_REQUIRED),
    TD_CFG_INT("partitions", tdt_topic_def, partitions, NULL, 1, 10000, "Partitions",
               TD_CFG_REQUIRED),
    TD_CFG_INT("replication_factor", tdt_topic_def, replication_factor, "3", 1, 16,
               "Replicas of each partition"),
    TD_CFG_ENUM("cleanup_policy", tdt_topic_def, cleanup_policy, "delete", tdt_cleanup_names,
                "cleanup.policy"),
    TD_CFG_DURATION("retention", tdt_topic_def, retention_ms, "0", 0,
                    INT64_C(100) * 366 * 86400000, "retention.ms (0: the broker's default)"),
    TD_CFG_DURATION("min_compaction_lag", tdt_topic_def, min_compaction_lag_ms, "0", 0,
                    INT64_C(100) * 366 * 86400000,
                    "min.compaction.lag.ms of a compacted topic (0: the broker's default)"),
    TD_CFG_STRING("doc", tdt_topic_def, doc, "", "What the topic holds"),
    TD_CFG_MAP("config", tdt_topic_def, config, "Further topic configs, as Kafka names them"),
    TD_CFG_END,
};

const td_cfg_entry tdt_topics_file_table[] = {
    TD_CFG_SECTIONS("topics", tdt_topics_file, topics, ntopics, tdt_topic_def,
                    tdt_topic_def_table, "Every topic", TD_CFG_REQUIRED),
    TD_CFG_END,
};

static int tdt_topics_file_check(tdt_topics_file *f, const char *name, td_error *err)
{
    int r = 0;
    for (size_t i = 0; i < f->ntopics; i++) {
        const tdt_topic_def *t = &f->topics[i];
        if (!*t->name || strlen(t->name) > 249)
            r = td_error_append(err, -EINVAL, "%s: topics[%zu]: empty or too long name", name, i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(f->topics[j].name, t->name) == 0)
                r = td_error_append(err, -EINVAL, "%s: topics[%zu]: %s is listed twice "
                                    "(first as topics[%zu])", name, i, t->name, j);
        if (t->cleanup_policy == TDT_CLEANUP_COMPACT && t->retention_ms > 0)
            r = td_error_append(err, -EINVAL, "%s: topics[%zu] (%s): a compacted topic keeps "
                                "the last value of every key; remove retention", name, i,
                                t->name);
        if (t->cleanup_policy != TDT_CLEANUP_COMPACT && t->min_compaction_lag_ms > 0)
            r = td_error_append(err, -EINVAL, "%s: topics[%zu] (%s): min_compaction_lag "
                                "applies to a compacted topic only (cleanup_policy: compact)",
                                name, i, t->name);
        for (size_t k = 0; k < t->config.n; k++) {
            const char *key = t->config.v[k].key;
            if (strcmp(key, "cleanup.policy") == 0 || strcmp(key, "retention.ms") == 0 ||
                strcmp(key, "min.compaction.lag.ms") == 0)
                r = td_error_append(err, -EINVAL, "%s: %s: write %s as %s, not under config",
                                    t->config.v[k].origin, key, key,
                                    key[0] == 'c'   ? "cleanup_policy"
                                    : key[0] == 'r' ? "retention"
                                                    : "min_compaction_lag");
        }
    }
    if (r < 0)
        td_config_free(tdt_topics_file_table, f);
    return r;
}

int tdt_topics_file_load(const char *path, tdt_topics_file *out, td_error *err)
{
    int r = td_config_load_file(tdt_topics_file_table, path, out, err);
    if (r < 0)
        return r;
    td_error_clear(err);
    return tdt_topics_file_check(out, path, err);
}

int tdt_topics_file_load_string(const char *name, const char *yaml, tdt_topics_file *out,
                                td_error *err)
{
    int r = td_config_load_string(tdt_topics_file_table, name, yaml, out, err);
    if (r < 0)
        return r;
    td_error_clear(err);
    return tdt_topics_file_check(out, name ? name : "<string>", err);
}

void tdt_topics_file_free(tdt_topics_file *f)
{
    td_config_free(tdt_topics_file_table, f);
}
