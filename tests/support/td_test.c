#include "td_test.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

int td_test_run_unprivileged(const char *cmd, char *out, size_t size)
{
    int fds[2], st;
    size_t n = 0;
    pid_t pid;

    if (size == 0 || pipe(fds) < 0)
        return -1;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        if (fds[1] > STDERR_FILENO)
            close(fds[1]);
        if (geteuid() == 0 &&
            (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
             setresuid(65534, 65534, 65534) < 0)) {
            perror("td_test_run_unprivileged: cannot become nobody");
            _exit(125);
        }
        /* a checkout nobody cannot read (under /root, say) would fail every
         * such test for a reason that has nothing to do with it: say so */
        const char *roots[2] = {getenv("TD_SOURCE_ROOT"), getenv("TD_BUILD_ROOT")};
        for (int i = 0; i < 2; i++)
            if (roots[i] && *roots[i] && access(roots[i], R_OK | X_OK) < 0) {
                fprintf(stderr, "td_test_run_unprivileged: %s: %s: as root the permission "
                        "tests run as nobody, who must be able to read the source and "
                        "build trees (chmod o+rx up to them)\n", roots[i], strerror(errno));
                _exit(125);
            }
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        char buf[4096];
        ssize_t k = read(fds[0], buf, sizeof(buf));

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        if (n + 1 < size) {
            size_t take = (size_t)k < size - 1 - n ? (size_t)k : size - 1 - n;
            memcpy(out + n, buf, take);
            n += take;
        }
    }
    out[n] = '\0';
    close(fds[0]);
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 125)
        fprintf(stderr, "\n    %s", out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* nftw has no opaque pointer: the listing being built (tests are
 * single-threaded). */
static struct {
    char **lines;
    size_t n, cap;
    size_t root_len;
    bool oom;
} td_tree;

static int td_tree_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    char *line = NULL;

    (void)flag;
    (void)ftw;
    if (td_tree.n == td_tree.cap) {
        size_t cap = td_tree.cap ? td_tree.cap * 2 : 64;
        char **v = realloc(td_tree.lines, cap * sizeof(*v));
        if (!v) {
            td_tree.oom = true;
            return 1;
        }
        td_tree.lines = v;
        td_tree.cap = cap;
    }
    if (asprintf(&line, "%s %s %04o %lld %lld%09ld %llu\n",
                 path[td_tree.root_len] ? path + td_tree.root_len : "/",
                 S_ISDIR(st->st_mode) ? "dir" : S_ISREG(st->st_mode) ? "file" : "other",
                 (unsigned)(st->st_mode & 07777), (long long)st->st_size,
                 (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
                 (unsigned long long)st->st_ino) < 0) {
        td_tree.oom = true;
        return 1;
    }
    td_tree.lines[td_tree.n++] = line;
    return 0;
}

static int td_tree_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *td_test_tree_listing(const char *dir)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f;
    int r;

    memset(&td_tree, 0, sizeof(td_tree));
    td_tree.root_len = strlen(dir);
    r = nftw(dir, td_tree_one, 16, FTW_PHYS);
    if (r == 0 && !td_tree.oom) {
        qsort(td_tree.lines, td_tree.n, sizeof(*td_tree.lines), td_tree_cmp);
        f = open_memstream(&out, &len);
        for (size_t i = 0; f && i < td_tree.n; i++)
            fputs(td_tree.lines[i], f);
        if (f)
            fclose(f);
    }
    for (size_t i = 0; i < td_tree.n; i++)
        free(td_tree.lines[i]);
    free(td_tree.lines);
    memset(&td_tree, 0, sizeof(td_tree));
    return out;
}

bool td_test_reference_block(const char *doc, const char *name, const char *generated)
{
    char path[4096], begin[256], end[256], *text, *b, *e;
    size_t have, len = strlen(generated);
    bool same;

    snprintf(path, sizeof(path), "%s/%s", td_test_source_root(), doc);
    snprintf(begin, sizeof(begin), "<!-- BEGIN reference %s -->\n", name);
    snprintf(end, sizeof(end), "<!-- END reference %s -->", name);
    text = td_test_read_file(path, NULL);
    if (!text) {
        fprintf(stderr, "\n    %s: cannot read\n", path);
        return false;
    }
    b = strstr(text, begin);
    e = b ? strstr(b, end) : NULL;
    if (!e) {
        fprintf(stderr, "\n    %s: no lines \"%.*s\" and \"%s\"\n", path,
                (int)strlen(begin) - 1, begin, end);
        free(text);
        return false;
    }
    b += strlen(begin);
    have = (size_t)(e - b);
    same = have == len && memcmp(b, generated, len) == 0;
    if (!same && getenv("TD_UPDATE_REFERENCE")) {
        size_t head = (size_t)(b - text);
        char *nd = malloc(strlen(text) - have + len + 1);

        if (nd) {
            memcpy(nd, text, head);
            memcpy(nd + head, generated, len);
            strcpy(nd + head + len, e);
            same = td_test_write_file(path, nd) == 0;
            free(nd);
        }
    } else if (!same) {
        fprintf(stderr, "\n    %s: the %s reference differs from the code; run the test with "
                "TD_UPDATE_REFERENCE=1. Generated:\n%s", path, name, generated);
    }
    free(text);
    return same;
}

char *td_test_replace(char *text, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    char *out, *o;
    const char *at, *p;

    if (fl == 0 || strcmp(from, to) == 0)
        return text;
    for (p = text; (at = strstr(p, from)) != NULL; p = at + fl)
        n++;
    out = malloc(strlen(text) + n * tl + 1);
    if (!out) {
        fprintf(stderr, "td_test_replace: out of memory\n");
        exit(1);
    }
    for (o = out, p = text; (at = strstr(p, from)) != NULL; p = at + fl) {
        memcpy(o, p, (size_t)(at - p));
        o += at - p;
        memcpy(o, to, tl);
        o += tl;
    }
    strcpy(o, p);
    free(text);
    return out;
}
