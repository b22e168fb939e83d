/* Unit tests for tdm_rules: the shipped rules file, every error kind with its
 * exact file:line:col, threshold arithmetic at its boundaries, the matching
 * helpers, reload, and the reference in docs/rules.md. */
#include "tdm_rules.h"
#include "td_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *data_path(const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/tests/data/rules/%s", td_test_source_root(), name) < 0)
        return NULL;
    return p;
}

static char *shipped_path(void)
{
    char *p = NULL;
    if (asprintf(&p, "%s/deploy/rules/huainan-2023.yaml", td_test_source_root()) < 0)
        return NULL;
    return p;
}

/* Loads a fixture that must fail with -EINVAL; returns its path (malloc'd). */
static char *load_bad(const char *name, td_error *e)
{
    char *path = data_path(name);
    tdm_rules *rs = NULL;
    td_error_clear(e);
    CU_ASSERT_EQUAL(tdm_rules_load(path, &rs, e), -EINVAL);
    CU_ASSERT_PTR_NULL(rs);
    return path;
}

/* err holds the line "path:pos: ...phrase..." */
static int has_error(const td_error *e, const char *path, const char *pos, const char *phrase)
{
    char want[1024];
    snprintf(want, sizeof(want), "%s:%s: ", path, pos);
    const char *at = strstr(e->msg, want);
    if (!at) {
        printf("\n    missing '%s' in:\n%s\n", want, e->msg);
        return 0;
    }
    const char *eol = strchr(at, '\n');
    const char *ph = strstr(at, phrase);
    if (!ph || (eol && ph > eol)) {
        printf("\n    missing '%s' on the line of %s in:\n%s\n", phrase, want, e->msg);
        return 0;
    }
    return 1;
}

/* ---- The shipped file. ---- */

static void test_shipped_file(void)
{
    char *path = shipped_path();
    tdm_rules *rs = NULL;
    td_error e;
    int rc = tdm_rules_load(path, &rs, &e);
    if (rc)
        CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(tdm_rules_source(rs), path);

    const tdm_line *l = tdm_rules_line(rs, "34", 2023);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_EQUAL(l->per_capita_fen, 790000);
    CU_ASSERT_PTR_EQUAL(tdm_rules_line(rs, "340402001001", 2023), l); /* a village code */
    CU_ASSERT_PTR_NULL(tdm_rules_line(rs, "34", 2022));
    CU_ASSERT_PTR_NULL(tdm_rules_line(rs, "32", 2023));
    CU_ASSERT_EQUAL(tdm_rules_count(rs), 8);

    /* 1 income below the line */
    const tdm_rule *r = tdm_rules_find(rs, "income-below-line");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->dataset, TDM_DATASET_HOUSEHOLD);
    CU_ASSERT_EQUAL(r->population.population, TDM_POP_ROSTER_NOT_MONITORED);
    CU_ASSERT_EQUAL(r->condition.kind, TDM_COND_INCOME_BELOW_LINE);
    CU_ASSERT_EQUAL(r->n_thresholds, 1);
    CU_ASSERT_EQUAL(r->thresholds[0].kind, TDM_THRESHOLD_SHARE_OF_LINE);
    CU_ASSERT_EQUAL(r->thresholds[0].value, 10000);
    CU_ASSERT_EQUAL(r->n_years, 1);
    CU_ASSERT_EQUAL(r->years[0], 2023);
    CU_ASSERT_PTR_NULL(r->risk_code);
    CU_ASSERT_EQUAL(r->category_alleviated, TDM_CATEGORY_UNSTABLE_ALLEVIATED);
    CU_ASSERT_EQUAL(r->category_ordinary, TDM_CATEGORY_MARGINAL);
    CU_ASSERT_STRING_EQUAL(tdm_rule_comparison(r), "LT");

    /* 2 medical out-of-pocket */
    r = tdm_rules_find(rs, "medical-oop-365d");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->dataset, TDM_DATASET_MEDICAL_INSURANCE);
    CU_ASSERT_EQUAL(r->condition.kind, TDM_COND_WINDOW_SUM);
    CU_ASSERT_EQUAL(r->condition.field, TDM_FIELD_OUT_OF_POCKET_FEN);
    CU_ASSERT_EQUAL(r->condition.window_days, 365);
    CU_ASSERT_EQUAL_FATAL(r->n_thresholds, 4);
    CU_ASSERT_EQUAL(r->thresholds[0].kind, TDM_THRESHOLD_ABSOLUTE);
    CU_ASSERT_EQUAL(r->thresholds[0].value, 500000);
    CU_ASSERT_EQUAL(r->thresholds[0].when.household_types, TDM_HH_POVERTY_ALLEVIATED);
    CU_ASSERT_EQUAL(r->thresholds[1].value, 500000);
    CU_ASSERT_EQUAL(r->thresholds[1].when.population, TDM_POP_ROSTER_MONITORED);
    CU_ASSERT_EQUAL(r->thresholds[2].value, 2000000);
    CU_ASSERT_EQUAL(r->thresholds[2].when.population, TDM_POP_ANY);
    CU_ASSERT_EQUAL(r->thresholds[3].kind, TDM_THRESHOLD_SHARE_OF_INCOME);
    CU_ASSERT_EQUAL(r->thresholds[3].value, 5000);
    CU_ASSERT_STRING_EQUAL(r->risk_code, "01");

    /* 3 低保 / 特困 */
    r = tdm_rules_find(rs, "dibao-tekun");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->dataset, TDM_DATASET_CIVIL_AFFAIRS);
    CU_ASSERT_EQUAL_FATAL(r->condition.n_events, 3);
    CU_ASSERT_STRING_EQUAL(r->condition.events[0], "DIBAO_APPLIED");
    CU_ASSERT_STRING_EQUAL(r->condition.events[1], "DIBAO_APPROVED");
    CU_ASSERT_STRING_EQUAL(r->condition.events[2], "TEKUN_APPROVED");
    CU_ASSERT_EQUAL(r->n_thresholds, 0);

    /* 4 临时救助 >= 1000 yuan */
    r = tdm_rules_find(rs, "temp-assistance");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL_FATAL(r->n_thresholds, 1);
    CU_ASSERT_EQUAL(r->thresholds[0].value, 100000);
    CU_ASSERT_STRING_EQUAL(r->risk_code, "05");
    CU_ASSERT_EQUAL(r->category_ordinary, TDM_CATEGORY_SUDDEN_HARDSHIP);
    CU_ASSERT_EQUAL(r->category_not_on_roster, TDM_CATEGORY_SUDDEN_HARDSHIP);

    /* 5 grade 1-2 disability */
    r = tdm_rules_find(rs, "severe-disability");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->condition.max_disability_grade, 2);
    CU_ASSERT_STRING_EQUAL(r->risk_code, "03");

    /* 6 death of a working-age member who could work */
    r = tdm_rules_find(rs, "working-age-death");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->condition.min_age, 16);
    CU_ASSERT_EQUAL(r->condition.max_age, 60);
    CU_ASSERT_EQUAL(r->condition.labour_capacities,
                    TDM_LABOUR_NORMAL | TDM_LABOUR_SKILLED | TDM_LABOUR_WEAK);
    CU_ASSERT_STRING_EQUAL(r->risk_code, "04");

    /* 7 unemployment and the like, aged 16-60 */
    r = tdm_rules_find(rs, "employment-loss");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->dataset, TDM_DATASET_HUMAN_RESOURCES);
    CU_ASSERT_EQUAL(r->condition.n_events, 3);
    CU_ASSERT_EQUAL(r->condition.min_age, 16);
    CU_ASSERT_EQUAL(r->condition.max_age, 60);
    CU_ASSERT_STRING_EQUAL(r->risk_code, "07");

    /* 8 two departments within 90 days -> high */
    r = tdm_rules_find(rs, "multi-department");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->condition.kind, TDM_COND_DEPARTMENTS_WITHIN);
    CU_ASSERT_EQUAL(r->condition.departments, 2);
    CU_ASSERT_EQUAL(r->condition.within_days, 90);
    CU_ASSERT_EQUAL(r->severity, TDM_SEVERITY_HIGH);
    CU_ASSERT_TRUE(tdm_rule_matches_departments(r, 2, 90));
    CU_ASSERT_FALSE(tdm_rule_matches_departments(r, 2, 91));
    CU_ASSERT_FALSE(tdm_rule_matches_departments(r, 1, 0));

    for (size_t i = 0; i < tdm_rules_count(rs); i++)
        CU_ASSERT_TRUE(tdm_rules_at(rs, i)->enabled);
    CU_ASSERT_PTR_NULL(tdm_rules_at(rs, 8));
    CU_ASSERT_PTR_NULL(tdm_rules_find(rs, "nope"));
    tdm_rules_free(rs);
    free(path);
}

/* The event tables in code hold exactly the schemas' symbols. */
static void check_symbols(const char *file, tdm_dataset d, const char *enum_name)
{
    char *p = NULL;
    CU_ASSERT_FATAL(asprintf(&p, "%s/schemas/%s", td_test_source_root(), file) > 0);
    char *text = td_test_read_file(p, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    const char *en = strstr(text, enum_name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(en);
    const char *sym = strstr(en, "\"symbols\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sym);
    const char *end = strchr(sym, ']');
    size_t n = 0, in_schema = 0;
    const char *const *v = tdm_event_types(d, &n);
    for (const char *q = sym + 9; q < end; q++)
        in_schema += *q == '"';
    CU_ASSERT_EQUAL(in_schema / 2, n + 1); /* + UNKNOWN */
    for (size_t i = 0; i < n; i++) {
        char quoted[64];
        snprintf(quoted, sizeof(quoted), "\"%s\"", v[i]);
        const char *at = strstr(sym, quoted);
        CU_ASSERT(at && at < end);
    }
    free(text);
    free(p);
}

static void test_event_tables_match_schemas(void)
{
    check_symbols("civil_affairs_event.avsc", TDM_DATASET_CIVIL_AFFAIRS, "CivilAffairsEventType");
    check_symbols("employment_event.avsc", TDM_DATASET_HUMAN_RESOURCES, "EmploymentEventType");
    size_t n = 1;
    CU_ASSERT_PTR_NULL(tdm_event_types(TDM_DATASET_MEDICAL_INSURANCE, &n));
    CU_ASSERT_EQUAL(n, 0);
}

/* ---- Errors, each at its exact file:line:col. ---- */

static void test_error_unknown_key(void)
{
    td_error e;
    char *p = load_bad("unknown-key.yaml", &e);
    CU_ASSERT(has_error(&e, p, "12:7", "evnets"));
    free(p);
}

static void test_error_duplicate_id(void)
{
    td_error e;
    char *p = load_bad("duplicate-id.yaml", &e);
    CU_ASSERT(has_error(&e, p, "8:9", "duplicate rule id 'dibao' (first at line 2)"));
    free(p);
}

static void test_error_unknown_event(void)
{
    td_error e;
    char *p = load_bad("unknown-event.yaml", &e);
    CU_ASSERT(has_error(&e, p, "10:11", "unknown event type 'DIBAO_GRANTED' for dataset civil_affairs"));
    CU_ASSERT_PTR_NULL(strstr(e.msg, ":9:")); /* DIBAO_APPLIED is fine */
    free(p);
}

static void test_error_bad_threshold(void)
{
    td_error e;
    char *p = load_bad("bad-threshold.yaml", &e);
    CU_ASSERT(has_error(&e, p, "10:24", "share_of_income does not fit condition income_below_line"));
    CU_ASSERT(has_error(&e, p, "21:21", "absolute: '-3' is not a positive amount"));
    CU_ASSERT(has_error(&e, p, "22:28", "share_of_income: '1.5x' is not a share"));
    CU_ASSERT(has_error(&e, p, "29:27", "has no amount to compare"));
    CU_ASSERT_PTR_NULL(strstr(e.msg, ":20:")); /* absolute: 5000 is fine */
    free(p);
}

static void test_error_missing_line(void)
{
    td_error e;
    char *p = load_bad("missing-line.yaml", &e);
    CU_ASSERT(has_error(&e, p, "12:19", "needs the monitoring line of province 32, year 2024"));
    CU_ASSERT_PTR_NULL(strstr(e.msg, ":12:13:")); /* 2023 exists for both */
    CU_ASSERT_PTR_NULL(strstr(e.msg, "province 34"));
    free(p);
}

static void test_error_wrong_dataset(void)
{
    td_error e;
    char *p = load_bad("wrong-dataset.yaml", &e);
    CU_ASSERT(has_error(&e, p, "5:14", "condition income_below_line needs dataset household, not civil_affairs"));
    CU_ASSERT(has_error(&e, p, "11:14", "condition window_sum needs dataset medical_insurance or civil_affairs, not human_resources"));
    free(p);
}

static void test_error_more(void)
{
    static const char yaml[] =
        "lines:\n"
        "  - {province: \"3a\", year: 2023, per_capita_yuan: 0}\n"
        "rules:\n"
        "  - id: Bad_Id\n"
        "    name: x\n"
        "    version: \"1\"\n"
        "    dataset: civil_affairs\n"
        "    household_types: [贫困户]\n"
        "    condition: {kind: event, events: [DIBAO_APPLIED, DIBAO_APPLIED], window_days: 30}\n"
        "    risk_code: \"1\"\n"
        "    severity: low\n"
        "  - id: multi\n"
        "    name: y\n"
        "    version: \"1\"\n"
        "    dataset: any\n"
        "    condition: {kind: departments_within, departments: 1}\n"
        "    threshold: {absolute: 5}\n"
        "    severity: high\n";
    tdm_rules *rs = NULL;
    td_error e;
    CU_ASSERT_EQUAL(tdm_rules_load_string("m.yaml", yaml, &rs, &e), -EINVAL);
    CU_ASSERT_PTR_NULL(rs);
    CU_ASSERT(has_error(&e, "m.yaml", "2:16", "province '3a'"));
    CU_ASSERT(has_error(&e, "m.yaml", "2:51", "per_capita_yuan: '0'"));
    CU_ASSERT(has_error(&e, "m.yaml", "4:9", "rule id 'Bad_Id'"));
    CU_ASSERT(has_error(&e, "m.yaml", "8:23", "unknown household type '贫困户'"));
    CU_ASSERT(has_error(&e, "m.yaml", "9:54", "listed twice"));
    CU_ASSERT(has_error(&e, "m.yaml", "9:83", "window_days: only for condition kind window_sum"));
    CU_ASSERT(has_error(&e, "m.yaml", "10:16", "risk_code '1'"));
    CU_ASSERT(has_error(&e, "m.yaml", "16:56", "departments: 2 or more"));
    CU_ASSERT(has_error(&e, "m.yaml", "16:16", "needs within_days"));
    CU_ASSERT(has_error(&e, "m.yaml", "17:27", "takes no threshold"));
    /* sorted by position */
    CU_ASSERT(strstr(e.msg, "m.yaml:2:16") < strstr(e.msg, "m.yaml:4:9"));
    CU_ASSERT(strstr(e.msg, "m.yaml:16:16") < strstr(e.msg, "m.yaml:16:56"));

    /* unreadable file */
    CU_ASSERT_EQUAL(tdm_rules_load("/nonexistent/rules.yaml", &rs, &e), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/nonexistent/rules.yaml"));
}

/* bucket: was parsed and never read (a window_sum is always exact by day):
 * a file that still sets it is refused, at the key, saying so. */
static void test_error_bucket_removed(void)
{
    static const char yaml[] =
        "rules:\n"
        "  - id: oop\n"
        "    name: x\n"
        "    version: \"1\"\n"
        "    dataset: medical_insurance\n"
        "    condition:\n"
        "      kind: window_sum\n"
        "      field: out_of_pocket_fen\n"
        "      window_days: 365\n"
        "      bucket: month\n"
        "    threshold: {absolute: 5000}\n"
        "    severity: medium\n";
    tdm_rules *rs = NULL;
    td_error e;
    CU_ASSERT_EQUAL(tdm_rules_load_string("b.yaml", yaml, &rs, &e), -EINVAL);
    CU_ASSERT_PTR_NULL(rs);
    CU_ASSERT(has_error(&e, "b.yaml", "10:15", "bucket: removed"));
    CU_ASSERT(has_error(&e, "b.yaml", "10:15", "never had an effect"));
    tdm_rules_free(rs);
}

/* A message longer than 1 KiB (a long value quoted in it) reaches err
 * whole, not cut at a buffer of verr()'s own. */
static void test_error_long_message(void)
{
    char name[1101], yaml[2048];
    memset(name, 'A', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(yaml, sizeof(yaml),
             "rules:\n"
             "  - id: long\n"
             "    name: x\n"
             "    version: \"1\"\n"
             "    dataset: civil_affairs\n"
             "    condition: {kind: event, events: [%s]}\n"
             "    severity: low\n", name);
    tdm_rules *rs = NULL;
    td_error e;
    CU_ASSERT_EQUAL(tdm_rules_load_string("l.yaml", yaml, &rs, &e), -EINVAL);
    CU_ASSERT_PTR_NULL(rs);
    CU_ASSERT(has_error(&e, "l.yaml", "6:39", "' for dataset civil_affairs"));
}

/* ---- Threshold arithmetic. ---- */

static void test_threshold_arithmetic(void)
{
    int64_t t = 0;
    tdm_threshold abs5000 = {.kind = TDM_THRESHOLD_ABSOLUTE, .value = 500000};
    CU_ASSERT_EQUAL(tdm_threshold_fen(&abs5000, NULL, NULL, &t), 0);
    CU_ASSERT_EQUAL(t, 500000);

    tdm_threshold half = {.kind = TDM_THRESHOLD_SHARE_OF_INCOME, .value = 5000};
    int64_t inc = 1000001; /* 10000.01 yuan: half is 500000.5 fen -> 500001 */
    CU_ASSERT_EQUAL(tdm_threshold_fen(&half, &inc, NULL, &t), 0);
    CU_ASSERT_EQUAL(t, 500001);
    inc = 1000000;
    CU_ASSERT_EQUAL(tdm_threshold_fen(&half, &inc, NULL, &t), 0);
    CU_ASSERT_EQUAL(t, 500000);
    inc = 3; /* 1.5 fen -> 2 */
    CU_ASSERT_EQUAL(tdm_threshold_fen(&half, &inc, NULL, &t), 0);
    CU_ASSERT_EQUAL(t, 2);
    inc = 0;
    CU_ASSERT_EQUAL(tdm_threshold_fen(&half, &inc, NULL, &t), 0);
    CU_ASSERT_EQUAL(t, 1);
    inc = -500000;
    CU_ASSERT_EQUAL(tdm_threshold_fen(&half, &inc, NULL, &t), 0);
    CU_ASSERT_EQUAL(t, 1);
    CU_ASSERT_EQUAL(tdm_threshold_fen(&half, NULL, NULL, &t), -ENOENT);
    inc = 9000000000000000000LL / 100; /* 9e16 fen, the largest amount */
    tdm_threshold ten = {.kind = TDM_THRESHOLD_SHARE_OF_INCOME, .value = 100000};
    CU_ASSERT_EQUAL(tdm_threshold_fen(&ten, &inc, NULL, &t), 0);
    CU_ASSERT_EQUAL(t, 900000000000000000LL);

    tdm_line line = {.province = "34", .year = 2023, .per_capita_fen = 790000};
    tdm_threshold one = {.kind = TDM_THRESHOLD_SHARE_OF_LINE, .value = 10000};
    CU_ASSERT_EQUAL(tdm_threshold_fen(&one, NULL, &line, &t), 0);
    CU_ASSERT_EQUAL(t, 790000);
    tdm_threshold third = {.kind = TDM_THRESHOLD_SHARE_OF_LINE, .value = 3333};
    CU_ASSERT_EQUAL(tdm_threshold_fen(&third, NULL, &line, &t), 0);
    CU_ASSERT_EQUAL(t, 263307); /* 790000 * 0.3333 = 263307.0 */
    tdm_threshold odd = {.kind = TDM_THRESHOLD_SHARE_OF_LINE, .value = 1};
    CU_ASSERT_EQUAL(tdm_threshold_fen(&odd, NULL, &line, &t), 0);
    CU_ASSERT_EQUAL(t, 79); /* 79.0 */
    line.per_capita_fen = 790001;
    CU_ASSERT_EQUAL(tdm_threshold_fen(&odd, NULL, &line, &t), 0);
    CU_ASSERT_EQUAL(t, 80); /* 79.0001 rounds up */
    CU_ASSERT_EQUAL(tdm_threshold_fen(&one, NULL, NULL, &t), -ENOENT);
}

static void test_share_parsing(void)
{
    static const char head[] =
        "rules:\n"
        "  - id: m\n"
        "    name: m\n"
        "    version: \"1\"\n"
        "    dataset: medical_insurance\n"
        "    condition: {kind: window_sum, field: out_of_pocket_fen, window_days: 365}\n"
        "    severity: low\n"
        "    threshold: {share_of_income: ";
    static const struct {
        const char *text;
        int64_t bp;
    } cases[] = {
        {"0.5", 5000}, {"50%", 5000}, {"1", 10000}, {"1.0", 10000}, {"0.0001", 1},
        {"12.5%", 1250}, {"10", 100000}, {"0.00001", -1}, {"0", -1}, {"11", -1},
        {"-0.5", -1}, {".5", -1}, {"5.", -1}, {"0.5%%", -1}, {"1e-1", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char yaml[1024];
        snprintf(yaml, sizeof(yaml), "%s\"%s\"}\n", head, cases[i].text);
        tdm_rules *rs = NULL;
        td_error e;
        int rc = tdm_rules_load_string("s.yaml", yaml, &rs, &e);
        if (cases[i].bp < 0) {
            CU_ASSERT_EQUAL(rc, -EINVAL);
            CU_ASSERT(has_error(&e, "s.yaml", "8:34", "is not a share"));
        } else {
            CU_ASSERT_EQUAL_FATAL(rc, 0);
            CU_ASSERT_EQUAL(tdm_rules_at(rs, 0)->thresholds[0].value, cases[i].bp);
        }
        tdm_rules_free(rs);
    }
}

/* ---- The default rules at their boundaries. ---- */

static tdm_rules *shipped(void)
{
    char *path = shipped_path();
    tdm_rules *rs = NULL;
    CU_ASSERT_EQUAL(tdm_rules_load(path, &rs, NULL), 0);
    free(path);
    return rs;
}

static void test_rule_medical_boundaries(void)
{
    tdm_rules *rs = shipped();
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    const tdm_rule *r = tdm_rules_find(rs, "medical-oop-365d");
    tdm_measure m;
    int64_t t;

    /* 脱贫户, not monitored, high income: 5000 yuan */
    tdm_subject s = {.population = TDM_POP_ROSTER_NOT_MONITORED,
                     .type = TDM_HH_POVERTY_ALLEVIATED, .has_income = true,
                     .annual_net_fen = 10000000};
    CU_ASSERT_FALSE(tdm_rule_matches_value(r, &s, 499999, &m));
    CU_ASSERT_TRUE(tdm_rule_matches_value(r, &s, 500000, &m));
    CU_ASSERT_EQUAL(m.value, 500000);
    CU_ASSERT_EQUAL(m.threshold, 500000);

    /* 一般农户, monitored: 5000 yuan */
    s.type = TDM_HH_ORDINARY;
    s.population = TDM_POP_ROSTER_MONITORED;
    CU_ASSERT_FALSE(tdm_rule_matches_value(r, &s, 499999, NULL));
    CU_ASSERT_TRUE(tdm_rule_matches_value(r, &s, 500000, NULL));

    /* 一般农户, not monitored, high income: 20000 yuan */
    s.population = TDM_POP_ROSTER_NOT_MONITORED;
    CU_ASSERT_EQUAL(tdm_rule_threshold_fen(r, &s, &t), 0);
    CU_ASSERT_EQUAL(t, 2000000);
    CU_ASSERT_FALSE(tdm_rule_matches_value(r, &s, 1999999, NULL));
    CU_ASSERT_TRUE(tdm_rule_matches_value(r, &s, 2000000, NULL));

    /* ... or half of an annual net income of 12345.67 yuan: 6172.835 -> 617284 fen */
    s.annual_net_fen = 1234567;
    CU_ASSERT_EQUAL(tdm_rule_threshold_fen(r, &s, &t), 0);
    CU_ASSERT_EQUAL(t, 617284);
    CU_ASSERT_FALSE(tdm_rule_matches_value(r, &s, 617283, NULL));
    CU_ASSERT_TRUE(tdm_rule_matches_value(r, &s, 617284, &m));
    CU_ASSERT_EQUAL(m.threshold, 617284);

    /* a person not on the roster: no income known, 20000 yuan */
    tdm_subject lone = {.population = TDM_POP_NOT_ON_ROSTER};
    CU_ASSERT_FALSE(tdm_rule_matches_value(r, &lone, 1999999, NULL));
    CU_ASSERT_TRUE(tdm_rule_matches_value(r, &lone, 2000000, NULL));
    CU_ASSERT_EQUAL(tdm_rule_category(r, &lone), TDM_CATEGORY_MARGINAL);
    CU_ASSERT_EQUAL(tdm_rule_category(r, &s), TDM_CATEGORY_MARGINAL);
    s.type = TDM_HH_POVERTY_ALLEVIATED;
    CU_ASSERT_EQUAL(tdm_rule_category(r, &s), TDM_CATEGORY_UNSTABLE_ALLEVIATED);
    tdm_rules_free(rs);
}

static void test_rule_income_boundaries(void)
{
    tdm_rules *rs = shipped();
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    const tdm_rule *r = tdm_rules_find(rs, "income-below-line");
    tdm_subject s = {.population = TDM_POP_ROSTER_NOT_MONITORED, .type = TDM_HH_ORDINARY,
                     .has_income = true, .annual_net_fen = 3000000, .income_year = 2023,
                     .line = tdm_rules_line(rs, "34", 2023)};
    tdm_measure m;
    s.per_capita_net_fen = 789999;
    CU_ASSERT_TRUE(tdm_rule_matches_value(r, &s, 0, &m));
    CU_ASSERT_EQUAL(m.value, 789999);
    CU_ASSERT_EQUAL(m.threshold, 790000);
    CU_ASSERT_EQUAL(tdm_rule_category(r, &s), TDM_CATEGORY_MARGINAL);
    s.per_capita_net_fen = 790000;
    CU_ASSERT_FALSE(tdm_rule_matches_value(r, &s, 0, NULL));
    /* monitored households are not candidates; other years and no line do not fire */
    s.per_capita_net_fen = 100;
    s.population = TDM_POP_ROSTER_MONITORED;
    CU_ASSERT_FALSE(tdm_rule_matches_value(r, &s, 0, NULL));
    s.population = TDM_POP_ROSTER_NOT_MONITORED;
    s.income_year = 2022;
    CU_ASSERT_FALSE(tdm_rule_matches_value(r, &s, 0, NULL));
    s.income_year = 2023;
    s.line = NULL;
    CU_ASSERT_FALSE(tdm_rule_matches_value(r, &s, 0, NULL));
    s.line = tdm_rules_line(rs, "34", 2023);
    s.has_income = false;
    CU_ASSERT_FALSE(tdm_rule_matches_value(r, &s, 0, NULL));
    tdm_rules_free(rs);
}

static void test_rule_event_boundaries(void)
{
    tdm_rules *rs = shipped();
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    tdm_subject s = {.population = TDM_POP_ROSTER_NOT_MONITORED, .type = TDM_HH_ORDINARY};
    tdm_subject lone = {.population = TDM_POP_NOT_ON_ROSTER};
    tdm_measure m;

    /* 3 */
    const tdm_rule *r = tdm_rules_find(rs, "dibao-tekun");
    tdm_event ev = {.dataset = TDM_DATASET_CIVIL_AFFAIRS, .event_type = "DIBAO_APPLIED", .age = -1};
    CU_ASSERT_TRUE(tdm_rule_matches_event(r, &ev, &s, &m));
    CU_ASSERT_FALSE(m.present);
    CU_ASSERT_TRUE(tdm_rule_matches_event(r, &ev, &lone, NULL));
    ev.event_type = "DIBAO_CANCELLED";
    CU_ASSERT_FALSE(tdm_rule_matches_event(r, &ev, &s, NULL));
    ev.event_type = "TEKUN_APPROVED";
    ev.dataset = TDM_DATASET_HUMAN_RESOURCES;
    CU_ASSERT_FALSE(tdm_rule_matches_event(r, &ev, &s, NULL));

    /* 4: 999.99 vs 1000.00 yuan */
    r = tdm_rules_find(rs, "temp-assistance");
    tdm_event ta = {.dataset = TDM_DATASET_CIVIL_AFFAIRS, .event_type = "TEMP_ASSISTANCE_GRANTED",
                    .has_amount = true, .amount_fen = 99999, .age = -1};
    CU_ASSERT_FALSE(tdm_rule_matches_event(r, &ta, &s, NULL));
    ta.amount_fen = 100000;
    CU_ASSERT_TRUE(tdm_rule_matches_event(r, &ta, &s, &m));
    CU_ASSERT_TRUE(m.present);
    CU_ASSERT_EQUAL(m.value, 100000);
    CU_ASSERT_EQUAL(m.threshold, 100000);
    ta.has_amount = false;
    CU_ASSERT_FALSE(tdm_rule_matches_event(r, &ta, &s, NULL));

    /* 5: grades 1-2 */
    r = tdm_rules_find(rs, "severe-disability");
    tdm_event dis = {.dataset = TDM_DATASET_CIVIL_AFFAIRS, .event_type = "DISABILITY_CERTIFIED",
                     .disability_grade = 2, .age = -1};
    CU_ASSERT_TRUE(tdm_rule_matches_event(r, &dis, &s, NULL));
    dis.disability_grade = 1;
    CU_ASSERT_TRUE(tdm_rule_matches_event(r, &dis, &s, NULL));
    dis.disability_grade = 3;
    CU_ASSERT_FALSE(tdm_rule_matches_event(r, &dis, &s, NULL));
    dis.disability_grade = 0;
    CU_ASSERT_FALSE(tdm_rule_matches_event(r, &dis, &s, NULL));

    /* 6: aged 16..60 who could work */
    r = tdm_rules_find(rs, "working-age-death");
    tdm_event d = {.dataset = TDM_DATASET_CIVIL_AFFAIRS, .event_type = "DEATH_REGISTERED",
                   .age = 16, .labour = TDM_LABOUR_NORMAL};
    CU_ASSERT_TRUE(tdm_rule_matches_event(r, &d, &s, NULL));
    d.age = 15;
    CU_ASSERT_FALSE(tdm_rule_matches_event(r, &d, &s, NULL));
    d.age = 60;
    CU_ASSERT_TRUE(tdm_rule_matches_event(r, &d, &s, NULL));
    d.age = 61;
    CU_ASSERT_FALSE(tdm_rule_matches_event(r, &d, &s, NULL));
    d.age = -1;
    CU_ASSERT_FALSE(tdm_rule_matches_event(r, &d, &s, NULL));
    d.age = 40;
    d.labour = TDM_LABOUR_LOST;
    CU_ASSERT_FALSE(tdm_rule_matches_event(r, &d, &s, NULL));
    d.labour = TDM_LABOUR_UNKNOWN;
    CU_ASSERT_FALSE(tdm_rule_matches_event(r, &d, &s, NULL));
    d.labour = TDM_LABOUR_WEAK;
    CU_ASSERT_TRUE(tdm_rule_matches_event(r, &d, &s, NULL));
    CU_ASSERT_EQUAL(tdm_rule_category(r, &s), TDM_CATEGORY_SUDDEN_HARDSHIP);

    /* 7 */
    r = tdm_rules_find(rs, "employment-loss");
    tdm_event u = {.dataset = TDM_DATASET_HUMAN_RESOURCES, .event_type = "EMPLOYEE_INSURANCE_LAPSED",
                   .age = 60};
    CU_ASSERT_TRUE(tdm_rule_matches_event(r, &u, &lone, NULL));
    u.age = 61;
    CU_ASSERT_FALSE(tdm_rule_matches_event(r, &u, &lone, NULL));
    u.age = 30;
    u.event_type = "UNEMPLOYMENT_ENDED";
    CU_ASSERT_FALSE(tdm_rule_matches_event(r, &u, &lone, NULL));
    tdm_rules_free(rs);
}

/* ---- Reload. ---- */

static void test_reload(void)
{
    char *dir = td_test_tmpdir();
    char *path = NULL, *good_path = data_path("good-small.yaml"), *bad_path = data_path("duplicate-id.yaml");
    CU_ASSERT_FATAL(asprintf(&path, "%s/rules.yaml", dir) > 0);
    char *good = td_test_read_file(good_path, NULL);
    char *bad = td_test_read_file(bad_path, NULL);
    char *shipped_text = NULL;
    char *sp = shipped_path();
    shipped_text = td_test_read_file(sp, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(good);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
    CU_ASSERT_PTR_NOT_NULL_FATAL(shipped_text);

    CU_ASSERT_EQUAL(td_test_write_file(path, good), 0);
    tdm_rules *cur = NULL, *next = NULL;
    td_error e;
    CU_ASSERT_EQUAL_FATAL(tdm_rules_load(path, &cur, &e), 0);
    CU_ASSERT_EQUAL(tdm_rules_count(cur), 1);

    /* a bad file: an error, nothing returned, the current rules untouched */
    CU_ASSERT_EQUAL(td_test_write_file(path, bad), 0);
    CU_ASSERT_EQUAL(tdm_rules_reload(cur, path, 50, &next, &e), -EINVAL);
    CU_ASSERT_PTR_NULL(next);
    char want[600];
    snprintf(want, sizeof(want), "%s:8:9: duplicate rule id", path);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, want));
    CU_ASSERT_EQUAL(tdm_rules_count(cur), 1);
    CU_ASSERT_STRING_EQUAL(tdm_rules_at(cur, 0)->id, "dibao");
    CU_ASSERT_STRING_EQUAL(tdm_rules_at(cur, 0)->version, "2");
    CU_ASSERT_EQUAL(tdm_rules_at(cur, 0)->severity, TDM_SEVERITY_HIGH);

    /* a syntax error too */
    CU_ASSERT_EQUAL(td_test_write_file(path, "rules: [\n"), 0);
    CU_ASSERT_EQUAL(tdm_rules_reload(cur, path, 50, &next, &e), -EINVAL);
    CU_ASSERT_PTR_NULL(next);
    CU_ASSERT_EQUAL(tdm_rules_count(cur), 1);

    /* a good file: the new rules, the caller swaps (it replaces the one
     * running rule, an intended change: it says so, test_reload_guard) */
    CU_ASSERT_EQUAL(td_test_write_file(path, shipped_text), 0);
    CU_ASSERT_EQUAL(tdm_rules_reload(cur, path, 50, &next, &e), -EINVAL);
    CU_ASSERT_PTR_NULL(next);
    char *intended = NULL;
    CU_ASSERT_FATAL(asprintf(&intended, "expected_rules: 8\n%s", shipped_text) > 0);
    CU_ASSERT_EQUAL(td_test_write_file(path, intended), 0);
    free(intended);
    CU_ASSERT_EQUAL_FATAL(tdm_rules_reload(cur, path, 50, &next, &e), 0);
    CU_ASSERT_EQUAL(tdm_rules_count(next), 8);
    CU_ASSERT_EQUAL(tdm_rules_count(cur), 1);
    tdm_rules_free(cur);
    cur = next;
    CU_ASSERT_PTR_NOT_NULL(tdm_rules_find(cur, "multi-department"));
    CU_ASSERT_PTR_NULL(tdm_rules_free(cur));
    CU_ASSERT_PTR_NULL(tdm_rules_free(NULL));

    free(shipped_text);
    free(sp);
    free(good);
    free(bad);
    free(good_path);
    free(bad_path);
    free(path);
    td_test_rmtree(dir);
    free(dir);
}

/* The shipped file cut before its (keep+1)-th rule, as an interrupted write
 * leaves it (malloc'd). */
static char *shipped_cut(int keep)
{
    char *sp = shipped_path();
    char *text = td_test_read_file(sp, NULL);
    char *at = text;
    free(sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    for (int i = 0; i <= keep && at; i++)
        at = strstr(at + 1, "\n  - id:");
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    if (at)
        at[1] = '\0';
    return text;
}

/* The shipped file without its suspect rules (malloc'd). */
static char *shipped_alert_rules(void)
{
    char *sp = shipped_path();
    char *text = td_test_read_file(sp, NULL);
    free(sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    char *at = strstr(text, "\nsuspects:");
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    at[1] = '\0';
    return text;
}

/* Issue 10, defect 3: an empty or cut rules file must not switch monitoring
 * off on SIGHUP (nor at start); an intended big change says so. The alert
 * rules here; test_reload_guard_suspects for the suspect rules. */
static void test_reload_guard(void)
{
    char *dir = td_test_tmpdir();
    char *path = NULL, *sp = shipped_alert_rules();
    char *cut2 = shipped_cut(2), *cut4 = shipped_cut(4), *text = NULL;
    tdm_rules *cur = NULL, *next = NULL;
    td_error e;

    CU_ASSERT_FATAL(asprintf(&path, "%s/rules.yaml", dir) > 0);
    CU_ASSERT_EQUAL_FATAL(tdm_rules_load_string("shipped.yaml", sp, &cur, &e), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_rules_count(cur), 8);

    /* zero bytes: refused by the load itself (so at start too), naming the file */
    CU_ASSERT_EQUAL(td_test_write_file(path, ""), 0);
    CU_ASSERT_EQUAL(tdm_rules_reload(cur, path, 50, &next, &e), -EINVAL);
    CU_ASSERT_PTR_NULL(next);
    CU_ASSERT(has_error(&e, path, "1:1", "no enabled rule"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "expected_rules: 0"));
    CU_ASSERT_EQUAL(tdm_rules_load(path, &next, &e), -EINVAL);
    CU_ASSERT_PTR_NULL(next);
    CU_ASSERT_EQUAL(tdm_rules_count(cur), 8);

    /* cut after two rules: it loads (2 rules), but drops 6 of the 8 running */
    CU_ASSERT_EQUAL(td_test_write_file(path, cut2), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_rules_load(path, &next, &e), 0);
    CU_ASSERT_EQUAL(tdm_rules_count(next), 2);
    next = tdm_rules_free(next);
    CU_ASSERT_EQUAL(tdm_rules_reload(cur, path, 50, &next, &e), -EINVAL);
    CU_ASSERT_PTR_NULL(next);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "drops 6 of the 8 running rules (dibao-tekun, "
                                         "temp-assistance, severe-disability, "
                                         "working-age-death, employment-loss and 1 more)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "say expected_rules: 2"));
    CU_ASSERT_EQUAL(tdm_rules_count(cur), 8);
    /* ... unless the share allows it */
    CU_ASSERT_EQUAL_FATAL(tdm_rules_reload(cur, path, 75, &next, &e), 0);
    CU_ASSERT_EQUAL(tdm_rules_count(next), 2);
    next = tdm_rules_free(next);

    /* half of them: the boundary of 50% */
    CU_ASSERT_EQUAL(td_test_write_file(path, cut4), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_rules_reload(cur, path, 50, &next, &e), 0);
    CU_ASSERT_EQUAL(tdm_rules_count(next), 4);
    next = tdm_rules_free(next);
    CU_ASSERT_EQUAL(tdm_rules_reload(cur, path, 49, &next, &e), -EINVAL);
    CU_ASSERT_PTR_NULL(next);

    /* the intended change says how many rules the file has */
    CU_ASSERT_FATAL(asprintf(&text, "expected_rules: 2\n%s", cut2) > 0);
    CU_ASSERT_EQUAL(td_test_write_file(path, text), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_rules_reload(cur, path, 0, &next, &e), 0);
    CU_ASSERT_EQUAL(tdm_rules_count(next), 2);
    next = tdm_rules_free(next);
    free(text);
    /* ... and a file cut below what it says is refused even at start */
    CU_ASSERT_FATAL(asprintf(&text, "expected_rules: 4\n%s", cut2) > 0);
    CU_ASSERT_EQUAL(td_test_write_file(path, text), 0);
    CU_ASSERT_EQUAL(tdm_rules_load(path, &next, &e), -EINVAL);
    CU_ASSERT(has_error(&e, path, "1:17", "expected_rules: 4, but the file has 2 enabled rules"));
    CU_ASSERT_EQUAL(tdm_rules_check_drop(NULL, cur, 50, &e), 0);
    free(text);

    /* every rule disabled is every rule dropped, whatever the share */
    CU_ASSERT_FATAL(asprintf(&text, "lines: []\nrules:\n  - {id: a, name: 甲, version: '1', "
                             "enabled: false, dataset: civil_affairs, condition: {kind: event, "
                             "events: [DIBAO_APPLIED]}, severity: low}\n") > 0);
    CU_ASSERT_EQUAL(td_test_write_file(path, text), 0);
    CU_ASSERT_EQUAL(tdm_rules_reload(cur, path, 100, &next, &e), -EINVAL);
    CU_ASSERT_PTR_NULL(next);
    free(text);
    /* a file of other rules drops all the running ones */
    CU_ASSERT_FATAL(asprintf(&text, "lines: []\nrules:\n  - {id: a, name: 甲, version: '1', "
                             "dataset: civil_affairs, condition: {kind: event, "
                             "events: [DIBAO_APPLIED]}, severity: low}\n") > 0);
    CU_ASSERT_EQUAL(td_test_write_file(path, text), 0);
    CU_ASSERT_EQUAL(tdm_rules_reload(cur, path, 100, &next, &e), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "drops all 8 running rules"));
    free(text);

    /* monitoring off on purpose, and back on from there */
    CU_ASSERT_EQUAL(td_test_write_file(path, "expected_rules: 0\nrules: []\n"), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_rules_reload(cur, path, 50, &next, &e), 0);
    CU_ASSERT_EQUAL(tdm_rules_count(next), 0);
    tdm_rules_free(cur);
    cur = next;
    next = NULL;
    CU_ASSERT_EQUAL(td_test_write_file(path, cut2), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_rules_reload(cur, path, 50, &next, &e), 0);
    CU_ASSERT_EQUAL(tdm_rules_count(next), 2);

    tdm_rules_free(next);
    tdm_rules_free(cur);
    free(cut2);
    free(cut4);
    free(sp);
    free(path);
    td_test_rmtree(dir);
    free(dir);
}

/* ---- Suspect rules (issue 14). ---- */

static void test_shipped_suspects(void)
{
    static const struct {
        const char *id;
        tdm_check check;
        tdm_allowance allowance;
        int grace;
    } want[] = {
        {"death-still-listed", TDM_CHECK_DEATH_STILL_LISTED, TDM_ALLOWANCE_NONE, 30},
        {"disability-grade-differs", TDM_CHECK_DISABILITY_GRADE_DIFFERS, TDM_ALLOWANCE_NONE, 30},
        {"able-bodied-severely-disabled", TDM_CHECK_ABLE_BODIED_SEVERELY_DISABLED,
         TDM_ALLOWANCE_NONE, 30},
        {"dibao-not-recorded", TDM_CHECK_ALLOWANCE_NOT_RECORDED, TDM_ALLOWANCE_DIBAO, 30},
        {"tekun-not-recorded", TDM_CHECK_ALLOWANCE_NOT_RECORDED, TDM_ALLOWANCE_TEKUN, 30},
        {"dibao-still-marked", TDM_CHECK_ALLOWANCE_STILL_MARKED, TDM_ALLOWANCE_DIBAO, 30},
        {"tekun-still-marked", TDM_CHECK_ALLOWANCE_STILL_MARKED, TDM_ALLOWANCE_TEKUN, 30},
        {"welfare-job-not-recorded", TDM_CHECK_WELFARE_JOB_NOT_RECORDED, TDM_ALLOWANCE_NONE, 30},
        {"welfare-job-still-marked", TDM_CHECK_WELFARE_JOB_STILL_MARKED, TDM_ALLOWANCE_NONE, 30},
        {"duplicate-person", TDM_CHECK_DUPLICATE_PERSON, TDM_ALLOWANCE_NONE, 0},
        {"birth-date-differs", TDM_CHECK_BIRTH_DATE_DIFFERS, TDM_ALLOWANCE_NONE, 0},
        {"sex-differs", TDM_CHECK_SEX_DIFFERS, TDM_ALLOWANCE_NONE, 0},
        {"income-below-transfers", TDM_CHECK_INCOME_BELOW_TRANSFERS, TDM_ALLOWANCE_NONE, 0},
    };
    char *path = shipped_path();
    tdm_rules *rs = NULL;
    td_error e;
    CU_ASSERT_EQUAL_FATAL(tdm_rules_load(path, &rs, &e), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_rules_suspect_count(rs), sizeof(want) / sizeof(want[0]));
    unsigned checks = 0;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const tdm_suspect_rule *r = tdm_rules_suspect_at(rs, i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        CU_ASSERT_STRING_EQUAL(r->id, want[i].id);
        CU_ASSERT_PTR_EQUAL(tdm_rules_suspect_find(rs, want[i].id), r);
        CU_ASSERT_EQUAL(r->check, want[i].check);
        CU_ASSERT_EQUAL(r->allowance, want[i].allowance);
        CU_ASSERT_EQUAL(r->grace_days, want[i].grace);
        CU_ASSERT_TRUE(r->enabled);
        CU_ASSERT(r->name[0] && r->fix_hint[0]);
        /* no version in the file: a digest of the definition */
        CU_ASSERT_EQUAL(strncmp(r->version, "sha256:", 7), 0);
        CU_ASSERT_EQUAL(strlen(r->version), 7 + 16);
        checks |= 1u << r->check;
    }
    CU_ASSERT_EQUAL(checks, ((1u << 12) - 1) & ~1u); /* all eleven checks */
    const tdm_suspect_rule *r = tdm_rules_suspect_find(rs, "able-bodied-severely-disabled");
    CU_ASSERT_EQUAL(r->max_disability_grade, 2);
    CU_ASSERT_EQUAL(r->labour_capacities, TDM_LABOUR_NORMAL | TDM_LABOUR_SKILLED);
    CU_ASSERT_EQUAL(tdm_rules_suspect_find(rs, "income-below-transfers")->tolerance_fen, 0);
    CU_ASSERT_STRING_EQUAL(tdm_rules_suspect_find(rs, "dibao-not-recorded")->name,
                           "享受低保未在名册标注");
    CU_ASSERT_PTR_NULL(tdm_rules_suspect_at(rs, 13));
    CU_ASSERT_PTR_NULL(tdm_rules_suspect_find(rs, "income-below-line")); /* an alert rule */
    CU_ASSERT_PTR_NULL(tdm_rules_find(rs, "death-still-listed"));
    CU_ASSERT_STRING_EQUAL(tdm_check_name(TDM_CHECK_DEATH_STILL_LISTED), "death_still_listed");
    CU_ASSERT_STRING_EQUAL(tdm_check_name(TDM_CHECK_INCOME_BELOW_TRANSFERS),
                           "income_below_transfers");
    CU_ASSERT_STRING_EQUAL(tdm_check_name((tdm_check)0), "");
    CU_ASSERT_STRING_EQUAL(tdm_check_name((tdm_check)12), "");
    tdm_rules_free(rs);
    free(path);
}

/* A file of suspect rules only loads; defaults; the version digest follows
 * the definition. */
static void test_suspects_only(void)
{
    tdm_rules *rs = NULL, *rs2 = NULL;
    td_error e;
    const char *y1 = "suspects:\n"
                     "  - {id: a, name: 甲, check: death_still_listed, fix_hint: 核实}\n"
                     "  - {id: b, name: 乙, check: able_bodied_severely_disabled, fix_hint: 核实}\n"
                     "  - {id: c, name: 丙, check: sex_differs, fix_hint: 核实, version: v1,"
                     " enabled: false}\n"
                     "  - {id: d, name: 丁, check: income_below_transfers, fix_hint: 核实,"
                     " tolerance: 12.5}\n";
    int rc = tdm_rules_load_string("s.yaml", y1, &rs, &e);
    if (rc)
        printf("\n%s\n", e.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(tdm_rules_count(rs), 0);
    CU_ASSERT_EQUAL(tdm_rules_suspect_count(rs), 4);
    const tdm_suspect_rule *a = tdm_rules_suspect_find(rs, "a");
    const tdm_suspect_rule *b = tdm_rules_suspect_find(rs, "b");
    CU_ASSERT_TRUE(a->enabled);
    CU_ASSERT_EQUAL(a->grace_days, 0);
    CU_ASSERT_EQUAL(a->allowance, TDM_ALLOWANCE_NONE);
    CU_ASSERT_EQUAL(b->max_disability_grade, 2);
    CU_ASSERT_EQUAL(b->labour_capacities, TDM_LABOUR_NORMAL | TDM_LABOUR_SKILLED);
    CU_ASSERT_FALSE(tdm_rules_suspect_find(rs, "c")->enabled);
    CU_ASSERT_STRING_EQUAL(tdm_rules_suspect_find(rs, "c")->version, "v1");
    CU_ASSERT_EQUAL(tdm_rules_suspect_find(rs, "d")->tolerance_fen, 1250);

    /* another grace: another digest; same definition: same digest */
    const char *y2 = "suspects:\n"
                     "  - {id: a, name: 另一个名字, check: death_still_listed, fix_hint: 别的,"
                     " grace_days: 1}\n"
                     "  - {id: b, name: 乙, check: able_bodied_severely_disabled, fix_hint: 核实,"
                     " max_disability_grade: 2, labour_capacity: [SKILLED, NORMAL]}\n";
    CU_ASSERT_EQUAL_FATAL(tdm_rules_load_string("s2.yaml", y2, &rs2, &e), 0);
    CU_ASSERT_STRING_NOT_EQUAL(tdm_rules_suspect_find(rs2, "a")->version, a->version);
    CU_ASSERT_STRING_EQUAL(tdm_rules_suspect_find(rs2, "b")->version, b->version);
    CU_ASSERT_STRING_NOT_EQUAL(a->version, b->version);
    tdm_rules_free(rs2);
    tdm_rules_free(rs);

    /* every suspect rule disabled and no alert rule: nothing would run */
    CU_ASSERT_EQUAL(tdm_rules_load_string("s3.yaml", "suspects:\n  - {id: a, name: 甲, "
                                          "check: sex_differs, fix_hint: 核实, enabled: false}\n",
                                          &rs, &e), -EINVAL);
    CU_ASSERT(has_error(&e, "s3.yaml", "1:1", "no enabled rule"));
    /* expected_suspects must match */
    CU_ASSERT_EQUAL(tdm_rules_load_string("s4.yaml", "expected_suspects: 2\nsuspects:\n"
                                          "  - {id: a, name: 甲, check: sex_differs, "
                                          "fix_hint: 核实}\n", &rs, &e), -EINVAL);
    CU_ASSERT(has_error(&e, "s4.yaml", "1:20",
                        "expected_suspects: 2, but the file has 1 enabled suspect rules"));
}

/* The loader's own errors (types, ranges, enum values), with positions. */
static void test_suspect_errors_loader(void)
{
    const char *y = "expected_rules: 0\n"                          /* 1 */
                    "suspects:\n"                                  /* 2 */
                    "  - id: a\n"                                  /* 3 */
                    "    name: 甲\n"                               /* 4 */
                    "    check: death_stil_listed\n"               /* 5 */
                    "    fix_hint: 核实\n"                         /* 6 */
                    "  - id: b\n"                                  /* 7 */
                    "    name: 乙\n"                               /* 8 */
                    "    check: able_bodied_severely_disabled\n"   /* 9 */
                    "    max_disability_grade: 5\n"                /* 10 */
                    "    fix_hint: 核实\n"                         /* 11 */
                    "  - id: c\n"                                  /* 12 */
                    "    name: 丙\n"                               /* 13 */
                    "    check: death_still_listed\n"              /* 14 */
                    "    grace_days: -1\n"                         /* 15 */
                    "    fix_hint: 核实\n"                         /* 16 */
                    "  - id: d\n"                                  /* 17 */
                    "    name: 丁\n"                               /* 18 */
                    "    check: able_bodied_severely_disabled\n"   /* 19 */
                    "    max_disability_grade: 0\n"                /* 20 */
                    "    fix_hint: 核实\n"                         /* 21 */
                    "  - id: e\n"                                  /* 22 */
                    "    name: 戊\n"                               /* 23 */
                    "    check: sex_differs\n"                     /* 24 */
                    "    grace: 3\n"                               /* 25 */
                    "  - id: f\n"                                  /* 26 */
                    "    name: 己\n"                               /* 27 */
                    "    check: allowance_not_recorded\n"          /* 28 */
                    "    allowance: wubao\n"                       /* 29 */
                    "    fix_hint: 核实\n";                        /* 30 */
    tdm_rules *rs = NULL;
    td_error e;
    CU_ASSERT_EQUAL(tdm_rules_load_string("l.yaml", y, &rs, &e), -EINVAL);
    CU_ASSERT_PTR_NULL(rs);
    CU_ASSERT(has_error(&e, "l.yaml", "5:12", "death_still_listed"));
    CU_ASSERT(has_error(&e, "l.yaml", "10:27", "1..4"));
    CU_ASSERT(has_error(&e, "l.yaml", "15:17", "0..3660"));
    CU_ASSERT(has_error(&e, "l.yaml", "20:27", "1..4"));
    CU_ASSERT(has_error(&e, "l.yaml", "25:5", "grace"));
    CU_ASSERT(has_error(&e, "l.yaml", "22:5", "fix_hint"));
    CU_ASSERT(has_error(&e, "l.yaml", "29:16", "expected one of none, dibao, tekun"));
}

/* The meaning: keys that do not fit the check, duplicate ids, allowances,
 * tolerance, labour capacities, all reported at once. */
static void test_suspect_errors_meaning(void)
{
    const char *y = "expected_rules: 0\n"                          /* 1 */
                    "suspects:\n"                                  /* 2 */
                    "  - id: a\n"                                  /* 3 */
                    "    name: 甲\n"                               /* 4 */
                    "    check: sex_differs\n"                     /* 5 */
                    "    grace_days: 3\n"                          /* 6 */
                    "    fix_hint: 核实\n"                         /* 7 */
                    "  - id: a\n"                                  /* 8 */
                    "    name: 乙\n"                               /* 9 */
                    "    check: allowance_not_recorded\n"          /* 10 */
                    "    fix_hint: 核实\n"                         /* 11 */
                    "  - id: c\n"                                  /* 12 */
                    "    name: 丙\n"                               /* 13 */
                    "    check: income_below_transfers\n"          /* 14 */
                    "    tolerance: -5\n"                          /* 15 */
                    "    fix_hint: 核实\n"                         /* 16 */
                    "  - id: d\n"                                  /* 17 */
                    "    name: 丁\n"                               /* 18 */
                    "    check: death_still_listed\n"              /* 19 */
                    "    allowance: dibao\n"                       /* 20 */
                    "    max_disability_grade: 2\n"                /* 21 */
                    "    fix_hint: 核实\n"                         /* 22 */
                    "  - id: e\n"                                  /* 23 */
                    "    name: 戊\n"                               /* 24 */
                    "    check: able_bodied_severely_disabled\n"   /* 25 */
                    "    labour_capacity: [NORMAL, ABLE]\n"        /* 26 */
                    "    fix_hint: ''\n"                           /* 27 */
                    "  - id: f.1\n"                                /* 28 */
                    "    name: 己\n"                               /* 29 */
                    "    check: allowance_still_marked\n"          /* 30 */
                    "    allowance: none\n"                        /* 31 */
                    "    tolerance: 5\n"                           /* 32 */
                    "    fix_hint: 核实\n";                        /* 33 */
    tdm_rules *rs = NULL;
    td_error e;
    CU_ASSERT_EQUAL(tdm_rules_load_string("m.yaml", y, &rs, &e), -EINVAL);
    CU_ASSERT_PTR_NULL(rs);
    CU_ASSERT(has_error(&e, "m.yaml", "6:17",
                        "grace_days does not fit check sex_differs (its own keys: none)"));
    CU_ASSERT(has_error(&e, "m.yaml", "8:9", "duplicate suspect rule id 'a' (first at line 3)"));
    CU_ASSERT(has_error(&e, "m.yaml", "10:12",
                        "check allowance_not_recorded needs allowance: dibao or tekun"));
    CU_ASSERT(has_error(&e, "m.yaml", "15:16", "tolerance: '-5' is not an amount in yuan"));
    CU_ASSERT(has_error(&e, "m.yaml", "20:16", "allowance does not fit check "
                                               "death_still_listed (its own keys: grace_days)"));
    CU_ASSERT(has_error(&e, "m.yaml", "21:27", "max_disability_grade does not fit check "
                                               "death_still_listed"));
    CU_ASSERT(has_error(&e, "m.yaml", "26:31", "unknown labour capacity 'ABLE'"));
    CU_ASSERT(has_error(&e, "m.yaml", "27:15", "fix_hint must not be empty"));
    CU_ASSERT_PTR_NULL(strstr(e.msg, "m.yaml:28:"));
    CU_ASSERT_PTR_NULL(strstr(e.msg, "more problems"));
    CU_ASSERT(has_error(&e, "m.yaml", "31:16",
                        "check allowance_still_marked needs allowance: dibao or tekun"));
    CU_ASSERT(has_error(&e, "m.yaml", "32:16", "tolerance does not fit check "
                                               "allowance_still_marked (its own keys: "
                                               "grace_days, allowance)"));
}

/* The fixtures of suspect rules (also seeds of the rules fuzz target). */
static void test_suspect_fixtures(void)
{
    td_error e;
    tdm_rules *rs = NULL;
    char *p = data_path("suspects-only.yaml");
    CU_ASSERT_EQUAL_FATAL(tdm_rules_load(p, &rs, &e), 0);
    CU_ASSERT_EQUAL(tdm_rules_count(rs), 0);
    CU_ASSERT_EQUAL(tdm_rules_suspect_count(rs), 4);
    const tdm_suspect_rule *r = tdm_rules_suspect_find(rs, "able");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->max_disability_grade, 1);
    CU_ASSERT_EQUAL(r->labour_capacities, TDM_LABOUR_NORMAL | TDM_LABOUR_SKILLED | TDM_LABOUR_WEAK);
    r = tdm_rules_suspect_find(rs, "income");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->tolerance_fen, 10050);
    CU_ASSERT_STRING_EQUAL(r->version, "2023.2");
    CU_ASSERT_EQUAL(r->max_disability_grade, 0);
    r = tdm_rules_suspect_find(rs, "off");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_FALSE(r->enabled);
    CU_ASSERT_EQUAL(r->allowance, TDM_ALLOWANCE_TEKUN);
    tdm_rules_free(rs);
    free(p);

    p = load_bad("suspects-bad.yaml", &e);
    CU_ASSERT(has_error(&e, p, "6:17", "grace_days does not fit check sex_differs"));
    CU_ASSERT(has_error(&e, p, "10:12", "check allowance_not_recorded needs allowance"));
    CU_ASSERT(has_error(&e, p, "12:9", "duplicate suspect rule id 'sex' (first at line 3)"));
    free(p);
}

/* Reload: dropping suspect rules by accident is refused as for alert rules. */
static void test_reload_guard_suspects(void)
{
    char *sp = shipped_path();
    char *text = td_test_read_file(sp, NULL);
    tdm_rules *cur = NULL, *next = NULL;
    td_error e;
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL_FATAL(tdm_rules_load(sp, &cur, &e), 0);
    CU_ASSERT_EQUAL(tdm_rules_suspect_count(cur), 13);

    /* cut after the first six suspect rules: 7 of 13 dropped */
    char *at = strstr(text, "\nsuspects:");
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    for (int i = 0; i < 7 && at; i++)
        at = strstr(at + 1, "\n  - id:");
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    if (at)
        at[1] = '\0';
    CU_ASSERT_EQUAL_FATAL(tdm_rules_load_string("cut.yaml", text, &next, &e), 0);
    CU_ASSERT_EQUAL(tdm_rules_suspect_count(next), 6);
    CU_ASSERT_EQUAL(tdm_rules_check_drop(cur, next, 50, &e), -EINVAL);
    printf("\n%s\n", e.msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "cut.yaml: refused: it drops 7 of the 13 running "
                                         "suspect rules (tekun-still-marked, "
                                         "welfare-job-not-recorded, welfare-job-still-marked, "
                                         "duplicate-person, birth-date-differs and 2 more)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "say expected_suspects: 6"));
    CU_ASSERT_EQUAL(tdm_rules_check_drop(cur, next, 60, &e), 0);
    next = tdm_rules_free(next);

    /* no suspect rule left: refused whatever the share */
    at = strstr(text, "\nsuspects:");
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    if (at)
        at[1] = '\0';
    CU_ASSERT_EQUAL_FATAL(tdm_rules_load_string("none.yaml", text, &next, &e), 0);
    CU_ASSERT_EQUAL(tdm_rules_check_drop(cur, next, 100, &e), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "drops all 13 running suspect rules"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "say expected_suspects: 0"));
    next = tdm_rules_free(next);

    /* ... unless the file says so */
    char *intended = NULL;
    CU_ASSERT_FATAL(asprintf(&intended, "expected_suspects: 0\n%s", text) > 0);
    CU_ASSERT_EQUAL_FATAL(tdm_rules_load_string("none.yaml", intended, &next, &e), 0);
    CU_ASSERT_EQUAL(tdm_rules_check_drop(cur, next, 50, &e), 0);
    next = tdm_rules_free(next);
    free(intended);
    /* from nothing to suspects: nothing is dropped */
    CU_ASSERT_EQUAL_FATAL(tdm_rules_load_string("none.yaml", text, &next, &e), 0);
    CU_ASSERT_EQUAL(tdm_rules_check_drop(next, cur, 0, &e), 0);
    next = tdm_rules_free(next);

    tdm_rules_free(cur);
    free(text);
    free(sp);
}

/* ---- docs/rules.md holds the generated reference, between
 * "<!-- BEGIN reference rules.yaml -->" and its END line
 * (TD_UPDATE_REFERENCE=1 rewrites it). ---- */

static void test_reference_in_docs(void)
{
    char *ref = NULL;
    size_t rl = 0;
    FILE *f = open_memstream(&ref, &rl);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(td_config_write_reference(tdm_rules_file_table, f), 0);
    fclose(f);
    CU_ASSERT(td_test_reference_block("docs/rules.md", "rules.yaml", ref));
    free(ref);
}

static void add_suites(void)
{
    td_test_suite("rules", NULL, NULL);
    TD_TEST(test_shipped_file);
    TD_TEST(test_event_tables_match_schemas);
    TD_TEST(test_error_unknown_key);
    TD_TEST(test_error_duplicate_id);
    TD_TEST(test_error_unknown_event);
    TD_TEST(test_error_bad_threshold);
    TD_TEST(test_error_missing_line);
    TD_TEST(test_error_wrong_dataset);
    TD_TEST(test_error_more);
    TD_TEST(test_error_bucket_removed);
    TD_TEST(test_error_long_message);
    TD_TEST(test_threshold_arithmetic);
    TD_TEST(test_share_parsing);
    TD_TEST(test_rule_medical_boundaries);
    TD_TEST(test_rule_income_boundaries);
    TD_TEST(test_rule_event_boundaries);
    TD_TEST(test_reload);
    TD_TEST(test_reload_guard);
    TD_TEST(test_shipped_suspects);
    TD_TEST(test_suspects_only);
    TD_TEST(test_suspect_errors_loader);
    TD_TEST(test_suspect_errors_meaning);
    TD_TEST(test_suspect_fixtures);
    TD_TEST(test_reload_guard_suspects);
    TD_TEST(test_reference_in_docs);
}

TD_TEST_MAIN(add_suites)
