/* tdm_roster: apply and look up; an update replaces the entry completely
 * (members removed and added, income and status changed); a tombstone
 * removes everything; a member who moved keeps the link to the new household
 * in either order of the two updates; bad records change nothing; offsets
 * commit with the index and survive a reopen; abort leaves nothing; every
 * household of a person ('person_all'), filled at open for an older store. Prints
 * the index's size per person for 100k generated persons (not asserted).
 * Person keys here are made up, never real identity numbers. */
#include "tdm_roster.h"
#include "tdm_store.h"
#include "td_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ROSTER_TOPIC "tuodi.roster.households"

static td_avro_registry *reg;
static const td_avro_schema *hh_schema;

static int suite_init(void)
{
    char dir[4096];
    td_error err = {0};

    snprintf(dir, sizeof(dir), "%s/schemas", td_test_source_root());
    if (td_avro_registry_new(&reg) < 0 || td_avro_registry_load_dir(reg, dir, NULL, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    hh_schema = td_avro_registry_find_name(reg, TDM_ROSTER_SCHEMA);
    return hh_schema ? 0 : -1;
}

static int suite_clean(void)
{
    reg = td_avro_registry_free(reg);
    return 0;
}

/* A household's record. members: "KEY[/grade]" separated by commas, the
 * first is the HEAD, the others CHILD; per_capita < 0: no income. */
typedef struct hh_spec {
    const char *id;
    const char *members;
    const char *state;    /* MonitoringState symbol */
    const char *category; /* MonitoringCategory symbol or NULL */
    long long per_capita;
} hh_spec;

static int encode_hh(const hh_spec *h, td_avro_buf *out)
{
    char json[16384], mem[12288], income[256], category[128];
    size_t used = 0, n = 0;
    avro_value_t v;
    td_error err = {0};
    const char *p = h->members;
    int r;

    mem[0] = '\0';
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char key[128], grade[32] = "null";
        const char *slash = memchr(p, '/', len);
        size_t klen = slash ? (size_t)(slash - p) : len;

        snprintf(key, sizeof(key), "%.*s", (int)klen, p);
        if (slash)
            snprintf(grade, sizeof(grade), "{\"int\":%.*s}", (int)(len - klen - 1), slash + 1);
        used += (size_t)snprintf(mem + used, sizeof(mem) - used,
            "%s{\"person_key\":\"%s\",\"name\":\"name-%s\",\"relation\":\"%s\","
            "\"birth_date\":\"1980-03-%02zu\",\"labour_capacity\":\"%s\","
            "\"disability_grade\":%s,\"in_school\":%s}",
            n ? "," : "", key, key, n ? "CHILD" : "HEAD", n % 28 + 1, n ? "WEAK" : "NORMAL",
            grade, n ? "{\"boolean\":true}" : "null");
        n++;
        p = end ? end + 1 : NULL;
    }
    if (h->per_capita >= 0)
        snprintf(income, sizeof(income),
                 "{\"cn.tuodi.Income\":{\"year\":2023,\"annual_net_fen\":%lld,"
                 "\"per_capita_net_fen\":%lld}}",
                 h->per_capita * (long long)n, h->per_capita);
    else
        snprintf(income, sizeof(income), "null");
    if (h->category)
        snprintf(category, sizeof(category), "{\"cn.tuodi.MonitoringCategory\":\"%s\"}",
                 h->category);
    else
        snprintf(category, sizeof(category), "null");
    snprintf(json, sizeof(json),
        "{\"household_id\":\"%s\",\"village_code\":\"340402100201\",\"grid_id\":\"G-17\","
        "\"household_type\":\"POVERTY_ALLEVIATED\","
        "\"monitoring\":{\"state\":\"%s\",\"category\":%s,\"identified_date\":%s,"
        "\"risk_eliminated_date\":null,\"risk_elimination_method\":null},"
        "\"members\":[%s],\"household_size\":%zu,\"income\":%s,\"risks\":[\"01\",\"03\"],"
        "\"updated_at\":\"2024-05-31T10:00:00Z\","
        "\"source\":{\"department\":\"RURAL_REVITALIZATION\",\"connector_instance\":\"roster\","
        "\"record_id\":\"%s\",\"location\":null,\"row\":null}}",
        h->id, h->state ? h->state : "NOT_MONITORED", category,
        h->category ? "{\"int\":\"2023-04-02\"}" : "null", mem, n, income, h->id);

    if ((r = td_avro_schema_value_new(hh_schema, &v, &err)) < 0)
        return r;
    r = td_avro_value_from_json(hh_schema, json, strlen(json), &v, &err);
    if (r == 0)
        r = td_avro_encode(hh_schema, &v, out, &err);
    if (r < 0)
        fprintf(stderr, "\nencode: %s\n", err.msg);
    avro_value_decref(&v);
    return r;
}

typedef struct fixture {
    char *root;
    char *dir;
    tdm_store *store;
    tdm_roster *roster;
    tdm_txn *txn;
    td_avro_buf buf;
} fixture;

static void fx_open(fixture *f)
{
    td_error err = {0};

    CU_ASSERT_EQUAL_FATAL(tdm_store_open(f->dir, 0, 0, &f->store, &err), 0);
    if (tdm_roster_new(f->store, reg, &f->roster, &err) < 0) {
        fprintf(stderr, "\n%s\n", err.msg);
        CU_FAIL_FATAL("tdm_roster_new");
    }
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(f->store, &f->txn, &err), 0);
}

static void fx_close(fixture *f)
{
    tdm_store_abort(f->txn);
    f->txn = NULL;
    f->roster = tdm_roster_free(f->roster);
    f->store = tdm_store_close(f->store);
}

static void fx_init(fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->buf = (td_avro_buf)TD_AVRO_BUF_INIT;
    f->root = td_test_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->root);
    if (asprintf(&f->dir, "%s/state", f->root) < 0)
        CU_FAIL_FATAL("asprintf");
    fx_open(f);
}

static void fx_done(fixture *f)
{
    fx_close(f);
    td_avro_buf_done(&f->buf);
    td_test_rmtree(f->root);
    free(f->root);
    free(f->dir);
}

static void fx_commit(fixture *f)
{
    td_error err = {0};

    CU_ASSERT_EQUAL_FATAL(tdm_store_commit(f->txn, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(f->store, &f->txn, &err), 0);
}

static int apply(fixture *f, const hh_spec *h)
{
    td_error err = {0};
    int r;

    CU_ASSERT_EQUAL_FATAL(encode_hh(h, &f->buf), 0);
    r = tdm_roster_apply(f->roster, f->txn, h->id, strlen(h->id), f->buf.data, f->buf.len, &err);
    if (r < 0)
        fprintf(stderr, "\napply: %s\n", err.msg);
    return r;
}

static int tombstone(fixture *f, const char *id)
{
    return tdm_roster_apply(f->roster, f->txn, id, strlen(id), NULL, 0, NULL);
}

/* "" when the person is not on the roster. */
static const char *hh_of(fixture *f, const char *person)
{
    static char buf[600];
    int r = tdm_roster_household_of(f->roster, f->txn, person, buf, sizeof(buf), NULL);

    if (r == -ENOENT)
        return "";
    CU_ASSERT_EQUAL(r, 0);
    return r == 0 ? buf : "(error)";
}

static void expect_counts(fixture *f, size_t households, size_t persons)
{
    size_t h = 0, p = 0;

    CU_ASSERT_EQUAL(tdm_roster_count(f->roster, f->txn, &h, &p, NULL), 0);
    CU_ASSERT_EQUAL(h, households);
    CU_ASSERT_EQUAL(p, persons);
}

static void test_apply_and_lookup(void)
{
    fixture f;
    tdm_household view = TDM_HOUSEHOLD_INIT;
    td_error err = {0};
    hh_spec a = {"H-A", "PA1,PA2/2,PA3", "MONITORED", "MARGINAL", 790000};

    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(apply(&f, &a), 0);
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "PA1"), "H-A");
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "PA3"), "H-A");
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "PX"), "");
    expect_counts(&f, 1, 3);

    CU_ASSERT_EQUAL_FATAL(tdm_roster_get(f.roster, f.txn, "H-A", &view, &err), 0);
    CU_ASSERT_STRING_EQUAL(view.household_id, "H-A");
    CU_ASSERT_STRING_EQUAL(view.village_code, "340402100201");
    CU_ASSERT_STRING_EQUAL(view.county, "340402");
    CU_ASSERT_STRING_EQUAL(view.township, "340402100");
    CU_ASSERT_STRING_EQUAL(view.grid_id, "G-17");
    CU_ASSERT_EQUAL(view.type, TDM_R_HH_POVERTY_ALLEVIATED);
    CU_ASSERT_EQUAL(view.monitoring, TDM_MON_MONITORED);
    CU_ASSERT_EQUAL(view.category, TDM_CAT_MARGINAL);
    CU_ASSERT_TRUE(view.has_identified_date);
    CU_ASSERT_EQUAL(view.identified_date, 19449); /* 2023-04-02 */
    CU_ASSERT_TRUE(view.has_income);
    CU_ASSERT_EQUAL(view.income_year, 2023);
    CU_ASSERT_EQUAL(view.income_per_capita_fen, 790000);
    CU_ASSERT_EQUAL(view.income_annual_fen, 3 * 790000);
    CU_ASSERT_EQUAL(view.household_size, 3);
    CU_ASSERT_EQUAL(view.updated_at, 1717149600000LL);
    CU_ASSERT_EQUAL_FATAL(view.nmembers, 3);
    CU_ASSERT_STRING_EQUAL(view.head_name, "name-PA1");
    CU_ASSERT_STRING_EQUAL(view.members[0].person_key, "PA1");
    CU_ASSERT_EQUAL(view.members[0].relation, TDM_REL_HEAD);
    CU_ASSERT_EQUAL(view.members[0].labour, TDM_R_LABOUR_NORMAL);
    CU_ASSERT_EQUAL(view.members[0].disability_grade, 0);
    CU_ASSERT_EQUAL(view.members[0].in_school, -1);
    CU_ASSERT_EQUAL(view.members[0].birth_date, 3712); /* 1980-03-01 */
    CU_ASSERT_STRING_EQUAL(view.members[1].name, "name-PA2");
    CU_ASSERT_EQUAL(view.members[1].relation, TDM_REL_CHILD);
    CU_ASSERT_EQUAL(view.members[1].labour, TDM_R_LABOUR_WEAK);
    CU_ASSERT_EQUAL(view.members[1].disability_grade, 2);
    CU_ASSERT_EQUAL(view.members[1].in_school, 1);
    CU_ASSERT_EQUAL_FATAL(view.nrisks, 2);
    CU_ASSERT_STRING_EQUAL(view.risks[0], "01");
    CU_ASSERT_STRING_EQUAL(view.risks[1], "03");
    CU_ASSERT_EQUAL(tdm_roster_get(f.roster, f.txn, "H-NONE", &view, &err), -ENOENT);
    CU_ASSERT_STRING_EQUAL(view.head_name, "name-PA1"); /* untouched on -ENOENT */

    /* A small buffer is refused, not cut. */
    {
        char small[3];
        CU_ASSERT_EQUAL(tdm_roster_household_of(f.roster, f.txn, "PA1", small, sizeof(small),
                                                NULL), -ERANGE);
    }
    tdm_household_done(&view);
    tdm_household_done(&view);
    tdm_household_done(NULL);
    fx_done(&f);
}

static void test_update_replaces(void)
{
    fixture f;
    tdm_household view = TDM_HOUSEHOLD_INIT;
    td_error err = {0};
    hh_spec a1 = {"H-A", "PA1,PA2,PA3", "MONITORED", "MARGINAL", 790000};
    hh_spec a2 = {"H-A", "PA1,PA3,PA4", "RISK_ELIMINATED", "MARGINAL", 1200000};
    hh_spec a3 = {"H-A", "PA4", "NOT_MONITORED", NULL, -1};

    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(apply(&f, &a1), 0);
    fx_commit(&f);
    CU_ASSERT_EQUAL_FATAL(apply(&f, &a2), 0);
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "PA2"), ""); /* removed member: link gone */
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "PA4"), "H-A");
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "PA1"), "H-A");
    expect_counts(&f, 1, 3);
    CU_ASSERT_EQUAL_FATAL(tdm_roster_get(f.roster, f.txn, "H-A", &view, &err), 0);
    CU_ASSERT_EQUAL(view.monitoring, TDM_MON_RISK_ELIMINATED);
    CU_ASSERT_EQUAL(view.income_per_capita_fen, 1200000);
    CU_ASSERT_EQUAL(view.nmembers, 3);
    CU_ASSERT_STRING_EQUAL(view.members[2].person_key, "PA4");

    CU_ASSERT_EQUAL_FATAL(apply(&f, &a3), 0);
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "PA1"), "");
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "PA3"), "");
    expect_counts(&f, 1, 1);
    CU_ASSERT_EQUAL_FATAL(tdm_roster_get(f.roster, f.txn, "H-A", &view, &err), 0);
    CU_ASSERT_FALSE(view.has_income);
    CU_ASSERT_EQUAL(view.monitoring, TDM_MON_NOT_MONITORED);
    CU_ASSERT_EQUAL(view.category, TDM_CAT_NONE);
    CU_ASSERT_FALSE(view.has_identified_date);
    CU_ASSERT_EQUAL(view.nmembers, 1);
    CU_ASSERT_STRING_EQUAL(view.head_name, "name-PA4");

    /* The same record again changes nothing. */
    CU_ASSERT_EQUAL_FATAL(apply(&f, &a3), 0);
    expect_counts(&f, 1, 1);
    tdm_household_done(&view);
    fx_done(&f);
}

static void test_tombstone(void)
{
    fixture f;
    tdm_household view = TDM_HOUSEHOLD_INIT;
    hh_spec a = {"H-A", "PA1,PA2", NULL, NULL, 500000};
    hh_spec b = {"H-B", "PB1", NULL, NULL, 500000};

    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(apply(&f, &a), 0);
    CU_ASSERT_EQUAL_FATAL(apply(&f, &b), 0);
    fx_commit(&f);
    CU_ASSERT_EQUAL(tombstone(&f, "H-A"), 0);
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "PA1"), "");
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "PA2"), "");
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "PB1"), "H-B");
    CU_ASSERT_EQUAL(tdm_roster_get(f.roster, f.txn, "H-A", &view, NULL), -ENOENT);
    expect_counts(&f, 1, 1);
    CU_ASSERT_EQUAL(tombstone(&f, "H-A"), 0);       /* again: nothing to do */
    CU_ASSERT_EQUAL(tombstone(&f, "H-UNKNOWN"), 0);
    CU_ASSERT_EQUAL(tombstone(&f, "H-B"), 0);
    expect_counts(&f, 0, 0);
    tdm_household_done(&view);
    fx_done(&f);
}

/* P2 moves from A to B: A's update drops P2, B's adds P2. */
static void moved_member(bool b_first)
{
    fixture f;
    hh_spec a1 = {"H-A", "P1,P2", NULL, NULL, 500000};
    hh_spec b1 = {"H-B", "P3", NULL, NULL, 500000};
    hh_spec a2 = {"H-A", "P1", NULL, NULL, 500000};
    hh_spec b2 = {"H-B", "P3,P2", NULL, NULL, 500000};

    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(apply(&f, &a1), 0);
    CU_ASSERT_EQUAL_FATAL(apply(&f, &b1), 0);
    fx_commit(&f);
    if (b_first) {
        CU_ASSERT_EQUAL_FATAL(apply(&f, &b2), 0);
        CU_ASSERT_STRING_EQUAL(hh_of(&f, "P2"), "H-B");
        CU_ASSERT_EQUAL_FATAL(apply(&f, &a2), 0);
    } else {
        CU_ASSERT_EQUAL_FATAL(apply(&f, &a2), 0);
        CU_ASSERT_STRING_EQUAL(hh_of(&f, "P2"), "");
        CU_ASSERT_EQUAL_FATAL(apply(&f, &b2), 0);
    }
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "P2"), "H-B");
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "P1"), "H-A");
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "P3"), "H-B");
    expect_counts(&f, 2, 3);

    /* And a tombstone of A later does not touch P2's link to B. */
    CU_ASSERT_EQUAL(tombstone(&f, "H-A"), 0);
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "P2"), "H-B");
    expect_counts(&f, 1, 2);
    fx_done(&f);
}

static void test_moved_member_new_household_first(void)
{
    moved_member(true);
}

static void test_moved_member_old_household_first(void)
{
    moved_member(false);
}

static void test_bad_records(void)
{
    fixture f;
    td_error err = {0};
    hh_spec a = {"H-A", "PA1", NULL, NULL, 500000};
    static const unsigned char garbage[] = {0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9};

    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(apply(&f, &a), 0);
    fx_commit(&f);
    /* The record's household_id differs from the key. */
    CU_ASSERT_EQUAL(tdm_roster_apply(f.roster, f.txn, "H-B", 3, f.buf.data, f.buf.len, &err),
                    -EINVAL);
    CU_ASSERT_EQUAL(tdm_roster_apply(f.roster, f.txn, "", 0, f.buf.data, f.buf.len, &err),
                    -EINVAL);
    CU_ASSERT_EQUAL(tdm_roster_apply(f.roster, f.txn, "H-A", 3, garbage, sizeof(garbage), &err),
                    -ENOENT); /* unknown writer fingerprint */
    CU_ASSERT_EQUAL(tdm_roster_apply(f.roster, f.txn, "H-A", 3, f.buf.data, f.buf.len - 1, &err),
                    -EBADMSG);
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "PA1"), "H-A");
    expect_counts(&f, 1, 1);
    fx_done(&f);
}

static void test_abort_leaves_nothing(void)
{
    fixture f;
    hh_spec a = {"H-A", "PA1,PA2", NULL, NULL, 500000};
    td_error err = {0};

    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(apply(&f, &a), 0);
    CU_ASSERT_EQUAL(tdm_store_offset_set(f.txn, ROSTER_TOPIC, 0, 1, &err), 0);
    tdm_store_abort(f.txn);
    CU_ASSERT_EQUAL_FATAL(tdm_store_begin(f.store, &f.txn, &err), 0);
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "PA1"), "");
    expect_counts(&f, 0, 0);
    fx_done(&f);
}

static void test_offsets_with_index_after_reopen(void)
{
    fixture f;
    hh_spec a = {"H-A", "PA1,PA2", NULL, NULL, 500000};
    td_error err = {0};
    int64_t off = 0;

    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(apply(&f, &a), 0);
    CU_ASSERT_EQUAL(tdm_store_offset_set(f.txn, ROSTER_TOPIC, 0, 1, &err), 0);
    fx_commit(&f);
    fx_close(&f);

    fx_open(&f);
    CU_ASSERT_FALSE(tdm_store_was_reset(f.store));
    CU_ASSERT_EQUAL(tdm_store_offset_get(f.txn, ROSTER_TOPIC, 0, &off, &err), 0);
    CU_ASSERT_EQUAL(off, 1);
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "PA2"), "H-A");
    expect_counts(&f, 1, 2);
    fx_done(&f);
}

/* The index's size per person for 100k persons in 25k households of 4 with
 * 18-character keys (printed, not asserted). */
/* Every household of person, "A|B" in id order ("" when none). */
static int all_each(const char *hid, void *opaque)
{
    char *buf = opaque;
    size_t n = strlen(buf);
    snprintf(buf + n, 256 - n, "%s%s", n ? "|" : "", hid);
    return 0;
}

static const char *all_of(fixture *f, const char *person)
{
    static char buf[256];
    buf[0] = '\0';
    CU_ASSERT_EQUAL(tdm_roster_households_of(f->roster, f->txn, person, all_each, buf, NULL), 0);
    return buf;
}

/* One person on two households (the duplicate_person indicator): 'person'
 * links to the household applied last, 'person_all' to both; an update that
 * drops him, or a tombstone, leaves the other; a key with a NUL byte is
 * refused. */
static void test_person_on_two_households(void)
{
    fixture f;
    hh_spec a = {"H-A", "P1,P2", NULL, NULL, 500000};
    hh_spec b = {"H-B", "P3,P2", NULL, NULL, 500000};
    hh_spec c = {"H-0", "P2", NULL, NULL, 500000};
    hh_spec b2 = {"H-B", "P3", NULL, NULL, 500000};

    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(apply(&f, &b), 0);
    CU_ASSERT_EQUAL_FATAL(apply(&f, &a), 0);
    CU_ASSERT_STRING_EQUAL(hh_of(&f, "P2"), "H-A");
    CU_ASSERT_STRING_EQUAL(all_of(&f, "P2"), "H-A|H-B");
    CU_ASSERT_EQUAL_FATAL(apply(&f, &c), 0);
    CU_ASSERT_STRING_EQUAL(all_of(&f, "P2"), "H-0|H-A|H-B");
    CU_ASSERT_EQUAL_FATAL(apply(&f, &a), 0); /* again: unchanged */
    CU_ASSERT_STRING_EQUAL(all_of(&f, "P2"), "H-0|H-A|H-B");
    CU_ASSERT_STRING_EQUAL(all_of(&f, "P1"), "H-A");
    CU_ASSERT_STRING_EQUAL(all_of(&f, "NOBODY"), "");
    fx_commit(&f);
    CU_ASSERT_EQUAL(tombstone(&f, "H-A"), 0);
    CU_ASSERT_STRING_EQUAL(all_of(&f, "P2"), "H-0|H-B");
    CU_ASSERT_STRING_EQUAL(all_of(&f, "P1"), "");
    CU_ASSERT_EQUAL_FATAL(apply(&f, &b2), 0);
    CU_ASSERT_STRING_EQUAL(all_of(&f, "P2"), "H-0");
    CU_ASSERT_STRING_EQUAL(all_of(&f, "P3"), "H-B");
    CU_ASSERT_EQUAL(tombstone(&f, "H-0"), 0);
    CU_ASSERT_STRING_EQUAL(all_of(&f, "P2"), "");
    CU_ASSERT_EQUAL(tdm_roster_apply(f.roster, f.txn, "H\0A", 3, NULL, 0, NULL), -EINVAL);
    fx_done(&f);
}

/* A store from before 'person_all' (emptied here) gets it filled when the
 * roster opens. */
static void test_person_all_filled_at_open(void)
{
    fixture f;
    hh_spec a = {"H-A", "P1,P2", NULL, NULL, 500000};
    hh_spec b = {"H-B", "P2", NULL, NULL, 500000};
    tdm_db adb;
    size_t n = 99;

    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(apply(&f, &a), 0);
    CU_ASSERT_EQUAL_FATAL(apply(&f, &b), 0);
    fx_commit(&f);
    fx_close(&f);
    {
        tdm_store *s = NULL;
        tdm_txn *t = NULL;
        CU_ASSERT_EQUAL_FATAL(tdm_store_open(f.dir, 0, 0, &s, NULL), 0);
        CU_ASSERT_EQUAL_FATAL(tdm_store_db(s, "person_all", &adb, NULL), 0);
        CU_ASSERT_EQUAL_FATAL(tdm_store_begin(s, &t, NULL), 0);
        CU_ASSERT_EQUAL(tdm_store_del(t, adb, "P1", 2, NULL), 0);
        CU_ASSERT_EQUAL(tdm_store_del(t, adb, "P2", 2, NULL), 0);
        CU_ASSERT_EQUAL(tdm_store_count(t, adb, &n, NULL), 0);
        CU_ASSERT_EQUAL(n, 0);
        CU_ASSERT_EQUAL_FATAL(tdm_store_commit(t, NULL), 0);
        tdm_store_close(s);
    }
    fx_open(&f);
    CU_ASSERT_STRING_EQUAL(all_of(&f, "P2"), "H-A|H-B");
    CU_ASSERT_STRING_EQUAL(all_of(&f, "P1"), "H-A");
    fx_done(&f);
}

static void test_size_per_person(void)
{
    enum { HOUSEHOLDS = 25000, PER = 4, BATCH = 5000 };
    fixture f;
    char path[4096], id[32], members[256];
    struct stat st;
    size_t h = 0, p = 0;
    size_t record_bytes = 0, hh_bytes = 0, person_bytes = 0;

    fx_init(&f);
    for (int i = 0; i < HOUSEHOLDS; i++) {
        int used = 0;
        snprintf(id, sizeof(id), "34040210020%05d", i);
        for (int m = 0; m < PER; m++)
            used += snprintf(members + used, sizeof(members) - (size_t)used, "%s9900%08d%04d",
                             m ? "," : "", i, m);
        hh_spec s = {id, members, NULL, NULL, 500000};
        CU_ASSERT_EQUAL_FATAL(apply(&f, &s), 0);
        record_bytes += f.buf.len;
        if ((i + 1) % BATCH == 0)
            fx_commit(&f);
    }
    CU_ASSERT_EQUAL(tdm_roster_count(f.roster, f.txn, &h, &p, NULL), 0);
    CU_ASSERT_EQUAL(h, HOUSEHOLDS);
    CU_ASSERT_EQUAL(p, (size_t)HOUSEHOLDS * PER);
    fx_commit(&f);
    tdm_store_abort(f.txn);
    f.txn = NULL;
    {
        tdm_db hdb, pdb;
        tdm_txn *t;
        CU_ASSERT_EQUAL_FATAL(tdm_store_db(f.store, "household", &hdb, NULL), 0);
        CU_ASSERT_EQUAL_FATAL(tdm_store_db(f.store, "person", &pdb, NULL), 0);
        CU_ASSERT_EQUAL_FATAL(tdm_store_begin_read(f.store, &t, NULL), 0);
        CU_ASSERT_EQUAL(tdm_store_db_bytes(t, hdb, &hh_bytes, NULL), 0);
        CU_ASSERT_EQUAL(tdm_store_db_bytes(t, pdb, &person_bytes, NULL), 0);
        tdm_store_abort(t);
    }
    fx_close(&f);
    snprintf(path, sizeof(path), "%s/data.mdb", f.dir);
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    printf("\n  roster index, %zu persons in %zu households (18-byte keys):\n"
           "    data.mdb %lld bytes = %.1f bytes/person\n"
           "    'person' db %zu bytes = %.1f bytes/person; 'household' db %zu bytes = "
           "%.1f bytes/person (the records as received: %.1f bytes/person)\n",
           p, h, (long long)st.st_size, (double)st.st_size / (double)p,
           person_bytes, (double)person_bytes / (double)p, hh_bytes,
           (double)hh_bytes / (double)p, (double)record_bytes / (double)p);
    fx_open(&f);
    fx_done(&f);
}

static void add_suites(void)
{
    td_test_suite("roster", suite_init, suite_clean);
    TD_TEST(test_apply_and_lookup);
    TD_TEST(test_update_replaces);
    TD_TEST(test_tombstone);
    TD_TEST(test_moved_member_new_household_first);
    TD_TEST(test_moved_member_old_household_first);
    TD_TEST(test_bad_records);
    TD_TEST(test_abort_leaves_nothing);
    TD_TEST(test_offsets_with_index_after_reopen);
    TD_TEST(test_person_on_two_households);
    TD_TEST(test_person_all_filled_at_open);
    TD_TEST(test_size_per_person);
}

TD_TEST_MAIN(add_suites)
