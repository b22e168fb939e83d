/* td_avro: schemas, the registry, exact encodings, round trips, evolution in
 * both directions and its refusals, logical types and JSON.
 * Fixtures: tests/data/avro/ (test-only schemas, not the bus schemas). */
#include "td_avro.h"
#include "td_avro_canon.h"
#include "td_test.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

static td_avro_schema *fixture(const char *file)
{
    char path[4096];
    td_avro_schema *s = NULL;
    td_error err = {0};

    snprintf(path, sizeof(path), "%s/tests/data/avro/%s", td_test_source_root(), file);
    if (td_avro_schema_load(path, &s, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    return s;
}

static td_avro_schema *inline_schema(const char *text)
{
    td_avro_schema *s = NULL;
    td_error err = {0};

    if (td_avro_schema_new("inline", text, strlen(text), &s, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    return s;
}

/* Encodes the JSON text (td_avro_value_from_json's form) with s into out. */
static int encode_json(const td_avro_schema *s, const char *json, td_avro_buf *out,
                       td_error *err)
{
    avro_value_t v;
    int r;

    if ((r = td_avro_schema_value_new(s, &v, err)) < 0)
        return r;
    r = td_avro_value_from_json(s, json, strlen(json), &v, err);
    if (r == 0)
        r = td_avro_encode(s, &v, out, err);
    avro_value_decref(&v);
    return r;
}

/* Decodes buf and renders it as JSON; a malloc'd text or NULL with err. */
static char *decode_to_json(td_avro_decoder *d, const td_avro_schema *reader, const void *buf,
                            size_t len, td_error *err)
{
    avro_value_t *v;
    td_avro_buf js = TD_AVRO_BUF_INIT;
    char *out = NULL;

    if (td_avro_decode(d, buf, len, &v, err) == 0 &&
        td_avro_value_to_json(reader, v, &js, err) == 0)
        out = strdup((const char *)js.data);
    td_avro_buf_done(&js);
    return out;
}

static void expect_json(const char *got, const char *want)
{
    if (!got || strcmp(got, want) != 0) {
        fprintf(stderr, "\n got: %s\nwant: %s\n", got ? got : "(null)", want);
        CU_FAIL("JSON differs");
    }
}

static void expect_msg(const td_error *err, const char *phrase)
{
    if (!strstr(err->msg, phrase)) {
        fprintf(stderr, "\nmessage: %s\n   want: %s\n", err->msg, phrase);
        CU_FAIL("message");
    }
}

/* The body (after the 10-byte header) equals want[0..n). */
static void expect_body(const td_avro_buf *b, const unsigned char *want, size_t n)
{
    CU_ASSERT_EQUAL_FATAL(b->len, TD_AVRO_HEADER_LEN + n);
    if (memcmp(b->data + TD_AVRO_HEADER_LEN, want, n) != 0) {
        fprintf(stderr, "\nbody:");
        for (size_t i = TD_AVRO_HEADER_LEN; i < b->len; i++)
            fprintf(stderr, " %02x", b->data[i]);
        fprintf(stderr, "\n");
        CU_FAIL("body bytes differ");
    }
}

static td_avro_registry *registry_of(const char *const *files)
{
    td_avro_registry *reg = NULL;

    if (td_avro_registry_new(&reg) < 0)
        return NULL;
    for (size_t i = 0; files[i]; i++) {
        td_avro_schema *s = fixture(files[i]);
        td_error err = {0};
        if (!s || td_avro_registry_add(reg, s, &err) < 0) {
            fprintf(stderr, "%s: %s\n", files[i], err.msg);
            return td_avro_registry_free(reg);
        }
    }
    return reg;
}

/* ---------------------------------------------------------------- schemas */

static const char *const all_fixtures[] = {
    "sample_v1.avsc", "sample_v2.avsc", "sample_v3.avsc", "kitchen.avsc",
    "list.avsc", "sample_nodefault.avsc", "sample_badtype.avsc", NULL,
};

static void test_fixtures_parse_and_keep_their_text(void)
{
    for (size_t i = 0; all_fixtures[i]; i++) {
        td_avro_schema *s = fixture(all_fixtures[i]);
        char path[4096];
        char *text;
        size_t len = 0, tlen = 0;
        const char *canon;

        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        snprintf(path, sizeof(path), "%s/tests/data/avro/%s", td_test_source_root(),
                 all_fixtures[i]);
        text = td_test_read_file(path, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        /* the original text, with doc, default and logicalType */
        CU_ASSERT_STRING_EQUAL(td_avro_schema_text(s, &tlen), text);
        CU_ASSERT_EQUAL(tlen, len);
        canon = td_avro_schema_canonical(s);
        CU_ASSERT_EQUAL(td_avro_schema_fingerprint(s), td_avro_crc64(canon, strlen(canon)));
        CU_ASSERT_PTR_NULL(strstr(canon, "default"));
        CU_ASSERT_PTR_NOT_NULL(td_avro_schema_avro(s));
        CU_ASSERT_PTR_NOT_NULL(td_avro_schema_iface(s));
        CU_ASSERT_PTR_NOT_NULL(strstr(td_avro_schema_source(s), all_fixtures[i]));
        free(text);
        td_avro_schema_free(s);
    }
}

static const td_avro_field *field(const td_avro_node *rec, const char *name)
{
    for (size_t i = 0; i < rec->nfields; i++)
        if (strcmp(rec->fields[i].name, name) == 0)
            return &rec->fields[i];
    fprintf(stderr, "no field %s in %s\n", name, rec->fullname);
    abort(); /* a broken fixture: nothing else is worth reporting */
}

static void test_node_tree_knows_what_avro_c_drops(void)
{
    td_avro_schema *v1 = fixture("sample_v1.avsc");
    td_avro_schema *v2 = fixture("sample_v2.avsc");
    td_avro_schema *k = fixture("kitchen.avsc");
    td_avro_schema *l = fixture("list.avsc");
    const td_avro_node *r, *n;
    const td_avro_field *f;

    CU_ASSERT_PTR_NOT_NULL_FATAL(v1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    r = td_avro_schema_root(v1);
    CU_ASSERT_STRING_EQUAL(field(r, "id")->doc, "source record id");
    CU_ASSERT_EQUAL(field(r, "legacy_code")->def->type, TD_JSON_STRING);
    CU_ASSERT_EQUAL(field(r, "note")->def->type, TD_JSON_NULL);
    r = td_avro_schema_root(v2);
    CU_ASSERT_STRING_EQUAL(td_avro_schema_fullname(v2), "cn.tuodi.test.Sample");
    CU_ASSERT_EQUAL(r->type, TD_AVRO_RECORD);
    CU_ASSERT_STRING_EQUAL(r->name, "Sample");
    CU_ASSERT_EQUAL(r->nfields, 23);
    f = field(r, "born");
    CU_ASSERT_EQUAL(f->type->logical, TD_AVRO_LOGICAL_DATE);
    CU_ASSERT_PTR_NULL(f->def);
    f = field(r, "added_seen");
    CU_ASSERT_EQUAL(f->type->logical, TD_AVRO_LOGICAL_TIMESTAMP_MILLIS);
    CU_ASSERT_EQUAL(f->def->integer, INT64_C(1795870800123));
    n = field(r, "status")->type;
    CU_ASSERT_EQUAL(n->type, TD_AVRO_ENUM);
    CU_ASSERT_EQUAL(n->nsymbols, 3);
    CU_ASSERT_EQUAL(n->enum_default, 0);
    CU_ASSERT_STRING_EQUAL(n->fullname, "cn.tuodi.test.Status");
    CU_ASSERT_EQUAL(field(r, "color")->type->enum_default, -1);
    CU_ASSERT_EQUAL(field(r, "added_hash")->type->size, 2);
    CU_ASSERT_EQUAL(field(r, "added_address")->def->type, TD_JSON_OBJECT);
    n = field(r, "added_pick")->type;
    CU_ASSERT_EQUAL(n->type, TD_AVRO_UNION);
    CU_ASSERT_EQUAL(n->nbranches, 2);
    CU_ASSERT_EQUAL(n->branches[0]->type, TD_AVRO_STRING);
    CU_ASSERT_EQUAL(field(r, "added_attrs")->type->items->type, TD_AVRO_STRING);
    CU_ASSERT_PTR_NULL(field(r, "id")->doc);

    r = td_avro_schema_root(k);
    n = field(r, "dec")->type;
    CU_ASSERT_EQUAL(n->logical, TD_AVRO_LOGICAL_OTHER);
    CU_ASSERT_STRING_EQUAL(n->logical_name, "decimal");
    /* a named type referred to again is the same node, namespaces resolved */
    CU_ASSERT_PTR_EQUAL(field(r, "inner")->type, field(r, "again")->type);
    CU_ASSERT_STRING_EQUAL(field(r, "inner")->type->fullname, "cn.tuodi.test.sub.Inner");
    CU_ASSERT_PTR_EQUAL(field(field(r, "inner")->type, "suit")->type, field(r, "e")->type);
    CU_ASSERT_EQUAL(field(r, "nulls")->type->items->min_size, 0);
    CU_ASSERT_EQUAL(field(r, "empties")->type->items->min_size, 0);
    CU_ASSERT_EQUAL(field(r, "empties")->type->min_size, 1);
    CU_ASSERT_EQUAL(field(r, "fx")->type->min_size, 4);

    /* recursion: the list's next branch is the list itself */
    r = td_avro_schema_root(l);
    CU_ASSERT_PTR_EQUAL(field(r, "next")->type->branches[1], r);
    td_avro_schema_free(v1);
    td_avro_schema_free(v2);
    td_avro_schema_free(k);
    td_avro_schema_free(l);
}

static void test_invalid_schemas_are_refused_with_position(void)
{
    static const struct {
        const char *text, *phrase;
    } bad[] = {
        {"{\"type\":\"long\",\"logicalType\":\"date\"}", "logicalType date needs type int"},
        {"{\"type\":\"int\",\"logicalType\":\"timestamp-millis\"}", "timestamp-millis needs type long"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},"
         "{\"name\":\"a\",\"type\":\"int\"}]}", "1:65: record R has two fields named a"},
        {"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"A\"]}", "has the symbol A twice"},
        {"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"1A\"]}", "a symbol must be a name"},
        {"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"],\"default\":\"B\"}",
         "default \"B\" is not one of its symbols"},
        {"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[]}", "non-empty \"symbols\""},
        {"{\"type\":\"fixed\",\"name\":\"F\",\"size\":0}", "cannot read size 0"},
        {"{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"W\",\"fields\":"
         "[{\"name\":\"e\",\"type\":{\"type\":\"record\",\"name\":\"E\",\"fields\":[]}}]}}",
         "an array of W, a record that holds no data"},
        {"[\"int\",\"int\"]", "two branches of type int"},
        {"[\"null\",[\"int\"]]", "a union cannot contain a union"},
        {"[]", "at least one branch"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"Nope\"}]}",
         "unknown type \"Nope\""},
        {"{\"type\":\"record\",\"name\":\"a-b\",\"fields\":[]}", "not a valid name"},
        {"{\"type\":\"record\",\"name\":\"int\",\"fields\":[]}", "cannot be called int"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":"
         "{\"type\":\"record\",\"name\":\"R\",\"fields\":[]}}]}", "defined twice"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"string\","
         "\"default\":1}]}", "default of R.a: expected a string"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\","
         "\"default\":3000000000}]}", "expected an int"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":[\"null\","
         "\"string\"],\"default\":\"x\"}]}", "default of R.a: expected null"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":"
         "\"fixed\",\"name\":\"F\",\"size\":2},\"default\":\"abc\"}]}", "holds 2 bytes, not 3"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"bytes\","
         "\"default\":\"\\u0100\"}]}", "code points 0 to 255"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":"
         "\"record\",\"name\":\"S\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]},"
         "\"default\":{}}]}", "default of R.a: field x is missing and has no default"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":"
         "\"array\",\"items\":\"int\"},\"default\":[1,\"x\"]}]}", "default of R.a[1]: expected an int"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":"
         "\"int\",\"logicalType\":\"date\"},\"default\":\"2026-01-01\"}]}",
         "default of R.a: expected an int"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},]}",
         "s.avsc:1:"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        td_avro_schema *s = NULL;
        td_error err = {0};
        int r = td_avro_schema_new("s.avsc", bad[i].text, strlen(bad[i].text), &s, &err);
        CU_ASSERT_EQUAL(r, -EINVAL);
        CU_ASSERT_PTR_NULL(s);
        if (!strstr(err.msg, bad[i].phrase) || !strstr(err.msg, "s.avsc:")) {
            fprintf(stderr, "\ncase %zu: got \"%s\" want \"%s\"\n", i, err.msg, bad[i].phrase);
            CU_FAIL("message");
        }
    }
}

static void test_registry_by_fingerprint_and_name(void)
{
    td_avro_registry *reg = NULL;
    td_avro_schema *v1 = fixture("sample_v1.avsc"), *v2 = fixture("sample_v2.avsc");
    td_avro_schema *again = fixture("sample_v1.avsc");
    uint64_t fp1, fp2;
    td_error err = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(v1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(again);
    fp1 = td_avro_schema_fingerprint(v1);
    fp2 = td_avro_schema_fingerprint(v2);
    CU_ASSERT_NOT_EQUAL(fp1, fp2);
    CU_ASSERT_EQUAL_FATAL(td_avro_registry_new(&reg), 0);
    CU_ASSERT_EQUAL(td_avro_registry_add(reg, v2, &err), 0);
    CU_ASSERT_EQUAL(td_avro_registry_add(reg, v1, &err), 0);
    /* takes ownership even when refusing: ASan would see a leak otherwise */
    CU_ASSERT_EQUAL(td_avro_registry_add(reg, again, &err), -EEXIST);
    expect_msg(&err, "is registered already");
    CU_ASSERT_EQUAL(td_avro_registry_count(reg), 2);
    CU_ASSERT_PTR_EQUAL(td_avro_registry_find(reg, fp1), v1);
    CU_ASSERT_PTR_EQUAL(td_avro_registry_find(reg, fp2), v2);
    CU_ASSERT_PTR_NULL(td_avro_registry_find(reg, fp1 ^ 1));
    /* the first added of a name is the current one */
    CU_ASSERT_PTR_EQUAL(td_avro_registry_find_name(reg, "cn.tuodi.test.Sample"), v2);
    CU_ASSERT_PTR_NULL(td_avro_registry_find_name(reg, "Sample"));
    CU_ASSERT_PTR_EQUAL(td_avro_registry_at(reg, 1), v1);
    CU_ASSERT_PTR_NULL(td_avro_registry_at(reg, 2));
    td_avro_registry_free(reg);
    CU_ASSERT_PTR_NULL(td_avro_registry_free(NULL));
    CU_ASSERT_PTR_NULL(td_avro_schema_free(NULL));
}

static void test_registry_loads_a_directory(void)
{
    char *dir = td_test_tmpdir();
    char path[4096], fixtures[2048];
    char *v1 = NULL, *v2 = NULL, *docchanged = NULL;
    td_avro_registry *reg = NULL;
    td_error err = {0};
    size_t added = 99, len;
    const char *p;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(fixtures, sizeof(fixtures), "%s/tests/data/avro", td_test_source_root());
    snprintf(path, sizeof(path), "%s/sample_v1.avsc", fixtures);
    v1 = td_test_read_file(path, &len);
    snprintf(path, sizeof(path), "%s/sample_v2.avsc", fixtures);
    v2 = td_test_read_file(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v2);
    /* the same canonical form with other docs: skipped, not an error */
    docchanged = strdup(v1);
    p = strstr(docchanged, "version 1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    memcpy(docchanged + (p - docchanged), "VERSION 1", 9);

    snprintf(path, sizeof(path), "%s/a_v1.avsc", dir);
    CU_ASSERT_EQUAL(td_test_write_file(path, v1), 0);
    snprintf(path, sizeof(path), "%s/b_v2.avsc", dir);
    CU_ASSERT_EQUAL(td_test_write_file(path, v2), 0);
    snprintf(path, sizeof(path), "%s/c_v1_docs.avsc", dir);
    CU_ASSERT_EQUAL(td_test_write_file(path, docchanged), 0);
    snprintf(path, sizeof(path), "%s/notes.txt", dir);
    CU_ASSERT_EQUAL(td_test_write_file(path, "not a schema"), 0);

    CU_ASSERT_EQUAL_FATAL(td_avro_registry_new(&reg), 0);
    CU_ASSERT_EQUAL(td_avro_registry_load_dir(reg, dir, &added, &err), 0);
    CU_ASSERT_EQUAL(added, 2);
    CU_ASSERT_EQUAL(td_avro_registry_count(reg), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(td_avro_schema_source(td_avro_registry_at(reg, 0)), "a_v1.avsc"));
    td_avro_registry_free(reg);

    /* a broken file: named in the error, the others still load */
    snprintf(path, sizeof(path), "%s/d_broken.avsc", dir);
    CU_ASSERT_EQUAL(td_test_write_file(path, "{\"type\":\"record\",\"name\":\"X\",\n"
                                             "\"fields\":[{\"name\":\"a\"}]}"),
                    0);
    snprintf(path, sizeof(path), "%s/e_badjson.avsc", dir);
    CU_ASSERT_EQUAL(td_test_write_file(path, "{\"type\":"), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_registry_new(&reg), 0);
    CU_ASSERT_EQUAL(td_avro_registry_load_dir(reg, dir, NULL, &err), -EINVAL);
    expect_msg(&err, "d_broken.avsc:2:");
    expect_msg(&err, "e_badjson.avsc:");
    CU_ASSERT_EQUAL(td_avro_registry_count(reg), 2);
    td_avro_registry_free(reg);

    /* the fixtures directory itself */
    CU_ASSERT_EQUAL_FATAL(td_avro_registry_new(&reg), 0);
    CU_ASSERT_EQUAL(td_avro_registry_load_dir(reg, fixtures, &added, &err), 0);
    CU_ASSERT_EQUAL(added, 7);
    td_avro_registry_free(reg);

    CU_ASSERT_EQUAL(td_avro_registry_new(&reg), 0);
    CU_ASSERT_EQUAL(td_avro_registry_load_dir(reg, "/nonexistent/dir", NULL, &err), -ENOENT);
    td_avro_registry_free(reg);

    free(v1);
    free(v2);
    free(docchanged);
    td_test_rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------- exact encodings */

static void test_zigzag_varint_vectors(void)
{
    static const struct {
        int64_t v;
        unsigned char bytes[10];
        size_t n;
    } vec[] = {
        {0, {0x00}, 1},
        {-1, {0x01}, 1},
        {1, {0x02}, 1},
        {-64, {0x7f}, 1},
        {64, {0x80, 0x01}, 2},
        {-65, {0x81, 0x01}, 2},
        {8191, {0xfe, 0x7f}, 2},
        {-8193, {0x81, 0x80, 0x01}, 3},
        {INT32_MAX, {0xfe, 0xff, 0xff, 0xff, 0x0f}, 5},
        {INT32_MIN, {0xff, 0xff, 0xff, 0xff, 0x0f}, 5},
        {INT64_MAX, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
        {INT64_MIN, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
    };
    td_avro_schema *is = inline_schema("\"int\""), *ls = inline_schema("\"long\"");
    td_avro_registry *reg = NULL;
    td_avro_decoder *dl = NULL, *di = NULL;
    td_avro_buf b = TD_AVRO_BUF_INIT;
    avro_value_t iv, lv, *out;
    td_error err = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(is);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ls);
    CU_ASSERT_EQUAL_FATAL(td_avro_registry_new(&reg), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(reg, ls, &dl, &err), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(reg, is, &di, &err), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_schema_value_new(is, &iv, &err), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_schema_value_new(ls, &lv, &err), 0);
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        int64_t got = 0;
        int32_t goti = 0;
        avro_value_set_long(&lv, vec[i].v);
        CU_ASSERT_EQUAL_FATAL(td_avro_encode(ls, &lv, &b, &err), 0);
        expect_body(&b, vec[i].bytes, vec[i].n);
        CU_ASSERT_EQUAL_FATAL(td_avro_decode(dl, b.data, b.len, &out, &err), 0);
        avro_value_get_long(out, &got);
        CU_ASSERT_EQUAL(got, vec[i].v);
        if (vec[i].v < INT32_MIN || vec[i].v > INT32_MAX)
            continue;
        avro_value_set_int(&iv, (int32_t)vec[i].v);
        CU_ASSERT_EQUAL_FATAL(td_avro_encode(is, &iv, &b, &err), 0);
        expect_body(&b, vec[i].bytes, vec[i].n);
        CU_ASSERT_EQUAL_FATAL(td_avro_decode(di, b.data, b.len, &out, &err), 0);
        avro_value_get_int(out, &goti);
        CU_ASSERT_EQUAL(goti, vec[i].v);
    }
    avro_value_decref(&iv);
    avro_value_decref(&lv);
    td_avro_buf_done(&b);
    td_avro_decoder_free(dl);
    td_avro_decoder_free(di);
    td_avro_registry_free(reg);
    td_avro_schema_free(is);
    td_avro_schema_free(ls);
}

/* Each schema, a JSON value, its exact body. */
static void test_known_encodings_of_each_type(void)
{
    static const struct {
        const char *schema, *json;
        unsigned char bytes[16];
        size_t n;
        const char *back; /* the JSON read back, when not json itself */
    } vec[] = {
        {"\"null\"", "null", {0}, 0, NULL},
        {"\"boolean\"", "true", {0x01}, 1, NULL},
        {"\"boolean\"", "false", {0x00}, 1, NULL},
        {"\"string\"", "\"foo\"", {0x06, 0x66, 0x6f, 0x6f}, 4, NULL},
        {"\"string\"", "\"\"", {0x00}, 1, NULL},
        {"\"string\"", "\"\\u6237\"", {0x06, 0xe6, 0x88, 0xb7}, 4, "\"\xe6\x88\xb7\""},
        {"\"bytes\"", "\"\\u0000\\u00ff\"", {0x04, 0x00, 0xff}, 3, NULL},
        {"\"bytes\"", "\"\"", {0x00}, 1, NULL},
        {"\"float\"", "1", {0x00, 0x00, 0x80, 0x3f}, 4, NULL},
        {"\"float\"", "-0.15625", {0x00, 0x00, 0x20, 0xbe}, 4, NULL},
        {"\"double\"", "-2", {0, 0, 0, 0, 0, 0, 0, 0xc0}, 8, NULL},
        {"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\",\"C\"]}", "\"C\"", {0x04}, 1, NULL},
        {"{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}", "\"abc\"", {0x61, 0x62, 0x63}, 3, NULL},
        {"[\"null\",\"string\"]", "null", {0x00}, 1, NULL},
        {"[\"null\",\"string\"]", "{\"string\":\"a\"}", {0x02, 0x02, 0x61}, 3, NULL},
        {"{\"type\":\"array\",\"items\":\"long\"}", "[1,2]", {0x04, 0x02, 0x04, 0x00}, 4, NULL},
        {"{\"type\":\"array\",\"items\":\"long\"}", "[]", {0x00}, 1, NULL},
        {"{\"type\":\"map\",\"values\":\"long\"}", "{\"a\":1}", {0x02, 0x02, 0x61, 0x02, 0x00}, 5, NULL},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"},"
         "{\"name\":\"b\",\"type\":\"string\"}]}", "{\"a\":27,\"b\":\"foo\"}",
         {0x36, 0x06, 0x66, 0x6f, 0x6f}, 5, NULL},
        {"{\"type\":\"record\",\"name\":\"E\",\"fields\":[]}", "{}", {0}, 0, NULL},
    };
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        td_avro_schema *s = inline_schema(vec[i].schema);
        td_avro_registry *reg = NULL;
        td_avro_decoder *d = NULL;
        td_avro_buf b = TD_AVRO_BUF_INIT;
        td_error err = {0};
        char *back;

        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        if (encode_json(s, vec[i].json, &b, &err) < 0) {
            fprintf(stderr, "\ncase %zu: %s\n", i, err.msg);
            CU_FAIL("encode");
        } else {
            expect_body(&b, vec[i].bytes, vec[i].n);
        }
        CU_ASSERT_EQUAL_FATAL(td_avro_registry_new(&reg), 0);
        CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(reg, s, &d, &err), 0);
        back = decode_to_json(d, s, b.data, b.len, &err);
        expect_json(back, vec[i].back ? vec[i].back : vec[i].json);
        free(back);
        td_avro_decoder_free(d);
        td_avro_registry_free(reg);
        td_avro_buf_done(&b);
        td_avro_schema_free(s);
    }
}

static void test_header_is_magic_and_le_fingerprint(void)
{
    td_avro_schema *s = fixture("sample_v1.avsc");
    td_avro_buf b = TD_AVRO_BUF_INIT;
    td_error err = {0};
    const char *canon;
    uint64_t fp, parsed = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(encode_json(s, "{\"id\":\"x\",\"count\":1,\"status\":\"ACTIVE\",\"color\":"
                                         "\"RED\",\"amount_fen\":0,\"born\":0,\"tags\":[],"
                                         "\"ratio\":0,\"note\":null,\"legacy_code\":\"\"}",
                                      &b, &err), 0);
    canon = td_avro_schema_canonical(s);
    fp = td_avro_crc64(canon, strlen(canon));
    CU_ASSERT_EQUAL(b.data[0], 0xC3);
    CU_ASSERT_EQUAL(b.data[1], 0x01);
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(b.data[2 + i], (fp >> (8 * i)) & 0xff);
    CU_ASSERT_EQUAL(td_avro_frame_parse(b.data, b.len, &parsed, &err), 0);
    CU_ASSERT_EQUAL(parsed, fp);
    /* the body alone validates against the schema */
    CU_ASSERT_EQUAL(td_avro_validate(s, b.data + 10, b.len - 10, &err), 0);
    td_avro_buf_done(&b);
    td_avro_schema_free(s);
}

/* ------------------------------------------------------------ round trips */

static const char kitchen_json[] =
    "{\"n\":null,\"b\":true,\"i\":-2147483648,\"l\":9223372036854775807,\"f\":3.25,"
    "\"d\":-1e+300,\"by\":\"\\u0000\\u0001\\u00fe\\u00ff\","
    "\"s\":\"\xe8\x84\xb1\xe8\xb4\xab\xe6\x88\xb7 \\\"q\\\" \\\\ \\u000a\\u0009\","
    "\"e\":\"CLUBS\",\"fx\":\"\\u00de\\u00ad\\u00be\\u00ef\",\"day\":\"2026-11-28\","
    "\"at\":\"2026-11-28T13:00:00.123Z\",\"dec\":\"\\u0001\\u0002\","
    "\"inner\":{\"x\":1,\"words\":[\"w1\",\"w2\"],\"suit\":\"HEARTS\"},"
    "\"again\":{\"x\":-1,\"words\":[],\"suit\":\"SPADES\"},"
    "\"longs\":[0,-1,1,-9223372036854775808],\"nulls\":[null,null,null],\"empties\":{\"a\":{},\"b\":{}},"
    "\"grid\":[[1,2],[],[3]],\"dict\":{\"pi\":3.14159,\"zero\":0},"
    "\"lists\":{\"one\":[{\"x\":2,\"words\":[\"a\"],\"suit\":\"DIAMONDS\"}],\"none\":[]},"
    "\"u\":%s,\"maybe\":{\"cn.tuodi.test.Suit\":\"HEARTS\"}}";

static void test_round_trip_every_type(void)
{
    static const char *const unions[] = {
        "null",
        "{\"int\":5}",
        "{\"string\":\"s\"}",
        "{\"cn.tuodi.test.sub.Inner\":{\"x\":3,\"words\":[],\"suit\":\"CLUBS\"}}",
        "{\"cn.tuodi.test.Quad\":\"abcd\"}",
        "{\"map\":{\"a\":1,\"b\":-2}}",
    };
    td_avro_schema *k = fixture("kitchen.avsc");
    td_avro_registry *reg = NULL;
    td_avro_decoder *d = NULL;
    td_avro_buf b = TD_AVRO_BUF_INIT;
    td_error err = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    CU_ASSERT_EQUAL_FATAL(td_avro_registry_new(&reg), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(reg, k, &d, &err), 0);
    for (size_t i = 0; i < sizeof(unions) / sizeof(unions[0]); i++) {
        char json[4096];
        avro_value_t v, *out;
        char *back;

        snprintf(json, sizeof(json), kitchen_json, unions[i]);
        CU_ASSERT_EQUAL_FATAL(td_avro_schema_value_new(k, &v, &err), 0);
        if (td_avro_value_from_json(k, json, strlen(json), &v, &err) < 0) {
            fprintf(stderr, "\n%s\n", err.msg);
            CU_FAIL_FATAL("from_json");
        }
        CU_ASSERT_EQUAL_FATAL(td_avro_encode(k, &v, &b, &err), 0);
        CU_ASSERT_EQUAL_FATAL(td_avro_decode(d, b.data, b.len, &out, &err), 0);
        CU_ASSERT(avro_value_equal(&v, out));
        CU_ASSERT_PTR_EQUAL(td_avro_decoder_writer(d), k);
        back = decode_to_json(d, k, b.data, b.len, &err);
        expect_json(back, json);
        free(back);
        avro_value_decref(&v);
    }
    td_avro_decoder_free(d);
    td_avro_registry_free(reg);
    td_avro_buf_done(&b);
    td_avro_schema_free(k);
}

static void test_recursive_schema_round_trip(void)
{
    td_avro_schema *l = fixture("list.avsc");
    td_avro_registry *reg = NULL;
    td_avro_decoder *d = NULL;
    td_avro_buf b = TD_AVRO_BUF_INIT;
    td_error err = {0};
    const char *json = "{\"value\":1,\"next\":{\"cn.tuodi.test.Node\":{\"value\":2,\"next\":"
                       "{\"cn.tuodi.test.Node\":{\"value\":3,\"next\":null}}}}}";
    char *back;

    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_EQUAL_FATAL(td_avro_registry_new(&reg), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(reg, l, &d, &err), 0);
    CU_ASSERT_EQUAL_FATAL(encode_json(l, json, &b, &err), 0);
    back = decode_to_json(d, l, b.data, b.len, &err);
    expect_json(back, json);
    free(back);
    td_avro_decoder_free(d);
    td_avro_registry_free(reg);
    td_avro_buf_done(&b);
    td_avro_schema_free(l);
}

/* The output buffer grows as needed: nothing is cut. */
static void test_buffer_grows_for_large_records(void)
{
    td_avro_schema *s = inline_schema("{\"type\":\"record\",\"name\":\"Big\",\"fields\":["
                                      "{\"name\":\"a\",\"type\":\"string\"},"
                                      "{\"name\":\"b\",\"type\":{\"type\":\"array\",\"items\":\"long\"}}]}");
    td_avro_registry *reg = NULL;
    td_avro_decoder *d = NULL;
    td_avro_buf b = TD_AVRO_BUF_INIT;
    td_error err = {0};
    avro_value_t v, f, item, *out;
    size_t big = (size_t)3 << 20;
    char *text = malloc(big + 1);
    const char *got = NULL;
    size_t gotlen = 0, count = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    memset(text, 'x', big);
    text[big] = '\0';
    CU_ASSERT_EQUAL_FATAL(td_avro_schema_value_new(s, &v, &err), 0);
    avro_value_get_by_index(&v, 0, &f, NULL);
    avro_value_set_string_len(&f, text, big + 1);
    avro_value_get_by_index(&v, 1, &f, NULL);
    for (int i = 0; i < 100000; i++) {
        avro_value_append(&f, &item, NULL);
        avro_value_set_long(&item, (int64_t)i * 1000003);
    }
    CU_ASSERT_EQUAL_FATAL(td_avro_encode(s, &v, &b, &err), 0);
    CU_ASSERT(b.len > big + 100000);
    CU_ASSERT_EQUAL_FATAL(td_avro_registry_new(&reg), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(reg, s, &d, &err), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_decode(d, b.data, b.len, &out, &err), 0);
    avro_value_get_by_index(out, 0, &f, NULL);
    avro_value_get_string(&f, &got, &gotlen);
    CU_ASSERT_EQUAL(gotlen, big + 1);
    CU_ASSERT(got && memcmp(got, text, big) == 0);
    avro_value_get_by_index(out, 1, &f, NULL);
    avro_value_get_size(&f, &count);
    CU_ASSERT_EQUAL(count, 100000);
    CU_ASSERT(avro_value_equal(&v, out));

    /* the same buffer then takes a small record */
    avro_value_get_by_index(&v, 0, &f, NULL);
    avro_value_set_string(&f, "y");
    avro_value_get_by_index(&v, 1, &f, NULL);
    avro_value_reset(&f);
    CU_ASSERT_EQUAL_FATAL(td_avro_encode(s, &v, &b, &err), 0);
    CU_ASSERT_EQUAL(b.len, 10 + 3);
    avro_value_decref(&v);
    free(text);
    td_avro_decoder_free(d);
    td_avro_registry_free(reg);
    td_avro_buf_done(&b);
    td_avro_schema_free(s);
}

static void test_encode_refuses_what_cannot_be_read(void)
{
    td_avro_schema *k = fixture("kitchen.avsc");
    td_avro_schema *other = inline_schema("\"string\"");
    td_avro_schema *es = inline_schema("{\"type\":\"record\",\"name\":\"R\",\"fields\":["
                                       "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\","
                                       "\"symbols\":[\"A\",\"B\"]}},"
                                       "{\"name\":\"s\",\"type\":\"string\"}]}");
    td_avro_buf b = TD_AVRO_BUF_INIT;
    td_error err = {0};
    avro_value_t v, f;

    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    CU_ASSERT_PTR_NOT_NULL_FATAL(es);
    /* a fresh value: bytes never set, unions without a branch */
    CU_ASSERT_EQUAL_FATAL(td_avro_schema_value_new(k, &v, &err), 0);
    CU_ASSERT_EQUAL(td_avro_encode(k, &v, &b, &err), -EINVAL);
    expect_msg(&err, "Kitchen.by: bytes never set");
    CU_ASSERT_EQUAL(b.len, 0);
    /* a value of another schema */
    CU_ASSERT_EQUAL(td_avro_encode(other, &v, &b, &err), -EINVAL);
    expect_msg(&err, "not an instance of schema");
    avro_value_decref(&v);

    CU_ASSERT_EQUAL_FATAL(td_avro_schema_value_new(es, &v, &err), 0);
    avro_value_get_by_index(&v, 0, &f, NULL);
    avro_value_set_enum(&f, 7);
    avro_value_get_by_index(&v, 1, &f, NULL);
    avro_value_set_string(&f, "ok");
    CU_ASSERT_EQUAL(td_avro_encode(es, &v, &b, &err), -EINVAL);
    expect_msg(&err, "enum index 7");
    expect_msg(&err, "R.e");
    avro_value_get_by_index(&v, 0, &f, NULL);
    avro_value_set_enum(&f, 1);
    avro_value_get_by_index(&v, 1, &f, NULL);
    avro_value_set_string(&f, "bad \xff utf-8");
    CU_ASSERT_EQUAL(td_avro_encode(es, &v, &b, &err), -EINVAL);
    expect_msg(&err, "invalid UTF-8");
    avro_value_set_string_len(&f, "a\0b", 4);
    CU_ASSERT_EQUAL(td_avro_encode(es, &v, &b, &err), -EINVAL);
    expect_msg(&err, "NUL");
    avro_value_set_string(&f, "\xe8\x84\xb1\xe8\xb4\xab");
    CU_ASSERT_EQUAL(td_avro_encode(es, &v, &b, &err), 0);
    avro_value_decref(&v);
    td_avro_buf_done(&b);
    td_avro_buf_done(&b); /* twice is harmless */
    td_avro_buf_done(NULL);
    td_avro_schema_free(k);
    td_avro_schema_free(other);
    td_avro_schema_free(es);
}

static void test_value_from_json_errors(void)
{
    static const char ok[] = "{\"id\":\"x\",\"count\":1,\"status\":\"ACTIVE\",\"color\":\"RED\","
                             "\"amount_fen\":1,\"born\":1,\"tags\":[],\"ratio\":1,\"note\":null}";
    td_avro_schema *s = fixture("sample_v1.avsc");
    td_error err = {0};
    avro_value_t v;
    static const struct {
        const char *json, *phrase;
    } bad[] = {
        {"{\"id\":\"x\"}", "Sample: field count is missing and has no default"},
        {"{\"id\":\"x\",\"count\":1,\"bogus\":1}", "has no field \"bogus\""},
        {"{\"id\":7}", "1:7: Sample.id: expected a string"},
        {"{\"id\":\"x\",\"count\":1,\"status\":\"NOPE\"}",
         "Sample.status: not a symbol of enum cn.tuodi.test.Status"},
        {"{\"id\":\"x\",\"count\":1,\"status\":\"ACTIVE\",\"color\":\"RED\",\"amount_fen\":1,"
         "\"born\":\"2026-02-29\"}", "Sample.born: no such date"},
        {"{\"id\":\"x\",\"count\":1,\"status\":\"ACTIVE\",\"color\":\"RED\",\"amount_fen\":1,"
         "\"born\":1,\"tags\":[],\"ratio\":1,\"note\":\"bare\"}", "Sample.note: a union value is null or"},
        {"{\"id\":\"x\",\"count\":1,\"status\":\"ACTIVE\",\"color\":\"RED\",\"amount_fen\":1,"
         "\"born\":1,\"tags\":[],\"ratio\":1,\"note\":{\"int\":1}}", "\"int\" is not a branch"},
        {"[", "json:1:"},
    };

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(td_avro_schema_value_new(s, &v, &err), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL(td_avro_value_from_json(s, bad[i].json, strlen(bad[i].json), &v, &err),
                        -EINVAL);
        expect_msg(&err, bad[i].phrase);
    }
    /* legacy_code has a default: may be left out */
    CU_ASSERT_EQUAL(td_avro_value_from_json(s, ok, strlen(ok), &v, &err), 0);
    avro_value_decref(&v);
    td_avro_schema_free(s);
}

/* -------------------------------------------------------------- evolution */

static const char v1_record[] =
    "{\"id\":\"R-001\",\"count\":42,\"status\":\"CLOSED\",\"color\":\"GREEN\","
    "\"amount_fen\":123456,\"born\":\"1949-10-01\",\"tags\":[\"a\",\"b\"],\"ratio\":0.5,"
    "\"note\":{\"string\":\"hello\"},\"legacy_code\":\"L9\"}";

static const char v2_defaults[] =
    "\"added_union\":null,\"added_level\":\"HIGH\","
    "\"added_address\":{\"village\":\"530102001001\",\"grid\":7},\"added_scores\":[1,2,3],"
    "\"added_attrs\":{\"k\":\"v\"},\"added_blob\":\"\\u00ff\\u0000a\",\"added_flag\":true,"
    "\"added_weight\":1.5,\"added_half\":0.25,\"added_small\":-7,"
    "\"added_label\":\"\xe6\x96\xb0\xe6\x88\xb7\",\"added_hash\":\"ab\","
    "\"added_seen\":\"2026-11-28T13:00:00.123Z\",\"added_pick\":{\"string\":\"first\"}}";

#define V2_RECORD(color)                                                                        \
    "{\"id\":\"R-002\",\"count\":-5,\"status\":\"SUSPENDED\",\"color\":\"" color "\","           \
    "\"amount_fen\":-1,\"born\":\"2026-11-28\",\"tags\":[],\"ratio\":-2.5,\"note\":null,"        \
    "\"added_union\":{\"long\":9},\"added_level\":\"LOW\","                                      \
    "\"added_address\":{\"village\":\"x\",\"grid\":1},\"added_scores\":[],\"added_attrs\":{},"   \
    "\"added_blob\":\"\",\"added_flag\":false,\"added_weight\":0,\"added_half\":1,"              \
    "\"added_small\":0,\"added_label\":\"\",\"added_hash\":\"zz\","                              \
    "\"added_seen\":\"1970-01-01T00:00:00.000Z\",\"added_pick\":null}"

static const char v2_record[] = V2_RECORD("RED");

typedef struct evo {
    td_avro_registry *reg;
    const td_avro_schema *v1, *v2, *v3;
} evo;

static int evo_open(evo *e)
{
    static const char *const files[] = {"sample_v1.avsc", "sample_v2.avsc", "sample_v3.avsc",
                                        "kitchen.avsc", NULL};
    e->reg = registry_of(files);
    if (!e->reg)
        return -1;
    e->v1 = td_avro_registry_at(e->reg, 0);
    e->v2 = td_avro_registry_at(e->reg, 1);
    e->v3 = td_avro_registry_at(e->reg, 2);
    return 0;
}

static char *read_as(evo *e, const td_avro_schema *writer, const char *json,
                     const td_avro_schema *reader, td_error *err)
{
    td_avro_decoder *d = NULL;
    td_avro_buf b = TD_AVRO_BUF_INIT;
    char *out = NULL;

    if (encode_json(writer, json, &b, err) == 0 && td_avro_decoder_new(e->reg, reader, &d, err) == 0) {
        out = decode_to_json(d, reader, b.data, b.len, err);
        /* a second decode takes the cached path and gives the same */
        if (out) {
            char *again = decode_to_json(d, reader, b.data, b.len, err);
            if (!again || strcmp(again, out) != 0)
                CU_FAIL("second decode differs");
            free(again);
            CU_ASSERT_PTR_EQUAL(td_avro_decoder_writer(d), writer);
        }
    }
    td_avro_decoder_free(d);
    td_avro_buf_done(&b);
    return out;
}

static void test_newer_reader_reads_older_records(void)
{
    evo e = {0};
    td_error err = {0};
    char want[4096], *got;

    CU_ASSERT_EQUAL_FATAL(evo_open(&e), 0);
    /* v2 reads v1: legacy_code skipped, every added field from its default */
    snprintf(want, sizeof(want),
             "{\"id\":\"R-001\",\"count\":42,\"status\":\"CLOSED\",\"color\":\"GREEN\","
             "\"amount_fen\":123456,\"born\":\"1949-10-01\",\"tags\":[\"a\",\"b\"],\"ratio\":0.5,"
             "\"note\":{\"string\":\"hello\"},%s",
             v2_defaults);
    got = read_as(&e, e.v1, v1_record, e.v2, &err);
    if (!got)
        fprintf(stderr, "\n%s\n", err.msg);
    expect_json(got, want);
    free(got);

    /* v3 reads v1: int->long, float->double, string->bytes, long->union */
    snprintf(want, sizeof(want),
             "{\"id\":\"R-001\",\"count\":42,\"status\":\"CLOSED\",\"color\":\"GREEN\","
             "\"amount_fen\":{\"long\":123456},\"born\":\"1949-10-01\",\"tags\":[\"a\",\"b\"],"
             "\"ratio\":0.5,\"note\":{\"string\":\"hello\"},%s",
             v2_defaults);
    got = read_as(&e, e.v1, v1_record, e.v3, &err);
    if (!got)
        fprintf(stderr, "\n%s\n", err.msg);
    expect_json(got, want);
    free(got);

    /* v3 reads v2 */
    got = read_as(&e, e.v2, v2_record, e.v3, &err);
    expect_json(got,
                "{\"id\":\"R-002\",\"count\":-5,\"status\":\"SUSPENDED\",\"color\":\"RED\","
                "\"amount_fen\":{\"long\":-1},\"born\":\"2026-11-28\",\"tags\":[],\"ratio\":-2.5,"
                "\"note\":null,\"added_union\":{\"long\":9},\"added_level\":\"LOW\","
                "\"added_address\":{\"village\":\"x\",\"grid\":1},\"added_scores\":[],"
                "\"added_attrs\":{},\"added_blob\":\"\",\"added_flag\":false,\"added_weight\":0,"
                "\"added_half\":1,\"added_small\":0,\"added_label\":\"\",\"added_hash\":\"zz\","
                "\"added_seen\":\"1970-01-01T00:00:00.000Z\",\"added_pick\":null}");
    free(got);

    /* and a record read with its own schema is unchanged */
    got = read_as(&e, e.v2, v2_record, e.v2, &err);
    expect_json(got, v2_record);
    free(got);
    td_avro_registry_free(e.reg);
}

static void test_older_reader_reads_newer_records(void)
{
    evo e = {0};
    td_error err = {0};
    char *got;

    CU_ASSERT_EQUAL_FATAL(evo_open(&e), 0);
    /* v1 reads v2: added fields ignored, SUSPENDED -> the enum default ACTIVE,
     * legacy_code (absent in v2) from v1's default */
    got = read_as(&e, e.v2, v2_record, e.v1, &err);
    if (!got)
        fprintf(stderr, "\n%s\n", err.msg);
    expect_json(got, "{\"id\":\"R-002\",\"count\":-5,\"status\":\"ACTIVE\",\"color\":\"RED\","
                     "\"amount_fen\":-1,\"born\":\"2026-11-28\",\"tags\":[],\"ratio\":-2.5,"
                     "\"note\":null,\"legacy_code\":\"none\"}");
    free(got);

    /* a v2-only symbol of an enum without default: refused per record */
    got = read_as(&e, e.v2, V2_RECORD("BLUE"), e.v1, &err);
    CU_ASSERT_PTR_NULL(got);
    CU_ASSERT_EQUAL(err.code, -EINVAL);
    expect_msg(&err, "Sample.color: writer symbol BLUE is not in the reader's enum "
                     "cn.tuodi.test.Color, which has no default");
    free(got);
    td_avro_registry_free(e.reg);
}

static void test_refusals(void)
{
    evo e = {0};
    td_avro_schema *nodef = fixture("sample_nodefault.avsc");
    td_avro_schema *badtype = fixture("sample_badtype.avsc");
    td_avro_decoder *d = NULL;
    td_avro_buf b = TD_AVRO_BUF_INIT;
    td_error err = {0};
    avro_value_t *out;
    char *got;

    CU_ASSERT_EQUAL_FATAL(evo_open(&e), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nodef);
    CU_ASSERT_PTR_NOT_NULL_FATAL(badtype);

    CU_ASSERT_EQUAL(td_avro_check_compat(e.v2, e.v1, &err), 0);
    CU_ASSERT_EQUAL(td_avro_check_compat(e.v1, e.v2, &err), 0);
    CU_ASSERT_EQUAL(td_avro_check_compat(e.v3, e.v1, &err), 0);
    CU_ASSERT_EQUAL(td_avro_check_compat(e.v3, e.v2, &err), 0);

    /* long -> int */
    CU_ASSERT_EQUAL(td_avro_check_compat(e.v1, e.v3, &err), -EINVAL);
    expect_msg(&err, "Sample.count: writer long cannot be read as int");
    /* reader field without default, absent in the writer */
    CU_ASSERT_EQUAL(td_avro_check_compat(nodef, e.v1, &err), -EINVAL);
    expect_msg(&err, "Sample.extra: reader field has no default and writer "
                     "cn.tuodi.test.Sample has no such field");
    /* string -> int */
    CU_ASSERT_EQUAL(td_avro_check_compat(badtype, e.v1, &err), -EINVAL);
    expect_msg(&err, "Sample.id: writer string cannot be read as int");
    /* a different record altogether */
    CU_ASSERT_EQUAL(td_avro_check_compat(e.v1, td_avro_registry_at(e.reg, 3), &err), -EINVAL);
    expect_msg(&err, "names differ");

    /* the decoder refuses the same, naming both schemas */
    got = read_as(&e, e.v3, "{\"id\":\"x\",\"count\":1,\"status\":\"ACTIVE\",\"color\":\"RED\","
                             "\"amount_fen\":null,\"born\":0,\"tags\":[],\"ratio\":1,\"note\":null}",
                  e.v1, &err);
    CU_ASSERT_PTR_NULL(got);
    CU_ASSERT_EQUAL(err.code, -EINVAL);
    expect_msg(&err, "sample_v3.avsc");
    expect_msg(&err, "cannot be read as");
    expect_msg(&err, "Sample.count: writer long cannot be read as int");
    got = read_as(&e, e.v1, v1_record, nodef, &err);
    CU_ASSERT_PTR_NULL(got);
    expect_msg(&err, "Sample.extra");
    got = read_as(&e, e.v1, v1_record, badtype, &err);
    CU_ASSERT_PTR_NULL(got);
    expect_msg(&err, "Sample.id");

    /* unknown fingerprint */
    CU_ASSERT_EQUAL_FATAL(encode_json(e.v1, v1_record, &b, &err), 0);
    b.data[2] ^= 0x5a;
    CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(e.reg, e.v2, &d, &err), 0);
    CU_ASSERT_EQUAL(td_avro_decode(d, b.data, b.len, &out, &err), -ENOENT);
    expect_msg(&err, "unknown schema fingerprint 0x");
    expect_msg(&err, "(not in the registry)");
    td_avro_decoder_free(d);
    td_avro_buf_done(&b);
    td_avro_schema_free(nodef);
    td_avro_schema_free(badtype);
    td_avro_registry_free(e.reg);
}

/* Pairs of inline schemas: unions both ways, aliases, fixed. */
static void test_resolution_rules(void)
{
    static const struct {
        const char *writer, *reader, *wjson, *want; /* want NULL: compat refused */
        const char *phrase;
    } cases[] = {
        /* writer union -> reader non-union: per record */
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":[\"null\",\"long\"]}]}",
         "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"}]}",
         "{\"a\":{\"long\":5}}", "{\"a\":5}", NULL},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":[\"null\",\"long\"]}]}",
         "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"}]}",
         "{\"a\":null}", NULL, "R.a: writer union branch null cannot be read"},
        /* union -> union, reordered, with a promotion */
        {"[\"null\",\"string\",\"int\"]", "[\"long\",\"null\",\"string\"]", "{\"int\":7}",
         "{\"long\":7}", NULL},
        {"[\"null\",\"string\",\"int\"]", "[\"long\",\"null\",\"string\"]", "{\"string\":\"s\"}",
         "{\"string\":\"s\"}", NULL},
        {"[\"null\",\"string\",\"int\"]", "[\"long\",\"null\",\"string\"]", "null", "null", NULL},
        /* non-union -> union: an exact branch wins over a promotion */
        {"\"int\"", "[\"long\",\"int\"]", "3", "{\"int\":3}", NULL},
        {"\"float\"", "[\"null\",\"double\"]", "1.5", "{\"double\":1.5}", NULL},
        /* record renamed, reader alias; field renamed, field alias */
        {"{\"type\":\"record\",\"name\":\"a.Old\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}",
         "{\"type\":\"record\",\"name\":\"b.New\",\"aliases\":[\"a.Old\"],\"fields\":"
         "[{\"name\":\"y\",\"type\":\"int\",\"aliases\":[\"x\"]}]}",
         "{\"x\":4}", "{\"y\":4}", NULL},
        /* bytes -> string, string -> bytes */
        {"\"bytes\"", "\"string\"", "\"abc\"", "\"abc\"", NULL},
        {"\"bytes\"", "\"string\"", "\"\\u00ff\"", NULL, "not UTF-8"},
        {"\"string\"", "\"bytes\"", "\"abc\"", "\"abc\"", NULL},
        /* long -> double, int -> float */
        {"\"long\"", "\"double\"", "-3", "-3", NULL},
        {"\"int\"", "\"float\"", "16777216", "16777216", NULL},
        /* map and array of promoted items */
        {"{\"type\":\"map\",\"values\":\"int\"}", "{\"type\":\"map\",\"values\":\"long\"}",
         "{\"a\":1,\"b\":2}", "{\"a\":1,\"b\":2}", NULL},
        /* refused up front */
        {"\"string\"", "\"int\"", "\"x\"", NULL, "writer string cannot be read as int"},
        {"{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}",
         "\"ab\"", NULL, "cannot be read as 3 bytes"},
        {"[\"string\",\"bytes\"]", "\"int\"", "{\"string\":\"x\"}", NULL,
         "no branch of the writer's union can be read"},
        {"\"boolean\"", "[\"null\",\"int\"]", "true", NULL, "matches no branch of the reader's union"},
        {"{\"type\":\"array\",\"items\":\"long\"}", "{\"type\":\"array\",\"items\":\"int\"}", "[1]",
         NULL, "[]: writer long cannot be read as int"},
        {"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}",
         "{\"type\":\"enum\",\"name\":\"F\",\"symbols\":[\"A\"]}", "\"A\"", NULL, "names differ"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        td_avro_schema *w = inline_schema(cases[i].writer);
        td_avro_schema *r = inline_schema(cases[i].reader);
        td_avro_registry *reg = NULL;
        td_avro_decoder *d = NULL;
        td_avro_buf b = TD_AVRO_BUF_INIT;
        td_error err = {0};
        uint64_t wfp;
        char *got;

        CU_ASSERT_PTR_NOT_NULL_FATAL(w);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        wfp = td_avro_schema_fingerprint(w);
        CU_ASSERT_EQUAL_FATAL(encode_json(w, cases[i].wjson, &b, &err), 0);
        CU_ASSERT_EQUAL_FATAL(td_avro_registry_new(&reg), 0);
        CU_ASSERT_EQUAL_FATAL(td_avro_registry_add(reg, w, &err), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(td_avro_registry_find(reg, wfp));
        CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(reg, r, &d, &err), 0);
        got = decode_to_json(d, r, b.data, b.len, &err);
        if (cases[i].want) {
            if (!got)
                fprintf(stderr, "\ncase %zu: %s\n", i, err.msg);
            expect_json(got, cases[i].want);
        } else {
            CU_ASSERT_PTR_NULL(got);
            if (!strstr(err.msg, cases[i].phrase)) {
                fprintf(stderr, "\ncase %zu: got \"%s\" want \"%s\"\n", i, err.msg, cases[i].phrase);
                CU_FAIL("message");
            }
        }
        free(got);
        td_avro_decoder_free(d);
        td_avro_registry_free(reg);
        td_avro_buf_done(&b);
        td_avro_schema_free(r);
    }
}

/* The decoder reuses its values: nothing of one record may show in the next
 * (arrays, maps, and containers inside union branches), on both paths. */
static void test_decoder_keeps_nothing_between_records(void)
{
    static const char *const unions[] = {"{\"map\":{\"a\":1,\"b\":2}}", "{\"map\":{\"c\":3}}",
                                         "null", "{\"map\":{}}"};
    td_avro_schema *k = fixture("kitchen.avsc");
    td_avro_registry *reg = NULL;
    td_avro_decoder *d = NULL;
    td_avro_buf b = TD_AVRO_BUF_INIT;
    td_error err = {0};
    evo e = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    CU_ASSERT_EQUAL_FATAL(td_avro_registry_new(&reg), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(reg, k, &d, &err), 0);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof(unions) / sizeof(unions[0]); i++) {
            char json[4096], *back;
            snprintf(json, sizeof(json), kitchen_json, unions[i]);
            CU_ASSERT_EQUAL_FATAL(encode_json(k, json, &b, &err), 0);
            back = decode_to_json(d, k, b.data, b.len, &err);
            expect_json(back, json);
            free(back);
        }
    }
    td_avro_decoder_free(d);
    td_avro_registry_free(reg);
    td_avro_schema_free(k);

    /* the resolution path: v1 records read as v3 (arrays, a union branch) */
    CU_ASSERT_EQUAL_FATAL(evo_open(&e), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(e.reg, e.v3, &d, &err), 0);
    for (int i = 0; i < 3; i++) {
        char *got;
        CU_ASSERT_EQUAL_FATAL(encode_json(e.v1, i == 1 ? "{\"id\":\"a\",\"count\":1,\"status\":"
                                                          "\"ACTIVE\",\"color\":\"RED\",\"amount_fen\":5,"
                                                          "\"born\":0,\"tags\":[\"only\"],\"ratio\":1,"
                                                          "\"note\":null,\"legacy_code\":\"x\"}"
                                                        : v1_record,
                                          &b, &err), 0);
        got = decode_to_json(d, e.v3, b.data, b.len, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        CU_ASSERT_PTR_NOT_NULL(
            strstr(got, i == 1 ? "\"tags\":[\"only\"]," : "\"tags\":[\"a\",\"b\"],"));
        CU_ASSERT_PTR_NOT_NULL(strstr(got, "\"added_scores\":[1,2,3],"));
        CU_ASSERT_PTR_NOT_NULL(strstr(got, "\"added_attrs\":{\"k\":\"v\"},"));
        free(got);
    }
    td_avro_decoder_free(d);
    td_avro_buf_done(&b);
    td_avro_registry_free(e.reg);
}

/* A recursive schema evolves too: the plan for the record pair is reused. */
static void test_recursive_schema_evolution(void)
{
    td_avro_schema *l1 = fixture("list.avsc");
    td_avro_schema *l2 = inline_schema(
        "{\"type\":\"record\",\"name\":\"Node\",\"namespace\":\"cn.tuodi.test\",\"fields\":["
        "{\"name\":\"value\",\"type\":\"long\"},"
        "{\"name\":\"label\",\"type\":\"string\",\"default\":\"-\"},"
        "{\"name\":\"next\",\"type\":[\"null\",\"Node\"],\"default\":null}]}");
    td_avro_registry *reg = NULL;
    td_avro_decoder *d = NULL;
    td_avro_buf b = TD_AVRO_BUF_INIT;
    td_error err = {0};
    char *got;

    CU_ASSERT_PTR_NOT_NULL_FATAL(l1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l2);
    CU_ASSERT_EQUAL_FATAL(encode_json(l1, "{\"value\":1,\"next\":{\"cn.tuodi.test.Node\":"
                                          "{\"value\":2,\"next\":null}}}", &b, &err), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_registry_new(&reg), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_registry_add(reg, l1, &err), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(reg, l2, &d, &err), 0);
    got = decode_to_json(d, l2, b.data, b.len, &err);
    expect_json(got, "{\"value\":1,\"label\":\"-\",\"next\":{\"cn.tuodi.test.Node\":"
                     "{\"value\":2,\"label\":\"-\",\"next\":null}}}");
    free(got);
    td_avro_decoder_free(d);
    td_avro_registry_free(reg);
    td_avro_buf_done(&b);
    td_avro_schema_free(l2);
}

/* ---------------------------------------------------------- logical types */

static void test_dates(void)
{
    static const struct {
        int32_t days;
        const char *text;
    } vec[] = {
        {0, "1970-01-01"},         {-1, "1969-12-31"},        {20785, "2026-11-28"},
        {11016, "2000-02-29"},     {-25508, "1900-03-01"},    {-7397, "1949-10-01"},
        {-719162, "0001-01-01"},   {2932896, "9999-12-31"},
    };
    static const char *const bad[] = {
        "2026-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-01-00",
        "2026-1-01",  "20260101",   "2026-01-01x", "2026/01/01", "",          "+2026-01-01",
        "0000-01-01", "2026-01-0a",
    };
    char out[TD_AVRO_DATE_BUFSZ];
    td_error err = {0};
    int32_t days;

    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        CU_ASSERT_EQUAL(td_avro_date_format(vec[i].days, out), 0);
        CU_ASSERT_STRING_EQUAL(out, vec[i].text);
        CU_ASSERT_EQUAL(td_avro_date_parse(vec[i].text, strlen(vec[i].text), &days, &err), 0);
        CU_ASSERT_EQUAL(days, vec[i].days);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        days = 12345;
        CU_ASSERT_EQUAL(td_avro_date_parse(bad[i], strlen(bad[i]), &days, &err), -EINVAL);
        CU_ASSERT_EQUAL(days, 12345); /* untouched on error */
    }
    CU_ASSERT_EQUAL(td_avro_date_parse("2026-02-29", 10, &days, &err), -EINVAL);
    expect_msg(&err, "no such date");
    CU_ASSERT_EQUAL(td_avro_date_format(-719163, out), -ERANGE);
    CU_ASSERT_EQUAL(td_avro_date_format(2932897, out), -ERANGE);
    CU_ASSERT_EQUAL(td_avro_date_format(INT32_MIN, out), -ERANGE);
    CU_ASSERT_EQUAL(td_avro_date_format(INT32_MAX, out), -ERANGE);
    /* every day in range survives format + parse */
    for (int32_t d = -719162; d <= 2932896; d += 7) {
        if (td_avro_date_format(d, out) != 0 ||
            td_avro_date_parse(out, strlen(out), &days, NULL) != 0 || days != d) {
            fprintf(stderr, "\nday %d -> %s\n", (int)d, out);
            CU_FAIL("date round trip");
            break;
        }
    }
}

static void test_timestamps(void)
{
    static const struct {
        int64_t ms;
        const char *text;
    } vec[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {INT64_C(1795870800123), "2026-11-28T13:00:00.123Z"},
        {INT64_C(951782400000), "2000-02-29T00:00:00.000Z"},
        {INT64_C(253402300799999), "9999-12-31T23:59:59.999Z"},
        {INT64_C(-62135596800000), "0001-01-01T00:00:00.000Z"},
    };
    static const char *const bad[] = {
        "2026-11-28T13:00:00.123+08:00", "2026-11-28T13:00:00.123", "2026-11-28T24:00:00Z",
        "2026-11-28T23:60:00Z", "2026-11-28T23:59:60Z", "2026-11-28T13:00:00.1234Z",
        "2026-11-28T13:00:00.Z", "2026-11-28 13:00:00Z", "2026-02-29T00:00:00Z",
        "2026-11-28T13:00:00z", "2026-11-28T13:00:00ZZ", "2026-11-28",
    };
    char out[TD_AVRO_TIMESTAMP_BUFSZ];
    td_error err = {0};
    int64_t ms;

    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        CU_ASSERT_EQUAL(td_avro_timestamp_millis_format(vec[i].ms, out), 0);
        CU_ASSERT_STRING_EQUAL(out, vec[i].text);
        CU_ASSERT_EQUAL(
            td_avro_timestamp_millis_parse(vec[i].text, strlen(vec[i].text), &ms, &err), 0);
        CU_ASSERT_EQUAL(ms, vec[i].ms);
    }
    CU_ASSERT_EQUAL(td_avro_timestamp_millis_parse("2026-11-28T13:00:00Z", 20, &ms, &err), 0);
    CU_ASSERT_EQUAL(ms, INT64_C(1795870800000));
    CU_ASSERT_EQUAL(td_avro_timestamp_millis_parse("2026-11-28T13:00:00.1Z", 22, &ms, &err), 0);
    CU_ASSERT_EQUAL(ms, INT64_C(1795870800100));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ms = 7;
        if (td_avro_timestamp_millis_parse(bad[i], strlen(bad[i]), &ms, &err) != -EINVAL) {
            fprintf(stderr, "\naccepted %s\n", bad[i]);
            CU_FAIL("timestamp accepted");
        }
        CU_ASSERT_EQUAL(ms, 7);
    }
    CU_ASSERT_EQUAL(td_avro_timestamp_millis_format(INT64_MAX, out), -ERANGE);
    CU_ASSERT_EQUAL(td_avro_timestamp_millis_format(INT64_MIN, out), -ERANGE);
    CU_ASSERT_EQUAL(td_avro_timestamp_millis_format(INT64_C(253402300800000), out), -ERANGE);
    CU_ASSERT_EQUAL(td_avro_timestamp_millis_format(INT64_C(-62135596800001), out), -ERANGE);
}

/* The renderer's differences from Avro's JSON encoding. */
static void test_json_rendering(void)
{
    td_avro_schema *s = inline_schema(
        "{\"type\":\"record\",\"name\":\"M\",\"fields\":["
        "{\"name\":\"day\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
        "{\"name\":\"at\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"
        "{\"name\":\"out_of_pocket_fen\",\"type\":\"long\"},"
        "{\"name\":\"x\",\"type\":\"double\"},"
        "{\"name\":\"y\",\"type\":\"float\"},"
        "{\"name\":\"when\",\"type\":[\"null\",{\"type\":\"int\",\"logicalType\":\"date\"}]}]}");
    td_avro_buf js = TD_AVRO_BUF_INIT;
    td_error err = {0};
    avro_value_t v, f, br;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(td_avro_schema_value_new(s, &v, &err), 0);
    avro_value_get_by_index(&v, 0, &f, NULL);
    avro_value_set_int(&f, 20785);
    avro_value_get_by_index(&v, 1, &f, NULL);
    avro_value_set_long(&f, INT64_C(1795870800123));
    avro_value_get_by_index(&v, 2, &f, NULL);
    avro_value_set_long(&f, INT64_C(123456789012));
    avro_value_get_by_index(&v, 3, &f, NULL);
    avro_value_set_double(&f, 0.1);
    avro_value_get_by_index(&v, 4, &f, NULL);
    avro_value_set_float(&f, 0.1f);
    avro_value_get_by_index(&v, 5, &f, NULL);
    avro_value_set_branch(&f, 1, &br);
    avro_value_set_int(&br, -1);
    CU_ASSERT_EQUAL(td_avro_value_to_json(s, &v, &js, &err), 0);
    expect_json((const char *)js.data,
                "{\"day\":\"2026-11-28\",\"at\":\"2026-11-28T13:00:00.123Z\","
                "\"out_of_pocket_fen\":123456789012,\"x\":0.1,\"y\":0.1,"
                "\"when\":{\"int\":\"1969-12-31\"}}");
    CU_ASSERT_EQUAL(js.len, strlen((const char *)js.data));

    /* outside 0000-9999: the number itself; NaN and infinities as strings */
    avro_value_get_by_index(&v, 0, &f, NULL);
    avro_value_set_int(&f, INT32_MAX);
    avro_value_get_by_index(&v, 1, &f, NULL);
    avro_value_set_long(&f, INT64_MIN);
    avro_value_get_by_index(&v, 3, &f, NULL);
    avro_value_set_double(&f, NAN);
    avro_value_get_by_index(&v, 4, &f, NULL);
    avro_value_set_float(&f, -INFINITY);
    avro_value_get_by_index(&v, 5, &f, NULL);
    avro_value_set_branch(&f, 0, &br);
    CU_ASSERT_EQUAL(td_avro_value_to_json(s, &v, &js, &err), 0);
    expect_json((const char *)js.data,
                "{\"day\":2147483647,\"at\":-9223372036854775808,"
                "\"out_of_pocket_fen\":123456789012,\"x\":\"NaN\",\"y\":\"-Infinity\","
                "\"when\":null}");
    /* and it reads back */
    CU_ASSERT_EQUAL(td_avro_value_from_json(s, (const char *)js.data, js.len, &v, &err), 0);
    avro_value_decref(&v);
    td_avro_buf_done(&js);
    td_avro_schema_free(s);
}

static void add_suites(void)
{
    td_test_suite("avro_schema", NULL, NULL);
    TD_TEST(test_fixtures_parse_and_keep_their_text);
    TD_TEST(test_node_tree_knows_what_avro_c_drops);
    TD_TEST(test_invalid_schemas_are_refused_with_position);
    TD_TEST(test_registry_by_fingerprint_and_name);
    TD_TEST(test_registry_loads_a_directory);

    td_test_suite("avro_bytes", NULL, NULL);
    TD_TEST(test_zigzag_varint_vectors);
    TD_TEST(test_known_encodings_of_each_type);
    TD_TEST(test_header_is_magic_and_le_fingerprint);
    TD_TEST(test_round_trip_every_type);
    TD_TEST(test_recursive_schema_round_trip);
    TD_TEST(test_buffer_grows_for_large_records);
    TD_TEST(test_encode_refuses_what_cannot_be_read);
    TD_TEST(test_value_from_json_errors);

    td_test_suite("avro_evolution", NULL, NULL);
    TD_TEST(test_newer_reader_reads_older_records);
    TD_TEST(test_older_reader_reads_newer_records);
    TD_TEST(test_refusals);
    TD_TEST(test_resolution_rules);
    TD_TEST(test_decoder_keeps_nothing_between_records);
    TD_TEST(test_recursive_schema_evolution);

    td_test_suite("avro_logical", NULL, NULL);
    TD_TEST(test_dates);
    TD_TEST(test_timestamps);
    TD_TEST(test_json_rendering);
}

TD_TEST_MAIN(add_suites)
