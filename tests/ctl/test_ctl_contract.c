/* tuodictl reads what tuodi-matchd writes: Suspect messages made by matchd's
 * own tdm_suspect_out_to_avro (RAISED, RESOLVED with its resolution, CLOSED
 * with a DEPARTMENT_DATA_WRONG closure, and one without a village), encoded
 * and decoded through the registry as on the bus, then read by tuodictl's
 * tdt_suspect_msg_from_avro and folded: every field the list and the quality
 * report use arrives, and the person key is not among them. */
#include "td_test.h"
#include "tdm_suspect.h"
#include "tdt.h"

#include <stdlib.h>
#include <string.h>

static td_avro_registry *reg;
static const td_avro_schema *schema;
static td_avro_decoder *dec;

static int setup(void)
{
    char dir[4096];
    td_error err = {0};
    snprintf(dir, sizeof(dir), "%s/schemas", td_test_source_root());
    if (td_avro_registry_new(&reg) < 0 || td_avro_registry_load_dir(reg, dir, NULL, &err) < 0)
        return 1;
    schema = td_avro_registry_find_name(reg, "cn.tuodi.Suspect");
    return !schema || td_avro_decoder_new(reg, schema, &dec, &err) < 0;
}

static int teardown(void)
{
    td_avro_decoder_free(dec);
    td_avro_registry_free(reg);
    return 0;
}

static void evidence(tdm_evidence *e, int64_t offset)
{
    memset(e, 0, sizeof(*e));
    e->dataset = TDM_DATASET_CIVIL_AFFAIRS;
    e->event_type = strdup("DEATH_REGISTERED");
    e->person_key = strdup("340421198001010011");
    e->has_event_date = true;
    e->event_date = 19700;
    e->topic = strdup("tuodi.civil_affairs.events");
    e->partition = 2;
    e->offset = offset;
    e->src_department = strdup("CIVIL_AFFAIRS");
    e->src_connector_instance = strdup("civil");
    e->src_record_id = strdup("MZ-1");
}

/* One message of kind for suspect id; village NULL: unrouted. */
static void make(tdm_suspect_list *l, const char *id, tdm_suspect_kind kind, const char *village)
{
    tdm_suspect_out *m;
    l->v = calloc(1, sizeof(*l->v));
    CU_ASSERT_FATAL(l->v != NULL);
    l->n = l->cap = 1;
    m = &l->v[0];
    snprintf(m->suspect_id, sizeof(m->suspect_id), "%s", id);
    m->kind = kind;
    m->indicator_id = strdup("death-still-listed");
    m->indicator_version = strdup("1");
    m->indicator_name = strdup("已登记死亡人员仍在册");
    m->fix_hint = strdup("核实后在名册中标注死亡");
    m->household_id = strdup("H-1");
    if (village) {
        m->route.routed = true;
        snprintf(m->route.village_code, sizeof(m->route.village_code), "%s", village);
        snprintf(m->route.township_code, sizeof(m->route.township_code), "%.9s", village);
        snprintf(m->route.county_code, sizeof(m->route.county_code), "%.6s", village);
    }
    m->grid_id = strdup("G-1");
    m->head_name = strdup("张三");
    m->person_key = strdup("340421198001010011");
    m->person_name = strdup("李四");
    m->roster_value = strdup("在册");
    m->department_value = strdup("2023-12-01 登记死亡");
    m->n_evidence = 1;
    evidence(&m->evidence[0], 7);
    m->raised_at = INT64_C(1704420000000); /* 2024-01-05T02:00:00Z */
    m->fix_due_date = 19755;               /* 2024-02-02 */
    if (kind == TDM_SUSPECT_RESOLVED) {
        m->has_resolution = true;
        m->resolved_at = INT64_C(1706889599000); /* 2024-02-02T15:59:59Z: 23:59:59 China */
        evidence(&m->resolved_by, 9);
        m->resolved_by.dataset = TDM_DATASET_HOUSEHOLD;
    }
    if (kind == TDM_SUSPECT_CLOSED) {
        m->has_closure = true;
        m->closure.outcome = TDM_OUTCOME_DEPARTMENT_DATA_WRONG;
        m->closure.reason = strdup("民政登记有误");
        m->closure.visit_date = 19740;
        m->closure.recorded_at = INT64_C(1705716000000); /* 2024-01-20T02:00:00Z */
        m->closure.outcome_id = strdup("OUT-1");
    }
}

/* matchd's message for l->v[0] through the codec into tuodictl's list. */
static void carry(tdm_suspect_list *l, tdt_suspects *list, tdt_suspect_msg *ret_copy)
{
    avro_value_t val, *out;
    td_avro_buf b = TD_AVRO_BUF_INIT;
    td_error err = {0};
    tdt_suspect_msg m;
    CU_ASSERT_FATAL(td_avro_schema_value_new(schema, &val, &err) == 0);
    if (tdm_suspect_out_to_avro(&l->v[0], "tuodi-matchd@t", &val, &err) != 0)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_FATAL(td_avro_encode(schema, &val, &b, &err) == 0);
    CU_ASSERT_FATAL(td_avro_decode(dec, b.data, b.len, &out, &err) == 0);
    CU_ASSERT_FATAL(tdt_suspect_msg_from_avro(out, &m, &err) == 0);
    CU_ASSERT_FATAL(tdt_suspects_apply(list, &m, NULL) == 0);
    *ret_copy = m; /* borrowed strings: checked before the next decode */
    CU_ASSERT_STRING_EQUAL(m.suspect_id, l->v[0].suspect_id);
    CU_ASSERT_STRING_EQUAL(m.indicator_name, "已登记死亡人员仍在册");
    CU_ASSERT_STRING_EQUAL(m.fix_hint, "核实后在名册中标注死亡");
    CU_ASSERT_STRING_EQUAL(m.person_name, "李四");
    CU_ASSERT_STRING_EQUAL(m.head_name, "张三");
    CU_ASSERT_STRING_EQUAL(m.roster_value, "在册");
    CU_ASSERT_STRING_EQUAL(m.department_value, "2023-12-01 登记死亡");
    CU_ASSERT_EQUAL(m.raised_at, INT64_C(1704420000000));
    CU_ASSERT_EQUAL(m.fix_due_date, 19755);
    avro_value_decref(&val);
    td_avro_buf_done(&b);
    tdm_suspect_list_done(l);
}

static void test_matchd_suspects_read(void)
{
    tdm_suspect_list l = TDM_SUSPECT_LIST_INIT;
    tdt_suspects *list = NULL;
    tdt_suspect_msg m;
    const tdt_suspect *s;
    tdt_quality q;
    char *csv = NULL;
    size_t len = 0;
    FILE *f;

    CU_ASSERT_FATAL(tdt_suspects_new(&list) == 0);
    make(&l, "sus-00000000000000000000000000000001", TDM_SUSPECT_RAISED, "340421100001");
    carry(&l, list, &m);
    CU_ASSERT(m.kind == TDT_SUSPECT_RAISED);
    CU_ASSERT_STRING_EQUAL(m.village_code, "340421100001");
    CU_ASSERT_STRING_EQUAL(m.township_code, "340421100");
    CU_ASSERT_STRING_EQUAL(m.county_code, "340421");
    CU_ASSERT(!m.has_resolution && !m.has_closure);

    make(&l, "sus-00000000000000000000000000000001", TDM_SUSPECT_RESOLVED, "340421100001");
    carry(&l, list, &m);
    CU_ASSERT(m.kind == TDT_SUSPECT_RESOLVED);
    CU_ASSERT(m.has_resolution);
    CU_ASSERT_EQUAL(m.resolved_at, INT64_C(1706889599000));

    make(&l, "sus-00000000000000000000000000000002", TDM_SUSPECT_CLOSED, "340421102200");
    carry(&l, list, &m);
    CU_ASSERT(m.kind == TDT_SUSPECT_CLOSED);
    CU_ASSERT(m.has_closure);
    CU_ASSERT(m.outcome == TDT_OUTCOME_DEPARTMENT_DATA_WRONG);
    CU_ASSERT_STRING_EQUAL(m.reason, "民政登记有误");
    CU_ASSERT_STRING_EQUAL(m.outcome_id, "OUT-1");
    CU_ASSERT_EQUAL(m.recorded_at, INT64_C(1705716000000));

    make(&l, "sus-00000000000000000000000000000003", TDM_SUSPECT_RAISED, NULL);
    carry(&l, list, &m);
    CU_ASSERT_STRING_EQUAL(m.village_code, ""); /* unrouted */
    CU_ASSERT_STRING_EQUAL(m.township_code, "");

    /* folded: one resolved (on its due day, China time), one closed, one open */
    CU_ASSERT_EQUAL_FATAL(tdt_suspects_count(list), 3);
    s = tdt_suspects_at(list, 0);
    CU_ASSERT(s->state == TDT_SSTATE_RESOLVED);
    CU_ASSERT(tdt_suspects_at(list, 1)->state == TDT_SSTATE_CLOSED);
    CU_ASSERT(tdt_suspects_at(list, 2)->state == TDT_SSTATE_OPEN);
    memset(&q, 0, sizeof(q));
    for (size_t i = 0; i < 3; i++)
        tdt_quality_add(&q, tdt_suspects_at(list, i), INT32_MIN, 19813 /* 2024-03-31 */);
    CU_ASSERT_EQUAL(q.raised, 3);
    CU_ASSERT_EQUAL(q.resolved, 1);
    CU_ASSERT_EQUAL(q.resolved_in_time, 1);
    CU_ASSERT_EQUAL(q.closed, 1);
    CU_ASSERT_EQUAL(q.open, 1);

    /* the whole list for machines: never the person key matchd wrote */
    f = open_memstream(&csv, &len);
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(tdt_suspects_write(list, NULL, "340421", NULL, NULL, true, 19800, TDT_FMT_JSON,
                                 f) == 0);
    CU_ASSERT(tdt_suspects_write(list, NULL, "340421", NULL, NULL, true, 19800, TDT_FMT_CSV,
                                 f) == 0);
    fclose(f);
    CU_ASSERT_PTR_NULL(strstr(csv, "340421198001010011"));
    CU_ASSERT_PTR_NOT_NULL(strstr(csv, "\"state\":\"resolved\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(csv, "\"outcome\":\"DEPARTMENT_DATA_WRONG\""));
    free(csv);
    tdt_suspects_free(list);
}

static void add_suites(void)
{
    td_test_suite("contract", setup, teardown);
    TD_TEST(test_matchd_suspects_read);
}

TD_TEST_MAIN(add_suites)
