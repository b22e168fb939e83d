/* tdm_metrics: see tdm_metrics.h. */
#include "tdm_metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TDM_COUNTY_LEN 8 /* "unrouted" or 6 digits */

struct tdm_metrics_alert {
    char rule[TDM_WINDOW_RULE_ID_MAX + 1];
    char county[TDM_COUNTY_LEN + 1];
    const char *kind; /* a literal */
};

struct tdm_metrics_county {
    char county[TDM_COUNTY_LEN + 1];
    int64_t open, overdue;   /* as committed */
    int64_t popen, poverdue; /* the open batch's change */
};

tdm_metrics *tdm_metrics_new(td_metrics *reg, const char *group, const char *version,
                             const char *const *inputs, size_t ninputs)
{
    tdm_metrics *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->reg = reg;
    s->inputs = inputs;
    s->ninputs = ninputs;
    s->p_records = calloc(ninputs, sizeof(*s->p_records));
    s->p_dead = calloc(ninputs, sizeof(*s->p_dead));
    if (!s->p_records || !s->p_dead)
        return tdm_metrics_free(s);
    s->info = td_metrics_gauge(reg, "info", "tuodi-matchd's consumer group and version (1)",
                               "group,version");
    s->ready = td_metrics_gauge(reg, "ready",
                                "1 when /ready says ready (connected, the roster caught up), "
                                "else 0", NULL);
    s->records = td_metrics_counter(reg, "records_total",
                                    "Input records processed and committed, by input", "input");
    s->dead_letters = td_metrics_counter(reg, "dead_letters_total",
                                         "Input records dead-lettered (to the input's DLQ "
                                         "topic), by input", "input");
    s->alerts_raised = td_metrics_counter(reg, "alerts_raised_total",
                                          "Alert messages produced, by rule, county (\"unrouted\": "
                                          "no village) and kind (alert, escalated, overdue_warning, closed)",
                                          "rule,county,kind");
    s->alerts_open = td_metrics_gauge(reg, "alerts_open",
                                      "Alerts open (raised, no outcome yet), by county", "county");
    s->alerts_overdue = td_metrics_gauge(reg, "alerts_overdue",
                                         "Open alerts past their visit due date (the orange "
                                         "warning went out), by county", "county");
    s->held_back = td_metrics_counter(reg, "alerts_held_back_total",
                                      "Department records whose rules matched but that raised no "
                                      "alert because their event date is older than "
                                      "alerts.max_event_age (a department's history)", NULL);
    s->outcomes = td_metrics_counter(reg, "outcomes_total",
                                     "Verification outcomes by result (accepted, dead_lettered)",
                                     "result");
    s->consumer_lag = td_metrics_gauge(reg, "consumer_lag_records",
                                       "Records of an assigned input partition not processed yet "
                                       "(high watermark, last stable offset under "
                                       "read_committed, minus the next offset to process)",
                                       "topic,partition");
    s->txn_duration = td_metrics_histogram(reg, "transaction_duration_seconds",
                                           "Time to commit one batch: the offsets and the Kafka "
                                           "transaction, then the LMDB transaction",
                                           NULL, td_metrics_seconds_buckets,
                                           TD_METRICS_SECONDS_NB);
    s->last_commit = td_metrics_gauge(reg, "last_commit_timestamp_seconds",
                                      "Unix time of the last successful commit", NULL);
    s->clock_lag = td_metrics_gauge(reg, "stream_clock_lag_seconds",
                                    "Wall clock minus the stream clock (the largest input "
                                    "timestamp or tick processed)", NULL);
    s->lmdb_size = td_metrics_gauge(reg, "lmdb_size_bytes",
                                    "Bytes of the state store's data file (data.mdb) on disk",
                                    NULL);
    s->lmdb_used = td_metrics_gauge(reg, "lmdb_used_bytes",
                                    "Bytes of the state store's pages in use (up to the last "
                                    "page written)", NULL);
    s->persons = td_metrics_gauge(reg, "roster_persons", "Persons in the roster index", NULL);
    s->households = td_metrics_gauge(reg, "roster_households", "Households in the roster index",
                                     NULL);
    s->progress = td_metrics_gauge(reg, "restore_progress_ratio",
                                   "Share of the roster load or state restore done (0..1; 1 "
                                   "when ready)", NULL);
    s->suspects = td_metrics_counter(reg, "suspects_total",
                                     "Suspect messages (the suspicious-data list) produced, by "
                                     "indicator, county (\"unrouted\": no village) and kind "
                                     "(raised, resolved, closed)",
                                     "indicator,county,kind");
    s->suspects_open = td_metrics_gauge(reg, "suspects_open",
                                        "Suspects open (raised, neither resolved by a later "
                                        "roster or department record nor closed by an outcome)",
                                        NULL);
    td_metric_set(s->info, 1, group, version);
    td_metric_set(s->suspects_open, 0);
    td_metric_set(s->ready, 0);
    td_metric_set(s->progress, 0);
    for (size_t i = 0; i < ninputs; i++) {
        td_metric_add(s->records, 0, inputs[i]);
        if (strcmp(inputs[i], "clock") != 0) /* the clock has no DLQ */
            td_metric_add(s->dead_letters, 0, inputs[i]);
    }
    td_metric_add(s->outcomes, 0, "accepted");
    td_metric_add(s->outcomes, 0, "dead_lettered");
    return s;
}

tdm_metrics *tdm_metrics_free(tdm_metrics *s)
{
    if (!s)
        return NULL;
    free(s->p_records);
    free(s->p_dead);
    free(s->p_alerts);
    free(s->p_sus);
    free(s->counties);
    free(s);
    return NULL;
}

void tdm_metrics_record(tdm_metrics *s, int in)
{
    if (s && in >= 0 && (size_t)in < s->ninputs)
        s->p_records[in]++;
}

void tdm_metrics_dead_letter(tdm_metrics *s, int in)
{
    if (s && in >= 0 && (size_t)in < s->ninputs)
        s->p_dead[in]++;
}

void tdm_metrics_outcome(tdm_metrics *s, bool accepted)
{
    if (s && accepted)
        s->p_accepted++;
    else if (s)
        s->p_rejected++;
}

void tdm_metrics_held_back(tdm_metrics *s, uint64_t n)
{
    if (s)
        s->p_held_back += n;
}

static void tdm_metrics_county_of(const char *in, char out[TDM_COUNTY_LEN + 1])
{
    snprintf(out, TDM_COUNTY_LEN + 1, "%s", in && *in ? in : "unrouted");
}

int tdm_metrics_alert(tdm_metrics *s, const char *rule, const char *county, const char *kind)
{
    struct tdm_metrics_alert *a;

    if (!s)
        return 0;
    if (s->np_alerts == s->cap_alerts) {
        size_t cap = s->cap_alerts ? 2 * s->cap_alerts : 64;
        void *p = realloc(s->p_alerts, cap * sizeof(*s->p_alerts));
        if (!p)
            return -ENOMEM;
        s->p_alerts = p;
        s->cap_alerts = cap;
    }
    a = &s->p_alerts[s->np_alerts++];
    snprintf(a->rule, sizeof(a->rule), "%s", rule ? rule : "");
    tdm_metrics_county_of(county, a->county);
    a->kind = kind;
    return 0;
}

int tdm_metrics_suspect(tdm_metrics *s, const char *indicator, const char *county,
                        const char *kind)
{
    struct tdm_metrics_alert *a;

    if (!s)
        return 0;
    if (s->np_sus == s->cap_sus) {
        size_t cap = s->cap_sus ? 2 * s->cap_sus : 64;
        void *p = realloc(s->p_sus, cap * sizeof(*s->p_sus));
        if (!p)
            return -ENOMEM;
        s->p_sus = p;
        s->cap_sus = cap;
    }
    a = &s->p_sus[s->np_sus++];
    snprintf(a->rule, sizeof(a->rule), "%s", indicator ? indicator : "");
    tdm_metrics_county_of(county, a->county);
    a->kind = kind;
    return 0;
}

void tdm_metrics_suspects_open(tdm_metrics *s, size_t open, tdm_metrics_how how)
{
    if (!s || !open)
        return;
    switch (how) {
    case TDM_METRICS_LOADED:
        s->p_sus_open -= (int64_t)open;
        break;
    case TDM_METRICS_STORED:
        s->p_sus_open += (int64_t)open;
        break;
    case TDM_METRICS_BASE:
        s->sus_open += (int64_t)open;
        td_metric_set(s->suspects_open, (double)s->sus_open);
        break;
    }
}

static struct tdm_metrics_county *tdm_metrics_county(tdm_metrics *s, const char *county)
{
    for (size_t i = 0; i < s->ncounties; i++)
        if (strcmp(s->counties[i].county, county) == 0)
            return &s->counties[i];
    if (s->ncounties == s->cap_counties) {
        size_t cap = s->cap_counties ? 2 * s->cap_counties : 32;
        void *p = realloc(s->counties, cap * sizeof(*s->counties));
        if (!p)
            return NULL;
        s->counties = p;
        s->cap_counties = cap;
    }
    memset(&s->counties[s->ncounties], 0, sizeof(s->counties[0]));
    snprintf(s->counties[s->ncounties].county, TDM_COUNTY_LEN + 1, "%s", county);
    return &s->counties[s->ncounties++];
}

static void tdm_metrics_county_set(tdm_metrics *s, const struct tdm_metrics_county *c)
{
    td_metric_set(s->alerts_open, (double)c->open, c->county);
    td_metric_set(s->alerts_overdue, (double)c->overdue, c->county);
}

void tdm_metrics_window(tdm_metrics *s, const tdm_window *w, tdm_metrics_how how)
{
    const tdm_open_alert *a;

    if (!s || !w)
        return;
    for (size_t i = 0; (a = tdm_window_open_at(w, i, NULL)) != NULL; i++) {
        char county[TDM_COUNTY_LEN + 1], code[7];
        struct tdm_metrics_county *c;
        memcpy(code, a->village_code, 6);
        code[a->village_code[0] ? 6 : 0] = '\0';
        tdm_metrics_county_of(code, county);
        c = tdm_metrics_county(s, county);
        if (!c)
            continue; /* out of memory: the gauge is off by one, nothing else */
        switch (how) {
        case TDM_METRICS_LOADED:
            c->popen--;
            c->poverdue -= a->overdue_warned;
            break;
        case TDM_METRICS_STORED:
            c->popen++;
            c->poverdue += a->overdue_warned;
            break;
        case TDM_METRICS_BASE:
            c->open++;
            c->overdue += a->overdue_warned;
            tdm_metrics_county_set(s, c);
            break;
        }
    }
}

void tdm_metrics_flush(tdm_metrics *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ninputs; i++) {
        if (s->p_records[i])
            td_metric_add(s->records, (double)s->p_records[i], s->inputs[i]);
        if (s->p_dead[i])
            td_metric_add(s->dead_letters, (double)s->p_dead[i], s->inputs[i]);
    }
    if (s->p_held_back)
        td_metric_add(s->held_back, (double)s->p_held_back);
    if (s->p_accepted)
        td_metric_add(s->outcomes, (double)s->p_accepted, "accepted");
    if (s->p_rejected)
        td_metric_add(s->outcomes, (double)s->p_rejected, "dead_lettered");
    for (size_t i = 0; i < s->np_alerts; i++)
        td_metric_add(s->alerts_raised, 1, s->p_alerts[i].rule, s->p_alerts[i].county,
                      s->p_alerts[i].kind);
    for (size_t i = 0; i < s->np_sus; i++)
        td_metric_add(s->suspects, 1, s->p_sus[i].rule, s->p_sus[i].county, s->p_sus[i].kind);
    if (s->p_sus_open) {
        s->sus_open += s->p_sus_open;
        td_metric_set(s->suspects_open, (double)s->sus_open);
    }
    for (size_t i = 0; i < s->ncounties; i++) {
        struct tdm_metrics_county *c = &s->counties[i];
        if (!c->popen && !c->poverdue)
            continue;
        c->open += c->popen;
        c->overdue += c->poverdue;
        tdm_metrics_county_set(s, c);
    }
    tdm_metrics_drop(s);
}

void tdm_metrics_drop(tdm_metrics *s)
{
    if (!s)
        return;
    memset(s->p_records, 0, s->ninputs * sizeof(*s->p_records));
    memset(s->p_dead, 0, s->ninputs * sizeof(*s->p_dead));
    s->p_accepted = s->p_rejected = s->p_held_back = 0;
    s->np_alerts = 0;
    s->np_sus = 0;
    s->p_sus_open = 0;
    for (size_t i = 0; i < s->ncounties; i++)
        s->counties[i].popen = s->counties[i].poverdue = 0;
}
