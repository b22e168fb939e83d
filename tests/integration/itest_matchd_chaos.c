/* tuodi-matchd SIGKILL chaos against the real Kafka broker (KAFKA_BOOTSTRAP).
 *
 * "The same inputs must give the same alerts whether or not the daemon
 * crashed on the way."
 *
 *   1. One set of input topics (a unique prefix, 4 partitions each) is
 *      produced once: a roster of some thousands of households, then a few
 *      hundred thousand medical, civil-affairs and employment records keyed
 *      by person key (so one household's records land on different
 *      partitions and topics), every record with an explicit Kafka
 *      timestamp from a fixed base in increasing steps (no wall clock).
 *      The data come from a fixed seed: medical spending of several members
 *      summing across the thresholds (5,000 / 20,000 yuan, half the income)
 *      over a trailing 365 days, signals of two departments within 90 days
 *      (severity HIGH), repeats (suppressed), people not on the roster,
 *      临时救助 around 1,000 yuan, disability grades 1-4, deaths and
 *      unemployment of members inside and outside 16-60.
 *   2. Run A: matchd (group A-<run>) runs uninterrupted until its committed
 *      offsets reach the end of every input partition, then SIGTERM.
 *   3. Run B: the same inputs (group B-<run>), SIGKILLed at random moments
 *      (during start-up and roster load, 1-3 s after the start, or once the
 *      group's commits pass a position that moves through the stream with
 *      the kills) and restarted, at least 20 times and until
 *      three quarters of the stream are through (at most 60 times), once
 *      with its state directory deleted (a lost disk); then a last run
 *      consumes the rest and gets SIGTERM. B's LMDB map starts at 1 MiB
 *      (store.map_size), so it grows under write transactions, kills
 *      included; A keeps the default.
 *      The roster carries what the suspicious-data list (issue 14) compares:
 *      disability grades, 低保, public-welfare jobs, sex against the
 *      identity number's, some persons on two households. Households are
 *      also exported again while the records flow (every 300th record),
 *      each export drawing those fields anew (TD_CHAOS_REEXPORT=0: not).
 *      The roster topic is compacted but never cleaned while the test runs
 *      (min.compaction.lag.ms): cleaned, it dropped the earlier exports
 *      under the runs, and A and B read different rosters (2026-12-07:
 *      4,000 of 19,000 alert messages differed, docs/matchd-design.md,
 *      "Open points").
 *   4. Both alert topic sets are read with read_committed: no duplicate
 *      (alert_id, kind; and severity for ALERTs, which an escalation repeats
 *      at a higher one) on either side; the same set on both sides (ALERTs
 *      and OVERDUE_WARNINGs), with the same topic (after the prefix), key and
 *      value bytes. The one field that differs by construction,
 *      source.connector_instance ("tuodi-matchd@<group_id>"), is checked to
 *      be that and then set equal before the bytes are compared. Teeth:
 *      thousands of alerts, at least 50-100 of each rule, HIGH ones among
 *      them. On a failure the first differences are printed: alert id,
 *      kind, rule, side, the evidence record, the fields that differ (never
 *      a person key).
 *   5. The same for the suspect topic sets (Suspect messages: RAISED,
 *      RESOLVED; the field source.connector_instance normalised likewise):
 *      no duplicate (suspect id, kind), A == B byte for byte, with teeth
 *      (hundreds of suspects, every indicator of the shipped rules that the
 *      data can raise, RESOLVED ones among them).
 *
 * `itest_matchd_chaos reorder` (the 'matchd_reorder' test, about 40 s; the
 * build needs -Dfault_injection=true): live arrival reorders batches and
 * matchd crashes between its two commits (issue 15, item 5: the batch
 * manifest). The same roster; then, while runs A and B work, 低保
 * applications in the normal flow (150 a second, all on 2026-06-01 by
 * their Kafka timestamps, so the push day is the same in any order), each
 * of a subject that gets no other record (order-free), and transactions
 * that commit late: each holds the first member's application of 4
 * households, and just before it commits the second member's goes out in
 * the normal flow with a newer timestamp (the alert hashes the triggering
 * record: the daemon that saw the second first alerts on it, a restore by
 * the merge would take the first). Run A runs uninterrupted; run B is
 * ended at least TD_CHAOS_KILLS times, three in four by the fault hook
 * (TDM_FAULT_AFTER_KAFKA_COMMIT=reordered: exit right after the Kafka
 * commit of a reordered batch, before its LMDB commit), the rest by SIGKILL
 * at a random moment. Checks: (1) per run, the alert index of its state
 * (every ALERT its states raised) holds exactly the ALERTs on its topics,
 * with the bytes of the latest, and its states' open alerts are the
 * topics' folded open alerts with their severities; (2) the order-free
 * alerts of A and B are equal byte for byte; teeth: live arrival did
 * reorder pairs in both runs, most restores replayed a manifest. With the
 * restore by the merge (the manifest ignored) check (1) fails for B.
 *
 * Environment: KAFKA_BOOTSTRAP (required), TD_CHAOS_SEED (the kill seed, to
 * repeat a run), TD_CHAOS_RECORDS (department records, default 300000),
 * TD_CHAOS_KILLS (least SIGKILLs, default 20), TD_CHAOS_REEXPORT (above, default 1).
 */
#include "td_avro.h"
#include "td_date.h"
#include "tdm_engine.h"
#include "tdm_store.h"
#include "tdm_window.h"
#include "td_idnum.h"
#include "td_kafka.h"
#include "td_proc.h"
#include "td_time.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The engine's deterministic merge reads topics.clock and clock.tick_interval
 * (0 when the daemon predates them: td_config rejects unknown keys). Each run
 * gets its own clock topic, and wall-clock ticks are off, since ticks from
 * the wall clock would make the alerts depend on when the run happened.
 * -DMATCHD_HAS_CLOCK=0 runs the test against an engine from before. */
#ifndef MATCHD_HAS_CLOCK
#define MATCHD_HAS_CLOCK 1
#endif

#define PARTITIONS 4
#define HOUSEHOLDS 4000
#define OFF_ROSTER 8000
#define MAX_MEMBERS 5
/* 2023-01-01T00:00:00+08:00: the first department record's timestamp. */
#define BASE_MS INT64_C(1672502400000)
/* 130 s between records: 300,000 records span about 15 months, so old
 * medical spending falls out of the 365-day window. */
#define STEP_MS INT64_C(130000)

static int failures;
#define CHECK(c)                                                                        \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);       \
            failures++;                                                                 \
        }                                                                               \
    } while (0)
#define FATAL(c)                                                                        \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: FATAL: %s\n", __FILE__, __LINE__, #c);              \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

static const char *bootstrap;
static char schemas_dir[4200], build_root[4096], src_root[4000], dir[64];
static td_avro_registry *reg;
static char uniq[64], t_roster[128], t_med[128], t_civil[128], t_hr[128], t_ver[128],
    t_dlq[128];

/* ---- deterministic data ---- */

static uint64_t rng = UINT64_C(0x746f756469); /* fixed: the inputs never change */

static uint32_t rnd(uint32_t n)
{
    /* splitmix64 */
    uint64_t z = (rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    z ^= z >> 31;
    return n ? (uint32_t)(z % n) : 0;
}

typedef struct person {
    char key[TD_IDNUM_LEN + 1];
    int32_t birth;
    int hh; /* index of the household, -1: not on the roster */
} person;

typedef struct household {
    char id[16];
    char village[13];
    int first, n; /* members: persons[first .. first+n) */
} household;

static person *persons;
static household *households;
static int npersons;

static const char *const COUNTIES[] = {"340421", "340422", "340402", "340403"};

static void random_village(char out[13])
{
    snprintf(out, 13, "%s%03u%03u", COUNTIES[rnd(4)], 100 + rnd(5), 200 + rnd(20));
}

/* A valid identity number, unique by construction: region 34 + idx / 1000,
 * sequence idx % 1000. */
static void new_person(int hh, int32_t birth)
{
    person *p = &persons[npersons];
    int y, m, d;
    char body[64];
    td_date_to_ymd(birth, &y, &m, &d);
    FATAL(snprintf(body, sizeof(body), "34%04d%04d%02d%02d%03d", npersons / 1000 % 10000, y,
                   m, d, npersons % 1000) == 17);
    memcpy(p->key, body, 17);
    p->key[17] = td_idnum_check_char(body);
    p->key[18] = '\0';
    p->birth = birth;
    p->hh = hh;
    npersons++;
}

static int32_t random_birth(void)
{
    int32_t lo, hi;
    FATAL(td_date_from_ymd(1933, 1, 1, &lo) && td_date_from_ymd(2015, 12, 31, &hi));
    return lo + (int32_t)rnd((uint32_t)(hi - lo));
}

static void make_people(void)
{
    persons = calloc(HOUSEHOLDS * MAX_MEMBERS + OFF_ROSTER, sizeof(*persons));
    households = calloc(HOUSEHOLDS, sizeof(*households));
    FATAL(persons && households);
    for (int h = 0; h < HOUSEHOLDS; h++) {
        household *hh = &households[h];
        snprintf(hh->id, sizeof(hh->id), "HH%06d", h + 1);
        random_village(hh->village);
        hh->first = npersons;
        hh->n = 1 + (int)rnd(MAX_MEMBERS);
        for (int i = 0; i < hh->n; i++)
            new_person(h, random_birth());
    }
    for (int i = 0; i < OFF_ROSTER; i++)
        new_person(-1, random_birth());
}

/* ---- producing ---- */

static rd_kafka_t *producer;
static int delivery_failures;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
        delivery_failures++;
}

static void encode_json(const char *schema, const char *json, td_avro_buf *out)
{
    const td_avro_schema *s = td_avro_registry_find_name(reg, schema);
    avro_value_t v;
    td_error err = {0};
    FATAL(s);
    FATAL(td_avro_schema_value_new(s, &v, &err) == 0);
    if (td_avro_value_from_json(s, json, strlen(json), &v, &err) < 0 ||
        td_avro_encode(s, &v, out, &err) < 0) {
        fprintf(stderr, "encode %s: %s\n", schema, err.msg);
        exit(1);
    }
    avro_value_decref(&v);
}

/* A record to topic (partition: RD_KAFKA_PARTITION_UA for the key's) through
 * rk, with the Kafka timestamp ts. */
static void send_to(rd_kafka_t *rk, const char *topic, int32_t partition, const char *key,
                    const char *schema, const char *json, int64_t ts)
{
    static td_avro_buf b = TD_AVRO_BUF_INIT;
    rd_kafka_vu_t vu[6];
    rd_kafka_error_t *xe;

    encode_json(schema, json, &b);
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = topic;
    vu[1].vtype = RD_KAFKA_VTYPE_KEY;
    vu[1].u.mem.ptr = (void *)key;
    vu[1].u.mem.size = strlen(key);
    vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[2].u.mem.ptr = b.data;
    vu[2].u.mem.size = b.len;
    vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[3].u.i = RD_KAFKA_MSG_F_COPY;
    vu[4].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
    vu[4].u.i64 = ts;
    vu[5].vtype = RD_KAFKA_VTYPE_PARTITION;
    vu[5].u.i32 = partition;
    for (;;) {
        xe = rd_kafka_produceva(rk, vu, 6);
        if (!xe)
            break;
        if (rd_kafka_error_code(xe) != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "produce: %s\n", rd_kafka_error_string(xe));
            exit(1);
        }
        rd_kafka_error_destroy(xe);
        rd_kafka_poll(rk, 50);
    }
    rd_kafka_poll(rk, 0);
}

/* Non-transactional (idempotent) sends: read_committed consumers read them,
 * and no transaction markers sit between the last record and the end. */
static void send_record(const char *topic, const char *key, const char *schema, const char *json,
                        int64_t ts)
{
    send_to(producer, topic, RD_KAFKA_PARTITION_UA, key, schema, json, ts);
}

static const char *const LABOUR[] = {"NORMAL", "NORMAL", "NORMAL", "NORMAL", "SKILLED",
                                     "SKILLED", "WEAK", "WEAK", "LOST", "NONE"};

/* A 1 in n chance; the roster's optional fields drawn for one export. */
static bool one_in(uint32_t n)
{
    return rnd(n) == 0;
}

static const char *opt_bool(uint32_t yes, uint32_t no)
{
    uint32_t k = rnd(100);
    return k < yes ? "{\"boolean\":true}" : k < yes + no ? "{\"boolean\":false}" : "null";
}

/* The identity number's sex (its 17th digit: odd male). */
static const char *id_sex(const person *p)
{
    return (p->key[16] - '0') % 2 ? "MALE" : "FEMALE";
}

/* One export of household h at ts: the fields the suspects compare drawn
 * anew (a grade, 低保, a public-welfare job, the sex), and 1 in 60
 * households lists the first member of the next household too (one person
 * on two households). */
static void send_household(int h, int64_t ts, const char *updated)
{
    static char json[16384];
    const household *hh = &households[h];
    /* 40% 脱贫户; 15% monitored, 10% risk eliminated; incomes from
     * 6,000 to 86,000 yuan a year (half of the low ones is below the
     * 5,000 / 20,000 yuan thresholds). */
    bool pa = rnd(10) < 4;
    uint32_t st = rnd(20);
    const char *state = st < 3 ? "MONITORED" : st < 5 ? "RISK_ELIMINATED" : "NOT_MONITORED";
    long long income = 600000 + (long long)rnd(80000) * 100;
    bool dup = h % 60 == 7 && h + 1 < HOUSEHOLDS;
    int nm = hh->n + (dup ? 1 : 0);
    size_t n;
    n = (size_t)snprintf(json, sizeof(json),
                         "{\"household_id\":\"%s\",\"village_code\":\"%s\",\"grid_id\":\"G-%d\","
                         "\"household_type\":\"%s\",\"monitoring\":{\"state\":\"%s\","
                         "\"category\":null,\"identified_date\":null,"
                         "\"risk_eliminated_date\":null,\"risk_elimination_method\":null},"
                         "\"dibao\":%s,\"tekun\":%s,\"members\":[",
                         hh->id, hh->village, h % 50, pa ? "POVERTY_ALLEVIATED" : "ORDINARY",
                         state, opt_bool(20, 60), opt_bool(3, 80));
    for (int i = 0; i < nm; i++) {
        const person *p = i < hh->n ? &persons[hh->first + i]
                                    : &persons[households[h + 1].first];
        char birth[16], grade[32] = "null", sex[48] = "null";
        td_date_format(p->birth, birth, sizeof(birth));
        if (one_in(6))
            snprintf(grade, sizeof(grade), "{\"int\":%u}", 1 + rnd(4));
        if (!one_in(4))
            snprintf(sex, sizeof(sex), "{\"cn.tuodi.Sex\":\"%s\"}",
                     one_in(40) ? (strcmp(id_sex(p), "MALE") ? "MALE" : "FEMALE") : id_sex(p));
        n += (size_t)snprintf(json + n, sizeof(json) - n,
                              "%s{\"person_key\":\"%s\",\"name\":\"成员%d\",\"relation\":\"%s\","
                              "\"birth_date\":\"%s\",\"labour_capacity\":\"%s\","
                              "\"disability_grade\":%s,\"in_school\":null,\"sex\":%s,"
                              "\"id_sex\":{\"cn.tuodi.Sex\":\"%s\"},\"public_welfare_job\":%s}",
                              i ? "," : "", p->key, i + 1, i ? "OTHER" : "HEAD", birth,
                              LABOUR[rnd(10)], grade, sex, id_sex(p), opt_bool(5, 70));
    }
    snprintf(json + n, sizeof(json) - n,
             "],\"household_size\":%d,"
             "\"income\":{\"cn.tuodi.Income\":{\"year\":2022,\"annual_net_fen\":%lld,"
             "\"per_capita_net_fen\":%lld}},\"risks\":[],"
             "\"updated_at\":\"%s\","
             "\"source\":{\"department\":\"RURAL_REVITALIZATION\",\"connector_instance\":"
             "\"roster\",\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
             nm, income, income / nm, updated, hh->id);
    send_record(t_roster, hh->id, "cn.tuodi.Household", json, ts);
}

static void produce_roster(void)
{
    /* before the first department record, one second apart */
    for (int h = 0; h < HOUSEHOLDS; h++)
        send_household(h, BASE_MS - (int64_t)(HOUSEHOLDS - h) * 1000, "2022-12-31T08:00:00Z");
}

typedef struct counts {
    long medical, civil, hr, off_roster, roster;
} counts;

static const char *opt_village(const person *p, char *buf, size_t size, bool nullable)
{
    char v[13];
    if (p->hh >= 0) {
        snprintf(buf, size, "{\"string\":\"%s\"}", households[p->hh].village);
        return buf;
    }
    if (nullable && rnd(10) == 0)
        return "null"; /* unrouted */
    random_village(v);
    snprintf(buf, size, "{\"string\":\"%s\"}", v);
    return buf;
}

static void produce_records(long n, counts *c)
{
    bool reexport = !getenv("TD_CHAOS_REEXPORT") || atoi(getenv("TD_CHAOS_REEXPORT")) > 0;
    char json[4096], date[16], village[64];
    memset(c, 0, sizeof(*c));
    for (long i = 0; i < n; i++) {
        int64_t ts = BASE_MS + i * STEP_MS;
        if (reexport && i % 300 == 150) { /* a household exported again */
            char updated[40];
            int32_t d = (int32_t)((ts + 8 * 3600000) / 86400000);
            td_date_format(d, updated, sizeof(updated));
            strcat(updated, "T00:00:00Z");
            send_household((int)rnd(HOUSEHOLDS), ts, updated);
            c->roster++;
        }
        /* the event happened 0 to 20 days before it was published */
        int32_t day = (int32_t)((ts + 8 * 3600000) / 86400000) - (int32_t)rnd(21);
        const person *p;
        uint32_t ds = rnd(100), k;
        if (rnd(100) < 12) {
            p = &persons[npersons - OFF_ROSTER + (int)rnd(OFF_ROSTER)];
            c->off_roster++;
        } else {
            const household *hh = &households[rnd(HOUSEHOLDS)];
            p = &persons[hh->first + (int)rnd((uint32_t)hh->n)];
        }
        td_date_format(day, date, sizeof(date));
        if (ds < 50) {
            /* medical: mostly small out-of-pocket amounts, 1 in 10 up to
             * 3,000 yuan, 1 in 500 up to 30,000 yuan */
            long long oop, total;
            k = rnd(500);
            oop = k == 0 ? 100000 + rnd(2900000) : k < 50 ? rnd(300000) : rnd(10000);
            total = oop + rnd(500000);
            snprintf(json, sizeof(json),
                     "{\"person_key\":\"%s\",\"name\":null,\"village_code\":null,"
                     "\"settlement_date\":\"%s\",\"kind\":\"%s\",\"total_cost_fen\":%lld,"
                     "\"fund_paid_fen\":%lld,\"out_of_pocket_fen\":%lld,\"major_disease\":%s,"
                     "\"source\":{\"department\":\"MEDICAL_INSURANCE\",\"connector_instance\":"
                     "\"medical\",\"record_id\":\"YB-%ld\",\"location\":null,\"row\":null}}",
                     p->key, date, k < 50 ? "INPATIENT" : "OUTPATIENT", total, total - oop, oop,
                     k == 0 ? "true" : "false", i);
            send_record(t_med, p->key, "cn.tuodi.MedicalSettlement", json, ts);
            c->medical++;
        } else if (ds < 75) {
            /* civil affairs */
            const char *type;
            char amount[32] = "null", grade[32] = "null";
            k = rnd(1000);
            if (k < 20) {
                type = "DIBAO_APPLIED";
            } else if (k < 30) {
                type = "DIBAO_APPROVED";
            } else if (k < 35) {
                type = "TEKUN_APPROVED";
            } else if (k < 95) {
                /* 临时救助 around 1,000 yuan: 950.00 .. 1049.99, some exactly
                 * 1,000.00 and 999.99, and smaller ones */
                long long a = k < 40 ? 100000 : k < 45 ? 99999 : k < 70 ? 95000 + rnd(10000)
                                                                       : 10000 + rnd(80000);
                type = "TEMP_ASSISTANCE_GRANTED";
                snprintf(amount, sizeof(amount), "{\"long\":%lld}", a);
            } else if (k < 135) {
                type = "DISABILITY_CERTIFIED";
                snprintf(grade, sizeof(grade), "{\"int\":%u}", 1 + rnd(4));
            } else if (k < 160) {
                type = "DEATH_REGISTERED";
            } else {
                type = "DIBAO_CANCELLED";
            }
            snprintf(json, sizeof(json),
                     "{\"event_type\":\"%s\",\"person_key\":\"%s\",\"name\":null,"
                     "\"village_code\":%s,\"event_date\":\"%s\",\"amount_fen\":%s,"
                     "\"disability_grade\":%s,\"source\":{\"department\":\"CIVIL_AFFAIRS\","
                     "\"connector_instance\":\"civil\",\"record_id\":\"MZ-%ld\","
                     "\"location\":null,\"row\":null}}",
                     type, p->key, opt_village(p, village, sizeof(village), true), date, amount,
                     grade, i);
            send_record(t_civil, p->key, "cn.tuodi.CivilAffairsEvent", json, ts);
            c->civil++;
        } else {
            /* human resources */
            const char *type;
            k = rnd(1000);
            type = k < 40   ? "UNEMPLOYMENT_REGISTERED"
                   : k < 60 ? "PUBLIC_WELFARE_JOB_ENDED"
                   : k < 80 ? "EMPLOYEE_INSURANCE_LAPSED"
                   : k < 300 ? "UNEMPLOYMENT_ENDED"
                   : k < 500 ? "PUBLIC_WELFARE_JOB_STARTED"
                             : "MIGRANT_WORK_REPORTED";
            snprintf(json, sizeof(json),
                     "{\"event_type\":\"%s\",\"person_key\":\"%s\",\"name\":null,"
                     "\"village_code\":%s,\"event_date\":\"%s\",\"months_worked_away\":%s,"
                     "\"source\":{\"department\":\"HUMAN_RESOURCES\",\"connector_instance\":"
                     "\"hr\",\"record_id\":\"RS-%ld\",\"location\":null,\"row\":null}}",
                     type, p->key, opt_village(p, village, sizeof(village), true), date,
                     k >= 500 ? "{\"int\":6}" : "null", i);
            send_record(t_hr, p->key, "cn.tuodi.EmploymentEvent", json, ts);
            c->hr++;
        }
    }
}

/* ---- progress: the group's committed offsets against the end offsets ---- */

typedef struct watch {
    rd_kafka_t *c;
    rd_kafka_topic_partition_list_t *parts; /* the roster's partitions, then the others */
    int64_t *end;
    int64_t total; /* department records */
    bool roster_done;
} watch;

/* A consumer with the daemon's group id that never joins the group: it only
 * fetches the committed offsets. */
static void watch_new(watch *w, const char *group)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    td_error err = {0};
    const char *topics[] = {t_roster, t_med, t_civil, t_hr, t_ver};

    char errstr[256];

    memset(w, 0, sizeof(*w));
    FATAL(td_kafka_consumer_conf_new(bootstrap, group, &props, &conf, &err) == 0);
    /* A read_committed client asks for "stable" offsets, which the broker
     * refuses (UNSTABLE_OFFSET_COMMIT) as long as a transaction with offsets
     * is open, i.e. nearly always while matchd works. Committed offsets are
     * those of committed transactions either way. */
    FATAL(rd_kafka_conf_set(conf, "isolation.level", "read_uncommitted", errstr,
                            sizeof(errstr)) == RD_KAFKA_CONF_OK);
    FATAL(td_kafka_new(RD_KAFKA_CONSUMER, conf, &w->c, &err) == 0);
    w->parts = rd_kafka_topic_partition_list_new(5 * PARTITIONS);
    for (int t = 0; t < 5; t++)
        for (int p = 0; p < (t == 4 ? 1 : PARTITIONS); p++)
            rd_kafka_topic_partition_list_add(w->parts, topics[t], p);
    w->end = calloc((size_t)w->parts->cnt, sizeof(*w->end));
    FATAL(w->end);
    for (int i = 0; i < w->parts->cnt; i++) {
        int64_t lo = 0, hi = 0;
        FATAL(rd_kafka_query_watermark_offsets(w->c, w->parts->elems[i].topic,
                                               w->parts->elems[i].partition, &lo, &hi,
                                               10000) == 0);
        w->end[i] = hi;
        if (i >= PARTITIONS)
            w->total += hi;
    }
}

static void watch_free(watch *w)
{
    rd_kafka_topic_partition_list_destroy(w->parts);
    td_kafka_destroy(w->c);
    free(w->end);
}

/* Department records consumed and committed by the group (sum over the
 * partitions), or -1 when the broker could not say (e.g. a transaction's
 * offsets pending). The roster counts as done when the group commits no
 * offsets for it (it is then read outside the group) or all of them are at
 * its end. */
static int64_t watch_committed(watch *w)
{
    int64_t sum = 0;
    int roster_committed = 0, roster_at_end = 0;
    for (int i = 0; i < w->parts->cnt; i++)
        w->parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    if (rd_kafka_committed(w->c, w->parts, 5000) != 0)
        return -1;
    for (int i = 0; i < w->parts->cnt; i++) {
        int64_t o = w->parts->elems[i].offset;
        if (w->parts->elems[i].err)
            return -1;
        if (o > w->end[i]) {
            fprintf(stderr, "committed offset %" PRId64 " beyond the end %" PRId64 "\n", o,
                    w->end[i]);
            failures++;
        }
        if (i < PARTITIONS) {
            roster_committed += o >= 0;
            roster_at_end += o == w->end[i];
        } else {
            sum += o > 0 ? o : 0;
        }
    }
    w->roster_done = roster_committed == 0 || roster_at_end == PARTITIONS;
    return sum;
}

/* Waits until everything is committed; false on timeout or when the daemon
 * exits by itself. */
static bool watch_wait_done(watch *w, pid_t pid, int timeout_ms)
{
    int64_t until = td_time_mono_ms() + timeout_ms;
    while (td_time_mono_ms() < until) {
        int status;
        if (watch_committed(w) == w->total && w->roster_done)
            return true;
        if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "matchd exited by itself (status 0x%x)\n", status);
            failures++;
            return false;
        }
        usleep(250000);
    }
    return false;
}

/* ---- the daemon ---- */

/* The transaction section of both configs. */
static const char *txn_yaml = "transaction:\n  max_records: 500\n  max_interval: 200ms\n";

/* store: extra YAML for the store section, or NULL. */
static void write_config(const char *path, const char *group, const char *state,
                         const char *alerts_prefix, const char *suspects_prefix,
                         const char *clock_topic, const char *store)
{
    FILE *f = fopen(path, "w");
    FATAL(f);
    fprintf(f,
            "kafka:\n  bootstrap.servers: %s\n"
            /* matchd uses static membership, so a restarted instance takes
             * its killed predecessor's place at once; should that ever not
             * be so, the killed member stays until its session ends: 6 s
             * (the broker's least) rather than 45 s keeps restarts short. */
            "  session.timeout.ms: \"6000\"\n"
            "  heartbeat.interval.ms: \"1000\"\n"
            "group_id: %s\nstate_dir: %s\nrules: %s/deploy/rules/huainan-2023.yaml\n"
            "schemas_dir: %s\nlog_level: notice\n"
            "topics:\n  roster: %s\n  medical_insurance: %s\n  civil_affairs: %s\n"
            "  human_resources: %s\n  verifications_prefix: %s.verifications.\n"
            "  dlq_verifications: %s\n"
            "  alerts_prefix: %s\n  suspects_prefix: %s\n  alert_partitions: 2\n",
            bootstrap, group, state, src_root, schemas_dir, t_roster, t_med, t_civil, t_hr,
            uniq, t_dlq, alerts_prefix, suspects_prefix);
    if (MATCHD_HAS_CLOCK)
        fprintf(f, "  clock: %s\nclock:\n  tick_interval: 0\n", clock_topic);
    else
        (void)clock_topic;
    fprintf(f, "%s", txn_yaml);
    if (store)
        fprintf(f, "store:\n%s", store);
    fclose(f);
}

static void check_config(const char *path)
{
    char cmd[8600];
    snprintf(cmd, sizeof(cmd), "%s/daemon/tuodi-matchd --config %s --check-config >&2",
             build_root, path);
    if (system(cmd) != 0) {
        fprintf(stderr, "matchd rejects the config %s\n", path);
        exit(1);
    }
}

static pid_t spawn(const char *config, const char *log)
{
    char bin[4200];
    pid_t pid;
    snprintf(bin, sizeof(bin), "%s/daemon/tuodi-matchd", build_root);
    pid = td_proc_spawn_config(bin, config, log);
    FATAL(pid >= 0);
    return pid;
}

/* SIGTERM once the daemon has said it is ready (a SIGTERM during start-up is
 * not what this test is about); true when it then exited 0. */
static bool stop_when_ready(pid_t pid, const char *log, int ready_before)
{
    int64_t until = td_time_mono_ms() + 120000;
    int status;
    while (td_proc_log_count(log, "notice: ready:") <= ready_before && td_time_mono_ms() < until)
        usleep(100000);
    status = td_proc_stop(pid, SIGTERM, 60000);
    if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    fprintf(stderr, "matchd did not exit 0 on SIGTERM (status %d: %s %d)\n", status,
            status < 0 ? "timed out" : WIFEXITED(status) ? "exit" : "signal",
            status < 0 ? 0 : WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return false;
}

/* ---- the alerts ---- */

typedef struct alert {
    char id[96]; /* alert id / kind */
    char rule[64];
    int kind, severity;
    char topic[64]; /* after the prefix */
    char key[80];
    int32_t partition;
    int64_t offset;
    unsigned char *value; /* encoded, connector_instance normalised */
    size_t len;
    char record[64];      /* the first evidence's source record id */
    char supersedes[80];  /* supersedes_alert_id, "" when none */
} alert;

typedef struct alerts {
    alert *v;
    size_t n, cap;
    int bad; /* undecodable, or an unexpected connector_instance */
} alerts;

static int alert_cmp(const void *a, const void *b)
{
    return strcmp(((const alert *)a)->id, ((const alert *)b)->id);
}

/* AlertKind and Severity symbols (schemas/alert.avsc), SuspectKind's
 * (schemas/suspect.avsc) */
static const char *const KINDS[] = {"UNKNOWN", "ALERT", "OVERDUE_WARNING", "CLOSED"};
static const char *const SUSPECT_KINDS[] = {"UNKNOWN", "RAISED", "RESOLVED", "CLOSED"};

static const char *const SEVERITIES[] = {"UNKNOWN", "LOW", "MEDIUM", "HIGH"};

/* What is read and compared: alerts, or suspects (the same checks). */
typedef struct kind_of_msg {
    const char *schema, *id_field, *rule_field;
    const char *const *kinds;
} kind_of_msg;
static const kind_of_msg ALERTS = {"cn.tuodi.Alert", "alert_id", "rule_id", KINDS};
static const kind_of_msg SUSPECTS = {"cn.tuodi.Suspect", "suspect_id", "indicator_id",
                                     SUSPECT_KINDS};
static const kind_of_msg *what = &ALERTS;

static const char *kind_name(int k)
{
    return what->kinds[k >= 0 && k < 4 ? k : 0];
}

/* Reads every topic named <prefix>* from the beginning to its end
 * (read_committed), sorted by (alert id, kind). */
static void read_alerts(const char *prefix, const char *group, alerts *out)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *c = NULL;
    td_error err = {0};
    const td_avro_schema *as = td_avro_registry_find_name(reg, what->schema);
    td_avro_decoder *dec = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    char rgroup[128], errstr[256], instance[160];
    td_avro_buf buf = TD_AVRO_BUF_INIT;
    int eofs = 0;
    int64_t until = td_time_mono_ms() + 120000;
    size_t plen = strlen(prefix);

    memset(out, 0, sizeof(*out));
    snprintf(instance, sizeof(instance), "tuodi-matchd@%s", group);
    snprintf(rgroup, sizeof(rgroup), "%s-reader-%s", uniq, group);
    FATAL(td_avro_decoder_new(reg, as, &dec, &err) == 0);
    FATAL(td_kafka_consumer_conf_new(bootstrap, rgroup, &props, &conf, &err) == 0);
    FATAL(rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr)) ==
          RD_KAFKA_CONF_OK);
    FATAL(td_kafka_new(RD_KAFKA_CONSUMER, conf, &c, &err) == 0);
    FATAL(rd_kafka_metadata(c, 1, NULL, &md, 10000) == 0);
    for (int t = 0; t < md->topic_cnt; t++)
        if (strncmp(md->topics[t].topic, prefix, plen) == 0)
            for (int p = 0; p < md->topics[t].partition_cnt; p++)
                rd_kafka_topic_partition_list_add(l, md->topics[t].topic, p)->offset =
                    RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    if (l->cnt > 0)
        FATAL(rd_kafka_assign(c, l) == 0);
    while (eofs < l->cnt && td_time_mono_ms() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        avro_value_t *v, f, src, ci;
        const char *s;
        size_t size;
        alert *a;
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            fprintf(stderr, "reading %s: %s\n", prefix, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 1024;
            out->v = realloc(out->v, out->cap * sizeof(*out->v));
            FATAL(out->v);
        }
        a = &out->v[out->n];
        memset(a, 0, sizeof(*a));
        if (td_avro_decode(dec, m->payload, m->len, &v, &err) < 0 ||
            avro_value_get_by_name(v, what->id_field, &f, NULL) != 0 ||
            avro_value_get_string(&f, &s, &size) != 0 ||
            avro_value_get_by_name(v, "kind", &f, NULL) != 0 ||
            avro_value_get_enum(&f, &a->kind) != 0) {
            fprintf(stderr, "undecodable alert in %s\n", rd_kafka_topic_name(m->rkt));
            out->bad++;
            rd_kafka_message_destroy(m);
            continue;
        }
        snprintf(a->id, sizeof(a->id), "%.64s/%s", s, kind_name(a->kind));
        if (avro_value_get_by_name(v, "severity", &f, NULL) == 0)
            avro_value_get_enum(&f, &a->severity);
        /* an escalation is a second ALERT of the same id at a higher
         * severity (docs/matchd-design.md, "Arrival order and escalation"):
         * (id, ALERT, severity) is what must not repeat */
        if (what == &ALERTS && a->kind == 1) {
            size_t n = strlen(a->id);
            snprintf(a->id + n, sizeof(a->id) - n, "/%s",
                     a->severity >= 0 && a->severity < 4 ? SEVERITIES[a->severity] : "?");
        }
        if (avro_value_get_by_name(v, what->rule_field, &f, NULL) == 0 &&
            avro_value_get_string(&f, &s, &size) == 0)
            snprintf(a->rule, sizeof(a->rule), "%s", s);
        snprintf(a->topic, sizeof(a->topic), "%s", rd_kafka_topic_name(m->rkt) + plen);
        {
            avro_value_t ev, e0, es, r, br;
            if (avro_value_get_by_name(v, "evidence", &ev, NULL) == 0 &&
                avro_value_get_by_index(&ev, 0, &e0, NULL) == 0 &&
                avro_value_get_by_name(&e0, "source", &es, NULL) == 0 &&
                avro_value_get_by_name(&es, "record_id", &r, NULL) == 0 &&
                avro_value_get_string(&r, &s, &size) == 0)
                snprintf(a->record, sizeof(a->record), "%s", s);
            if (avro_value_get_by_name(v, "supersedes_alert_id", &r, NULL) == 0 &&
                avro_value_get_current_branch(&r, &br) == 0 &&
                avro_value_get_type(&br) == AVRO_STRING &&
                avro_value_get_string(&br, &s, &size) == 0)
                snprintf(a->supersedes, sizeof(a->supersedes), "%s", s);
        }
        a->partition = m->partition;
        a->offset = m->offset;
        snprintf(a->key, sizeof(a->key), "%.*s", m->key ? (int)m->key_len : 0,
                 m->key ? (const char *)m->key : "");
        /* the one field that differs by construction */
        if (avro_value_get_by_name(v, "source", &src, NULL) != 0 ||
            avro_value_get_by_name(&src, "connector_instance", &ci, NULL) != 0 ||
            avro_value_get_string(&ci, &s, &size) != 0 || strcmp(s, instance) != 0 ||
            avro_value_set_string(&ci, "tuodi-matchd@*") != 0 ||
            td_avro_encode(as, v, &buf, &err) < 0) {
            fprintf(stderr, "alert %.64s: source.connector_instance is not %s\n", a->id,
                    instance);
            out->bad++;
            rd_kafka_message_destroy(m);
            continue;
        }
        a->value = malloc(buf.len);
        FATAL(a->value);
        memcpy(a->value, buf.data, buf.len);
        a->len = buf.len;
        out->n++;
        rd_kafka_message_destroy(m);
    }
    if (eofs < l->cnt) {
        fprintf(stderr, "reading %s: only %d of %d partitions read to the end\n", prefix, eofs,
                l->cnt);
        failures++;
    }
    rd_kafka_topic_partition_list_destroy(l);
    td_kafka_destroy(c);
    td_avro_decoder_free(dec);
    td_avro_buf_done(&buf);
    qsort(out->v, out->n, sizeof(*out->v), alert_cmp);
}

static void alerts_free(alerts *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].value);
    free(s->v);
}

static int duplicates(const alerts *s, const char *side)
{
    int d = 0;
    for (size_t i = 1; i < s->n; i++)
        if (strcmp(s->v[i].id, s->v[i - 1].id) == 0) {
            if (d < 10)
                fprintf(stderr, "  duplicate in %s: %s rule %s: %s [%" PRId32 "] @%" PRId64
                        " and %s [%" PRId32 "] @%" PRId64 ", %s\n", side, s->v[i].id,
                        s->v[i].rule, s->v[i - 1].topic, s->v[i - 1].partition,
                        s->v[i - 1].offset, s->v[i].topic, s->v[i].partition, s->v[i].offset,
                        s->v[i].len == s->v[i - 1].len &&
                                memcmp(s->v[i].value, s->v[i - 1].value, s->v[i].len) == 0
                            ? "same bytes" : "different bytes");
            d++;
        }
    return d;
}

/* Names the top-level fields in which two encoded alerts differ (names
 * only: values may hold identity numbers). */
static void diff_fields(const alert *x, const alert *y, char *out, size_t size)
{
    const td_avro_schema *as = td_avro_registry_find_name(reg, what->schema);
    td_avro_decoder *dx = NULL, *dy = NULL;
    avro_value_t *vx, *vy;
    td_error err = {0};
    size_t n = 0, len = 0;

    out[0] = '\0';
    if (td_avro_decoder_new(reg, as, &dx, &err) < 0 || td_avro_decoder_new(reg, as, &dy, &err) < 0 ||
        td_avro_decode(dx, x->value, x->len, &vx, &err) < 0 ||
        td_avro_decode(dy, y->value, y->len, &vy, &err) < 0 || avro_value_get_size(vx, &n) != 0) {
        snprintf(out, size, "(undecodable)");
        n = 0;
    }
    for (size_t i = 0; i < n && len < size; i++) {
        avro_value_t fx, fy;
        const char *name = NULL;
        if (avro_value_get_by_index(vx, i, &fx, &name) == 0 &&
            avro_value_get_by_index(vy, i, &fy, NULL) == 0 && !avro_value_equal(&fx, &fy))
            len += (size_t)snprintf(out + len, size - len, "%s%s", len ? ", " : "", name);
    }
    td_avro_decoder_free(dx);
    td_avro_decoder_free(dy);
}

/* Where an alert came from: its first evidence's input record (topic,
 * partition, offset, source record id) and its raise date. No person keys. */
static void describe(const alert *x, char *out, size_t size)
{
    const td_avro_schema *as = td_avro_registry_find_name(reg, what->schema);
    td_avro_decoder *d = NULL;
    avro_value_t *v, f, ev, e0, src;
    td_error err = {0};
    const char *topic = "?", *rec = "?";
    size_t len;
    int32_t part = -1;
    int64_t off = -1, raised = 0;
    char day[16] = "?";

    snprintf(out, size, "(undecodable)");
    if (td_avro_decoder_new(reg, as, &d, &err) < 0 || td_avro_decode(d, x->value, x->len, &v, &err) < 0) {
        td_avro_decoder_free(d);
        return;
    }
    if (avro_value_get_by_name(v, "raised_at", &f, NULL) == 0 && avro_value_get_long(&f, &raised) == 0)
        td_date_format((int32_t)((raised + 8 * 3600000) / 86400000), day, sizeof(day));
    if (avro_value_get_by_name(v, "evidence", &ev, NULL) == 0 &&
        avro_value_get_by_index(&ev, 0, &e0, NULL) == 0) {
        if (avro_value_get_by_name(&e0, "topic", &f, NULL) == 0)
            avro_value_get_string(&f, &topic, &len);
        if (avro_value_get_by_name(&e0, "partition", &f, NULL) == 0)
            avro_value_get_int(&f, &part);
        if (avro_value_get_by_name(&e0, "offset", &f, NULL) == 0)
            avro_value_get_long(&f, &off);
        if (avro_value_get_by_name(&e0, "source", &src, NULL) == 0 &&
            avro_value_get_by_name(&src, "record_id", &f, NULL) == 0)
            avro_value_get_string(&f, &rec, &len);
    }
    snprintf(out, size, "raised %s, evidence %s [%" PRId32 "] @%" PRId64 " record %s", day, topic,
             part, off, rec);
    td_avro_decoder_free(d);
}

/* Compares the two sorted sets; prints the first differences. */
static int compare(const alerts *a, const alerts *b)
{
    size_t i = 0, j = 0;
    int diff = 0, only_a = 0, only_b = 0, bytes = 0;
    while (i < a->n || j < b->n) {
        int c = i >= a->n ? 1 : j >= b->n ? -1 : strcmp(a->v[i].id, b->v[j].id);
        const alert *x = c <= 0 ? &a->v[i] : &b->v[j];
        if (c == 0) {
            const alert *y = &b->v[j];
            if (x->len != y->len || memcmp(x->value, y->value, x->len) != 0 ||
                strcmp(x->topic, y->topic) != 0 || strcmp(x->key, y->key) != 0) {
                if (diff < 20) {
                    char fields[512];
                    diff_fields(x, y, fields, sizeof(fields));
                    fprintf(stderr, "  differs: %s rule %s (topic %s / %s, key %s, fields: %s)\n",
                            x->id, x->rule, x->topic, y->topic,
                            strcmp(x->key, y->key) ? "differs" : "same", fields);
                }
                diff++;
                bytes++;
            }
            i++;
            j++;
            continue;
        }
        if (diff < 20) {
            char where[512];
            describe(x, where, sizeof(where));
            fprintf(stderr, "  only in %s: %s rule %s severity %s, %s\n", c < 0 ? "A" : "B",
                    x->id, x->rule, SEVERITIES[x->severity >= 0 && x->severity < 4 ? x->severity : 0],
                    where);
        }
        diff++;
        if (c < 0) {
            only_a++;
            i++;
        } else {
            only_b++;
            j++;
        }
    }
    if (diff)
        fprintf(stderr, "  %d differences: %d only in A, %d only in B, %d with other bytes\n",
                diff, only_a, only_b, bytes);
    return diff;
}

static void per_rule(const alerts *s, const char *side)
{
    const char *rules[16];
    int n[16][6] = {{0}}, nr = 0; /* ALERT low, medium, high; OVERDUE_WARNING; CLOSED; other */
    for (size_t i = 0; i < s->n; i++) {
        const alert *a = &s->v[i];
        int r;
        for (r = 0; r < nr; r++)
            if (strcmp(rules[r], a->rule) == 0)
                break;
        if (r == nr && nr < 16)
            rules[nr++] = a->rule;
        if (r == nr)
            continue;
        if (a->kind == 1 && a->severity >= 1 && a->severity <= 3)
            n[r][a->severity - 1]++;
        else if (a->kind == 2)
            n[r][3]++;
        else if (a->kind == 3)
            n[r][4]++;
        else
            n[r][5]++;
    }
    printf("  %s: %zu messages\n", side, s->n);
    for (int r = 0; r < nr; r++)
        printf("    %-18s ALERT low %4d medium %4d high %4d; OVERDUE_WARNING %4d; CLOSED %d; "
               "other %d\n",
               rules[r], n[r][0], n[r][1], n[r][2], n[r][3], n[r][4], n[r][5]);
}

static int count_rule(const alerts *s, const char *rule, int severity)
{
    int n = 0;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].rule, rule) == 0 && s->v[i].kind == 1 &&
            (severity < 0 || s->v[i].severity == severity))
            n++;
    return n;
}

/* Messages of rule (an indicator) and kind. */
static int count_kind(const alerts *s, const char *rule, int kind)
{
    int n = 0;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].rule, rule) == 0 && s->v[i].kind == kind)
            n++;
    return n;
}

/* ---- main ---- */

/* The two runs' configs, logs, state directories, groups and topics. */
static char cfg_a[200], cfg_b[200], log_a[200], log_b[200], state_a[200], state_b[200],
    group_a[100], group_b[100], prefix_a[200], prefix_b[200], clock_a[200], clock_b[200],
    sprefix_a[200], sprefix_b[200];

static int run_reorder(void);

int main(int argc, char **argv)
{
    td_kafka_props props = {0}, keep = {0}, compact = {0};
    rd_kafka_conf_t *conf = NULL;
    td_kafka_topic_spec specs[5];
    const char *names[5];
    td_error err = {0};
    bool reorder = argc > 1 && strcmp(argv[1], "reorder") == 0;
    unsigned seed = (unsigned)td_time_wall_ms();
    long nrec = 300000;
    int min_kills = 20, kills = 0, mid = 0, early = 0, lost_at;
    int64_t last = 0;
    int ready;
    counts cnt;
    watch wa, wb;
    alerts A, B;
    pid_t pid;
    int status;
    int64_t t0 = td_time_mono_ms(), t;

    setvbuf(stdout, NULL, _IOLBF, 0);
    bootstrap = getenv("KAFKA_BOOTSTRAP");
    if (!bootstrap || !*bootstrap) {
        fprintf(stderr, "KAFKA_BOOTSTRAP is not set: start a broker (deploy/kafka/dev-broker)\n");
        return 1;
    }
    if (getenv("TD_CHAOS_SEED"))
        seed = (unsigned)strtoul(getenv("TD_CHAOS_SEED"), NULL, 10);
    if (getenv("TD_CHAOS_RECORDS"))
        nrec = strtol(getenv("TD_CHAOS_RECORDS"), NULL, 10);
    if (getenv("TD_CHAOS_KILLS"))
        min_kills = atoi(getenv("TD_CHAOS_KILLS"));
    FATAL(nrec > 0 && min_kills >= 0);
    if (argc > 1 && !reorder) {
        fprintf(stderr, "usage: %s [reorder]\n", argv[0]);
        return 2;
    }
    if (reorder) {
        if (!tdm_engine_fault_injection()) {
            fprintf(stderr, "this build has no fault injection: configure it with "
                    "-Dfault_injection=true (tests/run does)\n");
            return 1;
        }
        /* batches of a second: a record processed live and one of a late
         * transaction committed a moment after it fall into one batch */
        txn_yaml = "transaction:\n  max_records: 5000\n  max_interval: 1s\n";
    }
    printf("matchd chaos%s: seed %u (TD_CHAOS_SEED to repeat)\n", reorder ? " (reorder)" : "",
           seed);
    srand(seed);
    lost_at = min_kills / 2;

    snprintf(src_root, sizeof(src_root), "%s", getenv("TD_SOURCE_ROOT") ? getenv("TD_SOURCE_ROOT") : ".");
    snprintf(build_root, sizeof(build_root), "%s", getenv("TD_BUILD_ROOT") ? getenv("TD_BUILD_ROOT") : "build");
    snprintf(schemas_dir, sizeof(schemas_dir), "%s/schemas", src_root);
    snprintf(dir, sizeof(dir), "/tmp/itest-matchd-chaos-XXXXXX");
    FATAL(mkdtemp(dir));
    FATAL(td_avro_registry_new(&reg) == 0);
    FATAL(td_avro_registry_load_dir(reg, schemas_dir, NULL, &err) == 0);

    snprintf(uniq, sizeof(uniq), "itmc%d%" PRId64, (int)getpid(), td_time_wall_ms() % 100000);
    snprintf(t_roster, sizeof(t_roster), "%s.roster", uniq);
    snprintf(t_med, sizeof(t_med), "%s.medical", uniq);
    snprintf(t_civil, sizeof(t_civil), "%s.civil", uniq);
    snprintf(t_hr, sizeof(t_hr), "%s.hr", uniq);
    snprintf(t_ver, sizeof(t_ver), "%s.verifications.340421", uniq);
    snprintf(t_dlq, sizeof(t_dlq), "%s.dlq.verifications", uniq);
    snprintf(group_a, sizeof(group_a), "A-%s", uniq);
    snprintf(group_b, sizeof(group_b), "B-%s", uniq);
    snprintf(prefix_a, sizeof(prefix_a), "%s.A.alerts.", uniq);
    snprintf(prefix_b, sizeof(prefix_b), "%s.B.alerts.", uniq);
    snprintf(sprefix_a, sizeof(sprefix_a), "%s.A.suspects.", uniq);
    snprintf(sprefix_b, sizeof(sprefix_b), "%s.B.suspects.", uniq);
    snprintf(clock_a, sizeof(clock_a), "%s.A.clock", uniq);
    snprintf(clock_b, sizeof(clock_b), "%s.B.clock", uniq);
    snprintf(cfg_a, sizeof(cfg_a), "%s/a.yaml", dir);
    snprintf(cfg_b, sizeof(cfg_b), "%s/b.yaml", dir);
    snprintf(log_a, sizeof(log_a), "%s/a.log", dir);
    snprintf(log_b, sizeof(log_b), "%s/b.log", dir);
    snprintf(state_a, sizeof(state_a), "%s/state-a", dir);
    snprintf(state_b, sizeof(state_b), "%s/state-b", dir);
    write_config(cfg_a, group_a, state_a, prefix_a, sprefix_a, clock_a, NULL);
    /* B's LMDB map starts at 1 MiB: it grows inside write transactions (and
     * after every restart, which maps just what the file holds) while the
     * kills come; A keeps the default map. */
    write_config(cfg_b, group_b, state_b, prefix_b, sprefix_b, clock_b, "  map_size: 1MiB\n");
    check_config(cfg_a);
    check_config(cfg_b);

    /* 1. the inputs, once */
    FATAL(td_kafka_producer_conf_new(bootstrap, NULL, &props, &conf, &err) == 0);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &producer, &err) == 0);
    names[0] = t_roster; names[1] = t_med; names[2] = t_civil; names[3] = t_hr; names[4] = t_ver;
    /* The records' timestamps lie in 2023: without retention.ms=-1 the
     * broker's time retention (7 days) would delete them under the daemon. */
    FATAL(td_kafka_props_add(&keep, "retention.ms", "-1", NULL) == 0);
    FATAL(td_kafka_props_add(&compact, "cleanup.policy", "compact", NULL) == 0);
    /* The roster is compacted as in production, but never while the test
     * runs: the broker rolls a segment when a record's timestamp is
     * segment.ms (7 days) past the segment's first, so these 15 months of
     * timestamps make dozens of segments in seconds, and the log cleaner
     * then drops every export of a household but its last within about
     * 15 s (log.cleaner.backoff.ms), between or under the runs. A run that
     * reads the roster after that sees a re-exported household absent
     * until its last export: other inputs than the run before it. */
    FATAL(td_kafka_props_add(&compact, "min.compaction.lag.ms", "9223372036854775807", NULL) == 0);
    memset(specs, 0, sizeof(specs));
    for (int i = 0; i < 5; i++) {
        specs[i].name = names[i];
        specs[i].partitions = i == 4 ? 1 : PARTITIONS;
        specs[i].replication_factor = 1;
        specs[i].config = i == 0 ? &compact : &keep;
    }
    if (td_kafka_topics_ensure(producer, specs, 5, 60000, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    make_people();
    produce_roster();
    if (reorder) {
        FATAL(rd_kafka_flush(producer, 60000) == 0);
        td_kafka_props_clear(&keep);
        td_kafka_props_clear(&compact);
        return run_reorder();
    }
    produce_records(nrec, &cnt);
    FATAL(rd_kafka_flush(producer, 120000) == 0);
    td_kafka_props_clear(&keep);
    td_kafka_props_clear(&compact);
    FATAL(delivery_failures == 0);
    td_kafka_destroy(producer);
    printf("inputs: %d households (%d persons), %d persons off the roster; %ld records: "
           "%ld medical, %ld civil affairs, %ld human resources (%ld of people off the roster); "
           "%ld roster exports among them (%.1fs)\n",
           HOUSEHOLDS, npersons - OFF_ROSTER, OFF_ROSTER, nrec, cnt.medical, cnt.civil, cnt.hr,
           cnt.off_roster, cnt.roster, (double)(td_time_mono_ms() - t0) / 1000.0);

    /* 2. run A, uninterrupted */
    watch_new(&wa, group_a);
    FATAL(wa.total == nrec);
    t = td_time_mono_ms();
    ready = td_proc_log_count(log_a, "notice: ready:");
    pid = spawn(cfg_a, log_a);
    if (!watch_wait_done(&wa, pid, 300000)) {
        fprintf(stderr, "run A did not consume everything (%" PRId64 " of %" PRId64 ")\n",
                watch_committed(&wa), wa.total);
        td_proc_show_log(log_a, 40);
        failures++;
    }
    CHECK(stop_when_ready(pid, log_a, ready));
    printf("run A: %" PRId64 " records in %.1fs\n", wa.total,
           (double)(td_time_mono_ms() - t) / 1000.0);
    watch_free(&wa);

    /* 3. run B, SIGKILLed at random moments */
    watch_new(&wb, group_b);
    t = td_time_mono_ms();
    for (;;) {
        /* After a SIGKILL the killed instance's open transaction holds the
         * group's offsets "unstable" until the next instance fences it: the
         * progress is then the last one known. */
        int64_t before = watch_committed(&wb);
        int mode = rand() % 4; /* 0 start-up, 1 a time, 2 and 3 a stream position */
        if (before < 0)
            before = last;
        last = before;
        /* At least min_kills, and on until three quarters of the stream are
         * through, so that the kills spread over all of it. */
        if (kills >= min_kills && (before >= wb.total * 3 / 4 || kills >= 3 * min_kills)) {
            ready = td_proc_log_count(log_b, "notice: ready:");
            pid = spawn(cfg_b, log_b);
            if (!watch_wait_done(&wb, pid, 300000)) {
                fprintf(stderr, "run B did not consume everything after the kills\n");
                td_proc_show_log(log_b, 40);
                failures++;
            }
            CHECK(stop_when_ready(pid, log_b, ready));
            break;
        }
        if (kills == lost_at) {
            char cmd[300];
            snprintf(cmd, sizeof(cmd), "rm -rf %s", state_b);
            CHECK(system(cmd) == 0);
            printf("  state directory deleted before restart %d\n", kills + 1);
        }
        if (before > 0 && before < wb.total)
            mid++;
        pid = spawn(cfg_b, log_b);
        if (mode == 0) {
            /* start-up and roster load */
            early++;
            usleep((useconds_t)(200 + rand() % 1300) * 1000);
        } else if (mode == 1) {
            usleep((useconds_t)(1000 + rand() % 2000) * 1000);
        } else {
            /* while processing: once the group has committed past a position
             * that moves through the stream with the kills (the k-th of n
             * near k/(n+1) of it, jittered), so that the kills spread over
             * the whole stream however fast the daemon is */
            int64_t slot = wb.total / (min_kills + 1) + 1, until = td_time_mono_ms() + 60000,
                    want = (int64_t)(kills + 1) * slot + rand() % (int)(slot / 2 + 1);
            if (want <= before)
                want = before + 1 + rand() % (int)(slot / 2 + 1);
            while (td_time_mono_ms() < until) {
                int64_t now = watch_committed(&wb);
                if (now >= want || now == wb.total)
                    break;
                usleep(50000);
            }
            usleep((useconds_t)(rand() % 500) * 1000);
        }
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "matchd exited by itself before kill %d (status 0x%x)\n", kills + 1,
                    status);
            td_proc_show_log(log_b, 40);
            failures++;
        } else {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        kills++;
        printf("  kill %2d (%s): %" PRId64 " of %" PRId64 " committed at the restart\n", kills,
               mode == 0 ? "start-up  " : mode == 1 ? "1-3 s     " : "processing", before,
               wb.total);
    }
    printf("run B: %d SIGKILLs (%d early), %d restarts resumed mid-stream, %.1fs\n", kills,
           early, mid, (double)(td_time_mono_ms() - t) / 1000.0);
    /* Informational: instances that became ready while a killed predecessor
     * still held some of the partitions (matchd warns about it). */
    printf("  B instances that started with only part of the roster's partitions: %d\n",
           td_proc_log_count(log_b, "of the roster's"));
    printf("  B's state store map grew %d times\n", td_proc_log_count(log_b, "the map grew to"));
    CHECK(td_proc_log_count(log_b, "the map grew to") > 0);
    CHECK(kills >= min_kills);
    CHECK(min_kills == 0 || mid >= min_kills / 4);
    watch_free(&wb);

    /* 4. the alerts */
    read_alerts(prefix_a, group_a, &A);
    read_alerts(prefix_b, group_b, &B);
    per_rule(&A, "A");
    per_rule(&B, "B");
    CHECK(A.bad == 0);
    CHECK(B.bad == 0);
    CHECK(duplicates(&A, "A") == 0);
    CHECK(duplicates(&B, "B") == 0);
    /* teeth: thousands of alerts, and each kind of case present */
    CHECK(A.n >= 1000);
    CHECK(count_rule(&A, "medical-oop-365d", -1) >= 100);
    CHECK(count_rule(&A, "dibao-tekun", -1) >= 100);
    CHECK(count_rule(&A, "temp-assistance", -1) >= 100);
    CHECK(count_rule(&A, "severe-disability", -1) >= 100);
    CHECK(count_rule(&A, "working-age-death", -1) >= 50);
    CHECK(count_rule(&A, "employment-loss", -1) >= 100);
    CHECK(count_rule(&A, "medical-oop-365d", 3) + count_rule(&A, "dibao-tekun", 3) +
              count_rule(&A, "employment-loss", 3) >= 50);
    {
        int d = compare(&A, &B);
        CHECK(d == 0);
        printf("%s\n", d == 0 ? "A == B" : "A != B");
    }
    /* 5. the suspects: the same checks */
    {
        alerts SA, SB;
        static const char *const indicators[] = {"disability-grade-differs", "dibao-not-recorded",
                                                 "dibao-still-marked", "death-still-listed",
                                                 "welfare-job-not-recorded", "duplicate-person",
                                                 "sex-differs"};
        int resolved = 0;
        what = &SUSPECTS;
        read_alerts(sprefix_a, group_a, &SA);
        read_alerts(sprefix_b, group_b, &SB);
        for (size_t i = 0; i < SA.n; i++)
            resolved += SA.v[i].kind == 2;
        printf("  suspects: A %zu messages (%d RESOLVED), B %zu\n", SA.n, resolved, SB.n);
        for (size_t k = 0; k < sizeof(indicators) / sizeof(indicators[0]); k++) {
            int n = count_kind(&SA, indicators[k], 1);
            printf("    %-26s RAISED %5d RESOLVED %5d\n", indicators[k], n,
                   count_kind(&SA, indicators[k], 2));
            CHECK(n >= (strcmp(indicators[k], "duplicate-person") == 0 ? 20 : 50));
        }
        CHECK(SA.bad == 0);
        CHECK(SB.bad == 0);
        CHECK(duplicates(&SA, "A") == 0);
        CHECK(duplicates(&SB, "B") == 0);
        CHECK(SA.n >= 1000);
        CHECK(resolved >= 100);
        {
            int d = compare(&SA, &SB);
            CHECK(d == 0);
            printf("suspects: %s\n", d == 0 ? "A == B" : "A != B");
        }
        alerts_free(&SA);
        alerts_free(&SB);
        what = &ALERTS;
    }
    if (failures) {
        td_proc_show_log(log_b, 40);
        fprintf(stderr, "logs kept in %s\n", dir);
    } else {
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "(%s failed)\n", cmd);
    }
    alerts_free(&A);
    alerts_free(&B);
    free(persons);
    free(households);
    td_avro_registry_free(reg);
    printf("%s (%.1fs)\n", failures ? "FAILED" : "ok", (double)(td_time_mono_ms() - t0) / 1000.0);
    return failures ? 1 : 0;
}

/* ---- reorder: live arrival reorders batches, crashes between the commits ---- */

/* 2026-06-01T00:00+08:00: every department record of this mode falls on
 * that day (R_STEP_MS apart), so that the day an alert is raised on (the
 * stream clock's) is the same in every run, whatever the order. */
#define R_BASE_MS INT64_C(1780243200000)
#define R_STEP_MS 200
#define R_RATE 150       /* records a second (wall clock) of the normal flow */
#define R_LATE 2         /* producers whose transactions commit late */
#define R_PAIRS 4        /* order-dependent households per late transaction */
#define R_MAX_SECONDS 180

static int64_t r_slot;   /* the next record's place in stream time */
static int r_of_hh, r_of_off, r_od_hh; /* cursors over the subjects */

static int64_t r_ts(void)
{
    return R_BASE_MS + r_slot++ * R_STEP_MS;
}

/* A 低保 application of p at ts through rk (partition -1: the key's). */
static void r_dibao(rd_kafka_t *rk, int32_t partition, const person *p, const char *rec, int64_t ts)
{
    char json[2048], date[16], village[64];
    td_date_format((int32_t)((ts + 8 * 3600000) / 86400000) - (int32_t)rnd(10), date,
                   sizeof(date));
    snprintf(json, sizeof(json),
             "{\"event_type\":\"DIBAO_APPLIED\",\"person_key\":\"%s\",\"name\":null,"
             "\"village_code\":%s,\"event_date\":\"%s\",\"amount_fen\":null,"
             "\"disability_grade\":null,\"source\":{\"department\":\"CIVIL_AFFAIRS\","
             "\"connector_instance\":\"civil\",\"record_id\":\"%s\",\"location\":null,"
             "\"row\":null}}",
             p->key, opt_village(p, village, sizeof(village), false), date, rec);
    send_to(rk, t_civil, partition < 0 ? RD_KAFKA_PARTITION_UA : partition, p->key,
            "cn.tuodi.CivilAffairsEvent", json, ts);
}

/* A household that takes part in no duplicate listing (send_household lists
 * the first member of household h+1 in h when h % 60 == 7). */
static bool r_plain(int h)
{
    return h % 60 != 7 && h % 60 != 8;
}

/* One record of the normal flow: a 低保 application of a subject that gets
 * no other record (order-free: its alert is the same in any order), a
 * roster household of the first half or a person off the roster. false
 * when they are used up. */
static bool r_order_free(void)
{
    char rec[64];
    while (r_of_hh < HOUSEHOLDS / 2 && !r_plain(r_of_hh))
        r_of_hh++;
    if (r_of_hh < HOUSEHOLDS / 2 && rnd(4) == 0) {
        snprintf(rec, sizeof(rec), "OF-H-%d", r_of_hh);
        r_dibao(producer, -1, &persons[households[r_of_hh].first], rec, r_ts());
        r_of_hh++;
        return true;
    }
    if (r_of_off < OFF_ROSTER) {
        snprintf(rec, sizeof(rec), "OF-P-%d", r_of_off);
        r_dibao(producer, -1, &persons[npersons - OFF_ROSTER + r_of_off], rec, r_ts());
        r_of_off++;
        return true;
    }
    return false;
}

/* The next household of the second half with two members or more, -1
 * when none is left. */
static int r_next_od(void)
{
    while (r_od_hh < HOUSEHOLDS / 2)
        r_od_hh = HOUSEHOLDS / 2;
    while (r_od_hh < HOUSEHOLDS && (households[r_od_hh].n < 2 || !r_plain(r_od_hh)))
        r_od_hh++;
    return r_od_hh < HOUSEHOLDS ? r_od_hh++ : -1;
}

/* A producer whose transactions commit late: R_PAIRS 低保 applications of
 * the first member of order-dependent households, with the stream time of
 * the moment the transaction begins, on civil-affairs partition k; just
 * before it commits, the second member of each applies too, in the normal
 * flow on partition k + 2 with a newer timestamp. A daemon processes the
 * second application first (the first is invisible while its transaction
 * is open), and the merge of a restore would take the first first: the
 * alert (its id hashes the triggering record) differs. */
typedef struct late {
    rd_kafka_t *rk;
    bool open, partners_sent;
    int hh[R_PAIRS], n;
    int64_t partners_at, commit_at, next_at; /* mono ms */
} late;

static void late_new(late *l, int k)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    td_error err = {0};
    char id[160], errstr[256];
    rd_kafka_error_t *xe;

    memset(l, 0, sizeof(*l));
    snprintf(id, sizeof(id), "%s-late-%d", uniq, k);
    FATAL(td_kafka_producer_conf_new(bootstrap, NULL, &props, &conf, &err) == 0);
    FATAL(rd_kafka_conf_set(conf, "transactional.id", id, errstr, sizeof(errstr)) ==
          RD_KAFKA_CONF_OK);
    FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &l->rk, &err) == 0);
    xe = rd_kafka_init_transactions(l->rk, 60000);
    if (xe) {
        fprintf(stderr, "init_transactions: %s\n", rd_kafka_error_string(xe));
        exit(1);
    }
    l->next_at = td_time_mono_ms() + 500 + 300 * k;
}

/* Drives one late producer; returns the order-dependent pairs committed. */
static int late_step(late *l, int k, int64_t now, bool ending)
{
    char rec[64];
    rd_kafka_error_t *xe;

    if (!l->open) {
        if (ending || now < l->next_at)
            return 0;
        xe = rd_kafka_begin_transaction(l->rk);
        FATAL(!xe);
        l->n = 0;
        for (int i = 0; i < R_PAIRS; i++) {
            int h = r_next_od();
            if (h < 0)
                break;
            l->hh[l->n++] = h;
            snprintf(rec, sizeof(rec), "OD-a-%d", h);
            r_dibao(l->rk, k, &persons[households[h].first], rec, r_ts());
        }
        l->open = true;
        l->partners_sent = false;
        l->partners_at = now + 300 + (int64_t)rnd(700);
        l->commit_at = l->partners_at + 100 + (int64_t)rnd(150);
        return 0;
    }
    if (!l->partners_sent && (now >= l->partners_at || ending)) {
        for (int i = 0; i < l->n; i++) {
            snprintf(rec, sizeof(rec), "OD-b-%d", l->hh[i]);
            r_dibao(producer, k + 2, &persons[households[l->hh[i]].first + 1], rec, r_ts());
        }
        FATAL(rd_kafka_flush(producer, 30000) == 0);
        l->partners_sent = true;
    }
    if (l->partners_sent && (now >= l->commit_at || ending)) {
        xe = rd_kafka_commit_transaction(l->rk, 60000);
        if (xe) {
            fprintf(stderr, "commit_transaction: %s\n", rd_kafka_error_string(xe));
            exit(1);
        }
        l->open = false;
        l->next_at = now + 200 + (int64_t)rnd(600);
        return l->n;
    }
    return 0;
}

/* An index entry's ALERT with source.connector_instance set as read_alerts
 * sets it; malloc'd into *ret, false when undecodable or of another
 * instance. */
static bool r_normalise(const void *bytes, size_t len, const char *instance, unsigned char **ret,
                        size_t *ret_len)
{
    const td_avro_schema *as = td_avro_registry_find_name(reg, "cn.tuodi.Alert");
    td_avro_decoder *dec = NULL;
    td_avro_buf buf = TD_AVRO_BUF_INIT;
    avro_value_t *v, src, ci;
    td_error err = {0};
    const char *s;
    size_t size;
    bool ok = false;

    if (td_avro_decoder_new(reg, as, &dec, &err) == 0 &&
        td_avro_decode(dec, bytes, len, &v, &err) == 0 &&
        avro_value_get_by_name(v, "source", &src, NULL) == 0 &&
        avro_value_get_by_name(&src, "connector_instance", &ci, NULL) == 0 &&
        avro_value_get_string(&ci, &s, &size) == 0 && strcmp(s, instance) == 0 &&
        avro_value_set_string(&ci, "tuodi-matchd@*") == 0 && td_avro_encode(as, v, &buf, &err) == 0) {
        *ret = malloc(buf.len);
        FATAL(*ret);
        memcpy(*ret, buf.data, buf.len);
        *ret_len = buf.len;
        ok = true;
    }
    td_avro_decoder_free(dec);
    td_avro_buf_done(&buf);
    return ok;
}

typedef struct open_alert {
    char id[TDM_ALERT_ID_MAX + 1];
    int severity; /* the Avro enum's index */
} open_alert;

static int open_cmp(const void *a, const void *b)
{
    const open_alert *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : x->severity - y->severity;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

typedef struct state_walk {
    open_alert *v;
    size_t n, cap;
    int bad;
} state_walk;

static int r_state_each(const void *key, size_t key_len, const void *val, size_t len, void *opaque)
{
    state_walk *w = opaque;
    tdm_window *win = NULL;
    td_error err = {0};
    const tdm_open_alert *oa;

    (void)key;
    (void)key_len;
    if (tdm_window_decode(val, len, &win, &err) < 0) {
        w->bad++;
        return 0;
    }
    for (size_t i = 0; (oa = tdm_window_open_at(win, i, NULL)) != NULL; i++) {
        if (w->n == w->cap) {
            w->cap = w->cap ? 2 * w->cap : 1024;
            w->v = realloc(w->v, w->cap * sizeof(*w->v));
            FATAL(w->v);
        }
        snprintf(w->v[w->n].id, sizeof(w->v[w->n].id), "%s", oa->alert_id);
        w->v[w->n].severity = (int)oa->severity + 1;
        w->n++;
    }
    tdm_window_free(win);
    return 0;
}

typedef struct index_walk {
    const alerts *topics;
    const char *instance;
    int entries, missing, differ;
    char **ids; /* the index's alert ids */
    size_t n;
} index_walk;

/* The latest (by offset: one alert's messages share a partition) message of
 * the id prefix id with kind (0: any), or NULL. */
static const alert *r_latest(const alerts *s, const char *id, int kind)
{
    const alert *best = NULL;
    size_t lo = 0, hi = s->n, n = strlen(id);
    while (lo < hi) { /* the first entry >= id */
        size_t mid = (lo + hi) / 2;
        if (strcmp(s->v[mid].id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < s->n && strncmp(s->v[i].id, id, n) == 0 && s->v[i].id[n] == '/';
         i++)
        if ((kind == 0 || s->v[i].kind == kind) && (!best || s->v[i].offset > best->offset))
            best = &s->v[i];
    return best;
}

static int r_index_each(const void *key, size_t key_len, const void *val, size_t len, void *opaque)
{
    index_walk *w = opaque;
    char id[96];
    const char *nul = memchr(val, '\0', len);
    const alert *a;
    unsigned char *norm = NULL;
    size_t nlen = 0;

    snprintf(id, sizeof(id), "%.*s", (int)key_len, (const char *)key);
    w->entries++;
    w->ids = realloc(w->ids, (w->n + 1) * sizeof(*w->ids));
    FATAL(w->ids);
    w->ids[w->n] = strdup(id);
    FATAL(w->ids[w->n]);
    w->n++;
    a = r_latest(w->topics, id, 1);
    if (!a) {
        if (w->missing++ < 10)
            fprintf(stderr, "  in the alert index, no ALERT on the topics: %s\n", id);
        return 0;
    }
    if (!nul || !r_normalise(nul + 1, len - (size_t)(nul + 1 - (const char *)val), w->instance,
                             &norm, &nlen) ||
        nlen != a->len || memcmp(norm, a->value, nlen) != 0) {
        if (w->differ++ < 10)
            fprintf(stderr, "  the alert index's ALERT %s differs from the topics' (record %s)\n",
                    id, a->record);
    }
    free(norm);
    return 0;
}

/* Check (1): the alert index of the state in dir holds exactly the alerts
 * of the ALERT messages on the topics, each with the bytes of its latest
 * ALERT; the open alerts of its states are the topics' folded open ones
 * (latest message per alert id not CLOSED, not superseded), with their
 * severity. Returns the number of differences. */
static int r_check_state(const char *state_dir, const alerts *topics, const char *group,
                         const char *side)
{
    tdm_store *st = NULL;
    tdm_txn *txn = NULL;
    tdm_db db_alerts, db_state;
    td_error err = {0};
    index_walk iw = {.topics = topics};
    state_walk sw = {0};
    open_alert *fold = NULL;
    char **sup = NULL, instance[160];
    size_t nfold = 0, nsup = 0, alerts_on_topics = 0;
    int diff = 0, only_state = 0, only_topics = 0, not_indexed = 0;

    snprintf(instance, sizeof(instance), "tuodi-matchd@%s", group);
    iw.instance = instance;
    if (tdm_store_open(state_dir, 0, 0, &st, &err) < 0 || tdm_store_db(st, "alerts", &db_alerts, &err) < 0 ||
        tdm_store_db(st, "state", &db_state, &err) < 0 || tdm_store_begin_read(st, &txn, &err) < 0) {
        fprintf(stderr, "%s: opening the state %s: %s\n", side, state_dir, err.msg);
        tdm_store_close(st);
        return 1;
    }
    FATAL(tdm_store_foreach(txn, db_alerts, r_index_each, &iw, &err) == 0);
    FATAL(tdm_store_foreach(txn, db_state, r_state_each, &sw, &err) == 0);
    tdm_store_abort(txn);
    tdm_store_close(st);
    /* the topics' ALERT ids not in the index */
    if (iw.n)
        qsort(iw.ids, iw.n, sizeof(*iw.ids), str_cmp);
    for (size_t i = 0; i < topics->n; i++) {
        const alert *a = &topics->v[i];
        char id[96], *p = id;
        if (a->kind != 1)
            continue;
        if (a->supersedes[0]) {
            sup = realloc(sup, (nsup + 1) * sizeof(*sup));
            FATAL(sup);
            sup[nsup++] = (char *)a->supersedes;
        }
        snprintf(id, sizeof(id), "%.*s", (int)(strchr(a->id, '/') - a->id), a->id);
        if (i > 0 && strncmp(topics->v[i - 1].id, a->id, strlen(id) + 1) == 0 &&
            topics->v[i - 1].kind == 1)
            continue; /* an escalation of the same alert */
        alerts_on_topics++;
        if ((!iw.n || !bsearch(&p, iw.ids, iw.n, sizeof(*iw.ids), str_cmp)) &&
            not_indexed++ < 10)
            fprintf(stderr, "  %s: ALERT %s (record %s) on the topics, not in the alert index\n",
                    side, id, a->record);
    }
    if (nsup)
        qsort(sup, nsup, sizeof(*sup), str_cmp);
    /* the fold: per alert id its latest message */
    for (size_t i = 0; i < topics->n; i++) {
        const alert *a = &topics->v[i], *last, *alert_msg;
        char id[96], *p = id;
        snprintf(id, sizeof(id), "%.*s", (int)(strchr(a->id, '/') - a->id), a->id);
        if (i > 0 && strncmp(topics->v[i - 1].id, id, strlen(id)) == 0 &&
            topics->v[i - 1].id[strlen(id)] == '/')
            continue; /* the id's group was folded at its first entry */
        last = r_latest(topics, id, 0);
        alert_msg = r_latest(topics, id, 1);
        if (!last || last->kind == 3 || !alert_msg ||
            (nsup && bsearch(&p, sup, nsup, sizeof(*sup), str_cmp)))
            continue;
        fold = realloc(fold, (nfold + 1) * sizeof(*fold));
        FATAL(fold);
        snprintf(fold[nfold].id, sizeof(fold[nfold].id), "%s", id);
        fold[nfold].severity = alert_msg->severity;
        nfold++;
    }
    if (nfold)
        qsort(fold, nfold, sizeof(*fold), open_cmp);
    if (sw.n)
        qsort(sw.v, sw.n, sizeof(*sw.v), open_cmp);
    for (size_t i = 0, j = 0; i < sw.n || j < nfold;) {
        int c = i >= sw.n ? 1 : j >= nfold ? -1 : open_cmp(&sw.v[i], &fold[j]);
        if (c == 0) {
            i++;
            j++;
            continue;
        }
        if (only_state + only_topics < 20) {
            const open_alert *o = c < 0 ? &sw.v[i] : &fold[j];
            const alert *a = r_latest(topics, o->id, 1);
            fprintf(stderr, "  %s: open alert %s severity %s only in the %s (%s)\n", side, o->id,
                    SEVERITIES[o->severity >= 0 && o->severity < 4 ? o->severity : 0],
                    c < 0 ? "states" : "topics' fold",
                    a ? a->record : "no ALERT on the topics");
        }
        if (c < 0) {
            only_state++;
            i++;
        } else {
            only_topics++;
            j++;
        }
    }
    diff = iw.missing + iw.differ + not_indexed + only_state + only_topics + sw.bad;
    printf("  %s: alert index %d entries (%d without an ALERT on the topics, %d with other "
           "bytes), %zu ALERTs on the topics (%d not in the index); open alerts: %zu in the "
           "states, %zu folded from the topics (%d only in the states, %d only in the fold); "
           "%d differences\n",
           side, iw.entries, iw.missing, iw.differ, alerts_on_topics, not_indexed, sw.n, nfold,
           only_state, only_topics, diff);
    for (size_t i = 0; i < iw.n; i++)
        free(iw.ids[i]);
    free(iw.ids);
    free(sw.v);
    free(fold);
    free(sup);
    return diff;
}

/* The alerts of s whose evidence is not an order-dependent pair's record:
 * a shallow copy (the values stay s's). */
static alerts r_order_free_of(const alerts *s)
{
    alerts out = {0};
    out.v = calloc(s->n + 1, sizeof(*out.v));
    FATAL(out.v);
    for (size_t i = 0; i < s->n; i++)
        if (strncmp(s->v[i].record, "OD-", 3) != 0)
            out.v[out.n++] = s->v[i];
    return out;
}

static int r_count_record(const alerts *s, const char *prefix)
{
    int n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += s->v[i].kind == 1 && strncmp(s->v[i].record, prefix, strlen(prefix)) == 0;
    return n;
}

static pid_t r_spawn_b(bool hook)
{
    pid_t pid;
    if (hook)
        FATAL(setenv(TDM_FAULT_ENV, "reordered", 1) == 0);
    pid = spawn(cfg_b, log_b);
    unsetenv(TDM_FAULT_ENV);
    return pid;
}

/* The reorder mode (the 'matchd_reorder' test): while the records flow,
 * transactions that commit late put older records behind newer ones that
 * the daemons have processed already. Run A runs uninterrupted; run B is
 * ended at least TD_CHAOS_KILLS (20) times, most of them by the fault hook
 * right after the Kafka commit of a batch that live arrival reordered
 * (before its LMDB commit: a restore), the others by SIGKILL at random
 * moments. Afterwards (1) each run's alert index and open alerts equal its
 * topics' (a restore by the merge gets the reordered pairs wrong), and (2)
 * the order-free alerts of A and B are the same, byte for byte. */
static int run_reorder(void)
{
    late l[R_LATE];
    int min_kills = getenv("TD_CHAOS_KILLS") ? atoi(getenv("TD_CHAOS_KILLS")) : 20;
    int hook_kills = 0, sig_kills = 0, pairs = 0, ready;
    int64_t t0 = td_time_mono_ms(), start = t0, b_until, now, produced = 0;
    bool b_hook, ending = false;
    pid_t pa, pb;
    watch wa, wb;
    alerts A, B;

    for (int k = 0; k < R_LATE; k++)
        late_new(&l[k], k);
    pa = spawn(cfg_a, log_a);
    b_hook = false; /* the first B loads the roster */
    pb = r_spawn_b(b_hook);
    b_until = td_time_mono_ms() + 1000 + rand() % 2000;
    for (;;) {
        int status;
        now = td_time_mono_ms();
        /* the normal flow, R_RATE records a second */
        while (!ending && produced < (now - start) * R_RATE / 1000) {
            if (!r_order_free())
                break;
            produced++;
        }
        for (int k = 0; k < R_LATE; k++)
            pairs += late_step(&l[k], k, now, ending);
        if (ending) {
            bool open = false;
            for (int k = 0; k < R_LATE; k++)
                open = open || l[k].open;
            if (!open)
                break;
            continue;
        }
        /* run B: ended by the hook (exit TDM_FAULT_EXIT) or SIGKILL */
        if (waitpid(pb, &status, WNOHANG) == pb) {
            if (WIFEXITED(status) && WEXITSTATUS(status) == TDM_FAULT_EXIT) {
                hook_kills++;
            } else {
                fprintf(stderr, "run B exited by itself (status 0x%x)\n", status);
                td_proc_show_log(log_b, 30);
                failures++;
            }
        } else if (now >= b_until) {
            kill(pb, SIGKILL);
            waitpid(pb, &status, 0);
            sig_kills++;
        } else {
            if (!td_proc_alive(pa)) {
                fprintf(stderr, "run A exited by itself\n");
                td_proc_show_log(log_a, 30);
                exit(1);
            }
            usleep(10000);
            continue;
        }
        if ((hook_kills + sig_kills >= min_kills && hook_kills > sig_kills) ||
            now - t0 > R_MAX_SECONDS * 1000) {
            ending = true;
            continue;
        }
        /* three in four by the hook; a hook run that finds no reordered
         * batch within 8 s is SIGKILLed */
        b_hook = rand() % 4 != 0;
        pb = r_spawn_b(b_hook);
        b_until = td_time_mono_ms() + (b_hook ? 8000 : 500 + rand() % 2500);
    }
    /* past the last transaction's markers: a record on each civil partition */
    for (int i = 0; i < PARTITIONS && r_of_off < OFF_ROSTER; i++, r_of_off++) {
        char rec[32];
        snprintf(rec, sizeof(rec), "OF-P-%d", r_of_off);
        r_dibao(producer, i, &persons[npersons - OFF_ROSTER + r_of_off], rec, r_ts());
    }
    FATAL(rd_kafka_flush(producer, 60000) == 0);
    FATAL(delivery_failures == 0);
    for (int k = 0; k < R_LATE; k++)
        td_kafka_destroy(l[k].rk);
    printf("produced %" PRId64 " order-free records and %d order-dependent pairs in %.1fs; "
           "run B ended %d times: %d by the hook between the Kafka and the LMDB commit of a "
           "reordered batch, %d by SIGKILL\n",
           produced, pairs, (double)(td_time_mono_ms() - t0) / 1000.0, hook_kills + sig_kills,
           hook_kills, sig_kills);
    /* the last B runs to the end, as A does */
    ready = td_proc_log_count(log_b, "notice: ready:");
    pb = r_spawn_b(false);
    watch_new(&wa, group_a);
    watch_new(&wb, group_b);
    if (!watch_wait_done(&wa, pa, 120000) || !watch_wait_done(&wb, pb, 120000)) {
        fprintf(stderr, "a run did not consume everything\n");
        td_proc_show_log(log_b, 30);
        failures++;
    }
    CHECK(stop_when_ready(pa, log_a, 0));
    CHECK(stop_when_ready(pb, log_b, ready));
    watch_free(&wa);
    watch_free(&wb);
    printf("  B: %d restores replayed a batch by its manifest, %d by the merge\n",
           td_proc_log_count(log_b, "replayed in the batch manifest's order"),
           td_proc_log_count(log_b, "restoring by the merge"));
    {
        /* why a restore merged (a rebuild, a manifest that did not fit) */
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "grep -h 'by the merge' %s | head -3 | cut -c1-300", log_b);
        if (system(cmd) != 0)
            fprintf(stderr, "(%s failed)\n", cmd);
    }
    CHECK(hook_kills + sig_kills >= min_kills);
    CHECK(hook_kills > sig_kills);
    CHECK(td_proc_log_count(log_b, "replayed in the batch manifest's order") >= min_kills / 4);

    read_alerts(prefix_a, group_a, &A);
    read_alerts(prefix_b, group_b, &B);
    per_rule(&A, "A");
    per_rule(&B, "B");
    CHECK(A.bad == 0);
    CHECK(B.bad == 0);
    /* teeth: live arrival did reorder pairs (the second member's record
     * raised the alert), and thousands of order-free alerts */
    printf("  A: order-dependent households alerted by the first record %d, by the second "
           "(live arrival reordered them) %d\n", r_count_record(&A, "OD-a-"),
           r_count_record(&A, "OD-b-"));
    CHECK(r_count_record(&A, "OD-b-") >= 10);
    CHECK(r_count_record(&B, "OD-b-") >= 10);
    /* (1) each run's state against its topics */
    CHECK(r_check_state(state_a, &A, group_a, "A") == 0);
    CHECK(r_check_state(state_b, &B, group_b, "B") == 0);
    /* (2) where the data are order-free, B == A */
    {
        alerts fa = r_order_free_of(&A), fb = r_order_free_of(&B);
        int d;
        CHECK(fa.n >= 1000);
        d = compare(&fa, &fb);
        CHECK(d == 0);
        printf("order-free alerts: A %zu, B %zu: %s\n", fa.n, fb.n, d == 0 ? "A == B" : "A != B");
        free(fa.v);
        free(fb.v);
    }
    if (failures) {
        td_proc_show_log(log_b, 40);
        fprintf(stderr, "logs kept in %s\n", dir);
    } else {
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "(%s failed)\n", cmd);
    }
    alerts_free(&A);
    alerts_free(&B);
    td_kafka_destroy(producer);
    free(persons);
    free(households);
    td_avro_registry_free(reg);
    printf("%s (%.1fs)\n", failures ? "FAILED" : "ok", (double)(td_time_mono_ms() - t0) / 1000.0);
    return failures ? 1 : 0;
}
