/* Fuzz target for the Avro decoder (libFuzzer's LLVMFuzzerTestOneInput).
 *
 * Input: one mode byte, then the bytes. mode % 6:
 *   0    the bytes are a whole frame (magic, fingerprint, body), decoded as
 *        Sample v2 (so v1 frames take the resolution path) and as Kitchen;
 *   1-4  the bytes are a body of Kitchen, Sample v1, Sample v2 or Node (a
 *        recursive list), framed here so the walk is reached, and read as
 *        Kitchen, Sample v2, Sample v1 and Node respectively;
 *   5    the bytes are validated as a body of each schema.
 * Whatever decodes must render as JSON, parse back from it, encode again, and
 * decode again to the same bytes; a body written with the reader's own schema
 * must also read the same with Avro C's avro_value_read (a differential check
 * of the decoder's own reader); anything else aborts.
 *
 * The schemas are the test fixtures: TD_SOURCE_ROOT/tests/data/avro when the
 * variable is set, else the directory compiled in (TD_FUZZ_AVRO_FIXTURES).
 * corpus/avro_decode/ holds seeds written by gen_avro_corpus.c.
 */
#include "td_avro.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TD_FUZZ_AVRO_FIXTURES
#define TD_FUZZ_AVRO_FIXTURES "tests/data/avro"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { KITCHEN, V1, V2, NODE, NSCHEMAS };

static const char *const files[NSCHEMAS] = {"kitchen.avsc", "sample_v1.avsc",
                                            "sample_v2.avsc", "list.avsc"};

static struct {
    td_avro_registry *reg;
    const td_avro_schema *s[NSCHEMAS];
    td_avro_decoder *dec[NSCHEMAS];   /* a decoder per reader schema */
    td_avro_decoder *again[NSCHEMAS]; /* for the second decode */
    td_avro_buf frame, enc, enc2, json;
    avro_value_t parsed[NSCHEMAS];
    avro_value_t ref[NSCHEMAS];       /* read by Avro C */
    avro_reader_t in;
} fz;

__attribute__((noreturn)) static void fuzz_die(const char *what, const char *msg)
{
    fprintf(stderr, "fuzz_avro_decode: %s: %s\n", what, msg);
    abort();
}

static void fuzz_init(void)
{
    const char *root = getenv("TD_SOURCE_ROOT");
    char dir[4096];
    td_error err = {0};

    if (root && *root)
        snprintf(dir, sizeof(dir), "%s/tests/data/avro", root);
    else
        snprintf(dir, sizeof(dir), "%s", TD_FUZZ_AVRO_FIXTURES);
    if (td_avro_registry_new(&fz.reg) < 0)
        fuzz_die("init", "out of memory");
    for (int i = 0; i < NSCHEMAS; i++) {
        char path[8192];
        td_avro_schema *s = NULL;
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        if (td_avro_schema_load(path, &s, &err) < 0 || td_avro_registry_add(fz.reg, s, &err) < 0)
            fuzz_die("init", err.msg);
        fz.s[i] = td_avro_registry_find(fz.reg, td_avro_schema_fingerprint(s));
    }
    for (int i = 0; i < NSCHEMAS; i++) {
        if (td_avro_decoder_new(fz.reg, fz.s[i], &fz.dec[i], &err) < 0 ||
            td_avro_decoder_new(fz.reg, fz.s[i], &fz.again[i], &err) < 0 ||
            td_avro_schema_value_new(fz.s[i], &fz.parsed[i], &err) < 0 ||
            td_avro_schema_value_new(fz.s[i], &fz.ref[i], &err) < 0)
            fuzz_die("init", err.msg);
    }
    fz.in = avro_reader_memory("", 0);
    if (!fz.in)
        fuzz_die("init", "out of memory");
}

__attribute__((destructor)) static void fuzz_fini(void)
{
    if (!fz.reg)
        return;
    for (int i = 0; i < NSCHEMAS; i++) {
        td_avro_decoder_free(fz.dec[i]);
        td_avro_decoder_free(fz.again[i]);
        avro_value_decref(&fz.parsed[i]);
        avro_value_decref(&fz.ref[i]);
    }
    avro_reader_free(fz.in);
    td_avro_buf_done(&fz.frame);
    td_avro_buf_done(&fz.enc);
    td_avro_buf_done(&fz.enc2);
    td_avro_buf_done(&fz.json);
    fz.reg = td_avro_registry_free(fz.reg);
}

/* Decodes data as reader r; checks the invariants of what decodes. */
static void fuzz_decode(int r, const void *data, size_t len)
{
    td_error err = {0};
    avro_value_t *v, *v2;
    int rc;

    rc = td_avro_decode(fz.dec[r], data, len, &v, &err);
    if (rc == -EBADMSG || rc == -ENOENT || rc == -EINVAL)
        return; /* refused, cleanly */
    if (rc != 0)
        fuzz_die("decode", err.msg);
    if (td_avro_value_to_json(fz.s[r], v, &fz.json, &err) < 0)
        fuzz_die("render", err.msg);
    /* JSON nests at most 64 deep, a recursive value may nest more */
    if (r != NODE && td_avro_value_from_json(fz.s[r], (const char *)fz.json.data, fz.json.len,
                                             &fz.parsed[r], &err) < 0)
        fuzz_die("parse back", err.msg);
    if (td_avro_encode(fz.s[r], v, &fz.enc, &err) < 0)
        fuzz_die("encode", err.msg);
    if (td_avro_decode(fz.again[r], fz.enc.data, fz.enc.len, &v2, &err) < 0)
        fuzz_die("decode again", err.msg);
    if (td_avro_encode(fz.s[r], v2, &fz.enc2, &err) < 0)
        fuzz_die("encode again", err.msg);
    /* (the input itself need not come back: padded varints and sized
     * blocks are valid but not what the encoder writes) */
    if (fz.enc.len != fz.enc2.len || memcmp(fz.enc.data, fz.enc2.data, fz.enc.len) != 0)
        fuzz_die("round trip", "the second encoding differs");
    /* the same bytes through Avro C's own reader (they are valid now) */
    if (td_avro_decoder_writer(fz.dec[r]) == fz.s[r]) {
        avro_reader_memory_set_source(fz.in, (const char *)data + TD_AVRO_HEADER_LEN,
                                      (int64_t)(len - TD_AVRO_HEADER_LEN));
        if (avro_value_read(fz.in, &fz.ref[r]) != 0)
            fuzz_die("avro_value_read", avro_strerror());
        if (td_avro_encode(fz.s[r], &fz.ref[r], &fz.enc2, &err) < 0)
            fuzz_die("encode Avro C's value", err.msg);
        if (fz.enc.len != fz.enc2.len || memcmp(fz.enc.data, fz.enc2.data, fz.enc.len) != 0)
            fuzz_die("differential", "Avro C read the body differently");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int reader_of[NSCHEMAS] = {KITCHEN, V2, V1, NODE};
    int mode;

    if (!fz.reg)
        fuzz_init();
    if (size == 0)
        return 0;
    mode = data[0] % 6;
    data++;
    size--;
    if (mode == 0) {
        fuzz_decode(V2, data, size);
        fuzz_decode(KITCHEN, data, size);
    } else if (mode <= 4) {
        int w = mode - 1;
        uint64_t fp = td_avro_schema_fingerprint(fz.s[w]);
        /* an exact-size copy so that ASan sees any read past the end */
        unsigned char *buf = malloc(size + TD_AVRO_HEADER_LEN);
        if (!buf)
            return 0;
        buf[0] = TD_AVRO_MAGIC_0;
        buf[1] = TD_AVRO_MAGIC_1;
        for (int i = 0; i < 8; i++)
            buf[2 + i] = (unsigned char)(fp >> (8 * i));
        if (size)
            memcpy(buf + TD_AVRO_HEADER_LEN, data, size);
        fuzz_decode(reader_of[w], buf, size + TD_AVRO_HEADER_LEN);
        free(buf);
    } else {
        for (int i = 0; i < NSCHEMAS; i++)
            (void)td_avro_validate(fz.s[i], data, size, NULL);
    }
    return 0;
}
