/* The `mapping:` config of every dataset: each problem reported with the
 * config's file:line:col, the pseudonymisation key file and the pseudonyms,
 * the example configs in deploy/connectors, the reference in
 * docs/connector-datasets.md (generated from the field tables, so it cannot
 * drift), and the count invariant over the mixed fixtures of every dataset. */
#include "tdc_dataset_test.h"

#include "td_idnum.h"

#include <sys/stat.h>
#include <unistd.h>

static t_schemas sc[4];

static int suite_init(void)
{
    for (int k = 0; k < 4; k++)
        if (t_schemas_load(&sc[k], (tdc_dataset_kind)k) < 0)
            return -1;
    return 0;
}

static int suite_clean(void)
{
    for (int k = 0; k < 4; k++)
        t_schemas_done(&sc[k]);
    return 0;
}

/* Builds kind with the YAML mapping; returns tdc_dataset_new's code. */
static int build(tdc_dataset_kind kind, const char *yaml, td_error *err, tdc_dataset **ret)
{
    struct tdc_mapping_config cfg;
    tdc_dataset *ds = NULL;
    int r;

    r = t_mapping_load(yaml, &cfg, err);
    if (r < 0) {
        fprintf(stderr, "\n    yaml: %s\n", err->msg);
        return r;
    }
    r = tdc_dataset_new(kind, &cfg, sc[kind].schema, "cfg-test", &ds, err);
    t_mapping_free(&cfg); /* nothing of it is kept */
    if (ret)
        *ret = ds;
    else
        tdc_dataset_free(ds);
    return r;
}

static void test_config_errors(void)
{
    static const struct {
        tdc_dataset_kind kind;
        const char *yaml, *want;
    } cases[] = {
        {TDC_DATASET_MEDICAL_INSURANCE, "columns:\n  persn_key: 身份证\n",
         "conn.yaml:2:3: mapping.columns: unknown field \"persn_key\" for dataset "
         "medical_insurance (did you mean \"person_key\"?)"},
        /* td_str_suggest: a field name cut short is the start of one */
        {TDC_DATASET_MEDICAL_INSURANCE, "columns:\n  out_of: 自付\n",
         "conn.yaml:2:3: mapping.columns: unknown field \"out_of\" for dataset "
         "medical_insurance (did you mean \"out_of_pocket_fen\"?)"},
        /* two bytes, two edits from "name": too little in common to suggest */
        {TDC_DATASET_MEDICAL_INSURANCE, "columns:\n  nm: 姓名\n",
         "conn.yaml:2:3: mapping.columns: unknown field \"nm\" for dataset medical_insurance "
         "(see docs/connector-datasets.md)"},
        {TDC_DATASET_MEDICAL_INSURANCE, "columns:\n  colour: 颜色\n",
         "conn.yaml:2:3: mapping.columns: unknown field \"colour\" for dataset medical_insurance "
         "(see docs/connector-datasets.md)"},
        {TDC_DATASET_ROSTER, "columns:\n  members[].birth_date: 出生日期\n",
         "conn.yaml:2:3: mapping.columns: members[].birth_date is not read from a column "
         "(derived from the identity number before pseudonymisation)"},
        {TDC_DATASET_MEDICAL_INSURANCE, "columns:\n  source.department: 部门\n",
         "conn.yaml:2:3: mapping.columns: source.department is not read from a column"},
        {TDC_DATASET_MEDICAL_INSURANCE, "columns:\n  name: \"\"\n",
         "conn.yaml:2:9: mapping.columns.name: an empty column name"},
        {TDC_DATASET_MEDICAL_INSURANCE, "codes:\n  knd: {\"1\": INPATIENT}\n",
         "conn.yaml:2:3: mapping.codes: unknown field \"knd\" for dataset medical_insurance "
         "(did you mean \"kind\"?)"},
        {TDC_DATASET_MEDICAL_INSURANCE, "codes:\n  kind:\n    \"1\": INPATENT\n",
         "conn.yaml:3:10: mapping.codes.kind: \"INPATENT\" is not a symbol of SettlementKind "
         "(INPATIENT, OUTPATIENT)"},
        {TDC_DATASET_MEDICAL_INSURANCE, "codes:\n  kind:\n    \"9\": UNKNOWN\n",
         "conn.yaml:3:10: mapping.codes.kind: \"UNKNOWN\" is not a symbol of SettlementKind"},
        {TDC_DATASET_MEDICAL_INSURANCE, "codes:\n  kind:\n    \" 1\": INPATIENT\n",
         "conn.yaml:3:5: mapping.codes.kind: the code \" 1\" has spaces around it"},
        {TDC_DATASET_MEDICAL_INSURANCE, "codes:\n  person_key: {a: b}\n",
         "conn.yaml:2:3: mapping.codes: person_key takes no codes"},
        {TDC_DATASET_MEDICAL_INSURANCE, "codes:\n  settlement_date: {a: b}\n",
         "conn.yaml:2:3: mapping.codes: settlement_date takes no codes"},
        {TDC_DATASET_MEDICAL_INSURANCE, "codes:\n  major_disease: {x: maybe}\n",
         "conn.yaml:2:22: mapping.codes.major_disease: \"maybe\" is not a yes/no value"},
        {TDC_DATASET_CIVIL_AFFAIRS, "codes:\n  disability_grade: {六级: \"6\"}\n",
         "conn.yaml:2:26: mapping.codes.disability_grade: \"6\" is not a whole number from 1 to 4"},
        {TDC_DATASET_ROSTER, "codes:\n  risks: {因灾: \"2\"}\n",
         "conn.yaml:2:15: mapping.codes.risks: \"2\" is not a risk code (2 digits, or 02xx)"},
        {TDC_DATASET_MEDICAL_INSURANCE, "constants:\n  kindd: 住院\n",
         "conn.yaml:2:3: mapping.constants: unknown field \"kindd\""},
        {TDC_DATASET_MEDICAL_INSURANCE, "constants:\n  person_key: \"34052419800101001X\"\n",
         "conn.yaml:2:3: mapping.constants: person_key cannot be a constant"},
        {TDC_DATASET_ROSTER, "constants:\n  household_id: H\n",
         "conn.yaml:2:3: mapping.constants: household_id cannot be a constant"},
        {TDC_DATASET_MEDICAL_INSURANCE, "constants:\n  major_disease: maybe\n",
         "conn.yaml:2:18: mapping.constants.major_disease: 是否大病: \"maybe\" is not a yes/no "
         "value"},
        {TDC_DATASET_MEDICAL_INSURANCE, "constants:\n  kind: SURGERY\n",
         "conn.yaml:2:9: mapping.constants.kind: 就诊类型: unknown value \"SURGERY\""},
        {TDC_DATASET_MEDICAL_INSURANCE, "constants:\n  village_code: \"3404\"\n",
         "mapping.constants.village_code: 村级区划代码: \"3404\" is not a village code"},
        {TDC_DATASET_MEDICAL_INSURANCE, "constants:\n  kind: \"\"\n",
         "conn.yaml:2:9: mapping.constants.kind: an empty constant for a required field"},
        {TDC_DATASET_MEDICAL_INSURANCE,
         "columns:\n  major_disease: 大病\nconstants:\n  major_disease: \"false\"\n",
         "conn.yaml:4:3: mapping.constants: major_disease is also read from column 大病 "
         "(conn.yaml:2:18): choose one"},
        {TDC_DATASET_MEDICAL_INSURANCE, "required: [nme]\n",
         "mapping.required: mapping.required: unknown field \"nme\" for dataset "
         "medical_insurance (did you mean \"name\"?)"},
        {TDC_DATASET_ROSTER, "required: [\"members[].birth_date\"]\n",
         "mapping.required: members[].birth_date is not read from a column"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        td_error err;
        int r = build(cases[i].kind, cases[i].yaml, &err, NULL);

        CU_ASSERT_EQUAL(r, -EINVAL);
        if (!strstr(err.msg, cases[i].want)) {
            fprintf(stderr, "\n    case %zu: got:\n%s\n    want: %s\n", i, err.msg,
                    cases[i].want);
            CU_FAIL("message");
        }
    }
}

/* Several problems: all reported, one per line. */
static void test_config_all_errors(void)
{
    td_error err;

    CU_ASSERT_EQUAL(build(TDC_DATASET_MEDICAL_INSURANCE,
                          "columns:\n  a: x\n  b: y\ncodes:\n  kind: {\"1\": X, \"2\": Y}\n",
                          &err, NULL), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg,
        "conn.yaml:2:3: mapping.columns: unknown field \"a\" for dataset medical_insurance (see "
        "docs/connector-datasets.md)\n"
        "conn.yaml:3:3: mapping.columns: unknown field \"b\" for dataset medical_insurance (see "
        "docs/connector-datasets.md)\n"
        "conn.yaml:5:15: mapping.codes.kind: \"X\" is not a symbol of SettlementKind "
        "(INPATIENT, OUTPATIENT)\n"
        "conn.yaml:5:23: mapping.codes.kind: \"Y\" is not a symbol of SettlementKind "
        "(INPATIENT, OUTPATIENT)");
}

/* Every field path of every dataset is accepted where it makes sense. */
static void test_config_accepts(void)
{
    td_error err;

    CU_ASSERT_EQUAL(build(TDC_DATASET_ROSTER,
                          "columns:\n"
                          "  household_id: 户号\n"
                          "  members[].person_key: 成员证件号码\n"
                          "  income.year: 年度\n"
                          "  monitoring.state: 状态\n"
                          "codes:\n"
                          "  members[].relation: {本人: HEAD}\n"
                          "  members[].in_school: {在读: \"true\"}\n"
                          "  risks: {因灾: \"0299\"}\n"
                          "  grid_id: {\"\": 未分网格}\n"
                          "constants:\n"
                          "  household_type: ORDINARY\n"
                          "  source.department: RURAL_REVITALIZATION\n"
                          "required: [monitoring.identified_date, \"members[].in_school\"]\n",
                          &err, NULL), 0);
    CU_ASSERT_EQUAL(build(TDC_DATASET_MEDICAL_INSURANCE, "", &err, NULL), 0);
    {
        tdc_dataset *ds = NULL;

        CU_ASSERT_EQUAL(tdc_dataset_new(TDC_DATASET_CIVIL_AFFAIRS, NULL,
                                        sc[TDC_DATASET_CIVIL_AFFAIRS].schema, "x", &ds, &err), 0);
        tdc_dataset_free(ds);
    }
}

/* ------------------------------------------------------------ pseudonyms */

static char *write_key(const char *dir, const char *name, const void *key, size_t len,
                       mode_t mode)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f)
        return NULL;
    fwrite(key, 1, len, f);
    fclose(f);
    chmod(path, mode);
    return strdup(path);
}

static void test_key_file(void)
{
    static const unsigned char key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                          17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
                                          31, 32};
    char *dir = td_test_tmpdir(), *good, *shorty, *open_, yaml[8192];
    td_error err;

    good = write_key(dir, "good.key", key, sizeof(key), 0600);
    shorty = write_key(dir, "short.key", key, 31, 0600);
    open_ = write_key(dir, "open.key", key, sizeof(key), 0644);
    CU_ASSERT_PTR_NOT_NULL_FATAL(good);
    CU_ASSERT_PTR_NOT_NULL_FATAL(shorty);
    CU_ASSERT_PTR_NOT_NULL_FATAL(open_);

    snprintf(yaml, sizeof(yaml), "pseudonymize: {key_file: %s}\n", good);
    CU_ASSERT_EQUAL(build(TDC_DATASET_MEDICAL_INSURANCE, yaml, &err, NULL), 0);

    snprintf(yaml, sizeof(yaml), "pseudonymize: {key_file: %s}\n", shorty);
    CU_ASSERT_EQUAL(build(TDC_DATASET_MEDICAL_INSURANCE, yaml, &err, NULL), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "short.key: holds 31 bytes; the key needs at least "
                                           "32"));
    snprintf(yaml, sizeof(yaml), "pseudonymize: {key_file: %s}\n", open_);
    CU_ASSERT_EQUAL(build(TDC_DATASET_MEDICAL_INSURANCE, yaml, &err, NULL), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "open.key: readable or writable by others "
                                           "(chmod o-rwx)"));
    snprintf(yaml, sizeof(yaml), "pseudonymize: {key_file: %s/missing.key}\n", dir);
    CU_ASSERT_EQUAL(build(TDC_DATASET_MEDICAL_INSURANCE, yaml, &err, NULL), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "missing.key: cannot open: No such file"));
    snprintf(yaml, sizeof(yaml), "pseudonymize: {key_file: %s}\n", dir);
    CU_ASSERT_NOT_EQUAL(build(TDC_DATASET_MEDICAL_INSURANCE, yaml, &err, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a regular file"));

    free(good);
    free(shorty);
    free(open_);
    td_test_rmtree(dir);
    free(dir);
}

/* The key is HMAC-SHA256 of the normalised number, so every form of one
 * person's number gives the same key, in every department. */
static void test_pseudonyms(void)
{
    static const char key[] = "0123456789abcdef0123456789abcdef-the-key";
    static const char *const ids[] = {"340402196503120021", "340402650312002", NULL};
    char *dir = td_test_tmpdir(), *path, yaml[8192], want[TD_PSEUDONYM_HEX_LEN + 1];
    t_sink s;
    td_error err;
    tdc_dataset *med = NULL, *civ = NULL;
    t_header hm, hc;
    avro_value_t *v;

    path = write_key(dir, "k", key, strlen(key), 0400);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    snprintf(yaml, sizeof(yaml), "pseudonymize:\n  key_file: %s\n", path);
    CU_ASSERT_EQUAL_FATAL(build(TDC_DATASET_MEDICAL_INSURANCE, yaml, &err, &med), 0);
    CU_ASSERT_EQUAL_FATAL(build(TDC_DATASET_CIVIL_AFFAIRS, yaml, &err, &civ), 0);
    tdc_dataset_set_today(med, (int32_t)t_days("2024-06-01"));
    tdc_dataset_set_today(civ, (int32_t)t_days("2024-06-01"));
    CU_ASSERT_EQUAL(td_idnum_pseudonymize((const unsigned char *)key, strlen(key),
                                          "340402196503120021", want), 0);

    t_sink_init(&s, sc[TDC_DATASET_MEDICAL_INSURANCE].schema);
    t_header_init(&hm, "身份证号|结算日期|就诊类型|医疗总费用|基金支付|个人负担|是否大病");
    t_header_init(&hc, "业务类型|身份证号|业务日期");
    CU_ASSERT_EQUAL(t_map_line(med, &s, &hm, "m.csv", 2,
                               "340402196503120021|2024-03-05|住院|3|2|1|否"), 0);
    CU_ASSERT_EQUAL(t_map_line(med, &s, &hm, "m.csv", 3,
                               "340402650312002|2024-03-05|住院|3|2|1|否"), 0);
    CU_ASSERT_EQUAL(t_map_line(med, &s, &hm, "m.csv", 4,
                               "340402196503120022|2024-03-05|住院|3|2|1|否"), 0);
    CU_ASSERT_EQUAL_FATAL(s.nrecs, 2);
    CU_ASSERT_EQUAL(strlen(s.recs[0].key), 64);
    CU_ASSERT_STRING_EQUAL(s.recs[0].key, want);
    CU_ASSERT_STRING_EQUAL(s.recs[1].key, want);
    v = t_decode(&sc[TDC_DATASET_MEDICAL_INSURANCE], &s, 0);
    CU_ASSERT_STRING_EQUAL(t_str(v, "person_key"), want);
    /* nothing of the number in a record or a rejection */
    CU_ASSERT_TRUE(t_no_id(s.recs[0].json, ids));
    CU_ASSERT_TRUE(t_no_id(s.recs[1].json, ids));
    CU_ASSERT_EQUAL_FATAL(s.nrejs, 1);
    CU_ASSERT_TRUE(t_no_id(s.rejs[0].reason, ids));
    t_sink_done(&s);

    /* the same key in another department */
    t_sink_init(&s, sc[TDC_DATASET_CIVIL_AFFAIRS].schema);
    CU_ASSERT_EQUAL(t_map_line(civ, &s, &hc, "c.csv", 2, "低保申请|340402650312002|2024-03-05"),
                    0);
    CU_ASSERT_EQUAL_FATAL(s.nrecs, 1);
    CU_ASSERT_STRING_EQUAL(s.recs[0].key, want);
    t_sink_done(&s);

    t_header_done(&hm);
    t_header_done(&hc);
    tdc_dataset_free(med);
    tdc_dataset_free(civ);
    free(path);
    td_test_rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------ fixtures */

/* Each tests/data/datasets/<dataset>_mixed.psv: comments (#), a header,
 * rows; a "# expect: records=N rows_in_records=M rejected=K" line. Rows in =
 * rows in records + rows rejected, and the expected numbers. */
static void test_mixed_fixtures(void)
{
    for (int k = 0; k < 4; k++) {
        char path[4096], *text, *line, *save = NULL;
        long want_recs = -1, want_rows = -1, want_rej = -1;
        int64_t rows_in = 0, rownum = 2;
        tdc_dataset *ds = NULL;
        t_header h;
        t_sink s;
        bool header = true;

        snprintf(path, sizeof(path), "%s/tests/data/datasets/%s_mixed.psv",
                 td_test_source_root(), tdc_dataset_kind_names[k]);
        text = td_test_read_file(path, NULL);
        if (!text) {
            fprintf(stderr, "\n    cannot read %s\n", path);
            CU_FAIL("fixture");
            continue;
        }
        t_sink_init(&s, sc[k].schema);
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            if (line[0] == '#') {
                sscanf(line, "# expect: records=%ld rows_in_records=%ld rejected=%ld",
                       &want_recs, &want_rows, &want_rej);
                continue;
            }
            if (header) {
                t_header_init(&h, line);
                ds = t_dataset((tdc_dataset_kind)k, &sc[k], NULL);
                header = false;
                continue;
            }
            CU_ASSERT_EQUAL(t_map_line(ds, &s, &h, "mixed.csv", rownum++, line), 0);
            rows_in++;
        }
        CU_ASSERT_FATAL(!header);
        CU_ASSERT_EQUAL(t_end_unit(ds, &s), 0);
        if (rows_in != s.rows_in_records + (int64_t)s.nrejs || want_recs != (long)s.nrecs ||
            want_rows != (long)s.rows_in_records || want_rej != (long)s.nrejs) {
            fprintf(stderr, "\n    %s: %" PRId64 " rows in, %zu records from %" PRId64
                    " rows, %zu rejected (want %ld, %ld, %ld)\n", path, rows_in, s.nrecs,
                    s.rows_in_records, s.nrejs, want_recs, want_rows, want_rej);
            for (size_t i = 0; i < s.nrejs; i++)
                fprintf(stderr, "      row %" PRId64 ": %s\n", s.rejs[i].row,
                        s.rejs[i].reason);
            CU_FAIL("count invariant");
        }
        tdc_dataset_free(ds);
        t_header_done(&h);
        t_sink_done(&s);
        free(text);
    }
}

/* Hostile input: the fixtures' rows mutated at random, units ended at
 * random. Never a crash, a leak or a record that does not encode (ASan and
 * the sink check), and the count invariant holds throughout. */
static void test_mutations(void)
{
    static const char alphabet[] = "|0123456789xX-./,: \t\xef\xbc\x90\xe3\x80\x80\xff\xc3\"";
    uint64_t rng = 0x9E3779B97F4A7C15ull;

    for (int k = 0; k < 4; k++) {
        char path[4096], *text, *line, *save = NULL, *lines[64];
        size_t nlines = 0;
        int64_t rows_in = 0, rownum = 2;
        tdc_dataset *ds = NULL;
        t_header h;
        t_sink s;

        snprintf(path, sizeof(path), "%s/tests/data/datasets/%s_mixed.psv",
                 td_test_source_root(), tdc_dataset_kind_names[k]);
        text = td_test_read_file(path, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        for (line = strtok_r(text, "\n", &save); line && nlines < 64;
             line = strtok_r(NULL, "\n", &save))
            if (line[0] != '#')
                lines[nlines++] = line;
        CU_ASSERT_FATAL(nlines > 2);
        t_header_init(&h, lines[0]);
        ds = t_dataset((tdc_dataset_kind)k, &sc[k], NULL);
        t_sink_init(&s, sc[k].schema);
        for (int round = 0; round < 3000; round++) {
            char buf[1024];
            size_t len, edits;

            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            snprintf(buf, sizeof(buf), "%s", lines[1 + rng % (nlines - 1)]);
            len = strlen(buf);
            edits = rng >> 60 & 3;
            for (size_t e = 0; e < edits && len; e++) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                buf[rng % len] = alphabet[(rng >> 32) % (sizeof(alphabet) - 1)];
            }
            CU_ASSERT_EQUAL(t_map_line(ds, &s, &h, "mut.csv", rownum++, buf), 0);
            rows_in++;
            if ((rng >> 40) % 97 == 0) {
                CU_ASSERT_EQUAL(t_end_unit(ds, &s), 0);
                rownum = 2;
            }
            /* records and rejections so far never exceed the rows in */
            CU_ASSERT(s.rows_in_records + (int64_t)s.nrejs <= rows_in);
        }
        CU_ASSERT_EQUAL(t_end_unit(ds, &s), 0);
        CU_ASSERT_EQUAL(rows_in, s.rows_in_records + (int64_t)s.nrejs);
        CU_ASSERT(s.nrecs > 0);
        CU_ASSERT(s.nrejs > 0);
        tdc_dataset_free(ds);
        t_header_done(&h);
        t_sink_done(&s);
        free(text);
    }
}

/* ------------------------------------------------------------ docs, deploy */

/* docs/connector-datasets.md holds each dataset's reference between
 * "<!-- BEGIN reference DATASET -->" and "<!-- END reference DATASET -->",
 * exactly as tdc_dataset_write_reference() writes it (TD_UPDATE_REFERENCE=1
 * rewrites the sections). */
static void test_reference_docs(void)
{
    for (int k = 0; k < 4; k++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(tdc_dataset_write_reference((tdc_dataset_kind)k, f), 0);
        fclose(f);
        CU_ASSERT(td_test_reference_block("docs/connector-datasets.md",
                                          tdc_dataset_kind_names[k], buf));
        free(buf);
    }
}

/* The mapping sections of deploy/connectors/<dataset>.yaml build. */
static void test_deploy_examples(void)
{
    for (int k = 0; k < 4; k++) {
        char path[4096], *text, *m, *out, *o;
        td_error err;
        tdc_dataset *ds = NULL;
        int r;

        snprintf(path, sizeof(path), "%s/deploy/connectors/%s.yaml", td_test_source_root(),
                 tdc_dataset_kind_names[k]);
        text = td_test_read_file(path, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        m = strstr(text, "\nmapping:\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        m += strlen("\nmapping:\n");
        /* the section: the indented (or blank, or comment) lines after it */
        out = calloc(1, strlen(m) + 1);
        o = out;
        while (*m && (*m == ' ' || *m == '\n' || *m == '#')) {
            char *nl = strchr(m, '\n');
            size_t l = nl ? (size_t)(nl - m + 1) : strlen(m);

            if (*m == ' ' && l > 2 && m[1] == ' ') {
                memcpy(o, m + 2, l - 2);
                o += l - 2;
            } else {
                memcpy(o, "\n", 1);
                o++;
            }
            m += l;
        }
        r = build((tdc_dataset_kind)k, out, &err, &ds);
        if (r < 0)
            fprintf(stderr, "\n    %s: %s\n", path, err.msg);
        CU_ASSERT_EQUAL(r, 0);
        tdc_dataset_free(ds);
        free(out);
        free(text);
    }
}

static void add_suites(void)
{
    td_test_suite("dataset_config", suite_init, suite_clean);
    TD_TEST(test_config_errors);
    TD_TEST(test_config_all_errors);
    TD_TEST(test_config_accepts);
    TD_TEST(test_key_file);
    TD_TEST(test_pseudonyms);
    TD_TEST(test_mixed_fixtures);
    TD_TEST(test_mutations);
    TD_TEST(test_reference_docs);
    TD_TEST(test_deploy_examples);
}

TD_TEST_MAIN(add_suites)
