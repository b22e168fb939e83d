/* Tests of tdm_suspect (the suspicious-data list, issue 14) against the
 * shipped rules (deploy/rules/huainan-2023.yaml: grace_days 30 for the
 * department facts, tolerance 0) and the real schemas. For each check: one
 * case just inside and one just outside its condition; raised once; resolved
 * by a corrected roster or a department record; a new contradiction after a
 * resolution gets a new id; ids across a replay from encoded state;
 * DEPARTMENT_DATA_WRONG; outcome rejections; the bytes; the Avro value. */

#include "tdm_roster.h"

#include "tdm_suspect.h"

#include "tdm_calendar.h"

#include "td_date.h"
#include "td_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VILLAGE "340421100201"
#define INSTANCE "tuodi-matchd@test"
#define HH_ID "3404211002010001"

/* Strings compared with NULL allowed (a NULL equals nothing). */
static bool str_eq(const char *a, const char *b)
{
    if (!a || !b) {
        printf("\n    a NULL string where \"%s\" was expected\n", a ? a : b ? b : "");
        return false;
    }
    if (strcmp(a, b) != 0) {
        printf("\n    \"%s\" != \"%s\"\n", a, b);
        return false;
    }
    return true;
}
#define CU_ASSERT_STR_EQ(a, b) CU_ASSERT(str_eq((a), (b)))
static bool str_ne(const char *a, const char *b)
{
    return a && b && strcmp(a, b) != 0;
}
#define CU_ASSERT_STR_NE(a, b) CU_ASSERT(str_ne((a), (b)))
/* p must not be NULL: the test stops here otherwise. */
#define NEED(p)                                                                                \
    do {                                                                                       \
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);                                                       \
        if (!(p))                                                                              \
            return;                                                                            \
    } while (0)

static tdm_rules *rules;
static td_avro_registry *reg;
static const td_avro_schema *s_civil, *s_emp, *s_outcome, *s_suspect;
static avro_value_t v_civil, v_emp, v_outcome, v_suspect;
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
    s_civil = td_avro_registry_find_name(reg, "cn.tuodi.CivilAffairsEvent");
    s_emp = td_avro_registry_find_name(reg, "cn.tuodi.EmploymentEvent");
    s_outcome = td_avro_registry_find_name(reg, "cn.tuodi.VerificationOutcome");
    s_suspect = td_avro_registry_find_name(reg, "cn.tuodi.Suspect");
    if (!s_civil || !s_emp || !s_outcome || !s_suspect)
        return -1;
    if (td_avro_schema_value_new(s_civil, &v_civil, &err) < 0 ||
        td_avro_schema_value_new(s_emp, &v_emp, &err) < 0 ||
        td_avro_schema_value_new(s_outcome, &v_outcome, &err) < 0 ||
        td_avro_schema_value_new(s_suspect, &v_suspect, &err) < 0)
        return -1;
    ctx.rules = rules;
    ctx.calendar = NULL;
    ctx.instance = INSTANCE;
    return 0;
}

static int teardown(void)
{
    avro_value_decref(&v_civil);
    avro_value_decref(&v_emp);
    avro_value_decref(&v_outcome);
    avro_value_decref(&v_suspect);
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

static void from_json(const td_avro_schema *s, avro_value_t *v, const char *json)
{
    td_error err = {0};
    int rc = td_avro_value_from_json(s, json, strlen(json), v, &err);
    if (rc < 0)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

/* ---- records ---- */

/* amount < 0: null; grade 0: null */
static avro_value_t *civil(const char *type, const char *person, int32_t day, int64_t amount,
                           int grade, const char *record_id)
{
    char json[2048], d[TD_AVRO_DATE_BUFSZ], am[64], gr[64];
    CU_ASSERT_EQUAL_FATAL(td_avro_date_format(day, d), 0);
    if (amount < 0)
        snprintf(am, sizeof(am), "null");
    else
        snprintf(am, sizeof(am), "{\"long\":%lld}", (long long)amount);
    if (grade <= 0)
        snprintf(gr, sizeof(gr), "null");
    else
        snprintf(gr, sizeof(gr), "{\"int\":%d}", grade);
    snprintf(json, sizeof(json),
             "{\"event_type\":\"%s\",\"person_key\":\"%s\",\"name\":null,\"village_code\":null,"
             "\"event_date\":\"%s\",\"amount_fen\":%s,\"disability_grade\":%s,"
             "\"source\":{\"department\":\"CIVIL_AFFAIRS\",\"connector_instance\":\"civil\","
             "\"record_id\":\"%s\",\"location\":{\"string\":\"mz.csv\"},\"row\":{\"long\":7}}}",
             type, person, d, am, gr, record_id);
    from_json(s_civil, &v_civil, json);
    return &v_civil;
}

static avro_value_t *employment(const char *type, const char *person, int32_t day,
                                const char *record_id)
{
    char json[2048], d[TD_AVRO_DATE_BUFSZ];
    CU_ASSERT_EQUAL_FATAL(td_avro_date_format(day, d), 0);
    snprintf(json, sizeof(json),
             "{\"event_type\":\"%s\",\"person_key\":\"%s\",\"name\":null,\"village_code\":null,"
             "\"event_date\":\"%s\",\"months_worked_away\":null,"
             "\"source\":{\"department\":\"HUMAN_RESOURCES\",\"connector_instance\":\"hr\","
             "\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             type, person, d, record_id);
    from_json(s_emp, &v_emp, json);
    return &v_emp;
}

/* reason NULL: null */
static avro_value_t *outcome(const char *id, const char *result, const char *reason,
                             const char *verifier, const char *reviewer, int32_t day,
                             const char *record_id)
{
    char json[2048], d[TD_AVRO_DATE_BUFSZ], rs[256];
    CU_ASSERT_EQUAL_FATAL(td_avro_date_format(day, d), 0);
    if (reason)
        snprintf(rs, sizeof(rs), "{\"string\":\"%s\"}", reason);
    else
        snprintf(rs, sizeof(rs), "null");
    snprintf(json, sizeof(json),
             "{\"alert_id\":\"%s\",\"outcome\":\"%s\",\"category\":null,\"reason\":%s,"
             "\"verifier\":\"%s\",\"reviewer\":\"%s\",\"visit_date\":\"%s\","
             "\"recorded_at\":\"%sT02:00:00Z\",\"source\":{\"department\":"
             "\"RURAL_REVITALIZATION\",\"connector_instance\":\"tuodictl\",\"record_id\":"
             "\"%s\",\"location\":null,\"row\":null}}",
             id, result, rs, verifier, reviewer, d, d, record_id);
    from_json(s_outcome, &v_outcome, json);
    return &v_outcome;
}

/* ---- the household and the test's world ---- */

#define P_HEAD "340421198001010011"
#define P_WIFE "340421198203030022"
#define P_SON "340421200505050033"

static const tdm_coords ROSTER = {"tuodi.roster.households", 0, 100};

typedef struct world {
    tdm_member members[3];
    tdm_household hh;
    tdm_suspects *s;
    tdm_suspect_list out;
    int64_t offset;             /* of the next department record */
    tdm_coords coords;
    tdm_suspect_trigger trigger;
} world;

static void world_init(world *w)
{
    memset(w, 0, sizeof(*w));
    w->members[0] = (tdm_member){P_HEAD, "张三", ymd(1980, 1, 1), TDM_REL_HEAD,
                                 TDM_R_LABOUR_NORMAL, 0, 0, TDM_SEX_UNSAID, TDM_SEX_UNSAID,
                                 false, 0, -1};
    w->members[1] = (tdm_member){P_WIFE, "李四", ymd(1982, 3, 3), TDM_REL_SPOUSE,
                                 TDM_R_LABOUR_WEAK, 0, 0, TDM_SEX_UNSAID, TDM_SEX_UNSAID,
                                 false, 0, -1};
    w->members[2] = (tdm_member){P_SON, "张小", ymd(2005, 5, 5), TDM_REL_CHILD,
                                 TDM_R_LABOUR_SKILLED, 0, 1, TDM_SEX_UNSAID, TDM_SEX_UNSAID,
                                 false, 0, -1};
    w->hh.household_id = HH_ID;
    w->hh.village_code = VILLAGE;
    memcpy(w->hh.county, VILLAGE, 6);
    memcpy(w->hh.township, VILLAGE, 9);
    w->hh.grid_id = "G01";
    w->hh.type = TDM_R_HH_POVERTY_ALLEVIATED;
    w->hh.monitoring = TDM_MON_NOT_MONITORED;
    w->hh.category = TDM_CAT_NONE;
    w->hh.has_income = true;
    w->hh.income_year = 2023;
    w->hh.income_annual_fen = 1200000;
    w->hh.income_per_capita_fen = 400000;
    w->hh.household_size = 3;
    w->hh.members = w->members;
    w->hh.nmembers = 3;
    w->hh.head_name = "张三";
    w->hh.updated_at = tdm_eval_cst_midnight_ms(ymd(2023, 3, 1));
    w->hh.dibao = -1;
    w->hh.tekun = -1;
    w->s = tdm_suspects_new();
    w->offset = 1000;
    CU_ASSERT_PTR_NOT_NULL_FATAL(w->s);
}

static void world_done(world *w)
{
    tdm_suspects_free(w->s);
    tdm_suspect_list_done(&w->out);
}

/* Notes a department record (at the next offset of its topic). */
static void note(world *w, tdm_dataset ds, avro_value_t *v)
{
    td_error err = {0};
    bool changed = false;
    w->coords = (tdm_coords){ds == TDM_DATASET_CIVIL_AFFAIRS ? "tuodi.civil_affairs.events"
                                                             : "tuodi.human_resources.events",
                             1, w->offset++};
    int rc = tdm_suspects_note_record(w->s, ds, v, &w->coords, &changed, &err);
    if (rc < 0)
        fprintf(stderr, "note: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_TRUE(changed);
}

/* A roster export of the household (updated_at moves to day). */
static void roster_update(world *w, int32_t day)
{
    w->hh.updated_at = tdm_eval_cst_midnight_ms(day);
}

/* Evaluates as of today, triggered by the roster record; returns how many
 * messages it appended (out is reset first). */
static size_t eval_roster(world *w, int32_t today)
{
    td_error err = {0};
    tdm_suspect_list_reset(&w->out);
    w->trigger = (tdm_suspect_trigger){TDM_DATASET_HOUSEHOLD, &ROSTER, NULL, w->hh.updated_at};
    int rc = tdm_suspects_eval(&ctx, &w->hh, NULL, today, &w->trigger, w->s, &w->out, &err);
    if (rc < 0)
        fprintf(stderr, "eval: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return w->out.n;
}

/* Evaluates triggered by the department record just noted (v). */
static size_t eval_record(world *w, tdm_dataset ds, avro_value_t *v, int32_t day)
{
    td_error err = {0};
    tdm_suspect_list_reset(&w->out);
    w->trigger = (tdm_suspect_trigger){ds, &w->coords, v, tdm_eval_cst_midnight_ms(day)};
    int rc = tdm_suspects_eval(&ctx, &w->hh, NULL, day, &w->trigger, w->s, &w->out, &err);
    if (rc < 0)
        fprintf(stderr, "eval: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return w->out.n;
}

static const tdm_suspect_out *find(const world *w, const char *rule, tdm_suspect_kind kind)
{
    for (size_t i = 0; i < w->out.n; i++)
        if (strcmp(w->out.v[i].indicator_id, rule) == 0 && w->out.v[i].kind == kind)
            return &w->out.v[i];
    return NULL;
}

/* No run of 15 or more digits and no person key in a text for people. */
static bool clean_text(const char *s)
{
    if (!s)
        return true;
    if (strstr(s, P_HEAD) || strstr(s, P_WIFE) || strstr(s, P_SON))
        return false;
    size_t run = 0;
    for (const char *p = s; *p; p++) {
        run = (*p >= '0' && *p <= '9') ? run + 1 : 0;
        if (run >= 15)
            return false;
    }
    return true;
}

/* Every message: routed to the village's county, texts clean. */
static void check_messages(const world *w)
{
    for (size_t i = 0; i < w->out.n; i++) {
        const tdm_suspect_out *m = &w->out.v[i];
        CU_ASSERT(tdm_suspect_id_is(m->suspect_id));
        CU_ASSERT_EQUAL(strlen(m->suspect_id), 4 + 32);
        CU_ASSERT_TRUE(m->route.routed);
        CU_ASSERT_STR_EQ(m->route.topic, "tuodi.suspects.340421");
        CU_ASSERT_STR_EQ(m->route.key, VILLAGE);
        CU_ASSERT_STR_EQ(m->household_id, HH_ID);
        CU_ASSERT(clean_text(m->roster_value));
        CU_ASSERT(clean_text(m->department_value));
        CU_ASSERT(m->n_evidence >= 1 && m->n_evidence <= TDM_SUSPECT_EVIDENCE_MAX);
    }
}

/* ---- 1 death still listed ---- */

static void test_death_still_listed(void)
{
    world w;
    world_init(&w);
    int32_t d = ymd(2023, 5, 4); /* a Thursday */
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DEATH_REGISTERED", P_WIFE, d, -1, 0, "SW1"));
    CU_ASSERT_EQUAL(tdm_suspects_next_due(w.s, rules, d), d + 30);

    /* just outside: grace_days - 1 */
    CU_ASSERT_EQUAL(eval_roster(&w, d + 29), 0);
    /* just inside: grace_days */
    CU_ASSERT_EQUAL(eval_roster(&w, d + 30), 1);
    const tdm_suspect_out *m = find(&w, "death-still-listed", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_STR_EQ(m->person_key, P_WIFE);
    CU_ASSERT_STR_EQ(m->person_name, "李四");
    CU_ASSERT_STR_EQ(m->head_name, "张三");
    CU_ASSERT_STR_EQ(m->indicator_name, "已登记死亡人员仍在册");
    CU_ASSERT_STR_EQ(m->roster_value, "在册");
    CU_ASSERT_STR_EQ(m->department_value, "2023-05-04 登记死亡");
    CU_ASSERT_EQUAL(m->raised_at, tdm_eval_cst_midnight_ms(d + 30));
    /* 2023-06-03 (Saturday) + 20 working days: 2023-06-30 */
    CU_ASSERT_EQUAL(m->fix_due_date, ymd(2023, 6, 30));
    CU_ASSERT_EQUAL_FATAL(m->n_evidence, 1);
    CU_ASSERT_EQUAL(m->evidence[0].dataset, TDM_DATASET_CIVIL_AFFAIRS);
    CU_ASSERT_STR_EQ(m->evidence[0].event_type, "DEATH_REGISTERED");
    CU_ASSERT_STR_EQ(m->evidence[0].src_record_id, "SW1");
    CU_ASSERT_EQUAL(m->evidence[0].offset, 1000);
    check_messages(&w);
    char id1[TDM_SUSPECT_ID_MAX + 1];
    snprintf(id1, sizeof(id1), "%s", m->suspect_id);
    CU_ASSERT_EQUAL(tdm_suspects_next_due(w.s, rules, d + 30), INT32_MAX);

    /* raised once */
    CU_ASSERT_EQUAL(eval_roster(&w, d + 31), 0);
    roster_update(&w, d + 40);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 40), 0);
    CU_ASSERT_EQUAL(tdm_suspects_open_count(w.s), 1);

    /* the corrected roster (she is no longer listed) resolves it */
    w.members[1] = w.members[2];
    w.hh.nmembers = 2;
    roster_update(&w, d + 45);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 45), 1);
    m = find(&w, "death-still-listed", TDM_SUSPECT_RESOLVED);
    NEED(m);
    CU_ASSERT_STR_EQ(m->suspect_id, id1);
    CU_ASSERT_TRUE(m->has_resolution);
    CU_ASSERT_EQUAL(m->resolved_at, tdm_eval_cst_midnight_ms(d + 45));
    CU_ASSERT_EQUAL(m->resolved_by.dataset, TDM_DATASET_HOUSEHOLD);
    CU_ASSERT_STR_EQ(m->resolved_by.topic, "tuodi.roster.households");
    CU_ASSERT_EQUAL(m->resolved_by.offset, 100);
    CU_ASSERT_STR_EQ(m->resolved_by.src_record_id, HH_ID);
    /* the snapshot is the RAISED one's */
    CU_ASSERT_EQUAL(m->raised_at, tdm_eval_cst_midnight_ms(d + 30));
    CU_ASSERT_STR_EQ(m->department_value, "2023-05-04 登记死亡");
    CU_ASSERT_EQUAL(tdm_suspects_open_count(w.s), 0);

    /* listed again by a later export: a new suspect with a new id */
    w.hh.nmembers = 3;
    w.members[1] = (tdm_member){P_WIFE, "李四", ymd(1982, 3, 3), TDM_REL_SPOUSE,
                                TDM_R_LABOUR_WEAK, 0, 0, TDM_SEX_UNSAID, TDM_SEX_UNSAID,
                                false, 0, -1};
    w.members[2] = (tdm_member){P_SON, "张小", ymd(2005, 5, 5), TDM_REL_CHILD,
                                TDM_R_LABOUR_SKILLED, 0, 1, TDM_SEX_UNSAID, TDM_SEX_UNSAID,
                                false, 0, -1};
    roster_update(&w, d + 60);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 60), 1);
    m = find(&w, "death-still-listed", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_STR_NE(m->suspect_id, id1);
    CU_ASSERT_EQUAL(m->raised_at, tdm_eval_cst_midnight_ms(d + 60));

    /* the household leaves the roster: its open suspects resolve */
    td_error err = {0};
    tdm_suspect_list_reset(&w.out);
    w.trigger = (tdm_suspect_trigger){TDM_DATASET_HOUSEHOLD, &ROSTER, NULL,
                                      tdm_eval_cst_midnight_ms(d + 70)};
    CU_ASSERT_EQUAL(tdm_suspects_eval(&ctx, NULL, NULL, d + 70, &w.trigger, w.s, &w.out, &err),
                    0);
    CU_ASSERT_EQUAL(w.out.n, 1);
    CU_ASSERT_PTR_NOT_NULL(find(&w, "death-still-listed", TDM_SUSPECT_RESOLVED));
    CU_ASSERT_EQUAL(tdm_suspects_open_count(w.s), 0);
    world_done(&w);
}

/* ---- 2 disability grade differs, 3 able-bodied severely disabled ---- */

static void test_disability_grade_differs(void)
{
    world w;
    world_init(&w);
    int32_t d = ymd(2023, 5, 8);
    /* the head (NORMAL labour) certified grade 3: no able-bodied suspect */
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DISABILITY_CERTIFIED", P_HEAD, d, -1, 3, "CJ1"));
    w.members[0].disability_grade = 3; /* just outside: the roster agrees */
    CU_ASSERT_EQUAL(eval_roster(&w, d + 30), 0);
    w.members[0].disability_grade = 4; /* just inside: one grade off */
    roster_update(&w, d + 31);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 31), 1);
    const tdm_suspect_out *m = find(&w, "disability-grade-differs", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_STR_EQ(m->person_key, P_HEAD);
    CU_ASSERT_STR_EQ(m->roster_value, "残疾等级=四级");
    CU_ASSERT_STR_EQ(m->department_value, "残疾等级=三级（2023-05-08 认定）");
    check_messages(&w);
    /* corrected roster resolves it */
    w.members[0].disability_grade = 3;
    roster_update(&w, d + 40);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 40), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&w, "disability-grade-differs", TDM_SUSPECT_RESOLVED));

    /* none on the roster counts as differing; within the grace it waits */
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DISABILITY_CERTIFIED", P_WIFE, d + 50, -1, 4,
                                              "CJ2"));
    CU_ASSERT_EQUAL(eval_roster(&w, d + 79), 0);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 80), 1);
    m = find(&w, "disability-grade-differs", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_STR_EQ(m->roster_value, "残疾等级=无");
    world_done(&w);
}

static void test_able_bodied_severely_disabled(void)
{
    world w;
    world_init(&w);
    int32_t d = ymd(2023, 5, 8);
    /* grade 3 for the head (NORMAL): just outside max_disability_grade 2 */
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DISABILITY_CERTIFIED", P_HEAD, d, -1, 3, "CJ1"));
    w.members[0].disability_grade = 3;
    CU_ASSERT_EQUAL(eval_roster(&w, d + 30), 0);
    /* grade 2 (a newer certificate): just inside */
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DISABILITY_CERTIFIED", P_HEAD, d + 1, -1, 2,
                                              "CJ2"));
    w.members[0].disability_grade = 2;
    CU_ASSERT_EQUAL(eval_roster(&w, d + 30), 0); /* 29 days after the newer one */
    CU_ASSERT_EQUAL(eval_roster(&w, d + 31), 1);
    const tdm_suspect_out *m = find(&w, "able-bodied-severely-disabled", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_STR_EQ(m->roster_value, "劳动技能=普通劳动力");
    CU_ASSERT_STR_EQ(m->department_value, "残疾等级=二级（2023-05-09 认定）");
    CU_ASSERT_STR_EQ(m->evidence[0].src_record_id, "CJ2");
    check_messages(&w);
    /* the roster corrects the labour capacity: resolved */
    w.members[0].labour = TDM_R_LABOUR_LOST;
    roster_update(&w, d + 40);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 40), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&w, "able-bodied-severely-disabled", TDM_SUSPECT_RESOLVED));

    /* the wife (WEAK: not in [NORMAL, SKILLED]) grade 1: not a suspect; the
     * son (SKILLED) grade 1: a suspect; unknown labour never contradicts */
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DISABILITY_CERTIFIED", P_WIFE, d, -1, 1, "CJ3"));
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DISABILITY_CERTIFIED", P_SON, d, -1, 1, "CJ4"));
    w.members[1].disability_grade = 1;
    w.members[2].disability_grade = 1;
    w.members[2].labour = TDM_R_LABOUR_UNKNOWN;
    CU_ASSERT_EQUAL(eval_roster(&w, d + 50), 0);
    w.members[2].labour = TDM_R_LABOUR_SKILLED;
    CU_ASSERT_EQUAL(eval_roster(&w, d + 50), 1);
    m = find(&w, "able-bodied-severely-disabled", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_STR_EQ(m->person_key, P_SON);
    world_done(&w);
}

/* ---- 4/5 allowances ---- */

static void test_allowance_not_recorded(void)
{
    world w;
    world_init(&w);
    int32_t d = ymd(2023, 5, 8);
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DIBAO_APPROVED", P_WIFE, d, 60000, 0, "DB1"));
    /* the roster is silent: never a suspect */
    CU_ASSERT_EQUAL(eval_roster(&w, d + 100), 0);
    /* the roster says yes: agrees */
    w.hh.dibao = 1;
    CU_ASSERT_EQUAL(eval_roster(&w, d + 100), 0);
    /* the roster says no: grace - 1 outside, grace inside */
    w.hh.dibao = 0;
    CU_ASSERT_EQUAL(eval_roster(&w, d + 29), 0);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 30), 1);
    const tdm_suspect_out *m = find(&w, "dibao-not-recorded", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_PTR_NULL(m->person_key); /* household-level */
    CU_ASSERT_PTR_NULL(m->person_name);
    CU_ASSERT_STR_EQ(m->roster_value, "未享受低保");
    CU_ASSERT_STR_EQ(m->department_value, "低保 2023-05-08 批准");
    CU_ASSERT_STR_EQ(m->evidence[0].event_type, "DIBAO_APPROVED");
    check_messages(&w);
    /* a department record resolves it: the 低保 cancelled */
    avro_value_t *v = civil("DIBAO_CANCELLED", P_WIFE, d + 60, -1, 0, "DB2");
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, v);
    CU_ASSERT_EQUAL(eval_record(&w, TDM_DATASET_CIVIL_AFFAIRS, v, d + 60), 1);
    m = find(&w, "dibao-not-recorded", TDM_SUSPECT_RESOLVED);
    NEED(m);
    CU_ASSERT_EQUAL(m->resolved_at, tdm_eval_cst_midnight_ms(d + 60));
    CU_ASSERT_EQUAL(m->resolved_by.dataset, TDM_DATASET_CIVIL_AFFAIRS);
    CU_ASSERT_STR_EQ(m->resolved_by.event_type, "DIBAO_CANCELLED");
    CU_ASSERT_STR_EQ(m->resolved_by.src_record_id, "DB2");
    CU_ASSERT_STR_EQ(m->resolved_by.topic, "tuodi.civil_affairs.events");
    CU_ASSERT_EQUAL(tdm_suspects_open_count(w.s), 0);
    /* approved again (a newer record): a new suspect */
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DIBAO_APPROVED", P_WIFE, d + 90, -1, 0, "DB3"));
    CU_ASSERT_EQUAL(eval_roster(&w, d + 120), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&w, "dibao-not-recorded", TDM_SUSPECT_RAISED));

    /* 特困: the same for tekun; dibao facts do not count for it */
    w.hh.tekun = 0;
    CU_ASSERT_EQUAL(eval_roster(&w, d + 120), 0);
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("TEKUN_APPROVED", P_HEAD, d + 100, -1, 0, "TK1"));
    CU_ASSERT_EQUAL(eval_roster(&w, d + 129), 0);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 130), 1);
    m = find(&w, "tekun-not-recorded", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_STR_EQ(m->roster_value, "未享受特困供养");
    world_done(&w);
}

static void test_allowance_still_marked(void)
{
    world w;
    world_init(&w);
    int32_t d = ymd(2023, 5, 8);
    w.hh.dibao = 1;
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DIBAO_APPROVED", P_HEAD, d - 100, -1, 0, "DB1"));
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DIBAO_CANCELLED", P_HEAD, d, -1, 0, "DB2"));
    CU_ASSERT_EQUAL(eval_roster(&w, d + 29), 0);
    /* another member still receives it: the household does */
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DIBAO_APPROVED", P_SON, d - 50, -1, 0, "DB3"));
    CU_ASSERT_EQUAL(eval_roster(&w, d + 30), 0);
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DIBAO_CANCELLED", P_SON, d - 1, -1, 0, "DB4"));
    CU_ASSERT_EQUAL(eval_roster(&w, d + 30), 1);
    const tdm_suspect_out *m = find(&w, "dibao-still-marked", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_STR_EQ(m->roster_value, "享受低保");
    CU_ASSERT_STR_EQ(m->department_value, "低保 2023-05-08 取消");
    /* both cancellations as evidence, most recent first */
    CU_ASSERT_EQUAL_FATAL(m->n_evidence, 2);
    CU_ASSERT_STR_EQ(m->evidence[0].src_record_id, "DB2");
    CU_ASSERT_STR_EQ(m->evidence[1].src_record_id, "DB4");
    check_messages(&w);
    /* the roster is silent now: a null never contradicts, and the open
     * suspect resolves */
    w.hh.dibao = -1;
    roster_update(&w, d + 40);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 40), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&w, "dibao-still-marked", TDM_SUSPECT_RESOLVED));

    /* 特困 terminated, still marked */
    w.hh.tekun = 1;
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("TEKUN_CANCELLED", P_WIFE, d, -1, 0, "TK1"));
    CU_ASSERT_EQUAL(eval_roster(&w, d + 29), 0);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 30), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&w, "tekun-still-marked", TDM_SUSPECT_RAISED));
    world_done(&w);
}

/* ---- 6/7 public-welfare jobs ---- */

static void test_welfare_job(void)
{
    world w;
    world_init(&w);
    int32_t d = ymd(2023, 5, 8);
    avro_value_t *v = employment("PUBLIC_WELFARE_JOB_STARTED", P_SON, d, "GY1");
    note(&w, TDM_DATASET_HUMAN_RESOURCES, v);
    /* silent roster (-1): never */
    CU_ASSERT_EQUAL(eval_roster(&w, d + 100), 0);
    w.members[2].public_welfare_job = 0;
    CU_ASSERT_EQUAL(eval_roster(&w, d + 29), 0);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 30), 1);
    const tdm_suspect_out *m = find(&w, "welfare-job-not-recorded", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_STR_EQ(m->person_key, P_SON);
    CU_ASSERT_STR_EQ(m->roster_value, "无公益性岗位");
    CU_ASSERT_STR_EQ(m->department_value, "公益性岗位 2023-05-08 上岗");
    CU_ASSERT_EQUAL(m->evidence[0].dataset, TDM_DATASET_HUMAN_RESOURCES);
    check_messages(&w);
    /* the roster records it: resolved */
    w.members[2].public_welfare_job = 1;
    roster_update(&w, d + 35);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 35), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&w, "welfare-job-not-recorded", TDM_SUSPECT_RESOLVED));
    /* the job ends; the roster still marks it */
    note(&w, TDM_DATASET_HUMAN_RESOURCES,
         employment("PUBLIC_WELFARE_JOB_ENDED", P_SON, d + 60, "GY2"));
    CU_ASSERT_EQUAL(eval_roster(&w, d + 89), 0);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 90), 1);
    m = find(&w, "welfare-job-still-marked", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_STR_EQ(m->department_value, "公益性岗位 2023-07-07 退出");
    /* an older record noted late changes nothing */
    td_error err = {0};
    bool changed = true;
    w.coords = (tdm_coords){"tuodi.human_resources.events", 1, 5};
    CU_ASSERT_EQUAL(tdm_suspects_note_record(w.s, TDM_DATASET_HUMAN_RESOURCES,
                                             employment("PUBLIC_WELFARE_JOB_STARTED", P_SON,
                                                        d + 10, "GY0"),
                                             &w.coords, &changed, &err), 0);
    CU_ASSERT_FALSE(changed);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 91), 0);
    world_done(&w);
}

/* ---- 8 duplicate person ---- */

static void test_duplicate_person(void)
{
    world w;
    world_init(&w);
    td_error err = {0};
    const char *others[] = {"3404211002010099"};
    const char *const *lists[3] = {NULL, others, NULL};
    size_t none[3] = {0, 0, 0}, one[3] = {0, 1, 0};
    tdm_suspect_dups dups = {lists, none};
    int32_t today = ymd(2023, 3, 1);
    w.trigger = (tdm_suspect_trigger){TDM_DATASET_HOUSEHOLD, &ROSTER, NULL, w.hh.updated_at};

    /* just outside: no other household lists anyone */
    CU_ASSERT_EQUAL(tdm_suspects_eval(&ctx, &w.hh, &dups, today, &w.trigger, w.s, &w.out, &err),
                    0);
    CU_ASSERT_EQUAL(w.out.n, 0);
    /* just inside: one other household lists the wife */
    dups.n_other = one;
    CU_ASSERT_EQUAL(tdm_suspects_eval(&ctx, &w.hh, &dups, today, &w.trigger, w.s, &w.out, &err),
                    0);
    CU_ASSERT_EQUAL(w.out.n, 1);
    const tdm_suspect_out *m = find(&w, "duplicate-person", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_STR_EQ(m->person_key, P_WIFE);
    CU_ASSERT_STR_EQ(m->roster_value, "本户在册");
    CU_ASSERT_STR_EQ(m->department_value, "名册中另有1户登记此人");
    CU_ASSERT_EQUAL(m->raised_at, w.hh.updated_at);
    CU_ASSERT_EQUAL_FATAL(m->n_evidence, 1);
    CU_ASSERT_EQUAL(m->evidence[0].dataset, TDM_DATASET_HOUSEHOLD);
    CU_ASSERT_STR_EQ(m->evidence[0].topic, "tuodi.roster.households");
    check_messages(&w);
    /* the other household drops her: resolved */
    tdm_suspect_list_reset(&w.out);
    dups.n_other = none;
    CU_ASSERT_EQUAL(tdm_suspects_eval(&ctx, &w.hh, &dups, today, &w.trigger, w.s, &w.out, &err),
                    0);
    CU_ASSERT_EQUAL(w.out.n, 1);
    CU_ASSERT_PTR_NOT_NULL(find(&w, "duplicate-person", TDM_SUSPECT_RESOLVED));
    /* no dups known (NULL): nothing */
    CU_ASSERT_EQUAL(eval_roster(&w, today), 0);
    world_done(&w);
}

/* ---- 9 birth date, 10 sex ---- */

static void test_birth_date_differs(void)
{
    world w;
    world_init(&w);
    int32_t today = ymd(2023, 3, 1);
    /* the roster is silent: never */
    CU_ASSERT_EQUAL(eval_roster(&w, today), 0);
    /* the same date: no */
    w.members[1].has_recorded_birth_date = true;
    w.members[1].recorded_birth_date = w.members[1].birth_date;
    CU_ASSERT_EQUAL(eval_roster(&w, today), 0);
    /* one day off: yes */
    w.members[1].recorded_birth_date = w.members[1].birth_date + 1;
    CU_ASSERT_EQUAL(eval_roster(&w, today), 1);
    const tdm_suspect_out *m = find(&w, "birth-date-differs", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_STR_EQ(m->roster_value, "出生日期=1982-03-04");
    CU_ASSERT_STR_EQ(m->department_value, "身份证号出生日期=1982-03-03");
    check_messages(&w);
    /* fixed by the next export */
    w.members[1].recorded_birth_date = w.members[1].birth_date;
    roster_update(&w, today + 10);
    CU_ASSERT_EQUAL(eval_roster(&w, today + 10), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&w, "birth-date-differs", TDM_SUSPECT_RESOLVED));
    world_done(&w);
}

static void test_sex_differs(void)
{
    world w;
    world_init(&w);
    int32_t today = ymd(2023, 3, 1);
    /* the roster silent, or the identity number's sex unknown: never */
    w.members[0].id_sex = TDM_SEX_MALE;
    CU_ASSERT_EQUAL(eval_roster(&w, today), 0);
    w.members[0].sex = TDM_SEX_FEMALE;
    w.members[0].id_sex = TDM_SEX_UNSAID;
    CU_ASSERT_EQUAL(eval_roster(&w, today), 0);
    /* the same: no */
    w.members[0].sex = TDM_SEX_MALE;
    w.members[0].id_sex = TDM_SEX_MALE;
    CU_ASSERT_EQUAL(eval_roster(&w, today), 0);
    /* different: yes */
    w.members[0].sex = TDM_SEX_FEMALE;
    CU_ASSERT_EQUAL(eval_roster(&w, today), 1);
    const tdm_suspect_out *m = find(&w, "sex-differs", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_STR_EQ(m->roster_value, "性别=女");
    CU_ASSERT_STR_EQ(m->department_value, "身份证号性别=男");
    check_messages(&w);
    world_done(&w);
}

/* A household whose village code the bus cannot route: the unrouted
 * topic, keyed by the suspect id; its snapshots keep that routing. */
/* Raised again on the same anchor and day after it resolved: a new id.
 * The roster drops the mark and sets it again the same day: the same
 * cancellation is the contradiction again, on the same raised day; the
 * trigger (another roster record) makes the second a new suspect. */
static void test_raised_again_new_id(void)
{
    world w;
    world_init(&w);
    w.hh.dibao = 1;
    int32_t d = ymd(2023, 5, 4);
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DIBAO_CANCELLED", P_HEAD, d, -1, 0, "DB1"));
    roster_update(&w, d + 40);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 40), 1);
    const tdm_suspect_out *m = find(&w, "dibao-still-marked", TDM_SUSPECT_RAISED);
    NEED(m);
    char id1[TDM_SUSPECT_ID_MAX + 1];
    snprintf(id1, sizeof(id1), "%s", m->suspect_id);

    w.hh.dibao = 0;
    CU_ASSERT_EQUAL(eval_roster(&w, d + 40), 1);
    m = find(&w, "dibao-still-marked", TDM_SUSPECT_RESOLVED);
    NEED(m);
    CU_ASSERT_STR_EQ(m->suspect_id, id1);

    w.hh.dibao = 1;
    const tdm_coords again = {"tuodi.roster.households", 0, 101};
    td_error err = {0};
    tdm_suspect_list_reset(&w.out);
    w.trigger = (tdm_suspect_trigger){TDM_DATASET_HOUSEHOLD, &again, NULL, w.hh.updated_at};
    CU_ASSERT_EQUAL_FATAL(tdm_suspects_eval(&ctx, &w.hh, NULL, d + 40, &w.trigger, w.s, &w.out,
                                            &err), 0);
    m = find(&w, "dibao-still-marked", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_STR_NE(m->suspect_id, id1);
    world_done(&w);
}

/* Found by the chaos test (itest_matchd_chaos at 0473210: four suspect ids
 * RAISED and RESOLVED twice; at cce4236 the same flapping under new ids):
 * one member's cancellation raises "still marked", another member's
 * approval resolves it (the household receives 低保 again), that member's
 * cancellation ends it again. The household's 低保 ended with that
 * cancellation, which does not count before its grace_days: the older
 * cancellation of the first member must not raise it again at once (with
 * its old raised day); the roster has until the new one counts. */
static void test_still_marked_counts_from_the_end(void)
{
    world w;
    world_init(&w);
    w.hh.dibao = 1;
    int32_t d = ymd(2023, 5, 4);
    avro_value_t *v = civil("DIBAO_CANCELLED", P_HEAD, d, -1, 0, "DB1");
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, v);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 30), 1);
    const tdm_suspect_out *m = find(&w, "dibao-still-marked", TDM_SUSPECT_RAISED);
    NEED(m);
    char id1[TDM_SUSPECT_ID_MAX + 1];
    snprintf(id1, sizeof(id1), "%s", m->suspect_id);

    v = civil("DIBAO_APPROVED", P_WIFE, d + 31, -1, 0, "DB2");
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, v);
    CU_ASSERT_EQUAL(eval_record(&w, TDM_DATASET_CIVIL_AFFAIRS, v, d + 31), 1);
    m = find(&w, "dibao-still-marked", TDM_SUSPECT_RESOLVED);
    NEED(m);
    CU_ASSERT_STR_EQ(m->suspect_id, id1);

    /* the wife's cancellation ends the household's 低保: nothing yet */
    v = civil("DIBAO_CANCELLED", P_WIFE, d + 32, -1, 0, "DB3");
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, v);
    CU_ASSERT_EQUAL(eval_record(&w, TDM_DATASET_CIVIL_AFFAIRS, v, d + 32), 0);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 61), 0);
    CU_ASSERT_EQUAL(tdm_suspects_next_due(w.s, rules, d + 32), d + 62);
    /* its grace over: a new suspect, resting on it, raised that day */
    CU_ASSERT_EQUAL(eval_roster(&w, d + 62), 1);
    m = find(&w, "dibao-still-marked", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_STR_NE(m->suspect_id, id1);
    CU_ASSERT_EQUAL(m->raised_at, tdm_eval_cst_midnight_ms(d + 62));
    CU_ASSERT_STR_EQ(m->evidence[0].src_record_id, "DB3");
    CU_ASSERT_EQUAL_FATAL(m->n_evidence, 2);
    CU_ASSERT_STR_EQ(m->evidence[1].src_record_id, "DB1");
    check_messages(&w);
    world_done(&w);
}

/* An open allowance suspect stays open while the household's allowance
 * still contradicts the roster, also when the department record that keeps
 * it so is within its grace: no RESOLVED (整改到位) for a roster nobody
 * fixed, and no second RAISED for it later. */
static void test_allowance_stays_open(void)
{
    world w;
    world_init(&w);
    int32_t d = ymd(2023, 5, 4);
    avro_value_t *v;

    /* still marked: another member's first record, a cancellation */
    w.hh.dibao = 1;
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DIBAO_CANCELLED", P_HEAD, d, -1, 0, "DB1"));
    CU_ASSERT_EQUAL(eval_roster(&w, d + 30), 1);
    NEED(find(&w, "dibao-still-marked", TDM_SUSPECT_RAISED));
    v = civil("DIBAO_CANCELLED", P_SON, d + 40, -1, 0, "DB2");
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, v);
    CU_ASSERT_EQUAL(eval_record(&w, TDM_DATASET_CIVIL_AFFAIRS, v, d + 40), 0);
    CU_ASSERT_EQUAL(tdm_suspects_open_count(w.s), 1);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 70), 0);
    CU_ASSERT_EQUAL(tdm_suspects_open_count(w.s), 1);

    /* not recorded: the approval that raised it ends, another member's
     * (within its grace) goes on */
    w.hh.tekun = 0;
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("TEKUN_APPROVED", P_WIFE, d, -1, 0, "TK1"));
    CU_ASSERT_EQUAL(eval_roster(&w, d + 70), 1);
    NEED(find(&w, "tekun-not-recorded", TDM_SUSPECT_RAISED));
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("TEKUN_APPROVED", P_SON, d + 75, -1, 0, "TK2"));
    v = civil("TEKUN_CANCELLED", P_WIFE, d + 80, -1, 0, "TK3");
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, v);
    CU_ASSERT_EQUAL(eval_record(&w, TDM_DATASET_CIVIL_AFFAIRS, v, d + 80), 0);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 105), 0);
    CU_ASSERT_EQUAL(tdm_suspects_open_count(w.s), 2);
    /* the son's ends too: the household receives none, it resolves */
    v = civil("TEKUN_CANCELLED", P_SON, d + 110, -1, 0, "TK4");
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, v);
    CU_ASSERT_EQUAL(eval_record(&w, TDM_DATASET_CIVIL_AFFAIRS, v, d + 110), 1);
    NEED(find(&w, "tekun-not-recorded", TDM_SUSPECT_RESOLVED));
    /* and the roster's fix resolves the other */
    w.hh.dibao = 0;
    roster_update(&w, d + 120);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 120), 1);
    NEED(find(&w, "dibao-still-marked", TDM_SUSPECT_RESOLVED));
    CU_ASSERT_EQUAL(tdm_suspects_open_count(w.s), 0);
    world_done(&w);
}

/* The same for a member's fact: a newer certificate that also differs from
 * the roster, within its grace, keeps the open suspect open (no RESOLVED
 * now and a second RAISED 30 days later); one that agrees resolves it. */
static void test_member_fact_stays_open(void)
{
    world w;
    world_init(&w);
    int32_t d = ymd(2023, 5, 8);
    avro_value_t *v;
    w.members[1].disability_grade = 4; /* the wife: WEAK labour */
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DISABILITY_CERTIFIED", P_WIFE, d, -1, 3, "CJ1"));
    CU_ASSERT_EQUAL(eval_roster(&w, d + 30), 1);
    NEED(find(&w, "disability-grade-differs", TDM_SUSPECT_RAISED));
    v = civil("DISABILITY_CERTIFIED", P_WIFE, d + 40, -1, 2, "CJ2");
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, v);
    CU_ASSERT_EQUAL(eval_record(&w, TDM_DATASET_CIVIL_AFFAIRS, v, d + 40), 0);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 70), 0);
    CU_ASSERT_EQUAL(tdm_suspects_open_count(w.s), 1);
    v = civil("DISABILITY_CERTIFIED", P_WIFE, d + 80, -1, 4, "CJ3");
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, v);
    CU_ASSERT_EQUAL(eval_record(&w, TDM_DATASET_CIVIL_AFFAIRS, v, d + 80), 1);
    NEED(find(&w, "disability-grade-differs", TDM_SUSPECT_RESOLVED));
    CU_ASSERT_EQUAL(tdm_suspects_open_count(w.s), 0);
    world_done(&w);
}

static void test_unrouted(void)
{
    world w;
    world_init(&w);
    int32_t today = ymd(2023, 3, 1);
    w.hh.village_code = "34042110020";
    w.members[0].sex = TDM_SEX_FEMALE;
    w.members[0].id_sex = TDM_SEX_MALE;
    CU_ASSERT_EQUAL(eval_roster(&w, today), 1);
    const tdm_suspect_out *m = &w.out.v[0];
    CU_ASSERT_FALSE(m->route.routed);
    CU_ASSERT_STR_EQ(m->route.topic, TDM_SUSPECT_TOPIC_UNROUTED);
    CU_ASSERT_STR_EQ(m->route.key, m->suspect_id);
    w.members[0].sex = TDM_SEX_MALE;
    roster_update(&w, today + 1);
    CU_ASSERT_EQUAL(eval_roster(&w, today + 1), 1);
    m = &w.out.v[0];
    CU_ASSERT_EQUAL(m->kind, TDM_SUSPECT_RESOLVED);
    CU_ASSERT_STR_EQ(m->route.topic, TDM_SUSPECT_TOPIC_UNROUTED);
    /* it still encodes (village_code "") */
    td_error err = {0};
    td_avro_buf buf = TD_AVRO_BUF_INIT;
    CU_ASSERT_EQUAL(tdm_suspect_out_to_avro(m, INSTANCE, &v_suspect, &err), 0);
    CU_ASSERT_EQUAL(td_avro_encode(s_suspect, &v_suspect, &buf, &err), 0);
    td_avro_buf_done(&buf);
    world_done(&w);
}

/* ---- 11 income below transfers ---- */

static void test_income_below_transfers(void)
{
    world w;
    world_init(&w);
    int32_t d = ymd(2023, 6, 1);
    w.hh.income_annual_fen = 300000; /* 3000.00 yuan in 2023 */
    /* transfers of 2022 do not count for income year 2023 */
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("TEMP_ASSISTANCE_GRANTED", P_HEAD,
                                              ymd(2022, 12, 31), 500000, 0, "LS0"));
    CU_ASSERT_EQUAL(eval_roster(&w, d), 0);
    /* 2023: exactly the income: not below */
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DIBAO_APPROVED", P_WIFE, ymd(2023, 1, 5), 200000,
                                              0, "DB1"));
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("TEMP_ASSISTANCE_GRANTED", P_HEAD, ymd(2023, 4, 1),
                                              100000, 0, "LS1"));
    w.hh.dibao = 1;
    CU_ASSERT_EQUAL(eval_roster(&w, d), 0);
    /* one fen more: below */
    avro_value_t *v = civil("TEMP_ASSISTANCE_GRANTED", P_SON, ymd(2023, 5, 1), 1, 0, "LS2");
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, v);
    CU_ASSERT_EQUAL(eval_record(&w, TDM_DATASET_CIVIL_AFFAIRS, v, ymd(2023, 5, 1)), 1);
    const tdm_suspect_out *m = find(&w, "income-below-transfers", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_PTR_NULL(m->person_key);
    CU_ASSERT_STR_EQ(m->roster_value, "2023年家庭纯收入=3000.00元");
    CU_ASSERT_STR_EQ(m->department_value, "2023年民政转移性收入=3000.01元");
    CU_ASSERT_EQUAL(m->raised_at, tdm_eval_cst_midnight_ms(ymd(2023, 5, 1)));
    CU_ASSERT_STR_EQ(m->evidence[0].src_record_id, "LS2");
    check_messages(&w);
    /* the roster counts the transfers: resolved */
    w.hh.income_annual_fen = 1300001;
    roster_update(&w, d + 5);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 5), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&w, "income-below-transfers", TDM_SUSPECT_RESOLVED));
    /* no income on the roster: never */
    w.hh.income_annual_fen = 0;
    w.hh.has_income = false;
    CU_ASSERT_EQUAL(eval_roster(&w, d + 6), 0);
    world_done(&w);
}

/* ---- old facts and the push day (docs/matchd-design.md, "Old records") ---- */

/* China's working days of the shipped holiday file (the caller frees *ret). */
static void china(tdm_holidays **ret, tdm_calendar *cal)
{
    char path[1024];
    td_error err = {0};
    snprintf(path, sizeof(path), "%s/deploy/data/china-holidays.csv", td_test_source_root());
    int rc = tdm_holidays_load(path, ret, &err);
    if (rc < 0)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    tdm_holidays_calendar(*ret, cal);
}

/* A backfilled death record of 400 days ago, a member still listed by a
 * roster that never caught up: a suspect however old the fact (never held
 * back), raised on the push day (the stream clock's day), its fix due 20 of
 * China's working days from then, the fact's date in its evidence. The id is
 * of the data, not of the day it was read. */
static void test_old_fact_raised_on_push_day(void)
{
    world w;
    td_error err = {0};
    tdm_holidays *h = NULL;
    tdm_calendar cal;
    char id1[TDM_SUSPECT_ID_MAX + 1];
    world_init(&w);
    china(&h, &cal);
    tdm_eval_ctx c2 = ctx;
    c2.calendar = &cal;
    int32_t today = ymd(2025, 9, 30); /* a Tuesday, the eve of National Day */
    int32_t d = today - 400;          /* 2024-08-26 */
    roster_update(&w, ymd(2024, 6, 1));
    avro_value_t *v = civil("DEATH_REGISTERED", P_WIFE, d, -1, 0, "SW-OLD");
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, v);
    tdm_suspects *again = tdm_suspects_copy(w.s);
    NEED(again);

    /* the record is the trigger (its time: its own date), the stream day today */
    tdm_suspect_list_reset(&w.out);
    w.trigger = (tdm_suspect_trigger){TDM_DATASET_CIVIL_AFFAIRS, &w.coords, v,
                                      tdm_eval_cst_midnight_ms(d)};
    CU_ASSERT_EQUAL_FATAL(tdm_suspects_eval(&c2, &w.hh, NULL, today, &w.trigger, w.s, &w.out,
                                            &err), 0);
    CU_ASSERT_EQUAL_FATAL(w.out.n, 1);
    const tdm_suspect_out *m = &w.out.v[0];
    CU_ASSERT_EQUAL(m->kind, TDM_SUSPECT_RAISED);
    CU_ASSERT_STR_EQ(m->indicator_id, "death-still-listed");
    CU_ASSERT_EQUAL(m->raised_at, tdm_eval_cst_midnight_ms(today));
    /* 10/1-10/8 off, Sat 10/11 worked: Tue 2025-11-04 (Monday to Friday
     * would say 10/28; from the fact's date + 30 it was 2024-10-25) */
    CU_ASSERT_EQUAL(m->fix_due_date, ymd(2025, 11, 4));
    CU_ASSERT_STR_EQ(m->department_value, "2024-08-26 登记死亡");
    CU_ASSERT_EQUAL_FATAL(m->n_evidence, 1);
    CU_ASSERT_TRUE(m->evidence[0].has_event_date);
    CU_ASSERT_EQUAL(m->evidence[0].event_date, d);
    CU_ASSERT_STR_EQ(m->evidence[0].src_record_id, "SW-OLD");
    check_messages(&w);
    snprintf(id1, sizeof(id1), "%s", m->suspect_id);

    /* the same record read on another stream day (another consumer group, a
     * rebuild after a week): the same id, that day's dates */
    tdm_suspect_list_reset(&w.out);
    CU_ASSERT_EQUAL_FATAL(tdm_suspects_eval(&c2, &w.hh, NULL, today + 14, &w.trigger, again,
                                            &w.out, &err), 0);
    CU_ASSERT_EQUAL_FATAL(w.out.n, 1);
    CU_ASSERT_STR_EQ(w.out.v[0].suspect_id, id1);
    CU_ASSERT_EQUAL(w.out.v[0].raised_at, tdm_eval_cst_midnight_ms(today + 14));
    CU_ASSERT(w.out.v[0].fix_due_date > today + 14);
    tdm_suspects_free(again);
    world_done(&w);

    /* a roster-only indicator on a row last changed long ago: raised today */
    world_init(&w);
    roster_update(&w, ymd(2024, 6, 1));
    w.members[1].has_recorded_birth_date = true;
    w.members[1].recorded_birth_date = w.members[1].birth_date + 1;
    CU_ASSERT_EQUAL(eval_roster(&w, today), 1);
    m = find(&w, "birth-date-differs", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_EQUAL(m->raised_at, tdm_eval_cst_midnight_ms(today));
    tdm_holidays_free(h);
    world_done(&w);
}

/* A fact within its grace when it arrives: raised on the day the grace
 * ends (the due scan's tick), not before, its fix due from that day; when
 * the stream clock's next day comes later (matchd was down), on that day. */
static void test_grace_raised_when_it_ends(void)
{
    world w;
    td_error err = {0};
    tdm_holidays *h = NULL;
    tdm_calendar cal;
    world_init(&w);
    china(&h, &cal);
    tdm_eval_ctx c2 = ctx;
    c2.calendar = &cal;
    int32_t end = ymd(2026, 2, 13); /* a Friday, before the Spring Festival */
    int32_t d = end - 30;           /* grace_days 30 */
    roster_update(&w, d - 100);
    avro_value_t *v = civil("DEATH_REGISTERED", P_WIFE, d, -1, 0, "SW-NEW");
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, v);
    tdm_suspect_list_reset(&w.out);
    w.trigger = (tdm_suspect_trigger){TDM_DATASET_CIVIL_AFFAIRS, &w.coords, v,
                                      tdm_eval_cst_midnight_ms(d)};
    CU_ASSERT_EQUAL(tdm_suspects_eval(&c2, &w.hh, NULL, d + 10, &w.trigger, w.s, &w.out, &err),
                    0);
    CU_ASSERT_EQUAL(w.out.n, 0);
    CU_ASSERT_EQUAL(tdm_suspects_next_due(w.s, rules, d + 10), end);
    tdm_suspects *late = tdm_suspects_copy(w.s);
    NEED(late);

    /* the day before the grace ends: nothing */
    tdm_suspect_list_reset(&w.out);
    w.trigger = (tdm_suspect_trigger){TDM_DATASET_ANY, NULL, NULL,
                                      tdm_eval_cst_midnight_ms(end - 1)};
    CU_ASSERT_EQUAL(tdm_suspects_eval(&c2, &w.hh, NULL, end - 1, &w.trigger, w.s, &w.out, &err),
                    0);
    CU_ASSERT_EQUAL(w.out.n, 0);
    /* the due scan's tick on the day it ends */
    tdm_suspect_list_reset(&w.out);
    w.trigger = (tdm_suspect_trigger){TDM_DATASET_ANY, NULL, NULL,
                                      tdm_eval_cst_midnight_ms(end)};
    CU_ASSERT_EQUAL(tdm_suspects_eval(&c2, &w.hh, NULL, end, &w.trigger, w.s, &w.out, &err), 0);
    CU_ASSERT_EQUAL_FATAL(w.out.n, 1);
    CU_ASSERT_EQUAL(w.out.v[0].raised_at, tdm_eval_cst_midnight_ms(end));
    /* Sat 2/14 worked, 2/15-2/23 off, Sat 2/28 worked: Thu 2026-03-19 */
    CU_ASSERT_EQUAL(w.out.v[0].fix_due_date, ymd(2026, 3, 19));

    /* the clock's next day three days later (Mon 2/16, a holiday): raised
     * then, due 20 working days from then */
    tdm_suspect_list_reset(&w.out);
    w.trigger = (tdm_suspect_trigger){TDM_DATASET_ANY, NULL, NULL,
                                      tdm_eval_cst_midnight_ms(end + 3)};
    CU_ASSERT_EQUAL(tdm_suspects_eval(&c2, &w.hh, NULL, end + 3, &w.trigger, late, &w.out, &err),
                    0);
    CU_ASSERT_EQUAL_FATAL(w.out.n, 1);
    CU_ASSERT_EQUAL(w.out.v[0].raised_at, tdm_eval_cst_midnight_ms(end + 3));
    CU_ASSERT_EQUAL(w.out.v[0].fix_due_date, ymd(2026, 3, 20));
    CU_ASSERT_EQUAL(w.out.v[0].evidence[0].event_date, d);
    tdm_suspects_free(late);
    tdm_holidays_free(h);
    world_done(&w);
}

/* Numbers from outside at their limits: no overflow (the ASan+UBSan build
 * halts on one), no suspect from a sum that cannot be computed. */
static void test_hostile_numbers(void)
{
    world w;
    td_error err = {0};
    tdm_rules *tol = NULL;
    world_init(&w);
    CU_ASSERT_EQUAL_FATAL(tdm_rules_load_string("tol.yaml", "suspects:\n"
                                                "  - {id: income, name: 甲, "
                                                "check: income_below_transfers, fix_hint: 核实, "
                                                "tolerance: 100}\n"
                                                "  - {id: death, name: 乙, "
                                                "check: death_still_listed, fix_hint: 核实, "
                                                "grace_days: 3660}\n", &tol, &err), 0);
    tdm_eval_ctx c2 = ctx;
    c2.rules = tol;
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"event_type\":\"TEMP_ASSISTANCE_GRANTED\",\"person_key\":\"%s\",\"name\":null,"
             "\"village_code\":null,\"event_date\":\"2023-01-02\",\"amount_fen\":"
             "{\"long\":-9223372036854775807},\"disability_grade\":null,\"source\":"
             "{\"department\":\"CIVIL_AFFAIRS\",\"connector_instance\":\"civil\","
             "\"record_id\":\"N1\",\"location\":null,\"row\":null}}", P_HEAD);
    from_json(s_civil, &v_civil, json);
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, &v_civil);
    /* a second one would overflow the year's sum: refused, not wrapped */
    w.coords.offset++;
    CU_ASSERT_EQUAL(tdm_suspects_note_record(w.s, TDM_DATASET_CIVIL_AFFAIRS, &v_civil, &w.coords,
                                             NULL, &err), -EOVERFLOW);
    /* a death 3660 days (its grace) before the last day a date can hold */
    avro_value_t f;
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DEATH_REGISTERED", P_WIFE, ymd(2023, 1, 1), -1, 0,
                                              "SW1"));
    CU_ASSERT_EQUAL(avro_value_get_by_name(&v_civil, "event_date", &f, NULL), 0);
    CU_ASSERT_EQUAL(avro_value_set_int(&f, INT32_MAX - 3660), 0);
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, &v_civil);
    w.hh.income_annual_fen = INT64_MIN + 5;
    tdm_suspect_list_reset(&w.out);
    w.trigger = (tdm_suspect_trigger){TDM_DATASET_HOUSEHOLD, &ROSTER, NULL, w.hh.updated_at};
    CU_ASSERT_EQUAL(tdm_suspects_eval(&c2, &w.hh, NULL, INT32_MAX, &w.trigger, w.s, &w.out,
                                      &err), 0);
    CU_ASSERT_EQUAL(w.out.n, 1); /* the death; the income sum minus 100 does not exist */
    if (w.out.n == 1) {
        CU_ASSERT_STR_EQ(w.out.v[0].indicator_id, "death");
        CU_ASSERT_EQUAL(w.out.v[0].raised_at, tdm_eval_cst_midnight_ms(INT32_MAX));
        CU_ASSERT_EQUAL(w.out.v[0].fix_due_date, INT32_MAX);
    }
    CU_ASSERT_EQUAL(tdm_suspects_next_due(w.s, tol, 0), INT32_MAX); /* beyond a day */
    tdm_rules_free(tol);
    world_done(&w);
}

/* ---- DEPARTMENT_DATA_WRONG and the outcome's rejections ---- */

static int apply(world *w, avro_value_t *v, td_error *err)
{
    tdm_suspect_list_reset(&w->out);
    return tdm_suspects_outcome(&ctx, v, &w->hh, w->s, &w->out, err);
}

static void test_outcome(void)
{
    world w;
    world_init(&w);
    td_error err = {0};
    int32_t d = ymd(2023, 5, 4);
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DEATH_REGISTERED", P_WIFE, d, -1, 0, "SW1"));
    CU_ASSERT_EQUAL(eval_roster(&w, d + 30), 1);
    char id[TDM_SUSPECT_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", w.out.v[0].suspect_id);
    tdm_suspects *before = tdm_suspects_copy(w.s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(before);

    /* rejections leave state and list untouched */
    CU_ASSERT_EQUAL(apply(&w, outcome("sus-nope", "DEPARTMENT_DATA_WRONG", "民政误登", "王五",
                                      "赵六", d + 31, "V1"), &err), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "is not open"));
    CU_ASSERT_EQUAL(apply(&w, outcome(id, "DEPARTMENT_DATA_WRONG", "民政误登", "王五", " 王五",
                                      d + 31, "V2"), &err), -EPERM);
    CU_ASSERT_EQUAL(apply(&w, outcome(id, "DEPARTMENT_DATA_WRONG", "民政误登", "", "赵六",
                                      d + 31, "V3"), &err), -EPERM);
    CU_ASSERT_EQUAL(apply(&w, outcome(id, "DISMISSED", "不是疑点", "王五", "赵六", d + 31,
                                      "V4"), &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "only as DEPARTMENT_DATA_WRONG"));
    CU_ASSERT_EQUAL(apply(&w, outcome(id, "DEPARTMENT_DATA_WRONG", " ", "王五", "赵六", d + 31,
                                      "V5"), &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "without reason"));
    CU_ASSERT_EQUAL(apply(&w, outcome(id, "DEPARTMENT_DATA_WRONG", NULL, "王五", "赵六", d + 31,
                                      "V6"), &err), -EINVAL);
    CU_ASSERT_EQUAL(w.out.n, 0);
    CU_ASSERT(tdm_suspects_equal(before, w.s));
    tdm_suspects_free(before);

    /* two people: closed */
    CU_ASSERT_EQUAL(apply(&w, outcome(id, "DEPARTMENT_DATA_WRONG", "民政误登，本人健在", "王五",
                                      "赵六", d + 32, "V7"), &err), 0);
    CU_ASSERT_EQUAL_FATAL(w.out.n, 1);
    const tdm_suspect_out *m = &w.out.v[0];
    CU_ASSERT_EQUAL(m->kind, TDM_SUSPECT_CLOSED);
    CU_ASSERT_STR_EQ(m->suspect_id, id);
    CU_ASSERT_TRUE(m->has_closure);
    CU_ASSERT_EQUAL(m->closure.outcome, TDM_OUTCOME_DEPARTMENT_DATA_WRONG);
    CU_ASSERT_STR_EQ(m->closure.reason, "民政误登，本人健在");
    CU_ASSERT_STR_EQ(m->closure.outcome_id, "V7");
    CU_ASSERT_EQUAL(m->closure.visit_date, d + 32);
    CU_ASSERT_EQUAL(m->raised_at, tdm_eval_cst_midnight_ms(d + 30));
    check_messages(&w);
    CU_ASSERT_EQUAL(tdm_suspects_open_count(w.s), 0);
    /* closed again: not open */
    CU_ASSERT_EQUAL(apply(&w, outcome(id, "DEPARTMENT_DATA_WRONG", "再次", "王五", "赵六",
                                      d + 33, "V8"), &err), -ENOENT);

    /* the same evidence never raises again, whatever the roster does */
    CU_ASSERT_EQUAL(eval_roster(&w, d + 40), 0);
    roster_update(&w, d + 50);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 50), 0);
    CU_ASSERT_TRUE(tdm_suspects_is_empty(w.s) == false);
    /* a newer record of the same fact does */
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DEATH_REGISTERED", P_WIFE, d + 40, -1, 0, "SW2"));
    CU_ASSERT_EQUAL(eval_roster(&w, d + 69), 0);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 70), 1);
    m = find(&w, "death-still-listed", TDM_SUSPECT_RAISED);
    NEED(m);
    CU_ASSERT_STR_NE(m->suspect_id, id);
    CU_ASSERT_STR_EQ(m->evidence[0].src_record_id, "SW2");
    world_done(&w);
}

/* A rule disabled (or removed) by a reload judges nothing: its open
 * suspects stay open until it runs again or the household leaves. */
static void test_rule_disabled(void)
{
    world w;
    td_error err = {0};
    tdm_rules *off = NULL;
    int32_t d = ymd(2023, 5, 4);
    world_init(&w);
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, civil("DEATH_REGISTERED", P_WIFE, d, -1, 0, "SW1"));
    CU_ASSERT_EQUAL(eval_roster(&w, d + 30), 1);
    CU_ASSERT_EQUAL_FATAL(tdm_rules_load_string("off.yaml", "suspects:\n"
                                                "  - {id: death-still-listed, name: 甲, "
                                                "check: death_still_listed, fix_hint: 核实, "
                                                "enabled: false}\n"
                                                "  - {id: sex-differs, name: 乙, "
                                                "check: sex_differs, fix_hint: 核实}\n",
                                                &off, &err), 0);
    tdm_eval_ctx c2 = ctx;
    c2.rules = off;
    w.members[1] = w.members[2]; /* she is gone from the roster */
    w.hh.nmembers = 2;
    roster_update(&w, d + 40);
    tdm_suspect_list_reset(&w.out);
    w.trigger = (tdm_suspect_trigger){TDM_DATASET_HOUSEHOLD, &ROSTER, NULL, w.hh.updated_at};
    CU_ASSERT_EQUAL(tdm_suspects_eval(&c2, &w.hh, NULL, d + 40, &w.trigger, w.s, &w.out, &err),
                    0);
    CU_ASSERT_EQUAL(w.out.n, 0);
    CU_ASSERT_EQUAL(tdm_suspects_open_count(w.s), 1);
    CU_ASSERT_EQUAL(tdm_suspects_next_due(w.s, off, d), INT32_MAX);
    /* enabled again: resolved */
    CU_ASSERT_EQUAL(eval_roster(&w, d + 41), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&w, "death-still-listed", TDM_SUSPECT_RESOLVED));
    tdm_rules_free(off);
    world_done(&w);
}

/* ---- determinism: a replay from encoded state gives the same ids ---- */

typedef struct step {
    int kind;               /* 0 note civil, 1 roster eval, 2 change roster */
    const char *type, *person;
    int day;                /* offset from the base day */
    const char *record_id;
} step;

static void run_steps(world *w, const step *st, size_t n, int32_t base, tdm_suspect_list *all)
{
    for (size_t i = 0; i < n; i++) {
        if (st[i].kind == 0) {
            note(w, TDM_DATASET_CIVIL_AFFAIRS,
                 civil(st[i].type, st[i].person, base + st[i].day, 1000, 2, st[i].record_id));
        } else if (st[i].kind == 2) {
            w->members[0].labour = TDM_R_LABOUR_LOST;
            w->hh.dibao = 1;
            roster_update(w, base + st[i].day);
        } else {
            eval_roster(w, base + st[i].day);
            for (size_t k = 0; k < w->out.n; k++) {
                tdm_suspect_out *m = &all->v[all->n];
                CU_ASSERT_FATAL(all->n < all->cap);
                *m = w->out.v[k];
                all->n++;
            }
            w->out.n = 0; /* moved into all */
        }
    }
}

static void test_replay_ids(void)
{
    static const step first[] = {
        {0, "DISABILITY_CERTIFIED", P_HEAD, 0, "CJ1"},
        {0, "DIBAO_APPROVED", P_WIFE, 1, "DB1"},
        {1, NULL, NULL, 10, NULL},
        {1, NULL, NULL, 31, NULL},
    };
    static const step second[] = {
        {0, "DEATH_REGISTERED", P_SON, 32, "SW1"},
        {1, NULL, NULL, 62, NULL},
        {2, NULL, NULL, 70, NULL},
        {1, NULL, NULL, 70, NULL},
    };
    int32_t base = ymd(2023, 5, 8);
    tdm_suspect_out va[32], vb[32];
    tdm_suspect_list a = {va, 0, 32}, b = {vb, 0, 32};
    world w1, w2;
    world_init(&w1);
    world_init(&w2);
    w1.hh.dibao = 0;
    w2.hh.dibao = 0;

    /* run 1: everything in one state */
    run_steps(&w1, first, 4, base, &a);
    size_t n_first = a.n;
    CU_ASSERT(n_first >= 3); /* grade, able-bodied, dibao, income */
    /* run 2: the first half, then a restart from the encoded state */
    run_steps(&w2, first, 4, base, &b);
    size_t len = tdm_suspects_encoded_size(w2.s);
    unsigned char *buf = malloc(len);
    CU_ASSERT_EQUAL_FATAL(tdm_suspects_encode(w2.s, buf, len), 0);
    tdm_suspects *restored = NULL;
    td_error err = {0};
    CU_ASSERT_EQUAL_FATAL(tdm_suspects_decode(buf, len, &restored, &err), 0);
    CU_ASSERT(tdm_suspects_equal(restored, w2.s));
    tdm_suspects_free(w2.s);
    w2.s = restored;
    free(buf);
    w2.offset = w1.offset;

    run_steps(&w1, second, 4, base, &a);
    run_steps(&w2, second, 4, base, &b);
    CU_ASSERT(a.n > n_first + 2); /* the death, and resolutions */
    CU_ASSERT_EQUAL_FATAL(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        CU_ASSERT_STR_EQ(a.v[i].suspect_id, b.v[i].suspect_id);
        CU_ASSERT_EQUAL(a.v[i].kind, b.v[i].kind);
        CU_ASSERT_STR_EQ(a.v[i].indicator_id, b.v[i].indicator_id);
        CU_ASSERT_EQUAL(a.v[i].raised_at, b.v[i].raised_at);
    }
    CU_ASSERT(tdm_suspects_equal(w1.s, w2.s));
    /* every RESOLVED names an id RAISED before */
    for (size_t i = 0; i < a.n; i++) {
        if (a.v[i].kind != TDM_SUSPECT_RESOLVED)
            continue;
        bool seen = false;
        for (size_t k = 0; k < i; k++)
            seen |= a.v[k].kind == TDM_SUSPECT_RAISED &&
                    strcmp(a.v[k].suspect_id, a.v[i].suspect_id) == 0;
        CU_ASSERT_TRUE(seen);
    }
    tdm_suspect_list_reset(&a);
    tdm_suspect_list_reset(&b);
    world_done(&w1);
    world_done(&w2);
}

/* ---- bytes ---- */

/* A state with facts, transfers, open suspects and a closure mark. */
static void rich_state(world *w)
{
    td_error err = {0};
    int32_t d = ymd(2023, 5, 4);
    world_init(w);
    w->hh.dibao = 0;
    w->members[1].public_welfare_job = 0;
    note(w, TDM_DATASET_CIVIL_AFFAIRS, civil("DEATH_REGISTERED", P_SON, d, -1, 0, "SW1"));
    note(w, TDM_DATASET_CIVIL_AFFAIRS, civil("DIBAO_APPROVED", P_WIFE, d, 120000, 0, "DB1"));
    note(w, TDM_DATASET_CIVIL_AFFAIRS, civil("DISABILITY_CERTIFIED", P_HEAD, d, -1, 1, "CJ1"));
    note(w, TDM_DATASET_CIVIL_AFFAIRS, civil("TEMP_ASSISTANCE_GRANTED", P_HEAD, d - 400, 5000, 0,
                                             "LS1"));
    note(w, TDM_DATASET_HUMAN_RESOURCES,
         employment("PUBLIC_WELFARE_JOB_STARTED", P_WIFE, d, "GY1"));
    CU_ASSERT(eval_roster(w, d + 30) >= 5);
    const tdm_suspect_out *m = find(w, "death-still-listed", TDM_SUSPECT_RAISED);
    NEED(m);
    char id[TDM_SUSPECT_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", m->suspect_id);
    tdm_suspect_list_reset(&w->out);
    CU_ASSERT_EQUAL(tdm_suspects_outcome(&ctx, outcome(id, "DEPARTMENT_DATA_WRONG", "误登",
                                                       "王五", "赵六", d + 31, "V1"),
                                         &w->hh, w->s, &w->out, &err), 0);
}

static void test_encode_decode(void)
{
    world w;
    td_error err = {0};
    rich_state(&w);
    CU_ASSERT_FALSE(tdm_suspects_is_empty(w.s));
    CU_ASSERT_EQUAL(tdm_suspects_open_count(w.s), 4);
    size_t len = tdm_suspects_encoded_size(w.s);
    unsigned char *buf = malloc(len + 1), *buf2 = malloc(len);
    CU_ASSERT_FATAL(buf && buf2);
    CU_ASSERT_EQUAL(tdm_suspects_encode(w.s, buf, len - 1), -ENOSPC);
    CU_ASSERT_EQUAL_FATAL(tdm_suspects_encode(w.s, buf, len), 0);
    CU_ASSERT_EQUAL(buf[0], TDM_SUSPECTS_FORMAT);
    tdm_suspects *d = NULL;
    CU_ASSERT_EQUAL_FATAL(tdm_suspects_decode(buf, len, &d, &err), 0);
    CU_ASSERT(tdm_suspects_equal(d, w.s));
    CU_ASSERT_EQUAL(tdm_suspects_encoded_size(d), len);
    CU_ASSERT_EQUAL(tdm_suspects_encode(d, buf2, len), 0);
    CU_ASSERT_EQUAL(memcmp(buf, buf2, len), 0);
    CU_ASSERT_EQUAL(tdm_suspects_open_count(d), 4);
    tdm_suspects_free(d);

    /* every truncation is refused */
    for (size_t n = 0; n < len; n++) {
        d = NULL;
        int rc = tdm_suspects_decode(buf, n, &d, &err);
        CU_ASSERT_EQUAL(rc, -EINVAL);
        CU_ASSERT_PTR_NULL(d);
        if (rc != -EINVAL) {
            printf("\n    truncation at %zu of %zu: %d\n", n, len, rc);
            tdm_suspects_free(d);
            break;
        }
    }
    /* a trailing byte, another format */
    buf[len] = 0;
    CU_ASSERT_EQUAL(tdm_suspects_decode(buf, len + 1, &d, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "trailing"));
    buf[0] = TDM_SUSPECTS_FORMAT + 1;
    CU_ASSERT_EQUAL(tdm_suspects_decode(buf, len, &d, &err), -ENOTSUP);
    buf[0] = TDM_SUSPECTS_FORMAT;
    /* an empty state: the format byte and four zero counts */
    tdm_suspects *e = tdm_suspects_new();
    CU_ASSERT_TRUE(tdm_suspects_is_empty(e));
    CU_ASSERT_EQUAL(tdm_suspects_encoded_size(e), 1 + 4 + 1 + 4 + 4);
    CU_ASSERT_FALSE(tdm_suspects_equal(e, w.s));
    tdm_suspects_free(e);
    /* the copy is equal */
    tdm_suspects *c = tdm_suspects_copy(w.s);
    CU_ASSERT(tdm_suspects_equal(c, w.s));
    tdm_suspects_free(c);
    free(buf);
    free(buf2);
    world_done(&w);
}

/* Decoding accepts only canonical bytes: any one byte changed either is
 * refused or decodes to a state that encodes to exactly those bytes. */
static void test_decode_canonical(void)
{
    world w;
    td_error err = {0};
    rich_state(&w);
    size_t len = tdm_suspects_encoded_size(w.s);
    unsigned char *buf = malloc(len), *again = malloc(len);
    CU_ASSERT_FATAL(buf && again);
    CU_ASSERT_EQUAL_FATAL(tdm_suspects_encode(w.s, buf, len), 0);
    size_t accepted = 0;
    for (size_t i = 1; i < len; i++) {
        static const unsigned char deltas[] = {0x01, 0x80, 0xff};
        for (size_t k = 0; k < sizeof(deltas); k++) {
            tdm_suspects *d = NULL;
            buf[i] ^= deltas[k];
            int rc = tdm_suspects_decode(buf, len, &d, &err);
            if (rc == 0) {
                accepted++;
                CU_ASSERT_EQUAL(tdm_suspects_encoded_size(d), len);
                if (tdm_suspects_encoded_size(d) == len) {
                    CU_ASSERT_EQUAL(tdm_suspects_encode(d, again, len), 0);
                    if (memcmp(again, buf, len) != 0) {
                        printf("\n    byte %zu ^ 0x%02x decodes to other bytes\n", i,
                               deltas[k]);
                        CU_FAIL("not canonical");
                    }
                }
                tdm_suspects_free(d);
            } else {
                CU_ASSERT_EQUAL(rc, -EINVAL);
                CU_ASSERT_PTR_NULL(d);
            }
            buf[i] ^= deltas[k];
        }
    }
    CU_ASSERT(accepted > 0); /* text and numbers may change, the form may not */
    free(buf);
    free(again);
    world_done(&w);
}

/* Facts noted in another order make the same state. */
static void test_order_independent(void)
{
    world a, b;
    int32_t d = ymd(2023, 5, 4);
    world_init(&a);
    world_init(&b);
    avro_value_t *v;
    const tdm_coords c1 = {"tuodi.civil_affairs.events", 0, 7}, c2 = {"tuodi.civil_affairs.events",
                                                                      1, 3};
    td_error err = {0};
    v = civil("DIBAO_APPROVED", P_WIFE, d, 100, 0, "DB1");
    CU_ASSERT_EQUAL(tdm_suspects_note_record(a.s, TDM_DATASET_CIVIL_AFFAIRS, v, &c1, NULL, &err), 0);
    v = civil("DIBAO_CANCELLED", P_WIFE, d, 200, 0, "DB2");
    CU_ASSERT_EQUAL(tdm_suspects_note_record(a.s, TDM_DATASET_CIVIL_AFFAIRS, v, &c2, NULL, &err), 0);
    CU_ASSERT_EQUAL(tdm_suspects_note_record(b.s, TDM_DATASET_CIVIL_AFFAIRS, v, &c2, NULL, &err), 0);
    v = civil("DIBAO_APPROVED", P_WIFE, d, 100, 0, "DB1");
    CU_ASSERT_EQUAL(tdm_suspects_note_record(b.s, TDM_DATASET_CIVIL_AFFAIRS, v, &c1, NULL, &err), 0);
    CU_ASSERT(tdm_suspects_equal(a.s, b.s));
    /* same date: the higher partition is the later record: cancelled */
    a.hh.dibao = 1;
    CU_ASSERT_EQUAL(eval_roster(&a, d + 30), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&a, "dibao-still-marked", TDM_SUSPECT_RAISED));
    /* records of other datasets and event types change nothing */
    bool changed = true;
    CU_ASSERT_EQUAL(tdm_suspects_note_record(b.s, TDM_DATASET_CIVIL_AFFAIRS,
                                             civil("DIBAO_APPLIED", P_HEAD, d, -1, 0, "X"), &c1,
                                             &changed, &err), 0);
    CU_ASSERT_FALSE(changed);
    CU_ASSERT_EQUAL(tdm_suspects_note_record(b.s, TDM_DATASET_MEDICAL_INSURANCE, &v_civil, &c1,
                                             &changed, &err), 0);
    CU_ASSERT_FALSE(changed);
    world_done(&a);
    world_done(&b);
}

/* A person off the roster whom a household now lists brings his facts. */
static void test_absorb(void)
{
    world w;
    td_error err = {0};
    int32_t d = ymd(2023, 5, 4);
    world_init(&w);
    tdm_suspects *alone = tdm_suspects_new();
    const tdm_coords c = {"tuodi.civil_affairs.events", 0, 9};
    CU_ASSERT_EQUAL(tdm_suspects_note_record(alone, TDM_DATASET_CIVIL_AFFAIRS,
                                             civil("DEATH_REGISTERED", P_SON, d, -1, 0, "SW9"),
                                             &c, NULL, &err), 0);
    CU_ASSERT_EQUAL(tdm_suspects_absorb(w.s, alone, &err), 1);
    CU_ASSERT_TRUE(tdm_suspects_is_empty(alone));
    CU_ASSERT_EQUAL(tdm_suspects_absorb(w.s, alone, &err), 0);
    CU_ASSERT_EQUAL(eval_roster(&w, d + 30), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&w, "death-still-listed", TDM_SUSPECT_RAISED));
    CU_ASSERT_EQUAL(tdm_suspects_absorb(w.s, w.s, &err), -EINVAL);
    tdm_suspects_free(alone);
    world_done(&w);
}

/* ---- the Avro value ---- */

static void encode_one(const tdm_suspect_out *m, const char *kind)
{
    td_error err = {0};
    td_avro_buf buf = TD_AVRO_BUF_INIT;
    int rc = tdm_suspect_out_to_avro(m, INSTANCE, &v_suspect, &err);
    if (rc < 0)
        fprintf(stderr, "to_avro: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    rc = td_avro_encode(s_suspect, &v_suspect, &buf, &err);
    if (rc < 0)
        fprintf(stderr, "encode: %s\n", err.msg);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(buf.len > 10);
    td_avro_buf_done(&buf);
    char *json = NULL;
    size_t jl = 0;
    td_avro_buf jb = TD_AVRO_BUF_INIT;
    CU_ASSERT_EQUAL(td_avro_value_to_json(s_suspect, &v_suspect, &jb, &err), 0);
    json = (char *)jb.data;
    jl = jb.len;
    CU_ASSERT_FATAL(json && jl);
    char want[128];
    snprintf(want, sizeof(want), "\"kind\":\"%s\"", kind);
    if (!memmem(json, jl, want, strlen(want)))
        printf("\n%.*s\n", (int)jl, json);
    CU_ASSERT_PTR_NOT_NULL(memmem(json, jl, want, strlen(want)));
    CU_ASSERT_PTR_NOT_NULL(memmem(json, jl, "\"county_code\":\"340421\"", 22));
    CU_ASSERT_PTR_NOT_NULL(memmem(json, jl, INSTANCE, strlen(INSTANCE)));
    td_avro_buf_done(&jb);
}

static void test_to_avro(void)
{
    world w;
    td_error err = {0};
    int32_t d = ymd(2023, 5, 4);
    rich_state(&w); /* its list holds the CLOSED message */
    CU_ASSERT_EQUAL_FATAL(w.out.n, 1);
    encode_one(&w.out.v[0], "CLOSED");
    CU_ASSERT_EQUAL(eval_roster(&w, d + 31), 0);
    /* resolve the dibao suspect by a department record, raise two more */
    avro_value_t *v = civil("DIBAO_CANCELLED", P_WIFE, d + 40, -1, 0, "DB2");
    note(&w, TDM_DATASET_CIVIL_AFFAIRS, v);
    w.hh.tekun = 0;
    w.members[2].sex = TDM_SEX_FEMALE;
    w.members[2].id_sex = TDM_SEX_MALE;
    CU_ASSERT(eval_record(&w, TDM_DATASET_CIVIL_AFFAIRS, v, d + 40) >= 2);
    bool raised = false, resolved = false;
    for (size_t i = 0; i < w.out.n; i++) {
        encode_one(&w.out.v[i], w.out.v[i].kind == TDM_SUSPECT_RAISED ? "RAISED" : "RESOLVED");
        raised |= w.out.v[i].kind == TDM_SUSPECT_RAISED;
        resolved |= w.out.v[i].kind == TDM_SUSPECT_RESOLVED;
    }
    CU_ASSERT_TRUE(raised && resolved);
    /* in (rule file order, person key) order */
    for (size_t i = 1; i < w.out.n; i++) {
        const tdm_suspect_rule *a = tdm_rules_suspect_find(rules, w.out.v[i - 1].indicator_id);
        const tdm_suspect_rule *b = tdm_rules_suspect_find(rules, w.out.v[i].indicator_id);
        CU_ASSERT(a <= b);
    }
    (void)err;
    world_done(&w);
}

static void add_suites(void)
{
    td_test_suite("suspect", setup, teardown);
    TD_TEST(test_death_still_listed);
    TD_TEST(test_disability_grade_differs);
    TD_TEST(test_able_bodied_severely_disabled);
    TD_TEST(test_allowance_not_recorded);
    TD_TEST(test_allowance_still_marked);
    TD_TEST(test_welfare_job);
    TD_TEST(test_duplicate_person);
    TD_TEST(test_birth_date_differs);
    TD_TEST(test_sex_differs);
    TD_TEST(test_unrouted);
    TD_TEST(test_raised_again_new_id);
    TD_TEST(test_still_marked_counts_from_the_end);
    TD_TEST(test_allowance_stays_open);
    TD_TEST(test_member_fact_stays_open);
    TD_TEST(test_income_below_transfers);
    TD_TEST(test_old_fact_raised_on_push_day);
    TD_TEST(test_grace_raised_when_it_ends);
    TD_TEST(test_hostile_numbers);
    TD_TEST(test_outcome);
    TD_TEST(test_rule_disabled);
    TD_TEST(test_replay_ids);
    TD_TEST(test_encode_decode);
    TD_TEST(test_decode_canonical);
    TD_TEST(test_order_independent);
    TD_TEST(test_absorb);
    TD_TEST(test_to_avro);
}

TD_TEST_MAIN(add_suites)
