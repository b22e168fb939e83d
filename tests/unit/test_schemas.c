/* The project's schemas (schemas/ (every .avsc)): they parse, every record, enum and
 * field is documented in Chinese and English, the fingerprints in
 * docs/schemas.md are the real ones (docs can't drift), and records of every
 * schema round-trip through the codec byte for byte. */
#include "td_avro.h"
#include "td_test.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static td_avro_registry *reg;

static int setup(void)
{
    char dir[4096];
    td_error err = {0};

    snprintf(dir, sizeof(dir), "%s/schemas", td_test_source_root());
    if (td_avro_registry_new(&reg) < 0 || td_avro_registry_load_dir(reg, dir, NULL, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void)
{
    td_avro_registry_free(reg);
    return 0;
}

static void test_all_records_present(void)
{
    static const char *const names[] = {
        "cn.tuodi.Household", "cn.tuodi.CivilAffairsEvent", "cn.tuodi.MedicalSettlement",
        "cn.tuodi.EmploymentEvent", "cn.tuodi.Alert", "cn.tuodi.VerificationOutcome",
        "cn.tuodi.ConnectorOffset", "cn.tuodi.Suspect"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        CU_ASSERT_PTR_NOT_NULL(td_avro_registry_find_name(reg, names[i]));
    CU_ASSERT_EQUAL(td_avro_registry_count(reg), 8);
}

/* A doc with at least one CJK character (3-byte UTF-8 from E4-E9) and one
 * ASCII letter. */
static int bilingual(const char *doc)
{
    int cjk = 0, latin = 0;
    for (const unsigned char *p = (const unsigned char *)doc; p && *p; p++) {
        if (*p >= 0xE4 && *p <= 0xE9)
            cjk = 1;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
            latin = 1;
    }
    return cjk && latin;
}

static int undocumented(const td_avro_node *n, const char *path, int depth, const char **seen,
                        size_t *nseen)
{
    int bad = 0;

    if (depth > 20)
        return 0;
    if (n->fullname) {
        for (size_t i = 0; i < *nseen; i++)
            if (seen[i] == n->fullname)
                return 0;
        if (*nseen < 256)
            seen[(*nseen)++] = n->fullname;
    }
    switch (n->type) {
    case TD_AVRO_RECORD:
        for (size_t i = 0; i < n->nfields; i++) {
            if (!n->fields[i].doc || !bilingual(n->fields[i].doc)) {
                fprintf(stderr, "%s.%s: field without a Chinese and English doc\n", path,
                        n->fields[i].name);
                bad++;
            }
            bad += undocumented(n->fields[i].type, n->fields[i].name, depth + 1, seen, nseen);
        }
        break;
    case TD_AVRO_ARRAY:
    case TD_AVRO_MAP:
        bad += undocumented(n->items, path, depth + 1, seen, nseen);
        break;
    case TD_AVRO_UNION:
        for (size_t i = 0; i < n->nbranches; i++)
            bad += undocumented(n->branches[i], path, depth + 1, seen, nseen);
        break;
    default:
        break;
    }
    return bad;
}

static void test_every_field_documented(void)
{
    for (size_t i = 0; i < td_avro_registry_count(reg); i++) {
        const td_avro_schema *s = td_avro_registry_at(reg, i);
        const char *seen[256];
        size_t nseen = 0;
        CU_ASSERT_EQUAL(undocumented(td_avro_schema_root(s), td_avro_schema_fullname(s), 0, seen,
                                     &nseen), 0);
    }
}

static void test_docs_fingerprints_are_true(void)
{
    char path[4096];
    char *doc;

    snprintf(path, sizeof(path), "%s/docs/schemas.md", td_test_source_root());
    doc = td_test_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    for (size_t i = 0; i < td_avro_registry_count(reg); i++) {
        const td_avro_schema *s = td_avro_registry_at(reg, i);
        char row[256];
        snprintf(row, sizeof(row), "| `%s` | `%016" PRIx64 "` |", td_avro_schema_root(s)->name,
                 td_avro_schema_fingerprint(s));
        if (!strstr(doc, row)) {
            fprintf(stderr, "docs/schemas.md lacks the row %s\n", row);
            CU_FAIL("fingerprint table out of date");
        }
    }
    free(doc);
}

static void test_every_schema_has_a_record_from_json_that_round_trips(void)
{
    /* The smallest valid record of each schema, built from its JSON form, is
     * encoded, decoded and encoded again to the same bytes. */
    static const struct {
        const char *name, *json;
    } cases[] = {
        {"cn.tuodi.MedicalSettlement",
         "{\"person_key\":\"34052419800101001X\",\"name\":null,\"village_code\":null,"
         "\"settlement_date\":\"2023-05-01\",\"kind\":\"INPATIENT\",\"total_cost_fen\":100,"
         "\"fund_paid_fen\":50,\"out_of_pocket_fen\":50,\"major_disease\":false,"
         "\"source\":{\"department\":\"MEDICAL_INSURANCE\",\"connector_instance\":\"m\","
         "\"record_id\":\"r1\",\"location\":null,\"row\":null}}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const td_avro_schema *s = td_avro_registry_find_name(reg, cases[i].name);
        td_avro_decoder *dec = NULL;
        td_avro_buf a = TD_AVRO_BUF_INIT, b = TD_AVRO_BUF_INIT;
        avro_value_t v, *out;
        td_error err = {0};

        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL_FATAL(td_avro_schema_value_new(s, &v, &err), 0);
        if (td_avro_value_from_json(s, cases[i].json, strlen(cases[i].json), &v, &err) != 0)
            fprintf(stderr, "%s\n", err.msg);
        CU_ASSERT_EQUAL(td_avro_encode(s, &v, &a, &err), 0);
        CU_ASSERT_EQUAL(td_avro_decoder_new(reg, s, &dec, &err), 0);
        CU_ASSERT_EQUAL(td_avro_decode(dec, a.data, a.len, &out, &err), 0);
        CU_ASSERT_EQUAL(td_avro_encode(s, out, &b, &err), 0);
        CU_ASSERT_EQUAL(a.len, b.len);
        CU_ASSERT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
        avro_value_decref(&v);
        td_avro_decoder_free(dec);
        td_avro_buf_done(&a);
        td_avro_buf_done(&b);
    }
}

/* Every published version in schemas/history can be read with the current
 * version of its record, and a record written with it decodes. */
static void test_history_readable_by_current(void)
{
    char dir[4096];
    td_avro_registry *hist = NULL;
    td_error err = {0};
    size_t n = 0;

    snprintf(dir, sizeof(dir), "%s/schemas/history", td_test_source_root());
    CU_ASSERT_EQUAL_FATAL(td_avro_registry_new(&hist), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_registry_load_dir(hist, dir, &n, &err), 0);
    CU_ASSERT(n >= 1);
    for (size_t i = 0; i < td_avro_registry_count(hist); i++) {
        const td_avro_schema *old = td_avro_registry_at(hist, i);
        const td_avro_schema *cur = td_avro_registry_find_name(reg, td_avro_schema_fullname(old));
        CU_ASSERT_PTR_NOT_NULL_FATAL(cur);
        CU_ASSERT(td_avro_schema_fingerprint(cur) != td_avro_schema_fingerprint(old));
        {
            /* the name carries the fingerprint in wire (little-endian) order */
            char want[32];
            uint64_t fp = td_avro_schema_fingerprint(old);
            for (int b = 0; b < 8; b++)
                snprintf(want + 2 * b, 3, "%02x", (unsigned)((fp >> (8 * b)) & 0xff));
            CU_ASSERT_PTR_NOT_NULL(strstr(td_avro_schema_source(old), want));
        }
        if (td_avro_check_compat(cur, old, &err) != 0)
            fprintf(stderr, "%s: %s\n", td_avro_schema_source(old), err.msg);
        CU_ASSERT_EQUAL(td_avro_check_compat(cur, old, &err), 0);
    }
    td_avro_registry_free(hist);
}

static void add_suites(void)
{
    td_test_suite("schemas", setup, teardown);
    TD_TEST(test_all_records_present);
    TD_TEST(test_every_field_documented);
    TD_TEST(test_docs_fingerprints_are_true);
    TD_TEST(test_history_readable_by_current);
    TD_TEST(test_every_schema_has_a_record_from_json_that_round_trips);
}

TD_TEST_MAIN(add_suites)
