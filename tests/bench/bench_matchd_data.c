/* The benchmark's synthetic data (bench_matchd_data.h). Each record type is
 * built once from a JSON template and then only its varying fields are set
 * through the avro_value API before td_avro_encode, so that generating a
 * million records takes seconds. */
#include "bench_matchd_data.h"

#include "td_date.h"
#include "td_idnum.h"
#include "td_time.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const bmd_counties[BMD_COUNTIES] = {"340421", "340422", "340406"};

/* 1950-01-01 as days since 1970-01-01: the earliest birth date. */
#define BMD_BIRTH_BASE (-7305)
#define BMD_MEMBERS 3

struct bmd_gen {
    const td_avro_registry *reg;
    const td_avro_schema *s_household, *s_medical, *s_civil;
    avro_value_t household[BMD_MEMBERS + 1]; /* by number of members; [0] unused */
    bool household_ok[BMD_MEMBERS + 1];
    avro_value_t medical, civil;
    bool medical_ok, civil_ok;
    td_avro_buf buf;
    long persons, records, households;
    int32_t first_day;  /* records are dated first_day .. first_day + 299 */
    int64_t now_ms;
    /* the layout of the department records */
    long med_households, dibao_roster, temp_persons, dibao_off, off_med_persons, off_med_records;
};

/* ---------------------------------------------------------------- helpers */

static uint32_t bmd_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (uint32_t)x;
}

static int bmd_person_key(long i, const char *county, char out[TD_IDNUM_LEN + 1])
{
    long d = i / 1000, seq = i % 1000;
    int32_t birth = BMD_BIRTH_BASE + (int32_t)((d * 17) % 25000);
    char date[TD_AVRO_DATE_BUFSZ], body[32];

    if (td_avro_date_format(birth, date) < 0)
        return -EINVAL;
    snprintf(body, sizeof(body), "%.6s%.4s%.2s%.2s%03d", county, date, date + 5, date + 8,
             (int)seq);
    memcpy(out, body, 17);
    out[17] = td_idnum_check_char(body);
    out[18] = '\0';
    return 0;
}

static int32_t bmd_birth(long i)
{
    return BMD_BIRTH_BASE + (int32_t)(((i / 1000) * 17) % 25000);
}

/* A village of county c, varying with n. */
static void bmd_village(int c, long n, char out[13])
{
    snprintf(out, 13, "%s%03ld%03ld", bmd_counties[c], 100 + (n / 7) % 20, 200 + n % 30);
}

static int bmd_field(avro_value_t *v, const char *name, avro_value_t *ret, td_error *err)
{
    if (avro_value_get_by_name(v, name, ret, NULL) != 0)
        return td_error_set(err, -EINVAL, "no field %s: %s", name, avro_strerror());
    return 0;
}

static int bmd_set_string(avro_value_t *v, const char *name, const char *s, td_error *err)
{
    avro_value_t f;
    int r = bmd_field(v, name, &f, err);
    if (r < 0)
        return r;
    if (avro_value_set_string(&f, s) != 0)
        return td_error_set(err, -EINVAL, "set %s: %s", name, avro_strerror());
    return 0;
}

static int bmd_set_int(avro_value_t *v, const char *name, int32_t x, td_error *err)
{
    avro_value_t f;
    int r = bmd_field(v, name, &f, err);
    if (r < 0)
        return r;
    if (avro_value_set_int(&f, x) != 0)
        return td_error_set(err, -EINVAL, "set %s: %s", name, avro_strerror());
    return 0;
}

static int bmd_set_long(avro_value_t *v, const char *name, int64_t x, td_error *err)
{
    avro_value_t f;
    int r = bmd_field(v, name, &f, err);
    if (r < 0)
        return r;
    if (avro_value_set_long(&f, x) != 0)
        return td_error_set(err, -EINVAL, "set %s: %s", name, avro_strerror());
    return 0;
}

/* A ["null", T] field: branch 1 with a string, or null when s is NULL. */
static int bmd_set_opt_string(avro_value_t *v, const char *name, const char *s, td_error *err)
{
    avro_value_t f, b;
    int r = bmd_field(v, name, &f, err);
    if (r < 0)
        return r;
    if (avro_value_set_branch(&f, s ? 1 : 0, &b) != 0 ||
        (s ? avro_value_set_string(&b, s) : avro_value_set_null(&b)) != 0)
        return td_error_set(err, -EINVAL, "set %s: %s", name, avro_strerror());
    return 0;
}

static int bmd_set_opt_long(avro_value_t *v, const char *name, int64_t x, td_error *err)
{
    avro_value_t f, b;
    int r = bmd_field(v, name, &f, err);
    if (r < 0)
        return r;
    if (avro_value_set_branch(&f, 1, &b) != 0 || avro_value_set_long(&b, x) != 0)
        return td_error_set(err, -EINVAL, "set %s: %s", name, avro_strerror());
    return 0;
}

static int bmd_set_record_id(avro_value_t *v, const char *id, td_error *err)
{
    avro_value_t src;
    int r = bmd_field(v, "source", &src, err);
    return r < 0 ? r : bmd_set_string(&src, "record_id", id, err);
}

static int bmd_template(const td_avro_schema *s, const char *json, avro_value_t *ret,
                        td_error *err)
{
    avro_value_t v;
    int r = td_avro_schema_value_new(s, &v, err);

    if (r < 0)
        return r;
    r = td_avro_value_from_json(s, json, strlen(json), &v, err);
    if (r < 0) {
        avro_value_decref(&v);
        return r;
    }
    *ret = v;
    return 0;
}

/* ------------------------------------------------------------- new / free */

static int bmd_household_template(bmd_gen *g, int members, td_error *err)
{
    static const char *const relation[BMD_MEMBERS] = {"HEAD", "SPOUSE", "CHILD"};
    char json[4096];
    size_t n = 0;

    n += (size_t)snprintf(json + n, sizeof(json) - n,
        "{\"household_id\":\"H\",\"village_code\":\"340421100200\",\"grid_id\":\"G-1\","
        "\"household_type\":\"POVERTY_ALLEVIATED\","
        "\"monitoring\":{\"state\":\"NOT_MONITORED\",\"category\":null,\"identified_date\":null,"
        "\"risk_eliminated_date\":null,\"risk_elimination_method\":null},\"members\":[");
    for (int k = 0; k < members; k++)
        n += (size_t)snprintf(json + n, sizeof(json) - n,
            "%s{\"person_key\":\"P\",\"name\":\"%s\",\"relation\":\"%s\","
            "\"birth_date\":\"1980-01-01\",\"labour_capacity\":\"NORMAL\","
            "\"disability_grade\":null,\"in_school\":null}",
            k ? "," : "", k == 0 ? "张三" : k == 1 ? "李四" : "张小五", relation[k]);
    snprintf(json + n, sizeof(json) - n,
        "],\"household_size\":%d,"
        "\"income\":{\"cn.tuodi.Income\":{\"year\":2023,\"annual_net_fen\":1,"
        "\"per_capita_net_fen\":1}},\"risks\":[],\"updated_at\":\"2026-01-31T10:00:00Z\","
        "\"source\":{\"department\":\"RURAL_REVITALIZATION\",\"connector_instance\":\"roster\","
        "\"record_id\":\"H\",\"location\":null,\"row\":null}}", members);
    return bmd_template(g->s_household, json, &g->household[members], err);
}

int bmd_gen_new(const td_avro_registry *reg, long persons, long records, bmd_gen **ret,
                td_error *err)
{
    bmd_gen *g;
    int r;
    long used;

    if (persons < 100 || records < 100 || records > persons)
        return td_error_set(err, -EINVAL, "bench data: need 100 <= records <= persons");
    g = calloc(1, sizeof(*g));
    if (!g)
        return td_error_set(err, -ENOMEM, "out of memory");
    g->reg = reg;
    g->persons = persons;
    g->records = records;
    g->households = (persons + BMD_MEMBERS - 1) / BMD_MEMBERS;
    g->now_ms = td_time_wall_ms();
    g->first_day = (int32_t)(g->now_ms / 86400000) - 330;
    g->med_households = records * 90 / 100 / 3;
    g->dibao_roster = records * 2 / 100;
    g->temp_persons = records * 2 / 100;
    g->dibao_off = records / 100;
    g->off_med_records = records - 3 * g->med_households - g->dibao_roster - g->temp_persons -
                         g->dibao_off;
    g->off_med_persons = (g->off_med_records + 1) / 2;
    used = g->med_households + g->dibao_roster + (g->temp_persons + 2) / 3;
    if (used >= g->households) {
        r = td_error_set(err, -EINVAL, "bench data: %ld records need more than %ld persons",
                         records, persons);
        goto fail;
    }
    g->s_household = td_avro_registry_find_name(reg, "cn.tuodi.Household");
    g->s_medical = td_avro_registry_find_name(reg, "cn.tuodi.MedicalSettlement");
    g->s_civil = td_avro_registry_find_name(reg, "cn.tuodi.CivilAffairsEvent");
    if (!g->s_household || !g->s_medical || !g->s_civil) {
        r = td_error_set(err, -ENOENT, "bench data: schemas missing from the registry");
        goto fail;
    }
    for (int m = 1; m <= BMD_MEMBERS; m++) {
        r = bmd_household_template(g, m, err);
        if (r < 0)
            goto fail;
        g->household_ok[m] = true;
    }
    r = bmd_template(g->s_medical,
        "{\"person_key\":\"P\",\"name\":{\"string\":\"张三\"},\"village_code\":null,"
        "\"settlement_date\":\"2026-01-01\",\"kind\":\"INPATIENT\",\"total_cost_fen\":0,"
        "\"fund_paid_fen\":0,\"out_of_pocket_fen\":0,\"major_disease\":false,"
        "\"source\":{\"department\":\"MEDICAL_INSURANCE\",\"connector_instance\":\"medical\","
        "\"record_id\":\"M\",\"location\":null,\"row\":null}}", &g->medical, err);
    if (r < 0)
        goto fail;
    g->medical_ok = true;
    r = bmd_template(g->s_civil,
        "{\"event_type\":\"DIBAO_APPLIED\",\"person_key\":\"P\",\"name\":null,"
        "\"village_code\":null,\"event_date\":\"2026-01-01\",\"amount_fen\":null,"
        "\"disability_grade\":null,\"source\":{\"department\":\"CIVIL_AFFAIRS\","
        "\"connector_instance\":\"civil\",\"record_id\":\"C\",\"location\":null,\"row\":null}}",
        &g->civil, err);
    if (r < 0)
        goto fail;
    g->civil_ok = true;
    *ret = g;
    return 0;
fail:
    bmd_gen_free(g);
    return r;
}

bmd_gen *bmd_gen_free(bmd_gen *g)
{
    if (!g)
        return NULL;
    for (int m = 1; m <= BMD_MEMBERS; m++)
        if (g->household_ok[m])
            avro_value_decref(&g->household[m]);
    if (g->medical_ok)
        avro_value_decref(&g->medical);
    if (g->civil_ok)
        avro_value_decref(&g->civil);
    td_avro_buf_done(&g->buf);
    free(g);
    return NULL;
}

/* ----------------------------------------------------------------- roster */

static int bmd_household_county(long h)
{
    return (int)(h % BMD_COUNTIES);
}

static int bmd_members(const bmd_gen *g, long h)
{
    return h < g->households - 1 ? BMD_MEMBERS
                                 : (int)(g->persons - BMD_MEMBERS * (g->households - 1));
}

static void bmd_household_id(long h, char out[32])
{
    snprintf(out, 32, "H%s%08ld", bmd_counties[bmd_household_county(h)], h);
}

int bmd_gen_roster(bmd_gen *g, bmd_emit_fn emit, void *opaque, td_error *err)
{
    /* The households of the 临时救助 records say an income of 1 yuan in the
     * records' year: their first grant is above it, a suspect of the
     * suspicious-data list (income_below_transfers) on the records' path.
     * The alert rules have no line for that year: no alert. */
    long temp_lo = g->med_households + g->dibao_roster;
    long temp_hi = temp_lo + (g->temp_persons + BMD_MEMBERS - 1) / BMD_MEMBERS;
    int ty = 0, tm = 0, td = 0;
    td_date_to_ymd(g->first_day, &ty, &tm, &td);
    for (long h = 0; h < g->households; h++) {
        int members = bmd_members(g, h), c = bmd_household_county(h), r;
        avro_value_t *v = &g->household[members], arr, f, mon;
        char hid[32], village[13], key[TD_IDNUM_LEN + 1];
        uint32_t x = bmd_mix((uint64_t)h);
        int64_t per_capita = (9000 + (int64_t)(x % 21000)) * 100;

        bmd_household_id(h, hid);
        bmd_village(c, h, village);
        if ((r = bmd_set_string(v, "household_id", hid, err)) < 0 ||
            (r = bmd_set_string(v, "village_code", village, err)) < 0 ||
            (r = bmd_field(v, "household_type", &f, err)) < 0)
            return r;
        /* 70% 脱贫户, 30% 一般农户; every 10th household monitored */
        if (avro_value_set_enum(&f, h % 10 < 7 ? 1 : 2) != 0)
            return td_error_set(err, -EINVAL, "household_type: %s", avro_strerror());
        if ((r = bmd_field(v, "monitoring", &mon, err)) < 0 ||
            (r = bmd_field(&mon, "state", &f, err)) < 0)
            return r;
        if (avro_value_set_enum(&f, h % 10 == 0 ? 2 : 1) != 0)
            return td_error_set(err, -EINVAL, "monitoring.state: %s", avro_strerror());
        if ((r = bmd_field(v, "income", &f, err)) < 0)
            return r;
        {
            avro_value_t inc;
            if (avro_value_get_current_branch(&f, &inc) != 0)
                return td_error_set(err, -EINVAL, "income: %s", avro_strerror());
            bool transfers = h >= temp_lo && h < temp_hi;
            if ((r = bmd_set_int(&inc, "year", transfers ? ty : 2023, err)) < 0 ||
                (r = bmd_set_long(&inc, "per_capita_net_fen", transfers ? 100 / members
                                                                        : per_capita, err)) < 0 ||
                (r = bmd_set_long(&inc, "annual_net_fen",
                                  transfers ? 100 : per_capita * members, err)) < 0)
                return r;
        }
        if ((r = bmd_field(v, "members", &arr, err)) < 0)
            return r;
        for (int k = 0; k < members; k++) {
            long p = h * BMD_MEMBERS + k;
            avro_value_t m;
            if (avro_value_get_by_index(&arr, (size_t)k, &m, NULL) != 0)
                return td_error_set(err, -EINVAL, "members: %s", avro_strerror());
            if ((r = bmd_person_key(p, bmd_counties[c], key)) < 0 ||
                (r = bmd_set_string(&m, "person_key", key, err)) < 0 ||
                (r = bmd_set_int(&m, "birth_date", bmd_birth(p), err)) < 0)
                return r;
        }
        if ((r = bmd_set_long(v, "updated_at", g->now_ms, err)) < 0 ||
            (r = bmd_set_record_id(v, hid, err)) < 0 ||
            (r = td_avro_encode(g->s_household, v, &g->buf, err)) < 0 ||
            (r = emit(opaque, BMD_ROSTER, hid, strlen(hid), g->buf.data, g->buf.len)) < 0)
            return r;
    }
    return 0;
}

/* ------------------------------------------------------------ departments */

static int bmd_medical(bmd_gen *g, const char *key, const char *village, int32_t day,
                       int64_t oop_fen, const char *record_id, void *opaque, bmd_emit_fn emit,
                       td_error *err)
{
    avro_value_t *v = &g->medical;
    int r;

    if ((r = bmd_set_string(v, "person_key", key, err)) < 0 ||
        (r = bmd_set_opt_string(v, "village_code", village, err)) < 0 ||
        (r = bmd_set_int(v, "settlement_date", day, err)) < 0 ||
        (r = bmd_set_long(v, "total_cost_fen", oop_fen * 2, err)) < 0 ||
        (r = bmd_set_long(v, "fund_paid_fen", oop_fen, err)) < 0 ||
        (r = bmd_set_long(v, "out_of_pocket_fen", oop_fen, err)) < 0 ||
        (r = bmd_set_record_id(v, record_id, err)) < 0 ||
        (r = td_avro_encode(g->s_medical, v, &g->buf, err)) < 0)
        return r;
    return emit(opaque, BMD_MEDICAL, key, strlen(key), g->buf.data, g->buf.len);
}

/* event: the CivilAffairsEventType index (1 DIBAO_APPLIED, 5 TEMP_...). */
static int bmd_civil_value(bmd_gen *g, int event, const char *key, const char *village,
                           int32_t day, int64_t amount_fen, const char *record_id,
                           td_error *err)
{
    avro_value_t *v = &g->civil, f, b;
    int r;

    if ((r = bmd_field(v, "event_type", &f, err)) < 0)
        return r;
    if (avro_value_set_enum(&f, event) != 0)
        return td_error_set(err, -EINVAL, "event_type: %s", avro_strerror());
    if ((r = bmd_set_string(v, "person_key", key, err)) < 0 ||
        (r = bmd_set_opt_string(v, "village_code", village, err)) < 0 ||
        (r = bmd_set_int(v, "event_date", day, err)) < 0 ||
        (r = bmd_set_record_id(v, record_id, err)) < 0)
        return r;
    if (amount_fen > 0) {
        if ((r = bmd_set_opt_long(v, "amount_fen", amount_fen, err)) < 0)
            return r;
    } else {
        if ((r = bmd_field(v, "amount_fen", &f, err)) < 0)
            return r;
        if (avro_value_set_branch(&f, 0, &b) != 0 || avro_value_set_null(&b) != 0)
            return td_error_set(err, -EINVAL, "amount_fen: %s", avro_strerror());
    }
    return td_avro_encode(g->s_civil, v, &g->buf, err);
}

static int bmd_civil(bmd_gen *g, int event, const char *key, const char *village, int32_t day,
                     int64_t amount_fen, const char *record_id, void *opaque, bmd_emit_fn emit,
                     td_error *err)
{
    int r = bmd_civil_value(g, event, key, village, day, amount_fen, record_id, err);
    return r < 0 ? r : emit(opaque, BMD_CIVIL, key, strlen(key), g->buf.data, g->buf.len);
}

enum { S_MED, S_DIBAO, S_TEMP, S_OFF_MED, S_OFF_DIBAO, S_N };

int bmd_gen_departments(bmd_gen *g, bmd_emit_fn emit, void *opaque, bmd_expect *ret_expect,
                        td_error *err)
{
    long total[S_N], done[S_N] = {0};
    long off_dibao_base = g->persons + g->off_med_persons;
    long temp_base = g->med_households + g->dibao_roster;
    bmd_expect ex;
    char key[TD_IDNUM_LEN + 1], village[13], rid[40];
    int r = 0;

    memset(&ex, 0, sizeof(ex));
    total[S_MED] = g->med_households;
    total[S_DIBAO] = g->dibao_roster;
    total[S_TEMP] = g->temp_persons;
    total[S_OFF_MED] = g->off_med_persons;
    total[S_OFF_DIBAO] = g->dibao_off;
    for (;;) {
        /* the stream furthest behind its share goes next */
        int s = -1;
        double best = 2.0;
        for (int k = 0; k < S_N; k++) {
            double f;
            if (done[k] >= total[k])
                continue;
            f = (double)done[k] / (double)total[k];
            if (f < best) {
                best = f;
                s = k;
            }
        }
        if (s < 0)
            break;
        long n = done[s]++;
        uint32_t x = bmd_mix((uint64_t)n * 8 + (uint64_t)s);
        int32_t day = g->first_day + (int32_t)(x % 300);

        switch (s) {
        case S_MED: {
            long h = n; /* households 0 .. med_households-1 */
            int c = bmd_household_county(h);
            bool over = h % 25 == 0;
            for (int k = 0; k < BMD_MEMBERS && r == 0; k++) {
                uint32_t y = bmd_mix((uint64_t)h * 4 + (uint64_t)k + 1000003);
                int64_t yuan = over ? 8000 + (int64_t)(y % 1000) : 100 + (int64_t)(y % 1100);
                snprintf(rid, sizeof(rid), "YB-%ld-%d", h, k);
                if ((r = bmd_person_key(h * BMD_MEMBERS + k, bmd_counties[c], key)) == 0)
                    r = bmd_medical(g, key, NULL, day, yuan * 100, rid, opaque, emit, err);
                ex.medical_records++;
            }
            if (over) {
                ex.medical_alerts++;
                ex.per_county[c]++;
            }
            break;
        }
        case S_DIBAO: {
            long h = g->med_households + n;
            int c = bmd_household_county(h);
            snprintf(rid, sizeof(rid), "MZ-D-%ld", n);
            if ((r = bmd_person_key(h * BMD_MEMBERS, bmd_counties[c], key)) == 0)
                r = bmd_civil(g, 1, key, NULL, day, 0, rid, opaque, emit, err);
            ex.civil_records++;
            ex.dibao_alerts++;
            ex.per_county[c]++;
            break;
        }
        case S_TEMP: {
            long h = temp_base + n / BMD_MEMBERS;
            int c = bmd_household_county(h);
            snprintf(rid, sizeof(rid), "MZ-T-%ld", n);
            if ((r = bmd_person_key(h * BMD_MEMBERS + n % BMD_MEMBERS, bmd_counties[c], key)) == 0)
                r = bmd_civil(g, 5, key, NULL, day, 30000, rid, opaque, emit, err);
            ex.civil_records++;
            break;
        }
        case S_OFF_MED: {
            int c = (int)(n % BMD_COUNTIES);
            bool over = n % 20 == 0;
            /* the last person gets 1 record when the count is odd */
            int nrec = (n == g->off_med_persons - 1 && g->off_med_records % 2) ? 1 : 2;
            bmd_village(c, n, village);
            if ((r = bmd_person_key(g->persons + n, bmd_counties[c], key)) < 0)
                break;
            for (int k = 0; k < nrec && r == 0; k++) {
                uint32_t y = bmd_mix((uint64_t)n * 4 + (uint64_t)k + 7000001);
                int64_t yuan = over ? 12000 : 100 + (int64_t)(y % 1400);
                snprintf(rid, sizeof(rid), "YB-O-%ld-%d", n, k);
                r = bmd_medical(g, key, village, day, yuan * 100, rid, opaque, emit, err);
                ex.medical_records++;
            }
            if (over && nrec == 2) {
                ex.medical_alerts++;
                ex.per_county[c]++;
            }
            break;
        }
        default: { /* S_OFF_DIBAO */
            int c = (int)(n % BMD_COUNTIES);
            bmd_village(c, n, village);
            snprintf(rid, sizeof(rid), "MZ-O-%ld", n);
            if ((r = bmd_person_key(off_dibao_base + n, bmd_counties[c], key)) == 0)
                r = bmd_civil(g, 1, key, village, day, 0, rid, opaque, emit, err);
            ex.civil_records++;
            ex.dibao_alerts++;
            ex.per_county[c]++;
            break;
        }
        }
        if (r < 0)
            return r;
    }
    ex.alerts = ex.medical_alerts + ex.dibao_alerts;
    *ret_expect = ex;
    return 0;
}

/* ---------------------------------------------------------------- latency */

int bmd_gen_latency_record(bmd_gen *g, long i, char key[32], td_avro_buf *out, td_error *err)
{
    long person = g->persons + g->off_med_persons + g->dibao_off + i;
    int c = (int)(i % BMD_COUNTIES), r;
    char village[13], rid[40], id[TD_IDNUM_LEN + 1];

    bmd_village(c, i, village);
    snprintf(rid, sizeof(rid), "LAT-%ld", i);
    if ((r = bmd_person_key(person, bmd_counties[c], id)) < 0)
        return td_error_set(err, r, "latency record %ld: no identity number", i);
    r = bmd_civil_value(g, 1, id, village, g->first_day + 320, 0, rid, err);
    if (r < 0)
        return r;
    if ((r = td_avro_buf_reserve(out, g->buf.len)) < 0)
        return td_error_set(err, r, "out of memory");
    memcpy(out->data, g->buf.data, g->buf.len);
    out->len = g->buf.len;
    snprintf(key, 32, "%s", id);
    return 0;
}

long bmd_latency_index(const char *record_id, size_t len)
{
    long v = 0;

    if (len < 5 || memcmp(record_id, "LAT-", 4) != 0)
        return -1;
    for (size_t k = 4; k < len; k++) {
        if (record_id[k] < '0' || record_id[k] > '9' || v > 100000000)
            return -1;
        v = v * 10 + (record_id[k] - '0');
    }
    return v;
}
