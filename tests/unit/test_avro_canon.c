/* The Avro specification's canonical-form and fingerprint test vectors
 * (tests/data/avro-schema-tests.txt, from the Avro repository), plus the
 * single-object framing's example. */
#include "td_avro_canon.h"
#include "td_test.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct vector {
    char id[16];
    char *input;
    char *canonical;
    int has_fingerprint;
    int64_t fingerprint;
} vector;

static vector vectors[128];
static size_t nvectors;

static char *dup_line_value(const char *line, const char *tag)
{
    size_t n = strlen(tag);
    char *v;

    if (strncmp(line, tag, n) != 0)
        return NULL;
    v = strdup(line + n);
    if (v && *v && v[strlen(v) - 1] == '\n')
        v[strlen(v) - 1] = '\0';
    return v;
}

static int load_vectors(void)
{
    char path[4096], line[4096];
    FILE *f;
    vector *cur = NULL;

    snprintf(path, sizeof(path), "%s/tests/data/avro-schema-tests.txt", td_test_source_root());
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "// ", 3) == 0 && line[3] >= '0' && line[3] <= '9') {
            if (nvectors == sizeof(vectors) / sizeof(vectors[0]))
                break;
            cur = &vectors[nvectors++];
            snprintf(cur->id, sizeof(cur->id), "%.3s", line + 3);
        } else if (!cur || strncmp(line, "//", 2) == 0) {
            continue;
        } else if (strcmp(line, "<<INPUT\n") == 0) {
            /* multi-line input up to a line "INPUT" */
            size_t len = 0;
            cur->input = calloc(1, 8192);
            while (cur->input && fgets(line, sizeof(line), f) && strcmp(line, "INPUT\n") != 0) {
                size_t n = strlen(line);
                if (len + n < 8191) {
                    memcpy(cur->input + len, line, n);
                    len += n;
                }
            }
        } else if (strncmp(line, "<<INPUT ", 8) == 0) {
            cur->input = dup_line_value(line, "<<INPUT ");
        } else if (strncmp(line, "<<canonical ", 12) == 0) {
            cur->canonical = dup_line_value(line, "<<canonical ");
        } else if (strncmp(line, "<<fingerprint ", 14) == 0) {
            cur->has_fingerprint = 1;
            cur->fingerprint = strtoll(line + 14, NULL, 10);
        }
    }
    fclose(f);
    return nvectors > 30 ? 0 : -1;
}

static int free_vectors(void)
{
    for (size_t i = 0; i < nvectors; i++) {
        free(vectors[i].input);
        free(vectors[i].canonical);
    }
    return 0;
}

static void test_crc64_of_null_schema(void)
{
    /* library-notes: "null" -> 7195948357588979594 */
    CU_ASSERT_EQUAL((int64_t)td_avro_crc64("\"null\"", 6), INT64_C(7195948357588979594));
    CU_ASSERT_EQUAL(td_avro_crc64("", 0), UINT64_C(0xc15d213aa4d7a795));
}

static void test_spec_vectors(void)
{
    size_t checked_fp = 0;

    CU_ASSERT(nvectors >= 34);
    for (size_t i = 0; i < nvectors; i++) {
        vector *v = &vectors[i];
        char *canon = NULL;
        uint64_t fp = 0;
        td_error err = {0};
        int r;

        CU_ASSERT_PTR_NOT_NULL_FATAL(v->input);
        CU_ASSERT_PTR_NOT_NULL_FATAL(v->canonical);
        r = td_avro_fingerprint_text(v->id, v->input, strlen(v->input), &fp, &canon, &err);
        if (r != 0) {
            fprintf(stderr, "vector %s: %s\n", v->id, err.msg);
            CU_FAIL("vector did not parse");
            continue;
        }
        if (strcmp(canon, v->canonical) != 0) {
            fprintf(stderr, "vector %s: got %s want %s\n", v->id, canon, v->canonical);
            CU_FAIL("canonical form differs");
        }
        /* every vector's fingerprint is that of its canonical text */
        CU_ASSERT_EQUAL(fp, td_avro_crc64(v->canonical, strlen(v->canonical)));
        if (v->has_fingerprint) {
            checked_fp++;
            if ((int64_t)fp != v->fingerprint) {
                fprintf(stderr, "vector %s: fingerprint %" PRId64 " want %" PRId64 "\n", v->id,
                        (int64_t)fp, v->fingerprint);
                CU_FAIL("fingerprint differs");
            }
        }
        free(canon);
    }
    CU_ASSERT(checked_fp >= 20);
}

static void test_nested_names_and_references(void)
{
    const char *s =
        "{\"type\":\"record\",\"name\":\"Outer\",\"namespace\":\"cn.tuodi\",\"doc\":\"x\","
        " \"fields\":["
        "  {\"name\":\"a\",\"type\":{\"type\":\"enum\",\"name\":\"Kind\",\"symbols\":[\"X\",\"Y\"],\"default\":\"X\"}},"
        "  {\"name\":\"b\",\"type\":[\"null\",\"Kind\"],\"default\":null},"
        "  {\"name\":\"c\",\"type\":{\"type\":\"record\",\"name\":\"other.Inner\",\"fields\":["
        "     {\"name\":\"d\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
        "     {\"name\":\"e\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}}]}},"
        "  {\"name\":\"g\",\"type\":\"other.F\"},"
        "  {\"name\":\"h\",\"type\":{\"type\":\"map\",\"values\":{\"type\":\"array\",\"items\":\"cn.tuodi.Kind\"}}}"
        "]}";
    const char *want =
        "{\"name\":\"cn.tuodi.Outer\",\"type\":\"record\",\"fields\":["
        "{\"name\":\"a\",\"type\":{\"name\":\"cn.tuodi.Kind\",\"type\":\"enum\",\"symbols\":[\"X\",\"Y\"]}},"
        "{\"name\":\"b\",\"type\":[\"null\",\"cn.tuodi.Kind\"]},"
        "{\"name\":\"c\",\"type\":{\"name\":\"other.Inner\",\"type\":\"record\",\"fields\":["
        "{\"name\":\"d\",\"type\":\"int\"},"
        "{\"name\":\"e\",\"type\":{\"name\":\"other.F\",\"type\":\"fixed\",\"size\":4}}]}},"
        "{\"name\":\"g\",\"type\":\"other.F\"},"
        "{\"name\":\"h\",\"type\":{\"type\":\"map\",\"values\":{\"type\":\"array\",\"items\":\"cn.tuodi.Kind\"}}}"
        "]}";
    char *canon = NULL;
    uint64_t fp;
    td_error err = {0};

    CU_ASSERT_EQUAL_FATAL(td_avro_fingerprint_text("t", s, strlen(s), &fp, &canon, &err), 0);
    CU_ASSERT_STRING_EQUAL(canon, want);
    free(canon);
}

static void test_unicode_escapes_become_utf8(void)
{
    const char *s = "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"],\"doc\":\"\\u6237\"}";
    char *canon = NULL;
    uint64_t fp;

    CU_ASSERT_EQUAL_FATAL(td_avro_fingerprint_text("t", s, strlen(s), &fp, &canon, NULL), 0);
    CU_ASSERT_STRING_EQUAL(canon, "{\"name\":\"E\",\"type\":\"enum\",\"symbols\":[\"A\"]}");
    free(canon);
}

static void test_not_a_schema_is_refused_with_position(void)
{
    static const struct {
        const char *text, *phrase;
    } bad[] = {
        {"{\"type\":\"record\",\"name\":\"R\"}", "1:1: record R needs a \"fields\" array"},
        {"{\"type\":\"record\",\"fields\":[]}", "record without a name"},
        {"\"Nope\"", "unknown type \"Nope\""},
        {"{\"type\":\"fixed\",\"name\":\"F\",\"size\":-1}", "non-negative integer"},
        {"{\"type\":\"array\"}", "array without \"items\""},
        {"42", "not a number"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[\n {\"name\":\"a\"}]}", "2:2: field of R needs"},
        {"{\"type\":\"int\",\"type\":\"long\"}", "duplicate key \"type\""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        td_error err = {0};
        uint64_t fp;
        CU_ASSERT_EQUAL(td_avro_fingerprint_text("s.avsc", bad[i].text, strlen(bad[i].text),
                                                 &fp, NULL, &err), -22);
        if (!strstr(err.msg, bad[i].phrase)) {
            fprintf(stderr, "case %zu: got \"%s\" want \"%s\"\n", i, err.msg, bad[i].phrase);
            CU_FAIL("message");
        }
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "s.avsc:"));
    }
}

static void add_suites(void)
{
    td_test_suite("avro_canon", load_vectors, free_vectors);
    TD_TEST(test_crc64_of_null_schema);
    TD_TEST(test_spec_vectors);
    TD_TEST(test_nested_names_and_references);
    TD_TEST(test_unicode_escapes_become_utf8);
    TD_TEST(test_not_a_schema_is_refused_with_position);
}

TD_TEST_MAIN(add_suites)
