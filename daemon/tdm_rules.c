/* tdm_rules: the rules file of tuodi-matchd. See tdm_rules.h and docs/rules.md.
 *
 * Two steps: td_config parses the file into the private cfg_* structs below
 * (syntax, unknown keys, types, ranges, enums, with file:line:col), then
 * validate() checks the meaning and builds the public, immutable tdm_rule
 * array. td_config keeps no position for typed values, so the second step's
 * messages get theirs from locate(): a walk over the same text's libyaml
 * events to the node at a key path ("rules[2].condition.events[1]"). It runs
 * only on the error path, on text td_config has already accepted.
 */
#include "tdm_rules.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "td_money.h"
#include "td_str.h"
#include "tdm_alert.h"

/* ---- The file format: private structs and the td_config tables. ---- */

struct cfg_line {
    char *province;
    int64_t year;
    char *per_capita_yuan;
    char *name;
};

struct cfg_threshold {
    char *absolute;
    char *share_of_income;
    char *share_of_line;
    int population;
    char **household_types;
    size_t n_household_types;
};

struct cfg_threshold_top {
    char *absolute;
    char *share_of_income;
    char *share_of_line;
    struct cfg_threshold *any_of;
    size_t n_any_of;
};

struct cfg_age {
    int64_t min, max;
};

struct cfg_condition {
    int kind;
    char **events;
    size_t n_events;
    int64_t max_disability_grade;
    struct cfg_age member_age;
    char **labour_capacity;
    size_t n_labour_capacity;
    int field;
    int64_t window_days;
    char *bucket;               /* removed: an error when set */
    int64_t departments;
    int64_t within_days;
};

struct cfg_category {
    int def, alleviated, ordinary, not_on_roster;
};

struct cfg_rule {
    char *id;
    char *name;
    char *version;
    bool enabled;
    int dataset;
    int population;
    char **household_types;
    size_t n_household_types;
    struct cfg_condition condition;
    struct cfg_threshold_top threshold;
    char **years;
    size_t n_years;
    char *risk_code;
    int severity;
    struct cfg_category suggested_category;
};

struct cfg_suspect {
    char *id;
    char *name;
    char *version;
    int check;                  /* index into check_names: tdm_check - 1 */
    char *fix_hint;
    bool enabled;
    int64_t grace_days;
    int allowance;
    int64_t max_disability_grade;
    char **labour_capacity;
    size_t n_labour_capacity;
    char *tolerance;
};

struct cfg_file {
    char **provinces;
    size_t n_provinces;
    struct cfg_line *lines;
    size_t n_lines;
    struct cfg_rule *rules;
    size_t n_rules;
    int64_t expected_rules;     /* -1: not said */
    struct cfg_suspect *suspects;
    size_t n_suspects;
    int64_t expected_suspects;  /* -1: not said */
};

/* Enum names: the index is the C enum value. */
static const char *const dataset_names[] = {
    "any", "household", "medical_insurance", "civil_affairs", "human_resources", NULL};
static const char *const population_names[] = {
    "any", "roster_any", "roster_monitored", "roster_not_monitored", "not_on_roster", NULL};
static const char *const kind_names[] = {
    "event", "window_sum", "income_below_line", "departments_within", NULL};
static const char *const field_names[] = {
    "none", "out_of_pocket_fen", "total_cost_fen", "fund_paid_fen", "amount_fen", NULL};
static const char *const severity_names[] = {"low", "medium", "high", NULL};
static const char *const category_names[] = {
    "none", "UNSTABLE_ALLEVIATED", "MARGINAL", "SUDDEN_HARDSHIP", NULL};

/* Suspect checks: the index is tdm_check - 1. */
static const char *const check_names[] = {
    "death_still_listed", "disability_grade_differs", "able_bodied_severely_disabled",
    "allowance_not_recorded", "allowance_still_marked", "welfare_job_not_recorded",
    "welfare_job_still_marked", "duplicate_person", "birth_date_differs", "sex_differs",
    "income_below_transfers", NULL};
static const char *const allowance_names[] = {"none", "dibao", "tekun", NULL};

static const td_cfg_entry line_table[] = {
    TD_CFG_STRING("province", struct cfg_line, province, NULL,
                  "Province code: 2 digits (34 Anhui), the first two of a village code",
                  TD_CFG_REQUIRED),
    TD_CFG_INT("year", struct cfg_line, year, NULL, 2000, 2100,
               "Year of the line (the income year it is compared with)", TD_CFG_REQUIRED),
    TD_CFG_STRING("per_capita_yuan", struct cfg_line, per_capita_yuan, NULL,
                  "Per-capita annual net income line in yuan (up to 2 decimals)",
                  TD_CFG_REQUIRED),
    TD_CFG_STRING("name", struct cfg_line, name, NULL, "Name of the line, for people"),
    TD_CFG_END,
};

static const td_cfg_entry threshold_table[] = {
    TD_CFG_STRING("absolute", struct cfg_threshold, absolute, NULL,
                  "Amount in yuan (up to 2 decimals; stored as fen)"),
    TD_CFG_STRING("share_of_income", struct cfg_threshold, share_of_income, NULL,
                  "Share of the household's annual net income: 0.5 or 50% (stored as basis points)"),
    TD_CFG_STRING("share_of_line", struct cfg_threshold, share_of_line, NULL,
                  "Share of the per-capita monitoring line: 1.0 or 100%"),
    TD_CFG_ENUM("population", struct cfg_threshold, population, "any", population_names,
                "Population this threshold is for"),
    TD_CFG_STRINGS("household_types", struct cfg_threshold, household_types,
                   n_household_types, "Household types this threshold is for (脱贫户, 一般农户); empty: all"),
    TD_CFG_END,
};

static const td_cfg_entry threshold_top_table[] = {
    TD_CFG_STRING("absolute", struct cfg_threshold_top, absolute, NULL,
                  "Amount in yuan (up to 2 decimals; stored as fen)"),
    TD_CFG_STRING("share_of_income", struct cfg_threshold_top, share_of_income, NULL,
                  "Share of the household's annual net income: 0.5 or 50% (stored as basis points)"),
    TD_CFG_STRING("share_of_line", struct cfg_threshold_top, share_of_line, NULL,
                  "Share of the per-capita monitoring line: 1.0 or 100%"),
    TD_CFG_SECTIONS("any_of", struct cfg_threshold_top, any_of, n_any_of,
                    struct cfg_threshold, threshold_table,
                    "Several thresholds, each with its population; the rule fires when any applicable one is crossed"),
    TD_CFG_END,
};

static const td_cfg_entry age_table[] = {
    TD_CFG_INT("min", struct cfg_age, min, "-1", -1, 150, "Lowest age (inclusive); -1: no bound"),
    TD_CFG_INT("max", struct cfg_age, max, "-1", -1, 150, "Highest age (inclusive); -1: no bound"),
    TD_CFG_END,
};

static const td_cfg_entry condition_table[] = {
    TD_CFG_ENUM("kind", struct cfg_condition, kind, NULL, kind_names,
                "Condition kind", TD_CFG_REQUIRED),
    TD_CFG_STRINGS("events", struct cfg_condition, events, n_events,
                   "event: event types of the dataset (schema enum symbols)"),
    TD_CFG_INT("max_disability_grade", struct cfg_condition, max_disability_grade, "0", 0, 4,
               "event: the certified grade must be 1..this (1 most severe); 0: no filter"),
    TD_CFG_SECTION("member_age", struct cfg_condition, member_age, age_table,
                   "event: the member's age at the event date (roster birth date)"),
    TD_CFG_STRINGS("labour_capacity", struct cfg_condition, labour_capacity, n_labour_capacity,
                   "event: the member's labour capacity (NORMAL, SKILLED, WEAK, LOST, NONE); empty: no filter"),
    TD_CFG_ENUM("field", struct cfg_condition, field, "none", field_names,
                "window_sum: the summed field (fen)"),
    TD_CFG_INT("window_days", struct cfg_condition, window_days, "0", 0, 3660,
               "window_sum: trailing window in days, by the record's date"),
    TD_CFG_STRING("bucket", struct cfg_condition, bucket, NULL,
                  "Removed: setting it is an error. It never had an effect: a window_sum "
                  "is always the exact sum of the days in its window"),
    TD_CFG_INT("departments", struct cfg_condition, departments, "0", 0, 4,
               "departments_within: at least this many departments (>= 2)"),
    TD_CFG_INT("within_days", struct cfg_condition, within_days, "0", 0, 3660,
               "departments_within: their signals within this many days"),
    TD_CFG_END,
};

static const td_cfg_entry category_table[] = {
    TD_CFG_ENUM("default", struct cfg_category, def, "none", category_names,
                "Suggested category when no specific one is set"),
    TD_CFG_ENUM("脱贫户", struct cfg_category, alleviated, "none", category_names,
                "For a 脱贫户 (POVERTY_ALLEVIATED) household"),
    TD_CFG_ENUM("一般农户", struct cfg_category, ordinary, "none", category_names,
                "For a 一般农户 (ORDINARY) household"),
    TD_CFG_ENUM("not_on_roster", struct cfg_category, not_on_roster, "none", category_names,
                "For a person not on the roster"),
    TD_CFG_END,
};

static const td_cfg_entry rule_table[] = {
    TD_CFG_STRING("id", struct cfg_rule, id, NULL,
                  "Unique id, [a-z0-9] then [a-z0-9._-], at most 64 (Alert.rule_id)", TD_CFG_REQUIRED),
    TD_CFG_STRING("name", struct cfg_rule, name, NULL, "Name for people (Chinese)", TD_CFG_REQUIRED),
    TD_CFG_STRING("version", struct cfg_rule, version, NULL,
                  "Version of this rule's definition (Alert.rule_version)", TD_CFG_REQUIRED),
    TD_CFG_BOOL("enabled", struct cfg_rule, enabled, "true", "false: loaded and checked, never fires"),
    TD_CFG_ENUM("dataset", struct cfg_rule, dataset, NULL, dataset_names,
                "Dataset whose records the rule reads", TD_CFG_REQUIRED),
    TD_CFG_ENUM("population", struct cfg_rule, population, "any", population_names,
                "Who the rule applies to"),
    TD_CFG_STRINGS("household_types", struct cfg_rule, household_types, n_household_types,
                   "Household types the rule applies to (脱贫户, 一般农户); empty: all"),
    TD_CFG_SECTION("condition", struct cfg_rule, condition, condition_table,
                   "What must happen", TD_CFG_REQUIRED),
    TD_CFG_SECTION("threshold", struct cfg_rule, threshold, threshold_top_table,
                   "One threshold, or any_of: a list"),
    TD_CFG_STRINGS("years", struct cfg_rule, years, n_years,
                   "Years whose monitoring line the rule uses (needed when it uses a line)"),
    TD_CFG_STRING("risk_code", struct cfg_rule, risk_code, NULL,
                  "National risk code: 2 digits, or 02xx (01 因病, 03 因残, ...); unset: none"),
    TD_CFG_ENUM("severity", struct cfg_rule, severity, NULL, severity_names,
                "Severity; departments_within: the severity it raises to", TD_CFG_REQUIRED),
    TD_CFG_SECTION("suggested_category", struct cfg_rule, suggested_category, category_table,
                   "Suggested monitoring category, by household type"),
    TD_CFG_END,
};

static const td_cfg_entry suspect_table[] = {
    TD_CFG_STRING("id", struct cfg_suspect, id, NULL,
                  "Unique id among suspect rules, [a-z0-9] then [a-z0-9._-], at most 64 "
                  "(Suspect.indicator_id)", TD_CFG_REQUIRED),
    TD_CFG_STRING("name", struct cfg_suspect, name, NULL,
                  "Indicator name for people (Chinese, Suspect.indicator_name)", TD_CFG_REQUIRED),
    TD_CFG_STRING("version", struct cfg_suspect, version, NULL,
                  "Version of the definition (Suspect.indicator_version); unset: sha256: and "
                  "16 hex characters of a digest of check and parameters"),
    TD_CFG_ENUM("check", struct cfg_suspect, check, NULL, check_names,
                "What the indicator compares (see Suspect checks)", TD_CFG_REQUIRED),
    TD_CFG_STRING("fix_hint", struct cfg_suspect, fix_hint, NULL,
                  "What the village should check and fix (Chinese, Suspect.fix_hint)",
                  TD_CFG_REQUIRED),
    TD_CFG_BOOL("enabled", struct cfg_suspect, enabled, "true",
                "false: loaded and checked, never raises"),
    TD_CFG_INT("grace_days", struct cfg_suspect, grace_days, "0", 0, 3660,
               "Department-fact checks: a fact dated D counts from D + this many days"),
    TD_CFG_ENUM("allowance", struct cfg_suspect, allowance, "none", allowance_names,
                "allowance_not_recorded, allowance_still_marked: which allowance (required)"),
    TD_CFG_INT("max_disability_grade", struct cfg_suspect, max_disability_grade, "2", 1, 4,
               "able_bodied_severely_disabled: a certified grade 1..this counts"),
    TD_CFG_STRINGS("labour_capacity", struct cfg_suspect, labour_capacity, n_labour_capacity,
                   "able_bodied_severely_disabled: roster labour capacities that say able to "
                   "work (NORMAL, SKILLED, WEAK, LOST, NONE); unset: [NORMAL, SKILLED]"),
    TD_CFG_STRING("tolerance", struct cfg_suspect, tolerance, NULL,
                  "income_below_transfers: yuan the income may fall short of the transfers "
                  "(>= 0; unset: 0)"),
    TD_CFG_END,
};

const td_cfg_entry tdm_rules_file_table[] = {
    TD_CFG_STRINGS("provinces", struct cfg_file, provinces, n_provinces,
                   "Provinces the file serves (2 digits); rules that use a line need one per province and year. Empty: the provinces of lines"),
    TD_CFG_SECTIONS("lines", struct cfg_file, lines, n_lines, struct cfg_line, line_table,
                    "Monitoring lines keyed by (province, year)"),
    TD_CFG_SECTIONS("rules", struct cfg_file, rules, n_rules, struct cfg_rule, rule_table,
                    "The rules, in evaluation order"),
    TD_CFG_INT("expected_rules", struct cfg_file, expected_rules, "-1", -1, 100000,
               "How many enabled rules the file is meant to have: the file is refused when it "
               "has another number, and a reload to it may drop any share of the running rules "
               "(an intended big change; 0: monitoring off on purpose). -1: not said (a file "
               "without an enabled rule is refused, and a reload may drop at most "
               "rules_max_drop_percent of them)"),
    TD_CFG_SECTIONS("suspects", struct cfg_file, suspects, n_suspects, struct cfg_suspect,
                    suspect_table, "Suspect rules (the suspicious-data list), in evaluation order"),
    TD_CFG_INT("expected_suspects", struct cfg_file, expected_suspects, "-1", -1, 100000,
               "How many enabled suspect rules the file is meant to have: as expected_rules, "
               "for suspects. -1: not said (a reload may drop at most rules_max_drop_percent "
               "of the running suspect rules)"),
    TD_CFG_END,
};

/* ---- Schema tables (the enums minus UNKNOWN; tests compare with schemas/). ---- */

static const char *const civil_affairs_events[] = {
    "DIBAO_APPLIED", "DIBAO_APPROVED", "DIBAO_CANCELLED", "TEKUN_APPROVED",
    "TEMP_ASSISTANCE_GRANTED", "DISABILITY_CERTIFIED", "DEATH_REGISTERED", "TEKUN_CANCELLED",
};
static const char *const human_resources_events[] = {
    "UNEMPLOYMENT_REGISTERED", "UNEMPLOYMENT_ENDED", "PUBLIC_WELFARE_JOB_STARTED",
    "PUBLIC_WELFARE_JOB_ENDED", "EMPLOYEE_INSURANCE_LAPSED", "MIGRANT_WORK_REPORTED",
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

const char *const *tdm_event_types(tdm_dataset d, size_t *ret_n)
{
    switch (d) {
    case TDM_DATASET_CIVIL_AFFAIRS:
        *ret_n = N_ELEMS(civil_affairs_events);
        return civil_affairs_events;
    case TDM_DATASET_HUMAN_RESOURCES:
        *ret_n = N_ELEMS(human_resources_events);
        return human_resources_events;
    default:
        *ret_n = 0;
        return NULL;
    }
}

static const struct {
    const char *name;
    tdm_household_type type;
} household_type_names[] = {
    {"脱贫户", TDM_HH_POVERTY_ALLEVIATED},
    {"一般农户", TDM_HH_ORDINARY},
    {"POVERTY_ALLEVIATED", TDM_HH_POVERTY_ALLEVIATED},
    {"ORDINARY", TDM_HH_ORDINARY},
};

static const struct {
    const char *name;
    tdm_labour labour;
} labour_names[] = {
    {"NORMAL", TDM_LABOUR_NORMAL}, {"SKILLED", TDM_LABOUR_SKILLED},
    {"WEAK", TDM_LABOUR_WEAK},     {"LOST", TDM_LABOUR_LOST},
    {"NONE", TDM_LABOUR_NONE},
};

/* ---- The object. ---- */

struct tdm_rules {
    char *source;
    struct cfg_file cfg;   /* owns the strings the rules point into */
    tdm_line *lines;
    size_t n_lines;
    tdm_rule *rules;
    size_t n_rules;
    tdm_suspect_rule *suspects;
    size_t n_suspects;
    char (*digests)[32];   /* versions of suspect rules that state none */
};

tdm_rules *tdm_rules_free(tdm_rules *rules)
{
    if (!rules)
        return NULL;
    for (size_t i = 0; i < rules->n_rules; i++) {
        free((void *)rules->rules[i].thresholds);
        free((void *)rules->rules[i].years);
        free((void *)rules->rules[i].condition.events);
    }
    free(rules->rules);
    free(rules->suspects);
    free(rules->digests);
    free(rules->lines);
    td_config_free(tdm_rules_file_table, &rules->cfg);
    free(rules->source);
    free(rules);
    return NULL;
}

/* ---- Positions for the second step's messages. ---- */

#define LOC_PATH_MAX 512
#define PFX_MAX 128 /* key paths that others are built on */

typedef struct locator {
    const char *want;
    int line, col;
    bool found;
    void (*visit)(void *arg, const char *path); /* every node's path, or NULL */
    void *arg;
} locator;

/* Walks the node whose first event is *ev (consumed) at path; records the
 * position of the node at L->want. Returns false on a parse error. */
static bool loc_walk(yaml_parser_t *p, yaml_event_t *ev, const char *path, locator *L, int depth)
{
    if (!L->found && strcmp(path, L->want) == 0) {
        L->found = true;
        L->line = (int)ev->start_mark.line + 1;
        L->col = (int)ev->start_mark.column + 1;
    }
    if (L->visit)
        L->visit(L->arg, path);
    yaml_event_type_t type = ev->type;
    yaml_event_delete(ev);
    if (depth > TD_CONFIG_MAX_DEPTH)
        return false;
    char sub[LOC_PATH_MAX];
    if (type == YAML_MAPPING_START_EVENT) {
        for (;;) {
            yaml_event_t k, v;
            if (!yaml_parser_parse(p, &k))
                return false;
            if (k.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&k);
                return true;
            }
            if (k.type == YAML_SCALAR_EVENT)
                snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "",
                         (const char *)k.data.scalar.value);
            else
                snprintf(sub, sizeof(sub), "\x01"); /* matches nothing */
            if (k.type == YAML_SCALAR_EVENT)
                yaml_event_delete(&k);
            else if (!loc_walk(p, &k, "\x01", L, depth + 1))
                return false;
            if (!yaml_parser_parse(p, &v))
                return false;
            if (!loc_walk(p, &v, sub, L, depth + 1))
                return false;
        }
    }
    if (type == YAML_SEQUENCE_START_EVENT) {
        for (size_t i = 0;; i++) {
            yaml_event_t v;
            if (!yaml_parser_parse(p, &v))
                return false;
            if (v.type == YAML_SEQUENCE_END_EVENT) {
                yaml_event_delete(&v);
                return true;
            }
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if (!loc_walk(p, &v, sub, L, depth + 1))
                return false;
        }
    }
    return true;
}

/* Walks the text until L->want is found (or to the end). */
static void loc_run(const char *text, locator *L)
{
    yaml_parser_t p;
    yaml_event_t ev;
    if (!yaml_parser_initialize(&p))
        return;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    bool ok = true;
    while (ok && !L->found) {
        if (!yaml_parser_parse(&p, &ev)) {
            ok = false;
            break;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT ||
            t == YAML_SCALAR_EVENT) {
            ok = loc_walk(&p, &ev, "", L, 0);
        } else {
            yaml_event_delete(&ev);
            if (t == YAML_STREAM_END_EVENT || t == YAML_DOCUMENT_END_EVENT)
                break;
        }
    }
    yaml_parser_delete(&p);
}

static bool locate_exact(const char *text, const char *want, int *line, int *col)
{
    locator L = {.want = want};
    loc_run(text, &L);
    if (L.found) {
        *line = L.line;
        *col = L.col;
    }
    return L.found;
}

/* The position of path, or of its nearest ancestor written in the file. */
static void locate(const char *text, const char *path, int *line, int *col)
{
    char buf[LOC_PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", path);
    for (;;) {
        if (locate_exact(text, buf, line, col))
            return;
        char *dot = strrchr(buf, '.'), *br = strrchr(buf, '[');
        char *cut = dot > br ? dot : br;
        if (!cut)
            break;
        *cut = '\0';
    }
    *line = 1;
    *col = 1;
}

/* ---- Validation. ---- */

typedef struct problem {
    int line, col;
    size_t seq;
    char *msg;
} problem;

typedef struct vctx {
    const char *name;
    const char *text;
    problem *v;
    size_t n, cap;
    bool oom;
} vctx;

static void verr(vctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void verr(vctx *c, const char *path, const char *fmt, ...)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        problem *v = realloc(c->v, cap * sizeof(*v));
        if (!v) {
            c->oom = true;
            return;
        }
        c->v = v;
        c->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *msg = td_str_vprintf(fmt, ap);
    va_end(ap);
    if (!msg) {
        c->oom = true;
        return;
    }
    problem *pr = &c->v[c->n];
    locate(c->text, path, &pr->line, &pr->col);
    pr->seq = c->n;
    pr->msg = msg;
    c->n++;
}

static int problem_cmp(const void *a, const void *b)
{
    const problem *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* "0.5", "1", "1.25" (up to 4 decimals) or "50%", "12.5%" (up to 2) into
 * basis points, 1..100000 (0.01% .. 10x). */
static int parse_share(const char *s, int64_t *ret_bp)
{
    size_t n = strlen(s);
    bool percent = n > 0 && s[n - 1] == '%';
    if (percent)
        n--;
    int max_dec = percent ? 2 : 4;
    int64_t whole = 0, frac = 0;
    int dec = -1;
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '.' && dec < 0 && digits > 0) {
            dec = 0;
            continue;
        }
        if (ch < '0' || ch > '9')
            return -EINVAL;
        if (dec >= 0) {
            if (++dec > max_dec)
                return -EINVAL;
            frac = frac * 10 + (ch - '0');
        } else {
            if (whole > 1000000)
                return -ERANGE;
            whole = whole * 10 + (ch - '0');
            digits++;
        }
    }
    if (digits == 0 || dec == 0)
        return -EINVAL;
    for (int d = dec < 0 ? 0 : dec; d < max_dec; d++)
        frac *= 10;
    int64_t bp = percent ? whole * 100 + frac : whole * 10000 + frac;
    if (bp < 1 || bp > 100000)
        return -ERANGE;
    *ret_bp = bp;
    return 0;
}

static bool valid_rule_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || (ch != '-' && ch != '_' && ch != '.')))
            return false;
    }
    return true;
}

static bool valid_risk_code(const char *s)
{
    return td_str_digits(s, 2) || (td_str_digits(s, 4) && s[0] == '0' && s[1] == '2');
}

/* Household-type names into a mask; problems reported under path. */
static unsigned parse_types(vctx *c, const char *path, char **v, size_t n)
{
    unsigned mask = 0;
    char p[LOC_PATH_MAX];
    for (size_t i = 0; i < n; i++) {
        size_t k;
        for (k = 0; k < N_ELEMS(household_type_names); k++)
            if (strcmp(v[i], household_type_names[k].name) == 0)
                break;
        snprintf(p, sizeof(p), "%s[%zu]", path, i);
        if (k == N_ELEMS(household_type_names))
            verr(c, p, "unknown household type '%s' (use 脱贫户 or 一般农户)", v[i]);
        else
            mask |= (unsigned)household_type_names[k].type;
    }
    return mask;
}

static bool cond_uses_amount(const struct cfg_rule *r)
{
    return r->condition.kind == TDM_COND_EVENT;
}

/* One threshold's value: exactly one of the three keys. Returns false after
 * reporting when it is not usable. */
static bool parse_one_threshold(vctx *c, const char *path, const struct cfg_rule *r,
                                const char *absolute, const char *share_income,
                                const char *share_line, tdm_threshold *out)
{
    char p[LOC_PATH_MAX];
    int set = (absolute != NULL) + (share_income != NULL) + (share_line != NULL);
    if (set > 1) {
        snprintf(p, sizeof(p), "%s.%s", path, share_line ? "share_of_line" : "share_of_income");
        verr(c, p, "a threshold has one of absolute, share_of_income, share_of_line "
                   "(use any_of for several)");
        return false;
    }
    if (set == 0) {
        verr(c, path, "a threshold needs absolute, share_of_income or share_of_line");
        return false;
    }
    const char *kind_name = kind_names[r->condition.kind];
    if (absolute) {
        snprintf(p, sizeof(p), "%s.absolute", path);
        int64_t fen = 0;
        if (td_money_parse_yuan(absolute, strlen(absolute), &fen) < 0 || fen <= 0) {
            verr(c, p, "absolute: '%s' is not a positive amount in yuan (e.g. 5000 or 1234.50)",
                 absolute);
            return false;
        }
        out->kind = TDM_THRESHOLD_ABSOLUTE;
        out->value = fen;
    } else {
        const char *key = share_income ? "share_of_income" : "share_of_line";
        const char *text = share_income ? share_income : share_line;
        snprintf(p, sizeof(p), "%s.%s", path, key);
        int64_t bp = 0;
        if (parse_share(text, &bp) < 0) {
            verr(c, p, "%s: '%s' is not a share between 0.0001 and 10 (write 0.5 or 50%%)",
                 key, text);
            return false;
        }
        if (share_income && r->condition.kind == TDM_COND_INCOME_BELOW_LINE) {
            verr(c, p, "share_of_income does not fit condition %s (income against a share "
                       "of itself); use share_of_line or absolute", kind_name);
            return false;
        }
        out->kind = share_income ? TDM_THRESHOLD_SHARE_OF_INCOME : TDM_THRESHOLD_SHARE_OF_LINE;
        out->value = bp;
    }
    if (r->condition.kind == TDM_COND_DEPARTMENTS_WITHIN) {
        verr(c, p, "condition %s takes no threshold (it counts departments: set "
                   "condition.departments)", kind_name);
        return false;
    }
    if (cond_uses_amount(r) && r->dataset != TDM_DATASET_CIVIL_AFFAIRS) {
        verr(c, p, "condition %s on dataset %s has no amount to compare: a threshold fits "
                   "event rules of civil_affairs only", kind_name, dataset_names[r->dataset]);
        return false;
    }
    return true;
}

static void build_thresholds(vctx *c, const char *rpath, const struct cfg_rule *r, tdm_rule *out)
{
    const struct cfg_threshold_top *t = &r->threshold;
    char path[PFX_MAX], p[2 * PFX_MAX];
    snprintf(path, sizeof(path), "%s.threshold", rpath);
    bool top = t->absolute || t->share_of_income || t->share_of_line;
    size_t n = top ? 1 : t->n_any_of;
    if (top && t->n_any_of) {
        snprintf(p, sizeof(p), "%s.any_of", path);
        verr(c, p, "threshold: write one threshold or any_of, not both");
        return;
    }
    if (n == 0 && r->condition.kind == TDM_COND_INCOME_BELOW_LINE)
        n = 1; /* share_of_line 1.0 by default */
    if (n == 0) {
        if (r->condition.kind == TDM_COND_WINDOW_SUM)
            verr(c, rpath, "condition window_sum needs a threshold");
        return;
    }
    tdm_threshold *v = calloc(n, sizeof(*v));
    if (!v) {
        c->oom = true;
        return;
    }
    out->thresholds = v;
    out->n_thresholds = n;
    if (top) {
        parse_one_threshold(c, path, r, t->absolute, t->share_of_income, t->share_of_line, &v[0]);
        return;
    }
    if (t->n_any_of == 0) {
        v[0].kind = TDM_THRESHOLD_SHARE_OF_LINE;
        v[0].value = 10000;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct cfg_threshold *a = &t->any_of[i];
        snprintf(p, sizeof(p), "%s.any_of[%zu]", path, i);
        parse_one_threshold(c, p, r, a->absolute, a->share_of_income, a->share_of_line, &v[i]);
        v[i].when.population = (tdm_population)a->population;
        char tp[LOC_PATH_MAX];
        snprintf(tp, sizeof(tp), "%s.household_types", p);
        v[i].when.household_types = parse_types(c, tp, a->household_types, a->n_household_types);
    }
}

static bool rule_uses_line(const tdm_rule *r)
{
    if (r->condition.kind == TDM_COND_INCOME_BELOW_LINE)
        return true;
    for (size_t i = 0; i < r->n_thresholds; i++)
        if (r->thresholds[i].kind == TDM_THRESHOLD_SHARE_OF_LINE)
            return true;
    return false;
}

static void build_condition(vctx *c, const char *rpath, const struct cfg_rule *r, tdm_rule *out)
{
    const struct cfg_condition *k = &r->condition;
    tdm_condition *o = &out->condition;
    char cpath[PFX_MAX], p[LOC_PATH_MAX], dpath[PFX_MAX];
    snprintf(cpath, sizeof(cpath), "%s.condition", rpath);
    snprintf(dpath, sizeof(dpath), "%s.dataset", rpath);
    o->kind = (tdm_condition_kind)k->kind;
    o->max_disability_grade = (int)k->max_disability_grade;
    o->min_age = (int)k->member_age.min;
    o->max_age = (int)k->member_age.max;
    o->field = (tdm_field)k->field;
    o->window_days = (int)k->window_days;
    if (k->bucket) {
        snprintf(p, sizeof(p), "%s.bucket", cpath);
        verr(c, p, "bucket: removed, delete the line: it never had an effect (a "
             "window_sum is always the exact sum of the days in its window)");
    }
    o->departments = (int)k->departments;
    o->within_days = (int)k->within_days;
    const char *kn = kind_names[k->kind];
    tdm_dataset ds = out->dataset;

    /* the condition kind decides which datasets fit */
    switch (o->kind) {
    case TDM_COND_EVENT:
        if (ds != TDM_DATASET_CIVIL_AFFAIRS && ds != TDM_DATASET_HUMAN_RESOURCES)
            verr(c, dpath, "condition event needs dataset civil_affairs or human_resources, "
                           "not %s", dataset_names[ds]);
        break;
    case TDM_COND_WINDOW_SUM:
        if (ds != TDM_DATASET_MEDICAL_INSURANCE && ds != TDM_DATASET_CIVIL_AFFAIRS)
            verr(c, dpath, "condition window_sum needs dataset medical_insurance or "
                           "civil_affairs, not %s", dataset_names[ds]);
        break;
    case TDM_COND_INCOME_BELOW_LINE:
        if (ds != TDM_DATASET_HOUSEHOLD)
            verr(c, dpath, "condition income_below_line needs dataset household, not %s",
                 dataset_names[ds]);
        break;
    case TDM_COND_DEPARTMENTS_WITHIN:
        if (ds != TDM_DATASET_ANY)
            verr(c, dpath, "condition departments_within needs dataset any, not %s",
                 dataset_names[ds]);
        break;
    }

    /* event */
    if (o->kind == TDM_COND_EVENT) {
        size_t nk = 0;
        const char *const *known = tdm_event_types(ds, &nk);
        if (k->n_events == 0)
            verr(c, cpath, "condition event needs events: (a list of event types)");
        const char **ev = k->n_events ? calloc(k->n_events, sizeof(*ev)) : NULL;
        if (k->n_events && !ev) {
            c->oom = true;
            return;
        }
        o->events = ev;
        for (size_t i = 0; i < k->n_events; i++) {
            snprintf(p, sizeof(p), "%s.events[%zu]", cpath, i);
            size_t j;
            for (j = 0; j < nk; j++)
                if (strcmp(k->events[i], known[j]) == 0)
                    break;
            if (j == nk) {
                if (nk)
                    verr(c, p, "unknown event type '%s' for dataset %s", k->events[i],
                         dataset_names[ds]);
                continue;
            }
            bool dup = false;
            for (size_t m = 0; m < o->n_events; m++)
                dup = dup || ev[m] == known[j];
            if (dup) {
                verr(c, p, "event type '%s' is listed twice", k->events[i]);
                continue;
            }
            ev[o->n_events++] = known[j];
        }
        if (o->max_disability_grade > 0 && ds != TDM_DATASET_CIVIL_AFFAIRS) {
            snprintf(p, sizeof(p), "%s.max_disability_grade", cpath);
            verr(c, p, "max_disability_grade needs dataset civil_affairs (DISABILITY_CERTIFIED)");
        }
        if (o->min_age >= 0 && o->max_age >= 0 && o->min_age > o->max_age) {
            snprintf(p, sizeof(p), "%s.member_age.max", cpath);
            verr(c, p, "member_age: max %d is below min %d", o->max_age, o->min_age);
        }
        for (size_t i = 0; i < k->n_labour_capacity; i++) {
            size_t j;
            for (j = 0; j < N_ELEMS(labour_names); j++)
                if (strcmp(k->labour_capacity[i], labour_names[j].name) == 0)
                    break;
            snprintf(p, sizeof(p), "%s.labour_capacity[%zu]", cpath, i);
            if (j == N_ELEMS(labour_names))
                verr(c, p, "unknown labour capacity '%s' (NORMAL, SKILLED, WEAK, LOST, NONE)",
                     k->labour_capacity[i]);
            else
                o->labour_capacities |= (unsigned)labour_names[j].labour;
        }
    } else {
        static const char *const event_keys[] = {"events", "max_disability_grade",
                                                 "member_age", "labour_capacity"};
        bool set[] = {k->n_events > 0, k->max_disability_grade > 0,
                      k->member_age.min >= 0 || k->member_age.max >= 0,
                      k->n_labour_capacity > 0};
        for (size_t i = 0; i < N_ELEMS(event_keys); i++) {
            if (!set[i])
                continue;
            snprintf(p, sizeof(p), "%s.%s", cpath, event_keys[i]);
            verr(c, p, "%s: only for condition kind event, not %s", event_keys[i], kn);
        }
    }

    /* window_sum */
    if (o->kind == TDM_COND_WINDOW_SUM) {
        snprintf(p, sizeof(p), "%s.field", cpath);
        bool medical = o->field == TDM_FIELD_OUT_OF_POCKET_FEN ||
                       o->field == TDM_FIELD_TOTAL_COST_FEN || o->field == TDM_FIELD_FUND_PAID_FEN;
        if (o->field == TDM_FIELD_NONE)
            verr(c, cpath, "condition window_sum needs field:");
        else if ((ds == TDM_DATASET_MEDICAL_INSURANCE && !medical) ||
                 (ds == TDM_DATASET_CIVIL_AFFAIRS && o->field != TDM_FIELD_AMOUNT_FEN))
            verr(c, p, "field %s is not a field of dataset %s", field_names[o->field],
                 dataset_names[ds]);
        if (o->window_days < 1)
            verr(c, cpath, "condition window_sum needs window_days: (1..3660)");
    } else {
        if (o->field != TDM_FIELD_NONE) {
            snprintf(p, sizeof(p), "%s.field", cpath);
            verr(c, p, "field: only for condition kind window_sum, not %s", kn);
        }
        if (o->window_days) {
            snprintf(p, sizeof(p), "%s.window_days", cpath);
            verr(c, p, "window_days: only for condition kind window_sum, not %s", kn);
        }
    }

    /* departments_within */
    if (o->kind == TDM_COND_DEPARTMENTS_WITHIN) {
        if (o->departments < 2) {
            snprintf(p, sizeof(p), "%s.departments", cpath);
            verr(c, p, "condition departments_within needs departments: 2 or more");
        }
        if (o->within_days < 1) {
            snprintf(p, sizeof(p), "%s.within_days", cpath);
            verr(c, p, "condition departments_within needs within_days: (1..3660)");
        }
    } else {
        if (o->departments) {
            snprintf(p, sizeof(p), "%s.departments", cpath);
            verr(c, p, "departments: only for condition kind departments_within, not %s", kn);
        }
        if (o->within_days) {
            snprintf(p, sizeof(p), "%s.within_days", cpath);
            verr(c, p, "within_days: only for condition kind departments_within, not %s", kn);
        }
    }
}

static tdm_category pick_category(int specific, int def)
{
    return (tdm_category)(specific ? specific : def);
}

static void build_rule(vctx *c, tdm_rules *rs, size_t i)
{
    const struct cfg_rule *r = &rs->cfg.rules[i];
    tdm_rule *o = &rs->rules[i];
    char rpath[64], p[LOC_PATH_MAX];
    snprintf(rpath, sizeof(rpath), "rules[%zu]", i);

    o->id = r->id;
    o->name = r->name;
    o->version = r->version;
    o->enabled = r->enabled;
    o->dataset = (tdm_dataset)r->dataset;
    o->population.population = (tdm_population)r->population;
    o->risk_code = r->risk_code;
    o->severity = (tdm_severity)r->severity;

    snprintf(p, sizeof(p), "%s.id", rpath);
    if (!valid_rule_id(r->id))
        verr(c, p, "rule id '%s': use [a-z0-9] then [a-z0-9._-], at most 64 characters", r->id);
    for (size_t j = 0; j < i; j++) {
        if (strcmp(rs->cfg.rules[j].id, r->id) == 0) {
            char q[64];
            int l = 0, col = 0;
            snprintf(q, sizeof(q), "rules[%zu].id", j);
            locate(c->text, q, &l, &col);
            verr(c, p, "duplicate rule id '%s' (first at line %d)", r->id, l);
            break;
        }
    }
    if (!r->name[0]) {
        snprintf(p, sizeof(p), "%s.name", rpath);
        verr(c, p, "name must not be empty");
    }
    if (!r->version[0]) {
        snprintf(p, sizeof(p), "%s.version", rpath);
        verr(c, p, "version must not be empty");
    }
    snprintf(p, sizeof(p), "%s.household_types", rpath);
    o->population.household_types = parse_types(c, p, r->household_types, r->n_household_types);
    if (o->dataset == TDM_DATASET_HOUSEHOLD && o->population.population == TDM_POP_NOT_ON_ROSTER) {
        snprintf(p, sizeof(p), "%s.population", rpath);
        verr(c, p, "population not_on_roster cannot match dataset household (roster records)");
    }
    if (r->risk_code && !valid_risk_code(r->risk_code)) {
        snprintf(p, sizeof(p), "%s.risk_code", rpath);
        verr(c, p, "risk_code '%s': 2 digits, or 4 digits 02xx (e.g. \"01\" 因病)", r->risk_code);
    }

    build_condition(c, rpath, r, o);
    build_thresholds(c, rpath, r, o);

    const struct cfg_category *sc = &r->suggested_category;
    o->category_alleviated = pick_category(sc->alleviated, sc->def);
    o->category_ordinary = pick_category(sc->ordinary, sc->def);
    o->category_not_on_roster = pick_category(sc->not_on_roster, sc->def);

    /* years, and the lines they need */
    bool uses_line = rule_uses_line(o);
    if (r->n_years && !uses_line) {
        snprintf(p, sizeof(p), "%s.years", rpath);
        verr(c, p, "years: only for rules that use a monitoring line "
                   "(income_below_line or a share_of_line threshold)");
        return;
    }
    if (uses_line && r->n_years == 0) {
        verr(c, rpath, "rule '%s' uses a monitoring line: list the years whose line it uses "
                       "(years: [2023])", r->id);
        return;
    }
    int *years = r->n_years ? calloc(r->n_years, sizeof(*years)) : NULL;
    if (r->n_years && !years) {
        c->oom = true;
        return;
    }
    o->years = years;
    for (size_t y = 0; y < r->n_years; y++) {
        snprintf(p, sizeof(p), "%s.years[%zu]", rpath, y);
        const char *s = r->years[y];
        if (!td_str_digits(s, 4) || atoi(s) < 2000 || atoi(s) > 2100) {
            verr(c, p, "year '%s': 2000..2100", s);
            continue;
        }
        int year = atoi(s);
        years[o->n_years++] = year;
        /* every served province needs a line for the year */
        size_t np = rs->cfg.n_provinces ? rs->cfg.n_provinces : rs->n_lines;
        bool any = false;
        for (size_t k = 0; k < np; k++) {
            const char *prov = rs->cfg.n_provinces ? rs->cfg.provinces[k] : rs->lines[k].province;
            if (!td_str_digits(prov, 2))
                continue;
            any = true;
            if (!tdm_rules_line(rs, prov, year))
                verr(c, p, "rule '%s' needs the monitoring line of province %s, year %d, "
                           "which lines: does not have", r->id, prov, year);
        }
        if (!any)
            verr(c, p, "rule '%s' needs a monitoring line for year %d, and lines: is empty",
                 r->id, year);
    }
}

static void build_lines(vctx *c, tdm_rules *rs)
{
    char p[64];
    for (size_t i = 0; i < rs->cfg.n_provinces; i++) {
        if (!td_str_digits(rs->cfg.provinces[i], 2)) {
            snprintf(p, sizeof(p), "provinces[%zu]", i);
            verr(c, p, "province '%s': 2 digits (34 Anhui)", rs->cfg.provinces[i]);
        }
    }
    for (size_t i = 0; i < rs->cfg.n_lines; i++) {
        const struct cfg_line *l = &rs->cfg.lines[i];
        tdm_line *o = &rs->lines[i];
        if (!td_str_digits(l->province, 2)) {
            snprintf(p, sizeof(p), "lines[%zu].province", i);
            verr(c, p, "province '%s': 2 digits (34 Anhui)", l->province);
        }
        snprintf(o->province, sizeof(o->province), "%.2s", l->province);
        o->year = (int)l->year;
        o->name = l->name ? l->name : "";
        int64_t fen = 0;
        if (td_money_parse_yuan(l->per_capita_yuan, strlen(l->per_capita_yuan), &fen) < 0 ||
            fen <= 0) {
            snprintf(p, sizeof(p), "lines[%zu].per_capita_yuan", i);
            verr(c, p, "per_capita_yuan: '%s' is not a positive amount in yuan", l->per_capita_yuan);
        }
        o->per_capita_fen = fen;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(rs->lines[j].province, o->province) == 0 && rs->lines[j].year == o->year) {
                snprintf(p, sizeof(p), "lines[%zu].year", i);
                verr(c, p, "a second line for province %s, year %d", o->province, o->year);
                break;
            }
        }
    }
    rs->n_lines = rs->cfg.n_lines;
}

/* ---- Suspect rules. ---- */

/* Keys of a suspect rule that only some checks take (bits of a mask). */
enum {
    SK_GRACE = 1u,
    SK_ALLOWANCE = 2u,
    SK_GRADE = 4u,
    SK_LABOUR = 8u,
    SK_TOLERANCE = 16u,
};

static const struct {
    unsigned bit;
    const char *key;
} suspect_keys[] = {
    {SK_GRACE, "grace_days"},          {SK_ALLOWANCE, "allowance"},
    {SK_GRADE, "max_disability_grade"}, {SK_LABOUR, "labour_capacity"},
    {SK_TOLERANCE, "tolerance"},
};

/* The keys each check takes. */
static unsigned check_keys(tdm_check c)
{
    switch (c) {
    case TDM_CHECK_DEATH_STILL_LISTED:
    case TDM_CHECK_DISABILITY_GRADE_DIFFERS:
    case TDM_CHECK_WELFARE_JOB_NOT_RECORDED:
    case TDM_CHECK_WELFARE_JOB_STILL_MARKED:
        return SK_GRACE;
    case TDM_CHECK_ABLE_BODIED_SEVERELY_DISABLED:
        return SK_GRACE | SK_GRADE | SK_LABOUR;
    case TDM_CHECK_ALLOWANCE_NOT_RECORDED:
    case TDM_CHECK_ALLOWANCE_STILL_MARKED:
        return SK_GRACE | SK_ALLOWANCE;
    case TDM_CHECK_INCOME_BELOW_TRANSFERS:
        return SK_TOLERANCE;
    case TDM_CHECK_DUPLICATE_PERSON:
    case TDM_CHECK_BIRTH_DATE_DIFFERS:
    case TDM_CHECK_SEX_DIFFERS:
        return 0;
    }
    return 0;
}

const char *tdm_check_name(tdm_check c)
{
    size_t i = (size_t)c;
    return i >= 1 && i < N_ELEMS(check_names) ? check_names[i - 1] : "";
}

typedef struct key_marks {
    unsigned *masks;        /* per suspect rule: the keys written */
    size_t n;
} key_marks;

static void note_present(void *arg, const char *path)
{
    key_marks *pr = arg;
    static const char pfx[] = "suspects[";
    if (strncmp(path, pfx, sizeof(pfx) - 1) != 0)
        return;
    char *end;
    unsigned long i = strtoul(path + sizeof(pfx) - 1, &end, 10);
    if (end[0] != ']' || end[1] != '.' || i >= pr->n)
        return;
    for (size_t k = 0; k < N_ELEMS(suspect_keys); k++)
        if (strcmp(end + 2, suspect_keys[k].key) == 0)
            pr->masks[i] |= suspect_keys[k].bit;
}

static void build_suspect(vctx *c, tdm_rules *rs, size_t i, unsigned written)
{
    const struct cfg_suspect *r = &rs->cfg.suspects[i];
    tdm_suspect_rule *o = &rs->suspects[i];
    char spath[64], p[LOC_PATH_MAX];
    snprintf(spath, sizeof(spath), "suspects[%zu]", i);

    o->id = r->id;
    o->name = r->name;
    o->fix_hint = r->fix_hint;
    o->enabled = r->enabled;
    o->check = (tdm_check)(r->check + 1);
    o->allowance = (tdm_allowance)r->allowance;
    o->grace_days = (int)r->grace_days;
    o->max_disability_grade = (int)r->max_disability_grade;

    snprintf(p, sizeof(p), "%s.id", spath);
    if (!valid_rule_id(r->id))
        verr(c, p, "suspect rule id '%s': use [a-z0-9] then [a-z0-9._-], at most 64 characters",
             r->id);
    for (size_t j = 0; j < i; j++) {
        if (strcmp(rs->cfg.suspects[j].id, r->id) == 0) {
            char q[64];
            int l = 0, col = 0;
            snprintf(q, sizeof(q), "suspects[%zu].id", j);
            locate(c->text, q, &l, &col);
            verr(c, p, "duplicate suspect rule id '%s' (first at line %d)", r->id, l);
            break;
        }
    }
    if (!r->name[0]) {
        snprintf(p, sizeof(p), "%s.name", spath);
        verr(c, p, "name must not be empty");
    }
    if (!r->fix_hint[0]) {
        snprintf(p, sizeof(p), "%s.fix_hint", spath);
        verr(c, p, "fix_hint must not be empty");
    }
    if (r->version && !r->version[0]) {
        snprintf(p, sizeof(p), "%s.version", spath);
        verr(c, p, "version must not be empty (leave it out for a digest)");
    }

    /* keys that do not fit the check */
    const char *cn = tdm_check_name(o->check);
    unsigned takes = check_keys(o->check);
    for (size_t k = 0; k < N_ELEMS(suspect_keys); k++) {
        if (!(written & suspect_keys[k].bit) || (takes & suspect_keys[k].bit))
            continue;
        char list[160] = "";
        for (size_t m = 0; m < N_ELEMS(suspect_keys); m++) {
            if (!(takes & suspect_keys[m].bit))
                continue;
            size_t len = strlen(list);
            snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "",
                     suspect_keys[m].key);
        }
        snprintf(p, sizeof(p), "%s.%s", spath, suspect_keys[k].key);
        verr(c, p, "%s does not fit check %s (its own keys: %s)", suspect_keys[k].key, cn,
             list[0] ? list : "none");
    }

    if ((takes & SK_ALLOWANCE) && o->allowance == TDM_ALLOWANCE_NONE) {
        snprintf(p, sizeof(p), "%s.%s", spath, (written & SK_ALLOWANCE) ? "allowance" : "check");
        verr(c, p, "check %s needs allowance: dibao or tekun", cn);
    }
    if (takes & SK_LABOUR) {
        if ((written & SK_LABOUR) && r->n_labour_capacity == 0) {
            snprintf(p, sizeof(p), "%s.labour_capacity", spath);
            verr(c, p, "labour_capacity: list at least one (NORMAL, SKILLED, WEAK, LOST, NONE)");
        }
        for (size_t k = 0; k < r->n_labour_capacity; k++) {
            size_t j;
            for (j = 0; j < N_ELEMS(labour_names); j++)
                if (strcmp(r->labour_capacity[k], labour_names[j].name) == 0)
                    break;
            snprintf(p, sizeof(p), "%s.labour_capacity[%zu]", spath, k);
            if (j == N_ELEMS(labour_names))
                verr(c, p, "unknown labour capacity '%s' (NORMAL, SKILLED, WEAK, LOST, NONE)",
                     r->labour_capacity[k]);
            else
                o->labour_capacities |= (unsigned)labour_names[j].labour;
        }
        if (!(written & SK_LABOUR))
            o->labour_capacities = TDM_LABOUR_NORMAL | TDM_LABOUR_SKILLED;
    }
    if (r->tolerance && (takes & SK_TOLERANCE)) {
        int64_t fen = 0;
        if (td_money_parse_yuan(r->tolerance, strlen(r->tolerance), &fen) < 0 || fen < 0) {
            snprintf(p, sizeof(p), "%s.tolerance", spath);
            verr(c, p, "tolerance: '%s' is not an amount in yuan of 0 or more (e.g. 100 or "
                       "99.50)", r->tolerance);
        } else {
            o->tolerance_fen = fen;
        }
    }
    if (!(takes & SK_GRADE))
        o->max_disability_grade = 0;
    if (!(takes & SK_GRACE))
        o->grace_days = 0;

    if (r->version) {
        o->version = r->version;
    } else {
        char g[24], m[24], l[24], t[24], a[4];
        snprintf(g, sizeof(g), "%d", o->grace_days);
        snprintf(m, sizeof(m), "%d", o->max_disability_grade);
        snprintf(l, sizeof(l), "%u", o->labour_capacities);
        snprintf(t, sizeof(t), "%lld", (long long)o->tolerance_fen);
        snprintf(a, sizeof(a), "%d", (int)o->allowance);
        const tdm_hash_part parts[] = {
            {'T', "tuodi-suspect-rule/1", strlen("tuodi-suspect-rule/1")},
            {'c', cn, strlen(cn)}, {'a', a, strlen(a)}, {'g', g, strlen(g)},
            {'m', m, strlen(m)},   {'l', l, strlen(l)}, {'t', t, strlen(t)},
        };
        memcpy(rs->digests[i], "sha256:", 7);
        if (tdm_hash_hex(parts, N_ELEMS(parts), 16, rs->digests[i] + 7) < 0)
            c->oom = true;
        o->version = rs->digests[i];
    }
}

static void build_suspects(vctx *c, tdm_rules *rs)
{
    size_t n = rs->cfg.n_suspects;
    if (n == 0)
        return;
    rs->suspects = calloc(n, sizeof(*rs->suspects));
    rs->digests = calloc(n, sizeof(*rs->digests));
    key_marks pr = {calloc(n, sizeof(unsigned)), n};
    if (!rs->suspects || !rs->digests || !pr.masks) {
        free(pr.masks);
        c->oom = true;
        return;
    }
    locator L = {.want = "\x02", .visit = note_present, .arg = &pr};
    loc_run(c->text, &L);
    rs->n_suspects = n;
    for (size_t i = 0; i < n && !c->oom; i++)
        build_suspect(c, rs, i, pr.masks[i]);
    free(pr.masks);
}

static size_t count_enabled_suspects(const tdm_rules *rs)
{
    size_t n = 0;
    for (size_t i = 0; i < rs->n_suspects; i++)
        n += rs->suspects[i].enabled;
    return n;
}

static size_t count_enabled(const tdm_rules *rs)
{
    size_t n = 0;
    for (size_t i = 0; i < rs->n_rules; i++)
        n += rs->rules[i].enabled;
    return n;
}

/* A file without an enabled rule (an empty file: an interrupted write)
 * would switch monitoring off: refused unless it says expected_rules: 0;
 * a file that says how many it has must have that many (a cut file). */
static void check_count(vctx *c, const tdm_rules *rs)
{
    size_t n = count_enabled(rs), ns = count_enabled_suspects(rs);

    if (rs->cfg.expected_rules < 0 && n == 0 && ns == 0)
        verr(c, "rules", "no enabled rule: monitoring would be off (an empty or cut file?); "
             "if that is intended, say expected_rules: 0");
    else if (rs->cfg.expected_rules >= 0 && (int64_t)n != rs->cfg.expected_rules)
        verr(c, "expected_rules", "expected_rules: %" PRId64 ", but the file has %zu enabled "
             "rules (a cut file?)", rs->cfg.expected_rules, n);
    if (rs->cfg.expected_suspects >= 0 && (int64_t)ns != rs->cfg.expected_suspects)
        verr(c, "expected_suspects", "expected_suspects: %" PRId64 ", but the file has %zu "
             "enabled suspect rules (a cut file?)", rs->cfg.expected_suspects, ns);
}

static int read_text(const char *path, char **ret, td_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno ? errno : EIO;
        return td_error_set(err, -e, "%s: %s", path, strerror(e));
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                rc = td_error_set(err, -ENOMEM, "%s: out of memory", path);
                goto out;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len > TD_CONFIG_MAX_BYTES) {
            rc = td_error_set(err, -EFBIG, "%s: bigger than %u bytes", path,
                              (unsigned)TD_CONFIG_MAX_BYTES);
            goto out;
        }
        if (got == 0) {
            if (ferror(f))
                rc = td_error_set(err, -EIO, "%s: read error", path);
            break;
        }
    }
    if (!rc && memchr(buf, '\0', len))
        rc = td_error_set(err, -EINVAL, "%s: contains a NUL byte", path);
out:
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    *ret = buf;
    return 0;
}

int tdm_rules_load_string(const char *name, const char *yaml, tdm_rules **ret_rules,
                          td_error *err)
{
    if (!yaml || !ret_rules)
        return td_error_set(err, -EINVAL, "tdm_rules_load_string: NULL argument");
    if (!name)
        name = "<string>";
    tdm_rules *rs = calloc(1, sizeof(*rs));
    if (!rs || !(rs->source = strdup(name))) {
        free(rs);
        return td_error_set(err, -ENOMEM, "%s: out of memory", name);
    }
    int rc = td_config_load_string(tdm_rules_file_table, name, yaml, &rs->cfg, err);
    if (rc < 0) {
        tdm_rules_free(rs);
        return rc;
    }
    vctx c = {.name = name, .text = yaml};
    rs->lines = rs->cfg.n_lines ? calloc(rs->cfg.n_lines, sizeof(*rs->lines)) : NULL;
    rs->rules = rs->cfg.n_rules ? calloc(rs->cfg.n_rules, sizeof(*rs->rules)) : NULL;
    if ((rs->cfg.n_lines && !rs->lines) || (rs->cfg.n_rules && !rs->rules)) {
        c.oom = true;
    } else {
        build_lines(&c, rs);
        rs->n_rules = rs->cfg.n_rules;
        for (size_t i = 0; i < rs->n_rules && !c.oom; i++)
            build_rule(&c, rs, i);
        if (!c.oom)
            build_suspects(&c, rs);
        check_count(&c, rs);
    }
    if (c.oom) {
        rc = td_error_set(err, -ENOMEM, "%s: out of memory", name);
    } else if (c.n) {
        qsort(c.v, c.n, sizeof(*c.v), problem_cmp);
        td_error_clear(err);
        size_t shown = c.n < TD_CONFIG_MAX_ERRORS ? c.n : TD_CONFIG_MAX_ERRORS;
        for (size_t i = 0; i < shown; i++)
            td_error_append(err, -EINVAL, "%s:%d:%d: %s", name, c.v[i].line, c.v[i].col,
                            c.v[i].msg);
        if (c.n > shown)
            td_error_append(err, -EINVAL, "%s: and %zu more problems", name, c.n - shown);
        rc = -EINVAL;
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.v[i].msg);
    free(c.v);
    if (rc < 0) {
        tdm_rules_free(rs);
        return rc;
    }
    *ret_rules = rs;
    return 0;
}

int tdm_rules_load(const char *path, tdm_rules **ret_rules, td_error *err)
{
    if (!path || !ret_rules)
        return td_error_set(err, -EINVAL, "tdm_rules_load: NULL argument");
    char *text = NULL;
    int rc = read_text(path, &text, err);
    if (rc < 0)
        return rc;
    rc = tdm_rules_load_string(path, text, ret_rules, err);
    free(text);
    return rc;
}

/* The ids of a kind of rule (alert or suspect rules), for the reload guard. */
typedef struct rule_kind {
    const char *what;       /* "rules", "suspect rules" */
    const char *key;        /* "expected_rules", "expected_suspects" */
    size_t n;
    const char *(*id_at)(const tdm_rules *rs, size_t i, bool *enabled);
} rule_kind;

static const char *rule_id_at(const tdm_rules *rs, size_t i, bool *enabled)
{
    *enabled = rs->rules[i].enabled;
    return rs->rules[i].id;
}

static const char *suspect_id_at(const tdm_rules *rs, size_t i, bool *enabled)
{
    *enabled = rs->suspects[i].enabled;
    return rs->suspects[i].id;
}

static int check_drop_kind(const tdm_rules *current, const tdm_rules *next,
                           int max_drop_percent, const rule_kind *cur, const rule_kind *nxt,
                           td_error *err)
{
    size_t running = 0, dropped = 0, shown = 0, enabled_next = 0;
    char names[400] = "";
    bool en;

    for (size_t j = 0; j < nxt->n; j++) {
        nxt->id_at(next, j, &en);
        enabled_next += en;
    }
    for (size_t i = 0; i < cur->n; i++) {
        const char *id = cur->id_at(current, i, &en);
        if (!en)
            continue;
        running++;
        bool kept = false;
        for (size_t j = 0; j < nxt->n && !kept; j++) {
            const char *nid = nxt->id_at(next, j, &en);
            kept = en && strcmp(nid, id) == 0;
        }
        if (kept)
            continue;
        dropped++;
        if (shown < 5) {
            size_t len = strlen(names);
            snprintf(names + len, sizeof(names) - len, "%s%s", shown ? ", " : "", id);
            shown++;
        }
    }
    if (dropped == 0)
        return 0;
    if (dropped > shown) {
        size_t len = strlen(names);
        snprintf(names + len, sizeof(names) - len, " and %zu more", dropped - shown);
    }
    if (dropped == running)
        return td_error_set(err, -EINVAL, "%s: refused: it drops all %zu running %s (%s): "
                            "an empty or cut file? If that is intended, say %s: %zu "
                            "in the file", next->source, running, cur->what, names, cur->key,
                            enabled_next);
    if (dropped * 100 > (size_t)max_drop_percent * running)
        return td_error_set(err, -EINVAL, "%s: refused: it drops %zu of the %zu running %s "
                            "(%s), more than rules_max_drop_percent (%d%%): a cut file? If that "
                            "is intended, say %s: %zu in the file", next->source,
                            dropped, running, cur->what, names, max_drop_percent, cur->key,
                            enabled_next);
    return 0;
}

int tdm_rules_check_drop(const tdm_rules *current, const tdm_rules *next, int max_drop_percent,
                         td_error *err)
{
    if (!current || !next)
        return 0;
    if (next->cfg.expected_rules < 0) {
        rule_kind a = {"rules", "expected_rules", current->n_rules, rule_id_at};
        rule_kind b = {"rules", "expected_rules", next->n_rules, rule_id_at};
        int r = check_drop_kind(current, next, max_drop_percent, &a, &b, err);
        if (r < 0)
            return r;
    }
    if (next->cfg.expected_suspects < 0) {
        rule_kind a = {"suspect rules", "expected_suspects", current->n_suspects,
                       suspect_id_at};
        rule_kind b = {"suspect rules", "expected_suspects", next->n_suspects, suspect_id_at};
        return check_drop_kind(current, next, max_drop_percent, &a, &b, err);
    }
    return 0;
}

int tdm_rules_reload(const tdm_rules *current, const char *path, int max_drop_percent,
                     tdm_rules **ret_next, td_error *err)
{
    tdm_rules *next = NULL;
    int r;

    if (!ret_next)
        return td_error_set(err, -EINVAL, "tdm_rules_reload: NULL argument");
    r = tdm_rules_load(path, &next, err);
    if (r == 0)
        r = tdm_rules_check_drop(current, next, max_drop_percent, err);
    if (r < 0) {
        tdm_rules_free(next); /* current is never changed: the caller keeps it */
        return r;
    }
    *ret_next = next;
    return 0;
}

/* ---- Accessors. ---- */

size_t tdm_rules_count(const tdm_rules *rules)
{
    return rules ? rules->n_rules : 0;
}

const tdm_rule *tdm_rules_at(const tdm_rules *rules, size_t i)
{
    return rules && i < rules->n_rules ? &rules->rules[i] : NULL;
}

const tdm_rule *tdm_rules_find(const tdm_rules *rules, const char *id)
{
    if (!rules || !id)
        return NULL;
    for (size_t i = 0; i < rules->n_rules; i++)
        if (strcmp(rules->rules[i].id, id) == 0)
            return &rules->rules[i];
    return NULL;
}

size_t tdm_rules_suspect_count(const tdm_rules *rules)
{
    return rules ? rules->n_suspects : 0;
}

const tdm_suspect_rule *tdm_rules_suspect_at(const tdm_rules *rules, size_t i)
{
    return rules && i < rules->n_suspects ? &rules->suspects[i] : NULL;
}

const tdm_suspect_rule *tdm_rules_suspect_find(const tdm_rules *rules, const char *id)
{
    if (!rules || !id)
        return NULL;
    for (size_t i = 0; i < rules->n_suspects; i++)
        if (strcmp(rules->suspects[i].id, id) == 0)
            return &rules->suspects[i];
    return NULL;
}

const tdm_line *tdm_rules_line(const tdm_rules *rules, const char *province, int year)
{
    if (!rules || !province || strlen(province) < 2)
        return NULL;
    for (size_t i = 0; i < rules->n_lines; i++) {
        const tdm_line *l = &rules->lines[i];
        if (l->year == year && l->province[0] == province[0] && l->province[1] == province[1])
            return l;
    }
    return NULL;
}

size_t tdm_rules_line_count(const tdm_rules *rules)
{
    return rules ? rules->n_lines : 0;
}

const tdm_line *tdm_rules_line_at(const tdm_rules *rules, size_t i)
{
    return rules && i < rules->n_lines ? &rules->lines[i] : NULL;
}

const char *tdm_rules_source(const tdm_rules *rules)
{
    return rules ? rules->source : "";
}

/* ---- Evaluation. ---- */

bool tdm_filter_admits(const tdm_filter *f, tdm_population population, tdm_household_type type)
{
    bool roster = population == TDM_POP_ROSTER_MONITORED ||
                  population == TDM_POP_ROSTER_NOT_MONITORED;
    switch (f->population) {
    case TDM_POP_ANY:
        break;
    case TDM_POP_ROSTER_ANY:
        if (!roster)
            return false;
        break;
    default:
        if (population != f->population)
            return false;
        break;
    }
    if (f->household_types && !(f->household_types & (unsigned)type))
        return false;
    return true;
}

/* ceil(base * bp / 10000) without overflow for |base| <= 9e16, bp <= 1e5. */
static int share_ceil(int64_t base, int64_t bp, int64_t *ret)
{
    int64_t q = base / 10000, r = base % 10000, whole;
    if (__builtin_mul_overflow(q, bp, &whole))
        return -ERANGE;
    int64_t rem = r * bp; /* |r| < 1e4, bp <= 1e5 */
    int64_t t;
    if (__builtin_add_overflow(whole, rem / 10000, &t))
        return -ERANGE;
    if (rem % 10000 > 0)
        t++; /* truncation of a negative remainder is already the ceiling */
    *ret = t;
    return 0;
}

int tdm_threshold_fen(const tdm_threshold *t, const int64_t *annual_net_fen,
                      const tdm_line *line, int64_t *ret_fen)
{
    int64_t v = 0;
    int rc;
    switch (t->kind) {
    case TDM_THRESHOLD_ABSOLUTE:
        *ret_fen = t->value;
        return 0;
    case TDM_THRESHOLD_SHARE_OF_INCOME:
        if (!annual_net_fen)
            return -ENOENT;
        if (*annual_net_fen <= 0) {
            *ret_fen = 1;
            return 0;
        }
        rc = share_ceil(*annual_net_fen, t->value, &v);
        break;
    case TDM_THRESHOLD_SHARE_OF_LINE:
        if (!line)
            return -ENOENT;
        rc = share_ceil(line->per_capita_fen, t->value, &v);
        break;
    default:
        return -EINVAL;
    }
    if (rc < 0)
        return rc;
    *ret_fen = v < 1 ? 1 : v;
    return 0;
}

int tdm_rule_threshold_fen(const tdm_rule *r, const tdm_subject *s, int64_t *ret_fen)
{
    bool highest = r->condition.kind == TDM_COND_INCOME_BELOW_LINE;
    bool found = false;
    int64_t best = 0;
    const int64_t *income = s->has_income ? &s->annual_net_fen : NULL;
    for (size_t i = 0; i < r->n_thresholds; i++) {
        const tdm_threshold *t = &r->thresholds[i];
        if (!tdm_filter_admits(&t->when, s->population, s->type))
            continue;
        int64_t v;
        int rc = tdm_threshold_fen(t, income, s->line, &v);
        if (rc == -ENOENT)
            continue;
        if (rc < 0)
            return rc;
        if (!found || (highest ? v > best : v < best))
            best = v;
        found = true;
    }
    if (!found)
        return -ENOENT;
    *ret_fen = best;
    return 0;
}

const char *tdm_rule_comparison(const tdm_rule *r)
{
    return r->condition.kind == TDM_COND_INCOME_BELOW_LINE ? "LT" : "GE";
}

static void set_measure(tdm_measure *m, bool present, int64_t value, int64_t threshold)
{
    if (m) {
        m->present = present;
        m->value = value;
        m->threshold = threshold;
    }
}

bool tdm_rule_matches_event(const tdm_rule *r, const tdm_event *ev, const tdm_subject *s,
                            tdm_measure *ret_measure)
{
    const tdm_condition *c = &r->condition;
    if (!r->enabled || c->kind != TDM_COND_EVENT || !ev->event_type)
        return false;
    if (r->dataset != TDM_DATASET_ANY && r->dataset != ev->dataset)
        return false;
    if (!tdm_filter_admits(&r->population, s->population, s->type))
        return false;
    bool listed = false;
    for (size_t i = 0; i < c->n_events && !listed; i++)
        listed = strcmp(c->events[i], ev->event_type) == 0;
    if (!listed)
        return false;
    if (c->max_disability_grade > 0 &&
        (ev->disability_grade < 1 || ev->disability_grade > c->max_disability_grade))
        return false;
    if (c->min_age >= 0 || c->max_age >= 0) {
        if (ev->age < 0 || (c->min_age >= 0 && ev->age < c->min_age) ||
            (c->max_age >= 0 && ev->age > c->max_age))
            return false;
    }
    if (c->labour_capacities && !(c->labour_capacities & (unsigned)ev->labour))
        return false;
    if (r->n_thresholds == 0) {
        set_measure(ret_measure, false, 0, 0);
        return true;
    }
    int64_t t;
    if (!ev->has_amount || tdm_rule_threshold_fen(r, s, &t) < 0 || ev->amount_fen < t)
        return false;
    set_measure(ret_measure, true, ev->amount_fen, t);
    return true;
}

bool tdm_rule_matches_value(const tdm_rule *r, const tdm_subject *s, int64_t value,
                            tdm_measure *ret_measure)
{
    if (!r->enabled || !tdm_filter_admits(&r->population, s->population, s->type))
        return false;
    int64_t t;
    if (r->condition.kind == TDM_COND_WINDOW_SUM) {
        if (tdm_rule_threshold_fen(r, s, &t) < 0 || value < t)
            return false;
        set_measure(ret_measure, true, value, t);
        return true;
    }
    if (r->condition.kind == TDM_COND_INCOME_BELOW_LINE) {
        if (!s->has_income)
            return false;
        bool year_ok = r->n_years == 0;
        for (size_t i = 0; i < r->n_years && !year_ok; i++)
            year_ok = r->years[i] == s->income_year;
        if (!year_ok || tdm_rule_threshold_fen(r, s, &t) < 0 || s->per_capita_net_fen >= t)
            return false;
        set_measure(ret_measure, true, s->per_capita_net_fen, t);
        return true;
    }
    return false;
}

bool tdm_rule_matches_departments(const tdm_rule *r, int n_departments, int span_days)
{
    const tdm_condition *c = &r->condition;
    return r->enabled && c->kind == TDM_COND_DEPARTMENTS_WITHIN &&
           n_departments >= c->departments && span_days >= 0 && span_days <= c->within_days;
}

tdm_category tdm_rule_category(const tdm_rule *r, const tdm_subject *s)
{
    if (s->population == TDM_POP_NOT_ON_ROSTER)
        return r->category_not_on_roster;
    if (s->type == TDM_HH_POVERTY_ALLEVIATED)
        return r->category_alleviated;
    if (s->type == TDM_HH_ORDINARY)
        return r->category_ordinary;
    return TDM_CATEGORY_NONE;
}

const char *tdm_severity_symbol(tdm_severity s)
{
    static const char *const v[] = {"LOW", "MEDIUM", "HIGH"};
    return (unsigned)s < N_ELEMS(v) ? v[s] : "UNKNOWN";
}

const char *tdm_category_symbol(tdm_category c)
{
    static const char *const v[] = {"", "UNSTABLE_ALLEVIATED", "MARGINAL", "SUDDEN_HARDSHIP"};
    return (unsigned)c < N_ELEMS(v) ? v[c] : "";
}

const char *tdm_dataset_name(tdm_dataset d)
{
    return (unsigned)d < N_ELEMS(dataset_names) - 1 ? dataset_names[d] : "";
}
