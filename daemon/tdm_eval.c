/* tdm_eval: see tdm_eval.h. */

#include "tdm_roster.h"

#include "tdm_eval.h"
#include "tdm_value.h"

#include "td_date.h"
#include "td_idnum.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS INT64_C(86400000)
#define CST_OFFSET_MS (INT64_C(8) * 3600000)

int64_t tdm_eval_cst_midnight_ms(int32_t day)
{
    return (int64_t)day * DAY_MS - CST_OFFSET_MS;
}

int32_t tdm_eval_cst_day(int64_t ms)
{
    int64_t t = ms + CST_OFFSET_MS;
    int64_t d = t / DAY_MS;
    if (t % DAY_MS < 0)
        d--;
    return (int32_t)d;
}

/* ---- the list ---- */

static void alert_done(tdm_alert_out *a)
{
    free(a->rule_id);
    free(a->rule_version);
    free(a->rule_name);
    free(a->risk_code);
    free(a->household_id);
    free(a->person_key);
    free(a->person_name);
    free(a->grid_id);
    free(a->head_name);
    for (size_t i = 0; i < a->n_evidence; i++)
        tdm_evidence_done(&a->evidence[i]);
    free(a->message);
    free(a->closure.reason);
    free(a->closure.outcome_id);
    memset(a, 0, sizeof(*a));
}

static void list_truncate(tdm_alert_list *l, size_t n)
{
    while (l->n > n)
        alert_done(&l->v[--l->n]);
}

void tdm_alert_list_reset(tdm_alert_list *l)
{
    if (l)
        list_truncate(l, 0);
}

void tdm_alert_list_done(tdm_alert_list *l)
{
    if (!l)
        return;
    list_truncate(l, 0);
    free(l->v);
    l->v = NULL;
    l->cap = 0;
}

/* A zeroed new alert at the end of l, or NULL. */
static tdm_alert_out *list_push(tdm_alert_list *l)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        tdm_alert_out *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        l->v = v;
        l->cap = cap;
    }
    tdm_alert_out *a = &l->v[l->n++];
    memset(a, 0, sizeof(*a));
    return a;
}

/* ---- the subject ---- */

static tdm_population hh_population(const tdm_household *hh)
{
    if (!hh)
        return TDM_POP_NOT_ON_ROSTER;
    return hh->monitoring == TDM_MON_MONITORED ? TDM_POP_ROSTER_MONITORED
                                               : TDM_POP_ROSTER_NOT_MONITORED;
}

static tdm_household_type hh_type(const tdm_household *hh)
{
    if (!hh)
        return TDM_HH_NONE;
    switch (hh->type) {
    case TDM_R_HH_POVERTY_ALLEVIATED:
        return TDM_HH_POVERTY_ALLEVIATED;
    case TDM_R_HH_ORDINARY:
        return TDM_HH_ORDINARY;
    default:
        return TDM_HH_NONE;
    }
}

static tdm_labour labour_of(tdm_r_labour l)
{
    switch (l) {
    case TDM_R_LABOUR_NORMAL:
        return TDM_LABOUR_NORMAL;
    case TDM_R_LABOUR_SKILLED:
        return TDM_LABOUR_SKILLED;
    case TDM_R_LABOUR_WEAK:
        return TDM_LABOUR_WEAK;
    case TDM_R_LABOUR_LOST:
        return TDM_LABOUR_LOST;
    case TDM_R_LABOUR_NONE:
        return TDM_LABOUR_NONE;
    default:
        return TDM_LABOUR_UNKNOWN;
    }
}

static void subject_of(const tdm_eval_ctx *ctx, const tdm_household *hh, const char *village,
                       int line_year, tdm_subject *s)
{
    memset(s, 0, sizeof(*s));
    s->population = hh_population(hh);
    s->type = hh_type(hh);
    if (hh && hh->has_income) {
        s->has_income = true;
        s->annual_net_fen = hh->income_annual_fen;
        s->per_capita_net_fen = hh->income_per_capita_fen;
        s->income_year = hh->income_year;
    }
    s->line = village && strlen(village) >= 2 ? tdm_rules_line(ctx->rules, village, line_year)
                                               : NULL;
}

static const tdm_member *find_member(const tdm_household *hh, const char *person_key)
{
    if (!hh || !person_key)
        return NULL;
    for (size_t i = 0; i < hh->nmembers; i++)
        if (hh->members[i].person_key && strcmp(hh->members[i].person_key, person_key) == 0)
            return &hh->members[i];
    return NULL;
}

/* Birth date from an 18-character identity number with a valid check
 * character; false for anything else (a pseudonym). */
static bool idnum_birth(const char *key, int32_t *ret)
{
    if (!key || strlen(key) != TD_IDNUM_LEN)
        return false;
    for (int i = 0; i < 17; i++)
        if (key[i] < '0' || key[i] > '9')
            return false;
    if (td_idnum_check_char(key) != key[17])
        return false;
    *ret = td_idnum_birth_date(key);
    return true;
}

static tdm_department department_of(tdm_dataset d)
{
    switch (d) {
    case TDM_DATASET_MEDICAL_INSURANCE:
        return TDM_DEPT_MEDICAL_INSURANCE;
    case TDM_DATASET_HUMAN_RESOURCES:
        return TDM_DEPT_HUMAN_RESOURCES;
    default:
        return TDM_DEPT_CIVIL_AFFAIRS;
    }
}

static const char *field_name(tdm_field f)
{
    switch (f) {
    case TDM_FIELD_OUT_OF_POCKET_FEN:
        return "out_of_pocket_fen";
    case TDM_FIELD_TOTAL_COST_FEN:
        return "total_cost_fen";
    case TDM_FIELD_FUND_PAID_FEN:
        return "fund_paid_fen";
    case TDM_FIELD_AMOUNT_FEN:
        return "amount_fen";
    default:
        return NULL;
    }
}

static void series_name(tdm_dataset d, tdm_field f, char *buf, size_t size)
{
    snprintf(buf, size, "%s.%s", tdm_dataset_name(d), field_name(f));
}

/* ---- building alerts ---- */

/* Common part of every message kind: rule, subject, routing. */
static void fill_subject(tdm_alert_out *a, const tdm_household *hh, const char *person_key,
                         const char *person_name, bool *oom)
{
    a->population = hh_population(hh);
    a->household_type = hh_type(hh);
    if (hh) {
        a->household_id = tdm_value_dup(hh->household_id, oom);
        a->grid_id = tdm_value_dup(hh->grid_id, oom);
        a->head_name = tdm_value_dup(hh->head_name, oom);
    }
    a->person_key = tdm_value_dup(person_key, oom);
    a->person_name = tdm_value_dup(person_name, oom);
}

static void fill_rule(tdm_alert_out *a, const tdm_rule *r, const char *rule_id, bool *oom)
{
    a->rule_id = tdm_value_dup(r ? r->id : rule_id, oom);
    a->rule_version = tdm_value_dup(r ? r->version : "", oom);
    a->rule_name = tdm_value_dup(r ? r->name : rule_id, oom);
    a->risk_code = tdm_value_dup(r ? r->risk_code : NULL, oom);
}

static int fill_message(tdm_alert_out *a, const char *prefix)
{
    char buf[TDM_ALERT_MESSAGE_MAX];
    size_t n = strlen(prefix);
    tdm_message_input in = {
        .rule_name = a->rule_name,
        .risk_code = a->risk_code,
        .severity = a->severity,
        .on_roster = a->population != TDM_POP_NOT_ON_ROSTER,
        .village_code = a->route.village_code,
        .head_name = a->head_name,
        .person_name = a->person_name,
        .has_measure = a->measure.present,
        .value = a->measure.value,
        .threshold = a->measure.threshold,
        .unit = a->unit,
        .visit_due_day = a->visit_due_date,
        .procedure_due_day = a->procedure_due_date,
    };
    if (n >= sizeof(buf))
        return -ENOSPC;
    memcpy(buf, prefix, n);
    int rc = tdm_alert_message(&in, buf + n, sizeof(buf) - n);
    if (rc < 0)
        return rc;
    a->message = strdup(buf);
    return a->message ? 0 : -ENOMEM;
}

/* A rule that fired on this input, before suppression. */
typedef struct hit {
    const tdm_rule *rule;
    tdm_measure measure;
    int32_t day;                    /* the day it was judged on: the alert's
                                     * anchor (a window rule: the crossing
                                     * window's end) */
} hit;

/* What an ALERT is made of besides the hit. */
typedef struct raise_in {
    const tdm_household *hh;
    const char *person_key;         /* the member; NULL household-level */
    const char *person_name;
    const char *village;            /* routing village (may be invalid) */
    const char *id_dataset;         /* tdm_alert_id evidence (event rules) */
    const char *id_record;
    tdm_evidence evidence;          /* borrowed strings, copied */
} raise_in;

/* The severity an open alert of rule r anchored on day anchor must have
 * (docs/matchd-design.md, "Arrival order and escalation"): r's own, raised to
 * the severity of every enabled DEPARTMENTS_WITHIN rule w admitting r's
 * dataset and the subject when, for some day t in {anchor} and the days >=
 * anchor on which r matched, at least w's count of departments have a signal
 * less than w's within_days from t. */
static tdm_severity required_severity(const tdm_eval_ctx *ctx, const tdm_window *state,
                                      const tdm_rule *r, int32_t anchor, const tdm_subject *s)
{
    tdm_severity sev = r->severity;
    const int32_t *days = NULL;
    size_t ndays = tdm_window_signal_days(state, r->id, &days);

    for (size_t i = 0; i < tdm_rules_count(ctx->rules); i++) {
        const tdm_rule *w = tdm_rules_at(ctx->rules, i);
        if (!w->enabled || w->condition.kind != TDM_COND_DEPARTMENTS_WITHIN ||
            (w->dataset != TDM_DATASET_ANY && w->dataset != r->dataset) ||
            !tdm_filter_admits(&w->population, s->population, s->type) ||
            tdm_window_severity_rank(w->severity) <= tdm_window_severity_rank(sev))
            continue;
        int within = w->condition.within_days;
        int span = within > 0 ? within - 1 : 0;
        bool fires = tdm_rule_matches_departments(
            w, tdm_window_departments_within(state, anchor, within), span);
        for (size_t k = 0; k < ndays && !fires; k++)
            if (days[k] >= anchor)
                fires = tdm_rule_matches_departments(
                    w, tdm_window_departments_within(state, days[k], within), span);
        if (fires)
            sev = w->severity;
    }
    return sev;
}

/* The day an alert on an input of date day is raised: the stream clock's
 * day, or day itself when it is later (a record dated ahead of the clock)
 * or when there is no clock (ctx->today 0). */
static int32_t push_day_of(const tdm_eval_ctx *ctx, int32_t day)
{
    return ctx->today != 0 && ctx->today > day ? ctx->today : day;
}

static int raise_alert(const tdm_eval_ctx *ctx, const hit *h, const raise_in *in,
                       const tdm_subject *s, tdm_window *state, tdm_alert_list *out,
                       td_error *err)
{
    const tdm_rule *r = h->rule;
    tdm_severity severity = required_severity(ctx, state, r, h->day, s);
    tdm_may may = tdm_window_may_alert(state, r->id, h->day, severity);
    if (!tdm_may_raise(may))
        return 0;
    /* A window alert's id is of its crossing (anchor day) and of how many
     * alerts the rule raised before, not of the record that completed it:
     * the same crossing gets the same id in any arrival order. */
    bool window = r->condition.kind == TDM_COND_WINDOW_SUM;
    int32_t push_day = push_day_of(ctx, h->day);

    tdm_alert_id_input idin = {
        .rule_id = r->id,
        .rule_version = r->version,
        .household_id = in->hh ? in->hh->household_id : NULL,
        .person_key = in->hh ? NULL : in->person_key,
        .severity = r->severity, /* its own: an escalation keeps the id */
        .dataset = window ? NULL : in->id_dataset,
        .record_id = window ? NULL : in->id_record,
        .window_end_day = h->day,
        .seq = window ? tdm_window_raised(state, r->id) : 0,
    };
    char id[TDM_ALERT_ID_LEN + 1];
    int rc = tdm_alert_id(&idin, id);
    if (rc < 0)
        return td_error_set(err, rc, "rule %s: alert id failed", r->id);

    tdm_alert_out *a = list_push(out);
    if (!a)
        return td_error_set(err, -ENOMEM, "out of memory");
    bool oom = false;
    memcpy(a->alert_id, id, sizeof(id));
    a->kind = TDM_KIND_ALERT;
    fill_rule(a, r, NULL, &oom);
    a->severity = severity;
    fill_subject(a, in->hh, in->person_key, in->person_name, &oom);
    a->suggested_category =
        s->population == TDM_POP_ROSTER_MONITORED ? TDM_CATEGORY_NONE : tdm_rule_category(r, s);
    rc = tdm_alert_route(in->village, id, &a->route);
    if (rc < 0)
        return td_error_set(err, rc, "rule %s: routing failed", r->id);

    a->n_evidence = 1;
    a->evidence_count = 1;
    if (tdm_evidence_copy(&a->evidence[0], &in->evidence) < 0)
        oom = true;

    a->measure = h->measure;
    a->unit = TDM_UNIT_FEN;
    a->comparison = tdm_rule_comparison(r);
    a->raised_at = tdm_eval_cst_midnight_ms(push_day);
    tdm_alert_due_dates(ctx->calendar, push_day, &a->visit_due_date,
                        &a->procedure_due_date);

    if (oom)
        return td_error_set(err, -ENOMEM, "out of memory");
    rc = fill_message(a, "");
    if (rc < 0)
        return td_error_set(err, rc, "rule %s: message failed", r->id);

    tdm_open_alert oa;
    memset(&oa, 0, sizeof(oa));
    memcpy(oa.alert_id, id, sizeof(id));
    oa.raised_day = push_day;
    oa.anchor_day = h->day;
    oa.severity = severity;
    oa.visit_due_day = a->visit_due_date;
    oa.procedure_due_day = a->procedure_due_date;
    memcpy(oa.village_code, a->route.village_code, sizeof(oa.village_code));
    rc = tdm_window_open_alert(state, r->id, &oa);
    if (rc < 0)
        return td_error_set(err, rc, "rule %s: cannot open the alert in the state", r->id);
    if (window) {
        rc = tdm_window_count_raised(state, r->id, h->day);
        if (rc < 0)
            return td_error_set(err, rc, "rule %s: cannot count the alert", r->id);
    }
    return 0;
}

/* ---- escalation ---- */

static int snapshot(const tdm_eval_ctx *ctx, const tdm_open_alert *oa, const char *rule_id,
                    const tdm_household *hh, const char *person_key, tdm_alert_kind kind,
                    tdm_alert_list *out, tdm_alert_out **ret, td_error *err);

/* Escalates every open alert of state below the severity it must have
 * (required_severity; never lowers one) and appends an escalation (kind
 * ALERT, escalation set) for each, in rule-id order. An alert of a rule no
 * longer in the rules is left as it is. */
static int escalate_open(const tdm_eval_ctx *ctx, tdm_window *state, const tdm_subject *s,
                         const tdm_household *hh, const char *person_key, tdm_alert_list *out,
                         td_error *err)
{
    for (size_t i = 0;; i++) {
        const char *rule_id;
        const tdm_open_alert *oa = tdm_window_open_at(state, i, &rule_id);
        if (!oa)
            return 0;
        const tdm_rule *r = tdm_rules_find(ctx->rules, rule_id);
        if (!r)
            continue;
        tdm_severity sev = required_severity(ctx, state, r, oa->anchor_day, s);
        if (tdm_window_severity_rank(sev) <= tdm_window_severity_rank(oa->severity))
            continue;
        char id[TDM_ALERT_ID_MAX + 1];
        snprintf(id, sizeof(id), "%s", oa->alert_id);
        int rc = tdm_window_escalate(state, id, sev);
        if (rc < 0)
            return td_error_set(err, rc, "alert %s: cannot escalate", id);
        oa = tdm_window_find_alert(state, id, &rule_id);
        tdm_alert_out *a;
        rc = snapshot(ctx, oa, rule_id, hh, person_key, TDM_KIND_ALERT, out, &a, err);
        if (rc < 0)
            return rc;
        a->escalation = true;
        a->raised_at = tdm_eval_cst_midnight_ms(oa->raised_day);
        rc = fill_message(a, "");
        if (rc < 0)
            return td_error_set(err, rc, "alert %s: message failed", id);
    }
}

/* ---- records ---- */

bool tdm_eval_is_old(const tdm_eval_ctx *ctx, int32_t day)
{
    return ctx->today != 0 && ctx->max_event_age >= 0 &&
           (int64_t)day < (int64_t)ctx->today - ctx->max_event_age;
}

#define MAX_HITS 64

/* tdm_window_each_sum's visitor for one window rule: the first window
 * whose sum meets the rule is the crossing (end, measure); the ends of all
 * that meet it are collected (the rule's signal days). */
typedef struct crossing {
    const tdm_rule *rule;
    const tdm_subject *subject;
    bool found;
    int32_t end;
    tdm_measure measure;
    int32_t *ends;                  /* malloc'd; the caller frees */
    size_t n, cap;
    bool oom;
} crossing;

static bool judge_window(void *arg, int32_t end_day, int64_t sum)
{
    crossing *c = arg;
    tdm_measure m = {0};

    if (!tdm_rule_matches_value(c->rule, c->subject, sum, &m))
        return false;
    if (!c->found) {
        c->found = true;
        c->end = end_day;
        c->measure = m;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        int32_t *p = realloc(c->ends, cap * sizeof(*p));
        if (!p) {
            c->oom = true;
            return true;
        }
        c->ends = p;
        c->cap = cap;
    }
    c->ends[c->n++] = end_day;
    return false;
}

int tdm_eval_record(const tdm_eval_ctx *ctx, tdm_dataset dataset, const avro_value_t *value,
                    const tdm_coords *coords, const tdm_household *household,
                    tdm_window *state, tdm_alert_list *out, td_error *err)
{
    size_t n0 = out->n;
    tdm_record rec;
    int rc = tdm_record_read(dataset, value, &rec, err);
    if (rc < 0)
        return rc;

    /* the subject and the member */
    const char *village = household ? household->village_code : rec.village_code;
    int y, m, d;
    td_date_to_ymd(rec.date, &y, &m, &d);
    tdm_subject s;
    subject_of(ctx, household, village, y, &s);
    const tdm_member *mem = find_member(household, rec.person_key);
    int32_t birth;
    bool has_birth = false;
    if (mem) {
        birth = mem->birth_date;
        has_birth = true;
    } else {
        has_birth = idnum_birth(rec.person_key, &birth);
    }
    tdm_event ev = {
        .dataset = dataset,
        .event_type = rec.event_type,
        .has_amount = rec.has_amount,
        .amount_fen = rec.amount_fen,
        .disability_grade = rec.disability_grade,
        .age = has_birth ? td_date_age(birth, rec.date) : -1,
        .labour = mem ? labour_of(mem->labour) : TDM_LABOUR_UNKNOWN,
    };

    /* An old record (tdm_eval_is_old) updates windows and signals but its
     * events raise nothing; its window rules look at the window as it stands
     * on the stream clock's day (eval_day) instead of at its own date. */
    bool old = tdm_eval_is_old(ctx, rec.date);
    int32_t eval_day = old ? ctx->today : rec.date;

    /* windows first */
    bool window_ok = true;
    for (int f = TDM_FIELD_OUT_OF_POCKET_FEN; f <= TDM_FIELD_AMOUNT_FEN; f++) {
        bool used = false;
        for (size_t i = 0; i < tdm_rules_count(ctx->rules) && !used; i++) {
            const tdm_rule *r = tdm_rules_at(ctx->rules, i);
            used = r->dataset == dataset && r->condition.kind == TDM_COND_WINDOW_SUM &&
                   r->condition.field == (tdm_field)f;
        }
        if (!used || !rec.has_field[f] || rec.fields[f] == 0)
            continue;
        char series[TDM_WINDOW_SERIES_ID_MAX + 1];
        series_name(dataset, (tdm_field)f, series, sizeof(series));
        rc = tdm_window_add(state, series, rec.date, rec.fields[f]);
        if (rc == -ERANGE) {
            window_ok = false; /* older than the expiry floor */
            continue;
        }
        if (rc < 0)
            return td_error_set(err, rc, "%s record %s: window update failed",
                                tdm_dataset_name(dataset), rec.src_record_id);
    }

    /* the rules of the dataset */
    hit hits[MAX_HITS];
    const tdm_rule *matched[MAX_HITS];
    size_t nhits = 0, nheld = 0, nmatched = 0;
    for (size_t i = 0; i < tdm_rules_count(ctx->rules); i++) {
        const tdm_rule *r = tdm_rules_at(ctx->rules, i);
        tdm_measure meas = {0};
        bool fired = false;
        int32_t day = eval_day;
        if (!r->enabled || r->dataset != dataset)
            continue;
        if (r->condition.kind == TDM_COND_EVENT) {
            fired = tdm_rule_matches_event(r, &ev, &s, &meas);
        } else if (r->condition.kind == TDM_COND_WINDOW_SUM && window_ok &&
                   rec.has_field[r->condition.field]) {
            char series[TDM_WINDOW_SERIES_ID_MAX + 1];
            series_name(dataset, r->condition.field, series, sizeof(series));
            if (old) {
                int64_t sum;
                rc = tdm_window_sum(state, series, eval_day, r->condition.window_days, &sum);
                if (rc == -ERANGE)
                    continue;
                if (rc < 0)
                    return td_error_set(err, rc, "rule %s: window sum failed", r->id);
                fired = tdm_rule_matches_value(r, &s, sum, &meas);
            } else {
                /* every window the record changed, ascending: the first
                 * that meets the rule is the crossing */
                crossing c = {.rule = r, .subject = &s};
                rc = tdm_window_each_sum(state, series, rec.date, r->condition.window_days,
                                         judge_window, &c);
                if (rc == 0 && c.oom)
                    rc = -ENOMEM;
                /* it signals on every window end that meets it, so the
                 * rule's signal days are those of the final windows
                 * whatever the order */
                for (size_t k = 0; rc == 0 && k < c.n; k++) {
                    rc = tdm_window_signal(state, r->id, department_of(dataset), c.ends[k]);
                    if (rc == -ERANGE)
                        rc = 0;
                }
                free(c.ends);
                if (rc < 0)
                    return td_error_set(err, rc, "rule %s: window sum failed", r->id);
                fired = c.found;
                meas = c.measure;
                day = c.end;
            }
        }
        if (!fired || nmatched == MAX_HITS)
            continue;
        matched[nmatched++] = r;
        if (old && r->condition.kind == TDM_COND_EVENT)
            nheld++; /* signals below, raises nothing */
        else
            hits[nhits++] = (hit){r, meas, day};
    }

    /* every other rule that matched signals on the record's date (a window
     * rule of a record within the age signalled above); a record older than
     * the expiry floor signals nothing */
    for (size_t k = 0; k < nmatched; k++) {
        if (!old && matched[k]->condition.kind == TDM_COND_WINDOW_SUM)
            continue;
        rc = tdm_window_signal(state, matched[k]->id, department_of(dataset), rec.date);
        if (rc < 0 && rc != -ERANGE)
            return td_error_set(err, rc, "rule %s: signal failed", matched[k]->id);
    }

    raise_in in = {
        .hh = household,
        .person_key = rec.person_key,
        .person_name = mem && mem->name ? mem->name : rec.name,
        .village = village,
        .id_dataset = tdm_dataset_name(dataset),
        .id_record = rec.src_record_id,
    };
    tdm_record_evidence(&rec, coords, &in.evidence);
    for (size_t k = 0; k < nhits; k++) {
        rc = raise_alert(ctx, &hits[k], &in, &s, state, out, err);
        if (rc < 0)
            goto fail;
    }
    /* every open alert of the subject gets the severity it must have now */
    rc = escalate_open(ctx, state, &s, household, household ? NULL : rec.person_key, out, err);
    if (rc < 0)
        goto fail;
    if (nheld > 0)
        out->held_back++;
    return 0;
fail:
    list_truncate(out, n0);
    return rc;
}

/* ---- household updates ---- */

int tdm_eval_household(const tdm_eval_ctx *ctx, const tdm_household *household,
                       const tdm_coords *coords, tdm_window *state, tdm_alert_list *out,
                       td_error *err)
{
    size_t n0 = out->n;
    if (!household || !household->household_id)
        return td_error_set(err, -EINVAL, "no household");
    if (!household->has_income)
        return 0;
    tdm_subject s;
    subject_of(ctx, household, household->village_code, household->income_year, &s);
    char record_id[256];
    snprintf(record_id, sizeof(record_id), "%s/income/%d", household->household_id,
             (int)household->income_year);
    int32_t day = tdm_eval_cst_day(household->updated_at);

    for (size_t i = 0; i < tdm_rules_count(ctx->rules); i++) {
        const tdm_rule *r = tdm_rules_at(ctx->rules, i);
        tdm_measure meas = {0};
        if (!r->enabled || r->condition.kind != TDM_COND_INCOME_BELOW_LINE ||
            (r->dataset != TDM_DATASET_HOUSEHOLD && r->dataset != TDM_DATASET_ANY))
            continue;
        if (!tdm_rule_matches_value(r, &s, 0, &meas))
            continue;
        hit h = {r, meas, day};
        raise_in in = {
            .hh = household,
            .village = household->village_code,
            .id_dataset = tdm_dataset_name(TDM_DATASET_HOUSEHOLD),
            .id_record = record_id,
            .evidence =
                {
                    .dataset = TDM_DATASET_HOUSEHOLD,
                    .topic = coords ? (char *)coords->topic : NULL,
                    .partition = coords ? coords->partition : 0,
                    .offset = coords ? coords->offset : 0,
                    .src_department = "RURAL_REVITALIZATION",
                    .src_connector_instance = "",
                    .src_record_id = (char *)household->household_id,
                },
        };
        int rc = raise_alert(ctx, &h, &in, &s, state, out, err);
        if (rc < 0) {
            list_truncate(out, n0);
            return rc;
        }
    }
    return 0;
}

/* ---- snapshots of open alerts (overdue, closed) ---- */

static int snapshot(const tdm_eval_ctx *ctx, const tdm_open_alert *oa, const char *rule_id,
                    const tdm_household *hh, const char *person_key, tdm_alert_kind kind,
                    tdm_alert_list *out, tdm_alert_out **ret, td_error *err)
{
    const tdm_rule *r = tdm_rules_find(ctx->rules, rule_id);
    tdm_alert_out *a = list_push(out);
    if (!a)
        return td_error_set(err, -ENOMEM, "out of memory");
    bool oom = false;
    snprintf(a->alert_id, sizeof(a->alert_id), "%s", oa->alert_id);
    a->kind = kind;
    fill_rule(a, r, rule_id, &oom);
    a->severity = oa->severity;
    fill_subject(a, hh, hh ? NULL : person_key, NULL, &oom);
    a->suggested_category = TDM_CATEGORY_NONE;
    int rc = tdm_alert_route(oa->village_code, oa->alert_id, &a->route);
    if (rc < 0)
        return td_error_set(err, rc, "alert %s: routing failed", oa->alert_id);
    a->unit = TDM_UNIT_FEN;
    a->comparison = r ? tdm_rule_comparison(r) : "GE";
    a->visit_due_date = oa->visit_due_day;
    a->procedure_due_date = oa->procedure_due_day;
    if (oom)
        return td_error_set(err, -ENOMEM, "out of memory");
    *ret = a;
    return 0;
}

int tdm_eval_overdue(const tdm_eval_ctx *ctx, tdm_window *state, int32_t today,
                     const tdm_household *household, const char *person_key,
                     tdm_alert_list *out, td_error *err)
{
    size_t n0 = out->n;
    char due[64][TDM_ALERT_ID_MAX + 1];
    size_t ndue = 0;
    int rc = 0;

    for (size_t i = 0;; i++) {
        const char *rule_id;
        const tdm_open_alert *oa = tdm_window_open_at(state, i, &rule_id);
        if (!oa)
            break;
        if (!tdm_alert_overdue(oa, today))
            continue;
        tdm_alert_out *a;
        rc = snapshot(ctx, oa, rule_id, household, person_key, TDM_KIND_OVERDUE_WARNING, out,
                      &a, err);
        if (rc < 0)
            goto fail;
        a->raised_at = tdm_eval_cst_midnight_ms(oa->visit_due_day + 1);
        rc = fill_message(a, "【逾期未核查】");
        if (rc < 0) {
            td_error_set(err, rc, "alert %s: message failed", oa->alert_id);
            goto fail;
        }
        if (ndue == sizeof(due) / sizeof(due[0])) {
            /* the rest in the next call */
            alert_done(&out->v[--out->n]);
            break;
        }
        snprintf(due[ndue++], sizeof(due[0]), "%s", oa->alert_id);
    }
    /* mark after the walk: marking mutates the state the walk reads */
    for (size_t k = 0; k < ndue; k++) {
        rc = tdm_window_mark_overdue_warned(state, due[k]);
        if (rc < 0) {
            td_error_set(err, rc, "cannot mark the alert overdue-warned");
            goto fail;
        }
    }
    return 0;
fail:
    list_truncate(out, n0);
    return rc;
}

/* ---- outcomes ---- */

int tdm_eval_outcome(const tdm_eval_ctx *ctx, const avro_value_t *value,
                     const tdm_household *household, const char *person_key,
                     tdm_window *state, tdm_alert_list *out, td_error *err)
{
    tdm_outcome_in o;
    int rc = tdm_outcome_read(value, &o, err);
    if (rc < 0)
        return rc;
    const char *alert_id = o.alert_id, *outcome_id = o.outcome_id;
    tdm_outcome outcome = o.outcome;
    if (outcome == TDM_OUTCOME_DEPARTMENT_DATA_WRONG)
        return td_error_set(err, -EINVAL,
                            "verification outcome: DEPARTMENT_DATA_WRONG is for suspects "
                            "(sus-...), not for alert %s", alert_id);
    if (outcome == TDM_OUTCOME_IDENTIFIED && o.category == TDM_CATEGORY_NONE)
        return td_error_set(err, -EINVAL,
                            "verification outcome: IDENTIFIED_AS_MONITORING_OBJECT without "
                            "category");
    if (outcome == TDM_OUTCOME_DISMISSED && !o.has_reason)
        return td_error_set(err, -EINVAL, "verification outcome: DISMISSED without reason");

    const char *rule_id;
    const tdm_open_alert *oa = tdm_window_find_alert(state, alert_id, &rule_id);
    if (!oa)
        return td_error_set(err, -ENOENT,
                            "verification outcome %s: alert %s is not open (unknown, closed "
                            "or superseded)",
                            outcome_id, alert_id);

    size_t n0 = out->n;
    tdm_alert_out *a;
    rc = snapshot(ctx, oa, rule_id, household, person_key, TDM_KIND_CLOSED, out, &a, err);
    if (rc < 0)
        goto fail;
    bool oom = false;
    a->raised_at = o.recorded_at;
    a->has_closure = true;
    a->closure.outcome = outcome;
    a->closure.category = outcome == TDM_OUTCOME_IDENTIFIED ? o.category : TDM_CATEGORY_NONE;
    a->closure.reason = tdm_value_dup(o.reason, &oom);
    a->closure.visit_date = o.visit_date;
    a->closure.recorded_at = o.recorded_at;
    a->closure.outcome_id = tdm_value_dup(outcome_id, &oom);
    if (oom) {
        rc = td_error_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    rc = fill_message(a, "【已办结】");
    if (rc < 0) {
        td_error_set(err, rc, "alert %s: message failed", alert_id);
        goto fail;
    }
    /* copy: closing frees the open alert's storage */
    char id[TDM_ALERT_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", oa->alert_id);
    rc = tdm_window_close_alert(state, id, tdm_eval_cst_day(o.recorded_at),
                                outcome == TDM_OUTCOME_DISMISSED ? TDM_DISMISS_SUPPRESS_DAYS
                                                                 : 0);
    if (rc < 0) {
        td_error_set(err, rc, "alert %s: cannot close", id);
        goto fail;
    }
    return 0;
fail:
    list_truncate(out, n0);
    return rc;
}

/* ---- Alert values ---- */

static const char *population_symbol(tdm_population p)
{
    switch (p) {
    case TDM_POP_ROSTER_MONITORED:
        return "ROSTER_MONITORED";
    case TDM_POP_ROSTER_NOT_MONITORED:
        return "ROSTER_NOT_MONITORED";
    default:
        return "NOT_ON_ROSTER";
    }
}

static const char *const UNITS[] = {"UNKNOWN", "FEN",   "BASIS_POINTS", "COUNT",
                                    "DAYS",    "YEARS", "GRADE"};

static const char *unit_symbol(tdm_unit u)
{
    return (unsigned)u < sizeof(UNITS) / sizeof(UNITS[0]) ? UNITS[u] : "UNKNOWN";
}

int tdm_alert_avro_escalate(avro_value_t *value, tdm_severity severity, td_error *err)
{
    const char *rule_name, *risk_code, *population, *village, *head, *person, *unit = NULL;
    avro_value_t m;
    bool has_m, p1, p2;
    int64_t visit = 0, proc = 0, mv = 0, mt = 0;
    char buf[TDM_ALERT_MESSAGE_MAX];

    if (tdm_value_str(value, "rule_name", &rule_name) < 0 || !rule_name ||
        tdm_value_str(value, "risk_code", &risk_code) < 0 ||
        tdm_value_enum(value, "population", &population) < 0 || !population ||
        tdm_value_str(value, "village_code", &village) < 0 ||
        tdm_value_str(value, "head_name", &head) < 0 ||
        tdm_value_str(value, "person_name", &person) < 0 ||
        tdm_value_int(value, "visit_due_date", &p1, &visit) < 0 || !p1 ||
        tdm_value_int(value, "procedure_due_date", &p2, &proc) < 0 || !p2 ||
        tdm_value_opt(value, "measure", &m, &has_m) < 0)
        return td_error_set(err, -EINVAL, "Alert: not an alert to escalate");
    if (has_m && (tdm_value_int(&m, "value", &p1, &mv) < 0 || !p1 ||
                  tdm_value_int(&m, "threshold", &p2, &mt) < 0 || !p2 ||
                  tdm_value_enum(&m, "unit", &unit) < 0))
        return td_error_set(err, -EINVAL, "Alert: a measure without value or threshold");
    tdm_message_input in = {
        .rule_name = rule_name,
        .risk_code = risk_code,
        .severity = severity,
        .on_roster = strcmp(population, "NOT_ON_ROSTER") != 0,
        .village_code = village,
        .head_name = head,
        .person_name = person,
        .has_measure = has_m,
        .value = mv,
        .threshold = mt,
        .unit = (tdm_unit)0,
        .visit_due_day = (int32_t)visit,
        .procedure_due_day = (int32_t)proc,
    };
    for (size_t i = 0; unit && i < sizeof(UNITS) / sizeof(UNITS[0]); i++)
        if (strcmp(unit, UNITS[i]) == 0)
            in.unit = (tdm_unit)i;
    int rc = tdm_alert_message(&in, buf, sizeof(buf));
    if (rc < 0)
        return td_error_set(err, rc, "Alert: the escalated message failed");
    tdm_filler f = {err, 0, "Alert"};
    tdm_fill_enum(&f, value, "severity", tdm_severity_symbol(severity));
    tdm_fill_str(&f, value, "message", buf);
    return f.rc;
}

int tdm_alert_out_to_avro(const tdm_alert_out *a, const char *ctx_instance, avro_value_t *value,
                          td_error *err)
{
    static const char *const KINDS[] = {"UNKNOWN", "ALERT", "OVERDUE_WARNING", "CLOSED"};
    tdm_filler f = {err, 0, "Alert"};
    avro_value_t b, arr;

    if (avro_value_reset(value) != 0)
        return td_error_set(err, -EINVAL, "Alert: cannot reset the value");
    tdm_fill_str(&f, value, "alert_id", a->alert_id);
    tdm_fill_enum(&f, value, "kind", (unsigned)a->kind < 4 ? KINDS[a->kind] : "UNKNOWN");
    tdm_fill_str(&f, value, "rule_id", a->rule_id);
    tdm_fill_str(&f, value, "rule_version", a->rule_version);
    tdm_fill_str(&f, value, "rule_name", a->rule_name);
    tdm_fill_opt_str(&f, value, "risk_code", a->risk_code);
    tdm_fill_enum(&f, value, "severity", tdm_severity_symbol(a->severity));
    tdm_fill_enum(&f, value, "population", population_symbol(a->population));
    tdm_fill_opt_str(&f, value, "household_id", a->household_id);
    tdm_fill_opt_enum(&f, value, "household_type",
                 a->household_type == TDM_HH_POVERTY_ALLEVIATED ? "POVERTY_ALLEVIATED"
                 : a->household_type == TDM_HH_ORDINARY          ? "ORDINARY"
                                                                 : NULL);
    tdm_fill_opt_str(&f, value, "person_key", a->person_key);
    tdm_fill_opt_str(&f, value, "person_name", a->person_name);
    bool routed = a->route.routed;
    tdm_fill_opt_str(&f, value, "village_code", routed ? a->route.village_code : NULL);
    tdm_fill_opt_str(&f, value, "township_code", routed ? a->route.township_code : NULL);
    tdm_fill_opt_str(&f, value, "county_code", routed ? a->route.county_code : NULL);
    tdm_fill_opt_str(&f, value, "grid_id", a->grid_id);
    tdm_fill_opt_str(&f, value, "head_name", a->head_name);
    tdm_fill_opt_enum(&f, value, "suggested_category",
                 a->suggested_category == TDM_CATEGORY_NONE
                     ? NULL
                     : tdm_category_symbol(a->suggested_category));

    tdm_fill_get(&f, value, "evidence", &arr);
    for (size_t i = 0; f.rc == 0 && i < a->n_evidence; i++) {
        avro_value_t item;
        if (avro_value_append(&arr, &item, NULL) != 0) {
            f.rc = td_error_set(err, -ENOMEM, "Alert.evidence: cannot append");
            break;
        }
        tdm_fill_evidence(&f, &item, &a->evidence[i]);
    }
    tdm_fill_int(&f, value, "evidence_count", a->evidence_count);
    if (tdm_fill_branch(&f, value, "measure", a->measure.present, &b)) {
        tdm_fill_long(&f, &b, "value", a->measure.value);
        tdm_fill_long(&f, &b, "threshold", a->measure.threshold);
        tdm_fill_enum(&f, &b, "unit", unit_symbol(a->unit));
        tdm_fill_enum(&f, &b, "comparison", a->comparison ? a->comparison : "GE");
    }
    tdm_fill_long(&f, value, "raised_at", a->raised_at);
    tdm_fill_int(&f, value, "visit_due_date", a->visit_due_date);
    tdm_fill_int(&f, value, "procedure_due_date", a->procedure_due_date);
    tdm_fill_str(&f, value, "message", a->message);
    if (tdm_fill_branch(&f, value, "closure", a->has_closure, &b)) {
        tdm_fill_closure(&f, &b, &a->closure);
    }
    tdm_fill_opt_str(&f, value, "supersedes_alert_id", NULL); /* no longer written */
    tdm_fill_source(&f, value, "RURAL_REVITALIZATION", ctx_instance, a->alert_id, NULL, false, 0);
    return f.rc;
}
