/* Writes the seed corpus of fuzz_matchd (see the input format there):
 *   gen_matchd_corpus SCHEMAS_DIR OUT_DIR
 * Run it again when the schemas or the input format change:
 *   build/tests/fuzz/gen_matchd_corpus schemas tests/fuzz/corpus/matchd
 * Each seed is a short story: households on the roster, department records
 * about their members and about people off the roster, and outcomes of the
 * alerts raised (flag 2: about the last alert). */
#include "td_avro.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { IN_ROSTER, IN_MEDICAL, IN_CIVIL, IN_HR, IN_VERIFY, IN_COUNT };

static const char *const names[IN_COUNT] = {
    "cn.tuodi.Household", "cn.tuodi.MedicalSettlement", "cn.tuodi.CivilAffairsEvent",
    "cn.tuodi.EmploymentEvent", "cn.tuodi.VerificationOutcome",
};

#define SRC(dept, id) \
    "\"source\":{\"department\":\"" dept "\",\"connector_instance\":\"c\",\"record_id\":\"" id \
    "\",\"location\":{\"string\":\"x.csv\"},\"row\":{\"long\":2}}"

#define MEMBER(pk, rel, born, labour, grade) \
    "{\"person_key\":\"" pk "\",\"name\":\"张三\",\"relation\":\"" rel "\",\"birth_date\":\"" born \
    "\",\"labour_capacity\":\"" labour "\",\"disability_grade\":" grade ",\"in_school\":null}"

#define HOUSEHOLD(id, type, state, members, n, income) \
    "{\"household_id\":\"" id "\",\"village_code\":\"340402100201\",\"grid_id\":\"G-17\"," \
    "\"household_type\":\"" type "\",\"monitoring\":{\"state\":\"" state "\",\"category\":null," \
    "\"identified_date\":null,\"risk_eliminated_date\":null,\"risk_elimination_method\":null}," \
    "\"members\":[" members "],\"household_size\":" n ",\"income\":" income \
    ",\"risks\":[\"01\"],\"updated_at\":\"2024-05-31T10:00:00Z\"," SRC("RURAL_REVITALIZATION", id) "}"

#define INCOME(annual, per) \
    "{\"cn.tuodi.Income\":{\"year\":2023,\"annual_net_fen\":" annual ",\"per_capita_net_fen\":" per "}}"

#define MEDICAL(pk, day, oop, id) \
    "{\"person_key\":\"" pk "\",\"name\":{\"string\":\"张三\"},\"village_code\":{\"string\":" \
    "\"340402100201\"},\"settlement_date\":\"" day "\",\"kind\":\"INPATIENT\",\"total_cost_fen\":" \
    oop ",\"fund_paid_fen\":0,\"out_of_pocket_fen\":" oop ",\"major_disease\":false," \
    SRC("MEDICAL_INSURANCE", id) "}"

#define CIVIL(type, pk, day, amount, id) \
    "{\"event_type\":\"" type "\",\"person_key\":\"" pk "\",\"name\":null,\"village_code\":null," \
    "\"event_date\":\"" day "\",\"amount_fen\":" amount ",\"disability_grade\":null," \
    SRC("CIVIL_AFFAIRS", id) "}"

#define HR(type, pk, day, id) \
    "{\"event_type\":\"" type "\",\"person_key\":\"" pk "\",\"name\":null,\"village_code\":null," \
    "\"event_date\":\"" day "\",\"months_worked_away\":null," SRC("HUMAN_RESOURCES", id) "}"

#define OUTCOME(result, category, reason) \
    "{\"alert_id\":\"unknown\",\"outcome\":\"" result "\",\"category\":" category ",\"reason\":" \
    reason ",\"verifier\":\"v1\",\"reviewer\":\"v2\",\"visit_date\":\"2024-06-03\"," \
    "\"recorded_at\":\"2024-06-03T02:00:00Z\"," SRC("RURAL_REVITALIZATION", "O-1") "}"

#define P1 "340402196503120021"
#define P2 "340402196811200031"
#define P3 "340421197506060072"

typedef struct msg {
    int in;
    unsigned flags;
    const char *json; /* NULL: no body (a tombstone) */
} msg;

static const struct {
    const char *name;
    msg m[8];
} seeds[] = {
    {"medical-on-roster", {
        {IN_ROSTER, 0, HOUSEHOLD("A1", "POVERTY_ALLEVIATED", "NOT_MONITORED",
                                 MEMBER(P1, "HEAD", "1965-03-12", "NORMAL", "null") ","
                                 MEMBER(P2, "SPOUSE", "1968-11-20", "WEAK", "{\"int\":2}"),
                                 "2", INCOME("1580000", "790000"))},
        {IN_MEDICAL, 0, MEDICAL(P1, "2024-05-01", "3000000", "M-1")},
        {IN_MEDICAL, 0, MEDICAL(P2, "2024-05-20", "2500000", "M-2")},
        {IN_VERIFY, 2, OUTCOME("DISMISSED", "null", "{\"string\":\"已核实\"}")},
        {0, 0, NULL}}},
    {"civil-off-roster", {
        {IN_CIVIL, 0, CIVIL("DIBAO_CANCELLED", P3, "2024-04-02", "null", "C-1")},
        {IN_CIVIL, 0, CIVIL("TEMP_ASSISTANCE_GRANTED", P3, "2024-04-10", "{\"long\":150000}", "C-2")},
        {IN_HR, 0, HR("UNEMPLOYMENT_REGISTERED", P3, "2024-04-11", "H-1")},
        {IN_VERIFY, 2, OUTCOME("IDENTIFIED_AS_MONITORING_OBJECT",
                               "{\"cn.tuodi.MonitoringCategory\":\"SUDDEN_HARDSHIP\"}", "null")},
        {0, 0, NULL}}},
    {"income-below-line", {
        {IN_ROSTER, 0, HOUSEHOLD("B1", "ORDINARY", "NOT_MONITORED",
                                 MEMBER(P3, "HEAD", "1975-06-06", "LOST", "{\"int\":1}"),
                                 "1", INCOME("300000", "300000"))},
        {IN_HR, 0, HR("PUBLIC_WELFARE_JOB_ENDED", P3, "2024-05-09", "H-2")},
        {IN_VERIFY, 2, OUTCOME("COULD_NOT_REACH", "null", "null")},
        {IN_ROSTER, 2, NULL},
        {IN_MEDICAL, 0, MEDICAL(P3, "2024-05-30", "100", "M-3")},
        {0, 0, NULL}}},
    {"roster-wrong-key", {
        {IN_ROSTER, 4, HOUSEHOLD("C1", "ORDINARY", "MONITORED",
                                 MEMBER(P2, "HEAD", "1968-11-20", "NORMAL", "null"), "1", "null")},
        {IN_ROSTER, 0, HOUSEHOLD("C1", "ORDINARY", "RISK_ELIMINATED",
                                 MEMBER(P2, "HEAD", "1968-11-20", "NORMAL", "null"), "1", "null")},
        {IN_CIVIL, 0, CIVIL("DEATH_REGISTERED", P2, "2024-06-01", "null", "C-3")},
        {0, 0, NULL}}},
};

int main(int argc, char **argv)
{
    td_avro_registry *reg = NULL;
    const td_avro_schema *s[IN_COUNT];
    avro_value_t v[IN_COUNT];
    td_avro_buf buf = {0};
    td_error err = {0};

    if (argc != 3) {
        fprintf(stderr, "usage: %s SCHEMAS_DIR OUT_DIR\n", argv[0]);
        return 2;
    }
    if (td_avro_registry_new(&reg) < 0 || td_avro_registry_load_dir(reg, argv[1], NULL, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (int i = 0; i < IN_COUNT; i++) {
        s[i] = td_avro_registry_find_name(reg, names[i]);
        if (!s[i] || td_avro_schema_value_new(s[i], &v[i], &err) < 0) {
            fprintf(stderr, "%s: %s\n", names[i], err.msg);
            return 1;
        }
    }
    for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++) {
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/seed-%02zu-%s", argv[2], k, seeds[k].name);
        f = fopen(path, "wb");
        if (!f) {
            perror(path);
            return 1;
        }
        for (const msg *m = seeds[k].m; m->json || m->flags; m++) {
            size_t len = 0;
            const unsigned char *body = (const unsigned char *)"";
            if (m->json) {
                if (td_avro_value_from_json(s[m->in], m->json, strlen(m->json), &v[m->in], &err) < 0 ||
                    td_avro_encode(s[m->in], &v[m->in], &buf, &err) < 0) {
                    fprintf(stderr, "%s: %s\n", seeds[k].name, err.msg);
                    return 1;
                }
                body = buf.data + TD_AVRO_HEADER_LEN;
                len = buf.len - TD_AVRO_HEADER_LEN;
            }
            fputc(m->in + IN_COUNT * (int)m->flags, f);
            fputc((int)(len & 0xff), f);
            fputc((int)(len >> 8), f);
            fwrite(body, 1, len, f);
        }
        if (fclose(f) != 0) {
            perror(path);
            return 1;
        }
    }
    for (int i = 0; i < IN_COUNT; i++)
        avro_value_decref(&v[i]);
    td_avro_buf_done(&buf);
    td_avro_registry_free(reg);
    return 0;
}
