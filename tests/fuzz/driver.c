/* A stand-in for libFuzzer when there is none (meson -Dfuzzer=false): runs a
 * fuzz target over every file of a corpus directory, then over seeded random
 * mutations of them, so that the target builds and runs as a plain test and
 * never rots. A crash or a sanitizer report fails the test; the seed and the
 * input number are printed first so that a failure can be replayed.
 *
 *   driver CORPUS_DIR [-n MUTATIONS_PER_FILE] [-s SEED]
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct input {
    char *name;
    unsigned char *data;
    size_t len;
} input;

static uint64_t state;

static uint64_t rnd(void)
{
    uint64_t x = state; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static int cmp_input(const void *a, const void *b)
{
    return strcmp(((const input *)a)->name, ((const input *)b)->name);
}

static int read_file(const char *path, unsigned char **ret, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;

    if (!f)
        return -errno;
    for (;;) {
        size_t n;
        if (len == cap) {
            unsigned char *nb;
            cap = cap ? cap * 2 : 4096;
            nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return -ENOMEM;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    *ret = buf;
    *ret_len = len;
    return 0;
}

/* One mutation of src into dst (capacity cap); returns the new length. */
static size_t mutate(const input *src, const input *other, unsigned char *dst, size_t cap)
{
    size_t len = src->len < cap ? src->len : cap;
    int rounds = 1 + (int)(rnd() % 4);

    memcpy(dst, src->data, len);
    for (int r = 0; r < rounds; r++) {
        size_t at = len ? rnd() % len : 0;
        switch (rnd() % 8) {
        case 0: /* flip a bit */
            if (len)
                dst[at] ^= (unsigned char)(1u << (rnd() % 8));
            break;
        case 1: /* a random byte */
            if (len)
                dst[at] = (unsigned char)rnd();
            break;
        case 2: { /* an interesting byte */
            static const unsigned char v[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xff, 0xfe, 0x81};
            if (len)
                dst[at] = v[rnd() % sizeof(v)];
            break;
        }
        case 3: /* truncate */
            len = at;
            break;
        case 4: /* insert a byte */
            if (len < cap) {
                memmove(dst + at + 1, dst + at, len - at);
                dst[at] = (unsigned char)rnd();
                len++;
            }
            break;
        case 5: /* delete a byte */
            if (len) {
                memmove(dst + at, dst + at + 1, len - at - 1);
                len--;
            }
            break;
        case 6: { /* splice the tail of another input */
            size_t from = other->len ? rnd() % other->len : 0;
            size_t n = other->len - from;
            if (at + n > cap)
                n = cap - at;
            memcpy(dst + at, other->data + from, n);
            len = at + n;
            break;
        }
        default: { /* duplicate a run (repeated blocks, nesting) */
            size_t n = len - at < 16 ? len - at : 16;
            if (len + n <= cap) {
                memmove(dst + at + n, dst + at, len - at);
                len += n;
            }
            break;
        }
        }
    }
    return len;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    long mutations = 100;
    uint64_t seed = 20261128;
    input *in = NULL;
    size_t n = 0, cap = 0, runs = 0;
    unsigned char *buf;
    size_t bufcap = 1 << 16;
    DIR *d;
    struct dirent *e;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            mutations = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!dir)
            dir = argv[i];
        else {
            fprintf(stderr, "usage: %s CORPUS_DIR [-n MUTATIONS] [-s SEED]\n", argv[0]);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "usage: %s CORPUS_DIR [-n MUTATIONS] [-s SEED]\n", argv[0]);
        return 2;
    }
    d = opendir(dir);
    if (!d) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return 1;
    }
    while ((e = readdir(d))) {
        char path[4096];
        input it;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (read_file(path, &it.data, &it.len) < 0)
            continue;
        it.name = strdup(e->d_name);
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            in = realloc(in, cap * sizeof(*in));
            if (!in)
                return 1;
        }
        in[n++] = it;
    }
    closedir(d);
    if (n == 0) {
        fprintf(stderr, "%s: an empty corpus\n", dir);
        return 1;
    }
    qsort(in, n, sizeof(*in), cmp_input);
    buf = malloc(bufcap);
    if (!buf)
        return 1;
    printf("driver: %zu corpus files from %s, %ld mutations each, seed %llu\n", n, dir, mutations,
           (unsigned long long)seed);
    fflush(stdout);
    state = seed ? seed : 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char *copy = malloc(in[i].len ? in[i].len : 1);
        if (!copy)
            return 1;
        memcpy(copy, in[i].data, in[i].len); /* exact size: ASan sees over-reads */
        LLVMFuzzerTestOneInput(copy, in[i].len);
        free(copy);
        runs++;
    }
    for (size_t i = 0; i < n; i++) {
        for (long m = 0; m < mutations; m++) {
            size_t len = mutate(&in[i], &in[rnd() % n], buf, bufcap);
            unsigned char *copy = malloc(len ? len : 1);
            if (!copy)
                return 1;
            memcpy(copy, buf, len);
            LLVMFuzzerTestOneInput(copy, len);
            free(copy);
            runs++;
        }
    }
    printf("driver: %zu inputs ran\n", runs);
    for (size_t i = 0; i < n; i++) {
        free(in[i].name);
        free(in[i].data);
    }
    free(in);
    free(buf);
    return 0;
}
