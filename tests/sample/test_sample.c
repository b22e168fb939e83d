/* tds_sample (tuodi-sample): determinism, valid identity numbers, every
 * planted scenario in the expected files, the rejected rows as planted, and
 * sizes that scale. No broker (tests/sample/itest_sample.c runs the data
 * through the real pipeline). */
#include "td_test.h"

#include "td_date.h"
#include "td_idnum.h"
#include "tds_sample.h"

#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const files[] = {
    "roster/huainan-roster.csv",
    "roster/huainan-roster.csv.done",
    "civil_affairs/civil-01.csv",
    "civil_affairs/civil-01.csv.done",
    "medical_insurance/medical-01.csv",
    "medical_insurance/medical-02.csv",
    "human_resources/hr-01.csv",
    "human_resources/hr-01.csv.done",
    "expected/alerts.csv",
    "expected/rejected.csv",
    "expected/scenarios.csv",
};
#define NFILES (sizeof(files) / sizeof(files[0]))

static int32_t day_of(const char *s)
{
    int32_t d = 0;
    CU_ASSERT_FATAL(td_date_parse(s, strlen(s), &d) == 0);
    return d;
}

static char *gen(uint64_t seed, int64_t households, const char *today, tds_stats *st)
{
    char *dir = td_test_tmpdir();
    tds_options o = {.out_dir = dir, .seed = seed, .households = households,
                     .today = day_of(today)};
    td_error err = {0};
    tds_stats s;
    int rc = tds_generate(&o, &s, &err);
    if (rc < 0)
        fprintf(stderr, "tds_generate: %s\n", err.msg);
    CU_ASSERT_FATAL(rc == 0);
    if (st)
        *st = s;
    return dir;
}

/* The whole file (NUL-terminated), *len its size. */
static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    CU_ASSERT_FATAL(f != NULL);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    CU_ASSERT_FATAL(b != NULL);
    CU_ASSERT_FATAL(fread(b, 1, (size_t)n, f) == (size_t)n);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* The file as UTF-8 without a BOM (GB18030 converted). */
static char *utf8_of(const char *dir, const char *name)
{
    size_t n;
    char *raw = slurp(dir, name, &n), *p = raw;
    bool gb = false;
    if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3;
        n -= 3;
    } else if (n >= 4 && memcmp(p, "\x84\x31\x95\x33", 4) == 0) {
        p += 4;
        n -= 4;
        gb = true;
    } else if (strstr(name, "roster")) {
        gb = true;
    }
    char *out = malloc(n * 2 + 1);
    CU_ASSERT_FATAL(out != NULL);
    if (gb) {
        iconv_t cd = iconv_open("UTF-8", "GB18030");
        char *ip = p, *op = out;
        size_t il = n, ol = n * 2;
        CU_ASSERT_FATAL(cd != (iconv_t)-1);
        /* the planted bad rows are bad in the fields, not the bytes */
        CU_ASSERT_FATAL(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1);
        *op = '\0';
        iconv_close(cd);
    } else {
        memcpy(out, p, n);
        out[n] = '\0';
    }
    free(raw);
    return out;
}

/* Splits line at ',' in place; returns the number of fields. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        f[n++] = p;
        p = strchr(p, ',');
        if (!p)
            break;
        *p++ = '\0';
    }
    return n;
}

/* Is (dataset, file, line) listed in rejected.csv? */
static bool rejected(const char *rej, const char *dataset, const char *file, long line)
{
    char key[256];
    snprintf(key, sizeof(key), "\n%s,%s,%ld,", dataset, file, line);
    return strstr(rej, key) != NULL;
}

static void test_deterministic(void)
{
    char *a = gen(42, 300, "2026-03-01", NULL);
    char *b = gen(42, 300, "2026-03-01", NULL);
    char *c = gen(43, 300, "2026-03-01", NULL);
    char *d = gen(42, 300, "2026-03-02", NULL);
    bool all_same = true, differs_seed = false, differs_today = false;
    for (size_t i = 0; i < NFILES; i++) {
        size_t na, nb, nc, nd;
        char *fa = slurp(a, files[i], &na), *fb = slurp(b, files[i], &nb);
        char *fc = slurp(c, files[i], &nc), *fd = slurp(d, files[i], &nd);
        if (na != nb || memcmp(fa, fb, na) != 0) {
            fprintf(stderr, "%s differs between two runs\n", files[i]);
            all_same = false;
        }
        if (nc != na || memcmp(fa, fc, na) != 0)
            differs_seed = true;
        if (nd != na || memcmp(fa, fd, na) != 0)
            differs_today = true;
        free(fa);
        free(fb);
        free(fc);
        free(fd);
    }
    CU_ASSERT(all_same);
    CU_ASSERT(differs_seed);
    CU_ASSERT(differs_today);
    td_test_rmtree(a);
    td_test_rmtree(b);
    td_test_rmtree(c);
    td_test_rmtree(d);
    free(a);
    free(b);
    free(c);
    free(d);
}

/* Every identity number of every file is valid, except in the rows planted
 * as bad (and those are invalid or their row is bad otherwise). */
static void check_ids(const char *dir, const char *name, const char *dataset, int id_col,
                      int date_col, int nfields, const char *rej, int32_t today, int *nrej)
{
    char *text = utf8_of(dir, name), *save = NULL;
    long line = 0;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *f[40];
        line++;
        l[strcspn(l, "\r")] = '\0';
        if (line == 1)
            continue;
        int n = split(l, f, 40);
        bool listed = rejected(rej, dataset, strrchr(name, '/') + 1, line);
        bool ok = n == nfields;
        char id[TD_IDNUM_LEN + 1];
        int32_t d;
        if (ok)
            ok = td_idnum_normalize(f[id_col], strlen(f[id_col]), today, id, NULL) == 0;
        if (ok && date_col >= 0)
            ok = td_date_parse(f[date_col], strlen(f[date_col]), &d) == 0 && d <= today;
        if (listed)
            (*nrej)++;
        else if (!ok)
            fprintf(stderr, "%s:%ld: a bad row that rejected.csv does not list\n", name, line);
        /* a planted bad row may be bad in a field this check does not read */
        CU_ASSERT(listed || ok);
    }
    free(text);
}

static void test_ids_and_rejected(void)
{
    tds_stats st;
    int32_t today = day_of("2026-03-01");
    char *dir = gen(7, 400, "2026-03-01", &st);
    char *rej = utf8_of(dir, "expected/rejected.csv");
    int nrej = 0;
    check_ids(dir, "roster/huainan-roster.csv", "roster", 15, -1, 21, rej, today, &nrej);
    check_ids(dir, "civil_affairs/civil-01.csv", "civil_affairs", 2, 5, 8, rej, today, &nrej);
    check_ids(dir, "medical_insurance/medical-01.csv", "medical_insurance", 1, 4, 10, rej, today,
              &nrej);
    check_ids(dir, "medical_insurance/medical-02.csv", "medical_insurance", 1, 4, 10, rej, today,
              &nrej);
    check_ids(dir, "human_resources/hr-01.csv", "human_resources", 2, 5, 7, rej, today, &nrej);
    /* every listed row exists, and the count is what was planted: the 18
     * bad department rows B1..B18 and the 3 + 3 rows of households R1, R2 */
    CU_ASSERT_EQUAL(nrej, st.rejected);
    CU_ASSERT_EQUAL(st.rejected, 18 + 6);
    /* the identity-number rows are really invalid */
    {
        char *copy = strdup(rej), *save = NULL;
        int idnum = 0;
        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
            if (strstr(l, ",idnum,"))
                idnum++;
        CU_ASSERT_EQUAL(idnum, 3);
        free(copy);
    }
    free(rej);
    td_test_rmtree(dir);
    free(dir);
}

static void test_scenarios(void)
{
    char *dir = gen(1, 200, "2026-11-28", NULL);
    char *alerts = utf8_of(dir, "expected/alerts.csv");
    char *scen = utf8_of(dir, "expected/scenarios.csv");
    static const char *const rules[] = {"income-below-line", "medical-oop-365d", "dibao-tekun",
                                        "temp-assistance",   "severe-disability",
                                        "working-age-death", "employment-loss"};
    /* every rule of deploy/rules/huainan-2023.yaml (multi-department raises
     * severity: HIGH) alerts somewhere, and is missed just below or beyond
     * its threshold somewhere */
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        char key[64];
        snprintf(key, sizeof(key), "\n%s,", rules[i]);
        CU_ASSERT(strstr(alerts, key) != NULL);
    }
    CU_ASSERT(strstr(alerts, ",HIGH,X1\n") && strstr(alerts, ",HIGH,X2\n"));
    CU_ASSERT(!strstr(alerts, ",HIGH,X3\n"));
    CU_ASSERT(strstr(alerts, ",person,") && strstr(alerts, ",unrouted,"));
    /* the scenarios that must alert are in alerts.csv, those that must not
     * are not */
    char *save = NULL;
    int n = 0, none = 0;
    for (char *l = strtok_r(scen, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *f[3] = {NULL, NULL, NULL};
        if (n++ == 0)
            continue;
        CU_ASSERT_FATAL(split(l, f, 3) == 3);
        char key[64];
        snprintf(key, sizeof(key), ",%s\n", f[0]);
        if (strcmp(f[1], "none") == 0 || strcmp(f[1], "rejected") == 0) {
            none++;
            CU_ASSERT(strstr(alerts, key) == NULL);
        } else {
            CU_ASSERT(strstr(alerts, key) != NULL);
            char rk[80];
            size_t rn = strcspn(f[1], "+ ");
            CU_ASSERT_FATAL(rn + 2 < sizeof(rk));
            memcpy(rk, f[1], rn);
            rk[rn] = ',';
            rk[rn + 1] = '\0';
            CU_ASSERT(strstr(alerts, rk) != NULL);
        }
    }
    CU_ASSERT(n > 60);
    CU_ASSERT(none > 30);
    /* subjects: household ids are 17 characters, person keys valid numbers */
    save = NULL;
    n = 0;
    for (char *l = strtok_r(alerts, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *f[6];
        if (n++ == 0)
            continue;
        CU_ASSERT_FATAL(split(l, f, 6) == 6);
        if (strcmp(f[1], "person") == 0) {
            char id[TD_IDNUM_LEN + 1];
            CU_ASSERT(td_idnum_normalize(f[2], strlen(f[2]), INT32_MAX, id, NULL) == 0);
            CU_ASSERT(strcmp(id, f[2]) == 0);
        } else {
            CU_ASSERT(strcmp(f[1], "household") == 0 && strlen(f[2]) == 17);
            CU_ASSERT(strncmp(f[2], f[3], 6) == 0); /* queue: the household's county */
        }
    }
    free(alerts);
    free(scen);
    td_test_rmtree(dir);
    free(dir);
}

static void test_sizes(void)
{
    tds_stats small, big;
    char *a = gen(5, 200, "2026-06-01", &small);
    char *b = gen(5, 20000, "2026-06-01", &big);
    CU_ASSERT_EQUAL(small.households, 200);
    CU_ASSERT_EQUAL(big.households, 20000);
    /* about 3 people per household in both */
    CU_ASSERT(big.people > small.people * 80 && big.people < small.people * 120);
    CU_ASSERT(big.records > small.records * 20);
    /* background households never alert nor are rejected */
    CU_ASSERT_EQUAL(big.alerts, small.alerts);
    CU_ASSERT_EQUAL(big.rejected, small.rejected);
    td_test_rmtree(a);
    td_test_rmtree(b);
    free(a);
    free(b);
}

static void test_bad_options(void)
{
    td_error err = {0};
    tds_options o = {.out_dir = "/nonexistent/dir/x", .seed = 1, .households = 200,
                     .today = day_of("2026-01-01")};
    CU_ASSERT(tds_generate(&o, NULL, &err) < 0);
    o.out_dir = "/tmp";
    o.households = TDS_MIN_HOUSEHOLDS - 1;
    CU_ASSERT_EQUAL(tds_generate(&o, NULL, &err), -EINVAL);
}

static void add_suites(void)
{
    td_test_suite("sample", NULL, NULL);
    TD_TEST(test_deterministic);
    TD_TEST(test_ids_and_rejected);
    TD_TEST(test_scenarios);
    TD_TEST(test_sizes);
    TD_TEST(test_bad_options);
}

TD_TEST_MAIN(add_suites)
