#include "td_test.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static CU_pSuite td_test_current;

void td_test_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean)
{
    td_test_current = CU_add_suite(name, init, clean);
    if (!td_test_current) {
        fprintf(stderr, "cannot add suite %s: %s\n", name, CU_get_error_msg());
        exit(2);
    }
}

void td_test_add(const char *name, CU_TestFunc fn)
{
    if (!td_test_current || !CU_add_test(td_test_current, name, fn)) {
        fprintf(stderr, "cannot add test %s: %s\n", name, CU_get_error_msg());
        exit(2);
    }
}

int td_test_main(int argc, char **argv, void (*add_suites)(void))
{
    unsigned failed, ran, suites_failed;
    CU_pSuite only = NULL;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    add_suites();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    if (argc > 1) {
        only = CU_get_suite(argv[1]);
        if (!only) {
            fprintf(stderr, "no suite named %s\n", argv[1]);
            CU_cleanup_registry();
            return 2;
        }
        CU_basic_run_suite(only);
    } else {
        CU_basic_run_tests();
    }
    failed = CU_get_number_of_tests_failed();
    ran = CU_get_number_of_tests_run();
    suites_failed = CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    if (ran == 0) {
        fprintf(stderr, "no test ran\n");
        return 1;
    }
    return (failed || suites_failed) ? 1 : 0;
}

const char *td_test_bootstrap(void)
{
    const char *b = getenv("KAFKA_BOOTSTRAP");

    if (!b || !*b) {
        fprintf(stderr,
                "KAFKA_BOOTSTRAP is not set: integration tests need a real "
                "Kafka broker.\nRun tests/run (it starts one), or start one "
                "with deploy/kafka/dev-broker start and export "
                "KAFKA_BOOTSTRAP=<its output>.\n");
        exit(1);
    }
    return b;
}

char *td_test_unique(const char *prefix)
{
    static unsigned n;
    char buf[256];
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(buf, sizeof(buf), "%s-%ld-%u-%lld%03ld", prefix, (long)getpid(),
             ++n, (long long)ts.tv_sec, ts.tv_nsec / 1000000);
    return strdup(buf);
}

const char *td_test_source_root(void)
{
    const char *r = getenv("TD_SOURCE_ROOT");
    return (r && *r) ? r : ".";
}

char *td_test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char path[4096];

    snprintf(path, sizeof(path), "%s/tuodi-test-XXXXXX",
             (base && *base) ? base : "/tmp");
    if (!mkdtemp(path))
        return NULL;
    return strdup(path);
}

static int td_test_rm_one(const char *path, const struct stat *st, int flag,
                          struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int td_test_rmtree(const char *path)
{
    if (!path)
        return 0;
    return nftw(path, td_test_rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -errno;
}

int td_test_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    size_t len = strlen(text);

    if (!f)
        return -errno;
    if (fwrite(text, 1, len, f) != len) {
        fclose(f);
        return -EIO;
    }
    return fclose(f) == 0 ? 0 : -errno;
}

char *td_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, r;

    if (!f)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *nb;
            cap = cap ? cap * 2 : 8192;
            nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}
