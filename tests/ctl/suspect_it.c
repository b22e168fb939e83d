/* suspect_it: see suspect_it.h. */
#include "suspect_it.h"

#include "td_test.h"

#include <stdio.h>
#include <string.h>

void suspect_it_produce_raw(rd_kafka_t *rk, const char *topic, const char *key,
                            const void *value, size_t len)
{
    rd_kafka_vu_t vu[4];
    rd_kafka_error_t *pe;
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = topic;
    vu[1].vtype = RD_KAFKA_VTYPE_KEY;
    vu[1].u.mem.ptr = (void *)key;
    vu[1].u.mem.size = strlen(key);
    vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[2].u.mem.ptr = (void *)value;
    vu[2].u.mem.size = len;
    vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[3].u.i = RD_KAFKA_MSG_F_COPY;
    pe = rd_kafka_produceva(rk, vu, 4);
    CU_ASSERT_FATAL(pe == NULL);
}

void suspect_it_produce_json(const td_avro_registry *reg, rd_kafka_t *rk, const char *topic,
                             const char *key, const char *rec, const char *json)
{
    const td_avro_schema *s = td_avro_registry_find_name(reg, rec);
    avro_value_t v;
    td_avro_buf b = TD_AVRO_BUF_INIT;
    td_error err = {0};
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_FATAL(td_avro_schema_value_new(s, &v, &err) == 0);
    if (td_avro_value_from_json(s, json, strlen(json), &v, &err) != 0)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_FATAL(td_avro_encode(s, &v, &b, &err) == 0);
    suspect_it_produce_raw(rk, topic, key, b.data, b.len);
    avro_value_decref(&v);
    td_avro_buf_done(&b);
}

#define EVIDENCE                                                                            \
    "{\"dataset\":\"CIVIL_AFFAIRS\",\"event_type\":{\"string\":\"DEATH_REGISTERED\"},"      \
    "\"person_key\":{\"string\":\"" SUSPECT_IT_PKEY "\"},"                                \
    "\"event_date\":{\"int\":\"2023-12-01\"},"                                             \
    "\"amount_fen\":null,\"topic\":\"tuodi.civil_affairs.events\",\"partition\":0,"         \
    "\"offset\":7,\"source\":{\"department\":\"CIVIL_AFFAIRS\",\"connector_instance\":"     \
    "\"civil\",\"record_id\":\"MZ-1\",\"location\":null,\"row\":null}}"

void suspect_it_produce(const td_avro_registry *reg, rd_kafka_t *rk, const char *topic,
                        const char *id, const char *kind, const char *village, const char *hh,
                        const char *head, const char *person, const char *indicator,
                        const char *name, const char *roster, const char *dept,
                        const char *raised, const char *due, const char *ended)
{
    char json[16384], town[16], county[8], pblock[256], nblock[256], res[2048], clo[1024];
    const char *key = village;
    snprintf(town, sizeof(town), "%.9s", village);
    snprintf(county, sizeof(county), "%.6s", village);
    if (!*village) /* without a known village: tuodi.suspects.unrouted, key the id */
        key = id;
    if (person) {
        snprintf(pblock, sizeof(pblock), "{\"string\":\"" SUSPECT_IT_PKEY "\"}");
        snprintf(nblock, sizeof(nblock), "{\"string\":\"%s\"}", person);
    } else {
        snprintf(pblock, sizeof(pblock), "null");
        snprintf(nblock, sizeof(nblock), "null");
    }
    snprintf(res, sizeof(res), "null");
    snprintf(clo, sizeof(clo), "null");
    if (strcmp(kind, "RESOLVED") == 0)
        snprintf(res, sizeof(res), "{\"cn.tuodi.SuspectResolution\":{\"resolved_at\":\"%s\","
                 "\"record\":" EVIDENCE "}}", ended);
    if (strcmp(kind, "CLOSED") == 0)
        snprintf(clo, sizeof(clo), "{\"cn.tuodi.Closure\":{\"outcome\":\"DEPARTMENT_DATA_WRONG\","
                 "\"category\":null,\"reason\":{\"string\":\"民政登记有误\"},\"visit_date\":"
                 "\"2024-02-09\",\"recorded_at\":\"%s\",\"outcome_id\":\"OUT-%s\"}}", ended, id);
    snprintf(json, sizeof(json),
             "{\"suspect_id\":\"%s\",\"kind\":\"%s\",\"indicator_id\":\"%s\","
             "\"indicator_version\":\"1\",\"indicator_name\":\"%s\",\"fix_hint\":\"请核实后整改\","
             "\"household_id\":\"%s\",\"village_code\":\"%s\",\"township_code\":\"%s\","
             "\"county_code\":\"%s\",\"grid_id\":null,\"head_name\":{\"string\":\"%s\"},"
             "\"person_key\":%s,\"person_name\":%s,\"roster_value\":{\"string\":\"%s\"},"
             "\"department_value\":{\"string\":\"%s\"},\"evidence\":[" EVIDENCE "],"
             "\"raised_at\":\"%s\",\"fix_due_date\":\"%s\",\"resolution\":%s,\"closure\":%s,"
             "\"source\":{\"department\":\"RURAL_REVITALIZATION\",\"connector_instance\":"
             "\"tuodi-matchd@it\",\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             id, kind, indicator, name, hh, village, town, county, head, pblock, nblock, roster,
             dept, raised, due, res, clo, id);
    suspect_it_produce_json(reg, rk, topic, key, "cn.tuodi.Suspect", json);
}
