/* A stand-in for libFuzzer when there is none (meson -Dfuzzer=false): runs a
 * fuzz target over every file of a corpus directory, then over seeded random
 * mutations of them, so that the target builds and runs as a plain test and
 * never rots. A crash or a sanitizer report fails the test; the seed is
 * printed first, and an input that aborts (a failed property, a sanitizer
 * report with abort_on_error) is written to crash-<target>-<seed>-<n> in the
 * current directory (or $TD_FUZZ_CRASH_DIR) so that it can be replayed:
 *
 *   driver CORPUS_DIR [-n MUTATIONS_PER_FILE] [-s SEED]
 *   driver FILE...          runs the target once over each file
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct input {
    char *name;
    unsigned char *data;
    size_t len;
} input;

static uint64_t state;

/* The input being run, for the crash handler. */
static struct {
    const unsigned char *data;
    size_t len;
    char path[4096];
} current;

/* Writes the current input to current.path (async-signal-safe calls only),
 * then dies of the signal. */
static void on_crash(int sig)
{
    int fd = open(current.path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    if (fd >= 0 && current.data) {
        size_t off = 0;
        while (off < current.len) {
            ssize_t n = write(fd, current.data + off, current.len - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        close(fd);
        static const char msg[] = "driver: the input is in ";
        (void)!write(2, msg, sizeof(msg) - 1);
        (void)!write(2, current.path, strlen(current.path));
        (void)!write(2, "\n", 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void run_one(const char *target, uint64_t seed, size_t n, const unsigned char *data,
                    size_t len)
{
    const char *dir = getenv("TD_FUZZ_CRASH_DIR");

    snprintf(current.path, sizeof(current.path), "%s/crash-%s-%llu-%zu",
             dir && *dir ? dir : ".", target, (unsigned long long)seed, n);
    current.data = data;
    current.len = len;
    LLVMFuzzerTestOneInput(data, len);
    current.data = NULL;
}

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

static const char *target_name(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');

    return slash ? slash + 1 : argv0;
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s CORPUS_DIR [-n MUTATIONS] [-s SEED]\n"
                    "       %s FILE...\n", argv0, argv0);
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *target = target_name(argv[0]);
    long mutations = 100;
    uint64_t seed = 20261128;
    input *in = NULL;
    size_t n = 0, cap = 0, runs = 0;
    unsigned char *buf;
    size_t bufcap = 1 << 16;
    struct stat st;
    DIR *d;
    struct dirent *e;

    signal(SIGABRT, on_crash);
    signal(SIGSEGV, on_crash);
    signal(SIGBUS, on_crash);
    signal(SIGFPE, on_crash);
    signal(SIGILL, on_crash);
    if (argc > 1 && stat(argv[1], &st) == 0 && !S_ISDIR(st.st_mode)) {
        /* replay files */
        for (int i = 1; i < argc; i++) {
            input it;
            if (read_file(argv[i], &it.data, &it.len) < 0) {
                fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                return 1;
            }
            printf("driver: %s (%zu bytes)\n", argv[i], it.len);
            fflush(stdout);
            run_one(target, 0, (size_t)i, it.data, it.len);
            free(it.data);
        }
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            mutations = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!dir)
            dir = argv[i];
        else {
            usage(argv[0]);
            return 2;
        }
    }
    if (!dir) {
        usage(argv[0]);
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
        run_one(target, seed, runs, copy, in[i].len);
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
            run_one(target, seed, runs, copy, len);
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
