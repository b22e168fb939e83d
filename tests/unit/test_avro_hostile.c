/* td_avro against hostile bytes: every prefix of valid records, seeded random
 * garbage and mutations, and crafted bodies for each guard of the validation
 * walk. Every failure must be -EBADMSG with a clear text and no crash; runs
 * under ASan+UBSan with leak checking. */
#include "td_avro.h"
#include "td_test.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static td_avro_schema *fixture(const char *file)
{
    char path[4096];
    td_avro_schema *s = NULL;
    td_error err = {0};

    snprintf(path, sizeof(path), "%s/tests/data/avro/%s", td_test_source_root(), file);
    if (td_avro_schema_load(path, &s, &err) < 0)
        fprintf(stderr, "%s\n", err.msg);
    return s;
}

static td_avro_schema *inline_schema(const char *text)
{
    td_avro_schema *s = NULL;
    td_error err = {0};

    if (td_avro_schema_new("inline", text, strlen(text), &s, &err) < 0)
        fprintf(stderr, "%s\n", err.msg);
    return s;
}

static void expect_msg(const td_error *err, const char *phrase)
{
    if (!strstr(err->msg, phrase)) {
        fprintf(stderr, "\nmessage: %s\n   want: %s\n", err->msg, phrase);
        CU_FAIL("message");
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    uint64_t x = rng_state; /* xorshift64*: seeded, reproducible */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dU;
}

/* The fixtures in a registry, and valid frames to start from. */
static td_avro_registry *reg;
static const td_avro_schema *v1, *v2, *kitchen, *list;
static td_avro_buf kitchen_frame = TD_AVRO_BUF_INIT, v1_frame = TD_AVRO_BUF_INIT;

static int encode_json(const td_avro_schema *s, const char *json, td_avro_buf *out)
{
    avro_value_t v;
    td_error err = {0};
    int r;

    if ((r = td_avro_schema_value_new(s, &v, &err)) < 0)
        return r;
    r = td_avro_value_from_json(s, json, strlen(json), &v, &err);
    if (r == 0)
        r = td_avro_encode(s, &v, out, &err);
    if (r < 0)
        fprintf(stderr, "%s\n", err.msg);
    avro_value_decref(&v);
    return r;
}

static int setup(void)
{
    static const char *const files[] = {"sample_v1.avsc", "sample_v2.avsc", "kitchen.avsc",
                                        "list.avsc", NULL};
    if (td_avro_registry_new(&reg) < 0)
        return -1;
    for (size_t i = 0; files[i]; i++) {
        td_avro_schema *s = fixture(files[i]);
        if (!s || td_avro_registry_add(reg, s, NULL) < 0)
            return -1;
    }
    v1 = td_avro_registry_at(reg, 0);
    v2 = td_avro_registry_at(reg, 1);
    kitchen = td_avro_registry_at(reg, 2);
    list = td_avro_registry_at(reg, 3);
    if (encode_json(kitchen,
                    "{\"n\":null,\"b\":true,\"i\":-77,\"l\":1234567890123,\"f\":1.5,\"d\":2.5,"
                    "\"by\":\"\\u0000\\u00ff\",\"s\":\"\xe8\x84\xb1\xe8\xb4\xab\",\"e\":\"HEARTS\","
                    "\"fx\":\"abcd\",\"day\":20785,\"at\":1795870800123,\"dec\":\"\","
                    "\"inner\":{\"x\":1,\"words\":[\"a\",\"bc\"],\"suit\":\"CLUBS\"},"
                    "\"again\":{\"x\":2,\"words\":[],\"suit\":\"SPADES\"},\"longs\":[1,-300,70000],"
                    "\"nulls\":[null,null],\"empties\":{\"k\":{}},\"grid\":[[1],[2,3]],"
                    "\"dict\":{\"a\":0.5},\"lists\":{\"x\":[{\"x\":3,\"words\":[\"q\"],\"suit\":\"DIAMONDS\"}]},"
                    "\"u\":{\"cn.tuodi.test.sub.Inner\":{\"x\":4,\"words\":[],\"suit\":\"HEARTS\"}},"
                    "\"maybe\":{\"cn.tuodi.test.Suit\":\"SPADES\"}}",
                    &kitchen_frame) < 0)
        return -1;
    if (encode_json(v1,
                    "{\"id\":\"R-1\",\"count\":3,\"status\":\"CLOSED\",\"color\":\"GREEN\","
                    "\"amount_fen\":99,\"born\":100,\"tags\":[\"t\"],\"ratio\":0.5,"
                    "\"note\":{\"string\":\"n\"},\"legacy_code\":\"c\"}",
                    &v1_frame) < 0)
        return -1;
    return 0;
}

static int teardown(void)
{
    td_avro_buf_done(&kitchen_frame);
    td_avro_buf_done(&v1_frame);
    td_avro_registry_free(reg);
    return 0;
}

/* Decodes data with reader; a failure must be one of the allowed codes. */
static int decode_with(const td_avro_schema *reader, const void *data, size_t len, td_error *err)
{
    td_avro_decoder *d = NULL;
    avro_value_t *v;
    int r;

    if (td_avro_decoder_new(reg, reader, &d, err) < 0)
        return -99;
    r = td_avro_decode(d, data, len, &v, err);
    if (r == 0) {
        /* what decodes must render and encode again */
        td_avro_buf b = TD_AVRO_BUF_INIT;
        td_error e2 = {0};
        CU_ASSERT_EQUAL(td_avro_value_to_json(reader, v, &b, &e2), 0);
        CU_ASSERT_EQUAL(td_avro_encode(reader, v, &b, &e2), 0);
        td_avro_buf_done(&b);
    }
    td_avro_decoder_free(d);
    return r;
}

/* Frame = header of s + body. */
static size_t frame(const td_avro_schema *s, const unsigned char *body, size_t n,
                    unsigned char *out)
{
    uint64_t fp = td_avro_schema_fingerprint(s);

    out[0] = 0xC3;
    out[1] = 0x01;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (unsigned char)(fp >> (8 * i));
    memcpy(out + 10, body, n);
    return 10 + n;
}

/* ----------------------------------------------------------------- tests */

static void test_every_prefix_of_a_valid_record_fails_cleanly(void)
{
    const td_avro_buf *frames[] = {&kitchen_frame, &v1_frame};
    const td_avro_schema *readers[][2] = {{kitchen, kitchen}, {v1, v2}};

    for (size_t f = 0; f < 2; f++) {
        const td_avro_buf *b = frames[f];
        td_error err = {0};

        CU_ASSERT_EQUAL_FATAL(decode_with(readers[f][0], b->data, b->len, &err), 0);
        CU_ASSERT_EQUAL_FATAL(decode_with(readers[f][1], b->data, b->len, &err), 0);
        for (size_t len = 0; len < b->len; len++) {
            for (size_t k = 0; k < 2; k++) {
                /* a copy of exactly len bytes: ASan sees any over-read */
                unsigned char *copy = malloc(len ? len : 1);
                int r;
                CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
                memcpy(copy, b->data, len);
                r = decode_with(readers[f][k], copy, len, &err);
                free(copy);
                if (r != -EBADMSG || !strstr(err.msg, "truncated")) {
                    fprintf(stderr, "\nprefix %zu of %zu: %d %s\n", len, b->len, r, err.msg);
                    CU_FAIL("prefix");
                }
            }
        }
    }
}

static void test_random_garbage(void)
{
    unsigned char buf[300];
    size_t ok = 0, bad = 0;
    const td_avro_schema *writers[] = {kitchen, v1, v2, list};

    rng_state = 20261128;
    for (int i = 0; i < 4000; i++) {
        size_t n = rng() % 200, len;
        unsigned char body[200];
        td_error err = {0};
        int r;

        for (size_t k = 0; k < n; k++)
            body[k] = (unsigned char)rng();
        /* bare garbage: nearly always refused at the magic */
        r = decode_with(v2, body, n, &err);
        CU_ASSERT(r == 0 || r == -EBADMSG || r == -ENOENT);
        /* a valid header over a garbage body: every guard of the walk */
        len = frame(writers[i % 4], body, n, buf);
        r = decode_with(i % 4 == 1 ? v2 : writers[i % 4], buf, len, &err);
        if (r == 0) {
            ok++;
        } else if (r == -EBADMSG) {
            bad++;
        } else {
            fprintf(stderr, "\nrandom %d: %d %s\n", i, r, err.msg);
            CU_FAIL("unexpected code");
        }
    }
    CU_ASSERT(bad > 3000);
    (void)ok;
}

static void test_random_mutations_of_valid_records(void)
{
    rng_state = 42;
    for (int i = 0; i < 3000; i++) {
        const td_avro_buf *b = i % 2 ? &kitchen_frame : &v1_frame;
        unsigned char buf[1024];
        size_t len = b->len;
        int flips = 1 + (int)(rng() % 4);
        td_error err = {0};
        int r;

        memcpy(buf, b->data, len);
        for (int k = 0; k < flips && len > 10; k++) {
            size_t at = 10 + rng() % (len - 10); /* keep the header */
            switch (rng() % 4) {
            case 0:
                buf[at] ^= (unsigned char)(1u << (rng() % 8));
                break;
            case 1:
                buf[at] = (unsigned char)rng();
                break;
            case 2: /* a huge varint in place */
                buf[at] = 0xff;
                break;
            default: /* cut */
                len = at;
                break;
            }
        }
        r = decode_with(i % 2 ? kitchen : v2, buf, len, &err);
        if (r != 0 && r != -EBADMSG) {
            fprintf(stderr, "\nmutation %d: %d %s\n", i, r, err.msg);
            CU_FAIL("unexpected code");
        }
    }
}

/* A body for a one-off schema and what the decoder must say. */
static void expect_refused(const char *schema_text, const unsigned char *body, size_t n,
                           const char *phrase)
{
    td_avro_schema *s = inline_schema(schema_text);
    td_avro_registry *r1 = NULL;
    td_avro_decoder *d = NULL;
    unsigned char buf[256];
    size_t len;
    td_error err = {0};
    avro_value_t *v;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL_FATAL(td_avro_registry_new(&r1), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(r1, s, &d, &err), 0);
    len = frame(s, body, n, buf);
    CU_ASSERT_EQUAL(td_avro_decode(d, buf, len, &v, &err), -EBADMSG);
    expect_msg(&err, phrase);
    /* the body alone: the same refusal (its offsets count from the body) */
    CU_ASSERT_EQUAL(td_avro_validate(s, body, n, &err), -EBADMSG);
    td_avro_decoder_free(d);
    td_avro_registry_free(r1);
    td_avro_schema_free(s);
}

static void expect_accepted(const char *schema_text, const unsigned char *body, size_t n)
{
    td_avro_schema *s = inline_schema(schema_text);
    td_error err = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    if (td_avro_validate(s, body, n, &err) != 0) {
        fprintf(stderr, "\n%s\n", err.msg);
        CU_FAIL("refused");
    }
    td_avro_schema_free(s);
}

#define BODY(...) (const unsigned char[]){__VA_ARGS__}, sizeof((const unsigned char[]){__VA_ARGS__})

static void test_lengths(void)
{
    /* negative string and bytes lengths */
    expect_refused("\"string\"", BODY(0x01), "negative length: string length at byte 10 is -1");
    expect_refused("\"bytes\"", BODY(0x03, 0x61), "negative length: bytes length at byte 10 is -2");
    /* 2^62: refused before anything is allocated */
    expect_refused("\"string\"", BODY(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
                   "truncated: string length at byte 10 is 4611686018427387904 but 0 bytes remain");
    expect_refused("\"string\"", BODY(0x08, 0x61, 0x62), "is 4 but 2 bytes remain");
    /* a map key's length */
    expect_refused("{\"type\":\"map\",\"values\":\"null\"}", BODY(0x02, 0x0a, 0x61, 0x00),
                   "map key length at byte 11 is 5 but 2 bytes remain");
    /* negative length in a field of a record: the path is named */
    expect_refused("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"},"
                   "{\"name\":\"s\",\"type\":\"string\"}]}",
                   BODY(0x02, 0x05), "negative length: string length at byte 11 is -3 (in R.s");
    /* fixed, float, double need their bytes */
    expect_refused("{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}", BODY(1, 2, 3),
                   "truncated: fixed of 4 bytes at byte 10, 3 remain");
    expect_refused("\"double\"", BODY(1, 2, 3, 4, 5, 6, 7), "truncated: double of 8 bytes");
}

static void test_varints(void)
{
    /* an int longer than 5 bytes, a long longer than 10 */
    expect_refused("\"int\"", BODY(0x80, 0x80, 0x80, 0x80, 0x80, 0x00),
                   "over-long varint: int at byte 10 has more than 5 bytes");
    expect_refused("\"long\"", BODY(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00),
                   "over-long varint: long at byte 10");
    /* bits beyond 64 */
    expect_refused("\"long\"", BODY(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02),
                   "overflows 64 bits");
    /* 2^32 does not fit an int */
    expect_refused("\"int\"", BODY(0x80, 0x80, 0x80, 0x80, 0x10), "out of range for int");
    expect_refused("\"int\"", BODY(0x80, 0x80), "truncated: int at byte 10 runs past the end");
    /* trailing bytes */
    expect_refused("\"int\"", BODY(0x02, 0x00), "trailing bytes: 1 after the record, from byte 11");
    expect_refused("\"null\"", BODY(0x00), "trailing bytes: 1");
    /* booleans are 0 or 1 */
    expect_refused("\"boolean\"", BODY(0x02), "boolean at byte 10 is 2, not 0 or 1");
    /* the largest values are fine */
    expect_accepted("\"int\"", BODY(0xfe, 0xff, 0xff, 0xff, 0x0f));
    expect_accepted("\"long\"", BODY(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01));
}

static void test_indices(void)
{
    const char *e3 = "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\",\"C\"]}";

    expect_refused("[\"null\",\"string\"]", BODY(0x04),
                   "union index 2 at byte 10 is out of range (2 branches)");
    expect_refused("[\"null\",\"string\"]", BODY(0x01), "union index -1 at byte 10 is out of range");
    expect_refused(e3, BODY(0x06), "enum index 3 at byte 10 is out of range (E has 3 symbols)");
    expect_refused(e3, BODY(0x01), "enum index -1");
    expect_accepted(e3, BODY(0x04));
}

static void test_blocks(void)
{
    const char *nulls = "{\"type\":\"array\",\"items\":\"null\"}";
    const char *longs = "{\"type\":\"array\",\"items\":\"long\"}";

    /* 2^62 items of zero size: refused at the count, nothing allocated */
    expect_refused(nulls, BODY(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00),
                   "claims 4611686018427387904 items of zero size; at most 1048576 are accepted");
    /* the cap counts over all blocks and all arrays of a body */
    expect_refused("{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":\"null\"}}",
                   BODY(0x04, 0x80, 0x80, 0x40, 0x00, 0x82, 0x80, 0x40, 0x00, 0x00),
                   "at most 1048576 are accepted");
    /* a thousand nulls are fine */
    expect_accepted(nulls, BODY(0xd0, 0x0f, 0x00));
    /* items of at least one byte cannot outnumber the bytes */
    expect_refused(longs, BODY(0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x02, 0x00),
                   "array block count at byte 10 claims 549755813888 items but 2 bytes remain");
    expect_refused("{\"type\":\"map\",\"values\":\"null\"}", BODY(0x0a, 0x02, 0x61, 0x00),
                   "map block count at byte 10 claims 5 items but 3 bytes remain");
    /* negative counts carry a byte size (spec); it must match the items */
    expect_accepted(longs, BODY(0x03, 0x04, 0x02, 0x04, 0x00));
    expect_refused(longs, BODY(0x03, 0x06, 0x02, 0x04, 0x00, 0x00),
                   "the block's byte size does not match its items");
    expect_refused(longs, BODY(0x03, 0x01, 0x02, 0x04, 0x00), "negative length: array block size");
    expect_refused(longs, BODY(0x03, 0x7e, 0x02, 0x04, 0x00), "array block size at byte 11 is 63 but 3");
    /* INT64_MIN as a count */
    expect_refused(longs, BODY(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
                   "array block count at byte 10 is out of range");
    /* a missing end of array */
    expect_refused(longs, BODY(0x02, 0x02), "truncated: array block count at byte 12 runs past the end");
    /* the item index is in the path */
    expect_refused("{\"type\":\"array\",\"items\":\"string\"}", BODY(0x04, 0x00, 0x01),
                   "negative length: string length at byte 12 is -1 (in array[1]");
}

static void test_strings_are_utf8_without_nul(void)
{
    expect_refused("\"string\"", BODY(0x04, 0xc3, 0x28), "string length at byte 11: invalid UTF-8");
    expect_refused("\"string\"", BODY(0x06, 0xed, 0xa0, 0x80), "invalid UTF-8"); /* a surrogate */
    expect_refused("\"string\"", BODY(0x04, 0xc0, 0x80), "invalid UTF-8");       /* overlong NUL */
    expect_refused("\"string\"", BODY(0x04, 0x61, 0x00), "string length at byte 12: a NUL byte");
    expect_refused("{\"type\":\"map\",\"values\":\"int\"}", BODY(0x02, 0x02, 0xff, 0x00, 0x00),
                   "map key length at byte 12: invalid UTF-8");
    expect_accepted("\"string\"", BODY(0x08, 0xf0, 0x9f, 0x98, 0x80));
    expect_accepted("\"bytes\"", BODY(0x04, 0x00, 0xff)); /* bytes are bytes */
}

static void test_nesting_is_bounded(void)
{
    /* the linked list: each level is value 0, branch 1 (Node) */
    unsigned char body[1024], buf[1100];
    td_avro_decoder *d = NULL;
    td_error err = {0};
    avro_value_t *v;
    size_t n = 0, len;

    for (int i = 0; i < 300; i++) {
        body[n++] = 0x00;
        body[n++] = 0x02;
    }
    body[n++] = 0x00;
    body[n++] = 0x00;
    CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(reg, list, &d, &err), 0);
    len = frame(list, body, n, buf);
    CU_ASSERT_EQUAL(td_avro_decode(d, buf, len, &v, &err), -EBADMSG);
    expect_msg(&err, "nested more than 128 deep");
    expect_msg(&err, "(in Node.next.next.next");
    /* 60 levels (120 record + union levels) are fine */
    n = 0;
    for (int i = 0; i < 60; i++) {
        body[n++] = 0x02;
        body[n++] = 0x02;
    }
    body[n++] = 0x00;
    body[n++] = 0x00;
    len = frame(list, body, n, buf);
    CU_ASSERT_EQUAL(td_avro_decode(d, buf, len, &v, &err), 0);
    td_avro_decoder_free(d);
}

static void test_not_single_object_encoding(void)
{
    td_avro_decoder *d = NULL;
    td_error err = {0};
    avro_value_t *v;
    uint64_t fp;

    CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(reg, v1, &d, &err), 0);
    CU_ASSERT_EQUAL(td_avro_decode(d, "{\"id\":1}", 8, &v, &err), -EBADMSG);
    expect_msg(&err, "not Avro single-object encoding (first bytes 7b 22)");
    /* an Avro container file */
    CU_ASSERT_EQUAL(td_avro_decode(d, "\x4f\x62\x6a\x01", 4, &v, &err), -EBADMSG);
    expect_msg(&err, "first bytes 4f 62");
    CU_ASSERT_EQUAL(td_avro_decode(d, "", 0, &v, &err), -EBADMSG);
    expect_msg(&err, "truncated: the single-object header takes 10 bytes, got 0");
    CU_ASSERT_EQUAL(td_avro_decode(d, "\xc3", 1, &v, &err), -EBADMSG);
    expect_msg(&err, "truncated: the single-object header takes 10 bytes, got 1");
    CU_ASSERT_EQUAL(td_avro_decode(d, "\x01", 1, &v, &err), -EBADMSG);
    expect_msg(&err, "first byte 01");
    CU_ASSERT_EQUAL(td_avro_decode(d, "\xc3\x01\x01\x02\x03\x04\x05\x06\x07\x08", 10, &v, &err),
                    -ENOENT);
    expect_msg(&err, "unknown schema fingerprint 0x0807060504030201 (not in the registry)");
    CU_ASSERT_EQUAL(
        td_avro_frame_parse("\xc3\x01\x01\x02\x03\x04\x05\x06\x07\x08", 10, &fp, &err), 0);
    CU_ASSERT_EQUAL(fp, UINT64_C(0x0807060504030201));
    td_avro_decoder_free(d);
}

/* A failed decode leaves the decoder usable. */
static void test_decoder_recovers_after_errors(void)
{
    td_avro_decoder *d = NULL;
    td_error err = {0};
    avro_value_t *v;
    unsigned char bad[512];

    CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(reg, v2, &d, &err), 0);
    memcpy(bad, v1_frame.data, v1_frame.len);
    bad[v1_frame.len] = 0;
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(td_avro_decode(d, bad, v1_frame.len + 1, &v, &err), -EBADMSG);
        CU_ASSERT_EQUAL(td_avro_decode(d, v1_frame.data, v1_frame.len, &v, &err), 0);
        CU_ASSERT_EQUAL(td_avro_decode(d, v1_frame.data, v1_frame.len - 1, &v, &err), -EBADMSG);
        CU_ASSERT_EQUAL(td_avro_decode(d, kitchen_frame.data, kitchen_frame.len, &v, &err), -EINVAL);
        CU_ASSERT_EQUAL(td_avro_decode(d, v1_frame.data, v1_frame.len, &v, &err), 0);
    }
    td_avro_decoder_free(d);
}

static void add_suites(void)
{
    td_test_suite("avro_hostile", setup, teardown);
    TD_TEST(test_every_prefix_of_a_valid_record_fails_cleanly);
    TD_TEST(test_random_garbage);
    TD_TEST(test_random_mutations_of_valid_records);
    TD_TEST(test_lengths);
    TD_TEST(test_varints);
    TD_TEST(test_indices);
    TD_TEST(test_blocks);
    TD_TEST(test_strings_are_utf8_without_nul);
    TD_TEST(test_nesting_is_bounded);
    TD_TEST(test_not_single_object_encoding);
    TD_TEST(test_decoder_recovers_after_errors);
}

TD_TEST_MAIN(add_suites)
