/* Tests of tdm_eval against the shipped rules (deploy/rules/huainan-2023.yaml)
 * and the real schemas. Households are built directly as tdm_household
 * views (what tdm_roster_get fills). */

#include "tdm_roster.h"

#include "tdm_eval.h"

#include "td_date.h"
#include "td_idnum.h"
#include "td_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VILLAGE "340421100201"
#define INSTANCE "tuodi-matchd@test"

static tdm_rules *rules;
static td_avro_registry *reg;
static const td_avro_schema *s_med, *s_civil, *s_emp, *s_outcome, *s_alert;
static avro_value_t v_med, v_civil, v_emp, v_outcome, v_alert;
static tdm_eval_ctx ctx;

static int setup(void)
{
    char path[1024];
    td_error err = {0};
    snprintf(path, sizeof(path), "%s/deploy/rules/huainan-2023.yaml", td_test_source_root());
    if (tdm_rules_load(path, &rules, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/schemas", td_test_source_root());
    if (td_avro_registry_new(&reg) < 0 || td_avro_registry_load_dir(reg, path, NULL, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    s_med = td_avro_registry_find_name(reg, "cn.tuodi.MedicalSettlement");
    s_civil = td_avro_registry_find_name(reg, "cn.tuodi.CivilAffairsEvent");
    s_emp = td_avro_registry_find_name(reg, "cn.tuodi.EmploymentEvent");
    s_outcome = td_avro_registry_find_name(reg, "cn.tuodi.VerificationOutcome");
    s_alert = td_avro_registry_find_name(reg, "cn.tuodi.Alert");
    if (!s_med || !s_civil || !s_emp || !s_outcome || !s_alert)
        return -1;
    if (td_avro_schema_value_new(s_med, &v_med, &err) < 0 ||
        td_avro_schema_value_new(s_civil, &v_civil, &err) < 0 ||
        td_avro_schema_value_new(s_emp, &v_emp, &err) < 0 ||
        td_avro_schema_value_new(s_outcome, &v_outcome, &err) < 0 ||
        td_avro_schema_value_new(s_alert, &v_alert, &err) < 0)
        return -1;
    ctx.rules = rules;
    ctx.calendar = NULL;
    ctx.instance = INSTANCE;
    return 0;
}

static int teardown(void)
{
    avro_value_decref(&v_med);
    avro_value_decref(&v_civil);
    avro_value_decref(&v_emp);
    avro_value_decref(&v_outcome);
    avro_value_decref(&v_alert);
    td_avro_registry_free(reg);
    tdm_rules_free(rules);
    return 0;
}

static int32_t ymd(int y, int m, int d)
{
    int32_t days = 0;
    CU_ASSERT_FATAL(td_date_from_ymd(y, m, d, &days));
    return days;
}

static void datestr(int32_t day, char buf[TD_AVRO_DATE_BUFSZ])
{
    CU_ASSERT_EQUAL_FATAL(td_avro_date_format(day, buf), 0);
}

static void from_json(const td_avro_schema *s, avro_value_t *v, const char *json)
{
    td_error err = {0};
    int rc = td_avro_value_from_json(s, json, strlen(json), v, &err);
    if (rc < 0)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

/* ---- records ---- */

static const char *opt_village(const char *v, char *buf, size_t size)
{
    if (!v)
        return "null";
    snprintf(buf, size, "{\"string\":\"%s\"}", v);
    return buf;
}

static avro_value_t *medical(const char *person, const char *village, int32_t day,
                             int64_t oop, const char *record_id)
{
    char json[2048], d[TD_AVRO_DATE_BUFSZ], vb[64];
    datestr(day, d);
    snprintf(json, sizeof(json),
             "{\"person_key\":\"%s\",\"name\":{\"string\":\"张三\"},\"village_code\":%s,"
             "\"settlement_date\":\"%s\",\"kind\":\"INPATIENT\",\"total_cost_fen\":%lld,"
             "\"fund_paid_fen\":0,\"out_of_pocket_fen\":%lld,\"major_disease\":false,"
             "\"source\":{\"department\":\"MEDICAL_INSURANCE\",\"connector_instance\":"
             "\"medical\",\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             person, opt_village(village, vb, sizeof(vb)), d, (long long)oop, (long long)oop,
             record_id);
    from_json(s_med, &v_med, json);
    return &v_med;
}

/* amount < 0: null; grade 0: null */
static avro_value_t *civil(const char *type, const char *person, const char *village,
                           int32_t day, int64_t amount, int grade, const char *record_id)
{
    char json[2048], d[TD_AVRO_DATE_BUFSZ], vb[64], am[64], gr[64];
    datestr(day, d);
    if (amount < 0)
        snprintf(am, sizeof(am), "null");
    else
        snprintf(am, sizeof(am), "{\"long\":%lld}", (long long)amount);
    if (grade <= 0)
        snprintf(gr, sizeof(gr), "null");
    else
        snprintf(gr, sizeof(gr), "{\"int\":%d}", grade);
    snprintf(json, sizeof(json),
             "{\"event_type\":\"%s\",\"person_key\":\"%s\",\"name\":null,\"village_code\":%s,"
             "\"event_date\":\"%s\",\"amount_fen\":%s,\"disability_grade\":%s,"
             "\"source\":{\"department\":\"CIVIL_AFFAIRS\",\"connector_instance\":\"civil\","
             "\"record_id\":\"%s\",\"location\":{\"string\":\"mz.csv\"},\"row\":{\"long\":7}}}",
             type, person, opt_village(village, vb, sizeof(vb)), d, am, gr, record_id);
    from_json(s_civil, &v_civil, json);
    return &v_civil;
}

static avro_value_t *employment(const char *type, const char *person, const char *village,
                                int32_t day, const char *record_id)
{
    char json[2048], d[TD_AVRO_DATE_BUFSZ], vb[64];
    datestr(day, d);
    snprintf(json, sizeof(json),
             "{\"event_type\":\"%s\",\"person_key\":\"%s\",\"name\":null,\"village_code\":%s,"
             "\"event_date\":\"%s\",\"months_worked_away\":null,"
             "\"source\":{\"department\":\"HUMAN_RESOURCES\",\"connector_instance\":\"hr\","
             "\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             type, person, opt_village(village, vb, sizeof(vb)), d, record_id);
    from_json(s_emp, &v_emp, json);
    return &v_emp;
}

/* category/reason NULL: null */
static avro_value_t *outcome(const char *alert_id, const char *result, const char *category,
                             const char *reason, const char *verifier, const char *reviewer,
                             int32_t day, const char *record_id)
{
    char json[2048], d[TD_AVRO_DATE_BUFSZ], cat[128], rs[256];
    datestr(day, d);
    if (category)
        snprintf(cat, sizeof(cat), "{\"cn.tuodi.MonitoringCategory\":\"%s\"}", category);
    else
        snprintf(cat, sizeof(cat), "null");
    if (reason)
        snprintf(rs, sizeof(rs), "{\"string\":\"%s\"}", reason);
    else
        snprintf(rs, sizeof(rs), "null");
    snprintf(json, sizeof(json),
             "{\"alert_id\":\"%s\",\"outcome\":\"%s\",\"category\":%s,\"reason\":%s,"
             "\"verifier\":\"%s\",\"reviewer\":\"%s\",\"visit_date\":\"%s\","
             "\"recorded_at\":\"%sT02:00:00Z\",\"source\":{\"department\":"
             "\"RURAL_REVITALIZATION\",\"connector_instance\":\"tuodictl\",\"record_id\":"
             "\"%s\",\"location\":null,\"row\":null}}",
             alert_id, result, cat, rs, verifier, reviewer, d, d, record_id);
    from_json(s_outcome, &v_outcome, json);
    return &v_outcome;
}

/* ---- households ---- */

#define P_HEAD "340421198001010011"
#define P_WIFE "340421198203030022"
#define P_SON "340421200505050033"

typedef struct hh_fixture {
    tdm_member members[3];
    tdm_household hh;
} hh_fixture;

static void make_hh(hh_fixture *f, tdm_r_household_type type, tdm_monitoring_state mon,
                    int64_t annual_yuan)
{
    memset(f, 0, sizeof(*f));
    f->members[0] = (tdm_member){P_HEAD, "张三", ymd(1980, 1, 1), TDM_REL_HEAD,
                                 TDM_R_LABOUR_NORMAL, 0, 0, TDM_SEX_UNSAID, TDM_SEX_UNSAID, false, 0, -1};
    f->members[1] = (tdm_member){P_WIFE, "李四", ymd(1982, 3, 3), TDM_REL_SPOUSE,
                                 TDM_R_LABOUR_NORMAL, 0, 0, TDM_SEX_UNSAID, TDM_SEX_UNSAID, false, 0, -1};
    f->members[2] = (tdm_member){P_SON, "张小", ymd(2005, 5, 5), TDM_REL_CHILD,
                                 TDM_R_LABOUR_NORMAL, 0, 1, TDM_SEX_UNSAID, TDM_SEX_UNSAID, false, 0, -1};
    f->hh.household_id = "3404211002010001";
    f->hh.village_code = VILLAGE;
    memcpy(f->hh.county, VILLAGE, 6);
    memcpy(f->hh.township, VILLAGE, 9);
    f->hh.grid_id = "G01";
    f->hh.type = type;
    f->hh.monitoring = mon;
    f->hh.category = TDM_CAT_NONE;
    f->hh.has_income = true;
    f->hh.income_year = 2023;
    f->hh.income_annual_fen = annual_yuan * 100;
    f->hh.income_per_capita_fen = annual_yuan * 100 / 3;
    f->hh.household_size = 3;
    f->hh.members = f->members;
    f->hh.nmembers = 3;
    f->hh.head_name = "张三";
    f->hh.updated_at = tdm_eval_cst_midnight_ms(ymd(2023, 3, 1));
}

static const tdm_coords COORDS = {"tuodi.medical_insurance.settlements", 2, 41};

static int eval(tdm_dataset ds, avro_value_t *v, const tdm_household *hh, tdm_window *w,
                tdm_alert_list *out)
{
    td_error err = {0};
    int rc = tdm_eval_record(&ctx, ds, v, &COORDS, hh, w, out, &err);
    if (rc < 0)
        fprintf(stderr, "eval: %s\n", err.msg);
    return rc;
}

static const tdm_alert_out *find_rule(const tdm_alert_list *l, const char *rule)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].rule_id, rule) == 0)
            return &l->v[i];
    return NULL;
}

/* ---- rule 2: medical spending ---- */

static void medical_boundary(tdm_r_household_type type, tdm_monitoring_state mon,
                             int64_t income_yuan, int64_t threshold_fen)
{
    hh_fixture f;
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    int32_t day = ymd(2023, 5, 8);

    make_hh(&f, type, mon, income_yuan);
    /* just below, spread over two members and two days */
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE,
                         medical(P_HEAD, NULL, day - 10, threshold_fen / 2, "JS1"), &f.hh, w,
                         &out), 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE,
                         medical(P_WIFE, NULL, day, threshold_fen - threshold_fen / 2 - 1, "JS2"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(out.n, 0);
    /* at the threshold */
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE, medical(P_WIFE, NULL, day, 1, "JS3"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    const tdm_alert_out *a = &out.v[0];
    CU_ASSERT_STRING_EQUAL(a->rule_id, "medical-oop-365d");
    CU_ASSERT_EQUAL(a->kind, TDM_KIND_ALERT);
    CU_ASSERT(a->measure.present);
    CU_ASSERT_EQUAL(a->measure.value, threshold_fen);
    CU_ASSERT_EQUAL(a->measure.threshold, threshold_fen);
    CU_ASSERT_STRING_EQUAL(a->comparison, "GE");
    CU_ASSERT_STRING_EQUAL(a->risk_code, "01");
    CU_ASSERT_EQUAL(a->severity, TDM_SEVERITY_MEDIUM);
    CU_ASSERT_STRING_EQUAL(a->person_key, P_WIFE);
    CU_ASSERT_STRING_EQUAL(a->person_name, "李四");
    CU_ASSERT_STRING_EQUAL(a->head_name, "张三");
    CU_ASSERT_EQUAL(a->raised_at, tdm_eval_cst_midnight_ms(day));
    CU_ASSERT_EQUAL(a->n_evidence, 1);
    CU_ASSERT_STRING_EQUAL(a->evidence[0].src_record_id, "JS3");
    CU_ASSERT_EQUAL(a->evidence[0].offset, 41);
    CU_ASSERT_EQUAL(a->evidence[0].partition, 2);
    tdm_alert_list_done(&out);
    tdm_window_free(w);
}

static void test_medical_alleviated_5000(void)
{
    medical_boundary(TDM_R_HH_POVERTY_ALLEVIATED, TDM_MON_NOT_MONITORED, 100000, 500000);
}

static void test_medical_monitored_5000(void)
{
    medical_boundary(TDM_R_HH_ORDINARY, TDM_MON_MONITORED, 100000, 500000);
}

static void test_medical_ordinary_20000(void)
{
    medical_boundary(TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000, 2000000);
}

static void test_medical_half_income(void)
{
    /* annual net 30,000 yuan: 50% is 15,000 < 20,000 */
    medical_boundary(TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 30000, 1500000);
}

static void test_medical_category(void)
{
    hh_fixture f;
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    make_hh(&f, TDM_R_HH_POVERTY_ALLEVIATED, TDM_MON_NOT_MONITORED, 100000);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE,
                         medical(P_HEAD, NULL, ymd(2023, 5, 8), 500000, "JS1"), &f.hh, w, &out),
                    0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT_EQUAL(out.v[0].suggested_category, TDM_CATEGORY_UNSTABLE_ALLEVIATED);
    CU_ASSERT_EQUAL(out.v[0].population, TDM_POP_ROSTER_NOT_MONITORED);
    CU_ASSERT_EQUAL(out.v[0].household_type, TDM_HH_POVERTY_ALLEVIATED);
    tdm_alert_list_done(&out);
    tdm_window_free(w);
}

static void test_medical_leaves_window(void)
{
    hh_fixture f;
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    int32_t d0 = ymd(2023, 1, 10);
    make_hh(&f, TDM_R_HH_POVERTY_ALLEVIATED, TDM_MON_NOT_MONITORED, 100000);

    /* 365 days later the first spending has left the window */
    tdm_window *w = tdm_window_new();
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE, medical(P_HEAD, NULL, d0, 300000, "A"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE,
                         medical(P_WIFE, NULL, d0 + 365, 200000, "B"), &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(out.n, 0);
    tdm_window_free(w);

    /* 364 days later it still counts */
    w = tdm_window_new();
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE, medical(P_HEAD, NULL, d0, 300000, "A"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE,
                         medical(P_WIFE, NULL, d0 + 364, 200000, "B"), &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT_EQUAL(out.v[0].measure.value, 500000);
    tdm_window_free(w);
    tdm_alert_list_done(&out);
}

static void test_medical_not_on_roster(void)
{
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    int32_t day = ymd(2023, 5, 8);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE,
                         medical(P_HEAD, VILLAGE, day, 1999999, "A"), NULL, w, &out), 0);
    CU_ASSERT_EQUAL(out.n, 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE, medical(P_HEAD, VILLAGE, day, 1, "B"),
                         NULL, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT_EQUAL(out.v[0].population, TDM_POP_NOT_ON_ROSTER);
    CU_ASSERT_PTR_NULL(out.v[0].household_id);
    CU_ASSERT_EQUAL(out.v[0].suggested_category, TDM_CATEGORY_MARGINAL);
    CU_ASSERT_EQUAL(out.v[0].measure.threshold, 2000000);
    tdm_alert_list_done(&out);
    tdm_window_free(w);
}

/* ---- rules 3-7: events ---- */

static size_t fires_civil(const char *type, int64_t amount, int grade, const char *person,
                          int32_t day, const tdm_household *hh)
{
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil(type, person, VILLAGE, day, amount, grade, "MZ1"), hh, w, &out),
                    0);
    size_t n = out.n;
    tdm_alert_list_done(&out);
    tdm_window_free(w);
    return n;
}

static void test_dibao_tekun(void)
{
    hh_fixture f;
    int32_t day = ymd(2023, 5, 8);
    make_hh(&f, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000);
    CU_ASSERT_EQUAL(fires_civil("DIBAO_APPLIED", -1, 0, P_HEAD, day, &f.hh), 1);
    CU_ASSERT_EQUAL(fires_civil("DIBAO_APPROVED", -1, 0, P_HEAD, day, &f.hh), 1);
    CU_ASSERT_EQUAL(fires_civil("TEKUN_APPROVED", -1, 0, P_HEAD, day, &f.hh), 1);
    CU_ASSERT_EQUAL(fires_civil("DIBAO_CANCELLED", -1, 0, P_HEAD, day, &f.hh), 0);
}

static void test_temp_assistance_1000(void)
{
    hh_fixture f;
    int32_t day = ymd(2023, 5, 8);
    make_hh(&f, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000);
    CU_ASSERT_EQUAL(fires_civil("TEMP_ASSISTANCE_GRANTED", 99999, 0, P_HEAD, day, &f.hh), 0);
    CU_ASSERT_EQUAL(fires_civil("TEMP_ASSISTANCE_GRANTED", 100000, 0, P_HEAD, day, &f.hh), 1);
    CU_ASSERT_EQUAL(fires_civil("TEMP_ASSISTANCE_GRANTED", -1, 0, P_HEAD, day, &f.hh), 0);
}

static void test_disability_grade(void)
{
    hh_fixture f;
    int32_t day = ymd(2023, 5, 8);
    make_hh(&f, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000);
    CU_ASSERT_EQUAL(fires_civil("DISABILITY_CERTIFIED", -1, 3, P_HEAD, day, &f.hh), 0);
    CU_ASSERT_EQUAL(fires_civil("DISABILITY_CERTIFIED", -1, 2, P_HEAD, day, &f.hh), 1);
    CU_ASSERT_EQUAL(fires_civil("DISABILITY_CERTIFIED", -1, 1, P_HEAD, day, &f.hh), 1);
}

static void test_working_age_death(void)
{
    hh_fixture f;
    make_hh(&f, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000);
    /* the head was born 1980-01-01: 60 until 2040-12-31 */
    CU_ASSERT_EQUAL(fires_civil("DEATH_REGISTERED", -1, 0, P_HEAD, ymd(2040, 12, 31), &f.hh), 1);
    CU_ASSERT_EQUAL(fires_civil("DEATH_REGISTERED", -1, 0, P_HEAD, ymd(2041, 1, 1), &f.hh), 0);
    /* the son was born 2005-05-05: 16 from 2021-05-05 */
    CU_ASSERT_EQUAL(fires_civil("DEATH_REGISTERED", -1, 0, P_SON, ymd(2021, 5, 4), &f.hh), 0);
    CU_ASSERT_EQUAL(fires_civil("DEATH_REGISTERED", -1, 0, P_SON, ymd(2021, 5, 5), &f.hh), 1);
    /* could not work */
    f.members[0].labour = TDM_R_LABOUR_LOST;
    CU_ASSERT_EQUAL(fires_civil("DEATH_REGISTERED", -1, 0, P_HEAD, ymd(2023, 5, 8), &f.hh), 0);
}

/* A valid identity number born on the given date. */
static void make_idnum(int y, int m, int d, char out[TD_IDNUM_LEN + 1])
{
    snprintf(out, TD_IDNUM_LEN + 1, "340421%04d%02d%02d001", y, m, d);
    out[17] = td_idnum_check_char(out);
    out[18] = '\0';
}

static void test_employment_age(void)
{
    hh_fixture f;
    tdm_window *w;
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    make_hh(&f, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000);

    const char *types[] = {"UNEMPLOYMENT_REGISTERED", "PUBLIC_WELFARE_JOB_ENDED",
                           "EMPLOYEE_INSURANCE_LAPSED"};
    for (size_t i = 0; i < 3; i++) {
        w = tdm_window_new();
        CU_ASSERT_EQUAL(eval(TDM_DATASET_HUMAN_RESOURCES,
                             employment(types[i], P_HEAD, NULL, ymd(2040, 12, 31), "R1"), &f.hh,
                             w, &out), 0);
        CU_ASSERT_EQUAL(out.n, i + 1);
        tdm_window_free(w);
    }
    CU_ASSERT_STRING_EQUAL(out.v[0].rule_id, "employment-loss");
    CU_ASSERT_EQUAL(out.v[0].severity, TDM_SEVERITY_LOW);
    tdm_alert_list_reset(&out);
    w = tdm_window_new();
    CU_ASSERT_EQUAL(eval(TDM_DATASET_HUMAN_RESOURCES,
                         employment("UNEMPLOYMENT_REGISTERED", P_HEAD, NULL, ymd(2041, 1, 1),
                                    "R1"), &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_HUMAN_RESOURCES,
                         employment("UNEMPLOYMENT_ENDED", P_WIFE, NULL, ymd(2023, 1, 1), "R2"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(out.n, 0);
    tdm_window_free(w);

    /* not on the roster: the age from the identity number */
    char id[TD_IDNUM_LEN + 1];
    make_idnum(1990, 6, 1, id);
    w = tdm_window_new();
    CU_ASSERT_EQUAL(eval(TDM_DATASET_HUMAN_RESOURCES,
                         employment("UNEMPLOYMENT_REGISTERED", id, VILLAGE, ymd(2050, 6, 1),
                                    "R3"), NULL, w, &out), 0);
    CU_ASSERT_EQUAL(out.n, 1);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_HUMAN_RESOURCES,
                         employment("UNEMPLOYMENT_REGISTERED", id, VILLAGE, ymd(2051, 6, 1),
                                    "R4"), NULL, w, &out), 0);
    CU_ASSERT_EQUAL(out.n, 1); /* 61: too old (and the first is open anyway) */
    tdm_window_free(w);
    w = tdm_window_new();
    CU_ASSERT_EQUAL(eval(TDM_DATASET_HUMAN_RESOURCES,
                         employment("UNEMPLOYMENT_REGISTERED", id, VILLAGE, ymd(2051, 6, 1),
                                    "R4"), NULL, w, &out), 0);
    CU_ASSERT_EQUAL(out.n, 1); /* 61 */
    tdm_window_free(w);

    /* a pseudonymised key: no age, the age rule does not fire */
    w = tdm_window_new();
    const char *pseudo = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    CU_ASSERT_EQUAL(eval(TDM_DATASET_HUMAN_RESOURCES,
                         employment("UNEMPLOYMENT_REGISTERED", pseudo, VILLAGE, ymd(2023, 6, 1),
                                    "R5"), NULL, w, &out), 0);
    CU_ASSERT_EQUAL(out.n, 1);
    tdm_window_free(w);
    tdm_alert_list_done(&out);
}

/* ---- rule 8: departments within 90 days ---- */

static void test_two_departments(void)
{
    hh_fixture f;
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    int32_t day = ymd(2023, 5, 8);
    make_hh(&f, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000);

    /* 89 days apart: the second alert is HIGH, the first is escalated */
    tdm_window *w = tdm_window_new();
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPLIED", P_HEAD, NULL, day, -1, 0, "MZ1"), &f.hh, w,
                         &out), 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_HUMAN_RESOURCES,
                         employment("UNEMPLOYMENT_REGISTERED", P_WIFE, NULL, day + 89, "R1"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 3);
    CU_ASSERT_EQUAL(out.v[0].severity, TDM_SEVERITY_MEDIUM);
    CU_ASSERT_EQUAL(out.v[1].severity, TDM_SEVERITY_HIGH);
    CU_ASSERT_TRUE(out.v[2].escalation);
    CU_ASSERT_STRING_EQUAL(out.v[2].alert_id, out.v[0].alert_id);
    CU_ASSERT_EQUAL(out.v[2].severity, TDM_SEVERITY_HIGH);
    tdm_window_free(w);
    tdm_alert_list_reset(&out);

    /* 90 days apart: not within */
    w = tdm_window_new();
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPLIED", P_HEAD, NULL, day, -1, 0, "MZ1"), &f.hh, w,
                         &out), 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_HUMAN_RESOURCES,
                         employment("UNEMPLOYMENT_REGISTERED", P_WIFE, NULL, day + 90, "R1"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 2);
    CU_ASSERT_EQUAL(out.v[1].severity, TDM_SEVERITY_LOW);
    tdm_window_free(w);
    tdm_alert_list_reset(&out);

    /* a plain settlement (no rule matched) is not a signal */
    w = tdm_window_new();
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE, medical(P_HEAD, NULL, day, 100, "JS1"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_HUMAN_RESOURCES,
                         employment("UNEMPLOYMENT_REGISTERED", P_WIFE, NULL, day + 1, "R1"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT_EQUAL(out.v[0].severity, TDM_SEVERITY_LOW);
    tdm_window_free(w);
    tdm_alert_list_done(&out);
}

/* ---- rule 1: income below the line ---- */

static void test_income_below_line(void)
{
    hh_fixture f;
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    td_error err = {0};
    make_hh(&f, TDM_R_HH_POVERTY_ALLEVIATED, TDM_MON_NOT_MONITORED, 0);

    f.hh.income_per_capita_fen = 790000; /* at the line: not below */
    CU_ASSERT_EQUAL(tdm_eval_household(&ctx, &f.hh, &COORDS, w, &out, &err), 0);
    CU_ASSERT_EQUAL(out.n, 0);
    f.hh.monitoring = TDM_MON_MONITORED; /* monitored: the rule is not for it */
    f.hh.income_per_capita_fen = 789999;
    CU_ASSERT_EQUAL(tdm_eval_household(&ctx, &f.hh, &COORDS, w, &out, &err), 0);
    CU_ASSERT_EQUAL(out.n, 0);
    f.hh.monitoring = TDM_MON_NOT_MONITORED;
    CU_ASSERT_EQUAL(tdm_eval_household(&ctx, &f.hh, &COORDS, w, &out, &err), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    const tdm_alert_out *a = &out.v[0];
    CU_ASSERT_STRING_EQUAL(a->rule_id, "income-below-line");
    CU_ASSERT_EQUAL(a->suggested_category, TDM_CATEGORY_UNSTABLE_ALLEVIATED);
    CU_ASSERT_EQUAL(a->measure.value, 789999);
    CU_ASSERT_EQUAL(a->measure.threshold, 790000);
    CU_ASSERT_STRING_EQUAL(a->comparison, "LT");
    CU_ASSERT_PTR_NULL(a->person_key);
    CU_ASSERT_EQUAL(a->evidence[0].dataset, TDM_DATASET_HOUSEHOLD);
    /* a later update of the same household: the alert is open, no second */
    f.hh.updated_at += 86400000;
    CU_ASSERT_EQUAL(tdm_eval_household(&ctx, &f.hh, &COORDS, w, &out, &err), 0);
    CU_ASSERT_EQUAL(out.n, 1);
    tdm_window_free(w);

    /* ordinary household: MARGINAL; another year (no line): nothing */
    w = tdm_window_new();
    f.hh.type = TDM_R_HH_ORDINARY;
    CU_ASSERT_EQUAL(tdm_eval_household(&ctx, &f.hh, &COORDS, w, &out, &err), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 2);
    CU_ASSERT_EQUAL(out.v[1].suggested_category, TDM_CATEGORY_MARGINAL);
    tdm_window_free(w);
    w = tdm_window_new();
    f.hh.income_year = 2024;
    CU_ASSERT_EQUAL(tdm_eval_household(&ctx, &f.hh, &COORDS, w, &out, &err), 0);
    CU_ASSERT_EQUAL(out.n, 2);
    tdm_window_free(w);
    tdm_alert_list_done(&out);
}

/* ---- suppression ---- */

static void test_suppression_and_escalation(void)
{
    hh_fixture f;
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    int32_t day = ymd(2023, 5, 8);
    make_hh(&f, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000);

    CU_ASSERT_EQUAL(eval(TDM_DATASET_HUMAN_RESOURCES,
                         employment("UNEMPLOYMENT_REGISTERED", P_HEAD, NULL, day, "R1"), &f.hh,
                         w, &out), 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_HUMAN_RESOURCES,
                         employment("EMPLOYEE_INSURANCE_LAPSED", P_WIFE, NULL, day + 3, "R2"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1); /* same household and rule: suppressed */
    char first[TDM_ALERT_ID_MAX + 1];
    snprintf(first, sizeof(first), "%s", out.v[0].alert_id);
    tdm_severity own = out.v[0].severity;
    CU_ASSERT_NOT_EQUAL(own, TDM_SEVERITY_HIGH);
    CU_ASSERT_FALSE(out.v[0].escalation);
    /* a second department: its alert is HIGH at once, and the open
     * employment alert is escalated to HIGH under the same id */
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPLIED", P_HEAD, NULL, day + 5, -1, 0, "MZ1"), &f.hh, w,
                         &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 3);
    CU_ASSERT_STRING_EQUAL(out.v[1].rule_id, "dibao-tekun");
    CU_ASSERT_EQUAL(out.v[1].severity, TDM_SEVERITY_HIGH);
    CU_ASSERT_FALSE(out.v[1].escalation);
    const tdm_alert_out *a = &out.v[2];
    CU_ASSERT_TRUE(a->escalation);
    CU_ASSERT_EQUAL(a->kind, TDM_KIND_ALERT);
    CU_ASSERT_STRING_EQUAL(a->rule_id, "employment-loss");
    CU_ASSERT_EQUAL(a->severity, TDM_SEVERITY_HIGH);
    CU_ASSERT_STRING_EQUAL(a->alert_id, first);
    CU_ASSERT_EQUAL(a->raised_at, out.v[0].raised_at);
    CU_ASSERT_EQUAL(a->visit_due_date, out.v[0].visit_due_date);
    CU_ASSERT_PTR_NOT_NULL(strstr(a->message, "【高】"));
    const tdm_open_alert *oa = tdm_window_find_open(w, "employment-loss");
    CU_ASSERT_PTR_NOT_NULL_FATAL(oa);
    CU_ASSERT_STRING_EQUAL(oa->alert_id, first);
    CU_ASSERT_EQUAL(oa->severity, TDM_SEVERITY_HIGH);
    CU_ASSERT_EQUAL(oa->anchor_day, day);
    /* more hits while open: no new alert, no second escalation */
    CU_ASSERT_EQUAL(eval(TDM_DATASET_HUMAN_RESOURCES,
                         employment("PUBLIC_WELFARE_JOB_ENDED", P_WIFE, NULL, day + 6, "R3"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_HUMAN_RESOURCES,
                         employment("PUBLIC_WELFARE_JOB_ENDED", P_SON, NULL, day + 7, "R4"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(out.n, 3);
    tdm_alert_list_done(&out);
    tdm_window_free(w);
}

/* ---- arrival order (docs/matchd-design.md, "Arrival order and escalation") ---- */

/* One department record of a scenario. */
typedef struct trec {
    tdm_dataset ds;
    const char *type;       /* civil / employment event type */
    const char *person;
    int32_t day;
    int64_t amount;         /* medical: out of pocket; civil: -1 null */
    const char *id;
} trec;

static avro_value_t *trec_value(const trec *r)
{
    switch (r->ds) {
    case TDM_DATASET_MEDICAL_INSURANCE:
        return medical(r->person, NULL, r->day, r->amount, r->id);
    case TDM_DATASET_CIVIL_AFFAIRS:
        return civil(r->type, r->person, NULL, r->day, r->amount, 0, r->id);
    default:
        return employment(r->type, r->person, NULL, r->day, r->id);
    }
}

/* What a consumer keeping the latest message per alert id has, built as
 * tuodi-matchd builds it: an escalation is the stored ALERT escalated. */
#define FOLD_MAX 16
typedef struct fold {
    size_t n;
    char id[FOLD_MAX][TDM_ALERT_ID_MAX + 1];
    char *json[FOLD_MAX];
} fold;

static char *value_json(void)
{
    td_avro_buf json = TD_AVRO_BUF_INIT;
    td_error err = {0};
    CU_ASSERT_EQUAL_FATAL(td_avro_value_to_json(s_alert, &v_alert, &json, &err), 0);
    char *j = strndup((const char *)json.data, json.len);
    td_avro_buf_done(&json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    return j;
}

static void fold_add(fold *f, const tdm_alert_out *a)
{
    td_error err = {0};
    size_t i;
    for (i = 0; i < f->n && strcmp(f->id[i], a->alert_id) != 0; i++)
        ;
    if (a->escalation) {
        CU_ASSERT_FATAL(i < f->n); /* the original came first */
        from_json(s_alert, &v_alert, f->json[i]);
        CU_ASSERT_EQUAL_FATAL(tdm_alert_avro_escalate(&v_alert, a->severity, &err), 0);
    } else {
        CU_ASSERT_FATAL(i == f->n || a->kind != TDM_KIND_ALERT); /* a new id */
        CU_ASSERT_EQUAL_FATAL(tdm_alert_out_to_avro(a, INSTANCE, &v_alert, &err), 0);
    }
    if (i == f->n) {
        CU_ASSERT_FATAL(f->n < FOLD_MAX);
        snprintf(f->id[f->n++], sizeof(f->id[0]), "%s", a->alert_id);
    } else {
        free(f->json[i]);
    }
    f->json[i] = value_json();
}

/* Feeds recs[order[0..n)] to a new state of household hh; returns the
 * open alerts ("rule id severity" lines in rule order) and the folded
 * messages (by alert id), one string to compare. */
static char *run_order(const trec *recs, const int *order, size_t n, const tdm_household *hh)
{
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    fold f = {0};
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    for (size_t k = 0; k < n; k++) {
        const trec *r = &recs[order[k]];
        size_t n0 = out.n;
        CU_ASSERT_EQUAL_FATAL(eval(r->ds, trec_value(r), hh, w, &out), 0);
        for (size_t i = n0; i < out.n; i++)
            fold_add(&f, &out.v[i]);
    }
    size_t cap = 1 << 16, len = 0;
    char *res = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    res[0] = '\0';
    for (size_t i = 0;; i++) {
        const char *rule;
        const tdm_open_alert *oa = tdm_window_open_at(w, i, &rule);
        if (!oa)
            break;
        len += (size_t)snprintf(res + len, cap - len, "open %s %s %s\n", rule, oa->alert_id,
                                tdm_severity_symbol(oa->severity));
    }
    /* the fold in id order */
    for (size_t i = 0; i < f.n; i++) {
        size_t m = i;
        for (size_t k = i + 1; k < f.n; k++)
            if (strcmp(f.id[k], f.id[m]) < 0)
                m = k;
        len += (size_t)snprintf(res + len, cap - len, "%s %s\n", f.id[m], f.json[m]);
        free(f.json[m]);
        f.json[m] = f.json[i];
        memcpy(f.id[m], f.id[i], sizeof(f.id[0]));
    }
    CU_ASSERT_FATAL(len < cap);
    tdm_alert_list_done(&out);
    tdm_window_free(w);
    return res;
}

typedef char *(*run_fn)(const trec *recs, const int *order, size_t n, const tdm_household *hh);

/* Every permutation of n (<= 4) records gives the same result of run;
 * returns it. */
static char *every_order_of(run_fn run, const trec *recs, size_t n, const tdm_household *hh)
{
    int order[4] = {0, 1, 2, 3}, c[4] = {0};
    char *first = run(recs, order, n, hh);
    size_t runs = 1;
    /* Heap's algorithm */
    for (size_t i = 1; i < n;) {
        if (c[i] < (int)i) {
            int j = i % 2 ? c[i] : 0, t = order[j];
            order[j] = order[i];
            order[i] = t;
            char *got = run(recs, order, n, hh);
            runs++;
            if (strcmp(got, first) != 0)
                fprintf(stderr, "order %d%d%d%d differs:\n%s\nfirst:\n%s\n", order[0], order[1],
                        order[2], order[3], got, first);
            CU_ASSERT_STRING_EQUAL(got, first);
            free(got);
            c[i]++;
            i = 1;
        } else {
            c[i++] = 0;
        }
    }
    CU_ASSERT_EQUAL(runs, n == 4 ? 24 : n == 3 ? 6 : n == 2 ? 2 : 1);
    return first;
}

static char *every_order(const trec *recs, size_t n, const tdm_household *hh)
{
    return every_order_of(run_order, recs, n, hh);
}

static size_t count_of(const char *s, const char *sub)
{
    size_t n = 0;
    for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub))
        n++;
    return n;
}

/* Medical then civil and civil then medical: both alerts HIGH, under the ids
 * of their own severity, with the same folded messages. */
static void test_two_departments_both_orders(void)
{
    hh_fixture f;
    int32_t d = ymd(2023, 5, 8);
    make_hh(&f, TDM_R_HH_POVERTY_ALLEVIATED, TDM_MON_NOT_MONITORED, 100000);
    const trec recs[] = {
        {TDM_DATASET_MEDICAL_INSURANCE, NULL, P_HEAD, d, 900000, "JS1"},
        {TDM_DATASET_CIVIL_AFFAIRS, "DIBAO_APPLIED", P_WIFE, d + 30, -1, "MZ1"},
    };
    char *res = every_order(recs, 2, &f.hh);
    CU_ASSERT_EQUAL(count_of(res, "open "), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(res, "open dibao-tekun "));
    CU_ASSERT_PTR_NOT_NULL(strstr(res, "open medical-oop-365d "));
    CU_ASSERT_EQUAL(count_of(res, " HIGH\n"), 2);
    CU_ASSERT_EQUAL(count_of(res, "\"severity\":\"HIGH\""), 2);
    CU_ASSERT_EQUAL(count_of(res, "【高】"), 2);
    /* the folded messages keep their evidence and measure */
    CU_ASSERT_PTR_NOT_NULL(strstr(res, "\"record_id\":\"JS1\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(res, "\"record_id\":\"MZ1\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(res, "\"value\":900000"));
    /* the ids are those of the rules' own severity */
    tdm_alert_id_input in = {
        .rule_id = "dibao-tekun",
        .rule_version = tdm_rules_find(rules, "dibao-tekun")->version,
        .household_id = f.hh.household_id,
        .severity = tdm_rules_find(rules, "dibao-tekun")->severity,
        .dataset = "civil_affairs",
        .record_id = "MZ1",
    };
    char id[TDM_ALERT_ID_LEN + 1];
    CU_ASSERT_EQUAL_FATAL(tdm_alert_id(&in, id), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(res, id));
    free(res);
}

/* Three departments in all six orders: the same open alerts, ids,
 * severities and folded messages; the one far from the others (and only
 * it) keeps its own severity. */
static void test_three_departments_every_order(void)
{
    hh_fixture f;
    int32_t d = ymd(2023, 5, 8);
    make_hh(&f, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000);
    const trec near[] = {
        {TDM_DATASET_MEDICAL_INSURANCE, NULL, P_HEAD, d, 2500000, "JS1"},
        {TDM_DATASET_CIVIL_AFFAIRS, "DIBAO_APPLIED", P_WIFE, d + 60, -1, "MZ1"},
        {TDM_DATASET_HUMAN_RESOURCES, "UNEMPLOYMENT_REGISTERED", P_SON, d - 20, 0, "R1"},
    };
    char *res = every_order(near, 3, &f.hh);
    CU_ASSERT_EQUAL(count_of(res, "open "), 3);
    CU_ASSERT_EQUAL(count_of(res, " HIGH\n"), 3);
    free(res);

    const trec far[] = {
        {TDM_DATASET_MEDICAL_INSURANCE, NULL, P_HEAD, d, 2500000, "JS1"},
        {TDM_DATASET_CIVIL_AFFAIRS, "DIBAO_APPLIED", P_WIFE, d + 60, -1, "MZ1"},
        {TDM_DATASET_HUMAN_RESOURCES, "UNEMPLOYMENT_REGISTERED", P_SON, d + 200, 0, "R1"},
    };
    res = every_order(far, 3, &f.hh);
    CU_ASSERT_EQUAL(count_of(res, "open "), 3);
    CU_ASSERT_EQUAL(count_of(res, " HIGH\n"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(res, "open employment-loss "));
    CU_ASSERT_EQUAL(count_of(res, "\"severity\":\"LOW\""), 1);
    free(res);
}

/* A later hit of a rule whose alert is open, at a higher severity, makes no
 * new alert: the open one is escalated under its id. */
static void test_later_hit_escalates(void)
{
    hh_fixture f;
    int32_t d = ymd(2023, 5, 8);
    make_hh(&f, TDM_R_HH_POVERTY_ALLEVIATED, TDM_MON_NOT_MONITORED, 100000);
    /* medical over the threshold on d and again on d + 100; the civil signal
     * of d + 150 is 150 days from the first, 50 from the second */
    const trec recs[] = {
        {TDM_DATASET_MEDICAL_INSURANCE, NULL, P_HEAD, d, 900000, "JS1"},
        {TDM_DATASET_MEDICAL_INSURANCE, NULL, P_HEAD, d + 100, 10000, "JS2"},
        {TDM_DATASET_CIVIL_AFFAIRS, "DIBAO_APPLIED", P_WIFE, d + 150, -1, "MZ1"},
    };
    /* civil first, then the medical records in their order */
    const int civil_first[] = {2, 0, 1}, medical_first[] = {0, 1, 2}, between[] = {0, 2, 1};
    char *a = run_order(recs, civil_first, 3, &f.hh);
    char *b = run_order(recs, medical_first, 3, &f.hh);
    char *c = run_order(recs, between, 3, &f.hh);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT_STRING_EQUAL(a, c);
    CU_ASSERT_EQUAL(count_of(a, "open "), 2);
    CU_ASSERT_EQUAL(count_of(a, " HIGH\n"), 2);
    CU_ASSERT_PTR_NULL(strstr(a, "\"record_id\":\"JS2\"")); /* no alert of its own */
    CU_ASSERT_PTR_NOT_NULL(strstr(a, "\"record_id\":\"JS1\""));
    free(a);
    free(b);
    free(c);

    /* step by step: the second hit escalates the first alert, same id */
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    CU_ASSERT_EQUAL(eval(recs[0].ds, trec_value(&recs[0]), &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(eval(recs[2].ds, trec_value(&recs[2]), &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 2);
    CU_ASSERT_EQUAL(out.v[0].severity, TDM_SEVERITY_MEDIUM); /* 150 days: alone */
    CU_ASSERT_EQUAL(out.v[1].severity, TDM_SEVERITY_MEDIUM);
    CU_ASSERT_EQUAL(eval(recs[1].ds, trec_value(&recs[1]), &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 4);
    CU_ASSERT_TRUE(find_rule(&out, "medical-oop-365d") == &out.v[0]);
    for (size_t i = 2; i < 4; i++) {
        CU_ASSERT_TRUE(out.v[i].escalation);
        CU_ASSERT_EQUAL(out.v[i].severity, TDM_SEVERITY_HIGH);
        CU_ASSERT_STRING_EQUAL(out.v[i].alert_id,
                               strcmp(out.v[i].rule_id, "dibao-tekun") == 0 ? out.v[1].alert_id
                                                                            : out.v[0].alert_id);
    }
    tdm_alert_list_done(&out);
    tdm_window_free(w);
}

/* A late record sees an older signal of a department that signalled again
 * later (more than 90 days after the late record). */
static void test_late_record_sees_older_signal(void)
{
    hh_fixture f;
    int32_t d = ymd(2023, 9, 1);
    make_hh(&f, TDM_R_HH_POVERTY_ALLEVIATED, TDM_MON_NOT_MONITORED, 100000);
    const trec recs[] = {
        {TDM_DATASET_CIVIL_AFFAIRS, "DIBAO_APPLIED", P_WIFE, d - 200, -1, "MZ1"},
        {TDM_DATASET_CIVIL_AFFAIRS, "DIBAO_APPLIED", P_HEAD, d, -1, "MZ2"},
        {TDM_DATASET_MEDICAL_INSURANCE, NULL, P_HEAD, d - 190, 900000, "JS1"},
    };
    const int dated[] = {0, 2, 1}, late[] = {0, 1, 2}, first[] = {2, 0, 1};
    char *a = run_order(recs, dated, 3, &f.hh);
    char *b = run_order(recs, late, 3, &f.hh);
    char *c = run_order(recs, first, 3, &f.hh);
    CU_ASSERT_STRING_EQUAL(b, a);
    CU_ASSERT_STRING_EQUAL(c, a);
    CU_ASSERT_EQUAL(count_of(b, "open "), 2);
    CU_ASSERT_EQUAL(count_of(b, " HIGH\n"), 2);
    free(a);
    free(b);
    free(c);
}

/* ---- routing ---- */

/* ---- window rules in any arrival order ---- */

static int apply(avro_value_t *v, const tdm_household *hh, tdm_window *w, tdm_alert_list *out);

/* Feeds recs[order[0..n)] to a new state; returns every ALERT raised (id,
 * measure, raised_at, due dates; not the evidence, which is the record
 * whose arrival found the crossing) and the open alerts of the state (id,
 * anchor, severity), one string to compare. */
static char *run_window(const trec *recs, const int *order, size_t n, const tdm_household *hh)
{
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    size_t cap = 4096, len = 0;
    char *res = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    for (size_t k = 0; k < n; k++)
        CU_ASSERT_EQUAL_FATAL(eval(recs[order[k]].ds, trec_value(&recs[order[k]]), hh, w, &out),
                              0);
    for (size_t i = 0; i < out.n; i++) {
        const tdm_alert_out *a = &out.v[i];
        len += (size_t)snprintf(res + len, cap - len, "alert %s %s %s measure=%lld raised=%lld "
                                "due=%d/%d esc=%d\n", a->rule_id, a->alert_id,
                                tdm_severity_symbol(a->severity),
                                a->measure.present ? (long long)a->measure.value : -1LL,
                                (long long)a->raised_at, (int)a->visit_due_date,
                                (int)a->procedure_due_date, (int)a->escalation);
    }
    for (size_t i = 0;; i++) {
        const char *rule;
        const tdm_open_alert *oa = tdm_window_open_at(w, i, &rule);
        if (!oa)
            break;
        len += (size_t)snprintf(res + len, cap - len, "open %s %s anchor=%d %s\n", rule,
                                oa->alert_id, (int)oa->anchor_day,
                                tdm_severity_symbol(oa->severity));
    }
    CU_ASSERT_FATAL(len < cap);
    tdm_alert_list_done(&out);
    tdm_window_free(w);
    return res;
}

/* The window alert's id: of the crossing's end day and the count. */
static void window_alert_id(const tdm_household *hh, int32_t end, uint32_t seq,
                            char id[TDM_ALERT_ID_LEN + 1])
{
    const tdm_rule *r = tdm_rules_find(rules, "medical-oop-365d");
    tdm_alert_id_input in = {
        .rule_id = r->id,
        .rule_version = r->version,
        .household_id = hh->household_id,
        .severity = r->severity,
        .window_end_day = end,
        .seq = seq,
    };
    CU_ASSERT_EQUAL_FATAL(tdm_alert_id(&in, id), 0);
}

/* Threshold 5,000 yuan (a 脱贫户) over 365 days: 3,000 on day 10 and 3,000
 * on day 20 raise one alert whichever arrives first, with the same id,
 * window end (day 20) and measure (6,000). Before, B then A raised nothing:
 * A judged only the window ending on its own date. */
static void test_window_late_record_both_orders(void)
{
    hh_fixture f;
    int32_t d = ymd(2023, 5, 8);
    make_hh(&f, TDM_R_HH_POVERTY_ALLEVIATED, TDM_MON_NOT_MONITORED, 100000);
    const trec recs[] = {
        {TDM_DATASET_MEDICAL_INSURANCE, NULL, P_HEAD, d + 10, 300000, "JSA"},
        {TDM_DATASET_MEDICAL_INSURANCE, NULL, P_WIFE, d + 20, 300000, "JSB"},
    };
    char *res = every_order_of(run_window, recs, 2, &f.hh);
    char id[TDM_ALERT_ID_LEN + 1], want[256];
    window_alert_id(&f.hh, d + 20, 0, id);
    CU_ASSERT_EQUAL(count_of(res, "alert "), 1);
    snprintf(want, sizeof(want), "alert medical-oop-365d %s MEDIUM measure=600000 raised=%lld ",
             id, (long long)tdm_eval_cst_midnight_ms(d + 20));
    CU_ASSERT_PTR_NOT_NULL(strstr(res, want));
    snprintf(want, sizeof(want), "open medical-oop-365d %s anchor=%d MEDIUM\n", id, (int)(d + 20));
    CU_ASSERT_PTR_NOT_NULL(strstr(res, want));
    free(res);
}

/* Three records of two members over 30 days, only the first two together
 * over the threshold: all six orders give one alert, anchored on the day
 * the window first crossed it (day 10, 5,000), with the same id. */
static void test_window_three_records_every_order(void)
{
    hh_fixture f;
    int32_t d = ymd(2023, 5, 8);
    make_hh(&f, TDM_R_HH_POVERTY_ALLEVIATED, TDM_MON_NOT_MONITORED, 100000);
    const trec recs[] = {
        {TDM_DATASET_MEDICAL_INSURANCE, NULL, P_HEAD, d, 300000, "JSX"},
        {TDM_DATASET_MEDICAL_INSURANCE, NULL, P_WIFE, d + 10, 200000, "JSY"},
        {TDM_DATASET_MEDICAL_INSURANCE, NULL, P_HEAD, d + 30, 100000, "JSZ"},
    };
    char *res = every_order_of(run_window, recs, 3, &f.hh);
    char id[TDM_ALERT_ID_LEN + 1], want[256];
    window_alert_id(&f.hh, d + 10, 0, id);
    CU_ASSERT_EQUAL(count_of(res, "alert "), 1);
    CU_ASSERT_EQUAL(count_of(res, "open "), 1);
    snprintf(want, sizeof(want), "alert medical-oop-365d %s MEDIUM measure=500000 ", id);
    CU_ASSERT_PTR_NOT_NULL(strstr(res, want));
    snprintf(want, sizeof(want), "open medical-oop-365d %s anchor=%d MEDIUM\n", id, (int)(d + 10));
    CU_ASSERT_PTR_NOT_NULL(strstr(res, want));
    free(res);
}

/* The window rule's signals are the crossing windows' ends, so a late
 * record that completes a crossing signals as the in-order one did: the
 * state after A, B equals the state after B, A. */
static void test_window_state_order_free(void)
{
    hh_fixture f;
    int32_t d = ymd(2023, 5, 8);
    make_hh(&f, TDM_R_HH_POVERTY_ALLEVIATED, TDM_MON_NOT_MONITORED, 100000);
    tdm_window *ab = tdm_window_new(), *ba = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    CU_ASSERT_FATAL(ab && ba);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE, medical(P_HEAD, NULL, d, 300000, "A"),
                         &f.hh, ab, &out), 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE, medical(P_WIFE, NULL, d + 9, 300000, "B"),
                         &f.hh, ab, &out), 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE, medical(P_WIFE, NULL, d + 9, 300000, "B"),
                         &f.hh, ba, &out), 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE, medical(P_HEAD, NULL, d, 300000, "A"),
                         &f.hh, ba, &out), 0);
    CU_ASSERT_EQUAL(out.n, 2);
    CU_ASSERT_TRUE(tdm_window_equal(ab, ba));
    const int32_t *days = NULL;
    CU_ASSERT_EQUAL(tdm_window_signal_days(ba, "medical-oop-365d", &days), 1);
    CU_ASSERT(days && days[0] == d + 9);
    tdm_alert_list_done(&out);
    tdm_window_free(ab);
    tdm_window_free(ba);
}

/* Raised, closed without suppression, raised again on the same crossing
 * (a late record into the same window): a new id, never the closed one's. */
static void test_window_reraise_new_id(void)
{
    hh_fixture f;
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    int32_t d = ymd(2023, 5, 8);
    char first[TDM_ALERT_ID_MAX + 1], id[TDM_ALERT_ID_LEN + 1];
    make_hh(&f, TDM_R_HH_POVERTY_ALLEVIATED, TDM_MON_NOT_MONITORED, 100000);
    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE, medical(P_HEAD, NULL, d, 300000, "A"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE,
                         medical(P_WIFE, NULL, d + 10, 300000, "B"), &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    snprintf(first, sizeof(first), "%s", out.v[0].alert_id);
    window_alert_id(&f.hh, d + 10, 0, id);
    CU_ASSERT_STRING_EQUAL(first, id);
    CU_ASSERT_EQUAL(apply(outcome(first, "COULD_NOT_REACH", NULL, NULL, "王五", "赵六", d + 11,
                                  "V1"), &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 2);
    CU_ASSERT_PTR_NULL(tdm_window_find_open(w, "medical-oop-365d"));
    /* a late record on day 5 changes the windows ending on 5 (3,500) and 10
     * (6,500): the same crossing, raised again under the next count */
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE, medical(P_SON, NULL, d + 5, 50000, "C"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 3);
    CU_ASSERT_STRING_NOT_EQUAL(out.v[2].alert_id, first);
    window_alert_id(&f.hh, d + 10, 1, id);
    CU_ASSERT_STRING_EQUAL(out.v[2].alert_id, id);
    CU_ASSERT_EQUAL(out.v[2].measure.value, 650000);
    CU_ASSERT_STRING_EQUAL(out.v[2].evidence[0].src_record_id, "C");
    CU_ASSERT_EQUAL(tdm_window_find_open(w, "medical-oop-365d")->anchor_day, d + 10);
    CU_ASSERT_EQUAL(tdm_window_raised(w, "medical-oop-365d"), 2);
    tdm_alert_list_done(&out);
    tdm_window_free(w);
}

static void test_routing(void)
{
    hh_fixture f;
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    int32_t day = ymd(2023, 5, 8);
    make_hh(&f, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000);

    /* roster: the roster's village, whatever the record says */
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPLIED", P_HEAD, "110101001001", day, -1, 0, "MZ1"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT(out.v[0].route.routed);
    CU_ASSERT_STRING_EQUAL(out.v[0].route.topic, "tuodi.alerts.340421");
    CU_ASSERT_STRING_EQUAL(out.v[0].route.key, VILLAGE);
    CU_ASSERT_STRING_EQUAL(out.v[0].route.township_code, "340421100");
    tdm_window_free(w);

    /* not on the roster: the record's village */
    w = tdm_window_new();
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPLIED", P_HEAD, "340422100201", day, -1, 0, "MZ2"), NULL,
                         w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 2);
    CU_ASSERT_STRING_EQUAL(out.v[1].route.topic, "tuodi.alerts.340422");
    CU_ASSERT_STRING_EQUAL(out.v[1].route.key, "340422100201");
    tdm_window_free(w);

    /* not on the roster, no village (or a bad one): unrouted, keyed by id */
    w = tdm_window_new();
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPLIED", P_HEAD, NULL, day, -1, 0, "MZ3"), NULL, w, &out),
                    0);
    tdm_window_free(w);
    w = tdm_window_new();
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPLIED", P_HEAD, "3404", day, -1, 0, "MZ4"), NULL, w,
                         &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 4);
    for (size_t i = 2; i < 4; i++) {
        CU_ASSERT(!out.v[i].route.routed);
        CU_ASSERT_STRING_EQUAL(out.v[i].route.topic, "tuodi.alerts.unrouted");
        CU_ASSERT_STRING_EQUAL(out.v[i].route.key, out.v[i].alert_id);
        CU_ASSERT_STRING_EQUAL(out.v[i].route.village_code, "");
    }
    tdm_window_free(w);
    tdm_alert_list_done(&out);
}

/* ---- outcomes ---- */

static int apply(avro_value_t *v, const tdm_household *hh, tdm_window *w, tdm_alert_list *out)
{
    td_error err = {0};
    return tdm_eval_outcome(&ctx, v, hh, NULL, w, out, &err);
}

static size_t encoded_size(const tdm_window *w)
{
    return tdm_window_encoded_size(w);
}

static void test_two_person_rule(void)
{
    hh_fixture f;
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    int32_t day = ymd(2023, 5, 8);
    make_hh(&f, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPLIED", P_HEAD, NULL, day, -1, 0, "MZ1"), &f.hh, w,
                         &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    char id[TDM_ALERT_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", out.v[0].alert_id);
    tdm_window *before = tdm_window_copy(w);

    CU_ASSERT_EQUAL(apply(outcome(id, "COULD_NOT_REACH", NULL, NULL, "王五", "王五", day + 1,
                                  "V1"), &f.hh, w, &out), -EPERM);
    CU_ASSERT_EQUAL(apply(outcome(id, "COULD_NOT_REACH", NULL, NULL, "王五", " 王五 ", day + 1,
                                  "V2"), &f.hh, w, &out), -EPERM);
    CU_ASSERT_EQUAL(apply(outcome(id, "COULD_NOT_REACH", NULL, NULL, "王五", "  ", day + 1,
                                  "V3"), &f.hh, w, &out), -EPERM);
    CU_ASSERT_EQUAL(apply(outcome(id, "COULD_NOT_REACH", NULL, NULL, "", "赵六", day + 1, "V4"),
                          &f.hh, w, &out), -EPERM);
    /* required fields of the outcome */
    CU_ASSERT_EQUAL(apply(outcome(id, "DISMISSED", NULL, NULL, "王五", "赵六", day + 1, "V5"),
                          &f.hh, w, &out), -EINVAL);
    CU_ASSERT_EQUAL(apply(outcome(id, "IDENTIFIED_AS_MONITORING_OBJECT", NULL, NULL, "王五",
                                  "赵六", day + 1, "V6"), &f.hh, w, &out), -EINVAL);
    /* "department data is wrong" closes suspects, never an alert (issue 14) */
    {
        td_error err = {0};
        CU_ASSERT_EQUAL(tdm_eval_outcome(&ctx, outcome(id, "DEPARTMENT_DATA_WRONG", NULL,
                                                       "民政数据有误", "王五", "赵六", day + 1,
                                                       "V8"), &f.hh, NULL, w, &out, &err),
                        -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "DEPARTMENT_DATA_WRONG is for suspects"));
    }
    /* unknown alert */
    CU_ASSERT_EQUAL(apply(outcome("nope", "COULD_NOT_REACH", NULL, NULL, "王五", "赵六", day + 1,
                                  "V7"), &f.hh, w, &out), -ENOENT);
    CU_ASSERT_EQUAL(out.n, 1);
    CU_ASSERT(tdm_window_equal(before, w));
    CU_ASSERT(encoded_size(before) == encoded_size(w));
    tdm_window_free(before);
    tdm_window_free(w);
    tdm_alert_list_done(&out);
}

static void test_outcome_dismissed_suppresses(void)
{
    hh_fixture f;
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    int32_t day = ymd(2023, 5, 8);
    make_hh(&f, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPLIED", P_HEAD, NULL, day, -1, 0, "MZ1"), &f.hh, w,
                         &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    char id[TDM_ALERT_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", out.v[0].alert_id);

    CU_ASSERT_EQUAL(apply(outcome(id, "DISMISSED", NULL, "收入稳定", "王五", "赵六", day + 1,
                                  "V1"), &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 2);
    const tdm_alert_out *c = &out.v[1];
    CU_ASSERT_EQUAL(c->kind, TDM_KIND_CLOSED);
    CU_ASSERT_STRING_EQUAL(c->alert_id, id);
    CU_ASSERT(c->has_closure);
    CU_ASSERT_EQUAL(c->closure.outcome, TDM_OUTCOME_DISMISSED);
    CU_ASSERT_STRING_EQUAL(c->closure.reason, "收入稳定");
    CU_ASSERT_STRING_EQUAL(c->closure.outcome_id, "V1");
    CU_ASSERT_STRING_EQUAL(c->route.topic, "tuodi.alerts.340421");
    CU_ASSERT_STRING_EQUAL(c->route.key, VILLAGE);
    CU_ASSERT_EQUAL(c->visit_due_date, out.v[0].visit_due_date);
    CU_ASSERT_PTR_NULL(tdm_window_find_open(w, "dibao-tekun"));
    /* closed: a second outcome is rejected */
    CU_ASSERT_EQUAL(apply(outcome(id, "DISMISSED", NULL, "收入稳定", "王五", "赵六", day + 2,
                                  "V2"), &f.hh, w, &out), -ENOENT);
    /* dismissed on day+1: suppressed through day+90, free on day+91 */
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPROVED", P_HEAD, NULL, day + 90, -1, 0, "MZ2"), &f.hh, w,
                         &out), 0);
    CU_ASSERT_EQUAL(out.n, 2);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPROVED", P_HEAD, NULL, day + 91, -1, 0, "MZ3"), &f.hh, w,
                         &out), 0);
    CU_ASSERT_EQUAL(out.n, 3);
    tdm_window_free(w);
    tdm_alert_list_done(&out);
}

static void test_outcome_identified_no_suppression(void)
{
    hh_fixture f;
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    int32_t day = ymd(2023, 5, 8);
    make_hh(&f, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPLIED", P_HEAD, NULL, day, -1, 0, "MZ1"), &f.hh, w,
                         &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    char id[TDM_ALERT_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", out.v[0].alert_id);
    CU_ASSERT_EQUAL(apply(outcome(id, "IDENTIFIED_AS_MONITORING_OBJECT", "MARGINAL", NULL, "王五",
                                  "赵六", day + 1, "V1"), &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 2);
    CU_ASSERT_EQUAL(out.v[1].closure.category, TDM_CATEGORY_MARGINAL);
    CU_ASSERT_EQUAL(out.v[1].raised_at, tdm_eval_cst_midnight_ms(day + 1) + 10 * 3600000);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPROVED", P_HEAD, NULL, day + 2, -1, 0, "MZ2"), &f.hh, w,
                         &out), 0);
    CU_ASSERT_EQUAL(out.n, 3);
    tdm_window_free(w);
    tdm_alert_list_done(&out);
}

/* ---- overdue ---- */

static void test_overdue_once(void)
{
    hh_fixture f;
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    td_error err = {0};
    int32_t mon = ymd(2023, 5, 8); /* a Monday: visit due Wednesday 05-10 */
    make_hh(&f, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPLIED", P_HEAD, NULL, mon, -1, 0, "MZ1"), &f.hh, w,
                         &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT_EQUAL(out.v[0].visit_due_date, ymd(2023, 5, 10));
    tdm_alert_list_reset(&out);

    CU_ASSERT_EQUAL(tdm_eval_overdue(&ctx, w, ymd(2023, 5, 10), &f.hh, NULL, &out, &err), 0);
    CU_ASSERT_EQUAL(out.n, 0);
    CU_ASSERT_EQUAL(tdm_eval_overdue(&ctx, w, ymd(2023, 5, 11), &f.hh, NULL, &out, &err), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT_EQUAL(out.v[0].kind, TDM_KIND_OVERDUE_WARNING);
    CU_ASSERT_STRING_EQUAL(out.v[0].rule_id, "dibao-tekun");
    CU_ASSERT_STRING_EQUAL(out.v[0].route.topic, "tuodi.alerts.340421");
    CU_ASSERT_EQUAL(out.v[0].raised_at, tdm_eval_cst_midnight_ms(ymd(2023, 5, 11)));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.v[0].message, "逾期"));
    CU_ASSERT_EQUAL(tdm_eval_overdue(&ctx, w, ymd(2023, 5, 12), &f.hh, NULL, &out, &err), 0);
    CU_ASSERT_EQUAL(tdm_eval_overdue(&ctx, w, ymd(2023, 6, 30), &f.hh, NULL, &out, &err), 0);
    CU_ASSERT_EQUAL(out.n, 1);
    /* an outcome still closes a warned alert */
    CU_ASSERT_EQUAL(apply(outcome(out.v[0].alert_id, "COULD_NOT_REACH", NULL, NULL, "王五",
                                  "赵六", ymd(2023, 5, 12), "V1"), &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(tdm_eval_overdue(&ctx, w, ymd(2023, 7, 1), &f.hh, NULL, &out, &err), 0);
    CU_ASSERT_EQUAL(out.n, 2);
    tdm_window_free(w);
    tdm_alert_list_done(&out);
}

/* ---- Alert encoding and determinism ---- */

/* Runs a fixed scenario into fresh states; encodes every alert (appending the
 * bytes to *bytes) and the final states. */
static void scenario(td_avro_buf *all)
{
    hh_fixture f;
    tdm_window *w = tdm_window_new(), *lone = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    td_error err = {0};
    td_avro_buf b = TD_AVRO_BUF_INIT;
    int32_t day = ymd(2023, 5, 8);
    make_hh(&f, TDM_R_HH_POVERTY_ALLEVIATED, TDM_MON_NOT_MONITORED, 20000);

    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE, medical(P_HEAD, NULL, day, 600000, "J1"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("TEMP_ASSISTANCE_GRANTED", P_WIFE, NULL, day + 3, 150000, 0, "M1"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DISABILITY_CERTIFIED", P_HEAD, VILLAGE, day, -1, 1, "M2"), NULL,
                         lone, &out), 0);
    CU_ASSERT_EQUAL(tdm_eval_household(&ctx, &f.hh, &COORDS, w, &out, &err), 0);
    CU_ASSERT_EQUAL(tdm_eval_overdue(&ctx, w, day + 30, &f.hh, NULL, &out, &err), 0);
    CU_ASSERT(out.n >= 5);
    CU_ASSERT_EQUAL(apply(outcome(out.v[0].alert_id, "ALREADY_MONITORED", NULL, NULL, "王五",
                                  "赵六", day + 31, "V1"), &f.hh, w, &out), 0);

    all->len = 0;
    for (size_t i = 0; i < out.n; i++) {
        int rc = tdm_alert_out_to_avro(&out.v[i], INSTANCE, &v_alert, &err);
        if (rc < 0)
            fprintf(stderr, "%s\n", err.msg);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        rc = td_avro_encode(s_alert, &v_alert, &b, &err);
        if (rc < 0)
            fprintf(stderr, "%s\n", err.msg);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        CU_ASSERT_EQUAL_FATAL(td_avro_buf_reserve(all, all->len + b.len), 0);
        memcpy(all->data + all->len, b.data, b.len);
        all->len += b.len;
    }
    /* and the states */
    tdm_window *states[2] = {w, lone};
    for (size_t i = 0; i < 2; i++) {
        size_t n = tdm_window_encoded_size(states[i]);
        CU_ASSERT_EQUAL_FATAL(td_avro_buf_reserve(all, all->len + n), 0);
        CU_ASSERT_EQUAL(tdm_window_encode(states[i], all->data + all->len, n), 0);
        all->len += n;
    }
    td_avro_buf_done(&b);
    tdm_alert_list_done(&out);
    tdm_window_free(w);
    tdm_window_free(lone);
}

static void test_deterministic_encoding(void)
{
    td_avro_buf a = TD_AVRO_BUF_INIT, b = TD_AVRO_BUF_INIT;
    scenario(&a);
    scenario(&b);
    CU_ASSERT(a.len > 0);
    CU_ASSERT_EQUAL_FATAL(a.len, b.len);
    CU_ASSERT(memcmp(a.data, b.data, a.len) == 0);
    td_avro_buf_done(&a);
    td_avro_buf_done(&b);
}

static void test_alert_round_trip(void)
{
    hh_fixture f;
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    td_error err = {0};
    td_avro_buf b = TD_AVRO_BUF_INIT, json = TD_AVRO_BUF_INIT;
    make_hh(&f, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("TEMP_ASSISTANCE_GRANTED", P_WIFE, NULL, ymd(2023, 5, 8), 100000,
                               0, "MZ9"), &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT_EQUAL_FATAL(tdm_alert_out_to_avro(&out.v[0], INSTANCE, &v_alert, &err), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_encode(s_alert, &v_alert, &b, &err), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_value_to_json(s_alert, &v_alert, &json, &err), 0);
    const char *j = (const char *)json.data;
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"kind\":\"ALERT\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"rule_id\":\"temp-assistance\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"record_id\":\"MZ9\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"location\":{\"string\":\"mz.csv\"}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"comparison\":\"GE\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"connector_instance\":\"" INSTANCE "\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"risk_code\":{\"string\":\"05\"}"));
    /* the message never holds an identity number */
    CU_ASSERT_PTR_NULL(strstr(out.v[0].message, P_WIFE));
    td_avro_buf_done(&b);
    td_avro_buf_done(&json);
    tdm_alert_list_done(&out);
    tdm_window_free(w);
}

static void test_bad_record(void)
{
    tdm_window *w = tdm_window_new();
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    td_error err = {0};
    /* a civil value given as a medical record */
    avro_value_t *v = civil("DIBAO_APPLIED", P_HEAD, NULL, ymd(2023, 5, 8), -1, 0, "X");
    CU_ASSERT_EQUAL(tdm_eval_record(&ctx, TDM_DATASET_MEDICAL_INSURANCE, v, &COORDS, NULL, w,
                                    &out, &err), -EINVAL);
    CU_ASSERT_EQUAL(tdm_eval_record(&ctx, TDM_DATASET_HOUSEHOLD, v, &COORDS, NULL, w, &out, &err),
                    -EINVAL);
    CU_ASSERT_EQUAL(out.n, 0);
    tdm_alert_list_done(&out);
    tdm_window_free(w);
}

/* ---- old records and the push day (docs/matchd-design.md, "Old records") ---- */

/* The stream clock of the following tests: Wednesday 2026-03-04. */
static int32_t clock_on(int max_age)
{
    ctx.today = ymd(2026, 3, 4);
    ctx.max_event_age = max_age;
    return ctx.today;
}

static void clock_off(void)
{
    ctx.today = 0;
    ctx.max_event_age = 0;
}

/* An event exactly max_event_age days old alerts; one day more is held back
 * (counted), but still signals: a later event of another department within
 * 90 days of it is HIGH. */
static void test_old_event_boundary(void)
{
    hh_fixture f;
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    int32_t today = clock_on(90);
    make_hh(&f, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000);

    tdm_window *w = tdm_window_new();
    CU_ASSERT(!tdm_eval_is_old(&ctx, today - 90));
    CU_ASSERT(tdm_eval_is_old(&ctx, today - 91));
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPLIED", P_HEAD, NULL, today - 90, -1, 0, "MZ1"), &f.hh, w,
                         &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT_STRING_EQUAL(out.v[0].rule_id, "dibao-tekun");
    CU_ASSERT_EQUAL(out.held_back, 0);
    tdm_window_free(w);
    tdm_alert_list_reset(&out);

    w = tdm_window_new();
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPLIED", P_HEAD, NULL, today - 91, -1, 0, "MZ1"), &f.hh, w,
                         &out), 0);
    CU_ASSERT_EQUAL(out.n, 0);
    CU_ASSERT_EQUAL(out.held_back, 1);
    /* the held-back event still signals: 88 days later, another department */
    CU_ASSERT_EQUAL(eval(TDM_DATASET_HUMAN_RESOURCES,
                         employment("UNEMPLOYMENT_REGISTERED", P_WIFE, NULL, today - 3, "R1"),
                         &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT_STRING_EQUAL(out.v[0].rule_id, "employment-loss");
    CU_ASSERT_EQUAL(out.v[0].severity, TDM_SEVERITY_HIGH);
    CU_ASSERT_EQUAL(out.held_back, 1);
    /* an old record that matches no rule is not counted */
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_CANCELLED", P_HEAD, NULL, today - 300, -1, 0, "MZ2"), &f.hh,
                         w, &out), 0);
    CU_ASSERT_EQUAL(out.held_back, 1);
    tdm_window_free(w);
    tdm_alert_list_done(&out);
    clock_off();
}

/* A window rule on old records judges the window as it stands on the stream
 * clock's day: records loaded newest first still raise the household over
 * the threshold now; spending that was over the threshold once but is not
 * now raises nothing. */
static void test_old_window_as_it_stands(void)
{
    hh_fixture f;
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    int32_t today = clock_on(30);
    make_hh(&f, TDM_R_HH_POVERTY_ALLEVIATED, TDM_MON_NOT_MONITORED, 100000);

    /* over 5,000 now: 2,500 at -100 then 3,000 at -200 (file order) */
    tdm_window *w = tdm_window_new();
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE,
                         medical(P_HEAD, NULL, today - 100, 250000, "JS1"), &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(out.n, 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE,
                         medical(P_WIFE, NULL, today - 200, 300000, "JS2"), &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT_STRING_EQUAL(out.v[0].rule_id, "medical-oop-365d");
    CU_ASSERT_EQUAL(out.v[0].measure.value, 550000);
    CU_ASSERT_EQUAL(out.v[0].raised_at, tdm_eval_cst_midnight_ms(today));
    CU_ASSERT_EQUAL(out.v[0].evidence[0].event_date, today - 200);
    CU_ASSERT_EQUAL(out.held_back, 0);
    tdm_window_free(w);
    tdm_alert_list_reset(&out);

    /* over 5,000 once (3,000 at -400 and 2,500 at -100 are 300 days apart)
     * but only 2,500 in the 365 days to today: nothing */
    w = tdm_window_new();
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE,
                         medical(P_HEAD, NULL, today - 400, 300000, "JS3"), &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(eval(TDM_DATASET_MEDICAL_INSURANCE,
                         medical(P_WIFE, NULL, today - 100, 250000, "JS4"), &f.hh, w, &out), 0);
    CU_ASSERT_EQUAL(out.n, 0);
    tdm_window_free(w);
    tdm_alert_list_done(&out);
    clock_off();
}

/* Due dates count from the push day (the stream clock's), not from the
 * event date; raised_at is the push day; no alert is born overdue. */
static void test_due_from_push_day(void)
{
    hh_fixture f;
    tdm_alert_list out = TDM_ALERT_LIST_INIT;
    td_error err = {0};
    int32_t today = clock_on(365);
    make_hh(&f, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 100000);

    tdm_window *w = tdm_window_new();
    CU_ASSERT_EQUAL(eval(TDM_DATASET_CIVIL_AFFAIRS,
                         civil("DIBAO_APPLIED", P_HEAD, NULL, today - 200, -1, 0, "MZ1"), &f.hh, w,
                         &out), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT_EQUAL(out.v[0].raised_at, tdm_eval_cst_midnight_ms(today));
    CU_ASSERT_EQUAL(out.v[0].visit_due_date, ymd(2026, 3, 6));   /* Wed + 2: Fri */
    CU_ASSERT_EQUAL(out.v[0].procedure_due_date, ymd(2026, 4, 1)); /* + 20 */
    CU_ASSERT_EQUAL(out.v[0].evidence[0].event_date, today - 200);
    /* the income rule too: updated_at 2023-03-01, raised today */
    hh_fixture poor;
    make_hh(&poor, TDM_R_HH_ORDINARY, TDM_MON_NOT_MONITORED, 15000);
    CU_ASSERT_EQUAL(tdm_eval_household(&ctx, &poor.hh, &COORDS, w, &out, &err), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 2);
    CU_ASSERT_STRING_EQUAL(out.v[1].rule_id, "income-below-line");
    CU_ASSERT_EQUAL(out.v[1].raised_at, tdm_eval_cst_midnight_ms(today));
    CU_ASSERT_EQUAL(out.v[1].visit_due_date, ymd(2026, 3, 6));
    tdm_alert_list_reset(&out);
    /* not born overdue: nothing on the push day nor the due day itself */
    CU_ASSERT_EQUAL(tdm_eval_overdue(&ctx, w, today, &f.hh, NULL, &out, &err), 0);
    CU_ASSERT_EQUAL(tdm_eval_overdue(&ctx, w, ymd(2026, 3, 6), &f.hh, NULL, &out, &err), 0);
    CU_ASSERT_EQUAL(out.n, 0);
    CU_ASSERT_EQUAL(tdm_eval_overdue(&ctx, w, ymd(2026, 3, 7), &f.hh, NULL, &out, &err), 0);
    CU_ASSERT_EQUAL(out.n, 2);
    tdm_window_free(w);
    tdm_alert_list_done(&out);
    clock_off();
}

static void add_suites(void)
{
    td_test_suite("rules", setup, teardown);
    TD_TEST(test_medical_alleviated_5000);
    TD_TEST(test_medical_monitored_5000);
    TD_TEST(test_medical_ordinary_20000);
    TD_TEST(test_medical_half_income);
    TD_TEST(test_medical_category);
    TD_TEST(test_medical_leaves_window);
    TD_TEST(test_medical_not_on_roster);
    TD_TEST(test_dibao_tekun);
    TD_TEST(test_temp_assistance_1000);
    TD_TEST(test_disability_grade);
    TD_TEST(test_working_age_death);
    TD_TEST(test_employment_age);
    TD_TEST(test_two_departments);
    TD_TEST(test_income_below_line);
    TD_TEST(test_suppression_and_escalation);
    TD_TEST(test_two_departments_both_orders);
    TD_TEST(test_three_departments_every_order);
    TD_TEST(test_later_hit_escalates);
    TD_TEST(test_late_record_sees_older_signal);
    TD_TEST(test_window_late_record_both_orders);
    TD_TEST(test_window_three_records_every_order);
    TD_TEST(test_window_state_order_free);
    TD_TEST(test_window_reraise_new_id);
    TD_TEST(test_routing);
    TD_TEST(test_two_person_rule);
    TD_TEST(test_outcome_dismissed_suppresses);
    TD_TEST(test_outcome_identified_no_suppression);
    TD_TEST(test_overdue_once);
    TD_TEST(test_deterministic_encoding);
    TD_TEST(test_alert_round_trip);
    TD_TEST(test_bad_record);
    TD_TEST(test_old_event_boundary);
    TD_TEST(test_old_window_as_it_stands);
    TD_TEST(test_due_from_push_day);
}

TD_TEST_MAIN(add_suites)
