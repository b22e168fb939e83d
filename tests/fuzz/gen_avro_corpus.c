/* Writes the seed corpus of fuzz_avro_decode (see the input format there):
 *   gen_avro_corpus DIR
 * Run it again when the fixtures or the input format change:
 *   build/tests/fuzz/gen_avro_corpus tests/fuzz/corpus/avro_decode */
#include "td_avro.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TD_FUZZ_AVRO_FIXTURES
#define TD_FUZZ_AVRO_FIXTURES "tests/data/avro"
#endif

static const struct {
    const char *file;   /* writer schema */
    int mode;           /* 0: whole frame; 1-4: body; 5: body, validated only */
    const char *json;
} seeds[] = {
    {"sample_v1.avsc", 0,
     "{\"id\":\"R-1\",\"count\":3,\"status\":\"CLOSED\",\"color\":\"GREEN\",\"amount_fen\":99,"
     "\"born\":\"1949-10-01\",\"tags\":[\"t\",\"u\"],\"ratio\":0.5,\"note\":{\"string\":\"n\"},"
     "\"legacy_code\":\"c\"}"},
    {"sample_v2.avsc", 0,
     "{\"id\":\"R-2\",\"count\":-5,\"status\":\"SUSPENDED\",\"color\":\"BLUE\",\"amount_fen\":-1,"
     "\"born\":0,\"tags\":[],\"ratio\":-2.5,\"note\":null,\"added_union\":{\"long\":9},"
     "\"added_level\":\"LOW\",\"added_address\":{\"village\":\"x\",\"grid\":1},"
     "\"added_scores\":[4,5],\"added_attrs\":{\"a\":\"b\"},\"added_blob\":\"\\u00ff\","
     "\"added_flag\":false,\"added_weight\":0,\"added_half\":1,\"added_small\":0,"
     "\"added_label\":\"\",\"added_hash\":\"zz\",\"added_seen\":0,\"added_pick\":null}"},
    {"kitchen.avsc", 1,
     "{\"n\":null,\"b\":true,\"i\":-77,\"l\":1234567890123,\"f\":1.5,\"d\":2.5,"
     "\"by\":\"\\u0000\\u00ff\",\"s\":\"\xe8\x84\xb1\",\"e\":\"HEARTS\",\"fx\":\"abcd\","
     "\"day\":20785,\"at\":1795870800123,\"dec\":\"\",\"inner\":{\"x\":1,\"words\":[\"a\"],"
     "\"suit\":\"CLUBS\"},\"again\":{\"x\":2,\"words\":[],\"suit\":\"SPADES\"},"
     "\"longs\":[1,-300,70000],\"nulls\":[null,null],\"empties\":{\"k\":{}},\"grid\":[[1],[2,3]],"
     "\"dict\":{\"a\":0.5},\"lists\":{\"x\":[{\"x\":3,\"words\":[\"q\"],\"suit\":\"DIAMONDS\"}]},"
     "\"u\":{\"cn.tuodi.test.sub.Inner\":{\"x\":4,\"words\":[],\"suit\":\"HEARTS\"}},"
     "\"maybe\":{\"cn.tuodi.test.Suit\":\"SPADES\"}}"},
    {"kitchen.avsc", 1,
     "{\"n\":null,\"b\":false,\"i\":0,\"l\":0,\"f\":0,\"d\":0,\"by\":\"\",\"s\":\"\","
     "\"e\":\"SPADES\","
     "\"fx\":\"\\u0000\\u0000\\u0000\\u0000\",\"day\":0,\"at\":0,\"dec\":\"\",\"inner\":{\"x\":0,"
     "\"words\":[],\"suit\":\"SPADES\"},\"again\":{\"x\":0,\"words\":[],\"suit\":\"SPADES\"},"
     "\"longs\":[],\"nulls\":[],\"empties\":{},\"grid\":[],\"dict\":{},\"lists\":{},"
     "\"u\":{\"map\":{\"k\":1}},\"maybe\":null}"},
    {"sample_v1.avsc", 2,
     "{\"id\":\"\",\"count\":0,\"status\":\"ACTIVE\",\"color\":\"RED\",\"amount_fen\":0,\"born\":0,"
     "\"tags\":[],\"ratio\":0,\"note\":null,\"legacy_code\":\"\"}"},
    {"sample_v2.avsc", 3,
     "{\"id\":\"R-3\",\"count\":1,\"status\":\"CLOSED\",\"color\":\"RED\",\"amount_fen\":1,"
     "\"born\":1,\"tags\":[\"x\"],\"ratio\":1,\"note\":{\"string\":\"y\"},\"added_union\":null,"
     "\"added_level\":\"HIGH\",\"added_address\":{\"village\":\"v\",\"grid\":2},"
     "\"added_scores\":[],\"added_attrs\":{},\"added_blob\":\"\",\"added_flag\":true,"
     "\"added_weight\":1,\"added_half\":1,\"added_small\":1,\"added_label\":\"l\","
     "\"added_hash\":\"ab\",\"added_seen\":1,\"added_pick\":{\"string\":\"p\"}}"},
    {"list.avsc", 4,
     "{\"value\":1,\"next\":{\"cn.tuodi.test.Node\":{\"value\":2,\"next\":"
     "{\"cn.tuodi.test.Node\":{\"value\":3,\"next\":null}}}}}"},
    {"kitchen.avsc", 5,
     "{\"n\":null,\"b\":true,\"i\":1,\"l\":2,\"f\":3,\"d\":4,\"by\":\"b\",\"s\":\"s\","
     "\"e\":\"CLUBS\","
     "\"fx\":\"wxyz\",\"day\":5,\"at\":6,\"dec\":\"\",\"inner\":{\"x\":7,\"words\":[\"w\"],"
     "\"suit\":\"HEARTS\"},\"again\":{\"x\":8,\"words\":[],\"suit\":\"SPADES\"},\"longs\":[9],"
     "\"nulls\":[null],\"empties\":{},\"grid\":[[]],\"dict\":{},\"lists\":{},\"u\":null,"
     "\"maybe\":null}"},
};

int main(int argc, char **argv)
{
    const char *root = getenv("TD_SOURCE_ROOT");
    td_avro_buf b = TD_AVRO_BUF_INIT;
    char dir[4096];
    int rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    if (root && *root)
        snprintf(dir, sizeof(dir), "%s/tests/data/avro", root);
    else
        snprintf(dir, sizeof(dir), "%s", TD_FUZZ_AVRO_FIXTURES);
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]) && rc == 0; i++) {
        char path[8192];
        td_avro_schema *s = NULL;
        td_error err = {0};
        avro_value_t v;
        FILE *f;
        size_t off;
        unsigned char mode = (unsigned char)seeds[i].mode;

        snprintf(path, sizeof(path), "%s/%s", dir, seeds[i].file);
        if (td_avro_schema_load(path, &s, &err) < 0 || td_avro_schema_value_new(s, &v, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            td_avro_schema_free(s);
            rc = 1;
            break;
        }
        if (td_avro_value_from_json(s, seeds[i].json, strlen(seeds[i].json), &v, &err) < 0 ||
            td_avro_encode(s, &v, &b, &err) < 0) {
            fprintf(stderr, "seed %zu: %s\n", i, err.msg);
            rc = 1;
        }
        avro_value_decref(&v);
        td_avro_schema_free(s);
        if (rc)
            break;
        off = mode == 0 ? 0 : TD_AVRO_HEADER_LEN; /* modes 1-5 take the body alone */
        snprintf(path, sizeof(path), "%s/seed-%02zu-mode%d.bin", argv[1], i, seeds[i].mode);
        f = fopen(path, "wb");
        if (!f || fwrite(&mode, 1, 1, f) != 1 ||
            fwrite(b.data + off, 1, b.len - off, f) != b.len - off) {
            perror(path);
            rc = 1;
        }
        if (f && fclose(f) != 0)
            rc = 1;
    }
    td_avro_buf_done(&b);
    return rc;
}
