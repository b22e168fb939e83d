/* The C side of the Avro interoperability test (tests/interop/run).
 *
 *   avro_interop gen DIR N SEED SCHEMA_DIR
 *       writes DIR/fingerprints.txt (fullname, fingerprint in hex) and, per
 *       schema, N random records encoded by tuodi (DIR/<Name>.c.bin);
 *   avro_interop check DIR SCHEMA_DIR
 *       decodes every record Java wrote (DIR/<Name>.java.bin) with tuodi's
 *       decoder, re-encodes it and requires the very same bytes.
 * Frames in the .bin files: a 4-byte big-endian length, then the frame.
 */
#include "td_avro.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64*: deterministic from the seed */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static const char *const pieces[] = {"a", "b", "Z", "0", "9", " ", "-", "户", "主", "张", "王",
                                     "淮", "南", "凤", "台", "县", "寿", "潘", "集", "\xF0\x9F\x98\x80"};

static void rnd_string(char *buf, size_t size)
{
    size_t n = rnd() % 12, len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *p = pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))];
        size_t pl = strlen(p);
        if (len + pl + 1 >= size)
            break;
        memcpy(buf + len, p, pl + 1);
        len += pl;
    }
}

static int fill(const td_avro_node *n, avro_value_t *v, int depth)
{
    char s[128];
    avro_value_t child;

    switch (n->type) {
    case TD_AVRO_NULL:
        return avro_value_set_null(v);
    case TD_AVRO_BOOLEAN:
        return avro_value_set_boolean(v, (int)(rnd() & 1));
    case TD_AVRO_INT:
        if (n->logical == TD_AVRO_LOGICAL_DATE)
            return avro_value_set_int(v, (int32_t)(rnd() % 40000));
        return avro_value_set_int(v, (rnd() & 1) ? (int32_t)(rnd() % 1000) : (int32_t)rnd());
    case TD_AVRO_LONG:
        return avro_value_set_long(v, (rnd() & 1) ? (int64_t)(rnd() % 100000000) : (int64_t)rnd());
    case TD_AVRO_FLOAT:
        return avro_value_set_float(v, (float)(rnd() % 100000) / 7.0f);
    case TD_AVRO_DOUBLE:
        return avro_value_set_double(v, (double)(rnd() % 100000000) / 7.0);
    case TD_AVRO_STRING:
        rnd_string(s, sizeof(s));
        return avro_value_set_string(v, s);
    case TD_AVRO_BYTES: {
        unsigned char b[8];
        size_t len = rnd() % sizeof(b);
        for (size_t i = 0; i < len; i++)
            b[i] = (unsigned char)rnd();
        return avro_value_set_bytes(v, b, len);
    }
    case TD_AVRO_FIXED: {
        unsigned char b[256];
        if (n->size > sizeof(b))
            return EINVAL;
        for (size_t i = 0; i < n->size; i++)
            b[i] = (unsigned char)rnd();
        return avro_value_set_fixed(v, b, n->size);
    }
    case TD_AVRO_ENUM:
        return avro_value_set_enum(v, (int)(rnd() % n->nsymbols));
    case TD_AVRO_RECORD:
        for (size_t i = 0; i < n->nfields; i++) {
            int r;
            if (avro_value_get_by_index(v, i, &child, NULL) != 0)
                return EINVAL;
            if ((r = fill(n->fields[i].type, &child, depth + 1)) != 0)
                return r;
        }
        return 0;
    case TD_AVRO_ARRAY: {
        size_t k = depth > 4 ? 0 : rnd() % 4;
        for (size_t i = 0; i < k; i++) {
            int r;
            if (avro_value_append(v, &child, NULL) != 0)
                return EINVAL;
            if ((r = fill(n->items, &child, depth + 1)) != 0)
                return r;
        }
        return 0;
    }
    case TD_AVRO_MAP: {
        size_t k = depth > 4 ? 0 : rnd() % 3;
        for (size_t i = 0; i < k; i++) {
            char key[140];
            int r;
            rnd_string(s, sizeof(s));
            snprintf(key, sizeof(key), "%s%zu", s, i);
            if (avro_value_add(v, key, &child, NULL, NULL) != 0)
                return EINVAL;
            if ((r = fill(n->items, &child, depth + 1)) != 0)
                return r;
        }
        return 0;
    }
    case TD_AVRO_UNION: {
        int b = (int)(rnd() % n->nbranches);
        if (avro_value_set_branch(v, b, &child) != 0)
            return EINVAL;
        return fill(n->branches[b], &child, depth + 1);
    }
    }
    return EINVAL;
}

static int write_frame(FILE *f, const unsigned char *data, size_t len)
{
    unsigned char h[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
                          (unsigned char)(len >> 8), (unsigned char)len};
    return fwrite(h, 1, 4, f) == 4 && fwrite(data, 1, len, f) == len ? 0 : -EIO;
}

/* Next frame into *buf (realloc'd); 1 read, 0 end, <0 error. */
static int read_frame(FILE *f, unsigned char **buf, size_t *cap, size_t *len)
{
    unsigned char h[4];
    size_t n = fread(h, 1, 4, f);

    if (n == 0)
        return 0;
    if (n != 4)
        return -EIO;
    *len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    if (*len > (64u << 20))
        return -EFBIG;
    if (*len > *cap) {
        unsigned char *nb = realloc(*buf, *len);
        if (!nb)
            return -ENOMEM;
        *buf = nb;
        *cap = *len;
    }
    return fread(*buf, 1, *len, f) == *len ? 1 : -EIO;
}

static int gen(td_avro_registry *reg, const char *dir, long n)
{
    char path[4096];
    FILE *fps;
    td_avro_buf buf = TD_AVRO_BUF_INIT;
    int failures = 0;

    snprintf(path, sizeof(path), "%s/fingerprints.txt", dir);
    fps = fopen(path, "w");
    if (!fps)
        return 1;
    for (size_t i = 0; i < td_avro_registry_count(reg); i++) {
        const td_avro_schema *s = td_avro_registry_at(reg, i);
        const td_avro_node *root = td_avro_schema_root(s);
        avro_value_t v;
        td_error err = {0};
        FILE *f;

        fprintf(fps, "%s %016" PRIx64 "\n", td_avro_schema_fullname(s),
                td_avro_schema_fingerprint(s));
        snprintf(path, sizeof(path), "%s/%s.c.bin", dir, root->name);
        f = fopen(path, "wb");
        if (!f || td_avro_schema_value_new(s, &v, &err) < 0) {
            fprintf(stderr, "c: %s: %s\n", path, err.msg);
            return 1;
        }
        for (long k = 0; k < n; k++) {
            avro_value_reset(&v);
            if (fill(root, &v, 0) != 0 || td_avro_encode(s, &v, &buf, &err) < 0 ||
                write_frame(f, buf.data, buf.len) < 0) {
                fprintf(stderr, "c: %s record %ld: %s %s\n", root->name, k, err.msg,
                        avro_strerror());
                failures++;
                break;
            }
        }
        avro_value_decref(&v);
        fclose(f);
        printf("c: %s: fingerprint %016" PRIx64 ", wrote %ld records\n",
               td_avro_schema_fullname(s), td_avro_schema_fingerprint(s), n);
    }
    fclose(fps);
    td_avro_buf_done(&buf);
    return failures ? 1 : 0;
}

static int check(td_avro_registry *reg, const char *dir)
{
    td_avro_buf buf = TD_AVRO_BUF_INIT;
    unsigned char *frame = NULL;
    size_t cap = 0, len;
    int failures = 0;

    for (size_t i = 0; i < td_avro_registry_count(reg); i++) {
        const td_avro_schema *s = td_avro_registry_at(reg, i);
        td_avro_decoder *dec = NULL;
        td_error err = {0};
        char path[4096];
        long count = 0;
        FILE *f;
        int r;

        snprintf(path, sizeof(path), "%s/%s.java.bin", dir, td_avro_schema_root(s)->name);
        f = fopen(path, "rb");
        if (!f || td_avro_decoder_new(reg, s, &dec, &err) < 0) {
            fprintf(stderr, "c: %s: cannot read (%s)\n", path, err.msg);
            failures++;
            if (f)
                fclose(f);
            continue;
        }
        while ((r = read_frame(f, &frame, &cap, &len)) == 1) {
            avro_value_t *v;
            if (td_avro_decode(dec, frame, len, &v, &err) < 0) {
                fprintf(stderr, "c: %s record %ld: %s\n", path, count, err.msg);
                failures++;
            } else if (td_avro_decoder_writer(dec) != s) {
                fprintf(stderr, "c: %s record %ld: fingerprint names another schema\n", path, count);
                failures++;
            } else if (td_avro_encode(s, v, &buf, &err) < 0 || buf.len != len ||
                       memcmp(buf.data, frame, len) != 0) {
                fprintf(stderr, "c: %s record %ld re-encodes differently %s\n", path, count, err.msg);
                failures++;
            }
            count++;
        }
        if (r < 0 || count == 0) {
            fprintf(stderr, "c: %s: %s\n", path, r < 0 ? "bad frame file" : "no records");
            failures++;
        }
        printf("c: %s: decoded and re-encoded %ld records from Java byte for byte\n",
               td_avro_schema_fullname(s), count);
        fclose(f);
        td_avro_decoder_free(dec);
    }
    free(frame);
    td_avro_buf_done(&buf);
    printf("c: %d failures\n", failures);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    td_avro_registry *reg = NULL;
    td_error err = {0};
    int r;

    if (argc == 6 && strcmp(argv[1], "gen") == 0) {
        rng_state = (uint64_t)atoll(argv[4]) * 2654435761u + 1;
    } else if (!(argc == 4 && strcmp(argv[1], "check") == 0)) {
        fprintf(stderr, "usage: avro_interop gen DIR N SEED SCHEMA_DIR | check DIR SCHEMA_DIR\n");
        return 2;
    }
    if (td_avro_registry_new(&reg) < 0 ||
        td_avro_registry_load_dir(reg, argv[argc - 1], NULL, &err) < 0) {
        fprintf(stderr, "c: %s\n", err.msg);
        return 1;
    }
    r = argc == 6 ? gen(reg, argv[2], atol(argv[3])) : check(reg, argv[2]);
    td_avro_registry_free(reg);
    return r;
}
