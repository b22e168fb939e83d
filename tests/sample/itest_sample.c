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
#include "tds_it.h"

#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64], data[128], prefix[64];

/* ---------------------------------------------------------- what is read */

typedef struct alerts_seen {
    td_avro_decoder *dec;
    tds_it_list ids;         /* alert_id, one per alert */
    tds_it_list alerts;      /* rule,kind,subject,queue, the same index as ids */
    tds_it_list severities;  /* rule,kind,subject,queue,severity: the latest */
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
    if (strcmp(tds_it_enum_sym(v, "kind"), "ALERT") != 0) {
        s->other_kinds++;
        return;
    }
    const char *hid = tds_it_opt_str(v, "household_id");
    const char *subject = *hid ? hid : tds_it_opt_str(v, "person_key");
    const char *id = tds_it_opt_str(v, "alert_id"), *sev = tds_it_enum_sym(v, "severity");
    char srow[600];
    snprintf(row, sizeof(row), "%s,%s,%s,%s", tds_it_opt_str(v, "rule_id"),
             *hid ? "household" : "person", subject, queue);
    snprintf(srow, sizeof(srow), "%s,%s", row, sev);
    size_t i;
    for (i = 0; i < s->ids.n && strcmp(s->ids.v[i], id) != 0; i++)
        ;
    if (i == s->ids.n) {
        tds_it_list_add(&s->ids, id);
        tds_it_list_add(&s->alerts, row);
        tds_it_list_add(&s->severities, srow);
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
    const char *village = tds_it_opt_str(v, "village_code");
    if (strcmp(queue, "unrouted") != 0 &&
        (!m->key || m->key_len != strlen(village) || memcmp(m->key, village, m->key_len) != 0 ||
         strncmp(village, queue, 6) != 0))
        s->bad_key++;
}

typedef struct suspects_seen {
    td_avro_decoder *dec;
    tds_it_list raised;      /* indicator,household,subject,queue */
    tds_it_list raised_ids;  /* suspect_id */
    tds_it_list resolved;    /* indicator,household,subject,queue */
    tds_it_list resolved_ids;
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
    const char *kind = tds_it_enum_sym(v, "kind"), *person = tds_it_opt_str(v, "person_key");
    snprintf(row, sizeof(row), "%s,%s,%s,%s", tds_it_opt_str(v, "indicator_id"),
             tds_it_opt_str(v, "household_id"), *person ? person : "household", queue);
    if (strcmp(kind, "RAISED") == 0) {
        tds_it_list_add(&s->raised, row);
        tds_it_list_add(&s->raised_ids, tds_it_opt_str(v, "suspect_id"));
    } else if (strcmp(kind, "RESOLVED") == 0) {
        tds_it_list_add(&s->resolved, row);
        tds_it_list_add(&s->resolved_ids, tds_it_opt_str(v, "suspect_id"));
    } else {
        s->closed++;
    }
    const char *village = tds_it_opt_str(v, "village_code");
    if (!m->key || m->key_len != strlen(village) || memcmp(m->key, village, m->key_len) != 0 ||
        strncmp(village, queue, 6) != 0 || strcmp(tds_it_opt_str(v, "county_code"), queue) != 0)
        s->bad_key++;
    if (has_idnum(tds_it_opt_str(v, "roster_value")) ||
        has_idnum(tds_it_opt_str(v, "department_value")) ||
        has_idnum(tds_it_opt_str(v, "indicator_name")) ||
        has_idnum(tds_it_opt_str(v, "fix_hint")))
        s->id_in_text++;
}

static void suspects_clear(suspects_seen *s)
{
    tds_it_list_free(&s->raised);
    tds_it_list_free(&s->raised_ids);
    tds_it_list_free(&s->resolved);
    tds_it_list_free(&s->resolved_ids);
    s->closed = s->undecodable = s->bad_key = s->id_in_text = 0;
}

/* Every <prefix>.suspects.* topic, from the start to its end. */
static void read_suspects(suspects_seen *s)
{
    tds_it_list topics = {0};
    char group[128], sp[128];
    snprintf(group, sizeof(group), "%s-meta", prefix);
    snprintf(sp, sizeof(sp), "%s.suspects.", prefix);
    tds_it_topics_starting(group, sp, &topics);
    suspects_clear(s);
    tds_it_read_all(prefix, &topics, on_suspect, s);
    tds_it_list_free(&topics);
}

typedef struct dlq_seen {
    tds_it_list rows;        /* dataset,file,line */
    tds_it_list reasons;     /* dataset,file,line\treason */
    int bad_headers;
} dlq_seen;

static void on_dead_letter(const char *topic, rd_kafka_message_t *m, void *opaque)
{
    dlq_seen *s = opaque;
    char ds[64], loc[256], line[32], reason[1024], row[2048];
    (void)topic;
    if (!tds_it_header(m, "tuodi.dataset", ds, sizeof(ds)) ||
        !tds_it_header(m, "tuodi.location", loc, sizeof(loc)) ||
        !tds_it_header(m, "tuodi.line", line, sizeof(line)) ||
        !tds_it_header(m, "tuodi.reason", reason, sizeof(reason))) {
        s->bad_headers++;
        return;
    }
    snprintf(row, sizeof(row), "%s,%s,%s", ds, loc, line);
    tds_it_list_add(&s->rows, row);
    snprintf(row, sizeof(row), "%s,%s,%s\t%s", ds, loc, line, reason);
    tds_it_list_add(&s->reasons, row);
}

/* ---------------------------------------------------------- expectations */

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

    if (!tds_it_init())
        return 1;
    snprintf(dir, sizeof(dir), "/tmp/itest-sample-XXXXXX");
    FATAL(mkdtemp(dir));
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(prefix, sizeof(prefix), "tds%d-%" PRId64, (int)getpid(), t0 % 1000000);
    snprintf(bin_conn, sizeof(bin_conn), "%s/connectors/tuodi-connector", tds_it_build_root);
    snprintf(bin_matchd, sizeof(bin_matchd), "%s/daemon/tuodi-matchd", tds_it_build_root);

    /* 1. the data */
    snprintf(cmd, sizeof(cmd), "%s/tools/sample/tuodi-sample --out %s --households 300 --seed 6",
             tds_it_build_root, data);
    FATAL(system(cmd) == 0);

    /* 2. the configs' variables */
    snprintf(path, sizeof(path), "%s/state", dir);
    tds_it_set_env(data, prefix, path);

    /* 3. the roster first, to its end */
    snprintf(cfg, sizeof(cfg), "%s/deploy/data/demo-config/roster.yaml", tds_it_src_root);
    snprintf(log, sizeof(log), "%s/roster.log", dir);
    roster = td_proc_spawn_config(bin_conn, cfg, log);
    snprintf(path, sizeof(path), "%s/roster/finished/huainan-roster.csv", data);
    FATAL(tds_it_wait_file(path, 120000));
    fprintf(stderr, "roster published (%.1fs)\n", (double)(td_time_mono_ms() - t0) / 1000.0);

    /* 4. the departments, then matchd (it reads the roster to its end before
     * READY). matchd starts once the department topics exist: a consumer
     * subscribed to a topic that does not exist yet finds it only at its next
     * metadata refresh (librdkafka: 5 minutes by default). */
    for (int i = 0; i < 3; i++) {
        snprintf(cfg, sizeof(cfg), "%s/deploy/data/demo-config/%s.yaml", tds_it_src_root, depts[i]);
        snprintf(log, sizeof(log), "%s/%s.log", dir, depts[i]);
        conn[i] = td_proc_spawn_config(bin_conn, cfg, log);
    }
    for (size_t i = 0; i < sizeof(dept_files) / sizeof(dept_files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", data, dept_files[i]);
        CHECK(tds_it_wait_file(path, 180000));
    }
    fprintf(stderr, "department files published (%.1fs)\n",
            (double)(td_time_mono_ms() - t0) / 1000.0);
    snprintf(cfg, sizeof(cfg), "%s/deploy/data/demo-config/matchd.yaml", tds_it_src_root);
    snprintf(log, sizeof(log), "%s/matchd.log", dir);
    matchd = td_proc_spawn_config(bin_matchd, cfg, log);
    if (!td_proc_wait_log(log, "ready", 1, 120000))
        fprintf(stderr, "matchd did not say ready (see %s)\n", log);

    /* 5. until matchd has committed every input */
    {
        char group[128];
        snprintf(group, sizeof(group), "%s-matchd", prefix);
        rd_kafka_t *c = tds_it_consumer(group, false);
        int64_t until = td_time_mono_ms() + 180000;
        bool ok = false;
        while (!(ok = tds_it_matchd_caught_up(c, prefix)) && td_time_mono_ms() < until &&
               td_proc_alive(matchd))
            usleep(500000);
        CHECK(ok);
        td_kafka_destroy(c);
    }
    fprintf(stderr, "matchd caught up (%.1fs)\n", (double)(td_time_mono_ms() - t0) / 1000.0);

    /* 6. every alert topic */
    td_avro_registry *reg = NULL;
    alerts_seen as;
    memset(&as, 0, sizeof(as));
    snprintf(path, sizeof(path), "%s/schemas", tds_it_src_root);
    FATAL(td_avro_registry_new(&reg) == 0);
    FATAL(td_avro_registry_load_dir(reg, path, NULL, &err) == 0);
    FATAL(td_avro_decoder_new(reg, td_avro_registry_find_name(reg, "cn.tuodi.Alert"), &as.dec,
                              &err) == 0);
    {
        tds_it_list topics = {0};
        char group[128], ap[128];
        snprintf(group, sizeof(group), "%s-meta", prefix);
        snprintf(ap, sizeof(ap), "%s.alerts.", prefix);
        tds_it_topics_starting(group, ap, &topics);
        fprintf(stderr, "%zu alert topics\n", topics.n);
        tds_it_read_all(prefix, &topics, on_alert, &as);
        tds_it_list_free(&topics);
    }
    {
        tds_it_list want = {0}, sev = {0}, want_sev = {0};
        snprintf(path, sizeof(path), "%s/expected/alerts.csv", data);
        tds_it_read_expected(path, 4, &want, &sev);
        /* rule,kind,subject,queue,severity from the rest "severity,scenario" */
        for (size_t i = 0; i < want.n; i++) {
            char row[1024];
            snprintf(row, sizeof(row), "%s,%.*s", want.v[i], (int)strcspn(sev.v[i], ","),
                     sev.v[i]);
            tds_it_list_add(&want_sev, row);
        }
        CHECK(tds_it_same("alerts (rule,subject,queue)", &want, &as.alerts));
        CHECK(tds_it_same("severities (rule,subject,queue,severity)", &want_sev, &as.severities));
        tds_it_list_free(&want);
        tds_it_list_free(&sev);
        tds_it_list_free(&want_sev);
    }
    CHECK(as.undecodable == 0);
    CHECK(as.bad_key == 0);
    CHECK(as.bad_escalation == 0);
    fprintf(stderr, "%d escalations\n", as.escalations);
    fprintf(stderr, "%d messages of other kinds (overdue warnings, closures)\n", as.other_kinds);

    /* 7. the dead letters */
    {
        tds_it_list topics = {0}, want = {0}, cls = {0};
        dlq_seen ds;
        static const char *const all[] = {"roster", "civil_affairs", "medical_insurance",
                                          "human_resources"};
        memset(&ds, 0, sizeof(ds));
        for (size_t i = 0; i < 4; i++) {
            snprintf(topic, sizeof(topic), "%s.dlq.%s", prefix, all[i]);
            tds_it_list_add(&topics, topic);
        }
        tds_it_read_all(prefix, &topics, on_dead_letter, &ds);
        CHECK(ds.bad_headers == 0);
        snprintf(path, sizeof(path), "%s/expected/rejected.csv", data);
        tds_it_read_expected(path, 3, &want, &cls);
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
                        tds_it_failures++;
                    }
                }
            }
            (void)found;
        }
        CHECK(tds_it_same("dead letters (dataset,file,line)", &want, &ds.rows));
        tds_it_list_free(&topics);
        tds_it_list_free(&want);
        tds_it_list_free(&cls);
        tds_it_list_free(&ds.rows);
        tds_it_list_free(&ds.reasons);
    }

    /* 8. the suspicious-data tds_it_list */
    suspects_seen ss;
    tds_it_list want_sus = {0}, want_resolved = {0};
    memset(&ss, 0, sizeof(ss));
    FATAL(td_avro_decoder_new(reg, td_avro_registry_find_name(reg, "cn.tuodi.Suspect"), &ss.dec,
                              &err) == 0);
    {
        tds_it_list rest = {0};
        snprintf(path, sizeof(path), "%s/expected/suspects.csv", data);
        tds_it_read_expected(path, 4, &want_sus, &rest);
        /* rest: "scenario,after_fix" */
        for (size_t i = 0; i < want_sus.n; i++)
            if (strcmp(strchr(rest.v[i], ',') + 1, "resolved") == 0)
                tds_it_list_add(&want_resolved, want_sus.v[i]);
        tds_it_list_free(&rest);
    }
    read_suspects(&ss);
    CHECK(tds_it_same("suspects raised (indicator,household,subject,queue)", &want_sus,
                      &ss.raised));
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
        CHECK(tds_it_wait_file(path, 120000));
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
    CHECK(tds_it_same("suspects resolved by the re-export", &want_resolved, &ss.resolved));
    CHECK(tds_it_same("suspects raised, after the re-export", &want_sus, &ss.raised));
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
    tds_it_list_free(&want_sus);
    tds_it_list_free(&want_resolved);
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

    tds_it_list_free(&as.alerts);
    tds_it_list_free(&as.severities);
    tds_it_list_free(&as.ids);
    td_avro_decoder_free(as.dec);
    td_avro_registry_free(reg);
    fprintf(stderr, "sample end to end: %d failures (%.1fs)%s%s\n", tds_it_failures,
            (double)(td_time_mono_ms() - t0) / 1000.0, tds_it_failures ? "; logs and data in " : "",
            tds_it_failures ? dir : "");
    if (!tds_it_failures) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        CHECK(system(cmd) == 0);
    }
    return tds_it_failures ? 1 : 0;
}
