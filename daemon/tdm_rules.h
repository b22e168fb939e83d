/* tdm_rules: the rules file of tuodi-matchd (YAML that ops edit).
 *
 * A rules file holds monitoring lines keyed by (province, year) and rules,
 * each with a dataset, a population, one condition of a few kinds, thresholds,
 * a risk code, a severity and a suggested monitoring category. The vocabulary
 * is in docs/rules.md; deploy/rules/huainan-2023.yaml is the shipped file.
 *
 * Loading parses with td_config (strict: unknown keys, wrong types, duplicate
 * keys), then validates the meaning (duplicate rule ids, event types unknown to
 * the dataset's schema, thresholds that do not fit the condition, conditions
 * that do not fit the dataset, rules that need a missing line). Every problem
 * is reported as "FILE:LINE:COL: message", one per line, like td_config.
 *
 * A loaded tdm_rules is immutable: any number of threads may read it at once.
 * Pointers obtained from it (rules, lines, thresholds, names) live as long as
 * the object. Money is integer fen, shares are basis points (1/10000): no
 * floating point anywhere.
 *
 * Reload (SIGHUP) is parse, validate, swap: tdm_rules_reload() builds a new
 * object and never touches the current one; the caller swaps its pointer and
 * frees the old object once no evaluation uses it. On error the caller keeps
 * the current object. A file that would switch monitoring off by accident
 * (empty, cut, or dropping more than a configured share of the running rules)
 * is an error unless it says how many rules it is meant to have
 * (expected_rules).
 */
#ifndef TDM_RULES_H
#define TDM_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "td_config.h"
#include "td_error.h"

/* The department dataset a rule reads (the connector's dataset names). */
typedef enum tdm_dataset {
    TDM_DATASET_ANY = 0,
    TDM_DATASET_HOUSEHOLD,          /* the roster (dataset `roster`) */
    TDM_DATASET_MEDICAL_INSURANCE,
    TDM_DATASET_CIVIL_AFFAIRS,
    TDM_DATASET_HUMAN_RESOURCES,
} tdm_dataset;

/* Population filter of a rule or threshold. */
typedef enum tdm_population {
    TDM_POP_ANY = 0,                /* everyone */
    TDM_POP_ROSTER_ANY,             /* any roster household */
    TDM_POP_ROSTER_MONITORED,       /* roster, state MONITORED */
    TDM_POP_ROSTER_NOT_MONITORED,   /* roster, NOT_MONITORED or RISK_ELIMINATED */
    TDM_POP_NOT_ON_ROSTER,          /* a person not on the roster */
} tdm_population;

/* Household type (roster HouseholdType); bit values, so filters are masks.
 * A person not on the roster has TDM_HH_NONE. */
typedef enum tdm_household_type {
    TDM_HH_NONE = 0,
    TDM_HH_POVERTY_ALLEVIATED = 1,  /* 脱贫户 */
    TDM_HH_ORDINARY = 2,            /* 一般农户 */
} tdm_household_type;

typedef enum tdm_condition_kind {
    TDM_COND_EVENT = 0,             /* a department event of listed types */
    TDM_COND_WINDOW_SUM,            /* a field summed over a trailing window */
    TDM_COND_INCOME_BELOW_LINE,     /* per-capita net income < the line */
    TDM_COND_DEPARTMENTS_WITHIN,    /* signals from >= N departments in D days */
} tdm_condition_kind;

typedef enum tdm_threshold_kind {
    TDM_THRESHOLD_ABSOLUTE = 0,     /* value: fen */
    TDM_THRESHOLD_SHARE_OF_INCOME,  /* value: basis points of annual net income */
    TDM_THRESHOLD_SHARE_OF_LINE,    /* value: basis points of the per-capita line */
} tdm_threshold_kind;

typedef enum tdm_severity {
    TDM_SEVERITY_LOW = 0,
    TDM_SEVERITY_MEDIUM,
    TDM_SEVERITY_HIGH,
} tdm_severity;

/* Alert.suggested_category (MonitoringCategory); NONE: the rule suggests none. */
typedef enum tdm_category {
    TDM_CATEGORY_NONE = 0,
    TDM_CATEGORY_UNSTABLE_ALLEVIATED,   /* 脱贫不稳定户 */
    TDM_CATEGORY_MARGINAL,              /* 边缘易致贫户 */
    TDM_CATEGORY_SUDDEN_HARDSHIP,       /* 突发严重困难户 */
} tdm_category;

/* Member labour capacity (roster LabourCapacity); bit values for filters. */
typedef enum tdm_labour {
    TDM_LABOUR_UNKNOWN = 0,
    TDM_LABOUR_NORMAL = 1,
    TDM_LABOUR_SKILLED = 2,
    TDM_LABOUR_WEAK = 4,
    TDM_LABOUR_LOST = 8,
    TDM_LABOUR_NONE = 16,
} tdm_labour;

/* Summable fields of window_sum (fen). */
typedef enum tdm_field {
    TDM_FIELD_NONE = 0,
    TDM_FIELD_OUT_OF_POCKET_FEN,    /* medical_insurance */
    TDM_FIELD_TOTAL_COST_FEN,       /* medical_insurance */
    TDM_FIELD_FUND_PAID_FEN,        /* medical_insurance */
    TDM_FIELD_AMOUNT_FEN,           /* civil_affairs */
} tdm_field;

/* A monitoring line: per-capita annual net income in fen. */
typedef struct tdm_line {
    char province[3];               /* 2 ASCII digits */
    int year;
    int64_t per_capita_fen;
    const char *name;               /* may be "" */
} tdm_line;

/* Who a threshold (or rule) applies to: both filters must hold. */
typedef struct tdm_filter {
    tdm_population population;
    unsigned household_types;       /* mask of tdm_household_type; 0 = all */
} tdm_filter;

typedef struct tdm_threshold {
    tdm_threshold_kind kind;
    int64_t value;                  /* fen (ABSOLUTE) or basis points */
    tdm_filter when;                /* the population this threshold is for */
} tdm_threshold;

typedef struct tdm_condition {
    tdm_condition_kind kind;
    /* EVENT: symbols of the dataset's event enum (static strings) */
    const char *const *events;
    size_t n_events;
    int max_disability_grade;       /* 0: no filter; else grade must be 1..N */
    int min_age, max_age;           /* -1: no bound; age at the event date */
    unsigned labour_capacities;     /* mask of tdm_labour; 0: no filter */
    /* WINDOW_SUM */
    tdm_field field;
    int window_days;
    /* DEPARTMENTS_WITHIN */
    int departments;
    int within_days;
} tdm_condition;

typedef struct tdm_rule {
    const char *id;                 /* ASCII [a-z0-9-], unique in the file */
    const char *name;               /* Chinese, for people */
    const char *version;            /* Alert.rule_version */
    bool enabled;
    tdm_dataset dataset;
    tdm_filter population;
    tdm_condition condition;
    const tdm_threshold *thresholds;/* any of these (each for its population) */
    size_t n_thresholds;
    const int *years;               /* years whose line the rule uses */
    size_t n_years;
    const char *risk_code;          /* "01", "0201", ...; NULL: none */
    tdm_severity severity;          /* DEPARTMENTS_WITHIN: raise to this */
    tdm_category category_alleviated;   /* suggestion for 脱贫户 */
    tdm_category category_ordinary;     /* for 一般农户 */
    tdm_category category_not_on_roster;/* for a person not on the roster */
} tdm_rule;

/* ---- Suspect rules (`suspects:`, the suspicious-data list: tdm_suspect.h) ----
 *
 * A second kind of rule beside the alert rules, in the same file:
 *
 *   suspects:
 *     - id: death-still-listed        # [a-z0-9] then [a-z0-9._-], unique among suspects
 *       name: 已登记死亡人员仍在册        # Chinese, for people
 *       version: "2023.1"             # optional: default "sha256:" and 16 hex
 *                                     # characters of a digest of check and parameters
 *       check: death_still_listed     # one of the checks below
 *       grace_days: 30                # a department fact dated D counts from D + N
 *       fix_hint: 核实该成员是否已故…     # Chinese, what the village should do (required)
 *       enabled: true                 # default true
 *
 * Checks and their own keys (a key that does not fit the check is an error):
 *   death_still_listed              a member whose death civil affairs
 *                                   registered is still listed (grace_days)
 *   disability_grade_differs        certified grade != the roster's grade
 *                                   (none on the roster counts as differing;
 *                                   grace_days)
 *   able_bodied_severely_disabled   labour_capacity in `labour_capacity`
 *                                   (default [NORMAL, SKILLED]) with a grade
 *                                   1..`max_disability_grade` (1..4, default 2)
 *                                   certified (grace_days)
 *   allowance_not_recorded          `allowance: dibao|tekun` (required)
 *                                   approved per civil affairs (not cancelled
 *                                   since), the roster says false (or is
 *                                   silent: not a suspect; grace_days)
 *   allowance_still_marked          cancelled per civil affairs, the roster
 *                                   still says true (allowance, grace_days)
 *   welfare_job_not_recorded        a public-welfare job started per human
 *                                   resources (not ended), roster says false
 *                                   (grace_days)
 *   welfare_job_still_marked        ended per human resources, roster says
 *                                   true (grace_days)
 *   duplicate_person                one person key on two roster households
 *   birth_date_differs              recorded_birth_date != the identity
 *                                   number's (birth_date)
 *   sex_differs                     sex != id_sex
 *   income_below_transfers          annual_net_fen of income year Y below the
 *                                   civil-affairs amounts of year Y minus
 *                                   `tolerance` (yuan, as thresholds are
 *                                   written; >= 0, default 0)
 * A roster value that is null (the export is silent) never contradicts.
 * grace_days is 0..3660 (default 0). A file with suspect rules and no alert
 * rule loads; one with neither enabled is refused as before.
 * `expected_suspects: N` guards reload as expected_rules does for alert
 * rules; dropping suspect rules by accident is refused the same way
 * (tdm_rules_check_drop). */
typedef enum tdm_check {
    TDM_CHECK_DEATH_STILL_LISTED = 1,
    TDM_CHECK_DISABILITY_GRADE_DIFFERS,
    TDM_CHECK_ABLE_BODIED_SEVERELY_DISABLED,
    TDM_CHECK_ALLOWANCE_NOT_RECORDED,
    TDM_CHECK_ALLOWANCE_STILL_MARKED,
    TDM_CHECK_WELFARE_JOB_NOT_RECORDED,
    TDM_CHECK_WELFARE_JOB_STILL_MARKED,
    TDM_CHECK_DUPLICATE_PERSON,
    TDM_CHECK_BIRTH_DATE_DIFFERS,
    TDM_CHECK_SEX_DIFFERS,
    TDM_CHECK_INCOME_BELOW_TRANSFERS,
} tdm_check;

typedef enum tdm_allowance {
    TDM_ALLOWANCE_NONE = 0,
    TDM_ALLOWANCE_DIBAO,            /* 低保 */
    TDM_ALLOWANCE_TEKUN,            /* 特困供养 */
} tdm_allowance;

typedef struct tdm_suspect_rule {
    const char *id;
    const char *name;
    const char *version;            /* Suspect.indicator_version */
    const char *fix_hint;
    bool enabled;
    tdm_check check;
    tdm_allowance allowance;        /* ALLOWANCE_* checks */
    int grace_days;                 /* >= 0 */
    int max_disability_grade;       /* ABLE_BODIED_SEVERELY_DISABLED: 1..4 */
    unsigned labour_capacities;     /* ABLE_BODIED_SEVERELY_DISABLED: tdm_labour mask */
    int64_t tolerance_fen;          /* INCOME_BELOW_TRANSFERS: >= 0 */
} tdm_suspect_rule;

/* The check's name as the file spells it ("death_still_listed"), or "". */
const char *tdm_check_name(tdm_check c);

typedef struct tdm_rules tdm_rules;

/* Loads and validates the rules file at path. On success returns 0 and sets
 * *ret_rules to a new object the caller frees with tdm_rules_free(). On
 * failure returns -EINVAL (every problem in err as FILE:LINE:COL lines),
 * -ENOENT/-EACCES/... (unreadable), -EFBIG or -ENOMEM; *ret_rules untouched.
 * A file without an enabled rule (an empty file is one) is -EINVAL unless it
 * says expected_rules: 0; one that says expected_rules: N must have N. */
int tdm_rules_load(const char *path, tdm_rules **ret_rules, td_error *err);

/* Like tdm_rules_load() on the NUL-terminated text yaml; name is used in
 * messages (tests, --check-config on stdin). */
int tdm_rules_load_string(const char *name, const char *yaml, tdm_rules **ret_rules,
                          td_error *err);

/* Parse-validate for SIGHUP: loads path into a new object (*ret_next) exactly
 * like tdm_rules_load(), then refuses it when it would switch off what runs
 * (tdm_rules_check_drop()); current is neither changed nor freed (it may be
 * NULL: only the load's own checks). Swapping is the caller's: on success it
 * replaces its pointer with *ret_next and frees current when no evaluation
 * still uses it; on failure (-EINVAL, or as tdm_rules_load()) *ret_next is
 * untouched, the caller keeps current and logs err, which names path. */
int tdm_rules_reload(const tdm_rules *current, const char *path, int max_drop_percent,
                     tdm_rules **ret_next, td_error *err);

/* The guard of a reload against an empty or cut file (docs/rules.md,
 * "Reload"). A running rule is an enabled rule of current; it is dropped when
 * next has no enabled rule of that id. Alert rules and suspect rules are
 * counted apart, each kind with its own key (expected_rules,
 * expected_suspects), alert rules first. Returns -EINVAL (err names next's
 * source, the dropped rule ids and what to write if it is intended) when next
 * drops every running rule, or more than max_drop_percent of them (0..100);
 * else 0. A next that says expected_rules: N (the load checked it has N) is
 * an intended change and always passes; so does a NULL current. Loading
 * itself refuses a file without an enabled rule unless it says
 * expected_rules: 0, so the same holds at start. */
int tdm_rules_check_drop(const tdm_rules *current, const tdm_rules *next, int max_drop_percent,
                         td_error *err);

/* Frees rules and everything obtained from it. Accepts NULL; returns NULL. */
tdm_rules *tdm_rules_free(tdm_rules *rules);

/* Rules in file order (disabled ones included: check rule->enabled). */
size_t tdm_rules_count(const tdm_rules *rules);
const tdm_rule *tdm_rules_at(const tdm_rules *rules, size_t i);
const tdm_rule *tdm_rules_find(const tdm_rules *rules, const char *id);

/* Suspect rules in file order (disabled ones included). */
size_t tdm_rules_suspect_count(const tdm_rules *rules);
const tdm_suspect_rule *tdm_rules_suspect_at(const tdm_rules *rules, size_t i);
const tdm_suspect_rule *tdm_rules_suspect_find(const tdm_rules *rules, const char *id);

/* The line of (province: 2 digits, or a village/county code whose first two
 * digits are the province; year), or NULL. */
const tdm_line *tdm_rules_line(const tdm_rules *rules, const char *province, int year);
size_t tdm_rules_line_count(const tdm_rules *rules);
const tdm_line *tdm_rules_line_at(const tdm_rules *rules, size_t i);

/* The path the object was loaded from (or the name given). */
const char *tdm_rules_source(const tdm_rules *rules);

/* The td_config table of the file format (for the reference in docs/rules.md;
 * the struct it fills is private). */
extern const td_cfg_entry tdm_rules_file_table[];

/* ---- Evaluation helpers: pure functions, no other module needed. ---- */

/* What the engine knows about the household (or lone person) of a record. */
typedef struct tdm_subject {
    tdm_population population;      /* ROSTER_MONITORED, ROSTER_NOT_MONITORED
                                       or NOT_ON_ROSTER */
    tdm_household_type type;        /* TDM_HH_NONE when not on the roster */
    bool has_income;
    int64_t annual_net_fen;
    int64_t per_capita_net_fen;
    int income_year;
    const tdm_line *line;           /* the line for (province, year); NULL: none */
} tdm_subject;

/* True when the filter admits the subject (population and household type). */
bool tdm_filter_admits(const tdm_filter *f, tdm_population population,
                       tdm_household_type type);

/* The effective threshold in fen. ABSOLUTE: its value. SHARE_OF_INCOME:
 * annual_net_fen * bp / 10000; SHARE_OF_LINE: line per_capita_fen * bp /
 * 10000; both rounded UP to a whole fen, so that for an integer amount v,
 * "v >= threshold" is exactly "v >= share * base" and "v < threshold" exactly
 * "v < share * base". A share of a zero or negative income is 1 fen (any
 * positive amount is at least that share). annual_net_fen NULL: no income
 * known; line NULL: no line.
 * Returns 0, -ENOENT (the base is unknown: no income or no line) or -ERANGE. */
int tdm_threshold_fen(const tdm_threshold *t, const int64_t *annual_net_fen,
                      const tdm_line *line, int64_t *ret_fen);

/* The threshold that decides for this subject: among the rule's thresholds
 * whose filter admits the subject and whose base is known, the lowest (rules
 * compared >=: event amount, window_sum) or the highest (income_below_line,
 * compared <), i.e. the rule fires when any applicable threshold is crossed.
 * Returns 0 with *ret_fen, -ENOENT when none applies (the rule cannot fire),
 * -ERANGE. Rules without thresholds: -ENOENT. */
int tdm_rule_threshold_fen(const tdm_rule *r, const tdm_subject *s, int64_t *ret_fen);

/* The comparison that a measured value must pass, as Alert.measure.comparison
 * names it: "GE" for event amounts and window_sum, "LT" for
 * income_below_line, "GE" (count of departments) for departments_within. */
const char *tdm_rule_comparison(const tdm_rule *r);

/* The measured value and the threshold when a rule fires (Alert.measure). */
typedef struct tdm_measure {
    bool present;                   /* false for a bare event (no threshold) */
    int64_t value;
    int64_t threshold;
} tdm_measure;

/* A department event, as the engine resolved it. */
typedef struct tdm_event {
    tdm_dataset dataset;
    const char *event_type;         /* schema symbol, e.g. "DIBAO_APPLIED" */
    bool has_amount;
    int64_t amount_fen;
    int disability_grade;           /* 0: unknown/none */
    int age;                        /* member's age at the event date; -1 unknown */
    tdm_labour labour;              /* the member's labour capacity; UNKNOWN if not known */
} tdm_event;

/* True when an enabled EVENT rule fires on ev for subject s: the dataset
 * matches, the population filter admits s, the type is listed, and each
 * filter the rule sets holds (an unknown grade/age/labour fails a filter that
 * is set). With thresholds, the amount must be present and >= the rule's
 * threshold for s. *ret_measure (may be NULL) gets the amount and threshold. */
bool tdm_rule_matches_event(const tdm_rule *r, const tdm_event *ev, const tdm_subject *s,
                            tdm_measure *ret_measure);

/* True when an enabled WINDOW_SUM (value: the window's sum in fen) or
 * INCOME_BELOW_LINE (value: ignored, s->per_capita_net_fen is used, and the
 * income year must be one of the rule's years) rule fires for s. */
bool tdm_rule_matches_value(const tdm_rule *r, const tdm_subject *s, int64_t value,
                            tdm_measure *ret_measure);

/* True when an enabled DEPARTMENTS_WITHIN rule fires: signals from
 * n_departments distinct departments whose dates span at most span_days. */
bool tdm_rule_matches_departments(const tdm_rule *r, int n_departments, int span_days);

/* The rule's suggested category for the subject (TDM_CATEGORY_NONE: none). */
tdm_category tdm_rule_category(const tdm_rule *r, const tdm_subject *s);

/* Schema symbol names, for alerts: "LOW".., "UNSTABLE_ALLEVIATED".., "" for
 * NONE; dataset names as the rules file spells them. */
const char *tdm_severity_symbol(tdm_severity s);
const char *tdm_category_symbol(tdm_category c);
const char *tdm_dataset_name(tdm_dataset d);

/* The event-type symbols the rules accept for a dataset (the schema's enum
 * minus UNKNOWN; a fixed table, checked against schemas/ by the tests).
 * NULL with *ret_n = 0 for datasets without events. */
const char *const *tdm_event_types(tdm_dataset d, size_t *ret_n);

#endif
